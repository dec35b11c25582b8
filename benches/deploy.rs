#![allow(unsafe_code)] // a counting global allocator is unsafe by nature
//! A 500-resource ARM template (100 spokes, each a VNet with a subnet, an
//! NSG, a route table, a NIC and a VM, made by copy loops) evaluated and
//! deployed into an empty lab in memory, beside the same resources applied
//! as a topology file, in the same run: time (best of a few rounds) and
//! peak heap (a counting allocator). `scripts/bench deploy` runs this; it
//! prints template/topology ratios, no pass/fail (issue 16 item 7).
//! `SPOKES=N` changes the size (5 resources per spoke). Run by
//! `cargo test --all-targets` (no `--bench` argument) it is a smoke test:
//! 10 spokes, one round, fast in a debug build.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vnetlab::arm::template;
use vnetlab::model::{Model, ResourceId};
use vnetlab::topology::Topology;

/// The system allocator, counting the bytes live now and at their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const GROUP: &str = "resourceGroups:\n  - {name: bench-rg, location: westeurope}\n";

/// The template: one copy loop per resource type over `spokes`.
fn spoke_template() -> Value {
    // Names are format patterns over the copy index: `vm{0}-nic`.
    let name = |pattern: &str| format!("[format('{pattern}', copyIndex())]");
    let copy = |n: &str| json!({ "name": n, "count": "[parameters('spokes')]" });
    let id = |typ: &str, pattern: &str| format!("[resourceId('{typ}', format('{pattern}', copyIndex()))]");
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "spokes": { "type": "int", "minValue": 1, "maxValue": 250 },
            "adminPassword": { "type": "securestring" }
        },
        "resources": [
            { "type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2024-05-01", "name": name("nsg{0}"),
              "location": "[resourceGroup().location]", "copy": copy("nsgs"),
              "properties": { "securityRules": [{ "name": "ssh", "properties": {
                  "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                  "sourceAddressPrefix": "*", "sourcePortRange": "*",
                  "destinationAddressPrefix": "*", "destinationPortRange": "22" } }] } },
            { "type": "Microsoft.Network/routeTables", "apiVersion": "2024-05-01", "name": name("rt{0}"),
              "location": "[resourceGroup().location]", "copy": copy("rts"),
              "properties": { "routes": [{ "name": "blackhole", "properties": {
                  "addressPrefix": "192.168.0.0/16", "nextHopType": "None" } }] } },
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": name("vnet{0}"),
              "location": "[resourceGroup().location]", "copy": copy("vnets"),
              "dependsOn": [id("Microsoft.Network/networkSecurityGroups", "nsg{0}"), id("Microsoft.Network/routeTables", "rt{0}")],
              "properties": {
                  "addressSpace": { "addressPrefixes": ["[format('10.{0}.0.0/16', copyIndex())]"] },
                  "subnets": [{ "name": "default", "properties": {
                      "addressPrefix": "[format('10.{0}.0.0/24', copyIndex())]",
                      "networkSecurityGroup": { "id": id("Microsoft.Network/networkSecurityGroups", "nsg{0}") },
                      "routeTable": { "id": id("Microsoft.Network/routeTables", "rt{0}") } } }] } },
            { "type": "Microsoft.Network/networkInterfaces", "apiVersion": "2024-05-01", "name": name("vm{0}-nic"),
              "location": "[resourceGroup().location]", "copy": copy("nics"),
              "dependsOn": [id("Microsoft.Network/virtualNetworks", "vnet{0}")],
              "properties": { "ipConfigurations": [{ "name": "ipconfig1", "properties": {
                  "privateIPAllocationMethod": "Dynamic",
                  "subnet": { "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', format('vnet{0}', copyIndex()), 'default')]" } } }] } },
            { "type": "Microsoft.Compute/virtualMachines", "apiVersion": "2024-07-01", "name": name("vm{0}"),
              "location": "[resourceGroup().location]", "copy": copy("vms"),
              "dependsOn": [id("Microsoft.Network/networkInterfaces", "vm{0}-nic")],
              "properties": {
                  "hardwareProfile": { "vmSize": "Standard_B1s" },
                  "storageProfile": { "imageReference": { "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest" } },
                  "osProfile": { "computerName": "[format('vm{0}', copyIndex())]", "adminUsername": "azureuser", "adminPassword": "[parameters('adminPassword')]" },
                  "networkProfile": { "networkInterfaces": [{ "id": id("Microsoft.Network/networkInterfaces", "vm{0}-nic") }] } } }
        ]
    })
}

