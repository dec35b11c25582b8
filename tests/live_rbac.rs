//! Role assignments decide what the real az may do (issue 15 item 1):
//! two principals of a lab's topology, each signed in with `vnetlab cloud
//! env --as` in a config dir of its own, drive azure-cli 2.91 from
//! scripts/setup's venv against the lab's ARM endpoint. `netops` holds
//! Network Contributor on both groups of a peering and builds it (real
//! ping over it); `appteam` holds it on its own group only and gets ARM's
//! 403 LinkedAuthorizationFailed for a peering to the hub, still with
//! Reader on the hub (Reader grants no `peer/action`), where a subnet
//! create is 403 AuthorizationFailed; with Network Contributor on the hub
//! VNet the same peering is created. An unknown principal writes nothing.
//! Needs root and the venv (`cargo test --features root-tests --test
//! live_rbac`); the lab is removed in a drop guard, also on failure.
#![cfg(feature = "root-tests")]

use std::process::{Command, Output, Stdio};

mod common;
use common::{BIN, Lab, text, vnetlab};

const SUB: &str = "7b000000-0000-4000-8000-000000000001";
const NETOPS: &str = "7b000000-0000-4000-8000-0000000000b1";
const APPTEAM: &str = "7b000000-0000-4000-8000-0000000000b2";
const PASSWORD: &str = "Rbac-Lab-2026!";

fn topology() -> String {
    format!(
        r#"
subscriptions:
  - {{name: rb-sub, id: {SUB}, tenantId: 7b000000-0000-4000-8000-0000000000aa}}
resourceGroups:
  - {{name: hub-rg, location: northeurope}}
  - {{name: spoke-rg, location: northeurope}}
  - {{name: app-rg, location: northeurope}}
principals:
  - {{name: netops, objectId: {NETOPS}, tenantId: 7b000000-0000-4000-8000-0000000000aa, servicePrincipal: true}}
  - {{name: appteam, objectId: {APPTEAM}, tenantId: 7b000000-0000-4000-8000-0000000000aa, servicePrincipal: true}}
roleAssignments:
  - {{principal: netops, role: Network Contributor, scope: /subscriptions/{SUB}/resourceGroups/hub-rg}}
  # The same role by its role definition ID.
  - {{principal: netops, role: 4d97b98b-1d4f-4787-a291-c67834d212e7, scope: /subscriptions/{SUB}/resourceGroups/spoke-rg}}
  - {{principal: appteam, role: Network Contributor, scope: /subscriptions/{SUB}/resourceGroups/app-rg}}
virtualNetworks:
  - {{name: hub-vnet, resourceGroup: hub-rg, addressPrefixes: [10.71.0.0/16], subnets: [{{name: default, addressPrefix: 10.71.1.0/24}}]}}
  - {{name: spoke-vnet, resourceGroup: spoke-rg, addressPrefixes: [10.72.0.0/16], subnets: [{{name: default, addressPrefix: 10.72.1.0/24}}]}}
  - {{name: app-vnet, resourceGroup: app-rg, addressPrefixes: [10.73.0.0/16], subnets: [{{name: default, addressPrefix: 10.73.1.0/24}}]}}
virtualMachines:
  - {{name: hub-vm, resourceGroup: hub-rg, vnet: hub-vnet, subnet: default, publicIpAddress: "", adminPassword: "{PASSWORD}"}}
  - {{name: spoke-vm, resourceGroup: spoke-rg, vnet: spoke-vnet, subnet: default, publicIpAddress: "", adminPassword: "{PASSWORD}"}}
"#
    )
}

fn venv() -> String {
    std::env::var("VNETLAB_VENV").unwrap_or_else(|_| "/opt/vnetlab-venv".into())
}

fn vnet_id(rg: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{name}")
}

/// A shell signed in as one principal: the lines `cloud env --as` printed,
/// evaluated before every script, as in a terminal of that user.
struct Shell {
    env: String,
}

impl Shell {
    fn signed_in(lab: &Lab, principal: &str) -> Shell {
        let o = Command::new(BIN)
            .args(["cloud", "env", "--lab", &lab.0, "--as", principal])
            .env("VNETLAB_REAL_AZ", format!("{}/bin/az", venv()))
            .stdin(Stdio::null())
            .output()
            .expect("run vnetlab cloud env");
        assert!(o.status.success(), "cloud env --as {principal}: {}", text(&o));
        Shell {
            env: String::from_utf8_lossy(&o.stdout).into_owned(),
        }
    }

