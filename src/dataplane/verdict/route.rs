//! Routing: the LPM lookup in a subnet's (or gateway's) table, the hop it
//! leads to, peering rules on the way, NVAs and gateways (with loop
//! protection). A NIC receives only while its VM runs.

use std::net::Ipv4Addr;

use super::{Decision, DropReason, Observer, RouteCtx, Step, Target};
use crate::dataplane::index::{LinkIdx, NicIdx, RouteIdx, VnetIdx};
use crate::dataplane::packet::FlowKey;
use crate::dataplane::tables::CHop;

/// Gateways forwarding into gateways: more hops than this is a loop.
const MAX_GATEWAY_HOPS: u8 = 4;

impl<O: Observer> Decision<'_, O> {
    /// Looks the destination up in `ctx` (whose VNet is `vnet`) and follows
    /// the hop to a NIC, the Internet or a site. A NIC receives only while
    /// its VM runs, whichever hop led to it.
    pub(super) fn route(
        &mut self,
        ctx: RouteCtx,
        vnet: VnetIdx,
        via_gateway: bool,
        depth: u8,
    ) -> Result<Target, DropReason> {
        let target = self.follow(ctx, vnet, via_gateway, depth)?;
        match target {
            Target::Nic { nic, .. } if !self.t.nics[nic].running => Err(DropReason::VmNotRunning { nic }),
            _ => Ok(target),
        }
    }

    pub(super) fn follow(
        &mut self,
        ctx: RouteCtx,
        vnet: VnetIdx,
        via_gateway: bool,
        depth: u8,
    ) -> Result<Target, DropReason> {
        let t = self.t;
        let dst = self.key.dst;
        let (row, hop) = match ctx {
            RouteCtx::Subnet(s) => {
                let s = &t.subnets[s];
                let row = *s.lpm.lookup(dst).ok_or(DropReason::NoRoute { ctx })?;
                (row, &s.hops[row])
            }
            RouteCtx::Gateway(v) => {
                let g = t.vnets[v].gateway.as_ref().ok_or(DropReason::NoRoute { ctx })?;
                let row = *g.lpm.lookup(dst).ok_or(DropReason::NoRoute { ctx })?;
                (row, &g.routes[row].1)
            }
        };
        self.obs.step(Step::Route { ctx, row });
        match hop {
            CHop::VnetLocal { vnet: v } => self.arrive(*v, None, ctx, row),
            CHop::Peering { vnet: r, link } => {
                self.cross_peering(vnet, *r, *link, via_gateway)?;
                self.arrive(*r, Some((vnet, *link)), ctx, row)
            }
            CHop::InterfaceEndpoint { endpoint } => self.endpoint(*endpoint),
            CHop::Internet => Ok(Target::Internet),
            CHop::Drop => Err(DropReason::NextHopNone { ctx, row }),
            CHop::Appliance { ips } => {
                let ip = ips[(flow_hash(&self.key) % ips.len() as u64) as usize];
                let m = self
                    .reach_appliance(vnet, ip, via_gateway)
                    .ok_or(DropReason::ApplianceUnreachable { ctx, row, ip })??;
                let nic = &t.nics[m];
                if nic.running && dst != nic.ip && !nic.ip_forwarding {
                    // Azure: the destination check drops it at the NIC.
                    return Err(DropReason::NotForwarding { nic: m });
                }
                Ok(Target::Nic {
                    nic: m,
                    appliance: dst != nic.ip,
                })
            }
            CHop::Gateway { vnet: g } | CHop::Vnet2Vnet { vnet: g, .. } => {
                if depth >= MAX_GATEWAY_HOPS {
                    return Err(DropReason::RoutingLoop);
                }
                // Azure: traffic forwarded by a gateway needs no
                // allowForwardedTraffic on the peering it then crosses.
                self.route(RouteCtx::Gateway(*g), *g, true, depth + 1)
            }
            CHop::NoGateway(_) => Err(DropReason::NoGateway { ctx, row }),
            CHop::Site { connection } => Ok(Target::Site(*connection)),
        }
    }

    /// The packet is inside VNet `v` (having crossed peering `over`, if
    /// any): a NIC's address, or a load balancer's frontend.
    pub(super) fn arrive(
        &mut self,
        v: VnetIdx,
        over: Option<(VnetIdx, LinkIdx)>,
        ctx: RouteCtx,
        row: RouteIdx,
    ) -> Result<Target, DropReason> {
        let dst = self.key.dst;
        if let Some(m) = self.t.host(v, dst) {
            return Ok(Target::Nic {
                nic: m,
                appliance: false,
            });
        }
        match self.t.frontend(v, dst) {
            Some((lb, frontend)) => self.balance(lb, frontend, over),
            None => Err(DropReason::NoHost { vnet: v, ctx, row }),
        }
    }

    /// The NIC holding an NVA address: in the VNet itself or in a VNet
    /// it is Connected to by peering.
    pub(super) fn reach_appliance(
        &mut self,
        vnet: VnetIdx,
        ip: Ipv4Addr,
        via_gateway: bool,
    ) -> Option<Result<NicIdx, DropReason>> {
        let t = self.t;
        if let Some(m) = t.host(vnet, ip) {
            return Some(Ok(m));
        }
        for (i, link) in t.vnets[vnet].links.iter_enumerated() {
            let Some(r) = link.remote.filter(|_| link.connected()) else {
                continue;
            };
            if let Some(m) = t.host(r, ip) {
                return Some(self.cross_peering(vnet, r, i, via_gateway).map(|_| m));
            }
        }
        None
    }

    /// A packet goes from `from` into `to` over `from`'s link `link`. The
    /// receiving side's link decides whether traffic from outside `from`'s
    /// address space (forwarded by an NVA) may enter (§4.1).
    pub(super) fn cross_peering(
        &mut self,
        from: VnetIdx,
        to: VnetIdx,
        link: LinkIdx,
        via_gateway: bool,
    ) -> Result<(), DropReason> {
        let t = self.t;
        self.obs.step(Step::CrossPeering { from, to, link });
        if via_gateway || t.vnets[from].contains(self.key.src) {
            return Ok(());
        }
        match t.vnets[from].links[link].back {
            Some(b) if t.vnets[to].links[b].allow_forwarded_traffic => Ok(()),
            back => Err(DropReason::ForwardedTrafficNotAllowed {
                vnet: to,
                link: back.unwrap_or(LinkIdx(u32::MAX)),
            }),
        }
    }
}

/// Symmetric, so both directions of a flow pick the same ECMP member.
#[inline]
fn flow_hash(k: &FlowKey) -> u64 {
    let c = k.canonical();
    let a = (u64::from(u32::from(c.src)) << 32) | u64::from(u32::from(c.dst));
    let b = (u64::from(c.sport) << 24) | (u64::from(c.dport) << 8) | u64::from(c.proto);
    (a ^ b.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}
