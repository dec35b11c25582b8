//! Adaptive busy polling: while packets flow, the packet thread keeps
//! polling its TUNs instead of sleeping between packets.
//!
//! A sleeping packet thread costs every packet a wake-up: on this project's
//! 2-vCPU guests about 40–60 µs of ping RTT per hop through the daemon
//! (../shared/performance.md §2.3 item 4; measured here: ping through a
//! peering 94–113 µs average against 9–25 µs through a kernel router).
//! Each packet thread (`packets`) runs one spinner beside its packet
//! tasks. While one of its TUN queues gave a packet less than `WINDOW` ago
//! it yields in a loop, so the thread never parks: between two turns it
//! polls its TUN queues once (`epoll_wait` with a zero timeout) and runs
//! the packet task whose queue has something.
//!
//! It spins only on a core nobody else wants: each turn first gives the
//! core away (`sched_yield`). If that let another thread run (the call
//! took longer than `CONTENDED`), the host is loaded and spinning would
//! queue the packet thread behind such threads, where a sleeping thread is
//! woken ahead of them: the spinner then stays off for `BACKOFF`. A
//! real-time packet thread (`host::sched`) yields only to real-time
//! threads, so that test no longer sees the others: every `RUNNABLE_EVERY`
//! the spinner also reads how many threads the host has runnable
//! (`/proc/loadavg`) and backs off when they outnumber the cores (it
//! counts itself), i.e. when one waits for a core this spinning holds.
//! Once the fabric has been quiet for `WINDOW` the spinner parks and the
//! worker sleeps in `epoll_wait` as before; the next packet read wakes it.
//!
//! Measured (1 000 pings 5 ms apart through a peering, on a host loaded
//! by other builds, load average ~20): without the spinner the daemon
//! slept 1 058–1 102 times; spinning without the contention test it slept
//! 88–105 times (the reply and most requests found it polling) but its
//! ping got worse (avg 176–550 µs against 96–207 µs), queued behind the
//! builds; with the test it backs off there (1 058–1 087 sleeps, 73–84 ms
//! of daemon CPU against 99–110 ms). Its gain on an idle core is not yet
//! measured on a quiet host.
//!
//! The run-queue test, measured with real-time packet threads at load
//! average ~9.5 (400 pings 5 ms apart, 3 runs each, interleaved): without
//! it the spinner spun through every window, 16–38 ticks of daemon CPU
//! per run for avg 108–190 µs; with it 4–5 ticks (as a normal-priority
//! daemon: 3–5) for avg 101–132 µs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::priority::Priority;

/// How long after the last packet the thread keeps polling. Longer than
/// the gaps of a busy exchange (a ping every 5 ms, TCP's ACK clock), short
/// enough that a lab whose VMs only chatter now and then (DNS, health
/// probes every 5 s) costs well under 1 % of a core.
const WINDOW: Duration = Duration::from_millis(10);

/// A `sched_yield` that took longer than this ran another thread: the
/// core is not idle. Alone on its core the call takes 1–2 µs.
const CONTENDED: Duration = Duration::from_micros(50);

/// How long the spinner stays off after it found its core contended.
const BACKOFF: Duration = Duration::from_secs(1);

/// How often a spinning thread reads the host's runnable count: the read
/// costs a few µs, a turn about 1.
const RUNNABLE_EVERY: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub struct Spin {
    base: Instant,
    /// Nanoseconds after `base` when the last packet was read.
    last: AtomicU64,
    /// Set while the spinner waits for `wake`.
    parked: AtomicBool,
    wake: Notify,
    /// The thread's scheduling class, which follows its packet rate.
    pub priority: Priority,
}

impl Default for Spin {
    fn default() -> Self {
        Spin {
            base: Instant::now(),
            last: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            wake: Notify::new(),
            priority: Priority::default(),
        }
    }
}

impl Spin {
    /// A packet task read a packet at `now`: one store, and a wake-up only
    /// for the first packet after a quiet spell. Runs on the packet thread,
    /// so a change of its priority (`Priority::packet`) applies to it.
    #[inline]
    pub fn packet(&self, now: Instant) {
        let t = self.nanos(now);
        self.last.store(t, Ordering::Relaxed);
        if self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::AcqRel) {
            self.wake.notify_one();
        }
        self.priority.packet(t);
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether a packet was read within `WINDOW` of `now`.
    fn busy(&self, now: Instant) -> bool {
        self.nanos(now).saturating_sub(self.last.load(Ordering::Relaxed)) < WINDOW.as_nanos() as u64
    }

    /// The spinner task: runs for the daemon's life.
    pub async fn run(self: Arc<Self>) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut counted = Instant::now();
        loop {
            if !self.busy(Instant::now()) {
                self.park().await;
                continue;
            }
            let turn = Instant::now();
            std::thread::yield_now();
            let crowded = turn.duration_since(counted) >= RUNNABLE_EVERY && {
                counted = turn;
                std::fs::read_to_string("/proc/loadavg")
                    .ok()
                    .and_then(|l| runnable(&l))
                    .is_some_and(|n| n > cores)
            };
            if crowded || turn.elapsed() > CONTENDED {
                // Another thread wanted this core and ran: spinning here
                // queues the packet thread behind such threads (one that
                // sleeps is woken ahead of them). A loaded host stays
                // loaded for a while: the thread sleeps between packets,
                // as without the spinner, and tries again later.
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
            tokio::task::yield_now().await;
        }
    }

    /// Waits for the next packet after a quiet spell.
    async fn park(&self) {
        self.priority.quiet();
        self.parked.store(true, Ordering::SeqCst);
        // A packet read between the caller's check and the store saw
        // `parked` clear and woke nobody: look once more. A permit
        // `notify_one` stored before the wait is taken at once, so no
        // later wake-up is lost.
        if !self.busy(Instant::now()) {
            self.wake.notified().await;
        }
        self.parked.store(false, Ordering::Relaxed);
    }
}

/// The runnable threads in `/proc/loadavg` ("0.52 0.58 0.59 3/172
/// 12345": the fourth field's numerator), this one included.
fn runnable(loadavg: &str) -> Option<usize> {
    loadavg.split_whitespace().nth(3)?.split_once('/')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_is_the_numerator_of_the_fourth_field() {
        assert_eq!(runnable("0.52 0.58 0.59 3/172 12345\n"), Some(3));
        assert_eq!(runnable("12.27 12.42 9.82 12/216 999"), Some(12));
        assert_eq!(runnable("garbage"), None);
    }

    #[test]
    fn busy_only_within_the_window_after_a_packet() {
        let spin = Spin::default();
        let t = spin.base + Duration::from_secs(1);
        assert!(!spin.busy(t));
        spin.packet(t);
        assert!(spin.busy(t + WINDOW / 2));
        assert!(!spin.busy(t + WINDOW));
    }

    #[tokio::test]
    async fn a_packet_wakes_the_parked_spinner() {
        let spin = Arc::new(Spin::default());
        let task = tokio::spawn(spin.clone().run());
        let parked = || async {
            while !spin.parked.load(Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        };
        // Quiet from the start: it parks.
        parked().await;
        spin.packet(Instant::now());
        assert!(!spin.parked.load(Ordering::SeqCst));
        // Woken, it spins through the window and parks again; a lost
        // wake-up would leave it waiting and this test hanging.
        parked().await;
        task.abort();
    }
}
