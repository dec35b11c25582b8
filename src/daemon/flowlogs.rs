//! VNet flow logs, live: the packet path hands each packet of a logged NIC
//! to a bounded channel (never waiting: a full channel counts the loss),
//! and one task runs a `flowlog::FlowLogger` per NIC and appends its
//! records to the hourly `PT1H.json` blobs under the lab's directory:
//! `<state dir>/flowlogs/<storage account>/insights-logs-flowlogflowevent/…`
//! (`/var/lib/vnetlab/<lab>/…` by default).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::plane::Plane;
use crate::dataplane::{Ingress, NicIdx, NsgIdx, NsgRuleIdx, Verdict};
use crate::flowlog::{
    Decision, FlowDirection, FlowEnd, FlowEvent, FlowKey, FlowLogConfig, FlowLogTarget, FlowLogger, Rule, blobs,
};
use crate::model::{Access, Direction, FlowLog, Model};

/// Events the channel holds before the packet path drops them.
const QUEUE: usize = 65_536;
/// How long the packets of an ended flow (its last ACK, a FIN answering a
/// FIN) are not taken for a new flow.
const AFTER_END_MS: u64 = 30_000;
/// How often the logger moves time on and writes what it has.
const WRITE_EVERY: Duration = Duration::from_secs(1);
/// How often blobs past their flow log's retention are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The flow log one NIC is covered by, as the packet path needs it.
#[derive(Debug)]
pub struct NicLog {
    /// The NIC's stable key: one logger per NIC across generations.
    nic_key: u64,
    target: FlowLogTarget,
    /// The storage account's folder under the lab's flow log directory.
    account: String,
    /// `retentionPolicy.days`: 0 keeps the blobs forever.
    retention_days: u32,
}

/// For each NIC of `plane`'s tables, the enabled flow log that covers it
/// (Model::flow_log_for_nic); empty when none does, so the packet path
/// tests one length.
pub fn assign(model: &Model, plane: &Plane) -> Vec<Option<Arc<NicLog>>> {
    let logs: Vec<Option<Arc<NicLog>>> = plane
        .tables
        .nics
        .iter()
        .map(|n| {
            let f: &FlowLog = model.flow_log_for_nic(&n.id)?;
            Some(Arc::new(NicLog {
                nic_key: n.key,
                target: FlowLogTarget {
                    subscription_id: f.id.subscription_id().to_string(),
                    region: f.location.clone(),
                    flow_log_name: f.name.clone(),
                    flow_log_guid: f.id.stable_guid("flowLogGUID"),
                    mac: n.id.stable_mac(),
                    target_resource_id: f.target_resource_id.to_string(),
                },
                account: f.storage_account().to_string(),
                retention_days: f.retention_days,
            }))
        })
        .collect();
    if logs.iter().all(Option::is_none) {
        Vec::new()
    } else {
        logs
    }
}

/// An NSG decision the verdict function reported for one NIC.
#[derive(Clone, Copy, Debug)]
pub struct NsgStep {
    pub nic: NicIdx,
    /// `None`: the flow was already tracked (its rule was logged at `B`),
    /// or the NIC and its subnet have no NSG.
    pub rule: Option<(NsgIdx, NsgRuleIdx, Access)>,
}

pub struct Feed {
    tx: mpsc::Sender<(Arc<NicLog>, FlowEvent)>,
    pub lost: AtomicU64,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").field("lost", &self.lost).finish_non_exhaustive()
    }
}

