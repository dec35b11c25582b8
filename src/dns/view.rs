//! The names a VNet can resolve through 168.63.129.16, compiled from the
//! model, and the lookup that answers one question (docs/dns.md).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType as WireType};

use crate::model::{Model, PowerState, RecordData, RecordType, ResourceId};

/// Azure: the zone every VM's PTR answer and `<vm>.internal.cloudapp.net`
/// live in (name-resolution doc, "Reverse DNS Considerations").
pub const INTERNAL_ZONE: &str = "internal.cloudapp.net";

/// TTL of records Azure derives itself: VM names, PTRs, auto-registered A
/// records. Community captures say 10 s; UNCONFIRMED in Microsoft's docs.
pub const DERIVED_TTL: u32 = 10;

/// TTL of the public CNAME from a service name to its privatelink name
/// (a modelling choice; UNCONFIRMED).
pub const PUBLIC_CNAME_TTL: u32 = 60;

/// CNAME chains longer than this end with SERVFAIL, as loops would.
const MAX_CHAIN: usize = 8;

/// Services whose public names Azure CNAMEs to a privatelink name once they
/// have a private endpoint: (group ID, public suffix, privatelink zone).
/// Azure: private-endpoint-dns.md, "Azure services DNS zone configuration".
const PRIVATE_LINK_SERVICES: &[(&str, &str, &str)] = &[(
    "redisCache",
    "redis.cache.windows.net",
    "privatelink.redis.cache.windows.net",
)];

/// What one VNet resolves with Azure-provided DNS.
#[derive(Clone, Debug, Default)]
struct VnetNames {
    /// `<label>.bx.internal.cloudapp.net`.
    suffix: String,
    /// Running VMs: lower-cased name → primary NIC address.
    hosts: HashMap<String, Ipv4Addr>,
    /// The reverse of `hosts`.
    ptr: HashMap<Ipv4Addr, String>,
    /// Indices into `DnsView::zones` of the zones linked to the VNet.
    zones: Vec<usize>,
}

#[derive(Clone, Debug)]
struct Set {
    kind: RecordType,
    ttl: u32,
    data: RecordData,
}

#[derive(Clone, Debug)]
struct Zone {
    /// Lower-cased, no trailing dot.
    name: String,
    /// Owner name (lower-cased FQDN without the dot) → its record sets.
    sets: HashMap<String, Vec<Set>>,
    /// Every owner name and each of its ancestors inside the zone (empty
    /// non-terminals): a name here has no records of the asked type
    /// (NODATA), a name not here does not exist (NXDOMAIN).
    nodes: HashSet<String>,
}

impl Zone {
    fn contains(&self, name: &str) -> bool {
        name == self.name || name.ends_with(&format!(".{}", self.name))
    }

    fn add(&mut self, owner: String, set: Set) {
        let mut n = owner.as_str();
        loop {
            self.nodes.insert(n.to_string());
            if n == self.name {
                break;
            }
            match n.split_once('.') {
                Some((_, rest)) if rest.len() >= self.name.len() => n = rest,
                _ => break,
            }
        }
        self.sets.entry(owner).or_default().push(set);
    }

    /// The sets at `name`, or at the wildcard of its closest encloser
    /// (RFC 4592, simplified: the nearest existing ancestor).
    fn sets_at(&self, name: &str) -> Option<&Vec<Set>> {
        if let Some(s) = self.sets.get(name) {
            return Some(s);
        }
        if self.nodes.contains(name) {
            return None;
        }
        let mut n = name;
        while let Some((_, parent)) = n.split_once('.') {
            if parent.len() < self.name.len() {
                break;
            }
            if self.nodes.contains(parent) {
                return self.sets.get(&format!("*.{parent}"));
            }
            n = parent;
        }
        None
    }
}

/// Everything the resolver needs, compiled once per model change.
#[derive(Clone, Debug, Default)]
pub struct DnsView {
    vnets: HashMap<ResourceId, VnetNames>,
    zones: Vec<Zone>,
    /// Lower-cased public service name → its privatelink name.
    public_cnames: HashMap<String, String>,
}

/// How a lookup ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Records of the asked type (possibly after CNAMEs).
    Answer,
    /// The name exists but has no records of the asked type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// A CNAME chain was too long (or looped).
    ServFail,
}

