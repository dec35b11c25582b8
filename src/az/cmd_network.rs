//! `az network vnet`, `vnet subnet` and `vnet peering`.

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::args::{Args, Leaf, boolean, flag, location, many, name, opt, req, rg, tags};
use super::ctx::not_found;
use super::{AzError, Ctx, Handler, Reply, render, table_rows};
use crate::model::{Change, NETWORK, PeeringSpec, ResourceId, SubnetSpec, VnetSpec};

pub fn leaves() -> Vec<Leaf<Handler>> {
    let vnet = || req("vnet-name");
    let nsg = || opt("network-security-group").alias("nsg");
    vec![
        Leaf {
            path: "network vnet create",
            about: "Create a virtual network.",
            args: vec![
                rg(),
                name(),
                location(),
                many("address-prefixes"),
                many("dns-servers"),
                opt("subnet-name"),
                many("subnet-prefixes"),
                nsg(),
                boolean("ddos-protection"),
                boolean("vm-protection"),
                opt("flowtimeout"),
                tags(),
                flag("no-wait"),
            ],
            run: vnet_create,
        },
        Leaf {
            path: "network vnet list",
            about: "List virtual networks.",
            args: vec![opt("resource-group").short('g')],
            run: vnet_list,
        },
        Leaf {
            path: "network vnet show",
            about: "Get the details of a virtual network.",
            args: vec![rg(), name()],
            run: vnet_show,
        },
        Leaf {
            path: "network vnet update",
            about: "Update a virtual network.",
            args: vec![
                rg(),
                name(),
                many("address-prefixes"),
                many("dns-servers"),
                opt("flowtimeout"),
                tags(),
                flag("no-wait"),
            ],
            run: vnet_update,
        },
        Leaf {
            path: "network vnet delete",
            about: "Delete a virtual network.",
            args: vec![rg(), name(), flag("no-wait")],
            run: vnet_delete,
        },
        Leaf {
            path: "network vnet subnet create",
            about: "Create a subnet and associate an existing NSG and route table.",
            args: vec![
                rg(),
                vnet(),
                name(),
                many("address-prefixes").required(true),
                nsg(),
                opt("route-table"),
                boolean("default-outbound-access").alias("default-outbound"),
                flag("no-wait"),
            ],
            run: subnet_create,
        },
        Leaf {
            path: "network vnet subnet list",
            about: "List the subnets in a virtual network.",
            args: vec![rg(), vnet()],
            run: subnet_list,
        },
        Leaf {
            path: "network vnet subnet show",
            about: "Show details of a subnet.",
            args: vec![rg(), vnet(), name()],
            run: subnet_show,
        },
        Leaf {
            path: "network vnet subnet update",
            about: "Update a subnet.",
            args: vec![
                rg(),
                vnet(),
                name(),
                many("address-prefixes"),
                nsg(),
                opt("route-table"),
                boolean("default-outbound-access").alias("default-outbound"),
                flag("no-wait"),
            ],
            run: subnet_update,
        },
        Leaf {
            path: "network vnet subnet delete",
            about: "Delete a subnet.",
            args: vec![rg(), vnet(), name(), flag("no-wait")],
            run: subnet_delete,
        },
        Leaf {
            path: "network vnet peering create",
            about: "Create a virtual network peering connection.",
            args: vec![
                rg(),
                vnet(),
                name(),
                req("remote-vnet"),
                boolean("allow-vnet-access"),
                boolean("allow-forwarded-traffic"),
                boolean("allow-gateway-transit"),
                boolean("use-remote-gateways"),
                boolean("peer-complete-vnets"),
                flag("no-wait"),
            ],
            run: peering_create,
        },
        Leaf {
            path: "network vnet peering list",
            about: "List peerings.",
            args: vec![rg(), vnet()],
            run: peering_list,
        },
        Leaf {
            path: "network vnet peering show",
            about: "Show details of a peering.",
            args: vec![rg(), vnet(), name()],
            run: peering_show,
        },
        Leaf {
            path: "network vnet peering update",
            about: "Update a peering.",
            args: vec![
                rg(),
                vnet(),
                name(),
                many("set"),
                boolean("allow-vnet-access"),
                boolean("allow-forwarded-traffic"),
                boolean("allow-gateway-transit"),
                boolean("use-remote-gateways"),
                flag("no-wait"),
            ],
            run: peering_update,
        },
        Leaf {
            path: "network vnet peering delete",
            about: "Delete a peering.",
            args: vec![rg(), vnet(), name(), flag("no-wait")],
            run: peering_delete,
        },
        Leaf {
            path: "network vnet peering sync",
            about: "Sync a virtual network peering connection.",
            args: vec![rg(), vnet(), name(), flag("no-wait")],
            run: peering_sync,
        },
    ]
}

