//! The daemon as a reconciler: a pure diff between the host the model
//! wants (the host plan) and the host there is, then that diff carried
//! out, many VMs at a time.
//!
//! A change takes one path: validate on a copy of the model, build what
//! the host lacks, compile new tables, swap them in atomically, then remove
//! what is no longer needed. A refused change leaves model, host and
//! traffic exactly as they were.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use rustc_hash::FxHashMap;

use super::build::{self, RunningVm};
use super::hostplan::{self, VmPlan, plan};
use super::plane::{self, Plane, Port};
use super::proto::Response;
use super::{Daemon, HostState};
use crate::dataplane::Tables;
use crate::host::pod::NodeNet;
use crate::host::{self, HostError, vm};
use crate::model::{Change, Model, PowerState, ResourceId};

/// What turns the host there is into the host the model wants.
#[derive(Debug, Default, PartialEq)]
pub struct Reconcile {
    /// New VMs, and the new plans of VMs to rebuild.
    pub build: Vec<(ResourceId, VmPlan)>,
    /// Running VMs whose host facts changed: taken down before `build`
    /// makes them again (their namespace names are the same).
    pub rebuild: Vec<ResourceId>,
    /// Running VMs the model no longer has: removed once the new tables
    /// no longer lead to them.
    pub remove: Vec<ResourceId>,
    /// Sites whose router only learned or lost routes: changed in place.
    pub relearn: Vec<(ResourceId, VmPlan)>,
    /// AKS nodes whose pods or mesh changed: changed in place.
    pub renode: Vec<(ResourceId, VmPlan)>,
    /// Route Server instances whose neighbors or networks changed:
    /// reconfigured in place, sessions that stay are not touched.
    pub respeak: Vec<(ResourceId, VmPlan)>,
    /// VMs that stopped or started with nothing else to rebuild: their
    /// plan takes the new power state and, when the VM starts with other
    /// DNS settings than it booted with, the new resolv.conf (a DHCP
    /// renewal; Azure: the name-resolution doc, "Specify DNS servers").
    pub repower: Vec<(ResourceId, PowerState, Option<String>)>,
}

#[cfg(test)]
impl Reconcile {
    pub fn is_empty(&self) -> bool {
        *self == Reconcile::default()
    }
}

/// The diff between the plans of the running VMs (`have`) and the plans
/// the model wants. Pure.
pub fn diff(have: &BTreeMap<ResourceId, &VmPlan>, want: BTreeMap<ResourceId, VmPlan>) -> Reconcile {
    let mut r = Reconcile {
        remove: have.keys().filter(|id| !want.contains_key(*id)).cloned().collect(),
        ..Reconcile::default()
    };
    for (id, p) in want {
        match have.get(&id) {
            None => r.build.push((id, p)),
            Some(old) if old.host_differs(&p) => {
                r.rebuild.push(id.clone());
                r.build.push((id, p));
            }
            Some(old) => {
                let starts = old.power_state != PowerState::Running && p.power_state == PowerState::Running;
                let renew =
                    (starts && old.setup.resolv_conf != p.setup.resolv_conf).then(|| p.setup.resolv_conf.clone());
                if old.power_state != p.power_state {
                    r.repower.push((id.clone(), p.power_state, renew));
                }
                if old.site != p.site {
                    r.relearn.push((id.clone(), p.clone()));
                }
                if old.speaker != p.speaker {
                    r.respeak.push((id.clone(), p.clone()));
                }
                if old.node != p.node {
                    r.renode.push((id, p));
                }
            }
        }
    }
    r
}

impl Daemon {
    /// Applies `changes` whole, or refuses them with the engine's error
    /// and changes nothing.
    pub async fn apply(self: &Arc<Self>, changes: Vec<Change>, progress: &(dyn Fn(&str) + Sync)) -> Response {
        let host = self.host.lock().await;
        if self.closing.load(Relaxed) {
            return Response::Error {
                message: format!("lab '{}' is being removed", self.lab),
            };
        }
        let mut next = self.model();
        if let Err((index, error)) = next.apply_all(changes) {
            return Response::Refused { index, error };
        }
        self.commit(host, next, progress).await
    }

