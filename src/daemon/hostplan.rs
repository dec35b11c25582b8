//! What the host must look like for a model: one namespace per VM, one TUN
//! per NIC, the admin user. Pure, so the daemon can diff two models'
//! plans and touch only the VMs that changed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::dataplane::stable_key;
use crate::host::Lab;
use crate::host::tun::Interface;
use crate::host::vm::VmSetup;
use crate::model::{Model, PowerState, ResourceId};

#[derive(Clone, Debug, PartialEq)]
pub struct VmPlan {
    pub name: String,
    pub resource_group: String,
    pub setup: VmSetup,
    pub nics: Vec<NicPlan>,
    pub power_state: PowerState,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NicPlan {
    pub key: u64,
    pub name: String,
    /// `eth0`, `eth1`… in the order the VM lists its NICs.
    pub interface: String,
    pub iface: Interface,
    pub public_ip: Option<Ipv4Addr>,
}

/// The host plan of every VM in `model`, by VM ID.
pub fn plan(lab: &Lab, model: &Model) -> BTreeMap<ResourceId, VmPlan> {
    let mut taken = std::collections::HashSet::new();
    let mut out = BTreeMap::new();
    for (id, vm) in &model.virtual_machines {
        // Two resource groups may each hold a VM of the same name; the
        // second one's namespace also names its group.
        let mut local = vm.name.clone();
        let mut n = 1;
        while !taken.insert(local.to_ascii_lowercase()) {
            local = if n == 1 { format!("{}.{}", vm.name, id.resource_group_name()) } else { format!("{}.{}.{n}", vm.name, id.resource_group_name()) };
            n += 1;
        }
        let nics: Vec<NicPlan> = vm
            .network_interfaces
            .iter()
            .filter_map(|nic_id| model.network_interfaces.get(nic_id))
            .enumerate()
            .filter_map(|(i, nic)| {
                let (_, subnet) = model.subnet(&nic.subnet)?;
                let prefix = subnet.address_prefix;
                let gateway = Ipv4Addr::from(u32::from(prefix.network()) + 1);
                let public_ip = nic.public_ip_address.as_ref().and_then(|p| model.public_ip_addresses.get(p)).map(|p| p.ip_address);
                Some(NicPlan {
                    key: stable_key(&nic.id),
                    name: nic.name.clone(),
                    interface: format!("eth{i}"),
                    iface: Interface { address: nic.private_ip_address, prefix_len: prefix.prefix_len(), gateway, forwarding: nic.enable_ip_forwarding },
                    public_ip,
                })
            })
            .collect();
        let setup = VmSetup {
            name: vm.name.clone(),
            netns: lab.vm_netns(&local),
            dir: lab.vm_dir(&local),
            admin_username: vm.admin_username.clone(),
            admin_password: vm.admin_password.clone(),
            ssh_public_keys: vm.ssh_public_keys.clone(),
            address: nics.first().map(|n| n.iface.address),
        };
        out.insert(id.clone(), VmPlan { name: vm.name.clone(), resource_group: id.resource_group_name().to_string(), setup, nics, power_state: vm.power_state });
    }
    out
}

impl VmPlan {
    /// Does going from `self` to `next` need the VM rebuilt? Power state
    /// and public IPs live in the fabric, not on the host.
    pub fn host_differs(&self, next: &VmPlan) -> bool {
        let strip = |p: &VmPlan| (p.setup.clone(), p.nics.iter().map(|n| (n.key, n.interface.clone(), n.iface.clone())).collect::<Vec<_>>());
        strip(self) != strip(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    fn learn() -> Model {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/01-peering-basics/topology.yaml")).unwrap();
        Topology::parse(&text).unwrap().build().unwrap()
    }

    #[test]
    fn every_vm_gets_a_namespace_and_an_eth0_on_its_subnet() {
        let lab = Lab::new("t").unwrap();
        let plans = plan(&lab, &learn());
        let sales = plans.values().find(|p| p.name == "SalesVM").unwrap();
        assert_eq!(sales.setup.netns, "vnl-t.SalesVM");
        assert_eq!(sales.setup.dir, lab.runtime_dir().join("vms/SalesVM"));
        assert_eq!(sales.setup.admin_username, "azureuser");
        let eth0 = &sales.nics[0];
        assert_eq!((eth0.interface.as_str(), eth0.iface.address, eth0.iface.prefix_len, eth0.iface.gateway), ("eth0", Ipv4Addr::new(10, 1, 1, 4), 24, Ipv4Addr::new(10, 1, 1, 1)));
        assert!(!eth0.iface.forwarding);
        assert!(eth0.public_ip.is_some());
        assert_eq!(plans.len(), 3);
    }

    #[test]
    fn only_host_facts_force_a_rebuild() {
        let lab = Lab::new("t").unwrap();
        let plans = plan(&lab, &learn());
        let a = plans.values().next().unwrap().clone();
        let mut b = a.clone();
        b.power_state = PowerState::Stopped;
        b.nics[0].public_ip = None;
        assert!(!a.host_differs(&b));
        b.nics[0].iface.forwarding = true;
        assert!(a.host_differs(&b));
    }
}
