//! `az network vnet-gateway`, `local-gateway` and `vpn-connection`
//! (azure-semantics §6, §9.6). Gateways are ready as soon as they are
//! created: `--no-wait` only silences the output.

use serde_json::{Value, json};

use super::args::{Args, Leaf, boolean, choice, flag, location, many, name, opt, req, rg, tags};
use super::ctx::not_found;
use super::{AzError, Ctx, Handler, Reply, finish, render, table_rows};
use crate::model::{
    AzureError, Change, ConnectionSpec, ConnectionType, ErrorCode, GATEWAY_SKUS, GatewaySpec, GatewayType,
    LocalGatewaySpec, NETWORK, ResourceId, VPN_GATEWAY_GENERATIONS, VpnType,
};
use crate::routing::{Hop, bgp, gateway_context};

pub fn leaves() -> Vec<Leaf<Handler>> {
    let mut all = vnet_gateway_leaves();
    all.extend(local_gateway_leaves());
    all.extend(connection_leaves());
    all
}

fn vnet_gateway_leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "network vnet-gateway create",
            about: "Create a virtual network gateway.",
            args: vec![
                rg(),
                name(),
                location(),
                req("vnet"),
                many("public-ip-addresses").alias("public-ip-address").required(true),
                choice("gateway-type", &["ExpressRoute", "LocalGateway", "Vpn"]),
                choice("vpn-type", &["PolicyBased", "RouteBased"]),
                choice("sku", GATEWAY_SKUS),
                opt("asn"),
                opt("bgp-peering-address"),
                choice("vpn-gateway-generation", VPN_GATEWAY_GENERATIONS),
                tags(),
                flag("no-wait"),
            ],
            run: gateway_create,
        },
        Leaf {
            path: "network vnet-gateway list",
            about: "List virtual network gateways.",
            args: vec![rg()],
            run: gateway_list,
        },
        Leaf {
            path: "network vnet-gateway show",
            about: "Get the details of a virtual network gateway.",
            args: vec![rg(), name()],
            run: gateway_show,
        },
        Leaf {
            path: "network vnet-gateway delete",
            about: "Delete a virtual network gateway.",
            args: vec![rg(), name(), flag("no-wait")],
            run: gateway_delete,
        },
        Leaf {
            path: "network vnet-gateway wait",
            about: "Place the CLI in a waiting state until a condition of the virtual network gateway is met.",
            args: vec![
                rg(),
                name(),
                flag("created"),
                flag("updated"),
                flag("deleted"),
                flag("exists"),
                opt("custom"),
                opt("interval"),
                opt("timeout"),
            ],
            run: gateway_wait,
        },
        Leaf {
            path: "network vnet-gateway list-learned-routes",
            about: "This operation retrieves a list of routes the virtual network gateway has learned, including routes learned from BGP peers.",
            args: vec![rg(), name()],
            run: gateway_learned_routes,
        },
    ]
}

fn local_gateway_leaves() -> Vec<Leaf<Handler>> {
    let bgp = || [opt("asn"), opt("bgp-peering-address")];
    vec![
        Leaf {
            path: "network local-gateway create",
            about: "Create a local VPN gateway.",
            args: [
                vec![
                    rg(),
                    name(),
                    location(),
                    req("gateway-ip-address"),
                    many("local-address-prefixes"),
                    tags(),
                    flag("no-wait"),
                ],
                bgp().to_vec(),
            ]
            .concat(),
            run: local_create,
        },
        Leaf {
            path: "network local-gateway list",
            about: "List all local VPN gateways in a resource group.",
            args: vec![rg()],
            run: local_list,
        },
        Leaf {
            path: "network local-gateway show",
            about: "Get the details of a local VPN gateway.",
            args: vec![rg(), name()],
            run: local_show,
        },
        Leaf {
            path: "network local-gateway update",
            about: "Update a local VPN gateway.",
            args: [
                vec![
                    rg(),
                    name(),
                    opt("gateway-ip-address"),
                    many("local-address-prefixes"),
                    tags(),
                    flag("no-wait"),
                ],
                bgp().to_vec(),
            ]
            .concat(),
            run: local_update,
        },
        Leaf {
            path: "network local-gateway delete",
            about: "Delete a local VPN gateway.",
            args: vec![rg(), name(), flag("no-wait")],
            run: local_delete,
        },
    ]
}

