//! Load balancers, NIC backend pool membership and Redis caches as the real
//! az 2.91 puts them: `lb create` (its deployment's resource), `lb probe
//! create` / `lb rule create` (GET the load balancer, PUT it whole), `lb
//! address-pool create` (PUT of the pool), `nic ip-config address-pool add`
//! (GET the NIC, PUT it whole) and `redis create` (PUT of the cache).

use super::*;

fn net(kind: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/{kind}/{name}")
}

fn subnet_id(name: &str) -> String {
    format!("{}/subnets/{name}", net("virtualNetworks", "vnet2"))
}

/// A VNet with a backend and a redis subnet; VM `a` with az's Standard
/// public IP, VM `b` without one.
fn backends() -> Lab {
    let mut lab = Lab::new();
    for line in [
        "group create -n rg -l japanwest",
        "network vnet create -g rg -n vnet2 --address-prefixes 10.2.0.0/16 --subnet-name backend --subnet-prefixes 10.2.0.0/24",
        "network vnet subnet create -g rg --vnet-name vnet2 -n redis --address-prefixes 10.2.1.0/24",
        "vm create -g rg -n a --image Ubuntu2404 --vnet-name vnet2 --subnet backend --admin-username azureuser --admin-password Pa55word-Pa55word",
        "vm create -g rg -n b --image Ubuntu2404 --vnet-name vnet2 --subnet backend --public-ip-address '' --admin-username azureuser --admin-password Pa55word-Pa55word",
    ] {
        crate::az::testing::ok(&mut lab.backend, line);
    }
    lab
}

/// The resource `build_load_balancer_resource` (azure-cli's
/// `_template_builder.py`) makes for an internal load balancer.
fn lb_body(name: &str, sku: &str, ip: &str) -> Value {
    json!({ "location": "japanwest", "sku": { "name": sku }, "tags": {}, "properties": {
        "backendAddressPools": [{ "name": format!("{name}bepool") }],
        "frontendIPConfigurations": [{ "name": "LoadBalancerFrontEnd", "properties": {
            "privateIPAllocationMethod": "Static", "privateIPAddress": ip,
            "subnet": { "id": subnet_id("backend") } } }] } })
}

/// What `lb probe create` and `lb rule create` do: the GET body, changed, PUT back.
fn with_probe_and_rule(mut lb: Value, name: &str) -> Value {
    let id = net("loadBalancers", name);
    let p = &mut lb["properties"];
    p["probes"] =
        json!([{ "name": "ssh-probe", "properties": { "protocol": "Tcp", "port": 22, "intervalInSeconds": 5 } }]);
    p["loadBalancingRules"] = json!([{ "name": "ssh-2222", "properties": {
        "protocol": "Tcp", "frontendPort": 2222, "backendPort": 22,
        "frontendIPConfiguration": { "id": format!("{id}/frontendIPConfigurations/LoadBalancerFrontEnd") },
        "backendAddressPool": { "id": format!("{id}/backendAddressPools/{name}bepool") },
        "probe": { "id": format!("{id}/probes/ssh-probe") } } }]);
    lb
}

