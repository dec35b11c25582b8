//! Field scenarios (azure-semantics §12) and behaviours (§2, §4, §5, §10),
//! built from inline topologies and checked through the verdict function.

use std::net::Ipv4Addr;
use std::time::Instant;

use vnetlab::dataplane::explain::{explain, probe_packet, round_trip};
use vnetlab::dataplane::nat::Rewrite;
use vnetlab::dataplane::{
    ConnIdx, ConnTrack, DropReason, Ingress, LbHealth, NicIdx, NsgRuleIdx, Tables, Verdict, decide,
};
use vnetlab::model::{
    Change, DEFAULT_SUBSCRIPTION_ID, Direction, ErrorCode, Model, NextHopType, PeeringSpec, PeeringState, PowerState,
    ResourceId, SecurityRuleSpec,
};
use vnetlab::routing::{RouteSource, RouteState};
use vnetlab::topology::Topology;

// ---------------------------------------------------------------- helpers

fn lab(yaml: &str) -> (Model, Tables) {
    let model = Topology::parse(yaml)
        .unwrap_or_else(|e| panic!("parse: {e}"))
        .build()
        .unwrap_or_else(|e| panic!("build: {e}"));
    let tables = Tables::compile(&model, 1);
    (model, tables)
}

fn nic(t: &Tables, vm: &str) -> NicIdx {
    t.nic_of_vm(vm).unwrap_or_else(|| panic!("no VM {vm}"))
}

fn ip(t: &Tables, vm: &str) -> Ipv4Addr {
    t.nics[nic(t, vm)].ip
}

fn pip(t: &Tables, vm: &str) -> Ipv4Addr {
    t.nics[nic(t, vm)]
        .public_ip
        .unwrap_or_else(|| panic!("{vm} has no public IP"))
        .0
}

fn works(t: &Tables, from: &str, dst: Ipv4Addr, proto: &str, port: u16) -> bool {
    let (ok, e) = round_trip(
        t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(t, from)),
        dst,
        proto,
        port,
        Instant::now(),
    );
    if !ok {
        eprintln!("{from} -> {dst} {proto}/{port}: {}", e.summary);
    }
    ok
}

fn ssh(t: &Tables, from: &str, to: &str) -> bool {
    works(t, from, ip(t, to), "tcp", 22)
}

fn ping(t: &Tables, from: &str, to: &str) -> bool {
    works(t, from, ip(t, to), "icmp", 0)
}

fn pkt(src: Ipv4Addr, dst: Ipv4Addr, proto: &str, sport: u16, dport: u16) -> Vec<u8> {
    probe_packet(src, dst, proto, sport, dport, false).expect("probe packet")
}

/// One packet with a fresh connection tracker.
fn send(t: &Tables, ingress: Ingress, src: Ipv4Addr, dst: Ipv4Addr, proto: &str, dport: u16) -> Verdict {
    decide(
        t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        ingress,
        &pkt(src, dst, proto, 40000, dport),
        Instant::now(),
    )
}

/// A VM sends one TCP packet from its own address.
fn send_from(t: &Tables, vm: &str, dst: Ipv4Addr, dport: u16) -> Verdict {
    send(t, Ingress::Nic(nic(t, vm)), ip(t, vm), dst, "tcp", dport)
}

fn is_next_hop_none(v: Verdict) -> bool {
    matches!(v, Verdict::Drop(DropReason::NextHopNone { .. }))
}

fn subnet_of<'t>(t: &'t Tables, vm: &str) -> &'t vnetlab::dataplane::SubnetEntry {
    &t.subnets[t.nics[nic(t, vm)].subnet]
}

fn net(s: &str) -> ipnet::Ipv4Net {
    s.parse().expect("prefix")
}

const RG: &str = "lab-rg";

fn peering_id(vnet: &str, name: &str) -> ResourceId {
    ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "virtualNetworks", vnet).child("virtualNetworkPeerings", name)
}

// ---------------------------------------------------------------- 1. §12.1

#[test]
fn learn_peering_exercise_from_the_cloud_shell_is_a_round_trip_through_nat() {
    let (_, t) = lab(include_str!("../labs/01-peering-basics/topology.yaml"));
    let public = Ipv4Addr::new(203, 0, 113, 1);
    assert!(
        round_trip(
            &t,
            &LbHealth::all_up(),
            Ingress::Internet,
            public,
            "tcp",
            22,
            Instant::now()
        )
        .0,
        "ssh to SalesVM's public IP and back"
    );
    let (ok, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Internet,
        public,
        "tcp",
        80,
        Instant::now(),
    );
    assert!(!ok && e.summary.contains("DenyAllInBound"), "{}", e.summary);
    assert!(
        !round_trip(
            &t,
            &LbHealth::all_up(),
            Ingress::Internet,
            Ipv4Addr::new(10, 1, 1, 4),
            "tcp",
            22,
            Instant::now()
        )
        .0,
        "private addresses are not on the Internet"
    );
}

#[test]
fn learn_peering_exercise() {
    let (_, t) = lab(include_str!("../labs/01-peering-basics/topology.yaml"));
    let has = |vm: &str, p: &str, h: NextHopType| {
        subnet_of(&t, vm)
            .routes
            .iter()
            .any(|r| r.address_prefix == net(p) && r.next_hop_type == h && r.state == RouteState::Active)
    };
    assert!(has("SalesVM", "10.2.0.0/16", NextHopType::VNetPeering));
    assert!(
        !subnet_of(&t, "SalesVM")
            .routes
            .iter()
            .any(|r| r.address_prefix == net("10.3.0.0/16"))
    );
    assert!(has("MarketingVM", "10.1.0.0/16", NextHopType::VNetPeering));
    assert!(has("MarketingVM", "10.3.0.0/16", NextHopType::VNetGlobalPeering));
    assert_eq!(ip(&t, "SalesVM"), Ipv4Addr::new(10, 1, 1, 4));
    assert_eq!(ip(&t, "MarketingVM"), Ipv4Addr::new(10, 2, 1, 4));
    assert_eq!(ip(&t, "ResearchVM"), Ipv4Addr::new(10, 3, 1, 4));
    for (a, b) in [
        ("SalesVM", "MarketingVM"),
        ("MarketingVM", "SalesVM"),
        ("MarketingVM", "ResearchVM"),
        ("ResearchVM", "MarketingVM"),
    ] {
        assert!(ssh(&t, a, b), "ssh {a} -> {b}");
        assert!(ping(&t, a, b), "ping {a} -> {b}");
    }
    // Not transitive.
    assert!(!ssh(&t, "SalesVM", "ResearchVM"));
    assert!(!ssh(&t, "ResearchVM", "SalesVM"));
    let v = send_from(&t, "SalesVM", ip(&t, "ResearchVM"), 22);
    assert!(is_next_hop_none(v), "{v:?}");
    let v = send_from(&t, "ResearchVM", ip(&t, "SalesVM"), 22);
    assert!(is_next_hop_none(v), "{v:?}");
    // Cloud Shell: ssh to each public IP; port 80 is not open.
    let shell = Ipv4Addr::new(198, 51, 100, 7);
    for vm in ["SalesVM", "MarketingVM", "ResearchVM"] {
        let v = send(&t, Ingress::Internet, shell, pip(&t, vm), "tcp", 22);
        assert_eq!(
            v,
            Verdict::Deliver {
                nic: nic(&t, vm),
                nat: Some(Rewrite::dst(ip(&t, vm)))
            },
            "{vm}"
        );
        let v = send(&t, Ingress::Internet, shell, pip(&t, vm), "tcp", 80);
        assert!(
            matches!(
                v,
                Verdict::Drop(DropReason::NsgDenied {
                    direction: Direction::Inbound,
                    ..
                })
            ),
            "{vm}: {v:?}"
        );
    }
}

// ---------------------------------------------------------------- 2. §4.2

fn two_vnets(a_to_b: bool, b_to_a: bool) -> String {
    let link = |yes: bool, name: &str, remote: &str| {
        if yes {
            format!(
                "    peerings:\n      - {{name: {name}, remoteVirtualNetwork: {remote}, allowVirtualNetworkAccess: true}}\n"
            )
        } else {
            String::new()
        }
    };
    format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
virtualNetworks:
  - name: vnet-a
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24}}]
{}  - name: vnet-b
    addressPrefixes: [10.2.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.2.1.0/24}}]
{}virtualMachines:
  - {{name: vm-a, vnet: vnet-a, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm-b, vnet: vnet-b, subnet: default, adminPassword: Passw0rd-12345}}
",
        link(a_to_b, "a-to-b", "vnet-b"),
        link(b_to_a, "b-to-a", "vnet-a")
    )
}

#[test]
fn peering_lifecycle_initiated_connected_disconnected() {
    // One link only: Initiated, no route, no traffic.
    let (m, t) = lab(&two_vnets(true, false));
    let a = ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "virtualNetworks", "vnet-a");
    assert_eq!(
        m.peering_state(&a, &m.virtual_networks[&a].peerings[0]),
        PeeringState::Initiated
    );
    assert!(
        !subnet_of(&t, "vm-a")
            .routes
            .iter()
            .any(|r| r.address_prefix == net("10.2.0.0/16"))
    );
    assert!(!ssh(&t, "vm-a", "vm-b"));
    assert!(is_next_hop_none(send_from(&t, "vm-a", ip(&t, "vm-b"), 22)));

    // Both links: Connected, traffic flows.
    let (mut m, t) = lab(&two_vnets(true, true));
    assert_eq!(
        m.peering_state(&a, &m.virtual_networks[&a].peerings[0]),
        PeeringState::Connected
    );
    assert!(ssh(&t, "vm-a", "vm-b") && ssh(&t, "vm-b", "vm-a"));

    // Delete b-to-a: a-to-b goes Disconnected, traffic stops.
    m.apply(Change::DeletePeering(peering_id("vnet-b", "b-to-a")))
        .expect("delete peering");
    assert_eq!(
        m.peering_state(&a, &m.virtual_networks[&a].peerings[0]),
        PeeringState::Disconnected
    );
    let t = Tables::compile(&m, 2);
    assert!(
        !subnet_of(&t, "vm-a")
            .routes
            .iter()
            .any(|r| r.address_prefix == net("10.2.0.0/16"))
    );
    assert!(!ssh(&t, "vm-a", "vm-b"));
    assert!(!ssh(&t, "vm-b", "vm-a"));

    // Re-creating b-to-a alone does not revive a Disconnected link.
    let a_id = ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "virtualNetworks", "vnet-a");
    let spec = PeeringSpec {
        id: peering_id("vnet-b", "b-to-a"),
        remote_virtual_network: a_id,
        allow_virtual_network_access: true,
        allow_forwarded_traffic: false,
        allow_gateway_transit: false,
        use_remote_gateways: false,
        principal: None,
    };
    let e = m
        .apply(Change::PutPeering(spec.clone()))
        .expect_err("re-create against a Disconnected link");
    assert_eq!(e.code, ErrorCode::RemotePeeringIsDisconnected);
    // Delete the remaining link, create both again: Connected.
    m.apply(Change::DeletePeering(peering_id("vnet-a", "a-to-b")))
        .expect("delete");
    m.apply(Change::PutPeering(spec)).expect("b-to-a");
    m.apply(Change::PutPeering(PeeringSpec {
        id: peering_id("vnet-a", "a-to-b"),
        remote_virtual_network: ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "virtualNetworks", "vnet-b"),
        allow_virtual_network_access: true,
        allow_forwarded_traffic: false,
        allow_gateway_transit: false,
        use_remote_gateways: false,
        principal: None,
    }))
    .expect("a-to-b");
    let t = Tables::compile(&m, 3);
    assert!(ssh(&t, "vm-a", "vm-b") && ssh(&t, "vm-b", "vm-a"));
}

