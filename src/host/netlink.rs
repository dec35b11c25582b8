//! Typed rtnetlink requests: links, addresses, routes, neighbours and FDB
//! entries, each sent on a synchronous socket and answered by an ACK.
//!
//! A netlink socket belongs to the namespace it was opened in, whichever
//! thread uses it later, so one socket per namespace serves a whole build.
//! This replaces one `ip`/`bridge` process per step (about 1.7 ms each),
//! and each failure names the operation, the object, the namespace and the
//! errno instead of iproute2's "Command failed -:2".

use std::fmt;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd};

use ipnet::Ipv4Net;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::constants::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};
use nix::errno::Errno;

use super::{HostError, netns};

/// Big enough for any answer to the requests below (an ACK carries the
/// request back; a link's description is a few KB).
const RECV_BUF: usize = 64 * 1024;

/// An rtnetlink socket in one namespace.
pub struct Rtnl {
    socket: Socket,
    ns: String,
    seq: u32,
    buf: Vec<u8>,
}

impl fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rtnl").field("ns", &self.ns).finish_non_exhaustive()
    }
}

/// How a route request treats an existing route to the same prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteOp {
    /// Fails with EEXIST if there is one (`ip route add`).
    Add,
    /// Takes its place (`ip route replace`).
    Replace,
    Delete,
}

/// An IPv4 route in the main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Net,
    pub via: Option<Ipv4Addr>,
    pub dev: Option<String>,
    pub src: Option<Ipv4Addr>,
    /// The gateway is on the link even though no address says so.
    pub onlink: bool,
    /// Drops what it matches.
    pub blackhole: bool,
}

impl Route {
    /// `dst dev DEV`: on the link, no gateway.
    pub fn dev(dst: Ipv4Net, dev: &str) -> Route {
        Route {
            dst,
            via: None,
            dev: Some(dev.to_string()),
            src: None,
            onlink: false,
            blackhole: false,
        }
    }

    /// `dst via GW dev DEV`.
    pub fn via(dst: Ipv4Net, via: Ipv4Addr, dev: &str) -> Route {
        Route {
            via: Some(via),
            ..Route::dev(dst, dev)
        }
    }

    pub fn blackhole(dst: Ipv4Net) -> Route {
        Route {
            dst,
            via: None,
            dev: None,
            src: None,
            onlink: false,
            blackhole: true,
        }
    }

    pub fn src(self, src: Ipv4Addr) -> Route {
        Route { src: Some(src), ..self }
    }

    pub fn onlink(self) -> Route {
        Route { onlink: true, ..self }
    }
}

/// As `ip route` writes it, so that errors read like the command they replace.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.blackhole {
            f.write_str("blackhole ")?;
        }
        if self.dst.prefix_len() == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

/// A VXLAN device with a static forwarding table (no learning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vxlan<'a> {
    pub name: &'a str,
    pub vni: u32,
    /// The UDP port of the outer packets.
    pub port: u16,
    /// The tunnel's local end, and the device its packets leave by.
    pub local: Ipv4Addr,
    pub dev: &'a str,
    pub mac: [u8; 6],
    pub mtu: u32,
}

fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

impl Rtnl {
    /// A socket in the calling thread's namespace, which errors call `ns`.
    pub fn here(ns: &str) -> Result<Rtnl, HostError> {
        let io = || HostError::io(format!("open a netlink socket in {ns}"));
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io())?;
        socket.bind_auto().map_err(io())?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(io())?;
        Ok(Rtnl {
            socket,
            ns: ns.to_string(),
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// A socket in the named namespace, usable from any thread.
    pub fn open(ns: &str) -> Result<Rtnl, HostError> {
        let name = ns.to_string();
        netns::run_in(ns, move || Rtnl::here(&name))?
    }

    /// Sends one request and collects what comes back until its ACK.
    fn request(
        &mut self,
        flags: u16,
        msg: RouteNetlinkMessage,
        op: &dyn Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>, HostError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut req = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        req.finalize();
        let mut out = vec![0; req.buffer_len()];
        req.serialize(&mut out);
        let io = |e| HostError::Io {
            what: format!("{} in {} (netlink)", op(), self.ns),
            source: e,
        };
        self.socket.send(&out, 0).map_err(io)?;
        let mut replies = Vec::new();
        loop {
            self.buf.clear();
            self.socket.recv(&mut self.buf, 0).map_err(io)?;
            let mut at = 0;
            while at < self.buf.len() {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[at..]).map_err(|e| {
                    io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("undecodable answer: {e}"),
                    ))
                })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                at += (len + 3) & !3;
                if msg.header.sequence_number != self.seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(replies),
                            Some(code) => Err(HostError::Netlink {
                                op: op(),
                                ns: self.ns.clone(),
                                errno: Errno::from_raw(-code.get()),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    _ => {}
                }
            }
        }
    }

