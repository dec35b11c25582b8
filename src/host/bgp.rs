//! A BGP speaker in a namespace of its own: FRR's bgpd, run without zebra
//! (it installs nothing in a kernel; it only holds sessions and tables),
//! configured from a file and changed in place over vtysh, read back as
//! FRR's JSON.
//!
//! Why FRR: it is the BGP implementation Debian and Ubuntu ship, the one
//! NVAs in Azure labs run, and it does the protocol's own work that a
//! route server must do right: NOTIFICATION on malformed messages, hold
//! timers, maximum-prefix teardown, NO_ADVERTISE, loop detection. No Rust
//! BGP crate is kept well enough to carry that.

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use super::{HostError, netns};

/// Where Debian's frr package puts its daemons.
pub const FRR_DIR: &str = "/usr/lib/frr";
const VTYSH: &str = "vtysh";

/// One neighbor of a speaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    pub ip: Ipv4Addr,
    pub asn: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeakerSetup {
    /// For messages: "RouteServer instance 0".
    pub name: String,
    pub netns: String,
    /// Config, log, PID file and vty socket.
    pub dir: PathBuf,
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<Neighbor>,
    /// What it announces to every neighbor.
    pub networks: Vec<Ipv4Net>,
    /// Above this many prefixes from one neighbor the session is dropped.
    pub max_prefixes: u32,
    pub keepalive_secs: u16,
    pub hold_secs: u16,
}

impl SpeakerSetup {
    /// The whole configuration, as bgpd reads it at start.
    pub fn config(&self) -> String {
        let mut c = format!("! {} (vnetlab)\nrouter bgp {}\n", self.name, self.asn);
        let _ = writeln!(c, " bgp router-id {}", self.router_id);
        // Every route is accepted and announced as is: Route Server applies
        // no policy of the customer's (FRR's default wants one for eBGP).
        c.push_str(" no bgp ebgp-requires-policy\n");
        // No zebra, so no RIB to check `network` statements against.
        c.push_str(" no bgp network import-check\n");
        for n in &self.neighbors {
            c.push_str(&self.neighbor_lines(n));
        }
        c.push_str(" address-family ipv4 unicast\n");
        for p in &self.networks {
            let _ = writeln!(c, "  network {p}");
        }
        for n in &self.neighbors {
            c.push_str(&self.neighbor_af_lines(n));
        }
        c.push_str(" exit-address-family\nexit\n");
        c
    }

    fn neighbor_lines(&self, n: &Neighbor) -> String {
        let ip = n.ip;
        // Multihop: the NVA sits in another subnet (§3.1). Connect retry
        // kept short so a session comes back within seconds.
        format!(
            " neighbor {ip} remote-as {}\n neighbor {ip} ebgp-multihop 255\n neighbor {ip} timers {} {}\n neighbor {ip} timers connect 5\n",
            n.asn, self.keepalive_secs, self.hold_secs
        )
    }

    fn neighbor_af_lines(&self, n: &Neighbor) -> String {
        format!("  neighbor {} maximum-prefix {}\n", n.ip, self.max_prefixes)
    }

    /// The vtysh commands that turn a running speaker configured as `old`
    /// into `self`, without touching sessions that stay; None when the
    /// change needs a restart (another ASN or router ID, other timers).
    pub fn changes_from(&self, old: &SpeakerSetup) -> Option<Vec<String>> {
        if (
            self.asn,
            self.router_id,
            self.keepalive_secs,
            self.hold_secs,
            self.max_prefixes,
        ) != (
            old.asn,
            old.router_id,
            old.keepalive_secs,
            old.hold_secs,
            old.max_prefixes,
        ) {
            return None;
        }
        let mut cmds = vec!["configure terminal".to_string(), format!("router bgp {}", self.asn)];
        for n in old.neighbors.iter().filter(|n| !self.neighbors.contains(n)) {
            cmds.push(format!("no neighbor {}", n.ip));
        }
        let added: Vec<&Neighbor> = self.neighbors.iter().filter(|n| !old.neighbors.contains(n)).collect();
        for n in &added {
            cmds.extend(self.neighbor_lines(n).lines().map(|l| l.trim().to_string()));
        }
        cmds.push("address-family ipv4 unicast".into());
        for p in old.networks.iter().filter(|p| !self.networks.contains(p)) {
            cmds.push(format!("no network {p}"));
        }
        for p in self.networks.iter().filter(|p| !old.networks.contains(p)) {
            cmds.push(format!("network {p}"));
        }
        for n in &added {
            cmds.extend(self.neighbor_af_lines(n).lines().map(|l| l.trim().to_string()));
        }
        cmds.push("end".into());
        Some(cmds)
    }
}

/// Writes the speaker's directory and configuration.
pub fn prepare(s: &SpeakerSetup) -> Result<(), HostError> {
    fs::create_dir_all(&s.dir).map_err(HostError::io(format!("create the directory of {}", s.name)))?;
    fs::set_permissions(&s.dir, fs::Permissions::from_mode(0o700))
        .map_err(HostError::io(format!("restrict the directory of {}", s.name)))?;
    fs::write(s.dir.join("bgpd.conf"), s.config()).map_err(HostError::io(format!("write {}'s bgpd.conf", s.name)))
}

