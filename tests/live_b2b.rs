//! Route Server's branch-to-branch with real BGP and real traffic (issue 19
//! item 4, azure-semantics-2 §3.4): a hub with a Route Server, an NVA
//! running FRR that announces 192.168.100.0/24, and a VPN gateway with an
//! on-premises site. Needs root (`cargo test --features root-tests --test
//! live_b2b`); the lab is removed in a drop guard, also on failure; every
//! wait is bounded.
#![cfg(feature = "root-tests")]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{BIN, Lab, text, vnetlab};

const TOPOLOGY: &str = "resourceGroups: [{name: b2b-rg, location: westeurope}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {name: RouteServerSubnet, addressPrefix: 10.0.1.0/27}
      - {name: nva-subnet, addressPrefix: 10.0.2.0/24}
      - {name: GatewaySubnet, addressPrefix: 10.0.255.0/27}
routeServers:
  - name: hub-rs
    vnet: hub
    subnet: RouteServerSubnet
    peerings: [{name: nva1, peerIp: 10.0.2.4, peerAsn: 65001}]
virtualNetworkGateways:
  - {name: hub-gw, vnet: hub, sku: VpnGw1}
localNetworkGateways:
  - {name: OnPremSite, gatewayIpAddress: 203.0.113.10, localAddressPrefixes: [192.168.10.0/24]}
connections:
  - {name: hub-to-onprem, vnetGateway1: hub-gw, localGateway2: OnPremSite, sharedKey: abc123}
virtualMachines:
  - {name: nva1, vnet: hub, subnet: nva-subnet, privateIpAddress: 10.0.2.4, ipForwarding: true, publicIpAddress: '', nsg: '', adminPassword: Branch-To-Branch-2026!}
";

/// nva1's FRR, as an admin sets it up on an Ubuntu VM: ASN 65001, both
/// Route Server instances, 192.168.100.0/24 held on its loopback.
const NVA_FRR: &str = "set -e
ip addr replace 192.168.100.1/24 dev lo
sed -i 's/^bgpd=no/bgpd=yes/' /etc/frr/daemons
cat > /etc/frr/frr.conf <<'CONF'
frr defaults traditional
hostname nva1
ip nht resolve-via-default
router bgp 65001
 bgp router-id 10.0.2.4
 no bgp ebgp-requires-policy
 neighbor 10.0.1.4 remote-as 65515
 neighbor 10.0.1.4 ebgp-multihop 255
 neighbor 10.0.1.5 remote-as 65515
 neighbor 10.0.1.5 ebgp-multihop 255
 address-family ipv4 unicast
  network 192.168.100.0/24
 exit-address-family
