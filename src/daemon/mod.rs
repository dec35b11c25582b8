//! One daemon per lab: it owns the model, the host (namespaces, TUNs,
//! sshd processes) and the packet tasks, and serves the API socket.
//!
//! Every change, the topology at start-up included, takes one path:
//! validate on a copy of the model, build what the host lacks, compile new
//! tables, swap them in atomically, then remove what is no longer needed.
//! A refused change leaves model, host and traffic exactly as they were.

mod api;
pub mod client;
mod hostplan;
mod plane;
mod podplan;
mod prober;
pub mod proto;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;
use thiserror::Error;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tun_rs::AsyncDevice;

pub use hostplan::{
    NicPlan, ONPREM_PASSWORD, ONPREM_USER, SITE_HOST_SUFFIX, SitePlan, VmPlan, on_premises_machine, plan, site_lan,
};
use plane::{Fabric, LinkCounters, Plane, Port};
use proto::{CloudShellStatus, LabStatus, NicStatus, PeeringStatus, Response, VmStatus};

use crate::dataplane::{CLOUD_SHELL_IP, ConnTrack, INTERNET_GATEWAY_IP, LbHealth, PROBE_ALIAS_NET, Tables, stable_key};
use crate::host::pod::NodeNet;
use crate::host::tun::Interface;
use crate::host::{self, HostError, Lab, netns, vm};
use crate::model::AZURE_HOST_IP;
use crate::model::{Change, Model, PowerState, ResourceId};

/// How long a new VM's sshd may take to listen.
const SSHD_READY: Duration = Duration::from_secs(20);

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("lab '{lab}' is already running (daemon PID {pid}); `vnetlab down --lab {lab}` stops it")]
    AlreadyRunning { lab: String, pid: u32 },
    #[error("{0}")]
    Refused(String),
    #[error("could not {what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// A VM whose namespace, TUNs and sshd exist.
