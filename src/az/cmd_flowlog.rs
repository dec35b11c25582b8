//! `az network watcher flow-log`: VNet flow logs (create, list, show,
//! update, delete), as azure-cli 2.x spells its arguments: the flow log
//! is named by `--location` and `--name` (it lives under the region's
//! watcher, `NetworkWatcherRG/NetworkWatcher_<region>`), its target is
//! `--vnet`, `--subnet` (with `--vnet` when a name) or `--nic`, names
//! resolved in `-g`.

use serde_json::{Value, json};

use super::args::{Args, Leaf, boolean, flag, name, opt, req};
use super::{AzError, Ctx, Handler, Reply, finish, render};
use crate::model::{Change, FlowLog, NETWORK, ResourceId};

/// Azure: the watcher of a region is `NetworkWatcher_<region>` in the
/// resource group `NetworkWatcherRG`, which Azure creates on first use
/// (MS docs network-watcher-create: "NetworkWatcherRG ... created automatically").
const WATCHER_RG: &str = "NetworkWatcherRG";

pub fn leaves() -> Vec<Leaf<Handler>> {
    let target = || {
        [
            opt("resource-group").short('g'),
            opt("vnet"),
            opt("subnet"),
            opt("nic"),
            opt("nsg"),
        ]
    };
    let settings = || {
        [
            opt("storage-account"),
            boolean("enabled"),
            opt("retention"),
            opt("interval"),
            opt("network-watcher-name"),
        ]
    };
    vec![
        Leaf {
            path: "network watcher flow-log create",
            about: "Create a flow log on a virtual network, subnet or network interface.",
            args: [req("location").short('l'), name(), flag("no-wait")]
                .into_iter()
                .chain(target())
                .chain(settings())
                .collect(),
            run: create,
        },
        Leaf {
            path: "network watcher flow-log update",
            about: "Update the settings of a flow log.",
            args: [req("location").short('l'), name(), flag("no-wait")]
                .into_iter()
                .chain(target())
                .chain(settings())
                .collect(),
            run: update,
        },
        Leaf {
            path: "network watcher flow-log list",
            about: "List the flow logs of a region's network watcher.",
            args: vec![req("location").short('l')],
            run: list,
        },
        Leaf {
            path: "network watcher flow-log show",
            about: "Get the flow log configuration of a network watcher.",
            args: vec![req("location").short('l'), name()],
            run: show,
        },
        Leaf {
            path: "network watcher flow-log delete",
            about: "Delete the specified flow log resource.",
            args: vec![req("location").short('l'), name(), flag("no-wait")],
            run: delete,
        },
    ]
}

/// `northeurope` from `North Europe` or `northeurope`.
fn region(a: &Args) -> String {
    a.must("location").replace(' ', "").to_ascii_lowercase()
}

fn watcher_id(ctx: &Ctx, a: &Args) -> ResourceId {
    let watcher = a
        .str("network-watcher-name")
        .map_or_else(|| format!("NetworkWatcher_{}", region(a)), str::to_string);
    ctx.net_id(WATCHER_RG, "networkWatchers", &watcher)
}

fn flow_log_id(ctx: &Ctx, a: &Args) -> ResourceId {
    watcher_id(ctx, a).child("flowLogs", a.must("name"))
}

/// The target the arguments name, if any. Mirrors az's checks: at least
/// one of --vnet/--subnet/--nic, at most one of --vnet/--nic, a subnet
/// name joined to --vnet.
fn target(ctx: &Ctx, a: &Args) -> Result<Option<ResourceId>, AzError> {
    if a.str("nsg").is_some() {
        return Err(AzError::Cli(
            "NSG flow logs can no longer be created (Azure retires them; new ones are refused since June 30, 2025). Log the NSG's subnet or NIC with a VNet flow log: --vnet, --subnet or --nic.".into(),
        ));
    }
    let (vnet, subnet, nic) = (a.str("vnet"), a.str("subnet"), a.str("nic"));
    if vnet.is_some() && nic.is_some() {
        return Err(AzError::Cli("Please enter only one target resource ID.".into()));
    }
    let rg = a.str("resource-group");
    let named = |value: &str, kind: &str| -> Result<ResourceId, AzError> {
        if value.starts_with('/') {
            return ctx.reference(value, "", NETWORK, kind);
        }
        let rg = rg.ok_or_else(|| {
            AzError::Usage(format!(
                "usage error: a {kind} given by name needs --resource-group/-g (or give its full resource ID)"
            ))
        })?;
        ctx.reference(value, rg, NETWORK, kind)
    };
    Ok(match (vnet, subnet, nic) {
        (_, Some(s), _) if s.starts_with('/') => Some(named(s, "virtualNetworks")?),
        (Some(v), Some(s), _) => Some(named(v, "virtualNetworks")?.child("subnets", s)),
        (None, Some(_), _) => {
            return Err(AzError::Usage(
                "usage error: --subnet ID | --subnet NAME --vnet NAME".into(),
            ));
        }
        (Some(v), None, _) => Some(named(v, "virtualNetworks")?),
        (None, None, Some(n)) => Some(named(n, "networkInterfaces")?),
        (None, None, None) => None,
    })
}

