//! Resources as ARM returns them and az prints them: the same keys,
//! nesting and spellings. `resourceGroup` is added afterwards to every
//! object with an `id`, as az does ([`add_resource_groups`]).

use serde_json::{Value, json};

use crate::model::{
    AZURE_ASN, AddressPrefix, Connection, ConnectionType, GATEWAY_SUBNET, GatewayType, LbBackendPool, LbFrontend,
    LbProbe, LbRule, LoadBalancer, LocalNetworkGateway, Model, NetworkInterface, NetworkSecurityGroup, Peering,
    PrivateEndpoint, PublicIpAddress, REDIS_PORT, REDIS_SSL_PORT, RedisCache, RedisSku, ResourceGroup, ResourceId,
    Route, RouteServer, RouteServerPeering, RouteTable, SecurityRule, Subnet, VirtualMachine, VirtualNetwork,
    VirtualNetworkGateway, default_security_rules,
};

/// A GUID that stays the same for the same resource (resourceGuid, vmId, etag).
pub fn guid(id: &ResourceId, salt: &str) -> String {
    id.stable_guid(salt)
}

fn etag(id: &ResourceId) -> String {
    format!("W/\"{}\"", guid(id, "etag"))
}

fn reference(id: &ResourceId) -> Value {
    json!({ "id": id.as_str() })
}

/// A MAC address in Azure's OUI, the same for the same NIC.
pub fn mac_address(nic: &ResourceId) -> String {
    let m = nic.stable_mac();
    let hex: Vec<String> = m.iter().map(|b| format!("{b:02X}")).collect();
    hex.join("-")
}

pub fn group(g: &ResourceGroup) -> Value {
    json!({
        "id": g.id.as_str(),
        "location": g.location,
        "managedBy": null,
        "name": g.name,
        "properties": { "provisioningState": "Succeeded" },
        "tags": null,
        "type": "Microsoft.Resources/resourceGroups",
    })
}

pub fn vnet(m: &Model, v: &VirtualNetwork) -> Value {
    json!({
        "addressSpace": { "addressPrefixes": v.address_prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>() },
        "dhcpOptions": { "dnsServers": v.dns_servers.iter().map(|ip| ip.to_string()).collect::<Vec<_>>() },
        "enableDdosProtection": false,
        "etag": etag(&v.id),
        "id": v.id.as_str(),
        "location": v.location,
        "name": v.name,
        "privateEndpointVNetPolicies": "Disabled",
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&v.id, "resource"),
        "subnets": v.subnets.iter().map(|s| subnet(m, s)).collect::<Vec<_>>(),
        "type": "Microsoft.Network/virtualNetworks",
        "virtualNetworkPeerings": v.peerings.iter().map(|p| peering(m, v, p)).collect::<Vec<_>>(),
    })
}

pub fn subnet(m: &Model, s: &Subnet) -> Value {
    let mut doc = json!({
        "addressPrefix": s.address_prefix.to_string(),
        "defaultOutboundAccess": s.default_outbound_access,
        "delegations": [],
        "etag": etag(&s.id),
        "id": s.id.as_str(),
        "name": s.name,
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
        "provisioningState": "Succeeded",
        "type": "Microsoft.Network/virtualNetworks/subnets",
    });
    let configs: Vec<Value> = m
        .network_interfaces
        .values()
        .filter(|n| n.subnet == s.id)
        .map(|n| reference(&n.ip_configuration_id()))
        .collect();
    if !configs.is_empty() {
        doc["ipConfigurations"] = Value::Array(configs);
    }
    if let Some(nsg) = &s.network_security_group {
        doc["networkSecurityGroup"] = reference(nsg);
    }
    if let Some(rt) = &s.route_table {
        doc["routeTable"] = reference(rt);
    }
    doc
}

pub fn peering(m: &Model, v: &VirtualNetwork, p: &Peering) -> Value {
    let space = json!({ "addressPrefixes": p.remote_address_space.iter().map(|a| a.to_string()).collect::<Vec<_>>() });
    json!({
        "allowForwardedTraffic": p.allow_forwarded_traffic,
        "allowGatewayTransit": p.allow_gateway_transit,
        "allowVirtualNetworkAccess": p.allow_virtual_network_access,
        "doNotVerifyRemoteGateways": false,
        "etag": etag(&p.id),
        "id": p.id.as_str(),
        "name": p.name,
        "peerCompleteVnets": true,
        "peeringState": m.peering_state(&v.id, p).as_str(),
        "peeringSyncLevel": m.peering_sync_level(&v.id, p).as_str(),
        "provisioningState": "Succeeded",
        "remoteAddressSpace": space,
        "remoteVirtualNetwork": reference(&p.remote_virtual_network),
        "remoteVirtualNetworkAddressSpace": space,
        "resourceGuid": guid(&p.id, "resource"),
        "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "useRemoteGateways": p.use_remote_gateways,
    })
}

/// References to the subnets `uses` picks.
fn subnet_refs(m: &Model, uses: impl Fn(&Subnet) -> bool) -> Vec<Value> {
    m.virtual_networks
        .values()
        .flat_map(|v| &v.subnets)
        .filter(|s| uses(s))
        .map(|s| reference(&s.id))
        .collect()
}

