//! The glue between Route Server's live BGP speakers and the model: a
//! poller reads what each instance's bgpd learned (FRR's JSON) and, when
//! it changed, applies it as `Change::SetRouteServerLearned`; the pure
//! route selection (`routing::bgp`) then programs the NICs as any change
//! does (new tables, one atomic swap, flows that do not move keep going).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::Daemon;
use super::proto::{BgpSessionStatus, RouteServerStatus};
use crate::host::bgp;
use crate::model::{Change, LearnedRoute, ResourceId};

/// How often the speakers are read: a change reaches the packet path
/// within this plus one apply (the issue asks for 2 s).
const POLL: Duration = Duration::from_millis(500);

/// NO_ADVERTISE as FRR names it in its JSON.
const NO_ADVERTISE: &str = "noAdvertise";

/// One running speaker, as the poller needs it.
struct Speaker {
    route_server: ResourceId,
    instance: u8,
    dir: PathBuf,
}

impl Daemon {
    /// The running speakers, read under the host lock and let go at once.
    async fn speakers(&self) -> Vec<Speaker> {
        let host = self.host.lock().await;
        host.vms
            .iter()
            .filter_map(|(id, run)| {
                let s = run.plan.speaker.as_ref()?;
                Some(Speaker {
                    route_server: id.parent()?,
                    instance: id.name().parse().ok()?,
                    dir: s.dir.clone(),
                })
            })
            .collect()
    }

    /// What Route Server instances' sessions look like, for `status`.
    pub(super) async fn route_server_status(&self) -> Vec<RouteServerStatus> {
        let speakers = {
            let host = self.host.lock().await;
            host.vms
                .values()
                .filter_map(|run| {
                    let s = run.plan.speaker.clone()?;
                    Some((s, run.server.as_ref().map_or(0, |c| c.id())))
                })
                .collect::<Vec<_>>()
        };
        let mut out = Vec::new();
        for (s, pid) in speakers {
            let dir = s.dir.clone();
            let summary = tokio::task::spawn_blocking(move || bgp::vtysh(&dir, &["show bgp summary json".into()]))
                .await
                .ok()
                .and_then(Result::ok)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            out.push(RouteServerStatus {
                name: s.name.clone(),
                netns: s.netns.clone(),
                address: s.router_id.to_string(),
                asn: s.asn,
                pid,
                log: s.dir.join("bgpd.log").display().to_string(),
                sessions: summary.as_ref().map(sessions).unwrap_or_default(),
            });
        }
        out
    }
}

/// Reads every speaker each `POLL` and applies what changed. Ends with
/// the daemon.
pub(super) async fn poll(daemon: Arc<Daemon>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if daemon.closing.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let speakers = daemon.speakers().await;
        if speakers.is_empty() {
            continue;
        }
        let read = tokio::task::spawn_blocking(move || {
            speakers
                .into_iter()
                .map(|s| {
                    let table = bgp::vtysh(&s.dir, &["show bgp ipv4 unicast json".into()])
                        .ok()
                        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
                    let marked = bgp::vtysh(&s.dir, &["show bgp ipv4 unicast community no-advertise json".into()])
                        .ok()
                        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
                    (s, table, marked)
                })
                .collect::<Vec<_>>()
        })
        .await;
        let Ok(read) = read else { continue };
        let mut learned: BTreeMap<ResourceId, Vec<LearnedRoute>> = BTreeMap::new();
        let mut unread = Vec::new();
        for (s, table, marked) in read {
            match table {
                Some(t) => {
                    learned
                        .entry(s.route_server.clone())
                        .or_default()
                        .extend(paths(s.instance, &t, marked.as_ref()))
                }
                // A speaker that does not answer (starting, or being
                // rebuilt) changes nothing this round.
                None => unread.push(s.route_server),
            }
        }
        let model = daemon.model();
        let changes: Vec<Change> = learned
            .into_iter()
            .filter(|(rs, _)| !unread.contains(rs))
            .filter_map(|(rs, mut routes)| {
                routes.sort();
                routes.dedup();
                let have = model.route_servers.get(&rs)?;
                // The model keeps only paths from configured peers.
                routes.retain(|r| have.peerings.iter().any(|p| p.peer_ip == r.source_peer));
                (have.learned != routes).then_some(Change::SetRouteServerLearned {
                    route_server: rs,
                    routes,
                })
            })
            .collect();
        if !changes.is_empty() {
            // A refusal means the Route Server went away meanwhile: the
            // next round reads the speakers again.
            let _ = daemon.apply(changes, &|_| {}).await;
        }
    }
}