// ---------------------------------------------------------------- 3/4. §4.5, §4.3

fn hub_nva(nva_forwarding: bool, forwarded_on_spoke2: bool, udrs: bool) -> String {
    let rt = |n: &str| {
        if udrs {
            format!(", routeTable: {n}")
        } else {
            String::new()
        }
    };
    format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
routeTables:
  - name: rt-spoke1
    routes: [{{name: to-spoke2, addressPrefix: 10.2.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.4}}]
  - name: rt-spoke2
    routes: [{{name: to-spoke1, addressPrefix: 10.1.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.4}}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets: [{{name: nva, addressPrefix: 10.0.1.0/24}}]
    peerings:
      - {{name: hub-to-spoke1, remoteVirtualNetwork: spoke1, allowVirtualNetworkAccess: true}}
      - {{name: hub-to-spoke2, remoteVirtualNetwork: spoke2, allowVirtualNetworkAccess: true}}
  - name: spoke1
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24{}}}]
    peerings:
      - {{name: spoke1-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, allowForwardedTraffic: true}}
  - name: spoke2
    addressPrefixes: [10.2.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.2.1.0/24{}}}]
    peerings:
      - {{name: spoke2-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, allowForwardedTraffic: {forwarded_on_spoke2}}}
virtualMachines:
  - {{name: nva, vnet: hub, subnet: nva, privateIpAddress: 10.0.1.4, ipForwarding: {nva_forwarding}, nsg: '', adminPassword: Passw0rd-12345}}
  - {{name: vm1, vnet: spoke1, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm2, vnet: spoke2, subnet: default, adminPassword: Passw0rd-12345}}
",
        rt("rt-spoke1"),
        rt("rt-spoke2")
    )
}

#[test]
fn hub_nva_needs_allow_forwarded_traffic_on_receiving_spoke() {
    for forwarded in [true, false] {
        let (_, t) = lab(&hub_nva(true, forwarded, true));
        let (nva, vm1, vm2) = (nic(&t, "nva"), ip(&t, "vm1"), ip(&t, "vm2"));
        let bytes = pkt(vm1, vm2, "tcp", 40000, 22);
        let mut ct = ConnTrack::new();
        let now = Instant::now();
        let first = decide(
            &t,
            &LbHealth::all_up(),
            &mut ct,
            Ingress::Nic(nic(&t, "vm1")),
            &bytes,
            now,
        );
        assert_eq!(first, Verdict::ToAppliance { nic: nva, nat: None });
        // The NVA forwards the very same packet.
        let second = decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(nva), &bytes, now);
        if forwarded {
            assert_eq!(
                second,
                Verdict::Deliver {
                    nic: nic(&t, "vm2"),
                    nat: None
                }
            );
            // The answer takes the same way back (spoke1 allows forwarded traffic).
            let back = probe_packet(vm2, vm1, "tcp", 22, 40000, true).expect("reply");
            assert_eq!(
                decide(
                    &t,
                    &LbHealth::all_up(),
                    &mut ct,
                    Ingress::Nic(nic(&t, "vm2")),
                    &back,
                    now
                ),
                Verdict::ToAppliance { nic: nva, nat: None }
            );
            assert_eq!(
                decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(nva), &back, now),
                Verdict::Deliver {
                    nic: nic(&t, "vm1"),
                    nat: None
                }
            );
        } else {
            assert!(
                matches!(second, Verdict::Drop(DropReason::ForwardedTrafficNotAllowed { .. })),
                "{second:?}"
            );
        }
    }
}

#[test]
fn hub_nva_without_ip_forwarding() {
    let (_, t) = lab(&hub_nva(false, true, true));
    let nva = nic(&t, "nva");
    let v = send_from(&t, "vm1", ip(&t, "vm2"), 22);
    assert_eq!(v, Verdict::Drop(DropReason::NotForwarding { nic: nva }));
    // The NVA itself sending with a foreign source.
    let v = send(&t, Ingress::Nic(nva), ip(&t, "vm1"), ip(&t, "vm2"), "tcp", 22);
    assert_eq!(v, Verdict::Drop(DropReason::SpoofedSource { nic: nva }));
}

/// Explanations follow the packet through the NVA, as the live NVA's
/// kernel does, and name it; the round trip works both ways through it.
#[test]
fn explanations_name_the_nva_hop_and_the_flag_that_stops_it() {
    let (_, t) = lab(&hub_nva(true, true, true));
    let (ok, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "vm1")),
        ip(&t, "vm2"),
        "tcp",
        22,
        Instant::now(),
    );
    assert!(ok, "{}", e.summary);
    assert_eq!(e.appliances, [nic(&t, "nva")]);
    assert!(
        e.summary
            .starts_with("through the network virtual appliance nva (10.0.1.4"),
        "{}",
        e.summary
    );
    assert!(
        e.steps.iter().any(|s| s.contains("forwards it: IP forwarding is on")),
        "{:#?}",
        e.steps
    );
    assert!(ssh(&t, "vm2", "vm1") && ping(&t, "vm1", "vm2"));

    let (_, t) = lab(&hub_nva(true, false, true));
    let (ok, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "vm1")),
        ip(&t, "vm2"),
        "tcp",
        22,
        Instant::now(),
    );
    assert!(!ok);
    assert!(
        e.summary.contains("through the network virtual appliance nva")
            && e.summary
                .contains("spoke2-to-hub of spoke2 does not allow forwarded traffic"),
        "{}",
        e.summary
    );

    let (_, t) = lab(&hub_nva(false, true, true));
    let (_, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "vm1")),
        ip(&t, "vm2"),
        "tcp",
        22,
        Instant::now(),
    );
    assert!(e.summary.contains("IP forwarding disabled"), "{}", e.summary);
}

#[test]
fn peering_is_not_transitive_without_nva() {
    let (_, t) = lab(&hub_nva(true, true, false));
    assert!(!ssh(&t, "vm1", "vm2"));
    assert!(is_next_hop_none(send_from(&t, "vm1", ip(&t, "vm2"), 22)));
    assert!(is_next_hop_none(send_from(&t, "vm2", ip(&t, "vm1"), 22)));
    // Each spoke still reaches the hub.
    assert!(ping(&t, "vm1", "nva") && ping(&t, "vm2", "nva"));
}

// ---------------------------------------------------------------- 5. §12.2

const SUB2: &str = "11111111-1111-4111-8111-111111111111";

fn route_server_lab(flags: [bool; 4]) -> String {
    let [t1, t2, u1, u2] = flags;
    format!(
        "subscriptions:
  - {{name: vnetlab, id: {DEFAULT_SUBSCRIPTION_ID}, tenantId: 00000000-0000-4000-8000-0000000000aa}}
  - {{name: spokes, id: {SUB2}, tenantId: 00000000-0000-4000-8000-0000000000aa}}
resourceGroups:
  - {{name: hub-rg, location: westeurope}}
  - {{name: spoke1-rg, location: northeurope, subscription: spokes}}
  - {{name: spoke2-rg, location: eastus, subscription: spokes}}
routeTables:
  - name: rt-spoke1
    resourceGroup: spoke1-rg
    routes: [{{name: to-spoke2, addressPrefix: 10.2.0.0/16, nextHopType: VirtualNetworkGateway}}]
  - name: rt-spoke2
    resourceGroup: spoke2-rg
    routes: [{{name: to-spoke1, addressPrefix: 10.1.0.0/16, nextHopType: VirtualNetworkGateway}}]
virtualNetworks:
  - name: hub
    resourceGroup: hub-rg
    addressPrefixes: [10.0.0.0/16]
    subnets: [{{name: RouteServerSubnet, addressPrefix: 10.0.1.0/27}}]
    peerings:
      - {{name: hub-to-spoke1, remoteVirtualNetwork: spoke1-rg/spoke1, allowVirtualNetworkAccess: true, allowGatewayTransit: {t1}}}
      - {{name: hub-to-spoke2, remoteVirtualNetwork: spoke2-rg/spoke2, allowVirtualNetworkAccess: true, allowGatewayTransit: {t2}}}
  - name: spoke1
    resourceGroup: spoke1-rg
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24, routeTable: rt-spoke1}}]
    peerings:
      - {{name: spoke1-to-hub, remoteVirtualNetwork: hub-rg/hub, allowVirtualNetworkAccess: true, useRemoteGateways: {u1}}}
  - name: spoke2
    resourceGroup: spoke2-rg
    addressPrefixes: [10.2.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.2.1.0/24, routeTable: rt-spoke2}}]
    peerings:
      - {{name: spoke2-to-hub, remoteVirtualNetwork: hub-rg/hub, allowVirtualNetworkAccess: true, useRemoteGateways: {u2}}}
routeServers:
  - {{name: hub-rs, resourceGroup: hub-rg, vnet: hub, allowBranchToBranchTraffic: true}}
