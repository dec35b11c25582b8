//! Route selection (azure-semantics §2, §3), table-driven, through
//! `vnetlab::routing::effective_routes`.

use vnetlab::model::{DEFAULT_SUBSCRIPTION_ID, Model, NextHopType, ResourceId};
use vnetlab::routing::{EffectiveRoute, RouteSource, RouteState, effective_routes};
use vnetlab::topology::Topology;

use NextHopType as H;
use RouteSource as S;
use RouteState::{Active as A, Invalid as I};

const RG: &str = "lab-rg";

fn build(yaml: &str) -> Model {
    Topology::parse(yaml)
        .unwrap_or_else(|e| panic!("parse: {e}"))
        .build()
        .unwrap_or_else(|e| panic!("build: {e}\n{yaml}"))
}

fn subnet(vnet: &str, name: &str) -> ResourceId {
    ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "virtualNetworks", vnet).child("subnets", name)
}

/// One VNet with `prefixes`, subnet `default` = `subnet_prefix`, and a route
/// table holding `udrs` (prefix, next hop type, next hop IP).
fn one_vnet(prefixes: &[&str], subnet_prefix: &str, udrs: &[(&str, &str, Option<&str>)]) -> Vec<EffectiveRoute> {
    let mut y = format!("resourceGroups: [{{name: {RG}, location: westeurope}}]\n");
    if !udrs.is_empty() {
        y += "routeTables:\n  - name: rt\n    routes:\n";
        for (i, (p, t, ip)) in udrs.iter().enumerate() {
            let ip = ip.map_or(String::new(), |ip| format!(", nextHopIpAddress: {ip}"));
            y += &format!("      - {{name: r{i}, addressPrefix: {p}, nextHopType: {t}{ip}}}\n");
        }
    }
    let rt = if udrs.is_empty() { "" } else { ", routeTable: rt" };
    y += &format!(
        "virtualNetworks:\n  - name: vnet\n    addressPrefixes: [{}]\n    subnets: [{{name: default, addressPrefix: {subnet_prefix}{rt}}}]\n",
        prefixes.join(", ")
    );
    let m = build(&y);
    effective_routes(&m, &subnet("vnet", "default"))
}

fn find<'r>(
    rows: &'r [EffectiveRoute],
    prefix: &str,
    source: RouteSource,
    hop: NextHopType,
) -> Vec<&'r EffectiveRoute> {
    let p: ipnet::Ipv4Net = prefix.parse().expect("prefix");
    rows.iter()
        .filter(|r| r.address_prefix == p && r.source == source && r.next_hop_type == hop)
        .collect()
}

type Row<'a> = (&'a str, RouteSource, NextHopType, RouteState);

struct Case<'a> {
    name: &'a str,
    vnet: &'a [&'a str],
    subnet: &'a str,
    udrs: &'a [(&'a str, &'a str, Option<&'a str>)],
    present: &'a [Row<'a>],
    absent: &'a [(&'a str, RouteSource, NextHopType)],
}

