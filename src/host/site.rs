//! An on-premises site: the VPN device a local network gateway describes
//! (a router namespace whose tunnels are TUNs into the fabric) and a host
//! on its LAN, joined to the router by a veth pair.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use std::os::fd::AsFd;

use super::netlink::{Route, RouteOp, Rtnl};
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
    let ns = router_ns.to_string();
    let mut router = netns::run_in(router_ns, move || {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
            .map_err(HostError::io("make the site's router forward"))?;
        netns::ipv4_only()?;
        Rtnl::here(&ns)
    })??;
    netns::add(host_ns)?;
    let ns = host_ns.to_string();
    let mut lan = netns::run_in(host_ns, move || {
        netns::ipv4_only()?;
        Rtnl::here(&ns)
    })??;
    router.add_veth(ROUTER_LAN, HOST_LAN, netns::open(host_ns)?.as_fd(), host_ns)?;
    router.link_up("lo")?;
    router.add_address(ROUTER_LAN, router_lan)?;
    router.link_up(ROUTER_LAN)?;
    for p in other_prefixes {
        let first = Ipv4Addr::from(u32::from(p.network()).saturating_add(1));
        router.add_address("lo", Ipv4Net::from(first))?;
    }
    lan.link_up("lo")?;
    if let Some(ip) = host.filter(|ip| *ip != router_lan.addr()) {
        let addr = Ipv4Net::new(ip, router_lan.prefix_len()).map_err(|e| HostError::Io {
            what: format!("address the host of {host_ns}"),
            source: std::io::Error::other(e),
        })?;
        lan.add_address(HOST_LAN, addr)?;
        lan.link_up(HOST_LAN)?;
        lan.route(
            RouteOp::Add,
            &Route::via(Ipv4Net::default(), router_lan.addr(), HOST_LAN),
        )?;
    }
    Ok(())
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
    let gone: Vec<_> = old.iter().filter(|r| !new.contains(r)).collect();
    if gone.is_empty() && new.is_empty() {
        return Ok(());
    }
    let mut rtnl = Rtnl::open(router_ns)?;
    for (p, dev) in gone {
        rtnl.route(RouteOp::Delete, &Route::dev(*p, dev))?;
    }
    for (p, dev) in new {
        rtnl.route(RouteOp::Replace, &Route::dev(*p, dev).src(src))?;
    }
    Ok(())
}
