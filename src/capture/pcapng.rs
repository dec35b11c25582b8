//! A streaming pcapng writer over the `pcap-file` crate's block types.
//!
//! Layout (pcapng draft, draft-ietf-opsawg-pcapng): one Section Header, one
//! Interface Description per capture point, then Enhanced Packet Blocks. The
//! link type is LINKTYPE_IPV4 (228): the fabric forwards bare IPv4 packets.
//! Not LINKTYPE_RAW (101): libpcap 1.10 maps the first interface's 101 to
//! DLT_RAW (12) and then refuses a second interface of type 101 as "a type
//! different from the first", so a multi-point capture would not open.

use std::borrow::Cow;
use std::io::Write;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};

/// pcap-file 2.0 writes an EPB timestamp as nanoseconds whatever the
/// interface says, so the interface must say nanoseconds (if_tsresol = 9,
/// i.e. 10^-9 s); with the pcapng default of microseconds every reader
/// would place packets a thousand times too late.
const TSRESOL_NANOS: u8 = 9;

/// epb_flags bits 0-1 (pcapng draft §4.3.1): 01 inbound, 10 outbound.
const EPB_FLAG_INBOUND: u32 = 0b01;
const EPB_FLAG_OUTBOUND: u32 = 0b10;

/// Which way a packet crossed the capture point, as pcapng records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards the VM/NIC (or into the peering from its far side).
    Inbound,
    /// Away from the VM/NIC.
    Outbound,
}

impl Direction {
    fn epb_flags(self) -> u32 {
        match self {
            Direction::Inbound => EPB_FLAG_INBOUND,
            Direction::Outbound => EPB_FLAG_OUTBOUND,
        }
    }
}

/// One capture point: becomes one Interface Description Block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `if_name`: the VM, NIC or peering name, as the user typed it.
    pub name: String,
    /// `if_description`, when there is more to say (e.g. "peering hub->spoke").
    pub description: Option<String>,
}

