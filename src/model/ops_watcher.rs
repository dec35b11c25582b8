//! Network Watcher flow logs (`Microsoft.Network/networkWatchers/flowLogs`):
//! which VNet, subnet or NIC's traffic is logged, and where.

use serde::{Deserialize, Serialize};

use super::Model;
use super::error::{AzureError, bail};
use super::ids::ResourceId;
use super::names::{self, NameKind};

pub const FLOW_LOG_TYPE: &str = "Microsoft.Network/networkWatchers/flowLogs";

/// A VNet flow log. Azure: the target is a VNet, a subnet or a NIC
/// (MS docs vnet-flow-logs-overview; `az network watcher flow-log create
/// --vnet | --subnet | --nic`); the flow log lives under the region's
/// watcher, `NetworkWatcherRG/NetworkWatcher_<region>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowLog {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub target_resource_id: ResourceId,
    /// Opaque: vnetlab writes the blobs under the lab's directory, in a
    /// folder named after the account (docs/capture.md).
    pub storage_id: String,
    pub enabled: bool,
    /// `retentionPolicy.days`; 0 keeps the logs forever (Azure's meaning).
    pub retention_days: u32,
    /// Traffic analytics' processing interval in minutes (10 or 60), kept
    /// as given; traffic analytics itself is not emulated.
    pub traffic_analytics_interval: Option<u32>,
}

impl FlowLog {
    /// The storage account's own name, the last segment of its ID.
    pub fn storage_account(&self) -> &str {
        self.storage_id.rsplit('/').next().unwrap_or(&self.storage_id)
    }
}

impl Model {
    /// The region of a flow log's possible target, if it exists.
    pub fn flow_log_target_location(&self, target: &ResourceId) -> Option<&str> {
        let ty = target.resource_type();
        if ty.eq_ignore_ascii_case("Microsoft.Network/virtualNetworks") {
            return self.virtual_networks.get(target).map(|v| v.location.as_str());
        }
        if ty.eq_ignore_ascii_case("Microsoft.Network/virtualNetworks/subnets") {
            let vnet = self.virtual_networks.get(&target.parent()?)?;
            return vnet
                .subnets
                .iter()
                .any(|s| s.id == *target)
                .then_some(vnet.location.as_str());
        }
        if ty.eq_ignore_ascii_case("Microsoft.Network/networkInterfaces") {
            return self.network_interfaces.get(target).map(|n| n.location.as_str());
        }
        None
    }

    pub(super) fn put_flow_log(&mut self, log: FlowLog) -> Result<(), AzureError> {
        names::check_id(NameKind::NetworkChild, "flow log", &log.id)?;
        if !log.id.resource_type().eq_ignore_ascii_case(FLOW_LOG_TYPE) {
            bail!(
                InvalidParameter,
                "{} is not a flow log ID: flow logs live under a network watcher, .../providers/Microsoft.Network/networkWatchers/NetworkWatcher_<region>/flowLogs/<name>.",
                log.id
            );
        }
        self.require_group(&log.id)?;
        let ty = log.target_resource_id.resource_type();
        let Some(target_location) = self.flow_log_target_location(&log.target_resource_id) else {
            let kinds = ["virtualNetworks", "virtualNetworks/subnets", "networkInterfaces"];
            if !kinds
                .iter()
                .any(|k| ty.eq_ignore_ascii_case(&format!("Microsoft.Network/{k}")))
            {
                bail!(
                    InvalidParameter,
                    "Flow log target {} is of type {ty}; a VNet flow log targets a virtual network, a subnet or a network interface (--vnet, --subnet or --nic). NSG flow logs can no longer be created.",
                    log.target_resource_id
                );
            }
            bail!(
                InvalidResourceReference,
                "Resource {} referenced by resource {} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
                log.target_resource_id,
                log.id
            );
        };
        // Azure: "the flow log's region must be the target's region"
        // (vnet-flow-logs-overview: a flow log and its target are in one region).
        if !target_location.eq_ignore_ascii_case(&log.location) {
            bail!(
                InvalidResourceLocation,
                "Flow log {} is in {} but its target {} is in {target_location}. Create the flow log in the target's region (--location {target_location}).",
                log.name,
                log.location,
                log.target_resource_id
            );
        }
        if let Some(other) = self
            .flow_logs
            .values()
            .find(|f| f.id != log.id && f.target_resource_id == log.target_resource_id)
        {
            bail!(
                InvalidParameter,
                "Flow log {} already targets {}; a resource has at most one flow log. Update it (az network watcher flow-log update -n {}) or delete it first.",
                other.name,
                log.target_resource_id,
                other.name
            );
        }
        if let Some(i) = log.traffic_analytics_interval
            && i != 10
            && i != 60
        {
            bail!(
                InvalidParameter,
                "Traffic analytics interval {i} is not allowed: the values are 10 and 60 (minutes)."
            );
        }
        self.flow_logs.insert(log.id.clone(), log);
        Ok(())
    }

    pub(super) fn delete_flow_log(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.flow_logs.remove(id).is_none() {
            bail!(ResourceNotFound, "The flow log {id} was not found.");
        }
        Ok(())
    }

    /// The enabled flow log that covers a NIC: its own, else its subnet's,
    /// else its VNet's. Azure: a NIC-level flow log takes precedence over
    /// the subnet's, which takes precedence over the VNet's
    /// (vnet-flow-logs-overview, "Flow logs at NIC level are preferred").
    pub fn flow_log_for_nic(&self, nic: &ResourceId) -> Option<&FlowLog> {
        let n = self.network_interfaces.get(nic)?;
        let subnet = &n.subnet;
        let vnet = subnet.parent();
        let by = |target: &ResourceId| {
            self.flow_logs
                .values()
                .find(|f| f.enabled && f.target_resource_id == *target)
        };
        by(nic).or_else(|| by(subnet)).or_else(|| vnet.as_ref().and_then(by))
    }
}
