//! Following packets through the fabric, in the pure code: what `explain`,
//! `vnetlab test`, Network Watcher and `analyze` need to know beyond one
//! verdict. A packet handed to an NVA comes back out of the NVA's NIC, as
//! the live lab's forwarding namespaces send it ([`follow`]); a request
//! and its answer make a round trip ([`round_trip_from`]); a pod's packet
//! first meets its node's kernel ([`node`]).
//!
//! Nothing here words anything: the results are verdicts and steps, which
//! `explain` puts into sentences. Health is an input, as for `decide`, so
//! a simulation given the live lab's health takes the fabric's path.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::conntrack::ConnTrack;
use super::health::LbHealth;
use super::index::NicIdx;
use super::nat::{self, L4Checksum};
use super::packet::{self, FlowKey};
use super::tables::{SERVICE_IP, Tables};
use super::verdict::{CLOUD_SHELL_IP, Ingress, Step, Verdict, decide_with};
use crate::model::AZURE_HOST_IP;

pub mod node;

/// A backstop only: a loop is found when a packet comes back to a NIC in
/// the state it had there ([`follow`]). A translation on every NVA hop
/// could change that state each time; after this many NVAs the path is
/// reported as a loop all the same.
const MAX_APPLIANCES: usize = 32;

/// One decision of the fabric on a packet's way.
#[derive(Clone, Debug)]
pub struct Leg {
    pub from: Ingress,
    pub steps: Vec<Step>,
    pub verdict: Verdict,
}

/// Why a simulation ended before the fabric decided the packet's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The packet was handed to the NVA `nic`, and its own subnet's route
    /// (`route`, the step that chose it) would hand it straight back to it
    /// if its kernel sent it out of its NIC. So what happens next is the
    /// NVA's own routing (its kernel's routes, those its router learned by
    /// BGP), which the tables do not hold: the simulation stops there.
    AtAppliance { nic: NicIdx, route: Option<Step> },
    /// The NVAs `hops`, in order, forward the packet round in a circle: it
    /// came back to the first one's NIC as it was there before.
    Loop { hops: Vec<NicIdx> },
}

/// What happened to one packet: the decisions the fabric took, in order.
/// Every leg but the last handed the packet to an NVA that forwarded it.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The packet as its sender sent it (`None`: not a parseable packet).
    pub key: Option<FlowKey>,
    /// Never empty.
    pub legs: Vec<Leg>,
    /// Set when the simulation ended without a verdict of the fabric's.
    pub stop: Option<Stop>,
}

impl Trace {
    /// The packet's fate: the last decision, or a drop for a loop (the
    /// packet circles until its TTL runs out).
    pub fn verdict(&self) -> Verdict {
        if let Some(Stop::Loop { .. }) = self.stop {
            return Verdict::Drop(super::verdict::DropReason::RoutingLoop);
        }
        self.legs
            .last()
            .map_or(Verdict::Drop(super::verdict::DropReason::Malformed), |l| l.verdict)
    }

    /// The NVAs the packet crossed (or, stopped at an NVA, reached), in
    /// order.
    pub fn appliances(&self) -> Vec<NicIdx> {
        self.legs
            .iter()
            .filter_map(|l| match l.verdict {
                Verdict::ToAppliance { nic, .. } => Some(nic),
                _ => None,
            })
            .collect()
    }
}

/// Decides `bytes` entering at `ingress`, and again wherever an NVA
/// forwards it (its kernel routes it back out of its NIC, translated as
/// the fabric delivered it), until it is delivered, leaves or is dropped;
/// or until an NVA's own subnet would hand it straight back to that NVA
/// (its own routing decides, [`Stop::AtAppliance`]), or it comes back to
/// an NVA's NIC as it was there before ([`Stop::Loop`]).
pub fn follow(
    t: &Tables,
    health: &LbHealth,
    ct: &mut ConnTrack,
    ingress: Ingress,
    bytes: &[u8],
    now: Instant,
) -> Trace {
    let key = packet::parse(bytes).map(|p| p.key).ok();
    let mut legs: Vec<Leg> = Vec::new();
    let mut from = ingress;
    let mut pkt = bytes.to_vec();
    // The (NVA, packet) states the packet left from: the fabric's decision
    // is a function of them, so meeting one again is a loop.
    let mut seen: Vec<(NicIdx, Vec<u8>)> = Vec::new();
    loop {
        let mut steps = Vec::new();
        let verdict = decide_with(t, health, ct, from, &pkt, now, &mut steps);
        let Verdict::ToAppliance { nic, nat } = verdict else {
            legs.push(Leg { from, steps, verdict });
            return Trace { key, legs, stop: None };
        };
        if from == Ingress::Nic(nic) && !legs.is_empty() {
            // Back to the NVA it came out of: sending it out of its NIC
            // cannot be what its kernel does unless it wants a loop; where
            // it goes instead is the NVA's routing, unknown here.
            let route = steps.iter().rev().find(|s| matches!(s, Step::Route { .. })).copied();
            return Trace {
                key,
                legs,
                stop: Some(Stop::AtAppliance { nic, route }),
            };
        }
        legs.push(Leg { from, steps, verdict });
        if let Some(r) = nat {
            nat::apply(&mut pkt, &r, L4Checksum::Full);
        }
        let first = seen.iter().position(|(n, p)| *n == nic && *p == pkt);
        if first.is_some() || seen.len() >= MAX_APPLIANCES {
            let hops = seen[first.unwrap_or(0)..].iter().map(|(n, _)| *n).collect();
            return Trace {
                key,
                legs,
                stop: Some(Stop::Loop { hops }),
            };
        }
        seen.push((nic, pkt.clone()));
        from = Ingress::Nic(nic);
    }
}

