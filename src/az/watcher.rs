//! Network Watcher's answers (azure-semantics §8), computed by the same
//! verdict function the data plane runs. The offline `vnetlab next-hop`
//! and `ip-flow` commands print these documents too.

use std::net::Ipv4Addr;
use std::time::Instant;

use serde_json::{Value, json};

use crate::dataplane::explain::{explain, probe_packet, round_trip};
use crate::dataplane::packet::FlowKey;
use crate::dataplane::{
    ConnTrack, DropReason, Ingress, LbHealth, NicIdx, RouteCtx, Step, Tables, Verdict, nsg_decision,
};
use crate::model::vm_create::IP_CONFIGURATION_NAME;
use crate::model::{Direction, Model, ResourceId};
use crate::routing::RouteSource;

/// `show-next-hop`: `{nextHopIpAddress, nextHopType, routeTableId}`, or
/// the explanation of why no route applies.
pub fn next_hop(t: &Tables, nic: NicIdx, src: Ipv4Addr, dst: Ipv4Addr) -> Result<Value, String> {
    let pkt = probe_packet(src, dst, "icmp", 1, 1, false).ok_or("cannot build a probe packet")?;
    // The az front reads the model only, not the prober's results: every
    // backend counts as up.
    let health = LbHealth::all_up();
    let e = explain(
        t,
        &health,
        &mut ConnTrack::new(),
        Ingress::Nic(nic),
        &pkt,
        Instant::now(),
    );
    let Some((s, row)) = e.raw_steps.iter().find_map(|s| match s {
        Step::Route {
            ctx: RouteCtx::Subnet(s),
            row,
        } => Some((*s, *row)),
        _ => None,
    }) else {
        // No route at all: Network Watcher answers None.
        return Ok(json!({ "nextHopIpAddress": null, "nextHopType": "None", "routeTableId": "System Route" }));
    };
    let r = &t.subnets[s].routes[row];
    // Network Watcher has one peering value for both kinds of peering.
    let hop_type = match r.next_hop_type.as_str() {
        "VNetPeering" | "VNetGlobalPeering" => "VnetPeering",
        other => other,
    };
    let table_id = r
        .route_table
        .as_ref()
        .map_or_else(|| "System Route".to_string(), |id| id.to_string());
    Ok(
        json!({ "nextHopIpAddress": r.next_hop_ips.first().map(|i| i.to_string()), "nextHopType": hop_type, "routeTableId": table_id }),
    )
}

/// `IP:PORT` as test-ip-flow's --local/--remote take it, `*` for any port.
pub fn endpoint(s: &str) -> Result<(Ipv4Addr, u16), String> {
    let (addr, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("expected IP:PORT, got '{s}'"))?;
    let ip = addr.parse().map_err(|_| format!("'{addr}' is not an IPv4 address"))?;
    let port = if port == "*" {
        0
    } else {
        port.parse()
            .map_err(|_| format!("'{port}' is not a port (0-65535 or *)"))?
    };
    Ok((ip, port))
}

/// IP flow verify's local address must be the NIC's own.
pub fn check_local(t: &Tables, nic: NicIdx, local: Ipv4Addr) -> Result<(), crate::model::AzureError> {
    let own = t.nics[nic].ip;
    if local == own {
        return Ok(());
    }
    Err(crate::model::AzureError::new(
        crate::model::ErrorCode::InvalidParameter,
        format!("Local IP address {local} is not one of the VM's private addresses ({own})."),
    ))
}

/// `test-ip-flow`: which NSG rule decides a flow at the NIC.
pub fn ip_flow(
    t: &Tables,
    nic: NicIdx,
    direction: Direction,
    proto: u8,
    local: (Ipv4Addr, u16),
    remote: (Ipv4Addr, u16),
) -> Value {
    let key = match direction {
        Direction::Inbound => FlowKey {
            src: remote.0,
            dst: local.0,
            proto,
            sport: remote.1,
            dport: local.1,
        },
        Direction::Outbound => FlowKey {
            src: local.0,
            dst: remote.0,
            proto,
            sport: local.1,
            dport: remote.1,
        },
    };
    let mut steps = Vec::new();
    let result = nsg_decision(t, nic, direction, &key, &mut steps);
    let last_rule = steps.iter().rev().find_map(|s| match s {
        Step::Nsg {
            nsg, rule, direction, ..
        } => Some(t.nsgs[*nsg].rules(*direction)[rule.index()].qualified_name()),
        _ => None,
    });
    let access = if result.is_ok() { "Allow" } else { "Deny" };
    json!({ "access": access, "ruleName": last_rule.unwrap_or_default() })
}

/// What a real probe measured, when the lab is live.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub sent: u32,
    pub failed: u32,
    pub latencies_ms: Vec<f64>,
}

