//! Azure CNI Overlay in the fabric (azure-semantics §12.4).
//!
//! Azure: "A separate routing domain is created in the Azure Networking
//! stack for the pod's private CIDR space ... There is no need to
//! provision custom routes on the cluster subnet or use an encapsulation
//! method to tunnel traffic between pods" (Learn, azure-cni-overlay). So
//! the fabric knows, per cluster, which node holds which /24 of the pod
//! CIDR, and delivers a packet a node sends to a pod of *its own* cluster
//! straight to the node that owns the pod's /24. That routing domain is
//! the cluster's alone: pod CIDRs are never VNet routes (effective routes
//! do not show them) and never cross a peering. A node may send with a
//! pod source address only toward its cluster's pods; everything else
//! leaves the node SNATed to the node's IP (the node's kernel does that,
//! see `host::pod`), and what still carries a pod source is dropped.
//!
//! Also here: what a node's kernel does with a packet one of its pods
//! sends ([`node_egress`]), the same rules `host::pod` installs, so that
//! `explain` and `vnetlab test` can say why a pod's packet went where it
//! went.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rustc_hash::FxHashMap;

use super::tables::NicIdx;
use crate::model::{Model, ResourceId};

/// One cluster's routing domain.
#[derive(Clone, Debug)]
pub struct ClusterEntry {
    pub id: ResourceId,
    pub name: String,
    pub pod_cidr: Ipv4Net,
    /// Each node's /24 and its NIC.
    pub slices: Vec<(Ipv4Net, NicIdx)>,
    /// Clusters this one is meshed with (indexes in `Overlay::clusters`).
    pub mesh_peers: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct Overlay {
    pub clusters: Vec<ClusterEntry>,
    /// Node NIC → its cluster.
    node_cluster: FxHashMap<NicIdx, u32>,
}

impl Overlay {
    pub fn compile(model: &Model, nic_index: impl Fn(&ResourceId) -> Option<NicIdx>) -> Overlay {
        let mut o = Overlay::default();
        let index: FxHashMap<&ResourceId, u32> = model
            .managed_clusters
            .keys()
            .enumerate()
            .map(|(i, id)| (id, i as u32))
            .collect();
        for (ci, c) in model.managed_clusters.values().enumerate() {
            let mut slices = Vec::new();
            for n in c.nodes() {
                if let Some(nic) = nic_index(&n.network_interface) {
                    slices.push((n.pod_cidr, nic));
                    o.node_cluster.insert(nic, ci as u32);
                }
            }
            let mesh_peers = c.mesh_peers.iter().filter_map(|p| index.get(p).copied()).collect();
            o.clusters.push(ClusterEntry {
                id: c.id.clone(),
                name: c.name.clone(),
                pod_cidr: c.network_profile.pod_cidr,
                slices,
                mesh_peers,
            });
        }
        o
    }

    pub fn cluster_of_node(&self, nic: NicIdx) -> Option<u32> {
        // Every packet a NIC sends asks: a lab without AKS pays no lookup.
        if self.node_cluster.is_empty() {
            return None;
        }
        self.node_cluster.get(&nic).copied()
    }

    /// The cluster whose pod CIDR holds `ip` (the first, if several
    /// clusters reuse a pod CIDR, which Azure allows).
    pub fn cluster_of_pod_ip(&self, ip: Ipv4Addr) -> Option<u32> {
        self.clusters
            .iter()
            .position(|c| c.pod_cidr.contains(&ip))
            .map(|i| i as u32)
    }

    /// The node of cluster `c` that owns the /24 holding `ip`.
    pub fn slice_owner(&self, c: u32, ip: Ipv4Addr) -> Option<NicIdx> {
        self.clusters
            .get(c as usize)?
            .slices
            .iter()
            .find(|(s, _)| s.contains(&ip))
            .map(|(_, n)| *n)
    }