#[test]
fn route_selection_table() {
    let cases = [
        Case {
            name: "VNet equal to reserved 10/8: VnetLocal, no None row",
            vnet: &["10.0.0.0/8"],
            subnet: "10.1.0.0/24",
            udrs: &[],
            present: &[
                ("10.0.0.0/8", S::Default, H::VnetLocal, A),
                ("172.16.0.0/12", S::Default, H::None, A),
            ],
            absent: &[("10.0.0.0/8", S::Default, H::None)],
        },
        Case {
            name: "VNet containing reserved 192.168/16: None row gone",
            vnet: &["192.168.0.0/15"],
            subnet: "192.168.1.0/24",
            udrs: &[],
            present: &[
                ("192.168.0.0/15", S::Default, H::VnetLocal, A),
                ("10.0.0.0/8", S::Default, H::None, A),
            ],
            absent: &[("192.168.0.0/16", S::Default, H::None)],
        },
        Case {
            name: "VNet containing reserved 100.64/10: None row gone",
            vnet: &["100.0.0.0/9"],
            subnet: "100.64.1.0/24",
            udrs: &[],
            present: &[("100.0.0.0/9", S::Default, H::VnetLocal, A)],
            absent: &[("100.64.0.0/10", S::Default, H::None)],
        },
        Case {
            name: "VNet inside reserved 10/8: both rows",
            vnet: &["10.1.0.0/16"],
            subnet: "10.1.1.0/24",
            udrs: &[],
            present: &[
                ("10.1.0.0/16", S::Default, H::VnetLocal, A),
                ("10.0.0.0/8", S::Default, H::None, A),
                ("0.0.0.0/0", S::Default, H::Internet, A),
                ("172.16.0.0/12", S::Default, H::None, A),
                ("192.168.0.0/16", S::Default, H::None, A),
                ("100.64.0.0/10", S::Default, H::None, A),
            ],
            absent: &[],
        },
        Case {
            name: "UDR equal to the VNet range: system row Invalid, User Active",
            vnet: &["10.1.0.0/16"],
            subnet: "10.1.1.0/24",
            udrs: &[("10.1.0.0/16", "VirtualAppliance", Some("10.1.1.10"))],
            present: &[
                ("10.1.0.0/16", S::Default, H::VnetLocal, I),
                ("10.1.0.0/16", S::User, H::VirtualAppliance, A),
            ],
            absent: &[],
        },
        Case {
            name: "UDR equal to a reserved None prefix: Default None Invalid",
            vnet: &["10.1.0.0/16"],
            subnet: "10.1.1.0/24",
            udrs: &[("172.16.0.0/12", "VirtualAppliance", Some("10.1.1.10"))],
            present: &[
                ("172.16.0.0/12", S::Default, H::None, I),
                ("172.16.0.0/12", S::User, H::VirtualAppliance, A),
                ("10.0.0.0/8", S::Default, H::None, A),
            ],
            absent: &[],
        },
        Case {
            name: "UDR 0/0 VirtualAppliance: Default 0/0 Invalid, None rows removed",
            vnet: &["10.1.0.0/16"],
            subnet: "10.1.1.0/24",
            udrs: &[("0.0.0.0/0", "VirtualAppliance", Some("10.1.1.10"))],
            present: &[
                ("0.0.0.0/0", S::Default, H::Internet, I),
                ("0.0.0.0/0", S::User, H::VirtualAppliance, A),
                ("10.1.0.0/16", S::Default, H::VnetLocal, A),
            ],
            absent: &[
                ("10.0.0.0/8", S::Default, H::None),
                ("172.16.0.0/12", S::Default, H::None),
                ("192.168.0.0/16", S::Default, H::None),
                ("100.64.0.0/10", S::Default, H::None),
            ],
        },
        Case {
            name: "UDR 0/0 Internet keeps the None rows",
            vnet: &["10.1.0.0/16"],
            subnet: "10.1.1.0/24",
            udrs: &[("0.0.0.0/0", "Internet", None)],
            present: &[
                ("0.0.0.0/0", S::Default, H::Internet, I),
                ("0.0.0.0/0", S::User, H::Internet, A),
                ("10.0.0.0/8", S::Default, H::None, A),
                ("172.16.0.0/12", S::Default, H::None, A),
                ("192.168.0.0/16", S::Default, H::None, A),
                ("100.64.0.0/10", S::Default, H::None, A),
            ],
            absent: &[],
        },
        Case {
            name: "more specific UDR does not invalidate the broader system route",
            vnet: &["10.1.0.0/16"],
            subnet: "10.1.1.0/24",
            udrs: &[
                ("10.1.5.0/24", "VirtualAppliance", Some("10.1.1.10")),
                ("8.8.8.0/24", "None", None),
            ],
            present: &[
                ("10.1.0.0/16", S::Default, H::VnetLocal, A),
                ("10.1.5.0/24", S::User, H::VirtualAppliance, A),
                ("0.0.0.0/0", S::Default, H::Internet, A),
                ("8.8.8.0/24", S::User, H::None, A),
                ("10.0.0.0/8", S::Default, H::None, A),
            ],
            absent: &[],
        },
    ];
    for c in &cases {
        let rows = one_vnet(c.vnet, c.subnet, c.udrs);
        for (p, s, h, st) in c.present {
            let found = find(&rows, p, *s, *h);
            assert_eq!(found.len(), 1, "{}: expected one {s:?} {p} {h} row\n{rows:#?}", c.name);
            assert_eq!(found[0].state, *st, "{}: {s:?} {p} {h}\n{rows:#?}", c.name);
        }
        for (p, s, h) in c.absent {
            assert!(
                find(&rows, p, *s, *h).is_empty(),
                "{}: unexpected {s:?} {p} {h} row\n{rows:#?}",
                c.name
            );
        }
        // Exactly one VnetLocal row per VNet range, all system rows carry no name.
        for v in c.vnet {
            assert_eq!(find(&rows, v, S::Default, H::VnetLocal).len(), 1, "{}", c.name);
        }
        assert!(
            rows.iter().filter(|r| r.source == S::Default).all(|r| r.name.is_none()),
            "{}",
            c.name
        );
        assert!(
            rows.iter()
                .filter(|r| r.source == S::User)
                .all(|r| r.name.is_some() && r.route_table.is_some()),
            "{}",
            c.name
        );
    }
}

