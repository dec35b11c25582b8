//! Whole templates deployed into a model in memory.

use serde_json::{Value, json};

use super::*;
use crate::model::DEFAULT_SUBSCRIPTION_ID as SUB;

fn lab() -> (Model, ResourceId) {
    let mut m = Model::new();
    m.apply_all([Change::PutResourceGroup {
        subscription: SUB.into(),
        name: "rg".into(),
        location: "westeurope".into(),
    }])
    .expect("group");
    (m, ResourceId::resource_group(SUB, "rg"))
}

fn body(template: Value, parameters: Value) -> Value {
    json!({ "properties": { "template": template, "parameters": parameters, "mode": "Incremental" } })
}

/// Hub and N spokes: a copy loop over VNets, a property copy of subnets,
/// a route table per spoke, outputs with a copy.
fn hub_spoke() -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "spokes": { "type": "int", "defaultValue": 2, "minValue": 1, "maxValue": 10 },
            "prefix": { "type": "string", "defaultValue": "lab", "allowedValues": ["lab", "prod"] },
            "withNva": { "type": "bool", "defaultValue": true },
        },
        "variables": {
            "hubName": "[format('{0}-hub', parameters('prefix'))]",
            "copy": [{ "name": "spokeNames", "count": "[parameters('spokes')]", "input": "[format('{0}-spoke{1}', parameters('prefix'), copyIndex('spokeNames', 1))]" }],
        },
        "resources": [
            { "type": "Microsoft.Network/routeTables", "apiVersion": "2023-09-01", "name": "[concat('rt-', variables('spokeNames')[copyIndex()])]",
              "location": "[resourceGroup().location]", "copy": { "name": "rts", "count": "[parameters('spokes')]" },
              "condition": "[parameters('withNva')]",
              "properties": { "routes": [{ "name": "to-hub", "properties": { "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "[cidrHost(cidrSubnet('10.0.0.0/16', 24, 1), 3)]" } }] } },
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "[variables('spokeNames')[copyIndex()]]",
              "location": "[resourceGroup().location]", "copy": { "name": "spokeLoop", "count": "[parameters('spokes')]", "mode": "Serial", "batchSize": 1 },
              "dependsOn": ["[resourceId('Microsoft.Network/routeTables', concat('rt-', variables('spokeNames')[copyIndex()]))]", "[variables('hubName')]"],
              "properties": {
                "addressSpace": { "addressPrefixes": ["[cidrSubnet('10.0.0.0/8', 16, copyIndex(1))]"] },
                "copy": [{ "name": "subnets", "count": 2, "input": {
                    "name": "[concat('s', copyIndex('subnets'))]",
                    "properties": { "addressPrefix": "[cidrSubnet(cidrSubnet('10.0.0.0/8', 16, copyIndex(1)), 24, copyIndex('subnets'))]",
                                    "routeTable": "[if(parameters('withNva'), createObject('id', resourceId('Microsoft.Network/routeTables', concat('rt-', variables('spokeNames')[copyIndex()]))), null())]" } } }] } },
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "[variables('hubName')]",
              "location": "[resourceGroup().location]",
              "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } },
              "resources": [{ "type": "subnets", "apiVersion": "2023-09-01", "name": "nva", "dependsOn": ["[variables('hubName')]"],
                              "properties": { "addressPrefix": "[cidrSubnet('10.0.0.0/16', 24, 1)]" } }] },
        ],
        "outputs": {
            "hubId": { "type": "string", "value": "[resourceId('Microsoft.Network/virtualNetworks', variables('hubName'))]" },
            "hubSpace": { "type": "array", "value": "[reference(variables('hubName')).addressSpace.addressPrefixes]" },
            "spokes": { "type": "array", "copy": { "count": "[parameters('spokes')]", "input": "[variables('spokeNames')[copyIndex()]]" } },
        },
    })
}

