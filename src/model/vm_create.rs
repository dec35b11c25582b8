//! What `az vm create` makes around a VM: the one recipe the topology
//! loader and the `az` front both use, so a topology and the az script of
//! the same lab build the same model.
//!
//! Azure: azure-cli 2.91.0 `vm/custom.py` (`create_vm`) and
//! `vm/_template_builder.py` (`build_nic_resource`, `build_nsg_resource`):
//! NIC `<vm>VMNic`, public IP `<vm>PublicIP`, NSG `<vm>NSG` holding one
//! inbound rule at priority 1000 (`default-allow-ssh`, Tcp 22; `rdp`, Tcp
//! 3389, for a Windows image), and, when no VNet is named,
//! `<vm>VNET`/`<vm>Subnet` with 10.0.0.0/16 and 10.0.0.0/24.

use super::ids::{COMPUTE, ResourceId};
use super::{Change, NicSpec, PowerState, PublicIpSku, PublicIpSpec, SecurityRuleSpec, VmSpec};

/// `--vnet-address-prefix` when az makes the VNet.
pub const DEFAULT_VNET_PREFIX: &str = "10.0.0.0/16";
/// `--subnet-address-prefix` when az makes the subnet.
pub const DEFAULT_SUBNET_PREFIX: &str = "10.0.0.0/24";
/// azure-semantics §9.6; captures of older az show Standard_DS1_v2.
pub const DEFAULT_VM_SIZE: &str = "Standard_D2s_v5";
/// The name of a NIC's (only) IP configuration when its creator names
/// none. Azure: `az network nic create` names it `ipconfig1`
/// (azure-cli 2.91.0 `network/custom.py`, `create_nic`).
pub const IP_CONFIGURATION_NAME: &str = "ipconfig1";

/// The IP configuration `az vm create` gives the NIC it makes.
// Azure: azure-cli 2.91.0 `vm/_template_builder.py` (`build_nic_resource`):
// `'name': 'ipconfig{}'.format(vm_name)`.
pub fn ip_configuration_name_for_vm(vm: &str) -> String {
    format!("ipconfig{vm}")
}

pub fn nic_name(vm: &str) -> String {
    format!("{vm}VMNic")
}
pub fn public_ip_name(vm: &str) -> String {
    format!("{vm}PublicIP")
}
pub fn nsg_name(vm: &str) -> String {
    format!("{vm}NSG")
}
pub fn vnet_name(vm: &str) -> String {
    format!("{vm}VNET")
}
pub fn subnet_name(vm: &str) -> String {
    format!("{vm}Subnet")
}

/// The rule az puts in the NSG it makes (`--nsg-rule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsgRule {
    Ssh,
    Rdp,
    None,
}

impl NsgRule {
    /// `SSH`, `RDP` or `NONE`, in any case.
    pub fn parse(s: &str) -> Option<NsgRule> {
        match s.to_ascii_uppercase().as_str() {
            "SSH" => Some(NsgRule::Ssh),
            "RDP" => Some(NsgRule::Rdp),
            "NONE" => Some(NsgRule::None),
            _ => None,
        }
    }

    /// az's default: RDP for a Windows image, SSH otherwise.
    pub fn for_image(image: &str) -> NsgRule {
        if is_windows_image(image) {
            NsgRule::Rdp
        } else {
            NsgRule::Ssh
        }
    }

    /// The rule, in NSG `nsg`; `None` for `NONE`.
    pub fn spec(self, nsg: &ResourceId) -> Option<SecurityRuleSpec> {
        let (name, port) = match self {
            NsgRule::Ssh => ("default-allow-ssh", "22"),
            NsgRule::Rdp => ("rdp", "3389"),
            NsgRule::None => return None,
        };
        let star = || vec!["*".to_string()];
        Some(SecurityRuleSpec {
            id: nsg.child("securityRules", name),
            priority: 1000,
            direction: "Inbound".into(),
            access: "Allow".into(),
            protocol: "Tcp".into(),
            source_address_prefixes: star(),
            source_port_ranges: star(),
            destination_address_prefixes: star(),
            destination_port_ranges: vec![port.into()],
            description: None,
        })
    }
}

