//! Paths through NVAs that the fabric alone cannot finish: an NVA its own
//! subnet routes back to itself, and NVAs routing into each other.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::words;
use crate::dataplane::conntrack::ConnTrack;
use crate::dataplane::health::LbHealth;
use crate::dataplane::index::NicIdx;
use crate::dataplane::simulate::{Stop, Trace, follow, probe_packet};
use crate::dataplane::tables::Tables;
use crate::dataplane::verdict::{DropReason, Ingress, Verdict};
use crate::topology::Topology;

/// vm (10.0.0.0/24) routes 10.50.0.0/16 to NVA a (10.0.1.4). NVA a's
/// subnet routes it to `a_next`, NVA b's subnet (10.0.2.0/24) to `b_next`.
fn tables(a_next: &str, b_next: &str) -> Tables {
    let yaml = format!(
        "resourceGroups: [{{name: rg, location: westeurope}}]
routeTables:
  - {{name: rt-vm, routes: [{{name: to-a, addressPrefix: 10.50.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: 10.0.1.4}}]}}
  - {{name: rt-a, routes: [{{name: from-a, addressPrefix: 10.50.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: {a_next}}}]}}
  - {{name: rt-b, routes: [{{name: from-b, addressPrefix: 10.50.0.0/16, nextHopType: VirtualAppliance, nextHopIpAddress: {b_next}}}]}}
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {{name: vms, addressPrefix: 10.0.0.0/24, routeTable: rt-vm}}
      - {{name: nva-a, addressPrefix: 10.0.1.0/24, routeTable: rt-a}}
      - {{name: nva-b, addressPrefix: 10.0.2.0/24, routeTable: rt-b}}
virtualMachines:
  - {{name: vm, vnet: hub, subnet: vms, nsg: '', adminPassword: Passw0rd-12345}}
  - {{name: a, vnet: hub, subnet: nva-a, privateIpAddress: 10.0.1.4, ipForwarding: true, nsg: '', adminPassword: Passw0rd-12345}}
  - {{name: b, vnet: hub, subnet: nva-b, privateIpAddress: 10.0.2.4, ipForwarding: true, nsg: '', adminPassword: Passw0rd-12345}}
"
    );
    let model = Topology::parse(&yaml)
        .unwrap_or_else(|e| panic!("parse: {e}"))
        .build()
        .unwrap_or_else(|e| panic!("build: {e}"));
    Tables::compile(&model, 1)
}

fn nic(t: &Tables, vm: &str) -> NicIdx {
    t.nic_of_vm(vm).unwrap_or_else(|| panic!("no VM {vm}"))
}

fn from_vm(t: &Tables) -> Trace {
    let vm = nic(t, "vm");
    let dst = Ipv4Addr::new(10, 50, 0, 9);
    let pkt = probe_packet(t.nics[vm].ip, dst, "tcp", 49152, 22, false).expect("a packet");
    follow(
        t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        Ingress::Nic(vm),
        &pkt,
        Instant::now(),
    )
}

/// NVA a's own subnet routes the prefix back to a (as a BGP route an NVA
/// announces reaches its own subnet): the simulation stops at a after one
/// hop, instead of re-entering it, and says its own routing decides.
#[test]
fn an_nva_routed_back_to_itself_stops_there() {
    let t = tables("10.0.1.4", "10.0.1.4");
    let a = nic(&t, "a");
    let trace = from_vm(&t);
    assert_eq!(trace.legs.len(), 1, "{:#?}", trace.legs);
    assert!(
        matches!(trace.stop, Some(Stop::AtAppliance { nic, route: Some(_) }) if nic == a),
        "{:?}",
        trace.stop
    );
    assert_eq!(trace.verdict(), Verdict::ToAppliance { nic: a, nat: None });
    let e = words(&t, &trace);
    assert_eq!(e.appliances, [a]);
    assert!(
        e.summary
            .starts_with("handed to the network virtual appliance a (10.0.1.4")
            && e.summary.contains("its own routing")
            && e.summary.contains("vnetlab exec --lab LAB a -- ip route get 10.50.0.9"),
        "{}",
        e.summary
    );
    assert!(
        e.steps
            .last()
            .is_some_and(|s| s.contains("from-a") && s.contains("straight back to it")),
        "{:#?}",
        e.steps
    );
}

