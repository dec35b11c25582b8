//! The Azure SDK for Python against a live lab's ARM endpoint (issue 15
//! item 4): scripts/sdk-check.py, run with scripts/setup's venv after
//! `vnetlab cloud env`, builds two peered VNets, an NSG with a rule, NICs
//! and VMs through azure-mgmt-network / -compute, reads a NIC's effective
//! routes and NSGs, and pings over the peering with Run Command. Needs root
//! and the venv (`cargo test --features root-tests --test live_sdk`); the
//! lab is removed in a drop guard, also on failure.
#![cfg(feature = "root-tests")]

use std::process::{Command, Stdio};

mod common;
use common::{BIN, Lab};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/sdk-check.py");

fn venv() -> String {
    std::env::var("VNETLAB_VENV").unwrap_or_else(|_| "/opt/vnetlab-venv".into())
}

#[test]
fn the_python_sdk_builds_a_peering_and_sees_it_carry_traffic() {
    let venv = venv();
    assert!(
        std::path::Path::new(&format!("{venv}/bin/az")).exists(),
        "no az in {venv}: run scripts/setup"
    );
    let lab = Lab::named("a1sdk");
    // `cloud env` prints shell lines; the script runs in the shell that
    // evaluated them, as a user would run it.
    let shell = format!(
        "set -e; export PATH=\"{venv}/bin:$PATH\"; eval \"$('{BIN}' cloud env --lab '{}')\" >/dev/null; exec '{venv}/bin/python' '{SCRIPT}'",
        lab.0
    );
    let o = Command::new("bash")
        .args(["-c", &shell])
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "sdk-check failed:\n{out}\n{err}");
    for want in [
        "peering pair:",
        "VNetPeering",
        "effective NSG rules",
        ", 0% packet loss",
        "all checks passed",
    ] {
        assert!(out.contains(want), "no '{want}' in:\n{out}");
    }
}
