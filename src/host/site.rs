//! An on-premises site: the VPN device a local network gateway describes
//! (a router namespace whose tunnels are TUNs into the fabric) and a host
//! on its LAN, joined to the router by a veth pair.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{HostError, netns};

/// The router's side of the LAN, and the host's.
const ROUTER_LAN: &str = "lan0";
const HOST_LAN: &str = "eth0";

/// Makes the host's namespace and the LAN between it and the router
/// (`router_ns`, which exists and already forwards). The router answers
/// for the LNG's other prefixes on its loopback.
pub fn build(
    router_ns: &str,
    host_ns: &str,
    router_lan: Ipv4Net,
    host: Option<Ipv4Addr>,
    other_prefixes: &[Ipv4Net],
) -> Result<(), HostError> {
    // The router forwards even before it has a tunnel (an LNG without a
    // connection yet), and is IPv4-only like everything else.
    netns::run_in(router_ns, || {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
            .map_err(HostError::io("make the site's router forward"))?;
        netns::ipv4_only()
    })??;
    netns::add(host_ns)?;
    netns::ip(&[
        "-n", router_ns, "link", "add", ROUTER_LAN, "type", "veth", "peer", "name", HOST_LAN, "netns", host_ns,
    ])?;
    let mut router = format!("link set lo up\naddr add {router_lan} dev {ROUTER_LAN}\nlink set {ROUTER_LAN} up\n");
    for p in other_prefixes {
        let first = Ipv4Addr::from(u32::from(p.network()).saturating_add(1));
        router.push_str(&format!("addr add {first}/32 dev lo\n"));
    }
    netns::ip_batch(router_ns, &router)?;
    let mut lan = String::from("link set lo up\n");
    if let Some(ip) = host.filter(|ip| *ip != router_lan.addr()) {
        lan.push_str(&format!(
            "addr add {ip}/{} dev {HOST_LAN}\nlink set {HOST_LAN} up\nroute add default via {}\n",
            router_lan.prefix_len(),
            router_lan.addr()
        ));
    }
    netns::ip_batch(host_ns, &lan)?;
    netns::run_in(host_ns, netns::ipv4_only)?
}

/// Replaces the router's routes toward Azure: `old` goes, `new` comes.
/// Packets the router itself sends into a tunnel leave from its LAN
/// address (`src`), an address Azure routes back to the site.
pub fn set_routes(
    router_ns: &str,
    src: Ipv4Addr,
    old: &[(Ipv4Net, String)],
    new: &[(Ipv4Net, String)],
) -> Result<(), HostError> {
    let mut batch = String::new();
    for (p, dev) in old.iter().filter(|r| !new.contains(r)) {
        batch.push_str(&format!("route del {p} dev {dev}\n"));
    }
    for (p, dev) in new {
        batch.push_str(&format!("route replace {p} dev {dev} src {src}\n"));
    }
    if batch.is_empty() {
        Ok(())
    } else {
        netns::ip_batch(router_ns, &batch)
    }
}
