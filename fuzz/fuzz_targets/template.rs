//! Arbitrary bytes through the `template` harness (`vnetlab::fuzzing::template`,
//! shared with the corpus replay in `tests/fuzz_corpus.rs`): it must
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vnetlab::fuzzing::template(data));
