//! The few Microsoft Graph calls the real az makes to resolve a principal
//! (`az role assignment create|list|delete --assignee X`), answered for
//! the lab's principals on the lab's endpoint: the metadata document names
//! the endpoint itself as `microsoftGraphResourceId`, so az sends them to
//! `{endpoint}/v1.0/…` with a token of the lab.
//!
//! az 2.91 (command_modules/role/custom.py, `_resolve_object_id_and_type`
//! and `_get_object_stubs`) calls, in this order:
//! - `GET /v1.0/users?$filter=userPrincipalName eq 'X'` when X has an `@`;
//! - `GET /v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq 'X')`;
//! - `POST /v1.0/directoryObjects/getByIds` `{"ids": [...], "types": [...]}`
//!   (X as an object ID, and the principal names `role assignment list` prints).
//!
//! Everything else under `/v1.0` and `/beta` is Graph's 404. Every lab
//! principal may read the directory (in Entra an app needs
//! Directory.Read.All for it; the lab has no Graph permissions to grant).

use serde_json::{Value, json};

use super::Response;
use super::auth::{LAB_PRINCIPAL_APP_ID, LAB_PRINCIPAL_NAME};
use crate::model::{Model, PrincipalType};

/// One directory object as Graph prints it.
struct Object {
    id: String,
    name: String,
    tenant: String,
    user: bool,
}

impl Object {
    fn render(&self) -> Value {
        if self.user {
            json!({
                "@odata.type": "#microsoft.graph.user",
                "id": self.id,
                "displayName": self.name,
                "userPrincipalName": self.name,
                "accountEnabled": true,
            })
        } else {
            // Azure: a service principal's servicePrincipalNames hold its
            // appId (the lab's principals sign in with their object ID as
            // client ID, so appId = id here).
            json!({
                "@odata.type": "#microsoft.graph.servicePrincipal",
                "id": self.id,
                "appId": self.id,
                "displayName": self.name,
                "servicePrincipalNames": [self.id],
                "servicePrincipalType": "Application",
                "appOwnerOrganizationId": self.tenant,
                "accountEnabled": true,
            })
        }
    }
}

/// The lab's own principal and the topology's.
fn directory(model: &Model) -> Vec<Object> {
    let home = model
        .subscriptions
        .first()
        .map(|s| s.tenant_id.clone())
        .unwrap_or_default();
    let lab = Object {
        id: LAB_PRINCIPAL_APP_ID.into(),
        name: LAB_PRINCIPAL_NAME.into(),
        tenant: home,
        user: false,
    };
    std::iter::once(lab)
        .chain(model.principals.iter().map(|p| Object {
            id: p.object_id.clone(),
            name: p.name.clone(),
            tenant: p.tenant_id.clone(),
            user: p.principal_type == PrincipalType::User,
        }))
        .collect()
}

/// Graph's error body (`{"error": {"code", "message"}}`; az reads `message`).
fn error(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, json!({ "error": { "code": code, "message": message } }))
}

/// The value `field eq '…'` (or `field/any(c:c eq '…')`) compares with.
fn compared(filter: &str, field: &str) -> Option<String> {
    let f = filter.trim();
    let rest = f.get(..field.len()).filter(|h| h.eq_ignore_ascii_case(field))?;
    let rest = f[rest.len()..].trim_start();
    let rest = rest.strip_prefix("/any(c:c").map(str::trim_start).unwrap_or(rest);
    let rest = rest.strip_prefix("eq ")?.trim_start().strip_prefix('\'')?;
    let end = rest.find('\'')?;
    // az quotes the value as given, without OData's '' escape.
    Some(rest[..end].to_string())
}

fn list(base: &str, set: &str, items: Vec<Value>) -> Response {
    Response::json(
        200,
        json!({ "@odata.context": format!("{base}/v1.0/$metadata#{set}"), "value": items }),
    )
}