/// a's subnet routes to b, b's to a: a real loop, reported as one with
/// its hops as soon as the packet is back at a.
#[test]
fn two_nvas_routing_into_each_other_are_a_loop() {
    let t = tables("10.0.2.4", "10.0.1.4");
    let (a, b) = (nic(&t, "a"), nic(&t, "b"));
    let trace = from_vm(&t);
    assert_eq!(trace.stop, Some(Stop::Loop { hops: vec![a, b] }));
    assert_eq!(trace.legs.len(), 3, "{:#?}", trace.legs);
    assert_eq!(trace.verdict(), Verdict::Drop(DropReason::RoutingLoop));
    let e = words(&t, &trace);
    assert!(
        e.summary.starts_with("dropped: routing loop")
            && e.summary.contains("a (10.0.1.4, NIC aVMNic) -> b (10.0.2.4")
            && e.summary.ends_with("until its TTL runs out"),
        "{}",
        e.summary
    );
}

/// a's subnet routes to b, b's to b itself: followed through a, stopped
/// at b, and the summary names both.
#[test]
fn a_chain_of_nvas_stops_at_the_last_one() {
    let t = tables("10.0.2.4", "10.0.2.4");
    let (a, b) = (nic(&t, "a"), nic(&t, "b"));
    let trace = from_vm(&t);
    assert!(matches!(trace.stop, Some(Stop::AtAppliance { nic, .. }) if nic == b));
    let e = words(&t, &trace);
    assert_eq!(e.appliances, [a, b]);
    assert!(
        e.summary
            .starts_with("through the network virtual appliance a (10.0.1.4")
            && e.summary
                .contains(": handed to the network virtual appliance b (10.0.2.4"),
        "{}",
        e.summary
    );
}

/// The reported case: an on-premises machine's packet to a prefix an NVA
/// announces, through a VPN gateway whose Route Server has branch-to-branch
/// on. The NVA's subnet learns the same route, back to the NVA: explain
/// stops at the NVA instead of re-entering it eight times.
#[test]
fn a_site_packet_to_an_nva_announced_prefix_stops_at_the_nva() {
    let model = Topology::parse(
        "resourceGroups: [{name: rg, location: westeurope}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets:
      - {name: RouteServerSubnet, addressPrefix: 10.0.1.0/27}
      - {name: nva-subnet, addressPrefix: 10.0.2.0/24}
      - {name: GatewaySubnet, addressPrefix: 10.0.255.0/27}
routeServers:
  - name: rs
    vnet: hub
    subnet: RouteServerSubnet
    allowBranchToBranchTraffic: true
    peerings: [{name: nva, peerIp: 10.0.2.4, peerAsn: 65001, advertisedPrefixes: [192.168.100.0/24]}]
virtualMachines:
  - {name: nva, vnet: hub, subnet: nva-subnet, privateIpAddress: 10.0.2.4, ipForwarding: true, publicIpAddress: '', nsg: '', adminPassword: Passw0rd-12345}
virtualNetworkGateways: [{name: gw, vnet: hub, gatewayType: Vpn, sku: VpnGw1}]
localNetworkGateways: [{name: site, gatewayIpAddress: 203.0.113.250, localAddressPrefixes: [192.168.10.0/24]}]
connections: [{name: to-site, vnetGateway1: gw, localGateway2: site, sharedKey: Shared-Key-2026}]
",
    )
    .unwrap_or_else(|e| panic!("parse: {e}"))
    .build()
    .unwrap_or_else(|e| panic!("build: {e}"));
    let t = Tables::compile(&model, 1);
    let lng = model.local_network_gateways.keys().next().expect("a site").clone();
    let dst = Ipv4Addr::new(192, 168, 100, 1);
    let (ingress, _, _) = super::site_ingress(&model, &t, &lng, dst).expect("the site routes it");
    let pkt = probe_packet(Ipv4Addr::new(192, 168, 10, 10), dst, "icmp", 4242, 4242, false).expect("a packet");
    let trace = follow(
        &t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        ingress,
        &pkt,
        Instant::now(),
    );
    let nva = nic(&t, "nva");
    assert!(
        matches!(trace.stop, Some(Stop::AtAppliance { nic, .. }) if nic == nva),
        "{:?}",
        trace.stop
    );
    let e = words(&t, &trace);
    assert_eq!(e.appliances, [nva]);
    assert!(
        e.summary
            .starts_with("handed to the network virtual appliance nva (10.0.2.4")
            && !e.summary.contains("then"),
        "{}",
        e.summary
    );
}
