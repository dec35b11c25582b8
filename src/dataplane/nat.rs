//! Address translation for public IPs, in place and incremental.
//!
//! Packets arrive from TUN devices with offload on, so a TCP or UDP packet
//! may be a GSO super-packet whose L4 checksum field holds only the partial
//! pseudo-header sum (the kernel finishes it per segment). Either way the
//! checksums are updated incrementally (RFC 1624), never recomputed: a
//! super-packet of 64 KB costs the same as a 60-byte SYN.

use std::net::Ipv4Addr;

/// Which address to rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

/// How the L4 checksum field is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Checksum {
    /// The complete, complemented checksum of an ordinary packet.
    Full,
    /// The kernel will finish it (virtio `NEEDS_CSUM`): the field holds the
    /// folded pseudo-header sum, not complemented.
    Partial,
}

/// Rewrites the IPv4 source or destination of `pkt` to `new`, keeping the
/// IP header checksum and any TCP/UDP checksum right. Returns false (and
/// changes nothing) when `pkt` is not an IPv4 packet with a whole header.
pub fn rewrite(pkt: &mut [u8], side: Side, new: Ipv4Addr, l4: L4Checksum) -> bool {
    if pkt.len() < 20 || pkt[0] >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    if ihl < 20 || pkt.len() < ihl {
        return false;
    }
    let at = if side == Side::Source { 12 } else { 16 };
    let old: [u8; 4] = [pkt[at], pkt[at + 1], pkt[at + 2], pkt[at + 3]];
    let new = new.octets();
    pkt[at..at + 4].copy_from_slice(&new);
    update_complemented(pkt, 10, &old, &new);

    // Later fragments carry no L4 header; ICMP has no pseudo-header.
    let later_fragment = u16::from_be_bytes([pkt[6], pkt[7]]) & 0x1fff != 0;
    let field = match pkt[9] {
        6 if !later_fragment => ihl + 16,
        17 if !later_fragment => ihl + 6,
        _ => return true,
    };
    if pkt.len() < field + 2 {
        return true;
    }
    match l4 {
        L4Checksum::Partial => update_partial(pkt, field, &old, &new),
        L4Checksum::Full => {
            let udp = pkt[9] == 17;
            // A zero UDP checksum means "none": it stays none.
            if udp && pkt[field] == 0 && pkt[field + 1] == 0 {
                return true;
            }
            update_complemented(pkt, field, &old, &new);
            if udp && pkt[field] == 0 && pkt[field + 1] == 0 {
                pkt[field..field + 2].copy_from_slice(&[0xff, 0xff]);
            }
        }
    }
    true
}

/// A translation the fabric applies to a packet on its way: the source or
/// destination address, and with it the TCP/UDP port when `port` is set
/// (a load-balancing rule whose backend port differs from its frontend's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub side: Side,
    pub ip: Ipv4Addr,
    pub port: Option<u16>,
}

impl Rewrite {
    pub fn dst(ip: Ipv4Addr) -> Rewrite {
        Rewrite {
            side: Side::Destination,
            ip,
            port: None,
        }
    }

    pub fn src(ip: Ipv4Addr) -> Rewrite {
        Rewrite {
            side: Side::Source,
            ip,
            port: None,
        }
    }
}

/// Applies `r` to `pkt`; false (nothing changed) when `pkt` is not IPv4.
pub fn apply(pkt: &mut [u8], r: &Rewrite, l4: L4Checksum) -> bool {
    if !rewrite(pkt, r.side, r.ip, l4) {
        return false;
    }
    if let Some(port) = r.port {
        rewrite_port(pkt, r.side, port, l4);
    }
    true
}

