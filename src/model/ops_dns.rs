//! Private DNS zones, virtual network links, record sets and custom DNS
//! servers: validation and change (azure-semantics-2 §1.3, §2; docs/dns.md).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::dns::{
    AZURE_PROVIDED_DNS, DEFAULT_RECORD_SET_TTL, MAX_LINKS_PER_ZONE, MAX_RECORD_SETS_PER_ZONE,
    MAX_RECORDS_PER_RECORD_SET, MAX_REGISTRATION_LINKS_PER_ZONE, MAX_ZONE_LABELS, PRIVATE_DNS_ZONE_TYPE, RecordData,
    RecordSet, RecordType, VirtualNetworkLink,
};
use super::names::{self, NameKind};
use super::{AzureError, ErrorCode, Model, NetworkInterface, PowerState, PrivateDnsZone, ResourceId};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZoneSpec {
    /// `…/providers/Microsoft.Network/privateDnsZones/<zone name>`.
    pub id: ResourceId,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkLinkSpec {
    /// `…/privateDnsZones/<zone>/virtualNetworkLinks/<link>`.
    pub id: ResourceId,
    pub virtual_network: ResourceId,
    pub registration_enabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSetSpec {
    /// `…/privateDnsZones/<zone>/<TYPE>/<relative name>`; `@` is the apex.
    pub id: ResourceId,
    /// `None` keeps the set's TTL, or gives a new set az's 3600.
    pub ttl: Option<u32>,
    pub data: RecordData,
}

/// Azure: the "nonfunctioning placeholder" suffix DHCP gives VMs that use
/// their own DNS servers (name-resolution doc, "own DNS server").
pub const REDDOG_PLACEHOLDER_SUFFIX: &str = "reddog.microsoft.com";

/// Azure: private-dns-privatednszone.md, "Restrictions" (the documented
/// list says "includes"); `azure-api.net` was seen refused in a real
/// response (MicrosoftDocs/azure-docs #102958).
const BLOCKED_ZONE_SUFFIXES: &[&str] = &[
    "azclient.ms",
    "azure.com",
    "azure-api.net",
    "cloudapp.net",
    "core.windows.net",
    "microsoft.com",
    "msidentity.com",
    "trafficmanager.net",
    "windows.net",
];

/// The resource types whose `type` segment in a record set ID is checked
/// against the data it carries.
fn record_set_type(id: &ResourceId) -> Option<RecordType> {
    let segs: Vec<&str> = id.as_str().split('/').collect();
    let t = segs.len().checked_sub(2).and_then(|i| segs.get(i))?;
    RecordType::parse(t)
}

fn bad(code: ErrorCode, msg: String, target: &ResourceId) -> AzureError {
    AzureError::new(code, msg).with_target(target.to_string())
}

/// Checks a zone name: two to 34 labels of at most 63 characters, 253 in
/// all, and not one of Azure's reserved domains.
pub fn check_zone_name(name: &str) -> Result<(), AzureError> {
    let n = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = n.split('.').collect();
    let target = || name.to_string();
    // Azure's sentence (a real BadRequest, crossplane-contrib/provider-upjet-azure #19).
    if n.is_empty() || labels.len() < 2 {
        return Err(AzureError::new(
            ErrorCode::BadRequest,
            format!("The zone name '{name}' does not have enough labels. Zone names must have two or more labels."),
        )
        .with_target(target()));
    }
    if labels.len() > MAX_ZONE_LABELS {
        return Err(AzureError::new(
            ErrorCode::BadRequest,
            format!(
                "The zone name '{name}' has {} labels. Zone names can have at most {MAX_ZONE_LABELS} labels.",
                labels.len()
            ),
        )
        .with_target(target()));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if n.len() > 253 || !labels.iter().all(|l| label_ok(l)) {
        return Err(AzureError::new(
            ErrorCode::BadRequest,
            format!(
                "The zone name '{name}' is not a valid DNS name. Each label must be 1 to 63 letters, digits, '-' or '_', not start or end with '-', and the whole name at most 253 characters."
            ),
        )
        .with_target(target()));
    }
    let lower = n.to_ascii_lowercase();
    // Private Link's own zones (privatelink.blob.core.windows.net, …) and
    // PostgreSQL flexible server's required `*.postgres.database.azure.com`
    // (Azure/azure-rest-api-specs #20866) are the documented exceptions.
    let exempt = lower.split('.').any(|l| l == "privatelink") || lower.ends_with(".postgres.database.azure.com");
    let blocked = BLOCKED_ZONE_SUFFIXES
        .iter()
        .any(|b| lower == *b || lower.ends_with(&format!(".{b}")));
    if blocked && !exempt {
        // Azure's own sentence, typo included (MicrosoftDocs/azure-docs #102958).
        return Err(AzureError::new(
            ErrorCode::BadRequest,
            format!(
                "The Private DNS zone name '{name}' is not permitted as it is a reserved Azure infrastucture domain and creating such zones may have unintended consequences for DNS resolution for services deployed in your virtual networks. Refer https://docs.microsoft.com/en-us/azure/dns/private-dns-privatednszone#restrictions for more details."
            ),
        )
        .with_target(target()));
    }
    Ok(())
}

/// A record set's relative name: `@`, or dot-separated labels of letters,
/// digits, `-` and `_`, with `*` allowed as a whole first label.
fn check_record_name(name: &str, zone: &str, id: &ResourceId) -> Result<(), AzureError> {
    if name == "@" {
        return Ok(());
    }
    let labels: Vec<&str> = name.split('.').collect();
    let ok = labels.iter().enumerate().all(|(i, l)| {
        (i == 0 && *l == "*")
            || (!l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    });
    if !ok || name.len() + 1 + zone.len() > 253 {
        return Err(bad(
            ErrorCode::BadRequest,
            format!(
                "The record set name '{name}' is not valid in zone {zone}. Use '@' for the zone apex, or labels of 1 to 63 letters, digits, '-' or '_' ('*' as the first label for a wildcard), at most 253 characters with the zone name."
            ),
            id,
        ));
    }
    Ok(())
}

/// A host name inside record data (CNAME, MX, PTR and SRV targets).
fn check_target(what: &str, value: &str, id: &ResourceId) -> Result<(), AzureError> {
    let v = value.strip_suffix('.').unwrap_or(value);
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return Err(bad(
            ErrorCode::BadRequest,
            format!(
                "The {what} '{value}' of record set {} is not a valid domain name. Give a name of dot-separated labels of 1 to 63 letters, digits, '-' or '_'.",
                id.name()
            ),
            id,
        ));
    }
    Ok(())
}

fn check_record_data(data: &RecordData, id: &ResourceId) -> Result<(), AzureError> {
    if data.len() > MAX_RECORDS_PER_RECORD_SET {
        return Err(bad(
            ErrorCode::BadRequest,
            format!(
                "Record set {} has {} records; a record set in a private DNS zone can hold at most {MAX_RECORDS_PER_RECORD_SET}. Split the records over several names.",
                id.name(),
                data.len()
            ),
            id,
        ));
    }
    match data {
        RecordData::A(_) | RecordData::AAAA(_) => {}
        // An empty CNAME set (`record-set cname create`) has no target yet.
        RecordData::CNAME(t) if t.is_empty() => {}
        RecordData::CNAME(t) => check_target("CNAME target", t, id)?,
        RecordData::MX(v) => {
            for m in v {
                check_target("MX exchange", &m.exchange, id)?;
            }
        }
        RecordData::PTR(v) => {
            for p in v {
                check_target("PTR target", p, id)?;
            }
        }
        RecordData::SRV(v) => {
            for s in v {
                check_target("SRV target", &s.target, id)?;
            }
        }
        RecordData::TXT(v) => {
            if let Some(s) = v.iter().flatten().find(|s| s.len() > 255) {
                return Err(bad(
                    ErrorCode::BadRequest,
                    format!(
                        "A TXT string of record set {} is {} bytes long; each string can be at most 255 bytes. Split the value into several strings.",
                        id.name(),
                        s.len()
                    ),
                    id,
                ));
            }
        }
    }
    Ok(())
}

/// Parses a VNet's `dhcpOptions.dnsServers`: IPv4 addresses; `[]` means
/// Azure-provided DNS.
pub fn parse_vnet_dns_servers(values: &[String], vnet: &ResourceId) -> Result<Vec<Ipv4Addr>, AzureError> {
    values
        .iter()
        .map(|s| {
            s.trim().parse::<Ipv4Addr>().map_err(|_| {
                bad(
                    ErrorCode::InvalidRequestFormat,
                    format!(
                        "DNS server '{s}' of virtual network {} is not a valid IPv4 address. Give the addresses of your DNS servers, or none for Azure-provided DNS.",
                        vnet.name()
                    ),
                    vnet,
                )
            })
        })
        .collect()
}

/// Parses a NIC's `dnsSettings.dnsServers`. `["AzureProvidedDNS"]` (which
/// must be the only value) switches the NIC back to Azure's DNS whatever
/// the VNet says; `[]` inherits the VNet's servers (azure-semantics-2 §1.3).
/// Returns the addresses and whether `AzureProvidedDNS` was given.
pub fn parse_nic_dns_servers(values: &[String], nic: &ResourceId) -> Result<(Vec<Ipv4Addr>, bool), AzureError> {
    let azure = values.iter().any(|v| v.trim().eq_ignore_ascii_case(AZURE_PROVIDED_DNS));
    if azure {
        if values.len() > 1 {
            return Err(bad(
                ErrorCode::InvalidRequestFormat,
                format!(
                    "DNS servers of network interface {} mix {AZURE_PROVIDED_DNS} with other values; {AZURE_PROVIDED_DNS} must be the only value. Give either {AZURE_PROVIDED_DNS} alone or a list of addresses.",
                    nic.name()
                ),
                nic,
            ));
        }
        return Ok((vec![], true));
    }
    let ips = values
        .iter()
        .map(|s| {
            s.trim().parse::<Ipv4Addr>().map_err(|_| {
                bad(
                    ErrorCode::InvalidRequestFormat,
                    format!(
                        "DNS server '{s}' of network interface {} is not a valid IPv4 address. Give addresses, {AZURE_PROVIDED_DNS}, or nothing to use the virtual network's servers.",
                        nic.name()
                    ),
                    nic,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ips, false))
}

impl NetworkInterface {
    /// `dnsSettings.dnsServers` as ARM shows it.
    pub fn dns_servers_setting(&self) -> Vec<String> {
        if self.azure_provided_dns {
            vec![AZURE_PROVIDED_DNS.to_string()]
        } else {
            self.dns_servers.iter().map(|ip| ip.to_string()).collect()
        }
    }
}

/// Azure's refusal of a create (`If-None-Match: *`) of a private DNS
/// resource that exists: zones, links and record sets alike.
// Azure: the link's sentence is real (Azure/azure-cli #28936); the zone's
// and record set's follow it (UNCONFIRMED wording).
pub fn exists_already(id: &ResourceId) -> AzureError {
    let zone = |z: Option<ResourceId>| z.map(|z| z.name().to_string()).unwrap_or_default();
    let kind = id.resource_type().to_ascii_lowercase();
    let message = if kind.ends_with("/virtualnetworklinks") {
        format!(
            "The Virtual Network link {} for the Private DNS zone {} exists already and hence cannot be created again.",
            id.name(),
            zone(id.parent())
        )
    } else if kind.eq_ignore_ascii_case(PRIVATE_DNS_ZONE_TYPE) {
        format!(
            "The Zone {} exists already and hence cannot be created again.",
            id.name()
        )
    } else {
        format!(
            "The Record set {} exists already and hence cannot be created again.",
            id.name()
        )
    };
    AzureError::new(ErrorCode::PreconditionFailed, message).with_target(id.to_string())
}

impl Model {
    /// The A records auto-registration gives zone `z`, by lower-cased VM
    /// name: each running VM of a VNet with a registration link, its primary
    /// NIC's address, unless a manual record set holds the name (Azure:
    /// dns-faq-private.md, the manual record wins). Derived, never stored.
    pub fn auto_registered_records(&self, z: &PrivateDnsZone) -> BTreeMap<String, Vec<Ipv4Addr>> {
        let mut out: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
        for vm in self.virtual_machines.values() {
            // Azure: deallocating (or stopping) a VM removes its record.
            if vm.power_state != PowerState::Running {
                continue;
            }
            let Some(nic) = vm
                .network_interfaces
                .first()
                .and_then(|n| self.network_interfaces.get(n))
            else {
                continue;
            };
            let Some(vnet) = nic.subnet.parent() else {
                continue;
            };
            let name = vm.name.to_ascii_lowercase();
            if z.registration_links().any(|l| l.virtual_network == vnet)
                && !z.record_sets.iter().any(|r| r.name.eq_ignore_ascii_case(&name))
            {
                out.entry(name).or_default().push(nic.private_ip_address);
            }
        }
        out
    }

    /// The DNS servers a NIC's VM is given by DHCP: the NIC's own, else the
    /// VNet's; empty means Azure-provided DNS (168.63.129.16). Azure: NIC
    /// servers override VNet servers (name-resolution doc, "Specify DNS servers").
    pub fn applied_dns_servers(&self, nic: &NetworkInterface) -> Vec<Ipv4Addr> {
        if nic.azure_provided_dns {
            return vec![];
        }
        if !nic.dns_servers.is_empty() {
            return nic.dns_servers.clone();
        }
        nic.subnet
            .parent()
            .and_then(|v| self.virtual_networks.get(&v))
            .map(|v| v.dns_servers.clone())
            .unwrap_or_default()
    }

    /// A NIC's `dnsSettings.internalDomainNameSuffix`: its VNet's
    /// `<label>.bx.internal.cloudapp.net`. Azure supplies it only with
    /// Azure-provided DNS; with custom servers DHCP hands out the placeholder
    /// `reddog.microsoft.com` (name-resolution doc, "own DNS server").
    pub fn internal_domain_name_suffix_of(&self, nic: &NetworkInterface) -> Option<String> {
        let vnet = nic.subnet.parent()?;
        Some(self.virtual_networks.get(&vnet)?.internal_domain_name_suffix())
    }

    /// The search domain DHCP gives a NIC's VM: the internal suffix with
    /// Azure-provided DNS, else Azure's placeholder `reddog.microsoft.com`.
    pub fn dhcp_search_domain(&self, nic: &NetworkInterface) -> Option<String> {
        if self.applied_dns_servers(nic).is_empty() {
            self.internal_domain_name_suffix_of(nic)
        } else {
            Some(REDDOG_PLACEHOLDER_SUFFIX.to_string())
        }
    }

    pub(crate) fn zone_or_not_found(&self, id: &ResourceId) -> Result<&PrivateDnsZone, AzureError> {
        self.private_dns_zones
            .get(id)
            .ok_or_else(|| AzureError::resource_not_found(id))
    }

    pub(super) fn put_private_dns_zone(&mut self, spec: PrivateDnsZoneSpec) -> Result<(), AzureError> {
        let id = spec.id;
        check_dns_id(&id)?;
        self.require_group(&id)?;
        check_zone_name(id.name())?;
        // A PUT of an existing zone changes nothing vnetlab models (tags).
        self.private_dns_zones
            .entry(id.clone())
            .or_insert_with(|| PrivateDnsZone {
                id: id.clone(),
                name: id.name().trim_end_matches('.').to_string(),
                virtual_network_links: vec![],
                record_sets: vec![],
            });
        Ok(())
    }

    pub(super) fn delete_private_dns_zone(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let zone = self.zone_or_not_found(id)?;
        if let Some(l) = zone.virtual_network_links.first() {
            // Azure's 409 (learntocloud/networking-lab #8).
            return Err(bad(
                ErrorCode::CannotDeleteResource,
                format!(
                    "Cannot delete resource while nested resources exist. Some existing nested resource IDs include: '{PRIVATE_DNS_ZONE_TYPE}/{}/virtualNetworkLinks/{}'. Please delete all nested resources before deleting this resource.",
                    zone.name, l.name
                ),
                id,
            ));
        }
        self.private_dns_zones.remove(id);
        Ok(())
    }

    pub(super) fn put_virtual_network_link(&mut self, spec: VirtualNetworkLinkSpec) -> Result<(), AzureError> {
        let id = spec.id;
        check_dns_id(&id)?;
        names::check(NameKind::NetworkChild, "virtual network link", id.name())?;
        let zone_id = id.parent().ok_or_else(|| {
            bad(
                ErrorCode::InvalidRequestFormat,
                format!("{id} is not a virtual network link ID."),
                &id,
            )
        })?;
        let zone = self.zone_or_not_found(&zone_id)?;
        let vnet = self.vnet_or_not_found(&spec.virtual_network)?;
        let existing = zone.virtual_network_links.iter().find(|l| l.id == id);
        if let Some(old) = existing
            && old.virtual_network != vnet.id
        {
            return Err(bad(
                ErrorCode::PropertyChangeNotAllowed,
                format!(
                    "Virtual network link {} of zone {} points at virtual network {}; the virtual network of a link cannot be changed. Delete the link and create a new one.",
                    old.name, zone.name, old.virtual_network
                ),
                &id,
            ));
        }
        // One link per (zone, VNet); Azure also refuses a second zone of the
        // same name in the VNet, with this sentence (MicrosoftDocs/azure-aks-docs #212).
        let zone_name = zone.name.to_ascii_lowercase();
        let twin = self.private_dns_zones.values().find_map(|z| {
            let same_name = z.name.eq_ignore_ascii_case(&zone_name);
            z.virtual_network_links
                .iter()
                .find(|l| same_name && l.id != id && l.virtual_network == vnet.id)
                .map(|_| z.name.clone())
        });
        if let Some(other) = twin {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "A virtual network cannot be linked to multiple zones with overlapping namespaces. You tried to link virtual network with '{}' and '{other}' zones.",
                    zone.name
                ),
                &id,
            ));
        }
        if existing.is_none() && zone.virtual_network_links.len() >= MAX_LINKS_PER_ZONE {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "Private DNS zone {} already has {MAX_LINKS_PER_ZONE} virtual network links, the most a zone can have. Delete a link first.",
                    zone.name
                ),
                &id,
            ));
        }
        if spec.registration_enabled {
            let was_registration = existing.is_some_and(|l| l.registration_enabled);
            if !was_registration && zone.registration_links().count() >= MAX_REGISTRATION_LINKS_PER_ZONE {
                return Err(bad(
                    ErrorCode::BadRequest,
                    format!(
                        "Private DNS zone {} already has {MAX_REGISTRATION_LINKS_PER_ZONE} virtual network links with auto-registration enabled, the most a zone can have. Link the virtual network without registration.",
                        zone.name
                    ),
                    &id,
                ));
            }
            // Azure's 409 sentence (Azure/terraform-azurerm-caf-enterprise-scale #157).
            let other = self.private_dns_zones.values().find_map(|z| {
                z.registration_links()
                    .find(|l| l.id != id && l.virtual_network == vnet.id)
                    .map(|_| z.id.clone())
            });
            if let Some(other) = other {
                return Err(bad(
                    ErrorCode::Conflict,
                    format!(
                        "A virtual network can only be linked to 1 Private DNS zone(s) with auto-registration enabled; conflicting Private DNS zone is '{other}'."
                    ),
                    &id,
                ));
            }
        }
        let link = VirtualNetworkLink {
            id: id.clone(),
            name: id.name().to_string(),
            virtual_network: vnet.id.clone(),
            registration_enabled: spec.registration_enabled,
        };
        let zone = self
            .private_dns_zones
            .get_mut(&zone_id)
            .ok_or_else(|| AzureError::resource_not_found(&zone_id))?;
        match zone.virtual_network_links.iter_mut().find(|l| l.id == id) {
            Some(l) => *l = link,
            None => zone.virtual_network_links.push(link),
        }
        Ok(())
    }

    pub(super) fn delete_virtual_network_link(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let zone = id.parent().and_then(|z| self.private_dns_zones.get_mut(&z));
        let Some(zone) = zone.filter(|z| z.virtual_network_links.iter().any(|l| &l.id == id)) else {
            return Err(AzureError::resource_not_found(id));
        };
        // The link's auto-registered records go with it: they are derived.
        zone.virtual_network_links.retain(|l| &l.id != id);
        Ok(())
    }

    /// Azure deletes a VNet's links (and so its auto-registered records)
    /// with the VNet (private-dns-virtual-network-links.md).
    pub(super) fn remove_dns_links_to(&mut self, vnet: &ResourceId) {
        for z in self.private_dns_zones.values_mut() {
            z.virtual_network_links.retain(|l| &l.virtual_network != vnet);
        }
    }

    pub(super) fn put_record_set(&mut self, spec: RecordSetSpec) -> Result<(), AzureError> {
        let id = spec.id;
        check_dns_id(&id)?;
        let zone_id = id.parent().ok_or_else(|| {
            bad(
                ErrorCode::InvalidRequestFormat,
                format!("{id} is not a record set ID."),
                &id,
            )
        })?;
        let zone = self.zone_or_not_found(&zone_id)?;
        let kind = spec.data.kind();
        if record_set_type(&id) != Some(kind) {
            return Err(bad(
                ErrorCode::InvalidRequestFormat,
                format!(
                    "Record set ID {id} does not name the type of its records ({}). Use …/privateDnsZones/<zone>/{}/<name>.",
                    kind.as_str(),
                    kind.as_str()
                ),
                &id,
            ));
        }
        let name = id.name();
        check_record_name(name, &zone.name, &id)?;
        check_record_data(&spec.data, &id)?;
        if let Some(ttl) = spec.ttl
            && ttl > i32::MAX as u32
        {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "The TTL {ttl} of record set {name} is too large; give 0 to {} seconds.",
                    i32::MAX
                ),
                &id,
            ));
        }
        // Azure: a CNAME set cannot share its name with another set, and the
        // apex always holds the SOA (dns-zones-records.md, "CNAME records").
        if kind == RecordType::CNAME && name == "@" {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "A CNAME record set cannot be created at the apex of zone {}: the apex holds the zone's SOA record. Use an A record, or a name below the apex.",
                    zone.name
                ),
                &id,
            ));
        }
        let clash = zone.record_sets.iter().find(|r| {
            r.name.eq_ignore_ascii_case(name)
                && r.kind() != kind
                && (kind == RecordType::CNAME || r.kind() == RecordType::CNAME)
        });
        if let Some(c) = clash {
            return Err(bad(
                ErrorCode::Conflict,
                format!(
                    "Record set {name} of type {} cannot be created in zone {}: a {} record set of the same name exists, and a CNAME record set cannot share its name with any other record set. Delete one of them first.",
                    kind.as_str(),
                    zone.name,
                    c.kind().as_str()
                ),
                &id,
            ));
        }
        let existing = zone.record_set(kind, name);
        if existing.is_none() && zone.number_of_record_sets() >= MAX_RECORD_SETS_PER_ZONE {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "Private DNS zone {} already has {MAX_RECORD_SETS_PER_ZONE} record sets (its SOA included), the most a zone can have. Delete record sets, or use another zone.",
                    zone.name
                ),
                &id,
            ));
        }
        let ttl = spec.ttl.or(existing.map(|r| r.ttl)).unwrap_or(DEFAULT_RECORD_SET_TTL);
        let set = RecordSet {
            id: id.clone(),
            name: name.to_string(),
            ttl,
            data: spec.data,
        };
        let zone = self
            .private_dns_zones
            .get_mut(&zone_id)
            .ok_or_else(|| AzureError::resource_not_found(&zone_id))?;
        match zone
            .record_sets
            .iter_mut()
            .find(|r| r.kind() == kind && r.name.eq_ignore_ascii_case(name))
        {
            Some(r) => *r = set,
            None => zone.record_sets.push(set),
        }
        Ok(())
    }

    pub(super) fn delete_record_set(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let kind = record_set_type(id);
        let zone = id.parent().and_then(|z| self.private_dns_zones.get_mut(&z));
        let found = zone.filter(|z| {
            z.record_sets
                .iter()
                .any(|r| Some(r.kind()) == kind && r.name.eq_ignore_ascii_case(id.name()))
        });
        let Some(zone) = found else {
            return Err(AzureError::resource_not_found(id));
        };
        zone.record_sets
            .retain(|r| !(Some(r.kind()) == kind && r.name.eq_ignore_ascii_case(id.name())));
        Ok(())
    }
}

/// An ID below a private zone must be pairs of non-empty segments with no
/// `.`/`..` and a valid resource group; zone names themselves contain dots,
/// so `names::check_id`'s per-kind rule does not fit them.
fn check_dns_id(id: &ResourceId) -> Result<(), AzureError> {
    let segs: Vec<&str> = id.as_str().split('/').skip(1).collect();
    let ok = id.as_str().starts_with('/')
        && segs.len().is_multiple_of(2)
        && segs
            .iter()
            .all(|s| !s.is_empty() && *s != "." && *s != ".." && !s.chars().any(char::is_control));
    if !ok {
        return Err(bad(
            ErrorCode::InvalidResourceName,
            format!("The ID {id} is malformed: a name must not contain '/' or be '.' or '..'."),
            id,
        ));
    }
    names::check(NameKind::ResourceGroup, "resource group", id.resource_group_name())
}

#[cfg(test)]
mod tests;
