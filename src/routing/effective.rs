//! Effective routes of a subnet and its VirtualNetwork service tag.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::gateway::{GatewayRef, NoGateway, learned_routes, serving_gateway};
use crate::model::{AZURE_HOST_IP, Model, NextHopType, PeeringState, RESERVED_NONE_PREFIXES, ResourceId, regions};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum RouteSource {
    Default,
    VirtualNetworkGateway,
    User,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RouteState {
    Active,
    Invalid,
}

/// Where a route sends a packet, resolved against the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hop {
    /// Inside `vnet` (the subnet's own VNet, or the hub in a gateway context).
    VnetLocal {
        vnet: ResourceId,
    },
    /// Into a peered VNet over the local `link`.
    Peering {
        vnet: ResourceId,
        link: ResourceId,
        global: bool,
    },
    Internet,
    /// Next hop `None`: Azure drops the packet.
    Drop,
    /// An NVA's NIC (UDR VirtualAppliance, or an NVA's route learned by
    /// Route Server). Several addresses mean ECMP.
    Appliance {
        ips: Vec<Ipv4Addr>,
    },
    /// A VPN gateway or Route Server that forwards in its VNet's context.
    Gateway(GatewayRef),
    /// A UDR to VirtualNetworkGateway with no gateway to use.
    NoGateway(NoGateway),
    /// Behind a site-to-site connection (gateway contexts only).
    Site {
        connection: ResourceId,
    },
    /// Through a VNet-to-VNet connection into `vnet` (gateway contexts only).
    Vnet2Vnet {
        connection: ResourceId,
        vnet: ResourceId,
    },
    /// A private endpoint's /32: over the backbone to its service.
    InterfaceEndpoint {
        endpoint: ResourceId,
    },
}

/// One row of `az network nic show-effective-route-table`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveRoute {
    /// The UDR's name; `None` for system routes.
    pub name: Option<String>,
    pub source: RouteSource,
    pub state: RouteState,
    pub address_prefix: Ipv4Net,
    pub next_hop_type: NextHopType,
    pub next_hop_ips: Vec<Ipv4Addr>,
    /// The route table that holds a UDR (Network Watcher's routeTableId).
    pub route_table: Option<ResourceId>,
    pub hop: Hop,
}

fn row(source: RouteSource, prefix: Ipv4Net, hop_type: NextHopType, ips: Vec<Ipv4Addr>, hop: Hop) -> EffectiveRoute {
    EffectiveRoute {
        name: None,
        source,
        state: RouteState::Active,
        address_prefix: prefix,
        next_hop_type: hop_type,
        next_hop_ips: ips,
        route_table: None,
        hop,
    }
}

