//! `vnetlab import terraform`: the azurerm resources of a Terraform plan
//! or state (`terraform show -json`, read by [`plan`]) turned into a
//! topology file the loader accepts (docs/terraform.md). Pure: text in,
//! topology out. Argument names are azurerm's (registry.terraform.io/
//! providers/hashicorp/azurerm/latest/docs), both 4.x spellings
//! (`ip_forwarding_enabled`) and 3.x ones (`enable_ip_forwarding`).
//!
//! The topology file is the target, not model changes: it already holds
//! how Azure names, orders and validates each resource, so an imported
//! plan is checked by exactly the rules a hand-written topology is.

mod plan;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use plan::{Got, Plan, Res, Seg};

/// A plan that could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Format(String),
    /// An attribute the topology needs, neither known nor traceable.
    #[error(
        "{address}: {attribute} is unknown in the plan and not a reference to a resource of the plan; set it, or import the state after `terraform apply`"
    )]
    Unresolved { address: String, attribute: String },
    #[error("{address}: {message}")]
    Unsupported { address: String, message: String },
}

/// The imported topology with what was left out and why.
#[derive(Debug)]
pub struct Import {
    /// The topology document (topology.yaml's keys).
    pub topology: Value,
    /// Resources of types the model does not emulate, `address (type)`.
    pub not_emulated: Vec<String>,
    /// Resources imported only in part, or implied by others.
    pub notes: Vec<String>,
}

impl Import {
    /// topology.yaml, headed by where it comes from and what it leaves out.
    pub fn to_yaml(&self, source: &str) -> String {
        let mut head = format!("# Imported by `vnetlab import terraform` from {source}.\n");
        for n in &self.not_emulated {
            head.push_str(&format!("# not emulated (no effect on the network): {n}\n"));
        }
        for n in &self.notes {
            head.push_str(&format!("# note: {n}\n"));
        }
        head + &serde_yaml_ng::to_string(&self.topology).unwrap_or_default()
    }
}

/// Reads `terraform show -json` output and builds the topology.
pub fn import(text: &str) -> Result<Import, ImportError> {
    let plan = Plan::parse(text)?;
    Builder::new(&plan).build()
}

/// Where a reference leads: a resource's group, name and parent (the VNet
/// of a subnet, the load balancer of a pool).
#[derive(Clone, Debug)]
struct Target {
    rg: String,
    name: String,
    parent: Option<String>,
}

impl Target {
    /// `rg/name`, the topology's reference to a resource of the group.
    fn rg_name(&self) -> String {
        format!("{}/{}", self.rg, self.name)
    }
    fn parent_ref(&self) -> Option<String> {
        self.parent.as_ref().map(|p| format!("{}/{p}", self.rg))
    }
}

/// Which VM (its name) each NIC, by [`key`], belongs to.
type NicOwners = HashMap<(String, String), String>;

/// A resource's key in the maps below: its group and name, any case.
fn key(rg: &str, name: &str) -> (String, String) {
    (rg.to_ascii_lowercase(), name.to_ascii_lowercase())
}

/// An ARM ID's last resource: `/subscriptions/…/resourceGroups/rg/providers/
/// Microsoft.Network/virtualNetworks/v/subnets/s` → (rg, s, parent v).
fn parse_id(id: &str) -> Option<Target> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let rg_at = parts.iter().position(|p| p.eq_ignore_ascii_case("resourceGroups"))?;
    let rg = parts.get(rg_at + 1)?.to_string();
    let prov = parts.iter().position(|p| p.eq_ignore_ascii_case("providers"))?;
    // After the namespace: type/name pairs.
    let names: Vec<&str> = parts.get(prov + 2..)?.iter().skip(1).step_by(2).copied().collect();
    let name = names.last()?.to_string();
    let parent = (names.len() > 1).then(|| names[0].to_string());
    Some(Target { rg, name, parent })
}

/// The azurerm types this import maps to the model.
const EMULATED: &[&str] = &[
    "azurerm_resource_group",
    "azurerm_virtual_network",
    "azurerm_subnet",
    "azurerm_subnet_network_security_group_association",
    "azurerm_subnet_route_table_association",
    "azurerm_virtual_network_peering",
    "azurerm_network_security_group",
    "azurerm_network_security_rule",
    "azurerm_route_table",
    "azurerm_route",
    "azurerm_network_interface",
    "azurerm_network_interface_security_group_association",
    "azurerm_network_interface_backend_address_pool_association",
    "azurerm_linux_virtual_machine",
    "azurerm_windows_virtual_machine",
    "azurerm_public_ip",
    "azurerm_virtual_network_gateway",
    "azurerm_local_network_gateway",
    "azurerm_virtual_network_gateway_connection",
    "azurerm_route_server",
    "azurerm_route_server_bgp_connection",
    "azurerm_lb",
    "azurerm_lb_backend_address_pool",
    "azurerm_lb_probe",
    "azurerm_lb_rule",
    "azurerm_redis_cache",
    "azurerm_private_endpoint",
    "azurerm_private_dns_zone",
    "azurerm_private_dns_zone_virtual_network_link",
    "azurerm_private_dns_a_record",
    "azurerm_private_dns_aaaa_record",
    "azurerm_private_dns_cname_record",
    "azurerm_private_dns_ptr_record",
    "azurerm_private_dns_txt_record",
];

struct Builder<'p> {
    plan: &'p Plan,
    rgs: Vec<Value>,
    /// Lower-case group name → its location, for the groups seen so far.
    rg_locations: HashMap<String, String>,
    notes: Vec<String>,
}

