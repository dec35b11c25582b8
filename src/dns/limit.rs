//! Azure's per-VM throttle on 168.63.129.16, as a pure token bucket the
//! live server consults before answering (time is passed in, so tests need
//! no clock).
//!
//! Azure: "1000 DNS queries/s" per VM to the Azure DNS resolver, at most
//! 200 queued, the excess dropped (Azure DNS limits include, azure-semantics-2
//! §1.1). The queue is modelled as a burst allowance of 200 queries above
//! the steady rate: UNCONFIRMED how Azure drains its queue.
//!
//! Not Azure: `VNETLAB_DNS_QPS` (read by the daemon at start, see
//! [`QueryLimiter::from_knob`]) sets another rate, or `off`, so that
//! `scripts/bench dns` can measure the resolver rather than the limit.

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
#[derive(Clone, Debug)]
pub struct QueryLimiter {
    buckets: HashMap<String, Bucket>,
    /// Queries a second per VM; `None`: no limit (the bench knob's `off`).
    rate: Option<u32>,
}

impl Default for QueryLimiter {
    fn default() -> Self {
        Self::with_rate(Some(QUERIES_PER_SECOND))
    }
}

impl QueryLimiter {
    /// Azure's limit: 1000 queries a second per VM, 200 queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// Another steady rate (the queue stays 200 deep), or none at all.
    pub fn with_rate(rate: Option<u32>) -> Self {
        Self {
            buckets: HashMap::new(),
            rate,
        }
    }

    /// The limiter a value of `VNETLAB_DNS_QPS` asks for: unset, Azure's;
    /// a positive number of queries a second per VM; `off` for none.
    /// Anything else is refused with a sentence saying what to write.
    pub fn from_knob(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::new()),
            Some(v) if v.eq_ignore_ascii_case("off") => Ok(Self::with_rate(None)),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Self::with_rate(Some(n))),
                _ => Err(format!(
                    "VNETLAB_DNS_QPS={v:?} is not a rate: write a positive number of queries a second per VM, \
                     or off; unset, Azure's {QUERIES_PER_SECOND} applies"
                )),
            },
        }
    }

    /// The steady rate per VM, `None` without a limit.
    pub fn rate(&self) -> Option<u32> {
        self.rate
    }

    /// Whether the VM `vm` may have one more query answered at time `now`
    /// (any monotonic clock). `false` means drop the query, as Azure does.
    pub fn allow(&mut self, vm: &str, now: Duration) -> bool {
        let Some(rate) = self.rate else { return true };
        let cap = f64::from(rate.saturating_add(QUEUE_DEPTH));
        let b = self
            .buckets
            .entry(vm.to_string())
            .or_insert(Bucket { tokens: cap, last: now });
        let elapsed = now.saturating_sub(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * f64::from(rate)).min(cap);
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

    #[test]
    fn the_bench_knob_raises_or_lifts_the_limit_and_refuses_nonsense() {
        let t0 = Duration::from_secs(100);
        let mut azure = QueryLimiter::from_knob(None).unwrap();
        assert_eq!(azure.rate(), Some(QUERIES_PER_SECOND));
        assert_eq!((0..5000).filter(|_| azure.allow("vm", t0)).count(), 1200);
        let mut raised = QueryLimiter::from_knob(Some("4000")).unwrap();
        assert_eq!((0..9000).filter(|_| raised.allow("vm", t0)).count(), 4200);
        let mut off = QueryLimiter::from_knob(Some(" OFF ")).unwrap();
        assert!((0..100_000).all(|_| off.allow("vm", t0)));
        for bad in ["0", "-5", "fast", "1e9"] {
            let e = QueryLimiter::from_knob(Some(bad)).unwrap_err();
            assert!(e.contains("VNETLAB_DNS_QPS") && e.contains("or off"), "{e}");
        }
    }
}
