//! Azure CNI Overlay in the verdict (see `dataplane::overlay`): a node's
//! packet to a pod of its own cluster goes to the node owning the pod's
//! /24; a pod source goes nowhere else.

use super::{Decision, DropReason, Observer, Step, Verdict};
use crate::dataplane::index::NicIdx;
use crate::model::Direction;

impl<O: Observer> Decision<'_, O> {
    /// Azure CNI Overlay (see `overlay`): a node's packet to a pod of its
    /// own cluster goes to the node owning the pod's /24; a pod source
    /// may not go anywhere else. `None`: not overlay traffic.
    pub(super) fn pod_overlay(&mut self, n: NicIdx) -> Result<Option<Verdict>, DropReason> {
        let (t, k) = (self.t, self.key);
        let Some(c) = t.overlay.cluster_of_node(n) else {
            return Ok(None);
        };
        let cluster = &t.overlay.clusters[c];
        let (src_pod, dst_pod) = (cluster.pod_cidr.contains(&k.src), cluster.pod_cidr.contains(&k.dst));
        let outside = DropReason::PodSourceOutsideCluster { nic: n, cluster: c };
        let m = match (src_pod, dst_pod) {
            (false, false) => return Ok(None),
            // Forwarded by the node for someone else: the usual rules.
            (false, true) if k.src != t.nics[n].ip => return Ok(None),
            (true, _) if !t.overlay.slice_of(n).is_some_and(|s| s.contains(&k.src)) => return Err(outside),
            // A pod answers (or talks to) a node of its own cluster.
            (true, false) => cluster
                .slices
                .iter()
                .map(|(_, m)| *m)
                .find(|m| t.nics[*m].ip == k.dst)
                .ok_or(outside)?,
            (_, true) => t
                .overlay
                .slice_owner(c, k.dst)
                .ok_or(DropReason::NoPodNode { cluster: c })?,
        };
        if !t.nics[m].running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        self.obs.step(Step::PodRoute { cluster: c, node: m });
        let (out_new, in_new) = (self.nsg(n, Direction::Outbound)?, self.nsg(m, Direction::Inbound)?);
        self.track(&[(n, Direction::Outbound, out_new), (m, Direction::Inbound, in_new)])?;
        Ok(Some(Verdict::Deliver { nic: m, nat: None }))
    }

    /// A routing drop of a packet for a pod address says so: pod CIDRs
    /// are no VNet's routes, so no route of a VNet or peering leads there.
    pub(super) fn pod_not_routed(&self, e: DropReason) -> DropReason {
        match (e, self.t.overlay.cluster_of_pod_ip(self.key.dst)) {
            (
                DropReason::NoRoute { .. } | DropReason::NextHopNone { .. } | DropReason::NoHost { .. },
                Some(cluster),
            ) => DropReason::PodAddressNotRouted { cluster },
            _ => e,
        }
    }
}
