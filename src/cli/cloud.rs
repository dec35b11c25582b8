//! `vnetlab cloud env` and the ARM endpoint's HTTPS listener: the real az
//! and the Azure SDKs talk to a lab as to a cloud. The endpoint is a
//! process of the lab (`__cloud-serve`), on 127.0.0.1 only, that answers
//! with [`crate::arm::Arm`] over the daemon's API (the az front's
//! [`LiveBackend`]) and exits when the lab stops.

use std::io::Write;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

use super::az::LiveBackend;
use super::live;
use crate::arm::{self, Arm, auth};
use crate::host::{self, Lab};

/// What the endpoint of a lab keeps in the lab's runtime folder (wiped when
/// the lab starts again, so a new run gets a new CA, key and port).
struct Files {
    dir: PathBuf,
}

impl Files {
    fn of(lab: &Lab) -> Self {
        Files {
            dir: lab.runtime_dir().join("arm"),
        }
    }
    fn key(&self) -> PathBuf {
        self.dir.join("signing.key")
    }
    fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn ca_key(&self) -> PathBuf {
        self.dir.join("ca-key.pem")
    }
    /// The CA and the system's roots: what REQUESTS_CA_BUNDLE names.
    fn bundle(&self) -> PathBuf {
        self.dir.join("ca-bundle.pem")
    }
    /// `https://127.0.0.1:PORT`, written once the listener is up.
    fn endpoint(&self) -> PathBuf {
        self.dir.join("endpoint")
    }
    fn pid(&self) -> PathBuf {
        self.dir.join("serve.pid")
    }
    fn log(&self) -> PathBuf {
        self.dir.join("serve.log")
    }
    /// The lab-private AZURE_CONFIG_DIR of `who`: one per principal, so
    /// that two shells can be two principals at once.
    fn azure_config(&self, who: &Who) -> PathBuf {
        match &who.topology {
            None => self.dir.join("azure"),
            Some(_) => self.dir.join(format!("azure-{}", who.object_id)),
        }
    }
    /// Which endpoint and subscriptions that config dir is signed in to.
    fn signed_in(&self, who: &Who) -> PathBuf {
        let mut dir = self.azure_config(who).into_os_string();
        dir.push("-signed-in");
        PathBuf::from(dir)
    }
}

/// The principal `cloud env` signs in: the lab's own, or one of its
/// topology's (`--as`).
struct Who {
    name: String,
    /// The client ID it signs in with (a topology principal's object ID).
    object_id: String,
    /// A topology principal's home tenant; `None` for the lab's own.
    topology: Option<String>,
}

impl Who {
    fn lab() -> Self {
        Who {
            name: auth::LAB_PRINCIPAL_NAME.into(),
            object_id: auth::LAB_PRINCIPAL_APP_ID.into(),
            topology: None,
        }
    }

    /// `--as NAME`: a principal of the lab by name or object ID.
    fn of(model: &crate::model::Model, lab: &Lab, name: &str) -> anyhow::Result<Self> {
        let Some(p) = model.principal(name) else {
            let known: Vec<&str> = model.principals.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "PrincipalNotFound: '{name}' is not a principal of lab '{lab}' (it has {}). Add it to the topology's `principals:` with its `roleAssignments:` (docs/topology.md), or leave out --as to be the lab's own principal.",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        };
        Ok(Who {
            name: p.name.clone(),
            object_id: p.object_id.to_ascii_lowercase(),
            topology: Some(p.tenant_id.clone()),
        })
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(data)?;
    Ok(())
}

/// The signing key and the CA, made on first use.
fn ensure_secrets(lab: &Lab, files: &Files) -> anyhow::Result<(Vec<u8>, String)> {
    std::fs::create_dir_all(&files.dir)?;
    if !files.key().exists() {
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|_| anyhow::anyhow!("no randomness for the lab's signing key"))?;
        write_private(&files.key(), &key)?;
    }
    if !files.ca_cert().exists() || !files.ca_key().exists() {
        let ca = arm::ca::new_ca(lab.name())?;
        write_private(&files.ca_key(), ca.key.as_bytes())?;
        std::fs::write(files.ca_cert(), &ca.cert)?;
        let system = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
        std::fs::write(files.bundle(), format!("{}{system}", ca.cert))?;
    }
    let key = std::fs::read(files.key())?;
    let ca_key = std::fs::read_to_string(files.ca_key())?;
    Ok((key, ca_key))
}

