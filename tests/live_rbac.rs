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
//! A second test grants and removes roles through the real az itself
//! (`az role assignment create|list|delete`, which resolve `--assignee`
//! through the Graph calls the endpoint answers) and peers two VNets in two
//! tenants: without the caller's token for the remote tenant
//! (`x-ms-authorization-auxiliary`, which `az rest` does not send) and with
//! it but only Reader there, ARM's two LinkedAuthorizationFailed refusals.
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

/// The lab `name` brought up from `topology`, once the venv's az is known
/// to be there (the test drives it).
fn up_with_az(name: &str, topology: &str) -> Lab {
    assert!(
        std::path::Path::new(&format!("{}/bin/az", venv())).exists(),
        "no az in {}: run scripts/setup",
        venv()
    );
    let file = std::env::temp_dir().join(format!("vnetlab-{name}-{}.yaml", std::process::id()));
    std::fs::write(&file, topology).expect("write the topology");
    let lab = Lab::named(name);
    let up = vnetlab(&["up", file.to_str().expect("utf-8 path"), "--lab", &lab.0]);
    let _ = std::fs::remove_file(&file);
    assert!(up.status.success(), "up: {}", text(&up));
    lab
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
        Shell::from_env(lab, &["--as", principal])
    }

    /// The lab's owner (`cloud env` without `--as`).
    fn owner(lab: &Lab) -> Shell {
        Shell::from_env(lab, &[])
    }

    fn from_env(lab: &Lab, extra: &[&str]) -> Shell {
        let principal = extra.last().copied().unwrap_or("the owner");
        let o = Command::new(BIN)
            .args(["cloud", "env", "--lab", &lab.0])
            .args(extra)
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
        self.refused_with(script).1
    }

    /// The script fails; its exit code and stderr.
    fn refused_with(&self, script: &str) -> (Option<i32>, String) {
        let o = self.run(script);
        assert!(!o.status.success(), "{script} was accepted: {}", text(&o));
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
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
    let lab = up_with_az("rb", &topology());

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

const SUB_A: &str = "7c000000-0000-4000-8000-00000000000a";
const SUB_B: &str = "7c000000-0000-4000-8000-00000000000b";
const TENANT_A: &str = "7c000000-0000-4000-8000-0000000000a1";
const TENANT_B: &str = "7c000000-0000-4000-8000-0000000000b1";
const CAROL: &str = "7c000000-0000-4000-8000-0000000000c3";

/// Two tenants, a subscription each; carol (of tenant A) is Network
/// Contributor on her group in A and Reader on the group in B.
fn two_tenants() -> String {
    format!(
        r#"
subscriptions:
  - {{name: b1-a, id: {SUB_A}, tenantId: {TENANT_A}}}
  - {{name: b1-b, id: {SUB_B}, tenantId: {TENANT_B}}}
resourceGroups:
  - {{name: rg-a, location: northeurope, subscription: b1-a}}
  - {{name: rg-b, location: northeurope, subscription: b1-b}}
principals:
  - {{name: carol, objectId: {CAROL}, tenantId: {TENANT_A}, servicePrincipal: true}}
roleAssignments:
  - {{principal: carol, role: Network Contributor, scope: /subscriptions/{SUB_A}/resourceGroups/rg-a}}
  - {{principal: carol, role: Reader, scope: /subscriptions/{SUB_B}/resourceGroups/rg-b}}
virtualNetworks:
  - {{name: vnet-a, resourceGroup: rg-a, addressPrefixes: [10.81.0.0/16], subnets: [{{name: default, addressPrefix: 10.81.1.0/24}}]}}
  - {{name: vnet-b, resourceGroup: rg-b, addressPrefixes: [10.82.0.0/16], subnets: [{{name: default, addressPrefix: 10.82.1.0/24}}]}}
virtualMachines:
  - {{name: vm-a, resourceGroup: rg-a, vnet: vnet-a, subnet: default, publicIpAddress: "", adminPassword: "{PASSWORD}"}}
  - {{name: vm-b, resourceGroup: rg-b, vnet: vnet-b, subnet: default, publicIpAddress: "", adminPassword: "{PASSWORD}"}}
"#
    )
}

#[test]
fn the_real_az_grants_roles_and_peers_across_tenants() {
    let lab = up_with_az("b1t", &two_tenants());
    let owner = Shell::owner(&lab);
    let carol = Shell::signed_in(&lab, "carol");
    let vnet_a =
        format!("/subscriptions/{SUB_A}/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a");
    let vnet_b =
        format!("/subscriptions/{SUB_B}/resourceGroups/rg-b/providers/Microsoft.Network/virtualNetworks/vnet-b");
    let a_to_b = format!(
        "az network vnet peering create -g rg-a --vnet-name vnet-a -n a-to-b --remote-vnet {vnet_b} --allow-vnet-access --query peeringState -o tsv"
    );
    let b_to_a = format!(
        "az network vnet peering create --subscription b1-b -g rg-b --vnet-name vnet-b -n b-to-a --remote-vnet {vnet_a} --allow-vnet-access --query peeringState -o tsv"
    );

    // Reader on vnet-b's group: no peering write there (403 AuthorizationFailed, az exit 1).
    let (code, e) = carol.refused_with(&b_to_a);
    assert_eq!(code, Some(1), "{e}");
    let first = e.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "ERROR: (AuthorizationFailed) The client '{CAROL}' with object id '{CAROL}' does not have authorization to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write' over scope '{vnet_b}/virtualNetworkPeerings/b-to-a' or the scope is invalid. If access was recently granted, please refresh your credentials."
        )
    );

    // A peering from her own VNet into tenant B: without her token for
    // tenant B (az rest sends none) ARM refuses the linked subscription ...
    let body =
        format!(r#"{{"properties":{{"remoteVirtualNetwork":{{"id":"{vnet_b}"}},"allowVirtualNetworkAccess":true}}}}"#);
    let e = carol.refused(&format!(
        "az rest --method put --url \"$VNETLAB_ARM_ENDPOINT{vnet_a}/virtualNetworkPeerings/a-to-b?api-version=2024-05-01\" --body '{body}' -o none"
    ));
    assert!(
        e.contains(&format!(
            "\"code\":\"LinkedAuthorizationFailed\",\"message\":\"The client has permission to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write' on scope '{vnet_a}/virtualNetworkPeerings/a-to-b', however the current tenant '{TENANT_A}' is not authorized to access linked subscription '{SUB_B}'.\""
        )),
        "{e}"
    );
    // ... and with it (az peering create sends x-ms-authorization-auxiliary)
    // Reader grants no peer/action on vnet-b.
    let (code, e) = carol.refused_with(&a_to_b);
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.starts_with(&format!("ERROR: (LinkedAuthorizationFailed) The client '{CAROL}' with object id '{CAROL}' has permission to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write' on scope '{vnet_a}/virtualNetworkPeerings/a-to-b'; however, it does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/peer/action' on the linked scope(s) '{vnet_b}'")),
        "{e}"
    );

    // The owner grants Network Contributor on vnet-b's group through the
    // real az: --assignee resolves through the endpoint's Graph; an
    // unknown one is az's own refusal.
    let e = owner.refused(&format!(
        "az role assignment create --assignee mallory --role 'Network Contributor' --scope {vnet_b} -o none"
    ));
    assert!(
        e.contains("Cannot find user or service principal in graph database for 'mallory'"),
        "{e}"
    );
    let rg_b = format!("/subscriptions/{SUB_B}/resourceGroups/rg-b");
    let made = owner.ok(&format!(
        "az role assignment create --assignee {CAROL} --role 'Network Contributor' --scope {rg_b} --query '[principalId, principalType, scope]' -o tsv"
    ));
    assert_eq!(made, format!("{CAROL}\nServicePrincipal\n{rg_b}"));
    let listed = owner.ok(&format!(
        "az role assignment list --assignee {CAROL} --subscription b1-b --all --query \"sort_by([], &roleDefinitionName)[].[roleDefinitionName, principalName]\" -o tsv"
    ));
    assert_eq!(listed, format!("Network Contributor\t{CAROL}\nReader\t{CAROL}"));
    assert_eq!(
        owner.ok("az role definition list --name 'Network Contributor' --query '[].name' -o tsv"),
        "4d97b98b-1d4f-4787-a291-c67834d212e7"
    );

    // Now both peerings, without signing in again, and real traffic.
    assert_eq!(carol.ok(&a_to_b), "Initiated");
    assert_eq!(carol.ok(&b_to_a), "Connected");
    let ping = vnetlab(&[
        "exec",
        "--lab",
        &lab.0,
        "vm-a",
        "--",
        "ping",
        "-c",
        "2",
        "-W",
        "2",
        "10.82.1.4",
    ]);
    assert!(text(&ping).contains(", 0% packet loss"), "{}", text(&ping));

    // Delete the assignment through the real az: refused again.
    owner.ok(&format!(
        "az role assignment delete --assignee {CAROL} --role 'Network Contributor' --scope {rg_b}"
    ));
    let (code, e) =
        carol.refused_with("az network vnet peering delete --subscription b1-b -g rg-b --vnet-name vnet-b -n b-to-a");
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.starts_with(&format!("ERROR: (AuthorizationFailed) The client '{CAROL}' with object id '{CAROL}' does not have authorization to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete' over scope '{vnet_b}/virtualNetworkPeerings/b-to-a'")),
        "{e}"
    );
    assert_eq!(
        owner.ok(&format!(
            "az role assignment list --scope {rg_b} --query '[].roleDefinitionName' -o tsv"
        )),
        "Reader"
    );
}
