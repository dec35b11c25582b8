//! `vnetlab import terraform`: a Terraform plan or state as a topology
//! file, or applied to a running lab (the conversion is crate::terraform).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::host::Lab;
use crate::terraform;
use crate::topology::Topology;

/// What `vnetlab import` reads.
#[derive(Debug, clap::Subcommand)]
pub enum ImportSource {
    /// `terraform show -json` of a saved plan or of the state: its azurerm
    /// network resources as a topology file.
    Terraform {
        /// plan.json (`terraform show -json tfplan > plan.json`) or state.json.
        plan: PathBuf,
        /// Write topology.yaml here instead of printing it.
        #[arg(short = 'o', long, conflicts_with = "apply")]
        output: Option<PathBuf>,
        /// Apply the resources to a running lab (all or none), as `vnetlab apply`.
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        lab: super::LabArg,
    },
}

pub fn run(source: ImportSource, out: &mut impl Write) -> anyhow::Result<u8> {
    let ImportSource::Terraform {
        plan,
        output,
        apply,
        lab,
    } = source;
    let (yaml, topo) = convert(&plan)?;
    if apply {
        let lab: Lab = lab.get()?;
        let changes = topo
            .changes()
            .with_context(|| format!("{} was refused", plan.display()))?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        return super::live::apply_changes(&lab, changes, &[], out);
    }
    match output {
        Some(path) => {
            std::fs::write(&path, &yaml).with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(out, "wrote {}", path.display())?;
        }
        None => out.write_all(yaml.as_bytes())?,
    }
    Ok(0)
}

/// The topology file of a plan, checked by the loader before it is written
/// or applied; what it leaves out goes to stderr as warnings.
fn convert(plan: &Path) -> anyhow::Result<(String, Topology)> {
    let text = std::fs::read_to_string(plan).with_context(|| format!("cannot read {}", plan.display()))?;
    let imported = terraform::import(&text).with_context(|| format!("{} cannot be imported", plan.display()))?;
    for n in &imported.not_emulated {
        eprintln!("WARNING: not emulated (no effect on the network): {n}");
    }
    for n in &imported.notes {
        eprintln!("WARNING: {n}");
    }
    let yaml = imported.to_yaml(&plan.display().to_string());
    let topo = Topology::parse(&yaml).with_context(|| format!("the topology made from {}", plan.display()))?;
    topo.build()
        .with_context(|| format!("the topology made from {} was refused", plan.display()))?;
    Ok((yaml, topo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::offline::reach_matrix;
    use crate::dataplane::Tables;

    fn matrix(topo: &Topology) -> Vec<String> {
        let model = topo.build().expect("builds");
        let tables = Tables::compile(&model, 1);
        reach_matrix(&model, &tables)
            .into_iter()
            .map(|r| format!("{} -> {}: ping {} ssh {} {}", r.from, r.to, r.ping, r.ssh, r.why))
            .collect()
    }

    /// Done-when of the import: the hand-written hub-and-spoke plan builds
    /// lab 02's network, pair for pair and reason for reason.
    #[test]
    fn the_hub_spoke_plan_reaches_as_lab_02_does() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (_, imported) = convert(&root.join("tests/fixtures/terraform/hub-spoke.plan.json")).unwrap();
        let lab = std::fs::read_to_string(root.join("labs/02-hub-spoke-nva/topology.yaml")).unwrap();
        let lab02 = Topology::parse(&lab).unwrap();
        let (want, got) = (matrix(&lab02), matrix(&imported));
        assert_eq!(want.len(), 20, "{want:#?}");
        assert_eq!(got, want);
        // Not every pair reaches: the matrix can tell a wrong import.
        assert!(want.iter().any(|r| r.contains("ping false")));
    }
}