fn hub_spoke_gateway(lng_prefixes: &str) -> Model {
    build(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
routeTables:
  - name: rt-hub
    routes: [{{name: to-nva, addressPrefix: 10.9.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.10}}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: default, addressPrefix: 10.0.1.0/24, routeTable: rt-hub}}
      - {{name: GatewaySubnet, addressPrefix: 10.0.255.0/27}}
    peerings: [{{name: hub-to-spoke, remoteVirtualNetwork: spoke, allowVirtualNetworkAccess: true, allowGatewayTransit: true}}]
  - name: spoke
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24}}]
    peerings: [{{name: spoke-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, useRemoteGateways: true}}]
virtualNetworkGateways:
  - {{name: gw, vnet: hub, sku: VpnGw1}}
localNetworkGateways:
  - {{name: onprem, gatewayIpAddress: 192.0.2.10, localAddressPrefixes: [{lng_prefixes}]}}
connections:
  - {{name: conn, vnetGateway1: gw, localGateway2: onprem, sharedKey: abc123}}
"
    ))
}

#[test]
fn gateway_route_inside_peered_vnet_is_not_programmed() {
    // 10.1.0.0/24 lies inside the peered spoke's 10.1.0.0/16.
    let m = hub_spoke_gateway("192.168.100.0/24, 10.1.0.0/24");
    let rows = effective_routes(&m, &subnet("hub", "default"));
    assert_eq!(
        find(
            &rows,
            "192.168.100.0/24",
            S::VirtualNetworkGateway,
            H::VirtualNetworkGateway
        )
        .len(),
        1,
        "{rows:#?}"
    );
    assert!(
        find(&rows, "10.1.0.0/24", S::VirtualNetworkGateway, H::VirtualNetworkGateway).is_empty(),
        "{rows:#?}"
    );
    assert_eq!(
        find(&rows, "10.1.0.0/16", S::Default, H::VNetPeering).len(),
        1,
        "{rows:#?}"
    );
}

#[test]
fn route_server_learned_routes() {
    let m = build(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: RouteServerSubnet, addressPrefix: 10.0.0.0/27}}
      - {{name: default, addressPrefix: 10.0.1.0/24}}
    peerings: [{{name: hub-to-spoke, remoteVirtualNetwork: spoke, allowVirtualNetworkAccess: true, allowGatewayTransit: true}}]
  - name: spoke
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24}}]
    peerings: [{{name: spoke-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, useRemoteGateways: true}}]
routeServers:
  - name: rs
    vnet: hub
    peerings:
      - {{name: nva, peerIp: 10.0.1.10, peerAsn: 65001, advertisedPrefixes: [10.0.7.0/24, 10.1.0.0/24, 10.8.0.0/16, 10.0.0.0/8]}}
