//! The ARM surface on a lab in memory: the same requests az sends.

use serde_json::{Value, json};

use super::*;
use crate::az::MemoryBackend;
use crate::model::DEFAULT_SUBSCRIPTION_ID;

const SUB: &str = DEFAULT_SUBSCRIPTION_ID;

struct Lab {
    arm: Arm,
    backend: MemoryBackend,
    token: String,
}

impl Lab {
    fn new() -> Self {
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

    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Response {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = request(method, path, Some(&self.token), &bytes);
        if !path.contains("api-version") {
            req.query.push(("api-version".into(), "2024-05-01".into()));
        }
        self.arm.handle("t", &req, &mut self.backend, 200)
    }
}

fn request(method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Request {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    Request {
        method: method.into(),
        path: path.into(),
        query: auth::form(query.as_bytes()),
        authorization: token.map(|t| format!("Bearer {t}")),
        if_match: None,
        if_none_match: None,
        body: body.to_vec(),
    }
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
    req.query.push(("api-version".into(), "2024-05-01".into()));
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
