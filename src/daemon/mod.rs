//! One daemon per lab: it owns the model, the host (namespaces, TUNs, the
//! VMs' port 22) and the packet tasks, and serves the API socket.
//!
//! Its jobs, one module each: `lifecycle` (start, run, stop), `reconcile`
//! (the pure diff from the running host to the model's host plan, carried
//! out in parallel), `build` (one machine on the host, sshd per
//! connection) and `status`.

mod api;
mod bgp;
mod build;
mod capture;
pub mod client;
mod delayline;
mod dns_server;
mod flowlogs;
mod hostplan;
pub mod journal;
mod lifecycle;
mod packets;
mod plane;
mod podplan;
mod priority;
mod prober;
pub mod progress;
pub mod proto;
mod reconcile;
mod segments;
mod spin;
mod status;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use thiserror::Error;
use tokio::sync::{Notify, broadcast};

use build::{Builder, RunningVm};
pub use hostplan::{
    NicPlan, ONPREM_PASSWORD, ONPREM_USER, SITE_HOST_SUFFIX, SitePlan, VmPlan, on_premises_machine, plan, site_lan,
};
pub use lifecycle::{progress_file, run};
use plane::{Fabric, LinkCounters, Port};

use crate::host::{HostError, Lab};
use crate::model::{Model, ResourceId};

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("lab '{lab}' is already running (daemon PID {pid}); `vnetlab down --lab {lab}` stops it")]
    AlreadyRunning { lab: String, pid: u32 },
    #[error("{0}")]
    Refused(String),
    #[error("could not {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error(transparent)]
    State(#[from] journal::StateError),
}

#[derive(Debug)]
struct HostState {
    vms: BTreeMap<ResourceId, RunningVm>,
    link_counters: FxHashMap<u64, Arc<LinkCounters>>,
    generation: u64,
}

#[derive(Debug)]
pub struct Daemon {
    lab: Lab,
    fabric: Arc<Fabric>,
    internet: Arc<Port>,
    /// The Azure host's TUN, where health probes come from.
    azure_host: Arc<Port>,
    stop_probes: Arc<std::sync::atomic::AtomicBool>,
    model: Mutex<Model>,
    /// How packets between regions are delayed, for the lab's life.
    latency: crate::model::latency::LatencyConfig,
    /// Held for the whole of a change: changes apply one at a time.
    host: tokio::sync::Mutex<HostState>,
    builder: Arc<Builder>,
    /// Where every accepted change is saved before it is acknowledged.
    journal: journal::Journal,
    /// Set once the lab is being removed: no change may rebuild it.
    closing: std::sync::atomic::AtomicBool,
    shutdown: Notify,
}

impl Daemon {
    pub fn model(&self) -> Model {
        self.model.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn request_shutdown(&self) {
        self.shutdown.notify_one();
    }

    pub fn drops(&self) -> broadcast::Receiver<proto::DropEvent> {
        self.fabric.drops.subscribe()
    }
}
