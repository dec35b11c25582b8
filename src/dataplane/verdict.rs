//! The verdict function: what the Azure fabric does with one packet.
//!
//! `decide` is the single place where routing, peering rules, the
//! source/destination checks and NSGs meet. The live data plane, the
//! `explain`/`next-hop`/`ip-flow` commands and the tests all call it; the
//! explaining callers pass an [`Observer`] that records each step, the
//! data plane passes `()` and pays nothing for it.
//!
//! Order for a packet a NIC sends: parse; the sender's source check; the
//! route lookup in the sender's subnet (following gateways, with loop
//! protection); the receiver's destination check; the sender's outbound
//! NSGs (NIC, then subnet); the receiver's inbound NSGs (subnet, then NIC).
//! Azure evaluates outbound NSGs before routing; the packet's fate is the
//! same either way, and routing first lets a drop name its root cause.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::conntrack::ConnTrack;
use super::health::LbHealth;
use super::nat::{Rewrite, Side};
use super::packet::{self, FlowKey, Fragment, IcmpKind};
use super::tables::{CHop, NicIdx, SERVICE_IP, SubnetIdx, Tables, VnetIdx};
use crate::model::{AZURE_HOST_IP, Access, Direction, LbSku, LoadDistribution, PublicIpSku};
use crate::nsg::FlowView;

/// Default outbound access: traffic from a VM without a public IP leaves
/// with this address (RFC 5737 TEST-NET-1, never a real one).
pub const DEFAULT_OUTBOUND_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);

/// The Cloud Shell's address on the Internet side (RFC 5737 TEST-NET-1),
/// and the Internet-side gateway it routes through.
pub const CLOUD_SHELL_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub const INTERNET_GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Gateways forwarding into gateways: more hops than this is a loop.
const MAX_GATEWAY_HOPS: u8 = 4;

/// Where a packet entered the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingress {
    /// Sent by a VM (or NVA) through this NIC.
    Nic(NicIdx),
    /// From the Internet side, addressed to a public IP.
    Internet,
    /// From the on-premises site behind this connection.
    Connection(u32),
    /// From a service instance outside the VNets (`Tables::services`).
    Service(u32),
    /// From the Azure host (168.63.129.16): health probes, addressed to
    /// a NIC's probe alias.
    AzureHost,
}

/// Which route table decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteCtx {
    Subnet(SubnetIdx),
    /// The forwarding context of the gateway (or Route Server) in a VNet.
    Gateway(VnetIdx),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Into this NIC's VM; `nat` is the translation on the way (public IP
    /// or load-balancer frontend to private IP, or back).
    Deliver {
        nic: NicIdx,
        nat: Option<Rewrite>,
    },
    /// Into an NVA whose NIC forwards: the packet is not addressed to it.
    ToAppliance {
        nic: NicIdx,
        nat: Option<Rewrite>,
    },
    /// Over the backbone to a service instance behind a private endpoint.
    ToService {
        service: u32,
        nat: Rewrite,
    },
    /// To the Azure host's namespace (a health probe's answer), the
    /// source translated to the NIC's probe alias.
    ToAzureHost {
        nat: Rewrite,
    },
    /// Out to the Internet side, the source translated to `snat`.
    ToInternet {
        snat: Ipv4Addr,
    },
    /// Into the VPN tunnel of this site-to-site connection.
    ToSite {
        connection: u32,
    },
    Drop(DropReason),
}

