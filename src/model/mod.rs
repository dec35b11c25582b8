//! Azure resources as plain data, and the only way to change them.
//!
//! Every change is a [`Change`] value passed to [`Model::apply`], which
//! works on a copy and swaps it in only when the whole change validated:
//! a refused change leaves the model exactly as it was (the copy is simply
//! dropped). Peering state and sync level are derived, never stored.

mod addr;
mod aks;
mod balancer;
mod compute;
mod dns;
#[cfg(test)]
pub(crate) mod dns_testlab;
mod error;
mod gateway;
mod identity;
mod ids;
pub mod latency;
pub mod limits;
mod names;
mod network;
mod ops_aks;
mod ops_balancer;
mod ops_compute;
mod ops_deployment;
mod ops_dns;
mod ops_gateway;
mod ops_identity;
mod ops_network;
mod ops_security;
mod ops_watcher;
mod ops_zone_group;
pub mod regions;
mod routes;
mod security;
mod tag_names;
mod tags;
pub mod vm_create;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use addr::{
    AZURE_HOST_IP, FORBIDDEN_VNET_RANGES, NON_INTERNET, RESERVED_NONE_PREFIXES, is_reserved_in_subnet, nth, overlaps,
    parse_prefix,
};
pub use aks::*;
pub use balancer::*;
pub use compute::*;
pub use dns::*;
pub(crate) use error::bail;
pub use error::{AzureError, ErrorCode};
pub use gateway::*;
pub use identity::*;
pub use ids::{CACHE, COMPUTE, NETWORK, REDIS, REDIS_TYPE, ResourceId};
pub use names::{NameKind, check_admin_password, check_admin_username};
pub use network::*;
pub use ops_aks::{
    DEFAULT_KUBERNETES_VERSION, DEFAULT_NODE_VM_SIZE, DEFAULT_POD_CIDR, DEFAULT_POOL_NAME, DEFAULT_SERVICE_CIDR,
    aks_node_name, pod_slices,
};
pub use ops_balancer::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_NUMBER_OF_PROBES, DEFAULT_PROBE_INTERVAL, FrontendSpec, LbRuleSpec, LoadBalancerSpec,
    PrivateEndpointSpec, ProbeSpec, RedisSpec,
};
pub use ops_compute::{NicSpec, PublicIpSpec, VmSpec};
pub use ops_dns::{
    PrivateDnsZoneSpec, REDDOG_PLACEHOLDER_SUFFIX, RecordSetSpec, VirtualNetworkLinkSpec, check_zone_name,
    exists_already, parse_nic_dns_servers, parse_vnet_dns_servers,
};
pub use ops_gateway::{ConnectionSpec, GatewaySpec, LocalGatewaySpec, RouteServerPeeringSpec, RouteServerSpec};
pub use ops_network::{PeeringSpec, SubnetSpec, VnetSpec};
pub use ops_security::{RouteSpec, SecurityRuleSpec};
pub use ops_watcher::{FLOW_LOG_TYPE, FlowLog};
pub use ops_zone_group::PrivateDnsZoneGroupSpec;
pub use routes::*;
pub use security::*;
pub use tag_names::{TagNameUse, TagNames};
pub use tags::{MAX_TAG_NAME, MAX_TAG_VALUE, MAX_TAGS, TagOperation, Tags, carries_tags, check_tags};

/// The subscription and tenant a lab uses when its topology names none.
pub const DEFAULT_SUBSCRIPTION_ID: &str = "00000000-0000-4000-8000-000000000001";
pub const DEFAULT_SUBSCRIPTION_NAME: &str = "vnetlab";
pub const DEFAULT_TENANT_ID: &str = "00000000-0000-4000-8000-0000000000aa";

