//! Translated flows (load balancer, private endpoint): where each is
//! pinned for its lifetime, and how its answers are translated back.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::dataplane::packet::FlowKey;

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

#[derive(Debug, Default)]
pub(super) struct Pins {
    /// By the key their sender uses.
    pinned: FxHashMap<FlowKey, Pinned>,
    /// The same flows by the key of their answers.
    answers: FxHashMap<FlowKey, Answer>,
}

impl Pins {
    #[inline]
    pub(super) fn pinned(&mut self, key: &FlowKey, now: Instant) -> Option<Pinned> {
        // Most labs have no load balancer: no hashing for them.
        if self.pinned.is_empty() {
            return None;
        }
        let p = self.pinned.get_mut(key).filter(|p| p.expires > now)?;
        p.expires = now + p.timeout;
        Some(*p)
    }

    pub(super) fn pin(
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
        // The answer comes from where the flow was sent to, back to its sender.
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

    #[inline]
    pub(super) fn answer(&mut self, key: &FlowKey, now: Instant) -> Option<Answer> {
        if self.answers.is_empty() {
            return None;
        }
        let a = self.answers.get_mut(key).filter(|a| a.expires > now)?;
        a.expires = now + a.timeout;
        Some(*a)
    }

    pub(super) fn expire(&mut self, now: Instant) {
        self.pinned.retain(|_, p| p.expires > now);
        self.answers.retain(|_, a| a.expires > now);
        super::flows::shrink(&mut self.pinned);
        super::flows::shrink(&mut self.answers);
    }
}
