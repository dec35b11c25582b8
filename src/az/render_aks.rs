//! AKS managed clusters and their agent pools as az prints them (the SDK's
//! flattened view): one renderer for `az aks show` and, through
//! `arm::wire`, for the ARM endpoint's GET, list and export.

use serde_json::{Value, json};

use crate::model::{AgentPool, ManagedCluster, Model};

/// An agent pool as `az aks nodepool show` prints it.
pub fn agent_pool(c: &ManagedCluster, p: &AgentPool) -> Value {
    json!({
        "count": p.count(),
        "id": c.agent_pool_id(&p.name).as_str(),
        "maxPods": 250,
        "mode": format!("{:?}", p.mode),
        "name": p.name,
        "nodeImageVersion": "AKSUbuntu-2204gen2containerd",
        "orchestratorVersion": c.kubernetes_version,
        "osSku": "Ubuntu",
        "osType": "Linux",
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "typePropertiesType": "VirtualMachineScaleSets",
        "vmSize": p.vm_size,
        "vnetSubnetId": p.vnet_subnet_id.as_str(),
    })
}

/// The cluster's system-assigned identity: a principal ID stable per
/// cluster ID (az aks create grants it Network Contributor on the subnet).
// Azure: ManagedClusterIdentity {type, principalId, tenantId} (REST Managed
// Clusters - Get, "identity"); readOnly IDs.
pub fn identity(m: &Model, c: &ManagedCluster) -> Value {
    let key = crate::dataplane::stable_key(&c.id);
    let tenant = m
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(c.id.subscription_id()))
        .map(|s| s.tenant_id.as_str())
        .unwrap_or_default();
    json!({
        "type": "SystemAssigned",
        "principalId": format!("{:08x}-0000-4000-8000-{:012x}", (key >> 32) as u32, key & 0xffff_ffff_ffff),
        "tenantId": tenant,
    })
}

/// A cluster as `az aks show` prints it.
pub fn cluster(m: &Model, c: &ManagedCluster) -> Value {
    let n = &c.network_profile;
    let fqdn = format!(
        "{}-{:08x}.hcp.{}.azmk8s.io",
        c.dns_prefix,
        crate::dataplane::stable_key(&c.id) as u32,
        c.location
    );
    let pools: Vec<Value> = c
        .agent_pools
        .iter()
        .map(|p| {
            let mut v = agent_pool(c, p);
            // In the cluster's body a pool is a profile, not a resource.
            if let Some(o) = v.as_object_mut() {
                o.remove("id");
                o.remove("typePropertiesType");
                o.insert("type".into(), "VirtualMachineScaleSets".into());
            }
            v
        })
        .collect();
    json!({
        "agentPoolProfiles": pools,
        "currentKubernetesVersion": c.kubernetes_version,
        "dnsPrefix": c.dns_prefix,
        "enableRbac": true,
        "fqdn": fqdn,
        "id": c.id.as_str(),
        "identity": identity(m, c),
        "kubernetesVersion": c.kubernetes_version,
        "location": c.location,
        "name": c.name,
        "networkProfile": {
            "dnsServiceIp": n.dns_service_ip.to_string(),
            "ipFamilies": ["IPv4"],
            "loadBalancerSku": "standard",
            "networkPlugin": n.network_plugin,
            "networkPluginMode": n.network_plugin_mode,
            "outboundType": "loadBalancer",
            "podCidr": n.pod_cidr.to_string(),
            "podCidrs": [n.pod_cidr.to_string()],
            "serviceCidr": n.service_cidr.to_string(),
            "serviceCidrs": [n.service_cidr.to_string()],
        },
        "nodeResourceGroup": c.node_resource_group,
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "sku": {"name": "Base", "tier": "Free"},
        "type": "Microsoft.ContainerService/ManagedClusters",
    })
}

/// az's names of AKS fields (Python attributes in camel case) and ARM's.
// Azure: the REST spec spells them vnetSubnetID, dnsServiceIP, enableRBAC
// (ManagedClusterAgentPoolProfile, ContainerServiceNetworkProfile).
pub const ARM_SPELLINGS: &[(&str, &str)] = &[
    ("vnetSubnetId", "vnetSubnetID"),
    ("dnsServiceIp", "dnsServiceIP"),
    ("enableRbac", "enableRBAC"),
    ("typePropertiesType", "type"),
];
