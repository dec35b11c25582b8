//! `managedClusters` in a topology: AKS clusters with Azure CNI Overlay,
//! their extra node pools, test pods and cluster mesh, turned into the
//! same changes `az aks create`, `az aks nodepool add`, `vnetlab kubectl
//! run` and `vnetlab aks mesh` send.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Resolver, TopologyError};
use crate::model::{
    AgentPoolMode, AgentPoolSpec, CONTAINER_SERVICE, Change, DEFAULT_POOL_NAME, ManagedClusterSpec, PodSpec,
    ResourceId, aks_node_name,
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    /// The node subnet's VNet (name, `rg/name` or ID) ...
    pub vnet: String,
    /// ... and subnet.
    pub subnet: String,
    /// The overlay's pod CIDR (default 10.244.0.0/16); each node takes a /24.
    pub pod_cidr: Option<String>,
    /// Default 10.0.0.0/16, as az; it must not overlap the VNet's subnets.
    pub service_cidr: Option<String>,
    pub dns_service_ip: Option<String>,
    /// Nodes of the system pool `nodepool1` (az's default is 3).
    #[serde(default = "three")]
    pub node_count: i64,
    #[serde(default)]
    pub node_pools: Vec<NodePoolDef>,
    #[serde(default)]
    pub pods: Vec<PodDef>,
    /// `vnetlab aks mesh enable`.
    #[serde(default)]
    pub mesh_enabled: bool,
    /// Clusters to mesh with (`vnetlab aks mesh connect`); both need meshEnabled.
    #[serde(default)]
    pub mesh_connect: Vec<String>,
}

fn three() -> i64 {
    3
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePoolDef {
    pub name: String,
    pub count: i64,
    /// System or User (default).
    #[serde(default = "user")]
    pub mode: String,
    /// Defaults to the cluster's subnet.
    pub subnet: Option<String>,
}

fn user() -> String {
    "User".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDef {
    pub name: String,
    #[serde(default = "busybox")]
    pub image: String,
    /// What the pod runs; `sleep infinity` when empty.
    #[serde(default)]
    pub command: Vec<String>,
    /// A node name, or the number of a node of the cluster's first pool
    /// (0, 1, …); otherwise the node with the fewest pods.
    pub node: Option<String>,
}

fn busybox() -> String {
    "busybox".into()
}

pub(super) fn changes(r: &Resolver, clusters: &[ClusterDef]) -> Result<Vec<(String, Change)>, TopologyError> {
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for (i, c) in clusters.iter().enumerate() {
        let at = format!("managedClusters[{i}] ({})", c.name);
        let (sub, rg) = r.group(&at, c.resource_group.as_deref())?;
        let id = ResourceId::resource(&sub, &rg, CONTAINER_SERVICE, "managedClusters", &c.name);
        let vnet = r.reference(&at, &id, "virtualNetworks", &c.vnet)?;
        let subnet = ResourceId::network(
            vnet.subscription_id(),
            vnet.resource_group_name(),
            "virtualNetworks",
            vnet.name(),
        )
        .child("subnets", &c.subnet);
        let spec = ManagedClusterSpec {
            id: id.clone(),
            location: c.location.clone(),
            network_plugin: "azure".into(),
            network_plugin_mode: Some("overlay".into()),
            pod_cidr: c.pod_cidr.clone(),
            service_cidr: c.service_cidr.clone(),
            dns_service_ip: c.dns_service_ip.clone(),
            kubernetes_version: None,
            dns_prefix: None,
            node_resource_group: None,
            pool: AgentPoolSpec {
                id: id.child("agentPools", DEFAULT_POOL_NAME),
                count: c.node_count,
                vm_size: None,
                vnet_subnet_id: Some(subnet.clone()),
                mode: Some(AgentPoolMode::System),
            },
        };
        out.push((at.clone(), Change::PutManagedCluster(spec)));
        for (j, p) in c.node_pools.iter().enumerate() {
            let pat = format!("{at}.nodePools[{j}] ({})", p.name);
            let mode = match p.mode.to_ascii_lowercase().as_str() {
                "system" => AgentPoolMode::System,
                "user" => AgentPoolMode::User,
                other => {
                    return Err(TopologyError::Reference {
                        at: pat,
                        message: format!("mode '{other}' must be System or User"),
                    });
                }
            };
            let vnet_subnet_id = p.subnet.as_ref().map(|s| vnet.child("subnets", s));
            out.push((
                pat,
                Change::PutAgentPool(AgentPoolSpec {
                    id: id.child("agentPools", &p.name),
                    count: p.count,
                    vm_size: None,
                    vnet_subnet_id,
                    mode: Some(mode),
                }),
            ));
        }
        for (j, p) in c.pods.iter().enumerate() {
            let node = p.node.as_ref().map(|n| match n.parse::<u32>() {
                Ok(k) => aks_node_name(&id, DEFAULT_POOL_NAME, k),
                Err(_) => n.clone(),
            });
            let spec = PodSpec {
                cluster: id.clone(),
                name: p.name.clone(),
                image: p.image.clone(),
                command: p.command.clone(),
                node,
            };
            out.push((format!("{at}.pods[{j}] ({})", p.name), Change::PutPod(spec)));
        }
        if c.mesh_enabled {
            out.push((
                at.clone(),
                Change::SetClusterMesh {
                    cluster: id.clone(),
                    enabled: true,
                },
            ));
        }
        ids.push((c.name.clone(), id, at));
    }
    for (c, (_, id, at)) in clusters.iter().zip(&ids) {
        for other in &c.mesh_connect {
            let Some((_, remote, _)) = ids.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(other)) else {
                return Err(TopologyError::Reference {
                    at: at.clone(),
                    message: format!("meshConnect names '{other}', which is not in managedClusters"),
                });
            };
            out.push((
                format!("{at}.meshConnect ({other})"),
                Change::ConnectClusterMesh {
                    cluster: id.clone(),
                    remote: remote.clone(),
                },
            ));
        }
    }
    Ok(out)
}
