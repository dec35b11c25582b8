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
//! A thread that reads a flood of small packets steps down to a normal
//! thread while it lasts (`daemon::spin`, `normal`), so that the VMs at
//! both ends of the flood get their share of the cores.
//!
//! The thread only uses what its packets need: it sleeps in `epoll_wait`
//! between them, and its spinner (`daemon::spin`) polls only while no
//! other thread waits for a core. The kernel's real-time throttling
//! (`kernel.sched_rt_runtime_us`, 95 % of each second by default) bounds
//! it even if a bug made it spin.

use thread_priority::{
    NormalThreadSchedulePolicy, RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue,
    ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
};

use super::HostError;

/// Makes the calling thread `SCHED_FIFO` at the lowest real-time
/// priority. Fails without `CAP_SYS_NICE` (or inside a container that
/// withholds real-time time); the thread then stays as it was.
pub fn realtime() -> Result<(), HostError> {
    set(
        ThreadPriority::Min,
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        "make the packet thread real-time (SCHED_FIFO)",
    )
}

/// Makes the calling thread a normal (`SCHED_OTHER`, nice 0) thread again.
pub fn normal() -> Result<(), HostError> {
    set(
        nice_0(),
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
        "make the packet thread a normal thread (SCHED_OTHER)",
    )
}

/// The crate maps 0..=99 onto nice 19..=-20 for normal threads; 48 is
/// nice 0 (tested below). Its `Min` would be nice 19.
fn nice_0() -> ThreadPriority {
    ThreadPriorityValue::try_from(48u8).map_or(ThreadPriority::Min, ThreadPriority::Crossplatform)
}

fn set(priority: ThreadPriority, policy: ThreadSchedulePolicy, what: &str) -> Result<(), HostError> {
    set_thread_priority_and_policy(thread_native_id(), priority, policy).map_err(|e| HostError::Io {
        what: what.into(),
        source: match e {
            thread_priority::Error::OS(errno) => std::io::Error::from_raw_os_error(errno),
            other => std::io::Error::other(other.to_string()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demoted_packet_thread_gets_nice_0() {
        let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
        assert_eq!(nice_0().to_posix(policy).ok(), Some(0));
    }
}
