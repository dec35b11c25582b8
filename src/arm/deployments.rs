//! `Microsoft.Resources/deployments` on the ARM endpoint, at resource-group
//! and subscription scope: PUT deploys a template (`template::deploy`),
//! POST `validate` and `whatIf` evaluate it against the lab without
//! changing it, GET/list/DELETE keep ARM's record of each deployment.
// Azure: Deployments REST API (Create Or Update, Validate, What If, Get,
// List By Resource Group, Delete)
// (https://learn.microsoft.com/rest/api/resources/deployments).

use serde_json::{Map, Value, json};

use super::template::{self, Outcome};
use super::{Arm, Caller, Request, Response, auth, method_not_allowed, put, rbac, refused, wire};
use crate::az::{Backend, DeploymentCall, DeploymentReply, DeploymentVerb};
use crate::model::{AzureError, Change, ErrorCode, Model, ResourceId};

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
            "timestamp": timestamp(std::time::SystemTime::now()),
            // The changes apply at once: nothing runs for long.
            "duration": "PT0S",
        },
    })
}

/// ARM's time stamp: UTC with seven fractional digits, `Z`.
// Azure: DeploymentPropertiesExtended.timestamp, e.g. "2024-05-01T12:00:00.1234567Z"
// (learn.microsoft.com/rest/api/resources/deployments/get).
fn timestamp(at: std::time::SystemTime) -> String {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp(secs, since.subsec_nanos())
        .map(|t| format!("{}{:07}Z", t.format("%Y-%m-%dT%H:%M:%S."), since.subsec_nanos() / 100))
        .unwrap_or_default()
}

/// ARM's preflight answer for a deployment that would fail: template
/// errors as they are, resource errors inside InvalidTemplateDeployment.
// Azure: "The template deployment 'X' is not valid according to the
// validation procedure … See inner errors for details."
// (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
fn preflight_reply(name: &str, e: &AzureError) -> DeploymentReply {
    // Azure: an authorization refusal is ARM's 403 itself, not an inner error.
    if matches!(
        e.code,
        ErrorCode::InvalidTemplate | ErrorCode::AuthorizationFailed | ErrorCode::LinkedAuthorizationFailed
    ) {
        return refused_reply(e);
    }
    with_inner_error(
        "InvalidTemplateDeployment",
        &format!(
            "The template deployment '{name}' is not valid according to the validation procedure. See inner errors for details."
        ),
        e,
    )
}

/// A 400 whose `details` carry the resource's own error.
fn with_inner_error(code: &str, message: &str, e: &AzureError) -> DeploymentReply {
    let mut detail = json!({ "code": e.code.as_str(), "message": e.message });
    if let Some(t) = &e.target {
        detail["target"] = json!(t);
    }
    reply(
        400,
        json!({ "error": { "code": code, "message": message, "details": [detail] } }),
    )
}

