//! Packet threads: thread `i` runs its own single-threaded tokio runtime
//! and reads queue `i` of every TUN (queue 0 of a one-queue TUN), with its
//! own busy-poll spinner (`spin`).
//!
//! They replaced packet tasks on the daemon's work-stealing runtime. There,
//! with 2 workers, one UDP flow (one queue, one task) was run by both
//! workers in turn, each hand-over a futex wake-up: 64-byte UDP at 200 k
//! pps for 4 s cost the daemon 179 ticks of CPU and 91 000 voluntary
//! context switches against 123 ticks and 11 000 with 1 worker, and the
//! CPU it took starved the receiving iperf3 (0.9–2.8 % lost at its
//! socket, against 0–0.3 % with 1 worker; nothing lost in the fabric).
//! The one spinner also spun on whichever worker it ran on, not on the one
//! the TUN's readiness woke. Here a queue's task never leaves its thread,
//! and a thread spins only while its own queues carry packets.
//!
//! A TUN's queue `i` is registered with thread `i`'s reactor (`enter`),
//! where its reader runs (`spawn`); writes to it from another thread (a
//! one-queue TUN written by every thread, the delay line) need no reactor
//! unless the write would block, and then wake across threads.

use std::future::Future;
use std::io;
use std::sync::{Arc, OnceLock};

use tokio::runtime::{EnterGuard, Handle};
use tokio::task::JoinHandle;

use super::spin::Spin;

struct PacketThread {
    handle: Handle,
    spin: Arc<Spin>,
}

static THREADS: OnceLock<Vec<PacketThread>> = OnceLock::new();

/// How many packet threads the daemon runs, and so how many queues each
/// VM's TUN has. Half the cores by default: the rest are for the VMs' own
/// processes (iperf3, sshd…). On 2 vCPUs that is 1, and 2 were not better
/// on every line of `scripts/bench net` (2 rounds, 1 and 2 threads back to
/// back, ratios against the kernel path of the same run): TCP 1 stream
/// 0.89 / 0.75 with 1 thread against 0.49 / 0.56 with 2, 64-byte UDP
/// loss-free 200 k / 100 k against 150 k / 100 k; only 4 streams gained
/// in one round. A single flow uses one queue whatever the count, and a
/// second thread competes with the VMs' endpoints for the same 2 cores.
/// `VNETLAB_PACKET_THREADS` overrides it (benches).
pub(super) fn count() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("VNETLAB_PACKET_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| (1..=64).contains(&n))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)))
    })
}

/// Starts the packet threads; they run for the daemon's life. Called once,
/// before any TUN is opened.
pub(super) fn start() -> io::Result<()> {
    if THREADS.get().is_some() {
        return Ok(());
    }
    let threads = (0..count()).map(start_one).collect::<io::Result<Vec<_>>>()?;
    // Only the daemon's start calls this, once.
    let _ = THREADS.set(threads);
    Ok(())
}

fn start_one(i: usize) -> io::Result<PacketThread> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let handle = runtime.handle().clone();
    let spin = Arc::new(Spin::default());
    let spinner = spin.clone();
    std::thread::Builder::new()
        .name(format!("packets-{i}"))
        .spawn(move || {
            if realtime() {
                // Not fatal: the fabric still forwards, only with the
                // wake-ups of a normal thread.
                match crate::host::sched::realtime() {
                    Ok(()) => spinner.priority.started(),
                    Err(e) => eprintln!("packets-{i}: {e}; packets wait behind other threads"),
                }
            }
            runtime.block_on(spinner.run())
        })?;
    Ok(PacketThread { handle, spin })
}

/// Whether packet threads run real-time (`host::sched`);
/// `VNETLAB_PACKET_PRIORITY=normal` keeps them at normal priority
/// (benches).
fn realtime() -> bool {
    std::env::var("VNETLAB_PACKET_PRIORITY").map_or(true, |v| v != "normal")
}

fn thread(queue: usize) -> &'static PacketThread {
    let threads = THREADS.get().expect("packet threads start before any TUN is opened");
    &threads[queue % threads.len()]
}

/// Enter thread `queue`'s runtime: a TUN queue registered while the guard
/// lives (`AsyncDevice::new`) is polled by that thread's reactor.
pub(super) fn enter(queue: usize) -> EnterGuard<'static> {
    thread(queue).handle.enter()
}

/// Runs the reader of a TUN's queue `queue` on its thread.
pub(super) fn spawn<F>(queue: usize, task: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    thread(queue).handle.spawn(task)
}

/// The spinner of the thread that reads queue `queue`.
pub(super) fn spin(queue: usize) -> &'static Spin {
    &thread(queue).spin
}
