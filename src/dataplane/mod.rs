//! The packet path, in layers; each imports only from the ones above it:
//!
//! 1. [`packet`], [`nat`], `index`, [`LbHealth`]: bytes, translations,
//!    typed indices, the prober's backend health.
//! 2. `tables` (with [`overlay`], the AKS pod routing domains, and
//!    [`delay`], the regions and the delay between them): the compiled,
//!    immutable snapshot of one model generation.
//! 3. `conntrack`: the flows seen (NSG state, fragments, translated flows).
//! 4. `verdict`: [`decide`], what the fabric does with one packet, given
//!    the tables, the health and the connection tracker.
//! 5. [`simulate`]: packets followed further than one verdict (through
//!    NVAs, round trips, a pod's node), for explanations and tests.
//! 6. [`explain`]: what the simulation found, in words.

mod conntrack;
pub mod delay;
pub mod explain;
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod index;
pub mod nat;
pub mod overlay;
pub mod packet;
pub mod simulate;
mod tables;
mod verdict;

pub use conntrack::{Answer, ConnTrack, FLOW_LIMIT, Pinned};
pub use health::LbHealth;
pub use index::{
    ClusterIdx, ConnIdx, EndpointIdx, FrontendIdx, Idx, IdxVec, LbIdx, LbRuleIdx, LinkIdx, NicIdx, NsgIdx, NsgRuleIdx,
    PoolIdx, ProbeIdx, RegionIdx, RouteIdx, ServiceIdx, SubnetIdx, VnetIdx,
};
pub use tables::{
    CHop, ConnectionEntry, EndpointEntry, GatewayEntry, LbEntry, LbRuleEntry, LinkEntry, NicEntry, PROBE_ALIAS_NET,
    ProbeEntry, SERVICE_IP, ServiceEntry, SubnetEntry, Tables, VnetEntry, cache_instance_key, stable_key,
};
pub use verdict::{
    CLOUD_SHELL_IP, DEFAULT_OUTBOUND_IP, DropReason, INTERNET_GATEWAY_IP, Ingress, Observer, RouteCtx, Step, Verdict,
    decide, decide_with, nsg_decision,
};