impl Arm {
    /// The HTTP front of [`call`]: the path and body turned into a call,
    /// the reply into a response.
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
        let verb = match (method, more) {
            ("GET", []) => DeploymentVerb::List,
            ("GET", [_]) => DeploymentVerb::Show,
            ("DELETE", [_]) => DeploymentVerb::Delete,
            ("PUT", [_]) => DeploymentVerb::Create,
            ("POST", [_, a]) if a.eq_ignore_ascii_case("validate") => DeploymentVerb::Validate,
            ("POST", [_, a]) if a.eq_ignore_ascii_case("whatif") => DeploymentVerb::WhatIf,
            _ => return method_not_allowed(method, &req.path),
        };
        // Azure: a deployment is checked like any request, its own action
        // (Microsoft.Resources/deployments/read|write|delete, validate and
        // whatIf actions) at the deployment's scope.
        let action = match verb {
            DeploymentVerb::Validate => "validate/action",
            DeploymentVerb::WhatIf => "whatIf/action",
            DeploymentVerb::List | DeploymentVerb::Show => "read",
            DeploymentVerb::Delete => "delete",
            DeploymentVerb::Create => "write",
        };
        if let Err(e) = rbac::check(
            model,
            caller,
            &format!("Microsoft.Resources/deployments/{action}"),
            scope,
        ) {
            return refused(&e);
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
        let body = match verb {
            DeploymentVerb::Create | DeploymentVerb::Validate | DeploymentVerb::WhatIf => match body_of(req) {
                Ok(b) => b,
                Err(r) => return r,
            },
            _ => Value::Null,
        };
        let c = DeploymentCall {
            verb,
            scope: scope.clone(),
            name: name.to_string(),
            body,
        };
        let writable = |o: &Outcome| writable(model, caller, o);
        let reply = match call(model, backend, &c, principal, &writable) {
            Ok(r) => r,
            Err(e) => return Response::error(500, "InternalServerError", &e.to_string()),
        };
        let mut r = Response {
            status: reply.status,
            headers: Vec::new(),
            body: reply.body,
        };
        if verb == DeploymentVerb::Create && reply.status < 300 {
            let (async_op, _) = self.operation_headers(scope.subscription_id(), "Microsoft.Resources", None);
            r = r.header("Azure-AsyncOperation", async_op);
        }
        r
    }
}

fn reply(status: u16, body: Value) -> DeploymentReply {
    DeploymentReply {
        status,
        body: Some(body),
    }
}

fn error_reply(status: u16, code: &str, message: &str) -> DeploymentReply {
    reply(status, json!({ "error": { "code": code, "message": message } }))
}

fn refused_reply(e: &AzureError) -> DeploymentReply {
    let r = refused(e);
    DeploymentReply {
        status: r.status,
        body: r.body,
    }
}

/// One deployment call against the lab behind `backend` (whose model is
/// `model`): what both the ARM endpoint and the az shim run. A deploy is
/// one batch: the template's changes, Complete mode's deletes and the
/// deployment's record are applied together or not at all, and the record
/// lives in the model, so it is saved with the lab. `authorize` refuses
/// an outcome the caller may not write (the ARM endpoint's RBAC; the shim
/// acts as the lab's owner and allows all).
pub fn call(
    model: &Model,
    backend: &mut dyn Backend,
    c: &DeploymentCall,
    principal: Option<&str>,
    authorize: &dyn Fn(&Outcome) -> Result<(), AzureError>,
) -> Result<DeploymentReply, crate::az::AzError> {
    let scope = &c.scope;
    if !scope.resource_group_name().is_empty() && !model.resource_groups.contains_key(scope) {
        return Ok(error_reply(
            404,
            "ResourceGroupNotFound",
            &format!("Resource group '{}' could not be found.", scope.resource_group_name()),
        ));
    }
    let name = c.name.as_str();
    let id = deployment_id(scope, name);
    let rid = ResourceId::parse(&id).unwrap_or_else(|| scope.clone());
    let body = &c.body;
    Ok(match c.verb {
        DeploymentVerb::List => {
            let v: Vec<Value> = model
                .deployments
                .iter()
                .filter(|(k, _)| deployed_at(k, scope))
                .map(|(_, d)| d.clone())
                .collect();
            reply(200, json!({ "value": v }))
        }
        DeploymentVerb::Show => match model.deployments.get(&rid) {
            Some(d) => reply(200, d.clone()),
            None => not_found(name),
        },
        DeploymentVerb::Delete => {
            // Azure: deleting a deployment removes its record, not its resources.
            if !model.deployments.contains_key(&rid) {
                return Ok(DeploymentReply {
                    status: 204,
                    body: None,
                });
            }
            backend.apply(vec![Change::DeleteDeployment(rid)])?;
            DeploymentReply {
                status: 202,
                body: None,
            }
        }
        DeploymentVerb::Create => {
            if let Some(r) = refuse_bicep(body) {
                return Ok(r);
            }
            let o = match planned(model, scope, name, body, principal).and_then(|o| authorize(&o).map(|()| o)) {
                Ok(o) => o,
                // Azure: a deployment that fails preflight validation is
                // not created; the lab stays exactly as it was.
                Err(e) => return Ok(preflight_reply(name, &e)),
            };
            let mut doc = record(&id, name, body, "Succeeded");
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
            let mut changes = o.changes.clone();
            changes.extend(o.opaque.iter().map(|(i, d)| Change::PutOpaqueResource {
                id: i.clone(),
                doc: d.clone(),
            }));
            changes.extend(o.removed.iter().map(remove));
            let existed = model.deployments.contains_key(&rid);
            changes.push(Change::PutDeployment {
                id: rid,
                record: doc.clone(),
            });
            match backend.apply(changes) {
                Ok(()) => reply(if existed { 200 } else { 201 }, doc),
                Err(crate::az::AzError::Azure(a)) => deployment_failed(name, &a),
                Err(other) => return Err(other),
            }
        }
        DeploymentVerb::Validate => match refuse_bicep(body) {
            Some(r) => r,
            None => match planned(model, scope, name, body, principal).and_then(|o| authorize(&o).map(|()| o)) {
                Ok(o) => {
                    let mut doc = record(&id, name, body, "Succeeded");
                    doc["properties"]["validatedResources"] = output_resources(&o);
                    reply(200, doc)
                }
                Err(e) => preflight_reply(name, &e),
            },
        },
        DeploymentVerb::WhatIf => match refuse_bicep(body) {
            Some(r) => r,
            None => match planned(model, scope, name, body, principal).and_then(|o| authorize(&o).map(|()| o)) {
                Ok(o) => reply(200, what_if(model, &o)),
                Err(e) => preflight_reply(name, &e),
            },
        },
    })
}

