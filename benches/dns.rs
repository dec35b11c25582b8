//! DNS benchmarks (issue 17 item 8): what Azure-provided DNS costs.
//!
//! * `dns/answer_mix`: `dns::answer` on lab 08 (labs/08-dns/topology.yaml)
//!   for a query from AppVM1, cycling through five questions: a VM of the
//!   same VNet by bare name, the same by `<vm>.internal.cloudapp.net`, an A
//!   record in a linked private zone, a VM across the peering (NXDOMAIN) and
//!   an external name (NXDOMAIN at once). One query per iteration on one
//!   thread: 1e9 / mean ns is the queries/s one core answers, wire decoding
//!   and encoding (hickory-proto) included, sockets excluded.
//! * `dns/view_compile_lab08`, `dns/view_compile_500`: `DnsView::compile`,
//!   which the daemon runs beside `Tables::compile` on every model change,
//!   for lab 08 and for 500 VNets of one VM each, in five registration
//!   zones of 100 links (Azure's most) and one zone linked to all.
//! * `dns/verdict_vm_to_vm`, `dns/verdict_dns_query`: the verdict of an
//!   established TCP flow AppVM1 -> AppVM2 (a non-DNS packet: the only DNS
//!   work on its path is the `dst == 168.63.129.16` comparison, which the
//!   health probes already had) and of a UDP query to 168.63.129.16:53 on a
//!   new source port each time (the AzurePlatformDNS NSG pass and a
//!   conntrack entry).
//!
//! `scripts/bench dns` runs this and prints a summary.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use vnetlab::dataplane::explain::probe_packet;
use vnetlab::dataplane::{ConnTrack, Ingress, LbHealth, Tables, Verdict, decide};
use vnetlab::dns::{self, AskerCtx, DnsView};
use vnetlab::model::{AZURE_HOST_IP, Model};
use vnetlab::topology::Topology;

fn lab08() -> Model {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/08-dns/topology.yaml");
    let text = std::fs::read_to_string(path).expect("labs/08-dns/topology.yaml");
    Topology::parse(&text).and_then(|t| t.build()).expect("lab 08 builds")
}

