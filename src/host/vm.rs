//! A VM's inside: its own mount and UTS namespaces (so `hostname` is the
//! VM's name and `/etc/passwd` is the VM's), and a real OpenSSH sshd,
//! started per connection (`sshd -i`, as inetd would): an idle VM runs no
//! process. The daemon holds its namespaces by descriptor.
//!
//! The admin user exists only in files under the lab's runtime directory,
//! bind-mounted over `/etc/passwd`, `/etc/shadow` and `/etc/group` inside
//! the VM's mount namespace: the host's own files are never written. So is
//! a copy of `/etc/frr` over the host's, for FRR run inside the VM.

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use sha_crypt::{PasswordHasher, ShaCrypt};

use super::{HostError, netns, vminit};

/// The admin user's IDs inside every VM (what cloud-init gives the first
/// user on an Azure Linux image).
const ADMIN_UID: u32 = 1000;
const SSHD: &str = "/usr/sbin/sshd";

/// Everything the host needs to bring up one VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmSetup {
    pub name: String,
    pub netns: String,
    pub dir: PathBuf,
    /// Where its host keys are made and kept, outside `dir` (which goes
    /// with the lab's runtime directory): the lab's state directory, so a
    /// lab brought back after a crash or reboot has the same keys.
    pub keys: PathBuf,
    pub admin_username: String,
    pub admin_password: Option<String>,
    pub ssh_public_keys: Vec<String>,
    /// The primary private IP, which the VM's own name resolves to (as
    /// cloud-init writes it on Azure).
    pub address: Option<Ipv4Addr>,
    /// The VNet's internal DNS suffix: `/etc/hosts` names the VM
    /// `<name>.<suffix>` first, so `hostname -f` gives that FQDN.
    pub domain: Option<String>,
    /// `/etc/resolv.conf` as DHCP gave it when the VM last started (the
    /// daemon's host plan writes it); rewritten in place by [`renew_dns`].
    pub resolv_conf: String,
}

/// A DHCP renewal: the VM's resolv.conf gets `text`, written in place so
/// the bind mount inside the VM sees it.
pub fn renew_dns(vm: &VmSetup, text: &str) -> Result<(), HostError> {
    fs::write(vm.dir.join("resolv.conf"), text)
        .map_err(HostError::io(format!("renew the DNS settings of VM {}", vm.name)))
}

/// Writes the VM's private files: passwd, shadow and group (the host's
/// system accounts plus the admin user), sshd's config and host key.
pub fn prepare(vm: &VmSetup) -> Result<(), HostError> {
    let io = |what: &str| {
        let what = format!("{what} for VM {}", vm.name);
        move |e| HostError::Io { what, source: e }
    };
    fs::create_dir_all(&vm.dir).map_err(io("create its directory"))?;
    fs::set_permissions(&vm.dir, fs::Permissions::from_mode(0o700)).map_err(io("restrict its directory"))?;
    fs::create_dir_all(&vm.keys).map_err(io("create its key directory"))?;
    fs::set_permissions(&vm.keys, fs::Permissions::from_mode(0o700)).map_err(io("restrict its key directory"))?;
    let user = &vm.admin_username;
    let system = |path: &str| -> Result<String, HostError> {
        let text = fs::read_to_string(path).map_err(io(&format!("read {path}")))?;
        // Keep system accounts (sshd's privilege-separation user among
        // them); drop the host's people and any namesake of the admin.
        Ok(text
            .lines()
            .filter(|l| {
                let mut f = l.split(':');
                let name = f.next().unwrap_or("");
                let id: u32 = f.nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                name != user && (id < ADMIN_UID || id == 65534)
            })
            .map(|l| format!("{l}\n"))
            .collect())
    };
    let mut passwd = system("/etc/passwd")?;
    passwd.push_str(&format!(
        "{user}:x:{ADMIN_UID}:{ADMIN_UID}:{user}:/home/{user}:/bin/bash\n"
    ));
    let mut group = system("/etc/group")?;
    group.push_str(&format!("{user}:x:{ADMIN_UID}:\n"));
    let shadow_system: String = passwd
        .lines()
        .filter(|l| !l.starts_with(&format!("{user}:")))
        .map(|l| format!("{}:*:19000:0:99999:7:::\n", l.split(':').next().unwrap_or("")))
        .collect();
    let hash = match &vm.admin_password {
        Some(p) => hash_password(p).map_err(io("hash the admin password"))?,
        // Key-only users: no password can match. Not "!": without PAM,
        // sshd takes "!" for a locked account and refuses keys too.
        None => "*".to_string(),
    };
    let shadow = format!("{shadow_system}{user}:{hash}:19000:0:99999:7:::\n");
    write(&vm.dir.join("passwd"), &passwd, 0o644).map_err(io("write passwd"))?;
    write(&vm.dir.join("group"), &group, 0o644).map_err(io("write group"))?;
    let own = match (vm.address, &vm.domain) {
        (Some(ip), Some(d)) => format!("{ip} {name}.{d} {name}\n", name = vm.name),
        (Some(ip), None) => format!("{ip} {}\n", vm.name),
        _ => String::new(),
    };
    write(&vm.dir.join("hosts"), &format!("127.0.0.1 localhost\n{own}"), 0o644).map_err(io("write hosts"))?;
    write(&vm.dir.join("hostname"), &format!("{}\n", vm.name), 0o644).map_err(io("write hostname"))?;
    write(&vm.dir.join("resolv.conf"), &vm.resolv_conf, 0o644).map_err(io("write resolv.conf"))?;
    write(&vm.dir.join("shadow"), &shadow, 0o600).map_err(io("write shadow"))?;
    write(
        &vm.dir.join("authorized_keys"),
        &vm.ssh_public_keys
            .iter()
            .map(|k| format!("{}\n", k.trim()))
            .collect::<String>(),
        0o644,
    )
    .map_err(io("write authorized_keys"))?;

    let password_auth = if vm.admin_password.is_some() { "yes" } else { "no" };
    let config = format!(
        "# sshd of Azure VM {name} (vnetlab)\n\
         Port 22\n\
         HostKey {RUN_DIR}/ssh_host_ed25519_key\n\
         PidFile none\n\
         UsePAM no\n\
         PermitRootLogin no\n\
         PasswordAuthentication {password_auth}\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         UseDNS no\n\
         PrintMotd no\n\
         Subsystem sftp internal-sftp\n",
        name = vm.name
    );
    write(&vm.dir.join("sshd_config"), &config, 0o600).map_err(io("write sshd_config"))?;
    copy_frr_config(&vm.dir.join("frr")).map_err(io("copy /etc/frr"))?;
    Ok(())
}

