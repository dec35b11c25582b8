//! An Azure Cache for Redis instance: a real redis-server in the cache's
//! namespace, with the cache's access key as its password, a plain port
//! and a TLS port (a self-signed certificate for the cache's host name).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{HostError, netns};

const REDIS_SERVER: &str = "redis-server";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSetup {
    pub name: String,
    pub host_name: String,
    pub netns: String,
    pub dir: PathBuf,
    pub password: String,
    /// The plain port and the TLS port.
    pub port: u16,
    pub tls_port: u16,
}

/// Writes the instance's TLS key and certificate (once: a restart keeps them).
pub fn prepare(c: &CacheSetup) -> Result<(), HostError> {
    fs::create_dir_all(&c.dir).map_err(HostError::io(format!("create the directory of cache {}", c.name)))?;
    fs::set_permissions(&c.dir, fs::Permissions::from_mode(0o700))
        .map_err(HostError::io("restrict the cache's directory"))?;
    if c.dir.join("tls.crt").exists() {
        return Ok(());
    }
    let mut openssl = Command::new("openssl");
    openssl
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "3650",
            "-subj",
        ])
        .arg(format!("/CN={}", c.host_name))
        .arg("-keyout")
        .arg(c.dir.join("tls.key"))
        .arg("-out")
        .arg(c.dir.join("tls.crt"));
    netns::run(&mut openssl, "make the cache's TLS certificate").map(|_| ())
}

/// Starts redis-server in the cache's namespace; its PID is the instance's.
pub fn spawn(c: &CacheSetup) -> Result<std::process::Child, HostError> {
    let log = fs::File::create(c.dir.join("redis.log")).map_err(HostError::io("create redis.log"))?;
    let err = log.try_clone().map_err(HostError::io("open redis.log"))?;
    let file = |f: &str| c.dir.join(f).to_string_lossy().into_owned();
    let port = c.port.to_string();
    let tls_port = c.tls_port.to_string();
    let mut cmd = Command::new(REDIS_SERVER);
    cmd.args([
        "--bind",
        "0.0.0.0",
        "--protected-mode",
        "no",
        "--port",
        &port,
        "--tls-port",
        &tls_port,
    ])
    .args([
        "--tls-cert-file",
        &file("tls.crt"),
        "--tls-key-file",
        &file("tls.key"),
        "--tls-auth-clients",
        "no",
    ])
    .args([
        "--requirepass",
        &c.password,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        &file(""),
    ])
    .stdin(Stdio::null())
    .stdout(log)
    .stderr(err)
    .process_group(0);
    netns::spawn_in(&c.netns, cmd, &format!("redis-server of cache {}", c.name))
}
