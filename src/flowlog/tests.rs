//! Checks the flow log against a reader written from Azure's documented
//! v4 format (azure-semantics-2 §5.2), not from this module's types: it
//! reads the JSON document and splits the tuple strings itself.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use super::*;

/// 2023-11-14T22:14:00Z, on a minute boundary.
const T: u64 = 1_700_000_040_000;

/// A tuple as the documentation defines it, parsed from its text.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    ts_ms: u64,
    src: String,
    dst: String,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    direction: String,
    state: String,
    encryption: String,
    counters: [u64; 4],
    rule: String,
    acl: String,
    record_time: String,
}

fn read_document(doc: &str) -> Vec<Parsed> {
    let v: Value = serde_json::from_str(doc).expect("a JSON document");
    let mut out = Vec::new();
    for record in v["records"].as_array().expect("records[]") {
        assert_eq!(record["flowLogVersion"], 4);
        assert_eq!(record["category"], "FlowLogFlowEvent");
        assert_eq!(record["operationName"], "FlowLogFlowEvent");
        for field in [
            "time",
            "flowLogGUID",
            "macAddress",
            "flowLogResourceID",
            "targetResourceID",
        ] {
            assert!(record[field].is_string(), "{field} missing from {record}");
        }
        for flow in record["flowRecords"]["flows"].as_array().expect("flows[]") {
            for group in flow["flowGroups"].as_array().expect("flowGroups[]") {
                for tuple in group["flowTuples"].as_array().expect("flowTuples[]") {
                    let f: Vec<&str> = tuple.as_str().expect("a tuple string").split(',').collect();
                    assert_eq!(f.len(), 13, "{tuple}");
                    let n = |i: usize| f[i].parse::<u64>().expect("a number");
                    out.push(Parsed {
                        ts_ms: n(0),
                        src: f[1].into(),
                        dst: f[2].into(),
                        src_port: f[3].parse().expect("port"),
                        dst_port: f[4].parse().expect("port"),
                        protocol: f[5].parse().expect("IANA protocol number"),
                        direction: f[6].into(),
                        state: f[7].into(),
                        encryption: f[8].into(),
                        counters: [n(9), n(10), n(11), n(12)],
                        rule: group["rule"].as_str().expect("rule").into(),
                        acl: flow["aclID"].as_str().expect("aclID").into(),
                        record_time: record["time"].as_str().expect("time").into(),
                    });
                }
            }
        }
    }
    out
}

fn target() -> FlowLogTarget {
    FlowLogTarget {
        subscription_id: "00000000-0000-0000-0000-000000000001".into(),
        region: "eastus".into(),
        flow_log_name: "lab-flowlog".into(),
        flow_log_guid: "66aa66aa-0000-4000-8000-000000000001".into(),
        mac: [0x00, 0x22, 0x48, 0x71, 0xC2, 0x05],
        target_resource_id: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/lab/providers/Microsoft.Network/virtualNetworks/hub".into(),
    }
}

/// Everything the logger produced, through JSON and back.
fn logged(logger: &mut FlowLogger) -> Vec<Parsed> {
    let tuples = logger.take_tuples();
    let doc = Document {
        records: records(&target(), &tuples).expect("records"),
    };
    read_document(&serde_json::to_string(&doc).expect("serialize"))
}

fn vm() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 6))
}

fn storage() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(52, 239, 184, 180))
}

fn https_out() -> FlowKey {
    FlowKey {
        src: vm(),
        dst: storage(),
        src_port: 23956,
        dst_port: 443,
        protocol: 6,
    }
}

fn allow() -> Decision {
    Decision::Allow(Rule::default_rule("acl-hub", "AllowInternetOutBound"))
}

fn packet(ts_ms: u64, key: FlowKey, direction: FlowDirection, bytes: u64, end: Option<FlowEnd>) -> FlowEvent {
    FlowEvent {
        ts_ms,
        key,
        direction,
        decision: allow(),
        bytes,
        packets: 1,
        end,
    }
}

