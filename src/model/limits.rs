//! Azure's count limits (azure-semantics §11), checked after each change
//! on the model's working copy, so a change that goes over a limit is
//! refused and the model stays as it was.
//!
//! Limits inside one resource (rules of an NSG, routes of a table,
//! subnets, peerings and DNS servers of a VNet) are counted on that resource. Limits
//! per subscription and region (VNets, NSGs, route tables) would cost a
//! scan of the whole model per change, so [`Quotas`] keeps the counts for
//! a batch and updates them as the batch goes: loading 65 000 VNets stays
//! linear.

use std::collections::HashMap;

use super::{AzureError, Change, Model, ResourceId, bail};

// Azure: "Azure Resource Manager virtual networking limits", Learn
// azure-subscription-service-limits (azure-semantics §11, 2022-12 copy).
pub const MAX_SUBNETS_PER_VNET: usize = 3_000;
pub const MAX_PEERINGS_PER_VNET: usize = 500;
pub const MAX_DNS_SERVERS_PER_VNET: usize = 20;
pub const MAX_VNETS_PER_SUBSCRIPTION_REGION: usize = 1_000;
pub const MAX_NSGS_PER_SUBSCRIPTION_REGION: usize = 5_000;
// Azure: "A security group cannot have more than 1000 security rules."
// (SecurityRuleCountLimitReached, Azure/azure-rest-api-specs #3003).
pub const MAX_RULES_PER_NSG: usize = 1_000;
// Azure: raised in 2026 from 400 routes per table and 200 route tables to
// 1 000 and 600 (Azure update 562695, quoted in MicrosoftDocs/azure-docs
// PR #128572; the limits page reads 1 000 routes per table, PR #128759).
// The 600 route tables rest on that one announcement: UNCONFIRMED.
pub const MAX_ROUTES_PER_TABLE: usize = 1_000;
pub const MAX_ROUTE_TABLES_PER_SUBSCRIPTION_REGION: usize = 600;
// Azure: "Private IP addresses per virtual network: 65,536" and "per
// network interface: 256" (azure-semantics §11). The model gives a NIC one
// IP configuration, so the per-NIC limit cannot be reached; the per-VNet one
// counts the NICs' addresses (a cache's or Route Server's instance address
// is not counted: UNCONFIRMED whether Azure counts them).
pub const MAX_PRIVATE_IPS_PER_VNET: usize = 65_536;

/// Limits inside the one resource `change` touched.
pub(crate) fn check_change(model: &Model, change: &Change) -> Result<(), AzureError> {
    match change {
        Change::PutSecurityRule(s) => {
            let Some(nsg) = s.id.parent().and_then(|n| model.network_security_groups.get(&n)) else {
                return Ok(());
            };
            if nsg.security_rules.len() > MAX_RULES_PER_NSG {
                bail!(
                    SecurityRuleCountLimitReached,
                    "A security group cannot have more than {MAX_RULES_PER_NSG} security rules. Network security group {} has {} already; combine rules (several prefixes or port ranges in one rule) or use another NSG.",
                    nsg.id,
                    MAX_RULES_PER_NSG
                );
            }
        }
        Change::PutRoute(s) => {
            let Some(table) = s.id.parent().and_then(|t| model.route_tables.get(&t)) else {
                return Ok(());
            };
            if table.routes.len() > MAX_ROUTES_PER_TABLE {
                bail!(
                    QuotaExceeded,
                    "Route table {} cannot have more than {MAX_ROUTES_PER_TABLE} routes. Summarize prefixes or use another route table.",
                    table.id
                );
            }
        }
        Change::PutVirtualNetwork(s) => {
            let Some(vnet) = model.virtual_networks.get(&s.id) else {
                return Ok(());
            };
            if vnet.dns_servers.len() > MAX_DNS_SERVERS_PER_VNET {
                bail!(
                    QuotaExceeded,
                    "Virtual network {} cannot have more than {MAX_DNS_SERVERS_PER_VNET} DNS servers; it names {}. Keep at most {MAX_DNS_SERVERS_PER_VNET}.",
                    vnet.id,
                    vnet.dns_servers.len()
                );
            }
        }
        Change::PutSubnet(s) => {
            let Some(vnet) = s.id.parent().and_then(|v| model.virtual_networks.get(&v)) else {
                return Ok(());
            };
            if vnet.subnets.len() > MAX_SUBNETS_PER_VNET {
                bail!(
                    QuotaExceeded,
                    "Virtual network {} cannot have more than {MAX_SUBNETS_PER_VNET} subnets. Use larger subnets or another virtual network.",
                    vnet.id
                );
            }
        }
        // Counting a VNet's NICs walks every NIC: only when the whole model
        // has enough of them to break the limit, so loads stay linear.
        Change::PutNetworkInterface(s) if model.network_interfaces.len() > MAX_PRIVATE_IPS_PER_VNET => {
            let Some(vnet) = s.subnet.parent() else { return Ok(()) };
            if private_ips(model, &vnet) > MAX_PRIVATE_IPS_PER_VNET {
                bail!(
                    QuotaExceeded,
                    "Virtual network {vnet} cannot have more than {MAX_PRIVATE_IPS_PER_VNET} private IP addresses. Put the network interface in another virtual network."
                );
            }
        }
        Change::PutPeering(s) => {
            let Some(vnet) = s.id.parent().and_then(|v| model.virtual_networks.get(&v)) else {
                return Ok(());
            };
            if vnet.peerings.len() > MAX_PEERINGS_PER_VNET {
                bail!(
                    QuotaExceeded,
                    "Virtual network {} cannot have more than {MAX_PEERINGS_PER_VNET} virtual network peerings. Use a hub with transit (a gateway or an NVA) instead of peering every pair.",
                    vnet.id
                );
            }
        }
        _ => {}
    }
    Ok(())
}

