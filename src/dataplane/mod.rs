//! The packet path: compiled tables, connection tracking and the verdict.

mod conntrack;
#[doc(hidden)]
pub mod fuzzing;
pub mod explain;
pub mod nat;
pub mod overlay;
pub mod packet;
mod tables;
mod verdict;

pub use conntrack::ConnTrack;
pub use tables::{PROBE_ALIAS_NET, SERVICE_IP, cache_instance_key, EndpointEntry, LbEntry, LbRuleEntry, ProbeEntry, ServiceEntry, CHop, ConnectionEntry, GatewayEntry, LinkEntry, NicEntry, NicIdx, SubnetEntry, SubnetIdx, Tables, VnetEntry, VnetIdx, stable_key};
pub use verdict::{CLOUD_SHELL_IP, DEFAULT_OUTBOUND_IP, INTERNET_GATEWAY_IP, DropReason, Ingress, Observer, RouteCtx, Step, Verdict, decide, decide_with, nsg_decision};