#[test]
fn a_hub_and_spoke_template_deploys_in_dependency_order() {
    let (m, rg) = lab();
    let o = deploy(
        &m,
        &rg,
        "hs",
        &body(hub_spoke(), json!({ "spokes": { "value": 3 } })),
        None,
    )
    .expect("deploys");
    let names: Vec<&str> = o.ids.iter().map(ResourceId::name).collect();
    assert_eq!(
        names,
        [
            "rt-lab-spoke1",
            "rt-lab-spoke2",
            "rt-lab-spoke3",
            "lab-hub",
            "nva",
            "lab-spoke1",
            "lab-spoke2",
            "lab-spoke3"
        ]
    );
    let spoke2 = ResourceId::network(SUB, "rg", "virtualNetworks", "lab-spoke2");
    let v = &o.model.virtual_networks[&spoke2];
    assert_eq!(
        v.address_prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        ["10.2.0.0/16"]
    );
    let route = o.model.route_tables.values().next().expect("route table");
    assert_eq!(
        route
            .routes
            .first()
            .expect("route")
            .next_hop_ip_address
            .map(|a| a.to_string()),
        Some("10.0.1.4".into())
    );
    assert_eq!(
        o.outputs["spokes"]["value"],
        json!(["lab-spoke1", "lab-spoke2", "lab-spoke3"])
    );
    assert_eq!(o.outputs["hubSpace"]["value"], json!(["10.0.0.0/16"]));
    assert!(
        o.outputs["hubId"]["value"]
            .as_str()
            .is_some_and(|s| s.ends_with("/virtualNetworks/lab-hub"))
    );
    assert!(o.warnings.is_empty());
    // The input model is untouched: the caller applies the changes.
    assert!(m.virtual_networks.is_empty());
    let mut applied = m.clone();
    applied.apply_all(o.changes).expect("the same changes apply");
    assert_eq!(applied, o.model);
}

#[test]
fn a_false_condition_skips_the_resource_and_its_dependency() {
    let (m, rg) = lab();
    let o = deploy(
        &m,
        &rg,
        "hs",
        &body(
            hub_spoke(),
            json!({ "spokes": { "value": 1 }, "withNva": { "value": false } }),
        ),
        None,
    )
    .expect("deploys");
    assert!(o.model.route_tables.is_empty());
    assert_eq!(o.ids.len(), 3);
}

fn refused(template: Value, parameters: Value) -> AzureError {
    let (m, rg) = lab();
    deploy(&m, &rg, "d", &body(template, parameters), None).expect_err("refused")
}

#[test]
fn parameters_are_typed_and_constrained() {
    for (params, needle) in [
        (
            json!({ "spokes": { "value": "3" } }),
            "Expected 'Integer'. Actual 'String'",
        ),
        (json!({ "spokes": { "value": 11 } }), "less than or equal to '10'"),
        (
            json!({ "prefix": { "value": "dev" } }),
            "not part of the allowed value(s): 'lab,prod'",
        ),
        (
            json!({ "nope": { "value": 1 } }),
            "'nope' in the parameters file are not valid",
        ),
    ] {
        let e = refused(hub_spoke(), params);
        assert_eq!(e.code, ErrorCode::InvalidTemplate);
        assert!(e.message.contains(needle), "{}", e.message);
    }
    let mut t = hub_spoke();
    t["parameters"]["prefix"] = json!({ "type": "securestring", "minLength": 4 });
    let e = refused(t, json!({}));
    assert!(e.message.contains("'prefix' is not provided"), "{}", e.message);
}

#[test]
fn expression_errors_name_the_resource_path() {
    let mut t = hub_spoke();
    t["resources"][2]["properties"]["addressSpace"]["addressPrefixes"][0] = json!("[cidrSubnet('10.0.0.0/16', 8, 0)]");
    let e = refused(t, json!({}));
    assert!(
        e.message
            .starts_with("Deployment template validation failed: 'The template resource 'lab-hub' at resources[2]"),
        "{}",
        e.message
    );
    let mut t = hub_spoke();
    t["resources"][2]["name"] = json!("[concat('a']");
    let e = refused(t, json!({}));
    assert!(
        e.message.contains("resources[2]") && e.message.contains("is not valid: expected"),
        "{}",
        e.message
    );
}

#[test]
fn a_dependency_cycle_and_an_unknown_dependency_are_refused() {
    let mut t = hub_spoke();
    t["resources"][2]["dependsOn"] = json!(["lab-spoke1"]);
    let e = refused(t, json!({ "spokes": { "value": 1 } }));
    assert!(
        e.message.contains("Circular dependency detected on resource"),
        "{}",
        e.message
    );
    let mut t = hub_spoke();
    t["resources"][2]["dependsOn"] = json!(["Microsoft.Network/virtualNetworks/ghost"]);
    let e = refused(t, json!({}));
    assert!(
        e.message
            .contains("'microsoft.network/virtualnetworks/ghost' is not defined in the template"),
        "{}",
        e.message
    );
}

