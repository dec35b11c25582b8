//! The az front on a lab in memory: the Learn exercise's script, az's
//! defaults and side effects, table goldens, usage errors, refusals.

use serde_json::Value;

use super::testing::{az, json, ok, sh};
use super::{MemoryBackend, leaves};
use crate::dataplane::explain::round_trip;
use crate::dataplane::{Ingress, LbHealth, Tables};
use crate::model::{Change, Principal, PrincipalType, Subscription};

const SETUP: &str = include_str!("../../labs/01-peering-basics/setup.sh");

/// The az command lines of a shell script, continuation lines joined and
/// `$RG`/`$PASSWORD` filled in as the script's defaults do.
fn script_commands(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("az "))
        .map(|l| {
            l.trim_start_matches("az ")
                .replace("\"$RG\"", "learn-rg")
                .replace("\"$PASSWORD\"", "'Learn-Peering-2026!'")
                .replace('"', "'")
        })
        .collect()
}

fn learn_lab() -> MemoryBackend {
    let mut b = MemoryBackend::new();
    for line in script_commands(SETUP) {
        ok(&mut b, &line);
    }
    b
}

#[test]
fn the_learn_script_builds_what_the_topology_file_describes() {
    let b = learn_lab();
    let topo = crate::topology::Topology::parse(include_str!("../../labs/01-peering-basics/topology.yaml"))
        .expect("topology parses")
        .build()
        .expect("topology builds");
    let (ta, tb) = (Tables::compile(&b.model, 1), Tables::compile(&topo, 1));
    let now = std::time::Instant::now();
    let vms = ["SalesVM", "MarketingVM", "ResearchVM"];
    for from in vms {
        let (na, nb) = (
            ta.nic_of_vm(from).expect("az made the VM"),
            tb.nic_of_vm(from).expect("topology VM"),
        );
        assert_eq!(ta.nics[na].ip, tb.nics[nb].ip, "{from}'s private IP");
        for to in vms.iter().filter(|t| **t != from) {
            let ip = ta.nics[ta.nic_of_vm(to).expect("vm")].ip;
            for (proto, port) in [("icmp", 0), ("tcp", 22)] {
                let a = round_trip(&ta, &LbHealth::all_up(), Ingress::Nic(na), ip, proto, port, now).0;
                let t = round_trip(&tb, &LbHealth::all_up(), Ingress::Nic(nb), ip, proto, port, now).0;
                assert_eq!(a, t, "{from} -> {to} {proto}: az lab and topology disagree");
            }
        }
    }
    let sales = ta.nic_of_vm("SalesVM").expect("vm");
    let research_ip = ta.nics[ta.nic_of_vm("ResearchVM").expect("vm")].ip;
    assert!(
        !round_trip(
            &ta,
            &LbHealth::all_up(),
            Ingress::Nic(sales),
            research_ip,
            "tcp",
            22,
            now
        )
        .0,
        "peering must not be transitive"
    );
}

#[test]
fn the_exercise_tables_print_in_az_columns() {
    let mut b = learn_lab();
    let peerings = ok(
        &mut b,
        "network vnet peering list -g learn-rg --vnet-name SalesVNet --query [].{Name:name,Resource:resourceGroup,PeeringState:peeringState,AllowVnetAccess:allowVirtualNetworkAccess} -o table",
    );
    assert_eq!(
        peerings,
        "Name                        Resource    PeeringState    AllowVnetAccess\n\
         --------------------------  ----------  --------------  -----------------\n\
         SalesVNet-To-MarketingVNet  learn-rg    Connected       True\n"
    );
    let routes = ok(
        &mut b,
        "network nic show-effective-route-table -g learn-rg -n SalesVMVMNic -o table",
    );
    let lines: Vec<&str> = routes.lines().collect();
    assert_eq!(
        lines[0],
        "Source    State    Address Prefix    Next Hop Type    Next Hop IP"
    );
    assert_eq!(
        lines[1],
        "--------  -------  ----------------  ---------------  -------------"
    );
    assert_eq!(lines[2], "Default   Active   10.1.0.0/16       VnetLocal");
    assert_eq!(lines[3], "Default   Active   10.2.0.0/16       VNetPeering");
    assert!(
        !routes.contains("10.3.0.0/16"),
        "Sales has no route to Research:\n{routes}"
    );
    let marketing = ok(
        &mut b,
        "network nic show-effective-route-table -g learn-rg -n MarketingVMVMNic -o table",
    );
    assert!(
        marketing
            .lines()
            .any(|l| l.starts_with("Default   Active   10.3.0.0/16       VNetGlobalPeering")),
        "{marketing}"
    );
    let vms = ok(
        &mut b,
        "vm list -g learn-rg --query [*].{Name:name,PrivateIP:privateIps,PublicIP:publicIps} -d -o table",
    );
    let lines: Vec<&str> = vms.lines().collect();
    assert_eq!(lines[0], "Name         PrivateIP    PublicIP");
    assert!(lines.contains(&"SalesVM      10.1.1.4     203.0.113.1"), "{vms}");
}

#[test]
fn vnet_list_table_has_the_transformer_columns() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg1 -l eastus");
    ok(
        &mut b,
        "network vnet create -g rg1 -n vnet-hub --address-prefixes 10.0.0.0/16 10.1.0.0/16 --subnet-name a --subnet-prefixes 10.0.0.0/24",
    );
    ok(
        &mut b,
        "network vnet subnet create -g rg1 --vnet-name vnet-hub -n b --address-prefixes 10.1.0.0/24",
    );
    assert_eq!(
        ok(&mut b, "network vnet list -o table"),
        "Name      ResourceGroup    Location    NumSubnets    Prefixes                  DnsServers    DDOSProtection    VMProtection\n\
         --------  ---------------  ----------  ------------  ------------------------  ------------  ----------------  --------------\n\
         vnet-hub  rg1              eastus      2             10.0.0.0/16, 10.1.0.0/16                False\n"
    );
}

#[test]
fn peering_list_without_query_sorts_columns_as_az_does() {
    let mut b = learn_lab();
    let t = ok(
        &mut b,
        "network vnet peering list -g learn-rg --vnet-name MarketingVNet -o table",
    );
    let header: Vec<&str> = t.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "AllowForwardedTraffic",
            "AllowGatewayTransit",
            "AllowVirtualNetworkAccess",
            "DoNotVerifyRemoteGateways",
            "Name",
            "PeerCompleteVnets",
            "PeeringState",
            "PeeringSyncLevel",
            "ProvisioningState",
            "ResourceGroup",
            "ResourceGuid",
            "UseRemoteGateways"
        ]
    );
    assert_eq!(t.lines().count(), 4);
}

#[test]
fn a_nic_is_deleted_once_its_vm_is_gone_and_not_before() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l westus2");
    ok(
        &mut b,
        "vm create -g rg -n web --image Ubuntu2404 --admin-username azureuser --admin-password Pa55word-Pa55word",
    );
    let (code, _, err) = sh(&mut b, "network nic delete -g rg -n webVMNic");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("NicInUse"), "{err}");
    ok(&mut b, "vm delete -g rg -n web --yes");
    ok(&mut b, "network nic delete -g rg -n webVMNic");
    assert!(b.model.network_interfaces.is_empty());
    // As az: deleting what is not there is no error.
    ok(&mut b, "network nic delete -g rg -n webVMNic");
}

#[test]
fn vm_create_makes_what_az_makes() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l westus2");
    let out = json(
        &mut b,
        "vm create -g rg -n web --image Ubuntu2404 --admin-username azureuser --admin-password Pa55word-Pa55word",
    );
    assert_eq!(out["privateIpAddress"], "10.0.0.4");
    assert_eq!(out["powerState"], "VM running");
    assert_eq!(out["resourceGroup"], "rg");
    let nic = json(&mut b, "network nic show -g rg -n webVMNic");
    // Azure: _template_builder.py build_nic_resource names it ipconfig<vm>.
    assert_eq!(nic["ipConfigurations"][0]["name"], "ipconfigweb");
    assert!(
        nic["ipConfigurations"][0]["id"]
            .as_str()
            .is_some_and(|s| s.ends_with("/networkInterfaces/webVMNic/ipConfigurations/ipconfigweb")),
        "{nic}"
    );
    assert_eq!(
        nic["networkSecurityGroup"]["id"]
            .as_str()
            .map(|s| s.ends_with("/networkSecurityGroups/webNSG")),
        Some(true)
    );
    assert_eq!(
        nic["ipConfigurations"][0]["subnet"]["id"]
            .as_str()
            .map(|s| s.ends_with("/virtualNetworks/webVNET/subnets/webSubnet")),
        Some(true)
    );
    let rule = json(
        &mut b,
        "network nsg rule show -g rg --nsg-name webNSG -n default-allow-ssh",
    );
    assert_eq!(
        (
            rule["priority"].as_u64(),
            rule["destinationPortRange"].as_str(),
            rule["protocol"].as_str()
        ),
        (Some(1000), Some("22"), Some("Tcp"))
    );
    let vm = json(&mut b, "vm show -g rg -n web");
    assert_eq!(vm["hardwareProfile"]["vmSize"], "Standard_D2s_v5");
    assert_eq!(vm["storageProfile"]["imageReference"]["offer"], "ubuntu-24_04-lts");
    json(&mut b, "network public-ip show -g rg -n webPublicIP");
    // A second VM reuses the VNet az finds in the group and location.
    let second = json(
        &mut b,
        "vm create -g rg -n api --image Ubuntu2404 --admin-username azureuser --admin-password Pa55word-Pa55word --public-ip-address '' --nsg ''",
    );
    assert_eq!(second["privateIpAddress"], "10.0.0.5");
    assert_eq!(second["publicIpAddress"], "");
    let nic = json(&mut b, "network nic show -g rg -n apiVMNic");
    assert!(nic.get("networkSecurityGroup").is_none());
}

#[test]
fn defaults_that_surprise_are_az_defaults() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l eastus");
    ok(&mut b, "network nsg create -g rg -n nsg1");
    let r = json(
        &mut b,
        "network nsg rule create -g rg --nsg-name nsg1 -n r1 --priority 200",
    );
    assert_eq!(r["destinationPortRange"], "80");
    assert_eq!(
        (r["direction"].as_str(), r["access"].as_str(), r["protocol"].as_str()),
        (Some("Inbound"), Some("Allow"), Some("*"))
    );
    ok(&mut b, "network vnet create -g rg -n va --address-prefixes 10.1.0.0/16");
    ok(&mut b, "network vnet create -g rg -n vb --address-prefixes 10.2.0.0/16");
    let p = json(
        &mut b,
        "network vnet peering create -g rg --vnet-name va -n a-b --remote-vnet vb",
    );
    assert_eq!(p["allowVirtualNetworkAccess"], false);
    assert_eq!(p["peeringState"], "Initiated");
    let q = json(
        &mut b,
        "network vnet peering create -g rg --vnet-name vb -n b-a --remote-vnet va --allow-vnet-access true",
    );
    assert_eq!(q["allowVirtualNetworkAccess"], true);
    assert_eq!(
        json(&mut b, "network vnet peering show -g rg --vnet-name va -n a-b")["peeringState"],
        "Connected"
    );
    let v = json(&mut b, "network vnet create -g rg -n vc --subnet-name s");
    assert_eq!(v["newVNet"]["addressSpace"]["addressPrefixes"][0], "10.0.0.0/16");
    assert_eq!(v["newVNet"]["subnets"][0]["addressPrefix"], "10.0.0.0/24");
    // An unambiguous prefix of a long option is accepted, as argparse does.
    ok(
        &mut b,
        "network vnet subnet create -g rg --vnet-name vc -n t --address-prefix 10.0.1.0/24",
    );
    let u = json(
        &mut b,
        "network vnet peering update -g rg --vnet-name va -n a-b --set allowForwardedTraffic=true",
    );
    assert_eq!(u["allowForwardedTraffic"], true);
}

