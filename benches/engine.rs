//! Engine benchmarks: the per-packet verdict and the table compiler.
//!
//! * `verdicts/established`: a tracked TCP flow spoke VM -> hub VM
//!   (conntrack hit), with 1,000 UDRs in the spoke's route table.
//! * `verdicts/new_flow`: the same path, but every packet is a new flow
//!   (ports vary), so routing and both NSG evaluations run.
//! * `verdicts/lpm_baseline`: a bare `Lpm` lookup on the same prefixes,
//!   the in-run yardstick the verdict throughput is compared to.
//! * `compile/hub_spoke_500`: `Tables::compile` of a hub with 500 peered
//!   spokes, one VM each.
//!
//! `scripts/bench` runs this and prints a summary.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::Ipv4Net;
use vnetlab::dataplane::explain::probe_packet;
use vnetlab::dataplane::{ConnTrack, Ingress, LbHealth, Tables, Verdict, decide};
use vnetlab::model::{
    Change, DEFAULT_SUBSCRIPTION_ID, Model, NicSpec, PeeringSpec, ResourceId, RouteSpec, SubnetSpec, VmSpec, VnetSpec,
};
use vnetlab::routing::Lpm;

const RG: &str = "bench-rg";
const LOCATION: &str = "westeurope";
const UDRS: usize = 1000;

fn net(kind: &str, name: &str) -> ResourceId {
    ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, kind, name)
}

fn rg_change() -> Change {
    Change::PutResourceGroup {
        subscription: DEFAULT_SUBSCRIPTION_ID.into(),
        name: RG.into(),
        location: LOCATION.into(),
    }
}

fn vnet_changes(name: &str, space: &str, subnet: &str, route_table: Option<ResourceId>) -> Vec<Change> {
    let id = net("virtualNetworks", name);
    vec![
        Change::PutVirtualNetwork(VnetSpec {
            id: id.clone(),
            location: Some(LOCATION.into()),
            address_prefixes: vec![space.into()],
            flow_timeout_in_minutes: None,
            dns_servers: None,
        }),
        Change::PutSubnet(SubnetSpec {
            id: id.child("subnets", "default"),
            address_prefix: subnet.into(),
            network_security_group: None,
            route_table,
            default_outbound_access: None,
        }),
    ]
}

/// NIC (with its own, empty NSG: the default rules apply) and VM.
fn vm_changes(name: &str, vnet: &str) -> Vec<Change> {
    let nic = net("networkInterfaces", &format!("{name}VMNic"));
    let nsg = net("networkSecurityGroups", &format!("{name}NSG"));
    vec![
        Change::PutNetworkSecurityGroup {
            id: nsg.clone(),
            location: Some(LOCATION.into()),
        },
        Change::PutNetworkInterface(NicSpec {
            ip_configuration_name: None,
            id: nic.clone(),
            location: Some(LOCATION.into()),
            subnet: net("virtualNetworks", vnet).child("subnets", "default"),
            private_ip_address: None,
            enable_ip_forwarding: false,
            network_security_group: Some(nsg),
            public_ip_address: None,
            dns_servers: None,
        }),
        Change::PutVirtualMachine(VmSpec {
            id: ResourceId::resource(
                DEFAULT_SUBSCRIPTION_ID,
                RG,
                "Microsoft.Compute",
                "virtualMachines",
                name,
            ),
            location: Some(LOCATION.into()),
            size: "Standard_D2s_v5".into(),
            image: "Ubuntu2404".into(),
            network_interfaces: vec![nic],
            admin_username: "azureuser".into(),
            admin_password: Some("Password1234!".into()),
            ssh_public_keys: vec![],
        }),
    ]
}

fn peering_changes(a: &str, b: &str) -> Vec<Change> {
    let one = |from: &str, to: &str| {
        Change::PutPeering(PeeringSpec {
            id: net("virtualNetworks", from).child("virtualNetworkPeerings", &format!("{from}-to-{to}")),
            remote_virtual_network: net("virtualNetworks", to),
            allow_virtual_network_access: true,
            allow_forwarded_traffic: false,
            allow_gateway_transit: false,
            use_remote_gateways: false,
            principal: None,
        })
    };
    vec![one(a, b), one(b, a)]
}

/// `n` distinct pseudo-random prefixes (/16../28) inside 20.0.0.0/8..59.0.0.0/8,
/// far from the VNets' 10.0.0.0/8 space. Deterministic (xorshift).
fn udr_prefixes(n: usize) -> Vec<Ipv4Net> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 16 + (x % 13) as u8;
        let first = 20 + ((x >> 8) % 40) as u32;
        let addr = (first << 24) | ((x >> 16) as u32 & 0x00FF_FFFF);
        let Ok(p) = Ipv4Net::new(Ipv4Addr::from(addr), len) else {
            continue;
        };
        let p = p.trunc();
        if seen.insert(p) {
            out.push(p);
        }
    }
    out
}