/// Why Azure would drop the packet. Azure drops silently: nothing is
/// sent back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Malformed,
    /// GRE, IP-in-IP and IPv6-in-IPv4 do not cross an Azure VNet.
    ProtocolBlocked {
        proto: u8,
    },
    /// Broadcast and multicast do not exist in an Azure VNet.
    NotUnicast,
    /// A later fragment whose first fragment was not seen.
    FragmentOutOfOrder,
    VmNotRunning {
        nic: NicIdx,
    },
    /// Source is not the NIC's address and the NIC does not forward.
    SpoofedSource {
        nic: NicIdx,
    },
    /// Sent to an NVA whose NIC has IP forwarding off.
    NotForwarding {
        nic: NicIdx,
    },
    NoRoute {
        ctx: RouteCtx,
    },
    NextHopNone {
        ctx: RouteCtx,
        row: u32,
    },
    NoGateway {
        ctx: RouteCtx,
        row: u32,
    },
    /// The route leads into `vnet`, but no NIC there has the address.
    NoHost {
        vnet: VnetIdx,
        ctx: RouteCtx,
        row: u32,
    },
    ApplianceUnreachable {
        ctx: RouteCtx,
        row: u32,
        ip: Ipv4Addr,
    },
    /// The receiving VNet's link (`vnet`.links[`link`]) does not allow
    /// forwarded traffic, and the source is not in the sending VNet.
    ForwardedTrafficNotAllowed {
        vnet: VnetIdx,
        link: u32,
    },
    /// allowVirtualNetworkAccess is off and no NSG rule allows the peer.
    PeeringAccessBlocked {
        nic: NicIdx,
        vnet: VnetIdx,
        link: u32,
    },
    NsgDenied {
        nic: NicIdx,
        direction: Direction,
        nsg: u32,
        rule: u32,
    },
    NoPublicIp,
    /// Standard public IPs are closed to inbound unless an NSG allows it.
    PublicIpClosed {
        nic: NicIdx,
    },
    /// A private subnet (defaultOutboundAccess false) without a public IP.
    NoOutboundAccess {
        nic: NicIdx,
    },
    RoutingLoop,
    /// A Basic load balancer's frontend, reached over the global peering
    /// `vnet`.links[`link`]: Azure does not carry that.
    BasicLbOverGlobalPeering {
        lb: u32,
        vnet: VnetIdx,
        link: u32,
    },
    /// No load-balancing rule of `lb` covers the frontend, protocol and port.
    NoLbRule {
        lb: u32,
        frontend: u32,
    },
    /// Every backend of the rule's pool is down (probe failing) or stopped.
    NoHealthyBackend {
        lb: u32,
        rule: u32,
    },
    /// The private endpoint's service no longer exists.
    EndpointWithoutService {
        endpoint: u32,
    },
    /// Private endpoints carry TCP and UDP only.
    EndpointProtocol {
        endpoint: u32,
    },
    /// Sent from a service instance or the Azure host, but not the answer
    /// of a flow that reached it.
    Unsolicited,
    /// The destination is a pod address of `cluster`: pod CIDRs are not
    /// routed by the VNet or over peering (Azure CNI Overlay).
    PodAddressNotRouted {
        cluster: u32,
    },
    /// A node sent with a pod source address to outside its cluster's
    /// pods: only SNATed traffic may leave the cluster.
    PodSourceOutsideCluster {
        nic: NicIdx,
        cluster: u32,
    },
    /// No node of `cluster` holds the /24 of the destination pod address.
    NoPodNode {
        cluster: u32,
    },
}

/// One step of a decision, for explanations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Route {
        ctx: RouteCtx,
        row: u32,
    },
    CrossPeering {
        from: VnetIdx,
        to: VnetIdx,
        link: u32,
    },
    Tracked {
        nic: NicIdx,
        direction: Direction,
    },
    NoNsg {
        nic: NicIdx,
        direction: Direction,
    },
    Nsg {
        nic: NicIdx,
        direction: Direction,
        nsg: u32,
        rule: u32,
        access: Access,
    },
    Dnat {
        nic: NicIdx,
        to: Ipv4Addr,
    },
    /// Load balancer `lb`'s rule chose `nic` (`pinned`: the flow already had it).
    Balance {
        lb: u32,
        rule: u32,
        nic: NicIdx,
        pinned: bool,
    },
    /// Private endpoint `endpoint` leads to service `service`.
    Endpoint {
        endpoint: u32,
        service: u32,
    },
    /// The answer of a translated flow: its source becomes `ip` again.
    Untranslate {
        ip: Ipv4Addr,
    },
    /// The cluster's overlay routing domain sends it to the node that
    /// owns the destination pod's /24.
    PodRoute {
        cluster: u32,
        node: NicIdx,
    },
}

pub trait Observer {
    fn step(&mut self, s: Step);
}

impl Observer for () {
    #[inline(always)]
    fn step(&mut self, _: Step) {}
}

impl Observer for Vec<Step> {
    fn step(&mut self, s: Step) {
        self.push(s);
    }
}