    /// The /24 of node `nic`.
    pub fn slice_of(&self, nic: NicIdx) -> Option<Ipv4Net> {
        let c = self.cluster_of_node(nic)?;
        self.clusters[c as usize]
            .slices
            .iter()
            .find(|(_, n)| *n == nic)
            .map(|(s, _)| *s)
    }
}

/// What a node's kernel does with a packet from one of its pods to `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeEgress {
    /// To a pod of the same cluster: out of eth0 unchanged, the fabric's
    /// overlay routing takes it to the owning node.
    Direct,
    /// Into the cluster-mesh tunnel to `node` (a node of a meshed cluster
    /// that owns `dst`'s /24): the fabric sees node-to-node UDP.
    Tunnel { node: NicIdx },
    /// Anything else: SNATed to the node's IP (masquerade), out of eth0.
    Snat,
}

/// The node's rules, as `host::pod` installs them: routes to the meshed
/// clusters' node slices through the tunnel, masquerade for everything
/// that leaves through eth0 to outside the node's own cluster.
pub fn node_egress(o: &Overlay, node: NicIdx, dst: Ipv4Addr) -> NodeEgress {
    let Some(c) = o.cluster_of_node(node) else {
        return NodeEgress::Snat;
    };
    let cluster = &o.clusters[c as usize];
    if cluster.pod_cidr.contains(&dst) {
        return NodeEgress::Direct;
    }
    for &p in &cluster.mesh_peers {
        if let Some(remote) = o.slice_owner(p, dst) {
            return NodeEgress::Tunnel { node: remote };
        }
    }
    NodeEgress::Snat
}

/// The cluster mesh's VXLAN port (Cilium's default).
pub const MESH_VXLAN_PORT: u16 = 8472;

/// Whether a ping or TCP handshake from a pod (address `pod_ip`, on node
/// `node`) to `dst` gets through and why: the node's kernel picks the way
/// out ([`node_egress`]), the fabric decides the rest, for the request
/// and for the answer.
#[allow(clippy::too_many_arguments)]
pub fn pod_round_trip(
    t: &super::Tables,
    health: &super::LbHealth,
    node: NicIdx,
    pod_ip: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
    now: std::time::Instant,
) -> (bool, String) {
    use super::explain::{round_trip, round_trip_from};
    use super::verdict::Ingress;
    let node_ip = t.nics[node as usize].ip;
    let node_name = t.nics[node as usize]
        .vm
        .clone()
        .unwrap_or_else(|| t.nics[node as usize].name.clone());
    match node_egress(&t.overlay, node, dst) {
        NodeEgress::Direct if t.overlay.slice_of(node).is_some_and(|s| s.contains(&dst)) => (
            true,
            format!(
                "{dst} is a pod on the same node {node_name}: its kernel delivers it over the pods' veths; the fabric never sees it"
            ),
        ),
        NodeEgress::Direct => {
            let (ok, e) = round_trip_from(t, health, Ingress::Nic(node), Some(pod_ip), dst, protocol, port, now);
            (
                ok,
                format!("{} leaves node {node_name} with its pod address: {}", pod_ip, e.summary),
            )
        }
        NodeEgress::Snat => {
            let (ok, e) = round_trip(t, health, Ingress::Nic(node), dst, protocol, port, now);
            (
                ok,
                format!("node {node_name} SNATs it to its own address {node_ip}: {}", e.summary),
            )
        }
        NodeEgress::Tunnel { node: remote } => {
            let remote_ip = t.nics[remote as usize].ip;
            let remote_name = t.nics[remote as usize].vm.clone().unwrap_or_default();
            let (there, e1) = round_trip(t, health, Ingress::Nic(node), remote_ip, "udp", MESH_VXLAN_PORT, now);
            let (back, e2) = round_trip(t, health, Ingress::Nic(remote), node_ip, "udp", MESH_VXLAN_PORT, now);
            let summary = if there && !back { e2.summary } else { e1.summary };
            (
                there && back,
                format!(
                    "cluster mesh: node {node_name} encapsulates it in VXLAN (UDP {MESH_VXLAN_PORT}) to node {remote_name} ({remote_ip}), which holds {dst}'s /24; the tunnel's packets: {summary}"
                ),
            )
        }
    }
}
