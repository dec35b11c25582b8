//! `az redis` (Azure Cache for Redis) and `az network private-endpoint`.
//! Caches are ready at once: Azure's 15–20 minutes are not emulated.

use serde_json::json;

use super::args::{Args, Leaf, boolean, choice, flag, location, many, name, opt, req, rg, tags, yes};
use super::{AzError, Ctx, Handler, Reply, confirm, finish, render};
use crate::model::{
    AzureError, Change, NETWORK, PrivateDnsZoneConfig, PrivateDnsZoneGroupSpec, PrivateEndpointSpec, RedisSku,
    RedisSpec, ResourceId,
};

const VM_SIZES: &[&str] = &["c0", "c1", "c2", "c3", "c4", "c5", "c6", "p1", "p2", "p3", "p4", "p5"];

pub fn leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "redis create",
            about: "Create new Redis Cache instance.",
            args: vec![
                rg(),
                name(),
                location().required(true),
                choice("sku", &["Basic", "Premium", "Standard"]).required(true),
                choice("vm-size", VM_SIZES).required(true),
                opt("subnet-id"),
                opt("static-ip"),
                boolean("enable-non-ssl-port"),
                opt("redis-version"),
                tags(),
            ],
            run: redis_create,
        },
        Leaf {
            path: "redis list",
            about: "List Redis Caches.",
            args: vec![opt("resource-group").short('g')],
            run: redis_list,
        },
        Leaf {
            path: "redis show",
            about: "Gets a Redis cache (resource description).",
            args: vec![rg(), name()],
            run: redis_show,
        },
        Leaf {
            path: "redis delete",
            about: "Deletes a Redis cache.",
            args: vec![rg(), name(), yes()],
            run: redis_delete,
        },
        Leaf {
            path: "redis list-keys",
            about: "Retrieve a Redis cache's access keys.",
            args: vec![rg(), name()],
            run: redis_keys,
        },
        Leaf {
            path: "network private-endpoint create",
            about: "Create a private endpoint.",
            args: vec![
                rg(),
                name(),
                location(),
                opt("vnet-name"),
                req("subnet"),
                req("private-connection-resource-id"),
                many("group-ids").alias("group-id"),
                req("connection-name"),
                tags(),
                flag("no-wait"),
            ],
            run: pe_create,
        },
        Leaf {
            path: "network private-endpoint list",
            about: "List private endpoints.",
            args: vec![opt("resource-group").short('g')],
            run: pe_list,
        },
        Leaf {
            path: "network private-endpoint show",
            about: "Get the details of a private endpoint.",
            args: vec![rg(), name()],
            run: pe_show,
        },
        Leaf {
            path: "network private-endpoint delete",
            about: "Delete a private endpoint.",
            args: vec![rg(), name(), flag("no-wait")],
            run: pe_delete,
        },
        Leaf {
            path: "network private-endpoint dns-zone-group create",
            about: "Create a private endpoint DNS zone group.",
            args: vec![
                rg(),
                req("endpoint-name"),
                name(),
                req("private-dns-zone"),
                req("zone-name"),
                flag("no-wait"),
            ],
            run: zg_create,
        },
        Leaf {
            path: "network private-endpoint dns-zone-group list",
            about: "List all private endpoint DNS zone groups.",
            args: vec![rg(), req("endpoint-name")],
            run: zg_list,
        },
        Leaf {
            path: "network private-endpoint dns-zone-group show",
            about: "Show a private endpoint DNS zone group.",
            args: vec![rg(), req("endpoint-name"), name()],
            run: zg_show,
        },
        Leaf {
            path: "network private-endpoint dns-zone-group delete",
            about: "Delete a private endpoint DNS zone group.",
            args: vec![rg(), req("endpoint-name"), name(), flag("no-wait")],
            run: zg_delete,
        },
    ]
}

// ---------------------------------------------------------------- redis

fn redis_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ResourceId::resource(
        ctx.sub(),
        a.must("resource-group"),
        crate::model::CACHE,
        crate::model::REDIS,
        a.must("name"),
    )
}

/// `redis create`: az polls until the cache is ready and prints it.
fn redis_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let sku = match a.must("sku") {
        "Premium" => RedisSku::Premium,
        "Standard" => RedisSku::Standard,
        _ => RedisSku::Basic,
    };
    // az checks the size against the SKU itself, before any request.
    let premium_size = a.must("vm-size").starts_with(['p', 'P']);
    if premium_size != (sku == RedisSku::Premium) {
        return Err(AzError::Cli("Invalid VM size. Example for Valid values: For Standard Sku : (C0, C1, C2, C3, C4, C5, C6), for Premium Sku : (P1, P2, P3, P4, P5)".into()));
    }
    let subnet = a
        .str("subnet-id")
        .map(|s| ctx.reference(s, rg, NETWORK, "virtualNetworks"))
        .transpose()?;
    let spec = RedisSpec {
        id: redis_id(ctx, &a),
        location: a.str("location").map(str::to_string),
        sku,
        vm_size: a.must("vm-size").to_string(),
        subnet,
        static_ip: a.str("static-ip").map(str::to_string),
        enable_non_ssl_port: a.flag("enable-non-ssl-port"),
        redis_version: a.str("redis-version").map(str::to_string),
    };
    let tags = a.tags_put(&spec.id);
    ctx.apply(vec![Change::PutRedisCache(spec), tags])?;
    redis_show(ctx, a)
}

