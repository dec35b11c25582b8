//! `az vm`: create (with the resources az makes alongside), list, show,
//! delete, start/stop/deallocate and run-command.

use serde_json::{Value, json};

use super::args::{Args, Leaf, choice, flag, location, many, name, opt, req, rg, tags, yes};
use super::{AzError, Ctx, Handler, Reply, render, table_rows};
use crate::model::vm_create::{self, NewNic, NsgRule, Side, VmCreate, VmNics};
use crate::model::{
    Change, GATEWAY_SUBNET, NETWORK, PowerState, PublicIpSku, ROUTE_SERVER_SUBNET, ResourceId, SubnetSpec, VnetSpec,
};

pub fn leaves() -> Vec<Leaf<Handler>> {
    vec![
        Leaf {
            path: "vm create",
            about: "Create an Azure Virtual Machine.",
            args: vec![
                rg(),
                name(),
                location(),
                req("image"),
                opt("size"),
                opt("vnet-name"),
                opt("subnet"),
                opt("vnet-address-prefix"),
                opt("subnet-address-prefix"),
                opt("private-ip-address"),
                opt("public-ip-address"),
                choice("public-ip-sku", &["Basic", "Standard"]),
                opt("nsg"),
                choice("nsg-rule", &["SSH", "RDP", "NONE"]),
                many("nics"),
                opt("admin-username"),
                opt("admin-password"),
                choice("authentication-type", &["password", "ssh", "all"]),
                flag("generate-ssh-keys"),
                many("ssh-key-values").alias("ssh-key-value"),
                tags(),
                flag("no-wait"),
            ],
            run: create,
        },
        Leaf {
            path: "vm list",
            about: "List details of Virtual Machines.",
            args: vec![opt("resource-group").short('g'), flag("show-details").short('d')],
            run: list,
        },
        Leaf {
            path: "vm show",
            about: "Get the details of a VM.",
            args: vec![rg(), name(), flag("show-details").short('d')],
            run: show,
        },
        Leaf {
            path: "vm delete",
            about: "Delete a VM.",
            args: vec![rg(), name(), yes(), flag("no-wait")],
            run: delete,
        },
        Leaf {
            path: "vm start",
            about: "Start a stopped VM.",
            args: vec![rg(), name(), flag("no-wait")],
            run: start,
        },
        Leaf {
            path: "vm restart",
            about: "Restart a VM (its DHCP lease renews: new DNS settings reach its resolv.conf).",
            args: vec![rg(), name(), flag("force"), flag("no-wait")],
            run: restart,
        },
        Leaf {
            path: "vm stop",
            about: "Power off (stop) a running VM.",
            args: vec![rg(), name(), flag("skip-shutdown"), flag("no-wait")],
            run: stop,
        },
        Leaf {
            path: "vm deallocate",
            about: "Deallocate a VM so that computing resources are no longer allocated.",
            args: vec![rg(), name(), flag("no-wait")],
            run: deallocate,
        },
        Leaf {
            path: "vm run-command invoke",
            about: "Execute a specific run command on a vm.",
            args: vec![
                rg(),
                name(),
                choice("command-id", &["RunShellScript"]).required(true),
                many("scripts"),
                many("parameters"),
            ],
            run: run_command,
        },
    ]
}

fn vm_id(ctx: &Ctx, a: &Args) -> ResourceId {
    VmCreate::vm_id(ctx.sub(), a.must("resource-group"), a.must("name"))
}

