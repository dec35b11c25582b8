//! A name looked up as a VM would look it up, with the reason in words:
//! what `vnetlab test` (and `explain` by name) say about a name (docs/dns.md).

use std::net::Ipv4Addr;

use hickory_proto::rr::{RData, RecordType};

use super::{DnsView, Outcome};
use crate::model::{Model, PowerState, ResourceId};

/// What a VM gets for a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAnswer {
    /// The IPv4 addresses 168.63.129.16 answers (empty: no address).
    pub addresses: Vec<Ipv4Addr>,
    /// The VM asks custom DNS servers, whose answers only a live query
    /// can tell: `addresses` is then empty and `why` says so.
    pub custom_servers: Vec<Ipv4Addr>,
    pub why: String,
}

/// Looks `name` up for the VM named `vm` (case-blind) as its resolver
/// would: through its applied DNS servers, and for a bare name with its
/// VNet's search suffix. `None` when there is no such VM with a NIC.
pub fn resolve_as_vm(model: &Model, view: &DnsView, vm: &str, name: &str) -> Option<NameAnswer> {
    let v = model
        .virtual_machines
        .values()
        .find(|v| v.name.eq_ignore_ascii_case(vm))?;
    let nic = model.network_interfaces.get(v.network_interfaces.first()?)?;
    let vnet_id = nic.subnet.parent()?;
    let vnet = model.virtual_networks.get(&vnet_id)?;
    let servers = model.applied_dns_servers(nic);
    if !servers.is_empty() {
        let list: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
        return Some(NameAnswer {
            addresses: vec![],
            why: format!(
                "{} asks DNS server {} (custom DNS of its {}), not 168.63.129.16: that server's answer decides",
                v.name,
                list.join(", "),
                if nic.dns_servers.is_empty() { "VNet" } else { "NIC" }
            ),
            custom_servers: servers,
        });
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let res = view.lookup(&vnet_id, &name, RecordType::A);
    let addresses: Vec<Ipv4Addr> = res
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    let why = match res.outcome {
        Outcome::Answer if !addresses.is_empty() => format!(
            "168.63.129.16 answers {name} with {} for VMs of {}",
            addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
            vnet.name
        ),
        Outcome::ServFail => format!("168.63.129.16 answers SERVFAIL for {name}: its CNAME chain loops or is too long"),
        Outcome::Answer | Outcome::NoData => format!("{name} exists for {} but has no A record", vnet.name),
        Outcome::NxDomain => not_found(model, &vnet_id, &vnet.name, &name),
    };
    Some(NameAnswer {
        addresses,
        custom_servers: vec![],
        why,
    })
}

/// Why Azure-provided DNS does not know `name` in VNet `vnet`: a VM of that
/// name elsewhere (peered or not), a stopped VM, or nothing at all.
fn not_found(model: &Model, vnet: &ResourceId, vnet_name: &str, name: &str) -> String {
    // The most specific private zone the name falls in.
    let zone = model
        .private_dns_zones
        .values()
        .filter(|z| {
            let z = z.name.to_ascii_lowercase();
            name == z || name.ends_with(&format!(".{z}"))
        })
        .max_by_key(|z| z.name.len());
    if let Some(z) = zone {
        let linked = z.virtual_network_links.iter().any(|l| &l.virtual_network == vnet);
        return if linked {
            format!(
                "NXDOMAIN: private DNS zone {} is linked to {vnet_name} but holds no record {name}",
                z.name
            )
        } else {
            format!(
                "NXDOMAIN: private DNS zone {} holds the name but is not linked to {vnet_name}: only linked VNets resolve a zone, peering does not help",
                z.name
            )
        };
    }
    let host = name.split('.').next().unwrap_or(name);
    let elsewhere = model.virtual_machines.values().find_map(|v| {
        if !v.name.eq_ignore_ascii_case(host) {
            return None;
        }
        let nic = model.network_interfaces.get(v.network_interfaces.first()?)?;
        let theirs = nic.subnet.parent()?;
        Some((v, theirs))
    });
    match elsewhere {
        Some((v, theirs)) if &theirs == vnet && v.power_state != PowerState::Running => format!(
            "NXDOMAIN: {} is {}; Azure-provided DNS removes a VM's records while it is not running",
            v.name,
            if v.power_state == PowerState::Deallocated {
                "deallocated"
            } else {
                "stopped"
            }
        ),
        Some((v, theirs)) if &theirs != vnet => {
            let their_name = model
                .virtual_networks
                .get(&theirs)
                .map_or("another VNet", |n| n.name.as_str());
            let peered = model
                .virtual_networks
                .get(vnet)
                .is_some_and(|me| me.peerings.iter().any(|p| p.remote_virtual_network == theirs));
            let relation = if peered { "peered with" } else { "not" };
            format!(
                "NXDOMAIN: {} is in {their_name}, {relation} {vnet_name}: Azure-provided DNS answers only inside one VNet; link a private DNS zone to both, or use a DNS server both can reach",
                v.name
            )
        }
        _ => format!(
            "NXDOMAIN: no running VM of {vnet_name} and no private DNS zone linked to {vnet_name} has the name {name} (names outside Azure get NXDOMAIN in a lab: it has no Internet)"
        ),
    }
}
