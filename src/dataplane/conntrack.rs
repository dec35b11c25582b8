//! Connection tracking: NSGs are stateful (azure-semantics §5.3).
//!
//! Each NIC keeps the flows its NSGs allowed, keyed by the NIC's stable
//! key (not its index in a snapshot) and the canonical 5-tuple, so the
//! return traffic of an allowed flow passes without a matching rule and a
//! rule change does not touch flows that already exist. Entries expire
//! after the VNet's flow timeout of inactivity (4 minutes by default).

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::packet::FlowKey;

/// Fragments after the first are matched to it for this long.
const FRAGMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A datagram's identity for matching its fragments: (src, dst, proto, IP ID).
type DatagramId = (u32, u32, u8, u16);

#[derive(Debug, Default)]
pub struct ConnTrack {
    flows: FxHashMap<(u64, FlowKey), Instant>,
    /// (src, dst, proto, IP ID) of first fragments that passed → their ports.
    fragments: FxHashMap<DatagramId, (u16, u16, Instant)>,
}

impl ConnTrack {
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `nic` has a live entry for this flow; refreshes it.
    #[inline]
    pub fn hit(&mut self, nic: u64, key: &FlowKey, now: Instant, timeout: Duration) -> bool {
        match self.flows.get_mut(&(nic, key.canonical())) {
            Some(expires) if *expires > now => {
                *expires = now + timeout;
                true
            }
            _ => false,
        }
    }

    /// True if `nic` has a live entry, without refreshing it (ICMP errors).
    pub fn has(&self, nic: u64, key: &FlowKey, now: Instant) -> bool {
        self.flows.get(&(nic, key.canonical())).is_some_and(|e| *e > now)
    }

    pub fn insert(&mut self, nic: u64, key: &FlowKey, now: Instant, timeout: Duration) {
        self.flows.insert((nic, key.canonical()), now + timeout);
    }

    pub fn note_first_fragment(&mut self, key: &FlowKey, id: u16, now: Instant) {
        self.fragments.insert((key.src.into(), key.dst.into(), key.proto, id), (key.sport, key.dport, now + FRAGMENT_TIMEOUT));
    }

    /// The ports of the first fragment of this datagram, if it passed.
    pub fn fragment_ports(&self, key: &FlowKey, id: u16, now: Instant) -> Option<(u16, u16)> {
        self.fragments
            .get(&(key.src.into(), key.dst.into(), key.proto, id))
            .filter(|(_, _, exp)| *exp > now)
            .map(|(s, d, _)| (*s, *d))
    }

    /// Drops expired entries. The data plane calls this now and then.
    pub fn expire(&mut self, now: Instant) {
        self.flows.retain(|_, e| *e > now);
        self.fragments.retain(|_, (_, _, e)| *e > now);
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}