/// The result of one question: the records to send and how it ended.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub outcome: Outcome,
    pub answers: Vec<Record>,
    /// The SOA of the private zone that denied the name, for negative caching.
    pub authority: Vec<Record>,
    /// True when the lab holds the data (a private zone or Azure's own
    /// names); false for names outside every zone, which Azure would
    /// recurse for and the lab, having no Internet, cannot.
    pub authoritative: bool,
}

fn fqdn(name: &str) -> Option<Name> {
    let mut n = Name::from_ascii(name).ok()?;
    n.set_fqdn(true);
    Some(n)
}

/// Azure's private-zone SOA, as an exported zone shows it: host
/// `azureprivatedns.net`, email `azureprivatedns-host.microsoft.com`,
/// refresh 3600, retry 300, expire 2419200, minimum TTL 10, TTL 3600
/// (ARM export in mbiszczanik/bicep-infra, az-700 m01-u6-t1.bicep).
fn soa_record(zone: &str) -> Option<Record> {
    let soa = SOA::new(
        fqdn("azureprivatedns.net")?,
        fqdn("azureprivatedns-host.microsoft.com")?,
        1,
        3600,
        300,
        2_419_200,
        10,
    );
    Some(Record::from_rdata(fqdn(zone)?, 3600, RData::SOA(soa)))
}

fn rdata_of(data: &RecordData) -> Vec<RData> {
    match data {
        RecordData::A(v) => v.iter().map(|ip| RData::A(A(*ip))).collect(),
        RecordData::AAAA(v) => v.iter().map(|ip| RData::AAAA(AAAA(*ip))).collect(),
        RecordData::CNAME(t) => fqdn(t).map(|n| RData::CNAME(CNAME(n))).into_iter().collect(),
        RecordData::MX(v) => v
            .iter()
            .filter_map(|m| Some(RData::MX(MX::new(m.preference, fqdn(&m.exchange)?))))
            .collect(),
        RecordData::PTR(v) => v.iter().filter_map(|p| Some(RData::PTR(PTR(fqdn(p)?)))).collect(),
        RecordData::SRV(v) => v
            .iter()
            .filter_map(|s| Some(RData::SRV(SRV::new(s.priority, s.weight, s.port, fqdn(&s.target)?))))
            .collect(),
        RecordData::TXT(v) => v.iter().map(|t| RData::TXT(TXT::new(t.clone()))).collect(),
    }
}

fn wire_type(kind: RecordType) -> WireType {
    match kind {
        RecordType::A => WireType::A,
        RecordType::AAAA => WireType::AAAA,
        RecordType::CNAME => WireType::CNAME,
        RecordType::MX => WireType::MX,
        RecordType::PTR => WireType::PTR,
        RecordType::SRV => WireType::SRV,
        RecordType::TXT => WireType::TXT,
    }
}

/// `4.0.11.10.in-addr.arpa` → 10.11.0.4.
fn reverse_v4(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let octets: Vec<u8> = rest.split('.').map(|o| o.parse().ok()).collect::<Option<_>>()?;
    match octets.as_slice() {
        [d, c, b, a] => Some(Ipv4Addr::new(*a, *b, *c, *d)),
        _ => None,
    }
}

