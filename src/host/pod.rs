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
//! - A cluster mesh is one VXLAN device `vxmesh` per node (UDP 8472, as
//!   Cilium): a static FDB entry and neighbour per remote node, and a
//!   route for each remote node's pod /24 through it. Only the outer
//!   node-to-node UDP crosses the fabric, so the tunnel works exactly
//!   where node-to-node traffic does.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use super::{HostError, kill_all, netns};

/// The node's end of every pod veth (link-local, as Calico and Azure CNI
/// do it): the pods' default gateway.
pub const POD_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
const MESH_DEV: &str = "vxmesh";
const MESH_VNI: &str = "1";
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
    /// The node's own address (the tunnel's local end).
    pub local: Ipv4Addr,
    /// Remote nodes of meshed clusters: their /24 and their address.
    pub peers: Vec<(Ipv4Net, Ipv4Addr)>,
}

/// A stable locally administered MAC for a node's tunnel end, so every
/// peer can name it without asking.
fn mesh_mac(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:4d:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// The node-side veth of a pod: `azv` and 8 hex digits of its address.
fn veth_name(ip: Ipv4Addr) -> String {
    format!("azv{:08x}", u32::from(ip))
}

/// Brings a node from `old` to `new`: first set-up, pods added and
/// removed, the mesh rebuilt when it changed.
pub fn sync(node_ns: &str, old: Option<&NodeNet>, new: &NodeNet) -> Result<(), HostError> {
    if old.is_none() {
        setup_node(node_ns, new)?;
    }
    let had: &[PodNet] = old.map_or(&[], |o| &o.pods);
    for p in had.iter().filter(|p| !new.pods.contains(p)) {
        remove_pod(&p.netns);
    }
    for p in new.pods.iter().filter(|p| !had.contains(p)) {
        add_pod(node_ns, p)?;
    }
    if old.map(|o| &o.mesh) != Some(&new.mesh) {
        set_mesh(node_ns, new)?;
    }
    Ok(())
}

fn setup_node(ns: &str, n: &NodeNet) -> Result<(), HostError> {
    netns::ip_batch(ns, &format!("route replace blackhole {}\n", n.slice))?;
    let rules = format!(
        "table ip {NFT_TABLE} {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    ip saddr {pods} ip daddr != {pods} oifname \"eth0\" masquerade\n  }}\n}}\n",
        pods = n.pod_cidr
    );
    nft(ns, &rules)
}

fn nft(ns: &str, rules: &str) -> Result<(), HostError> {
    netns::feed(
        Command::new("ip").args(["netns", "exec", ns, "nft", "-f", "-"]),
        &format!("nft -f - in {ns} (nftables, which scripts/setup installs)"),
        rules,
    )
}

fn add_pod(node_ns: &str, p: &PodNet) -> Result<(), HostError> {
    netns::add(&p.netns)?;
    let made = (|| {
        netns::run_in(&p.netns, netns::ipv4_only)??;
        let veth = veth_name(p.ip);
        netns::ip(&[
            "-n", node_ns, "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &p.netns,
        ])?;
        netns::ip_batch(
            node_ns,
            &format!(
                "link set {veth} up\naddr add {POD_GATEWAY}/32 dev {veth}\nroute replace {}/32 dev {veth} src {POD_GATEWAY}\n",
                p.ip
            ),
        )?;
        netns::ip_batch(
            &p.netns,
            &format!(
                "link set lo up\naddr add {}/32 dev eth0\nlink set eth0 up\nroute add {POD_GATEWAY} dev eth0 scope link\nroute add default via {POD_GATEWAY} dev eth0\n",
                p.ip
            ),
        )?;
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
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &p.netns,
        "unshare",
        "--uts",
        "--",
        "sh",
        "-c",
        "hostname \"$0\" && exec \"$@\"",
        &p.name,
    ])
    .args(&p.command);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| HostError::Spawn {
            what: format!("pod {}", p.name),
            source: e,
        })?;
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

fn set_mesh(ns: &str, n: &NodeNet) -> Result<(), HostError> {
    // Rebuilt whole: a mesh changes rarely, and a fresh device leaves no
    // stale FDB entry or route behind.
    let _ = netns::ip(&["-n", ns, "link", "del", MESH_DEV]);
    let Some(m) = &n.mesh else { return Ok(()) };
    let vtep = n.slice.network();
    let mut batch = format!(
        "link add {MESH_DEV} type vxlan id {MESH_VNI} dstport {port} local {local} dev eth0 nolearning\nlink set {MESH_DEV} address {mac} mtu 1450\naddr add {vtep}/32 dev {MESH_DEV}\nlink set {MESH_DEV} up\n",
        port = crate::dataplane::overlay::MESH_VXLAN_PORT,
        local = m.local,
        mac = mesh_mac(m.local),
    );
    let mut fdb = String::new();
    for (slice, node) in &m.peers {
        let gw = slice.network();
        batch.push_str(&format!("neigh replace {gw} lladdr {} dev {MESH_DEV} nud permanent\nroute replace {slice} via {gw} dev {MESH_DEV} onlink\n", mesh_mac(*node)));
        fdb.push_str(&format!(
            "fdb append {} dev {MESH_DEV} dst {node} self permanent\n",
            mesh_mac(*node)
        ));
    }
    netns::ip_batch(ns, &batch)?;
    if fdb.is_empty() {
        return Ok(());
    }
    bridge_batch(ns, &fdb)
}

fn bridge_batch(ns: &str, commands: &str) -> Result<(), HostError> {
    netns::feed(
        Command::new("bridge").args(["-n", ns, "-batch", "-"]),
        &format!("bridge -n {ns} -batch -"),
        commands,
    )
}