CONF
/usr/lib/frr/frrinit.sh restart >/dev/null 2>&1
";

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Lab {
    /// `vnetlab az ARGS -o json` on this lab, which must succeed: its JSON.
    fn az_json(&self, args: &[&str]) -> serde_json::Value {
        let o = Command::new(BIN)
            .arg("az")
            .args(args)
            .args(["-o", "json"])
            .env("VNETLAB_LAB", &self.0)
            .stdin(Stdio::null())
            .output()
            .expect("run vnetlab az");
        assert!(o.status.success(), "az {}: {}", args.join(" "), text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// `exec VM -- argv` (no ssh inside, so no password).
    fn exec(&self, vm: &str, argv: &[&str]) -> Output {
        let mut args = vec!["exec", "--lab", &self.0, vm, "--"];
        args.extend(argv);
        vnetlab(&args)
    }

    /// A ping from `vm` (from address `from`, if given) to `ip`.
    fn ping(&self, vm: &str, from: Option<&str>, ip: &str) -> bool {
        let mut argv = vec!["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-w", "2"];
        if let Some(src) = from {
            argv.extend(["-I", src]);
        }
        argv.push(ip);
        self.exec(vm, &argv).status.success()
    }

    /// The routes the site's router holds towards Azure, as `status` shows.
    fn site_routes(&self) -> Vec<String> {
        let o = vnetlab(&["status", "--lab", &self.0, "-o", "json"]);
        assert!(o.status.success(), "{}", text(&o));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status JSON");
        s["sites"][0]["routes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect()
    }

    /// The prefixes in nva1's FRR table.
    fn nva_prefixes(&self) -> Vec<String> {
        let o = self.exec("nva1", &["vtysh", "-c", "show bgp ipv4 unicast json"]);
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("FRR's JSON");
        v["routes"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn set_b2b(&self, on: bool) {
        let value = if on { "true" } else { "false" };
        self.az_json(&[
            "network",
            "routeserver",
            "update",
            "-g",
            "b2b-rg",
            "-n",
            "hub-rs",
            "--allow-b2b-traffic",
            value,
        ]);
    }
}

fn poll_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const NVA_ROUTE: &str = "192.168.100.0/24 via vti0";
const SITE_PREFIX: &str = "192.168.10.0/24";

/// Off, then on, then off again: with branch-to-branch the NVA learns the
/// site's prefix from Route Server, the site's router learns the NVA's,
/// and pings cross both ways; without it neither learns the other's and
/// the site's packets have no route.
#[test]
fn branch_to_branch_carries_routes_and_traffic_between_an_nva_and_a_vpn_site() {
    let file = TempFile(std::env::temp_dir().join(format!("vnetlab-b2b-{}.yaml", std::process::id())));
    std::fs::write(&file.0, TOPOLOGY).expect("write the topology");
    let lab = Lab::named("b2b2b");
    let o = vnetlab(&["up", file.0.to_str().expect("utf-8 path"), "--lab", &lab.0]);
    assert!(o.status.success(), "up failed: {}", text(&o));
    let o = lab.exec("nva1", &["bash", "-c", NVA_FRR]);
    assert!(o.status.success(), "FRR on nva1: {}", text(&o));

    // Off (the default): Route Server learned the NVA's prefix (the VNet's
    // NICs have it), but passes it to no gateway, and the site's prefix to
    // no NVA.
    poll_until("nva1's prefix learned", Duration::from_secs(60), || {
        let routes = lab.az_json(&[
            "network",
            "nic",
            "show-effective-route-table",
            "-g",
            "b2b-rg",
            "-n",
            "nva1VMNic",
        ]);
        routes.to_string().contains("192.168.100.0/24")
    });
    assert!(
        !lab.site_routes().iter().any(|r| r == NVA_ROUTE),
        "{:?}",
        lab.site_routes()
    );
    assert!(!lab.nva_prefixes().iter().any(|p| p == SITE_PREFIX));
    assert!(!lab.ping("OnPremSite-host", None, "192.168.100.1"));
    // The VNet's own address is reachable from the site all along.
    assert!(lab.ping("OnPremSite-host", None, "10.0.2.4"));

    // On: both ways, by BGP and by packets.
    lab.set_b2b(true);
    poll_until(
        "the site's router learns the NVA's prefix",
        Duration::from_secs(30),
        || lab.site_routes().iter().any(|r| r == NVA_ROUTE),
    );
    poll_until("the NVA learns the site's prefix", Duration::from_secs(30), || {
        lab.nva_prefixes().iter().any(|p| p == SITE_PREFIX)
    });
    assert!(lab.ping("OnPremSite-host", None, "192.168.100.1"));
    assert!(lab.ping("nva1", Some("192.168.100.1"), "192.168.10.10"));
    let learned = lab.az_json(&[
        "network",
        "vnet-gateway",
        "list-learned-routes",
        "-g",
        "b2b-rg",
        "-n",
        "hub-gw",
    ]);
    let rows: Vec<&serde_json::Value> = learned["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter(|r| r["network"] == "192.168.100.0/24")
        .collect();
    assert_eq!(rows.len(), 2, "one per Route Server instance: {learned}");
    assert!(
        rows.iter()
            .all(|r| r["origin"] == "IBgp" && r["asPath"] == "65001" && r["nextHop"] == "10.0.2.4"),
        "{learned}"
    );

    // Off again: withdrawn both ways, the site's packets have no route.
    lab.set_b2b(false);
    poll_until(
        "the NVA's prefix withdrawn from the site",
        Duration::from_secs(30),
        || !lab.site_routes().iter().any(|r| r == NVA_ROUTE),
    );
    poll_until(
        "the site's prefix withdrawn from the NVA",
        Duration::from_secs(30),
        || !lab.nva_prefixes().iter().any(|p| p == SITE_PREFIX),
    );
    assert!(!lab.ping("OnPremSite-host", None, "192.168.100.1"));
}
