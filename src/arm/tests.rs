//! The ARM surface on a lab in memory: the same requests az sends.

use serde_json::{Value, json};

use super::*;
use crate::az::MemoryBackend;
use crate::model::DEFAULT_SUBSCRIPTION_ID;

const SUB: &str = DEFAULT_SUBSCRIPTION_ID;

pub(super) struct Lab {
    arm: Arm,
    pub(super) backend: MemoryBackend,
    token: String,
}

impl Lab {
    pub(super) fn new() -> Self {
        let mut arm = Arm::new(b"test-key", "https://127.0.0.1:4443");
        let mut backend = MemoryBackend::new();
        let secret = arm.keys().client_secret(auth::LAB_PRINCIPAL_APP_ID);
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}&scope=x",
            auth::LAB_PRINCIPAL_APP_ID
        );
        let r = arm.handle(
            "t",
            &request(
                "POST",
                &format!("/{}/oauth2/v2.0/token", crate::model::DEFAULT_TENANT_ID),
                None,
                body.as_bytes(),
            ),
            &mut backend,
            100,
        );
        assert_eq!(r.status, 200, "{r:?}");
        let token = r.body.expect("body")["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        Lab { arm, backend, token }
    }

    pub(super) fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Response {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = request(method, path, Some(&self.token), &bytes);
        if !path.contains("api-version") {
            // A version az sends to the provider that serves the path.
            let v = if path.contains("/providers/Microsoft.Network/") {
                "2024-05-01"
            } else {
                "2024-11-01"
            };
            req.query.push(("api-version".into(), v.into()));
        }
        self.arm.handle("t", &req, &mut self.backend, 200)
    }
}

fn request(method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Request {
    Request::new(method, path, token, body)
}

fn rg_path() -> String {
    format!("/subscriptions/{SUB}/resourcegroups/rg")
}

fn vnet_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/{name}")
}

#[test]
fn a_missing_or_forged_token_is_401_with_a_challenge() {
    let mut lab = Lab::new();
    let r = lab.arm.handle(
        "t",
        &request("GET", "/subscriptions?api-version=2022-12-01", None, b""),
        &mut lab.backend,
        200,
    );
    assert_eq!(r.status, 401);
    assert!(
        r.headers
            .iter()
            .any(|(k, v)| k == "WWW-Authenticate" && v.starts_with("Bearer authorization_uri="))
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "AuthenticationFailed");
    let r = lab.arm.handle(
        "t",
        &request("GET", "/subscriptions?api-version=2022-12-01", Some("x.y.z"), b""),
        &mut lab.backend,
        200,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidAuthenticationToken");
}

#[test]
fn a_wrong_secret_gets_no_token() {
    let mut lab = Lab::new();
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret=nope",
        auth::LAB_PRINCIPAL_APP_ID
    );
    let r = lab.arm.handle(
        "t",
        &request("POST", "/t/oauth2/v2.0/token", None, body.as_bytes()),
        &mut lab.backend,
        1,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body.expect("body")["error"], "invalid_client");
}

#[test]
fn api_version_is_required_and_checked() {
    let mut lab = Lab::new();
    let req = request("GET", "/subscriptions", Some(&lab.token), b"");
    let r = lab.arm.handle("t", &req, &mut lab.backend, 200);
    assert_eq!(r.status, 400);
    assert_eq!(r.body.expect("body")["error"]["code"], "MissingApiVersionParameter");
    let r = lab.call("GET", "/subscriptions?api-version=yesterday", None);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidApiVersionParameter");
}

#[test]
fn subscriptions_and_groups() {
    let mut lab = Lab::new();
    let r = lab.call("GET", "/subscriptions", None);
    assert_eq!(r.body.expect("body")["value"][0]["subscriptionId"], SUB);
    let r = lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    assert_eq!(r.status, 201, "{r:?}");
    let r = lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    assert_eq!(r.status, 200);
    let r = lab.call("GET", &format!("/subscriptions/{SUB}/resourcegroups"), None);
    assert_eq!(r.body.expect("body")["value"][0]["name"], "rg");
    let r = lab.call("GET", &format!("/subscriptions/{SUB}/resourcegroups/nope"), None);
    assert_eq!(r.status, 404);
    assert_eq!(r.body.expect("body")["error"]["code"], "ResourceGroupNotFound");
    let r = lab.call("GET", &format!("/subscriptions/{SUB}/resourcegroups/nope"), None);
    assert_eq!(r.status, 404);
}

#[test]
fn a_vnet_with_subnets_round_trips_in_arm_shape() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    let body = json!({ "location": "westeurope", "properties": {
        "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] },
        "subnets": [{ "name": "Apps", "properties": { "addressPrefix": "10.1.1.0/24" } }] } });
    let r = lab.call("PUT", &vnet_path("v1"), Some(body));
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.headers.iter().any(|(k, _)| k == "Azure-AsyncOperation"));
    let doc = r.body.expect("body");
    assert_eq!(
        doc["properties"]["subnets"][0]["properties"]["addressPrefix"],
        "10.1.1.0/24"
    );
    assert_eq!(doc["properties"]["provisioningState"], "Succeeded");
    let r = lab.call("GET", &format!("{}/subnets/Apps", vnet_path("v1")), None);
    assert_eq!(r.status, 200);
    let r = lab.call("GET", &format!("{}/subnets", vnet_path("v1")), None);
    assert_eq!(r.body.expect("body")["value"].as_array().map(Vec::len), Some(1));
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Network/virtualNetworks"),
        None,
    );
    assert_eq!(r.body.expect("body")["value"][0]["name"], "v1");
}

#[test]
fn a_refused_put_changes_nothing_and_carries_the_models_code() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    let body = json!({ "location": "westeurope", "properties": {
        "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] },
        "subnets": [{ "name": "Apps", "properties": { "addressPrefix": "10.9.1.0/24" } }] } });
    let r = lab.call("PUT", &vnet_path("v1"), Some(body));
    assert_eq!(r.status, 400);
    assert_eq!(r.body.expect("body")["error"]["code"], "NetcfgSubnetRangeOutsideVnet");
    assert_eq!(lab.call("GET", &vnet_path("v1"), None).status, 404);
    let r = lab.call("PUT", &vnet_path("v1"), None);
    assert_eq!(r.status, 400);
}

#[test]
fn bad_bodies_and_paths_get_arms_errors() {
    let mut lab = Lab::new();
    let mut req = request("PUT", &rg_path(), Some(&lab.token), b"{not json");
    req.query.push(("api-version".into(), "2024-11-01".into()));
    let r = lab.arm.handle("t", &req, &mut lab.backend, 200);
    assert_eq!(r.status, 400);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidRequestContent");
    req.body = vec![b' '; MAX_BODY + 1];
    let r = lab.arm.handle("t", &req, &mut lab.backend, 200);
    assert_eq!(r.status, 413);
    let r = lab.call("GET", "/nowhere", None);
    assert_eq!(r.status, 404);
    assert!(r.body.expect("body")["error"]["message"].is_string());
}

