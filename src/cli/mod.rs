//! The `vnetlab` commands. Offline commands read a topology file, build
//! the model through validated changes, compile it and ask the verdict
//! function; none of them re-implements a rule.

mod offline;
pub mod table;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use offline::load;

#[derive(Debug, Parser)]
#[command(name = "vnetlab", version, about = "Azure virtual networking, emulated with real packets")]
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
        /// A VM name, or `Internet` for the Cloud Shell side.
        #[arg(long)]
        from: String,
        /// IP, IP:PORT, or a VM name.
        #[arg(long)]
        to: String,
        /// tcp, udp or icmp; tcp when a port is given, else icmp.
        #[arg(long)]
        protocol: Option<String>,
    },
    /// Print the topology file's JSON schema.
    Schema,
}

/// Runs a command; the exit code follows ripgrep's convention: 0 done,
/// 1 an expectation did not hold, 2 a usage or input error.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    offline::run(cli.command, &mut out)
}
