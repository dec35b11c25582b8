//! Private DNS zones, their virtual network links and record sets, and the
//! per-VNet internal DNS suffix (azure-semantics-2 §1.2, §2; docs/dns.md).
//!
//! Auto-registered A records are never stored: like peering state they are
//! derived (by `crate::dns`) from the running VMs of the VNets that have a
//! registration link, so deleting or deallocating a VM removes its record
//! with nothing to keep in step.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::ids::ResourceId;
use super::network::VirtualNetwork;

pub const PRIVATE_DNS_ZONE_TYPE: &str = "Microsoft.Network/privateDnsZones";
pub const VIRTUAL_NETWORK_LINK_TYPE: &str = "Microsoft.Network/privateDnsZones/virtualNetworkLinks";

/// The TTL az gives a record set it creates (`RecordSet(ttl=3600)` in
/// azure-cli's privatedns `custom.py`).
pub const DEFAULT_RECORD_SET_TTL: u32 = 3600;

/// Azure: private-dns-privatednszone.md, "Limits" (azure-semantics-2 §2.2).
pub const MAX_RECORD_SETS_PER_ZONE: usize = 25_000;
pub const MAX_RECORDS_PER_RECORD_SET: usize = 20;
pub const MAX_LINKS_PER_ZONE: usize = 1000;
pub const MAX_REGISTRATION_LINKS_PER_ZONE: usize = 100;
pub const MAX_ZONE_LABELS: usize = 34;

pub const PRIVATE_DNS_ZONE_GROUP_TYPE: &str = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups";

/// Azure: a zone group holds at most 5 zone configs (private-endpoint-dns.md,
/// "Private DNS zone group").
pub const MAX_ZONE_CONFIGS_PER_GROUP: usize = 5;

/// The TTL of the A records a zone group writes (Azure: 10 s, as the portal
/// and `dns-zone-group show`'s `recordSets[].ttl` show; UNCONFIRMED in docs).
pub const ZONE_GROUP_RECORD_TTL: u32 = 10;

/// `Microsoft.Network/privateEndpoints/privateDnsZoneGroups`: the link
/// between a private endpoint and the zones that hold its A record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZoneGroup {
    pub id: ResourceId,
    pub name: String,
    pub configs: Vec<PrivateDnsZoneConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZoneConfig {
    pub name: String,
    pub private_dns_zone: ResourceId,
}

/// The name NIC `dnsSettings.dnsServers` takes to go back to Azure's DNS.
pub const AZURE_PROVIDED_DNS: &str = "AzureProvidedDNS";

/// `Microsoft.Network/privateDnsZones`: always in location `global`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZone {
    pub id: ResourceId,
    /// The zone's DNS name as given, without a trailing dot.
    pub name: String,
    pub virtual_network_links: Vec<VirtualNetworkLink>,
    /// User-made record sets. The SOA set every zone has is implicit.
    pub record_sets: Vec<RecordSet>,
}

impl PrivateDnsZone {
    /// `numberOfRecordSets` as ARM counts it: the SOA set is one of them.
    pub fn number_of_record_sets(&self) -> usize {
        self.record_sets.len() + 1
    }

    pub fn registration_links(&self) -> impl Iterator<Item = &VirtualNetworkLink> {
        self.virtual_network_links.iter().filter(|l| l.registration_enabled)
    }

    pub fn record_set(&self, kind: RecordType, name: &str) -> Option<&RecordSet> {
        self.record_sets
            .iter()
            .find(|r| r.kind() == kind && r.name.eq_ignore_ascii_case(name))
    }
}

/// `Microsoft.Network/privateDnsZones/virtualNetworkLinks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkLink {
    pub id: ResourceId,
    pub name: String,
    pub virtual_network: ResourceId,
    /// A registration link auto-registers the VNet's VMs; otherwise the link
    /// only resolves.
    pub registration_enabled: bool,
}

/// The record types a private zone holds (besides its SOA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordType {
    A,
    AAAA,
    CNAME,
    MX,
    PTR,
    SRV,
    TXT,
}

impl RecordType {
    pub const ALL: [RecordType; 7] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::PTR,
        RecordType::SRV,
        RecordType::TXT,
    ];

    /// As the type segment of a record set ID (`…/privateDnsZones/z/A/www`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::CNAME => "CNAME",
            RecordType::MX => "MX",
            RecordType::PTR => "PTR",
            RecordType::SRV => "SRV",
            RecordType::TXT => "TXT",
        }
    }

    pub fn parse(s: &str) -> Option<RecordType> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MxRecord {
    pub preference: u16,
    pub exchange: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// The records of one set; the variant is the set's type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "records")]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordData {
    A(Vec<Ipv4Addr>),
    AAAA(Vec<Ipv6Addr>),
    /// A CNAME set holds exactly one target.
    CNAME(String),
    MX(Vec<MxRecord>),
    PTR(Vec<String>),
    SRV(Vec<SrvRecord>),
    /// Each TXT record is a list of strings of at most 255 bytes.
    TXT(Vec<Vec<String>>),
}

