//! The az shim's `az deployment …` over the ARM endpoint's engine: one
//! implementation, both fronts (the az layer cannot import arm, so the
//! tests that need both live here).

use std::io::Write;

use serde_json::{Value, json};

use crate::az::{self, AzError, Backend, DeploymentCall, DeploymentReply, MemoryBackend, Profile, ScriptOutput};
use crate::model::{Change, Model};

/// A memory lab whose deployment calls go to `arm::deployments::call`,
/// as the live backend's do.
struct Lab(MemoryBackend);

impl Backend for Lab {
    fn model(&mut self) -> Result<Model, AzError> {
        self.0.model()
    }
    fn apply(&mut self, changes: Vec<Change>) -> Result<(), AzError> {
        self.0.apply(changes)
    }
    fn profile(&mut self) -> Profile {
        self.0.profile()
    }
    fn save_profile(&mut self, p: &Profile) -> Result<(), AzError> {
        self.0.save_profile(p)
    }
    fn run_script(&mut self, vm: &str, s: &str) -> Result<ScriptOutput, AzError> {
        self.0.run_script(vm, s)
    }
    fn ssh_public_key(&mut self, g: bool) -> Result<Option<String>, AzError> {
        self.0.ssh_public_key(g)
    }
    fn confirm(&mut self, q: &str) -> Result<bool, AzError> {
        self.0.confirm(q)
    }
    fn probe(&mut self, vm: &str, dst: std::net::Ipv4Addr, port: Option<u16>) -> Result<Option<az::Measured>, AzError> {
        self.0.probe(vm, dst, port)
    }
    fn deployment(&mut self, call: &DeploymentCall) -> Result<DeploymentReply, AzError> {
        let m = self.0.model.clone();
        super::deployments::call(&m, self, call, None, &|_| Ok(()))
    }
}

fn az(lab: &mut Lab, line: &str) -> (u8, String, String) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = az::run(&argv, lab, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn ok(lab: &mut Lab, line: &str) -> String {
    let (code, out, err) = az(lab, line);
    assert_eq!(code, 0, "`az {line}` failed: {err}");
    out
}

/// A hub and `spokes` spokes, one VNet each.
fn template() -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": { "spokes": { "type": "int", "defaultValue": 1 } },
        "resources": [
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "hub",
              "location": "[resourceGroup().location]",
              "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } },
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01",
              "name": "[format('spoke{0}', copyIndex(1))]", "location": "[resourceGroup().location]",
              "copy": { "name": "spokes", "count": "[parameters('spokes')]" },
              "properties": { "addressSpace": { "addressPrefixes": ["[format('10.{0}.0.0/16', copyIndex(1))]"] } } }
        ],
        "outputs": { "hub": { "type": "string", "value": "[resourceId('Microsoft.Network/virtualNetworks', 'hub')]" } }
    })
}

