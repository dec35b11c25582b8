//! AKS clusters with Azure CNI Overlay (azure-semantics §12.4): the
//! cluster, its node pools and nodes, the test pods the lab runs on them,
//! and the cluster mesh between clusters.
//!
//! Azure: "In Overlay networking, only the Kubernetes cluster nodes are
//! assigned IPs from a subnet. Pods receive IPs from a private CIDR
//! provided at the time of cluster creation. Each node is assigned a /24
//! address space carved out from the same CIDR" (Learn, azure-cni-overlay).
//! A node is an ordinary VM and NIC of the model (in the node resource
//! group `MC_<rg>_<cluster>_<location>`), so routing, NSGs and the live
//! lab treat node traffic like any VM's. Pods are not ARM resources: they
//! stand for what `kubectl run` asks of the cluster, kept here so that the
//! verdict function, `explain` and the live lab all see the same pods.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

/// `Microsoft.ContainerService/managedClusters`.
pub const CONTAINER_SERVICE: &str = "Microsoft.ContainerService";

/// The pod address space each node gets: a /24 (up to 250 pods).
pub const NODE_POD_PREFIX_LEN: u8 = 24;
/// The first pod address of a node's /24. Azure does not document which
/// addresses of the block it hands out first; vnetlab starts at .4, like
/// a subnet, so that .0 stays free for the node's cluster-mesh tunnel.
pub const FIRST_POD_HOST: u32 = 4;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedCluster {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub kubernetes_version: String,
    pub dns_prefix: String,
    /// `MC_<rg>_<name>_<location>`: where the node VMs and NICs live.
    pub node_resource_group: String,
    pub network_profile: NetworkProfile,
    pub agent_pools: Vec<AgentPool>,
    /// The test pods (`vnetlab kubectl run`), in creation order.
    #[serde(default)]
    pub pods: Vec<Pod>,
    /// `vnetlab aks mesh enable` (cilium clustermesh enable).
    #[serde(default)]
    pub mesh_enabled: bool,
    /// Clusters this one is meshed with (`mesh connect`); always both ways.
    #[serde(default)]
    pub mesh_peers: Vec<ResourceId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile {
    /// Always `azure` (the only plugin vnetlab emulates).
    pub network_plugin: String,
    /// Always `overlay`.
    pub network_plugin_mode: String,
    pub pod_cidr: Ipv4Net,
    pub service_cidr: Ipv4Net,
    pub dns_service_ip: Ipv4Addr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentPoolMode {
    System,
    User,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPool {
    pub name: String,
    pub mode: AgentPoolMode,
    pub vm_size: String,
    pub vnet_subnet_id: ResourceId,
    pub nodes: Vec<Node>,
    /// The VM scale set instance number the next node gets: instance
    /// numbers are never reused after a scale-down, as in a scale set.
    pub next_instance: u32,
}

impl AgentPool {
    pub fn count(&self) -> usize {
        self.nodes.len()
    }
}

/// One node: a VM (the scale set instance) and its NIC in the node
/// subnet, with the /24 of the pod CIDR its pods take addresses from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// The Kubernetes node name, `aks-<pool>-<8 digits>-vmss<6 digits>`.
    pub name: String,
    pub virtual_machine: ResourceId,
    pub network_interface: ResourceId,
    pub pod_cidr: Ipv4Net,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub name: String,
    /// The Kubernetes namespace; vnetlab has only `default`.
    pub namespace: String,
    pub image: String,
    /// What runs in the pod (the image's entrypoint is not emulated).
    pub command: Vec<String>,
    /// The node name.
    pub node: String,
    pub ip: Ipv4Addr,
}

impl ManagedCluster {
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.agent_pools.iter().flat_map(|p| p.nodes.iter())
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes().find(|n| n.name.eq_ignore_ascii_case(name))
    }

    pub fn pod(&self, name: &str) -> Option<&Pod> {
        self.pods.iter().find(|p| p.name == name)
    }

    /// The ID of an agent pool (a child resource, as ARM names it).
    pub fn agent_pool_id(&self, pool: &str) -> ResourceId {
        self.id.child("agentPools", pool)
    }
}

/// What `az aks create` (or a topology) asks for. The node pool named
/// here is the system pool.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClusterSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    /// `azure`; anything else is refused.
    pub network_plugin: String,
    /// `overlay`; anything else is refused.
    pub network_plugin_mode: Option<String>,
    pub pod_cidr: Option<String>,
    pub service_cidr: Option<String>,
    pub dns_service_ip: Option<String>,
    pub kubernetes_version: Option<String>,
    pub dns_prefix: Option<String>,
    pub node_resource_group: Option<String>,
    pub pool: AgentPoolSpec,
}

/// A node pool: created, or scaled to `count`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPoolSpec {
    /// `<cluster ID>/agentPools/<name>`.
    pub id: ResourceId,
    pub count: i64,
    pub vm_size: Option<String>,
    /// Defaults to the subnet of the cluster's first pool.
    pub vnet_subnet_id: Option<ResourceId>,
    pub mode: Option<AgentPoolMode>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub cluster: ResourceId,
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    /// `spec.nodeName`; otherwise the node with the fewest pods.
    pub node: Option<String>,
}

/// Kubernetes object names (RFC 1123 subdomain): what `kubectl run`
/// accepts for a pod name.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && l.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}
