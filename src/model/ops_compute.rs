//! Public IPs, NICs and VMs: validation and change.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::addr::{is_reserved_in_subnet, nth, usable_hosts};
use super::names::{self, NameKind, check_admin_password, check_admin_username};
use super::ops_identity::keep_location;
use super::{
    AzureError, ErrorCode, IpAllocation, Model, NetworkInterface, PowerState, PublicIpAddress, PublicIpSku, ResourceId,
    VirtualMachine, bail,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub sku: PublicIpSku,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub subnet: ResourceId,
    /// A static address; `None` takes the lowest free one from .4 up.
    pub private_ip_address: Option<String>,
    pub enable_ip_forwarding: bool,
    pub network_security_group: Option<ResourceId>,
    pub public_ip_address: Option<ResourceId>,
    /// `dnsSettings.dnsServers`: `None` keeps the NIC's current setting
    /// (inherit the VNet's for a new NIC); `Some(["AzureProvidedDNS"])`
    /// forces Azure's DNS; `Some([])` inherits again.
    #[serde(default)]
    pub dns_servers: Option<Vec<String>>,
    /// The IP configuration's name: `None` keeps the NIC's current one
    /// (`ipconfig1` for a new NIC).
    #[serde(default)]
    pub ip_configuration_name: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub size: String,
    pub image: String,
    pub network_interfaces: Vec<ResourceId>,
    pub admin_username: String,
    pub admin_password: Option<String>,
    pub ssh_public_keys: Vec<String>,
}

const PIP_TYPE: &str = "Microsoft.Network/publicIPAddresses";
const NIC_TYPE: &str = "Microsoft.Network/networkInterfaces";
const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";

/// Public addresses come from the RFC 5737 documentation ranges, so a lab
/// never uses a real Internet address. 192.0.2.0/24 is left to the lab's
/// Internet side (Cloud Shell, on-premises devices).
const PUBLIC_POOLS: [[u8; 3]; 2] = [[203, 0, 113], [198, 51, 100]];