/// The host's FRR configuration, where the host has FRR installed.
const FRR_CONFIG: &str = "/etc/frr";

/// A VM's own `/etc/frr`, as a fresh Ubuntu image with the frr package has
/// it (daemons all off, an empty frr.conf): a copy of the host's files,
/// owners and modes kept, made once (what the VM's admin writes there
/// stays across a daemon restart). The host's own files are never written.
fn copy_frr_config(to: &Path) -> std::io::Result<()> {
    let from = Path::new(FRR_CONFIG);
    if !from.is_dir() || to.exists() {
        return Ok(());
    }
    let keep = |src: &Path, dst: &Path| -> std::io::Result<()> {
        let m = fs::metadata(src)?;
        chown(dst, Some(m.uid()), Some(m.gid()))?;
        fs::set_permissions(dst, fs::Permissions::from_mode(m.mode() & 0o7777))
    };
    fs::create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let dst = to.join(entry.file_name());
            fs::copy(entry.path(), &dst)?;
            keep(&entry.path(), &dst)?;
        }
    }
    keep(from, to)
}

fn write(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    fs::write(path, text)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

fn hash_password(password: &str) -> std::io::Result<String> {
    let mut salt = [0u8; 12];
    fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    ShaCrypt::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Where the VM's sshd finds its config and key: the VM's directory on
/// the host, bound into the VM's own `/run`.
const RUN_DIR: &str = "/run/vnetlab-vm";

/// A lab's base mount namespace: the host's mounts, private, without the
/// host's `/run/netns`. Every VM's mount namespace is copied from it, so a
/// VM costs a few dozen mounts, not one per other VM (a copy of the host's
/// would hold every VM's namespace mount: n² mounts).
#[derive(Debug)]
pub struct Template(File);

/// What holds a VM's mount and UTS namespaces, with no process: the
/// daemon's descriptor of the mount namespace, in which the UTS namespace
/// is bound at `UTS_FILE` (one descriptor per VM, not two: 5 000 VMs
/// must fit a 20 000 descriptor limit with their TUN and port 22). When
/// the daemon goes, even by SIGKILL, they go with it.
#[derive(Debug)]
pub struct Anchors {
    mnt: File,
    /// The mount namespace's inode: it changes when the VM is rebuilt.
    pub id: u64,
    /// The VM's init: pid 1 of its own PID and IPC namespaces, started at
    /// the VM's first entry (ssh, exec, run-command), as its host key is.
    init: std::sync::Mutex<Option<vminit::Init>>,
}

impl Anchors {
    /// Paths that other processes (nsenter) open to enter the namespaces.
    pub fn mnt_path(&self) -> PathBuf {
        fd_path(&self.mnt)
    }

    /// The VM's init, started now if the VM has none yet (or it was
    /// killed): its host PID, which every entry into the VM targets.
    /// Blocking (it waits for the init to mount the VM's `/proc`).
    pub fn enter(&self, netns: &str) -> Result<u32, HostError> {
        let mut init = self.init.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = init.as_mut()
            && running.alive()
        {
            return Ok(running.pid());
        }
        let mnt = self
            .mnt
            .try_clone()
            .map_err(HostError::io("share the VM's mount namespace"))?;
        let started = vminit::start(netns, mnt, UTS_FILE)?;
        let pid = started.pid();
        *init = Some(started);
        Ok(pid)
    }

    /// Inside the VM's mount namespace.
    pub fn uts_path(&self) -> PathBuf {
        PathBuf::from(UTS_FILE)
    }
}

/// Where a VM's UTS namespace is bound, inside its own mount namespace.
const UTS_FILE: &str = "/run/vnetlab-uts";

fn fd_path(f: &File) -> PathBuf {
    PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), f.as_raw_fd()))
}

