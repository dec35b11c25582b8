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
use super::index::{
    ClusterIdx, ConnIdx, EndpointIdx, FrontendIdx, LbIdx, LbRuleIdx, LinkIdx, NicIdx, NsgIdx, NsgRuleIdx, RegionIdx,
    RouteIdx, ServiceIdx, SubnetIdx, VnetIdx,
};
use super::nat::{Rewrite, Side};
use super::packet::{self, FlowKey, Fragment, IcmpKind};
use super::tables::{SERVICE_IP, Tables};
use crate::model::{AZURE_HOST_IP, Access, Direction, PublicIpSku};

mod balance;
mod endpoint;
mod nsg;
mod overlay;
mod route;

pub use nsg::nsg_decision;

/// Default outbound access: traffic from a VM without a public IP leaves
/// with this address (RFC 5737 TEST-NET-1, never a real one).
pub const DEFAULT_OUTBOUND_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);

/// The Cloud Shell's address on the Internet side (RFC 5737 TEST-NET-1),
/// and the Internet-side gateway it routes through.
pub const CLOUD_SHELL_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub const INTERNET_GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Where a packet entered the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingress {
    /// Sent by a VM (or NVA) through this NIC.
    Nic(NicIdx),
    /// From the Internet side, addressed to a public IP.
    Internet,
    /// From the on-premises site behind this connection.
    Connection(ConnIdx),
    /// From a service instance outside the VNets (`Tables::services`).
    Service(ServiceIdx),
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
        service: ServiceIdx,
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
    /// To another VM's public IP (a hairpin): out through the sender's
    /// outbound path, the source translated to `snat` (its public IP or
    /// the default outbound address), and back in through the target's
    /// public IP, the destination translated to `dnat`, that NIC's private
    /// address.
    Hairpin {
        nic: NicIdx,
        snat: Ipv4Addr,
        dnat: Ipv4Addr,
    },
    /// Into the VPN tunnel of this site-to-site connection.
    ToSite {
        connection: ConnIdx,
    },
    Drop(DropReason),
}

impl Verdict {
    /// The region the packet leaves the fabric in, if it leaves at all.
    #[inline]
    pub fn egress_region(&self, t: &Tables) -> Option<RegionIdx> {
        let d = &t.delays;
        match *self {
            Verdict::Deliver { nic, .. } | Verdict::ToAppliance { nic, .. } | Verdict::Hairpin { nic, .. } => {
                d.nic(nic)
            }
            Verdict::ToService { service, .. } => d.service(service),
            Verdict::ToSite { connection } => d.connection(connection),
            Verdict::ToInternet { .. } => d.internet(),
            Verdict::ToAzureHost { .. } | Verdict::Drop(_) => None,
        }
    }

    /// How long the fabric holds this packet before it is written: the
    /// one-way delay from the region it came in to the one it leaves in
    /// (`dataplane::delay`). Zero within a region.
    #[inline]
    pub fn delay(&self, t: &Tables, from: Ingress) -> std::time::Duration {
        t.delays.between(from.region(t), self.egress_region(t))
    }
}