"
    ));
    for v in ["hub", "spoke"] {
        let rows = effective_routes(&m, &subnet(v, "default"));
        // Inside the VNet's own range or a peered range: not programmed (§7).
        assert!(
            find(&rows, "10.0.7.0/24", S::VirtualNetworkGateway, H::VirtualNetworkGateway).is_empty(),
            "{v}: {rows:#?}"
        );
        assert!(
            find(&rows, "10.1.0.0/24", S::VirtualNetworkGateway, H::VirtualNetworkGateway).is_empty(),
            "{v}: {rows:#?}"
        );
        let r = find(&rows, "10.8.0.0/16", S::VirtualNetworkGateway, H::VirtualNetworkGateway);
        assert_eq!(r.len(), 1, "{v}: {rows:#?}");
        assert_eq!(
            (r[0].state, r[0].next_hop_ips.clone()),
            (A, vec!["10.0.1.10".parse().expect("ip")]),
            "{v}: next hop is the NVA"
        );
        // A supernet is accepted; equal to the reserved 10/8 it beats the None route.
        assert_eq!(
            find(&rows, "10.0.0.0/8", S::VirtualNetworkGateway, H::VirtualNetworkGateway)[0].state,
            A,
            "{v}: {rows:#?}"
        );
        assert_eq!(
            find(&rows, "10.0.0.0/8", S::Default, H::None)[0].state,
            I,
            "{v}: {rows:#?}"
        );
    }
}

#[test]
fn gateway_route_more_specific_than_none_route_wins() {
    // 192.168.100.0/24 from the gateway vs the reserved 192.168/16 None.
    let m = hub_spoke_gateway("192.168.100.0/24");
    for (v, s) in [("hub", "default"), ("spoke", "default")] {
        let rows = effective_routes(&m, &subnet(v, s));
        let gw = find(
            &rows,
            "192.168.100.0/24",
            S::VirtualNetworkGateway,
            H::VirtualNetworkGateway,
        );
        assert_eq!(gw.len(), 1, "{v}: {rows:#?}");
        assert_eq!(gw[0].state, A);
        assert!(
            !gw[0].next_hop_ips.is_empty(),
            "{v}: gateway rows carry the instance IP"
        );
        assert_eq!(find(&rows, "192.168.0.0/16", S::Default, H::None)[0].state, A, "{v}");
    }
}

#[test]
fn row_order() {
    let m = hub_spoke_gateway("192.168.100.0/24");
    let rows = effective_routes(&m, &subnet("hub", "default"));
    let pos = |pred: &dyn Fn(&EffectiveRoute) -> bool| -> Vec<usize> {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| pred(r))
            .map(|(i, _)| i)
            .collect()
    };
    let local = pos(&|r| r.next_hop_type == H::VnetLocal && r.source == S::Default);
    let peering = pos(&|r| matches!(r.next_hop_type, H::VNetPeering | H::VNetGlobalPeering));
    let gateway = pos(&|r| r.source == S::VirtualNetworkGateway);
    let internet = pos(&|r| r.source == S::Default && r.next_hop_type == H::Internet);
    let none = pos(&|r| r.source == S::Default && r.next_hop_type == H::None);
    let user = pos(&|r| r.source == S::User);
    for (name, g) in [
        ("local", &local),
        ("peering", &peering),
        ("gateway", &gateway),
        ("internet", &internet),
        ("none", &none),
        ("user", &user),
    ] {
        assert!(!g.is_empty(), "no {name} row: {rows:#?}");
    }
    assert_eq!(local, vec![0], "VnetLocal first");
    let groups = [&local, &peering, &gateway, &internet, &none, &user];
    for w in groups.windows(2) {
        assert!(
            w[0].iter().max() < w[1].iter().min(),
            "order VnetLocal, peering, gateway, Internet, None, User: {rows:#?}"
        );
    }
    assert_eq!(*user.iter().max().expect("user"), rows.len() - 1, "User rows last");
}

