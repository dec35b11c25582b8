//! A VM's `eth0`: a TUN device created inside the VM's namespace, with the
//! virtio header and TCP/UDP segmentation offloads on from the start.
//!
//! tun-rs 2.x replaces the tun-tap crate of the first design: tun-tap has
//! neither `IFF_VNET_HDR`/`TUNSETOFFLOAD` nor tokio-1 support, and without
//! offload a userspace relay here stops at about 0.2× kernel forwarding
//! (../shared/performance.md). With offload the TUN advertises TSO, so the
//! sending kernel hands over up to 64 KB super-packets and the receiving
//! kernel takes them whole.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use tun_rs::{DeviceBuilder, SyncDevice};

use super::netlink::{Route, RouteOp, Rtnl};
use super::{HostError, netns};

/// The default queue of a TUN (500 packets) drops bursts (Firezone and
/// ../shared/performance.md raised it). At 5 000, a 100 k pps stream of
/// 64-byte UDP still overflowed it whenever the endpoints held the CPU
/// for a few tens of milliseconds; 20 000 absorbed that in every run.
const TX_QUEUE_LEN: u32 = 20_000;
pub const MTU: u16 = 1500;

/// What the inside of a VM's network looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// The subnet's first address, where Azure's fabric answers.
    pub gateway: Ipv4Addr,
    /// An NVA's kernel forwards (`net.ipv4.ip_forward=1`).
    pub forwarding: bool,
}

/// Creates the TUN `name` in the namespace, addresses it and brings it and
/// `lo` up. The first NIC (`default_route`) carries the default route via
/// its subnet's gateway, as on an Azure VM.
pub fn open(ns: &str, name: &str, iface: &Interface, default_route: bool) -> Result<SyncDevice, HostError> {
    let mut queues = open_queues(ns, name, iface, default_route, 1)?;
    Ok(queues.remove(0))
}

/// `open` with `queues` queues (`IFF_MULTI_QUEUE`), one descriptor each:
/// the kernel sends each flow out of one queue, chosen by a hash of its
/// addresses and ports (the same both ways), so packet threads reading
/// different queues share a VM's flows without reordering any of them.
pub fn open_queues(
    ns: &str,
    name: &str,
    iface: &Interface,
    default_route: bool,
    queues: usize,
) -> Result<Vec<SyncDevice>, HostError> {
    let (address, prefix, forwarding, gateway) = (iface.address, iface.prefix_len, iface.forwarding, iface.gateway);
    let (dev_name, ns_name) = (name.to_string(), ns.to_string());
    netns::run_in(ns, move || -> Result<Vec<SyncDevice>, HostError> {
        netns::ipv4_only()?;
        // A router that sends a packet back out of the interface it came
        // in on tells the sender to go direct (ICMP redirect). Azure's
        // fabric has no use for those; the kernel sends one if either
        // `all` or the device says so, and a device copies `default`.
        for conf in ["all", "default"] {
            std::fs::write(format!("/proc/sys/net/ipv4/conf/{conf}/send_redirects"), "0")
                .map_err(HostError::io("turn ICMP redirects off"))?;
        }
        let dev = DeviceBuilder::new()
            .name(&dev_name)
            .mtu(MTU)
            .offload(true)
            .multi_queue(queues > 1)
            .tx_queue_len(TX_QUEUE_LEN)
            .ipv4(address, prefix, None)
            .enable(true)
            .build_sync()
            .map_err(HostError::io(format!("create TUN {dev_name}")))?;
        // More queues attach by name, so here, in the namespace.
        let mut devs = vec![dev];
        for _ in 1..queues {
            let queue = devs[0]
                .try_clone()
                .map_err(HostError::io(format!("open a queue of TUN {dev_name}")))?;
            devs.push(queue);
        }
        // /proc/sys/net follows the namespace of the thread that opens it.
        // Always written: a new namespace may copy the host's value.
        std::fs::write("/proc/sys/net/ipv4/ip_forward", if forwarding { "1" } else { "0" })
            .map_err(HostError::io("set net.ipv4.ip_forward"))?;
        let mut rtnl = Rtnl::here(&ns_name)?;
        rtnl.link_up("lo")?;
        if default_route {
            let route = Route::via(Ipv4Net::default(), gateway, &dev_name).onlink();
            rtnl.route(RouteOp::Replace, &route)?;
        }
        Ok(devs)
    })?
}

/// Adds a route to `prefix` on the link `dev` in the namespace.
pub fn add_route(ns: &str, dev: &str, prefix: Ipv4Net) -> Result<(), HostError> {
    Rtnl::open(ns)?.route(RouteOp::Add, &Route::dev(prefix, dev))
}
