//! What the page's panels show, computed from the lab's model by the same
//! functions the commands use: `vnetlab graph` draws the diagram, the az
//! front answers `nic show-effective-route-table` and `list-effective-nsg`,
//! and `vnetlab explain` asks the verdict function.

use serde_json::{Value, json};

use super::super::{graph, offline};
use crate::az::{self, MemoryBackend};
use crate::dataplane::Tables;
use crate::model::Model;

/// The diagram: the graph as JSON (the page finds the VMs' nodes by id)
/// and, when Graphviz is there, its SVG.
pub fn diagram(model: &Model) -> Value {
    let g = graph::build(model, &[]);
    let (svg, svg_error) = match graph::svg(&g) {
        Ok(bytes) => (Some(String::from_utf8_lossy(&bytes).into_owned()), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    json!({ "graph": g, "svg": svg, "svgError": svg_error })
}

/// One az command on a copy of the model: read-only, so the running lab
/// cannot change. Its table, or az's error text.
fn az_table(model: &Model, words: &[&str]) -> Result<String, String> {
    let argv: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    let mut backend = MemoryBackend {
        model: model.clone(),
        ..MemoryBackend::new()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = az::run(&argv, &mut backend, &mut out, &mut err);
    if code == 0 {
        Ok(String::from_utf8_lossy(&out).into_owned())
    } else {
        Err(String::from_utf8_lossy(&err).into_owned())
    }
}

/// A VM's NICs, each with its effective routes and NSG rules as
/// `az network nic show-effective-route-table` / `list-effective-nsg -o table` print them.
pub fn vm(model: &Model, name: &str) -> Result<Value, String> {
    let vm = model
        .virtual_machines
        .values()
        .find(|v| v.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = model.virtual_machines.values().map(|v| v.name.as_str()).collect();
            format!("no virtual machine named '{name}'; the lab has: {}", names.join(", "))
        })?;
    let nics: Vec<Value> = vm
        .network_interfaces
        .iter()
        .map(|id| {
            let (rg, nic) = (id.resource_group_name(), id.name());
            let one = |verb: &str| {
                let r = az_table(model, &["network", "nic", verb, "-g", rg, "-n", nic, "-o", "table"]);
                json!({
                    "command": format!("az network nic {verb} -g {rg} -n {nic} -o table"),
                    "table": r.as_ref().ok(),
                    "error": r.as_ref().err(),
                })
            };
            json!({
                "name": nic,
                "routes": one("show-effective-route-table"),
                "nsg": one("list-effective-nsg"),
            })
        })
        .collect();
    Ok(json!({ "name": vm.name, "powerState": vm.power_state, "nics": nics }))
}

/// `vnetlab explain --from FROM --to TO [--protocol P]` on the running
/// lab's model: its lines, or why the question could not be asked.
pub fn explain(model: &Model, from: &str, to: &str, protocol: Option<&str>) -> Result<String, String> {
    let tables = Tables::compile(model, 1);
    let mut out = Vec::new();
    offline::explain_cmd(model, &tables, from, to, protocol, &mut out).map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab01() -> Model {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/01-peering-basics");
        offline::load(std::path::Path::new(dir)).expect("lab 01 loads").0
    }

    #[test]
    fn a_vm_shows_its_routes_and_nsg_rules_as_az_prints_them() {
        let v = vm(&lab01(), "salesvm").expect("SalesVM");
        assert_eq!(v["name"], "SalesVM");
        let nic = &v["nics"][0];
        let routes = nic["routes"]["table"].as_str().expect("a route table");
        assert!(
            routes.contains("10.1.0.0/16") && routes.contains("VNetPeering"),
            "{routes}"
        );
        let nsg = nic["nsg"]["table"].as_str().expect("an NSG table");
        assert!(nsg.contains("DenyAllInBound"), "{nsg}");
        assert!(vm(&lab01(), "NoSuchVM").unwrap_err().contains("SalesVM"));
    }

    #[test]
    fn explain_gives_the_verdicts_reasons() {
        let m = lab01();
        let no = explain(&m, "SalesVM", "ResearchVM", None).expect("asked");
        assert!(no.contains("not transitive"), "{no}");
        let yes = explain(&m, "SalesVM", "10.2.1.4:22", Some("tcp")).expect("asked");
        assert!(yes.starts_with("SalesVM (10.1.1.4) -> 10.2.1.4:22 tcp"), "{yes}");
        // A VM's name with a port, as the page's boxes give it: looked up
        // as SalesVM would (no answer across the peering), then by its IP.
        let named = explain(&m, "SalesVM", "MarketingVM:22", Some("tcp")).expect("asked");
        assert!(
            named.starts_with("SalesVM cannot resolve MarketingVM: NXDOMAIN"),
            "{named}"
        );
        assert!(named.contains("\nSalesVM (10.1.1.4) -> 10.2.1.4:22 tcp"), "{named}");
        assert!(
            explain(&m, "SalesVM", "10.2.1.400:22", None)
                .unwrap_err()
                .contains("not an IPv4 address")
        );
        assert!(
            explain(&m, "SalesVM", "10.2.1.4:http", None)
                .unwrap_err()
                .contains("not a port")
        );
        assert!(explain(&m, "SalesVM", "10.2.1.4:22", Some("sctp")).is_err());
        assert!(
            explain(&m, "Nobody", "10.2.1.4", None)
                .unwrap_err()
                .contains("no virtual machine")
        );
    }

    #[test]
    fn the_diagram_names_every_vm() {
        let d = diagram(&lab01());
        let text = d["graph"].to_string();
        for vm in ["SalesVM", "MarketingVM", "ResearchVM"] {
            assert!(text.contains(vm), "{vm} missing");
        }
    }
}
