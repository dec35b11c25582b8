//! `az network routeserver` and `routeserver peering` (azure-semantics §7).
//!
//! In a running lab each Route Server instance is a real BGP speaker
//! (FRR's bgpd, see `host::bgp`): a peering made here is a neighbor of
//! both, and what the NVA announces over it is what they learn. Offline,
//! what an NVA announces comes from the topology file's
//! `advertisedPrefixes`, which the az front cannot set.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::args::{Args, Leaf, boolean, flag, location, name, opt, req, rg, tags, yes};
use super::ctx::not_found;
use super::{AzError, Ctx, Handler, Reply, confirm, finish, render};
use crate::model::{
    AzureError, Change, ErrorCode, LearnedRoute, Model, NETWORK, ResourceId, RouteServer, RouteServerPeering,
    RouteServerPeeringSpec, RouteServerSpec,
};
use crate::routing::bgp;

pub fn leaves() -> Vec<Leaf<Handler>> {
    let server = || req("routeserver");
    vec![
        Leaf {
            path: "network routeserver create",
            about: "Create a route server.",
            args: vec![
                rg(),
                name(),
                location(),
                req("hosted-subnet"),
                req("public-ip-address"),
                tags(),
                flag("no-wait"),
            ],
            run: create,
        },
        Leaf {
            path: "network routeserver list",
            about: "List all route servers under a subscription or a resource group.",
            args: vec![opt("resource-group").short('g')],
            run: list,
        },
        Leaf {
            path: "network routeserver show",
            about: "Show a route server.",
            args: vec![rg(), name()],
            run: show,
        },
        Leaf {
            path: "network routeserver update",
            about: "Update a route server.",
            args: vec![rg(), name(), boolean("allow-b2b-traffic"), tags(), flag("no-wait")],
            run: update,
        },
        Leaf {
            path: "network routeserver delete",
            about: "Delete a route server under a resource group.",
            args: vec![rg(), name(), yes(), flag("no-wait")],
            run: delete,
        },
        Leaf {
            path: "network routeserver peering create",
            about: "Create a route server peering.",
            args: vec![rg(), server(), name(), req("peer-ip"), req("peer-asn"), flag("no-wait")],
            run: peering_create,
        },
        Leaf {
            path: "network routeserver peering list",
            about: "List route server peerings under a resource group.",
            args: vec![rg(), server()],
            run: peering_list,
        },
        Leaf {
            path: "network routeserver peering show",
            about: "Show a route server peering.",
            args: vec![rg(), server(), name()],
            run: peering_show,
        },
        Leaf {
            path: "network routeserver peering delete",
            about: "Delete a route server peering.",
            args: vec![rg(), server(), name(), yes(), flag("no-wait")],
            run: peering_delete,
        },
        Leaf {
            path: "network routeserver peering list-learned-routes",
            about: "List all routes the route server bgp connection has learned.",
            args: vec![rg(), server(), name()],
            run: learned_routes,
        },
        Leaf {
            path: "network routeserver peering list-advertised-routes",
            about: "List all routes the route server bgp connection is advertising to the specified peer.",
            args: vec![rg(), server(), name()],
            run: advertised_routes,
        },
    ]
}

fn server_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "virtualHubs", a.must(key))
}

/// `--hosted-subnet` is the subnet's full ID, as in the quickstart.
fn hosted_subnet(value: &str) -> Result<ResourceId, AzError> {
    ResourceId::parse(value).filter(|id| id.resource_type().ends_with("virtualNetworks/subnets")).ok_or_else(|| {
        AzureError::new(
            ErrorCode::InvalidRequestFormat,
            format!("Reference Id {value} is not formatted correctly. The Id is expected to reference resources of type virtualNetworks/subnets: give the RouteServerSubnet's ID (az network vnet subnet show --query id -o tsv)."),
        )
        .into()
    })
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let spec = RouteServerSpec {
        id: server_id(ctx, &a, "name"),
        location: a.str("location").map(str::to_string),
        hosted_subnet: hosted_subnet(a.must("hosted-subnet"))?,
        allow_branch_to_branch_traffic: false,
        public_ip_address: Some(ctx.reference(a.must("public-ip-address"), rg, NETWORK, "publicIPAddresses")?),
        bgp_hold_secs: None,
    };
    let tags = a.tags_put(&spec.id);
    ctx.apply(vec![Change::PutRouteServer(spec), tags])?;
    finish(ctx, a, show)
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.route_servers,
        render::route_server,
    )?))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rs = ctx.existing(&ctx.model().route_servers, &server_id(ctx, &a, "name"))?;
    Ok(Reply::Value(render::route_server(ctx.model(), rs)))
}

fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rs = ctx.existing(&ctx.model().route_servers, &server_id(ctx, &a, "name"))?;
    let spec = RouteServerSpec {
        id: rs.id.clone(),
        location: Some(rs.location.clone()),
        hosted_subnet: rs.hosted_subnet.clone(),
        allow_branch_to_branch_traffic: a.bool("allow-b2b-traffic").unwrap_or(rs.allow_branch_to_branch_traffic),
        public_ip_address: rs.public_ip_address.clone(),
        bgp_hold_secs: rs.bgp_hold_secs,
    };
    let tags = a.tags_update(&rs.id);
    ctx.apply([Change::PutRouteServer(spec)].into_iter().chain(tags).collect())?;
    finish(ctx, a, show)
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let id = server_id(ctx, &a, "name");
    let present = ctx.model().route_servers.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteRouteServer(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// The Route Server named by `--routeserver` and the peering named by
/// `-n`, or ARM's not-found for whichever is missing.
fn peering<'m>(ctx: &'m Ctx, a: &Args) -> Result<(&'m RouteServer, &'m RouteServerPeering), AzError> {
    let rs = ctx.existing(&ctx.model().route_servers, &server_id(ctx, a, "routeserver"))?;
    let id = rs.id.child("bgpConnections", a.must("name"));
    let p = rs
        .peerings
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(id.name()))
        .ok_or_else(|| not_found(&id))?;
    Ok((rs, p))
}

fn peering_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rs_id = server_id(ctx, &a, "routeserver");
    let id = rs_id.child("bgpConnections", a.must("name"));
    // Re-creating a peering keeps what its NVA announces: that is the
    // NVA's doing, not the peering's.
    let announced = ctx
        .model()
        .route_servers
        .get(&rs_id)
        .and_then(|rs| rs.peerings.iter().find(|p| p.name.eq_ignore_ascii_case(id.name())))
        .map(|p| p.advertised_prefixes.iter().map(|n| n.to_string()).collect())
        .unwrap_or_default();
    let spec = RouteServerPeeringSpec {
        id,
        peer_ip: a.must("peer-ip").to_string(),
        peer_asn: a.int("peer-asn")?.unwrap_or_default(),
        advertised_prefixes: announced,
    };
    ctx.apply(vec![Change::PutRouteServerPeering(spec)])?;
    finish(ctx, a, peering_show)
}

fn peering_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rs = ctx.existing(&ctx.model().route_servers, &server_id(ctx, &a, "routeserver"))?;
    Ok(Reply::Value(Value::Array(
        rs.peerings
            .iter()
            .map(|p| render::route_server_peering(rs, p))
            .collect(),
    )))
}

fn peering_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (rs, p) = peering(ctx, &a)?;
    Ok(Reply::Value(render::route_server_peering(rs, p)))
}

fn peering_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let rs = ctx.existing(&ctx.model().route_servers, &server_id(ctx, &a, "routeserver"))?;
    if rs.peerings.iter().any(|p| p.name.eq_ignore_ascii_case(a.must("name"))) {
        let id = rs.id.child("bgpConnections", a.must("name"));
        ctx.apply(vec![Change::DeleteRouteServerPeering(id)])?;
    }
    Ok(Reply::Nothing)
}

/// One BGP route as Route Server lists it, per Route Server instance
/// (`RouteServiceRole_IN_0`, `_IN_1`), as az prints them.
fn per_instance(m: &Model, rs: &RouteServer, route: impl Fn(usize, Ipv4Addr) -> Vec<Value>) -> Value {
    let mut doc = json!({ "value": null });
    for (i, ip) in m.route_server_ips(rs).into_iter().enumerate() {
        doc[format!("RouteServiceRole_IN_{i}")] = Value::Array(route(i, ip));
    }
    doc
}

/// What the Route Server instances learned from the NVA at the peering:
/// in a running lab what its BGP speakers hold (read from them within a
/// second), offline what the topology file's `advertisedPrefixes` say it
/// announces (to both instances, as an NVA must).
fn learned_routes(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (rs, p) = peering(ctx, &a)?;
    let doc = per_instance(ctx.model(), rs, |i, local| {
        let from_peer = |r: &&LearnedRoute| r.source_peer == p.peer_ip;
        let live = rs
            .learned
            .iter()
            .filter(from_peer)
            .filter(|r| usize::from(r.instance) == i);
        let configured = p.advertised_prefixes.iter().map(|n| LearnedRoute {
            instance: 0,
            prefix: *n,
            next_hop: p.peer_ip,
            source_peer: p.peer_ip,
            as_path: vec![p.peer_asn],
            no_advertise: false,
        });
        live.cloned()
            .chain(configured)
            .map(|r| {
                let path: Vec<String> = r.as_path.iter().map(u32::to_string).collect();
                json!({ "asPath": path.join("-"), "localAddress": local.to_string(), "network": r.prefix.to_string(), "nextHop": r.next_hop.to_string(), "origin": "EBgp", "sourcePeer": r.source_peer.to_string(), "weight": 32768 })
            })
            .collect()
    });
    Ok(Reply::Value(doc))
}

/// What Route Server announces to the NVA (§3.3): its VNet's ranges and
/// those of the spokes that use it as remote gateway; with branch-to-branch
/// on, also what the VNet's VPN gateway reaches. The live speakers are
/// configured with the same list.
fn advertised_routes(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (rs, _) = peering(ctx, &a)?;
    let m = ctx.model();
    let prefixes: Vec<String> = bgp::advertised(m, rs).into_iter().map(|n| n.to_string()).collect();
    let doc = per_instance(m, rs, |_, local| {
        let own = local.to_string();
        prefixes.iter().map(|n| json!({ "asPath": "65515", "localAddress": own, "network": n, "nextHop": own, "origin": "Igp", "sourcePeer": own, "weight": 0 })).collect()
    });
    Ok(Reply::Value(doc))
}
