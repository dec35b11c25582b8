#![allow(unsafe_code)] // a counting global allocator is unsafe by nature
//! The common path of the verdict (a packet of an established flow) must
//! not allocate. A counting global allocator checks it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use vnetlab::dataplane::explain::probe_packet;
use vnetlab::dataplane::{ConnTrack, Ingress, LbHealth, Tables, Verdict, decide};
use vnetlab::topology::Topology;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn established_flow_verdicts_do_not_allocate() {
    let model = Topology::parse(include_str!("../labs/01-peering-basics/topology.yaml"))
        .unwrap()
        .build()
        .unwrap();
    let t = Tables::compile(&model, 1);
    let sales = t.nic_of_vm("SalesVM").unwrap();
    let marketing = t.nic_of_vm("MarketingVM").unwrap();
    let there = probe_packet(
        "10.1.1.4".parse().unwrap(),
        "10.2.1.4".parse().unwrap(),
        "tcp",
        40000,
        22,
        false,
    )
    .unwrap();
    let back = probe_packet(
        "10.2.1.4".parse().unwrap(),
        "10.1.1.4".parse().unwrap(),
        "tcp",
        22,
        40000,
        true,
    )
    .unwrap();
    let (health, mut ct) = (LbHealth::all_up(), ConnTrack::new());
    let now = Instant::now();
    assert!(matches!(
        decide(&t, &health, &mut ct, Ingress::Nic(sales), &there, now),
        Verdict::Deliver { .. }
    ));
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        assert!(matches!(
            decide(&t, &health, &mut ct, Ingress::Nic(sales), &there, now),
            Verdict::Deliver { .. }
        ));
        assert!(matches!(
            decide(&t, &health, &mut ct, Ingress::Nic(marketing), &back, now),
            Verdict::Deliver { .. }
        ));
    }
    assert_eq!(
        ALLOCS.load(Ordering::Relaxed) - before,
        0,
        "decide allocated on the established-flow path"
    );
}
