//! An ARM PUT body turned into the model's changes: the same `Change`s the
//! az front and the topology loader make, validated by the same model.

use serde_json::Value;

use super::{put_aks, put_balancer, put_gateway};

use crate::model::{
    AzureError, Change, ErrorCode, Model, MxRecord, NicSpec, PeeringSpec, PrivateDnsZoneConfig,
    PrivateDnsZoneGroupSpec, PrivateDnsZoneSpec, PublicIpSku, PublicIpSpec, RecordData, RecordSetSpec, RecordType,
    ResourceId, RouteSpec, SecurityRuleSpec, SrvRecord, SubnetSpec, Tags, VirtualNetworkLinkSpec, VmSpec, VnetSpec,
    carries_tags,
};

pub(super) fn bad(message: String) -> AzureError {
    AzureError::new(ErrorCode::InvalidRequestFormat, message)
}

pub(super) fn props(body: &Value) -> &Value {
    body.get("properties").unwrap_or(&Value::Null)
}

pub(super) fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

pub(super) fn boolean(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

pub(super) fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// `{ "id": "…" }` at `key`, parsed.
pub(super) fn reference(v: &Value, key: &str) -> Result<Option<ResourceId>, AzureError> {
    match v.get(key).and_then(|r| r.get("id")).and_then(Value::as_str) {
        None => Ok(None),
        Some(s) => ResourceId::parse(s)
            .map(Some)
            .ok_or_else(|| AzureError::new(ErrorCode::InvalidResourceReference, format!("Resource ID '{s}' at {key}.id is not a valid ARM resource ID. Give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/{{namespace}}/{{type}}/{{name}}."))),
    }
}

/// A singular field or, when it is absent, its plural list (ARM accepts
/// either; az sends the singular for one value).
fn one_or_many(v: &Value, singular: &str, plural: &str) -> Vec<String> {
    match string(v, singular) {
        Some(s) => vec![s],
        None => strings(v, plural),
    }
}

/// The changes a PUT of `body` at `id` makes; `existing` is the model
/// before it (for ARM's "a PUT replaces the child list" rule).
pub fn changes(m: &Model, id: &ResourceId, body: &Value, principal: Option<&str>) -> Result<Vec<Change>, AzureError> {
    let typ = id.resource_type().to_ascii_lowercase();
    let location = string(body, "location");
    let p = props(body);
    Ok(match typ.as_str() {
        "microsoft.resources/resourcegroups" => vec![Change::PutResourceGroup {
            subscription: id.subscription_id().to_string(),
            name: id.name().to_string(),
            location: location.ok_or_else(|| {
                AzureError::new(
                    ErrorCode::InvalidRequestFormat,
                    "The request body of a resource group must give its location, e.g. {\"location\": \"westeurope\"}.",
                )
            })?,
        }],
        "microsoft.network/virtualnetworks" => {
            let mut out = vec![Change::PutVirtualNetwork(VnetSpec {
                id: id.clone(),
                location,
                address_prefixes: p
                    .get("addressSpace")
                    .map(|a| strings(a, "addressPrefixes"))
                    .unwrap_or_default(),
                flow_timeout_in_minutes: p.get("flowTimeoutInMinutes").and_then(Value::as_u64).map(|t| t as u32),
                dns_servers: p.get("dhcpOptions").map(|d| strings(d, "dnsServers")),
            })];
            if let Some(subnets) = p.get("subnets").and_then(Value::as_array) {
                let mut named = Vec::new();
                for s in subnets {
                    let name = string(s, "name")
                        .ok_or_else(|| bad("Every subnet in properties.subnets needs a name.".into()))?;
                    let sid = id.child("subnets", &name);
                    out.push(subnet_change(&sid, s)?);
                    named.push(sid);
                }
                // Azure: a VNet PUT holds the whole subnet list; subnets it
                // leaves out are deleted (REST: Virtual Networks - Create Or Update).
                if let Some(v) = m.virtual_networks.get(id) {
                    out.extend(
                        v.subnets
                            .iter()
                            .filter(|s| !named.contains(&s.id))
                            .map(|s| Change::DeleteSubnet(s.id.clone())),
                    );
                }
            }
            out
        }
        "microsoft.network/virtualnetworks/subnets" => vec![subnet_change(id, body)?],
        "microsoft.network/virtualnetworks/virtualnetworkpeerings" => vec![Change::PutPeering(PeeringSpec {
            id: id.clone(),
            remote_virtual_network: reference(p, "remoteVirtualNetwork")?.ok_or_else(|| {
                bad("A peering needs properties.remoteVirtualNetwork.id, the ID of the VNet to peer with.".into())
            })?,
            allow_virtual_network_access: boolean(p, "allowVirtualNetworkAccess").unwrap_or(true),
            allow_forwarded_traffic: boolean(p, "allowForwardedTraffic").unwrap_or(false),
            allow_gateway_transit: boolean(p, "allowGatewayTransit").unwrap_or(false),
            use_remote_gateways: boolean(p, "useRemoteGateways").unwrap_or(false),
            principal: principal.map(str::to_string),
        })],
        "microsoft.network/networksecuritygroups" => {
            let mut out = vec![Change::PutNetworkSecurityGroup {
                id: id.clone(),
                location,
            }];
            if let Some(rules) = p.get("securityRules").and_then(Value::as_array) {
                let mut named = Vec::new();
                for r in rules {
                    let name = string(r, "name")
                        .ok_or_else(|| bad("Every rule in properties.securityRules needs a name.".into()))?;
                    let rid = id.child("securityRules", &name);
                    out.push(rule_change(&rid, r)?);
                    named.push(rid);
                }
                if let Some(n) = m.network_security_groups.get(id) {
                    for r in &n.security_rules {
                        let rid = id.child("securityRules", &r.name);
                        if !named.contains(&rid) {
                            out.push(Change::DeleteSecurityRule(rid));
                        }
                    }
                }
            }
            out
        }
        "microsoft.network/networksecuritygroups/securityrules" => vec![rule_change(id, body)?],
        "microsoft.network/routetables" => {
            let mut out = vec![Change::PutRouteTable {
                id: id.clone(),
                location,
                disable_bgp_route_propagation: boolean(p, "disableBgpRoutePropagation").unwrap_or(false),
            }];
            if let Some(routes) = p.get("routes").and_then(Value::as_array) {
                for r in routes {
                    let name = string(r, "name")
                        .ok_or_else(|| bad("Every route in properties.routes needs a name.".into()))?;
                    out.push(route_change(&id.child("routes", &name), r));
                }
            }
            out
        }
        "microsoft.network/routetables/routes" => vec![route_change(id, body)],
        "microsoft.network/publicipaddresses" => {
            let sku = match body.get("sku").and_then(|s| s.get("name")).and_then(Value::as_str) {
                Some(s) if s.eq_ignore_ascii_case("basic") => PublicIpSku::Basic,
                _ => PublicIpSku::Standard,
            };
            vec![Change::PutPublicIp(PublicIpSpec {
                id: id.clone(),
                location,
                sku,
            })]
        }
        "microsoft.network/networkinterfaces" => {
            let mut out = vec![nic_change(id, location, p)?];
            let config = p
                .get("ipConfigurations")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .map_or(&Value::Null, props);
            out.extend(put_balancer::nic_pools(m, id, config)?);
            out
        }
        "microsoft.compute/virtualmachines" => vec![vm_change(id, location, p)?],
        "microsoft.network/privatednszones" => vec![Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: id.clone() })],
        "microsoft.network/privatednszones/virtualnetworklinks" => {
            let Some(vnet) = reference(p, "virtualNetwork")? else {
                return Err(bad(format!(
                    "Virtual network link {} has no properties.virtualNetwork.id. Give the ID of the virtual network to link.",
                    id.name()
                )));
            };
            vec![Change::PutVirtualNetworkLink(VirtualNetworkLinkSpec {
                id: id.clone(),
                virtual_network: vnet,
                registration_enabled: boolean(p, "registrationEnabled").unwrap_or(false),
            })]
        }
        t if t.starts_with("microsoft.network/privatednszones/") => vec![record_set_change(id, p)?],
        "microsoft.network/privateendpoints" => vec![super::put_endpoint::private_endpoint(id, body)?],
        "microsoft.network/privateendpoints/privatednszonegroups" => vec![zone_group_change(id, p)?],
        "microsoft.network/virtualnetworkgateways" => vec![put_gateway::gateway(id, body)?],
        "microsoft.network/localnetworkgateways" => vec![put_gateway::local_gateway(id, body)?],
        "microsoft.network/connections" => vec![put_gateway::connection(id, body)?],
        "microsoft.containerservice/managedclusters" => put_aks::cluster(id, body)?,
        "microsoft.containerservice/managedclusters/agentpools" => vec![put_aks::agent_pool(id, body)?],
        "microsoft.network/loadbalancers" => vec![put_balancer::load_balancer(id, body)?],
        "microsoft.network/loadbalancers/backendaddresspools" => vec![put_balancer::backend_pool(m, id)?],
        "microsoft.cache/redis" => vec![put_balancer::redis(id, body)?],
        _ => {
            return Err(AzureError::new(
                ErrorCode::BadRequest,
                format!(
                    "vnetlab's ARM endpoint cannot create resources of type '{}' yet. The types it takes are listed in docs/az.md.",
                    id.resource_type()
                ),
            ));
        }
    })
}