pub fn route_table(m: &Model, rt: &RouteTable) -> Value {
    let subnets = subnet_refs(m, |s| s.route_table.as_ref() == Some(&rt.id));
    let mut doc = json!({
        "disableBgpRoutePropagation": rt.disable_bgp_route_propagation,
        "etag": etag(&rt.id),
        "id": rt.id.as_str(),
        "location": rt.location,
        "name": rt.name,
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&rt.id, "resource"),
        "routes": rt.routes.iter().map(|r| route(rt, r)).collect::<Vec<_>>(),
        "type": "Microsoft.Network/routeTables",
    });
    if !subnets.is_empty() {
        doc["subnets"] = Value::Array(subnets);
    }
    doc
}

pub fn route(rt: &RouteTable, r: &Route) -> Value {
    let id = rt.id.child("routes", &r.name);
    let mut doc = json!({
        "addressPrefix": r.address_prefix.to_string(),
        "etag": etag(&id),
        "hasBgpOverride": false,
        "id": id.as_str(),
        "name": r.name,
        "nextHopType": r.next_hop_type.as_str(),
        "provisioningState": "Succeeded",
        "type": "Microsoft.Network/routeTables/routes",
    });
    if let Some(ip) = r.next_hop_ip_address {
        doc["nextHopIpAddress"] = json!(ip.to_string());
    }
    doc
}

pub fn nsg(m: &Model, n: &NetworkSecurityGroup) -> Value {
    let nics: Vec<Value> = m
        .network_interfaces
        .values()
        .filter(|x| x.network_security_group.as_ref() == Some(&n.id))
        .map(|x| reference(&x.id))
        .collect();
    let subnets = subnet_refs(m, |s| s.network_security_group.as_ref() == Some(&n.id));
    let mut doc = json!({
        "defaultSecurityRules": default_security_rules().iter().map(|r| security_rule(&n.id, r, true)).collect::<Vec<_>>(),
        "etag": etag(&n.id),
        "id": n.id.as_str(),
        "location": n.location,
        "name": n.name,
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&n.id, "resource"),
        "securityRules": n.security_rules.iter().map(|r| security_rule(&n.id, r, false)).collect::<Vec<_>>(),
        "type": "Microsoft.Network/networkSecurityGroups",
    });
    if !nics.is_empty() {
        doc["networkInterfaces"] = Value::Array(nics);
    }
    if !subnets.is_empty() {
        doc["subnets"] = Value::Array(subnets);
    }
    doc
}

/// One value goes to ARM's singular field and the plural list stays
/// empty; several go to the list (how az sends them, §9.6).
fn one_or_many(doc: &mut Value, singular: &str, plural: &str, values: Vec<String>) {
    if values.len() == 1 {
        doc[singular] = json!(values[0]);
        doc[plural] = json!([]);
    } else {
        doc[plural] = json!(values);
    }
}

pub fn security_rule(nsg: &ResourceId, r: &SecurityRule, default: bool) -> Value {
    let id = nsg.child(
        if default {
            "defaultSecurityRules"
        } else {
            "securityRules"
        },
        &r.name,
    );
    let mut doc = json!({
        "access": format!("{:?}", r.access),
        "etag": etag(&id),
        "id": id.as_str(),
        "name": r.name,
        "priority": r.priority,
        "protocol": serde_json::to_value(r.protocol).unwrap_or(Value::Null),
        "provisioningState": "Succeeded",
        "direction": format!("{:?}", r.direction),
        "type": format!("Microsoft.Network/networkSecurityGroups/{}", if default { "defaultSecurityRules" } else { "securityRules" }),
    });
    if let Some(d) = &r.description {
        doc["description"] = json!(d);
    }
    one_or_many(
        &mut doc,
        "sourceAddressPrefix",
        "sourceAddressPrefixes",
        r.source_address_prefixes.iter().map(AddressPrefix::to_string).collect(),
    );
    one_or_many(
        &mut doc,
        "sourcePortRange",
        "sourcePortRanges",
        r.source_port_ranges.iter().map(|p| p.to_string()).collect(),
    );
    one_or_many(
        &mut doc,
        "destinationAddressPrefix",
        "destinationAddressPrefixes",
        r.destination_address_prefixes
            .iter()
            .map(AddressPrefix::to_string)
            .collect(),
    );
    one_or_many(
        &mut doc,
        "destinationPortRange",
        "destinationPortRanges",
        r.destination_port_ranges.iter().map(|p| p.to_string()).collect(),
    );
    doc
}

pub fn public_ip(m: &Model, p: &PublicIpAddress) -> Value {
    let mut doc = json!({
        "ddosSettings": { "protectionMode": "VirtualNetworkInherited" },
        "etag": etag(&p.id),
        "id": p.id.as_str(),
        "idleTimeoutInMinutes": 4,
        "ipAddress": p.ip_address.to_string(),
        "ipTags": [],
        "location": p.location,
        "name": p.name,
        "provisioningState": "Succeeded",
        "publicIPAddressVersion": "IPv4",
        "publicIPAllocationMethod": "Static",
        "resourceGuid": guid(&p.id, "resource"),
        "sku": { "name": format!("{:?}", p.sku), "tier": "Regional" },
        "type": "Microsoft.Network/publicIPAddresses",
    });
    if let Some(holder) = m.public_ip_holder(&p.id) {
        doc["ipConfiguration"] = reference(&holder);
    }
    doc
}

