//! The ARM REST surface of a lab: the paths and verbs of Azure Resource
//! Manager, the metadata document `az cloud register` reads, and the
//! identity endpoint, as one pure function from a request to a response.
//! It reads and changes the lab through the az front's [`Backend`], so
//! every change is the model's `Change`, validated once, applied whole or
//! refused whole; resources are printed by the az front's renderers put
//! into ARM's shape ([`wire::to_arm`]). The HTTPS listener is the CLI's
//! (`vnetlab cloud serve`): nothing here touches a socket.

mod actions;
pub mod auth;
pub mod ca;
pub mod deployments;
pub mod export;
mod export_params;
mod generic;
mod graph;
mod hub;
pub mod jsonc;
mod put;
mod put_aks;
mod put_balancer;
mod put_endpoint;
mod put_gateway;
pub mod rbac;
mod role_assignments;
mod tags;
pub mod template;
pub mod versions;
pub mod wire;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::az::Backend;
use crate::model::{AzureError, Change, ErrorCode, Model, ResourceId};
use auth::{Caller, Keys};

/// The largest request body ARM takes.
// Azure: "The request body size limit is 4 MB" (ARM request limits,
// learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The audience az asks tokens for (the cloud's `activeDirectoryResourceId`).
pub const AUDIENCE: &str = "https://management.core.windows.net/";

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    /// Query pairs, decoded.
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// `x-ms-authorization-auxiliary`: `Bearer t1, Bearer t2`, tokens of
    /// the caller in other tenants (az sends them for a linked scope there).
    pub auxiliary: Option<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// A request as a client sends it: `path` may carry its `?query`, a
    /// token becomes the Bearer authorization. (Tests and benches build
    /// requests with it; the HTTPS front fills the fields from the wire.)
    pub fn new(method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Request {
            method: method.into(),
            path: path.into(),
            query: auth::form(query.as_bytes()),
            authorization: token.map(|t| format!("Bearer {t}")),
            if_match: None,
            if_none_match: None,
            auxiliary: None,
            body: body.to_vec(),
        }
    }

    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `None`: no body (204, HEAD).
    pub body: Option<Value>,
}

impl Response {
    fn json(status: u16, body: Value) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    fn empty(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    fn header(mut self, k: &str, v: String) -> Self {
        self.headers.push((k.to_string(), v));
        self
    }

    /// ARM's error body: `{"error": {"code", "message", "details"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Response::json(
            status,
            json!({ "error": { "code": code, "message": message, "details": [] } }),
        )
    }
}

/// ARM's HTTP status for a refusal of the model.
fn status_of(e: &AzureError) -> u16 {
    use ErrorCode::*;
    match e.code {
        ResourceNotFound | ResourceGroupNotFound | NotFound | SubscriptionNotFound | SubnetNotFound => 404,
        AuthorizationFailed | LinkedAuthorizationFailed => 403,
        InUseSubnetCannotBeDeleted
        | InUseNetworkSecurityGroupCannotBeDeleted
        | InUseRouteTableCannotBeDeleted
        | PublicIPAddressCannotBeDeleted
        | NicInUse
        | PublicIPAddressInUse
        | AnotherPeeringAlreadyReferencesRemoteVnet
        | Conflict
        | RoleAssignmentExists
        | CannotDeleteResource => 409,
        PreconditionFailed => 412,
        _ => 400,
    }
}

fn refused(e: &AzureError) -> Response {
    Response::error(status_of(e), e.code.as_str(), &e.message)
}

/// The endpoint's state: the signing key and the operations it reported.
#[derive(Debug)]
pub struct Arm {
    keys: Keys,
    /// `https://127.0.0.1:PORT`, no trailing slash.
    base: String,
    /// Operations handed out in `Azure-AsyncOperation` headers, with the
    /// result their `Location` answers (`None`: no content).
    operations: std::collections::BTreeMap<String, Option<Value>>,
    next_operation: u64,
    /// Route Server hubs PUT before their IP configuration.
    hubs: hub::Pending,
}

fn api_version_ok(v: &str) -> bool {
    // YYYY-MM-DD, optionally -preview / -beta / -privatepreview.
    // Checked: a non-ASCII version must be refused, not split mid-char
    // (found by scripts/fuzz, fuzz/corpus/arm/api-version-not-a-char-boundary).
    let (date, suffix) = v.split_at_checked(10).unwrap_or((v, ""));
    let b = date.as_bytes();
    date.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && ("2014-01-01"..="2026-12-31").contains(&date)
        && matches!(suffix, "" | "-preview" | "-beta" | "-privatepreview")
}

