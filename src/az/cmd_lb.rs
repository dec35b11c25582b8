//! `az network lb` (internal load balancers: frontends, backend pools,
//! probes, rules) and `az network nic ip-config address-pool`. Every
//! change to a part reads the load balancer, changes it and puts it
//! whole, as az's generic update does.

use serde_json::Value;

use super::args::{Args, Leaf, boolean, choice, flag, location, many, name, opt, req, rg, tags};
use super::ctx::not_found;
use super::{AzError, Ctx, Handler, Reply, render};
use crate::model::{
    Change, FrontendSpec, LbRuleSpec, LbSku, LoadBalancer, LoadBalancerSpec, LoadDistribution, NETWORK, ProbeProtocol,
    ProbeSpec, ResourceId, SubnetSpec, TransportProtocol, VnetSpec,
};

pub fn leaves() -> Vec<Leaf<Handler>> {
    let lb = || req("lb-name");
    let probe_args = |create: bool| {
        let mut v = vec![
            rg(),
            lb(),
            name(),
            opt("path").alias("request-path"),
            opt("interval").alias("interval-in-seconds"),
            opt("threshold").alias("number-of-probes"),
            flag("no-wait"),
        ];
        if create {
            v.extend([
                choice("protocol", &["Http", "Https", "Tcp"]).required(true),
                req("port"),
            ]);
        } else {
            v.extend([choice("protocol", &["Http", "Https", "Tcp"]), opt("port")]);
        }
        v
    };
    let rule_args = |create: bool| {
        let mut v = vec![
            rg(),
            lb(),
            name(),
            opt("frontend-ip-name").alias("frontend-ip"),
            many("backend-pool-name").alias("backend-pools-name"),
            opt("probe-name").alias("probe"),
            opt("idle-timeout").alias("idle-timeout-in-minutes"),
            boolean("floating-ip").alias("enable-floating-ip"),
            choice("load-distribution", &["Default", "SourceIP", "SourceIPProtocol"]),
            flag("no-wait"),
        ];
        if create {
            v.extend([
                choice("protocol", &["All", "Tcp", "Udp"]).required(true),
                req("frontend-port"),
                req("backend-port"),
            ]);
        } else {
            v.extend([
                choice("protocol", &["All", "Tcp", "Udp"]),
                opt("frontend-port"),
                opt("backend-port"),
            ]);
        }
        v
    };
    let mut all: Vec<Leaf<Handler>> = vec![
        Leaf {
            path: "network lb create",
            about: "Create a load balancer.",
            args: vec![
                rg(),
                name(),
                location(),
                choice("sku", &["Basic", "Gateway", "Standard"]),
                opt("vnet-name"),
                opt("subnet"),
                opt("vnet-address-prefix"),
                opt("subnet-address-prefix"),
                opt("private-ip-address"),
                choice("private-ip-address-version", &["IPv4", "IPv6"]),
                opt("frontend-ip-name"),
                opt("backend-pool-name"),
                opt("public-ip-address"),
                tags(),
                flag("no-wait"),
            ],
            run: create,
        },
        Leaf {
            path: "network lb list",
            about: "List load balancers.",
            args: vec![opt("resource-group").short('g')],
            run: list,
        },
        Leaf {
            path: "network lb show",
            about: "Get the details of a load balancer.",
            args: vec![rg(), name()],
            run: show,
        },
        Leaf {
            path: "network lb delete",
            about: "Delete a load balancer.",
            args: vec![rg(), name(), flag("no-wait")],
            run: delete,
        },
        Leaf {
            path: "network lb frontend-ip create",
            about: "Create a frontend IP address.",
            args: vec![
                rg(),
                lb(),
                name(),
                opt("vnet-name"),
                opt("subnet"),
                opt("private-ip-address"),
                opt("public-ip-address"),
                flag("no-wait"),
            ],
            run: frontend_create,
        },
        Leaf {
            path: "network lb frontend-ip delete",
            about: "Delete a frontend IP address.",
            args: vec![rg(), lb(), name(), flag("no-wait")],
            run: frontend_delete,
        },
        Leaf {
            path: "network lb address-pool create",
            about: "Create a load balancer backend address pool.",
            args: vec![rg(), lb(), name(), flag("no-wait")],
            run: pool_create,
        },
        Leaf {
            path: "network lb address-pool delete",
            about: "Delete a load balancer backend address pool.",
            args: vec![rg(), lb(), name(), flag("no-wait")],
            run: pool_delete,
        },
        Leaf {
            path: "network lb probe create",
            about: "Create a load balancing probe.",
            args: probe_args(true),
            run: probe_create,
        },
        Leaf {
            path: "network lb probe update",
            about: "Update a load balancing probe.",
            args: probe_args(false),
            run: probe_update,
        },
        Leaf {
            path: "network lb probe delete",
            about: "Delete a load balancing probe.",
            args: vec![rg(), lb(), name(), flag("no-wait")],
            run: probe_delete,
        },
        Leaf {
            path: "network lb rule create",
            about: "Create a load balancing rule.",
            args: rule_args(true),
            run: rule_create,
        },
        Leaf {
            path: "network lb rule update",
            about: "Update a load balancing rule.",
            args: rule_args(false),
            run: rule_update,
        },
        Leaf {
            path: "network lb rule delete",
            about: "Delete a load balancing rule.",
            args: vec![rg(), lb(), name(), flag("no-wait")],
            run: rule_delete,
        },
    ];
    let (list_about, show_about) = (
        "List the parts of this kind of a load balancer.",
        "Get the details of a part of a load balancer.",
    );
    let show_args = || vec![rg(), lb(), name()];
    let parts: [Leaf<Handler>; 8] = [
        Leaf {
            path: "network lb frontend-ip list",
            about: list_about,
            args: vec![rg(), lb()],
            run: frontend_list,
        },
        Leaf {
            path: "network lb frontend-ip show",
            about: show_about,
            args: show_args(),
            run: frontend_show,
        },
        Leaf {
            path: "network lb address-pool list",
            about: list_about,
            args: vec![rg(), lb()],
            run: pool_list,
        },
        Leaf {
            path: "network lb address-pool show",
            about: show_about,
            args: show_args(),
            run: pool_show,
        },
        Leaf {
            path: "network lb probe list",
            about: list_about,
            args: vec![rg(), lb()],
            run: probe_list,
        },
        Leaf {
            path: "network lb probe show",
            about: show_about,
            args: show_args(),
            run: probe_show,
        },
        Leaf {
            path: "network lb rule list",
            about: list_about,
            args: vec![rg(), lb()],
            run: rule_list,
        },
        Leaf {
            path: "network lb rule show",
            about: show_about,
            args: show_args(),
            run: rule_show,
        },
    ];
    all.extend(parts);
    let pool_member = || {
        vec![
            rg(),
            req("nic-name"),
            opt("ip-config-name").short('n'),
            req("address-pool"),
            opt("lb-name"),
        ]
    };
    all.push(Leaf {
        path: "network nic ip-config address-pool add",
        about: "Add an address pool to an IP configuration.",
        args: pool_member(),
        run: member_add,
    });
    all.push(Leaf {
        path: "network nic ip-config address-pool remove",
        about: "Remove an address pool of an IP configuration.",
        args: pool_member(),
        run: member_remove,
    });
    all
}

