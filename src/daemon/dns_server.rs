//! Azure-provided DNS, live: UDP and TCP port 53 on 168.63.129.16 inside
//! the Azure host's namespace, answered by the pure resolver (`dns::answer`).
//!
//! A VM's query reaches this namespace with its source rewritten to the
//! NIC's probe alias (`Verdict::ToAzureHost`); the alias names the asking
//! NIC in the current tables, and so its VNet, which decides what the
//! name means. The names come from `Fabric::dns`, compiled with the tables
//! on every model change. Each VM may have 1000 queries a second answered
//! (`dns::QueryLimiter`); the excess is dropped, as Azure drops it.
//! `VNETLAB_DNS_QPS` in the daemon's environment sets another rate, or
//! `off`, for benchmarks only (docs/dns.md, "Benchmark"): not Azure's.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::plane::Fabric;
use crate::dns::{self, AskerCtx, QueryLimiter};
use crate::host::HostError;
use crate::model::AZURE_HOST_IP;

/// A TCP connection with no whole query for this long is closed, so idle
/// clients hold no task (RFC 7766 §6.2.3 suggests seconds).
const TCP_IDLE: Duration = Duration::from_secs(10);

/// What the UDP and TCP servers share: the names, and who asked how often.
struct Server {
    fabric: Arc<Fabric>,
    /// The buckets, and when quiet VMs were last forgotten.
    limiter: Mutex<(QueryLimiter, Duration)>,
    epoch: Instant,
}

impl Server {
    /// The VM behind a probe alias, as the resolver needs it; `None` for an
    /// address that is no NIC's (a stale alias after a change: dropped).
    fn asker(&self, from: IpAddr) -> Option<AskerCtx> {
        let IpAddr::V4(alias) = from else { return None };
        let plane = self.fabric.plane.load();
        let t = &plane.tables;
        let nic = &t.nics[t.probe_target(alias)?];
        Some(AskerCtx {
            vnet: t.vnets[t.subnets[nic.subnet].vnet].id.clone(),
            vm: nic.vm.clone().unwrap_or_else(|| nic.id.to_string()),
        })
    }

    /// Azure: at most 1000 queries a second per VM (azure-semantics-2 §1.1).
    fn allowed(&self, asker: &AskerCtx) -> bool {
        let now = self.epoch.elapsed();
        let mut guard = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        let (l, pruned) = &mut *guard;
        if now.saturating_sub(*pruned) >= Duration::from_secs(10) {
            l.prune(now);
            *pruned = now;
        }
        l.allow(&asker.vm, now)
    }
}

/// Binds port 53 (UDP and TCP) on 168.63.129.16 in namespace `netns` and
/// serves it until the runtime ends.
pub async fn spawn(fabric: Arc<Fabric>, netns: &str) -> Result<(), HostError> {
    let limiter =
        QueryLimiter::from_knob(std::env::var("VNETLAB_DNS_QPS").ok().as_deref()).map_err(|e| HostError::Io {
            what: "start Azure-provided DNS".into(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
    if let Some(rate) = limiter.rate().filter(|r| *r != dns::QUERIES_PER_SECOND) {
        eprintln!(
            "VNETLAB_DNS_QPS: {rate} DNS queries/s per VM (Azure's limit is {})",
            dns::QUERIES_PER_SECOND
        );
    } else if limiter.rate().is_none() {
        eprintln!(
            "VNETLAB_DNS_QPS=off: no limit on DNS queries (Azure's is {}/s per VM)",
            dns::QUERIES_PER_SECOND
        );
    }
    let path = std::path::Path::new("/run/netns").join(netns);
    let ns = std::fs::File::open(&path).map_err(HostError::io(format!("open {}", path.display())))?;
    let addr = SocketAddr::from((AZURE_HOST_IP, 53));
    // Sockets belong to the namespace they were made in: make them on a
    // thread of their own that enters it, then serve them from anywhere.
    let (udp, tcp) = tokio::task::spawn_blocking(move || -> Result<_, HostError> {
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(HostError::sys("enter the Azure host's namespace"))?;
        let bind = |e| HostError::io(format!("bind {addr} for Azure-provided DNS"))(e);
        let udp = std::net::UdpSocket::bind(addr).map_err(bind)?;
        let tcp = std::net::TcpListener::bind(addr).map_err(bind)?;
        udp.set_nonblocking(true).map_err(bind)?;
        tcp.set_nonblocking(true).map_err(bind)?;
        Ok((udp, tcp))
    })
    .await
    .map_err(|e| HostError::Io {
        what: "start Azure-provided DNS".into(),
        source: std::io::Error::other(e),
    })??;
    let register = |e| HostError::io("register the DNS sockets")(e);
    let udp = UdpSocket::from_std(udp).map_err(register)?;
    let tcp = TcpListener::from_std(tcp).map_err(register)?;
    let server = Arc::new(Server {
        fabric,
        limiter: Mutex::new((limiter, Duration::ZERO)),
        epoch: Instant::now(),
    });
    tokio::spawn(serve_udp(server.clone(), udp));
    tokio::spawn(serve_tcp(server, tcp));
    Ok(())
}

async fn serve_udp(server: Arc<Server>, sock: UdpSocket) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((len, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let Some(asker) = server.asker(from.ip()) else { continue };
        if !server.allowed(&asker) {
            continue;
        }
        let view = server.fabric.dns.load();
        if let Some(reply) = dns::answer(&view, &asker, &buf[..len]) {
            let _ = sock.send_to(&reply, from).await;
        }
    }
}

async fn serve_tcp(server: Arc<Server>, listener: TcpListener) {
    loop {
        let Ok((conn, from)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_conn(server.clone(), conn, from));
    }
}

/// One TCP connection: length-prefixed queries in, answers out, in order
/// (RFC 1035 §4.2.2), until the client closes or goes quiet.
async fn serve_conn(server: Arc<Server>, mut conn: TcpStream, from: SocketAddr) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(query) = dns::take_tcp_message(&mut buf) {
            let Some(asker) = server.asker(from.ip()) else { return };
            if !server.allowed(&asker) {
                continue;
            }
            let view = server.fabric.dns.load();
            let Some(frame) = dns::answer_tcp(&view, &asker, &query).and_then(|r| dns::tcp_frame(&r)) else {
                continue;
            };
            if conn.write_all(&frame).await.is_err() {
                return;
            }
        }
        match tokio::time::timeout(TCP_IDLE, conn.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
}