fn subnet_change(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let prefixes = one_or_many(p, "addressPrefix", "addressPrefixes");
    if prefixes.len() > 1 {
        return Err(bad(format!(
            "Subnet '{}' was given {} address prefixes; vnetlab models one prefix per subnet.",
            id.name(),
            prefixes.len()
        )));
    }
    Ok(Change::PutSubnet(SubnetSpec {
        id: id.clone(),
        address_prefix: prefixes.into_iter().next().unwrap_or_default(),
        network_security_group: reference(p, "networkSecurityGroup")?,
        route_table: reference(p, "routeTable")?,
        default_outbound_access: boolean(p, "defaultOutboundAccess"),
    }))
}

fn rule_change(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let priority = p.get("priority").and_then(Value::as_i64).ok_or_else(|| {
        bad(format!(
            "Security rule {} needs properties.priority (100 to 4096).",
            id.name()
        ))
    })?;
    Ok(Change::PutSecurityRule(SecurityRuleSpec {
        id: id.clone(),
        priority,
        direction: string(p, "direction").unwrap_or_default(),
        access: string(p, "access").unwrap_or_default(),
        protocol: string(p, "protocol").unwrap_or_default(),
        source_address_prefixes: one_or_many(p, "sourceAddressPrefix", "sourceAddressPrefixes"),
        source_port_ranges: one_or_many(p, "sourcePortRange", "sourcePortRanges"),
        destination_address_prefixes: one_or_many(p, "destinationAddressPrefix", "destinationAddressPrefixes"),
        destination_port_ranges: one_or_many(p, "destinationPortRange", "destinationPortRanges"),
        description: string(p, "description"),
    }))
}

