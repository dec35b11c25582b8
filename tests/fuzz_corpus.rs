//! Replays the fuzz corpus of every target (`fuzz/corpus/TARGET/`) and any
//! saved `decide` crashers (`tests/resources/crashers/`) through the same
//! harnesses as `fuzz/fuzz_targets/TARGET.rs` (`vnetlab::fuzzing`), and
//! fuzzes them a little with proptest, so that the no-panic property is
//! checked by plain `cargo test`; `scripts/fuzz` runs them for longer.

use std::path::{Path, PathBuf};
use std::time::Instant;

use proptest::prelude::*;
use vnetlab::dataplane::{ConnIdx, ConnTrack, DropReason, Ingress, LbHealth, NicIdx, Tables, Verdict, decide};

use vnetlab::dataplane::fuzzing::{ingress, tables};

/// Every ingress the harness can pick, plus out-of-range ones.
fn all_ingresses(t: &Tables) -> Vec<Ingress> {
    let mut v: Vec<Ingress> = (0..t.nics.len() as u32 + 1).map(|i| Ingress::Nic(NicIdx(i))).collect();
    v.extend([
        Ingress::Internet,
        Ingress::Connection(ConnIdx(0)),
        Ingress::Connection(ConnIdx(u32::MAX)),
        Ingress::Nic(NicIdx(u32::MAX)),
    ]);
    v
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [root.join("fuzz/corpus/decide"), root.join("tests/resources/crashers")] {
        for p in files_in(&dir) {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            out.push((p, bytes));
        }
    }
    out
}

#[test]
fn corpus_is_there_and_matches_the_harness() {
    let c = corpus();
    assert!(
        c.len() >= 10,
        "expected the seed corpus in fuzz/corpus/decide, found {} files",
        c.len()
    );
    // The corpus file names assume lab 01's NIC order (by resource ID):
    // Marketing 0, Research 1, Sales 2; then Internet 3, connection 4.
    let t = tables();
    assert_eq!(t.nics.len(), 3);
    assert_eq!(t.nic_of_vm("SalesVM"), Some(NicIdx(2)));
    assert_eq!(ingress(t, 3), Ingress::Internet);
    assert_eq!(ingress(t, 4), Ingress::Connection(ConnIdx(0)));
}

#[test]
fn corpus_packets_are_real_packets() {
    // The seed corpus is made of well-formed packets (bar the truncated
    // ones), so that fuzzing starts deep in the verdict, not at the parser.
    let t = tables();
    let now = Instant::now();
    for (path, data) in corpus() {
        let Some((&first, packet)) = data.split_first() else {
            continue;
        };
        let v = decide(
            t,
            &LbHealth::all_up(),
            &mut ConnTrack::new(),
            ingress(t, first),
            packet,
            now,
        );
        eprintln!("{}: {v:?}", path.file_name().unwrap_or_default().to_string_lossy());
        let name = path.to_string_lossy();
        // Lab 01 has no connections: from connection 0, `decide` answers Malformed.
        if name.contains("/fuzz/corpus/")
            && !name.contains("truncated")
            && !matches!(ingress(t, first), Ingress::Connection(_))
        {
            assert_ne!(
                v,
                Verdict::Drop(DropReason::Malformed),
                "{} should parse",
                path.display()
            );
        }
    }
}

#[test]
fn corpus_replays_without_panic() {
    for (path, data) in corpus() {
        let r = std::panic::catch_unwind(|| vnetlab::dataplane::fuzzing::run(&data));
        assert!(r.is_ok(), "decide panicked on {}", path.display());
    }
}

#[test]
fn corpus_packets_through_every_ingress_and_shared_conntrack() {
    // All packets in sequence through one conntrack (so the second
    // fragment follows the first, replies follow requests), from every
    // ingress.
    let t = tables();
    let now = Instant::now();
    let c = corpus();
    for ing in all_ingresses(t) {
        let mut ct = ConnTrack::new();
        for (_, data) in &c {
            let packet = data.get(1..).unwrap_or_default();
            let _ = decide(t, &LbHealth::all_up(), &mut ct, ing, packet, now);
        }
    }
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    files_in(&dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

#[test]
fn every_target_has_a_fuzz_binary_and_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).expect("fuzz/Cargo.toml");
    let binaries = files_in(&root.join("fuzz/fuzz_targets"));
    assert_eq!(
        binaries.len(),
        vnetlab::fuzzing::TARGETS.len(),
        "one fuzz_targets/*.rs per target"
    );
    for (name, _) in vnetlab::fuzzing::TARGETS {
        assert!(
            root.join(format!("fuzz/fuzz_targets/{name}.rs")).is_file(),
            "fuzz/fuzz_targets/{name}.rs"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(seeds(name).len() >= 3, "fuzz/corpus/{name}/ needs seeds");
    }
}

#[test]
fn every_target_replays_its_corpus_without_panic() {
    for (name, run) in vnetlab::fuzzing::TARGETS {
        for (path, data) in seeds(name) {
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{name} panicked on {}", path.display());
        }
    }
}

#[test]
fn api_seeds_are_requests_the_daemon_parses() {
    // Seeds that parse start the fuzzer inside the model, past serde.
    for (path, data) in seeds("api") {
        let parsed = serde_json::from_slice::<vnetlab::daemon::proto::Request>(&data);
        let name = path.to_string_lossy();
        assert_eq!(parsed.is_ok(), !name.contains("not-json"), "{name}: {parsed:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every target's seeds, a few bytes flipped, inserted or cut.
    #[test]
    fn mutated_seeds_of_every_target_never_panic(
        target in any::<prop::sample::Index>(),
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let (name, run) = vnetlab::fuzzing::TARGETS[target.index(vnetlab::fuzzing::TARGETS.len())];
        let s = seeds(name);
        let mut data = s[pick.index(s.len())].1.clone();
        for (at, x, kind) in &edits {
            let i = at.index(data.len() + 1);
            match kind {
                0 if i < data.len() => data[i] ^= x | 1,
                1 => data.insert(i, *x),
                _ => data.truncate(i),
            }
        }
        run(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let t = tables();
        let now = Instant::now();
        let mut ct = ConnTrack::new();
        for ing in all_ingresses(t) {
            let _ = decide(t, &LbHealth::all_up(), &mut ct, ing, &bytes, now);
            let _ = decide(t, &LbHealth::all_up(), &mut ct, ing, &bytes, now);
        }
        vnetlab::dataplane::fuzzing::run(&bytes);
    }

    #[test]
    fn mutated_corpus_never_panics(
        pick in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let c = corpus();
        let (_, data) = &c[pick.index(c.len())];
        let mut packet = data.get(1..).unwrap_or_default().to_vec();
        if !packet.is_empty() {
            for (at, x) in &flips {
                let i = at.index(packet.len());
                packet[i] ^= x | 1;
            }
        }
        if truncate {
            packet.truncate(cut.index(packet.len() + 1));
        }
        let t = tables();
        let now = Instant::now();
        let mut ct = ConnTrack::new();
        for ing in all_ingresses(t) {
            let _ = decide(t, &LbHealth::all_up(), &mut ct, ing, &packet, now);
            let _ = decide(t, &LbHealth::all_up(), &mut ct, ing, &packet, now);
        }
    }
}