/// A request and, if it reached someone who answers, the answer.
#[derive(Clone, Debug)]
pub struct RoundTrip {
    pub there: Trace,
    pub back: Option<Trace>,
    /// The answer reached the request's sender: a real ping or TCP
    /// handshake would complete.
    pub ok: bool,
}

/// A flow to test, built as real packet bytes so that simulations go
/// through exactly the code path of live packets. For ICMP the ports are
/// the echo identifier; `reply` builds the answer (echo reply, or the
/// same TCP/UDP flow in the other direction when src and dst are swapped).
pub fn probe_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: &str,
    sport: u16,
    dport: u16,
    reply: bool,
) -> Option<Vec<u8>> {
    use etherparse::{IcmpEchoHeader, Icmpv4Type, PacketBuilder};
    let b = PacketBuilder::ipv4(src.octets(), dst.octets(), 64);
    let mut out = Vec::new();
    let ok = match protocol.to_ascii_lowercase().as_str() {
        "tcp" => {
            let t = b.tcp(sport, dport, 1, 65535);
            if reply { t.syn().ack(1) } else { t.syn() }
                .write(&mut out, &[])
                .is_ok()
        }
        "udp" => b.udp(sport, dport).write(&mut out, &[]).is_ok(),
        "icmp" => {
            let echo = IcmpEchoHeader { id: sport, seq: 1 };
            let t = if reply {
                Icmpv4Type::EchoReply(echo)
            } else {
                Icmpv4Type::EchoRequest(echo)
            };
            b.icmpv4(t).write(&mut out, &[]).is_ok()
        }
        _ => false,
    };
    ok.then_some(out)
}

/// Whether a request from `from` (a VM's NIC, the Cloud Shell on the
/// Internet side, or an on-premises site's tunnel) to `dst` and its answer
/// both get through, as a real ping or TCP handshake needs. The sender is
/// `src` if given (an on-premises machine, a pod); the others have their
/// own address. Both packets share one fresh connection tracker, so the
/// answer is the answer of the request's flow.
#[allow(clippy::too_many_arguments)]
pub fn round_trip_from(
    t: &Tables,
    health: &LbHealth,
    from: Ingress,
    src: Option<Ipv4Addr>,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
    now: Instant,
) -> RoundTrip {
    let mut ct = ConnTrack::new();
    let src = match (from, src) {
        (_, Some(ip)) => ip,
        (Ingress::Nic(n), None) => t.nics[n].ip,
        (Ingress::Internet | Ingress::Connection(_), None) => CLOUD_SHELL_IP,
        (Ingress::Service(_), None) => SERVICE_IP,
        (Ingress::AzureHost, None) => AZURE_HOST_IP,
    };
    let (sport, dport) = if protocol.eq_ignore_ascii_case("icmp") {
        (4242, 4242)
    } else {
        (49152, port)
    };
    let failed = |there| RoundTrip {
        there,
        back: None,
        ok: false,
    };
    let Some(req) = probe_packet(src, dst, protocol, sport, dport, false) else {
        return failed(follow(t, health, &mut ct, from, &[], now));
    };
    let there = follow(t, health, &mut ct, from, &req, now);
    // The answer leaves the receiver from its private address (a public
    // IP's translation back is the fabric's business), or comes back out
    // of the site's tunnel.
    // A pod answers from its own address, through its node; a translated
    // destination answers from the address (and port) it became.
    // Through a hairpin the receiver saw the sender's translated source,
    // and answers that.
    let (back_from, reply_src, reply_port, reply_dst) = match there.verdict() {
        Verdict::Deliver { nic: to, nat: None } => (Ingress::Nic(to), dst, dport, src),
        Verdict::Deliver { nic: to, nat: Some(r) } => (Ingress::Nic(to), r.ip, r.port.unwrap_or(dport), src),
        Verdict::Hairpin { nic: to, snat, dnat } => (Ingress::Nic(to), dnat, dport, snat),
        Verdict::ToSite { connection } => (Ingress::Connection(connection), dst, dport, src),
        Verdict::ToService { service, nat } => (Ingress::Service(service), nat.ip, nat.port.unwrap_or(dport), src),
        _ => return failed(there),
    };
    let Some(rep) = probe_packet(reply_src, reply_dst, protocol, reply_port, sport, true) else {
        return failed(there);
    };
    let back = follow(t, health, &mut ct, back_from, &rep, now);
    let ok = match (back.verdict(), from) {
        (Verdict::Deliver { nic, .. } | Verdict::Hairpin { nic, .. }, Ingress::Nic(n)) => nic == n,
        (Verdict::ToInternet { snat }, Ingress::Internet) => snat == dst,
        (Verdict::ToSite { connection }, Ingress::Connection(c)) => {
            t.connections[connection].site == t.connections[c].site
        }
        _ => false,
    };
    RoundTrip {
        there,
        back: Some(back),
        ok,
    }
}