fn lb_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "loadBalancers", a.must(key))
}

/// The load balancer `--lb-name` (or `-n`) names, or ARM's not-found.
fn the_lb<'m>(ctx: &'m Ctx, a: &Args, key: &str) -> Result<&'m LoadBalancer, AzError> {
    ctx.existing(&ctx.model().load_balancers, &lb_id(ctx, a, key))
}

// ---------------------------------------------------------------- lb

/// `lb create` for an internal load balancer: one frontend in the subnet
/// (a static address with `--private-ip-address`), one empty pool, no
/// probes or rules; a missing VNet or subnet is created first, as az's
/// template does. Prints the deployment's output `{"loadBalancer": …}`.
fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let name = a.must("name");
    if a.str("public-ip-address").is_some() {
        return Err(AzError::Cli("vnetlab emulates internal load balancers only: leave out --public-ip-address and give the frontend a subnet (--vnet-name NAME --subnet NAME, or --subnet ID).".into()));
    }
    if a.str("sku") == Some("Gateway") {
        return Err(AzError::Cli("vnetlab emulates Basic and Standard internal load balancers; Gateway load balancers are not emulated. Use --sku Standard.".into()));
    }
    if a.str("private-ip-address-version") == Some("IPv6") {
        return Err(AzError::Cli(
            "vnetlab models IPv4 only: leave out --private-ip-address-version IPv6.".into(),
        ));
    }
    let location = match a.str("location") {
        Some(l) => l.to_string(),
        None => ctx.group(rg)?.location.clone(),
    };
    let (subnet, mut changes) = match (a.str("subnet"), a.str("vnet-name")) {
        (None, _) => return Err(AzError::Cli("vnetlab emulates internal load balancers only: give the frontend a subnet with --vnet-name NAME --subnet NAME, or --subnet ID (without one, az would create a public load balancer).".into())),
        (Some(s), _) if s.starts_with('/') => (ctx.reference(s, rg, NETWORK, "virtualNetworks")?, vec![]),
        (Some(_), None) => return Err(AzError::Usage("incorrect usage: --subnet NAME --vnet-name NAME | --subnet ID | --public-ip-address NAME_OR_ID".into())),
        (Some(s), Some(v)) => {
            let vnet = ctx.net_id(rg, "virtualNetworks", v);
            let subnet = vnet.child("subnets", s);
            let new_subnet = || Change::PutSubnet(SubnetSpec { id: subnet.clone(), address_prefix: a.str("subnet-address-prefix").unwrap_or("10.0.0.0/24").into(), network_security_group: None, route_table: None, default_outbound_access: None });
            let made = match ctx.model().virtual_networks.get(&vnet) {
                Some(existing) if existing.subnet(s).is_some() => vec![],
                Some(_) => vec![new_subnet()],
                None => vec![
                    Change::PutVirtualNetwork(VnetSpec { id: vnet.clone(), location: Some(location.clone()), address_prefixes: vec![a.str("vnet-address-prefix").unwrap_or("10.0.0.0/16").into()], flow_timeout_in_minutes: None, dns_servers: None }),
                    new_subnet(),
                ],
            };
            (subnet, made)
        }
    };
    let spec = LoadBalancerSpec {
        id: ctx.net_id(rg, "loadBalancers", name),
        location: Some(location),
        sku: if a.str("sku") == Some("Basic") {
            LbSku::Basic
        } else {
            LbSku::Standard
        },
        frontends: vec![FrontendSpec {
            name: a.str("frontend-ip-name").unwrap_or("LoadBalancerFrontEnd").into(),
            subnet,
            private_ip_address: a.str("private-ip-address").map(str::to_string),
        }],
        backend_pools: vec![
            a.str("backend-pool-name")
                .map_or_else(|| format!("{name}bepool"), str::to_string),
        ],
        probes: vec![],
        rules: vec![],
    };
    // Azure: az 2.91's create_load_balancer warns before it deploys: about
    // the default public IP whenever it has none (an internal load balancer,
    // the only kind here, never has one), and about a Basic SKU (azure-cli
    // network custom.py, remove_basic_option_msg).
    ctx.warn("Please note that the default public IP used for creation will be changed from Basic to Standard in the future.");
    if spec.sku == LbSku::Basic {
        ctx.warn("It's recommended to create with `--sku standard`. Please be aware that Basic option will be removed in the future.");
    }
    let id = spec.id.clone();
    changes.push(Change::PutLoadBalancer(spec));
    changes.push(a.tags_put(&id));
    ctx.apply(changes)?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let lb = ctx.existing(&ctx.model().load_balancers, &id)?;
    Ok(Reply::Value(
        serde_json::json!({ "loadBalancer": render::lb_properties(ctx.model(), lb, true) }),
    ))
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.load_balancers,
        render::load_balancer,
    )?))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "name")?;
    Ok(Reply::Value(render::load_balancer(ctx.model(), lb)))
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = lb_id(ctx, &a, "name");
    let present = ctx.model().load_balancers.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteLoadBalancer(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// Puts the changed load balancer; `--no-wait` prints nothing, otherwise
/// the part `show` prints.
fn put(ctx: &mut Ctx, a: Args, spec: LoadBalancerSpec, show: Handler) -> Result<Reply, AzError> {
    ctx.apply(vec![Change::PutLoadBalancer(spec)])?;
    super::finish(ctx, a, show)
}

/// Puts `item` in place of the part of the same name, or adds it.
fn upsert<T>(items: &mut Vec<T>, item: T, name_of: impl Fn(&T) -> &str) {
    match items
        .iter()
        .position(|o| name_of(o).eq_ignore_ascii_case(name_of(&item)))
    {
        Some(i) => items[i] = item,
        None => items.push(item),
    }
}

/// Takes the part named `name` out; whether there was one.
fn remove_named<T>(items: &mut Vec<T>, name: &str, name_of: impl Fn(&T) -> &str) -> bool {
    let before = items.len();
    items.retain(|x| !name_of(x).eq_ignore_ascii_case(name));
    items.len() < before
}

/// A part's `delete`: the load balancer without it is put; deleting a
/// part that is not there succeeds quietly, as ARM's DELETE does.
fn remove_part(
    ctx: &mut Ctx,
    a: &Args,
    remove: impl FnOnce(&mut LoadBalancerSpec, &str) -> bool,
) -> Result<Reply, AzError> {
    let mut spec = LoadBalancer::spec(the_lb(ctx, a, "lb-name")?);
    if remove(&mut spec, a.must("name")) {
        ctx.apply(vec![Change::PutLoadBalancer(spec)])?;
    }
    Ok(Reply::Nothing)
}

/// The index of the part named `name` (ARM names compare without case),
/// or ARM's not-found for the child.
fn position<T>(
    items: &[T],
    name: &str,
    name_of: impl Fn(&T) -> &str,
    lb: &ResourceId,
    kind: &str,
) -> Result<usize, AzError> {
    items
        .iter()
        .position(|x| name_of(x).eq_ignore_ascii_case(name))
        .ok_or_else(|| not_found(&lb.child(kind, name)))
}

/// A part that does not exist: ARM's NotFound for a child.
fn child_value<T>(
    lb: &LoadBalancer,
    items: &[T],
    a: &Args,
    name_of: impl Fn(&T) -> &str,
    kind: &str,
    render: impl Fn(&T) -> Value,
) -> Result<Reply, AzError> {
    let i = position(items, a.must("name"), name_of, &lb.id, kind)?;
    Ok(Reply::Value(render(&items[i])))
}

// ---------------------------------------------------------------- frontend-ip

fn frontend_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    Ok(Reply::Value(
        lb.frontend_ip_configurations
            .iter()
            .map(|f| render::lb_frontend(lb, f, false))
            .collect(),
    ))
}

