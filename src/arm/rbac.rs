//! Role-based access on the ARM endpoint: every request names an action
//! (`{type}/read`, `/write`, `/delete`, `{type}/{verb}/action`) that the
//! caller's role assignments must grant at the resource's scope or above,
//! as ARM checks it before the resource provider sees the request. The
//! lab's own principal is Owner of everything and is not looked up.
// Azure: "Azure RBAC ... Actions", learn.microsoft.com/azure/role-based-access-control/role-definitions#actions;
// the refusals' wording follows ARM's AuthorizationFailed and
// LinkedAuthorizationFailed bodies (shared azure-semantics §4.3).

use crate::model::{AzureError, ErrorCode, Model, ResourceId};
use crate::model::{PEER_ACTION, role_grants};

use super::auth::{Caller, LAB_PRINCIPAL_APP_ID};

/// The action ARM checks for `method` on `id` (`verb`: a POST action's name).
pub fn action(method: &str, id: &ResourceId, verb: Option<&str>) -> String {
    let mut typ = id.resource_type();
    if typ.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
        // Azure: resource groups' operations are Microsoft.Resources/subscriptions/resourceGroups/*.
        typ = "Microsoft.Resources/subscriptions/resourceGroups".into();
    }
    let suffix = match (method, verb) {
        (_, Some(v)) => return format!("{typ}/{v}/action"),
        ("GET" | "HEAD", _) => "read",
        ("DELETE", _) => "delete",
        _ => "write",
    };
    format!("{typ}/{suffix}")
}

fn is_lab(caller: &Caller) -> bool {
    caller.app_id.eq_ignore_ascii_case(LAB_PRINCIPAL_APP_ID)
}

/// Whether `caller` may perform `action` at `scope`.
pub fn allows(model: &Model, caller: &Caller, action: &str, scope: &ResourceId) -> bool {
    if is_lab(caller) {
        return true;
    }
    model.role_assignments.iter().any(|a| {
        a.principal_object_id.eq_ignore_ascii_case(&caller.app_id)
            && scope.is_within(&a.scope)
            && role_grants(&a.role_definition_name, action)
    })
}

/// Whether `caller` sees subscription `sub` (`GET /subscriptions`): it
/// holds some role in it.
pub fn sees_subscription(model: &Model, caller: &Caller, sub: &str) -> bool {
    is_lab(caller)
        || model.role_assignments.iter().any(|a| {
            a.principal_object_id.eq_ignore_ascii_case(&caller.app_id)
                && a.scope.split('/').nth(2).is_some_and(|s| s.eq_ignore_ascii_case(sub))
        })
}

/// ARM's 403 when `caller` may not perform `action` at `scope`.
pub fn check(model: &Model, caller: &Caller, action: &str, scope: &ResourceId) -> Result<(), AzureError> {
    if allows(model, caller, action, scope) {
        return Ok(());
    }
    Err(AzureError::new(
        ErrorCode::AuthorizationFailed,
        format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            caller.app_id, caller.app_id
        ),
    ))
}

