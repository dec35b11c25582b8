//! `az account`, `az login`/`logout` and `az role assignment`: which
//! subscription commands act on, and who acts (azure-semantics §4.3).

use serde_json::{Value, json};

use super::args::{Args, Leaf, flag, opt, req};
use super::ctx::{LAB_USER, find_subscription};
use super::{AzError, Ctx, Handler, Profile, Reply, SignedIn};
use crate::model::{Change, Model, Principal, PrincipalType, ResourceId, RoleAssignment, Subscription};

pub fn leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "account show",
            about: "Get the details of a subscription.",
            args: vec![opt("name").short('n')],
            run: show,
        },
        Leaf {
            path: "account list",
            about: "Get a list of subscriptions for the logged in account.",
            args: vec![flag("all")],
            run: list,
        },
        Leaf {
            path: "account set",
            about: "Set a subscription to be the current active subscription.",
            args: vec![opt("name").short('n'), opt("set-subscription").short('s').hide(true)],
            run: set,
        },
        Leaf {
            path: "login",
            about: "Log in to Azure.",
            args: vec![
                opt("username").short('u'),
                opt("password").short('p'),
                flag("service-principal"),
                opt("tenant").short('t'),
                flag("allow-no-subscriptions"),
                flag("use-device-code"),
            ],
            run: login,
        },
        Leaf {
            path: "logout",
            about: "Log out to remove access to Azure subscriptions.",
            args: vec![opt("username")],
            run: logout,
        },
        Leaf {
            path: "role assignment create",
            about: "Create a new role assignment for a user, group, or service principal.",
            args: vec![
                opt("assignee"),
                opt("assignee-object-id"),
                opt("assignee-principal-type"),
                req("role"),
                opt("scope"),
                opt("resource-group").short('g'),
                opt("description"),
            ],
            run: role_create,
        },
        Leaf {
            path: "role assignment list",
            about: "List role assignments.",
            args: vec![
                opt("assignee"),
                opt("role"),
                opt("scope"),
                opt("resource-group").short('g'),
                flag("all"),
                flag("include-inherited"),
            ],
            run: role_list,
        },
        Leaf {
            path: "role assignment delete",
            about: "Delete role assignments.",
            args: vec![
                opt("assignee"),
                opt("role"),
                opt("scope"),
                opt("resource-group").short('g'),
                opt("ids"),
            ],
            run: role_delete,
        },
    ]
}

fn user_of(profile: &Profile) -> Value {
    match &profile.user {
        Some(u) => json!({ "name": u.name, "type": u.kind }),
        None => json!({ "name": LAB_USER, "type": "user" }),
    }
}

/// Subscriptions the signed-in account may see: all of them for the lab's
/// own user; for a principal, those where it holds a role.
fn visible<'m>(m: &'m Model, profile: &Profile) -> Vec<&'m Subscription> {
    let Some(who) = profile.user.as_ref().and_then(|u| m.principal(&u.name)) else {
        return m.subscriptions.iter().collect();
    };
    m.subscriptions
        .iter()
        .filter(|s| {
            m.role_assignments.iter().any(|a| {
                a.principal_object_id.eq_ignore_ascii_case(&who.object_id)
                    && ResourceId::parse(&a.scope).is_some_and(|sc| sc.subscription_id().eq_ignore_ascii_case(&s.id))
            })
        })
        .collect()
}

fn entry(s: &Subscription, current: &str, profile: &Profile, cloud_key: &str) -> Value {
    let mut doc = json!({
        "homeTenantId": s.tenant_id,
        "id": s.id,
        "isDefault": s.id.eq_ignore_ascii_case(current),
        "managedByTenants": [],
        "name": s.name,
        "state": "Enabled",
        "tenantId": s.tenant_id,
        "user": user_of(profile),
    });
    doc[cloud_key] = json!("AzureCloud");
    doc
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let s = match a.str("name") {
        Some(n) => find_subscription(ctx.model(), n).cloned().ok_or_else(|| {
            AzError::Cli(format!(
                "Subscription '{n}' not found. Check the spelling and casing and try again."
            ))
        })?,
        None => ctx.subscription.clone(),
    };
    Ok(Reply::Value(entry(
        &s,
        &ctx.subscription.id,
        &ctx.profile,
        "environmentName",
    )))
}

fn list_value(ctx: &Ctx) -> Value {
    Value::Array(
        visible(ctx.model(), &ctx.profile)
            .into_iter()
            .map(|s| entry(s, &ctx.subscription.id, &ctx.profile, "cloudName"))
            .collect(),
    )
}

fn list(ctx: &mut Ctx, _a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Table(list_value(ctx), account_table))
}