/// A booted VM: its namespaces exist and its port 22 listens.
#[derive(Debug)]
pub struct Booted {
    /// Bound inside the VM's network namespace: each connection gets its
    /// own `sshd -i` (see `session`).
    pub listener: TcpListener,
    pub anchors: Anchors,
}

/// The lab's base mount namespace (see `Template`).
pub fn template() -> Result<Template, HostError> {
    std::thread::spawn(move || -> Result<Template, HostError> {
        unshare(CloneFlags::CLONE_NEWNS).map_err(HostError::sys("unshare a mount namespace"))?;
        private_root()?;
        // Lazily: the namespaces under it go with it. Missing is fine.
        let _ = umount2("/run/netns", MntFlags::MNT_DETACH);
        let ns = File::open("/proc/thread-self/ns/mnt").map_err(HostError::io("open the base mount namespace"))?;
        Ok(Template(ns))
    })
    .join()
    .map_err(|_| HostError::Io {
        what: "mount namespace thread".into(),
        source: std::io::Error::other("panicked"),
    })?
}

fn private_root() -> Result<(), HostError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(HostError::sys("make mounts private"))
}

/// Boots a VM whose files `prepare` wrote: its own mount and UTS
/// namespaces (hostname, /etc/passwd…, private /run, /tmp and /home) and
/// a socket listening on port 22 inside its network namespace. No process
/// is left running.
pub fn boot(vm: &VmSetup, template: &Template) -> Result<Booted, HostError> {
    let net = netns::open(&vm.netns)?;
    let base = template
        .0
        .try_clone()
        .map_err(HostError::io("share the base mount namespace"))?;
    let (dir, name, user) = (vm.dir.clone(), vm.name.clone(), vm.admin_username.clone());
    let (listener, mnt) = std::thread::spawn(move || -> Result<(TcpListener, File), HostError> {
        setns(&net, CloneFlags::CLONE_NEWNET).map_err(HostError::sys("enter the VM's network namespace"))?;
        // A thread shares its filesystem context with the process: it
        // needs its own to change mount namespace.
        unshare(CloneFlags::CLONE_FS).map_err(HostError::sys("unshare the filesystem context"))?;
        setns(&base, CloneFlags::CLONE_NEWNS).map_err(HostError::sys("enter the base mount namespace"))?;
        unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS)
            .map_err(HostError::sys("unshare mount and UTS namespaces"))?;
        private_root()?;
        inside(&dir, &name, &user)?;
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 22)).map_err(HostError::io("listen on port 22"))?;
        let open =
            |ns: &str| File::open(format!("/proc/thread-self/ns/{ns}")).map_err(HostError::io("open a namespace"));
        File::create(UTS_FILE).map_err(HostError::io(format!("create {UTS_FILE}")))?;
        mount(
            Some("/proc/thread-self/ns/uts"),
            UTS_FILE,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(HostError::sys("hold the VM's UTS namespace"))?;
        Ok((listener, open("mnt")?))
    })
    .join()
    .map_err(|_| HostError::Io {
        what: "VM boot thread".into(),
        source: std::io::Error::other("panicked"),
    })??;
    let id = mnt.metadata().map(|m| m.ino()).unwrap_or(0);
    Ok(Booted {
        listener,
        anchors: Anchors {
            mnt,
            id,
            init: std::sync::Mutex::new(None),
        },
    })
}

