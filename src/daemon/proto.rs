//! The lab daemon's API: one JSON object per line over a Unix socket that
//! only root can open. A request gets one response line, except `Trace`,
//! which streams drop events until the client goes away, and `Capture`,
//! which streams pcapng in length-prefixed frames (src/daemon/capture.rs).

use serde::{Deserialize, Serialize};

use crate::model::{AzureError, Change, Model};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "camelCase")]
pub enum Request {
    Status,
    /// The whole running model.
    Model,
    /// Applied whole, or refused with the engine's error and nothing changed.
    Apply {
        changes: Vec<Change>,
    },
    Trace {
        vm: Option<String>,
    },
    /// Into a machine (by its network namespace): its init, started now if
    /// it has none (`Response::Entered`).
    Enter {
        netns: String,
    },
    Capture(CaptureRequest),
    Shutdown,
}

/// `vnetlab capture`: what to capture and when to stop (besides the
/// client writing a line or hanging up).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// A VM, a NIC, or a peering (`PEERING` or `VNET/PEERING`).
    pub target: String,
    /// Stop after this many packets.
    pub count: Option<u64>,
    pub duration_ms: Option<u64>,
    /// Only the packets the fabric drops.
    pub drops_only: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "camelCase")]
pub enum Response {
    Status(Box<LabStatus>),
    Model(Box<Model>),
    Applied {
        generation: u64,
    },
    Drop(DropEvent),
    /// The machine's init: `nsenter --target PID` enters the machine.
    Entered {
        pid: u32,
    },
    /// A capture started: pcapng frames follow.
    Capturing {
        interface: String,
        description: String,
    },
    /// After the last frame: packets written, and packets the capture
    /// could not keep (its ring was full).
    CaptureEnded {
        captured: u64,
        lost: u64,
    },
    Ok,
    /// The engine refused a change (`index` says which one of a batch).
    Refused {
        index: usize,
        error: AzureError,
    },
    Error {
        message: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabStatus {
    pub lab: String,
    pub pid: u32,
    pub generation: u64,
    pub cloud_shell: CloudShellStatus,
    /// How packets between regions are delayed ("azure", "azure x2",
    /// "off").
    #[serde(default)]
    pub latency: String,
    pub vms: Vec<VmStatus>,
    pub peerings: Vec<PeeringStatus>,
    /// On-premises sites, one per local network gateway.
    pub sites: Vec<SiteStatus>,
    #[serde(default)]
    pub caches: Vec<CacheStatus>,
    /// Internal load balancers (with the ones Azure puts in front of
    /// injected caches) and what their health probes say.
    #[serde(default)]
    pub load_balancers: Vec<LbStatus>,
    /// Route Server instances: each a BGP speaker with its sessions.
    #[serde(default)]
    pub route_servers: Vec<RouteServerStatus>,
}

/// One Route Server instance: bgpd in its namespace.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerStatus {
    pub name: String,
    pub netns: String,
    pub address: String,
    pub asn: u32,
    pub pid: u32,
    pub log: String,
    pub sessions: Vec<BgpSessionStatus>,
}

/// A BGP session as the speaker reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpSessionStatus {
    pub peer: String,
    pub peer_asn: u32,
    /// FRR's words: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: String,
    /// How long it has been Established (or down), as FRR prints it.
    pub uptime: String,
    pub prefixes_received: u64,
    pub prefixes_sent: u64,
}

/// An Azure Cache for Redis instance: redis-server in its namespace.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStatus {
    pub name: String,
    pub netns: String,
    pub instance_ip: String,
    /// The internal load balancer's frontend, for an injected cache.
    pub static_ip: Option<String>,
    pub pid: u32,
    pub log: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbStatus {
    pub name: String,
    pub sku: String,
    pub frontends: Vec<String>,
    pub backends: Vec<BackendStatus>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendStatus {
    pub name: String,
    pub ip: String,
    /// Up, Down (its probe fails) or Stopped.
    pub health: String,
}

impl LabStatus {
    /// Every machine one can log in to: the VMs, then each site's router
    /// and host.
    pub fn machines(&self) -> impl Iterator<Item = &VmStatus> {
        self.vms
            .iter()
            .chain(self.sites.iter().flat_map(|s| [&s.router, &s.host]))
    }
}

/// A local network gateway's site: its VPN device (named as the LNG, one
/// tunnel interface per connection, `nics`) and a host on its LAN.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteStatus {
    pub name: String,
    pub router: VmStatus,
    pub host: VmStatus,
    /// What the router sends into its tunnels: `PREFIX via vtiN`.
    pub routes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudShellStatus {
    pub netns: String,
    pub address: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmStatus {
    pub name: String,
    pub resource_group: String,
    pub netns: String,
    pub power_state: String,
    pub admin_username: String,
    /// The file of the VM's mount namespace (the daemon's descriptor: no
    /// process holds it, sshd runs per connection); `exec` enters it.
    pub mount_ns: String,
    /// The file of its UTS namespace, inside that mount namespace.
    pub uts_ns: String,
    /// The VM's mount namespace's inode: it changes when the VM is rebuilt.
    pub anchor: u64,
    pub sshd_log: String,
    pub nics: Vec<NicStatus>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicStatus {
    pub name: String,
    pub interface: String,
    pub private_ip: String,
    pub prefix_len: u8,
    pub public_ip: Option<String>,
    /// Sent by the VM.
    pub tx: Counters,
    /// Delivered to the VM.
    pub rx: Counters,
    /// Packets the fabric dropped that this NIC sent or was to receive.
    pub dropped: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringStatus {
    pub name: String,
    pub vnet: String,
    pub remote_vnet: String,
    pub peering_state: String,
    /// The round trip the lab gives this peering, in ms: Azure's median
    /// between the two regions, scaled; 0 within a region or with latency
    /// off.
    #[serde(default)]
    pub rtt_ms: f64,
    /// The figure is vnetlab's estimate: Microsoft does not list the pair.
    #[serde(default)]
    pub rtt_estimated: bool,
    /// Carried from `vnet` into `remote_vnet` over this link.
    pub carried: Counters,
    pub dropped: u64,
}

/// One packet the fabric dropped.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropEvent {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// Where it entered: a VM's name, or "Internet".
    pub from: String,
    /// VMs the drop concerns (sender and intended receiver), for filters.
    pub vms: Vec<String>,
    /// `src -> dst proto`.
    pub flow: String,
    /// The verdict in the words `explain` uses.
    pub reason: String,
}
