//! AKS nodes on the host: what a node's kernel does for Azure CNI Overlay
//! and for a cluster mesh, and the pods behind it.
//!
//! - The node forwards (`ip_forward=1`, set with its TUN) and holds a
//!   blackhole route for its own /24, so a packet for a pod that does not
//!   exist dies on the node instead of bouncing through the fabric.
//! - Pod traffic that leaves through `eth0` to outside the cluster's pod
//!   CIDR is masqueraded to the node's IP: real kernel NAT, an nftables
//!   table inside the node's namespace (Azure: "Network Address
//!   Translation (using the node's IP address) is used to reach resources
//!   outside the cluster").
//! - A pod is a namespace of its own: `eth0` (one end of a veth) with the
//!   pod's address as a /32 and a default route via 169.254.1.1, the
//!   node's end of every pod veth (`azv…`, as Azure CNI names them), with
//!   a /32 route per pod. Its command runs with its own UTS namespace,
//!   so `hostname` is the pod's name.
//! - A cluster mesh is one VXLAN device `vxmesh` per node (on the UDP port
//!   the daemon gives, 8472 as Cilium): a static FDB entry and neighbour
//!   per remote node, and a route for each remote node's pod /24 through
//!   it. Only the outer node-to-node UDP crosses the fabric, so the tunnel
//!   works exactly where node-to-node traffic does.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use super::netlink::{Route, RouteOp, Rtnl, Vxlan};
use super::{HostError, kill_all, netns};

/// The node's end of every pod veth (link-local, as Calico and Azure CNI
/// do it): the pods' default gateway.
pub const POD_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
const MESH_DEV: &str = "vxmesh";
const MESH_VNI: u32 = 1;
/// Room for the outer IPv4, UDP and VXLAN headers inside a 1500-byte NIC.
const MESH_MTU: u32 = 1450;
const NFT_TABLE: &str = "vnetlab_aks";

/// What a node needs beyond a VM's namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeNet {
    /// The cluster's pod CIDR (not masqueraded).
    pub pod_cidr: Ipv4Net,
    /// This node's /24.
    pub slice: Ipv4Net,
    pub pods: Vec<PodNet>,
    /// Set while the cluster's mesh is enabled.
    pub mesh: Option<MeshNet>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodNet {
    pub name: String,
    pub netns: String,
    pub ip: Ipv4Addr,
    pub command: Vec<String>,
    /// Where the pod's output goes.
    pub log: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshNet {
    /// The UDP port of the tunnel's packets.
    pub port: u16,
    /// The node's own address (the tunnel's local end).
    pub local: Ipv4Addr,
    /// Remote nodes of meshed clusters: their /24 and their address.
    pub peers: Vec<(Ipv4Net, Ipv4Addr)>,
}

/// A stable locally administered MAC for a node's tunnel end, so every
/// peer can name it without asking.
fn mesh_mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x4d, o[0], o[1], o[2], o[3]]
}

/// The node-side veth of a pod: `azv` and 8 hex digits of its address.
fn veth_name(ip: Ipv4Addr) -> String {
    format!("azv{:08x}", u32::from(ip))
}

/// Brings a node from `old` to `new`: first set-up, pods added and
/// removed, the mesh rebuilt when it changed.
pub fn sync(node_ns: &str, old: Option<&NodeNet>, new: &NodeNet) -> Result<(), HostError> {
    let mut node = Rtnl::open(node_ns)?;
    if old.is_none() {
        setup_node(node_ns, &mut node, new)?;
    }
    let had: &[PodNet] = old.map_or(&[], |o| &o.pods);
    for p in had.iter().filter(|p| !new.pods.contains(p)) {
        remove_pod(&p.netns);
    }
    for p in new.pods.iter().filter(|p| !had.contains(p)) {
        add_pod(&mut node, p)?;
    }
    if old.map(|o| &o.mesh) != Some(&new.mesh) {
        set_mesh(&mut node, new)?;
    }
    Ok(())
}

fn setup_node(ns: &str, node: &mut Rtnl, n: &NodeNet) -> Result<(), HostError> {
    node.route(RouteOp::Replace, &Route::blackhole(n.slice))?;
    let rules = format!(
        "table ip {NFT_TABLE} {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    ip saddr {pods} ip daddr != {pods} oifname \"eth0\" masquerade\n  }}\n}}\n",
        pods = n.pod_cidr
    );
    nft(ns, &rules)
}

