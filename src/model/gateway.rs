//! VPN gateways, local network gateways, connections and Route Server
//! (azure-semantics §6, §7).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

/// Azure's ASN for its gateways and Route Server.
pub const AZURE_ASN: u32 = 65515;

/// ASNs Azure reserves and refuses for customer BGP speakers [DOC FAQ].
pub fn is_reserved_asn(asn: u32) -> bool {
    matches!(asn, 8074 | 8075 | 12076 | 65515 | 65517..=65520 | 23456 | 64496..=64511 | 65535..=65551)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayType {
    Vpn,
    ExpressRoute,
}

/// How a VPN gateway picks traffic for its tunnels (§6). PolicyBased is
/// Basic-only and cannot do VNet-to-VNet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VpnType {
    #[default]
    RouteBased,
    PolicyBased,
}

/// The generations az accepts for `--vpn-gateway-generation`.
pub const VPN_GATEWAY_GENERATIONS: &[&str] = &["Generation1", "Generation2", "None"];

/// The CLI's SKU names. Basic has no BGP and no gateway transit.
pub const GATEWAY_SKUS: &[&str] = &[
    "Basic",
    "Standard",
    "HighPerformance",
    "UltraPerformance",
    "VpnGw1",
    "VpnGw2",
    "VpnGw3",
    "VpnGw4",
    "VpnGw5",
    "VpnGw1AZ",
    "VpnGw2AZ",
    "VpnGw3AZ",
    "VpnGw4AZ",
    "VpnGw5AZ",
    "ErGw1AZ",
    "ErGw2AZ",
    "ErGw3AZ",
    "ErGwScale",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkGateway {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub virtual_network: ResourceId,
    pub gateway_type: GatewayType,
    pub sku: String,
    pub active_active: bool,
    pub enable_bgp: bool,
    pub asn: u32,
    /// One public IP per instance (two when active-active). Gateways built
    /// from a topology file may have none: vnetlab needs no public address
    /// to emulate them.
    #[serde(default)]
    pub public_ip_addresses: Vec<ResourceId>,
    #[serde(default)]
    pub vpn_type: VpnType,
    /// Recorded as given (Generation1, Generation2 or None), not emulated.
    #[serde(default)]
    pub vpn_gateway_generation: Option<String>,
}

impl VirtualNetworkGateway {
    /// Basic VPN gateways cannot be used for gateway transit [DOC].
    pub fn supports_transit(&self) -> bool {
        !self.sku.eq_ignore_ascii_case("Basic")
    }

    /// The ID of the gateway's `i`th IP configuration, named as az names
    /// them (`vnetGatewayConfig0`, `vnetGatewayConfig1`).
    pub fn ip_configuration_id(&self, i: usize) -> ResourceId {
        self.id.child("ipConfigurations", &format!("vnetGatewayConfig{i}"))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalNetworkGateway {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    /// The on-premises VPN device's public address.
    pub gateway_ip_address: Ipv4Addr,
    pub local_address_prefixes: Vec<Ipv4Net>,
    pub asn: Option<u32>,
    pub bgp_peering_address: Option<Ipv4Addr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionType {
    IPsec,
    Vnet2Vnet,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub connection_type: ConnectionType,
    pub virtual_network_gateway1: ResourceId,
    /// The remote VNet gateway (Vnet2Vnet) or the local network gateway (IPsec).
    pub peer: ResourceId,
    pub shared_key: Option<String>,
    pub enable_bgp: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServer {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    /// The RouteServerSubnet it lives in.
    pub hosted_subnet: ResourceId,
    pub allow_branch_to_branch_traffic: bool,
    pub peerings: Vec<RouteServerPeering>,
    /// The Standard public IP Azure uses to manage Route Server; none for
    /// Route Servers built from a topology file.
    #[serde(default)]
    pub public_ip_address: Option<ResourceId>,
    /// What its two BGP speakers learned from the NVAs, as the live lab
    /// last read them: state of the running lab, not configuration (a
    /// topology file never sets it; the daemon replaces it whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learned: Vec<LearnedRoute>,
    /// The BGP hold time of its sessions when a lab wants failures found
    /// sooner than Azure's 180 s (a topology file's `bgpHoldSeconds`; not
    /// an Azure property). None: Azure's timers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp_hold_secs: Option<u16>,
}

impl RouteServer {
    /// The ID of its one IP configuration, as az names it.
    pub fn ip_configuration_id(&self) -> ResourceId {
        self.id.child("ipConfigurations", "Default")
    }

    /// The ID vnetlab gives Route Server instance `i` (0 or 1): Azure runs
    /// two, `RouteServiceRole_IN_0` and `_IN_1`, one per instance IP.
    pub fn instance_id(&self, i: usize) -> ResourceId {
        self.id.child("instances", &i.to_string())
    }
}

/// One path a Route Server instance learned over BGP from an NVA.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnedRoute {
    /// The Route Server instance (0 or 1) that holds the path.
    pub instance: u8,
    pub prefix: Ipv4Net,
    /// The BGP next hop: where the VMs' traffic goes.
    pub next_hop: Ipv4Addr,
    /// The session's peer that sent it.
    pub source_peer: Ipv4Addr,
    /// The AS path as received, nearest AS first.
    pub as_path: Vec<u32>,
    /// Carries the well-known community NO_ADVERTISE (65535:65282).
    #[serde(default)]
    pub no_advertise: bool,
}

/// A BGP session between Route Server and an NVA.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerPeering {
    pub name: String,
    pub peer_ip: Ipv4Addr,
    pub peer_asn: u32,
    /// What the NVA at `peer_ip` announces over this session. The pure
    /// engine takes it as given; Route Server programs it into the VNet and
    /// its remote-gateway peers (§7).
    pub advertised_prefixes: Vec<Ipv4Net>,
}