#[test]
fn a_refused_command_changes_nothing_and_says_why_in_azure_words() {
    let mut b = learn_lab();
    let before = b.model.clone();
    ok(
        &mut b,
        "network vnet create -g learn-rg -n Overlap --address-prefixes 10.1.0.0/16",
    );
    let before_overlap = b.model.clone();
    let (code, out, err) = sh(
        &mut b,
        "network vnet peering create -g learn-rg --vnet-name Overlap -n o-s --remote-vnet SalesVNet --allow-vnet-access",
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("ERROR: (VnetAddressSpacesOverlap) "), "{err}");
    assert!(err.contains("\nCode: VnetAddressSpacesOverlap\nMessage: "), "{err}");
    assert_eq!(b.model, before_overlap);
    // A VM whose password Azure refuses leaves no VNet, NIC, NSG or public IP behind.
    let (code, _, err) = sh(
        &mut b,
        "vm create -g learn-rg -n Weak --image Ubuntu2204 --admin-username azureuser --admin-password short",
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(b.model, before_overlap);
    let _ = before;
    let (code, _, err) = sh(&mut b, "network vnet show -g learn-rg -n Nope");
    assert_eq!(code, 3);
    assert!(err.contains("(ResourceNotFound) The Resource 'Microsoft.Network/virtualNetworks/Nope' under resource group 'learn-rg' was not found."), "{err}");
    let (code, _, err) = sh(&mut b, "network vnet create -g nope -n x");
    assert_eq!(
        (code, err.lines().next()),
        (
            3,
            Some("ERROR: (ResourceGroupNotFound) Resource group 'nope' could not be found.")
        )
    );
}

#[test]
fn usage_errors_exit_2_in_az_words() {
    let mut b = MemoryBackend::new();
    let (code, _, err) = sh(
        &mut b,
        "network vnet peering create -g rg --vnet-name a -n x --remote-vnet b --allow-vnet-acess",
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ERROR: unrecognized arguments: --allow-vnet-acess"),
        "{err}"
    );
    let (code, _, err) = sh(&mut b, "network vnett list");
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ERROR: 'vnett' is misspelled or not recognized by the system."),
        "{err}"
    );
    let (code, _, err) = sh(&mut b, "network vnet create --name x");
    assert_eq!(
        (code, err.trim_end()),
        (2, "ERROR: the following arguments are required: --resource-group/-g")
    );
    let (code, _, err) = sh(
        &mut b,
        "network nsg rule create -g rg --nsg-name n -n r --priority 100 --direction Sideways",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("argument --direction: invalid choice: 'Sideways'"),
        "{err}"
    );
    let (code, _, _) = sh(&mut b, "group list -o xml");
    assert_eq!(code, 2);
    let (code, _, err) = sh(&mut b, "group list --query [?");
    assert_eq!(code, 2, "{err}");
    assert_eq!(b.applies, 0);
}

/// Every argument of every command parses (given values of its kind), and
/// a misspelt one is refused: what a script with the real flags needs.
#[test]
fn every_declared_flag_is_accepted_and_a_misspelt_one_is_refused() {
    let leaves = leaves();
    let tree = super::args::tree(&leaves);
    for leaf in &leaves {
        let base: Vec<String> = leaf.path.split(' ').map(str::to_string).collect();
        let required: Vec<String> = leaf
            .args
            .iter()
            .filter(|a| a.is_required_set())
            .flat_map(|a| [format!("--{}", a.get_long().unwrap_or_default()), sample(a)])
            .collect();
        for arg in leaf.args.iter().filter(|a| !a.is_required_set()) {
            let Some(long) = arg.get_long() else { continue };
            let mut argv = base.clone();
            argv.extend(required.iter().cloned());
            argv.push(format!("--{long}"));
            if arg.get_num_args().is_none_or(|n| n.takes_values())
                && !matches!(arg.get_action(), clap::ArgAction::SetTrue)
            {
                argv.push(sample(arg));
            }
            let r = tree.clone().try_get_matches_from(&argv);
            assert!(
                r.is_ok(),
                "`az {}` was refused: {:?}",
                argv.join(" "),
                r.err().map(|e| e.to_string())
            );
        }
        let mut argv = base.clone();
        argv.extend(required.iter().cloned());
        argv.push("--no-such-flag".into());
        let e = tree
            .clone()
            .try_get_matches_from(&argv)
            .expect_err("a misspelt flag must be refused");
        assert_eq!(super::args::usage_error(e, &tree).exit_code(), 2, "{}", leaf.path);
    }
}

/// A value the argument accepts: the first of its choices, else a word.
fn sample(arg: &clap::Arg) -> String {
    let choices = arg.get_possible_values();
    if let Some(c) = choices.first() {
        return c.get_name().to_string();
    }
    match arg.get_id().as_str() {
        "priority" | "flowtimeout" | "dest-port" | "source-port" => "100".into(),
        id if id.contains("address-prefix") || id.contains("prefixes") => "10.0.0.0/24".into(),
        "local" | "remote" => "10.0.0.4:22".into(),
        "output" => "json".into(),
        // An AAZ boolean (args::boolean): the one option whose value is optional.
        _ if arg
            .get_num_args()
            .is_some_and(|n| n.min_values() == 0 && n.max_values() == 1) =>
        {
            "true".into()
        }
        _ => "value".into(),
    }
}

#[test]
fn output_formats_and_queries() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l eastus");
    assert_eq!(ok(&mut b, "group show -n rg -o none"), "");
    assert_eq!(
        ok(&mut b, "group show -n rg -o tsv"),
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg\teastus\tNone\trg\t\tNone\tMicrosoft.Resources/resourceGroups\n"
    );
    assert_eq!(ok(&mut b, "group show -n rg --query name -o tsv"), "rg\n");
    // An option given twice counts once, the last time, as with argparse.
    assert_eq!(ok(&mut b, "group show -n nope -n rg --query name -o tsv"), "rg\n");
    let y = ok(&mut b, "group show -n rg -o yaml");
    assert!(y.starts_with("id: /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg\nlocation: eastus\nmanagedBy: null\nname: rg\nproperties:\n  provisioningState: Succeeded\n"), "{y}");
    assert_eq!(
        ok(&mut b, "group list -o table"),
        "Name    Location    Status\n------  ----------  ---------\nrg      eastus      Succeeded\n"
    );
    let j = ok(&mut b, "group show -n rg");
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&j)
        .expect("json")
        .keys()
        .cloned()
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "az prints JSON keys sorted");
    assert!(ok(&mut b, "group show -n rg -o jsonc").contains('\u{1b}'));
}

#[test]
fn accounts_subscriptions_and_roles() {
    let mut b = MemoryBackend::new();
    let other = Subscription {
        id: "11111111-1111-4111-8111-111111111111".into(),
        name: "research".into(),
        tenant_id: "22222222-2222-4222-8222-222222222222".into(),
    };
    b.model
        .apply(Change::PutSubscription(other.clone()))
        .expect("subscription");
    b.model
        .apply(Change::PutPrincipal(Principal {
            name: "alice@contoso.com".into(),
            object_id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
            tenant_id: other.tenant_id.clone(),
            principal_type: PrincipalType::User,
        }))
        .expect("principal");
    let all = json(&mut b, "account list");
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    assert_eq!(json(&mut b, "account show")["isDefault"], true);
    ok(&mut b, "account set --subscription research");
    assert_eq!(json(&mut b, "account show")["id"], other.id.as_str());
    ok(&mut b, "group create -n rg -l eastus");
    assert!(
        json(&mut b, "group show -n rg")["id"]
            .as_str()
            .is_some_and(|id| id.contains(&other.id))
    );
    let scope = format!("/subscriptions/{}/resourceGroups/rg", other.id);
    let a = json(
        &mut b,
        &format!("role assignment create --assignee alice@contoso.com --role 'Network Contributor' --scope {scope}"),
    );
    assert_eq!(a["roleDefinitionName"], "Network Contributor");
    assert!(
        a["roleDefinitionId"]
            .as_str()
            .is_some_and(|r| r.ends_with("4d97b98b-1d4f-4787-a291-c67834d212e7"))
    );
    let table = ok(&mut b, "role assignment list --all -o table");
    assert!(table.contains("alice@contoso.com  Network Contributor"), "{table}");
    // alice sees only the subscription where she holds a role.
    let logged = json(&mut b, "login -u alice@contoso.com -p anything");
    assert_eq!(logged.as_array().map(Vec::len), Some(1));
    assert_eq!(json(&mut b, "account show")["user"]["name"], "alice@contoso.com");
    let (code, _, err) = sh(&mut b, "login -u mallory@contoso.com -p x");
    assert_eq!(code, 1);
    assert!(err.contains("AADSTS50034"), "{err}");
    ok(
        &mut b,
        &format!("role assignment delete --assignee alice@contoso.com --role 'Network Contributor' --scope {scope}"),
    );
    assert!(b.model.role_assignments.is_empty());
}

#[test]
fn watcher_answers_with_the_verdict_function() {
    let mut b = learn_lab();
    let hop = json(
        &mut b,
        "network watcher show-next-hop -g learn-rg --vm SalesVM --source-ip 10.1.1.4 --dest-ip 10.2.1.4",
    );
    assert_eq!(
        (hop["nextHopType"].as_str(), hop["routeTableId"].as_str()),
        (Some("VnetPeering"), Some("System Route"))
    );
    let none = json(
        &mut b,
        "network watcher show-next-hop -g learn-rg --vm SalesVM --source-ip 10.1.1.4 --dest-ip 10.3.1.4",
    );
    assert_eq!(none["nextHopType"], "None");
    let flow = json(
        &mut b,
        "network watcher test-ip-flow -g learn-rg --vm SalesVM --direction Inbound --protocol TCP --local 10.1.1.4:80 --remote 198.51.100.9:5000",
    );
    assert_eq!(
        (flow["access"].as_str(), flow["ruleName"].as_str()),
        (Some("Deny"), Some("defaultSecurityRules/DenyAllInBound"))
    );
    let c = json(
        &mut b,
        "network watcher test-connectivity -g learn-rg --source-resource SalesVM --dest-resource ResearchVM --dest-port 22",
    );
    assert_eq!(c["connectionStatus"], "Unreachable");
    let c = json(
        &mut b,
        "network watcher test-connectivity -g learn-rg --source-resource SalesVM --dest-resource MarketingVM --dest-port 22",
    );
    assert_eq!(c["connectionStatus"], "Reachable");
    let nsg = ok(
        &mut b,
        "network nic list-effective-nsg -g learn-rg -n SalesVMVMNic -o table",
    );
    assert!(
        nsg.lines().next().is_some_and(|h| h
            .split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            == ["NIC", "Subnet", "NSG", "Rule Name", "Protocol", "Direction", "Access"]),
        "{nsg}"
    );
    assert!(nsg.contains("securityRules/default-allow-ssh"), "{nsg}");
    // az's transformer (the real az printed this through the ARM endpoint):
    // the NIC, the subnet by its parse_resource_id name (the VNet's) and
    // the NSG, on the NSG's first row only.
    let rows: Vec<&str> = nsg.lines().skip(2).collect();
    let first: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(&first[..3], ["SalesVMVMNic", "SalesVNet", "SalesVMNSG"], "{nsg}");
    assert!(rows[1].starts_with("   "), "{nsg}");
}