/// nftables stays a process: its netlink protocol (nf_tables batches of
/// expressions) has no kept crate without libnftnl, and a node loads its
/// one table once.
fn nft(ns: &str, rules: &str) -> Result<(), HostError> {
    let mut cmd = Command::new("nft");
    cmd.args(["-f", "-"]);
    netns::feed_in(
        ns,
        cmd,
        &format!("nft -f - in {ns} (nftables, which scripts/setup installs)"),
        rules,
    )
}

fn add_pod(node: &mut Rtnl, p: &PodNet) -> Result<(), HostError> {
    netns::add(&p.netns)?;
    let made = (|| {
        let name = p.netns.clone();
        let mut pod = netns::run_in(&p.netns, move || {
            netns::ipv4_only()?;
            Rtnl::here(&name)
        })??;
        let veth = veth_name(p.ip);
        node.add_veth(&veth, "eth0", netns::open(&p.netns)?.as_fd(), &p.netns)?;
        node.link_up(&veth)?;
        node.add_address(&veth, Ipv4Net::from(POD_GATEWAY))?;
        node.route(
            RouteOp::Replace,
            &Route::dev(Ipv4Net::from(p.ip), &veth).src(POD_GATEWAY),
        )?;
        pod.link_up("lo")?;
        pod.add_address("eth0", Ipv4Net::from(p.ip))?;
        pod.link_up("eth0")?;
        pod.route(RouteOp::Add, &Route::dev(Ipv4Net::from(POD_GATEWAY), "eth0"))?;
        pod.route(RouteOp::Add, &Route::via(Ipv4Net::default(), POD_GATEWAY, "eth0"))?;
        spawn_pod(p)
    })();
    if made.is_err() {
        remove_pod(&p.netns);
    }
    made
}

/// The pod's command, in its namespace with its own hostname. A thread
/// reaps it when it ends (a pod whose command exits is "Completed").
fn spawn_pod(p: &PodNet) -> Result<(), HostError> {
    if let Some(dir) = p.log.parent() {
        std::fs::create_dir_all(dir).map_err(HostError::io(format!("create {}", dir.display())))?;
    }
    let log = std::fs::File::create(&p.log).map_err(HostError::io(format!("create {}", p.log.display())))?;
    let err = log.try_clone().map_err(HostError::io("duplicate the pod log"))?;
    let mut cmd = Command::new("unshare");
    cmd.args(["--uts", "--", "sh", "-c", "hostname \"$0\" && exec \"$@\"", &p.name])
        .args(&p.command);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.stdin(Stdio::null()).stdout(log).stderr(err);
    let mut child = netns::spawn_in(&p.netns, cmd, &format!("pod {}", p.name))?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

fn remove_pod(pod_ns: &str) {
    // The veth's node end goes with the namespace, and its route with it.
    kill_all(pod_ns);
    let _ = netns::delete(pod_ns);
}

/// The namespaces of a node's pods (for teardown).
pub fn namespaces(n: &NodeNet) -> impl Iterator<Item = String> + '_ {
    n.pods.iter().map(|p| p.netns.clone())
}

fn set_mesh(node: &mut Rtnl, n: &NodeNet) -> Result<(), HostError> {
    // Rebuilt whole: a mesh changes rarely, and a fresh device leaves no
    // stale FDB entry or route behind.
    node.delete_link(MESH_DEV)?;
    let Some(m) = &n.mesh else { return Ok(()) };
    node.add_vxlan(&Vxlan {
        name: MESH_DEV,
        vni: MESH_VNI,
        port: m.port,
        local: m.local,
        dev: "eth0",
        mac: mesh_mac(m.local),
        mtu: MESH_MTU,
    })?;
    node.add_address(MESH_DEV, Ipv4Net::from(n.slice.network()))?;
    node.link_up(MESH_DEV)?;
    for (slice, peer) in &m.peers {
        let gw = slice.network();
        node.neighbour_replace(MESH_DEV, gw, mesh_mac(*peer))?;
        node.route(RouteOp::Replace, &Route::via(*slice, gw, MESH_DEV).onlink())?;
    }
    for (_, peer) in &m.peers {
        node.fdb_append(MESH_DEV, mesh_mac(*peer), *peer)?;
    }
    Ok(())
}
