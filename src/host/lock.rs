//! A lab's lock and its daemon's identity.
//!
//! "The lab runs" means "its lock is held" (flock on
//! `/run/vnetlab/<lab>.lock`), whoever started the daemon. `up` takes the
//! lock before it sweeps anything and hands it to the daemon it starts (as
//! the daemon's stdin: one open file, so the lock never lapses between
//! them); a second `up` finds it held and touches nothing. The lock file
//! and everything under `/run/vnetlab` are root's alone (0600 files in a
//! 0700 directory), so no other user can hold a lab's lock. The daemon's
//! PID file also names its start time, and a PID is signalled only when
//! that process still has that start time and runs vnetlab: a stale PID
//! of a process that has since gone is never killed.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::HostError;
use super::lab::{Lab, RUNTIME_ROOT};

/// Held by a lab's daemon for its whole life. The lock file sits beside
/// the runtime directory, so removing that directory never drops a held
/// lock.
#[derive(Debug)]
pub struct LabLock {
    lock: Flock<File>,
}

/// Makes `/run/vnetlab`, root's alone (0700).
pub fn runtime_root() -> Result<(), HostError> {
    let io = HostError::io(format!("create {RUNTIME_ROOT}"));
    std::fs::create_dir_all(RUNTIME_ROOT).map_err(io)?;
    std::fs::set_permissions(RUNTIME_ROOT, std::fs::Permissions::from_mode(0o700))
        .map_err(HostError::io(format!("restrict {RUNTIME_ROOT} to root")))
}

/// The same file (device and inode)?
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

impl LabLock {
    /// Takes the lab's lock, or says the lab is running (`None`).
    pub fn try_take(lab: &Lab) -> Result<Option<LabLock>, HostError> {
        runtime_root()?;
        let path = lab.lock_file();
        let what = |verb: &str| format!("{verb} {}", path.display());
        // A lock file removed (by the daemon that held it, at its exit)
        // between our open and our lock is a lock nobody else will look
        // at: take the file that is there now instead.
        for _ in 0..100 {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map_err(HostError::io(what("open")))?;
            // One made 0644 by an older vnetlab becomes root's alone.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(HostError::io(what("restrict")))?;
            let lock = match lock_briefly(file) {
                Ok(Some(lock)) => lock,
                Ok(None) => return Ok(None),
                Err(e) => {
                    return Err(HostError::Io {
                        what: what("lock"),
                        source: e.into(),
                    });
                }
            };
            let held = lock.metadata().map_err(HostError::io(what("read")))?;
            match std::fs::metadata(&path) {
                Ok(now) if same_file(&held, &now) => return Ok(Some(LabLock { lock })),
                _ => continue,
            }
        }
        Err(HostError::Io {
            what: what("lock"),
            source: std::io::Error::other("the lock file keeps being replaced"),
        })
    }

    /// The lock `up` handed over as this process's stdin, if stdin is the
    /// lab's lock file; stdin then becomes /dev/null, so that no process
    /// this one starts inherits the lock (one that outlived the daemon
    /// would keep the lab "running").
    pub fn inherited(lab: &Lab) -> Result<Option<LabLock>, HostError> {
        let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
            return Ok(None);
        };
        let file = File::from(fd);
        let (Ok(mine), Ok(path)) = (file.metadata(), std::fs::metadata(lab.lock_file())) else {
            return Ok(None);
        };
        if !same_file(&mine, &path) {
            return Ok(None);
        }
        let null = File::open("/dev/null").map_err(HostError::io("open /dev/null"))?;
        nix::unistd::dup2_stdin(null.as_fd()).map_err(HostError::sys("close the handed-over lock on stdin"))?;
        // Already held by this open file: locking it again only confirms.
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(LabLock { lock })),
            Err((_, e)) => Err(HostError::Io {
                what: format!("keep the lock {}", lab.lock_file().display()),
                source: e.into(),
            }),
        }
    }

    /// Hands the lock to a child process (as its stdin, see `inherited`):
    /// the child's copy shares this open file, so the lock stays held by
    /// whichever of the two lives. This process keeps its descriptor
    /// until it exits (unlocking it would unlock the child's too).
    pub fn hand_over(self) -> Result<File, HostError> {
        let file = self.lock.try_clone().map_err(HostError::io("share the lab's lock"))?;
        std::mem::forget(self.lock);
        Ok(file)
    }
}

/// An exclusive lock, retried for a moment: `is_running` elsewhere may be
/// probing the lock (a shared lock for a few microseconds).
fn lock_briefly(file: File) -> Result<Option<Flock<File>>, Errno> {
    let deadline = Instant::now() + Duration::from_millis(200);
    let mut file = file;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(Some(lock)),
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(e),
        }
    }
}

/// Is the lab's daemon alive? Creates nothing: no lock file means no lab.
pub fn is_running(lab: &Lab) -> bool {
    let Ok(file) = File::open(lab.lock_file()) else {
        return false;
    };
    // Shared: two probes at once do not take each other for the daemon.
    matches!(
        Flock::lock(file, FlockArg::LockSharedNonblock),
        Err((_, Errno::EWOULDBLOCK))
    )
}

/// What the daemon writes in its PID file: its PID and its start time
/// (clock ticks since boot, /proc/PID/stat field 22), which tell it from a
/// later process that got the same PID.
pub fn pid_file_text() -> String {
    let pid = std::process::id();
    format!("{pid} {}\n", start_time(pid).unwrap_or(0))
}

/// A process's start time, from /proc/PID/stat.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses, which may hold anything),
    // field 3 is the state; the start time is field 22.
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// The PID file's PID, if it is provably the lab's daemon: the lab's lock
/// is held, the process has the start time the daemon wrote, and it runs
/// a vnetlab executable.
pub fn daemon_pid(lab: &Lab) -> Option<u32> {
    if !is_running(lab) {
        return None;
    }
    let text = std::fs::read_to_string(lab.pid_file()).ok()?;
    let (pid, started) = parse_pid_file(&text)?;
    if start_time(pid) != Some(started) {
        return None;
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let name = exe.file_name()?.to_string_lossy();
    name.starts_with("vnetlab").then_some(pid)
}

fn parse_pid_file(text: &str) -> Option<(u32, u64)> {
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let started = words.next()?.parse().ok()?;
    Some((pid, started))
}

/// SIGTERM, a bounded wait for the lab's lock, then SIGKILL; each signal
/// only while `daemon_pid` still names `pid`.
pub fn stop_daemon(lab: &Lab, pid: u32, grace: Duration) {
    let p = Pid::from_raw(pid as i32);
    let still = || daemon_pid(lab) == Some(pid);
    if !still() || kill(p, Signal::SIGTERM).is_err() {
        return;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_running(lab) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if still() {
        let _ = kill(p, Signal::SIGKILL);
    }
    while is_running(lab) && Instant::now() < deadline + grace {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_files_name_pid_and_start_time() {
        assert_eq!(parse_pid_file("4242 98765\n"), Some((4242, 98765)));
        // An old PID file (PID alone) proves nothing: nobody is signalled.
        assert_eq!(parse_pid_file("4242\n"), None);
        assert_eq!(parse_pid_file("x 1"), None);
    }

    #[test]
    fn own_start_time_is_read_and_stable() {
        let me = std::process::id();
        let t = start_time(me).expect("own start time");
        assert_eq!(start_time(me), Some(t));
        assert!(pid_file_text().starts_with(&format!("{me} {t}")));
    }
}
