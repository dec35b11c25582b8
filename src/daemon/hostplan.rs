//! What the host must look like for a model: one namespace per VM, one TUN
//! per NIC, the admin user. Pure, so the daemon can diff two models'
//! plans and touch only the VMs that changed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::dataplane::{SERVICE_IP, cache_instance_key, stable_key};
use crate::host::Lab;
use crate::host::bgp::{Neighbor, SpeakerSetup};
use crate::host::cache::CacheSetup;
use crate::host::pod::NodeNet;
use crate::host::tun::Interface;
use crate::host::vm::VmSetup;
use ipnet::Ipv4Net;

use crate::model::{
    AZURE_ASN, Connection, ConnectionType, LocalNetworkGateway, Model, PowerState, ResourceId, RouteServer,
};

#[derive(Clone, Debug, PartialEq)]
pub struct VmPlan {
    pub name: String,
    pub resource_group: String,
    pub setup: VmSetup,
    pub nics: Vec<NicPlan>,
    pub power_state: PowerState,
    /// Set for an on-premises site: then `setup` and `nics` are its VPN
    /// device (one tunnel per connection) and this is the rest.
    pub site: Option<SitePlan>,
    /// Set for an Azure Cache for Redis instance: then `setup` names its
    /// namespace and directory, and redis-server runs instead of sshd.
    pub cache: Option<CacheSetup>,
    /// Set for an AKS node: its pods and mesh, changed in place.
    pub node: Option<NodeNet>,
    /// Set for a Route Server instance: bgpd runs instead of sshd; its
    /// neighbors and networks change in place.
    pub speaker: Option<SpeakerSetup>,
}

/// The on-premises side of a local network gateway: the VPN device the
/// gateway describes (a router namespace) and one host on the site's LAN
/// behind it, a namespace of its own joined to the router by a veth pair.
#[derive(Clone, Debug, PartialEq)]
pub struct SitePlan {
    pub host: VmSetup,
    /// The router's LAN address, with the LAN's prefix length.
    pub router_lan: Ipv4Net,
    /// The LNG's other prefixes, held on the router's loopback so that
    /// their first address answers.
    pub other_prefixes: Vec<Ipv4Net>,
    /// Prefix → tunnel interface: what the router learned (see
    /// `routing::site_routes`). Changes in place, without a rebuild.
    pub routes: Vec<(Ipv4Net, String)>,
}

/// The user on on-premises machines (they are not Azure VMs, so not
/// `azureuser`), with a fixed password documented in the labs.
pub const ONPREM_USER: &str = "onprem";
pub const ONPREM_PASSWORD: &str = "OnPrem-Lab-2026!";
/// The site host's name is the LNG's (its VPN device's) plus this.
pub const SITE_HOST_SUFFIX: &str = "-host";

#[derive(Clone, Debug, PartialEq)]
pub struct NicPlan {
    pub key: u64,
    pub name: String,
    /// `eth0`, `eth1`… in the order the VM lists its NICs.
    pub interface: String,
    pub iface: Interface,
    pub public_ip: Option<Ipv4Addr>,
}