pub fn nic(m: &Model, n: &NetworkInterface) -> Value {
    let config_id = n.ip_configuration_id();
    let mut config = json!({
        "etag": etag(&config_id),
        "id": config_id.as_str(),
        "name": config_id.name(),
        "primary": true,
        "privateIPAddress": n.private_ip_address.to_string(),
        "privateIPAddressVersion": "IPv4",
        "privateIPAllocationMethod": format!("{:?}", n.private_ip_allocation_method),
        "provisioningState": "Succeeded",
        "subnet": reference(&n.subnet),
        "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
    });
    if let Some(p) = &n.public_ip_address {
        config["publicIPAddress"] = reference(p);
    }
    if !n.load_balancer_backend_address_pools.is_empty() {
        config["loadBalancerBackendAddressPools"] =
            Value::Array(n.load_balancer_backend_address_pools.iter().map(reference).collect());
    }
    let mut doc = json!({
        "auxiliaryMode": "None",
        "auxiliarySku": "None",
        "disableTcpStateTracking": false,
        // Azure: appliedDnsServers are the servers DHCP gives (the NIC's,
        // else the VNet's; empty = Azure-provided); the suffix is the VNet's
        // (NetworkInterfaceDnsSettings reference, azure-semantics-2 §1.2).
        "dnsSettings": {
            "appliedDnsServers": m.applied_dns_servers(n).iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
            "dnsServers": n.dns_servers_setting(),
            "internalDomainNameSuffix": m.internal_domain_name_suffix_of(n),
        },
        "enableAcceleratedNetworking": false,
        "enableIPForwarding": n.enable_ip_forwarding,
        "etag": etag(&n.id),
        "hostedWorkloads": [],
        "id": n.id.as_str(),
        "ipConfigurations": [config],
        "location": n.location,
        "macAddress": mac_address(&n.id),
        "name": n.name,
        "nicType": "Standard",
        "primary": n.virtual_machine.is_some(),
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&n.id, "resource"),
        "tapConfigurations": [],
        "type": "Microsoft.Network/networkInterfaces",
        "vnetEncryptionSupported": false,
    });
    if let Some(nsg) = &n.network_security_group {
        doc["networkSecurityGroup"] = reference(nsg);
    }
    if let Some(vm) = &n.virtual_machine {
        doc["virtualMachine"] = reference(vm);
    }
    doc
}

/// `publisher:offer:sku:version` of az's image aliases (az vm image list).
pub const IMAGE_ALIASES: &[(&str, &str)] = &[
    ("Ubuntu2404", "Canonical:ubuntu-24_04-lts:server:latest"),
    (
        "Ubuntu2204",
        "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
    ),
    ("Debian12", "Debian:debian-12:12-gen2:latest"),
    ("Debian11", "Debian:debian-11:11-backports-gen2:latest"),
    ("RHELRaw8LVMGen2", "RedHat:RHEL:8-lvm-gen2:latest"),
    ("SuseSles15SP5", "SUSE:sles-15-sp5:gen2:latest"),
    ("CentOS85Gen2", "OpenLogic:CentOS:8_5-gen2:latest"),
    ("OpenSuseLeap154Gen2", "SUSE:openSUSE-leap-15-4:gen2:latest"),
    (
        "FlatcarLinuxFreeGen2",
        "kinvolk:flatcar-container-linux-free:stable-gen2:latest",
    ),
    ("AlmaLinux8", "almalinux:almalinux-x86_64:8-gen2:latest"),
    // azure-cli 2.91.0 vm/_alias.py. vnetlab runs every VM as the same
    // Linux namespace; the image only picks az's NSG rule (RDP) and osType.
    (
        "Win2022Datacenter",
        "MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2:latest",
    ),
    (
        "Win2022AzureEditionCore",
        "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core:latest",
    ),
    (
        "Win2019Datacenter",
        "MicrosoftWindowsServer:WindowsServer:2019-datacenter-gensecond:latest",
    ),
    (
        "Win2016Datacenter",
        "MicrosoftWindowsServer:WindowsServer:2016-datacenter-gensecond:latest",
    ),
    (
        "Win2012R2Datacenter",
        "MicrosoftWindowsServer:WindowsServer:2012-R2-Datacenter:latest",
    ),
    (
        "Win2012Datacenter",
        "MicrosoftWindowsServer:WindowsServer:2012-Datacenter:latest",
    ),
];

/// Aliases that published exercises still use but az no longer knows
/// (az 2.91's alias list, vm/_alias.py, lacks them; az refuses them with
/// "Invalid image"), each with the current alias az's users write instead.
/// vnetlab takes them, with a warning: the Learn peering exercise, as
/// published, says `--image UbuntuLTS`.
pub const RETIRED_IMAGE_ALIASES: &[(&str, &str)] = &[
    ("UbuntuLTS", "Ubuntu2204"),
    ("Ubuntu2004", "Ubuntu2204"),
    ("Debian", "Debian11"),
    ("CentOS", "CentOS85Gen2"),
    ("openSUSE-Leap", "OpenSuseLeap154Gen2"),
    ("RHEL", "RHELRaw8LVMGen2"),
    ("SLES", "SuseSles15SP5"),
    ("CoreOS", "FlatcarLinuxFreeGen2"),
    ("Win2008R2SP1", "Win2022Datacenter"),
];