#[test]
fn peering_rows_local_and_global() {
    let m = build(&format!(
        "resourceGroups: [{{name: {RG}, location: northeurope}}]
virtualNetworks:
  - name: vnet-a
    location: northeurope
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24}}]
    peerings:
      - {{name: a-to-b, remoteVirtualNetwork: vnet-b, allowVirtualNetworkAccess: true}}
      - {{name: a-to-c, remoteVirtualNetwork: vnet-c, allowVirtualNetworkAccess: true}}
  - name: vnet-b
    location: northeurope
    addressPrefixes: [10.2.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.2.1.0/24}}]
    peerings: [{{name: b-to-a, remoteVirtualNetwork: vnet-a, allowVirtualNetworkAccess: true}}]
  - name: vnet-c
    location: westeurope
    addressPrefixes: [10.3.0.0/16, 172.16.0.0/12]
    subnets: [{{name: default, addressPrefix: 10.3.1.0/24}}]
    peerings: [{{name: c-to-a, remoteVirtualNetwork: vnet-a, allowVirtualNetworkAccess: true}}]
"
    ));
    let rows = effective_routes(&m, &subnet("vnet-a", "default"));
    assert_eq!(
        find(&rows, "10.2.0.0/16", S::Default, H::VNetPeering).len(),
        1,
        "{rows:#?}"
    );
    assert_eq!(
        find(&rows, "10.3.0.0/16", S::Default, H::VNetGlobalPeering).len(),
        1,
        "{rows:#?}"
    );
    assert_eq!(
        find(&rows, "172.16.0.0/12", S::Default, H::VNetGlobalPeering).len(),
        1,
        "{rows:#?}"
    );
    // A peered range equal to a reserved prefix is reachable: no competing None row.
    assert!(
        find(&rows, "172.16.0.0/12", S::Default, H::None).is_empty(),
        "{rows:#?}"
    );
    // Peering is not transitive: b sees a, not c.
    let rows = effective_routes(&m, &subnet("vnet-b", "default"));
    assert!(
        rows.iter()
            .all(|r| r.address_prefix != "10.3.0.0/16".parse().expect("p")),
        "{rows:#?}"
    );
}

/// Lab 03 with a Route Server in its hub, branch-to-branch on or off, and
/// an NVA peering at 10.10.1.10 that announces 192.168.100.0/24.
fn lab03_with_route_server(b2b: bool) -> Model {
    let lab03 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/labs/03-gateway-transit-onprem/topology.yaml"
    ))
    .expect("lab 03");
    let yaml = lab03
        .replacen(
            "      - name: GatewaySubnet\n        addressPrefix: 10.10.255.0/27\n",
            "      - name: GatewaySubnet\n        addressPrefix: 10.10.255.0/27\n      - {name: RouteServerSubnet, addressPrefix: 10.10.254.0/27}\n",
            1,
        )
        .replacen(
            "virtualMachines:",
            &format!(
                "routeServers:\n  - name: hub-rs\n    vnet: hub-vnet\n    allowBranchToBranchTraffic: {b2b}\n    peerings: [{{name: nva, peerIp: 10.10.1.10, peerAsn: 65001, advertisedPrefixes: [192.168.100.0/24]}}]\n\nvirtualMachines:"
            ),
            1,
        );
    assert!(
        yaml.contains("RouteServerSubnet") && yaml.contains("hub-rs"),
        "lab 03 changed shape"
    );
    build(&yaml)
}

/// What Route Server announces to its NVAs (azure-semantics-2 §3.3, §3.4):
/// the hub's and the gateway-transit spokes' ranges always; what the VNet's
/// VPN gateway reaches (its site, its VNet-to-VNet peer) only with
/// branch-to-branch on.
#[test]
fn route_server_advertises_gateway_sites_only_with_branch_to_branch() {
    let advertised = |b2b: bool| -> Vec<String> {
        let m = lab03_with_route_server(b2b);
        let rs = m.route_servers.values().next().expect("the Route Server");
        let mut out: Vec<String> = vnetlab::routing::bgp::advertised(&m, rs)
            .iter()
            .map(|p| p.to_string())
            .collect();
        out.sort();
        out
    };
    // The hub and spoke1 (useRemoteGateways); not spoke2 (no gateway use),
    // not the branch VNet's peering (no transit).
    assert_eq!(advertised(false), ["10.10.0.0/16", "10.11.0.0/16"]);
    // With branch-to-branch: the on-premises site and the VNet-to-VNet peer.
    assert_eq!(
        advertised(true),
        ["10.10.0.0/16", "10.11.0.0/16", "10.13.0.0/16", "192.168.10.0/24"]
    );
}