/// The host plan of every VM in `model`, by VM ID.
pub fn plan(lab: &Lab, model: &Model) -> BTreeMap<ResourceId, VmPlan> {
    let mut taken = std::collections::HashSet::new();
    let mut out = BTreeMap::new();
    for (id, vm) in &model.virtual_machines {
        // Two resource groups may each hold a VM of the same name; the
        // second one's namespace also names its group.
        let mut local = vm.name.clone();
        let mut n = 1;
        while !taken.insert(local.to_ascii_lowercase()) {
            local = if n == 1 {
                format!("{}.{}", vm.name, id.resource_group_name())
            } else {
                format!("{}.{}.{n}", vm.name, id.resource_group_name())
            };
            n += 1;
        }
        let nics: Vec<NicPlan> = vm
            .network_interfaces
            .iter()
            .filter_map(|nic_id| model.network_interfaces.get(nic_id))
            .enumerate()
            .filter_map(|(i, nic)| {
                let (_, subnet) = model.subnet(&nic.subnet)?;
                let prefix = subnet.address_prefix;
                let gateway = Ipv4Addr::from(u32::from(prefix.network()) + 1);
                let public_ip = nic
                    .public_ip_address
                    .as_ref()
                    .and_then(|p| model.public_ip_addresses.get(p))
                    .map(|p| p.ip_address);
                Some(NicPlan {
                    key: stable_key(&nic.id),
                    name: nic.name.clone(),
                    interface: format!("eth{i}"),
                    // An AKS node's kernel forwards for its pods, whatever
                    // the NIC's flag (the fabric's overlay rules apply).
                    iface: Interface {
                        address: nic.private_ip_address,
                        prefix_len: prefix.prefix_len(),
                        gateway,
                        forwarding: nic.enable_ip_forwarding || model.aks_node_of_vm(id).is_some(),
                    },
                    public_ip,
                })
            })
            .collect();
        let primary = vm
            .network_interfaces
            .first()
            .and_then(|nic_id| model.network_interfaces.get(nic_id));
        let setup = VmSetup {
            name: vm.name.clone(),
            netns: lab.vm_netns(&local),
            dir: lab.vm_dir(&local),
            keys: lab.keys_dir(&lab.vm_dir(&local)),
            admin_username: vm.admin_username.clone(),
            admin_password: vm.admin_password.clone(),
            ssh_public_keys: vm.ssh_public_keys.clone(),
            address: nics.first().map(|n| n.iface.address),
            domain: primary.and_then(|n| model.internal_domain_name_suffix_of(n)),
            resolv_conf: resolv_conf(
                &primary.map(|n| model.applied_dns_servers(n)).unwrap_or_default(),
                primary.and_then(|n| model.dhcp_search_domain(n)).as_deref(),
            ),
        };
        let node = super::podplan::node_net(lab, model, id);
        out.insert(
            id.clone(),
            VmPlan {
                name: vm.name.clone(),
                resource_group: id.resource_group_name().to_string(),
                setup,
                nics,
                power_state: vm.power_state,
                site: None,
                cache: None,
                node,
                speaker: None,
            },
        );
    }
    for (id, cache) in &model.redis_caches {
        out.insert(id.clone(), cache_plan(lab, model, id, cache));
    }
    for rs in model.route_servers.values() {
        for (i, p) in speaker_plans(lab, model, rs).into_iter().enumerate() {
            out.insert(rs.instance_id(i), p);
        }
    }
    let mut taken = std::collections::HashSet::new();
    for (id, lng) in &model.local_network_gateways {
        let mut local = lng.name.clone();
        if !taken.insert(local.to_ascii_lowercase()) {
            local = format!("{}.{}", lng.name, id.resource_group_name());
            taken.insert(local.to_ascii_lowercase());
        }
        out.insert(id.clone(), site_plan(lab, model, id, lng, &local));
    }
    out
}

/// A site's LAN is the LNG's first prefix: the router takes its first
/// address, the host its tenth (its second on a /29 or /30). Returns the
/// router's address with the LAN's length, and the host's address.
pub fn site_lan(lng: &LocalNetworkGateway) -> (Ipv4Net, Ipv4Addr) {
    let lan = lng
        .local_address_prefixes
        .first()
        .copied()
        .unwrap_or_else(|| Ipv4Net::new(lng.gateway_ip_address, 32).unwrap_or_default());
    let nth = |i: u32| Ipv4Addr::from(u32::from(lan.network()).saturating_add(i));
    let (router, host) = match lan.prefix_len() {
        0..=28 => (nth(1), nth(10)),
        29 | 30 => (nth(1), nth(2)),
        _ => (lan.network(), lan.network()),
    };
    (Ipv4Net::new(router, lan.prefix_len()).unwrap_or(lan), host)
}

/// The on-premises machine called `name` (a local network gateway's
/// router, or its `-host`): its site and address.
pub fn on_premises_machine<'m>(model: &'m Model, name: &str) -> Option<(&'m LocalNetworkGateway, Ipv4Addr)> {
    model.local_network_gateways.values().find_map(|l| {
        let (router, host) = site_lan(l);
        if l.name.eq_ignore_ascii_case(name) {
            Some((l, router.addr()))
        } else {
            let stem = name
                .len()
                .checked_sub(SITE_HOST_SUFFIX.len())
                .and_then(|n| Some((name.get(..n)?, name.get(n..)?)));
            stem.filter(|(n, suffix)| suffix.eq_ignore_ascii_case(SITE_HOST_SUFFIX) && l.name.eq_ignore_ascii_case(n))
                .map(|_| (l, host))
        }
    })
}

