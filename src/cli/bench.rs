//! Hidden helpers of `scripts/bench scale`: the floor (bare namespaces with
//! one TUN each, made by the same host code as a lab's VMs) and a probe
//! that every VM of a running lab answers on port 22.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::daemon::client;
use crate::daemon::proto::{Request, Response};
use crate::host::tun::Interface;
use crate::host::{self, Lab, netns};

/// Threads of the host work, as the daemon's pool.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// Runs `f` on every item with at most `workers()` at a time.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers().min(items.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// MemAvailable in KiB, less `since` (what it was before): memory used.
fn available_kib(since: u64) -> u64 {
    let now = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0);
    if since == 0 { now } else { since.saturating_sub(now) }
}

/// Removes the floor's namespaces whatever happens.
struct Sweep(Lab);

impl Drop for Sweep {
    fn drop(&mut self) {
        let _ = host::remove_lab(&self.0);
    }
}

/// `vnetlab __bench-floor N`: creates N namespaces with one addressed TUN
/// each, then deletes them; prints `up_s down_s` as one JSON object.
pub fn floor(n: usize, out: &mut impl Write) -> anyhow::Result<u8> {
    super::live::require_root("__bench-floor")?;
    let lab = Lab::new(&format!("floor{}", std::process::id()))?;
    let sweep = Sweep(lab.clone());
    let names: Vec<(String, Ipv4Addr)> = (0..n)
        .map(|i| {
            let ip = Ipv4Addr::new(10, (i / 250 / 250) as u8, (i / 250 % 250) as u8, (i % 250 + 4) as u8);
            (lab.vm_netns(&format!("vm{i}")), ip)
        })
        .collect();
    let before = available_kib(0);
    let started = Instant::now();
    let devices = par_map(&names, |(ns, ip)| -> anyhow::Result<_> {
        netns::add(ns)?;
        let iface = Interface {
            address: *ip,
            prefix_len: 8,
            gateway: Ipv4Addr::new(10, 0, 0, 1),
            forwarding: false,
        };
        Ok(host::tun::open(ns, "eth0", &iface, true)?)
    });
    let up = started.elapsed();
    let used_mib = (available_kib(before) as f64) / 1024.0;
    let devices: Vec<_> = devices.into_iter().collect::<anyhow::Result<_>>()?;
    // As the daemon removes VMs: persistent TUNs, the namespaces deleted,
    // then the descriptors closed; the kernel removes the devices with
    // their namespaces, in batches.
    let started = Instant::now();
    for d in &devices {
        d.persist()?;
    }
    par_map(&names, |(ns, _)| netns::delete(ns))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    drop(devices);
    let down = started.elapsed();
    drop(sweep);
    writeln!(
        out,
        "{{\"n\": {n}, \"up_s\": {:.3}, \"down_s\": {:.3}, \"mem_used_mib\": {used_mib:.1}}}",
        up.as_secs_f64(),
        down.as_secs_f64()
    )?;
    Ok(0)
}

/// `vnetlab __bench-probe --lab L`: connects to port 22 of every VM of the
/// running lab from inside its own namespace; prints how many answered
/// and how long that took. 1 if any did not.
pub fn probe(lab: &Lab, out: &mut impl Write) -> anyhow::Result<u8> {
    super::live::require_root("__bench-probe")?;
    let Response::Status(s) = client::call(lab, &Request::Status)? else {
        anyhow::bail!("lab '{lab}' did not report its status");
    };
    let targets: Vec<(String, SocketAddr)> = s
        .vms
        .iter()
        .filter_map(|v| {
            let ip: Ipv4Addr = v.nics.first()?.private_ip.parse().ok()?;
            Some((v.netns.clone(), SocketAddr::from((ip, 22))))
        })
        .collect();
    let started = Instant::now();
    let answered = par_map(&targets, |(ns, addr)| {
        let addr = *addr;
        netns::run_in(ns, move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        })
        .unwrap_or(false)
    });
    let ok = answered.iter().filter(|a| **a).count();
    writeln!(
        out,
        "{{\"vms\": {}, \"answered\": {ok}, \"probe_s\": {:.3}}}",
        targets.len(),
        started.elapsed().as_secs_f64()
    )
    .context("write the result")?;
    Ok(if ok == targets.len() { 0 } else { 1 })
}