fn serving(files: &Files) -> Option<String> {
    let pid: i32 = std::fs::read_to_string(files.pid()).ok()?.trim().parse().ok()?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).ok()?;
    std::fs::read_to_string(files.endpoint())
        .ok()
        .map(|s| s.trim().to_string())
}

/// Starts the lab's endpoint unless it runs; its base URL.
fn ensure_serving(lab: &Lab, files: &Files) -> anyhow::Result<String> {
    if let Some(url) = serving(files) {
        return Ok(url);
    }
    ensure_secrets(lab, files)?;
    let _ = std::fs::remove_file(files.endpoint());
    let log = std::fs::File::create(files.log())?;
    Process::new(std::env::current_exe()?)
        .args(["__cloud-serve", "--lab", lab.name()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start the lab's ARM endpoint")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(url) = serving(files) {
            return Ok(url);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "the ARM endpoint of lab '{lab}' did not start; see {}",
        files.log().display()
    )
}

/// The real az: `VNETLAB_REAL_AZ`, else the first `az` on PATH that is not
/// vnetlab's shim.
fn real_az() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("VNETLAB_REAL_AZ") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let az = dir.join("az");
        let Ok(text) = std::fs::read(&az) else { continue };
        let shim = String::from_utf8_lossy(&text[..text.len().min(4096)]).contains("vnetlab az");
        if !shim {
            return Ok(az);
        }
    }
    bail!(
        "no Azure CLI on PATH (only vnetlab's shim, if any). Install it (pip install azure-cli==2.91.0, or scripts/setup's venv /opt/vnetlab-venv/bin) or name it with VNETLAB_REAL_AZ."
    )
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The variables `cloud env` sets, with their values.
fn variables(
    lab: &Lab,
    files: &Files,
    who: &Who,
    url: &str,
    tenant: &str,
    secret: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_CONFIG_DIR", files.azure_config(who).display().to_string()),
        ("REQUESTS_CA_BUNDLE", files.bundle().display().to_string()),
        // MSAL asks login.microsoftonline.com about unknown authorities
        // unless this is off (az's core.instance_discovery).
        ("AZURE_CORE_INSTANCE_DISCOVERY", "false".into()),
        ("AZURE_CORE_COLLECT_TELEMETRY", "false".into()),
        // For the SDKs (azure-identity's EnvironmentCredential and friends).
        ("AZURE_AUTHORITY_HOST", url.to_string()),
        ("AZURE_TENANT_ID", tenant.to_string()),
        ("AZURE_CLIENT_ID", who.object_id.clone()),
        ("AZURE_CLIENT_SECRET", secret.to_string()),
        ("VNETLAB_ARM_ENDPOINT", url.to_string()),
        ("VNETLAB_CLOUD_LAB", lab.name().to_string()),
        ("VNETLAB_CLOUD_PRINCIPAL", who.name.clone()),
    ]
}

const SAVED: &str = "_VNETLAB_CLOUD_SAVED_";
/// A shell variable (not exported) for the length of the printed lines.
const ACTIVE: &str = "_vnetlab_cloud_active";