/// The current alias for a retired one (any case), as az users now write it.
pub fn current_alias(image: &str) -> Option<&'static str> {
    RETIRED_IMAGE_ALIASES
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(image))
        .map(|(_, new)| *new)
}

/// The URN an image alias or URN stands for, or `None` for an unknown image.
pub fn image_urn(image: &str) -> Option<String> {
    if let Some((_, urn)) = IMAGE_ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(image)) {
        return Some(urn.to_string());
    }
    (image.split(':').count() == 4 && image.split(':').all(|p| !p.is_empty())).then(|| image.to_string())
}

pub fn vm(m: &Model, v: &VirtualMachine, details: bool) -> Value {
    let urn = image_urn(&v.image).unwrap_or_else(|| v.image.clone());
    let parts: Vec<&str> = urn.split(':').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("");
    let password_auth = v.admin_password.is_some();
    let ssh = if v.ssh_public_keys.is_empty() {
        Value::Null
    } else {
        json!({ "publicKeys": v.ssh_public_keys.iter().map(|k| json!({ "keyData": k, "path": format!("/home/{}/.ssh/authorized_keys", v.admin_username) })).collect::<Vec<_>>() })
    };
    let nics: Vec<Value> = v
        .network_interfaces
        .iter()
        .enumerate()
        .map(|(i, id)| json!({ "id": id.as_str(), "primary": i == 0 }))
        .collect();
    let mut doc = json!({
        "hardwareProfile": { "vmSize": v.size },
        "id": v.id.as_str(),
        "location": v.location,
        "name": v.name,
        "networkProfile": { "networkInterfaces": nics },
        "osProfile": {
            "adminPassword": null,
            "adminUsername": v.admin_username,
            "allowExtensionOperations": true,
            "computerName": v.name,
            "linuxConfiguration": { "disablePasswordAuthentication": !password_auth, "provisionVMAgent": true, "ssh": ssh },
            "requireGuestProvisionSignal": true,
            "secrets": [],
        },
        "provisioningState": "Succeeded",
        "storageProfile": {
            "dataDisks": [],
            "imageReference": { "exactVersion": null, "offer": part(1), "publisher": part(0), "sku": part(2), "version": part(3) },
            "osDisk": { "caching": "ReadWrite", "createOption": "FromImage", "deleteOption": "Detach", "diskSizeGb": 30, "name": format!("{}_OsDisk_1_{}", v.name, guid(&v.id, "disk").replace('-', "")), "osType": if crate::model::vm_create::is_windows_image(&v.image) { "Windows" } else { "Linux" } },
        },
        "type": "Microsoft.Compute/virtualMachines",
        "vmId": guid(&v.id, "vmId"),
    });
    if details {
        let d = vm_details(m, v);
        for k in ["fqdns", "macAddresses", "powerState", "privateIps", "publicIps"] {
            doc[k] = d[k].clone();
        }
    }
    doc
}

/// What `-d/--show-details` adds: comma-joined strings, as az prints them.
pub fn vm_details(m: &Model, v: &VirtualMachine) -> Value {
    let nics: Vec<&NetworkInterface> = v
        .network_interfaces
        .iter()
        .filter_map(|id| m.network_interfaces.get(id))
        .collect();
    let private: Vec<String> = nics.iter().map(|n| n.private_ip_address.to_string()).collect();
    let public: Vec<String> = nics
        .iter()
        .filter_map(|n| n.public_ip_address.as_ref())
        .filter_map(|p| m.public_ip_addresses.get(p))
        .map(|p| p.ip_address.to_string())
        .collect();
    let macs: Vec<String> = nics.iter().map(|n| mac_address(&n.id)).collect();
    json!({
        "fqdns": "",
        "macAddresses": macs.join(","),
        "powerState": v.power_state.display(),
        "privateIps": private.join(","),
        "publicIps": public.join(","),
    })
}

/// az adds `resourceGroup`, parsed from the ID, to every object that has
/// an `id` (azure-cli core/commands `_add_resource_group`).
// Azure: azure-cli 2.91 transform.py `_parse_id` reads parts[4] and
// parts[8] of the ID split on '/', so an ID with fewer than nine parts (a
// resource group's own, as `az group show` prints) gets no resourceGroup;
// the differential test (scripts/check-az-diff) found it.
pub fn add_resource_groups(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let rg = map
                .get("id")
                .and_then(Value::as_str)
                .map(|id| id.split('/').collect::<Vec<_>>())
                .filter(|parts| parts.len() > 8 && parts[3].eq_ignore_ascii_case("resourcegroups"))
                .map(|parts| parts[4].to_string())
                .filter(|rg| !rg.is_empty());
            if let Some(rg) = rg
                && !map.keys().any(|k| k.eq_ignore_ascii_case("resourceGroup"))
            {
                map.insert("resourceGroup".into(), Value::String(rg));
            }
            for (_, child) in map.iter_mut() {
                add_resource_groups(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_resource_groups),
        _ => {}
    }
}

