//! Named network namespaces, kept as `ip netns` keeps them (a bind mount
//! of the namespace on `/run/netns/NAME`), so that `ip netns list` and
//! `ip netns exec` show the lab to the user. Made and removed with system
//! calls: no `ip` process.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

use super::HostError;

/// Where iproute2 keeps named namespaces.
const RUN_DIR: &str = "/run/netns";

/// Serialises the check-and-mount of `RUN_DIR` between this process's
/// threads (VMs are built in parallel): two threads that both found it
/// unmounted would stack two bind mounts.
static RUN_DIR_MOUNT: Mutex<()> = Mutex::new(());

/// Runs `cmd` (not in any lab namespace) and returns its stdout; a failure
/// carries its stderr.
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

/// The file that holds the namespace `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(RUN_DIR).join(name)
}

/// Makes `RUN_DIR` a shared mount point, as `ip netns add` does: a
/// namespace mounted there then shows in every mount namespace that
/// copied it (a VM's own, the user's shell), and one unmounted here
/// disappears from all of them.
fn share_run_dir() -> Result<(), HostError> {
    let _one = RUN_DIR_MOUNT.lock().unwrap_or_else(|p| p.into_inner());
    std::fs::create_dir_all(RUN_DIR).map_err(HostError::io(format!("create {RUN_DIR}")))?;
    let share = || {
        mount(
            Some(""),
            RUN_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match share() {
        // Not a mount point yet: make it one (a bind mount of itself).
        Err(Errno::EINVAL) => {
            mount(
                Some(RUN_DIR),
                RUN_DIR,
                Some("none"),
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(HostError::sys(format!("bind-mount {RUN_DIR} on itself")))?;
            share().map_err(HostError::sys(format!("make {RUN_DIR} a shared mount")))
        }
        r => r.map_err(HostError::sys(format!("make {RUN_DIR} a shared mount"))),
    }
}

/// Creates the namespace `name`: a thread unshares its network namespace
/// and bind-mounts it on `/run/netns/NAME`, which keeps it alive after the
/// thread ends.
pub fn add(name: &str) -> Result<(), HostError> {
    share_run_dir()?;
    let target = path(name);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o000)
        .open(&target)
        .map_err(HostError::io(format!("create {}", target.display())))?;
    let at = target.clone();
    let ns = name.to_string();
    let made = std::thread::spawn(move || -> Result<(), HostError> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(HostError::sys(format!("create network namespace {ns}")))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &at,
            Some("none"),
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(HostError::sys(format!(
            "bind-mount network namespace {ns} on {}",
            at.display()
        )))
    })
    .join()
    .unwrap_or_else(|_| {
        Err(HostError::Io {
            what: format!("create network namespace {name}"),
            source: std::io::Error::other("its thread panicked"),
        })
    });
    if made.is_err() {
        let _ = std::fs::remove_file(&target);
    }
    made
}

/// Deletes the namespace (as `ip netns delete`: a lazy unmount and the
/// file's removal; the kernel frees it once no process or socket holds
/// it). One that is already gone (or goes meanwhile) is not an error.
pub fn delete(name: &str) -> Result<(), HostError> {
    let target = path(name);
    match umount2(&target, MntFlags::MNT_DETACH) {
        // Not mounted (a half-made namespace) or no file: remove what is left.
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
        Err(e) => {
            return Err(HostError::Io {
                what: format!("unmount network namespace {name}"),
                source: e.into(),
            });
        }
    }
    match std::fs::remove_file(&target) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(HostError::Io {
            what: format!("remove {}", target.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

pub fn exists(name: &str) -> bool {
    path(name).exists()
}

pub fn list() -> Vec<String> {
    // Read the directory `ip netns list` reads: no process, no parsing.
    std::fs::read_dir(RUN_DIR)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

/// The namespace's inode: what `/proc/PID/ns/net` of its processes names.
fn inode(name: &str) -> Option<u64> {
    std::fs::metadata(path(name)).ok().map(|m| m.ino())
}

/// The inode in a `/proc/PID/ns/net` link ("net:[4026532281]").
fn link_inode(link: &str) -> Option<u64> {
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// Every process whose network namespace is one of `names`, with the
/// index of its namespace in `names`: one pass over `/proc`, reading each
/// process's `ns/net` link once.
pub fn processes_in(names: &[String]) -> Vec<(i32, usize)> {
    let inodes: HashMap<u64, usize> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((inode(n)?, i)))
        .collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(proc) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    proc.filter_map(|e| {
        let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
        let ns = *inodes.get(&link_inode(link.to_str()?)?)?;
        Some((pid, ns))
    })
    .collect()
}

/// Processes whose network namespace is `name`.
pub fn pids(name: &str) -> Vec<i32> {
    processes_in(&[name.to_string()]).into_iter().map(|(p, _)| p).collect()
}

/// Starts `cmd` inside the namespace: it is forked from a thread that has
/// entered it, and a child starts in its parent thread's namespaces.
pub fn spawn_in(name: &str, mut cmd: Command, what: &str) -> Result<Child, HostError> {
    let what = what.to_string();
    run_in(name, move || {
        cmd.spawn().map_err(|source| HostError::Spawn { what, source })
    })?
}

/// Runs `cmd` inside the namespace with `input` on its stdin; a failure
/// carries its stderr.
pub(crate) fn feed_in(name: &str, mut cmd: Command, what: &str, input: &str) -> Result<(), HostError> {
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = spawn_in(name, cmd, what)?;
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

/// Opens the namespace's file (for `setns`, or to move a device into it).
pub fn open(name: &str) -> Result<File, HostError> {
    let p = path(name);
    File::open(&p).map_err(HostError::io(format!("open {}", p.display())))
}

/// Runs `f` on a fresh thread that has entered the namespace. Sockets and
/// TUN devices `f` creates belong to that namespace for their lifetime;
/// the calling thread (and the rest of the process) never moves.
pub fn run_in<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T, HostError> {
    let ns = open(name)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_links_name_their_inode() {
        assert_eq!(link_inode("net:[4026532281]"), Some(4026532281));
        assert_eq!(link_inode("mnt:[4026532281]"), None);
        assert_eq!(link_inode("net:[x]"), None);
    }
}
