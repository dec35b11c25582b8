//! Load balancers, backend pool membership, Redis caches and private
//! endpoints: validation and change.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::names::{self, NameKind};
use super::ops_identity::keep_location;
use super::{
    AzureError, LbBackendPool, LbFrontend, LbProbe, LbRule, LbSku, LoadBalancer, LoadDistribution, Model,
    PrivateEndpoint, ProbeProtocol, REDIS_TYPE, RedisCache, RedisSku, ResourceId, TransportProtocol, bail,
};

const LB_TYPE: &str = "Microsoft.Network/loadBalancers";
const PE_TYPE: &str = "Microsoft.Network/privateEndpoints";

/// A whole load balancer, as the `az` front and topology files put it:
/// parts refer to each other by name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub sku: LbSku,
    pub frontends: Vec<FrontendSpec>,
    pub backend_pools: Vec<String>,
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    #[serde(default)]
    pub rules: Vec<LbRuleSpec>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendSpec {
    pub name: String,
    pub subnet: ResourceId,
    /// A static address; `None` keeps the one it has or takes a free one.
    pub private_ip_address: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSpec {
    pub name: String,
    pub protocol: ProbeProtocol,
    pub port: u32,
    pub request_path: Option<String>,
    pub interval_in_seconds: Option<u32>,
    pub number_of_probes: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbRuleSpec {
    pub name: String,
    pub frontend: String,
    pub backend_pool: String,
    pub probe: Option<String>,
    pub protocol: TransportProtocol,
    pub frontend_port: u32,
    pub backend_port: u32,
    pub idle_timeout_in_minutes: Option<u32>,
    #[serde(default)]
    pub enable_floating_ip: bool,
    #[serde(default)]
    pub load_distribution: LoadDistribution,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub sku: RedisSku,
    pub vm_size: String,
    pub subnet: Option<ResourceId>,
    pub static_ip: Option<String>,
    pub enable_non_ssl_port: bool,
    pub redis_version: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpointSpec {
    pub id: ResourceId,
    pub location: Option<String>,
    pub subnet: ResourceId,
    pub private_link_service_id: ResourceId,
    pub group_ids: Vec<String>,
    pub connection_name: String,
}

impl LoadBalancer {
    /// The whole load balancer as a spec that refers to its parts by name.
    /// A dynamic frontend passes no address, so the model keeps the one it has.
    /// (The az front and the ARM endpoint change a part on this and put it whole.)
    pub fn spec(&self) -> LoadBalancerSpec {
        let name_of = |id: &ResourceId| id.name().to_string();
        LoadBalancerSpec {
            id: self.id.clone(),
            location: Some(self.location.clone()),
            sku: self.sku,
            frontends: self
                .frontend_ip_configurations
                .iter()
                .map(|f| FrontendSpec {
                    name: f.name.clone(),
                    subnet: f.subnet.clone(),
                    private_ip_address: (f.private_ip_allocation_method == super::IpAllocation::Static)
                        .then(|| f.private_ip_address.to_string()),
                })
                .collect(),
            backend_pools: self.backend_address_pools.iter().map(|p| p.name.clone()).collect(),
            probes: self
                .probes
                .iter()
                .map(|p| ProbeSpec {
                    name: p.name.clone(),
                    protocol: p.protocol,
                    port: p.port.into(),
                    request_path: p.request_path.clone(),
                    interval_in_seconds: Some(p.interval_in_seconds),
                    number_of_probes: Some(p.number_of_probes),
                })
                .collect(),
            rules: self
                .load_balancing_rules
                .iter()
                .map(|r| LbRuleSpec {
                    name: r.name.clone(),
                    frontend: name_of(&r.frontend_ip_configuration),
                    backend_pool: name_of(&r.backend_address_pool),
                    probe: r.probe.as_ref().map(name_of),
                    protocol: r.protocol,
                    frontend_port: r.frontend_port.into(),
                    backend_port: r.backend_port.into(),
                    idle_timeout_in_minutes: Some(r.idle_timeout_in_minutes),
                    enable_floating_ip: false,
                    load_distribution: r.load_distribution,
                })
                .collect(),
        }
    }
}

/// Azure's defaults for a probe that names neither [DOC: 15 s, 2 probes].
pub const DEFAULT_PROBE_INTERVAL: u32 = 15;
pub const DEFAULT_NUMBER_OF_PROBES: u32 = 2;
pub const DEFAULT_IDLE_TIMEOUT: u32 = 4;

fn bad_port(what: &str, port: u32, lb: &ResourceId, min: u32) -> Result<u16, AzureError> {
    if port < min || port > 65535 {
        bail!(
            InvalidParameter,
            "{what} {port} of load balancer {} is out of range. Use a port from {min} to 65535.",
            lb.name()
        );
    }
    Ok(port as u16)
}

impl Model {
    /// The subnet `subnet_id` for resource `by` in `location`: it must
    /// exist in that region and not be a gateway's or Route Server's.
    fn placed_subnet(
        &self,
        subnet_id: &ResourceId,
        by: &ResourceId,
        location: &str,
    ) -> Result<&super::Subnet, AzureError> {
        let Some((vnet, subnet)) = self.subnet(subnet_id) else {
            bail!(
                InvalidResourceReference,
                "Resource {subnet_id} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
            );
        };
        if vnet.location != location {
            bail!(
                InvalidResourceReference,
                "Resource {subnet_id} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region ({} vs {location}).",
                vnet.location
            );
        }
        if subnet.is_gateway_subnet() || subnet.is_route_server_subnet() {
            bail!(
                InvalidParameter,
                "Subnet {} is reserved for its gateway or Route Server and cannot hold {}. Use another subnet.",
                subnet.name,
                by.name()
            );
        }
        Ok(subnet)
    }

    pub(super) fn put_load_balancer(&mut self, spec: LoadBalancerSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "load balancer", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), LB_TYPE)?;
        let existing = self.load_balancers.get(&id).cloned();
        keep_location(
            existing.as_ref().map(|l| l.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        if spec.frontends.is_empty() {
            bail!(
                InvalidParameter,
                "Load balancer {} has no frontend IP configuration. An internal load balancer needs one with a subnet (--vnet-name and --subnet).",
                id.name()
            );
        }

        let mut frontends: Vec<LbFrontend> = Vec::new();
        let mut vnet: Option<ResourceId> = None;
        for f in &spec.frontends {
            names::check(NameKind::NetworkChild, "frontend IP configuration", &f.name)?;
            if frontends.iter().any(|o| o.name.eq_ignore_ascii_case(&f.name)) {
                bail!(
                    InvalidParameter,
                    "Load balancer {} has two frontend IP configurations named {}. Give each a different name.",
                    id.name(),
                    f.name
                );
            }
            let fid = id.child("frontendIPConfigurations", &f.name);
            self.placed_subnet(&f.subnet, &id, &location)?;
            let v = f.subnet.parent();
            if vnet.is_some() && vnet != v {
                bail!(
                    InvalidParameter,
                    "The frontend IP configurations of internal load balancer {} must all be in one virtual network; {} is in {}.",
                    id.name(),
                    f.name,
                    v.as_ref().map_or("", |v| v.name())
                );
            }
            vnet = v;
            let keep = existing
                .as_ref()
                .and_then(|e| {
                    e.frontend_ip_configurations
                        .iter()
                        .find(|o| o.id == fid && o.subnet == f.subnet)
                })
                .map(|o| (o.private_ip_address, o.private_ip_allocation_method));
            let also: Vec<Ipv4Addr> = frontends.iter().map(|o| o.private_ip_address).collect();
            let (ip, allocation) =
                self.allocate_private_ip(&f.subnet, f.private_ip_address.as_deref(), &id, keep, &also)?;
            frontends.push(LbFrontend {
                id: fid,
                name: f.name.clone(),
                subnet: f.subnet.clone(),
                private_ip_address: ip,
                private_ip_allocation_method: allocation,
            });
        }

        let mut pools: Vec<LbBackendPool> = Vec::new();
        for p in &spec.backend_pools {
            names::check(NameKind::NetworkChild, "backend address pool", p)?;
            if pools.iter().any(|o| o.name.eq_ignore_ascii_case(p)) {
                bail!(
                    InvalidParameter,
                    "Load balancer {} has two backend address pools named {p}. Give each a different name.",
                    id.name()
                );
            }
            pools.push(LbBackendPool {
                id: id.child("backendAddressPools", p),
                name: p.clone(),
            });
        }
        // A pool that NICs still use cannot go.
        for old in existing.iter().flat_map(|e| &e.backend_address_pools) {
            if !pools.iter().any(|p| p.id == old.id)
                && let Some(nic) = self
                    .network_interfaces
                    .values()
                    .find(|n| n.load_balancer_backend_address_pools.contains(&old.id))
            {
                bail!(
                    BadRequest,
                    "Backend address pool {} is in use by IP configuration {} and cannot be deleted. Remove the NIC from the pool first (az network nic ip-config address-pool remove).",
                    old.id,
                    nic.ip_configuration_id()
                );
            }
        }

        let mut probes: Vec<LbProbe> = Vec::new();
        for p in &spec.probes {
            names::check(NameKind::NetworkChild, "probe", &p.name)?;
            if probes.iter().any(|o| o.name.eq_ignore_ascii_case(&p.name)) {
                bail!(
                    InvalidParameter,
                    "Load balancer {} has two probes named {}. Give each a different name.",
                    id.name(),
                    p.name
                );
            }
            let port = bad_port("Probe port", p.port, &id, 1)?;
            if p.protocol == ProbeProtocol::Https {
                bail!(
                    InvalidParameter,
                    "Probe {} of load balancer {}: vnetlab does not emulate HTTPS probes (its prober speaks no TLS). Use an Http or Tcp probe.",
                    p.name,
                    id.name()
                );
            }
            let path = match (p.protocol, &p.request_path) {
                (ProbeProtocol::Tcp, Some(_)) => bail!(
                    InvalidParameter,
                    "Probe {} of load balancer {} is a Tcp probe; a request path is allowed only for Http and Https probes. Drop --path.",
                    p.name,
                    id.name()
                ),
                (ProbeProtocol::Tcp, None) => None,
                (_, Some(path)) if path.starts_with('/') => Some(path.clone()),
                (_, _) => bail!(
                    InvalidParameter,
                    "Probe {} of load balancer {} is an {} probe and needs a request path starting with '/' (--path /healthz).",
                    p.name,
                    id.name(),
                    p.protocol.as_str()
                ),
            };
            let interval = p.interval_in_seconds.unwrap_or(DEFAULT_PROBE_INTERVAL);
            if interval < 5 {
                bail!(
                    InvalidParameter,
                    "Probe {} of load balancer {} has an interval of {interval} seconds; the minimum is 5.",
                    p.name,
                    id.name()
                );
            }
            let number = p.number_of_probes.unwrap_or(DEFAULT_NUMBER_OF_PROBES);
            if number < 1 {
                bail!(
                    InvalidParameter,
                    "Probe {} of load balancer {} needs a threshold of at least 1 probe.",
                    p.name,
                    id.name()
                );
            }
            probes.push(LbProbe {
                id: id.child("probes", &p.name),
                name: p.name.clone(),
                protocol: p.protocol,
                port,
                request_path: path,
                interval_in_seconds: interval,
                number_of_probes: number,
            });
        }

        let mut rules: Vec<LbRule> = Vec::new();
        for r in &spec.rules {
            names::check(NameKind::NetworkChild, "load balancing rule", &r.name)?;
            if rules.iter().any(|o| o.name.eq_ignore_ascii_case(&r.name)) {
                bail!(
                    InvalidParameter,
                    "Load balancer {} has two load balancing rules named {}. Give each a different name.",
                    id.name(),
                    r.name
                );
            }
            let Some(fe) = frontends.iter().find(|f| f.name.eq_ignore_ascii_case(&r.frontend)) else {
                bail!(
                    InvalidResourceReference,
                    "Frontend IP configuration {} referenced by rule {} of load balancer {} was not found. Use one of: {}.",
                    r.frontend,
                    r.name,
                    id.name(),
                    frontends.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
                );
            };
            let Some(pool) = pools.iter().find(|p| p.name.eq_ignore_ascii_case(&r.backend_pool)) else {
                bail!(
                    InvalidResourceReference,
                    "Backend address pool {} referenced by rule {} of load balancer {} was not found. Create it first (az network lb address-pool create).",
                    r.backend_pool,
                    r.name,
                    id.name()
                );
            };
            let probe = match &r.probe {
                None => None,
                Some(name) => match probes.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
                    Some(p) => Some(p.id.clone()),
                    None => bail!(
                        InvalidResourceReference,
                        "Probe {name} referenced by rule {} of load balancer {} was not found. Create it first (az network lb probe create).",
                        r.name,
                        id.name()
                    ),
                },
            };
            if r.enable_floating_ip {
                bail!(
                    InvalidParameter,
                    "Rule {} of load balancer {}: floating IP (direct server return) is not emulated by vnetlab; the backend would need the frontend address on its loopback. Leave --floating-ip off.",
                    r.name,
                    id.name()
                );
            }
            let ha_ports = r.protocol == TransportProtocol::All && r.frontend_port == 0 && r.backend_port == 0;
            let (frontend_port, backend_port) = if ha_ports {
                if spec.sku != LbSku::Standard {
                    bail!(
                        InvalidParameter,
                        "Rule {} of load balancer {} is an HA ports rule (protocol All, ports 0), which only a Standard internal load balancer supports. Use --sku Standard, or a Tcp/Udp rule with ports.",
                        r.name,
                        id.name()
                    );
                }
                (0, 0)
            } else {
                if r.protocol == TransportProtocol::All {
                    bail!(
                        InvalidParameter,
                        "Rule {} of load balancer {} has protocol All; that is an HA ports rule and needs --frontend-port 0 --backend-port 0.",
                        r.name,
                        id.name()
                    );
                }
                (
                    bad_port("Frontend port", r.frontend_port, &id, 1)?,
                    bad_port("Backend port", r.backend_port, &id, 1)?,
                )
            };
            let clash = rules.iter().find(|o| {
                o.frontend_ip_configuration == fe.id
                    && (o.protocol == r.protocol
                        || o.protocol == TransportProtocol::All
                        || r.protocol == TransportProtocol::All)
                    && (o.frontend_port == frontend_port || o.frontend_port == 0 || frontend_port == 0)
            });
            if let Some(o) = clash {
                bail!(
                    BadRequest,
                    "Load balancing rules {} and {} of load balancer {} use the same frontend IP configuration {}, protocol and port {frontend_port}. Use another frontend port or frontend.",
                    o.name,
                    r.name,
                    id.name(),
                    fe.name
                );
            }
            let idle = r.idle_timeout_in_minutes.unwrap_or(DEFAULT_IDLE_TIMEOUT);
            if !(4..=100).contains(&idle) {
                bail!(
                    InvalidParameter,
                    "Rule {} of load balancer {} has an idle timeout of {idle} minutes; use 4 to 100.",
                    r.name,
                    id.name()
                );
            }
            rules.push(LbRule {
                id: id.child("loadBalancingRules", &r.name),
                name: r.name.clone(),
                frontend_ip_configuration: fe.id.clone(),
                backend_address_pool: pool.id.clone(),
                probe,
                protocol: r.protocol,
                frontend_port,
                backend_port,
                idle_timeout_in_minutes: idle,
                load_distribution: r.load_distribution,
            });
        }
        if let Some(old) = &existing
            && old.sku != spec.sku
        {
            bail!(
                InvalidParameter,
                "Load balancer {} is {}; Azure does not change a load balancer's SKU in place. Delete it and create a {} one.",
                id.name(),
                old.sku.as_str(),
                spec.sku.as_str()
            );
        }
        // Members stay valid: every NIC in a pool must be in the frontend's VNet.
        if let Some(v) = &vnet
            && let Some(nic) = self.network_interfaces.values().find(|n| {
                pools
                    .iter()
                    .any(|p| n.load_balancer_backend_address_pools.contains(&p.id))
                    && n.subnet.parent().as_ref() != Some(v)
            })
        {
            bail!(
                InvalidParameter,
                "Network interface {} in a backend pool of load balancer {} is not in virtual network {}, where the frontend is. Backends of an internal load balancer must be in its virtual network.",
                nic.name,
                id.name(),
                v.name()
            );
        }
        let lb = LoadBalancer {
            id: id.clone(),
            name: id.name().into(),
            location,
            sku: spec.sku,
            frontend_ip_configurations: frontends,
            backend_address_pools: pools,
            probes,
            load_balancing_rules: rules,
        };
        self.load_balancers.insert(id, lb);
        Ok(())
    }

    pub(super) fn delete_load_balancer(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let Some(lb) = self.load_balancers.get(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        if let Some(nic) = self.network_interfaces.values().find(|n| {
            lb.backend_address_pools
                .iter()
                .any(|p| n.load_balancer_backend_address_pools.contains(&p.id))
        }) {
            bail!(
                BadRequest,
                "Load balancer {} has backend address pools in use by IP configuration {}. Remove the NICs from its pools first (az network nic ip-config address-pool remove).",
                id.name(),
                nic.ip_configuration_id()
            );
        }
        self.load_balancers.remove(id);
        Ok(())
    }

    /// Sets the backend pools a NIC's IP configuration belongs to.
    pub(super) fn set_backend_pools(&mut self, nic_id: &ResourceId, pools: Vec<ResourceId>) -> Result<(), AzureError> {
        let Some(nic) = self.network_interfaces.get(nic_id) else {
            return Err(AzureError::resource_not_found(nic_id));
        };
        let nic_vnet = nic.subnet.parent();
        let mut sku: Option<(LbSku, &LoadBalancer)> = None;
        let mut internal: Vec<&LoadBalancer> = Vec::new();
        for p in &pools {
            let lb = p
                .parent()
                .and_then(|l| self.load_balancers.get(&l))
                .filter(|lb| lb.backend_address_pools.iter().any(|q| q.id == *p));
            let Some(lb) = lb else {
                bail!(
                    InvalidResourceReference,
                    "Resource {p} referenced by resource {} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
                    nic.ip_configuration_id()
                );
            };
            if lb.virtual_network() != nic_vnet {
                bail!(
                    InvalidParameter,
                    "Network interface {} is in virtual network {}, but load balancer {} has its frontend in {}. Backends of an internal load balancer must be in its virtual network.",
                    nic.name,
                    nic_vnet.as_ref().map_or("", |v| v.name()),
                    lb.name,
                    lb.virtual_network().as_ref().map_or("", |v| v.name())
                );
            }
            if let Some((s, other)) = sku
                && s != lb.sku
            {
                bail!(
                    DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed,
                    "Network interface {} cannot be in the backend pools of both {} load balancer {} and {} load balancer {}: Basic and Standard SKU resources cannot be mixed. Use load balancers of one SKU.",
                    nic.name,
                    other.sku.as_str(),
                    other.name,
                    lb.sku.as_str(),
                    lb.name
                );
            }
            let standard_ip = nic
                .public_ip_address
                .as_ref()
                .and_then(|p| self.public_ip_addresses.get(p))
                .is_some_and(|p| p.sku == super::PublicIpSku::Standard);
            if lb.sku == LbSku::Basic && standard_ip {
                bail!(
                    DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed,
                    "Network interface {} has a Standard public IP and cannot be in the backend pool of Basic load balancer {}: Basic and Standard SKU resources cannot be mixed. Remove the public IP, or use a Standard load balancer.",
                    nic.name,
                    lb.name
                );
            }
            if internal.iter().any(|o| o.id == lb.id) {
                bail!(
                    InvalidParameter,
                    "Network interface {} is already in a backend pool of load balancer {}; an IP configuration can be in one pool per load balancer.",
                    nic.name,
                    lb.name
                );
            }
            internal.push(lb);
            sku = Some((lb.sku, lb));
        }
        if let Some(nic) = self.network_interfaces.get_mut(nic_id) {
            nic.load_balancer_backend_address_pools = pools;
        }
        Ok(())
    }

    pub(super) fn put_redis(&mut self, spec: RedisSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::RedisCache, "cache", &id)?;
        let location = self.resolve_location(&id, spec.location.as_deref(), REDIS_TYPE)?;
        let existing = self.redis_caches.get(&id).cloned();
        keep_location(
            existing.as_ref().map(|r| r.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        let family = match spec.sku {
            RedisSku::Premium => 'P',
            RedisSku::Basic | RedisSku::Standard => 'C',
        };
        let size = spec.vm_size.to_ascii_uppercase();
        let valid_size = match family {
            'P' => matches!(size.as_str(), "P1" | "P2" | "P3" | "P4" | "P5"),
            _ => matches!(size.as_str(), "C0" | "C1" | "C2" | "C3" | "C4" | "C5" | "C6"),
        };
        if !valid_size {
            bail!(
                InvalidParameter,
                "VM size '{}' is not valid for the {} SKU. Use {}.",
                spec.vm_size,
                spec.sku.as_str(),
                if family == 'P' { "P1 to P5" } else { "C0 to C6" }
            );
        }
        if let Some(old) = &existing
            && old.subnet != spec.subnet
        {
            bail!(
                InvalidParameter,
                "Cache {} already exists; a cache is placed in a virtual network only when it is created. Delete it and create it again with --subnet-id.",
                id.name()
            );
        }
        let (static_ip, instance_ip) = match &spec.subnet {
            None => {
                if spec.static_ip.is_some() {
                    bail!(
                        InvalidParameter,
                        "--static-ip needs --subnet-id: only a cache injected into a virtual network has a private static IP."
                    );
                }
                (None, None)
            }
            Some(subnet_id) => {
                if spec.sku != RedisSku::Premium {
                    bail!(
                        InvalidParameter,
                        "Virtual network support is available only for Premium caches; cache {} is {}. Use --sku Premium with --vm-size P1 to P5.",
                        id.name(),
                        spec.sku.as_str()
                    );
                }
                let subnet = self.placed_subnet(subnet_id, &id, &location)?;
                // Azure: the subnet must contain only Azure Cache for Redis instances.
                if let Some(other) = self
                    .subnet_users(subnet_id)
                    .into_iter()
                    .find(|u| !u.is_within(id.as_str()) && !u.resource_type().eq_ignore_ascii_case(REDIS_TYPE))
                {
                    bail!(
                        InvalidParameter,
                        "Subnet {} is used by {other}. A cache injected into a virtual network needs a subnet that holds only Azure Cache for Redis instances.",
                        subnet.name
                    );
                }
                let keep = existing
                    .as_ref()
                    .and_then(|e| e.static_ip)
                    .map(|ip| (ip, super::IpAllocation::Static));
                let (frontend, _) = self.allocate_private_ip(subnet_id, spec.static_ip.as_deref(), &id, keep, &[])?;
                let keep = existing
                    .as_ref()
                    .and_then(|e| e.instance_ip)
                    .map(|ip| (ip, super::IpAllocation::Dynamic));
                let (instance, _) = self.allocate_private_ip(
                    subnet_id,
                    None,
                    &id,
                    keep.filter(|(ip, _)| *ip != frontend),
                    &[frontend],
                )?;
                (Some(frontend), Some(instance))
            }
        };
        let (primary_key, secondary_key) = match &existing {
            Some(e) => (e.primary_key.clone(), e.secondary_key.clone()),
            None => (access_key(&id, "primary"), access_key(&id, "secondary")),
        };
        let cache = RedisCache {
            id: id.clone(),
            name: id.name().into(),
            location,
            sku: spec.sku,
            vm_size: size,
            subnet: spec.subnet,
            static_ip,
            instance_ip,
            enable_non_ssl_port: spec.enable_non_ssl_port,
            primary_key,
            secondary_key,
            redis_version: spec.redis_version.unwrap_or_else(|| "6.0".into()),
        };
        self.redis_caches.insert(id, cache);
        Ok(())
    }

    pub(super) fn delete_redis(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.redis_caches.remove(id).is_none() {
            return Err(AzureError::resource_not_found(id));
        }
        // Azure: the endpoints stay, their connection now Disconnected; in
        // vnetlab they simply lead nowhere until removed.
        Ok(())
    }

    pub(super) fn put_private_endpoint(&mut self, spec: PrivateEndpointSpec) -> Result<(), AzureError> {
        let id = spec.id;
        names::check_id(NameKind::NetworkChild, "private endpoint", &id)?;
        names::check(
            NameKind::NetworkChild,
            "private link service connection",
            &spec.connection_name,
        )?;
        let location = self.resolve_location(&id, spec.location.as_deref(), PE_TYPE)?;
        let existing = self.private_endpoints.get(&id).cloned();
        keep_location(
            existing.as_ref().map(|r| r.location.as_str()),
            id.name(),
            id.resource_group_name(),
            &location,
        )?;
        self.placed_subnet(&spec.subnet, &id, &location)?;
        let target = &spec.private_link_service_id;
        if !target.resource_type().eq_ignore_ascii_case(REDIS_TYPE) {
            bail!(
                InvalidParameter,
                "Private link resource {target} is of type {}; vnetlab emulates private endpoints for Azure Cache for Redis ({REDIS_TYPE}, group ID redisCache).",
                target.resource_type()
            );
        }
        let Some(cache) = self.redis_caches.get(target) else {
            bail!(
                InvalidResourceReference,
                "Resource {target} referenced by resource {id} was not found. Please make sure that the referenced resource exists (az redis create)."
            );
        };
        if spec.group_ids.len() != 1 || !spec.group_ids[0].eq_ignore_ascii_case("redisCache") {
            bail!(
                InvalidParameter,
                "Group ID(s) {} are not valid for private link resource {}. Azure Cache for Redis has one group ID: redisCache.",
                spec.group_ids.join(", "),
                cache.name
            );
        }
        // Azure: "Private endpoints can't be used with your cache instance
        // if your cache is already a VNet injected cache."
        if cache.subnet.is_some() {
            bail!(
                InvalidParameter,
                "Cache {} is injected into a virtual network; private endpoints can't be used with a VNet-injected cache. Create a cache without --subnet-id for private endpoints, or reach this one through peering or a VPN connection.",
                cache.name
            );
        }
        let keep = existing
            .as_ref()
            .filter(|e| e.subnet == spec.subnet)
            .map(|e| (e.private_ip_address, super::IpAllocation::Dynamic));
        let (ip, _) = self.allocate_private_ip(&spec.subnet, None, &id, keep, &[])?;
        let pe = PrivateEndpoint {
            id: id.clone(),
            name: id.name().into(),
            location,
            subnet: spec.subnet,
            private_ip_address: ip,
            private_link_service_id: target.clone(),
            group_ids: vec!["redisCache".into()],
            connection_name: spec.connection_name,
            dns_zone_groups: existing.map(|e| e.dns_zone_groups).unwrap_or_default(),
        };
        self.private_endpoints.insert(id, pe);
        Ok(())
    }

    pub(super) fn delete_private_endpoint(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        let Some(pe) = self.private_endpoints.get(id) else {
            return Err(AzureError::resource_not_found(id));
        };
        // Azure: the endpoint's zone group, and so its DNS records, go with it.
        for g in pe.dns_zone_groups.iter().map(|g| g.id.clone()).collect::<Vec<_>>() {
            self.delete_private_dns_zone_group(&g)?;
        }
        self.private_endpoints.remove(id);
        Ok(())
    }

    /// The private endpoint whose NIC (`<pe>.nic.<guid>`) `nic` is.
    pub fn private_endpoint_of_nic(&self, nic: &ResourceId) -> Option<&PrivateEndpoint> {
        if !nic.name().contains(".nic.") {
            return None;
        }
        self.private_endpoints.values().find(|pe| pe.nic_id() == *nic)
    }

    /// Refuses a change or delete of a private endpoint's NIC: the endpoint
    /// owns it, whichever front asks.
    // Azure: the NIC is read-only, made and removed with its endpoint
    // (Learn "What is a private endpoint?"); changing it is refused with
    // CannotModifyNicAttachedToPrivateEndpoint (Azure/azure-sdk-for-python #18911).
    pub fn refuse_private_endpoint_nic(&self, nic: &ResourceId) -> Result<(), AzureError> {
        match self.private_endpoint_of_nic(nic) {
            Some(pe) => bail!(
                CannotModifyNicAttachedToPrivateEndpoint,
                "Network interface {nic} is attached to private endpoint {}. It can not be modified by user. Change or delete the private endpoint instead (az network private-endpoint).",
                pe.id
            ),
            None => Ok(()),
        }
    }
}

/// A cache access key: 44 characters of base64 like Azure's, derived from
/// the cache's ID so that a lab is reproducible.
fn access_key(id: &ResourceId, which: &str) -> String {
    use std::hash::{Hash, Hasher};
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(44);
    let mut round = 0u64;
    while out.len() < 43 {
        let mut h = rustc_hash::FxHasher::default();
        (id.as_str().to_ascii_lowercase(), which, round).hash(&mut h);
        let mut x = h.finish();
        for _ in 0..10 {
            out.push(B64[(x & 63) as usize] as char);
            x >>= 6;
        }
        round += 1;
    }
    out.truncate(43);
    out.push('=');
    out
}
