//! Private endpoint DNS zone groups: a group writes the endpoint's A record
//! into each of its `privatelink.*` zones and removes it when it goes
//! (Azure: private-endpoint-dns.md, "Private DNS zone group"; docs/dns.md).
//! The records are real record sets of the zone, as in Azure, so the
//! resolver needs nothing of its own for them.

use serde::{Deserialize, Serialize};

use super::dns::{
    MAX_ZONE_CONFIGS_PER_GROUP, PrivateDnsZoneConfig, PrivateDnsZoneGroup, RecordData, RecordSet, RecordType,
    ZONE_GROUP_RECORD_TTL,
};
use super::names::{self, NameKind};
use super::{AzureError, ErrorCode, Model, ResourceId};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZoneGroupSpec {
    /// `…/privateEndpoints/<pe>/privateDnsZoneGroups/<name>`.
    pub id: ResourceId,
    pub configs: Vec<PrivateDnsZoneConfig>,
}

fn bad(code: ErrorCode, message: String, target: &ResourceId) -> AzureError {
    AzureError::new(code, message).with_target(target.to_string())
}

impl Model {
    /// The record a zone group writes in zone `zone` for endpoint `pe`:
    /// (relative name, address). Only the service's own privatelink zone
    /// gets one (for a cache `<name>` in `privatelink.redis.cache.windows.net`);
    /// UNCONFIRMED what Azure writes into a zone of another name (nothing here).
    pub fn zone_group_record(&self, pe: &ResourceId, zone: &ResourceId) -> Option<(String, std::net::Ipv4Addr)> {
        let pe = self.private_endpoints.get(pe)?;
        let cache = self.redis_caches.get(&pe.private_link_service_id)?;
        let z = self.private_dns_zones.get(zone)?;
        let host = cache.host_name();
        let (label, suffix) = host.split_once('.')?;
        z.name
            .eq_ignore_ascii_case(&format!("privatelink.{suffix}"))
            .then(|| (label.to_string(), pe.private_ip_address))
    }

    pub(super) fn put_private_dns_zone_group(&mut self, spec: PrivateDnsZoneGroupSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "private DNS zone group", &id)?;
        let pe_id = id.parent().ok_or_else(|| {
            bad(
                ErrorCode::InvalidRequestFormat,
                format!("{id} is not a zone group ID."),
                &id,
            )
        })?;
        let Some(pe) = self.private_endpoints.get(&pe_id) else {
            return Err(AzureError::resource_not_found(&pe_id));
        };
        // Azure's sentence (pulumi/pulumi-azure-native #2179).
        if pe.dns_zone_groups.iter().any(|g| g.id != id) {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "Cannot create more than one private dns zone groups in the private endpoint {}. Add the zone to the existing group, or delete it first.",
                    pe.name
                ),
                &id,
            ));
        }
        if spec.configs.is_empty() || spec.configs.len() > MAX_ZONE_CONFIGS_PER_GROUP {
            return Err(bad(
                ErrorCode::BadRequest,
                format!(
                    "Private DNS zone group {} has {} zone configs; a group holds 1 to {MAX_ZONE_CONFIGS_PER_GROUP}.",
                    id.name(),
                    spec.configs.len()
                ),
                &id,
            ));
        }
        for c in &spec.configs {
            names::check(NameKind::NetworkChild, "private DNS zone config", &c.name)?;
            self.zone_or_not_found(&c.private_dns_zone)?;
        }
        // A put replaces the group: its old records go, the new ones come.
        let mut next = self.clone();
        if next.private_endpoints[&pe_id]
            .dns_zone_groups
            .iter()
            .any(|g| g.id == id)
        {
            next.delete_private_dns_zone_group(&id)?;
        }
        for c in &spec.configs {
            if let Some((name, ip)) = next.zone_group_record(&pe_id, &c.private_dns_zone) {
                next.add_zone_group_record(&c.private_dns_zone, &name, ip)?;
            }
        }
        let group = PrivateDnsZoneGroup {
            id: id.clone(),
            name: id.name().to_string(),
            configs: spec.configs,
        };
        if let Some(pe) = next.private_endpoints.get_mut(&pe_id) {
            pe.dns_zone_groups = vec![group];
        }
        *self = next;
        Ok(())
    }

    fn add_zone_group_record(
        &mut self,
        zone: &ResourceId,
        name: &str,
        ip: std::net::Ipv4Addr,
    ) -> Result<(), AzureError> {
        let z = self
            .private_dns_zones
            .get_mut(zone)
            .ok_or_else(|| AzureError::resource_not_found(zone))?;
        match z
            .record_sets
            .iter_mut()
            .find(|r| r.kind() == RecordType::A && r.name.eq_ignore_ascii_case(name))
        {
            Some(RecordSet {
                data: RecordData::A(ips),
                ..
            }) => {
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
            _ => z.record_sets.push(RecordSet {
                id: zone.child("A", name),
                name: name.to_string(),
                ttl: ZONE_GROUP_RECORD_TTL,
                data: RecordData::A(vec![ip]),
            }),
        }
        Ok(())
    }

    pub(super) fn delete_private_dns_zone_group(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let pe_id = id.parent().ok_or_else(|| AzureError::resource_not_found(id))?;
        let Some(group) = self
            .private_endpoints
            .get(&pe_id)
            .and_then(|pe| pe.dns_zone_groups.iter().find(|g| &g.id == id))
            .cloned()
        else {
            return Err(AzureError::resource_not_found(id));
        };
        // Its records leave the zones (a zone deleted meanwhile has none).
        for c in &group.configs {
            let Some((name, ip)) = self.zone_group_record(&pe_id, &c.private_dns_zone) else {
                continue;
            };
            if let Some(z) = self.private_dns_zones.get_mut(&c.private_dns_zone) {
                for r in z.record_sets.iter_mut() {
                    if let RecordData::A(ips) = &mut r.data
                        && r.name.eq_ignore_ascii_case(&name)
                    {
                        ips.retain(|a| *a != ip);
                    }
                }
                z.record_sets.retain(|r| {
                    !(r.kind() == RecordType::A && r.name.eq_ignore_ascii_case(&name) && r.data.is_empty())
                });
            }
        }
        if let Some(pe) = self.private_endpoints.get_mut(&pe_id) {
            pe.dns_zone_groups.retain(|g| &g.id != id);
        }
        Ok(())
    }
}
