//! Building and removing machines on the host, many at a time: each VM's
//! blocking host work runs on the blocking pool, at most `pool` of them at
//! once (2 per core: the work waits on the kernel as much as it computes).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tun_rs::AsyncDevice;

use super::hostplan::VmPlan;
use super::plane::Port;
use crate::host::{self, HostError, netns, vm};

/// How long a new cache's redis-server may take to listen.
const SERVER_READY: Duration = Duration::from_secs(20);

/// What every build needs: the lab's base mount namespace and the bound
/// on parallel host work.
#[derive(Debug)]
pub(super) struct Builder {
    pub template: vm::Template,
    pub pool: Semaphore,
}

impl Builder {
    pub fn new(template: vm::Template) -> Builder {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Builder {
            template,
            pool: Semaphore::new(2 * cores),
        }
    }
}

/// A machine that ssh logs in to: a VM, a site's router or host.
#[derive(Debug)]
pub(super) struct Machine {
    pub setup: vm::VmSetup,
    /// Shared with the acceptor; the namespaces go when both let go.
    pub anchors: Arc<vm::Anchors>,
    acceptor: JoinHandle<()>,
}

/// A VM whose namespace, TUNs and listening port 22 exist.
#[derive(Debug)]
pub(super) struct RunningVm {
    pub plan: VmPlan,
    /// A cache's redis-server; reaped on teardown.
    pub server: Option<std::process::Child>,
    /// The VM (or site router), then a site's host.
    pub machines: Vec<Machine>,
    pub ports: Vec<Arc<Port>>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl RunningVm {
    /// A machine by namespace.
    pub fn machine(&self, netns: &str) -> Option<&Machine> {
        self.machines.iter().find(|m| m.setup.netns == netns)
    }

    /// Waits until the machine's server answers. sshd needs no wait: its
    /// socket listened before the machine was built.
    pub async fn ready(&self) -> Result<(), HostError> {
        if let (Some(server), Some(s)) = (&self.server, &self.plan.speaker) {
            let (dir, name, pid) = (s.dir.clone(), s.name.clone(), server.id());
            return blocking("wait for bgpd", move || wait_speaker(&dir, &name, pid)).await;
        }
        let (Some(server), Some(_)) = (&self.server, &self.plan.cache) else {
            return Ok(());
        };
        let setup = &self.plan.setup;
        let Some(ip) = setup.address else { return Ok(()) };
        let (ns, pid, log) = (setup.netns.clone(), server.id(), setup.dir.join("redis.log"));
        blocking("wait for redis-server", move || {
            vm::wait_ready(&ns, ip, crate::model::REDIS_PORT, pid, SERVER_READY).map_err(|e| {
                match std::fs::read_to_string(&log) {
                    Ok(text) if !text.trim().is_empty() => HostError::Command {
                        what: format!("redis-server in {ns}"),
                        stderr: text.trim().to_string(),
                    },
                    _ => e,
                }
            })
        })
        .await
    }
}

/// Waits until a Route Server instance's bgpd answers on its vty socket,
/// or says why it stopped.
fn wait_speaker(dir: &std::path::Path, name: &str, pid: u32) -> Result<(), HostError> {
    let deadline = std::time::Instant::now() + SERVER_READY;
    loop {
        if host::bgp::answers(dir) {
            return Ok(());
        }
        if host::is_zombie(pid) || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let out = std::fs::read_to_string(dir.join("bgpd.out")).unwrap_or_default();
            return Err(HostError::Command {
                what: format!("bgpd of {name}"),
                stderr: format!("it stopped: {}", out.trim()),
            });
        }
        if std::time::Instant::now() > deadline {
            return Err(HostError::Command {
                what: format!("bgpd of {name}"),
                stderr: format!("no answer on its vty socket within {} s", SERVER_READY.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs blocking host work off the runtime's threads.
pub(super) async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, HostError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| HostError::Io {
        what: what.to_string(),
        source: std::io::Error::other(e),
    })?
}

/// What the blocking part of a build made.
struct Made {
    /// Per NIC, its TUN's queues.
    ports: Vec<Vec<AsyncDevice>>,
    server: Option<std::process::Child>,
    booted: Vec<(vm::VmSetup, vm::Booted)>,
}

/// Builds a VM on the host: namespace, one TUN per NIC, files, its own
/// mount and UTS namespaces and a listening port 22 (or a cache's
/// redis-server). Waits for a place in the pool.
pub(super) async fn build(builder: &Arc<Builder>, p: VmPlan) -> Result<RunningVm, HostError> {
    let permit = builder.pool.acquire().await.map_err(|e| HostError::Io {
        what: "wait for the build pool".into(),
        source: std::io::Error::other(e),
    })?;
    let (b, plan) = (builder.clone(), p.clone());
    let made = blocking("build a VM", move || make(&b, &plan)).await;
    drop(permit);
    let made = made?;
    let ports = p
        .nics
        .iter()
        .zip(made.ports)
        .map(|(n, queues)| {
            Arc::new(Port::with_queues(
                queues,
                Some(n.key),
                format!("{}/{}", p.name, n.interface),
            ))
        })
        .collect();
    let mut machines = Vec::new();
    for (setup, booted) in made.booted {
        let listener = booted.listener;
        let accept = listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
            .map_err(HostError::io("watch port 22"));
        let anchors = Arc::new(booted.anchors);
        let acceptor = tokio::spawn(accept_ssh(accept?, setup.clone(), anchors.clone()));
        machines.push(Machine {
            setup,
            anchors,
            acceptor,
        });
    }
    Ok(RunningVm {
        plan: p,
        server: made.server,
        machines,
        ports,
        tasks: Vec::new(),
    })
}

fn make(b: &Builder, p: &VmPlan) -> Result<Made, HostError> {
    let ns = p.setup.netns.clone();
    netns::add(&ns)?;
    let mut booted = Vec::new();
    let made = (|| -> Result<Made, HostError> {
        let mut ports = Vec::new();
        for (i, n) in p.nics.iter().enumerate() {
            // A VM's first NIC has its default route; a site router
            // routes only what it learned into its tunnels.
            let queues = super::packets::count();
            let devs = host::tun::open_queues(&ns, &n.interface, &n.iface, i == 0 && p.site.is_none(), queues)?;
            // Queue `q` is read by packet thread `q`: its reactor watches it.
            let devs = devs.into_iter().enumerate().map(|(q, d)| {
                let _thread = super::packets::enter(q);
                AsyncDevice::new(d).map_err(HostError::io(format!("register {}'s TUN", p.name)))
            });
            ports.push(devs.collect::<Result<Vec<_>, _>>()?);
        }
        let server = match (&p.cache, &p.speaker) {
            (Some(c), _) => {
                host::cache::prepare(c)?;
                Some(host::cache::spawn(c)?)
            }
            (None, Some(s)) => {
                host::bgp::prepare(s)?;
                Some(host::bgp::spawn(s)?)
            }
            (None, None) => {
                vm::prepare(&p.setup)?;
                booted.push((p.setup.clone(), vm::boot(&p.setup, &b.template)?));
                None
            }
        };
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
            booted.push((site.host.clone(), vm::boot(&site.host, &b.template)?));
        }
        if let Some(node) = &p.node {
            host::pod::sync(&ns, None, node)?;
        }
        Ok(Made {
            ports,
            server,
            booted: std::mem::take(&mut booted),
        })
    })();
    if made.is_err() {
        drop(booted);
        let all = namespaces(p);
        host::kill_all_in(&all);
        for ns in all {
            let _ = netns::delete(&ns);
        }
    }
    made
}

/// Port 22 of a machine, inetd-style: each connection gets its own
/// `sshd -i` inside the machine's namespaces, reaped when it ends.
async fn accept_ssh(listener: tokio::net::TcpListener, setup: vm::VmSetup, anchors: Arc<vm::Anchors>) {
    loop {
        let conn = match listener.accept().await {
            Ok((conn, _)) => conn,
            Err(e) => {
                // Out of descriptors, most likely: try again shortly.
                eprintln!("{}: cannot accept an ssh connection: {e}", setup.name);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let conn = match conn.into_std().and_then(|c| c.set_nonblocking(false).map(|()| c)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}: cannot take an ssh connection: {e}", setup.name);
                continue;
            }
        };
        // The session is its own process, reparented away from the
        // daemon (setsid --fork): the daemon reaps only the short-lived
        // setsid, not thousands of sessions (tokio wakes every child it
        // waits for on each SIGCHLD: n² at a port scan or teardown).
        // The VM's init first (its PID namespace and /proc), at the
        // VM's first connection.
        let (a, ns) = (anchors.clone(), setup.netns.clone());
        let init = match blocking("start the VM's init", move || a.enter(&ns)).await {
            Ok(pid) => pid,
            Err(e) => {
                eprintln!("{}: cannot start its init: {e}", setup.name);
                continue;
            }
        };
        match vm::session(&setup, init, conn).map(tokio::process::Command::from) {
            Ok(mut cmd) => match cmd.spawn() {
                Ok(mut child) => {
                    let _ = child.wait().await;
                }
                Err(e) => eprintln!("{}: cannot start sshd: {e}", setup.name),
            },
            Err(e) => eprintln!("{}: cannot start sshd: {e}", setup.name),
        }
    }
}

/// Removes a VM from the host: its packet tasks and port 22 stop, every
/// process in its namespaces is killed, its namespaces and files go.
/// `killed`: the caller already killed the VM's processes (one scan of
/// /proc for the whole lab at stop, not one per VM).
pub(super) async fn teardown(builder: &Arc<Builder>, run: RunningVm, killed: bool) {
    let Ok(_permit) = builder.pool.acquire().await else {
        return;
    };
    let (ports, mut cleanup) = detach(run);
    cleanup.killed = killed;
    // Persistent first: a closed TUN then stays in its namespace, and the
    // kernel removes every device of the deleted namespaces in one batch
    // instead of unregistering each on close.
    for p in &ports {
        let _ = p.dev().persist();
    }
    let _ = blocking("remove a VM", move || {
        cleanup.run();
        drop(ports);
        Ok(())
    })
    .await;
}

/// What removing a VM leaves to blocking host work.
pub(super) struct Cleanup {
    namespaces: Vec<String>,
    anchors: Vec<Arc<vm::Anchors>>,
    dirs: Vec<std::path::PathBuf>,
    server: Option<std::process::Child>,
    killed: bool,
}

impl Cleanup {
    pub fn run(mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        if !self.killed {
            host::kill_all_in(&self.namespaces);
        }
        self.anchors.clear();
        for ns in &self.namespaces {
            let _ = netns::delete(ns);
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Stops a VM's tasks and splits it into its TUNs and its cleanup.
pub(super) fn detach(mut run: RunningVm) -> (Vec<Arc<Port>>, Cleanup) {
    for t in &run.tasks {
        t.abort();
    }
    for m in &run.machines {
        m.acceptor.abort();
    }
    let cleanup = Cleanup {
        namespaces: namespaces(&run.plan),
        anchors: run.machines.iter().map(|m| m.anchors.clone()).collect(),
        dirs: std::iter::once(run.plan.setup.dir.clone())
            .chain(run.plan.site.as_ref().map(|s| s.host.dir.clone()))
            .collect(),
        server: run.server.take(),
        killed: false,
    };
    (std::mem::take(&mut run.ports), cleanup)
}

/// The namespaces a plan makes: a VM's one, or a site's router and host.
/// An AKS node's pods come with it.
pub(super) fn namespaces(p: &VmPlan) -> Vec<String> {
    let pods = p.node.iter().flat_map(host::pod::namespaces);
    std::iter::once(p.setup.netns.clone())
        .chain(p.site.as_ref().map(|s| s.host.netns.clone()))
        .chain(pods)
        .collect()
}
