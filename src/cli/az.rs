//! `vnetlab az …`, the `az` shim and `vnetlab env`: the az front on a live
//! lab. The daemon holds the model; the first command that changes
//! something starts the lab when none runs: as it was saved, if it ran
//! before (see `daemon::journal`), else empty.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::live;
use crate::az::{AzError, Backend, DeploymentCall, DeploymentReply, Measured, Profile, ScriptOutput};
use crate::daemon::client;
use crate::daemon::journal::Journal;
use crate::daemon::proto::{Request, Response, VmStatus};
use crate::host::{self, Lab, netns};
use crate::model::{Change, Model};

/// The az front against lab `lab`.
#[derive(Debug)]
pub struct LiveBackend {
    lab: Lab,
}

fn lab_error(e: impl std::fmt::Display) -> AzError {
    AzError::Cli(format!("{e:#}"))
}

impl LiveBackend {
    pub fn new(lab: Lab) -> Self {
        LiveBackend { lab }
    }

    fn vm_anchor(&self, vm: &str) -> Result<(String, VmStatus), AzError> {
        let Response::Status(s) = client::call(&self.lab, &Request::Status).map_err(lab_error)? else {
            return Err(AzError::Cli(format!("lab '{}' did not report its status", self.lab)));
        };
        let v = s
            .vms
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(vm))
            .ok_or_else(|| AzError::Cli(format!("VM {vm} has no namespace in lab '{}'.", self.lab)))?;
        Ok((v.netns.clone(), v.clone()))
    }
}

impl Backend for LiveBackend {
    fn model(&mut self) -> Result<Model, AzError> {
        if !host::is_running(&self.lab) {
            // A stopped lab answers from its saved state (read, never
            // written: a reading command creates nothing), else empty.
            return Journal::new(&self.lab)
                .load()
                .map(|saved| saved.unwrap_or_else(Model::new))
                .map_err(|e| AzError::Cli(e.to_string()));
        }
        match client::call(&self.lab, &Request::Model).map_err(lab_error)? {
            Response::Model(m) => Ok(*m),
            other => Err(AzError::Cli(format!(
                "lab '{}' answered {other:?} instead of its model",
                self.lab
            ))),
        }
    }

    fn apply(&mut self, changes: Vec<Change>) -> Result<(), AzError> {
        if !host::is_running(&self.lab) {
            // Progress goes to stderr: stdout is the command's JSON.
            live::up(
                &self.lab,
                None,
                false,
                &Default::default(),
                &mut std::io::stderr().lock(),
            )
            .map_err(lab_error)?;
        }
        match client::call(&self.lab, &Request::Apply { changes }).map_err(lab_error)? {
            Response::Applied { .. } => Ok(()),
            Response::Refused { error, .. } => Err(AzError::Azure(error)),
            Response::Error { message } => Err(AzError::Cli(message)),
            other => Err(AzError::Cli(format!(
                "unexpected answer from lab '{}': {other:?}",
                self.lab
            ))),
        }
    }

