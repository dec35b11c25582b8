//! Which gateway serves a VNet, and where a gateway forwards.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::Hop;
use crate::model::{ConnectionType, Model, PeeringState, ResourceId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayKind {
    Vpn,
    RouteServer,
}

/// A gateway (VPN gateway or Route Server) a VNet's traffic can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayRef {
    /// The VNet the gateway lives in: the VNet itself, or the hub whose
    /// gateway it uses through `useRemoteGateways`.
    pub vnet: ResourceId,
    pub kind: GatewayKind,
    /// The gateway or Route Server resource.
    pub id: ResourceId,
    /// The peering link used to reach it, when it is a remote one.
    pub via: Option<ResourceId>,
}

/// Why a VNet has no gateway to send to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoGateway {
    /// No gateway, no Route Server, no peering that uses a remote one.
    None,
    /// The spoke link uses remote gateways but the hub's link back does
    /// not allow gateway transit.
    TransitNotAllowed {
        hub_link: Option<ResourceId>,
        spoke_link: ResourceId,
    },
    /// The peering that would reach the remote gateway is not Connected.
    PeeringNotConnected { spoke_link: ResourceId },
    /// Basic VPN gateways cannot be used for transit [DOC].
    BasicSku { gateway: ResourceId },
}

/// The gateway that serves `vnet`: its own VPN gateway or Route Server, or
/// the hub's one reached through a peering with `useRemoteGateways` whose
/// partner link allows gateway transit (§4.4).
pub fn serving_gateway(model: &Model, vnet: &ResourceId) -> Result<GatewayRef, NoGateway> {
    if let Some(g) = model.vpn_gateway_of(vnet) {
        return Ok(GatewayRef {
            vnet: vnet.clone(),
            kind: GatewayKind::Vpn,
            id: g.id.clone(),
            via: None,
        });
    }
    if let Some(rs) = model.route_server_of(vnet) {
        return Ok(GatewayRef {
            vnet: vnet.clone(),
            kind: GatewayKind::RouteServer,
            id: rs.id.clone(),
            via: None,
        });
    }
    let Some(v) = model.virtual_networks.get(vnet) else {
        return Err(NoGateway::None);
    };
    let Some(link) = v.peerings.iter().find(|p| p.use_remote_gateways) else {
        return Err(NoGateway::None);
    };
    if model.peering_state(vnet, link) != PeeringState::Connected {
        return Err(NoGateway::PeeringNotConnected {
            spoke_link: link.id.clone(),
        });
    }
    let hub = &link.remote_virtual_network;
    let back = model.link(hub, vnet);
    if !back.is_some_and(|b| b.allow_gateway_transit) {
        return Err(NoGateway::TransitNotAllowed {
            hub_link: back.map(|b| b.id.clone()),
            spoke_link: link.id.clone(),
        });
    }
    if let Some(g) = model.vpn_gateway_of(hub) {
        if !g.supports_transit() {
            return Err(NoGateway::BasicSku { gateway: g.id.clone() });
        }
        return Ok(GatewayRef {
            vnet: hub.clone(),
            kind: GatewayKind::Vpn,
            id: g.id.clone(),
            via: Some(link.id.clone()),
        });
    }
    if let Some(rs) = model.route_server_of(hub) {
        return Ok(GatewayRef {
            vnet: hub.clone(),
            kind: GatewayKind::RouteServer,
            id: rs.id.clone(),
            via: Some(link.id.clone()),
        });
    }
    Err(NoGateway::None)
}

/// VNets that use `hub`'s gateway through transit, with the hub's link to
/// each and that link's snapshot of the spoke's address space.
pub(crate) fn transit_spokes<'m>(
    model: &'m Model,
    hub: &ResourceId,
) -> Vec<(&'m ResourceId, &'m [Ipv4Net], &'m ResourceId)> {
    let Some(h) = model.virtual_networks.get(hub) else {
        return vec![];
    };
    h.peerings
        .iter()
        .filter(|p| p.allow_gateway_transit && model.peering_state(hub, p) == PeeringState::Connected)
        .filter(|p| {
            model
                .link(&p.remote_virtual_network, hub)
                .is_some_and(|b| b.use_remote_gateways)
        })
        .map(|p| (&p.remote_virtual_network, p.remote_address_space.as_slice(), &p.id))
        .collect()
}

