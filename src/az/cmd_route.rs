//! `az network route-table` and `route-table route`.

use serde_json::Value;

use super::args::{Args, Leaf, boolean, choice, flag, location, name, opt, req, rg, tags};
use super::ctx::not_found;
use super::{AzError, Ctx, Handler, Reply, finish, render};
use crate::model::{Change, ResourceId, RouteSpec};

const NEXT_HOP_TYPES: &[&str] = &[
    "Internet",
    "None",
    "VirtualAppliance",
    "VirtualNetworkGateway",
    "VnetLocal",
];

pub fn leaves() -> Vec<Leaf<Handler>> {
    let table = || req("route-table-name");
    vec![
        Leaf {
            path: "network route-table create",
            about: "Create a route table.",
            args: vec![
                rg(),
                name(),
                location(),
                boolean("disable-bgp-route-propagation"),
                tags(),
                flag("no-wait"),
            ],
            run: create,
        },
        Leaf {
            path: "network route-table list",
            about: "List route tables.",
            args: vec![opt("resource-group").short('g')],
            run: list,
        },
        Leaf {
            path: "network route-table show",
            about: "Get the details of a route table.",
            args: vec![rg(), name()],
            run: show,
        },
        Leaf {
            path: "network route-table update",
            about: "Update a route table.",
            args: vec![
                rg(),
                name(),
                boolean("disable-bgp-route-propagation"),
                tags(),
                flag("no-wait"),
            ],
            run: update,
        },
        Leaf {
            path: "network route-table delete",
            about: "Delete a route table.",
            args: vec![rg(), name(), flag("no-wait")],
            run: delete,
        },
        Leaf {
            path: "network route-table route create",
            about: "Create a route in a route table.",
            args: vec![
                rg(),
                table(),
                name(),
                req("address-prefix"),
                choice("next-hop-type", NEXT_HOP_TYPES).required(true),
                opt("next-hop-ip-address"),
                flag("no-wait"),
            ],
            run: route_create,
        },
        Leaf {
            path: "network route-table route list",
            about: "List routes in a route table.",
            args: vec![rg(), table()],
            run: route_list,
        },
        Leaf {
            path: "network route-table route show",
            about: "Get the details of a route.",
            args: vec![rg(), table(), name()],
            run: route_show,
        },
        Leaf {
            path: "network route-table route update",
            about: "Update a route in a route table.",
            args: vec![
                rg(),
                table(),
                name(),
                opt("address-prefix"),
                choice("next-hop-type", NEXT_HOP_TYPES),
                opt("next-hop-ip-address"),
                flag("no-wait"),
            ],
            run: route_update,
        },
        Leaf {
            path: "network route-table route delete",
            about: "Delete a route from a route table.",
            args: vec![rg(), table(), name(), flag("no-wait")],
            run: route_delete,
        },
    ]
}

fn table_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "routeTables", a.must(key))
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    ctx.group(a.must("resource-group"))?;
    let id = table_id(ctx, &a, "name");
    ctx.apply(vec![
        Change::PutRouteTable {
            id: id.clone(),
            location: a.str("location").map(str::to_string),
            disable_bgp_route_propagation: a.bool("disable-bgp-route-propagation").unwrap_or(false),
        },
        a.tags_put(&id),
    ])?;
    finish(ctx, a, show)
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.route_tables,
        render::route_table,
    )?))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = table_id(ctx, &a, "name");
    let t = ctx.existing(&ctx.model().route_tables, &id)?;
    Ok(Reply::Value(render::route_table(ctx.model(), t)))
}

fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = table_id(ctx, &a, "name");
    let t = ctx.existing(&ctx.model().route_tables, &id)?;
    let disable = a
        .bool("disable-bgp-route-propagation")
        .unwrap_or(t.disable_bgp_route_propagation);
    let tags = a.tags_update(&id);
    let put = Change::PutRouteTable {
        id,
        location: None,
        disable_bgp_route_propagation: disable,
    };
    ctx.apply([put].into_iter().chain(tags).collect())?;
    finish(ctx, a, show)
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = table_id(ctx, &a, "name");
    let present = ctx.model().route_tables.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteRouteTable(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

fn route_id(ctx: &Ctx, a: &Args) -> ResourceId {
    table_id(ctx, a, "route-table-name").child("routes", a.must("name"))
}

fn route_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    ctx.existing(&ctx.model().route_tables, &table_id(ctx, &a, "route-table-name"))?;
    let spec = RouteSpec {
        id: route_id(ctx, &a),
        address_prefix: a.must("address-prefix").into(),
        next_hop_type: a.must("next-hop-type").into(),
        next_hop_ip_address: a.str("next-hop-ip-address").map(str::to_string),
    };
    ctx.apply(vec![Change::PutRoute(spec)])?;
    finish(ctx, a, route_show)
}

fn route_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = ctx.existing(&ctx.model().route_tables, &table_id(ctx, &a, "route-table-name"))?;
    Ok(Reply::Value(Value::Array(
        t.routes.iter().map(|r| render::route(t, r)).collect(),
    )))
}

fn route_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = route_id(ctx, &a);
    let t = ctx.existing(&ctx.model().route_tables, &table_id(ctx, &a, "route-table-name"))?;
    let r = t
        .routes
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(a.must("name")))
        .ok_or_else(|| not_found(&id))?;
    Ok(Reply::Value(render::route(t, r)))
}

fn route_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = route_id(ctx, &a);
    let t = ctx.existing(&ctx.model().route_tables, &table_id(ctx, &a, "route-table-name"))?;
    let r = t
        .routes
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(a.must("name")))
        .ok_or_else(|| not_found(&id))?;
    let next_hop_type = a
        .str("next-hop-type")
        .map_or_else(|| r.next_hop_type.as_str().to_string(), str::to_string);
    // Changing the type away from VirtualAppliance drops the old address.
    let keep_ip = a.str("next-hop-type").is_none() || next_hop_type == "VirtualAppliance";
    let spec = RouteSpec {
        id,
        address_prefix: a
            .str("address-prefix")
            .map_or_else(|| r.address_prefix.to_string(), str::to_string),
        next_hop_type,
        next_hop_ip_address: a.str("next-hop-ip-address").map(str::to_string).or_else(|| {
            if keep_ip {
                r.next_hop_ip_address.map(|i| i.to_string())
            } else {
                None
            }
        }),
    };
    ctx.apply(vec![Change::PutRoute(spec)])?;
    finish(ctx, a, route_show)
}

fn route_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = route_id(ctx, &a);
    let t = ctx.existing(&ctx.model().route_tables, &table_id(ctx, &a, "route-table-name"))?;
    if t.routes.iter().any(|r| r.name.eq_ignore_ascii_case(a.must("name"))) {
        ctx.apply(vec![Change::DeleteRoute(id)])?;
    }
    Ok(Reply::Nothing)
}
