//! The bounded hand-off between the packet path and the capture writer.
//!
//! Forwarding must never wait on a capture: the data plane offers each
//! packet with [`CaptureRing::try_push`], which takes a lock-free slot or
//! gives up at once and counts the loss. A writer thread drains the ring
//! into a [`super::PcapngWriter`] and reports the count.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use super::pcapng::{CaptureError, Direction, PcapngWriter};

/// One packet as the data plane hands it over: already copied, so the
/// packet buffer goes back to forwarding at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    pub if_idx: u32,
    /// Since the UNIX epoch.
    pub ts: Duration,
    pub direction: Direction,
    pub bytes: Vec<u8>,
    /// The verdict text, written as the packet's `opt_comment`.
    pub comment: String,
}

/// A fixed-capacity multi-producer queue that never blocks a producer.
#[derive(Debug)]
pub struct CaptureRing<T = CapturedPacket> {
    queue: ArrayQueue<T>,
    accepted: AtomicU64,
    dropped: AtomicU64,
}

impl<T> CaptureRing<T> {
    /// A ring of `capacity` slots (at least one: ArrayQueue has no empty form).
    pub fn new(capacity: usize) -> Self {
        CaptureRing {
            queue: ArrayQueue::new(capacity.max(1)),
            accepted: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Offers one item; when the ring is full the item is dropped and
    /// counted, and `false` is returned. Never blocks, never allocates.
    pub fn try_push(&self, item: T) -> bool {
        match self.queue.push(item) {
            Ok(()) => {
                // Relaxed: these are statistics; no other memory hangs on them.
                self.accepted.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Like [`CaptureRing::try_push`], but the item is made only when a
    /// slot looks free: a full ring costs the packet path no copy.
    pub fn offer(&self, make: impl FnOnce() -> T) -> bool {
        if self.queue.is_full() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.try_push(make())
    }

    pub fn pop(&self) -> Option<T> {
        self.queue.pop()
    }

    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Items taken into the ring since it was made.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Items refused because the ring was full, since it was made.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl CaptureRing<CapturedPacket> {
    /// Writes every packet now in the ring; a loss since the previous drain
    /// is noted on the writer so the next packet carries it as
    /// `epb_dropcount`. `reported` is the drop count already passed on,
    /// kept by the caller between drains. Returns the packets written.
    pub fn drain_into<W: Write>(
        &self,
        writer: &mut PcapngWriter<W>,
        reported: &mut u64,
    ) -> Result<usize, CaptureError> {
        let mut written = 0;
        while let Some(p) = self.pop() {
            let dropped = self.dropped();
            writer.note_lost(dropped - *reported);
            *reported = dropped;
            writer.write_packet(p.if_idx, p.ts, p.direction, &p.bytes, &p.comment)?;
            written += 1;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Interface;
    use super::*;

    #[test]
    fn a_full_ring_refuses_and_counts_without_blocking() {
        let ring = CaptureRing::new(2);
        assert!(ring.try_push(1));
        assert!(ring.try_push(2));
        assert!(!ring.try_push(3));
        assert!(!ring.try_push(4));
        assert_eq!((ring.accepted(), ring.dropped(), ring.len()), (2, 2, 2));
        assert_eq!(ring.pop(), Some(1));
        assert!(ring.try_push(5));
        assert_eq!(ring.pop(), Some(2));
        assert_eq!(ring.pop(), Some(5));
        assert_eq!(ring.pop(), None);
        assert_eq!((ring.accepted(), ring.dropped()), (3, 2));
    }

    #[test]
    fn an_offer_to_a_full_ring_is_never_made() {
        let ring = CaptureRing::new(1);
        assert!(ring.offer(|| 1));
        assert!(!ring.offer(|| unreachable!("the ring is full: nothing is copied")));
        assert_eq!((ring.accepted(), ring.dropped()), (1, 1));
    }

    #[test]
    fn producers_on_other_threads_never_wait() {
        let ring = std::sync::Arc::new(CaptureRing::new(8));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let ring = ring.clone();
                std::thread::spawn(move || (0..100).filter(|i| ring.try_push(t * 1000 + i)).count())
            })
            .collect();
        let kept: usize = handles.into_iter().map(|h| h.join().expect("producer")).sum();
        assert_eq!(kept, ring.len());
        assert_eq!(ring.accepted() + ring.dropped(), 400);
        assert_eq!(ring.accepted(), 8, "nothing drained, so exactly the capacity is kept");
    }

    #[test]
    fn draining_writes_the_packets_and_reports_the_loss_once() {
        let ring = CaptureRing::new(2);
        let packet = |n: u8| CapturedPacket {
            if_idx: 0,
            ts: Duration::from_secs(u64::from(n)),
            direction: Direction::Outbound,
            bytes: vec![0x45, n],
            comment: format!("packet {n}"),
        };
        for n in 0..5 {
            ring.try_push(packet(n));
        }
        let mut w = PcapngWriter::new(Vec::new(), &[Interface::named("vm")]).expect("headers");
        let mut reported = 0;
        assert_eq!(ring.drain_into(&mut w, &mut reported).expect("drain"), 2);
        assert_eq!(reported, 3);
        assert_eq!(ring.drain_into(&mut w, &mut reported).expect("drain"), 0);

        let bytes = w.into_inner();
        let mut r = pcap_file::pcapng::PcapNgReader::new(&bytes[..]).expect("section");
        let mut drops = Vec::new();
        while let Some(b) = r.next_block() {
            if let pcap_file::pcapng::Block::EnhancedPacket(p) = b.expect("block") {
                drops.push(p.options.iter().find_map(|o| match o {
                    pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption::DropCount(n) => Some(*n),
                    _ => None,
                }));
            }
        }
        assert_eq!(drops, [Some(3), None]);
    }
}
