//! Commands that work on a topology file, without a running lab.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};

use super::{Command, Output};
use crate::az::watcher;
use crate::daemon::on_premises_machine;
use crate::dataplane::explain::{explain, probe_packet, round_trip, round_trip_from, site_ingress};
use crate::dataplane::{CLOUD_SHELL_IP, ConnTrack, Ingress, LbHealth, NicIdx, Tables};
use crate::model::{Direction, Model};
use crate::print::write_table;
use crate::topology::Topology;

/// Reads a topology (a file, or a lab folder holding topology.yaml) and
/// builds and compiles its model.
pub fn load(path: &Path) -> anyhow::Result<(Model, Tables)> {
    let file = if path.is_dir() {
        path.join("topology.yaml")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let topo = Topology::parse(&text).with_context(|| format!("{} is not a valid topology", file.display()))?;
    let model = topo
        .build()
        .with_context(|| format!("{} was refused", file.display()))?;
    let tables = Tables::compile(&model, 1);
    Ok((model, tables))
}

pub fn run(cmd: Command, out: &mut impl Write) -> anyhow::Result<u8> {
    match cmd {
        Command::Validate { file } => {
            let (model, _) = load(&file)?;
            writeln!(out, "{}: valid", file.display())?;
            summary(&model, out)?;
        }
        Command::Analyze { file } => analyze(&file, out)?,
        Command::Routes { file, nic, output } => {
            let (model, t) = load(&file)?;
            let n = find_nic(&t, &nic)?;
            print_routes(&model, &t, n, output, out)?;
        }
        Command::NextHop {
            file,
            vm,
            dest,
            source_ip,
            output,
        } => {
            let (_, t) = load(&file)?;
            next_hop(&t, &vm, dest, source_ip, output, out)?;
        }
        Command::IpFlow {
            file,
            vm,
            direction,
            protocol,
            local,
            remote,
            output,
        } => {
            let (_, t) = load(&file)?;
            ip_flow(&t, &vm, &direction, &protocol, &local, &remote, output, out)?;
        }
        Command::Explain {
            file,
            from,
            to,
            protocol,
        } => {
            let (model, t) = load(&file)?;
            explain_cmd(&model, &t, &from, &to, protocol.as_deref(), out)?;
        }
        Command::Schema => writeln!(out, "{}", crate::topology::json_schema())?,
        // cli::run sends the commands on a running lab elsewhere.
        live => bail!("{live:?} needs a running lab"),
    }
    Ok(0)
}

fn find_nic(t: &Tables, name: &str) -> anyhow::Result<NicIdx> {
    t.nic_by_name(name).ok_or_else(|| {
        let names: Vec<&str> = t.nics.iter().map(|n| n.name.as_str()).collect();
        anyhow::anyhow!("no network interface named '{name}'; the lab has: {}", names.join(", "))
    })
}

fn is_internet(name: &str) -> bool {
    ["internet", "cloudshell"].contains(&name.to_ascii_lowercase().as_str())
}

fn find_vm(t: &Tables, name: &str) -> anyhow::Result<NicIdx> {
    t.nic_of_vm(name).ok_or_else(|| {
        let names: Vec<&str> = t.nics.iter().filter_map(|n| n.vm.as_deref()).collect();
        anyhow::anyhow!("no virtual machine named '{name}'; the lab has: {}", names.join(", "))
    })
}

fn summary(model: &Model, out: &mut impl Write) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = model
        .virtual_networks
        .values()
        .flat_map(|v| {
            v.peerings.iter().map(move |p| {
                vec![
                    v.name.clone(),
                    p.name.clone(),
                    p.remote_virtual_network.name().to_string(),
                    model.peering_state(&v.id, p).as_str().into(),
                    model.peering_sync_level(&v.id, p).as_str().into(),
                ]
            })
        })
        .collect();
    writeln!(
        out,
        "{} virtual networks, {} VMs, {} peerings",
        model.virtual_networks.len(),
        model.virtual_machines.len(),
        rows.len()
    )?;
    if !rows.is_empty() {
        writeln!(out)?;
        write_table(
            out,
            &["VNet", "Peering", "Remote", "PeeringState", "PeeringSyncLevel"],
            &rows,
        )?;
    }
    Ok(())
}

