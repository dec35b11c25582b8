//! NSGs, security rules, route tables and routes: validation and change.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::addr::parse_prefix;
use super::names::{self, NameKind};
use super::ops_identity::keep_location;
use super::{
    Access, AddressPrefix, AzureError, Direction, ErrorCode, Model, NetworkSecurityGroup, NextHopType, PortRange,
    Protocol, ResourceId, Route, RouteTable, SecurityRule, ServiceTag, bail,
};

/// A rule as a user writes it; every field is parsed and checked here so
/// that the topology file and the `az` front refuse bad rules alike.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRuleSpec {
    /// `.../networkSecurityGroups/NSG/securityRules/NAME`.
    pub id: ResourceId,
    pub priority: i64,
    pub direction: String,
    pub access: String,
    pub protocol: String,
    pub source_address_prefixes: Vec<String>,
    pub source_port_ranges: Vec<String>,
    pub destination_address_prefixes: Vec<String>,
    pub destination_port_ranges: Vec<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    /// `.../routeTables/RT/routes/NAME`.
    pub id: ResourceId,
    pub address_prefix: String,
    pub next_hop_type: String,
    pub next_hop_ip_address: Option<String>,
}

const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";
const RT_TYPE: &str = "Microsoft.Network/routeTables";

impl Model {
    pub(super) fn put_nsg(&mut self, id: &ResourceId, location: Option<&str>) -> Result<(), AzureError> {
        names::check_id(NameKind::NetworkChild, "network security group", id)?;
        let location = self.resolve_location(id, location, NSG_TYPE)?;
        let existing = self.network_security_groups.get(id);
        keep_location(
            existing.map(|n| n.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        if existing.is_none() {
            self.network_security_groups.insert(
                id.clone(),
                NetworkSecurityGroup {
                    id: id.clone(),
                    name: id.name().into(),
                    location,
                    security_rules: vec![],
                },
            );
        }
        Ok(())
    }

    pub(super) fn delete_nsg(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if !self.network_security_groups.contains_key(id) {
            return Err(AzureError::resource_not_found(id));
        }
        let users: Vec<String> = self
            .virtual_networks
            .values()
            .flat_map(|v| v.subnets.iter())
            .filter(|s| s.network_security_group.as_ref() == Some(id))
            .map(|s| s.id.to_string())
            .chain(
                self.network_interfaces
                    .values()
                    .filter(|n| n.network_security_group.as_ref() == Some(id))
                    .map(|n| n.id.to_string()),
            )
            .collect();
        if !users.is_empty() {
            bail!(
                InUseNetworkSecurityGroupCannotBeDeleted,
                "Network security group {id} cannot be deleted because it is in use by the following resources: {}. In order to delete the Network security group, remove the association with the resource(s).",
                users.join(", ")
            );
        }
        self.network_security_groups.remove(id);
        Ok(())
    }

    pub(super) fn put_security_rule(&mut self, spec: SecurityRuleSpec) -> Result<(), AzureError> {
        let id = &spec.id;
        names::check_id(NameKind::NetworkChild, "security rule", id)?;
        let nsg_id = id.parent().ok_or_else(|| {
            AzureError::new(
                ErrorCode::InvalidRequestFormat,
                format!("{id} is not a security rule ID."),
            )
        })?;
        let Some(nsg) = self.network_security_groups.get(&nsg_id) else {
            return Err(AzureError::resource_not_found(&nsg_id));
        };
        let rule = parse_rule(&spec)?;
        if let Some(other) = nsg.security_rules.iter().find(|r| {
            r.priority == rule.priority && r.direction == rule.direction && !r.name.eq_ignore_ascii_case(&rule.name)
        }) {
            bail!(
                SecurityRuleConflict,
                "Security rule {} conflicts with rule {}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.",
                rule.name,
                other.name
            );
        }
        let nsg = self
            .network_security_groups
            .get_mut(&nsg_id)
            .ok_or_else(|| AzureError::new(ErrorCode::ResourceNotFound, nsg_id.to_string()))?;
        match nsg
            .security_rules
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(&rule.name))
        {
            Some(r) => *r = rule,
            None => nsg.security_rules.push(rule),
        }
        Ok(())
    }

    pub(super) fn delete_security_rule(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let nsg = id.parent().and_then(|n| self.network_security_groups.get_mut(&n));
        match nsg {
            Some(n) if n.rule(id.name()).is_some() => {
                n.security_rules.retain(|r| !r.name.eq_ignore_ascii_case(id.name()));
                Ok(())
            }
            _ => bail!(NotFound, "Security rule {id} was not found."),
        }
    }

    pub(super) fn put_route_table(
        &mut self,
        id: &ResourceId,
        location: Option<&str>,
        disable_bgp: bool,
    ) -> Result<(), AzureError> {
        names::check_id(NameKind::NetworkChild, "route table", id)?;
        let location = self.resolve_location(id, location, RT_TYPE)?;
        let existing = self.route_tables.get(id);
        keep_location(
            existing.map(|n| n.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        let rt = self.route_tables.entry(id.clone()).or_insert_with(|| RouteTable {
            id: id.clone(),
            name: id.name().into(),
            location,
            disable_bgp_route_propagation: false,
            routes: vec![],
        });
        rt.disable_bgp_route_propagation = disable_bgp;
        Ok(())
    }

    pub(super) fn delete_route_table(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if !self.route_tables.contains_key(id) {
            return Err(AzureError::resource_not_found(id));
        }
        let users: Vec<String> = self
            .virtual_networks
            .values()
            .flat_map(|v| v.subnets.iter())
            .filter(|s| s.route_table.as_ref() == Some(id))
            .map(|s| s.id.to_string())
            .collect();
        if !users.is_empty() {
            bail!(
                InUseRouteTableCannotBeDeleted,
                "Route table {id} is in use by subnet(s) {} and cannot be deleted. Remove the association first.",
                users.join(", ")
            );
        }
        self.route_tables.remove(id);
        Ok(())
    }

    pub(super) fn put_route(&mut self, spec: RouteSpec) -> Result<(), AzureError> {
        let id = &spec.id;
        names::check_id(NameKind::NetworkChild, "route", id)?;
        let rt_id = id
            .parent()
            .ok_or_else(|| AzureError::new(ErrorCode::InvalidRequestFormat, format!("{id} is not a route ID.")))?;
        let Some(rt) = self.route_tables.get(&rt_id) else {
            return Err(AzureError::resource_not_found(&rt_id));
        };
        let Some(prefix) = parse_route_prefix(&spec.address_prefix, id)? else {
            bail!(
                BadRequest,
                "Route {} uses the service tag '{}' as its address prefix; vnetlab emulates routes to CIDR prefixes only. Use a CIDR such as 10.2.0.0/16.",
                id.name(),
                spec.address_prefix
            );
        };
        let hop = NextHopType::parse(&spec.next_hop_type)
            .filter(|t| NextHopType::USER_SETTABLE.contains(t))
            .ok_or_else(|| AzureError::new(ErrorCode::InvalidRequestFormat, format!(
                "Route {} has next hop type '{}'. Allowed values are VirtualAppliance, VirtualNetworkGateway, VnetLocal, Internet and None; Azure alone creates VNet peering routes.",
                id.name(), spec.next_hop_type)))?;
        let ip = match (&spec.next_hop_ip_address, hop) {
            (None, NextHopType::VirtualAppliance) => bail!(
                MissingNextHopIpAddress,
                "NextHopIpAddress cannot be Null or Empty in route {} when NextHopType is VirtualAppliance.",
                id.name()
            ),
            (Some(ip), NextHopType::VirtualAppliance) => Some(ip.trim().parse::<Ipv4Addr>().map_err(|_| {
                AzureError::new(
                    ErrorCode::InvalidRequestFormat,
                    format!(
                        "Next hop IP address '{ip}' of route {} is not a valid IPv4 address.",
                        id.name()
                    ),
                )
            })?),
            (Some(ip), _) if !ip.trim().is_empty() => bail!(
                BadRequest,
                "Route {} has next hop IP address {ip}, which is only allowed in routes where the next hop type is VirtualAppliance. Remove the IP address or change the next hop type.",
                id.name()
            ),
            _ => None,
        };
        if let Some(other) = rt
            .routes
            .iter()
            .find(|r| r.address_prefix == prefix && !r.name.eq_ignore_ascii_case(id.name()))
        {
            bail!(
                RouteConflict,
                "Route: {} conflicts with Route: {}. Routes cannot have the same AddressPrefix.",
                id.name(),
                other.name
            );
        }
        let route = Route {
            name: id.name().into(),
            address_prefix: prefix,
            next_hop_type: hop,
            next_hop_ip_address: ip,
        };
        let rt = self
            .route_tables
            .get_mut(&rt_id)
            .ok_or_else(|| AzureError::new(ErrorCode::ResourceNotFound, rt_id.to_string()))?;
        match rt.routes.iter_mut().find(|r| r.name.eq_ignore_ascii_case(id.name())) {
            Some(r) => *r = route,
            None => rt.routes.push(route),
        }
        Ok(())
    }

    pub(super) fn delete_route(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        match id.parent().and_then(|t| self.route_tables.get_mut(&t)) {
            Some(t) if t.route(id.name()).is_some() => {
                t.routes.retain(|r| !r.name.eq_ignore_ascii_case(id.name()));
                Ok(())
            }
            _ => bail!(NotFound, "Route {id} was not found."),
        }
    }
}

/// A route prefix is a CIDR or a service tag; `None` means a tag.
fn parse_route_prefix(s: &str, id: &ResourceId) -> Result<Option<ipnet::Ipv4Net>, AzureError> {
    if s.contains('/') || s.parse::<Ipv4Addr>().is_ok() || s.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return parse_prefix(s, id.as_str()).map(Some);
    }
    Ok(None)
}

fn parse_rule(spec: &SecurityRuleSpec) -> Result<SecurityRule, AzureError> {
    let id = &spec.id;
    if !(100..=4096).contains(&spec.priority) {
        bail!(
            SecurityRuleInvalidPriority,
            "Security rule has invalid Priority. Value provided: {} Allowed range 100-4096.",
            spec.priority
        );
    }
    let direction = match spec.direction.to_ascii_lowercase().as_str() {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        _ => bail!(
            BadRequest,
            "Security rule {} has invalid direction '{}'. Use Inbound or Outbound.",
            id.name(),
            spec.direction
        ),
    };
    let access = match spec.access.to_ascii_lowercase().as_str() {
        "allow" => Access::Allow,
        "deny" => Access::Deny,
        _ => bail!(
            BadRequest,
            "Security rule {} has invalid access '{}'. Use Allow or Deny.",
            id.name(),
            spec.access
        ),
    };
    let Some(protocol) = Protocol::parse(&spec.protocol) else {
        bail!(
            BadRequest,
            "Security rule {} has invalid protocol '{}'. Use one of *, Tcp, Udp, Icmp, Esp, Ah.",
            id.name(),
            spec.protocol
        );
    };
    Ok(SecurityRule {
        name: id.name().into(),
        priority: spec.priority as u32,
        direction,
        access,
        protocol,
        source_address_prefixes: parse_addresses(&spec.source_address_prefixes, "SourceAddressPrefixes", id)?,
        source_port_ranges: parse_ports(&spec.source_port_ranges)?,
        destination_address_prefixes: parse_addresses(
            &spec.destination_address_prefixes,
            "DestinationAddressPrefixes",
            id,
        )?,
        destination_port_ranges: parse_ports(&spec.destination_port_ranges)?,
        description: spec.description.clone(),
    })
}

fn parse_ports(list: &[String]) -> Result<Vec<PortRange>, AzureError> {
    if list.is_empty() {
        return Ok(vec![PortRange::ANY]);
    }
    list.iter()
        .map(|p| {
            PortRange::parse(p).ok_or_else(|| {
                AzureError::new(ErrorCode::SecurityRuleInvalidPortRange, format!("Security rule has invalid Port range. Value provided: {p}. Value should be an integer OR integer range with '-' delimiter. Valid range 0-65535."))
            })
        })
        .collect()
}

/// A list may hold many addresses but at most one tag, and `*` or a tag
/// only on its own (augmented rules, §5.1).
fn parse_addresses(list: &[String], param: &str, id: &ResourceId) -> Result<Vec<AddressPrefix>, AzureError> {
    if list.is_empty() {
        return Ok(vec![AddressPrefix::Any]);
    }
    let mut out = Vec::with_capacity(list.len());
    for raw in list {
        let s = raw.trim();
        let parsed = if s == "*" || s.eq_ignore_ascii_case("any") {
            AddressPrefix::Any
        } else if let Some(tag) = ServiceTag::parse(s) {
            AddressPrefix::Tag(tag)
        } else if let Ok(ip) = s.parse::<Ipv4Addr>() {
            AddressPrefix::Net(ipnet::Ipv4Net::from(ip))
        } else if let Ok(n) = s.parse::<ipnet::Ipv4Net>() {
            AddressPrefix::Net(n.trunc())
        } else if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        {
            bail!(
                BadRequest,
                "Security rule {} uses the service tag '{s}', which vnetlab does not emulate. Use VirtualNetwork, Internet, AzureLoadBalancer, '*' or IP addresses.",
                id.name()
            );
        } else {
            bail!(
                SecurityRuleInvalidAddressPrefix,
                "Security rule {id} has invalid Address prefix. Value provided: {s}"
            );
        };
        out.push(parsed);
    }
    if out.len() > 1
        && let Some(bad) = out.iter().find(|p| !matches!(p, AddressPrefix::Net(_)))
    {
        bail!(
            SecurityRuleParameterContainsUnsupportedValue,
            "Security rule parameter {param} for rule with Id {id} cannot specify existing VIRTUALNETWORK, INTERNET, AZURELOADBALANCER, '*' or system tags. Unsupported value used: {bad}."
        );
    }
    Ok(out)
}
