//! The flows each NIC's NSGs allowed (azure-semantics §5.3), at most
//! `FLOW_LIMIT` per VM (summed over its NICs) and direction.

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::dataplane::packet::FlowKey;

/// Azure: "the Azure networking stack supports 1M total flows (500k
/// inbound and 500k outbound) for a VM … Once this limit is hit, other
/// connections are dropped" (Learn, virtual-machine-network-throughput,
/// "Flow limits and active connections recommendations";
/// shared/azure-semantics-2.md, last table; azure-semantics.md §11
/// "Concurrent flows per NIC"). Learn words it per VM, so a VM's NICs
/// share it: each flow counts against its NIC's owner (the VM's stable
/// key), one hash lookup as before.
pub const FLOW_LIMIT: u32 = 500_000;

/// How often a table at its limit may be swept for expired flows before
/// a new flow is refused (a sweep walks every flow).
const SWEEP_AT_LIMIT: Duration = Duration::from_secs(1);

/// One tracked flow: when it expires, whose limit it counts against and
/// which way it was first allowed.
#[derive(Clone, Copy, Debug)]
struct Entry {
    expires: Instant,
    owner: u64,
    inbound: bool,
}

/// (NIC key, canonical 5-tuple) → expiry. The canonical key makes an
/// entry match both directions of its flow.
#[derive(Debug)]
pub(super) struct Flows {
    by_nic: FxHashMap<(u64, FlowKey), Entry>,
    /// Per owner (a VM's key, or a NIC's without one): entries
    /// [outbound, inbound], expired ones included until swept.
    counts: FxHashMap<u64, [u32; 2]>,
    limit: u32,
    swept: Option<Instant>,
}

impl Default for Flows {
    fn default() -> Self {
        Flows::with_limit(FLOW_LIMIT)
    }
}

impl Flows {
    pub(super) fn with_limit(limit: u32) -> Self {
        Flows {
            by_nic: FxHashMap::default(),
            counts: FxHashMap::default(),
            limit,
            swept: None,
        }
    }

    #[inline]
    pub(super) fn hit(&mut self, nic: u64, key: &FlowKey, now: Instant, timeout: Duration) -> bool {
        match self.by_nic.get_mut(&(nic, key.canonical())) {
            Some(e) if e.expires > now => {
                e.expires = now + timeout;
                true
            }
            _ => false,
        }
    }

    pub(super) fn has(&self, nic: u64, key: &FlowKey, now: Instant) -> bool {
        self.by_nic
            .get(&(nic, key.canonical()))
            .is_some_and(|e| e.expires > now)
    }

    /// Whether `owner` may track one more flow in that direction; a
    /// table at its limit is first swept of expired flows (at most once a
    /// second).
    pub(super) fn room(&mut self, owner: u64, inbound: bool, now: Instant) -> bool {
        let full = |f: &Self| f.counts.get(&owner).is_some_and(|c| c[usize::from(inbound)] >= f.limit);
        if !full(self) {
            return true;
        }
        if self
            .swept
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_AT_LIMIT)
        {
            self.expire(now);
            self.swept = Some(now);
        }
        !full(self)
    }

    pub(super) fn insert(
        &mut self,
        nic: u64,
        owner: u64,
        key: &FlowKey,
        now: Instant,
        timeout: Duration,
        inbound: bool,
    ) {
        let entry = Entry {
            expires: now + timeout,
            owner,
            inbound,
        };
        if let Some(old) = self.by_nic.insert((nic, key.canonical()), entry) {
            self.uncount(old.owner, old.inbound);
        }
        self.counts.entry(owner).or_default()[usize::from(inbound)] += 1;
    }

    fn uncount(&mut self, owner: u64, inbound: bool) {
        if let Some(c) = self.counts.get_mut(&owner) {
            let n = &mut c[usize::from(inbound)];
            *n = n.saturating_sub(1);
            if *c == [0, 0] {
                self.counts.remove(&owner);
            }
        }
    }

    pub(super) fn expire(&mut self, now: Instant) {
        let mut gone: Vec<(u64, bool)> = Vec::new();
        self.by_nic.retain(|_, e| {
            let live = e.expires > now;
            if !live {
                gone.push((e.owner, e.inbound));
            }
            live
        });
        for (owner, inbound) in gone {
            self.uncount(owner, inbound);
        }
        shrink(&mut self.by_nic);
        shrink(&mut self.counts);
    }

    pub(super) fn len(&self) -> usize {
        self.by_nic.len()
    }

    /// Tracked flows of `owner`: [outbound, inbound].
    #[cfg(test)]
    pub(super) fn count(&self, owner: u64) -> [u32; 2] {
        self.counts.get(&owner).copied().unwrap_or_default()
    }
}

/// Gives memory back once a map is mostly empty (a flood's flows have
/// expired): `retain` alone keeps the capacity of the largest it was.
pub(super) fn shrink<K: std::hash::Hash + Eq, V>(map: &mut FxHashMap<K, V>) {
    if map.capacity() > 1024 && map.capacity() > 4 * map.len() {
        map.shrink_to(2 * map.len());
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn key(port: u16) -> FlowKey {
        FlowKey {
            src: Ipv4Addr::new(10, 1, 1, 4),
            dst: Ipv4Addr::new(10, 2, 1, 4),
            proto: 6,
            sport: port,
            dport: 22,
        }
    }

    #[test]
    fn new_flows_beyond_the_limit_are_refused_per_vm_and_direction() {
        let (now, timeout) = (Instant::now(), Duration::from_secs(240));
        let mut f = Flows::with_limit(3);
        // VM 1 has NICs 10 and 11: their flows share its limit.
        for p in 0..3 {
            assert!(f.room(1, false, now));
            f.insert(10 + u64::from(p % 2), 1, &key(p), now, timeout, false);
        }
        assert!(!f.room(1, false, now), "outbound full over both NICs");
        assert!(f.room(1, true, now), "inbound has its own limit");
        assert!(f.room(2, false, now), "another VM has its own");
        // Re-inserting a tracked flow does not count it twice.
        f.insert(10, 1, &key(0), now, timeout, false);
        assert_eq!(f.count(1), [3, 0]);
        // The same 5-tuple on the VM's other NIC is another flow.
        assert!(!f.has(11, &key(0), now));
        // Once they expire there is room again, and the counts follow.
        let later = now + timeout + Duration::from_secs(1);
        assert!(f.room(1, false, later));
        assert_eq!((f.count(1), f.len()), ([0, 0], 0));
    }

    #[test]
    fn maps_shrink_after_a_flood_expires() {
        let (now, timeout) = (Instant::now(), Duration::from_secs(1));
        let mut f = Flows::default();
        for p in 0..50_000u32 {
            let mut k = key((p % 60_000) as u16);
            k.src = Ipv4Addr::from(0x0a00_0000 + p);
            f.insert(1, 1, &k, now, timeout, true);
        }
        let big = f.by_nic.capacity();
        f.expire(now + Duration::from_secs(2));
        assert_eq!(f.len(), 0);
        assert!(f.by_nic.capacity() < big / 8, "{} of {big}", f.by_nic.capacity());
    }
}