#[test]
fn a_stopped_vm_has_no_effective_routes_and_runs_no_commands() {
    let mut b = learn_lab();
    ok(&mut b, "vm stop -g learn-rg -n SalesVM");
    assert_eq!(
        json(&mut b, "vm show -g learn-rg -n SalesVM -d")["powerState"],
        "VM stopped"
    );
    let (code, _, _) = sh(
        &mut b,
        "network nic show-effective-route-table -g learn-rg -n SalesVMVMNic",
    );
    assert_eq!(code, 1);
    let (code, _, err) = sh(
        &mut b,
        "vm run-command invoke -g learn-rg -n SalesVM --command-id RunShellScript --scripts hostname",
    );
    assert_eq!(code, 1);
    assert!(err.contains("(Conflict)"), "{err}");
    ok(&mut b, "vm start -g learn-rg -n SalesVM");
    let (code, _, err) = sh(&mut b, "vm delete -g learn-rg -n SalesVM");
    assert_eq!(
        (code, err.trim_end()),
        (
            1,
            "ERROR: Unable to prompt for confirmation as no tty available. Use --yes."
        )
    );
    ok(&mut b, "vm delete -g learn-rg -n SalesVM --yes");
}

// ---------------------------------------------------------------- gateways and Route Server

/// A hub (GatewaySubnet, VPN gateway of `sku`, a site-to-site connection
/// to 192.168.0.0/16 on premises, an NVA) and a spoke that uses the hub's
/// gateway, built with the commands a hub-and-spoke lab script uses.
fn hub_and_spoke(sku: &str) -> MemoryBackend {
    let mut b = MemoryBackend::new();
    let sku = if sku.is_empty() {
        String::new()
    } else {
        format!("--sku {sku}")
    };
    let lines = [
        "group create -n hs -l westeurope".to_string(),
        "network vnet create -g hs -n hub --address-prefixes 10.0.0.0/16 --subnet-name nva --subnet-prefixes 10.0.1.0/24".into(),
        "network vnet subnet create -g hs --vnet-name hub -n GatewaySubnet --address-prefixes 10.0.255.0/27".into(),
        "network public-ip create -g hs -n hub-gw-pip --sku Standard --allocation-method Static --version IPv4".into(),
        format!("network vnet-gateway create -g hs -n hub-gw --vnet hub --public-ip-addresses hub-gw-pip --gateway-type Vpn --vpn-type RouteBased {sku} --no-wait"),
        "network local-gateway create -g hs -n onprem --gateway-ip-address 192.0.2.10 --local-address-prefixes 192.168.0.0/16".into(),
        "network vpn-connection create -g hs -n hub-to-onprem --vnet-gateway1 hub-gw --local-gateway2 onprem --shared-key Lab-Key-1".into(),
        "network vnet create -g hs -n spoke --address-prefixes 10.1.0.0/16 --subnet-name workload --subnet-prefixes 10.1.1.0/24".into(),
        "network vnet peering create -g hs --vnet-name hub -n hub-to-spoke --remote-vnet spoke --allow-vnet-access --allow-forwarded-traffic --allow-gateway-transit".into(),
        "network vnet peering create -g hs --vnet-name spoke -n spoke-to-hub --remote-vnet hub --allow-vnet-access true --allow-forwarded-traffic true --use-remote-gateways true".into(),
        "network route-table create -g hs -n spoke-rt".into(),
        "network route-table route create -g hs --route-table-name spoke-rt -n via-nva --address-prefix 10.2.0.0/16 --next-hop-type VirtualAppliance --next-hop-ip-address 10.0.1.4".into(),
        "network route-table route create -g hs --route-table-name spoke-rt -n via-gw --address-prefix 10.3.0.0/16 --next-hop-type VirtualNetworkGateway".into(),
        "network vnet subnet update -g hs --vnet-name spoke -n workload --route-table spoke-rt".into(),
        "vm create -g hs -n nva --image Ubuntu2404 --vnet-name hub --subnet nva --private-ip-address 10.0.1.4 --public-ip-address '' --nsg '' --admin-username azureuser --admin-password Pa55word-Pa55word".into(),
        "network nic update -g hs -n nvaVMNic --ip-forwarding true".into(),
    ];
    for line in &lines {
        ok(&mut b, line);
    }
    // A route table given by ID, as scripts that pass $(az … --query id) do.
    let rt = json(&mut b, "network route-table show -g hs -n spoke-rt")["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    ok(
        &mut b,
        &format!(
            "network vnet subnet create -g hs --vnet-name spoke -n data --address-prefixes 10.1.2.0/24 --route-table {rt}"
        ),
    );
    let subnet = json(&mut b, "network vnet subnet show -g hs --vnet-name spoke -n workload")["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    ok(
        &mut b,
        &format!(
            "vm create -g hs -n app --image Ubuntu2404 --subnet {subnet} --vnet-name spoke --private-ip-address 10.1.1.10 --public-ip-address '' --admin-username azureuser --admin-password Pa55word-Pa55word"
        ),
    );
    b
}

#[test]
fn a_spoke_learns_the_on_premises_prefix_from_the_hub_gateway() {
    let mut b = hub_and_spoke("VpnGw1");
    let gw = json(&mut b, "network vnet-gateway show -g hs -n hub-gw");
    assert_eq!(
        (
            gw["sku"]["name"].as_str(),
            gw["vpnType"].as_str(),
            gw["activeActive"].as_bool()
        ),
        (Some("VpnGw1"), Some("RouteBased"), Some(false))
    );
    assert!(
        gw["ipConfigurations"][0]["publicIPAddress"]["id"]
            .as_str()
            .is_some_and(|id| id.ends_with("/publicIPAddresses/hub-gw-pip")),
        "{gw}"
    );
    assert_eq!(gw["bgpSettings"]["asn"], 65515);
    let pip = json(&mut b, "network public-ip show -g hs -n hub-gw-pip");
    assert!(
        pip["ipConfiguration"]["id"]
            .as_str()
            .is_some_and(|id| id.ends_with("/virtualNetworkGateways/hub-gw/ipConfigurations/vnetGatewayConfig0")),
        "{pip}"
    );
    let conn = json(&mut b, "network vpn-connection show -g hs -n hub-to-onprem");
    assert_eq!(
        (conn["connectionStatus"].as_str(), conn["connectionType"].as_str()),
        (Some("Connected"), Some("IPsec"))
    );

    let routes = ok(
        &mut b,
        "network nic show-effective-route-table -g hs -n appVMNic -o table",
    );
    assert!(
        routes
            .lines()
            .any(|l| l == "VirtualNetworkGateway  Active   192.168.0.0/16    VirtualNetworkGateway  10.0.255.4"),
        "{routes}"
    );
    assert!(routes.lines().any(|l| l.starts_with("User                   Active   10.2.0.0/16       VirtualAppliance       10.0.1.4")), "{routes}");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with("User                   Active   10.3.0.0/16       VirtualNetworkGateway")),
        "{routes}"
    );
    let doc = json(&mut b, "network nic show-effective-route-table -g hs -n appVMNic");
    let onprem = doc["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["addressPrefix"][0] == "192.168.0.0/16")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (onprem["source"].as_str(), onprem["nextHopType"].as_str()),
        (Some("VirtualNetworkGateway"), Some("VirtualNetworkGateway")),
        "{doc}"
    );

    let learned = ok(
        &mut b,
        "network vnet-gateway list-learned-routes -g hs -n hub-gw -o table",
    );
    assert!(
        learned.starts_with("Network         NextHop    Origin    SourcePeer    AsPath    Weight\n"),
        "{learned}"
    );
    assert!(
        learned.contains("192.168.0.0/16             Network   10.0.255.4              32768"),
        "{learned}"
    );
    assert!(
        learned.contains("10.1.0.0/16"),
        "the transit spoke is the gateway's too:\n{learned}"
    );
}

/// Scripts wait for the gateway after --no-wait; in vnetlab it is there at
/// once, so the wait answers at once.
#[test]
fn vnet_gateway_wait_answers_at_once() {
    let mut b = hub_and_spoke("VpnGw1");
    ok(&mut b, "network vnet-gateway wait -g hs -n hub-gw --created");
    ok(&mut b, "network vnet-gateway wait -g hs -n nope --deleted");
    let (code, _, err) = sh(&mut b, "network vnet-gateway wait -g hs -n nope --created");
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = sh(&mut b, "network vnet-gateway wait -g hs -n hub-gw --deleted");
    assert_eq!(code, 1);
    assert!(err.contains("still exists"), "{err}");
}

#[test]
fn a_basic_gateway_gives_the_spoke_no_gateway_routes() {
    // No --sku: az's default, Basic, which cannot do gateway transit.
    let mut b = hub_and_spoke("");
    assert_eq!(
        json(&mut b, "network vnet-gateway show -g hs -n hub-gw")["sku"]["name"],
        "Basic"
    );
    let routes = ok(
        &mut b,
        "network nic show-effective-route-table -g hs -n appVMNic -o table",
    );
    assert!(
        !routes.lines().any(|l| l.starts_with("VirtualNetworkGateway")),
        "{routes}"
    );
    // The hub's own VMs still reach on premises through it.
    let hub = ok(
        &mut b,
        "network nic show-effective-route-table -g hs -n nvaVMNic -o table",
    );
    assert!(hub.contains("VirtualNetworkGateway  Active   192.168.0.0/16"), "{hub}");
}

