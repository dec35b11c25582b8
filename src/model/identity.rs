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
}
