//! AKS clusters, node pools, test pods and cluster mesh: validation and
//! change. A node is created as a NIC (through the NIC's own validation,
//! so it takes the subnet's next free address) and a VM in the node
//! resource group; everything is checked before the first node is made,
//! and `Model::apply` drops the copy on any refusal, so a refused
//! `az aks create` leaves the lab as it was.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::addr::overlaps;
use super::aks::{
    AgentPool, AgentPoolMode, AgentPoolSpec, FIRST_POD_HOST, ManagedCluster, ManagedClusterSpec, NODE_POD_PREFIX_LEN,
    NetworkProfile, Node, Pod, PodSpec, is_dns1123_subdomain,
};
use super::ops_identity::keep_location;
use super::{
    AzureError, COMPUTE, ErrorCode, Model, NicSpec, PowerState, ResourceId, VirtualMachine, bail, check_location,
};

const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
/// `az aks create`'s defaults for an overlay cluster (az 2.91, Learn).
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.0.0.0/16";
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.33";
pub const DEFAULT_NODE_VM_SIZE: &str = "Standard_DS2_v2";
pub const DEFAULT_POOL_NAME: &str = "nodepool1";
/// AKS: at most 1000 nodes per node pool.
const MAX_POOL_NODES: i64 = 1000;
/// Azure CNI Overlay: up to 250 pods per node.
const MAX_PODS_PER_NODE: usize = 250;
/// The image name AKS nodes report (Azure Linux would also do).
const NODE_IMAGE: &str = "AKSUbuntu-2204gen2containerd";

fn invalid(target: &str, message: String) -> AzureError {
    AzureError::new(ErrorCode::InvalidParameter, message).with_target(target)
}

fn cidr(value: &str, target: &str) -> Result<Ipv4Net, AzureError> {
    let n: Ipv4Net = value.trim().parse().map_err(|_| {
        invalid(
            target,
            format!(
                "The value of parameter {target} is invalid: '{value}' is not an IPv4 CIDR. Give it as 10.244.0.0/16."
            ),
        )
    })?;
    if n.trunc() != n {
        return Err(invalid(
            target,
            format!(
                "The value of parameter {target} is invalid: {value} has host bits set; did you mean {}?",
                n.trunc()
            ),
        ));
    }
    Ok(n)
}

/// AKS cluster names: 1-63 letters, digits, '-' and '_', starting and
/// ending with a letter or digit.
fn check_cluster_name(name: &str) -> Result<(), AzureError> {
    let edge = |c: char| c.is_ascii_alphanumeric();
    let ok = (1..=63).contains(&name.len())
        && name.starts_with(edge)
        && name.ends_with(edge)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(invalid(
            "name",
            format!(
                "The value of parameter name is invalid: '{name}'. A cluster name has 1 to 63 letters, digits, '-' and '_', and starts and ends with a letter or digit."
            ),
        ));
    }
    Ok(())
}

/// Linux node pool names: 1-12 lowercase letters and digits, starting
/// with a letter.
fn check_pool_name(name: &str) -> Result<(), AzureError> {
    let ok = (1..=12).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        return Err(invalid(
            "agentPoolProfile.name",
            format!(
                "The value of parameter agentPoolProfile.name is invalid: '{name}'. A Linux node pool name has 1 to 12 lowercase letters and digits and starts with a letter."
            ),
        ));
    }
    Ok(())
}

fn check_count(count: i64, mode: AgentPoolMode) -> Result<usize, AzureError> {
    let min = if mode == AgentPoolMode::System { 1 } else { 0 };
    if !(min..=MAX_POOL_NODES).contains(&count) {
        return Err(invalid(
            "agentPoolProfile.count",
            format!(
                "The value of parameter agentPoolProfile.count is invalid: {count}. A {} node pool has {min} to {MAX_POOL_NODES} nodes.",
                if mode == AgentPoolMode::System {
                    "system"
                } else {
                    "user"
                }
            ),
        ));
    }
    Ok(count as usize)
}

/// The Kubernetes name of instance `instance` of node pool `pool`.
pub fn aks_node_name(cluster: &ResourceId, pool: &str, instance: u32) -> String {
    format!("aks-{pool}-{}-vmss{instance:06}", node_suffix(cluster))
}

/// The 8 digits AKS puts in node names, stable for a cluster.
fn node_suffix(cluster: &ResourceId) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in cluster.as_str().to_ascii_lowercase().bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{:08}", h % 100_000_000)
}

