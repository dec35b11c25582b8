//! Resources as ARM puts them on the wire: the az front's renderers print
//! what az prints, which is the SDK's flattened view of ARM's JSON. ARM
//! itself keeps a resource's own fields under `properties`; [`to_arm`]
//! puts them back there, so one renderer serves both fronts.

use serde_json::{Map, Value};

use crate::az::{render, render_aks};
use crate::model::{Model, ResourceId};

/// Keys that stay beside `properties` in an ARM resource.
// Azure: the resource envelope of the ARM REST API (id, name, type,
// location, tags, etag, sku, zones, kind, identity, plan, managedBy,
// extendedLocation): learn.microsoft.com/azure/azure-resource-manager/management/resource-manager-request-limits
// and every REST reference page's "Definitions" section.
const ENVELOPE: &[&str] = &[
    "id",
    "name",
    "type",
    "location",
    "tags",
    "etag",
    "sku",
    "zones",
    "kind",
    "identity",
    "plan",
    "managedBy",
    "extendedLocation",
    "systemData",
];

/// A rendered (flattened) resource in ARM's shape: every object that has an
/// `id` and a `name` is a (sub)resource and gets its fields moved under
/// `properties`; a bare `{ "id": … }` stays a reference.
pub fn to_arm(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(to_arm).collect()),
        Value::Object(map) => {
            let is_resource = map.contains_key("id") && map.contains_key("name");
            if !is_resource {
                return Value::Object(map.into_iter().map(|(k, v)| (arm_spelling(k), to_arm(v))).collect());
            }
            let mut top = Map::new();
            let mut props = match map.get("properties") {
                Some(Value::Object(p)) => p.clone(),
                _ => Map::new(),
            };
            // Azure: a virtual network gateway's `sku` is one of its properties
            // (REST Virtual Network Gateways: VirtualNetworkGatewayPropertiesFormat.sku).
            let of_type = |want: &str| {
                map.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(want))
            };
            let gateway = of_type("Microsoft.Network/virtualNetworkGateways");
            // Azure: a cache's `sku` and `staticIP` are properties too
            // (REST Redis - Get: RedisResource.properties.sku, .staticIP;
            // az prints the SDK's `staticIp`).
            let redis = of_type(crate::model::REDIS_TYPE);
            for (k, v) in map {
                if k == "properties" {
                    continue;
                }
                // Azure: the envelope's `sku` is an object; a string `sku`
                // (virtualHubs' "Standard") is a property.
                let property_sku = k == "sku" && (v.is_string() || gateway || redis);
                if ENVELOPE.contains(&k.as_str()) && !property_sku {
                    top.insert(k, v);
                } else if redis && k == "staticIp" {
                    props.insert("staticIP".into(), v);
                } else {
                    props.insert(arm_spelling(k), to_arm(v));
                }
            }
            if !props.is_empty() {
                top.insert("properties".into(), Value::Object(props));
            }
            Value::Object(top)
        }
        other => other,
    }
}

/// ARM's spelling of a field az prints under another (AKS's `vnetSubnetID`).
fn arm_spelling(k: String) -> String {
    match render_aks::ARM_SPELLINGS.iter().find(|(az, _)| *az == k) {
        Some((_, arm)) => arm.to_string(),
        None => k,
    }
}