struct Files(std::path::PathBuf);

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files(tag: &str) -> Files {
    let dir = std::env::temp_dir().join(format!("vnetlab-shim-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::File::create(dir.join("hub.json")).unwrap();
    // az reads templates with comments.
    writeln!(f, "// the hub\n{}", template()).unwrap();
    std::fs::write(
        dir.join("p.json"),
        json!({ "parameters": { "spokes": { "value": 2 } } }).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("main.bicep"), "resource x 'y' = {}").unwrap();
    Files(dir)
}

fn lab() -> Lab {
    let mut lab = Lab(MemoryBackend::new());
    ok(&mut lab, "group create -n rg -l westeurope");
    lab
}

#[test]
fn create_show_list_delete_keep_the_record_in_the_lab() {
    let f = files("crud");
    let t = f.0.join("hub.json");
    let mut lab = lab();
    let out = ok(
        &mut lab,
        &format!("deployment group create -g rg --template-file {}", t.display()),
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    // az's default name: the file's base name.
    assert_eq!(doc["name"], "hub");
    assert_eq!(doc["properties"]["provisioningState"], "Succeeded");
    assert!(
        doc["properties"]["outputs"]["hub"]["value"]
            .as_str()
            .unwrap()
            .ends_with("virtualNetworks/hub")
    );
    assert_eq!(lab.0.model.virtual_networks.len(), 2);
    // The record is in the model: what the journal saves.
    assert_eq!(lab.0.model.deployments.len(), 1);
    let shown: Value = serde_json::from_str(&ok(&mut lab, "deployment group show -g rg -n hub")).unwrap();
    assert_eq!(shown["id"], doc["id"]);
    // az's isoformat of the SDK's datetime: six digits, +00:00.
    let t = shown["properties"]["timestamp"].as_str().unwrap();
    assert!(t.ends_with("+00:00") && t.len() <= 32, "{t}");
    let list: Value = serde_json::from_str(&ok(&mut lab, "deployment group list -g rg")).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // az's table transformer: name, state, time, mode, group.
    let table = ok(&mut lab, "deployment group list -g rg -o table");
    let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        header,
        ["Name", "State", "Timestamp", "Mode", "ResourceGroup"],
        "{table}"
    );
    assert!(
        table
            .lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("hub ") && l.contains("Succeeded")),
        "{table}"
    );
    assert_eq!(ok(&mut lab, "deployment group delete -g rg -n hub"), "");
    // Azure: a 404 is az's ResourceNotFoundError, exit 3 (the real az 2.91 does so).
    let (code, _, err) = az(&mut lab, "deployment group show -g rg -n hub");
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("(DeploymentNotFound) Deployment 'hub' could not be found."),
        "{err}"
    );
    // The resources stay.
    assert_eq!(lab.0.model.virtual_networks.len(), 2);
}

#[test]
fn parameters_later_win_and_what_if_lists_the_changes() {
    let f = files("params");
    let t = f.0.join("hub.json");
    let p = f.0.join("p.json");
    let mut lab = lab();
    ok(
        &mut lab,
        &format!("deployment group create -g rg -f {} -n one", t.display()),
    );
    let out = ok(
        &mut lab,
        &format!(
            "deployment group what-if -g rg -f {} -p @{} -p spokes=3",
            t.display(),
            p.display()
        ),
    );
    assert!(
        out.contains("Resource and property changes are indicated with these symbols:\n  + Create\n  = Nochange\n"),
        "{out}"
    );
    assert!(
        out.contains("\n  + Microsoft.Network/virtualNetworks/spoke3\n"),
        "{out}"
    );
    assert!(out.ends_with("Resource changes: 2 to create, 2 no change.\n"), "{out}");
    assert_eq!(lab.0.model.virtual_networks.len(), 2, "what-if changes nothing");
    ok(
        &mut lab,
        &format!("deployment group validate -g rg -f {} -p @{}", t.display(), p.display()),
    );
    ok(
        &mut lab,
        &format!(
            "deployment group create -g rg -f {} -p @{} --no-wait",
            t.display(),
            p.display()
        ),
    );
    assert_eq!(lab.0.model.virtual_networks.len(), 3);
}

#[test]
fn complete_mode_deletes_what_the_template_does_not_name() {
    let f = files("complete");
    let t = f.0.join("hub.json");
    let mut lab = lab();
    ok(
        &mut lab,
        "network vnet create -g rg -n stray --address-prefixes 10.99.0.0/16",
    );
    ok(&mut lab, &format!("deployment group create -g rg -f {}", t.display()));
    assert_eq!(
        lab.0.model.virtual_networks.len(),
        3,
        "Incremental keeps the stray VNet"
    );
    let out = ok(
        &mut lab,
        &format!("deployment group what-if -g rg -f {} --mode Complete", t.display()),
    );
    assert!(out.contains("\n  - Microsoft.Network/virtualNetworks/stray\n"), "{out}");
    ok(
        &mut lab,
        &format!("deployment group create -g rg -f {} --mode Complete", t.display()),
    );
    let names: Vec<&str> = lab.0.model.virtual_networks.values().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["hub", "spoke1"]);
}