/// The feed the packet path writes to, and the task that logs; `root` is
/// the lab's flow log directory.
pub fn start(root: PathBuf, config: FlowLogConfig) -> Feed {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(rx, root, config));
    Feed {
        tx,
        lost: AtomicU64::new(0),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The rule as flow logs name it, under its NSG's `aclID`.
fn rule(plane: &Plane, step: &NsgStep, direction: Direction) -> Rule {
    match step.rule {
        Some((nsg, row, _)) => {
            let nsg = &plane.tables.nsgs[nsg];
            let acl = nsg.id.stable_guid("aclID");
            match nsg.rules(direction).get(row.index()) {
                Some(r) if r.is_default => Rule::default_rule(acl, &r.name),
                Some(r) => Rule::user_rule(acl, &r.name),
                None => Rule::default_rule(acl, "unspecified"),
            }
        }
        // UNCONFIRMED: Azure does not document what a flow with no NSG
        // decision (tracked mid-flow, or no NSG at all) is filed under.
        None => Rule {
            acl_id: "unspecified".into(),
            name: "unspecified".into(),
        },
    }
}

/// Which NIC of a packet is offered: the sender's as the packet left it
/// (before NAT), the receiver's as it arrives (after NAT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Sender,
    Receiver,
}

/// Offers one packet to the flow log of the NIC on `side` (the sender's,
/// outbound; the receiver's, inbound) with the decision that NIC's NSG
/// made. A NIC whose NSG was not reached (a packet dropped before) logs
/// nothing.
#[allow(clippy::too_many_arguments)]
pub fn observe(
    feed: &Feed,
    plane: &Plane,
    side: Side,
    ingress: Ingress,
    verdict: &Verdict,
    steps: &[NsgStep],
    pkt: &[u8],
    packets: u64,
    bytes: u64,
) {
    let sender = match ingress {
        Ingress::Nic(n) => Some(n),
        _ => None,
    };
    let receiver = match *verdict {
        Verdict::Deliver { nic, .. } | Verdict::ToAppliance { nic, .. } | Verdict::Hairpin { nic, .. } => Some(nic),
        Verdict::Drop(r) => super::plane::concerned_nic(&r).filter(|&n| Some(n) != sender),
        _ => None,
    };
    let (nic, direction, dir) = match side {
        Side::Sender => (sender, FlowDirection::Outbound, Direction::Outbound),
        Side::Receiver => (receiver, FlowDirection::Inbound, Direction::Inbound),
    };
    // The packet is parsed only for a NIC that is logged.
    let Some(nic) = nic else { return };
    let Some(Some(log)) = plane.flow_logs.get(nic.index()) else {
        return;
    };
    let Some(step) = steps.iter().find(|s| s.nic == nic) else {
        return;
    };
    let Ok(p) = crate::dataplane::packet::parse(pkt) else {
        return;
    };
    let k = p.key;
    let key = FlowKey {
        src: IpAddr::V4(k.src),
        dst: IpAddr::V4(k.dst),
        src_port: k.sport,
        dst_port: k.dport,
        protocol: k.proto,
    };
    let rule = rule(plane, step, dir);
    let decision = match step.rule {
        Some((_, _, Access::Deny)) => Decision::Deny(rule),
        _ => Decision::Allow(rule),
    };
    let ev = FlowEvent {
        ts_ms: now_ms(),
        key,
        direction,
        decision,
        bytes,
        packets,
        end: tcp_end(pkt),
    };
    if feed.tx.try_send((log.clone(), ev)).is_err() {
        feed.lost.fetch_add(1, Relaxed);
    }
}

/// FIN or RST ends a TCP flow.
fn tcp_end(pkt: &[u8]) -> Option<FlowEnd> {
    if pkt.get(9) != Some(&6) {
        return None;
    }
    let ihl = usize::from(pkt.first()? & 0x0f) * 4;
    let flags = *pkt.get(ihl + 13)?;
    if flags & 0x04 != 0 {
        Some(FlowEnd::Rst)
    } else if flags & 0x01 != 0 {
        Some(FlowEnd::Fin)
    } else {
        None
    }
}

struct NicState {
    logger: FlowLogger,
    log: Arc<NicLog>,
    /// Flows that ended lately, by their key as first seen: their last
    /// packets are not a new flow.
    ended: HashMap<FlowKey, u64>,
}

async fn run(mut rx: mpsc::Receiver<(Arc<NicLog>, FlowEvent)>, root: PathBuf, config: FlowLogConfig) {
    let mut nics: HashMap<u64, NicState> = HashMap::new();
    let mut every = tokio::time::interval(WRITE_EVERY);
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            got = rx.recv() => {
                let Some((log, ev)) = got else { return };
                feed(&mut nics, log, ev, config);
            }
            _ = every.tick() => write_all(&mut nics, &root).await,
            _ = sweep.tick() => sweep_expired(&nics, &root, now_ms()),
        }
    }
}