    fn profile(&mut self) -> Profile {
        std::fs::read_to_string(self.lab.az_profile_file())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    fn save_profile(&mut self, profile: &Profile) -> Result<(), AzError> {
        let path = self.lab.az_profile_file();
        let write = || -> std::io::Result<()> {
            host::runtime_root().map_err(std::io::Error::other)?;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?;
            f.write_all(&serde_json::to_vec_pretty(profile)?)
        };
        write().map_err(|e| AzError::Cli(format!("cannot save the az profile {}: {e}", path.display())))
    }

    fn run_script(&mut self, vm: &str, script: &str) -> Result<ScriptOutput, AzError> {
        let (_, v) = self.vm_anchor(vm)?;
        // Run Command runs scripts as root, in the VM (network, hostname, files).
        let argv = vec!["/bin/sh".to_string(), "-c".to_string(), script.to_string()];
        let init = live::anchor(&self.lab, &v).map_err(lab_error)?;
        let out = live::in_vm(init, &argv)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| AzError::Cli(format!("cannot run the script in {vm}: {e}")))?;
        Ok(ScriptOutput {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn ssh_public_key(&mut self, generate: bool) -> Result<Option<String>, AzError> {
        let home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
        let private = home.join(".ssh/id_rsa");
        let public = home.join(".ssh/id_rsa.pub");
        if !public.exists() && generate {
            std::fs::create_dir_all(home.join(".ssh"))
                .map_err(|e| AzError::Cli(format!("cannot create {}: {e}", home.join(".ssh").display())))?;
            let status = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "rsa", "-b", "4096", "-N", "", "-f"])
                .arg(&private)
                .status()
                .map_err(|e| AzError::Cli(format!("cannot run ssh-keygen (is openssh-client installed?): {e}")))?;
            if !status.success() {
                return Err(AzError::Cli(format!(
                    "ssh-keygen could not create {}",
                    private.display()
                )));
            }
            eprintln!(
                "SSH key files '{}' and '{}' have been generated under ~/.ssh to allow SSH access to the VM. If using machines without permanent storage, back up your keys to a safe location.",
                private.display(),
                public.display()
            );
        }
        Ok(std::fs::read_to_string(&public).ok().map(|k| k.trim().to_string()))
    }

    fn confirm(&mut self, question: &str) -> Result<bool, AzError> {
        if !std::io::stdin().is_terminal() {
            return Err(AzError::Cli(
                "Unable to prompt for confirmation as no tty available. Use --yes.".into(),
            ));
        }
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| AzError::Cli(e.to_string()))?;
        Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    /// The shim's `az deployment …`: the ARM endpoint's own engine, over this backend.
    fn deployment(&mut self, call: &DeploymentCall) -> Result<DeploymentReply, AzError> {
        let model = self.model()?;
        crate::arm::deployments::call(&model, self, call, None, &|_| Ok(()))
    }

    fn probe(&mut self, vm: &str, dst: Ipv4Addr, port: Option<u16>) -> Result<Option<Measured>, AzError> {
        let (ns, v) = self.vm_anchor(vm)?;
        const PROBES: u32 = 5;
        let mut m = Measured {
            sent: PROBES,
            ..Measured::default()
        };
        match port {
            Some(port) => {
                let addr = SocketAddr::from((dst, port));
                let times = netns::run_in(&ns, move || {
                    (0..PROBES)
                        .map(|_| {
                            let t = Instant::now();
                            TcpStream::connect_timeout(&addr, Duration::from_millis(500))
                                .ok()
                                .map(|_| t.elapsed().as_secs_f64() * 1000.0)
                        })
                        .collect::<Vec<_>>()
                })
                .map_err(lab_error)?;
                m.failed = times.iter().filter(|t| t.is_none()).count() as u32;
                m.latencies_ms = times.into_iter().flatten().collect();
            }
            None => {
                let argv: Vec<String> = ["ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", &dst.to_string()]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                let init = live::anchor(&self.lab, &v).map_err(lab_error)?;
                let out = live::in_vm(init, &argv)
                    .output()
                    .map_err(|e| AzError::Cli(format!("cannot run ping: {e}")))?;
                let text = String::from_utf8_lossy(&out.stdout);
                m.latencies_ms = text
                    .lines()
                    .filter_map(|l| l.split("time=").nth(1))
                    .filter_map(|t| t.split_whitespace().next()?.parse().ok())
                    .collect();
                m.failed = PROBES.saturating_sub(m.latencies_ms.len() as u32);
            }
        }
        Ok(Some(m))
    }
}

/// `vnetlab az ARGS…`: az's exit code.
pub fn run(lab: &Lab, args: &[String]) -> u8 {
    let mut backend = LiveBackend::new(lab.clone());
    crate::az::run(
        args,
        &mut backend,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// Where `vnetlab env` installs the shim when no folder is named.
pub fn default_shim_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".local/share")
    });
    data.join("vnetlab/bin")
}

/// Writes `DIR/az`, a script that hands its arguments to `vnetlab az`
/// (through sudo for a user who is not root: labs are root's).
pub fn install_shim(dir: &Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the vnetlab executable")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let exe = exe.to_str().context("the vnetlab executable's path is not UTF-8")?;
    let quoted = format!("'{}'", exe.replace('\'', "'\\''"));
    let script = format!(
        "#!/bin/sh\n# Written by `vnetlab shim install`: az commands go to a vnetlab lab\n# (VNETLAB_LAB names it; `default` otherwise).\nif [ \"$(id -u)\" -ne 0 ]; then\n  exec sudo --preserve-env=VNETLAB_LAB,AZURE_CORE_OUTPUT {quoted} az \"$@\"\nfi\nexec {quoted} az \"$@\"\n"
    );
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("az");
    let tmp = dir.join(".az.tmp");
    std::fs::write(&tmp, script).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

pub fn shim_install(dir: Option<&Path>, out: &mut impl Write) -> anyhow::Result<u8> {
    let dir = dir.map_or_else(default_shim_dir, Path::to_path_buf);
    let path = install_shim(&dir)?;
    writeln!(out, "wrote {}", path.display())?;
    writeln!(out, "put it first on PATH in this shell with:  eval \"$(vnetlab env)\"")?;
    Ok(0)
}

/// `eval "$(vnetlab env)"`: installs the shim if needed and prints the
/// shell lines that put it first on PATH.
pub fn env(lab: Option<&str>, out: &mut impl Write) -> anyhow::Result<u8> {
    let dir = default_shim_dir();
    install_shim(&dir)?;
    let dir = dir.to_str().context("the shim folder's path is not UTF-8")?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    writeln!(out, "export PATH={}:\"$PATH\"", quote(dir))?;
    if let Some(l) = lab {
        writeln!(out, "export VNETLAB_LAB={}", quote(l))?;
    }
    writeln!(out, "hash -r 2>/dev/null || true")?;
    writeln!(
        out,
        "# az now runs against vnetlab lab '{}'",
        lab.map_or_else(
            || std::env::var("VNETLAB_LAB").unwrap_or_else(|_| "default".into()),
            str::to_string
        )
    )?;
    Ok(0)
}
