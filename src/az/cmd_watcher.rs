//! `az network watcher`: next hop, IP flow verify, connection troubleshoot.

use std::net::Ipv4Addr;

use super::args::{Args, Leaf, choice, opt, req, rg};
use super::watcher;
use super::{AzError, Ctx, Handler, Reply};
use crate::dataplane::{NicIdx, Tables};
use crate::model::{COMPUTE, Direction};

pub fn leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "network watcher show-next-hop",
            about: "Get information on the 'next hop' of a VM.",
            args: vec![rg(), req("vm"), req("source-ip"), req("dest-ip"), opt("nic")],
            run: next_hop,
        },
        Leaf {
            path: "network watcher test-ip-flow",
            about: "Test IP flow to/from a VM given the currently configured network security group rules.",
            args: vec![
                rg(),
                req("vm"),
                choice("direction", &["Inbound", "Outbound"]).required(true),
                choice("protocol", &["TCP", "UDP"]).required(true),
                req("local"),
                req("remote"),
                opt("nic"),
            ],
            run: ip_flow,
        },
        Leaf {
            path: "network watcher test-connectivity",
            about: "Test if a connection can be established between a Virtual Machine and a given endpoint.",
            args: vec![
                rg(),
                req("source-resource"),
                opt("dest-resource"),
                opt("dest-address"),
                opt("dest-port"),
                choice("protocol", &["Tcp", "Http", "Https", "Icmp"]),
                opt("source-port"),
            ],
            run: connectivity,
        },
    ]
}

fn bad(msg: String) -> AzError {
    AzError::Cli(msg)
}

/// The VM's NIC in the compiled tables (its primary one, or `--nic`).
fn vm_nic(ctx: &Ctx, t: &Tables, rg: &str, vm: &str, nic: Option<&str>) -> Result<NicIdx, AzError> {
    let id = ctx.reference(vm, rg, COMPUTE, "virtualMachines")?;
    let v = ctx.existing(&ctx.model().virtual_machines, &id)?;
    let nic_id = match nic {
        Some(n) => ctx.reference(n, rg, crate::model::NETWORK, "networkInterfaces")?,
        None => v
            .network_interfaces
            .first()
            .cloned()
            .ok_or_else(|| bad(format!("VM {} has no network interface.", v.name)))?,
    };
    t.nics.position(|n| n.id == nic_id).ok_or_else(|| {
        bad(format!(
            "Network interface {} is not attached to VM {}.",
            nic_id.name(),
            v.name
        ))
    })
}

fn ip(s: &str, what: &str) -> Result<Ipv4Addr, AzError> {
    s.parse()
        .map_err(|_| AzError::Usage(format!("argument --{what}: '{s}' is not a valid IPv4 address")))
}

fn next_hop(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = Tables::compile(ctx.model(), 0);
    let nic = vm_nic(ctx, &t, a.must("resource-group"), a.must("vm"), a.str("nic"))?;
    let doc = watcher::next_hop(
        &t,
        nic,
        ip(a.must("source-ip"), "source-ip")?,
        ip(a.must("dest-ip"), "dest-ip")?,
    )
    .map_err(bad)?;
    Ok(Reply::Value(doc))
}

fn endpoint(s: &str, what: &str) -> Result<(Ipv4Addr, u16), AzError> {
    watcher::endpoint(s).map_err(|e| AzError::Usage(format!("argument --{what}: {e}")))
}

fn ip_flow(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = Tables::compile(ctx.model(), 0);
    let nic = vm_nic(ctx, &t, a.must("resource-group"), a.must("vm"), a.str("nic"))?;
    let local = endpoint(a.must("local"), "local")?;
    let remote = endpoint(a.must("remote"), "remote")?;
    watcher::check_local(&t, nic, local.0)?;
    let direction = if a.must("direction") == "Inbound" {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    let proto = if a.must("protocol") == "TCP" { 6 } else { 17 };
    Ok(Reply::Value(watcher::ip_flow(&t, nic, direction, proto, local, remote)))
}

fn connectivity(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let t = Tables::compile(ctx.model(), 0);
    let nic = vm_nic(ctx, &t, rg, a.must("source-resource"), None)?;
    let dst = match (a.str("dest-resource"), a.str("dest-address")) {
        (Some(vm), _) => {
            let n = vm_nic(ctx, &t, rg, vm, None)?;
            t.nics[n].ip
        }
        (None, Some(addr)) => ip(addr, "dest-address")?,
        (None, None) => {
            return Err(AzError::Cli(
                "usage error: --dest-resource ID | --dest-address ADDRESS".into(),
            ));
        }
    };
    let protocol = a.str("protocol").unwrap_or("Tcp");
    let port: u16 = match (a.int("dest-port")?, protocol) {
        (Some(p), _) => p,
        (None, "Icmp") => 0,
        (None, "Https") => 443,
        (None, _) => 80,
    };
    let (probe_proto, probe_port) = if protocol == "Icmp" {
        ("icmp", None)
    } else {
        ("tcp", Some(port))
    };
    let vm_name = t.nics[nic].vm.clone().unwrap_or_default();
    let measured = ctx.backend.probe(&vm_name, dst, probe_port)?;
    Ok(Reply::Value(watcher::connectivity(
        ctx.model(),
        &t,
        nic,
        dst,
        probe_proto,
        port,
        measured,
    )))
}