fn route_change(id: &ResourceId, body: &Value) -> Change {
    let p = props(body);
    Change::PutRoute(RouteSpec {
        id: id.clone(),
        address_prefix: string(p, "addressPrefix").unwrap_or_default(),
        next_hop_type: string(p, "nextHopType").unwrap_or_default(),
        next_hop_ip_address: string(p, "nextHopIpAddress"),
    })
}

fn nic_change(id: &ResourceId, location: Option<String>, p: &Value) -> Result<Change, AzureError> {
    let configs = p
        .get("ipConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [config] = configs.as_slice() else {
        return Err(bad(format!(
            "Network interface {} has {} IP configurations; vnetlab models exactly one.",
            id.name(),
            configs.len()
        )));
    };
    let c = props(config);
    let subnet = reference(c, "subnet")?.ok_or_else(|| {
        bad(format!(
            "The IP configuration of network interface {} needs properties.subnet.id.",
            id.name()
        ))
    })?;
    let static_ip = string(c, "privateIPAllocationMethod").is_some_and(|m| m.eq_ignore_ascii_case("static"));
    Ok(Change::PutNetworkInterface(NicSpec {
        ip_configuration_name: string(config, "name"),
        id: id.clone(),
        location,
        subnet,
        private_ip_address: if static_ip { string(c, "privateIPAddress") } else { None },
        enable_ip_forwarding: boolean(p, "enableIPForwarding").unwrap_or(false),
        network_security_group: reference(p, "networkSecurityGroup")?,
        public_ip_address: reference(c, "publicIPAddress")?,
        dns_servers: p.get("dnsSettings").map(|d| strings(d, "dnsServers")),
    }))
}