fn frontend_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    child_value(
        lb,
        &lb.frontend_ip_configurations,
        &a,
        |f| &f.name,
        "frontendIPConfigurations",
        |f| render::lb_frontend(lb, f, false),
    )
}

/// Another frontend: in the subnet `--subnet` names (by default the
/// subnet of the first frontend), static with `--private-ip-address`.
fn frontend_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    if a.str("public-ip-address").is_some() {
        return Err(AzError::Cli("vnetlab emulates internal load balancers only: give the frontend a subnet (--vnet-name NAME --subnet NAME, or --subnet ID), not --public-ip-address.".into()));
    }
    let rg = a.must("resource-group");
    let mut spec = LoadBalancer::spec(the_lb(ctx, &a, "lb-name")?);
    let subnet =
        match (a.str("subnet"), a.str("vnet-name")) {
            (None, _) => spec.frontends.first().map(|f| f.subnet.clone()).ok_or_else(|| {
                AzError::Usage("incorrect usage: --subnet NAME --vnet-name NAME | --subnet ID".into())
            })?,
            (Some(s), _) if s.starts_with('/') => ctx.reference(s, rg, NETWORK, "virtualNetworks")?,
            (Some(s), Some(v)) => ctx.net_id(rg, "virtualNetworks", v).child("subnets", s),
            (Some(_), None) => {
                return Err(AzError::Usage(
                    "incorrect usage: --subnet NAME --vnet-name NAME | --subnet ID".into(),
                ));
            }
        };
    let f = FrontendSpec {
        name: a.must("name").to_string(),
        subnet,
        private_ip_address: a.str("private-ip-address").map(str::to_string),
    };
    upsert(&mut spec.frontends, f, |o| &o.name);
    put(ctx, a, spec, frontend_show)
}