virtualMachines:
  - {{name: vm1, resourceGroup: spoke1-rg, vnet: spoke1, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm2, resourceGroup: spoke2-rg, vnet: spoke2, subnet: default, adminPassword: Passw0rd-12345}}
"
    )
}

#[test]
fn route_server_spoke_to_spoke() {
    let (_, t) = lab(&route_server_lab([true; 4]));
    for (vm, other) in [("vm1", "10.2.0.0/16"), ("vm2", "10.1.0.0/16")] {
        let rows = &subnet_of(&t, vm).routes;
        assert!(
            rows.iter().any(|r| r.source == RouteSource::User
                && r.state == RouteState::Active
                && r.address_prefix == net(other)
                && r.next_hop_type == NextHopType::VirtualNetworkGateway),
            "{vm}: {rows:#?}"
        );
    }
    assert!(ssh(&t, "vm1", "vm2"));
    assert!(ssh(&t, "vm2", "vm1"));
    for off in 0..4 {
        let mut flags = [true; 4];
        flags[off] = false;
        match Topology::parse(&route_server_lab(flags)).expect("parse").build() {
            // Refusing the configuration is also "it does not work".
            Err(e) => eprintln!("flag {off} off: refused: {e}"),
            Ok(m) => {
                let t = Tables::compile(&m, 1);
                assert!(
                    !(ssh(&t, "vm1", "vm2") && ssh(&t, "vm2", "vm1")),
                    "flag {off} off, ssh still works both ways"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- 6. §12.5

fn gateway_transit_lab(sku: &str, use_remote: bool, disable_propagation: bool) -> String {
    format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
routeTables:
  - {{name: rt-spoke, disableBgpRoutePropagation: {disable_propagation}}}
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets: [{{name: GatewaySubnet, addressPrefix: 10.0.255.0/27}}]
    peerings:
      - {{name: hub-to-spoke, remoteVirtualNetwork: spoke, allowVirtualNetworkAccess: true, allowGatewayTransit: true}}
  - name: spoke
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24, routeTable: rt-spoke}}]
    peerings:
      - {{name: spoke-to-hub, remoteVirtualNetwork: hub, allowVirtualNetworkAccess: true, useRemoteGateways: {use_remote}}}
virtualNetworkGateways:
  - {{name: hub-gw, vnet: hub, sku: {sku}}}
localNetworkGateways:
  - {{name: onprem, gatewayIpAddress: 192.0.2.10, localAddressPrefixes: [192.168.100.0/24]}}
connections:
  - {{name: hub-to-onprem, vnetGateway1: hub-gw, localGateway2: onprem, sharedKey: abc123}}
virtualMachines:
  - {{name: vm, vnet: spoke, subnet: default, adminPassword: Passw0rd-12345}}
"
    )
}

fn has_onprem_route(t: &Tables) -> bool {
    subnet_of(t, "vm").routes.iter().any(|r| {
        r.source == RouteSource::VirtualNetworkGateway
            && r.address_prefix == net("192.168.100.0/24")
            && r.state == RouteState::Active
    })
}

#[test]
fn gateway_transit_to_on_premises() {
    let onprem = Ipv4Addr::new(192, 168, 100, 10);
    let (_, t) = lab(&gateway_transit_lab("VpnGw1", true, false));
    assert!(has_onprem_route(&t), "{:#?}", subnet_of(&t, "vm").routes);
    assert_eq!(
        send_from(&t, "vm", onprem, 22),
        Verdict::ToSite { connection: ConnIdx(0) }
    );
    let vm = ip(&t, "vm");
    // From on-premises: ssh (default-allow-ssh) and any port (AllowVnetInBound: the tag holds gateway routes).
    for port in [22, 8080] {
        let v = send(&t, Ingress::Connection(ConnIdx(0)), onprem, vm, "tcp", port);
        assert_eq!(
            v,
            Verdict::Deliver {
                nic: nic(&t, "vm"),
                nat: None
            },
            "port {port}"
        );
    }
}

#[test]
fn gateway_transit_needs_use_remote_gateways() {
    let onprem = Ipv4Addr::new(192, 168, 100, 10);
    let (_, t) = lab(&gateway_transit_lab("VpnGw1", false, false));
    assert!(!has_onprem_route(&t));
    let v = send_from(&t, "vm", onprem, 22);
    assert!(is_next_hop_none(v), "{v:?}");
    let v = send(&t, Ingress::Connection(ConnIdx(0)), onprem, ip(&t, "vm"), "tcp", 22);
    assert!(matches!(v, Verdict::Drop(_)), "{v:?}");
}

#[test]
fn gateway_transit_not_with_basic_sku() {
    match Topology::parse(&gateway_transit_lab("Basic", true, false))
        .expect("parse")
        .build()
    {
        Err(e) => eprintln!("Basic SKU with transit refused: {e}"),
        Ok(m) => {
            let t = Tables::compile(&m, 1);
            assert!(!has_onprem_route(&t));
            assert!(matches!(
                send_from(&t, "vm", Ipv4Addr::new(192, 168, 100, 10), 22),
                Verdict::Drop(_)
            ));
        }
    }
}

/// What the on-premises router learns: the hub's space, plus each spoke
/// only while transit really works for it.
#[test]
fn on_premises_router_learns_hub_and_transit_spokes() {
    let learned = |sku: &str, use_remote: bool| -> Vec<String> {
        let (m, _) = lab(&gateway_transit_lab(sku, use_remote, false));
        let lng = m.local_network_gateways.keys().next().expect("lng").clone();
        let routes = vnetlab::routing::site_routes(&m, &lng);
        assert!(routes.iter().all(|(_, c)| c.name() == "hub-to-onprem"));
        routes.iter().map(|(p, _)| p.to_string()).collect()
    };
    assert_eq!(learned("VpnGw1", true), ["10.0.0.0/16", "10.1.0.0/16"]);
    assert_eq!(learned("VpnGw1", false), ["10.0.0.0/16"]);
}

/// Why a spoke cannot reach on-premises names the flag or the SKU.
#[test]
fn explanations_name_the_missing_transit_flag_or_the_basic_sku() {
    let onprem = Ipv4Addr::new(192, 168, 100, 10);
    let why = |yaml: &str| {
        let (_, t) = lab(yaml);
        round_trip(
            &t,
            &LbHealth::all_up(),
            Ingress::Nic(nic(&t, "vm")),
            onprem,
            "tcp",
            22,
            Instant::now(),
        )
        .1
        .summary
    };
    let base = "no route leads to 192.168.100.10: 192.168.100.10 is on-premises, behind local network gateway onprem, reached through connection hub-to-onprem of the VPN gateway in hub; ";
    let off = why(&gateway_transit_lab("VpnGw1", false, false));
    assert_eq!(
        off,
        format!(
            "dropped: {base}spoke's peering spoke-to-hub does not use remote gateways (useRemoteGateways false), so the gateway's routes are not in spoke"
        )
    );
    let no_transit =
        gateway_transit_lab("VpnGw1", true, false).replace("allowGatewayTransit: true", "allowGatewayTransit: false");
    assert!(why(&no_transit).ends_with("spoke uses remote gateways, but hub's peering hub-to-spoke does not allow gateway transit (allowGatewayTransit false)"), "{}", why(&no_transit));
    if Topology::parse(&gateway_transit_lab("Basic", true, false))
        .expect("parse")
        .build()
        .is_ok()
    {
        assert!(
            why(&gateway_transit_lab("Basic", true, false)).ends_with(
                "hub's gateway hub-gw is Basic SKU, and a Basic VPN gateway does not support gateway transit"
            )
        );
    }
}

/// A packet from on-premises and its answer: the round trip that `vnetlab
/// test` explains for an on-premises host.
#[test]
fn round_trip_from_on_premises() {
    let onprem = Ipv4Addr::new(192, 168, 100, 10);
    let (_, t) = lab(&gateway_transit_lab("VpnGw1", true, false));
    let (ok, e) = vnetlab::dataplane::explain::round_trip_from(
        &t,
        &LbHealth::all_up(),
        Ingress::Connection(ConnIdx(0)),
        Some(onprem),
        ip(&t, "vm"),
        "tcp",
        22,
        Instant::now(),
    );
    assert!(ok, "{}", e.summary);
    let (ok, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "vm")),
        onprem,
        "icmp",
        0,
        Instant::now(),
    );
    assert!(ok, "{}", e.summary);
    assert!(e.summary.contains("to the on-premises site onprem"), "{}", e.summary);
}

#[test]
fn gateway_transit_blocked_by_disabled_propagation() {
    let (_, t) = lab(&gateway_transit_lab("VpnGw1", true, true));
    assert!(!has_onprem_route(&t));
    assert!(is_next_hop_none(send_from(
        &t,
        "vm",
        Ipv4Addr::new(192, 168, 100, 10),
        22
    )));
}

// ---------------------------------------------------------------- 7. §4.3

#[test]
fn peering_wins_over_vnet_to_vnet_connection() {
    let (_, t) = lab(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
virtualNetworks:
  - name: vnet-a
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24}}, {{name: GatewaySubnet, addressPrefix: 10.1.255.0/27}}]
    peerings: [{{name: a-to-b, remoteVirtualNetwork: vnet-b, allowVirtualNetworkAccess: true}}]
  - name: vnet-b
    addressPrefixes: [10.2.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.2.1.0/24}}, {{name: GatewaySubnet, addressPrefix: 10.2.255.0/27}}]
    peerings: [{{name: b-to-a, remoteVirtualNetwork: vnet-a, allowVirtualNetworkAccess: true}}]
virtualNetworkGateways:
  - {{name: gw-a, vnet: vnet-a, sku: VpnGw1}}
  - {{name: gw-b, vnet: vnet-b, sku: VpnGw1}}
connections:
  - {{name: a-to-b-conn, vnetGateway1: gw-a, vnetGateway2: gw-b, sharedKey: abc123}}
  - {{name: b-to-a-conn, vnetGateway1: gw-b, vnetGateway2: gw-a, sharedKey: abc123}}
virtualMachines:
  - {{name: vm-a, vnet: vnet-a, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm-b, vnet: vnet-b, subnet: default, adminPassword: Passw0rd-12345}}
