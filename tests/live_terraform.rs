//! `vnetlab import terraform` with real traffic: the hand-written
//! hub-and-spoke plan applied to an empty lab passes lab 02's expect.yaml.
//! Needs root (`cargo test --features root-tests --test live_terraform`).
#![cfg(feature = "root-tests")]

mod common;
use common::{Lab, text, vnetlab};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_hub_spoke_plan_applied_to_an_empty_lab_passes_lab_02s_expectations() {
    let lab = Lab::named("x1-tf");
    let o = vnetlab(&["up", "--lab", &lab.0]);
    assert!(o.status.success(), "up: {}", text(&o));
    let plan = format!("{ROOT}/tests/fixtures/terraform/hub-spoke.plan.json");
    let o = vnetlab(&["import", "terraform", &plan, "--apply", "--lab", &lab.0]);
    assert!(o.status.success(), "import --apply: {}", text(&o));
    assert!(
        text(&o).contains("not emulated (no effect on the network): azurerm_storage_account.diag"),
        "{}",
        text(&o)
    );
    let o = vnetlab(&["test", &format!("{ROOT}/labs/02-hub-spoke-nva"), "--lab", &lab.0]);
    assert!(o.status.success(), "test: {}", text(&o));
    assert!(text(&o).contains("14 of 14 expectations hold"), "{}", text(&o));
}