impl Ingress {
    /// The region the packet entered the fabric in.
    #[inline]
    pub fn region(self, t: &Tables) -> Option<RegionIdx> {
        let d = &t.delays;
        match self {
            Ingress::Nic(n) => d.nic(n),
            Ingress::Connection(c) => d.connection(c),
            Ingress::Service(s) => d.service(s),
            Ingress::Internet => d.internet(),
            Ingress::AzureHost => None,
        }
    }
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
        row: RouteIdx,
    },
    NoGateway {
        ctx: RouteCtx,
        row: RouteIdx,
    },
    /// The route leads into `vnet`, but no NIC there has the address.
    NoHost {
        vnet: VnetIdx,
        ctx: RouteCtx,
        row: RouteIdx,
    },
    ApplianceUnreachable {
        ctx: RouteCtx,
        row: RouteIdx,
        ip: Ipv4Addr,
    },
    /// The receiving VNet's link (`vnet`.links[`link`]) does not allow
    /// forwarded traffic, and the source is not in the sending VNet.
    ForwardedTrafficNotAllowed {
        vnet: VnetIdx,
        link: LinkIdx,
    },
    /// allowVirtualNetworkAccess is off and no NSG rule allows the peer.
    PeeringAccessBlocked {
        nic: NicIdx,
        vnet: VnetIdx,
        link: LinkIdx,
    },
    NsgDenied {
        nic: NicIdx,
        direction: Direction,
        nsg: NsgIdx,
        rule: NsgRuleIdx,
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
        lb: LbIdx,
        vnet: VnetIdx,
        link: LinkIdx,
    },
    /// No load-balancing rule of `lb` covers the frontend, protocol and port.
    NoLbRule {
        lb: LbIdx,
        frontend: FrontendIdx,
    },
    /// Every backend of the rule's pool is down (probe failing) or stopped.
    NoHealthyBackend {
        lb: LbIdx,
        rule: LbRuleIdx,
    },
    /// The private endpoint's service no longer exists.
    EndpointWithoutService {
        endpoint: EndpointIdx,
    },
    /// Private endpoints carry TCP and UDP only.
    EndpointProtocol {
        endpoint: EndpointIdx,
    },
    /// Sent from a service instance or the Azure host, but not the answer
    /// of a flow that reached it.
    Unsolicited,
    /// The destination is a pod address of `cluster`: pod CIDRs are not
    /// routed by the VNet or over peering (Azure CNI Overlay).
    PodAddressNotRouted {
        cluster: ClusterIdx,
    },
    /// A node sent with a pod source address to outside its cluster's
    /// pods: only SNATed traffic may leave the cluster.
    PodSourceOutsideCluster {
        nic: NicIdx,
        cluster: ClusterIdx,
    },
    /// No node of `cluster` holds the /24 of the destination pod address.
    NoPodNode {
        cluster: ClusterIdx,
    },
    /// A new flow while the VM of `nic` already tracks Azure's limit of
    /// flows in `direction` over its NICs (500 000 each way).
    FlowLimit {
        nic: NicIdx,
        direction: Direction,
    },
}