/// Every resource the model holds, rendered as az prints it (flattened),
/// children included: what GET and the lists answer from.
pub fn all_rendered(m: &Model) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    out.extend(m.resource_groups.values().map(render::group));
    for v in m.virtual_networks.values() {
        out.push(render::vnet(m, v));
        out.extend(v.subnets.iter().map(|s| render::subnet(m, s)));
        out.extend(v.peerings.iter().map(|p| render::peering(m, v, p)));
    }
    for n in m.network_security_groups.values() {
        out.push(render::nsg(m, n));
        out.extend(n.security_rules.iter().map(|r| render::security_rule(&n.id, r, false)));
        out.extend(
            crate::model::default_security_rules()
                .iter()
                .map(|r| render::security_rule(&n.id, r, true)),
        );
    }
    for rt in m.route_tables.values() {
        out.push(render::route_table(m, rt));
        out.extend(rt.routes.iter().map(|r| render::route(rt, r)));
    }
    out.extend(m.public_ip_addresses.values().map(|p| render::public_ip(m, p)));
    // A private endpoint's NIC after the others: `az network nic list` prints them so.
    let endpoint_nics = m
        .private_endpoints
        .values()
        .map(|pe| render::private_endpoint_nic(m, pe));
    for doc in m
        .network_interfaces
        .values()
        .map(|n| render::nic(m, n))
        .chain(endpoint_nics)
    {
        if let Some(configs) = doc.get("ipConfigurations").and_then(Value::as_array) {
            out.extend(configs.iter().cloned());
        }
        out.push(doc);
    }
    out.extend(m.virtual_machines.values().map(|v| render::vm(m, v, false)));
    out.extend(m.virtual_network_gateways.values().map(|g| render::vnet_gateway(m, g)));
    out.extend(m.local_network_gateways.values().map(render::local_gateway));
    out.extend(m.connections.values().map(|c| render::connection(m, c)));
    for rs in m.route_servers.values() {
        out.push(render::route_server(m, rs));
        out.push(super::hub::ip_configuration(rs));
        out.extend(rs.peerings.iter().map(|p| render::route_server_peering(rs, p)));
    }
    for lb in m.load_balancers.values() {
        out.push(render::load_balancer(m, lb));
        // Its parts, for GET and the lists of each (az's `lb address-pool show` GETs the pool).
        out.extend(
            lb.frontend_ip_configurations
                .iter()
                .map(|f| render::lb_frontend(lb, f, false)),
        );
        out.extend(
            lb.backend_address_pools
                .iter()
                .map(|p| render::lb_pool(m, lb, p, false)),
        );
        out.extend(lb.probes.iter().map(|p| render::lb_probe(lb, p, false)));
        out.extend(lb.load_balancing_rules.iter().map(|r| render::lb_rule(lb, r, false)));
    }
    out.extend(m.redis_caches.values().map(render::redis));
    out.extend(m.private_endpoints.values().map(render::private_endpoint));
    for c in m.managed_clusters.values() {
        out.push(render_aks::cluster(m, c));
        out.extend(c.agent_pools.iter().map(|p| render_aks::agent_pool(c, p)));
    }
    out.extend(crate::az::render_dns::all(m));
    out.iter_mut().for_each(|v| render::add_tags(m, v));
    out
}

/// The rendered resource with this ID (ARM compares IDs without case).
pub fn find(m: &Model, id: &ResourceId) -> Option<Value> {
    match find_exact(m, id) {
        Lookup::Found(v) => Some(v),
        Lookup::Absent => None,
        Lookup::Unknown => {
            let want = id.as_str().to_ascii_lowercase();
            all_rendered(m)
                .into_iter()
                .find(|v| v.get("id").and_then(Value::as_str).map(str::to_ascii_lowercase) == Some(want.clone()))
        }
    }
}

/// What [`find_exact`] knows about one ID.
enum Lookup {
    Found(Value),
    /// A type `find_exact` covers, and no such resource.
    Absent,
    /// A type only the full scan covers.
    Unknown,
}

