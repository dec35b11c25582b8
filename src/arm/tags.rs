//! ARM's tag paths: `{scope}/providers/Microsoft.Resources/tags/default`
//! (the whole tag set of a subscription, group or resource: GET, PUT,
//! PATCH with an operation, DELETE) and a subscription's predefined tag
//! names, `/subscriptions/{id}/tagNames[/{name}[/tagValues/{value}]]`.
//! The answers are the az shim's (`az::render_tags`), the changes the
//! model's (`Change::SetTags`, `Change::PutTagName`).

use serde_json::{Value, json};

use super::auth::Caller;
use super::{Request, Response, method_not_allowed, put, rbac, refused};
use crate::az::{Backend, render_tags};
use crate::model::{Change, Model, ResourceId, TagOperation, Tags};

/// What a path below `/subscriptions/{id}` asks of the tags service.
#[derive(Debug, PartialEq)]
pub enum Path {
    /// `{scope}/providers/Microsoft.Resources/tags/default`.
    AtScope(ResourceId),
    /// `tagNames`, `tagNames/{name}`, `tagNames/{name}/tagValues/{value}`.
    Names {
        name: Option<String>,
        value: Option<String>,
    },
}

/// `segs`: the request path's segments from `subscriptions` on, `l` the
/// same lower-cased; `sub` the subscription's ID as the model spells it.
pub fn path(segs: &[&str], l: &[&str], sub: &str) -> Option<Path> {
    match l {
        ["subscriptions", _, "tagnames"] => {
            return Some(Path::Names {
                name: None,
                value: None,
            });
        }
        ["subscriptions", _, "tagnames", _] => {
            return Some(Path::Names {
                name: Some(segs[3].to_string()),
                value: None,
            });
        }
        ["subscriptions", _, "tagnames", _, "tagvalues", _] => {
            return Some(Path::Names {
                name: Some(segs[3].to_string()),
                value: Some(segs[5].to_string()),
            });
        }
        _ => {}
    }
    let n = l.len();
    if n >= 6 && l[n - 4..] == ["providers", "microsoft.resources", "tags", "default"] {
        let inner = &segs[2..n - 4];
        let scope = if inner.is_empty() {
            ResourceId::subscription(sub)
        } else {
            ResourceId::parse(&format!("/subscriptions/{sub}/{}", inner.join("/")))?
        };
        return Some(Path::AtScope(scope));
    }
    None
}

pub fn handle(
    req: &Request,
    p: Path,
    sub: &str,
    caller: &Caller,
    model: &Model,
    backend: &mut dyn Backend,
) -> Response {
    let method = req.method.as_str();
    let verb = match method {
        "GET" => "read",
        "DELETE" => "delete",
        _ => "write",
    };
    match p {
        Path::AtScope(scope) => {
            if let Err(e) = rbac::check(model, caller, &format!("Microsoft.Resources/tags/{verb}"), &scope) {
                return refused(&e);
            }
            at_scope(req, &scope, model, backend)
        }
        Path::Names { name, value } => {
            let at = ResourceId::subscription(sub);
            let action = format!("Microsoft.Resources/subscriptions/tagNames/{verb}");
            if let Err(e) = rbac::check(model, caller, &action, &at) {
                return refused(&e);
            }
            names(req, sub, name, value, model, backend)
        }
    }
}

fn apply(backend: &mut dyn Backend, changes: Vec<Change>) -> Result<Model, Response> {
    backend.apply(changes).map_err(|e| match e {
        crate::az::AzError::Azure(a) => refused(&a),
        other => Response::error(500, "InternalServerError", &other.to_string()),
    })?;
    backend
        .model()
        .map_err(|e| Response::error(500, "InternalServerError", &e.to_string()))
}

fn body(req: &Request) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Response::error(
            400,
            "InvalidRequestContent",
            "The request content must be a JSON object such as {\"properties\": {\"tags\": {\"name\": \"value\"}}}.",
        )),
    }
}

/// The body's `properties.tags`, checked as every resource's tags are.
fn given(scope: &ResourceId, b: &Value) -> Result<Tags, Response> {
    match put::tags(scope, &b["properties"], false) {
        Ok(Some(Change::SetTags { tags, .. })) => Ok(tags),
        Ok(_) => Ok(Tags::new()),
        Err(e) => Err(refused(&e)),
    }
}

