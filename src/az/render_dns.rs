//! Private DNS resources as ARM returns them and az prints them (the AAZ
//! commands print the flattened resource): zones, virtual network links and
//! record sets, auto-registered ones included. The ARM endpoint serves the
//! same documents through `arm::wire::to_arm`.

use serde_json::{Value, json};

use crate::model::{
    MAX_LINKS_PER_ZONE, MAX_RECORD_SETS_PER_ZONE, MAX_REGISTRATION_LINKS_PER_ZONE, Model, PRIVATE_DNS_ZONE_GROUP_TYPE,
    PrivateDnsZone, PrivateDnsZoneGroup, PrivateEndpoint, RecordData, RecordSet, RecordType, ResourceId,
    VirtualNetworkLink,
};

/// Private DNS etags are bare GUIDs, not `W/"…"` as NRP's.
fn etag(id: &ResourceId) -> String {
    id.stable_guid("etag")
}

pub fn zone(m: &Model, z: &PrivateDnsZone) -> Value {
    let links = z.virtual_network_links.len();
    let registration = z.registration_links().count();
    json!({
        "etag": etag(&z.id),
        "id": z.id.as_str(),
        "internalId": z.id.stable_guid("internal"),
        "location": "global",
        "maxNumberOfRecordSets": MAX_RECORD_SETS_PER_ZONE,
        "maxNumberOfVirtualNetworkLinks": MAX_LINKS_PER_ZONE,
        "maxNumberOfVirtualNetworkLinksWithRegistration": MAX_REGISTRATION_LINKS_PER_ZONE,
        "name": z.name,
        "numberOfRecordSets": z.number_of_record_sets() + m.auto_registered_records(z).len(),
        "numberOfVirtualNetworkLinks": links,
        "numberOfVirtualNetworkLinksWithRegistration": registration,
        "provisioningState": "Succeeded",
        "tags": {},
        "type": crate::model::PRIVATE_DNS_ZONE_TYPE,
    })
}

pub fn link(l: &VirtualNetworkLink) -> Value {
    json!({
        "etag": etag(&l.id),
        "id": l.id.as_str(),
        "location": "global",
        "name": l.name,
        "provisioningState": "Succeeded",
        "registrationEnabled": l.registration_enabled,
        "resolutionPolicy": "Default",
        "tags": {},
        "type": crate::model::VIRTUAL_NETWORK_LINK_TYPE,
        "virtualNetwork": { "id": l.virtual_network.as_str() },
        "virtualNetworkLinkState": "Completed",
    })
}

/// The records of a set under az's property name (`aRecords`, `cnameRecord`, …).
fn records(data: &RecordData) -> (&'static str, Value) {
    match data {
        RecordData::A(v) => (
            "aRecords",
            v.iter().map(|ip| json!({ "ipv4Address": ip.to_string() })).collect(),
        ),
        RecordData::AAAA(v) => (
            "aaaaRecords",
            v.iter().map(|ip| json!({ "ipv6Address": ip.to_string() })).collect(),
        ),
        RecordData::CNAME(t) if t.is_empty() => ("cnameRecord", json!({})),
        RecordData::CNAME(t) => ("cnameRecord", json!({ "cname": t })),
        RecordData::MX(v) => (
            "mxRecords",
            v.iter()
                .map(|r| json!({ "exchange": r.exchange, "preference": r.preference }))
                .collect(),
        ),
        RecordData::PTR(v) => ("ptrRecords", v.iter().map(|p| json!({ "ptrdname": p })).collect()),
        RecordData::SRV(v) => (
            "srvRecords",
            v.iter()
                .map(|r| json!({ "port": r.port, "priority": r.priority, "target": r.target, "weight": r.weight }))
                .collect(),
        ),
        RecordData::TXT(v) => ("txtRecords", v.iter().map(|s| json!({ "value": s })).collect()),
    }
}

fn set_doc(z: &PrivateDnsZone, id: &ResourceId, name: &str, kind: &str, ttl: u32, auto: bool) -> Value {
    let fqdn = if name == "@" {
        format!("{}.", z.name)
    } else {
        format!("{name}.{}.", z.name)
    };
    json!({
        "etag": etag(id),
        "fqdn": fqdn,
        "id": id.as_str(),
        "isAutoRegistered": auto,
        // az's table transformer reads it; metadata is not modelled.
        "metadata": {},
        "name": name,
        "ttl": ttl,
        "type": format!("{}/{kind}", crate::model::PRIVATE_DNS_ZONE_TYPE),
    })
}

