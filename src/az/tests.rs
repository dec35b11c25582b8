//! The az front on a lab in memory: the Learn exercise's script, az's
//! defaults and side effects, table goldens, usage errors, refusals.

use serde_json::Value;

use super::testing::{json, ok, sh};
use super::{MemoryBackend, leaves};
use crate::dataplane::explain::round_trip;
use crate::dataplane::{Ingress, Tables};
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
        .map(|l| l.trim_start_matches("az ").replace("\"$RG\"", "learn-rg").replace("\"$PASSWORD\"", "'Learn-Peering-2026!'").replace('"', "'"))
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
    let topo = crate::topology::Topology::parse(include_str!("../../labs/01-peering-basics/topology.yaml")).expect("topology parses").build().expect("topology builds");
    let (ta, tb) = (Tables::compile(&b.model, 1), Tables::compile(&topo, 1));
    let now = std::time::Instant::now();
    let vms = ["SalesVM", "MarketingVM", "ResearchVM"];
    for from in vms {
        let (na, nb) = (ta.nic_of_vm(from).expect("az made the VM"), tb.nic_of_vm(from).expect("topology VM"));
        assert_eq!(ta.nics[na as usize].ip, tb.nics[nb as usize].ip, "{from}'s private IP");
        for to in vms.iter().filter(|t| **t != from) {
            let ip = ta.nics[ta.nic_of_vm(to).expect("vm") as usize].ip;
            for (proto, port) in [("icmp", 0), ("tcp", 22)] {
                let a = round_trip(&ta, Ingress::Nic(na), ip, proto, port, now).0;
                let t = round_trip(&tb, Ingress::Nic(nb), ip, proto, port, now).0;
                assert_eq!(a, t, "{from} -> {to} {proto}: az lab and topology disagree");
            }
        }
    }
    let sales = ta.nic_of_vm("SalesVM").expect("vm");
    let research_ip = ta.nics[ta.nic_of_vm("ResearchVM").expect("vm") as usize].ip;
    assert!(!round_trip(&ta, Ingress::Nic(sales), research_ip, "tcp", 22, now).0, "peering must not be transitive");
}

#[test]
fn the_exercise_tables_print_in_az_columns() {
    let mut b = learn_lab();
    let peerings = ok(&mut b, "network vnet peering list -g learn-rg --vnet-name SalesVNet --query [].{Name:name,Resource:resourceGroup,PeeringState:peeringState,AllowVnetAccess:allowVirtualNetworkAccess} -o table");
    assert_eq!(
        peerings,
        "Name                        Resource    PeeringState    AllowVnetAccess\n\
         --------------------------  ----------  --------------  -----------------\n\
         SalesVNet-To-MarketingVNet  learn-rg    Connected       True\n"
    );
    let routes = ok(&mut b, "network nic show-effective-route-table -g learn-rg -n SalesVMVMNic -o table");
    let lines: Vec<&str> = routes.lines().collect();
    assert_eq!(lines[0], "Source    State    Address Prefix    Next Hop Type    Next Hop IP");
    assert_eq!(lines[1], "--------  -------  ----------------  ---------------  -------------");
    assert_eq!(lines[2], "Default   Active   10.1.0.0/16       VnetLocal");
    assert_eq!(lines[3], "Default   Active   10.2.0.0/16       VNetPeering");
    assert!(!routes.contains("10.3.0.0/16"), "Sales has no route to Research:\n{routes}");
    let marketing = ok(&mut b, "network nic show-effective-route-table -g learn-rg -n MarketingVMVMNic -o table");
    assert!(marketing.lines().any(|l| l.starts_with("Default   Active   10.3.0.0/16       VNetGlobalPeering")), "{marketing}");
    let vms = ok(&mut b, "vm list -g learn-rg --query [*].{Name:name,PrivateIP:privateIps,PublicIP:publicIps} -d -o table");
    let lines: Vec<&str> = vms.lines().collect();
    assert_eq!(lines[0], "Name         PrivateIP    PublicIP");
    assert!(lines.contains(&"SalesVM      10.1.1.4     203.0.113.1"), "{vms}");
}