fn vnet_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "virtualNetworks", a.must(key))
}

/// A reference given as NAME (in `rg`) or ID; `""` removes it.
pub fn optional_ref(
    ctx: &Ctx,
    value: Option<&str>,
    rg: &str,
    kind: &str,
) -> Result<Option<Option<ResourceId>>, AzError> {
    match value {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => Ok(Some(Some(ctx.reference(v, rg, NETWORK, kind)?))),
    }
}

/// The subnet az makes with `vnet create --subnet-name` and no prefix:
/// the VNet's first prefix, as a /24 unless the VNet is smaller (§9.6).
fn default_subnet_prefix(vnet_prefix: &str) -> Option<String> {
    let net: Ipv4Net = vnet_prefix.parse().ok()?;
    let len = net.prefix_len().max(24);
    Ipv4Net::new(net.network(), len).ok().map(|n| n.to_string())
}

fn vnet_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let location = ctx.group(rg)?.location.clone();
    let id = vnet_id(ctx, &a, "name");
    let prefixes = a.list("address-prefixes").unwrap_or_else(|| vec!["10.0.0.0/16".into()]);
    let mut changes = vec![Change::PutVirtualNetwork(VnetSpec {
        id: id.clone(),
        location: Some(a.str("location").unwrap_or(&location).to_string()),
        address_prefixes: prefixes.clone(),
        flow_timeout_in_minutes: a.int("flowtimeout")?,
        dns_servers: super::cmd_nic::dns_servers_arg(&a),
    })];
    match (a.str("subnet-name"), a.list("subnet-prefixes")) {
        (None, Some(_)) => {
            return Err(AzError::Usage(
                "incorrect usage: --subnet-name NAME [--subnet-prefixes PREFIXES]".into(),
            ));
        }
        (None, None) => {}
        (Some(subnet), given) => {
            let prefix = match given {
                Some(p) => one_prefix(p, subnet)?,
                None => default_subnet_prefix(&prefixes[0]).unwrap_or_else(|| prefixes[0].clone()),
            };
            let nsg = optional_ref(ctx, a.str("network-security-group"), rg, "networkSecurityGroups")?.flatten();
            changes.push(Change::PutSubnet(SubnetSpec {
                id: id.child("subnets", subnet),
                address_prefix: prefix,
                network_security_group: nsg,
                route_table: None,
                default_outbound_access: None,
            }));
        }
    }
    changes.push(a.tags_put(&id));
    ctx.apply(changes)?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let v = ctx.existing(&ctx.model().virtual_networks, &id)?;
    Ok(Reply::Value(json!({ "newVNet": render::vnet(ctx.model(), v) })))
}

/// vnetlab keeps one address prefix per subnet.
fn one_prefix(mut prefixes: Vec<String>, subnet: &str) -> Result<String, AzError> {
    if prefixes.len() != 1 {
        return Err(AzError::Cli(format!(
            "Subnet '{subnet}' was given {} address prefixes; vnetlab models one prefix per subnet. Give one, e.g. --address-prefixes 10.0.1.0/24.",
            prefixes.len()
        )));
    }
    Ok(prefixes.remove(0))
}

fn vnet_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Table(
        ctx.list(a.str("resource-group"), |m| &m.virtual_networks, render::vnet)?,
        vnet_table,
    ))
}

