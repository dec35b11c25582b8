//! Scheduling of the daemon's packet threads: real-time (`SCHED_FIFO`,
//! the lowest priority), so that a packet wakes its thread at once instead
//! of waiting behind whatever else runs on the host.
//!
//! The kernel forwards in softirq, ahead of every process; a packet
//! thread at normal priority waits for the scheduler. On this project's
//! 2-vCPU box with 3 other helpers' builds on it (load average 9–14),
//! tcpdump on both TUNs of a ping through a peering showed the request's
//! crossing of the daemon at p50 39 µs but p99 11 ms (it waited behind
//! build slices) and the reply's at p99 30 µs (the thread was awake). At
//! `SCHED_FIFO` the request's crossing was p99 157 µs. 400 pings 5 ms
//! apart, interleaved in one sitting: avg 253–2 966 µs, p99 4–80 ms at
//! normal priority, 101–132 µs, p99 200–305 µs here. `scripts/bench net`,
//! 2 rounds each interleaved (kernel path TCP 5.7–7.6 / 4.0 Gbit/s, 4
//! streams 8.0–7.8 / 6.9): normal priority TCP 1 stream 4.07, 5.82, 2.52,
//! 2.16 Gbit/s, 4 streams 4.87, 5.12, 2.41, 2.21; real-time 4.80, 2.89
//! (and 5.34, 4.85, 5.14, 6.22 without the spinner's run-queue test), 4
//! streams 5.04, 5.78 (7.87, 6.90, 4.65, 5.54).
//!
//! The thread only uses what its packets need: it sleeps in `epoll_wait`
//! between them, and its spinner (`daemon::spin`) polls only while no
//! other thread waits for a core. The kernel's real-time throttling
//! (`kernel.sched_rt_runtime_us`, 95 % of each second by default) bounds
//! it even if a bug made it spin.

use thread_priority::{
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_thread_priority_and_policy,
    thread_native_id,
};

use super::HostError;

/// Makes the calling thread `SCHED_FIFO` at the lowest real-time
/// priority. Fails without `CAP_SYS_NICE` (or inside a container that
/// withholds real-time time); the thread then stays as it was.
pub fn realtime() -> Result<(), HostError> {
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .map_err(|e| HostError::Io {
        what: "make the packet thread real-time (SCHED_FIFO)".into(),
        source: match e {
            thread_priority::Error::OS(errno) => std::io::Error::from_raw_os_error(errno),
            other => std::io::Error::other(other.to_string()),
        },
    })
}
