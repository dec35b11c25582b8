//! Verdicts and their steps in plain words. Nothing here decides or
//! simulates anything: it words what `simulate` found (the decisions on
//! a packet's way, a round trip, a pod's path), with `words` naming the
//! lab's resources.

use std::net::Ipv4Addr;
use std::time::Instant;

use ipnet::Ipv4Net;

use super::health::LbHealth;
use super::index::NicIdx;
use super::simulate::node::{PodPath, pod_path};
use super::simulate::{self, Stop, Trace};
use super::tables::Tables;
use super::verdict::{Ingress, Step, Verdict};
use super::{ConnTrack, packet};
use crate::model::{Model, ResourceId};

#[cfg(test)]
mod tests;
mod words;

pub use super::simulate::probe_packet;
use words::Words;

#[derive(Clone, Debug)]
pub struct Explanation {
    pub verdict: Verdict,
    /// One line: what happens and why.
    pub summary: String,
    /// The chain of decisions, in order.
    pub steps: Vec<String>,
    pub raw_steps: Vec<Step>,
    /// The NVAs the packet crossed, in order.
    pub appliances: Vec<NicIdx>,
}

/// Runs the verdict function on `bytes` and explains the result. A packet
/// handed to an NVA is followed through it (`simulate::follow`).
pub fn explain(
    t: &Tables,
    health: &LbHealth,
    ct: &mut ConnTrack,
    ingress: Ingress,
    bytes: &[u8],
    now: Instant,
) -> Explanation {
    words(t, &simulate::follow(t, health, ct, ingress, bytes, now))
}

/// The explanation of a simulated packet's way.
pub fn words(t: &Tables, trace: &Trace) -> Explanation {
    let w = Words { t, key: trace.key };
    let mut steps = Vec::new();
    for (i, leg) in trace.legs.iter().enumerate() {
        steps.extend(leg.steps.iter().map(|s| w.step(s)));
        if let (Verdict::ToAppliance { nic, .. }, true) = (leg.verdict, i + 1 < trace.legs.len()) {
            steps.push(format!("the network virtual appliance {} forwards it: IP forwarding is on, and its kernel routes the packet back out of its NIC", w.nic(nic)));
        }
    }
    let verdict = trace.verdict();
    let appliances = trace.appliances();
    let via = |nvas: &[NicIdx]| nvas.iter().map(|n| w.nic(*n)).collect::<Vec<_>>();
    let summary = match &trace.stop {
        Some(Stop::AtAppliance { nic, route }) => {
            let by = route.map_or_else(String::new, |r| format!(" ({})", w.step(&r)));
            steps.push(format!(
                "if {} sent it back out of its NIC, its own subnet would hand it straight back to it{by}: the fabric takes it no further",
                w.nic(*nic)
            ));
            let before = &appliances[..appliances.len().saturating_sub(1)];
            let through = if before.is_empty() {
                String::new()
            } else {
                format!(
                    "through the network virtual appliance {}: ",
                    via(before).join(", then ")
                )
            };
            format!(
                "{through}{}; what it does next is its own routing (its kernel's routes, and those its router learned by BGP), state of the NVA that the fabric's tables do not hold: on a running lab, `vnetlab exec --lab LAB {} -- ip route get {}` shows its choice",
                w.verdict(&trace.legs[trace.legs.len() - 1].verdict),
                t.nics[*nic].vm.as_deref().unwrap_or(&t.nics[*nic].name),
                trace
                    .key
                    .map_or_else(|| "DESTINATION".to_string(), |k| k.dst.to_string()),
            )
        }
        Some(Stop::Loop { hops }) => {
            let mut circle = via(hops);
            circle.push(circle[0].clone());
            steps.push(format!(
                "the packet is back at {} as it was there before: a routing loop",
                circle[0]
            ));
            format!(
                "dropped: routing loop: the network virtual appliances forward it round in a circle, {} (each one's kernel routes it back out of its NIC, and its subnet's routes send it to the next), until its TTL runs out",
                circle.join(" -> ")
            )
        }
        None if !appliances.is_empty() => format!(
            "through the network virtual appliance {}: {}",
            via(&appliances).join(", then "),
            w.verdict(&verdict)
        ),
        None => w.verdict(&verdict),
    };
    Explanation {
        verdict,
        summary,
        steps,
        raw_steps: trace.legs.iter().flat_map(|l| l.steps.iter().copied()).collect(),
        appliances,
    }
}