#[test]
fn gateway_commands_print_what_az_prints() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n g -l eastus");
    ok(&mut b, "network vnet create -g g -n v1 --address-prefixes 10.10.0.0/16");
    ok(
        &mut b,
        "network vnet subnet create -g g --vnet-name v1 -n GatewaySubnet --address-prefixes 10.10.255.0/27",
    );
    let pip = json(&mut b, "network public-ip create -g g -n p1");
    assert_eq!(
        (
            pip["publicIp"]["sku"]["name"].as_str(),
            pip["publicIp"]["publicIPAllocationMethod"].as_str()
        ),
        (Some("Standard"), Some("Static"))
    );
    ok(&mut b, "network public-ip create -g g -n p2");
    let gw = json(
        &mut b,
        "network vnet-gateway create -g g -n gw1 --vnet v1 --public-ip-addresses p1 p2 --sku VpnGw2 --asn 65010",
    );
    let gw = &gw["vnetGateway"];
    assert_eq!(
        (
            gw["activeActive"].as_bool(),
            gw["enableBgp"].as_bool(),
            gw["bgpSettings"]["asn"].as_u64()
        ),
        (Some(true), Some(true), Some(65010))
    );
    assert_eq!(gw["ipConfigurations"].as_array().map(Vec::len), Some(2));
    assert_eq!(gw["bgpSettings"]["bgpPeeringAddress"], "10.10.255.4,10.10.255.5");
    let lng = json(
        &mut b,
        "network local-gateway create -g g -n site --gateway-ip-address 192.0.2.1 --local-address-prefixes 172.16.0.0/16 172.17.0.0/16",
    );
    assert_eq!(lng["localNetworkAddressSpace"]["addressPrefixes"][1], "172.17.0.0/16");
    let updated = json(
        &mut b,
        "network local-gateway update -g g -n site --local-address-prefixes 172.18.0.0/16",
    );
    assert_eq!(
        updated["localNetworkAddressSpace"]["addressPrefixes"],
        serde_json::json!(["172.18.0.0/16"])
    );
    assert!(
        ok(&mut b, "network local-gateway list -g g -o table")
            .contains("site    eastus      g                Succeeded            192.0.2.1           172.18.0.0/16")
    );
    let c = json(
        &mut b,
        "network vpn-connection create -g g -n to-site --vnet-gateway1 gw1 --local-gateway2 site --shared-key k1 --enable-bgp false",
    );
    assert_eq!(
        (
            c["resource"]["connectionStatus"].as_str(),
            c["resource"]["connectionType"].as_str()
        ),
        (Some("Connected"), Some("IPsec"))
    );
    assert!(
        c["resource"].get("id").is_none(),
        "the deployment's output is the properties"
    );
    assert_eq!(
        json(
            &mut b,
            "network vpn-connection shared-key show -g g --connection-name to-site"
        )["value"],
        "k1"
    );
    assert_eq!(
        json(&mut b, "network vpn-connection list -g g")
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Deleting what is not there is quiet; what is in use is refused.
    assert_eq!(ok(&mut b, "network vnet-gateway delete -g g -n nope"), "");
    let (code, _, err) = sh(&mut b, "network vnet-gateway delete -g g -n gw1");
    assert_eq!(code, 1, "{err}");
    ok(&mut b, "network vpn-connection delete -g g -n to-site");
    ok(&mut b, "network vnet-gateway delete -g g -n gw1");
    ok(&mut b, "network local-gateway delete -g g -n site");
    ok(&mut b, "network public-ip delete -g g -n p1");
    assert!(b.model.virtual_network_gateways.is_empty() && b.model.local_network_gateways.is_empty());
}

#[test]
fn vnet_to_vnet_needs_a_connection_from_each_side_with_the_same_key() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n g -l eastus");
    for (v, prefix) in [("va", "10.20"), ("vb", "10.30")] {
        ok(
            &mut b,
            &format!("network vnet create -g g -n {v} --address-prefixes {prefix}.0.0/16"),
        );
        ok(
            &mut b,
            &format!(
                "network vnet subnet create -g g --vnet-name {v} -n GatewaySubnet --address-prefixes {prefix}.255.0/27"
            ),
        );
        ok(&mut b, &format!("network public-ip create -g g -n {v}-pip"));
        ok(
            &mut b,
            &format!("network vnet-gateway create -g g -n {v}-gw --vnet {v} --public-ip-address {v}-pip --sku VpnGw1"),
        );
    }
    let ab = json(
        &mut b,
        "network vpn-connection create -g g -n a-to-b --vnet-gateway1 va-gw --vnet-gateway2 vb-gw --shared-key s3cret",
    );
    assert_eq!(
        (
            ab["resource"]["connectionStatus"].as_str(),
            ab["resource"]["connectionType"].as_str()
        ),
        (Some("NotConnected"), Some("Vnet2Vnet"))
    );
    ok(
        &mut b,
        "network vpn-connection create -g g -n b-to-a --vnet-gateway1 vb-gw --vnet-gateway2 va-gw --shared-key s3cret",
    );
    assert_eq!(
        json(&mut b, "network vpn-connection show -g g -n a-to-b")["connectionStatus"],
        "Connected"
    );
    ok(
        &mut b,
        "network vpn-connection shared-key update -g g --connection-name b-to-a --value other",
    );
    assert_eq!(
        json(&mut b, "network vpn-connection show -g g -n a-to-b")["connectionStatus"],
        "NotConnected"
    );
    let (code, _, err) = sh(
        &mut b,
        "network vpn-connection create -g g -n both --vnet-gateway1 va-gw --vnet-gateway2 vb-gw --local-gateway2 x",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("usage error: --vnet-gateway2 NAME_OR_ID | --local-gateway2 NAME_OR_ID"),
        "{err}"
    );
}

#[test]
fn route_server_with_branch_to_branch() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rs -l westus");
    ok(
        &mut b,
        "network vnet create -g rs -n hub --address-prefixes 10.0.0.0/16 --subnet-name nva --subnet-prefixes 10.0.0.0/24",
    );
    ok(
        &mut b,
        "network vnet subnet create -g rs --vnet-name hub -n RouteServerSubnet --address-prefixes 10.0.1.0/27",
    );
    ok(
        &mut b,
        "network public-ip create -g rs -n rs-ip --sku Standard --version IPv4",
    );
    let subnet = json(
        &mut b,
        "network vnet subnet show -g rs --vnet-name hub -n RouteServerSubnet",
    )["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let created = json(
        &mut b,
        &format!("network routeserver create -g rs -n hub-rs --hosted-subnet {subnet} --public-ip-address rs-ip"),
    );
    assert_eq!(created["allowBranchToBranchTraffic"], false);
    ok(
        &mut b,
        "network routeserver update -g rs -n hub-rs --allow-b2b-traffic true",
    );
    let rs = json(&mut b, "network routeserver show -g rs -n hub-rs");
    assert_eq!(rs["allowBranchToBranchTraffic"], true);
    assert_eq!(
        (rs["virtualRouterAsn"].as_u64(), rs["kind"].as_str()),
        (Some(65515), Some("RouteServer"))
    );
    assert_eq!(rs["virtualRouterIps"], serde_json::json!(["10.0.1.4", "10.0.1.5"]));
    let p = json(
        &mut b,
        "network routeserver peering create -g rs --routeserver hub-rs -n nva1 --peer-ip 10.0.0.4 --peer-asn 65001",
    );
    assert_eq!(
        (p["peerIp"].as_str(), p["peerAsn"].as_u64()),
        (Some("10.0.0.4"), Some(65001))
    );
    // The az front cannot make an NVA announce anything: vnetlab runs no BGP.
    assert_eq!(
        json(
            &mut b,
            "network routeserver peering list-learned-routes -g rs --routeserver hub-rs -n nva1"
        )["RouteServiceRole_IN_0"],
        serde_json::json!([])
    );
    let advertised = json(
        &mut b,
        "network routeserver peering list-advertised-routes -g rs --routeserver hub-rs -n nva1",
    );
    assert_eq!(advertised["RouteServiceRole_IN_1"][0]["network"], "10.0.0.0/16");
    // What a topology file's advertisedPrefixes say is what az lists.
    let spec = crate::model::RouteServerPeeringSpec {
        id: crate::model::ResourceId::parse(p["id"].as_str().unwrap_or_default()).expect("peering id"),
        peer_ip: "10.0.0.4".into(),
        peer_asn: 65001,
        advertised_prefixes: vec!["172.16.0.0/12".into()],
    };
    b.model.apply(Change::PutRouteServerPeering(spec)).expect("announce");
    let learned = json(
        &mut b,
        "network routeserver peering list-learned-routes -g rs --routeserver hub-rs -n nva1",
    );
    assert_eq!(
        (
            learned["RouteServiceRole_IN_0"][0]["network"].as_str(),
            learned["RouteServiceRole_IN_0"][0]["origin"].as_str()
        ),
        (Some("172.16.0.0/12"), Some("EBgp"))
    );
    // Re-creating the peering with az keeps what the NVA announces.
    ok(
        &mut b,
        "network routeserver peering create -g rs --routeserver hub-rs -n nva1 --peer-ip 10.0.0.4 --peer-asn 65001",
    );
    assert_eq!(
        json(
            &mut b,
            "network routeserver peering list-learned-routes -g rs --routeserver hub-rs -n nva1"
        )["RouteServiceRole_IN_1"][0]["network"],
        "172.16.0.0/12"
    );

    let before = b.model.clone();
    let (code, _, err) = sh(&mut b, "network public-ip delete -g rs -n rs-ip");
    assert!(
        code == 1
            && err.contains("(PublicIPAddressCannotBeDeleted)")
            && err.contains("virtualHubs/hub-rs/ipConfigurations/Default"),
        "{err}"
    );
    let (code, _, err) = sh(
        &mut b,
        "network routeserver peering delete -g rs --routeserver hub-rs -n nva1",
    );
    assert_eq!(
        (code, err.trim_end()),
        (
            1,
            "ERROR: Unable to prompt for confirmation as no tty available. Use --yes."
        )
    );
    assert_eq!(b.model, before);
    ok(
        &mut b,
        "network routeserver peering delete -g rs --routeserver hub-rs -n nva1 --yes",
    );
    ok(&mut b, "network routeserver delete -g rs -n hub-rs --yes");
    ok(&mut b, "network public-ip delete -g rs -n rs-ip");
    assert!(b.model.route_servers.is_empty() && b.model.public_ip_addresses.is_empty());
}

#[test]
fn refused_gateway_commands_change_nothing() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n g -l eastus");
    ok(
        &mut b,
        "network vnet create -g g -n vn --address-prefixes 10.5.0.0/16 --subnet-name apps --subnet-prefixes 10.5.0.0/24",
    );
    ok(&mut b, "network public-ip create -g g -n pip");
    let before = b.model.clone();
    let refusals = [
        // No GatewaySubnet in the VNet.
        (
            "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address pip --sku VpnGw1",
            1,
            "(NetcfgMissingSubnet)",
        ),
        // A Route Server outside RouteServerSubnet.
        (
            "network routeserver create -g g -n rs --hosted-subnet /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/vn/subnets/apps --public-ip-address pip",
            1,
            "RouteServerSubnet",
        ),
        // A subnet name where az wants its ID.
        (
            "network routeserver create -g g -n rs --hosted-subnet RouteServerSubnet --public-ip-address pip",
            1,
            "(InvalidRequestFormat)",
        ),
        // A public IP that does not exist: ARM's reference error.
        (
            "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address nope --sku VpnGw1",
            1,
            "",
        ),
        // A VNet that does not exist.
        (
            "network vnet-gateway create -g g -n gw --vnet nope --public-ip-address pip",
            3,
            "(ResourceNotFound)",
        ),
        ("network vnet-gateway show -g g -n nope", 3, "(ResourceNotFound)"),
        (
            "network public-ip create -g g -n dyn --allocation-method Dynamic",
            1,
            "(StandardSkuPublicIPAddressesMustBeStatic)",
        ),
        (
            "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address pip --gateway-type LocalGateway",
            1,
            "not emulated",
        ),
    ];
    for (line, want, needle) in refusals {
        let (code, out, err) = sh(&mut b, line);
        assert_eq!((code, out.as_str()), (want, ""), "`az {line}`: {err}");
        assert!(err.contains(needle), "`az {line}`: {err}");
        assert_eq!(b.model, before, "`az {line}` changed the model");
    }
    ok(
        &mut b,
        "network vnet subnet create -g g --vnet-name vn -n GatewaySubnet --address-prefixes 10.5.255.0/27",
    );
    let (code, _, err) = sh(
        &mut b,
        "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address nope --sku VpnGw1",
    );
    assert!(
        code == 1 && err.contains("(InvalidResourceReference)") && err.contains("publicIPAddresses/nope"),
        "{err}"
    );
    // A public IP a gateway holds cannot be deleted, nor given to a second one.
    ok(
        &mut b,
        "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address pip --sku VpnGw1",
    );
    let (code, _, err) = sh(&mut b, "network public-ip delete -g g -n pip");
    assert!(
        code == 1 && err.contains("(PublicIPAddressCannotBeDeleted)") && err.contains("vnetGatewayConfig0"),
        "{err}"
    );
}

