//! What an AKS node's namespace must hold beyond a VM's: its pods and its
//! end of the cluster mesh. Pure, like the rest of the host plan.

use crate::host::Lab;
use crate::host::pod::{MeshNet, NodeNet, PodNet};
use crate::model::{Model, ResourceId};

/// The node plan of VM `vm`, if it is an AKS node.
pub fn node_net(lab: &Lab, model: &Model, vm: &ResourceId) -> Option<NodeNet> {
    let (cluster, node) = model.aks_node_of_vm(vm)?;
    let ip_of = |nic: &ResourceId| model.network_interfaces.get(nic).map(|n| n.private_ip_address);
    let pods = cluster
        .pods
        .iter()
        .filter(|p| p.node == node.name)
        .map(|p| PodNet {
            name: p.name.clone(),
            netns: lab.pod_netns(&node.name, &p.name),
            ip: p.ip,
            command: p.command.clone(),
            log: lab
                .runtime_dir()
                .join("pods")
                .join(format!("{}.{}.log", node.name, p.name)),
        })
        .collect();
    let mesh = match (cluster.mesh_enabled, ip_of(&node.network_interface)) {
        (true, Some(local)) => {
            let peers = cluster
                .mesh_peers
                .iter()
                .filter_map(|p| model.managed_clusters.get(p))
                .flat_map(|c| c.nodes())
                .filter_map(|n| Some((n.pod_cidr, ip_of(&n.network_interface)?)))
                .collect();
            Some(MeshNet {
                port: crate::dataplane::overlay::MESH_VXLAN_PORT,
                local,
                peers,
            })
        }
        _ => None,
    };
    Some(NodeNet {
        pod_cidr: cluster.network_profile.pod_cidr,
        slice: node.pod_cidr,
        pods,
        mesh,
    })
}