    /// The index of device `name`.
    pub fn index(&mut self, name: &str) -> Result<u32, HostError> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = || format!("find device {name}");
        let replies = self.request(0, RouteNetlinkMessage::GetLink(m), &op)?;
        replies
            .into_iter()
            .find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })
            .ok_or_else(|| HostError::Netlink {
                op: op(),
                ns: self.ns.clone(),
                errno: Errno::ENODEV,
            })
    }

    /// `ip link set DEV up`.
    pub fn link_up(&mut self, dev: &str) -> Result<(), HostError> {
        self.set_state(dev, true)
    }

    /// `ip link set DEV down`.
    pub fn link_down(&mut self, dev: &str) -> Result<(), HostError> {
        self.set_state(dev, false)
    }

    fn set_state(&mut self, dev: &str, up: bool) -> Result<(), HostError> {
        let mut m = LinkMessage::default();
        if up {
            m.header.flags = LinkFlags::Up;
        }
        m.header.change_mask = LinkFlags::Up;
        m.attributes.push(LinkAttribute::IfName(dev.to_string()));
        let state = if up { "up" } else { "down" };
        self.request(0, RouteNetlinkMessage::NewLink(m), &|| format!("set {dev} {state}"))
            .map(drop)
    }

    /// `ip link set DEV mtu MTU`.
    pub fn set_mtu(&mut self, dev: &str, mtu: u32) -> Result<(), HostError> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(dev.to_string()));
        m.attributes.push(LinkAttribute::Mtu(mtu));
        self.request(0, RouteNetlinkMessage::NewLink(m), &|| {
            format!("set the MTU of {dev} to {mtu}")
        })
        .map(drop)
    }

    /// A veth pair: `name` here, `peer` in the namespace `peer_ns` (an open
    /// `/run/netns/…` file, named `peer_ns_name` in errors).
    pub fn add_veth(
        &mut self,
        name: &str,
        peer: &str,
        peer_ns: BorrowedFd<'_>,
        peer_ns_name: &str,
    ) -> Result<(), HostError> {
        let mut other = LinkMessage::default();
        other.attributes.push(LinkAttribute::IfName(peer.to_string()));
        other.attributes.push(LinkAttribute::NetNsFd(peer_ns.as_raw_fd()));
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(other))),
        ]));
        self.request(NLM_F_CREATE | NLM_F_EXCL, RouteNetlinkMessage::NewLink(m), &|| {
            format!("add veth {name} (peer {peer} in {peer_ns_name})")
        })
        .map(drop)
    }

    /// `ip link add NAME type vxlan id VNI dstport PORT local IP dev DEV
    /// nolearning`, with its MAC address and MTU.
    pub fn add_vxlan(&mut self, v: &Vxlan<'_>) -> Result<(), HostError> {
        let dev = self.index(v.dev)?;
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(v.name.to_string()));
        m.attributes.push(LinkAttribute::Address(v.mac.to_vec()));
        m.attributes.push(LinkAttribute::Mtu(v.mtu));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Vxlan),
            LinkInfo::Data(InfoData::Vxlan(vec![
                InfoVxlan::Id(v.vni),
                InfoVxlan::Port(v.port),
                InfoVxlan::Local(v.local),
                InfoVxlan::Link(dev),
                InfoVxlan::Learning(false),
            ])),
        ]));
        self.request(NLM_F_CREATE | NLM_F_EXCL, RouteNetlinkMessage::NewLink(m), &|| {
            format!(
                "add vxlan {} id {} dstport {} local {} dev {}",
                v.name, v.vni, v.port, v.local, v.dev
            )
        })
        .map(drop)
    }

    /// Deletes device `name`; one that does not exist is not an error.
    pub fn delete_link(&mut self, name: &str) -> Result<(), HostError> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(0, RouteNetlinkMessage::DelLink(m), &|| format!("delete device {name}")) {
            Err(HostError::Netlink {
                errno: Errno::ENODEV, ..
            }) => Ok(()),
            r => r.map(drop),
        }
    }

    /// `ip addr add ADDR/LEN dev DEV`.
    pub fn add_address(&mut self, dev: &str, addr: Ipv4Net) -> Result<(), HostError> {
        let index = self.index(dev)?;
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = addr.prefix_len();
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(addr.addr().into()));
        m.attributes.push(AddressAttribute::Address(addr.addr().into()));
        self.request(NLM_F_CREATE | NLM_F_EXCL, RouteNetlinkMessage::NewAddress(m), &|| {
            format!("add address {addr} dev {dev}")
        })
        .map(drop)
    }

    /// Adds, replaces or deletes `r`, with the defaults `ip route` uses.
    pub fn route(&mut self, op: RouteOp, r: &Route) -> Result<(), HostError> {
        let oif = match &r.dev {
            Some(dev) => Some(self.index(dev)?),
            None => None,
        };
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = r.dst.prefix_len();
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        (m.header.protocol, m.header.scope, m.header.kind) = match (op, r.blackhole, r.via) {
            // A delete matches whatever scope, type and origin the route has.
            (RouteOp::Delete, ..) => (RouteProtocol::Unspec, RouteScope::NoWhere, RouteType::Unspec),
            (_, true, _) => (RouteProtocol::Boot, RouteScope::Universe, RouteType::BlackHole),
            (_, false, None) => (RouteProtocol::Boot, RouteScope::Link, RouteType::Unicast),
            (_, false, Some(_)) => (RouteProtocol::Boot, RouteScope::Universe, RouteType::Unicast),
        };
        if r.onlink {
            m.header.flags = RouteFlags::Onlink;
        }
        if r.dst.prefix_len() > 0 {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(r.dst.network())));
        }
        if let Some(via) = r.via {
            m.attributes.push(RouteAttribute::Gateway(RouteAddress::Inet(via)));
        }
        if let Some(oif) = oif {
            m.attributes.push(RouteAttribute::Oif(oif));
        }
        if let Some(src) = r.src {
            m.attributes.push(RouteAttribute::PrefSource(RouteAddress::Inet(src)));
        }
        let (flags, msg, verb) = match op {
            RouteOp::Add => (NLM_F_CREATE | NLM_F_EXCL, RouteNetlinkMessage::NewRoute(m), "add"),
            RouteOp::Replace => (
                NLM_F_CREATE | NLM_F_REPLACE,
                RouteNetlinkMessage::NewRoute(m),
                "replace",
            ),
            RouteOp::Delete => (0, RouteNetlinkMessage::DelRoute(m), "delete"),
        };
        self.request(flags, msg, &|| format!("{verb} route {r}")).map(drop)
    }

    /// `ip neigh replace IP lladdr MAC dev DEV nud permanent`.
    pub fn neighbour_replace(&mut self, dev: &str, ip: Ipv4Addr, mac: [u8; 6]) -> Result<(), HostError> {
        let index = self.index(dev)?;
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = index;
        m.header.state = NeighbourState::Permanent;
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)));
        m.attributes.push(NeighbourAttribute::LinkLocalAddress(mac.to_vec()));
        self.request(
            NLM_F_CREATE | NLM_F_REPLACE,
            RouteNetlinkMessage::NewNeighbour(m),
            &|| format!("replace neighbour {ip} lladdr {} dev {dev}", mac_text(&mac)),
        )
        .map(drop)
    }

    /// `bridge fdb append MAC dev DEV dst IP self permanent`: the device
    /// sends frames for `mac` to the tunnel end `dst`.
    pub fn fdb_append(&mut self, dev: &str, mac: [u8; 6], dst: Ipv4Addr) -> Result<(), HostError> {
        let index = self.index(dev)?;
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Bridge;
        m.header.ifindex = index;
        m.header.state = NeighbourState::Permanent;
        m.header.flags = NeighbourFlags::Own;
        m.attributes.push(NeighbourAttribute::LinkLocalAddress(mac.to_vec()));
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(dst)));
        self.request(
            NLM_F_CREATE | NLM_F_APPEND,
            RouteNetlinkMessage::NewNeighbour(m),
            &|| format!("append fdb {} dev {dev} dst {dst}", mac_text(&mac)),
        )
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "root-tests")]
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn routes_read_like_ip_route() {
        let net = |s: &str| s.parse::<Ipv4Net>().unwrap();
        let gw = Ipv4Addr::new(10, 1, 1, 1);
        assert_eq!(
            Route::via(net("10.1.0.0/16"), gw, "eth0").to_string(),
            "10.1.0.0/16 via 10.1.1.1 dev eth0"
        );
        assert_eq!(
            Route::via(net("0.0.0.0/0"), gw, "eth0").onlink().to_string(),
            "default via 10.1.1.1 dev eth0 onlink"
        );
        assert_eq!(
            Route::dev(net("10.2.0.0/24"), "vti0").src(gw).to_string(),
            "10.2.0.0/24 dev vti0 src 10.1.1.1"
        );
        assert_eq!(
            Route::blackhole(net("10.244.1.0/24")).to_string(),
            "blackhole 10.244.1.0/24"
        );
    }

    #[test]
    fn errors_name_operation_namespace_and_errno() {
        let e = HostError::Netlink {
            op: "add route 10.1.0.0/16 via 10.1.1.1 dev eth0".into(),
            ns: "vnl-x.SalesVM".into(),
            errno: Errno::EEXIST,
        };
        assert_eq!(
            e.to_string(),
            "add route 10.1.0.0/16 via 10.1.1.1 dev eth0 in vnl-x.SalesVM: File exists (EEXIST)"
        );
    }

    #[test]
    fn macs_read_like_ip_link() {
        assert_eq!(mac_text(&[0x02, 0x4d, 10, 0, 0, 255]), "02:4d:0a:00:00:ff");
    }

    /// Deletes the namespaces it names when dropped, even on failure.
    #[cfg(feature = "root-tests")]
    struct Namespaces(Vec<String>);

    #[cfg(feature = "root-tests")]
    impl Drop for Namespaces {
        fn drop(&mut self) {
            for ns in &self.0 {
                let _ = netns::delete(ns);
            }
        }
    }

    /// Every request against a real kernel, in two throwaway namespaces.
    #[cfg(feature = "root-tests")]
    #[test]
    fn requests_against_the_kernel() {
        let tag = std::process::id();
        let (a, b) = (format!("vnl-hosttest{tag}.a"), format!("vnl-hosttest{tag}.b"));
        let _guard = Namespaces(vec![a.clone(), b.clone()]);
        netns::add(&a).unwrap();
        netns::add(&b).unwrap();
        assert!(netns::list().contains(&a) && netns::exists(&b));
        let net = |s: &str| s.parse::<Ipv4Net>().unwrap();

        let mut ra = Rtnl::open(&a).unwrap();
        let mut rb = Rtnl::open(&b).unwrap();
        ra.link_up("lo").unwrap();
        ra.add_veth("lan0", "eth0", netns::open(&b).unwrap().as_fd(), &b)
            .unwrap();
        ra.add_address("lan0", net("192.168.10.1/24")).unwrap();
        ra.link_up("lan0").unwrap();
        ra.set_mtu("lan0", 1400).unwrap();
        rb.add_address("eth0", net("192.168.10.10/24")).unwrap();
        rb.link_up("eth0").unwrap();
        let default = Route::via(Ipv4Net::default(), Ipv4Addr::new(192, 168, 10, 1), "eth0");
        rb.route(RouteOp::Add, &default).unwrap();
        let again = rb.route(RouteOp::Add, &default).unwrap_err();
        assert_eq!(
            again.to_string(),
            format!("add route default via 192.168.10.1 dev eth0 in {b}: File exists (EEXIST)")
        );
        rb.route(RouteOp::Replace, &default.clone().onlink()).unwrap();
        rb.route(RouteOp::Delete, &default).unwrap();
        let missing = ra.add_address("nosuch0", net("10.0.0.1/8")).unwrap_err();
        assert_eq!(
            missing.to_string(),
            format!("find device nosuch0 in {a}: No such device (ENODEV)")
        );

        ra.route(RouteOp::Replace, &Route::blackhole(net("10.244.1.0/24")))
            .unwrap();
        ra.route(
            RouteOp::Replace,
            &Route::dev(net("10.10.0.0/16"), "lan0").src(Ipv4Addr::new(192, 168, 10, 1)),
        )
        .unwrap();
        let mac = [0x02, 0x4d, 10, 0, 0, 5];
        let vx = Vxlan {
            name: "vxmesh",
            vni: 1,
            port: 8472,
            local: Ipv4Addr::new(192, 168, 10, 1),
            dev: "lan0",
            mac,
            mtu: 1350,
        };
        ra.add_vxlan(&vx).unwrap();
        ra.link_up("vxmesh").unwrap();
        ra.neighbour_replace("vxmesh", Ipv4Addr::new(10, 244, 2, 0), mac)
            .unwrap();
        ra.fdb_append("vxmesh", mac, Ipv4Addr::new(192, 168, 10, 10)).unwrap();
        ra.route(
            RouteOp::Replace,
            &Route::via(net("10.244.2.0/24"), Ipv4Addr::new(10, 244, 2, 0), "vxmesh").onlink(),
        )
        .unwrap();
        let shown = |ns: &str, args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(["-n", ns])
                .args(args)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let link = shown(&a, &["-d", "link", "show", "vxmesh"]);
        assert!(link.contains("vxlan id 1") && link.contains("dstport 8472"), "{link}");
        assert!(
            link.contains("mtu 1350") && link.contains("02:4d:0a:00:00:05"),
            "{link}"
        );
        assert!(link.contains("nolearning"), "{link}");
        let fdb = std::process::Command::new("bridge")
            .args(["-n", &a, "fdb", "show", "dev", "vxmesh"])
            .output()
            .unwrap();
        let fdb = String::from_utf8_lossy(&fdb.stdout);
        assert!(
            fdb.contains("02:4d:0a:00:00:05 dst 192.168.10.10 self permanent"),
            "{fdb}"
        );
        let routes = shown(&a, &["route"]);
        assert!(routes.contains("blackhole 10.244.1.0/24"), "{routes}");
        assert!(
            routes.contains("10.10.0.0/16 dev lan0 scope link src 192.168.10.1"),
            "{routes}"
        );
        assert!(
            routes.contains("10.244.2.0/24 via 10.244.2.0 dev vxmesh onlink"),
            "{routes}"
        );
        assert!(shown(&b, &["addr"]).contains("inet 192.168.10.10/24"));
        assert!(shown(&a, &["link", "show", "lan0"]).contains("mtu 1400"));
        ra.link_down("lan0").unwrap();
        assert!(!shown(&a, &["link", "show", "lan0"]).contains(",UP"));
        ra.link_up("lan0").unwrap();
        assert!(shown(&a, &["link", "show", "lan0"]).contains(",UP"));
        ra.delete_link("vxmesh").unwrap();
        ra.delete_link("vxmesh").unwrap();

        // A process started in a namespace is in it, and the /proc scan finds it.
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30");
        let mut child = netns::spawn_in(&b, cmd, "sleep").unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let found = netns::processes_in(&[a.clone(), b.clone()]);
        assert_eq!(found, vec![(pid, 1)]);
        assert_eq!(super::super::kill_all_in(&[a.clone(), b.clone()]), 1);
        let _ = child.wait();

        netns::delete(&a).unwrap();
        netns::delete(&a).unwrap();
        assert!(!netns::exists(&a));
    }
}
