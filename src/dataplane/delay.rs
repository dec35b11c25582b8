//! How long the fabric holds a packet between two regions, compiled once
//! per snapshot so that the packet path does two index lookups.
//!
//! Azure: a packet between regions crosses Microsoft's backbone and takes
//! about half the pair's published round trip each way
//! (shared/azure-semantics-2.md §4, `model::latency`); within one region
//! peered VNets have "the same latency as if they were within the same
//! virtual network" (Learn, virtual-network-manage-peering), so nothing
//! is added there.
//!
//! Every end of a path has a region: a NIC its VNet's, an on-premises site
//! its local network gateway's, a service instance its cache's, the
//! Internet side the lab's `internetRegion` (none by default: then the
//! Internet is as near as every public IP). The Azure host (health probes)
//! has none: it is in every region.

use std::time::Duration;

use rustc_hash::FxHashMap;

use super::index::{ConnIdx, IdxVec, NicIdx, RegionIdx, ServiceIdx};
use crate::model::latency::LatencyConfig;
use crate::model::regions;

#[derive(Clone, Debug, Default)]
pub struct Delays {
    /// The regions of this lab, normalized (`westeurope`).
    pub regions: IdxVec<RegionIdx, String>,
    pub(super) nic: IdxVec<NicIdx, Option<RegionIdx>>,
    pub(super) connection: IdxVec<ConnIdx, Option<RegionIdx>>,
    pub(super) service: IdxVec<ServiceIdx, Option<RegionIdx>>,
    pub(super) internet: Option<RegionIdx>,
    /// `one_way_ns[from * n + to]`: half the round trip of that direction,
    /// scaled; 0 within a region and when latency is off.
    one_way_ns: Vec<u64>,
    /// The spread each delayed packet gets, ± this many ns.
    pub jitter_ns: u64,
}

/// Collects the regions of a snapshot as it is compiled.
#[derive(Debug, Default)]
pub(super) struct RegionNames {
    names: IdxVec<RegionIdx, String>,
    index: FxHashMap<String, RegionIdx>,
}

impl RegionNames {
    pub(super) fn get(&mut self, location: &str) -> Option<RegionIdx> {
        let r = regions::normalize(location);
        if r.is_empty() {
            return None;
        }
        if let Some(&i) = self.index.get(&r) {
            return Some(i);
        }
        let i = self.names.push(r.clone());
        self.index.insert(r, i);
        Some(i)
    }
}

impl Delays {
    /// The matrix of one-way delays between the regions named so far.
    pub(super) fn compile(
        mut names: RegionNames,
        nic: IdxVec<NicIdx, Option<RegionIdx>>,
        connection: IdxVec<ConnIdx, Option<RegionIdx>>,
        service: IdxVec<ServiceIdx, Option<RegionIdx>>,
        cfg: &LatencyConfig,
    ) -> Delays {
        let internet = cfg.internet_region.as_deref().and_then(|r| names.get(r));
        let regions = names.names;
        let n = regions.len();
        let mut one_way_ns = vec![0; n * n];
        for (i, a) in regions.iter().enumerate() {
            for (j, b) in regions.iter().enumerate() {
                // Whole microseconds: the delay stage's timer is no finer.
                let d = cfg.one_way(a, b);
                one_way_ns[i * n + j] = u64::try_from(d.as_micros() * 1_000).unwrap_or(u64::MAX);
            }
        }
        let jitter_ns = if cfg.enabled {
            Duration::from_secs_f64(cfg.jitter_ms.max(0.0) / 1000.0)
                .as_nanos()
                .try_into()
                .unwrap_or(u64::MAX)
        } else {
            0
        };
        Delays {
            regions,
            nic,
            connection,
            service,
            internet,
            one_way_ns,
            jitter_ns,
        }
    }

    /// How long a packet from `from` to `to` is held; zero when either
    /// end has no region, within a region, and when latency is off.
    #[inline]
    pub fn between(&self, from: Option<RegionIdx>, to: Option<RegionIdx>) -> Duration {
        let (Some(a), Some(b)) = (from, to) else {
            return Duration::ZERO;
        };
        let n = self.regions.len();
        Duration::from_nanos(self.one_way_ns.get(a.index() * n + b.index()).copied().unwrap_or(0))
    }

    #[inline]
    pub fn nic(&self, n: NicIdx) -> Option<RegionIdx> {
        self.nic.get(n).copied().flatten()
    }

    #[inline]
    pub fn connection(&self, c: ConnIdx) -> Option<RegionIdx> {
        self.connection.get(c).copied().flatten()
    }

    #[inline]
    pub fn service(&self, s: ServiceIdx) -> Option<RegionIdx> {
        self.service.get(s).copied().flatten()
    }

    #[inline]
    pub fn internet(&self) -> Option<RegionIdx> {
        self.internet
    }

    /// True when no path of this snapshot is delayed.
    pub fn none(&self) -> bool {
        self.one_way_ns.iter().all(|&d| d == 0)
    }

    pub fn region_name(&self, r: RegionIdx) -> &str {
        self.regions.get(r).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_regions(cfg: &LatencyConfig) -> Delays {
        let mut names = RegionNames::default();
        let neu = names.get("North Europe");
        let weu = names.get("westeurope");
        let nic: IdxVec<NicIdx, _> = [neu, weu, neu].into_iter().collect();
        Delays::compile(names, nic, IdxVec::new(), IdxVec::new(), cfg)
    }

    #[test]
    fn cross_region_paths_are_held_half_the_round_trip() {
        let d = two_regions(&LatencyConfig::default());
        let (a, b, c) = (d.nic(NicIdx(0)), d.nic(NicIdx(1)), d.nic(NicIdx(2)));
        assert_eq!(d.between(a, b), Duration::from_micros(8_500));
        assert_eq!(d.between(b, a), Duration::from_micros(8_500));
        assert_eq!(d.between(a, c), Duration::ZERO, "same region");
        assert_eq!(d.between(a, None), Duration::ZERO, "the Azure host is everywhere");
        assert_eq!(d.region_name(RegionIdx(0)), "northeurope");
        assert!(!d.none());
    }

    #[test]
    fn off_and_scale_change_the_matrix() {
        let off = two_regions(&LatencyConfig::OFF);
        assert!(off.none());
        assert_eq!(off.between(off.nic(NicIdx(0)), off.nic(NicIdx(1))), Duration::ZERO);
        let half = two_regions(&LatencyConfig {
            scale: 0.5,
            jitter_ms: 2.0,
            ..LatencyConfig::default()
        });
        assert_eq!(
            half.between(half.nic(NicIdx(0)), half.nic(NicIdx(1))),
            Duration::from_micros(4_250)
        );
        assert_eq!(half.jitter_ns, 2_000_000);
    }
}
