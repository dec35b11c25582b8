//! Route Server over ARM, as az's `network routeserver` commands send it:
//! a `Microsoft.Network/virtualHubs` resource first (no subnet), then its
//! one IP configuration (`ipConfigurations/Default`, with the hosted
//! subnet and the public IP), then BGP connections. The model's Route
//! Server needs its subnet from the start, so a hub PUT before its IP
//! configuration is held here, in the endpoint, until the configuration
//! arrives; then both become one `PutRouteServer`.
// Azure: azure-cli 2.91 `network routeserver create` (custom.py
// create_virtual_hub: Create virtualHub with sku Standard, then
// ip_config Create 'Default' with subnet and publicIPAddress, then Show).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{
    AzureError, Change, ErrorCode, Model, ResourceId, RouteServer, RouteServerPeeringSpec, RouteServerSpec,
};

const HUB: &str = "microsoft.network/virtualhubs";
const IP_CONFIG: &str = "microsoft.network/virtualhubs/ipconfigurations";
const BGP: &str = "microsoft.network/virtualhubs/bgpconnections";

/// Hubs PUT before their IP configuration: what their PUT said.
#[derive(Debug, Default)]
pub struct Pending {
    hubs: BTreeMap<String, PendingHub>,
}

#[derive(Debug, Clone)]
struct PendingHub {
    id: ResourceId,
    location: Option<String>,
    allow_b2b: bool,
}

fn key(id: &ResourceId) -> String {
    id.as_str().to_ascii_lowercase()
}

/// Whether this endpoint module handles resources of `id`'s type.
pub fn is_hub_type(id: &ResourceId) -> bool {
    matches!(id.resource_type().to_ascii_lowercase().as_str(), HUB | IP_CONFIG | BGP)
}

/// What a PUT of a hub resource does.
pub enum Put {
    /// Apply these changes, then read `id` back.
    Changes(Vec<Change>),
    /// Nothing for the model yet: answer with this document (201).
    Held(Value),
}

impl Pending {
    /// The held hub's document, when `id` is a hub waiting for its IP
    /// configuration.
    pub fn get(&self, id: &ResourceId) -> Option<Value> {
        self.hubs.get(&key(id)).map(held_doc)
    }

    /// The held hubs below `scope` (a resource group or subscription ID).
    pub fn list(&self, scope: &str, resource_type: &str) -> Vec<Value> {
        if !resource_type.eq_ignore_ascii_case("Microsoft.Network/virtualHubs") {
            return Vec::new();
        }
        let scope = format!("{}/", scope.to_ascii_lowercase());
        self.hubs
            .iter()
            .filter(|(k, _)| k.starts_with(&scope))
            .map(|(_, h)| held_doc(h))
            .collect()
    }

    /// Forgets a held hub (its DELETE, or its resource group's).
    pub fn forget(&mut self, id: &ResourceId) -> bool {
        let k = key(id);
        let prefix = format!("{k}/");
        let before = self.hubs.len();
        self.hubs.retain(|h, _| h != &k && !h.starts_with(&prefix));
        before != self.hubs.len()
    }