#[test]
fn a_flow_logs_begin_then_interval_deltas_then_end() {
    let mut log = FlowLogger::new(FlowLogConfig::default());
    let out = https_out();
    let back = out.reversed();
    // Minute 0: SYN, SYN-ACK, a request.
    log.record(packet(T + 1_000, out, FlowDirection::Outbound, 60, None));
    log.record(packet(T + 1_500, back, FlowDirection::Inbound, 60, None));
    log.record(packet(T + 2_000, out, FlowDirection::Outbound, 100, None));
    // Minute 1: the response, then the reply's FIN ends it.
    log.record(packet(T + 61_000, back, FlowDirection::Inbound, 1_400, None));
    log.record(packet(T + 62_000, out, FlowDirection::Outbound, 40, None));
    log.record(packet(T + 62_500, back, FlowDirection::Inbound, 40, Some(FlowEnd::Fin)));
    assert_eq!(log.open_flows(), 0);

    let got = logged(&mut log);
    assert_eq!(
        got.iter()
            .map(|p| (p.ts_ms, p.state.as_str(), p.counters))
            .collect::<Vec<_>>(),
        [
            (T + 1_000, "B", [0, 0, 0, 0]),
            (T + 2_000, "C", [2, 160, 1, 60]),
            (T + 62_500, "E", [1, 40, 2, 1_440]),
        ]
    );
    for p in &got {
        // The flow is always named from its initiator's side.
        assert_eq!(
            (p.src.as_str(), p.dst.as_str(), p.src_port, p.dst_port, p.protocol),
            ("10.0.0.6", "52.239.184.180", 23956, 443, 6)
        );
        assert_eq!((p.direction.as_str(), p.encryption.as_str()), ("O", "NX"));
        assert_eq!(
            (p.rule.as_str(), p.acl.as_str()),
            ("DefaultRule_AllowInternetOutBound", "acl-hub")
        );
    }
    // The counters add up to the traffic sent: 3 packets/200 bytes out, 3/1500 back.
    let total = got
        .iter()
        .fold([0; 4], |a, p| std::array::from_fn(|i| a[i] + p.counters[i]));
    assert_eq!(total, [3, 200, 3, 1_500]);
    // One record per minute.
    assert_eq!(got[0].record_time, "2023-11-14T22:14:00.0000000Z");
    assert_eq!(got[1].record_time, got[0].record_time);
    assert_eq!(got[2].record_time, "2023-11-14T22:15:00.0000000Z");
}

#[test]
fn a_denied_packet_is_one_deny_tuple_with_zero_counters_under_its_rule() {
    let mut log = FlowLogger::new(FlowLogConfig::default());
    let ssh_in = FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(101, 33, 218, 153)),
        dst: vm(),
        src_port: 55188,
        dst_port: 22,
        protocol: 6,
    };
    log.record(FlowEvent {
        ts_ms: T + 5,
        key: ssh_in,
        direction: FlowDirection::Inbound,
        decision: Decision::Deny(Rule::default_rule("acl-hub", "DenyAllInBound")),
        bytes: 60,
        packets: 1,
        end: None,
    });
    log.record(FlowEvent {
        ts_ms: T + 7,
        key: FlowKey {
            dst_port: 3389,
            ..ssh_in
        },
        direction: FlowDirection::Inbound,
        decision: Decision::Deny(Rule::user_rule("acl-web", "DenyRdp")),
        bytes: 60,
        packets: 1,
        end: None,
    });
    assert_eq!(log.open_flows(), 0, "a denied packet opens no flow");
    log.tick(T + 600_000);
    let tuples = log.take_tuples();
    assert_eq!(
        tuples[0].to_string(),
        format!("{},101.33.218.153,10.0.0.6,55188,22,6,I,D,NX,0,0,0,0", T + 5)
    );
    let doc = Document {
        records: records(&target(), &tuples).expect("records"),
    };
    let got = read_document(&serde_json::to_string(&doc).expect("json"));
    assert_eq!(
        got.iter()
            .map(|p| (
                p.state.as_str(),
                p.counters,
                p.rule.as_str(),
                p.acl.as_str(),
                p.dst_port
            ))
            .collect::<Vec<_>>(),
        [
            ("D", [0; 4], "DefaultRule_DenyAllInBound", "acl-hub", 22),
            ("D", [0; 4], "UserRule_DenyRdp", "acl-web", 3389),
        ],
        "one D per denied packet, nothing later"
    );
}

