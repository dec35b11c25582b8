//! The topology file (`labs/*/topology.yaml`): a lab's Azure resources in
//! one YAML document, turned into the same validated [`Change`]s the `az`
//! front sends. VMs get `az vm create`'s side effects by default, from the
//! recipe both use ([`crate::model::vm_create`]), so a topology and the az
//! script of the same lab build the same model. `docs/topology.md` documents the format and
//! `docs/topology.schema.json` is its JSON schema.

mod aks;
pub mod bounds;
mod dns;

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::latency::LatencyConfig;
use crate::model::vm_create::{self, NewNic, NsgRule, Side, VmCreate, VmNics};
use crate::model::{
    AzureError, Change, ConnectionSpec, ConnectionType, DEFAULT_SUBSCRIPTION_ID, DEFAULT_SUBSCRIPTION_NAME,
    FrontendSpec, GatewaySpec, GatewayType, LbRuleSpec, LbSku, LoadBalancerSpec, LoadDistribution, LocalGatewaySpec,
    Model, PeeringSpec, PrincipalType, PrivateEndpointSpec, ProbeProtocol, ProbeSpec, PublicIpSku, RedisSku, RedisSpec,
    ResourceId, RoleAssignment, RouteServerPeeringSpec, RouteServerSpec, RouteSpec, SecurityRuleSpec, SubnetSpec,
    Subscription, TransportProtocol, VnetSpec, VpnType,
};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Topology {
    /// Optional; without it the lab has one subscription, "vnetlab".
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionDef>,
    #[serde(default)]
    pub principals: Vec<PrincipalDef>,
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignmentDef>,
    pub resource_groups: Vec<ResourceGroupDef>,
    #[serde(default)]
    pub network_security_groups: Vec<NsgDef>,
    #[serde(default)]
    pub route_tables: Vec<RouteTableDef>,
    #[serde(default)]
    pub virtual_networks: Vec<VnetDef>,
    #[serde(default)]
    pub virtual_network_gateways: Vec<GatewayDef>,
    #[serde(default)]
    pub route_servers: Vec<RouteServerDef>,
    #[serde(default)]
    pub virtual_machines: Vec<VmDef>,
    #[serde(default)]
    pub local_network_gateways: Vec<LocalGatewayDef>,
    #[serde(default)]
    pub connections: Vec<ConnectionDef>,
    /// AKS clusters (Azure CNI Overlay), with their test pods.
    #[serde(default)]
    pub managed_clusters: Vec<crate::topology::aks::ClusterDef>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerDef>,
    #[serde(default)]
    pub redis_caches: Vec<RedisDef>,
    #[serde(default)]
    pub private_endpoints: Vec<PrivateEndpointDef>,
    /// Private DNS zones with their VNet links and record sets.
    #[serde(default)]
    pub private_dns_zones: Vec<dns::PrivateDnsZoneDef>,
    /// How packets between regions are delayed: `azure` (the default:
    /// half of Azure's published median round trip each way), `off`, or
    /// the details.
    pub latency: Option<LatencyDef>,
}

/// `latency: azure`, `latency: off`, or `latency: {mode, scale, jitterMs,
/// internetRegion}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LatencyDef {
    Mode(LatencyMode),
    Detail(LatencyDetail),
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LatencyMode {
    /// Azure's published medians between regions (model::latency).
    #[default]
    Azure,
    /// No delay anywhere.
    Off,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyDetail {
    #[serde(default)]
    pub mode: LatencyMode,
    /// Every round trip multiplied by this (above 0, at most 10).
    pub scale: Option<f64>,
    /// Each delayed packet held up to this much longer or shorter, in ms
    /// (uniform; the median stays the table's). At most 100.
    pub jitter_ms: Option<f64>,
    /// The region of the Internet side (the Cloud Shell): a public IP in
    /// another region is that far away. Without it, none is.
    pub internet_region: Option<String>,
}

impl LatencyDef {
    /// The fabric's setting, checked.
    pub fn config(&self) -> Result<LatencyConfig, TopologyError> {
        let cfg = match self {
            LatencyDef::Mode(LatencyMode::Azure) => LatencyConfig::default(),
            LatencyDef::Mode(LatencyMode::Off) => LatencyConfig::OFF,
            LatencyDef::Detail(d) => LatencyConfig {
                enabled: d.mode == LatencyMode::Azure,
                scale: d.scale.unwrap_or(1.0),
                jitter_ms: d.jitter_ms.unwrap_or(0.0),
                internet_region: d.internet_region.clone(),
            },
        };
        cfg.validate().map_err(|message| TopologyError::Reference {
            at: "latency".into(),
            message,
        })?;
        Ok(cfg)
    }
}

/// An internal load balancer with one frontend and one backend pool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    /// Basic or Standard (az's default).
    #[serde(default = "standard")]
    pub sku: String,
    pub vnet: String,
    pub subnet: String,
    /// Dynamic (the lowest free address) when omitted.
    pub private_ip_address: Option<String>,
    #[serde(default = "frontend_name")]
    pub frontend_name: String,
    /// Default `<name>bepool`, as az names it.
    pub backend_pool_name: Option<String>,
    /// VMs (topology names) whose NIC joins the backend pool.
    #[serde(default)]
    pub backends: Vec<String>,
    #[serde(default)]
    pub probes: Vec<ProbeDef>,
    #[serde(default)]
    pub rules: Vec<LbRuleDef>,
}

