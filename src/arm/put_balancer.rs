//! ARM PUT bodies of internal load balancers (and their backend pools, the
//! one part ARM puts on its own), NIC backend pool membership and Azure
//! Cache for Redis, turned into the model's changes: the same specs
//! `az network lb`, `az redis` and the topology loader make. Split from
//! [`super::put`] to keep each module about one family of resources.

use serde_json::Value;

use super::put::{bad, boolean, props, reference, string};
use crate::model::{
    AzureError, Change, ErrorCode, FrontendSpec, LbRuleSpec, LbSku, LoadBalancerSpec, LoadDistribution, Model,
    ProbeProtocol, ProbeSpec, RedisSku, RedisSpec, ResourceId, TransportProtocol,
};

/// The named entries of `properties.<key>`, each with its name.
fn parts<'v>(p: &'v Value, key: &str, lb: &ResourceId) -> Result<Vec<(String, &'v Value)>, AzureError> {
    let Some(items) = p.get(key).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = string(item, "name").ok_or_else(|| {
                bad(format!(
                    "Entry {i} of properties.{key} of load balancer {} has no name. Give every entry a name.",
                    lb.name()
                ))
            })?;
            Ok((name, props(item)))
        })
        .collect()
}

/// A number at `key`, as the model's `u32` (out-of-range values stay out
/// of range, for the model's own check to refuse).
fn number(v: &Value, key: &str) -> Option<u32> {
    v.get(key)
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The name of the part of `lb` that `id` refers to (a rule names its
/// frontend, pool and probe by ID); a part of another load balancer is
/// refused, as ARM refuses it.
// Azure: "Resource … referenced by resource … was not found" and
// InvalidResourceReference for a reference into another load balancer
// (REST Load Balancers - Create Or Update: rules refer to the LB's own children).
fn own_part(lb: &ResourceId, id: &ResourceId, kind: &str, rule: &str) -> Result<String, AzureError> {
    if id.parent().as_ref() != Some(lb) || !id.resource_type().ends_with(&format!("/{kind}")) {
        return Err(AzureError::new(
            ErrorCode::InvalidResourceReference,
            format!(
                "Resource {id} referenced by rule {rule} of load balancer {} is not one of its {kind}. A rule refers to its own load balancer's parts: {}/{kind}/{{name}}.",
                lb.name(),
                lb.as_str()
            ),
        ));
    }
    Ok(id.name().to_string())
}

fn sku(body: &Value, id: &ResourceId) -> Result<LbSku, AzureError> {
    // Azure: a load balancer without a SKU is Basic (REST LoadBalancerSku.name).
    match body.get("sku").and_then(|s| string(s, "name")) {
        None => Ok(LbSku::Basic),
        Some(s) if s.eq_ignore_ascii_case("basic") => Ok(LbSku::Basic),
        Some(s) if s.eq_ignore_ascii_case("standard") => Ok(LbSku::Standard),
        Some(other) => Err(bad(format!(
            "Load balancer SKU '{other}' of {} is not emulated: vnetlab has Basic and Standard internal load balancers. Set sku.name to one of them.",
            id.name()
        ))),
    }
}

fn probe_protocol(p: &Value, name: &str) -> Result<ProbeProtocol, AzureError> {
    ProbeProtocol::parse(&string(p, "protocol").unwrap_or_default())
        .ok_or_else(|| bad(format!("Probe {name} needs properties.protocol Tcp, Http or Https.")))
}

fn transport(p: &Value, name: &str) -> Result<TransportProtocol, AzureError> {
    TransportProtocol::parse(&string(p, "protocol").unwrap_or_default()).ok_or_else(|| {
        bad(format!(
            "Load-balancing rule {name} needs properties.protocol Tcp, Udp or All."
        ))
    })
}

fn distribution(p: &Value, name: &str) -> Result<LoadDistribution, AzureError> {
    match string(p, "loadDistribution") {
        None => Ok(LoadDistribution::Default),
        Some(d) => LoadDistribution::parse(&d).ok_or_else(|| {
            bad(format!(
                "Load-balancing rule {name} has loadDistribution '{d}'. Use Default, SourceIP or SourceIPProtocol."
            ))
        }),
    }
}

fn rule(lb: &ResourceId, name: String, p: &Value) -> Result<LbRuleSpec, AzureError> {
    let frontend = reference(p, "frontendIPConfiguration")?.ok_or_else(|| {
        bad(format!(
            "Load-balancing rule {name} needs properties.frontendIPConfiguration.id, the ID of one of the load balancer's frontends."
        ))
    })?;
    // Azure: `backendAddressPool`, or `backendAddressPools` (several only for
    // Gateway load balancers).
    let mut pools = match reference(p, "backendAddressPool")? {
        Some(pool) => vec![pool],
        None => Vec::new(),
    };
    if let Some(list) = p.get("backendAddressPools").and_then(Value::as_array) {
        for (i, entry) in list.iter().enumerate() {
            let id = entry.get("id").and_then(Value::as_str).unwrap_or_default();
            let id = ResourceId::parse(id).ok_or_else(|| {
                AzureError::new(
                    ErrorCode::InvalidResourceReference,
                    format!("Resource ID '{id}' at backendAddressPools[{i}].id of rule {name} is not a valid ARM resource ID."),
                )
            })?;
            if !pools.contains(&id) {
                pools.push(id);
            }
        }
    }
    let [pool] = pools.as_slice() else {
        return Err(bad(format!(
            "Load-balancing rule {name} names {} backend pools; vnetlab emulates one pool per rule (several are for Gateway load balancers). Give properties.backendAddressPool.id.",
            pools.len()
        )));
    };
    let probe = reference(p, "probe")?
        .map(|id| own_part(lb, &id, "probes", &name))
        .transpose()?;
    Ok(LbRuleSpec {
        frontend: own_part(lb, &frontend, "frontendIPConfigurations", &name)?,
        backend_pool: own_part(lb, pool, "backendAddressPools", &name)?,
        probe,
        protocol: transport(p, &name)?,
        frontend_port: number(p, "frontendPort").unwrap_or_default(),
        backend_port: number(p, "backendPort").unwrap_or_default(),
        idle_timeout_in_minutes: number(p, "idleTimeoutInMinutes"),
        enable_floating_ip: boolean(p, "enableFloatingIP").unwrap_or(false),
        load_distribution: distribution(p, &name)?,
        name,
    })
}

/// `Microsoft.Network/loadBalancers`: an internal load balancer whose
/// parts (frontends, pools, probes, rules) come whole; parts left out go.
// Azure: REST Load Balancers - Create Or Update
// (learn.microsoft.com/rest/api/load-balancer/load-balancers/create-or-update).
pub(super) fn load_balancer(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let frontends = parts(p, "frontendIPConfigurations", id)?
        .into_iter()
        .map(|(name, f)| {
            if f.get("publicIPAddress").is_some_and(|v| !v.is_null()) {
                return Err(bad(format!(
                    "Frontend {name} of load balancer {} has a public IP address; vnetlab emulates internal load balancers only. Give properties.subnet.id instead.",
                    id.name()
                )));
            }
            let subnet = reference(f, "subnet")?.ok_or_else(|| {
                bad(format!(
                    "Frontend {name} of load balancer {} needs properties.subnet.id, the subnet its private IP is in.",
                    id.name()
                ))
            })?;
            // Azure: a Dynamic frontend's privateIPAddress is ignored on PUT.
            let fixed = string(f, "privateIPAllocationMethod").is_some_and(|m| m.eq_ignore_ascii_case("static"));
            Ok(FrontendSpec {
                name,
                subnet,
                private_ip_address: if fixed { string(f, "privateIPAddress") } else { None },
            })
        })
        .collect::<Result<_, AzureError>>()?;
    for unemulated in ["inboundNatRules", "inboundNatPools", "outboundRules"] {
        if p.get(unemulated)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(bad(format!(
                "Load balancer {} has {unemulated}, which vnetlab does not emulate. Leave properties.{unemulated} empty.",
                id.name()
            )));
        }
    }
    let probes = parts(p, "probes", id)?
        .into_iter()
        .map(|(name, q)| {
            Ok(ProbeSpec {
                protocol: probe_protocol(q, &name)?,
                port: number(q, "port").unwrap_or_default(),
                request_path: string(q, "requestPath"),
                interval_in_seconds: number(q, "intervalInSeconds"),
                number_of_probes: number(q, "numberOfProbes"),
                name,
            })
        })
        .collect::<Result<_, AzureError>>()?;
    let rules = parts(p, "loadBalancingRules", id)?
        .into_iter()
        .map(|(name, r)| rule(id, name, r))
        .collect::<Result<_, _>>()?;
    Ok(Change::PutLoadBalancer(LoadBalancerSpec {
        id: id.clone(),
        location: string(body, "location"),
        sku: sku(body, id)?,
        frontends,
        backend_pools: parts(p, "backendAddressPools", id)?
            .into_iter()
            .map(|(n, _)| n)
            .collect(),
        probes,
        rules,
    }))
}

/// `loadBalancers/{lb}/backendAddressPools/{pool}` (what `az network lb
/// address-pool create` puts): the load balancer as it is, with the pool.
// Azure: REST Load Balancer Backend Address Pools - Create Or Update.
pub(super) fn backend_pool(m: &Model, id: &ResourceId) -> Result<Change, AzureError> {
    let lb = id.parent().and_then(|lb| m.load_balancers.get(&lb)).ok_or_else(|| {
        AzureError::new(
            ErrorCode::ResourceNotFound,
            format!(
                "The Resource 'Microsoft.Network/loadBalancers/{}' under resource group '{}' was not found. Create the load balancer first.",
                id.parent().map(|p| p.name().to_string()).unwrap_or_default(),
                id.resource_group_name()
            ),
        )
    })?;
    let mut spec = lb.spec();
    if !spec.backend_pools.iter().any(|p| p.eq_ignore_ascii_case(id.name())) {
        spec.backend_pools.push(id.name().to_string());
    }
    Ok(Change::PutLoadBalancer(spec))
}

/// The DELETE of a backend pool: the load balancer without it (the model
/// refuses while NICs or rules use it). `None` when there is no such LB.
pub(super) fn delete_backend_pool(m: &Model, id: &ResourceId) -> Option<Change> {
    let mut spec = m.load_balancers.get(&id.parent()?)?.spec();
    spec.backend_pools.retain(|p| !p.eq_ignore_ascii_case(id.name()));
    Some(Change::PutLoadBalancer(spec))
}

/// A NIC IP configuration's `loadBalancerBackendAddressPools`: ARM's PUT
/// replaces the NIC whole, so the body's list is the membership. `None`
/// when neither the body nor the NIC has any (nothing to change).
pub(super) fn nic_pools(m: &Model, nic: &ResourceId, config: &Value) -> Result<Option<Change>, AzureError> {
    let listed = config.get("loadBalancerBackendAddressPools").and_then(Value::as_array);
    let member = m
        .network_interfaces
        .get(nic)
        .is_some_and(|n| !n.load_balancer_backend_address_pools.is_empty());
    if listed.is_none() && !member {
        return Ok(None);
    }
    let pools = listed
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let s = p.get("id").and_then(Value::as_str).unwrap_or_default();
            ResourceId::parse(s).ok_or_else(|| {
                AzureError::new(
                    ErrorCode::InvalidResourceReference,
                    format!("Resource ID '{s}' at loadBalancerBackendAddressPools[{i}].id of network interface {} is not a valid ARM resource ID. Give the ID of a load balancer's backend pool.", nic.name()),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(Change::SetBackendPools {
        nic: nic.clone(),
        pools,
    }))
}

/// `Microsoft.Cache/redis`: `properties.sku` {name, family, capacity},
/// `subnetId`, `staticIP`, `enableNonSslPort`, `redisVersion`.
// Azure: REST Redis - Create (learn.microsoft.com/rest/api/redis/redis/create):
// RedisCreateParameters keeps `sku` under `properties`; an envelope `sku`
// (as az prints it) is taken too.
pub(super) fn redis(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let sku = p.get("sku").or_else(|| body.get("sku")).ok_or_else(|| {
        bad(format!(
            "Cache {} needs properties.sku with name (Basic, Standard or Premium), family (C or P) and capacity.",
            id.name()
        ))
    })?;
    let name = string(sku, "name").unwrap_or_default();
    let tier = match name.to_ascii_lowercase().as_str() {
        "basic" => RedisSku::Basic,
        "standard" => RedisSku::Standard,
        "premium" => RedisSku::Premium,
        _ => {
            return Err(bad(format!(
                "Cache {} has sku.name '{name}'. Use Basic, Standard or Premium.",
                id.name()
            )));
        }
    };
    let family = string(sku, "family").unwrap_or_else(|| if tier == RedisSku::Premium { "P" } else { "C" }.into());
    let capacity = sku.get("capacity").and_then(Value::as_u64).ok_or_else(|| {
        bad(format!(
            "Cache {} needs sku.capacity (0 to 6 for family C, 1 to 5 for family P).",
            id.name()
        ))
    })?;
    let subnet = match string(p, "subnetId") {
        None => None,
        Some(s) => Some(ResourceId::parse(&s).ok_or_else(|| {
            AzureError::new(
                ErrorCode::InvalidResourceReference,
                format!("Resource ID '{s}' at properties.subnetId of cache {} is not a valid ARM resource ID. Give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/Microsoft.Network/virtualNetworks/{{vnet}}/subnets/{{subnet}}.", id.name()),
            )
        })?),
    };
    Ok(Change::PutRedisCache(RedisSpec {
        id: id.clone(),
        location: string(body, "location"),
        sku: tier,
        // The model checks the size against the SKU, in az's words.
        vm_size: format!("{}{capacity}", family.to_ascii_uppercase()),
        subnet,
        static_ip: string(p, "staticIP").or_else(|| string(p, "staticIp")),
        enable_non_ssl_port: boolean(p, "enableNonSslPort").unwrap_or(false),
        redis_version: string(p, "redisVersion"),
    }))
}