fn vm_change(id: &ResourceId, location: Option<String>, p: &Value) -> Result<Change, AzureError> {
    let hw = p.get("hardwareProfile").unwrap_or(&Value::Null);
    let image = p
        .get("storageProfile")
        .and_then(|s| s.get("imageReference"))
        .map(|r| {
            ["publisher", "offer", "sku", "version"]
                .iter()
                .map(|k| string(r, k).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default();
    let os = p.get("osProfile").unwrap_or(&Value::Null);
    let keys = os
        .get("linuxConfiguration")
        .and_then(|l| l.get("ssh"))
        .and_then(|s| s.get("publicKeys"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|k| string(k, "keyData")).collect())
        .unwrap_or_default();
    let nics = p
        .get("networkProfile")
        .and_then(|n| n.get("networkInterfaces"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|n| n.get("id").and_then(Value::as_str).and_then(ResourceId::parse))
                .collect()
        })
        .unwrap_or_default();
    Ok(Change::PutVirtualMachine(VmSpec {
        id: id.clone(),
        location,
        size: string(hw, "vmSize").unwrap_or_else(|| "Standard_D2s_v5".into()),
        image,
        network_interfaces: nics,
        admin_username: string(os, "adminUsername").unwrap_or_default(),
        admin_password: string(os, "adminPassword"),
        ssh_public_keys: keys,
    }))
}

/// A record set's PUT: `ttl` and the records under az's property names.
fn record_set_change(id: &ResourceId, p: &Value) -> Result<Change, AzureError> {
    let typ = id.resource_type();
    let kind = typ.rsplit('/').next().and_then(RecordType::parse).ok_or_else(|| {
        AzureError::new(
            ErrorCode::BadRequest,
            format!("vnetlab's ARM endpoint cannot create record sets of type '{typ}'. It takes A, AAAA, CNAME, MX, PTR, SRV and TXT."),
        )
    })?;
    let items = |key: &str| p.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let text = |v: &Value, key: &str| string(v, key).unwrap_or_default();
    let num = |v: &Value, key: &str| -> Result<u16, AzureError> {
        v.get(key)
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| {
                bad(format!(
                    "Record set {} needs {key}, a number from 0 to 65535.",
                    id.name()
                ))
            })
    };
    let ip = |v: &Value, key: &str| -> Result<String, AzureError> {
        string(v, key).ok_or_else(|| bad(format!("Record set {} has a record without {key}.", id.name())))
    };
    let data = match kind {
        RecordType::A => RecordData::A(
            items("aRecords")
                .iter()
                .map(|r| {
                    ip(r, "ipv4Address")?
                        .parse()
                        .map_err(|_| bad(format!("Record set {} has an invalid ipv4Address.", id.name())))
                })
                .collect::<Result<_, _>>()?,
        ),
        RecordType::AAAA => RecordData::AAAA(
            items("aaaaRecords")
                .iter()
                .map(|r| {
                    ip(r, "ipv6Address")?
                        .parse()
                        .map_err(|_| bad(format!("Record set {} has an invalid ipv6Address.", id.name())))
                })
                .collect::<Result<_, _>>()?,
        ),
        RecordType::CNAME => RecordData::CNAME(p.get("cnameRecord").map(|c| text(c, "cname")).unwrap_or_default()),
        RecordType::MX => RecordData::MX(
            items("mxRecords")
                .iter()
                .map(|r| {
                    Ok(MxRecord {
                        preference: num(r, "preference")?,
                        exchange: text(r, "exchange"),
                    })
                })
                .collect::<Result<_, AzureError>>()?,
        ),
        RecordType::PTR => RecordData::PTR(items("ptrRecords").iter().map(|r| text(r, "ptrdname")).collect()),
        RecordType::SRV => RecordData::SRV(
            items("srvRecords")
                .iter()
                .map(|r| {
                    Ok(SrvRecord {
                        priority: num(r, "priority")?,
                        weight: num(r, "weight")?,
                        port: num(r, "port")?,
                        target: text(r, "target"),
                    })
                })
                .collect::<Result<_, AzureError>>()?,
        ),
        RecordType::TXT => RecordData::TXT(items("txtRecords").iter().map(|r| strings(r, "value")).collect()),
    };
    let ttl = p
        .get("ttl")
        .and_then(Value::as_u64)
        .map(|t| u32::try_from(t).unwrap_or(u32::MAX));
    Ok(Change::PutRecordSet(RecordSetSpec {
        id: id.clone(),
        ttl,
        data,
    }))
}

/// The change a PUT or PATCH makes to the tags of `id`: a PUT replaces the
/// resource, so it sets the body's `tags` (none when absent); a PATCH sets
/// them only when the body has `tags`. `None` also for a type without tags
/// (subnets, rules, routes, peerings), whose `tags` ARM ignores.
// Azure: NRP's Update Tags (PATCH with a TagsObject) and Resource Groups -
// Update replace the `tags` object whole; a PATCH without `tags` keeps them.
pub fn tags(id: &ResourceId, body: &Value, patch: bool) -> Result<Option<Change>, AzureError> {
    if !carries_tags(&id.resource_type()) {
        return Ok(None);
    }
    let tags = match body.get("tags") {
        None | Some(Value::Null) if patch => return Ok(None),
        None | Some(Value::Null) => Tags::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(bad(format!(
                    "The value of tag '{k}' must be a string, not {other}. Give tags as {{\"name\": \"value\"}}."
                ))),
            })
            .collect::<Result<Tags, _>>()?,
        Some(other) => {
            return Err(bad(format!(
                "The tags must be an object of name-value strings, not {other}."
            )));
        }
    };
    Ok(Some(Change::SetTags { id: id.clone(), tags }))
}