/// The other way (§3.4): with branch-to-branch on, the VPN gateway learns
/// what the NVAs announce, its site's router gets it, and the gateway
/// forwards the site's packets for it to the NVA; off, none of that. A
/// route marked NO_ADVERTISE is kept from the gateway (§3.1).
#[test]
fn the_gateway_and_its_site_learn_nva_routes_only_with_branch_to_branch() {
    use vnetlab::routing::{Hop, gateway_context, site_routes};
    let nva_prefix: ipnet::Ipv4Net = "192.168.100.0/24".parse().expect("prefix");
    let lng = |m: &Model| m.local_network_gateways.keys().next().expect("OnPremSite").clone();
    let hub = |m: &Model| {
        let rs = m.route_servers.values().next().expect("the Route Server");
        rs.hosted_subnet.parent().expect("hub-vnet")
    };
    let at_site = |m: &Model| site_routes(m, &lng(m)).iter().any(|(p, _)| *p == nva_prefix);
    let in_gateway = |m: &Model| {
        gateway_context(m, &hub(m))
            .into_iter()
            .find(|(p, _)| *p == nva_prefix)
            .map(|(_, h)| h)
    };

    let off = lab03_with_route_server(false);
    assert!(!at_site(&off));
    assert_eq!(in_gateway(&off), None);

    let mut on = lab03_with_route_server(true);
    assert!(at_site(&on), "{:?}", site_routes(&on, &lng(&on)));
    assert_eq!(
        in_gateway(&on),
        Some(Hop::Appliance {
            ips: vec!["10.10.1.10".parse().expect("ip")]
        })
    );
    // The site's own prefix and the VNet's ranges stay the gateway's own.
    assert!(
        site_routes(&on, &lng(&on))
            .iter()
            .any(|(p, _)| p.to_string() == "10.10.0.0/16")
    );

    // The same prefix learned live, marked NO_ADVERTISE, from another NVA;
    // the configured one goes: nothing reaches the gateway.
    let rs = on.route_servers.values_mut().next().expect("the Route Server");
    rs.peerings[0].advertised_prefixes.clear();
    rs.learned.push(vnetlab::model::LearnedRoute {
        instance: 0,
        prefix: nva_prefix,
        next_hop: "10.10.1.11".parse().expect("ip"),
        source_peer: "10.10.1.11".parse().expect("ip"),
        as_path: vec![65002],
        no_advertise: true,
    });
    assert!(!at_site(&on));
    assert_eq!(in_gateway(&on), None);
}

/// `explain` from the site agrees (the same tables as the packet path):
/// with branch-to-branch the site's packet for the NVA's prefix enters its
/// connection and the gateway's route names the NVA; without, the site's
/// router has no route, and the sentence says what would give it one.
#[test]
fn explain_from_the_site_follows_branch_to_branch() {
    use vnetlab::dataplane::explain::{explain, probe_packet, site_ingress};
    use vnetlab::dataplane::{ConnTrack, LbHealth, Tables};
    let dst: std::net::Ipv4Addr = "192.168.100.1".parse().expect("ip");
    let on = lab03_with_route_server(true);
    let lng = on.local_network_gateways.keys().next().expect("OnPremSite").clone();
    let t = Tables::compile(&on, 0);
    let (ingress, prefix, _) = site_ingress(&on, &t, &lng, dst).expect("a route at the site");
    assert_eq!(prefix.to_string(), "192.168.100.0/24");
    let pkt = probe_packet("192.168.10.10".parse().expect("ip"), dst, "icmp", 49152, 1, false).expect("a probe");
    let e = explain(
        &t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        ingress,
        &pkt,
        std::time::Instant::now(),
    );
    assert!(
        e.steps[0].contains("192.168.100.0/24 -> NVA 10.10.1.10 (learned from Route Server, branch-to-branch)"),
        "{:?}",
        e.steps
    );

    let off = lab03_with_route_server(false);
    let why = site_ingress(&off, &Tables::compile(&off, 0), &lng, dst).expect_err("no route at the site");
    assert!(why.contains("branch-to-branch on"), "{why}");
}
