//! `az network nsg` and `nsg rule`.

use serde_json::{Value, json};

use super::args::{Args, Leaf, choice, flag, location, many, name, opt, req, rg, tags};
use super::ctx::not_found;
use super::{AzError, Ctx, Handler, Reply, finish, render, table_rows};
use crate::model::{Change, ResourceId, SecurityRuleSpec, default_security_rules};

const DIRECTIONS: &[&str] = &["Inbound", "Outbound"];
const ACCESS: &[&str] = &["Allow", "Deny"];
const PROTOCOLS: &[&str] = &["*", "Ah", "Esp", "Icmp", "Tcp", "Udp"];

pub fn leaves() -> Vec<Leaf<Handler>> {
    let nsg = || req("nsg-name");
    let rule_args = |create: bool| {
        let priority = if create { req("priority") } else { opt("priority") };
        vec![
            rg(),
            nsg(),
            name(),
            priority,
            choice("direction", DIRECTIONS),
            choice("access", ACCESS),
            choice("protocol", PROTOCOLS),
            many("source-address-prefixes"),
            many("source-port-ranges"),
            many("destination-address-prefixes"),
            many("destination-port-ranges"),
            opt("description"),
            flag("no-wait"),
        ]
    };
    vec![
        Leaf {
            path: "network nsg create",
            about: "Create a network security group.",
            args: vec![rg(), name(), location(), tags()],
            run: create,
        },
        Leaf {
            path: "network nsg list",
            about: "List network security groups.",
            args: vec![opt("resource-group").short('g')],
            run: list,
        },
        Leaf {
            path: "network nsg show",
            about: "Get information about a network security group.",
            args: vec![rg(), name()],
            run: show,
        },
        Leaf {
            path: "network nsg update",
            about: "Update a network security group.",
            args: vec![rg(), name(), tags(), flag("no-wait")],
            run: update,
        },
        Leaf {
            path: "network nsg delete",
            about: "Delete a network security group.",
            args: vec![rg(), name(), flag("no-wait")],
            run: delete,
        },
        Leaf {
            path: "network nsg rule create",
            about: "Create a network security group rule.",
            args: rule_args(true),
            run: rule_create,
        },
        Leaf {
            path: "network nsg rule list",
            about: "List all rules in a network security group.",
            args: vec![rg(), nsg(), flag("include-default")],
            run: rule_list,
        },
        Leaf {
            path: "network nsg rule show",
            about: "Get the details of a network security group rule.",
            args: vec![rg(), nsg(), name()],
            run: rule_show,
        },
        Leaf {
            path: "network nsg rule update",
            about: "Update a network security group rule.",
            args: rule_args(false),
            run: rule_update,
        },
        Leaf {
            path: "network nsg rule delete",
            about: "Delete a network security group rule.",
            args: vec![rg(), nsg(), name(), flag("no-wait")],
            run: rule_delete,
        },
    ]
}

fn nsg_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "networkSecurityGroups", a.must(key))
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    ctx.group(a.must("resource-group"))?;
    let id = nsg_id(ctx, &a, "name");
    ctx.apply(vec![
        Change::PutNetworkSecurityGroup {
            id: id.clone(),
            location: a.str("location").map(str::to_string),
        },
        a.tags_put(&id),
    ])?;
    let n = ctx.existing(&ctx.model().network_security_groups, &id)?;
    Ok(Reply::Value(json!({ "NewNSG": render::nsg(ctx.model(), n) })))
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.network_security_groups,
        render::nsg,
    )?))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let n = ctx.existing(&ctx.model().network_security_groups, &nsg_id(ctx, &a, "name"))?;
    Ok(Reply::Value(render::nsg(ctx.model(), n)))
}

/// `nsg update`: an NSG holds nothing else az's update sets but its tags
/// (its rules have commands of their own).
fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = nsg_id(ctx, &a, "name");
    ctx.existing(&ctx.model().network_security_groups, &id)?;
    ctx.apply(a.tags_update(&id).into_iter().collect())?;
    finish(ctx, a, show)
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = nsg_id(ctx, &a, "name");
    let present = ctx.model().network_security_groups.contains_key(&id);
    ctx.delete_if_present(
        present,
        Change::DeleteNetworkSecurityGroup(id),
        a.must("resource-group"),
    )?;
    Ok(Reply::Nothing)
}

fn rule_id(ctx: &Ctx, a: &Args) -> ResourceId {
    nsg_id(ctx, a, "nsg-name").child("securityRules", a.must("name"))
}

