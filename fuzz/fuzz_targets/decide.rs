//! Arbitrary bytes through the verdict function on lab 01: it must never
//! panic. The harness lives in `vnetlab::dataplane::fuzzing`, shared with
//! the corpus replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vnetlab::dataplane::fuzzing::run(data));