/// Puts each resource's tags into its rendered document: every object with
/// an `id`, a `name` and a `type` whose resource carries tags in the model.
/// References (`{ "id": … }`) and child resources, which have none, stay as
/// they are; a resource without tags keeps what its renderer gives (no
/// `tags` for most, `"tags": null` for a group, as az prints them).
// Azure: the `tags` of the ARM resource envelope, which az prints as the
// SDK returns it (a sorted name → value object).
pub fn add_tags(m: &Model, v: &mut Value) {
    if m.tags.is_empty() {
        return;
    }
    match v {
        Value::Object(map) => {
            let tags = map
                .get("id")
                .and_then(Value::as_str)
                .filter(|_| map.contains_key("name") && map.contains_key("type"))
                .and_then(ResourceId::parse)
                .and_then(|id| m.tags_of(&id));
            if let Some(t) = tags {
                map.insert("tags".into(), json!(t));
            }
            for (_, child) in map.iter_mut() {
                add_tags(m, child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| add_tags(m, i)),
        _ => {}
    }
}

/// `az network nic show-effective-route-table` for a NIC in `subnet`.
pub fn effective_route_table(m: &Model, subnet: &ResourceId) -> Value {
    let disable_bgp = m
        .subnet(subnet)
        .and_then(|(_, s)| s.route_table.as_ref())
        .and_then(|rt| m.route_tables.get(rt))
        .is_some_and(|rt| rt.disable_bgp_route_propagation);
    let value: Vec<Value> = crate::routing::effective_routes(m, subnet)
        .iter()
        .map(|r| {
            json!({
                "addressPrefix": [r.address_prefix.to_string()],
                "disableBgpRoutePropagation": disable_bgp,
                "name": r.name,
                "nextHopIpAddress": r.next_hop_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                "nextHopType": r.next_hop_type.as_str(),
                "source": format!("{:?}", r.source),
                "state": format!("{:?}", r.state),
            })
        })
        .collect();
    json!({ "nextLink": null, "value": value })
}

/// az's transform_effective_route_table: one row per prefix (§9.4).
pub fn effective_route_rows(v: &Value) -> Value {
    let join = |a: &Value| {
        a.as_array()
            .map(|x| x.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    let rows: Vec<Value> = v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r["addressPrefix"].as_array().cloned().unwrap_or_default().into_iter().map(move |prefix| {
                json!({ "Source": r["source"], "State": r["state"], "Address Prefix": prefix, "Next Hop Type": r["nextHopType"], "Next Hop IP": join(&r["nextHopIpAddress"]) })
            })
        })
        .collect();
    Value::Array(rows)
}

/// The gateway's IP configurations: one per instance, each with its
/// public IP (a topology-built gateway may have none).
fn gateway_ip_configurations(g: &VirtualNetworkGateway) -> Vec<Value> {
    let subnet = g.virtual_network.child("subnets", GATEWAY_SUBNET);
    let count = if g.active_active { 2 } else { 1 };
    (0..count)
        .map(|i| {
            let id = g.ip_configuration_id(i);
            let mut config = json!({
                "etag": etag(&g.id),
                "id": id.as_str(),
                "name": id.name(),
                "privateIPAllocationMethod": "Dynamic",
                "provisioningState": "Succeeded",
                "subnet": reference(&subnet),
            });
            if let Some(pip) = g.public_ip_addresses.get(i) {
                config["publicIPAddress"] = reference(pip);
            }
            config
        })
        .collect()
}

/// BGP settings as Azure shows them on every non-Basic VPN gateway (ASN
/// 65515 unless set, whether BGP is on or not, §6): the BGP address of
/// each instance is its private address in GatewaySubnet.
fn gateway_bgp_settings(m: &Model, g: &VirtualNetworkGateway) -> Value {
    if !g.supports_transit() {
        return Value::Null;
    }
    let ips: Vec<String> = m
        .gateway_instance_ips(g)
        .iter()
        .take(if g.active_active { 2 } else { 1 })
        .map(|ip| ip.to_string())
        .collect();
    let per_instance: Vec<Value> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let tunnel: Vec<String> = g.public_ip_addresses.get(i).and_then(|p| m.public_ip_addresses.get(p)).map(|p| p.ip_address.to_string()).into_iter().collect();
            json!({ "customBgpIpAddresses": [], "defaultBgpIpAddresses": [ip], "ipconfigurationId": g.ip_configuration_id(i).as_str(), "tunnelIpAddresses": tunnel })
        })
        .collect();
    json!({ "asn": g.asn, "bgpPeeringAddress": ips.join(","), "bgpPeeringAddresses": per_instance, "peerWeight": 0 })
}