impl DnsView {
    pub fn compile(model: &Model) -> DnsView {
        let mut view = DnsView::default();
        for v in model.virtual_networks.values() {
            view.vnets.insert(
                v.id.clone(),
                VnetNames {
                    suffix: v.internal_domain_name_suffix(),
                    ..VnetNames::default()
                },
            );
        }
        // Azure: a DNS entry exists for the primary NIC of each VM while it
        // runs; deallocating (or stopping) it removes the entry and its PTR.
        for vm in model.virtual_machines.values() {
            if vm.power_state != PowerState::Running {
                continue;
            }
            let Some(nic) = vm
                .network_interfaces
                .first()
                .and_then(|n| model.network_interfaces.get(n))
            else {
                continue;
            };
            let Some(vnet) = nic.subnet.parent() else {
                continue;
            };
            let name = vm.name.to_ascii_lowercase();
            if let Some(names) = view.vnets.get_mut(&vnet) {
                names.hosts.entry(name.clone()).or_insert(nic.private_ip_address);
                names.ptr.entry(nic.private_ip_address).or_insert(name.clone());
            }
        }
        for z in model.private_dns_zones.values() {
            let zname = z.name.trim_end_matches('.').to_ascii_lowercase();
            let mut zone = Zone {
                name: zname.clone(),
                sets: HashMap::new(),
                nodes: HashSet::new(),
            };
            zone.nodes.insert(zname.clone());
            // An empty CNAME set (created, target not yet set) answers nothing.
            for rs in z
                .record_sets
                .iter()
                .filter(|r| r.data != RecordData::CNAME(String::new()))
            {
                zone.add(
                    rs.fqdn(&zname),
                    Set {
                        kind: rs.kind(),
                        ttl: rs.ttl,
                        data: rs.data.clone(),
                    },
                );
            }
            // Auto-registration (derived by the model, the manual record wins).
            for (name, ips) in model.auto_registered_records(z) {
                zone.add(
                    format!("{name}.{zname}"),
                    Set {
                        kind: RecordType::A,
                        ttl: DERIVED_TTL,
                        data: RecordData::A(ips),
                    },
                );
            }
            let idx = view.zones.len();
            for l in &z.virtual_network_links {
                if let Some(names) = view.vnets.get_mut(&l.virtual_network) {
                    names.zones.push(idx);
                }
            }
            view.zones.push(zone);
        }
        for pe in model.private_endpoints.values() {
            let Some(cache) = model.redis_caches.get(&pe.private_link_service_id) else {
                continue;
            };
            for (group, public, zone) in PRIVATE_LINK_SERVICES {
                if pe.group_ids.iter().any(|g| g.eq_ignore_ascii_case(group)) || pe.group_ids.is_empty() {
                    let name = cache.name.to_ascii_lowercase();
                    view.public_cnames
                        .insert(format!("{name}.{public}"), format!("{name}.{zone}"));
                }
            }
        }
        view
    }

    /// The internal DNS suffix of a VNet, if the VNet exists.
    pub fn suffix_of(&self, vnet: &ResourceId) -> Option<&str> {
        self.vnets.get(vnet).map(|v| v.suffix.as_str())
    }

    /// Answers `name` (any case, with or without the final dot) of type
    /// `qtype` as 168.63.129.16 does for a VM in `vnet`.
    pub fn lookup(&self, vnet: &ResourceId, name: &str, qtype: WireType) -> Resolution {
        self.lookup_asked(vnet, name, name, qtype)
    }

    /// As [`DnsView::lookup`], matching `name` but answering with the
    /// owner name spelled as the question had it (`asked`).
    pub(crate) fn lookup_asked(&self, vnet: &ResourceId, name: &str, asked: &str, qtype: WireType) -> Resolution {
        let mut res = Resolution {
            outcome: Outcome::NxDomain,
            answers: vec![],
            authority: vec![],
            authoritative: false,
        };
        let mut current = name.trim_end_matches('.').to_ascii_lowercase();
        let mut seen: Vec<String> = Vec::new();
        for step in 0..=MAX_CHAIN {
            if step == MAX_CHAIN || seen.contains(&current) {
                res.outcome = Outcome::ServFail;
                return res;
            }
            seen.push(current.clone());
            let owner = if step == 0 { asked } else { current.as_str() };
            match self.lookup_once(vnet, &current, owner, qtype, &mut res) {
                Some(next) => current = next,
                None => return res,
            }
        }
        res
    }

    /// One name of a chain. Returns the CNAME target to follow, if any.
    fn lookup_once(
        &self,
        vnet: &ResourceId,
        name: &str,
        owner: &str,
        qtype: WireType,
        res: &mut Resolution,
    ) -> Option<String> {
        let first = res.answers.is_empty();
        let names = self.vnets.get(vnet);
        let Some(owner) = fqdn(owner) else {
            res.outcome = Outcome::NxDomain;
            return None;
        };
        // Linked private zones answer first, the most specific one wins
        // (private-dns-privatednszone.md, "Private DNS zone resolution").
        let zone = names
            .into_iter()
            .flat_map(|n| n.zones.iter())
            .filter_map(|i| self.zones.get(*i))
            .filter(|z| z.contains(name))
            .max_by_key(|z| z.name.len());
        if let Some(z) = zone {
            res.authoritative |= first;
            return zone_answer(z, name, owner, qtype, res);
        }
        if let Some(n) = names
            && let Some(done) = azure_provided(n, name, &owner, qtype, res)
        {
            res.authoritative |= first;
            return done;
        }
        if let Some(target) = self.public_cnames.get(name) {
            res.authoritative |= first;
            push(
                res,
                owner,
                PUBLIC_CNAME_TTL,
                fqdn(target).map(|t| RData::CNAME(CNAME(t))),
            );
            if qtype == WireType::CNAME {
                res.outcome = Outcome::Answer;
                return None;
            }
            return Some(target.clone());
        }
        // Outside every zone the lab knows: Azure would recurse to the
        // Internet, which a lab does not have. Answer NXDOMAIN at once.
        res.outcome = Outcome::NxDomain;
        None
    }
}