// ---------------------------------------------------------------- load balancers, Redis, private endpoints

const SUB: &str = "/subscriptions/00000000-0000-4000-8000-000000000001";

/// The lab of the load-balancing exercise: VNet1 (japaneast) with three
/// backend VMs, a Standard and a Basic internal load balancer and a
/// private endpoint to a cache; VNet2 (japanwest, globally peered) with a
/// client VM and a VNet-injected Premium cache.
fn balancer_lab() -> MemoryBackend {
    let mut b = MemoryBackend::new();
    let vm = |name: &str, vnet: &str, subnet: &str| {
        format!(
            "vm create -g lb -n {name} --image Ubuntu2204 --vnet-name {vnet} --subnet {subnet} --public-ip-address '' --nsg '' --admin-username azureuser --admin-password Pa55word-Pa55word"
        )
    };
    let lines = [
        "group create -n lb -l japaneast".to_string(),
        "network vnet create -g lb -n VNet1 --address-prefixes 10.1.0.0/16 --subnet-name backend --subnet-prefixes 10.1.1.0/24".into(),
        "network vnet subnet create -g lb --vnet-name VNet1 -n frontend --address-prefixes 10.1.2.0/24".into(),
        "network vnet subnet create -g lb --vnet-name VNet1 -n endpoints --address-prefixes 10.1.3.0/24".into(),
        "network vnet create -g lb -n VNet2 -l japanwest --address-prefixes 10.2.0.0/16 --subnet-name apps --subnet-prefixes 10.2.1.0/24".into(),
        "network vnet subnet create -g lb --vnet-name VNet2 -n redis --address-prefixes 10.2.2.0/24".into(),
        "network vnet peering create -g lb --vnet-name VNet1 -n v1-v2 --remote-vnet VNet2 --allow-vnet-access".into(),
        "network vnet peering create -g lb --vnet-name VNet2 -n v2-v1 --remote-vnet VNet1 --allow-vnet-access".into(),
        vm("web1", "VNet1", "backend"),
        vm("web2", "VNet1", "backend"),
        vm("web3", "VNet1", "backend"),
        vm("client", "VNet2", "apps") + " -l japanwest",
        "network lb create -g lb -n ilb --sku Standard --vnet-name VNet1 --subnet frontend --private-ip-address 10.1.2.10 --frontend-ip-name fe --backend-pool-name pool".into(),
        "network lb probe create -g lb --lb-name ilb -n http --protocol Http --port 80 --path /".into(),
        "network lb rule create -g lb --lb-name ilb -n web --protocol Tcp --frontend-port 80 --backend-port 80 --probe-name http".into(),
        "network nic ip-config address-pool add -g lb --nic-name web1VMNic --ip-config-name ipconfigweb1 --lb-name ilb --address-pool pool".into(),
        "network nic ip-config address-pool add -g lb --nic-name web2VMNic -n ipconfigweb2 --lb-name ilb --address-pool pool".into(),
        "network lb create -g lb -n basic --sku Basic --vnet-name VNet1 --subnet frontend".into(),
        "network lb probe create -g lb --lb-name basic -n ssh --protocol Tcp --port 22".into(),
        "network lb rule create -g lb --lb-name basic -n ssh --protocol Tcp --frontend-port 22 --backend-port 22 --probe-name ssh --load-distribution SourceIP".into(),
        "network nic ip-config address-pool add -g lb --nic-name web3VMNic --lb-name basic --address-pool basicbepool".into(),
        format!("redis create -n cache1 -g lb -l japanwest --sku Premium --vm-size p1 --subnet-id {SUB}/resourceGroups/lb/providers/Microsoft.Network/virtualNetworks/VNet2/subnets/redis --static-ip 10.2.2.10"),
        "redis create -n cache2 -g lb -l japaneast --sku Basic --vm-size C0".into(),
        format!("network private-endpoint create -g lb -n pe1 --vnet-name VNet1 --subnet endpoints --private-connection-resource-id {SUB}/resourceGroups/lb/providers/Microsoft.Cache/Redis/cache2 --group-id redisCache --connection-name conn1"),
    ];
    for line in &lines {
        ok(&mut b, line);
    }
    b
}

#[test]
fn a_cache_id_is_spelt_as_arm_answers_whichever_spelling_was_given() {
    let mut b = balancer_lab();
    let id = ok(&mut b, "redis show -g lb -n cache2 --query id -o tsv");
    assert_eq!(
        id.trim(),
        format!("{SUB}/resourceGroups/lb/providers/Microsoft.Cache/Redis/cache2")
    );
    // The request path's spelling (what azure-mgmt-redis sends) finds the same cache.
    ok(
        &mut b,
        &format!(
            "network private-endpoint create -g lb -n pe9 --vnet-name VNet1 --subnet endpoints --private-connection-resource-id {SUB}/resourceGroups/lb/providers/microsoft.cache/redis/cache2 --group-id redisCache --connection-name c9"
        ),
    );
    let target = ok(
        &mut b,
        "network private-endpoint show -g lb -n pe9 --query privateLinkServiceConnections[0].privateLinkServiceId -o tsv",
    );
    assert_eq!(target.trim(), id.trim());
}

