//! Round-trip time between Azure regions, for the data plane's delay
//! stage, `vnetlab status` and `graph`.
//!
//! Azure: Microsoft publishes the median (P50) round trip between pairs of
//! its regions ("Azure network round-trip latency statistics",
//! learn.microsoft.com/azure/networking/azure-network-latency; dataset of
//! 30 July 2026, 18 regions, row = source, column = destination). The
//! table is `data/azure-rtt-p50-2026-07.csv`, read as published.
//!
//! Every other pair is an estimate, and says so: a region the table does
//! not list is mapped to the nearest listed region (by great-circle
//! distance between the regions' metros), and the fibre detour to that
//! region is added at each end — or, when that is longer, the fibre
//! estimate of the distance between the two regions themselves (which is
//! also what two regions get whose nearest listed region is the same:
//! koreacentral and koreasouth, say).
//! Within one region nothing is added (Azure: availability zones are
//! "connected by a high-performance network with a round-trip latency of
//! less than 2 ms"; peered VNets in one region have "the same latency as
//! if they were within the same virtual network").

use std::sync::OnceLock;

use super::regions::normalize;

const TABLE: &str = include_str!("../../data/azure-rtt-p50-2026-07.csv");

/// Light in fibre covers about 200 km per millisecond; a round trip goes
/// twice.
const FIBRE_KM_PER_MS: f64 = 200.0;
/// Measured paths are longer than the great circle: across the published
/// pairs over 500 km apart, the median of published RTT / great-circle
/// fibre RTT is 1.63.
const PATH_STRETCH: f64 = 1.6;
/// What a short hop costs beyond its distance (switching, the regions'
/// own networks); published pairs a few hundred km apart sit at 7–17 ms.
const SHORT_HOP_MS: f64 = 4.0;

/// Where a round-trip figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RttSource {
    /// Both regions are the same: no added delay.
    SameRegion,
    /// Microsoft's published median for this pair.
    Published,
    /// Derived from the nearest published regions (or from distance).
    Estimated,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rtt {
    pub ms: f64,
    pub source: RttSource,
}

impl Rtt {
    pub fn is_estimate(&self) -> bool {
        self.source == RttSource::Estimated
    }
}

/// Approximate coordinates (latitude, longitude) of each region's metro,
/// as `az account list-locations` places them (rounded).
const METROS: &[(&str, f64, f64)] = &[
    ("eastus", 37.37, -79.82),
    ("eastus2", 36.67, -78.39),
    ("westus", 37.78, -122.42),
    ("westus2", 47.23, -119.85),
    ("westus3", 33.45, -112.07),
    ("centralus", 41.59, -93.62),
    ("northcentralus", 41.88, -87.63),
    ("southcentralus", 29.42, -98.50),
    ("westcentralus", 40.89, -110.23),
    ("canadacentral", 43.65, -79.38),
    ("canadaeast", 46.82, -71.22),
    ("brazilsouth", -23.55, -46.63),
    ("brazilsoutheast", -22.90, -43.21),
    ("mexicocentral", 20.59, -100.39),
    ("chilecentral", -33.45, -70.67),
    ("northeurope", 53.35, -6.26),
    ("westeurope", 52.37, 4.90),
    ("uksouth", 50.94, -0.80),
    ("ukwest", 53.43, -3.08),
    ("francecentral", 46.38, 2.37),
    ("francesouth", 43.83, 2.20),
    ("germanywestcentral", 50.11, 8.68),
    ("germanynorth", 53.07, 8.81),
    ("switzerlandnorth", 47.45, 8.56),
    ("switzerlandwest", 46.20, 6.14),
    ("norwayeast", 59.91, 10.75),
    ("norwaywest", 58.97, 5.73),
    ("swedencentral", 60.67, 17.14),
    ("swedensouth", 55.61, 13.00),
    ("polandcentral", 52.23, 21.02),
    ("italynorth", 45.47, 9.18),
    ("spaincentral", 40.43, -3.42),
    ("austriaeast", 48.21, 16.37),
    ("belgiumcentral", 50.85, 4.35),
    ("eastasia", 22.27, 114.19),
    ("southeastasia", 1.28, 103.83),
    ("japaneast", 35.68, 139.77),
    ("japanwest", 34.69, 135.50),
    ("koreacentral", 37.57, 126.98),
    ("koreasouth", 35.18, 129.08),
    ("australiaeast", -33.86, 151.21),
    ("australiasoutheast", -37.81, 144.96),
    ("australiacentral", -35.31, 149.12),
    ("australiacentral2", -35.31, 149.12),
    ("centralindia", 18.58, 73.92),
    ("southindia", 12.98, 80.16),
    ("westindia", 19.09, 72.87),
    ("jioindiawest", 22.47, 70.06),
    ("jioindiacentral", 21.15, 79.09),
    ("uaenorth", 25.27, 55.32),
    ("uaecentral", 24.47, 54.37),
    ("southafricanorth", -25.73, 28.22),
    ("southafricawest", -34.08, 18.84),
    ("qatarcentral", 25.55, 51.44),
    ("israelcentral", 32.08, 34.78),
    ("newzealandnorth", -36.85, 174.76),
    ("indonesiacentral", -6.21, 106.85),
    ("malaysiawest", 3.139, 101.69),
    ("usgovvirginia", 37.37, -79.82),
    ("usgovarizona", 33.45, -112.07),
    ("usgovtexas", 29.42, -98.50),
    ("usdodcentral", 41.59, -93.62),
    ("usdodeast", 36.67, -78.39),
    ("chinaeast", 31.23, 121.47),
    ("chinaeast2", 31.23, 121.47),
    ("chinaeast3", 31.23, 121.47),
    ("chinanorth", 39.90, 116.40),
    ("chinanorth2", 39.90, 116.40),
    ("chinanorth3", 38.04, 114.51),
];

