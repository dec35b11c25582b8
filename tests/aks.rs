//! Lab 06 (azure-semantics §12.4) without root: every row of every
//! stage's expectations through the verdict function and the node rules
//! (`explain::pod_round_trip`). The live lab checks the same rows with
//! real ping (`scripts/check-labs`, tests/live.rs); the two must agree.

use std::net::Ipv4Addr;
use std::time::Instant;

use vnetlab::dataplane::explain::pod_round_trip;
use vnetlab::dataplane::explain::round_trip;
use vnetlab::dataplane::{Ingress, LbHealth, Tables};
use vnetlab::expect::{ExpectFile, Probe};
use vnetlab::model::{Change, Model};
use vnetlab::topology::Topology;

const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/06-aks-overlay-multiregion");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{LAB}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn stage1() -> Model {
    Topology::parse(&read("topology.yaml"))
        .expect("topology parses")
        .build()
        .expect("topology builds")
}

fn apply(model: &mut Model, changes: &str) {
    #[derive(serde::Deserialize)]
    struct File {
        changes: Vec<Change>,
    }
    let f: File = serde_yaml_ng::from_str(&read(changes)).expect("a changes file");
    model
        .apply_all(f.changes)
        .unwrap_or_else(|(i, e)| panic!("{changes}: change {i}: {e}"));
}

/// (reached, why) for one expectation, as the fabric and the nodes decide.
fn decide(model: &Model, t: &Tables, from: &str, to: &str, via: Probe, port: Option<u16>) -> (bool, String) {
    let pod = |name: &str| {
        name.split_once('/')
            .and_then(|(c, p)| model.managed_cluster_by_name(c)?.pod(p).cloned())
    };
    let dst: Ipv4Addr = match pod(to) {
        Some(p) => p.ip,
        None => t.nics[t.nic_of_vm(to).unwrap_or_else(|| panic!("no VM {to}"))].ip,
    };
    let (protocol, port) = match via {
        Probe::Ping => ("icmp", 0),
        _ => ("tcp", port.unwrap_or(22)),
    };
    match pod(from) {
        Some(p) => pod_round_trip(
            t,
            &LbHealth::all_up(),
            t.nic_of_vm(&p.node).expect("the pod's node"),
            p.ip,
            dst,
            protocol,
            port,
            Instant::now(),
        ),
        None => {
            let (ok, e) = round_trip(
                t,
                &LbHealth::all_up(),
                Ingress::Nic(t.nic_of_vm(from).expect("a VM")),
                dst,
                protocol,
                port,
                Instant::now(),
            );
            (ok, e.summary)
        }
    }
}

fn check(model: &Model, expect: &str) {
    let t = Tables::compile(model, 1);
    for e in ExpectFile::parse(&read(expect))
        .expect("an expectations file")
        .expectations
    {
        let (ok, why) = decide(model, &t, &e.from, &e.to, e.via, e.port);
        assert_eq!(ok, e.reachable, "{expect}: {} -> {} ({:?}): {why}", e.from, e.to, e.via);
    }
}

#[test]
fn issue_7_stage_1_without_peering_nothing_crosses_regions() {
    check(&stage1(), "expect.yaml");
}

#[test]
fn issue_7_stage_2_peering_carries_nodes_and_snat_but_not_pod_cidrs() {
    let mut m = stage1();
    apply(&mut m, "changes/peering.yaml");
    check(&m, "changes/peering.expect.yaml");
    // The pod CIDRs are in no effective route.
    let t = Tables::compile(&m, 1);
    for s in &t.subnets {
        assert!(
            s.routes
                .iter()
                .all(|r| !r.address_prefix.to_string().starts_with("10.32.")
                    && !r.address_prefix.to_string().starts_with("10.40."))
        );
    }
    let (_, why) = decide(&m, &t, "aks-canada/cc-pod-0", "aks-eastus/eus-pod-0", Probe::Ping, None);
    assert!(
        why.contains("10.40.0.4 is a pod address of cluster aks-eastus")
            && why.contains("pod CIDRs are not routed by the VNet or over peering"),
        "{why}"
    );
    apply(&mut m, "changes/peering.undo.yaml");
    check(&m, "expect.yaml");
}

#[test]
fn issue_7_stage_3_mesh_over_peering_makes_pod_to_pod_work() {
    let mut m = stage1();
    apply(&mut m, "changes/peering-mesh.yaml");
    check(&m, "changes/peering-mesh.expect.yaml");
    apply(&mut m, "changes/peering-mesh.undo.yaml");
    check(&m, "expect.yaml");
}