#[test]
fn a_private_endpoints_nic_is_shown_and_listed_and_the_endpoint_owns_it() {
    let mut b = balancer_lab();
    let nic_id = ok(
        &mut b,
        "network private-endpoint show -g lb -n pe1 --query networkInterfaces[0].id -o tsv",
    );
    let nic_name = nic_id.trim().rsplit('/').next().expect("a name").to_string();
    assert!(nic_name.starts_with("pe1.nic."), "{nic_name}");
    let nic = json(&mut b, &format!("network nic show -g lb -n {nic_name}"));
    assert_eq!(nic["id"], nic_id.trim());
    assert!(
        nic["privateEndpoint"]["id"]
            .as_str()
            .is_some_and(|p| p.ends_with("/privateEndpoints/pe1"))
    );
    assert!(nic.get("virtualMachine").is_none());
    let config = &nic["ipConfigurations"][0];
    assert_eq!(config["privateIPAddress"], "10.1.3.4");
    assert_eq!(config["privateIPAllocationMethod"], "Dynamic");
    assert_eq!(
        config["privateLinkConnectionProperties"],
        serde_json::json!({ "fqdns": ["cache2.redis.cache.windows.net"], "groupId": "redisCache", "requiredMemberName": "redisCache" })
    );
    let names = ok(&mut b, "network nic list -g lb --query [].name -o tsv");
    assert_eq!(names.lines().last(), Some(nic_name.as_str()), "{names}");
    // Managed by the endpoint: no change, no delete; the lab is unchanged.
    let before = b.model.clone();
    for line in [
        format!("network nic delete -g lb -n {nic_name}"),
        format!("network nic update -g lb -n {nic_name} --ip-forwarding true"),
    ] {
        let (code, _, err) = sh(&mut b, &line);
        assert_eq!(code, 1, "{line}: {err}");
        assert!(
            err.contains("(CannotModifyNicAttachedToPrivateEndpoint)"),
            "{line}: {err}"
        );
    }
    assert_eq!(b.model, before);
    // It goes with its endpoint.
    ok(&mut b, "network private-endpoint delete -g lb -n pe1");
    let (code, _, err) = sh(&mut b, &format!("network nic show -g lb -n {nic_name}"));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn the_balancer_lab_builds_the_model() {
    let b = balancer_lab();
    let m = &b.model;
    assert_eq!(m.load_balancers.len(), 2);
    let ilb = m.load_balancers.values().find(|l| l.name == "ilb").expect("ilb");
    assert_eq!(ilb.sku, crate::model::LbSku::Standard);
    assert_eq!(
        ilb.frontend_ip_configurations[0].private_ip_address.to_string(),
        "10.1.2.10"
    );
    assert_eq!(
        ilb.load_balancing_rules[0].probe.as_ref().map(|p| p.name()),
        Some("http")
    );
    let basic = m.load_balancers.values().find(|l| l.name == "basic").expect("basic");
    assert_eq!(
        (basic.sku, basic.frontend_ip_configurations[0].name.as_str()),
        (crate::model::LbSku::Basic, "LoadBalancerFrontEnd")
    );
    assert_eq!(
        basic.frontend_ip_configurations[0].private_ip_address.to_string(),
        "10.1.2.4",
        "the first free address, dynamic"
    );
    let pools = |nic: &str| {
        m.network_interfaces
            .values()
            .find(|n| n.name == nic)
            .map(|n| {
                n.load_balancer_backend_address_pools
                    .iter()
                    .map(|p| p.name().to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        (
            pools("web1VMNic"),
            pools("web2VMNic"),
            pools("web3VMNic"),
            pools("clientVMNic")
        ),
        (
            vec!["pool".to_string()],
            vec!["pool".to_string()],
            vec!["basicbepool".to_string()],
            vec![]
        )
    );
    let cache1 = m.redis_caches.values().find(|r| r.name == "cache1").expect("cache1");
    assert_eq!(
        (cache1.vm_size.as_str(), cache1.static_ip.map(|i| i.to_string())),
        ("P1", Some("10.2.2.10".to_string()))
    );
    let pe = m.private_endpoints.values().next().expect("pe1");
    assert_eq!(
        (pe.private_ip_address.to_string(), pe.private_link_service_id.name()),
        ("10.1.3.4".to_string(), "cache2")
    );
}

#[test]
fn balancer_commands_print_what_az_prints() {
    let mut b = balancer_lab();
    // lb create prints its deployment's output: the properties, children nested.
    let out = json(
        &mut b,
        "network lb create -g lb -n third --vnet-name VNet1 --subnet frontend",
    );
    let lb = &out["loadBalancer"];
    assert!(lb.get("id").is_none() && lb.get("sku").is_none(), "{lb}");
    let fe = &lb["frontendIPConfigurations"][0];
    assert_eq!(
        (
            fe["name"].as_str(),
            fe["properties"]["privateIPAllocationMethod"].as_str(),
            fe["properties"]["privateIPAddress"].as_str()
        ),
        (Some("LoadBalancerFrontEnd"), Some("Dynamic"), Some("10.1.2.5"))
    );
    assert_eq!(lb["backendAddressPools"][0]["name"], "thirdbepool");
    assert_eq!(
        (
            lb["probes"].as_array().map(Vec::len),
            lb["loadBalancingRules"].as_array().map(Vec::len),
            lb["provisioningState"].as_str()
        ),
        (Some(0), Some(0), Some("Succeeded"))
    );
    let show = json(&mut b, "network lb show -g lb -n third");
    assert_eq!(
        (
            show["sku"]["name"].as_str(),
            show["type"].as_str(),
            show["resourceGroup"].as_str()
        ),
        (Some("Standard"), Some("Microsoft.Network/loadBalancers"), Some("lb"))
    );
    assert_eq!(
        show["frontendIPConfigurations"][0]["privateIPAddress"], "10.1.2.5",
        "show flattens the children"
    );

    let probe = json(&mut b, "network lb probe show -g lb --lb-name ilb -n http");
    assert_eq!(
        (
            probe["intervalInSeconds"].as_u64(),
            probe["numberOfProbes"].as_u64(),
            probe["requestPath"].as_str(),
            probe["protocol"].as_str()
        ),
        (Some(15), Some(2), Some("/"), Some("Http"))
    );
    assert!(
        probe["loadBalancingRules"][0]["id"]
            .as_str()
            .is_some_and(|s| s.ends_with("/loadBalancers/ilb/loadBalancingRules/web")),
        "{probe}"
    );
    let rule = json(&mut b, "network lb rule show -g lb --lb-name ilb -n web");
    assert_eq!(
        (
            rule["idleTimeoutInMinutes"].as_u64(),
            rule["loadDistribution"].as_str(),
            rule["enableFloatingIP"].as_bool()
        ),
        (Some(4), Some("Default"), Some(false))
    );
    assert!(
        rule["probe"]["id"]
            .as_str()
            .is_some_and(|s| s.ends_with("/probes/http"))
    );
    let pool = json(&mut b, "network lb address-pool show -g lb --lb-name ilb -n pool");
    let members: Vec<&str> = pool["backendIPConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(members.len(), 2);
    assert!(
        members[0].ends_with("/networkInterfaces/web1VMNic/ipConfigurations/ipconfigweb1"),
        "{members:?}"
    );
    let nic = json(&mut b, "network nic show -g lb -n web3VMNic");
    assert!(
        nic["ipConfigurations"][0]["loadBalancerBackendAddressPools"][0]["id"]
            .as_str()
            .is_some_and(|s| s.ends_with("/loadBalancers/basic/backendAddressPools/basicbepool")),
        "{nic}"
    );
    assert_eq!(
        ok(
            &mut b,
            "network lb frontend-ip list -g lb --lb-name ilb --query [].privateIPAddress -o tsv"
        ),
        "10.1.2.10\n"
    );
    assert_eq!(
        ok(&mut b, "network lb list -g lb --query [].name -o tsv"),
        "basic\nilb\nthird\n"
    );
    let t = ok(&mut b, "network lb rule list -g lb --lb-name basic -o table");
    assert!(
        t.lines()
            .nth(2)
            .is_some_and(|l| l.contains("SourceIP") && l.contains("ssh")),
        "{t}"
    );

    // Updates and deletes of the parts.
    let upd = json(
        &mut b,
        "network lb probe update -g lb --lb-name ilb -n http --interval 5 --threshold 3",
    );
    assert_eq!(
        (
            upd["intervalInSeconds"].as_u64(),
            upd["numberOfProbes"].as_u64(),
            upd["port"].as_u64()
        ),
        (Some(5), Some(3), Some(80))
    );
    let upd = json(
        &mut b,
        "network lb rule update -g lb --lb-name ilb -n web --backend-port 8080 --idle-timeout 10",
    );
    assert_eq!(
        (
            upd["backendPort"].as_u64(),
            upd["frontendPort"].as_u64(),
            upd["idleTimeoutInMinutes"].as_u64()
        ),
        (Some(8080), Some(80), Some(10))
    );
    assert_eq!(
        ok(
            &mut b,
            "network lb frontend-ip show -g lb --lb-name ilb -n fe --query privateIPAddress -o tsv"
        ),
        "10.1.2.10\n",
        "a static frontend keeps its address"
    );
    assert_eq!(
        ok(
            &mut b,
            "network lb frontend-ip show -g lb --lb-name basic -n LoadBalancerFrontEnd --query privateIPAddress -o tsv"
        ),
        "10.1.2.4\n",
        "a dynamic one too"
    );
    ok(&mut b, "network lb address-pool create -g lb --lb-name third -n extra");
    ok(&mut b, "network lb address-pool delete -g lb --lb-name third -n extra");
    ok(&mut b, "network lb delete -g lb -n third");
    assert_eq!(b.model.load_balancers.len(), 2);
    let ipc = json(
        &mut b,
        "network nic ip-config address-pool remove -g lb --nic-name web2VMNic --lb-name ilb --address-pool pool",
    );
    assert!(
        ipc.get("loadBalancerBackendAddressPools").is_none() && ipc["name"] == "ipconfigweb2",
        "{ipc}"
    );
    let (code, _, err) = sh(&mut b, "network lb probe show -g lb --lb-name ilb -n nope");
    assert_eq!(code, 3, "{err}");

    // Redis and the private endpoint.
    let c1 = json(&mut b, "redis show -g lb -n cache1");
    assert_eq!(
        c1["sku"],
        serde_json::json!({ "capacity": 1, "family": "P", "name": "Premium" })
    );
    assert_eq!(
        (
            c1["staticIp"].as_str(),
            c1["publicNetworkAccess"].as_str(),
            c1["hostName"].as_str()
        ),
        (
            Some("10.2.2.10"),
            Some("Disabled"),
            Some("cache1.redis.cache.windows.net")
        )
    );
    assert_eq!(
        (
            c1["port"].as_u64(),
            c1["sslPort"].as_u64(),
            c1["type"].as_str(),
            c1["accessKeys"].is_null()
        ),
        (Some(6379), Some(6380), Some("Microsoft.Cache/Redis"), true)
    );
    assert!(
        c1["subnetId"]
            .as_str()
            .is_some_and(|s| s.ends_with("/virtualNetworks/VNet2/subnets/redis"))
    );
    let c2 = json(&mut b, "redis show -g lb -n cache2");
    assert_eq!(
        (
            c2["staticIp"].is_null(),
            c2["subnetId"].is_null(),
            c2["publicNetworkAccess"].as_str(),
            c2["sku"]["family"].as_str(),
            c2["sku"]["capacity"].as_u64()
        ),
        (true, true, Some("Enabled"), Some("C"), Some(0))
    );
    let keys = json(&mut b, "redis list-keys -g lb -n cache2");
    assert!(
        keys["primaryKey"]
            .as_str()
            .is_some_and(|k| k.len() == 44 && k.ends_with('='))
            && keys["primaryKey"] != keys["secondaryKey"],
        "{keys}"
    );
    assert_eq!(ok(&mut b, "redis list --query [].name -o tsv"), "cache1\ncache2\n");
    let pe = json(&mut b, "network private-endpoint show -g lb -n pe1");
    assert_eq!(
        pe["customDnsConfigs"],
        serde_json::json!([{ "fqdn": "cache2.redis.cache.windows.net", "ipAddresses": ["10.1.3.4"] }])
    );
    assert!(
        pe["networkInterfaces"][0]["id"]
            .as_str()
            .is_some_and(|s| s.contains("/networkInterfaces/pe1.nic.")),
        "{pe}"
    );
    let conn = &pe["privateLinkServiceConnections"][0];
    assert_eq!(
        (
            conn["name"].as_str(),
            conn["groupIds"][0].as_str(),
            conn["privateLinkServiceConnectionState"]["status"].as_str()
        ),
        (Some("conn1"), Some("redisCache"), Some("Approved"))
    );
    assert_eq!(
        conn["privateLinkServiceConnectionState"]["description"],
        "Auto-Approved"
    );
    assert!(
        conn["privateLinkServiceId"]
            .as_str()
            .is_some_and(|s| s.ends_with("/Microsoft.Cache/Redis/cache2"))
    );

    // The endpoint's /32 in its VNet and in the peered one, as Azure shows it.
    for nic in ["web1VMNic", "clientVMNic"] {
        let t = ok(
            &mut b,
            &format!("network nic show-effective-route-table -g lb -n {nic} -o table"),
        );
        assert!(
            t.lines()
                .any(|l| l.trim_end() == "Default   Active   10.1.3.4/32       InterfaceEndpoint"),
            "{nic}:\n{t}"
        );
        let all = json(
            &mut b,
            &format!("network nic show-effective-route-table -g lb -n {nic}"),
        );
        let j: Vec<&Value> = all["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["nextHopType"] == "InterfaceEndpoint")
            .collect();
        assert_eq!(j.len(), 1, "{all}");
        assert_eq!(j[0]["addressPrefix"], serde_json::json!(["10.1.3.4/32"]));
        assert_eq!(
            (
                j[0]["source"].as_str(),
                j[0]["state"].as_str(),
                j[0]["nextHopIpAddress"].clone()
            ),
            (Some("Default"), Some("Active"), serde_json::json!([]))
        );
    }
    ok(&mut b, "network private-endpoint delete -g lb -n pe1");
    ok(&mut b, "redis delete -g lb -n cache2 --yes");
    assert!(b.model.private_endpoints.is_empty() && b.model.redis_caches.len() == 1);
}

#[test]
fn refused_balancer_commands_change_nothing() {
    let mut b = balancer_lab();
    // A second frontend makes a rule without --frontend-ip-name ambiguous.
    ok(
        &mut b,
        "network lb frontend-ip create -g lb --lb-name ilb -n fe2 --vnet-name VNet1 --subnet frontend",
    );
    ok(&mut b, "network lb address-pool create -g lb --lb-name ilb -n pool2");
    let before = b.model.clone();
    let subnet = format!("{SUB}/resourceGroups/lb/providers/Microsoft.Network/virtualNetworks/VNet2/subnets/redis");
    let refusals = [
        (format!("network private-endpoint create -g lb -n pe2 --vnet-name VNet1 --subnet endpoints --private-connection-resource-id {SUB}/resourceGroups/lb/providers/Microsoft.Cache/Redis/cache1 --group-ids redisCache --connection-name c"), 1, "VNet-injected"),
        (format!("redis create -n cache3 -g lb -l japanwest --sku Standard --vm-size c1 --subnet-id {subnet}"), 1, "Premium"),
        ("network lb rule create -g lb --lb-name basic -n ha --protocol All --frontend-port 0 --backend-port 0".into(), 1, "HA ports"),
        ("network lb rule create -g lb --lb-name ilb -n r2 --protocol Tcp --frontend-port 81 --backend-port 81 --backend-pool-name pool".into(), 1, "Multiple FrontendIpConfigurations found in loadbalancer. Specify --frontend-ip explicitly."),
        ("network lb rule create -g lb --lb-name ilb -n r2 --protocol Tcp --frontend-port 81 --backend-port 81 --frontend-ip-name fe".into(), 1, "Multiple BackendAddressPools found in loadbalancer. Specify --backend-pool-name explicitly."),
        ("network nic ip-config address-pool add -g lb --nic-name web1VMNic --lb-name basic --address-pool basicbepool".into(), 1, "(DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed)"),
        ("network lb create -g lb -n pub --public-ip-address pip".into(), 1, "internal load balancers only"),
        ("network lb create -g lb -n nosubnet".into(), 1, "internal load balancers only"),
        ("network lb create -g lb -n x --subnet frontend".into(), 2, "incorrect usage"),
        ("network lb probe create -g lb --lb-name ilb -n p --protocol Tcp --port 22 --path /".into(), 1, "(InvalidParameter)"),
        ("network lb rule create -g lb --lb-name ilb -n fl --protocol Tcp --frontend-port 82 --backend-port 82 --frontend-ip-name fe --backend-pool-name pool --floating-ip".into(), 1, "floating IP"),
        ("network lb rule create -g lb --lb-name ilb -n r3 --protocol Tcp --frontend-port 83 --backend-port 83 --enable-tcp-reset".into(), 2, "unrecognized arguments"),
        ("network nic ip-config address-pool add -g lb --nic-name clientVMNic --lb-name ilb --address-pool pool".into(), 1, "virtual network"),
        ("network nic ip-config address-pool add -g lb --nic-name web1VMNic --address-pool pool".into(), 2, "--lb-name"),
        ("network lb delete -g lb -n ilb".into(), 1, "address-pool remove"),
        ("redis create -n cache4 -g lb -l japaneast --sku Premium --vm-size c1".into(), 1, "ERROR: Invalid VM size. Example for Valid values: For Standard Sku : (C0, C1, C2, C3, C4, C5, C6), for Premium Sku : (P1, P2, P3, P4, P5)"),
        ("redis create -n cache4 -g lb -l japaneast --sku Basic --vm-size c9".into(), 2, "invalid choice"),
    ];
    for (line, want, needle) in &refusals {
        let (code, out, err) = sh(&mut b, line);
        assert_eq!((code, out.as_str()), (*want, ""), "`az {line}`: {err}");
        assert!(err.contains(needle), "`az {line}`: {err}");
        assert_eq!(b.model, before, "`az {line}` changed the model");
    }
}

#[test]
fn vm_create_and_a_topology_vm_make_the_same_side_resources() {
    let win = "MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2:latest";
    let mut b = MemoryBackend::new();
    for line in [
        "group create -n rg -l westeurope".to_string(),
        "network vnet create -g rg -n vnet1 --address-prefixes 10.0.0.0/16 --subnet-name apps --subnet-prefixes 10.0.0.0/24"
            .into(),
        "vm create -g rg -n lin --image Ubuntu2404 --vnet-name vnet1 --subnet apps --admin-username azureuser --admin-password 'Vnetlab-Recipe-2026!'".into(),
        "vm create -g rg -n win --image Win2022Datacenter --vnet-name vnet1 --subnet apps --admin-username azureuser --admin-password 'Vnetlab-Recipe-2026!'".into(),
    ] {
        ok(&mut b, &line);
    }
    let topo = crate::topology::Topology::parse(&format!(
        "resourceGroups: [{{name: rg, location: westeurope}}]
virtualNetworks:
  - {{name: vnet1, addressPrefixes: [10.0.0.0/16], subnets: [{{name: apps, addressPrefix: 10.0.0.0/24}}]}}
virtualMachines:
  - {{name: lin, vnet: vnet1, subnet: apps, image: Ubuntu2404, adminPassword: 'Vnetlab-Recipe-2026!'}}
  - {{name: win, vnet: vnet1, subnet: apps, image: '{win}', adminPassword: 'Vnetlab-Recipe-2026!'}}
"
    ))
    .expect("topology parses")
    .build()
    .expect("topology builds");
    assert_eq!(b.model.network_security_groups, topo.network_security_groups);
    assert_eq!(b.model.public_ip_addresses, topo.public_ip_addresses);
    assert_eq!(b.model.network_interfaces, topo.network_interfaces);
    let rules = |vm: &str| -> Vec<String> {
        let nsg = topo
            .network_security_groups
            .values()
            .find(|n| n.name == format!("{vm}NSG"))
            .expect("the VM's NSG");
        nsg.security_rules.iter().map(|r| r.name.clone()).collect()
    };
    assert_eq!(rules("lin"), ["default-allow-ssh"]);
    assert_eq!(rules("win"), ["rdp"]);
    let shown = json(&mut b, "vm show -g rg -n win");
    assert_eq!(shown["storageProfile"]["osDisk"]["osType"], "Windows");
}

#[test]
fn retired_image_aliases_build_the_vm_with_a_warning() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n learn-rg -l northeurope");
    // The Learn peering exercise, as published.
    let (code, _, err) = az(
        &mut b,
        &[
            "vm",
            "create",
            "-g",
            "learn-rg",
            "-n",
            "SalesVM",
            "--image",
            "UbuntuLTS",
            "--vnet-name",
            "SalesVNet",
            "--subnet",
            "Apps",
            "--admin-username",
            "azureuser",
            "--admin-password",
            "Learn-Peering-2026!",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let warning: Vec<&str> = err.lines().filter(|l| l.starts_with("WARNING: ")).collect();
    assert_eq!(
        warning,
        [
            "WARNING: The image alias 'UbuntuLTS' was retired: az 2.91 refuses it (Invalid image \"UbuntuLTS\"). \
             vnetlab creates the VM from 'Ubuntu2204' instead; write --image Ubuntu2204."
        ]
    );
    let vm = json(&mut b, "vm show -g learn-rg -n SalesVM");
    assert_eq!(
        vm["storageProfile"]["imageReference"]["offer"],
        "0001-com-ubuntu-server-jammy"
    );
    // A retired Windows alias gets az's RDP rule, as its replacement does.
    let (code, _, err) = az(
        &mut b,
        &[
            "vm",
            "create",
            "-g",
            "learn-rg",
            "-n",
            "OldWin",
            "--image",
            "win2008r2sp1",
            "--vnet-name",
            "SalesVNet",
            "--subnet",
            "Apps",
            "--admin-username",
            "azureuser",
            "--admin-password",
            "Learn-Peering-2026!",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("write --image Win2022Datacenter"), "{err}");
    let nsg = json(&mut b, "network nsg show -g learn-rg -n OldWinNSG");
    assert_eq!(nsg["securityRules"][0]["name"], "rdp");
    // A current alias warns about nothing.
    let (code, _, err) = az(
        &mut b,
        &[
            "vm",
            "create",
            "-g",
            "learn-rg",
            "-n",
            "NewVM",
            "--image",
            "Ubuntu2204",
            "--vnet-name",
            "SalesVNet",
            "--subnet",
            "Apps",
            "--admin-username",
            "azureuser",
            "--admin-password",
            "Learn-Peering-2026!",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn flow_logs_are_created_listed_updated_and_deleted_under_the_regions_watcher() {
    let mut b = learn_lab();
    let created = json(
        &mut b,
        "network watcher flow-log create -l northeurope -n SalesLog -g learn-rg --vnet SalesVNet --storage-account learnlogs --retention 7",
    );
    let id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_northeurope/flowLogs/SalesLog";
    assert_eq!(
        created["id"]
            .as_str()
            .map(|s| s.split_once("/resourceGroups").map(|p| p.1)),
        Some(id.split_once("/resourceGroups").map(|p| p.1))
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["retentionPolicy"]["days"], 7);
    assert!(
        created["targetResourceId"]
            .as_str()
            .is_some_and(|t| t.ends_with("/virtualNetworks/SalesVNet"))
    );
    assert!(
        created["storageId"]
            .as_str()
            .is_some_and(|s| s.ends_with("/Microsoft.Storage/storageAccounts/learnlogs"))
    );
    // Azure made NetworkWatcherRG on first use.
    json(&mut b, "group show -n NetworkWatcherRG");

    ok(
        &mut b,
        "network watcher flow-log create -l northeurope -n MarketingApps -g learn-rg --vnet MarketingVNet --subnet Apps --storage-account learnlogs --interval 10",
    );
    let list = json(&mut b, "network watcher flow-log list -l northeurope");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(
        json(&mut b, "network watcher flow-log list -l westeurope"),
        Value::Array(vec![])
    );
    let updated = json(
        &mut b,
        "network watcher flow-log update -l northeurope -n SalesLog --enabled false",
    );
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["retentionPolicy"]["days"], 7, "untouched settings stay");

    // Refusals in Azure's words, the model unchanged.
    let before = b.model.clone();
    for (line, words) in [
        (
            "network watcher flow-log create -l westeurope -n Wrong -g learn-rg --vnet SalesVNet --storage-account s",
            "(InvalidResourceLocation)",
        ),
        (
            "network watcher flow-log create -l northeurope -n Again -g learn-rg --vnet SalesVNet --storage-account s",
            "already targets",
        ),
        (
            "network watcher flow-log create -l northeurope -n Nope -g learn-rg --vnet NoSuchVNet --storage-account s",
            "(InvalidResourceReference)",
        ),
        (
            "network watcher flow-log create -l northeurope -n NoTarget --storage-account s",
            "at least one target",
        ),
        (
            "network watcher flow-log create -l northeurope -n Nsg -g learn-rg --nsg SalesVMNSG --storage-account s",
            "NSG flow logs can no longer be created",
        ),
        (
            "network watcher flow-log update -l northeurope -n SalesLog --interval 5",
            "10 and 60",
        ),
    ] {
        let (code, _, err) = sh(&mut b, line);
        assert_ne!(code, 0, "{line}");
        assert!(err.replace("atleast", "at least").contains(words), "{line}: {err}");
        assert_eq!(b.model, before, "{line}");
    }

    ok(&mut b, "network watcher flow-log delete -l northeurope -n SalesLog");
    let (code, _, err) = sh(&mut b, "network watcher flow-log show -l northeurope -n SalesLog");
    assert_eq!(code, 3, "{err}");
    assert_eq!(b.model.flow_logs.len(), 1);
}

/// An update's `--tags` replaces the tags (az's aaz updates send the whole
/// map); an update without it keeps them; a bad tag changes nothing.
#[test]
fn update_tags_replace_and_their_absence_keeps() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l westeurope");
    ok(
        &mut b,
        "network vnet create -g rg -n v1 --address-prefixes 10.0.0.0/16 --subnet-name s --subnet-prefixes 10.0.0.0/24 --tags a=1",
    );
    let v = json(&mut b, "network vnet update -g rg -n v1 --tags b=2");
    assert_eq!(v["tags"], serde_json::json!({ "b": "2" }));
    let v = json(&mut b, "network vnet update -g rg -n v1 --dns-servers 10.0.0.53");
    assert_eq!(v["tags"], serde_json::json!({ "b": "2" }), "no --tags keeps them");
    ok(&mut b, "network route-table create -g rg -n rt");
    let t = json(&mut b, "network route-table update -g rg -n rt --tags env=lab");
    assert_eq!(t["tags"], serde_json::json!({ "env": "lab" }));
    ok(
        &mut b,
        "network local-gateway create -g rg -n site --gateway-ip-address 203.0.113.9 --local-address-prefixes 192.168.0.0/24 --tags k=v",
    );
    assert_eq!(
        json(&mut b, "network local-gateway show -g rg -n site")["tags"],
        serde_json::json!({ "k": "v" })
    );
    ok(
        &mut b,
        "network vnet subnet create -g rg --vnet-name v1 -n GatewaySubnet --address-prefixes 10.0.255.0/27",
    );
    ok(&mut b, "network public-ip create -g rg -n gw-ip");
    ok(
        &mut b,
        "network vnet-gateway create -g rg -n gw --vnet v1 --public-ip-addresses gw-ip --gateway-type Vpn --sku VpnGw1 --tags role=hub",
    );
    assert_eq!(
        json(&mut b, "network vnet-gateway show -g rg -n gw")["tags"],
        serde_json::json!({ "role": "hub" })
    );
    ok(
        &mut b,
        "network vpn-connection create -g rg -n to-site --vnet-gateway1 gw --local-gateway2 site --shared-key k --tags x=y",
    );
    assert_eq!(
        json(&mut b, "network vpn-connection show -g rg -n to-site")["tags"],
        serde_json::json!({ "x": "y" })
    );
    let l = json(&mut b, "network local-gateway update -g rg -n site --tags ''");
    assert!(l.get("tags").is_none_or(Value::is_null), "--tags '' clears: {l}");
    let before = b.model.clone();
    let (code, _, err) = sh(&mut b, "network vnet update -g rg -n v1 --tags cost%=1");
    assert_eq!(code, 1);
    assert!(err.contains("(InvalidTagNameCharacters)"), "{err}");
    assert_eq!(b.model, before);
}

/// `--tags` as az parses it (`k=v`, a bare `k` is an empty value, `""`
/// clears), on the creates that take it, shown by `show` and `list`.
#[test]
fn tags_are_parsed_as_az_does_and_shown_on_every_resource() {
    let mut b = MemoryBackend::new();
    let g = json(&mut b, "group create -n rg -l westeurope --tags env=lab owner");
    assert_eq!(g["tags"], serde_json::json!({ "env": "lab", "owner": "" }));
    let v = json(
        &mut b,
        "network vnet create -g rg -n vnet1 --address-prefixes 10.0.0.0/16 --subnet-name s --subnet-prefixes 10.0.0.0/24 --tags a=b=c",
    );
    assert_eq!(v["newVNet"]["tags"], serde_json::json!({ "a": "b=c" }));
    // Subnets have no tags in ARM.
    assert!(v["newVNet"]["subnets"][0].get("tags").is_none());
    ok(&mut b, "network nsg create -g rg -n nsg1 --tags tier=web");
    let n = json(&mut b, "network nsg show -g rg -n nsg1");
    assert_eq!(n["tags"], serde_json::json!({ "tier": "web" }));
    ok(&mut b, "network route-table create -g rg -n rt --tags k=v");
    ok(&mut b, "network public-ip create -g rg -n ip1 --tags k=v");
    let vm = json(
        &mut b,
        "vm create -g rg -n vm1 --image Ubuntu2404 --vnet-name vnet1 --subnet s --admin-username azureuser --admin-password Pa55word-Pa55word --tags app=x",
    );
    assert!(vm.get("id").is_some(), "{vm}");
    let vm = json(&mut b, "vm show -g rg -n vm1");
    assert_eq!(vm["tags"], serde_json::json!({ "app": "x" }));
    let nic = json(&mut b, "network nic show -g rg -n vm1VMNic");
    assert_eq!(nic["tags"], serde_json::json!({ "app": "x" }));
    let list = json(&mut b, "network route-table list -g rg");
    assert_eq!(list[0]["tags"], serde_json::json!({ "k": "v" }));
    // A create without --tags replaces them with none, as ARM's PUT does; `--tags ""` too.
    ok(&mut b, "network nsg create -g rg -n nsg1");
    assert!(json(&mut b, "network nsg show -g rg -n nsg1").get("tags").is_none());
    ok(&mut b, "group create -n rg -l westeurope --tags ''");
    assert_eq!(json(&mut b, "group show -n rg")["tags"], Value::Null);
    // A bad tag: ARM's code, exit 1, nothing changed.
    let before = b.model.clone();
    let (code, _, err) = sh(&mut b, "network route-table create -g rg -n rt --tags cost%=1");
    assert_eq!(code, 1);
    assert!(err.contains("(InvalidTagNameCharacters)"), "{err}");
    assert_eq!(b.model, before);
}

/// `--tags` on redis, private-endpoint and aks create, as on every create.
#[test]
fn caches_endpoints_and_clusters_take_tags_on_create() {
    let mut b = balancer_lab();
    let c = json(
        &mut b,
        "redis create -n cache4 -g lb -l japaneast --sku Basic --vm-size C0 --tags tier=cache",
    );
    assert_eq!(c["tags"], serde_json::json!({ "tier": "cache" }), "{c}");
    ok(
        &mut b,
        &format!(
            "network private-endpoint create -g lb -n pe4 --vnet-name VNet1 --subnet endpoints --private-connection-resource-id {SUB}/resourceGroups/lb/providers/Microsoft.Cache/Redis/cache4 --group-id redisCache --connection-name c4 --tags k=v"
        ),
    );
    let pe = json(&mut b, "network private-endpoint show -g lb -n pe4");
    assert_eq!(pe["tags"], serde_json::json!({ "k": "v" }), "{pe}");
    ok(
        &mut b,
        "network vnet subnet create -g lb --vnet-name VNet2 -n aks --address-prefixes 10.2.8.0/24",
    );
    ok(
        &mut b,
        &format!(
            "aks create -g lb -n k1 -l japanwest --network-plugin azure --network-plugin-mode overlay --pod-cidr 10.40.0.0/13 --vnet-subnet-id {SUB}/resourceGroups/lb/providers/Microsoft.Network/virtualNetworks/VNet2/subnets/aks --node-count 1 --generate-ssh-keys --tags env=lab"
        ),
    );
    let k = json(&mut b, "aks show -g lb -n k1");
    assert_eq!(k["tags"], serde_json::json!({ "env": "lab" }), "{k}");
}

/// `az tag` at a scope: create replaces the set, update merges, replaces
/// or deletes, list shows it, delete clears it; refusals change nothing.
#[test]
fn tag_commands_at_a_scope() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l westeurope");
    ok(&mut b, "network nsg create -g rg -n nsg1");
    let nsg = json(&mut b, "network nsg show -g rg -n nsg1");
    let id = nsg["id"].as_str().expect("id").to_string();
    let t = json(&mut b, &format!("tag create --resource-id {id} --tags a=1 b=2"));
    assert_eq!(t["properties"]["tags"], serde_json::json!({ "a": "1", "b": "2" }));
    assert_eq!(t["id"], format!("{id}/providers/Microsoft.Resources/tags/default"));
    let t = json(
        &mut b,
        &format!("tag update --resource-id {id} --operation merge --tags b=3 c"),
    );
    assert_eq!(
        t["properties"]["tags"],
        serde_json::json!({ "a": "1", "b": "3", "c": "" })
    );
    let t = json(
        &mut b,
        &format!("tag update --resource-id {id} --operation Delete --tags a b=9"),
    );
    assert_eq!(
        t["properties"]["tags"],
        serde_json::json!({ "b": "3", "c": "" }),
        "b=9 does not match"
    );
    assert_eq!(
        json(&mut b, "network nsg show -g rg -n nsg1")["tags"],
        serde_json::json!({ "b": "3", "c": "" })
    );
    let t = json(&mut b, &format!("tag list --resource-id {id}"));
    assert_eq!(t["properties"]["tags"], serde_json::json!({ "b": "3", "c": "" }));
    let group = json(&mut b, "group show -n rg")["id"].as_str().expect("id").to_string();
    ok(&mut b, &format!("tag create --resource-id {group} --tags env=lab"));
    assert_eq!(
        json(&mut b, "group show -n rg")["tags"],
        serde_json::json!({ "env": "lab" })
    );

    let before = b.model.clone();
    let (code, _, err) = sh(&mut b, &format!("tag create --resource-id {id}"));
    assert_eq!((code, err.trim()), (1, "ERROR: Tags could not be empty."));
    let (code, _, err) = sh(
        &mut b,
        &format!("tag update --resource-id {id} --operation Append --tags a"),
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = sh(&mut b, &format!("tag create --resource-id {id}x --tags a=1"));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("(ResourceNotFound)"), "{err}");
    let (code, _, err) = sh(
        &mut b,
        &format!("tag update --resource-id {id} --operation Merge --tags a/b=1"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("(InvalidTagNameCharacters)"), "{err}");
    assert_eq!(b.model, before);

    ok(&mut b, &format!("tag delete --resource-id {id} --yes"));
    assert!(json(&mut b, "network nsg show -g rg -n nsg1").get("tags").is_none());
}

/// `az tag` in the subscription: predefined names and values, listed with
/// how many resources carry them.
#[test]
fn tag_names_in_the_subscription() {
    let mut b = MemoryBackend::new();
    let t = json(&mut b, "tag create --name Dept");
    assert_eq!(t["tagName"], "Dept");
    assert_eq!(t["count"], serde_json::json!({ "type": "Total", "value": 0 }));
    let v = json(&mut b, "tag add-value --name Dept --value Finance");
    assert_eq!(v["tagValue"], "Finance");
    ok(&mut b, "group create -n rg -l westeurope --tags Dept=IT");
    let l = json(&mut b, "tag list");
    assert_eq!(l[0]["count"]["value"], 1, "{l}");
    let values: Vec<&str> = l[0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(|v| v["tagValue"].as_str())
        .collect();
    assert_eq!(values, ["Finance", "IT"]);
    let (code, _, err) = sh(&mut b, "tag delete --name Dept --yes");
    assert_eq!(code, 1, "in use: {err}");
    ok(&mut b, "tag remove-value --name Dept --value Finance");
    let group = json(&mut b, "group show -n rg")["id"].as_str().expect("id").to_string();
    ok(&mut b, &format!("tag delete --resource-id {group} --yes"));
    ok(&mut b, "tag delete --name Dept --yes");
    assert_eq!(json(&mut b, "tag list"), serde_json::json!([]));
}

/// `nsg update --tags` and `public-ip update`: tags, the Basic to Standard
/// upgrade; what the model keeps fixed is refused with what to do.
#[test]
fn nsg_and_public_ip_updates() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l westeurope");
    ok(&mut b, "network nsg create -g rg -n nsg1 --tags a=1");
    let n = json(&mut b, "network nsg update -g rg -n nsg1 --tags b=2");
    assert_eq!(n["tags"], serde_json::json!({ "b": "2" }));
    assert_eq!(n["name"], "nsg1", "the NSG itself, not NewNSG: {n}");
    let (code, _, _) = sh(&mut b, "network nsg update -g rg -n nope --tags b=2");
    assert_eq!(code, 3);

    ok(
        &mut b,
        "network public-ip create -g rg -n ip1 --sku Basic --allocation-method Static",
    );
    let ip = b.model.public_ip_addresses.values().next().expect("ip").ip_address;
    let p = json(
        &mut b,
        "network public-ip update -g rg -n ip1 --sku Standard --tags env=lab",
    );
    assert_eq!(p["sku"]["name"], "Standard");
    assert_eq!(p["tags"], serde_json::json!({ "env": "lab" }));
    assert_eq!(p["ipAddress"], ip.to_string(), "the address stays");
    let before = b.model.clone();
    for (line, code) in [
        ("network public-ip update -g rg -n ip1 --sku Basic", 1),
        ("network public-ip update -g rg -n ip1 --allocation-method Dynamic", 1),
        ("network public-ip update -g rg -n ip1 --idle-timeout 10", 1),
        ("network public-ip update -g rg -n ip1 --dns-name web", 1),
        ("network public-ip update -g rg -n ip1 --version IPv6", 1),
        ("network public-ip update -g rg -n nope --tags a=1", 3),
    ] {
        let (got, _, err) = sh(&mut b, line);
        assert_eq!(got, code, "{line}: {err}");
    }
    assert_eq!(b.model, before);
    ok(
        &mut b,
        "network public-ip update -g rg -n ip1 --idle-timeout 4 --allocation-method Static",
    );
}
