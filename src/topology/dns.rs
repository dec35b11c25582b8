//! Private DNS zones in a topology file: each zone with its virtual network
//! links and record sets, turned into the model's changes (docs/dns.md).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Resolver, TopologyError};
use crate::model::{Change, PrivateDnsZoneSpec, RecordData, RecordSetSpec, VirtualNetworkLinkSpec};

/// A Private DNS zone (`Microsoft.Network/privateDnsZones`), location global.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateDnsZoneDef {
    /// The zone's DNS name, e.g. `private.contoso.com` or
    /// `privatelink.redis.cache.windows.net`.
    pub name: String,
    pub resource_group: Option<String>,
    /// Virtual network links: only linked VNets resolve the zone.
    #[serde(default)]
    pub links: Vec<ZoneLinkDef>,
    #[serde(default)]
    pub records: Vec<RecordDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneLinkDef {
    pub name: String,
    /// VNet name in the zone's resource group, `rg/name`, or a full ID.
    pub vnet: String,
    /// Auto-registration: each running VM of the VNet gets an A record
    /// (`az … link vnet create -e true`). One registration zone per VNet.
    #[serde(default)]
    pub registration_enabled: bool,
}

/// One record set; MX and SRV sets are made with `az` (they have fields).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordDef {
    /// Relative to the zone; `@` is the apex.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RecordKind,
    /// Seconds; az's default for a new set is 3600.
    pub ttl: Option<u32>,
    /// Addresses (A, AAAA), the one target (CNAME), names (PTR), strings (TXT).
    pub values: Vec<String>,
}

/// Spelled as DNS and ARM spell record types (the file's values).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
pub enum RecordKind {
    A,
    AAAA,
    CNAME,
    PTR,
    TXT,
}

pub(super) fn changes(r: &Resolver, zones: &[PrivateDnsZoneDef]) -> Result<Vec<(String, Change)>, TopologyError> {
    let mut out = Vec::new();
    for (i, z) in zones.iter().enumerate() {
        let at = format!("privateDnsZones[{i}] ({})", z.name);
        let id = r.id(&at, z.resource_group.as_deref(), "privateDnsZones", &z.name)?;
        out.push((
            at.clone(),
            Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: id.clone() }),
        ));
        for (j, l) in z.links.iter().enumerate() {
            let lat = format!("{at}.links[{j}] ({})", l.name);
            let spec = VirtualNetworkLinkSpec {
                id: id.child("virtualNetworkLinks", &l.name),
                virtual_network: r.reference(&lat, &id, "virtualNetworks", &l.vnet)?,
                registration_enabled: l.registration_enabled,
            };
            out.push((lat, Change::PutVirtualNetworkLink(spec)));
        }
        for (j, rec) in z.records.iter().enumerate() {
            let rat = format!("{at}.records[{j}] ({})", rec.name);
            let data = record_data(&rat, rec)?;
            let kind = format!("{:?}", rec.kind);
            let spec = RecordSetSpec {
                id: id.child(&kind, &rec.name),
                ttl: rec.ttl,
                data,
            };
            out.push((rat, Change::PutRecordSet(spec)));
        }
    }
    Ok(out)
}

fn record_data(at: &str, rec: &RecordDef) -> Result<RecordData, TopologyError> {
    let bad = |message: String| TopologyError::Reference { at: at.into(), message };
    let parse = |v: &String| {
        v.parse()
            .map_err(|_| bad(format!("'{v}' is not an address of a {:?} record", rec.kind)))
    };
    Ok(match rec.kind {
        RecordKind::A => RecordData::A(rec.values.iter().map(parse).collect::<Result<_, _>>()?),
        RecordKind::AAAA => RecordData::AAAA(
            rec.values
                .iter()
                .map(|v| v.parse().map_err(|_| bad(format!("'{v}' is not an IPv6 address"))))
                .collect::<Result<_, _>>()?,
        ),
        RecordKind::CNAME => match rec.values.as_slice() {
            [one] => RecordData::CNAME(one.clone()),
            _ => return Err(bad("a CNAME record set holds exactly one target".into())),
        },
        RecordKind::PTR => RecordData::PTR(rec.values.clone()),
        RecordKind::TXT => RecordData::TXT(rec.values.iter().map(|v| vec![v.clone()]).collect()),
    })
}
