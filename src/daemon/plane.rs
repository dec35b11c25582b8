//! The live data plane: one task per TUN reads a packet (a GSO
//! super-packet with its virtio header), asks the verdict function, and
//! writes it whole to the TUN the verdict names.
//!
//! Super-packets are decided once, by their headers: every segment of one
//! shares them, so the verdict is the same for all. Nothing is split
//! unless a kernel refuses a coalesced write. The fabric adds no ICMP on a
//! drop and never touches TTL.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;
use tokio::sync::broadcast;
use tun_rs::{AsyncDevice, VIRTIO_NET_HDR_LEN, VirtioNetHdr};

// From linux/virtio_net.h.
const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;
const VIRTIO_NET_HDR_GSO_NONE: u8 = 0;

use super::capture::{Stage, Taps};
use super::delayline::DelayLine;
use super::flowlogs::{Feed, NicLog, NsgStep, Side as LogSide};
use super::proto::{self, DropEvent};
use crate::dataplane::nat::{self, L4Checksum, Side};
use crate::dataplane::{
    ConnTrack, DropReason, Ingress, LbHealth, LinkIdx, NicIdx, Observer, Step, Tables, Verdict, VnetIdx, decide_with,
    explain, packet,
};

/// Largest read: a 64 KB super-packet behind its virtio header.
const BUF_LEN: usize = VIRTIO_NET_HDR_LEN + 65_536;

#[derive(Debug, Default)]
pub struct Counter {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    pub(super) fn add(&self, packets: u64, bytes: u64) {
        self.packets.fetch_add(packets, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
    }

    pub fn get(&self) -> proto::Counters {
        proto::Counters {
            packets: self.packets.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
        }
    }
}

/// One TUN: a VM's NIC, an on-premises router's tunnel, or the Internet
/// side.
pub struct Port {
    /// The TUN's queues, each read by its own task (`run_port`); the
    /// first is the device itself.
    queues: Vec<AsyncDevice>,
    /// The stable key of the NIC or of the connection whose tunnel this
    /// is; `None` for the Internet side.
    pub key: Option<u64>,
    pub label: String,
    pub tx: Counter,
    pub rx: Counter,
    pub dropped: AtomicU64,
    /// Bytes waiting in the delay line for this port (`delayline`).
    pub(super) held: AtomicU64,
    /// When the last packet held for this port is due (with jitter, no
    /// packet may leave before it).
    pub(super) last_due: AtomicU64,
    /// Cleared when the kernel refused a coalesced write: from then on
    /// super-packets are split before they are written here.
    coalesced_writes: AtomicBool,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("label", &self.label)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Port {
    pub fn new(dev: AsyncDevice, key: Option<u64>, label: String) -> Port {
        Port::with_queues(vec![dev], key, label)
    }

    /// A port on a multi-queue TUN (`host::tun::open_queues`); `queues`
    /// is not empty.
    pub fn with_queues(queues: Vec<AsyncDevice>, key: Option<u64>, label: String) -> Port {
        assert!(!queues.is_empty(), "a port needs its TUN");
        Port {
            queues,
            key,
            label,
            tx: Counter::default(),
            rx: Counter::default(),
            dropped: AtomicU64::new(0),
            held: AtomicU64::new(0),
            last_due: AtomicU64::new(0),
            coalesced_writes: AtomicBool::new(true),
        }
    }

    /// The TUN device (its first queue).
    pub fn dev(&self) -> &AsyncDevice {
        &self.queues[0]
    }

    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// Queue `i`, wrapping: a packet read from queue `i` of one TUN is
    /// written to queue `i` of the next, so the kernel, which sends a
    /// flow's replies out of the queue its packets came in by, keeps each
    /// flow (both ways) with one packet task.
    fn queue(&self, i: usize) -> &AsyncDevice {
        &self.queues[i % self.queues.len()]
    }
}

/// Per-peering counters, kept across snapshots by the peering's key.
#[derive(Debug, Default)]
pub struct LinkCounters {
    pub carried: Counter,
    pub dropped: AtomicU64,
}

/// What the packet tasks read: one model generation's tables and where
/// each of its NICs is plugged in. Swapped whole on every change.
#[derive(Debug)]
pub struct Plane {
    pub tables: Tables,
    /// By `NicIdx`: the TUN of that NIC, when its VM runs here.
    pub ports: Vec<Option<Arc<Port>>>,
    /// By connection index: the tunnel of its on-premises router.
    pub tunnels: Vec<Option<Arc<Port>>>,
    /// By VNet, then link index.
    pub links: Vec<Vec<Arc<LinkCounters>>>,
    pub internet: Arc<Port>,
    /// By service index: the TUN of that service instance.
    pub services: Vec<Option<Arc<Port>>>,
    /// The namespace health probes come from (168.63.129.16).
    pub azure_host: Option<Arc<Port>>,
    /// By `NicIdx`: the flow log that covers the NIC; empty when no NIC
    /// is logged, so the packet path tests one length.
    pub flow_logs: Vec<Option<Arc<NicLog>>>,
    ingress_by_key: FxHashMap<u64, Ingress>,
}

/// The port key of the Azure host's TUN (NIC and connection keys hash
/// resource IDs; this one is no resource).
pub const AZURE_HOST_KEY: u64 = u64::MAX - 0xA2;

impl Plane {
    pub fn new(
        tables: Tables,
        by_key: &FxHashMap<u64, Arc<Port>>,
        link_counters: &mut FxHashMap<u64, Arc<LinkCounters>>,
        internet: Arc<Port>,
    ) -> Plane {
        let ports = tables.nics.iter().map(|n| by_key.get(&n.key).cloned()).collect();
        let tunnels = tables
            .connections
            .iter()
            .map(|c| by_key.get(&crate::dataplane::stable_key(&c.id)).cloned())
            .collect();
        // Keys hash full resource IDs: a NIC's and a connection's differ.
        let nics = tables.nics.iter_enumerated().map(|(i, n)| (n.key, Ingress::Nic(i)));
        let connections = tables
            .connections
            .iter_enumerated()
            .map(|(i, c)| (crate::dataplane::stable_key(&c.id), Ingress::Connection(i)));
        let services = tables
            .services
            .iter_enumerated()
            .map(|(i, s)| (s.key, Ingress::Service(i)));
        let ingress_by_key = nics
            .chain(connections)
            .chain(services)
            .chain([(AZURE_HOST_KEY, Ingress::AzureHost)])
            .collect();
        let azure_host = by_key.get(&AZURE_HOST_KEY).cloned();
        let services = tables.services.iter().map(|s| by_key.get(&s.key).cloned()).collect();
        let links = tables
            .vnets
            .iter()
            .map(|v| {
                v.links
                    .iter()
                    .map(|l| {
                        link_counters
                            .entry(crate::dataplane::stable_key(&l.id))
                            .or_default()
                            .clone()
                    })
                    .collect()
            })
            .collect();
        Plane {
            tables,
            ports,
            tunnels,
            links,
            internet,
            services,
            azure_host,
            flow_logs: Vec::new(),
            ingress_by_key,
        }
    }