/// Whether az takes `image` (an alias or a URN) for a Windows image: its
/// aliases are `Win2022Datacenter`…, its URNs' publishers `MicrosoftWindows…`.
pub fn is_windows_image(image: &str) -> bool {
    let head = image.split(':').next().unwrap_or("").to_ascii_lowercase();
    head.starts_with("win") || head.starts_with("microsoftwindows")
}

/// A resource the new NIC refers to: none, one that exists, or one the
/// recipe makes (with what it needs to make it).
#[derive(Clone, Debug)]
pub enum Side<T> {
    None,
    Existing(ResourceId),
    New(ResourceId, T),
}

impl<T> Side<T> {
    fn id(&self) -> Option<ResourceId> {
        match self {
            Side::None => None,
            Side::Existing(id) | Side::New(id, _) => Some(id.clone()),
        }
    }
}

/// The NIC az makes for the VM.
#[derive(Clone, Debug)]
pub struct NewNic {
    pub subnet: ResourceId,
    /// Static; `None` takes the first free address.
    pub private_ip_address: Option<String>,
    pub enable_ip_forwarding: bool,
    pub public_ip: Side<PublicIpSku>,
    pub nsg: Side<NsgRule>,
}

#[derive(Clone, Debug)]
pub enum VmNics {
    /// az's own `<vm>VMNic` (no `--nics`).
    New(NewNic),
    /// `--nics`: NICs that exist already.
    Existing(Vec<ResourceId>),
}

/// One `az vm create`.
#[derive(Clone, Debug)]
pub struct VmCreate {
    pub id: ResourceId,
    pub location: Option<String>,
    pub size: String,
    pub image: String,
    pub admin_username: String,
    pub admin_password: Option<String>,
    pub ssh_public_keys: Vec<String>,
    pub nics: VmNics,
    /// A topology may create a VM stopped; az always starts it.
    pub running: bool,
}

impl VmCreate {
    /// The VM's ID in `subscription`/`rg`.
    pub fn vm_id(subscription: &str, rg: &str, name: &str) -> ResourceId {
        ResourceId::resource(subscription, rg, COMPUTE, "virtualMachines", name)
    }

    /// The NIC az makes for VM `vm`: `<vm>VMNic` beside it.
    pub fn nic_id(vm: &ResourceId) -> ResourceId {
        ResourceId::network(
            vm.subscription_id(),
            vm.resource_group_name(),
            "networkInterfaces",
            &nic_name(vm.name()),
        )
    }