#[test]
fn vnet_list_table_has_the_transformer_columns() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg1 -l eastus");
    ok(&mut b, "network vnet create -g rg1 -n vnet-hub --address-prefixes 10.0.0.0/16 10.1.0.0/16 --subnet-name a --subnet-prefixes 10.0.0.0/24");
    ok(&mut b, "network vnet subnet create -g rg1 --vnet-name vnet-hub -n b --address-prefixes 10.1.0.0/24");
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
    let t = ok(&mut b, "network vnet peering list -g learn-rg --vnet-name MarketingVNet -o table");
    let header: Vec<&str> = t.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["AllowForwardedTraffic", "AllowGatewayTransit", "AllowVirtualNetworkAccess", "DoNotVerifyRemoteGateways", "Name", "PeerCompleteVnets", "PeeringState", "PeeringSyncLevel", "ProvisioningState", "ResourceGroup", "ResourceGuid", "UseRemoteGateways"]);
    assert_eq!(t.lines().count(), 4);
}

#[test]
fn vm_create_makes_what_az_makes() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l westus2");
    let out = json(&mut b, "vm create -g rg -n web --image Ubuntu2404 --admin-username azureuser --admin-password Pa55word-Pa55word");
    assert_eq!(out["privateIpAddress"], "10.0.0.4");
    assert_eq!(out["powerState"], "VM running");
    assert_eq!(out["resourceGroup"], "rg");
    let nic = json(&mut b, "network nic show -g rg -n webVMNic");
    assert_eq!(nic["networkSecurityGroup"]["id"].as_str().map(|s| s.ends_with("/networkSecurityGroups/webNSG")), Some(true));
    assert_eq!(nic["ipConfigurations"][0]["subnet"]["id"].as_str().map(|s| s.ends_with("/virtualNetworks/webVNET/subnets/webSubnet")), Some(true));
    let rule = json(&mut b, "network nsg rule show -g rg --nsg-name webNSG -n default-allow-ssh");
    assert_eq!((rule["priority"].as_u64(), rule["destinationPortRange"].as_str(), rule["protocol"].as_str()), (Some(1000), Some("22"), Some("Tcp")));
    let vm = json(&mut b, "vm show -g rg -n web");
    assert_eq!(vm["hardwareProfile"]["vmSize"], "Standard_D2s_v5");
    assert_eq!(vm["storageProfile"]["imageReference"]["offer"], "ubuntu-24_04-lts");
    json(&mut b, "network public-ip show -g rg -n webPublicIP");
    // A second VM reuses the VNet az finds in the group and location.
    let second = json(&mut b, "vm create -g rg -n api --image Ubuntu2404 --admin-username azureuser --admin-password Pa55word-Pa55word --public-ip-address '' --nsg ''");
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
    let r = json(&mut b, "network nsg rule create -g rg --nsg-name nsg1 -n r1 --priority 200");
    assert_eq!(r["destinationPortRange"], "80");
    assert_eq!((r["direction"].as_str(), r["access"].as_str(), r["protocol"].as_str()), (Some("Inbound"), Some("Allow"), Some("*")));
    ok(&mut b, "network vnet create -g rg -n va --address-prefixes 10.1.0.0/16");
    ok(&mut b, "network vnet create -g rg -n vb --address-prefixes 10.2.0.0/16");
    let p = json(&mut b, "network vnet peering create -g rg --vnet-name va -n a-b --remote-vnet vb");
    assert_eq!(p["allowVirtualNetworkAccess"], false);
    assert_eq!(p["peeringState"], "Initiated");
    let q = json(&mut b, "network vnet peering create -g rg --vnet-name vb -n b-a --remote-vnet va --allow-vnet-access true");
    assert_eq!(q["allowVirtualNetworkAccess"], true);
    assert_eq!(json(&mut b, "network vnet peering show -g rg --vnet-name va -n a-b")["peeringState"], "Connected");
    let v = json(&mut b, "network vnet create -g rg -n vc --subnet-name s");
    assert_eq!(v["newVNet"]["addressSpace"]["addressPrefixes"][0], "10.0.0.0/16");
    assert_eq!(v["newVNet"]["subnets"][0]["addressPrefix"], "10.0.0.0/24");
    // An unambiguous prefix of a long option is accepted, as argparse does.
    ok(&mut b, "network vnet subnet create -g rg --vnet-name vc -n t --address-prefix 10.0.1.0/24");
    let u = json(&mut b, "network vnet peering update -g rg --vnet-name va -n a-b --set allowForwardedTraffic=true");
    assert_eq!(u["allowForwardedTraffic"], true);
}