/// Decides the fate of `bytes` entering at `ingress` at time `now`, given
/// what the health probes last said (`health`) and the flows seen so far
/// (`ct`, which the decision updates).
///
/// ```
/// use std::time::Instant;
/// use vnetlab::dataplane::{decide, ConnTrack, DropReason, Ingress, LbHealth, Tables, Verdict};
/// let tables = Tables::compile(&vnetlab::model::Model::new(), 1);
/// let health = LbHealth::all_up();
/// let v = decide(&tables, &health, &mut ConnTrack::new(), Ingress::Internet, &[0u8; 3], Instant::now());
/// assert_eq!(v, Verdict::Drop(DropReason::Malformed));
/// ```
#[inline]
pub fn decide(
    t: &Tables,
    health: &LbHealth,
    ct: &mut ConnTrack,
    ingress: Ingress,
    bytes: &[u8],
    now: Instant,
) -> Verdict {
    decide_with(t, health, ct, ingress, bytes, now, &mut ())
}

pub fn decide_with(
    t: &Tables,
    health: &LbHealth,
    ct: &mut ConnTrack,
    ingress: Ingress,
    bytes: &[u8],
    now: Instant,
    obs: &mut impl Observer,
) -> Verdict {
    let Ok(pkt) = packet::parse(bytes) else {
        return Verdict::Drop(DropReason::Malformed);
    };
    let mut key = pkt.key;
    if let Fragment::Later { id } = pkt.fragment {
        match ct.fragment_ports(&key, id, now) {
            Some((s, d)) => (key.sport, key.dport) = (s, d),
            // Azure drops fragments that arrive out of order [DOC].
            None => return Verdict::Drop(DropReason::FragmentOutOfOrder),
        }
    }
    let mut d = Decision {
        t,
        health,
        ct,
        now,
        obs,
        sent: key,
        key,
        related: None,
        nat: None,
        pin: None,
        sender: None,
    };
    if let Some(IcmpKind::Error { inner }) = pkt.icmp {
        d.related = Some(inner);
    }
    let v = d.run(ingress).unwrap_or_else(Verdict::Drop);
    if let (Fragment::First { id }, false) = (pkt.fragment, matches!(v, Verdict::Drop(_))) {
        d.ct.note_first_fragment(&key, id, now);
    }
    v
}

/// Where routing leads.
enum Target {
    Nic { nic: NicIdx, appliance: bool },
    Internet,
    Site(u32),
    Service(u32),
}

/// A translated flow to pin once the whole path is allowed.
struct Pin {
    key: FlowKey,
    to: (Ipv4Addr, u16),
    backend: u64,
    back_to: Option<u64>,
    timeout: std::time::Duration,
}

struct Decision<'a, O: Observer> {
    t: &'a Tables,
    health: &'a LbHealth,
    ct: &'a mut ConnTrack,
    now: Instant,
    obs: &'a mut O,
    /// The packet as its sender sent it: what the sender's outbound NSGs see.
    sent: FlowKey,
    /// The packet as it is now (after any translation): what routing and
    /// the receiver's inbound NSGs see.
    key: FlowKey,
    nat: Option<Rewrite>,
    pin: Option<Pin>,
    /// The NIC that sent the packet, if a NIC did.
    sender: Option<NicIdx>,
    /// For ICMP errors: the flow they answer. They pass where that flow
    /// is tracked, and never create state of their own.
    related: Option<FlowKey>,
}

