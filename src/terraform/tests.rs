use super::*;
use crate::topology::Topology;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/terraform/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the import writes, loaded back through the topology loader.
fn load(text: &str) -> (Import, Topology) {
    let imported = import(text).expect("imports");
    let yaml = imported.to_yaml("test");
    let topo = Topology::parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    topo.build().unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    (imported, topo)
}

#[test]
fn the_hub_spoke_plan_becomes_a_topology_the_loader_builds() {
    let (imported, topo) = load(&fixture("hub-spoke.plan.json"));
    assert_eq!(
        imported.not_emulated,
        ["azurerm_storage_account.diag (azurerm_storage_account)"]
    );
    assert_eq!(topo.virtual_networks.len(), 4);
    assert_eq!(topo.virtual_machines.len(), 5);
    let spoke3 = &topo.virtual_networks.iter().find(|v| v.name == "spoke3-vnet").unwrap();
    // count.index picked the third subnet, route table and peering.
    assert_eq!(spoke3.subnets[0].route_table.as_deref(), Some("hub-spoke-rg/spoke3-rt"));
    assert_eq!(spoke3.peerings[0].remote_virtual_network, "hub-spoke-rg/hub-vnet");
    assert!(!spoke3.peerings[0].allow_forwarded_traffic);
    let nva = topo.virtual_machines.iter().find(|v| v.name == "hub-nva").unwrap();
    assert!(nva.ip_forwarding);
    assert_eq!(nva.private_ip_address.as_deref(), Some("10.0.1.4"));
    assert_eq!(nva.nsg.as_deref(), Some(""));
    let spoke2 = topo.virtual_machines.iter().find(|v| v.name == "spoke2-vm").unwrap();
    assert_eq!(
        (spoke2.vnet.as_str(), spoke2.subnet.as_str()),
        ("hub-spoke-rg/spoke2-vnet", "workload")
    );
    assert_eq!(spoke2.nsg.as_deref(), Some("spoke2-vmNSG"));
    assert_eq!(spoke2.image, "Canonical:ubuntu-24_04-lts:server:latest");
}

/// A state has every value: IDs are read, not followed.
#[test]
fn a_state_is_read_through_its_ids_and_child_modules() {
    let sub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.Network";
    let state = json!({
        "format_version": "1.0",
        "values": {"root_module": {
            "resources": [
                {"address": "azurerm_resource_group.rg", "mode": "managed", "type": "azurerm_resource_group",
                 "name": "rg", "values": {"name": "rg1", "location": "northeurope"}},
                {"address": "data.azurerm_client_config.me", "mode": "data", "type": "azurerm_client_config",
                 "name": "me", "values": {}}
            ],
            "child_modules": [{"address": "module.net", "resources": [
                {"address": "module.net.azurerm_virtual_network.v", "mode": "managed",
                 "type": "azurerm_virtual_network", "name": "v",
                 "values": {"name": "v1", "resource_group_name": "rg1", "location": "northeurope",
                            "address_space": ["10.9.0.0/16"],
                            "subnet": [{"name": "a", "address_prefixes": ["10.9.1.0/24"],
                                        "security_group": format!("{sub}/networkSecurityGroups/n1")}]}},
                {"address": "module.net.azurerm_network_security_group.n", "mode": "managed",
                 "type": "azurerm_network_security_group", "name": "n",
                 "values": {"name": "n1", "resource_group_name": "rg1", "location": "northeurope",
                            "security_rule": [{"name": "deny-web", "priority": 200, "direction": "Inbound",
                                               "access": "Deny", "protocol": "Tcp",
                                               "source_address_prefixes": ["10.1.0.0/16", "10.2.0.0/16"],
                                               "source_port_range": "*", "destination_port_ranges": ["80", "443"],
                                               "destination_address_prefix": "*"}]}},
                {"address": "module.net.azurerm_key_vault.kv", "mode": "managed", "type": "azurerm_key_vault",
                 "name": "kv", "values": {"name": "kv1"}}
            ]}]
        }}
    })
    .to_string();
    let (imported, topo) = load(&state);
    assert_eq!(
        imported.not_emulated,
        ["module.net.azurerm_key_vault.kv (azurerm_key_vault)"]
    );
    let v = &topo.virtual_networks[0];
    assert_eq!(v.subnets[0].network_security_group.as_deref(), Some("rg1/n1"));
    let rule = &topo.network_security_groups[0].rules[0];
    assert_eq!(rule.source_address_prefixes, ["10.1.0.0/16", "10.2.0.0/16"]);
    assert_eq!(rule.destination_port_ranges, ["80", "443"]);
    assert_eq!(rule.source_port_ranges, ["*"]);
}

#[test]
fn an_id_unknown_and_untraceable_is_refused_with_what_to_do() {
    // The subnet ID comes from a variable's object: the plan cannot tell which subnet.
    let plan = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [
            {"address": "azurerm_resource_group.rg", "mode": "managed", "type": "azurerm_resource_group",
             "name": "rg", "values": {"name": "rg1", "location": "westeurope"}},
            {"address": "azurerm_route_server.rs", "mode": "managed", "type": "azurerm_route_server",
             "name": "rs", "values": {"name": "rs1", "resource_group_name": "rg1", "location": "westeurope"}}
        ]}},
        "configuration": {"root_module": {"resources": [
            {"address": "azurerm_route_server.rs", "mode": "managed", "type": "azurerm_route_server", "name": "rs",
             "expressions": {"subnet_id": {"references": ["each.value.subnet_id", "each.value"]}}}
        ]}}
    })
    .to_string();
    let e = import(&plan).unwrap_err().to_string();
    assert!(e.starts_with("azurerm_route_server.rs: subnet_id is unknown"), "{e}");
    assert!(e.contains("import the state"), "{e}");
}

#[test]
fn a_public_load_balancer_is_refused_and_a_missing_group_added() {
    let plan = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [
            {"address": "azurerm_lb.lb", "mode": "managed", "type": "azurerm_lb", "name": "lb",
             "values": {"name": "lb1", "resource_group_name": "existing", "location": "westeurope",
                        "frontend_ip_configuration": [{"name": "fe",
                          "public_ip_address_id": "/subscriptions/s/resourceGroups/existing/providers/Microsoft.Network/publicIPAddresses/p"}]}}
        ]}}
    })
    .to_string();
    let e = import(&plan).unwrap_err().to_string();
    assert!(e.contains("a public load balancer is not emulated"), "{e}");
}

#[test]
fn arm_ids_name_the_last_resource_and_its_parent() {
    let t =
        parse_id("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a").unwrap();
    assert_eq!(
        (t.rg.as_str(), t.name.as_str(), t.parent.as_deref()),
        ("rg", "a", Some("v"))
    );
    assert!(parse_id("not-an-id").is_none());
}
