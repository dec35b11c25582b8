//! A small lab for the DNS tests of the model and of `crate::dns`: VNets
//! with one subnet, VMs with one NIC, peerings, zones, links and records.

use std::net::Ipv4Addr;

use super::{
    COMPUTE, Change, DEFAULT_SUBSCRIPTION_ID, Model, NicSpec, PeeringSpec, PrivateDnsZoneSpec, RecordData,
    RecordSetSpec, ResourceId, SubnetSpec, VirtualNetworkLinkSpec, VmSpec, VnetSpec,
};

pub(crate) const RG: &str = "lab-rg";

pub(crate) struct Lab {
    pub m: Model,
}

pub(crate) fn vnet_id(name: &str) -> ResourceId {
    ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "virtualNetworks", name)
}
pub(crate) fn zone_id(name: &str) -> ResourceId {
    ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "privateDnsZones", name)
}
pub(crate) fn vm_id(name: &str) -> ResourceId {
    ResourceId::resource(DEFAULT_SUBSCRIPTION_ID, RG, COMPUTE, "virtualMachines", name)
}
pub(crate) fn link_spec(zone: &str, link: &str, vnet: &str, registration: bool) -> Change {
    Change::PutVirtualNetworkLink(VirtualNetworkLinkSpec {
        id: zone_id(zone).child("virtualNetworkLinks", link),
        virtual_network: vnet_id(vnet),
        registration_enabled: registration,
    })
}
pub(crate) fn record_change(zone: &str, name: &str, data: RecordData) -> Change {
    let kind = data.kind().as_str();
    Change::PutRecordSet(RecordSetSpec {
        id: zone_id(zone).child(kind, name),
        ttl: None,
        data,
    })
}

impl Lab {
    pub(crate) fn new() -> Self {
        let mut m = Model::new();
        m.apply(Change::PutResourceGroup {
            subscription: DEFAULT_SUBSCRIPTION_ID.into(),
            name: RG.into(),
            location: "westeurope".into(),
        })
        .unwrap();
        Lab { m }
    }

    pub(crate) fn apply(&mut self, c: Change) -> &mut Self {
        self.m.apply(c).unwrap();
        self
    }

    /// A VNet `prefix` (a /16) with subnet `default` as its first /24.
    pub(crate) fn vnet(&mut self, name: &str, prefix: &str) -> &mut Self {
        let id = vnet_id(name);
        self.apply(Change::PutVirtualNetwork(VnetSpec {
            id: id.clone(),
            location: None,
            address_prefixes: vec![prefix.into()],
            flow_timeout_in_minutes: None,
            dns_servers: None,
        }));
        let net: ipnet::Ipv4Net = prefix.parse().unwrap();
        let sub = ipnet::Ipv4Net::new(net.network(), 24).unwrap();
        self.apply(Change::PutSubnet(SubnetSpec {
            id: id.child("subnets", "default"),
            address_prefix: sub.to_string(),
            network_security_group: None,
            route_table: None,
            default_outbound_access: None,
        }))
    }

    /// A running VM with one NIC in the VNet's `default` subnet; returns its IP.
    pub(crate) fn vm(&mut self, vnet: &str, name: &str) -> Ipv4Addr {
        let nic = ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "networkInterfaces", &format!("{name}-nic"));
        self.apply(Change::PutNetworkInterface(NicSpec {
            ip_configuration_name: None,
            id: nic.clone(),
            location: None,
            subnet: vnet_id(vnet).child("subnets", "default"),
            private_ip_address: None,
            enable_ip_forwarding: false,
            network_security_group: None,
            public_ip_address: None,
            dns_servers: None,
        }));
        self.apply(Change::PutVirtualMachine(VmSpec {
            id: vm_id(name),
            location: None,
            size: "Standard_B1s".into(),
            image: "Ubuntu2204".into(),
            network_interfaces: vec![nic.clone()],
            admin_username: "azureuser".into(),
            admin_password: None,
            ssh_public_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq1 azureuser@lab".into()],
        }));
        self.m.network_interfaces[&nic].private_ip_address
    }

    /// Peers `a` and `b` in both directions.
    pub(crate) fn peer(&mut self, a: &str, b: &str) -> &mut Self {
        for (l, r) in [(a, b), (b, a)] {
            self.apply(Change::PutPeering(PeeringSpec {
                id: vnet_id(l).child("virtualNetworkPeerings", &format!("{l}-to-{r}")),
                remote_virtual_network: vnet_id(r),
                allow_virtual_network_access: true,
                allow_forwarded_traffic: false,
                allow_gateway_transit: false,
                use_remote_gateways: false,
                principal: None,
            }));
        }
        self
    }

    pub(crate) fn zone(&mut self, name: &str) -> &mut Self {
        self.apply(Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: zone_id(name) }))
    }

    pub(crate) fn link(&mut self, zone: &str, link: &str, vnet: &str, registration: bool) -> &mut Self {
        self.apply(link_spec(zone, link, vnet, registration))
    }

    pub(crate) fn record(&mut self, zone: &str, name: &str, data: RecordData) -> &mut Self {
        self.apply(record_change(zone, name, data))
    }
}
