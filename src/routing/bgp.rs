//! Route Server's BGP in pure form: which learned paths become VNet routes,
//! and what Route Server announces to its NVAs (azure-semantics-2 §3.3).
//!
//! The live lab's speakers (FRR's bgpd) hold the sessions; what they learn
//! lands in `RouteServer::learned` and is selected here, so `explain`, the
//! az front and the packet path all see the same routes.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{Hop, gateway_context};
use crate::model::{LearnedRoute, Model, RouteServer};

/// One prefix Route Server programs, with the next hops flows spread over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub prefix: Ipv4Net,
    /// The NVAs' addresses, sorted: one flow keeps one of them (ECMP).
    pub next_hops: Vec<Ipv4Addr>,
}

/// The paths Route Server `rs` holds: what its speakers learned, and what
/// a topology file says a peer announces (`advertisedPrefixes`: a path
/// whose AS path is the peer's ASN).
pub fn paths(rs: &RouteServer) -> Vec<LearnedRoute> {
    let configured = rs.peerings.iter().flat_map(|p| {
        p.advertised_prefixes.iter().map(|prefix| LearnedRoute {
            instance: 0,
            prefix: *prefix,
            next_hop: p.peer_ip,
            source_peer: p.peer_ip,
            as_path: vec![p.peer_asn],
            no_advertise: false,
        })
    });
    rs.learned.iter().cloned().chain(configured).collect()
}

/// Azure's choice among paths to the same prefix: the shortest AS path
/// wins; paths of equal length give one next hop each, and the VMs spread
/// flows over them (ECMP).
// Azure: Route Server FAQ "If Azure Route Server receives the same route
// from more than one NVA…" and troubleshoot-route-server.md (§3.3).
// NO_ADVERTISE does not matter here: such a route is programmed, only not
// re-advertised, which the speakers do themselves.
pub fn select(paths: &[LearnedRoute]) -> Vec<Selected> {
    let mut best: BTreeMap<(u32, u8), (usize, Vec<Ipv4Addr>)> = BTreeMap::new();
    for p in paths {
        let key = (u32::from(p.prefix.network()), p.prefix.prefix_len());
        let len = p.as_path.len();
        let entry = best.entry(key).or_insert((len, Vec::new()));
        if len < entry.0 {
            *entry = (len, Vec::new());
        }
        if len == entry.0 && !entry.1.contains(&p.next_hop) {
            entry.1.push(p.next_hop);
        }
    }
    best.into_iter()
        .filter_map(|((net, len), (_, mut hops))| {
            hops.sort();
            Some(Selected {
                prefix: Ipv4Net::new(Ipv4Addr::from(net), len).ok()?,
                next_hops: hops,
            })
        })
        .collect()
}

/// What Route Server passes on to the VPN gateway in its VNet, which the
/// gateway then carries to its sites: nothing unless branch-to-branch is
/// on; then the NVAs' routes, chosen as for the VMs, less those marked
/// NO_ADVERTISE (kept from every other BGP peer, gateways included).
// Azure: Route Server FAQ and expressroute-vpn-support.md — "routes
// between NVAs and the VPN gateway" only with allowBranchToBranchTraffic
// (azure-semantics-2 §3.4); NO_ADVERTISE towards gateways §3.1.
pub fn to_gateway(rs: &RouteServer) -> Vec<Selected> {
    if !rs.allow_branch_to_branch_traffic {
        return vec![];
    }
    let passed: Vec<LearnedRoute> = paths(rs).into_iter().filter(|p| !p.no_advertise).collect();
    select(&passed)
}

/// What Route Server announces to every NVA (§3.3): its VNet's ranges and
/// those of the spokes that use it as remote gateway; with branch-to-branch
/// on, also what the VNet's VPN gateway reaches.
pub fn advertised(model: &Model, rs: &RouteServer) -> Vec<Ipv4Net> {
    let Some(vnet) = rs.hosted_subnet.parent() else {
        return vec![];
    };
    let mut out: Vec<Ipv4Net> = Vec::new();
    for (prefix, hop) in gateway_context(model, &vnet) {
        let keep = match hop {
            Hop::VnetLocal { .. } | Hop::Peering { .. } => true,
            Hop::Site { .. } | Hop::Vnet2Vnet { .. } => rs.allow_branch_to_branch_traffic,
            _ => false,
        };
        if keep && !out.contains(&prefix) {
            out.push(prefix);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(prefix: &str, hop: [u8; 4], as_path: &[u32]) -> LearnedRoute {
        LearnedRoute {
            instance: 0,
            prefix: prefix.parse().unwrap(),
            next_hop: Ipv4Addr::from(hop),
            source_peer: Ipv4Addr::from(hop),
            as_path: as_path.to_vec(),
            no_advertise: false,
        }
    }

    #[test]
    fn shorter_as_path_wins_alone() {
        let paths = [
            path("192.168.100.0/24", [10, 0, 2, 4], &[65001]),
            path("192.168.100.0/24", [10, 0, 2, 5], &[65002, 65002, 65002]),
        ];
        let got = select(&paths);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].next_hops, vec![Ipv4Addr::new(10, 0, 2, 4)]);
    }

    #[test]
    fn equal_as_paths_give_ecmp_whatever_the_order() {
        let a = path("192.168.100.0/24", [10, 0, 2, 5], &[65002]);
        let b = path("192.168.100.0/24", [10, 0, 2, 4], &[65001]);
        let want = vec![Ipv4Addr::new(10, 0, 2, 4), Ipv4Addr::new(10, 0, 2, 5)];
        assert_eq!(select(&[a.clone(), b.clone()])[0].next_hops, want);
        assert_eq!(select(&[b, a])[0].next_hops, want);
    }

    #[test]
    fn a_longer_path_seen_first_is_replaced() {
        let paths = [
            path("10.9.0.0/16", [10, 0, 2, 5], &[65002, 65002]),
            path("10.9.0.0/16", [10, 0, 2, 4], &[65001]),
        ];
        assert_eq!(select(&paths)[0].next_hops, vec![Ipv4Addr::new(10, 0, 2, 4)]);
    }

    #[test]
    fn both_instances_learning_one_path_give_one_next_hop() {
        let mut other = path("10.9.0.0/16", [10, 0, 2, 4], &[65001]);
        other.instance = 1;
        let paths = [path("10.9.0.0/16", [10, 0, 2, 4], &[65001]), other];
        assert_eq!(select(&paths)[0].next_hops, vec![Ipv4Addr::new(10, 0, 2, 4)]);
    }

    #[test]
    fn prefixes_are_selected_apart() {
        let paths = [
            path("10.9.0.0/16", [10, 0, 2, 4], &[65001]),
            path("10.9.0.0/24", [10, 0, 2, 5], &[65002, 65002]),
        ];
        let got = select(&paths);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|s| s.next_hops.len() == 1));
    }
}
