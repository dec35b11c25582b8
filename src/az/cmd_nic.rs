//! `az network nic` and `az network public-ip`.

use serde_json::{Value, json};

use super::args::{Args, Leaf, boolean, choice, flag, location, many, name, opt, rg};
use super::cmd_network::optional_ref;
use super::{AzError, Ctx, Handler, Reply, render, table_rows};
use crate::model::{
    AddressPrefix, Change, Direction, IpAllocation, Model, NetworkInterface, NetworkSecurityGroup, NicSpec, PortRange,
    Protocol, PublicIpSku, PublicIpSpec, ResourceId, SecurityRule, ServiceTag, default_security_rules,
};

pub fn leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "network nic list",
            about: "List network interfaces.",
            args: vec![opt("resource-group").short('g')],
            run: list,
        },
        Leaf {
            path: "network nic show",
            about: "Get the details of a network interface.",
            args: vec![rg(), name()],
            run: show,
        },
        Leaf {
            path: "network nic update",
            about: "Update a network interface.",
            args: vec![
                rg(),
                name(),
                boolean("ip-forwarding"),
                many("dns-servers"),
                opt("network-security-group").alias("nsg"),
                opt("private-ip-address"),
            ],
            run: update,
        },
        Leaf {
            path: "network nic delete",
            about: "Delete a network interface.",
            args: vec![rg(), name(), flag("no-wait")],
            run: delete,
        },
        Leaf {
            path: "network nic show-effective-route-table",
            about: "Show the effective route table applied to a network interface.",
            args: vec![rg(), name()],
            run: effective_routes,
        },
        Leaf {
            path: "network nic list-effective-nsg",
            about: "List all effective network security groups applied to a network interface.",
            args: vec![rg(), name()],
            run: effective_nsg,
        },
        Leaf {
            path: "network public-ip create",
            about: "Create a public IP address.",
            args: vec![
                rg(),
                name(),
                location(),
                choice("sku", &["Basic", "Standard"]),
                choice("allocation-method", &["Dynamic", "Static"]),
                choice("version", &["IPv4", "IPv6"]),
                flag("no-wait"),
            ],
            run: pip_create,
        },
        Leaf {
            path: "network public-ip list",
            about: "List public IP addresses.",
            args: vec![opt("resource-group").short('g')],
            run: pip_list,
        },
        Leaf {
            path: "network public-ip show",
            about: "Get the details of a public IP address.",
            args: vec![rg(), name()],
            run: pip_show,
        },
        Leaf {
            path: "network public-ip delete",
            about: "Delete a public IP address.",
            args: vec![rg(), name(), flag("no-wait")],
            run: pip_delete,
        },
    ]
}

fn nic_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "networkInterfaces", a.must("name"))
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Value(ctx.list(
        a.str("resource-group"),
        |m| &m.network_interfaces,
        render::nic,
    )?))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let n = ctx.existing(&ctx.model().network_interfaces, &nic_id(ctx, &a))?;
    Ok(Reply::Value(render::nic(ctx.model(), n)))
}

/// Like every az delete, absent is no error; a NIC a VM still holds is
/// refused by the model (Azure's NicInUse).
fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = nic_id(ctx, &a);
    let present = ctx.model().network_interfaces.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteNetworkInterface(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let n = ctx.existing(&ctx.model().network_interfaces, &nic_id(ctx, &a))?;
    let spec = NicSpec {
        id: n.id.clone(),
        location: Some(n.location.clone()),
        subnet: n.subnet.clone(),
        private_ip_address: a.str("private-ip-address").map(str::to_string).or_else(|| {
            (n.private_ip_allocation_method == IpAllocation::Static).then(|| n.private_ip_address.to_string())
        }),
        enable_ip_forwarding: a.bool("ip-forwarding").unwrap_or(n.enable_ip_forwarding),
        network_security_group: optional_ref(ctx, a.str("network-security-group"), rg, "networkSecurityGroups")?
            .unwrap_or_else(|| n.network_security_group.clone()),
        public_ip_address: n.public_ip_address.clone(),
        dns_servers: dns_servers_arg(&a),
    };
    ctx.apply(vec![Change::PutNetworkInterface(spec)])?;
    show(ctx, a)
}

fn effective_routes(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let n = ctx.existing(&ctx.model().network_interfaces, &nic_id(ctx, &a))?;
    running_vm(ctx.model(), n)?;
    Ok(Reply::Table(
        render::effective_route_table(ctx.model(), &n.subnet),
        render::effective_route_rows,
    ))
}