impl<O: Observer> Decision<'_, O> {
    fn run(&mut self, ingress: Ingress) -> Result<Verdict, DropReason> {
        let k = self.key;
        if matches!(k.proto, 4 | 41 | 47) {
            return Err(DropReason::ProtocolBlocked { proto: k.proto });
        }
        if k.dst.is_multicast() || k.dst.is_broadcast() || k.src.is_multicast() {
            return Err(DropReason::NotUnicast);
        }
        match ingress {
            Ingress::Nic(n) => self.sent_by_nic(n),
            Ingress::Internet => self.sent_from_internet(),
            Ingress::Connection(c) => self.sent_from_site(c),
            Ingress::Service(s) => self.sent_by_service(s),
            Ingress::AzureHost => self.sent_by_azure_host(),
        }
    }

    fn sent_by_nic(&mut self, n: NicIdx) -> Result<Verdict, DropReason> {
        let t = self.t;
        let nic = t.nics.get(n as usize).ok_or(DropReason::Malformed)?;
        if !nic.running {
            return Err(DropReason::VmNotRunning { nic: n });
        }
        if let Some(v) = self.pod_overlay(n)? {
            return Ok(v);
        }
        // Azure: without IP forwarding a NIC may only send from its own IP.
        if self.key.src != nic.ip && !nic.ip_forwarding {
            return Err(DropReason::SpoofedSource { nic: n });
        }
        self.sender = Some(n);
        // Azure: 168.63.129.16 is reached from every VM whatever its
        // routes say; here it answers health probes.
        if self.key.dst == AZURE_HOST_IP {
            let new = self.nsg(n, Direction::Outbound)?;
            self.track(&[(n, Direction::Outbound, new)]);
            return Ok(Verdict::ToAzureHost {
                nat: Rewrite::src(t.probe_alias(n)),
            });
        }
        if let Some(a) = nic.lb_backend.then(|| self.ct.answer(&self.key, self.now)).flatten() {
            self.untranslate(a.ip, a.port);
        }
        let src_vnet = t.subnets[nic.subnet as usize].vnet;
        let target = self
            .route(RouteCtx::Subnet(nic.subnet), src_vnet, false, 0)
            .map_err(|e| self.pod_not_routed(e))?;
        match target {
            Target::Nic { nic: m, appliance } => {
                let (out_new, in_new) = (self.nsg(n, Direction::Outbound)?, self.nsg(m, Direction::Inbound)?);
                self.track(&[(n, Direction::Outbound, out_new), (m, Direction::Inbound, in_new)]);
                Ok(if appliance {
                    Verdict::ToAppliance { nic: m, nat: self.nat }
                } else {
                    Verdict::Deliver { nic: m, nat: self.nat }
                })
            }
            Target::Service(s) => {
                let new = self.nsg(n, Direction::Outbound)?;
                self.track(&[(n, Direction::Outbound, new)]);
                Ok(Verdict::ToService {
                    service: s,
                    nat: self.nat.unwrap_or(Rewrite::dst(SERVICE_IP)),
                })
            }
            Target::Internet => {
                let snat = match nic.public_ip {
                    Some((ip, _)) => ip,
                    None if t.subnets[nic.subnet as usize].default_outbound_access => DEFAULT_OUTBOUND_IP,
                    None => return Err(DropReason::NoOutboundAccess { nic: n }),
                };
                let new = self.nsg(n, Direction::Outbound)?;
                self.track(&[(n, Direction::Outbound, new)]);
                Ok(Verdict::ToInternet { snat })
            }
            Target::Site(c) => {
                let new = self.nsg(n, Direction::Outbound)?;
                self.track(&[(n, Direction::Outbound, new)]);
                Ok(Verdict::ToSite { connection: c })
            }
        }
    }

    /// A service instance answers a flow that came through a private
    /// endpoint: back to the sender, from the endpoint's address.
    fn sent_by_service(&mut self, _s: u32) -> Result<Verdict, DropReason> {
        let a = self.ct.answer(&self.key, self.now).ok_or(DropReason::Unsolicited)?;
        let m = a
            .back_to
            .and_then(|k| self.t.nic_by_key(k))
            .ok_or(DropReason::Unsolicited)?;
        self.untranslate(a.ip, a.port);
        if !self.t.nics[m as usize].running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        let new = self.nsg(m, Direction::Inbound)?;
        self.track(&[(m, Direction::Inbound, new)]);
        Ok(Verdict::Deliver { nic: m, nat: self.nat })
    }

    /// A health probe from 168.63.129.16 to a NIC's probe alias. The NIC's
    /// inbound NSGs see it come from the AzureLoadBalancer tag.
    fn sent_by_azure_host(&mut self) -> Result<Verdict, DropReason> {
        let t = self.t;
        if self.key.src != AZURE_HOST_IP {
            return Err(DropReason::Unsolicited);
        }
        let m = t.probe_target(self.key.dst).ok_or(DropReason::Unsolicited)?;
        let nic = &t.nics[m as usize];
        if !nic.running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        self.key.dst = nic.ip;
        let new = self.nsg(m, Direction::Inbound)?;
        self.track(&[(m, Direction::Inbound, new)]);
        Ok(Verdict::Deliver {
            nic: m,
            nat: Some(Rewrite::dst(nic.ip)),
        })
    }

    /// The answer of a translated flow: its source becomes what its
    /// sender addressed.
    fn untranslate(&mut self, ip: Ipv4Addr, port: u16) {
        self.obs.step(Step::Untranslate { ip });
        let ports = self.key.has_ports();
        self.key.src = ip;
        if ports {
            self.key.sport = port;
        }
        self.nat = Some(Rewrite {
            side: Side::Source,
            ip,
            port: ports.then_some(port),
        });
    }

    fn sent_from_internet(&mut self) -> Result<Verdict, DropReason> {
        let t = self.t;
        let m = t.public_ip_owner(self.key.dst).ok_or(DropReason::NoPublicIp)?;
        let nic = &t.nics[m as usize];
        if !nic.running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        // NSGs see private addresses: inbound is evaluated after DNAT.
        self.key.dst = nic.ip;
        self.obs.step(Step::Dnat { nic: m, to: nic.ip });
        let subnet = &t.subnets[nic.subnet as usize];
        let standard = matches!(nic.public_ip, Some((_, PublicIpSku::Standard)));
        if standard && subnet.nsg.is_none() && nic.nsg.is_none() {
            return Err(DropReason::PublicIpClosed { nic: m });
        }
        let new = self.nsg(m, Direction::Inbound)?;
        self.track(&[(m, Direction::Inbound, new)]);
        Ok(Verdict::Deliver {
            nic: m,
            nat: Some(Rewrite::dst(nic.ip)),
        })
    }

    fn sent_from_site(&mut self, c: u32) -> Result<Verdict, DropReason> {
        let vnet = self
            .t
            .connections
            .get(c as usize)
            .and_then(|c| c.vnet)
            .ok_or(DropReason::Malformed)?;
        match self.route(RouteCtx::Gateway(vnet), vnet, true, 0)? {
            Target::Nic { nic: m, appliance } => {
                let new = self.nsg(m, Direction::Inbound)?;
                self.track(&[(m, Direction::Inbound, new)]);
                Ok(if appliance {
                    Verdict::ToAppliance { nic: m, nat: self.nat }
                } else {
                    Verdict::Deliver { nic: m, nat: self.nat }
                })
            }
            Target::Site(other) => Ok(Verdict::ToSite { connection: other }),
            Target::Internet | Target::Service(_) => Err(DropReason::NoRoute {
                ctx: RouteCtx::Gateway(vnet),
            }),
        }
    }

    /// Azure CNI Overlay (see `overlay`): a node's packet to a pod of its
    /// own cluster goes to the node owning the pod's /24; a pod source
    /// may not go anywhere else. `None`: not overlay traffic.
    fn pod_overlay(&mut self, n: NicIdx) -> Result<Option<Verdict>, DropReason> {
        let (t, k) = (self.t, self.key);
        let Some(c) = t.overlay.cluster_of_node(n) else {
            return Ok(None);
        };
        let cluster = &t.overlay.clusters[c as usize];
        let (src_pod, dst_pod) = (cluster.pod_cidr.contains(&k.src), cluster.pod_cidr.contains(&k.dst));
        let outside = DropReason::PodSourceOutsideCluster { nic: n, cluster: c };
        let m = match (src_pod, dst_pod) {
            (false, false) => return Ok(None),
            // Forwarded by the node for someone else: the usual rules.
            (false, true) if k.src != t.nics[n as usize].ip => return Ok(None),
            (true, _) if !t.overlay.slice_of(n).is_some_and(|s| s.contains(&k.src)) => return Err(outside),
            // A pod answers (or talks to) a node of its own cluster.
            (true, false) => cluster
                .slices
                .iter()
                .map(|(_, m)| *m)
                .find(|m| t.nics[*m as usize].ip == k.dst)
                .ok_or(outside)?,
            (_, true) => t
                .overlay
                .slice_owner(c, k.dst)
                .ok_or(DropReason::NoPodNode { cluster: c })?,
        };
        if !t.nics[m as usize].running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        self.obs.step(Step::PodRoute { cluster: c, node: m });
        let (out_new, in_new) = (self.nsg(n, Direction::Outbound)?, self.nsg(m, Direction::Inbound)?);
        self.track(&[(n, Direction::Outbound, out_new), (m, Direction::Inbound, in_new)]);
        Ok(Some(Verdict::Deliver { nic: m, nat: None }))
    }

    /// A routing drop of a packet for a pod address says so: pod CIDRs
    /// are no VNet's routes, so no route of a VNet or peering leads there.
    fn pod_not_routed(&self, e: DropReason) -> DropReason {
        match (e, self.t.overlay.cluster_of_pod_ip(self.key.dst)) {
            (
                DropReason::NoRoute { .. } | DropReason::NextHopNone { .. } | DropReason::NoHost { .. },
                Some(cluster),
            ) => DropReason::PodAddressNotRouted { cluster },
            _ => e,
        }
    }

    /// Looks the destination up in `ctx` (whose VNet is `vnet`) and follows
    /// the hop to a NIC, the Internet or a site. A NIC receives only while
    /// its VM runs, whichever hop led to it.
    fn route(&mut self, ctx: RouteCtx, vnet: VnetIdx, via_gateway: bool, depth: u8) -> Result<Target, DropReason> {
        let target = self.follow(ctx, vnet, via_gateway, depth)?;
        match target {
            Target::Nic { nic, .. } if !self.t.nics[nic as usize].running => Err(DropReason::VmNotRunning { nic }),
            _ => Ok(target),
        }
    }

    fn follow(&mut self, ctx: RouteCtx, vnet: VnetIdx, via_gateway: bool, depth: u8) -> Result<Target, DropReason> {
        let t = self.t;
        let dst = self.key.dst;
        let (row, hop) = match ctx {
            RouteCtx::Subnet(s) => {
                let s = &t.subnets[s as usize];
                let row = *s.lpm.lookup(dst).ok_or(DropReason::NoRoute { ctx })?;
                (row, &s.hops[row as usize])
            }
            RouteCtx::Gateway(v) => {
                let g = t.vnets[v as usize]
                    .gateway
                    .as_ref()
                    .ok_or(DropReason::NoRoute { ctx })?;
                let row = *g.lpm.lookup(dst).ok_or(DropReason::NoRoute { ctx })?;
                (row, &g.routes[row as usize].1)
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
                let nic = &t.nics[m as usize];
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
    fn arrive(
        &mut self,
        v: VnetIdx,
        over: Option<(VnetIdx, u32)>,
        ctx: RouteCtx,
        row: u32,
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

    /// A load balancer's frontend: the flow's rule picks a healthy backend
    /// (once; the flow stays pinned to it) and the destination becomes the
    /// backend's address and port.
    fn balance(&mut self, l: u32, frontend: u32, over: Option<(VnetIdx, u32)>) -> Result<Target, DropReason> {
        let t = self.t;
        let lb = &t.lbs[l as usize];
        if let Some((from, link)) = over
            && lb.sku == LbSku::Basic
            && t.vnets[from as usize].location != t.vnets[lb.vnet as usize].location
        {
            // Azure: Basic load balancer frontends are not reachable over
            // global VNet peering; the backends' own addresses are.
            return Err(DropReason::BasicLbOverGlobalPeering {
                lb: l,
                vnet: from,
                link,
            });
        }
        let k = self.key;
        let dport = k.has_ports().then_some(k.dport);
        let r = lb
            .rules
            .iter()
            .position(|r| r.matches(frontend, k.proto, dport))
            .ok_or(DropReason::NoLbRule { lb: l, frontend })? as u32;
        let rule = &lb.rules[r as usize];
        let pool = &lb.pools[rule.pool as usize].1;
        let was = self.ct.pinned(&k, self.now);
        let health = self.health;
        let healthy = |m: &NicIdx| t.nics[*m as usize].running && !health.is_down(lb.key, t.nics[*m as usize].key);
        // Azure: an established flow stays on its backend while that is
        // in the pool (Standard keeps it even when the probe fails).
        let pinned = was
            .and_then(|p| t.nic_by_key(p.backend))
            .filter(|m| pool.contains(m) && (lb.sku == LbSku::Standard || healthy(m)));
        let m = match pinned {
            Some(m) => m,
            None => {
                let n = pool.iter().filter(|m| healthy(m)).count();
                if n == 0 {
                    return Err(DropReason::NoHealthyBackend { lb: l, rule: r });
                }
                let pick = (distribution_hash(&k, rule.distribution) % n as u64) as usize;
                pool.iter()
                    .copied()
                    .filter(|m| healthy(m))
                    .nth(pick)
                    .ok_or(DropReason::NoHealthyBackend { lb: l, rule: r })?
            }
        };
        self.obs.step(Step::Balance {
            lb: l,
            rule: r,
            nic: m,
            pinned: pinned.is_some(),
        });
        let ip = t.nics[m as usize].ip;
        let port = if rule.backend_port == 0 {
            k.dport
        } else {
            rule.backend_port
        };
        if pinned.is_none() {
            self.pin = Some(Pin {
                key: k,
                to: (ip, if dport.is_some() { port } else { 0 }),
                backend: t.nics[m as usize].key,
                back_to: None,
                timeout: rule.idle_timeout,
            });
        }
        self.key.dst = ip;
        if dport.is_some() {
            self.key.dport = port;
        }
        self.nat = Some(Rewrite {
            side: Side::Destination,
            ip,
            port: dport.map(|_| port),
        });
        Ok(Target::Nic {
            nic: m,
            appliance: false,
        })
    }

    /// A private endpoint's address: over the backbone to its service, in
    /// whatever region, with the destination translated to the instance.
    fn endpoint(&mut self, e: u32) -> Result<Target, DropReason> {
        let ep = &self.t.endpoints[e as usize];
        let s = ep.service.ok_or(DropReason::EndpointWithoutService { endpoint: e })?;
        let k = self.key;
        if !k.has_ports() {
            return Err(DropReason::EndpointProtocol { endpoint: e });
        }
        // Answers come straight back to the sending NIC, so only a NIC
        // can use an endpoint.
        let sender = &self.t.nics[self.sender.ok_or(DropReason::Unsolicited)? as usize];
        self.obs.step(Step::Endpoint {
            endpoint: e,
            service: s,
        });
        if self.ct.pinned(&k, self.now).is_none() {
            self.pin = Some(Pin {
                key: k,
                to: (SERVICE_IP, k.dport),
                backend: self.t.services[s as usize].key,
                back_to: Some(sender.key),
                timeout: sender.flow_timeout,
            });
        }
        self.key.dst = SERVICE_IP;
        self.nat = Some(Rewrite::dst(SERVICE_IP));
        Ok(Target::Service(s))
    }

    /// The NIC holding an NVA address: in the VNet itself or in a VNet
    /// it is Connected to by peering.
    fn reach_appliance(
        &mut self,
        vnet: VnetIdx,
        ip: Ipv4Addr,
        via_gateway: bool,
    ) -> Option<Result<NicIdx, DropReason>> {
        let t = self.t;
        if let Some(m) = t.host(vnet, ip) {
            return Some(Ok(m));
        }
        for (i, link) in t.vnets[vnet as usize].links.iter().enumerate() {
            let Some(r) = link.remote.filter(|_| link.connected()) else {
                continue;
            };
            if let Some(m) = t.host(r, ip) {
                return Some(self.cross_peering(vnet, r, i as u32, via_gateway).map(|_| m));
            }
        }
        None
    }

    /// A packet goes from `from` into `to` over `from`'s link `link`. The
    /// receiving side's link decides whether traffic from outside `from`'s
    /// address space (forwarded by an NVA) may enter (§4.1).
    fn cross_peering(&mut self, from: VnetIdx, to: VnetIdx, link: u32, via_gateway: bool) -> Result<(), DropReason> {
        let t = self.t;
        self.obs.step(Step::CrossPeering { from, to, link });
        if via_gateway || t.vnets[from as usize].contains(self.key.src) {
            return Ok(());
        }
        match t.vnets[from as usize].links[link as usize].back {
            Some(b) if t.vnets[to as usize].links[b as usize].allow_forwarded_traffic => Ok(()),
            back => Err(DropReason::ForwardedTrafficNotAllowed {
                vnet: to,
                link: back.unwrap_or(u32::MAX),
            }),
        }
    }

    /// The packet as NIC NSGs in `dir` see it: the sender's as sent, the
    /// receiver's as received.
    fn seen(&self, dir: Direction) -> FlowKey {
        if dir == Direction::Outbound {
            self.sent
        } else {
            self.key
        }
    }

    /// Runs the NSGs of NIC `x` in `dir`. Returns whether the flow was
    /// new there (and must be tracked once the whole path is allowed).
    fn nsg(&mut self, x: NicIdx, dir: Direction) -> Result<bool, DropReason> {
        let t = self.t;
        let nic = &t.nics[x as usize];
        let key = self.seen(dir);
        let tracked = match self.related {
            Some(inner) => self.ct.has(nic.key, &inner, self.now),
            None => self.ct.hit(nic.key, &key, self.now, nic.flow_timeout),
        };
        if tracked {
            self.obs.step(Step::Tracked { nic: x, direction: dir });
            return Ok(false);
        }
        nsg_decision(t, x, dir, &key, self.obs)?;
        Ok(self.related.is_none())
    }

    /// The whole path is allowed: new flows are tracked where their NSGs
    /// allowed them, and a translated flow is pinned.
    fn track(&mut self, nics: &[(NicIdx, Direction, bool)]) {
        for &(x, dir, new) in nics {
            if new {
                let nic = &self.t.nics[x as usize];
                let key = self.seen(dir);
                self.ct.insert(nic.key, &key, self.now, nic.flow_timeout);
            }
        }
        if let Some(p) = self.pin.take() {
            self.ct.pin(&p.key, p.to, p.backend, p.back_to, self.now, p.timeout);
        }
    }
}

/// The NSGs of NIC `x` for a new flow in `dir`: subnet then NIC inbound,
/// NIC then subnet outbound, both must allow (§5.3). This is what IP flow
/// verify reports; `decide` runs it for every flow it has not seen.
pub fn nsg_decision(
    t: &Tables,
    x: NicIdx,
    dir: Direction,
    key: &FlowKey,
    obs: &mut impl Observer,
) -> Result<(), DropReason> {
    let nic = &t.nics[x as usize];
    let subnet = &t.subnets[nic.subnet as usize];
    let levels = match dir {
        Direction::Inbound => [subnet.nsg, nic.nsg],
        Direction::Outbound => [nic.nsg, subnet.nsg],
    };
    if levels.iter().all(Option::is_none) {
        let peer = if dir == Direction::Outbound { key.dst } else { key.src };
        // Azure: with allowVirtualNetworkAccess off, traffic with that
        // peer does not flow unless an NSG rule explicitly allows it; with
        // no NSG at all there is no such rule.
        let vnet = &t.vnets[subnet.vnet as usize];
        if let Some(l) = vnet.links.iter().position(|l| {
            !l.allow_virtual_network_access && l.connected() && l.remote_address_space.iter().any(|p| p.contains(&peer))
        }) {
            return Err(DropReason::PeeringAccessBlocked {
                nic: x,
                vnet: subnet.vnet,
                link: l as u32,
            });
        }
        obs.step(Step::NoNsg { nic: x, direction: dir });
        return Ok(());
    }
    let view = FlowView {
        src: key.src,
        dst: key.dst,
        proto: key.proto,
        ports: key.has_ports().then_some((key.sport, key.dport)),
    };
    for g in levels.into_iter().flatten() {
        let rule = t.nsgs[g as usize].evaluate_index(dir, &view);
        let access = t.nsgs[g as usize].rules(dir)[rule].access;
        obs.step(Step::Nsg {
            nic: x,
            direction: dir,
            nsg: g,
            rule: rule as u32,
            access,
        });
        if access == Access::Deny {
            return Err(DropReason::NsgDenied {
                nic: x,
                direction: dir,
                nsg: g,
                rule: rule as u32,
            });
        }
    }
    Ok(())
}

/// Which backend a new flow gets: a hash of its 5-tuple, or of fewer
/// fields for source-IP affinity.
#[inline]
fn distribution_hash(k: &FlowKey, d: LoadDistribution) -> u64 {
    let masked = match d {
        LoadDistribution::Default => *k,
        LoadDistribution::SourceIpProtocol => FlowKey {
            sport: 0,
            dport: 0,
            ..*k
        },
        LoadDistribution::SourceIp => FlowKey {
            sport: 0,
            dport: 0,
            proto: 0,
            ..*k
        },
    };
    let a = (u64::from(u32::from(masked.src)) << 32) | u64::from(u32::from(masked.dst));
    let b = (u64::from(masked.sport) << 24) | (u64::from(masked.dport) << 8) | u64::from(masked.proto);
    // splitmix64's finalizer: every input bit reaches the low bits that
    // the modulo keeps.
    let mut x = a ^ b.rotate_left(40);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Symmetric, so both directions of a flow pick the same ECMP member.
#[inline]
fn flow_hash(k: &FlowKey) -> u64 {
    let c = k.canonical();
    let a = (u64::from(u32::from(c.src)) << 32) | u64::from(u32::from(c.dst));
    let b = (u64::from(c.sport) << 24) | (u64::from(c.dport) << 8) | u64::from(c.proto);
    (a ^ b.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}