#[test]
fn peerings_and_an_nsg_rule_and_delete_with_an_operation() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    for (n, p) in [("va", "10.1.0.0/16"), ("vb", "10.2.0.0/16")] {
        let r = lab.call(
            "PUT",
            &vnet_path(n),
            Some(json!({ "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": [p] } } })),
        );
        assert_eq!(r.status, 201, "{r:?}");
    }
    for (from, to) in [("va", "vb"), ("vb", "va")] {
        let body = json!({ "properties": { "remoteVirtualNetwork": { "id": vnet_path(to) }, "allowVirtualNetworkAccess": true } });
        let r = lab.call(
            "PUT",
            &format!("{}/virtualNetworkPeerings/{from}-{to}", vnet_path(from)),
            Some(body),
        );
        assert_eq!(r.status, 201, "{r:?}");
    }
    let r = lab.call(
        "GET",
        &format!("{}/virtualNetworkPeerings/va-vb", vnet_path("va")),
        None,
    );
    assert_eq!(r.body.expect("body")["properties"]["peeringState"], "Connected");
    let nsg = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1");
    assert_eq!(
        lab.call("PUT", &nsg, Some(json!({ "location": "westeurope" }))).status,
        201
    );
    let rule = json!({ "properties": { "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22" } });
    let r = lab.call("PUT", &format!("{nsg}/securityRules/ssh"), Some(rule));
    assert_eq!(r.status, 201, "{r:?}");
    let r = lab.call("DELETE", &format!("{nsg}/securityRules/ssh"), None);
    assert_eq!(r.status, 202);
    let op = r
        .headers
        .iter()
        .find(|(k, _)| k == "Azure-AsyncOperation")
        .map(|(_, v)| v.clone())
        .expect("operation");
    let op_path = op.trim_start_matches("https://127.0.0.1:4443");
    let r = lab.call("GET", op_path, None);
    assert_eq!(r.body.expect("body")["status"], "Succeeded");
    assert_eq!(lab.call("GET", &format!("{nsg}/securityRules/ssh"), None).status, 404);
    assert_eq!(
        lab.call("DELETE", &format!("{nsg}/securityRules/ssh"), None).status,
        204
    );
}

#[test]
fn a_vm_create_deployment_is_applied_whole_in_depends_on_order() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "northeurope" })));
    let vnet = json!({ "location": "northeurope", "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] },
        "subnets": [{ "name": "Apps", "properties": { "addressPrefix": "10.1.1.0/24" } }] } });
    assert_eq!(lab.call("PUT", &vnet_path("SalesVNet"), Some(vnet)).status, 201);
    let net = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network");
    // The shape of azure-cli 2.91's _template_builder output, VM first.
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": { "adminPassword": { "type": "securestring" } },
        "variables": {},
        "resources": [
            { "type": "Microsoft.Compute/virtualMachines", "name": "SalesVM", "location": "northeurope", "apiVersion": "2024-11-01",
              "dependsOn": ["Microsoft.Network/networkInterfaces/SalesVMVMNic"],
              "properties": {
                "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
                "networkProfile": { "networkInterfaces": [{ "id": format!("{net}/networkInterfaces/SalesVMVMNic") }] },
                "storageProfile": { "imageReference": { "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest" } },
                "osProfile": { "computerName": "SalesVM", "adminUsername": "azureuser", "adminPassword": "[parameters('adminPassword')]" } } },
            { "type": "Microsoft.Network/networkInterfaces", "name": "SalesVMVMNic", "location": "northeurope", "apiVersion": "2022-01-01",
              "dependsOn": ["Microsoft.Network/networkSecurityGroups/SalesVMNSG", "Microsoft.Network/publicIpAddresses/SalesVMPublicIP"],
              "properties": { "ipConfigurations": [{ "name": "ipconfigSalesVM", "properties": {
                    "privateIPAllocationMethod": "Dynamic", "subnet": { "id": format!("{}/subnets/Apps", vnet_path("SalesVNet")) },
                    "publicIPAddress": { "id": format!("{net}/publicIPAddresses/SalesVMPublicIP") } } }],
                "networkSecurityGroup": { "id": format!("{net}/networkSecurityGroups/SalesVMNSG") } } },
            { "type": "Microsoft.Network/networkSecurityGroups", "name": "SalesVMNSG", "location": "northeurope", "apiVersion": "2015-06-15",
              "dependsOn": [], "properties": { "securityRules": [{ "name": "default-allow-ssh", "properties": {
                "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "22", "sourceAddressPrefix": "*",
                "destinationAddressPrefix": "*", "access": "Allow", "priority": 1000, "direction": "Inbound" } }] } },
            { "type": "Microsoft.Network/publicIPAddresses", "name": "SalesVMPublicIP", "location": "northeurope", "apiVersion": "2022-01-01",
              "dependsOn": [], "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Static" } },
        ],
        "outputs": {},
    });
    let body = json!({ "properties": { "template": template, "parameters": { "adminPassword": { "value": "Learn-Peering-2026!" } }, "mode": "incremental" } });
    let dep = format!("/subscriptions/{SUB}/resourcegroups/rg/providers/Microsoft.Resources/deployments/vm_deploy_x");
    let r = lab.call("PUT", &dep, Some(body.clone()));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        lab.call("GET", &dep, None).body.expect("body")["properties"]["provisioningState"],
        "Succeeded"
    );
    let vm = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/SalesVM?$expand=instanceView&api-version=2024-11-01"
    );
    let r = lab.call("GET", &vm, None);
    assert_eq!(
        r.body.expect("body")["properties"]["instanceView"]["statuses"][1]["code"],
        "PowerState/running"
    );
    // A second deployment whose NIC names a missing subnet changes nothing.
    let mut bad = body;
    bad["properties"]["template"]["resources"][1]["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"] =
        json!(format!("{}/subnets/Nope", vnet_path("SalesVNet")));
    bad["properties"]["template"]["resources"][0]["name"] = json!("OtherVM");
    bad["properties"]["template"]["resources"][2]["name"] = json!("OtherNSG");
    let before = lab.backend.model.clone();
    let r = lab.call("PUT", &format!("{dep}2"), Some(bad));
    assert!(r.status >= 400, "{r:?}");
    assert_eq!(lab.backend.model, before);
}

fn deployments_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourcegroups/rg/providers/Microsoft.Resources/deployments/{name}")
}

fn spokes_template() -> Value {
    json!({
        "contentVersion": "1.0.0.0",
        "parameters": { "count": { "type": "int", "defaultValue": 2 }, "secret": { "type": "securestring", "defaultValue": "" } },
        "resources": [
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "[format('spoke{0}', copyIndex(1))]",
              "location": "[resourceGroup().location]", "copy": { "name": "spokes", "count": "[parameters('count')]" },
              "properties": { "addressSpace": { "addressPrefixes": ["[cidrSubnet('10.0.0.0/8', 16, copyIndex(1))]"] } } },
            { "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "[concat('st', uniqueString(resourceGroup().id))]",
              "location": "[resourceGroup().location]", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" },
        ],
        "outputs": { "first": { "type": "string", "value": "[reference('spoke1').addressSpace.addressPrefixes[0]]" } },
    })
}