fn storage_id(ctx: &Ctx, a: &Args) -> Option<String> {
    let s = a.str("storage-account")?;
    if s.starts_with('/') {
        return Some(s.to_string());
    }
    let rg = a.str("resource-group").unwrap_or(WATCHER_RG);
    Some(ResourceId::resource(ctx.sub(), rg, "Microsoft.Storage", "storageAccounts", s).to_string())
}

/// `--retention` and `--interval` applied onto `log`.
fn settings(a: &Args, log: &mut FlowLog) -> Result<(), AzError> {
    if let Some(days) = a.int::<u32>("retention")? {
        log.retention_days = days;
    }
    if let Some(minutes) = a.int::<u32>("interval")? {
        log.traffic_analytics_interval = Some(minutes);
    }
    if let Some(enabled) = a.bool("enabled") {
        log.enabled = enabled;
    }
    Ok(())
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let Some(target) = target(ctx, &a)? else {
        return Err(AzError::Cli("Please enter atleast one target resource ID.".into()));
    };
    let Some(storage) = storage_id(ctx, &a) else {
        return Err(AzError::Cli(
            "the following arguments are required: --storage-account (the storage account that receives the flow log blobs; vnetlab writes them under the lab's directory)".into(),
        ));
    };
    let id = flow_log_id(ctx, &a);
    let mut log = FlowLog {
        name: id.name().to_string(),
        id,
        location: region(&a),
        target_resource_id: target,
        storage_id: storage,
        enabled: true,
        retention_days: 0,
        traffic_analytics_interval: None,
    };
    settings(&a, &mut log)?;
    let mut changes = Vec::new();
    if ctx.group(WATCHER_RG).is_err() {
        changes.push(Change::PutResourceGroup {
            subscription: ctx.sub().to_string(),
            name: WATCHER_RG.into(),
            location: log.location.clone(),
        });
    }
    changes.push(Change::PutFlowLog(log));
    ctx.apply(changes)?;
    finish(ctx, a, show)
}

fn update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let mut log = ctx.existing(&ctx.model().flow_logs, &flow_log_id(ctx, &a))?.clone();
    if let Some(t) = target(ctx, &a)? {
        log.target_resource_id = t;
    }
    if let Some(s) = storage_id(ctx, &a) {
        log.storage_id = s;
    }
    settings(&a, &mut log)?;
    ctx.apply(vec![Change::PutFlowLog(log)])?;
    finish(ctx, a, show)
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let watcher = watcher_id(ctx, &a);
    let logs: Vec<Value> = ctx
        .model()
        .flow_logs
        .values()
        .filter(|f| f.id.is_within(watcher.as_str()))
        .map(view)
        .collect();
    Ok(Reply::Value(Value::Array(logs)))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let log = ctx.existing(&ctx.model().flow_logs, &flow_log_id(ctx, &a))?;
    Ok(Reply::Value(view(log)))
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = flow_log_id(ctx, &a);
    let present = ctx.model().flow_logs.contains_key(&id);
    if present {
        ctx.apply(vec![Change::DeleteFlowLog(id)])?;
    }
    Ok(Reply::Nothing)
}

/// A flow log as ARM returns it (azure-cli's flow-log show output).
fn view(f: &FlowLog) -> Value {
    json!({
        "enabled": f.enabled,
        "etag": format!("W/\"{}\"", render::guid(&f.id, "etag")),
        "flowAnalyticsConfiguration": {
            "networkWatcherFlowAnalyticsConfiguration": {
                "enabled": false,
                "trafficAnalyticsInterval": f.traffic_analytics_interval.unwrap_or(60),
            }
        },
        "format": { "type": "JSON", "version": 2 },
        "id": f.id.as_str(),
        "location": f.location,
        "name": f.name,
        "provisioningState": "Succeeded",
        "resourceGroup": f.id.resource_group_name(),
        "retentionPolicy": { "days": f.retention_days, "enabled": f.retention_days > 0 },
        "storageId": f.storage_id,
        "targetResourceGuid": render::guid(&f.target_resource_id, "guid"),
        "targetResourceId": f.target_resource_id.as_str(),
        "type": crate::model::FLOW_LOG_TYPE,
    })
}