#[test]
fn a_refused_command_changes_nothing_and_says_why_in_azure_words() {
    let mut b = learn_lab();
    let before = b.model.clone();
    ok(&mut b, "network vnet create -g learn-rg -n Overlap --address-prefixes 10.1.0.0/16");
    let before_overlap = b.model.clone();
    let (code, out, err) = sh(&mut b, "network vnet peering create -g learn-rg --vnet-name Overlap -n o-s --remote-vnet SalesVNet --allow-vnet-access");
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("ERROR: (VnetAddressSpacesOverlap) "), "{err}");
    assert!(err.contains("\nCode: VnetAddressSpacesOverlap\nMessage: "), "{err}");
    assert_eq!(b.model, before_overlap);
    // A VM whose password Azure refuses leaves no VNet, NIC, NSG or public IP behind.
    let (code, _, err) = sh(&mut b, "vm create -g learn-rg -n Weak --image Ubuntu2204 --admin-username azureuser --admin-password short");
    assert_eq!(code, 1, "{err}");
    assert_eq!(b.model, before_overlap);
    let _ = before;
    let (code, _, err) = sh(&mut b, "network vnet show -g learn-rg -n Nope");
    assert_eq!(code, 3);
    assert!(err.contains("(ResourceNotFound) The Resource 'Microsoft.Network/virtualNetworks/Nope' under resource group 'learn-rg' was not found."), "{err}");
    let (code, _, err) = sh(&mut b, "network vnet create -g nope -n x");
    assert_eq!((code, err.lines().next()), (3, Some("ERROR: (ResourceGroupNotFound) Resource group 'nope' could not be found.")));
}

#[test]
fn usage_errors_exit_2_in_az_words() {
    let mut b = MemoryBackend::new();
    let (code, _, err) = sh(&mut b, "network vnet peering create -g rg --vnet-name a -n x --remote-vnet b --allow-vnet-acess");
    assert_eq!(code, 2);
    assert!(err.starts_with("ERROR: unrecognized arguments: --allow-vnet-acess"), "{err}");
    let (code, _, err) = sh(&mut b, "network vnett list");
    assert_eq!(code, 2);
    assert!(err.starts_with("ERROR: 'vnett' is misspelled or not recognized by the system."), "{err}");
    let (code, _, err) = sh(&mut b, "network vnet create --name x");
    assert_eq!((code, err.trim_end()), (2, "ERROR: the following arguments are required: --resource-group/-g"));
    let (code, _, err) = sh(&mut b, "network nsg rule create -g rg --nsg-name n -n r --priority 100 --direction Sideways");
    assert_eq!(code, 2);
    assert!(err.contains("argument --direction: invalid choice: 'Sideways'"), "{err}");
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
        let required: Vec<String> = leaf.args.iter().filter(|a| a.is_required_set()).flat_map(|a| [format!("--{}", a.get_long().unwrap_or_default()), sample(a)]).collect();
        for arg in leaf.args.iter().filter(|a| !a.is_required_set()) {
            let Some(long) = arg.get_long() else { continue };
            let mut argv = base.clone();
            argv.extend(required.iter().cloned());
            argv.push(format!("--{long}"));
            if arg.get_num_args().is_none_or(|n| n.takes_values()) && !matches!(arg.get_action(), clap::ArgAction::SetTrue) {
                argv.push(sample(arg));
            }
            let r = tree.clone().try_get_matches_from(&argv);
            assert!(r.is_ok(), "`az {}` was refused: {:?}", argv.join(" "), r.err().map(|e| e.to_string()));
        }
        let mut argv = base.clone();
        argv.extend(required.iter().cloned());
        argv.push("--no-such-flag".into());
        let e = tree.clone().try_get_matches_from(&argv).expect_err("a misspelt flag must be refused");
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
        _ if arg.get_num_args().is_some_and(|n| n.min_values() == 0 && n.max_values() == 1) => "true".into(),
        _ => "value".into(),
    }
}

#[test]
fn output_formats_and_queries() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rg -l eastus");
    assert_eq!(ok(&mut b, "group show -n rg -o none"), "");
    assert_eq!(ok(&mut b, "group show -n rg -o tsv"), "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg\teastus\tNone\trg\t\trg\tNone\tMicrosoft.Resources/resourceGroups\n");
    assert_eq!(ok(&mut b, "group show -n rg --query name -o tsv"), "rg\n");
    // An option given twice counts once, the last time, as with argparse.
    assert_eq!(ok(&mut b, "group show -n nope -n rg --query name -o tsv"), "rg\n");
    let y = ok(&mut b, "group show -n rg -o yaml");
    assert!(y.starts_with("id: /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg\nlocation: eastus\nmanagedBy: null\nname: rg\nproperties:\n  provisioningState: Succeeded\n"), "{y}");
    assert_eq!(ok(&mut b, "group list -o table"), "Name    Location    Status\n------  ----------  ---------\nrg      eastus      Succeeded\n");
    let j = ok(&mut b, "group show -n rg");
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&j).expect("json").keys().cloned().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "az prints JSON keys sorted");
    assert!(ok(&mut b, "group show -n rg -o jsonc").contains('\u{1b}'));
}

