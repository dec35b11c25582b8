//! A packet thread's scheduling class: real-time (`host::sched`) for the
//! wake-up of sparse packets, a normal thread while it reads a flood of
//! small ones. Driven by the thread's own packets (`Spin::packet`) and
//! quiet spells (`Spin::park`), so every change applies to that thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A real-time packet thread reading more packets a second than this
/// becomes a normal thread until the rate falls to half of it. Real time
/// is for the wake-up of sparse packets; a flood of small ones at
/// real-time priority starves the VMs that send and receive it, which need
/// a system call per datagram. Measured on a quiet host (`scripts/bench
/// net`, interleaved): always real-time, 64-byte UDP lost 0.42 % at 150 k
/// pps and 1.2 % at 200 k in 2 of 5 runs, all of it at the receiving
/// iperf3's socket; with this switch 0 % at 200 k in 4 of 4. TCP (64 KB
/// segments and their ACKs) stays below the rate and keeps real time:
/// 12.4–13.5 Gbit/s one stream either way, against 10.3 at normal priority.
const FLOOD_PPS: u64 = 100_000;

/// How often a packet looks at the rate of the ones before it.
const RATE_EVERY: Duration = Duration::from_millis(1);

#[derive(Debug, Default)]
pub struct Priority {
    /// The thread was made real-time at its start and may switch.
    allowed: AtomicBool,
    /// It is real-time now.
    realtime: AtomicBool,
    /// Packets read since `counted_at` (ns after the spinner's base). Only
    /// the packet thread writes these: a load and a store, no locked
    /// read-modify-write on the packet path.
    count: AtomicU64,
    counted_at: AtomicU64,
}

impl Priority {
    /// The packet thread became real-time: from now on it leaves real
    /// time during floods (`FLOOD_PPS`).
    pub fn started(&self) {
        self.allowed.store(true, Relaxed);
        self.realtime.store(true, Relaxed);
    }

    /// A packet was read at `t`: once every `RATE_EVERY`, the rate since
    /// the last look decides the class.
    #[inline]
    pub fn packet(&self, t: u64) {
        if !self.allowed.load(Relaxed) {
            return;
        }
        let n = self.count.load(Relaxed) + 1;
        let since = t.saturating_sub(self.counted_at.load(Relaxed));
        if since < RATE_EVERY.as_nanos() as u64 {
            self.count.store(n, Relaxed);
            return;
        }
        self.count.store(0, Relaxed);
        self.counted_at.store(t, Relaxed);
        if let Some(on) = priority_for(self.realtime.load(Relaxed), n, since) {
            self.set_realtime(on);
        }
    }

    /// The fabric went quiet: a flood that ended leaves the thread
    /// real-time for the next sparse packet.
    pub fn quiet(&self) {
        if self.allowed.load(Relaxed) && !self.realtime.load(Relaxed) {
            self.set_realtime(true);
        }
    }

    fn set_realtime(&self, on: bool) {
        // The thread was made real-time at its start, so the same calls
        // succeed now; were one to fail, the thread keeps its priority.
        let changed = if on {
            crate::host::sched::realtime()
        } else {
            crate::host::sched::normal()
        };
        if changed.is_ok() {
            self.realtime.store(on, Relaxed);
        }
    }
}

/// Whether a packet thread that is (or is not) `realtime` should switch,
/// having read `packets` in the last `nanos`: out of real time above
/// `FLOOD_PPS`, back below half of it. `None`: stay as it is.
fn priority_for(realtime: bool, packets: u64, nanos: u64) -> Option<bool> {
    let pps = u128::from(packets) * 1_000_000_000 / u128::from(nanos.max(1));
    let flood = u128::from(FLOOD_PPS);
    match realtime {
        true if pps > flood => Some(false),
        false if pps < flood / 2 => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_leave_real_time_and_sparse_packets_take_it_again() {
        let ms = 1_000_000;
        // 200 k pps of small UDP: out of real time.
        assert_eq!(priority_for(true, 200, ms), Some(false));
        // TCP's 64 KB segments and ACKs (~40 k pps) and pings keep it.
        assert_eq!(priority_for(true, 40, ms), None);
        assert_eq!(priority_for(true, 1, 5 * ms), None);
        // Between half the flood rate and the flood rate nothing changes.
        assert_eq!(priority_for(false, 70, ms), None);
        // Back below half: real time again.
        assert_eq!(priority_for(false, 2, 5 * ms), Some(true));
        assert_eq!(priority_for(false, 1, 0), None, "no time passed: no rate to judge");
    }
}