/// The command that serves one ssh connection: `sshd -i` with the VM's
/// config, the connection as stdin and stdout, inside the VM's namespaces
/// (`init`: the VM's init, see `Anchors::enter`); nsenter forks into the
/// VM's PID namespace and the child execs sshd.
pub fn session(vm: &VmSetup, init: u32, conn: TcpStream) -> Result<Command, HostError> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(vm.dir.join("sshd.log"))
        .map_err(HostError::io("open sshd.log"))?;
    let out = conn.try_clone().map_err(HostError::io("share the connection"))?;
    // The host key is made at the VM's first connection, as a VM makes
    // its keys at first boot: VMs nobody logs in to cost no ssh-keygen.
    // It is made in the kept directory (`keys`, on the host's side, before
    // entering the VM: that directory may be under a path the VM's own
    // /tmp or /run hides) and copied into the VM's directory, where its
    // sshd reads it. Made aside and moved: two first connections at once
    // both get one. Paths are arguments, never spliced into the script.
    let script = "k=\"$2/ssh_host_ed25519_key\"; v=\"$3/ssh_host_ed25519_key\"; \
         [ -e \"$k\" ] || { mkdir -p -m 0700 \"$2\" && \
         ssh-keygen -q -t ed25519 -N '' -C \"$1\" -f \"$k.$$\" </dev/null >&2 && \
         mv -f \"$k.$$.pub\" \"$k.pub\" && mv -f \"$k.$$\" \"$k\"; }; \
         [ -e \"$v\" ] || { cp -p \"$k\" \"$v.$$\" && mv -f \"$v.$$\" \"$v\"; }; \
         shift 3; exec \"$@\"";
    let sshd = [
        SSHD.to_string(),
        "-i".into(),
        "-e".into(),
        "-f".into(),
        format!("{RUN_DIR}/sshd_config"),
    ];
    let mut session = vec![
        "--fork".to_string(),
        "/bin/sh".into(),
        "-c".into(),
        script.into(),
        "sh".into(),
        vm.name.clone(),
        vm.keys.to_string_lossy().into_owned(),
        vm.dir.to_string_lossy().into_owned(),
    ];
    let enter = enter_command(init, &sshd);
    session.push(enter.get_program().to_string_lossy().into_owned());
    session.extend(enter.get_args().map(|a| a.to_string_lossy().into_owned()));
    // Its own session: a Ctrl-C meant for a foreground daemon does not
    // reach it, and it is not the daemon's child once setsid exits.
    let mut cmd = Command::new("setsid");
    cmd.args(session);
    cmd.stdin(Stdio::from(OwnedFd::from(conn)))
        .stdout(Stdio::from(OwnedFd::from(out)))
        .stderr(log);
    Ok(cmd)
}