pub fn env(lab: &Lab, unset: bool, as_principal: Option<&str>, out: &mut impl Write) -> anyhow::Result<u8> {
    let files = Files::of(lab);
    if unset {
        for (name, _) in variables(lab, &files, &Who::lab(), "", "", "") {
            writeln!(
                out,
                "if [ -n \"${{{SAVED}{name}+x}}\" ]; then export {name}=\"${SAVED}{name}\"; unset {SAVED}{name}; else unset {name}; fi"
            )?;
        }
        writeln!(out, "# az is back to its own configuration")?;
        return Ok(0);
    }
    let model = || {
        use crate::az::Backend as _;
        LiveBackend::new(lab.clone())
            .model()
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    // An unknown principal is refused before anything is started or
    // written (a stopped lab answers from its saved state).
    let who = match as_principal {
        None => Who::lab(),
        Some(name) => Who::of(&model()?, lab, name)?,
    };
    if !host::is_running(lab) {
        live::up(lab, None, false, &Default::default(), &mut std::io::stderr().lock())?;
    }
    let model = model()?;
    let url = ensure_serving(lab, &files)?;
    let (key, _) = ensure_secrets(lab, &files)?;
    let secret = auth::Keys::new(&key).client_secret(&who.object_id);
    // Azure: a principal sees the subscriptions it holds a role in, in
    // every tenant it signs in to; az merges each login's subscriptions
    // into its profile. The lab's own principal is Owner of them all.
    let visible: Vec<&crate::model::Subscription> = model
        .subscriptions
        .iter()
        .filter(|s| {
            let caller = auth::Caller {
                app_id: who.object_id.clone(),
                tenant_id: s.tenant_id.clone(),
                linked: Vec::new(),
            };
            arm::rbac::sees_subscription(&model, &caller, &s.id)
        })
        .collect();
    let mut tenants: Vec<&str> = Vec::new();
    for s in &visible {
        if !tenants.iter().any(|t| t.eq_ignore_ascii_case(&s.tenant_id)) {
            tenants.push(&s.tenant_id);
        }
    }
    let first = visible.first().copied();
    let tenant = match (first, &who.topology) {
        (Some(s), _) => s.tenant_id.clone(),
        (None, Some(home)) => home.clone(),
        (None, None) => bail!("the lab has no subscription"),
    };
    let vars = variables(lab, &files, &who, &url, &tenant, &secret);
    // az keeps the subscription list of its last login: sign in again
    // when the subscriptions the principal sees changed, not only the endpoint.
    let stamp: Vec<&str> = std::iter::once(url.as_str())
        .chain(visible.iter().map(|s| s.id.as_str()))
        .collect();
    let stamp = stamp.join("\n");
    let signed_in = std::fs::read_to_string(files.signed_in(&who)).unwrap_or_default();
    if signed_in.trim() != stamp {
        let login = Login {
            who: &who,
            tenants: if tenants.is_empty() {
                vec![tenant.as_str()]
            } else {
                tenants
            },
            subscription: first.map(|s| s.id.as_str()),
            secret: &secret,
        };
        sign_in(lab, &files, &vars, &url, &login)?;
        std::fs::write(files.signed_in(&who), &stamp)?;
    }
    // A shell that already ran `cloud env` (another principal or lab)
    // keeps what it saved before the first: `--unset` goes back to that.
    writeln!(out, "{ACTIVE}=\"${{VNETLAB_CLOUD_LAB+x}}\"")?;
    for (name, value) in &vars {
        writeln!(
            out,
            "if [ -z \"${ACTIVE}\" ] && [ -z \"${{{SAVED}{name}+x}}\" ] && [ -n \"${{{name}+x}}\" ]; then export {SAVED}{name}=\"${name}\"; fi"
        )?;
        writeln!(out, "export {name}={}", quote(value))?;
    }
    writeln!(out, "unset {ACTIVE}")?;
    writeln!(
        out,
        "# az now talks to lab '{lab}' at {url} as {} (vnetlab cloud env --unset undoes it)",
        who.name
    )?;
    Ok(0)
}

/// Who signs in where: one `az login` per tenant, then the default subscription.
struct Login<'a> {
    who: &'a Who,
    tenants: Vec<&'a str>,
    /// None: the principal holds no role anywhere (az needs --allow-no-subscriptions).
    subscription: Option<&'a str>,
    secret: &'a str,
}

