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

use crate::model::{Model, PeeringState, PublicIpSku, ResourceId, regions};
use crate::nsg::CompiledNsg;
use crate::routing::{self, EffectiveRoute, Hop, NoGateway};

pub type NicIdx = u32;
pub type SubnetIdx = u32;
pub type VnetIdx = u32;

const DEFAULT_FLOW_TIMEOUT: Duration = Duration::from_secs(4 * 60);

/// A route's hop with every reference turned into an index.
#[derive(Clone, Debug)]
pub enum CHop {
    VnetLocal { vnet: VnetIdx },
    Peering { vnet: VnetIdx, link: u32 },
    Internet,
    Drop,
    Appliance { ips: Box<[Ipv4Addr]> },
    Gateway { vnet: VnetIdx },
    NoGateway(NoGateway),
    Site { connection: u32 },
    Vnet2Vnet { connection: u32, vnet: VnetIdx },
}

#[derive(Clone, Debug)]
pub struct NicEntry {
    pub id: ResourceId,
    /// Stable across snapshots: connection tracking is keyed by it.
    pub key: u64,
    pub name: String,
    pub vm: Option<String>,
    pub ip: Ipv4Addr,
    pub subnet: SubnetIdx,
    pub ip_forwarding: bool,
    /// The NIC's own NSG, compiled in its subnet's context.
    pub nsg: Option<u32>,
    pub public_ip: Option<(Ipv4Addr, PublicIpSku)>,
    /// Attached to a running VM: only then does it send or answer.
    pub running: bool,
    /// Idle timeout of its tracked flows: its VNet's flow timeout.
    pub flow_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct SubnetEntry {
    pub id: ResourceId,
    pub vnet: VnetIdx,
    pub prefix: Ipv4Net,
    /// Rows as printed; `hops[i]` belongs to `routes[i]`.
    pub routes: Vec<EffectiveRoute>,
    pub hops: Vec<CHop>,
    /// Destination → index of the Active row that wins.
    pub lpm: routing::Lpm<u32>,
    pub nsg: Option<u32>,
    pub vnet_tag: Vec<Ipv4Net>,
    pub default_outbound_access: bool,
}

#[derive(Clone, Debug)]
pub struct LinkEntry {
    pub id: ResourceId,
    pub remote: Option<VnetIdx>,
    /// The remote VNet's link pointing back here (index in its `links`);
    /// it decides whether forwarded traffic may enter over this peering.
    pub back: Option<u32>,
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
    pub links: Vec<LinkEntry>,
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
    pub routes: Vec<(Ipv4Net, CHop)>,
    pub lpm: routing::Lpm<u32>,
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

/// An immutable, compiled view of one model generation.
#[derive(Clone, Debug)]
pub struct Tables {
    pub generation: u64,
    pub nics: Vec<NicEntry>,
    pub subnets: Vec<SubnetEntry>,
    pub vnets: Vec<VnetEntry>,
    pub nsgs: Vec<CompiledNsg>,
    pub connections: Vec<ConnectionEntry>,
    /// (VNet, private address) → NIC. VNets that are not peered may reuse
    /// the same ranges, so the VNet is part of the key.
    hosts: FxHashMap<(VnetIdx, u32), NicIdx>,
    public_ips: FxHashMap<u32, NicIdx>,
    /// AKS clusters' pod routing domains (Azure CNI Overlay).
    pub overlay: super::overlay::Overlay,
}

/// Compiles each NSG once per subnet context it is used in (the subnet's
/// own NSG and its NICs' NSGs share that context).
#[derive(Default)]
struct NsgCompiler {
    compiled: Vec<CompiledNsg>,
    index: FxHashMap<(ResourceId, SubnetIdx), u32>,
}

impl NsgCompiler {
    fn get(&mut self, model: &Model, id: Option<&ResourceId>, subnet: SubnetIdx, vnet_tag: &[Ipv4Net], own_ranges: &[Ipv4Net]) -> Option<u32> {
        let id = id?;
        let nsg = model.network_security_groups.get(id)?;
        let compiled = &mut self.compiled;
        Some(*self.index.entry((id.clone(), subnet)).or_insert_with(|| {
            compiled.push(CompiledNsg::compile(nsg, vnet_tag, own_ranges));
            (compiled.len() - 1) as u32
        }))
    }
}

pub fn stable_key(id: &ResourceId) -> u64 {
    let mut h = FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

impl Tables {
    pub fn compile(model: &Model, generation: u64) -> Tables {
        let vnet_idx: FxHashMap<&ResourceId, VnetIdx> = model.virtual_networks.keys().enumerate().map(|(i, id)| (id, i as VnetIdx)).collect();
        let conn_idx: FxHashMap<&ResourceId, u32> = model.connections.keys().enumerate().map(|(i, id)| (id, i as u32)).collect();
        let mut nsgs = NsgCompiler::default();

        let compile_hop = |vnet: VnetIdx, hop: &Hop| -> CHop {
            match hop {
                Hop::VnetLocal { vnet: v } => CHop::VnetLocal { vnet: vnet_idx.get(v).copied().unwrap_or(vnet) },
                Hop::Peering { vnet: r, link, .. } => {
                    let owner = link.parent().and_then(|p| model.virtual_networks.get(&p));
                    let l = owner.and_then(|o| o.peerings.iter().position(|p| &p.id == link)).unwrap_or(0) as u32;
                    match vnet_idx.get(r) {
                        Some(r) => CHop::Peering { vnet: *r, link: l },
                        None => CHop::Drop,
                    }
                }
                Hop::Internet => CHop::Internet,
                Hop::Drop => CHop::Drop,
                Hop::Appliance { ips } => CHop::Appliance { ips: ips.clone().into_boxed_slice() },
                Hop::Gateway(g) => match vnet_idx.get(&g.vnet) {
                    Some(v) => CHop::Gateway { vnet: *v },
                    None => CHop::NoGateway(NoGateway::None),
                },
                Hop::NoGateway(why) => CHop::NoGateway(why.clone()),
                Hop::Site { connection } => conn_idx.get(connection).map_or(CHop::Drop, |c| CHop::Site { connection: *c }),
                Hop::Vnet2Vnet { connection, vnet: v } => match (conn_idx.get(connection), vnet_idx.get(v)) {
                    (Some(c), Some(v)) => CHop::Vnet2Vnet { connection: *c, vnet: *v },
                    _ => CHop::Drop,
                },
            }
        };

        let mut vnets = Vec::with_capacity(model.virtual_networks.len());
        for (i, v) in model.virtual_networks.values().enumerate() {
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
                        .map(|b| b as u32),
                    state: model.peering_state(&v.id, p),
                    allow_virtual_network_access: p.allow_virtual_network_access,
                    allow_forwarded_traffic: p.allow_forwarded_traffic,
                    remote_address_space: p.remote_address_space.clone(),
                })
                .collect();
            let gateway = model.has_gateway(&v.id).then(|| {
                let routes: Vec<(Ipv4Net, CHop)> = routing::gateway_context(model, &v.id).iter().map(|(p, h)| (*p, compile_hop(i as VnetIdx, h))).collect();
                let mut lpm = routing::Lpm::new();
                for (j, (p, _)) in routes.iter().enumerate() {
                    lpm.insert(*p, j as u32);
                }
                GatewayEntry { routes, lpm }
            });
            vnets.push(VnetEntry {
                id: v.id.clone(),
                name: v.name.clone(),
                location: regions::normalize(&v.location),
                address_prefixes: v.address_prefixes.clone(),
                links,
                flow_timeout: v.flow_timeout_in_minutes.map_or(DEFAULT_FLOW_TIMEOUT, |m| Duration::from_secs(u64::from(m) * 60)),
                gateway,
                no_gateway: routing::serving_gateway(model, &v.id).err(),
            });
        }

        let mut subnets = Vec::new();
        let mut subnet_idx: FxHashMap<ResourceId, SubnetIdx> = FxHashMap::default();
        for (vi, v) in model.virtual_networks.values().enumerate() {
            for s in &v.subnets {
                let si = subnets.len() as SubnetIdx;
                subnet_idx.insert(s.id.clone(), si);
                let routes = routing::effective_routes(model, &s.id);
                let hops: Vec<CHop> = routes.iter().map(|r| compile_hop(vi as VnetIdx, &r.hop)).collect();
                let mut lpm = routing::Lpm::new();
                for (j, r) in routes.iter().enumerate().filter(|(_, r)| r.state == routing::RouteState::Active) {
                    lpm.insert(r.address_prefix, j as u32);
                }
                let vnet_tag = routing::virtual_network_tag(model, &s.id, &routes);
                let nsg = nsgs.get(model, s.network_security_group.as_ref(), si, &vnet_tag, &v.address_prefixes);
                subnets.push(SubnetEntry { id: s.id.clone(), vnet: vi as VnetIdx, prefix: s.address_prefix, routes, hops, lpm, nsg, vnet_tag, default_outbound_access: s.default_outbound_access });
            }
        }

        let mut nics = Vec::new();
        let mut hosts = FxHashMap::default();
        let mut public_ips = FxHashMap::default();
        for n in model.network_interfaces.values() {
            let Some(&si) = subnet_idx.get(&n.subnet) else { continue };
            let subnet = &subnets[si as usize];
            let vnet = &vnets[subnet.vnet as usize];
            let nsg = nsgs.get(model, n.network_security_group.as_ref(), si, &subnet.vnet_tag, &vnet.address_prefixes);
            let vm = n.virtual_machine.as_ref().and_then(|v| model.virtual_machines.get(v));
            let public_ip = n.public_ip_address.as_ref().and_then(|p| model.public_ip_addresses.get(p)).map(|p| (p.ip_address, p.sku));
            let idx = nics.len() as NicIdx;
            hosts.insert((subnet.vnet, u32::from(n.private_ip_address)), idx);
            if let Some((ip, _)) = public_ip {
                public_ips.insert(u32::from(ip), idx);
            }
            nics.push(NicEntry {
                id: n.id.clone(),
                key: stable_key(&n.id),
                name: n.name.clone(),
                vm: vm.map(|v| v.name.clone()),
                ip: n.private_ip_address,
                subnet: si,
                ip_forwarding: n.enable_ip_forwarding,
                nsg,
                public_ip,
                running: vm.is_some_and(|v| v.power_state == crate::model::PowerState::Running),
                flow_timeout: vnet.flow_timeout,
            });
        }
        let connections = model
            .connections
            .values()
            .map(|c| ConnectionEntry {
                id: c.id.clone(),
                name: c.name.clone(),
                vnet: model.virtual_network_gateways.get(&c.virtual_network_gateway1).and_then(|g| vnet_idx.get(&g.virtual_network).copied()),
                site: (c.connection_type == crate::model::ConnectionType::IPsec).then(|| c.peer.clone()),
                site_prefixes: model.local_network_gateways.get(&c.peer).map(|l| l.local_address_prefixes.clone()).unwrap_or_default(),
            })
            .collect();
        let nic_index: FxHashMap<&ResourceId, NicIdx> = nics.iter().enumerate().map(|(i, n)| (&n.id, i as NicIdx)).collect();
        let overlay = super::overlay::Overlay::compile(model, |id| nic_index.get(id).copied());
        Tables { generation, nics, subnets, vnets, nsgs: nsgs.compiled, connections, hosts, public_ips, overlay }
    }

