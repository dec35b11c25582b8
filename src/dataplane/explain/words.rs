//! The wording of verdicts and their steps: every `DropReason`, `Step`
//! and `Verdict` as a sentence naming the lab's resources.

use std::net::Ipv4Addr;

use crate::dataplane::FLOW_LIMIT;
use crate::dataplane::index::{LinkIdx, NicIdx, NsgIdx, NsgRuleIdx, RouteIdx, VnetIdx};
use crate::dataplane::nat::Side;
use crate::dataplane::packet::FlowKey;
use crate::dataplane::tables::{CHop, Tables};
use crate::dataplane::verdict::{DropReason, RouteCtx, Step, Verdict};
use crate::model::{Direction, is_reserved_in_subnet};
use crate::routing::{NoGateway, RouteSource};

pub(super) struct Words<'a> {
    pub(super) t: &'a Tables,
    pub(super) key: Option<FlowKey>,
}

impl Words<'_> {
    pub(super) fn nic(&self, n: NicIdx) -> String {
        let nic = &self.t.nics[n];
        match &nic.vm {
            Some(vm) => format!("{vm} ({}, NIC {})", nic.ip, nic.name),
            None => format!("NIC {} ({})", nic.name, nic.ip),
        }
    }

    fn vnet(&self, v: VnetIdx) -> &str {
        &self.t.vnets[v].name
    }

    fn link(&self, v: VnetIdx, l: LinkIdx) -> String {
        self.t.vnets[v]
            .links
            .get(l)
            .map_or_else(|| "(none)".to_string(), |l| l.id.name().to_string())
    }

    fn ctx_name(&self, ctx: RouteCtx) -> String {
        match ctx {
            RouteCtx::Subnet(s) => {
                let s = &self.t.subnets[s];
                format!("subnet {}/{}", self.vnet(s.vnet), s.id.name())
            }
            RouteCtx::Gateway(v) => format!("the gateway of {}", self.vnet(v)),
        }
    }

    fn ctx_vnet(&self, ctx: RouteCtx) -> VnetIdx {
        match ctx {
            RouteCtx::Subnet(s) => self.t.subnets[s].vnet,
            RouteCtx::Gateway(v) => v,
        }
    }

    fn route(&self, ctx: RouteCtx, row: RouteIdx) -> String {
        match ctx {
            RouteCtx::Subnet(s) => {
                let r = &self.t.subnets[s].routes[row];
                let ips: Vec<String> = r.next_hop_ips.iter().map(|i| i.to_string()).collect();
                let who = match (&r.name, r.source) {
                    (Some(n), _) => format!("user route {n}"),
                    (None, RouteSource::VirtualNetworkGateway) => "gateway route".to_string(),
                    (None, _) => "system route".to_string(),
                };
                format!(
                    "{} -> {}{} ({who})",
                    r.address_prefix,
                    r.next_hop_type,
                    if ips.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", ips.join(" "))
                    }
                )
            }
            RouteCtx::Gateway(v) => {
                let (p, hop) = &self.t.vnets[v]
                    .gateway
                    .as_ref()
                    .map(|g| g.routes[row].clone())
                    .unwrap_or_else(|| (Default::default(), CHop::Drop));
                let to = match hop {
                    CHop::VnetLocal { vnet } => self.vnet(*vnet).to_string(),
                    CHop::Peering { vnet, .. } => format!("{} over peering (gateway transit)", self.vnet(*vnet)),
                    CHop::Site { connection } => {
                        format!("connection {}", self.t.connections[*connection].name)
                    }
                    CHop::Vnet2Vnet { connection, vnet } => format!(
                        "{} over VNet-to-VNet connection {}",
                        self.vnet(*vnet),
                        self.t.connections[*connection].name
                    ),
                    CHop::Appliance { ips } => {
                        let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
                        format!("NVA {} (learned from Route Server, branch-to-branch)", ips.join(" "))
                    }
                    _ => "nowhere".into(),
                };
                format!("{p} -> {to}")
            }
        }
    }

    fn dir(d: Direction) -> &'static str {
        match d {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    fn nsg_rule(&self, nic: NicIdx, g: NsgIdx, d: Direction, rule: NsgRuleIdx) -> String {
        let nsg = &self.t.nsgs[g];
        let r = &nsg.rules(d)[rule.index()];
        let n = &self.t.nics[nic];
        let at = if n.nsg == Some(g) {
            format!("on NIC {}", n.name)
        } else {
            let s = &self.t.subnets[n.subnet];
            format!("on subnet {}/{}", self.vnet(s.vnet), s.id.name())
        };
        format!(
            "NSG {} {at}: rule {} (priority {}, {:?})",
            nsg.name, r.name, r.priority, r.access
        )
    }

    pub(super) fn step(&self, s: &Step) -> String {
        match *s {
            Step::Route { ctx, row } => format!("route in {}: {}", self.ctx_name(ctx), self.route(ctx, row)),
            Step::CrossPeering { from, to, link } => format!(
                "crosses peering {} from {} to {}",
                self.link(from, link),
                self.vnet(from),
                self.vnet(to)
            ),
            Step::Tracked { nic, direction } => format!(
                "{} NSGs of {}: flow already tracked, allowed (NSGs are stateful)",
                Self::dir(direction),
                self.nic(nic)
            ),
            Step::NoNsg { nic, direction } => format!(
                "{} NSGs of {}: none on NIC or subnet, allowed",
                Self::dir(direction),
                self.nic(nic)
            ),
            Step::PlatformDns { nic } => format!(
                "outbound NSGs of {}: DNS to 168.63.129.16 is subject only to rules naming the AzurePlatformDNS tag; none does, allowed",
                self.nic(nic)
            ),
            Step::Nsg {
                nic,
                direction,
                nsg,
                rule,
                ..
            } => format!("{} {}", Self::dir(direction), self.nsg_rule(nic, nsg, direction, rule)),
            Step::Dnat { nic, to } => format!("public IP translated to {to}, the private address of {}", self.nic(nic)),
            Step::Hairpin { public, snat } => {
                let owner = self
                    .t
                    .public_ip_owner(public)
                    .map_or_else(|| "a VM".to_string(), |m| self.nic(m));
                format!(
                    "{public} is the public IP of {owner}: the packet leaves Azure through the sender's outbound path, source translated to {snat}, and comes back in through that public IP, as from the Internet"
                )
            }
            Step::Balance { lb, rule, nic, pinned } => {
                let l = &self.t.lbs[lb];
                let r = &l.rules[rule];
                let (fe_name, fe_ip) = &l.frontends[r.frontend];
                let ports = if r.frontend_port == 0 {
                    "all ports (HA ports)".to_string()
                } else {
                    format!("{} {} -> {}", r.protocol.as_str(), r.frontend_port, r.backend_port)
                };
                let how = if pinned {
                    "the flow stays on the backend it was given"
                } else {
                    "a new flow: the rule's hash picks a healthy backend"
                };
                format!(
                    "{} load balancer {}: frontend {fe_name} ({fe_ip}), rule {} ({ports}); {how}: {}",
                    l.sku.as_str(),
                    l.name,
                    r.name,
                    self.nic(nic)
                )
            }
            Step::Endpoint { endpoint, service } => {
                let e = &self.t.endpoints[endpoint];
                format!(
                    "private endpoint {} ({}) leads over the Microsoft backbone to {}, in whatever region it is",
                    e.name, e.ip, self.t.services[service].name
                )
            }
            Step::Untranslate { ip } => {
                format!("the answer of a translated flow: its source becomes {ip} again, the address its sender used")
            }
            Step::PodRoute { cluster, node } => {
                let c = &self.t.overlay.clusters[cluster];
                format!(
                    "overlay routing of cluster {} (pod CIDR {}): to node {}, which holds the pods of {}",
                    c.name,
                    c.pod_cidr,
                    self.nic(node),
                    self.t
                        .overlay
                        .slice_of(node)
                        .map_or_else(String::new, |s| s.to_string())
                )
            }
        }
    }

    pub(super) fn verdict(&self, v: &Verdict) -> String {
        match *v {
            Verdict::Deliver { nic, nat: None } => format!("delivered to {}", self.nic(nic)),
            Verdict::Deliver { nic, nat: Some(r) } => match (r.side, self.key) {
                (Side::Destination, Some(k)) if self.t.public_ip_owner(k.dst) == Some(nic) => {
                    format!("delivered to {} through its public IP", self.nic(nic))
                }
                (Side::Destination, Some(k)) => format!(
                    "delivered to {}, the destination {} translated to {}",
                    self.nic(nic),
                    k.dst,
                    r.ip
                ),
                _ => format!("delivered to {}, the source translated back to {}", self.nic(nic), r.ip),
            },
            Verdict::ToAppliance { nic, .. } => format!(
                "handed to the network virtual appliance {}, whose NIC forwards IP",
                self.nic(nic)
            ),
            Verdict::ToService { service, .. } => format!(
                "carried over the Microsoft backbone to {}",
                self.t.services[service].name
            ),
            Verdict::ToAzureHost { .. } => {
                "delivered to the Azure host 168.63.129.16 (Azure-provided DNS, or the answer to a health probe)".into()
            }
            Verdict::ToInternet { snat } => format!("leaves Azure to the Internet, source translated to {snat}"),
            Verdict::Hairpin { nic, snat, dnat } => format!(
                "delivered to {} through its public IP (hairpin: source translated to {snat}, destination to {dnat})",
                self.nic(nic)
            ),
            Verdict::ToSite { connection } => {
                let c = &self.t.connections[connection];
                format!(
                    "sent through VPN connection {} to the on-premises site {}",
                    c.name,
                    c.site.as_ref().map_or("", |s| s.name())
                )
            }
            Verdict::Drop(r) => format!("dropped: {}", self.reason(&r)),
        }
    }

    fn dst(&self) -> String {
        self.key.map_or_else(|| "the destination".into(), |k| k.dst.to_string())
    }

    fn reason(&self, r: &DropReason) -> String {
        let t = self.t;
        match *r {
            DropReason::Malformed => "not a well-formed IPv4 packet".into(),
            DropReason::ProtocolBlocked { proto } => format!("IP protocol {proto} (GRE, IP-in-IP) is blocked in Azure virtual networks"),
            DropReason::NotUnicast => "broadcast and multicast do not exist in Azure virtual networks".into(),
            DropReason::FragmentOutOfOrder => "a fragment arrived before the first fragment of its datagram; Azure drops out-of-order fragments".into(),
            DropReason::VmNotRunning { nic } => format!("{} belongs to no running VM", self.nic(nic)),
            DropReason::SpoofedSource { nic } => format!(
                "{} sent from {}, which is not its own address, and its NIC has IP forwarding disabled",
                self.nic(nic),
                self.key.map_or_else(String::new, |k| k.src.to_string())
            ),
            DropReason::NotForwarding { nic } => format!("the packet is for {} but went to {}, whose NIC has IP forwarding disabled (enable it with az network nic update --ip-forwarding true)", self.dst(), self.nic(nic)),
            DropReason::NoRoute { ctx } => format!("no route for {} in {}", self.dst(), self.ctx_name(ctx)),
            DropReason::NextHopNone { ctx, row } => self.next_hop_none(ctx, row),
            DropReason::NoGateway { ctx, row } => {
                let why = match ctx {
                    RouteCtx::Subnet(s) => match &t.subnets[s].hops[row] {
                        CHop::NoGateway(w) => w.clone(),
                        _ => NoGateway::None,
                    },
                    RouteCtx::Gateway(_) => NoGateway::None,
                };
                let vnet = self.vnet(self.ctx_vnet(ctx));
                let because = match why {
                    NoGateway::None => format!("{vnet} has no VPN gateway or Route Server and uses none through a peering"),
                    NoGateway::TransitNotAllowed { hub_link, spoke_link } => format!(
                        "peering {} uses remote gateways, but the hub's peering {} does not allow gateway transit",
                        spoke_link.name(),
                        hub_link.as_ref().map_or("(missing)", |l| l.name())
                    ),
                    NoGateway::PeeringNotConnected { spoke_link } => format!("peering {} is not Connected", spoke_link.name()),
                    NoGateway::BasicSku { gateway } => format!("the hub's gateway {} is Basic SKU, which does not support gateway transit", gateway.name()),
                };
                format!("route {} sends to VirtualNetworkGateway, but {because}", self.route(ctx, row))
            }
            DropReason::NoHost { vnet, ctx, row } => {
                let dst = self.key.map(|k| k.dst);
                let reserved = dst.is_some_and(|d| t.subnets.iter().any(|s| s.vnet == vnet && s.prefix.contains(&d) && is_reserved_in_subnet(&s.prefix, d)));
                let extra = if reserved { " (Azure reserves it: .1 is the subnet's default gateway, .2 and .3 map Azure DNS; none of them answers)" } else { "" };
                format!("route {} leads into {}, but no running NIC there has address {}{extra}", self.route(ctx, row), self.vnet(vnet), self.dst())
            }
            DropReason::ApplianceUnreachable { ctx, row, ip } => format!("next hop {ip} of route {} is not the address of a NIC in {} or in a VNet peered with it", self.route(ctx, row), self.vnet(self.ctx_vnet(ctx))),
            DropReason::ForwardedTrafficNotAllowed { vnet, link } => format!(
                "the source {} is outside the sending VNet, and peering {} of {} does not allow forwarded traffic (allowForwardedTraffic is false)",
                self.key.map_or_else(String::new, |k| k.src.to_string()),
                self.link(vnet, link),
                self.vnet(vnet)
            ),
            DropReason::PeeringAccessBlocked { nic, vnet, link } => format!(
                "peering {} of {} has allowVirtualNetworkAccess off, so the peer is not in the VirtualNetwork tag of {}, and no NSG rule allows it explicitly",
                self.link(vnet, link),
                self.vnet(vnet),
                self.nic(nic)
            ),
            DropReason::NsgDenied { nic, direction, nsg, rule } => format!("{} denied by {}", Self::dir(direction), self.nsg_rule(nic, nsg, direction, rule)),
            DropReason::NoPublicIp => format!("{} is not a public IP of this lab", self.dst()),
            DropReason::FlowLimit { nic, direction } => format!(
                "the VM of {} already tracks {FLOW_LIMIT} {} flows over its NICs, Azure's limit per VM (500k inbound and 500k outbound); new connections are dropped until some of them end or go idle",
                self.nic(nic),
                if direction == Direction::Inbound { "inbound" } else { "outbound" }
            ),
            DropReason::PublicIpClosed { nic } => format!("the Standard public IP of {} is closed to inbound traffic unless an NSG allows it, and neither its NIC nor its subnet has an NSG", self.nic(nic)),
            DropReason::NoOutboundAccess { nic } => format!("{} has no public IP and its subnet has default outbound access disabled (a private subnet)", self.nic(nic)),
            DropReason::RoutingLoop => "the gateways forward into each other in a loop".into(),
            DropReason::BasicLbOverGlobalPeering { lb, vnet, link } => {
                let l = &t.lbs[lb];
                let (from, to) = (&t.vnets[vnet], &t.vnets[l.vnet]);
                let what = match &l.cache {
                    Some(cache) => format!("{} is the static IP of cache {cache}, which Azure serves through an internal Basic load balancer", self.dst()),
                    None => format!("{} is the frontend of Basic load balancer {}", self.dst(), l.name),
                };
                format!(
                    "{what} in {} ({}); the packet came from {} ({}) over global peering {}, and Basic load balancer frontends are not reachable over global VNet peering (the backends' own addresses are). Use a Standard load balancer, a private endpoint, or a VNet-to-VNet VPN connection instead of the peering",
                    to.name,
                    to.location,
                    from.name,
                    from.location,
                    self.link(vnet, link)
                )
            }
            DropReason::NoLbRule { lb, frontend } => {
                let l = &t.lbs[lb];
                let (name, ip) = &l.frontends[frontend];
                let what = self.key.map_or_else(String::new, |k| if k.has_ports() { format!("{} port {}", if k.proto == 6 { "TCP" } else { "UDP" }, k.dport) } else { format!("IP protocol {} (ping is not load-balanced)", k.proto) });
                let rules: Vec<String> = l.rules.iter().filter(|r| r.frontend == frontend).map(|r| if r.frontend_port == 0 { "all ports".to_string() } else { format!("{} {}", r.protocol.as_str(), r.frontend_port) }).collect();
                let has = if rules.is_empty() { "none".to_string() } else { rules.join(", ") };
                format!("load balancer {} has no load-balancing rule for {what} on frontend {name} ({ip}); its rules there cover: {has}. A frontend forwards only what a rule covers", l.name)
            }
            DropReason::NoHealthyBackend { lb, rule } => {
                let l = &t.lbs[lb];
                let r = &l.rules[rule];
                let (pool, members) = &l.pools[r.pool];
                let probe = r.probe.and_then(|p| l.probes.get(p)).map_or_else(String::new, |p| format!(" (health probe {}: {} port {})", p.name, p.protocol.as_str(), p.port));
                if members.is_empty() {
                    format!("rule {} of load balancer {} sends to backend pool {pool}, which has no members", r.name, l.name)
                } else {
                    format!("no backend of pool {pool} of load balancer {} is healthy{probe}: each is down or its VM is stopped, so new flows of rule {} have nowhere to go", l.name, r.name)
                }
            }
            DropReason::EndpointWithoutService { endpoint } => format!("private endpoint {} leads to a service that no longer exists", t.endpoints[endpoint].name),
            DropReason::EndpointProtocol { endpoint } => format!("private endpoint {} carries TCP and UDP only; ping does not reach a private endpoint", t.endpoints[endpoint].name),
            DropReason::Unsolicited => "not the answer of a flow that reached this sender: a service or the Azure host starts no flows, and a private endpoint serves VMs in the lab's VNets (its answers go straight back to the sending NIC)".into(),
            DropReason::PodAddressNotRouted { cluster } => {
                let c = &t.overlay.clusters[cluster];
                format!("{} is a pod address of cluster {} (pod CIDR {}); pod CIDRs are not routed by the VNet or over peering, only between the cluster's own nodes (a cluster mesh tunnels them between clusters)", self.dst(), c.name, c.pod_cidr)
            }
            DropReason::PodSourceOutsideCluster { nic, cluster } => {
                let c = &t.overlay.clusters[cluster];
                let src = self.key.map_or_else(|| "a pod address".into(), |k| k.src.to_string());
                format!("{} sent with source {src}, a pod address of cluster {}, to {} outside the cluster's pods and nodes; pod traffic leaves the cluster only SNATed to the node's IP", self.nic(nic), c.name, self.dst())
            }
            DropReason::NoPodNode { cluster } => {
                let c = &t.overlay.clusters[cluster];
                format!("{} is in the pod CIDR {} of cluster {}, but no node of the cluster holds its /24", self.dst(), c.pod_cidr, c.name)
            }
        }
    }

    /// A `None` next hop. When the destination lies in a VNet that is not
    /// peered with the sender's, say so, and name the transitive path a
    /// learner may have expected.
    fn next_hop_none(&self, ctx: RouteCtx, row: RouteIdx) -> String {
        let t = self.t;
        let route = self.route(ctx, row);
        let (RouteCtx::Subnet(s), Some(dst)) = (ctx, self.key.map(|k| k.dst)) else {
            return format!("route {route} drops it");
        };
        let r = &t.subnets[s].routes[row];
        if r.source == RouteSource::User {
            return format!(
                "user route {} in route table {} sends {} to next hop None",
                r.name.as_deref().unwrap_or(""),
                r.route_table.as_ref().map_or("", |x| x.name()),
                r.address_prefix
            );
        }
        let src = t.subnets[s].vnet;
        let sname = self.vnet(src);
        let targets: Vec<VnetIdx> = t.vnets_containing(dst).filter(|v| *v != src).collect();
        if targets.is_empty()
            && let Some(why) = self.unused_gateway(src, dst)
        {
            return why;
        }
        let Some(&dv) = targets.first() else {
            return format!(
                "{dst} is in none of the lab's VNets and matches Azure's reserved range {} (next hop None)",
                r.address_prefix
            );
        };
        let dname = self.vnet(dv);
        if let Some(l) = t.vnets[src].links.iter().find(|l| l.remote == Some(dv)) {
            return format!(
                "no route leads to {dst}: peering {} from {sname} to {dname} is {:?}; traffic flows only while both links are Connected",
                l.id.name(),
                l.state
            );
        }
        let via: Vec<&str> = t.vnets[src]
            .links
            .iter()
            .filter(|l| l.connected())
            .filter_map(|l| l.remote)
            .filter(|m| {
                t.vnets[*m]
                    .links
                    .iter()
                    .any(|l2| l2.connected() && l2.remote == Some(dv))
            })
            .map(|m| self.vnet(m))
            .collect();
        match via.first() {
            Some(m) => format!(
                "no route leads to {dst}: {dname} is not peered with {sname}, and peering is not transitive (both are peered with {m}); peer them directly or route through an NVA or gateway in {m}"
            ),
            None => format!("no route leads to {dst}: {dname} is not peered with {sname}"),
        }
    }

    /// `dst` is on-premises behind a gateway in another VNet that `src`
    /// does not use: say which flag or SKU keeps it from doing so (§4.4).
    fn unused_gateway(&self, src: VnetIdx, dst: Ipv4Addr) -> Option<String> {
        let t = self.t;
        let c = t
            .connections
            .iter()
            .find(|c| c.site_prefixes.iter().any(|p| p.contains(&dst)) && c.vnet.is_some_and(|v| v != src))?;
        let hub = c.vnet?;
        let (sname, hname) = (self.vnet(src), self.vnet(hub));
        let site = c.site.as_ref().map_or("the site", |s| s.name());
        let behind = format!(
            "{dst} is on-premises, behind local network gateway {site}, reached through connection {} of the VPN gateway in {hname}",
            c.name
        );
        let link = t.vnets[src].links.iter().find(|l| l.remote == Some(hub));
        let why = match (&t.vnets[src].no_gateway, link) {
            (_, None) => format!("{sname} is not peered with {hname}"),
            (Some(NoGateway::TransitNotAllowed { hub_link, .. }), _) => format!(
                "{sname} uses remote gateways, but {hname}'s peering {} does not allow gateway transit (allowGatewayTransit false)",
                hub_link.as_ref().map_or("(missing)", |l| l.name())
            ),
            (Some(NoGateway::BasicSku { gateway }), _) => format!(
                "{hname}'s gateway {} is Basic SKU, and a Basic VPN gateway does not support gateway transit",
                gateway.name()
            ),
            (Some(NoGateway::PeeringNotConnected { spoke_link }), _) => {
                format!("peering {} is not Connected", spoke_link.name())
            }
            (_, Some(l)) if !l.connected() => {
                format!("peering {} from {sname} to {hname} is {:?}", l.id.name(), l.state)
            }
            (_, Some(l)) => format!(
                "{sname}'s peering {} does not use remote gateways (useRemoteGateways false), so the gateway's routes are not in {sname}",
                l.id.name()
            ),
        };
        Some(format!("no route leads to {dst}: {behind}; {why}"))
    }
}
