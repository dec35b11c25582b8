//! The host layer: the only code that touches namespaces, TUN devices and
//! processes. It knows nothing of Azure beyond what it is handed (names,
//! addresses, users); the daemon decides what to build.
//!
//! The root namespace is never changed: every address, route and sysctl
//! set here is set inside a lab's own namespace.

pub mod lab;
pub mod netns;
pub mod tun;
pub mod vm;

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use thiserror::Error;

pub use lab::{InvalidLabName, Lab, lab_from};

#[derive(Debug, Error)]
pub enum HostError {
    #[error("{what} failed: {stderr}")]
    Command { what: String, stderr: String },
    #[error("could not run {what}: {source}")]
    Spawn { what: String, source: std::io::Error },
    #[error("could not {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("timed out waiting for {what}")]
    Timeout { what: String },
}

/// What `remove_lab` found and removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub daemon: bool,
    pub namespaces: Vec<String>,
    pub processes: usize,
}

/// Removes everything a lab made: its daemon, the processes in its
/// namespaces, the namespaces and the runtime directory. TUN devices go
/// with the daemon's file descriptors. Safe to repeat, and works after the
/// daemon died by SIGKILL. `keep_pid` spares the caller (the daemon
/// cleaning up after itself).
pub fn remove_lab(lab: &Lab, keep_pid: Option<u32>) -> Result<Removed, HostError> {
    let mut removed = Removed::default();
    if let Some(pid) = daemon_pid(lab).filter(|p| Some(*p) != keep_pid) {
        removed.daemon = true;
        stop(pid, Duration::from_secs(5));
    }
    let mut namespaces: Vec<String> = netns::list().into_iter().filter(|n| lab.owns_netns(n)).collect();
    namespaces.sort();
    for ns in &namespaces {
        for pid in netns::pids(ns) {
            if Some(pid as u32) != keep_pid && kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                removed.processes += 1;
            }
        }
        netns::delete(ns)?;
    }
    removed.namespaces = namespaces;
    let dir = lab.runtime_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| HostError::Io { what: format!("remove {}", dir.display()), source: e })?;
    }
    Ok(removed)
}

/// The lab's daemon, if its PID file names a live vnetlab process.
pub fn daemon_pid(lab: &Lab) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(lab.pid_file()).ok()?.trim().parse().ok()?;
    // A PID can be reused after a crash: only a vnetlab daemon counts.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let ours = args.iter().any(|a| *a == b"__daemon") && args.windows(2).any(|w| w[0] == b"--lab" && w[1] == lab.name().as_bytes());
    ours.then_some(pid)
}

/// SIGTERM, a bounded wait, then SIGKILL.
fn stop(pid: u32, grace: Duration) {
    let p = Pid::from_raw(pid as i32);
    if kill(p, Signal::SIGTERM).is_err() {
        return;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = kill(p, Signal::SIGKILL);
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
}

/// The command line that runs `cmd` inside a VM: its network, hostname and
/// files (the namespaces of its sshd, `anchor`).
pub fn vm_command(anchor: u32, cmd: &[String]) -> std::process::Command {
    let mut c = std::process::Command::new("nsenter");
    c.args(["--target", &anchor.to_string(), "--net", "--uts", "--mount", "--"]).args(cmd);
    c
}

/// The command line that runs `cmd` in the Cloud Shell.
pub fn shell_command(lab: &Lab, cmd: &[String]) -> std::process::Command {
    let mut c = std::process::Command::new("ip");
    c.args(["netns", "exec", &lab.cloud_shell_netns()]).args(cmd);
    c
}
