//! Named network namespaces, as `ip netns` keeps them (`/run/netns/NAME`),
//! so that `ip netns list` and `ip netns exec` show the lab to the user.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sched::{CloneFlags, setns};

use super::HostError;

/// Runs `ip ARGS…`; a failure carries ip's own message.
pub fn ip(args: &[&str]) -> Result<String, HostError> {
    run(Command::new("ip").args(args), &format!("ip {}", args.join(" ")))
}

pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<String, HostError> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| HostError::Spawn {
        what: what.to_string(),
        source: e,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(HostError::Command {
            what: what.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

pub fn add(name: &str) -> Result<(), HostError> {
    ip(&["netns", "add", name]).map(drop)
}

/// Deletes the namespace; one that is already gone (or goes meanwhile)
/// is not an error.
pub fn delete(name: &str) -> Result<(), HostError> {
    match ip(&["netns", "delete", name]) {
        Err(_) if !exists(name) => Ok(()),
        r => r.map(drop),
    }
}

pub fn exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

pub fn list() -> Vec<String> {
    // Read the directory `ip netns list` reads: no process, no parsing.
    std::fs::read_dir("/run/netns")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

/// Processes whose network namespace is `name`.
pub fn pids(name: &str) -> Vec<i32> {
    ip(&["netns", "pids", name])
        .map(|out| out.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// Runs `commands` (one `ip` command per line, without the `ip`) inside
/// the namespace in one process.
pub fn ip_batch(name: &str, commands: &str) -> Result<(), HostError> {
    feed(
        Command::new("ip").args(["-n", name, "-batch", "-"]),
        &format!("ip -n {name} -batch -"),
        commands,
    )
}

/// Runs `cmd` with `input` on its stdin; a failure carries its stderr.
pub(crate) fn feed(cmd: &mut Command, what: &str, input: &str) -> Result<(), HostError> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HostError::Spawn {
            what: what.to_string(),
            source: e,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(HostError::io(what.to_string()))?;
    }
    let out = child.wait_with_output().map_err(HostError::io(what.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(HostError::Command {
            what: what.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Turns IPv6 off in the calling thread's namespace (vnetlab's networks
/// are IPv4-only; without this each new device's link-local chatter would
/// fill drop counters and traces). `default` covers devices made later. A
/// host booted with ipv6.disable=1 has no such files: nothing to do.
pub fn ipv4_only() -> Result<(), HostError> {
    for conf in ["all", "default"] {
        match std::fs::write(format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6"), "1") {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(HostError::Io {
                    what: "turn IPv6 off".into(),
                    source: e,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs `f` on a fresh thread that has entered the namespace. Sockets and
/// TUN devices `f` creates belong to that namespace for their lifetime;
/// the calling thread (and the rest of the process) never moves.
pub fn run_in<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T, HostError> {
    let path = Path::new("/run/netns").join(name);
    let ns = File::open(&path).map_err(HostError::io(format!("open {}", path.display())))?;
    let name = name.to_string();
    std::thread::spawn(move || {
        setns(&ns, CloneFlags::CLONE_NEWNET).map_err(HostError::sys(format!("enter namespace {name}")))?;
        Ok(f())
    })
    .join()
    .map_err(|_| HostError::Io {
        what: "namespace thread".into(),
        source: std::io::Error::other("panicked"),
    })?
}
