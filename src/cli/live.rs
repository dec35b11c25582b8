//! Commands on a running lab: up, down, status, exec, shell, ssh, trace,
//! apply, test. They talk to the lab's daemon over its socket; only `up`
//! (which starts the daemon) and the hidden boot commands touch the host.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::progress::{Bar, FOLD_FROM};
use super::{LatencyArgs, Output};
use crate::daemon::client::{self, Client};
use crate::daemon::journal::Journal;
use crate::daemon::progress;
use crate::daemon::proto::{LabStatus, PeeringStatus, Request, Response, SiteStatus, VmStatus};
use crate::daemon::{ONPREM_PASSWORD, ONPREM_USER};
use crate::dataplane::explain::{round_trip, round_trip_from, site_ingress};
use crate::dataplane::{Ingress, LbHealth, Tables};
use crate::expect::{self, CLOUD_SHELL, ExpectFile, Expectation, Outcome, Probe};
use crate::host::{self, Lab, netns};
use crate::model::latency::LatencyConfig;
use crate::model::{Change, Model};
use crate::print::write_table;
use crate::topology::Topology;

/// How long `up` waits for the daemon's next word (a step, or ready): a
/// big lab takes as long as it needs while it reports progress.
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) fn require_root(what: &str) -> anyhow::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!("`vnetlab {what}` needs root: it creates network namespaces and TUN devices. Run it with sudo.");
    }
    Ok(())
}

/// The topology's changes, validated as a whole before anything is built,
/// and its latency setting.
pub fn topology_changes(path: &Path) -> anyhow::Result<(PathBuf, Vec<Change>, LatencyConfig)> {
    let file = if path.is_dir() {
        path.join("topology.yaml")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let topo = Topology::parse(&text).with_context(|| format!("{} is not a valid topology", file.display()))?;
    topo.build()
        .with_context(|| format!("{} was refused", file.display()))?;
    let latency = topo
        .latency()
        .with_context(|| format!("{} was refused", file.display()))?;
    let changes = topo
        .changes()
        .with_context(|| format!("{} was refused", file.display()))?
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let file = file
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", file.display()))?;
    Ok((file, changes, latency))
}

pub fn up(
    lab: &Lab,
    file: Option<&Path>,
    foreground: bool,
    latency_args: &LatencyArgs,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    require_root("up")?;
    let (file, changes, latency) = match file {
        Some(f) => {
            let (file, changes, latency) = topology_changes(f)?;
            (Some(file), changes, latency)
        }
        None => (None, Vec::new(), LatencyConfig::default()),
    };
    let latency = latency_args.apply(latency)?;
    // The lock first: a second `up` of the lab stops here, touching
    // nothing of the first one's.
    let Some(lock) = host::LabLock::try_take(lab)? else {
        bail!(
            "lab '{lab}' is already running (daemon PID {}). `vnetlab status --lab {lab}` shows it; `vnetlab down --lab {lab}` removes it.",
            host::daemon_pid(lab).map_or_else(|| "?".into(), |p| p.to_string())
        );
    };
    // Whatever a killed daemon of this lab left behind goes next.
    host::remove_lab(lab)?;
    let dir = lab.runtime_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    writeln!(
        out,
        "Starting lab '{lab}'{}",
        file.as_ref()
            .map(|f| format!(" from {}", f.display()))
            .unwrap_or_default()
    )?;

    if foreground {
        let say = |line: &str| {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "  {line}");
            if line == "ready" {
                let _ = writeln!(o, "  lab '{lab}' runs in the foreground: Ctrl-C removes it");
            }
        };
        crate::daemon::run(lab.clone(), changes, latency, &say, Some(lock))?;
        // Ctrl-C removes a foreground lab, as `down` would.
        Journal::new(lab).remove()?;
        writeln!(out, "lab '{lab}' removed")?;
        return Ok(0);
    }

    let log = std::fs::File::create(lab.log_file())?;
    let exe = std::env::current_exe()?;
    let mut cmd = Process::new(exe);
    cmd.args(["__daemon", "--lab", lab.name()]);
    if let Some(f) = &file {
        cmd.arg("--file").arg(f);
    }
    cmd.args(latency_args.to_args());
    let mut child = cmd
        // The lock, handed over: the daemon holds it from its first
        // instruction (see host::LabLock::inherited).
        .stdin(Stdio::from(lock.hand_over()?))
        .stdout(Stdio::piped())
        .stderr(log)
        // Its own process group: Ctrl-C in this terminal does not reach it.
        .process_group(0)
        .spawn()
        .context("cannot start the lab daemon")?;
    let stdout = child.stdout.take().context("no pipe to the daemon")?;
    // Lines arrive on a thread so that the deadline holds even when the
    // daemon hangs without a word.
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut ready = false;
    let mut last_error = None;
    let mut silent = false;
    let mut build = BuildProgress::default();
    loop {
        let line = match lines.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                silent = true;
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if line == "ready" {
            ready = true;
            break;
        }
        if let Some(e) = line.strip_prefix("error: ") {
            last_error = Some(e.to_string());
        } else {
            build.line(&line, out)?;
        }
    }
    drop(build);
    if !ready {
        let _ = child.kill();
        let _ = child.wait();
        host::remove_lab(lab)?;
        let why = last_error.unwrap_or_else(|| {
            if silent {
                format!("no word from its daemon for {} s", START_TIMEOUT.as_secs())
            } else {
                "the daemon stopped without saying why".into()
            }
        });
        bail!("lab '{lab}' did not start: {why}");
    }
    writeln!(out, "Lab '{lab}' is up (daemon PID {}).\n", child.id())?;
    status(lab, Output::Table, out)?;
    writeln!(
        out,
        "\nNext: `vnetlab ssh --lab {lab} VM`, `vnetlab exec --lab {lab} VM -- CMD`, `vnetlab trace --lab {lab}`, `vnetlab down --lab {lab}`."
    )?;
    Ok(0)
}