#[test]
fn a_mesh_without_peering_is_dropped_like_any_node_traffic() {
    let mut m = stage1();
    apply(&mut m, "changes/mesh-without-peering.yaml");
    check(&m, "changes/mesh-without-peering.expect.yaml");
}

#[test]
fn a_node_may_not_send_pod_sources_out_of_its_cluster() {
    use vnetlab::dataplane::explain::probe_packet;
    use vnetlab::dataplane::{ConnTrack, DropReason, Verdict, decide};
    let mut m = stage1();
    apply(&mut m, "changes/peering.yaml");
    let t = Tables::compile(&m, 1);
    let node = t
        .nic_of_vm(&m.managed_cluster_by_name("aks-canada").unwrap().pods[0].node)
        .unwrap();
    // Unmasqueraded pod traffic toward the peered VNet: the fabric drops it.
    let pkt = probe_packet(
        "10.32.0.4".parse().unwrap(),
        "10.5.0.4".parse().unwrap(),
        "icmp",
        1,
        1,
        false,
    )
    .unwrap();
    let v = decide(
        &t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        Ingress::Nic(node),
        &pkt,
        Instant::now(),
    );
    assert!(
        matches!(v, Verdict::Drop(DropReason::PodSourceOutsideCluster { .. })),
        "{v:?}"
    );
    // Another node's pod source: refused too.
    let pkt = probe_packet(
        "10.32.1.4".parse().unwrap(),
        "10.32.0.9".parse().unwrap(),
        "icmp",
        1,
        1,
        false,
    )
    .unwrap();
    let v = decide(
        &t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        Ingress::Nic(node),
        &pkt,
        Instant::now(),
    );
    assert!(
        matches!(v, Verdict::Drop(DropReason::PodSourceOutsideCluster { .. })),
        "{v:?}"
    );
}

/// Issue 16 item 4 for lab 06, without root: `az group export` of both
/// groups, each template deployed into a fresh lab (the db VM's password as
/// its securestring parameter), the test pods created again as `kubectl
/// run` would (pods are Kubernetes objects: no ARM template holds them),
/// and every stage-1 expectation holds on the rebuilt lab, with the same
/// node names, addresses and pod /24s.
#[test]
fn lab_06_round_trips_through_group_export_and_a_deployment() {
    use vnetlab::arm::export;
    use vnetlab::model::{PodSpec, ResourceId};
    let from = stage1();
    let mut into = Model::new();
    for g in from.resource_groups.values().filter(|g| !g.name.starts_with("MC_")) {
        into.apply_all(vec![Change::PutResourceGroup {
            subscription: g.id.subscription_id().to_string(),
            name: g.name.clone(),
            location: g.location.clone(),
        }])
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    }
    for group in ["rg-canada", "rg-eastus"] {
        let gid = from
            .resource_groups
            .keys()
            .find(|g| g.name() == group)
            .expect("the group")
            .clone();
        let template = export::template(&from, &gid);
        let password = export::password_parameter("db-vm");
        let parameters = match template["parameters"].get(&password) {
            Some(_) => serde_json::json!({ password: { "value": "AksLab-Passw0rd!" } }),
            None => serde_json::json!({}),
        };
        let changes = export::deploy(&into, &gid, &template, &parameters)
            .unwrap_or_else(|e| panic!("{group}: {e}\n{template:#}"));
        into.apply_all(changes)
            .unwrap_or_else(|(i, e)| panic!("{group}: change {i}: {e}"));
    }
    let nodes = |m: &Model| -> Vec<(String, String, String)> {
        m.managed_clusters
            .values()
            .flat_map(|c| {
                c.nodes()
                    .map(move |n| (c.name.clone(), n.name.clone(), n.pod_cidr.to_string()))
            })
            .collect()
    };
    assert_eq!(nodes(&into), nodes(&from));
    for c in from.managed_clusters.values() {
        let cluster = ResourceId::parse(c.id.as_str()).expect("an ID");
        let pods = c.pods.iter().map(|p| {
            Change::PutPod(PodSpec {
                cluster: cluster.clone(),
                name: p.name.clone(),
                image: p.image.clone(),
                command: p.command.clone(),
                node: Some(p.node.clone()),
            })
        });
        into.apply_all(pods.collect::<Vec<_>>())
            .unwrap_or_else(|(i, e)| panic!("pod {i}: {e}"));
    }
    check(&into, "expect.yaml");
}
