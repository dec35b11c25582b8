//! AKS managed clusters on the ARM endpoint: the PUT az aks create sends,
//! GET and list in ARM's shape, the export round trip, DELETE.

use serde_json::{Value, json};

use super::tests::Lab;
use crate::model::DEFAULT_SUBSCRIPTION_ID;

const SUB: &str = DEFAULT_SUBSCRIPTION_ID;
const V: &str = "api-version=2025-07-01";

fn rg() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-aks")
}

fn cluster_path() -> String {
    format!("{}/providers/Microsoft.ContainerService/managedClusters/aks1?{V}", rg())
}

fn subnet() -> String {
    format!(
        "{}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes",
        rg()
    )
}

/// A group with a VNet whose subnet takes the nodes.
fn lab() -> Lab {
    let mut lab = Lab::new();
    assert!(
        lab.call("PUT", &rg(), Some(json!({ "location": "canadacentral" })))
            .status
            < 300
    );
    let vnet = json!({ "location": "canadacentral", "properties": {
        "addressSpace": { "addressPrefixes": ["10.0.0.0/14"] },
        "subnets": [{ "name": "nodes", "properties": { "addressPrefix": "10.1.0.0/24" } }] } });
    let r = lab.call(
        "PUT",
        &format!("{}/providers/Microsoft.Network/virtualNetworks/vnet", rg()),
        Some(vnet),
    );
    assert!(r.status < 300, "{r:?}");
    lab
}

/// What az 2.91's `az aks create --network-plugin azure --network-plugin-mode overlay …` PUTs.
fn create_body(pod_cidr: &str) -> Value {
    json!({
        "location": "canadacentral",
        "identity": { "type": "SystemAssigned" },
        "sku": { "name": "Base", "tier": "Free" },
        "properties": {
            "kubernetesVersion": "", "dnsPrefix": "aks1-rgaks-000000", "enableRBAC": true,
            "linuxProfile": { "adminUsername": "azureuser", "ssh": { "publicKeys": [{ "keyData": "ssh-rsa AAAA" }] } },
            "agentPoolProfiles": [{ "count": 2, "vmSize": "Standard_DS2_v2", "osType": "Linux", "type": "VirtualMachineScaleSets",
                "mode": "System", "name": "nodepool1", "vnetSubnetID": subnet() }],
            "networkProfile": { "networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": pod_cidr,
                "serviceCidr": "10.100.0.0/16", "dnsServiceIP": "10.100.0.10", "outboundType": "loadBalancer" },
        },
    })
}

#[test]
fn a_cluster_put_as_az_sends_it_makes_the_nodes_and_reads_back_in_arms_shape() {
    let mut lab = lab();
    let r = lab.call("PUT", &cluster_path(), Some(create_body("10.32.0.0/13")));
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.headers.iter().any(|(k, _)| k == "Azure-AsyncOperation"));
    let m = &lab.backend.model;
    let c = m.managed_clusters.values().next().expect("the cluster");
    assert_eq!(c.agent_pools[0].nodes.len(), 2);
    assert_eq!(c.network_profile.pod_cidr.to_string(), "10.32.0.0/13");
    let doc = lab.call("GET", &cluster_path(), None).body.expect("body");
    let p = &doc["properties"];
    assert_eq!(p["agentPoolProfiles"][0]["vnetSubnetID"], subnet().as_str());
    assert_eq!(p["agentPoolProfiles"][0]["count"], 2);
    assert_eq!(p["networkProfile"]["dnsServiceIP"], "10.100.0.10");
    assert_eq!(p["networkProfile"]["networkPluginMode"], "overlay");
    assert_eq!(p["nodeResourceGroup"], "MC_rg-aks_aks1_canadacentral");
    // az aks create reads the identity's principal to grant it the subnet.
    assert_eq!(doc["identity"]["type"], "SystemAssigned");
    assert!(doc["identity"]["principalId"].as_str().is_some_and(|s| s.len() == 36));
    let pools = lab.call(
        "GET",
        &format!(
            "{}/providers/Microsoft.ContainerService/managedClusters/aks1/agentPools?{V}",
            rg()
        ),
        None,
    );
    let pool = &pools.body.expect("body")["value"][0];
    assert_eq!(pool["type"], "Microsoft.ContainerService/managedClusters/agentPools");
    assert_eq!(pool["properties"]["type"], "VirtualMachineScaleSets");
    let list = lab.call(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters?{V}"),
        None,
    );
    assert_eq!(list.body.expect("body")["value"][0]["name"], "aks1");
    // Azure: a new pod CIDR on an existing cluster is refused, lab unchanged.
    let r = lab.call("PUT", &cluster_path(), Some(create_body("10.40.0.0/13")));
    assert_eq!(r.body.expect("body")["error"]["code"], "PropertyChangeNotAllowed");
    let r = lab.call("DELETE", &cluster_path(), None);
    assert_eq!(r.status, 202, "{r:?}");
    assert!(lab.backend.model.managed_clusters.is_empty());
    assert!(
        lab.backend.model.virtual_machines.is_empty(),
        "the nodes go with the cluster"
    );
}