/// The effective routes of every NIC in `subnet_id`, in the order az prints
/// them: VNet, peerings, gateway routes, Internet, None, then user routes.
pub fn effective_routes(model: &Model, subnet_id: &ResourceId) -> Vec<EffectiveRoute> {
    let Some((vnet, subnet)) = model.subnet(subnet_id) else {
        return vec![];
    };
    let rt = subnet.route_table.as_ref().and_then(|id| model.route_tables.get(id));
    let mut rows = Vec::new();

    for p in &vnet.address_prefixes {
        rows.push(row(
            RouteSource::Default,
            *p,
            NextHopType::VnetLocal,
            vec![],
            Hop::VnetLocal { vnet: vnet.id.clone() },
        ));
    }
    // Azure: peering routes exist only while both links are Connected, for
    // the remote space as of the last sync; they are never re-advertised,
    // which is why peering is not transitive.
    let mut peered: Vec<Ipv4Net> = Vec::new();
    for link in vnet
        .peerings
        .iter()
        .filter(|l| model.peering_state(&vnet.id, l) == PeeringState::Connected)
    {
        let global = model
            .virtual_networks
            .get(&link.remote_virtual_network)
            .is_some_and(|r| regions::normalize(&r.location) != regions::normalize(&vnet.location));
        let t = if global {
            NextHopType::VNetGlobalPeering
        } else {
            NextHopType::VNetPeering
        };
        for p in &link.remote_address_space {
            peered.push(*p);
            let hop = Hop::Peering {
                vnet: link.remote_virtual_network.clone(),
                link: link.id.clone(),
                global,
            };
            rows.push(row(RouteSource::Default, *p, t, vec![], hop));
        }
    }
    let vnet_like: Vec<Ipv4Net> = vnet.address_prefixes.iter().chain(&peered).copied().collect();
    // Azure: a private endpoint adds a /32 InterfaceEndpoint route in its
    // own VNet and in the VNets peered with it.
    let linked = |pe_vnet: &ResourceId| {
        *pe_vnet == vnet.id
            || vnet.peerings.iter().any(|l| {
                &l.remote_virtual_network == pe_vnet && model.peering_state(&vnet.id, l) == PeeringState::Connected
            })
    };
    for pe in model
        .private_endpoints
        .values()
        .filter(|pe| pe.subnet.parent().is_some_and(|v| linked(&v)))
    {
        let hop = Hop::InterfaceEndpoint {
            endpoint: pe.id.clone(),
        };
        rows.push(row(
            RouteSource::Default,
            Ipv4Net::from(pe.private_ip_address),
            NextHopType::InterfaceEndpoint,
            vec![],
            hop,
        ));
    }

    let propagate = !rt.is_some_and(|t| t.disable_bgp_route_propagation);
    let gateway = serving_gateway(model, &vnet.id);
    if let (true, Ok(gw)) = (propagate, &gateway) {
        for (prefix, ips, hop) in learned_routes(model, gw) {
            // BGP cannot override VNet or peering routes, nor program
            // prefixes inside them (§2.4.3, §7).
            if vnet_like.iter().any(|v| v.contains(&prefix)) {
                continue;
            }
            rows.push(row(
                RouteSource::VirtualNetworkGateway,
                prefix,
                NextHopType::VirtualNetworkGateway,
                ips,
                hop,
            ));
        }
    }

    rows.push(row(
        RouteSource::Default,
        Ipv4Net::default(),
        NextHopType::Internet,
        vec![],
        Hop::Internet,
    ));
    // Azure: a reserved range equal to a VNet range turns into that
    // VnetLocal route; one contained in a VNet range disappears; one that
    // contains a VNet range stays as None. vnetlab applies the same to
    // peered ranges so that a peer covering a reserved range is reachable.
    for r in RESERVED_NONE_PREFIXES {
        if vnet_like.iter().any(|v| v.contains(&r)) {
            continue;
        }
        rows.push(row(RouteSource::Default, r, NextHopType::None, vec![], Hop::Drop));
    }

    if let Some(t) = rt {
        for r in &t.routes {
            let (hop, ips) = match r.next_hop_type {
                NextHopType::VnetLocal => (Hop::VnetLocal { vnet: vnet.id.clone() }, vec![]),
                NextHopType::Internet => (Hop::Internet, vec![]),
                NextHopType::None => (Hop::Drop, vec![]),
                NextHopType::VirtualAppliance => {
                    let ips: Vec<Ipv4Addr> = r.next_hop_ip_address.into_iter().collect();
                    (Hop::Appliance { ips: ips.clone() }, ips)
                }
                NextHopType::VirtualNetworkGateway => match &gateway {
                    Ok(g) => (Hop::Gateway(g.clone()), vec![]),
                    Err(why) => (Hop::NoGateway(why.clone()), vec![]),
                },
                NextHopType::VNetPeering | NextHopType::VNetGlobalPeering | NextHopType::InterfaceEndpoint => continue,
            };
            let mut e = row(RouteSource::User, r.address_prefix, r.next_hop_type, ips, hop);
            e.name = Some(r.name.clone());
            e.route_table = Some(t.id.clone());
            rows.push(e);
        }
    }
    select(rows)
}

/// Marks the losers of equal-prefix contests Invalid and applies the
/// forced-tunnelling rule for the reserved None routes.
fn select(mut rows: Vec<EffectiveRoute>) -> Vec<EffectiveRoute> {
    let best =
        |p: Ipv4Net, rows: &[EffectiveRoute]| rows.iter().filter(|r| r.address_prefix == p).map(|r| r.source).max();
    let winners: Vec<Option<RouteSource>> = rows.iter().map(|r| best(r.address_prefix, &rows)).collect();
    for (r, w) in rows.iter_mut().zip(winners) {
        if Some(r.source) != w {
            r.state = RouteState::Invalid;
        }
    }
    let forced = rows.iter().any(|r| {
        r.state == RouteState::Active
            && r.address_prefix.prefix_len() == 0
            && r.source != RouteSource::Default
            && matches!(
                r.next_hop_type,
                NextHopType::VirtualAppliance | NextHopType::VirtualNetworkGateway
            )
    });
    if forced {
        // Azure: with a 0/0 to an appliance or gateway, the reserved None
        // routes disappear and private destinations follow the 0/0.
        rows.retain(|r| {
            !(r.source == RouteSource::Default
                && r.next_hop_type == NextHopType::None
                && RESERVED_NONE_PREFIXES.contains(&r.address_prefix))
        });
    }
    rows
}

/// The `VirtualNetwork` service tag as NSGs in this subnet see it (§5.4):
/// the VNet, peers whose local link allows virtual network access, what
/// the gateway brings in, every UDR prefix, and the Azure host address.
pub fn virtual_network_tag(model: &Model, subnet_id: &ResourceId, routes: &[EffectiveRoute]) -> Vec<Ipv4Net> {
    let Some((vnet, _)) = model.subnet(subnet_id) else {
        return vec![];
    };
    let mut tag: Vec<Ipv4Net> = vnet.address_prefixes.clone();
    for link in vnet
        .peerings
        .iter()
        .filter(|l| l.allow_virtual_network_access && model.peering_state(&vnet.id, l) == PeeringState::Connected)
    {
        tag.extend(link.remote_address_space.iter().copied());
    }
    for r in routes
        .iter()
        .filter(|r| matches!(r.source, RouteSource::VirtualNetworkGateway | RouteSource::User))
    {
        tag.push(r.address_prefix);
    }
    tag.push(Ipv4Net::from(AZURE_HOST_IP));
    tag.sort();
    tag.dedup();
    tag
}