/// az's transform_account_list.
fn account_table(v: &Value) -> Value {
    let row = |r: &Value| json!({ "Name": r["name"], "CloudName": r["cloudName"], "SubscriptionId": r["id"], "TenantId": r["tenantId"], "State": r["state"], "IsDefault": r["isDefault"] });
    Value::Array(v.as_array().map(|a| a.iter().map(row).collect()).unwrap_or_default())
}

fn set(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let wanted = a
        .str("name")
        .or(a.str("set-subscription"))
        .map(str::to_string)
        .unwrap_or_else(|| ctx.subscription.id.clone());
    let s = find_subscription(ctx.model(), &wanted).cloned().ok_or_else(|| {
        AzError::Cli(format!(
            "The subscription of '{wanted}' doesn't exist in cloud 'AzureCloud'."
        ))
    })?;
    if !visible(ctx.model(), &ctx.profile).iter().any(|v| v.id == s.id) {
        return Err(AzError::Cli(format!(
            "The subscription of '{wanted}' doesn't exist in cloud 'AzureCloud'."
        )));
    }
    let profile = Profile {
        subscription_id: Some(s.id),
        ..ctx.profile.clone()
    };
    ctx.backend.save_profile(&profile)?;
    Ok(Reply::Nothing)
}

fn login(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let m = ctx.model().clone();
    let user = match a.str("username") {
        None => None,
        Some(name) => {
            let sp = a.flag("service-principal");
            let found = m
                .principal(name)
                .filter(|p| (p.principal_type == PrincipalType::ServicePrincipal) == sp)
                .filter(|p| a.str("tenant").is_none_or(|t| p.tenant_id.eq_ignore_ascii_case(t)));
            let Some(p) = found else {
                let tenant = a.str("tenant").unwrap_or(crate::model::DEFAULT_TENANT_ID);
                return Err(AzError::Cli(if sp {
                    format!(
                        "AADSTS700016: Application with identifier '{name}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant. (vnetlab knows the principals of the lab's topology.)"
                    )
                } else {
                    format!(
                        "AADSTS50034: The user account {name} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory. (vnetlab knows the principals of the lab's topology.)"
                    )
                }));
            };
            Some(SignedIn {
                name: p.name.clone(),
                kind: if sp { "servicePrincipal".into() } else { "user".into() },
            })
        }
    };
    let mut profile = Profile {
        subscription_id: None,
        user,
    };
    let subs = visible(&m, &profile);
    let Some(first) = subs.first() else {
        if a.flag("allow-no-subscriptions") {
            ctx.backend.save_profile(&profile)?;
            return Ok(Reply::Value(json!([])));
        }
        let name = profile.user.as_ref().map_or(LAB_USER, |u| u.name.as_str()).to_string();
        return Err(AzError::Cli(format!("No subscriptions found for {name}.")));
    };
    profile.subscription_id = Some(first.id.clone());
    let listing: Vec<Value> = subs
        .iter()
        .map(|s| entry(s, &first.id, &profile, "cloudName"))
        .collect();
    ctx.backend.save_profile(&profile)?;
    Ok(Reply::Value(Value::Array(listing)))
}

fn logout(ctx: &mut Ctx, _a: Args) -> Result<Reply, AzError> {
    ctx.backend.save_profile(&Profile::default())?;
    Ok(Reply::Nothing)
}

/// The built-in roles' definition GUIDs, as ARM names them.
fn role_definition_guid(role: &str) -> String {
    crate::model::role_definition_id(role).map_or_else(
        || super::render::guid(&ResourceId::subscription("roles"), role),
        str::to_string,
    )
}

fn assignment_doc(m: &Model, a: &RoleAssignment) -> Value {
    let scope = ResourceId::parse(&a.scope);
    let sub = scope.as_ref().map_or("", |s| s.subscription_id()).to_string();
    let name = super::render::guid(
        &ResourceId::subscription(&a.scope),
        &format!("{}{}", a.principal_object_id, a.role_definition_name),
    );
    let p = m
        .principals
        .iter()
        .find(|p| p.object_id.eq_ignore_ascii_case(&a.principal_object_id));
    let mut doc = json!({
        "condition": null,
        "conditionVersion": null,
        "description": null,
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", a.scope.trim_end_matches('/')),
        "name": name,
        "principalId": a.principal_object_id,
        "principalName": p.map(|p| p.name.clone()),
        "principalType": p.map(|p| format!("{:?}", p.principal_type)),
        "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", role_definition_guid(&a.role_definition_name)),
        "roleDefinitionName": a.role_definition_name,
        "scope": a.scope,
        "type": "Microsoft.Authorization/roleAssignments",
    });
    // A subscription-wide assignment lies in no resource group.
    if scope.is_some_and(|s| s.resource_group_name().is_empty()) {
        doc["resourceGroup"] = Value::Null;
    }
    doc
}

