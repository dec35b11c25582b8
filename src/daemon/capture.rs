//! `vnetlab capture`, the daemon's side: taps on the packet path and the
//! task that streams one tap's packets to the CLI as pcapng.
//!
//! The packet path pays one relaxed load while no capture runs
//! ([`Taps::active`]). While one runs, a packet seen at the tapped point is
//! copied into the tap's bounded ring together with its verdict and the
//! plane it was decided on; the words of the verdict (the same
//! `explain::summarize` the drop trace and `explain` use) are written by
//! the streaming task, off the packet path. A full ring refuses the packet
//! and counts it: forwarding never waits on a capture.
//!
//! The stream after the `Capturing` line: frames of `u32` big-endian length
//! then that many pcapng bytes; a zero-length frame ends it, and one last
//! JSON line (`CaptureEnded`) says how many packets were written and lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt};

use super::plane::{LinkCounters, Plane, verdict_words};
use super::proto::{CaptureRequest, Response};
use crate::capture::{CaptureRing, Direction, Interface, PcapngWriter};
use crate::dataplane::{Ingress, LinkIdx, Tables, Verdict, VnetIdx};

/// Packets a tap holds before it refuses more. A GSO super-packet may be
/// 64 KB, so this bounds a stalled reader's cost to about 128 MB.
const RING_SLOTS: usize = 2048;
const FRAME_BYTES: usize = 1 << 20;
/// How often the streaming task drains its ring when it found it empty.
const DRAIN_EVERY: Duration = Duration::from_millis(5);

/// Where a capture looks.
#[derive(Debug)]
enum Point {
    /// A VM's NICs, or one NIC: their stable keys.
    Nics(Vec<u64>),
    /// A peering: its counters (`out`, traffic leaving its VNet over it)
    /// and those of the remote VNet's peering back (`back`, traffic coming
    /// in), which live as long as the peerings whatever the generation.
    Peering {
        out: Arc<LinkCounters>,
        back: Option<Arc<LinkCounters>>,
    },
}

/// The peerings a packet crossed, as the packet path recorded them.
pub type Crossed = [(VnetIdx, LinkIdx)];

/// One packet as a tap keeps it until the streaming task writes it.
pub struct Offered {
    ts: Duration,
    direction: Direction,
    bytes: Vec<u8>,
    verdict: Verdict,
    /// False when the verdict named a destination that has no TUN here.
    delivered: bool,
    crossed: [(VnetIdx, LinkIdx); 4],
    n_crossed: u8,
    plane: Arc<Plane>,
}

impl std::fmt::Debug for Offered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offered")
            .field("direction", &self.direction)
            .field("len", &self.bytes.len())
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct Tap {
    point: Point,
    drops_only: bool,
    ring: CaptureRing<Offered>,
}

/// Every running capture. `active` mirrors `list.len()`, so the packet
/// path tests an integer and touches the list only while someone captures.
#[derive(Debug, Default)]
pub struct Taps {
    active: AtomicUsize,
    list: ArcSwap<Vec<Arc<Tap>>>,
    /// Serializes adding and removing taps (never taken by the packet path).
    edit: std::sync::Mutex<()>,
}

/// At which step of forwarding a packet is offered: as it arrived (before
/// any NAT), or as it is written to its destination (after NAT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Sent,
    Delivered,
}

impl Taps {
    /// The packet path's whole cost while nobody captures.
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Relaxed) != 0
    }

    fn add(&self, tap: Arc<Tap>) {
        let _edit = self.edit.lock().unwrap_or_else(|e| e.into_inner());
        let mut list = Vec::clone(&self.list.load());
        list.push(tap);
        self.active.store(list.len(), Relaxed);
        self.list.store(Arc::new(list));
    }

    fn remove(&self, tap: &Arc<Tap>) {
        let _edit = self.edit.lock().unwrap_or_else(|e| e.into_inner());
        let mut list = Vec::clone(&self.list.load());
        list.retain(|t| !Arc::ptr_eq(t, tap));
        self.active.store(list.len(), Relaxed);
        self.list.store(Arc::new(list));
    }

    /// Offers one packet to every tap that sees it at this stage. `pkt` is
    /// the IP packet as it is at that stage; `delivered` says whether it
    /// leaves the fabric (false: it is dropped).
    #[allow(clippy::too_many_arguments)]
    pub fn offer(
        &self,
        plane: &Arc<Plane>,
        stage: Stage,
        ingress: Ingress,
        crossed: &Crossed,
        verdict: &Verdict,
        delivered: bool,
        pkt: &[u8],
    ) {
        let list = self.list.load();
        for tap in list.iter() {
            if tap.drops_only && delivered {
                continue;
            }
            for direction in tap.sees(plane, stage, ingress, crossed, verdict, delivered) {
                tap.ring.offer(|| {
                    let mut kept = [(VnetIdx(0), LinkIdx(0)); 4];
                    let n = crossed.len().min(kept.len());
                    kept[..n].copy_from_slice(&crossed[..n]);
                    Offered {
                        ts: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
                        direction,
                        bytes: pkt.to_vec(),
                        verdict: *verdict,
                        delivered,
                        crossed: kept,
                        n_crossed: n as u8,
                        plane: plane.clone(),
                    }
                });
            }
        }
    }
}