pub fn vnet_gateway(m: &Model, g: &VirtualNetworkGateway) -> Value {
    let generation = g.vpn_gateway_generation.clone().unwrap_or_else(|| {
        if g.gateway_type == GatewayType::Vpn {
            "Generation1".into()
        } else {
            "None".into()
        }
    });
    json!({
        "activeActive": g.active_active,
        "bgpSettings": gateway_bgp_settings(m, g),
        "disableIPSecReplayProtection": false,
        "enableBgp": g.enable_bgp,
        "enableBgpRouteTranslationForNat": false,
        "enablePrivateIpAddress": false,
        "etag": etag(&g.id),
        "gatewayType": format!("{:?}", g.gateway_type),
        "id": g.id.as_str(),
        "ipConfigurations": gateway_ip_configurations(g),
        "location": g.location,
        "name": g.name,
        "natRules": [],
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&g.id, "resource"),
        "sku": { "capacity": 2, "name": g.sku, "tier": g.sku },
        "type": "Microsoft.Network/virtualNetworkGateways",
        "vpnGatewayGeneration": generation,
        "vpnType": format!("{:?}", g.vpn_type),
    })
}

pub fn local_gateway(l: &LocalNetworkGateway) -> Value {
    let mut doc = json!({
        "etag": etag(&l.id),
        "gatewayIpAddress": l.gateway_ip_address.to_string(),
        "id": l.id.as_str(),
        "localNetworkAddressSpace": { "addressPrefixes": l.local_address_prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>() },
        "location": l.location,
        "name": l.name,
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&l.id, "resource"),
        "type": "Microsoft.Network/localNetworkGateways",
    });
    if l.asn.is_some() || l.bgp_peering_address.is_some() {
        doc["bgpSettings"] = json!({
            "asn": l.asn,
            "bgpPeeringAddress": l.bgp_peering_address.map(|a| a.to_string()),
            "peerWeight": 0,
        });
    }
    doc
}

/// Connected once the model says the tunnel is up (§6); vnetlab's
/// gateways are instant, so a connection is never left `Unknown`.
pub fn connection_status(m: &Model, c: &Connection) -> &'static str {
    if m.connection_connected(c) {
        "Connected"
    } else {
        "NotConnected"
    }
}

/// A connection's properties: what `vpn-connection create` prints (its
/// deployment's `reference()` output) and the body of `show`.
pub fn connection_properties(m: &Model, c: &Connection) -> Value {
    let mut doc = json!({
        "connectionMode": "Default",
        "connectionProtocol": "IKEv2",
        "connectionStatus": connection_status(m, c),
        "connectionType": format!("{:?}", c.connection_type),
        "dpdTimeoutSeconds": 45,
        "egressBytesTransferred": 0,
        "enableBgp": c.enable_bgp,
        "expressRouteGatewayBypass": false,
        "ingressBytesTransferred": 0,
        "ipsecPolicies": [],
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&c.id, "resource"),
        "routingWeight": 10,
        "trafficSelectorPolicies": [],
        "useLocalAzureIpAddress": false,
        "usePolicyBasedTrafficSelectors": false,
        "virtualNetworkGateway1": reference(&c.virtual_network_gateway1),
    });
    let peer = match c.connection_type {
        ConnectionType::IPsec => "localNetworkGateway2",
        ConnectionType::Vnet2Vnet => "virtualNetworkGateway2",
    };
    doc[peer] = reference(&c.peer);
    if let Some(key) = &c.shared_key {
        doc["sharedKey"] = json!(key);
    }
    doc
}

pub fn connection(m: &Model, c: &Connection) -> Value {
    let mut doc = connection_properties(m, c);
    for (k, v) in [
        ("etag", json!(etag(&c.id))),
        ("id", json!(c.id.as_str())),
        ("location", json!(c.location)),
        ("name", json!(c.name)),
        ("type", json!("Microsoft.Network/connections")),
    ] {
        doc[k] = v;
    }
    doc
}

/// A Route Server: a virtual hub of kind RouteServer (§7), as the Route
/// Server quickstart prints it.
pub fn route_server(m: &Model, rs: &RouteServer) -> Value {
    json!({
        "allowBranchToBranchTraffic": rs.allow_branch_to_branch_traffic,
        "etag": etag(&rs.id),
        "hubRoutingPreference": "ExpressRoute",
        "id": rs.id.as_str(),
        "kind": "RouteServer",
        "location": rs.location,
        "name": rs.name,
        "provisioningState": "Succeeded",
        "routeTable": { "routes": [] },
        "routingState": "Provisioned",
        "sku": "Standard",
        "type": "Microsoft.Network/virtualHubs",
        "virtualHubRouteTableV2s": [],
        "virtualRouterAsn": AZURE_ASN,
        "virtualRouterAutoScaleConfiguration": { "minCapacity": 2 },
        "virtualRouterIps": m.route_server_ips(rs).iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
    })
}

/// A Route Server peering (ARM's bgpConnection). vnetlab runs no BGP: a
/// session counts as up, and its announcements are what the topology
/// file's `advertisedPrefixes` say.
pub fn route_server_peering(rs: &RouteServer, p: &RouteServerPeering) -> Value {
    let id = rs.id.child("bgpConnections", &p.name);
    json!({
        "connectionState": "Connected",
        "etag": etag(&id),
        "id": id.as_str(),
        "name": p.name,
        "peerAsn": p.peer_asn,
        "peerIp": p.peer_ip.to_string(),
        "provisioningState": "Succeeded",
        "type": "Microsoft.Network/virtualHubs/bgpConnections",
    })
}

// ---------------------------------------------------------------- load balancers