/// az's transform_vnet_table_output (§9.2).
fn vnet_table(v: &Value) -> Value {
    let row = |r: &Value| {
        let join = |a: &Value| {
            a.as_array()
                .map(|x| x.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let dns = join(&r["dhcpOptions"]["dnsServers"]);
        json!({
            "Name": r["name"],
            "ResourceGroup": r["resourceGroup"],
            "Location": r["location"],
            "NumSubnets": r["subnets"].as_array().map_or(0, Vec::len),
            "Prefixes": join(&r["addressSpace"]["addressPrefixes"]),
            "DnsServers": dns,
            "DDOSProtection": r["enableDdosProtection"],
            "VMProtection": r.get("enableVmProtection").cloned().unwrap_or(json!("")),
        })
    };
    table_rows(v, row)
}

fn vnet_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = vnet_id(ctx, &a, "name");
    let v = ctx.existing(&ctx.model().virtual_networks, &id)?;
    Ok(Reply::Table(render::vnet(ctx.model(), v), vnet_table))
}

fn vnet_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = vnet_id(ctx, &a, "name");
    let v = ctx.existing(&ctx.model().virtual_networks, &id)?;
    let spec = VnetSpec {
        id: id.clone(),
        location: Some(v.location.clone()),
        address_prefixes: a
            .list("address-prefixes")
            .unwrap_or_else(|| v.address_prefixes.iter().map(|p| p.to_string()).collect()),
        flow_timeout_in_minutes: a.int("flowtimeout")?.or(v.flow_timeout_in_minutes),
        dns_servers: super::cmd_nic::dns_servers_arg(&a),
    };
    let tags = a.tags_update(&id);
    ctx.apply([Change::PutVirtualNetwork(spec)].into_iter().chain(tags).collect())?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    vnet_show(ctx, a)
}

fn vnet_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = vnet_id(ctx, &a, "name");
    let present = ctx.model().virtual_networks.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteVirtualNetwork(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

fn subnet_id(ctx: &Ctx, a: &Args) -> ResourceId {
    vnet_id(ctx, a, "vnet-name").child("subnets", a.must("name"))
}

fn subnet_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let vnet = vnet_id(ctx, &a, "vnet-name");
    ctx.existing(&ctx.model().virtual_networks, &vnet)?;
    let spec = SubnetSpec {
        id: subnet_id(ctx, &a),
        address_prefix: one_prefix(a.list("address-prefixes").unwrap_or_default(), a.must("name"))?,
        network_security_group: optional_ref(ctx, a.str("network-security-group"), rg, "networkSecurityGroups")?
            .flatten(),
        route_table: optional_ref(ctx, a.str("route-table"), rg, "routeTables")?.flatten(),
        default_outbound_access: a.bool("default-outbound-access"),
    };
    ctx.apply(vec![Change::PutSubnet(spec)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    subnet_show(ctx, a)
}

fn subnet_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let vnet = vnet_id(ctx, &a, "vnet-name");
    let v = ctx.existing(&ctx.model().virtual_networks, &vnet)?;
    Ok(Reply::Value(Value::Array(
        v.subnets.iter().map(|s| render::subnet(ctx.model(), s)).collect(),
    )))
}

fn subnet_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = subnet_id(ctx, &a);
    let vnet = vnet_id(ctx, &a, "vnet-name");
    ctx.existing(&ctx.model().virtual_networks, &vnet)?;
    let (_, s) = ctx.model().subnet(&id).ok_or_else(|| not_found(&id))?;
    Ok(Reply::Value(render::subnet(ctx.model(), s)))
}

fn subnet_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let id = subnet_id(ctx, &a);
    ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    let (_, s) = ctx.model().subnet(&id).ok_or_else(|| not_found(&id))?;
    let spec = SubnetSpec {
        id: id.clone(),
        address_prefix: match a.list("address-prefixes") {
            Some(p) => one_prefix(p, a.must("name"))?,
            None => s.address_prefix.to_string(),
        },
        network_security_group: optional_ref(ctx, a.str("network-security-group"), rg, "networkSecurityGroups")?
            .unwrap_or_else(|| s.network_security_group.clone()),
        route_table: optional_ref(ctx, a.str("route-table"), rg, "routeTables")?
            .unwrap_or_else(|| s.route_table.clone()),
        default_outbound_access: Some(a.bool("default-outbound-access").unwrap_or(s.default_outbound_access)),
    };
    ctx.apply(vec![Change::PutSubnet(spec)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    subnet_show(ctx, a)
}

fn subnet_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = subnet_id(ctx, &a);
    if ctx.model().subnet(&id).is_some() {
        ctx.apply(vec![Change::DeleteSubnet(id)])?;
    } else {
        ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    }
    Ok(Reply::Nothing)
}

fn peering_id(ctx: &Ctx, a: &Args) -> ResourceId {
    vnet_id(ctx, a, "vnet-name").child("virtualNetworkPeerings", a.must("name"))
}