/// The az table and JSON of `nic show-effective-route-table`.
pub fn print_routes(
    model: &Model,
    t: &Tables,
    nic: NicIdx,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let routes = &t.subnets[t.nics[nic].subnet].routes;
    let ips = |r: &crate::routing::EffectiveRoute| r.next_hop_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    match output {
        Output::Table => {
            let rows: Vec<Vec<String>> = routes
                .iter()
                .map(|r| {
                    vec![
                        format!("{:?}", r.source),
                        format!("{:?}", r.state),
                        r.address_prefix.to_string(),
                        r.next_hop_type.to_string(),
                        ips(r).join(" "),
                    ]
                })
                .collect();
            write_table(
                out,
                &["Source", "State", "Address Prefix", "Next Hop Type", "Next Hop IP"],
                &rows,
            )?;
        }
        Output::Json => {
            let subnet = &t.subnets[t.nics[nic].subnet];
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&crate::az::render::effective_route_table(model, &subnet.id))?
            )?;
        }
    }
    Ok(())
}

fn next_hop(
    t: &Tables,
    vm: &str,
    dest: Ipv4Addr,
    source_ip: Option<Ipv4Addr>,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let n = find_vm(t, vm)?;
    let src = source_ip.unwrap_or(t.nics[n].ip);
    let doc = watcher::next_hop(t, n, src, dest).map_err(anyhow::Error::msg)?;
    let cell = |k: &str| doc[k].as_str().unwrap_or_default().to_string();
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?,
        Output::Table => write_table(
            out,
            &["NextHopIpAddress", "NextHopType", "RouteTableId"],
            &[vec![
                cell("nextHopIpAddress"),
                cell("nextHopType"),
                cell("routeTableId"),
            ]],
        )?,
    }
    Ok(())
}

fn endpoint(s: &str, what: &str) -> anyhow::Result<(Ipv4Addr, u16)> {
    watcher::endpoint(s).map_err(|e| anyhow::anyhow!("--{what}: {e}"))
}

#[allow(clippy::too_many_arguments)]
fn ip_flow(
    t: &Tables,
    vm: &str,
    direction: &str,
    protocol: &str,
    local: &str,
    remote: &str,
    output: Output,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let n = find_vm(t, vm)?;
    let local = endpoint(local, "local")?;
    let remote = endpoint(remote, "remote")?;
    if local.0 != t.nics[n].ip {
        bail!("--local {} is not the private IP of {vm} ({})", local.0, t.nics[n].ip);
    }
    let proto = if protocol.eq_ignore_ascii_case("tcp") { 6 } else { 17 };
    let dir = if direction.eq_ignore_ascii_case("inbound") {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    let doc = watcher::ip_flow(t, n, dir, proto, local, remote);
    let cell = |k: &str| doc[k].as_str().unwrap_or_default().to_string();
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?,
        Output::Table => write_table(out, &["Access", "RuleName"], &[vec![cell("access"), cell("ruleName")]])?,
    }
    Ok(())
}

/// A name looked up as VM `from` would (`dns::resolve_as_vm`), the answer
/// and its reason printed. When the name does not resolve but is a lab
/// VM's, the verdict goes on for that VM's IP (what `ssh IP` would meet);
/// `None` when there is no address to go on with.
fn resolve_name(
    model: &Model,
    t: &Tables,
    from: &str,
    host: &str,
    out: &mut impl Write,
) -> anyhow::Result<Option<Ipv4Addr>> {
    let view = crate::dns::DnsView::compile(model);
    let vm_ip = t.nic_of_vm(host).map(|n| t.nics[n].ip);
    let Some(answer) = crate::dns::resolve_as_vm(model, &view, from, host) else {
        // Not a VM with a NIC (an on-premises machine asks its own DNS).
        return Ok(Some(t.nics[find_vm(t, host)?].ip));
    };
    if let Some(ip) = answer.addresses.first() {
        writeln!(out, "{from} resolves {host}: {}", answer.why)?;
        return Ok(Some(*ip));
    }
    if answer.custom_servers.is_empty() {
        writeln!(out, "{from} cannot resolve {host}: {}", answer.why)?;
    } else {
        writeln!(out, "{from} -> {host}: {}", answer.why)?;
    }
    match vm_ip {
        Some(ip) => {
            writeln!(out, "By IP, {host} is {ip}:")?;
            Ok(Some(ip))
        }
        None => Ok(None),
    }
}

