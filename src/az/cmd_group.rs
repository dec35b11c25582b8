//! `az group`: resource groups.

use serde_json::Value;

use super::args::{Args, Leaf, flag, location, name, opt, tags, yes};
use super::{AzError, Ctx, Handler, Reply, render, table_rows};
use crate::model::Change;

pub fn leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "group create",
            about: "Create a new resource group.",
            args: vec![
                name().alias("resource-group").short_alias('g'),
                location().required(true),
                tags(),
                opt("managed-by"),
            ],
            run: create,
        },
        Leaf {
            path: "group list",
            about: "List resource groups.",
            args: vec![opt("tag")],
            run: list,
        },
        Leaf {
            path: "group show",
            about: "Gets a resource group.",
            args: vec![name().alias("resource-group").short_alias('g')],
            run: show,
        },
        Leaf {
            path: "group exists",
            about: "Check if a resource group exists.",
            args: vec![name().alias("resource-group").short_alias('g')],
            run: exists,
        },
        Leaf {
            path: "group delete",
            about: "Delete a resource group.",
            args: vec![
                name().alias("resource-group").short_alias('g'),
                yes(),
                flag("no-wait"),
                opt("force-deletion-types"),
            ],
            run: delete,
        },
    ]
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let name = a.must("name");
    // az keeps an existing group's location and refuses a different one.
    let id = ctx.rg_id(name);
    ctx.apply(vec![
        Change::PutResourceGroup {
            subscription: ctx.sub().to_string(),
            name: name.into(),
            location: a.must("location").into(),
        },
        a.tags_put(&id),
    ])?;
    show(ctx, a)
}

fn list(ctx: &mut Ctx, _a: Args) -> Result<Reply, AzError> {
    let sub = ctx.sub().to_string();
    let groups: Vec<Value> = ctx
        .model()
        .resource_groups
        .values()
        .filter(|g| g.id.subscription_id().eq_ignore_ascii_case(&sub))
        .map(render::group)
        .collect();
    Ok(Reply::Table(Value::Array(groups), table))
}

/// az's group table: Name, Location, Status.
fn table(v: &Value) -> Value {
    let rows = |g: &Value| serde_json::json!({ "Name": g["name"], "Location": g["location"], "Status": g["properties"]["provisioningState"] });
    table_rows(v, rows)
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let g = ctx.group(a.must("name"))?;
    // Azure: only `group list` has a table transformer in azure-cli 2.91;
    // show (and create) print knack's automatic table (Location, Name),
    // as scripts/check-az-diff found.
    Ok(Reply::Value(render::group(g)))
}

fn exists(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(Value::Bool(ctx.group(a.must("name")).is_ok())))
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let name = a.must("name");
    let id = ctx.group(name)?.id.clone();
    super::confirm(ctx, &a)?;
    ctx.apply(vec![Change::DeleteResourceGroup(id)])?;
    Ok(Reply::Nothing)
}