/// Deletes the hourly blobs of every flow log seen since the daemon
/// started that are past its retention (`flowlog::expired`), as the
/// storage account's retention policy does in Azure.
fn sweep_expired(nics: &HashMap<u64, NicState>, root: &Path, now_ms: u64) {
    let logs: std::collections::BTreeSet<(&str, String, u32)> = nics
        .values()
        .filter(|n| n.log.retention_days > 0)
        .map(|n| {
            (
                n.log.account.as_str(),
                n.log.target.flow_log_resource_id(),
                n.log.retention_days,
            )
        })
        .collect();
    for (account, id, days) in logs {
        let dir = root
            .join(account)
            .join(format!("insights-logs-flowlogflowevent/flowLogResourceID={id}"));
        if let Err(e) = remove_expired(&dir, now_ms, days) {
            eprintln!("flow log: cannot apply the retention under {}: {e}", dir.display());
        }
    }
}

/// Removes the `y=/m=/d=/h=` folders under `dir` whose hour is past
/// `days` of retention, and the folders that leaves empty. Returns how
/// many hours went.
fn remove_expired(dir: &Path, now_ms: u64, days: u32) -> std::io::Result<usize> {
    fn walk(dir: &Path, rel: &str, depth: usize, now_ms: u64, days: u32) -> std::io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let rel = format!("{rel}/{}", entry.file_name().to_string_lossy());
            if depth == 3 {
                if crate::flowlog::blob_hour_ms(&rel).is_some_and(|h| crate::flowlog::expired(h, now_ms, days)) {
                    std::fs::remove_dir_all(entry.path())?;
                    removed += 1;
                }
            } else {
                removed += walk(&entry.path(), &rel, depth + 1, now_ms, days)?;
                // Only succeeds on an emptied day, month or year.
                let _ = std::fs::remove_dir(entry.path());
            }
        }
        Ok(removed)
    }
    match walk(dir, "", 0, now_ms, days) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        other => other,
    }
}

fn feed(nics: &mut HashMap<u64, NicState>, log: Arc<NicLog>, ev: FlowEvent, config: FlowLogConfig) {
    let state = nics.entry(log.nic_key).or_insert_with(|| NicState {
        logger: FlowLogger::new(config),
        log: log.clone(),
        ended: HashMap::new(),
    });
    // A flow log moved to another resource (or renamed) files from now on
    // under its new name.
    if state.log.target != log.target || state.log.account != log.account {
        state.log = log;
    }
    state.ended.retain(|_, at| ev.ts_ms.saturating_sub(*at) < AFTER_END_MS);
    let recently_ended = |k: &FlowKey| state.ended.contains_key(k) || state.ended.contains_key(&k.reversed());
    if matches!(ev.decision, Decision::Allow(_)) && recently_ended(&ev.key) {
        return;
    }
    if ev.end.is_some() {
        state.ended.insert(ev.key, ev.ts_ms);
    }
    state.logger.record(ev);
}

/// Moves every logger's time on and appends what it produced to its blobs.
async fn write_all(nics: &mut HashMap<u64, NicState>, root: &Path) {
    let now = now_ms();
    for state in nics.values_mut() {
        state.logger.tick(now);
        let tuples = state.logger.take_tuples();
        if tuples.is_empty() {
            continue;
        }
        let Ok(docs) = blobs(&state.log.target, &tuples) else {
            continue;
        };
        for (path, doc) in docs {
            let file = root.join(&state.log.account).join(path);
            if let Err(e) = append(&file, doc.records) {
                eprintln!("flow log: cannot write {}: {e}", file.display());
            }
        }
    }
}

/// Appends records to a `{"records":[…]}` blob, written whole to a new
/// file then renamed, so a reader never sees half a document.
fn append(file: &Path, records: Vec<crate::flowlog::Record>) -> std::io::Result<()> {
    let mut doc: crate::flowlog::Document = match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(e),
    };
    doc.records.extend(records);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&doc).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, file)
}

