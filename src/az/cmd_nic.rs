//! `az network nic` and `az network public-ip`.

use serde_json::{Value, json};

use super::args::{Args, Leaf, boolean, choice, flag, location, many, name, opt, rg, tags};
use super::cmd_network::optional_ref;
use super::{AzError, Ctx, Handler, Reply, render, table_rows};
use crate::model::{Change, IpAllocation, NicSpec, PublicIpSku, PublicIpSpec, ResourceId};

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
                tags(),
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
                tags(),
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
            path: "network public-ip update",
            about: "Update a public IP address.",
            args: vec![
                rg(),
                name(),
                choice("sku", &["Basic", "Standard", "StandardV2"]),
                choice("allocation-method", &["Dynamic", "Static"]),
                choice("version", &["IPv4", "IPv6"]),
                opt("idle-timeout"),
                opt("dns-name"),
                tags(),
                flag("no-wait"),
            ],
            run: pip_update,
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

/// The group's NICs, then its private endpoints' NICs (the ARM endpoint
/// lists them in the same order).
fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.str("resource-group");
    let mut nics = ctx.list(rg, |m| &m.network_interfaces, render::nic)?;
    let endpoints = ctx.list(rg, |m| &m.private_endpoints, render::private_endpoint_nic)?;
    if let (Value::Array(nics), Value::Array(more)) = (&mut nics, endpoints) {
        nics.extend(more);
    }
    Ok(Reply::Value(nics))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = nic_id(ctx, &a);
    if let Some(pe) = ctx.model().private_endpoint_of_nic(&id) {
        return Ok(Reply::Value(render::private_endpoint_nic(ctx.model(), pe)));
    }
    let n = ctx.existing(&ctx.model().network_interfaces, &id)?;
    Ok(Reply::Value(render::nic(ctx.model(), n)))
}

/// Like every az delete, absent is no error; a NIC a VM still holds, or a
/// private endpoint's, is refused by the model (NicInUse,
/// CannotModifyNicAttachedToPrivateEndpoint).
fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = nic_id(ctx, &a);
    let m = ctx.model();
    let present = m.network_interfaces.contains_key(&id) || m.private_endpoint_of_nic(&id).is_some();
    ctx.delete_if_present(present, Change::DeleteNetworkInterface(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    ctx.model().refuse_private_endpoint_nic(&nic_id(ctx, &a))?;
    let n = ctx.existing(&ctx.model().network_interfaces, &nic_id(ctx, &a))?;
    let spec = NicSpec {
        ip_configuration_name: None,
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
    let tags = a.tags_update(&n.id);
    ctx.apply([Change::PutNetworkInterface(spec)].into_iter().chain(tags).collect())?;
    show(ctx, a)
}

fn effective_routes(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let n = ctx.existing(&ctx.model().network_interfaces, &nic_id(ctx, &a))?;
    super::actions::running_vm(ctx.model(), n)?;
    Ok(Reply::Table(
        render::effective_route_table(ctx.model(), &n.subnet),
        render::effective_route_rows,
    ))
}

fn effective_nsg(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let n = ctx.existing(&ctx.model().network_interfaces, &nic_id(ctx, &a))?;
    Ok(Reply::Table(
        super::actions::effective_nsgs(ctx.model(), n)?,
        effective_nsg_rows,
    ))
}

/// az's transform_effective_nsg.
fn effective_nsg_rows(v: &Value) -> Value {
    // azure-mgmt-core's parse_resource_id(...)['name']: the top-level
    // resource's name, so a subnet's is its VNet's (what az prints).
    let last = |id: &Value| id.as_str().and_then(|s| s.split('/').nth(8)).unwrap_or("-").to_string();
    let mut rows = Vec::new();
    for item in v["value"].as_array().into_iter().flatten() {
        let nic = last(&item["association"]["networkInterface"]["id"]);
        let subnet = last(&item["association"]["subnet"]["id"]);
        let nsg = last(&item["networkSecurityGroup"]["id"]);
        // az names the NIC, subnet and NSG on an NSG's first row only.
        for (i, r) in item["effectiveSecurityRules"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = |s: &str| if i == 0 { s.to_string() } else { " ".to_string() };
            rows.push(json!({ "NIC": name(&nic), "Subnet": name(&subnet), "NSG": name(&nsg), "Rule Name": r["name"], "Protocol": r["protocol"], "Direction": r["direction"], "Access": r["access"] }));
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
    pip_refusals(&a, &id, sku)?;
    ctx.apply(vec![
        Change::PutPublicIp(PublicIpSpec {
            id: id.clone(),
            location: a.str("location").map(str::to_string),
            sku,
        }),
        a.tags_put(&id),
    ])?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let p = ctx.existing(&ctx.model().public_ip_addresses, &id)?;
    Ok(Reply::Value(json!({ "publicIp": render::public_ip(ctx.model(), p) })))
}

/// What the model cannot hold of a public IP: IPv6 and dynamic addresses.
fn pip_refusals(a: &Args, id: &ResourceId, sku: PublicIpSku) -> Result<(), AzError> {
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
    Ok(())
}

/// `public-ip update`: the tags, a Basic IP's upgrade to Standard; the
/// settings vnetlab keeps fixed (idle timeout 4 minutes, no DNS label)
/// are refused with what to do.
// Azure: "Upgrade a public IP address" (learn.microsoft.com/azure/virtual-network/ip-services/public-ip-upgrade-portal):
// a static Basic IP upgrades to Standard in place; Standard cannot go back to Basic.
fn pip_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = pip_id(ctx, &a);
    let p = ctx.existing(&ctx.model().public_ip_addresses, &id)?;
    let (location, current) = (p.location.clone(), p.sku);
    let sku = match a.str("sku") {
        None => current,
        Some("Standard") => PublicIpSku::Standard,
        Some("Basic") if current == PublicIpSku::Basic => PublicIpSku::Basic,
        Some("Basic") => {
            return Err(AzError::Service {
                code: "BadRequest",
                message: format!(
                    "Public IP address {id} has sku Standard, which cannot be changed to Basic. Create a Basic public IP instead."
                ),
            });
        }
        Some(other) => {
            return Err(AzError::Cli(format!(
                "vnetlab models the Basic and Standard public IP SKUs only, not {other}: use --sku Standard."
            )));
        }
    };
    pip_refusals(&a, &id, sku)?;
    if a.int::<u32>("idle-timeout")?.is_some_and(|t| t != 4) {
        return Err(AzError::Cli(
            "vnetlab keeps every public IP's idle timeout at 4 minutes (Azure's default): leave out --idle-timeout."
                .into(),
        ));
    }
    if a.str("dns-name").is_some() {
        return Err(AzError::Cli(
            "vnetlab gives public IPs no DNS name label (the lab has no public DNS zone): leave out --dns-name.".into(),
        ));
    }
    let mut changes = vec![Change::PutPublicIp(PublicIpSpec {
        id: id.clone(),
        location: Some(location),
        sku,
    })];
    changes.extend(a.tags_update(&id));
    ctx.apply(changes)?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    pip_show(ctx, a)
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