pub fn record_set(z: &PrivateDnsZone, rs: &RecordSet) -> Value {
    let mut doc = set_doc(z, &rs.id, &rs.name, rs.kind().as_str(), rs.ttl, false);
    let (key, value) = records(&rs.data);
    doc[key] = value;
    doc
}

/// The SOA set every zone has. Azure: the values a new private zone shows
/// (private-dns-privatednszone.md, "SOA record"; seen in `record-set soa show`).
pub fn soa(z: &PrivateDnsZone) -> Value {
    let id = z.id.child("SOA", "@");
    let mut doc = set_doc(z, &id, "@", "SOA", 3600, false);
    doc["soaRecord"] = json!({
        "email": "azureprivatedns-host.microsoft.com",
        "expireTime": 2_419_200,
        "host": "azureprivatedns.net",
        "minimumTtl": 10,
        "refreshTime": 3600,
        "retryTime": 300,
        "serialNumber": 1,
    });
    doc
}

/// Every record set of `z` of type `kind` (all types, the SOA first, with
/// `None`): the manual sets, then the auto-registered A records.
pub fn record_sets(m: &Model, z: &PrivateDnsZone, kind: Option<RecordType>) -> Vec<Value> {
    let mut out = Vec::new();
    if kind.is_none() {
        out.push(soa(z));
    }
    out.extend(
        z.record_sets
            .iter()
            .filter(|r| kind.is_none_or(|k| r.kind() == k))
            .map(|r| record_set(z, r)),
    );
    if kind.is_none_or(|k| k == RecordType::A) {
        for (name, ips) in m.auto_registered_records(z) {
            let id = z.id.child("A", &name);
            let mut doc = set_doc(z, &id, &name, "A", crate::dns::DERIVED_TTL, true);
            doc["aRecords"] = ips.iter().map(|ip| json!({ "ipv4Address": ip.to_string() })).collect();
            out.push(doc);
        }
    }
    out
}

/// A private endpoint's zone group, with the record each zone holds for it
/// (`recordSets`, as `az network private-endpoint dns-zone-group show` prints).
pub fn zone_group(m: &Model, pe: &PrivateEndpoint, g: &PrivateDnsZoneGroup) -> Value {
    let configs: Vec<Value> = g
        .configs
        .iter()
        .map(|c| {
            let sets: Vec<Value> = m
                .zone_group_record(&pe.id, &c.private_dns_zone)
                .map(|(name, ip)| {
                    json!({
                        "fqdn": format!("{name}.{}", c.private_dns_zone.name()),
                        "ipAddresses": [ip.to_string()],
                        "provisioningState": "Succeeded",
                        "recordSetName": name,
                        "recordType": "A",
                        "ttl": crate::model::ZONE_GROUP_RECORD_TTL,
                    })
                })
                .into_iter()
                .collect();
            let id = g.id.child("privateDnsZoneConfigs", &c.name);
            json!({
                "etag": format!("W/\"{}\"", id.stable_guid("etag")),
                "id": id.as_str(),
                "name": c.name,
                "privateDnsZoneId": c.private_dns_zone.as_str(),
                "recordSets": sets,
                "type": format!("{PRIVATE_DNS_ZONE_GROUP_TYPE}/privateDnsZoneConfigs"),
            })
        })
        .collect();
    json!({
        "etag": format!("W/\"{}\"", g.id.stable_guid("etag")),
        "id": g.id.as_str(),
        "name": g.name,
        "privateDnsZoneConfigs": configs,
        "provisioningState": "Succeeded",
        "type": PRIVATE_DNS_ZONE_GROUP_TYPE,
    })
}

/// Every private DNS resource of the model, for the ARM endpoint's reads.
pub fn all(m: &Model) -> Vec<Value> {
    let mut out = Vec::new();
    for pe in m.private_endpoints.values() {
        out.extend(pe.dns_zone_groups.iter().map(|g| zone_group(m, pe, g)));
    }
    for z in m.private_dns_zones.values() {
        out.push(zone(m, z));
        out.extend(z.virtual_network_links.iter().map(link));
        out.extend(record_sets(m, z, None));
    }
    out
}