struct Published {
    regions: Vec<String>,
    /// `ms[from][to]`, None on the diagonal.
    ms: Vec<Vec<Option<f64>>>,
}

fn published() -> &'static Published {
    static P: OnceLock<Published> = OnceLock::new();
    P.get_or_init(|| parse(TABLE))
}

/// Reads the CSV as published: `#` lines are provenance; the header names
/// the destinations; an empty cell is the same region. The file ships in
/// the crate and its test proves it parses, so a bad cell is a build bug.
fn parse(text: &str) -> Published {
    let mut lines = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .skip(1)
        .map(str::to_string)
        .collect();
    let mut ms = vec![vec![None; header.len()]; header.len()];
    for line in lines {
        let mut cells = line.split(',');
        let Some(from) = cells.next().and_then(|r| header.iter().position(|h| h == r)) else {
            continue;
        };
        for (to, cell) in cells.enumerate().take(header.len()) {
            ms[from][to] = cell.trim().parse().ok();
        }
    }
    Published { regions: header, ms }
}

fn metro(region: &str) -> Option<(f64, f64)> {
    METROS
        .iter()
        .find(|(r, _, _)| *r == region)
        .map(|(_, lat, lon)| (*lat, *lon))
}

fn great_circle_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// The round trip a path of this length adds, stretched as real paths are.
fn fibre_ms(km: f64) -> f64 {
    2.0 * km / FIBRE_KM_PER_MS * PATH_STRETCH
}

/// The published region nearest to `region`, and the detour to it.
fn nearest_published(region: &str) -> Option<(usize, f64)> {
    let p = published();
    if let Some(i) = p.regions.iter().position(|r| r == region) {
        return Some((i, 0.0));
    }
    let here = metro(region)?;
    p.regions
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, great_circle_km(here, metro(r)?))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, km)| (i, fibre_ms(km)))
}

