//! Internal load balancers, Azure Cache for Redis and private endpoints
//! (azure-semantics §4.3, §12.3).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::IpAllocation;
use super::ids::ResourceId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LbSku {
    Basic,
    Standard,
}

impl LbSku {
    pub fn as_str(self) -> &'static str {
        match self {
            LbSku::Basic => "Basic",
            LbSku::Standard => "Standard",
        }
    }
}

/// A load-balancing rule's protocol. `All` with ports 0 is an HA-ports
/// rule (Standard internal load balancers only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransportProtocol {
    Tcp,
    Udp,
    All,
}

impl TransportProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportProtocol::Tcp => "Tcp",
            TransportProtocol::Udp => "Udp",
            TransportProtocol::All => "All",
        }
    }

    /// The value named `s`, in any case (ARM, az and topology files spell
    /// them as [`Self::as_str`] does; ARM takes any case).
    pub fn parse(s: &str) -> Option<Self> {
        [TransportProtocol::Tcp, TransportProtocol::Udp, TransportProtocol::All]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether a packet of IP protocol `proto` falls under the rule.
    pub fn matches(self, proto: u8) -> bool {
        match self {
            TransportProtocol::Tcp => proto == 6,
            TransportProtocol::Udp => proto == 17,
            TransportProtocol::All => matches!(proto, 6 | 17),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeProtocol {
    Tcp,
    Http,
    Https,
}

impl ProbeProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeProtocol::Tcp => "Tcp",
            ProbeProtocol::Http => "Http",
            ProbeProtocol::Https => "Https",
        }
    }

    /// The value named `s`, in any case (ARM, az and topology files spell
    /// them as [`Self::as_str`] does; ARM takes any case).
    pub fn parse(s: &str) -> Option<Self> {
        [ProbeProtocol::Tcp, ProbeProtocol::Http, ProbeProtocol::Https]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

/// Which fields of a flow pick its backend. `Default` is the 5-tuple.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadDistribution {
    #[default]
    Default,
    #[serde(rename = "SourceIP")]
    SourceIp,
    #[serde(rename = "SourceIPProtocol")]
    SourceIpProtocol,
}

impl LoadDistribution {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadDistribution::Default => "Default",
            LoadDistribution::SourceIp => "SourceIP",
            LoadDistribution::SourceIpProtocol => "SourceIPProtocol",
        }
    }

    /// The value named `s`, in any case (ARM, az and topology files spell
    /// them as [`Self::as_str`] does; ARM takes any case).
    pub fn parse(s: &str) -> Option<Self> {
        [
            LoadDistribution::Default,
            LoadDistribution::SourceIp,
            LoadDistribution::SourceIpProtocol,
        ]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub sku: LbSku,
    pub frontend_ip_configurations: Vec<LbFrontend>,
    pub backend_address_pools: Vec<LbBackendPool>,
    pub probes: Vec<LbProbe>,
    pub load_balancing_rules: Vec<LbRule>,
}

