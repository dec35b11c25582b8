//! `status`: what runs, with its counters, as the API reports it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::Daemon;
use super::build::{RunningVm, blocking};
use super::hostplan;
use super::plane::Port;
use super::proto::{self, CloudShellStatus, LabStatus, NicStatus, PeeringStatus, Response, VmStatus};
use super::reconcile::route_text;
use crate::dataplane::{CLOUD_SHELL_IP, stable_key};
use crate::host::vm;
use crate::model::{PowerState, latency};

impl Daemon {
    pub async fn status(&self) -> LabStatus {
        let route_servers = self.route_server_status().await;
        let host = self.host.lock().await;
        let model = self.model();
        let plane = self.fabric.plane.load();
        let vms = host
            .vms
            .iter()
            .filter(|(_, run)| run.plan.site.is_none() && run.plan.cache.is_none() && run.plan.speaker.is_none())
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
                    mount_ns: anchor(run, &run.plan.setup, vm::Anchors::mnt_path),
                    uts_ns: anchor(run, &run.plan.setup, vm::Anchors::uts_path),
                    anchor: run.machine(&run.plan.setup.netns).map_or(0, |m| m.anchors.id),
                    sshd_log: run.plan.setup.dir.join("sshd.log").display().to_string(),
                    nics,
                }
            })
            .collect();
        let mut peerings = Vec::new();
        for vnet in model.virtual_networks.values() {
            for p in &vnet.peerings {
                let c = host.link_counters.get(&stable_key(&p.id));
                let remote = model.virtual_networks.get(&p.remote_virtual_network);
                let rtt = remote.and_then(|r| latency::rtt(&vnet.location, &r.location));
                peerings.push(PeeringStatus {
                    name: p.name.clone(),
                    vnet: vnet.name.clone(),
                    remote_vnet: p.remote_virtual_network.name().to_string(),
                    peering_state: format!("{:?}", model.peering_state(&vnet.id, p)),
                    rtt_ms: remote.map_or(0.0, |r| self.latency.rtt_ms(&vnet.location, &r.location)),
                    rtt_estimated: rtt.is_some_and(|r| r.is_estimate()),
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
            route_servers,
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
            latency: self.latency.describe(),
            vms,
            peerings,
        }
    }
}

impl Daemon {
    /// The init of the machine whose network namespace is `netns` (see
    /// `vm::Anchors::enter`).
    pub async fn enter(&self, netns: &str) -> Response {
        let anchors = {
            let host = self.host.lock().await;
            host.vms
                .values()
                .find_map(|run| run.machine(netns))
                .map(|m| m.anchors.clone())
        };
        let Some(anchors) = anchors else {
            return Response::Error {
                message: format!("no machine of lab '{}' has namespace {netns}", self.lab),
            };
        };
        let ns = netns.to_string();
        match blocking("start the machine's init", move || anchors.enter(&ns)).await {
            Ok(pid) => Response::Entered { pid },
            Err(e) => Response::Error {
                message: format!("cannot enter {netns}: {e}"),
            },
        }
    }
}

fn site_status(run: &RunningVm, site: &hostplan::SitePlan) -> proto::SiteStatus {
    let machine = |setup: &vm::VmSetup, nics: Vec<NicStatus>| VmStatus {
        name: setup.name.clone(),
        resource_group: run.plan.resource_group.clone(),
        netns: setup.netns.clone(),
        power_state: PowerState::Running.display().to_string(),
        admin_username: setup.admin_username.clone(),
        mount_ns: anchor(run, setup, vm::Anchors::mnt_path),
        uts_ns: anchor(run, setup, vm::Anchors::uts_path),
        anchor: run.machine(&setup.netns).map_or(0, |m| m.anchors.id),
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
        router: machine(&run.plan.setup, router_nics),
        host: machine(&site.host, host_nics),
        routes: site.routes.iter().map(route_text).collect(),
    }
}

/// One of a machine's namespace files, as `exec` enters it.
fn anchor(run: &RunningVm, setup: &vm::VmSetup, file: fn(&vm::Anchors) -> std::path::PathBuf) -> String {
    run.machine(&setup.netns)
        .map(|m| file(&m.anchors).display().to_string())
        .unwrap_or_default()
}