/// Azure's BGP timers for Route Server: keepalive 60 s, hold 180 s
/// (azure-semantics-2 §3.1, Route Server FAQ).
pub const BGP_KEEPALIVE_SECS: u16 = 60;
pub const BGP_HOLD_SECS: u16 = 180;
/// Routes one NVA may announce before its session is dropped (§3.2,
/// include route-server-limits.md: 1,000 per BGP peer).
pub const BGP_MAX_PREFIXES: u32 = 1000;

/// Route Server's two instances: each a namespace holding .4 or .5 of
/// RouteServerSubnet, where bgpd (ASN 65515) peers with every NVA of the
/// Route Server's peerings and announces the VNet's space and the spokes'.
fn speaker_plans(lab: &Lab, model: &Model, rs: &RouteServer) -> Vec<VmPlan> {
    let Some((_, subnet)) = model.subnet(&rs.hosted_subnet) else {
        return vec![];
    };
    let prefix = subnet.address_prefix;
    let networks = crate::routing::bgp::advertised(model, rs);
    let mut neighbors: Vec<Neighbor> = rs
        .peerings
        .iter()
        .map(|p| Neighbor {
            ip: p.peer_ip,
            asn: p.peer_asn,
        })
        .collect();
    neighbors.sort_by_key(|n| n.ip);
    neighbors.dedup_by_key(|n| n.ip);
    let (keepalive, hold) = bgp_timers(rs.bgp_hold_secs);
    model
        .route_server_ips(rs)
        .into_iter()
        .enumerate()
        .map(|(i, ip)| {
            let local = format!("{}.{i}", rs.name);
            let name = format!("{} instance {i}", rs.name);
            let setup = VmSetup {
                name: name.clone(),
                netns: lab.route_server_netns(&local),
                dir: lab.route_server_dir(&local),
                keys: lab.keys_dir(&lab.route_server_dir(&local)),
                admin_username: String::new(),
                admin_password: None,
                ssh_public_keys: Vec::new(),
                address: Some(ip),
                domain: None,
                resolv_conf: resolv_conf(&[], None),
            };
            let speaker = SpeakerSetup {
                name,
                netns: setup.netns.clone(),
                dir: setup.dir.clone(),
                asn: AZURE_ASN,
                router_id: ip,
                neighbors: neighbors.clone(),
                networks: networks.clone(),
                max_prefixes: BGP_MAX_PREFIXES,
                keepalive_secs: keepalive,
                hold_secs: hold,
            };
            VmPlan {
                name: format!("{}-instance{i}", rs.name),
                resource_group: rs.id.resource_group_name().to_string(),
                setup,
                nics: vec![NicPlan {
                    key: stable_key(&rs.instance_id(i)),
                    name: format!("{}-instance{i}", rs.name),
                    interface: "eth0".into(),
                    iface: Interface {
                        address: ip,
                        prefix_len: prefix.prefix_len(),
                        gateway: Ipv4Addr::from(u32::from(prefix.network()) + 1),
                        forwarding: false,
                    },
                    public_ip: None,
                }],
                power_state: PowerState::Running,
                site: None,
                cache: None,
                node: None,
                speaker: Some(speaker),
            }
        })
        .collect()
}

/// Keepalive and hold time: Azure's, unless the Route Server's
/// `bgpHoldSeconds` (a topology file's) or else `VNETLAB_BGP_HOLD_SECS`
/// (read by the daemon at start) asks a lab for another hold (keepalive a
/// third of it, as BGP recommends).
fn bgp_timers(hold: Option<u16>) -> (u16, u16) {
    let env = || {
        std::env::var("VNETLAB_BGP_HOLD_SECS")
            .ok()
            .and_then(|v| v.parse::<u16>().ok())
    };
    match hold.or_else(env) {
        Some(hold) if hold >= 3 => (hold / 3, hold),
        _ => (BGP_KEEPALIVE_SECS, BGP_HOLD_SECS),
    }
}