fn frontend_name() -> String {
    "LoadBalancerFrontEnd".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeDef {
    pub name: String,
    /// Tcp, Http or Https.
    pub protocol: String,
    pub port: u32,
    /// Http and Https probes: the path; 200 means healthy.
    pub path: Option<String>,
    /// Seconds between probes (15 when omitted, at least 5).
    pub interval: Option<u32>,
    /// Consecutive results that flip a backend (2 when omitted).
    pub threshold: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LbRuleDef {
    pub name: String,
    /// Tcp, Udp, or All (HA ports, with both ports 0; Standard only).
    pub protocol: String,
    pub frontend_port: u32,
    pub backend_port: u32,
    pub probe: Option<String>,
    /// Minutes (4 when omitted).
    pub idle_timeout: Option<u32>,
    /// Default (5-tuple), SourceIP or SourceIPProtocol.
    pub load_distribution: Option<String>,
}

/// An Azure Cache for Redis: a real redis-server. With `subnet` it is
/// injected into the VNet (Premium only) behind an internal Basic load
/// balancer; without, it is reachable only through private endpoints.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    /// Basic, Standard or Premium.
    pub sku: String,
    /// C0..C6, or P1..P5 for Premium.
    pub vm_size: String,
    pub vnet: Option<String>,
    pub subnet: Option<String>,
    pub static_ip: Option<String>,
    /// Opens the plain port 6379 (the TLS port 6380 is always open).
    #[serde(default)]
    pub enable_non_ssl_port: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateEndpointDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    pub vnet: String,
    pub subnet: String,
    /// The cache it leads to (name, `rg/name` or ID).
    pub redis_cache: String,
    /// Default `<name>-connection`.
    pub connection_name: Option<String>,
    /// At most one (Azure's limit): its zones get the endpoint's A record,
    /// which goes with the endpoint (`az network private-endpoint
    /// dns-zone-group create`).
    #[serde(default)]
    pub private_dns_zone_groups: Vec<dns::ZoneGroupDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionDef {
    pub name: String,
    /// A GUID.
    pub id: String,
    /// A GUID; subscriptions in different tenants need role assignments to peer.
    pub tenant_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrincipalDef {
    pub name: String,
    pub object_id: String,
    pub tenant_id: String,
    #[serde(default)]
    pub service_principal: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAssignmentDef {
    /// Principal name or object ID.
    pub principal: String,
    /// Owner, Contributor, Network Contributor, Reader (by name or role
    /// definition ID) or "VNet Peering Contributor".
    pub role: String,
    /// A full subscription, resource-group or resource ID.
    pub scope: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceGroupDef {
    pub name: String,
    pub location: String,
    /// Subscription name or ID; the first subscription when omitted.
    pub subscription: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NsgDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    #[serde(default)]
    pub rules: Vec<RuleDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleDef {
    pub name: String,
    pub priority: i64,
    #[serde(default = "inbound")]
    pub direction: String,
    #[serde(default = "allow")]
    pub access: String,
    #[serde(default = "star")]
    pub protocol: String,
    #[serde(default = "stars")]
    pub source_address_prefixes: Vec<String>,
    #[serde(default = "stars")]
    pub source_port_ranges: Vec<String>,
    #[serde(default = "stars")]
    pub destination_address_prefixes: Vec<String>,
    /// Unlike `az network nsg rule create` (which defaults to 80), `*`.
    #[serde(default = "stars")]
    pub destination_port_ranges: Vec<String>,
    pub description: Option<String>,
}

fn inbound() -> String {
    "Inbound".into()
}
fn allow() -> String {
    "Allow".into()
}
fn star() -> String {
    "*".into()
}
fn stars() -> Vec<String> {
    vec![star()]
}
fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteTableDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    #[serde(default)]
    pub disable_bgp_route_propagation: bool,
    #[serde(default)]
    pub routes: Vec<RouteDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteDef {
    pub name: String,
    pub address_prefix: String,
    /// VirtualAppliance, VirtualNetworkGateway, VnetLocal, Internet or None.
    pub next_hop_type: String,
    pub next_hop_ip_address: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VnetDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    pub address_prefixes: Vec<String>,
    pub flow_timeout_in_minutes: Option<u32>,
    /// `dhcpOptions.dnsServers`: custom DNS servers for the VNet's VMs
    /// (absent or empty: Azure-provided DNS, 168.63.129.16).
    #[serde(default)]
    pub dns_servers: Vec<String>,
    #[serde(default)]
    pub subnets: Vec<SubnetDef>,
    #[serde(default)]
    pub peerings: Vec<PeeringDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubnetDef {
    pub name: String,
    pub address_prefix: String,
    /// NSG name in the VNet's resource group, `rg/name`, or a full ID.
    pub network_security_group: Option<String>,
    pub route_table: Option<String>,
    pub default_outbound_access: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeeringDef {
    pub name: String,
    /// VNet name in the same resource group, `rg/name`, or a full ID.
    pub remote_virtual_network: String,
    /// Azure's CLI default is false; so is this one.
    #[serde(default)]
    pub allow_virtual_network_access: bool,
    #[serde(default)]
    pub allow_forwarded_traffic: bool,
    #[serde(default)]
    pub allow_gateway_transit: bool,
    #[serde(default)]
    pub use_remote_gateways: bool,
    /// Who creates it; needed when the VNets are in different tenants.
    pub principal: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VmDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    /// VNet name (`rg/name` or ID also accepted).
    pub vnet: String,
    pub subnet: String,
    pub private_ip_address: Option<String>,
    /// Public IP name; `""` for none. Default `<vm>PublicIP`, as az does.
    pub public_ip_address: Option<String>,
    #[serde(default = "standard")]
    pub public_ip_sku: String,
    /// NIC NSG name; `""` for none. Default `<vm>NSG` with `default-allow-ssh`.
    pub nsg: Option<String>,
    /// The rule az adds to a new NSG: SSH, RDP or NONE; RDP for a
    /// Windows image, else SSH, when omitted.
    pub nsg_rule: Option<String>,
    #[serde(default)]
    pub ip_forwarding: bool,
    #[serde(default = "azureuser")]
    pub admin_username: String,
    pub admin_password: Option<String>,
    #[serde(default)]
    pub ssh_public_keys: Vec<String>,
    #[serde(default = "ubuntu")]
    pub image: String,
    #[serde(default = "size")]
    pub size: String,
    /// Started (default) or not.
    #[serde(default = "yes")]
    pub running: bool,
}

fn standard() -> String {
    "Standard".into()
}
fn azureuser() -> String {
    "azureuser".into()
}
fn ubuntu() -> String {
    "Ubuntu2404".into()
}
fn size() -> String {
    vm_create::DEFAULT_VM_SIZE.into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    pub vnet: String,
    /// Vpn (default) or ExpressRoute.
    #[serde(default = "vpn")]
    pub gateway_type: String,
    /// Basic (az's default) cannot do gateway transit.
    #[serde(default = "basic")]
    pub sku: String,
    #[serde(default)]
    pub active_active: bool,
    #[serde(default)]
    pub enable_bgp: bool,
    pub asn: Option<u32>,
}

fn vpn() -> String {
    "Vpn".into()
}
fn basic() -> String {
    "Basic".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalGatewayDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    pub gateway_ip_address: String,
    #[serde(default)]
    pub local_address_prefixes: Vec<String>,
    pub asn: Option<u32>,
    pub bgp_peering_address: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    /// The VNet gateway this connection belongs to.
    pub vnet_gateway1: String,
    /// The other VNet's gateway (a VNet-to-VNet connection) ...
    pub vnet_gateway2: Option<String>,
    /// ... or a local network gateway (site-to-site IPsec).
    pub local_gateway2: Option<String>,
    pub shared_key: Option<String>,
    #[serde(default)]
    pub enable_bgp: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteServerDef {
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    pub vnet: String,
    /// The subnet; `RouteServerSubnet` unless said otherwise.
    #[serde(default = "rs_subnet")]
    pub subnet: String,
    #[serde(default)]
    pub allow_branch_to_branch_traffic: bool,
    #[serde(default)]
    pub peerings: Vec<RouteServerPeeringDef>,
    /// vnetlab's own, for labs: the hold time (seconds, at least 3) of the
    /// speakers' BGP sessions, keepalive a third of it. Without it Azure's
    /// 60 s / 180 s, so a silent NVA's routes go after three minutes.
    #[serde(default)]
    pub bgp_hold_seconds: Option<u16>,
}

fn rs_subnet() -> String {
    "RouteServerSubnet".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteServerPeeringDef {
    pub name: String,
    pub peer_ip: String,
    pub peer_asn: u32,
    /// The prefixes the NVA at peerIp announces over BGP.
    #[serde(default)]
    pub advertised_prefixes: Vec<String>,
}

/// A topology that could not be loaded: YAML that does not parse, or a
/// resource the model refused (with the path of the entry at fault).
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("{0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{at}: {error}")]
    Refused { at: String, error: AzureError },
    #[error("{at}: {message}")]
    Reference { at: String, message: String },
    /// Too big or too deeply nested to parse (see [`bounds`]).
    #[error("{0}")]
    Bounds(String),
}

impl Topology {
    pub fn parse(text: &str) -> Result<Topology, TopologyError> {
        bounds::check(text).map_err(TopologyError::Bounds)?;
        Ok(serde_yaml_ng::from_str(text)?)
    }

    /// The model this topology describes, built through validated changes
    /// applied as one batch on one working copy: linear in the topology's
    /// size, where a copy of the model per change was quadratic.
    pub fn build(&self) -> Result<Model, TopologyError> {
        let (places, changes): (Vec<String>, Vec<Change>) = self.changes()?.into_iter().unzip();
        let mut model = Model::new();
        model.apply_all(changes).map_err(|(i, error)| TopologyError::Refused {
            at: places.get(i).cloned().unwrap_or_default(),
            error,
        })?;
        Ok(model)
    }

    /// How this lab delays packets between regions (`azure` when unsaid).
    pub fn latency(&self) -> Result<LatencyConfig, TopologyError> {
        self.latency
            .as_ref()
            .map_or(Ok(LatencyConfig::default()), LatencyDef::config)
    }

    /// The changes, in dependency order, each with where it comes from.
    pub fn changes(&self) -> Result<Vec<(String, Change)>, TopologyError> {
        let mut out: Vec<(String, Change)> = Vec::new();
        let subs: Vec<(String, String)> = if self.subscriptions.is_empty() {
            vec![(DEFAULT_SUBSCRIPTION_NAME.into(), DEFAULT_SUBSCRIPTION_ID.into())]
        } else {
            self.subscriptions
                .iter()
                .map(|s| (s.name.clone(), s.id.clone()))
                .collect()
        };
        for (i, s) in self.subscriptions.iter().enumerate() {
            out.push((
                format!("subscriptions[{i}] ({})", s.name),
                Change::PutSubscription(Subscription {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    tenant_id: s.tenant_id.clone(),
                }),
            ));
        }
        for (i, p) in self.principals.iter().enumerate() {
            let principal = crate::model::Principal {
                name: p.name.clone(),
                object_id: p.object_id.clone(),
                tenant_id: p.tenant_id.clone(),
                principal_type: if p.service_principal {
                    PrincipalType::ServicePrincipal
                } else {
                    PrincipalType::User
                },
            };
            out.push((format!("principals[{i}] ({})", p.name), Change::PutPrincipal(principal)));
        }
        for (i, a) in self.role_assignments.iter().enumerate() {
            let object_id = self
                .principals
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&a.principal))
                .map_or(a.principal.clone(), |p| p.object_id.clone());
            out.push((
                format!("roleAssignments[{i}]"),
                Change::PutRoleAssignment(RoleAssignment {
                    principal_object_id: object_id,
                    // A role definition ID names its built-in role; an
                    // unknown role is the model's RoleDefinitionDoesNotExist.
                    role_definition_name: crate::model::role_name(&a.role)
                        .map_or_else(|| a.role.clone(), str::to_string),
                    scope: a.scope.clone(),
                }),
            ));
        }
        let mut rgs: Vec<(String, String)> = Vec::new(); // (rg name, subscription id)
        for (i, rg) in self.resource_groups.iter().enumerate() {
            let at = format!("resourceGroups[{i}] ({})", rg.name);
            let sub = match &rg.subscription {
                None => subs[0].1.clone(),
                Some(s) => subs
                    .iter()
                    .find(|(n, id)| n.eq_ignore_ascii_case(s) || id.eq_ignore_ascii_case(s))
                    .map(|(_, id)| id.clone())
                    .ok_or_else(|| TopologyError::Reference {
                        at: at.clone(),
                        message: format!("subscription '{s}' is not in the topology's subscriptions"),
                    })?,
            };
            rgs.push((rg.name.clone(), sub.clone()));
            out.push((
                at,
                Change::PutResourceGroup {
                    subscription: sub,
                    name: rg.name.clone(),
                    location: rg.location.clone(),
                },
            ));
        }
        let r = Resolver { rgs: &rgs };

        for (i, n) in self.network_security_groups.iter().enumerate() {
            let at = format!("networkSecurityGroups[{i}] ({})", n.name);
            let id = r.id(&at, n.resource_group.as_deref(), "networkSecurityGroups", &n.name)?;
            out.push((
                at.clone(),
                Change::PutNetworkSecurityGroup {
                    id: id.clone(),
                    location: n.location.clone(),
                },
            ));
            for (j, rule) in n.rules.iter().enumerate() {
                out.push((
                    format!("{at}.rules[{j}] ({})", rule.name),
                    Change::PutSecurityRule(rule_spec(&id, rule)),
                ));
            }
        }
        for (i, t) in self.route_tables.iter().enumerate() {
            let at = format!("routeTables[{i}] ({})", t.name);
            let id = r.id(&at, t.resource_group.as_deref(), "routeTables", &t.name)?;
            out.push((
                at.clone(),
                Change::PutRouteTable {
                    id: id.clone(),
                    location: t.location.clone(),
                    disable_bgp_route_propagation: t.disable_bgp_route_propagation,
                },
            ));
            for (j, route) in t.routes.iter().enumerate() {
                let spec = RouteSpec {
                    id: id.child("routes", &route.name),
                    address_prefix: route.address_prefix.clone(),
                    next_hop_type: route.next_hop_type.clone(),
                    next_hop_ip_address: route.next_hop_ip_address.clone(),
                };
                out.push((format!("{at}.routes[{j}] ({})", route.name), Change::PutRoute(spec)));
            }
        }
        let mut peerings = Vec::new();
        for (i, v) in self.virtual_networks.iter().enumerate() {
            let at = format!("virtualNetworks[{i}] ({})", v.name);
            let id = r.id(&at, v.resource_group.as_deref(), "virtualNetworks", &v.name)?;
            out.push((
                at.clone(),
                Change::PutVirtualNetwork(VnetSpec {
                    id: id.clone(),
                    location: v.location.clone(),
                    address_prefixes: v.address_prefixes.clone(),
                    flow_timeout_in_minutes: v.flow_timeout_in_minutes,
                    dns_servers: Some(v.dns_servers.clone()),
                }),
            ));
            for (j, s) in v.subnets.iter().enumerate() {
                let sat = format!("{at}.subnets[{j}] ({})", s.name);
                let spec = SubnetSpec {
                    id: id.child("subnets", &s.name),
                    address_prefix: s.address_prefix.clone(),
                    network_security_group: s
                        .network_security_group
                        .as_deref()
                        .map(|n| r.reference(&sat, &id, "networkSecurityGroups", n))
                        .transpose()?,
                    route_table: s
                        .route_table
                        .as_deref()
                        .map(|n| r.reference(&sat, &id, "routeTables", n))
                        .transpose()?,
                    default_outbound_access: s.default_outbound_access,
                };
                out.push((sat, Change::PutSubnet(spec)));
            }
            for (j, p) in v.peerings.iter().enumerate() {
                let pat = format!("{at}.peerings[{j}] ({})", p.name);
                let spec = PeeringSpec {
                    id: id.child("virtualNetworkPeerings", &p.name),
                    remote_virtual_network: r.reference(&pat, &id, "virtualNetworks", &p.remote_virtual_network)?,
                    allow_virtual_network_access: p.allow_virtual_network_access,
                    allow_forwarded_traffic: p.allow_forwarded_traffic,
                    allow_gateway_transit: p.allow_gateway_transit,
                    use_remote_gateways: p.use_remote_gateways,
                    principal: p.principal.clone(),
                };
                peerings.push((pat, Change::PutPeering(spec)));
            }
        }
        for (i, g) in self.virtual_network_gateways.iter().enumerate() {
            let at = format!("virtualNetworkGateways[{i}] ({})", g.name);
            let id = r.id(&at, g.resource_group.as_deref(), "virtualNetworkGateways", &g.name)?;
            let gateway_type = match g.gateway_type.to_ascii_lowercase().as_str() {
                "vpn" => GatewayType::Vpn,
                "expressroute" => GatewayType::ExpressRoute,
                other => {
                    return Err(TopologyError::Reference {
                        at,
                        message: format!("gatewayType '{other}' must be Vpn or ExpressRoute"),
                    });
                }
            };
            let spec = GatewaySpec {
                virtual_network: r.reference(&at, &id, "virtualNetworks", &g.vnet)?,
                id,
                location: g.location.clone(),
                gateway_type,
                sku: g.sku.clone(),
                active_active: g.active_active,
                enable_bgp: g.enable_bgp,
                asn: g.asn,
                // A topology gateway needs no public IP: nothing in the lab
                // reaches it by its public address.
                public_ip_addresses: vec![],
                vpn_type: VpnType::RouteBased,
                vpn_gateway_generation: None,
            };
            out.push((at, Change::PutVirtualNetworkGateway(spec)));
        }
        let mut rs_peerings = Vec::new();
        for (i, s) in self.route_servers.iter().enumerate() {
            let at = format!("routeServers[{i}] ({})", s.name);
            let id = r.id(&at, s.resource_group.as_deref(), "virtualHubs", &s.name)?;
            let vnet = r.reference(&at, &id, "virtualNetworks", &s.vnet)?;
            let spec = RouteServerSpec {
                id: id.clone(),
                location: s.location.clone(),
                hosted_subnet: vnet.child("subnets", &s.subnet),
                allow_branch_to_branch_traffic: s.allow_branch_to_branch_traffic,
                public_ip_address: None,
                bgp_hold_secs: s.bgp_hold_seconds,
            };
            out.push((at.clone(), Change::PutRouteServer(spec)));
            for (j, p) in s.peerings.iter().enumerate() {
                let spec = RouteServerPeeringSpec {
                    id: id.child("bgpConnections", &p.name),
                    peer_ip: p.peer_ip.clone(),
                    peer_asn: p.peer_asn,
                    advertised_prefixes: p.advertised_prefixes.clone(),
                };
                rs_peerings.push((
                    format!("{at}.peerings[{j}] ({})", p.name),
                    Change::PutRouteServerPeering(spec),
                ));
            }
        }
        for (i, vm) in self.virtual_machines.iter().enumerate() {
            let at = format!("virtualMachines[{i}] ({})", vm.name);
            out.extend(vm_changes(&r, &at, vm)?.into_iter().map(|c| (at.clone(), c)));
        }
        out.extend(peerings);
        out.extend(rs_peerings);
        for (i, l) in self.local_network_gateways.iter().enumerate() {
            let at = format!("localNetworkGateways[{i}] ({})", l.name);
            let id = r.id(&at, l.resource_group.as_deref(), "localNetworkGateways", &l.name)?;
            let spec = LocalGatewaySpec {
                id,
                location: l.location.clone(),
                gateway_ip_address: l.gateway_ip_address.clone(),
                local_address_prefixes: l.local_address_prefixes.clone(),
                asn: l.asn,
                bgp_peering_address: l.bgp_peering_address.clone(),
            };
            out.push((at, Change::PutLocalNetworkGateway(spec)));
        }
        for (i, c) in self.connections.iter().enumerate() {
            let at = format!("connections[{i}] ({})", c.name);
            let id = r.id(&at, c.resource_group.as_deref(), "connections", &c.name)?;
            let gw1 = r.reference(&at, &id, "virtualNetworkGateways", &c.vnet_gateway1)?;
            let (connection_type, peer) = match (&c.vnet_gateway2, &c.local_gateway2) {
                (Some(g), None) => (
                    ConnectionType::Vnet2Vnet,
                    r.reference(&at, &id, "virtualNetworkGateways", g)?,
                ),
                (None, Some(l)) => (ConnectionType::IPsec, r.reference(&at, &id, "localNetworkGateways", l)?),
                _ => {
                    return Err(TopologyError::Reference {
                        at,
                        message: "give exactly one of vnetGateway2 and localGateway2".into(),
                    });
                }
            };
            let spec = ConnectionSpec {
                id,
                location: c.location.clone(),
                connection_type,
                virtual_network_gateway1: gw1,
                peer,
                shared_key: c.shared_key.clone(),
                enable_bgp: c.enable_bgp,
            };
            out.push((at, Change::PutConnection(spec)));
        }
        self.balancer_changes(&r, &mut out)?;
        out.extend(aks::changes(&r, &self.managed_clusters)?);
        out.extend(dns::changes(&r, &self.private_dns_zones)?);
        // After the zones and the endpoints, whose record the group writes.
        out.extend(dns::zone_group_changes(&r, &self.private_endpoints)?);
        refuse_duplicates(&out)?;
        Ok(out)
    }

    fn balancer_changes(&self, r: &Resolver, out: &mut Vec<(String, Change)>) -> Result<(), TopologyError> {
        let bad = |at: &str, message: String| TopologyError::Reference { at: at.into(), message };
        let mut members: Vec<(String, ResourceId, Vec<ResourceId>)> = Vec::new();
        for (i, l) in self.load_balancers.iter().enumerate() {
            let at = format!("loadBalancers[{i}] ({})", l.name);
            let id = r.id(&at, l.resource_group.as_deref(), "loadBalancers", &l.name)?;
            let sku = match l.sku.to_ascii_lowercase().as_str() {
                "basic" => LbSku::Basic,
                "standard" => LbSku::Standard,
                other => return Err(bad(&at, format!("sku '{other}' must be Basic or Standard"))),
            };
            let vnet = r.reference(&at, &id, "virtualNetworks", &l.vnet)?;
            let pool = l
                .backend_pool_name
                .clone()
                .unwrap_or_else(|| format!("{}bepool", l.name));
            let probes = l
                .probes
                .iter()
                .map(|p| {
                    let protocol = ProbeProtocol::parse(&p.protocol).ok_or_else(|| {
                        bad(
                            &at,
                            format!("probe {}: protocol '{}' must be Tcp, Http or Https", p.name, p.protocol),
                        )
                    })?;
                    Ok::<_, TopologyError>(ProbeSpec {
                        name: p.name.clone(),
                        protocol,
                        port: p.port,
                        request_path: p.path.clone(),
                        interval_in_seconds: p.interval,
                        number_of_probes: p.threshold,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let rules = l
                .rules
                .iter()
                .map(|x| {
                    let protocol = TransportProtocol::parse(&x.protocol).ok_or_else(|| {
                        bad(
                            &at,
                            format!("rule {}: protocol '{}' must be Tcp, Udp or All", x.name, x.protocol),
                        )
                    })?;
                    let load_distribution = match x.load_distribution.as_deref() {
                        None => LoadDistribution::Default,
                        Some(d) => LoadDistribution::parse(d).ok_or_else(|| {
                            bad(
                                &at,
                                format!(
                                    "rule {}: loadDistribution '{d}' must be Default, SourceIP or SourceIPProtocol",
                                    x.name
                                ),
                            )
                        })?,
                    };
                    Ok::<_, TopologyError>(LbRuleSpec {
                        name: x.name.clone(),
                        frontend: l.frontend_name.clone(),
                        backend_pool: pool.clone(),
                        probe: x.probe.clone(),
                        protocol,
                        frontend_port: x.frontend_port,
                        backend_port: x.backend_port,
                        idle_timeout_in_minutes: x.idle_timeout,
                        enable_floating_ip: false,
                        load_distribution,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let spec = LoadBalancerSpec {
                id: id.clone(),
                location: l.location.clone(),
                sku,
                frontends: vec![FrontendSpec {
                    name: l.frontend_name.clone(),
                    subnet: vnet.child("subnets", &l.subnet),
                    private_ip_address: l.private_ip_address.clone(),
                }],
                backend_pools: vec![pool.clone()],
                probes,
                rules,
            };
            out.push((at.clone(), Change::PutLoadBalancer(spec)));
            for vm in &l.backends {
                let Some(def) = self.virtual_machines.iter().find(|v| v.name.eq_ignore_ascii_case(vm)) else {
                    return Err(bad(&at, format!("backend '{vm}' is not a VM of this topology")));
                };
                let (sub, rg) = r.group(&at, def.resource_group.as_deref())?;
                let nic = VmCreate::nic_id(&VmCreate::vm_id(&sub, &rg, &def.name));
                let pool = id.child("backendAddressPools", &pool);
                match members.iter_mut().find(|(_, n, _)| *n == nic) {
                    Some((_, _, pools)) => pools.push(pool),
                    None => members.push((format!("{at}.backends ({vm})"), nic, vec![pool])),
                }
            }
        }
        // A NIC's IP configuration lists every pool it is in, across load balancers.
        out.extend(
            members
                .into_iter()
                .map(|(at, nic, pools)| (at, Change::SetBackendPools { nic, pools })),
        );
        for (i, c) in self.redis_caches.iter().enumerate() {
            let at = format!("redisCaches[{i}] ({})", c.name);
            let (sub, rg) = r.group(&at, c.resource_group.as_deref())?;
            let id = ResourceId::resource(&sub, &rg, crate::model::CACHE, crate::model::REDIS, &c.name);
            let sku = match c.sku.to_ascii_lowercase().as_str() {
                "basic" => RedisSku::Basic,
                "standard" => RedisSku::Standard,
                "premium" => RedisSku::Premium,
                other => return Err(bad(&at, format!("sku '{other}' must be Basic, Standard or Premium"))),
            };
            let subnet = match (&c.vnet, &c.subnet) {
                (Some(v), Some(s)) => Some(r.reference(&at, &id, "virtualNetworks", v)?.child("subnets", s)),
                (None, None) => None,
                _ => return Err(bad(&at, "give both vnet and subnet, or neither".into())),
            };
            let spec = RedisSpec {
                id,
                location: c.location.clone(),
                sku,
                vm_size: c.vm_size.clone(),
                subnet,
                static_ip: c.static_ip.clone(),
                enable_non_ssl_port: c.enable_non_ssl_port,
                redis_version: None,
            };
            out.push((at, Change::PutRedisCache(spec)));
        }
        for (i, p) in self.private_endpoints.iter().enumerate() {
            let at = format!("privateEndpoints[{i}] ({})", p.name);
            let id = r.id(&at, p.resource_group.as_deref(), "privateEndpoints", &p.name)?;
            let vnet = r.reference(&at, &id, "virtualNetworks", &p.vnet)?;
            let cache = r.reference_in(&at, &id, crate::model::CACHE, crate::model::REDIS, &p.redis_cache)?;
            let spec = PrivateEndpointSpec {
                id,
                location: p.location.clone(),
                subnet: vnet.child("subnets", &p.subnet),
                private_link_service_id: cache,
                group_ids: vec!["redisCache".into()],
                connection_name: p
                    .connection_name
                    .clone()
                    .unwrap_or_else(|| format!("{}-connection", p.name)),
            };
            out.push((at, Change::PutPrivateEndpoint(spec)));
        }
        Ok(())
    }
}

/// Two entries of the file that define one resource (names compare without
/// case, as ARM's do) are a mistake, not an update: ARM refuses a template
/// like that, so the topology is refused naming both entries. One entry may
/// put a resource more than once (a VM's NSG, then its rule).
fn refuse_duplicates(changes: &[(String, Change)]) -> Result<(), TopologyError> {
    let mut seen: HashMap<ResourceId, &str> = HashMap::with_capacity(changes.len());
    let twice = |seen: &HashMap<ResourceId, &str>, at: &str, c: &Change| {
        let id = defined_id(c)?;
        let first = *seen.get(&id)?;
        (first != at).then(|| AzureError::defined_multiple_times(&id, first, at))
    };
    for (i, (at, change)) in changes.iter().enumerate() {
        if let Some(mut error) = twice(&seen, at, change) {
            // An entry's main resource comes last (a VM after its NSG and
            // NIC): name that one when it is the one defined twice.
            for (_, c) in changes[i..].iter().take_while(|(a, _)| a == at) {
                if let Some(e) = twice(&seen, at, c) {
                    error = e;
                }
            }
            return Err(TopologyError::Refused { at: at.clone(), error });
        }
        if let Some(id) = defined_id(change) {
            seen.entry(id).or_insert(at);
        }
    }
    Ok(())
}

/// The resource a change creates or updates, when it is named by an ID.
fn defined_id(change: &Change) -> Option<ResourceId> {
    use Change::*;
    Some(match change {
        PutResourceGroup { subscription, name, .. } => ResourceId::resource_group(subscription, name),
        PutVirtualNetwork(s) => s.id.clone(),
        PutSubnet(s) => s.id.clone(),
        PutPeering(s) => s.id.clone(),
        PutRouteTable { id, .. } | PutNetworkSecurityGroup { id, .. } => id.clone(),
        PutRoute(s) => s.id.clone(),
        PutSecurityRule(s) => s.id.clone(),
        PutPublicIp(s) => s.id.clone(),
        PutNetworkInterface(s) => s.id.clone(),
        PutVirtualMachine(s) => s.id.clone(),
        PutVirtualNetworkGateway(s) => s.id.clone(),
        PutLocalNetworkGateway(s) => s.id.clone(),
        PutConnection(s) => s.id.clone(),
        PutRouteServer(s) => s.id.clone(),
        PutRouteServerPeering(s) => s.id.clone(),
        PutLoadBalancer(s) => s.id.clone(),
        PutRedisCache(s) => s.id.clone(),
        PutPrivateEndpoint(s) => s.id.clone(),
        PutManagedCluster(s) => s.id.clone(),
        PutAgentPool(s) => s.id.clone(),
        PutPod(p) => p.cluster.child("pods", &p.name),
        PutPrivateDnsZone(s) => s.id.clone(),
        PutVirtualNetworkLink(s) => s.id.clone(),
        PutRecordSet(s) => s.id.clone(),
        PutPrivateDnsZoneGroup(s) => s.id.clone(),
        _ => return None,
    })
}

/// Turns names into resource IDs the way az does: a bare name lives in
/// the resource group at hand, `rg/name` in another group of the same
/// subscription, and a full ID is taken as it is.
struct Resolver<'a> {
    rgs: &'a [(String, String)],
}

impl Resolver<'_> {
    fn group(&self, at: &str, rg: Option<&str>) -> Result<(String, String), TopologyError> {
        match rg {
            Some(name) => self
                .rgs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(n, s)| (s.clone(), n.clone()))
                .ok_or_else(|| TopologyError::Reference {
                    at: at.into(),
                    message: format!("resource group '{name}' is not in the topology's resourceGroups"),
                }),
            None if self.rgs.len() == 1 => Ok((self.rgs[0].1.clone(), self.rgs[0].0.clone())),
            None => Err(TopologyError::Reference {
                at: at.into(),
                message: "name its resourceGroup: the topology has several".into(),
            }),
        }
    }

    fn id(&self, at: &str, rg: Option<&str>, kind: &str, name: &str) -> Result<ResourceId, TopologyError> {
        let (sub, rg) = self.group(at, rg)?;
        Ok(ResourceId::network(&sub, &rg, kind, name))
    }

    fn reference(&self, at: &str, from: &ResourceId, kind: &str, s: &str) -> Result<ResourceId, TopologyError> {
        self.reference_in(at, from, crate::model::NETWORK, kind, s)
    }

    /// `reference` for a resource of another provider (`Microsoft.Cache`…).
    fn reference_in(
        &self,
        at: &str,
        from: &ResourceId,
        provider: &str,
        kind: &str,
        s: &str,
    ) -> Result<ResourceId, TopologyError> {
        if s.starts_with('/') {
            return ResourceId::parse(s).ok_or_else(|| TopologyError::Reference {
                at: at.into(),
                message: format!("'{s}' is not a valid resource ID"),
            });
        }
        match s.split_once('/') {
            Some((rg, name)) => {
                let (sub, rg) = self.group(at, Some(rg))?;
                Ok(ResourceId::resource(&sub, &rg, provider, kind, name))
            }
            None => Ok(ResourceId::resource(
                from.subscription_id(),
                from.resource_group_name(),
                provider,
                kind,
                s,
            )),
        }
    }
}

fn rule_spec(nsg: &ResourceId, r: &RuleDef) -> SecurityRuleSpec {
    SecurityRuleSpec {
        id: nsg.child("securityRules", &r.name),
        priority: r.priority,
        direction: r.direction.clone(),
        access: r.access.clone(),
        protocol: r.protocol.clone(),
        source_address_prefixes: r.source_address_prefixes.clone(),
        source_port_ranges: r.source_port_ranges.clone(),
        destination_address_prefixes: r.destination_address_prefixes.clone(),
        destination_port_ranges: r.destination_port_ranges.clone(),
        description: r.description.clone(),
    }
}

/// What `az vm create` creates for one VM (model::vm_create's recipe).
/// Unlike az, which makes the NSG and public IP it is given when they do
/// not exist, a topology makes the NSG only under the name az would pick:
/// a named one is an NSG of the topology's networkSecurityGroups.
fn vm_changes(r: &Resolver, at: &str, vm: &VmDef) -> Result<Vec<Change>, TopologyError> {
    let (sub, rg) = r.group(at, vm.resource_group.as_deref())?;
    let vm_id = VmCreate::vm_id(&sub, &rg, &vm.name);
    let net = |kind: &str, name: &str| ResourceId::network(&sub, &rg, kind, name);
    let public_ip = match vm.public_ip_address.as_deref() {
        Some("") => Side::None,
        name => {
            let sku = if vm.public_ip_sku.eq_ignore_ascii_case("basic") {
                PublicIpSku::Basic
            } else {
                PublicIpSku::Standard
            };
            let name = name.map_or_else(|| vm_create::public_ip_name(&vm.name), str::to_string);
            Side::New(net("publicIPAddresses", &name), sku)
        }
    };
    let rule = match vm.nsg_rule.as_deref() {
        None => NsgRule::for_image(&vm.image),
        Some(s) => NsgRule::parse(s).ok_or_else(|| TopologyError::Reference {
            at: at.into(),
            message: format!("nsgRule '{s}' must be SSH, RDP or NONE"),
        })?,
    };
    let nsg = match vm.nsg.as_deref() {
        Some("") => Side::None,
        Some(name) => Side::Existing(net("networkSecurityGroups", name)),
        None => Side::New(net("networkSecurityGroups", &vm_create::nsg_name(&vm.name)), rule),
    };
    let vnet = r.reference(at, &vm_id, "virtualNetworks", &vm.vnet)?;
    Ok(VmCreate {
        id: vm_id,
        location: vm.location.clone(),
        size: vm.size.clone(),
        image: vm.image.clone(),
        admin_username: vm.admin_username.clone(),
        admin_password: vm.admin_password.clone(),
        ssh_public_keys: vm.ssh_public_keys.clone(),
        nics: VmNics::New(NewNic {
            subnet: vnet.child("subnets", &vm.subnet),
            private_ip_address: vm.private_ip_address.clone(),
            enable_ip_forwarding: vm.ip_forwarding,
            public_ip,
            nsg,
        }),
        running: vm.running,
    }
    .changes())
}

/// The JSON schema of the topology file, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Topology);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency_of(yaml: &str) -> Result<LatencyConfig, TopologyError> {
        Topology::parse(&format!("resourceGroups: []\n{yaml}"))?.latency()
    }

    #[test]
    fn latency_defaults_to_azure_and_reads_every_form() {
        let azure = latency_of("").expect("default");
        assert_eq!(azure, LatencyConfig::default());
        assert_eq!(latency_of("latency: off").expect("off"), LatencyConfig::OFF);
        assert_eq!(latency_of("latency: azure").expect("azure"), azure);
        let d = latency_of("latency: {scale: 2, jitterMs: 0.5, internetRegion: West Europe}").expect("detail");
        assert!(d.enabled);
        assert_eq!((d.scale, d.jitter_ms), (2.0, 0.5));
        assert_eq!(d.internet_region.as_deref(), Some("West Europe"));
        assert!(!latency_of("latency: {mode: off}").expect("off").enabled);
    }

    #[test]
    fn bad_latency_says_what_to_fix() {
        let e = latency_of("latency: {scale: 0}").expect_err("zero scale").to_string();
        assert!(e.contains("latency scale 0 is out of range"), "{e}");
        assert!(latency_of("latency: fast").is_err());
        assert!(latency_of("latency: {scale: 1, speed: 3}").is_err());
        let e = latency_of("latency: {internetRegion: atlantis}")
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("not a region vnetlab knows"), "{e}");
    }
}