fn not_found(name: &str) -> DeploymentReply {
    error_reply(
        404,
        "DeploymentNotFound",
        &format!("Deployment '{name}' could not be found."),
    )
}

/// Azure: a resource that fails during the deployment fails it as
/// DeploymentFailed with the resource's own error in `details`
/// (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
fn deployment_failed(name: &str, e: &AzureError) -> DeploymentReply {
    with_inner_error(
        "DeploymentFailed",
        &format!(
            "At least one resource deployment operation failed in deployment '{name}'. Please list deployment operations for details. vnetlab applies a deployment whole or not at all: nothing of it was applied."
        ),
        e,
    )
}

/// A Bicep file sent as a template: ARM takes JSON only.
// Azure: az deployment … --template-file takes a .bicep file only by
// compiling it first with the Bicep CLI (`az bicep build`)
// (https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-cli).
fn refuse_bicep(body: &Value) -> Option<DeploymentReply> {
    body["properties"]["template"].is_string().then(|| {
        error_reply(
            400,
            "InvalidTemplate",
            "The template is Bicep source, not ARM JSON: vnetlab has no Bicep compiler. Run `az bicep build --file FILE.bicep` and deploy the FILE.json it writes.",
        )
    })
}

/// The change that removes a resource Complete mode deletes.
fn remove(id: &ResourceId) -> Change {
    put::delete(id).unwrap_or_else(|| Change::DeleteOpaqueResource(id.clone()))
}