impl RecordData {
    pub fn kind(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::AAAA(_) => RecordType::AAAA,
            RecordData::CNAME(_) => RecordType::CNAME,
            RecordData::MX(_) => RecordType::MX,
            RecordData::PTR(_) => RecordType::PTR,
            RecordData::SRV(_) => RecordType::SRV,
            RecordData::TXT(_) => RecordType::TXT,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RecordData::A(v) => v.len(),
            RecordData::AAAA(v) => v.len(),
            RecordData::CNAME(t) => usize::from(!t.is_empty()),
            RecordData::MX(v) => v.len(),
            RecordData::PTR(v) => v.len(),
            RecordData::SRV(v) => v.len(),
            RecordData::TXT(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `Microsoft.Network/privateDnsZones/{A,AAAA,CNAME,MX,PTR,SRV,TXT}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSet {
    pub id: ResourceId,
    /// Relative to the zone; `@` is the apex.
    pub name: String,
    pub ttl: u32,
    pub data: RecordData,
}

impl RecordSet {
    pub fn kind(&self) -> RecordType {
        self.data.kind()
    }

    /// The owner name, lower-cased, without a trailing dot.
    pub fn fqdn(&self, zone: &str) -> String {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        if self.name == "@" {
            zone
        } else {
            format!("{}.{zone}", self.name.to_ascii_lowercase())
        }
    }
}

/// Where the VNet's VMs get their DNS from.
impl VirtualNetwork {
    /// The VNet's `<label>.bx.internal.cloudapp.net`, as a NIC's
    /// `dnsSettings.internalDomainNameSuffix` shows it.
    pub fn internal_domain_name_suffix(&self) -> String {
        internal_domain_name_suffix(&self.id)
    }
}

/// `<label>.bx.internal.cloudapp.net` for the VNet `vnet`. Azure's label is
/// 26 lowercase letters and digits (samples: `brqlt10lvoxedgkeuomc4pm5tb`),
/// its meaning and the `bx` code are undocumented (UNCONFIRMED); vnetlab
/// derives the label from the VNet's ID so that it survives restarts and is
/// the same on every run of a lab.
pub fn internal_domain_name_suffix(vnet: &ResourceId) -> String {
    format!("{}.bx.internal.cloudapp.net", internal_dns_label(vnet))
}

/// 26 characters of `[a-z0-9]`, a deterministic function of the lower-cased
/// ID (ARM IDs compare without case, so two spellings get one label).
pub fn internal_dns_label(vnet: &ResourceId) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // FNV-1a of the ID seeds a splitmix64 stream: stable across Rust
    // versions and platforms, unlike std's hashers.
    let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
    for b in vnet.as_str().bytes().map(|b| b.to_ascii_lowercase()) {
        seed ^= u64::from(b);
        seed = seed.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut out = String::with_capacity(26);
    for _ in 0..26 {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push(char::from(ALPHABET[(z % 36) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_is_stable_and_case_blind() {
        let a = ResourceId::network("s", "rg", "virtualNetworks", "SalesVNet");
        let b = ResourceId::network("S", "RG", "virtualNetworks", "salesvnet");
        let c = ResourceId::network("s", "rg", "virtualNetworks", "Other");
        let la = internal_dns_label(&a);
        assert_eq!(la.len(), 26);
        assert!(la.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_eq!(la, internal_dns_label(&b));
        assert_ne!(la, internal_dns_label(&c));
        assert_eq!(
            internal_domain_name_suffix(&a),
            format!("{la}.bx.internal.cloudapp.net")
        );
    }

    #[test]
    fn record_set_fqdn() {
        let zone = ResourceId::network("s", "rg", "privateDnsZones", "Contoso.com");
        let rs = RecordSet {
            id: zone.child("A", "WWW"),
            name: "WWW".into(),
            ttl: 3600,
            data: RecordData::A(vec![]),
        };
        assert_eq!(rs.fqdn("Contoso.com."), "www.contoso.com");
        let apex = RecordSet { name: "@".into(), ..rs };
        assert_eq!(apex.fqdn("contoso.com"), "contoso.com");
    }
}