/// The resource by its ID, rendering only it: the common case of a GET or
/// PUT of one resource. A PUT that creates asks for a resource that is not
/// there; answering that from the model's maps rather than from a render
/// of every resource keeps 1 000 rule PUTs in a row linear (`scripts/bench
/// arm`). [`Lookup::Unknown`] sends [`find`] to the full scan.
fn find_exact(m: &Model, id: &ResourceId) -> Lookup {
    let parent = || id.parent().unwrap_or_else(|| id.clone());
    // ResourceId compares without case, so the map lookups do too.
    let found = match id.resource_type().to_ascii_lowercase().as_str() {
        "microsoft.resources/resourcegroups" => m.resource_groups.get(id).map(render::group),
        "microsoft.network/virtualnetworks" => m.virtual_networks.get(id).map(|v| render::vnet(m, v)),
        "microsoft.network/virtualnetworks/subnets" => m
            .virtual_networks
            .get(&parent())
            .and_then(|v| v.subnets.iter().find(|s| s.id == *id))
            .map(|s| render::subnet(m, s)),
        "microsoft.network/virtualnetworks/virtualnetworkpeerings" => m.virtual_networks.get(&parent()).and_then(|v| {
            v.peerings
                .iter()
                .find(|p| p.id == *id)
                .map(|p| render::peering(m, v, p))
        }),
        "microsoft.network/networksecuritygroups" => m.network_security_groups.get(id).map(|n| render::nsg(m, n)),
        "microsoft.network/networksecuritygroups/securityrules" => {
            m.network_security_groups.get(&parent()).and_then(|n| {
                n.security_rules
                    .iter()
                    .find(|r| r.name.eq_ignore_ascii_case(id.name()))
                    .map(|r| render::security_rule(&n.id, r, false))
            })
        }
        "microsoft.network/routetables" => m.route_tables.get(id).map(|rt| render::route_table(m, rt)),
        "microsoft.network/routetables/routes" => m.route_tables.get(&parent()).and_then(|rt| {
            rt.routes
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(id.name()))
                .map(|r| render::route(rt, r))
        }),
        "microsoft.network/networkinterfaces" => match m.private_endpoint_of_nic(id) {
            Some(pe) => Some(render::private_endpoint_nic(m, pe)),
            None => m.network_interfaces.get(id).map(|n| render::nic(m, n)),
        },
        "microsoft.network/publicipaddresses" => m.public_ip_addresses.get(id).map(|p| render::public_ip(m, p)),
        "microsoft.compute/virtualmachines" => m.virtual_machines.get(id).map(|v| render::vm(m, v, false)),
        _ => return Lookup::Unknown,
    };
    match found {
        Some(mut v) => {
            render::add_tags(m, &mut v);
            Lookup::Found(v)
        }
        None => Lookup::Absent,
    }
}

/// The resources of `resource_type` (ARM's spelling, e.g.
/// `Microsoft.Network/virtualNetworks/subnets`) that lie below `scope`: a
/// subscription, a resource group, or the parent of a child type.
pub fn list(m: &Model, scope: &str, resource_type: &str) -> Vec<Value> {
    // Azure: Record Sets - List reads `…/privateDnsZones/{zone}/ALL`: every
    // record set of the zone, whatever its type.
    let want = resource_type.to_ascii_lowercase();
    let all_record_sets = want == "microsoft.network/privatednszones/all";
    let matches = |t: String| {
        let t = t.to_ascii_lowercase();
        t == want
            || (all_record_sets
                && t.strip_prefix("microsoft.network/privatednszones/")
                    .is_some_and(|k| crate::model::RecordType::parse(k).is_some() || k == "soa"))
    };
    all_rendered(m)
        .into_iter()
        .filter(|v| {
            let Some(id) = v.get("id").and_then(Value::as_str).and_then(ResourceId::parse) else {
                return false;
            };
            id.as_str().len() > scope.len() && id.is_within(scope) && matches(id.resource_type())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_move_under_properties_and_references_stay() {
        let flat = json!({
            "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v",
            "name": "v", "location": "westeurope", "type": "Microsoft.Network/virtualNetworks",
            "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
            "subnets": [{ "id": "/x/subnets/a", "name": "a", "addressPrefix": "10.0.1.0/24",
                          "networkSecurityGroup": { "id": "/x/nsg" } }],
        });
        let arm = to_arm(flat);
        assert_eq!(arm["properties"]["addressSpace"]["addressPrefixes"][0], "10.0.0.0/16");
        assert_eq!(arm["location"], "westeurope");
        assert!(arm.get("addressSpace").is_none());
        let sub = &arm["properties"]["subnets"][0];
        assert_eq!(sub["properties"]["addressPrefix"], "10.0.1.0/24");
        assert_eq!(sub["properties"]["networkSecurityGroup"], json!({ "id": "/x/nsg" }));
    }

    #[test]
    fn a_resource_group_keeps_its_properties() {
        let g = json!({ "id": "/subscriptions/s/resourceGroups/g", "name": "g", "location": "x",
                        "properties": { "provisioningState": "Succeeded" }, "managedBy": null });
        let arm = to_arm(g.clone());
        assert_eq!(arm, g);
    }
}
