//! Network security groups compiled for evaluation (azure-semantics §5).
//!
//! Service tags depend on where an NSG is applied (the VirtualNetwork tag
//! differs per subnet), so an NSG is compiled once per subnet that uses
//! it, directly or through a NIC. Rules are sorted by priority; the first
//! match decides, and the default rules guarantee that one always does.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::model::{
    AZURE_HOST_IP, Access, AddressPrefix, Direction, NON_INTERNET, NetworkSecurityGroup, PortRange, Protocol,
    ResourceId, SecurityRule, ServiceTag, default_security_rules,
};

/// What a rule is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowView {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    /// `None` for protocols without ports (ICMP, ESP, AH).
    pub ports: Option<(u16, u16)>,
}

#[derive(Clone, Debug)]
struct AddrSet {
    any: bool,
    internet: bool,
    /// (network, mask) pairs.
    nets: Box<[(u32, u32)]>,
}

impl AddrSet {
    fn build(list: &[AddressPrefix], vnet_tag: &[Ipv4Net]) -> AddrSet {
        let mut set = AddrSet {
            any: false,
            internet: false,
            nets: Box::new([]),
        };
        let mut nets: Vec<Ipv4Net> = Vec::new();
        for p in list {
            match p {
                AddressPrefix::Any => set.any = true,
                AddressPrefix::Net(n) => nets.push(*n),
                AddressPrefix::Tag(ServiceTag::VirtualNetwork) => nets.extend_from_slice(vnet_tag),
                AddressPrefix::Tag(ServiceTag::AzureLoadBalancer | ServiceTag::AzurePlatformDNS) => {
                    nets.push(Ipv4Net::from(AZURE_HOST_IP))
                }
                AddressPrefix::Tag(ServiceTag::Internet) => set.internet = true,
            }
        }
        set.nets = nets
            .iter()
            .map(|n| (u32::from(n.network()), u32::from(n.netmask())))
            .collect();
        set
    }

    #[inline]
    fn matches(&self, ip: Ipv4Addr, not_internet: &[(u32, u32)]) -> bool {
        let a = u32::from(ip);
        self.any
            || self.nets.iter().any(|(n, m)| a & m == *n)
            || (self.internet && !not_internet.iter().any(|(n, m)| a & m == *n))
    }
}

#[derive(Clone, Debug)]
struct Ports {
    any: bool,
    ranges: Box<[PortRange]>,
}

