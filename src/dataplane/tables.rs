//! The compiled snapshot the verdict function reads.
//!
//! `Tables::compile` turns the model into index-based tables: per subnet
//! its effective routes and LPM, per NIC its address and NSGs, per VNet
//! its peering links, per gateway its forwarding context. A snapshot is
//! never changed; a model change compiles a new one with the next
//! generation number and the data plane swaps it in whole.

use std::hash::{Hash, Hasher};
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use rustc_hash::{FxHashMap, FxHasher};

use crate::model::latency::LatencyConfig;
use crate::model::{
    LbSku, LoadDistribution, Model, PeeringState, ProbeProtocol, PublicIpSku, REDIS_PORT, ResourceId,
    TransportProtocol, regions,
};
use crate::nsg::CompiledNsg;
use crate::routing::{self, EffectiveRoute, Hop, NoGateway};

use super::delay::{Delays, RegionNames};
use super::index::{
    ConnIdx, EndpointIdx, FrontendIdx, Idx, IdxVec, LbIdx, LbRuleIdx, LinkIdx, NicIdx, NsgIdx, PoolIdx, ProbeIdx,
    RouteIdx, ServiceIdx, SubnetIdx, VnetIdx,
};

const DEFAULT_FLOW_TIMEOUT: Duration = Duration::from_secs(4 * 60);

/// A route's hop with every reference turned into an index.
#[derive(Clone, Debug)]
pub enum CHop {
    VnetLocal { vnet: VnetIdx },
    Peering { vnet: VnetIdx, link: LinkIdx },
    Internet,
    Drop,
    Appliance { ips: Box<[Ipv4Addr]> },
    Gateway { vnet: VnetIdx },
    NoGateway(NoGateway),
    Site { connection: ConnIdx },
    Vnet2Vnet { connection: ConnIdx, vnet: VnetIdx },
    InterfaceEndpoint { endpoint: EndpointIdx },
}

#[derive(Clone, Debug)]
pub struct NicEntry {
    pub id: ResourceId,
    /// Stable across snapshots: connection tracking is keyed by it.
    pub key: u64,
    /// Whose flow limit its new flows count against: its VM's stable key
    /// (Azure's limit is per VM, over all its NICs), else its own `key`.
    pub flow_owner: u64,
    pub name: String,
    pub vm: Option<String>,
    pub ip: Ipv4Addr,
    pub subnet: SubnetIdx,
    pub ip_forwarding: bool,
    /// The NIC's own NSG, compiled in its subnet's context.
    pub nsg: Option<NsgIdx>,
    pub public_ip: Option<(Ipv4Addr, PublicIpSku)>,
    /// Attached to a running VM: only then does it send or answer.
    pub running: bool,
    /// Idle timeout of its tracked flows: its VNet's flow timeout.
    pub flow_timeout: Duration,
    /// In a load balancer's backend pool: only then can it send the
    /// answer of a translated flow, which the verdict looks up.
    pub lb_backend: bool,
}

