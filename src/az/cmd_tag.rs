//! `az tag`: a subscription's predefined tag names (`--name`, `add-value`)
//! and the whole tag set of a subscription, group or resource
//! (`--resource-id`), as azure-cli's resource module does them (custom.py
//! `get_tag_at_scope`, `create_or_update_tag_at_scope`, `delete_tag_at_scope`,
//! `update_tag_at_scope`).

use super::args::{Args, Leaf, opt, req, tags, yes};
use super::{AzError, Ctx, Handler, Reply, confirm, render_tags};
use crate::model::{Change, ResourceId, TagOperation, Tags};

pub fn leaves() -> Vec<Leaf<Handler>> {
    let name = || opt("name").short('n');
    let resource_id = || opt("resource-id");
    vec![
        Leaf {
            path: "tag create",
            about: "Create tags on a specific resource.",
            args: vec![name(), resource_id(), tags()],
            run: create,
        },
        Leaf {
            path: "tag list",
            about: "List the entire set of tags on a specific resource.",
            args: vec![resource_id()],
            run: list,
        },
        Leaf {
            path: "tag delete",
            about: "Delete tags on a specific resource.",
            args: vec![name(), resource_id(), yes()],
            run: delete,
        },
        Leaf {
            path: "tag update",
            about: "Selectively update the set of tags on a specific resource.",
            args: vec![
                req("resource-id"),
                // Checked by `update`: az's enum words its refusal its own way.
                req("operation"),
                tags().required(true),
            ],
            run: update,
        },
        Leaf {
            path: "tag add-value",
            about: "Create a tag value.",
            args: vec![req("name").short('n'), req("value")],
            run: add_value,
        },
        Leaf {
            path: "tag remove-value",
            about: "Deletes a predefined tag value for a predefined tag name.",
            args: vec![req("name").short('n'), req("value")],
            run: remove_value,
        },
    ]
}

/// The scope `--resource-id` names: a subscription, group or resource.
fn scope(a: &Args) -> Result<Option<ResourceId>, AzError> {
    a.str("resource-id")
        .map(|s| {
            ResourceId::parse(s.trim_end_matches('/')).ok_or_else(|| {
                AzError::Cli(format!(
                    "'{s}' is not a valid resource ID: give /subscriptions/{{id}}, a resource group's or a resource's ID."
                ))
            })
        })
        .transpose()
}

/// `--tags`, which a scope's create and update must give (azure-cli:
/// "Tags could not be empty.").
fn given_tags(a: &Args) -> Result<Tags, AzError> {
    match a.tags() {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(AzError::Cli("Tags could not be empty.".into())),
    }
}

/// The scope must hold something that carries tags: ARM's 404 otherwise.
fn existing_scope(ctx: &Ctx, id: &ResourceId) -> Result<(), AzError> {
    Ok(ctx.model().check_tag_scope(id)?)
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let Some(id) = scope(&a)? else {
        let name = a
            .str("name")
            .ok_or_else(|| AzError::Cli("Parameter 'tag_name' can not be None.".into()))?
            .to_string();
        let sub = ctx.sub().to_string();
        ctx.apply(vec![Change::PutTagName {
            subscription: sub.clone(),
            name: name.clone(),
            value: None,
        }])?;
        return Ok(Reply::Value(render_tags::tag_name(ctx.model(), &sub, &name)));
    };
    let tags = given_tags(&a)?;
    existing_scope(ctx, &id)?;
    ctx.apply(vec![Change::SetTags { id: id.clone(), tags }])?;
    Ok(Reply::Value(render_tags::tags_resource(ctx.model(), &id)))
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    match scope(&a)? {
        Some(id) => {
            existing_scope(ctx, &id)?;
            Ok(Reply::Value(render_tags::tags_resource(ctx.model(), &id)))
        }
        None => Ok(Reply::Value(render_tags::tag_names(ctx.model(), ctx.sub()).into())),
    }
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let change = match scope(&a)? {
        Some(id) => Change::SetTags { id, tags: Tags::new() },
        None => Change::DeleteTagName {
            subscription: ctx.sub().to_string(),
            name: a
                .str("name")
                .ok_or_else(|| AzError::Cli("Parameter 'tag_name' can not be None.".into()))?
                .to_string(),
            value: None,
        },
    };
    ctx.apply(vec![change])?;
    Ok(Reply::Nothing)
}

fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = scope(&a)?.expect("--resource-id is required");
    let given_op = a.must("operation");
    // Azure: azure-cli's get_enum_type over the SDK's TagsPatchOperation (Merge, Replace, Delete).
    let op = TagOperation::parse(given_op).ok_or_else(|| {
        AzError::Usage(format!(
            "az tag update: '{given_op}' is not a valid value for '--operation'. Allowed values: Merge, Replace, Delete."
        ))
    })?;
    let given = given_tags(&a)?;
    existing_scope(ctx, &id)?;
    let current = ctx.model().tags_of(&id).cloned().unwrap_or_default();
    ctx.apply(vec![Change::SetTags {
        id: id.clone(),
        tags: op.apply(&current, &given),
    }])?;
    Ok(Reply::Value(render_tags::tags_resource(ctx.model(), &id)))
}

fn add_value(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let sub = ctx.sub().to_string();
    let (name, value) = (a.must("name"), a.must("value"));
    ctx.apply(vec![Change::PutTagName {
        subscription: sub.clone(),
        name: name.to_string(),
        value: Some(value.to_string()),
    }])?;
    Ok(Reply::Value(render_tags::tag_name_value(
        ctx.model(),
        &sub,
        name,
        value,
    )))
}

fn remove_value(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    ctx.apply(vec![Change::DeleteTagName {
        subscription: ctx.sub().to_string(),
        name: a.must("name").to_string(),
        value: Some(a.must("value").to_string()),
    }])?;
    Ok(Reply::Nothing)
}
