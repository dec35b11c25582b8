//! The fuzz harnesses, one per target, shared by the libFuzzer binaries in
//! `fuzz/fuzz_targets/` (run on stable Rust by `scripts/fuzz`) and by the
//! corpus replay in `tests/fuzz_corpus.rs`, so both feed the code in
//! exactly the same way. The property is the same everywhere: no input
//! panics (a bad one is refused with an error, as everywhere else).
//!
//! Each harness starts from a small real lab (lab 01, or lab 08 for DNS),
//! so inputs reach the deep code, not only the first check.

use std::sync::OnceLock;

use crate::arm::{self, Arm};
use crate::az::MemoryBackend;
use crate::dataplane::Tables;
use crate::dns::{AskerCtx, DnsView};
use crate::model::Model;
use crate::topology::Topology;

/// One harness: any bytes, no panic.
pub type Harness = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/NAME.rs` and
/// `fuzz/corpus/NAME/` name it.
pub const TARGETS: &[(&str, Harness)] = &[
    ("decide", crate::dataplane::fuzzing::run),
    ("topology", topology),
    ("az", az),
    ("api", api),
    ("arm", arm),
    ("template", template),
    ("dns", dns),
];

const LAB01: &str = include_str!("../labs/01-peering-basics/topology.yaml");
const LAB08: &str = include_str!("../labs/08-dns/topology.yaml");

// Unwrap: the labs are part of the crate and tested to build.
#[allow(clippy::expect_used)]
fn built(text: &str) -> Model {
    Topology::parse(text).and_then(|t| t.build()).expect("lab builds")
}

fn lab01() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| built(LAB01))
}

/// A topology file (YAML) through the loader, and when it builds, through
/// the data plane's compiler as `vnetlab up` does.
pub fn topology(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(model) = Topology::parse(text).and_then(|t| t.build()) {
        let _ = Tables::compile(&model, 1);
    }
}

/// Up to 8 az command lines (words split on whitespace, `az` implied)
/// through the shim's parser and handlers, one after the other on lab 01.
pub fn az(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut backend = MemoryBackend::new();
    backend.model = lab01().clone();
    for line in text.lines().take(8) {
        let argv: Vec<String> = std::iter::once("az")
            .chain(line.split_whitespace())
            .map(str::to_string)
            .collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = crate::az::run(&argv, &mut backend, &mut out, &mut err);
    }
}

/// One daemon API line: parsed as the daemon parses it; an `apply` goes
/// through the model on lab 01 and, when accepted, the data plane's
/// compiler, as the daemon's answer does.
pub fn api(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let Ok(req) = serde_json::from_str::<crate::daemon::proto::Request>(line) else {
        return;
    };
    if let crate::daemon::proto::Request::Apply { changes } = req {
        let mut model = lab01().clone();
        if model.apply_all(changes).is_ok() {
            let _ = Tables::compile(&model, 1);
        }
    }
}

/// The ARM endpoint with a signed-in caller, and its token.
fn signed_in() -> (Arm, MemoryBackend, String) {
    let mut arm = Arm::new(b"fuzz-key", "https://127.0.0.1:4443");
    let mut backend = MemoryBackend::new();
    backend.model = lab01().clone();
    let secret = arm.keys().client_secret(arm::auth::LAB_PRINCIPAL_APP_ID);
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={secret}&scope=x",
        arm::auth::LAB_PRINCIPAL_APP_ID
    );
    let path = format!("/{}/oauth2/v2.0/token", crate::model::DEFAULT_TENANT_ID);
    let r = arm.handle(
        "fuzz",
        &request("POST", &path, None, body.into_bytes()),
        &mut backend,
        NOW,
    );
    let token = r
        .body
        .as_ref()
        .and_then(|b| b["access_token"].as_str())
        .unwrap_or_default()
        .to_string();
    (arm, backend, token)
}

/// Token times: the tokens live an hour, so every call is well inside.
const NOW: u64 = 1_000;

fn request(method: &str, path_and_query: &str, token: Option<&str>, body: Vec<u8>) -> arm::Request {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    arm::Request {
        method: method.into(),
        path: arm::auth::percent_decode(path),
        query: arm::auth::form(query.as_bytes()),
        authorization: token.map(|t| format!("Bearer {t}")),
        if_match: None,
        if_none_match: None,
        auxiliary: None,
        body,
    }
}

/// One ARM request, signed in, on lab 01: the first line is
/// `METHOD PATH?QUERY`, the rest the body.
pub fn arm(data: &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let (method, path) = head.split_once(' ').unwrap_or(("GET", head.as_ref()));
    let (mut arm, mut backend, token) = signed_in();
    let req = request(method, path, Some(&token), body.to_vec());
    let _ = arm.handle("fuzz", &req, &mut backend, NOW + 1);
}

/// A deployment body (JSON with `properties.template`), PUT as `az
/// deployment group create` does, signed in, into lab 01's group: the ARM
/// template evaluator through its public door.
pub fn template(data: &[u8]) {
    let (mut arm, mut backend, token) = signed_in();
    let path = format!(
        "/subscriptions/{}/resourcegroups/learn-rg/providers/Microsoft.Resources/deployments/fuzz?api-version=2024-03-01",
        crate::model::DEFAULT_SUBSCRIPTION_ID
    );
    let req = request("PUT", &path, Some(&token), data.to_vec());
    let _ = arm.handle("fuzz", &req, &mut backend, NOW + 1);
}

/// One DNS query (UDP and TCP) from a VM of lab 08.
pub fn dns(data: &[u8]) {
    static VIEW: OnceLock<(DnsView, AskerCtx)> = OnceLock::new();
    let (view, asker) = VIEW.get_or_init(|| {
        let model = built(LAB08);
        // Unwrap: lab 08 has VNets.
        #[allow(clippy::expect_used)]
        let vnet = model
            .virtual_networks
            .keys()
            .next()
            .cloned()
            .expect("lab 08 has a VNet");
        (
            DnsView::compile(&model),
            AskerCtx {
                vnet,
                vm: "AppVM1".into(),
            },
        )
    });
    let _ = crate::dns::answer(view, asker, data);
    let _ = crate::dns::answer_tcp(view, asker, data);
    let mut buf = data.to_vec();
    while crate::dns::take_tcp_message(&mut buf).is_some() {}
}
