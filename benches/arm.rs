//! The ARM endpoint beside the az shim, doing the same work on the same
//! lab in memory (no TLS, no daemon: the request handlers themselves):
//!
//! * GET of one NSG rule (ARM `GET …/securityRules/r`, shim `network nsg
//!   rule show`), median and p99;
//! * PUT of an NSG rule that exists (ARM `PUT`, shim `network nsg rule
//!   create` of the same rule), median and p99;
//! * 1 000 NSG rule PUTs in a row into an empty NSG, total.
//!
//! The lab holds 40 VNets, 40 NSGs of 20 rules and 40 VMs, so a handler
//! that walks the whole model per request shows. `scripts/bench arm` runs
//! this; it prints ARM/shim ratios, no pass/fail.

use std::time::{Duration, Instant};

use serde_json::json;
use vnetlab::arm::{Arm, Request, auth};
use vnetlab::az::{MemoryBackend, run};
use vnetlab::model::{DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID};

const GROUPS: usize = 40;
const RULES: usize = 20;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` (CI) runs this file
/// without it, as a smoke test that must stay fast in a debug build.
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn samples() -> usize {
    if measuring() { 200 } else { 5 }
}

fn in_a_row() -> usize {
    if measuring() { 1000 } else { 20 }
}

fn az(b: &mut MemoryBackend, line: &str) {
    let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&argv, b, &mut out, &mut err);
    assert_eq!(code, 0, "az {line}: {}", String::from_utf8_lossy(&err));
}

fn lab() -> MemoryBackend {
    let mut b = MemoryBackend::new();
    az(&mut b, "group create -n rg -l westeurope");
    for i in 0..GROUPS {
        az(
            &mut b,
            &format!(
                "network vnet create -g rg -n v{i} --address-prefixes 10.{i}.0.0/16 --subnet-name s --subnet-prefixes 10.{i}.0.0/24"
            ),
        );
        az(&mut b, &format!("network nsg create -g rg -n n{i}"));
        for r in 0..RULES {
            az(
                &mut b,
                &format!(
                    "network nsg rule create -g rg --nsg-name n{i} -n r{r} --priority {} --destination-port-ranges {}",
                    100 + r,
                    1000 + r
                ),
            );
        }
        az(
            &mut b,
            &format!(
                "vm create -g rg -n vm{i} --image Ubuntu2404 --vnet-name v{i} --subnet s --nsg n{i} --admin-username azureuser --admin-password Pa55word-Pa55word"
            ),
        );
    }
    az(&mut b, "network nsg create -g rg -n arm-row");
    az(&mut b, "network nsg create -g rg -n shim-row");
    b
}

struct Client {
    arm: Arm,
    token: String,
}

impl Client {
    fn new(b: &mut MemoryBackend) -> Self {
        let mut arm = Arm::new(b"bench-key", "https://127.0.0.1:4443");
        let secret = arm.keys().client_secret(auth::LAB_PRINCIPAL_APP_ID);
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}",
            auth::LAB_PRINCIPAL_APP_ID
        );
        let r = arm.handle(
            "bench",
            &request(
                "POST",
                &format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"),
                None,
                body.into_bytes(),
            ),
            b,
            1,
        );
        let token = r.body.expect("token body")["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        Client { arm, token }
    }

    fn call(&mut self, b: &mut MemoryBackend, method: &str, path: &str, body: Vec<u8>) -> u16 {
        let r = self
            .arm
            .handle("bench", &request(method, path, Some(&self.token), body), b, 2);
        assert!(r.status < 300, "{method} {path}: {r:?}");
        r.status
    }
}

fn request(method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        query: vec![("api-version".into(), "2024-05-01".into())],
        authorization: token.map(|t| format!("Bearer {t}")),
        if_match: None,
        if_none_match: None,
        auxiliary: None,
        body,
    }
}

fn rule_path(nsg: &str, rule: &str) -> String {
    format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/{nsg}/securityRules/{rule}"
    )
}

fn rule_body(priority: usize, port: usize) -> Vec<u8> {
    json!({ "properties": { "priority": priority, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
        "destinationPortRange": port.to_string() } })
    .to_string()
    .into_bytes()
}

/// Median and 99th percentile of `samples()` runs of `f`.
fn sample(mut f: impl FnMut(usize)) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..samples())
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    times.sort();
    let n = times.len();
    (times[n / 2], times[n * 99 / 100])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(what: &str, arm: (Duration, Duration), shim: (Duration, Duration)) {
    println!(
        "{what:<22} ARM median {:8.3} ms  p99 {:8.3} ms | shim median {:8.3} ms  p99 {:8.3} ms | ARM/shim {:5.2}",
        ms(arm.0),
        ms(arm.1),
        ms(shim.0),
        ms(shim.1),
        arm.0.as_secs_f64() / shim.0.as_secs_f64()
    );
}

fn main() {
    let in_a_row = in_a_row();
    let mut b = lab();
    let mut c = Client::new(&mut b);
    println!(
        "== ARM endpoint beside the az shim ({GROUPS} VNets, {GROUPS} NSGs x {RULES} rules, {GROUPS} VMs; in memory) =="
    );
    let path = rule_path("n0", "r5");
    let arm_get = sample(|_| {
        c.call(&mut b, "GET", &path, Vec::new());
    });
    let shim_get = sample(|_| az(&mut b, "network nsg rule show -g rg --nsg-name n0 -n r5"));
    row("GET one NSG rule", arm_get, shim_get);
    let arm_put = sample(|i| {
        c.call(&mut b, "PUT", &path, rule_body(105, 2000 + i % 2));
    });
    let shim_put = sample(|i| {
        az(
            &mut b,
            &format!(
                "network nsg rule create -g rg --nsg-name n0 -n r5 --priority 105 --destination-port-ranges {}",
                2000 + i % 2
            ),
        )
    });
    row("PUT one NSG rule", arm_put, shim_put);
    let t = Instant::now();
    for i in 0..in_a_row {
        c.call(
            &mut b,
            "PUT",
            &rule_path("arm-row", &format!("r{i}")),
            rule_body(100 + i, 1 + i),
        );
    }
    let arm_row = t.elapsed();
    let t = Instant::now();
    for i in 0..in_a_row {
        az(
            &mut b,
            &format!(
                "network nsg rule create -g rg --nsg-name shim-row -n r{i} --priority {} --destination-port-ranges {}",
                100 + i,
                1 + i
            ),
        );
    }
    let shim_row = t.elapsed();
    println!(
        "{:<22} ARM {:8.1} ms ({:.3} ms each) | shim {:8.1} ms ({:.3} ms each) | ARM/shim {:5.2}",
        format!("{in_a_row} rule PUTs in a row"),
        ms(arm_row),
        ms(arm_row) / in_a_row as f64,
        ms(shim_row),
        ms(shim_row) / in_a_row as f64,
        arm_row.as_secs_f64() / shim_row.as_secs_f64()
    );
}
