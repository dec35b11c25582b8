//! What an AKS node's kernel does with a packet one of its pods sends: the
//! same rules `host::pod` installs (routes to the meshed clusters' node
//! slices through the tunnel, masquerade for everything that leaves
//! through eth0 to outside the node's own cluster). The fabric decides the
//! rest, so a pod's path is the node's choice plus round trips.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::{RoundTrip, round_trip_from};
use crate::dataplane::health::LbHealth;
use crate::dataplane::index::NicIdx;
use crate::dataplane::overlay::{MESH_VXLAN_PORT, Overlay};
use crate::dataplane::tables::Tables;
use crate::dataplane::verdict::Ingress;

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

/// The node's choice for a packet from one of its pods to `dst`.
pub fn node_egress(o: &Overlay, node: NicIdx, dst: Ipv4Addr) -> NodeEgress {
    let Some(c) = o.cluster_of_node(node) else {
        return NodeEgress::Snat;
    };
    let cluster = &o.clusters[c];
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

/// The way of a ping or TCP handshake from a pod to `dst`.
#[derive(Clone, Debug)]
pub enum PodPath {
    /// A pod of the same node: its kernel delivers it over the pods'
    /// veths, the fabric never sees it.
    SameNode,
    /// Out of the node with the pod's own address, to a pod of its cluster.
    Direct(RoundTrip),
    /// SNATed to the node's address.
    Snat(RoundTrip),
    /// Through the cluster mesh's VXLAN tunnel to `remote`: what the
    /// fabric carries is the tunnel's UDP, each way.
    Tunnel {
        remote: NicIdx,
        there: RoundTrip,
        back: RoundTrip,
    },
}

impl PodPath {
    /// Whether the pod's request and its answer get through.
    pub fn ok(&self) -> bool {
        match self {
            PodPath::SameNode => true,
            PodPath::Direct(r) | PodPath::Snat(r) => r.ok,
            PodPath::Tunnel { there, back, .. } => there.ok && back.ok,
        }
    }
}

/// A pod (address `pod_ip`, on node `node`) sends to `dst`: the node's
/// kernel picks the way out ([`node_egress`]), the fabric decides the
/// rest, for the request and for the answer.
#[allow(clippy::too_many_arguments)]
pub fn pod_path(
    t: &Tables,
    health: &LbHealth,
    node: NicIdx,
    pod_ip: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
    now: Instant,
) -> PodPath {
    let from = Ingress::Nic(node);
    match node_egress(&t.overlay, node, dst) {
        NodeEgress::Direct if t.overlay.slice_of(node).is_some_and(|s| s.contains(&dst)) => PodPath::SameNode,
        NodeEgress::Direct => PodPath::Direct(round_trip_from(t, health, from, Some(pod_ip), dst, protocol, port, now)),
        NodeEgress::Snat => PodPath::Snat(round_trip_from(t, health, from, None, dst, protocol, port, now)),
        NodeEgress::Tunnel { node: remote } => {
            let (node_ip, remote_ip) = (t.nics[node].ip, t.nics[remote].ip);
            let udp = |from, to| round_trip_from(t, health, from, None, to, "udp", MESH_VXLAN_PORT, now);
            PodPath::Tunnel {
                remote,
                there: udp(from, remote_ip),
                back: udp(Ingress::Nic(remote), node_ip),
            }
        }
    }
}
