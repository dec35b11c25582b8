//! `vnetlab kubectl` and `vnetlab aks mesh`: test pods on an AKS cluster
//! of a running lab, close to kubectl habits, and the cluster mesh
//! (mirroring `cilium clustermesh enable/connect/status/disconnect`).
//!
//! What is emulated: pods as network namespaces behind their node, with
//! an address from the node's /24, running the given command with the
//! host's binaries (`--image` is recorded, nothing is pulled); `exec`
//! enters the pod's network and UTS namespaces. What is not: the
//! Kubernetes API server, controllers (a bare pod on a removed node is
//! gone), services, DNS, network policies, container images and
//! filesystems, resource limits, restarts.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::live::{lab_model, pass_through, require_root};
use super::pods;
use crate::daemon::client;
use crate::daemon::proto::{Request, Response};
use crate::host::{self, Lab};
use crate::model::{Change, ManagedCluster, Model, PodSpec};

#[derive(Debug, Subcommand)]
pub enum KubectlCmd {
    /// Run a pod: `run NAME --image busybox -- sleep 3600`.
    Run {
        #[arg(value_name = "NAME")]
        pod: String,
        #[arg(long)]
        image: String,
        /// JSON; only `spec.nodeName` is read (to place the pod on a node).
        #[arg(long)]
        overrides: Option<String>,
        /// Accepted and ignored: a vnetlab pod never restarts.
        #[arg(long)]
        restart: Option<String>,
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// `get pods` or `get nodes` (`-o wide` adds IP and node columns).
    Get {
        #[arg(value_parser = ["pods", "pod", "po", "nodes", "node", "no"])]
        what: String,
        #[arg(short, long, value_parser = ["wide"])]
        output: Option<String>,
    },
    /// Run a command in a pod: `exec POD -- ping -c 3 10.40.0.4`.
    Exec {
        pod: String,
        /// Accepted for habit (`-it`): the terminal is always passed on.
        #[arg(short = 'i', long)]
        stdin: bool,
        #[arg(short = 't', long)]
        tty: bool,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// `delete pod NAME`.
    Delete {
        #[arg(value_parser = ["pod", "pods", "po"])]
        kind: String,
        #[arg(value_name = "NAME")]
        pod: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AksCmd {
    /// The cluster mesh between AKS clusters (Cilium cluster mesh).
    Mesh {
        #[command(subcommand)]
        action: MeshCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum MeshCmd {
    /// Make a cluster ready to mesh (`cilium clustermesh enable`).
    Enable {
        #[arg(long)]
        cluster: String,
    },
    /// Take a cluster out of every mesh.
    Disable {
        #[arg(long)]
        cluster: String,
    },
    /// Tunnels between every node of the two clusters (`cilium clustermesh connect`).
    Connect {
        #[arg(long)]
        cluster: String,
        #[arg(long)]
        destination_cluster: String,
    },
    Disconnect {
        #[arg(long)]
        cluster: String,
        #[arg(long)]
        destination_cluster: String,
    },
    /// Which clusters are meshed, and whether each tunnel's underlay carries it.
    Status {
        #[arg(long)]
        cluster: Option<String>,
    },
}

fn cluster<'m>(model: &'m Model, name: Option<&str>) -> anyhow::Result<&'m ManagedCluster> {
    match name {
        Some(n) => model
            .managed_cluster_by_name(n)
            .with_context(|| format!("the lab has no AKS cluster named '{n}' (az aks list shows them)")),
        None => match model.managed_clusters.len() {
            1 => model.managed_clusters.values().next().context("no cluster"),
            0 => bail!("the lab has no AKS cluster; create one with az aks create"),
            _ => bail!("the lab has several AKS clusters; name one with --cluster"),
        },
    }
}

/// Sends the changes; a refusal prints as kubectl prints server errors.
fn send(lab: &Lab, changes: Vec<Change>) -> anyhow::Result<()> {
    match client::call(lab, &Request::Apply { changes })? {
        Response::Applied { .. } => Ok(()),
        Response::Refused { error, .. } => bail!("Error from server ({}): {}", error.code, error.message),
        Response::Error { message } => bail!("{message}"),
        other => bail!("unexpected answer from the daemon: {other:?}"),
    }
}

pub fn kubectl(lab: &Lab, cluster_name: Option<&str>, cmd: KubectlCmd, out: &mut impl Write) -> anyhow::Result<u8> {
    require_root("kubectl")?;
    let model = lab_model(lab)?;
    let c = cluster(&model, cluster_name)?;
    match cmd {
        KubectlCmd::Run {
            pod: name,
            image,
            overrides,
            restart: _,
            command,
        } => {
            let node = match overrides {
                Some(json) => {
                    let v: serde_json::Value = serde_json::from_str(&json).context("--overrides is not JSON")?;
                    v.pointer("/spec/nodeName").and_then(|n| n.as_str()).map(str::to_string)
                }
                None => None,
            };
            send(
                lab,
                vec![Change::PutPod(PodSpec {
                    cluster: c.id.clone(),
                    name: name.clone(),
                    image,
                    command,
                    node,
                })],
            )?;
            writeln!(out, "pod/{name} created")?;
        }
        KubectlCmd::Get { what, output } => {
            let wide = output.is_some();
            if what.starts_with('p') {
                pods_table(lab, c, wide, out)?
            } else {
                nodes_table(&model, c, wide, out)?
            }
        }
        KubectlCmd::Exec { pod, command, .. } => {
            let p = c
                .pod(&pod)
                .with_context(|| format!("Error from server (NotFound): pods \"{pod}\" not found"))?;
            return pass_through(host::vm_command(pods::anchor(lab, p)?, &command));
        }
        KubectlCmd::Delete { pod: name, .. } => {
            send(
                lab,
                vec![Change::DeletePod {
                    cluster: c.id.clone(),
                    name: name.clone(),
                }],
            )?;
            writeln!(out, "pod \"{name}\" deleted")?;
        }
    }
    Ok(0)
}

/// kubectl's layout: upper-case headers, columns three spaces apart.
fn write_kube_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| rows.iter().map(|r| r[i].len()).max().unwrap_or(0).max(h.len()))
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("   ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn pods_table(lab: &Lab, c: &ManagedCluster, wide: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if c.pods.is_empty() {
        writeln!(out, "No resources found in default namespace.")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = c
        .pods
        .iter()
        .map(|p| {
            let running = pods::anchor(lab, p).is_ok();
            let mut r = vec![
                p.name.clone(),
                if running { "1/1" } else { "0/1" }.into(),
                if running { "Running" } else { "Completed" }.into(),
                "0".into(),
            ];
            if wide {
                r.extend([p.ip.to_string(), p.node.clone(), "<none>".into(), "<none>".into()]);
            }
            r
        })
        .collect();
    let mut headers = vec!["NAME", "READY", "STATUS", "RESTARTS"];
    if wide {
        headers.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
    }
    write_kube_table(out, &headers, &rows)?;
    Ok(())
}

fn nodes_table(model: &Model, c: &ManagedCluster, wide: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let rows: Vec<Vec<String>> = c
        .nodes()
        .map(|n| {
            let running = model
                .virtual_machines
                .get(&n.virtual_machine)
                .is_some_and(|v| v.power_state == crate::model::PowerState::Running);
            let mut r = vec![
                n.name.clone(),
                if running { "Ready" } else { "NotReady" }.into(),
                "<none>".into(),
                format!("v{}", c.kubernetes_version),
            ];
            if wide {
                let ip = model
                    .network_interfaces
                    .get(&n.network_interface)
                    .map_or_else(String::new, |x| x.private_ip_address.to_string());
                r.extend([
                    ip,
                    "<none>".into(),
                    "host userland (vnetlab)".into(),
                    kernel.clone(),
                    "none (namespaces)".into(),
                    n.pod_cidr.to_string(),
                ]);
            }
            r
        })
        .collect();
    let mut headers = vec!["NAME", "STATUS", "ROLES", "VERSION"];
    if wide {
        headers.extend([
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME",
            "POD-CIDR",
        ]);
    }
    write_kube_table(out, &headers, &rows)?;
    Ok(())
}

pub fn aks(lab: &Lab, cmd: AksCmd, out: &mut impl Write) -> anyhow::Result<u8> {
    require_root("aks")?;
    let AksCmd::Mesh { action } = cmd;
    let model = lab_model(lab)?;
    let id = |name: &str| cluster(&model, Some(name)).map(|c| c.id.clone());
    match action {
        MeshCmd::Enable { cluster } => {
            send(
                lab,
                vec![Change::SetClusterMesh {
                    cluster: id(&cluster)?,
                    enabled: true,
                }],
            )?;
            writeln!(out, "✅ Cluster mesh enabled in cluster {cluster}")?;
        }
        MeshCmd::Disable { cluster } => {
            send(
                lab,
                vec![Change::SetClusterMesh {
                    cluster: id(&cluster)?,
                    enabled: false,
                }],
            )?;
            writeln!(out, "✅ Cluster mesh disabled in cluster {cluster}")?;
        }
        MeshCmd::Connect {
            cluster,
            destination_cluster,
        } => {
            send(
                lab,
                vec![Change::ConnectClusterMesh {
                    cluster: id(&cluster)?,
                    remote: id(&destination_cluster)?,
                }],
            )?;
            writeln!(out, "✅ Connected cluster {cluster} <=> {destination_cluster}")?;
        }
        MeshCmd::Disconnect {
            cluster,
            destination_cluster,
        } => {
            send(
                lab,
                vec![Change::DisconnectClusterMesh {
                    cluster: id(&cluster)?,
                    remote: id(&destination_cluster)?,
                }],
            )?;
            writeln!(out, "✅ Disconnected cluster {cluster} <=> {destination_cluster}")?;
        }
        MeshCmd::Status { cluster } => mesh_status(&model, cluster.as_deref(), out)?,
    }
    Ok(0)
}

/// Per meshed pair of nodes: does the fabric carry the tunnel's UDP both
/// ways? The verdict function answers, as for any node traffic.
fn mesh_status(model: &Model, only: Option<&str>, out: &mut impl Write) -> anyhow::Result<()> {
    use crate::dataplane::overlay::MESH_VXLAN_PORT;
    let t = crate::dataplane::Tables::compile(model, 1);
    let now = std::time::Instant::now();
    let clusters: Vec<&ManagedCluster> = model
        .managed_clusters
        .values()
        .filter(|c| only.is_none_or(|n| c.name.eq_ignore_ascii_case(n)))
        .collect();
    if clusters.is_empty() {
        bail!(
            "the lab has no AKS cluster{}",
            only.map(|n| format!(" named '{n}'")).unwrap_or_default()
        );
    }
    let mut rows = Vec::new();
    for c in clusters {
        let peers: Vec<&str> = c
            .mesh_peers
            .iter()
            .filter_map(|p| model.managed_clusters.get(p))
            .map(|p| p.name.as_str())
            .collect();
        writeln!(
            out,
            "Cluster {}: mesh {}; connected to {}",
            c.name,
            if c.mesh_enabled { "enabled" } else { "disabled" },
            if peers.is_empty() {
                "none".into()
            } else {
                peers.join(", ")
            }
        )?;
        for p in c.mesh_peers.iter().filter_map(|p| model.managed_clusters.get(p)) {
            for a in c.nodes() {
                for b in p.nodes() {
                    let (Some(na), Some(nb)) = (t.nic_of_vm(&a.name), t.nic_of_vm(&b.name)) else {
                        continue;
                    };
                    let (ok, e) = crate::dataplane::explain::round_trip(
                        &t,
                        &crate::dataplane::LbHealth::all_up(),
                        crate::dataplane::Ingress::Nic(na),
                        t.nics[nb].ip,
                        "udp",
                        MESH_VXLAN_PORT,
                        now,
                    );
                    rows.push(vec![
                        a.name.clone(),
                        b.name.clone(),
                        if ok { "carried".into() } else { "dropped".into() },
                        if ok { String::new() } else { e.summary },
                    ]);
                }
            }
        }
    }
    if !rows.is_empty() {
        writeln!(out)?;
        crate::print::write_table(out, &["Node", "RemoteNode", "Tunnel (UDP 8472)", "Why"], &rows)?;
    }
    Ok(())
}