/// ARM's preflight: the caller must be allowed to write every resource the
/// template puts, as if it put each itself (the deployment is refused with
/// the first resource's AuthorizationFailed, nothing applied), a peering
/// also its linked scope, the remote VNet.
fn writable(model: &Model, caller: &Caller, o: &Outcome) -> Result<(), AzureError> {
    o.ids
        .iter()
        .chain(o.opaque.iter().map(|(i, _)| i))
        .try_for_each(|i| rbac::check(model, caller, &rbac::action("PUT", i, None), i))?;
    o.changes.iter().try_for_each(|c| match c {
        Change::PutPeering(p) => rbac::check_linked_peering(
            model,
            caller,
            &rbac::action("PUT", &p.id, None),
            &p.id,
            &p.remote_virtual_network,
        ),
        _ => Ok(()),
    })
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
fn what_if(before: &Model, o: &Planned) -> Value {
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
        .chain(
            o.opaque
                .iter()
                .map(|(id, doc)| (id, before.opaque_resources.get(id).cloned(), Some(doc.clone()))),
        )
        .chain(o.removed.iter().map(|id| (id, current(before, id), None)));
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

/// A deployment's evaluation and, in Complete mode, what it removes.
struct Planned {
    o: Outcome,
    /// Top-level resources of the group the template does not name, in
    /// the order they can be deleted (Complete mode only).
    removed: Vec<ResourceId>,
}

impl std::ops::Deref for Planned {
    type Target = Outcome;
    fn deref(&self) -> &Outcome {
        &self.o
    }
}

fn planned(
    model: &Model,
    scope: &ResourceId,
    name: &str,
    body: &Value,
    principal: Option<&str>,
) -> Result<Planned, AzureError> {
    let o = template::deploy(model, scope, name, body, principal)?;
    let complete = body["properties"]["mode"]
        .as_str()
        .is_some_and(|m| m.eq_ignore_ascii_case("complete"));
    if !complete {
        return Ok(Planned { o, removed: Vec::new() });
    }
    if scope.resource_group_name().is_empty() {
        return Err(AzureError::new(
            ErrorCode::InvalidParameter,
            "Complete mode deletes a resource group's resources that the template does not name: it applies to a resource group deployment only. Deploy at subscription scope with --mode Incremental (the default).",
        ));
    }
    Ok(Planned {
        removed: not_in_template(model, scope, &o),
        o,
    })
}

/// Azure: in Complete mode Resource Manager deletes the resources of the
/// group that are not in the template
/// (https://learn.microsoft.com/azure/azure-resource-manager/templates/deployment-modes).
/// Children go with their top-level resource, so only those are listed.
fn not_in_template(model: &Model, group: &ResourceId, o: &Outcome) -> Vec<ResourceId> {
    let kept: std::collections::BTreeSet<String> = o
        .ids
        .iter()
        .chain(o.opaque.iter().map(|(i, _)| i))
        .map(|i| super::export::top_level(i.as_str()))
        .collect();
    let gone: std::collections::BTreeSet<ResourceId> = wire::all_rendered(model)
        .iter()
        .filter_map(|d| d["id"].as_str().and_then(ResourceId::parse))
        .chain(model.opaque_resources.keys().cloned())
        // The group itself is no resource of the group.
        .filter(|i| {
            i != group
                && i.is_within(group.as_str())
                && super::export::top_level(i.as_str()) == i.as_str().to_ascii_lowercase()
        })
        .filter(|i| !kept.contains(&i.as_str().to_ascii_lowercase()))
        // A private endpoint's NIC goes with its endpoint, never on its own.
        .filter(|i| model.private_endpoint_of_nic(i).is_none())
        .filter(|i| put::delete(i).is_some() || model.opaque_resources.contains_key(i))
        .collect();
    let mut gone: Vec<ResourceId> = gone.into_iter().collect();
    gone.sort_by_key(|i| std::cmp::Reverse(super::export::rank(&i.resource_type())));
    gone
}

/// A resource as GET answers it: the model's or an opaque document.
fn current(model: &Model, id: &ResourceId) -> Option<Value> {
    wire::find(model, id)
        .map(wire::to_arm)
        .or_else(|| model.opaque_resources.get(id).cloned())
}

/// Is `id` a deployment directly at `scope`?
fn deployed_at(id: &ResourceId, scope: &ResourceId) -> bool {
    id.as_str()
        .to_ascii_lowercase()
        .strip_prefix(&scope.as_str().to_ascii_lowercase())
        .and_then(|r| r.strip_prefix("/providers/microsoft.resources/deployments/"))
        .is_some_and(|n| !n.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_seven_fractional_digits() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_714_564_800, 123_456_789);
        assert_eq!(timestamp(at), "2024-05-01T12:00:00.1234567Z");
    }
}