impl Model {
    pub fn managed_cluster_by_name(&self, name: &str) -> Option<&ManagedCluster> {
        self.managed_clusters
            .values()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The cluster a node VM belongs to, and the node.
    pub fn aks_node_of_vm(&self, vm: &ResourceId) -> Option<(&ManagedCluster, &Node)> {
        self.managed_clusters
            .values()
            .find_map(|c| c.nodes().find(|n| &n.virtual_machine == vm).map(|n| (c, n)))
    }

    fn cluster(&self, id: &ResourceId) -> Result<&ManagedCluster, AzureError> {
        self.managed_clusters
            .get(id)
            .ok_or_else(|| AzureError::resource_not_found(id))
    }

    /// The node subnet and its VNet's address space; AKS's own error when
    /// the subnet is not there.
    fn node_subnet(&self, subnet: &ResourceId) -> Result<(Ipv4Net, Vec<Ipv4Net>), AzureError> {
        match self.subnet(subnet) {
            Some((vnet, s)) => Ok((s.address_prefix, vnet.address_prefixes.clone())),
            None => {
                let vnet = subnet.parent().map(|v| v.name().to_string()).unwrap_or_default();
                Err(AzureError::new(
                    ErrorCode::SubnetNotFound,
                    format!("Could not find subnet {} in vnet {vnet} from resource group {} of subscription {}. Create the subnet first, or pass the ID of an existing one to --vnet-subnet-id.", subnet.name(), subnet.resource_group_name(), subnet.subscription_id()),
                )
                .with_target("agentPoolProfile.vnetSubnetID"))
            }
        }
    }

    /// The pod CIDR must stay out of every VNet a node pool uses: pod
    /// addresses are not VNet addresses.
    fn check_pod_cidr_outside(pod_cidr: Ipv4Net, vnet_space: &[Ipv4Net]) -> Result<(), AzureError> {
        if let Some(v) = vnet_space.iter().find(|v| overlaps(v, &pod_cidr)) {
            return Err(AzureError::new(
                ErrorCode::NetworkProfileCIDROverlapVNET,
                format!("NetworkProfile CIDR {pod_cidr} overlaps with reserved VNET CIDR {v}. Choose a --pod-cidr outside the cluster's virtual network address space."),
            )
            .with_target("networkProfile.podCIDR"));
        }
        Ok(())
    }

    pub(super) fn put_managed_cluster(&mut self, spec: ManagedClusterSpec) -> Result<(), AzureError> {
        let id = spec.id.clone();
        check_cluster_name(id.name())?;
        let rg = self.require_group(&id)?.clone();
        let location = match &spec.location {
            Some(l) => check_location(l, CLUSTER_TYPE)?,
            None => rg.location.clone(),
        };
        let existing = self.managed_clusters.get(&id).cloned();
        keep_location(
            existing.as_ref().map(|c| c.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        if !spec.network_plugin.eq_ignore_ascii_case("azure") {
            return Err(invalid(
                "networkProfile.networkPlugin",
                format!(
                    "Network plugin '{}' is not emulated: vnetlab runs AKS with Azure CNI Overlay only. Use --network-plugin azure --network-plugin-mode overlay.",
                    spec.network_plugin
                ),
            ));
        }
        match spec.network_plugin_mode.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("overlay") => {}
            Some(m) => {
                return Err(invalid(
                    "networkProfile.networkPluginMode",
                    format!(
                        "The value of parameter networkProfile.networkPluginMode is invalid: '{m}'. The only network plugin mode is 'overlay'."
                    ),
                ));
            }
            None => {
                return Err(invalid(
                    "networkProfile.networkPluginMode",
                    "Azure CNI without a plugin mode gives pods addresses from the node subnet, which vnetlab does not emulate. Add --network-plugin-mode overlay.".into(),
                ));
            }
        }
        let pod_cidr = cidr(
            spec.pod_cidr.as_deref().unwrap_or(DEFAULT_POD_CIDR),
            "networkProfile.podCIDR",
        )?;
        let service_cidr = cidr(
            spec.service_cidr.as_deref().unwrap_or(DEFAULT_SERVICE_CIDR),
            "networkProfile.serviceCIDR",
        )?;
        let dns_service_ip: Ipv4Addr = match &spec.dns_service_ip {
            Some(s) => s.trim().parse().map_err(|_| {
                invalid(
                    "networkProfile.dnsServiceIP",
                    format!(
                        "The value of parameter networkProfile.dnsServiceIP is invalid: '{s}' is not an IPv4 address."
                    ),
                )
            })?,
            None => Ipv4Addr::from(u32::from(service_cidr.network()) + 10),
        };
        if let Some(old) = &existing
            && (old.network_profile.pod_cidr != pod_cidr || old.network_profile.service_cidr != service_cidr)
        {
            bail!(
                PropertyChangeNotAllowed,
                "Changing property 'networkProfile.podCidr' or 'networkProfile.serviceCidr' of cluster {} is not allowed. Create a new cluster for other address ranges.",
                id.name()
            );
        }
        if pod_cidr.prefix_len() > NODE_POD_PREFIX_LEN {
            return Err(invalid(
                "networkProfile.podCIDR",
                format!(
                    "The value of parameter networkProfile.podCIDR is invalid: {pod_cidr} is smaller than the /24 each node takes. Use a /24 or larger."
                ),
            ));
        }
        if !service_cidr.contains(&dns_service_ip) || dns_service_ip == service_cidr.network() {
            return Err(invalid(
                "networkProfile.dnsServiceIP",
                format!(
                    "The value of parameter networkProfile.dnsServiceIP is invalid: {dns_service_ip} must be an address inside the service CIDR {service_cidr}, not its first one."
                ),
            ));
        }
        if overlaps(&service_cidr, &pod_cidr) {
            return Err(invalid(
                "networkProfile.serviceCIDR",
                format!(
                    "The service CIDR {service_cidr} overlaps with the pod CIDR {pod_cidr}. Choose ranges that do not overlap."
                ),
            ));
        }
        let pool_name = spec.pool.id.name().to_string();
        let subnet = spec.pool.vnet_subnet_id.clone().ok_or_else(|| {
            invalid(
                "agentPoolProfile.vnetSubnetID",
                "vnetlab needs the node subnet: give --vnet-subnet-id (a subnet of an existing virtual network)."
                    .into(),
            )
        })?;
        let (_, vnet_space) = self.node_subnet(&subnet)?;
        Self::check_pod_cidr_outside(pod_cidr, &vnet_space)?;
        if let Some((vnet, _)) = self.subnet(&subnet)
            && let Some(s) = vnet.subnets.iter().find(|s| overlaps(&s.address_prefix, &service_cidr))
        {
            return Err(AzureError::new(
                ErrorCode::ServiceCidrOverlapExistingSubnetsCidr,
                format!("The specified service CIDR {service_cidr} is conflicted with an existing subnet CIDR {}. Choose a --service-cidr (and --dns-service-ip) outside the virtual network's subnets.", s.address_prefix),
            )
            .with_target("networkProfile.serviceCIDR"));
        }
        let node_rg = spec
            .node_resource_group
            .clone()
            .unwrap_or_else(|| format!("MC_{}_{}_{location}", id.resource_group_name(), id.name()));
        let cluster = match existing {
            Some(c) => c,
            None => {
                check_pool_name(&pool_name)?;
                check_count(spec.pool.count, AgentPoolMode::System)?;
                self.put_resource_group(id.subscription_id(), &node_rg, &location)?;
                ManagedCluster {
                    id: id.clone(),
                    name: id.name().to_string(),
                    location: location.clone(),
                    kubernetes_version: spec
                        .kubernetes_version
                        .clone()
                        .unwrap_or_else(|| DEFAULT_KUBERNETES_VERSION.into()),
                    dns_prefix: spec.dns_prefix.clone().unwrap_or_else(|| {
                        format!(
                            "{}-{}-{}",
                            id.name(),
                            id.resource_group_name(),
                            &id.subscription_id()[..6.min(id.subscription_id().len())]
                        )
                    }),
                    node_resource_group: node_rg,
                    network_profile: NetworkProfile {
                        network_plugin: "azure".into(),
                        network_plugin_mode: "overlay".into(),
                        pod_cidr,
                        service_cidr,
                        dns_service_ip,
                    },
                    agent_pools: Vec::new(),
                    pods: Vec::new(),
                    mesh_enabled: false,
                    mesh_peers: Vec::new(),
                }
            }
        };
        self.managed_clusters.insert(id.clone(), cluster);
        if self.managed_clusters.get(&id).is_some_and(|c| c.agent_pools.is_empty()) {
            let pool = AgentPoolSpec {
                mode: Some(AgentPoolMode::System),
                vnet_subnet_id: Some(subnet),
                ..spec.pool
            };
            self.put_agent_pool(pool)?;
        }
        Ok(())
    }

    pub(super) fn delete_managed_cluster(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let cluster = self.cluster(id)?.clone();
        for n in cluster.nodes() {
            self.remove_node(n);
        }
        for peer in &cluster.mesh_peers {
            if let Some(p) = self.managed_clusters.get_mut(peer) {
                p.mesh_peers.retain(|x| x != id);
            }
        }
        self.managed_clusters.remove(id);
        // Azure deletes the node resource group with the cluster.
        let node_rg = ResourceId::resource_group(id.subscription_id(), &cluster.node_resource_group);
        if self.resource_groups.contains_key(&node_rg) {
            self.delete_resource_group(&node_rg)?;
        }
        Ok(())
    }

    /// Called when a resource group goes: its clusters go first; a node
    /// resource group cannot go while its cluster exists.
    pub(super) fn delete_clusters_in(&mut self, group: &ResourceId) -> Result<(), AzureError> {
        if let Some(c) = self.managed_clusters.values().find(|c| {
            ResourceId::resource_group(c.id.subscription_id(), &c.node_resource_group) == *group
                && !c.id.is_within(group.as_str())
        }) {
            bail!(
                BadRequest,
                "Resource group {} is the node resource group of cluster {}; it goes when the cluster is deleted (az aks delete).",
                group.name(),
                c.name
            );
        }
        let inside: Vec<ResourceId> = self
            .managed_clusters
            .keys()
            .filter(|k| k.is_within(group.as_str()))
            .cloned()
            .collect();
        for c in inside {
            self.delete_managed_cluster(&c)?;
        }
        Ok(())
    }

    fn remove_node(&mut self, n: &Node) {
        self.virtual_machines.remove(&n.virtual_machine);
        self.network_interfaces.remove(&n.network_interface);
    }

    pub(super) fn put_agent_pool(&mut self, spec: AgentPoolSpec) -> Result<(), AzureError> {
        let cluster_id = spec
            .id
            .parent()
            .ok_or_else(|| invalid("agentPool", format!("'{}' is not an agent pool ID.", spec.id)))?;
        let cluster = self.cluster(&cluster_id)?.clone();
        let name = spec.id.name().to_string();
        let existing = cluster.agent_pools.iter().position(|p| p.name == name);
        let mut pool = match existing {
            Some(i) => cluster.agent_pools[i].clone(),
            None => {
                check_pool_name(&name)?;
                let subnet = match (&spec.vnet_subnet_id, cluster.agent_pools.first()) {
                    (Some(s), _) => s.clone(),
                    (None, Some(first)) => first.vnet_subnet_id.clone(),
                    (None, None) => {
                        return Err(invalid(
                            "agentPoolProfile.vnetSubnetID",
                            "Give the node pool's subnet (--vnet-subnet-id).".into(),
                        ));
                    }
                };
                let (_, space) = self.node_subnet(&subnet)?;
                if let Some(first) = cluster.agent_pools.first()
                    && first.vnet_subnet_id.parent() != subnet.parent()
                {
                    return Err(invalid(
                        "agentPoolProfile.vnetSubnetID",
                        format!(
                            "All node pools of a cluster must use subnets of the same virtual network; {} is not in {}.",
                            subnet.name(),
                            first
                                .vnet_subnet_id
                                .parent()
                                .map(|v| v.name().to_string())
                                .unwrap_or_default()
                        ),
                    ));
                }
                Self::check_pod_cidr_outside(cluster.network_profile.pod_cidr, &space)?;
                AgentPool {
                    name: name.clone(),
                    mode: spec.mode.unwrap_or(AgentPoolMode::User),
                    vm_size: spec.vm_size.clone().unwrap_or_else(|| DEFAULT_NODE_VM_SIZE.into()),
                    vnet_subnet_id: subnet,
                    nodes: Vec::new(),
                    next_instance: 0,
                }
            }
        };
        let count = check_count(spec.count, pool.mode)?;
        let mut slices_taken: Vec<Ipv4Net> = cluster.nodes().map(|n| n.pod_cidr).collect();
        let mut removed = Vec::new();
        while pool.nodes.len() > count {
            if let Some(n) = pool.nodes.pop() {
                removed.push(n);
            }
        }
        for n in &removed {
            self.remove_node(n);
            slices_taken.retain(|s| *s != n.pod_cidr);
        }
        while pool.nodes.len() < count {
            let slice = pod_slices(cluster.network_profile.pod_cidr).find(|s| !slices_taken.contains(s)).ok_or_else(|| {
                invalid("networkProfile.podCIDR", format!("The pod CIDR {} has no /24 left for another node (each node takes one). Use a larger --pod-cidr or fewer nodes.", cluster.network_profile.pod_cidr))
            })?;
            let node_name = aks_node_name(&cluster_id, &pool.name, pool.next_instance);
            pool.next_instance += 1;
            let node = self.add_node(&cluster, &pool, &node_name, slice)?;
            slices_taken.push(slice);
            pool.nodes.push(node);
        }
        let Some(c) = self.managed_clusters.get_mut(&cluster_id) else {
            return Ok(());
        };
        // Bare pods on a node that went away are gone with it.
        c.pods.retain(|p| !removed.iter().any(|n| n.name == p.node));
        match existing {
            Some(i) => c.agent_pools[i] = pool,
            None => c.agent_pools.push(pool),
        }
        Ok(())
    }

    /// One scale set instance: its NIC through the NIC's own validation
    /// (next free address of the subnet), then the VM. Azure: AKS nodes
    /// are reached with `kubectl debug node`, not a password; vnetlab's
    /// `exec` is the way in, so the VM has no credentials.
    fn add_node(
        &mut self,
        cluster: &ManagedCluster,
        pool: &AgentPool,
        name: &str,
        pod_cidr: Ipv4Net,
    ) -> Result<Node, AzureError> {
        let sub = cluster.id.subscription_id();
        let nic = ResourceId::network(
            sub,
            &cluster.node_resource_group,
            "networkInterfaces",
            &format!("{name}-nic"),
        );
        let vm = ResourceId::resource(sub, &cluster.node_resource_group, COMPUTE, "virtualMachines", name);
        self.put_nic(NicSpec {
            ip_configuration_name: None,
            id: nic.clone(),
            location: Some(cluster.location.clone()),
            subnet: pool.vnet_subnet_id.clone(),
            private_ip_address: None,
            enable_ip_forwarding: false,
            network_security_group: None,
            public_ip_address: None,
            dns_servers: None,
        })?;
        if let Some(n) = self.network_interfaces.get_mut(&nic) {
            n.virtual_machine = Some(vm.clone());
        }
        self.virtual_machines.insert(
            vm.clone(),
            VirtualMachine {
                id: vm.clone(),
                name: name.to_string(),
                location: cluster.location.clone(),
                size: pool.vm_size.clone(),
                image: NODE_IMAGE.into(),
                network_interfaces: vec![nic.clone()],
                admin_username: "azureuser".into(),
                admin_password: None,
                ssh_public_keys: Vec::new(),
                power_state: PowerState::Running,
            },
        );
        Ok(Node {
            name: name.to_string(),
            virtual_machine: vm,
            network_interface: nic,
            pod_cidr,
        })
    }

    pub(super) fn delete_agent_pool(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let cluster_id = id
            .parent()
            .ok_or_else(|| invalid("agentPool", format!("'{id}' is not an agent pool ID.")))?;
        let cluster = self.cluster(&cluster_id)?.clone();
        let Some(pool) = cluster.agent_pools.iter().find(|p| p.name == id.name()) else {
            bail!(
                NotFound,
                "Agent pool {} was not found in cluster {}.",
                id.name(),
                cluster.name
            );
        };
        if pool.mode == AgentPoolMode::System
            && !cluster
                .agent_pools
                .iter()
                .any(|p| p.name != pool.name && p.mode == AgentPoolMode::System)
        {
            bail!(
                BadRequest,
                "Node pool {} is the cluster's last system node pool and cannot be deleted. Add another system node pool first (az aks nodepool add --mode System).",
                pool.name
            );
        }
        for n in &pool.nodes {
            self.remove_node(n);
        }
        if let Some(c) = self.managed_clusters.get_mut(&cluster_id) {
            c.pods.retain(|p| !pool.nodes.iter().any(|n| n.name == p.node));
            c.agent_pools.retain(|p| p.name != id.name());
        }
        Ok(())
    }

    pub(super) fn put_pod(&mut self, spec: PodSpec) -> Result<(), AzureError> {
        let cluster = self.cluster(&spec.cluster)?;
        // Kubernetes allows 253 characters; a pod's name is also its
        // hostname and part of its namespace's name, so vnetlab keeps 63.
        if !is_dns1123_subdomain(&spec.name) || spec.name.len() > 63 {
            bail!(
                Invalid,
                "The Pod \"{}\" is invalid: metadata.name: Invalid value: \"{}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (vnetlab: at most 63 characters)",
                spec.name,
                spec.name
            );
        }
        if cluster.pod(&spec.name).is_some() {
            bail!(AlreadyExists, "pods \"{}\" already exists", spec.name);
        }
        let count_on = |n: &Node| cluster.pods.iter().filter(|p| p.node == n.name).count();
        let node = match &spec.node {
            Some(name) => cluster
                .node(name)
                .ok_or_else(|| AzureError::new(ErrorCode::NotFound, format!("nodes \"{name}\" not found")))?,
            // The scheduler spreads: the node with the fewest pods.
            None => cluster.nodes().min_by_key(|n| count_on(n)).ok_or_else(|| {
                AzureError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "0/0 nodes are available: cluster {} has no nodes to run pod {}.",
                        cluster.name, spec.name
                    ),
                )
            })?,
        };
        if count_on(node) >= MAX_PODS_PER_NODE {
            bail!(
                BadRequest,
                "0/1 nodes are available: node {} already runs {MAX_PODS_PER_NODE} pods (Azure CNI Overlay's maximum per node).",
                node.name
            );
        }
        let used: Vec<Ipv4Addr> = cluster.pods.iter().map(|p| p.ip).collect();
        let base = u32::from(node.pod_cidr.network());
        let Some(ip) = (FIRST_POD_HOST..255)
            .map(|i| Ipv4Addr::from(base + i))
            .find(|ip| !used.contains(ip))
        else {
            bail!(
                BadRequest,
                "Node {} has no free pod address left in {}.",
                node.name,
                node.pod_cidr
            );
        };
        let command = if spec.command.is_empty() {
            vec!["sleep".to_string(), "infinity".to_string()]
        } else {
            spec.command.clone()
        };
        let pod = Pod {
            name: spec.name.clone(),
            namespace: "default".into(),
            image: spec.image.clone(),
            command,
            node: node.name.clone(),
            ip,
        };
        if let Some(c) = self.managed_clusters.get_mut(&spec.cluster) {
            c.pods.push(pod);
        }
        Ok(())
    }

