//! Later fragments carry no ports: they follow their first fragment, for
//! a while, or are dropped as out of order (Azure drops those [DOC]).
//! Nothing is reassembled: each fragment is forwarded on its own, and the
//! only state is one entry per fragmented datagram in flight, at most
//! `MAX_DATAGRAMS`.

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::dataplane::packet::FlowKey;

/// Fragments after the first are matched to it for this long.
const FRAGMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Fragmented datagrams tracked at once, for the whole lab: without a cap
/// a VM sending first fragments with ever new IP IDs would grow the map
/// for 30 s at line rate. Azure publishes no such number (UNCONFIRMED);
/// this is vnetlab's own bound (about 3 MB), far above what real traffic
/// fragments. At the cap, a new datagram's later fragments are dropped
/// as out of order (the rule above), its first fragment still passes.
pub const MAX_DATAGRAMS: usize = 100_000;

/// How often a full map may be swept for expired entries.
const SWEEP_AT_LIMIT: Duration = Duration::from_secs(1);

/// A datagram's identity for matching its fragments: (src, dst, proto, IP ID).
type DatagramId = (u32, u32, u8, u16);

/// First fragments that passed → their ports and expiry.
#[derive(Debug)]
pub(super) struct Fragments {
    first: FxHashMap<DatagramId, (u16, u16, Instant)>,
    limit: usize,
    swept: Option<Instant>,
}

impl Default for Fragments {
    fn default() -> Self {
        Fragments::with_limit(MAX_DATAGRAMS)
    }
}

fn datagram(key: &FlowKey, id: u16) -> DatagramId {
    (key.src.into(), key.dst.into(), key.proto, id)
}

impl Fragments {
    pub(super) fn with_limit(limit: usize) -> Self {
        Fragments {
            first: FxHashMap::default(),
            limit,
            swept: None,
        }
    }

    pub(super) fn note_first(&mut self, key: &FlowKey, id: u16, now: Instant) {
        let d = datagram(key, id);
        if self.first.len() >= self.limit && !self.first.contains_key(&d) {
            if self
                .swept
                .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_AT_LIMIT)
            {
                self.expire(now);
                self.swept = Some(now);
            }
            if self.first.len() >= self.limit {
                return;
            }
        }
        self.first.insert(d, (key.sport, key.dport, now + FRAGMENT_TIMEOUT));
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn datagrams_in_flight_are_capped_and_room_comes_back_as_they_expire() {
        let key = FlowKey {
            src: Ipv4Addr::new(10, 1, 1, 4),
            dst: Ipv4Addr::new(10, 2, 1, 4),
            proto: 17,
            sport: 5000,
            dport: 53,
        };
        let now = Instant::now();
        let mut f = Fragments::with_limit(3);
        for id in 0..5 {
            f.note_first(&key, id, now);
        }
        assert_eq!(f.first.len(), 3);
        assert_eq!(f.ports(&key, 2, now), Some((5000, 53)));
        assert_eq!(f.ports(&key, 3, now), None, "beyond the cap: not tracked");
        // A datagram already tracked is refreshed, not refused.
        f.note_first(&key, 0, now);
        assert_eq!(f.ports(&key, 0, now), Some((5000, 53)));
        let later = now + FRAGMENT_TIMEOUT + Duration::from_secs(1);
        f.note_first(&key, 9, later);
        assert_eq!(f.ports(&key, 9, later), Some((5000, 53)));
        assert_eq!(f.first.len(), 1);
    }
}