#[test]
fn accounts_subscriptions_and_roles() {
    let mut b = MemoryBackend::new();
    let other = Subscription { id: "11111111-1111-4111-8111-111111111111".into(), name: "research".into(), tenant_id: "22222222-2222-4222-8222-222222222222".into() };
    b.model.apply(Change::PutSubscription(other.clone())).expect("subscription");
    b.model
        .apply(Change::PutPrincipal(Principal { name: "alice@contoso.com".into(), object_id: "aaaaaaaa-0000-4000-8000-000000000001".into(), tenant_id: other.tenant_id.clone(), principal_type: PrincipalType::User }))
        .expect("principal");
    let all = json(&mut b, "account list");
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    assert_eq!(json(&mut b, "account show")["isDefault"], true);
    ok(&mut b, "account set --subscription research");
    assert_eq!(json(&mut b, "account show")["id"], other.id.as_str());
    ok(&mut b, "group create -n rg -l eastus");
    assert!(json(&mut b, "group show -n rg")["id"].as_str().is_some_and(|id| id.contains(&other.id)));
    let scope = format!("/subscriptions/{}/resourceGroups/rg", other.id);
    let a = json(&mut b, &format!("role assignment create --assignee alice@contoso.com --role 'Network Contributor' --scope {scope}"));
    assert_eq!(a["roleDefinitionName"], "Network Contributor");
    assert!(a["roleDefinitionId"].as_str().is_some_and(|r| r.ends_with("4d97b98b-1d4f-4787-a291-c67834d212e7")));
    let table = ok(&mut b, "role assignment list --all -o table");
    assert!(table.contains("alice@contoso.com  Network Contributor"), "{table}");
    // alice sees only the subscription where she holds a role.
    let logged = json(&mut b, "login -u alice@contoso.com -p anything");
    assert_eq!(logged.as_array().map(Vec::len), Some(1));
    assert_eq!(json(&mut b, "account show")["user"]["name"], "alice@contoso.com");
    let (code, _, err) = sh(&mut b, "login -u mallory@contoso.com -p x");
    assert_eq!(code, 1);
    assert!(err.contains("AADSTS50034"), "{err}");
    ok(&mut b, &format!("role assignment delete --assignee alice@contoso.com --role 'Network Contributor' --scope {scope}"));
    assert!(b.model.role_assignments.is_empty());
}

#[test]
fn watcher_answers_with_the_verdict_function() {
    let mut b = learn_lab();
    let hop = json(&mut b, "network watcher show-next-hop -g learn-rg --vm SalesVM --source-ip 10.1.1.4 --dest-ip 10.2.1.4");
    assert_eq!((hop["nextHopType"].as_str(), hop["routeTableId"].as_str()), (Some("VnetPeering"), Some("System Route")));
    let none = json(&mut b, "network watcher show-next-hop -g learn-rg --vm SalesVM --source-ip 10.1.1.4 --dest-ip 10.3.1.4");
    assert_eq!(none["nextHopType"], "None");
    let flow = json(&mut b, "network watcher test-ip-flow -g learn-rg --vm SalesVM --direction Inbound --protocol TCP --local 10.1.1.4:80 --remote 198.51.100.9:5000");
    assert_eq!((flow["access"].as_str(), flow["ruleName"].as_str()), (Some("Deny"), Some("defaultSecurityRules/DenyAllInBound")));
    let c = json(&mut b, "network watcher test-connectivity -g learn-rg --source-resource SalesVM --dest-resource ResearchVM --dest-port 22");
    assert_eq!(c["connectionStatus"], "Unreachable");
    let c = json(&mut b, "network watcher test-connectivity -g learn-rg --source-resource SalesVM --dest-resource MarketingVM --dest-port 22");
    assert_eq!(c["connectionStatus"], "Reachable");
    let nsg = ok(&mut b, "network nic list-effective-nsg -g learn-rg -n SalesVMVMNic -o table");
    assert!(nsg.lines().next().is_some_and(|h| h.split("  ").filter(|c| !c.is_empty()).map(str::trim).collect::<Vec<_>>() == ["NIC", "Subnet", "NSG", "Rule Name", "Protocol", "Direction", "Access"]), "{nsg}");
    assert!(nsg.contains("securityRules/default-allow-ssh"), "{nsg}");
}

