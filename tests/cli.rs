//! The offline commands on the Learn peering lab, as a learner runs them.

use std::process::Command;

const LAB: &str = "labs/01-peering-basics/topology.yaml";

fn vnetlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vnetlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("vnetlab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sales_routes_show_marketing_peering_and_no_research() {
    let (code, out, err) = vnetlab(&["routes", LAB, "--nic", "SalesVMVMNic", "-o", "table"]);
    assert_eq!(code, 0, "{err}");
    // The same columns as `az network nic show-effective-route-table -o table`
    // (src/az/tests.rs): one printer, tabulate's padding.
    assert_eq!(
        out,
        "\
Source    State    Address Prefix    Next Hop Type    Next Hop IP
--------  -------  ----------------  ---------------  -------------
Default   Active   10.1.0.0/16       VnetLocal
Default   Active   10.2.0.0/16       VNetPeering
Default   Active   0.0.0.0/0         Internet
Default   Active   10.0.0.0/8        None
Default   Active   172.16.0.0/12     None
Default   Active   192.168.0.0/16    None
Default   Active   100.64.0.0/10     None
"
    );
}

#[test]
fn marketing_routes_show_regional_and_global_peering() {
    let (code, out, _) = vnetlab(&["routes", LAB, "--nic", "MarketingVMVMNic"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Default   Active   10.1.0.0/16       VNetPeering\n"),
        "{out}"
    );
    assert!(
        out.contains("Default   Active   10.3.0.0/16       VNetGlobalPeering\n"),
        "{out}"
    );
}

#[test]
fn routes_json_has_az_shape() {
    let (code, out, _) = vnetlab(&["routes", LAB, "--nic", "SalesVMVMNic", "-o", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = &v["value"][0];
    assert_eq!(first["addressPrefix"][0], "10.1.0.0/16");
    assert_eq!(first["nextHopType"], "VnetLocal");
    assert_eq!(first["source"], "Default");
    assert_eq!(first["state"], "Active");
    assert!(first["nextHopIpAddress"].as_array().unwrap().is_empty());
}

#[test]
fn explain_names_non_transitive_peering_in_one_line() {
    let (code, out, _) = vnetlab(&["explain", LAB, "--from", "SalesVM", "--to", "10.3.1.4:22"]);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("SalesVM (10.1.1.4) -> 10.3.1.4:22 tcp: dropped: no route leads to 10.3.1.4"),
        "{first}"
    );
    assert!(
        first.contains("ResearchVNet is not peered with SalesVNet, and peering is not transitive"),
        "{first}"
    );
}

#[test]
fn explain_delivery_lists_route_peering_and_nsg_rules() {
    // Across a peering the name does not resolve (Azure-provided DNS
    // answers inside one VNet); the verdict follows for the VM's IP.
    let (_, out, _) = vnetlab(&["explain", LAB, "--from", "SalesVM", "--to", "MarketingVM"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("SalesVM cannot resolve MarketingVM: NXDOMAIN: MarketingVM is in MarketingVNet, peered with SalesVNet: Azure-provided DNS answers only inside one VNet; link a private DNS zone to both"),
        "{out}"
    );
    assert!(lines[1].starts_with("By IP, MarketingVM is 10.2.1.4"), "{out}");
    assert!(lines[2].contains("delivered to MarketingVM"), "{out}");
    assert!(out.contains("crosses peering SalesVNet-To-MarketingVNet"), "{out}");
    assert!(out.contains("rule AllowVnetInBound"), "{out}");
}

#[test]
fn next_hop_and_ip_flow_answer_like_network_watcher() {
    let (_, out, _) = vnetlab(&["next-hop", LAB, "--vm", "SalesVM", "--dest", "10.3.1.4", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["nextHopType"], "None");
    assert_eq!(v["routeTableId"], "System Route");
    let (_, out, _) = vnetlab(&[
        "ip-flow",
        LAB,
        "--vm",
        "SalesVM",
        "--direction",
        "Inbound",
        "--protocol",
        "TCP",
        "--local",
        "10.1.1.4:80",
        "--remote",
        "203.0.113.50:40000",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["access"], "Deny");
    assert_eq!(v["ruleName"], "defaultSecurityRules/DenyAllInBound");
}

#[test]
fn analyze_prints_the_reachability_matrix() {
    let (code, out, _) = vnetlab(&["analyze", "labs/01-peering-basics"]);
    assert_eq!(code, 0);
    assert!(out.contains("SalesVM      MarketingVM  yes     yes"), "{out}");
    assert!(out.contains("SalesVM      ResearchVM   no      no"), "{out}");
    assert!(out.contains("MarketingVM  ResearchVM   yes     yes"), "{out}");
}

#[test]
fn a_refused_topology_exits_2_with_azure_code_and_location() {
    let dir = std::env::temp_dir().join(format!("vnetlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(&f, "resourceGroups: [{name: rg, location: westeurope}]\nvirtualNetworks:\n  - name: v1\n    addressPrefixes: [10.0.0.0/16]\n    subnets: [{name: s, addressPrefix: 10.1.0.0/24}]\n").unwrap();
    let (code, _, err) = vnetlab(&["validate", f.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 2);
    assert!(
        err.contains("virtualNetworks[0] (v1).subnets[0] (s): (NetcfgSubnetRangeOutsideVnet)"),
        "{err}"
    );
}

#[test]
fn unknown_keys_in_a_topology_are_refused() {
    let err = vnetlab::topology::Topology::parse("resourceGroups: []\nvirtualNetwork: []\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `virtualNetwork`"), "{err}");
}

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/topology.schema.json")).unwrap();
    assert_eq!(
        committed.trim(),
        vnetlab::topology::json_schema().trim(),
        "regenerate: cargo run -- schema > docs/topology.schema.json"
    );
}

#[test]
fn explain_from_the_internet_reaches_ssh_through_the_public_ip_only() {
    let (code, out, _) = vnetlab(&[
        "explain",
        LAB,
        "--from",
        "Internet",
        "--to",
        "SalesVM",
        "--protocol",
        "tcp",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Internet (192.0.2.10) -> 203.0.113.1:22 tcp: delivered to SalesVM"),
        "{out}"
    );
    assert!(
        out.contains("NSG SalesVMNSG on NIC SalesVMVMNic: rule default-allow-ssh (priority 1000, Allow)"),
        "{out}"
    );
    let (_, out, _) = vnetlab(&["explain", LAB, "--from", "Internet", "--to", "203.0.113.1:80"]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains("dropped: inbound denied by NSG SalesVMNSG on NIC SalesVMVMNic: rule DenyAllInBound"),
        "{out}"
    );
}

#[test]
fn graph_draws_every_lab_in_every_format() {
    for lab in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/labs")).expect("labs") {
        let dir = lab.expect("lab").path();
        if !dir.join("topology.yaml").exists() {
            continue;
        }
        let dir = dir.to_string_lossy().into_owned();
        let (code, out, err) = vnetlab(&["graph", &dir, "-o", "json"]);
        assert_eq!(code, 0, "{dir}: {err}");
        let g: serde_json::Value = serde_json::from_str(&out).expect("graph json");
        assert!(!g["vnets"].as_array().expect("vnets").is_empty(), "{dir}");
        let (code, out, err) = vnetlab(&["graph", &dir, "-o", "mermaid", "--reach"]);
        assert_eq!(code, 0, "{dir}: {err}");
        assert!(out.starts_with("flowchart LR\n"), "{dir}");
        let (code, out, err) = vnetlab(&["graph", &dir, "-o", "svg"]);
        assert_eq!(code, 0, "{dir}: {err}");
        assert!(out.contains("<svg") && out.trim_end().ends_with("</svg>"), "{dir}");
    }
}

#[test]
fn graph_of_lab01_shows_both_peerings_and_what_reaches() {
    let (code, out, err) = vnetlab(&["graph", LAB, "-o", "dot", "--reach"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("regional MarketingVNet-To-SalesVNet: Connected (access)"),
        "{out}"
    );
    assert!(
        out.contains("global MarketingVNet-To-ResearchVNet, RTT 17 ms: Connected (access)"),
        "{out}"
    );
    // Sales and Research do not reach each other: no reach edge between
    // them; Sales and Marketing reach each other both ways.
    let reach: Vec<&str> = out.lines().filter(|l| l.contains("style=dotted")).collect();
    assert_eq!(reach.len(), 2, "{reach:?}");
    assert!(reach.iter().all(|l| l.contains("dir=both") && l.contains("ping, ssh")));
}

#[test]
fn completions_and_man_page_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = vnetlab(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains("graph") && out.contains("explain"), "{shell}");
    }
    let (code, out, err) = vnetlab(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(".ie") && out.contains(".TH vnetlab 1"), "{out}");
    assert!(!out.contains("vm-boot"), "hidden commands stay out of the man page");
}