/// A cache's instance: in its subnet when injected into a VNet, else on
/// the service side of the fabric (`SERVICE_IP`), reached through private
/// endpoints only.
fn cache_plan(lab: &Lab, model: &Model, id: &ResourceId, cache: &crate::model::RedisCache) -> VmPlan {
    // Two resource groups may hold caches of the same name only in
    // theory: the name is a global DNS label in Azure.
    let local = cache.name.clone();
    let subnet = cache
        .subnet
        .as_ref()
        .and_then(|s| model.subnet(s))
        .map(|(_, s)| s.address_prefix);
    let iface = match (subnet, cache.instance_ip) {
        (Some(prefix), Some(ip)) => Interface {
            address: ip,
            prefix_len: prefix.prefix_len(),
            gateway: Ipv4Addr::from(u32::from(prefix.network()) + 1),
            forwarding: false,
        },
        _ => Interface {
            address: SERVICE_IP,
            prefix_len: 24,
            gateway: Ipv4Addr::from(u32::from(SERVICE_IP) & 0xffff_ff00 | 1),
            forwarding: false,
        },
    };
    let setup = VmSetup {
        name: cache.name.clone(),
        netns: lab.cache_netns(&local),
        dir: lab.cache_dir(&local),
        keys: lab.keys_dir(&lab.cache_dir(&local)),
        admin_username: String::new(),
        admin_password: None,
        ssh_public_keys: Vec::new(),
        address: Some(iface.address),
        domain: None,
        resolv_conf: resolv_conf(&[], None),
    };
    let nic = NicPlan {
        key: cache_instance_key(id),
        name: format!("{}-instance", cache.name),
        interface: "eth0".into(),
        iface,
        public_ip: None,
    };
    let cache_setup = CacheSetup {
        name: cache.name.clone(),
        host_name: cache.host_name(),
        netns: setup.netns.clone(),
        dir: setup.dir.clone(),
        password: cache.primary_key.clone(),
        port: crate::model::REDIS_PORT,
        tls_port: crate::model::REDIS_SSL_PORT,
    };
    VmPlan {
        name: cache.name.clone(),
        resource_group: id.resource_group_name().to_string(),
        setup,
        nics: vec![nic],
        power_state: PowerState::Running,
        site: None,
        cache: Some(cache_setup),
        node: None,
        speaker: None,
    }
}

fn site_plan(lab: &Lab, model: &Model, id: &ResourceId, lng: &LocalNetworkGateway, local: &str) -> VmPlan {
    let (router_lan, host_ip) = site_lan(lng);
    let router_ip = router_lan.addr();
    let tunnels: Vec<&Connection> = model
        .connections
        .values()
        .filter(|c| c.connection_type == ConnectionType::IPsec && c.peer == *id)
        .collect();
    let nics: Vec<NicPlan> = tunnels
        .iter()
        .enumerate()
        .map(|(i, c)| NicPlan {
            key: stable_key(&c.id),
            name: c.name.clone(),
            interface: format!("vti{i}"),
            iface: Interface {
                address: lng.gateway_ip_address,
                prefix_len: 32,
                gateway: lng.gateway_ip_address,
                forwarding: true,
            },
            public_ip: None,
        })
        .collect();
    let routes = crate::routing::site_routes(model, id)
        .into_iter()
        .filter_map(|(p, conn)| Some((p, nics.iter().find(|n| n.key == stable_key(&conn))?.interface.clone())))
        .collect();
    let machine = |name: String, netns: String, dir: std::path::PathBuf, address: Ipv4Addr| VmSetup {
        name,
        netns,
        keys: lab.keys_dir(&dir),
        dir,
        admin_username: ONPREM_USER.into(),
        admin_password: Some(ONPREM_PASSWORD.into()),
        ssh_public_keys: Vec::new(),
        address: Some(address),
        domain: None,
        // On premises: no Azure DNS to ask, so no server at all (glibc then
        // fails at once rather than waiting).
        resolv_conf: String::from("# on-premises machine: no DNS server (vnetlab)\n"),
    };
    let host_name = format!("{}{SITE_HOST_SUFFIX}", lng.name);
    VmPlan {
        name: lng.name.clone(),
        resource_group: id.resource_group_name().to_string(),
        setup: machine(
            lng.name.clone(),
            lab.site_netns(local),
            lab.site_dir(local).join("router"),
            router_ip,
        ),
        nics,
        power_state: PowerState::Running,
        cache: None,
        site: Some(SitePlan {
            host: machine(
                host_name.clone(),
                lab.site_netns(&format!("{local}{SITE_HOST_SUFFIX}")),
                lab.site_dir(local).join("host"),
                host_ip,
            ),
            router_lan,
            other_prefixes: lng.local_address_prefixes.iter().skip(1).copied().collect(),
            routes,
        }),
        node: None,
        speaker: None,
    }
}