/// Rewrites the TCP or UDP source or destination port. Ports are not in
/// the pseudo-header, so a partial checksum needs no change; a full one
/// is updated incrementally. Later fragments and other protocols are left
/// alone.
fn rewrite_port(pkt: &mut [u8], side: Side, port: u16, l4: L4Checksum) {
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    let later_fragment = u16::from_be_bytes([pkt[6], pkt[7]]) & 0x1fff != 0;
    let field = match pkt[9] {
        6 if !later_fragment => ihl + 16,
        17 if !later_fragment => ihl + 6,
        _ => return,
    };
    let at = ihl + if side == Side::Source { 0 } else { 2 };
    if pkt.len() < field + 2 || pkt.len() < at + 2 {
        return;
    }
    let old = [pkt[at], pkt[at + 1]];
    let new = port.to_be_bytes();
    pkt[at..at + 2].copy_from_slice(&new);
    let udp_none = pkt[9] == 17 && pkt[field] == 0 && pkt[field + 1] == 0;
    if l4 == L4Checksum::Partial || udp_none {
        return;
    }
    // RFC 1624 eqn. 3 for one 16-bit word.
    let hc = u16::from_be_bytes([pkt[field], pkt[field + 1]]);
    let mut sum = u32::from(!hc) + u32::from(!u16::from_be_bytes(old)) + u32::from(u16::from_be_bytes(new));
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let mut out = !(sum as u16);
    if pkt[9] == 17 && out == 0 {
        out = 0xffff;
    }
    pkt[field..field + 2].copy_from_slice(&out.to_be_bytes());
}