/// The subnet a new VM goes into, and the changes that create it first
/// when az would (§9.6).
fn placement(ctx: &Ctx, a: &Args, vm: &str, location: &str) -> Result<(ResourceId, Vec<Change>), AzError> {
    let rg = a.must("resource-group");
    let m = ctx.model();
    let vnet_prefix = a.str("vnet-address-prefix").unwrap_or(vm_create::DEFAULT_VNET_PREFIX);
    let subnet_prefix = a
        .str("subnet-address-prefix")
        .unwrap_or(vm_create::DEFAULT_SUBNET_PREFIX);
    let usable = |s: &crate::model::Subnet| {
        !s.name.eq_ignore_ascii_case(GATEWAY_SUBNET) && !s.name.eq_ignore_ascii_case(ROUTE_SERVER_SUBNET)
    };
    let new_subnet = |vnet: &ResourceId, name: &str| {
        Change::PutSubnet(SubnetSpec {
            id: vnet.child("subnets", name),
            address_prefix: subnet_prefix.into(),
            network_security_group: None,
            route_table: None,
            default_outbound_access: None,
        })
    };
    let new_vnet = |vnet: &ResourceId| {
        Change::PutVirtualNetwork(VnetSpec {
            id: vnet.clone(),
            location: Some(location.into()),
            address_prefixes: vec![vnet_prefix.into()],
            flow_timeout_in_minutes: None,
            dns_servers: None,
        })
    };
    match (a.str("subnet"), a.str("vnet-name")) {
        (Some(s), _) if s.starts_with('/') => Ok((ctx.reference(s, rg, NETWORK, "virtualNetworks")?, vec![])),
        (Some(_), None) => Err(AzError::Usage(
            "incorrect usage: --subnet ID | --subnet NAME --vnet-name NAME".into(),
        )),
        (subnet, Some(vnet_name)) => {
            let vnet = ctx.net_id(rg, "virtualNetworks", vnet_name);
            let subnet_name = subnet.map_or_else(|| vm_create::subnet_name(vm), str::to_string);
            match m.virtual_networks.get(&vnet) {
                Some(v) => match (subnet, v.subnet(&subnet_name), v.subnets.iter().find(|s| usable(s))) {
                    (Some(_), Some(s), _) => Ok((s.id.clone(), vec![])),
                    (None, _, Some(s)) => Ok((s.id.clone(), vec![])),
                    _ => Ok((
                        vnet.child("subnets", &subnet_name),
                        vec![new_subnet(&vnet, &subnet_name)],
                    )),
                },
                None => Ok((
                    vnet.child("subnets", &subnet_name),
                    vec![new_vnet(&vnet), new_subnet(&vnet, &subnet_name)],
                )),
            }
        }
        (None, None) => {
            let scope = ctx.rg_id(rg);
            let reuse = m
                .virtual_networks
                .values()
                .filter(|v| v.id.is_within(scope.as_str()) && v.location.eq_ignore_ascii_case(location))
                .find_map(|v| v.subnets.iter().find(|s| usable(s)));
            match reuse {
                Some(s) => Ok((s.id.clone(), vec![])),
                None => {
                    let vnet = ctx.net_id(rg, "virtualNetworks", &vm_create::vnet_name(vm));
                    let name = vm_create::subnet_name(vm);
                    Ok((
                        vnet.child("subnets", &name),
                        vec![new_vnet(&vnet), new_subnet(&vnet, &name)],
                    ))
                }
            }
        }
    }
}

/// Who may log in: az's rules for --authentication-type, passwords and keys.
fn credentials(ctx: &mut Ctx, a: &Args) -> Result<(Option<String>, Vec<String>), AzError> {
    let password = a.str("admin-password").map(str::to_string);
    let given_keys = a.list("ssh-key-values");
    let auth = a.str("authentication-type").map(str::to_string).unwrap_or_else(|| {
        if password.is_some() {
            "password".into()
        } else {
            "ssh".into()
        }
    });
    let keys = |ctx: &mut Ctx| -> Result<Vec<String>, AzError> {
        if let Some(values) = &given_keys {
            return values.iter().map(|v| read_key(v)).collect();
        }
        match ctx.backend.ssh_public_key(a.flag("generate-ssh-keys"))? {
            Some(k) => Ok(vec![k]),
            None => Err(AzError::Cli("An RSA key file or key value must be supplied to SSH Key Value. You can use --generate-ssh-keys to let CLI generate one for you".into())),
        }
    };
    match auth.as_str() {
        "password" => {
            if given_keys.is_some() {
                return Err(AzError::Cli(
                    "SSH key cannot be used with password authentication type.".into(),
                ));
            }
            let Some(p) = password else {
                return Err(AzError::Cli("Please specify password in non-interactive mode.".into()));
            };
            Ok((Some(p), vec![]))
        }
        "ssh" => {
            if password.is_some() {
                return Err(AzError::Cli(
                    "Admin password cannot be used with SSH authentication type.".into(),
                ));
            }
            Ok((None, keys(ctx)?))
        }
        _ => {
            let Some(p) = password else {
                return Err(AzError::Cli("Please specify password in non-interactive mode.".into()));
            };
            Ok((Some(p), keys(ctx)?))
        }
    }
}

