//! Role assignments and role definitions as the extension resources ARM
//! serves at any scope (`{scope}/providers/Microsoft.Authorization/
//! roleAssignments[/{name}]`, `…/roleDefinitions`): what `az aks create`
//! reads and writes to grant the cluster's identity Network Contributor on
//! its node subnet. An assignment to one of the lab's principals is also
//! the model's `RoleAssignment` (it then decides requests, [`super::rbac`]);
//! one to an identity the lab has no principal for (a cluster's managed
//! identity) has no effect on the network and is kept as a document only.

use serde_json::{Value, json};

use crate::model::{
    AzureError, BUILT_IN_ROLES, Change, ErrorCode, Model, ResourceId, RoleAssignment, role_actions, role_definition_id,
};

const NAMESPACE: &str = "Microsoft.Authorization";
const ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";

/// An extension path of Microsoft.Authorization: the scope it hangs below,
/// the lower-case type (`roleassignments`, `roledefinitions`) and the name.
pub struct Path<'a> {
    pub scope: String,
    pub kind: String,
    pub name: Option<&'a str>,
}

/// `segs` (after `/subscriptions/{id}`, original case) as an extension path.
pub fn path<'a>(segs: &[&'a str], sub: &str) -> Option<Path<'a>> {
    let i = segs
        .windows(2)
        .rposition(|w| w[0].eq_ignore_ascii_case("providers") && w[1].eq_ignore_ascii_case(NAMESPACE))?;
    let kind = segs.get(i + 2)?.to_ascii_lowercase();
    if !matches!(kind.as_str(), "roleassignments" | "roledefinitions") || segs.len() > i + 4 {
        return None;
    }
    let mut scope = format!("/subscriptions/{sub}");
    for s in &segs[..i] {
        scope.push('/');
        scope.push_str(s);
    }
    Some(Path {
        scope,
        kind,
        name: segs.get(i + 3).copied(),
    })
}

fn definition_id(sub: &str, guid: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

fn definition(sub: &str, name: &str, guid: &str) -> Value {
    json!({
        "id": definition_id(sub, guid),
        "name": guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": { "roleName": name, "type": "BuiltInRole", "assignableScopes": ["/"], "permissions": [] },
    })
}

/// The quoted value after `key` in an OData filter (`roleName eq 'X'`).
fn quoted_after<'f>(filter: &'f str, key: &str) -> Option<&'f str> {
    let at = filter.to_ascii_lowercase().find(&key.to_ascii_lowercase())? + key.len();
    let rest = &filter[at..];
    let start = rest.find('\'')? + 1;
    let end = rest[start..].find('\'')? + start;
    Some(&rest[start..end])
}

/// `GET …/roleDefinitions[?$filter=roleName eq 'X']`.
pub fn definitions(sub: &str, filter: Option<&str>) -> Value {
    let want = filter.and_then(|f| quoted_after(f, "roleName eq"));
    let v: Vec<Value> = BUILT_IN_ROLES
        .iter()
        .filter(|(n, _)| want.is_none_or(|w| w.eq_ignore_ascii_case(n)))
        .map(|(n, g)| definition(sub, n, g))
        .collect();
    json!({ "value": v })
}

/// The built-in role a definition ID stands for (the model's table).
fn role_name(definition_id: &str) -> Option<&'static str> {
    crate::model::role_name(definition_id).filter(|r| role_definition_id(r).is_some())
}

fn assignment_id(scope: &str, name: &str) -> String {
    format!("{scope}/providers/{ASSIGNMENTS}/{name}")
}

/// A model assignment (from the topology) in ARM's shape.
fn render_model(sub: &str, a: &RoleAssignment) -> Value {
    // As templates name assignments: guid(scope, principal, role).
    let name = super::template::hash::guid(&[&a.scope, &a.principal_object_id, &a.role_definition_name]);
    let guid = role_definition_id(&a.role_definition_name).unwrap_or("00000000-0000-0000-0000-000000000000");
    json!({
        "id": assignment_id(&a.scope, &name),
        "name": name,
        "type": ASSIGNMENTS,
        "properties": {
            "roleDefinitionId": definition_id(sub, guid),
            "principalId": a.principal_object_id,
            "principalType": "ServicePrincipal",
            "scope": a.scope,
        },
    })
}

