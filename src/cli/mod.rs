//! The `vnetlab` commands. Offline commands read a topology file, build
//! the model through validated changes, compile it and ask the verdict
//! function; none of them re-implements a rule.

mod az;
mod bench;
mod capture;
mod cloud;
pub mod graph;
mod import;
mod kubectl;
mod live;
mod offline;
mod pods;
mod progress;
mod web;

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use offline::load;

#[derive(Debug, Parser)]
#[command(
    name = "vnetlab",
    version,
    about = "Azure virtual networking, emulated with real packets"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

/// What `vnetlab graph` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart (Markdown viewers render it).
    #[default]
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// SVG, drawn by Graphviz (`dot`, which scripts/setup installs).
    Svg,
    /// The graph's nodes and edges as JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a topology: every resource goes through Azure's validation.
    Validate {
        /// topology.yaml, or a lab folder that holds one.
        file: PathBuf,
    },
    /// Offline analysis: resources, then who reaches whom (ping, ssh) and why.
    Analyze { file: PathBuf },
    /// Effective routes of a NIC, as `az network nic show-effective-route-table`.
    Routes {
        file: PathBuf,
        #[arg(long)]
        nic: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Network Watcher next hop for a VM and destination.
    NextHop {
        file: PathBuf,
        #[arg(long)]
        vm: String,
        #[arg(long = "dest", alias = "dest-ip")]
        dest: std::net::Ipv4Addr,
        /// Defaults to the VM's private IP.
        #[arg(long)]
        source_ip: Option<std::net::Ipv4Addr>,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Network Watcher IP flow verify: which NSG rule allows or denies.
    IpFlow {
        file: PathBuf,
        #[arg(long)]
        vm: String,
        #[arg(long, value_parser = ["Inbound", "Outbound", "inbound", "outbound"])]
        direction: String,
        #[arg(long, value_parser = ["TCP", "UDP", "Tcp", "Udp", "tcp", "udp"])]
        protocol: String,
        /// The VM's side, IP:PORT (`*` as port allowed on the outbound side).
        #[arg(long)]
        local: String,
        /// The other side, IP:PORT (`*` as port allowed on the inbound side).
        #[arg(long)]
        remote: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// The verdict for a packet from a VM, with the chain of reasons.
    Explain {
        file: PathBuf,
        /// A VM name, `Internet` for the Cloud Shell side, or an
        /// on-premises machine: a local network gateway's name (its VPN
        /// device) or that name with `-host`.
        #[arg(long)]
        from: String,
        /// IP, a VM name, a DNS name (resolved as the VM would) or an
        /// on-premises machine, each with `:PORT` or without.
        #[arg(long)]
        to: String,
        /// tcp, udp or icmp; tcp when a port is given, else icmp.
        #[arg(long)]
        protocol: Option<String>,
    },
    /// Print the topology file's JSON schema.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), as scripts/install installs it.
    #[command(name = "man")]
    ManPage,
    /// The lab as a diagram: VNets, subnets, VMs, peerings (state, flags,
    /// regional or global), gateways, sites, UDRs to NVAs.
    Graph {
        /// topology.yaml or a lab folder; without it, the running lab.
        file: Option<PathBuf>,
        #[command(flatten)]
        lab: LabArg,
        #[arg(short, long, value_enum, default_value_t)]
        output: GraphFormat,
        /// Overlay who reaches whom with ping and ssh (the verdict
        /// function's answer, as `vnetlab analyze` prints it).
        #[arg(long)]
        reach: bool,
    },

    /// Start a lab: every VM a namespace with a TUN and sshd, one data plane.
    Up {
        /// topology.yaml or a lab folder; without it, the lab as it was
        /// saved (after a crash, kill -9 or reboot), else an empty lab.
        file: Option<PathBuf>,
        #[command(flatten)]
        lab: LabArg,
        /// Stay attached; Ctrl-C removes the lab (its saved state too).
        #[arg(long)]
        foreground: bool,
        #[command(flatten)]
        latency: LatencyArgs,
    },
    /// Remove everything a lab made (also after its daemon was killed),
    /// its saved state too.
    Down {
        #[command(flatten)]
        lab: LabArg,
        /// Keep the saved state (model and host keys): a later `up --lab`
        /// brings the same lab back.
        #[arg(long)]
        keep_state: bool,
    },
    /// VMs, peerings and their packet counters.
    Status {
        #[command(flatten)]
        lab: LabArg,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Run a command inside a VM (its network, hostname and users).
    Exec {
        #[command(flatten)]
        lab: LabArg,
        vm: String,
        /// The command; an interactive shell when empty.
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// The Cloud Shell: a shell (or CMD) on the Internet side of the lab.
    Shell {
        #[command(flatten)]
        lab: LabArg,
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// ssh from the Cloud Shell to a VM's public IP, as `ssh azureuser@IP`.
    Ssh {
        #[command(flatten)]
        lab: LabArg,
        vm: String,
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// Stream the packets the fabric drops, with the reason, as they happen.
    Trace {
        #[command(flatten)]
        lab: LabArg,
        /// Only drops sent by or meant for this VM.
        #[arg(long)]
        vm: Option<String>,
    },
    /// The packets the fabric sees at a VM, NIC or peering, both directions,
    /// drops included, each with its verdict: pcapng (-w) or one line each.
    Capture {
        #[command(flatten)]
        lab: LabArg,
        /// A VM, a NIC, or a peering (PEERING or VNET/PEERING).
        target: String,
        /// Write pcapng to FILE; `-` streams it to stdout (`| tcpdump -n -r -`).
        #[arg(short = 'w', value_name = "FILE|-")]
        write: Option<PathBuf>,
        /// Stop after N packets.
        #[arg(short = 'c', value_name = "N")]
        count: Option<u64>,
        /// Only the packets the fabric drops.
        #[arg(long)]
        drops_only: bool,
        /// Stop after this long: 10s, 500ms, 2m.
        #[arg(long, value_parser = capture::parse_duration)]
        duration: Option<std::time::Duration>,
    },
    /// A local page for the running lab: diagram, live counters, drops,
    /// effective routes and NSG rules, explain. Prints its URL (with a token).
    Web {
        #[command(flatten)]
        lab: LabArg,
        /// A loopback IP:PORT; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Apply model changes to a running lab: all of them, or none.
    Apply {
        #[command(flatten)]
        lab: LabArg,
        /// YAML or JSON: `changes: [ {op: PutPeering, resource: {...}}, ... ]`.
        file: PathBuf,
    },
    /// Bring infrastructure code in: a Terraform plan as a topology file.
    Import {
        #[command(subcommand)]
        source: import::ImportSource,
    },
    /// Check a lab's expect.yaml with real traffic; exit 1 on a mismatch.
    Test {
        /// A lab folder (topology.yaml + expect.yaml) or an expect.yaml.
        dir: PathBuf,
        #[command(flatten)]
        lab: LabArg,
        /// Also write the results as JUnit XML.
        #[arg(long)]
        junit: Option<PathBuf>,
    },

    /// Azure CLI commands against the lab: `vnetlab az network vnet list -o table`.
    #[command(disable_help_flag = true)]
    Az {
        #[command(flatten)]
        lab: LabArg,
        /// The az command line, as you would give it to az.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Manage the `az` shim.
    Shim {
        #[command(subcommand)]
        action: ShimAction,
    },
    /// Shell lines that put the `az` shim first on PATH: eval "$(vnetlab env)".
    Env {
        #[command(flatten)]
        lab: LabArg,
    },

    /// The lab as a cloud for the real az and the Azure SDKs: eval "$(vnetlab cloud env)".
    Cloud {
        #[command(subcommand)]
        action: CloudAction,
    },
    /// The lab's ARM endpoint (started by `vnetlab cloud env`).
    #[command(name = "__cloud-serve", hide = true)]
    CloudServe {
        #[command(flatten)]
        lab: LabArg,
    },
    #[command(name = "__daemon", hide = true)]
    Daemon {
        #[command(flatten)]
        lab: LabArg,
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        latency: LatencyArgs,
    },
    /// A VM's init (pid 1 of its PID namespace), which the daemon starts.
    #[command(name = "__vm-init", hide = true)]
    VmInit,
    /// `scripts/bench scale`'s floor: N bare namespaces with one TUN each.
    #[command(name = "__bench-floor", hide = true)]
    BenchFloor { n: usize },
    /// `scripts/bench scale`: does every VM of the lab answer on 22?
    #[command(name = "__bench-probe", hide = true)]
    BenchProbe {
        #[command(flatten)]
        lab: LabArg,
    },
    /// Test pods on an AKS cluster of the lab: run, get pods/nodes, exec, delete.
    Kubectl {
        #[command(flatten)]
        lab: LabArg,
        /// The AKS cluster (may be left out when the lab has one).
        #[arg(long, global = true)]
        cluster: Option<String>,
        #[command(subcommand)]
        cmd: kubectl::KubectlCmd,
    },
    /// AKS extras: `aks mesh enable|connect|status|disconnect|disable`.
    Aks {
        #[command(flatten)]
        lab: LabArg,
        #[command(subcommand)]
        cmd: kubectl::AksCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum CloudAction {
    /// Shell lines that point the real az (and the SDKs) at the lab's ARM
    /// endpoint: a lab-private AZURE_CONFIG_DIR, the lab's CA, its cloud
    /// registered and selected, the lab's principal (or `--as` one of its
    /// topology's) signed in. Starts the
    /// lab and its endpoint when needed.
    Env {
        #[command(flatten)]
        lab: LabArg,
        /// Print the lines that undo it instead.
        #[arg(long)]
        unset: bool,
        /// Sign in as this principal of the lab's topology (name or object
        /// ID) instead of the lab's own, in a config dir of its own.
        #[arg(long = "as", value_name = "PRINCIPAL", conflicts_with = "unset")]
        as_principal: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ShimAction {
    /// Write an `az` executable that forwards to `vnetlab az`.
    Install {
        /// Where to write it (default: ~/.local/share/vnetlab/bin).
        dir: Option<PathBuf>,
    },
}

/// `up`'s say over the topology's `latency:`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LatencyArgs {
    /// Delay between regions: azure (half of Azure's published median
    /// round trip each way; the default) or off. Overrides the topology.
    #[arg(long, value_enum)]
    latency: Option<LatencyArg>,
    /// Multiply every region pair's round trip by this (above 0, at most 10).
    #[arg(long, value_name = "FACTOR")]
    latency_scale: Option<f64>,
    /// Hold each delayed packet up to this many ms longer or shorter.
    #[arg(long, value_name = "MS")]
    latency_jitter: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LatencyArg {
    Azure,
    Off,
}

impl LatencyArgs {
    /// The topology's setting with these flags applied, checked.
    pub(crate) fn apply(
        &self,
        mut cfg: crate::model::latency::LatencyConfig,
    ) -> anyhow::Result<crate::model::latency::LatencyConfig> {
        if let Some(l) = self.latency {
            cfg.enabled = l == LatencyArg::Azure;
        }
        if let Some(s) = self.latency_scale {
            cfg.scale = s;
        }
        if let Some(j) = self.latency_jitter {
            cfg.jitter_ms = j;
        }
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("{e} (--latency-scale, --latency-jitter)"))?;
        Ok(cfg)
    }

    /// The same flags, for the daemon's command line.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(l) = self.latency {
            a.extend([
                "--latency".into(),
                if l == LatencyArg::Azure { "azure" } else { "off" }.into(),
            ]);
        }
        if let Some(s) = self.latency_scale {
            a.extend(["--latency-scale".into(), s.to_string()]);
        }
        if let Some(j) = self.latency_jitter {
            a.extend(["--latency-jitter".into(), j.to_string()]);
        }
        a
    }
}

/// Which lab: `--lab`, else `VNETLAB_LAB`, else `default`.
#[derive(Clone, Debug, clap::Args)]
pub struct LabArg {
    #[arg(long = "lab", global = true)]
    name: Option<String>,
}

impl LabArg {
    fn get(&self) -> anyhow::Result<crate::host::Lab> {
        Ok(crate::host::lab_from(self.name.as_deref())?)
    }
}

/// Runs a command; the exit code follows ripgrep's convention: 0 done,
/// 1 an expectation did not hold, 2 a usage or input error.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Up {
            file,
            lab,
            foreground,
            latency,
        } => live::up(&lab.get()?, file.as_deref(), foreground, &latency, &mut out),
        Command::Down { lab, keep_state } => live::down(&lab.get()?, keep_state, &mut out),
        Command::Status { lab, output } => live::status(&lab.get()?, output, &mut out),
        Command::Exec { lab, vm, cmd } => {
            drop(out);
            live::exec(&lab.get()?, &vm, cmd)
        }
        Command::Shell { lab, cmd } => {
            drop(out);
            live::shell(&lab.get()?, cmd)
        }
        Command::Ssh { lab, vm, cmd } => {
            drop(out);
            live::ssh(&lab.get()?, &vm, cmd)
        }
        Command::Trace { lab, vm } => live::trace(&lab.get()?, vm, &mut out),
        Command::Capture {
            lab,
            target,
            write,
            count,
            drops_only,
            duration,
        } => capture::capture(
            &lab.get()?,
            capture::Options {
                target,
                write,
                count,
                drops_only,
                duration,
            },
            &mut out,
        ),
        Command::Web { lab, listen } => web::web(&lab.get()?, &listen, &mut out),
        Command::Apply { lab, file } => live::apply(&lab.get()?, &file, &mut out),
        Command::Import { source } => import::run(source, &mut out),
        Command::Test { dir, lab, junit } => live::test(&lab.get()?, &dir, junit.as_deref(), &mut out),
        Command::Az { lab, args } => {
            drop(out);
            Ok(az::run(&lab.get()?, &args))
        }
        Command::Shim {
            action: ShimAction::Install { dir },
        } => az::shim_install(dir.as_deref(), &mut out),
        Command::Env { lab } => az::env(lab.name.as_deref(), &mut out),
        Command::VmInit => {
            drop(out);
            match crate::host::vminit::run()? {}
        }
        Command::Cloud {
            action:
                CloudAction::Env {
                    lab,
                    unset,
                    as_principal,
                },
        } => cloud::env(&lab.get()?, unset, as_principal.as_deref(), &mut out),
        Command::CloudServe { lab } => {
            drop(out);
            cloud::serve(&lab.get()?)
        }
        Command::Daemon { lab, file, latency } => {
            drop(out);
            live::daemon(&lab.get()?, file.as_deref(), &latency)
        }
        Command::Kubectl { lab, cluster, cmd } => kubectl::kubectl(&lab.get()?, cluster.as_deref(), cmd, &mut out),
        Command::Aks { lab, cmd } => kubectl::aks(&lab.get()?, cmd, &mut out),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            // Into a buffer: clap_complete panics on a failed write (a
            // closed pipe), and a failed write here is the reader's choice.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "vnetlab", &mut script);
            out.write_all(&script)?;
            Ok(0)
        }
        Command::ManPage => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            Ok(0)
        }
        Command::Graph {
            file,
            lab,
            output,
            reach,
        } => graph_cmd(file.as_deref(), &lab, output, reach, &mut out),
        Command::BenchFloor { n } => bench::floor(n, &mut out),
        Command::BenchProbe { lab } => bench::probe(&lab.get()?, &mut out),
        other => offline::run(other, &mut out),
    }
}

fn graph_cmd(
    file: Option<&std::path::Path>,
    lab: &LabArg,
    format: GraphFormat,
    reach: bool,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u8> {
    let (model, tables) = match file {
        Some(f) => offline::load(f)?,
        None => {
            let model = live::lab_model(&lab.get()?)?;
            let tables = crate::dataplane::Tables::compile(&model, 1);
            (model, tables)
        }
    };
    let reach: Vec<graph::Reach> = if reach {
        offline::reach_matrix(&model, &tables)
            .into_iter()
            .map(|r| graph::Reach {
                from: r.from,
                to: r.to,
                ping: r.ping,
                ssh: r.ssh,
            })
            .collect()
    } else {
        Vec::new()
    };
    let g = graph::build(&model, &reach);
    match format {
        GraphFormat::Mermaid => write!(out, "{}", graph::mermaid(&g))?,
        GraphFormat::Dot => write!(out, "{}", graph::dot(&g))?,
        GraphFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&g)?)?,
        GraphFormat::Svg => out.write_all(&graph::svg(&g)?)?,
    }
    Ok(0)
}
