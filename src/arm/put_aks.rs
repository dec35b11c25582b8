//! ARM PUT bodies of AKS managed clusters and their agent pools turned into
//! the model's changes: the same `ManagedClusterSpec` and `AgentPoolSpec`
//! that `az aks create` / `az aks nodepool add` in the shim and the
//! topology loader make. What does not touch the network (Kubernetes
//! version, linuxProfile, addons, identity) is accepted and not kept.

use serde_json::Value;

use super::put::{bad, props, string};
use crate::model::{
    AgentPoolMode, AgentPoolSpec, AzureError, Change, DEFAULT_POOL_NAME, ErrorCode, ManagedClusterSpec, ResourceId,
};

/// The field `key` of `v` whatever its case: ARM's names are
/// case-insensitive, and az and templates spell `vnetSubnetID` both ways.
fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, x)| x)
}

fn text(v: &Value, key: &str) -> Option<String> {
    field(v, key).and_then(Value::as_str).map(str::to_string)
}

fn mode(v: &Value) -> Result<Option<AgentPoolMode>, AzureError> {
    match text(v, "mode").as_deref() {
        None => Ok(None),
        Some(m) if m.eq_ignore_ascii_case("System") => Ok(Some(AgentPoolMode::System)),
        Some(m) if m.eq_ignore_ascii_case("User") => Ok(Some(AgentPoolMode::User)),
        Some(m) => Err(AzureError::new(
            ErrorCode::InvalidParameter,
            format!("The value of parameter agentPoolProfile.mode is invalid: '{m}'. Use 'System' or 'User'."),
        )),
    }
}

/// A pool's fields (a cluster's `agentPoolProfiles[]` entry, or the
/// `properties` of an agentPools PUT). `count` defaults as AKS's: 1.
// Azure: ManagedClusterAgentPoolProfile: count (default 1), vmSize,
// vnetSubnetID, mode (REST Managed Clusters - Create Or Update).
fn pool(id: ResourceId, p: &Value) -> Result<AgentPoolSpec, AzureError> {
    let subnet = match text(p, "vnetSubnetID") {
        None => None,
        Some(s) => Some(ResourceId::parse(&s).ok_or_else(|| {
            AzureError::new(
                ErrorCode::InvalidParameter,
                format!("The value of parameter agentPoolProfile.vnetSubnetID is invalid: '{s}' is not a subnet's resource ID. Give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/Microsoft.Network/virtualNetworks/{{vnet}}/subnets/{{subnet}}."),
            )
        })?),
    };
    Ok(AgentPoolSpec {
        id,
        count: field(p, "count").and_then(Value::as_i64).unwrap_or(1),
        vm_size: text(p, "vmSize"),
        vnet_subnet_id: subnet,
        mode: mode(p)?,
    })
}

/// `Microsoft.ContainerService/managedClusters`: the cluster with its first
/// System pool (else its first pool), then its other pools.
// Azure: REST Managed Clusters - Create Or Update; properties.networkProfile
// {networkPlugin, networkPluginMode, podCidr, serviceCidr, dnsServiceIP}.
pub(super) fn cluster(id: &ResourceId, body: &Value) -> Result<Vec<Change>, AzureError> {
    let p = props(body);
    let profiles: Vec<&Value> = field(p, "agentPoolProfiles")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if profiles.is_empty() {
        return Err(bad(format!(
            "Managed cluster {} needs properties.agentPoolProfiles with at least one System pool (name, count, vmSize, vnetSubnetID, mode).",
            id.name()
        )));
    }
    let mut pools = Vec::new();
    for (i, profile) in profiles.iter().enumerate() {
        let name = text(profile, "name").unwrap_or_else(|| {
            if i == 0 {
                DEFAULT_POOL_NAME.to_string()
            } else {
                format!("nodepool{}", i + 1)
            }
        });
        pools.push(pool(id.child("agentPools", &name), profile)?);
    }
    let first = pools
        .iter()
        .position(|p| p.mode == Some(AgentPoolMode::System))
        .unwrap_or(0);
    let mut first = pools.remove(first);
    first.mode.get_or_insert(AgentPoolMode::System);
    // Later pools take the first's subnet unless they name theirs.
    let subnet = first.vnet_subnet_id.clone();
    let net = field(p, "networkProfile").cloned().unwrap_or(Value::Null);
    let plugin = text(&net, "networkPlugin");
    let spec = ManagedClusterSpec {
        id: id.clone(),
        location: string(body, "location"),
        // As az aks create: azure with overlay when nothing is said.
        network_plugin_mode: text(&net, "networkPluginMode").or_else(|| plugin.is_none().then(|| "overlay".into())),
        network_plugin: plugin.unwrap_or_else(|| "azure".into()),
        pod_cidr: text(&net, "podCidr"),
        service_cidr: text(&net, "serviceCidr"),
        dns_service_ip: text(&net, "dnsServiceIP"),
        kubernetes_version: text(p, "kubernetesVersion"),
        dns_prefix: text(p, "dnsPrefix"),
        node_resource_group: text(p, "nodeResourceGroup"),
        pool: first,
    };
    let mut out = vec![Change::PutManagedCluster(spec)];
    out.extend(pools.into_iter().map(|mut pool| {
        pool.vnet_subnet_id = pool.vnet_subnet_id.or_else(|| subnet.clone());
        pool.mode.get_or_insert(AgentPoolMode::User);
        Change::PutAgentPool(pool)
    }));
    Ok(out)
}