fn frontend_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    remove_part(ctx, &a, |spec, name| {
        remove_named(&mut spec.frontends, name, |f| &f.name)
    })
}

// ---------------------------------------------------------------- address-pool

fn pool_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    Ok(Reply::Value(
        lb.backend_address_pools
            .iter()
            .map(|p| render::lb_pool(ctx.model(), lb, p, false))
            .collect(),
    ))
}

fn pool_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    child_value(
        lb,
        &lb.backend_address_pools,
        &a,
        |p| &p.name,
        "backendAddressPools",
        |p| render::lb_pool(ctx.model(), lb, p, false),
    )
}

fn pool_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let mut spec = LoadBalancer::spec(the_lb(ctx, &a, "lb-name")?);
    upsert(&mut spec.backend_pools, a.must("name").to_string(), |p| p.as_str());
    put(ctx, a, spec, pool_show)
}

fn pool_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    remove_part(ctx, &a, |spec, name| {
        remove_named(&mut spec.backend_pools, name, |p| p.as_str())
    })
}

// ---------------------------------------------------------------- probe

fn probe_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    Ok(Reply::Value(
        lb.probes.iter().map(|p| render::lb_probe(lb, p, false)).collect(),
    ))
}

fn probe_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    child_value(
        lb,
        &lb.probes,
        &a,
        |p| &p.name,
        "probes",
        |p| render::lb_probe(lb, p, false),
    )
}