/// One validated change. This is the unit the topology loader, the daemon
/// and the `az` front all speak.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", content = "resource")]
pub enum Change {
    PutSubscription(Subscription),
    PutPrincipal(Principal),
    PutRoleAssignment(RoleAssignment),
    DeleteRoleAssignment(RoleAssignment),
    PutResourceGroup {
        subscription: String,
        name: String,
        location: String,
    },
    DeleteResourceGroup(ResourceId),
    PutVirtualNetwork(VnetSpec),
    DeleteVirtualNetwork(ResourceId),
    PutSubnet(SubnetSpec),
    DeleteSubnet(ResourceId),
    PutPeering(PeeringSpec),
    DeletePeering(ResourceId),
    SyncPeering(ResourceId),
    PutRouteTable {
        id: ResourceId,
        location: Option<String>,
        disable_bgp_route_propagation: bool,
    },
    DeleteRouteTable(ResourceId),
    PutRoute(RouteSpec),
    DeleteRoute(ResourceId),
    PutNetworkSecurityGroup {
        id: ResourceId,
        location: Option<String>,
    },
    DeleteNetworkSecurityGroup(ResourceId),
    PutSecurityRule(SecurityRuleSpec),
    DeleteSecurityRule(ResourceId),
    PutPublicIp(PublicIpSpec),
    DeletePublicIp(ResourceId),
    PutNetworkInterface(NicSpec),
    DeleteNetworkInterface(ResourceId),
    PutVirtualMachine(VmSpec),
    DeleteVirtualMachine(ResourceId),
    SetPowerState {
        vm: ResourceId,
        state: PowerState,
    },
    PutVirtualNetworkGateway(GatewaySpec),
    DeleteVirtualNetworkGateway(ResourceId),
    PutLocalNetworkGateway(LocalGatewaySpec),
    DeleteLocalNetworkGateway(ResourceId),
    PutConnection(ConnectionSpec),
    DeleteConnection(ResourceId),
    PutRouteServer(RouteServerSpec),
    DeleteRouteServer(ResourceId),
    PutRouteServerPeering(RouteServerPeeringSpec),
    DeleteRouteServerPeering(ResourceId),
    /// What a Route Server's live BGP speakers learned (the daemon's
    /// poller sends it; never part of a topology file).
    SetRouteServerLearned {
        route_server: ResourceId,
        routes: Vec<LearnedRoute>,
    },
    PutLoadBalancer(LoadBalancerSpec),
    DeleteLoadBalancer(ResourceId),
    /// The backend pools of a NIC's IP configuration (replaces the list).
    SetBackendPools {
        nic: ResourceId,
        pools: Vec<ResourceId>,
    },
    PutRedisCache(RedisSpec),
    DeleteRedisCache(ResourceId),
    PutPrivateEndpoint(PrivateEndpointSpec),
    DeletePrivateEndpoint(ResourceId),
    PutManagedCluster(ManagedClusterSpec),
    DeleteManagedCluster(ResourceId),
    PutAgentPool(AgentPoolSpec),
    DeleteAgentPool(ResourceId),
    PutPod(PodSpec),
    DeletePod {
        cluster: ResourceId,
        name: String,
    },
    SetClusterMesh {
        cluster: ResourceId,
        enabled: bool,
    },
    ConnectClusterMesh {
        cluster: ResourceId,
        remote: ResourceId,
    },
    DisconnectClusterMesh {
        cluster: ResourceId,
        remote: ResourceId,
    },
    PutPrivateDnsZone(PrivateDnsZoneSpec),
    DeletePrivateDnsZone(ResourceId),
    PutVirtualNetworkLink(VirtualNetworkLinkSpec),
    DeleteVirtualNetworkLink(ResourceId),
    PutRecordSet(RecordSetSpec),
    DeleteRecordSet(ResourceId),
    PutPrivateDnsZoneGroup(PrivateDnsZoneGroupSpec),
    DeletePrivateDnsZoneGroup(ResourceId),
    PutFlowLog(FlowLog),
    DeleteFlowLog(ResourceId),
    /// Replaces a resource's tags (an ARM PUT's or PATCH's `tags`, az's `--tags`).
    SetTags {
        id: ResourceId,
        tags: Tags,
    },
    /// Adds a subscription's predefined tag name, or with `value` one of
    /// its values (`az tag create --name`, `az tag add-value`).
    PutTagName {
        subscription: String,
        name: String,
        value: Option<String>,
    },
    /// Removes a predefined tag name, or with `value` one of its values.
    DeleteTagName {
        subscription: String,
        name: String,
        value: Option<String>,
    },
    /// ARM's record of a template deployment (`ops_deployment`).
    PutDeployment {
        id: ResourceId,
        record: serde_json::Value,
    },
    DeleteDeployment(ResourceId),
    /// A resource of a type the model does not emulate, as a deployment put it.
    PutOpaqueResource {
        id: ResourceId,
        doc: serde_json::Value,
    },
    DeleteOpaqueResource(ResourceId),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub subscriptions: Vec<Subscription>,
    pub principals: Vec<Principal>,
    pub role_assignments: Vec<RoleAssignment>,
    pub resource_groups: BTreeMap<ResourceId, ResourceGroup>,
    pub virtual_networks: BTreeMap<ResourceId, VirtualNetwork>,
    pub network_security_groups: BTreeMap<ResourceId, NetworkSecurityGroup>,
    pub route_tables: BTreeMap<ResourceId, RouteTable>,
    pub public_ip_addresses: BTreeMap<ResourceId, PublicIpAddress>,
    pub network_interfaces: BTreeMap<ResourceId, NetworkInterface>,
    pub virtual_machines: BTreeMap<ResourceId, VirtualMachine>,
    pub virtual_network_gateways: BTreeMap<ResourceId, VirtualNetworkGateway>,
    pub local_network_gateways: BTreeMap<ResourceId, LocalNetworkGateway>,
    pub connections: BTreeMap<ResourceId, Connection>,
    pub route_servers: BTreeMap<ResourceId, RouteServer>,
    #[serde(default)]
    pub load_balancers: BTreeMap<ResourceId, LoadBalancer>,
    #[serde(default)]
    pub redis_caches: BTreeMap<ResourceId, RedisCache>,
    #[serde(default)]
    pub private_endpoints: BTreeMap<ResourceId, PrivateEndpoint>,
    pub managed_clusters: BTreeMap<ResourceId, ManagedCluster>,
    #[serde(default)]
    pub private_dns_zones: BTreeMap<ResourceId, PrivateDnsZone>,
    /// Network Watcher flow logs, by ID.
    #[serde(default)]
    pub flow_logs: BTreeMap<ResourceId, FlowLog>,
    /// Every resource's tags, by ID (src/model/tags.rs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<ResourceId, Tags>,
    /// Each subscription's predefined tag names, by lower-cased
    /// subscription ID (src/model/tag_names.rs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tag_names: BTreeMap<String, TagNames>,
    /// Template deployments' records, as ARM returns them, by ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<ResourceId, serde_json::Value>,
    /// Resources of types the model does not emulate, as deployments put them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub opaque_resources: BTreeMap<ResourceId, serde_json::Value>,
}