// Azure: Tags - Create Or Update At Scope / Update At Scope / Get At Scope /
// Delete At Scope (learn.microsoft.com/rest/api/resources/tags): 200 with
// the TagsResource (PUT, PATCH, GET), 200 without a body (DELETE).
fn at_scope(req: &Request, scope: &ResourceId, model: &Model, backend: &mut dyn Backend) -> Response {
    if let Err(e) = model.check_tag_scope(scope) {
        return refused(&e);
    }
    let change = |tags| Change::SetTags {
        id: scope.clone(),
        tags,
    };
    let result = match req.method.as_str() {
        "GET" => return Response::json(200, render_tags::tags_resource(model, scope)),
        "DELETE" => return apply(backend, vec![change(Tags::new())]).map_or_else(|r| r, |_| Response::empty(200)),
        "PUT" => body(req).and_then(|b| given(scope, &b)).map(change),
        "PATCH" => body(req).and_then(|b| {
            let op = b["operation"].as_str().and_then(TagOperation::parse).ok_or_else(|| {
                Response::error(
                    400,
                    "InvalidRequestContent",
                    &format!(
                        "The operation '{}' is not one of '{}'. Give \"operation\": \"Merge\", \"Replace\" or \"Delete\".",
                        b["operation"].as_str().unwrap_or_default(),
                        TagOperation::NAMES.join("', '")
                    ),
                )
            })?;
            let current = model.tags_of(scope).cloned().unwrap_or_default();
            Ok(change(op.apply(&current, &given(scope, &b)?)))
        }),
        other => return method_not_allowed(other, &req.path),
    };
    match result.and_then(|c| apply(backend, vec![c])) {
        Ok(after) => Response::json(200, render_tags::tags_resource(&after, scope)),
        Err(r) => r,
    }
}

// Azure: Tags - Create Or Update (Value) answer 200/201 with the TagDetails
// or TagValue; Delete (Value) 200; List the TagsListResult.
fn names(
    req: &Request,
    sub: &str,
    name: Option<String>,
    value: Option<String>,
    model: &Model,
    backend: &mut dyn Backend,
) -> Response {
    let method = req.method.as_str();
    let Some(name) = name else {
        return match method {
            "GET" => Response::json(200, json!({ "value": render_tags::tag_names(model, sub) })),
            other => method_not_allowed(other, &req.path),
        };
    };
    let change = match method {
        "PUT" => Change::PutTagName {
            subscription: sub.to_string(),
            name: name.clone(),
            value: value.clone(),
        },
        "DELETE" => Change::DeleteTagName {
            subscription: sub.to_string(),
            name: name.clone(),
            value: value.clone(),
        },
        other => return method_not_allowed(other, &req.path),
    };
    match apply(backend, vec![change]) {
        Err(r) => r,
        Ok(_) if method == "DELETE" => Response::empty(200),
        Ok(after) => Response::json(
            200,
            match &value {
                Some(v) => render_tags::tag_name_value(&after, sub, &name, v),
                None => render_tags::tag_name(&after, sub, &name),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_scope_or_the_tag_names() {
        let sub = "s1";
        let run = |p: &str| {
            let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
            let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
            let l: Vec<&str> = lower.iter().map(String::as_str).collect();
            path(&segs, &l, sub)
        };
        assert_eq!(
            run("/subscriptions/S1/providers/Microsoft.Resources/tags/default"),
            Some(Path::AtScope(ResourceId::subscription(sub)))
        );
        assert_eq!(
            run(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/providers/Microsoft.Resources/tags/default"
            ),
            ResourceId::parse("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v")
                .map(Path::AtScope)
        );
        assert_eq!(
            run("/subscriptions/s1/tagNames/Dept/tagValues/IT"),
            Some(Path::Names {
                name: Some("Dept".into()),
                value: Some("IT".into())
            })
        );
        assert_eq!(run("/subscriptions/s1/resourceGroups/rg"), None);
        assert_eq!(run("/subscriptions/s1/providers/Microsoft.Resources/tags/other"), None);
    }
}
