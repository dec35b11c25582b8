//! The per-flow state machine: `B` on a flow's first packet, `C` with the
//! counters of each closed interval, `E` when the flow ends (FIN, RST, or
//! idle expiry), `D` for each denied packet.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// A flow's 5-tuple as the packet carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// IANA protocol number (6 TCP, 17 UDP, 1 ICMP).
    pub protocol: u8,
}

impl FlowKey {
    /// The same flow seen from the other end: how its replies look.
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            protocol: self.protocol,
        }
    }
}

/// Which way a flow crosses the NIC the log is for, fixed by its first
/// packet: `I` for a flow that came in, `O` for one the VM started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowDirection {
    Inbound,
    Outbound,
}

impl FlowDirection {
    fn letter(self) -> char {
        match self {
            FlowDirection::Inbound => 'I',
            FlowDirection::Outbound => 'O',
        }
    }
}

/// The security rule that decided a flow, as flow logs name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The `aclID` the rule's flow group sits under (the NSG's identity).
    pub acl_id: String,
    /// The full name: `DefaultRule_DenyAllInBound`, `UserRule_AllowSsh`.
    pub name: String,
}

impl Rule {
    /// Azure: default rules are logged as `DefaultRule_<name>` (azure-semantics-2 §5.1/§5.2).
    pub fn default_rule(acl_id: impl Into<String>, name: &str) -> Rule {
        Rule {
            acl_id: acl_id.into(),
            name: format!("DefaultRule_{name}"),
        }
    }

    /// Azure: user-defined rules are logged as `UserRule_<name>`.
    pub fn user_rule(acl_id: impl Into<String>, name: &str) -> Rule {
        Rule {
            acl_id: acl_id.into(),
            name: format!("UserRule_{name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Rule),
    Deny(Rule),
}

/// Why a flow ended, as connection tracking saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEnd {
    Fin,
    Rst,
    Idle,
}

/// One packet (or a batch of one flow's packets) as the data plane saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowEvent {
    /// Milliseconds since the UNIX epoch; events come in time order.
    pub ts_ms: u64,
    /// The packet's own 5-tuple: a reply carries the flow's key reversed.
    pub key: FlowKey,
    /// Which way this packet crossed the NIC; used when it starts a flow.
    pub direction: FlowDirection,
    pub decision: Decision,
    /// IP bytes, headers included (Azure: "bytes include headers").
    pub bytes: u64,
    pub packets: u64,
    /// Set when this packet ends the flow.
    pub end: Option<FlowEnd>,
}

/// The tuple's flow state column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    Begin,
    Continuing,
    End,
    Deny,
}

impl FlowState {
    fn letter(self) -> char {
        match self {
            FlowState::Begin => 'B',
            FlowState::Continuing => 'C',
            FlowState::End => 'E',
            FlowState::Deny => 'D',
        }
    }
}

/// Counts since the flow's previous tuple. "Sent" is initiator to
/// responder (the tuple's source to its destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
}

impl Counters {
    fn is_zero(&self) -> bool {
        *self == Counters::default()
    }
}

/// One flow-log tuple plus where it is filed (its rule's flow group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowTuple {
    pub ts_ms: u64,
    /// The flow's key: source is the side that started it.
    pub key: FlowKey,
    pub direction: FlowDirection,
    pub state: FlowState,
    /// Azure: the encryption column; `NX` (not encrypted) is the default
    /// and the only value an emulated fabric without VNet encryption gives.
    pub encryption: &'static str,
    pub counters: Counters,
    pub rule: Rule,
}