/// The median round trip from a VM in `from` to one in `to`; None when
/// either region is unknown.
pub fn rtt(from: &str, to: &str) -> Option<Rtt> {
    let (from, to) = (normalize(from), normalize(to));
    let (a, b) = (metro(&from)?, metro(&to)?);
    if from == to {
        return Some(Rtt {
            ms: 0.0,
            source: RttSource::SameRegion,
        });
    }
    let (pf, detour_from) = nearest_published(&from)?;
    let (pt, detour_to) = nearest_published(&to)?;
    if pf == pt {
        // Both stand in for one published region: only their distance.
        return Some(Rtt {
            ms: SHORT_HOP_MS + fibre_ms(great_circle_km(a, b)),
            source: RttSource::Estimated,
        });
    }
    let p = published();
    let base = p.ms[pf][pt].or(p.ms[pt][pf])?;
    if detour_from == 0.0 && detour_to == 0.0 {
        return Some(Rtt {
            ms: base,
            source: RttSource::Published,
        });
    }
    // Through the stand-ins, unless the regions are far closer to each
    // other than to them (the two South African regions stand in for
    // different published ones).
    let through = base + detour_from + detour_to;
    let direct = SHORT_HOP_MS + fibre_ms(great_circle_km(a, b));
    Some(Rtt {
        ms: through.min(direct),
        source: RttSource::Estimated,
    })
}

/// How the lab's fabric delays packets between regions: the topology's
/// `latency:` and `vnetlab up --latency`.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyConfig {
    /// Off: every path is as fast as the host (the lab before issue 20).
    pub enabled: bool,
    /// Each pair's round trip is multiplied by this (2.0 doubles it).
    pub scale: f64,
    /// Each delayed packet is held up to this much longer or shorter (a
    /// uniform spread, so the median stays the table's), in ms.
    pub jitter_ms: f64,
    /// Where the Internet side (the Cloud Shell) sits; without it, the
    /// Internet is as near as every public IP.
    pub internet_region: Option<String>,
}

impl Default for LatencyConfig {
    /// Azure's medians, as published: a learner sees global peering cost.
    fn default() -> Self {
        LatencyConfig {
            enabled: true,
            scale: 1.0,
            jitter_ms: 0.0,
            internet_region: None,
        }
    }
}

/// The largest scale accepted: beyond it a far pair takes seconds.
pub const MAX_SCALE: f64 = 10.0;
/// The largest jitter accepted, in ms.
pub const MAX_JITTER_MS: f64 = 100.0;

impl LatencyConfig {
    pub const OFF: LatencyConfig = LatencyConfig {
        enabled: false,
        scale: 1.0,
        jitter_ms: 0.0,
        internet_region: None,
    };

    /// Checks the figures a user gave; the sentence says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.scale.is_finite() && self.scale > 0.0 && self.scale <= MAX_SCALE) {
            return Err(format!(
                "latency scale {} is out of range: give a factor above 0 and at most {MAX_SCALE}",
                self.scale
            ));
        }
        if !(self.jitter_ms.is_finite() && (0.0..=MAX_JITTER_MS).contains(&self.jitter_ms)) {
            return Err(format!(
                "latency jitter {} ms is out of range: give 0 to {MAX_JITTER_MS} ms",
                self.jitter_ms
            ));
        }
        if let Some(r) = &self.internet_region
            && metro(&normalize(r)).is_none()
        {
            return Err(format!(
                "latency internetRegion '{r}' is not a region vnetlab knows: give an Azure region name such as westeurope"
            ));
        }
        Ok(())
    }

    /// The round trip this lab gives a packet from `from` to `to` and
    /// back, in ms: the table's figure, scaled; 0 when off or unknown.
    pub fn rtt_ms(&self, from: &str, to: &str) -> f64 {
        if !self.enabled {
            return 0.0;
        }
        rtt(from, to).map_or(0.0, |r| r.ms * self.scale)
    }

    /// The one-way delay from `from` to `to`: half the round trip of that
    /// direction (Azure publishes each direction; a ping that goes one way
    /// and comes back the other sees the mean of the two).
    pub fn one_way(&self, from: &str, to: &str) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.rtt_ms(from, to) / 2.0 / 1000.0)
    }

    /// How `status` words it: "azure", "azure x2", "azure ±1 ms", "off".
    pub fn describe(&self) -> String {
        if !self.enabled {
            return "off".into();
        }
        let mut s = String::from("azure");
        if self.scale != 1.0 {
            s.push_str(&format!(" x{}", self.scale));
        }
        if self.jitter_ms > 0.0 {
            s.push_str(&format!(" ±{} ms jitter", self.jitter_ms));
        }
        s
    }
}