    pub(super) fn delete_pod(&mut self, cluster: &ResourceId, name: &str) -> Result<(), AzureError> {
        self.cluster(cluster)?;
        let c = self
            .managed_clusters
            .get_mut(cluster)
            .ok_or_else(|| AzureError::new(ErrorCode::NotFound, format!("pods \"{name}\" not found")))?;
        let before = c.pods.len();
        c.pods.retain(|p| p.name != name);
        if c.pods.len() == before {
            bail!(NotFound, "pods \"{name}\" not found");
        }
        Ok(())
    }

    /// `mesh enable`/`disable`. Disabling also disconnects the cluster
    /// from every cluster it was meshed with.
    pub(super) fn set_cluster_mesh(&mut self, id: &ResourceId, enabled: bool) -> Result<(), AzureError> {
        let peers = self.cluster(id)?.mesh_peers.clone();
        if !enabled {
            for p in &peers {
                self.disconnect_cluster_mesh(id, p)?;
            }
        }
        if let Some(c) = self.managed_clusters.get_mut(id) {
            c.mesh_enabled = enabled;
        }
        Ok(())
    }

    /// `mesh connect`: both ways, as `cilium clustermesh connect` does.
    pub(super) fn connect_cluster_mesh(&mut self, a: &ResourceId, b: &ResourceId) -> Result<(), AzureError> {
        let (ca, cb) = (self.cluster(a)?, self.cluster(b)?);
        if a == b {
            bail!(
                BadRequest,
                "Cluster {} cannot be meshed with itself. Name another cluster as --destination-cluster.",
                ca.name
            );
        }
        for c in [ca, cb] {
            if !c.mesh_enabled {
                bail!(
                    BadRequest,
                    "Cluster mesh is not enabled in cluster {}. Run `vnetlab aks mesh enable --cluster {}` first.",
                    c.name,
                    c.name
                );
            }
        }
        let (pa, pb) = (ca.network_profile.pod_cidr, cb.network_profile.pod_cidr);
        if overlaps(&pa, &pb) {
            bail!(
                BadRequest,
                "The pod CIDRs of clusters {} ({pa}) and {} ({pb}) overlap. Meshed clusters need distinct pod CIDRs: pod addresses must be unique across the mesh.",
                ca.name,
                cb.name
            );
        }
        for (x, y) in [(a, b), (b, a)] {
            if let Some(c) = self.managed_clusters.get_mut(x)
                && !c.mesh_peers.contains(y)
            {
                c.mesh_peers.push(y.clone());
            }
        }
        Ok(())
    }