impl Tap {
    /// The directions in which this tap sees the packet at `stage` (none,
    /// one, or both for a VM talking to itself).
    fn sees(
        &self,
        plane: &Plane,
        stage: Stage,
        ingress: Ingress,
        crossed: &Crossed,
        verdict: &Verdict,
        delivered: bool,
    ) -> impl Iterator<Item = Direction> {
        let t = &plane.tables;
        let (mut out, mut inn) = (false, false);
        match &self.point {
            Point::Nics(keys) => {
                let has = |n: crate::dataplane::NicIdx| t.nics.get(n).is_some_and(|e| keys.contains(&e.key));
                let sender = match ingress {
                    Ingress::Nic(n) => Some(n),
                    _ => None,
                };
                // A delivered packet is seen arriving as it is written
                // (after NAT); one dropped is seen where it would have gone.
                let receiver = match *verdict {
                    Verdict::Deliver { nic, .. } | Verdict::ToAppliance { nic, .. } | Verdict::Hairpin { nic, .. } => {
                        Some(nic)
                    }
                    Verdict::Drop(r) => super::plane::concerned_nic(&r).filter(|&n| Some(n) != sender),
                    _ => None,
                };
                if stage == Stage::Sent {
                    out = sender.is_some_and(has);
                }
                if stage == Stage::Delivered || !delivered {
                    inn = receiver.is_some_and(has);
                }
            }
            Point::Peering { out: o, back } => {
                if stage == Stage::Sent {
                    let link = |v: VnetIdx, l: LinkIdx| plane.links.get(v.index()).and_then(|ls| ls.get(l.index()));
                    let mut links: Vec<(VnetIdx, LinkIdx)> = crossed.to_vec();
                    if let Verdict::Drop(
                        crate::dataplane::DropReason::ForwardedTrafficNotAllowed { vnet, link }
                        | crate::dataplane::DropReason::PeeringAccessBlocked { vnet, link, .. },
                    ) = *verdict
                    {
                        links.push((vnet, link));
                    }
                    for (v, l) in links {
                        if let Some(c) = link(v, l) {
                            out |= Arc::ptr_eq(c, o);
                            inn |= back.as_ref().is_some_and(|b| Arc::ptr_eq(c, b));
                        }
                    }
                }
            }
        }
        [(out, Direction::Outbound), (inn, Direction::Inbound)]
            .into_iter()
            .filter_map(|(yes, d)| yes.then_some(d))
    }
}

/// Finds the capture point `target` names in the running tables: a VM, a
/// NIC, or a peering (`PEERING` or `VNET/PEERING`), case-insensitive.
fn resolve(plane: &Plane, target: &str) -> Result<(Point, Interface), String> {
    let t = &plane.tables;
    let vm_keys: Vec<u64> = t
        .nics
        .iter()
        .filter(|n| n.vm.as_deref().is_some_and(|vm| vm.eq_ignore_ascii_case(target)))
        .map(|n| n.key)
        .collect();
    if !vm_keys.is_empty() {
        let nics = t
            .nics
            .iter()
            .filter(|n| vm_keys.contains(&n.key))
            .map(|n| format!("{} {}", n.name, n.ip))
            .collect::<Vec<_>>()
            .join(", ");
        return Ok((
            Point::Nics(vm_keys),
            Interface {
                name: target.to_string(),
                description: Some(format!("VM {target} (NIC {nics})")),
            },
        ));
    }
    if let Some(n) = t.nics.iter().find(|n| n.name.eq_ignore_ascii_case(target)) {
        return Ok((
            Point::Nics(vec![n.key]),
            Interface {
                name: n.name.clone(),
                description: Some(format!("NIC {} ({})", n.name, n.ip)),
            },
        ));
    }
    let (vnet_part, peering_part) = match target.split_once('/') {
        Some((v, p)) => (Some(v), p),
        None => (None, target),
    };
    let peerings: Vec<(VnetIdx, LinkIdx)> = t
        .vnets
        .iter_enumerated()
        .filter(|(_, v)| vnet_part.is_none_or(|want| v.name.eq_ignore_ascii_case(want)))
        .flat_map(|(vi, v)| {
            v.links
                .iter_enumerated()
                .filter(|(_, l)| l.id.name().eq_ignore_ascii_case(peering_part))
                .map(move |(li, _)| (vi, li))
        })
        .collect();
    match peerings[..] {
        [(v, l)] => {
            let entry = &t.vnets[v].links[l];
            let counters =
                |v: VnetIdx, l: LinkIdx| plane.links.get(v.index()).and_then(|ls| ls.get(l.index())).cloned();
            let out = counters(v, l).ok_or_else(|| format!("peering {target} has no counters in the running plane"))?;
            let back = entry.remote.zip(entry.back).and_then(|(rv, rl)| counters(rv, rl));
            let remote = entry.remote.map_or("(unresolved)", |r| t.vnets[r].name.as_str());
            Ok((
                Point::Peering { out, back },
                Interface {
                    name: entry.id.name().to_string(),
                    description: Some(format!("peering {} -> {remote}", t.vnets[v].name)),
                },
            ))
        }
        [] => {
            let vms: std::collections::BTreeSet<&str> = t.nics.iter().filter_map(|n| n.vm.as_deref()).collect();
            Err(format!(
                "ResourceNotFound: there is no VM, NIC or peering named '{target}' in this lab. Capture one of the VMs ({}), a NIC, or a peering as PEERING or VNET/PEERING.",
                vms.into_iter().collect::<Vec<_>>().join(", ")
            ))
        }
        _ => {
            let names: Vec<String> = peerings
                .iter()
                .map(|&(v, _)| format!("{}/{}", t.vnets[v].name, peering_part))
                .collect();
            Err(format!(
                "AmbiguousPeeringName: several VNets have a peering named '{peering_part}'. Name it with its VNet: {}.",
                names.join(", ")
            ))
        }
    }
}

