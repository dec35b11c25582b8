//! VNets, subnets and peerings: validation and change.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::addr::{FORBIDDEN_VNET_RANGES, overlapping, overlaps, parse_prefix};
use super::names::{self, NameKind};
use super::ops_identity::keep_location;
use super::regions;
use super::{
    AzureError, ErrorCode, Model, PEER_ACTION, PEERING_WRITE, Peering, ResourceId, Subnet, VirtualNetwork, bail,
};

const VNET_TYPE: &str = "Microsoft.Network/virtualNetworks";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub address_prefixes: Vec<String>,
    pub flow_timeout_in_minutes: Option<u32>,
    /// `dhcpOptions.dnsServers`: `None` keeps the VNet's current servers
    /// (none for a new VNet); `Some([])` restores Azure-provided DNS.
    #[serde(default)]
    pub dns_servers: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetSpec {
    pub id: ResourceId,
    pub address_prefix: String,
    pub network_security_group: Option<ResourceId>,
    pub route_table: Option<ResourceId>,
    pub default_outbound_access: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringSpec {
    pub id: ResourceId,
    pub remote_virtual_network: ResourceId,
    pub allow_virtual_network_access: bool,
    pub allow_forwarded_traffic: bool,
    pub allow_gateway_transit: bool,
    pub use_remote_gateways: bool,
    /// The principal making the change (name or object ID). Only needed
    /// when the two VNets live in different tenants.
    pub principal: Option<String>,
}

impl Model {
    pub(crate) fn vnet_or_not_found(&self, id: &ResourceId) -> Result<&VirtualNetwork, AzureError> {
        self.virtual_networks
            .get(id)
            .ok_or_else(|| AzureError::resource_not_found(id))
    }

    pub(super) fn put_vnet(&mut self, spec: VnetSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::VirtualNetwork, "virtual network", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), VNET_TYPE)?;
        let existing = self.virtual_networks.get(&id);
        keep_location(
            existing.map(|v| v.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;

        if spec.address_prefixes.is_empty() {
            bail!(
                BadRequest,
                "Virtual network {} must have at least one address prefix, for example 10.0.0.0/16.",
                id.name()
            );
        }
        let mut prefixes: Vec<Ipv4Net> = Vec::new();
        for p in &spec.address_prefixes {
            let n = parse_prefix(p, id.as_str())?;
            if let Some(f) = FORBIDDEN_VNET_RANGES.iter().find(|f| overlaps(f, &n)) {
                bail!(
                    BadRequest,
                    "Address prefix {n} of virtual network {} overlaps {f}, which Azure reserves (multicast, broadcast, loopback, link-local or the Azure host address 168.63.129.16) and never allows in a virtual network. Use a private range such as 10.0.0.0/16.",
                    id.name()
                );
            }
            if let Some(o) = prefixes.iter().find(|o| overlaps(o, &n)) {
                bail!(
                    BadRequest,
                    "Address prefixes {o} and {n} of virtual network {} overlap. Give each range once, without overlaps.",
                    id.name()
                );
            }
            prefixes.push(n);
        }
        if let Some(t) = spec.flow_timeout_in_minutes
            && !(4..=30).contains(&t)
        {
            bail!(
                InvalidParameter,
                "flowTimeoutInMinutes of virtual network {} is {t}; it must be between 4 and 30 minutes.",
                id.name()
            );
        }
        let dns_servers = match &spec.dns_servers {
            Some(v) => super::parse_vnet_dns_servers(v, &id)?,
            None => existing.map(|v| v.dns_servers.clone()).unwrap_or_default(),
        };
        if let Some(old) = existing {
            for s in &old.subnets {
                if !prefixes.iter().any(|p| p.contains(&s.address_prefix)) {
                    bail!(
                        NetcfgSubnetRangeOutsideVnet,
                        "Subnet '{}' is not valid because its IP address range is outside the IP address range of virtual network '{}'. Keep a range that covers {} or delete the subnet first.",
                        s.name,
                        id.name(),
                        s.address_prefix
                    );
                }
            }
            // A peered VNet's new ranges must not overlap any peer (§1.2).
            for peer in self.peers_of(&id) {
                if let Some(pv) = self.virtual_networks.get(&peer) {
                    let clash = overlapping(&prefixes, &pv.address_prefixes);
                    if !clash.is_empty() {
                        bail!(
                            VnetAddressSpacesOverlap,
                            "Cannot update virtual network {id}. Virtual networks {id} and {} cannot be peered because their address spaces overlap. Overlapping address prefixes: {}",
                            pv.id,
                            join(&clash)
                        );
                    }
                }
            }
        }
        let vnet = self
            .virtual_networks
            .entry(id.clone())
            .or_insert_with(|| VirtualNetwork {
                id: id.clone(),
                name: id.name().to_string(),
                location: location.clone(),
                address_prefixes: vec![],
                subnets: vec![],
                peerings: vec![],
                flow_timeout_in_minutes: None,
                dns_servers: vec![],
            });
        vnet.address_prefixes = prefixes;
        vnet.flow_timeout_in_minutes = spec.flow_timeout_in_minutes;
        vnet.dns_servers = dns_servers;
        Ok(())
    }

    /// VNets linked with `id` by a peering in either direction.
    pub(crate) fn peers_of(&self, id: &ResourceId) -> Vec<ResourceId> {
        let mut out: Vec<ResourceId> = Vec::new();
        if let Some(v) = self.virtual_networks.get(id) {
            out.extend(v.peerings.iter().map(|p| p.remote_virtual_network.clone()));
        }
        for v in self.virtual_networks.values() {
            if v.peerings.iter().any(|p| &p.remote_virtual_network == id) && !out.contains(&v.id) {
                out.push(v.id.clone());
            }
        }
        out
    }

    pub(super) fn delete_vnet(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let vnet = self.vnet_or_not_found(id)?;
        for s in &vnet.subnets {
            if let Some(user) = self.subnet_users(&s.id).first() {
                bail!(
                    InUseSubnetCannotBeDeleted,
                    "Subnet {} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                    s.name
                );
            }
        }
        // Remote links stay and become Disconnected for good (§4.2):
        // re-creating the VNet does not bring them back.
        self.virtual_networks.remove(id);
        self.remove_dns_links_to(id);
        for v in self.virtual_networks.values_mut() {
            for p in v.peerings.iter_mut().filter(|p| &p.remote_virtual_network == id) {
                p.disconnected_when_alone = true;
            }
        }
        Ok(())
    }

    pub(super) fn put_subnet(&mut self, spec: SubnetSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "subnet", &id)?;
        let vnet_id = id
            .parent()
            .ok_or_else(|| AzureError::new(ErrorCode::InvalidRequestFormat, format!("{id} is not a subnet ID.")))?;
        let vnet = self.vnet_or_not_found(&vnet_id)?;
        let prefix = parse_prefix(&spec.address_prefix, id.as_str())?;
        if !vnet.address_prefixes.iter().any(|p| p.contains(&prefix)) {
            bail!(
                NetcfgSubnetRangeOutsideVnet,
                "Subnet '{}' is not valid because its IP address range is outside the IP address range of virtual network '{}'. Choose a prefix inside {}.",
                id.name(),
                vnet.name,
                join(&vnet.address_prefixes)
            );
        }
        if prefix.prefix_len() > 29 {
            bail!(
                NetcfgInvalidSubnet,
                "Subnet '{}' is not valid in virtual network '{}': its prefix {prefix} is smaller than /29, the smallest subnet Azure allows. Use a /29 or larger prefix.",
                id.name(),
                vnet.name
            );
        }
        if let Some(o) = vnet
            .subnets
            .iter()
            .find(|s| s.id != id && overlaps(&s.address_prefix, &prefix))
        {
            bail!(
                NetcfgSubnetRangesOverlap,
                "Subnet '{}' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '{}' ('{}', {}). Choose a free range.",
                id.name(),
                vnet.name,
                o.name,
                o.address_prefix
            );
        }
        let existing = vnet.subnets.iter().find(|s| s.id == id);
        if let Some(old) = existing
            && old.address_prefix != prefix
            && !self.subnet_users(&id).is_empty()
        {
            bail!(
                InUsePrefixCannotBeDeleted,
                "IpPrefix {} on Subnet {} has active allocations and cannot be deleted. Delete the resources in the subnet before resizing it.",
                old.address_prefix,
                id.name()
            );
        }
        let special = if id.name().eq_ignore_ascii_case(super::ROUTE_SERVER_SUBNET) {
            Some("RouteServerSubnet")
        } else {
            None
        };
        if let (Some(name), true) = (
            special,
            spec.network_security_group.is_some() || spec.route_table.is_some(),
        ) {
            bail!(
                BadRequest,
                "{name} of virtual network {} cannot have a network security group or a route table associated; Route Server does not support them. Remove the association.",
                vnet.name
            );
        }
        if let Some(nsg) = &spec.network_security_group {
            let loc = self.network_security_groups.get(nsg).map(|n| n.location.clone());
            self.check_reference(nsg, loc.as_deref(), &id, &vnet.location)?;
            if id.name().eq_ignore_ascii_case(super::GATEWAY_SUBNET) && self.vpn_gateway_of(&vnet_id).is_some() {
                bail!(
                    BadRequest,
                    "The operation failed because the network security group {} can not be associated to the GatewaySubnet. Please remove the network security group associated to the GatewaySubnet.",
                    nsg.name()
                );
            }
        }
        if let Some(rt) = &spec.route_table {
            let loc = self.route_tables.get(rt).map(|r| r.location.clone());
            self.check_reference(rt, loc.as_deref(), &id, &vnet.location)?;
        }
        let subnet = Subnet {
            id: id.clone(),
            name: id.name().to_string(),
            address_prefix: prefix,
            network_security_group: spec.network_security_group,
            route_table: spec.route_table,
            default_outbound_access: spec.default_outbound_access.unwrap_or(true),
        };
        let vnet = self
            .virtual_networks
            .get_mut(&vnet_id)
            .ok_or_else(|| AzureError::resource_not_found(&vnet_id))?;
        match vnet.subnets.iter_mut().find(|s| s.id == id) {
            Some(s) => *s = subnet,
            None => vnet.subnets.push(subnet),
        }
        Ok(())
    }

    /// A subnet may only use an NSG or route table that exists in the same
    /// region and subscription.
    pub(crate) fn check_reference(
        &self,
        target: &ResourceId,
        target_location: Option<&str>,
        by: &ResourceId,
        location: &str,
    ) -> Result<(), AzureError> {
        let ok =
            target_location == Some(location) && target.subscription_id().eq_ignore_ascii_case(by.subscription_id());
        if !ok {
            bail!(
                InvalidResourceReference,
                "Resource {target} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region and subscription ({location})."
            );
        }
        Ok(())
    }

    pub(super) fn delete_subnet(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.subnet(id).is_none() {
            bail!(NotFound, "Subnet {id} was not found.");
        }
        if let Some(user) = self.subnet_users(id).first() {
            bail!(
                InUseSubnetCannotBeDeleted,
                "Subnet {} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                id.name()
            );
        }
        if let Some(v) = id.parent().and_then(|v| self.virtual_networks.get_mut(&v)) {
            v.subnets.retain(|s| &s.id != id);
        }
        Ok(())
    }

    pub(super) fn put_peering(&mut self, spec: PeeringSpec) -> Result<(), AzureError> {
        let id = spec.id.clone();
        names::check_id(NameKind::NetworkChild, "virtual network peering", &id)?;
        let local_id = id
            .parent()
            .ok_or_else(|| AzureError::new(ErrorCode::InvalidRequestFormat, format!("{id} is not a peering ID.")))?;
        let local = self.vnet_or_not_found(&local_id)?;
        let remote_id = &spec.remote_virtual_network;
        let existing = local.peering(id.name());
        if let Some(old) = existing
            && &old.remote_virtual_network != remote_id
        {
            bail!(
                ChangingRemoteVirtualNetworkNotAllowed,
                "Changing the remote virtual network of peering {id} from {} to {remote_id} is not allowed. Delete the peering and create a new one.",
                old.remote_virtual_network
            );
        }
        if remote_id == &local_id {
            bail!(
                BadRequest,
                "Cannot create or update peering {id}. A virtual network cannot be peered with itself. Choose another --remote-vnet."
            );
        }
        if self.subscription(remote_id.subscription_id()).is_none() {
            bail!(
                LinkedAuthorizationFailed,
                "The client has permission to perform action '{PEER_ACTION}' on scope '{id}', however the linked subscription '{}' was not found.",
                remote_id.subscription_id()
            );
        }
        self.authorize_peering(&spec, &local_id)?;
        let Some(remote) = self.virtual_networks.get(remote_id) else {
            bail!(
                InvalidResourceReference,
                "Resource {remote_id} referenced by resource {id} was not found. Please make sure that the referenced resource exists."
            );
        };
        if regions::cloud_of(&local.location) != regions::cloud_of(&remote.location) {
            bail!(
                BadRequest,
                "Cannot create peering {id}: {} ({}) and {} ({}) are in different Azure clouds, and peering never crosses clouds.",
                local.name,
                local.location,
                remote.name,
                remote.location
            );
        }
        if let Some(other) = local
            .peerings
            .iter()
            .find(|p| &p.remote_virtual_network == remote_id && !p.name.eq_ignore_ascii_case(id.name()))
        {
            bail!(
                AnotherPeeringAlreadyReferencesRemoteVnet,
                "Peering {} already references remote virtual network {remote_id}. Cannot add another peering {id} referencing the same remote virtual network.",
                other.id
            );
        }
        let clash = overlapping(&local.address_prefixes, &remote.address_prefixes);
        if !clash.is_empty() {
            bail!(
                VnetAddressSpacesOverlap,
                "Cannot create or update peering {id}. Virtual networks {local_id} and {remote_id} cannot be peered because their address spaces overlap. Overlapping address prefixes: {}",
                join(&clash)
            );
        }
        for (first, second) in [(local, remote), (remote, local)] {
            for third_id in self.peers_of(&second.id) {
                if third_id == first.id {
                    continue;
                }
                let Some(third) = self.virtual_networks.get(&third_id) else {
                    continue;
                };
                let clash = overlapping(&first.address_prefixes, &third.address_prefixes);
                if !clash.is_empty() {
                    bail!(
                        VnetAddressSpaceOverlapsWithAlreadyPeeredVnet,
                        "Cannot create or update peering {id}. Virtual networks {} and {} cannot be peered because address space of the first virtual network overlaps with address space of virtual network {} already peered with the second virtual network. Overlapping address prefixes: {}.",
                        first.id,
                        second.id,
                        third.id,
                        join(&clash)
                    );
                }
            }
        }
        let reverse = self.link(remote_id, &local_id).cloned();
        if existing.is_none()
            && let Some(r) = &reverse
            && r.disconnected_when_alone
        {
            bail!(
                RemotePeeringIsDisconnected,
                "Cannot create or update peering {id} because remote peering {} referencing parent virtual network {local_id} is in Disconnected state. Update or re-create the remote peering to get it back to Initiated state. Peering gets Disconnected when remote vnet or remote peering is deleted and re-created",
                r.id
            );
        }
        if spec.use_remote_gateways {
            if !self.has_gateway(remote_id) {
                bail!(
                    RemoteVnetHasNoGateways,
                    "Peering {id} cannot have UseRemoteGateway flag set to true because remote virtual network {remote_id} referenced by the peering does not have any gateways."
                );
            }
            if self.has_gateway(&local_id) {
                bail!(
                    BadRequest,
                    "Peering {id} cannot have UseRemoteGateway flag set to true because virtual network {} already has a gateway. You can't use remote gateways if you already have a gateway configured in your virtual network.",
                    local.name
                );
            }
            if let Some(o) = local
                .peerings
                .iter()
                .find(|p| p.use_remote_gateways && !p.name.eq_ignore_ascii_case(id.name()))
            {
                bail!(
                    BadRequest,
                    "Peering {id} cannot have UseRemoteGateway flag set to true because peering {} of the same virtual network already uses remote gateways. Only one peering can have this flag set to true.",
                    o.name
                );
            }
        }
        let snapshot = existing
            .map(|p| p.remote_address_space.clone())
            .unwrap_or_else(|| remote.address_prefixes.clone());
        let connected = reverse.is_some();
        let peering = Peering {
            id: id.clone(),
            name: id.name().to_string(),
            remote_virtual_network: remote_id.clone(),
            allow_virtual_network_access: spec.allow_virtual_network_access,
            allow_forwarded_traffic: spec.allow_forwarded_traffic,
            allow_gateway_transit: spec.allow_gateway_transit,
            use_remote_gateways: spec.use_remote_gateways,
            remote_address_space: snapshot,
            disconnected_when_alone: connected || existing.is_some_and(|p| p.disconnected_when_alone),
        };
        let local = self
            .virtual_networks
            .get_mut(&local_id)
            .ok_or_else(|| AzureError::resource_not_found(&local_id))?;
        match local.peerings.iter_mut().find(|p| p.id == id) {
            Some(p) => *p = peering,
            None => local.peerings.push(peering),
        }
        if connected
            && let Some(r) = self
                .virtual_networks
                .get_mut(remote_id)
                .and_then(|v| v.peerings.iter_mut().find(|q| q.remote_virtual_network == local_id))
        {
            r.disconnected_when_alone = true;
        }
        Ok(())
    }

    /// Across tenants the caller needs peering rights on both VNets (§4.3).
    fn authorize_peering(&self, spec: &PeeringSpec, local_id: &ResourceId) -> Result<(), AzureError> {
        let remote_id = &spec.remote_virtual_network;
        if self.tenant_of(local_id) == self.tenant_of(remote_id) {
            return Ok(());
        }
        let Some(who) = spec.principal.as_deref().and_then(|p| self.principal(p)) else {
            bail!(
                AuthorizationFailed,
                "Peering {} links virtual networks in different tenants, so it must be created by a principal with Network Contributor (or the peering actions) on both virtual networks; none was given or it is unknown ({}). Log in as such a principal.",
                spec.id,
                spec.principal.as_deref().unwrap_or("none")
            );
        };
        if !self.is_authorized(who, PEERING_WRITE, &spec.id) {
            bail!(
                AuthorizationFailed,
                "The client '{}' with object id '{}' does not have authorization to perform action '{PEERING_WRITE}' over scope '{}' or the scope is invalid. Assign it Network Contributor on {local_id}.",
                who.name,
                who.object_id,
                spec.id
            );
        }
        if !self.is_authorized(who, PEER_ACTION, remote_id) {
            bail!(
                LinkedAuthorizationFailed,
                "The client '{}' has permission to perform action '{PEERING_WRITE}' on scope '{}', however it does not have permission to perform action '{PEER_ACTION}' on the linked scope(s) '{remote_id}' or the linked scope(s) are invalid. Assign it Network Contributor on the remote virtual network.",
                who.name,
                spec.id
            );
        }
        Ok(())
    }

    pub(super) fn delete_peering(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.peering(id).is_none() {
            bail!(NotFound, "Virtual network peering {id} was not found.");
        }
        if let Some(v) = id.parent().and_then(|v| self.virtual_networks.get_mut(&v)) {
            v.peerings.retain(|p| &p.id != id);
        }
        Ok(())
    }

    /// `az network vnet peering sync`: take the remote's current space.
    pub(super) fn sync_peering(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let Some((_, p)) = self.peering(id) else {
            bail!(NotFound, "Virtual network peering {id} was not found.");
        };
        let Some(remote) = self.virtual_networks.get(&p.remote_virtual_network) else {
            bail!(
                BadRequest,
                "Peering {id} cannot be synced because its remote virtual network no longer exists. Delete the peering."
            );
        };
        let space = remote.address_prefixes.clone();
        if let Some(p) = id
            .parent()
            .and_then(|v| self.virtual_networks.get_mut(&v))
            .and_then(|v| v.peerings.iter_mut().find(|p| &p.id == id))
        {
            p.remote_address_space = space;
        }
        Ok(())
    }
}

pub(crate) fn join(p: &[Ipv4Net]) -> String {
    p.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}