fn peering_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    if a.bool("peer-complete-vnets") == Some(false) {
        return Err(AzError::Cli("vnetlab peers complete virtual networks only: subnet peering (--peer-complete-vnets false) is not emulated.".into()));
    }
    let spec = PeeringSpec {
        id: peering_id(ctx, &a),
        remote_virtual_network: ctx.reference(a.must("remote-vnet"), rg, NETWORK, "virtualNetworks")?,
        // az sends false for every flag not given (§9.6: --allow-vnet-access too).
        allow_virtual_network_access: a.bool("allow-vnet-access").unwrap_or(false),
        allow_forwarded_traffic: a.bool("allow-forwarded-traffic").unwrap_or(false),
        allow_gateway_transit: a.bool("allow-gateway-transit").unwrap_or(false),
        use_remote_gateways: a.bool("use-remote-gateways").unwrap_or(false),
        principal: ctx.principal(),
    };
    ctx.apply(vec![Change::PutPeering(spec)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    peering_show(ctx, a)
}

fn peering_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let v = ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    Ok(Reply::Value(Value::Array(
        v.peerings.iter().map(|p| render::peering(ctx.model(), v, p)).collect(),
    )))
}

fn peering_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = peering_id(ctx, &a);
    ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    let (v, p) = ctx.model().peering(&id).ok_or_else(|| not_found(&id))?;
    Ok(Reply::Value(render::peering(ctx.model(), v, p)))
}

fn peering_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = peering_id(ctx, &a);
    ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    let (_, p) = ctx.model().peering(&id).ok_or_else(|| not_found(&id))?;
    let mut spec = PeeringSpec {
        id: id.clone(),
        remote_virtual_network: p.remote_virtual_network.clone(),
        allow_virtual_network_access: a.bool("allow-vnet-access").unwrap_or(p.allow_virtual_network_access),
        allow_forwarded_traffic: a.bool("allow-forwarded-traffic").unwrap_or(p.allow_forwarded_traffic),
        allow_gateway_transit: a.bool("allow-gateway-transit").unwrap_or(p.allow_gateway_transit),
        use_remote_gateways: a.bool("use-remote-gateways").unwrap_or(p.use_remote_gateways),
        principal: ctx.principal(),
    };
    for assignment in a.list("set").unwrap_or_default() {
        set_peering_property(&mut spec, &assignment)?;
    }
    ctx.apply(vec![Change::PutPeering(spec)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    peering_show(ctx, a)
}

/// The generic `--set path=value` for the properties a peering has.
fn set_peering_property(spec: &mut PeeringSpec, assignment: &str) -> Result<(), AzError> {
    let (path, value) = assignment
        .split_once('=')
        .ok_or_else(|| AzError::Cli(format!("usage error: --set property.path=value, got '{assignment}'")))?;
    let key = path.trim().trim_start_matches("properties.").to_ascii_lowercase();
    let flag = match key.as_str() {
        "allowvirtualnetworkaccess" => &mut spec.allow_virtual_network_access,
        "allowforwardedtraffic" => &mut spec.allow_forwarded_traffic,
        "allowgatewaytransit" => &mut spec.allow_gateway_transit,
        "useremotegateways" => &mut spec.use_remote_gateways,
        _ => {
            return Err(AzError::Cli(format!(
                "Couldn't find '{path}' in ''. Available options: ['allowForwardedTraffic', 'allowGatewayTransit', 'allowVirtualNetworkAccess', 'useRemoteGateways']"
            )));
        }
    };
    *flag = match value.trim().to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(AzError::Cli(format!(
                "'{other}' is not a valid value for {path}: use true or false."
            )));
        }
    };
    Ok(())
}

fn peering_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = peering_id(ctx, &a);
    if ctx.model().peering(&id).is_some() {
        ctx.apply(vec![Change::DeletePeering(id)])?;
    } else {
        ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    }
    Ok(Reply::Nothing)
}

fn peering_sync(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = peering_id(ctx, &a);
    ctx.existing(&ctx.model().virtual_networks, &vnet_id(ctx, &a, "vnet-name"))?;
    ctx.model().peering(&id).ok_or_else(|| not_found(&id))?;
    ctx.apply(vec![Change::SyncPeering(id)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    peering_show(ctx, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_prefix_defaults_to_a_slash_24_of_the_first_vnet_prefix() {
        assert_eq!(default_subnet_prefix("10.1.0.0/16").as_deref(), Some("10.1.0.0/24"));
        assert_eq!(default_subnet_prefix("10.1.2.0/26").as_deref(), Some("10.1.2.0/26"));
    }
}