/// Answers a request under `/v1.0` or `/beta`; `l` is the lower-case path.
pub fn handle(base: &str, method: &str, l: &[&str], filter: Option<&str>, body: &[u8], model: &Model) -> Response {
    let objects = directory(model);
    match (method, l) {
        ("GET", [_, set @ ("users" | "serviceprincipals")]) => {
            let user = *set == "users";
            let field = if user {
                "userPrincipalName"
            } else {
                "servicePrincipalNames"
            };
            let want = match filter {
                None => None,
                Some(f) => match compared(f, field).or_else(|| compared(f, "displayName")) {
                    Some(v) => Some(v),
                    None => {
                        return error(
                            400,
                            "Request_UnsupportedQuery",
                            &format!(
                                "Unsupported query '{f}'. The lab's directory answers {field} eq '…' and displayName eq '…'."
                            ),
                        );
                    }
                },
            };
            let items = objects
                .iter()
                .filter(|o| o.user == user)
                .filter(|o| {
                    want.as_deref()
                        .is_none_or(|w| o.id.eq_ignore_ascii_case(w) || o.name.eq_ignore_ascii_case(w))
                })
                .map(Object::render)
                .collect();
            list(base, if user { "users" } else { "servicePrincipals" }, items)
        }
        ("POST", [_, "directoryobjects", "getbyids"]) => {
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(ids) = body["ids"].as_array() else {
                return error(
                    400,
                    "Request_BadRequest",
                    "The request body must hold 'ids', an array of object IDs.",
                );
            };
            let items = ids
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|id| objects.iter().find(|o| o.id.eq_ignore_ascii_case(id)))
                .map(Object::render)
                .collect();
            list(base, "directoryObjects", items)
        }
        _ => error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '/{}' does not exist in the lab's directory: it answers GET users, GET servicePrincipals and POST directoryObjects/getByIds.",
                l.join("/")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Principal;

    fn model() -> Model {
        let mut m = Model::default();
        m.principals.push(Principal {
            name: "netops".into(),
            object_id: "7b000000-0000-4000-8000-0000000000b1".into(),
            tenant_id: "t1".into(),
            principal_type: PrincipalType::ServicePrincipal,
        });
        m.principals.push(Principal {
            name: "ann@contoso.test".into(),
            object_id: "7b000000-0000-4000-8000-0000000000b3".into(),
            tenant_id: "t1".into(),
            principal_type: PrincipalType::User,
        });
        m
    }

    fn values(r: &Response) -> Vec<Value> {
        r.body
            .as_ref()
            .and_then(|b| b["value"].as_array())
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn filters_are_read_as_az_writes_them() {
        assert_eq!(
            compared("servicePrincipalNames/any(c:c eq 'abc')", "servicePrincipalNames").as_deref(),
            Some("abc")
        );
        assert_eq!(
            compared("userPrincipalName eq 'ann@x'", "userPrincipalName").as_deref(),
            Some("ann@x")
        );
        assert_eq!(compared("appId eq 'x'", "userPrincipalName"), None);
    }

    #[test]
    fn az_resolves_a_service_principal_by_app_id_and_a_user_by_upn() {
        let m = model();
        let sp = handle(
            "https://h",
            "GET",
            &["v1.0", "serviceprincipals"],
            Some("servicePrincipalNames/any(c:c eq '7B000000-0000-4000-8000-0000000000B1')"),
            b"",
            &m,
        );
        let v = values(&sp);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["id"], "7b000000-0000-4000-8000-0000000000b1");
        let u = handle(
            "https://h",
            "GET",
            &["v1.0", "users"],
            Some("userPrincipalName eq 'ann@contoso.test'"),
            b"",
            &m,
        );
        assert_eq!(values(&u)[0]["userPrincipalName"], "ann@contoso.test");
        let none = handle(
            "https://h",
            "GET",
            &["v1.0", "serviceprincipals"],
            Some("servicePrincipalNames/any(c:c eq 'mallory')"),
            b"",
            &m,
        );
        assert!(values(&none).is_empty());
    }

    #[test]
    fn get_by_ids_types_each_object() {
        let m = model();
        let body = br#"{"ids": ["7b000000-0000-4000-8000-0000000000b3", "00000000-0000-4000-8000-0000000000c1", "nobody"], "types": ["user"]}"#;
        let r = handle(
            "https://h",
            "POST",
            &["v1.0", "directoryobjects", "getbyids"],
            None,
            body,
            &m,
        );
        let v = values(&r);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["@odata.type"], "#microsoft.graph.user");
        assert_eq!(v[1]["@odata.type"], "#microsoft.graph.servicePrincipal");
        assert_eq!(v[1]["displayName"], LAB_PRINCIPAL_NAME);
        let bad = handle(
            "https://h",
            "POST",
            &["v1.0", "directoryobjects", "getbyids"],
            None,
            b"{}",
            &m,
        );
        assert_eq!(bad.status, 400);
        let unknown = handle("https://h", "GET", &["v1.0", "me"], None, b"", &m);
        assert_eq!(unknown.status, 404);
        assert_eq!(
            unknown.body.as_ref().map(|b| b["error"]["code"].clone()),
            Some(json!("Request_ResourceNotFound"))
        );
    }
}
