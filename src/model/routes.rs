//! Route tables and user-defined routes (azure-semantics §3).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTable {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    /// Portal "Propagate gateway routes = No": subnets using this table get
    /// no VirtualNetworkGateway-sourced routes (§2.5).
    pub disable_bgp_route_propagation: bool,
    pub routes: Vec<Route>,
}

impl RouteTable {
    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub name: String,
    pub address_prefix: Ipv4Net,
    pub next_hop_type: NextHopType,
    pub next_hop_ip_address: Option<Ipv4Addr>,
}

/// Next-hop types, as effective routes print them (§2.3). The first five
/// are the ones a user may put in a route; Azure alone creates the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NextHopType {
    VnetLocal,
    Internet,
    None,
    VirtualAppliance,
    VirtualNetworkGateway,
    VNetPeering,
    VNetGlobalPeering,
    /// A private endpoint's /32 (system routes only).
    InterfaceEndpoint,
}

impl NextHopType {
    pub const USER_SETTABLE: [NextHopType; 5] = [
        NextHopType::VnetLocal,
        NextHopType::Internet,
        NextHopType::None,
        NextHopType::VirtualAppliance,
        NextHopType::VirtualNetworkGateway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NextHopType::VnetLocal => "VnetLocal",
            NextHopType::Internet => "Internet",
            NextHopType::None => "None",
            NextHopType::VirtualAppliance => "VirtualAppliance",
            NextHopType::VirtualNetworkGateway => "VirtualNetworkGateway",
            NextHopType::VNetPeering => "VNetPeering",
            NextHopType::VNetGlobalPeering => "VNetGlobalPeering",
            NextHopType::InterfaceEndpoint => "InterfaceEndpoint",
        }
    }

    pub fn parse(s: &str) -> Option<NextHopType> {
        Self::USER_SETTABLE
            .into_iter()
            .chain([NextHopType::VNetPeering, NextHopType::VNetGlobalPeering])
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for NextHopType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