/// One step of a decision, for explanations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Route {
        ctx: RouteCtx,
        row: RouteIdx,
    },
    CrossPeering {
        from: VnetIdx,
        to: VnetIdx,
        link: LinkIdx,
    },
    Tracked {
        nic: NicIdx,
        direction: Direction,
    },
    NoNsg {
        nic: NicIdx,
        direction: Direction,
    },
    /// DNS to 168.63.129.16, which NSGs see only through rules naming the
    /// AzurePlatformDNS tag: none did.
    PlatformDns {
        nic: NicIdx,
    },
    Nsg {
        nic: NicIdx,
        direction: Direction,
        nsg: NsgIdx,
        rule: NsgRuleIdx,
        access: Access,
    },
    Dnat {
        nic: NicIdx,
        to: Ipv4Addr,
    },
    /// Addressed to a public IP of the lab: it leaves Azure with source
    /// `snat` and comes back in through that public IP (see `Verdict::Hairpin`).
    Hairpin {
        public: Ipv4Addr,
        snat: Ipv4Addr,
    },
    /// Load balancer `lb`'s rule chose `nic` (`pinned`: the flow already had it).
    Balance {
        lb: LbIdx,
        rule: LbRuleIdx,
        nic: NicIdx,
        pinned: bool,
    },
    /// Private endpoint `endpoint` leads to service `service`.
    Endpoint {
        endpoint: EndpointIdx,
        service: ServiceIdx,
    },
    /// The answer of a translated flow: its source becomes `ip` again.
    Untranslate {
        ip: Ipv4Addr,
    },
    /// The cluster's overlay routing domain sends it to the node that
    /// owns the destination pod's /24.
    PodRoute {
        cluster: ClusterIdx,
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
    Site(ConnIdx),
    Service(ServiceIdx),
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
        let nic = t.nics.get(n).ok_or(DropReason::Malformed)?;
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
        // routes say; here it answers health probes and serves DNS, which
        // only rules naming AzurePlatformDNS can stop
        // (what-is-ip-address-168-63-129-16.md).
        if self.key.dst == AZURE_HOST_IP {
            let dns = matches!(self.key.proto, 6 | 17) && self.key.dport == 53;
            let new = if dns {
                self.platform_dns_nsg(n)?
            } else {
                self.nsg(n, Direction::Outbound)?
            };
            self.track(&[(n, Direction::Outbound, new)])?;
            return Ok(Verdict::ToAzureHost {
                nat: Rewrite::src(t.probe_alias(n)),
            });
        }
        if let Some(a) = nic.lb_backend.then(|| self.ct.answer(&self.key, self.now)).flatten() {
            self.untranslate(a.ip, a.port);
        }
        let src_vnet = t.subnets[nic.subnet].vnet;
        let target = self
            .route(RouteCtx::Subnet(nic.subnet), src_vnet, false, 0)
            .map_err(|e| self.pod_not_routed(e))?;
        match target {
            Target::Nic { nic: m, appliance } => {
                let (out_new, in_new) = (self.nsg(n, Direction::Outbound)?, self.nsg(m, Direction::Inbound)?);
                self.track(&[(n, Direction::Outbound, out_new), (m, Direction::Inbound, in_new)])?;
                Ok(if appliance {
                    Verdict::ToAppliance { nic: m, nat: self.nat }
                } else {
                    Verdict::Deliver { nic: m, nat: self.nat }
                })
            }
            Target::Service(s) => {
                let new = self.nsg(n, Direction::Outbound)?;
                self.track(&[(n, Direction::Outbound, new)])?;
                Ok(Verdict::ToService {
                    service: s,
                    nat: self.nat.unwrap_or(Rewrite::dst(SERVICE_IP)),
                })
            }
            Target::Internet => {
                let snat = match nic.public_ip {
                    Some((ip, _)) => ip,
                    None if t.subnets[nic.subnet].default_outbound_access => DEFAULT_OUTBOUND_IP,
                    None => return Err(DropReason::NoOutboundAccess { nic: n }),
                };
                let new = self.nsg(n, Direction::Outbound)?;
                if snat == DEFAULT_OUTBOUND_IP {
                    self.pin_default_outbound(n);
                }
                // Azure: a public IP is an Internet address, also to a VM
                // of the same lab: the packet leaves through the sender's
                // outbound path (SNAT to its public IP or the default
                // outbound IP) and enters through the target's public IP,
                // whose NSGs see the translated source, as traffic from
                // the Internet (Learn: "Use SNAT for outbound connections",
                // https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections;
                // issue 21 observes it from a VM).
                let sent_src = self.key.src;
                self.key.src = snat;
                if self.internet_owner().is_some() {
                    return self.hairpin(n, new, snat);
                }
                self.key.src = sent_src;
                self.track(&[(n, Direction::Outbound, new)])?;
                Ok(Verdict::ToInternet { snat })
            }
            Target::Site(c) => {
                let new = self.nsg(n, Direction::Outbound)?;
                self.track(&[(n, Direction::Outbound, new)])?;
                Ok(Verdict::ToSite { connection: c })
            }
        }
    }

    /// A health probe from 168.63.129.16 to a NIC's probe alias. The NIC's
    /// inbound NSGs see it come from the AzureLoadBalancer tag.
    fn sent_by_azure_host(&mut self) -> Result<Verdict, DropReason> {
        let t = self.t;
        if self.key.src != AZURE_HOST_IP {
            return Err(DropReason::Unsolicited);
        }
        let m = t.probe_target(self.key.dst).ok_or(DropReason::Unsolicited)?;
        let nic = &t.nics[m];
        if !nic.running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        self.key.dst = nic.ip;
        let new = self.nsg(m, Direction::Inbound)?;
        self.track(&[(m, Direction::Inbound, new)])?;
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
        let (m, new) = self.through_public_ip()?;
        self.track(&[(m, Direction::Inbound, new)])?;
        Ok(Verdict::Deliver {
            nic: m,
            nat: Some(Rewrite::dst(self.t.nics[m].ip)),
        })
    }

    /// NIC `n`'s packet to a public IP of the lab (or the answer to a
    /// flow through default outbound access), allowed out by its NSGs
    /// (`out_new`: a new flow there), its source now `snat`: it comes back
    /// in as from the Internet.
    fn hairpin(&mut self, n: NicIdx, out_new: bool, snat: Ipv4Addr) -> Result<Verdict, DropReason> {
        self.obs.step(Step::Hairpin {
            public: self.key.dst,
            snat,
        });
        let (m, in_new) = self.through_public_ip()?;
        self.track(&[(n, Direction::Outbound, out_new), (m, Direction::Inbound, in_new)])?;
        Ok(Verdict::Hairpin {
            nic: m,
            snat,
            dnat: self.t.nics[m].ip,
        })
    }

    /// A packet from the Internet side to a public IP: translated to its
    /// NIC's private address and through that NIC's inbound NSGs. Returns
    /// the NIC and whether the flow is new there.
    fn through_public_ip(&mut self) -> Result<(NicIdx, bool), DropReason> {
        let t = self.t;
        let m = self.internet_owner().ok_or(DropReason::NoPublicIp)?;
        let nic = &t.nics[m];
        if !nic.running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        let answer = self.key.dst == DEFAULT_OUTBOUND_IP;
        // NSGs see private addresses: inbound is evaluated after DNAT.
        self.key.dst = nic.ip;
        self.obs.step(Step::Dnat { nic: m, to: nic.ip });
        let subnet = &t.subnets[nic.subnet];
        let standard = matches!(nic.public_ip, Some((_, PublicIpSku::Standard)));
        if !answer && standard && subnet.nsg.is_none() && nic.nsg.is_none() {
            return Err(DropReason::PublicIpClosed { nic: m });
        }
        Ok((m, self.nsg(m, Direction::Inbound)?))
    }

    /// Whom a packet on the Internet side is for: the NIC holding its
    /// destination as public IP, or, addressed to the default outbound
    /// address, the NIC whose flow it answers.
    fn internet_owner(&mut self) -> Option<NicIdx> {
        let t = self.t;
        if let Some(m) = t.public_ip_owner(self.key.dst) {
            return Some(m);
        }
        if self.key.dst != DEFAULT_OUTBOUND_IP {
            return None;
        }
        let a = self.ct.answer(&self.key, self.now)?;
        t.nic_by_key(a.back_to?)
    }

    /// Azure: default outbound access translates the source to an address
    /// Azure owns, and the answers come back to the VM that sent
    /// (https://learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access).
    /// The flow, as the Internet sees it, is pinned to its sender. No port
    /// is translated: two VMs of one lab using the same source port to the
    /// same destination share the answer's key, and the later one wins.
    fn pin_default_outbound(&mut self, n: NicIdx) {
        let nic = &self.t.nics[n];
        let outside = FlowKey {
            src: DEFAULT_OUTBOUND_IP,
            ..self.key
        };
        if self.ct.pinned(&outside, self.now).is_none() {
            self.pin = Some(Pin {
                key: outside,
                to: (outside.dst, outside.dport),
                backend: nic.key,
                back_to: Some(nic.key),
                timeout: nic.flow_timeout,
            });
        }
    }

    fn sent_from_site(&mut self, c: ConnIdx) -> Result<Verdict, DropReason> {
        let vnet = self
            .t
            .connections
            .get(c)
            .and_then(|c| c.vnet)
            .ok_or(DropReason::Malformed)?;
        match self.route(RouteCtx::Gateway(vnet), vnet, true, 0)? {
            Target::Nic { nic: m, appliance } => {
                let new = self.nsg(m, Direction::Inbound)?;
                self.track(&[(m, Direction::Inbound, new)])?;
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
}