    pub(super) fn disconnect_cluster_mesh(&mut self, a: &ResourceId, b: &ResourceId) -> Result<(), AzureError> {
        self.cluster(a)?;
        self.cluster(b)?;
        for (x, y) in [(a, b), (b, a)] {
            if let Some(c) = self.managed_clusters.get_mut(x) {
                c.mesh_peers.retain(|p| p != y);
            }
        }
        Ok(())
    }
}

/// The node-sized blocks of a pod CIDR, in order.
pub fn pod_slices(pod_cidr: Ipv4Net) -> impl Iterator<Item = Ipv4Net> {
    pod_cidr.subnets(NODE_POD_PREFIX_LEN).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, SubnetSpec, VnetSpec};

    const SUB: &str = crate::model::DEFAULT_SUBSCRIPTION_ID;

    fn lab() -> Model {
        let mut m = Model::new();
        m.apply(Change::PutResourceGroup {
            subscription: SUB.into(),
            name: "rg".into(),
            location: "canadacentral".into(),
        })
        .unwrap();
        let vnet = ResourceId::network(SUB, "rg", "virtualNetworks", "vnet");
        m.apply(Change::PutVirtualNetwork(VnetSpec {
            id: vnet.clone(),
            location: None,
            address_prefixes: vec!["10.0.0.0/14".into()],
            flow_timeout_in_minutes: None,
            dns_servers: None,
        }))
        .unwrap();
        m.apply(Change::PutSubnet(SubnetSpec {
            id: vnet.child("subnets", "aks"),
            address_prefix: "10.1.0.0/24".into(),
            network_security_group: None,
            route_table: None,
            default_outbound_access: None,
        }))
        .unwrap();
        m
    }

    fn spec(pod_cidr: &str, count: i64) -> ManagedClusterSpec {
        let id = ResourceId::resource(SUB, "rg", "Microsoft.ContainerService", "managedClusters", "aks1");
        ManagedClusterSpec {
            pool: AgentPoolSpec {
                id: id.child("agentPools", "nodepool1"),
                count,
                vm_size: None,
                vnet_subnet_id: Some(ResourceId::network(SUB, "rg", "virtualNetworks", "vnet").child("subnets", "aks")),
                mode: None,
            },
            id,
            location: None,
            network_plugin: "azure".into(),
            network_plugin_mode: Some("overlay".into()),
            pod_cidr: Some(pod_cidr.into()),
            service_cidr: Some("10.100.0.0/16".into()),
            dns_service_ip: None,
            kubernetes_version: None,
            dns_prefix: None,
            node_resource_group: None,
        }
    }

    #[test]
    fn nodes_are_vms_in_the_subnet_with_a_slash_24_of_the_pod_cidr_each() {
        let mut m = lab();
        m.apply(Change::PutManagedCluster(spec("10.32.0.0/13", 2))).unwrap();
        let c = m.managed_cluster_by_name("aks1").unwrap();
        assert_eq!(c.node_resource_group, "MC_rg_aks1_canadacentral");
        let nodes: Vec<&Node> = c.nodes().collect();
        assert_eq!(nodes.len(), 2);
        assert!(
            nodes[0].name.starts_with("aks-nodepool1-") && nodes[0].name.ends_with("-vmss000000"),
            "{}",
            nodes[0].name
        );
        assert_eq!(
            nodes.iter().map(|n| n.pod_cidr.to_string()).collect::<Vec<_>>(),
            ["10.32.0.0/24", "10.32.1.0/24"]
        );
        let ips: Vec<String> = nodes
            .iter()
            .map(|n| {
                m.network_interfaces[&n.network_interface]
                    .private_ip_address
                    .to_string()
            })
            .collect();
        assert_eq!(ips, ["10.1.0.4", "10.1.0.5"]);
        assert!(m.virtual_machines.contains_key(&nodes[1].virtual_machine));
    }

    #[test]
    fn refusals_leave_the_lab_unchanged() {
        let m0 = lab();
        let cases: Vec<(ManagedClusterSpec, ErrorCode)> = vec![
            (spec("10.2.0.0/16", 1), ErrorCode::NetworkProfileCIDROverlapVNET),
            (spec("10.32.0.0/13", 0), ErrorCode::InvalidParameter),
            (spec("10.32.0.0/13", 1001), ErrorCode::InvalidParameter),
            (spec("10.32.0.0/25", 1), ErrorCode::InvalidParameter),
            (
                ManagedClusterSpec {
                    network_plugin_mode: Some("underlay".into()),
                    ..spec("10.32.0.0/13", 1)
                },
                ErrorCode::InvalidParameter,
            ),
            (
                ManagedClusterSpec {
                    network_plugin: "kubenet".into(),
                    ..spec("10.32.0.0/13", 1)
                },
                ErrorCode::InvalidParameter,
            ),
            (
                ManagedClusterSpec {
                    service_cidr: Some("10.1.0.0/16".into()),
                    ..spec("10.32.0.0/13", 1)
                },
                ErrorCode::ServiceCidrOverlapExistingSubnetsCidr,
            ),
            (spec("10.32.0.0/23", 3), ErrorCode::InvalidParameter),
        ];
        for (s, code) in cases {
            let mut m = m0.clone();
            let e = m.apply(Change::PutManagedCluster(s)).unwrap_err();
            assert_eq!(e.code, code, "{e}");
            assert_eq!(m, m0);
        }
        let mut m = m0.clone();
        let mut s = spec("10.32.0.0/13", 1);
        s.pool.vnet_subnet_id =
            Some(ResourceId::network(SUB, "rg", "virtualNetworks", "vnet").child("subnets", "nope"));
        let e = m.apply(Change::PutManagedCluster(s)).unwrap_err();
        assert_eq!(e.code, ErrorCode::SubnetNotFound);
        assert!(
            e.message
                .starts_with("Could not find subnet nope in vnet vnet from resource group rg"),
            "{e}"
        );
    }

    #[test]
    fn scale_pods_and_delete() {
        let mut m = lab();
        let s = spec("10.32.0.0/13", 2);
        let id = s.id.clone();
        m.apply(Change::PutManagedCluster(s.clone())).unwrap();
        for name in ["a", "b", "c"] {
            m.apply(Change::PutPod(PodSpec {
                cluster: id.clone(),
                name: name.into(),
                image: "busybox".into(),
                command: vec![],
                node: None,
            }))
            .unwrap();
        }
        let c = &m.managed_clusters[&id];
        let placed: Vec<(String, String)> = c
            .pods
            .iter()
            .map(|p| (p.node.chars().last().unwrap().to_string(), p.ip.to_string()))
            .collect();
        assert_eq!(
            placed,
            [
                ("0".into(), "10.32.0.4".into()),
                ("1".into(), "10.32.1.4".into()),
                ("0".into(), "10.32.0.5".into())
            ]
        );
        assert_eq!(
            m.apply(Change::PutPod(PodSpec {
                cluster: id.clone(),
                name: "a".into(),
                image: "busybox".into(),
                command: vec![],
                node: None
            }))
            .unwrap_err()
            .code,
            ErrorCode::AlreadyExists
        );
        assert_eq!(
            m.apply(Change::PutPod(PodSpec {
                cluster: id.clone(),
                name: "Bad_Name".into(),
                image: "busybox".into(),
                command: vec![],
                node: None
            }))
            .unwrap_err()
            .code,
            ErrorCode::Invalid
        );
        // Scale to 1: the second node and its pod go; instance numbers are not reused.
        m.apply(Change::PutAgentPool(AgentPoolSpec {
            count: 1,
            ..s.pool.clone()
        }))
        .unwrap();
        assert_eq!(m.managed_clusters[&id].pods.len(), 2);
        m.apply(Change::PutAgentPool(AgentPoolSpec {
            count: 2,
            ..s.pool.clone()
        }))
        .unwrap();
        let names: Vec<String> = m.managed_clusters[&id]
            .nodes()
            .map(|n| n.name.chars().rev().take(1).collect())
            .collect();
        assert_eq!(names, ["0", "2"]);
        assert_eq!(
            m.apply(Change::DeleteAgentPool(s.pool.id.clone())).unwrap_err().code,
            ErrorCode::BadRequest
        );
        m.apply(Change::DeleteManagedCluster(id.clone())).unwrap();
        assert!(m.managed_clusters.is_empty() && m.virtual_machines.is_empty() && m.network_interfaces.is_empty());
        assert!(!m.resource_groups.keys().any(|g| g.name().starts_with("MC_")));
    }

    #[test]
    fn mesh_needs_both_sides_enabled_and_distinct_pod_cidrs() {
        let mut m = lab();
        let a = spec("10.32.0.0/13", 1);
        let mut b = spec("10.40.0.0/13", 1);
        b.id = ResourceId::resource(SUB, "rg", "Microsoft.ContainerService", "managedClusters", "aks2");
        b.pool.id = b.id.child("agentPools", "nodepool1");
        let (ia, ib) = (a.id.clone(), b.id.clone());
        m.apply(Change::PutManagedCluster(a)).unwrap();
        m.apply(Change::PutManagedCluster(b)).unwrap();
        m.apply(Change::SetClusterMesh {
            cluster: ia.clone(),
            enabled: true,
        })
        .unwrap();
        let e = m
            .apply(Change::ConnectClusterMesh {
                cluster: ia.clone(),
                remote: ib.clone(),
            })
            .unwrap_err();
        assert!(e.message.contains("not enabled in cluster aks2"), "{e}");
        m.apply(Change::SetClusterMesh {
            cluster: ib.clone(),
            enabled: true,
        })
        .unwrap();
        m.apply(Change::ConnectClusterMesh {
            cluster: ia.clone(),
            remote: ib.clone(),
        })
        .unwrap();
        assert_eq!(m.managed_clusters[&ib].mesh_peers, std::slice::from_ref(&ia));
        m.apply(Change::DeleteManagedCluster(ib)).unwrap();
        assert!(m.managed_clusters[&ia].mesh_peers.is_empty());
    }
}