"
    ));
    let rows = &subnet_of(&t, "vm-a").routes;
    let b = net("10.2.0.0/16");
    assert!(
        rows.iter().any(|r| r.address_prefix == b
            && r.next_hop_type == NextHopType::VNetPeering
            && r.state == RouteState::Active),
        "{rows:#?}"
    );
    assert!(
        !rows.iter().any(|r| r.address_prefix == b
            && r.next_hop_type == NextHopType::VirtualNetworkGateway
            && r.state == RouteState::Active),
        "{rows:#?}"
    );
    assert!(ssh(&t, "vm-a", "vm-b") && ssh(&t, "vm-b", "vm-a"));
}

// ---------------------------------------------------------------- 8. §12.4

fn aks(peered: bool) -> String {
    let p = |name: &str, remote: &str| {
        if peered {
            format!(
                "    peerings: [{{name: {name}, remoteVirtualNetwork: {remote}, allowVirtualNetworkAccess: true}}]\n"
            )
        } else {
            String::new()
        }
    };
    format!(
        "resourceGroups: [{{name: {RG}, location: canadacentral}}]
virtualNetworks:
  - name: aks1
    location: canadacentral
    addressPrefixes: [10.0.0.0/14]
    subnets: [{{name: nodes, addressPrefix: 10.0.0.0/24}}]
{}  - name: aks2
    location: eastus
    addressPrefixes: [10.4.0.0/14]
    subnets: [{{name: nodes, addressPrefix: 10.4.0.0/24}}]
{}virtualMachines:
  - {{name: node1, location: canadacentral, vnet: aks1, subnet: nodes, publicIpAddress: '', adminPassword: Passw0rd-12345}}
  - {{name: node2, location: eastus, vnet: aks2, subnet: nodes, publicIpAddress: '', adminPassword: Passw0rd-12345}}
",
        p("aks1-to-aks2", "aks2"),
        p("aks2-to-aks1", "aks1")
    )
}

#[test]
fn aks_overlay_across_regions() {
    let (_, t) = lab(&aks(false));
    assert!(!ssh(&t, "node1", "node2"));
    assert!(is_next_hop_none(send_from(&t, "node1", ip(&t, "node2"), 22)));

    let (_, t) = lab(&aks(true));
    assert!(ssh(&t, "node1", "node2") && ssh(&t, "node2", "node1"));
    assert!(ping(&t, "node1", "node2"));
    // A pod's packet not SNATed to the node.
    let n1 = nic(&t, "node1");
    let v = send(
        &t,
        Ingress::Nic(n1),
        Ipv4Addr::new(10, 32, 0, 5),
        ip(&t, "node2"),
        "tcp",
        22,
    );
    assert_eq!(v, Verdict::Drop(DropReason::SpoofedSource { nic: n1 }));
    // Pod CIDRs are no VNet routes: 10.40/13 falls into the 10/8 None route.
    let v = send_from(&t, "node1", Ipv4Addr::new(10, 40, 0, 5), 22);
    assert!(is_next_hop_none(v), "{v:?}");
}

// ---------------------------------------------------------------- 9. §5.3

fn nsg_lab(nsgs: &str, subnet_b_nsg: &str, vm1_nsg: &str) -> String {
    format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
networkSecurityGroups:
{nsgs}
virtualNetworks:
  - name: vnet
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: a, addressPrefix: 10.0.1.0/24}}
      - {{name: b, addressPrefix: 10.0.2.0/24{subnet_b_nsg}}}
virtualMachines:
  - {{name: vm1, vnet: vnet, subnet: a, adminPassword: Passw0rd-12345{vm1_nsg}}}
  - {{name: vm2, vnet: vnet, subnet: b, adminPassword: Passw0rd-12345}}
"
    )
}

#[test]
fn subnet_nsg_deny_wins_over_nic_allow() {
    let (_, t) = lab(&nsg_lab(
        "  - name: subnet-b-nsg\n    rules: [{name: deny-ssh, priority: 100, access: Deny, protocol: Tcp, destinationPortRanges: ['22']}]",
        ", networkSecurityGroup: subnet-b-nsg",
        "",
    ));
    assert!(!ssh(&t, "vm1", "vm2"));
    let v = send_from(&t, "vm1", ip(&t, "vm2"), 22);
    let subnet_nsg = subnet_of(&t, "vm2").nsg.expect("subnet NSG");
    assert_eq!(
        v,
        Verdict::Drop(DropReason::NsgDenied {
            nic: nic(&t, "vm2"),
            direction: Direction::Inbound,
            nsg: subnet_nsg,
            rule: NsgRuleIdx(0)
        })
    );
    assert!(ping(&t, "vm1", "vm2"), "other traffic still passes");
}

#[test]
fn nic_nsg_outbound_deny() {
    let (_, t) = lab(&nsg_lab(
        "  - name: vm1-nsg\n    rules: [{name: no-ssh-out, priority: 100, direction: Outbound, access: Deny, protocol: Tcp, destinationPortRanges: ['22']}]",
        "",
        ", nsg: vm1-nsg",
    ));
    let v = send_from(&t, "vm1", ip(&t, "vm2"), 22);
    let n1 = nic(&t, "vm1");
    assert!(
        matches!(v, Verdict::Drop(DropReason::NsgDenied { nic, direction: Direction::Outbound, nsg, .. }) if nic == n1 && Some(nsg) == t.nics[n1].nsg),
        "{v:?}"
    );
    assert!(ping(&t, "vm1", "vm2"));
}

#[test]
fn nsg_is_stateful() {
    let (_, t) = lab(&nsg_lab(
        "  - name: vm1-nsg\n    rules: [{name: deny-from-b, priority: 100, access: Deny, sourceAddressPrefixes: [10.0.2.0/24]}]",
        "",
        ", nsg: vm1-nsg",
    ));
    // vm1 starts the flow: the answer from vm2 passes despite the deny.
    assert!(ssh(&t, "vm1", "vm2"));
    assert!(ping(&t, "vm1", "vm2"));
    // vm2 starting a flow to vm1 is denied.
    let v = send_from(&t, "vm2", ip(&t, "vm1"), 22);
    assert!(
        matches!(
            v,
            Verdict::Drop(DropReason::NsgDenied {
                direction: Direction::Inbound,
                ..
            })
        ),
        "{v:?}"
    );
    assert!(!ssh(&t, "vm2", "vm1"));
}

#[test]
fn nsg_rule_change_affects_new_flows_only() {
    let (mut m, t1) = lab(&nsg_lab("  []", "", ""));
    let (a, b) = (ip(&t1, "vm1"), ip(&t1, "vm2"));
    let (n1, n2) = (nic(&t1, "vm1"), nic(&t1, "vm2"));
    let mut ct = ConnTrack::new();
    let now = Instant::now();
    let req = pkt(a, b, "tcp", 40000, 22);
    let rep = probe_packet(b, a, "tcp", 22, 40000, true).expect("reply");
    assert_eq!(
        decide(&t1, &LbHealth::all_up(), &mut ct, Ingress::Nic(n1), &req, now),
        Verdict::Deliver { nic: n2, nat: None }
    );
    assert_eq!(
        decide(&t1, &LbHealth::all_up(), &mut ct, Ingress::Nic(n2), &rep, now),
        Verdict::Deliver { nic: n1, nat: None }
    );

    let nsg = ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "networkSecurityGroups", "vm2NSG");
    m.apply(Change::PutSecurityRule(SecurityRuleSpec {
        id: nsg.child("securityRules", "deny-ssh"),
        priority: 100,
        direction: "Inbound".into(),
        access: "Deny".into(),
        protocol: "Tcp".into(),
        source_address_prefixes: vec!["*".into()],
        source_port_ranges: vec!["*".into()],
        destination_address_prefixes: vec!["*".into()],
        destination_port_ranges: vec!["22".into()],
        description: None,
    }))
    .expect("put rule");
    let t2 = Tables::compile(&m, 2);
    let (n1, n2) = (nic(&t2, "vm1"), nic(&t2, "vm2"));
    // The established flow goes on.
    assert_eq!(
        decide(&t2, &LbHealth::all_up(), &mut ct, Ingress::Nic(n1), &req, now),
        Verdict::Deliver { nic: n2, nat: None }
    );
    assert_eq!(
        decide(&t2, &LbHealth::all_up(), &mut ct, Ingress::Nic(n2), &rep, now),
        Verdict::Deliver { nic: n1, nat: None }
    );
    // A new flow (other source port) is denied.
    let v = decide(
        &t2,
        &LbHealth::all_up(),
        &mut ct,
        Ingress::Nic(n1),
        &pkt(a, b, "tcp", 40001, 22),
        now,
    );
    assert!(
        matches!(
            v,
            Verdict::Drop(DropReason::NsgDenied {
                direction: Direction::Inbound,
                ..
            })
        ),
        "{v:?}"
    );
}

// ---------------------------------------------------------------- 10. §4.1

fn no_access_lab(vm_a: &str, vm_b: &str, nsgs: &str) -> String {
    format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
networkSecurityGroups:
{nsgs}
virtualNetworks:
  - name: vnet-a
    addressPrefixes: [10.1.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.1.1.0/24}}]
    peerings: [{{name: a-to-b, remoteVirtualNetwork: vnet-b, allowVirtualNetworkAccess: false}}]
  - name: vnet-b
    addressPrefixes: [10.2.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.2.1.0/24}}]
    peerings: [{{name: b-to-a, remoteVirtualNetwork: vnet-a, allowVirtualNetworkAccess: true}}]
virtualMachines:
  - {{name: vm-a, vnet: vnet-a, subnet: default, adminPassword: Passw0rd-12345{vm_a}}}
  - {{name: vm-b, vnet: vnet-b, subnet: default, adminPassword: Passw0rd-12345{vm_b}}}
"
    )
}

fn rule_name(t: &Tables, v: Verdict) -> String {
    match v {
        Verdict::Drop(DropReason::NsgDenied {
            direction, nsg, rule, ..
        }) => t.nsgs[nsg].rules(direction)[rule.index()].name.clone(),
        other => format!("{other:?}"),
    }
}

