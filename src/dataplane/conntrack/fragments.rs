//! Later fragments carry no ports: they follow their first fragment, for
//! a while, or are dropped as out of order (Azure drops those [DOC]).

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::dataplane::packet::FlowKey;

/// Fragments after the first are matched to it for this long.
const FRAGMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A datagram's identity for matching its fragments: (src, dst, proto, IP ID).
type DatagramId = (u32, u32, u8, u16);

/// First fragments that passed → their ports and expiry.
#[derive(Debug, Default)]
pub(super) struct Fragments {
    first: FxHashMap<DatagramId, (u16, u16, Instant)>,
}

fn datagram(key: &FlowKey, id: u16) -> DatagramId {
    (key.src.into(), key.dst.into(), key.proto, id)
}

impl Fragments {
    pub(super) fn note_first(&mut self, key: &FlowKey, id: u16, now: Instant) {
        self.first
            .insert(datagram(key, id), (key.sport, key.dport, now + FRAGMENT_TIMEOUT));
    }

    pub(super) fn ports(&self, key: &FlowKey, id: u16, now: Instant) -> Option<(u16, u16)> {
        self.first
            .get(&datagram(key, id))
            .filter(|(_, _, exp)| *exp > now)
            .map(|(s, d, _)| (*s, *d))
    }

    pub(super) fn expire(&mut self, now: Instant) {
        self.first.retain(|_, (_, _, e)| *e > now);
        super::flows::shrink(&mut self.first);
    }
}
