//! The delay stage: packets between regions wait here for their one-way
//! delay (`Verdict::delay`) before they are written to the receiving TUN.
//!
//! A packet task never sleeps: it copies the packet into the line and goes
//! back to reading. One thread of its own keeps every held packet in order
//! of the time it is due, sleeps until the earliest (a futex wait with a
//! timeout: tokio's timer wheel has only millisecond resolution, which
//! would cost up to 1 ms each way) and writes what is due.
//!
//! Each receiving port has its own queue bound (`HOLD_BYTES`): a packet
//! that would pass it is dropped at the tail, as a full router buffer
//! drops, so a flood across a far pair cannot take the daemon's memory.
//! The bound is far above what a TCP window keeps in flight, so TCP runs
//! across the line as across a long link: limited by its window, not
//! stalled by drops. With jitter, a packet is never released before the
//! one sent to the same port before it (no reordering).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tun_rs::VirtioNetHdr;

use super::plane::{Port, write_now};

/// The most bytes held for one receiving port: at 10 Gbit/s, 27 ms of
/// traffic, and five times Linux's largest default TCP receive window
/// (tcp_rmem 6 MB).
pub const HOLD_BYTES: u64 = 32 << 20;

/// The most the line wakes early to make up for a busy host's late
/// wake-ups: on a loaded host single wake-ups run milliseconds late, and
/// an average over them would release the common case early.
const MAX_EARLY_NS: u64 = 200_000;

/// Each wake-up also releases what falls due this soon after it: at
/// 100 k pps across a far pair a packet falls due every 10 µs, and one
/// timed wake-up per packet costs more CPU than the writes themselves.
/// A packet leaves at most this early, far inside the table's ±1 ms.
const BATCH_NS: u64 = 100_000;

/// One packet waiting.
struct Held {
    /// Nanoseconds after `DelayLine::base`.
    due: u64,
    /// Arrival order, which breaks ties: equal due times leave in order.
    seq: u64,
    to: Arc<Port>,
    /// The queue it was read from: written to the same (`plane`).
    queue: usize,
    hdr: VirtioNetHdr,
    /// The virtio header and the packet, as they will be written.
    frame: Vec<u8>,
    segments: u64,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Held>>,
    seq: u64,
    /// xorshift state for the jitter.
    rng: u64,
}

pub struct DelayLine {
    base: Instant,
    queue: Mutex<Queue>,
    /// When the thread next wakes by itself (ns after `base`): a packet
    /// due earlier must wake it. 0 while it is writing (it looks again
    /// before it sleeps), `u64::MAX` while it waits for any packet.
    wake_at: AtomicU64,
    thread: OnceLock<std::thread::Thread>,
}

impl std::fmt::Debug for DelayLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayLine").finish_non_exhaustive()
    }
}

impl DelayLine {
    /// The line and its thread, which runs as long as the daemon.
    pub fn start() -> std::io::Result<Arc<DelayLine>> {
        let line = Arc::new(DelayLine {
            base: Instant::now(),
            queue: Mutex::new(Queue {
                rng: 0x9E37_79B9_7F4A_7C15,
                ..Queue::default()
            }),
            wake_at: AtomicU64::new(u64::MAX),
            thread: OnceLock::new(),
        });
        let run = line.clone();
        let handle = std::thread::Builder::new()
            .name("delay-line".into())
            .spawn(move || run.run())?;
        let _ = line.thread.set(handle.thread().clone());
        Ok(line)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Holds `frame` (virtio header and packet) for `delay`, ± up to
    /// `jitter_ns`, then writes it to queue `queue` of port `to`. False
    /// when `to`'s line is full: the packet is dropped.
    pub fn hold(
        &self,
        (to, queue): (&Arc<Port>, usize),
        hdr: VirtioNetHdr,
        frame: &[u8],
        segments: u64,
        delay: Duration,
        jitter_ns: u64,
    ) -> bool {
        let bytes = frame.len() as u64;
        if to.held.fetch_add(bytes, Relaxed) + bytes > HOLD_BYTES {
            to.held.fetch_sub(bytes, Relaxed);
            return false;
        }
        let frame = frame.to_vec();
        let delay = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        let now = self.now();
        let wake = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            let mut due = now.saturating_add(delay);
            if jitter_ns > 0 {
                q.rng ^= q.rng << 13;
                q.rng ^= q.rng >> 7;
                q.rng ^= q.rng << 17;
                let spread = q.rng % (2 * jitter_ns + 1);
                due = (due + spread).saturating_sub(jitter_ns).max(now);
                // Never before the packet sent to this port before it.
                due = due.max(to.last_due.load(Relaxed));
                to.last_due.store(due, Relaxed);
            }
            q.seq += 1;
            let seq = q.seq;
            q.heap.push(Reverse(Held {
                due,
                seq,
                to: to.clone(),
                queue,
                hdr,
                frame,
                segments,
            }));
            due < self.wake_at.load(Relaxed)
        };
        if wake && let Some(t) = self.thread.get() {
            t.unpark();
        }
        true
    }

    fn run(&self) {
        // The default slack (50 µs) would let the kernel fire our timer
        // late to batch wake-ups; a delay line wants it on time.
        let _ = nix::sys::prctl::set_timerslack(1_000);
        let mut due: Vec<Held> = Vec::with_capacity(256);
        // How late this thread usually wakes after the time it asked for
        // (a moving average): it asks that much earlier, so that packets
        // leave on time at the median even on a busy host.
        let mut late: u64 = 0;
        let mut asked: Option<u64> = None;
        loop {
            let (now, next) = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                let now = self.now();
                if let Some(t) = asked.take()
                    && now >= t
                {
                    late = (late * 7 + (now - t).min(MAX_EARLY_NS)) / 8;
                }
                let horizon = now + late + BATCH_NS;
                while q.heap.peek().is_some_and(|h| h.0.due <= horizon) {
                    if let Some(Reverse(h)) = q.heap.pop() {
                        due.push(h);
                    }
                }
                let next = q.heap.peek().map_or(u64::MAX, |h| h.0.due.saturating_sub(late));
                // Busy writing: nobody need wake it; it looks again after.
                self.wake_at.store(if due.is_empty() { next } else { 0 }, Relaxed);
                (now, next)
            };
            if !due.is_empty() {
                for mut h in due.drain(..) {
                    h.to.held.fetch_sub(h.frame.len() as u64, Relaxed);
                    let len = (h.frame.len() - tun_rs::VIRTIO_NET_HDR_LEN) as u64;
                    write_now(&h.to, h.queue, &h.hdr, &mut h.frame);
                    h.to.rx.add(h.segments, len);
                }
                continue;
            }
            if next == u64::MAX {
                std::thread::park();
            } else {
                asked = Some(next);
                std::thread::park_timeout(Duration::from_nanos(next.saturating_sub(now)));
            }
        }
    }
}