#[test]
fn a_stopped_vm_has_no_effective_routes_and_runs_no_commands() {
    let mut b = learn_lab();
    ok(&mut b, "vm stop -g learn-rg -n SalesVM");
    assert_eq!(json(&mut b, "vm show -g learn-rg -n SalesVM -d")["powerState"], "VM stopped");
    let (code, _, _) = sh(&mut b, "network nic show-effective-route-table -g learn-rg -n SalesVMVMNic");
    assert_eq!(code, 1);
    let (code, _, err) = sh(&mut b, "vm run-command invoke -g learn-rg -n SalesVM --command-id RunShellScript --scripts hostname");
    assert_eq!(code, 1);
    assert!(err.contains("(Conflict)"), "{err}");
    ok(&mut b, "vm start -g learn-rg -n SalesVM");
    let (code, _, err) = sh(&mut b, "vm delete -g learn-rg -n SalesVM");
    assert_eq!((code, err.trim_end()), (1, "ERROR: Unable to prompt for confirmation as no tty available. Use --yes."));
    ok(&mut b, "vm delete -g learn-rg -n SalesVM --yes");
}

// ---------------------------------------------------------------- gateways and Route Server

/// A hub (GatewaySubnet, VPN gateway of `sku`, a site-to-site connection
/// to 192.168.0.0/16 on premises, an NVA) and a spoke that uses the hub's
/// gateway, built with the commands a hub-and-spoke lab script uses.
fn hub_and_spoke(sku: &str) -> MemoryBackend {
    let mut b = MemoryBackend::new();
    let sku = if sku.is_empty() { String::new() } else { format!("--sku {sku}") };
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
    let rt = json(&mut b, "network route-table show -g hs -n spoke-rt")["id"].as_str().map(str::to_string).unwrap_or_default();
    ok(&mut b, &format!("network vnet subnet create -g hs --vnet-name spoke -n data --address-prefixes 10.1.2.0/24 --route-table {rt}"));
    let subnet = json(&mut b, "network vnet subnet show -g hs --vnet-name spoke -n workload")["id"].as_str().map(str::to_string).unwrap_or_default();
    ok(&mut b, &format!("vm create -g hs -n app --image Ubuntu2404 --subnet {subnet} --vnet-name spoke --private-ip-address 10.1.1.10 --public-ip-address '' --admin-username azureuser --admin-password Pa55word-Pa55word"));
    b
}

#[test]
fn a_spoke_learns_the_on_premises_prefix_from_the_hub_gateway() {
    let mut b = hub_and_spoke("VpnGw1");
    let gw = json(&mut b, "network vnet-gateway show -g hs -n hub-gw");
    assert_eq!((gw["sku"]["name"].as_str(), gw["vpnType"].as_str(), gw["activeActive"].as_bool()), (Some("VpnGw1"), Some("RouteBased"), Some(false)));
    assert!(gw["ipConfigurations"][0]["publicIPAddress"]["id"].as_str().is_some_and(|id| id.ends_with("/publicIPAddresses/hub-gw-pip")), "{gw}");
    assert_eq!(gw["bgpSettings"]["asn"], 65515);
    let pip = json(&mut b, "network public-ip show -g hs -n hub-gw-pip");
    assert!(pip["ipConfiguration"]["id"].as_str().is_some_and(|id| id.ends_with("/virtualNetworkGateways/hub-gw/ipConfigurations/vnetGatewayConfig0")), "{pip}");
    let conn = json(&mut b, "network vpn-connection show -g hs -n hub-to-onprem");
    assert_eq!((conn["connectionStatus"].as_str(), conn["connectionType"].as_str()), (Some("Connected"), Some("IPsec")));

    let routes = ok(&mut b, "network nic show-effective-route-table -g hs -n appVMNic -o table");
    assert!(routes.lines().any(|l| l == "VirtualNetworkGateway  Active   192.168.0.0/16    VirtualNetworkGateway  10.0.255.4"), "{routes}");
    assert!(routes.lines().any(|l| l.starts_with("User                   Active   10.2.0.0/16       VirtualAppliance       10.0.1.4")), "{routes}");
    assert!(routes.lines().any(|l| l.starts_with("User                   Active   10.3.0.0/16       VirtualNetworkGateway")), "{routes}");
    let doc = json(&mut b, "network nic show-effective-route-table -g hs -n appVMNic");
    let onprem = doc["value"].as_array().into_iter().flatten().find(|r| r["addressPrefix"][0] == "192.168.0.0/16").cloned().unwrap_or_default();
    assert_eq!((onprem["source"].as_str(), onprem["nextHopType"].as_str()), (Some("VirtualNetworkGateway"), Some("VirtualNetworkGateway")), "{doc}");

    let learned = ok(&mut b, "network vnet-gateway list-learned-routes -g hs -n hub-gw -o table");
    assert!(learned.starts_with("Network         NextHop    Origin    SourcePeer    AsPath    Weight\n"), "{learned}");
    assert!(learned.contains("192.168.0.0/16             Network   10.0.255.4              32768"), "{learned}");
    assert!(learned.contains("10.1.0.0/16"), "the transit spoke is the gateway's too:\n{learned}");
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
    assert_eq!(json(&mut b, "network vnet-gateway show -g hs -n hub-gw")["sku"]["name"], "Basic");
    let routes = ok(&mut b, "network nic show-effective-route-table -g hs -n appVMNic -o table");
    assert!(!routes.lines().any(|l| l.starts_with("VirtualNetworkGateway")), "{routes}");
    // The hub's own VMs still reach on premises through it.
    let hub = ok(&mut b, "network nic show-effective-route-table -g hs -n nvaVMNic -o table");
    assert!(hub.contains("VirtualNetworkGateway  Active   192.168.0.0/16"), "{hub}");
}