/// What the gateway in `hub` forwards where: the hub's own ranges, the
/// spokes that use it through transit, and for a VPN gateway the
/// prefixes behind each Connected connection. Route Server carries no
/// traffic in Azure; vnetlab forwards what reaches it "in the hub's
/// context", which is what the field scenario of §12.2 observes.
pub fn gateway_context(model: &Model, hub: &ResourceId) -> Vec<(Ipv4Net, Hop)> {
    let mut out = Vec::new();
    let Some(h) = model.virtual_networks.get(hub) else {
        return out;
    };
    for p in &h.address_prefixes {
        out.push((*p, Hop::VnetLocal { vnet: hub.clone() }));
    }
    let basic = model.vpn_gateway_of(hub).is_some_and(|g| !g.supports_transit());
    if !basic {
        for (spoke, space, link) in transit_spokes(model, hub) {
            for p in space {
                out.push((
                    *p,
                    Hop::Peering {
                        vnet: spoke.clone(),
                        link: link.clone(),
                        global: false,
                    },
                ));
            }
        }
    }
    if let Some(g) = model.vpn_gateway_of(hub) {
        for c in model
            .connections
            .values()
            .filter(|c| c.virtual_network_gateway1 == g.id && model.connection_connected(c))
        {
            match c.connection_type {
                ConnectionType::IPsec => {
                    if let Some(lng) = model.local_network_gateways.get(&c.peer) {
                        for p in &lng.local_address_prefixes {
                            out.push((
                                *p,
                                Hop::Site {
                                    connection: c.id.clone(),
                                },
                            ));
                        }
                    }
                }
                ConnectionType::Vnet2Vnet => {
                    if let Some(remote) = model
                        .virtual_network_gateways
                        .get(&c.peer)
                        .and_then(|g2| model.virtual_networks.get(&g2.virtual_network))
                    {
                        for p in &remote.address_prefixes {
                            out.push((
                                *p,
                                Hop::Vnet2Vnet {
                                    connection: c.id.clone(),
                                    vnet: remote.id.clone(),
                                },
                            ));
                        }
                    }
                }
            }
        }
        if let Some(rs) = model.route_server_of(hub) {
            // Branch-to-branch: the gateway learns the NVAs' routes from
            // Route Server and forwards what its sites send there to the
            // NVA, as the VMs would. System routes (the VNet's and the
            // spokes' ranges) and the sites' own prefixes stay as they are.
            for sel in super::bgp::to_gateway(rs) {
                let taken = out.iter().any(|(p, h)| {
                    *p == sel.prefix
                        || (matches!(h, Hop::VnetLocal { .. } | Hop::Peering { .. }) && p.contains(&sel.prefix))
                });
                if !taken {
                    out.push((sel.prefix, Hop::Appliance { ips: sel.next_hops }));
                }
            }
        }
    }
    out
}

/// Gateway-learned prefixes with their next-hop IPs, as programmed into
/// the subnets that `gw` serves: a VPN gateway's connection prefixes and
/// the routes NVAs announce to a Route Server in the same VNet.
pub(crate) fn learned_routes(model: &Model, gw: &GatewayRef) -> Vec<(Ipv4Net, Vec<Ipv4Addr>, Hop)> {
    let mut out: Vec<(Ipv4Net, Vec<Ipv4Addr>, Hop)> = Vec::new();
    if let Some(g) = model
        .vpn_gateway_of(&gw.vnet)
        .filter(|g| gw.via.is_none() || g.supports_transit())
    {
        let ips = model.gateway_instance_ips(g);
        let ips: Vec<Ipv4Addr> = if g.active_active {
            ips
        } else {
            ips.into_iter().take(1).collect()
        };
        let vpn = GatewayRef {
            vnet: gw.vnet.clone(),
            kind: GatewayKind::Vpn,
            id: g.id.clone(),
            via: gw.via.clone(),
        };
        for (prefix, hop) in gateway_context(model, &gw.vnet) {
            if matches!(hop, Hop::Site { .. } | Hop::Vnet2Vnet { .. }) {
                out.push((prefix, ips.clone(), Hop::Gateway(vpn.clone())));
            }
        }
    }
    if let Some(rs) = model.route_server_of(&gw.vnet) {
        // Equal prefixes from several NVAs come as one route with their
        // next hops (ECMP), the shortest AS path only (§3.3).
        for sel in super::bgp::select(&super::bgp::paths(rs)) {
            out.push((sel.prefix, sel.next_hops.clone(), Hop::Appliance { ips: sel.next_hops }));
        }
    }
    out
}

/// What the on-premises router behind local network gateway `lng` sends
/// into each of its connections: the prefixes the Azure gateway at the
/// other end advertises — its VNet's space and the spokes that use it
/// through gateway transit (§6: "on-prem receives the spoke prefixes"),
/// and with Route Server's branch-to-branch on, the NVAs' routes (§3.4).
/// BGP would teach the router exactly these; with static routing its
/// admin would type them. A Basic gateway offers no transit, so no
/// spokes; a connection that is not Connected carries nothing.
pub fn site_routes(model: &Model, lng: &ResourceId) -> Vec<(Ipv4Net, ResourceId)> {
    let mut out = Vec::new();
    for c in model
        .connections
        .values()
        .filter(|c| c.connection_type == ConnectionType::IPsec && &c.peer == lng && model.connection_connected(c))
    {
        let Some(g) = model.virtual_network_gateways.get(&c.virtual_network_gateway1) else {
            continue;
        };
        for (prefix, hop) in gateway_context(model, &g.virtual_network) {
            let advertised = matches!(hop, Hop::VnetLocal { .. } | Hop::Peering { .. } | Hop::Appliance { .. });
            if advertised && !out.iter().any(|(p, _)| *p == prefix) {
                out.push((prefix, c.id.clone()));
            }
        }
    }
    out
}

/// The route the on-premises router behind `lng` takes to `dst`: the
/// longest learned prefix holding it, and the connection it goes into.
pub fn site_route_for(model: &Model, lng: &ResourceId, dst: Ipv4Addr) -> Option<(Ipv4Net, ResourceId)> {
    site_routes(model, lng)
        .into_iter()
        .filter(|(p, _)| p.contains(&dst))
        .max_by_key(|(p, _)| p.prefix_len())
}