    /// The compiled entry of the NIC with this stable key.
    pub fn nic(&self, key: u64) -> Option<&crate::dataplane::NicEntry> {
        match self.ingress_by_key.get(&key) {
            Some(&Ingress::Nic(i)) => Some(&self.tables.nics[i]),
            _ => None,
        }
    }
}

/// What every packet task shares.
#[derive(Debug)]
pub struct Fabric {
    pub plane: ArcSwap<Plane>,
    pub conntrack: Mutex<ConnTrack>,
    /// What the health probes last said; the prober publishes it.
    pub health: ArcSwap<LbHealth>,
    /// The names Azure-provided DNS answers, compiled with the tables.
    pub dns: ArcSwap<crate::dns::DnsView>,
    pub drops: broadcast::Sender<DropEvent>,
    /// Where packets between regions wait for their delay.
    pub delay: Arc<DelayLine>,
    /// Running captures (`vnetlab capture`).
    pub taps: Taps,
    /// Where packets of logged NICs go (`az network watcher flow-log`).
    pub flow_feed: Feed,
}

/// Records the peerings a packet crossed, for the per-peering counters,
/// and the NSG decisions, for flow logs.
#[derive(Default)]
struct Crossings {
    links: [(VnetIdx, LinkIdx); 4],
    n: usize,
    nsgs: [Option<NsgStep>; 4],
    n_nsgs: usize,
}

impl Observer for Crossings {
    #[inline]
    fn step(&mut self, s: Step) {
        let nsg = match s {
            Step::CrossPeering { from, link, .. } => {
                if self.n < self.links.len() {
                    self.links[self.n] = (from, link);
                    self.n += 1;
                }
                return;
            }
            Step::Nsg {
                nic, nsg, rule, access, ..
            } => NsgStep {
                nic,
                rule: Some((nsg, rule, access)),
            },
            Step::Tracked { nic, .. } | Step::NoNsg { nic, .. } => NsgStep { nic, rule: None },
            _ => return,
        };
        if self.n_nsgs < self.nsgs.len() {
            self.nsgs[self.n_nsgs] = Some(nsg);
            self.n_nsgs += 1;
        }
    }
}

impl Crossings {
    fn nsg_steps(&self) -> impl Iterator<Item = NsgStep> + '_ {
        self.nsgs[..self.n_nsgs].iter().flatten().copied()
    }
}

/// Reads queue `queue` of `port` until it goes away, forwarding every
/// packet.
pub async fn run_port(fabric: Arc<Fabric>, port: Arc<Port>, queue: usize) {
    let mut buf = vec![0u8; BUF_LEN];
    let mut cached: Option<(u64, Option<Ingress>)> = None;
    let spin = super::packets::spin(queue);
    loop {
        let n = match port.queue(queue).recv(&mut buf).await {
            Ok(n) => n,
            // The device was deleted (VM removed): this task is done.
            Err(e) if matches!(e.raw_os_error(), Some(nix::libc::EBADFD) | Some(nix::libc::ENODEV)) => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Anything else is reported and retried, not fatal: the
                // port must keep serving its VM.
                eprintln!("{}: read failed: {e}", port.label);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if n <= VIRTIO_NET_HDR_LEN {
            continue;
        }
        let now = Instant::now();
        spin.packet(now);
        let plane = fabric.plane.load();
        let ingress = match port.key {
            None => Ingress::Internet,
            Some(key) => {
                let ingress = match cached {
                    Some((generation, ingress)) if generation == plane.tables.generation => ingress,
                    _ => {
                        let ingress = plane.ingress_by_key.get(&key).copied();
                        cached = Some((plane.tables.generation, ingress));
                        ingress
                    }
                };
                // A NIC or connection the model no longer has sends into
                // nothing.
                let Some(ingress) = ingress else { continue };
                ingress
            }
        };
        forward(&fabric, &plane, &port, queue, ingress, &mut buf[..n], now).await;
    }
}

async fn forward(
    fabric: &Fabric,
    plane: &Arc<Plane>,
    from: &Port,
    queue: usize,
    ingress: Ingress,
    frame: &mut [u8],
    now: Instant,
) {
    let Ok(hdr) = VirtioNetHdr::decode(frame) else { return };
    let len = (frame.len() - VIRTIO_NET_HDR_LEN) as u64;
    let segments = super::segments::count(&hdr, &frame[VIRTIO_NET_HDR_LEN..]);
    from.tx.add(segments, len);

    let mut crossed = Crossings::default();
    let health = fabric.health.load();
    let verdict = {
        // The table is consistent between packets even if a holder
        // panicked mid-way: a poisoned lock must not stop the fabric.
        let mut ct = fabric.conntrack.lock().unwrap_or_else(|e| e.into_inner());
        decide_with(
            &plane.tables,
            &health,
            &mut ct,
            ingress,
            &frame[VIRTIO_NET_HDR_LEN..],
            now,
            &mut crossed,
        )
    };
    let to = match verdict {
        Verdict::Deliver { nic, .. } | Verdict::ToAppliance { nic, .. } => plane.ports[nic.index()].as_ref(),
        Verdict::ToService { service, .. } => plane.services.get(service.index()).and_then(Option::as_ref),
        Verdict::ToAzureHost { .. } => plane.azure_host.as_ref(),
        Verdict::ToInternet { .. } => Some(&plane.internet),
        Verdict::Hairpin { nic, .. } => plane.ports[nic.index()].as_ref(),
        Verdict::ToSite { connection } => plane.tunnels.get(connection.index()).and_then(Option::as_ref),
        Verdict::Drop(_) => None,
    };
    // Without a capture this is one relaxed load.
    let tapping = fabric.taps.active();
    let crossings = &crossed.links[..crossed.n];
    if tapping {
        fabric.taps.offer(
            plane,
            Stage::Sent,
            ingress,
            crossings,
            &verdict,
            to.is_some(),
            &frame[VIRTIO_NET_HDR_LEN..],
        );
    }
    let logging = !plane.flow_logs.is_empty();
    if logging {
        let steps: Vec<NsgStep> = crossed.nsg_steps().collect();
        let sides: &[LogSide] = if to.is_some() {
            &[LogSide::Sender]
        } else {
            &[LogSide::Sender, LogSide::Receiver]
        };
        for &side in sides {
            super::flowlogs::observe(
                &fabric.flow_feed,
                plane,
                side,
                ingress,
                &verdict,
                &steps,
                &frame[VIRTIO_NET_HDR_LEN..],
                segments,
                len,
            );
        }
    }
    let Some(to) = to else {
        record_drop(
            fabric,
            plane,
            from,
            ingress,
            &verdict,
            &frame[VIRTIO_NET_HDR_LEN..],
            segments,
        );
        return;
    };
    let l4 = if hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0 {
        L4Checksum::Partial
    } else {
        L4Checksum::Full
    };
    match verdict {
        Verdict::Deliver { nat: Some(r), .. } | Verdict::ToAppliance { nat: Some(r), .. } => {
            nat::apply(&mut frame[VIRTIO_NET_HDR_LEN..], &r, l4);
        }
        Verdict::ToService { nat, .. } | Verdict::ToAzureHost { nat } => {
            nat::apply(&mut frame[VIRTIO_NET_HDR_LEN..], &nat, l4);
        }
        Verdict::ToInternet { snat } => {
            nat::rewrite(&mut frame[VIRTIO_NET_HDR_LEN..], Side::Source, snat, l4);
        }
        Verdict::Hairpin { snat, dnat, .. } => {
            nat::rewrite(&mut frame[VIRTIO_NET_HDR_LEN..], Side::Source, snat, l4);
            nat::rewrite(&mut frame[VIRTIO_NET_HDR_LEN..], Side::Destination, dnat, l4);
        }
        _ => {}
    }
    if tapping {
        fabric.taps.offer(
            plane,
            Stage::Delivered,
            ingress,
            crossings,
            &verdict,
            true,
            &frame[VIRTIO_NET_HDR_LEN..],
        );
    }
    if logging {
        let steps: Vec<NsgStep> = crossed.nsg_steps().collect();
        super::flowlogs::observe(
            &fabric.flow_feed,
            plane,
            LogSide::Receiver,
            ingress,
            &verdict,
            &steps,
            &frame[VIRTIO_NET_HDR_LEN..],
            segments,
            len,
        );
    }
    for &(vnet, link) in crossings {
        if let Some(c) = plane.links.get(vnet.index()).and_then(|l| l.get(link.index())) {
            c.carried.add(segments, len);
        }
    }
    // Between regions the packet waits in the delay line (which writes
    // it and counts it received); a full line drops it.
    let delay = verdict.delay(&plane.tables, ingress);
    if !delay.is_zero() {
        if !fabric
            .delay
            .hold((to, queue), hdr, frame, segments, delay, plane.tables.delays.jitter_ns)
        {
            to.dropped.fetch_add(segments, Relaxed);
        }
        return;
    }
    write(to, queue, &hdr, frame).await;
    to.rx.add(segments, len);
}

async fn write(to: &Port, queue: usize, hdr: &VirtioNetHdr, frame: &mut [u8]) {
    if !whole(to, hdr) || !written(to, hdr, to.queue(queue).send(frame).await) {
        write_split(to, queue, hdr, frame);
    }
}

/// `write` from a thread outside the runtime (the delay line). A TUN
/// write does not block: the kernel takes the packet or drops it.
pub(super) fn write_now(to: &Port, queue: usize, hdr: &VirtioNetHdr, frame: &mut [u8]) {
    if !whole(to, hdr) || !written(to, hdr, to.queue(queue).try_send(frame)) {
        write_split(to, queue, hdr, frame);
    }
}

/// May this packet go out as it came (a super-packet whole, until the
/// kernel has refused one)?
fn whole(to: &Port, hdr: &VirtioNetHdr) -> bool {
    hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE || to.coalesced_writes.load(Relaxed)
}

/// Is the write done? Sent, or lost as on a pulled wire (the receiving VM
/// went away mid-write: EIO) — only the kernel refusing a coalesced write
/// (EINVAL) leaves the packet to be split, and every later one too.
fn written(to: &Port, hdr: &VirtioNetHdr, sent: io::Result<usize>) -> bool {
    match sent {
        Err(e) if hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE && e.raw_os_error() == Some(nix::libc::EINVAL) => {
            eprintln!(
                "{}: the kernel refused a coalesced write; splitting super-packets from now on",
                to.label
            );
            to.coalesced_writes.store(false, Relaxed);
            false
        }
        _ => true,
    }
}

/// Splits a super-packet into MTU-sized packets and writes each.
fn write_split(to: &Port, queue: usize, hdr: &VirtioNetHdr, frame: &mut [u8]) {
    const MAX_SEGMENTS: usize = 64;
    let mut bufs = vec![vec![0u8; VIRTIO_NET_HDR_LEN + usize::from(crate::host::tun::MTU)]; MAX_SEGMENTS];
    let mut sizes = [0usize; MAX_SEGMENTS];
    let is_v6 = frame.get(VIRTIO_NET_HDR_LEN).is_some_and(|b| b >> 4 == 6);
    let Ok(n) = tun_rs::gso_split(
        &mut frame[VIRTIO_NET_HDR_LEN..],
        *hdr,
        &mut bufs,
        &mut sizes,
        VIRTIO_NET_HDR_LEN,
        is_v6,
    ) else {
        return;
    };
    for (buf, size) in bufs.iter_mut().zip(sizes).take(n) {
        // Each segment goes out complete: an all-zero header (GSO_NONE).
        buf[..VIRTIO_NET_HDR_LEN].fill(0);
        // A TUN write does not block (see `write_now`).
        let _ = to.queue(queue).try_send(&buf[..VIRTIO_NET_HDR_LEN + size]);
    }
}

fn record_drop(
    fabric: &Fabric,
    plane: &Plane,
    from: &Port,
    ingress: Ingress,
    verdict: &Verdict,
    pkt: &[u8],
    segments: u64,
) {
    from.dropped.fetch_add(segments, Relaxed);
    let concerned = match verdict {
        Verdict::Drop(r) => concerned_nic(r),
        _ => None,
    };
    if let Some(port) = concerned
        .and_then(|n| plane.ports.get(n.index())?.as_ref())
        .filter(|p| !std::ptr::eq(p.as_ref(), from))
    {
        port.dropped.fetch_add(segments, Relaxed);
    }
    if let Verdict::Drop(
        DropReason::ForwardedTrafficNotAllowed { vnet, link } | DropReason::PeeringAccessBlocked { vnet, link, .. },
    ) = *verdict
        && let Some(c) = plane.links.get(vnet.index()).and_then(|l| l.get(link.index()))
    {
        c.dropped.fetch_add(segments, Relaxed);
    }
    // Words cost only when someone is tracing.
    if fabric.drops.receiver_count() == 0 {
        return;
    }
    let t = &plane.tables;
    let vm_of = |n: NicIdx| t.nics[n].vm.clone();
    let mut vms: Vec<String> = Vec::new();
    let from_name = match ingress {
        Ingress::Nic(n) => vm_of(n).unwrap_or_else(|| t.nics[n].name.clone()),
        Ingress::Internet => "Internet".into(),
        Ingress::Connection(c) => t
            .connections
            .get(c)
            .map_or_else(|| "on-premises".into(), |c| c.name.clone()),
        Ingress::Service(s) => t.services.get(s).map_or_else(|| "a service".into(), |s| s.name.clone()),
        Ingress::AzureHost => "168.63.129.16".into(),
    };
    vms.push(from_name.clone());
    let key = packet::parse(pkt).ok().map(|p| p.key);
    let receiver = concerned.or_else(|| key.and_then(|k| t.vnets_containing(k.dst).find_map(|v| t.host(v, k.dst))));
    if let Some(name) = receiver.and_then(vm_of) {
        vms.push(name);
    }
    let flow = key.map_or_else(|| "(unparsable)".into(), |k| k.to_string());
    let reason = verdict_words(t, verdict, pkt, false);
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let _ = fabric.drops.send(DropEvent {
        time,
        from: from_name,
        vms,
        flow,
        reason,
    });
}

/// The verdict in the words `explain` uses; `delivered` false for a
/// packet whose verdict named a destination with no TUN here.
pub(super) fn verdict_words(t: &Tables, verdict: &Verdict, pkt: &[u8], delivered: bool) -> String {
    let mut words = explain::summarize(t, verdict, pkt);
    match verdict {
        Verdict::Drop(_) => {}
        _ if delivered => {}
        Verdict::ToSite { .. } => words.push_str(" — but no on-premises router holds that tunnel"),
        _ => words.push_str(" — but it has no running TUN here: dropped"),
    }
    words
}

pub(super) fn concerned_nic(r: &DropReason) -> Option<NicIdx> {
    match *r {
        DropReason::VmNotRunning { nic }
        | DropReason::NotForwarding { nic }
        | DropReason::PeeringAccessBlocked { nic, .. }
        | DropReason::NsgDenied { nic, .. }
        | DropReason::FlowLimit { nic, .. }
        | DropReason::PublicIpClosed { nic } => Some(nic),
        _ => None,
    }
}
