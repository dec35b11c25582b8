//! A lab's daemon from start to stop: the Cloud Shell and the Azure host,
//! the fabric, the topology applied, the API served until a signal or a
//! `Shutdown`, then every VM removed in parallel, with progress that
//! `down` reads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;
use tokio::sync::{Notify, broadcast};
use tun_rs::AsyncDevice;

use super::build::{self, Builder, RunningVm};
use super::delayline::DelayLine;
use super::plane::{self, Fabric, Plane, Port};
use super::proto::Response;
use super::{Daemon, DaemonError, HostState, api, dns_server, journal, prober};
use crate::dataplane::{CLOUD_SHELL_IP, ConnTrack, INTERNET_GATEWAY_IP, LbHealth, PROBE_ALIAS_NET, Tables};
use crate::host::tun::Interface;
use crate::host::{self, HostError, Lab, netns, vm};
use crate::model::latency::LatencyConfig;
use crate::model::{AZURE_HOST_IP, Change, Model};

/// A VM holds four descriptors (its TUN, its port 22, its mount and UTS
/// namespaces): 5 000 VMs pass the usual 1 024 or 20 000. Root may raise
/// the limit to the kernel's `nr_open`; failing that, the lab is as big
/// as the limit allows.
fn raise_open_files() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20);
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let want = nr_open.max(hard);
    if setrlimit(Resource::RLIMIT_NOFILE, want, want).is_err() && soft < hard {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Where a stopping daemon writes how far it got, `removed/total`, for
/// `down` to show and to tell a slow daemon from a stuck one.
pub fn progress_file(lab: &Lab) -> PathBuf {
    lab.runtime_dir().join("removing")
}

/// Runs a lab until SIGTERM, SIGINT or an API `Shutdown`, then removes
/// everything it made. `changes` (the topology) are applied first;
/// `progress` hears each step, and "ready" once the API is up.
pub fn run(
    lab: Lab,
    changes: Vec<Change>,
    latency: LatencyConfig,
    progress: &(dyn Fn(&str) + Sync),
    lock: Option<host::LabLock>,
) -> Result<(), DaemonError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |e| DaemonError::Io { what, source: e }
    };
    // `up` took the lock (`lock`), then swept what a killed daemon of
    // this lab left behind; the lock makes this daemon the lab's only one
    // until it exits. Started otherwise, it takes the lock itself.
    let lock = match lock {
        Some(lock) => Some(lock),
        None => host::LabLock::try_take(&lab)?,
    };
    let Some(lock) = lock else {
        return Err(DaemonError::AlreadyRunning {
            lab: lab.to_string(),
            pid: host::daemon_pid(&lab).unwrap_or(0),
        });
    };
    // The lab's saved state, if a daemon of it ran before (a crash, a
    // kill -9, a reboot): read whole and checked before anything is built.
    let journal = journal::Journal::new(&lab);
    let saved = journal.load()?;
    if saved.is_some() && !changes.is_empty() {
        return Err(DaemonError::Refused(format!(
            "lab '{lab}' has saved state from a previous run ({}): `vnetlab up --lab {lab}` without a topology brings it back; `vnetlab down --lab {lab}` discards it",
            journal.file().display()
        )));
    }
    let dir = lab.runtime_dir();
    std::fs::create_dir_all(&dir).map_err(io("create the runtime directory"))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io("restrict the runtime directory"))?;
    std::fs::write(lab.pid_file(), host::pid_file_text()).map_err(io("write the PID file"))?;

    // Packets have their own threads (`packets`): this runtime serves the
    // API, builds and probes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(io("start the runtime"))?;
    super::packets::start().map_err(io("start the packet threads"))?;
    raise_open_files();
    let template = vm::template()?;
    let result = runtime.block_on(async {
        let daemon = start(lab.clone(), template, latency, progress).await?;
        tokio::spawn(super::bgp::poll(daemon.clone()));
        let answer = match saved {
            Some(model) => {
                progress(&format!(
                    "bringing back lab '{lab}' as saved in {} ({} VMs)",
                    journal.file().display(),
                    model.virtual_machines.len()
                ));
                daemon.restore(model, progress).await
            }
            None => daemon.apply(changes, progress).await,
        };
        let refused = match answer {
            Response::Applied { .. } => None,
            Response::Refused { index, error } => Some(format!("change {}: {error}", index + 1)),
            Response::Error { message } => Some(message),
            other => Some(format!("unexpected answer {other:?}")),
        };
        if let Some(why) = refused {
            daemon.stop().await;
            return Err(DaemonError::Refused(why));
        }
        let listener = api::bind(&lab).map_err(io("open the API socket"))?;
        progress("ready");
        let server = tokio::spawn(api::serve(daemon.clone(), listener));
        wait_for_shutdown(&daemon).await;
        server.abort();
        daemon.stop().await;
        Ok(())
    });
    drop(runtime);
    host::remove_lab(&lab)?;
    let _ = std::fs::remove_file(lab.lock_file());
    drop(lock);
    result
}

async fn wait_for_shutdown(daemon: &Daemon) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        daemon.shutdown.notified().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = hup.recv() => {}
        _ = daemon.shutdown.notified() => {}
    }
}