impl Ports {
    fn build(list: &[PortRange]) -> Ports {
        Ports {
            any: list.contains(&PortRange::ANY),
            ranges: list.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub name: String,
    pub priority: u32,
    pub access: Access,
    /// One of the six rules every NSG has.
    pub is_default: bool,
    /// Names the AzurePlatformDNS tag as a destination: the only kind of
    /// rule that DNS to 168.63.129.16 is subject to.
    pub platform_dns: bool,
    protocol: Protocol,
    src: AddrSet,
    dst: AddrSet,
    sport: Ports,
    dport: Ports,
}

impl CompiledRule {
    #[inline]
    fn matches(&self, f: &FlowView, not_internet: &[(u32, u32)]) -> bool {
        if !self.protocol.matches(f.proto) {
            return false;
        }
        let ports_ok = match f.ports {
            Some((s, d)) => {
                (self.sport.any || self.sport.ranges.iter().any(|r| r.contains(s)))
                    && (self.dport.any || self.dport.ranges.iter().any(|r| r.contains(d)))
            }
            // A rule that names ports only matches protocols that have them.
            None => self.sport.any && self.dport.any,
        };
        ports_ok && self.src.matches(f.src, not_internet) && self.dst.matches(f.dst, not_internet)
    }

    /// As Network Watcher names it: `securityRules/X` or `defaultSecurityRules/X`.
    pub fn qualified_name(&self) -> String {
        if self.is_default {
            format!("defaultSecurityRules/{}", self.name)
        } else {
            format!("securityRules/{}", self.name)
        }
    }
}

/// One NSG as seen from one subnet.
#[derive(Clone, Debug)]
pub struct CompiledNsg {
    pub id: ResourceId,
    pub name: String,
    inbound: Vec<CompiledRule>,
    outbound: Vec<CompiledRule>,
    not_internet: Box<[(u32, u32)]>,
}

impl CompiledNsg {
    /// `vnet_tag` is the subnet's VirtualNetwork tag; `own_ranges` its VNet's
    /// address space, which the Internet tag leaves out.
    pub fn compile(nsg: &NetworkSecurityGroup, vnet_tag: &[Ipv4Net], own_ranges: &[Ipv4Net]) -> CompiledNsg {
        let compile = |r: &SecurityRule, is_default| CompiledRule {
            name: r.name.clone(),
            priority: r.priority,
            access: r.access,
            is_default,
            platform_dns: r
                .destination_address_prefixes
                .contains(&AddressPrefix::Tag(ServiceTag::AzurePlatformDNS)),
            protocol: r.protocol,
            src: AddrSet::build(&r.source_address_prefixes, vnet_tag),
            dst: AddrSet::build(&r.destination_address_prefixes, vnet_tag),
            sport: Ports::build(&r.source_port_ranges),
            dport: Ports::build(&r.destination_port_ranges),
        };
        let defaults = default_security_rules();
        let all = nsg
            .security_rules
            .iter()
            .map(|r| compile(r, false))
            .chain(defaults.iter().map(|r| compile(r, true)));
        let (mut inbound, mut outbound): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
        for (rule, dir) in all.zip(nsg.security_rules.iter().chain(defaults.iter()).map(|r| r.direction)) {
            match dir {
                Direction::Inbound => inbound.push(rule),
                Direction::Outbound => outbound.push(rule),
            }
        }
        inbound.sort_by_key(|r| r.priority);
        outbound.sort_by_key(|r| r.priority);
        let not_internet = NON_INTERNET
            .iter()
            .chain(own_ranges)
            .map(|n| (u32::from(n.network()), u32::from(n.netmask())))
            .collect();
        CompiledNsg {
            id: nsg.id.clone(),
            name: nsg.name.clone(),
            inbound,
            outbound,
            not_internet,
        }
    }

    /// The first rule, by priority, that matches. The default rules end in
    /// DenyAll, so there always is one.
    #[inline]
    pub fn evaluate(&self, dir: Direction, f: &FlowView) -> &CompiledRule {
        &self.rules(dir)[self.evaluate_index(dir, f)]
    }

    /// The index in `rules(dir)` of the deciding rule.
    #[inline]
    pub fn evaluate_index(&self, dir: Direction, f: &FlowView) -> usize {
        let rules = self.rules(dir);
        // The last default rule (DenyAll) matches everything.
        rules
            .iter()
            .position(|r| r.matches(f, &self.not_internet))
            .unwrap_or(rules.len() - 1)
    }

    /// For DNS to 168.63.129.16: the first rule, by priority, that names
    /// the AzurePlatformDNS tag and matches; `None` when no such rule does,
    /// and then the NSG does not apply. Azure: "DNS isn't subject to NSGs
    /// unless you deny the AzurePlatformDNS service tag"
    /// (what-is-ip-address-168-63-129-16.md; azure-semantics-2 §1.4).
    pub fn evaluate_platform_dns(&self, dir: Direction, f: &FlowView) -> Option<usize> {
        self.rules(dir)
            .iter()
            .position(|r| r.platform_dns && r.matches(f, &self.not_internet))
    }

    pub fn rules(&self, dir: Direction) -> &[CompiledRule] {
        match dir {
            Direction::Inbound => &self.inbound,
            Direction::Outbound => &self.outbound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceId;

    fn nsg(rules: Vec<SecurityRule>) -> NetworkSecurityGroup {
        NetworkSecurityGroup {
            id: ResourceId::network("s", "rg", "networkSecurityGroups", "n"),
            name: "n".into(),
            location: "westeurope".into(),
            security_rules: rules,
        }
    }

    fn rule(
        name: &str,
        priority: u32,
        direction: Direction,
        access: Access,
        protocol: Protocol,
        dst: AddressPrefix,
        dport: PortRange,
    ) -> SecurityRule {
        SecurityRule {
            name: name.into(),
            priority,
            direction,
            access,
            protocol,
            source_address_prefixes: vec![AddressPrefix::Any],
            source_port_ranges: vec![PortRange::ANY],
            destination_address_prefixes: vec![dst],
            destination_port_ranges: vec![dport],
            description: None,
        }
    }

    fn flow(src: &str, dst: &str, proto: u8, dport: Option<u16>) -> FlowView {
        FlowView {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto,
            ports: dport.map(|d| (40000, d)),
        }
    }

    fn tag() -> Vec<Ipv4Net> {
        vec!["10.1.0.0/16".parse().unwrap(), "10.2.0.0/16".parse().unwrap()]
    }

    #[test]
    fn platform_dns_only_through_its_tag() {
        let dns = flow("10.1.1.4", "168.63.129.16", 17, Some(53));
        let deny_all = rule(
            "DenyAll",
            100,
            Direction::Outbound,
            Access::Deny,
            Protocol::Any,
            AddressPrefix::Any,
            PortRange::ANY,
        );
        // A deny of everything does not stop DNS to the Azure host...
        let c = CompiledNsg::compile(&nsg(vec![deny_all.clone()]), &tag(), &tag()[..1]);
        assert_eq!(c.evaluate(Direction::Outbound, &dns).name, "DenyAll");
        assert_eq!(c.evaluate_platform_dns(Direction::Outbound, &dns), None);
        // ...a deny of AzurePlatformDNS does, even below a broader allow.
        let deny_dns = rule(
            "NoDns",
            200,
            Direction::Outbound,
            Access::Deny,
            Protocol::Udp,
            AddressPrefix::Tag(ServiceTag::AzurePlatformDNS),
            PortRange { first: 53, last: 53 },
        );
        let c = CompiledNsg::compile(&nsg(vec![deny_all, deny_dns]), &tag(), &tag()[..1]);
        let i = c.evaluate_platform_dns(Direction::Outbound, &dns).unwrap();
        assert_eq!(c.rules(Direction::Outbound)[i].name, "NoDns");
        // TCP is not named by the rule.
        let tcp = flow("10.1.1.4", "168.63.129.16", 6, Some(53));
        assert_eq!(c.evaluate_platform_dns(Direction::Outbound, &tcp), None);
    }

    #[test]
    fn default_rules_by_tag() {
        let c = CompiledNsg::compile(&nsg(vec![]), &tag(), &tag()[..1]);
        let cases = [
            (
                Direction::Inbound,
                flow("10.2.1.4", "10.1.1.4", 6, Some(22)),
                "AllowVnetInBound",
            ),
            (
                Direction::Inbound,
                flow("10.3.1.4", "10.1.1.4", 6, Some(22)),
                "DenyAllInBound",
            ),
            (
                Direction::Inbound,
                flow("168.63.129.16", "10.1.1.4", 6, Some(80)),
                "AllowAzureLoadBalancerInBound",
            ),
            (
                Direction::Outbound,
                flow("10.1.1.4", "10.2.1.4", 1, None),
                "AllowVnetOutBound",
            ),
            (
                Direction::Outbound,
                flow("10.1.1.4", "203.0.113.9", 6, Some(443)),
                "AllowInternetOutBound",
            ),
            // Private space outside the tag is neither VNet nor Internet.
            (
                Direction::Outbound,
                flow("10.1.1.4", "10.3.1.4", 6, Some(22)),
                "DenyAllOutBound",
            ),
            (
                Direction::Outbound,
                flow("10.1.1.4", "192.168.7.7", 17, Some(53)),
                "DenyAllOutBound",
            ),
        ];
        for (dir, f, want) in cases {
            assert_eq!(c.evaluate(dir, &f).name, want, "{dir:?} {f:?}");
        }
    }

    #[test]
    fn priority_order_and_first_match() {
        let c = CompiledNsg::compile(
            &nsg(vec![
                rule(
                    "deny-ssh",
                    200,
                    Direction::Inbound,
                    Access::Deny,
                    Protocol::Tcp,
                    AddressPrefix::Any,
                    PortRange { first: 22, last: 22 },
                ),
                rule(
                    "allow-ssh",
                    100,
                    Direction::Inbound,
                    Access::Allow,
                    Protocol::Tcp,
                    AddressPrefix::Any,
                    PortRange { first: 22, last: 22 },
                ),
                rule(
                    "deny-web",
                    300,
                    Direction::Inbound,
                    Access::Deny,
                    Protocol::Any,
                    AddressPrefix::Any,
                    PortRange { first: 80, last: 80 },
                ),
            ]),
            &tag(),
            &tag()[..1],
        );
        assert_eq!(
            c.evaluate(Direction::Inbound, &flow("10.2.0.4", "10.1.1.4", 6, Some(22)))
                .name,
            "allow-ssh"
        );
        assert_eq!(
            c.evaluate(Direction::Inbound, &flow("10.2.0.4", "10.1.1.4", 17, Some(80)))
                .name,
            "deny-web"
        );
        // A rule with ports does not match ICMP; the default rules decide.
        assert_eq!(
            c.evaluate(Direction::Inbound, &flow("10.2.0.4", "10.1.1.4", 1, None))
                .name,
            "AllowVnetInBound"
        );
        assert_eq!(
            c.evaluate(Direction::Inbound, &flow("10.2.0.4", "10.1.1.4", 6, Some(22)))
                .qualified_name(),
            "securityRules/allow-ssh"
        );
    }
}
