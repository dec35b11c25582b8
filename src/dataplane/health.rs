//! Load-balancer backend health: what the health probes last reported.
//!
//! The daemon's prober owns it and publishes a new snapshot when a backend
//! flips; the data plane tasks read it. It is an input of `decide` next to
//! the tables, never state the verdict function keeps, so an explanation
//! given the live lab's snapshot picks the backend the fabric picks.

use rustc_hash::FxHashSet;

/// The backends whose probe fails, by (load balancer key, NIC key): both
/// stable across snapshots, like connection tracking's keys. Every other
/// backend counts as up (a stopped VM is out of rotation by the tables).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbHealth {
    down: FxHashSet<(u64, u64)>,
}

impl LbHealth {
    /// Every backend up: what a lab without probe results (offline
    /// commands, the az front, a lab just started) sees.
    pub fn all_up() -> Self {
        Self::default()
    }

    /// Records a probe verdict on backend `nic` of load balancer `lb`.
    pub fn set(&mut self, lb: u64, nic: u64, healthy: bool) {
        if healthy {
            self.down.remove(&(lb, nic));
        } else {
            self.down.insert((lb, nic));
        }
    }

    #[inline]
    pub fn is_down(&self, lb: u64, nic: u64) -> bool {
        !self.down.is_empty() && self.down.contains(&(lb, nic))
    }

    /// The (load balancer key, NIC key) pairs marked down.
    pub fn down(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.down.iter().copied()
    }
}

impl FromIterator<(u64, u64)> for LbHealth {
    /// The snapshot where exactly these (load balancer, NIC) backends are down.
    fn from_iter<I: IntoIterator<Item = (u64, u64)>>(iter: I) -> Self {
        Self {
            down: iter.into_iter().collect(),
        }
    }
}
