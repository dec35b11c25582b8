//! Azure VNet flow logs (version 4, category `FlowLogFlowEvent`) as pure
//! data: a per-NIC state machine turns packet events into flow tuples, and
//! the tuples become Azure's records, documents and blob paths.
//!
//! Azure: format from MS docs `articles/network-watcher/vnet-flow-logs-overview.md`
//! (see shared/azure-semantics-2.md §5.2): 13-field tuples
//! `time_ms,src,dst,sport,dport,proto,I|O,B|C|E|D,NX,ps,bs,pr,br`, grouped by
//! NSG (`aclID`) and rule under `flowRecords.flows[].flowGroups[]`, one record
//! per minute and NIC, hourly `PT1H.json` blobs under
//! `insights-logs-flowlogflowevent/flowLogResourceID=/…/macAddress={MAC}/`.
//!
//! Plain data in, text out: this module imports nothing else of the crate.
//! The live wiring (the data plane feeding events, the daemon writing
//! blobs) is src/daemon/flowlogs.rs; see docs/capture.md, "Flow logs".

mod logger;
mod record;

pub use logger::{
    Counters, Decision, FlowDirection, FlowEnd, FlowEvent, FlowKey, FlowLogConfig, FlowLogger, FlowState, FlowTuple,
    Rule,
};
pub use record::{
    CATEGORY, Document, FLOW_LOG_VERSION, FlowGroup, FlowLogError, FlowLogTarget, FlowRecords, OPERATION_NAME, Record,
    RuleFlows, blob_hour_ms, blob_path, blobs, expired, records,
};

#[cfg(test)]
mod tests;
