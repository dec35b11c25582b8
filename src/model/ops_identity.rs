//! Subscriptions, principals, role assignments and resource groups.

use super::names::{self, NameKind};
use super::regions;
use super::{
    AzureError, Model, Principal, ResourceGroup, ResourceId, RoleAssignment, Subscription, bail, check_location,
    role_actions, role_grants,
};

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Model {
    pub(super) fn put_subscription(&mut self, s: Subscription) -> Result<(), AzureError> {
        if !is_guid(&s.id) || !is_guid(&s.tenant_id) {
            bail!(
                BadRequest,
                "Subscription '{}' must have a GUID as its ID and as its tenant ID (for example 00000000-0000-4000-8000-000000000002).",
                s.name
            );
        }
        if s.name.trim().is_empty() || s.name.len() > 64 {
            bail!(
                BadRequest,
                "Subscription name '{}' must be 1 to 64 characters long.",
                s.name
            );
        }
        match self.subscriptions.iter_mut().find(|x| x.id.eq_ignore_ascii_case(&s.id)) {
            Some(x) => *x = s,
            None => self.subscriptions.push(s),
        }
        Ok(())
    }

    pub(super) fn put_principal(&mut self, p: Principal) -> Result<(), AzureError> {
        if p.name.trim().is_empty() || p.name.chars().any(char::is_control) {
            bail!(
                BadRequest,
                "Principal name '{}' is empty or has control characters. Give a user principal name such as alice@contoso.com.",
                p.name
            );
        }
        if !is_guid(&p.object_id) || !is_guid(&p.tenant_id) {
            bail!(
                BadRequest,
                "Principal '{}' needs GUIDs as object ID and tenant ID.",
                p.name
            );
        }
        self.principals
            .retain(|x| !x.object_id.eq_ignore_ascii_case(&p.object_id));
        self.principals.push(p);
        Ok(())
    }

    pub(super) fn put_role_assignment(&mut self, a: RoleAssignment) -> Result<(), AzureError> {
        let Some(principal) = self
            .principals
            .iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(&a.principal_object_id))
        else {
            bail!(
                PrincipalNotFound,
                "Principal {} does not exist in the directory. Create the principal first, then assign the role.",
                a.principal_object_id
            );
        };
        if role_actions(&a.role_definition_name).is_none() {
            bail!(
                RoleDefinitionDoesNotExist,
                "The specified role definition with ID '{}' does not exist. Use Owner, Contributor, Network Contributor, Reader or 'VNet Peering Contributor'.",
                a.role_definition_name
            );
        }
        let Some(scope) = ResourceId::parse(&a.scope) else {
            bail!(
                InvalidRequestFormat,
                "The scope '{}' is not a valid resource ID. Use /subscriptions/<id>[/resourceGroups/<name>[/providers/...]].",
                a.scope
            );
        };
        if self.subscription(scope.subscription_id()).is_none() {
            bail!(
                SubscriptionNotFound,
                "The subscription '{}' could not be found.",
                scope.subscription_id()
            );
        }
        let _ = principal;
        if !self.role_assignments.contains(&a) {
            self.role_assignments.push(a);
        }
        Ok(())
    }

    pub(super) fn delete_role_assignment(&mut self, a: &RoleAssignment) -> Result<(), AzureError> {
        let before = self.role_assignments.len();
        self.role_assignments.retain(|x| x != a);
        if before == self.role_assignments.len() {
            bail!(
                NotFound,
                "No role assignment of '{}' to {} at scope {} exists.",
                a.role_definition_name,
                a.principal_object_id,
                a.scope
            );
        }
        Ok(())
    }

    /// Whether `principal` (by name or object ID) may perform `action` on
    /// `resource`, through an assignment at that scope or above it.
    pub fn is_authorized(&self, principal: &Principal, action: &str, resource: &ResourceId) -> bool {
        self.role_assignments.iter().any(|a| {
            a.principal_object_id.eq_ignore_ascii_case(&principal.object_id)
                && resource.is_within(&a.scope)
                && role_grants(&a.role_definition_name, action)
        })
    }

    pub fn principal(&self, name_or_id: &str) -> Option<&Principal> {
        self.principals
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name_or_id) || p.object_id.eq_ignore_ascii_case(name_or_id))
    }

    pub(super) fn put_resource_group(&mut self, sub: &str, name: &str, location: &str) -> Result<(), AzureError> {
        names::check(NameKind::ResourceGroup, "resource group", name)?;
        if self.subscription(sub).is_none() {
            bail!(
                SubscriptionNotFound,
                "The subscription '{sub}' could not be found. Add it to the topology's subscriptions first."
            );
        }
        let location = check_location(location, "Microsoft.Resources/resourceGroups")?;
        let id = ResourceId::resource_group(sub, name);
        if let Some(other) = self.resource_groups.values().find(|g| {
            g.id.subscription_id().eq_ignore_ascii_case(sub)
                && regions::cloud_of(&g.location) != regions::cloud_of(&location)
        }) {
            bail!(
                LocationNotAvailableForResourceType,
                "The provided location '{location}' is not available for resource type 'Microsoft.Resources/resourceGroups' in subscription {sub}: its resource group {} is in {}, and a subscription lives in a single Azure cloud.",
                other.name,
                other.location
            );
        }
        if let Some(rg) = self.resource_groups.get(&id) {
            if rg.location != location {
                bail!(
                    InvalidResourceLocation,
                    "The resource group '{name}' already exists in location '{}'. A resource group with the same name cannot be created in location '{location}'. Please select a new resource group name.",
                    rg.location
                );
            }
            return Ok(());
        }
        self.resource_groups.insert(
            id.clone(),
            ResourceGroup {
                id,
                name: name.to_string(),
                location,
            },
        );
        Ok(())
    }

    /// Deletes a resource group and everything in it, as ARM does. It is
    /// refused when something outside the group still uses what is inside.
    pub(super) fn delete_resource_group(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if !self.resource_groups.contains_key(id) {
            bail!(
                ResourceGroupNotFound,
                "Resource group '{}' could not be found.",
                id.name()
            );
        }
        self.delete_clusters_in(id)?;
        self.resource_groups.remove(id);
        self.forget_documents_within(id);
        let inside = |r: &ResourceId| r.is_within(id.as_str());
        fn within<T>(
            map: &std::collections::BTreeMap<ResourceId, T>,
            inside: impl Fn(&ResourceId) -> bool,
        ) -> Vec<ResourceId> {
            map.keys().filter(|k| inside(k)).cloned().collect()
        }
        // Dependents first, so each delete finds nothing in the group
        // still using what it removes.
        for vm in within(&self.virtual_machines, inside) {
            self.delete_vm(&vm)?;
        }
        for pe in within(&self.private_endpoints, inside) {
            self.delete_private_endpoint(&pe)?;
        }
        for r in within(&self.redis_caches, inside) {
            self.delete_redis(&r)?;
        }
        for n in self.network_interfaces.values_mut() {
            n.load_balancer_backend_address_pools.retain(|p| !inside(p));
        }
        for lb in within(&self.load_balancers, inside) {
            self.delete_load_balancer(&lb)?;
        }
        for c in within(&self.connections, inside) {
            self.delete_connection(&c)?;
        }
        // The group's VNets lose their peerings first, so that a gateway
        // used only by peerings inside the group can go with it.
        for v in self.virtual_networks.values_mut().filter(|v| inside(&v.id)) {
            v.peerings.clear();
        }
        for rs in within(&self.route_servers, inside) {
            self.delete_route_server(&rs)?;
        }
        for g in within(&self.virtual_network_gateways, inside) {
            self.delete_gateway(&g)?;
        }
        for l in within(&self.local_network_gateways, inside) {
            self.delete_local_gateway(&l)?;
        }
        for n in within(&self.network_interfaces, inside) {
            self.delete_nic(&n)?;
        }
        // Zones go with their links and record sets, which are nested in them.
        self.private_dns_zones.retain(|z, _| !inside(z));
        for v in within(&self.virtual_networks, inside) {
            self.delete_vnet(&v)?;
        }
        for p in within(&self.public_ip_addresses, inside) {
            self.delete_public_ip(&p)?;
        }
        for n in within(&self.network_security_groups, inside) {
            self.delete_nsg(&n)?;
        }
        for r in within(&self.route_tables, inside) {
            self.delete_route_table(&r)?;
        }
        Ok(())
    }

    /// The resource group a new top-level resource goes into; its location
    /// is the default location.
    pub(super) fn require_group(&self, id: &ResourceId) -> Result<&ResourceGroup, AzureError> {
        if self.subscription(id.subscription_id()).is_none() {
            bail!(
                SubscriptionNotFound,
                "The subscription '{}' could not be found.",
                id.subscription_id()
            );
        }
        let rg = ResourceId::resource_group(id.subscription_id(), id.resource_group_name());
        self.resource_groups.get(&rg).ok_or_else(|| {
            AzureError::new(
                super::ErrorCode::ResourceGroupNotFound,
                format!(
                    "Resource group '{}' could not be found. Create it first (az group create).",
                    id.resource_group_name()
                ),
            )
        })
    }

    /// The location for a new resource: the one given, or the group's.
    /// The location for a resource: the one given; else, for an update,
    /// the one it has; else its group's. A subscription lives in one
    /// Azure cloud, so a region of another cloud is not available.
    pub(super) fn resolve_location(
        &self,
        id: &ResourceId,
        location: Option<&str>,
        resource_type: &str,
    ) -> Result<String, AzureError> {
        let rg = self.require_group(id)?;
        let l = match (location, self.existing_location(id)) {
            (Some(l), _) => check_location(l, resource_type)?,
            (None, Some(existing)) => return Ok(existing.to_string()),
            (None, None) => return Ok(rg.location.clone()),
        };
        if regions::cloud_of(&l) != regions::cloud_of(&rg.location) {
            bail!(
                LocationNotAvailableForResourceType,
                "The provided location '{l}' is not available for resource type '{resource_type}' in this subscription: resource group {} is in {}, and a subscription lives in a single Azure cloud. Choose a region of the same cloud.",
                rg.name,
                rg.location
            );
        }
        Ok(l)
    }

    /// The location of the resource `id`, if it exists.
    fn existing_location(&self, id: &ResourceId) -> Option<&str> {
        let found = [
            self.virtual_networks.get(id).map(|r| &r.location),
            self.network_security_groups.get(id).map(|r| &r.location),
            self.route_tables.get(id).map(|r| &r.location),
            self.public_ip_addresses.get(id).map(|r| &r.location),
            self.network_interfaces.get(id).map(|r| &r.location),
            self.virtual_machines.get(id).map(|r| &r.location),
            self.virtual_network_gateways.get(id).map(|r| &r.location),
            self.local_network_gateways.get(id).map(|r| &r.location),
            self.connections.get(id).map(|r| &r.location),
            self.route_servers.get(id).map(|r| &r.location),
            self.load_balancers.get(id).map(|r| &r.location),
            self.redis_caches.get(id).map(|r| &r.location),
            self.private_endpoints.get(id).map(|r| &r.location),
        ];
        found.into_iter().flatten().next().map(String::as_str)
    }
}

/// A resource of `kind` must not change location once created.
pub(super) fn keep_location(existing: Option<&str>, name: &str, rg: &str, location: &str) -> Result<(), AzureError> {
    if let Some(old) = existing
        && old != location
    {
        bail!(
            InvalidResourceLocation,
            "The resource '{name}' already exists in location '{old}' in resource group '{rg}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name."
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn guids() {
        assert!(super::is_guid("00000000-0000-4000-8000-000000000001"));
        assert!(!super::is_guid("not-a-guid"));
    }
}