#[test]
fn a_pod_cidr_over_the_vnet_is_the_models_refusal() {
    let mut lab = lab();
    let r = lab.call("PUT", &cluster_path(), Some(create_body("10.1.0.0/16")));
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "NetworkProfileCIDROverlapVNET");
    assert!(lab.backend.model.managed_clusters.is_empty());
}

#[test]
fn an_exported_cluster_deploys_into_a_fresh_lab_with_the_same_nodes() {
    let mut lab = lab();
    assert!(
        lab.call("PUT", &cluster_path(), Some(create_body("10.32.0.0/13")))
            .status
            < 300
    );
    let r = lab.call(
        "POST",
        &format!("{}/exportTemplate?api-version=2024-11-01", rg()),
        Some(json!({})),
    );
    let template = r.body.expect("body")["template"].clone();
    let cluster = template["resources"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|r| r["type"] == "Microsoft.ContainerService/managedClusters")
        })
        .expect("the cluster is exported")
        .clone();
    assert_eq!(cluster["dependsOn"].as_array().map(Vec::len), Some(1), "{cluster}");

    let mut fresh = Lab::new();
    assert!(
        fresh
            .call("PUT", &rg(), Some(json!({ "location": "canadacentral" })))
            .status
            < 300
    );
    let dep = format!(
        "{}/providers/Microsoft.Resources/deployments/rebuild?api-version=2024-03-01",
        rg()
    );
    let r = fresh.call(
        "PUT",
        &dep,
        Some(json!({ "properties": { "template": template, "mode": "Incremental" } })),
    );
    assert!(r.status < 300, "{r:?}");
    let nodes = |l: &Lab| -> Vec<(String, String)> {
        l.backend
            .model
            .managed_clusters
            .values()
            .flat_map(|c| c.nodes().map(|n| (n.name.clone(), n.pod_cidr.to_string())))
            .collect()
    };
    assert_eq!(nodes(&fresh).len(), 2);
    assert_eq!(nodes(&fresh), nodes(&lab));
}

/// What az aks create does around the PUT: lists the subnet's role
/// assignments at scope, then (after the PUT) reads the cluster's identity,
/// resolves Network Contributor and assigns it on the subnet.
#[test]
fn az_aks_create_grants_the_clusters_identity_network_contributor_on_the_subnet() {
    let mut lab = lab();
    let at = |what: &str| format!("{}/providers/Microsoft.Authorization/{what}", subnet());
    let r = lab.call(
        "GET",
        &format!("{}?api-version=2022-04-01&$filter=atScope()", at("roleAssignments")),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body.expect("body")["value"], json!([]));
    assert!(
        lab.call("PUT", &cluster_path(), Some(create_body("10.32.0.0/13")))
            .status
            < 300
    );
    let principal = lab.call("GET", &cluster_path(), None).body.expect("body")["identity"]["principalId"].clone();
    let r = lab.call(
        "GET",
        &format!(
            "{}?api-version=2022-04-01&$filter=roleName eq 'Network Contributor'",
            at("roleDefinitions")
        ),
        None,
    );
    let defs = r.body.expect("body");
    assert_eq!(defs["value"].as_array().map(Vec::len), Some(1), "{defs}");
    let definition = defs["value"][0]["id"].clone();
    assert!(
        definition
            .as_str()
            .is_some_and(|d| d.ends_with("4d97b98b-1d4f-4787-a291-c67834d212e7"))
    );
    let body = json!({ "properties": { "roleDefinitionId": definition, "principalId": principal, "principalType": "ServicePrincipal" } });
    let put = format!(
        "{}/0a1b2c3d-0000-4000-8000-000000000001?api-version=2022-04-01",
        at("roleAssignments")
    );
    let r = lab.call("PUT", &put, Some(body.clone()));
    assert_eq!(r.status, 201, "{r:?}");
    // What subnet_role_assignment_exists then finds.
    let r = lab.call(
        "GET",
        &format!("{}?api-version=2022-04-01&$filter=atScope()", at("roleAssignments")),
        None,
    );
    let v = r.body.expect("body")["value"].clone();
    assert_eq!(v[0]["properties"]["scope"], subnet().as_str(), "{v}");
    assert_eq!(v[0]["properties"]["principalId"], principal);
    // Azure: the same principal, role and scope under another name is RoleAssignmentExists.
    let again = format!(
        "{}/0a1b2c3d-0000-4000-8000-000000000002?api-version=2022-04-01",
        at("roleAssignments")
    );
    let r = lab.call("PUT", &again, Some(body));
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "RoleAssignmentExists");
    // An unknown role definition is refused in ARM's words.
    let bogus = json!({ "properties": { "roleDefinitionId": "/x/roleDefinitions/nope", "principalId": "p" } });
    let r = lab.call("PUT", &again, Some(bogus));
    assert_eq!(r.body.expect("body")["error"]["code"], "RoleDefinitionDoesNotExist");
    // No effect on the network: the lab has no principal for the identity.
    assert!(lab.backend.model.role_assignments.is_empty());
    assert_eq!(lab.call("DELETE", &put, None).status, 200);
    assert_eq!(lab.call("DELETE", &put, None).status, 204);
}