/// The valid paths in FRR's `show bgp ipv4 unicast json` that came from a
/// neighbor (not the speaker's own `network`s). `marked`: the same table
/// filtered to the NO_ADVERTISE community.
pub fn paths(instance: u8, table: &Value, marked: Option<&Value>) -> Vec<LearnedRoute> {
    let mut out = Vec::new();
    let Some(routes) = table.get("routes").and_then(Value::as_object) else {
        return out;
    };
    let is_marked = |prefix: &str, peer: &str| {
        marked
            .and_then(|m| m.get("routes"))
            .and_then(|r| r.get(prefix))
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p.get("peerId").and_then(Value::as_str) == Some(peer)))
    };
    for (prefix, list) in routes {
        let Ok(net) = prefix.parse() else { continue };
        for p in list.as_array().into_iter().flatten() {
            if p.get("valid").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let Some(peer_text) = p.get("peerId").and_then(Value::as_str) else {
                continue;
            };
            let Ok(peer) = peer_text.parse::<Ipv4Addr>() else {
                continue;
            };
            let next_hop = p
                .get("nexthops")
                .and_then(Value::as_array)
                .and_then(|n| n.first())
                .and_then(|n| n.get("ip"))
                .and_then(Value::as_str)
                .and_then(|ip| ip.parse().ok())
                .unwrap_or(peer);
            // "65001 65001 {65003,65004}": an AS set counts as one AS.
            let path = p.get("path").and_then(Value::as_str).unwrap_or("");
            let mut as_path = Vec::new();
            for part in path.split_whitespace() {
                if let Some(set) = part.strip_prefix('{') {
                    as_path.extend(
                        set.trim_end_matches('}')
                            .split(',')
                            .next()
                            .and_then(|a| a.parse::<u32>().ok()),
                    );
                } else if let Ok(asn) = part.parse() {
                    as_path.push(asn);
                }
            }
            out.push(LearnedRoute {
                instance,
                prefix: net,
                next_hop,
                source_peer: peer,
                as_path,
                no_advertise: is_marked(prefix, peer_text) || community_says_no_advertise(p),
            });
        }
    }
    out
}

/// Some FRR versions put the communities on each path.
fn community_says_no_advertise(p: &Value) -> bool {
    p.get("community")
        .and_then(|c| c.get("list"))
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|c| c.as_str() == Some(NO_ADVERTISE)))
}

/// The sessions in FRR's `show bgp summary json`.
fn sessions(summary: &Value) -> Vec<BgpSessionStatus> {
    let Some(peers) = summary
        .get("ipv4Unicast")
        .and_then(|u| u.get("peers"))
        .and_then(Value::as_object)
    else {
        return vec![];
    };
    peers
        .iter()
        .map(|(ip, p)| BgpSessionStatus {
            peer: ip.clone(),
            peer_asn: p.get("remoteAs").and_then(Value::as_u64).unwrap_or(0) as u32,
            state: p.get("state").and_then(Value::as_str).unwrap_or("Unknown").to_string(),
            uptime: p
                .get("peerUptime")
                .and_then(Value::as_str)
                .unwrap_or("never")
                .to_string(),
            prefixes_received: p.get("pfxRcd").and_then(Value::as_u64).unwrap_or(0),
            prefixes_sent: p.get("pfxSnt").and_then(Value::as_u64).unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // As FRR 8.4's bgpd prints it (shortened): the speaker's own network
    // and two paths to one prefix, one of them prepended.
    const TABLE: &str = r#"{"routerId":"10.0.1.4","localAS":65515,"routes":{
      "10.0.0.0/16":[{"valid":true,"bestpath":true,"peerId":"(unspec)","path":"","nexthops":[{"ip":"0.0.0.0"}]}],
      "192.168.100.0/24":[
        {"valid":true,"bestpath":true,"peerId":"10.0.2.4","path":"65001","nexthops":[{"ip":"10.0.2.4","afi":"ipv4","used":true}]},
        {"valid":true,"peerId":"10.0.2.5","path":"65002 65002 65002","nexthops":[{"ip":"10.0.2.5"}]},
        {"valid":false,"peerId":"10.0.2.6","path":"65003","nexthops":[{"ip":"10.0.2.6"}]}]}}"#;

    #[test]
    fn paths_from_neighbors_with_their_as_paths() {
        let t: Value = serde_json::from_str(TABLE).unwrap();
        let got = paths(1, &t, None);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].as_path, vec![65001]);
        assert_eq!(got[1].as_path, vec![65002, 65002, 65002]);
        assert_eq!(got[1].next_hop, Ipv4Addr::new(10, 0, 2, 5));
        assert!(got.iter().all(|p| p.instance == 1 && !p.no_advertise));
    }

    #[test]
    fn no_advertise_comes_from_the_filtered_table() {
        let t: Value = serde_json::from_str(TABLE).unwrap();
        let marked: Value = serde_json::from_str(
            r#"{"routes":{"192.168.100.0/24":[{"valid":true,"peerId":"10.0.2.5","path":"65002 65002 65002"}]}}"#,
        )
        .unwrap();
        let got = paths(0, &t, Some(&marked));
        assert!(!got[0].no_advertise);
        assert!(got[1].no_advertise);
    }

    #[test]
    fn garbage_gives_nothing() {
        for text in ["{}", r#"{"routes":[]}"#, r#"{"routes":{"nonsense":[{"valid":true}]}}"#] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(paths(0, &v, None).is_empty());
        }
    }

    #[test]
    fn sessions_with_state_uptime_and_counts() {
        let v: Value = serde_json::from_str(
            r#"{"ipv4Unicast":{"peers":{"10.0.2.4":{"remoteAs":65001,"state":"Established","peerUptime":"00:00:07","pfxRcd":1,"pfxSnt":2}}}}"#,
        )
        .unwrap();
        let s = sessions(&v);
        assert_eq!(
            (s[0].peer.as_str(), s[0].state.as_str(), s[0].prefixes_received),
            ("10.0.2.4", "Established", 1)
        );
    }
}
