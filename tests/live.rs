//! Live labs with real traffic: namespaces, TUNs, sshd, ping and ssh.
//! Needs root (`cargo test --features root-tests`, as scripts/test does
//! when run as root). Every test uses its own lab name and removes its lab
//! in a drop guard, also when it fails; every wait is bounded.
#![cfg(feature = "root-tests")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{BIN, Lab, text, vnetlab};

const LAB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/01-peering-basics");
const PASSWORD: &str = "Learn-Peering-2026!";

impl Lab {
    fn up(tag: &str) -> Lab {
        Lab::up_from(tag, LAB_DIR)
    }

    /// A lab from a topology file or folder.
    fn up_from(tag: &str, topology: &str) -> Lab {
        let lab = Lab::named(tag);
        let o = vnetlab(&["up", topology, "--lab", &lab.0]);
        assert!(o.status.success(), "up failed: {}", text(&o));
        lab
    }

    /// A lab from a topology given inline, written to a file that goes
    /// with the returned guard.
    fn up_inline(tag: &str, yaml: &str) -> (Lab, TempFile) {
        let file = TempFile(std::env::temp_dir().join(format!("vnetlab-{tag}-{}.yaml", std::process::id())));
        std::fs::write(&file.0, yaml).expect("write the topology");
        (Lab::up_from(tag, file.0.to_str().expect("utf-8 path")), file)
    }

    /// `vnetlab az ARGS --lab`: the az front against this lab.
    fn az(&self, args: &[&str]) -> Output {
        let o = Command::new(BIN)
            .arg("az")
            .args(args)
            .env("VNETLAB_LAB", &self.0)
            .stdin(Stdio::null())
            .output()
            .expect("run vnetlab az");
        assert!(o.status.success(), "az {}: {}", args.join(" "), text(&o));
        o
    }

    /// `vnetlab SUBCOMMAND --lab NAME REST…`.
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec![args[0], "--lab", &self.0];
        all.extend(&args[1..]);
        vnetlab(&all)
    }

    /// `exec VM -- argv`, with the lab's password in SSHPASS.
    fn exec(&self, vm: &str, argv: &[&str]) -> Output {
        let mut args = vec!["exec", "--lab", &self.0, vm, "--"];
        args.extend(argv);
        Command::new(BIN)
            .args(&args)
            .env("SSHPASS", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .expect("run vnetlab exec")
    }

    /// ssh from `vm` to `ip`, running `hostname`; what it printed, if it
    /// logged in. ConnectTimeout bounds a blocked attempt.
    fn ssh_hostname(&self, vm: &str, ip: &str) -> Option<String> {
        ssh_port_hostname(self, vm, ip, "22")
    }

    fn ping(&self, vm: &str, ip: &str) -> bool {
        self.exec(vm, &["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-w", "2", ip])
            .status
            .success()
    }

    fn status(&self) -> serde_json::Value {
        let o = self.run(&["status", "-o", "json"]);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).expect("status JSON")
    }

    fn runtime(&self) -> std::path::PathBuf {
        Path::new("/run/vnetlab").join(&self.0)
    }
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Every VM's anchor (its mount namespace's inode: a rebuilt VM gets a
/// new one; sshd runs per connection, so no process anchors a VM), sorted.
fn vm_anchors(status: &serde_json::Value) -> Vec<u64> {
    let mut v: Vec<u64> = status["vms"]
        .as_array()
        .expect("VMs in status")
        .iter()
        .map(|vm| vm["anchor"].as_u64().expect("anchor"))
        .collect();
    v.sort_unstable();
    v
}

