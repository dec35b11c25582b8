//! How many wire packets a packet the fabric forwards stands for. A TUN
//! with offloads hands over TCP and UDP super-packets (up to 64 KB) with a
//! virtio header saying how they are cut; that header is the VM's word,
//! so the count comes from the packet itself: its own IPv4 and TCP/UDP
//! header lengths, the bytes actually read, and the header's segment size
//! only where it is plausible. A crafted header (gso_size 1 on a 64 KB
//! packet) once inflated counters 8 000-fold (issue 21).

use tun_rs::VirtioNetHdr;

const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_UDP_L4: u8 = 5;
const GSO_ECN: u8 = 0x80;

/// The least payload a counted segment carries: IPv4's default MSS
/// (536, RFC 1122 §4.2.2.6); a header claiming smaller segments counts as
/// this. Real TSO on a 1 500-byte MTU cuts 1 448-byte segments.
const MIN_SEGMENT_PAYLOAD: u64 = 536;

/// Wire packets `packet` (the IP packet after the virtio header) stands
/// for: 1 unless the header asks for segmentation of a packet whose
/// protocol matches it.
pub(super) fn count(hdr: &VirtioNetHdr, packet: &[u8]) -> u64 {
    let gso = hdr.gso_type & !GSO_ECN;
    if gso == GSO_NONE || hdr.gso_size == 0 {
        return 1;
    }
    let Some(headers) = headers_len(packet, gso) else {
        return 1;
    };
    let payload = (packet.len() as u64).saturating_sub(headers);
    let size = u64::from(hdr.gso_size).max(MIN_SEGMENT_PAYLOAD);
    payload.div_ceil(size).max(1)
}

/// The IPv4 plus TCP or UDP header length, read from the packet; `None`
/// if the packet is not what the segmentation type says.
fn headers_len(p: &[u8], gso: u8) -> Option<u64> {
    let first = *p.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 {
        return None;
    }
    let l4 = match (gso, *p.get(9)?) {
        (GSO_TCPV4, 6) => {
            let offset = usize::from(p.get(ihl + 12)? >> 4) * 4;
            (offset >= 20 && p.len() >= ihl + offset).then_some(offset)?
        }
        (GSO_UDP_L4, 17) => 8,
        _ => return None,
    };
    Some((ihl + l4) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(gso_type: u8, gso_size: u16, hdr_len: u16) -> VirtioNetHdr {
        VirtioNetHdr {
            gso_type,
            gso_size,
            hdr_len,
            ..VirtioNetHdr::default()
        }
    }

    /// An IPv4 packet of `len` bytes: 20-byte IP header, then a 32-byte
    /// TCP header (options) or an 8-byte UDP header.
    fn packet(proto: u8, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[9] = proto;
        if proto == 6 {
            p[20 + 12] = 8 << 4;
        }
        p
    }

    #[test]
    fn a_real_super_packet_counts_its_segments() {
        // 52 bytes of headers, 10 × 1448 bytes of payload.
        let p = packet(6, 52 + 10 * 1448);
        assert_eq!(count(&hdr(GSO_TCPV4, 1448, 52), &p), 10);
        assert_eq!(count(&hdr(GSO_TCPV4 | GSO_ECN, 1448, 52), &p), 10);
        let p = packet(17, 28 + 3 * 1200);
        assert_eq!(count(&hdr(GSO_UDP_L4, 1200, 28), &p), 3);
        assert_eq!(count(&hdr(GSO_NONE, 0, 0), &packet(6, 1500)), 1);
    }

    #[test]
    fn a_crafted_header_cannot_inflate_the_count() {
        let p = packet(6, 65_535);
        // gso_size 1 and a lying hdr_len: counted at 536 bytes a segment.
        assert_eq!(count(&hdr(GSO_TCPV4, 1, 0), &p), (65_535u64 - 52).div_ceil(536));
        // A segmentation type that does not match the packet: one packet.
        assert_eq!(count(&hdr(GSO_UDP_L4, 1, 0), &p), 1);
        assert_eq!(count(&hdr(GSO_TCPV4, 1, 0), &packet(1, 65_535)), 1);
        assert_eq!(count(&hdr(4, 1, 0), &p), 1, "TCPv6 on an IPv4 packet");
        // Too short to hold the headers it claims.
        assert_eq!(count(&hdr(GSO_TCPV4, 1, 0), &p[..30]), 1);
    }
}