/// The private IP addresses `vnet`'s NICs hold (one each).
pub fn private_ips(model: &Model, vnet: &ResourceId) -> usize {
    model
        .network_interfaces
        .values()
        .filter(|n| n.subnet.parent().as_ref() == Some(vnet))
        .count()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    VirtualNetwork,
    NetworkSecurityGroup,
    RouteTable,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::VirtualNetwork, Kind::NetworkSecurityGroup, Kind::RouteTable];

    fn limit(self) -> usize {
        match self {
            Kind::VirtualNetwork => MAX_VNETS_PER_SUBSCRIPTION_REGION,
            Kind::NetworkSecurityGroup => MAX_NSGS_PER_SUBSCRIPTION_REGION,
            Kind::RouteTable => MAX_ROUTE_TABLES_PER_SUBSCRIPTION_REGION,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::VirtualNetwork => "virtual networks",
            Kind::NetworkSecurityGroup => "network security groups",
            Kind::RouteTable => "route tables",
        }
    }

    fn len(self, m: &Model) -> usize {
        match self {
            Kind::VirtualNetwork => m.virtual_networks.len(),
            Kind::NetworkSecurityGroup => m.network_security_groups.len(),
            Kind::RouteTable => m.route_tables.len(),
        }
    }

    fn location(self, m: &Model, id: &ResourceId) -> Option<String> {
        match self {
            Kind::VirtualNetwork => m.virtual_networks.get(id).map(|v| v.location.clone()),
            Kind::NetworkSecurityGroup => m.network_security_groups.get(id).map(|n| n.location.clone()),
            Kind::RouteTable => m.route_tables.get(id).map(|r| r.location.clone()),
        }
    }

    /// The kind `change` creates, if it is a PUT of a counted resource.
    fn put_by(change: &Change) -> Option<(Kind, &ResourceId)> {
        match change {
            Change::PutVirtualNetwork(s) => Some((Kind::VirtualNetwork, &s.id)),
            Change::PutNetworkSecurityGroup { id, .. } => Some((Kind::NetworkSecurityGroup, id)),
            Change::PutRouteTable { id, .. } => Some((Kind::RouteTable, id)),
            _ => None,
        }
    }
}

/// (kind, lower-cased subscription, region) → how many.
type Key = (Kind, String, String);

/// The counts per subscription and region, kept across a batch.
pub(crate) struct Quotas {
    counts: HashMap<Key, usize>,
    lens: [usize; 3],
}

impl Quotas {
    pub(crate) fn count(m: &Model) -> Self {
        let mut counts: HashMap<Key, usize> = HashMap::new();
        let mut add = |kind, id: &ResourceId, location: &str| {
            *counts
                .entry((kind, id.subscription_id().to_ascii_lowercase(), location.to_string()))
                .or_default() += 1;
        };
        for v in m.virtual_networks.values() {
            add(Kind::VirtualNetwork, &v.id, &v.location);
        }
        for n in m.network_security_groups.values() {
            add(Kind::NetworkSecurityGroup, &n.id, &n.location);
        }
        for r in m.route_tables.values() {
            add(Kind::RouteTable, &r.id, &r.location);
        }
        Quotas {
            counts,
            lens: Kind::ALL.map(|k| k.len(m)),
        }
    }

    /// Takes note of what `change` did to `m` and refuses it when a count
    /// went over its limit. Cheap for the usual PUT of one new resource;
    /// anything else that changed the counts (a delete, a cascade) is
    /// recounted.
    pub(crate) fn after(&mut self, m: &Model, change: &Change) -> Result<(), AzureError> {
        let lens = Kind::ALL.map(|k| k.len(m));
        if lens == self.lens {
            return Ok(());
        }
        let grew_by_one = |k: Kind| {
            Kind::ALL
                .iter()
                .enumerate()
                .all(|(i, &o)| lens[i] == self.lens[i] + usize::from(o == k))
        };
        let created = Kind::put_by(change).filter(|(k, _)| grew_by_one(*k));
        let over = match created {
            Some((kind, id)) => {
                let Some(location) = kind.location(m, id) else {
                    return Ok(());
                };
                let key = (kind, id.subscription_id().to_ascii_lowercase(), location);
                let n = self.counts.entry(key.clone()).or_default();
                *n += 1;
                (*n > kind.limit()).then_some(key)
            }
            None => {
                let fresh = Quotas::count(m);
                let over = fresh
                    .counts
                    .iter()
                    .find(|(k, n)| **n > k.0.limit() && **n > self.counts.get(*k).copied().unwrap_or(0))
                    .map(|(k, _)| k.clone());
                self.counts = fresh.counts;
                over
            }
        };
        self.lens = lens;
        if let Some((kind, sub, location)) = over {
            bail!(
                QuotaExceeded,
                "Operation results in exceeding quota limits of {}. Maximum allowed: {} {} per subscription per region, in subscription '{sub}' and region '{location}'. Use another region or subscription, or delete unused ones.",
                kind.plural(),
                kind.limit(),
                kind.plural()
            );
        }
        Ok(())
    }
}
