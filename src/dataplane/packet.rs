//! One parse of a raw IPv4 packet into what the verdict needs.
//!
//! Parsing goes through etherparse; nothing here allocates. A packet that
//! does not parse is a drop (`Malformed`), never a panic.

use std::net::Ipv4Addr;

use etherparse::{IpNumber, Ipv4HeaderSlice, Ipv4Slice};

pub const ICMP: u8 = 1;
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// A connection's identity: the 5-tuple, with the ICMP echo identifier in
/// both port slots so that a reply matches its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

/// `src:sport -> dst:dport tcp`, or `src -> dst icmp` without ports.
impl std::fmt::Display for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.has_ports() {
            write!(f, "{}:{} -> {}:{} ", self.src, self.sport, self.dst, self.dport)?;
        } else {
            write!(f, "{} -> {} ", self.src, self.dst)?;
        }
        match self.proto {
            1 => f.write_str("icmp"),
            6 => f.write_str("tcp"),
            17 => f.write_str("udp"),
            p => write!(f, "proto {p}"),
        }
    }
}

impl FlowKey {
    /// The same flow seen from the other end.
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }

    /// One orientation for both directions, for connection tracking.
    pub fn canonical(&self) -> FlowKey {
        if (self.src, self.sport) <= (self.dst, self.dport) {
            *self
        } else {
            self.reversed()
        }
    }

    pub fn has_ports(&self) -> bool {
        matches!(self.proto, TCP | UDP)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented (GSO super-packets are not fragments either).
    Whole,
    /// The first fragment: it carries the transport header.
    First { id: u16 },
    /// A later fragment: no transport header; matched by IP ID.
    Later { id: u16 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpKind {
    Echo,
    /// Destination unreachable, time exceeded, parameter problem: they
    /// carry the header of the packet they answer.
    Error {
        inner: FlowKey,
    },
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    pub key: FlowKey,
    pub fragment: Fragment,
    pub icmp: Option<IcmpKind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not an IPv4 packet, or its headers are cut or inconsistent.
    Malformed,
}

/// Parses `bytes` (a bare IPv4 packet, as a TUN without packet info gives it).
pub fn parse(bytes: &[u8]) -> Result<Packet, ParseError> {
    let ip = Ipv4Slice::from_slice(bytes).map_err(|_| ParseError::Malformed)?;
    let h = ip.header();
    let proto = h.protocol().0;
    let offset = h.fragments_offset().value();
    let fragment = match (offset, h.more_fragments()) {
        (0, false) => Fragment::Whole,
        (0, true) => Fragment::First { id: h.identification() },
        _ => Fragment::Later { id: h.identification() },
    };
    let mut key = FlowKey {
        src: h.source_addr(),
        dst: h.destination_addr(),
        proto,
        sport: 0,
        dport: 0,
    };
    let mut icmp = None;
    if !matches!(fragment, Fragment::Later { .. }) {
        // The header's protocol, not the payload's: etherparse steps over
        // an AH header, but NSGs match AH itself.
        let l4 = if ip.payload().ip_number == IpNumber(proto) {
            ip.payload().payload
        } else {
            &[][..]
        };
        match proto {
            TCP | UDP => {
                let min = if proto == TCP { 20 } else { 8 };
                if l4.len() < min {
                    return Err(ParseError::Malformed);
                }
                key.sport = u16::from_be_bytes([l4[0], l4[1]]);
                key.dport = u16::from_be_bytes([l4[2], l4[3]]);
            }
            ICMP => {
                if l4.len() < 8 {
                    return Err(ParseError::Malformed);
                }
                let kind = match l4[0] {
                    0 | 8 => {
                        let id = u16::from_be_bytes([l4[4], l4[5]]);
                        key.sport = id;
                        key.dport = id;
                        IcmpKind::Echo
                    }
                    3 | 11 | 12 => match inner_key(&l4[8..]) {
                        Some(inner) => IcmpKind::Error { inner },
                        None => return Err(ParseError::Malformed),
                    },
                    _ => IcmpKind::Other,
                };
                icmp = Some(kind);
            }
            _ => {}
        }
    }
    Ok(Packet { key, fragment, icmp })
}

/// The flow of the packet quoted inside an ICMP error (its IP header and
/// at least 8 bytes of transport header).
fn inner_key(quoted: &[u8]) -> Option<FlowKey> {
    let h = Ipv4HeaderSlice::from_slice(quoted).ok()?;
    let l4 = quoted.get(h.slice().len()..)?;
    let proto = h.protocol().0;
    let (sport, dport) = match proto {
        TCP | UDP if l4.len() >= 4 => (u16::from_be_bytes([l4[0], l4[1]]), u16::from_be_bytes([l4[2], l4[3]])),
        ICMP if l4.len() >= 8 => {
            let id = u16::from_be_bytes([l4[4], l4[5]]);
            (id, id)
        }
        TCP | UDP | ICMP => return None,
        _ => (0, 0),
    };
    Some(FlowKey {
        src: h.source_addr(),
        dst: h.destination_addr(),
        proto,
        sport,
        dport,
    })
}

#[cfg(test)]
pub(crate) mod build {
    //! Packet builders for tests, on top of etherparse's PacketBuilder.
    use etherparse::{IcmpEchoHeader, Icmpv4Type, PacketBuilder};

    pub fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let b = PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, 1, 65535).syn();
        let mut out = Vec::new();
        b.write(&mut out, &[]).unwrap();
        out
    }

    pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let b = PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
        let mut out = Vec::new();
        b.write(&mut out, b"hello").unwrap();
        out
    }

    pub fn ping(src: [u8; 4], dst: [u8; 4], id: u16, reply: bool) -> Vec<u8> {
        let echo = IcmpEchoHeader { id, seq: 1 };
        let t = if reply {
            Icmpv4Type::EchoReply(echo)
        } else {
            Icmpv4Type::EchoRequest(echo)
        };
        let b = PacketBuilder::ipv4(src, dst, 64).icmpv4(t);
        let mut out = Vec::new();
        b.write(&mut out, b"ping").unwrap();
        out
    }

    /// An ICMP error from `src` to `dst` quoting `original`.
    pub fn icmp_error(src: [u8; 4], dst: [u8; 4], original: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4(src, dst, 64).icmpv4(Icmpv4Type::TimeExceeded(
            etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit,
        ));
        let mut out = Vec::new();
        b.write(&mut out, &original[..original.len().min(28)]).unwrap();
        out
    }

    /// Splits a UDP packet's payload into two IPv4 fragments by hand.
    pub fn fragments(src: [u8; 4], dst: [u8; 4], id: u16) -> (Vec<u8>, Vec<u8>) {
        let whole = udp(src, dst, 5000, 53);
        let l4 = &whole[20..];
        let mk = |payload: &[u8], offset8: u16, more: bool| {
            let mut h =
                etherparse::Ipv4Header::new(payload.len() as u16, 64, etherparse::IpNumber::UDP, src, dst).unwrap();
            h.identification = id;
            h.more_fragments = more;
            h.fragment_offset = etherparse::IpFragOffset::try_new(offset8).unwrap();
            h.header_checksum = h.calc_header_checksum();
            let mut out = h.to_bytes().to_vec();
            out.extend_from_slice(payload);
            out
        };
        (mk(&l4[..8], 0, true), mk(&l4[8..], 1, false))
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn flow_keys_print_as_trace_shows_them() {
        assert_eq!(
            parse(&tcp([10, 1, 1, 4], [10, 2, 1, 4], 40000, 22))
                .unwrap()
                .key
                .to_string(),
            "10.1.1.4:40000 -> 10.2.1.4:22 tcp"
        );
        assert_eq!(
            parse(&ping([10, 1, 1, 4], [10, 3, 1, 4], 7, false))
                .unwrap()
                .key
                .to_string(),
            "10.1.1.4 -> 10.3.1.4 icmp"
        );
    }

    #[test]
    fn tcp_udp_icmp() {
        let p = parse(&tcp([10, 1, 1, 4], [10, 2, 1, 4], 40000, 22)).unwrap();
        assert_eq!(
            (p.key.proto, p.key.sport, p.key.dport, p.fragment),
            (TCP, 40000, 22, Fragment::Whole)
        );
        let p = parse(&udp([10, 1, 1, 4], [10, 2, 1, 4], 5353, 53)).unwrap();
        assert_eq!((p.key.proto, p.key.dport), (UDP, 53));
        let req = parse(&ping([10, 1, 1, 4], [10, 2, 1, 4], 77, false)).unwrap();
        let rep = parse(&ping([10, 2, 1, 4], [10, 1, 1, 4], 77, true)).unwrap();
        assert_eq!(req.key.canonical(), rep.key.canonical());
        assert_eq!(req.icmp, Some(IcmpKind::Echo));
    }

    #[test]
    fn icmp_error_quotes_its_flow() {
        let orig = udp([10, 1, 1, 4], [10, 2, 1, 4], 33434, 33434);
        let err = parse(&icmp_error([10, 0, 1, 4], [10, 1, 1, 4], &orig)).unwrap();
        let Some(IcmpKind::Error { inner }) = err.icmp else {
            panic!("{err:?}")
        };
        assert_eq!(inner, parse(&orig).unwrap().key);
    }

    #[test]
    fn fragments_are_told_apart() {
        let (a, b) = fragments([10, 1, 1, 4], [10, 2, 1, 4], 99);
        assert_eq!(parse(&a).unwrap().fragment, Fragment::First { id: 99 });
        let later = parse(&b).unwrap();
        assert_eq!(later.fragment, Fragment::Later { id: 99 });
        assert_eq!((later.key.sport, later.key.dport), (0, 0));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let good = tcp([10, 1, 1, 4], [10, 2, 1, 4], 1, 2);
        for bad in [&[][..], &[0x45][..], &good[..25], &[0x60; 40][..]] {
            assert_eq!(parse(bad), Err(ParseError::Malformed));
        }
    }
}