/// What `up` shows of the daemon's build: on a terminal a bar (with the
/// per-machine lines folded into it for a large lab); elsewhere the lines,
/// with "built k/N" every tenth of a lab of 100 machines or more.
#[derive(Debug, Default)]
struct BuildProgress {
    bar: Option<Bar>,
}

impl BuildProgress {
    fn line(&mut self, line: &str, out: &mut impl Write) -> std::io::Result<()> {
        let bar = |total| Bar::new(total, "building");
        match progress::parse(line) {
            progress::Line::Step { total, what, .. } => {
                let bar = self.bar.get_or_insert_with(|| bar(total));
                if bar.shown() && total >= FOLD_FROM {
                    bar.message(what);
                    Ok(())
                } else {
                    bar.println(out, &format!("  {line}"))
                }
            }
            progress::Line::Built { done, total } => {
                let bar = self.bar.get_or_insert_with(|| bar(total));
                bar.set(done);
                bar.message("waiting for every machine to answer");
                if !bar.shown() && total >= 100 && (done.is_multiple_of((total / 10).max(1)) || done == total) {
                    bar.println(out, &format!("  {line}"))?;
                }
                Ok(())
            }
            progress::Line::Text(text) => match &self.bar {
                Some(bar) => bar.println(out, &format!("  {text}")),
                None => {
                    writeln!(out, "  {text}")?;
                    out.flush()
                }
            },
        }
    }
}

/// The hidden `__daemon` command: runs the daemon, reporting progress on
/// stdout for `up` to relay, and ending that with "ready" or "error: …".
pub fn daemon(lab: &Lab, file: Option<&Path>, latency_args: &LatencyArgs) -> anyhow::Result<u8> {
    let say = |line: &str| {
        // `up` may be gone (its user pressed Ctrl-C): the daemon goes on.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        eprintln!("{line}");
    };
    let lock = match host::LabLock::inherited(lab) {
        Ok(lock) => lock,
        Err(e) => {
            say(&format!("error: {e}"));
            return Err(e.into());
        }
    };
    let loaded = match file {
        Some(f) => topology_changes(f).map(|(_, c, l)| (c, l)),
        None => Ok((Vec::new(), LatencyConfig::default())),
    };
    let (changes, latency) = match loaded.and_then(|(c, l)| Ok((c, latency_args.apply(l)?))) {
        Ok(x) => x,
        Err(e) => {
            say(&format!("error: {e:#}"));
            return Err(e);
        }
    };
    if let Err(e) = crate::daemon::run(lab.clone(), changes, latency, &say, lock) {
        say(&format!("error: {e}"));
        return Err(e.into());
    }
    Ok(0)
}

/// How long a stopping daemon may go without removing a VM before `down`
/// takes it for stuck.
const STALL: Duration = Duration::from_secs(15);

