//! Private endpoints: over the backbone to the service, and the
//! service's answers straight back to the NIC that sent.

use super::{Decision, DropReason, Observer, Pin, Step, Target, Verdict};
use crate::dataplane::index::{EndpointIdx, ServiceIdx};
use crate::dataplane::nat::Rewrite;
use crate::dataplane::tables::SERVICE_IP;
use crate::model::Direction;

impl<O: Observer> Decision<'_, O> {
    /// A private endpoint's address: over the backbone to its service, in
    /// whatever region, with the destination translated to the instance.
    pub(super) fn endpoint(&mut self, e: EndpointIdx) -> Result<Target, DropReason> {
        let ep = &self.t.endpoints[e];
        let s = ep.service.ok_or(DropReason::EndpointWithoutService { endpoint: e })?;
        let k = self.key;
        if !k.has_ports() {
            return Err(DropReason::EndpointProtocol { endpoint: e });
        }
        // Answers come straight back to the sending NIC, so only a NIC
        // can use an endpoint.
        let sender = &self.t.nics[self.sender.ok_or(DropReason::Unsolicited)?];
        self.obs.step(Step::Endpoint {
            endpoint: e,
            service: s,
        });
        if self.ct.pinned(&k, self.now).is_none() {
            self.pin = Some(Pin {
                key: k,
                to: (SERVICE_IP, k.dport),
                backend: self.t.services[s].key,
                back_to: Some(sender.key),
                timeout: sender.flow_timeout,
            });
        }
        self.key.dst = SERVICE_IP;
        self.nat = Some(Rewrite::dst(SERVICE_IP));
        Ok(Target::Service(s))
    }

    /// A service instance answers a flow that came through a private
    /// endpoint: back to the sender, from the endpoint's address.
    pub(super) fn sent_by_service(&mut self, _s: ServiceIdx) -> Result<Verdict, DropReason> {
        let a = self.ct.answer(&self.key, self.now).ok_or(DropReason::Unsolicited)?;
        let m = a
            .back_to
            .and_then(|k| self.t.nic_by_key(k))
            .ok_or(DropReason::Unsolicited)?;
        self.untranslate(a.ip, a.port);
        if !self.t.nics[m].running {
            return Err(DropReason::VmNotRunning { nic: m });
        }
        let new = self.nsg(m, Direction::Inbound)?;
        self.track(&[(m, Direction::Inbound, new)])?;
        Ok(Verdict::Deliver { nic: m, nat: self.nat })
    }
}
