//! `vnetlab graph`: the lab as a diagram — VNets with their address
//! spaces, subnets and what sits in them, peerings with their state and
//! flags, gateways and their connections, on-premises sites, the UDRs that
//! hand traffic to an NVA — and, with `--reach`, who reaches whom as the
//! verdict function says (the same matrix `vnetlab analyze` prints).
//!
//! One pure [`Graph`] is built from the model; mermaid, DOT and JSON are
//! three printings of it, and SVG is Graphviz's rendering of the DOT.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Model, NextHopType, PeeringState, ResourceId};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    pub vnets: Vec<VnetBox>,
    /// Local network gateways: on-premises sites.
    pub sites: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetBox {
    /// The node peerings attach to (the VNet itself).
    pub id: String,
    pub name: String,
    pub location: String,
    pub address_prefixes: Vec<String>,
    pub subnets: Vec<SubnetBox>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetBox {
    pub id: String,
    pub name: String,
    pub address_prefix: String,
    pub network_security_group: Option<String>,
    pub route_table: Option<String>,
    pub nodes: Vec<Node>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NodeKind {
    Vm,
    /// A VM whose NIC forwards (IP forwarding on).
    Nva,
    Gateway,
    RouteServer,
    LoadBalancer,
    PrivateEndpoint,
    Cache,
    Site,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    /// Addresses and facts shown under the name.
    pub details: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EdgeKind {
    /// A VNet peering; one edge per pair, each direction's link described.
    Peering,
    /// A VPN connection (IPsec to a site, or VNet-to-VNet).
    Connection,
    /// A user-defined route whose next hop is an NVA.
    Route,
    /// `--reach`: the source reaches the destination.
    Reach,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub label: String,
    /// Drawn dashed: a peering that is not Connected both ways.
    pub dashed: bool,
    /// Both ways (a Connected peering pair, a mutual reach).
    pub both_ways: bool,
}

/// One row of the reach matrix, as `vnetlab analyze` computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    pub from: String,
    pub to: String,
    pub ping: bool,
    pub ssh: bool,
}

/// Builds the diagram of `model`. Node ids are generated (`vnet0`,
/// `n3`, …), so names need no escaping in any output format.
pub fn build(model: &Model, reach: &[Reach]) -> Graph {
    let mut g = Graph::default();
    let mut ids: BTreeMap<&ResourceId, String> = BTreeMap::new();
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    let mut next = 0usize;
    let mut fresh = |prefix: &str| {
        next += 1;
        format!("{prefix}{next}")
    };

    for (vi, v) in model.virtual_networks.values().enumerate() {
        let vnet_id = format!("vnet{vi}");
        ids.insert(&v.id, vnet_id.clone());
        let mut subnets = Vec::new();
        for s in &v.subnets {
            let mut nodes = Vec::new();
            for nic in model.network_interfaces.values().filter(|n| n.subnet == s.id) {
                let vm = nic
                    .virtual_machine
                    .as_ref()
                    .and_then(|id| model.virtual_machines.get(id));
                let name = vm.map_or(nic.name.as_str(), |vm| vm.name.as_str());
                let mut details = vec![nic.private_ip_address.to_string()];
                if let Some(pip) = nic
                    .public_ip_address
                    .as_ref()
                    .and_then(|p| model.public_ip_addresses.get(p))
                {
                    details.push(format!("public {}", pip.ip_address));
                }
                if let Some(nsg) = &nic.network_security_group {
                    details.push(format!("NIC NSG {}", nsg.name()));
                }
                let kind = if nic.enable_ip_forwarding {
                    details.push("IP forwarding".into());
                    NodeKind::Nva
                } else {
                    NodeKind::Vm
                };
                if let Some(vm) = vm
                    && vm.power_state != crate::model::PowerState::Running
                {
                    details.push(format!("{:?}", vm.power_state));
                }
                let id = fresh("n");
                by_name.insert(name.to_string(), id.clone());
                if let Some(vm) = vm {
                    ids.insert(&vm.id, id.clone());
                }
                nodes.push(Node {
                    id,
                    kind,
                    name: name.to_string(),
                    details,
                });
            }
            for gw in model
                .virtual_network_gateways
                .values()
                .filter(|gw| gw.virtual_network == v.id && s.name.eq_ignore_ascii_case("GatewaySubnet"))
            {
                let id = fresh("n");
                ids.insert(&gw.id, id.clone());
                nodes.push(Node {
                    id,
                    kind: NodeKind::Gateway,
                    name: gw.name.clone(),
                    details: vec![format!("{:?} {}", gw.gateway_type, gw.sku)],
                });
            }
            for rs in model.route_servers.values().filter(|rs| rs.hosted_subnet == s.id) {
                let id = fresh("n");
                ids.insert(&rs.id, id.clone());
                let mut details = vec!["Route Server, ASN 65515".to_string()];
                details.extend(
                    rs.peerings
                        .iter()
                        .map(|p| format!("peer {} AS{}", p.peer_ip, p.peer_asn)),
                );
                if rs.allow_branch_to_branch_traffic {
                    details.push("branch-to-branch".into());
                }
                nodes.push(Node {
                    id,
                    kind: NodeKind::RouteServer,
                    name: rs.name.clone(),
                    details,
                });
            }
            for lb in model.load_balancers.values() {
                for fe in lb.frontend_ip_configurations.iter().filter(|f| f.subnet == s.id) {
                    let id = fresh("n");
                    ids.insert(&lb.id, id.clone());
                    nodes.push(Node {
                        id,
                        kind: NodeKind::LoadBalancer,
                        name: lb.name.clone(),
                        details: vec![format!("{:?} ILB {}", lb.sku, fe.private_ip_address)],
                    });
                }
            }
            for c in model.redis_caches.values().filter(|c| c.subnet.as_ref() == Some(&s.id)) {
                let id = fresh("n");
                ids.insert(&c.id, id.clone());
                let ip = c.static_ip.map(|ip| ip.to_string()).unwrap_or_default();
                nodes.push(Node {
                    id,
                    kind: NodeKind::Cache,
                    name: c.name.clone(),
                    details: vec![format!("Redis {ip}")],
                });
            }
            for pe in model.private_endpoints.values().filter(|pe| pe.subnet == s.id) {
                let id = fresh("n");
                ids.insert(&pe.id, id.clone());
                nodes.push(Node {
                    id,
                    kind: NodeKind::PrivateEndpoint,
                    name: pe.name.clone(),
                    details: vec![
                        pe.private_ip_address.to_string(),
                        format!("to {}", pe.private_link_service_id.name()),
                    ],
                });
            }
            subnets.push(SubnetBox {
                id: fresh("s"),
                name: s.name.clone(),
                address_prefix: s.address_prefix.to_string(),
                network_security_group: s.network_security_group.as_ref().map(|n| n.name().to_string()),
                route_table: s.route_table.as_ref().map(|r| r.name().to_string()),
                nodes,
            });
        }
        g.vnets.push(VnetBox {
            id: vnet_id,
            name: v.name.clone(),
            location: v.location.clone(),
            address_prefixes: v.address_prefixes.iter().map(|p| p.to_string()).collect(),
            subnets,
        });
    }

    for lng in model.local_network_gateways.values() {
        let id = fresh("site");
        ids.insert(&lng.id, id.clone());
        by_name.insert(format!("{}{}", lng.name, crate::daemon::SITE_HOST_SUFFIX), id.clone());
        let mut details = vec![format!("device {}", lng.gateway_ip_address)];
        details.extend(lng.local_address_prefixes.iter().map(|p| p.to_string()));
        g.sites.push(Node {
            id,
            kind: NodeKind::Site,
            name: lng.name.clone(),
            details,
        });
    }

    peering_edges(model, &ids, &mut g.edges);
    connection_edges(model, &ids, &mut g.edges);
    let routes = udr_edges(model, &g);
    g.edges.extend(routes);
    g.edges.extend(reach_edges(reach, &by_name));
    g
}

fn peering_edges(model: &Model, ids: &BTreeMap<&ResourceId, String>, edges: &mut Vec<Edge>) {
    let mut seen = Vec::new();
    for v in model.virtual_networks.values() {
        for p in &v.peerings {
            let key = pair(&v.id, &p.remote_virtual_network);
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let Some(from) = ids.get(&v.id) else { continue };
            let remote = model.virtual_networks.get(&p.remote_virtual_network);
            let to = match ids.get(&p.remote_virtual_network) {
                Some(id) => id.clone(),
                // A peering to a VNet the lab does not hold is drawn to
                // nothing: its state says why.
                None => continue,
            };
            let global = remote.is_some_and(|r| !r.location.eq_ignore_ascii_case(&v.location));
            let back = remote.and_then(|r| r.peerings.iter().find(|q| q.remote_virtual_network == v.id));
            let state = model.peering_state(&v.id, p);
            let rtt = remote
                .filter(|_| global)
                .and_then(|r| crate::model::latency::rtt(&v.location, &r.location))
                .map(|r| {
                    let approx = if r.is_estimate() { "~" } else { "" };
                    format!(", RTT {approx}{:.0} ms", r.ms)
                })
                .unwrap_or_default();
            let mut label = format!(
                "{} {}{rtt}: {}{}",
                if global { "global" } else { "regional" },
                p.name,
                state.as_str(),
                flags(p)
            );
            if let (Some(r), Some(q)) = (remote, back) {
                let _ = write!(
                    label,
                    "\n{}: {}{}",
                    q.name,
                    model.peering_state(&r.id, q).as_str(),
                    flags(q)
                );
            }
            edges.push(Edge {
                from: from.clone(),
                to,
                kind: EdgeKind::Peering,
                label,
                dashed: state != PeeringState::Connected,
                both_ways: back.is_some(),
            });
        }
    }
}

/// The flags a peering link has on, in the portal's order.
fn flags(p: &crate::model::Peering) -> String {
    let on: Vec<&str> = [
        (p.allow_virtual_network_access, "access"),
        (p.allow_forwarded_traffic, "forwarded"),
        (p.allow_gateway_transit, "gateway transit"),
        (p.use_remote_gateways, "remote gateways"),
    ]
    .into_iter()
    .filter_map(|(b, s)| b.then_some(s))
    .collect();
    if on.is_empty() {
        String::new()
    } else {
        format!(" ({})", on.join(", "))
    }
}

fn pair(a: &ResourceId, b: &ResourceId) -> (String, String) {
    let (a, b) = (a.as_str().to_ascii_lowercase(), b.as_str().to_ascii_lowercase());
    if a <= b { (a, b) } else { (b, a) }
}

fn connection_edges(model: &Model, ids: &BTreeMap<&ResourceId, String>, edges: &mut Vec<Edge>) {
    let mut seen = Vec::new();
    for c in model.connections.values() {
        let key = pair(&c.virtual_network_gateway1, &c.peer);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let (Some(from), Some(to)) = (ids.get(&c.virtual_network_gateway1), ids.get(&c.peer)) else {
            continue;
        };
        let both = model
            .connections
            .values()
            .any(|d| d.virtual_network_gateway1 == c.peer && d.peer == c.virtual_network_gateway1);
        edges.push(Edge {
            from: from.clone(),
            to: to.clone(),
            kind: EdgeKind::Connection,
            label: format!("{:?} {}", c.connection_type, c.name),
            dashed: false,
            both_ways: both,
        });
    }
}

/// A subnet whose route table sends prefixes to an NVA: one edge from the
/// subnet to the NVA that holds the next-hop IP, labelled with the
/// prefixes.
fn udr_edges(model: &Model, g: &Graph) -> Vec<Edge> {
    let node_at = |ip: std::net::Ipv4Addr| -> Option<String> {
        let nic = model.network_interfaces.values().find(|n| n.private_ip_address == ip)?;
        let vm = nic
            .virtual_machine
            .as_ref()
            .and_then(|id| model.virtual_machines.get(id))?;
        g.vnets
            .iter()
            .flat_map(|v| &v.subnets)
            .flat_map(|s| &s.nodes)
            .find(|n| n.name == vm.name)
            .map(|n| n.id.clone())
    };
    let mut edges = Vec::new();
    for (v, vb) in model.virtual_networks.values().zip(&g.vnets) {
        for (s, sb) in v.subnets.iter().zip(&vb.subnets) {
            let Some(rt) = s.route_table.as_ref().and_then(|r| model.route_tables.get(r)) else {
                continue;
            };
            let mut by_hop: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for r in rt
                .routes
                .iter()
                .filter(|r| r.next_hop_type == NextHopType::VirtualAppliance)
            {
                if let Some(to) = r.next_hop_ip_address.and_then(node_at) {
                    by_hop.entry(to).or_default().push(r.address_prefix.to_string());
                }
            }
            for (to, prefixes) in by_hop {
                edges.push(Edge {
                    from: sb.id.clone(),
                    to,
                    kind: EdgeKind::Route,
                    label: format!("UDR {}: {}", rt.name, prefixes.join(", ")),
                    dashed: false,
                    both_ways: false,
                });
            }
        }
    }
    edges
}

fn reach_edges(reach: &[Reach], by_name: &BTreeMap<String, String>) -> Vec<Edge> {
    let what = |r: &Reach| match (r.ping, r.ssh) {
        (true, true) => Some("ping, ssh"),
        (true, false) => Some("ping"),
        (false, true) => Some("ssh"),
        (false, false) => None,
    };
    let mut edges: Vec<Edge> = Vec::new();
    for r in reach {
        let (Some(label), Some(from), Some(to)) = (what(r), by_name.get(&r.from), by_name.get(&r.to)) else {
            continue;
        };
        // A pair that reaches each other the same way is one edge.
        if let Some(e) = edges
            .iter_mut()
            .find(|e| &e.from == to && &e.to == from && e.label == label)
        {
            e.both_ways = true;
            continue;
        }
        edges.push(Edge {
            from: from.clone(),
            to: to.clone(),
            kind: EdgeKind::Reach,
            label: label.to_string(),
            dashed: false,
            both_ways: false,
        });
    }
    edges
}

fn node_title(n: &Node) -> String {
    let kind = match n.kind {
        NodeKind::Vm => "VM",
        NodeKind::Nva => "NVA",
        NodeKind::Gateway => "VPN gateway",
        NodeKind::RouteServer => "Route Server",
        NodeKind::LoadBalancer => "load balancer",
        NodeKind::PrivateEndpoint => "private endpoint",
        NodeKind::Cache => "cache",
        NodeKind::Site => "on-premises site",
    };
    format!("{} ({kind})", n.name)
}

fn subnet_lines(s: &SubnetBox) -> Vec<String> {
    let mut lines = vec![format!("{} {}", s.name, s.address_prefix)];
    if let Some(n) = &s.network_security_group {
        lines.push(format!("NSG {n}"));
    }
    if let Some(r) = &s.route_table {
        lines.push(format!("route table {r}"));
    }
    lines
}

fn mermaid_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;"))
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// Mermaid flowchart (renders in GitHub, GitLab and most Markdown viewers).
pub fn mermaid(g: &Graph) -> String {
    let mut o = String::from("flowchart LR\n");
    let node = |o: &mut String, n: &Node, indent: &str| {
        let mut lines = vec![node_title(n)];
        lines.extend(n.details.iter().cloned());
        let text = mermaid_text(&lines);
        let shape = match n.kind {
            NodeKind::Gateway | NodeKind::RouteServer => format!("{{{{\"{text}\"}}}}"),
            NodeKind::Site => format!("[(\"{text}\")]"),
            NodeKind::Nva => format!("[[\"{text}\"]]"),
            _ => format!("[\"{text}\"]"),
        };
        let _ = writeln!(o, "{indent}{}{shape}", n.id);
    };
    for v in &g.vnets {
        let title = mermaid_text(&[format!("{} ({})", v.name, v.location), v.address_prefixes.join(", ")]);
        let _ = writeln!(o, "  subgraph {}_box[\"{title}\"]", v.id);
        let _ = writeln!(o, "    {}((\"{}\"))", v.id, mermaid_text(std::slice::from_ref(&v.name)));
        for s in &v.subnets {
            let _ = writeln!(o, "    subgraph {}[\"{}\"]", s.id, mermaid_text(&subnet_lines(s)));
            if s.nodes.is_empty() {
                let _ = writeln!(o, "      {}_empty[\" \"]", s.id);
                let _ = writeln!(o, "      style {}_empty fill:none,stroke:none", s.id);
            }
            for n in &s.nodes {
                node(&mut o, n, "      ");
            }
            o.push_str("    end\n");
        }
        o.push_str("  end\n");
    }
    for s in &g.sites {
        node(&mut o, s, "  ");
    }
    for e in &g.edges {
        let arrow = match (e.dashed, e.both_ways, e.kind) {
            (_, _, EdgeKind::Reach) if e.both_ways => "<-.->",
            (_, _, EdgeKind::Reach) => "-.->",
            (true, true, _) => "<-.->",
            (true, false, _) => "-.->",
            (false, true, _) => "<==>",
            (false, false, _) => "==>",
        };
        let label = mermaid_text(&e.label.lines().map(String::from).collect::<Vec<_>>());
        let _ = writeln!(o, "  {} {arrow}|\"{label}\"| {}", e.from, e.to);
    }
    o
}

fn dot_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect::<Vec<_>>()
        .join("\\n")
}

/// Graphviz DOT (`dot -Tsvg`, `-Tpng`).
pub fn dot(g: &Graph) -> String {
    let mut o = String::from(
        "digraph lab {\n  rankdir=LR;\n  compound=true;\n  fontname=\"Helvetica\";\n  \
         node [fontname=\"Helvetica\", fontsize=10, shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];\n  \
         edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    let node = |o: &mut String, n: &Node, indent: &str| {
        let mut lines = vec![node_title(n)];
        lines.extend(n.details.iter().cloned());
        let (shape, fill) = match n.kind {
            NodeKind::Vm => ("box", "#e8f1fb"),
            NodeKind::Nva => ("box3d", "#fff2cc"),
            NodeKind::Gateway | NodeKind::RouteServer => ("hexagon", "#e2f0d9"),
            NodeKind::LoadBalancer => ("trapezium", "#ede7f6"),
            NodeKind::PrivateEndpoint | NodeKind::Cache => ("component", "#fde9e7"),
            NodeKind::Site => ("cylinder", "#eeeeee"),
        };
        let _ = writeln!(
            o,
            "{indent}{} [label=\"{}\", shape={shape}, fillcolor=\"{fill}\"];",
            n.id,
            dot_text(&lines)
        );
    };
    for v in &g.vnets {
        let _ = writeln!(o, "  subgraph cluster_{} {{", v.id);
        let _ = writeln!(
            o,
            "    label=\"{}\"; style=\"rounded\"; color=\"#0078d4\";",
            dot_text(&[format!("{} ({})", v.name, v.location), v.address_prefixes.join(", ")])
        );
        let _ = writeln!(
            o,
            "    {} [label=\"{}\", shape=ellipse, fillcolor=\"#cfe3f7\"];",
            v.id,
            dot_text(std::slice::from_ref(&v.name))
        );
        for s in &v.subnets {
            let _ = writeln!(o, "    subgraph cluster_{} {{", s.id);
            let _ = writeln!(
                o,
                "      label=\"{}\"; style=\"dashed\"; color=\"#777777\";",
                dot_text(&subnet_lines(s))
            );
            // The anchor a UDR edge starts from, and what keeps an empty
            // subnet drawn.
            let _ = writeln!(o, "      {} [label=\"\", shape=point, style=invis, width=0.01];", s.id);
            for n in &s.nodes {
                node(&mut o, n, "      ");
            }
            o.push_str("    }\n");
        }
        o.push_str("  }\n");
    }
    for s in &g.sites {
        node(&mut o, s, "  ");
    }
    for e in &g.edges {
        let (color, style) = match e.kind {
            EdgeKind::Peering if e.dashed => ("#c50f1f", "dashed"),
            EdgeKind::Peering => ("#0078d4", "bold"),
            EdgeKind::Connection => ("#107c10", "bold"),
            EdgeKind::Route => ("#ca5010", "solid"),
            EdgeKind::Reach => ("#5c2d91", "dotted"),
        };
        let dir = if e.both_ways { "both" } else { "forward" };
        let label = dot_text(&e.label.lines().map(String::from).collect::<Vec<_>>());
        // A UDR starts at its subnet's box, not at the hidden anchor.
        let tail = if e.kind == EdgeKind::Route {
            format!(", ltail=cluster_{}", e.from)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  {} -> {} [label=\"{label}\", color=\"{color}\", fontcolor=\"{color}\", style={style}, dir={dir}{tail}];",
            e.from, e.to
        );
    }
    o.push_str("}\n");
    o
}

/// SVG, drawn by Graphviz's `dot` from [`dot`]'s text.
pub fn svg(g: &Graph) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!("cannot run Graphviz's dot ({e}); scripts/setup installs it (package graphviz)")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot(g).as_bytes())?;
    }
    let done = child.wait_with_output()?;
    if !done.status.success() {
        anyhow::bail!("dot -Tsvg failed: {}", String::from_utf8_lossy(&done.stderr).trim());
    }
    Ok(done.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab01() -> Model {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/01-peering-basics/topology.yaml"
        ))
        .expect("lab 01");
        crate::topology::Topology::parse(&text)
            .expect("parse")
            .build()
            .expect("build")
    }

    #[test]
    fn lab01_has_its_vnets_vms_and_two_peering_pairs() {
        let g = build(&lab01(), &[]);
        let names: Vec<&str> = g.vnets.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["MarketingVNet", "ResearchVNet", "SalesVNet"]);
        let vms: Vec<&str> = g
            .vnets
            .iter()
            .flat_map(|v| &v.subnets)
            .flat_map(|s| &s.nodes)
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(vms, ["MarketingVM", "ResearchVM", "SalesVM"]);
        let peerings: Vec<&Edge> = g.edges.iter().filter(|e| e.kind == EdgeKind::Peering).collect();
        assert_eq!(peerings.len(), 2, "{peerings:?}");
        assert!(peerings.iter().all(|e| e.both_ways && !e.dashed));
        // Marketing (northeurope) - Research (westeurope) is global.
        assert!(peerings.iter().any(|e| e.label.starts_with("global")));
        assert!(peerings.iter().any(|e| e.label.starts_with("regional")));
    }

    #[test]
    fn a_one_sided_peering_is_drawn_dashed() {
        let mut m = lab01();
        let research = m
            .virtual_networks
            .values()
            .find(|v| v.name == "ResearchVNet")
            .expect("research")
            .clone();
        let link = research.peerings[0].id.clone();
        m.apply(crate::model::Change::DeletePeering(link)).expect("delete");
        let g = build(&m, &[]);
        let e = g
            .edges
            .iter()
            .find(|e| e.kind == EdgeKind::Peering && e.dashed)
            .expect("a dashed peering");
        assert!(!e.both_ways);
        assert!(e.label.contains("Disconnected"), "{}", e.label);
    }

    #[test]
    fn reach_overlay_merges_mutual_pairs() {
        let r = |a: &str, b: &str, ssh| Reach {
            from: a.into(),
            to: b.into(),
            ping: true,
            ssh,
        };
        let g = build(
            &lab01(),
            &[
                r("SalesVM", "MarketingVM", true),
                r("MarketingVM", "SalesVM", true),
                r("MarketingVM", "ResearchVM", false),
                Reach {
                    from: "SalesVM".into(),
                    to: "ResearchVM".into(),
                    ping: false,
                    ssh: false,
                },
            ],
        );
        let reach: Vec<&Edge> = g.edges.iter().filter(|e| e.kind == EdgeKind::Reach).collect();
        assert_eq!(reach.len(), 2, "{reach:?}");
        assert!(reach.iter().any(|e| e.both_ways && e.label == "ping, ssh"));
        assert!(reach.iter().any(|e| !e.both_ways && e.label == "ping"));
    }

    #[test]
    fn printings_escape_names_and_close_every_block() {
        let g = build(&lab01(), &[]);
        let m = mermaid(&g);
        assert!(m.starts_with("flowchart LR\n"));
        assert_eq!(
            m.matches("subgraph").count(),
            m.matches("\n  end\n").count() + m.matches("\n    end\n").count()
        );
        let d = dot(&g);
        assert_eq!(d.matches('{').count(), d.matches('}').count());
        assert!(d.contains("cluster_vnet0"));
        let mut odd = g.clone();
        odd.vnets[0].name = "a\"b\\c<d>".into();
        assert!(dot(&odd).contains("a\\\"b\\\\c<d>"));
        assert!(mermaid(&odd).contains("a#quot;b\\c#lt;d#gt;"));
    }
}