pub fn down(lab: &Lab, keep_state: bool, out: &mut impl Write) -> anyhow::Result<u8> {
    require_root("down")?;
    let running = host::is_running(lab);
    if running {
        // Ask first: the daemon removes its VMs itself, and is waited for
        // as long as it gets on with it. One that cannot answer, or stops
        // getting on, is stopped; the sweep below removes what it left.
        let asked = client::call(lab, &Request::Shutdown);
        if matches!(asked, Ok(Response::Ok)) {
            wait_while_removing(lab, out)?;
        }
        if let Some(pid) = host::daemon_pid(lab) {
            let why = match asked {
                Ok(Response::Ok) => format!("made no progress for {} s", STALL.as_secs()),
                Err(client::ClientError::NoAnswer { secs, .. }) => format!("did not answer within {secs} s"),
                Ok(other) => format!("answered {other:?}"),
                Err(e) => format!("could not be asked to stop ({e})"),
            };
            writeln!(out, "the daemon of lab '{lab}' {why}: stopping it")?;
            host::stop_daemon(lab, pid, Duration::from_secs(5));
            // A killed daemon holds the lock until the kernel has closed
            // its descriptors (thousands of TUNs take seconds): wait while
            // it is still exiting.
            let since = Instant::now();
            while host::is_running(lab)
                && Path::new(&format!("/proc/{pid}")).exists()
                && since.elapsed() < Duration::from_secs(300)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if host::is_running(lab) {
            bail!(
                "the daemon of lab '{lab}' does not stop; see {}",
                lab.log_file().display()
            );
        }
    }
    let removed = host::remove_lab(lab)?;
    // The az session's account belongs to the lab's subscriptions.
    let _ = std::fs::remove_file(lab.az_profile_file());
    if let Some(lock) = host::LabLock::try_take(lab)? {
        let _ = std::fs::remove_file(lab.lock_file());
        drop(lock);
    }
    let journal = Journal::new(lab);
    let state = if keep_state {
        journal.exists().then(|| {
            format!(
                "; its saved state stays in {} (`vnetlab up --lab {lab}` brings it back)",
                lab.state_dir().display()
            )
        })
    } else {
        journal.remove()?.then(|| " with its saved state".to_string())
    };
    if !running && removed.namespaces.is_empty() && state.is_none() {
        writeln!(out, "lab '{lab}' is not running; nothing to remove")?;
    } else if !running && removed.namespaces.is_empty() && keep_state {
        writeln!(out, "lab '{lab}' is not running{}", state.unwrap_or_default())?;
    } else {
        writeln!(out, "lab '{lab}' removed{}", state.unwrap_or_default())?;
    }
    Ok(0)
}

/// Waits until the daemon has exited, showing how many VMs it removed,
/// or until it went `STALL` without progress.
fn wait_while_removing(lab: &Lab, out: &mut impl Write) -> anyhow::Result<()> {
    let file = crate::daemon::progress_file(lab);
    let (mut seen, mut changed, mut shown) = (String::new(), Instant::now(), Instant::now());
    let mut bar: Option<Bar> = None;
    while host::is_running(lab) {
        let now = std::fs::read_to_string(&file).unwrap_or_default();
        if now != seen {
            changed = Instant::now();
            let (done, total) = now.trim().split_once('/').unwrap_or(("0", "0"));
            let (done, total) = (done.parse().unwrap_or(0), total.parse().unwrap_or(0));
            let bar = bar.get_or_insert_with(|| Bar::new(total, "removing VMs"));
            bar.set(done);
            // Without a bar: at most a line a second, and the last one.
            if !bar.shown() && total != 0 && (shown.elapsed() >= Duration::from_secs(1) || done == total) {
                writeln!(out, "  removing {total} VMs: {done}/{total}")?;
                out.flush()?;
                shown = Instant::now();
            }
            seen = now;
        } else if changed.elapsed() > STALL {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn lab_status(lab: &Lab) -> anyhow::Result<LabStatus> {
    match client::call(lab, &Request::Status)? {
        Response::Status(s) => Ok(*s),
        other => bail!("unexpected answer from the daemon: {other:?}"),
    }
}

pub(super) fn lab_model(lab: &Lab) -> anyhow::Result<Model> {
    match client::call(lab, &Request::Model)? {
        Response::Model(m) => Ok(*m),
        other => bail!("unexpected answer from the daemon: {other:?}"),
    }
}

/// A peering's configured round trip: "17 ms", "~23 ms" (an estimate), or
/// "-" (one region, or latency off).
fn peering_rtt(p: &PeeringStatus) -> String {
    if p.rtt_ms == 0.0 {
        return "-".into();
    }
    let approx = if p.rtt_estimated { "~" } else { "" };
    let ms = if p.rtt_ms < 10.0 {
        format!("{:.1}", p.rtt_ms)
    } else {
        format!("{:.0}", p.rtt_ms)
    };
    format!("{approx}{ms} ms")
}

pub fn status(lab: &Lab, output: Output, out: &mut impl Write) -> anyhow::Result<u8> {
    let s = lab_status(lab)?;
    if output == Output::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
        return Ok(0);
    }
    writeln!(
        out,
        "Lab {} (daemon PID {}, model generation {}); Cloud Shell: namespace {}, {}",
        s.lab, s.pid, s.generation, s.cloud_shell.netns, s.cloud_shell.address
    )?;
    writeln!(
        out,
        "Latency between regions: {} (half of each region pair's median round trip each way; ~ marks vnetlab's estimates for pairs Microsoft does not list)",
        s.latency
    )?;
    writeln!(out)?;
    let mut rows = Vec::new();
    for vm in &s.vms {
        for n in &vm.nics {
            rows.push(vec![
                vm.name.clone(),
                vm.resource_group.clone(),
                vm.power_state.clone(),
                vm.netns.clone(),
                format!("{} {}/{}", n.interface, n.private_ip, n.prefix_len),
                n.public_ip.clone().unwrap_or_default(),
                n.tx.packets.to_string(),
                n.tx.bytes.to_string(),
                n.rx.packets.to_string(),
                n.rx.bytes.to_string(),
                n.dropped.to_string(),
            ]);
        }
    }
    write_table(
        out,
        &[
            "Name",
            "ResourceGroup",
            "PowerState",
            "Namespace",
            "PrivateIp",
            "PublicIp",
            "TxPackets",
            "TxBytes",
            "RxPackets",
            "RxBytes",
            "Dropped",
        ],
        &rows,
    )?;
    if !s.peerings.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = s
            .peerings
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.vnet.clone(),
                    p.remote_vnet.clone(),
                    p.peering_state.clone(),
                    peering_rtt(p),
                    p.carried.packets.to_string(),
                    p.carried.bytes.to_string(),
                    p.dropped.to_string(),
                ]
            })
            .collect();
        write_table(
            out,
            &[
                "Name",
                "VNet",
                "RemoteVNet",
                "PeeringState",
                "Rtt",
                "Packets",
                "Bytes",
                "Dropped",
            ],
            &rows,
        )?;
    }
    if !s.sites.is_empty() {
        writeln!(
            out,
            "\nOn-premises sites (user {ONPREM_USER}, password {ONPREM_PASSWORD}):"
        )?;
        let mut rows = Vec::new();
        for site in &s.sites {
            for (role, m) in [("VPN device", &site.router), ("host", &site.host)] {
                for n in &m.nics {
                    rows.push(vec![
                        m.name.clone(),
                        role.into(),
                        m.netns.clone(),
                        format!("{} {}/{}", n.interface, n.private_ip, n.prefix_len),
                        n.tx.packets.to_string(),
                        n.rx.packets.to_string(),
                        n.dropped.to_string(),
                    ]);
                }
            }
        }
        write_table(
            out,
            &[
                "Name",
                "Role",
                "Namespace",
                "Interface",
                "TxPackets",
                "RxPackets",
                "Dropped",
            ],
            &rows,
        )?;
        for site in &s.sites {
            writeln!(
                out,
                "{} routes toward Azure: {}",
                site.name,
                if site.routes.is_empty() {
                    "none (no Connected connection)".into()
                } else {
                    site.routes.join(", ")
                }
            )?;
        }
    }
    if !s.load_balancers.is_empty() {
        writeln!(out, "\nLoad balancers (health probes from 168.63.129.16):")?;
        let rows: Vec<Vec<String>> = s
            .load_balancers
            .iter()
            .flat_map(|lb| {
                lb.backends.iter().map(move |b| {
                    vec![
                        lb.name.clone(),
                        lb.sku.clone(),
                        lb.frontends.join(" "),
                        b.name.clone(),
                        b.ip.clone(),
                        b.health.clone(),
                    ]
                })
            })
            .collect();
        write_table(
            out,
            &["Name", "Sku", "Frontend", "Backend", "BackendIp", "Health"],
            &rows,
        )?;
    }
    if !s.caches.is_empty() {
        writeln!(
            out,
            "\nAzure Cache for Redis (redis-server; the password is `az redis list-keys`' primaryKey):"
        )?;
        let rows: Vec<Vec<String>> = s
            .caches
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    c.netns.clone(),
                    c.static_ip.clone().unwrap_or_else(|| "(private endpoints only)".into()),
                    c.instance_ip.clone(),
                    c.pid.to_string(),
                ]
            })
            .collect();
        write_table(out, &["Name", "Namespace", "StaticIp", "InstanceIp", "Pid"], &rows)?;
    }
    if !s.route_servers.is_empty() {
        writeln!(out, "\nRoute Server BGP sessions (bgpd, ASN 65515, one per instance):")?;
        let mut rows = Vec::new();
        for rs in &s.route_servers {
            if rs.sessions.is_empty() {
                rows.push(vec![
                    rs.name.clone(),
                    rs.address.clone(),
                    "(no peerings)".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            for b in &rs.sessions {
                rows.push(vec![
                    rs.name.clone(),
                    rs.address.clone(),
                    b.peer.clone(),
                    b.peer_asn.to_string(),
                    b.state.clone(),
                    b.uptime.clone(),
                    b.prefixes_received.to_string(),
                    b.prefixes_sent.to_string(),
                ]);
            }
        }
        write_table(
            out,
            &[
                "Instance",
                "LocalAddress",
                "Peer",
                "PeerAsn",
                "State",
                "UpDown",
                "PrefixesReceived",
                "PrefixesSent",
            ],
            &rows,
        )?;
    }
    Ok(0)
}

/// A VM, or an on-premises site's router or host, by name.
fn find_vm<'a>(s: &'a LabStatus, name: &str) -> anyhow::Result<&'a VmStatus> {
    s.machines()
        .find(|v| v.name.eq_ignore_ascii_case(name))
        .with_context(|| {
            let names: Vec<&str> = s.machines().map(|v| v.name.as_str()).collect();
            format!(
                "(ResourceNotFound) lab '{}' has no VM named '{name}'. Its machines: {}.",
                s.lab,
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )
        })
}