/// The Cloud Shell's namespace and the fabric around it.
async fn start(
    lab: Lab,
    template: vm::Template,
    latency: LatencyConfig,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Arc<Daemon>, DaemonError> {
    let ns = lab.cloud_shell_netns();
    progress(&format!(
        "creating the Cloud Shell (namespace {ns}, {CLOUD_SHELL_IP} on the Internet side)"
    ));
    let dev = tokio::task::spawn_blocking(move || -> Result<AsyncDevice, HostError> {
        netns::add(&ns)?;
        let iface = Interface {
            address: CLOUD_SHELL_IP,
            prefix_len: 24,
            gateway: INTERNET_GATEWAY_IP,
            forwarding: false,
        };
        let dev = host::tun::open(&ns, "eth0", &iface, true)?;
        let _thread = super::packets::enter(0);
        AsyncDevice::new(dev).map_err(HostError::io("register the Cloud Shell's TUN"))
    })
    .await
    .map_err(|e| DaemonError::Io {
        what: "create the Cloud Shell".into(),
        source: std::io::Error::other(e),
    })??;
    let internet = Arc::new(Port::new(dev, None, "Internet".into()));
    let ns = lab.azure_host_netns();
    progress(&format!(
        "creating the Azure host (namespace {ns}, {AZURE_HOST_IP}, where health probes come from and Azure-provided DNS answers)"
    ));
    let host_ns = ns.clone();
    let dev = tokio::task::spawn_blocking(move || -> Result<AsyncDevice, HostError> {
        netns::add(&host_ns)?;
        let iface = Interface {
            address: AZURE_HOST_IP,
            prefix_len: 32,
            gateway: AZURE_HOST_IP,
            forwarding: false,
        };
        let dev = host::tun::open(&host_ns, "eth0", &iface, false)?;
        // Backends are reached at their probe aliases (see Tables::probe_alias).
        let aliases = PROBE_ALIAS_NET.parse().map_err(|e| HostError::Io {
            what: format!("read the probe alias network {PROBE_ALIAS_NET}"),
            source: std::io::Error::other(e),
        })?;
        host::tun::add_route(&host_ns, "eth0", aliases)?;
        let _thread = super::packets::enter(0);
        AsyncDevice::new(dev).map_err(HostError::io("register the Azure host's TUN"))
    })
    .await
    .map_err(|e| DaemonError::Io {
        what: "create the Azure host".into(),
        source: std::io::Error::other(e),
    })??;
    let azure_host = Arc::new(Port::new(dev, Some(plane::AZURE_HOST_KEY), "Azure host".into()));
    let (drops, _) = broadcast::channel(1024);
    let mut link_counters = FxHashMap::default();
    let plane = Plane::new(
        Tables::compile(&Model::new(), 0),
        &FxHashMap::default(),
        &mut link_counters,
        internet.clone(),
    );
    let fabric = Arc::new(Fabric {
        plane: ArcSwap::from_pointee(plane),
        conntrack: Mutex::new(ConnTrack::new()),
        health: ArcSwap::from_pointee(LbHealth::all_up()),
        dns: ArcSwap::from_pointee(crate::dns::DnsView::default()),
        drops,
        delay: DelayLine::start().map_err(|e| DaemonError::Io {
            what: "start the delay line".into(),
            source: e,
        })?,
        taps: Default::default(),
        flow_feed: super::flowlogs::start(lab.flow_log_dir(), super::flowlogs::config_from_env()),
    });
    let stop_probes = Arc::new(std::sync::atomic::AtomicBool::new(false));
    prober::spawn(fabric.clone(), &ns, stop_probes.clone())?;
    dns_server::spawn(fabric.clone(), &ns).await?;
    super::packets::spawn(0, plane::run_port(fabric.clone(), azure_host.clone(), 0));
    let daemon = Arc::new(Daemon {
        lab: lab.clone(),
        fabric: fabric.clone(),
        internet: internet.clone(),
        azure_host,
        stop_probes,
        model: Mutex::new(Model::new()),
        latency,
        host: tokio::sync::Mutex::new(HostState {
            vms: BTreeMap::new(),
            link_counters,
            generation: 0,
        }),
        builder: Arc::new(Builder::new(template)),
        journal: journal::Journal::new(&lab),
        closing: std::sync::atomic::AtomicBool::new(false),
        shutdown: Notify::new(),
    });
    super::packets::spawn(0, plane::run_port(fabric.clone(), internet, 0));
    tokio::spawn(expire_flows(fabric));
    Ok(daemon)
}

/// Idle flows leave the connection table (each NIC's timeout is checked
/// on lookup; this only frees memory).
async fn expire_flows(fabric: Arc<Fabric>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        fabric
            .conntrack
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expire(std::time::Instant::now());
    }
}

impl Daemon {
    /// Stops every packet task and removes every VM, many at a time,
    /// writing how many are gone to `progress_file`.
    pub(super) async fn stop(&self) {
        self.closing.store(true, Relaxed);
        self.stop_probes.store(true, Relaxed);
        let mut host = self.host.lock().await;
        let vms: Vec<RunningVm> = std::mem::take(&mut host.vms).into_values().collect();
        let total = vms.len();
        let file = progress_file(&self.lab);
        let _ = std::fs::write(&file, format!("0/{total}"));
        // Tables that lead to no VM: the plane lets go of their TUNs.
        let empty = Plane::new(
            Tables::compile(&Model::new(), host.generation + 1),
            &FxHashMap::default(),
            &mut host.link_counters,
            self.internet.clone(),
        );
        self.fabric.plane.store(Arc::new(empty));
        // One scan of /proc for the processes of every VM (sessions, what
        // `exec` started), rather than one per VM.
        let all: Vec<String> = vms.iter().flat_map(|r| build::namespaces(&r.plan)).collect();
        let _ = build::blocking("stop the VMs' processes", move || Ok(host::kill_all_in(&all))).await;
        let step = (total / 100).max(1);
        let counted = |done: usize| {
            if done.is_multiple_of(step) || done == total {
                let _ = std::fs::write(&file, format!("{done}/{total}"));
            }
        };
        self.teardown_all(vms, true, Some(&counted)).await;
    }
}