/// `n` VNets 10.(i/250+1).(i%250).0/24 with one VM each; registration
/// zones `r<k>.contoso.com` linked to 100 VNets each (Azure's most per
/// zone), and `shared.contoso.com` linked to all without registration.
fn many_vnets(n: usize) -> Model {
    let mut y = String::from("resourceGroups: [{name: bench-rg, location: westeurope}]\nvirtualNetworks:\n");
    for i in 0..n {
        let (a, b) = (i / 250 + 1, i % 250);
        let _ = writeln!(
            y,
            "  - {{name: v{i}, location: westeurope, addressPrefixes: [10.{a}.{b}.0/24], \
             subnets: [{{name: s, addressPrefix: 10.{a}.{b}.0/24}}]}}"
        );
    }
    y.push_str("virtualMachines:\n");
    for i in 0..n {
        let _ = writeln!(
            y,
            "  - {{name: vm{i}, location: westeurope, vnet: v{i}, subnet: s, adminUsername: azureuser, \
             adminPassword: \"Bench-Dns-2026!\"}}"
        );
    }
    y.push_str("privateDnsZones:\n");
    for (k, chunk) in (0..n).collect::<Vec<_>>().chunks(100).enumerate() {
        let _ = writeln!(y, "  - name: r{k}.contoso.com\n    links:");
        for i in chunk {
            let _ = writeln!(y, "      - {{name: l{i}, vnet: v{i}, registrationEnabled: true}}");
        }
    }
    y.push_str("  - name: shared.contoso.com\n    records: [{name: db, type: A, values: [10.0.0.9]}]\n    links:\n");
    for i in 0..n {
        let _ = writeln!(y, "      - {{name: s{i}, vnet: v{i}}}");
    }
    Topology::parse(&y)
        .and_then(|t| t.build())
        .expect("the generated lab builds")
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` (CI, a debug
/// build) runs each bench once without it: a smoke test that must stay
/// fast, so the large model is smaller there.
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn query(name: &str, id: u16) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).expect("a name"), RecordType::A));
    m.to_vec().expect("a query encodes")
}

fn rcode(reply: &[u8]) -> u8 {
    reply[3] & 0x0f
}

fn answers(c: &mut Criterion) {
    let model = lab08();
    let view = DnsView::compile(&model);
    let app = model
        .virtual_networks
        .keys()
        .find(|id| id.name() == "AppVNet")
        .expect("AppVNet")
        .clone();
    let asker = AskerCtx {
        vnet: app,
        vm: "AppVM1".into(),
    };
    // (question, expected rcode): 0 NOERROR, 3 NXDOMAIN.
    let mix = [
        ("AppVM2", 0),
        ("appvm2.internal.cloudapp.net", 0),
        ("dnslab-cache.privatelink.redis.cache.windows.net", 0),
        ("DataVM", 3),
        ("www.example.com", 3),
    ];
    let queries: Vec<Vec<u8>> = mix
        .iter()
        .enumerate()
        .map(|(i, (name, want))| {
            let q = query(name, i as u16);
            let reply = dns::answer(&view, &asker, &q).expect("an answer");
            assert_eq!(rcode(&reply), *want, "{name}");
            q
        })
        .collect();

    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(4));
    g.warm_up_time(Duration::from_secs(1));
    let mut i = 0;
    g.bench_function("answer_mix", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(dns::answer(&view, &asker, black_box(&queries[i])))
        })
    });

    g.bench_function("view_compile_lab08", |b| {
        b.iter(|| black_box(DnsView::compile(black_box(&model))))
    });
    let built = Instant::now();
    let n = if measuring() { 500 } else { 20 };
    let big = many_vnets(n);
    eprintln!("built the {n}-VNet model in {:?}", built.elapsed());
    g.bench_function("view_compile_500", |b| {
        b.iter(|| black_box(DnsView::compile(black_box(&big))))
    });

    let t = Tables::compile(&model, 1);
    let vm1 = t.nic_of_vm("AppVM1").expect("AppVM1 NIC");
    let vm2 = t.nic_of_vm("AppVM2").expect("AppVM2 NIC");
    let (now, health) = (Instant::now(), LbHealth::all_up());
    let syn = probe_packet(t.nics[vm1].ip, t.nics[vm2].ip, "tcp", 49152, 22, false).expect("probe packet");
    let mut ct = ConnTrack::new();
    let first = decide(&t, &health, &mut ct, Ingress::Nic(vm1), &syn, now);
    assert!(
        matches!(first, Verdict::Deliver { nic, .. } if nic == vm2),
        "got {first:?}"
    );
    g.bench_function("verdict_vm_to_vm", |b| {
        b.iter(|| black_box(decide(&t, &health, &mut ct, Ingress::Nic(vm1), black_box(&syn), now)))
    });

    let mut pkt = probe_packet(t.nics[vm1].ip, AZURE_HOST_IP, "udp", 49152, 53, false).expect("probe packet");
    let mut ct = ConnTrack::new();
    let mut n: u16 = 0;
    let first = decide(&t, &health, &mut ct, Ingress::Nic(vm1), &pkt, now);
    assert!(matches!(first, Verdict::ToAzureHost { .. }), "got {first:?}");
    g.bench_function("verdict_dns_query", |b| {
        b.iter(|| {
            // A new source port each query, as a stub resolver picks one;
            // the conntrack is reset before it grows past 16 k flows.
            n = n.wrapping_add(1);
            if n & 0x3FFF == 0 {
                ct = ConnTrack::new();
            }
            pkt[20..22].copy_from_slice(&(1024 + (n & 0x3FFF)).to_be_bytes());
            black_box(decide(&t, &health, &mut ct, Ingress::Nic(vm1), black_box(&pkt), now))
        })
    });
    g.finish();
}

criterion_group!(benches, answers);
criterion_main!(benches);
