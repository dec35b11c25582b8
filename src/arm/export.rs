//! `POST …/resourcegroups/{rg}/exportTemplate` (what `az group export`
//! calls): the group's resources as one ARM template that, deployed into
//! an empty group, rebuilds the same network. Each resource is its GET body
//! (one renderer for every front, [`wire`]) less what ARM computes, in
//! `dependsOn` order; secrets become `securestring` parameters, as ARM
//! exports them without their values.

use serde_json::{Map, Value, json};

use super::{export_params, wire};
use crate::model::{Model, ResourceId};

/// Azure: the template schema of `az group export`'s output
/// (learn.microsoft.com/azure/azure-resource-manager/templates/export-template-cli).
const SCHEMA: &str = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";

/// Fields ARM computes, never sent in a PUT: left out of the export.
/// (Nested `id`s stay: they are references, or sub-resource IDs ARM takes.)
// Azure: the REST references mark these readOnly (a connection's status and
// byte counters, a gateway instance's default BGP and tunnel addresses).
const READ_ONLY: &[&str] = &[
    "etag",
    "provisioningState",
    "resourceGuid",
    "systemData",
    "connectionStatus",
    "egressBytesTransferred",
    "ingressBytesTransferred",
    "defaultBgpIpAddresses",
    "tunnelIpAddresses",
    "connectionState",
    // A zone group's configs show the records the group wrote.
    "recordSets",
];

/// Back-references a resource's GET shows to those that use it (a subnet's
/// NIC configurations, a route table's subnets): the user's side carries
/// them. Only bare references go (a NIC's own `ipConfigurations` stay).
const BACK_REFERENCES: &[&str] = &[
    "ipConfigurations",
    "subnets",
    "virtualMachine",
    "ipConfiguration",
    "privateEndpoints",
    "backendIPConfigurations",
    "loadBalancingRules",
];

/// How early a type deploys: a resource depends only on earlier ranks, so
/// back-references never make a `dependsOn` cycle.
pub(super) fn rank(resource_type: &str) -> u8 {
    match resource_type.to_ascii_lowercase().as_str() {
        "microsoft.network/networksecuritygroups"
        | "microsoft.network/routetables"
        | "microsoft.network/publicipaddresses"
        | "microsoft.network/localnetworkgateways" => 0,
        "microsoft.network/virtualnetworks" => 1,
        // A gateway before the peerings: a peering that uses remote
        // gateways needs the remote VNet's gateway to exist.
        "microsoft.network/virtualnetworkgateways" | "microsoft.network/virtualhubs" => 2,
        // A Route Server exists once its hub has its IP configuration.
        "microsoft.network/virtualhubs/ipconfigurations" => 3,
        "microsoft.network/networkinterfaces" | "microsoft.network/connections" => 5,
        // A private DNS zone's links and record sets follow the zone.
        t if t.starts_with("microsoft.network/privatednszones/") => 5,
        "microsoft.compute/virtualmachines" => 6,
        // After the VMs' NICs, as the topology loader and lab scripts
        // create it: its dynamic address is then the same in a rebuilt lab.
        "microsoft.network/privateendpoints" => 7,
        "microsoft.network/privateendpoints/privatednszonegroups" => 8,
        _ => 4,
    }
}

/// The api-version a type is exported with (what az sends today).
fn api_version(resource_type: &str) -> &'static str {
    if resource_type.to_ascii_lowercase().starts_with("microsoft.compute/") {
        "2024-07-01"
    } else if resource_type.to_ascii_lowercase().starts_with("microsoft.cache/") {
        "2024-11-01"
    } else if resource_type
        .to_ascii_lowercase()
        .starts_with("microsoft.containerservice/")
    {
        "2025-07-01"
    } else {
        "2024-05-01"
    }
}

/// The top-level resource an ID lies in: `…/virtualNetworks/v/subnets/s` → `…/virtualNetworks/v`.
pub(super) fn top_level(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.iter().position(|p| p.eq_ignore_ascii_case("providers")) {
        Some(i) if parts.len() > i + 4 => parts[..i + 4].join("/"),
        _ => id.to_string(),
    }
    .to_ascii_lowercase()
}

/// Every `"id"` a body refers to.
fn referenced_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("id", Value::String(s)) => out.push(s.clone()),
                    _ => referenced_ids(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| referenced_ids(x, out)),
        _ => {}
    }
}