#[test]
fn a_resource_the_model_refuses_fails_the_whole_deployment() {
    let mut t = hub_spoke();
    // The second spoke overlaps the hub: the model refuses it, and nothing is deployed.
    t["resources"][1]["properties"]["copy"][0]["input"]["properties"]["addressPrefix"] = json!("10.99.0.0/24");
    let e = refused(t, json!({}));
    assert_eq!(e.code, ErrorCode::DeploymentFailed);
    assert!(
        e.message.contains("Microsoft.Network/virtualNetworks 'lab-spoke1'"),
        "{}",
        e.message
    );
}

#[test]
fn symbolic_names_nested_deployments_and_opaque_resources() {
    let (m, rg) = lab();
    let t = json!({
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "resources": {
            "hub": { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "hub", "location": "westeurope",
                     "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } },
            "sub": { "type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-09-01", "name": "hub/apps", "dependsOn": ["hub"],
                     "properties": { "addressPrefix": "10.0.1.0/24" } },
            "logs": { "type": "Microsoft.OperationalInsights/workspaces", "apiVersion": "2023-09-01", "name": "[format('logs-{0}', uniqueString(resourceGroup().id))]",
                      "location": "westeurope", "properties": { "sku": { "name": "PerGB2018" } } },
            "spoke": { "type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "spoke", "dependsOn": ["sub"],
                       "properties": { "mode": "Incremental", "expressionEvaluationOptions": { "scope": "inner" },
                                       "parameters": { "hubSpace": { "value": "[reference('hub').addressSpace.addressPrefixes[0]]" } },
                                       "template": { "contentVersion": "1.0.0.0",
                                                     "parameters": { "hubSpace": { "type": "string" } },
                                                     "resources": [{ "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "spoke", "location": "westeurope",
                                                                     "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] } } }],
                                                     "outputs": { "seen": { "type": "string", "value": "[parameters('hubSpace')]" } } } } },
        },
        "outputs": { "fromNested": { "type": "string", "value": "[reference('spoke').outputs.seen.value]" } },
    });
    let o = deploy(&m, &rg, "sym", &body(t, json!({})), None).expect("deploys");
    assert_eq!(o.outputs["fromNested"]["value"], "10.0.0.0/16");
    assert_eq!(o.model.virtual_networks.len(), 2);
    assert_eq!(o.opaque.len(), 1);
    assert_eq!(o.opaque[0].1["properties"]["provisioningState"], "Succeeded");
    assert_eq!(o.warnings.len(), 1);
    assert!(
        o.warnings[0]
            .starts_with("not emulated: no effect on the network: Microsoft.OperationalInsights/workspaces 'logs-")
    );
}

#[test]
fn the_az_vm_create_entry_point_still_refuses_complete_mode_and_links() {
    let (m, rg) = lab();
    let mut b = body(hub_spoke(), json!({}));
    b["properties"]["mode"] = json!("Complete");
    assert_eq!(
        changes(&m, &rg, &b, None).expect_err("complete").code,
        ErrorCode::InvalidParameter
    );
    let link = json!({ "properties": { "templateLink": { "uri": "https://example.com/t.json" } } });
    assert!(
        changes(&m, &rg, &link, None)
            .expect_err("link")
            .message
            .contains("templateLink")
    );
}

/// One group's template: its VNet and a peering to the other group's VNet.
fn peered_group(vnet: &str, prefix: &str, remote_group: &str, remote: &str) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": vnet, "location": "[resourceGroup().location]",
              "properties": { "addressSpace": { "addressPrefixes": [prefix] } } },
            { "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "apiVersion": "2023-09-01", "name": format!("{vnet}/to-{remote}"),
              "dependsOn": [format!("[resourceId('Microsoft.Network/virtualNetworks', '{vnet}')]")],
              "properties": { "allowVirtualNetworkAccess": true,
                              "remoteVirtualNetwork": { "id": format!("[resourceId('{remote_group}', 'Microsoft.Network/virtualNetworks', '{remote}')]") } } },
        ],
    })
}

