//! ARM's POST actions: a NIC's effective routes and security groups, a
//! VM's power actions and run command, and Network Watcher's next hop,
//! IP flow verify and connectivity check. Each calls the function the az
//! shim's command calls (`az::actions`, `az::watcher`), so the real az,
//! the SDK and the shim get one answer; the watcher's verdicts come from
//! the data plane's verdict function through `az::watcher`.
//!
//! Azure answers every one of these as a long-running operation: 202 with
//! `Azure-AsyncOperation` and `Location`; the operation's status says
//! Succeeded and its result (at `Location`) is the answer.
// Azure: "Asynchronous operations" (learn.microsoft.com/azure/azure-resource-manager/management/async-operations);
// the REST pages of Network Interfaces - Get Effective Route Table /
// List Effective Network Security Groups, Virtual Machines - Start /
// Power Off / Deallocate / Restart / Run Command, and Network Watchers -
// Get Next Hop / Verify IP Flow / Check Connectivity (all "202 Accepted").

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::{Arm, Request, Response, refused};
use crate::az::{AzError, Backend, Ctx, actions, watcher};
use crate::dataplane::{NicIdx, Tables};
use crate::model::{AzureError, Direction, ErrorCode, Model, NETWORK, PowerState, ResourceId};

/// The resource group Azure keeps the regions' network watchers in.
// Azure: "Enable or disable Azure Network Watcher" (learn.microsoft.com/azure/network-watcher/network-watcher-create):
// created automatically in NetworkWatcherRG as NetworkWatcher_<region>
// when a virtual network is created in a region.
pub const WATCHER_GROUP: &str = "NetworkWatcherRG";

fn watcher_id(sub: &str, location: &str) -> ResourceId {
    ResourceId::network(
        sub,
        WATCHER_GROUP,
        "networkWatchers",
        &format!("NetworkWatcher_{location}"),
    )
}

/// The network watchers of a subscription: one per region that holds a
/// virtual network, as Azure enables them.
pub fn watchers(m: &Model, sub: &str) -> Vec<Value> {
    let locations: std::collections::BTreeSet<&str> = m
        .virtual_networks
        .values()
        .filter(|v| v.id.subscription_id().eq_ignore_ascii_case(sub))
        .map(|v| v.location.as_str())
        .collect();
    locations
        .into_iter()
        .map(|l| {
            let id = watcher_id(sub, l);
            json!({
                "id": id.as_str(),
                "name": id.name(),
                "type": "Microsoft.Network/networkWatchers",
                "location": l,
                "etag": format!("W/\"{}\"", crate::az::render::guid(&id, "etag")),
                "properties": { "provisioningState": "Succeeded" },
            })
        })
        .collect()
}

fn az_refused(e: AzError) -> Response {
    match e {
        AzError::Azure(a) => refused(&a),
        AzError::Service { code, message } => {
            Response::error(if code == "Conflict" { 409 } else { 400 }, code, &message)
        }
        other => Response::error(400, "BadRequest", &other.to_string()),
    }
}

fn invalid(message: String) -> Response {
    refused(&AzureError::new(ErrorCode::InvalidParameter, message))
}

fn body(req: &Request) -> Result<Value, Response> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        Response::error(
            400,
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn address(v: &Value, key: &str) -> Result<Ipv4Addr, Response> {
    let s = text(v, key).unwrap_or("");
    s.parse().map_err(|_| {
        invalid(format!(
            "Parameter '{key}' is '{s}', which is not a valid IPv4 address."
        ))
    })
}

/// A port as the watcher bodies give it: a number, or a string of one
/// (`*` any).
fn port(v: &Value, key: &str) -> Result<u16, Response> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| invalid(format!("Parameter '{key}' is {n}, which is not a port (0-65535)."))),
        Some(Value::String(s)) if s == "*" => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(|_| {
            invalid(format!(
                "Parameter '{key}' is '{s}', which is not a port (0-65535 or *)."
            ))
        }),
        Some(other) => Err(invalid(format!("Parameter '{key}' is {other}, which is not a port."))),
    }
}