/// A key given on the command line, or a file that holds one.
fn read_key(value: &str) -> Result<String, AzError> {
    let v = value.trim();
    if v.starts_with("ssh-") || v.starts_with("ecdsa-") {
        return Ok(v.to_string());
    }
    let path = match v.strip_prefix("~/") {
        Some(rest) => std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest),
        None => std::path::PathBuf::from(v),
    };
    std::fs::read_to_string(&path).map(|k| k.trim().to_string()).map_err(|_| AzError::Cli(format!("An RSA key file or key value must be supplied to SSH Key Value. '{value}' is neither a public key nor a readable file.")))
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let rg = a.must("resource-group");
    let vm = a.must("name");
    let location = crate::model::regions::normalize(a.str("location").unwrap_or(&ctx.group(rg)?.location));
    let mut image = a.must("image");
    if let Some(current) = render::current_alias(image) {
        // A deliberate difference from az (docs/az.md): published exercises
        // still say `--image UbuntuLTS`.
        ctx.warn(format!(
            "The image alias '{image}' was retired: az 2.91 refuses it (Invalid image \"{image}\"). \
             vnetlab creates the VM from '{current}' instead; write --image {current}."
        ));
        image = current;
    }
    if render::image_urn(image).is_none() {
        let aliases: Vec<String> = render::IMAGE_ALIASES.iter().map(|(n, _)| format!("'{n}'")).collect();
        return Err(AzError::Cli(format!(
            "Invalid image \"{image}\". Use a valid image URN, custom image name, custom image id, VHD blob URI, or pick an image from [{}].",
            aliases.join(", ")
        )));
    }
    let (password, keys) = credentials(ctx, &a)?;
    let mut changes = Vec::new();
    let nics = match a.list("nics") {
        Some(nics) => VmNics::Existing(
            nics.iter()
                .map(|n| ctx.reference(n, rg, NETWORK, "networkInterfaces"))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => {
            let (subnet, mut made) = placement(ctx, &a, vm, &location)?;
            changes.append(&mut made);
            // az makes the NSG and public IP it names (or is given) when
            // they do not exist yet, and refers to them when they do.
            let nsg = match a.str("nsg") {
                Some("") => Side::None,
                given => {
                    let name = given.map_or_else(|| vm_create::nsg_name(vm), str::to_string);
                    let id = ctx.reference(&name, rg, NETWORK, "networkSecurityGroups")?;
                    if ctx.model().network_security_groups.contains_key(&id) {
                        Side::Existing(id)
                    } else {
                        let rule = a
                            .str("nsg-rule")
                            .and_then(NsgRule::parse)
                            .unwrap_or_else(|| NsgRule::for_image(image));
                        Side::New(id, rule)
                    }
                }
            };
            let public_ip = match a.str("public-ip-address") {
                Some("") => Side::None,
                given => {
                    let name = given.map_or_else(|| vm_create::public_ip_name(vm), str::to_string);
                    let id = ctx.reference(&name, rg, NETWORK, "publicIPAddresses")?;
                    if ctx.model().public_ip_addresses.contains_key(&id) {
                        Side::Existing(id)
                    } else if a.str("public-ip-sku") == Some("Basic") {
                        Side::New(id, PublicIpSku::Basic)
                    } else {
                        Side::New(id, PublicIpSku::Standard)
                    }
                }
            };
            VmNics::New(NewNic {
                subnet,
                private_ip_address: a.str("private-ip-address").map(str::to_string),
                enable_ip_forwarding: false,
                public_ip,
                nsg,
            })
        }
    };
    let id = vm_id(ctx, &a);
    changes.extend(
        VmCreate {
            id: id.clone(),
            location: Some(location),
            size: a.str("size").unwrap_or(vm_create::DEFAULT_VM_SIZE).into(),
            image: image.into(),
            admin_username: a.str("admin-username").map_or_else(default_admin, str::to_string),
            admin_password: password,
            ssh_public_keys: keys,
            nics,
            running: true,
        }
        .changes(),
    );
    tag_created(&mut changes, &a);
    ctx.apply(changes)?;
    if a.flag("no-wait") {
        return Ok(Reply::Nothing);
    }
    let m = ctx.model();
    let v = ctx.existing(&m.virtual_machines, &id)?;
    let d = render::vm_details(m, v);
    let first = |k: &str| {
        d[k].as_str()
            .and_then(|s| s.split(',').next())
            .unwrap_or("")
            .to_string()
    };
    Ok(Reply::Value(json!({
        "fqdns": "",
        "id": v.id.as_str(),
        "location": v.location,
        "macAddress": first("macAddresses"),
        "powerState": d["powerState"],
        "privateIpAddress": d["privateIps"],
        "publicIpAddress": d["publicIps"],
        "zones": "",
    })))
}

