//! NSG layering: the sender's outbound NSGs (NIC, then subnet) see the
//! packet as sent, the receiver's inbound NSGs (subnet, then NIC) as
//! received; a tracked flow skips them; a new one is tracked only once the
//! whole path is allowed.

use super::{Decision, DropReason, Observer, Step};
use crate::dataplane::index::{Idx, NicIdx, NsgIdx, NsgRuleIdx};
use crate::dataplane::packet::FlowKey;
use crate::dataplane::tables::Tables;
use crate::model::{Access, Direction};
use crate::nsg::FlowView;

impl<O: Observer> Decision<'_, O> {
    /// The packet as NIC NSGs in `dir` see it: the sender's as sent, the
    /// receiver's as received.
    pub(super) fn seen(&self, dir: Direction) -> FlowKey {
        if dir == Direction::Outbound {
            self.sent
        } else {
            self.key
        }
    }

    /// Runs the NSGs of NIC `x` in `dir`. Returns whether the flow was
    /// new there (and must be tracked once the whole path is allowed).
    pub(super) fn nsg(&mut self, x: NicIdx, dir: Direction) -> Result<bool, DropReason> {
        let t = self.t;
        let nic = &t.nics[x];
        let key = self.seen(dir);
        let tracked = match self.related {
            Some(inner) => self.ct.has(nic.key, &inner, self.now),
            None => self.ct.hit(nic.key, &key, self.now, nic.flow_timeout),
        };
        if tracked {
            self.obs.step(Step::Tracked { nic: x, direction: dir });
            return Ok(false);
        }
        nsg_decision(t, x, dir, &key, self.obs)?;
        Ok(self.related.is_none())
    }

    /// DNS from NIC `x` to 168.63.129.16: only rules naming the
    /// AzurePlatformDNS tag apply (`CompiledNsg::evaluate_platform_dns`);
    /// with none matching, the NSGs are passed by. Returns whether the
    /// flow is new, as `nsg` does.
    pub(super) fn platform_dns_nsg(&mut self, x: NicIdx) -> Result<bool, DropReason> {
        let t = self.t;
        let nic = &t.nics[x];
        let dir = Direction::Outbound;
        let key = self.seen(dir);
        if self.ct.hit(nic.key, &key, self.now, nic.flow_timeout) {
            self.obs.step(Step::Tracked { nic: x, direction: dir });
            return Ok(false);
        }
        let view = view_of(&key);
        let subnet = &t.subnets[nic.subnet];
        let mut named = false;
        for g in [nic.nsg, subnet.nsg].into_iter().flatten() {
            let Some(i) = t.nsgs[g].evaluate_platform_dns(dir, &view) else {
                continue;
            };
            named = true;
            apply_rule(t, x, dir, g, NsgRuleIdx::from_usize(i), self.obs)?;
        }
        if !named {
            self.obs.step(Step::PlatformDns { nic: x });
        }
        Ok(true)
    }

    /// The whole path is allowed: new flows are tracked where their NSGs
    /// allowed them, and a translated flow is pinned.
    /// A new flow beyond its VM's flow limit is dropped, and nothing of
    /// it is tracked anywhere.
    pub(super) fn track(&mut self, nics: &[(NicIdx, Direction, bool)]) -> Result<(), DropReason> {
        for &(x, direction, new) in nics {
            let inbound = direction == Direction::Inbound;
            // Azure: 500k flows each way per VM, over all its NICs; beyond,
            // "other connections are dropped" (conntrack::FLOW_LIMIT).
            if new && !self.ct.room(self.t.nics[x].flow_owner, inbound, self.now) {
                return Err(DropReason::FlowLimit { nic: x, direction });
            }
        }
        for &(x, dir, new) in nics {
            if new {
                let nic = &self.t.nics[x];
                let key = self.seen(dir);
                let inbound = dir == Direction::Inbound;
                self.ct
                    .insert(nic.key, nic.flow_owner, &key, self.now, nic.flow_timeout, inbound);
            }
        }
        if let Some(p) = self.pin.take() {
            self.ct.pin(&p.key, p.to, p.backend, p.back_to, self.now, p.timeout);
        }
        Ok(())
    }
}

/// The NSGs of NIC `x` for a new flow in `dir`: subnet then NIC inbound,
/// NIC then subnet outbound, both must allow (§5.3). This is what IP flow
/// verify reports; `decide` runs it for every flow it has not seen.
pub fn nsg_decision(
    t: &Tables,
    x: NicIdx,
    dir: Direction,
    key: &FlowKey,
    obs: &mut impl Observer,
) -> Result<(), DropReason> {
    let nic = &t.nics[x];
    let subnet = &t.subnets[nic.subnet];
    let levels = match dir {
        Direction::Inbound => [subnet.nsg, nic.nsg],
        Direction::Outbound => [nic.nsg, subnet.nsg],
    };
    if levels.iter().all(Option::is_none) {
        let peer = if dir == Direction::Outbound { key.dst } else { key.src };
        // Azure: with allowVirtualNetworkAccess off, traffic with that
        // peer does not flow unless an NSG rule explicitly allows it; with
        // no NSG at all there is no such rule.
        let vnet = &t.vnets[subnet.vnet];
        if let Some(l) = vnet.links.position(|l| {
            !l.allow_virtual_network_access && l.connected() && l.remote_address_space.iter().any(|p| p.contains(&peer))
        }) {
            return Err(DropReason::PeeringAccessBlocked {
                nic: x,
                vnet: subnet.vnet,
                link: l,
            });
        }
        obs.step(Step::NoNsg { nic: x, direction: dir });
        return Ok(());
    }
    let view = view_of(key);
    for g in levels.into_iter().flatten() {
        let rule = NsgRuleIdx::from_usize(t.nsgs[g].evaluate_index(dir, &view));
        apply_rule(t, x, dir, g, rule, obs)?;
    }
    Ok(())
}

/// The part of a flow's key an NSG rule looks at.
fn view_of(key: &FlowKey) -> FlowView {
    FlowView {
        src: key.src,
        dst: key.dst,
        proto: key.proto,
        ports: key.has_ports().then_some((key.sport, key.dport)),
    }
}

/// Rule `rule` of NSG `g` decided the flow at NIC `x`: the step is told,
/// and a Deny drops the packet.
fn apply_rule(
    t: &Tables,
    x: NicIdx,
    dir: Direction,
    g: NsgIdx,
    rule: NsgRuleIdx,
    obs: &mut impl Observer,
) -> Result<(), DropReason> {
    let access = t.nsgs[g].rules(dir)[rule.index()].access;
    obs.step(Step::Nsg {
        nic: x,
        direction: dir,
        nsg: g,
        rule,
        access,
    });
    if access == Access::Deny {
        return Err(DropReason::NsgDenied {
            nic: x,
            direction: dir,
            nsg: g,
            rule,
        });
    }
    Ok(())
}