#[test]
fn allow_virtual_network_access_off_with_default_nsgs() {
    let (_, t) = lab(&no_access_lab(", nsgRule: NONE", ", nsgRule: NONE", "  []"));
    let v = send(
        &t,
        Ingress::Nic(nic(&t, "vm-a")),
        ip(&t, "vm-a"),
        ip(&t, "vm-b"),
        "icmp",
        0,
    );
    assert_eq!(rule_name(&t, v), "DenyAllOutBound");
    let v = send(
        &t,
        Ingress::Nic(nic(&t, "vm-b")),
        ip(&t, "vm-b"),
        ip(&t, "vm-a"),
        "icmp",
        0,
    );
    assert_eq!(rule_name(&t, v), "DenyAllInBound");
    assert!(!ping(&t, "vm-a", "vm-b") && !ping(&t, "vm-b", "vm-a"));
}

#[test]
fn allow_virtual_network_access_off_without_nsgs() {
    let (_, t) = lab(&no_access_lab(", nsg: ''", ", nsg: ''", "  []"));
    let v = send_from(&t, "vm-a", ip(&t, "vm-b"), 22);
    assert!(
        matches!(v, Verdict::Drop(DropReason::PeeringAccessBlocked { .. })),
        "{v:?}"
    );
    let v = send_from(&t, "vm-b", ip(&t, "vm-a"), 22);
    assert!(
        matches!(v, Verdict::Drop(DropReason::PeeringAccessBlocked { .. })),
        "{v:?}"
    );
}

#[test]
fn allow_virtual_network_access_off_explicit_nsg_allow_passes() {
    let (_, t) = lab(&no_access_lab(
        ", nsg: a-nsg",
        ", nsgRule: NONE",
        "  - name: a-nsg
    rules:
      - {name: from-b, priority: 100, sourceAddressPrefixes: [10.2.0.0/16]}
      - {name: to-b, priority: 100, direction: Outbound, destinationAddressPrefixes: [10.2.0.0/16]}",
    ));
    assert!(ping(&t, "vm-a", "vm-b"));
    assert!(ping(&t, "vm-b", "vm-a"));
    assert!(works(&t, "vm-a", ip(&t, "vm-b"), "tcp", 8080));
}

// ---------------------------------------------------------------- 11. §2.4

#[test]
fn forced_tunnelling_through_nva() {
    let (_, t) = lab(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
routeTables:
  - name: rt-app
    routes: [{{name: default, addressPrefix: 0.0.0.0/0, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.4}}]
virtualNetworks:
  - name: vnet
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: nva, addressPrefix: 10.0.1.0/24}}
      - {{name: app, addressPrefix: 10.0.2.0/24, routeTable: rt-app}}
virtualMachines:
  - {{name: nva, vnet: vnet, subnet: nva, privateIpAddress: 10.0.1.4, ipForwarding: true, nsg: '', adminPassword: Passw0rd-12345}}
  - {{name: app, vnet: vnet, subnet: app, adminPassword: Passw0rd-12345}}
"
    ));
    let rows = &subnet_of(&t, "app").routes;
    let zero = net("0.0.0.0/0");
    assert!(
        rows.iter().any(|r| r.address_prefix == zero
            && r.source == RouteSource::Default
            && r.next_hop_type == NextHopType::Internet
            && r.state == RouteState::Invalid),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.address_prefix == zero && r.source == RouteSource::User && r.state == RouteState::Active)
    );
    assert!(!rows.iter().any(|r| r.next_hop_type == NextHopType::None), "{rows:#?}");
    let nva = nic(&t, "nva");
    assert_eq!(
        send_from(&t, "app", Ipv4Addr::new(8, 8, 8, 8), 443),
        Verdict::ToAppliance { nic: nva, nat: None }
    );
    // Private destinations outside the VNet follow the 0/0 too.
    assert_eq!(
        send_from(&t, "app", Ipv4Addr::new(172, 16, 0, 1), 443),
        Verdict::ToAppliance { nic: nva, nat: None }
    );
    // Inside the VNet: VnetLocal still wins.
    assert!(ssh(&t, "app", "nva"));
    // The UDR 0/0 puts 0/0 in the VirtualNetwork tag (§5.4): AllowVnetInBound
    // admits any port from the Internet, but the answer goes to the NVA.
    let (app, shell) = (nic(&t, "app"), Ipv4Addr::new(198, 51, 100, 7));
    let v = send(&t, Ingress::Internet, shell, pip(&t, "app"), "tcp", 8080);
    assert_eq!(
        v,
        Verdict::Deliver {
            nic: app,
            nat: Some(Rewrite::dst(ip(&t, "app")))
        }
    );
    let back = probe_packet(ip(&t, "app"), shell, "tcp", 8080, 40000, true).expect("reply");
    assert_eq!(
        decide(
            &t,
            &LbHealth::all_up(),
            &mut ConnTrack::new(),
            Ingress::Nic(app),
            &back,
            Instant::now()
        ),
        Verdict::ToAppliance { nic: nva, nat: None }
    );
}

// ---------------------------------------------------------------- 12. §10

#[test]
fn internet_egress_and_inbound() {
    let (_, t) = lab(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
virtualNetworks:
  - name: vnet
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: default, addressPrefix: 10.0.1.0/24}}
      - {{name: private, addressPrefix: 10.0.2.0/24, defaultOutboundAccess: false}}
virtualMachines:
  - {{name: vm1, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm2, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: nopip, vnet: vnet, subnet: default, publicIpAddress: '', adminPassword: Passw0rd-12345}}
  - {{name: priv, vnet: vnet, subnet: private, publicIpAddress: '', adminPassword: Passw0rd-12345}}
  - {{name: open, vnet: vnet, subnet: default, nsg: '', adminPassword: Passw0rd-12345}}
"
    ));
    let snat = pip(&t, "vm1");
    assert_eq!(
        send_from(&t, "vm1", Ipv4Addr::new(1, 1, 1, 1), 443),
        Verdict::ToInternet { snat }
    );
    // Another VM's public IP comes back in (see public_ip_hairpin).
    assert!(matches!(
        send_from(&t, "vm1", pip(&t, "vm2"), 22),
        Verdict::Hairpin { .. }
    ));
    assert_eq!(
        send_from(&t, "nopip", Ipv4Addr::new(1, 1, 1, 1), 443),
        Verdict::ToInternet {
            snat: vnetlab::dataplane::DEFAULT_OUTBOUND_IP
        }
    );
    assert_eq!(
        send_from(&t, "priv", Ipv4Addr::new(1, 1, 1, 1), 443),
        Verdict::Drop(DropReason::NoOutboundAccess { nic: nic(&t, "priv") })
    );
    let v = send(
        &t,
        Ingress::Internet,
        Ipv4Addr::new(198, 51, 100, 7),
        pip(&t, "open"),
        "tcp",
        22,
    );
    assert_eq!(v, Verdict::Drop(DropReason::PublicIpClosed { nic: nic(&t, "open") }));
    // An unknown public address is not ours.
    let v = send(
        &t,
        Ingress::Internet,
        Ipv4Addr::new(198, 51, 100, 7),
        Ipv4Addr::new(203, 0, 113, 250),
        "tcp",
        22,
    );
    assert!(matches!(v, Verdict::Drop(_)), "{v:?}");
}

#[test]
fn public_ip_hairpin() {
    let (_, t) = lab(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
virtualNetworks:
  - name: vnet
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: default, addressPrefix: 10.0.1.0/24}}
      - {{name: private, addressPrefix: 10.0.2.0/24, defaultOutboundAccess: false}}
  - name: other
    addressPrefixes: [10.9.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.9.1.0/24}}]
virtualMachines:
  - {{name: vm1, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: far, vnet: other, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: nopip, vnet: vnet, subnet: default, publicIpAddress: '', adminPassword: Passw0rd-12345}}
  - {{name: priv, vnet: vnet, subnet: private, publicIpAddress: '', adminPassword: Passw0rd-12345}}
  - {{name: open, vnet: vnet, subnet: default, nsg: '', adminPassword: Passw0rd-12345}}
"
    ));
    // Out through vm1's public IP, in through far's, though the VNets
    // are not peered: both translations at once.
    assert_eq!(
        send_from(&t, "vm1", pip(&t, "far"), 22),
        Verdict::Hairpin {
            nic: nic(&t, "far"),
            snat: pip(&t, "vm1"),
            dnat: ip(&t, "far"),
        }
    );
    assert!(!ssh(&t, "vm1", "far"), "no private path between unpeered VNets");
    assert!(works(&t, "vm1", pip(&t, "far"), "tcp", 22), "ssh to the public IP");
    // far's NSG (az vm create's: SSH only) sees traffic from the Internet.
    assert!(!works(&t, "vm1", pip(&t, "far"), "icmp", 0));
    assert!(!works(&t, "vm1", pip(&t, "far"), "tcp", 80));
    // Its own public IP too.
    assert!(works(&t, "vm1", pip(&t, "vm1"), "tcp", 22));

    // Without a public IP: default outbound access is the source.
    assert_eq!(
        send_from(&t, "nopip", pip(&t, "far"), 22),
        Verdict::Hairpin {
            nic: nic(&t, "far"),
            snat: vnetlab::dataplane::DEFAULT_OUTBOUND_IP,
            dnat: ip(&t, "far"),
        }
    );
    // ... and the answer to that address comes back to it.
    assert!(works(&t, "nopip", pip(&t, "far"), "tcp", 22));
    assert!(!works(&t, "nopip", pip(&t, "far"), "icmp", 0));
    // Without any outbound path it never leaves.
    assert_eq!(
        send_from(&t, "priv", pip(&t, "far"), 22),
        Verdict::Drop(DropReason::NoOutboundAccess { nic: nic(&t, "priv") })
    );
    // A Standard public IP with no NSG is closed to the Internet, also to a VM.
    assert_eq!(
        send_from(&t, "vm1", pip(&t, "open"), 22),
        Verdict::Drop(DropReason::PublicIpClosed { nic: nic(&t, "open") })
    );

    // From the Internet side, only the answer of a flow through default
    // outbound access reaches a VM without a public IP.
    let doip = vnetlab::dataplane::DEFAULT_OUTBOUND_IP;
    let shell = vnetlab::dataplane::CLOUD_SHELL_IP;
    let mut ct = ConnTrack::new();
    let now = Instant::now();
    let health = LbHealth::all_up();
    let answer = pkt(shell, doip, "tcp", 443, 40000);
    assert_eq!(
        decide(&t, &health, &mut ct, Ingress::Internet, &answer, now),
        Verdict::Drop(DropReason::NoPublicIp)
    );
    let out = pkt(ip(&t, "nopip"), shell, "tcp", 40000, 443);
    assert_eq!(
        decide(&t, &health, &mut ct, Ingress::Nic(nic(&t, "nopip")), &out, now),
        Verdict::ToInternet { snat: doip }
    );
    assert_eq!(
        decide(&t, &health, &mut ct, Ingress::Internet, &answer, now),
        Verdict::Deliver {
            nic: nic(&t, "nopip"),
            nat: Some(Rewrite::dst(ip(&t, "nopip"))),
        }
    );
    let other_port = pkt(shell, doip, "tcp", 443, 40001);
    assert_eq!(
        decide(&t, &health, &mut ct, Ingress::Internet, &other_port, now),
        Verdict::Drop(DropReason::NoPublicIp)
    );

    // explain says which way it went.
    let (ok, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "vm1")),
        pip(&t, "far"),
        "tcp",
        22,
        Instant::now(),
    );
    assert!(ok, "{}", e.summary);
    let all = format!("{}\n{}", e.summary, e.steps.join("\n"));
    assert!(
        all.contains("hairpin") && all.contains("comes back in through that public IP"),
        "{all}"
    );
    let (ok, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "vm1")),
        pip(&t, "far"),
        "icmp",
        0,
        Instant::now(),
    );
    assert!(!ok);
    assert!(e.summary.contains("DenyAllInBound"), "{}", e.summary);
}