fn connection_leaves() -> Vec<Leaf<Handler>> {
    let conn = || req("connection-name");
    vec![
        Leaf {
            path: "network vpn-connection create",
            about: "Create a VPN connection.",
            args: vec![
                rg(),
                name(),
                location(),
                req("vnet-gateway1"),
                opt("vnet-gateway2"),
                opt("local-gateway2"),
                opt("shared-key"),
                boolean("enable-bgp"),
                tags(),
                flag("no-wait"),
            ],
            run: connection_create,
        },
        Leaf {
            path: "network vpn-connection list",
            about: "List all VPN connections in a resource group.",
            args: vec![rg()],
            run: connection_list,
        },
        Leaf {
            path: "network vpn-connection show",
            about: "Get the details of a VPN connection.",
            args: vec![rg(), name()],
            run: connection_show,
        },
        Leaf {
            path: "network vpn-connection delete",
            about: "Delete a VPN connection.",
            args: vec![rg(), name(), flag("no-wait")],
            run: connection_delete,
        },
        Leaf {
            path: "network vpn-connection shared-key show",
            about: "Retrieve a VPN connection shared key.",
            args: vec![rg(), conn()],
            run: shared_key_show,
        },
        Leaf {
            path: "network vpn-connection shared-key update",
            about: "Update a VPN connection shared key.",
            args: vec![rg(), conn(), req("value"), flag("no-wait")],
            run: shared_key_update,
        },
    ]
}

// ---------------------------------------------------------------- vnet-gateway

fn gateway_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "virtualNetworkGateways", a.must("name"))
}

/// `--bgp-peering-address` must be an IPv4 address; az only uses it to
/// turn BGP on, the gateway's BGP address is its own in GatewaySubnet.
fn check_bgp_address(value: Option<&str>) -> Result<(), AzError> {
    match value {
        Some(v) if v.trim().parse::<std::net::Ipv4Addr>().is_err() => Err(AzureError::new(
            ErrorCode::InvalidRequestFormat,
            format!("BGP peering address '{v}' is not a valid IPv4 address."),
        )
        .into()),
        _ => Ok(()),
    }
}

fn gateway_type(value: Option<&str>) -> Result<GatewayType, AzError> {
    match value.unwrap_or("Vpn") {
        "ExpressRoute" => Ok(GatewayType::ExpressRoute),
        "Vpn" => Ok(GatewayType::Vpn),
        other => Err(AzError::Cli(format!(
            "vnetlab emulates Vpn and ExpressRoute gateways; gateway type {other} (for Azure Extended Zones) is not emulated."
        ))),
    }
}

/// az's defaults (§9.6): type Vpn, RouteBased, SKU **Basic**; one public
/// IP makes an active-standby gateway, two an active-active one; `--asn`
/// or `--bgp-peering-address` turns BGP on.
fn gateway_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let pips = a
        .list("public-ip-addresses")
        .unwrap_or_default()
        .iter()
        .map(|p| ctx.reference(p, rg, NETWORK, "publicIPAddresses"))
        .collect::<Result<Vec<_>, _>>()?;
    let asn = a.int::<u32>("asn")?;
    check_bgp_address(a.str("bgp-peering-address"))?;
    let spec = GatewaySpec {
        id: gateway_id(ctx, &a),
        location: a.str("location").map(str::to_string),
        virtual_network: ctx.reference(a.must("vnet"), rg, NETWORK, "virtualNetworks")?,
        gateway_type: gateway_type(a.str("gateway-type"))?,
        sku: a.str("sku").unwrap_or("Basic").to_string(),
        active_active: pips.len() == 2,
        enable_bgp: asn.is_some() || a.str("bgp-peering-address").is_some(),
        asn,
        public_ip_addresses: pips,
        vpn_type: if a.str("vpn-type") == Some("PolicyBased") {
            VpnType::PolicyBased
        } else {
            VpnType::RouteBased
        },
        vpn_gateway_generation: a.str("vpn-gateway-generation").map(str::to_string),
    };
    let id = spec.id.clone();
    ctx.apply(vec![Change::PutVirtualNetworkGateway(spec), a.tags_put(&id)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let g = ctx.existing(&ctx.model().virtual_network_gateways, &id)?;
    Ok(Reply::Value(
        json!({ "vnetGateway": render::vnet_gateway(ctx.model(), g) }),
    ))
}

fn gateway_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.virtual_network_gateways,
        render::vnet_gateway,
    )?))
}

fn gateway_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let g = ctx.existing(&ctx.model().virtual_network_gateways, &gateway_id(ctx, &a))?;
    Ok(Reply::Value(render::vnet_gateway(ctx.model(), g)))
}

/// In vnetlab a gateway is built (or removed) at once, so the condition
/// holds now or never will: answer at once instead of polling until the
/// timeout.
fn gateway_wait(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = gateway_id(ctx, &a);
    if a.flag("deleted") {
        if ctx.model().virtual_network_gateways.contains_key(&id) {
            return Err(AzError::Cli(format!(
                "Virtual network gateway '{}' still exists, and nothing is deleting it: vnetlab deletes at once, so waiting would never end.",
                id.name()
            )));
        }
        return Ok(Reply::Nothing);
    }
    ctx.existing(&ctx.model().virtual_network_gateways, &id)?;
    Ok(Reply::Nothing)
}

