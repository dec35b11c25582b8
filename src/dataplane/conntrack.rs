//! Connection tracking: NSGs are stateful (azure-semantics §5.3).
//!
//! Each NIC keeps the flows its NSGs allowed, keyed by the NIC's stable
//! key (not its index in a snapshot) and the canonical 5-tuple, so the
//! return traffic of an allowed flow passes without a matching rule and a
//! rule change does not touch flows that already exist. Entries expire
//! after the VNet's flow timeout of inactivity (4 minutes by default).

use std::time::{Duration, Instant};

use std::net::Ipv4Addr;

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
    /// Translated flows (load balancer, private endpoint) by the key their
    /// sender uses: where they are pinned.
    pinned: FxHashMap<FlowKey, Pinned>,
    /// The same flows by the key of their answers: how to translate back.
    answers: FxHashMap<FlowKey, Answer>,
}

/// Where a translated flow goes for its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pinned {
    pub ip: Ipv4Addr,
    pub port: u16,
    /// The stable key of the backend NIC or service.
    pub backend: u64,
    expires: Instant,
    timeout: Duration,
}

/// How the answer of a translated flow is translated back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The address and port the sender addressed (frontend or endpoint).
    pub ip: Ipv4Addr,
    pub port: u16,
    /// Set for a private endpoint: the sender's NIC key; the answer goes
    /// straight back over the backbone instead of being routed.
    pub back_to: Option<u64>,
    expires: Instant,
    timeout: Duration,
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
        self.fragments.insert(
            (key.src.into(), key.dst.into(), key.proto, id),
            (key.sport, key.dport, now + FRAGMENT_TIMEOUT),
        );
    }

    /// The ports of the first fragment of this datagram, if it passed.
    pub fn fragment_ports(&self, key: &FlowKey, id: u16, now: Instant) -> Option<(u16, u16)> {
        self.fragments
            .get(&(key.src.into(), key.dst.into(), key.proto, id))
            .filter(|(_, _, exp)| *exp > now)
            .map(|(s, d, _)| (*s, *d))
    }

    /// The backend flow `key` is pinned to, refreshing it.
    #[inline]
    pub fn pinned(&mut self, key: &FlowKey, now: Instant) -> Option<Pinned> {
        if self.pinned.is_empty() {
            return None;
        }
        let p = self.pinned.get_mut(key).filter(|p| p.expires > now)?;
        p.expires = now + p.timeout;
        Some(*p)
    }

    /// Pins flow `key` (as its sender sends it) to `backend` at `to`, and
    /// records how its answers (`answer_key`) are translated back.
    pub fn pin(
        &mut self,
        key: &FlowKey,
        to: (Ipv4Addr, u16),
        backend: u64,
        back_to: Option<u64>,
        now: Instant,
        timeout: Duration,
    ) {
        let expires = now + timeout;
        self.pinned.insert(
            *key,
            Pinned {
                ip: to.0,
                port: to.1,
                backend,
                expires,
                timeout,
            },
        );
        let answer_key = FlowKey {
            src: to.0,
            dst: key.src,
            proto: key.proto,
            sport: to.1,
            dport: key.sport,
        };
        self.answers.insert(
            answer_key,
            Answer {
                ip: key.dst,
                port: key.dport,
                back_to,
                expires,
                timeout,
            },
        );
    }

    /// The translation back for an answer whose key is `key`, refreshing it.
    #[inline]
    pub fn answer(&mut self, key: &FlowKey, now: Instant) -> Option<Answer> {
        if self.answers.is_empty() {
            return None;
        }
        let a = self.answers.get_mut(key).filter(|a| a.expires > now)?;
        a.expires = now + a.timeout;
        Some(*a)
    }

    /// Drops expired entries. The data plane calls this now and then.
    pub fn expire(&mut self, now: Instant) {
        self.flows.retain(|_, e| *e > now);
        self.fragments.retain(|_, (_, _, e)| *e > now);
        self.pinned.retain(|_, p| p.expires > now);
        self.answers.retain(|_, a| a.expires > now);
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}