// ---------------------------------------------------------------- 13. fragments

fn fragments(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> (Vec<u8>, Vec<u8>) {
    let mut whole = Vec::new();
    etherparse::PacketBuilder::ipv4(src.octets(), dst.octets(), 64)
        .udp(5000, 53)
        .write(&mut whole, &[7u8; 16])
        .expect("udp");
    let l4 = whole[20..].to_vec();
    let mk = |payload: &[u8], offset8: u16, more: bool| {
        let mut h = etherparse::Ipv4Header::new(
            payload.len() as u16,
            64,
            etherparse::IpNumber::UDP,
            src.octets(),
            dst.octets(),
        )
        .expect("header");
        h.identification = id;
        h.more_fragments = more;
        h.fragment_offset = etherparse::IpFragOffset::try_new(offset8).expect("offset");
        h.header_checksum = h.calc_header_checksum();
        let mut out = h.to_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    };
    (mk(&l4[..8], 0, true), mk(&l4[8..], 1, false))
}

#[test]
fn fragments_in_and_out_of_order() {
    let (_, t) = lab(&nsg_lab("  []", "", ""));
    let (n1, n2) = (nic(&t, "vm1"), nic(&t, "vm2"));
    let (first, later) = fragments(ip(&t, "vm1"), ip(&t, "vm2"), 4711);
    let now = Instant::now();
    let mut ct = ConnTrack::new();
    assert_eq!(
        decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(n1), &first, now),
        Verdict::Deliver { nic: n2, nat: None }
    );
    assert_eq!(
        decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(n1), &later, now),
        Verdict::Deliver { nic: n2, nat: None }
    );
    let mut fresh = ConnTrack::new();
    assert_eq!(
        decide(&t, &LbHealth::all_up(), &mut fresh, Ingress::Nic(n1), &later, now),
        Verdict::Drop(DropReason::FragmentOutOfOrder)
    );
}

// ---------------------------------------------------------------- 14. power state

#[test]
fn stopped_vm_gets_nothing() {
    let (_, t) = lab(&stopped_lab());
    let n2 = nic(&t, "vm2");
    assert!(!ssh(&t, "vm1", "vm2"));
    let v = send(
        &t,
        Ingress::Internet,
        Ipv4Addr::new(198, 51, 100, 7),
        pip(&t, "vm2"),
        "tcp",
        22,
    );
    assert_eq!(v, Verdict::Drop(DropReason::VmNotRunning { nic: n2 }));
    let v = send_from(&t, "vm2", ip(&t, "vm1"), 22);
    assert_eq!(v, Verdict::Drop(DropReason::VmNotRunning { nic: n2 }));
}

fn stopped_lab() -> String {
    format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
virtualNetworks:
  - name: vnet
    addressPrefixes: [10.0.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.0.1.0/24}}]
virtualMachines:
  - {{name: vm1, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm2, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345, running: false}}
"
    )
}

#[test]

fn stopped_vm_one_way_private() {
    let (_, t) = lab(&stopped_lab());
    let v = send_from(&t, "vm1", ip(&t, "vm2"), 22);
    assert_eq!(v, Verdict::Drop(DropReason::VmNotRunning { nic: nic(&t, "vm2") }));
}

#[test]
fn stopped_nva_blackholes() {
    // Azure: a UDR to a stopped appliance black-holes the traffic.
    let (mut m, _) = lab(&hub_nva(true, true, true));
    let vm = ResourceId::resource(
        DEFAULT_SUBSCRIPTION_ID,
        RG,
        vnetlab::model::COMPUTE,
        "virtualMachines",
        "nva",
    );
    m.apply(Change::SetPowerState {
        vm,
        state: PowerState::Stopped,
    })
    .expect("stop");
    let t = Tables::compile(&m, 2);
    let v = send_from(&t, "vm1", ip(&t, "vm2"), 22);
    assert_eq!(v, Verdict::Drop(DropReason::VmNotRunning { nic: nic(&t, "nva") }));
}

#[test]
fn subnet_nsg_filters_traffic_inside_the_subnet() {
    let (_, t) = lab(&format!(
        "resourceGroups: [{{name: {RG}, location: westeurope}}]
networkSecurityGroups:
  - name: subnet-nsg
    rules: [{{name: deny-ssh, priority: 100, access: Deny, protocol: Tcp, destinationPortRanges: ['22']}}]
virtualNetworks:
  - name: vnet
    addressPrefixes: [10.0.0.0/16]
    subnets: [{{name: default, addressPrefix: 10.0.1.0/24, networkSecurityGroup: subnet-nsg}}]
virtualMachines:
  - {{name: vm1, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345}}
  - {{name: vm2, vnet: vnet, subnet: default, adminPassword: Passw0rd-12345}}
"
    ));
    assert!(!ssh(&t, "vm1", "vm2"));
    assert!(ping(&t, "vm1", "vm2"));
}

// ------------------------------------------- §12.3 global peering and load balancers

fn lb_lab() -> (Model, Tables) {
    lab(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/labs/05-global-peering-load-balancers/topology.yaml"
    ))
    .expect("lab 05"))
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().expect("lab 05")
}

#[test]
fn standard_ilb_works_over_global_peering_basic_does_not() {
    let (_, t) = lb_lab();
    assert!(
        works(&t, "VM1", v4("10.2.0.100"), "tcp", 2222),
        "Standard ILB over global peering"
    );
    let v = send_from(&t, "VM1", v4("10.2.0.101"), 2222);
    assert!(
        matches!(v, Verdict::Drop(DropReason::BasicLbOverGlobalPeering { .. })),
        "{v:?}"
    );
    // The Basic backends' own addresses stay reachable.
    assert!(ssh(&t, "VM1", "basic-backend1") && ssh(&t, "VM1", "basic-backend2"));
    // Regional peering: the Basic frontend answers.
    assert!(works(&t, "VM3", v4("10.2.0.101"), "tcp", 2222));
    // Ping is not load-balanced.
    assert!(matches!(
        send(
            &t,
            Ingress::Nic(nic(&t, "VM1")),
            ip(&t, "VM1"),
            v4("10.2.0.100"),
            "icmp",
            0
        ),
        Verdict::Drop(DropReason::NoLbRule { .. })
    ));
    let (_, e) = round_trip(
        &t,
        &LbHealth::all_up(),
        Ingress::Nic(nic(&t, "VM1")),
        v4("10.2.0.101"),
        "tcp",
        2222,
        Instant::now(),
    );
    assert!(
        e.summary
            .contains("Basic load balancer frontends are not reachable over global VNet peering"),
        "{}",
        e.summary
    );
}

#[test]
fn the_frontend_port_is_translated_to_the_backend_port_and_back() {
    let (_, t) = lb_lab();
    let mut ct = ConnTrack::new();
    let now = Instant::now();
    let vm1 = nic(&t, "VM1");
    let req = pkt(ip(&t, "VM1"), v4("10.2.0.100"), "tcp", 40000, 2222);
    let Verdict::Deliver {
        nic: backend,
        nat: Some(r),
    } = decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(vm1), &req, now)
    else {
        panic!("not delivered")
    };
    assert!([nic(&t, "backend1"), nic(&t, "backend2")].contains(&backend));
    assert_eq!((r.ip, r.port), (t.nics[backend].ip, Some(22)));
    // The answer leaves the backend from its own address and port 22, and
    // reaches VM1 from the frontend's 10.2.0.100:2222.
    let back = probe_packet(t.nics[backend].ip, ip(&t, "VM1"), "tcp", 22, 40000, true).expect("lab 05");
    let Verdict::Deliver {
        nic: home,
        nat: Some(r),
    } = decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(backend), &back, now)
    else {
        panic!("answer not delivered")
    };
    assert_eq!((home, r.ip, r.port), (vm1, v4("10.2.0.100"), Some(2222)));
    // The flow stays on its backend.
    for _ in 0..5 {
        assert!(
            matches!(decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(vm1), &req, now), Verdict::Deliver { nic, .. } if nic == backend)
        );
    }
}