impl Model {
    pub(super) fn put_public_ip(&mut self, spec: PublicIpSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "public IP address", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), PIP_TYPE)?;
        let existing = self.public_ip_addresses.get(&id);
        keep_location(
            existing.map(|n| n.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        let ip_address = match existing {
            Some(p) => p.ip_address,
            None => self.free_public_ip()?,
        };
        self.public_ip_addresses.insert(
            id.clone(),
            PublicIpAddress {
                id: id.clone(),
                name: id.name().into(),
                location,
                sku: spec.sku,
                ip_address,
            },
        );
        Ok(())
    }

    fn free_public_ip(&self) -> Result<Ipv4Addr, AzureError> {
        let used: Vec<Ipv4Addr> = self.public_ip_addresses.values().map(|p| p.ip_address).collect();
        PUBLIC_POOLS
            .iter()
            .flat_map(|[a, b, c]| (1..=254).map(move |d| Ipv4Addr::new(*a, *b, *c, d)))
            .find(|ip| !used.contains(ip))
            .ok_or_else(|| AzureError::new(ErrorCode::PublicIPCountLimitReached, "Cannot create more than 508 public IP addresses in a lab: vnetlab takes them from the documentation ranges 203.0.113.0/24 and 198.51.100.0/24. Delete unused public IPs."))
    }

    pub(super) fn delete_public_ip(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if !self.public_ip_addresses.contains_key(id) {
            return Err(AzureError::resource_not_found(id));
        }
        if let Some(holder) = self.public_ip_holder(id) {
            bail!(
                PublicIPAddressCannotBeDeleted,
                "Public IP address {id} can not be deleted since it is still allocated to resource {holder}. In order to delete the public IP, disassociate/detach the Public IP address from the resource."
            );
        }
        self.public_ip_addresses.remove(id);
        Ok(())
    }

    pub(super) fn put_nic(&mut self, spec: NicSpec) -> Result<(), AzureError> {
        let id = spec.id;
        self.refuse_private_endpoint_nic(&id)?;
        names::check_id(NameKind::NetworkChild, "network interface", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), NIC_TYPE)?;
        let existing = self.network_interfaces.get(&id).cloned();
        keep_location(
            existing.as_ref().map(|n| n.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        let Some((vnet, subnet)) = self.subnet(&spec.subnet) else {
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
                spec.subnet
            );
        };
        if vnet.location != location {
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region ({} vs {location}).",
                spec.subnet,
                vnet.location
            );
        }
        if subnet.is_gateway_subnet() {
            bail!(
                GatewaySubnet,
                "Subnet with name 'GatewaySubnet' can be used only for the Gateway resource. Put the network interface in another subnet."
            );
        }
        if subnet.is_route_server_subnet() {
            bail!(
                BadRequest,
                "Subnet with name 'RouteServerSubnet' can be used only for Route Server. Put the network interface in another subnet."
            );
        }
        if let Some(old) = &existing {
            let old_vnet = old.subnet.parent();
            if old_vnet.as_ref() != Some(&vnet.id) {
                bail!(
                    BadRequest,
                    "Network interface {id} is in virtual network {}; a network interface cannot move to another virtual network ({}). Create a new network interface instead.",
                    old_vnet.map(|v| v.name().to_string()).unwrap_or_default(),
                    vnet.name
                );
            }
        }
        let ip_configuration_name = spec
            .ip_configuration_name
            .clone()
            .or_else(|| existing.as_ref().map(|e| e.ip_configuration_name.clone()))
            .unwrap_or_else(|| super::vm_create::IP_CONFIGURATION_NAME.to_string());
        let own = id.child("ipConfigurations", &ip_configuration_name);
        let keep = existing
            .as_ref()
            .filter(|o| o.subnet == spec.subnet)
            .map(|o| (o.private_ip_address, o.private_ip_allocation_method));
        let (ip, allocation) =
            self.allocate_private_ip(&spec.subnet, spec.private_ip_address.as_deref(), &own, keep, &[])?;
        if let Some(nsg) = &spec.network_security_group {
            let loc = self.network_security_groups.get(nsg).map(|n| n.location.clone());
            self.check_reference(nsg, loc.as_deref(), &id, &location)?;
        }
        if let Some(pip) = &spec.public_ip_address {
            let Some(p) = self.public_ip_addresses.get(pip) else {
                bail!(
                    InvalidResourceReference,
                    "Resource {pip} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
                );
            };
            if p.location != location {
                bail!(
                    InvalidResourceReference,
                    "Resource {pip} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
                );
            }
            if let Some(other) = self.public_ip_holder(pip).filter(|h| *h != own) {
                bail!(
                    PublicIPAddressInUse,
                    "IP configuration {own} is referencing public IP address {pip} that is already allocated to resource {other}."
                );
            }
        }
        let (dns_servers, azure_provided_dns) = match &spec.dns_servers {
            Some(v) => super::parse_nic_dns_servers(v, &id)?,
            None => existing
                .as_ref()
                .map(|e| (e.dns_servers.clone(), e.azure_provided_dns))
                .unwrap_or_default(),
        };
        let nic = NetworkInterface {
            id: id.clone(),
            name: id.name().into(),
            location,
            subnet: spec.subnet,
            private_ip_address: ip,
            private_ip_allocation_method: allocation,
            enable_ip_forwarding: spec.enable_ip_forwarding,
            network_security_group: spec.network_security_group,
            public_ip_address: spec.public_ip_address,
            load_balancer_backend_address_pools: existing
                .as_ref()
                .map(|e| e.load_balancer_backend_address_pools.clone())
                .unwrap_or_default(),
            virtual_machine: existing.and_then(|e| e.virtual_machine),
            dns_servers,
            azure_provided_dns,
            ip_configuration_name,
        };
        self.network_interfaces.insert(id, nic);
        Ok(())
    }

    /// The address a new IP configuration `holder` gets in `subnet_id`:
    /// `requested` if it is valid and free, else the one it has (`keep`),
    /// else the lowest free one from .4 up. `also_taken` holds addresses
    /// handed out earlier in the same change. Addresses held by `holder`
    /// itself or its children are free to it: a resource put again keeps them.
    pub(super) fn allocate_private_ip(
        &self,
        subnet_id: &ResourceId,
        requested: Option<&str>,
        holder: &ResourceId,
        keep: Option<(Ipv4Addr, IpAllocation)>,
        also_taken: &[Ipv4Addr],
    ) -> Result<(Ipv4Addr, IpAllocation), AzureError> {
        let Some((_, subnet)) = self.subnet(subnet_id) else {
            bail!(
                InvalidResourceReference,
                "Resource {subnet_id} referenced by resource {holder} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
            );
        };
        let prefix = subnet.address_prefix;
        let taken: Vec<(Ipv4Addr, ResourceId)> = self
            .addresses_in_subnet(subnet_id)
            .into_iter()
            .filter(|(_, who)| !who.is_within(holder.as_str()))
            .chain(also_taken.iter().map(|ip| (*ip, holder.clone())))
            .collect();
        match requested {
            Some(s) => {
                let ip: Ipv4Addr = s.trim().parse().map_err(|_| {
                    AzureError::new(
                        ErrorCode::InvalidRequestFormat,
                        format!("Private IP address '{s}' of {holder} is not a valid IPv4 address."),
                    )
                })?;
                if !prefix.contains(&ip) {
                    bail!(
                        PrivateIPAddressNotInSubnet,
                        "Private static IP address {ip} does not belong to the range of subnet prefix {prefix}. Choose an address inside {prefix}."
                    );
                }
                if is_reserved_in_subnet(&prefix, ip) {
                    bail!(
                        PrivateIPAddressInReservedRange,
                        "Private static IP address {ip} falls within reserved IP range of subnet prefix {prefix}. Azure reserves the first four and the last address; use {} or above.",
                        nth(&prefix, 4)
                    );
                }
                if let Some((_, who)) = taken.iter().find(|(t, _)| *t == ip) {
                    bail!(
                        PrivateIPAddressIsAllocated,
                        "IP configuration {holder} is using the private IP address {ip} which is already allocated to resource {who}. Choose a free address."
                    );
                }
                Ok((ip, IpAllocation::Static))
            }
            None => match keep {
                Some(k) => Ok(k),
                None => {
                    let free = (4..usable_hosts(&prefix) as u32 + 4)
                        .map(|n| nth(&prefix, n))
                        .find(|ip| !taken.iter().any(|(t, _)| t == ip));
                    let Some(ip) = free else {
                        bail!(
                            SubnetIsFull,
                            "Subnet {} with address prefix {prefix} doesn't have enough capacity for IP addresses. Use a larger subnet or free an address.",
                            subnet.name
                        );
                    };
                    Ok((ip, IpAllocation::Dynamic))
                }
            },
        }
    }

    pub(super) fn delete_nic(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        self.refuse_private_endpoint_nic(id)?;
        let Some(nic) = self.network_interfaces.get(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        if let Some(vm) = &nic.virtual_machine {
            bail!(
                NicInUse,
                "Network Interface {id} is used by existing resource {vm}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic."
            );
        }
        self.network_interfaces.remove(id);
        Ok(())
    }

    pub(super) fn put_vm(&mut self, spec: VmSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::VirtualMachine, "virtual machine", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), VM_TYPE)?;
        let existing = self.virtual_machines.get(&id).cloned();
        keep_location(
            existing.as_ref().map(|v| v.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        check_admin_username(&spec.admin_username)?;
        if let Some(pw) = &spec.admin_password {
            check_admin_password(pw)?;
        }
        for key in &spec.ssh_public_keys {
            let k = key.trim();
            let ok = [
                "ssh-rsa ",
                "ssh-ed25519 ",
                "ecdsa-sha2-nistp256 ",
                "ecdsa-sha2-nistp384 ",
                "ecdsa-sha2-nistp521 ",
            ]
            .iter()
            .any(|p| k.starts_with(p))
                && !k.contains('\n');
            if !ok {
                return Err(AzureError::new(ErrorCode::InvalidParameter, "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid. Give an OpenSSH public key on one line (ssh-ed25519 AAAA... or ssh-rsa AAAA...).").with_target("linuxConfiguration.ssh.publicKeys.keyData"));
            }
        }
        if spec.admin_password.is_none() && spec.ssh_public_keys.is_empty() {
            return Err(AzureError::new(ErrorCode::InvalidParameter, "Authentication using either SSH or by user name and password must be enabled in Linux profile. Give --admin-password or an SSH public key.").with_target("linuxConfiguration"));
        }
        if spec.network_interfaces.is_empty() {
            return Err(AzureError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "Virtual machine {} must have at least one network interface.",
                    id.name()
                ),
            )
            .with_target("networkProfile"));
        }
        let mut vnet: Option<ResourceId> = None;
        for n in &spec.network_interfaces {
            let Some(nic) = self.network_interfaces.get(n) else {
                bail!(
                    InvalidResourceReference,
                    "Resource {n} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
                );
            };
            if nic.location != location {
                bail!(
                    InvalidResourceReference,
                    "Resource {n} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region ({} vs {location}).",
                    nic.location
                );
            }
            if let Some(other) = nic.virtual_machine.as_ref().filter(|v| **v != id) {
                bail!(
                    BadRequest,
                    "Network interface {n} is already attached to virtual machine {other}. A network interface can be attached to one virtual machine only."
                );
            }
            let v = nic.subnet.parent();
            if vnet.is_some() && vnet != v {
                bail!(
                    BadRequest,
                    "All network interfaces of virtual machine {} must be in the same virtual network; {n} is not.",
                    id.name()
                );
            }
            vnet = v;
        }
        if let Some(old) = &existing {
            for n in &old.network_interfaces {
                if let Some(nic) = self.network_interfaces.get_mut(n) {
                    nic.virtual_machine = None;
                }
            }
        }
        for n in &spec.network_interfaces {
            if let Some(nic) = self.network_interfaces.get_mut(n) {
                nic.virtual_machine = Some(id.clone());
            }
        }
        let vm = VirtualMachine {
            id: id.clone(),
            name: id.name().into(),
            location,
            size: spec.size,
            image: spec.image,
            network_interfaces: spec.network_interfaces,
            admin_username: spec.admin_username,
            admin_password: spec.admin_password,
            ssh_public_keys: spec.ssh_public_keys,
            power_state: existing.map(|e| e.power_state).unwrap_or(PowerState::Running),
        };
        self.virtual_machines.insert(id, vm);
        Ok(())
    }

    /// Deleting a VM leaves its NICs, public IPs and NSGs, as Azure does.
    pub(super) fn delete_vm(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let Some(vm) = self.virtual_machines.remove(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        for n in &vm.network_interfaces {
            if let Some(nic) = self.network_interfaces.get_mut(n) {
                nic.virtual_machine = None;
            }
        }
        Ok(())
    }

    pub(super) fn set_power_state(&mut self, id: &ResourceId, state: PowerState) -> Result<(), AzureError> {
        match self.virtual_machines.get_mut(id) {
            Some(vm) => {
                vm.power_state = state;
                Ok(())
            }
            None => Err(AzureError::resource_not_found(id)),
        }
    }
}