/// The one-line sentence `explain` gives for `verdict` on `bytes`, without
/// re-running anything: what the live data plane's trace prints.
pub fn summarize(t: &Tables, verdict: &Verdict, bytes: &[u8]) -> String {
    let key = packet::parse(bytes).map(|p| p.key).ok();
    Words { t, key }.verdict(verdict)
}

/// How a packet an on-premises machine behind `lng` sends to `dst` enters
/// the fabric: through the connection whose tunnel the site's router
/// routes `dst` into (with the prefix it matched), or why it does not.
pub fn site_ingress(
    model: &Model,
    t: &Tables,
    lng: &ResourceId,
    dst: Ipv4Addr,
) -> Result<(Ingress, Ipv4Net, ResourceId), String> {
    let Some((prefix, conn)) = crate::routing::site_route_for(model, lng, dst) else {
        return Err(format!(
            "the on-premises router {} has no route to {dst}: no Azure gateway it is connected to advertises it (a gateway advertises its VNet, the spokes that use it through gateway transit and, when a Route Server in its VNet has branch-to-branch on, the NVAs' routes)",
            lng.name()
        ));
    };
    let c = t
        .connections
        .position(|c| c.id == conn)
        .ok_or_else(|| format!("connection {} is not in the compiled tables", conn.name()))?;
    Ok((Ingress::Connection(c), prefix, conn))
}

/// Whether a request from `from` (a VM's NIC, the Cloud Shell on the
/// Internet side, or an on-premises site's tunnel) to `dst` and its answer
/// both get through, as a real ping or TCP handshake needs; with the
/// explanation of the first leg that fails (or of the request when both
/// pass).
pub fn round_trip(
    t: &Tables,
    health: &LbHealth,
    from: Ingress,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
    now: Instant,
) -> (bool, Explanation) {
    round_trip_from(t, health, from, None, dst, protocol, port, now)
}

/// [`round_trip`] from sender address `src` (an on-premises machine, a
/// pod) instead of the ingress's own.
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
) -> (bool, Explanation) {
    explain_round_trip(
        t,
        &simulate::round_trip_from(t, health, from, src, dst, protocol, port, now),
    )
}

fn explain_round_trip(t: &Tables, r: &simulate::RoundTrip) -> (bool, Explanation) {
    match (&r.back, r.ok) {
        (Some(back), false) => {
            let back = words(t, back);
            (
                false,
                Explanation {
                    summary: format!("the answer is {}", back.summary),
                    ..back
                },
            )
        }
        (_, ok) => (ok, words(t, &r.there)),
    }
}

/// Whether a ping or TCP handshake from a pod (address `pod_ip`, on node
/// `node`) to `dst` gets through and why: the node's kernel's choice of
/// way out, then the fabric's verdicts (`simulate::node`).
#[allow(clippy::too_many_arguments)]
pub fn pod_round_trip(
    t: &Tables,
    health: &LbHealth,
    node: NicIdx,
    pod_ip: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
    now: Instant,
) -> (bool, String) {
    let nic = &t.nics[node];
    let node_name = nic.vm.clone().unwrap_or_else(|| nic.name.clone());
    let path = pod_path(t, health, node, pod_ip, dst, protocol, port, now);
    let why = match &path {
        PodPath::SameNode => format!(
            "{dst} is a pod on the same node {node_name}: its kernel delivers it over the pods' veths; the fabric never sees it"
        ),
        PodPath::Direct(r) => format!(
            "{pod_ip} leaves node {node_name} with its pod address: {}",
            explain_round_trip(t, r).1.summary
        ),
        PodPath::Snat(r) => format!(
            "node {node_name} SNATs it to its own address {}: {}",
            nic.ip,
            explain_round_trip(t, r).1.summary
        ),
        PodPath::Tunnel { remote, there, back } => {
            let remote = &t.nics[*remote];
            let remote_name = remote.vm.clone().unwrap_or_default();
            let failing = if there.ok && !back.ok { back } else { there };
            format!(
                "cluster mesh: node {node_name} encapsulates it in VXLAN (UDP {}) to node {remote_name} ({}), which holds {dst}'s /24; the tunnel's packets: {}",
                super::overlay::MESH_VXLAN_PORT,
                remote.ip,
                explain_round_trip(t, failing).1.summary
            )
        }
    };
    (path.ok(), why)
}