/// The comment a captured packet carries: the verdict in explain's words,
/// and the peerings it crossed.
fn comment(p: &Offered) -> String {
    let t: &Tables = &p.plane.tables;
    let mut words = verdict_words(t, &p.verdict, &p.bytes, p.delivered);
    let crossed: Vec<&str> = p.crossed[..usize::from(p.n_crossed)]
        .iter()
        .filter_map(|&(v, l)| Some(t.vnets.get(v)?.links.get(l)?.id.name()))
        .collect();
    if !crossed.is_empty() {
        words.push_str(&format!(" (via peering {})", crossed.join(", ")));
    }
    words
}

/// Removes its tap from the packet path however the stream ends.
struct Registered<'a> {
    taps: &'a Taps,
    tap: Arc<Tap>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.taps.remove(&self.tap);
    }
}

/// Runs one capture for the connection it came on: until `count` packets
/// are written, `duration` passes, the client writes a line (its Ctrl-C)
/// or hangs up, or writing to it fails (its reader went away).
pub async fn stream(
    taps: &Taps,
    plane: &ArcSwap<Plane>,
    req: CaptureRequest,
    read: &mut (impl AsyncBufRead + Unpin),
    write: &mut (impl AsyncWriteExt + Unpin),
) -> std::io::Result<()> {
    let (point, interface) = match resolve(&plane.load(), &req.target) {
        Ok(found) => found,
        Err(message) => return super::api::send(write, &Response::Error { message }).await,
    };
    let mut pcap = match PcapngWriter::new(Vec::new(), std::slice::from_ref(&interface)) {
        Ok(w) => w,
        Err(e) => {
            let message = e.to_string();
            return super::api::send(write, &Response::Error { message }).await;
        }
    };
    let tap = Arc::new(Tap {
        point,
        drops_only: req.drops_only,
        ring: CaptureRing::new(RING_SLOTS),
    });
    let registered = Registered { taps, tap: tap.clone() };
    taps.add(tap.clone());
    super::api::send(
        write,
        &Response::Capturing {
            interface: interface.name.clone(),
            description: interface.description.clone().unwrap_or_default(),
        },
    )
    .await?;
    let deadline = req
        .duration_ms
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let limit = req.count.unwrap_or(u64::MAX);
    let mut written = 0u64;
    let mut reported_lost = 0u64;
    let mut stopping = false;
    loop {
        while written < limit {
            let Some(p) = tap.ring.pop() else { break };
            let lost = tap.ring.dropped();
            pcap.note_lost(lost - reported_lost);
            reported_lost = lost;
            let text = comment(&p);
            pcap.write_packet(0, p.ts, p.direction, &p.bytes, &text)
                .map_err(std::io::Error::other)?;
            written += 1;
            // Frames of about a megabyte: a full ring of super-packets is
            // not gathered into one buffer.
            if pcap.get_mut().len() >= FRAME_BYTES {
                let bytes = std::mem::take(pcap.get_mut());
                frame(write, &bytes).await?;
            }
        }
        let bytes = std::mem::take(pcap.get_mut());
        if !bytes.is_empty() {
            frame(write, &bytes).await?;
        }
        if stopping || written >= limit || deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        let wake = deadline.map_or(DRAIN_EVERY, |d| {
            d.saturating_duration_since(tokio::time::Instant::now())
                .min(DRAIN_EVERY)
        });
        tokio::select! {
            // Any byte, or the end of the stream, is the client asking to
            // stop (nothing is read, so nothing a client sends piles up).
            // One last drain of what the ring holds, then the end.
            _ = read.fill_buf() => stopping = true,
            _ = tokio::time::sleep(wake) => {}
        }
    }
    drop(registered);
    let lost = tap.ring.dropped();
    frame(write, &[]).await?;
    super::api::send(
        write,
        &Response::CaptureEnded {
            captured: written,
            lost,
        },
    )
    .await
}

async fn frame(write: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    write.write_all(&len.to_be_bytes()).await?;
    write.write_all(bytes).await?;
    write.flush().await
}