/// Inside a VM's new mount and UTS namespaces: its hostname, its /etc
/// files, its own /run, /tmp and /home, sshd's config and keys.
fn inside(dir: &Path, hostname: &str, user: &str) -> Result<(), HostError> {
    // A sysfs mounted from inside the VM's network namespace lists the VM's
    // devices under /sys/class/net, as `ip netns exec` arranged before.
    umount2("/sys", MntFlags::MNT_DETACH).map_err(HostError::sys("unmount the host's /sys"))?;
    mount(Some("sysfs"), "/sys", Some("sysfs"), MsFlags::empty(), None::<&str>)
        .map_err(HostError::sys("mount the VM's /sys"))?;
    nix::unistd::sethostname(hostname).map_err(HostError::sys("set the hostname"))?;
    for f in ["passwd", "shadow", "group", "hosts", "hostname"] {
        mount(
            Some(&dir.join(f)),
            format!("/etc/{f}").as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(HostError::sys(&format!("bind /etc/{f}")))?;
    }
    // The VM's own /etc/frr: FRR run inside the VM reads and writes it.
    let frr = dir.join("frr");
    if frr.is_dir() && Path::new(FRR_CONFIG).is_dir() {
        mount(Some(&frr), FRR_CONFIG, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(HostError::sys("bind /etc/frr"))?;
    }
    // Held before /run is replaced by the VM's own, to be bound into it.
    let files = File::open(dir).map_err(HostError::io("open the VM's directory"))?;
    let keys = fs::read(dir.join("authorized_keys")).map_err(HostError::io("read authorized_keys"))?;
    for (target, mode) in [("/run", "mode=755"), ("/tmp", "mode=1777"), ("/home", "mode=755")] {
        mount(
            Some("tmpfs"),
            target,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(mode),
        )
        .map_err(HostError::sys(&format!("mount the VM's {target}")))?;
    }
    let private = |path: &str, data: &[u8], mode: u32| -> Result<(), HostError> {
        fs::write(path, data).map_err(HostError::io(&format!("write {path}")))?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(HostError::io(&format!("chmod {path}")))
    };
    fs::create_dir_all(RUN_DIR).map_err(HostError::io("create the sshd directory"))?;
    fs::create_dir_all("/run/sshd").map_err(HostError::io("create /run/sshd"))?;
    let source = format!("/proc/thread-self/fd/{}", files.as_raw_fd());
    mount(
        Some(source.as_str()),
        RUN_DIR,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(HostError::sys("bind the VM's files into its /run"))?;
    bind_resolv_conf()?;
    let home = format!("/home/{user}");
    fs::create_dir_all(format!("{home}/.ssh")).map_err(HostError::io("create the admin's home"))?;
    private(&format!("{home}/.ssh/authorized_keys"), &keys, 0o600)?;
    for p in [
        home.clone(),
        format!("{home}/.ssh"),
        format!("{home}/.ssh/authorized_keys"),
    ] {
        chown(&p, Some(ADMIN_UID), Some(ADMIN_UID)).map_err(HostError::io(&format!("chown {p}")))?;
    }
    fs::set_permissions(format!("{home}/.ssh"), fs::Permissions::from_mode(0o700))
        .map_err(HostError::io("chmod .ssh"))?;
    Ok(())
}

/// The VM's resolv.conf (in its /run, bound from its directory) over
/// `/etc/resolv.conf`. Where that is a link (systemd-resolved's stub in
/// /run), the file it names is made in the VM's own /run and bound over.
fn bind_resolv_conf() -> Result<(), HostError> {
    let etc = Path::new("/etc/resolv.conf");
    let target = match fs::read_link(etc) {
        Ok(to) => lexical(&Path::new("/etc").join(to)),
        Err(_) => etc.to_path_buf(),
    };
    if !target.exists() {
        // Only in the VM's private tmpfs: the host's own files stay as they are.
        if !target.starts_with("/run") {
            return Err(HostError::Io {
                what: format!(
                    "bind /etc/resolv.conf: it links to {}, which is missing",
                    target.display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(HostError::io(format!("create {}", parent.display())))?;
        }
        File::create(&target).map_err(HostError::io(format!("create {}", target.display())))?;
    }
    mount(
        Some(format!("{RUN_DIR}/resolv.conf").as_str()),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(HostError::sys("bind /etc/resolv.conf"))
}

/// `a/b/../c` → `a/c`, without touching the filesystem.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Waits until the machine's server (`pid`: sshd, or a cache's
/// redis-server) accepts connections on `port` of its private address, or
/// dies. The probe runs inside the machine's namespace, so it does not
/// cross the data plane.
pub fn wait_ready(netns: &str, address: Ipv4Addr, port: u16, pid: u32, timeout: Duration) -> Result<(), HostError> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from((address, port));
    let ns = netns.to_string();
    let ok = netns::run_in(netns, move || {
        while Instant::now() < deadline {
            if super::is_zombie(pid) || !Path::new(&format!("/proc/{pid}")).exists() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    })?;
    if ok {
        Ok(())
    } else {
        Err(HostError::Timeout {
            what: format!("the server in {ns} to listen on {addr}"),
        })
    }
}

/// The command line that runs `cmd` inside a VM: every namespace of its
/// init (network, mount, UTS, IPC and PID; nsenter forks into the PID
/// namespace, so `cmd` is one of the VM's processes).
pub fn enter_command(init: u32, cmd: &[String]) -> Command {
    let mut c = Command::new("nsenter");
    c.args(["--target", &init.to_string()])
        .args(["--net", "--mount", "--uts", "--ipc", "--pid", "--"])
        .args(cmd);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_without_the_filesystem() {
        assert_eq!(
            lexical(&Path::new("/etc").join("../run/systemd/resolve/stub-resolv.conf")),
            Path::new("/run/systemd/resolve/stub-resolv.conf")
        );
        // An absolute link replaces the directory it is in.
        let absolute = Path::new("/run/x");
        assert_eq!(lexical(&Path::new("/etc").join(absolute)), absolute);
    }
}