impl Interface {
    pub fn named(name: impl Into<String>) -> Self {
        Interface {
            name: name.into(),
            description: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("capture: interface {index} does not exist (the capture has {count})")]
    NoSuchInterface { index: u32, count: usize },
    #[error("capture: packet of {len} bytes is too long for pcapng")]
    PacketTooLong { len: usize },
    #[error("capture: writing pcapng: {0}")]
    Write(#[from] pcap_file::PcapError),
    #[error("capture: flushing pcapng: {0}")]
    Flush(#[from] std::io::Error),
}

/// Writes a pcapng stream packet by packet. Headers are written by
/// [`PcapngWriter::new`], so a reader at the other end of a pipe
/// (`tcpdump -r -`) can start at once; each packet is complete when
/// `write_packet` returns, and [`PcapngWriter::flush`] pushes it through.
pub struct PcapngWriter<W: Write> {
    inner: PcapNgWriter<W>,
    interfaces: usize,
    /// Packets the capture lost (ring full) since the last written packet,
    /// reported as the next packet's `epb_dropcount`.
    lost: u64,
}

impl<W: Write> std::fmt::Debug for PcapngWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapngWriter")
            .field("interfaces", &self.interfaces)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header and one Interface Description per capture
    /// point; packet `if_idx` values index `interfaces`.
    pub fn new(out: W, interfaces: &[Interface]) -> Result<Self, CaptureError> {
        let mut inner = PcapNgWriter::new(out)?;
        for interface in interfaces {
            let mut options = vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(interface.name.clone())),
                InterfaceDescriptionOption::IfTsResol(TSRESOL_NANOS),
            ];
            if let Some(description) = &interface.description {
                options.push(InterfaceDescriptionOption::IfDescription(Cow::Owned(
                    description.clone(),
                )));
            }
            inner.write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::IPV4,
                // 0: no snapshot limit; the whole packet is kept.
                snaplen: 0,
                options,
            })?;
        }
        Ok(PcapngWriter {
            inner,
            interfaces: interfaces.len(),
            lost: 0,
        })
    }

    /// Counts packets the capture could not keep; the next packet written
    /// carries the total as `epb_dropcount`, so readers see the gap where it was.
    pub fn note_lost(&mut self, packets: u64) {
        self.lost = self.lost.saturating_add(packets);
    }

    /// Writes one Enhanced Packet Block. `ts` is the time since the UNIX
    /// epoch; `comment` is the verdict ("delivered to X via peering P",
    /// "dropped: NSG N rule R"), empty for none.
    pub fn write_packet(
        &mut self,
        if_idx: u32,
        ts: Duration,
        direction: Direction,
        bytes: &[u8],
        comment: &str,
    ) -> Result<(), CaptureError> {
        if if_idx as usize >= self.interfaces {
            return Err(CaptureError::NoSuchInterface {
                index: if_idx,
                count: self.interfaces,
            });
        }
        let original_len = u32::try_from(bytes.len()).map_err(|_| CaptureError::PacketTooLong { len: bytes.len() })?;
        let mut options = Vec::with_capacity(3);
        if !comment.is_empty() {
            options.push(EnhancedPacketOption::Comment(Cow::Borrowed(comment)));
        }
        options.push(EnhancedPacketOption::Flags(direction.epb_flags()));
        if self.lost > 0 {
            options.push(EnhancedPacketOption::DropCount(self.lost));
        }
        self.inner.write_pcapng_block(EnhancedPacketBlock {
            interface_id: if_idx,
            timestamp: ts,
            original_len,
            data: Cow::Borrowed(bytes),
            options,
        })?;
        self.lost = 0;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), CaptureError> {
        self.inner.get_mut().flush()?;
        Ok(())
    }

    /// The output, e.g. a `Vec` the caller empties into a socket between packets.
    pub fn get_mut(&mut self) -> &mut W {
        self.inner.get_mut()
    }

    pub fn into_inner(self) -> W {
        self.inner.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::{Block, PcapNgReader};

    /// A minimal IPv4/ICMP echo request, 10.1.0.4 → 10.2.0.4 (checksums
    /// valid, so tcpdump prints it without complaint).
    fn icmp_echo(seq: u8) -> Vec<u8> {
        let mut p = vec![
            0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 10, 1, 0, 4, 10, 2, 0,
            4, // IPv4
            0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, seq, // ICMP echo
        ];
        let sum = |b: &[u8]| {
            let mut s: u32 = b.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
            while s > 0xffff {
                s = (s & 0xffff) + (s >> 16);
            }
            !(s as u16)
        };
        let ip = sum(&p[..20]).to_be_bytes();
        p[10..12].copy_from_slice(&ip);
        let icmp = sum(&p[20..]).to_be_bytes();
        p[22..24].copy_from_slice(&icmp);
        p
    }

    fn sample() -> Vec<u8> {
        let interfaces = [
            Interface::named("SalesVM"),
            Interface {
                name: "hub-to-spoke".into(),
                description: Some("peering hub->spoke".into()),
            },
        ];
        let mut w = PcapngWriter::new(Vec::new(), &interfaces).expect("headers");
        w.write_packet(
            0,
            Duration::new(1_700_000_000, 123_456_000),
            Direction::Outbound,
            &icmp_echo(1),
            "delivered to SpokeVM via peering hub-to-spoke",
        )
        .expect("packet 1");
        w.note_lost(3);
        w.write_packet(
            1,
            Duration::new(1_700_000_001, 0),
            Direction::Inbound,
            &icmp_echo(2),
            "dropped: NSG spoke-nsg rule DenyAllInBound",
        )
        .expect("packet 2");
        w.write_packet(
            0,
            Duration::new(1_700_000_002, 0),
            Direction::Inbound,
            &icmp_echo(3),
            "",
        )
        .expect("packet 3");
        w.into_inner()
    }

    #[test]
    fn the_crates_reader_reads_back_interfaces_comments_flags_and_times() {
        let bytes = sample();
        let mut r = PcapNgReader::new(&bytes[..]).expect("section header");
        let mut packets = Vec::new();
        while let Some(block) = r.next_block() {
            match block.expect("a well-formed block") {
                Block::EnhancedPacket(p) => packets.push(p.into_owned()),
                Block::InterfaceDescription(_) => {}
                other => panic!("unexpected block {other:?}"),
            }
        }
        let names: Vec<_> = r
            .interfaces()
            .iter()
            .map(|i| {
                assert_eq!(i.linktype, DataLink::IPV4);
                assert!(i.options.contains(&InterfaceDescriptionOption::IfTsResol(9)));
                i.options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .expect("if_name")
            })
            .collect();
        assert_eq!(names, ["SalesVM", "hub-to-spoke"]);

        assert_eq!(packets.len(), 3);
        let p = &packets[0];
        assert_eq!(p.interface_id, 0);
        assert_eq!(p.timestamp, Duration::new(1_700_000_000, 123_456_000));
        assert_eq!(&p.data[..], &icmp_echo(1)[..]);
        assert_eq!(p.original_len, 28);
        assert_eq!(
            p.options,
            [
                EnhancedPacketOption::Comment("delivered to SpokeVM via peering hub-to-spoke".into()),
                EnhancedPacketOption::Flags(EPB_FLAG_OUTBOUND),
            ]
        );
        let p = &packets[1];
        assert_eq!(p.interface_id, 1);
        assert_eq!(
            p.options,
            [
                EnhancedPacketOption::Comment("dropped: NSG spoke-nsg rule DenyAllInBound".into()),
                EnhancedPacketOption::Flags(EPB_FLAG_INBOUND),
                EnhancedPacketOption::DropCount(3),
            ]
        );
        // The lost count is reported once, then starts again from zero.
        assert_eq!(packets[2].options, [EnhancedPacketOption::Flags(EPB_FLAG_INBOUND)]);
    }

    #[test]
    fn a_packet_on_an_unknown_interface_is_refused() {
        let mut w = PcapngWriter::new(Vec::new(), &[Interface::named("vm")]).expect("headers");
        let err = w
            .write_packet(1, Duration::ZERO, Direction::Inbound, &icmp_echo(1), "")
            .expect_err("only interface 0 exists");
        assert!(matches!(err, CaptureError::NoSuchInterface { index: 1, count: 1 }));
    }

    #[test]
    fn tcpdump_reads_the_stream_from_a_pipe() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let child = Command::new("tcpdump")
            .args(["-n", "-tt", "-r", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("tcpdump is not installed: skipping");
            return;
        };
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(&sample()).expect("write to tcpdump");
        drop(stdin);
        let out = child.wait_with_output().expect("tcpdump ran");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "tcpdump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for (line, seq) in lines.iter().zip(1..) {
            assert!(line.contains("10.1.0.4 > 10.2.0.4: ICMP echo request"), "{line}");
            assert!(line.contains(&format!("seq {seq}")), "{line}");
        }
        // Nanosecond if_tsresol is honoured: the first packet is at .123456.
        assert!(lines[0].starts_with("1700000000.123456"), "{}", lines[0]);
    }

    #[test]
    fn tcpdump_prints_a_packet_before_the_stream_ends() {
        use std::io::{BufRead as _, BufReader};
        use std::process::{Command, Stdio};
        use std::sync::mpsc;
        let child = Command::new("tcpdump")
            .args(["-n", "-l", "-r", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("tcpdump is not installed: skipping");
            return;
        };
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, got) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut w = PcapngWriter::new(child.stdin.take().expect("piped stdin"), &[Interface::named("SalesVM")])
            .expect("headers");
        w.write_packet(
            0,
            Duration::from_secs(1),
            Direction::Outbound,
            &icmp_echo(7),
            "delivered",
        )
        .expect("packet");
        w.flush().expect("flush");
        // The writer stays open: the line must come from what was streamed so far.
        let first = got.recv_timeout(Duration::from_secs(10));
        drop(w);
        let _ = child.wait();
        let _ = reader.join();
        let first = first.expect("tcpdump printed the packet while the stream was open");
        assert!(
            first.contains("ICMP echo request") && first.contains("seq 7"),
            "{first}"
        );
    }
}