    /// Brings the lab to `saved`, a model the engine accepted before (the
    /// lab's saved state, after a crash or a reboot).
    pub async fn restore(self: &Arc<Self>, saved: Model, progress: &(dyn Fn(&str) + Sync)) -> Response {
        let host = self.host.lock().await;
        self.commit(host, saved, progress).await
    }

    /// Makes the host match `next`, saves it, then makes it the model: the
    /// change is acknowledged only once it is on disk, and a change that
    /// cannot be saved is undone like one the host cannot build.
    async fn commit(
        self: &Arc<Self>,
        mut host: tokio::sync::MutexGuard<'_, HostState>,
        next: Model,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Response {
        let have: BTreeMap<ResourceId, &VmPlan> = host.vms.iter().map(|(id, r)| (id.clone(), &r.plan)).collect();
        let todo = diff(&have, plan(&self.lab, &next));

        // A rebuilt VM gives its namespace back first; VMs that are simply
        // gone stay until the new tables no longer lead to them.
        let mut rebuilt = Vec::new();
        let mut down = Vec::new();
        for id in &todo.rebuild {
            if let Some(run) = host.vms.remove(id) {
                progress(&format!(
                    "rebuilding VM {} (namespace {})",
                    run.plan.name, run.plan.setup.netns
                ));
                rebuilt.push((id.clone(), run.plan.clone()));
                down.push(run);
            }
        }
        self.teardown_all(down, false, None).await;
        let built = match self.build_all(todo.build, progress).await {
            Ok(built) => built,
            Err((built, e)) => return self.undo(&mut host, built, rebuilt, e).await,
        };
        let mut synced: Vec<(String, NodeNet, NodeNet)> = Vec::new();
        for (id, p) in &todo.renode {
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
        if let Err(e) = self.save(&next).await {
            for (ns, new, old) in synced.into_iter().rev() {
                let _ = sync_node(ns, Some(new), old).await;
            }
            return self.undo(&mut host, built, rebuilt, e).await;
        }
        if let Ok(mut m) = self.model.lock() {
            *m = next;
        }
        for (id, p) in todo.renode {
            if let Some(run) = host.vms.get_mut(&id) {
                run.plan.node = p.node;
            }
        }
        for (id, state, renew) in todo.repower {
            let Some(run) = host.vms.get_mut(&id) else { continue };
            run.plan.power_state = state;
            if let Some(text) = renew {
                progress(&format!("VM {}: DHCP renewed its DNS settings", run.plan.name));
                match vm::renew_dns(&run.plan.setup, &text) {
                    Ok(()) => run.plan.setup.resolv_conf = text,
                    Err(e) => progress(&format!("warning: {e}")),
                }
            }
        }
        host.vms.extend(built);
        let gone: Vec<RunningVm> = todo.remove.iter().filter_map(|id| host.vms.remove(id)).collect();
        let generation = self.publish(&mut host);
        self.start_tasks(&mut host);
        for (id, p) in todo.relearn {
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
        for (id, p) in todo.respeak {
            let Some(run) = host.vms.get_mut(&id) else { continue };
            if let (Some(old), Some(new)) = (run.plan.speaker.clone(), p.speaker.clone()) {
                let cmds = new.changes_from(&old).unwrap_or_default();
                let what = format!("reconfigure bgpd of {}", new.name);
                let done = build::blocking(&what, move || crate::host::bgp::reconfigure(&new, &cmds)).await;
                if let Err(e) = done {
                    progress(&format!(
                        "warning: could not reconfigure the BGP speaker of {}: {e}",
                        p.name
                    ));
                }
            }
            run.plan = p;
        }
        for run in &gone {
            progress(&format!(
                "removing VM {} (namespace {})",
                run.plan.name, run.plan.setup.netns
            ));
            // The model no longer has it: its kept host keys go too (a VM
            // made again under its name is a new machine, with new keys).
            let site_host = run.plan.site.as_ref().map(|s| &s.host.keys);
            for keys in std::iter::once(&run.plan.setup.keys).chain(site_host) {
                let _ = std::fs::remove_dir_all(keys);
            }
        }
        self.teardown_all(gone, false, None).await;
        Response::Applied { generation }
    }

    /// Writes `next` as the lab's saved state, off the packet threads;
    /// a model that did not change is not written again.
    async fn save(&self, next: &Model) -> Result<(), HostError> {
        if self.model.lock().is_ok_and(|m| *m == *next) {
            return Ok(());
        }
        let (journal, snapshot) = (self.journal.clone(), next.clone());
        build::blocking("save the lab's state", move || {
            journal.save(&snapshot).map_err(|e| HostError::Io {
                what: "save the lab's state".into(),
                source: std::io::Error::other(e),
            })
        })
        .await
    }

    /// Builds `fresh` in parallel (see `build::build`) and waits until
    /// every machine answers. On the first failure, what was built is
    /// handed back with the error.
    async fn build_all(
        &self,
        fresh: Vec<(ResourceId, VmPlan)>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<(ResourceId, RunningVm)>, (Vec<(ResourceId, RunningVm)>, HostError)> {
        let total = fresh.len();
        for (i, (_, p)) in fresh.iter().enumerate() {
            progress(&super::progress::step(i + 1, total, &describe_build(p)));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (id, p) in fresh {
            let builder = self.builder.clone();
            tasks.spawn(async move {
                let run = build::build(&builder, p).await?;
                if let Err(e) = run.ready().await {
                    build::teardown(&builder, run, false).await;
                    return Err(e);
                }
                Ok((id, run))
            });
        }
        let mut built = Vec::with_capacity(total);
        let mut failed = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(run)) => built.push(run),
                Ok(Err(e)) => failed = failed.or(Some(e)),
                Err(e) => {
                    failed = failed.or(Some(HostError::Io {
                        what: "build a VM".into(),
                        source: std::io::Error::other(e),
                    }))
                }
            }
            if failed.is_none() {
                progress(&super::progress::built(built.len(), total));
            }
        }
        match failed {
            None => Ok(built),
            Some(e) => Err((built, e)),
        }
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
        self.teardown_all(built.into_iter().map(|(_, r)| r).collect(), false, None)
            .await;
        let mut lost = Vec::new();
        for (id, p) in rebuilt {
            let name = p.name.clone();
            match build::build(&self.builder, p).await {
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

    /// Removes `runs` in parallel; `counted` hears how many are gone.
    /// `killed`: their processes are already killed.
    pub(super) async fn teardown_all(
        &self,
        runs: Vec<RunningVm>,
        killed: bool,
        counted: Option<&(dyn Fn(usize) + Sync)>,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        for run in runs {
            let builder = self.builder.clone();
            tasks.spawn(async move { build::teardown(&builder, run, killed).await });
        }
        let mut done = 0;
        while tasks.join_next().await.is_some() {
            done += 1;
            if let Some(f) = counted {
                f(done);
            }
        }
    }

    /// Starts the packet tasks of new VMs, once their NICs are in the
    /// published tables.
    pub(super) fn start_tasks(&self, host: &mut HostState) {
        for run in host.vms.values_mut().filter(|r| r.tasks.is_empty()) {
            run.tasks = run
                .ports
                .iter()
                .flat_map(|p| (0..p.queue_count()).map(move |q| (p, q)))
                .map(|(p, q)| super::packets::spawn(q, plane::run_port(self.fabric.clone(), p.clone(), q)))
                .collect();
        }
    }

    /// Compiles the current model and swaps the new plane in.
    pub(super) fn publish(&self, host: &mut HostState) -> u64 {
        host.generation += 1;
        let model = self.model();
        let mut by_key: FxHashMap<u64, Arc<Port>> = host
            .vms
            .values()
            .flat_map(|r| r.ports.iter())
            .filter_map(|p| Some((p.key?, p.clone())))
            .collect();
        by_key.insert(plane::AZURE_HOST_KEY, self.azure_host.clone());
        let tables = Tables::compile_with(&model, host.generation, &self.latency);
        // Names before tables: a query from a NIC the new tables add finds
        // its VM's names already there.
        self.fabric.dns.store(Arc::new(crate::dns::DnsView::compile(&model)));
        let mut plane = Plane::new(tables, &by_key, &mut host.link_counters, self.internet.clone());
        plane.flow_logs = super::flowlogs::assign(&model, &plane);
        self.fabric.plane.store(Arc::new(plane));
        host.generation
    }
}

fn describe_build(p: &VmPlan) -> String {
    match &p.site {
        None if p.speaker.is_some() => {
            let at = p
                .nics
                .first()
                .map_or_else(String::new, |n| format!(", {} {}", n.interface, n.iface.address));
            format!(
                "Route Server {}: namespace {}{at}, bgpd (ASN 65515) on 179",
                p.name, p.setup.netns
            )
        }
        None if p.cache.is_some() => {
            let at = p
                .nics
                .first()
                .map_or_else(String::new, |n| format!(", {} {}", n.interface, n.iface.address));
            format!(
                "Azure Cache for Redis {}: namespace {}{at}, redis-server on 6379 and 6380 (TLS)",
                p.name, p.setup.netns
            )
        }
        None => {
            let eth0 = p.nics.first().map_or_else(
                || "no NIC".to_string(),
                |n| format!("{} {}/{}", n.interface, n.iface.address, n.iface.prefix_len),
            );
            format!("VM {}: namespace {}, {eth0}, sshd on 22", p.name, p.setup.netns)
        }
        Some(site) => format!(
            "on-premises site {}: router (namespace {}, {} tunnel(s), LAN {}) and host {} ({})",
            p.name,
            p.setup.netns,
            p.nics.len(),
            site.router_lan,
            site.host.name,
            site.host.address.map_or_else(String::new, |a| a.to_string())
        ),
    }
}

/// A route the site's router learned, as `status` shows it.
pub(super) fn route_text((prefix, dev): &(ipnet::Ipv4Net, String)) -> String {
    format!("{prefix} via {dev}")
}

fn describe_routes(routes: &[(ipnet::Ipv4Net, String)]) -> String {
    if routes.is_empty() {
        return "none".into();
    }
    routes.iter().map(route_text).collect::<Vec<_>>().join(", ")
}

async fn sync_node(ns: String, old: Option<NodeNet>, new: NodeNet) -> Result<(), HostError> {
    build::blocking("update an AKS node", move || host::pod::sync(&ns, old.as_ref(), &new)).await
}

async fn relearn(router_ns: &str, old: &hostplan::SitePlan, new: &hostplan::SitePlan) -> Result<(), HostError> {
    let (ns, src, old, new) = (
        router_ns.to_string(),
        new.router_lan.addr(),
        old.routes.clone(),
        new.routes.clone(),
    );
    build::blocking("update a site's routes", move || {
        host::site::set_routes(&ns, src, &old, &new)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Lab;
    use crate::model::Model;
    use crate::topology::Topology;

    fn model(lab: &str) -> Model {
        let text = std::fs::read_to_string(format!("{}/labs/{lab}/topology.yaml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        Topology::parse(&text).unwrap().build().unwrap()
    }

    fn running(plans: &BTreeMap<ResourceId, VmPlan>) -> BTreeMap<ResourceId, &VmPlan> {
        plans.iter().map(|(id, p)| (id.clone(), p)).collect()
    }

    #[test]
    fn an_empty_host_builds_every_vm_and_nothing_else() {
        let lab = Lab::new("t").unwrap();
        let want = plan(&lab, &model("01-peering-basics"));
        let r = diff(&BTreeMap::new(), want.clone());
        assert_eq!(r.build, want.into_iter().collect::<Vec<_>>());
        assert!(r.rebuild.is_empty() && r.remove.is_empty() && r.relearn.is_empty() && r.renode.is_empty());
    }

    #[test]
    fn the_same_model_needs_nothing() {
        let lab = Lab::new("t").unwrap();
        let have = plan(&lab, &model("02-hub-spoke-nva"));
        assert!(diff(&running(&have), have.clone()).is_empty());
    }

    #[test]
    fn gone_vms_are_removed_changed_ones_rebuilt_and_fabric_facts_change_nothing() {
        let lab = Lab::new("t").unwrap();
        let have = plan(&lab, &model("02-hub-spoke-nva"));
        let mut want = have.clone();
        let mut ids = have.keys().cloned();
        let (gone, forwarding, stopped) = (ids.next().unwrap(), ids.next().unwrap(), ids.next().unwrap());
        want.remove(&gone);
        // A host fact: the VM's kernel must forward.
        let p = want.get_mut(&forwarding).unwrap();
        p.nics[0].iface.forwarding = !p.nics[0].iface.forwarding;
        // Fabric facts only: power state and public IPs live in the tables.
        let p = want.get_mut(&stopped).unwrap();
        p.power_state = crate::model::PowerState::Stopped;
        p.nics[0].public_ip = None;
        let r = diff(&running(&have), want.clone());
        assert_eq!(r.remove, vec![gone]);
        assert_eq!(r.rebuild, vec![forwarding.clone()]);
        assert_eq!(r.build, vec![(forwarding.clone(), want[&forwarding].clone())]);
        assert!(r.relearn.is_empty() && r.renode.is_empty());
    }

    #[test]
    fn a_site_that_only_learned_routes_is_changed_in_place() {
        let lab = Lab::new("t").unwrap();
        let have = plan(&lab, &model("03-gateway-transit-onprem"));
        let (id, site) = have
            .iter()
            .find(|(_, p)| p.site.is_some())
            .map(|(id, p)| (id.clone(), p.clone()))
            .expect("a site");
        let mut want = have.clone();
        let mut relearned = site.clone();
        if let Some(s) = relearned.site.as_mut() {
            s.routes.push(("192.0.2.0/24".parse().unwrap(), "vti9".into()));
        }
        want.insert(id.clone(), relearned.clone());
        let r = diff(&running(&have), want);
        assert_eq!(r.relearn, vec![(id, relearned)]);
        assert!(r.build.is_empty() && r.rebuild.is_empty() && r.remove.is_empty());
    }

    #[test]
    fn new_dns_settings_reach_a_vm_when_it_starts_not_before() {
        let lab = Lab::new("t").unwrap();
        let m = model("01-peering-basics");
        let have = plan(&lab, &m);
        let sales = have.keys().find(|id| id.name() == "SalesVM").unwrap().clone();
        let mut custom = m.clone();
        let vnet = custom
            .virtual_networks
            .values_mut()
            .find(|v| v.name == "SalesVNet")
            .unwrap();
        vnet.dns_servers = vec!["10.1.1.10".parse().unwrap()];
        let want = plan(&lab, &custom);
        assert!(want[&sales].setup.resolv_conf.contains("nameserver 10.1.1.10"));
        // While it runs: no rebuild, no renewal.
        assert!(diff(&running(&have), want.clone()).is_empty());
        // Stopped, then started: the start renews the lease.
        let mut stopped = have.clone();
        stopped.get_mut(&sales).unwrap().power_state = PowerState::Stopped;
        let r = diff(&running(&stopped), want.clone());
        assert_eq!(
            r.repower,
            vec![(
                sales.clone(),
                PowerState::Running,
                Some(want[&sales].setup.resolv_conf.clone())
            )]
        );
        assert!(r.build.is_empty() && r.rebuild.is_empty());
        // A stop only records the state.
        let mut stopping = want.clone();
        stopping.get_mut(&sales).unwrap().power_state = PowerState::Stopped;
        assert_eq!(
            diff(&running(&have), stopping).repower,
            vec![(sales, PowerState::Stopped, None)]
        );
    }
}
