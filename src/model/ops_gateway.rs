//! VPN gateways, local network gateways, connections and Route Server:
//! validation and change.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::addr::{overlapping, parse_prefix};
use super::names::{self, NameKind};
use super::ops_identity::keep_location;
use super::ops_network::join;
use super::{
    AZURE_ASN, AzureError, Connection, ConnectionType, ErrorCode, GATEWAY_SKUS, GatewayType, LearnedRoute,
    LocalNetworkGateway, Model, PublicIpSku, ResourceId, RouteServer, RouteServerPeering, VPN_GATEWAY_GENERATIONS,
    VirtualNetworkGateway, VpnType, bail, is_reserved_asn,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub virtual_network: ResourceId,
    pub gateway_type: GatewayType,
    pub sku: String,
    pub active_active: bool,
    pub enable_bgp: bool,
    pub asn: Option<u32>,
    /// One per instance: two for active-active. Empty is allowed (topology
    /// files name none), az always gives one or two.
    #[serde(default)]
    pub public_ip_addresses: Vec<ResourceId>,
    #[serde(default)]
    pub vpn_type: VpnType,
    #[serde(default)]
    pub vpn_gateway_generation: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalGatewaySpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub gateway_ip_address: String,
    pub local_address_prefixes: Vec<String>,
    pub asn: Option<u32>,
    pub bgp_peering_address: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub connection_type: ConnectionType,
    pub virtual_network_gateway1: ResourceId,
    pub peer: ResourceId,
    pub shared_key: Option<String>,
    pub enable_bgp: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub hosted_subnet: ResourceId,
    pub allow_branch_to_branch_traffic: bool,
    #[serde(default)]
    pub public_ip_address: Option<ResourceId>,
    /// vnetlab's own (see `RouteServer::bgp_hold_secs`).
    #[serde(default)]
    pub bgp_hold_secs: Option<u16>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerPeeringSpec {
    /// `.../virtualHubs/RS/bgpConnections/NAME`.
    pub id: ResourceId,
    pub peer_ip: String,
    pub peer_asn: u32,
    pub advertised_prefixes: Vec<String>,
}

const GW_TYPE: &str = "Microsoft.Network/virtualNetworkGateways";
const LNG_TYPE: &str = "Microsoft.Network/localNetworkGateways";
const CONN_TYPE: &str = "Microsoft.Network/connections";
const RS_TYPE: &str = "Microsoft.Network/virtualHubs";

fn parse_ip(s: &str, what: &str) -> Result<Ipv4Addr, AzureError> {
    s.trim().parse().map_err(|_| {
        AzureError::new(
            ErrorCode::InvalidRequestFormat,
            format!("{what} '{s}' is not a valid IPv4 address."),
        )
    })
}

fn check_asn(asn: u32, who: &str) -> Result<(), AzureError> {
    if is_reserved_asn(asn) {
        bail!(
            BadRequest,
            "ASN {asn} of {who} is reserved by Azure (8074, 8075, 12076, 65515, 65517-65520, 23456, 64496-64511, 65535-65551). Choose another ASN, for example 65010."
        );
    }
    Ok(())
}

/// A VPN type and generation that fit the SKU and gateway type (§6):
/// PolicyBased exists only as Basic, and a generation is for VPN gateways.
fn check_vpn_options(
    vpn_type: &VpnType,
    generation: Option<&str>,
    sku: &str,
    gateway_type: GatewayType,
    name: &str,
) -> Result<(), AzureError> {
    if *vpn_type == VpnType::PolicyBased && (gateway_type != GatewayType::Vpn || sku != "Basic") {
        bail!(
            BadRequest,
            "Gateway {name}: a PolicyBased VPN gateway must be of type Vpn with the Basic SKU ({sku} given). Use --vpn-type RouteBased."
        );
    }
    match generation {
        Some(g) if !VPN_GATEWAY_GENERATIONS.contains(&g) => {
            bail!(
                BadRequest,
                "Gateway {name}: VPN gateway generation '{g}' is not valid. Valid values: {}.",
                VPN_GATEWAY_GENERATIONS.join(", ")
            );
        }
        Some(g) if g != "None" && gateway_type != GatewayType::Vpn => {
            bail!(
                BadRequest,
                "Gateway {name}: a VPN gateway generation ({g}) applies to Vpn gateways only; leave it out for an ExpressRoute gateway."
            );
        }
        _ => Ok(()),
    }
}

impl Model {
    pub(super) fn put_gateway(&mut self, spec: GatewaySpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "virtual network gateway", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), GW_TYPE)?;
        keep_location(
            self.virtual_network_gateways.get(&id).map(|g| g.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        let vnet = self.vnet_or_not_found(&spec.virtual_network)?;
        if vnet.location != location {
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
                vnet.id
            );
        }
        let Some(gs) = vnet.subnets.iter().find(|s| s.is_gateway_subnet()) else {
            bail!(
                NetcfgMissingSubnet,
                "Missing subnet referenced 'GatewaySubnet' in virtual network '{}'. Create a subnet named GatewaySubnet (a /27 is recommended) first.",
                vnet.name
            );
        };
        if let Some(nsg) = &gs.network_security_group {
            bail!(
                BadRequest,
                "The operation failed because the network security group {} can not be associated to the GatewaySubnet. Please remove the network security group associated to the GatewaySubnet. No changes have occurred on the gateway at this time.",
                nsg.name()
            );
        }
        if let Some(other) = self
            .virtual_network_gateways
            .values()
            .find(|g| g.id != id && g.virtual_network == vnet.id && g.gateway_type == spec.gateway_type)
        {
            bail!(
                BadRequest,
                "A virtual network can't be associated with more than one gateway of a type: {} already has {} ({:?}).",
                vnet.name,
                other.name,
                other.gateway_type
            );
        }
        if let Some(p) = vnet.peerings.iter().find(|p| p.use_remote_gateways) {
            bail!(
                BadRequest,
                "Virtual network {} uses the remote gateway of its peer through peering {}, so it cannot have a gateway of its own. Turn off useRemoteGateways first.",
                vnet.name,
                p.name
            );
        }
        let Some(sku) = GATEWAY_SKUS.iter().find(|s| s.eq_ignore_ascii_case(&spec.sku)) else {
            bail!(
                BadRequest,
                "Gateway SKU '{}' is not valid. Valid SKUs: {}.",
                spec.sku,
                GATEWAY_SKUS.join(", ")
            );
        };
        let is_er = sku.starts_with("ErGw");
        if is_er != (spec.gateway_type == GatewayType::ExpressRoute) {
            bail!(
                BadRequest,
                "Gateway SKU {sku} does not fit gateway type {:?}. Use ErGw* SKUs for ExpressRoute and the others for Vpn.",
                spec.gateway_type
            );
        }
        if *sku == "Basic" && (spec.enable_bgp || spec.active_active) {
            bail!(
                BadRequest,
                "The Basic VPN gateway SKU supports neither BGP nor active-active. Use VpnGw1 or higher."
            );
        }
        let asn = spec.asn.unwrap_or(AZURE_ASN);
        if asn != AZURE_ASN {
            check_asn(asn, id.name())?;
        }
        check_vpn_options(
            &spec.vpn_type,
            spec.vpn_gateway_generation.as_deref(),
            sku,
            spec.gateway_type,
            id.name(),
        )?;
        self.check_gateway_public_ips(&id, &spec.public_ip_addresses, spec.active_active, &location)?;
        let gw = VirtualNetworkGateway {
            id: id.clone(),
            name: id.name().into(),
            location,
            virtual_network: spec.virtual_network,
            gateway_type: spec.gateway_type,
            sku: sku.to_string(),
            active_active: spec.active_active,
            enable_bgp: spec.enable_bgp,
            asn,
            public_ip_addresses: spec.public_ip_addresses,
            vpn_type: spec.vpn_type,
            vpn_gateway_generation: spec.vpn_gateway_generation,
        };
        self.virtual_network_gateways.insert(id, gw);
        Ok(())
    }

    pub(super) fn delete_gateway(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let Some(gw) = self.virtual_network_gateways.get(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        if let Some(c) = self
            .connections
            .values()
            .find(|c| &c.virtual_network_gateway1 == id || &c.peer == id)
        {
            bail!(
                BadRequest,
                "Virtual network gateway {} is in use by connection {} and cannot be deleted. Delete the connection first.",
                gw.name,
                c.name
            );
        }
        if self.route_server_of(&gw.virtual_network).is_none()
            && let Some(user) = self.peers_using_gateway_of(&gw.virtual_network).first()
        {
            bail!(
                BadRequest,
                "Virtual network gateway {} cannot be deleted because peering {user} uses it as remote gateway. Turn off useRemoteGateways on that peering first.",
                gw.name
            );
        }
        self.virtual_network_gateways.remove(id);
        Ok(())
    }

    /// One public IP per gateway instance, each existing in the gateway's
    /// region and held by nothing else.
    fn check_gateway_public_ips(
        &self,
        id: &ResourceId,
        pips: &[ResourceId],
        active_active: bool,
        location: &str,
    ) -> Result<(), AzureError> {
        if pips.len() > 2 || (!pips.is_empty() && active_active != (pips.len() == 2)) {
            bail!(
                BadRequest,
                "Virtual network gateway {} has {} public IP addresses: an active-standby gateway takes one, an active-active gateway two (--public-ip-addresses PIP1 PIP2).",
                id.name(),
                pips.len()
            );
        }
        if pips.len() == 2 && pips[0] == pips[1] {
            bail!(
                BadRequest,
                "The two instances of active-active gateway {} need two different public IP addresses; {} is given twice.",
                id.name(),
                pips[0].name()
            );
        }
        for (i, pip) in pips.iter().enumerate() {
            let config = id.child("ipConfigurations", &format!("vnetGatewayConfig{i}"));
            self.check_public_ip_for(pip, &config, location)?;
        }
        Ok(())
    }

    /// A public IP that `config` (an IP configuration) may take: it exists
    /// in the same region and no other configuration holds it.
    fn check_public_ip_for(
        &self,
        pip: &ResourceId,
        config: &ResourceId,
        location: &str,
    ) -> Result<PublicIpSku, AzureError> {
        let Some(p) = self.public_ip_addresses.get(pip).filter(|p| p.location == location) else {
            bail!(
                InvalidResourceReference,
                "Resource {pip} referenced by resource {config} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
            );
        };
        if let Some(other) = self.public_ip_holder(pip).filter(|h| h != config) {
            bail!(
                PublicIPAddressInUse,
                "IP configuration {config} is referencing public IP address {pip} that is already allocated to resource {other}."
            );
        }
        Ok(p.sku)
    }

    /// Peerings (in other VNets) that use `vnet`'s gateway or Route Server.
    fn peers_using_gateway_of(&self, vnet: &ResourceId) -> Vec<ResourceId> {
        self.virtual_networks
            .values()
            .flat_map(|v| v.peerings.iter())
            .filter(|p| &p.remote_virtual_network == vnet && p.use_remote_gateways)
            .map(|p| p.id.clone())
            .collect()
    }

    pub(super) fn put_local_gateway(&mut self, spec: LocalGatewaySpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "local network gateway", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), LNG_TYPE)?;
        keep_location(
            self.local_network_gateways.get(&id).map(|g| g.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        let gateway_ip_address = parse_ip(&spec.gateway_ip_address, "Gateway IP address")?;
        let mut prefixes = Vec::new();
        for p in &spec.local_address_prefixes {
            prefixes.push(parse_prefix(p, id.as_str())?);
        }
        if let Some(asn) = spec.asn {
            check_asn(asn, id.name())?;
        }
        let bgp_peering_address = spec
            .bgp_peering_address
            .as_deref()
            .map(|s| parse_ip(s, "BGP peering address"))
            .transpose()?;
        if prefixes.is_empty() && bgp_peering_address.is_none() {
            bail!(
                BadRequest,
                "Local network gateway {} needs address prefixes (--local-address-prefixes) or a BGP peering address.",
                id.name()
            );
        }
        let lng = LocalNetworkGateway {
            id: id.clone(),
            name: id.name().into(),
            location,
            gateway_ip_address,
            local_address_prefixes: prefixes,
            asn: spec.asn,
            bgp_peering_address,
        };
        self.local_network_gateways.insert(id, lng);
        Ok(())
    }

    pub(super) fn delete_local_gateway(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if !self.local_network_gateways.contains_key(id) {
            return Err(AzureError::resource_not_found(id));
        }
        if let Some(c) = self.connections.values().find(|c| &c.peer == id) {
            bail!(
                BadRequest,
                "Local network gateway {} is in use by connection {} and cannot be deleted. Delete the connection first.",
                id.name(),
                c.name
            );
        }
        self.local_network_gateways.remove(id);
        Ok(())
    }

    pub(super) fn put_connection(&mut self, spec: ConnectionSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "connection", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), CONN_TYPE)?;
        let Some(gw1) = self.virtual_network_gateways.get(&spec.virtual_network_gateway1) else {
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {id} was not found. Please make sure that the referenced resource exists.",
                spec.virtual_network_gateway1
            );
        };
        if gw1.gateway_type != GatewayType::Vpn {
            bail!(
                BadRequest,
                "Connection {} needs a VPN gateway; {} is an ExpressRoute gateway.",
                id.name(),
                gw1.name
            );
        }
        if spec.enable_bgp && !gw1.supports_transit() {
            bail!(
                BadRequest,
                "BGP is not supported on the Basic SKU of gateway {}. Use VpnGw1 or higher.",
                gw1.name
            );
        }
        let space1 = self
            .virtual_networks
            .get(&gw1.virtual_network)
            .map(|v| v.address_prefixes.clone())
            .unwrap_or_default();
        let remote_space = match spec.connection_type {
            ConnectionType::IPsec => {
                let Some(lng) = self.local_network_gateways.get(&spec.peer) else {
                    bail!(
                        InvalidResourceReference,
                        "Resource {} referenced by resource {id} was not found. Give a local network gateway as --local-gateway2.",
                        spec.peer
                    );
                };
                lng.local_address_prefixes.clone()
            }
            ConnectionType::Vnet2Vnet => {
                if spec.peer == spec.virtual_network_gateway1 {
                    bail!(
                        BadRequest,
                        "Connection {} connects gateway {} to itself. Give the other VNet's gateway as --vnet-gateway2.",
                        id.name(),
                        gw1.name
                    );
                }
                let Some(gw2) = self.virtual_network_gateways.get(&spec.peer) else {
                    bail!(
                        InvalidResourceReference,
                        "Resource {} referenced by resource {id} was not found. Give the other VNet's gateway as --vnet-gateway2.",
                        spec.peer
                    );
                };
                if let Some(g) = [gw1, gw2].into_iter().find(|g| g.vpn_type != VpnType::RouteBased) {
                    bail!(
                        BadRequest,
                        "Connection {} is VNet-to-VNet, which needs RouteBased gateways on both sides; {} is {:?}.",
                        id.name(),
                        g.name,
                        g.vpn_type
                    );
                }
                self.virtual_networks
                    .get(&gw2.virtual_network)
                    .map(|v| v.address_prefixes.clone())
                    .unwrap_or_default()
            }
        };
        let clash = overlapping(&space1, &remote_space);
        if !clash.is_empty() {
            bail!(
                BadRequest,
                "Connection {} would join address spaces that overlap ({}). A VPN connection needs non-overlapping address spaces on both sides.",
                id.name(),
                join(&clash)
            );
        }
        let conn = Connection {
            id: id.clone(),
            name: id.name().into(),
            location,
            connection_type: spec.connection_type,
            virtual_network_gateway1: spec.virtual_network_gateway1,
            peer: spec.peer,
            shared_key: spec.shared_key,
            enable_bgp: spec.enable_bgp,
        };
        self.connections.insert(id, conn);
        Ok(())
    }

    pub(super) fn delete_connection(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.connections.remove(id).is_none() {
            return Err(AzureError::resource_not_found(id));
        }
        Ok(())
    }

    pub(super) fn put_route_server(&mut self, spec: RouteServerSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "route server", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), RS_TYPE)?;
        let Some((vnet, subnet)) = self.subnet(&spec.hosted_subnet) else {
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {id} was not found. Please make sure that the referenced resource exists.",
                spec.hosted_subnet
            );
        };
        if !subnet.is_route_server_subnet() {
            bail!(
                BadRequest,
                "Route Server {} must be deployed in a subnet named RouteServerSubnet; '{}' is not. Create a RouteServerSubnet of /27 or larger.",
                id.name(),
                subnet.name
            );
        }
        if subnet.address_prefix.prefix_len() > 27 {
            bail!(
                BadRequest,
                "RouteServerSubnet {} of virtual network {} is too small for Route Server: it must be /27 or larger.",
                subnet.address_prefix,
                vnet.name
            );
        }
        if vnet.location != location {
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {id} was not found. Please make sure that both resources are in the same region.",
                spec.hosted_subnet
            );
        }
        if let Some(other) = self.route_server_of(&vnet.id).filter(|r| r.id != id) {
            bail!(
                BadRequest,
                "Virtual network {} already has Route Server {}; only one Route Server can be deployed per virtual network.",
                vnet.name,
                other.name
            );
        }
        if let Some(p) = vnet.peerings.iter().find(|p| p.use_remote_gateways) {
            bail!(
                BadRequest,
                "Virtual network {} uses the remote gateway of its peer through peering {}, so it cannot have a Route Server. Turn off useRemoteGateways first.",
                vnet.name,
                p.name
            );
        }
        // RFC 4271 §4.2: a hold time is zero or at least three seconds;
        // Route Server's sessions always keep one.
        if let Some(hold) = spec.bgp_hold_secs.filter(|h| *h < 3) {
            bail!(
                BadRequest,
                "bgpHoldSeconds {hold} of Route Server {} is too short: BGP needs a hold time of at least 3 seconds (Azure's is 180).",
                id.name()
            );
        }
        if let Some(pip) = &spec.public_ip_address
            && self.check_public_ip_for(pip, &id.child("ipConfigurations", "Default"), &location)?
                != PublicIpSku::Standard
        {
            bail!(
                BadRequest,
                "Route Server {} needs a Standard SKU public IP address; {} is Basic. Create one with az network public-ip create --sku Standard.",
                id.name(),
                pip.name()
            );
        }
        let (peerings, learned) = self
            .route_servers
            .get(&id)
            .map(|r| (r.peerings.clone(), r.learned.clone()))
            .unwrap_or_default();
        let rs = RouteServer {
            id: id.clone(),
            name: id.name().into(),
            location,
            hosted_subnet: spec.hosted_subnet,
            allow_branch_to_branch_traffic: spec.allow_branch_to_branch_traffic,
            peerings,
            public_ip_address: spec.public_ip_address,
            learned,
            bgp_hold_secs: spec.bgp_hold_secs,
        };
        self.route_servers.insert(id, rs);
        Ok(())
    }

    pub(super) fn delete_route_server(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let Some(rs) = self.route_servers.get(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        let vnet = rs.hosted_subnet.parent().unwrap_or_else(|| id.clone());
        if self.vpn_gateway_of(&vnet).is_none()
            && let Some(user) = self.peers_using_gateway_of(&vnet).first()
        {
            bail!(
                BadRequest,
                "Route Server {} cannot be deleted because peering {user} uses it as remote gateway. Turn off useRemoteGateways on that peering first.",
                rs.name
            );
        }
        self.route_servers.remove(id);
        Ok(())
    }

    pub(super) fn put_route_server_peering(&mut self, spec: RouteServerPeeringSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "route server peering", &id)?;
        let rs_id = id.parent().ok_or_else(|| {
            AzureError::new(
                ErrorCode::InvalidRequestFormat,
                format!("{id} is not a Route Server peering ID."),
            )
        })?;
        let Some(rs) = self.route_servers.get(&rs_id) else {
            return Err(AzureError::resource_not_found(&rs_id));
        };
        if spec.peer_asn > 65535 {
            bail!(
                BadRequest,
                "Peer ASN {} of {} must be a 16-bit ASN (1-65535) for Route Server.",
                spec.peer_asn,
                id.name()
            );
        }
        check_asn(spec.peer_asn, id.name())?;
        let peer_ip = parse_ip(&spec.peer_ip, "Peer IP")?;
        let vnet_id = rs.hosted_subnet.parent().unwrap_or_else(|| rs_id.clone());
        let reachable = std::iter::once(vnet_id.clone())
            .chain(self.peers_of(&vnet_id))
            .filter_map(|v| self.virtual_networks.get(&v))
            .any(|v| v.contains(peer_ip));
        if !reachable {
            bail!(
                BadRequest,
                "Peer IP {peer_ip} of {} is neither in the Route Server's virtual network nor in a peered one. Give the NVA's private IP.",
                id.name()
            );
        }
        let mut advertised = Vec::new();
        for p in &spec.advertised_prefixes {
            advertised.push(parse_prefix(p, id.as_str())?);
        }
        let others = rs
            .peerings
            .iter()
            .filter(|p| !p.name.eq_ignore_ascii_case(id.name()))
            .count();
        if others >= 8 {
            bail!(
                BadRequest,
                "Route Server {} already has 8 BGP peers, the most it supports.",
                rs.name
            );
        }
        let peering = RouteServerPeering {
            name: id.name().into(),
            peer_ip,
            peer_asn: spec.peer_asn,
            advertised_prefixes: advertised,
        };
        let rs = self
            .route_servers
            .get_mut(&rs_id)
            .ok_or_else(|| AzureError::resource_not_found(&rs_id))?;
        rs.peerings.retain(|p| !p.name.eq_ignore_ascii_case(id.name()));
        rs.peerings.push(peering);
        Ok(())
    }

    /// What the live speakers of Route Server `id` learned, replacing
    /// what they learned before. Paths from a peer the Route Server has no
    /// peering with are not kept (its speakers would not have a session).
    pub(super) fn set_route_server_learned(
        &mut self,
        id: &ResourceId,
        mut routes: Vec<LearnedRoute>,
    ) -> Result<(), AzureError> {
        let Some(rs) = self.route_servers.get_mut(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        routes.retain(|r| rs.peerings.iter().any(|p| p.peer_ip == r.source_peer));
        routes.sort();
        routes.dedup();
        rs.learned = routes;
        Ok(())
    }

    pub(super) fn delete_route_server_peering(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        match id.parent().and_then(|r| self.route_servers.get_mut(&r)) {
            Some(rs) if rs.peerings.iter().any(|p| p.name.eq_ignore_ascii_case(id.name())) => {
                rs.peerings.retain(|p| !p.name.eq_ignore_ascii_case(id.name()));
                Ok(())
            }
            _ => bail!(NotFound, "Route Server peering {id} was not found."),
        }
    }
}
