//! Actions on a resource that both fronts take: az's `vm start`,
//! `vm run-command invoke` or `nic list-effective-nsg`, and ARM's POST
//! `.../start`, `.../runCommand` or `.../effectiveNetworkSecurityGroups`,
//! so the shim and the real az get the same answer from one function.

use serde_json::{Value, json};

use super::{AzError, Ctx};
use crate::model::{
    AddressPrefix, AzureError, Change, Direction, ErrorCode, Model, NetworkInterface, NetworkSecurityGroup, PortRange,
    PowerState, Protocol, ResourceId, SecurityRule, ServiceTag, default_security_rules,
};

/// Effective routes and NSGs exist only for a NIC of a running VM (§8.4).
pub fn running_vm(m: &Model, n: &NetworkInterface) -> Result<(), AzError> {
    let running = n
        .virtual_machine
        .as_ref()
        .and_then(|vm| m.virtual_machines.get(vm))
        .is_some_and(|vm| vm.power_state == crate::model::PowerState::Running);
    if running {
        Ok(())
    } else {
        Err(crate::model::AzureError::new(
            crate::model::ErrorCode::BadRequest,
            format!("Network interface {} is not attached to a running virtual machine. Effective routes and security rules exist only for NICs of running VMs: start the VM (az vm start) first.", n.name),
        )
        .into())
    }
}

/// `vm start` / `stop` / `deallocate` (ARM: `start`, `powerOff`, `deallocate`).
pub fn set_power(ctx: &mut Ctx, id: ResourceId, state: PowerState) -> Result<(), AzError> {
    ctx.existing(&ctx.model().virtual_machines, &id)?;
    ctx.apply(vec![Change::SetPowerState { vm: id, state }])
}

/// A restart is a stop and a start as the host sees it: the VM boots
/// again, and DHCP gives it the current DNS settings (name-resolution doc,
/// "Specify DNS servers": a reboot renews the lease).
pub fn restart(ctx: &mut Ctx, id: ResourceId) -> Result<(), AzError> {
    let vm = ctx.existing(&ctx.model().virtual_machines, &id)?;
    let (name, state) = (vm.name.clone(), vm.power_state);
    if state == PowerState::Deallocated {
        // Azure refuses to restart a deallocated VM; its code and sentence
        // are UNCONFIRMED.
        return Err(AzureError::new(
            ErrorCode::Conflict,
            format!(
                "Operation 'restart' is not allowed on VM '{name}' since the VM is deallocated. Start it with `az vm start`.",
            ),
        )
        .into());
    }
    ctx.apply(vec![Change::SetPowerState {
        vm: id.clone(),
        state: PowerState::Stopped,
    }])?;
    ctx.apply(vec![Change::SetPowerState {
        vm: id,
        state: PowerState::Running,
    }])
}

