//! Fuzzes the verdict function with arbitrary packets.
//!
//! The topology is lab 01 (three peered VNets, one VM each), compiled
//! once. The first input byte picks where the packet enters — NIC
//! `b % (nics + 2)`, or the Internet, or connection 0 (which does not
//! exist in this lab) — and the rest is the packet. `decide` must never
//! panic, whatever the bytes.
//!
//! Run: `cargo +nightly fuzz run decide fuzz/corpus/decide`.
//! `tests/fuzz_corpus.rs` replays the corpus with the same selection.

#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use vnetlab::dataplane::{ConnTrack, Ingress, Tables, decide};
use vnetlab::topology::Topology;

const TOPOLOGY: &str = include_str!("../../labs/01-peering-basics/topology.yaml");

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let model = Topology::parse(TOPOLOGY).expect("lab 01 parses").build().expect("lab 01 builds");
        Tables::compile(&model, 1)
    })
}

fn ingress(t: &Tables, b: u8) -> Ingress {
    let nics = t.nics.len();
    let i = b as usize % (nics + 2);
    if i < nics {
        Ingress::Nic(i as u32)
    } else if i == nics {
        Ingress::Internet
    } else {
        Ingress::Connection(0)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, packet)) = data.split_first() else { return };
    let t = tables();
    let mut ct = ConnTrack::new();
    let now = Instant::now();
    let ing = ingress(t, first);
    // Twice through the same conntrack: the second pass takes the
    // tracked (and, for fragments, the reassembly) paths.
    let _ = decide(t, &mut ct, ing, packet, now);
    let _ = decide(t, &mut ct, ing, packet, now);
});