impl VmPlan {
    /// Does going from `self` to `next` need the VM rebuilt? Power state
    /// and public IPs live in the fabric, not on the host.
    pub fn host_differs(&self, next: &VmPlan) -> bool {
        let strip = |p: &VmPlan| {
            // DNS settings reach a running VM by renewal, not a rebuild.
            let mut setup = p.setup.clone();
            setup.resolv_conf.clear();
            let site = p
                .site
                .as_ref()
                .map(|s| (s.host.clone(), s.router_lan, s.other_prefixes.clone()));
            (
                setup,
                p.nics
                    .iter()
                    .map(|n| (n.key, n.interface.clone(), n.iface.clone()))
                    .collect::<Vec<_>>(),
                site,
                p.cache.clone(),
                // Neighbors and networks change in place over vtysh.
                p.speaker
                    .as_ref()
                    .map(|s| (s.asn, s.router_id, s.keepalive_secs, s.hold_secs, s.max_prefixes)),
            )
        };
        strip(self) != strip(next)
    }
}

/// Azure's DNS servers and search domain, as a Linux VM's resolv.conf shows
/// them: `servers` empty means Azure-provided DNS, 168.63.129.16.
/// Azure: DHCP gives the servers and the search suffix (name-resolution
/// doc, "Name resolution that uses your own DNS server"); `timeout:1
/// attempts:5` are the options Azure recommends for Linux ("Client-side
/// retries"); azure-semantics-2 §1.1-§1.3. glibc reads three servers at
/// most, as an Azure VM's does.
pub fn resolv_conf(servers: &[Ipv4Addr], search: Option<&str>) -> String {
    let mut out = String::from("# Generated by vnetlab as Azure's DHCP gives it; renewed when the VM starts.\n");
    if servers.is_empty() {
        out.push_str(&format!("nameserver {}\n", crate::model::AZURE_HOST_IP));
    }
    for s in servers.iter().take(3) {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if let Some(d) = search {
        out.push_str(&format!("search {d}\n"));
    }
    out.push_str("options timeout:1 attempts:5\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    fn learn() -> Model {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/01-peering-basics/topology.yaml"
        ))
        .unwrap();
        Topology::parse(&text).unwrap().build().unwrap()
    }

    #[test]
    fn route_server_speakers_take_the_topology_hold_time_or_azure_timers() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/09-route-server-bgp/topology.yaml"
        ))
        .unwrap();
        let lab = Lab::new("t").unwrap();
        let timers = |text: &str| -> Vec<(u16, u16)> {
            let model = Topology::parse(text).unwrap().build().unwrap();
            plan(&lab, &model)
                .values()
                .filter_map(|p| p.speaker.as_ref())
                .map(|s| (s.keepalive_secs, s.hold_secs))
                .collect()
        };
        // (VNETLAB_BGP_HOLD_SECS is not set under cargo test.)
        assert_eq!(timers(&text), vec![(BGP_KEEPALIVE_SECS, BGP_HOLD_SECS); 2]);
        let short = text.replacen("  - name: hub-rs\n", "  - name: hub-rs\n    bgpHoldSeconds: 9\n", 1);
        assert_ne!(short, text);
        assert_eq!(timers(&short), vec![(3, 9); 2]);
    }

    #[test]
    fn every_vm_gets_a_namespace_and_an_eth0_on_its_subnet() {
        let lab = Lab::new("t").unwrap();
        let plans = plan(&lab, &learn());
        let sales = plans.values().find(|p| p.name == "SalesVM").unwrap();
        assert_eq!(sales.setup.netns, "vnl-t.SalesVM");
        assert_eq!(sales.setup.dir, lab.runtime_dir().join("vms/SalesVM"));
        assert_eq!(sales.setup.admin_username, "azureuser");
        let eth0 = &sales.nics[0];
        assert_eq!(
            (
                eth0.interface.as_str(),
                eth0.iface.address,
                eth0.iface.prefix_len,
                eth0.iface.gateway
            ),
            ("eth0", Ipv4Addr::new(10, 1, 1, 4), 24, Ipv4Addr::new(10, 1, 1, 1))
        );
        assert!(!eth0.iface.forwarding);
        assert!(eth0.public_ip.is_some());
        assert_eq!(plans.len(), 3);
    }

    #[test]
    fn only_host_facts_force_a_rebuild() {
        let lab = Lab::new("t").unwrap();
        let plans = plan(&lab, &learn());
        let a = plans.values().next().unwrap().clone();
        let mut b = a.clone();
        b.power_state = PowerState::Stopped;
        b.nics[0].public_ip = None;
        assert!(!a.host_differs(&b));
        b.nics[0].iface.forwarding = true;
        assert!(a.host_differs(&b));
    }

    #[test]
    fn a_local_network_gateway_becomes_a_router_with_a_tunnel_per_connection_and_a_host() {
        let yaml = "resourceGroups: [{name: rg, location: westeurope}]
virtualNetworks:
  - name: hub
    addressPrefixes: [10.0.0.0/16]
    subnets: [{name: GatewaySubnet, addressPrefix: 10.0.255.0/27}]
virtualNetworkGateways: [{name: gw, vnet: hub, sku: VpnGw1}]
localNetworkGateways:
  - {name: Site1, gatewayIpAddress: 203.0.113.50, localAddressPrefixes: [192.168.10.0/24, 192.168.20.0/24]}
connections:
  - {name: to-site1, vnetGateway1: gw, localGateway2: Site1, sharedKey: k}
";
        let model = Topology::parse(yaml).unwrap().build().unwrap();
        let lab = Lab::new("t").unwrap();
        let plans = plan(&lab, &model);
        let site = plans.values().find(|p| p.site.is_some()).unwrap();
        assert_eq!(
            (
                site.name.as_str(),
                site.setup.netns.as_str(),
                site.setup.admin_username.as_str()
            ),
            ("Site1", "vnl-t@site.Site1", ONPREM_USER)
        );
        assert_eq!(site.nics.len(), 1);
        assert_eq!(
            (
                site.nics[0].interface.as_str(),
                site.nics[0].iface.address,
                site.nics[0].iface.forwarding
            ),
            ("vti0", Ipv4Addr::new(203, 0, 113, 50), true)
        );
        let s = site.site.as_ref().unwrap();
        assert_eq!(s.router_lan.to_string(), "192.168.10.1/24");
        assert_eq!(
            (s.host.name.as_str(), s.host.netns.as_str(), s.host.address),
            (
                "Site1-host",
                "vnl-t@site.Site1-host",
                Some(Ipv4Addr::new(192, 168, 10, 10))
            )
        );
        assert_eq!(
            s.other_prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["192.168.20.0/24"]
        );
        assert_eq!(s.routes, [("10.0.0.0/16".parse().unwrap(), "vti0".to_string())]);
        assert_eq!(
            on_premises_machine(&model, "site1-HOST").map(|(l, ip)| (l.name.as_str(), ip)),
            Some(("Site1", Ipv4Addr::new(192, 168, 10, 10)))
        );
        assert_eq!(
            on_premises_machine(&model, "Site1").map(|(_, ip)| ip),
            Some(Ipv4Addr::new(192, 168, 10, 1))
        );
        // Learned routes change in place; the LAN does not.
        let mut other = site.clone();
        other.site.as_mut().unwrap().routes.clear();
        assert!(!site.host_differs(&other));
        other.site.as_mut().unwrap().other_prefixes.clear();
        assert!(site.host_differs(&other));
    }

    #[test]
    fn resolv_conf_as_azure_dhcp_gives_it() {
        let azure = resolv_conf(&[], Some("abc.bx.internal.cloudapp.net"));
        assert!(azure.contains("nameserver 168.63.129.16\nsearch abc.bx.internal.cloudapp.net\n"));
        assert!(azure.ends_with("options timeout:1 attempts:5\n"));
        let ips: Vec<Ipv4Addr> = ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let custom = resolv_conf(&ips, Some("reddog.microsoft.com"));
        assert!(!custom.contains("168.63.129.16"));
        assert!(
            custom.contains("nameserver 10.0.0.6\n") && !custom.contains("10.0.0.7"),
            "{custom}"
        );
    }
}