impl NicEntry {
    /// A managed service's instance on the fabric (a cache, a Route
    /// Server's speaker): not a VM, so nothing logs in; always running,
    /// with no NSG, public IP or forwarding of its own.
    fn instance(
        id: ResourceId,
        key: u64,
        name: String,
        ip: Ipv4Addr,
        subnet: SubnetIdx,
        flow_timeout: Duration,
    ) -> NicEntry {
        NicEntry {
            id,
            key,
            flow_owner: key,
            name,
            vm: None,
            ip,
            subnet,
            ip_forwarding: false,
            nsg: None,
            public_ip: None,
            running: true,
            flow_timeout,
            lb_backend: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SubnetEntry {
    pub id: ResourceId,
    pub vnet: VnetIdx,
    pub prefix: Ipv4Net,
    /// Rows as printed; `hops[i]` belongs to `routes[i]`.
    pub routes: IdxVec<RouteIdx, EffectiveRoute>,
    pub hops: IdxVec<RouteIdx, CHop>,
    /// Destination → the Active row that wins.
    pub lpm: routing::Lpm<RouteIdx>,
    pub nsg: Option<NsgIdx>,
    pub vnet_tag: Vec<Ipv4Net>,
    pub default_outbound_access: bool,
}

#[derive(Clone, Debug)]
pub struct LinkEntry {
    pub id: ResourceId,
    pub remote: Option<VnetIdx>,
    /// The remote VNet's link pointing back here (in its `links`); it
    /// decides whether forwarded traffic may enter over this peering.
    pub back: Option<LinkIdx>,
    pub state: PeeringState,
    pub allow_virtual_network_access: bool,
    pub allow_forwarded_traffic: bool,
    pub remote_address_space: Vec<Ipv4Net>,
}

#[derive(Clone, Debug)]
pub struct VnetEntry {
    pub id: ResourceId,
    pub name: String,
    pub location: String,
    pub address_prefixes: Vec<Ipv4Net>,
    pub links: IdxVec<LinkIdx, LinkEntry>,
    pub flow_timeout: Duration,
    /// Forwarding context of the VPN gateway or Route Server in this VNet.
    pub gateway: Option<GatewayEntry>,
    /// Why no gateway serves this VNet, for explanations.
    pub no_gateway: Option<routing::NoGateway>,
}

impl LinkEntry {
    pub fn connected(&self) -> bool {
        self.state == PeeringState::Connected
    }
}

impl VnetEntry {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.address_prefixes.iter().any(|p| p.contains(&ip))
    }
}

#[derive(Clone, Debug)]
pub struct GatewayEntry {
    pub routes: IdxVec<RouteIdx, (Ipv4Net, CHop)>,
    pub lpm: routing::Lpm<RouteIdx>,
}

#[derive(Clone, Debug)]
pub struct ConnectionEntry {
    pub id: ResourceId,
    pub name: String,
    /// The VNet of the gateway the connection belongs to.
    pub vnet: Option<VnetIdx>,
    /// The local network gateway (site) at the other end, for IPsec.
    pub site: Option<ResourceId>,
    /// The site's address prefixes.
    pub site_prefixes: Vec<Ipv4Net>,
}

/// An internal load balancer (or the one Azure puts in front of a cache
/// injected into a VNet).
#[derive(Clone, Debug)]
pub struct LbEntry {
    pub id: ResourceId,
    pub name: String,
    /// Stable across snapshots: backend health is keyed by it.
    pub key: u64,
    pub sku: LbSku,
    pub vnet: VnetIdx,
    /// The cache this load balancer fronts, if Azure made it for one.
    pub cache: Option<String>,
    pub frontends: IdxVec<FrontendIdx, (String, Ipv4Addr)>,
    pub pools: IdxVec<PoolIdx, (String, Vec<NicIdx>)>,
    pub probes: IdxVec<ProbeIdx, ProbeEntry>,
    pub rules: IdxVec<LbRuleIdx, LbRuleEntry>,
}

#[derive(Clone, Debug)]
pub struct LbRuleEntry {
    pub name: String,
    pub frontend: FrontendIdx,
    pub pool: PoolIdx,
    pub probe: Option<ProbeIdx>,
    pub protocol: TransportProtocol,
    /// 0 with protocol All: an HA-ports rule, every port as it came.
    pub frontend_port: u16,
    pub backend_port: u16,
    pub idle_timeout: Duration,
    pub distribution: LoadDistribution,
}

impl LbRuleEntry {
    pub fn matches(&self, frontend: FrontendIdx, proto: u8, dport: Option<u16>) -> bool {
        self.frontend == frontend
            && self.protocol.matches(proto)
            && (self.frontend_port == 0 || dport == Some(self.frontend_port))
    }
}

#[derive(Clone, Debug)]
pub struct ProbeEntry {
    pub name: String,
    pub protocol: ProbeProtocol,
    pub port: u16,
    pub path: Option<String>,
    pub interval: Duration,
    pub threshold: u32,
}

/// A private endpoint and the service it leads to.
#[derive(Clone, Debug)]
pub struct EndpointEntry {
    pub id: ResourceId,
    pub name: String,
    pub ip: Ipv4Addr,
    pub vnet: VnetIdx,
    /// `None` once the service is gone.
    pub service: Option<ServiceIdx>,
}

/// A PaaS instance outside every VNet (a cache that is not injected),
/// reachable only through private endpoints.
#[derive(Clone, Debug)]
pub struct ServiceEntry {
    pub id: ResourceId,
    pub name: String,
    pub key: u64,
}

/// The address every service instance has on its own side of the fabric
/// (RFC 5737 TEST-NET-2): each sits behind its own port, so they can share
/// it, and it never meets a VNet's addresses.
pub const SERVICE_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

/// Health probes come from 168.63.129.16 in a namespace of their own; each
/// NIC is reached there at `PROBE_ALIAS_BASE + its index`, because NICs of
/// VNets that are not peered may share addresses.
pub const PROBE_ALIAS_BASE: Ipv4Addr = Ipv4Addr::new(100, 64, 0, 1);
pub const PROBE_ALIAS_NET: &str = "100.64.0.0/10";

/// The stable key of the NIC Azure gives a cache's instance.
pub fn cache_instance_key(cache: &ResourceId) -> u64 {
    stable_key(&cache.child("instances", "0"))
}

/// (VNet, frontend address) → (load balancer, frontend).
type FrontendMap = FxHashMap<(VnetIdx, u32), (LbIdx, FrontendIdx)>;

/// An immutable, compiled view of one model generation.
#[derive(Clone, Debug)]
pub struct Tables {
    pub generation: u64,
    pub nics: IdxVec<NicIdx, NicEntry>,
    pub subnets: IdxVec<SubnetIdx, SubnetEntry>,
    pub vnets: IdxVec<VnetIdx, VnetEntry>,
    pub nsgs: IdxVec<NsgIdx, CompiledNsg>,
    pub connections: IdxVec<ConnIdx, ConnectionEntry>,
    pub lbs: IdxVec<LbIdx, LbEntry>,
    pub endpoints: IdxVec<EndpointIdx, EndpointEntry>,
    pub services: IdxVec<ServiceIdx, ServiceEntry>,
    frontends: FrontendMap,
    nic_keys: FxHashMap<u64, NicIdx>,
    /// (VNet, private address) → NIC. VNets that are not peered may reuse
    /// the same ranges, so the VNet is part of the key.
    hosts: FxHashMap<(VnetIdx, u32), NicIdx>,
    public_ips: FxHashMap<u32, NicIdx>,
    /// AKS clusters' pod routing domains (Azure CNI Overlay).
    pub overlay: super::overlay::Overlay,
    /// The regions of every end of a path, and the delay between them.
    pub delays: super::delay::Delays,
}

/// Compiles each NSG once per subnet context it is used in (the subnet's
/// own NSG and its NICs' NSGs share that context).
#[derive(Default)]
struct NsgCompiler {
    compiled: IdxVec<NsgIdx, CompiledNsg>,
    index: FxHashMap<(ResourceId, SubnetIdx), NsgIdx>,
}

impl NsgCompiler {
    fn get(
        &mut self,
        model: &Model,
        id: Option<&ResourceId>,
        subnet: SubnetIdx,
        vnet_tag: &[Ipv4Net],
        own_ranges: &[Ipv4Net],
    ) -> Option<NsgIdx> {
        let id = id?;
        let nsg = model.network_security_groups.get(id)?;
        let compiled = &mut self.compiled;
        Some(
            *self
                .index
                .entry((id.clone(), subnet))
                .or_insert_with(|| compiled.push(CompiledNsg::compile(nsg, vnet_tag, own_ranges))),
        )
    }
}

pub fn stable_key(id: &ResourceId) -> u64 {
    let mut h = FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

impl Tables {
    /// The snapshot with Azure's inter-region delays (the lab default).
    pub fn compile(model: &Model, generation: u64) -> Tables {
        Self::compile_with(model, generation, &LatencyConfig::default())
    }

    /// The snapshot, with the delays of `latency` between regions.
    pub fn compile_with(model: &Model, generation: u64, latency: &LatencyConfig) -> Tables {
        let vnet_idx: FxHashMap<&ResourceId, VnetIdx> = model
            .virtual_networks
            .keys()
            .enumerate()
            .map(|(i, id)| (id, VnetIdx::from_usize(i)))
            .collect();
        let conn_idx: FxHashMap<&ResourceId, ConnIdx> = model
            .connections
            .keys()
            .enumerate()
            .map(|(i, id)| (id, ConnIdx::from_usize(i)))
            .collect();
        let mut nsgs = NsgCompiler::default();

        let compile_hop = |vnet: VnetIdx, hop: &Hop| -> CHop {
            match hop {
                Hop::VnetLocal { vnet: v } => CHop::VnetLocal {
                    vnet: vnet_idx.get(v).copied().unwrap_or(vnet),
                },
                Hop::Peering { vnet: r, link, .. } => {
                    let owner = link.parent().and_then(|p| model.virtual_networks.get(&p));
                    let l = LinkIdx::from_usize(
                        owner
                            .and_then(|o| o.peerings.iter().position(|p| &p.id == link))
                            .unwrap_or(0),
                    );
                    match vnet_idx.get(r) {
                        Some(r) => CHop::Peering { vnet: *r, link: l },
                        None => CHop::Drop,
                    }
                }
                Hop::Internet => CHop::Internet,
                Hop::Drop => CHop::Drop,
                Hop::Appliance { ips } => CHop::Appliance {
                    ips: ips.clone().into_boxed_slice(),
                },
                Hop::Gateway(g) => match vnet_idx.get(&g.vnet) {
                    Some(v) => CHop::Gateway { vnet: *v },
                    None => CHop::NoGateway(NoGateway::None),
                },
                Hop::NoGateway(why) => CHop::NoGateway(why.clone()),
                Hop::Site { connection } => conn_idx
                    .get(connection)
                    .map_or(CHop::Drop, |c| CHop::Site { connection: *c }),
                Hop::Vnet2Vnet { connection, vnet: v } => match (conn_idx.get(connection), vnet_idx.get(v)) {
                    (Some(c), Some(v)) => CHop::Vnet2Vnet {
                        connection: *c,
                        vnet: *v,
                    },
                    _ => CHop::Drop,
                },
                Hop::InterfaceEndpoint { endpoint } => match model.private_endpoints.keys().position(|k| k == endpoint)
                {
                    Some(e) => CHop::InterfaceEndpoint {
                        endpoint: EndpointIdx::from_usize(e),
                    },
                    None => CHop::Drop,
                },
            }
        };

        let mut vnets: IdxVec<VnetIdx, VnetEntry> = IdxVec::with_capacity(model.virtual_networks.len());
        for v in model.virtual_networks.values() {
            let i = vnets.next_idx();
            let links = v
                .peerings
                .iter()
                .map(|p| LinkEntry {
                    id: p.id.clone(),
                    remote: vnet_idx.get(&p.remote_virtual_network).copied(),
                    back: model
                        .virtual_networks
                        .get(&p.remote_virtual_network)
                        .and_then(|r| r.peerings.iter().position(|q| q.remote_virtual_network == v.id))
                        .map(LinkIdx::from_usize),
                    state: model.peering_state(&v.id, p),
                    allow_virtual_network_access: p.allow_virtual_network_access,
                    allow_forwarded_traffic: p.allow_forwarded_traffic,
                    remote_address_space: p.remote_address_space.clone(),
                })
                .collect();
            let gateway = model.has_gateway(&v.id).then(|| {
                let routes: IdxVec<RouteIdx, (Ipv4Net, CHop)> = routing::gateway_context(model, &v.id)
                    .iter()
                    .map(|(p, h)| (*p, compile_hop(i, h)))
                    .collect();
                let mut lpm = routing::Lpm::new();
                for (j, (p, _)) in routes.iter_enumerated() {
                    lpm.insert(*p, j);
                }
                GatewayEntry { routes, lpm }
            });
            vnets.push(VnetEntry {
                id: v.id.clone(),
                name: v.name.clone(),
                location: regions::normalize(&v.location),
                address_prefixes: v.address_prefixes.clone(),
                links,
                flow_timeout: v
                    .flow_timeout_in_minutes
                    .map_or(DEFAULT_FLOW_TIMEOUT, |m| Duration::from_secs(u64::from(m) * 60)),
                gateway,
                no_gateway: routing::serving_gateway(model, &v.id).err(),
            });
        }

        let mut subnets: IdxVec<SubnetIdx, SubnetEntry> = IdxVec::new();
        let mut subnet_idx: FxHashMap<ResourceId, SubnetIdx> = FxHashMap::default();
        for (vi, v) in model.virtual_networks.values().enumerate() {
            let vi = VnetIdx::from_usize(vi);
            for s in &v.subnets {
                let si = subnets.next_idx();
                subnet_idx.insert(s.id.clone(), si);
                let routes: IdxVec<RouteIdx, EffectiveRoute> = routing::effective_routes(model, &s.id).into();
                let hops = routes.iter().map(|r| compile_hop(vi, &r.hop)).collect();
                let mut lpm = routing::Lpm::new();
                for (j, r) in routes
                    .iter_enumerated()
                    .filter(|(_, r)| r.state == routing::RouteState::Active)
                {
                    lpm.insert(r.address_prefix, j);
                }
                let vnet_tag = routing::virtual_network_tag(model, &s.id, routes.as_slice());
                let nsg = nsgs.get(
                    model,
                    s.network_security_group.as_ref(),
                    si,
                    &vnet_tag,
                    &v.address_prefixes,
                );
                subnets.push(SubnetEntry {
                    id: s.id.clone(),
                    vnet: vi,
                    prefix: s.address_prefix,
                    routes,
                    hops,
                    lpm,
                    nsg,
                    vnet_tag,
                    default_outbound_access: s.default_outbound_access,
                });
            }
        }

        let mut nics: IdxVec<NicIdx, NicEntry> = IdxVec::new();
        let mut hosts = FxHashMap::default();
        let mut public_ips = FxHashMap::default();
        for n in model.network_interfaces.values() {
            let Some(&si) = subnet_idx.get(&n.subnet) else { continue };
            let subnet = &subnets[si];
            let vnet = &vnets[subnet.vnet];
            let nsg = nsgs.get(
                model,
                n.network_security_group.as_ref(),
                si,
                &subnet.vnet_tag,
                &vnet.address_prefixes,
            );
            let vm = n.virtual_machine.as_ref().and_then(|v| model.virtual_machines.get(v));
            let public_ip = n
                .public_ip_address
                .as_ref()
                .and_then(|p| model.public_ip_addresses.get(p))
                .map(|p| (p.ip_address, p.sku));
            let idx = nics.next_idx();
            hosts.insert((subnet.vnet, u32::from(n.private_ip_address)), idx);
            if let Some((ip, _)) = public_ip {
                public_ips.insert(u32::from(ip), idx);
            }
            nics.push(NicEntry {
                id: n.id.clone(),
                key: stable_key(&n.id),
                flow_owner: n.virtual_machine.as_ref().map_or_else(|| stable_key(&n.id), stable_key),
                name: n.name.clone(),
                vm: vm.map(|v| v.name.clone()),
                ip: n.private_ip_address,
                subnet: si,
                ip_forwarding: n.enable_ip_forwarding,
                nsg,
                public_ip,
                running: vm.is_some_and(|v| v.power_state == crate::model::PowerState::Running),
                flow_timeout: vnet.flow_timeout,
                lb_backend: false,
            });
        }
        // A cache injected into a subnet: Azure's instance has an address
        // there, like a VM's NIC.
        for r in model.redis_caches.values() {
            let (Some(subnet_id), Some(ip)) = (&r.subnet, r.instance_ip) else {
                continue;
            };
            let Some(&si) = subnet_idx.get(subnet_id) else { continue };
            let subnet = &subnets[si];
            let idx = nics.next_idx();
            hosts.insert((subnet.vnet, u32::from(ip)), idx);
            nics.push(NicEntry::instance(
                r.id.clone(),
                cache_instance_key(&r.id),
                format!("{}-instance", r.name),
                ip,
                si,
                vnets[subnet.vnet].flow_timeout,
            ));
        }
        // Route Server's two instances hold .4 and .5 of RouteServerSubnet,
        // where NVAs open their BGP sessions; the subnet takes no NSG (§3.1).
        for rs in model.route_servers.values() {
            let Some(&si) = subnet_idx.get(&rs.hosted_subnet) else {
                continue;
            };
            for (i, ip) in model.route_server_ips(rs).into_iter().enumerate() {
                let subnet = &subnets[si];
                let id = rs.instance_id(i);
                hosts.insert((subnet.vnet, u32::from(ip)), nics.next_idx());
                let key = stable_key(&id);
                let name = format!("{}-instance{i}", rs.name);
                nics.push(NicEntry::instance(
                    id,
                    key,
                    name,
                    ip,
                    si,
                    vnets[subnet.vnet].flow_timeout,
                ));
            }
        }
        let nic_keys: FxHashMap<u64, NicIdx> = nics.iter_enumerated().map(|(i, n)| (n.key, i)).collect();
        let (lbs, frontends) = compile_lbs(model, &subnet_idx, &subnets, &nic_keys);
        for &m in lbs
            .iter()
            .flat_map(|lb| lb.pools.iter().flat_map(|(_, members)| members))
        {
            nics[m].lb_backend = true;
        }
        let services: IdxVec<ServiceIdx, ServiceEntry> = model
            .redis_caches
            .values()
            .filter(|r| r.subnet.is_none())
            .map(|r| ServiceEntry {
                id: r.id.clone(),
                name: r.name.clone(),
                key: cache_instance_key(&r.id),
            })
            .collect();
        let endpoints = model
            .private_endpoints
            .values()
            .filter_map(|pe| {
                let vnet = subnets[*subnet_idx.get(&pe.subnet)?].vnet;
                let service = services.position(|s| s.id == pe.private_link_service_id);
                Some(EndpointEntry {
                    id: pe.id.clone(),
                    name: pe.name.clone(),
                    ip: pe.private_ip_address,
                    vnet,
                    service,
                })
            })
            .collect();
        let connections = model
            .connections
            .values()
            .map(|c| ConnectionEntry {
                id: c.id.clone(),
                name: c.name.clone(),
                vnet: model
                    .virtual_network_gateways
                    .get(&c.virtual_network_gateway1)
                    .and_then(|g| vnet_idx.get(&g.virtual_network).copied()),
                site: (c.connection_type == crate::model::ConnectionType::IPsec).then(|| c.peer.clone()),
                site_prefixes: model
                    .local_network_gateways
                    .get(&c.peer)
                    .map(|l| l.local_address_prefixes.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let nic_index: FxHashMap<&ResourceId, NicIdx> = nics.iter_enumerated().map(|(i, n)| (&n.id, i)).collect();
        let overlay = super::overlay::Overlay::compile(model, |id| nic_index.get(id).copied());
        let delays = {
            let mut names = RegionNames::default();
            let vnet_region: IdxVec<VnetIdx, _> = vnets.iter().map(|v| names.get(&v.location)).collect();
            let nic = nics.iter().map(|n| vnet_region[subnets[n.subnet].vnet]).collect();
            let connection = model
                .connections
                .values()
                .map(|c| match c.connection_type {
                    // The site is where its local network gateway is.
                    crate::model::ConnectionType::IPsec => model
                        .local_network_gateways
                        .get(&c.peer)
                        .and_then(|l| names.get(&l.location)),
                    _ => None,
                })
                .collect();
            let service = services
                .iter()
                .map(|s| model.redis_caches.get(&s.id).and_then(|r| names.get(&r.location)))
                .collect();
            Delays::compile(names, nic, connection, service, latency)
        };
        Tables {
            generation,
            nics,
            subnets,
            vnets,
            nsgs: nsgs.compiled,
            connections,
            lbs,
            endpoints,
            services,
            frontends,
            nic_keys,
            hosts,
            public_ips,
            overlay,
            delays,
        }
    }

    /// The load balancer and frontend holding `ip` in `vnet`.
    #[inline]
    pub fn frontend(&self, vnet: VnetIdx, ip: Ipv4Addr) -> Option<(LbIdx, FrontendIdx)> {
        if self.frontends.is_empty() {
            return None;
        }
        self.frontends.get(&(vnet, u32::from(ip))).copied()
    }

    pub fn nic_by_key(&self, key: u64) -> Option<NicIdx> {
        self.nic_keys.get(&key).copied()
    }

    /// Where the health prober reaches NIC `nic` (see `PROBE_ALIAS_BASE`).
    pub fn probe_alias(&self, nic: NicIdx) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(PROBE_ALIAS_BASE) + nic.0)
    }

    /// The NIC a probe alias stands for.
    pub fn probe_target(&self, alias: Ipv4Addr) -> Option<NicIdx> {
        let i = NicIdx(u32::from(alias).checked_sub(u32::from(PROBE_ALIAS_BASE))?);
        self.nics.contains(i).then_some(i)
    }

    #[inline]
    pub fn host(&self, vnet: VnetIdx, ip: Ipv4Addr) -> Option<NicIdx> {
        self.hosts.get(&(vnet, u32::from(ip))).copied()
    }

    pub fn public_ip_owner(&self, ip: Ipv4Addr) -> Option<NicIdx> {
        self.public_ips.get(&u32::from(ip)).copied()
    }

    pub fn nic_by_name(&self, name: &str) -> Option<NicIdx> {
        self.nics.position(|n| n.name.eq_ignore_ascii_case(name))
    }

    /// The primary NIC of a VM, by VM name.
    pub fn nic_of_vm(&self, vm: &str) -> Option<NicIdx> {
        self.nics
            .position(|n| n.vm.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(vm)))
    }

    pub fn vnet_of_nic(&self, nic: NicIdx) -> VnetIdx {
        self.subnets[self.nics[nic].subnet].vnet
    }

    /// Indexes of the VNets whose address space holds `ip`.
    pub fn vnets_containing(&self, ip: Ipv4Addr) -> impl Iterator<Item = VnetIdx> + '_ {
        self.vnets
            .iter_enumerated()
            .filter(move |(_, v)| v.contains(ip))
            .map(|(i, _)| i)
    }
}

/// Compiles every load balancer, and the Basic one Azure puts in front of
/// each cache injected into a subnet (its frontend is the cache's static
/// IP, its one backend the cache's instance, probed on the Redis port).
fn compile_lbs(
    model: &Model,
    subnet_idx: &FxHashMap<ResourceId, SubnetIdx>,
    subnets: &IdxVec<SubnetIdx, SubnetEntry>,
    nic_keys: &FxHashMap<u64, NicIdx>,
) -> (IdxVec<LbIdx, LbEntry>, FrontendMap) {
    let mut lbs = IdxVec::new();
    let vnet_of = |subnet: &ResourceId| subnet_idx.get(subnet).map(|s| subnets[*s].vnet);
    for lb in model.load_balancers.values() {
        let Some(vnet) = lb.frontend_ip_configurations.first().and_then(|f| vnet_of(&f.subnet)) else {
            continue;
        };
        let pools = lb
            .backend_address_pools
            .iter()
            .map(|p| {
                let members = model
                    .network_interfaces
                    .values()
                    .filter(|n| n.load_balancer_backend_address_pools.contains(&p.id))
                    .filter_map(|n| nic_keys.get(&stable_key(&n.id)).copied())
                    .collect();
                (p.name.clone(), members)
            })
            .collect();
        let probes = lb
            .probes
            .iter()
            .map(|p| ProbeEntry {
                name: p.name.clone(),
                protocol: p.protocol,
                port: p.port,
                path: p.request_path.clone(),
                interval: Duration::from_secs(u64::from(p.interval_in_seconds)),
                threshold: p.number_of_probes,
            })
            .collect();
        let fe_ids: Vec<ResourceId> = lb.frontend_ip_configurations.iter().map(|f| f.id.clone()).collect();
        let pool_ids: Vec<ResourceId> = lb.backend_address_pools.iter().map(|p| p.id.clone()).collect();
        let probe_ids: Vec<ResourceId> = lb.probes.iter().map(|p| p.id.clone()).collect();
        let rules = lb
            .load_balancing_rules
            .iter()
            .filter_map(|r| {
                Some(LbRuleEntry {
                    name: r.name.clone(),
                    frontend: position(&fe_ids, &r.frontend_ip_configuration)?,
                    pool: position(&pool_ids, &r.backend_address_pool)?,
                    probe: r.probe.as_ref().and_then(|p| position(&probe_ids, p)),
                    protocol: r.protocol,
                    frontend_port: r.frontend_port,
                    backend_port: r.backend_port,
                    idle_timeout: Duration::from_secs(u64::from(r.idle_timeout_in_minutes) * 60),
                    distribution: r.load_distribution,
                })
            })
            .collect();
        lbs.push(LbEntry {
            id: lb.id.clone(),
            name: lb.name.clone(),
            key: stable_key(&lb.id),
            sku: lb.sku,
            vnet,
            cache: None,
            frontends: lb
                .frontend_ip_configurations
                .iter()
                .map(|f| (f.name.clone(), f.private_ip_address))
                .collect(),
            pools,
            probes,
            rules,
        });
    }
    for r in model.redis_caches.values() {
        let (Some(subnet), Some(frontend), Some(instance)) =
            (&r.subnet, r.static_ip, nic_keys.get(&cache_instance_key(&r.id)))
        else {
            continue;
        };
        let Some(vnet) = vnet_of(subnet) else { continue };
        let rules = r
            .ports()
            .into_iter()
            .map(|port| LbRuleEntry {
                name: format!("redis-{port}"),
                frontend: FrontendIdx(0),
                pool: PoolIdx(0),
                probe: Some(ProbeIdx(0)),
                protocol: TransportProtocol::Tcp,
                frontend_port: port,
                backend_port: port,
                idle_timeout: DEFAULT_FLOW_TIMEOUT,
                distribution: LoadDistribution::Default,
            })
            .collect();
        let id = r.id.child("loadBalancers", "internal");
        lbs.push(LbEntry {
            key: stable_key(&id),
            id,
            name: format!("{} (the cache's internal load balancer)", r.name),
            sku: LbSku::Basic,
            vnet,
            cache: Some(r.name.clone()),
            frontends: vec![("frontend".into(), frontend)].into(),
            pools: vec![("instances".into(), vec![*instance])].into(),
            probes: vec![ProbeEntry {
                name: "redis".into(),
                protocol: ProbeProtocol::Tcp,
                port: REDIS_PORT,
                path: None,
                interval: Duration::from_secs(5),
                threshold: 2,
            }]
            .into(),
            rules,
        });
    }
    let frontends = lbs
        .iter_enumerated()
        .flat_map(|(l, lb)| {
            lb.frontends
                .iter_enumerated()
                .map(move |(f, (_, ip))| ((lb.vnet, u32::from(*ip)), (l, f)))
        })
        .collect();
    (lbs, frontends)
}

/// The index of `id` in `list`, as the typed index of the table built from it.
fn position<I: Idx>(list: &[ResourceId], id: &ResourceId) -> Option<I> {
    list.iter().position(|x| x == id).map(I::from_usize)
}
