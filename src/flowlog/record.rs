//! Flow tuples as Azure writes them: one record per NIC and minute, the
//! `{"records":[...]}` document, and the hourly blob it is appended to.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::logger::FlowTuple;

pub const FLOW_LOG_VERSION: u32 = 4;
pub const CATEGORY: &str = "FlowLogFlowEvent";
pub const OPERATION_NAME: &str = "FlowLogFlowEvent";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlowLogError {
    #[error("flow log: timestamp {ts_ms} ms is outside the calendar")]
    TimeOutOfRange { ts_ms: u64 },
}

/// What a NIC's flow log is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLogTarget {
    pub subscription_id: String,
    /// The Network Watcher's region, e.g. `eastus`.
    pub region: String,
    /// The flow log resource's name.
    pub flow_log_name: String,
    pub flow_log_guid: String,
    pub mac: [u8; 6],
    /// The VNet (or subnet, or NIC) the flow log is enabled on.
    pub target_resource_id: String,
}

impl FlowLogTarget {
    /// Azure: flow logs live in the region's Network Watcher, in resource
    /// group NetworkWatcherRG; records carry the id upper-cased, as the
    /// blob path does (azure-semantics-2 §5.2).
    pub fn flow_log_resource_id(&self) -> String {
        format!(
            "/SUBSCRIPTIONS/{}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_{}/FLOWLOGS/{}",
            self.subscription_id, self.region, self.flow_log_name
        )
        .to_uppercase()
    }