/// One's-complement sum of the field, minus the old words, plus the new.
fn adjusted(field: u16, old: &[u8; 4], new: &[u8; 4]) -> u16 {
    let mut sum = u32::from(field);
    for i in [0, 2] {
        sum += u32::from(!u16::from_be_bytes([old[i], old[i + 1]]));
        sum += u32::from(u16::from_be_bytes([new[i], new[i + 1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
fn update_complemented(pkt: &mut [u8], at: usize, old: &[u8; 4], new: &[u8; 4]) {
    let hc = u16::from_be_bytes([pkt[at], pkt[at + 1]]);
    pkt[at..at + 2].copy_from_slice(&(!adjusted(!hc, old, new)).to_be_bytes());
}

/// A partial sum is not complemented: S' = S + ~m + m'.
fn update_partial(pkt: &mut [u8], at: usize, old: &[u8; 4], new: &[u8; 4]) {
    let s = u16::from_be_bytes([pkt[at], pkt[at + 1]]);
    pkt[at..at + 2].copy_from_slice(&adjusted(s, old, new).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::packet::build;
    use etherparse::{Ipv4HeaderSlice, TcpHeaderSlice, UdpHeaderSlice};

    fn ip_ok(p: &[u8]) -> bool {
        let h = Ipv4HeaderSlice::from_slice(p).unwrap().to_header();
        h.header_checksum == h.calc_header_checksum()
    }

    fn tcp_ok(p: &[u8]) -> bool {
        let ip = Ipv4HeaderSlice::from_slice(p).unwrap();
        let tcp = TcpHeaderSlice::from_slice(&p[20..]).unwrap();
        let payload = &p[20 + tcp.slice().len()..];
        tcp.calc_checksum_ipv4(&ip, payload).unwrap() == tcp.checksum()
    }

    fn udp_ok(p: &[u8]) -> bool {
        let ip = Ipv4HeaderSlice::from_slice(p).unwrap().to_header();
        let udp = UdpHeaderSlice::from_slice(&p[20..]).unwrap().to_header();
        udp.calc_checksum_ipv4(&ip, &p[28..]).unwrap() == udp.checksum
    }

    /// The pseudo-header sum the kernel leaves in a NEEDS_CSUM packet.
    fn pseudo(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u16 {
        let mut sum = 0u32;
        for w in [&src[..2], &src[2..], &dst[..2], &dst[2..]] {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        sum += u32::from(proto) + u32::from(len);
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn full_checksums_stay_valid_both_ways() {
        for (a, b, c) in [
            ([10, 1, 1, 4], [203, 0, 113, 1], [192, 0, 2, 10]),
            ([0, 0, 0, 0], [255, 255, 255, 255], [1, 2, 3, 4]),
        ] {
            let mut t = build::tcp(c, b, 40000, 22);
            assert!(rewrite(&mut t, Side::Destination, a.into(), L4Checksum::Full));
            assert_eq!(&t[16..20], &a);
            assert!(ip_ok(&t) && tcp_ok(&t));
            let mut u = build::udp(a, c, 5000, 53);
            assert!(rewrite(&mut u, Side::Source, b.into(), L4Checksum::Full));
            assert_eq!(&u[12..16], &b);
            assert!(ip_ok(&u) && udp_ok(&u));
        }
    }

    #[test]
    fn partial_checksum_becomes_the_new_pseudo_header_sum() {
        let (src, old_dst, new_dst) = ([192, 0, 2, 10], [203, 0, 113, 7], [10, 1, 1, 4]);
        let mut t = build::tcp(src, old_dst, 40000, 22);
        let l4_len = (t.len() - 20) as u16;
        t[36..38].copy_from_slice(&pseudo(src, old_dst, 6, l4_len).to_be_bytes());
        assert!(rewrite(&mut t, Side::Destination, new_dst.into(), L4Checksum::Partial));
        assert_eq!(u16::from_be_bytes([t[36], t[37]]), pseudo(src, new_dst, 6, l4_len));
        assert!(ip_ok(&t));
    }

    #[test]
    fn zero_udp_checksum_stays_zero_and_icmp_is_left_alone() {
        let mut u = build::udp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
        u[26..28].copy_from_slice(&[0, 0]);
        assert!(rewrite(
            &mut u,
            Side::Source,
            Ipv4Addr::new(203, 0, 113, 9),
            L4Checksum::Full
        ));
        assert_eq!(&u[26..28], &[0, 0]);
        let mut p = build::ping([10, 0, 0, 1], [10, 0, 0, 2], 7, false);
        let icmp_before = p[20..].to_vec();
        assert!(rewrite(
            &mut p,
            Side::Source,
            Ipv4Addr::new(203, 0, 113, 9),
            L4Checksum::Full
        ));
        assert_eq!(p[20..], icmp_before[..]);
        assert!(ip_ok(&p));
    }

    #[test]
    fn later_fragments_change_only_the_ip_header() {
        let (_, mut second) = build::fragments([10, 0, 0, 1], [203, 0, 113, 1], 9);
        let payload = second[20..].to_vec();
        assert!(rewrite(
            &mut second,
            Side::Destination,
            Ipv4Addr::new(10, 1, 1, 4),
            L4Checksum::Full
        ));
        assert_eq!(second[20..], payload[..]);
        assert!(ip_ok(&second));
    }

    #[test]
    fn ports_change_with_their_checksums() {
        let mut t = build::tcp([10, 1, 1, 4], [10, 2, 1, 100], 40000, 80);
        assert!(apply(
            &mut t,
            &Rewrite {
                side: Side::Destination,
                ip: Ipv4Addr::new(10, 2, 1, 5),
                port: Some(8080)
            },
            L4Checksum::Full
        ));
        assert_eq!(u16::from_be_bytes([t[22], t[23]]), 8080);
        assert!(ip_ok(&t) && tcp_ok(&t));
        let mut u = build::udp([10, 2, 1, 5], [10, 1, 1, 4], 5353, 40000);
        assert!(apply(
            &mut u,
            &Rewrite {
                side: Side::Source,
                ip: Ipv4Addr::new(10, 2, 1, 100),
                port: Some(53)
            },
            L4Checksum::Full
        ));
        assert_eq!(u16::from_be_bytes([u[20], u[21]]), 53);
        assert!(ip_ok(&u) && udp_ok(&u));
        // A partial sum covers no port: it changes only with the address.
        let (src, dst) = ([10, 1, 1, 4], [10, 2, 1, 100]);
        let mut p = build::tcp(src, dst, 40000, 80);
        let l4_len = (p.len() - 20) as u16;
        p[36..38].copy_from_slice(&pseudo(src, dst, 6, l4_len).to_be_bytes());
        assert!(apply(
            &mut p,
            &Rewrite {
                side: Side::Destination,
                ip: Ipv4Addr::new(10, 2, 1, 5),
                port: Some(8080)
            },
            L4Checksum::Partial
        ));
        assert_eq!(
            u16::from_be_bytes([p[36], p[37]]),
            pseudo(src, [10, 2, 1, 5], 6, l4_len)
        );
    }

    #[test]
    fn refuses_what_is_not_ipv4() {
        assert!(!rewrite(
            &mut [0x60; 40],
            Side::Source,
            Ipv4Addr::LOCALHOST,
            L4Checksum::Full
        ));
        assert!(!rewrite(
            &mut [0x45; 10],
            Side::Source,
            Ipv4Addr::LOCALHOST,
            L4Checksum::Full
        ));
    }
}