    #[inline]
    pub fn host(&self, vnet: VnetIdx, ip: Ipv4Addr) -> Option<NicIdx> {
        self.hosts.get(&(vnet, u32::from(ip))).copied()
    }

    pub fn public_ip_owner(&self, ip: Ipv4Addr) -> Option<NicIdx> {
        self.public_ips.get(&u32::from(ip)).copied()
    }

    pub fn nic_by_name(&self, name: &str) -> Option<NicIdx> {
        self.nics.iter().position(|n| n.name.eq_ignore_ascii_case(name)).map(|i| i as NicIdx)
    }

    /// The primary NIC of a VM, by VM name.
    pub fn nic_of_vm(&self, vm: &str) -> Option<NicIdx> {
        self.nics.iter().position(|n| n.vm.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(vm))).map(|i| i as NicIdx)
    }

    pub fn vnet_of_nic(&self, nic: NicIdx) -> VnetIdx {
        self.subnets[self.nics[nic as usize].subnet as usize].vnet
    }

    /// Indexes of the VNets whose address space holds `ip`.
    pub fn vnets_containing(&self, ip: Ipv4Addr) -> impl Iterator<Item = VnetIdx> + '_ {
        self.vnets.iter().enumerate().filter(move |(_, v)| v.contains(ip)).map(|(i, _)| i as VnetIdx)
    }
}