/// Lists of topology entries keyed by (group, name) for the resources
/// that later ones attach to.
#[derive(Default)]
struct Keyed {
    items: Vec<Value>,
    at: HashMap<(String, String), usize>,
}

impl Keyed {
    fn push(&mut self, k: (String, String), v: Value) {
        self.at.insert(k, self.items.len());
        self.items.push(v);
    }
    fn get_mut(&mut self, k: &(String, String)) -> Option<&mut Value> {
        self.at.get(k).map(|i| &mut self.items[*i])
    }
}

impl<'p> Builder<'p> {
    fn new(plan: &'p Plan) -> Self {
        Builder {
            plan,
            rgs: Vec::new(),
            rg_locations: HashMap::new(),
            notes: Vec::new(),
        }
    }

    fn value_at(&self, r: &'p Res, path: &[Seg]) -> Option<&'p Value> {
        match self.plan.get(r, path)? {
            Got::Value(v) => Some(v),
            Got::IdOf(_) => None,
        }
    }

    fn text_at(&self, r: &'p Res, path: &[Seg]) -> Option<String> {
        match self.value_at(r, path)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    fn text(&self, r: &'p Res, k: &str) -> Option<String> {
        self.text_at(r, &[Seg::Key(k)])
    }

    fn need(&self, r: &'p Res, k: &str) -> Result<String, ImportError> {
        self.text(r, k).ok_or_else(|| ImportError::Unresolved {
            address: r.address.clone(),
            attribute: k.into(),
        })
    }

    fn flag(&self, r: &'p Res, keys: &[&str]) -> Option<bool> {
        keys.iter().find_map(|k| self.value_at(r, &[Seg::Key(k)])?.as_bool())
    }

    fn number_at(&self, r: &'p Res, path: &[Seg]) -> Option<u64> {
        let v = self.value_at(r, path)?;
        v.as_u64().or_else(|| v.as_str()?.parse().ok())
    }

    fn strings_at(&self, r: &'p Res, path: &[Seg]) -> Vec<String> {
        self.value_at(r, path)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn count(&self, r: &'p Res, k: &str) -> usize {
        self.value_at(r, &[Seg::Key(k)])
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }

    /// Where the reference at `path` leads: an ID the plan knows, or the
    /// resource whose unknown ID it takes.
    fn target_at(&self, r: &'p Res, path: &[Seg]) -> Option<Target> {
        match self.plan.get(r, path)? {
            Got::Value(Value::String(id)) => parse_id(id),
            Got::Value(_) => None,
            Got::IdOf(t) => self.target_of(t),
        }
    }

    fn need_target(&self, r: &'p Res, path: &[Seg], what: &str) -> Result<Target, ImportError> {
        self.target_at(r, path).ok_or_else(|| ImportError::Unresolved {
            address: r.address.clone(),
            attribute: what.into(),
        })
    }

    fn target(&self, r: &'p Res, k: &str) -> Option<Target> {
        self.target_at(r, &[Seg::Key(k)])
    }

    fn target_of(&self, t: &'p Res) -> Option<Target> {
        let name = self.text(t, "name")?;
        // Child resources name their parent by name, or by the parent's ID.
        let by_name = |k: &str| self.text(t, k);
        let by_id = |k: &str| self.target(t, k);
        let (rg, parent) = match t.kind.as_str() {
            "azurerm_subnet" => (self.text(t, "resource_group_name")?, by_name("virtual_network_name")),
            "azurerm_lb_backend_address_pool" | "azurerm_lb_probe" | "azurerm_lb_rule" => {
                let lb = by_id("loadbalancer_id")?;
                (lb.rg, Some(lb.name))
            }
            "azurerm_route_server_bgp_connection" => {
                let rs = by_id("route_server_id")?;
                (rs.rg, Some(rs.name))
            }
            _ => (self.text(t, "resource_group_name")?, None),
        };
        Some(Target { rg, name, parent })
    }

    /// The group a resource is in, added to `resourceGroups` if the plan
    /// does not create it (an existing group read with a data source).
    fn group(&mut self, r: &'p Res) -> Result<String, ImportError> {
        let rg = self.need(r, "resource_group_name")?;
        self.see_group(&rg, self.text(r, "location"), &r.address);
        Ok(rg)
    }

    fn see_group(&mut self, rg: &str, location: Option<String>, address: &str) {
        if self.rg_locations.contains_key(&rg.to_ascii_lowercase()) {
            return;
        }
        let location = location.unwrap_or_else(|| "westeurope".into());
        self.notes.push(format!(
            "resource group '{rg}' (used by {address}) is not created by the plan: added in {location}"
        ));
        self.rg_locations.insert(rg.to_ascii_lowercase(), location.clone());
        self.rgs.push(json!({"name": rg, "location": location}));
    }

    fn base(&mut self, r: &'p Res) -> Result<Map<String, Value>, ImportError> {
        let rg = self.group(r)?;
        let mut m = Map::new();
        m.insert("name".into(), self.need(r, "name")?.into());
        m.insert("resourceGroup".into(), rg.into());
        if let Some(l) = self.text(r, "location") {
            m.insert("location".into(), l.into());
        }
        Ok(m)
    }

    fn build(mut self) -> Result<Import, ImportError> {
        for r in of(self.plan, "azurerm_resource_group") {
            let name = self.need(r, "name")?;
            let location = self.need(r, "location")?;
            self.rg_locations.insert(name.to_ascii_lowercase(), location.clone());
            self.rgs.push(json!({"name": name, "location": location}));
        }
        let mut t = Map::new();
        let nsgs = self.nsgs()?;
        let route_tables = self.route_tables()?;
        let vnets = self.vnets()?;
        let vms = self.vms()?;
        let gateways = self.gateways()?;
        let local_gateways = self.local_gateways()?;
        let connections = self.connections()?;
        let route_servers = self.route_servers()?;
        let lbs = self.load_balancers(&vms.1)?;
        let redis = self.redis_caches()?;
        let pes = self.private_endpoints()?;
        let zones = self.dns_zones()?;
        t.insert("resourceGroups".into(), Value::Array(std::mem::take(&mut self.rgs)));
        let lists = [
            ("networkSecurityGroups", nsgs),
            ("routeTables", route_tables),
            ("virtualNetworks", vnets),
            ("virtualNetworkGateways", gateways),
            ("routeServers", route_servers),
            ("virtualMachines", vms.0),
            ("localNetworkGateways", local_gateways),
            ("connections", connections),
            ("loadBalancers", lbs),
            ("redisCaches", redis),
            ("privateEndpoints", pes),
            ("privateDnsZones", zones),
        ];
        for (k, v) in lists {
            if !v.is_empty() {
                t.insert(k.into(), Value::Array(v));
            }
        }
        let not_emulated = self
            .plan
            .resources
            .iter()
            .filter(|r| !EMULATED.contains(&r.kind.as_str()))
            .map(|r| format!("{} ({})", r.address, r.kind))
            .collect();
        Ok(Import {
            topology: Value::Object(t),
            not_emulated,
            notes: self.notes,
        })
    }

    /// One security rule, inline (`security_rule` block) or its own resource.
    fn rule(&self, r: &'p Res, at: &[Seg]) -> Result<Value, ImportError> {
        let path = |k: &'static str| -> Vec<Seg> { at.iter().copied().chain([Seg::Key(k)]).collect() };
        let one_or_many = |single: &'static str, many: &'static str| {
            let list = self.strings_at(r, &path(many));
            if !list.is_empty() {
                return list;
            }
            vec![self.text_at(r, &path(single)).unwrap_or_else(|| "*".into())]
        };
        let name = self.text_at(r, &path("name")).ok_or_else(|| ImportError::Unresolved {
            address: r.address.clone(),
            attribute: "security rule name".into(),
        })?;
        let mut rule = json!({
            "name": name,
            "priority": self.number_at(r, &path("priority")).unwrap_or(0),
            "direction": self.text_at(r, &path("direction")).unwrap_or_else(|| "Inbound".into()),
            "access": self.text_at(r, &path("access")).unwrap_or_else(|| "Allow".into()),
            "protocol": self.text_at(r, &path("protocol")).unwrap_or_else(|| "*".into()),
            "sourceAddressPrefixes": one_or_many("source_address_prefix", "source_address_prefixes"),
            "sourcePortRanges": one_or_many("source_port_range", "source_port_ranges"),
            "destinationAddressPrefixes": one_or_many("destination_address_prefix", "destination_address_prefixes"),
            "destinationPortRanges": one_or_many("destination_port_range", "destination_port_ranges"),
        });
        if let Some(d) = self.text_at(r, &path("description")) {
            rule["description"] = d.into();
        }
        for asg in [
            "source_application_security_group_ids",
            "destination_application_security_group_ids",
        ] {
            if !self.strings_at(r, &path(asg)).is_empty() {
                return Err(ImportError::Unsupported {
                    address: r.address.clone(),
                    message: format!("rule {name}: application security groups ({asg}) are not emulated"),
                });
            }
        }
        Ok(rule)
    }

    fn nsgs(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Keyed::default();
        for r in of(self.plan, "azurerm_network_security_group") {
            let mut m = self.base(r)?;
            let rules = (0..self.count(r, "security_rule"))
                .map(|i| self.rule(r, &[Seg::Key("security_rule"), Seg::Idx(i)]))
                .collect::<Result<Vec<_>, _>>()?;
            m.insert("rules".into(), rules.into());
            out.push(
                key(&self.need(r, "resource_group_name")?, &self.need(r, "name")?),
                m.into(),
            );
        }
        for r in of(self.plan, "azurerm_network_security_rule") {
            let k = key(
                &self.need(r, "resource_group_name")?,
                &self.need(r, "network_security_group_name")?,
            );
            let rule = self.rule(r, &[])?;
            let nsg = out
                .get_mut(&k)
                .ok_or_else(|| missing(r, "network security group", &k))?;
            push(nsg, "rules", rule);
        }
        Ok(out.items)
    }

    fn route(&self, r: &'p Res, at: &[Seg]) -> Result<Value, ImportError> {
        let path = |k: &'static str| -> Vec<Seg> { at.iter().copied().chain([Seg::Key(k)]).collect() };
        let need = |k: &'static str| {
            self.text_at(r, &path(k)).ok_or_else(|| ImportError::Unresolved {
                address: r.address.clone(),
                attribute: format!("route {k}"),
            })
        };
        let mut route = json!({
            "name": need("name")?,
            "addressPrefix": need("address_prefix")?,
            "nextHopType": need("next_hop_type")?,
        });
        if let Some(ip) = self.text_at(r, &path("next_hop_in_ip_address")) {
            route["nextHopIpAddress"] = ip.into();
        }
        Ok(route)
    }

    fn route_tables(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Keyed::default();
        for r in of(self.plan, "azurerm_route_table") {
            let mut m = self.base(r)?;
            // 4.x: bgp_route_propagation_enabled; 3.x: disable_bgp_route_propagation.
            let disabled = match self.flag(r, &["bgp_route_propagation_enabled"]) {
                Some(enabled) => !enabled,
                None => self.flag(r, &["disable_bgp_route_propagation"]).unwrap_or(false),
            };
            if disabled {
                m.insert("disableBgpRoutePropagation".into(), true.into());
            }
            let routes = (0..self.count(r, "route"))
                .map(|i| self.route(r, &[Seg::Key("route"), Seg::Idx(i)]))
                .collect::<Result<Vec<_>, _>>()?;
            m.insert("routes".into(), routes.into());
            out.push(
                key(&self.need(r, "resource_group_name")?, &self.need(r, "name")?),
                m.into(),
            );
        }
        for r in of(self.plan, "azurerm_route") {
            let k = key(
                &self.need(r, "resource_group_name")?,
                &self.need(r, "route_table_name")?,
            );
            let route = self.route(r, &[])?;
            let table = out.get_mut(&k).ok_or_else(|| missing(r, "route table", &k))?;
            push(table, "routes", route);
        }
        Ok(out.items)
    }

    fn vnets(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Keyed::default();
        for r in of(self.plan, "azurerm_virtual_network") {
            let mut m = self.base(r)?;
            m.insert(
                "addressPrefixes".into(),
                self.strings_at(r, &[Seg::Key("address_space")]).into(),
            );
            let dns = self.strings_at(r, &[Seg::Key("dns_servers")]);
            if !dns.is_empty() {
                m.insert("dnsServers".into(), dns.into());
            }
            if let Some(f) = self.number_at(r, &[Seg::Key("flow_timeout_in_minutes")]) {
                m.insert("flowTimeoutInMinutes".into(), f.into());
            }
            let mut subnets = Vec::new();
            for i in 0..self.count(r, "subnet") {
                let at = |k: &'static str| [Seg::Key("subnet"), Seg::Idx(i), Seg::Key(k)];
                let mut prefixes = self.strings_at(r, &at("address_prefixes"));
                prefixes.extend(self.text_at(r, &at("address_prefix")));
                let mut s = json!({
                    "name": self.text_at(r, &at("name")).unwrap_or_default(),
                    "addressPrefix": self.first_prefix(r, prefixes)?,
                });
                if let Some(nsg) = self.target_at(r, &at("security_group")) {
                    s["networkSecurityGroup"] = nsg.rg_name().into();
                }
                subnets.push(s);
            }
            m.insert("subnets".into(), subnets.into());
            m.insert("peerings".into(), Value::Array(Vec::new()));
            out.push(
                key(&self.need(r, "resource_group_name")?, &self.need(r, "name")?),
                m.into(),
            );
        }
        for r in of(self.plan, "azurerm_subnet") {
            let k = key(
                &self.need(r, "resource_group_name")?,
                &self.need(r, "virtual_network_name")?,
            );
            let prefixes = self.strings_at(r, &[Seg::Key("address_prefixes")]);
            let mut s = json!({"name": self.need(r, "name")?, "addressPrefix": self.first_prefix(r, prefixes)?});
            if let Some(d) = self.flag(r, &["default_outbound_access_enabled"]) {
                s["defaultOutboundAccess"] = d.into();
            }
            let vnet = out.get_mut(&k).ok_or_else(|| missing(r, "virtual network", &k))?;
            push(vnet, "subnets", s);
        }
        for (kind, field, what, id) in [
            (
                "azurerm_subnet_network_security_group_association",
                "networkSecurityGroup",
                "network security group",
                "network_security_group_id",
            ),
            (
                "azurerm_subnet_route_table_association",
                "routeTable",
                "route table",
                "route_table_id",
            ),
        ] {
            for r in of(self.plan, kind) {
                let subnet = self.need_target(r, &[Seg::Key("subnet_id")], "subnet_id")?;
                let to = self.need_target(r, &[Seg::Key(id)], id)?;
                let s = self.subnet_mut(&mut out, r, &subnet)?;
                if s.get(field).is_some() {
                    self.notes.push(format!(
                        "{}: the subnet has its {what} already; this one wins",
                        r.address
                    ));
                }
                s[field] = to.rg_name().into();
            }
        }
        for r in of(self.plan, "azurerm_virtual_network_peering") {
            let k = key(
                &self.need(r, "resource_group_name")?,
                &self.need(r, "virtual_network_name")?,
            );
            let remote = self.need_target(r, &[Seg::Key("remote_virtual_network_id")], "remote_virtual_network_id")?;
            // azurerm's defaults: access true, the others false.
            let p = json!({
                "name": self.need(r, "name")?,
                "remoteVirtualNetwork": remote.rg_name(),
                "allowVirtualNetworkAccess": self.flag(r, &["allow_virtual_network_access"]).unwrap_or(true),
                "allowForwardedTraffic": self.flag(r, &["allow_forwarded_traffic"]).unwrap_or(false),
                "allowGatewayTransit": self.flag(r, &["allow_gateway_transit"]).unwrap_or(false),
                "useRemoteGateways": self.flag(r, &["use_remote_gateways"]).unwrap_or(false),
            });
            let vnet = out.get_mut(&k).ok_or_else(|| missing(r, "virtual network", &k))?;
            push(vnet, "peerings", p);
        }
        Ok(out.items)
    }

    fn first_prefix(&mut self, r: &'p Res, prefixes: Vec<String>) -> Result<String, ImportError> {
        if prefixes.len() > 1 {
            self.notes.push(format!(
                "{}: a subnet holds one prefix in the model; {} kept, {} left out",
                r.address,
                prefixes[0],
                prefixes[1..].join(", ")
            ));
        }
        prefixes.into_iter().next().ok_or_else(|| ImportError::Unresolved {
            address: r.address.clone(),
            attribute: "address_prefixes".into(),
        })
    }

    fn subnet_mut<'a>(&self, vnets: &'a mut Keyed, r: &Res, s: &Target) -> Result<&'a mut Value, ImportError> {
        let vnet_name = s.parent.clone().unwrap_or_default();
        let k = key(&s.rg, &vnet_name);
        let vnet = vnets.get_mut(&k).ok_or_else(|| missing(r, "virtual network", &k))?;
        vnet["subnets"]
            .as_array_mut()
            .and_then(|a| {
                a.iter_mut()
                    .find(|x| x["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&s.name)))
            })
            .ok_or_else(|| missing(r, "subnet", &key(&s.rg, &format!("{vnet_name}/{}", s.name))))
    }

    /// VMs with their primary NIC folded in, as the topology makes them;
    /// also which VM each NIC (by group and name) belongs to.
    fn vms(&mut self) -> Result<(Vec<Value>, NicOwners), ImportError> {
        let nics: HashMap<(String, String), &Res> = of(self.plan, "azurerm_network_interface")
            .filter_map(|n| Some((key(&self.text(n, "resource_group_name")?, &self.text(n, "name")?), n)))
            .collect();
        let mut nic_nsg = HashMap::new();
        for a in of(self.plan, "azurerm_network_interface_security_group_association") {
            let nic = self.need_target(a, &[Seg::Key("network_interface_id")], "network_interface_id")?;
            let nsg = self.need_target(a, &[Seg::Key("network_security_group_id")], "network_security_group_id")?;
            nic_nsg.insert(key(&nic.rg, &nic.name), nsg);
        }
        let public_ips: HashMap<(String, String), &Res> = of(self.plan, "azurerm_public_ip")
            .filter_map(|p| Some((key(&self.text(p, "resource_group_name")?, &self.text(p, "name")?), p)))
            .collect();
        let mut used_ips = Vec::new();
        let mut vms = Vec::new();
        let mut owner = HashMap::new();
        let kinds = ["azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine"];
        let all: Vec<&Res> = kinds.iter().flat_map(|k| of(self.plan, k)).collect();
        for r in all {
            let mut m = self.base(r)?;
            let vm_name = self.need(r, "name")?;
            let vm_rg = self.need(r, "resource_group_name")?;
            let nic_ids = self
                .value_at(r, &[Seg::Key("network_interface_ids")])
                .and_then(Value::as_array);
            let n_nics = nic_ids.map_or(1, Vec::len);
            if n_nics > 1 {
                self.notes.push(format!(
                    "{}: the model gives a VM one NIC; the first of {n_nics} imported",
                    r.address
                ));
            }
            let nic_t = self.need_target(
                r,
                &[Seg::Key("network_interface_ids"), Seg::Idx(0)],
                "network_interface_ids[0]",
            )?;
            let nic_k = key(&nic_t.rg, &nic_t.name);
            let nic = *nics
                .get(&nic_k)
                .ok_or_else(|| missing(r, "network interface", &nic_k))?;
            owner.insert(nic_k.clone(), vm_name.clone());
            let ipc = |k: &'static str| [Seg::Key("ip_configuration"), Seg::Idx(0), Seg::Key(k)];
            let subnet = self.need_target(nic, &ipc("subnet_id"), "ip_configuration[0].subnet_id")?;
            m.insert("vnet".into(), subnet.parent_ref().unwrap_or_default().into());
            m.insert("subnet".into(), subnet.name.clone().into());
            let allocation = self.text_at(nic, &ipc("private_ip_address_allocation"));
            if allocation.is_some_and(|a| a.eq_ignore_ascii_case("static"))
                && let Some(ip) = self.text_at(nic, &ipc("private_ip_address"))
            {
                m.insert("privateIpAddress".into(), ip.into());
            }
            let pip = self.target_at(nic, &ipc("public_ip_address_id"));
            match pip {
                Some(p) => {
                    let pk = key(&p.rg, &p.name);
                    let sku = public_ips
                        .get(&pk)
                        .and_then(|x| self.text(x, "sku"))
                        .unwrap_or_else(|| "Standard".into());
                    used_ips.push(pk);
                    m.insert("publicIpAddress".into(), p.name.into());
                    m.insert("publicIpSku".into(), sku.into());
                }
                None => {
                    m.insert("publicIpAddress".into(), "".into());
                }
            }
            let nsg = match nic_nsg.get(&nic_k) {
                Some(nsg) if !nsg.rg.eq_ignore_ascii_case(&vm_rg) => {
                    return Err(ImportError::Unsupported {
                        address: r.address.clone(),
                        message: format!(
                            "its NIC's NSG {} is in another resource group; the topology keeps a VM's NSG in the VM's group",
                            nsg.rg_name()
                        ),
                    });
                }
                Some(nsg) => nsg.name.clone(),
                None => String::new(),
            };
            m.insert("nsg".into(), nsg.into());
            if self.flag(nic, &["ip_forwarding_enabled", "enable_ip_forwarding"]) == Some(true) {
                m.insert("ipForwarding".into(), true.into());
            }
            if let Some(u) = self.text(r, "admin_username") {
                m.insert("adminUsername".into(), u.into());
            }
            if let Some(p) = self.text(r, "admin_password") {
                m.insert("adminPassword".into(), p.into());
            }
            let keys: Vec<String> = (0..self.count(r, "admin_ssh_key"))
                .filter_map(|i| self.text_at(r, &[Seg::Key("admin_ssh_key"), Seg::Idx(i), Seg::Key("public_key")]))
                .collect();
            if !keys.is_empty() {
                m.insert("sshPublicKeys".into(), keys.into());
            }
            let img =
                |k: &'static str| self.text_at(r, &[Seg::Key("source_image_reference"), Seg::Idx(0), Seg::Key(k)]);
            if let (Some(p), Some(o), Some(s)) = (img("publisher"), img("offer"), img("sku")) {
                let v = img("version").unwrap_or_else(|| "latest".into());
                m.insert("image".into(), format!("{p}:{o}:{s}:{v}").into());
            } else if r.kind == "azurerm_windows_virtual_machine" {
                m.insert("image".into(), "Win2022Datacenter".into());
            }
            if let Some(s) = self.text(r, "size") {
                m.insert("size".into(), s.into());
            }
            vms.push(Value::Object(m));
        }
        for (k, n) in &nics {
            if !owner.contains_key(k) {
                self.notes
                    .push(format!("{}: a NIC no VM uses is not imported", n.address));
            }
        }
        for (k, p) in &public_ips {
            if !used_ips.contains(k) {
                self.notes.push(format!(
                    "{}: a public IP not on a VM's NIC is implied by what uses it (gateway, Route Server)",
                    p.address
                ));
            }
        }
        Ok((vms, owner))
    }

    fn gateways(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Vec::new();
        for r in of(self.plan, "azurerm_virtual_network_gateway") {
            let mut m = self.base(r)?;
            let subnet = self.need_target(
                r,
                &[Seg::Key("ip_configuration"), Seg::Idx(0), Seg::Key("subnet_id")],
                "ip_configuration[0].subnet_id",
            )?;
            m.insert("vnet".into(), subnet.parent_ref().unwrap_or_default().into());
            m.insert("gatewayType".into(), self.need(r, "type")?.into());
            if let Some(s) = self.text(r, "sku") {
                m.insert("sku".into(), s.into());
            }
            if self.flag(r, &["active_active"]) == Some(true) {
                m.insert("activeActive".into(), true.into());
            }
            if self.flag(r, &["bgp_enabled", "enable_bgp"]) == Some(true) {
                m.insert("enableBgp".into(), true.into());
            }
            if let Some(asn) = self.number_at(r, &[Seg::Key("bgp_settings"), Seg::Idx(0), Seg::Key("asn")]) {
                m.insert("asn".into(), asn.into());
            }
            out.push(m.into());
        }
        Ok(out)
    }

    fn local_gateways(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Vec::new();
        for r in of(self.plan, "azurerm_local_network_gateway") {
            let mut m = self.base(r)?;
            m.insert("gatewayIpAddress".into(), self.need(r, "gateway_address")?.into());
            m.insert(
                "localAddressPrefixes".into(),
                self.strings_at(r, &[Seg::Key("address_space")]).into(),
            );
            let bgp = |k: &'static str| [Seg::Key("bgp_settings"), Seg::Idx(0), Seg::Key(k)];
            if let Some(asn) = self.number_at(r, &bgp("asn")) {
                m.insert("asn".into(), asn.into());
            }
            if let Some(a) = self.text_at(r, &bgp("bgp_peering_address")) {
                m.insert("bgpPeeringAddress".into(), a.into());
            }
            out.push(m.into());
        }
        Ok(out)
    }

    fn connections(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Vec::new();
        for r in of(self.plan, "azurerm_virtual_network_gateway_connection") {
            let mut m = self.base(r)?;
            let gw1 = self.need_target(
                r,
                &[Seg::Key("virtual_network_gateway_id")],
                "virtual_network_gateway_id",
            )?;
            m.insert("vnetGateway1".into(), gw1.rg_name().into());
            match (
                self.target(r, "peer_virtual_network_gateway_id"),
                self.target(r, "local_network_gateway_id"),
            ) {
                (Some(gw2), _) => m.insert("vnetGateway2".into(), gw2.rg_name().into()),
                (None, Some(lgw)) => m.insert("localGateway2".into(), lgw.rg_name().into()),
                (None, None) => {
                    return Err(ImportError::Unsupported {
                        address: r.address.clone(),
                        message: "only IPsec (local_network_gateway_id) and Vnet2Vnet (peer_virtual_network_gateway_id) connections are emulated".into(),
                    });
                }
            };
            if let Some(k) = self.text(r, "shared_key") {
                m.insert("sharedKey".into(), k.into());
            }
            if self.flag(r, &["bgp_enabled", "enable_bgp"]) == Some(true) {
                m.insert("enableBgp".into(), true.into());
            }
            out.push(m.into());
        }
        Ok(out)
    }

    fn route_servers(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Keyed::default();
        for r in of(self.plan, "azurerm_route_server") {
            let mut m = self.base(r)?;
            let subnet = self.need_target(r, &[Seg::Key("subnet_id")], "subnet_id")?;
            m.insert("vnet".into(), subnet.parent_ref().unwrap_or_default().into());
            m.insert("subnet".into(), subnet.name.into());
            if self.flag(r, &["branch_to_branch_traffic_enabled"]) == Some(true) {
                m.insert("allowBranchToBranchTraffic".into(), true.into());
            }
            m.insert("peerings".into(), Value::Array(Vec::new()));
            out.push(
                key(&self.need(r, "resource_group_name")?, &self.need(r, "name")?),
                m.into(),
            );
        }
        for r in of(self.plan, "azurerm_route_server_bgp_connection") {
            let rs = self.need_target(r, &[Seg::Key("route_server_id")], "route_server_id")?;
            let k = key(&rs.rg, &rs.name);
            let p = json!({
                "name": self.need(r, "name")?,
                "peerIp": self.need(r, "peer_ip")?,
                "peerAsn": self.number_at(r, &[Seg::Key("peer_asn")]).unwrap_or(0),
            });
            let server = out.get_mut(&k).ok_or_else(|| missing(r, "route server", &k))?;
            push(server, "peerings", p);
        }
        Ok(out.items)
    }

    fn load_balancers(&mut self, nic_owner: &NicOwners) -> Result<Vec<Value>, ImportError> {
        let mut out = Keyed::default();
        for r in of(self.plan, "azurerm_lb") {
            let mut m = self.base(r)?;
            if let Some(s) = self.text(r, "sku") {
                m.insert("sku".into(), s.into());
            }
            let fe = |k: &'static str| [Seg::Key("frontend_ip_configuration"), Seg::Idx(0), Seg::Key(k)];
            if self.target_at(r, &fe("public_ip_address_id")).is_some() {
                return Err(ImportError::Unsupported {
                    address: r.address.clone(),
                    message: "a public load balancer is not emulated (the model's load balancers are internal: frontend in a subnet)".into(),
                });
            }
            let subnet = self.need_target(r, &fe("subnet_id"), "frontend_ip_configuration[0].subnet_id")?;
            m.insert("vnet".into(), subnet.parent_ref().unwrap_or_default().into());
            m.insert("subnet".into(), subnet.name.into());
            if let Some(n) = self.text_at(r, &fe("name")) {
                m.insert("frontendName".into(), n.into());
            }
            let allocation = self.text_at(r, &fe("private_ip_address_allocation"));
            if allocation.is_some_and(|a| a.eq_ignore_ascii_case("static"))
                && let Some(ip) = self.text_at(r, &fe("private_ip_address"))
            {
                m.insert("privateIpAddress".into(), ip.into());
            }
            for k in ["backends", "probes", "rules"] {
                m.insert(k.into(), Value::Array(Vec::new()));
            }
            out.push(
                key(&self.need(r, "resource_group_name")?, &self.need(r, "name")?),
                m.into(),
            );
        }
        let lb_of = |b: &Self, r: &'p Res| -> Result<(String, String), ImportError> {
            let lb = b.need_target(r, &[Seg::Key("loadbalancer_id")], "loadbalancer_id")?;
            Ok(key(&lb.rg, &lb.name))
        };
        for r in of(self.plan, "azurerm_lb_backend_address_pool") {
            let k = lb_of(self, r)?;
            let name = self.need(r, "name")?;
            let lb = out.get_mut(&k).ok_or_else(|| missing(r, "load balancer", &k))?;
            lb["backendPoolName"] = name.into();
        }
        for r in of(self.plan, "azurerm_lb_probe") {
            let k = lb_of(self, r)?;
            let mut p = json!({
                "name": self.need(r, "name")?,
                "protocol": self.text(r, "protocol").unwrap_or_else(|| "Tcp".into()),
                "port": self.number_at(r, &[Seg::Key("port")]).unwrap_or(0),
            });
            if let Some(path) = self.text(r, "request_path") {
                p["path"] = path.into();
            }
            if let Some(i) = self.number_at(r, &[Seg::Key("interval_in_seconds")]) {
                p["interval"] = i.into();
            }
            let threshold = self
                .number_at(r, &[Seg::Key("probe_threshold")])
                .or_else(|| self.number_at(r, &[Seg::Key("number_of_probes")]));
            if let Some(t) = threshold {
                p["threshold"] = t.into();
            }
            let lb = out.get_mut(&k).ok_or_else(|| missing(r, "load balancer", &k))?;
            push(lb, "probes", p);
        }
        for r in of(self.plan, "azurerm_lb_rule") {
            let k = lb_of(self, r)?;
            let mut x = json!({
                "name": self.need(r, "name")?,
                "protocol": self.text(r, "protocol").unwrap_or_else(|| "Tcp".into()),
                "frontendPort": self.number_at(r, &[Seg::Key("frontend_port")]).unwrap_or(0),
                "backendPort": self.number_at(r, &[Seg::Key("backend_port")]).unwrap_or(0),
            });
            if let Some(p) = self.target(r, "probe_id") {
                x["probe"] = p.name.into();
            }
            if let Some(t) = self.number_at(r, &[Seg::Key("idle_timeout_in_minutes")]) {
                x["idleTimeout"] = t.into();
            }
            // azurerm also spells them "None", "Client IP", "Client IP and Protocol".
            let ld = match self.text(r, "load_distribution").as_deref() {
                Some("Client IP") => Some("SourceIP".to_string()),
                Some("Client IP and Protocol") => Some("SourceIPProtocol".to_string()),
                Some("None") | None => None,
                Some(other) => Some(other.to_string()),
            };
            if let Some(ld) = ld {
                x["loadDistribution"] = ld.into();
            }
            let lb = out.get_mut(&k).ok_or_else(|| missing(r, "load balancer", &k))?;
            push(lb, "rules", x);
        }
        for r in of(self.plan, "azurerm_network_interface_backend_address_pool_association") {
            let nic = self.need_target(r, &[Seg::Key("network_interface_id")], "network_interface_id")?;
            let pool = self.need_target(r, &[Seg::Key("backend_address_pool_id")], "backend_address_pool_id")?;
            let k = key(&pool.rg, pool.parent.as_deref().unwrap_or_default());
            let vm = nic_owner
                .get(&key(&nic.rg, &nic.name))
                .ok_or_else(|| ImportError::Unsupported {
                    address: r.address.clone(),
                    message: format!("NIC {} belongs to no VM of the plan", nic.rg_name()),
                })?;
            let lb = out.get_mut(&k).ok_or_else(|| missing(r, "load balancer", &k))?;
            push(lb, "backends", vm.clone().into());
        }
        Ok(out.items)
    }

    fn redis_caches(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Vec::new();
        for r in of(self.plan, "azurerm_redis_cache") {
            let mut m = self.base(r)?;
            m.insert("sku".into(), self.need(r, "sku_name")?.into());
            let family = self.need(r, "family")?;
            let capacity = self.number_at(r, &[Seg::Key("capacity")]).unwrap_or(0);
            m.insert("vmSize".into(), format!("{family}{capacity}").into());
            if let Some(s) = self.target(r, "subnet_id") {
                m.insert("vnet".into(), s.parent_ref().unwrap_or_default().into());
                m.insert("subnet".into(), s.name.into());
            }
            if let Some(ip) = self.text(r, "private_static_ip_address") {
                m.insert("staticIp".into(), ip.into());
            }
            if self.flag(r, &["non_ssl_port_enabled", "enable_non_ssl_port"]) == Some(true) {
                m.insert("enableNonSslPort".into(), true.into());
            }
            out.push(m.into());
        }
        Ok(out)
    }

    fn private_endpoints(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Vec::new();
        for r in of(self.plan, "azurerm_private_endpoint") {
            let mut m = self.base(r)?;
            let subnet = self.need_target(r, &[Seg::Key("subnet_id")], "subnet_id")?;
            m.insert("vnet".into(), subnet.parent_ref().unwrap_or_default().into());
            m.insert("subnet".into(), subnet.name.into());
            let psc = |k: &'static str| [Seg::Key("private_service_connection"), Seg::Idx(0), Seg::Key(k)];
            let to = self.plan.get(r, &psc("private_connection_resource_id"));
            let is_redis = match &to {
                Some(Got::IdOf(t)) => t.kind == "azurerm_redis_cache",
                Some(Got::Value(Value::String(id))) => id.to_ascii_lowercase().contains("/microsoft.cache/redis/"),
                _ => false,
            };
            if !is_redis {
                return Err(ImportError::Unsupported {
                    address: r.address.clone(),
                    message: "the model's private endpoints lead to Azure Cache for Redis only".into(),
                });
            }
            let cache = self.need_target(
                r,
                &psc("private_connection_resource_id"),
                "private_connection_resource_id",
            )?;
            m.insert("redisCache".into(), cache.rg_name().into());
            if let Some(n) = self.text_at(r, &psc("name")) {
                m.insert("connectionName".into(), n.into());
            }
            out.push(m.into());
        }
        Ok(out)
    }

    fn dns_zones(&mut self) -> Result<Vec<Value>, ImportError> {
        let mut out = Keyed::default();
        for r in of(self.plan, "azurerm_private_dns_zone") {
            let rg = self.group(r)?;
            let name = self.need(r, "name")?;
            out.push(
                key(&rg, &name),
                json!({"name": name, "resourceGroup": rg, "links": [], "records": []}),
            );
        }
        let zone_of = |b: &Self, r: &'p Res| -> Result<(String, String), ImportError> {
            Ok(key(&b.need(r, "resource_group_name")?, &b.need(r, "zone_name")?))
        };
        for r in of(self.plan, "azurerm_private_dns_zone_virtual_network_link") {
            let k = key(
                &self.need(r, "resource_group_name")?,
                &self.need(r, "private_dns_zone_name")?,
            );
            let vnet = self.need_target(r, &[Seg::Key("virtual_network_id")], "virtual_network_id")?;
            let link = json!({
                "name": self.need(r, "name")?,
                "vnet": vnet.rg_name(),
                "registrationEnabled": self.flag(r, &["registration_enabled"]).unwrap_or(false),
            });
            let zone = out.get_mut(&k).ok_or_else(|| missing(r, "private DNS zone", &k))?;
            push(zone, "links", link);
        }
        for (kind, rtype) in [
            ("azurerm_private_dns_a_record", "A"),
            ("azurerm_private_dns_aaaa_record", "AAAA"),
            ("azurerm_private_dns_cname_record", "CNAME"),
            ("azurerm_private_dns_ptr_record", "PTR"),
            ("azurerm_private_dns_txt_record", "TXT"),
        ] {
            for r in of(self.plan, kind) {
                let k = zone_of(self, r)?;
                let values = match rtype {
                    "CNAME" => vec![self.need(r, "record")?],
                    "TXT" => (0..self.count(r, "record"))
                        .filter_map(|i| self.text_at(r, &[Seg::Key("record"), Seg::Idx(i), Seg::Key("value")]))
                        .collect(),
                    _ => self.strings_at(r, &[Seg::Key("records")]),
                };
                let mut rec = json!({"name": self.need(r, "name")?, "type": rtype, "values": values});
                if let Some(ttl) = self.number_at(r, &[Seg::Key("ttl")]) {
                    rec["ttl"] = ttl.into();
                }
                let zone = out.get_mut(&k).ok_or_else(|| missing(r, "private DNS zone", &k))?;
                push(zone, "records", rec);
            }
        }
        Ok(out.items)
    }
}

/// The plan's resources of one azurerm type.
fn of<'p>(plan: &'p Plan, kind: &'p str) -> impl Iterator<Item = &'p Res> + 'p {
    plan.resources.iter().filter(move |r| r.kind == kind)
}

fn push(parent: &mut Value, list: &str, item: Value) {
    if let Some(a) = parent[list].as_array_mut() {
        a.push(item);
    }
}

fn missing(r: &Res, what: &str, k: &(String, String)) -> ImportError {
    ImportError::Unsupported {
        address: r.address.clone(),
        message: format!(
            "its {what} '{}' (group '{}') is not in the plan: the topology needs every resource it refers to",
            k.1, k.0
        ),
    }
}

#[cfg(test)]
mod tests;
