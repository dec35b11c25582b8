//! The fuzzing harness, shared by `fuzz/fuzz_targets/decide.rs` and the
//! corpus replay in `tests/fuzz_corpus.rs`, so both feed the verdict
//! function in exactly the same way.

use std::sync::OnceLock;
use std::time::Instant;

use super::index::{ConnIdx, Idx, NicIdx};
use super::{ConnTrack, Ingress, LbHealth, Tables, decide};
use crate::topology::Topology;

const TOPOLOGY: &str = include_str!("../../labs/01-peering-basics/topology.yaml");

/// Lab 01, compiled once.
pub fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        // Unwrap: lab 01 is part of the crate and tested to build.
        #[allow(clippy::expect_used)]
        let model = Topology::parse(TOPOLOGY)
            .and_then(|t| t.build())
            .expect("lab 01 builds");
        Tables::compile(&model, 1)
    })
}

/// The first input byte picks the ingress: NIC `b % (nics + 2)`, then the
/// Internet, then connection 0.
pub fn ingress(t: &Tables, b: u8) -> Ingress {
    let nics = t.nics.len();
    let i = b as usize % (nics + 2);
    if i < nics {
        Ingress::Nic(NicIdx::from_usize(i))
    } else if i == nics {
        Ingress::Internet
    } else {
        Ingress::Connection(ConnIdx(0))
    }
}

/// One fuzz input: the ingress byte, then the packet. Twice through the
/// same conntrack, so the second pass takes the tracked (and, for
/// fragments, the later-fragment) paths.
pub fn run(data: &[u8]) {
    let Some((&first, packet)) = data.split_first() else {
        return;
    };
    let t = tables();
    let (health, mut ct) = (LbHealth::all_up(), ConnTrack::new());
    let now = Instant::now();
    let ing = ingress(t, first);
    let _ = decide(t, &health, &mut ct, ing, packet, now);
    let _ = decide(t, &health, &mut ct, ing, packet, now);
}