#[test]
fn gateway_commands_print_what_az_prints() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n g -l eastus");
    ok(&mut b, "network vnet create -g g -n v1 --address-prefixes 10.10.0.0/16");
    ok(&mut b, "network vnet subnet create -g g --vnet-name v1 -n GatewaySubnet --address-prefixes 10.10.255.0/27");
    let pip = json(&mut b, "network public-ip create -g g -n p1");
    assert_eq!((pip["publicIp"]["sku"]["name"].as_str(), pip["publicIp"]["publicIPAllocationMethod"].as_str()), (Some("Standard"), Some("Static")));
    ok(&mut b, "network public-ip create -g g -n p2");
    let gw = json(&mut b, "network vnet-gateway create -g g -n gw1 --vnet v1 --public-ip-addresses p1 p2 --sku VpnGw2 --asn 65010");
    let gw = &gw["vnetGateway"];
    assert_eq!((gw["activeActive"].as_bool(), gw["enableBgp"].as_bool(), gw["bgpSettings"]["asn"].as_u64()), (Some(true), Some(true), Some(65010)));
    assert_eq!(gw["ipConfigurations"].as_array().map(Vec::len), Some(2));
    assert_eq!(gw["bgpSettings"]["bgpPeeringAddress"], "10.10.255.4,10.10.255.5");
    let lng = json(&mut b, "network local-gateway create -g g -n site --gateway-ip-address 192.0.2.1 --local-address-prefixes 172.16.0.0/16 172.17.0.0/16");
    assert_eq!(lng["localNetworkAddressSpace"]["addressPrefixes"][1], "172.17.0.0/16");
    let updated = json(&mut b, "network local-gateway update -g g -n site --local-address-prefixes 172.18.0.0/16");
    assert_eq!(updated["localNetworkAddressSpace"]["addressPrefixes"], serde_json::json!(["172.18.0.0/16"]));
    assert!(ok(&mut b, "network local-gateway list -g g -o table").contains("site    eastus      g                Succeeded            192.0.2.1           172.18.0.0/16"));
    let c = json(&mut b, "network vpn-connection create -g g -n to-site --vnet-gateway1 gw1 --local-gateway2 site --shared-key k1 --enable-bgp false");
    assert_eq!((c["resource"]["connectionStatus"].as_str(), c["resource"]["connectionType"].as_str()), (Some("Connected"), Some("IPsec")));
    assert!(c["resource"].get("id").is_none(), "the deployment's output is the properties");
    assert_eq!(json(&mut b, "network vpn-connection shared-key show -g g --connection-name to-site")["value"], "k1");
    assert_eq!(json(&mut b, "network vpn-connection list -g g").as_array().map(Vec::len), Some(1));
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
        ok(&mut b, &format!("network vnet create -g g -n {v} --address-prefixes {prefix}.0.0/16"));
        ok(&mut b, &format!("network vnet subnet create -g g --vnet-name {v} -n GatewaySubnet --address-prefixes {prefix}.255.0/27"));
        ok(&mut b, &format!("network public-ip create -g g -n {v}-pip"));
        ok(&mut b, &format!("network vnet-gateway create -g g -n {v}-gw --vnet {v} --public-ip-address {v}-pip --sku VpnGw1"));
    }
    let ab = json(&mut b, "network vpn-connection create -g g -n a-to-b --vnet-gateway1 va-gw --vnet-gateway2 vb-gw --shared-key s3cret");
    assert_eq!((ab["resource"]["connectionStatus"].as_str(), ab["resource"]["connectionType"].as_str()), (Some("NotConnected"), Some("Vnet2Vnet")));
    ok(&mut b, "network vpn-connection create -g g -n b-to-a --vnet-gateway1 vb-gw --vnet-gateway2 va-gw --shared-key s3cret");
    assert_eq!(json(&mut b, "network vpn-connection show -g g -n a-to-b")["connectionStatus"], "Connected");
    ok(&mut b, "network vpn-connection shared-key update -g g --connection-name b-to-a --value other");
    assert_eq!(json(&mut b, "network vpn-connection show -g g -n a-to-b")["connectionStatus"], "NotConnected");
    let (code, _, err) = sh(&mut b, "network vpn-connection create -g g -n both --vnet-gateway1 va-gw --vnet-gateway2 vb-gw --local-gateway2 x");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("usage error: --vnet-gateway2 NAME_OR_ID | --local-gateway2 NAME_OR_ID"), "{err}");
}