fn rule_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    ctx.existing(&ctx.model().network_security_groups, &nsg_id(ctx, &a, "nsg-name"))?;
    let any = || vec!["*".to_string()];
    let spec = SecurityRuleSpec {
        id: rule_id(ctx, &a),
        priority: a.int::<i64>("priority")?.unwrap_or_default(),
        direction: a.str("direction").unwrap_or("Inbound").into(),
        access: a.str("access").unwrap_or("Allow").into(),
        protocol: a.str("protocol").unwrap_or("*").into(),
        source_address_prefixes: a.list("source-address-prefixes").unwrap_or_else(any),
        source_port_ranges: a.list("source-port-ranges").unwrap_or_else(any),
        destination_address_prefixes: a.list("destination-address-prefixes").unwrap_or_else(any),
        // az's default, which surprises many (§9.6).
        destination_port_ranges: a.list("destination-port-ranges").unwrap_or_else(|| vec!["80".into()]),
        description: a.str("description").map(str::to_string),
    };
    ctx.apply(vec![Change::PutSecurityRule(spec)])?;
    finish(ctx, a, rule_show)
}

/// az's transform_nsg_rule_table_output.
fn rule_table(v: &Value) -> Value {
    let pick = |r: &Value, one: &str, many: &str| -> String {
        match r.get(one).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => r[many]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        }
    };
    let row = |r: &Value| {
        json!({
            "Name": r["name"],
            "ResourceGroup": r["resourceGroup"],
            "Priority": r["priority"],
            "SourcePortRanges": pick(r, "sourcePortRange", "sourcePortRanges"),
            "SourceAddressPrefixes": pick(r, "sourceAddressPrefix", "sourceAddressPrefixes"),
            "SourceASG": "None",
            "Access": r["access"],
            "Protocol": r["protocol"],
            "Direction": r["direction"],
            "DestinationPortRanges": pick(r, "destinationPortRange", "destinationPortRanges"),
            "DestinationAddressPrefixes": pick(r, "destinationAddressPrefix", "destinationAddressPrefixes"),
            "DestinationASG": "None",
        })
    };
    table_rows(v, row)
}

fn rule_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let n = ctx.existing(&ctx.model().network_security_groups, &nsg_id(ctx, &a, "nsg-name"))?;
    let mut rules: Vec<Value> = n
        .security_rules
        .iter()
        .map(|r| render::security_rule(&n.id, r, false))
        .collect();
    if a.flag("include-default") {
        rules.extend(
            default_security_rules()
                .iter()
                .map(|r| render::security_rule(&n.id, r, true)),
        );
    }
    Ok(Reply::Table(Value::Array(rules), rule_table))
}

fn rule_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = rule_id(ctx, &a);
    let n = ctx.existing(&ctx.model().network_security_groups, &nsg_id(ctx, &a, "nsg-name"))?;
    let r = n.rule(a.must("name")).ok_or_else(|| not_found(&id))?;
    Ok(Reply::Table(render::security_rule(&n.id, r, false), rule_table))
}

fn rule_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = rule_id(ctx, &a);
    let n = ctx.existing(&ctx.model().network_security_groups, &nsg_id(ctx, &a, "nsg-name"))?;
    let r = n.rule(a.must("name")).ok_or_else(|| not_found(&id))?;
    let texts = |given: Option<Vec<String>>, old: Vec<String>| given.unwrap_or(old);
    let spec = SecurityRuleSpec {
        id,
        priority: a.int::<i64>("priority")?.unwrap_or(i64::from(r.priority)),
        direction: a
            .str("direction")
            .map_or_else(|| format!("{:?}", r.direction), str::to_string),
        access: a
            .str("access")
            .map_or_else(|| format!("{:?}", r.access), str::to_string),
        protocol: a.str("protocol").map_or_else(
            || {
                serde_json::to_value(r.protocol)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            },
            str::to_string,
        ),
        source_address_prefixes: texts(
            a.list("source-address-prefixes"),
            r.source_address_prefixes.iter().map(|p| p.to_string()).collect(),
        ),
        source_port_ranges: texts(
            a.list("source-port-ranges"),
            r.source_port_ranges.iter().map(|p| p.to_string()).collect(),
        ),
        destination_address_prefixes: texts(
            a.list("destination-address-prefixes"),
            r.destination_address_prefixes.iter().map(|p| p.to_string()).collect(),
        ),
        destination_port_ranges: texts(
            a.list("destination-port-ranges"),
            r.destination_port_ranges.iter().map(|p| p.to_string()).collect(),
        ),
        description: a
            .str("description")
            .map(str::to_string)
            .or_else(|| r.description.clone()),
    };
    ctx.apply(vec![Change::PutSecurityRule(spec)])?;
    finish(ctx, a, rule_show)
}

fn rule_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = rule_id(ctx, &a);
    let n = ctx.existing(&ctx.model().network_security_groups, &nsg_id(ctx, &a, "nsg-name"))?;
    if n.rule(a.must("name")).is_some() {
        ctx.apply(vec![Change::DeleteSecurityRule(id)])?;
    }
    Ok(Reply::Nothing)
}