    /// `script` through bash with the venv's az first on PATH.
    fn run(&self, script: &str) -> Output {
        let shell = format!("export PATH=\"{}/bin:$PATH\"\n{}\n{script}", venv(), self.env);
        Command::new("bash")
            .args(["-c", &shell])
            .stdin(Stdio::null())
            .output()
            .expect("run bash")
    }

    fn ok(&self, script: &str) -> String {
        let o = self.run(script);
        assert!(o.status.success(), "{script}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// The script fails; its stderr.
    fn refused(&self, script: &str) -> String {
        let o = self.run(script);
        assert!(!o.status.success(), "{script} was accepted: {}", text(&o));
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

fn peering(from_rg: &str, from: &str, name: &str, to_rg: &str, to: &str) -> String {
    format!(
        "az network vnet peering create -g {from_rg} --vnet-name {from} -n {name} --remote-vnet {} --allow-vnet-access -o none",
        vnet_id(to_rg, to)
    )
}

/// `vnetlab az role assignment create` as the lab's owner.
fn grant(lab: &Lab, principal: &str, role: &str, scope: &str) {
    let o = Command::new(BIN)
        .args(["az", "role", "assignment", "create", "--assignee", principal])
        .args(["--role", role, "--scope", scope, "-o", "none"])
        .env("VNETLAB_LAB", &lab.0)
        .stdin(Stdio::null())
        .output()
        .expect("run vnetlab az");
    assert!(o.status.success(), "grant {role} to {principal}: {}", text(&o));
}

#[test]
fn role_assignments_decide_what_each_principal_may_do() {
    assert!(
        std::path::Path::new(&format!("{}/bin/az", venv())).exists(),
        "no az in {}: run scripts/setup",
        venv()
    );
    let file = std::env::temp_dir().join(format!("vnetlab-rb-{}.yaml", std::process::id()));
    std::fs::write(&file, topology()).expect("write the topology");
    let lab = Lab::named("rb");
    let up = vnetlab(&["up", file.to_str().expect("utf-8 path"), "--lab", &lab.0]);
    let _ = std::fs::remove_file(&file);
    assert!(up.status.success(), "up: {}", text(&up));

    // An unknown principal: a clear refusal, nothing printed, no config dir.
    let arm_dir = format!("/run/vnetlab/{}/arm", lab.0);
    let before: Vec<_> = std::fs::read_dir(&arm_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let o = vnetlab(&["cloud", "env", "--lab", &lab.0, "--as", "mallory"]);
    assert!(!o.status.success(), "unknown principal accepted: {}", text(&o));
    assert!(o.stdout.is_empty(), "printed: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("PrincipalNotFound") && err.contains("netops, appteam"),
        "{err}"
    );
    let after: Vec<_> = std::fs::read_dir(&arm_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(before, after, "an unknown principal wrote in {arm_dir}");
    // Nor does it start a lab that is not running.
    let stopped = Lab(format!("{}x", lab.0));
    let o = vnetlab(&["cloud", "env", "--lab", &stopped.0, "--as", "netops"]);
    assert!(!o.status.success() && o.stdout.is_empty(), "{}", text(&o));
    assert!(
        !std::path::Path::new(&format!("/run/vnetlab/{}", stopped.0)).exists(),
        "lab {} was started",
        stopped.0
    );

    // Two shells, two principals, two config dirs.
    let netops = Shell::signed_in(&lab, "netops");
    let appteam = Shell::signed_in(&lab, "appteam");
    let whoami = "echo \"$AZURE_CONFIG_DIR $(az account show --query user.name -o tsv)\"";
    let (n, a) = (netops.ok(whoami), appteam.ok(whoami));
    assert!(n.ends_with(&format!("azure-{NETOPS} {NETOPS}")), "{n}");
    assert!(a.ends_with(&format!("azure-{APPTEAM} {APPTEAM}")), "{a}");

    // Network Contributor on both groups: the peering pair, and real traffic.
    netops.ok(&format!(
        "{}\n{}",
        peering("hub-rg", "hub-vnet", "hub-to-spoke", "spoke-rg", "spoke-vnet"),
        peering("spoke-rg", "spoke-vnet", "spoke-to-hub", "hub-rg", "hub-vnet")
    ));
    let state = netops
        .ok("az network vnet peering show -g hub-rg --vnet-name hub-vnet -n hub-to-spoke --query peeringState -o tsv");
    assert_eq!(state, "Connected");
    let ping = Command::new(BIN)
        .args([
            "exec",
            "--lab",
            &lab.0,
            "hub-vm",
            "--",
            "ping",
            "-c",
            "2",
            "-W",
            "2",
            "10.72.1.4",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run vnetlab exec");
    assert!(text(&ping).contains(", 0% packet loss"), "{}", text(&ping));

    // Nothing on the hub: the peering PUT names the missing peer/action.
    let to_hub = peering("app-rg", "app-vnet", "app-to-hub", "hub-rg", "hub-vnet");
    let linked = format!(
        "has permission to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write' on scope '{}/virtualNetworkPeerings/app-to-hub'; however, it does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/peer/action' on the linked scope(s) '{}' (respectively) or the linked scope(s) are invalid.",
        vnet_id("app-rg", "app-vnet"),
        vnet_id("hub-rg", "hub-vnet")
    );
    let e = appteam.refused(&to_hub);
    assert!(e.contains("(LinkedAuthorizationFailed) The client '"), "{e}");
    assert!(e.contains(&linked), "{e}");
    assert!(
        !appteam
            .ok("az network vnet peering list -g app-rg --vnet-name app-vnet -o tsv")
            .contains("app-to-hub")
    );

    // Reader on the hub: reads, but neither peers nor writes there. The
    // grant takes effect without signing in again, as in Azure.
    grant(
        &lab,
        "appteam",
        "Reader",
        &format!("/subscriptions/{SUB}/resourceGroups/hub-rg"),
    );
    assert_eq!(
        appteam.ok("az network vnet show -g hub-rg -n hub-vnet --query name -o tsv"),
        "hub-vnet"
    );
    let e = appteam.refused(&to_hub);
    assert!(e.contains(&linked), "{e}");
    let e = appteam.refused(
        "az network vnet subnet create -g hub-rg --vnet-name hub-vnet -n extra --address-prefixes 10.71.2.0/24 -o none",
    );
    assert!(
        e.contains(&format!(
            "(AuthorizationFailed) The client '{APPTEAM}' with object id '{APPTEAM}' does not have authorization to perform action 'Microsoft.Network/virtualNetworks/subnets/write' over scope '{}/subnets/extra' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            vnet_id("hub-rg", "hub-vnet")
        )),
        "{e}"
    );

    // Network Contributor on the hub VNet itself: the same peering works.
    grant(&lab, "appteam", "Network Contributor", &vnet_id("hub-rg", "hub-vnet"));
    appteam.ok(&to_hub);
    let state = appteam
        .ok("az network vnet peering show -g app-rg --vnet-name app-vnet -n app-to-hub --query peeringState -o tsv");
    assert_eq!(state, "Initiated");
    // The other shell is still netops.
    assert!(netops.ok(whoami).ends_with(NETOPS));

    // One shell, one principal after another: --unset gives back what the
    // shell had before the first.
    let env = |who: &str| format!("eval \"$('{BIN}' cloud env --lab '{}' --as {who})\"", lab.0);
    let script = format!(
        "export AZURE_CONFIG_DIR=/nonexistent/mine\n{}\n{}\necho \"$VNETLAB_CLOUD_PRINCIPAL $AZURE_CONFIG_DIR\"\neval \"$('{BIN}' cloud env --unset)\"\necho \"$AZURE_CONFIG_DIR ${{VNETLAB_CLOUD_PRINCIPAL-unset}}\"",
        env("netops"),
        env("appteam")
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .env("VNETLAB_REAL_AZ", format!("{}/bin/az", venv()))
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!(
            "appteam /run/vnetlab/{}/arm/azure-{APPTEAM}\n/nonexistent/mine unset",
            lab.0
        )),
        "{}",
        text(&o)
    );
}