pub(super) fn explain_cmd(
    model: &Model,
    t: &Tables,
    from: &str,
    to: &str,
    protocol: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // `HOST:PORT` or `HOST`, HOST an IP, a VM's name or an on-premises machine.
    let (host, port) = match to.rsplit_once(':') {
        Some((host, p)) => (
            host,
            Some(p.parse::<u16>().with_context(|| format!("--to: '{p}' is not a port"))?),
        ),
        None => (to, None),
    };
    let dst = match host.parse::<Ipv4Addr>() {
        Ok(ip) => ip,
        Err(_) if on_premises_machine(model, host).is_some() => on_premises_machine(model, host)
            .map(|(_, ip)| ip)
            .unwrap_or(Ipv4Addr::UNSPECIFIED),
        Err(_) if host.split('.').count() == 4 && host.split('.').all(|o| o.chars().all(|c| c.is_ascii_digit())) => {
            bail!("--to: '{host}' is not an IPv4 address")
        }
        Err(_) if is_internet(from) => {
            // From the Internet a VM is reached at its public IP.
            match t.nics[find_vm(t, host)?].public_ip {
                Some((ip, _)) => ip,
                None => bail!("{host} has no public IP, so the Internet cannot reach it"),
            }
        }
        Err(_) => match resolve_name(model, t, from, host, out)? {
            Some(ip) => ip,
            None => return Ok(()),
        },
    };
    // `--from Internet` (or CloudShell): a packet from the Internet side
    // to a public IP, as a learner's ssh from the Cloud Shell. An
    // on-premises machine's packet enters through the connection its
    // router picks.
    let (ingress, src) = if is_internet(from) {
        (Ingress::Internet, CLOUD_SHELL_IP)
    } else if let Some((lng, ip)) = on_premises_machine(model, from) {
        match site_ingress(model, t, &lng.id, dst) {
            Ok((ingress, prefix, conn)) => {
                writeln!(
                    out,
                    "{from} ({ip}): the on-premises router {} sends {prefix} through connection {}",
                    lng.name,
                    conn.name()
                )?;
                (ingress, ip)
            }
            Err(why) => {
                writeln!(out, "{from} ({ip}) -> {dst}: {why}")?;
                return Ok(());
            }
        }
    } else {
        let n = find_vm(t, from)?;
        (Ingress::Nic(n), t.nics[n].ip)
    };
    let protocol = protocol
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| if port.is_some() { "tcp".into() } else { "icmp".into() });
    let port = port.unwrap_or(if protocol == "icmp" { 1 } else { 22 });
    let pkt = probe_packet(src, dst, &protocol, 49152, port, false)
        .with_context(|| format!("--protocol must be tcp, udp or icmp, not '{protocol}'"))?;
    // Offline: no probe has run, every backend counts as up.
    let e = explain(
        t,
        &LbHealth::all_up(),
        &mut ConnTrack::new(),
        ingress,
        &pkt,
        Instant::now(),
    );
    let what = if protocol == "icmp" {
        format!("{dst} icmp")
    } else {
        format!("{dst}:{port} {protocol}")
    };
    writeln!(out, "{from} ({src}) -> {what}: {}", e.summary)?;
    for (i, s) in e.steps.iter().enumerate() {
        writeln!(out, "  {}. {s}", i + 1)?;
    }
    Ok(())
}