/// The compiled NIC of the VM `vm` (its first NIC, or `nic`).
fn vm_nic(m: &Model, t: &Tables, vm: &str, nic: Option<&str>) -> Result<NicIdx, Response> {
    let Some(vm_id) = ResourceId::parse(vm) else {
        return Err(invalid(format!(
            "'{vm}' is not a virtual machine's resource ID. Give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/Microsoft.Compute/virtualMachines/{{name}}."
        )));
    };
    let Some(v) = m.virtual_machines.get(&vm_id) else {
        return Err(refused(&AzureError::resource_not_found(&vm_id)));
    };
    let nic_id = match nic.and_then(ResourceId::parse) {
        Some(n) => n,
        None => match v.network_interfaces.first() {
            Some(n) => n.clone(),
            None => return Err(invalid(format!("VM {} has no network interface.", v.name))),
        },
    };
    t.nics.position(|n| n.id == nic_id).ok_or_else(|| {
        invalid(format!(
            "Network interface {} is not attached to VM {}.",
            nic_id.name(),
            v.name
        ))
    })
}

impl Arm {
    /// Answers an action as ARM does: 202 and an operation whose result
    /// is `result` (`None`: no content).
    fn accepted(&mut self, id: &ResourceId, result: Option<Value>) -> Response {
        let provider = id.resource_type().split('/').next().unwrap_or(NETWORK).to_string();
        let (async_op, location) = self.operation_headers(id.subscription_id(), &provider, result);
        Response::empty(202)
            .header("Azure-AsyncOperation", async_op)
            .header("Location", location)
            .header("Retry-After", "0".into())
    }

    /// POST `{id}/{action}`.
    pub(super) fn action(
        &mut self,
        req: &Request,
        id: &ResourceId,
        action: &str,
        model: &Model,
        backend: &mut dyn Backend,
    ) -> Response {
        let typ = id.resource_type().to_ascii_lowercase();
        let act = action.to_ascii_lowercase();
        let answer = match (typ.as_str(), act.as_str()) {
            ("microsoft.network/networkinterfaces", "effectiveroutetable" | "effectivenetworksecuritygroups") => {
                let Some(nic) = model.network_interfaces.get(id) else {
                    return refused(&AzureError::resource_not_found(id));
                };
                if act == "effectiveroutetable" {
                    actions::running_vm(model, nic)
                        .map(|()| crate::az::render::effective_route_table(model, &nic.subnet))
                } else {
                    actions::effective_nsgs(model, nic)
                }
                .map(Some)
            }
            ("microsoft.compute/virtualmachines", "start" | "poweroff" | "deallocate" | "restart" | "runcommand") => {
                let mut ctx = match Ctx::new(backend, Some(id.subscription_id())) {
                    Ok(c) => c,
                    Err(e) => return az_refused(e),
                };
                match act.as_str() {
                    "start" => actions::set_power(&mut ctx, id.clone(), PowerState::Running).map(|()| None),
                    "poweroff" => actions::set_power(&mut ctx, id.clone(), PowerState::Stopped).map(|()| None),
                    "deallocate" => actions::set_power(&mut ctx, id.clone(), PowerState::Deallocated).map(|()| None),
                    "restart" => actions::restart(&mut ctx, id.clone()).map(|()| None),
                    _ => match run_command_input(req) {
                        Ok((script, params)) => actions::run_shell_script(&mut ctx, id, &script, &params).map(Some),
                        Err(r) => return r,
                    },
                }
            }
            // Azure: Redis - List Keys answers at once, 200 with RedisAccessKeys
            // (learn.microsoft.com/rest/api/redis/redis/list-keys); what
            // `az redis list-keys` calls.
            ("microsoft.cache/redis", "listkeys") => {
                return match model.redis_caches.get(id) {
                    Some(r) => Response::json(
                        200,
                        serde_json::json!({ "primaryKey": r.primary_key, "secondaryKey": r.secondary_key }),
                    ),
                    None => refused(&AzureError::resource_not_found(id)),
                };
            }
            _ => {
                return Response::error(
                    400,
                    "BadRequest",
                    &format!(
                        "vnetlab's ARM endpoint has no action '{action}' on resources of type '{}'.",
                        id.resource_type()
                    ),
                );
            }
        };
        match answer {
            Ok(result) => self.accepted(id, result),
            Err(e) => az_refused(e),
        }
    }