#[test]
fn intervals_report_only_closed_intervals_with_traffic_at_their_boundary() {
    let mut log = FlowLogger::new(FlowLogConfig {
        interval_ms: 60_000,
        idle_timeout_ms: 600_000,
    });
    let out = https_out();
    log.record(packet(T + 10_000, out, FlowDirection::Outbound, 100, None));
    log.tick(T + 59_999);
    assert_eq!(log.take_tuples().len(), 1, "only the B: minute 0 is still open");
    log.tick(T + 60_000);
    let c = log.take_tuples();
    assert_eq!(c.len(), 1, "the boundary closes minute 0: {c:?}");
    assert_eq!((c[0].state, c[0].counters.bytes_sent), (FlowState::Continuing, 100));
    // Minute 1 is silent: no C for it. Minute 2 has traffic.
    log.record(packet(T + 150_000, out, FlowDirection::Outbound, 7, None));
    log.tick(T + 179_999);
    assert!(log.take_tuples().is_empty(), "no zero C for the silent minute");
    log.tick(T + 180_000);
    let c = log.take_tuples();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].ts_ms, c[0].counters.packets_sent, c[0].counters.bytes_sent),
        (T + 150_000, 1, 7)
    );

    // A 5-minute interval (aligned to the epoch, as every interval is)
    // collects five minutes into one C.
    let t5 = T + 60_000;
    assert_eq!(t5 % 300_000, 0);
    let mut log = FlowLogger::new(FlowLogConfig {
        interval_ms: 300_000,
        idle_timeout_ms: 600_000,
    });
    for m in 0..5 {
        log.record(packet(t5 + m * 60_000, out, FlowDirection::Outbound, 10, None));
    }
    log.tick(t5 + 299_999);
    assert_eq!(log.take_tuples().len(), 1, "only the B before the boundary");
    log.tick(t5 + 300_000);
    let got: Vec<_> = log
        .take_tuples()
        .into_iter()
        .map(|t| (t.state, t.counters.packets_sent))
        .collect();
    assert_eq!(got, [(FlowState::Continuing, 5)]);
}

#[test]
fn an_idle_flow_ends_when_it_expires_and_a_new_packet_begins_again() {
    let mut log = FlowLogger::new(FlowLogConfig {
        interval_ms: 60_000,
        idle_timeout_ms: 240_000,
    });
    let out = https_out();
    log.record(packet(T + 1_000, out, FlowDirection::Outbound, 60, None));
    log.record(packet(T + 1_200, out.reversed(), FlowDirection::Inbound, 60, None));
    log.tick(T + 241_000 - 1);
    assert_eq!(log.open_flows(), 1);
    log.tick(T + 300_000);
    assert_eq!(log.open_flows(), 0);
    log.record(packet(T + 400_000, out, FlowDirection::Outbound, 60, None));
    let got: Vec<_> = logged(&mut log)
        .into_iter()
        .map(|p| (p.ts_ms, p.state, p.counters))
        .collect();
    assert_eq!(
        got,
        [
            (T + 1_000, "B".to_string(), [0, 0, 0, 0]),
            (T + 1_200, "C".to_string(), [1, 60, 1, 60]),
            (T + 241_200, "E".to_string(), [0, 0, 0, 0]),
            (T + 400_000, "B".to_string(), [0, 0, 0, 0]),
        ]
    );

    // Expiring before the first boundary: the E carries the counters.
    let mut log = FlowLogger::new(FlowLogConfig {
        interval_ms: 60_000,
        idle_timeout_ms: 30_000,
    });
    log.record(packet(T + 1_000, out, FlowDirection::Outbound, 60, None));
    log.tick(T + 120_000);
    let got: Vec<_> = log
        .take_tuples()
        .into_iter()
        .map(|t| (t.ts_ms, t.state, t.counters.bytes_sent))
        .collect();
    assert_eq!(
        got,
        [(T + 1_000, FlowState::Begin, 0), (T + 31_000, FlowState::End, 60)]
    );
}