#[test]
fn deployments_validate_what_if_put_get_list_delete() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    let body = |count: i64| json!({ "properties": { "template": spokes_template(), "parameters": { "count": { "value": count }, "secret": { "value": "s3cret" } }, "mode": "Incremental" } });
    // What-if on an empty group: everything is created, nothing is applied.
    let r = lab.call("POST", &format!("{}/whatIf", deployments_path("d1")), Some(body(2)));
    assert_eq!(r.status, 200, "{r:?}");
    let changes = r.body.expect("body")["properties"]["changes"].clone();
    let kinds: Vec<&str> = changes
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["changeType"].as_str())
        .collect();
    assert_eq!(kinds, ["Create", "Create", "Create"]);
    assert!(lab.backend.model.virtual_networks.is_empty());
    let r = lab.call("POST", &format!("{}/validate", deployments_path("d1")), Some(body(2)));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body.expect("body")["properties"]["validatedResources"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // Deploy: the record has outputs, output resources and no secret.
    let r = lab.call("PUT", &deployments_path("d1"), Some(body(2)));
    assert_eq!(r.status, 201, "{r:?}");
    let doc = lab.call("GET", &deployments_path("d1"), None).body.expect("body");
    assert_eq!(doc["properties"]["provisioningState"], "Succeeded");
    assert_eq!(doc["properties"]["outputs"]["first"]["value"], "10.1.0.0/16");
    assert_eq!(doc["properties"]["outputResources"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        doc["properties"]["parameters"]["secret"],
        json!({ "type": "SecureString" })
    );
    assert!(
        doc["properties"]["diagnostics"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not emulated: no effect on the network"))
    );
    assert_eq!(lab.backend.model.virtual_networks.len(), 2);
    // The storage account is stored, listed and deletable.
    let st = doc["properties"]["outputResources"][2]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(lab.call("GET", &st, None).status, 200);
    let list = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts"),
        None,
    );
    assert_eq!(list.body.expect("body")["value"].as_array().map(Vec::len), Some(1));
    // What-if again: no change for what is there, one new spoke.
    let r = lab.call("POST", &format!("{}/whatIf", deployments_path("d2")), Some(body(3)));
    let changes = r.body.expect("body")["properties"]["changes"].clone();
    let kinds: Vec<&str> = changes
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["changeType"].as_str())
        .collect();
    assert_eq!(kinds, ["NoChange", "NoChange", "Create", "NoChange"]);
    // A template that does not validate: InvalidTemplate; a resource the model refuses: InvalidTemplateDeployment.
    let mut bad = body(2);
    bad["properties"]["parameters"]["count"]["value"] = json!("two");
    let r = lab.call("POST", &format!("{}/validate", deployments_path("bad")), Some(bad));
    assert_eq!(r.status, 400);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidTemplate");
    let mut clash = body(1);
    clash["properties"]["template"]["resources"][0]["properties"]["addressSpace"]["addressPrefixes"][0] =
        json!("10.0.0.0/33");
    let r = lab.call(
        "POST",
        &format!("{}/validate", deployments_path("bad")),
        Some(clash.clone()),
    );
    assert_eq!(r.status, 400);
    let e = r.body.expect("body")["error"].clone();
    assert_eq!(e["code"], "InvalidTemplateDeployment");
    assert_eq!(e["details"][0]["code"], "DeploymentFailed");
    let before = lab.backend.model.clone();
    assert_eq!(lab.call("PUT", &deployments_path("bad"), Some(clash)).status, 400);
    assert_eq!(lab.backend.model, before);
    // Azure: a deployment refused by preflight validation is not created.
    assert_eq!(lab.call("GET", &deployments_path("bad"), None).status, 404);
    // List, then delete the record (the resources stay).
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/resourcegroups/rg/providers/Microsoft.Resources/deployments"),
        None,
    );
    assert_eq!(r.body.expect("body")["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(lab.call("DELETE", &deployments_path("d1"), None).status, 202);
    assert_eq!(lab.call("GET", &deployments_path("d1"), None).status, 404);
    assert_eq!(lab.backend.model.virtual_networks.len(), 2);
    assert_eq!(lab.call("DELETE", &st, None).status, 200);
    assert_eq!(lab.call("GET", &st, None).status, 404);
}

#[test]
fn a_subscription_deployment_creates_a_group_and_deploys_into_it() {
    let mut lab = Lab::new();
    let template = json!({
        "contentVersion": "1.0.0.0",
        "resources": [
            { "type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "net", "location": "[deployment().location]" },
            { "type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inside", "resourceGroup": "net",
              "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'net')]"],
              "properties": { "mode": "Incremental", "expressionEvaluationOptions": { "scope": "inner" }, "template": { "contentVersion": "1.0.0.0", "resources": [
                  { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "hub", "location": "[resourceGroup().location]",
                    "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } }] } } },
        ],
    });
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/sub1");
    let r = lab.call(
        "PUT",
        &path,
        Some(json!({ "location": "westeurope", "properties": { "template": template, "mode": "Incremental" } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        lab.backend
            .model
            .virtual_networks
            .keys()
            .next()
            .map(|k| k.resource_group_name().to_string()),
        Some("net".into())
    );
    assert_eq!(lab.call("GET", &path, None).status, 200);
    // In the outer scope the nested template sees the subscription: no resourceGroup().
    let mut outer = template_with_scope("outer");
    let r = lab.call(
        "PUT",
        &format!("{path}x"),
        Some(json!({ "location": "westeurope", "properties": { "template": outer.take(), "mode": "Incremental" } })),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body.expect("body")["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("'resourceGroup' is not expected at subscription scope"))
    );
}

fn template_with_scope(scope: &str) -> Value {
    json!({
        "contentVersion": "1.0.0.0",
        "resources": [
            { "type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inside", "resourceGroup": "net",
              "properties": { "mode": "Incremental", "expressionEvaluationOptions": { "scope": scope }, "template": { "contentVersion": "1.0.0.0", "resources": [
                  { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "hub2", "location": "[resourceGroup().location]",
                    "properties": { "addressSpace": { "addressPrefixes": ["10.9.0.0/16"] } } }] } } },
        ],
    })
}

/// `az group export`'s POST: the group as a template; deployed into a
/// fresh lab's group of the same name, the same VNet and peering.
#[test]
fn an_exported_group_deploys_into_a_fresh_lab() {
    let mut lab = Lab::new();
    assert_eq!(
        lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })))
            .status,
        201
    );
    for (name, prefix) in [("va", "10.1.0.0/16"), ("vb", "10.2.0.0/16")] {
        let body =
            json!({ "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": [prefix] } } });
        assert!(lab.call("PUT", &vnet_path(name), Some(body)).status < 300);
    }
    let peer =
        json!({ "properties": { "remoteVirtualNetwork": { "id": vnet_path("vb") }, "allowForwardedTraffic": true } });
    let r = lab.call(
        "PUT",
        &format!("{}/virtualNetworkPeerings/va-to-vb", vnet_path("va")),
        Some(peer),
    );
    assert!(r.status < 300, "{r:?}");
    let export = format!("{}/exportTemplate?api-version=2024-11-01", rg_path());
    assert_eq!(lab.call("GET", &export, None).status, 405);
    let r = lab.call(
        "POST",
        &export,
        Some(json!({ "resources": ["*"], "outputFormat": "Json" })),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let template = r.body.expect("body")["template"].clone();
    let resources = template["resources"].as_array().expect("resources");
    let peering = resources
        .iter()
        .find(|r| {
            super::export_params::literal_name(&template, r["name"].as_str().unwrap_or_default()) == "va/va-to-vb"
        })
        .expect("the peering on its own");
    assert_eq!(peering["dependsOn"].as_array().map(Vec::len), Some(2), "{peering}");

    let mut fresh = Lab::new();
    assert_eq!(
        fresh
            .call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })))
            .status,
        201
    );
    let dep = format!("{}/providers/Microsoft.Resources/deployments/rebuild", rg_path());
    let body = json!({ "properties": { "template": template, "mode": "Incremental" } });
    let r = fresh.call("PUT", &dep, Some(body));
    assert_eq!(r.status, 201, "{r:?}");
    let vnets = |l: &Lab| -> Vec<(String, Vec<String>)> {
        l.backend
            .model
            .virtual_networks
            .values()
            .map(|v| (v.name.clone(), v.peerings.iter().map(|p| p.name.clone()).collect()))
            .collect()
    };
    assert_eq!(vnets(&fresh), vnets(&lab));
    let p = &fresh
        .backend
        .model
        .virtual_networks
        .values()
        .next()
        .expect("va")
        .peerings[0];
    assert!(p.allow_forwarded_traffic);
}

#[test]
fn private_dns_zones_links_and_record_sets_as_az_sends_them() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    let r = lab.call(
        "PUT",
        &vnet_path("Hub"),
        Some(json!({ "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] } } })),
    );
    assert!(r.status < 300, "{r:?}");
    let zone =
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/contoso.com");
    let r = lab.call(
        "PUT",
        &format!("{zone}?api-version=2024-06-01"),
        Some(json!({ "location": "global" })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let body = r.body.expect("zone");
    assert_eq!(body["properties"]["numberOfRecordSets"], 1);
    assert_eq!(body["location"], "global");
    // az's create sends If-None-Match: *; a second create is refused in Private DNS's words.
    let mut req = request("PUT", &zone, Some(&lab.token), b"{\"location\":\"global\"}");
    req.query.push(("api-version".into(), "2024-06-01".into()));
    req.if_none_match = Some("*".into());
    let r = lab.arm.handle("t", &req, &mut lab.backend, 200);
    assert_eq!(r.status, 412, "{r:?}");
    assert!(
        format!("{:?}", r.body).contains("The Zone contoso.com exists already"),
        "{r:?}"
    );
    let link = format!("{zone}/virtualNetworkLinks/hub");
    let r = lab.call(
        "PUT",
        &link,
        Some(json!({ "location": "global", "properties": { "registrationEnabled": true, "virtualNetwork": { "id": vnet_path("Hub") } } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body.expect("link")["properties"]["registrationEnabled"], true);
    let r = lab.call(
        "PUT",
        &format!("{zone}/A/db"),
        Some(json!({ "properties": { "ttl": 300, "aRecords": [{ "ipv4Address": "10.1.0.9" }] } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let rs = r.body.expect("record set");
    assert_eq!(rs["properties"]["aRecords"][0]["ipv4Address"], "10.1.0.9");
    assert_eq!(rs["properties"]["ttl"], 300);
    lab.call(
        "PUT",
        &format!("{zone}/TXT/note"),
        Some(json!({ "properties": { "txtRecords": [{ "value": ["hi"] }] } })),
    );
    let all = lab.call("GET", &format!("{zone}/ALL"), None).body.expect("list");
    let names: Vec<&str> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["@", "db", "note"]);
    let a = lab.call("GET", &format!("{zone}/A"), None).body.expect("list");
    assert_eq!(a["value"].as_array().unwrap().len(), 1);
    let links = lab
        .call("GET", &format!("{zone}/virtualNetworkLinks"), None)
        .body
        .expect("links");
    assert_eq!(links["value"].as_array().unwrap().len(), 1);
    // The zone cannot go while linked: 409, as Azure answers.
    assert_eq!(lab.call("DELETE", &zone, None).status, 409);
    assert_eq!(lab.call("DELETE", &format!("{zone}/A/db"), None).status, 200);
    assert_eq!(lab.call("DELETE", &link, None).status, 202);
    assert_eq!(lab.call("DELETE", &zone, None).status, 202);
    assert_eq!(lab.call("GET", &zone, None).status, 404);
}

#[test]
fn api_versions_are_checked_without_splitting_a_character() {
    assert!(api_version_ok("2024-05-01"));
    assert!(api_version_ok("2024-05-01-preview"));
    assert!(!api_version_ok("2024-05-0"));
    // Byte 10 inside a multi-byte character (the fuzzer's find).
    assert!(!api_version_ok("1\u{145}12\u{145}\u{145}\u{145}"));
    assert!(!api_version_ok("2024-05-01\u{e9}"));
}

/// A token for the topology principal `object_id`.
fn principal_token(lab: &mut Lab, object_id: &str) -> String {
    let secret = lab.arm.keys().client_secret(object_id);
    let body = format!("grant_type=client_credentials&client_id={object_id}&client_secret={secret}");
    let path = format!("/{}/oauth2/v2.0/token", crate::model::DEFAULT_TENANT_ID);
    let r = lab.arm.handle(
        "t",
        &request("POST", &path, None, body.as_bytes()),
        &mut lab.backend,
        100,
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.body.expect("body")["access_token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn role_assignments_decide_each_request() {
    use crate::model::{Change, Principal, PrincipalType, RoleAssignment};
    let mut lab = Lab::new();
    for (name, rg) in [("va", "rg"), ("vb", "rg2")] {
        let group = format!("/subscriptions/{SUB}/resourcegroups/{rg}");
        assert_eq!(
            lab.call("PUT", &group, Some(json!({ "location": "westeurope" })))
                .status,
            201
        );
        let vnet = format!("{group}/providers/Microsoft.Network/virtualNetworks/{name}");
        let body = json!({ "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": [if name == "va" { "10.1.0.0/16" } else { "10.2.0.0/16" }] } } });
        let r = lab.call("PUT", &vnet, Some(body));
        assert!(r.status < 300, "{r:?}");
    }
    let oid = "11111111-0000-4000-8000-000000000001";
    let assign = |role: &str, rg: &str| {
        Change::PutRoleAssignment(RoleAssignment {
            principal_object_id: oid.into(),
            role_definition_name: role.into(),
            scope: format!("/subscriptions/{SUB}/resourceGroups/{rg}"),
        })
    };
    lab.backend
        .apply(vec![
            Change::PutPrincipal(Principal {
                name: "ops".into(),
                object_id: oid.into(),
                tenant_id: crate::model::DEFAULT_TENANT_ID.into(),
                principal_type: PrincipalType::ServicePrincipal,
            }),
            assign("Network Contributor", "rg"),
            assign("Reader", "rg2"),
        ])
        .expect("principal");
    lab.token = principal_token(&mut lab, oid);
    // Reads where it holds any role; lists hold only what it may read.
    assert_eq!(lab.call("GET", &vnet_path("va"), None).status, 200);
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Network/virtualNetworks"),
        None,
    );
    assert_eq!(r.body.expect("body")["value"].as_array().map(Vec::len), Some(2));
    // A Reader cannot write: ARM's 403, the lab unchanged.
    let b = format!("/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.Network/virtualNetworks/vb");
    let r = lab.call(
        "PUT",
        &format!("{b}/subnets/s"),
        Some(json!({ "properties": { "addressPrefix": "10.2.1.0/24" } })),
    );
    assert_eq!(r.status, 403);
    let e = r.body.expect("body")["error"].clone();
    assert_eq!(e["code"], "AuthorizationFailed");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("'Microsoft.Network/virtualNetworks/subnets/write' over scope")),
        "{e}"
    );
    assert!(
        lab.backend
            .model()
            .expect("model")
            .subnet(&ResourceId::parse(&format!("{b}/subnets/s")).expect("id"))
            .is_none()
    );
    // Network Contributor on a's group only: peering to b lacks peer/action there.
    let peering = format!("{}/virtualNetworkPeerings/va-vb", vnet_path("va"));
    let r = lab.call(
        "PUT",
        &peering,
        Some(json!({ "properties": { "remoteVirtualNetwork": { "id": b } } })),
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "LinkedAuthorizationFailed");
    // Deployments are checked like any PUT: the deployment's own write at
    // its group (a Reader has none), then every resource the template puts
    // (Network Contributor may not write a storage account); nothing applied.
    let body = json!({ "properties": { "mode": "Incremental", "template": spokes_template() } });
    let in_rg2 = format!("/subscriptions/{SUB}/resourcegroups/rg2/providers/Microsoft.Resources/deployments/d");
    let r = lab.call("PUT", &in_rg2, Some(body.clone()));
    assert_eq!(r.status, 403, "{r:?}");
    let m = r.body.expect("body")["error"]["message"].clone();
    assert!(
        m.as_str()
            .is_some_and(|m| m.contains("'Microsoft.Resources/deployments/write'")),
        "{m}"
    );
    for (method, path) in [
        ("PUT", deployments_path("d")),
        ("POST", format!("{}/validate", deployments_path("d"))),
    ] {
        let r = lab.call(method, &path, Some(body.clone()));
        assert_eq!(r.status, 403, "{method}: {r:?}");
        let e = r.body.expect("body")["error"].clone();
        assert_eq!(e["code"], "AuthorizationFailed");
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("'Microsoft.Storage/storageAccounts/write'")),
            "{e}"
        );
    }
    let m = lab.backend.model().expect("model");
    assert!(m.virtual_networks.keys().all(|id| !id.as_str().contains("spoke")));
    assert_eq!(lab.call("GET", &deployments_path("d"), None).status, 404);
    let mut network_only = spokes_template();
    network_only["resources"].as_array_mut().expect("resources").pop();
    network_only["outputs"] = json!({});
    let r = lab.call(
        "PUT",
        &deployments_path("d"),
        Some(json!({ "properties": { "mode": "Incremental", "template": network_only } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    // A peering in a template needs peer/action on its remote VNet too.
    let peering_template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [{
            "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "apiVersion": "2024-05-01",
            "name": "va/va-vb-t",
            "properties": { "remoteVirtualNetwork": { "id": b }, "allowVirtualNetworkAccess": true } }],
    });
    let r = lab.call(
        "PUT",
        &deployments_path("p"),
        Some(json!({ "properties": { "mode": "Incremental", "template": peering_template } })),
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "LinkedAuthorizationFailed");
    assert_eq!(
        lab.call(
            "GET",
            &format!("{}/virtualNetworkPeerings/va-vb-t", vnet_path("va")),
            None
        )
        .status,
        404
    );
    lab.backend
        .apply(vec![assign("Network Contributor", "rg2")])
        .expect("role");
    let r = lab.call(
        "PUT",
        &peering,
        Some(json!({ "properties": { "remoteVirtualNetwork": { "id": b } } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
}

#[test]
fn a_route_server_as_az_sends_it() {
    let mut lab = Lab::new();
    assert_eq!(
        lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })))
            .status,
        201
    );
    let body = json!({ "location": "westeurope", "properties": {
        "addressSpace": { "addressPrefixes": ["10.20.0.0/16"] },
        "subnets": [{ "name": "RouteServerSubnet", "properties": { "addressPrefix": "10.20.1.0/24" } }] } });
    assert_eq!(lab.call("PUT", &vnet_path("hub"), Some(body)).status, 201);
    let pip = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/rs-ip");
    let r = lab.call(
        "PUT",
        &pip,
        Some(json!({ "location": "westeurope", "sku": { "name": "Standard" } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    // az: the hub first (no subnet), shown as it waits, then its IP configuration.
    let hub = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualHubs/rs");
    let r = lab.call(
        "PUT",
        &hub,
        Some(json!({ "location": "westeurope", "properties": { "sku": "Standard" } })),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let r = lab.call("GET", &hub, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.expect("body")["properties"]["sku"], "Standard");
    let subnet = format!("{}/subnets/RouteServerSubnet", vnet_path("hub"));
    let config =
        json!({ "name": "Default", "properties": { "subnet": { "id": subnet }, "publicIPAddress": { "id": pip } } });
    let r = lab.call("PUT", &format!("{hub}/ipConfigurations/Default"), Some(config));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body.expect("body")["properties"]["subnet"]["id"], subnet.as_str());
    let r = lab.call("GET", &hub, None);
    let doc = r.body.expect("body");
    assert_eq!(
        doc["properties"]["virtualRouterIps"].as_array().map(Vec::len),
        Some(2),
        "{doc}"
    );
    // az network routeserver update: GET, change, PUT the whole hub.
    let mut doc = doc;
    doc["properties"]["allowBranchToBranchTraffic"] = json!(true);
    assert_eq!(lab.call("PUT", &hub, Some(doc)).status, 200);
    let model = lab.backend.model().expect("model");
    let rs = model.route_servers.values().next().expect("route server");
    assert!(rs.allow_branch_to_branch_traffic);
    // A BGP connection; a child of a missing hub is refused.
    let bgp = json!({ "properties": { "peerIp": "10.20.2.4", "peerAsn": 65001 } });
    assert_eq!(
        lab.call("PUT", &format!("{hub}/bgpConnections/nva"), Some(bgp.clone()))
            .status,
        201
    );
    let r = lab.call("PUT", &format!("{hub}x/bgpConnections/nva"), Some(bgp));
    assert_eq!(r.status, 404, "{r:?}");
    // Deleting the IP configuration, then the hub, as az routeserver delete does.
    assert_eq!(
        lab.call("DELETE", &format!("{hub}/bgpConnections/nva"), None).status,
        202
    );
    assert_eq!(
        lab.call("DELETE", &format!("{hub}/ipConfigurations/Default"), None)
            .status,
        202
    );
    assert!(lab.backend.model().expect("model").route_servers.is_empty());
}

/// Follows an action's operation as az does: 202, the operation says
/// Succeeded, and `Location` answers the result.
fn finished(lab: &mut Lab, r: Response) -> Response {
    assert_eq!(r.status, 202, "{r:?}");
    let header = |k: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim_start_matches("https://127.0.0.1:4443").to_string())
            .unwrap_or_else(|| panic!("no {k} header in {r:?}"))
    };
    let (status, location) = (header("Azure-AsyncOperation"), header("Location"));
    assert_eq!(
        lab.call("GET", &status, None).body.expect("body")["status"],
        "Succeeded"
    );
    lab.call("GET", &location, None)
}

/// A group with two VMs in one VNet (az vm create), the first with an NSG
/// rule that denies TCP 8080 in.
fn two_vms() -> Lab {
    let mut lab = Lab::new();
    for line in [
        "group create -n rg -l westeurope",
        "network vnet create -g rg -n vnet1 --address-prefixes 10.1.0.0/16 --subnet-name apps --subnet-prefixes 10.1.1.0/24",
        "vm create -g rg -n a --image Ubuntu2404 --vnet-name vnet1 --subnet apps --admin-username azureuser --admin-password Pa55word-Pa55word",
        "vm create -g rg -n b --image Ubuntu2404 --vnet-name vnet1 --subnet apps --admin-username azureuser --admin-password Pa55word-Pa55word",
        "network nsg rule create -g rg --nsg-name aNSG -n no8080 --priority 200 --direction Inbound --access Deny --protocol Tcp --destination-port-ranges 8080",
    ] {
        crate::az::testing::ok(&mut lab.backend, line);
    }
    lab
}

fn vm_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}")
}

fn watcher_path(action: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/{action}"
    )
}

#[test]
fn a_nics_effective_security_groups_and_routes_are_operations() {
    let mut lab = two_vms();
    let nic = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/aVMNic");
    let r = lab.call("POST", &format!("{nic}/effectiveNetworkSecurityGroups"), None);
    let doc = finished(&mut lab, r).body.expect("body");
    let groups = doc["value"].as_array().expect("value");
    assert_eq!(groups.len(), 1, "{doc}");
    assert!(
        groups[0]["networkSecurityGroup"]["id"]
            .as_str()
            .is_some_and(|s| s.ends_with("/aNSG"))
    );
    let names: Vec<&str> = groups[0]["effectiveSecurityRules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"securityRules/no8080"), "{names:?}");
    assert!(names.contains(&"defaultSecurityRules/DenyAllInBound"), "{names:?}");
    let r = lab.call("POST", &format!("{nic}/effectiveRouteTable"), None);
    let routes = finished(&mut lab, r).body.expect("body");
    assert!(routes["value"].as_array().is_some_and(|v| !v.is_empty()), "{routes}");
    // A stopped VM's NIC has neither (§8.4), as the shim says.
    let r = lab.call("POST", &format!("{}/powerOff", vm_path("a")), None);
    assert_eq!(finished(&mut lab, r).status, 204);
    let r = lab.call("POST", &format!("{nic}/effectiveNetworkSecurityGroups"), None);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body.expect("body")["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("az vm start"))
    );
}

#[test]
fn vm_power_actions_change_the_power_state() {
    let mut lab = two_vms();
    let state = |lab: &Lab| {
        lab.backend
            .model
            .virtual_machines
            .values()
            .find(|v| v.name == "a")
            .map(|v| v.power_state)
    };
    for (action, want) in [
        ("powerOff", crate::model::PowerState::Stopped),
        ("start", crate::model::PowerState::Running),
        ("deallocate", crate::model::PowerState::Deallocated),
    ] {
        let r = lab.call("POST", &format!("{}/{action}", vm_path("a")), None);
        finished(&mut lab, r);
        assert_eq!(state(&lab), Some(want), "{action}");
    }
    // Restarting a deallocated VM is refused and changes nothing.
    let r = lab.call("POST", &format!("{}/restart", vm_path("a")), None);
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(state(&lab), Some(crate::model::PowerState::Deallocated));
    let r = lab.call("POST", &format!("{}/start", vm_path("nope")), None);
    assert_eq!(r.status, 404, "{r:?}");
    // Run command: only RunShellScript, and only in a live lab.
    let r = lab.call(
        "POST",
        &format!("{}/runCommand", vm_path("b")),
        Some(json!({ "commandId": "RunPowerShellScript", "script": ["dir"] })),
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidParameter");
    let r = lab.call(
        "POST",
        &format!("{}/runCommand", vm_path("b")),
        Some(json!({ "commandId": "RunShellScript", "script": ["hostname"] })),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body.expect("body")["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("vnetlab up"))
    );
}

#[test]
fn network_watcher_answers_through_the_verdict_function() {
    let mut lab = two_vms();
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Network/networkWatchers"),
        None,
    );
    let list = r.body.expect("body");
    assert_eq!(list["value"][0]["name"], "NetworkWatcher_westeurope", "{list}");
    assert_eq!(list["value"][0]["location"], "westeurope");
    let a = "10.1.1.4";
    let b = "10.1.1.5";
    let r = lab.call(
        "POST",
        &watcher_path("nextHop"),
        Some(json!({ "targetResourceId": vm_path("a"), "sourceIPAddress": a, "destinationIPAddress": b })),
    );
    let hop = finished(&mut lab, r).body.expect("body");
    assert_eq!(hop["nextHopType"], "VnetLocal", "{hop}");
    let flow = |port: &str| {
        json!({ "targetResourceId": vm_path("a"), "direction": "Inbound", "protocol": "TCP",
                "localIPAddress": a, "localPort": port, "remoteIPAddress": b, "remotePort": "40000" })
    };
    let r = lab.call("POST", &watcher_path("ipFlowVerify"), Some(flow("8080")));
    let v = finished(&mut lab, r).body.expect("body");
    assert_eq!(
        (v["access"].as_str(), v["ruleName"].as_str()),
        (Some("Deny"), Some("securityRules/no8080")),
        "{v}"
    );
    let r = lab.call("POST", &watcher_path("ipFlowVerify"), Some(flow("22")));
    assert_eq!(finished(&mut lab, r).body.expect("body")["access"], "Allow");
    let r = lab.call(
        "POST",
        &watcher_path("connectivityCheck"),
        Some(json!({ "source": { "resourceId": vm_path("b") },
                     "destination": { "resourceId": vm_path("a"), "port": 8080 }, "protocol": "Tcp" })),
    );
    let c = finished(&mut lab, r).body.expect("body");
    assert_eq!(c["connectionStatus"], "Unreachable", "{c}");
    // Wrong watcher, wrong address, a local address that is not the VM's.
    let r = lab.call(
        "POST",
        &watcher_path("nextHop").replace("westeurope", "eastus"),
        Some(json!({})),
    );
    assert_eq!(r.status, 404);
    let r = lab.call(
        "POST",
        &watcher_path("nextHop"),
        Some(json!({ "targetResourceId": vm_path("a"), "sourceIPAddress": "ten", "destinationIPAddress": b })),
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidParameter");
    let mut wrong = flow("22");
    wrong["localIPAddress"] = json!(b);
    let r = lab.call("POST", &watcher_path("ipFlowVerify"), Some(wrong));
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidParameter");
}

#[test]
fn names_that_break_the_rules_and_missing_references_are_refused_whole() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    // Azure: a VNet name ends with a letter, digit or underscore (naming rules, §names).
    let r = lab.call(
        "PUT",
        &vnet_path("bad-"),
        Some(json!({ "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] } } })),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidResourceName");
    // A subnet naming an NSG that is not there: nothing of the VNet is made.
    let missing =
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/gone");
    let body = json!({ "location": "westeurope", "properties": {
        "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] },
        "subnets": [{ "name": "a", "properties": { "addressPrefix": "10.1.1.0/24", "networkSecurityGroup": { "id": missing } } }] } });
    let r = lab.call("PUT", &vnet_path("v1"), Some(body));
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidResourceReference");
    assert_eq!(lab.call("GET", &vnet_path("v1"), None).status, 404);
    // A reference that is not an ID at all.
    let body = json!({ "properties": { "remoteVirtualNetwork": { "id": "not-an-id" } } });
    let r = lab.call(
        "PUT",
        &format!("{}/virtualNetworkPeerings/p", vnet_path("v1")),
        Some(body),
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidResourceReference");
    // A body that is JSON but not an object; a child of a missing parent.
    let mut req = request("PUT", &vnet_path("v2"), Some(&lab.token), b"[1, 2]");
    req.query.push(("api-version".into(), "2024-05-01".into()));
    let r = lab.arm.handle("t", &req, &mut lab.backend, 200);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidRequestContent");
    let r = lab.call(
        "PUT",
        &format!("{}/subnets/s", vnet_path("nope")),
        Some(json!({ "properties": { "addressPrefix": "10.1.1.0/24" } })),
    );
    assert_eq!(r.status, 404, "{r:?}");
    // The endpoint still serves, and the lab holds what it held.
    assert_eq!(lab.call("GET", &rg_path(), None).status, 200);
    assert!(lab.backend.model.virtual_networks.is_empty());
}

#[test]
fn unknown_paths_and_methods_get_arms_bodies() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    for path in [
        "/nowhere".to_string(),
        format!("/subscriptions/{SUB}/resourceGroups/rg/somewhere"),
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/x/y/z/w/q"),
    ] {
        let r = lab.call("GET", &path, None);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        let e = &r.body.expect("body")["error"];
        assert!(
            e["code"].is_string() && e["message"].is_string() && e["details"].is_array(),
            "{e}"
        );
    }
    let r = lab.call(
        "GET",
        "/subscriptions/00000000-0000-0000-0000-00000000dead/resourcegroups",
        None,
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "SubscriptionNotFound");
    let r = lab.call(
        "PATCH",
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks"),
        None,
    );
    assert_eq!(r.status, 405);
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Nowhere?api-version=2024-11-01"),
        None,
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "NoRegisteredProviderFound");
    // A type the namespace does not have; a version its type is not served in.
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetwerks/v"),
        None,
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidResourceType");
    let r = lab.call(
        "PUT",
        &format!("{}?api-version=2014-01-01", vnet_path("v9")),
        Some(json!({ "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": ["10.9.0.0/16"] } } })),
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "NoRegisteredProviderFound");
    assert!(lab.backend.model.virtual_networks.is_empty());
}

#[test]
fn tags_ride_on_put_patch_and_get_and_bad_ones_are_refused() {
    let mut lab = Lab::new();
    let r = lab.call(
        "PUT",
        &rg_path(),
        Some(json!({ "location": "westeurope", "tags": { "env": "lab" } })),
    );
    assert_eq!(r.body.expect("body")["tags"], json!({ "env": "lab" }));
    let vnet = json!({ "location": "westeurope", "tags": { "owner": "net", "cost": "" },
        "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] } } });
    let r = lab.call("PUT", &vnet_path("v1"), Some(vnet));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body.expect("body")["tags"], json!({ "cost": "", "owner": "net" }));
    // PATCH replaces the tags whole and keeps the rest.
    let r = lab.call("PATCH", &vnet_path("v1"), Some(json!({ "tags": { "owner": "ops" } })));
    assert_eq!(r.status, 200, "{r:?}");
    let doc = r.body.expect("body");
    assert_eq!(doc["tags"], json!({ "owner": "ops" }));
    assert_eq!(doc["properties"]["addressSpace"]["addressPrefixes"][0], "10.1.0.0/16");
    let r = lab.call("GET", &vnet_path("v1"), None);
    assert_eq!(r.body.expect("body")["tags"], json!({ "owner": "ops" }));
    let r = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Network/virtualNetworks"),
        None,
    );
    assert_eq!(r.body.expect("body")["value"][0]["tags"], json!({ "owner": "ops" }));
    // A bad tag name: ARM's code, 400, nothing changed.
    let before = lab.backend.model.clone();
    let r = lab.call("PATCH", &vnet_path("v1"), Some(json!({ "tags": { "a/b": "x" } })));
    assert_eq!(r.status, 400);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidTagNameCharacters");
    let r = lab.call("PATCH", &vnet_path("v1"), Some(json!({ "tags": { "n": 5 } })));
    assert_eq!(r.status, 400);
    assert_eq!(lab.backend.model, before);
    // A PUT without tags replaces them with none: the key is gone, as ARM gives it.
    let r = lab.call(
        "PUT",
        &vnet_path("v1"),
        Some(json!({ "location": "westeurope",
            "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] } } })),
    );
    assert!(r.body.expect("body").get("tags").is_none());
}

/// Lab 08's model without its zone group: the endpoint and the zone are there.
fn lab08_without_zone_group() -> Lab {
    lab08_cut("    privateDnsZoneGroups:\n")
}

/// Lab 08's model without the lines from `from` to its private DNS zones.
fn lab08_cut(from: &str) -> Lab {
    let text = include_str!("../../labs/08-dns/topology.yaml");
    let (head, tail) = text.split_once(from).expect("lab 08 has it");
    let tail = &tail[tail.find("privateDnsZones:").expect("zones follow")..];
    let mut lab = Lab::new();
    lab.backend.model = crate::topology::Topology::parse(&format!("{head}{tail}"))
        .expect("parses")
        .build()
        .expect("builds");
    lab
}

#[test]
fn private_dns_zone_groups_put_get_list_delete_in_arms_shape() {
    let mut lab = lab08_without_zone_group();
    let pe =
        format!("/subscriptions/{SUB}/resourceGroups/dns-rg/providers/Microsoft.Network/privateEndpoints/cache-pe");
    let zone = format!(
        "/subscriptions/{SUB}/resourceGroups/dns-rg/providers/Microsoft.Network/privateDnsZones/privatelink.redis.cache.windows.net"
    );
    let group = format!("{pe}/privateDnsZoneGroups/default");
    let records = |m: &crate::model::Model| m.private_dns_zones.values().map(|z| z.record_sets.len()).sum::<usize>();
    let before = lab.backend.model.clone();
    // Refused as Azure refuses, the lab unchanged.
    let r = lab.call("PUT", &group, Some(json!({ "properties": {} })));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(format!("{:?}", r.body).contains("privateDnsZoneConfigs"), "{r:?}");
    let r = lab.call(
        "PUT",
        &group,
        Some(json!({ "properties": { "privateDnsZoneConfigs": [{ "name": "redis", "properties": { "privateDnsZoneId": "not-an-id" } }] } })),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(format!("{:?}", r.body).contains("InvalidResourceReference"), "{r:?}");
    let r = lab.call(
        "PUT",
        &group,
        Some(json!({ "properties": { "privateDnsZoneConfigs": [{ "name": "redis", "properties": { "privateDnsZoneId": format!("{zone}x") } }] } })),
    );
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(lab.backend.model, before);

    let body = json!({ "properties": { "privateDnsZoneConfigs": [
        { "name": "redis", "properties": { "privateDnsZoneId": zone } }
    ] } });
    let r = lab.call("PUT", &group, Some(body.clone()));
    assert!(r.status == 200 || r.status == 201, "{r:?}");
    let got = r.body.expect("the group");
    let config = &got["properties"]["privateDnsZoneConfigs"][0];
    assert_eq!(config["name"], "redis");
    assert_eq!(config["properties"]["privateDnsZoneId"], zone.as_str());
    // recordSets are read-only: what the group wrote.
    assert_eq!(config["properties"]["recordSets"][0]["recordSetName"], "dnslab-cache");
    assert_eq!(config["properties"]["recordSets"][0]["ipAddresses"][0], "10.10.1.6");
    assert_eq!(got["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        records(&lab.backend.model),
        records(&before) + 1,
        "the endpoint's A record"
    );
    // A second PUT of the same body changes nothing (idempotent).
    assert!(lab.call("PUT", &group, Some(body)).status < 300);
    assert_eq!(records(&lab.backend.model), records(&before) + 1);

    assert_eq!(lab.call("GET", &group, None).body.expect("group")["name"], "default");
    let list = lab.call("GET", &format!("{pe}/privateDnsZoneGroups"), None);
    assert_eq!(list.body.expect("list")["value"].as_array().map(Vec::len), Some(1));
    // Azure holds one group per endpoint.
    let other = json!({ "properties": { "privateDnsZoneConfigs": [{ "name": "r", "properties": { "privateDnsZoneId": zone } }] } });
    let r = lab.call("PUT", &format!("{pe}/privateDnsZoneGroups/other"), Some(other));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(format!("{:?}", r.body).contains("Cannot create more than one"), "{r:?}");

    let r = lab.call("DELETE", &group, None);
    assert!(r.status < 300, "{r:?}");
    assert_eq!(lab.call("GET", &group, None).status, 404);
    assert_eq!(records(&lab.backend.model), records(&before), "its record goes with it");
}

/// Load balancers and Redis caches (src/arm/put_balancer.rs).
mod balancer;
/// The tags service (src/arm/tags.rs).
mod tags;

#[test]
fn private_endpoints_put_as_az_sends_them_get_and_delete() {
    // Lab 08 without its endpoint (and so without its zone group).
    let mut lab = lab08_cut("privateEndpoints:\n");
    let text = include_str!("../../labs/08-dns/topology.yaml");
    let rg = format!("/subscriptions/{SUB}/resourceGroups/dns-rg/providers");
    let pe = format!("{rg}/Microsoft.Network/privateEndpoints/cache-pe?api-version=2024-05-01");
    let cache = format!("{rg}/Microsoft.Cache/redis/dnslab-cache");
    let subnet = format!("{rg}/Microsoft.Network/virtualNetworks/AppVNet/subnets/Apps");
    // What az 2.91's `network private-endpoint create` sends (aaz _create.py).
    let body = |target: &str, group: &str| {
        json!({ "location": "westeurope", "properties": {
            "privateLinkServiceConnections": [{ "name": "cache-pe-connection",
                "properties": { "groupIds": [group], "privateLinkServiceId": target } }],
            "subnet": { "id": subnet } } })
    };
    let before = lab.backend.model.clone();
    // Refusals in the model's (and so az's and the topology's) words; the lab unchanged.
    let r = lab.call("PUT", &pe, Some(body(&format!("{cache}x"), "redisCache")));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(format!("{:?}", r.body).contains("was not found"), "{r:?}");
    let r = lab.call("PUT", &pe, Some(body(&cache, "sql")));
    assert!(format!("{:?}", r.body).contains("redisCache"), "{r:?}");
    let r = lab.call(
        "PUT",
        &pe,
        Some(json!({ "location": "westeurope", "properties": { "subnet": { "id": subnet } } })),
    );
    assert!(format!("{:?}", r.body).contains("exactly one"), "{r:?}");
    let mut manual = body(&cache, "redisCache");
    manual["properties"]["manualPrivateLinkServiceConnections"] =
        manual["properties"]["privateLinkServiceConnections"].take();
    let r = lab.call("PUT", &pe, Some(manual));
    assert!(format!("{:?}", r.body).contains("auto-approved"), "{r:?}");
    let mut no_subnet = body(&cache, "redisCache");
    no_subnet["properties"]["subnet"] = json!(null);
    assert_eq!(lab.call("PUT", &pe, Some(no_subnet)).status, 400);
    assert_eq!(lab.backend.model, before);

    let r = lab.call("PUT", &pe, Some(body(&cache, "redisCache")));
    assert!(r.status == 200 || r.status == 201, "{r:?}");
    let got = lab.call("GET", &pe, None).body.expect("the endpoint");
    let c = &got["properties"]["privateLinkServiceConnections"][0];
    assert_eq!(c["name"], "cache-pe-connection");
    // Asked as the request path spells the type, answered as ARM answers it.
    let answered = cache.replace("/Microsoft.Cache/redis/", "/Microsoft.Cache/Redis/");
    assert_eq!(c["properties"]["privateLinkServiceId"], answered.as_str());
    assert_eq!(c["properties"]["groupIds"][0], "redisCache");
    // The NIC Azure makes for it, `<name>.nic.<guid>`, and an address in the subnet.
    let nic = got["properties"]["networkInterfaces"][0]["id"].as_str().expect("a NIC");
    assert!(nic.contains("/networkInterfaces/cache-pe.nic."), "{nic}");
    let ip = got["properties"]["customDnsConfigs"][0]["ipAddresses"][0]
        .as_str()
        .expect("an IP");
    assert!(ip.starts_with("10.10.1."), "{ip}");
    // The NIC has a GET in ARM's shape, is listed in its group, and the endpoint owns it.
    let nic_url = format!("{nic}?api-version=2024-05-01");
    let n = lab.call("GET", &nic_url, None).body.expect("the endpoint's NIC");
    assert_eq!(n["id"], nic);
    assert_eq!(n["type"], "Microsoft.Network/networkInterfaces");
    assert!(
        n["properties"]["privateEndpoint"]["id"]
            .as_str()
            .is_some_and(|p| pe.starts_with(p))
    );
    let config = &n["properties"]["ipConfigurations"][0];
    assert!(
        config["name"]
            .as_str()
            .is_some_and(|s| s.starts_with("privateEndpointIpConfig."))
    );
    assert_eq!(config["properties"]["privateIPAddress"], ip);
    assert_eq!(config["properties"]["privateIPAllocationMethod"], "Dynamic");
    assert_eq!(config["properties"]["subnet"]["id"], subnet.as_str());
    let link = &config["properties"]["privateLinkConnectionProperties"];
    assert_eq!(link["groupId"], "redisCache");
    assert_eq!(link["requiredMemberName"], "redisCache");
    assert_eq!(link["fqdns"], json!(["dnslab-cache.redis.cache.windows.net"]));
    let nics = format!("{rg}/Microsoft.Network/networkInterfaces?api-version=2024-05-01");
    let listed = lab.call("GET", &nics, None).body.expect("the group's NICs");
    assert!(
        listed["value"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|v| v["id"] == nic)
    );
    let before = lab.backend.model.clone();
    let tags = json!({ "tags": { "env": "lab" } });
    for (verb, body) in [("PUT", Some(n.clone())), ("PATCH", Some(tags)), ("DELETE", None)] {
        let r = lab.call(verb, &nic_url, body);
        assert_eq!(r.status, 400, "{verb} {r:?}");
        assert!(
            format!("{:?}", r.body).contains("CannotModifyNicAttachedToPrivateEndpoint"),
            "{r:?}"
        );
    }
    assert_eq!(lab.backend.model, before);
    // The same spec as the topology loader's: the model equals lab 08's without zone groups.
    let full = crate::topology::Topology::parse(text)
        .expect("parses")
        .build()
        .expect("builds");
    let (ours, theirs) = (
        &lab.backend.model.private_endpoints.values().next().expect("one"),
        full.private_endpoints.values().next().expect("one"),
    );
    assert_eq!(
        (
            &ours.subnet,
            &ours.private_link_service_id,
            &ours.group_ids,
            &ours.connection_name,
            ours.private_ip_address
        ),
        (
            &theirs.subnet,
            &theirs.private_link_service_id,
            &theirs.group_ids,
            &theirs.connection_name,
            theirs.private_ip_address
        )
    );
    assert!(lab.call("DELETE", &pe, None).status < 300);
    assert_eq!(lab.call("GET", &pe, None).status, 404);
    assert_eq!(
        lab.call("GET", &nic_url, None).status,
        404,
        "the NIC goes with its endpoint"
    );
    assert_eq!(lab.backend.model.private_endpoints.len(), 0);
}