/// A subscription deployment whose nested deployments put `templates`
/// into their groups, none depending on another.
fn per_group(templates: &[(&str, Value)]) -> Value {
    let resources: Vec<Value> = templates
        .iter()
        .map(|(group, t)| {
            json!({ "type": "Microsoft.Resources/deployments", "apiVersion": "2024-03-01", "name": format!("in-{group}"),
                    "resourceGroup": group,
                    "properties": { "mode": "Incremental", "expressionEvaluationOptions": { "scope": "inner" }, "template": t } })
        })
        .collect();
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
    })
}

#[test]
fn nested_deployments_of_one_deployment_peer_with_each_other_in_one_go() {
    let (mut m, _) = lab();
    m.apply_all([Change::PutResourceGroup {
        subscription: SUB.into(),
        name: "rg2".into(),
        location: "northeurope".into(),
    }])
    .expect("group");
    let sub = ResourceId::subscription(SUB);
    let both = per_group(&[
        ("rg", peered_group("va", "10.1.0.0/16", "rg2", "vb")),
        ("rg2", peered_group("vb", "10.2.0.0/16", "rg", "va")),
    ]);
    let o = deploy(&m, &sub, "both", &body(both, json!({})), None).expect("deploys");
    // Group rg's peering waited for rg2's VNet: both peerings are in,
    // each naming the other VNet.
    for (group, vnet, remote) in [("rg", "va", "vb"), ("rg2", "vb", "va")] {
        let id = ResourceId::parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
        ))
        .unwrap();
        let peering = o.model.virtual_networks[&id]
            .peering(&format!("to-{remote}"))
            .expect("peering");
        assert_eq!(peering.remote_virtual_network.name(), remote);
    }
    // A peering to a VNet no part of the deployment creates still fails
    // the whole deployment, with the resource's own error.
    let dangling = per_group(&[("rg", peered_group("va", "10.1.0.0/16", "rg2", "nowhere"))]);
    let e = deploy(&m, &sub, "dangling", &body(dangling, json!({})), None).expect_err("refused");
    assert_eq!(e.code, ErrorCode::DeploymentFailed);
    assert!(
        e.message.contains("(InvalidResourceReference)") && e.message.contains("nowhere"),
        "{}",
        e.message
    );
    // Outside nested deployments nothing waits: a group deployment's
    // peering to a missing VNet fails as before.
    let (m, rg) = lab();
    let e = deploy(
        &m,
        &rg,
        "one",
        &body(peered_group("va", "10.1.0.0/16", "rg", "vb"), json!({})),
        None,
    )
    .expect_err("refused");
    assert!(e.message.contains("(InvalidResourceReference)"), "{}", e.message);
}

/// `listKeys` of a Redis cache the template deploys gives its access keys,
/// as ARM's POST listKeys does; of a type without keys, a clear refusal.
#[test]
fn list_keys_of_a_redis_cache_and_of_a_type_without_keys() {
    let (m, rg) = lab();
    let cache = "[resourceId('Microsoft.Cache/redis', 'keyed')]";
    let t = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [{ "type": "Microsoft.Cache/redis", "apiVersion": "2024-11-01", "name": "keyed", "location": "westeurope",
                        "properties": { "sku": { "name": "Standard", "family": "C", "capacity": 1 }, "enableNonSslPort": true } }],
        "outputs": {
            "key": { "type": "string", "value": format!("[listKeys({}, '2024-11-01').primaryKey]", &cache[1..cache.len() - 1]) },
        },
    });
    let o = deploy(&m, &rg, "d", &body(t.clone(), json!({})), None).expect("deployed");
    let r = o.model.redis_caches.values().next().expect("the cache");
    assert_eq!(o.outputs["key"]["value"], json!(r.primary_key));
    assert!(!r.primary_key.is_empty());
    let mut t = t;
    t["outputs"]["key"]["value"] =
        json!("[listKeys(resourceId('Microsoft.Network/virtualNetworks', 'v'), '2024-05-01').key1]");
    let e = deploy(&m, &rg, "d", &body(t, json!({})), None).expect_err("no keys");
    assert!(e.message.contains("only Redis caches have keys"), "{}", e.message);
}
