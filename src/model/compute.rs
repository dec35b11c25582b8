//! NICs, VMs and public IPs.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpAllocation {
    Dynamic,
    Static,
}

/// A NIC with its primary IP configuration (vnetlab models one per NIC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub subnet: ResourceId,
    pub private_ip_address: Ipv4Addr,
    pub private_ip_allocation_method: IpAllocation,
    /// Azure's `enableIPForwarding`: without it the fabric drops traffic to
    /// or from this NIC whose address is not the NIC's own (§3).
    pub enable_ip_forwarding: bool,
    pub network_security_group: Option<ResourceId>,
    pub public_ip_address: Option<ResourceId>,
    /// The VM this NIC is attached to; set by the model when a VM is created.
    pub virtual_machine: Option<ResourceId>,
    /// Backend pools of internal load balancers its IP configuration is in.
    #[serde(default)]
    pub load_balancer_backend_address_pools: Vec<ResourceId>,
    /// `dnsSettings.dnsServers`; empty inherits the VNet's servers.
    #[serde(default)]
    pub dns_servers: Vec<Ipv4Addr>,
    /// `dnsSettings.dnsServers` is `["AzureProvidedDNS"]`: Azure's DNS
    /// whatever the VNet says (then `dns_servers` is empty).
    #[serde(default)]
    pub azure_provided_dns: bool,
    /// The name of its (only) IP configuration: `ipconfig<vm>` when az vm
    /// create made the NIC, `ipconfig1` by default.
    #[serde(default = "default_ip_configuration_name")]
    pub ip_configuration_name: String,
}

fn default_ip_configuration_name() -> String {
    super::vm_create::IP_CONFIGURATION_NAME.to_string()
}

impl NetworkInterface {
    /// The ID of the NIC's IP configuration.
    pub fn ip_configuration_id(&self) -> ResourceId {
        self.id.child("ipConfigurations", &self.ip_configuration_name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    Running,
    Stopped,
    Deallocated,
}

impl PowerState {
    /// As `az vm list -d` prints it.
    pub fn display(self) -> &'static str {
        match self {
            PowerState::Running => "VM running",
            PowerState::Stopped => "VM stopped",
            PowerState::Deallocated => "VM deallocated",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub size: String,
    pub image: String,
    /// The first NIC is the primary one.
    pub network_interfaces: Vec<ResourceId>,
    pub admin_username: String,
    pub admin_password: Option<String>,
    pub ssh_public_keys: Vec<String>,
    pub power_state: PowerState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublicIpSku {
    Basic,
    Standard,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpAddress {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub sku: PublicIpSku,
    /// Taken from the documentation ranges (RFC 5737), never a real address.
    pub ip_address: Ipv4Addr,
}