/// The same resources as a topology file.
fn spoke_topology(spokes: usize) -> String {
    let mut y = String::from(GROUP);
    y.push_str("networkSecurityGroups:\n");
    for i in 0..spokes {
        y.push_str(&format!(
            "  - {{name: nsg{i}, rules: [{{name: ssh, priority: 100, protocol: Tcp, destinationPortRanges: ['22']}}]}}\n"
        ));
    }
    y.push_str("routeTables:\n");
    for i in 0..spokes {
        y.push_str(&format!(
            "  - {{name: rt{i}, routes: [{{name: blackhole, addressPrefix: 192.168.0.0/16, nextHopType: None}}]}}\n"
        ));
    }
    y.push_str("virtualNetworks:\n");
    for i in 0..spokes {
        y.push_str(&format!("  - {{name: vnet{i}, addressPrefixes: [10.{i}.0.0/16], subnets: [{{name: default, addressPrefix: 10.{i}.0.0/24, networkSecurityGroup: nsg{i}, routeTable: rt{i}}}]}}\n"));
    }
    y.push_str("virtualMachines:\n");
    for i in 0..spokes {
        y.push_str(&format!(
            "  - {{name: vm{i}, vnet: vnet{i}, subnet: default, publicIpAddress: '', nsg: '', adminPassword: Bench-Deploy-2026!}}\n"
        ));
    }
    y
}

/// Best time of `rounds` runs of `f`, and the peak heap above what was
/// live before it, in bytes; `f`'s result from the last round.
fn measure<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, usize, T) {
    let mut best = Duration::MAX;
    let mut peak = 0;
    let mut last = None;
    for _ in 0..rounds {
        drop(last.take());
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
        last = Some(out);
    }
    (best, peak, last.expect("at least one round"))
}

fn main() {
    // `cargo bench` passes `--bench`; without it this is a smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let (default_spokes, rounds) = if bench { (100, 3) } else { (10, 1) };
    let spokes: usize = std::env::var("SPOKES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_spokes);
    let empty = Topology::parse(GROUP).expect("group").build().expect("empty lab");
    let group: ResourceId = empty.resource_groups.keys().next().expect("one group").clone();
    let body = json!({ "properties": {
        "mode": "Incremental",
        "template": spoke_template(),
        "parameters": { "spokes": { "value": spokes }, "adminPassword": { "value": "Bench-Deploy-2026!" } },
    } });
    let (t_deploy, m_deploy, deployed) = measure(rounds, || {
        let o = template::deploy(&empty, &group, "bench", &body, None).expect("template deploys");
        let mut m: Model = empty.clone();
        m.apply_all(o.changes).map_err(|(_, e)| e).expect("changes apply");
        m
    });
    let yaml = spoke_topology(spokes);
    let (t_topo, m_topo, built) = measure(rounds, || {
        Topology::parse(&yaml).expect("topology").build().expect("builds")
    });
    let count = |m: &Model| {
        m.virtual_networks.len()
            + m.network_security_groups.len()
            + m.route_tables.len()
            + m.network_interfaces.len()
            + m.virtual_machines.len()
    };
    assert_eq!(count(&deployed), count(&built), "both ways build the same resources");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "deploy bench: {} resources ({spokes} spokes), best of {rounds}",
        count(&deployed)
    );
    println!(
        "  template (evaluate + validate + apply): {:9.1} ms  peak heap {:7.1} MiB",
        ms(t_deploy),
        mib(m_deploy)
    );
    println!(
        "  topology file (parse + build):          {:9.1} ms  peak heap {:7.1} MiB",
        ms(t_topo),
        mib(m_topo)
    );
    println!(
        "  ratio template/topology: time {:.1}x, peak heap {:.1}x",
        ms(t_deploy) / ms(t_topo).max(1e-6),
        m_deploy as f64 / (m_topo.max(1)) as f64
    );
}