/// A load balancer's child: flattened, as `show` and `list` print it, or
/// with its properties under `properties`, as the deployment's
/// `reference()` output of `lb create` has them. Children carry their
/// load balancer's etag, as ARM gives them.
fn lb_child(lb: &LoadBalancer, id: &ResourceId, kind: &str, props: Value, nested: bool) -> Value {
    let mut doc = if nested { json!({ "properties": props }) } else { props };
    doc["etag"] = json!(etag(&lb.id));
    doc["id"] = json!(id.as_str());
    doc["name"] = json!(id.name());
    doc["type"] = json!(format!("Microsoft.Network/loadBalancers/{kind}"));
    doc
}

/// `loadBalancingRules` back-references, only when there are some.
fn rules_using(lb: &LoadBalancer, props: &mut Value, uses: impl Fn(&LbRule) -> bool) {
    let rules: Vec<Value> = lb
        .load_balancing_rules
        .iter()
        .filter(|r| uses(r))
        .map(|r| reference(&r.id))
        .collect();
    if !rules.is_empty() {
        props["loadBalancingRules"] = Value::Array(rules);
    }
}

pub fn lb_frontend(lb: &LoadBalancer, f: &LbFrontend, nested: bool) -> Value {
    let mut props = json!({
        "privateIPAddress": f.private_ip_address.to_string(),
        "privateIPAddressVersion": "IPv4",
        "privateIPAllocationMethod": format!("{:?}", f.private_ip_allocation_method),
        "provisioningState": "Succeeded",
        "subnet": reference(&f.subnet),
    });
    rules_using(lb, &mut props, |r| r.frontend_ip_configuration == f.id);
    lb_child(lb, &f.id, "frontendIPConfigurations", props, nested)
}

/// A backend pool: `backendIPConfigurations` lists the NIC IP
/// configurations in it.
pub fn lb_pool(m: &Model, lb: &LoadBalancer, p: &LbBackendPool, nested: bool) -> Value {
    let mut props = json!({ "provisioningState": "Succeeded" });
    let members: Vec<Value> = m
        .network_interfaces
        .values()
        .filter(|n| n.load_balancer_backend_address_pools.contains(&p.id))
        .map(|n| reference(&n.ip_configuration_id()))
        .collect();
    if !members.is_empty() {
        props["backendIPConfigurations"] = Value::Array(members);
    }
    rules_using(lb, &mut props, |r| r.backend_address_pool == p.id);
    lb_child(lb, &p.id, "backendAddressPools", props, nested)
}

pub fn lb_probe(lb: &LoadBalancer, p: &LbProbe, nested: bool) -> Value {
    let mut props = json!({
        "intervalInSeconds": p.interval_in_seconds,
        "numberOfProbes": p.number_of_probes,
        "port": p.port,
        "protocol": p.protocol.as_str(),
        "provisioningState": "Succeeded",
    });
    if let Some(path) = &p.request_path {
        props["requestPath"] = json!(path);
    }
    rules_using(lb, &mut props, |r| r.probe.as_ref() == Some(&p.id));
    lb_child(lb, &p.id, "probes", props, nested)
}

pub fn lb_rule(lb: &LoadBalancer, r: &LbRule, nested: bool) -> Value {
    let mut props = json!({
        "backendAddressPool": reference(&r.backend_address_pool),
        "backendAddressPools": [reference(&r.backend_address_pool)],
        "backendPort": r.backend_port,
        "disableOutboundSnat": false,
        "enableFloatingIP": false,
        "enableTcpReset": false,
        "frontendIPConfiguration": reference(&r.frontend_ip_configuration),
        "frontendPort": r.frontend_port,
        "idleTimeoutInMinutes": r.idle_timeout_in_minutes,
        "loadDistribution": r.load_distribution.as_str(),
        "protocol": r.protocol.as_str(),
        "provisioningState": "Succeeded",
    });
    if let Some(p) = &r.probe {
        props["probe"] = reference(p);
    }
    lb_child(lb, &r.id, "loadBalancingRules", props, nested)
}

/// A load balancer's properties: the body of `show`, and (children
/// nested) what `lb create` prints under `loadBalancer`.
pub fn lb_properties(m: &Model, lb: &LoadBalancer, nested: bool) -> Value {
    json!({
        "backendAddressPools": lb.backend_address_pools.iter().map(|p| lb_pool(m, lb, p, nested)).collect::<Vec<_>>(),
        "frontendIPConfigurations": lb.frontend_ip_configurations.iter().map(|f| lb_frontend(lb, f, nested)).collect::<Vec<_>>(),
        "inboundNatPools": [],
        "inboundNatRules": [],
        "loadBalancingRules": lb.load_balancing_rules.iter().map(|r| lb_rule(lb, r, nested)).collect::<Vec<_>>(),
        "outboundRules": [],
        "probes": lb.probes.iter().map(|p| lb_probe(lb, p, nested)).collect::<Vec<_>>(),
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&lb.id, "resource"),
    })
}

pub fn load_balancer(m: &Model, lb: &LoadBalancer) -> Value {
    let mut doc = lb_properties(m, lb, false);
    for (k, v) in [
        ("etag", json!(etag(&lb.id))),
        ("id", json!(lb.id.as_str())),
        ("location", json!(lb.location)),
        ("name", json!(lb.name)),
        ("sku", json!({ "name": lb.sku.as_str(), "tier": "Regional" })),
        ("type", json!("Microsoft.Network/loadBalancers")),
    ] {
        doc[k] = v;
    }
    doc
}