/// az's default admin name is the local user's, as `getpass.getuser()` finds it.
fn default_admin() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "azureuser".into())
}

/// az's transform_vm (vm/_format.py), §9.5.
fn vm_table(v: &Value) -> Value {
    let row = |vm: &Value| {
        let mut r = serde_json::Map::new();
        for (col, key) in [
            ("Name", "name"),
            ("ResourceGroup", "resourceGroup"),
            ("PowerState", "powerState"),
            ("PublicIps", "publicIps"),
            ("Fqdns", "fqdns"),
            ("Location", "location"),
        ] {
            r.insert(col.into(), vm.get(key).cloned().unwrap_or(Value::Null));
        }
        if let Some(z) = vm.get("zones") {
            r.insert(
                "Zones".into(),
                json!(
                    z.as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
                        .unwrap_or_default()
                ),
            );
        }
        Value::Object(r)
    };
    table_rows(v, row)
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let details = a.flag("show-details");
    Ok(Reply::Table(
        ctx.list(
            a.str("resource-group"),
            |m| &m.virtual_machines,
            |m, v| render::vm(m, v, details),
        )?,
        vm_table,
    ))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let m = ctx.model();
    let v = ctx.existing(&m.virtual_machines, &vm_id(ctx, &a))?;
    Ok(Reply::Table(render::vm(m, v, a.flag("show-details")), vm_table))
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = vm_id(ctx, &a);
    ctx.existing(&ctx.model().virtual_machines, &id)?;
    super::confirm(ctx, &a)?;
    ctx.apply(vec![Change::DeleteVirtualMachine(id)])?;
    Ok(Reply::Nothing)
}

fn power(ctx: &mut Ctx, a: Args, state: PowerState) -> Result<Reply, AzError> {
    let id = vm_id(ctx, &a);
    super::actions::set_power(ctx, id, state)?;
    Ok(Reply::Nothing)
}

fn start(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    power(ctx, a, PowerState::Running)
}

fn restart(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = vm_id(ctx, &a);
    super::actions::restart(ctx, id)?;
    Ok(Reply::Nothing)
}

fn stop(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    power(ctx, a, PowerState::Stopped)
}

fn deallocate(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    power(ctx, a, PowerState::Deallocated)
}

fn run_command(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = vm_id(ctx, &a);
    let script = a.list("scripts").unwrap_or_default();
    let params = a.list("parameters").unwrap_or_default();
    Ok(Reply::Value(super::actions::run_shell_script(
        ctx, &id, &script, &params,
    )?))
}

/// `--tags` lands on every resource `vm create` makes, as az's template
/// gives them to each (an existing VNet, NSG or public IP it uses keeps its own).
// Azure: azure-cli vm/_template_builder.py, `build_vnet_resource`,
// `build_nsg_resource`, `build_public_ip_resource`, `build_nic_resource`
// and `build_vm_resource` all take the command's `tags`.
fn tag_created(changes: &mut Vec<Change>, a: &Args) {
    let Some(tags) = a.tags() else {
        return;
    };
    let made: Vec<ResourceId> = changes
        .iter()
        .filter_map(|c| match c {
            Change::PutVirtualNetwork(s) => Some(s.id.clone()),
            Change::PutNetworkSecurityGroup { id, .. } => Some(id.clone()),
            Change::PutPublicIp(s) => Some(s.id.clone()),
            Change::PutNetworkInterface(s) => Some(s.id.clone()),
            Change::PutVirtualMachine(s) => Some(s.id.clone()),
            _ => None,
        })
        .collect();
    changes.extend(made.into_iter().map(|id| Change::SetTags { id, tags: tags.clone() }));
}
