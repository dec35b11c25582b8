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
    /// The lab-private AZURE_CONFIG_DIR.
    fn azure_config(&self) -> PathBuf {
        self.dir.join("azure")
    }
    /// Which endpoint the config dir is signed in to.
    fn signed_in(&self) -> PathBuf {
        self.dir.join("azure-signed-in")
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
fn variables(lab: &Lab, files: &Files, url: &str, tenant: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_CONFIG_DIR", files.azure_config().display().to_string()),
        ("REQUESTS_CA_BUNDLE", files.bundle().display().to_string()),
        // MSAL asks login.microsoftonline.com about unknown authorities
        // unless this is off (az's core.instance_discovery).
        ("AZURE_CORE_INSTANCE_DISCOVERY", "false".into()),
        ("AZURE_CORE_COLLECT_TELEMETRY", "false".into()),
        // For the SDKs (azure-identity's EnvironmentCredential and friends).
        ("AZURE_AUTHORITY_HOST", url.to_string()),
        ("AZURE_TENANT_ID", tenant.to_string()),
        ("AZURE_CLIENT_ID", auth::LAB_PRINCIPAL_APP_ID.to_string()),
        ("AZURE_CLIENT_SECRET", secret.to_string()),
        ("VNETLAB_ARM_ENDPOINT", url.to_string()),
        ("VNETLAB_CLOUD_LAB", lab.name().to_string()),
    ]
}

const SAVED: &str = "_VNETLAB_CLOUD_SAVED_";

pub fn env(lab: &Lab, unset: bool, out: &mut impl Write) -> anyhow::Result<u8> {
    let files = Files::of(lab);
    if unset {
        for (name, _) in variables(lab, &files, "", "", "") {
            writeln!(
                out,
                "if [ -n \"${{{SAVED}{name}+x}}\" ]; then export {name}=\"${SAVED}{name}\"; unset {SAVED}{name}; else unset {name}; fi"
            )?;
        }
        writeln!(out, "# az is back to its own configuration")?;
        return Ok(0);
    }
    if !host::is_running(lab) {
        live::up(lab, None, false, &Default::default(), &mut std::io::stderr().lock())?;
    }
    let url = ensure_serving(lab, &files)?;
    let (key, _) = ensure_secrets(lab, &files)?;
    let keys = auth::Keys::new(&key);
    let secret = keys.client_secret(auth::LAB_PRINCIPAL_APP_ID);
    let model = {
        use crate::az::Backend as _;
        LiveBackend::new(lab.clone())
            .model()
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let first = model.subscriptions.first().context("the lab has no subscription")?;
    let tenant = first.tenant_id.clone();
    // Azure: a principal sees the subscriptions of every tenant it signs
    // in to; az merges each login's subscriptions into its profile.
    let mut tenants: Vec<&str> = Vec::new();
    for s in &model.subscriptions {
        if !tenants.iter().any(|t| t.eq_ignore_ascii_case(&s.tenant_id)) {
            tenants.push(&s.tenant_id);
        }
    }
    let vars = variables(lab, &files, &url, &tenant, &secret);
    // az keeps the subscription list of its last login: sign in again
    // when the lab's subscriptions changed, not only its endpoint.
    let stamp: Vec<&str> = std::iter::once(url.as_str())
        .chain(model.subscriptions.iter().map(|s| s.id.as_str()))
        .collect();
    let stamp = stamp.join("\n");
    let signed_in = std::fs::read_to_string(files.signed_in()).unwrap_or_default();
    if signed_in.trim() != stamp {
        sign_in(lab, &files, &vars, &url, &tenants, &first.id, &secret)?;
        std::fs::write(files.signed_in(), &stamp)?;
    }
    for (name, value) in &vars {
        writeln!(
            out,
            "if [ -z \"${{{SAVED}{name}+x}}\" ] && [ -n \"${{{name}+x}}\" ]; then export {SAVED}{name}=\"${name}\"; fi"
        )?;
        writeln!(out, "export {name}={}", quote(value))?;
    }
    writeln!(
        out,
        "# az now talks to lab '{lab}' at {url} as {} (vnetlab cloud env --unset undoes it)",
        auth::LAB_PRINCIPAL_NAME
    )?;
    Ok(0)
}

/// Registers and selects the lab's cloud and signs the lab's principal in,
/// in the lab-private config dir.
fn sign_in(
    lab: &Lab,
    files: &Files,
    vars: &[(&'static str, String)],
    url: &str,
    tenants: &[&str],
    subscription: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let az = real_az()?;
    let cloud = format!("vnetlab-{}", lab.name());
    let _ = std::fs::remove_dir_all(files.azure_config());
    std::fs::create_dir_all(files.azure_config())?;
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
    for tenant in tenants {
        steps.push(vec![
            "login",
            "--service-principal",
            "--username",
            auth::LAB_PRINCIPAL_APP_ID,
            "--password",
            secret,
            "--tenant",
            tenant,
        ]);
    }
    // The lab's first subscription is the default, whichever tenant
    // signed in last.
    steps.push(vec!["account", "set", "--subscription", subscription]);
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
                "`az {}` failed against lab '{lab}': {}",
                step.first().copied().unwrap_or_default(),
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
