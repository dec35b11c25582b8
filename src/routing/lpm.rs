//! Longest-prefix-match table: the per-subnet lookup on the packet path.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use prefix_trie::PrefixMap;

/// Maps IPv4 prefixes to values; `lookup` returns the value of the longest
/// prefix that contains the address.
///
/// ```
/// use vnetlab::routing::Lpm;
/// let mut t = Lpm::new();
/// t.insert("10.0.0.0/8".parse().unwrap(), "wide");
/// t.insert("10.1.0.0/16".parse().unwrap(), "narrow");
/// assert_eq!(t.lookup("10.1.2.3".parse().unwrap()), Some(&"narrow"));
/// assert_eq!(t.lookup("10.2.0.1".parse().unwrap()), Some(&"wide"));
/// assert_eq!(t.lookup("11.0.0.1".parse().unwrap()), None);
/// ```
#[derive(Clone, Debug)]
pub struct Lpm<T> {
    map: PrefixMap<(u32, u8), T>,
}

impl<T> Default for Lpm<T> {
    fn default() -> Self {
        Lpm { map: PrefixMap::new() }
    }
}

impl<T> Lpm<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces the value for `prefix` (host bits are ignored).
    pub fn insert(&mut self, prefix: Ipv4Net, value: T) {
        let p = prefix.trunc();
        self.map.insert((u32::from(p.network()), p.prefix_len()), value);
    }

    #[inline]
    pub fn lookup(&self, ip: Ipv4Addr) -> Option<&T> {
        self.map.get_lpm(&(u32::from(ip), 32)).map(|(_, v)| v)
    }

    /// Like `lookup`, but also says which prefix matched.
    pub fn lookup_prefix(&self, ip: Ipv4Addr) -> Option<(Ipv4Net, &T)> {
        self.map
            .get_lpm(&(u32::from(ip), 32))
            .and_then(|((net, len), v)| Ipv4Net::new(Ipv4Addr::from(net), len).ok().map(|n| (n, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: scan every prefix, keep the longest that contains ip.
    fn naive(routes: &[(Ipv4Net, usize)], ip: Ipv4Addr) -> Option<usize> {
        let mut best: Option<(u8, usize)> = None;
        for (p, v) in routes {
            if p.contains(&ip) && best.is_none_or(|(len, _)| p.prefix_len() >= len) {
                best = Some((p.prefix_len(), *v));
            }
        }
        best.map(|(_, v)| v)
    }

    fn prefix() -> impl Strategy<Value = Ipv4Net> {
        // Few distinct high bits so that prefixes nest and collide often.
        (0u32..64, 0u8..=32).prop_map(|(hi, len)| Ipv4Net::new(Ipv4Addr::from(hi << 26 | hi), len).unwrap().trunc())
    }

    proptest! {
        #[test]
        fn lookup_equals_naive_scan(raw in proptest::collection::vec(prefix(), 0..200), probes in proptest::collection::vec(any::<u32>(), 1..100)) {
            // Later inserts of the same prefix replace earlier ones, in both.
            let mut routes: Vec<(Ipv4Net, usize)> = Vec::new();
            let mut t = Lpm::new();
            for (i, p) in raw.iter().enumerate() {
                routes.retain(|(q, _)| q != p);
                routes.push((*p, i));
                t.insert(*p, i);
            }
            for probe in probes.iter().copied().chain(raw.iter().map(|p| u32::from(p.network()))) {
                let ip = Ipv4Addr::from(probe);
                prop_assert_eq!(t.lookup(ip).copied(), naive(&routes, ip));
            }
        }
    }
}