    /// Azure: `macAddress` is twelve upper-case hex digits, no separators
    /// (`00224871C205`).
    pub fn mac_address(&self) -> String {
        self.mac.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// One record: a NIC's tuples of one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub time: String,
    pub flow_log_version: u32,
    #[serde(rename = "flowLogGUID")]
    pub flow_log_guid: String,
    pub mac_address: String,
    pub category: String,
    #[serde(rename = "flowLogResourceID")]
    pub flow_log_resource_id: String,
    #[serde(rename = "targetResourceID")]
    pub target_resource_id: String,
    pub operation_name: String,
    pub flow_records: FlowRecords,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRecords {
    pub flows: Vec<RuleFlows>,
}

/// The tuples decided by one NSG (`aclID`), by rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleFlows {
    #[serde(rename = "aclID")]
    pub acl_id: String,
    pub flow_groups: Vec<FlowGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowGroup {
    pub rule: String,
    pub flow_tuples: Vec<String>,
}

/// A `PT1H.json` blob's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Document {
    pub records: Vec<Record>,
}

const MINUTE_MS: u64 = 60_000;

fn datetime(ts_ms: u64) -> Result<DateTime<Utc>, FlowLogError> {
    i64::try_from(ts_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or(FlowLogError::TimeOutOfRange { ts_ms })
}

/// Groups tuples into one record per minute (by tuple timestamp), each
/// record's tuples under their NSG and rule in order of first appearance.
/// UNCONFIRMED: a record's `time` is the start of its minute, written with
/// seven fractional digits like Azure's samples; Azure stamps the time the
/// record was written, shortly after.
pub fn records(target: &FlowLogTarget, tuples: &[FlowTuple]) -> Result<Vec<Record>, FlowLogError> {
    Ok(records_by_minute(target, tuples)?.into_iter().map(|(_, r)| r).collect())
}

/// [`records`], each with the start of its minute in ms.
fn records_by_minute(target: &FlowLogTarget, tuples: &[FlowTuple]) -> Result<Vec<(u64, Record)>, FlowLogError> {
    let mut by_minute: BTreeMap<u64, Vec<&FlowTuple>> = BTreeMap::new();
    for t in tuples {
        by_minute.entry(t.ts_ms / MINUTE_MS).or_default().push(t);
    }
    let resource_id = target.flow_log_resource_id();
    let mac = target.mac_address();
    by_minute
        .into_iter()
        .map(|(minute, tuples)| {
            let start_ms = minute * MINUTE_MS;
            let time = datetime(start_ms)?;
            let mut flows: Vec<RuleFlows> = Vec::new();
            for t in tuples {
                let acl = match flows.iter().position(|f| f.acl_id == t.rule.acl_id) {
                    Some(i) => &mut flows[i],
                    None => {
                        flows.push(RuleFlows {
                            acl_id: t.rule.acl_id.clone(),
                            flow_groups: Vec::new(),
                        });
                        let last = flows.len() - 1;
                        &mut flows[last]
                    }
                };
                let tuple = t.to_string();
                match acl.flow_groups.iter_mut().find(|g| g.rule == t.rule.name) {
                    Some(g) => g.flow_tuples.push(tuple),
                    None => acl.flow_groups.push(FlowGroup {
                        rule: t.rule.name.clone(),
                        flow_tuples: vec![tuple],
                    }),
                }
            }
            let record = Record {
                // Seven fractional digits (100 ns), as in Azure's samples.
                time: format!(
                    "{}.{:07}Z",
                    time.format("%Y-%m-%dT%H:%M:%S"),
                    time.timestamp_subsec_nanos() / 100
                ),
                flow_log_version: FLOW_LOG_VERSION,
                flow_log_guid: target.flow_log_guid.clone(),
                mac_address: mac.clone(),
                category: CATEGORY.to_string(),
                flow_log_resource_id: resource_id.clone(),
                target_resource_id: target.target_resource_id.clone(),
                operation_name: OPERATION_NAME.to_string(),
                flow_records: FlowRecords { flows },
            };
            Ok((start_ms, record))
        })
        .collect()
}

/// The blob a record at `ts_ms` is appended to, relative to the storage
/// account (the emulator roots it at a lab directory):
/// `insights-logs-flowlogflowevent/flowLogResourceID=/…/y=2026/m=12/d=01/h=22/m=00/macAddress=…/PT1H.json`.
pub fn blob_path(target: &FlowLogTarget, ts_ms: u64) -> Result<String, FlowLogError> {
    let t = datetime(ts_ms)?;
    Ok(format!(
        "insights-logs-flowlogflowevent/flowLogResourceID={}/y={}/m={:02}/d={:02}/h={:02}/m=00/macAddress={}/PT1H.json",
        target.flow_log_resource_id(),
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        target.mac_address()
    ))
}

/// The start of the hour a blob holds, read back from the `y=/m=/d=/h=`
/// folders of its path (as `blob_path` writes them); `None` for a path
/// that is not a blob's.
pub fn blob_hour_ms(path: &str) -> Option<u64> {
    let field = |key: &str| -> Option<u32> {
        path.split('/')
            .find_map(|part| part.strip_prefix(key))
            .and_then(|v| v.parse().ok())
    };
    let day = chrono::NaiveDate::from_ymd_opt(i32::try_from(field("y=")?).ok()?, field("m=")?, field("d=")?)?;
    let at = day.and_hms_opt(field("h=")?, 0, 0)?.and_utc();
    u64::try_from(at.timestamp_millis()).ok()
}

/// Azure: a retention policy of `days` deletes a flow log's blobs once
/// they are that many days old; 0 keeps them forever (the az default).
/// "Old" is read as: the blob's last hour ended `days` days ago.
/// (learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview,
/// "Retention"; az network watcher flow-log create --retention.)
pub fn expired(hour_ms: u64, now_ms: u64, days: u32) -> bool {
    const HOUR_MS: u64 = 3_600_000;
    days > 0 && now_ms >= hour_ms + HOUR_MS + u64::from(days) * 24 * HOUR_MS
}

/// Tuples as hourly blobs: path → document, the shape the live writer
/// merges into the files under a lab directory.
pub fn blobs(target: &FlowLogTarget, tuples: &[FlowTuple]) -> Result<BTreeMap<String, Document>, FlowLogError> {
    let mut out: BTreeMap<String, Document> = BTreeMap::new();
    for (start_ms, record) in records_by_minute(target, tuples)? {
        out.entry(blob_path(target, start_ms)?)
            .or_default()
            .records
            .push(record);
    }
    Ok(out)
}