#[test]
fn new_flows_spread_over_healthy_backends_only() {
    let (_, t) = lb_lab();
    let (b1, b2) = (nic(&t, "backend1"), nic(&t, "backend2"));
    let now = Instant::now();
    let backend_of = |health: &LbHealth, ct: &mut ConnTrack, sport: u16| match decide(
        &t,
        health,
        ct,
        Ingress::Nic(nic(&t, "VM1")),
        &pkt(ip(&t, "VM1"), v4("10.2.0.100"), "tcp", sport, 2222),
        now,
    ) {
        Verdict::Deliver { nic, .. } => Some(nic),
        _ => None,
    };
    let (mut health, mut ct) = (LbHealth::all_up(), ConnTrack::new());
    let picks: Vec<Option<NicIdx>> = (40000..40064).map(|p| backend_of(&health, &mut ct, p)).collect();
    let ones = picks.iter().filter(|p| **p == Some(b1)).count();
    assert!((16..=48).contains(&ones), "64 flows, {ones} on backend1");
    // backend1's probe fails: new flows all go to backend2; flows already
    // pinned to backend1 stay (Standard).
    let lb = t.lbs.iter().find(|l| l.name == "std-ilb").expect("lab 05").key;
    health.set(lb, t.nics[b1].key, false);
    assert!((50000..50032).all(|p| backend_of(&health, &mut ct, p) == Some(b2)));
    let pinned = (40000..40064)
        .find(|p| picks[(*p - 40000) as usize] == Some(b1))
        .expect("lab 05");
    assert_eq!(backend_of(&health, &mut ct, pinned), Some(b1));
    health.set(lb, t.nics[b2].key, false);
    let v = decide(
        &t,
        &health,
        &mut ct,
        Ingress::Nic(nic(&t, "VM1")),
        &pkt(ip(&t, "VM1"), v4("10.2.0.100"), "tcp", 60000, 2222),
        now,
    );
    assert!(matches!(v, Verdict::Drop(DropReason::NoHealthyBackend { .. })), "{v:?}");
}

#[test]
fn probes_come_from_the_azure_host_and_nsgs_see_the_azure_load_balancer_tag() {
    let (_, t) = lb_lab();
    let b1 = nic(&t, "backend1");
    let mut ct = ConnTrack::new();
    let now = Instant::now();
    let probe = pkt(vnetlab::model::AZURE_HOST_IP, t.probe_alias(b1), "tcp", 33000, 22);
    assert_eq!(
        decide(&t, &LbHealth::all_up(), &mut ct, Ingress::AzureHost, &probe, now),
        Verdict::Deliver {
            nic: b1,
            nat: Some(Rewrite::dst(ip(&t, "backend1")))
        }
    );
    let answer = probe_packet(
        ip(&t, "backend1"),
        vnetlab::model::AZURE_HOST_IP,
        "tcp",
        22,
        33000,
        true,
    )
    .expect("lab 05");
    assert_eq!(
        decide(&t, &LbHealth::all_up(), &mut ct, Ingress::Nic(b1), &answer, now),
        Verdict::ToAzureHost {
            nat: Rewrite::src(t.probe_alias(b1))
        }
    );
}

#[test]
fn the_injected_cache_sits_behind_a_basic_ilb_and_the_private_endpoint_crosses_regions() {
    let (model, t) = lb_lab();
    // From VNet1 (Japan East) the cache's static IP is a Basic frontend
    // over global peering: it hangs.
    assert!(!works(&t, "VM1", v4("10.2.1.10"), "tcp", 6379));
    assert!(works(&t, "VM3", v4("10.2.1.10"), "tcp", 6379));
    // The plain port is open only with --enable-non-ssl-port; TLS always.
    assert!(works(&t, "VM3", v4("10.2.1.10"), "tcp", 6380));
    // The private endpoint in VNet1 reaches the other cache in Japan West.
    let pe = model
        .private_endpoints
        .values()
        .next()
        .expect("lab 05")
        .private_ip_address;
    assert!(works(&t, "VM1", pe, "tcp", 6379) && works(&t, "VM1", pe, "tcp", 6380));
    assert!(!works(&t, "VM1", pe, "icmp", 0), "private endpoints carry no ICMP");
    // Its /32 is an InterfaceEndpoint route in VNet1 and in VNets peered with it.
    for vm in ["VM1", "backend1"] {
        let s = subnet_of(&t, vm);
        assert!(
            s.routes.iter().any(|r| r.address_prefix == net(&format!("{pe}/32"))
                && r.next_hop_type == NextHopType::InterfaceEndpoint
                && r.source == RouteSource::Default),
            "{vm}"
        );
    }
    assert!(
        !subnet_of(&t, "VM3")
            .routes
            .iter()
            .any(|r| r.next_hop_type == NextHopType::InterfaceEndpoint),
        "VNet3 is not peered with VNet1"
    );
}

#[test]
fn a_vnet_to_vnet_connection_instead_of_peering_reaches_the_basic_frontend() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/labs/05-global-peering-load-balancers/topology.yaml"
    ))
    .expect("lab 05");
    let mut topo: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("lab 05");
    let vnets = topo["virtualNetworks"].as_sequence_mut().expect("lab 05");
    for v in vnets.iter_mut() {
        let name = v["name"].as_str().expect("lab 05").to_string();
        let subnets = v["subnets"].as_sequence_mut().expect("lab 05");
        if name == "VNet1" || name == "VNet2" {
            let prefix = if name == "VNet1" {
                "10.1.255.0/27"
            } else {
                "10.2.255.0/27"
            };
            if !subnets.iter().any(|s| s["name"] == "GatewaySubnet") {
                subnets.push(
                    serde_yaml_ng::from_str(&format!("{{name: GatewaySubnet, addressPrefix: {prefix}}}"))
                        .expect("lab 05"),
                );
            }
            v["peerings"] = serde_yaml_ng::from_str(if name == "VNet2" {
                "[{name: VNet2-to-VNet3, remoteVirtualNetwork: VNet3, allowVirtualNetworkAccess: true}]"
            } else {
                "[]"
            })
            .expect("lab 05");
        }
    }
    topo["virtualNetworkGateways"] = serde_yaml_ng::from_str("[{name: gw1, location: japaneast, vnet: VNet1, sku: VpnGw1}, {name: gw2, location: japanwest, vnet: VNet2, sku: VpnGw1}]").expect("lab 05");
    topo["connections"] = serde_yaml_ng::from_str("[{name: c12, location: japaneast, vnetGateway1: gw1, vnetGateway2: gw2, sharedKey: k}, {name: c21, location: japanwest, vnetGateway1: gw2, vnetGateway2: gw1, sharedKey: k}]").expect("lab 05");
    topo["privateEndpoints"] = serde_yaml_ng::from_str("[]").expect("lab 05");
    let (_, t) = lab(&serde_yaml_ng::to_string(&topo).expect("lab 05"));
    assert!(
        works(&t, "VM1", v4("10.2.0.101"), "tcp", 2222),
        "Basic ILB over VNet-to-VNet"
    );
    assert!(
        works(&t, "VM1", v4("10.2.1.10"), "tcp", 6379),
        "the injected cache over VNet-to-VNet"
    );
}

#[test]
fn load_balancer_and_cache_refusals_leave_the_model_as_it_was() {
    let (mut model, _) = lb_lab();
    let before = model.clone();
    let rg = |kind: &str, name: &str| ResourceId::network(DEFAULT_SUBSCRIPTION_ID, "lb-lab-rg", kind, name);
    let cache =
        |name: &str| ResourceId::resource(DEFAULT_SUBSCRIPTION_ID, "lb-lab-rg", "Microsoft.Cache", "redis", name);
    let vnet2 = rg("virtualNetworks", "VNet2");
    // A NIC cannot be in a Basic and a Standard pool.
    let both = vec![
        rg("loadBalancers", "std-ilb").child("backendAddressPools", "std-ilbbepool"),
        rg("loadBalancers", "basic-ilb").child("backendAddressPools", "basic-ilbbepool"),
    ];
    let e = model
        .apply(Change::SetBackendPools {
            nic: rg("networkInterfaces", "backend1VMNic"),
            pools: both,
        })
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed);
    // No private endpoint to a VNet-injected cache.
    let pe = vnetlab::model::PrivateEndpointSpec {
        id: rg("privateEndpoints", "pe2"),
        location: Some("japaneast".into()),
        subnet: rg("virtualNetworks", "VNet1").child("subnets", "default"),
        private_link_service_id: cache("lb-lab-cache"),
        group_ids: vec!["redisCache".into()],
        connection_name: "c".into(),
    };
    let e = model.apply(Change::PutPrivateEndpoint(pe)).expect_err("refused");
    assert!(e.message.contains("can't be used with a VNet-injected cache"), "{e}");
    // VNet injection is Premium only.
    let redis = vnetlab::model::RedisSpec {
        id: cache("std-in-vnet"),
        location: Some("japanwest".into()),
        sku: vnetlab::model::RedisSku::Standard,
        vm_size: "C1".into(),
        subnet: Some(vnet2.child("subnets", "redis")),
        static_ip: None,
        enable_non_ssl_port: false,
        redis_version: None,
    };
    let e = model.apply(Change::PutRedisCache(redis)).expect_err("refused");
    assert!(e.message.contains("only for Premium"), "{e}");
    // A cache's subnet holds caches only.
    let redis = vnetlab::model::RedisSpec {
        id: cache("in-backend"),
        location: Some("japanwest".into()),
        sku: vnetlab::model::RedisSku::Premium,
        vm_size: "P1".into(),
        subnet: Some(vnet2.child("subnets", "backend")),
        static_ip: None,
        enable_non_ssl_port: false,
        redis_version: None,
    };
    assert!(
        model
            .apply(Change::PutRedisCache(redis))
            .expect_err("refused")
            .message
            .contains("holds only Azure Cache for Redis")
    );
    // The frontend's address is taken.
    assert_eq!(
        model
            .apply(Change::DeleteVirtualNetwork(vnet2))
            .expect_err("refused")
            .code,
        ErrorCode::InUseSubnetCannotBeDeleted
    );
    assert_eq!(model, before);
}