fn probe_protocol(value: &str) -> ProbeProtocol {
    ProbeProtocol::parse(value).unwrap_or(ProbeProtocol::Tcp)
}

/// The flags given, over `p`.
fn set_probe(p: &mut ProbeSpec, a: &Args) -> Result<(), AzError> {
    if let Some(v) = a.str("protocol") {
        p.protocol = probe_protocol(v);
        if p.protocol == ProbeProtocol::Tcp && a.str("path").is_none() {
            p.request_path = None;
        }
    }
    if let Some(port) = a.int::<u32>("port")? {
        p.port = port;
    }
    if let Some(path) = a.str("path") {
        p.request_path = Some(path.to_string());
    }
    if let Some(i) = a.int::<u32>("interval")? {
        p.interval_in_seconds = Some(i);
    }
    if let Some(t) = a.int::<u32>("threshold")? {
        p.number_of_probes = Some(t);
    }
    Ok(())
}

/// `probe create`: az sends only the fields given; Azure fills in 15 s
/// and 2 probes.
fn probe_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let mut spec = LoadBalancer::spec(the_lb(ctx, &a, "lb-name")?);
    let name = a.must("name");
    let mut p = ProbeSpec {
        name: name.to_string(),
        protocol: probe_protocol(a.must("protocol")),
        port: 0,
        request_path: None,
        interval_in_seconds: None,
        number_of_probes: None,
    };
    set_probe(&mut p, &a)?;
    upsert(&mut spec.probes, p, |o| &o.name);
    put(ctx, a, spec, probe_show)
}

fn probe_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let mut spec = LoadBalancer::spec(the_lb(ctx, &a, "lb-name")?);
    let i = position(&spec.probes, a.must("name"), |p| &p.name, &spec.id, "probes")?;
    set_probe(&mut spec.probes[i], &a)?;
    put(ctx, a, spec, probe_show)
}

fn probe_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    remove_part(ctx, &a, |spec, name| remove_named(&mut spec.probes, name, |p| &p.name))
}

// ---------------------------------------------------------------- rule

fn rule_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    Ok(Reply::Value(
        lb.load_balancing_rules
            .iter()
            .map(|r| render::lb_rule(lb, r, false))
            .collect(),
    ))
}

fn rule_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let lb = the_lb(ctx, &a, "lb-name")?;
    child_value(
        lb,
        &lb.load_balancing_rules,
        &a,
        |r| &r.name,
        "loadBalancingRules",
        |r| render::lb_rule(lb, r, false),
    )
}

/// A name or an ID of a load balancer's part: the last segment counts.
fn last_segment(value: &str) -> &str {
    value.trim_end_matches('/').rsplit('/').next().unwrap_or(value)
}

/// The only one of `names`, or az's ArgumentUsageError when there are
/// several (none: the model's own refusal names what is missing).
fn only_one(names: Vec<String>, plural: &str, flag: &str) -> Result<String, AzError> {
    match names.len() {
        0 => Ok(String::new()),
        1 => Ok(names.into_iter().next().unwrap_or_default()),
        _ => Err(AzError::Cli(format!(
            "Multiple {plural} found in loadbalancer. Specify {flag} explicitly."
        ))),
    }
}

/// The flags given, over `r`.
fn set_rule(r: &mut LbRuleSpec, a: &Args) -> Result<(), AzError> {
    if let Some(p) = a.str("protocol") {
        r.protocol = TransportProtocol::parse(p).unwrap_or(TransportProtocol::Tcp);
    }
    if let Some(p) = a.int::<u32>("frontend-port")? {
        r.frontend_port = p;
    }
    if let Some(p) = a.int::<u32>("backend-port")? {
        r.backend_port = p;
    }
    if let Some(f) = a.str("frontend-ip-name") {
        r.frontend = last_segment(f).to_string();
    }
    if let Some(pools) = a.list("backend-pool-name") {
        if pools.len() > 1 {
            return Err(AzError::Cli("vnetlab emulates one backend pool per rule (several are for Gateway load balancers): give --backend-pool-name once.".into()));
        }
        if let Some(p) = pools.first() {
            r.backend_pool = last_segment(p).to_string();
        }
    }
    if let Some(p) = a.str("probe-name") {
        r.probe = (!p.is_empty()).then(|| last_segment(p).to_string());
    }
    if let Some(t) = a.int::<u32>("idle-timeout")? {
        r.idle_timeout_in_minutes = Some(t);
    }
    if let Some(f) = a.bool("floating-ip") {
        r.enable_floating_ip = f;
    }
    if let Some(d) = a.str("load-distribution") {
        r.load_distribution = LoadDistribution::parse(d).unwrap_or_default();
    }
    Ok(())
}

