#![forbid(unsafe_code)]
//! vnetlab: Azure virtual networking, emulated on one Linux machine.
//!
//! # Layout
//! - [`model`]: Azure resources as plain data, changed only through
//!   validated [`model::Change`]s that carry Azure's error codes.
//! - [`routing`]: system, peering, gateway and user routes; route selection;
//!   the per-subnet longest-prefix table.
//! - [`nsg`]: security rules compiled against service tags; evaluation.
//! - [`dataplane`]: the compiled [`dataplane::Tables`] snapshot, connection
//!   tracking and [`dataplane::decide`], the one verdict function.
//! - [`dns`]: Azure-provided DNS and Private DNS zones as a pure
//!   query-bytes-to-response-bytes resolver.
//! - [`topology`]: the YAML topology file, turned into model changes.
//! - [`print`]: the table printer every `-o table` and report uses.
//! - [`cli`]: the `vnetlab` commands.
//! - [`fuzzing`]: the fuzz harnesses (`scripts/fuzz`, tests/fuzz_corpus.rs).
//!
//! Nothing here needs root: the live lab's host layer builds on top.

pub mod arm;
pub mod az;
pub mod capture;
pub mod cli;
pub mod daemon;
pub mod dataplane;
pub mod dns;
pub mod expect;
pub mod flowlog;
pub mod fuzzing;
pub mod host;
pub mod model;
pub mod nsg;
pub mod print;
pub mod routing;
pub mod terraform;
pub mod topology;