#[test]
fn an_explanation_given_a_backend_down_names_the_backend_decide_picks() {
    use vnetlab::dataplane::Step;
    use vnetlab::dataplane::explain::{Explanation, explain};
    let (_, t) = lb_lab();
    let now = Instant::now();
    let vm1 = nic(&t, "VM1");
    let (b1, b2) = (nic(&t, "backend1"), nic(&t, "backend2"));
    let lb = t.lbs.iter().find(|l| l.name == "std-ilb").expect("lab 05").key;
    let req = pkt(ip(&t, "VM1"), v4("10.2.0.100"), "tcp", 40000, 2222);
    let chosen = |e: &Explanation| {
        e.raw_steps.iter().find_map(|s| match s {
            Step::Balance { nic, .. } => Some(*nic),
            _ => None,
        })
    };
    let up = explain(
        &t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        Ingress::Nic(vm1),
        &req,
        now,
    );
    let first = chosen(&up).expect("a backend");
    let other = if first == b1 { b2 } else { b1 };
    // The prober took the backend this flow would get out of rotation.
    let mut health = LbHealth::all_up();
    health.set(lb, t.nics[first].key, false);
    let e = explain(&t, &health, &mut ConnTrack::new(), Ingress::Nic(vm1), &req, now);
    assert_eq!(chosen(&e), Some(other), "{:?}", e.steps);
    let name = t.nics[other].vm.clone().expect("a VM");
    assert!(e.summary.contains(&name), "{}", e.summary);
    assert_eq!(
        decide(&t, &health, &mut ConnTrack::new(), Ingress::Nic(vm1), &req, now),
        e.verdict
    );
    assert!(matches!(e.verdict, Verdict::Deliver { nic, .. } if nic == other));
    // The round trip `vnetlab test` explains with gets there too.
    let (ok, e) = round_trip(&t, &health, Ingress::Nic(vm1), v4("10.2.0.100"), "tcp", 2222, now);
    assert!(ok, "{}", e.summary);
    assert_eq!(chosen(&e), Some(other), "{:?}", e.steps);
}

/// Issue 21: Azure's flow limit (500k each way per VM, here 2 for the
/// test): a new flow beyond it is dropped with a reason explain words,
/// while tracked flows keep passing; the receiver's inbound limit counts
/// too, and nothing of a refused flow is tracked.
#[test]
fn new_flows_beyond_the_flow_limit_are_dropped_and_tracked_ones_pass() {
    let (_, t) = lab(include_str!("../labs/01-peering-basics/topology.yaml"));
    let (sales, marketing) = (ip(&t, "SalesVM"), ip(&t, "MarketingVM"));
    let mut ct = ConnTrack::with_flow_limit(2);
    let now = Instant::now();
    let from_sales = |ct: &mut ConnTrack, sport: u16| {
        decide(
            &t,
            &LbHealth::all_up(),
            ct,
            Ingress::Nic(nic(&t, "SalesVM")),
            &pkt(sales, marketing, "tcp", sport, 22),
            now,
        )
    };
    assert!(matches!(from_sales(&mut ct, 40001), Verdict::Deliver { .. }));
    assert!(matches!(from_sales(&mut ct, 40002), Verdict::Deliver { .. }));
    assert_eq!(
        from_sales(&mut ct, 40003),
        Verdict::Drop(DropReason::FlowLimit {
            nic: nic(&t, "SalesVM"),
            direction: Direction::Outbound,
        })
    );
    // Tracked flows pass, in both directions.
    assert!(matches!(from_sales(&mut ct, 40001), Verdict::Deliver { .. }));
    let answer = decide(
        &t,
        &LbHealth::all_up(),
        &mut ct,
        Ingress::Nic(nic(&t, "MarketingVM")),
        &pkt(marketing, sales, "tcp", 22, 40002),
        now,
    );
    assert!(matches!(answer, Verdict::Deliver { .. }), "{answer:?}");
    let e = explain(
        &t,
        &LbHealth::all_up(),
        &mut ct,
        Ingress::Nic(nic(&t, "SalesVM")),
        &pkt(sales, marketing, "tcp", 40004, 22),
        now,
    );
    assert!(e.summary.contains("500000 outbound flows"), "{}", e.summary);
    // MarketingVM's inbound limit is full too (two flows in): a flow from
    // ResearchVM to it is refused there, and ResearchVM tracks nothing.
    let research = ip(&t, "ResearchVM");
    let v = decide(
        &t,
        &LbHealth::all_up(),
        &mut ct,
        Ingress::Nic(nic(&t, "ResearchVM")),
        &pkt(research, marketing, "tcp", 40005, 22),
        now,
    );
    assert_eq!(
        v,
        Verdict::Drop(DropReason::FlowLimit {
            nic: nic(&t, "MarketingVM"),
            direction: Direction::Inbound,
        })
    );
    assert_eq!(ct.len(), 4, "two flows, each at its sender and its receiver");
}

/// Azure's flow limit is per VM: a VM's NICs share it (500k each way over
/// all of them; here 2 for the test).
#[test]
fn the_flow_limit_is_shared_by_a_vms_nics() {
    let (mut model, _) = lab(include_str!("../labs/01-peering-basics/topology.yaml"));
    let vm_id = model
        .virtual_machines
        .keys()
        .find(|id| id.name() == "SalesVM")
        .cloned()
        .expect("SalesVM");
    let vm = model.virtual_machines[&vm_id].clone();
    let first = model.network_interfaces[&vm.network_interfaces[0]].clone();
    // `parent` of a NIC's ID is its provider path: the sibling NIC's ID.
    let second = first
        .id
        .parent()
        .expect("provider")
        .child("networkInterfaces", "SalesVMNic2");
    let changes = vec![
        Change::SetPowerState {
            vm: vm_id.clone(),
            state: PowerState::Deallocated,
        },
        Change::PutNetworkInterface(vnetlab::model::NicSpec {
            id: second.clone(),
            location: None,
            subnet: first.subnet.clone(),
            private_ip_address: None,
            enable_ip_forwarding: false,
            network_security_group: first.network_security_group.clone(),
            public_ip_address: None,
            dns_servers: None,
            ip_configuration_name: None,
        }),
        Change::PutVirtualMachine(vnetlab::model::VmSpec {
            id: vm_id.clone(),
            location: None,
            size: vm.size.clone(),
            image: vm.image.clone(),
            network_interfaces: vec![first.id.clone(), second.clone()],
            admin_username: vm.admin_username.clone(),
            admin_password: vm.admin_password.clone(),
            ssh_public_keys: vm.ssh_public_keys.clone(),
        }),
        Change::SetPowerState {
            vm: vm_id,
            state: PowerState::Running,
        },
    ];
    model
        .apply_all(changes)
        .unwrap_or_else(|(i, e)| panic!("change {i}: {e:?}"));
    let t = Tables::compile(&model, 2);
    let n1 = t.nics.position(|n| n.id == first.id).expect("first NIC compiled");
    let n2 = t.nics.position(|n| n.id == second).expect("second NIC compiled");
    assert_ne!(n1, n2);
    assert_eq!(t.nics[n1].flow_owner, t.nics[n2].flow_owner, "one VM, one owner");
    let marketing = ip(&t, "MarketingVM");
    let mut ct = ConnTrack::with_flow_limit(2);
    let now = Instant::now();
    let mut from = |x: NicIdx, sport: u16| {
        decide(
            &t,
            &LbHealth::all_up(),
            &mut ct,
            Ingress::Nic(x),
            &pkt(t.nics[x].ip, marketing, "tcp", sport, 22),
            now,
        )
    };
    assert!(matches!(from(n1, 40001), Verdict::Deliver { .. }));
    assert!(matches!(from(n2, 40002), Verdict::Deliver { .. }));
    assert_eq!(
        from(n1, 40003),
        Verdict::Drop(DropReason::FlowLimit {
            nic: n1,
            direction: Direction::Outbound,
        }),
        "two flows over the VM's two NICs fill its limit of 2"
    );
}

// ---------------------------------------------------------------- DNS (docs/dns.md)

use vnetlab::dns::{DnsView, resolve_as_vm};

/// Lab 08's topology with `zones` (items of a `privateDnsZones` list) added
/// to the zones it already has, its last key.
fn lab08(zones: &str) -> vnetlab::model::Model {
    let base =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/08-dns/topology.yaml")).expect("lab 08");
    assert!(
        base.trim_end().lines().rev().take_while(|l| l.starts_with(' ')).count() > 0
            && base.contains("\nprivateDnsZones:\n"),
        "lab 08 ends with its privateDnsZones list"
    );
    Topology::parse(&format!("{base}\n{zones}"))
        .expect("parses")
        .build()
        .expect("builds")
}

#[test]
fn zones_links_and_records_from_the_file_and_why_names_resolve() {
    let plain = lab08("");
    let view = DnsView::compile(&plain);
    let same = resolve_as_vm(&plain, &view, "AppVM1", "AppVM2").expect("a VM");
    assert_eq!(
        same.addresses,
        vec!["10.10.1.5".parse::<Ipv4Addr>().expect("an address")]
    );
    let across = resolve_as_vm(&plain, &view, "AppVM1", "DataVM").expect("a VM");
    assert!(across.addresses.is_empty());
    assert!(
        across.why.contains("DataVM is in DataVNet, peered with AppVNet"),
        "{}",
        across.why
    );

    let zoned = lab08(
        "  - name: private.contoso.com
    links:
      - { name: app, vnet: AppVNet, registrationEnabled: true }
      - { name: data, vnet: DataVNet }
    records:
      - { name: db, type: A, values: [10.20.1.100] }
      - { name: www, type: CNAME, ttl: 60, values: [db.private.contoso.com] }",
    );
    let zone = zoned
        .private_dns_zones
        .values()
        .find(|z| z.name == "private.contoso.com")
        .expect("the zone");
    assert_eq!(zone.virtual_network_links.len(), 2);
    assert_eq!(zone.record_sets.len(), 2);
    let view = DnsView::compile(&zoned);
    // AppVNet registers; DataVNet only resolves.
    let app = resolve_as_vm(&zoned, &view, "DataVM", "appvm2.private.contoso.com").expect("a VM");
    assert_eq!(
        app.addresses,
        vec!["10.10.1.5".parse::<Ipv4Addr>().expect("an address")]
    );
    let data = resolve_as_vm(&zoned, &view, "AppVM1", "datavm.private.contoso.com").expect("a VM");
    assert!(
        data.why.contains("linked to AppVNet but holds no record"),
        "{}",
        data.why
    );
    let www = resolve_as_vm(&zoned, &view, "AppVM1", "www.private.contoso.com").expect("a VM");
    assert_eq!(
        www.addresses,
        vec!["10.20.1.100".parse::<Ipv4Addr>().expect("an address")]
    );

    let bad = Topology::parse(
        "resourceGroups: [{name: g, location: westeurope}]
privateDnsZones: [{name: z.example, records: [{name: a, type: A, values: [not-an-ip]}]}]",
    )
    .expect("parses")
    .build();
    assert!(bad.expect_err("refused").to_string().contains("not-an-ip"));
}
