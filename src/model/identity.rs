//! Tenants, subscriptions, principals and role assignments: just enough
//! RBAC for the cross-tenant peering rule (azure-semantics §4.3).

use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// A GUID.
    pub id: String,
    pub name: String,
    pub tenant_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalType {
    User,
    ServicePrincipal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// A user principal name or a service principal's display name.
    pub name: String,
    pub object_id: String,
    pub tenant_id: String,
    pub principal_type: PrincipalType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub principal_object_id: String,
    pub role_definition_name: String,
    /// A subscription, resource group or resource ID.
    pub scope: String,
}

pub const PEERING_WRITE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";
pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

/// The built-in roles the lab knows, as ARM spells their names, with their
/// role definition IDs (the same GUID in every tenant).
// Azure: learn.microsoft.com/azure/role-based-access-control/built-in-roles
// (Owner, Contributor, Reader under "General"; Network Contributor under "Networking").
pub const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    ("Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7"),
];

/// The custom role the peering docs describe (no built-in ID).
pub const PEERING_ROLE: &str = "VNet Peering Contributor";

/// A role as a topology or `az role assignment create --role` names it —
/// a name in any case, a role definition GUID, or a full
/// `…/providers/Microsoft.Authorization/roleDefinitions/{guid}` ID — as its
/// canonical name; `None` when the lab does not know it.
pub fn role_name(role: &str) -> Option<&'static str> {
    let guid = role.rsplit('/').next().unwrap_or(role);
    BUILT_IN_ROLES
        .iter()
        .find(|(name, id)| name.eq_ignore_ascii_case(role) || id.eq_ignore_ascii_case(guid))
        .map(|(name, _)| *name)
        .or_else(|| PEERING_ROLE.eq_ignore_ascii_case(role).then_some(PEERING_ROLE))
}

/// A built-in role's definition GUID.
pub fn role_definition_id(role: &str) -> Option<&'static str> {
    BUILT_IN_ROLES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(role))
        .map(|(_, id)| *id)
}

/// Built-in roles and the actions they grant (the parts that matter here).
pub fn role_actions(role: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let (actions, not_actions): (&[&str], &[&str]) = match role.to_ascii_lowercase().as_str() {
        "owner" => (&["*"], &[]),
        "contributor" => (
            &["*"],
            &["Microsoft.Authorization/*/Write", "Microsoft.Authorization/*/Delete"],
        ),
        // Azure: the built-in role also deploys templates and reads its
        // groups (learn.microsoft.com/azure/role-based-access-control/built-in-roles/networking#network-contributor).
        "network contributor" => (
            &[
                "Microsoft.Network/*",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ],
            &[],
        ),
        "reader" => (&["*/read"], &[]),
        // The least-privilege custom role the peering docs describe.
        "vnet peering contributor" => (
            &[
                "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/*",
                PEER_ACTION,
                "Microsoft.Network/virtualNetworks/read",
            ],
            &[],
        ),
        _ => return None,
    };
    Some((actions, not_actions))
}

/// ARM's wildcard match of an action pattern, case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == a,
        Some((pre, post)) => a.len() >= pre.len() + post.len() && a.starts_with(pre) && a.ends_with(post),
    }
}

pub fn role_grants(role: &str, action: &str) -> bool {
    role_actions(role).is_some_and(|(allow, deny)| {
        allow.iter().any(|p| action_matches(p, action)) && !deny.iter().any(|p| action_matches(p, action))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles() {
        assert!(role_grants("Network Contributor", PEER_ACTION));
        assert!(role_grants("network contributor", PEERING_WRITE));
        assert!(role_grants("Owner", PEER_ACTION));
        assert!(!role_grants("Reader", PEER_ACTION));
        assert!(role_grants("Reader", "Microsoft.Network/virtualNetworks/read"));
        assert!(!role_grants(
            "Contributor",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!role_grants("Nobody", PEER_ACTION));
    }

    #[test]
    fn roles_are_named_by_name_or_definition_id() {
        assert_eq!(role_name("network contributor"), Some("Network Contributor"));
        assert_eq!(role_name("acdd72a7-3385-48ef-bd42-f606fba81ae7"), Some("Reader"));
        assert_eq!(
            role_name(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"
            ),
            Some("Owner")
        );
        assert_eq!(role_name("vnet peering contributor"), Some(PEERING_ROLE));
        assert_eq!(role_name("Storage Blob Data Reader"), None);
        assert_eq!(
            role_definition_id("Contributor"),
            Some("b24988ac-6180-42a0-ab88-20f7382dd24c")
        );
        // Every built-in role the table names grants something.
        assert!(BUILT_IN_ROLES.iter().all(|(n, _)| role_actions(n).is_some()));
    }
}