/// `rule create`: without `--frontend-ip-name` or `--backend-pool-name`
/// the only frontend or pool is used, and several are az's usage error.
fn rule_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let mut spec = LoadBalancer::spec(the_lb(ctx, &a, "lb-name")?);
    let frontend = match a.str("frontend-ip-name") {
        Some(_) => String::new(),
        None => only_one(
            spec.frontends.iter().map(|f| f.name.clone()).collect(),
            "FrontendIpConfigurations",
            "--frontend-ip",
        )?,
    };
    let backend_pool = match a.list("backend-pool-name") {
        Some(_) => String::new(),
        None => only_one(spec.backend_pools.clone(), "BackendAddressPools", "--backend-pool-name")?,
    };
    let name = a.must("name");
    let mut r = LbRuleSpec {
        name: name.to_string(),
        frontend,
        backend_pool,
        probe: None,
        protocol: TransportProtocol::Tcp,
        frontend_port: 0,
        backend_port: 0,
        idle_timeout_in_minutes: None,
        enable_floating_ip: false,
        load_distribution: LoadDistribution::Default,
    };
    set_rule(&mut r, &a)?;
    upsert(&mut spec.rules, r, |o| &o.name);
    put(ctx, a, spec, rule_show)
}

fn rule_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let mut spec = LoadBalancer::spec(the_lb(ctx, &a, "lb-name")?);
    let i = position(&spec.rules, a.must("name"), |r| &r.name, &spec.id, "loadBalancingRules")?;
    set_rule(&mut spec.rules[i], &a)?;
    put(ctx, a, spec, rule_show)
}

fn rule_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    remove_part(ctx, &a, |spec, name| remove_named(&mut spec.rules, name, |r| &r.name))
}

// ---------------------------------------------------------------- nic ip-config address-pool

/// The pool `--address-pool` names (an ID, or a name with `--lb-name`).
fn pool_ref(ctx: &Ctx, a: &Args) -> Result<ResourceId, AzError> {
    let rg = a.must("resource-group");
    let pool = a.must("address-pool");
    if pool.starts_with('/') {
        return ctx.reference(pool, rg, NETWORK, "loadBalancers");
    }
    match a.str("lb-name") {
        Some(lb) => Ok(ctx.net_id(rg, "loadBalancers", lb).child("backendAddressPools", pool)),
        None => Err(AzError::Usage(
            "usage error: --address-pool ID | --lb-name NAME --address-pool NAME".into(),
        )),
    }
}

/// Adds the pool to (or takes it from) the NIC's IP configuration and
/// prints the IP configuration, as az does.
fn membership(ctx: &mut Ctx, a: Args, add: bool) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let nic_id = ctx.net_id(rg, "networkInterfaces", a.must("nic-name"));
    let pool = pool_ref(ctx, &a)?;
    let nic = ctx.existing(&ctx.model().network_interfaces, &nic_id)?;
    let config = a.str("ip-config-name").unwrap_or(nic.ip_configuration_name.as_str());
    if !config.eq_ignore_ascii_case(nic.ip_configuration_id().name()) {
        return Err(not_found(&nic_id.child("ipConfigurations", config)));
    }
    let mut pools = nic.load_balancer_backend_address_pools.clone();
    if add {
        if !pools.contains(&pool) {
            pools.push(pool);
        }
    } else {
        pools.retain(|p| *p != pool);
    }
    ctx.apply(vec![Change::SetBackendPools {
        nic: nic_id.clone(),
        pools,
    }])?;
    let nic = ctx.existing(&ctx.model().network_interfaces, &nic_id)?;
    Ok(Reply::Value(
        render::nic(ctx.model(), nic)["ipConfigurations"][0].clone(),
    ))
}

fn member_add(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    membership(ctx, a, true)
}

fn member_remove(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    membership(ctx, a, false)
}