#[test]
fn rst_ends_a_flow_and_an_inbound_flow_is_named_from_its_initiator() {
    let mut log = FlowLogger::new(FlowLogConfig::default());
    let web_in = FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 4)),
        dst: vm(),
        src_port: 40000,
        dst_port: 80,
        protocol: 6,
    };
    let user = Decision::Allow(Rule::user_rule("acl-web", "AllowWeb"));
    log.record(FlowEvent {
        ts_ms: T,
        key: web_in,
        direction: FlowDirection::Inbound,
        decision: user.clone(),
        bytes: 60,
        packets: 1,
        end: None,
    });
    log.record(FlowEvent {
        ts_ms: T + 1,
        key: web_in.reversed(),
        direction: FlowDirection::Outbound,
        decision: user,
        bytes: 40,
        packets: 1,
        end: Some(FlowEnd::Rst),
    });
    let got: Vec<String> = log.take_tuples().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            format!("{T},10.1.0.4,10.0.0.6,40000,80,6,I,B,NX,0,0,0,0"),
            format!("{},10.1.0.4,10.0.0.6,40000,80,6,I,E,NX,1,60,1,40", T + 1),
        ]
    );
}

#[test]
fn blobs_follow_azures_layout_one_document_per_hour() {
    let mut log = FlowLogger::new(FlowLogConfig::default());
    let out = https_out();
    // 22:14 and, an hour later, 23:14.
    log.record(packet(T + 1_000, out, FlowDirection::Outbound, 60, Some(FlowEnd::Fin)));
    log.record(packet(
        T + 3_600_000,
        out,
        FlowDirection::Outbound,
        60,
        Some(FlowEnd::Fin),
    ));
    let blobs = blobs(&target(), &log.take_tuples()).expect("blobs");
    let paths: Vec<&String> = blobs.keys().collect();
    let prefix = "insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/LAB-FLOWLOG";
    assert_eq!(
        paths,
        [
            &format!("{prefix}/y=2023/m=11/d=14/h=22/m=00/macAddress=00224871C205/PT1H.json"),
            &format!("{prefix}/y=2023/m=11/d=14/h=23/m=00/macAddress=00224871C205/PT1H.json"),
        ]
    );
    for doc in blobs.values() {
        let json = serde_json::to_string(doc).expect("json");
        // Azure's field order within a record.
        let v: Value = serde_json::from_str(&json).expect("parse");
        let keys: Vec<&String> = v["records"][0].as_object().expect("a record").keys().collect();
        assert_eq!(
            keys,
            [
                "time",
                "flowLogVersion",
                "flowLogGUID",
                "macAddress",
                "category",
                "flowLogResourceID",
                "targetResourceID",
                "operationName",
                "flowRecords"
            ]
        );
        assert_eq!(v["records"][0]["macAddress"], "00224871C205");
        assert_eq!(
            v["records"][0]["flowLogResourceID"],
            prefix.trim_start_matches("insights-logs-flowlogflowevent/flowLogResourceID=")
        );
        let states: Vec<String> = read_document(&json).into_iter().map(|p| p.state).collect();
        assert_eq!(states, ["B", "E"]);
        // It reads back into the same types, so the live writer can append.
        assert_eq!(&serde_json::from_str::<Document>(&json).expect("round trip"), doc);
    }
}

#[test]
fn a_blob_expires_when_its_last_hour_is_retention_days_old() {
    // 2026-12-01 22:00 UTC.
    let hour = 1_796_162_400_000;
    let path = blob_path(&target(), hour + 17 * 60_000).expect("path");
    assert_eq!(blob_hour_ms(&path), Some(hour));
    assert_eq!(
        blob_hour_ms("insights-logs-flowlogflowevent/y=2026/m=13/d=01/h=00/m=00/PT1H.json"),
        None
    );
    assert_eq!(blob_hour_ms("not/a/blob"), None);

    const DAY: u64 = 86_400_000;
    let hour_end = hour + 3_600_000;
    assert!(!expired(hour, hour_end + 7 * DAY - 1, 7));
    assert!(expired(hour, hour_end + 7 * DAY, 7));
    // 0 days: kept forever.
    assert!(!expired(hour, hour_end + 10_000 * DAY, 0));
}
