//! Health probes, sent as Azure sends them: from 168.63.129.16, the Azure
//! host, so that a backend's NSGs see the AzureLoadBalancer tag.
//!
//! The prober is a thread inside the Azure host's namespace, using the
//! kernel's TCP: a Tcp probe is a connection that completes, an Http probe
//! a GET whose answer is 200. Backends are reached at their probe alias
//! (`Tables::probe_alias`) and the fabric translates to their address. A
//! backend goes down after `threshold` failures in a row and comes back
//! after as many successes; the verdict function then sends it no new
//! flows (the `LbHealth` snapshot it publishes in `Fabric::health`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::plane::Fabric;
use crate::dataplane::{LbHealth, NicIdx, ProbeEntry, Tables};
use crate::host::HostError;
use crate::model::ProbeProtocol;

/// How long one probe may take. Azure waits up to the interval; a lab
/// wants an answer sooner.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(250);

/// One backend under one probe: (load balancer key, NIC key, probe index).
type Target = (u64, u64, usize);

#[derive(Debug, Default)]
struct Track {
    due: Option<Instant>,
    successes: u32,
    failures: u32,
    down: bool,
}

/// Starts the prober thread in namespace `netns`; it stops when `stop` is set.
pub fn spawn(
    fabric: Arc<Fabric>,
    netns: &str,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, HostError> {
    let path = std::path::Path::new("/run/netns").join(netns);
    let ns = std::fs::File::open(&path).map_err(HostError::io(format!("open {}", path.display())))?;
    let name = netns.to_string();
    std::thread::Builder::new()
        .name("health-probes".into())
        .spawn(move || {
            if let Err(e) = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET) {
                eprintln!("health probes: cannot enter namespace {name}: {e}");
                return;
            }
            run(&fabric, &stop);
        })
        .map_err(HostError::io("start the health prober"))
}

fn run(fabric: &Fabric, stop: &AtomicBool) {
    let mut tracks: FxHashMap<Target, Track> = FxHashMap::default();
    while !stop.load(Relaxed) {
        let plane = fabric.plane.load();
        let t = &plane.tables;
        let now = Instant::now();
        let targets = targets(t);
        tracks.retain(|k, _| targets.iter().any(|(x, ..)| x == k));
        for (key, nic, probe) in targets {
            let track = tracks.entry(key).or_default();
            if track.due.is_some_and(|d| d > now) {
                continue;
            }
            track.due = Some(now + probe.interval);
            let ok = probe_once(SocketAddr::from((t.probe_alias(nic), probe.port)), probe);
            if ok {
                (track.successes, track.failures) = (track.successes + 1, 0);
            } else {
                (track.successes, track.failures) = (0, track.failures + 1);
            }
            let flip = if track.down {
                track.successes >= probe.threshold
            } else {
                track.failures >= probe.threshold
            };
            if flip {
                track.down = !track.down;
            }
        }
        // A backend is down for its load balancer while any of its probes says so.
        let health: LbHealth = tracks
            .iter()
            .filter(|(_, track)| track.down)
            .map(|((lb, nic, _), _)| (*lb, *nic))
            .collect();
        if **fabric.health.load() != health {
            fabric.health.store(Arc::new(health));
        }
        std::thread::sleep(TICK);
    }
}

/// Every (backend, probe) a rule asks for, with the backend's NIC index.
fn targets(t: &Tables) -> Vec<(Target, NicIdx, &ProbeEntry)> {
    let mut out: Vec<(Target, NicIdx, &ProbeEntry)> = Vec::new();
    for lb in &t.lbs {
        for rule in &lb.rules {
            let Some(p) = rule.probe else { continue };
            let Some(probe) = lb.probes.get(p) else {
                continue;
            };
            for &nic in &lb.pools[rule.pool].1 {
                let key = (lb.key, t.nics[nic].key, p.index());
                if t.nics[nic].running && !out.iter().any(|(k, ..)| *k == key) {
                    out.push((key, nic, probe));
                }
            }
        }
    }
    out
}

fn probe_once(to: SocketAddr, probe: &ProbeEntry) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&to, PROBE_TIMEOUT) else {
        return false;
    };
    match probe.protocol {
        ProbeProtocol::Tcp => true,
        ProbeProtocol::Http | ProbeProtocol::Https => http_ok(&mut s, to, probe.path.as_deref().unwrap_or("/")),
    }
}

/// Azure's HTTP probe: healthy only on 200 OK.
fn http_ok(s: &mut TcpStream, to: SocketAddr, path: &str) -> bool {
    let _ = s.set_read_timeout(Some(PROBE_TIMEOUT));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Load Balancer Agent\r\nConnection: close\r\n\r\n",
        to.ip()
    );
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match s.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    status_is_200(&head[..got])
}

fn status_is_200(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut words = text.split(' ');
    matches!((words.next(), words.next()), (Some(v), Some("200")) if v.starts_with("HTTP/1."))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_200_is_healthy() {
        assert!(super::status_is_200(b"HTTP/1.1 200 OK\r\n"));
        assert!(super::status_is_200(b"HTTP/1.0 200 OK"));
        assert!(!super::status_is_200(b"HTTP/1.1 204 No"));
        assert!(!super::status_is_200(b"HTTP/1.1 301 Mo"));
        assert!(!super::status_is_200(b"SSH-2.0-OpenSSH"));
        assert!(!super::status_is_200(b""));
    }
}
