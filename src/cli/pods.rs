//! AKS pods as endpoints of `vnetlab test` and `kubectl exec`: named
//! `CLUSTER/POD`, reached in their own namespace, explained through
//! their node (`dataplane::explain::pod_round_trip`).

use std::net::Ipv4Addr;
use std::time::Instant;

use anyhow::Context;

use crate::dataplane::explain::pod_round_trip;
use crate::dataplane::{LbHealth, Tables};
use crate::host::{Lab, netns};
use crate::model::{ManagedCluster, Model, Pod};

/// The pod `CLUSTER/POD` names, if it is one.
pub fn find<'m>(model: &'m Model, name: &str) -> Option<(&'m ManagedCluster, &'m Pod)> {
    let (cluster, pod) = name.split_once('/')?;
    let c = model.managed_cluster_by_name(cluster)?;
    Some((c, c.pod(pod)?))
}

/// Why a probe from pod `p` to `dst` goes where it goes.
pub fn why(
    tables: &Tables,
    health: &LbHealth,
    p: &Pod,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
) -> anyhow::Result<String> {
    let node = tables
        .nic_of_vm(&p.node)
        .with_context(|| format!("the node {} of pod {} is not in the lab", p.node, p.name))?;
    Ok(pod_round_trip(tables, health, node, p.ip, dst, protocol, port, Instant::now()).1)
}

/// A process of the pod (its command): `exec` enters its namespaces.
pub fn anchor(lab: &Lab, p: &Pod) -> anyhow::Result<u32> {
    let ns = lab.pod_netns(&p.node, &p.name);
    let pids = netns::pids(&ns);
    pids.iter()
        .filter(|pid| !crate::host::is_zombie(**pid as u32))
        .min()
        .map(|p| *p as u32)
        .with_context(|| {
            format!(
                "pod {} runs no process (its command ended, or the pod is not built); namespace {ns}",
                p.name
            )
        })
}