/// The namespaces the lab serves, with a resource type each (for
/// `GET /subscriptions/{id}/providers`).
const PROVIDERS: &[(&str, &[&str])] = &[
    (
        "Microsoft.Network",
        &[
            "virtualNetworks",
            "networkSecurityGroups",
            "routeTables",
            "publicIPAddresses",
            "networkInterfaces",
            "virtualNetworkGateways",
            "localNetworkGateways",
            "connections",
            "virtualHubs",
            "loadBalancers",
            "privateEndpoints",
            "privateDnsZones",
            "locations",
        ],
    ),
    ("Microsoft.Compute", &["virtualMachines", "locations"]),
    (
        "Microsoft.Resources",
        &["resourceGroups", "subscriptions", "deployments"],
    ),
    (crate::model::CACHE, &[crate::model::REDIS]),
    ("Microsoft.ContainerService", &["managedClusters"]),
];

impl Arm {
    pub fn new(secret: &[u8], base: &str) -> Self {
        Arm {
            keys: Keys::new(secret),
            base: base.trim_end_matches('/').to_string(),
            operations: std::collections::BTreeMap::new(),
            next_operation: 0,
            hubs: hub::Pending::default(),
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The metadata document `az cloud register --endpoint-resource-manager`
    /// reads (`GET /metadata/endpoints?api-version=2022-09-01`).
    pub fn metadata(&self, lab: &str) -> Value {
        json!({
            "name": format!("vnetlab-{lab}"),
            "portal": self.base,
            "resourceManager": format!("{}/", self.base),
            "authentication": {
                "loginEndpoint": self.base,
                "audiences": [AUDIENCE, "https://management.azure.com/"],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "gallery": self.base,
            "graph": self.base,
            "graphAudience": self.base,
            "microsoftGraphResourceId": format!("{}/", self.base),
            "media": self.base,
            "sqlManagement": self.base,
            "batch": self.base,
            "activeDirectoryDataLake": self.base,
            "vmImageAliasDoc": format!("{}/vmImageAliasDoc", self.base),
            "suffixes": {
                "storage": "core.vnetlab.test",
                "keyVaultDns": "vault.vnetlab.test",
                "acrLoginServer": "azurecr.vnetlab.test",
                "sqlServerHostname": "database.vnetlab.test",
            },
        })
    }

    /// Answers one request. `now` is Unix seconds (token lifetimes).
    pub fn handle(&mut self, lab: &str, req: &Request, backend: &mut dyn Backend, now: u64) -> Response {
        if req.body.len() > MAX_BODY {
            return Response::error(
                413,
                "RequestContentTooLarge",
                &format!(
                    "The request content size {} exceeds the maximum of {MAX_BODY} bytes (4 MB). Send smaller requests.",
                    req.body.len()
                ),
            );
        }
        let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        // Unauthenticated: the metadata document and the identity endpoint.
        match (req.method.as_str(), l.as_slice()) {
            ("GET", ["metadata", "endpoints"]) => return Response::json(200, self.metadata(lab)),
            ("GET", ["vmimagealiasdoc"]) => return Response::json(200, image_alias_doc()),
            ("GET", [_, "v2.0", ".well-known", "openid-configuration"]) => {
                return Response::json(200, auth::openid_configuration(&self.base, segs[0]));
            }
            ("POST", [_, "oauth2", "v2.0", "token"]) | ("POST", [_, "oauth2", "token"]) => {
                return self.token(segs[0], req, backend, now);
            }
            _ => {}
        }
        let caller = match self.authenticate(req, now) {
            Ok(c) => c,
            Err(r) => return r,
        };
        // Microsoft Graph (the metadata's microsoftGraphResourceId is this
        // endpoint): no api-version, Graph's paths and error bodies.
        if matches!(l.first(), Some(&("v1.0" | "beta"))) {
            let model = backend.model().unwrap_or_default();
            return graph::handle(&self.base, &req.method, &l, req.query("$filter"), &req.body, &model);
        }
        let Some(version) = req.query("api-version") else {
            return Response::error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        };
        if !api_version_ok(version) {
            return Response::error(
                400,
                "InvalidApiVersionParameter",
                &format!(
                    "The api-version '{version}' is invalid. The supported versions are dates of the form 'YYYY-MM-DD' or 'YYYY-MM-DD-preview', e.g. '2024-05-01'."
                ),
            );
        }
        // Azure: ARM checks the api-version and the type against the
        // provider that serves the path before the provider sees it.
        let model = match backend.model() {
            Ok(m) => m,
            Err(e) => return Response::error(500, "InternalServerError", &e.to_string()),
        };
        if let Some(refusal) = versions::check(&segs, &l, version, &req.body, |ns| Self::holds_namespace(&model, ns)) {
            return refusal;
        }
        self.route(req, &segs, &l, &caller, &model, backend)
    }

    fn authenticate(&self, req: &Request, now: u64) -> Result<Caller, Response> {
        let challenge = format!(
            "Bearer authorization_uri=\"{}/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing or invalid 'Authorization' header.\"",
            self.base
        );
        let Some(header) = req.authorization.as_deref() else {
            return Err(Response::error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
            .header("WWW-Authenticate", challenge));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or("");
        let linked = req
            .auxiliary
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|t| {
                let t = t.trim();
                t.strip_prefix("Bearer ").or_else(|| t.strip_prefix("bearer "))
            })
            .filter_map(|t| self.keys.verify(t.trim(), now).ok())
            .collect();
        let verified = self.keys.verify(token, now).map(|c| Caller { linked, ..c });
        verified.map_err(|why| {
            Response::error(
                401,
                "InvalidAuthenticationToken",
                &format!("The access token is invalid. {why} Sign in again (vnetlab cloud env)."),
            )
            .header("WWW-Authenticate", challenge.clone())
        })
    }

    /// The client-credentials grant.
    fn token(&self, tenant: &str, req: &Request, backend: &mut dyn Backend, now: u64) -> Response {
        let form = auth::form(&req.body);
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("grant_type") != Some("client_credentials") {
            return Response::json(
                400,
                auth::oauth_error(
                    "unsupported_grant_type",
                    "AADSTS70003: The lab's identity endpoint supports only the client_credentials grant (az login --service-principal).",
                ),
            );
        }
        let (Some(client), Some(secret)) = (get("client_id"), get("client_secret")) else {
            return Response::json(
                400,
                auth::oauth_error(
                    "invalid_request",
                    "AADSTS900144: The request body must contain client_id and client_secret.",
                ),
            );
        };
        let model = backend.model().unwrap_or_default();
        let known = client.eq_ignore_ascii_case(auth::LAB_PRINCIPAL_APP_ID)
            || model
                .principals
                .iter()
                .any(|p| p.object_id.eq_ignore_ascii_case(client));
        if !known {
            return Response::json(
                400,
                auth::oauth_error(
                    "unauthorized_client",
                    &format!(
                        "AADSTS700016: Application with identifier '{client}' was not found in the directory '{tenant}'. The lab's principals are its own ({}) and those of its topology.",
                        auth::LAB_PRINCIPAL_APP_ID
                    ),
                ),
            );
        }
        if secret != self.keys.client_secret(client) {
            return Response::json(
                401,
                auth::oauth_error(
                    "invalid_client",
                    &format!(
                        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value of app '{client}' (vnetlab cloud env prints it)."
                    ),
                ),
            );
        }
        let caller = Caller {
            app_id: client.to_ascii_lowercase(),
            tenant_id: tenant.to_string(),
            linked: Vec::new(),
        };
        let issuer = format!("{}/{tenant}/v2.0", self.base);
        Response::json(
            200,
            json!({
                "token_type": "Bearer",
                "expires_in": auth::TOKEN_LIFETIME,
                "ext_expires_in": auth::TOKEN_LIFETIME,
                "access_token": self.keys.token(&caller, AUDIENCE, &issuer, now),
            }),
        )
    }

    fn operation_headers(&mut self, sub: &str, provider: &str, result: Option<Value>) -> (String, String) {
        self.next_operation += 1;
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.next_operation, self.next_operation
        );
        self.operations.insert(id.clone(), result);
        let base = format!("{}/subscriptions/{sub}/providers/{provider}/locations/lab", self.base);
        (
            format!(
                "{base}/operations/{id}?api-version={}",
                versions::for_operations(provider)
            ),
            format!(
                "{base}/operationResults/{id}?api-version={}",
                versions::for_operations(provider)
            ),
        )
    }

    fn route(
        &mut self,
        req: &Request,
        segs: &[&str],
        l: &[&str],
        caller: &Caller,
        model: &Model,
        backend: &mut dyn Backend,
    ) -> Response {
        let method = req.method.as_str();
        match (method, l) {
            ("GET", ["subscriptions"]) => {
                let subs: Vec<Value> = model
                    .subscriptions
                    .iter()
                    .filter(|s| s.tenant_id.eq_ignore_ascii_case(&caller.tenant_id) || caller.tenant_id.is_empty())
                    .filter(|s| rbac::sees_subscription(model, caller, &s.id))
                    .map(subscription)
                    .collect();
                return Response::json(200, json!({ "value": subs }));
            }
            ("GET", ["tenants"]) => {
                let tenants: BTreeSet<&str> = model.subscriptions.iter().map(|s| s.tenant_id.as_str()).collect();
                let v: Vec<Value> = tenants
                    .iter()
                    .map(|t| json!({ "id": format!("/tenants/{t}"), "tenantId": t, "tenantCategory": "Home", "displayName": "vnetlab", "defaultDomain": "vnetlab.test" }))
                    .collect();
                return Response::json(200, json!({ "value": v }));
            }
            _ => {}
        }
        let ["subscriptions", _, rest @ ..] = l else {
            return not_found(&req.path);
        };
        let sub_id = segs[1];
        let Some(sub) = model.subscriptions.iter().find(|s| s.id.eq_ignore_ascii_case(sub_id)) else {
            return Response::error(
                404,
                "SubscriptionNotFound",
                &format!("The subscription '{sub_id}' could not be found."),
            );
        };
        if let Some(p) = tags::path(segs, l, &sub.id) {
            return tags::handle(req, p, &sub.id, caller, model, backend);
        }
        if let Some(p) = role_assignments::path(&segs[2..], &sub.id) {
            return role_assignments::handle(req, &p, &sub.id, caller, model, backend);
        }
        if let Some((scope, more)) = deployments::path(rest, segs, &sub.id) {
            return self.deployments(req, &scope, more, caller, model, backend);
        }
        match (method, rest) {
            ("GET", []) => return Response::json(200, subscription(sub)),
            ("GET", ["providers"]) => {
                let v: Vec<Value> = PROVIDERS
                    .iter()
                    .map(|(ns, types)| provider(&sub.id, ns, types))
                    .collect();
                return Response::json(200, json!({ "value": v }));
            }
            ("GET", ["providers", ns]) | ("POST", ["providers", ns, "register"]) => {
                return match PROVIDERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(ns)) {
                    Some((n, types)) => Response::json(200, provider(&sub.id, n, types)),
                    None => versions::no_provider_for_namespace(segs[3], req.query("api-version").unwrap_or("")),
                };
            }
            ("GET", ["providers", _, "locations", _, "operations" | "operationresults", op]) => {
                let Some(result) = self.operations.get(*op) else {
                    return not_found(&req.path);
                };
                if rest[4] == "operationresults" {
                    return match result {
                        Some(v) => Response::json(200, v.clone()),
                        None => Response::empty(204),
                    };
                }
                return Response::json(200, json!({ "id": req.path, "name": op, "status": "Succeeded" }));
            }
            (
                "GET",
                [
                    "providers",
                    "microsoft.compute",
                    "locations",
                    _,
                    "publishers",
                    _,
                    "artifacttypes",
                    "vmimage",
                    "offers",
                    _,
                    "skus",
                    _,
                    "versions",
                    more @ ..,
                ],
            ) if more.len() <= 1 => {
                // Azure: az vm create resolves an image alias to the
                // latest version and reads its hyperVGeneration and
                // features (Virtual Machine Images - List / Get).
                let image = vm_image_version(&req.path, segs[5], segs[7], segs[11], more.first().map(|_| segs[15]));
                return Response::json(200, if more.is_empty() { json!([image]) } else { image });
            }
            ("GET", ["resourcegroups"]) => {
                let scope = format!("/subscriptions/{}", sub.id);
                return Response::json(
                    200,
                    json!({ "value": wire::list(model, &scope, "Microsoft.Resources/resourceGroups").into_iter().filter(|g| readable(model, caller, g)).map(wire::to_arm).collect::<Vec<_>>() }),
                );
            }
            ("GET", ["resources"]) => {
                return generic_list(model, caller, &format!("/subscriptions/{}", sub.id), req);
            }
            ("GET", ["providers", "microsoft.network", "networkwatchers"]) => {
                return Response::json(200, json!({ "value": actions::watchers(model, &sub.id) }));
            }
            (
                "POST",
                [
                    "resourcegroups",
                    rg,
                    "providers",
                    "microsoft.network",
                    "networkwatchers",
                    _,
                    _,
                ],
            ) if rg.eq_ignore_ascii_case(actions::WATCHER_GROUP) => {
                return self.watcher_action(req, &sub.id, segs[7], segs[8], model, backend);
            }
            ("GET", ["providers", _, _]) => {
                let scope = format!("/subscriptions/{}", sub.id);
                let typ = format!("{}/{}", segs[3], segs[4]);
                return self.list_response(model, caller, &scope, &typ);
            }
            _ => {}
        }
        // A resource group, or something inside one.
        let ["resourcegroups", _, inner @ ..] = rest else {
            return not_found(&req.path);
        };
        let group_id = ResourceId::resource_group(&sub.id, segs[3]);
        if !inner.is_empty() && !model.resource_groups.contains_key(&group_id) {
            return Response::error(
                404,
                "ResourceGroupNotFound",
                &format!("Resource group '{}' could not be found.", segs[3]),
            );
        }
        if let ["resources"] = inner
            && method == "GET"
        {
            return generic_list(model, caller, group_id.as_str(), req);
        }
        if let ["exporttemplate"] = inner {
            // Azure: Resource Groups - Export Template answers the template
            // (and `error` when some resource could not be exported).
            if method != "POST" {
                return method_not_allowed(method, &req.path);
            }
            return Response::json(200, json!({ "template": export::template(model, &group_id) }));
        }
        // .../providers/{ns}/{type}[/{name}[/{child}[/{name}[/{action}]]]]
        let id_segs: &[&str] = match inner {
            [] => &[],
            ["providers", _, _, ..] => &segs[6..],
            _ => return not_found(&req.path),
        };
        let mut id = group_id.clone();
        if !inner.is_empty() {
            let base = format!(
                "/subscriptions/{}/resourceGroups/{}/providers/{}",
                sub.id, segs[3], segs[5]
            );
            // An odd count is a list (`{type}`, `{type}/{name}/{childType}`)
            // for GET and an action (`{type}/{name}/{action}`) for POST.
            let odd = id_segs.len() % 2 == 1;
            if odd && method == "POST" && id_segs.len() >= 3 {
                let path = &id_segs[..id_segs.len() - 1];
                let verb = id_segs[id_segs.len() - 1];
                return match ResourceId::parse(&format!("{base}/{}", path.join("/"))) {
                    Some(i) => match rbac::check(model, caller, &rbac::action(method, &i, Some(verb)), &i) {
                        Ok(()) => self.action(req, &i, verb, model, backend),
                        Err(e) => refused(&e),
                    },
                    None => not_found(&req.path),
                };
            }
            if odd {
                if method != "GET" {
                    return method_not_allowed(method, &req.path);
                }
                let parent = if id_segs.len() == 1 {
                    group_id.as_str().to_string()
                } else {
                    let parent = format!("{base}/{}", id_segs[..id_segs.len() - 1].join("/"));
                    // Azure: listing the children of a resource that is not
                    // there is the parent's ResourceNotFound, not an empty list.
                    match ResourceId::parse(&parent) {
                        Some(p) if wire::find(model, &p).is_none() => {
                            return refused(&AzureError::resource_not_found(&p));
                        }
                        None => return not_found(&req.path),
                        Some(_) => parent,
                    }
                };
                let mut typ = segs[5].to_string();
                for k in id_segs.iter().step_by(2) {
                    typ.push('/');
                    typ.push_str(k);
                }
                return self.list_response(model, caller, &parent, &typ);
            }
            match ResourceId::parse(&format!("{base}/{}", id_segs.join("/"))) {
                Some(i) => id = i,
                None => return not_found(&req.path),
            }
        }
        if let Err(e) = rbac::check(model, caller, &rbac::action(method, &id, None), &id) {
            return refused(&e);
        }
        match method {
            "GET"
                if req
                    .query("$expand")
                    .is_some_and(|e| e.eq_ignore_ascii_case("instanceView")) =>
            {
                match (wire::find(model, &id), model.virtual_machines.get(&id)) {
                    (Some(v), Some(vm)) => {
                        let mut doc = wire::to_arm(v);
                        doc["properties"]["instanceView"] = instance_view(vm);
                        Response::json(200, doc)
                    }
                    (Some(v), None) => Response::json(200, wire::to_arm(v)),
                    _ => refused(&AzureError::resource_not_found(&id)),
                }
            }
            "GET" | "HEAD" => match wire::find(model, &id).or_else(|| self.hubs.get(&id)) {
                Some(v) => {
                    if method == "HEAD" {
                        Response::empty(204)
                    } else {
                        Response::json(200, wire::to_arm(v))
                    }
                }
                None if method == "HEAD" => Response::empty(404),
                // Azure: a missing group is ResourceGroupNotFound, not
                // ResourceNotFound (what `az group show` prints).
                None if id == group_id => Response::error(
                    404,
                    "ResourceGroupNotFound",
                    &format!("Resource group '{}' could not be found.", segs[3]),
                ),
                // Deployments' records and opaque resources live in the model.
                None => match model.opaque_resources.get(&id) {
                    Some(doc) => Response::json(200, doc.clone()),
                    None => refused(&AzureError::resource_not_found(&id)),
                },
            },
            "PUT" | "PATCH" => self.put(method, req, &id, caller, model, backend),
            "DELETE" => self.delete(&id, model, backend),
            _ => method_not_allowed(method, &req.path),
        }
    }

    fn put(
        &mut self,
        method: &str,
        req: &Request,
        id: &ResourceId,
        caller: &Caller,
        model: &Model,
        backend: &mut dyn Backend,
    ) -> Response {
        let body: Value = match serde_json::from_slice(&req.body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) if req.body.is_empty() => json!({}),
            Ok(_) => {
                return Response::error(
                    400,
                    "InvalidRequestContent",
                    "The request content must be a JSON object.",
                );
            }
            Err(e) => {
                return Response::error(
                    400,
                    "InvalidRequestContent",
                    &format!("The request content was invalid and could not be deserialized: '{e}'."),
                );
            }
        };
        if id
            .resource_type()
            .eq_ignore_ascii_case("Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
            && let Some(remote) = body["properties"]["remoteVirtualNetwork"]["id"]
                .as_str()
                .and_then(ResourceId::parse)
            && let Err(e) = rbac::check_linked_peering(model, caller, &rbac::action(method, id, None), id, &remote)
        {
            return refused(&e);
        }
        let existing = wire::find(model, id);
        // Private DNS answers az's If-None-Match: * in its own words.
        let private_dns = id
            .resource_type()
            .to_ascii_lowercase()
            .starts_with("microsoft.network/privatednszones");
        if private_dns && existing.is_some() && req.if_none_match.as_deref() == Some("*") {
            return refused(&crate::model::exists_already(id));
        }
        if let Some(resp) = preconditions(req, existing.as_ref()) {
            return resp;
        }
        let tags = match put::tags(id, &body, method == "PATCH") {
            Ok(t) => t,
            Err(e) => return refused(&e),
        };
        let body = if method == "PATCH" {
            // PATCH changes tags only; the rest of the resource stays.
            match &existing {
                Some(v) => wire::to_arm(v.clone()),
                None => return refused(&AzureError::resource_not_found(id)),
            }
        } else {
            body
        };
        let principal =
            (!caller.app_id.eq_ignore_ascii_case(auth::LAB_PRINCIPAL_APP_ID)).then_some(caller.app_id.as_str());
        let mut changes = if hub::is_hub_type(id) {
            match self.hubs.put(model, id, &body) {
                Ok(hub::Put::Changes(c)) => c,
                Ok(hub::Put::Held(doc)) => {
                    let (async_op, _) = self.operation_headers(id.subscription_id(), "Microsoft.Network", None);
                    return Response::json(201, wire::to_arm(doc)).header("Azure-AsyncOperation", async_op);
                }
                Err(e) => return refused(&e),
            }
        } else {
            match put::changes(model, id, &body, principal) {
                Ok(c) => c,
                Err(e) => return refused(&e),
            }
        };
        changes.extend(tags);
        if let Err(e) = backend.apply(changes) {
            return match e {
                crate::az::AzError::Azure(a) => refused(&a),
                other => Response::error(500, "InternalServerError", &other.to_string()),
            };
        }
        self.hubs.settled(id);
        let after = backend.model().unwrap_or_default();
        let Some(doc) = wire::find(&after, id) else {
            return Response::error(
                500,
                "InternalServerError",
                "The resource was applied but cannot be read back.",
            );
        };
        let status = if existing.is_some() { 200 } else { 201 };
        let provider = id
            .resource_type()
            .split('/')
            .next()
            .unwrap_or("Microsoft.Network")
            .to_string();
        let (async_op, _) = self.operation_headers(id.subscription_id(), &provider, None);
        Response::json(status, wire::to_arm(doc)).header("Azure-AsyncOperation", async_op)
    }

    fn delete(&mut self, id: &ResourceId, model: &Model, backend: &mut dyn Backend) -> Response {
        if model.opaque_resources.contains_key(id) {
            return match backend.apply(vec![Change::DeleteOpaqueResource(id.clone())]) {
                Ok(()) => Response::empty(200),
                Err(crate::az::AzError::Azure(a)) => refused(&a),
                Err(other) => Response::error(500, "InternalServerError", &other.to_string()),
            };
        }
        let held = self.hubs.forget(id);
        if wire::find(model, id).is_none() {
            // Azure: deleting what is not there answers 204 No Content.
            return if held { self.deleted(id) } else { Response::empty(204) };
        }
        let Some(change) = put::delete(id)
            .or_else(|| put::delete_part(model, id))
            .or_else(|| hub::delete(id))
        else {
            return Response::error(
                400,
                "BadRequest",
                &format!(
                    "vnetlab's ARM endpoint cannot delete resources of type '{}'.",
                    id.resource_type()
                ),
            );
        };
        if let Err(e) = backend.apply(vec![change]) {
            return match e {
                crate::az::AzError::Azure(a) => refused(&a),
                other => Response::error(500, "InternalServerError", &other.to_string()),
            };
        }
        // Azure: Record Sets - Delete is synchronous (200), unlike zones and links.
        if put::is_record_set_type(&id.resource_type()) {
            return Response::empty(200);
        }
        self.deleted(id)
    }

    /// 202 Accepted with the operation to poll.
    fn deleted(&mut self, id: &ResourceId) -> Response {
        let provider = id
            .resource_type()
            .split('/')
            .next()
            .unwrap_or("Microsoft.Network")
            .to_string();
        let (async_op, location) = self.operation_headers(id.subscription_id(), &provider, None);
        Response::empty(202)
            .header("Azure-AsyncOperation", async_op)
            .header("Location", location)
    }

    /// The opaque resources (kept for deployments) of `typ` below `scope`.
    /// Whether a deployment stored resources of a namespace the lab does
    /// not serve (they are answered, as ARM answers their real provider).
    fn holds_namespace(model: &Model, namespace: &str) -> bool {
        let needle = format!("/providers/{}/", namespace.to_ascii_lowercase());
        model
            .opaque_resources
            .keys()
            .any(|k| k.as_str().to_ascii_lowercase().contains(&needle))
    }

    fn opaque_within(model: &Model, scope: &str, typ: &str) -> Vec<Value> {
        model
            .opaque_resources
            .iter()
            .filter(|(k, d)| k.is_within(scope) && d["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(typ)))
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// A list at `scope`: the model's resources, the held hubs and the
    /// opaque resources.
    fn list_response(&self, model: &Model, caller: &Caller, scope: &str, typ: &str) -> Response {
        let v: Vec<Value> = wire::list(model, scope, typ)
            .into_iter()
            .chain(self.hubs.list(scope, typ))
            .chain(Self::opaque_within(model, scope, typ))
            // Azure: a list holds what the caller may read.
            .filter(|r| readable(model, caller, r))
            .map(wire::to_arm)
            .collect();
        Response::json(200, json!({ "value": v }))
    }
}

/// One version of a marketplace image: the lab runs every image as the
/// same Linux namespace, so one version stands for all.
fn vm_image_version(path: &str, location: &str, publisher: &str, sku: &str, version: Option<&str>) -> Value {
    let name = version.unwrap_or("1.0.0");
    let base = path.trim_end_matches('/');
    let id = if version.is_some() {
        base.to_string()
    } else {
        format!("{base}/{name}")
    };
    let windows = publisher.eq_ignore_ascii_case("MicrosoftWindowsServer");
    let gen2 = !sku.to_ascii_lowercase().contains("gen1") && !sku.eq_ignore_ascii_case("2012-R2-Datacenter");
    json!({
        "id": id,
        "name": name,
        "location": location,
        "properties": {
            "architecture": "x64",
            "hyperVGeneration": if gen2 { "V2" } else { "V1" },
            "osDiskImage": { "operatingSystem": if windows { "Windows" } else { "Linux" }, "sizeInGb": 30 },
            "dataDiskImages": [],
            "features": [],
            "imageDeprecationStatus": { "imageState": "Active" },
        },
    })
}

/// A VM's instance view: its provisioning and power state, as az's
/// `--show-details` and `get-instance-view` read them.
fn instance_view(vm: &crate::model::VirtualMachine) -> Value {
    let display = vm.power_state.display();
    let power = display.trim_start_matches("VM ");
    json!({
        "computerName": vm.name,
        "osName": "ubuntu",
        "statuses": [
            { "code": "ProvisioningState/succeeded", "displayStatus": "Provisioning succeeded", "level": "Info" },
            { "code": format!("PowerState/{power}"), "displayStatus": display, "level": "Info" },
        ],
    })
}

fn preconditions(req: &Request, existing: Option<&Value>) -> Option<Response> {
    let etag = existing.and_then(|v| v.get("etag")).and_then(Value::as_str);
    if req.if_none_match.as_deref() == Some("*") && existing.is_some() {
        return Some(Response::error(
            412,
            "PreconditionFailed",
            "The resource already exists and the request said If-None-Match: *.",
        ));
    }
    if let Some(want) = req.if_match.as_deref()
        && want != "*"
        && etag != Some(want)
    {
        return Some(Response::error(
            412,
            "PreconditionFailed",
            &format!(
                "The etag '{want}' does not match the resource's current etag '{}'. Read the resource again and retry.",
                etag.unwrap_or("")
            ),
        ));
    }
    None
}

/// ARM's generic resource list at `scope` ([`generic`]), as the caller may read it.
fn generic_list(model: &Model, caller: &Caller, scope: &str, req: &Request) -> Response {
    match generic::list(model, scope, req.query("$filter")) {
        Ok(v) => Response::json(
            200,
            json!({ "value": v.into_iter().filter(|r| readable(model, caller, r)).collect::<Vec<_>>() }),
        ),
        Err(e) => refused(&e),
    }
}

/// Whether `caller` may read the rendered resource `r`.
fn readable(model: &Model, caller: &Caller, r: &Value) -> bool {
    r.get("id")
        .and_then(Value::as_str)
        .and_then(ResourceId::parse)
        .is_some_and(|id| rbac::allows(model, caller, &rbac::action("GET", &id, None), &id))
}

fn not_found(path: &str) -> Response {
    Response::error(
        404,
        "NotFound",
        &format!("The requested resource path '{path}' is not one vnetlab's ARM endpoint serves."),
    )
}

fn method_not_allowed(method: &str, path: &str) -> Response {
    Response::error(
        405,
        "MethodNotAllowed",
        &format!("The requested resource does not support http method '{method}' at '{path}'."),
    )
}

fn subscription(s: &crate::model::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.name,
        "state": "Enabled",
        "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off" },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
    })
}

fn provider(sub: &str, ns: &str, types: &[&str]) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/providers/{ns}"),
        "namespace": ns,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types.iter().map(|t| json!({
            "resourceType": t,
            "locations": crate::model::regions::all().collect::<Vec<_>>(),
            "apiVersions": versions::provider(ns).map(|p| p.versions).unwrap_or_default(),
        })).collect::<Vec<_>>(),
    })
}

/// The image alias document az vm create reads (`vmImageAliasDoc`): the
/// aliases the az front knows, in the layout of azure-cli's `_alias.py`.
fn image_alias_doc() -> Value {
    let mut linux = serde_json::Map::new();
    let mut windows = serde_json::Map::new();
    for (alias, urn) in crate::az::render::IMAGE_ALIASES {
        let p: Vec<&str> = urn.split(':').collect();
        let [publisher, offer, sku, version] = p.as_slice() else {
            continue;
        };
        let entry =
            json!({ "publisher": publisher, "offer": offer, "sku": sku, "version": version, "architecture": "x64" });
        if crate::model::vm_create::is_windows_image(alias) {
            windows.insert(alias.to_string(), entry);
        } else {
            linux.insert(alias.to_string(), entry);
        }
    }
    json!({
        "$schema": "http://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json",
        "contentVersion": "1.0.0.0",
        "parameters": {},
        "variables": {},
        "resources": [],
        "outputs": { "aliases": { "type": "Object", "value": { "Linux": linux, "Windows": windows } } },
    })
}

#[cfg(test)]
mod aks_tests;
#[cfg(test)]
mod shim_tests;
#[cfg(test)]
mod tests;