/// The IP configuration of the NIC (or service instance) `id`: a
/// service's instance has no NIC in the model and takes the default name.
fn config_id(m: &Model, id: &ResourceId) -> ResourceId {
    m.network_interfaces.get(id).map_or_else(
        || id.child("ipConfigurations", IP_CONFIGURATION_NAME),
        |n| n.ip_configuration_id(),
    )
}

/// `test-connectivity`: the verdict for a request and its answer, with
/// the hops and the issue that stops it, and what real probes measured.
pub fn connectivity(
    m: &Model,
    t: &Tables,
    nic: NicIdx,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
    measured: Option<Measured>,
) -> Value {
    // As for next-hop: the model only, every backend up.
    let health = LbHealth::all_up();
    let (ok, e) = round_trip(t, &health, Ingress::Nic(nic), dst, protocol, port, Instant::now());
    let src = &t.nics[nic];
    let mut source_issues = Vec::new();
    let mut dest_issues = Vec::new();
    if let Verdict::Drop(reason) = e.verdict {
        let issue = |origin: &str, kind: &str, context: Value| json!({ "context": context, "origin": origin, "severity": "Error", "type": kind });
        match reason {
            DropReason::NsgDenied {
                nic: at,
                direction,
                nsg,
                rule,
            } => {
                let name = t.nsgs[nsg].rules(direction)[rule.index()].name.clone();
                let origin = if direction == Direction::Outbound {
                    "Outbound"
                } else {
                    "Inbound"
                };
                let it = issue(
                    origin,
                    "NetworkSecurityRule",
                    json!([{ "key": "RuleName", "value": name }]),
                );
                if at == nic {
                    source_issues.push(it)
                } else {
                    dest_issues.push(it)
                }
            }
            DropReason::NextHopNone {
                ctx: RouteCtx::Subnet(s),
                row,
            }
            | DropReason::NoGateway {
                ctx: RouteCtx::Subnet(s),
                row,
            }
            | DropReason::ApplianceUnreachable {
                ctx: RouteCtx::Subnet(s),
                row,
                ..
            } if t.subnets[s].routes[row].source == RouteSource::User => {
                let r = &t.subnets[s].routes[row];
                source_issues.push(issue(
                    "Outbound",
                    "UserDefinedRoute",
                    json!([{ "key": "RouteName", "value": r.name.clone().unwrap_or_default() }]),
                ));
            }
            DropReason::VmNotRunning { .. } => dest_issues.push(issue("Inbound", "AgentStopped", json!([]))),
            _ => source_issues.push(issue(
                "Outbound",
                "Platform",
                json!([{ "key": "Reason", "value": e.summary.clone() }]),
            )),
        }
    }
    let dest_nic = t.nics.iter().find(|n| n.ip == dst);
    let mut hops = vec![json!({
        "address": src.ip.to_string(),
        "id": crate::az::render::guid(&src.id, "hop"),
        "issues": source_issues,
        "nextHopIds": [],
        "resourceId": config_id(m, &src.id).as_str(),
        "type": "Source",
    })];
    for &a in &e.appliances {
        let nva = &t.nics[a];
        hops.push(json!({
            "address": nva.ip.to_string(),
            "id": crate::az::render::guid(&nva.id, "hop"),
            "issues": [],
            "nextHopIds": [],
            "resourceId": config_id(m, &nva.id).as_str(),
            "type": "VirtualAppliance",
        }));
    }
    if ok || !dest_issues.is_empty() {
        hops.push(json!({
            "address": dst.to_string(),
            "id": dest_nic.map_or_else(|| "destination".to_string(), |n| crate::az::render::guid(&n.id, "hop")),
            "issues": dest_issues,
            "nextHopIds": [],
            "resourceId": dest_nic.map_or_else(|| "Internet".to_string(), |n| config_id(m, &n.id).to_string()),
            "type": if dest_nic.is_some() { "VnetLocal" } else { "Internet" },
        }));
    }
    for i in 1..hops.len() {
        let next = hops[i]["id"].clone();
        hops[i - 1]["nextHopIds"] = json!([next]);
    }
    let m = measured.unwrap_or(Measured {
        sent: 0,
        failed: 0,
        latencies_ms: vec![],
    });
    let reached = if m.sent > 0 { m.failed < m.sent } else { ok };
    let stat = |f: fn(f64, f64) -> f64| {
        m.latencies_ms
            .iter()
            .copied()
            .reduce(f)
            .map(|v| (v * 1000.0).round() / 1000.0)
    };
    let avg = (!m.latencies_ms.is_empty())
        .then(|| (m.latencies_ms.iter().sum::<f64>() / m.latencies_ms.len() as f64).round());
    json!({
        "avgLatencyInMs": avg.map(|v| v as u64),
        "connectionStatus": if reached { "Reachable" } else { "Unreachable" },
        "hops": hops,
        "maxLatencyInMs": stat(f64::max).map(|v| v.round() as u64),
        "minLatencyInMs": stat(f64::min).map(|v| v.round() as u64),
        "probesFailed": m.failed,
        "probesSent": m.sent,
    })
}