/// `Microsoft.ContainerService/managedClusters/agentPools`.
// Azure: REST Agent Pools - Create Or Update (properties as a profile's).
pub(super) fn agent_pool(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    Ok(Change::PutAgentPool(pool(id.clone(), props(body))?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CLUSTER: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1";
    const SUBNET: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes";

    #[test]
    fn what_az_aks_create_sends_is_the_spec_the_shim_makes() {
        // The body az 2.91's aks create PUTs (trimmed to what it always sends).
        let body = json!({
            "location": "canadacentral",
            "identity": { "type": "SystemAssigned" },
            "properties": {
                "kubernetesVersion": "", "dnsPrefix": "aks1-rg-abc123", "enableRBAC": true,
                "agentPoolProfiles": [{ "count": 2, "vmSize": "Standard_DS2_v2", "osType": "Linux",
                    "vnetSubnetID": SUBNET, "type": "VirtualMachineScaleSets", "mode": "System", "name": "nodepool1" }],
                "networkProfile": { "networkPlugin": "azure", "networkPluginMode": "overlay",
                    "podCidr": "10.32.0.0/13", "serviceCidr": "10.100.0.0/16", "dnsServiceIP": "10.100.0.10" },
            },
        });
        let id = ResourceId::parse(CLUSTER).unwrap();
        let changes = cluster(&id, &body).unwrap();
        let [Change::PutManagedCluster(s)] = changes.as_slice() else {
            panic!("{changes:?}")
        };
        assert_eq!(s.pool.id.name(), "nodepool1");
        assert_eq!(s.pool.count, 2);
        assert_eq!(s.pool.vnet_subnet_id.as_ref().map(ResourceId::as_str), Some(SUBNET));
        assert_eq!(s.pool.mode, Some(AgentPoolMode::System));
        assert_eq!(s.network_plugin, "azure");
        assert_eq!(s.network_plugin_mode.as_deref(), Some("overlay"));
        assert_eq!(s.pod_cidr.as_deref(), Some("10.32.0.0/13"));
        assert_eq!(s.dns_service_ip.as_deref(), Some("10.100.0.10"));
        assert_eq!(s.location.as_deref(), Some("canadacentral"));
    }

    #[test]
    fn a_user_pool_listed_first_still_leaves_the_system_pool_as_the_cluster() {
        let body = json!({ "properties": { "agentPoolProfiles": [
            { "name": "user1", "mode": "User", "count": 0 },
            { "name": "sys", "mode": "System", "count": 1, "vnetSubnetId": SUBNET },
        ] } });
        let changes = cluster(&ResourceId::parse(CLUSTER).unwrap(), &body).unwrap();
        let [Change::PutManagedCluster(s), Change::PutAgentPool(u)] = changes.as_slice() else {
            panic!("{changes:?}")
        };
        assert_eq!(s.pool.id.name(), "sys");
        assert_eq!(u.id.name(), "user1");
        assert_eq!(u.mode, Some(AgentPoolMode::User));
        // The user pool takes the system pool's subnet, as AKS does.
        assert_eq!(u.vnet_subnet_id, s.pool.vnet_subnet_id);
    }

    #[test]
    fn bad_bodies_are_refused_in_arms_words() {
        let id = ResourceId::parse(CLUSTER).unwrap();
        let e = cluster(&id, &json!({ "properties": {} })).unwrap_err();
        assert!(e.message.contains("agentPoolProfiles"), "{}", e.message);
        let e = cluster(
            &id,
            &json!({ "properties": { "agentPoolProfiles": [{ "name": "p", "vnetSubnetID": "nope" }] } }),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameter);
        let e = cluster(
            &id,
            &json!({ "properties": { "agentPoolProfiles": [{ "name": "p", "mode": "Gpu" }] } }),
        )
        .unwrap_err();
        assert!(e.message.contains("'Gpu'"), "{}", e.message);
    }
}