impl LoadBalancer {
    /// The VNet its frontends are in (every frontend is in the same one).
    pub fn virtual_network(&self) -> Option<ResourceId> {
        self.frontend_ip_configurations.first()?.subnet.parent()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbFrontend {
    pub id: ResourceId,
    pub name: String,
    pub subnet: ResourceId,
    pub private_ip_address: Ipv4Addr,
    pub private_ip_allocation_method: IpAllocation,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbBackendPool {
    pub id: ResourceId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbProbe {
    pub id: ResourceId,
    pub name: String,
    pub protocol: ProbeProtocol,
    pub port: u16,
    /// HTTP(S) probes only: the path asked for; 200 means healthy.
    pub request_path: Option<String>,
    pub interval_in_seconds: u32,
    /// Consecutive failures (and successes) that flip a backend's state.
    pub number_of_probes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LbRule {
    pub id: ResourceId,
    pub name: String,
    pub frontend_ip_configuration: ResourceId,
    pub backend_address_pool: ResourceId,
    pub probe: Option<ResourceId>,
    pub protocol: TransportProtocol,
    pub frontend_port: u16,
    pub backend_port: u16,
    pub idle_timeout_in_minutes: u32,
    pub load_distribution: LoadDistribution,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedisSku {
    Basic,
    Standard,
    Premium,
}

impl RedisSku {
    pub fn as_str(self) -> &'static str {
        match self {
            RedisSku::Basic => "Basic",
            RedisSku::Standard => "Standard",
            RedisSku::Premium => "Premium",
        }
    }
}

/// The ports Azure Cache for Redis listens on.
pub const REDIS_PORT: u16 = 6379;
pub const REDIS_SSL_PORT: u16 = 6380;

/// An Azure Cache for Redis. Injected into a subnet (Premium), it sits
/// behind an internal Basic load balancer whose frontend is its static IP,
/// as Azure builds it; otherwise it is reachable only through private
/// endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisCache {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub sku: RedisSku,
    /// `C0`..`C6` or `P1`..`P5`, as `az redis create --vm-size` takes it.
    pub vm_size: String,
    pub subnet: Option<ResourceId>,
    /// The internal load balancer's frontend (injected caches only).
    pub static_ip: Option<Ipv4Addr>,
    /// The cache instance's own address in the subnet (injected only).
    pub instance_ip: Option<Ipv4Addr>,
    pub enable_non_ssl_port: bool,
    pub primary_key: String,
    pub secondary_key: String,
    pub redis_version: String,
}

impl RedisCache {
    pub fn host_name(&self) -> String {
        format!("{}.redis.cache.windows.net", self.name)
    }

    /// The ports the cache answers on: TLS always, plain only if enabled.
    pub fn ports(&self) -> Vec<u16> {
        if self.enable_non_ssl_port {
            vec![REDIS_SSL_PORT, REDIS_PORT]
        } else {
            vec![REDIS_SSL_PORT]
        }
    }
}

/// A private endpoint: an address in a subnet that leads to one service
/// over Azure's backbone, in any region, whatever peering says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpoint {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub subnet: ResourceId,
    pub private_ip_address: Ipv4Addr,
    pub private_link_service_id: ResourceId,
    pub group_ids: Vec<String>,
    pub connection_name: String,
    /// At most one group (`privateDnsZoneGroups`); it keeps the endpoint's
    /// A record in its `privatelink.*` zones (docs/dns.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_zone_groups: Vec<super::dns::PrivateDnsZoneGroup>,
}

impl PrivateEndpoint {
    /// The NIC Azure makes for the endpoint, in the endpoint's group.
    // Azure: a private endpoint's read-only NIC is named `<name>.nic.<guid>`
    // (Learn "What is a private endpoint?": a network interface is created
    // for the lifecycle of the resource); its IP configuration is
    // `privateEndpointIpConfig.<guid>` (exported templates of such NICs).
    pub fn nic_id(&self) -> ResourceId {
        let name = format!("{}.nic.{}", self.name, self.id.stable_guid("nic"));
        ResourceId::network(
            self.id.subscription_id(),
            self.id.resource_group_name(),
            "networkInterfaces",
            &name,
        )
    }

    /// The target cache's host name, which the endpoint's address stands for.
    pub fn target_fqdn(&self) -> String {
        format!("{}.redis.cache.windows.net", self.private_link_service_id.name())
    }

    pub fn nic_ip_configuration_id(&self) -> ResourceId {
        let name = format!("privateEndpointIpConfig.{}", self.id.stable_guid("ipconfig"));
        self.nic_id().child("ipConfigurations", &name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_unknown_ones_do_not() {
        assert_eq!(ProbeProtocol::parse("https"), Some(ProbeProtocol::Https));
        assert_eq!(TransportProtocol::parse("ALL"), Some(TransportProtocol::All));
        assert_eq!(
            LoadDistribution::parse("sourceipprotocol"),
            Some(LoadDistribution::SourceIpProtocol)
        );
        assert_eq!(ProbeProtocol::parse("Icmp"), None);
        assert_eq!(TransportProtocol::parse(""), None);
        assert_eq!(LoadDistribution::parse("SourceIPPort"), None);
    }
}