// ---------------------------------------------------------------- Redis and private endpoints

/// An Azure Cache for Redis as az prints it (the SDK model, flattened).
pub fn redis(r: &RedisCache) -> Value {
    let family = if r.sku == RedisSku::Premium { "P" } else { "C" };
    let capacity: u64 = r.vm_size.get(1..).and_then(|c| c.parse().ok()).unwrap_or(0);
    json!({
        "accessKeys": null,
        "enableNonSslPort": r.enable_non_ssl_port,
        "hostName": r.host_name(),
        "id": r.id.as_str(),
        "linkedServers": [],
        "location": r.location,
        "minimumTlsVersion": "1.2",
        "name": r.name,
        "port": REDIS_PORT,
        "provisioningState": "Succeeded",
        "publicNetworkAccess": if r.subnet.is_some() { "Disabled" } else { "Enabled" },
        "redisVersion": r.redis_version,
        "sku": { "capacity": capacity, "family": family, "name": r.sku.as_str() },
        "sslPort": REDIS_SSL_PORT,
        "staticIp": r.static_ip.map(|ip| ip.to_string()),
        "subnetId": r.subnet.as_ref().map(ResourceId::as_str),
        "tags": {},
        "type": crate::model::REDIS_TYPE,
    })
}

/// The NIC Azure makes for a private endpoint (`<name>.nic.<guid>`), as
/// `nic show` and `nic list` print it: no VM, no NSG, the endpoint's address.
// Azure: NetworkInterface.privateEndpoint names the endpoint; the IP
// configuration's privateLinkConnectionProperties give the target's group ID,
// required member and FQDNs (REST Network Interfaces - Get,
// NetworkInterfaceIPConfigurationPrivateLinkConnectionProperties); the
// address is Dynamic, given by the endpoint.
pub fn private_endpoint_nic(m: &Model, pe: &PrivateEndpoint) -> Value {
    let id = pe.nic_id();
    let config_id = pe.nic_ip_configuration_id();
    let vnet = pe.subnet.parent().and_then(|v| m.virtual_networks.get(&v));
    let group = pe.group_ids.first().cloned().unwrap_or_default();
    let config = json!({
        "etag": etag(&config_id),
        "id": config_id.as_str(),
        "name": config_id.name(),
        "primary": true,
        "privateIPAddress": pe.private_ip_address.to_string(),
        "privateIPAddressVersion": "IPv4",
        "privateIPAllocationMethod": "Dynamic",
        "privateLinkConnectionProperties": {
            "fqdns": [pe.target_fqdn()],
            "groupId": group,
            "requiredMemberName": group,
        },
        "provisioningState": "Succeeded",
        "subnet": reference(&pe.subnet),
        "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
    });
    json!({
        "auxiliaryMode": "None",
        "auxiliarySku": "None",
        "disableTcpStateTracking": false,
        "dnsSettings": {
            "appliedDnsServers": vnet.map(|v| v.dns_servers.iter().map(|ip| ip.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
            "dnsServers": [],
            "internalDomainNameSuffix": vnet.map(|v| v.internal_domain_name_suffix()),
        },
        "enableAcceleratedNetworking": false,
        "enableIPForwarding": false,
        "etag": etag(&id),
        "hostedWorkloads": [],
        "id": id.as_str(),
        "ipConfigurations": [config],
        "location": pe.location,
        "macAddress": "",
        "name": id.name(),
        "nicType": "Standard",
        "privateEndpoint": reference(&pe.id),
        "provisioningState": "Succeeded",
        "resourceGuid": guid(&id, "resource"),
        "tapConfigurations": [],
        "type": "Microsoft.Network/networkInterfaces",
        "vnetEncryptionSupported": false,
    })
}

pub fn private_endpoint(pe: &PrivateEndpoint) -> Value {
    let connection = pe.id.child("privateLinkServiceConnections", &pe.connection_name);
    json!({
        "customDnsConfigs": [{ "fqdn": pe.target_fqdn(), "ipAddresses": [pe.private_ip_address.to_string()] }],
        "customNetworkInterfaceName": "",
        "etag": etag(&pe.id),
        "id": pe.id.as_str(),
        "ipConfigurations": [],
        "location": pe.location,
        "manualPrivateLinkServiceConnections": [],
        "name": pe.name,
        "networkInterfaces": [reference(&pe.nic_id())],
        "privateLinkServiceConnections": [{
            "etag": etag(&pe.id),
            "groupIds": pe.group_ids,
            "id": connection.as_str(),
            "name": pe.connection_name,
            "privateLinkServiceConnectionState": { "actionsRequired": "None", "description": "Auto-Approved", "status": "Approved" },
            "privateLinkServiceId": pe.private_link_service_id.as_str(),
            "provisioningState": "Succeeded",
            "type": "Microsoft.Network/privateEndpoints/privateLinkServiceConnections",
        }],
        "provisioningState": "Succeeded",
        "subnet": reference(&pe.subnet),
        "type": "Microsoft.Network/privateEndpoints",
    })
}
