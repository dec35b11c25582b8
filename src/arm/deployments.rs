//! `Microsoft.Resources/deployments` on the ARM endpoint, at resource-group
//! and subscription scope: PUT deploys a template (`template::deploy`),
//! POST `validate` and `whatIf` evaluate it against the lab without
//! changing it, GET/list/DELETE keep ARM's record of each deployment.
// Azure: Deployments REST API (Create Or Update, Validate, What If, Get,
// List By Resource Group, Delete)
// (https://learn.microsoft.com/rest/api/resources/deployments).

use serde_json::{Map, Value, json};

use super::template::{self, Outcome};
use super::{Arm, Caller, Request, Response, auth, method_not_allowed, rbac, refused, wire};
use crate::az::Backend;
use crate::model::{AzureError, ErrorCode, Model, ResourceId};

/// Where a deployment path points: its scope and what follows `deployments`.
pub fn path<'a>(rest: &'a [&'a str], segs: &[&str], sub: &str) -> Option<(ResourceId, &'a [&'a str])> {
    match rest {
        [
            "resourcegroups",
            _,
            "providers",
            "microsoft.resources",
            "deployments",
            more @ ..,
        ] => Some((ResourceId::resource_group(sub, segs[3]), more)),
        ["providers", "microsoft.resources", "deployments", more @ ..] => Some((ResourceId::subscription(sub), more)),
        _ => None,
    }
}

fn deployment_id(scope: &ResourceId, name: &str) -> String {
    format!("{}/providers/Microsoft.Resources/deployments/{name}", scope.as_str())
}

fn body_of(req: &Request) -> Result<Value, Response> {
    let text = String::from_utf8_lossy(&req.body);
    serde_json::from_str(&super::jsonc::to_json(&text)).map_err(|e| {
        Response::error(
            400,
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}

/// The parameters as ARM echoes them: typed, secure values left out.
fn echoed_parameters(body: &Value) -> Value {
    let decl = &body["properties"]["template"]["parameters"];
    let mut out = Map::new();
    for (k, v) in body["properties"]["parameters"].as_object().into_iter().flatten() {
        let typ = decl[k]["type"].as_str().unwrap_or("String");
        let secure = typ.to_ascii_lowercase().starts_with("secure");
        let mut p = json!({ "type": capitalised(typ) });
        if !secure {
            p["value"] = v.get("value").cloned().unwrap_or_else(|| v.clone());
        }
        out.insert(k.clone(), p);
    }
    Value::Object(out)
}

fn capitalised(t: &str) -> String {
    match t.to_ascii_lowercase().as_str() {
        "int" => "Int".into(),
        "bool" => "Bool".into(),
        "securestring" => "SecureString".into(),
        "secureobject" => "SecureObject".into(),
        "array" => "Array".into(),
        "object" => "Object".into(),
        _ => "String".into(),
    }
}

fn record(id: &str, name: &str, body: &Value, state: &str) -> Value {
    let template = &body["properties"]["template"];
    json!({
        "id": id,
        "name": name,
        "type": "Microsoft.Resources/deployments",
        "properties": {
            "provisioningState": state,
            "mode": body["properties"]["mode"].as_str().unwrap_or("Incremental"),
            "templateHash": template::template_hash(template),
            "parameters": echoed_parameters(body),
            "outputs": {},
            "outputResources": [],
            "dependencies": [],
            "providers": [],
            "correlationId": ResourceId::parse(id).map(|i| i.stable_guid("correlation")).unwrap_or_default(),
        },
    })
}

/// ARM's preflight answer for a deployment that would fail: template
/// errors as they are, resource errors inside InvalidTemplateDeployment.
// Azure: "The template deployment 'X' is not valid according to the
// validation procedure … See inner errors for details."
// (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
fn preflight_error(name: &str, e: &AzureError) -> Response {
    // Azure: an authorization refusal is ARM's 403 itself, not an inner error.
    if matches!(e.code, ErrorCode::InvalidTemplate | ErrorCode::AuthorizationFailed) {
        return refused(e);
    }
    let mut detail = json!({ "code": e.code.as_str(), "message": e.message });
    if let Some(t) = &e.target {
        detail["target"] = json!(t);
    }
    Response::json(
        400,
        json!({ "error": {
            "code": "InvalidTemplateDeployment",
            "message": format!("The template deployment '{name}' is not valid according to the validation procedure. See inner errors for details."),
            "details": [detail],
        } }),
    )
}

impl Arm {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn deployments(
        &mut self,
        req: &Request,
        scope: &ResourceId,
        more: &[&str],
        caller: &Caller,
        model: &Model,
        backend: &mut dyn Backend,
    ) -> Response {
        let method = req.method.as_str();
        if !scope.resource_group_name().is_empty() && !model.resource_groups.contains_key(scope) {
            return Response::error(
                404,
                "ResourceGroupNotFound",
                &format!("Resource group '{}' could not be found.", scope.resource_group_name()),
            );
        }
        let principal =
            (!caller.app_id.eq_ignore_ascii_case(auth::LAB_PRINCIPAL_APP_ID)).then_some(caller.app_id.as_str());
        let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').collect();
        let name = segments
            .iter()
            .position(|s| s.eq_ignore_ascii_case("deployments"))
            .and_then(|i| segments.get(i + 1))
            .copied()
            .unwrap_or_default();
        let id = deployment_id(scope, name);
        let key = id.to_ascii_lowercase();
        // Azure: a deployment is checked like any request, its own action
        // (Microsoft.Resources/deployments/read|write|delete, validate and
        // whatIf actions) at the deployment's scope.
        let suffix = match (method, more) {
            ("POST", [_, a]) if a.eq_ignore_ascii_case("validate") => "validate/action",
            ("POST", [_, a]) if a.eq_ignore_ascii_case("whatif") => "whatIf/action",
            ("GET" | "HEAD", _) => "read",
            ("DELETE", _) => "delete",
            _ => "write",
        };
        if let Err(e) = rbac::check(
            model,
            caller,
            &format!("Microsoft.Resources/deployments/{suffix}"),
            scope,
        ) {
            return refused(&e);
        }
        match (method, more) {
            ("GET", []) => {
                let prefix = format!(
                    "{}/providers/microsoft.resources/deployments/",
                    scope.as_str().to_ascii_lowercase()
                );
                let v: Vec<Value> = self
                    .deployments
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, d)| d.clone())
                    .collect();
                Response::json(200, json!({ "value": v }))
            }
            ("GET", [_]) => match self.deployments.get(&key) {
                Some(d) => Response::json(200, d.clone()),
                None => Response::error(
                    404,
                    "DeploymentNotFound",
                    &format!("Deployment '{name}' could not be found."),
                ),
            },
            ("DELETE", [_]) => {
                // Azure: deleting a deployment removes its record, not its resources.
                match self.deployments.remove(&key) {
                    Some(_) => Response::empty(202),
                    None => Response::empty(204),
                }
            }
            ("PUT", [_]) => {
                let body = match body_of(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let o = match template::deploy(model, scope, name, &body, principal)
                    .and_then(|o| writable(model, caller, &o).map(|()| o))
                {
                    Ok(o) => o,
                    Err(e) if e.code == ErrorCode::AuthorizationFailed => return refused(&e),
                    Err(e) => {
                        let mut doc = record(&id, name, &body, "Failed");
                        doc["properties"]["error"] = json!({ "code": e.code.as_str(), "message": e.message });
                        self.deployments.insert(key, doc);
                        return preflight_error(name, &e);
                    }
                };
                if let Err(e) = backend.apply(o.changes.clone()) {
                    return match e {
                        crate::az::AzError::Azure(a) => refused(&a),
                        other => Response::error(500, "InternalServerError", &other.to_string()),
                    };
                }
                for (rid, doc) in &o.opaque {
                    self.opaque.insert(rid.as_str().to_ascii_lowercase(), doc.clone());
                }
                let mut doc = record(&id, name, &body, "Succeeded");
                doc["properties"]["outputs"] = Value::Object(o.outputs.clone());
                doc["properties"]["outputResources"] = output_resources(&o);
                if !o.warnings.is_empty() {
                    doc["properties"]["diagnostics"] = Value::Array(
                        o.warnings
                            .iter()
                            .map(|w| json!({ "level": "Warning", "code": "NotEmulated", "message": w }))
                            .collect(),
                    );
                }
                let existed = self.deployments.insert(key, doc.clone()).is_some();
                let (async_op, _) = self.operation_headers(scope.subscription_id(), "Microsoft.Resources", None);
                Response::json(if existed { 200 } else { 201 }, doc).header("Azure-AsyncOperation", async_op)
            }
            ("POST", [_, action]) if action.eq_ignore_ascii_case("validate") => {
                let body = match body_of(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                match template::deploy(model, scope, name, &body, principal)
                    .and_then(|o| writable(model, caller, &o).map(|()| o))
                {
                    Ok(o) => {
                        let mut doc = record(&id, name, &body, "Succeeded");
                        doc["properties"]["validatedResources"] = output_resources(&o);
                        Response::json(200, doc)
                    }
                    Err(e) => preflight_error(name, &e),
                }
            }
            ("POST", [_, action]) if action.eq_ignore_ascii_case("whatif") => {
                let body = match body_of(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                match template::deploy(model, scope, name, &body, principal) {
                    Ok(o) => Response::json(200, what_if(model, &o, &self.opaque)),
                    Err(e) => preflight_error(name, &e),
                }
            }
            _ => method_not_allowed(method, &req.path),
        }
    }
}

/// ARM's preflight: the caller must be allowed to write every resource the
/// template puts, as if it put each itself (the deployment is refused with
/// the first resource's AuthorizationFailed, nothing applied).
fn writable(model: &Model, caller: &Caller, o: &Outcome) -> Result<(), AzureError> {
    o.ids
        .iter()
        .chain(o.opaque.iter().map(|(i, _)| i))
        .try_for_each(|i| rbac::check(model, caller, &rbac::action("PUT", i, None), i))
}

fn output_resources(o: &Outcome) -> Value {
    let mut seen = std::collections::BTreeSet::new();
    Value::Array(
        o.ids
            .iter()
            .chain(o.opaque.iter().map(|(i, _)| i))
            .filter(|i| seen.insert(i.as_str().to_ascii_lowercase()))
            .map(|i| json!({ "id": i.as_str() }))
            .collect(),
    )
}

/// ARM's WhatIfOperationResult: one change per resource the template
/// names, Create / Modify / NoChange, with the property delta.
// Azure: What If - changeType Create, Delete, Ignore, Deploy, NoChange,
// Modify, Unsupported; propertyChangeType Create, Delete, Modify, Array
// (https://learn.microsoft.com/rest/api/resources/deployments/what-if).
fn what_if(before: &Model, o: &Outcome, opaque: &std::collections::BTreeMap<String, Value>) -> Value {
    let mut seen = std::collections::BTreeSet::new();
    let mut changes = Vec::new();
    let docs = o
        .ids
        .iter()
        .map(|id| {
            (
                id,
                wire::find(before, id).map(wire::to_arm),
                wire::find(&o.model, id).map(wire::to_arm),
            )
        })
        .chain(o.opaque.iter().map(|(id, doc)| {
            (
                id,
                opaque.get(&id.as_str().to_ascii_lowercase()).cloned(),
                Some(doc.clone()),
            )
        }));
    for (id, was, will) in docs {
        if !seen.insert(id.as_str().to_ascii_lowercase()) {
            continue;
        }
        let mut delta = Vec::new();
        let kind = match (&was, &will) {
            (None, _) => "Create",
            (Some(b), Some(a)) => {
                diff("", b, a, &mut delta);
                if delta.is_empty() { "NoChange" } else { "Modify" }
            }
            (Some(_), None) => "Delete",
        };
        let mut c = json!({ "resourceId": id.as_str(), "changeType": kind, "before": was, "after": will });
        if kind == "Modify" {
            c["delta"] = Value::Array(delta);
        }
        changes.push(c);
    }
    json!({ "status": "Succeeded", "properties": { "changes": changes } })
}

/// Leaf-level differences of two documents, with ARM's dotted paths.
fn diff(path: &str, before: &Value, after: &Value, out: &mut Vec<Value>) {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => diff(&at(k), bv, av, out),
                    None => out.push(json!({ "path": at(k), "propertyChangeType": "Delete", "before": bv })),
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    out.push(json!({ "path": at(k), "propertyChangeType": "Create", "after": av }));
                }
            }
        }
        (b, a) if b != a => out.push(json!({ "path": path, "propertyChangeType": "Modify", "before": b, "after": a })),
        _ => {}
    }
}