#[test]
fn route_server_with_branch_to_branch() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n rs -l westus");
    ok(&mut b, "network vnet create -g rs -n hub --address-prefixes 10.0.0.0/16 --subnet-name nva --subnet-prefixes 10.0.0.0/24");
    ok(&mut b, "network vnet subnet create -g rs --vnet-name hub -n RouteServerSubnet --address-prefixes 10.0.1.0/27");
    ok(&mut b, "network public-ip create -g rs -n rs-ip --sku Standard --version IPv4");
    let subnet = json(&mut b, "network vnet subnet show -g rs --vnet-name hub -n RouteServerSubnet")["id"].as_str().map(str::to_string).unwrap_or_default();
    let created = json(&mut b, &format!("network routeserver create -g rs -n hub-rs --hosted-subnet {subnet} --public-ip-address rs-ip"));
    assert_eq!(created["allowBranchToBranchTraffic"], false);
    ok(&mut b, "network routeserver update -g rs -n hub-rs --allow-b2b-traffic true");
    let rs = json(&mut b, "network routeserver show -g rs -n hub-rs");
    assert_eq!(rs["allowBranchToBranchTraffic"], true);
    assert_eq!((rs["virtualRouterAsn"].as_u64(), rs["kind"].as_str()), (Some(65515), Some("RouteServer")));
    assert_eq!(rs["virtualRouterIps"], serde_json::json!(["10.0.1.4", "10.0.1.5"]));
    let p = json(&mut b, "network routeserver peering create -g rs --routeserver hub-rs -n nva1 --peer-ip 10.0.0.4 --peer-asn 65001");
    assert_eq!((p["peerIp"].as_str(), p["peerAsn"].as_u64()), (Some("10.0.0.4"), Some(65001)));
    // The az front cannot make an NVA announce anything: vnetlab runs no BGP.
    assert_eq!(json(&mut b, "network routeserver peering list-learned-routes -g rs --routeserver hub-rs -n nva1")["RouteServiceRole_IN_0"], serde_json::json!([]));
    let advertised = json(&mut b, "network routeserver peering list-advertised-routes -g rs --routeserver hub-rs -n nva1");
    assert_eq!(advertised["RouteServiceRole_IN_1"][0]["network"], "10.0.0.0/16");
    // What a topology file's advertisedPrefixes say is what az lists.
    let spec = crate::model::RouteServerPeeringSpec {
        id: crate::model::ResourceId::parse(p["id"].as_str().unwrap_or_default()).expect("peering id"),
        peer_ip: "10.0.0.4".into(),
        peer_asn: 65001,
        advertised_prefixes: vec!["172.16.0.0/12".into()],
    };
    b.model.apply(Change::PutRouteServerPeering(spec)).expect("announce");
    let learned = json(&mut b, "network routeserver peering list-learned-routes -g rs --routeserver hub-rs -n nva1");
    assert_eq!((learned["RouteServiceRole_IN_0"][0]["network"].as_str(), learned["RouteServiceRole_IN_0"][0]["origin"].as_str()), (Some("172.16.0.0/12"), Some("EBgp")));
    // Re-creating the peering with az keeps what the NVA announces.
    ok(&mut b, "network routeserver peering create -g rs --routeserver hub-rs -n nva1 --peer-ip 10.0.0.4 --peer-asn 65001");
    assert_eq!(json(&mut b, "network routeserver peering list-learned-routes -g rs --routeserver hub-rs -n nva1")["RouteServiceRole_IN_1"][0]["network"], "172.16.0.0/12");

    let before = b.model.clone();
    let (code, _, err) = sh(&mut b, "network public-ip delete -g rs -n rs-ip");
    assert!(code == 1 && err.contains("(PublicIPAddressCannotBeDeleted)") && err.contains("virtualHubs/hub-rs/ipConfigurations/Default"), "{err}");
    let (code, _, err) = sh(&mut b, "network routeserver peering delete -g rs --routeserver hub-rs -n nva1");
    assert_eq!((code, err.trim_end()), (1, "ERROR: Unable to prompt for confirmation as no tty available. Use --yes."));
    assert_eq!(b.model, before);
    ok(&mut b, "network routeserver peering delete -g rs --routeserver hub-rs -n nva1 --yes");
    ok(&mut b, "network routeserver delete -g rs -n hub-rs --yes");
    ok(&mut b, "network public-ip delete -g rs -n rs-ip");
    assert!(b.model.route_servers.is_empty() && b.model.public_ip_addresses.is_empty());
}