fn is_reference(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.len() == 1 && m.contains_key("id"))
}

/// A reference, or a list of nothing but references.
fn only_references(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(is_reference),
        other => is_reference(other),
    }
}

/// `v` without ARM's computed fields and back-references, at every depth.
/// References (`{ "id": … }` alone) keep their ID.
fn strip(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let reference = m.len() == 1 && m.contains_key("id");
            let computed =
                |k: &str, x: &Value| READ_ONLY.contains(&k) || (BACK_REFERENCES.contains(&k) && only_references(x));
            Value::Object(
                m.into_iter()
                    .filter(|(k, x)| reference || !computed(k, x))
                    .map(|(k, x)| (k, strip(x)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
        other => other,
    }
}

/// Children exported as resources of their own (`parent/child`), after
/// their parent: a VNet peering names the other VNet, so it follows both;
/// a Route Server's IP configuration and BGP connections are separate
/// PUTs in ARM (virtualHubs has no child lists in its body).
const SEPARATE_CHILDREN: &[&str] = &[
    "microsoft.network/virtualnetworks/virtualnetworkpeerings",
    "microsoft.network/virtualhubs/ipconfigurations",
    "microsoft.network/virtualhubs/bgpconnections",
    // Private DNS: ARM's zone body holds no links or records, nor an
    // endpoint's body its zone group.
    "microsoft.network/privatednszones/virtualnetworklinks",
    "microsoft.network/privateendpoints/privatednszonegroups",
];

fn separate_child(typ: &str) -> bool {
    SEPARATE_CHILDREN.contains(&typ.to_ascii_lowercase().as_str()) || super::put::is_record_set_type(typ)
}

/// Record sets a deployment of the rest makes by itself, left out: the
/// SOA (every zone has it), the A records of VMs registered through a link
/// with auto-registration, and the A record an endpoint's zone group
/// writes (the group, exported, writes it again with the endpoint's address).
fn made_by_others(m: &Model, rendered: &Value, lower_id: &str) -> bool {
    if rendered.get("isAutoRegistered") == Some(&Value::Bool(true)) || rendered.get("soaRecord").is_some() {
        return true;
    }
    m.private_endpoints.values().any(|pe| {
        pe.dns_zone_groups.iter().flat_map(|g| &g.configs).any(|c| {
            m.zone_group_record(&pe.id, &c.private_dns_zone)
                .is_some_and(|(name, _)| {
                    let id = c.private_dns_zone.child("A", &name);
                    id.as_str().eq_ignore_ascii_case(lower_id)
                })
        })
    })
}

/// The template of resource group `group`: every resource of the group the
/// model holds, children inside their parents except [`SEPARATE_CHILDREN`].
pub fn template(m: &Model, group: &ResourceId) -> Value {
    let scope = group.as_str().to_ascii_lowercase();
    let mut entries: Vec<(String, String, Map<String, Value>)> = Vec::new();
    for rendered in wire::all_rendered(m) {
        let Some(id) = rendered.get("id").and_then(Value::as_str).and_then(ResourceId::parse) else {
            continue;
        };
        let lower = id.as_str().to_ascii_lowercase();
        let typ = id.resource_type();
        let child = typ.matches('/').count() > 1;
        let separate = separate_child(&typ);
        if !lower.starts_with(&format!("{scope}/providers/"))
            || (child && !separate)
            || (super::put::is_record_set_type(&typ) && made_by_others(m, &rendered, &lower))
            // Azure: a private endpoint's NIC is made (and removed) with it.
            || rendered.get("privateEndpoint").is_some()
        {
            continue;
        }
        let mut body = match wire::to_arm(rendered) {
            Value::Object(b) => b,
            _ => continue,
        };
        if let Some(Value::Object(p)) = body.get_mut("properties") {
            // Peerings are their own resources (below the VNets they join).
            p.remove("virtualNetworkPeerings");
            // Azure: a private endpoint's NIC is read-only; ARM makes it.
            if typ.eq_ignore_ascii_case("Microsoft.Network/privateEndpoints") {
                p.remove("networkInterfaces");
            }
        }
        let name = match id.parent() {
            Some(parent) if separate => format!("{}/{}", parent.name(), id.name()),
            _ => id.name().to_string(),
        };
        body.remove("name");
        body.remove("type");
        entries.push((lower, typ, body));
        let last = entries.last_mut().expect("just pushed");
        last.2.insert("name".into(), name.into());
    }
    let mut parameters = Map::new();
    let mut resources = Vec::new();
    let known: Vec<(String, u8)> = entries.iter().map(|(id, t, _)| (id.clone(), rank(t))).collect();
    for (lower, typ, body) in entries {
        let mut refs = Vec::new();
        let body = Value::Object(body);
        referenced_ids(&body, &mut refs);
        let mut depends: Vec<String> = Vec::new();
        let own_rank = rank(&typ);
        let implied = implied_dependencies(m, &lower, &typ, &body);
        for r in refs
            .iter()
            .map(|r| top_level(r))
            .chain(separate_child(&typ).then(|| top_level(&lower)))
            .chain(implied)
        {
            let earlier = known.iter().any(|(id, k)| *id == r && *k < own_rank);
            if r != lower && earlier && !depends.contains(&r) {
                depends.push(r);
            }
        }
        let mut body = strip(body);
        if let Value::Object(b) = &mut body {
            b.remove("id"); // ARM makes it from the group, type and name
        }
        // Azure: export leaves secrets out; the VM's admin password becomes
        // a securestring parameter the deployment must be given.
        if let Some(os) = body.pointer_mut("/properties/osProfile")
            && os
                .get("linuxConfiguration")
                .and_then(|l| l.get("disablePasswordAuthentication"))
                != Some(&Value::Bool(true))
        {
            let vm = lower.rsplit('/').next().unwrap_or_default();
            let vm = m
                .virtual_machines
                .keys()
                .find(|k| k.as_str().eq_ignore_ascii_case(&lower))
                .map_or(vm, |k| k.name());
            let param = password_parameter(vm);
            os["adminPassword"] = format!("[parameters('{param}')]").into();
            parameters.insert(param, json!({ "type": "securestring" }));
        }
        let mut r = Map::new();
        r.insert("type".into(), typ.clone().into());
        r.insert("apiVersion".into(), api_version(&typ).into());
        if let Value::Object(b) = body {
            r.extend(b);
        }
        if !depends.is_empty() {
            r.insert("dependsOn".into(), depends.into());
        }
        resources.push(Value::Object(r));
    }
    let literal = json!({
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "variables": {},
        "resources": resources,
    });
    export_params::parameterise(literal, group.resource_group_name())
}

/// The parameter that carries VM `vm`'s admin password.
pub fn password_parameter(vm: &str) -> String {
    format!("virtualMachines_{}_adminPassword", vm.replace(['-', '.'], "_"))
}

/// What a resource needs that its body does not name, so ARM would not
/// order it: a peering with `useRemoteGateways` needs the remote VNet's
/// gateway or Route Server; a Route Server's BGP connection needs the
/// Route Server, which exists once its hub has its IP configuration.
// Azure: "RemoteVnetHasNoGateways" when the remote VNet has none yet
// (learn.microsoft.com/azure/virtual-network/virtual-network-peering-overview#gateways-and-on-premises-connectivity).
fn implied_dependencies(m: &Model, lower_id: &str, typ: &str, body: &Value) -> Vec<String> {
    let lower = |id: &ResourceId| id.as_str().to_ascii_lowercase();
    match typ.to_ascii_lowercase().as_str() {
        "microsoft.network/virtualnetworks/virtualnetworkpeerings" => {
            let uses = body.pointer("/properties/useRemoteGateways") == Some(&Value::Bool(true));
            let Some(vnet) = body
                .pointer("/properties/remoteVirtualNetwork/id")
                .and_then(Value::as_str)
                .and_then(ResourceId::parse)
                .filter(|_| uses)
            else {
                return Vec::new();
            };
            let gateways = m
                .virtual_network_gateways
                .values()
                .filter(|g| g.virtual_network == vnet);
            let route_servers = m
                .route_servers
                .values()
                .filter(|rs| rs.hosted_subnet.parent() == Some(vnet.clone()));
            gateways
                .map(|g| lower(&g.id))
                .chain(route_servers.map(|rs| lower(&rs.ip_configuration_id())))
                .collect()
        }
        // A cluster's pools name their subnets in `vnetSubnetID`, a string
        // rather than a reference: the VNet must be there first.
        "microsoft.containerservice/managedclusters" => body
            .pointer("/properties/agentPoolProfiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("vnetSubnetID").and_then(Value::as_str))
            .map(top_level)
            .collect(),
        // A cache names its subnet by a bare string, not `{ "id": … }`.
        "microsoft.cache/redis" => body
            .pointer("/properties/subnetId")
            .and_then(Value::as_str)
            .map(top_level)
            .into_iter()
            .collect(),
        // The endpoint names its target by a bare string, not `{ "id" }`.
        "microsoft.network/privateendpoints" => ids_in_list(
            body,
            "/properties/privateLinkServiceConnections",
            "/properties/privateLinkServiceId",
        ),
        "microsoft.network/privateendpoints/privatednszonegroups" => ids_in_list(
            body,
            "/properties/privateDnsZoneConfigs",
            "/properties/privateDnsZoneId",
        ),
        "microsoft.network/virtualhubs/bgpconnections" => m
            .route_servers
            .values()
            .filter(|rs| lower(&rs.id) == top_level(lower_id))
            .map(|rs| lower(&rs.ip_configuration_id()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The top-level IDs that the entries of the list at `list` give as bare
/// strings at `key`.
fn ids_in_list(body: &Value, list: &str, key: &str) -> Vec<String> {
    body.pointer(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer(key).and_then(Value::as_str))
        .map(top_level)
        .collect()
}

/// Deploys an exported (or any) template into `group` of `m`: the model
/// changes, validated together, as the deployment path of the ARM endpoint
/// makes them. `parameters` as a deployment's `properties.parameters`.
pub fn deploy(
    m: &Model,
    group: &ResourceId,
    template: &Value,
    parameters: &Value,
) -> Result<Vec<crate::model::Change>, crate::model::AzureError> {
    let body = json!({ "properties": { "template": template, "parameters": parameters, "mode": "Incremental" } });
    super::template::changes(m, group, &body, None).map(|(changes, _)| changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    const GROUP: &str = "resourceGroups:\n  - {name: gw-rg, location: westeurope}\n";

    /// VPN gateways, a local network gateway, IPsec and Vnet2Vnet
    /// connections, and a peering that uses the remote gateway.
    const GATEWAYS: &str = "
virtualNetworks:
  - name: hub
    addressPrefixes: [10.10.0.0/16]
    subnets: [{name: GatewaySubnet, addressPrefix: 10.10.255.0/27}]
    peerings: [{name: hub-to-spoke, remoteVirtualNetwork: spoke, allowGatewayTransit: true}]
  - name: spoke
    addressPrefixes: [10.11.0.0/16]
    subnets: [{name: default, addressPrefix: 10.11.1.0/24}]
    peerings: [{name: spoke-to-hub, remoteVirtualNetwork: hub, useRemoteGateways: true}]
  - name: branch
    addressPrefixes: [10.13.0.0/16]
    subnets: [{name: GatewaySubnet, addressPrefix: 10.13.255.0/27}]
virtualNetworkGateways:
  - {name: hub-gw, vnet: hub, gatewayType: Vpn, sku: VpnGw1}
  - {name: branch-gw, vnet: branch, gatewayType: Vpn, sku: VpnGw2}
localNetworkGateways:
  - {name: site, gatewayIpAddress: 203.0.113.250, localAddressPrefixes: [192.168.10.0/24]}
connections:
  - {name: to-site, vnetGateway1: hub-gw, localGateway2: site, sharedKey: k1}
  - {name: hub-to-branch, vnetGateway1: hub-gw, vnetGateway2: branch-gw, sharedKey: k2}
  - {name: branch-to-hub, vnetGateway1: branch-gw, vnetGateway2: hub-gw, sharedKey: k2}
";

    /// A Route Server with two BGP connections, and a spoke whose peering
    /// uses it as its remote gateway.
    const ROUTE_SERVER: &str = "
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets: [{name: RouteServerSubnet, addressPrefix: 10.0.1.0/27}, {name: nva, addressPrefix: 10.0.2.0/24}]
    peerings: [{name: hub-to-spoke, remoteVirtualNetwork: spoke, allowGatewayTransit: true}]
  - name: spoke
    addressPrefixes: [10.1.0.0/16]
    subnets: [{name: default, addressPrefix: 10.1.1.0/24}]
    peerings: [{name: spoke-to-hub, remoteVirtualNetwork: hub, useRemoteGateways: true}]
routeServers:
  - name: rs
    vnet: hub
    subnet: RouteServerSubnet
    allowBranchToBranchTraffic: true
    peerings: [{name: nva1, peerIp: 10.0.2.4, peerAsn: 65001}, {name: nva2, peerIp: 10.0.2.5, peerAsn: 65002}]
";

    /// Lab 05's load balancers and caches (its private endpoint is not
    /// here): a Standard and a Basic internal load balancer with a probe, a
    /// rule and two backends each, an injected Premium cache with a static
    /// IP and a cache outside any VNet.
    const BALANCERS: &str = "
virtualNetworks:
  - name: VNet2
    addressPrefixes: [10.2.0.0/16]
    subnets: [{name: backend, addressPrefix: 10.2.0.0/24}, {name: redis, addressPrefix: 10.2.1.0/24}]
virtualMachines:
  - {name: backend1, vnet: VNet2, subnet: backend, adminPassword: Learn-Peering-2026!}
  - {name: backend2, vnet: VNet2, subnet: backend, adminPassword: Learn-Peering-2026!}
  - {name: basic-backend1, vnet: VNet2, subnet: backend, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
  - {name: basic-backend2, vnet: VNet2, subnet: backend, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
loadBalancers:
  - name: std-ilb
    sku: Standard
    vnet: VNet2
    subnet: backend
    privateIpAddress: 10.2.0.100
    backends: [backend1, backend2]
    probes: [{name: ssh-probe, protocol: Tcp, port: 22, interval: 5}]
    rules: [{name: ssh-2222, protocol: Tcp, frontendPort: 2222, backendPort: 22, probe: ssh-probe}]
  - name: basic-ilb
    sku: Basic
    vnet: VNet2
    subnet: backend
    privateIpAddress: 10.2.0.101
    backends: [basic-backend1, basic-backend2]
    probes: [{name: http-probe, protocol: Http, port: 80, path: /health, threshold: 3}]
    rules: [{name: web, protocol: Tcp, frontendPort: 80, backendPort: 80, probe: http-probe}]
redisCaches:
  - {name: lb-lab-cache, sku: Premium, vmSize: P1, vnet: VNet2, subnet: redis, staticIp: 10.2.1.10, enableNonSslPort: true}
  - {name: lb-lab-cache-pl, sku: Standard, vmSize: C1}
";

    /// A cache behind a private endpoint with a zone group, its privatelink
    /// zone linked to the VNet, and a zone of hand-made record sets linked
    /// with auto-registration.
    const PRIVATE_DNS: &str = "
virtualNetworks:
  - name: app
    addressPrefixes: [10.10.0.0/16]
    subnets: [{name: apps, addressPrefix: 10.10.1.0/24}]
redisCaches:
  - {name: cache1, location: westeurope, sku: Standard, vmSize: C1}
privateEndpoints:
  - name: cache-pe
    vnet: app
    subnet: apps
    redisCache: cache1
    privateDnsZoneGroups:
      - {name: default, zoneConfigs: [{name: redis, privateDnsZone: privatelink.redis.cache.windows.net}]}
privateDnsZones:
  - name: privatelink.redis.cache.windows.net
    links: [{name: app-link, vnet: app}]
  - name: corp.example
    links: [{name: app-reg, vnet: app, registrationEnabled: true}]
    records:
      - {name: db, type: A, ttl: 300, values: [10.10.1.50, 10.10.1.51]}
      - {name: www, type: CNAME, values: [db.corp.example]}
      - {name: note, type: TXT, values: [hello]}
";

    #[test]
    fn private_endpoints_zone_groups_zones_links_and_record_sets_round_trip() {
        let original = Topology::parse(&format!("{GROUP}{PRIVATE_DNS}"))
            .unwrap()
            .build()
            .unwrap();
        let group = original.resource_groups.keys().next().unwrap().clone();
        let exported = template(&original, &group);
        let resources = exported["resources"].as_array().unwrap();
        let types: Vec<&str> = resources.iter().filter_map(|r| r["type"].as_str()).collect();
        for t in [
            "Microsoft.Network/privateEndpoints",
            "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
            "Microsoft.Network/privateDnsZones",
            "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
            "Microsoft.Network/privateDnsZones/A",
            "Microsoft.Network/privateDnsZones/CNAME",
            "Microsoft.Network/privateDnsZones/TXT",
        ] {
            assert!(types.contains(&t), "{t} missing from {types:?}");
        }
        // Only the hand-made A set: no SOA, nor the zone group's record.
        assert_eq!(types.iter().filter(|t| t.ends_with("/A")).count(), 1, "{types:?}");
        assert!(!types.iter().any(|t| t.ends_with("/SOA")), "{types:?}");
        let resources = exported["resources"].as_array().unwrap().clone();
        let of = |name: &str| {
            resources
                .iter()
                .find(|r| export_params::literal_name(&exported, r["name"].as_str().unwrap()) == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        let depends = |name: &str| format!("{}", of(name)["dependsOn"]).to_ascii_lowercase();
        // Azure: a link needs its zone and VNet, a record set its zone, a
        // zone group its endpoint and zones, an endpoint its subnet and target.
        let link = depends("privatelink.redis.cache.windows.net/app-link");
        assert!(
            link.contains("privatednszones") && link.contains("virtualnetworks"),
            "{link}"
        );
        assert!(depends("corp.example/db").contains("privatednszones"));
        let zg = depends("cache-pe/default");
        assert!(
            zg.contains("privateendpoints") && zg.contains("privatednszones"),
            "{zg}"
        );
        let pe = depends("cache-pe");
        assert!(
            pe.contains("virtualnetworks") && pe.contains("microsoft.cache/redis"),
            "{pe}"
        );
        assert!(of("cache-pe")["properties"].get("networkInterfaces").is_none());

        let mut rebuilt = Topology::parse(GROUP).unwrap().build().unwrap();
        let changes = deploy(&rebuilt, &group, &exported, &json!({})).unwrap();
        rebuilt.apply_all(changes).unwrap();
        assert_eq!(rebuilt.private_dns_zones, original.private_dns_zones);
        assert_eq!(rebuilt.private_endpoints, original.private_endpoints);
        assert_eq!(template(&rebuilt, &group), exported);
    }

    /// The exported resource whose name, its parameters filled in, is `name`.
    fn named<'a>(exported: &'a Value, name: &str) -> &'a Value {
        exported["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| export_params::literal_name(exported, r["name"].as_str().unwrap()) == name)
            .unwrap_or_else(|| panic!("no resource {name} in {exported}"))
    }

    /// `yaml`'s model exported, deployed into an empty lab with the same
    /// group, and exported again: the same template, the same resources.
    fn round_trip(yaml: &str) -> (Value, Model) {
        let original = Topology::parse(&format!("{GROUP}{yaml}")).unwrap().build().unwrap();
        let group = original.resource_groups.keys().next().unwrap().clone();
        let exported = template(&original, &group);
        let mut rebuilt = Topology::parse(GROUP).unwrap().build().unwrap();
        // The VMs' passwords (every topology here gives the same one).
        let passwords: Map<String, Value> = exported["parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.ends_with("_adminPassword"))
            .map(|(k, _)| (k.clone(), json!({ "value": "Learn-Peering-2026!" })))
            .collect();
        let changes = deploy(&rebuilt, &group, &exported, &Value::Object(passwords)).unwrap();
        rebuilt.apply_all(changes).unwrap();
        assert_eq!(template(&rebuilt, &group), exported);
        (exported, rebuilt)
    }

    #[test]
    fn gateways_local_gateways_and_connections_round_trip() {
        let (exported, rebuilt) = round_trip(GATEWAYS);
        assert_eq!(rebuilt.virtual_network_gateways.len(), 2);
        assert_eq!(rebuilt.local_network_gateways.len(), 1);
        assert_eq!(rebuilt.connections.len(), 3);
        assert!(rebuilt.connections.values().all(|c| rebuilt.connection_connected(c)));
        let of = |name: &str| named(&exported, name);
        // Azure: a gateway's SKU is a property; the connection's status is read-only.
        assert_eq!(of("branch-gw")["properties"]["sku"]["name"], "VpnGw2");
        assert!(of("branch-gw").get("sku").is_none());
        assert!(of("to-site")["properties"].get("connectionStatus").is_none());
        // The spoke's peering uses the hub's gateway: it waits for it.
        let depends = of("spoke/spoke-to-hub")["dependsOn"].as_array().unwrap();
        assert!(
            depends.iter().any(|d| d
                .as_str()
                .unwrap()
                .contains("parameters('virtualNetworkGateways_hub_gw_name')")),
            "{depends:?}"
        );
    }

    /// Azure's export names nothing literally: the same template deploys
    /// into a group of another name and every reference follows it there.
    #[test]
    fn an_export_deploys_into_a_group_of_another_name() {
        let original = Topology::parse(&format!("{GROUP}{GATEWAYS}")).unwrap().build().unwrap();
        let group = original.resource_groups.keys().next().unwrap().clone();
        let exported = template(&original, &group);
        let other = "resourceGroups:\n  - {name: copy-rg, location: westeurope}\n";
        let mut copy = Topology::parse(other).unwrap().build().unwrap();
        let copy_group = copy.resource_groups.keys().next().unwrap().clone();
        let changes = deploy(&copy, &copy_group, &exported, &json!({})).unwrap();
        copy.apply_all(changes).unwrap();
        assert_eq!(copy.connections.len(), 3);
        assert!(copy.connections.values().all(|c| copy.connection_connected(c)));
        for g in copy.virtual_network_gateways.values() {
            assert_eq!(
                g.virtual_network.resource_group_name(),
                "copy-rg",
                "{:?}",
                g.virtual_network
            );
        }
        let text = exported.to_string().to_ascii_lowercase();
        assert!(
            !text.contains("/resourcegroups/gw-rg/"),
            "a literal ID is left: {exported}"
        );
    }

    #[test]
    fn load_balancers_backend_pools_and_caches_round_trip() {
        let (exported, rebuilt) = round_trip(BALANCERS);
        assert_eq!(rebuilt.load_balancers.len(), 2);
        let std = rebuilt.load_balancers.values().find(|lb| lb.name == "std-ilb").unwrap();
        assert_eq!(
            std.frontend_ip_configurations[0].private_ip_address.to_string(),
            "10.2.0.100"
        );
        assert_eq!(std.probes[0].interval_in_seconds, 5);
        let members = |lb: &str| {
            rebuilt
                .network_interfaces
                .values()
                .filter(|n| {
                    n.load_balancer_backend_address_pools
                        .iter()
                        .any(|p| p.as_str().contains(lb))
                })
                .count()
        };
        assert_eq!((members("/std-ilb/"), members("/basic-ilb/")), (2, 2));
        let cache = rebuilt
            .redis_caches
            .values()
            .find(|c| c.name == "lb-lab-cache")
            .unwrap();
        assert_eq!(cache.static_ip.map(|ip| ip.to_string()).as_deref(), Some("10.2.1.10"));
        assert_eq!((cache.vm_size.as_str(), cache.enable_non_ssl_port), ("P1", true));
        let of = |name: &str| named(&exported, name);
        let depends_on = |name: &str, parameter: &str| {
            of(name)["dependsOn"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d.as_str().unwrap().contains(&format!("parameters('{parameter}')")))
        };
        // A backend's NIC waits for its load balancer; the injected cache for its VNet.
        assert!(depends_on("backend1VMNic", "loadBalancers_std_ilb_name"));
        assert!(depends_on("lb-lab-cache", "virtualNetworks_VNet2_name"));
        // Azure: a cache's SKU is a property; a pool's members are the NICs' to say.
        assert_eq!(of("lb-lab-cache")["properties"]["sku"]["name"], "Premium");
        assert!(
            of("std-ilb")["properties"]["backendAddressPools"][0]
                .get("properties")
                .is_none_or(|p| p.get("backendIPConfigurations").is_none())
        );
    }

    #[test]
    fn route_servers_and_their_bgp_connections_round_trip() {
        let (exported, rebuilt) = round_trip(ROUTE_SERVER);
        let rs = rebuilt.route_servers.values().next().unwrap();
        assert!(rs.allow_branch_to_branch_traffic);
        assert_eq!(rs.peerings.len(), 2);
        let of = |name: &str| named(&exported, name);
        let depends = |name: &str| of(name)["dependsOn"].as_array().unwrap().clone();
        // Azure: az puts the hub, then its IP configuration, then each BGP connection.
        assert!(
            depends("rs/Default")
                .iter()
                .any(|d| d.as_str().unwrap().contains("parameters('virtualHubs_rs_name'))"))
        );
        assert!(
            depends("rs/nva1")
                .iter()
                .any(|d| d.as_str().unwrap().ends_with("'virtualHubs_rs_name'), 'default')]"))
        );
        assert!(
            depends("spoke/spoke-to-hub")
                .iter()
                .any(|d| d.as_str().unwrap().ends_with("'virtualHubs_rs_name'), 'default')]"))
        );
        assert!(of("rs/nva1")["properties"].get("connectionState").is_none());
    }
}