/// The record interval: `VNETLAB_FLOW_LOG_INTERVAL` at `vnetlab up`
/// (`10s`, `500ms`, `2m`, bare seconds), else Azure's 1 minute.
pub fn config_from_env() -> FlowLogConfig {
    let mut config = FlowLogConfig::default();
    if let Ok(v) = std::env::var("VNETLAB_FLOW_LOG_INTERVAL") {
        match parse_interval(&v) {
            Some(ms) => config.interval_ms = ms,
            None => eprintln!("VNETLAB_FLOW_LOG_INTERVAL={v} is not a duration (10s, 500ms, 2m): using 1 minute"),
        }
    }
    config
}

fn parse_interval(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().ok()?;
    let ms = match &s[split..] {
        "" | "s" => n * 1000,
        "ms" => n,
        "m" => n * 60_000,
        _ => return None,
    };
    (ms > 0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_removes_expired_hours_and_the_folders_they_leave_empty() {
        let dir = std::env::temp_dir().join(format!("vnetlab-retention-{}", std::process::id()));
        let hour = |d: &str, h: &str| dir.join(format!("y=2026/m=11/{d}/{h}/m=00/macAddress=00224871C205"));
        for (d, h) in [("d=20", "h=05"), ("d=28", "h=23"), ("d=29", "h=00"), ("d=30", "h=12")] {
            std::fs::create_dir_all(hour(d, h)).unwrap();
            std::fs::write(hour(d, h).join("PT1H.json"), "{\"records\":[]}").unwrap();
        }
        // 2026-11-30 00:00 UTC with one day of retention: what ended before
        // 2026-11-29 00:00 goes.
        let now = 1_795_996_800_000;
        assert_eq!(remove_expired(&dir, now, 1).unwrap(), 2);
        assert!(!dir.join("y=2026/m=11/d=20").exists(), "an emptied day goes too");
        assert!(!dir.join("y=2026/m=11/d=28").exists());
        assert!(hour("d=29", "h=00").join("PT1H.json").exists());
        assert!(hour("d=30", "h=12").join("PT1H.json").exists());
        assert_eq!(remove_expired(&dir.join("missing"), now, 1).unwrap(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn intervals_take_units() {
        assert_eq!(parse_interval("2s"), Some(2000));
        assert_eq!(parse_interval("90"), Some(90_000));
        assert_eq!(parse_interval("1m"), Some(60_000));
        assert_eq!(parse_interval("0"), None);
        assert_eq!(parse_interval("soon"), None);
    }

    #[test]
    fn fin_and_rst_end_a_tcp_flow() {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[9] = 6;
        p[33] = 0x10; // ACK
        assert_eq!(tcp_end(&p), None);
        p[33] = 0x11; // FIN|ACK
        assert_eq!(tcp_end(&p), Some(FlowEnd::Fin));
        p[33] = 0x14; // RST|ACK
        assert_eq!(tcp_end(&p), Some(FlowEnd::Rst));
        p[9] = 17;
        assert_eq!(tcp_end(&p), None, "not TCP");
    }

    #[test]
    fn appending_keeps_earlier_records() {
        let dir = std::env::temp_dir().join(format!("vnetlab-flowlog-append-{}", std::process::id()));
        let file = dir.join("a/b/PT1H.json");
        let record = |time: &str| crate::flowlog::Record {
            time: time.into(),
            flow_log_version: 4,
            flow_log_guid: "g".into(),
            mac_address: "000D3A000000".into(),
            category: crate::flowlog::CATEGORY.into(),
            flow_log_resource_id: "id".into(),
            target_resource_id: "t".into(),
            operation_name: crate::flowlog::OPERATION_NAME.into(),
            flow_records: crate::flowlog::FlowRecords { flows: vec![] },
        };
        append(&file, vec![record("1")]).expect("first");
        append(&file, vec![record("2")]).expect("second");
        let doc: crate::flowlog::Document =
            serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("a document");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            doc.records.iter().map(|r| r.time.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
    }
}