fn is_assignment(doc: &Value) -> bool {
    doc["type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case(ASSIGNMENTS))
}

/// Every assignment of the lab, stored documents first, then the model's
/// that no document stands for.
fn all(m: &Model, sub: &str) -> Vec<Value> {
    let stored: Vec<Value> = m
        .opaque_resources
        .values()
        .filter(|d| is_assignment(d))
        .cloned()
        .collect();
    let same = |d: &Value, a: &RoleAssignment| {
        let p = &d["properties"];
        p["principalId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(&a.principal_object_id))
            && p["scope"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&a.scope))
            && p["roleDefinitionId"]
                .as_str()
                .and_then(role_name)
                .is_some_and(|r| r.eq_ignore_ascii_case(&a.role_definition_name))
    };
    let model: Vec<Value> = m
        .role_assignments
        .iter()
        .filter(|a| !stored.iter().any(|d| same(d, a)))
        .map(|a| render_model(sub, a))
        .collect();
    stored.into_iter().chain(model).collect()
}

fn within(inner: &str, outer: &str) -> bool {
    let (i, o) = (inner.to_ascii_lowercase(), outer.to_ascii_lowercase());
    i == o || i.starts_with(&format!("{}/", o.trim_end_matches('/')))
}

/// `GET {scope}/…/roleAssignments[?$filter=…]`: `atScope()` gives those
/// at the scope or above it, otherwise those above and below it too;
/// `assignedTo('id')` / `principalId eq 'id'` keep one principal's.
// Azure: Role Assignments - List For Scope, "$filter=atScope()" and
// "assignedTo('{id}')" (learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope).
pub fn list(m: &Model, sub: &str, scope: &str, filter: Option<&str>) -> Value {
    let f = filter.unwrap_or("");
    let at_scope = f.to_ascii_lowercase().contains("atscope()");
    let principal = quoted_after(f, "assignedTo(").or_else(|| quoted_after(f, "principalId eq"));
    let v: Vec<Value> = all(m, sub)
        .into_iter()
        .filter(|d| {
            let s = d["properties"]["scope"].as_str().unwrap_or_default();
            within(scope, s) || (!at_scope && within(s, scope))
        })
        .filter(|d| {
            principal.is_none_or(|p| {
                d["properties"]["principalId"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(p))
            })
        })
        .collect();
    json!({ "value": v })
}

pub fn get(m: &Model, sub: &str, scope: &str, name: &str) -> Option<Value> {
    let id = assignment_id(scope, name);
    all(m, sub)
        .into_iter()
        .find(|d| d["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id)))
}

fn bad(code: ErrorCode, message: String) -> AzureError {
    AzureError::new(code, message)
}

/// `PUT {scope}/…/roleAssignments/{name}`: the stored document and, for
/// one of the lab's principals, the model's assignment.
// Azure: Role Assignments - Create: properties.roleDefinitionId and
// principalId required; the same principal, role and scope again is 409
// RoleAssignmentExists.
pub fn put(m: &Model, sub: &str, scope: &str, name: &str, body: &Value) -> Result<(Vec<Change>, Value), AzureError> {
    let p = &body["properties"];
    let (Some(definition), Some(principal)) = (p["roleDefinitionId"].as_str(), p["principalId"].as_str()) else {
        return Err(bad(
            ErrorCode::InvalidRequestFormat,
            "A role assignment needs properties.roleDefinitionId and properties.principalId.".into(),
        ));
    };
    let Some(role) = role_name(definition) else {
        return Err(bad(
            ErrorCode::RoleDefinitionDoesNotExist,
            format!(
                "The specified role definition with ID '{}' does not exist. The lab knows {}.",
                definition.rsplit('/').next().unwrap_or(definition),
                BUILT_IN_ROLES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let id = assignment_id(scope, name);
    let duplicate = all(m, sub).into_iter().any(|d| {
        let q = &d["properties"];
        d["id"].as_str().is_some_and(|x| !x.eq_ignore_ascii_case(&id))
            && q["principalId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(principal))
            && q["scope"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(scope))
            && q["roleDefinitionId"].as_str().and_then(role_name) == Some(role)
    });
    if duplicate {
        return Err(bad(
            ErrorCode::RoleAssignmentExists,
            "The role assignment already exists.".into(),
        ));
    }
    let doc = json!({
        "id": id,
        "name": name,
        "type": ASSIGNMENTS,
        "properties": {
            "roleDefinitionId": definition_id(sub, definition.rsplit('/').next().unwrap_or(definition)),
            "principalId": principal,
            "principalType": p["principalType"].as_str().unwrap_or("ServicePrincipal"),
            "scope": scope,
        },
    });
    let rid = ResourceId::parse(&id)
        .ok_or_else(|| bad(ErrorCode::InvalidRequestFormat, format!("'{id}' is not a valid scope.")))?;
    let mut changes = vec![Change::PutOpaqueResource {
        id: rid,
        doc: doc.clone(),
    }];
    let known = m.principals.iter().any(|x| x.object_id.eq_ignore_ascii_case(principal));
    if known && role_actions(role).is_some() {
        changes.push(Change::PutRoleAssignment(RoleAssignment {
            principal_object_id: principal.to_string(),
            role_definition_name: role.to_string(),
            scope: scope.to_string(),
        }));
    }
    Ok((changes, doc))
}

/// `DELETE {scope}/…/roleAssignments/{name}`: the changes, or None when
/// there is no such assignment (ARM answers 204).
pub fn delete(m: &Model, sub: &str, scope: &str, name: &str) -> Option<Vec<Change>> {
    let doc = get(m, sub, scope, name)?;
    let p = &doc["properties"];
    let mut out = Vec::new();
    if let Some(id) = doc["id"].as_str().and_then(ResourceId::parse)
        && m.opaque_resources.contains_key(&id)
    {
        out.push(Change::DeleteOpaqueResource(id));
    }
    let role = p["roleDefinitionId"].as_str().and_then(role_name).unwrap_or_default();
    if let Some(a) = m.role_assignments.iter().find(|a| {
        p["principalId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(&a.principal_object_id))
            && a.scope.eq_ignore_ascii_case(scope)
            && a.role_definition_name.eq_ignore_ascii_case(role)
    }) {
        out.push(Change::DeleteRoleAssignment(a.clone()));
    }
    Some(out)
}

/// Answers a request on an extension path of Microsoft.Authorization.
pub(super) fn handle(
    req: &super::Request,
    p: &Path,
    sub: &str,
    caller: &super::auth::Caller,
    model: &Model,
    backend: &mut dyn crate::az::Backend,
) -> super::Response {
    use super::{Response, refused};
    let filter = req.query("$filter");
    let Some(scope_id) = ResourceId::parse(&p.scope) else {
        return super::not_found(&req.path);
    };
    let verb = match req.method.as_str() {
        "GET" => "read",
        "PUT" => "write",
        "DELETE" => "delete",
        m => return super::method_not_allowed(m, &req.path),
    };
    let kind = if p.kind == "roledefinitions" {
        "roleDefinitions"
    } else {
        "roleAssignments"
    };
    if let Err(e) = super::rbac::check(model, caller, &format!("{NAMESPACE}/{kind}/{verb}"), &scope_id) {
        return refused(&e);
    }
    let apply = |backend: &mut dyn crate::az::Backend, changes: Vec<Change>| match backend.apply(changes) {
        Ok(()) => None,
        Err(crate::az::AzError::Azure(a)) => Some(refused(&a)),
        Err(other) => Some(Response::error(500, "InternalServerError", &other.to_string())),
    };
    match (req.method.as_str(), p.kind.as_str(), p.name) {
        ("GET", "roledefinitions", None) => Response::json(200, definitions(sub, filter)),
        ("GET", "roledefinitions", Some(g)) => match BUILT_IN_ROLES.iter().find(|(_, x)| x.eq_ignore_ascii_case(g)) {
            Some((n, x)) => Response::json(200, definition(sub, n, x)),
            None => Response::error(
                404,
                "RoleDefinitionDoesNotExist",
                &format!("The specified role definition with ID '{g}' does not exist."),
            ),
        },
        ("GET", _, None) => Response::json(200, list(model, sub, &p.scope, filter)),
        ("GET", _, Some(n)) => match get(model, sub, &p.scope, n) {
            Some(d) => Response::json(200, d),
            None => Response::error(
                404,
                "RoleAssignmentNotFound",
                &format!("The role assignment '{n}' is not found."),
            ),
        },
        ("PUT", "roleassignments", Some(n)) => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let (changes, doc) = match put(model, sub, &p.scope, n, &body) {
                Ok(x) => x,
                Err(e) => return refused(&e),
            };
            apply(backend, changes).unwrap_or_else(|| Response::json(201, doc))
        }
        ("DELETE", "roleassignments", Some(n)) => match delete(model, sub, &p.scope, n) {
            None => Response::empty(204),
            Some(changes) => {
                let doc = get(model, sub, &p.scope, n).unwrap_or(Value::Null);
                apply(backend, changes).unwrap_or_else(|| Response::json(200, doc))
            }
        },
        (m, _, _) => super::method_not_allowed(m, &req.path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_paths_name_their_scope() {
        let segs = [
            "resourceGroups",
            "rg",
            "providers",
            "Microsoft.Network",
            "virtualNetworks",
            "v",
            "subnets",
            "s",
            "providers",
            "Microsoft.Authorization",
            "roleAssignments",
        ];
        let p = path(&segs, "sub").expect("an extension path");
        assert_eq!(
            p.scope,
            "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
        );
        assert_eq!((p.kind.as_str(), p.name), ("roleassignments", None));
        let p = path(&["providers", "Microsoft.Authorization", "roleDefinitions", "g"], "sub").expect("a path");
        assert_eq!((p.scope.as_str(), p.name), ("/subscriptions/sub", Some("g")));
        assert!(path(&["providers", "Microsoft.Authorization", "denyAssignments"], "sub").is_none());
        assert!(path(&["resourceGroups", "rg"], "sub").is_none());
    }

    #[test]
    fn filters_are_read_as_az_writes_them() {
        assert_eq!(
            quoted_after("roleName eq 'Network Contributor'", "roleName eq"),
            Some("Network Contributor")
        );
        assert_eq!(
            quoted_after("atScope() and assignedTo('abc')", "assignedTo("),
            Some("abc")
        );
        let all = definitions("s", None);
        assert_eq!(all["value"].as_array().map(Vec::len), Some(BUILT_IN_ROLES.len()));
        assert_eq!(
            definitions("s", Some("roleName eq 'reader'"))["value"][0]["properties"]["roleName"],
            "Reader"
        );
    }
}
