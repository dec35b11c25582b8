//! The packet path: compiled tables, connection tracking and the verdict.

mod conntrack;
pub mod explain;
#[doc(hidden)]
pub mod fuzzing;
mod health;
pub mod nat;
pub mod overlay;
pub mod packet;
mod tables;
mod verdict;

pub use conntrack::ConnTrack;
pub use health::LbHealth;
pub use tables::{
    CHop, ConnectionEntry, EndpointEntry, GatewayEntry, LbEntry, LbRuleEntry, LinkEntry, NicEntry, NicIdx,
    PROBE_ALIAS_NET, ProbeEntry, SERVICE_IP, ServiceEntry, SubnetEntry, SubnetIdx, Tables, VnetEntry, VnetIdx,
    cache_instance_key, stable_key,
};
pub use verdict::{
    CLOUD_SHELL_IP, DEFAULT_OUTBOUND_IP, DropReason, INTERNET_GATEWAY_IP, Ingress, Observer, RouteCtx, Step, Verdict,
    decide, decide_with, nsg_decision,
};