fn redis_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.redis_caches,
        |_, r| render::redis(r),
    )?))
}

fn redis_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let r = ctx.existing(&ctx.model().redis_caches, &redis_id(ctx, &a))?;
    Ok(Reply::Value(render::redis(r)))
}

fn redis_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let id = redis_id(ctx, &a);
    let present = ctx.model().redis_caches.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteRedisCache(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

fn redis_keys(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let r = ctx.existing(&ctx.model().redis_caches, &redis_id(ctx, &a))?;
    Ok(Reply::Value(
        json!({ "primaryKey": r.primary_key, "secondaryKey": r.secondary_key }),
    ))
}

// ---------------------------------------------------------------- private-endpoint

fn pe_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "privateEndpoints", a.must("name"))
}

fn pe_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let subnet = match (a.must("subnet"), a.str("vnet-name")) {
        (s, _) if s.starts_with('/') => ctx.reference(s, rg, NETWORK, "virtualNetworks")?,
        (s, Some(v)) => ctx.net_id(rg, "virtualNetworks", v).child("subnets", s),
        (_, None) => {
            return Err(AzError::Usage(
                "incorrect usage: --subnet ID | --subnet NAME --vnet-name NAME".into(),
            ));
        }
    };
    let target = a.must("private-connection-resource-id");
    let private_link_service_id = ResourceId::parse(target)
        .filter(|_| target.starts_with('/'))
        .ok_or_else(|| AzError::Cli(format!("'{target}' is not a valid Azure resource ID.")))?;
    let spec = PrivateEndpointSpec {
        id: pe_id(ctx, &a),
        location: a.str("location").map(str::to_string),
        subnet,
        private_link_service_id,
        group_ids: a.list("group-ids").unwrap_or_default(),
        connection_name: a.must("connection-name").to_string(),
    };
    let tags = a.tags_put(&spec.id);
    ctx.apply(vec![Change::PutPrivateEndpoint(spec), tags])?;
    finish(ctx, a, pe_show)
}

fn pe_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.private_endpoints,
        |_, p| render::private_endpoint(p),
    )?))
}

fn pe_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let p = ctx.existing(&ctx.model().private_endpoints, &pe_id(ctx, &a))?;
    Ok(Reply::Value(render::private_endpoint(p)))
}

fn pe_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = pe_id(ctx, &a);
    let present = ctx.model().private_endpoints.contains_key(&id);
    ctx.delete_if_present(present, Change::DeletePrivateEndpoint(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

// ---------------------------------------------------------------- dns-zone-group

fn zg_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "privateEndpoints", a.must("endpoint-name"))
        .child("privateDnsZoneGroups", a.must("name"))
}

fn zg_pe<'m>(ctx: &'m Ctx, a: &Args) -> Result<&'m crate::model::PrivateEndpoint, AzError> {
    let pe = ctx.net_id(a.must("resource-group"), "privateEndpoints", a.must("endpoint-name"));
    ctx.existing(&ctx.model().private_endpoints, &pe)
}

/// `dns-zone-group create`: one zone config named `--zone-name` for the
/// zone `--private-dns-zone` (NAME in `-g`, or ID); the endpoint's A record
/// goes into that zone.
fn zg_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    zg_pe(ctx, &a)?;
    let zone = ctx.reference(
        a.must("private-dns-zone"),
        a.must("resource-group"),
        NETWORK,
        "privateDnsZones",
    )?;
    let spec = PrivateDnsZoneGroupSpec {
        id: zg_id(ctx, &a),
        configs: vec![PrivateDnsZoneConfig {
            name: a.must("zone-name").to_string(),
            private_dns_zone: zone,
        }],
    };
    ctx.apply(vec![Change::PutPrivateDnsZoneGroup(spec)])?;
    finish(ctx, a, zg_show)
}

fn zg_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let pe = zg_pe(ctx, &a)?;
    let v = pe
        .dns_zone_groups
        .iter()
        .map(|g| super::render_dns::zone_group(ctx.model(), pe, g))
        .collect();
    Ok(Reply::Value(serde_json::Value::Array(v)))
}

fn zg_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let pe = zg_pe(ctx, &a)?;
    let id = zg_id(ctx, &a);
    match pe.dns_zone_groups.iter().find(|g| g.id == id) {
        Some(g) => Ok(Reply::Value(super::render_dns::zone_group(ctx.model(), pe, g))),
        None => Err(AzureError::resource_not_found(&id).into()),
    }
}

fn zg_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let pe = zg_pe(ctx, &a)?;
    let id = zg_id(ctx, &a);
    let present = pe.dns_zone_groups.iter().any(|g| g.id == id);
    ctx.delete_if_present(present, Change::DeletePrivateDnsZoneGroup(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}