/// A private endpoint's DNS zone group as ARM takes it:
/// `properties.privateDnsZoneConfigs[]` of `name` and
/// `properties.privateDnsZoneId`; `recordSets` are read-only and ignored.
// Azure: REST Private Dns Zone Groups - Create Or Update
// (learn.microsoft.com/rest/api/virtualnetwork/private-dns-zone-groups/create-or-update).
fn zone_group_change(id: &ResourceId, p: &Value) -> Result<Change, AzureError> {
    let configs = p
        .get("privateDnsZoneConfigs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(format!(
                "Private DNS zone group {} has no properties.privateDnsZoneConfigs. Give 1 to {} configs, each with a name and properties.privateDnsZoneId.",
                id.name(),
                crate::model::MAX_ZONE_CONFIGS_PER_GROUP
            ))
        })?;
    let configs = configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = string(c, "name").ok_or_else(|| {
                bad(format!("Every entry of properties.privateDnsZoneConfigs needs a name; entry {i} has none."))
            })?;
            let zone = string(props(c), "privateDnsZoneId").ok_or_else(|| {
                bad(format!(
                    "Zone config {name} has no properties.privateDnsZoneId. Give the ID of a private DNS zone."
                ))
            })?;
            let private_dns_zone = ResourceId::parse(&zone).ok_or_else(|| {
                AzureError::new(
                    ErrorCode::InvalidResourceReference,
                    format!("Resource ID '{zone}' at privateDnsZoneConfigs[{i}].properties.privateDnsZoneId is not a valid ARM resource ID. Give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/Microsoft.Network/privateDnsZones/{{zone}}."),
                )
            })?;
            Ok(PrivateDnsZoneConfig { name, private_dns_zone })
        })
        .collect::<Result<_, AzureError>>()?;
    Ok(Change::PutPrivateDnsZoneGroup(PrivateDnsZoneGroupSpec {
        id: id.clone(),
        configs,
    }))
}