/// A peering PUT also needs `peer/action` on the remote VNet (the linked
/// scope), in whatever subscription or tenant it is. When the remote VNet's
/// subscription is in another tenant than the caller's token, ARM looks at
/// the caller's token for that tenant, which az sends in
/// `x-ms-authorization-auxiliary` (az does when it is signed in to both
/// tenants and `--remote-vnet` is a full ID); without one the linked scope
/// is refused whatever roles the principal holds there.
// Azure: learn.microsoft.com/azure/virtual-network/create-peering-different-subscriptions
// ("the user account … must have the necessary permissions … in both
// tenants"); ARM's cross-tenant authentication,
// learn.microsoft.com/azure/azure-resource-manager/management/authenticate-multi-tenant
// (the auxiliary header); the refusal's words as ARM prints them
// (azure-cli issue 16691, terraform-provider-azurerm issue 4546).
pub fn check_linked_peering(
    model: &Model,
    caller: &Caller,
    action: &str,
    peering: &ResourceId,
    remote: &ResourceId,
) -> Result<(), AzureError> {
    if is_lab(caller) {
        return Ok(());
    }
    let remote_sub = remote.as_str().split('/').nth(2).unwrap_or_default();
    let remote_tenant = model
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(remote_sub))
        .map(|s| s.tenant_id.as_str());
    let mut who = caller;
    if let Some(tenant) = remote_tenant
        && !caller.tenant_id.is_empty()
        && !tenant.eq_ignore_ascii_case(&caller.tenant_id)
    {
        let Some(aux) = caller
            .linked
            .iter()
            .find(|l| l.tenant_id.eq_ignore_ascii_case(tenant) && l.app_id.eq_ignore_ascii_case(&caller.app_id))
        else {
            return Err(AzureError::new(
                ErrorCode::LinkedAuthorizationFailed,
                format!(
                    "The client has permission to perform action '{action}' on scope '{peering}', however the current tenant '{}' is not authorized to access linked subscription '{remote_sub}'.",
                    caller.tenant_id
                ),
            ));
        };
        who = aux;
    }
    if allows(model, who, PEER_ACTION, remote) {
        return Ok(());
    }
    Err(AzureError::new(
        ErrorCode::LinkedAuthorizationFailed,
        format!(
            "The client '{}' with object id '{}' has permission to perform action '{action}' on scope '{peering}'; however, it does not have permission to perform action(s) '{PEER_ACTION}' on the linked scope(s) '{remote}' (respectively) or the linked scope(s) are invalid.",
            caller.app_id, caller.app_id
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoleAssignment;

    const SUB: &str = "00000000-0000-4000-8000-000000000001";

    fn model(role: &str, scope: &str) -> Model {
        let mut m = Model::default();
        m.role_assignments.push(RoleAssignment {
            principal_object_id: "p1".into(),
            role_definition_name: role.into(),
            scope: scope.into(),
        });
        m
    }

    fn caller(id: &str) -> Caller {
        Caller {
            app_id: id.into(),
            tenant_id: "t".into(),
            linked: Vec::new(),
        }
    }

    #[test]
    fn actions_are_named_as_arm_names_them() {
        let vnet = ResourceId::network(SUB, "rg", "virtualNetworks", "v");
        assert_eq!(action("GET", &vnet, None), "Microsoft.Network/virtualNetworks/read");
        assert_eq!(action("PATCH", &vnet, None), "Microsoft.Network/virtualNetworks/write");
        assert_eq!(
            action("DELETE", &vnet.child("subnets", "s"), None),
            "Microsoft.Network/virtualNetworks/subnets/delete"
        );
        assert_eq!(
            action("PUT", &ResourceId::resource_group(SUB, "rg"), None),
            "Microsoft.Resources/subscriptions/resourceGroups/write"
        );
        let nic = ResourceId::network(SUB, "rg", "networkInterfaces", "n");
        assert_eq!(
            action("POST", &nic, Some("effectiveRouteTable")),
            "Microsoft.Network/networkInterfaces/effectiveRouteTable/action"
        );
    }

    #[test]
    fn a_reader_reads_but_does_not_write_and_scopes_inherit() {
        let m = model("Reader", &format!("/subscriptions/{SUB}/resourceGroups/rg"));
        let vnet = ResourceId::network(SUB, "rg", "virtualNetworks", "v");
        let other = ResourceId::network(SUB, "rg2", "virtualNetworks", "v");
        let p = caller("P1");
        assert!(check(&m, &p, &action("GET", &vnet, None), &vnet).is_ok());
        let e = check(&m, &p, &action("PUT", &vnet, None), &vnet).expect_err("reader writes");
        assert_eq!(e.code, ErrorCode::AuthorizationFailed);
        assert!(
            e.message
                .contains("'Microsoft.Network/virtualNetworks/write' over scope"),
            "{}",
            e.message
        );
        assert!(check(&m, &p, &action("GET", &other, None), &other).is_err());
        assert!(check(&m, &caller("p2"), &action("GET", &vnet, None), &vnet).is_err());
        assert!(check(&m, &caller(LAB_PRINCIPAL_APP_ID), "x/write", &other).is_ok());
        assert!(sees_subscription(&m, &p, SUB));
        assert!(!sees_subscription(&m, &p, "other"));
    }

    #[test]
    fn a_peering_needs_peer_action_on_the_remote_vnet() {
        let m = model(
            "Network Contributor",
            &format!("/subscriptions/{SUB}/resourceGroups/rg"),
        );
        let local = ResourceId::network(SUB, "rg", "virtualNetworks", "a");
        let peering = local.child("virtualNetworkPeerings", "a-b");
        let remote = ResourceId::network(SUB, "rg2", "virtualNetworks", "b");
        let p = caller("p1");
        let write = action("PUT", &peering, None);
        assert!(check(&m, &p, &write, &peering).is_ok());
        let e = check_linked_peering(&m, &p, &write, &peering, &remote).expect_err("no role on remote");
        assert_eq!(e.code, ErrorCode::LinkedAuthorizationFailed);
        assert!(e.message.contains("on the linked scope(s)"), "{}", e.message);
        let near = ResourceId::network(SUB, "rg", "virtualNetworks", "c");
        assert!(check_linked_peering(&m, &p, &write, &peering, &near).is_ok());
    }

    #[test]
    fn a_peering_into_another_tenant_needs_the_callers_token_for_it() {
        use crate::model::Subscription;
        const OTHER: &str = "00000000-0000-4000-8000-000000000002";
        let mut m = model("Network Contributor", &format!("/subscriptions/{SUB}"));
        for (id, tenant) in [(SUB, "t"), (OTHER, "t2")] {
            m.subscriptions.push(Subscription {
                id: id.into(),
                name: id.into(),
                tenant_id: tenant.into(),
            });
        }
        m.role_assignments.push(RoleAssignment {
            principal_object_id: "p1".into(),
            role_definition_name: "Network Contributor".into(),
            scope: format!("/subscriptions/{OTHER}"),
        });
        let peering = ResourceId::network(SUB, "rg", "virtualNetworks", "a").child("virtualNetworkPeerings", "a-b");
        let remote = ResourceId::network(OTHER, "rg", "virtualNetworks", "b");
        let write = action("PUT", &peering, None);
        // The role in the other tenant is not enough without its token.
        let e = check_linked_peering(&m, &caller("p1"), &write, &peering, &remote).expect_err("no aux token");
        assert_eq!(e.code, ErrorCode::LinkedAuthorizationFailed);
        assert!(
            e.message.ends_with(&format!(
                "however the current tenant 't' is not authorized to access linked subscription '{OTHER}'."
            )),
            "{}",
            e.message
        );
        // A token of another principal in that tenant does not stand in.
        let mut p = caller("p1");
        p.linked.push(Caller {
            app_id: "p2".into(),
            tenant_id: "t2".into(),
            linked: Vec::new(),
        });
        assert!(check_linked_peering(&m, &p, &write, &peering, &remote).is_err());
        p.linked.push(Caller {
            app_id: "p1".into(),
            tenant_id: "T2".into(),
            linked: Vec::new(),
        });
        assert!(check_linked_peering(&m, &p, &write, &peering, &remote).is_ok());
        // With the token but no role there: the ordinary linked refusal.
        m.role_assignments.pop();
        let e = check_linked_peering(&m, &p, &write, &peering, &remote).expect_err("no role on remote");
        assert!(e.message.contains("on the linked scope(s)"), "{}", e.message);
    }
}
