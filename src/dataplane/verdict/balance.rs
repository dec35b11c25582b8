//! Internal load balancers: the rule for (frontend, protocol, port), a
//! healthy backend by hash (health is the prober's, an input), the flow
//! pinned to it, and the destination translated.

use super::{Decision, DropReason, Observer, Pin, Step, Target};
use crate::dataplane::index::{FrontendIdx, LbIdx, LinkIdx, NicIdx, VnetIdx};
use crate::dataplane::nat::{Rewrite, Side};
use crate::dataplane::packet::FlowKey;
use crate::model::{LbSku, LoadDistribution};

impl<O: Observer> Decision<'_, O> {
    /// A load balancer's frontend: the flow's rule picks a healthy backend
    /// (once; the flow stays pinned to it) and the destination becomes the
    /// backend's address and port.
    pub(super) fn balance(
        &mut self,
        l: LbIdx,
        frontend: FrontendIdx,
        over: Option<(VnetIdx, LinkIdx)>,
    ) -> Result<Target, DropReason> {
        let t = self.t;
        let lb = &t.lbs[l];
        if let Some((from, link)) = over
            && lb.sku == LbSku::Basic
            && t.vnets[from].location != t.vnets[lb.vnet].location
        {
            // Azure: Basic load balancer frontends are not reachable over
            // global VNet peering; the backends' own addresses are.
            return Err(DropReason::BasicLbOverGlobalPeering {
                lb: l,
                vnet: from,
                link,
            });
        }
        let k = self.key;
        let dport = k.has_ports().then_some(k.dport);
        let r = lb
            .rules
            .position(|r| r.matches(frontend, k.proto, dport))
            .ok_or(DropReason::NoLbRule { lb: l, frontend })?;
        let rule = &lb.rules[r];
        let pool = &lb.pools[rule.pool].1;
        let was = self.ct.pinned(&k, self.now);
        let health = self.health;
        let healthy = |m: &NicIdx| t.nics[*m].running && !health.is_down(lb.key, t.nics[*m].key);
        // Azure: an established flow stays on its backend while that is
        // in the pool (Standard keeps it even when the probe fails).
        let pinned = was
            .and_then(|p| t.nic_by_key(p.backend))
            .filter(|m| pool.contains(m) && (lb.sku == LbSku::Standard || healthy(m)));
        let m = match pinned {
            Some(m) => m,
            None => {
                let n = pool.iter().filter(|m| healthy(m)).count();
                if n == 0 {
                    return Err(DropReason::NoHealthyBackend { lb: l, rule: r });
                }
                let pick = (distribution_hash(&k, rule.distribution) % n as u64) as usize;
                pool.iter()
                    .copied()
                    .filter(|m| healthy(m))
                    .nth(pick)
                    .ok_or(DropReason::NoHealthyBackend { lb: l, rule: r })?
            }
        };
        self.obs.step(Step::Balance {
            lb: l,
            rule: r,
            nic: m,
            pinned: pinned.is_some(),
        });
        let ip = t.nics[m].ip;
        let port = if rule.backend_port == 0 {
            k.dport
        } else {
            rule.backend_port
        };
        if pinned.is_none() {
            self.pin = Some(Pin {
                key: k,
                to: (ip, if dport.is_some() { port } else { 0 }),
                backend: t.nics[m].key,
                back_to: None,
                timeout: rule.idle_timeout,
            });
        }
        self.key.dst = ip;
        if dport.is_some() {
            self.key.dport = port;
        }
        self.nat = Some(Rewrite {
            side: Side::Destination,
            ip,
            port: dport.map(|_| port),
        });
        Ok(Target::Nic {
            nic: m,
            appliance: false,
        })
    }
}

/// Which backend a new flow gets: a hash of its 5-tuple, or of fewer
/// fields for source-IP affinity.
#[inline]
fn distribution_hash(k: &FlowKey, d: LoadDistribution) -> u64 {
    let masked = match d {
        LoadDistribution::Default => *k,
        LoadDistribution::SourceIpProtocol => FlowKey {
            sport: 0,
            dport: 0,
            ..*k
        },
        LoadDistribution::SourceIp => FlowKey {
            sport: 0,
            dport: 0,
            proto: 0,
            ..*k
        },
    };
    let a = (u64::from(u32::from(masked.src)) << 32) | u64::from(u32::from(masked.dst));
    let b = (u64::from(masked.sport) << 24) | (u64::from(masked.dport) << 8) | u64::from(masked.proto);
    // splitmix64's finalizer: every input bit reaches the low bits that
    // the modulo keeps.
    let mut x = a ^ b.rotate_left(40);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