/// The scope a role command names: --scope, else -g's group, else (for
/// lists) the subscription.
fn scope_of(ctx: &Ctx, a: &Args) -> Result<Option<String>, AzError> {
    if let Some(s) = a.str("scope") {
        return ResourceId::parse(s).map(|id| Some(id.to_string())).ok_or_else(|| {
            AzError::Cli(format!(
                "Invalid scope '{s}'. Use /subscriptions/<id>[/resourceGroups/<name>[/providers/...]]."
            ))
        });
    }
    match a.str("resource-group") {
        Some(rg) => Ok(Some(ctx.group(rg)?.id.to_string())),
        None => Ok(None),
    }
}

fn principal_of(m: &Model, a: &Args) -> Result<Option<Principal>, AzError> {
    let Some(who) = a.str("assignee").or(a.str("assignee-object-id")) else {
        return Ok(None);
    };
    m.principal(who).cloned().map(Some).ok_or_else(|| AzError::Cli(format!("Cannot find user or service principal in graph database for '{who}'. If the assignee is an appId, make sure the corresponding service principal is created with 'az ad sp create --id {who}'.")))
}

fn role_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let m = ctx.model().clone();
    let Some(p) = principal_of(&m, &a)? else {
        return Err(AzError::Usage(
            "usage error: --assignee STRING | --assignee-object-id GUID".into(),
        ));
    };
    let scope = scope_of(ctx, &a)?.unwrap_or_else(|| ResourceId::subscription(ctx.sub()).to_string());
    let role = canonical_role(a.must("role"));
    let assignment = RoleAssignment {
        principal_object_id: p.object_id.clone(),
        role_definition_name: role,
        scope,
    };
    ctx.apply(vec![Change::PutRoleAssignment(assignment.clone())])?;
    Ok(Reply::Value(assignment_doc(ctx.model(), &assignment)))
}

/// Built-in role names as ARM spells them (a definition ID names its role).
fn canonical_role(role: &str) -> String {
    crate::model::role_name(role).map_or_else(|| role.to_string(), str::to_string)
}

fn matching<'m>(ctx: &'m Ctx, a: &Args, inherited: bool) -> Result<Vec<&'m RoleAssignment>, AzError> {
    let m = ctx.model();
    let principal = principal_of(m, a)?;
    let scope = scope_of(ctx, a)?;
    let sub_scope = ResourceId::subscription(ctx.sub()).to_string();
    Ok(m.role_assignments
        .iter()
        .filter(|r| {
            principal
                .as_ref()
                .is_none_or(|p| r.principal_object_id.eq_ignore_ascii_case(&p.object_id))
        })
        .filter(|r| {
            a.str("role")
                .is_none_or(|role| r.role_definition_name.eq_ignore_ascii_case(role))
        })
        .filter(|r| match &scope {
            Some(s) => {
                r.scope.eq_ignore_ascii_case(s)
                    || (inherited && ResourceId::parse(s).is_some_and(|id| id.is_within(&r.scope)))
            }
            None => a.flag("all") || ResourceId::parse(&r.scope).is_some_and(|id| id.is_within(&sub_scope)),
        })
        .collect())
}

fn role_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let found = matching(ctx, &a, a.flag("include-inherited"))?;
    let docs: Vec<Value> = found.into_iter().map(|r| assignment_doc(ctx.model(), r)).collect();
    Ok(Reply::Table(Value::Array(docs), role_table))
}

/// az's transform_assignment_list.
fn role_table(v: &Value) -> Value {
    let row =
        |r: &Value| json!({ "Principal": r["principalName"], "Role": r["roleDefinitionName"], "Scope": r["scope"] });
    Value::Array(v.as_array().map(|a| a.iter().map(row).collect()).unwrap_or_default())
}

fn role_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let found: Vec<RoleAssignment> = match a.str("ids") {
        Some(id) => ctx
            .model()
            .role_assignments
            .iter()
            .filter(|r| {
                assignment_doc(ctx.model(), r)["id"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(id))
            })
            .cloned()
            .collect(),
        None => {
            if a.str("assignee").is_none()
                && a.str("role").is_none()
                && a.str("scope").is_none()
                && a.str("resource-group").is_none()
            {
                return Err(AzError::Cli("Please provide at least one of these parameters: --assignee, --role, --scope, --resource-group, --ids.".into()));
            }
            matching(ctx, &a, false)?.into_iter().cloned().collect()
        }
    };
    if found.is_empty() {
        return Err(AzError::Cli("No matched assignments were found to delete.".into()));
    }
    ctx.apply(found.into_iter().map(Change::DeleteRoleAssignment).collect())?;
    Ok(Reply::Nothing)
}