/// Starts bgpd in the speaker's namespace, in the foreground (the daemon
/// holds it as a child, as a cache's redis-server). It stays root (`-S`):
/// its files are in the lab's root-only runtime directory.
pub fn spawn(s: &SpeakerSetup) -> Result<std::process::Child, HostError> {
    let file = |f: &str| s.dir.join(f).to_string_lossy().into_owned();
    let out = fs::File::create(s.dir.join("bgpd.out")).map_err(HostError::io("create bgpd.out"))?;
    let err = out.try_clone().map_err(HostError::io("open bgpd.out"))?;
    let mut cmd = Command::new(format!("{FRR_DIR}/bgpd"));
    cmd.args(["-S", "-Z", "-P", "0", "-f"])
        .arg(file("bgpd.conf"))
        .arg("-i")
        .arg(file("bgpd.pid"))
        .arg("--vty_socket")
        .arg(file(""))
        .arg("--log")
        .arg(format!("file:{}", file("bgpd.log")))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    netns::spawn_in(&s.netns, cmd, &format!("bgpd of {}", s.name))
}

/// Runs vtysh commands against the speaker (its vty socket; vtysh needs
/// no namespace) and returns what it printed.
pub fn vtysh(dir: &std::path::Path, commands: &[String]) -> Result<String, HostError> {
    let mut cmd = Command::new(VTYSH);
    cmd.arg("--vty_socket").arg(dir);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    let out = netns::run(&mut cmd, "vtysh")?;
    // vtysh exits 0 even when a command inside failed; it says so.
    if out.contains("% Unknown command") || out.contains("% Invalid") {
        return Err(HostError::Command {
            what: format!("vtysh {}", commands.join(" ; ")),
            stderr: out.trim().to_string(),
        });
    }
    Ok(out)
}

/// Changes a running speaker in place (see `SpeakerSetup::changes_from`)
/// and keeps its file in step for the next start.
pub fn reconfigure(s: &SpeakerSetup, commands: &[String]) -> Result<(), HostError> {
    vtysh(&s.dir, commands)?;
    fs::write(s.dir.join("bgpd.conf"), s.config()).map_err(HostError::io(format!("write {}'s bgpd.conf", s.name)))
}

/// Whether bgpd answers on its vty socket yet.
pub fn answers(dir: &std::path::Path) -> bool {
    dir.join("bgpd.vty").exists() && vtysh(dir, &["show bgp summary json".into()]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(neighbors: &[(u8, u32)], networks: &[&str]) -> SpeakerSetup {
        SpeakerSetup {
            name: "rs instance 0".into(),
            netns: "ns".into(),
            dir: "/nonexistent".into(),
            asn: 65515,
            router_id: Ipv4Addr::new(10, 0, 1, 4),
            neighbors: neighbors
                .iter()
                .map(|&(h, asn)| Neighbor {
                    ip: Ipv4Addr::new(10, 0, 2, h),
                    asn,
                })
                .collect(),
            networks: networks.iter().map(|p| p.parse().unwrap()).collect(),
            max_prefixes: 1000,
            keepalive_secs: 60,
            hold_secs: 180,
        }
    }

    #[test]
    fn config_holds_multihop_neighbors_timers_limit_and_networks() {
        let c = setup(&[(4, 65001)], &["10.0.0.0/16"]).config();
        for line in [
            "router bgp 65515",
            " bgp router-id 10.0.1.4",
            " neighbor 10.0.2.4 remote-as 65001",
            " neighbor 10.0.2.4 ebgp-multihop 255",
            " neighbor 10.0.2.4 timers 60 180",
            "  network 10.0.0.0/16",
            "  neighbor 10.0.2.4 maximum-prefix 1000",
        ] {
            assert!(c.lines().any(|l| l == line), "{line:?} missing from\n{c}");
        }
    }

    #[test]
    fn changes_touch_only_what_moved() {
        let old = setup(&[(4, 65001), (5, 65002)], &["10.0.0.0/16"]);
        let new = setup(&[(4, 65001), (6, 65003)], &["10.0.0.0/16", "10.1.0.0/16"]);
        let cmds = new.changes_from(&old).unwrap();
        assert!(cmds.contains(&"no neighbor 10.0.2.5".to_string()));
        assert!(cmds.contains(&"neighbor 10.0.2.6 remote-as 65003".to_string()));
        assert!(cmds.contains(&"network 10.1.0.0/16".to_string()));
        assert!(!cmds.iter().any(|c| c.contains("10.0.2.4")), "{cmds:?}");
        assert_eq!(cmds.last().map(String::as_str), Some("end"));
    }

    #[test]
    fn a_peer_with_another_asn_is_replaced() {
        let old = setup(&[(4, 65001)], &[]);
        let new = setup(&[(4, 65009)], &[]);
        let cmds = new.changes_from(&old).unwrap();
        let gone = cmds.iter().position(|c| c == "no neighbor 10.0.2.4").unwrap();
        let back = cmds
            .iter()
            .position(|c| c == "neighbor 10.0.2.4 remote-as 65009")
            .unwrap();
        assert!(gone < back);
    }

    #[test]
    fn other_timers_need_a_restart() {
        let old = setup(&[(4, 65001)], &[]);
        let mut new = old.clone();
        new.hold_secs = 9;
        assert!(new.changes_from(&old).is_none());
    }
}