#[derive(Debug)]
struct RunningVm {
    plan: VmPlan,
    /// The machine's server: a VM's sshd (anchor of its mount and UTS
    /// namespaces) or a cache's redis-server; reaped on teardown.
    server: Option<std::process::Child>,
    /// An on-premises site's host: its sshd.
    site_host_sshd: Option<std::process::Child>,
    ports: Vec<Arc<Port>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningVm {
    /// Waits until the VM's sshd answers; a VM whose sshd never does (or
    /// died booting) was not built.
    async fn ready(&self) -> Result<(), HostError> {
        if let (Some(site), Some(sshd)) = (&self.plan.site, &self.site_host_sshd) {
            wait_sshd(&site.host, sshd.id()).await?;
        }
        let Some(server) = &self.server else { return Ok(()) };
        if self.plan.cache.is_some() {
            return wait_listening(&self.plan.setup, crate::model::REDIS_PORT, "redis.log", server.id()).await;
        }
        wait_sshd(&self.plan.setup, server.id()).await
    }
}

/// Waits until the sshd of `machine` answers; one that never does (or
/// died booting) was not built.
async fn wait_sshd(machine: &vm::VmSetup, pid: u32) -> Result<(), HostError> {
    wait_listening(machine, 22, "sshd.log", pid).await
}

/// Waits until `machine`'s server (`pid`) listens on `port`; on failure
/// the error carries the server's log.
async fn wait_listening(machine: &vm::VmSetup, port: u16, log: &str, pid: u32) -> Result<(), HostError> {
    let Some(ip) = machine.address else { return Ok(()) };
    let ns = machine.netns.clone();
    let log = machine.dir.join(log);
    tokio::task::spawn_blocking(move || {
        vm::wait_ready(&ns, ip, port, pid, SSHD_READY).map_err(|e| match std::fs::read_to_string(&log) {
            Ok(text) if !text.trim().is_empty() => HostError::Command {
                what: format!("sshd in {ns}"),
                stderr: text.trim().to_string(),
            },
            _ => e,
        })
    })
    .await
    .map_err(|e| HostError::Io {
        what: "wait for sshd".into(),
        source: std::io::Error::other(e),
    })?
}

#[derive(Debug)]
struct HostState {
    vms: BTreeMap<ResourceId, RunningVm>,
    link_counters: FxHashMap<u64, Arc<LinkCounters>>,
    generation: u64,
}

#[derive(Debug)]
pub struct Daemon {
    lab: Lab,
    fabric: Arc<Fabric>,
    internet: Arc<Port>,
    /// The Azure host's TUN, where health probes come from.
    azure_host: Arc<Port>,
    stop_probes: Arc<std::sync::atomic::AtomicBool>,
    model: Mutex<Model>,
    /// Held for the whole of a change: changes apply one at a time.
    host: tokio::sync::Mutex<HostState>,
    /// Set once the lab is being removed: no change may rebuild it.
    closing: std::sync::atomic::AtomicBool,
    shutdown: Notify,
}

/// Runs a lab until SIGTERM, SIGINT or an API `Shutdown`, then removes
/// everything it made. `changes` (the topology) are applied first;
/// `progress` hears each step, and "ready" once the API is up.
pub fn run(lab: Lab, changes: Vec<Change>, progress: &(dyn Fn(&str) + Sync)) -> Result<(), DaemonError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |e| DaemonError::Io { what, source: e }
    };
    // `up` swept what a killed daemon of this lab left behind; the lock
    // makes this daemon the lab's only one until it exits.
    let Some(lock) = host::LabLock::try_take(&lab)? else {
        return Err(DaemonError::AlreadyRunning {
            lab: lab.to_string(),
            pid: host::daemon_pid(&lab).unwrap_or(0),
        });
    };
    let dir = lab.runtime_dir();
    std::fs::create_dir_all(&dir).map_err(io("create the runtime directory"))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io("restrict the runtime directory"))?;
    std::fs::write(lab.pid_file(), std::process::id().to_string()).map_err(io("write the PID file"))?;

    // Half the cores for the data plane, the rest for the VMs' own
    // processes (iperf3, sshd…): on 2 vCPUs one packet thread carried
    // 100 k pps of 64-byte UDP without loss where two lost 1-10 %, the
    // packet threads and the endpoints taking turns on the same cores.
    let workers = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(io("start the runtime"))?;
    let result = runtime.block_on(async {
        let daemon = start(lab.clone(), progress).await?;
        let refused = match daemon.apply(changes, progress).await {
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
async fn start(lab: Lab, progress: &(dyn Fn(&str) + Sync)) -> Result<Arc<Daemon>, DaemonError> {
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
        "creating the Azure host (namespace {ns}, {AZURE_HOST_IP}, where health probes come from)"
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
        drops,
    });
    let stop_probes = Arc::new(std::sync::atomic::AtomicBool::new(false));
    prober::spawn(fabric.clone(), &ns, stop_probes.clone())?;
    tokio::spawn(plane::run_port(fabric.clone(), azure_host.clone()));
    let daemon = Arc::new(Daemon {
        lab,
        fabric: fabric.clone(),
        internet: internet.clone(),
        azure_host,
        stop_probes,
        model: Mutex::new(Model::new()),
        host: tokio::sync::Mutex::new(HostState {
            vms: BTreeMap::new(),
            link_counters,
            generation: 0,
        }),
        closing: std::sync::atomic::AtomicBool::new(false),
        shutdown: Notify::new(),
    });
    tokio::spawn(plane::run_port(fabric.clone(), internet));
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
    pub fn model(&self) -> Model {
        self.model.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn request_shutdown(&self) {
        self.shutdown.notify_one();
    }

    pub fn drops(&self) -> broadcast::Receiver<proto::DropEvent> {
        self.fabric.drops.subscribe()
    }

    /// Applies `changes` whole, or refuses them with the engine's error
    /// and changes nothing.
    pub async fn apply(self: &Arc<Self>, changes: Vec<Change>, progress: &(dyn Fn(&str) + Sync)) -> Response {
        let mut host = self.host.lock().await;
        if self.closing.load(Relaxed) {
            return Response::Error {
                message: format!("lab '{}' is being removed", self.lab),
            };
        }
        let mut next = self.model();
        if let Err((index, error)) = next.apply_all(changes) {
            return Response::Refused { index, error };
        }
        let wanted = plan(&self.lab, &next);
        // Sites whose router only learned or lost routes: changed in place.
        let relearned: Vec<(ResourceId, VmPlan)> = wanted
            .iter()
            .filter(|(id, p)| {
                host.vms
                    .get(*id)
                    .is_some_and(|r| !r.plan.host_differs(p) && r.plan.site != p.site)
            })
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        // AKS nodes whose pods or mesh changed: changed in place.
        let renoded: Vec<(ResourceId, VmPlan)> = wanted
            .iter()
            .filter(|(id, p)| {
                host.vms
                    .get(*id)
                    .is_some_and(|r| !r.plan.host_differs(p) && r.plan.node != p.node)
            })
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        let deleted: Vec<ResourceId> = host
            .vms
            .keys()
            .filter(|id| !wanted.contains_key(*id))
            .cloned()
            .collect();
        let fresh: Vec<(ResourceId, VmPlan)> = wanted
            .into_iter()
            .filter(|(id, p)| host.vms.get(id).is_none_or(|run| run.plan.host_differs(p)))
            .collect();
        // Fresh plans of VMs that already run: a rebuild.
        let changed: Vec<ResourceId> = fresh
            .iter()
            .map(|(id, _)| id)
            .filter(|id| host.vms.contains_key(*id))
            .cloned()
            .collect();

        // A rebuilt VM gives its namespace back first; VMs that are simply
        // gone stay until the new tables no longer lead to them.
        let mut rebuilt = Vec::new();
        for id in &changed {
            if let Some(run) = host.vms.remove(id) {
                progress(&format!(
                    "rebuilding VM {} (namespace {})",
                    run.plan.name, run.plan.setup.netns
                ));
                rebuilt.push((id.clone(), run.plan.clone()));
                teardown(run).await;
            }
        }
        let mut built: Vec<(ResourceId, RunningVm)> = Vec::new();
        let total = fresh.len();
        for (i, (id, p)) in fresh.into_iter().enumerate() {
            match &p.site {
                None if p.cache.is_some() => {
                    let at = p
                        .nics
                        .first()
                        .map_or_else(String::new, |n| format!(", {} {}", n.interface, n.iface.address));
                    progress(&format!(
                        "[{}/{total}] Azure Cache for Redis {}: namespace {}{at}, redis-server on 6379 and 6380 (TLS)",
                        i + 1,
                        p.name,
                        p.setup.netns
                    ));
                }
                None => {
                    let eth0 = p.nics.first().map_or_else(
                        || "no NIC".to_string(),
                        |n| format!("{} {}/{}", n.interface, n.iface.address, n.iface.prefix_len),
                    );
                    progress(&format!(
                        "[{}/{total}] VM {}: namespace {}, {eth0}, sshd",
                        i + 1,
                        p.name,
                        p.setup.netns
                    ));
                }
                Some(site) => progress(&format!(
                    "[{}/{total}] on-premises site {}: router (namespace {}, {} tunnel(s), LAN {}) and host {} ({})",
                    i + 1,
                    p.name,
                    p.setup.netns,
                    p.nics.len(),
                    site.router_lan,
                    site.host.name,
                    site.host.address.map_or_else(String::new, |a| a.to_string())
                )),
            }
            match build(p).await {
                Ok(run) => built.push((id, run)),
                Err(e) => return self.undo(&mut host, built, rebuilt, e).await,
            }
        }
        if !built.is_empty() {
            progress(&format!(
                "waiting for {} machine(s) to answer (sshd on 22, redis-server on 6379)",
                built.len()
            ));
        }
        for (_, run) in &built {
            if let Err(e) = run.ready().await {
                return self.undo(&mut host, built, rebuilt, e).await;
            }
        }
        let mut synced: Vec<(String, NodeNet, NodeNet)> = Vec::new();
        for (id, p) in &renoded {
            let Some((run, Some(new))) = host.vms.get(id).map(|r| (r, p.node.clone())) else {
                continue;
            };
            let (ns, old) = (run.plan.setup.netns.clone(), run.plan.node.clone());
            progress(&format!("AKS node {}: pods and mesh", p.name));
            if let Err(e) = sync_node(ns.clone(), old.clone(), new.clone()).await {
                // Back to what the nodes held: the change is not applied.
                for (ns, new, old) in synced.into_iter().rev() {
                    let _ = sync_node(ns, Some(new), old).await;
                }
                return self.undo(&mut host, built, rebuilt, e).await;
            }
            if let Some(old) = old {
                synced.push((ns, new, old));
            }
        }
        if let Ok(mut m) = self.model.lock() {
            *m = next;
        }
        for (id, p) in renoded {
            if let Some(run) = host.vms.get_mut(&id) {
                run.plan.node = p.node;
            }
        }
        host.vms.extend(built);
        let gone: Vec<RunningVm> = deleted.iter().filter_map(|id| host.vms.remove(id)).collect();
        let generation = self.publish(&mut host);
        self.start_tasks(&mut host);
        for (id, p) in relearned {
            let Some(run) = host.vms.get_mut(&id) else { continue };
            if let (Some(old), Some(new)) = (&run.plan.site, &p.site) {
                progress(&format!(
                    "on-premises router {}: routes toward Azure now {}",
                    p.name,
                    describe_routes(&new.routes)
                ));
                if let Err(e) = relearn(&run.plan.setup.netns, old, new).await {
                    progress(&format!("warning: could not update the routes of {}: {e}", p.name));
                }
            }
            run.plan = p;
        }
        for run in gone {
            progress(&format!(
                "removing VM {} (namespace {})",
                run.plan.name, run.plan.setup.netns
            ));
            teardown(run).await;
        }
        Response::Applied { generation }
    }

    /// The host could not build a valid change: remove what this change
    /// built, rebuild what it took down, keep the old model.
    async fn undo(
        &self,
        host: &mut HostState,
        built: Vec<(ResourceId, RunningVm)>,
        rebuilt: Vec<(ResourceId, VmPlan)>,
        e: HostError,
    ) -> Response {
        for (_, run) in built {
            teardown(run).await;
        }
        let mut lost = Vec::new();
        for (id, p) in rebuilt {
            let name = p.name.clone();
            match build(p).await {
                Ok(run) => {
                    let _ = run.ready().await;
                    host.vms.insert(id, run);
                }
                Err(_) => lost.push(name),
            }
        }
        self.publish(host);
        self.start_tasks(host);
        let mut message = format!("the change is valid, but the host could not build it, so it was not applied: {e}");
        if !lost.is_empty() {
            message.push_str(&format!(
                "; VM(s) {} could not be restored on the host either (the model still has them)",
                lost.join(", ")
            ));
        }
        Response::Error { message }
    }

    /// Starts the packet tasks of new VMs, once their NICs are in the
    /// published tables.
    fn start_tasks(&self, host: &mut HostState) {
        for run in host.vms.values_mut().filter(|r| r.tasks.is_empty()) {
            run.tasks = run
                .ports
                .iter()
                .map(|p| tokio::spawn(plane::run_port(self.fabric.clone(), p.clone())))
                .collect();
        }
    }

    /// Compiles the current model and swaps the new plane in.
    fn publish(&self, host: &mut HostState) -> u64 {
        host.generation += 1;
        let model = self.model();
        let mut by_key: FxHashMap<u64, Arc<Port>> = host
            .vms
            .values()
            .flat_map(|r| r.ports.iter())
            .filter_map(|p| Some((p.key?, p.clone())))
            .collect();
        by_key.insert(plane::AZURE_HOST_KEY, self.azure_host.clone());
        let tables = Tables::compile(&model, host.generation);
        let plane = Plane::new(tables, &by_key, &mut host.link_counters, self.internet.clone());
        self.fabric.plane.store(Arc::new(plane));
        host.generation
    }

    /// Stops every packet task and removes every VM.
    async fn stop(&self) {
        self.closing.store(true, Relaxed);
        self.stop_probes.store(true, Relaxed);
        let mut host = self.host.lock().await;
        let vms = std::mem::take(&mut host.vms);
        for (_, run) in vms {
            teardown(run).await;
        }
    }

    pub async fn status(&self) -> LabStatus {
        let host = self.host.lock().await;
        let model = self.model();
        let plane = self.fabric.plane.load();
        let vms = host
            .vms
            .iter()
            .filter(|(_, run)| run.plan.site.is_none() && run.plan.cache.is_none())
            .map(|(id, run)| {
                let power = model
                    .virtual_machines
                    .get(id)
                    .map_or(PowerState::Running, |v| v.power_state);
                let nics = run
                    .plan
                    .nics
                    .iter()
                    .zip(&run.ports)
                    .map(|(n, port)| {
                        let public_ip = plane.nic(n.key).and_then(|e| e.public_ip).map(|(ip, _)| ip.to_string());
                        NicStatus {
                            name: n.name.clone(),
                            interface: n.interface.clone(),
                            private_ip: n.iface.address.to_string(),
                            prefix_len: n.iface.prefix_len,
                            public_ip,
                            tx: port.tx.get(),
                            rx: port.rx.get(),
                            dropped: port.dropped.load(Relaxed),
                        }
                    })
                    .collect();
                VmStatus {
                    name: run.plan.name.clone(),
                    resource_group: run.plan.resource_group.clone(),
                    netns: run.plan.setup.netns.clone(),
                    power_state: power.display().to_string(),
                    admin_username: run.plan.setup.admin_username.clone(),
                    sshd_pid: run.server.as_ref().map_or(0, |c| c.id()),
                    sshd_log: run.plan.setup.dir.join("sshd.log").display().to_string(),
                    nics,
                }
            })
            .collect();
        let mut peerings = Vec::new();
        for vnet in model.virtual_networks.values() {
            for p in &vnet.peerings {
                let c = host.link_counters.get(&stable_key(&p.id));
                peerings.push(PeeringStatus {
                    name: p.name.clone(),
                    vnet: vnet.name.clone(),
                    remote_vnet: p.remote_virtual_network.name().to_string(),
                    peering_state: format!("{:?}", model.peering_state(&vnet.id, p)),
                    carried: c.map(|c| c.carried.get()).unwrap_or_default(),
                    dropped: c.map_or(0, |c| c.dropped.load(Relaxed)),
                });
            }
        }
        let sites = host
            .vms
            .values()
            .filter_map(|run| Some(site_status(run, run.plan.site.as_ref()?)))
            .collect();
        let caches = host
            .vms
            .values()
            .filter_map(|run| {
                let c = run.plan.cache.as_ref()?;
                let cache = model.redis_caches.values().find(|r| r.name == c.name)?;
                Some(proto::CacheStatus {
                    name: c.name.clone(),
                    netns: c.netns.clone(),
                    instance_ip: run.plan.setup.address.map(|a| a.to_string()).unwrap_or_default(),
                    static_ip: cache.static_ip.map(|a| a.to_string()),
                    pid: run.server.as_ref().map_or(0, |p| p.id()),
                    log: c.dir.join("redis.log").display().to_string(),
                })
            })
            .collect();
        let load_balancers = {
            let health = self.fabric.health.load();
            let t = &plane.tables;
            t.lbs
                .iter()
                .map(|lb| proto::LbStatus {
                    name: lb.name.clone(),
                    sku: lb.sku.as_str().into(),
                    frontends: lb.frontends.iter().map(|(_, ip)| ip.to_string()).collect(),
                    backends: lb
                        .pools
                        .iter()
                        .flat_map(|(_, m)| m.iter())
                        .map(|&n| {
                            let nic = &t.nics[n];
                            let state = if !nic.running {
                                "Stopped"
                            } else if health.is_down(lb.key, nic.key) {
                                "Down"
                            } else {
                                "Up"
                            };
                            proto::BackendStatus {
                                name: nic.vm.clone().unwrap_or_else(|| nic.name.clone()),
                                ip: nic.ip.to_string(),
                                health: state.into(),
                            }
                        })
                        .collect(),
                })
                .collect()
        };
        LabStatus {
            sites,
            caches,
            load_balancers,
            lab: self.lab.to_string(),
            pid: std::process::id(),
            generation: host.generation,
            cloud_shell: CloudShellStatus {
                netns: self.lab.cloud_shell_netns(),
                address: CLOUD_SHELL_IP.to_string(),
            },
            vms,
            peerings,
        }
    }
}

fn site_status(run: &RunningVm, site: &hostplan::SitePlan) -> proto::SiteStatus {
    let machine = |setup: &vm::VmSetup, sshd: Option<&std::process::Child>, nics: Vec<NicStatus>| VmStatus {
        name: setup.name.clone(),
        resource_group: run.plan.resource_group.clone(),
        netns: setup.netns.clone(),
        power_state: PowerState::Running.display().to_string(),
        admin_username: setup.admin_username.clone(),
        sshd_pid: sshd.map_or(0, |c| c.id()),
        sshd_log: setup.dir.join("sshd.log").display().to_string(),
        nics,
    };
    let nic =
        |name: &str, interface: &str, ip: std::net::Ipv4Addr, prefix_len: u8, port: Option<&Arc<Port>>| NicStatus {
            name: name.to_string(),
            interface: interface.to_string(),
            private_ip: ip.to_string(),
            prefix_len,
            public_ip: None,
            tx: port.map(|p| p.tx.get()).unwrap_or_default(),
            rx: port.map(|p| p.rx.get()).unwrap_or_default(),
            dropped: port.map_or(0, |p| p.dropped.load(Relaxed)),
        };
    let lan = site.router_lan;
    let mut router_nics = vec![nic("LAN", "lan0", lan.addr(), lan.prefix_len(), None)];
    router_nics.extend(
        run.plan
            .nics
            .iter()
            .zip(&run.ports)
            .map(|(n, p)| nic(&n.name, &n.interface, n.iface.address, 32, Some(p))),
    );
    let host_nics = site
        .host
        .address
        .map(|ip| nic("LAN", "eth0", ip, lan.prefix_len(), None))
        .into_iter()
        .collect();
    proto::SiteStatus {
        name: run.plan.name.clone(),
        router: machine(&run.plan.setup, run.server.as_ref(), router_nics),
        host: machine(&site.host, run.site_host_sshd.as_ref(), host_nics),
        routes: site.routes.iter().map(route_text).collect(),
    }
}

/// Builds a VM on the host: namespace, one TUN per NIC, files, sshd.
async fn build(p: VmPlan) -> Result<RunningVm, HostError> {
    tokio::task::spawn_blocking(move || {
        let ns = p.setup.netns.clone();
        netns::add(&ns)?;
        let made = (|| -> Result<RunningVm, HostError> {
            let mut ports = Vec::new();
            for (i, n) in p.nics.iter().enumerate() {
                // A VM's first NIC has its default route; a site router
                // routes only what it learned into its tunnels.
                let dev = host::tun::open(&ns, &n.interface, &n.iface, i == 0 && p.site.is_none())?;
                let dev = AsyncDevice::new(dev).map_err(HostError::io(format!("register {}'s TUN", p.name)))?;
                ports.push(Arc::new(Port::new(
                    dev,
                    Some(n.key),
                    format!("{}/{}", p.name, n.interface),
                )));
            }
            let mut site_host_sshd = None;
            if let Some(site) = &p.site {
                host::site::build(
                    &ns,
                    &site.host.netns,
                    site.router_lan,
                    site.host.address,
                    &site.other_prefixes,
                )?;
                host::site::set_routes(&ns, site.router_lan.addr(), &[], &site.routes)?;
                vm::prepare(&site.host)?;
                site_host_sshd = Some(vm::spawn(&site.host)?);
            }
            let server = match &p.cache {
                Some(c) => {
                    host::cache::prepare(c)?;
                    host::cache::spawn(c)?
                }
                None => {
                    vm::prepare(&p.setup)?;
                    vm::spawn(&p.setup)?
                }
            };
            if let Some(node) = &p.node {
                host::pod::sync(&ns, None, node)?;
            }
            Ok(RunningVm {
                plan: p.clone(),
                server: Some(server),
                site_host_sshd,
                ports,
                tasks: Vec::new(),
            })
        })();
        if made.is_err() {
            for ns in namespaces(&p) {
                host::kill_all(&ns);
                let _ = netns::delete(&ns);
            }
        }
        made
    })
    .await
    .map_err(|e| HostError::Io {
        what: "build a VM".into(),
        source: std::io::Error::other(e),
    })?
}

async fn teardown(mut run: RunningVm) {
    for t in &run.tasks {
        t.abort();
    }
    let all_ns = namespaces(&run.plan);
    let dirs: Vec<_> = std::iter::once(run.plan.setup.dir.clone())
        .chain(run.plan.site.as_ref().map(|s| s.host.dir.clone()))
        .collect();
    let sshds: Vec<_> = [run.server.take(), run.site_host_sshd.take()]
        .into_iter()
        .flatten()
        .collect();
    drop(run);
    let _ = tokio::task::spawn_blocking(move || {
        for mut sshd in sshds {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        for ns in all_ns {
            host::kill_all(&ns);
            let _ = netns::delete(&ns);
        }
        for dir in dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    })
    .await;
}

/// The namespaces a plan makes: a VM's one, or a site's router and host.
/// An AKS node's pods come with it.
fn namespaces(p: &VmPlan) -> Vec<String> {
    let pods = p.node.iter().flat_map(host::pod::namespaces);
    std::iter::once(p.setup.netns.clone())
        .chain(p.site.as_ref().map(|s| s.host.netns.clone()))
        .chain(pods)
        .collect()
}

/// A route the site's router learned, as `status` shows it.
fn route_text((prefix, dev): &(ipnet::Ipv4Net, String)) -> String {
    format!("{prefix} via {dev}")
}

fn describe_routes(routes: &[(ipnet::Ipv4Net, String)]) -> String {
    if routes.is_empty() {
        return "none".into();
    }
    routes.iter().map(route_text).collect::<Vec<_>>().join(", ")
}

async fn sync_node(ns: String, old: Option<NodeNet>, new: NodeNet) -> Result<(), HostError> {
    tokio::task::spawn_blocking(move || host::pod::sync(&ns, old.as_ref(), &new))
        .await
        .map_err(|e| HostError::Io {
            what: "update an AKS node".into(),
            source: std::io::Error::other(e),
        })?
}

async fn relearn(router_ns: &str, old: &hostplan::SitePlan, new: &hostplan::SitePlan) -> Result<(), HostError> {
    let (ns, src, old, new) = (
        router_ns.to_string(),
        new.router_lan.addr(),
        old.routes.clone(),
        new.routes.clone(),
    );
    tokio::task::spawn_blocking(move || host::site::set_routes(&ns, src, &old, &new))
        .await
        .map_err(|e| HostError::Io {
            what: "update a site's routes".into(),
            source: std::io::Error::other(e),
        })?
}