    /// POST `.../networkWatchers/{name}/{action}`: the watcher must be
    /// one of the subscription's (see [`watchers`]).
    pub(super) fn watcher_action(
        &mut self,
        req: &Request,
        sub: &str,
        name: &str,
        action: &str,
        model: &Model,
        backend: &mut dyn Backend,
    ) -> Response {
        let known = watchers(model, sub)
            .iter()
            .any(|w| w["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
        let id = ResourceId::network(sub, WATCHER_GROUP, "networkWatchers", name);
        if !known {
            return refused(&AzureError::resource_not_found(&id));
        }
        let b = match body(req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        match watcher_answer(model, &b, action, backend) {
            Ok(v) => self.accepted(&id, Some(v)),
            Err(r) => r,
        }
    }
}

fn watcher_answer(m: &Model, b: &Value, action: &str, backend: &mut dyn Backend) -> Result<Value, Response> {
    let t = Tables::compile(m, 0);
    match action.to_ascii_lowercase().as_str() {
        "nexthop" => {
            let nic = vm_nic(
                m,
                &t,
                text(b, "targetResourceId").unwrap_or(""),
                text(b, "targetNicResourceId"),
            )?;
            let src = address(b, "sourceIPAddress")?;
            let dst = address(b, "destinationIPAddress")?;
            watcher::next_hop(&t, nic, src, dst).map_err(invalid)
        }
        "ipflowverify" => {
            let nic = vm_nic(
                m,
                &t,
                text(b, "targetResourceId").unwrap_or(""),
                text(b, "targetNicResourceId"),
            )?;
            let local = (address(b, "localIPAddress")?, port(b, "localPort")?);
            let remote = (address(b, "remoteIPAddress")?, port(b, "remotePort")?);
            watcher::check_local(&t, nic, local.0).map_err(|e| refused(&e))?;
            let direction = match text(b, "direction") {
                Some(d) if d.eq_ignore_ascii_case("inbound") => Direction::Inbound,
                Some(d) if d.eq_ignore_ascii_case("outbound") => Direction::Outbound,
                other => {
                    return Err(invalid(format!(
                        "Parameter 'direction' is '{}'; give Inbound or Outbound.",
                        other.unwrap_or("")
                    )));
                }
            };
            let proto = match text(b, "protocol") {
                Some(p) if p.eq_ignore_ascii_case("tcp") => 6,
                Some(p) if p.eq_ignore_ascii_case("udp") => 17,
                other => {
                    return Err(invalid(format!(
                        "Parameter 'protocol' is '{}'; give TCP or UDP.",
                        other.unwrap_or("")
                    )));
                }
            };
            Ok(watcher::ip_flow(&t, nic, direction, proto, local, remote))
        }
        "connectivitycheck" => {
            let source = b.get("source").cloned().unwrap_or(Value::Null);
            let dest = b.get("destination").cloned().unwrap_or(Value::Null);
            let nic = vm_nic(m, &t, text(&source, "resourceId").unwrap_or(""), None)?;
            let dst = match (text(&dest, "resourceId"), text(&dest, "address")) {
                (Some(vm), _) => t.nics[vm_nic(m, &t, vm, None)?].ip,
                (None, Some(_)) => address(&dest, "address")?,
                (None, None) => {
                    return Err(invalid(
                        "The destination needs a resourceId (a VM) or an address.".into(),
                    ));
                }
            };
            let protocol = text(b, "protocol").unwrap_or("Tcp");
            let icmp = protocol.eq_ignore_ascii_case("icmp");
            let port = match port(&dest, "port")? {
                0 if protocol.eq_ignore_ascii_case("https") => 443,
                0 if !icmp => 80,
                p => p,
            };
            let vm_name = t.nics[nic].vm.clone().unwrap_or_default();
            let measured = backend
                .probe(&vm_name, dst, (!icmp).then_some(port))
                .map_err(az_refused)?;
            let proto = if icmp { "icmp" } else { "tcp" };
            Ok(watcher::connectivity(m, &t, nic, dst, proto, port, measured))
        }
        other => Err(Response::error(
            400,
            "BadRequest",
            &format!(
                "vnetlab's ARM endpoint has no Network Watcher action '{other}'; it serves nextHop, ipFlowVerify and connectivityCheck."
            ),
        )),
    }
}

/// A run command body: RunShellScript only; parameters' values are the
/// script's $1, $2, … in order.
// Azure: RunCommandInput {commandId, script[], parameters[{name, value}]}
// (REST: Virtual Machines - Run Command).
fn run_command_input(req: &Request) -> Result<(Vec<String>, Vec<String>), Response> {
    let b = body(req)?;
    let command = text(&b, "commandId").unwrap_or("");
    if !command.eq_ignore_ascii_case("RunShellScript") {
        return Err(invalid(format!(
            "Command '{command}' is not one vnetlab runs: its VMs are Linux namespaces, so commandId must be RunShellScript."
        )));
    }
    let strings = |key: &str, field: Option<&str>| -> Vec<String> {
        b.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| match field {
                        Some(f) => v.get(f).and_then(Value::as_str),
                        None => v.as_str(),
                    })
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok((strings("script", None), strings("parameters", Some("value"))))
}
