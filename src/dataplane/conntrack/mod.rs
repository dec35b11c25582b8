//! Connection tracking: NSGs are stateful (azure-semantics §5.3).
//!
//! Three tables, one per job, all keyed by stable keys (a NIC's, not its
//! index in a snapshot) so that a model change does not touch flows that
//! already exist:
//! - `flows`: each NIC keeps the flows its NSGs allowed, by canonical
//!   5-tuple, so the return traffic of an allowed flow passes without a
//!   matching rule; entries expire after the VNet's flow timeout of
//!   inactivity (4 minutes by default), at most `FLOW_LIMIT` per VM (over
//!   its NICs) and direction (a new flow beyond is dropped,
//!   `DropReason::FlowLimit`);
//! - `fragments`: the ports of first fragments, for the later ones;
//! - `pins`: translated flows (load balancer, private endpoint) and how
//!   their answers are translated back.
//!
//! Backend health is not here: it is the prober's ([`super::LbHealth`]).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::packet::FlowKey;

mod flows;
mod fragments;
mod pins;

pub use flows::FLOW_LIMIT;
pub use pins::{Answer, Pinned};

#[derive(Debug, Default)]
pub struct ConnTrack {
    flows: flows::Flows,
    fragments: fragments::Fragments,
    pins: pins::Pins,
}

impl ConnTrack {
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `nic` has a live entry for this flow; refreshes it.
    #[inline]
    pub fn hit(&mut self, nic: u64, key: &FlowKey, now: Instant, timeout: Duration) -> bool {
        self.flows.hit(nic, key, now, timeout)
    }

    /// True if `nic` has a live entry, without refreshing it (ICMP errors).
    pub fn has(&self, nic: u64, key: &FlowKey, now: Instant) -> bool {
        self.flows.has(nic, key, now)
    }

    /// Tracks a flow `nic`'s NSGs allowed (`inbound`: in which direction).
    /// Check `room` first: this does not refuse.
    /// Tracks a flow at `nic`, counted against `owner`'s limit (its VM).
    pub fn insert(&mut self, nic: u64, owner: u64, key: &FlowKey, now: Instant, timeout: Duration, inbound: bool) {
        self.flows.insert(nic, owner, key, now, timeout, inbound);
    }

    /// Whether `owner` (a VM, over all its NICs) may track another flow
    /// in that direction (Azure's limit, `FLOW_LIMIT` each way).
    pub fn room(&mut self, owner: u64, inbound: bool, now: Instant) -> bool {
        self.flows.room(owner, inbound, now)
    }

    /// A table whose VMs may each track only `limit` flows per direction
    /// (tests; `new` has Azure's).
    pub fn with_flow_limit(limit: u32) -> Self {
        ConnTrack {
            flows: flows::Flows::with_limit(limit),
            ..Self::default()
        }
    }

    pub fn note_first_fragment(&mut self, key: &FlowKey, id: u16, now: Instant) {
        self.fragments.note_first(key, id, now);
    }

    /// The ports of the first fragment of this datagram, if it passed.
    pub fn fragment_ports(&self, key: &FlowKey, id: u16, now: Instant) -> Option<(u16, u16)> {
        self.fragments.ports(key, id, now)
    }

    /// The backend flow `key` is pinned to, refreshing it.
    #[inline]
    pub fn pinned(&mut self, key: &FlowKey, now: Instant) -> Option<Pinned> {
        self.pins.pinned(key, now)
    }

    /// Pins flow `key` (as its sender sends it) to `backend` at `to`, and
    /// records how its answers are translated back.
    pub fn pin(
        &mut self,
        key: &FlowKey,
        to: (Ipv4Addr, u16),
        backend: u64,
        back_to: Option<u64>,
        now: Instant,
        timeout: Duration,
    ) {
        self.pins.pin(key, to, backend, back_to, now, timeout);
    }

    /// The translation back for an answer whose key is `key`, refreshing it.
    #[inline]
    pub fn answer(&mut self, key: &FlowKey, now: Instant) -> Option<Answer> {
        self.pins.answer(key, now)
    }

    /// Drops expired entries and gives back the memory of mostly empty
    /// maps. The data plane calls this now and then.
    pub fn expire(&mut self, now: Instant) {
        self.flows.expire(now);
        self.fragments.expire(now);
        self.pins.expire(now);
    }

    /// The number of tracked flows (NIC, 5-tuple).
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