/// `Microsoft.Network/privateDnsZones/{A|AAAA|CNAME|MX|PTR|SRV|TXT}`, any case.
pub fn is_record_set_type(typ: &str) -> bool {
    typ.to_ascii_lowercase()
        .strip_prefix("microsoft.network/privatednszones/")
        .and_then(RecordType::parse)
        .is_some()
}

/// The change a DELETE at `id` makes; `None` for a type it cannot delete.
/// (A load balancer's backend pool is [`delete_part`]: it needs the model.)
pub fn delete(id: &ResourceId) -> Option<Change> {
    let id = id.clone();
    Some(match id.resource_type().to_ascii_lowercase().as_str() {
        "microsoft.resources/resourcegroups" => Change::DeleteResourceGroup(id),
        "microsoft.network/virtualnetworks" => Change::DeleteVirtualNetwork(id),
        "microsoft.network/virtualnetworks/subnets" => Change::DeleteSubnet(id),
        "microsoft.network/virtualnetworks/virtualnetworkpeerings" => Change::DeletePeering(id),
        "microsoft.network/networksecuritygroups" => Change::DeleteNetworkSecurityGroup(id),
        "microsoft.network/networksecuritygroups/securityrules" => Change::DeleteSecurityRule(id),
        "microsoft.network/routetables" => Change::DeleteRouteTable(id),
        "microsoft.network/routetables/routes" => Change::DeleteRoute(id),
        "microsoft.network/publicipaddresses" => Change::DeletePublicIp(id),
        "microsoft.network/networkinterfaces" => Change::DeleteNetworkInterface(id),
        "microsoft.compute/virtualmachines" => Change::DeleteVirtualMachine(id),
        "microsoft.network/virtualnetworkgateways" => Change::DeleteVirtualNetworkGateway(id),
        "microsoft.network/localnetworkgateways" => Change::DeleteLocalNetworkGateway(id),
        "microsoft.network/connections" => Change::DeleteConnection(id),
        "microsoft.network/loadbalancers" => Change::DeleteLoadBalancer(id),
        "microsoft.cache/redis" => Change::DeleteRedisCache(id),
        "microsoft.network/privatednszones" => Change::DeletePrivateDnsZone(id),
        "microsoft.network/privatednszones/virtualnetworklinks" => Change::DeleteVirtualNetworkLink(id),
        "microsoft.network/privateendpoints" => Change::DeletePrivateEndpoint(id),
        "microsoft.network/privateendpoints/privatednszonegroups" => Change::DeletePrivateDnsZoneGroup(id),
        "microsoft.containerservice/managedclusters" => Change::DeleteManagedCluster(id),
        "microsoft.containerservice/managedclusters/agentpools" => Change::DeleteAgentPool(id),
        t if is_record_set_type(t) => Change::DeleteRecordSet(id),
        _ => return None,
    })
}

/// The change a DELETE of a part that ARM deletes on its own makes: a load
/// balancer's backend pool, which is the load balancer put without it.
pub fn delete_part(m: &Model, id: &ResourceId) -> Option<Change> {
    is_part(id).then(|| put_balancer::delete_backend_pool(m, id)).flatten()
}

/// A part of a resource that ARM puts on its own and the model holds inside
/// its parent (a load balancer's backend pool): emulated, not opaque.
pub fn is_part(id: &ResourceId) -> bool {
    id.resource_type()
        .eq_ignore_ascii_case("Microsoft.Network/loadBalancers/backendAddressPools")
}