/// The command line that runs `cmd` inside a VM (`init`: its init, which
/// `anchor` asked the daemon for).
pub(super) fn in_vm(init: u32, cmd: &[String]) -> Process {
    host::vm::enter_command(init, cmd)
}

/// The VM's init (started by the daemon now if nobody entered the VM
/// yet), if its namespaces are there to enter.
pub(super) fn anchor(lab: &Lab, vm: &VmStatus) -> anyhow::Result<u32> {
    if vm.mount_ns.is_empty() || !Path::new(&vm.mount_ns).exists() {
        bail!("VM {}'s namespaces are gone (is the lab being removed?)", vm.name);
    }
    let netns = vm.netns.clone();
    match client::call(lab, &Request::Enter { netns })? {
        Response::Entered { pid } => Ok(pid),
        Response::Error { message } => bail!("{message}"),
        other => bail!("lab '{lab}' answered {other:?} instead of the VM's init"),
    }
}

/// Runs `cmd` and returns its exit code as a shell would report it.
pub(super) fn pass_through(mut cmd: Process) -> anyhow::Result<u8> {
    let status = cmd.status().context("cannot run the command")?;
    Ok(match status.code() {
        Some(c) => c as u8,
        None => 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0) as u8,
    })
}

fn default_shell(cmd: Vec<String>) -> Vec<String> {
    if cmd.is_empty() {
        vec!["bash".into(), "-l".into()]
    } else {
        cmd
    }
}

pub fn exec(lab: &Lab, vm: &str, cmd: Vec<String>) -> anyhow::Result<u8> {
    require_root("exec")?;
    let s = lab_status(lab)?;
    let vm = find_vm(&s, vm)?;
    pass_through(in_vm(anchor(lab, vm)?, &default_shell(cmd)))
}

pub fn shell(lab: &Lab, cmd: Vec<String>) -> anyhow::Result<u8> {
    require_root("shell")?;
    lab_status(lab)?;
    pass_through(host::shell_command(lab, &default_shell(cmd)))
}

/// ssh from the Cloud Shell to a VM's public IP, with the lab's password.
pub fn ssh(lab: &Lab, vm: &str, cmd: Vec<String>) -> anyhow::Result<u8> {
    require_root("ssh")?;
    let s = lab_status(lab)?;
    let v = find_vm(&s, vm)?;
    let Some(ip) = v.nics.iter().find_map(|n| n.public_ip.clone()) else {
        bail!(
            "VM {} has no public IP, so the Cloud Shell cannot reach it. Log in through a VM that can: `vnetlab exec --lab {lab} OTHER_VM -- ssh {}@{}`",
            v.name,
            v.admin_username,
            v.nics.first().map_or("?", |n| n.private_ip.as_str())
        );
    };
    let model = lab_model(lab)?;
    let password = model
        .virtual_machines
        .values()
        .find(|m| m.name.eq_ignore_ascii_case(&v.name))
        .and_then(|m| m.admin_password.clone());
    let mut full = ssh_argv(password.is_some(), &v.admin_username, &ip, 10);
    full.extend(cmd);
    let mut c = host::shell_command(lab, &full);
    if let Some(p) = password {
        c.env("SSHPASS", p);
    }
    pass_through(c)
}