fn gateway_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = gateway_id(ctx, &a);
    let present = ctx.model().virtual_network_gateways.contains_key(&id);
    ctx.delete_if_present(
        present,
        Change::DeleteVirtualNetworkGateway(id),
        a.must("resource-group"),
    )?;
    Ok(Reply::Nothing)
}

/// What the gateway knows, from the routing module's view of its VNet:
/// its own and its transit spokes' ranges and the prefixes behind its
/// connections, static routes (origin Network) sourced by the gateway
/// itself; with Route Server's branch-to-branch on, the NVAs' routes too,
/// learned over iBGP from the Route Server instances (both ASN 65515),
/// one row per instance and next hop, the AS path as az prints it
/// ("65001-65001": hyphens, nearest AS first).
fn gateway_learned_routes(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let m = ctx.model();
    let g = ctx.existing(&m.virtual_network_gateways, &gateway_id(ctx, &a))?;
    let own = m
        .gateway_instance_ips(g)
        .first()
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let rs = m.route_server_of(&g.virtual_network);
    let mut value: Vec<Value> = Vec::new();
    // Two connections to the same site teach its prefixes once.
    let mut prefixes = Vec::new();
    for (prefix, hop) in gateway_context(m, &g.virtual_network) {
        if prefixes.contains(&prefix) {
            continue;
        }
        prefixes.push(prefix);
        match (hop, rs) {
            (Hop::Appliance { ips }, Some(rs)) => {
                let paths = bgp::paths(rs);
                for peer in m.route_server_ips(rs) {
                    for ip in &ips {
                        let path = paths
                            .iter()
                            .find(|p| p.prefix == prefix && p.next_hop == *ip)
                            .map(|p| p.as_path.iter().map(u32::to_string).collect::<Vec<_>>().join("-"))
                            .unwrap_or_default();
                        value.push(json!({ "asPath": path, "localAddress": own, "network": prefix.to_string(), "nextHop": ip.to_string(), "origin": "IBgp", "sourcePeer": peer.to_string(), "weight": 32768 }));
                    }
                }
            }
            _ => value.push(json!({ "asPath": "", "localAddress": own, "network": prefix.to_string(), "origin": "Network", "sourcePeer": own, "weight": 32768 })),
        }
    }
    Ok(Reply::Table(json!({ "value": value }), gateway_routes_table))
}

/// az's transform_vnet_gateway_routes_table.
fn gateway_routes_table(v: &Value) -> Value {
    let text = |x: &Value| {
        x.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| if x.is_null() { String::new() } else { x.to_string() })
    };
    let rows = v["value"].as_array().into_iter().flatten().map(|r| {
        json!({ "Network": text(&r["network"]), "NextHop": text(&r["nextHop"]), "Origin": text(&r["origin"]), "SourcePeer": text(&r["sourcePeer"]), "AsPath": text(&r["asPath"]), "Weight": r["weight"] })
    });
    Value::Array(rows.collect())
}

// ---------------------------------------------------------------- local-gateway

fn local_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "localNetworkGateways", a.must("name"))
}

fn local_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let spec = LocalGatewaySpec {
        id: local_id(ctx, &a),
        location: a.str("location").map(str::to_string),
        gateway_ip_address: a.must("gateway-ip-address").to_string(),
        local_address_prefixes: a.list("local-address-prefixes").unwrap_or_default(),
        asn: a.int("asn")?,
        bgp_peering_address: a.str("bgp-peering-address").map(str::to_string),
    };
    let tags = a.tags_put(&spec.id);
    ctx.apply(vec![Change::PutLocalNetworkGateway(spec), tags])?;
    finish(ctx, a, local_show)
}

fn local_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Table(
        ctx.list(
            a.str("resource-group"),
            |m| &m.local_network_gateways,
            |_, l| render::local_gateway(l),
        )?,
        local_table,
    ))
}

/// az's transform_local_gateway_table_output: the first prefix, and
/// ", ..." when there are more.
fn local_table(v: &Value) -> Value {
    let row = |l: &Value| {
        let prefixes = l["localNetworkAddressSpace"]["addressPrefixes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let first = prefixes.first().and_then(Value::as_str).unwrap_or(" ");
        let more = if prefixes.len() > 1 { ", ..." } else { "" };
        json!({
            "Name": l["name"],
            "Location": l["location"],
            "ResourceGroup": l["resourceGroup"],
            "ProvisioningState": l["provisioningState"],
            "GatewayIpAddress": l["gatewayIpAddress"],
            "AddressPrefixes": format!("{first}{more}"),
        })
    };
    table_rows(v, row)
}

fn local_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let l = ctx.existing(&ctx.model().local_network_gateways, &local_id(ctx, &a))?;
    Ok(Reply::Value(render::local_gateway(l)))
}