/// Effective routes and NSGs exist only for a NIC of a running VM (§8.4).
fn running_vm(m: &Model, n: &NetworkInterface) -> Result<(), AzError> {
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

fn effective_nsg(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let m = ctx.model();
    let n = ctx.existing(&m.network_interfaces, &nic_id(ctx, &a))?;
    running_vm(m, n)?;
    let routes = crate::routing::effective_routes(m, &n.subnet);
    let vnet_tag: Vec<String> = crate::routing::virtual_network_tag(m, &n.subnet, &routes)
        .iter()
        .map(|p| p.to_string())
        .collect();
    let mut value = Vec::new();
    let subnet_nsg = m.subnet(&n.subnet).and_then(|(_, s)| s.network_security_group.clone());
    for (nsg_id, association) in [
        (subnet_nsg, json!({ "subnet": { "id": n.subnet.as_str() } })),
        (
            n.network_security_group.clone(),
            json!({ "networkInterface": { "id": n.id.as_str() } }),
        ),
    ] {
        let Some(nsg) = nsg_id.and_then(|id| m.network_security_groups.get(&id)) else {
            continue;
        };
        value.push(json!({
            "association": association,
            "effectiveSecurityRules": effective_rules(nsg, &vnet_tag),
            "networkSecurityGroup": { "id": nsg.id.as_str() },
        }));
    }
    Ok(Reply::Table(json!({ "value": value }), effective_nsg_rows))
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

/// az's transform_effective_nsg.
fn effective_nsg_rows(v: &Value) -> Value {
    let last = |id: &Value| {
        id.as_str()
            .and_then(|s| s.rsplit('/').next())
            .unwrap_or("-")
            .to_string()
    };
    let mut rows = Vec::new();
    for item in v["value"].as_array().into_iter().flatten() {
        let nic = last(&item["association"]["networkInterface"]["id"]);
        let subnet = last(&item["association"]["subnet"]["id"]);
        let nsg = last(&item["networkSecurityGroup"]["id"]);
        for r in item["effectiveSecurityRules"].as_array().into_iter().flatten() {
            rows.push(json!({ "NIC": nic, "Subnet": subnet, "NSG": nsg, "Rule Name": r["name"], "Protocol": r["protocol"], "Direction": r["direction"], "Access": r["access"] }));
        }
    }
    Value::Array(rows)
}

fn pip_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Table(
        ctx.list(a.str("resource-group"), |m| &m.public_ip_addresses, render::public_ip)?,
        pip_table,
    ))
}

/// az's public-ip list table (§9.5).
fn pip_table(v: &Value) -> Value {
    let row = |p: &Value| {
        json!({
            "Name": p["name"],
            "ResourceGroup": p["resourceGroup"],
            "Location": p["location"],
            "Zones": p.get("zones").map(|z| z.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")).unwrap_or_default()).unwrap_or_default(),
            "Address": p["ipAddress"],
            "AddressVersion": p["publicIPAddressVersion"],
            "AllocationMethod": p["publicIPAllocationMethod"],
            "IdleTimeoutInMinutes": p["idleTimeoutInMinutes"],
            "ProvisioningState": p["provisioningState"],
        })
    };
    table_rows(v, row)
}

fn pip_id(ctx: &Ctx, a: &Args) -> ResourceId {
    ctx.net_id(a.must("resource-group"), "publicIPAddresses", a.must("name"))
}

/// `public-ip create`: Standard unless `--sku Basic`, as current az does.
/// vnetlab hands out every address at once, so it holds static ones only.
fn pip_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = pip_id(ctx, &a);
    let sku = if a.str("sku") == Some("Basic") {
        PublicIpSku::Basic
    } else {
        PublicIpSku::Standard
    };
    if a.str("version") == Some("IPv6") {
        return Err(AzError::Cli(
            "vnetlab models IPv4 only: create the public IP with --version IPv4 (the default).".into(),
        ));
    }
    if a.str("allocation-method") == Some("Dynamic") {
        return Err(match sku {
            PublicIpSku::Standard => AzError::Service {
                code: "StandardSkuPublicIPAddressesMustBeStatic",
                message: format!("Standard sku publicIp {id} must have AllocationMethod set to Static."),
            },
            PublicIpSku::Basic => AzError::Cli("vnetlab allocates every public IP statically: leave out --allocation-method Dynamic, or use --allocation-method Static.".into()),
        });
    }
    ctx.apply(vec![Change::PutPublicIp(PublicIpSpec {
        id: id.clone(),
        location: a.str("location").map(str::to_string),
        sku,
    })])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let p = ctx.existing(&ctx.model().public_ip_addresses, &id)?;
    Ok(Reply::Value(json!({ "publicIp": render::public_ip(ctx.model(), p) })))
}

fn pip_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let p = ctx.existing(&ctx.model().public_ip_addresses, &pip_id(ctx, &a))?;
    Ok(Reply::Value(render::public_ip(ctx.model(), p)))
}

fn pip_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = pip_id(ctx, &a);
    let present = ctx.model().public_ip_addresses.contains_key(&id);
    ctx.delete_if_present(present, Change::DeletePublicIp(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// `--dns-servers A B`, or `--dns-servers ""` to clear: `None` when absent
/// (keep what is set). Shared by the VNet and NIC commands.
pub(super) fn dns_servers_arg(a: &Args) -> Option<Vec<String>> {
    a.list("dns-servers")
        .map(|v| v.into_iter().filter(|s| !s.trim().is_empty()).collect())
}