fn analyze(file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let (model, t) = load(file)?;
    writeln!(out, "{}: valid", file.display())?;
    summary(&model, out)?;
    writeln!(out)?;
    let vms: Vec<NicIdx> = t.nics.indices().filter(|n| t.nics[*n].vm.is_some()).collect();
    let rows: Vec<Vec<String>> = vms
        .iter()
        .map(|n| {
            let nic = &t.nics[*n];
            let vnet = &t.vnets[t.vnet_of_nic(*n)];
            vec![
                nic.vm.clone().unwrap_or_default(),
                vnet.name.clone(),
                vnet.location.clone(),
                nic.ip.to_string(),
                nic.public_ip.map(|(ip, _)| ip.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    write_table(out, &["VM", "VNet", "Location", "PrivateIp", "PublicIp"], &rows)?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = reach_matrix(&model, &t)
        .into_iter()
        .map(|r| {
            let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
            vec![r.from, r.to, yes(r.ping), yes(r.ssh), r.why]
        })
        .collect();
    write_table(out, &["From", "To", "Ping", "SSH", "Why not"], &rows)?;
    Ok(())
}

/// One pair of the reach matrix: does `from` reach `to` with ping and
/// with ssh, and if not, the verdict function's reason.
#[derive(Debug)]
pub(super) struct MatrixRow {
    pub from: String,
    pub to: String,
    pub ping: bool,
    pub ssh: bool,
    pub why: String,
}

/// Who reaches whom among the VMs and on-premises hosts, each pair as a
/// round trip through the verdict function (`analyze`, `graph --reach`).
pub(super) fn reach_matrix(model: &Model, t: &Tables) -> Vec<MatrixRow> {
    let vms: Vec<NicIdx> = t.nics.indices().filter(|n| t.nics[*n].vm.is_some()).collect();
    // Each on-premises site's host joins the VMs.
    let sites: Vec<(&crate::model::LocalNetworkGateway, Ipv4Addr)> = model
        .local_network_gateways
        .values()
        .map(|l| (l, crate::daemon::site_lan(l).1))
        .collect();
    // (name, address, the VM's NIC or the site's index)
    let mut ends: Vec<(String, Ipv4Addr, Result<NicIdx, usize>)> = vms
        .iter()
        .map(|&n| (t.nics[n].vm.clone().unwrap_or_default(), t.nics[n].ip, Ok(n)))
        .collect();
    ends.extend(
        sites
            .iter()
            .enumerate()
            .map(|(i, (l, ip))| (format!("{}{}", l.name, crate::daemon::SITE_HOST_SUFFIX), *ip, Err(i))),
    );
    let (now, health) = (Instant::now(), LbHealth::all_up());
    let trip =
        |from: &(String, Ipv4Addr, Result<NicIdx, usize>), dst: Ipv4Addr, proto: &str, port: u16| -> (bool, String) {
            let site = match from.2 {
                Ok(n) => {
                    let (ok, e) = round_trip(t, &health, Ingress::Nic(n), dst, proto, port, now);
                    return (ok, e.summary);
                }
                Err(i) => i,
            };
            match site_ingress(model, t, &sites[site].0.id, dst) {
                Ok((ingress, _, _)) => {
                    let (ok, e) = round_trip_from(t, &health, ingress, Some(from.1), dst, proto, port, now);
                    (ok, e.summary)
                }
                Err(why) => (false, why),
            }
        };
    let mut rows = Vec::new();
    for a in &ends {
        for b in ends.iter().filter(|b| b.0 != a.0 && (a.2.is_ok() || b.2.is_ok())) {
            let (ping, pe) = trip(a, b.1, "icmp", 0);
            let (ssh, se) = trip(a, b.1, "tcp", 22);
            let why = if !ssh {
                se
            } else if !ping {
                pe
            } else {
                String::new()
            };
            rows.push(MatrixRow {
                from: a.0.clone(),
                to: b.0.clone(),
                ping,
                ssh,
                why,
            });
        }
    }
    rows
}
