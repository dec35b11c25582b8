//! `vnetlab capture`: the packets the fabric sees at a VM, a NIC or a
//! peering, as pcapng (`-w FILE`, `-w -` to stream) or as one line per
//! packet with its verdict.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::{Block, PcapNgParser};

use crate::daemon::client::Client;
use crate::daemon::proto::{CaptureRequest, Request, Response};
use crate::host::Lab;

#[derive(Debug)]
pub struct Options {
    pub target: String,
    /// `Some("-")`: stdout.
    pub write: Option<PathBuf>,
    pub count: Option<u64>,
    pub drops_only: bool,
    pub duration: Option<Duration>,
}

/// `10s`, `500ms`, `2m`, `1h`, or bare seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration: give a number and a unit, e.g. 10s, 500ms, 2m"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}': the unit must be ms, s, m or h")),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("'{s}': a capture's duration must be more than zero"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Where the capture goes.
enum Sink {
    Pcapng(Box<dyn Write>),
    Lines(LinePrinter),
}

pub fn capture(lab: &Lab, opts: Options, out: &mut impl Write) -> anyhow::Result<u8> {
    let mut sink = match opts.write.as_deref() {
        Some(p) if p.as_os_str() == "-" => {
            if std::io::stdout().is_terminal() {
                bail!(
                    "pcapng is binary and stdout is a terminal: pipe it (`vnetlab capture {} -w - | tcpdump -n -r -`) or give -w FILE",
                    opts.target
                );
            }
            Sink::Pcapng(Box::new(std::io::stdout()))
        }
        Some(p) => Sink::Pcapng(Box::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Sink::Lines(LinePrinter::default()),
    };
    // Ctrl-C is taken by a thread that asks the daemon to stop, so the
    // stream ends cleanly: the last packets, then the counts. The mask is
    // set before any thread exists, so every thread inherits it.
    let signals = {
        use nix::sys::signal::{SigSet, Signal};
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        set.thread_block().context("cannot block SIGINT for the capture")?;
        set
    };
    let mut c = Client::connect(lab)?;
    let answer = c.call(&Request::Capture(CaptureRequest {
        target: opts.target.clone(),
        count: opts.count,
        duration_ms: opts.duration.map(|d| d.as_millis().max(1) as u64),
        drops_only: opts.drops_only,
    }))?;
    let (interface, description) = match answer {
        Response::Capturing { interface, description } => (interface, description),
        Response::Error { message } => bail!("{message}"),
        other => bail!("unexpected answer from the daemon: {other:?}"),
    };
    if matches!(opts.write.as_deref(), Some(p) if p.as_os_str() == "-") {
        let mut stopper = c.writer()?;
        std::thread::spawn(move || {
            if reader_gone(std::io::stdout().as_fd()) {
                let _ = stopper.write_all(b"stop\n");
            }
        });
    }
    let mut stopper = c.writer()?;
    std::thread::spawn(move || {
        if signals.wait().is_ok() {
            // The daemon ends the stream on any line.
            let _ = stopper.write_all(b"stop\n");
        }
    });
    eprintln!(
        "capturing at {interface} ({description}) in lab '{lab}'{}; Ctrl-C stops",
        if opts.drops_only { ", drops only" } else { "" }
    );
    loop {
        let bytes = c.recv_frame()?;
        if bytes.is_empty() {
            break;
        }
        // A reader gone away (tcpdump quit) ends the capture: the socket
        // closes with this process, and the daemon removes its tap.
        match &mut sink {
            Sink::Pcapng(w) => {
                w.write_all(&bytes)?;
                w.flush()?;
            }
            Sink::Lines(p) => p.feed(&bytes, out)?,
        }
    }
    match c.recv()? {
        Some(Response::CaptureEnded { captured, lost }) => {
            eprintln!("{captured} packets captured");
            eprintln!("{lost} packets dropped by the capture (its ring was full)");
        }
        other => bail!("the capture ended without its counts: {other:?}"),
    }
    Ok(0)
}

/// Blocks until the reader of the pipe `fd` closes its end (the kernel
/// then reports POLLERR on the write end), so a capture into `| tcpdump`
/// ends when tcpdump does, even while no packet comes to fail a write.
fn reader_gone(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                let got = fds[0].revents().unwrap_or(PollFlags::empty());
                if got.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL) {
                    return true;
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Prints each packet of a pcapng stream as it arrives: time, direction,
/// flow, length, verdict.
#[derive(Default)]
struct LinePrinter {
    buf: Vec<u8>,
    parser: Option<PcapNgParser>,
}

impl LinePrinter {
    fn feed(&mut self, bytes: &[u8], out: &mut impl Write) -> anyhow::Result<()> {
        self.buf.extend_from_slice(bytes);
        let mut rest: &[u8] = &self.buf;
        let parser = match &mut self.parser {
            Some(p) => p,
            None => match PcapNgParser::new(rest) {
                Ok((r, parser)) => {
                    rest = r;
                    self.parser.insert(parser)
                }
                // The section header is not whole yet.
                Err(pcap_file::PcapError::IncompleteBuffer) => return Ok(()),
                Err(e) => bail!("the capture stream is not pcapng: {e}"),
            },
        };
        loop {
            match parser.next_block(rest) {
                Ok((r, block)) => {
                    rest = r;
                    if let Block::EnhancedPacket(p) = block {
                        writeln!(out, "{}", line(&p))?;
                    }
                }
                Err(pcap_file::PcapError::IncompleteBuffer) => break,
                Err(e) => bail!("the capture stream is garbled: {e}"),
            }
        }
        out.flush()?;
        let used = self.buf.len() - rest.len();
        self.buf.drain(..used);
        Ok(())
    }
}

fn line(p: &pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock) -> String {
    let mut comment = "";
    let mut direction = "  ";
    for o in &p.options {
        match o {
            EnhancedPacketOption::Comment(c) => comment = c,
            EnhancedPacketOption::Flags(f) if f & 0b11 == 0b01 => direction = "in",
            EnhancedPacketOption::Flags(f) if f & 0b11 == 0b10 => direction = "out",
            _ => {}
        }
    }
    let secs = p.timestamp.as_secs() % 86_400;
    let flow =
        crate::dataplane::packet::parse(&p.data).map_or_else(|_| "(unparsable)".to_string(), |k| k.key.to_string());
    format!(
        "{:02}:{:02}:{:02}.{:06} {direction:<3} {flow}  {} bytes  {comment}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        p.timestamp.subsec_micros(),
        p.original_len,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_units_people_type() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3d").unwrap_err().contains("ms, s, m or h"));
    }

    #[test]
    fn a_stream_cut_anywhere_prints_each_packet_once() {
        use crate::capture::{Direction, Interface, PcapngWriter};
        let icmp = [
            0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 1, 0, 4, 10, 2, 0, 4, 8, 0, 0, 0, 0x12, 0x34, 0, 1,
        ];
        let mut w = PcapngWriter::new(Vec::new(), &[Interface::named("SalesVM")]).expect("headers");
        w.write_packet(
            0,
            Duration::from_secs(3661),
            Direction::Outbound,
            &icmp,
            "delivered to X",
        )
        .expect("packet");
        w.write_packet(0, Duration::from_secs(3662), Direction::Inbound, &icmp, "dropped: NSG")
            .expect("packet");
        let bytes = w.into_inner();
        for cut in [1, 30, bytes.len() / 2, bytes.len() - 1] {
            let mut p = LinePrinter::default();
            let mut out = Vec::new();
            p.feed(&bytes[..cut], &mut out).expect("first part");
            p.feed(&bytes[cut..], &mut out).expect("second part");
            let text = String::from_utf8(out).expect("utf8");
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 2, "cut at {cut}: {text}");
            assert!(
                lines[0].starts_with("01:01:01.000000 out 10.1.0.4 -> 10.2.0.4 icmp"),
                "{}",
                lines[0]
            );
            assert!(lines[0].ends_with("delivered to X"), "{}", lines[0]);
            assert!(
                lines[1].contains(" in ") && lines[1].ends_with("dropped: NSG"),
                "{}",
                lines[1]
            );
        }
    }
}
