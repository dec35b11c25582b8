//! Tags through the real az (issue 15): after `vnetlab cloud env`, azure-cli
//! 2.91 from scripts/setup's venv creates a group and a VNet with `--tags`,
//! reads them back, changes one with `update --set tags.K=V` (az's GET +
//! PUT), and a bad tag name gets ARM's code with nothing created. Needs root and the venv (`cargo test
//! --features root-tests --test live_tags`); the lab is removed in a drop
//! guard, also on failure.
#![cfg(feature = "root-tests")]

use std::process::{Command, Stdio};

mod common;
use common::{BIN, Lab};

#[test]
fn tags_round_trip_through_the_real_az() {
    let venv = std::env::var("VNETLAB_VENV").unwrap_or_else(|_| "/opt/vnetlab-venv".into());
    assert!(
        std::path::Path::new(&format!("{venv}/bin/az")).exists(),
        "no az in {venv}: run scripts/setup"
    );
    let lab = Lab::named("a3tags");
    let script = r#"
az group create -n tags-rg -l westeurope --tags env=lab owner -o none
echo "group: $(az group show -n tags-rg --query tags -o json | tr -d ' \n')"
az network vnet create -g tags-rg -n tags-vnet --address-prefixes 10.9.0.0/16 --tags tier=web cost=1 -o none
echo "vnet: $(az network vnet show -g tags-rg -n tags-vnet --query tags -o json | tr -d ' \n')"
az network vnet update -g tags-rg -n tags-vnet --set tags.tier=db -o none
echo "updated: $(az network vnet show -g tags-rg -n tags-vnet --query tags -o json | tr -d ' \n')"
if az group create -n bad-rg -l westeurope --tags 'a/b=1' -o none 2>bad.err; then echo "bad: accepted"; fi
echo "bad: $(head -c 200 bad.err | tr -d '\n')"
echo "bad group exists: $(az group exists -n bad-rg)"
"#;
    let dir = std::env::temp_dir().join(format!("{}-work", lab.0));
    std::fs::create_dir_all(&dir).expect("work dir");
    let shell = format!(
        "set -e; export PATH=\"{venv}/bin:$PATH\"; eval \"$('{BIN}' cloud env --lab '{}')\" >/dev/null; cd '{}'; {script}",
        lab.0,
        dir.display()
    );
    let o = Command::new("bash")
        .args(["-c", &shell])
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let _ = std::fs::remove_dir_all(&dir);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "az failed:\n{out}\n{err}");
    for want in [
        r#"group: {"env":"lab","owner":""}"#,
        r#"vnet: {"cost":"1","tier":"web"}"#,
        r#"updated: {"cost":"1","tier":"db"}"#,
        "InvalidTagNameCharacters",
        "bad group exists: false",
    ] {
        assert!(out.contains(want), "no '{want}' in:\n{out}\n{err}");
    }
}