impl fmt::Display for FlowTuple {
    /// The 13 comma-separated fields of a v4 `flowTuples` entry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = &self.key;
        let c = &self.counters;
        write!(
            f,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.ts_ms,
            k.src,
            k.dst,
            k.src_port,
            k.dst_port,
            k.protocol,
            self.direction.letter(),
            self.state.letter(),
            self.encryption,
            c.packets_sent,
            c.bytes_sent,
            c.packets_received,
            c.bytes_received
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLogConfig {
    /// How often a live flow reports its counters as a `C` tuple.
    /// Azure: VNet flow logs are "collected at 1-minute intervals".
    pub interval_ms: u64,
    /// A flow with no packet for this long ends (`E`).
    /// UNCONFIRMED: 4 minutes, Azure's default TCP idle timeout; Azure does
    /// not document when flow logging considers a flow idle.
    pub idle_timeout_ms: u64,
}

impl Default for FlowLogConfig {
    fn default() -> Self {
        FlowLogConfig {
            interval_ms: 60_000,
            idle_timeout_ms: 240_000,
        }
    }
}

#[derive(Debug)]
struct Flow {
    direction: FlowDirection,
    rule: Rule,
    pending: Counters,
    last_seen_ms: u64,
}

/// One NIC's flow log: feed it events in time order (and [`FlowLogger::tick`]
/// when no packets come), take the tuples it produced.
#[derive(Debug)]
pub struct FlowLogger {
    config: FlowLogConfig,
    flows: HashMap<FlowKey, Flow>,
    /// Start of the interval whose counters are accumulating.
    interval_start_ms: Option<u64>,
    out: Vec<FlowTuple>,
}

impl FlowLogger {
    pub fn new(config: FlowLogConfig) -> Self {
        FlowLogger {
            // An interval of 0 would report forever at one instant.
            config: FlowLogConfig {
                interval_ms: config.interval_ms.max(1),
                ..config
            },
            flows: HashMap::new(),
            interval_start_ms: None,
            out: Vec::new(),
        }
    }

    /// Flows now open.
    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    pub fn record(&mut self, ev: FlowEvent) {
        self.tick(ev.ts_ms);
        let rule = match ev.decision {
            Decision::Deny(rule) => {
                // Azure: a denied packet is one `D` tuple with zero counters
                // under the deciding rule; it opens no flow.
                self.out.push(FlowTuple {
                    ts_ms: ev.ts_ms,
                    key: ev.key,
                    direction: ev.direction,
                    state: FlowState::Deny,
                    encryption: "NX",
                    counters: Counters::default(),
                    rule,
                });
                return;
            }
            Decision::Allow(rule) => rule,
        };
        let reply = ev.key.reversed();
        let (key, forward) = if self.flows.contains_key(&ev.key) {
            (ev.key, true)
        } else if self.flows.contains_key(&reply) {
            (reply, false)
        } else {
            self.out.push(FlowTuple {
                ts_ms: ev.ts_ms,
                key: ev.key,
                direction: ev.direction,
                state: FlowState::Begin,
                encryption: "NX",
                counters: Counters::default(),
                rule: rule.clone(),
            });
            self.flows.insert(
                ev.key,
                Flow {
                    direction: ev.direction,
                    rule,
                    pending: Counters::default(),
                    last_seen_ms: ev.ts_ms,
                },
            );
            (ev.key, true)
        };
        let Some(flow) = self.flows.get_mut(&key) else {
            return; // found or inserted just above
        };
        flow.last_seen_ms = ev.ts_ms;
        let c = &mut flow.pending;
        let (packets, bytes) = if forward {
            (&mut c.packets_sent, &mut c.bytes_sent)
        } else {
            (&mut c.packets_received, &mut c.bytes_received)
        };
        *packets = packets.saturating_add(ev.packets);
        *bytes = bytes.saturating_add(ev.bytes);
        if ev.end.is_some()
            && let Some(flow) = self.flows.remove(&key)
        {
            self.out.push(end_tuple(key, flow, ev.ts_ms));
        }
    }

    /// Moves time to `now_ms`: closes every interval that ended by then
    /// (a `C` for each flow that had traffic in it) and ends every flow idle
    /// for the timeout (an `E`, dated when it expired).
    pub fn tick(&mut self, now_ms: u64) {
        let interval = self.config.interval_ms;
        let floor = now_ms - now_ms % interval;
        let mut start = match self.interval_start_ms {
            Some(s) => s,
            None => floor,
        };
        loop {
            if self.flows.values().all(|f| f.pending.is_zero()) {
                // Nothing to report at any boundary before now's interval.
                start = start.max(floor);
            }
            let boundary = start.saturating_add(interval);
            let expiry = self
                .flows
                .values()
                .map(|f| f.last_seen_ms.saturating_add(self.config.idle_timeout_ms))
                .min();
            let next = expiry.map_or(boundary, |e| e.min(boundary));
            if next > now_ms {
                break;
            }
            if expiry.is_some_and(|e| e <= boundary) {
                // Expire first at a tie: the E carries the counters.
                let idle = self.config.idle_timeout_ms;
                let mut expired: Vec<FlowKey> = self
                    .flows
                    .iter()
                    .filter(|(_, f)| f.last_seen_ms.saturating_add(idle) == next)
                    .map(|(k, _)| *k)
                    .collect();
                expired.sort();
                for key in expired {
                    if let Some(flow) = self.flows.remove(&key) {
                        self.out.push(end_tuple(key, flow, next));
                    }
                }
                continue;
            }
            let mut report: Vec<FlowTuple> = self
                .flows
                .iter_mut()
                .filter(|(_, f)| !f.pending.is_zero())
                .map(|(key, f)| FlowTuple {
                    // Dated at the flow's last packet in the interval, so
                    // the tuple falls in the minute whose traffic it counts.
                    ts_ms: f.last_seen_ms,
                    key: *key,
                    direction: f.direction,
                    state: FlowState::Continuing,
                    encryption: "NX",
                    counters: std::mem::take(&mut f.pending),
                    rule: f.rule.clone(),
                })
                .collect();
            report.sort_by_key(|t| (t.ts_ms, t.key));
            self.out.extend(report);
            start = boundary;
        }
        self.interval_start_ms = Some(start);
    }

    /// The tuples produced so far, oldest first.
    pub fn take_tuples(&mut self) -> Vec<FlowTuple> {
        let mut out = std::mem::take(&mut self.out);
        out.sort_by_key(|t| t.ts_ms); // stable: one instant keeps its order
        out
    }
}

fn end_tuple(key: FlowKey, flow: Flow, ts_ms: u64) -> FlowTuple {
    FlowTuple {
        ts_ms,
        key,
        direction: flow.direction,
        state: FlowState::End,
        encryption: "NX",
        counters: flow.pending,
        rule: flow.rule,
    }
}