#[test]
fn bad_input_is_refused_in_arm_words_and_changes_nothing() {
    let f = files("bad");
    let mut lab = lab();
    let (code, _, err) = az(
        &mut lab,
        &format!("deployment group create -g rg -f {}", f.0.join("main.bicep").display()),
    );
    assert_eq!(code, 1);
    assert!(err.contains("az bicep build"), "{err}");
    let (code, _, err) = az(
        &mut lab,
        &format!(
            "deployment group create -g rg -f {} -p spokes=two",
            f.0.join("hub.json").display()
        ),
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("ERROR: (InvalidTemplate)"), "{err}");
    let (code, _, err) = az(
        &mut lab,
        &format!("deployment group create -g nope -f {}", f.0.join("hub.json").display()),
    );
    assert_eq!(code, 3, "{err}");
    assert!(lab.0.model.virtual_networks.is_empty() && lab.0.model.deployments.is_empty());
    // Subscription scope needs a location, as az's does.
    let (code, _, err) = az(
        &mut lab,
        &format!("deployment sub create -f {}", f.0.join("hub.json").display()),
    );
    assert_eq!(code, 2, "{err}");
}

/// Lab 07's template through the shim, as its setup.sh runs it, then the
/// change its README walks through (a fourth spoke, routed).
#[test]
fn lab_07_deploys_from_its_template() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/07-hub-spoke-template");
    let t = dir.join("hub-spoke.json");
    let p = dir.join("parameters.json");
    let mut lab = lab();
    let out = ok(
        &mut lab,
        &format!("deployment group what-if -g rg -f {} -p @{}", t.display(), p.display()),
    );
    assert!(out.ends_with("Resource changes: 23 to create.\n"), "{out}");
    ok(
        &mut lab,
        &format!("deployment group create -g rg -f {} -p @{}", t.display(), p.display()),
    );
    let m = &lab.0.model;
    assert_eq!(
        (m.virtual_networks.len(), m.virtual_machines.len(), m.route_tables.len()),
        (4, 5, 3)
    );
    let routed = |n: u8| {
        m.virtual_networks
            .values()
            .find(|v| v.name == format!("spoke{n}-vnet"))
            .unwrap()
            .subnets[0]
            .route_table
            .is_some()
    };
    assert!(routed(1) && routed(2) && !routed(3));
    let nva = m
        .network_interfaces
        .values()
        .find(|n| n.name == "hub-nvaVMNic")
        .unwrap();
    assert!(nva.enable_ip_forwarding);
    assert_eq!(nva.private_ip_address.to_string(), "10.0.1.4");
    let out = ok(
        &mut lab,
        &format!(
            "deployment group what-if -g rg -f {} -p @{} -p spokeCount=4 routedSpokes=4",
            t.display(),
            p.display()
        ),
    );
    assert!(
        out.contains("\n  + Microsoft.Compute/virtualMachines/spoke4-vm\n"),
        "{out}"
    );
    assert!(
        out.contains("\n  ~ Microsoft.Network/virtualNetworks/spoke3-vnet\n"),
        "{out}"
    );
    ok(
        &mut lab,
        &format!(
            "deployment group create -g rg -f {} -p @{} -p spokeCount=4 routedSpokes=4",
            t.display(),
            p.display()
        ),
    );
    let m = &lab.0.model;
    assert_eq!(m.virtual_machines.len(), 6);
    assert!(
        m.virtual_networks
            .values()
            .all(|v| v.name == "hub-vnet" || v.subnets[0].route_table.is_some())
    );
    let hub = m.virtual_networks.values().find(|v| v.name == "hub-vnet").unwrap();
    assert_eq!(hub.peerings.len(), 4, "a redeploy keeps the hub's peerings");
}