/// Registers and selects the lab's cloud and signs the principal in, in
/// its lab-private config dir.
fn sign_in(lab: &Lab, files: &Files, vars: &[(&'static str, String)], url: &str, login: &Login) -> anyhow::Result<()> {
    let az = real_az()?;
    let cloud = format!("vnetlab-{}", lab.name());
    let dir = files.azure_config(login.who);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut steps: Vec<Vec<&str>> = vec![
        vec![
            "cloud",
            "register",
            "--name",
            &cloud,
            "--endpoint-resource-manager",
            url,
        ],
        vec!["cloud", "set", "--name", &cloud],
    ];
    for tenant in &login.tenants {
        let mut step = vec![
            "login",
            "--service-principal",
            "--username",
            &login.who.object_id,
            "--password",
            login.secret,
            "--tenant",
            tenant,
        ];
        if login.subscription.is_none() {
            step.push("--allow-no-subscriptions");
        }
        steps.push(step);
    }
    // The first subscription it sees is the default, whichever tenant
    // signed in last.
    if let Some(sub) = login.subscription {
        steps.push(vec!["account", "set", "--subscription", sub]);
    }
    for step in steps {
        let output = Process::new(&az)
            .args(&step)
            .args(["--output", "none"])
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", az.display()))?;
        if !output.status.success() {
            bail!(
                "`az {}` as {} failed against lab '{lab}': {}",
                step.first().copied().unwrap_or_default(),
                login.who.name,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    Ok(())
}

/// `__cloud-serve`: the lab's ARM endpoint, until the lab stops.
pub fn serve(lab: &Lab) -> anyhow::Result<u8> {
    let files = Files::of(lab);
    let (key, ca_key) = ensure_secrets(lab, &files)?;
    let leaf = arm::ca::server_cert(lab.name(), &ca_key)?;
    let certs = rustls_pemfile_certs(&leaf.cert)?;
    let private = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key.as_bytes())
        .map_err(|e| anyhow::anyhow!("the endpoint's key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, private)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Loopback only: the lab's cloud is never on the network.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        let state = Arc::new(Mutex::new((Arm::new(&key, &url), LiveBackend::new(lab.clone()))));
        std::fs::write(files.pid(), std::process::id().to_string())?;
        std::fs::write(files.endpoint(), &url)?;
        eprintln!("vnetlab ARM endpoint of lab '{lab}' at {url}");
        let watched = lab.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if !host::is_running(&watched) {
                    eprintln!("lab '{watched}' stopped; the ARM endpoint exits");
                    std::process::exit(0);
                }
            }
        });
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let state = state.clone();
            let lab_name = lab.name().to_string();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |req| {
                    let state = state.clone();
                    let lab_name = lab_name.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(req, state, lab_name).await) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
        #[allow(unreachable_code)]
        Ok::<u8, anyhow::Error>(0)
    })
}

fn rustls_pemfile_certs(pem: &str) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("the endpoint's certificate: {e}"))
}

type Shared = Arc<Mutex<(Arm, LiveBackend)>>;

async fn answer(
    req: hyper::Request<hyper::body::Incoming>,
    state: Shared,
    lab: String,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let header = |k: &str| parts.headers.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let query = parts.uri.query().map(|q| auth::form(q.as_bytes())).unwrap_or_default();
    let mut request = arm::Request {
        method: parts.method.as_str().to_string(),
        path: auth::percent_decode(parts.uri.path()),
        query,
        authorization: header("authorization"),
        if_match: header("if-match"),
        if_none_match: header("if-none-match"),
        auxiliary: header("x-ms-authorization-auxiliary"),
        body: Vec::new(),
    };
    let response = match Limited::new(body, arm::MAX_BODY).collect().await {
        Ok(b) => {
            request.body = b.to_bytes().to_vec();
            let line = format!("{} {}", request.method, parts.uri);
            let r = tokio::task::spawn_blocking(move || {
                let mut guard = match state.lock() {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let (arm, backend) = &mut *guard;
                arm.handle(&lab, &request, backend, now())
            })
            .await
            .unwrap_or_else(|e| arm::Response::error(500, "InternalServerError", &format!("the handler failed: {e}")));
            eprintln!("{line} -> {}", r.status);
            r
        }
        Err(_) => arm::Response::error(
            413,
            "RequestContentTooLarge",
            &format!(
                "The request content exceeds the maximum of {} bytes (4 MB). Send smaller requests.",
                arm::MAX_BODY
            ),
        ),
    };
    let mut builder = hyper::Response::builder()
        .status(response.status)
        .header("x-ms-request-id", format!("{:016x}", now()));
    for (k, v) in &response.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = match &response.body {
        Some(v) => {
            builder = builder.header("content-type", "application/json; charset=utf-8");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::from_static(b"{}"))))
}
