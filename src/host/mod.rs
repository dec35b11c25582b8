//! The host layer: the only code that touches namespaces, TUN devices and
//! processes. It knows nothing of Azure beyond what it is handed (names,
//! addresses, ports, users); the daemon decides what to build.
//!
//! The root namespace is never changed: every address, route and sysctl
//! set here is set inside a lab's own namespace. Devices, addresses and
//! routes are made over rtnetlink ([`netlink`]) and namespaces with system
//! calls; the processes this layer still starts are the machines' own
//! servers and nft (docs/architecture.md says why).

pub mod bgp;
pub mod cache;
pub mod lab;
mod lock;
pub mod netlink;
pub mod netns;
pub mod pod;
pub mod sched;
pub mod site;
pub mod tun;
pub mod vm;
pub mod vminit;

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use thiserror::Error;

pub use lab::{InvalidLabName, Lab, lab_from};
pub use lock::{LabLock, daemon_pid, is_running, pid_file_text, runtime_root, stop_daemon};

#[derive(Debug, Error)]
pub enum HostError {
    #[error("{what} failed: {stderr}")]
    Command { what: String, stderr: String },
    #[error("could not run {what}: {source}")]
    Spawn { what: String, source: std::io::Error },
    #[error("could not {what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// A netlink request the kernel refused.
    #[error("{op} in {ns}: {} ({errno:?})", errno.desc())]
    Netlink {
        op: String,
        ns: String,
        errno: nix::errno::Errno,
    },
    #[error("timed out waiting for {what}")]
    Timeout { what: String },
}

impl HostError {
    /// For `map_err`: an I/O failure while trying to `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HostError {
        let what = what.into();
        move |source| HostError::Io { what, source }
    }

    /// For `map_err` on nix calls.
    pub fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> HostError {
        let what = what.into();
        move |e| HostError::Io { what, source: e.into() }
    }
}

/// What `remove_lab` found and removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub namespaces: Vec<String>,
    pub processes: usize,
}

/// Removes everything a lab made: the processes in its namespaces, the
/// namespaces and the runtime directory. TUN devices go with the daemon's
/// file descriptors. Safe to repeat, and works after the daemon died by
/// SIGKILL; the caller makes sure no daemon runs (or is that daemon).
pub fn remove_lab(lab: &Lab) -> Result<Removed, HostError> {
    let mut removed = Removed::default();
    let mut namespaces: Vec<String> = netns::list().into_iter().filter(|n| lab.owns_netns(n)).collect();
    namespaces.sort();
    removed.processes = kill_all_in(&namespaces);
    for ns in &namespaces {
        netns::delete(ns)?;
    }
    removed.namespaces = namespaces;
    let dir = lab.runtime_dir();
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(HostError::Io {
                what: format!("remove {}", dir.display()),
                source: e,
            });
        }
        _ => {}
    }
    Ok(removed)
}

/// Kills every process in the namespace; returns how many.
pub fn kill_all(ns: &str) -> usize {
    kill_all_in(&[ns.to_string()])
}

/// Kills every process in any of the namespaces, again until none is left
/// (a process may fork while it is being killed); returns how many. Each
/// round is one pass over `/proc` for all of them, however many there are.
pub fn kill_all_in(namespaces: &[String]) -> usize {
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..20 {
        let pids: Vec<i32> = netns::processes_in(namespaces)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| *p != me && !is_zombie(*p as u32))
            .collect();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    killed
}

pub fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
}

/// The command line that runs `cmd` inside a VM: its network, hostname and
/// files (the namespaces of its sshd, `anchor`).
pub fn vm_command(anchor: u32, cmd: &[String]) -> std::process::Command {
    let mut c = std::process::Command::new("nsenter");
    c.args(["--target", &anchor.to_string(), "--net", "--uts", "--mount", "--"])
        .args(cmd);
    c
}

/// The command line that runs `cmd` in the Cloud Shell: nsenter joins the
/// namespace's file, as `ip netns exec` would, without iproute2.
pub fn shell_command(lab: &Lab, cmd: &[String]) -> std::process::Command {
    let mut c = std::process::Command::new("nsenter");
    c.arg(format!("--net={}", netns::path(&lab.cloud_shell_netns()).display()))
        .arg("--")
        .args(cmd);
    c
}
