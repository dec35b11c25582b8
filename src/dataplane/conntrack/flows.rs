//! The flows each NIC's NSGs allowed (azure-semantics §5.3).

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::dataplane::packet::FlowKey;

/// (NIC key, canonical 5-tuple) → expiry. The canonical key makes an
/// entry match both directions of its flow.
#[derive(Debug, Default)]
pub(super) struct Flows {
    by_nic: FxHashMap<(u64, FlowKey), Instant>,
}

impl Flows {
    #[inline]
    pub(super) fn hit(&mut self, nic: u64, key: &FlowKey, now: Instant, timeout: Duration) -> bool {
        match self.by_nic.get_mut(&(nic, key.canonical())) {
            Some(expires) if *expires > now => {
                *expires = now + timeout;
                true
            }
            _ => false,
        }
    }

    pub(super) fn has(&self, nic: u64, key: &FlowKey, now: Instant) -> bool {
        self.by_nic.get(&(nic, key.canonical())).is_some_and(|e| *e > now)
    }

    pub(super) fn insert(&mut self, nic: u64, key: &FlowKey, now: Instant, timeout: Duration) {
        self.by_nic.insert((nic, key.canonical()), now + timeout);
    }

    pub(super) fn expire(&mut self, now: Instant) {
        self.by_nic.retain(|_, e| *e > now);
    }

    pub(super) fn len(&self) -> usize {
        self.by_nic.len()
    }
}