/// RunShellScript: `script` run as root in the VM, `params` as $1, $2, …;
/// the answer is the run-command result az prints.
// Azure: Virtual Machines - Run Command (REST), RunCommandResult:
// `{"value": [InstanceViewStatus]}`, stdout and stderr in one message.
pub fn run_shell_script(
    ctx: &mut Ctx,
    id: &ResourceId,
    script: &[String],
    params: &[String],
) -> Result<Value, AzError> {
    let v = ctx.existing(&ctx.model().virtual_machines, id)?;
    if v.power_state != PowerState::Running {
        return Err(AzError::Service {
            code: "Conflict",
            message: "The operation requires the VM to be running (or set to run).".into(),
        });
    }
    let name = v.name.clone();
    let mut text = String::new();
    if !params.is_empty() {
        text.push_str(&format!(
            "set -- {}\n",
            params.iter().map(|p| shell_quote(p)).collect::<Vec<_>>().join(" ")
        ));
    }
    text.push_str(&script.join("\n"));
    let out = ctx.backend.run_script(&name, &text)?;
    Ok(json!({
        "value": [{
            "code": "ProvisioningState/succeeded",
            "displayStatus": "Provisioning succeeded",
            "level": "Info",
            "message": format!("Enable succeeded: \n[stdout]\n{}\n[stderr]\n{}", out.stdout, out.stderr),
            "time": null,
        }]
    }))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `az network nic list-effective-nsg` and ARM's POST
/// `effectiveNetworkSecurityGroups`: the NSGs that apply to the NIC (its
/// subnet's, its own), their rules as the effective view spells them.
pub fn effective_nsgs(m: &Model, n: &NetworkInterface) -> Result<Value, AzError> {
    running_vm(m, n)?;
    let routes = crate::routing::effective_routes(m, &n.subnet);
    let vnet_tag: Vec<String> = crate::routing::virtual_network_tag(m, &n.subnet, &routes)
        .iter()
        .map(|p| p.to_string())
        .collect();
    let mut value = Vec::new();
    let subnet_nsg = m.subnet(&n.subnet).and_then(|(_, s)| s.network_security_group.clone());
    // Azure: each entry's association names both the NIC and its subnet
    // (the REST reference's example, NetworkInterfaceEffectiveNSGList.json);
    // az's table transformer reads both and stops without either.
    let association = json!({ "networkInterface": { "id": n.id.as_str() }, "subnet": { "id": n.subnet.as_str() } });
    for nsg_id in [subnet_nsg, n.network_security_group.clone()] {
        let Some(nsg) = nsg_id.and_then(|id| m.network_security_groups.get(&id)) else {
            continue;
        };
        value.push(json!({
            "association": association.clone(),
            "effectiveSecurityRules": effective_rules(nsg, &vnet_tag),
            "networkSecurityGroup": { "id": nsg.id.as_str() },
        }));
    }
    Ok(json!({ "value": value }))
}

/// Rules as the effective view spells them: `*` becomes 0.0.0.0/0 and
/// 0-65535, the protocol `*` becomes All, and tags are expanded.
fn effective_rules(nsg: &NetworkSecurityGroup, vnet_tag: &[String]) -> Vec<Value> {
    let prefix = |p: &AddressPrefix| match p {
        AddressPrefix::Any => "0.0.0.0/0".to_string(),
        other => other.to_string(),
    };
    let expand = |ps: &[AddressPrefix]| -> Vec<String> {
        ps.iter()
            .flat_map(|p| match p {
                AddressPrefix::Tag(ServiceTag::VirtualNetwork) => vnet_tag.to_vec(),
                other => vec![prefix(other)],
            })
            .collect()
    };
    let ports = |rs: &[PortRange]| {
        rs.iter()
            .map(|r| {
                if *r == PortRange::ANY {
                    "0-65535".to_string()
                } else {
                    format!("{}-{}", r.first, r.last)
                }
            })
            .collect::<Vec<_>>()
    };
    let rule = |r: &SecurityRule, kind: &str| {
        let protocol = if r.protocol == Protocol::Any {
            "All".to_string()
        } else {
            format!("{:?}", r.protocol)
        };
        json!({
            "access": format!("{:?}", r.access),
            "destinationAddressPrefix": r.destination_address_prefixes.first().map(prefix),
            "destinationAddressPrefixes": r.destination_address_prefixes.iter().map(prefix).collect::<Vec<_>>(),
            "destinationPortRange": ports(&r.destination_port_ranges).first(),
            "destinationPortRanges": ports(&r.destination_port_ranges),
            "direction": format!("{:?}", r.direction),
            "expandedDestinationAddressPrefix": expand(&r.destination_address_prefixes),
            "expandedSourceAddressPrefix": expand(&r.source_address_prefixes),
            "name": format!("{kind}/{}", r.name),
            "priority": r.priority,
            "protocol": protocol,
            "sourceAddressPrefix": r.source_address_prefixes.first().map(prefix),
            "sourceAddressPrefixes": r.source_address_prefixes.iter().map(prefix).collect::<Vec<_>>(),
            "sourcePortRange": ports(&r.source_port_ranges).first(),
            "sourcePortRanges": ports(&r.source_port_ranges),
        })
    };
    let mut out: Vec<(Direction, u32, Value)> = nsg
        .security_rules
        .iter()
        .map(|r| (r.direction, r.priority, rule(r, "securityRules")))
        .collect();
    out.extend(
        default_security_rules()
            .iter()
            .map(|r| (r.direction, r.priority, rule(r, "defaultSecurityRules"))),
    );
    out.sort_by_key(|(d, p, _)| (*d == Direction::Outbound, *p));
    out.into_iter().map(|(_, _, v)| v).collect()
}