    /// The changes (or the held answer) of a PUT at `id`, a hub or one of
    /// its children.
    pub fn put(&mut self, m: &Model, id: &ResourceId, body: &Value) -> Result<Put, AzureError> {
        let p = body.get("properties").unwrap_or(&Value::Null);
        match id.resource_type().to_ascii_lowercase().as_str() {
            HUB => {
                let location = body.get("location").and_then(Value::as_str).map(str::to_string);
                let allow_b2b = p
                    .get("allowBranchToBranchTraffic")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if let Some(rs) = m.route_servers.get(id) {
                    return Ok(Put::Changes(vec![Change::PutRouteServer(RouteServerSpec {
                        id: id.clone(),
                        location,
                        hosted_subnet: rs.hosted_subnet.clone(),
                        allow_branch_to_branch_traffic: allow_b2b,
                        public_ip_address: rs.public_ip_address.clone(),
                        // vnetlab's own; ARM bodies never carry it.
                        bgp_hold_secs: rs.bgp_hold_secs,
                    })]));
                }
                let hub = PendingHub {
                    id: id.clone(),
                    location,
                    allow_b2b,
                };
                let doc = held_doc(&hub);
                self.hubs.insert(key(id), hub);
                Ok(Put::Held(doc))
            }
            IP_CONFIG => {
                let hub_id = id.parent().unwrap_or_else(|| id.clone());
                let subnet = reference(p, "subnet")?.ok_or_else(|| {
                    AzureError::new(
                        ErrorCode::InvalidRequestFormat,
                        format!(
                            "IP configuration {} of virtual hub {} needs properties.subnet.id, the hub VNet's RouteServerSubnet.",
                            id.name(),
                            hub_id.name()
                        ),
                    )
                })?;
                let public_ip_address = reference(p, "publicIPAddress")?;
                let (location, allow_b2b) = match (self.hubs.get(&key(&hub_id)), m.route_servers.get(&hub_id)) {
                    (Some(h), _) => (h.location.clone(), h.allow_b2b),
                    (None, Some(rs)) => (Some(rs.location.clone()), rs.allow_branch_to_branch_traffic),
                    (None, None) => return Err(parent_not_found(&hub_id)),
                };
                let change = Change::PutRouteServer(RouteServerSpec {
                    id: hub_id.clone(),
                    location,
                    hosted_subnet: subnet,
                    allow_branch_to_branch_traffic: allow_b2b,
                    public_ip_address,
                    bgp_hold_secs: m.route_servers.get(&hub_id).and_then(|rs| rs.bgp_hold_secs),
                });
                Ok(Put::Changes(vec![change]))
            }
            _ => {
                let hub_id = id.parent().unwrap_or_else(|| id.clone());
                if !m.route_servers.contains_key(&hub_id) {
                    return Err(parent_not_found(&hub_id));
                }
                Ok(Put::Changes(vec![Change::PutRouteServerPeering(
                    RouteServerPeeringSpec {
                        id: id.clone(),
                        peer_ip: p.get("peerIp").and_then(Value::as_str).unwrap_or_default().to_string(),
                        peer_asn: p.get("peerAsn").and_then(Value::as_u64).unwrap_or_default() as u32,
                        advertised_prefixes: Vec::new(),
                    },
                )]))
            }
        }
    }

    /// A successful model change at `id` settles its hub.
    pub fn settled(&mut self, id: &ResourceId) {
        if id
            .resource_type()
            .eq_ignore_ascii_case("Microsoft.Network/virtualHubs/ipConfigurations")
            && let Some(hub) = id.parent()
        {
            self.hubs.remove(&key(&hub));
        }
    }
}

/// The change a DELETE of a hub child makes: the IP configuration takes the
/// Route Server with it (Azure deletes it first, then the hub).
pub fn delete(id: &ResourceId) -> Option<Change> {
    match id.resource_type().to_ascii_lowercase().as_str() {
        HUB => Some(Change::DeleteRouteServer(id.clone())),
        IP_CONFIG => id.parent().map(Change::DeleteRouteServer),
        BGP => Some(Change::DeleteRouteServerPeering(id.clone())),
        _ => None,
    }
}

fn reference(p: &Value, key: &str) -> Result<Option<ResourceId>, AzureError> {
    match p.get(key).and_then(|r| r.get("id")).and_then(Value::as_str) {
        None => Ok(None),
        Some(s) => ResourceId::parse(s).map(Some).ok_or_else(|| {
            AzureError::new(
                ErrorCode::InvalidResourceReference,
                format!("Resource ID '{s}' at {key}.id is not a valid ARM resource ID."),
            )
        }),
    }
}

fn parent_not_found(hub: &ResourceId) -> AzureError {
    // Azure: a child PUT under a missing parent is ParentResourceNotFound (404).
    AzureError::new(
        ErrorCode::NotFound,
        format!(
            "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
            hub.name()
        ),
    )
}

/// A hub waiting for its IP configuration, flattened as az prints it: no
/// router IPs yet.
fn held_doc(h: &PendingHub) -> Value {
    json!({
        "id": h.id.as_str(),
        "name": h.id.name(),
        "type": "Microsoft.Network/virtualHubs",
        "kind": "RouteServer",
        "location": h.location.clone().unwrap_or_default(),
        "sku": "Standard",
        "allowBranchToBranchTraffic": h.allow_b2b,
        "provisioningState": "Succeeded",
        "routingState": "None",
        "virtualRouterAsn": crate::model::AZURE_ASN,
        "virtualRouterIps": [],
        "hubRoutingPreference": "ExpressRoute",
    })
}

/// A Route Server's IP configuration, flattened as az prints it.
pub fn ip_configuration(rs: &RouteServer) -> Value {
    let id = rs.ip_configuration_id();
    let mut doc = json!({
        "id": id.as_str(),
        "name": id.name(),
        "type": "Microsoft.Network/virtualHubs/ipConfigurations",
        "privateIPAllocationMethod": "Dynamic",
        "provisioningState": "Succeeded",
        "subnet": { "id": rs.hosted_subnet.as_str() },
    });
    if let Some(pip) = &rs.public_ip_address {
        doc["publicIPAddress"] = json!({ "id": pip.as_str() });
    }
    doc
}
