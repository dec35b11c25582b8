//! Azure's per-VM throttle on 168.63.129.16, as a pure token bucket the
//! live server consults before answering (time is passed in, so tests need
//! no clock).
//!
//! Azure: "1000 DNS queries/s" per VM to the Azure DNS resolver, at most
//! 200 queued, the excess dropped (Azure DNS limits include, azure-semantics-2
//! §1.1). The queue is modelled as a burst allowance of 200 queries above
//! the steady rate: UNCONFIRMED how Azure drains its queue.

use std::collections::HashMap;
use std::time::Duration;

pub const QUERIES_PER_SECOND: u32 = 1000;
pub const QUEUE_DEPTH: u32 = 200;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Duration,
}

/// One bucket per asking VM.
#[derive(Clone, Debug, Default)]
pub struct QueryLimiter {
    buckets: HashMap<String, Bucket>,
}

impl QueryLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the VM `vm` may have one more query answered at time `now`
    /// (any monotonic clock). `false` means drop the query, as Azure does.
    pub fn allow(&mut self, vm: &str, now: Duration) -> bool {
        let cap = f64::from(QUERIES_PER_SECOND + QUEUE_DEPTH);
        let b = self
            .buckets
            .entry(vm.to_string())
            .or_insert(Bucket { tokens: cap, last: now });
        let elapsed = now.saturating_sub(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * f64::from(QUERIES_PER_SECOND)).min(cap);
        b.last = b.last.max(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets VMs that have been quiet long enough to have a full bucket.
    pub fn prune(&mut self, now: Duration) {
        self.buckets
            .retain(|_, b| now.saturating_sub(b.last) < Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_a_second_per_vm_plus_the_queue() {
        let mut l = QueryLimiter::new();
        let t0 = Duration::from_secs(100);
        let burst = (0..2000).filter(|_| l.allow("vm1", t0)).count();
        assert_eq!(burst, (QUERIES_PER_SECOND + QUEUE_DEPTH) as usize);
        // Another VM has its own budget.
        assert!(l.allow("vm2", t0));
        // Half a second later, 500 more.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!((0..2000).filter(|_| l.allow("vm1", t1)).count(), 500);
        // A steady 1000/s over ten seconds all pass.
        let mut passed = 0;
        for i in 0..10_000u64 {
            let t = t1 + Duration::from_secs(2) + Duration::from_micros(i * 1000);
            passed += usize::from(l.allow("vm3", t));
        }
        assert_eq!(passed, 10_000);
        l.prune(t1 + Duration::from_secs(60));
        assert!(l.buckets.is_empty());
    }
}