    /// The changes, in the order az's template deploys them: NSG and its
    /// rule, public IP, NIC, VM.
    pub fn changes(self) -> Vec<Change> {
        let mut out = Vec::new();
        let nics = match self.nics {
            VmNics::Existing(nics) => nics,
            VmNics::New(n) => {
                if let Side::New(id, rule) = &n.nsg {
                    out.push(Change::PutNetworkSecurityGroup {
                        id: id.clone(),
                        location: self.location.clone(),
                    });
                    out.extend(rule.spec(id).map(Change::PutSecurityRule));
                }
                if let Side::New(id, sku) = &n.public_ip {
                    out.push(Change::PutPublicIp(PublicIpSpec {
                        id: id.clone(),
                        location: self.location.clone(),
                        sku: *sku,
                    }));
                }
                let nic = Self::nic_id(&self.id);
                out.push(Change::PutNetworkInterface(NicSpec {
                    ip_configuration_name: Some(ip_configuration_name_for_vm(self.id.name())),
                    id: nic.clone(),
                    location: self.location.clone(),
                    subnet: n.subnet,
                    private_ip_address: n.private_ip_address,
                    enable_ip_forwarding: n.enable_ip_forwarding,
                    network_security_group: n.nsg.id(),
                    public_ip_address: n.public_ip.id(),
                    dns_servers: None,
                }));
                vec![nic]
            }
        };
        out.push(Change::PutVirtualMachine(VmSpec {
            id: self.id.clone(),
            location: self.location,
            size: self.size,
            image: self.image,
            network_interfaces: nics,
            admin_username: self.admin_username,
            admin_password: self.admin_password,
            ssh_public_keys: self.ssh_public_keys,
        }));
        if !self.running {
            out.push(Change::SetPowerState {
                vm: self.id,
                state: PowerState::Stopped,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(image: &str, nsg: Side<NsgRule>) -> Vec<Change> {
        let id = VmCreate::vm_id("s", "rg", "web");
        let vnet = ResourceId::network("s", "rg", "virtualNetworks", "v");
        VmCreate {
            id,
            location: None,
            size: DEFAULT_VM_SIZE.into(),
            image: image.into(),
            admin_username: "azureuser".into(),
            admin_password: None,
            ssh_public_keys: vec![],
            nics: VmNics::New(NewNic {
                subnet: vnet.child("subnets", "default"),
                private_ip_address: None,
                enable_ip_forwarding: false,
                public_ip: Side::New(
                    ResourceId::network("s", "rg", "publicIPAddresses", &public_ip_name("web")),
                    PublicIpSku::Standard,
                ),
                nsg,
            }),
            running: true,
        }
        .changes()
    }

    fn rule(changes: &[Change]) -> Option<&SecurityRuleSpec> {
        changes.iter().find_map(|c| match c {
            Change::PutSecurityRule(r) => Some(r),
            _ => None,
        })
    }

    #[test]
    fn a_linux_vm_gets_nic_public_ip_and_an_nsg_allowing_ssh() {
        let nsg = ResourceId::network("s", "rg", "networkSecurityGroups", &nsg_name("web"));
        let changes = create("Ubuntu2404", Side::New(nsg, NsgRule::for_image("Ubuntu2404")));
        let r = rule(&changes).expect("a rule");
        assert_eq!(r.id.name(), "default-allow-ssh");
        assert_eq!((r.priority, r.protocol.as_str()), (1000, "Tcp"));
        assert_eq!(r.destination_port_ranges, ["22"]);
        let Some(Change::PutNetworkInterface(nic)) =
            changes.iter().find(|c| matches!(c, Change::PutNetworkInterface(_)))
        else {
            panic!("no NIC in {changes:?}");
        };
        assert_eq!(nic.id.name(), "webVMNic");
        assert_eq!(nic.network_security_group.as_ref().map(|n| n.name()), Some("webNSG"));
        assert_eq!(nic.public_ip_address.as_ref().map(|p| p.name()), Some("webPublicIP"));
        assert!(
            matches!(changes.last(), Some(Change::PutVirtualMachine(v)) if v.network_interfaces == [nic.id.clone()])
        );
    }

    #[test]
    fn a_windows_image_gets_the_rdp_rule() {
        for image in [
            "Win2022Datacenter",
            "MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2:latest",
        ] {
            let nsg = ResourceId::network("s", "rg", "networkSecurityGroups", "webNSG");
            let changes = create(image, Side::New(nsg, NsgRule::for_image(image)));
            let r = rule(&changes).expect("a rule");
            assert_eq!((r.id.name(), r.destination_port_ranges[0].as_str()), ("rdp", "3389"));
        }
    }

    #[test]
    fn an_existing_nsg_is_referenced_not_made() {
        let nsg = ResourceId::network("s", "rg", "networkSecurityGroups", "shared");
        let changes = create("Ubuntu2404", Side::Existing(nsg));
        assert!(
            !changes
                .iter()
                .any(|c| matches!(c, Change::PutNetworkSecurityGroup { .. } | Change::PutSecurityRule(_)))
        );
    }
}
