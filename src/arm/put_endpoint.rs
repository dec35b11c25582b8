//! `Microsoft.Network/privateEndpoints` PUT bodies turned into the same
//! [`PrivateEndpointSpec`] that `az network private-endpoint create` and
//! the topology loader make; the model checks the subnet, the target and
//! its group ID (one validation for every front).

use serde_json::Value;

use super::put::{bad, props, reference, string, strings};
use crate::model::{AzureError, Change, PrivateEndpointSpec, ResourceId};

/// A private endpoint's PUT: `properties.subnet.id` and one entry of
/// `properties.privateLinkServiceConnections[]` (its `name`,
/// `properties.privateLinkServiceId` and `properties.groupIds`).
// Azure: REST Private Endpoints - Create Or Update
// (learn.microsoft.com/rest/api/virtualnetwork/private-endpoints/create-or-update);
// what az 2.91's `network private-endpoint create` sends (one auto-approved
// connection, or one manual connection with --manual-request).
pub(super) fn private_endpoint(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let name = id.name();
    let subnet = reference(p, "subnet")?.ok_or_else(|| {
        bad(format!(
            "Private endpoint {name} has no properties.subnet.id. Give the ID of the subnet the endpoint's NIC goes in."
        ))
    })?;
    let list = |key: &str| p.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    // vnetlab's targets (caches) approve their connections at once: a
    // manual connection would wait for an approval nothing can give.
    if !list("manualPrivateLinkServiceConnections").is_empty() {
        return Err(bad(format!(
            "Private endpoint {name} asks for a manual connection (properties.manualPrivateLinkServiceConnections); vnetlab models auto-approved connections only. Put the connection in properties.privateLinkServiceConnections instead."
        )));
    }
    // The model allocates the endpoint's address dynamically and names its
    // NIC as Azure does by default (`<name>.nic.<guid>`).
    if !list("ipConfigurations").is_empty() {
        return Err(bad(format!(
            "Private endpoint {name} gives properties.ipConfigurations (static IPs); vnetlab allocates a private endpoint's address dynamically. Leave ipConfigurations out."
        )));
    }
    if string(p, "customNetworkInterfaceName").is_some_and(|n| !n.is_empty()) {
        return Err(bad(format!(
            "Private endpoint {name} gives properties.customNetworkInterfaceName; vnetlab names the endpoint's NIC as Azure does by default ({name}.nic.<guid>). Leave customNetworkInterfaceName out."
        )));
    }
    let connections = list("privateLinkServiceConnections");
    let [connection] = connections.as_slice() else {
        return Err(bad(format!(
            "Private endpoint {name} has {} entries in properties.privateLinkServiceConnections; give exactly one, with a name and properties.privateLinkServiceId and groupIds.",
            connections.len()
        )));
    };
    let connection_name = string(connection, "name").ok_or_else(|| {
        bad(format!(
            "The private link service connection of private endpoint {name} needs a name."
        ))
    })?;
    let c = props(connection);
    let target = string(c, "privateLinkServiceId").ok_or_else(|| {
        bad(format!(
            "Connection {connection_name} of private endpoint {name} has no properties.privateLinkServiceId. Give the ID of the resource to reach (e.g. an Azure Cache for Redis)."
        ))
    })?;
    let private_link_service_id = ResourceId::parse(&target).ok_or_else(|| {
        AzureError::new(
            crate::model::ErrorCode::InvalidResourceReference,
            format!("Resource ID '{target}' at privateLinkServiceConnections[0].properties.privateLinkServiceId is not a valid ARM resource ID. Give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/{{namespace}}/{{type}}/{{name}}."),
        )
    })?;
    Ok(Change::PutPrivateEndpoint(PrivateEndpointSpec {
        id: id.clone(),
        location: string(body, "location"),
        subnet,
        private_link_service_id,
        group_ids: strings(c, "groupIds"),
        connection_name,
    }))
}