/// The regions Microsoft's table lists.
pub fn published_regions() -> impl Iterator<Item = &'static str> {
    published().regions.iter().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_whole() {
        let p = published();
        assert_eq!(p.regions.len(), 18);
        for (i, row) in p.ms.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                assert_eq!(cell.is_none(), i == j, "{} -> {}", p.regions[i], p.regions[j]);
            }
        }
    }

    #[test]
    fn published_pairs_read_as_published_row_to_column() {
        let r = rtt("northeurope", "westeurope").expect("listed");
        assert_eq!((r.ms, r.source), (17.0, RttSource::Published));
        assert_eq!(rtt("northeurope", "eastus").map(|r| r.ms), Some(73.0));
        assert_eq!(rtt("eastus", "northeurope").map(|r| r.ms), Some(71.0));
        // Display names work as az accepts them.
        assert_eq!(rtt("North Europe", "West Europe").map(|r| r.ms), Some(17.0));
    }

    #[test]
    fn same_region_adds_nothing() {
        let r = rtt("westeurope", "westeurope").expect("known");
        assert_eq!((r.ms, r.source), (0.0, RttSource::SameRegion));
    }

    #[test]
    fn every_known_region_pair_has_a_figure() {
        for (a, _, _) in METROS {
            for (b, _, _) in METROS {
                let r = rtt(a, b).unwrap_or_else(|| panic!("{a} -> {b}"));
                assert!(r.ms.is_finite() && r.ms >= 0.0 && r.ms < 450.0, "{a} -> {b}: {r:?}");
                assert_eq!(r.ms == 0.0, a == b, "{a} -> {b}: {r:?}");
            }
        }
        for r in super::super::regions::all() {
            assert!(metro(r).is_some(), "{r} has no metro");
        }
        assert!(rtt("northeurope", "atlantis").is_none());
    }

    #[test]
    fn estimates_say_so_and_stay_near_their_neighbours() {
        // Japan West is not listed; Japan East is.
        let r = rtt("japanwest", "westus").expect("known");
        assert!(r.is_estimate());
        let east = rtt("japaneast", "westus").expect("listed").ms;
        assert!(r.ms > east && r.ms < east + 15.0, "{r:?} vs {east}");
        // Two unlisted neighbours: their distance alone.
        let k = rtt("koreacentral", "koreasouth").expect("known");
        assert!(k.is_estimate() && (4.0..15.0).contains(&k.ms), "{k:?}");
        // Neighbours that stand in for different published regions.
        let za = rtt("southafricanorth", "southafricawest").expect("known");
        assert!(za.is_estimate() && za.ms < 40.0, "{za:?}");
        // Availability-zone twins (one metro) still differ from same-region.
        let a = rtt("australiacentral", "australiacentral2").expect("known");
        assert_eq!(a.ms, SHORT_HOP_MS);
    }

    #[test]
    fn the_config_scales_halves_and_switches_off() {
        let c = LatencyConfig::default();
        assert_eq!(c.rtt_ms("northeurope", "westeurope"), 17.0);
        assert_eq!(c.one_way("northeurope", "westeurope").as_micros(), 8_500);
        assert_eq!(c.one_way("westeurope", "westeurope").as_micros(), 0);
        let double = LatencyConfig {
            scale: 2.0,
            ..c.clone()
        };
        assert_eq!(double.rtt_ms("northeurope", "eastus"), 146.0);
        assert_eq!(LatencyConfig::OFF.rtt_ms("northeurope", "eastus"), 0.0);
        assert_eq!(double.describe(), "azure x2");
        assert_eq!(LatencyConfig::OFF.describe(), "off");
        assert!(
            LatencyConfig {
                scale: 0.0,
                ..c.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            LatencyConfig {
                jitter_ms: -1.0,
                ..c.clone()
            }
            .validate()
            .is_err()
        );
        let atlantis = Some("atlantis".to_string());
        assert!(
            LatencyConfig {
                internet_region: atlantis,
                ..c.clone()
            }
            .validate()
            .is_err()
        );
        assert!(c.validate().is_ok());
    }
}
