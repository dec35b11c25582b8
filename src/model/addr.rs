//! IPv4 address facts Azure applies to VNets and subnets (azure-semantics §1).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::error::{AzureError, ErrorCode};

const fn net(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    // Unwrap-free const construction: all lengths below are <= 32.
    match Ipv4Net::new(Ipv4Addr::new(a, b, c, d), len) {
        Ok(n) => n,
        Err(_) => panic!("prefix length > 32"),
    }
}

/// Ranges that can never be part of a VNet's address space [DOC FAQ].
pub const FORBIDDEN_VNET_RANGES: [Ipv4Net; 5] = [
    net(224, 0, 0, 0, 4),
    net(255, 255, 255, 255, 32),
    net(127, 0, 0, 0, 8),
    net(169, 254, 0, 0, 16),
    net(168, 63, 129, 16, 32),
];

/// The private ranges every subnet gets a `None` system route for (§2.1).
pub const RESERVED_NONE_PREFIXES: [Ipv4Net; 4] = [
    net(10, 0, 0, 0, 8),
    net(172, 16, 0, 0, 12),
    net(192, 168, 0, 0, 16),
    net(100, 64, 0, 0, 10),
];

/// Address space that is not the public Internet: what the `Internet`
/// service tag leaves out besides the VNet's own ranges.
pub const NON_INTERNET: [Ipv4Net; 10] = [
    net(0, 0, 0, 0, 8),
    net(10, 0, 0, 0, 8),
    net(100, 64, 0, 0, 10),
    net(127, 0, 0, 0, 8),
    net(169, 254, 0, 0, 16),
    net(172, 16, 0, 0, 12),
    net(192, 168, 0, 0, 16),
    net(224, 0, 0, 0, 4),
    net(240, 0, 0, 0, 4),
    net(168, 63, 129, 16, 32),
];

/// The Azure host address behind DNS, DHCP and load-balancer probes; the
/// whole of the `AzureLoadBalancer` service tag.
pub const AZURE_HOST_IP: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);

/// Parses a CIDR the way ARM does: a bare address is refused, and so is a
/// prefix with host bits set, with the prefix Azure would have expected.
pub fn parse_prefix(s: &str, owner: &str) -> Result<Ipv4Net, AzureError> {
    let n: Ipv4Net = s.trim().parse().map_err(|_| {
        AzureError::new(
            ErrorCode::InvalidAddressPrefixFormat,
            format!("Address prefix {s} of resource {owner} is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24."),
        )
        .with_target(owner.to_string())
    })?;
    if n.trunc() != n {
        return Err(AzureError::new(
            ErrorCode::InvalidCIDRNotation,
            format!("The address prefix {s} in resource {owner} has an invalid CIDR notation. For the given prefix length, the address prefix should be {}.", n.trunc()),
        )
        .with_target(owner.to_string()));
    }
    Ok(n)
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Pairs of overlapping prefixes between two lists, for error messages.
pub fn overlapping(a: &[Ipv4Net], b: &[Ipv4Net]) -> Vec<Ipv4Net> {
    let mut out: Vec<Ipv4Net> = Vec::new();
    for x in a {
        for y in b {
            if overlaps(x, y) {
                let smaller = if x.prefix_len() >= y.prefix_len() { *x } else { *y };
                if !out.contains(&smaller) {
                    out.push(smaller);
                }
            }
        }
    }
    out
}

/// Azure reserves the first four addresses and the last one of a subnet.
pub fn is_reserved_in_subnet(subnet: &Ipv4Net, ip: Ipv4Addr) -> bool {
    let base = u32::from(subnet.network());
    let off = u32::from(ip).wrapping_sub(base);
    off < 4 || ip == subnet.broadcast()
}

/// The n-th address of a prefix (n = 4 is the first one a VM can get).
pub fn nth(prefix: &Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(prefix.network()).wrapping_add(n))
}

/// Usable host addresses: 2^(32-len) - 5.
pub fn usable_hosts(prefix: &Ipv4Net) -> u64 {
    (1u64 << (32 - prefix.prefix_len())).saturating_sub(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        assert_eq!(
            parse_prefix("10.0.0.0/16", "v").unwrap(),
            "10.0.0.0/16".parse().unwrap()
        );
        let e = parse_prefix("10.0.0.1/16", "v").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidCIDRNotation);
        assert!(e.message.contains("should be 10.0.0.0/16"));
        assert_eq!(
            parse_prefix("10.0.0.0", "v").unwrap_err().code,
            ErrorCode::InvalidAddressPrefixFormat
        );
        assert_eq!(
            parse_prefix("10.0.0.0/33", "v").unwrap_err().code,
            ErrorCode::InvalidAddressPrefixFormat
        );
    }

    #[test]
    fn reserved_addresses_of_a_subnet() {
        let s: Ipv4Net = "192.168.1.0/24".parse().unwrap();
        for last in [0, 1, 2, 3, 255] {
            assert!(is_reserved_in_subnet(&s, Ipv4Addr::new(192, 168, 1, last)));
        }
        assert!(!is_reserved_in_subnet(&s, Ipv4Addr::new(192, 168, 1, 4)));
        assert_eq!(usable_hosts(&"10.0.0.0/29".parse().unwrap()), 3);
        assert_eq!(usable_hosts(&s), 251);
    }
}