/// An ssh command line that never prompts about host keys (every lab has
/// new ones) and, with a password, reads it from `SSHPASS`.
fn ssh_argv(password: bool, user: &str, ip: &str, timeout_s: u32) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if password {
        v.extend(["sshpass".into(), "-e".into()]);
    }
    v.extend(
        [
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            &format!("ConnectTimeout={timeout_s}"),
            "-o",
            "NumberOfPasswordPrompts=1",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    if password {
        v.extend(["-o".into(), "PubkeyAuthentication=no".into()]);
    }
    v.push(format!("{user}@{ip}"));
    v
}

pub fn trace(lab: &Lab, vm: Option<String>, out: &mut impl Write) -> anyhow::Result<u8> {
    let mut c = Client::connect(lab)?;
    match c.call(&Request::Trace { vm: vm.clone() })? {
        Response::Ok => {}
        other => bail!("unexpected answer from the daemon: {other:?}"),
    }
    writeln!(
        out,
        "Tracing drops in lab '{lab}'{} (Ctrl-C stops)",
        vm.map(|v| format!(" that concern {v}")).unwrap_or_default()
    )?;
    out.flush()?;
    while let Some(resp) = c.recv()? {
        if let Response::Drop(d) = resp {
            let secs = d.time as u64 % 86_400;
            let millis = ((d.time.fract()) * 1000.0) as u64;
            writeln!(
                out,
                "{:02}:{:02}:{:02}.{millis:03}  {:<12} {}  {}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                d.from,
                d.flow,
                d.reason
            )?;
            out.flush()?;
        }
    }
    Ok(0)
}

/// Applies a changes file (`changes: [...]`, the engine's `Change` list as
/// YAML or JSON) to a running lab.
pub fn apply(lab: &Lab, file: &Path, out: &mut impl Write) -> anyhow::Result<u8> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ChangesFile {
        changes: Vec<Change>,
        /// Steps inside VMs after the changes (an NVA's router stopped…).
        #[serde(default)]
        run: Vec<expect::Step>,
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed: ChangesFile =
        serde_yaml_ng::from_str(&text).with_context(|| format!("{} is not a changes file", file.display()))?;
    for step in &parsed.run {
        step.check()
            .map_err(|e| anyhow::anyhow!("{}: a step of `run`: {e}", file.display()))?;
    }
    apply_changes(lab, parsed.changes, &parsed.run, out)
}

/// Sends changes to the lab's daemon as one batch (all or none), then runs
/// the steps; `apply` and `import terraform --apply` share it.
pub(super) fn apply_changes(
    lab: &Lab,
    changes: Vec<Change>,
    run: &[expect::Step],
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let n = changes.len();
    match client::call(lab, &Request::Apply { changes })? {
        Response::Applied { generation } => {
            writeln!(
                out,
                "applied {n} change(s) to lab '{lab}' (model generation {generation})"
            )?;
            run_steps(lab, run, out)?;
            Ok(0)
        }
        Response::Refused { index, error } => {
            bail!("change {} of {n} was refused, nothing was applied: {error}", index + 1)
        }
        Response::Error { message } => bail!("{message}"),
        other => bail!("unexpected answer from the daemon: {other:?}"),
    }
}

/// `vnetlab test`: brings the lab up if needed, checks every expectation
/// with real traffic, prints the matrix; 1 on any mismatch.
pub fn test(lab: &Lab, dir: &Path, junit: Option<&Path>, out: &mut impl Write) -> anyhow::Result<u8> {
    require_root("test")?;
    let expect_file = if dir.is_dir() {
        dir.join("expect.yaml")
    } else {
        dir.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&expect_file).with_context(|| format!("cannot read {}", expect_file.display()))?;
    let file = ExpectFile::parse(&text)
        .with_context(|| format!("{} is not a valid expectations file", expect_file.display()))?;
    let expectations = file.expectations;
    if !host::is_running(lab) {
        let topology = expect_file.parent().unwrap_or(Path::new(".")).to_path_buf();
        up(lab, Some(&topology), false, &LatencyArgs::default(), out)?;
        writeln!(out)?;
    }
    run_steps(lab, &file.before, out)?;
    let model = lab_model(lab)?;
    let s = lab_status(lab)?;
    let tables = Tables::compile(&model, 1);
    let health = live_health(&s, &tables);
    writeln!(
        out,
        "Checking {} expectation(s) in lab '{lab}' with real traffic…",
        expectations.len()
    )?;
    out.flush()?;
    let bar = Bar::new(expectations.len(), "checking");
    let outcomes: Vec<anyhow::Result<Outcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = expectations
            .iter()
            .map(|e| {
                let (bar, s, model, tables, health) = (&bar, &s, &model, &tables, &health);
                scope.spawn(move || {
                    let outcome = check(lab, s, model, tables, health, e);
                    bar.inc();
                    outcome
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a check panicked"))))
            .collect()
    });
    drop(bar);
    let outcomes: Vec<Outcome> = outcomes.into_iter().collect::<anyhow::Result<_>>()?;
    writeln!(out)?;
    write!(out, "{}", expect::matrix(&outcomes))?;
    writeln!(out, "(ok: reached, --: blocked, !: not what expect.yaml says)\n")?;
    write!(out, "{}", expect::findings(&outcomes))?;
    if let Some(path) = junit {
        std::fs::write(path, expect::junit(lab.name(), &outcomes)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    writeln!(
        out,
        "\n{} of {} expectations hold{}",
        outcomes.len() - failed,
        outcomes.len(),
        if failed > 0 {
            format!("; {failed} do not")
        } else {
            String::new()
        }
    )?;
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Runs steps in order (see `expect::Step`): a script inside a VM as root,
/// as `az vm run-command invoke` runs it, or a wait for a route.
fn run_steps(lab: &Lab, steps: &[expect::Step], out: &mut impl Write) -> anyhow::Result<()> {
    for step in steps {
        writeln!(out, "step: {}", step.describe())?;
        out.flush()?;
        if let (Some(vm), Some(script)) = (&step.vm, &step.script) {
            let s = lab_status(lab)?;
            let init = anchor(lab, find_vm(&s, vm)?)?;
            let argv = ["/bin/sh".to_string(), "-c".to_string(), script.clone()];
            let o = in_vm(init, &argv)
                .stdin(Stdio::null())
                .output()
                .with_context(|| format!("cannot run a step in {vm}"))?;
            if !o.status.success() {
                bail!(
                    "the step in {vm} failed ({}): {}{}",
                    o.status,
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        if let Some(w) = &step.wait_for_route {
            wait_for_route(lab, w)?;
        }
    }
    Ok(())
}

/// Waits until the NIC's effective routes (the daemon's model, as `az
/// network nic show-effective-route-table` reads it) have an active route
/// to the prefix with exactly the wanted next hops, or none when none are
/// wanted; at most `expect::STEP_WAIT`.
fn wait_for_route(lab: &Lab, w: &expect::RouteWait) -> anyhow::Result<()> {
    let prefix: ipnet::Ipv4Net = w
        .prefix
        .parse()
        .with_context(|| format!("waitForRoute: '{}' is not an IPv4 prefix", w.prefix))?;
    let mut want = Vec::new();
    for h in &w.next_hops {
        let ip: Ipv4Addr = h
            .parse()
            .with_context(|| format!("waitForRoute: next hop '{h}' is not an IPv4 address"))?;
        want.push(ip);
    }
    want.sort();
    let deadline = Instant::now() + expect::STEP_WAIT;
    loop {
        let model = lab_model(lab)?;
        let nic = model
            .network_interfaces
            .values()
            .find(|n| n.name.eq_ignore_ascii_case(&w.nic))
            .with_context(|| format!("waitForRoute: lab '{lab}' has no NIC named '{}'", w.nic))?;
        let have = crate::routing::effective_routes(&model, &nic.subnet)
            .into_iter()
            .find(|r| r.state == crate::routing::RouteState::Active && r.address_prefix == prefix)
            .map(|r| {
                let mut ips = r.next_hop_ips;
                ips.sort();
                ips
            });
        let done = match &have {
            None => want.is_empty(),
            Some(ips) => !want.is_empty() && *ips == want,
        };
        if done {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "after {} s, {} still routes {prefix} {}",
                expect::STEP_WAIT.as_secs(),
                w.nic,
                have.map_or("nowhere".to_string(), |ips| format!(
                    "to {}",
                    ips.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(", ")
                ))
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The daemon's probe results (`status`) as the verdict function takes
/// them, so that a "why" names the backend the fabric picks.
fn live_health(s: &LabStatus, t: &Tables) -> LbHealth {
    let mut down = Vec::new();
    for lb in &t.lbs {
        let Some(status) = s.load_balancers.iter().find(|l| l.name == lb.name) else {
            continue;
        };
        for &n in lb.pools.iter().flat_map(|(_, members)| members) {
            let nic = &t.nics[n];
            let ip = nic.ip.to_string();
            if status.backends.iter().any(|b| b.ip == ip && b.health == "Down") {
                down.push((lb.key, nic.key));
            }
        }
    }
    down.into_iter().collect()
}

/// Runs one expectation's probe and asks the verdict function why.
fn check(
    lab: &Lab,
    s: &LabStatus,
    model: &Model,
    tables: &Tables,
    health: &LbHealth,
    e: &Expectation,
) -> anyhow::Result<Outcome> {
    if matches!(e.via, Probe::Dig | Probe::Getent) {
        return check_name(lab, s, model, e);
    }
    let from_cloud = e.from.eq_ignore_ascii_case(CLOUD_SHELL);
    // By name: the VM a name stands for is the one named by its first label.
    let target = if e.by_name {
        let host = e.to.split('.').next().unwrap_or(&e.to);
        s.machines().find(|v| v.name.eq_ignore_ascii_case(host))
    } else {
        s.machines().find(|v| v.name.eq_ignore_ascii_case(&e.to))
    };
    let (pod_from, pod_to) = (super::pods::find(model, &e.from), super::pods::find(model, &e.to));
    let by_name = if e.by_name {
        let view = crate::dns::DnsView::compile(model);
        let answer = crate::dns::resolve_as_vm(model, &view, &e.from, &e.to).with_context(|| {
            format!(
                "byName needs a VM to ask from; lab '{lab}' has no VM named '{}'",
                e.from
            )
        })?;
        Some(answer)
    } else {
        None
    };
    let address: Ipv4Addr = match (&by_name, target, from_cloud) {
        (Some(a), ..) if !a.addresses.is_empty() => a.addresses[0],
        (Some(a), ..) if a.custom_servers.is_empty() => {
            // Nothing to send a packet to: the real ssh shows the failure,
            // the name's answer says why.
            let v = find_vm(s, &e.from)?;
            let admin = target.and_then(|t| {
                model
                    .virtual_machines
                    .values()
                    .find(|m| m.name.eq_ignore_ascii_case(&t.name))
            });
            let user = admin.map_or("azureuser", |m| m.admin_username.as_str());
            let password = admin.and_then(|m| m.admin_password.as_deref());
            let started = Instant::now();
            let (reachable, detail) = probe_ssh(lab, Place::Vm(anchor(lab, v)?), &e.to, user, password, None)?;
            return Ok(Outcome {
                expectation: e.clone(),
                address: e.to.clone(),
                reachable,
                detail,
                why: a.why.clone(),
                took: started.elapsed(),
            });
        }
        (_, t, c) => match (t, c) {
            (Some(v), true) => v
                .nics
                .iter()
                .find_map(|n| n.public_ip.as_deref())
                .with_context(|| format!("{} has no public IP to reach from the Cloud Shell", v.name))?
                .parse()?,
            (Some(v), false) => v.nics.first().context("VM without NIC")?.private_ip.parse()?,
            (None, _) => match pod_to {
                Some((_, p)) => p.ip,
                None => e.to.parse().with_context(|| {
                    format!(
                        "'{}' is neither a machine nor a pod (CLUSTER/POD) of lab '{lab}', nor an IPv4 address",
                        e.to
                    )
                })?,
            },
        },
    };
    let port = match e.via {
        Probe::Ping | Probe::Dig | Probe::Getent => 0,
        Probe::Ssh => 22,
        Probe::Tcp => e.port.unwrap_or(22),
        Probe::Traceroute => TRACEROUTE_PORT,
    };
    let protocol = match e.via {
        Probe::Ping => "icmp",
        Probe::Traceroute => "udp",
        _ => "tcp",
    };
    let site = s
        .sites
        .iter()
        .find(|x| x.router.name.eq_ignore_ascii_case(&e.from) || x.host.name.eq_ignore_ascii_case(&e.from));
    let why = if from_cloud {
        round_trip(
            tables,
            health,
            Ingress::Internet,
            address,
            protocol,
            port,
            Instant::now(),
        )
        .1
        .summary
    } else if let Some(site) = site {
        on_premises_why(model, tables, health, site, &e.from, address, protocol, port)?
    } else if let Some((_, p)) = pod_from {
        super::pods::why(tables, health, p, address, protocol, port)?
    } else {
        let nic = tables
            .nic_of_vm(&e.from)
            .with_context(|| format!("lab '{lab}' has no VM named '{}'", e.from))?;
        round_trip(
            tables,
            health,
            Ingress::Nic(nic),
            address,
            protocol,
            port,
            Instant::now(),
        )
        .1
        .summary
    };
    let (netns, anchor_pid) = if from_cloud {
        (lab.cloud_shell_netns(), Place::CloudShell)
    } else if let Some((_, p)) = pod_from {
        (
            lab.pod_netns(&p.node, &p.name),
            Place::Pod(super::pods::anchor(lab, p)?),
        )
    } else {
        let v = find_vm(s, &e.from)?;
        (v.netns.clone(), Place::Vm(anchor(lab, v)?))
    };
    let started = Instant::now();
    let (reachable, detail) = match e.via {
        Probe::Ping => probe_ping(lab, anchor_pid, address)?,
        Probe::Tcp => probe_tcp(&netns, address, port)?,
        Probe::Traceroute => probe_traceroute(lab, anchor_pid, address, &e.hops)?,
        Probe::Ssh => {
            // A VM's admin logs in to a VM; the site's user to an
            // on-premises machine.
            let (user, password) = match target {
                Some(v) => match model
                    .virtual_machines
                    .values()
                    .find(|m| m.name.eq_ignore_ascii_case(&v.name))
                {
                    Some(m) => (m.admin_username.clone(), m.admin_password.clone()),
                    None => (v.admin_username.clone(), Some(ONPREM_PASSWORD.to_string())),
                },
                // An address several VMs may answer (an NVA's range): the
                // VM the login must land on has the credentials.
                None => match e
                    .hostname
                    .as_ref()
                    .and_then(|h| model.virtual_machines.values().find(|m| m.name.eq_ignore_ascii_case(h)))
                {
                    Some(m) => (m.admin_username.clone(), m.admin_password.clone()),
                    None => ("azureuser".to_string(), None),
                },
            };
            let to = if e.by_name { e.to.clone() } else { address.to_string() };
            probe_ssh(
                lab,
                anchor_pid,
                &to,
                &user,
                password.as_deref(),
                target.map(|v| v.name.as_str()).or(e.hostname.as_deref()),
            )?
        }
        Probe::Dig | Probe::Getent => unreachable!("name lookups are checked by check_name"),
    };
    let why = match &by_name {
        Some(a) => format!("{}; {why}", a.why),
        None => why,
    };
    Ok(Outcome {
        expectation: e.clone(),
        address: address.to_string(),
        reachable,
        detail,
        why,
        took: started.elapsed(),
    })
}

/// Why a flow from an on-premises machine goes where it goes: the site's
/// router picks the tunnel by what it learned, then the fabric decides.
#[allow(clippy::too_many_arguments)]
fn on_premises_why(
    model: &Model,
    tables: &Tables,
    health: &LbHealth,
    site: &SiteStatus,
    from: &str,
    dst: Ipv4Addr,
    protocol: &str,
    port: u16,
) -> anyhow::Result<String> {
    let machine = if site.router.name.eq_ignore_ascii_case(from) {
        &site.router
    } else {
        &site.host
    };
    let src: Ipv4Addr = machine
        .nics
        .first()
        .context("on-premises machine without an address")?
        .private_ip
        .parse()?;
    let lng = model
        .local_network_gateways
        .values()
        .find(|l| l.name.eq_ignore_ascii_case(&site.name))
        .context("the site's local network gateway is gone")?;
    let (ingress, prefix, conn) = match site_ingress(model, tables, &lng.id, dst) {
        Ok(entry) => entry,
        Err(why) => return Ok(why),
    };
    let (_, e) = round_trip_from(tables, health, ingress, Some(src), dst, protocol, port, Instant::now());
    Ok(format!(
        "{} (the site's router sends {prefix} through connection {})",
        e.summary,
        conn.name()
    ))
}

/// Where a probe runs.
#[derive(Clone, Copy)]
enum Place {
    CloudShell,
    /// A pod's process, whose namespaces are the pod's.
    Pod(u32),
    /// A VM's init.
    Vm(u32),
}

fn in_place(lab: &Lab, place: Place, argv: &[String]) -> Process {
    match place {
        Place::Pod(pid) => host::vm_command(pid, argv),
        Place::Vm(vm) => in_vm(vm, argv),
        Place::CloudShell => host::shell_command(lab, argv),
    }
}

fn probe_ping(lab: &Lab, anchor_pid: Place, ip: Ipv4Addr) -> anyhow::Result<(bool, String)> {
    // Three echoes a quarter second apart, two seconds at most.
    let argv: Vec<String> = ["ping", "-n", "-q", "-c", "3", "-i", "0.25", "-w", "2", &ip.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = in_place(lab, anchor_pid, &argv)
        .output()
        .context("cannot run ping (is iputils-ping installed?)")?;
    Ok(if out.status.success() {
        (true, "echo replies".into())
    } else {
        (false, "no echo reply within 2 s".into())
    })
}

/// Debian traceroute's first UDP port (each probe adds one).
const TRACEROUTE_PORT: u16 = 33434;

/// `traceroute -n` as a user types it, two probes a hop (a router's ICMP
/// rate limit may swallow one), a second's wait, eight hops at most (a
/// lab's paths are short; a loop shows in eight).
fn probe_traceroute(lab: &Lab, place: Place, ip: Ipv4Addr, hops: &[Ipv4Addr]) -> anyhow::Result<(bool, String)> {
    let argv: Vec<String> = ["traceroute", "-n", "-q", "2", "-w", "1", "-m", "8", &ip.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = in_place(lab, place, &argv)
        .stdin(Stdio::null())
        .output()
        .context("cannot run traceroute (is traceroute installed?)")?;
    let printed = String::from_utf8_lossy(&out.stdout);
    Ok(crate::expect::traceroute_verdict(
        &crate::expect::traceroute_hops(&printed),
        ip,
        hops,
    ))
}

fn probe_tcp(netns: &str, ip: Ipv4Addr, port: u16) -> anyhow::Result<(bool, String)> {
    let addr = SocketAddr::from((ip, port));
    let r = netns::run_in(netns, move || TcpStream::connect_timeout(&addr, Duration::from_secs(3)))?;
    Ok(match r {
        Ok(_) => (true, "connected".into()),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => (false, "no answer within 3 s".into()),
        Err(e) => (false, e.to_string()),
    })
}

/// A `dig` or `getent` expectation: the lookup runs inside the VM through
/// its own resolv.conf; the pure resolver says why (`dns::resolve_as_vm`).
fn check_name(lab: &Lab, s: &LabStatus, model: &Model, e: &Expectation) -> anyhow::Result<Outcome> {
    let v = find_vm(s, &e.from)?;
    let view = crate::dns::DnsView::compile(model);
    let answer = crate::dns::resolve_as_vm(model, &view, &e.from, &e.to)
        .with_context(|| format!("lab '{lab}' has no VM named '{}' to look names up from", e.from))?;
    let argv: Vec<String> = match e.via {
        Probe::Dig => ["dig", "+search", "+short", "+time=1", "+tries=3", &e.to, "A"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        _ => ["getent", "ahostsv4", &e.to].iter().map(|s| s.to_string()).collect(),
    };
    let started = Instant::now();
    let out = in_vm(anchor(lab, v)?, &argv)
        .stdin(Stdio::null())
        .output()
        .context("cannot run dig/getent (is bind9-dnsutils installed?)")?;
    let printed = String::from_utf8_lossy(&out.stdout);
    let mut got: Vec<Ipv4Addr> = printed
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    got.dedup();
    let list = got.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ");
    let (reachable, detail) = match (got.is_empty(), e.address) {
        (true, _) if e.via == Probe::Dig && !out.status.success() => (false, "no DNS server answered".to_string()),
        (true, _) => (false, "no address".to_string()),
        (false, Some(want)) if !got.contains(&want) => (false, format!("resolved to {list}, not {want}")),
        (false, _) => (true, format!("resolved to {list}")),
    };
    Ok(Outcome {
        expectation: e.clone(),
        address: e.to.clone(),
        reachable,
        detail,
        why: answer.why,
        took: started.elapsed(),
    })
}

fn probe_ssh(
    lab: &Lab,
    anchor_pid: Place,
    ip: &str,
    user: &str,
    password: Option<&str>,
    expect_host: Option<&str>,
) -> anyhow::Result<(bool, String)> {
    let mut argv = ssh_argv(password.is_some(), user, ip, 4);
    argv.push("hostname".into());
    let mut cmd = in_place(lab, anchor_pid, &argv);
    if let Some(p) = password {
        cmd.env("SSHPASS", p);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context("cannot run ssh (are openssh-client and sshpass installed?)")?;
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Ok((
            false,
            if err.is_empty() {
                format!("ssh exited with {}", out.status)
            } else {
                err
            },
        ));
    }
    match expect_host {
        Some(h) if !printed.eq_ignore_ascii_case(h) => {
            Ok((false, format!("logged in, but `hostname` printed '{printed}', not {h}")))
        }
        _ => Ok((true, format!("`hostname` printed {printed}"))),
    }
}