/// The answer of private zone `z` for `name`; returns a CNAME target to follow.
fn zone_answer(z: &Zone, name: &str, owner: Name, qtype: WireType, res: &mut Resolution) -> Option<String> {
    if name == z.name && qtype == WireType::SOA {
        res.answers.extend(soa_record(&z.name));
        res.outcome = Outcome::Answer;
        return None;
    }
    let Some(sets) = z.sets_at(name) else {
        res.outcome = if z.nodes.contains(name) {
            Outcome::NoData
        } else {
            Outcome::NxDomain
        };
        res.authority.extend(soa_record(&z.name));
        return None;
    };
    // An ANY question gets the CNAME itself, without following it.
    if let Some(c) = sets.iter().find(|s| s.kind == RecordType::CNAME)
        && !matches!(qtype, WireType::CNAME | WireType::ANY)
    {
        for r in rdata_of(&c.data) {
            push(res, owner.clone(), c.ttl, Some(r));
        }
        if let RecordData::CNAME(t) = &c.data {
            return Some(t.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    let mut any = false;
    for s in sets
        .iter()
        .filter(|s| qtype == WireType::ANY || wire_type(s.kind) == qtype)
    {
        for r in rdata_of(&s.data) {
            push(res, owner.clone(), s.ttl, Some(r));
            any = true;
        }
    }
    if any {
        res.outcome = Outcome::Answer;
    } else {
        res.outcome = Outcome::NoData;
        res.authority.extend(soa_record(&z.name));
    }
    None
}

fn push(res: &mut Resolution, owner: Name, ttl: u32, data: Option<RData>) {
    if let Some(d) = data {
        res.answers.push(Record::from_rdata(owner, ttl, d));
    }
}

/// Azure-provided names of one VNet: `vm`, `vm.<suffix>`,
/// `vm.internal.cloudapp.net` and PTRs of its VMs' addresses. `None` when
/// the name is none of Azure's, so the caller goes on; `Some(next)` when
/// answered (`next` is always `None`: these names have no CNAMEs).
fn azure_provided(
    n: &VnetNames,
    name: &str,
    owner: &Name,
    qtype: WireType,
    res: &mut Resolution,
) -> Option<Option<String>> {
    if name.ends_with(".in-addr.arpa") {
        // Azure: reverse lookups are scoped to the VNet; addresses of peered
        // VNets' VMs give NXDOMAIN (name-resolution doc, "Reverse DNS").
        let vm = reverse_v4(name).and_then(|ip| n.ptr.get(&ip));
        match vm {
            Some(vm) if matches!(qtype, WireType::PTR | WireType::ANY) => {
                let target = fqdn(&format!("{vm}.{INTERNAL_ZONE}")).map(|t| RData::PTR(PTR(t)));
                push(res, owner.clone(), DERIVED_TTL, target);
                res.outcome = Outcome::Answer;
            }
            Some(_) => res.outcome = Outcome::NoData,
            None => res.outcome = Outcome::NxDomain,
        }
        return Some(None);
    }
    let host = if !name.contains('.') {
        Some(name)
    } else if let Some(h) = name.strip_suffix(&format!(".{}", n.suffix)) {
        Some(h)
    } else {
        name.strip_suffix(&format!(".{INTERNAL_ZONE}"))
    };
    let in_internal = name == INTERNAL_ZONE || name.ends_with(&format!(".{INTERNAL_ZONE}"));
    let under_azure = host.is_some() || name == n.suffix || (in_internal && n.suffix.ends_with(&format!(".{name}")));
    if !under_azure {
        return None;
    }
    match host.filter(|h| !h.contains('.')).and_then(|h| n.hosts.get(h)) {
        Some(ip) if matches!(qtype, WireType::A | WireType::ANY) => {
            push(res, owner.clone(), DERIVED_TTL, Some(RData::A(A(*ip))));
            res.outcome = Outcome::Answer;
        }
        Some(_) => res.outcome = Outcome::NoData,
        // The suffix itself and its parents exist, with no records here.
        None if host.is_none() => res.outcome = Outcome::NoData,
        None => res.outcome = Outcome::NxDomain,
    }
    Some(None)
}