#[test]
fn refused_gateway_commands_change_nothing() {
    let mut b = MemoryBackend::new();
    ok(&mut b, "group create -n g -l eastus");
    ok(&mut b, "network vnet create -g g -n vn --address-prefixes 10.5.0.0/16 --subnet-name apps --subnet-prefixes 10.5.0.0/24");
    ok(&mut b, "network public-ip create -g g -n pip");
    let before = b.model.clone();
    let refusals = [
        // No GatewaySubnet in the VNet.
        ("network vnet-gateway create -g g -n gw --vnet vn --public-ip-address pip --sku VpnGw1", 1, "(NetcfgMissingSubnet)"),
        // A Route Server outside RouteServerSubnet.
        ("network routeserver create -g g -n rs --hosted-subnet /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/vn/subnets/apps --public-ip-address pip", 1, "RouteServerSubnet"),
        // A subnet name where az wants its ID.
        ("network routeserver create -g g -n rs --hosted-subnet RouteServerSubnet --public-ip-address pip", 1, "(InvalidRequestFormat)"),
        // A public IP that does not exist: ARM's reference error.
        ("network vnet-gateway create -g g -n gw --vnet vn --public-ip-address nope --sku VpnGw1", 1, ""),
        // A VNet that does not exist.
        ("network vnet-gateway create -g g -n gw --vnet nope --public-ip-address pip", 3, "(ResourceNotFound)"),
        ("network vnet-gateway show -g g -n nope", 3, "(ResourceNotFound)"),
        ("network public-ip create -g g -n dyn --allocation-method Dynamic", 1, "(StandardSkuPublicIPAddressesMustBeStatic)"),
        ("network vnet-gateway create -g g -n gw --vnet vn --public-ip-address pip --gateway-type LocalGateway", 1, "not emulated"),
    ];
    for (line, want, needle) in refusals {
        let (code, out, err) = sh(&mut b, line);
        assert_eq!((code, out.as_str()), (want, ""), "`az {line}`: {err}");
        assert!(err.contains(needle), "`az {line}`: {err}");
        assert_eq!(b.model, before, "`az {line}` changed the model");
    }
    ok(&mut b, "network vnet subnet create -g g --vnet-name vn -n GatewaySubnet --address-prefixes 10.5.255.0/27");
    let (code, _, err) = sh(&mut b, "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address nope --sku VpnGw1");
    assert!(code == 1 && err.contains("(InvalidResourceReference)") && err.contains("publicIPAddresses/nope"), "{err}");
    // A public IP a gateway holds cannot be deleted, nor given to a second one.
    ok(&mut b, "network vnet-gateway create -g g -n gw --vnet vn --public-ip-address pip --sku VpnGw1");
    let (code, _, err) = sh(&mut b, "network public-ip delete -g g -n pip");
    assert!(code == 1 && err.contains("(PublicIPAddressCannotBeDeleted)") && err.contains("vnetGatewayConfig0"), "{err}");
}
