//! Network security groups and their rules (azure-semantics §5).

use std::fmt;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSecurityGroup {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub security_rules: Vec<SecurityRule>,
}

impl NetworkSecurityGroup {
    pub fn rule(&self, name: &str) -> Option<&SecurityRule> {
        self.security_rules.iter().find(|r| r.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Access {
    Allow,
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    #[serde(rename = "*")]
    Any,
    Tcp,
    Udp,
    Icmp,
    Esp,
    Ah,
}

impl Protocol {
    /// Whether packets of IP protocol number `proto` match.
    pub fn matches(self, proto: u8) -> bool {
        match self {
            Protocol::Any => true,
            Protocol::Tcp => proto == 6,
            Protocol::Udp => proto == 17,
            Protocol::Icmp => proto == 1,
            Protocol::Esp => proto == 50,
            Protocol::Ah => proto == 51,
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        Some(match s.to_ascii_lowercase().as_str() {
            "*" | "any" => Protocol::Any,
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "icmp" => Protocol::Icmp,
            "esp" => Protocol::Esp,
            "ah" => Protocol::Ah,
            _ => return None,
        })
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Any => "*",
            Protocol::Tcp => "Tcp",
            Protocol::Udp => "Udp",
            Protocol::Icmp => "Icmp",
            Protocol::Esp => "Esp",
            Protocol::Ah => "Ah",
        })
    }
}

/// The service tags vnetlab knows (§5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceTag {
    VirtualNetwork,
    Internet,
    AzureLoadBalancer,
    /// Azure: DNS to 168.63.129.16 is subject to NSGs only through rules
    /// that name this tag (what-is-ip-address-168-63-129-16.md).
    AzurePlatformDNS,
}

impl ServiceTag {
    pub fn parse(s: &str) -> Option<ServiceTag> {
        Some(match s.to_ascii_lowercase().as_str() {
            "virtualnetwork" | "virtual_network" => ServiceTag::VirtualNetwork,
            "internet" => ServiceTag::Internet,
            "azureloadbalancer" | "azure_loadbalancer" => ServiceTag::AzureLoadBalancer,
            "azureplatformdns" => ServiceTag::AzurePlatformDNS,
            _ => return None,
        })
    }
}

/// One entry of a rule's source or destination list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AddressPrefix {
    Any,
    Net(Ipv4Net),
    Tag(ServiceTag),
}

impl fmt::Display for AddressPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressPrefix::Any => f.write_str("*"),
            AddressPrefix::Net(n) if n.prefix_len() == 32 => write!(f, "{}", n.addr()),
            AddressPrefix::Net(n) => write!(f, "{n}"),
            AddressPrefix::Tag(t) => write!(f, "{t:?}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub const ANY: PortRange = PortRange { first: 0, last: 65535 };

    pub fn contains(self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }

    /// `*`, `80` or `1000-2000`.
    pub fn parse(s: &str) -> Option<PortRange> {
        let s = s.trim();
        if s == "*" {
            return Some(PortRange::ANY);
        }
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let (first, last) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        (first <= last).then_some(PortRange { first, last })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ANY {
            f.write_str("*")
        } else if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRule {
    pub name: String,
    pub priority: u32,
    pub direction: Direction,
    pub access: Access,
    pub protocol: Protocol,
    pub source_address_prefixes: Vec<AddressPrefix>,
    pub source_port_ranges: Vec<PortRange>,
    pub destination_address_prefixes: Vec<AddressPrefix>,
    pub destination_port_ranges: Vec<PortRange>,
    pub description: Option<String>,
}

/// The six rules every NSG has (§5.2), lowest priority last.
pub fn default_security_rules() -> Vec<SecurityRule> {
    use AddressPrefix::{Any, Tag};
    use ServiceTag::*;
    let rule = |name: &str, priority, direction, access, src, dst, desc: &str| SecurityRule {
        name: name.to_string(),
        priority,
        direction,
        access,
        protocol: Protocol::Any,
        source_address_prefixes: vec![src],
        source_port_ranges: vec![PortRange::ANY],
        destination_address_prefixes: vec![dst],
        destination_port_ranges: vec![PortRange::ANY],
        description: Some(desc.to_string()),
    };
    use Access::{Allow, Deny};
    use Direction::{Inbound, Outbound};
    vec![
        rule(
            "AllowVnetInBound",
            65000,
            Inbound,
            Allow,
            Tag(VirtualNetwork),
            Tag(VirtualNetwork),
            "Allow inbound traffic from all VMs in VNET",
        ),
        rule(
            "AllowAzureLoadBalancerInBound",
            65001,
            Inbound,
            Allow,
            Tag(AzureLoadBalancer),
            Any,
            "Allow inbound traffic from azure load balancer",
        ),
        rule(
            "DenyAllInBound",
            65500,
            Inbound,
            Deny,
            Any,
            Any,
            "Deny all inbound traffic",
        ),
        rule(
            "AllowVnetOutBound",
            65000,
            Outbound,
            Allow,
            Tag(VirtualNetwork),
            Tag(VirtualNetwork),
            "Allow outbound traffic from all VMs to all VMs in VNET",
        ),
        rule(
            "AllowInternetOutBound",
            65001,
            Outbound,
            Allow,
            Any,
            Tag(Internet),
            "Allow outbound traffic from all VMs to Internet",
        ),
        rule(
            "DenyAllOutBound",
            65500,
            Outbound,
            Deny,
            Any,
            Any,
            "Deny all outbound traffic",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(PortRange::parse("*"), Some(PortRange::ANY));
        assert_eq!(PortRange::parse("22"), Some(PortRange { first: 22, last: 22 }));
        assert_eq!(PortRange::parse("1000-2000").unwrap().to_string(), "1000-2000");
        for bad in ["70000", "20-10", "a", "", "1-2-3"] {
            assert_eq!(PortRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn six_default_rules() {
        let d = default_security_rules();
        assert_eq!(d.len(), 6);
        assert_eq!(d.iter().filter(|r| r.direction == Direction::Inbound).count(), 3);
    }
}