fn local_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let l = ctx.existing(&ctx.model().local_network_gateways, &local_id(ctx, &a))?;
    let spec = LocalGatewaySpec {
        id: l.id.clone(),
        location: Some(l.location.clone()),
        gateway_ip_address: a
            .str("gateway-ip-address")
            .map_or_else(|| l.gateway_ip_address.to_string(), str::to_string),
        local_address_prefixes: a
            .list("local-address-prefixes")
            .unwrap_or_else(|| l.local_address_prefixes.iter().map(|p| p.to_string()).collect()),
        asn: a.int("asn")?.or(l.asn),
        bgp_peering_address: a
            .str("bgp-peering-address")
            .map(str::to_string)
            .or_else(|| l.bgp_peering_address.map(|b| b.to_string())),
    };
    let tags = a.tags_update(&l.id);
    ctx.apply([Change::PutLocalNetworkGateway(spec)].into_iter().chain(tags).collect())?;
    finish(ctx, a, local_show)
}

fn local_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = local_id(ctx, &a);
    let present = ctx.model().local_network_gateways.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteLocalNetworkGateway(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

// ---------------------------------------------------------------- vpn-connection

fn connection_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "connections", a.must(key))
}

/// The far end: another VNet's gateway (Vnet2Vnet) or a local network
/// gateway (IPsec), exactly one, as az's validator insists.
fn far_end(ctx: &Ctx, a: &Args) -> Result<(ConnectionType, ResourceId), AzError> {
    let rg = a.must("resource-group");
    match (a.str("vnet-gateway2"), a.str("local-gateway2")) {
        (Some(g), None) => Ok((ConnectionType::Vnet2Vnet, ctx.reference(g, rg, NETWORK, "virtualNetworkGateways")?)),
        (None, Some(l)) => Ok((ConnectionType::IPsec, ctx.reference(l, rg, NETWORK, "localNetworkGateways")?)),
        _ => Err(AzError::Usage("usage error: --vnet-gateway2 NAME_OR_ID | --local-gateway2 NAME_OR_ID | --express-route-circuit2 NAME_OR_ID".into())),
    }
}

/// A VNet-to-VNet link takes two of these, one from each side with the
/// same key; each shows Connected once its partner exists.
fn connection_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (connection_type, peer) = far_end(ctx, &a)?;
    let spec = ConnectionSpec {
        id: connection_id(ctx, &a, "name"),
        location: a.str("location").map(str::to_string),
        connection_type,
        virtual_network_gateway1: ctx.reference(
            a.must("vnet-gateway1"),
            a.must("resource-group"),
            NETWORK,
            "virtualNetworkGateways",
        )?,
        peer,
        shared_key: a.str("shared-key").map(str::to_string),
        enable_bgp: a.bool("enable-bgp").unwrap_or(false),
    };
    let id = spec.id.clone();
    ctx.apply(vec![Change::PutConnection(spec), a.tags_put(&id)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    // az deploys a template whose one output, `resource`, is the
    // connection's properties.
    let c = ctx.existing(&ctx.model().connections, &id)?;
    Ok(Reply::Value(
        json!({ "resource": render::connection_properties(ctx.model(), c) }),
    ))
}

fn connection_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.connections,
        render::connection,
    )?))
}

fn connection_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let c = ctx.existing(&ctx.model().connections, &connection_id(ctx, &a, "name"))?;
    Ok(Reply::Value(render::connection(ctx.model(), c)))
}

fn connection_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = connection_id(ctx, &a, "name");
    let present = ctx.model().connections.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteConnection(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// ARM's ConnectionSharedKey: the key and the ID of the sharedkey child.
fn shared_key(id: &ResourceId, key: Option<&str>) -> Value {
    json!({ "id": format!("{id}/sharedkey"), "value": key })
}

fn shared_key_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = connection_id(ctx, &a, "connection-name");
    let c = ctx.existing(&ctx.model().connections, &id)?;
    Ok(Reply::Value(shared_key(&id, c.shared_key.as_deref())))
}

fn shared_key_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = connection_id(ctx, &a, "connection-name");
    let c = ctx.existing(&ctx.model().connections, &id)?;
    let spec = ConnectionSpec {
        id: id.clone(),
        location: Some(c.location.clone()),
        connection_type: c.connection_type,
        virtual_network_gateway1: c.virtual_network_gateway1.clone(),
        peer: c.peer.clone(),
        shared_key: Some(a.must("value").to_string()),
        enable_bgp: c.enable_bgp,
    };
    ctx.apply(vec![Change::PutConnection(spec)])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let c = ctx.model().connections.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(Reply::Value(shared_key(&id, c.shared_key.as_deref())))
}