/// What `nic ip-config address-pool add` does: the NIC's GET body with the
/// pool added to its IP configuration, PUT back.
fn join(lab: &mut Lab, nic: &str, pool: &str) -> Response {
    let mut body = lab.call("GET", &net("networkInterfaces", nic), None).body.expect("nic");
    let config = &mut body["properties"]["ipConfigurations"][0]["properties"];
    let mut pools = config["loadBalancerBackendAddressPools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    pools.push(json!({ "id": pool }));
    config["loadBalancerBackendAddressPools"] = Value::Array(pools);
    lab.call("PUT", &net("networkInterfaces", nic), Some(body))
}

#[test]
fn load_balancers_and_backend_pools_as_az_sends_them() {
    let mut lab = backends();
    // `lb create --vnet-name --subnet` first asks whether the VNet is there
    // (azure-cli's resource_exists: a generic list with a $filter).
    let exists = |lab: &mut Lab, scope: &str, vnet: &str| {
        let filter = format!(
            "resourceGroup%20eq%20'rg'%20and%20name%20eq%20'{vnet}'%20and%20resourceType%20eq%20'Microsoft.Network/virtualNetworks'"
        );
        let r = lab.call(
            "GET",
            &format!("{scope}/resources?$filter={filter}&api-version=2024-11-01"),
            None,
        );
        assert_eq!(r.status, 200, "{r:?}");
        r.body.expect("list")["value"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(exists(&mut lab, &format!("/subscriptions/{SUB}"), "vnet2"), 1);
    assert_eq!(
        exists(&mut lab, &format!("/subscriptions/{SUB}/resourceGroups/rg"), "vnet2"),
        1
    );
    assert_eq!(exists(&mut lab, &format!("/subscriptions/{SUB}"), "vnet9"), 0);
    let std = net("loadBalancers", "std-ilb");
    let r = lab.call("PUT", &std, Some(lb_body("std-ilb", "Standard", "10.2.0.100")));
    assert_eq!(r.status, 201, "{r:?}");
    let got = lab.call("GET", &std, None).body.expect("lb");
    assert_eq!(got["sku"]["name"], "Standard");
    let frontend = &got["properties"]["frontendIPConfigurations"][0]["properties"];
    assert_eq!(frontend["privateIPAddress"], "10.2.0.100");
    assert_eq!(frontend["privateIPAllocationMethod"], "Static");

    let r = lab.call("PUT", &std, Some(with_probe_and_rule(got, "std-ilb")));
    assert_eq!(r.status, 200, "{r:?}");
    let model = &lab.backend.model.load_balancers[&ResourceId::parse(&std).unwrap()];
    assert_eq!(model.probes[0].interval_in_seconds, 5);
    assert_eq!(model.load_balancing_rules[0].frontend_port, 2222);
    assert_eq!(
        model.load_balancing_rules[0].probe.as_ref().map(|p| p.name()),
        Some("ssh-probe")
    );
    // A part's GET, as `lb probe show` or `lb address-pool show` may ask.
    let probe = lab.call("GET", &format!("{std}/probes/ssh-probe"), None);
    assert_eq!(probe.body.expect("probe")["properties"]["port"], 22);

    // `lb address-pool create`: a PUT of the pool alone keeps the rest.
    let r = lab.call(
        "PUT",
        &format!("{std}/backendAddressPools/second"),
        Some(json!({ "properties": {} })),
    );
    assert!(matches!(r.status, 200 | 201), "{r:?}");
    let model = &lab.backend.model.load_balancers[&ResourceId::parse(&std).unwrap()];
    assert_eq!(model.backend_address_pools.len(), 2);
    assert_eq!(model.load_balancing_rules.len(), 1);

    let r = join(&mut lab, "aVMNic", &format!("{std}/backendAddressPools/std-ilbbepool"));
    assert_eq!(r.status, 200, "{r:?}");
    let pool = lab.call("GET", &format!("{std}/backendAddressPools/std-ilbbepool"), None);
    let members = pool.body.expect("pool")["properties"]["backendIPConfigurations"].clone();
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");

    // A rule that names another load balancer's pool is refused whole.
    let mut stray = with_probe_and_rule(lab.call("GET", &std, None).body.expect("lb"), "std-ilb");
    stray["properties"]["loadBalancingRules"][0]["properties"]["backendAddressPool"]["id"] =
        json!(format!("{}/backendAddressPools/x", net("loadBalancers", "other")));
    let r = lab.call("PUT", &std, Some(stray));
    assert_eq!(r.status, 400);
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidResourceReference");

    // The pool a NIC and a rule use cannot go; the unused one can.
    let r = lab.call("DELETE", &format!("{std}/backendAddressPools/std-ilbbepool"), None);
    assert!(r.status >= 400, "{r:?}");
    let r = lab.call("DELETE", &format!("{std}/backendAddressPools/second"), None);
    assert_eq!(r.status, 202, "{r:?}");
    let model = &lab.backend.model.load_balancers[&ResourceId::parse(&std).unwrap()];
    assert_eq!(model.backend_address_pools.len(), 1);
}

#[test]
fn a_nic_put_that_mixes_skus_is_refused_and_changes_nothing() {
    let mut lab = backends();
    let basic = net("loadBalancers", "basic-ilb");
    let r = lab.call("PUT", &basic, Some(lb_body("basic-ilb", "Basic", "10.2.0.101")));
    assert_eq!(r.status, 201, "{r:?}");
    let before = lab.backend.model.clone();
    // VM a's NIC has az's Standard public IP: no Basic load balancer for it.
    let r = join(
        &mut lab,
        "aVMNic",
        &format!("{basic}/backendAddressPools/basic-ilbbepool"),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(
        r.body.expect("body")["error"]["code"],
        "DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed"
    );
    assert_eq!(lab.backend.model, before);
    // VM b's has none: it joins.
    let r = join(
        &mut lab,
        "bVMNic",
        &format!("{basic}/backendAddressPools/basic-ilbbepool"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    // A public frontend is not emulated, in a sentence that says what to give.
    let mut public = lb_body("pub-lb", "Standard", "10.2.0.102");
    public["properties"]["frontendIPConfigurations"][0]["properties"] =
        json!({ "publicIPAddress": { "id": net("publicIPAddresses", "aPublicIP") } });
    let r = lab.call("PUT", &net("loadBalancers", "pub-lb"), Some(public));
    assert_eq!(r.status, 400);
    let message = r.body.expect("body")["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("internal load balancers only"), "{message}");
    assert_eq!(lab.call("GET", &net("loadBalancers", "pub-lb"), None).status, 404);
}

fn cache(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Cache/redis/{name}?api-version=2024-11-01")
}

#[test]
fn redis_caches_as_the_sdk_puts_them() {
    let mut lab = backends();
    // azure-mgmt-redis's RedisCreateParameters: sku and staticIP under properties.
    let body = json!({ "location": "japanwest", "properties": {
        "sku": { "name": "Premium", "family": "P", "capacity": 1 }, "enableNonSslPort": true,
        "subnetId": subnet_id("redis"), "staticIP": "10.2.1.10", "minimumTlsVersion": "1.2" } });
    let r = lab.call("PUT", &cache("lb-cache"), Some(body));
    assert!(matches!(r.status, 200 | 201), "{r:?}");
    let got = lab.call("GET", &cache("lb-cache"), None).body.expect("cache");
    assert_eq!(
        got["properties"]["sku"],
        json!({ "capacity": 1, "family": "P", "name": "Premium" })
    );
    assert_eq!(got["properties"]["staticIP"], "10.2.1.10");
    assert!(got.get("sku").is_none(), "{got}");
    let model = lab.backend.model.redis_caches.values().next().expect("cache");
    assert_eq!(model.vm_size, "P1");
    assert!(model.enable_non_ssl_port);

    // Only Premium caches go into a subnet: refused, nothing created.
    let before = lab.backend.model.clone();
    let standard = json!({ "location": "japanwest", "properties": {
        "sku": { "name": "Standard", "family": "C", "capacity": 1 }, "subnetId": subnet_id("redis") } });
    let r = lab.call("PUT", &cache("lb-cache-2"), Some(standard));
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidParameter");
    assert_eq!(lab.backend.model, before);

    let r = lab.call("DELETE", &cache("lb-cache"), None);
    assert_eq!(r.status, 202, "{r:?}");
    assert!(lab.backend.model.redis_caches.is_empty());
}

#[test]
fn a_caches_keys_are_its_list_keys_action() {
    let mut lab = backends();
    let body = json!({ "location": "japanwest", "properties": { "sku": { "name": "Standard", "family": "C", "capacity": 1 } } });
    lab.call("PUT", &cache("keyed"), Some(body));
    let keys = lab.call(
        "POST",
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Cache/redis/keyed/listKeys?api-version=2024-11-01"),
        None,
    );
    assert_eq!(keys.status, 200, "{keys:?}");
    let model = lab.backend.model.redis_caches.values().next().expect("cache");
    assert_eq!(keys.body.expect("keys")["primaryKey"], model.primary_key.as_str());
    let missing = lab.call(
        "POST",
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Cache/redis/nope/listKeys?api-version=2024-11-01"),
        None,
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn a_template_puts_a_load_balancer_then_a_pool_of_its_own() {
    let lab = backends();
    let group = ResourceId::resource_group(SUB, "rg");
    let mut lb = lb_body("t-ilb", "Standard", "10.2.0.110");
    lb["type"] = json!("Microsoft.Network/loadBalancers");
    lb["apiVersion"] = json!("2024-05-01");
    lb["name"] = json!("t-ilb");
    let template = json!({ "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": [lb,
        { "type": "Microsoft.Network/loadBalancers/backendAddressPools", "apiVersion": "2024-05-01",
          "name": "t-ilb/extra", "dependsOn": ["[resourceId('Microsoft.Network/loadBalancers', 't-ilb')]"] }] });
    let changes = super::super::export::deploy(&lab.backend.model, &group, &template, &json!({})).expect("deploys");
    let mut m = lab.backend.model.clone();
    m.apply_all(changes).expect("applies");
    let lb = &m.load_balancers[&ResourceId::parse(&net("loadBalancers", "t-ilb")).unwrap()];
    let pools: Vec<&str> = lb.backend_address_pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pools, ["t-ilbbepool", "extra"]);
    assert!(m.opaque_resources.is_empty());
}

/// The shim warns as az 2.91's `lb create` does (the differential test
/// compares stderr's first line).
#[test]
fn the_shims_lb_create_warns_as_az_does() {
    let mut lab = backends();
    let (code, _, err) = crate::az::testing::sh(
        &mut lab.backend,
        "network lb create -g rg -n b-ilb --sku Basic --vnet-name vnet2 --subnet backend --private-ip-address 10.2.0.120 -o none",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "WARNING: Please note that the default public IP used for creation will be changed from Basic to Standard in the future.",
            "WARNING: It's recommended to create with `--sku standard`. Please be aware that Basic option will be removed in the future.",
        ]
    );
}
