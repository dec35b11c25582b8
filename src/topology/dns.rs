//! Private DNS zones in a topology file: each zone with its virtual network
//! links and record sets, turned into the model's changes (docs/dns.md).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{PrivateEndpointDef, Resolver, TopologyError};
use crate::model::{
    Change, PrivateDnsZoneConfig, PrivateDnsZoneGroupSpec, PrivateDnsZoneSpec, RecordData, RecordSetSpec,
    VirtualNetworkLinkSpec,
};

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

/// A private endpoint's DNS zone group (`privateDnsZoneGroups`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneGroupDef {
    /// az's examples and the portal name it `default`.
    pub name: String,
    /// 1 to 5 zones (Azure's limit).
    pub zone_configs: Vec<ZoneConfigDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneConfigDef {
    /// The config's name (`az … dns-zone-group create --zone-name`).
    pub name: String,
    /// Zone name in the endpoint's resource group, `rg/name`, or a full ID.
    pub private_dns_zone: String,
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

/// The endpoints' zone groups: they come after the zones and the endpoints.
pub(super) fn zone_group_changes(
    r: &Resolver,
    endpoints: &[PrivateEndpointDef],
) -> Result<Vec<(String, Change)>, TopologyError> {
    let mut out = Vec::new();
    for (i, p) in endpoints.iter().enumerate() {
        let pe = r.id(
            &format!("privateEndpoints[{i}] ({})", p.name),
            p.resource_group.as_deref(),
            "privateEndpoints",
            &p.name,
        )?;
        for (j, g) in p.private_dns_zone_groups.iter().enumerate() {
            let at = format!(
                "privateEndpoints[{i}] ({}).privateDnsZoneGroups[{j}] ({})",
                p.name, g.name
            );
            let configs = g
                .zone_configs
                .iter()
                .map(|c| {
                    Ok(PrivateDnsZoneConfig {
                        name: c.name.clone(),
                        private_dns_zone: r.reference(&at, &pe, "privateDnsZones", &c.private_dns_zone)?,
                    })
                })
                .collect::<Result<_, TopologyError>>()?;
            let spec = PrivateDnsZoneGroupSpec {
                id: pe.child("privateDnsZoneGroups", &g.name),
                configs,
            };
            out.push((at, Change::PutPrivateDnsZoneGroup(spec)));
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

#[cfg(test)]
mod tests {
    use crate::model::{Change, RecordData};
    use crate::topology::Topology;

    const LAB08: &str = include_str!("../../labs/08-dns/topology.yaml");
    const ZONE: &str = "privatelink.redis.cache.windows.net";

    fn zone_a(m: &crate::model::Model) -> Option<(String, u32, RecordData)> {
        let z = m.private_dns_zones.values().find(|z| z.name == ZONE).expect("the zone");
        z.record_sets.first().map(|r| (r.name.clone(), r.ttl, r.data.clone()))
    }

    #[test]
    fn a_zone_group_writes_the_endpoints_record_which_goes_with_the_endpoint() {
        let mut m = Topology::parse(LAB08).expect("parses").build().expect("builds");
        let pe = m.private_endpoints.values().next().expect("cache-pe").clone();
        assert_eq!(pe.dns_zone_groups.len(), 1);
        assert_eq!(pe.dns_zone_groups[0].name, "default");
        assert_eq!(
            zone_a(&m),
            Some((
                "dnslab-cache".into(),
                crate::model::ZONE_GROUP_RECORD_TTL,
                RecordData::A(vec![pe.private_ip_address])
            ))
        );
        m.apply(Change::DeletePrivateEndpoint(pe.id.clone())).expect("deleted");
        assert_eq!(zone_a(&m), None, "the record leaves with its endpoint");
    }

    #[test]
    fn a_zone_group_naming_an_unknown_zone_or_two_groups_are_refused() {
        let unknown = LAB08.replace(
            "privateDnsZone: privatelink.redis.cache.windows.net",
            "privateDnsZone: privatelink.nowhere.example",
        );
        let e = Topology::parse(&unknown).expect("parses").build().expect_err("refused");
        assert!(e.to_string().contains("privatelink.nowhere.example"), "{e}");
        assert!(e.to_string().contains("privateDnsZoneGroups[0] (default)"), "{e}");

        let two = LAB08.replace(
            "      - name: default\n",
            "      - name: other\n        zoneConfigs: [{name: r, privateDnsZone: privatelink.redis.cache.windows.net}]\n      - name: default\n",
        );
        let e = Topology::parse(&two).expect("parses").build().expect_err("refused");
        assert!(
            e.to_string()
                .contains("Cannot create more than one private dns zone groups"),
            "{e}"
        );
    }
}
