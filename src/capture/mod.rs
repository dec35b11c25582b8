//! Packet capture as pcapng: what the fabric saw at one point (a VM, a NIC,
//! a peering), both directions, dropped packets included, each packet
//! carrying its verdict as the pcapng `opt_comment`.
//!
//! Plain data in, bytes out: this module imports nothing else of the crate,
//! so the data plane can fill a [`CaptureRing`] and a writer thread drain it
//! into a [`PcapngWriter`] without either knowing the other's types.
//!
//! The live wiring (`vnetlab capture`) is src/daemon/capture.rs; see
//! docs/capture.md.

mod pcapng;
mod ring;

pub use pcapng::{CaptureError, Direction, Interface, PcapngWriter};
pub use ring::{CaptureRing, CapturedPacket};
