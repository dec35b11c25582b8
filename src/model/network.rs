//! Virtual networks, subnets and peerings (azure-semantics §1, §4).

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetwork {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub address_prefixes: Vec<Ipv4Net>,
    pub subnets: Vec<Subnet>,
    pub peerings: Vec<Peering>,
    /// Idle timeout of tracked flows; Azure's default is 4 minutes.
    pub flow_timeout_in_minutes: Option<u32>,
    /// `dhcpOptions.dnsServers`; empty means Azure-provided DNS.
    #[serde(default)]
    pub dns_servers: Vec<std::net::Ipv4Addr>,
}

impl VirtualNetwork {
    pub fn subnet(&self, name: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn peering(&self, name: &str) -> Option<&Peering> {
        self.peerings.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn contains(&self, ip: std::net::Ipv4Addr) -> bool {
        self.address_prefixes.iter().any(|p| p.contains(&ip))
    }
}

/// Subnets whose names Azure gives a special meaning.
pub const GATEWAY_SUBNET: &str = "GatewaySubnet";
pub const ROUTE_SERVER_SUBNET: &str = "RouteServerSubnet";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: ResourceId,
    pub name: String,
    pub address_prefix: Ipv4Net,
    pub network_security_group: Option<ResourceId>,
    pub route_table: Option<ResourceId>,
    /// `false` makes a private subnet: no implicit Internet egress (§10).
    pub default_outbound_access: bool,
}

impl Subnet {
    pub fn is_gateway_subnet(&self) -> bool {
        self.name.eq_ignore_ascii_case(GATEWAY_SUBNET)
    }
    pub fn is_route_server_subnet(&self) -> bool {
        self.name.eq_ignore_ascii_case(ROUTE_SERVER_SUBNET)
    }
}

/// One direction of a peering, stored in the local VNet (§4.1).
///
/// Its state is never stored: `Model::peering_state` derives it from
/// whether the reverse link exists. `disconnected_when_alone` is the one
/// piece of history the derivation needs, and only the model sets it: once
/// the link has been Connected, or its remote VNet has been deleted, a link
/// without a partner is Disconnected rather than Initiated (§4.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peering {
    pub id: ResourceId,
    pub name: String,
    pub remote_virtual_network: ResourceId,
    pub allow_virtual_network_access: bool,
    pub allow_forwarded_traffic: bool,
    pub allow_gateway_transit: bool,
    pub use_remote_gateways: bool,
    /// The remote VNet's address space as of the last sync: what routes and
    /// the VirtualNetwork tag use until the peering is synced again (§4.6).
    pub remote_address_space: Vec<Ipv4Net>,
    pub disconnected_when_alone: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeeringState {
    Initiated,
    Connected,
    Disconnected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeeringSyncLevel {
    FullyInSync,
    RemoteNotInSync,
    LocalNotInSync,
    LocalAndRemoteNotInSync,
}

impl PeeringState {
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringState::Initiated => "Initiated",
            PeeringState::Connected => "Connected",
            PeeringState::Disconnected => "Disconnected",
        }
    }
}

impl PeeringSyncLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringSyncLevel::FullyInSync => "FullyInSync",
            PeeringSyncLevel::RemoteNotInSync => "RemoteNotInSync",
            PeeringSyncLevel::LocalNotInSync => "LocalNotInSync",
            PeeringSyncLevel::LocalAndRemoteNotInSync => "LocalAndRemoteNotInSync",
        }
    }
}
