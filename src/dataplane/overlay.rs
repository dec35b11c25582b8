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
//! This is data compiled into `Tables`; the verdict applies it
//! (`verdict::overlay`), and what a node's own kernel does with its pods'
//! packets is modelled in `simulate::node`.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rustc_hash::FxHashMap;

use super::index::{ClusterIdx, Idx, IdxVec, NicIdx};
use crate::model::{Model, ResourceId};

/// One cluster's routing domain.
#[derive(Clone, Debug)]
pub struct ClusterEntry {
    pub id: ResourceId,
    pub name: String,
    pub pod_cidr: Ipv4Net,
    /// Each node's /24 and its NIC.
    pub slices: Vec<(Ipv4Net, NicIdx)>,
    /// Clusters this one is meshed with.
    pub mesh_peers: Vec<ClusterIdx>,
}

#[derive(Clone, Debug, Default)]
pub struct Overlay {
    pub clusters: IdxVec<ClusterIdx, ClusterEntry>,
    /// Node NIC → its cluster.
    node_cluster: FxHashMap<NicIdx, ClusterIdx>,
}

impl Overlay {
    pub fn compile(model: &Model, nic_index: impl Fn(&ResourceId) -> Option<NicIdx>) -> Overlay {
        let mut o = Overlay::default();
        let index: FxHashMap<&ResourceId, ClusterIdx> = model
            .managed_clusters
            .keys()
            .enumerate()
            .map(|(i, id)| (id, ClusterIdx::from_usize(i)))
            .collect();
        for c in model.managed_clusters.values() {
            let ci = o.clusters.next_idx();
            let mut slices = Vec::new();
            for n in c.nodes() {
                if let Some(nic) = nic_index(&n.network_interface) {
                    slices.push((n.pod_cidr, nic));
                    o.node_cluster.insert(nic, ci);
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

    pub fn cluster_of_node(&self, nic: NicIdx) -> Option<ClusterIdx> {
        // Every packet a NIC sends asks: a lab without AKS pays no lookup.
        if self.node_cluster.is_empty() {
            return None;
        }
        self.node_cluster.get(&nic).copied()
    }

    /// The cluster whose pod CIDR holds `ip` (the first, if several
    /// clusters reuse a pod CIDR, which Azure allows).
    pub fn cluster_of_pod_ip(&self, ip: Ipv4Addr) -> Option<ClusterIdx> {
        self.clusters.position(|c| c.pod_cidr.contains(&ip))
    }

    /// The node of cluster `c` that owns the /24 holding `ip`.
    pub fn slice_owner(&self, c: ClusterIdx, ip: Ipv4Addr) -> Option<NicIdx> {
        self.clusters
            .get(c)?
            .slices
            .iter()
            .find(|(s, _)| s.contains(&ip))
            .map(|(_, n)| *n)
    }

    /// The /24 of node `nic`.
    pub fn slice_of(&self, nic: NicIdx) -> Option<Ipv4Net> {
        let c = self.cluster_of_node(nic)?;
        self.clusters[c].slices.iter().find(|(_, n)| *n == nic).map(|(s, _)| *s)
    }
}

/// The cluster mesh's VXLAN port (Cilium's default).
pub const MESH_VXLAN_PORT: u16 = 8472;