/// Hub 10.0.0.0/16 and spoke 10.1.0.0/16, one VM each, peered both ways; the
/// spoke subnet carries a route table with 1,000 UDRs.
fn verdict_model(prefixes: &[Ipv4Net]) -> Model {
    let rt = net("routeTables", "spoke-rt");
    let mut changes = vec![
        rg_change(),
        Change::PutRouteTable {
            id: rt.clone(),
            location: Some(LOCATION.into()),
            disable_bgp_route_propagation: false,
        },
    ];
    for (i, p) in prefixes.iter().enumerate() {
        let (hop, ip) = match i % 3 {
            0 => ("VirtualAppliance", Some("10.0.1.4".to_string())),
            1 => ("None", None),
            _ => ("Internet", None),
        };
        changes.push(Change::PutRoute(RouteSpec {
            id: rt.child("routes", &format!("udr{i}")),
            address_prefix: p.to_string(),
            next_hop_type: hop.into(),
            next_hop_ip_address: ip,
        }));
    }
    changes.extend(vnet_changes("hub", "10.0.0.0/16", "10.0.1.0/24", None));
    changes.extend(vnet_changes("spoke", "10.1.0.0/16", "10.1.1.0/24", Some(rt)));
    changes.extend(vm_changes("hubvm", "hub"));
    changes.extend(vm_changes("spokevm", "spoke"));
    changes.extend(peering_changes("hub", "spoke"));
    let mut m = Model::new();
    if let Err((i, e)) = m.apply_all(changes) {
        panic!("verdict model refused change {i}: {e:?}");
    }
    m
}

/// Hub 10.0.0.0/16 and `n` spokes 10.(i/250+1).(i%250).0/24, one subnet and
/// one VM each, peered with the hub both ways.
fn hub_spoke_model(n: usize) -> Model {
    let mut changes = vec![rg_change()];
    changes.extend(vnet_changes("hub", "10.0.0.0/16", "10.0.1.0/24", None));
    changes.extend(vm_changes("hubvm", "hub"));
    for i in 0..n {
        let (a, b) = (i / 250 + 1, i % 250);
        let name = format!("spoke{i}");
        changes.extend(vnet_changes(
            &name,
            &format!("10.{a}.{b}.0/24"),
            &format!("10.{a}.{b}.0/25"),
            None,
        ));
        changes.extend(vm_changes(&format!("vm{i}"), &name));
        changes.extend(peering_changes("hub", &name));
    }
    let mut m = Model::new();
    if let Err((i, e)) = m.apply_all(changes) {
        panic!("hub-and-spoke model refused change {i}: {e:?}");
    }
    m
}

fn verdicts(c: &mut Criterion) {
    let prefixes = udr_prefixes(UDRS);
    let model = verdict_model(&prefixes);
    let t = Tables::compile(&model, 1);
    let spoke = t.nic_of_vm("spokevm").expect("spoke VM NIC");
    let hub = t.nic_of_vm("hubvm").expect("hub VM NIC");
    let (src, dst) = (t.nics[spoke].ip, t.nics[hub].ip);
    let (now, health) = (Instant::now(), LbHealth::all_up());

    let mut g = c.benchmark_group("verdicts");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(4));
    g.warm_up_time(Duration::from_secs(1));

    // (i) established: prime the conntrack, then every packet is a hit.
    let syn = probe_packet(src, dst, "tcp", 49152, 443, false).expect("probe packet");
    let mut ct = ConnTrack::new();
    let first = decide(&t, &health, &mut ct, Ingress::Nic(spoke), &syn, now);
    assert!(
        matches!(first, Verdict::Deliver { nic, .. } if nic == hub),
        "spoke -> hub must deliver, got {first:?}"
    );
    g.bench_function("established", |b| {
        b.iter(|| black_box(decide(&t, &health, &mut ct, Ingress::Nic(spoke), black_box(&syn), now)))
    });

    // (ii) new flows: the ports change every packet (TCP header at offset
    // 20: sport, dport); the conntrack is reused and rarely reset.
    let mut pkt = syn.clone();
    let mut ct = ConnTrack::new();
    let mut n: u32 = 0;
    g.bench_function("new_flow", |b| {
        b.iter(|| {
            n += 1;
            if n == 1 << 18 {
                n = 1;
                ct = ConnTrack::new();
            }
            let sport = 1024 + (n & 0x3FFF) as u16;
            let dport = 1 + (n >> 14) as u16;
            pkt[20..22].copy_from_slice(&sport.to_be_bytes());
            pkt[22..24].copy_from_slice(&dport.to_be_bytes());
            black_box(decide(&t, &health, &mut ct, Ingress::Nic(spoke), black_box(&pkt), now))
        })
    });
    let check = decide(&t, &health, &mut ConnTrack::new(), Ingress::Nic(spoke), &pkt, now);
    assert!(
        matches!(check, Verdict::Deliver { .. }),
        "new flow must deliver, got {check:?}"
    );

    // Baseline: the bare LPM on the same 1,000 prefixes plus the VNet and
    // default routes, looking up the same destination.
    let mut lpm: Lpm<u32> = Lpm::new();
    for (i, p) in prefixes.iter().enumerate() {
        lpm.insert(*p, i as u32);
    }
    for (i, p) in ["10.0.0.0/16", "10.1.0.0/16", "0.0.0.0/0"].iter().enumerate() {
        lpm.insert(p.parse().expect("prefix"), (UDRS + i) as u32);
    }
    g.bench_function("lpm_baseline", |b| {
        b.iter(|| black_box(lpm.lookup(black_box(dst)).copied()))
    });
    g.finish();
}

fn compile(c: &mut Criterion) {
    let built = Instant::now();
    let model = hub_spoke_model(500);
    eprintln!("built the 500-spoke model in {:?}", built.elapsed());
    let t = Tables::compile(&model, 1);
    assert_eq!(t.vnets.len(), 501);
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.warm_up_time(Duration::from_secs(1));
    g.bench_function("hub_spoke_500", |b| {
        b.iter(|| black_box(Tables::compile(black_box(&model), 1)))
    });
    g.finish();
}

criterion_group!(benches, verdicts, compile);
criterion_main!(benches);
