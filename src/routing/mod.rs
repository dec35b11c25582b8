//! Effective routes (azure-semantics §2, §3, §6, §7).
//!
//! `effective_routes` computes, for one subnet, the table Azure programs
//! into every NIC of it: the system routes, peering routes, routes from a
//! VPN gateway or Route Server, and user-defined routes, with the losers
//! of route selection kept as `Invalid` rows exactly as
//! `az network nic show-effective-route-table` prints them.
//!
//! Selection, written once:
//!
//! | step | rule |
//! |---|---|
//! | 1 | longest prefix match on the destination |
//! | 2 | equal prefixes: User > VirtualNetworkGateway (BGP) > Default |
//! | 3 | BGP never overrides VNet or peering routes, even when more specific: such gateway routes are not programmed |
//! | 4 | a 0/0 User or BGP route to an appliance or gateway removes the reserved `None` routes |

pub mod bgp;
mod effective;
mod gateway;
mod lpm;

pub use effective::{EffectiveRoute, Hop, RouteSource, RouteState, effective_routes, virtual_network_tag};
pub use gateway::{GatewayKind, GatewayRef, NoGateway, gateway_context, serving_gateway, site_route_for, site_routes};
pub use lpm::Lpm;