impl Model {
    /// An empty model with the default subscription in the default tenant.
    pub fn new() -> Self {
        Model {
            subscriptions: vec![Subscription {
                id: DEFAULT_SUBSCRIPTION_ID.into(),
                name: DEFAULT_SUBSCRIPTION_NAME.into(),
                tenant_id: DEFAULT_TENANT_ID.into(),
            }],
            ..Model::default()
        }
    }

    /// Validates `change` and applies it whole, or refuses it and changes
    /// nothing.
    pub fn apply(&mut self, change: Change) -> Result<(), AzureError> {
        self.apply_all([change]).map_err(|(_, e)| e)
    }

    /// Applies several changes as one: all of them or none. Azure's count
    /// limits are checked after each change, on the working copy.
    pub fn apply_all(&mut self, changes: impl IntoIterator<Item = Change>) -> Result<(), (usize, AzureError)> {
        let mut next = self.clone();
        next.apply_all_to_working_copy(changes)?;
        *self = next;
        Ok(())
    }

    /// [`Model::apply_all`] without its copy: on an error this model is
    /// left half-changed. For a working copy the caller throws away on
    /// error (a template deployment's, which would otherwise copy the
    /// whole model once per resource).
    pub fn apply_all_to_working_copy(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<(), (usize, AzureError)> {
        let mut quotas = limits::Quotas::count(self);
        for (i, c) in changes.into_iter().enumerate() {
            let checked = c.clone();
            self.apply_in_place(c).map_err(|e| (i, e))?;
            limits::check_change(self, &checked)
                .and_then(|()| quotas.after(self, &checked))
                .map_err(|e| (i, e))?;
        }
        self.prune_tags();
        Ok(())
    }

    fn apply_in_place(&mut self, change: Change) -> Result<(), AzureError> {
        use Change::*;
        match change {
            PutSubscription(s) => self.put_subscription(s),
            PutPrincipal(p) => self.put_principal(p),
            PutRoleAssignment(a) => self.put_role_assignment(a),
            DeleteRoleAssignment(a) => self.delete_role_assignment(&a),
            PutResourceGroup {
                subscription,
                name,
                location,
            } => self.put_resource_group(&subscription, &name, &location),
            DeleteResourceGroup(id) => self.delete_resource_group(&id),
            PutVirtualNetwork(s) => self.put_vnet(s),
            DeleteVirtualNetwork(id) => self.delete_vnet(&id),
            PutSubnet(s) => self.put_subnet(s),
            DeleteSubnet(id) => self.delete_subnet(&id),
            PutPeering(s) => self.put_peering(s),
            DeletePeering(id) => self.delete_peering(&id),
            SyncPeering(id) => self.sync_peering(&id),
            PutRouteTable {
                id,
                location,
                disable_bgp_route_propagation,
            } => self.put_route_table(&id, location.as_deref(), disable_bgp_route_propagation),
            DeleteRouteTable(id) => self.delete_route_table(&id),
            PutRoute(s) => self.put_route(s),
            DeleteRoute(id) => self.delete_route(&id),
            PutNetworkSecurityGroup { id, location } => self.put_nsg(&id, location.as_deref()),
            DeleteNetworkSecurityGroup(id) => self.delete_nsg(&id),
            PutSecurityRule(s) => self.put_security_rule(s),
            DeleteSecurityRule(id) => self.delete_security_rule(&id),
            PutPublicIp(s) => self.put_public_ip(s),
            DeletePublicIp(id) => self.delete_public_ip(&id),
            PutNetworkInterface(s) => self.put_nic(s),
            DeleteNetworkInterface(id) => self.delete_nic(&id),
            PutVirtualMachine(s) => self.put_vm(s),
            DeleteVirtualMachine(id) => self.delete_vm(&id),
            SetPowerState { vm, state } => self.set_power_state(&vm, state),
            PutVirtualNetworkGateway(s) => self.put_gateway(s),
            DeleteVirtualNetworkGateway(id) => self.delete_gateway(&id),
            PutLocalNetworkGateway(s) => self.put_local_gateway(s),
            DeleteLocalNetworkGateway(id) => self.delete_local_gateway(&id),
            PutConnection(s) => self.put_connection(s),
            DeleteConnection(id) => self.delete_connection(&id),
            PutRouteServer(s) => self.put_route_server(s),
            DeleteRouteServer(id) => self.delete_route_server(&id),
            PutRouteServerPeering(s) => self.put_route_server_peering(s),
            DeleteRouteServerPeering(id) => self.delete_route_server_peering(&id),
            SetRouteServerLearned { route_server, routes } => self.set_route_server_learned(&route_server, routes),
            PutLoadBalancer(s) => self.put_load_balancer(s),
            DeleteLoadBalancer(id) => self.delete_load_balancer(&id),
            SetBackendPools { nic, pools } => self.set_backend_pools(&nic, pools),
            PutRedisCache(s) => self.put_redis(s),
            DeleteRedisCache(id) => self.delete_redis(&id),
            PutPrivateEndpoint(s) => self.put_private_endpoint(s),
            DeletePrivateEndpoint(id) => self.delete_private_endpoint(&id),
            PutManagedCluster(s) => self.put_managed_cluster(s),
            DeleteManagedCluster(id) => self.delete_managed_cluster(&id),
            PutAgentPool(s) => self.put_agent_pool(s),
            DeleteAgentPool(id) => self.delete_agent_pool(&id),
            PutPod(s) => self.put_pod(s),
            DeletePod { cluster, name } => self.delete_pod(&cluster, &name),
            SetClusterMesh { cluster, enabled } => self.set_cluster_mesh(&cluster, enabled),
            ConnectClusterMesh { cluster, remote } => self.connect_cluster_mesh(&cluster, &remote),
            DisconnectClusterMesh { cluster, remote } => self.disconnect_cluster_mesh(&cluster, &remote),
            PutPrivateDnsZone(s) => self.put_private_dns_zone(s),
            DeletePrivateDnsZone(id) => self.delete_private_dns_zone(&id),
            PutVirtualNetworkLink(s) => self.put_virtual_network_link(s),
            DeleteVirtualNetworkLink(id) => self.delete_virtual_network_link(&id),
            PutRecordSet(s) => self.put_record_set(s),
            DeleteRecordSet(id) => self.delete_record_set(&id),
            PutPrivateDnsZoneGroup(s) => self.put_private_dns_zone_group(s),
            DeletePrivateDnsZoneGroup(id) => self.delete_private_dns_zone_group(&id),
            PutFlowLog(f) => self.put_flow_log(f),
            DeleteFlowLog(id) => self.delete_flow_log(&id),
            SetTags { id, tags } => self.set_tags(&id, tags),
            PutTagName {
                subscription,
                name,
                value,
            } => self.put_tag_name(&subscription, &name, value.as_deref()),
            DeleteTagName {
                subscription,
                name,
                value,
            } => self.delete_tag_name(&subscription, &name, value.as_deref()),
            PutDeployment { id, record } => self.put_deployment(id, record),
            DeleteDeployment(id) => self.delete_deployment(&id),
            PutOpaqueResource { id, doc } => self.put_opaque_resource(id, doc),
            DeleteOpaqueResource(id) => self.delete_opaque_resource(&id),
        }
    }

    // ---- lookups shared by validation, compilation and printing ----

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.id.eq_ignore_ascii_case(id))
    }

    pub fn tenant_of(&self, id: &ResourceId) -> Option<&str> {
        self.subscription(id.subscription_id()).map(|s| s.tenant_id.as_str())
    }

    /// The VNet that holds the subnet `subnet_id`, and the subnet.
    pub fn subnet(&self, subnet_id: &ResourceId) -> Option<(&VirtualNetwork, &Subnet)> {
        let vnet = self.virtual_networks.get(&subnet_id.parent()?)?;
        let subnet = vnet.subnets.iter().find(|s| &s.id == subnet_id)?;
        Some((vnet, subnet))
    }

    /// The VNet and peering for a peering ID.
    pub fn peering(&self, peering_id: &ResourceId) -> Option<(&VirtualNetwork, &Peering)> {
        let vnet = self.virtual_networks.get(&peering_id.parent()?)?;
        let p = vnet.peerings.iter().find(|p| &p.id == peering_id)?;
        Some((vnet, p))
    }

    /// The link in `remote` that points back at `local`, if any.
    pub fn reverse_peering(&self, local: &ResourceId, p: &Peering) -> Option<&Peering> {
        self.link(&p.remote_virtual_network, local)
    }

    /// The peering link stored in `from` that points at `to`.
    pub fn link(&self, from: &ResourceId, to: &ResourceId) -> Option<&Peering> {
        self.virtual_networks
            .get(from)?
            .peerings
            .iter()
            .find(|q| &q.remote_virtual_network == to)
    }

    /// Initiated until both links exist, then Connected; Disconnected once
    /// the other side (link or VNet) went away (§4.2).
    pub fn peering_state(&self, local: &ResourceId, p: &Peering) -> PeeringState {
        match self.reverse_peering(local, p) {
            Some(_) => PeeringState::Connected,
            None if p.disconnected_when_alone || !self.virtual_networks.contains_key(&p.remote_virtual_network) => {
                PeeringState::Disconnected
            }
            None => PeeringState::Initiated,
        }
    }

    /// Whether each side's snapshot of the other's address space is current (§4.6).
    pub fn peering_sync_level(&self, local: &ResourceId, p: &Peering) -> PeeringSyncLevel {
        let local_space = self.virtual_networks.get(local).map(|v| &v.address_prefixes);
        let remote_space = self
            .virtual_networks
            .get(&p.remote_virtual_network)
            .map(|v| &v.address_prefixes);
        let local_stale = remote_space.is_some_and(|r| !same_set(r, &p.remote_address_space));
        let remote_stale = match (self.reverse_peering(local, p), local_space) {
            (Some(q), Some(l)) => !same_set(l, &q.remote_address_space),
            _ => false,
        };
        match (local_stale, remote_stale) {
            (false, false) => PeeringSyncLevel::FullyInSync,
            (true, false) => PeeringSyncLevel::LocalNotInSync,
            (false, true) => PeeringSyncLevel::RemoteNotInSync,
            (true, true) => PeeringSyncLevel::LocalAndRemoteNotInSync,
        }
    }

    /// The VPN gateway deployed in a VNet, if any.
    pub fn vpn_gateway_of(&self, vnet: &ResourceId) -> Option<&VirtualNetworkGateway> {
        self.virtual_network_gateways
            .values()
            .find(|g| &g.virtual_network == vnet && g.gateway_type == GatewayType::Vpn)
    }

    pub fn route_server_of(&self, vnet: &ResourceId) -> Option<&RouteServer> {
        self.route_servers
            .values()
            .find(|r| r.hosted_subnet.parent().as_ref() == Some(vnet))
    }

    pub fn has_gateway(&self, vnet: &ResourceId) -> bool {
        self.virtual_network_gateways
            .values()
            .any(|g| &g.virtual_network == vnet)
            || self.route_server_of(vnet).is_some()
    }

    /// The two addresses Route Server takes in its subnet (§7: .4 and .5).
    pub fn route_server_ips(&self, rs: &RouteServer) -> Vec<Ipv4Addr> {
        self.subnet(&rs.hosted_subnet)
            .map(|(_, s)| vec![nth(&s.address_prefix, 4), nth(&s.address_prefix, 5)])
            .unwrap_or_default()
    }

    /// The private addresses of a VPN gateway's instances in GatewaySubnet.
    /// vnetlab gives the instances the first usable addresses (.4, .5).
    pub fn gateway_instance_ips(&self, g: &VirtualNetworkGateway) -> Vec<Ipv4Addr> {
        let Some(vnet) = self.virtual_networks.get(&g.virtual_network) else {
            return vec![];
        };
        let Some(gs) = vnet.subnets.iter().find(|s| s.is_gateway_subnet()) else {
            return vec![];
        };
        vec![nth(&gs.address_prefix, 4), nth(&gs.address_prefix, 5)]
    }

    /// A Vnet2Vnet connection is Connected once the opposite connection
    /// exists with the same shared key; an IPsec connection once its local
    /// network gateway exists (the on-premises device is part of the lab).
    pub fn connection_connected(&self, c: &Connection) -> bool {
        match c.connection_type {
            ConnectionType::IPsec => self.local_network_gateways.contains_key(&c.peer),
            ConnectionType::Vnet2Vnet => self.connections.values().any(|o| {
                o.connection_type == ConnectionType::Vnet2Vnet
                    && o.virtual_network_gateway1 == c.peer
                    && o.peer == c.virtual_network_gateway1
                    && o.shared_key == c.shared_key
            }),
        }
    }

    /// The IP configuration (of a NIC, gateway or Route Server) that holds
    /// public IP `pip`: what Azure names when the address is in use.
    pub fn public_ip_holder(&self, pip: &ResourceId) -> Option<ResourceId> {
        let nic = self
            .network_interfaces
            .values()
            .find(|n| n.public_ip_address.as_ref() == Some(pip))
            .map(|n| n.ip_configuration_id());
        let gateway = || {
            self.virtual_network_gateways.values().find_map(|g| {
                g.public_ip_addresses
                    .iter()
                    .position(|p| p == pip)
                    .map(|i| g.ip_configuration_id(i))
            })
        };
        let route_server = || {
            self.route_servers
                .values()
                .find(|r| r.public_ip_address.as_ref() == Some(pip))
                .map(|r| r.ip_configuration_id())
        };
        nic.or_else(gateway).or_else(route_server)
    }

    /// What is deployed in a subnet, with the private address each holds.
    /// ExpressRoute gateways occupy GatewaySubnet without an address
    /// vnetlab hands out.
    fn subnet_occupants(&self, subnet_id: &ResourceId) -> Vec<(Option<Ipv4Addr>, ResourceId)> {
        let mut out: Vec<(Option<Ipv4Addr>, ResourceId)> = self
            .network_interfaces
            .values()
            .filter(|n| &n.subnet == subnet_id)
            .map(|n| (Some(n.private_ip_address), n.ip_configuration_id()))
            .collect();
        if let Some((vnet, s)) = self.subnet(subnet_id)
            && s.is_gateway_subnet()
        {
            for g in self
                .virtual_network_gateways
                .values()
                .filter(|g| g.virtual_network == vnet.id)
            {
                match g.gateway_type {
                    GatewayType::Vpn => out.extend(
                        self.gateway_instance_ips(g)
                            .into_iter()
                            .map(|ip| (Some(ip), g.id.clone())),
                    ),
                    GatewayType::ExpressRoute => out.push((None, g.id.clone())),
                }
            }
        }
        for rs in self.route_servers.values().filter(|r| &r.hosted_subnet == subnet_id) {
            out.extend(
                self.route_server_ips(rs)
                    .into_iter()
                    .map(|ip| (Some(ip), rs.id.clone())),
            );
        }
        for lb in self.load_balancers.values() {
            out.extend(
                lb.frontend_ip_configurations
                    .iter()
                    .filter(|f| &f.subnet == subnet_id)
                    .map(|f| (Some(f.private_ip_address), f.id.clone())),
            );
        }
        for r in self
            .redis_caches
            .values()
            .filter(|r| r.subnet.as_ref() == Some(subnet_id))
        {
            out.extend(
                [r.static_ip, r.instance_ip]
                    .into_iter()
                    .flatten()
                    .map(|ip| (Some(ip), r.id.clone())),
            );
        }
        for pe in self.private_endpoints.values().filter(|p| &p.subnet == subnet_id) {
            out.push((Some(pe.private_ip_address), pe.id.clone()));
        }
        out
    }

    /// Every private address in use in a subnet, with who holds it.
    pub(crate) fn addresses_in_subnet(&self, subnet_id: &ResourceId) -> Vec<(Ipv4Addr, ResourceId)> {
        self.subnet_occupants(subnet_id)
            .into_iter()
            .filter_map(|(ip, id)| Some((ip?, id)))
            .collect()
    }

    /// Resources deployed in a subnet (for in-use errors).
    pub(crate) fn subnet_users(&self, subnet_id: &ResourceId) -> Vec<ResourceId> {
        self.subnet_occupants(subnet_id).into_iter().map(|(_, id)| id).collect()
    }
}

fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Checks `location` and returns it in ARM's form.
pub(crate) fn check_location(location: &str, resource_type: &str) -> Result<String, AzureError> {
    let l = regions::normalize(location);
    if regions::cloud_of(&l).is_none() {
        bail!(
            LocationNotAvailableForResourceType,
            "The provided location '{location}' is not available for resource type '{resource_type}'. List of available regions for the resource type is '{}'.",
            regions::all().collect::<Vec<_>>().join(",")
        );
    }
    Ok(l)
}