fn counter(status: &serde_json::Value, vm: &str, field: &str) -> u64 {
    let v = status["vms"]
        .as_array()
        .and_then(|vms| vms.iter().find(|v| v["name"] == vm))
        .expect("VM in status");
    let n = &v["nics"][0];
    let value = if field == "dropped" {
        &n["dropped"]
    } else {
        &n[field]["packets"]
    };
    value.as_u64().expect("a counter")
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn poll_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn learn_exercise_with_real_traffic() {
    let host_files = || ["/etc/passwd", "/etc/shadow", "/etc/group"].map(|f| std::fs::read(f).unwrap());
    let host_before = host_files();
    let lab = Lab::up("learn");
    assert_eq!(lab.ssh_hostname("SalesVM", "10.2.1.4").as_deref(), Some("MarketingVM"));
    assert_eq!(
        lab.ssh_hostname("MarketingVM", "10.3.1.4").as_deref(),
        Some("ResearchVM")
    );
    assert_eq!(
        lab.ssh_hostname("ResearchVM", "10.2.1.4").as_deref(),
        Some("MarketingVM")
    );
    assert!(lab.ping("SalesVM", "10.2.1.4") && lab.ping("MarketingVM", "10.3.1.4"));
    // Not transitive: Sales and Research fail both ways, within bounds.
    for (from, to) in [("SalesVM", "10.3.1.4"), ("ResearchVM", "10.1.1.4")] {
        let (login, took) = timed(|| lab.ssh_hostname(from, to));
        assert_eq!(login, None, "{from} -> {to} must fail");
        assert!(took < Duration::from_secs(15), "{from} -> {to} took {took:?}");
        let (reached, took) = timed(|| lab.ping(from, to));
        assert!(
            !reached && took < Duration::from_secs(5),
            "{from} ping {to}: {reached} in {took:?}"
        );
    }
    // The admin user exists in the VM only; the host's files are untouched.
    assert!(lab.exec("SalesVM", &["id", "azureuser"]).status.success());
    assert_eq!(
        String::from_utf8_lossy(&lab.exec("MarketingVM", &["hostname"]).stdout).trim(),
        "MarketingVM"
    );
    assert!(
        host_files() == host_before,
        "the host's passwd, shadow or group changed"
    );
    // The VM's own name resolves to its private IP, as cloud-init sets it.
    assert!(
        String::from_utf8_lossy(&lab.exec("SalesVM", &["getent", "hosts", "SalesVM"]).stdout).starts_with("10.1.1.4")
    );
    // exec passes the exit code through.
    assert_eq!(lab.exec("SalesVM", &["sh", "-c", "exit 7"]).status.code(), Some(7));

    // The fabric is one hop (TTL 64 arrives as sent) and drops silently:
    // no ICMP unreachable comes back for the non-transitive path.
    let o = lab.exec("SalesVM", &["ping", "-n", "-c", "1", "10.2.1.4"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("ttl=64"), "{}", text(&o));
    let o = lab.exec("SalesVM", &["ping", "-n", "-c", "2", "-W", "1", "10.3.1.4"]);
    let out = text(&o);
    assert!(out.contains("100% packet loss") && !out.contains("nreachable"), "{out}");
}

/// The smallest RTT of `ping -c 5` from `vm` to `ip`, in ms.
fn ping_min_ms(lab: &Lab, vm: &str, ip: &str) -> f64 {
    let o = lab.exec(vm, &["ping", "-n", "-q", "-c", "5", "-i", "0.2", "-w", "5", ip]);
    let out = text(&o);
    out.split("min/avg/max/mdev = ")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no RTT from {vm} to {ip}: {out}"))
}

// Not a speed check: the delay is a rule of the lab (half of Azure's 17 ms
// northeurope-westeurope median each way), and a packet cannot arrive
// before it was released. The bound leaves room for the line waking up to
// 0.2 ms early; the bench checks accuracy (within ±1 ms at p50).
#[test]
fn global_peering_takes_the_published_round_trip() {
    let lab = Lab::up("h4lat");
    let status = lab.status();
    let rtt = |name: &str| {
        status["peerings"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .and_then(|p| p["rttMs"].as_f64())
            .unwrap_or_else(|| panic!("no rttMs for {name}: {status}"))
    };
    assert_eq!(rtt("MarketingVNet-To-ResearchVNet"), 17.0);
    assert_eq!(rtt("SalesVNet-To-MarketingVNet"), 0.0);
    assert_eq!(status["latency"], "azure");
    let global = ping_min_ms(&lab, "MarketingVM", "10.3.1.4");
    assert!(
        global >= 15.0,
        "MarketingVM -> ResearchVM took {global} ms, less than the 17 ms held"
    );
    let regional = ping_min_ms(&lab, "MarketingVM", "10.1.1.4");
    assert!(
        regional + 10.0 < global,
        "same region {regional} ms vs across regions {global} ms: nothing should be held in one region"
    );
}

#[test]
fn trace_streams_drops_with_their_reason() {
    let lab = Lab::up("trace");
    let mut trace = Command::new(BIN)
        .args(["trace", "--lab", &lab.0, "--vm", "ResearchVM"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start trace");
    let stdout = trace.stdout.take().expect("trace stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The header says the trace is attached; then the drops come.
    let first = rx.recv_timeout(Duration::from_secs(5)).expect("trace header");
    assert!(first.starts_with("Tracing drops"), "{first}");
    assert!(!lab.ping("SalesVM", "10.3.1.4"));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line)
                if line.contains("10.1.1.4 -> 10.3.1.4 icmp")
                    && line.contains("no route leads to 10.3.1.4")
                    && line.contains("not transitive") =>
            {
                break true;
            }
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    let _ = trace.kill();
    let _ = trace.wait();
    assert!(found, "no drop line for SalesVM -> ResearchVM; saw {seen:?}");
    // Drops of VMs other than the filtered one are not shown.
    assert!(seen.iter().all(|l| !l.contains("10.1.1.4 -> 10.2.1.4")), "{seen:?}");
}

#[test]
fn cloud_shell_reaches_public_ips_as_far_as_nsgs_allow() {
    let lab = Lab::up("shell");
    let shell = |script: &str| lab.run(&["shell", "--", "timeout", "5", "bash", "-c", script]);
    // Port 22 of SalesVM's public IP is open (az's default-allow-ssh)…
    assert!(shell("exec 3<>/dev/tcp/203.0.113.1/22").status.success());
    // …ICMP is not (DenyAllInBound), and neither is a private address.
    assert!(
        !lab.run(&["shell", "--", "ping", "-c", "1", "-W", "2", "203.0.113.1"])
            .status
            .success()
    );
    assert!(!shell("exec 3<>/dev/tcp/10.1.1.4/22").status.success());
    // Inside the Cloud Shell the address is the documented one.
    let o = lab.run(&["shell", "--", "ip", "-4", "-br", "addr", "show", "eth0"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("192.0.2.10/24"),
        "{}",
        text(&o)
    );
}

#[test]
fn cloud_shell_nsg_and_spoofing() {
    let lab = Lab::up("edge");
    // From the Cloud Shell to SalesVM's public IP: az's default-allow-ssh.
    let o = lab.run(&["ssh", "SalesVM", "--", "hostname"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "SalesVM", "{}", text(&o));

    // An NSG rule that denies 22 (applied live) closes MarketingVM.
    let o = lab.run(&[
        "apply",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/deny-ssh-marketing.yaml"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let (o, took) = timed(|| lab.run(&["ssh", "MarketingVM", "--", "hostname"]));
    assert!(
        !o.status.success() && took < Duration::from_secs(20),
        "ssh through a deny rule: {}",
        text(&o)
    );
    assert_eq!(
        lab.ssh_hostname("SalesVM", "10.2.1.4"),
        None,
        "the rule denies 22 from the peer too"
    );
    assert!(lab.ping("SalesVM", "10.2.1.4"), "only port 22 is denied");

    // SalesVM sends as ResearchVM: the fabric delivers nothing.
    assert!(
        lab.exec("SalesVM", &["ip", "addr", "add", "10.3.1.4/32", "dev", "eth0"])
            .status
            .success()
    );
    let before = lab.status();
    let spoofed = lab.exec(
        "SalesVM",
        &[
            "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-w", "2", "-I", "10.3.1.4", "10.2.1.4",
        ],
    );
    let after = lab.status();
    assert!(!spoofed.status.success());
    assert_eq!(
        counter(&before, "MarketingVM", "rx"),
        counter(&after, "MarketingVM", "rx"),
        "nothing reached MarketingVM"
    );
    assert_eq!(
        counter(&before, "ResearchVM", "rx"),
        counter(&after, "ResearchVM", "rx")
    );
    assert!(counter(&after, "SalesVM", "dropped") >= counter(&before, "SalesVM", "dropped") + 3);

    // A refused change changes nothing.
    let generation = lab.status()["generation"].clone();
    let o = lab.run(&[
        "apply",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad-peering.yaml"),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("(InvalidResourceReference)"), "{}", text(&o));
    assert_eq!(lab.status()["generation"], generation);
}

#[test]
fn live_peering_change_loses_no_packet_and_restarts_nothing() {
    let lab = Lab::up("live");
    assert_eq!(lab.ssh_hostname("SalesVM", "10.3.1.4"), None);
    let anchors = |lab: &Lab| -> Vec<u64> { vm_anchors(&lab.status()) };
    let (anchors_before, daemon_before) = (anchors(&lab), lab.status()["pid"].clone());

    // 250 echoes 10 ms apart, across the change.
    let ping = Command::new(BIN)
        .args([
            "exec", "--lab", &lab.0, "SalesVM", "--", "ping", "-n", "-q", "-c", "250", "-i", "0.01", "-W", "1",
            "10.2.1.4",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    poll_until("the ping to be under way", Duration::from_secs(10), || {
        counter(&lab.status(), "SalesVM", "tx") > 20
    });
    let o = lab.run(&[
        "apply",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/01-peering-basics/changes/peer-sales-research.yaml"
        ),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = ping.wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("250 packets transmitted, 250 received, 0% packet loss"),
        "{summary}"
    );

    assert_eq!(lab.ssh_hostname("SalesVM", "10.3.1.4").as_deref(), Some("ResearchVM"));
    assert_eq!(lab.ssh_hostname("ResearchVM", "10.1.1.4").as_deref(), Some("SalesVM"));
    assert_eq!(anchors(&lab), anchors_before, "no VM restarted");
    assert_eq!(lab.status()["pid"], daemon_before);
}

/// The root namespace's addresses, routes, rules and firewall.
fn root_snapshot() -> String {
    let mut s = String::new();
    for args in [
        &["-d", "addr"][..],
        &["route", "show", "table", "all"],
        &["-6", "route", "show", "table", "all"],
        &["rule"],
        &["-d", "link"],
    ] {
        s.push_str(&String::from_utf8_lossy(
            &Command::new("ip").args(args).output().expect("run ip").stdout,
        ));
    }
    for fw in [&["nft", "list", "ruleset"][..], &["iptables-save"], &["ip6tables-save"]] {
        if let Ok(o) = Command::new(fw[0]).args(&fw[1..]).output() {
            // iptables-save stamps the time: keep only the rules.
            s.extend(
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .map(|l| format!("{l}\n")),
            );
        }
    }
    s
}

#[test]
fn test_command_then_down_after_sigkill_leaves_nothing() {
    let before = root_snapshot();
    let name = format!("gone{}", std::process::id() % 100_000);
    let lab = Lab(name.clone());
    let junit = std::env::temp_dir().join(format!("{name}.xml"));
    // `vnetlab test` brings the lab up itself.
    let o = vnetlab(&["test", LAB_DIR, "--lab", &name, "--junit", junit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("12 of 12 expectations hold"), "{}", text(&o));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        (xml.matches("<testcase").count(), xml.matches("<failure").count()),
        (12, 0)
    );
    let _ = std::fs::remove_file(&junit);

    let status = lab.status();
    let daemon = status["pid"].as_u64().unwrap() as i32;
    let anchors = vm_anchors(&status);
    assert_eq!(anchors.len(), 3);
    nix_kill(daemon);
    poll_until("the daemon to die", Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{daemon}")).exists()
    });

    for _ in 0..2 {
        let o = vnetlab(&["down", "--lab", &name]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let netns =
        String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).to_string();
    assert!(
        !netns.contains(&format!("vnl-{name}.")) && !netns.contains(&format!("vnl-{name}@")),
        "{netns}"
    );
    // No process is left in a VM's mount namespace, and no mount holds one.
    for anchor in anchors {
        poll_until("the VM's processes to go", Duration::from_secs(5), || {
            !std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()).any(|e| {
                std::fs::metadata(e.path().join("ns/mnt"))
                    .is_ok_and(|m| std::os::unix::fs::MetadataExt::ino(&m) == anchor)
            })
        });
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&format!("/run/vnetlab/{name}/")), "{mounts}");
    assert!(!lab.runtime().exists());
    assert_eq!(root_snapshot(), before, "the root namespace changed");
}

fn nix_kill(pid: i32) {
    assert!(
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("run kill")
            .success()
    );
}

#[test]
fn vms_come_and_go_while_the_lab_runs() {
    let lab = Lab::up("vms");
    let fixture = |f: &str| format!("{}/tests/fixtures/{f}", env!("CARGO_MANIFEST_DIR"));
    let o = lab.run(&["apply", &fixture("add-dev-vm.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    let netns = format!("vnl-{}.DevVM", lab.0);
    assert!(Path::new("/run/netns").join(&netns).exists());
    assert_eq!(
        String::from_utf8_lossy(&lab.exec("DevVM", &["hostname"]).stdout).trim(),
        "DevVM"
    );
    assert!(lab.exec("DevVM", &["id", "devops"]).status.success());
    // An NVA's NIC forwards, so its kernel forwards too.
    assert_eq!(
        String::from_utf8_lossy(&lab.exec("DevVM", &["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout).trim(),
        "1"
    );
    assert_eq!(
        String::from_utf8_lossy(&lab.exec("SalesVM", &["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout).trim(),
        "0"
    );
    // The first free address of SalesVNet/Apps after SalesVM's .4.
    assert!(lab.ping("SalesVM", "10.1.1.5"));
    assert!(lab.ping("MarketingVM", "10.1.1.5"), "peered VNets reach the new VM");

    let o = lab.run(&["apply", &fixture("remove-dev-vm.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!Path::new("/run/netns").join(&netns).exists());
    assert!(!lab.ping("SalesVM", "10.1.1.5"));
    assert_eq!(
        lab.ssh_hostname("SalesVM", "10.2.1.4").as_deref(),
        Some("MarketingVM"),
        "the rest of the lab is untouched"
    );
}

#[test]
fn key_only_vm_accepts_its_key_and_refuses_passwords() {
    let lab = Lab::up("keys");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&lab.0);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("id_ed25519");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let public = std::fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/add-dev-vm.yaml")).unwrap();
    let old_key = fixture
        .lines()
        .find(|l| l.contains("sshPublicKeys"))
        .unwrap()
        .to_string();
    let changes = dir.join("changes.yaml");
    std::fs::write(
        &changes,
        fixture.replace(&old_key, &format!("      sshPublicKeys: [\"{}\"]", public.trim())),
    )
    .unwrap();
    let o = lab.run(&["apply", changes.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    let login = |extra: &[&str]| {
        let mut argv = vec![
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=3",
        ];
        argv.extend(extra);
        argv.extend(["devops@10.1.1.5", "hostname"]);
        lab.exec("SalesVM", &argv)
    };
    // The private key goes into SalesVM's own /tmp (the host's /tmp is
    // not the VM's), as a user would copy it there.
    let secret = std::fs::read_to_string(&key).unwrap();
    let copy = Command::new(BIN)
        .args([
            "exec",
            "--lab",
            &lab.0,
            "SalesVM",
            "--",
            "sh",
            "-c",
            "umask 077; printf '%s' \"$KEY\" > /tmp/id_ed25519",
        ])
        .env("KEY", &secret)
        .status()
        .unwrap();
    assert!(copy.success());
    let o = login(&["-o", "BatchMode=yes", "-i", "/tmp/id_ed25519"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "DevVM", "{}", text(&o));
    // No key, a password offered: refused (the account is key-only).
    let mut argv = vec!["sshpass", "-e"];
    argv.extend([
        "ssh",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "ConnectTimeout=3",
        "devops@10.1.1.5",
        "hostname",
    ]);
    assert!(!lab.exec("SalesVM", &argv).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lab that `az` starts itself: named but never `up`ed, removed on drop.
fn az_lab(tag: &str) -> Lab {
    Lab(format!("{tag}{}", std::process::id() % 100_000))
}

#[test]
fn learn_script_through_the_az_shim_builds_the_lab_and_real_traffic_agrees() {
    let lab = az_lab("az");
    let shim_dir = std::env::temp_dir().join(format!("vnetlab-shim-{}", lab.0));
    let o = vnetlab(&["shim", "install", shim_dir.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o));
    let path = format!("{}:{}", shim_dir.display(), std::env::var("PATH").unwrap_or_default());
    let az = |args: &[&str]| {
        Command::new("az")
            .args(args)
            .env("PATH", &path)
            .env("VNETLAB_LAB", &lab.0)
            .stdin(Stdio::null())
            .output()
            .expect("run the az shim")
    };

    // Nothing runs yet: reading commands answer from an empty lab.
    let o = az(&["group", "list"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "[]\n", "{}", text(&o));
    assert!(!lab.runtime().exists(), "a read must not start the lab");

    let o = Command::new(format!("{LAB_DIR}/setup.sh"))
        .env("PATH", &path)
        .env("VNETLAB_LAB", &lab.0)
        .stdin(Stdio::null())
        .output()
        .expect("run setup.sh");
    assert!(o.status.success(), "setup.sh failed: {}", text(&o));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(
        printed.contains("SalesVNet-To-MarketingVNet  learn-rg    Connected       True"),
        "{printed}"
    );
    assert!(
        printed.contains("Default   Active   10.2.0.0/16       VNetPeering"),
        "{printed}"
    );

    // The expectations of the topology file hold for the lab az built.
    let o = lab.run(&["test", LAB_DIR]);
    assert!(
        o.status.success(),
        "expectations failed on the az-built lab: {}",
        text(&o)
    );

    // run-command runs inside the VM.
    let o = az(&[
        "vm",
        "run-command",
        "invoke",
        "-g",
        "learn-rg",
        "-n",
        "MarketingVM",
        "--command-id",
        "RunShellScript",
        "--scripts",
        "hostname",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("run-command JSON");
    assert!(
        doc["value"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("[stdout]\nMarketingVM\n")),
        "{doc}"
    );

    // A refused command changes nothing in the running lab.
    let before = lab.run(&["status", "-o", "json"]);
    let o = az(&[
        "network",
        "vnet",
        "create",
        "-g",
        "learn-rg",
        "-n",
        "Clash",
        "--address-prefixes",
        "10.1.0.0/16",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = az(&[
        "network",
        "vnet",
        "peering",
        "create",
        "-g",
        "learn-rg",
        "--vnet-name",
        "Clash",
        "-n",
        "c-s",
        "--remote-vnet",
        "SalesVNet",
        "--allow-vnet-access",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("(VnetAddressSpacesOverlap)"),
        "{}",
        text(&o)
    );
    let after = lab.run(&["status", "-o", "json"]);
    let generation =
        |o: &Output| serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("status")["generation"].clone();
    assert_eq!(
        generation(&before).as_u64().map(|g| g + 1),
        generation(&after).as_u64(),
        "only the VNet create changed the lab"
    );

    // A stopped VM stops answering; started again, it answers.
    let marketing_ip = "10.2.1.4";
    assert!(lab.ping("SalesVM", marketing_ip));
    let o = az(&["vm", "stop", "-g", "learn-rg", "-n", "MarketingVM"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!lab.ping("SalesVM", marketing_ip), "a stopped VM must not answer");
    let o = az(&["vm", "start", "-g", "learn-rg", "-n", "MarketingVM"]);
    assert!(o.status.success(), "{}", text(&o));
    poll_until("MarketingVM answers again", Duration::from_secs(10), || {
        lab.ping("SalesVM", marketing_ip)
    });
    let _ = std::fs::remove_dir_all(&shim_dir);
}

const HUB_NVA: &str = "resourceGroups: [{name: rg, location: westeurope}]
routeTables:
  - name: rt-spoke1
    routes: [{name: to-spoke2, addressPrefix: 10.2.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.4}]
  - name: rt-spoke2
    routes: [{name: to-spoke1, addressPrefix: 10.1.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.4}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets: [{name: nva, addressPrefix: 10.0.1.0/24}]
    peerings:
      - {name: hub-to-spoke1, remoteVirtualNetwork: spoke1, allowVirtualNetworkAccess: true}
      - {name: hub-to-spoke2, remoteVirtualNetwork: spoke2, allowVirtualNetworkAccess: true}
  - name: spoke1
    addressPrefixes: [10.1.0.0/16]
    subnets: [{name: default, addressPrefix: 10.1.1.0/24, routeTable: rt-spoke1}]
    peerings: [{name: spoke1-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, allowForwardedTraffic: true}]
  - name: spoke2
    addressPrefixes: [10.2.0.0/16]
    subnets: [{name: default, addressPrefix: 10.2.1.0/24, routeTable: rt-spoke2}]
    peerings: [{name: spoke2-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, allowForwardedTraffic: true}]
virtualMachines:
  - {name: nva, vnet: hub, subnet: nva, ipForwarding: true, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
  - {name: vm1, vnet: spoke1, subnet: default, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
  - {name: vm2, vnet: spoke2, subnet: default, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
";

/// The NVA is a real router: packets between the spokes cross its
/// kernel (tcpdump sees them, traceroute shows its hop), and with IP
/// forwarding off on its NIC they stop.
#[test]
fn nva_is_a_real_router_that_the_udr_hands_packets_to() {
    let (lab, _file) = Lab::up_inline("nva", HUB_NVA);
    let o = lab.exec(
        "vm1",
        &["traceroute", "-n", "-q", "1", "-w", "1", "-m", "4", "10.2.1.4"],
    );
    let hops = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<&str> = hops.lines().skip(1).collect();
    assert!(
        lines.first().is_some_and(|l| l.contains("10.0.1.4")) && lines.get(1).is_some_and(|l| l.contains("10.2.1.4")),
        "traceroute: {hops}"
    );

    // tcpdump in the NVA sees each echo request twice: in, then out again.
    let capture = {
        let name = lab.0.clone();
        std::thread::spawn(move || {
            let args = [
                "exec",
                "--lab",
                &name,
                "nva",
                "--",
                "timeout",
                "8",
                "tcpdump",
                "-l",
                "-n",
                "-c",
                "2",
                "-i",
                "eth0",
                "icmp and host 10.2.1.4",
            ];
            Command::new(BIN)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("tcpdump")
        })
    };
    std::thread::sleep(Duration::from_millis(800));
    assert!(lab.ping("vm1", "10.2.1.4"));
    let o = capture.join().expect("tcpdump thread");
    let seen = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        seen.matches("10.1.1.4 > 10.2.1.4: ICMP echo request").count(),
        2,
        "tcpdump in the NVA: {}",
        text(&o)
    );

    // The source/destination check: IP forwarding off on the NIC.
    lab.az(&[
        "network",
        "nic",
        "update",
        "-g",
        "rg",
        "-n",
        "nvaVMNic",
        "--ip-forwarding",
        "false",
    ]);
    assert!(
        !lab.ping("vm1", "10.2.1.4"),
        "a NIC without IP forwarding must not pass traffic for others"
    );
    let o = lab.run(&["status", "-o", "json"]);
    assert!(o.status.success());
    lab.az(&[
        "network",
        "nic",
        "update",
        "-g",
        "rg",
        "-n",
        "nvaVMNic",
        "--ip-forwarding",
        "true",
    ]);
    poll_until("vm1 reaches vm2 through the NVA again", Duration::from_secs(10), || {
        lab.ping("vm1", "10.2.1.4")
    });
    assert_eq!(lab.ssh_hostname("vm2", "10.1.1.4").as_deref(), Some("vm1"));
}

const TRANSIT: &str = "resourceGroups: [{name: rg, location: westeurope}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.10.0.0/16]
    subnets: [{name: default, addressPrefix: 10.10.1.0/24}, {name: GatewaySubnet, addressPrefix: 10.10.255.0/27}]
    peerings:
      - {name: hub-to-spoke, remoteVirtualNetwork: spoke, allowVirtualNetworkAccess: true, allowGatewayTransit: true}
  - name: spoke
    addressPrefixes: [10.11.0.0/16]
    subnets: [{name: default, addressPrefix: 10.11.1.0/24}]
    peerings:
      - {name: spoke-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, useRemoteGateways: true}
virtualNetworkGateways:
  - {name: hub-gw, vnet: hub, sku: VpnGw1}
localNetworkGateways:
  - {name: OnPremSite, gatewayIpAddress: 203.0.113.10, localAddressPrefixes: [192.168.10.0/24]}
connections:
  - {name: hub-to-onprem, vnetGateway1: hub-gw, localGateway2: OnPremSite, sharedKey: abc123}
virtualMachines:
  - {name: hubvm, vnet: hub, subnet: default, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
  - {name: spokevm, vnet: spoke, subnet: default, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
";

/// The site behind a local network gateway is real: its host reaches the
/// hub and, through gateway transit, the spoke; without useRemoteGateways
/// the spoke loses the site both ways, and the router forgets the route.
#[test]
fn on_premises_site_reaches_the_spoke_only_through_gateway_transit() {
    let (lab, _file) = Lab::up_inline("site", TRANSIT);
    let s = lab.status();
    let site = &s["sites"][0];
    assert_eq!(site["host"]["name"], "OnPremSite-host");
    assert_eq!(
        site["routes"],
        serde_json::json!(["10.10.0.0/16 via vti0", "10.11.0.0/16 via vti0"])
    );
    assert_eq!(
        lab.ssh_hostname("OnPremSite-host", "10.11.1.4").as_deref(),
        Some("spokevm")
    );
    assert!(lab.ping("spokevm", "192.168.10.10"));
    let o = lab.exec(
        "OnPremSite-host",
        &["traceroute", "-n", "-q", "1", "-w", "1", "-m", "4", "10.10.1.4"],
    );
    let hops = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        hops.lines().nth(1).is_some_and(|l| l.contains("192.168.10.1")),
        "the site's router is the first hop: {hops}"
    );

    lab.az(&[
        "network",
        "vnet",
        "peering",
        "update",
        "-g",
        "rg",
        "--vnet-name",
        "spoke",
        "-n",
        "spoke-to-hub",
        "--set",
        "useRemoteGateways=false",
    ]);
    assert!(
        !lab.ping("spokevm", "192.168.10.10"),
        "without useRemoteGateways the spoke has no route to on-premises"
    );
    assert!(!lab.ping("OnPremSite-host", "10.11.1.4"));
    assert!(
        lab.ping("OnPremSite-host", "10.10.1.4"),
        "the hub itself stays reachable"
    );
    assert_eq!(
        lab.status()["sites"][0]["routes"],
        serde_json::json!(["10.10.0.0/16 via vti0"])
    );
}

const LB_LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/05-global-peering-load-balancers");

/// `ssh -p PORT` from `vm` to `ip`, running `hostname`.
fn ssh_port_hostname(lab: &Lab, vm: &str, ip: &str, port: &str) -> Option<String> {
    let target = format!("azureuser@{ip}");
    let o = lab.exec(
        vm,
        &[
            "sshpass",
            "-e",
            "ssh",
            "-p",
            port,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=3",
            &target,
            "hostname",
        ],
    );
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

#[test]
fn internal_load_balancers_over_global_peering_with_real_probes() {
    let lab = Lab::up_from("ilb", LB_LAB);
    // Standard: reachable from Japan East over global peering, flows
    // spread over both backends, port 2222 translated to 22.
    let seen: std::collections::BTreeSet<String> = (0..12)
        .filter_map(|_| ssh_port_hostname(&lab, "VM1", "10.2.0.100", "2222"))
        .collect();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["backend1", "backend2"]);
    // Basic: not over global peering; yes over regional peering; the
    // backends' own addresses always.
    assert_eq!(ssh_port_hostname(&lab, "VM1", "10.2.0.101", "2222"), None);
    assert!(ssh_port_hostname(&lab, "VM3", "10.2.0.101", "2222").is_some_and(|h| h.starts_with("basic-backend")));
    assert_eq!(lab.ssh_hostname("VM1", "10.2.0.6").as_deref(), Some("basic-backend1"));
    // backend1's NSG refuses the probes from 168.63.129.16 (the
    // AzureLoadBalancer tag): it leaves the rotation, then comes back.
    lab.az(&[
        "network",
        "nsg",
        "rule",
        "create",
        "-g",
        "lb-lab-rg",
        "--nsg-name",
        "backend1NSG",
        "-n",
        "deny-probes",
        "--priority",
        "100",
        "--source-address-prefixes",
        "AzureLoadBalancer",
        "--access",
        "Deny",
        "--protocol",
        "*",
        "--destination-port-ranges",
        "*",
        "-o",
        "none",
    ]);
    let health = |lab: &Lab, backend: &str| {
        let s = lab.status();
        s["loadBalancers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|lb| lb["backends"].as_array().cloned().unwrap_or_default())
            .find(|b| b["name"] == backend)
            .map(|b| b["health"].as_str().unwrap_or("").to_string())
    };
    poll_until("backend1 to go down", Duration::from_secs(30), || {
        health(&lab, "backend1").as_deref() == Some("Down")
    });
    assert!((0..6).all(|_| ssh_port_hostname(&lab, "VM1", "10.2.0.100", "2222").as_deref() == Some("backend2")));
    lab.az(&[
        "network",
        "nsg",
        "rule",
        "delete",
        "-g",
        "lb-lab-rg",
        "--nsg-name",
        "backend1NSG",
        "-n",
        "deny-probes",
    ]);
    poll_until("backend1 to come back", Duration::from_secs(30), || {
        health(&lab, "backend1").as_deref() == Some("Up")
    });
}

#[test]
fn redis_behind_its_basic_ilb_and_through_a_private_endpoint() {
    let lab = Lab::up_from("redis", LB_LAB);
    let key = |cache: &str| -> String {
        let o = lab.az(&["redis", "list-keys", "-g", "lb-lab-rg", "-n", cache]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("list-keys JSON");
        v["primaryKey"].as_str().expect("primaryKey").to_string()
    };
    let redis = |vm: &str, host: &str, extra: &[&str], key: &str| -> String {
        let mut argv = vec!["timeout", "5", "redis-cli", "--no-auth-warning", "-h", host, "-a", key];
        argv.extend(extra);
        argv.push("PING");
        let o = lab.exec(vm, &argv);
        // redis-cli reports a failed AUTH on stderr, then PING's answer.
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        )
        .trim()
        .to_string()
    };
    let injected = key("lb-lab-cache");
    assert_eq!(
        redis("VM3", "10.2.1.10", &[], &injected),
        "PONG",
        "regional peering reaches the Basic frontend"
    );
    assert_eq!(
        redis("VM3", "10.2.1.10", &["-p", "6380", "--tls", "--insecure"], &injected),
        "PONG",
        "TLS on 6380"
    );
    assert_eq!(
        redis("VM1", "10.2.1.10", &[], &injected),
        "",
        "global peering: the Basic frontend never answers"
    );
    assert!(
        redis("VM3", "10.2.1.10", &[], "wrong-key").contains("WRONGPASS"),
        "the access key is the password"
    );
    let linked = key("lb-lab-cache-pl");
    assert_eq!(
        redis("VM1", "10.1.0.5", &[], &linked),
        "PONG",
        "the private endpoint crosses regions"
    );
    assert!(!lab.ping("VM1", "10.1.0.5"), "a private endpoint answers no ping");
}

/// Issue 7 (azure-semantics §12.4): lab 06's three stages with real ping
/// from pods and nodes, and kubectl run/exec/delete. Pod traffic leaving
/// the cluster really is SNATed by the node's kernel: the remote node sees
/// the node's address.
#[test]
fn aks_overlay_three_stages_with_real_ping() {
    const AKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/06-aks-overlay-multiregion");
    let lab = Lab::up_from("aks", AKS);
    let kubectl = |cluster: &str, args: &[&str]| {
        let mut all = vec!["kubectl", "--lab", &lab.0, "--cluster", cluster];
        all.extend(args);
        vnetlab(&all)
    };
    let ping = |cluster: &str, pod: &str, ip: &str| {
        kubectl(
            cluster,
            &[
                "exec", pod, "--", "ping", "-n", "-q", "-c", "2", "-i", "0.2", "-w", "2", ip,
            ],
        )
        .status
        .success()
    };
    let (cc_node0, eus_node0) = ("10.1.0.4", "10.5.0.4");
    let (cc_pod0, eus_pod0, db) = ("10.32.0.4", "10.40.0.4", "10.6.0.4");
    let table = || {
        [
            lab.ping("aks-nodepool1-56103950-vmss000000", eus_node0),
            ping("aks-canada", "cc-pod-0", eus_node0),
            ping("aks-canada", "cc-pod-0", eus_pod0),
            ping("aks-eastus", "eus-pod-0", cc_pod0),
            ping("aks-canada", "cc-pod-0", db),
        ]
    };
    // Inside a cluster, across nodes, the overlay carries pod to pod.
    assert!(ping("aks-canada", "cc-pod-0", "10.32.1.4"));
    // node<->node, pod->node, pod->pod both ways, pod->db.
    assert_eq!(table(), [false, false, false, false, false], "stage 1: no peering");
    let o = lab.run(&["apply", &format!("{AKS}/changes/peering.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(table(), [true, true, false, false, true], "stage 2: peering");
    // The pod's packet left its node SNATed: the remote node sees the
    // Canada node's address, never the pod's.
    let dump = Command::new(BIN)
        .args([
            "exec",
            "--lab",
            &lab.0,
            "aks-nodepool1-95609350-vmss000000",
            "--",
            "timeout",
            "8",
            "tcpdump",
            "-n",
            "-l",
            "-c",
            "1",
            "-i",
            "eth0",
            "icmp[icmptype] == icmp-echo",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(ping("aks-canada", "cc-pod-0", eus_node0));
    let seen = String::from_utf8_lossy(&dump.wait_with_output().expect("tcpdump output").stdout).to_string();
    assert!(
        seen.contains(&format!("{cc_node0} > {eus_node0}")),
        "the remote node saw: {seen}"
    );
    let nat = lab.exec(
        "aks-nodepool1-56103950-vmss000000",
        &["nft", "list", "table", "ip", "vnetlab_aks"],
    );
    assert!(
        String::from_utf8_lossy(&nat.stdout).contains("masquerade"),
        "{}",
        text(&nat)
    );
    let o = lab.run(&["apply", &format!("{AKS}/changes/peering.undo.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = lab.run(&["apply", &format!("{AKS}/changes/peering-mesh.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(table(), [true, true, true, true, true], "stage 3: peering + mesh");
    let o = lab.run(&["apply", &format!("{AKS}/changes/peering-mesh.undo.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    // A mesh without peering: the tunnel's packets are dropped.
    let o = lab.run(&["apply", &format!("{AKS}/changes/mesh-without-peering.yaml")]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(table(), [false, false, false, false, false], "mesh without peering");

    // kubectl habits: run, get -o wide, exec, delete.
    let o = kubectl(
        "aks-eastus",
        &["run", "web", "--image", "busybox", "--", "sleep", "3600"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = kubectl("aks-eastus", &["get", "pods", "-o", "wide"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let web = out
        .lines()
        .find(|l| l.starts_with("web "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(web.contains("Running") && web.contains("10.40.0.5"), "{out}");
    let o = kubectl("aks-eastus", &["exec", "web", "--", "hostname"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "web");
    assert!(ping("aks-eastus", "web", "10.40.1.4"));
    let o = kubectl("aks-eastus", &["delete", "pod", "web"]);
    assert!(o.status.success(), "{}", text(&o));
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    assert!(
        !String::from_utf8_lossy(&netns.stdout)
            .contains(&format!("vnl-{}@pod.aks-nodepool1-95609350-vmss000000.web", lab.0)),
        "the pod's namespace is gone"
    );
}

/// The host PID of the process whose command line is `cmdline` (NUL
/// separated words joined by spaces) and whose network namespace is `netns`.
fn host_pid_of(netns: &str, cmdline: &str) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata(Path::new("/run/netns").join(netns)).ok()?.ino();
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
        let words = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let words = String::from_utf8_lossy(&words).replace('\0', " ");
        (link.to_str()? == format!("net:[{ns}]") && words.trim_end() == cmdline).then_some(pid)
    })
}

/// `exec VM -- sh -c SCRIPT` as the VM's admin (uid 1000), with `$1`…
fn as_admin(lab: &Lab, vm: &str, script: &str, args: &[&str]) -> String {
    let mut argv = vec![
        "setpriv",
        "--reuid=1000",
        "--regid=1000",
        "--clear-groups",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sh",
    ];
    argv.extend(args);
    text(&lab.exec(vm, &argv))
}

/// Issue 21: every VM its own PID and IPC namespaces and /proc. The admin
/// of SalesVM cannot read a 0600 file of ResearchVM's admin through
/// /proc/PID/root, signal or ptrace its processes, list them or the host's,
/// or see the host's interfaces in /proc/1/net; inside one VM all of that
/// still works, so the checks could fail.
#[test]
fn vms_are_isolated_from_each_other_and_from_the_host() {
    let lab = Lab::up("h5iso");
    let status = lab.status();
    let netns = |vm: &str| {
        status["vms"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == vm))
            .and_then(|v| v["netns"].as_str())
            .expect("the VM's namespace")
            .to_string()
    };
    // ResearchVM's admin: a secret and a long-lived process of its own.
    let o = lab.exec(
        "ResearchVM",
        &[
            "sh",
            "-c",
            "umask 077; echo research-secret > /tmp/secret; chown 1000:1000 /tmp/secret; \
             setsid setpriv --reuid=1000 --regid=1000 --clear-groups sleep 4242 </dev/null >/dev/null 2>&1 &",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let research = netns("ResearchVM");
    let mut victim = None;
    poll_until("ResearchVM's sleep", Duration::from_secs(10), || {
        victim = host_pid_of(&research, "sleep 4242");
        victim.is_some()
    });
    let victim = victim.expect("found").to_string();
    // The host (root, host /proc) reaches it: the path below is right.
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{victim}/root/tmp/secret")).expect("the secret from the host"),
        "research-secret\n"
    );

    let attack = "cat /proc/$1/root/tmp/secret 2>&1 && echo READ\"\"-IT; \
                  kill -0 $1 2>/dev/null && echo SIGNALLED\"\"-IT; \
                  /usr/bin/python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); \
                  r=l.ptrace(16,int(sys.argv[1]),0,0); print(\"ptrace\", r, ctypes.get_errno())' $1; \
                  for d in /proc/[0-9]*; do echo \"proc $(tr \"\\0\" \" \" < $d/cmdline)\"; done";
    let seen = as_admin(&lab, "SalesVM", attack, &[&victim]);
    assert!(!seen.contains("research-secret") && !seen.contains("READ-IT"), "{seen}");
    assert!(!seen.contains("SIGNALLED-IT"), "{seen}");
    // ESRCH: there is no such process to attach to.
    assert!(seen.contains("ptrace -1 3"), "{seen}");
    let listed: Vec<&str> = seen.lines().filter_map(|l| l.strip_prefix("proc ")).collect();
    assert!(
        listed.iter().any(|c| c.contains("__vm-init")),
        "SalesVM's own init: {seen}"
    );
    for foreign in ["sleep 4242", "__daemon", "sshd -i"] {
        assert!(
            !listed.iter().any(|c| c.contains(foreign)),
            "{foreign} seen from SalesVM: {seen}"
        );
    }
    assert!(listed.len() < 10, "only SalesVM's few processes: {seen}");

    // Inside ResearchVM the same admin sees and signals its own process.
    let own = as_admin(
        &lab,
        "ResearchVM",
        "for d in /proc/[0-9]*; do if [ \"$(tr \"\\0\" \" \" < $d/cmdline)\" = \"sleep 4242 \" ]; then \
         kill -0 ${d#/proc/} && echo SIGNALLED\"\"-OWN; cat $d/root/tmp/secret; fi; done",
        &[],
    );
    assert!(
        own.contains("SIGNALLED-OWN") && own.contains("research-secret"),
        "{own}"
    );

    // /proc/1 is the VM's init: its net files are the VM's.
    let dev = as_admin(&lab, "SalesVM", "cat /proc/1/net/dev; cat /proc/1/net/route", &[]);
    let mut names: Vec<&str> = dev
        .lines()
        .filter_map(|l| Some(l.split_once(':')?.0.trim()))
        .filter(|n| !n.contains(' ') && !n.contains('|'))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["eth0", "lo"], "{dev}");
    assert!(
        dev.lines()
            .skip_while(|l| !l.starts_with("Iface"))
            .skip(1)
            .all(|l| l.starts_with("eth0")),
        "{dev}"
    );

    // IPC: one namespace per VM, none of them the host's.
    let ipc = |vm: &str| as_admin(&lab, vm, "readlink /proc/self/ns/ipc", &[]).trim().to_string();
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").expect("host IPC namespace");
    let (sales, research) = (ipc("SalesVM"), ipc("ResearchVM"));
    assert!(sales.starts_with("ipc:[") && sales != research, "{sales} {research}");
    assert_ne!(Path::new(&sales), host_ipc);
}

/// A lab whose saved state lives in a temporary directory
/// (`VNETLAB_STATE_DIR`); `down` with that directory, then the directory,
/// go when the test ends.
struct StatefulLab {
    lab: Lab,
    state: std::path::PathBuf,
}

impl StatefulLab {
    fn new(tag: &str) -> StatefulLab {
        let lab = az_lab(tag);
        let state = std::env::temp_dir().join(format!("vnetlab-state-{}", lab.0));
        let _ = std::fs::remove_dir_all(&state);
        StatefulLab { lab, state }
    }

    /// `vnetlab ARGS` (or any program) with this lab and its state directory.
    fn cmd(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("VNETLAB_LAB", &self.lab.0)
            .env("VNETLAB_STATE_DIR", &self.state)
            .stdin(Stdio::null())
            .output()
            .expect("run a command")
    }

    fn vnetlab(&self, args: &[&str]) -> Output {
        self.cmd(BIN, args)
    }

    /// name → (private IP, public IP), from `status`.
    fn addresses(&self) -> std::collections::BTreeMap<String, (String, String)> {
        let o = self.vnetlab(&["status", "-o", "json"]);
        assert!(o.status.success(), "{}", text(&o));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status JSON");
        s["vms"]
            .as_array()
            .expect("VMs")
            .iter()
            .map(|vm| {
                let nic = &vm["nics"][0];
                (
                    vm["name"].as_str().unwrap_or_default().to_string(),
                    (nic["privateIp"].to_string(), nic["publicIp"].to_string()),
                )
            })
            .collect()
    }

    /// The ed25519 host key `ip` shows to `vm`, read with ssh-keyscan.
    fn host_key(&self, vm: &str, ip: &str) -> String {
        let o = self.lab.exec(vm, &["ssh-keyscan", "-T", "3", "-t", "ed25519", ip]);
        let key = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(key.contains("ssh-ed25519"), "no host key from {ip}: {}", text(&o));
        key
    }

    fn daemon_pid(&self) -> i32 {
        let o = self.vnetlab(&["status", "-o", "json"]);
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status JSON");
        s["pid"].as_u64().expect("pid") as i32
    }

    fn kill_daemon(&self) {
        let pid = self.daemon_pid();
        nix_kill(pid);
        poll_until("the daemon to die", Duration::from_secs(10), || {
            !Path::new(&format!("/proc/{pid}")).exists()
        });
    }

    fn namespaces(&self) -> Vec<String> {
        let o = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| {
                n.starts_with(&format!("vnl-{}.", self.lab.0)) || n.starts_with(&format!("vnl-{}@", self.lab.0))
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for StatefulLab {
    fn drop(&mut self) {
        let _ = self.vnetlab(&["down"]);
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

#[test]
fn a_lab_built_through_az_comes_back_after_kill_9_with_its_ips_credentials_and_host_keys() {
    let lab = StatefulLab::new("h6crash");
    let shim_dir = std::env::temp_dir().join(format!("vnetlab-shim-{}", lab.lab.0));
    let o = vnetlab(&["shim", "install", shim_dir.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o));
    let path = format!("{}:{}", shim_dir.display(), std::env::var("PATH").unwrap_or_default());
    let o = Command::new(format!("{LAB_DIR}/setup.sh"))
        .env("PATH", &path)
        .env("VNETLAB_LAB", &lab.lab.0)
        .env("VNETLAB_STATE_DIR", &lab.state)
        .stdin(Stdio::null())
        .output()
        .expect("run setup.sh");
    let _ = std::fs::remove_dir_all(&shim_dir);
    assert!(o.status.success(), "setup.sh failed: {}", text(&o));
    let saved = lab.state.join(&lab.lab.0).join("model.json");
    assert!(saved.exists(), "every accepted change is saved");

    let addresses = lab.addresses();
    assert_eq!(addresses.len(), 3, "{addresses:?}");
    assert_eq!(addresses["SalesVM"].0, "\"10.1.1.4\"", "{addresses:?}");
    assert!(
        addresses.values().all(|(_, public)| public.starts_with('"')),
        "{addresses:?}"
    );
    let marketing = "10.2.1.4";
    assert_eq!(
        lab.lab.ssh_hostname("SalesVM", marketing).as_deref(),
        Some("MarketingVM")
    );
    let key = lab.host_key("SalesVM", marketing);

    lab.kill_daemon();
    // A topology would replace the saved lab: refused, nothing built.
    let o = lab.vnetlab(&["up", LAB_DIR]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("has saved state"), "{}", text(&o));
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());

    let o = lab.vnetlab(&["up"]);
    assert!(o.status.success(), "up after kill -9: {}", text(&o));
    assert!(text(&o).contains("bringing back lab"), "{}", text(&o));
    assert_eq!(lab.addresses(), addresses, "same VMs, same private and public IPs");
    assert_eq!(
        lab.lab.ssh_hostname("SalesVM", marketing).as_deref(),
        Some("MarketingVM")
    );
    assert_eq!(lab.host_key("SalesVM", marketing), key, "same host key");
    let o = lab.vnetlab(&["test", LAB_DIR]);
    assert!(text(&o).contains("12 of 12 expectations hold"), "{}", text(&o));

    // `down --keep-state` keeps it; damaged, it is refused whole.
    let o = lab.vnetlab(&["down", "--keep-state"]);
    assert!(
        o.status.success() && text(&o).contains("saved state stays"),
        "{}",
        text(&o)
    );
    let mut bytes = std::fs::read(&saved).expect("the saved state");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&saved, &bytes).expect("damage the saved state");
    let o = lab.vnetlab(&["up"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("is damaged: its checksum does not match") && text(&o).contains("Nothing of it was applied"),
        "{}",
        text(&o)
    );
    assert!(
        lab.namespaces().is_empty(),
        "nothing half-applied: {:?}",
        lab.namespaces()
    );
    let o = lab.vnetlab(&["status"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));

    let o = lab.vnetlab(&["down"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!lab.state.join(&lab.lab.0).exists(), "down removes the saved state");
}

/// A VM reaches another VM's public IP as Azure carries it: out through
/// its own public IP, back in through the target's public IP and its NSG
/// (az vm create's: SSH only), even between VNets with no private path.
#[test]
fn a_vm_reaches_another_vms_public_ip_through_its_nsg() {
    let lab = Lab::up("h6pin");
    let status = lab.status();
    let public = |vm: &str| -> String {
        status["vms"]
            .as_array()
            .and_then(|vms| vms.iter().find(|v| v["name"] == vm))
            .and_then(|v| v["nics"][0]["publicIp"].as_str())
            .unwrap_or_else(|| panic!("{vm} has no public IP: {status}"))
            .to_string()
    };
    let research = public("ResearchVM");
    // No private path (peering is not transitive), but the public one.
    assert_eq!(lab.ssh_hostname("SalesVM", "10.3.1.4"), None);
    assert_eq!(lab.ssh_hostname("SalesVM", &research).as_deref(), Some("ResearchVM"));
    // ResearchVM's NSG allows SSH only: ping from the Internet side fails.
    assert!(!lab.ping("SalesVM", &research));
    // ResearchVM sees SalesVM's public IP as the source.
    let o = lab.exec(
        "SalesVM",
        &[
            "sshpass",
            "-e",
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=3",
            &format!("azureuser@{research}"),
            "echo $SSH_CLIENT",
        ],
    );
    let seen = String::from_utf8_lossy(&o.stdout);
    assert!(seen.starts_with(&format!("{} ", public("SalesVM"))), "{}", text(&o));
    let o = vnetlab(&[
        "explain",
        LAB_DIR,
        "--from",
        "SalesVM",
        "--to",
        &format!("{research}:22"),
    ]);
    assert!(text(&o).contains("hairpin"), "{}", text(&o));
}

/// Default outbound access: a VM without a public IP reaches the Cloud
/// Shell and another VM's public IP, and their answers come back to it.
#[test]
fn default_outbound_answers_come_back_also_through_a_hairpin() {
    let (lab, _file) = Lab::up_inline(
        "h6dout",
        "resourceGroups: [{name: rg, location: westeurope}]
virtualNetworks:
  - {name: va, addressPrefixes: [10.1.0.0/16], subnets: [{name: default, addressPrefix: 10.1.1.0/24}]}
  - {name: vb, addressPrefixes: [10.2.0.0/16], subnets: [{name: default, addressPrefix: 10.2.1.0/24}]}
virtualMachines:
  - {name: nopip, vnet: va, subnet: default, publicIpAddress: '', adminPassword: Learn-Peering-2026!}
  - {name: web, vnet: vb, subnet: default, adminPassword: Learn-Peering-2026!}
",
    );
    let status = lab.status();
    let web = status["vms"]
        .as_array()
        .and_then(|vms| vms.iter().find(|v| v["name"] == "web"))
        .and_then(|v| v["nics"][0]["publicIp"].as_str())
        .expect("web's public IP")
        .to_string();
    assert!(
        lab.ping("nopip", "192.0.2.10"),
        "the Cloud Shell answers through default outbound"
    );
    assert_eq!(lab.ssh_hostname("nopip", &web).as_deref(), Some("web"));
    assert_eq!(lab.ssh_hostname("nopip", "10.2.1.4"), None, "no private path");
}

/// A child process killed when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's pipe, as they come.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits (bounded) for a line that satisfies `want`; the lines seen.
fn wait_line(rx: &std::sync::mpsc::Receiver<String>, want: impl Fn(&str) -> bool) -> Result<String, Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if want(&line) => return Ok(line),
            Ok(line) => seen.push(line),
            Err(_) => return Err(seen),
        }
    }
}

struct Captured {
    data: Vec<u8>,
    comment: String,
    inbound: bool,
}

fn read_pcapng(bytes: &[u8]) -> Vec<Captured> {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let mut r = PcapNgReader::new(bytes).expect("a pcapng section header");
    let mut packets = Vec::new();
    while let Some(block) = r.next_block() {
        if let Block::EnhancedPacket(p) = block.expect("a well-formed block") {
            let mut c = Captured {
                data: p.data.to_vec(),
                comment: String::new(),
                inbound: false,
            };
            for o in &p.options {
                match o {
                    EnhancedPacketOption::Comment(s) => c.comment = s.to_string(),
                    EnhancedPacketOption::Flags(f) => c.inbound = f & 0b11 == 0b01,
                    _ => {}
                }
            }
            packets.push(c);
        }
    }
    packets
}

/// ICMP type, source and destination of a bare IPv4 packet.
fn icmp_of(p: &[u8]) -> Option<(u8, [u8; 4], [u8; 4])> {
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    (p.get(9) == Some(&1)).then_some(())?;
    Some((
        *p.get(ihl)?,
        p.get(12..16)?.try_into().ok()?,
        p.get(16..20)?.try_into().ok()?,
    ))
}

#[test]
fn capture_shows_each_verdict_and_streams_to_tcpdump() {
    let lab = Lab::up("h2cap");
    let start = |extra: &[&str], stdout: Stdio| {
        let mut args = vec!["capture", "--lab", &lab.0, "SalesVM"];
        args.extend(extra);
        Child(
            Command::new(BIN)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(Stdio::piped())
                .spawn()
                .expect("start capture"),
        )
    };

    // 1. pcapng to a pipe we read, ended by Ctrl-C.
    let mut cap = start(&["-w", "-"], Stdio::piped());
    let err = lines_of(cap.0.stderr.take().expect("stderr"));
    wait_line(&err, |l| l.starts_with("capturing at SalesVM")).expect("the capture attached");
    let mut stdout = cap.0.stdout.take().expect("stdout");
    let (tx, bytes) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut all);
        let _ = tx.send(all);
    });
    assert!(
        !lab.ping("SalesVM", "10.3.1.4"),
        "ResearchVM is not peered with SalesVNet"
    );
    assert!(lab.ping("SalesVM", "10.2.1.4"));
    let interrupted = Command::new("kill")
        .args(["-INT", &cap.0.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let bytes = bytes.recv_timeout(Duration::from_secs(10)).expect("the stream ended");
    let counts = wait_line(&err, |l| l.ends_with("packets captured")).expect("the count on stderr");
    wait_line(&err, |l| l.contains("packets dropped by the capture")).expect("the loss on stderr");
    let status = cap.0.wait().expect("capture exits");
    assert!(status.success(), "Ctrl-C ends the capture cleanly: {status:?}");

    let packets = read_pcapng(&bytes);
    assert_eq!(counts, format!("{} packets captured", packets.len()));
    let (sales, marketing, research) = ([10, 1, 1, 4], [10, 2, 1, 4], [10, 3, 1, 4]);
    let find = |ty: u8, src: [u8; 4], dst: [u8; 4], inbound: bool| {
        packets
            .iter()
            .find(|p| icmp_of(&p.data) == Some((ty, src, dst)) && p.inbound == inbound)
            .map(|p| p.comment.as_str())
    };
    let blocked = find(8, sales, research, false).expect("the blocked ping to ResearchVM is captured");
    assert!(
        blocked.starts_with("dropped: no route leads to 10.3.1.4") && blocked.contains("not transitive"),
        "{blocked}"
    );
    let request = find(8, sales, marketing, false).expect("the ping to MarketingVM");
    assert!(
        request.starts_with("delivered to MarketingVM")
            && request.ends_with("(via peering SalesVNet-To-MarketingVNet)"),
        "{request}"
    );
    let reply = find(0, marketing, sales, true).expect("its reply, inbound");
    assert!(reply.starts_with("delivered to SalesVM"), "{reply}");

    // 2. --drops-only keeps the drop alone.
    let mut drops = start(&["-w", "-", "--drops-only", "-c", "1"], Stdio::piped());
    let err = lines_of(drops.0.stderr.take().expect("stderr"));
    wait_line(&err, |l| l.starts_with("capturing at")).expect("attached");
    assert!(lab.ping("SalesVM", "10.2.1.4"));
    assert!(!lab.ping("SalesVM", "10.3.1.4"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut drops.0.stdout.take().expect("stdout"), &mut bytes).expect("read");
    let only = read_pcapng(&bytes);
    assert_eq!(only.len(), 1, "-c 1");
    assert!(only[0].comment.starts_with("dropped: "), "{}", only[0].comment);
    assert_eq!(icmp_of(&only[0].data), Some((8, sales, research)));

    // 3. `capture -w - | tcpdump -n -r -` prints live; tcpdump quitting ends the capture.
    let mut piped = start(&["-w", "-"], Stdio::piped());
    let err = lines_of(piped.0.stderr.take().expect("stderr"));
    wait_line(&err, |l| l.starts_with("capturing at")).expect("attached");
    let mut tcpdump = Child(
        Command::new("tcpdump")
            .args(["-n", "-l", "-r", "-"])
            .stdin(Stdio::from(piped.0.stdout.take().expect("stdout")))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump (scripts/setup installs it)"),
    );
    let out = lines_of(tcpdump.0.stdout.take().expect("tcpdump stdout"));
    assert!(!lab.ping("SalesVM", "10.3.1.4"));
    wait_line(&out, |l| l.contains("10.1.1.4 > 10.3.1.4: ICMP echo request"))
        .expect("tcpdump printed the blocked ping while the capture ran");
    let _ = tcpdump.0.kill();
    let _ = tcpdump.0.wait();
    poll_until("the capture to end with its reader", Duration::from_secs(10), || {
        piped.0.try_wait().expect("try_wait").is_some()
    });
}

/// A directory removed when the test ends.
struct RemoveDir(std::path::PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One VNet flow log tuple (version 4), read as Azure documents the
/// format (shared/azure-semantics-2.md §5.2): 13 comma-separated fields.
#[derive(Debug)]
struct Tuple {
    rule: String,
    src: String,
    dst: String,
    dport: u16,
    proto: u8,
    direction: char,
    state: char,
    counters: [u64; 4],
}

fn parse_tuple(rule: &str, s: &str) -> Tuple {
    let f: Vec<&str> = s.split(',').collect();
    assert_eq!(f.len(), 13, "a v4 tuple has 13 fields: {s}");
    assert!(f[0].len() == 13 && f[0].parse::<u64>().is_ok(), "time in epoch ms: {s}");
    assert_eq!(f[8], "NX", "{s}");
    let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("field {i} of {s}"));
    Tuple {
        rule: rule.to_string(),
        src: f[1].into(),
        dst: f[2].into(),
        dport: f[4].parse().expect("dport"),
        proto: f[5].parse().expect("IANA protocol number"),
        direction: f[6].chars().next().expect("direction"),
        state: f[7].chars().next().expect("state"),
        counters: [n(9), n(10), n(11), n(12)],
    }
}

/// Every PT1H.json under `dir`: (path relative to `dir`, document).
fn blobs_under(dir: &Path) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == "PT1H.json") {
                let doc = serde_json::from_slice(&std::fs::read(&p).expect("read blob")).expect("a JSON blob");
                let rel = p.strip_prefix(dir).expect("under dir").display().to_string();
                out.push((rel, doc));
            }
        }
    }
    out
}

#[test]
fn flow_logs_record_lab_01_traffic_in_azures_format() {
    let name = format!("h2flow{}", std::process::id() % 100_000);
    let o = Command::new(BIN)
        .args(["up", LAB_DIR, "--lab", &name])
        .env("VNETLAB_FLOW_LOG_INTERVAL", "1s")
        .stdin(Stdio::null())
        .output()
        .expect("run vnetlab up");
    let lab = Lab(name.clone());
    assert!(o.status.success(), "up failed: {}", text(&o));
    let dir = Path::new("/var/lib/vnetlab").join(&name);
    let _dir = RemoveDir(dir.clone());
    lab.az(&[
        "network",
        "watcher",
        "flow-log",
        "create",
        "-l",
        "northeurope",
        "-n",
        "SalesLog",
        "-g",
        "learn-rg",
        "--vnet",
        "SalesVNet",
        "--storage-account",
        "learnlogs",
    ]);

    // Allowed: ping and ssh from SalesVM to MarketingVM. Denied: the Cloud
    // Shell to port 80 of SalesVM's public IP (DenyAllInBound).
    assert!(lab.ping("SalesVM", "10.2.1.4"));
    assert_eq!(lab.ssh_hostname("SalesVM", "10.2.1.4").as_deref(), Some("MarketingVM"));
    let denied = lab.run(&[
        "shell",
        "--",
        "timeout",
        "3",
        "bash",
        "-c",
        "exec 3<>/dev/tcp/203.0.113.1/80",
    ]);
    assert!(!denied.status.success());

    let root = dir.join("flowlogs/learnlogs");
    let mut tuples = Vec::new();
    let mut blobs = Vec::new();
    poll_until(
        "the flow log to hold the ping's counters, the ssh's end and the deny",
        Duration::from_secs(20),
        || {
            blobs = blobs_under(&root);
            tuples = blobs
                .iter()
                .flat_map(|(_, doc)| doc["records"].as_array().cloned().unwrap_or_default())
                .flat_map(|r| r["flowRecords"]["flows"].as_array().cloned().unwrap_or_default())
                .flat_map(|f| f["flowGroups"].as_array().cloned().unwrap_or_default())
                .flat_map(|g| {
                    let rule = g["rule"].as_str().unwrap_or("").to_string();
                    g["flowTuples"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |t| parse_tuple(&rule, t.as_str().expect("a tuple string")))
                })
                .collect();
            let has = |f: &dyn Fn(&Tuple) -> bool| tuples.iter().any(f);
            has(&|t| t.proto == 1 && t.state == 'C')
                && has(&|t| t.proto == 6 && t.dport == 22 && t.state == 'E')
                && has(&|t| t.proto == 6 && t.dport == 80 && t.state == 'D')
        },
    );

    // The blob layout and the record fields, as Azure writes them.
    for (path, doc) in &blobs {
        assert!(
            path.starts_with("insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/")
                && path.contains("/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_NORTHEUROPE/FLOWLOGS/SALESLOG/y=")
                && path.contains("/m=00/macAddress=")
                && path.ends_with("/PT1H.json"),
            "{path}"
        );
        for r in doc["records"].as_array().expect("records") {
            assert_eq!(r["category"], "FlowLogFlowEvent");
            assert_eq!(r["operationName"], "FlowLogFlowEvent");
            assert_eq!(r["flowLogVersion"], 4);
            let mac = r["macAddress"].as_str().expect("macAddress");
            assert!(mac.len() == 12 && mac.starts_with("000D3A"), "{mac}");
            assert!(path.contains(&format!("macAddress={mac}/")), "{path} {mac}");
            assert!(
                r["targetResourceID"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("/virtualNetworks/SalesVNet"))
            );
        }
    }
    // Only SalesVM's NIC is in SalesVNet: nothing of MarketingVM's own view.
    assert!(
        tuples
            .iter()
            .all(|t| t.src == "10.1.1.4" || t.dst == "10.1.1.4" || t.dport == 80),
        "{tuples:?}"
    );

    // The ping: begun outbound under the rule that allowed it, then counted.
    let ping: Vec<&Tuple> = tuples.iter().filter(|t| t.proto == 1 && t.dst == "10.2.1.4").collect();
    assert_eq!(
        ping.first().map(|t| (t.state, t.direction)),
        Some(('B', 'O')),
        "{ping:?}"
    );
    assert!(
        ping.iter().all(|t| t.rule == "DefaultRule_AllowVnetOutBound"),
        "{ping:?}"
    );
    let sum = ping
        .iter()
        .fold([0; 4], |a, t| [0, 1, 2, 3].map(|i| a[i] + t.counters[i]));
    // ping -c 2: two 84-byte requests sent, two replies received.
    assert_eq!(sum, [2, 168, 2, 168], "{ping:?}");

    // The ssh: B then E (FIN), the counters of both ways.
    let ssh: Vec<&Tuple> = tuples.iter().filter(|t| t.proto == 6 && t.dport == 22).collect();
    assert_eq!(ssh.first().map(|t| t.state), Some('B'), "{ssh:?}");
    assert_eq!(ssh.iter().filter(|t| t.state == 'E').count(), 1, "{ssh:?}");
    let sum = ssh
        .iter()
        .fold([0; 4], |a, t| [0, 1, 2, 3].map(|i| a[i] + t.counters[i]));
    assert!(sum[0] > 5 && sum[2] > 5 && sum[1] > 1000 && sum[3] > 1000, "{ssh:?}");

    // The deny: inbound, zero counters, under the default rule's name.
    let deny = tuples.iter().find(|t| t.dport == 80).expect("the denied connection");
    assert_eq!(
        (deny.direction, deny.state, deny.counters),
        ('I', 'D', [0; 4]),
        "{deny:?}"
    );
    assert_eq!(deny.rule, "DefaultRule_DenyAllInBound");
    assert_eq!(deny.src, "192.0.2.10");
}

const BGP_LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/09-route-server-bgp");

/// Where the spoke's NIC sends 192.168.100.0/24, as az shows it.
fn bgp_next_hops(lab: &Lab) -> String {
    spoke_next_hops(lab, "192.168.100.0/24")
}

/// The next hops (comma-separated) of spoke1-vm's NIC for `prefix`, as az
/// shows them.
fn spoke_next_hops(lab: &Lab, prefix: &str) -> String {
    let query = format!("value[?addressPrefix[0]=='{prefix}'].nextHopIpAddress[]");
    let o = lab.az(&[
        "network",
        "nic",
        "show-effective-route-table",
        "-g",
        "bgp-rg",
        "-n",
        "spoke1-vmVMNic",
        "--query",
        &query,
        "-o",
        "tsv",
    ]);
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn route_server_speaks_bgp_with_frr_nvas_and_peerings_change_in_place() {
    let lab = Lab::up_from("h8bgp", BGP_LAB);
    // expect.yaml's `before` starts FRR on both NVAs and waits for the
    // route; its expectations are real traffic to what they announce.
    let o = lab.run(&["test", BGP_LAB]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(bgp_next_hops(&lab), "10.0.2.4", "nva1's shorter AS path wins alone");
    // The route waits need one session of each NVA; the other may still
    // be in Active (connect retry) on a loaded machine.
    poll_until("all four sessions Established", Duration::from_secs(60), || {
        let all = bgp_sessions(&lab);
        all.len() == 4 && all.iter().all(|(_, state)| state == "Established")
    });

    // The peering goes: both speakers drop that neighbor in place, nva1's
    // path is withdrawn, and nva2's sessions are not touched.
    lab.az(&[
        "network",
        "routeserver",
        "peering",
        "delete",
        "-g",
        "bgp-rg",
        "--routeserver",
        "hub-rs",
        "-n",
        "nva1",
        "--yes",
    ]);
    poll_until("nva2's path alone", Duration::from_secs(30), || {
        bgp_next_hops(&lab) == "10.0.2.5"
    });
    let left = bgp_sessions(&lab);
    assert_eq!(
        left,
        vec![
            ("10.0.2.5".to_string(), "Established".to_string()),
            ("10.0.2.5".to_string(), "Established".to_string())
        ]
    );
    assert!(lab.ping("spoke1-vm", "192.168.100.1"));

    // Back again: nva1's session comes up and its shorter path wins back.
    lab.az(&[
        "network",
        "routeserver",
        "peering",
        "create",
        "-g",
        "bgp-rg",
        "--routeserver",
        "hub-rs",
        "-n",
        "nva1",
        "--peer-ip",
        "10.0.2.4",
        "--peer-asn",
        "65001",
    ]);
    poll_until("nva1's path back", Duration::from_secs(60), || {
        bgp_next_hops(&lab) == "10.0.2.4"
    });
}

/// Route Server's sessions in `status`: (peer, state) of every instance's.
fn bgp_sessions(lab: &Lab) -> Vec<(String, String)> {
    lab.status()["routeServers"]
        .as_array()
        .expect("routeServers")
        .iter()
        .flat_map(|r| r["sessions"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["peer"].as_str().unwrap_or("").to_string(),
                b["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The prefixes in an FRR speaker's table inside `vm`.
fn frr_prefixes(lab: &Lab, vm: &str) -> Vec<String> {
    let o = lab.exec(vm, &["vtysh", "-c", "show bgp ipv4 unicast json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("FRR's JSON");
    v["routes"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

/// Issue 19 items 2 and 8 with real sessions: NO_ADVERTISE, malformed BGP,
/// the per-peer route limit (azure-semantics-2 §3.1, §3.2).
#[test]
fn route_server_honours_no_advertise_survives_malformed_bgp_and_drops_a_peer_over_the_limit() {
    let lab = Lab::up_from("b1bgp", BGP_LAB);
    let o = lab.run(&["test", BGP_LAB]);
    assert!(o.status.success(), "{}", text(&o));
    let vtysh = |vm: &str, commands: &[&str]| {
        let mut argv = vec!["vtysh"];
        for c in commands {
            argv.extend(["-c", c]);
        }
        let o = lab.exec(vm, &argv);
        assert!(o.status.success() && !text(&o).contains("% "), "{}", text(&o));
    };
    let spoke_route = |prefix: &str| spoke_next_hops(&lab, prefix);

    // NO_ADVERTISE: nva2 marks 192.168.200.0/24 with it and not its
    // neighbour 192.168.201.0/24. Route Server programs both, and passes
    // only the unmarked one on to nva1. Meanwhile a 10 ms ping to the
    // prefix the change does not touch loses nothing (issue 19 item 6).
    let mut args = vec!["exec", "--lab", &lab.0, "spoke1-vm", "--"];
    args.extend(["ping", "-n", "-q", "-i", "0.01", "-c", "400", "192.168.100.1"]);
    let pinger = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the ping");
    std::thread::sleep(Duration::from_millis(500));
    vtysh(
        "nva2",
        &[
            "configure terminal",
            "ip prefix-list NOADV seq 5 permit 192.168.200.0/24",
            "route-map PREPEND permit 5",
            "match ip address prefix-list NOADV",
            "set community no-advertise",
            "exit",
            "router bgp 65002",
            "no bgp network import-check",
            "address-family ipv4 unicast",
            "network 192.168.200.0/24",
            "network 192.168.201.0/24",
            "end",
            "clear bgp ipv4 unicast * soft out",
        ],
    );
    poll_until(
        "both of nva2's new prefixes on the spoke",
        Duration::from_secs(30),
        || spoke_route("192.168.200.0/24") == "10.0.2.5" && spoke_route("192.168.201.0/24") == "10.0.2.5",
    );
    poll_until(
        "192.168.201.0/24 re-advertised to nva1",
        Duration::from_secs(30),
        || frr_prefixes(&lab, "nva1").contains(&"192.168.201.0/24".to_string()),
    );
    let ping = pinger.wait_with_output().expect("the ping");
    assert!(text(&ping).contains(" 0% packet loss"), "{}", text(&ping));
    let at_nva1 = frr_prefixes(&lab, "nva1");
    assert!(!at_nva1.contains(&"192.168.200.0/24".to_string()), "{at_nva1:?}");

    // Malformed BGP: nva1's bgpd is stopped, and a process in nva1 sends
    // Route Server nonsense on TCP/179. Each time a NOTIFICATION and a
    // closed connection; nva2's sessions and routes are untouched.
    let o = lab.exec("nva1", &["/usr/lib/frr/frrinit.sh", "stop"]);
    assert!(o.status.success(), "{}", text(&o));
    poll_until("nva1's path withdrawn", Duration::from_secs(30), || {
        bgp_next_hops(&lab) == "10.0.2.5"
    });
    let pids = |lab: &Lab| -> Vec<u64> {
        lab.status()["routeServers"]
            .as_array()
            .expect("routeServers")
            .iter()
            .map(|r| r["pid"].as_u64().unwrap_or(0))
            .collect()
    };
    let learned = |lab: &Lab| {
        let o = lab.az(&[
            "network",
            "routeserver",
            "peering",
            "list-learned-routes",
            "-g",
            "bgp-rg",
            "--routeserver",
            "hub-rs",
            "-n",
            "nva2",
            "-o",
            "json",
        ]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (pids_before, learned_before) = (pids(&lab), learned(&lab));
    assert!(pids_before.iter().all(|p| *p > 0), "{pids_before:?}");
    // Given as text: the VM's /tmp (where a checkout may live) is its own.
    let script = include_str!("fixtures/bgp-malformed.py");
    for (rs, case, answer) in [
        ("10.0.1.4", "garbage", "NOTIFICATION 1/1"),
        ("10.0.1.4", "bad-type", "NOTIFICATION 1/3"),
        ("10.0.1.5", "bad-open", "NOTIFICATION 2/1"),
        ("10.0.1.5", "bad-update", "NOTIFICATION 3/"),
    ] {
        let o = lab.exec("nva1", &["python3", "-c", script, rs, "65001", "10.0.2.4", case]);
        assert!(
            String::from_utf8_lossy(&o.stdout).starts_with(answer),
            "{case} to {rs}: {}",
            text(&o)
        );
    }
    assert_eq!(pids(&lab), pids_before, "a speaker restarted");
    let nva2: Vec<String> = bgp_sessions(&lab)
        .into_iter()
        .filter(|(peer, _)| peer == "10.0.2.5")
        .map(|(_, state)| state)
        .collect();
    assert_eq!(nva2, ["Established", "Established"]);
    assert_eq!(learned(&lab), learned_before);
    assert!(lab.ping("spoke1-vm", "192.168.100.1"));

    // The route limit: 1,000 more prefixes from nva2 (1,003 in all) and
    // both its sessions are dropped, its routes withdrawn.
    let many: Vec<String> = (0..1000)
        .map(|i| format!("network 172.16.{}.{}/32", i / 250, i % 250))
        .collect();
    let mut commands = vec!["configure terminal", "router bgp 65002", "address-family ipv4 unicast"];
    commands.extend(many.iter().map(String::as_str));
    commands.push("end");
    vtysh("nva2", &commands);
    poll_until("nva2's sessions dropped", Duration::from_secs(30), || {
        let s = bgp_sessions(&lab);
        s.iter()
            .filter(|(peer, state)| peer == "10.0.2.5" && state.contains("PfxCt"))
            .count()
            == 2
    });
    poll_until("nva2's routes withdrawn", Duration::from_secs(30), || {
        bgp_next_hops(&lab).is_empty() && spoke_route("192.168.201.0/24").is_empty()
    });
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Issue 21: two `up` of one lab at once. One wins; the other says the lab
/// runs and touches nothing of the winner's (its log, PID file, socket);
/// the lock and runtime files are root's alone.
#[test]
fn two_ups_of_one_lab_at_once_one_wins_and_keeps_its_files() {
    for round in 0..3 {
        let lab = Lab(format!("h5race{round}-{}", std::process::id() % 100_000));
        let start = || {
            Command::new(BIN)
                .args(["up", LAB_DIR, "--lab", &lab.0])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start up")
        };
        let (a, b) = (start(), start());
        let (a, b) = (a.wait_with_output().expect("up"), b.wait_with_output().expect("up"));
        let won = [&a, &b].iter().filter(|o| o.status.success()).count();
        assert_eq!(won, 1, "round {round}: {}\n---\n{}", text(&a), text(&b));
        let loser = if a.status.success() { &b } else { &a };
        assert!(text(loser).contains("already running"), "{}", text(loser));
        let dir = lab.runtime();
        for f in ["daemon.log", "daemon.pid", "api.sock"] {
            assert!(dir.join(f).exists(), "round {round}: the winner's {f} is gone");
        }
        let pid: u32 = std::fs::read_to_string(dir.join("daemon.pid"))
            .expect("PID file")
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a PID");
        assert_eq!(lab.status()["pid"].as_u64(), Some(pid as u64));
        assert_eq!(lab.ssh_hostname("SalesVM", "10.2.1.4").as_deref(), Some("MarketingVM"));
        assert_eq!(mode(Path::new("/run/vnetlab")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&Path::new("/run/vnetlab").join(format!("{}.lock", lab.0))), 0o600);
    }
}

/// Issue 21: read-only commands on a lab that does not run create nothing.
#[test]
fn read_only_commands_on_a_stopped_lab_create_nothing() {
    let lab = Lab(format!("h5ro{}", std::process::id() % 100_000));
    let lock = Path::new("/run/vnetlab").join(format!("{}.lock", lab.0));
    for args in [
        vec!["status", "--lab", &lab.0],
        vec!["az", "--lab", &lab.0, "network", "vnet", "list"],
        vec!["trace", "--lab", &lab.0],
    ] {
        let o = vnetlab(&args);
        assert!(
            !lock.exists() && !lab.runtime().exists(),
            "{args:?} created files: {}",
            text(&o)
        );
    }
    let o = lab.run(&["status"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("is not running"), "{}", text(&o));
}

/// Issue 21: the API answers malformed lines (invalid UTF-8, a line over
/// the cap) with an error, survives failing accepts (out of descriptors),
/// and a stopped (SIGSTOP) daemon makes `status` fail with a clear message
/// instead of hanging, while `down` still removes the lab.
#[test]
fn api_survives_bad_input_and_accept_errors_and_down_beats_a_wedged_daemon() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    let lab = Lab(format!("h5api{}", std::process::id() % 100_000));
    let o = vnetlab(&["up", "--lab", &lab.0]);
    assert!(o.status.success(), "{}", text(&o));
    let socket = lab.runtime().join("api.sock");
    let ask = |bytes: &[u8]| -> (UnixStream, String) {
        let mut s = UnixStream::connect(&socket).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        // The daemon may close before a refused line is all sent.
        let sent = s.write_all(bytes);
        assert!(sent.is_ok() || bytes.len() > 1 << 20, "send: {sent:?}");
        let mut line = String::new();
        BufReader::new(s.try_clone().expect("clone"))
            .read_line(&mut line)
            .expect("an answer");
        (s, line)
    };
    let (mut conn, reply) = ask(b"\xff\xfe{\"request\":\"status\"}\n");
    assert!(reply.contains("not UTF-8"), "{reply}");
    // The same connection still serves.
    conn.write_all(b"{\"request\":\"status\"}\n").expect("send");
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).expect("status");
    assert!(line.contains("\"response\":\"status\""), "{line}");
    let (_, reply) = ask(b"{\"request\":\"nonsense\"}\n");
    assert!(reply.contains("bad request"), "{reply}");
    let mut long = vec![b'x'; 17 << 20];
    long.push(b'\n');
    let (_, reply) = ask(&long);
    assert!(reply.contains("longer than"), "{reply}");

    // Out of descriptors: accepts fail while the test holds connections.
    let pid = lab.status()["pid"].as_u64().expect("pid").to_string();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fds").count();
    let limit = |n: &str| {
        let o = Command::new("prlimit")
            // The soft limit only: raising a hard limit again needs
            // CAP_SYS_RESOURCE, which a container's root may lack.
            .args(["--pid", &pid, &format!("--nofile={n}:")])
            .output()
            .expect("prlimit");
        assert!(o.status.success(), "{}", text(&o));
    };
    limit(&(open + 2).to_string());
    let held: Vec<UnixStream> = (0..20).filter_map(|_| UnixStream::connect(&socket).ok()).collect();
    let log = lab.runtime().join("daemon.log");
    poll_until("a failed accept in the log", Duration::from_secs(20), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("cannot accept"))
    });
    drop(held);
    limit("4096");
    poll_until("the API to serve again", Duration::from_secs(20), || {
        lab.run(&["status"]).status.success()
    });

    // Wedged: SIGSTOP. status says so within its deadline; down stops it.
    let stopped = Command::new("kill").args(["-STOP", &pid]).status().expect("kill");
    assert!(stopped.success());
    let o = Command::new(BIN)
        .args(["status", "--lab", &lab.0])
        .env("VNETLAB_API_TIMEOUT", "2")
        .stdin(Stdio::null())
        .output()
        .expect("status");
    assert!(!o.status.success());
    assert!(text(&o).contains("did not answer within 2 s"), "{}", text(&o));
    let o = Command::new(BIN)
        .args(["down", "--lab", &lab.0])
        .env("VNETLAB_API_TIMEOUT", "2")
        .stdin(Stdio::null())
        .output()
        .expect("down");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("did not answer"), "{}", text(&o));
    // Gone, or a zombie its parent has yet to reap.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty()
            || state
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z')),
        "the daemon still runs: {state}"
    );
    let prefix = format!("vnl-{}", lab.0);
    let left: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// Two VMs in SalesVNet, one in MarketingVNet, the VNets peered.
const DNS_LAB: &str = r#"
resourceGroups:
  - name: learn-rg
    location: northeurope
virtualNetworks:
  - name: SalesVNet
    location: northeurope
    addressPrefixes: [10.1.0.0/16]
    subnets: [{ name: Apps, addressPrefix: 10.1.1.0/24 }]
    peerings: [{ name: ToMarketing, remoteVirtualNetwork: MarketingVNet, allowVirtualNetworkAccess: true }]
  - name: MarketingVNet
    location: northeurope
    addressPrefixes: [10.2.0.0/16]
    subnets: [{ name: Apps, addressPrefix: 10.2.1.0/24 }]
    peerings: [{ name: ToSales, remoteVirtualNetwork: SalesVNet, allowVirtualNetworkAccess: true }]
virtualMachines:
  - { name: SalesVM, location: northeurope, vnet: SalesVNet, subnet: Apps, adminUsername: azureuser, adminPassword: "Learn-Peering-2026!" }
  - { name: SalesVM2, location: northeurope, vnet: SalesVNet, subnet: Apps, adminUsername: azureuser, adminPassword: "Learn-Peering-2026!" }
  - { name: MarketingVM, location: northeurope, vnet: MarketingVNet, subnet: Apps, adminUsername: azureuser, adminPassword: "Learn-Peering-2026!" }
"#;

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `dig` inside `vm` with one short try: its output, and whether any
/// server answered (dig exits 9 when none did).
fn dig(lab: &Lab, vm: &str, args: &[&str]) -> (bool, String) {
    let mut argv = vec!["dig", "+time=2", "+tries=1"];
    argv.extend(args);
    let o = lab.exec(vm, &argv);
    (o.status.success(), out(&o))
}

#[test]
fn azure_provided_dns_answers_inside_one_vnet_only() {
    let (lab, _file) = Lab::up_inline("h1dns", DNS_LAB);
    let suffix = out(&lab.az(&[
        "network",
        "nic",
        "show",
        "-g",
        "learn-rg",
        "-n",
        "SalesVMVMNic",
        "--query",
        "dnsSettings.internalDomainNameSuffix",
        "-o",
        "tsv",
    ]));
    assert!(suffix.ends_with(".bx.internal.cloudapp.net"), "{suffix}");
    // DHCP's settings, in the VM's own /etc/resolv.conf; its FQDN.
    let resolv = out(&lab.exec("SalesVM", &["cat", "/etc/resolv.conf"]));
    assert!(resolv.contains("nameserver 168.63.129.16"), "{resolv}");
    assert!(resolv.contains(&format!("search {suffix}")), "{resolv}");
    assert_eq!(
        out(&lab.exec("SalesVM", &["hostname", "-f"])),
        format!("SalesVM.{suffix}")
    );

    // Same VNet: the bare name (through the search suffix), over UDP and TCP.
    assert_eq!(dig(&lab, "SalesVM", &["+short", "+search", "SalesVM2"]).1, "10.1.1.5");
    let fqdn = format!("SalesVM2.{suffix}");
    assert_eq!(dig(&lab, "SalesVM", &["+short", "+tcp", &fqdn]).1, "10.1.1.5");
    assert_eq!(
        dig(&lab, "SalesVM", &["+short", "salesvm2.internal.cloudapp.net"]).1,
        "10.1.1.5"
    );
    let getent = out(&lab.exec("SalesVM", &["getent", "ahostsv4", "SalesVM2"]));
    assert!(
        getent.starts_with(&format!("10.1.1.5        STREAM SalesVM2.{suffix}")),
        "{getent}"
    );
    assert_eq!(
        dig(&lab, "SalesVM", &["+short", "-x", "10.1.1.5"]).1,
        "salesvm2.internal.cloudapp.net."
    );
    assert_eq!(
        ssh_port_hostname(&lab, "SalesVM", "SalesVM2", "22").as_deref(),
        Some("SalesVM2")
    );

    // Across the peering: NXDOMAIN, forward and reverse, and ssh by name fails.
    let (answered, text) = dig(&lab, "SalesVM", &["+search", "MarketingVM"]);
    assert!(answered && text.contains("status: NXDOMAIN"), "{text}");
    let (answered, text) = dig(&lab, "SalesVM", &["-x", "10.2.1.4"]);
    assert!(answered && text.contains("status: NXDOMAIN"), "{text}");
    assert_eq!(ssh_port_hostname(&lab, "SalesVM", "MarketingVM", "22"), None);
    assert_eq!(
        ssh_port_hostname(&lab, "SalesVM", "10.2.1.4", "22").as_deref(),
        Some("MarketingVM"),
        "the peering itself carries traffic"
    );
    // Outside Azure's zones: an answer at once (the lab has no Internet).
    let (answered, text) = dig(&lab, "SalesVM", &["www.example.com"]);
    assert!(answered && text.contains("status: NXDOMAIN"), "{text}");

    // NSGs: a deny of everything outbound leaves DNS alone...
    let rule = |name: &str, priority: &str, dst: &str| {
        lab.az(&[
            "network",
            "nsg",
            "rule",
            "create",
            "-g",
            "learn-rg",
            "--nsg-name",
            "SalesVMNSG",
            "-n",
            name,
            "--priority",
            priority,
            "--direction",
            "Outbound",
            "--access",
            "Deny",
            "--protocol",
            "*",
            "--destination-address-prefixes",
            dst,
            "--destination-port-ranges",
            "*",
        ])
    };
    rule("DenyAllOut", "200", "*");
    assert_eq!(
        dig(&lab, "SalesVM", &["+short", "salesvm2.internal.cloudapp.net"]).1,
        "10.1.1.5"
    );
    // ...a deny of the AzurePlatformDNS tag stops it, over UDP and TCP.
    rule("DenyPlatformDns", "100", "AzurePlatformDNS");
    assert!(!dig(&lab, "SalesVM", &["salesvm2.internal.cloudapp.net"]).0);
    assert!(!dig(&lab, "SalesVM", &["+tcp", "salesvm2.internal.cloudapp.net"]).0);
    assert!(
        dig(&lab, "SalesVM2", &["+short", "salesvm.internal.cloudapp.net"]).0,
        "other VMs unaffected"
    );
}

#[test]
fn custom_dns_reaches_resolv_conf_on_restart_and_a_forwarder_serves_the_vnet() {
    let (lab, _file) = Lab::up_inline("h1cdns", DNS_LAB);
    let resolv = |vm: &str| out(&lab.exec(vm, &["cat", "/etc/resolv.conf"]));
    // SalesVM2 runs a real forwarder to 168.63.129.16 (the classic hub DNS).
    let o = lab.exec(
        "SalesVM2",
        &[
            "dnsmasq",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--server=168.63.129.16",
            "--listen-address=10.1.1.5",
            "--bind-interfaces",
            "--user=root",
            "--pid-file=/run/dnsmasq.pid",
        ],
    );
    assert!(o.status.success(), "dnsmasq: {}", text(&o));
    lab.az(&[
        "network",
        "vnet",
        "update",
        "-g",
        "learn-rg",
        "-n",
        "SalesVNet",
        "--dns-servers",
        "10.1.1.5",
    ]);
    let applied = out(&lab.az(&[
        "network",
        "nic",
        "show",
        "-g",
        "learn-rg",
        "-n",
        "SalesVMVMNic",
        "--query",
        "dnsSettings.appliedDnsServers[0]",
        "-o",
        "tsv",
    ]));
    assert_eq!(applied, "10.1.1.5");
    // Running VMs keep their lease until they restart.
    assert!(resolv("SalesVM").contains("nameserver 168.63.129.16"));
    lab.az(&["vm", "restart", "-g", "learn-rg", "-n", "SalesVM"]);
    let r = resolv("SalesVM");
    assert!(r.contains("nameserver 10.1.1.5") && !r.contains("168.63.129.16"), "{r}");
    assert!(r.contains("search reddog.microsoft.com"), "{r}");
    // Through the forwarder, Azure's names of the forwarder's VNet.
    assert_eq!(
        dig(&lab, "SalesVM", &["+short", "salesvm2.internal.cloudapp.net"]).1,
        "10.1.1.5"
    );
    // The NIC wins; AzureProvidedDNS alone restores Azure's.
    lab.az(&[
        "network",
        "nic",
        "update",
        "-g",
        "learn-rg",
        "-n",
        "SalesVMVMNic",
        "--dns-servers",
        "AzureProvidedDNS",
    ]);
    lab.az(&["vm", "stop", "-g", "learn-rg", "-n", "SalesVM"]);
    lab.az(&["vm", "start", "-g", "learn-rg", "-n", "SalesVM"]);
    let r = resolv("SalesVM");
    assert!(r.contains("nameserver 168.63.129.16") && !r.contains("10.1.1.5"), "{r}");
    assert_eq!(dig(&lab, "SalesVM", &["+short", "+search", "SalesVM2"]).1, "10.1.1.5");
}
