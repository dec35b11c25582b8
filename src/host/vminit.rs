//! A VM's init: pid 1 of the VM's own PID and IPC namespaces, so that a
//! VM's users see only the VM's processes (`/proc` is the VM's, and
//! `/proc/1/net/*` names the VM's interfaces), cannot signal or ptrace a
//! process of another VM or of the host (there is no PID to name it by),
//! and share no System V or POSIX IPC object with them.
//!
//! A PID namespace lives only while its pid 1 does, so one small process
//! per VM holds it: `vnetlab __vm-init`, started at the VM's first entry
//! (ssh, exec, run-command), as the VM's host key is made; a VM nobody
//! enters runs no process. It mounts the VM's `/proc` and `/dev/shm` in
//! the VM's mount namespace, then only reaps the orphans that the kernel
//! hands to it. Every entry is `nsenter --target INIT --pid …` (nsenter
//! forks after entering the PID namespace).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};

use super::{HostError, netns};

/// The hidden subcommand the init runs as.
pub const INIT_COMMAND: &str = "__vm-init";

/// What the init writes on its stdout once the VM's `/proc` is mounted:
/// nobody enters the VM before (a session would see the host's `/proc`).
const READY: u8 = b'r';

/// A running VM init, the daemon's child. Dropped: killed (which kills
/// every process of its PID namespace) and reaped.
#[derive(Debug)]
pub struct Init {
    child: Child,
}

impl Init {
    /// Its PID on the host, which `nsenter --target` takes.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Still running (not killed from outside, which only root can do).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the init of the VM whose network namespace is `netns` and whose
/// mount namespace `mnt` holds its UTS namespace at `uts_file`: a thread
/// enters them, unshares the PID (for its children) and IPC namespaces and
/// spawns `vnetlab __vm-init`, which is pid 1 of the new PID namespace.
pub(super) fn start(netns_name: &str, mnt: File, uts_file: &'static str) -> Result<Init, HostError> {
    let net = netns::open(netns_name)?;
    // Opened here: the daemon's own path may not exist inside the VM (a
    // binary under /tmp or /home, which the VM has of its own).
    let exe = File::open("/proc/self/exe").map_err(HostError::io("open vnetlab's own executable"))?;
    let name = netns_name.to_string();
    std::thread::spawn(move || -> Result<Init, HostError> {
        setns(&net, CloneFlags::CLONE_NEWNET).map_err(HostError::sys(format!("enter namespace {name}")))?;
        unshare(CloneFlags::CLONE_FS).map_err(HostError::sys("unshare the filesystem context"))?;
        setns(&mnt, CloneFlags::CLONE_NEWNS).map_err(HostError::sys("enter the VM's mount namespace"))?;
        let uts = File::open(uts_file).map_err(HostError::io(format!("open {uts_file}")))?;
        setns(&uts, CloneFlags::CLONE_NEWUTS).map_err(HostError::sys("enter the VM's UTS namespace"))?;
        host_proc_view()?;
        // Exec'd through its descriptor, as fexecve does (the init closes
        // it: see `run`); the flag goes back on at once, so sessions
        // started meanwhile by other threads hardly ever inherit it.
        fcntl(&exe, FcntlArg::F_SETFD(FdFlag::empty()))
            .map_err(HostError::sys("hand vnetlab's executable to its init"))?;
        unshare(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWIPC)
            .map_err(HostError::sys("unshare PID and IPC namespaces"))?;
        let spawned = Command::new(format!("/proc/self/fd/{}", exe.as_raw_fd()))
            .arg0("vnetlab")
            .arg(INIT_COMMAND)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let _ = fcntl(&exe, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        let mut child = spawned.map_err(|source| HostError::Spawn {
            what: format!("the init of {name}"),
            source,
        })?;
        let mut ready = [0u8; 1];
        let got = child.stdout.take().map(|mut o| o.read(&mut ready));
        if matches!(got, Some(Ok(1))) && ready[0] == READY {
            return Ok(Init { child });
        }
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(HostError::Command {
            what: format!("the init of {name}"),
            stderr: stderr.trim().to_string(),
        })
    })
    .join()
    .map_err(|_| HostError::Io {
        what: "VM init thread".into(),
        source: std::io::Error::other("panicked"),
    })?
}

/// Makes the VM's /proc show the host's processes again if an init that
/// was killed left its own there (it showed a PID namespace that is gone):
/// the new init is exec'd through `/proc/self/fd`, then mounts its own.
fn host_proc_view() -> Result<(), HostError> {
    if std::path::Path::new("/proc/thread-self").exists() {
        return Ok(());
    }
    let _ = umount2("/proc", MntFlags::MNT_DETACH);
    mount(Some("proc"), "/proc", Some("proc"), MsFlags::empty(), None::<&str>)
        .map_err(HostError::sys("mount /proc to start the VM's init again"))
}

/// The init's own life (`vnetlab __vm-init`): the VM's `/proc` and
/// `/dev/shm`, the ready byte, then reaping until killed. Returns only on
/// a failure, before it said ready.
pub fn run() -> Result<std::convert::Infallible, HostError> {
    if std::process::id() != 1 {
        return Err(HostError::Io {
            what: "run as a VM's init".into(),
            source: std::io::Error::other("it is started by the lab's daemon as pid 1 of a VM"),
        });
    }
    // The host's /proc, copied into the VM's mount namespace, goes: the
    // VM's lists only the VM's PID namespace (procfs shows the namespace
    // of the process that mounts it). The VM's mounts are private: the
    // host's /proc stays where it is.
    umount2("/proc", MntFlags::MNT_DETACH).map_err(HostError::sys("unmount the host's /proc"))?;
    let hidden = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), "/proc", Some("proc"), hidden, None::<&str>).map_err(HostError::sys("mount the VM's /proc"))?;
    // POSIX shared memory is files in /dev/shm: the VM's own (the IPC
    // namespace covers System V objects and message queues).
    mount(
        Some("tmpfs"),
        "/dev/shm",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )
    .map_err(HostError::sys("mount the VM's /dev/shm"))?;
    // Nothing the daemon had open stays open in the VM (its executable's
    // descriptor, through which this init was started, among them).
    close_inherited();
    let _ = nix::unistd::setsid();
    let _ = std::env::set_current_dir("/");
    // Every signal blocked: SIGCHLD is awaited below, the rest stay
    // pending and harmless (SIGKILL from the host still ends the VM).
    SigSet::all().thread_block().map_err(HostError::sys("block signals"))?;
    let mut out = std::io::stdout();
    out.write_all(&[READY])
        .and_then(|()| out.flush())
        .map_err(HostError::io("tell the daemon the VM's init is ready"))?;
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        use std::os::fd::AsFd;
        let _ = nix::unistd::dup2_stdout(null.as_fd());
        let _ = nix::unistd::dup2_stderr(null.as_fd());
    }
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    loop {
        match waitpid(None, Some(WaitPidFlag::__WALL)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => {
                // No child yet: an orphan's death will raise SIGCHLD.
                let _ = chld.wait();
            }
            _ => {}
        }
    }
}

/// Closes every descriptor above stderr (listed from /proc/self/fd: this
/// process's /proc is the VM's own by now, where "self" is pid 1).
fn close_inherited() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        let _ = nix::unistd::close(fd);
    }
}
