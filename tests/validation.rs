//! Bad input against the model, through the public API only.
//!
//! Every refusal test checks three things: the exact Azure error code, a
//! non-empty message that names the offending thing, and that the refused
//! change left the model exactly as it was.

use vnetlab::model::*;

const SUB: &str = DEFAULT_SUBSCRIPTION_ID;
const RG: &str = "lab-rg";
const LOC: &str = "westeurope";

// A second subscription in another tenant, for cross-tenant peering.
const SUB2: &str = "11111111-1111-4111-8111-111111111111";
const TENANT2: &str = "22222222-2222-4222-8222-222222222222";
const RG2: &str = "partner-rg";
const ALICE: &str = "alice@contoso.com";
const ALICE_ID: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

// ---------------------------------------------------------------- ids

fn id(kind: &str, name: &str) -> ResourceId {
    ResourceId::network(SUB, RG, kind, name)
}
fn vnet(name: &str) -> ResourceId {
    id("virtualNetworks", name)
}
fn subnet(v: &str, name: &str) -> ResourceId {
    vnet(v).child("subnets", name)
}
fn peering_id(v: &str, name: &str) -> ResourceId {
    vnet(v).child("virtualNetworkPeerings", name)
}
fn nsg(name: &str) -> ResourceId {
    id("networkSecurityGroups", name)
}
fn rt(name: &str) -> ResourceId {
    id("routeTables", name)
}
fn nic(name: &str) -> ResourceId {
    id("networkInterfaces", name)
}
fn pip(name: &str) -> ResourceId {
    id("publicIPAddresses", name)
}
fn gw(name: &str) -> ResourceId {
    id("virtualNetworkGateways", name)
}
fn rs(name: &str) -> ResourceId {
    id("virtualHubs", name)
}
fn vm(name: &str) -> ResourceId {
    ResourceId::resource(SUB, RG, COMPUTE, "virtualMachines", name)
}
fn partner_vnet() -> ResourceId {
    ResourceId::network(SUB2, RG2, "virtualNetworks", "partner-vnet")
}

// ---------------------------------------------------------------- specs

fn vnet_change(name: &str, prefixes: &[&str]) -> Change {
    vnet_change_id(vnet(name), prefixes)
}
fn vnet_change_id(id: ResourceId, prefixes: &[&str]) -> Change {
    Change::PutVirtualNetwork(VnetSpec {
        id,
        location: None,
        address_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        flow_timeout_in_minutes: None,
        dns_servers: None,
    })
}
fn subnet_spec(v: &str, name: &str, prefix: &str) -> SubnetSpec {
    SubnetSpec {
        id: subnet(v, name),
        address_prefix: prefix.into(),
        network_security_group: None,
        route_table: None,
        default_outbound_access: None,
    }
}
fn subnet_change(v: &str, name: &str, prefix: &str) -> Change {
    Change::PutSubnet(subnet_spec(v, name, prefix))
}
fn peering_spec(local: &str, name: &str, remote: ResourceId) -> PeeringSpec {
    PeeringSpec {
        id: peering_id(local, name),
        remote_virtual_network: remote,
        allow_virtual_network_access: true,
        allow_forwarded_traffic: false,
        allow_gateway_transit: false,
        use_remote_gateways: false,
        principal: None,
    }
}
fn peer(local: &str, name: &str, remote: &str) -> Change {
    Change::PutPeering(peering_spec(local, name, vnet(remote)))
}
fn nic_spec(name: &str, subnet_id: ResourceId) -> NicSpec {
    NicSpec {
        ip_configuration_name: None,
        id: nic(name),
        location: None,
        subnet: subnet_id,
        private_ip_address: None,
        enable_ip_forwarding: false,
        network_security_group: None,
        public_ip_address: None,
        dns_servers: None,
    }
}
fn nic_change(name: &str, subnet_id: ResourceId) -> Change {
    Change::PutNetworkInterface(nic_spec(name, subnet_id))
}
fn static_nic(name: &str, subnet_id: ResourceId, ip: &str) -> Change {
    Change::PutNetworkInterface(NicSpec {
        ip_configuration_name: None,
        private_ip_address: Some(ip.into()),
        ..nic_spec(name, subnet_id)
    })
}
fn vm_spec(id: ResourceId, nics: Vec<ResourceId>) -> VmSpec {
    VmSpec {
        id,
        location: None,
        size: "Standard_B1s".into(),
        image: "Ubuntu2204".into(),
        network_interfaces: nics,
        admin_username: "azureuser".into(),
        admin_password: None,
        ssh_public_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq1 azureuser@lab".into()],
    }
}
fn rule_spec(nsg_name: &str, name: &str, priority: i64) -> SecurityRuleSpec {
    SecurityRuleSpec {
        id: nsg(nsg_name).child("securityRules", name),
        priority,
        direction: "Inbound".into(),
        access: "Allow".into(),
        protocol: "Tcp".into(),
        source_address_prefixes: vec!["*".into()],
        source_port_ranges: vec!["*".into()],
        destination_address_prefixes: vec!["*".into()],
        destination_port_ranges: vec!["22".into()],
        description: None,
    }
}
fn route_spec(table: &str, name: &str, prefix: &str, hop: &str, ip: Option<&str>) -> RouteSpec {
    RouteSpec {
        id: rt(table).child("routes", name),
        address_prefix: prefix.into(),
        next_hop_type: hop.into(),
        next_hop_ip_address: ip.map(Into::into),
    }
}
fn gateway_spec(name: &str, v: &str) -> GatewaySpec {
    GatewaySpec {
        id: gw(name),
        location: None,
        virtual_network: vnet(v),
        gateway_type: GatewayType::Vpn,
        sku: "VpnGw1".into(),
        active_active: false,
        enable_bgp: false,
        asn: None,
        public_ip_addresses: vec![],
        vpn_type: VpnType::RouteBased,
        vpn_gateway_generation: None,
    }
}
fn route_server_change(name: &str, hosted: ResourceId) -> Change {
    Change::PutRouteServer(RouteServerSpec {
        id: rs(name),
        location: None,
        hosted_subnet: hosted,
        allow_branch_to_branch_traffic: false,
        public_ip_address: None,
        bgp_hold_secs: None,
    })
}

fn ok(m: &mut Model, c: Change) {
    let shown = format!("{c:?}");
    if let Err(e) = m.apply(c) {
        panic!("setup change refused: {e}\n{shown}");
    }
}

/// Applies `c`, expects `code`, a message naming `mentions`, and an
/// untouched model. Returns the error for further checks.
fn refused(m: &mut Model, c: Change, code: ErrorCode, mentions: &str) -> AzureError {
    let before = m.clone();
    let shown = format!("{c:?}");
    let e = match m.apply(c) {
        Ok(()) => panic!("change was accepted, expected {code}: {shown}"),
        Err(e) => e,
    };
    assert_eq!(e.code, code, "wrong code; message: {}", e.message);
    assert!(!e.message.trim().is_empty(), "empty message for {code}");
    assert!(
        e.message.to_lowercase().contains(&mentions.to_lowercase()),
        "message does not mention {mentions:?}: {}",
        e.message
    );
    assert!(*m == before, "a refused change modified the model: {shown}");
    e
}

// ---------------------------------------------------------------- base model

/// A hub-and-spoke lab:
/// - hub-vnet 10.0.0.0/16: GatewaySubnet 10.0.255.0/27 with VPN gateway
///   hub-gw, shared 10.0.1.0/24;
/// - spoke1-vnet 10.1.0.0/16: apps 10.1.1.0/24 (apps-nsg, apps-rt),
///   tiny 10.1.2.0/29; peered with the hub, using the hub's gateway;
/// - spoke2-vnet 10.2.0.0/16: web 10.2.1.0/24; peered with the hub;
/// - lonely-vnet 10.9.0.0/16: default 10.9.0.0/24; not peered;
/// - vm1 with vm1-nic (10.1.1.4) and vm1-pip in spoke1/apps.
fn base() -> Model {
    let mut m = Model::new();
    ok(
        &mut m,
        Change::PutResourceGroup {
            subscription: SUB.into(),
            name: RG.into(),
            location: LOC.into(),
        },
    );
    ok(&mut m, vnet_change("hub-vnet", &["10.0.0.0/16"]));
    ok(&mut m, subnet_change("hub-vnet", "GatewaySubnet", "10.0.255.0/27"));
    ok(&mut m, subnet_change("hub-vnet", "shared", "10.0.1.0/24"));
    ok(
        &mut m,
        Change::PutVirtualNetworkGateway(gateway_spec("hub-gw", "hub-vnet")),
    );

    ok(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("apps-nsg"),
            location: None,
        },
    );
    ok(&mut m, Change::PutSecurityRule(rule_spec("apps-nsg", "allow-ssh", 100)));
    ok(
        &mut m,
        Change::PutRouteTable {
            id: rt("apps-rt"),
            location: None,
            disable_bgp_route_propagation: false,
        },
    );
    ok(
        &mut m,
        Change::PutRoute(route_spec(
            "apps-rt",
            "to-fw",
            "0.0.0.0/0",
            "VirtualAppliance",
            Some("10.0.1.4"),
        )),
    );

    ok(&mut m, vnet_change("spoke1-vnet", &["10.1.0.0/16"]));
    ok(
        &mut m,
        Change::PutSubnet(SubnetSpec {
            network_security_group: Some(nsg("apps-nsg")),
            route_table: Some(rt("apps-rt")),
            ..subnet_spec("spoke1-vnet", "apps", "10.1.1.0/24")
        }),
    );
    ok(&mut m, subnet_change("spoke1-vnet", "tiny", "10.1.2.0/29"));

    ok(&mut m, vnet_change("spoke2-vnet", &["10.2.0.0/16"]));
    ok(&mut m, subnet_change("spoke2-vnet", "web", "10.2.1.0/24"));

    ok(&mut m, vnet_change("lonely-vnet", &["10.9.0.0/16"]));
    ok(&mut m, subnet_change("lonely-vnet", "default", "10.9.0.0/24"));

    ok(
        &mut m,
        Change::PutPeering(PeeringSpec {
            allow_gateway_transit: true,
            ..peering_spec("hub-vnet", "hub-to-spoke1", vnet("spoke1-vnet"))
        }),
    );
    ok(
        &mut m,
        Change::PutPeering(PeeringSpec {
            use_remote_gateways: true,
            ..peering_spec("spoke1-vnet", "spoke1-to-hub", vnet("hub-vnet"))
        }),
    );
    ok(&mut m, peer("hub-vnet", "hub-to-spoke2", "spoke2-vnet"));
    ok(&mut m, peer("spoke2-vnet", "spoke2-to-hub", "hub-vnet"));

    ok(
        &mut m,
        Change::PutPublicIp(PublicIpSpec {
            id: pip("vm1-pip"),
            location: None,
            sku: PublicIpSku::Standard,
        }),
    );
    ok(
        &mut m,
        Change::PutNetworkInterface(NicSpec {
            ip_configuration_name: None,
            public_ip_address: Some(pip("vm1-pip")),
            ..nic_spec("vm1-nic", subnet("spoke1-vnet", "apps"))
        }),
    );
    ok(
        &mut m,
        Change::PutVirtualMachine(vm_spec(vm("vm1"), vec![nic("vm1-nic")])),
    );
    m
}

/// Adds a VNet with a GatewaySubnet (and, if asked, a VPN gateway).
fn add_gateway_vnet(m: &mut Model, name: &str, prefix: &str, gateway_subnet: &str, with_gateway: bool) {
    ok(m, vnet_change(name, &[prefix]));
    ok(m, subnet_change(name, "GatewaySubnet", gateway_subnet));
    if with_gateway {
        ok(
            m,
            Change::PutVirtualNetworkGateway(gateway_spec(&format!("{name}-gw"), name)),
        );
    }
}

/// A second subscription in another tenant, with partner-vnet 10.70.0.0/16,
/// and the principal alice (no roles yet).
fn add_partner(m: &mut Model) {
    ok(
        m,
        Change::PutSubscription(Subscription {
            id: SUB2.into(),
            name: "partner".into(),
            tenant_id: TENANT2.into(),
        }),
    );
    ok(
        m,
        Change::PutResourceGroup {
            subscription: SUB2.into(),
            name: RG2.into(),
            location: LOC.into(),
        },
    );
    ok(m, vnet_change_id(partner_vnet(), &["10.70.0.0/16"]));
    ok(
        m,
        Change::PutPrincipal(Principal {
            name: ALICE.into(),
            object_id: ALICE_ID.into(),
            tenant_id: DEFAULT_TENANT_ID.into(),
            principal_type: PrincipalType::User,
        }),
    );
}

fn network_contributor(scope: &ResourceId) -> Change {
    Change::PutRoleAssignment(RoleAssignment {
        principal_object_id: ALICE_ID.into(),
        role_definition_name: "Network Contributor".into(),
        scope: scope.to_string(),
    })
}

fn cross_tenant_peering(principal: Option<&str>) -> Change {
    Change::PutPeering(PeeringSpec {
        principal: principal.map(Into::into),
        ..peering_spec("lonely-vnet", "lonely-to-partner", partner_vnet())
    })
}

fn state(m: &Model, v: &str, p: &str) -> PeeringState {
    let (_, link) = m.peering(&peering_id(v, p)).expect("peering exists");
    m.peering_state(&vnet(v), link)
}

fn sync_level(m: &Model, v: &str, p: &str) -> PeeringSyncLevel {
    let (_, link) = m.peering(&peering_id(v, p)).expect("peering exists");
    m.peering_sync_level(&vnet(v), link)
}

fn nic_ip(m: &Model, name: &str) -> String {
    m.network_interfaces[&nic(name)].private_ip_address.to_string()
}

// ================================================================ positive

#[test]
fn valid_hub_and_spoke_builds() {
    let m = base();
    assert_eq!(m.virtual_networks.len(), 4);
    assert_eq!(state(&m, "hub-vnet", "hub-to-spoke1"), PeeringState::Connected);
    assert_eq!(state(&m, "spoke1-vnet", "spoke1-to-hub"), PeeringState::Connected);
    assert_eq!(state(&m, "spoke2-vnet", "spoke2-to-hub"), PeeringState::Connected);
    assert_eq!(nic_ip(&m, "vm1-nic"), "10.1.1.4");
    assert_eq!(m.network_interfaces[&nic("vm1-nic")].virtual_machine, Some(vm("vm1")));
    assert!(m.has_gateway(&vnet("hub-vnet")));
}

#[test]
fn dynamic_ips_are_allocated_from_dot_4_and_a_freed_one_is_reused() {
    let mut m = base();
    let web = subnet("spoke2-vnet", "web");
    ok(&mut m, nic_change("a", web.clone()));
    ok(&mut m, nic_change("b", web.clone()));
    ok(&mut m, nic_change("c", web.clone()));
    assert_eq!(
        [nic_ip(&m, "a"), nic_ip(&m, "b"), nic_ip(&m, "c")],
        ["10.2.1.4", "10.2.1.5", "10.2.1.6"]
    );
    assert_eq!(
        m.network_interfaces[&nic("a")].private_ip_allocation_method,
        IpAllocation::Dynamic
    );
    ok(&mut m, Change::DeleteNetworkInterface(nic("a")));
    ok(&mut m, nic_change("d", web.clone()));
    assert_eq!(nic_ip(&m, "d"), "10.2.1.4");
    ok(&mut m, nic_change("e", web));
    assert_eq!(nic_ip(&m, "e"), "10.2.1.7");
}

#[test]
fn peering_state_goes_initiated_connected_disconnected() {
    let mut m = base();
    ok(&mut m, vnet_change("x-vnet", &["10.30.0.0/16"]));
    ok(&mut m, peer("lonely-vnet", "lonely-to-x", "x-vnet"));
    assert_eq!(state(&m, "lonely-vnet", "lonely-to-x"), PeeringState::Initiated);
    ok(&mut m, peer("x-vnet", "x-to-lonely", "lonely-vnet"));
    assert_eq!(state(&m, "lonely-vnet", "lonely-to-x"), PeeringState::Connected);
    assert_eq!(state(&m, "x-vnet", "x-to-lonely"), PeeringState::Connected);
    ok(&mut m, Change::DeletePeering(peering_id("x-vnet", "x-to-lonely")));
    assert_eq!(state(&m, "lonely-vnet", "lonely-to-x"), PeeringState::Disconnected);
}

#[test]
fn peering_goes_disconnected_when_the_remote_vnet_is_deleted() {
    let mut m = base();
    ok(&mut m, vnet_change("x-vnet", &["10.30.0.0/16"]));
    ok(&mut m, peer("lonely-vnet", "lonely-to-x", "x-vnet"));
    ok(&mut m, peer("x-vnet", "x-to-lonely", "lonely-vnet"));
    ok(&mut m, Change::DeleteVirtualNetwork(vnet("x-vnet")));
    assert_eq!(state(&m, "lonely-vnet", "lonely-to-x"), PeeringState::Disconnected);
}

#[test]
fn sync_level_is_local_not_in_sync_after_remote_grows_and_fully_in_sync_after_sync() {
    let mut m = base();
    assert_eq!(
        sync_level(&m, "spoke2-vnet", "spoke2-to-hub"),
        PeeringSyncLevel::FullyInSync
    );
    ok(&mut m, vnet_change("hub-vnet", &["10.0.0.0/16", "10.100.0.0/16"]));
    assert_eq!(
        sync_level(&m, "spoke2-vnet", "spoke2-to-hub"),
        PeeringSyncLevel::LocalNotInSync
    );
    assert_eq!(
        sync_level(&m, "hub-vnet", "hub-to-spoke2"),
        PeeringSyncLevel::RemoteNotInSync
    );
    ok(&mut m, Change::SyncPeering(peering_id("spoke2-vnet", "spoke2-to-hub")));
    assert_eq!(
        sync_level(&m, "spoke2-vnet", "spoke2-to-hub"),
        PeeringSyncLevel::FullyInSync
    );
    assert_eq!(
        sync_level(&m, "hub-vnet", "hub-to-spoke2"),
        PeeringSyncLevel::FullyInSync
    );
}

#[test]
fn cross_tenant_peering_succeeds_with_network_contributor_on_both_vnets() {
    let mut m = base();
    add_partner(&mut m);
    ok(&mut m, network_contributor(&vnet("lonely-vnet")));
    ok(&mut m, network_contributor(&partner_vnet()));
    ok(&mut m, cross_tenant_peering(Some(ALICE)));
    assert_eq!(state(&m, "lonely-vnet", "lonely-to-partner"), PeeringState::Initiated);
}

#[test]
fn refused_change_in_apply_all_leaves_the_model_unchanged() {
    let mut m = base();
    let before = m.clone();
    let (i, e) = m
        .apply_all([
            vnet_change("new-vnet", &["10.40.0.0/16"]),
            subnet_change("new-vnet", "a", "10.41.0.0/24"),
        ])
        .expect_err("second change is bad");
    assert_eq!(i, 1);
    assert_eq!(e.code, ErrorCode::NetcfgSubnetRangeOutsideVnet);
    assert!(m == before);
}

// ================================================================ VNet address space

#[test]
fn vnet_range_in_forbidden_space_is_refused() {
    let mut m = base();
    for bad in [
        "224.0.0.0/4",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "168.63.129.16/32",
        "168.63.128.0/23",
        "127.5.0.0/16",
        "255.255.255.255/32",
    ] {
        refused(
            &mut m,
            vnet_change("bad-vnet", &["10.50.0.0/16", bad]),
            ErrorCode::BadRequest,
            bad,
        );
    }
}

#[test]
fn vnet_with_overlapping_ranges_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        vnet_change("dup-vnet", &["10.60.0.0/16", "10.60.1.0/24"]),
        ErrorCode::BadRequest,
        "10.60.1.0/24",
    );
}

#[test]
fn vnet_without_address_prefix_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        vnet_change("empty-vnet", &[]),
        ErrorCode::BadRequest,
        "empty-vnet",
    );
}

#[test]
fn vnet_prefix_with_host_bits_set_is_invalid_cidr_notation() {
    let mut m = base();
    let e = refused(
        &mut m,
        vnet_change("hostbits-vnet", &["10.61.0.1/16"]),
        ErrorCode::InvalidCIDRNotation,
        "10.61.0.1/16",
    );
    assert!(
        e.message.contains("10.61.0.0/16"),
        "should suggest the right prefix: {}",
        e.message
    );
}

#[test]
fn vnet_prefix_that_does_not_parse_is_refused() {
    let mut m = base();
    for bad in ["10.62.0.0", "banana", "10.62.0.0/33", "300.1.0.0/16"] {
        refused(
            &mut m,
            vnet_change("garbage-vnet", &[bad]),
            ErrorCode::InvalidAddressPrefixFormat,
            bad,
        );
    }
}

#[test]
fn removing_a_vnet_range_that_still_holds_a_subnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        vnet_change("lonely-vnet", &["10.99.0.0/16"]),
        ErrorCode::NetcfgSubnetRangeOutsideVnet,
        "default",
    );
}

#[test]
fn adding_a_vnet_range_that_overlaps_an_unpeered_vnet_is_fine() {
    // spoke2 is peered with the hub only, not with spoke1.
    let mut m = base();
    ok(&mut m, vnet_change("spoke2-vnet", &["10.2.0.0/16", "10.1.128.0/17"]));
}

#[test]
fn adding_a_vnet_range_that_overlaps_the_peered_hub_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        vnet_change("spoke2-vnet", &["10.2.0.0/16", "10.0.128.0/17"]),
        ErrorCode::VnetAddressSpacesOverlap,
        "hub-vnet",
    );
}

#[test]
fn flow_timeout_out_of_range_is_refused() {
    let mut m = base();
    let c = Change::PutVirtualNetwork(VnetSpec {
        id: vnet("lonely-vnet"),
        location: None,
        address_prefixes: vec!["10.9.0.0/16".into()],
        flow_timeout_in_minutes: Some(31),
        dns_servers: None,
    });
    refused(&mut m, c, ErrorCode::InvalidParameter, "31");
}

// ================================================================ subnets

#[test]
fn subnet_outside_vnet_ranges_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        subnet_change("spoke1-vnet", "outside", "10.5.0.0/24"),
        ErrorCode::NetcfgSubnetRangeOutsideVnet,
        "outside",
    );
}

#[test]
fn subnet_straddling_the_vnet_edge_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        subnet_change("lonely-vnet", "straddle", "10.8.0.0/15"),
        ErrorCode::NetcfgSubnetRangeOutsideVnet,
        "straddle",
    );
}

#[test]
fn overlapping_subnets_are_refused() {
    let mut m = base();
    let e = refused(
        &mut m,
        subnet_change("spoke1-vnet", "apps2", "10.1.1.128/25"),
        ErrorCode::NetcfgSubnetRangesOverlap,
        "apps2",
    );
    assert!(
        e.message.contains("'apps'"),
        "should name the existing subnet: {}",
        e.message
    );
}

#[test]
fn subnet_smaller_than_slash_29_is_refused() {
    let mut m = base();
    for bad in ["10.9.5.0/30", "10.9.5.0/31", "10.9.5.0/32"] {
        refused(
            &mut m,
            subnet_change("lonely-vnet", "small", bad),
            ErrorCode::NetcfgInvalidSubnet,
            bad,
        );
    }
}

#[test]
fn subnet_prefix_with_host_bits_set_is_invalid_cidr_notation() {
    let mut m = base();
    let e = refused(
        &mut m,
        subnet_change("lonely-vnet", "hostbits", "10.9.3.1/24"),
        ErrorCode::InvalidCIDRNotation,
        "10.9.3.1/24",
    );
    assert!(e.message.contains("10.9.3.0/24"), "{}", e.message);
}

#[test]
fn unparseable_subnet_prefix_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        subnet_change("lonely-vnet", "junk", "10.9.3.0/2x"),
        ErrorCode::InvalidAddressPrefixFormat,
        "10.9.3.0/2x",
    );
}

#[test]
fn subnet_in_a_missing_vnet_is_resource_not_found() {
    let mut m = base();
    refused(
        &mut m,
        subnet_change("ghost-vnet", "a", "10.1.0.0/24"),
        ErrorCode::ResourceNotFound,
        "ghost-vnet",
    );
}

#[test]
fn resizing_a_subnet_in_use_is_refused() {
    let mut m = base();
    let c = Change::PutSubnet(SubnetSpec {
        network_security_group: Some(nsg("apps-nsg")),
        route_table: Some(rt("apps-rt")),
        ..subnet_spec("spoke1-vnet", "apps", "10.1.0.0/23")
    });
    refused(&mut m, c, ErrorCode::InUsePrefixCannotBeDeleted, "10.1.1.0/24");
}

#[test]
fn deleting_a_subnet_holding_a_nic_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteSubnet(subnet("spoke1-vnet", "apps")),
        ErrorCode::InUseSubnetCannotBeDeleted,
        "vm1-nic",
    );
}

#[test]
fn deleting_a_gateway_subnet_holding_a_vpn_gateway_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteSubnet(subnet("hub-vnet", "GatewaySubnet")),
        ErrorCode::InUseSubnetCannotBeDeleted,
        "hub-gw",
    );
}

#[test]
fn deleting_a_gateway_subnet_holding_an_expressroute_gateway_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "er-vnet", "10.31.0.0/16", "10.31.255.0/27", false);
    ok(
        &mut m,
        Change::PutVirtualNetworkGateway(GatewaySpec {
            gateway_type: GatewayType::ExpressRoute,
            sku: "ErGw1AZ".into(),
            ..gateway_spec("er-gw", "er-vnet")
        }),
    );
    refused(
        &mut m,
        Change::DeleteSubnet(subnet("er-vnet", "GatewaySubnet")),
        ErrorCode::InUseSubnetCannotBeDeleted,
        "er-gw",
    );
    refused(
        &mut m,
        Change::DeleteVirtualNetwork(vnet("er-vnet")),
        ErrorCode::InUseSubnetCannotBeDeleted,
        "er-gw",
    );
}

#[test]
fn deleting_a_vnet_with_a_subnet_in_use_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteVirtualNetwork(vnet("spoke1-vnet")),
        ErrorCode::InUseSubnetCannotBeDeleted,
        "apps",
    );
}

#[test]
fn deleting_a_missing_subnet_is_not_found() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteSubnet(subnet("lonely-vnet", "nope")),
        ErrorCode::NotFound,
        "nope",
    );
}

#[test]
fn nsg_on_route_server_subnet_is_refused() {
    let mut m = base();
    let c = Change::PutSubnet(SubnetSpec {
        network_security_group: Some(nsg("apps-nsg")),
        ..subnet_spec("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "RouteServerSubnet");
}

#[test]
fn route_table_on_route_server_subnet_is_refused() {
    let mut m = base();
    let c = Change::PutSubnet(SubnetSpec {
        route_table: Some(rt("apps-rt")),
        ..subnet_spec("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "RouteServerSubnet");
}

#[test]
fn nsg_on_gateway_subnet_with_a_vpn_gateway_is_refused() {
    let mut m = base();
    let c = Change::PutSubnet(SubnetSpec {
        network_security_group: Some(nsg("apps-nsg")),
        ..subnet_spec("hub-vnet", "GatewaySubnet", "10.0.255.0/27")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "apps-nsg");
}

#[test]
fn subnet_referencing_an_nsg_in_another_region_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("ne-nsg"),
            location: Some("northeurope".into()),
        },
    );
    let c = Change::PutSubnet(SubnetSpec {
        network_security_group: Some(nsg("ne-nsg")),
        ..subnet_spec("lonely-vnet", "default", "10.9.0.0/24")
    });
    refused(&mut m, c, ErrorCode::InvalidResourceReference, "ne-nsg");
}

#[test]
fn subnet_referencing_a_missing_route_table_is_refused() {
    let mut m = base();
    let c = Change::PutSubnet(SubnetSpec {
        route_table: Some(rt("ghost-rt")),
        ..subnet_spec("lonely-vnet", "default", "10.9.0.0/24")
    });
    refused(&mut m, c, ErrorCode::InvalidResourceReference, "ghost-rt");
}

// ================================================================ peering

#[test]
fn peering_overlapping_vnets_is_refused() {
    let mut m = base();
    ok(&mut m, vnet_change("clash-vnet", &["10.1.128.0/17"]));
    let e = refused(
        &mut m,
        peer("clash-vnet", "clash-to-spoke1", "spoke1-vnet"),
        ErrorCode::VnetAddressSpacesOverlap,
        "10.1.128.0/17",
    );
    assert!(e.message.contains("clash-to-spoke1"), "{}", e.message);
}

#[test]
fn peering_local_vnet_that_overlaps_a_peer_of_the_remote_is_refused() {
    // x overlaps spoke2, which is already peered with the hub.
    let mut m = base();
    ok(&mut m, vnet_change("x-vnet", &["10.2.0.0/16"]));
    let e = refused(
        &mut m,
        peer("x-vnet", "x-to-hub", "hub-vnet"),
        ErrorCode::VnetAddressSpaceOverlapsWithAlreadyPeeredVnet,
        "spoke2-vnet",
    );
    assert!(e.message.contains("10.2.0.0/16"), "{}", e.message);
}

#[test]
fn peering_from_hub_to_a_vnet_that_overlaps_a_hub_peer_is_refused() {
    let mut m = base();
    ok(&mut m, vnet_change("x-vnet", &["10.2.0.0/16"]));
    refused(
        &mut m,
        peer("hub-vnet", "hub-to-x", "x-vnet"),
        ErrorCode::VnetAddressSpaceOverlapsWithAlreadyPeeredVnet,
        "spoke2-vnet",
    );
}

#[test]
fn peering_to_a_remote_vnet_that_overlaps_a_peer_of_the_local_is_refused() {
    // spoke2 is peered with the hub; y overlaps the hub.
    let mut m = base();
    ok(&mut m, vnet_change("y-vnet", &["10.0.128.0/17"]));
    refused(
        &mut m,
        peer("spoke2-vnet", "spoke2-to-y", "y-vnet"),
        ErrorCode::VnetAddressSpaceOverlapsWithAlreadyPeeredVnet,
        "hub-vnet",
    );
}

#[test]
fn second_peering_to_the_same_remote_vnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        peer("spoke2-vnet", "spoke2-to-hub-again", "hub-vnet"),
        ErrorCode::AnotherPeeringAlreadyReferencesRemoteVnet,
        "spoke2-to-hub",
    );
}

#[test]
fn use_remote_gateways_towards_a_vnet_without_gateway_is_refused() {
    let mut m = base();
    let c = Change::PutPeering(PeeringSpec {
        use_remote_gateways: true,
        ..peering_spec("lonely-vnet", "lonely-to-spoke2", vnet("spoke2-vnet"))
    });
    refused(&mut m, c, ErrorCode::RemoteVnetHasNoGateways, "spoke2-vnet");
}

#[test]
fn recreating_a_deleted_reverse_link_while_the_other_side_is_disconnected_is_refused() {
    // A = spoke2, B = hub: A->B and B->A exist; delete B->A.
    let mut m = base();
    ok(&mut m, Change::DeletePeering(peering_id("hub-vnet", "hub-to-spoke2")));
    assert_eq!(state(&m, "spoke2-vnet", "spoke2-to-hub"), PeeringState::Disconnected);
    refused(
        &mut m,
        peer("hub-vnet", "hub-to-spoke2", "spoke2-vnet"),
        ErrorCode::RemotePeeringIsDisconnected,
        "spoke2-to-hub",
    );
    refused(
        &mut m,
        peer("hub-vnet", "hub-to-spoke2-new", "spoke2-vnet"),
        ErrorCode::RemotePeeringIsDisconnected,
        "spoke2-to-hub",
    );
    assert_eq!(state(&m, "spoke2-vnet", "spoke2-to-hub"), PeeringState::Disconnected);
    // Deleting and re-creating the Disconnected side mends it.
    ok(
        &mut m,
        Change::DeletePeering(peering_id("spoke2-vnet", "spoke2-to-hub")),
    );
    ok(&mut m, peer("spoke2-vnet", "spoke2-to-hub", "hub-vnet"));
    ok(&mut m, peer("hub-vnet", "hub-to-spoke2", "spoke2-vnet"));
    assert_eq!(state(&m, "spoke2-vnet", "spoke2-to-hub"), PeeringState::Connected);
}

#[test]
fn changing_the_remote_vnet_of_a_peering_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        peer("spoke2-vnet", "spoke2-to-hub", "lonely-vnet"),
        ErrorCode::ChangingRemoteVirtualNetworkNotAllowed,
        "spoke2-to-hub",
    );
}

#[test]
fn peering_a_vnet_with_itself_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        peer("lonely-vnet", "self", "lonely-vnet"),
        ErrorCode::BadRequest,
        "itself",
    );
}

#[test]
fn use_remote_gateways_while_the_local_vnet_has_a_gateway_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "hub2-vnet", "10.50.0.0/16", "10.50.255.0/27", true);
    ok(
        &mut m,
        Change::PutPeering(PeeringSpec {
            allow_gateway_transit: true,
            ..peering_spec("hub2-vnet", "hub2-to-hub", vnet("hub-vnet"))
        }),
    );
    let c = Change::PutPeering(PeeringSpec {
        use_remote_gateways: true,
        ..peering_spec("hub-vnet", "hub-to-hub2", vnet("hub2-vnet"))
    });
    refused(&mut m, c, ErrorCode::BadRequest, "hub-vnet");
}

#[test]
fn use_remote_gateways_on_a_second_link_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "hub2-vnet", "10.50.0.0/16", "10.50.255.0/27", true);
    let c = Change::PutPeering(PeeringSpec {
        use_remote_gateways: true,
        ..peering_spec("spoke1-vnet", "spoke1-to-hub2", vnet("hub2-vnet"))
    });
    refused(&mut m, c, ErrorCode::BadRequest, "spoke1-to-hub");
}

#[test]
fn peering_to_a_missing_vnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        peer("lonely-vnet", "to-ghost", "ghost-vnet"),
        ErrorCode::InvalidResourceReference,
        "ghost-vnet",
    );
}

#[test]
fn peering_to_a_vnet_in_an_unknown_subscription_is_linked_authorization_failed() {
    let mut m = base();
    let remote = ResourceId::network(
        "33333333-3333-4333-8333-333333333333",
        "x",
        "virtualNetworks",
        "far-vnet",
    );
    let c = Change::PutPeering(peering_spec("lonely-vnet", "to-far", remote));
    refused(
        &mut m,
        c,
        ErrorCode::LinkedAuthorizationFailed,
        "33333333-3333-4333-8333-333333333333",
    );
}

#[test]
fn peering_across_clouds_is_refused() {
    let mut m = base();
    // A subscription lives in one cloud: the China VNet needs its own.
    let china_sub = "44444444-4444-4444-8444-444444444444";
    ok(
        &mut m,
        Change::PutSubscription(Subscription {
            id: china_sub.into(),
            name: "china".into(),
            tenant_id: DEFAULT_TENANT_ID.into(),
        }),
    );
    ok(
        &mut m,
        Change::PutResourceGroup {
            subscription: china_sub.into(),
            name: "china-rg".into(),
            location: "chinanorth3".into(),
        },
    );
    let china = ResourceId::network(china_sub, "china-rg", "virtualNetworks", "china-vnet");
    ok(&mut m, vnet_change_id(china.clone(), &["10.80.0.0/16"]));
    let c = Change::PutPeering(peering_spec("lonely-vnet", "to-china", china));
    refused(&mut m, c, ErrorCode::BadRequest, "chinanorth3");
}

#[test]
fn deleting_a_missing_peering_is_not_found() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeletePeering(peering_id("lonely-vnet", "nope")),
        ErrorCode::NotFound,
        "nope",
    );
}

#[test]
fn cross_tenant_peering_without_principal_is_authorization_failed() {
    let mut m = base();
    add_partner(&mut m);
    refused(
        &mut m,
        cross_tenant_peering(None),
        ErrorCode::AuthorizationFailed,
        "lonely-to-partner",
    );
}

#[test]
fn cross_tenant_peering_with_an_unknown_principal_is_authorization_failed() {
    let mut m = base();
    add_partner(&mut m);
    refused(
        &mut m,
        cross_tenant_peering(Some("mallory@evil.example")),
        ErrorCode::AuthorizationFailed,
        "mallory@evil.example",
    );
}

#[test]
fn cross_tenant_peering_without_role_on_the_local_vnet_is_authorization_failed() {
    let mut m = base();
    add_partner(&mut m);
    ok(&mut m, network_contributor(&partner_vnet()));
    refused(
        &mut m,
        cross_tenant_peering(Some(ALICE)),
        ErrorCode::AuthorizationFailed,
        ALICE,
    );
}

#[test]
fn cross_tenant_peering_without_role_on_the_remote_vnet_is_linked_authorization_failed() {
    let mut m = base();
    add_partner(&mut m);
    ok(&mut m, network_contributor(&vnet("lonely-vnet")));
    refused(
        &mut m,
        cross_tenant_peering(Some(ALICE)),
        ErrorCode::LinkedAuthorizationFailed,
        partner_vnet().as_str(),
    );
}

#[test]
fn cross_tenant_peering_with_only_reader_on_the_remote_is_linked_authorization_failed() {
    let mut m = base();
    add_partner(&mut m);
    ok(&mut m, network_contributor(&vnet("lonely-vnet")));
    ok(
        &mut m,
        Change::PutRoleAssignment(RoleAssignment {
            principal_object_id: ALICE_ID.into(),
            role_definition_name: "Reader".into(),
            scope: partner_vnet().to_string(),
        }),
    );
    refused(
        &mut m,
        cross_tenant_peering(Some(ALICE)),
        ErrorCode::LinkedAuthorizationFailed,
        "peer/action",
    );
}

// ================================================================ NICs and IPs

#[test]
fn static_ip_in_the_reserved_part_of_the_subnet_is_refused() {
    let mut m = base();
    for bad in ["10.2.1.0", "10.2.1.1", "10.2.1.2", "10.2.1.3", "10.2.1.255"] {
        refused(
            &mut m,
            static_nic("s", subnet("spoke2-vnet", "web"), bad),
            ErrorCode::PrivateIPAddressInReservedRange,
            bad,
        );
    }
}

#[test]
fn static_ip_outside_the_subnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        static_nic("s", subnet("spoke2-vnet", "web"), "10.2.2.10"),
        ErrorCode::PrivateIPAddressNotInSubnet,
        "10.2.2.10",
    );
}

#[test]
fn static_ip_already_used_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        static_nic("s", subnet("spoke1-vnet", "apps"), "10.1.1.4"),
        ErrorCode::PrivateIPAddressIsAllocated,
        "vm1-nic",
    );
}

#[test]
fn static_ip_that_is_not_an_address_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        static_nic("s", subnet("spoke2-vnet", "web"), "10.2.1.x"),
        ErrorCode::InvalidRequestFormat,
        "10.2.1.x",
    );
}

#[test]
fn full_slash_29_subnet_refuses_a_fourth_nic() {
    let mut m = base();
    let tiny = subnet("spoke1-vnet", "tiny");
    for n in ["t1", "t2", "t3"] {
        ok(&mut m, nic_change(n, tiny.clone()));
    }
    assert_eq!(nic_ip(&m, "t3"), "10.1.2.6");
    refused(&mut m, nic_change("t4", tiny), ErrorCode::SubnetIsFull, "tiny");
}

#[test]
fn nic_in_gateway_subnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        nic_change("gw-nic", subnet("hub-vnet", "GatewaySubnet")),
        ErrorCode::GatewaySubnet,
        "GatewaySubnet",
    );
}

#[test]
fn nic_in_route_server_subnet_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27"),
    );
    refused(
        &mut m,
        nic_change("rs-nic", subnet("lonely-vnet", "RouteServerSubnet")),
        ErrorCode::BadRequest,
        "RouteServerSubnet",
    );
}

#[test]
fn nic_in_a_missing_subnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        nic_change("n", subnet("lonely-vnet", "ghost")),
        ErrorCode::InvalidResourceReference,
        "ghost",
    );
}

#[test]
fn nic_in_another_region_than_its_vnet_is_refused() {
    let mut m = base();
    let c = Change::PutNetworkInterface(NicSpec {
        ip_configuration_name: None,
        location: Some("northeurope".into()),
        ..nic_spec("ne-nic", subnet("lonely-vnet", "default"))
    });
    refused(&mut m, c, ErrorCode::InvalidResourceReference, "northeurope");
}

#[test]
fn nic_moving_to_another_vnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        nic_change("vm1-nic", subnet("lonely-vnet", "default")),
        ErrorCode::BadRequest,
        "vm1-nic",
    );
}

#[test]
fn public_ip_already_used_by_another_nic_is_refused() {
    let mut m = base();
    let c = Change::PutNetworkInterface(NicSpec {
        ip_configuration_name: None,
        public_ip_address: Some(pip("vm1-pip")),
        ..nic_spec("thief-nic", subnet("spoke2-vnet", "web"))
    });
    refused(&mut m, c, ErrorCode::PublicIPAddressInUse, "vm1-pip");
}

#[test]
fn nic_with_a_missing_public_ip_is_refused() {
    let mut m = base();
    let c = Change::PutNetworkInterface(NicSpec {
        ip_configuration_name: None,
        public_ip_address: Some(pip("ghost-pip")),
        ..nic_spec("n", subnet("spoke2-vnet", "web"))
    });
    refused(&mut m, c, ErrorCode::InvalidResourceReference, "ghost-pip");
}

#[test]
fn deleting_a_public_ip_in_use_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeletePublicIp(pip("vm1-pip")),
        ErrorCode::PublicIPAddressCannotBeDeleted,
        "vm1-pip",
    );
}

#[test]
fn deleting_a_nic_attached_to_a_vm_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteNetworkInterface(nic("vm1-nic")),
        ErrorCode::NicInUse,
        "vm1",
    );
}

#[test]
fn public_ips_run_out_after_508() {
    let mut m = base();
    let changes: Vec<Change> = (1..508)
        .map(|i| {
            Change::PutPublicIp(PublicIpSpec {
                id: pip(&format!("p{i}")),
                location: None,
                sku: PublicIpSku::Standard,
            })
        })
        .collect();
    m.apply_all(changes).expect("508 public IPs fit");
    let c = Change::PutPublicIp(PublicIpSpec {
        id: pip("one-too-many"),
        location: None,
        sku: PublicIpSku::Standard,
    });
    refused(&mut m, c, ErrorCode::PublicIPCountLimitReached, "508");
}

// ================================================================ VMs

#[test]
fn vm_name_with_underscore_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    let e = refused(
        &mut m,
        Change::PutVirtualMachine(vm_spec(vm("vm_1"), vec![nic("n2")])),
        ErrorCode::InvalidParameter,
        "vm_1",
    );
    assert_eq!(e.target.as_deref(), Some("vm_1"));
}

#[test]
fn disallowed_admin_username_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    for bad in ["admin", "root", "Administrator"] {
        let c = Change::PutVirtualMachine(VmSpec {
            admin_username: bad.into(),
            ..vm_spec(vm("vm2"), vec![nic("n2")])
        });
        let e = refused(&mut m, c, ErrorCode::InvalidParameter, bad);
        assert_eq!(e.target.as_deref(), Some("adminUsername"));
    }
}

#[test]
fn admin_username_with_invalid_characters_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    let c = Change::PutVirtualMachine(VmSpec {
        admin_username: "Bad:User".into(),
        ..vm_spec(vm("vm2"), vec![nic("n2")])
    });
    refused(&mut m, c, ErrorCode::InvalidParameter, "admin username");
}

#[test]
fn weak_password_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    for weak in ["short1A!", "alllowercaseletters", "NoDigitsOrSpecial"] {
        let c = Change::PutVirtualMachine(VmSpec {
            admin_password: Some(weak.into()),
            ssh_public_keys: vec![],
            ..vm_spec(vm("vm2"), vec![nic("n2")])
        });
        let e = refused(&mut m, c, ErrorCode::InvalidParameter, "password");
        assert_eq!(e.target.as_deref(), Some("adminPassword"));
    }
}

#[test]
fn vm_without_password_or_key_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    let c = Change::PutVirtualMachine(VmSpec {
        admin_password: None,
        ssh_public_keys: vec![],
        ..vm_spec(vm("vm2"), vec![nic("n2")])
    });
    let e = refused(&mut m, c, ErrorCode::InvalidParameter, "SSH");
    assert_eq!(e.target.as_deref(), Some("linuxConfiguration"));
}

#[test]
fn bad_ssh_key_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    for bad in ["not-a-key", "ssh-rsa AAAA\nssh-rsa BBBB", ""] {
        let c = Change::PutVirtualMachine(VmSpec {
            ssh_public_keys: vec![bad.into()],
            ..vm_spec(vm("vm2"), vec![nic("n2")])
        });
        refused(&mut m, c, ErrorCode::InvalidParameter, "keyData");
    }
}

#[test]
fn vm_without_nic_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutVirtualMachine(vm_spec(vm("vm2"), vec![])),
        ErrorCode::InvalidParameter,
        "vm2",
    );
}

#[test]
fn vm_taking_a_nic_of_another_vm_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutVirtualMachine(vm_spec(vm("vm2"), vec![nic("vm1-nic")])),
        ErrorCode::BadRequest,
        "vm1",
    );
}

#[test]
fn vm_with_nics_in_two_vnets_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("a", subnet("spoke2-vnet", "web")));
    ok(&mut m, nic_change("b", subnet("lonely-vnet", "default")));
    refused(
        &mut m,
        Change::PutVirtualMachine(vm_spec(vm("vm2"), vec![nic("a"), nic("b")])),
        ErrorCode::BadRequest,
        "vm2",
    );
}

// ================================================================ NSGs

#[test]
fn nsg_rule_priority_out_of_range_is_refused() {
    let mut m = base();
    for p in [99, 4097, 0, -1] {
        refused(
            &mut m,
            Change::PutSecurityRule(rule_spec("apps-nsg", "r", p)),
            ErrorCode::SecurityRuleInvalidPriority,
            &p.to_string(),
        );
    }
}

#[test]
fn nsg_rules_with_same_priority_and_direction_conflict() {
    let mut m = base();
    let e = refused(
        &mut m,
        Change::PutSecurityRule(rule_spec("apps-nsg", "allow-http", 100)),
        ErrorCode::SecurityRuleConflict,
        "allow-http",
    );
    assert!(e.message.contains("allow-ssh"), "{}", e.message);
    // Same priority, other direction: fine.
    ok(
        &mut m,
        Change::PutSecurityRule(SecurityRuleSpec {
            direction: "Outbound".into(),
            ..rule_spec("apps-nsg", "allow-http", 100)
        }),
    );
}

#[test]
fn nsg_rule_with_bad_port_range_is_refused() {
    let mut m = base();
    for bad in ["70000", "90-80", "http", "1-2-3"] {
        let c = Change::PutSecurityRule(SecurityRuleSpec {
            destination_port_ranges: vec![bad.into()],
            ..rule_spec("apps-nsg", "r", 200)
        });
        refused(&mut m, c, ErrorCode::SecurityRuleInvalidPortRange, bad);
    }
}

#[test]
fn nsg_rule_with_bad_address_prefix_is_refused() {
    let mut m = base();
    for bad in ["10.0.0.0/33", "10.0.0.300", "10.0.0.0/8/8"] {
        let c = Change::PutSecurityRule(SecurityRuleSpec {
            source_address_prefixes: vec![bad.into()],
            ..rule_spec("apps-nsg", "r", 200)
        });
        refused(&mut m, c, ErrorCode::SecurityRuleInvalidAddressPrefix, bad);
    }
}

#[test]
fn nsg_rule_with_two_tags_in_a_list_is_refused() {
    let mut m = base();
    let c = Change::PutSecurityRule(SecurityRuleSpec {
        source_address_prefixes: vec!["VirtualNetwork".into(), "Internet".into()],
        ..rule_spec("apps-nsg", "r", 200)
    });
    refused(
        &mut m,
        c,
        ErrorCode::SecurityRuleParameterContainsUnsupportedValue,
        "SourceAddressPrefixes",
    );
}

#[test]
fn nsg_rule_mixing_a_cidr_and_any_is_refused() {
    let mut m = base();
    let c = Change::PutSecurityRule(SecurityRuleSpec {
        destination_address_prefixes: vec!["10.1.1.0/24".into(), "*".into()],
        ..rule_spec("apps-nsg", "r", 200)
    });
    refused(
        &mut m,
        c,
        ErrorCode::SecurityRuleParameterContainsUnsupportedValue,
        "DestinationAddressPrefixes",
    );
}

#[test]
fn nsg_rule_with_unknown_protocol_is_refused() {
    let mut m = base();
    let c = Change::PutSecurityRule(SecurityRuleSpec {
        protocol: "Gre".into(),
        ..rule_spec("apps-nsg", "r", 200)
    });
    refused(&mut m, c, ErrorCode::BadRequest, "Gre");
}

#[test]
fn nsg_rule_with_unknown_direction_or_access_is_refused() {
    let mut m = base();
    let c = Change::PutSecurityRule(SecurityRuleSpec {
        direction: "Sideways".into(),
        ..rule_spec("apps-nsg", "r", 200)
    });
    refused(&mut m, c, ErrorCode::BadRequest, "Sideways");
    let c = Change::PutSecurityRule(SecurityRuleSpec {
        access: "Maybe".into(),
        ..rule_spec("apps-nsg", "r", 200)
    });
    refused(&mut m, c, ErrorCode::BadRequest, "Maybe");
}

#[test]
fn nsg_rule_with_unemulated_service_tag_is_refused() {
    let mut m = base();
    let c = Change::PutSecurityRule(SecurityRuleSpec {
        destination_address_prefixes: vec!["Storage".into()],
        ..rule_spec("apps-nsg", "r", 200)
    });
    refused(&mut m, c, ErrorCode::BadRequest, "Storage");
}

#[test]
fn nsg_rule_in_a_missing_nsg_is_resource_not_found() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutSecurityRule(rule_spec("ghost-nsg", "r", 200)),
        ErrorCode::ResourceNotFound,
        "ghost-nsg",
    );
}

#[test]
fn deleting_an_nsg_in_use_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteNetworkSecurityGroup(nsg("apps-nsg")),
        ErrorCode::InUseNetworkSecurityGroupCannotBeDeleted,
        "apps",
    );
}

#[test]
fn deleting_a_missing_nsg_is_resource_not_found() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteNetworkSecurityGroup(nsg("ghost-nsg")),
        ErrorCode::ResourceNotFound,
        "ghost-nsg",
    );
}

// ================================================================ route tables

#[test]
fn virtual_appliance_route_without_ip_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutRoute(route_spec(
            "apps-rt",
            "to-nva",
            "10.50.0.0/16",
            "VirtualAppliance",
            None,
        )),
        ErrorCode::MissingNextHopIpAddress,
        "to-nva",
    );
}

#[test]
fn next_hop_ip_with_a_non_appliance_next_hop_is_refused() {
    let mut m = base();
    let c = Change::PutRoute(route_spec(
        "apps-rt",
        "to-net",
        "8.8.8.0/24",
        "Internet",
        Some("10.0.1.4"),
    ));
    refused(&mut m, c, ErrorCode::BadRequest, "10.0.1.4");
}

#[test]
fn two_routes_with_the_same_prefix_conflict() {
    let mut m = base();
    let e = refused(
        &mut m,
        Change::PutRoute(route_spec("apps-rt", "default-drop", "0.0.0.0/0", "None", None)),
        ErrorCode::RouteConflict,
        "default-drop",
    );
    assert!(e.message.contains("to-fw"), "{}", e.message);
}

#[test]
fn vnet_peering_next_hop_type_is_refused() {
    let mut m = base();
    for hop in ["VNetPeering", "VNetGlobalPeering", "Teleport"] {
        refused(
            &mut m,
            Change::PutRoute(route_spec("apps-rt", "r", "10.50.0.0/16", hop, None)),
            ErrorCode::InvalidRequestFormat,
            hop,
        );
    }
}

#[test]
fn route_with_an_invalid_appliance_ip_is_refused() {
    let mut m = base();
    let c = Change::PutRoute(route_spec(
        "apps-rt",
        "r",
        "10.50.0.0/16",
        "VirtualAppliance",
        Some("10.0.1"),
    ));
    refused(&mut m, c, ErrorCode::InvalidRequestFormat, "10.0.1");
}

#[test]
fn route_prefix_with_host_bits_set_is_invalid_cidr_notation() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutRoute(route_spec("apps-rt", "r", "10.50.0.1/16", "None", None)),
        ErrorCode::InvalidCIDRNotation,
        "10.50.0.1/16",
    );
}

#[test]
fn route_to_a_service_tag_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutRoute(route_spec("apps-rt", "r", "AzureCloud", "Internet", None)),
        ErrorCode::BadRequest,
        "AzureCloud",
    );
}

#[test]
fn deleting_a_route_table_in_use_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteRouteTable(rt("apps-rt")),
        ErrorCode::InUseRouteTableCannotBeDeleted,
        "apps",
    );
}

// ================================================================ gateways

#[test]
fn second_vpn_gateway_in_a_vnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutVirtualNetworkGateway(gateway_spec("hub-gw2", "hub-vnet")),
        ErrorCode::BadRequest,
        "hub-gw",
    );
}

#[test]
fn gateway_without_gateway_subnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutVirtualNetworkGateway(gateway_spec("lonely-gw", "lonely-vnet")),
        ErrorCode::NetcfgMissingSubnet,
        "lonely-vnet",
    );
}

#[test]
fn gateway_with_unknown_sku_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "gw-vnet", "10.51.0.0/16", "10.51.255.0/27", false);
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        sku: "VpnGw9".into(),
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "VpnGw9");
}

#[test]
fn gateway_sku_of_the_wrong_type_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "gw-vnet", "10.51.0.0/16", "10.51.255.0/27", false);
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        sku: "ErGw1AZ".into(),
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "ErGw1AZ");
}

#[test]
fn basic_gateway_with_bgp_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "gw-vnet", "10.51.0.0/16", "10.51.255.0/27", false);
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        sku: "Basic".into(),
        enable_bgp: true,
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "Basic");
}

#[test]
fn gateway_with_reserved_asn_is_refused() {
    let mut m = base();
    add_gateway_vnet(&mut m, "gw-vnet", "10.51.0.0/16", "10.51.255.0/27", false);
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        enable_bgp: true,
        asn: Some(65520),
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "65520");
}

#[test]
fn gateway_in_a_vnet_that_uses_remote_gateways_is_refused() {
    let mut m = base();
    ok(&mut m, subnet_change("spoke1-vnet", "GatewaySubnet", "10.1.255.0/27"));
    refused(
        &mut m,
        Change::PutVirtualNetworkGateway(gateway_spec("spoke1-gw", "spoke1-vnet")),
        ErrorCode::BadRequest,
        "spoke1-to-hub",
    );
}

/// A gateway VNet (gw-vnet, no gateway yet) and two Standard public IPs.
fn gateway_with_public_ips() -> Model {
    let mut m = base();
    add_gateway_vnet(&mut m, "gw-vnet", "10.51.0.0/16", "10.51.255.0/27", false);
    for p in ["gw-pip1", "gw-pip2"] {
        ok(
            &mut m,
            Change::PutPublicIp(PublicIpSpec {
                id: pip(p),
                location: None,
                sku: PublicIpSku::Standard,
            }),
        );
    }
    m
}

#[test]
fn gateway_with_a_missing_public_ip_is_refused() {
    let mut m = gateway_with_public_ips();
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        public_ip_addresses: vec![pip("nope")],
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::InvalidResourceReference, "publicIPAddresses/nope");
}

#[test]
fn a_public_ip_held_by_a_nic_cannot_go_to_a_gateway() {
    let mut m = gateway_with_public_ips();
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        public_ip_addresses: vec![pip("vm1-pip")],
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::PublicIPAddressInUse, "vm1-nic");
}

#[test]
fn a_public_ip_held_by_a_gateway_cannot_be_deleted_nor_given_to_a_nic() {
    let mut m = gateway_with_public_ips();
    ok(
        &mut m,
        Change::PutVirtualNetworkGateway(GatewaySpec {
            public_ip_addresses: vec![pip("gw-pip1")],
            ..gateway_spec("g", "gw-vnet")
        }),
    );
    refused(
        &mut m,
        Change::DeletePublicIp(pip("gw-pip1")),
        ErrorCode::PublicIPAddressCannotBeDeleted,
        "vnetGatewayConfig0",
    );
    let c = Change::PutNetworkInterface(NicSpec {
        ip_configuration_name: None,
        public_ip_address: Some(pip("gw-pip1")),
        ..nic_spec("vm2-nic", subnet("spoke1-vnet", "apps"))
    });
    refused(&mut m, c, ErrorCode::PublicIPAddressInUse, "virtualNetworkGateways/g");
    // Re-applying the gateway keeps its own addresses.
    ok(
        &mut m,
        Change::PutVirtualNetworkGateway(GatewaySpec {
            public_ip_addresses: vec![pip("gw-pip1")],
            ..gateway_spec("g", "gw-vnet")
        }),
    );
}

#[test]
fn active_active_takes_two_different_public_ips() {
    let mut m = gateway_with_public_ips();
    let one = Change::PutVirtualNetworkGateway(GatewaySpec {
        active_active: true,
        public_ip_addresses: vec![pip("gw-pip1")],
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, one, ErrorCode::BadRequest, "active-active");
    let twice = Change::PutVirtualNetworkGateway(GatewaySpec {
        active_active: true,
        public_ip_addresses: vec![pip("gw-pip1"), pip("gw-pip1")],
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, twice, ErrorCode::BadRequest, "gw-pip1");
    ok(
        &mut m,
        Change::PutVirtualNetworkGateway(GatewaySpec {
            active_active: true,
            public_ip_addresses: vec![pip("gw-pip1"), pip("gw-pip2")],
            ..gateway_spec("g", "gw-vnet")
        }),
    );
}

#[test]
fn a_policy_based_gateway_must_be_basic_and_cannot_do_vnet_to_vnet() {
    let mut m = gateway_with_public_ips();
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        vpn_type: VpnType::PolicyBased,
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "PolicyBased");
    ok(
        &mut m,
        Change::PutVirtualNetworkGateway(GatewaySpec {
            vpn_type: VpnType::PolicyBased,
            sku: "Basic".into(),
            ..gateway_spec("g", "gw-vnet")
        }),
    );
    let c = Change::PutConnection(ConnectionSpec {
        id: id("connections", "hub-to-g"),
        location: None,
        connection_type: ConnectionType::Vnet2Vnet,
        virtual_network_gateway1: gw("hub-gw"),
        peer: gw("g"),
        shared_key: Some("k".into()),
        enable_bgp: false,
    });
    refused(&mut m, c, ErrorCode::BadRequest, "RouteBased");
}

#[test]
fn an_expressroute_gateway_takes_no_vpn_generation() {
    let mut m = gateway_with_public_ips();
    let c = Change::PutVirtualNetworkGateway(GatewaySpec {
        gateway_type: GatewayType::ExpressRoute,
        sku: "ErGw1AZ".into(),
        vpn_gateway_generation: Some("Generation2".into()),
        ..gateway_spec("g", "gw-vnet")
    });
    refused(&mut m, c, ErrorCode::BadRequest, "Generation2");
}

#[test]
fn route_server_needs_a_standard_public_ip_of_its_own() {
    let mut m = base();
    ok(&mut m, subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.1.0/27"));
    ok(
        &mut m,
        Change::PutPublicIp(PublicIpSpec {
            id: pip("basic-pip"),
            location: None,
            sku: PublicIpSku::Basic,
        }),
    );
    let with = |p: &str| {
        Change::PutRouteServer(RouteServerSpec {
            id: rs("rs1"),
            location: None,
            hosted_subnet: subnet("lonely-vnet", "RouteServerSubnet"),
            allow_branch_to_branch_traffic: false,
            public_ip_address: Some(pip(p)),
            bgp_hold_secs: None,
        })
    };
    refused(&mut m, with("basic-pip"), ErrorCode::BadRequest, "Standard");
    refused(&mut m, with("vm1-pip"), ErrorCode::PublicIPAddressInUse, "vm1-nic");
    ok(
        &mut m,
        Change::PutPublicIp(PublicIpSpec {
            id: pip("rs-pip"),
            location: None,
            sku: PublicIpSku::Standard,
        }),
    );
    ok(&mut m, with("rs-pip"));
    refused(
        &mut m,
        Change::DeletePublicIp(pip("rs-pip")),
        ErrorCode::PublicIPAddressCannotBeDeleted,
        "virtualHubs/rs1",
    );
}

#[test]
fn deleting_a_gateway_used_by_a_peering_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteVirtualNetworkGateway(gw("hub-gw")),
        ErrorCode::BadRequest,
        "spoke1-to-hub",
    );
}

#[test]
fn vnet2vnet_connection_to_itself_is_refused() {
    let mut m = base();
    let c = Change::PutConnection(ConnectionSpec {
        id: id("connections", "loop"),
        location: None,
        connection_type: ConnectionType::Vnet2Vnet,
        virtual_network_gateway1: gw("hub-gw"),
        peer: gw("hub-gw"),
        shared_key: Some("k".into()),
        enable_bgp: false,
    });
    refused(&mut m, c, ErrorCode::BadRequest, "itself");
}

#[test]
fn ipsec_connection_to_an_overlapping_site_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutLocalNetworkGateway(LocalGatewaySpec {
            id: id("localNetworkGateways", "onprem"),
            location: None,
            gateway_ip_address: "192.0.2.10".into(),
            local_address_prefixes: vec!["10.0.128.0/24".into()],
            asn: None,
            bgp_peering_address: None,
        }),
    );
    let c = Change::PutConnection(ConnectionSpec {
        id: id("connections", "to-onprem"),
        location: None,
        connection_type: ConnectionType::IPsec,
        virtual_network_gateway1: gw("hub-gw"),
        peer: id("localNetworkGateways", "onprem"),
        shared_key: Some("k".into()),
        enable_bgp: false,
    });
    refused(&mut m, c, ErrorCode::BadRequest, "10.0.128.0/24");
}

#[test]
fn local_network_gateway_with_bad_input_is_refused() {
    let mut m = base();
    let spec = LocalGatewaySpec {
        id: id("localNetworkGateways", "onprem"),
        location: None,
        gateway_ip_address: "192.0.2.10".into(),
        local_address_prefixes: vec![],
        asn: None,
        bgp_peering_address: None,
    };
    refused(
        &mut m,
        Change::PutLocalNetworkGateway(spec.clone()),
        ErrorCode::BadRequest,
        "onprem",
    );
    let c = Change::PutLocalNetworkGateway(LocalGatewaySpec {
        gateway_ip_address: "192.0.2".into(),
        local_address_prefixes: vec!["172.16.0.0/16".into()],
        ..spec.clone()
    });
    refused(&mut m, c, ErrorCode::InvalidRequestFormat, "192.0.2");
    let c = Change::PutLocalNetworkGateway(LocalGatewaySpec {
        asn: Some(8075),
        local_address_prefixes: vec!["172.16.0.0/16".into()],
        ..spec
    });
    refused(&mut m, c, ErrorCode::BadRequest, "8075");
}

// ================================================================ Route Server

#[test]
fn route_server_outside_route_server_subnet_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        route_server_change("rs1", subnet("lonely-vnet", "default")),
        ErrorCode::BadRequest,
        "default",
    );
}

#[test]
fn route_server_subnet_smaller_than_slash_27_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.254.0/28"),
    );
    refused(
        &mut m,
        route_server_change("rs1", subnet("lonely-vnet", "RouteServerSubnet")),
        ErrorCode::BadRequest,
        "10.9.254.0/28",
    );
}

#[test]
fn route_server_peering_with_reserved_asn_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27"),
    );
    ok(
        &mut m,
        route_server_change("rs1", subnet("lonely-vnet", "RouteServerSubnet")),
    );
    for asn in [65515, 8075, 23456, 65535] {
        let c = Change::PutRouteServerPeering(RouteServerPeeringSpec {
            id: rs("rs1").child("bgpConnections", "nva"),
            peer_ip: "10.9.0.4".into(),
            peer_asn: asn,
            advertised_prefixes: vec![],
        });
        refused(&mut m, c, ErrorCode::BadRequest, &asn.to_string());
    }
}

#[test]
fn route_server_hold_time_below_three_seconds_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27"),
    );
    let with = |hold| match route_server_change("rs1", subnet("lonely-vnet", "RouteServerSubnet")) {
        Change::PutRouteServer(spec) => Change::PutRouteServer(RouteServerSpec {
            bgp_hold_secs: Some(hold),
            ..spec
        }),
        other => other,
    };
    refused(&mut m, with(2), ErrorCode::BadRequest, "at least 3 seconds");
    ok(&mut m, with(9));
    assert_eq!(m.route_servers[&rs("rs1")].bgp_hold_secs, Some(9));
}

#[test]
fn route_server_peer_outside_the_reachable_vnets_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27"),
    );
    ok(
        &mut m,
        route_server_change("rs1", subnet("lonely-vnet", "RouteServerSubnet")),
    );
    let c = Change::PutRouteServerPeering(RouteServerPeeringSpec {
        id: rs("rs1").child("bgpConnections", "nva"),
        peer_ip: "10.1.1.4".into(),
        peer_asn: 65010,
        advertised_prefixes: vec![],
    });
    refused(&mut m, c, ErrorCode::BadRequest, "10.1.1.4");
}

#[test]
fn second_route_server_in_a_vnet_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        subnet_change("lonely-vnet", "RouteServerSubnet", "10.9.254.0/27"),
    );
    ok(
        &mut m,
        route_server_change("rs1", subnet("lonely-vnet", "RouteServerSubnet")),
    );
    refused(
        &mut m,
        route_server_change("rs2", subnet("lonely-vnet", "RouteServerSubnet")),
        ErrorCode::BadRequest,
        "rs1",
    );
}

// ================================================================ names

#[test]
fn names_that_break_the_rules_are_refused_for_network_resources() {
    let mut m = base();
    let long81 = "n".repeat(81);
    for bad in [
        "",
        "-nsg",
        "_nsg",
        ".nsg",
        "nsg-",
        "nsg.",
        "my nsg",
        "nsg!",
        "é",
        long81.as_str(),
    ] {
        let e = refused(
            &mut m,
            Change::PutNetworkSecurityGroup {
                id: nsg(bad),
                location: None,
            },
            ErrorCode::InvalidResourceName,
            bad,
        );
        assert_eq!(e.target.as_deref(), Some(bad));
        refused(
            &mut m,
            subnet_change("lonely-vnet", bad, "10.9.7.0/24"),
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            Change::PutRouteTable {
                id: rt(bad),
                location: None,
                disable_bgp_route_propagation: false,
            },
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            nic_change(bad, subnet("lonely-vnet", "default")),
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            peer("lonely-vnet", bad, "spoke2-vnet"),
            ErrorCode::InvalidResourceName,
            bad,
        );
    }
    // 80 characters and a trailing '_' are fine.
    ok(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg(&"n".repeat(80)),
            location: None,
        },
    );
    ok(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("nsg_"),
            location: None,
        },
    );
}

#[test]
fn vnet_names_that_break_the_rules_are_refused() {
    let mut m = base();
    let long65 = "v".repeat(65);
    for bad in ["", "v", "-vnet", "vnet-", "vnet.", "my vnet", long65.as_str()] {
        refused(
            &mut m,
            vnet_change(bad, &["10.40.0.0/16"]),
            ErrorCode::InvalidResourceName,
            bad,
        );
    }
}

#[test]
fn vm_names_that_break_the_rules_are_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    let long65 = "v".repeat(65);
    for bad in ["vm_1", "-vm", "vm-", "vm.", "vm!", "a b", long65.as_str()] {
        refused(
            &mut m,
            Change::PutVirtualMachine(vm_spec(vm(bad), vec![nic("n2")])),
            ErrorCode::InvalidParameter,
            bad,
        );
    }
}

#[test]
fn resource_group_names_that_break_the_rules_are_refused() {
    let mut m = base();
    let long91 = "r".repeat(91);
    for bad in ["", "rg.", "a/b", "../x", "..", "a\u{0}b", long91.as_str()] {
        refused(
            &mut m,
            Change::PutResourceGroup {
                subscription: SUB.into(),
                name: bad.into(),
                location: LOC.into(),
            },
            ErrorCode::InvalidResourceName,
            bad,
        );
    }
}

#[test]
fn path_like_names_are_refused_for_every_resource_type() {
    let mut m = base();
    for bad in ["../x", "a/b", "../../nsg"] {
        refused(
            &mut m,
            Change::PutNetworkSecurityGroup {
                id: nsg(bad),
                location: None,
            },
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            Change::PutRouteTable {
                id: rt(bad),
                location: None,
                disable_bgp_route_propagation: false,
            },
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            Change::PutPublicIp(PublicIpSpec {
                id: pip(bad),
                location: None,
                sku: PublicIpSku::Standard,
            }),
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            nic_change(bad, subnet("lonely-vnet", "default")),
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            subnet_change("lonely-vnet", bad, "10.9.7.0/24"),
            ErrorCode::InvalidResourceName,
            bad,
        );
        refused(
            &mut m,
            vnet_change(&format!("{bad}y"), &["10.40.0.0/16"]),
            ErrorCode::InvalidResourceName,
            bad,
        );
    }
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    for bad in ["../vm", "a/vm"] {
        refused(
            &mut m,
            Change::PutVirtualMachine(vm_spec(vm(bad), vec![nic("n2")])),
            ErrorCode::InvalidParameter,
            bad,
        );
    }
}

// ================================================================ locations, groups, identity

#[test]
fn unknown_location_is_refused() {
    let mut m = base();
    let c = Change::PutVirtualNetwork(VnetSpec {
        id: vnet("mars-vnet"),
        location: Some("marsnorth".into()),
        address_prefixes: vec!["10.40.0.0/16".into()],
        flow_timeout_in_minutes: None,
        dns_servers: None,
    });
    refused(&mut m, c, ErrorCode::LocationNotAvailableForResourceType, "marsnorth");
    refused(
        &mut m,
        Change::PutResourceGroup {
            subscription: SUB.into(),
            name: "mars-rg".into(),
            location: "marsnorth".into(),
        },
        ErrorCode::LocationNotAvailableForResourceType,
        "marsnorth",
    );
}

#[test]
fn location_display_names_are_accepted() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("ne-nsg"),
            location: Some("North Europe".into()),
        },
    );
    assert_eq!(m.network_security_groups[&nsg("ne-nsg")].location, "northeurope");
}

#[test]
fn resource_in_a_missing_resource_group_is_refused() {
    let mut m = base();
    let c = vnet_change_id(
        ResourceId::network(SUB, "ghost-rg", "virtualNetworks", "v1"),
        &["10.40.0.0/16"],
    );
    refused(&mut m, c, ErrorCode::ResourceGroupNotFound, "ghost-rg");
}

#[test]
fn resource_in_a_missing_subscription_is_refused() {
    let mut m = base();
    let c = Change::PutNetworkSecurityGroup {
        id: ResourceId::network("44444444-4444-4444-8444-444444444444", RG, "networkSecurityGroups", "n"),
        location: None,
    };
    refused(
        &mut m,
        c,
        ErrorCode::SubscriptionNotFound,
        "44444444-4444-4444-8444-444444444444",
    );
}

#[test]
fn changing_a_vnet_location_is_refused() {
    let mut m = base();
    let c = Change::PutVirtualNetwork(VnetSpec {
        id: vnet("lonely-vnet"),
        location: Some("northeurope".into()),
        address_prefixes: vec!["10.9.0.0/16".into()],
        flow_timeout_in_minutes: None,
        dns_servers: None,
    });
    let e = refused(&mut m, c, ErrorCode::InvalidResourceLocation, "lonely-vnet");
    assert!(
        e.message.contains("westeurope") && e.message.contains("northeurope"),
        "{}",
        e.message
    );
}

#[test]
fn changing_an_nsg_location_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("apps-nsg"),
            location: Some("eastus".into()),
        },
        ErrorCode::InvalidResourceLocation,
        "apps-nsg",
    );
}

#[test]
fn recreating_a_resource_group_in_another_location_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutResourceGroup {
            subscription: SUB.into(),
            name: RG.into(),
            location: "eastus".into(),
        },
        ErrorCode::InvalidResourceLocation,
        RG,
    );
}

#[test]
fn resource_group_in_a_missing_subscription_is_refused() {
    let mut m = base();
    let c = Change::PutResourceGroup {
        subscription: "55555555-5555-4555-8555-555555555555".into(),
        name: "rg".into(),
        location: LOC.into(),
    };
    refused(
        &mut m,
        c,
        ErrorCode::SubscriptionNotFound,
        "55555555-5555-4555-8555-555555555555",
    );
}

#[test]
fn deleting_a_missing_resource_group_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        Change::DeleteResourceGroup(ResourceId::resource_group(SUB, "ghost-rg")),
        ErrorCode::ResourceGroupNotFound,
        "ghost-rg",
    );
}

#[test]
fn deleting_a_resource_group_whose_subnet_is_used_from_outside_is_refused_whole() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutResourceGroup {
            subscription: SUB.into(),
            name: "other-rg".into(),
            location: LOC.into(),
        },
    );
    let outside = ResourceId::network(SUB, "other-rg", "networkInterfaces", "outside-nic");
    ok(
        &mut m,
        Change::PutNetworkInterface(NicSpec {
            ip_configuration_name: None,
            id: outside,
            ..nic_spec("unused", subnet("spoke2-vnet", "web"))
        }),
    );
    refused(
        &mut m,
        Change::DeleteResourceGroup(ResourceId::resource_group(SUB, RG)),
        ErrorCode::InUseSubnetCannotBeDeleted,
        "outside-nic",
    );
}

#[test]
fn deleting_a_resource_group_removes_everything_in_it() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutPeering(peering_spec("spoke1-vnet", "spoke1-to-hub", vnet("hub-vnet"))),
    );
    ok(&mut m, Change::DeleteResourceGroup(ResourceId::resource_group(SUB, RG)));
    assert!(m.resource_groups.is_empty() && m.virtual_networks.is_empty() && m.network_interfaces.is_empty());
    assert!(
        m.virtual_network_gateways.is_empty()
            && m.public_ip_addresses.is_empty()
            && m.network_security_groups.is_empty()
    );
}

#[test]
fn deleting_a_hub_and_spoke_resource_group_with_remote_gateway_peering_succeeds() {
    let mut m = base();
    ok(&mut m, Change::DeleteResourceGroup(ResourceId::resource_group(SUB, RG)));
    assert!(m.resource_groups.is_empty() && m.virtual_networks.is_empty() && m.virtual_network_gateways.is_empty());
}

#[test]
fn subscription_with_non_guid_ids_is_refused() {
    let mut m = base();
    let c = Change::PutSubscription(Subscription {
        id: "not-a-guid".into(),
        name: "bad-sub".into(),
        tenant_id: TENANT2.into(),
    });
    refused(&mut m, c, ErrorCode::BadRequest, "bad-sub");
}

#[test]
fn principal_with_bad_input_is_refused() {
    let mut m = base();
    let c = Change::PutPrincipal(Principal {
        name: "bob".into(),
        object_id: "123".into(),
        tenant_id: DEFAULT_TENANT_ID.into(),
        principal_type: PrincipalType::User,
    });
    refused(&mut m, c, ErrorCode::BadRequest, "bob");
    let c = Change::PutPrincipal(Principal {
        name: " ".into(),
        object_id: ALICE_ID.into(),
        tenant_id: DEFAULT_TENANT_ID.into(),
        principal_type: PrincipalType::User,
    });
    refused(&mut m, c, ErrorCode::BadRequest, "principal name");
}

#[test]
fn role_assignment_for_an_unknown_principal_is_refused() {
    let mut m = base();
    refused(
        &mut m,
        network_contributor(&vnet("lonely-vnet")),
        ErrorCode::PrincipalNotFound,
        ALICE_ID,
    );
}

#[test]
fn role_assignment_with_an_unknown_role_is_refused() {
    let mut m = base();
    add_partner(&mut m);
    let c = Change::PutRoleAssignment(RoleAssignment {
        principal_object_id: ALICE_ID.into(),
        role_definition_name: "Network Wizard".into(),
        scope: vnet("lonely-vnet").to_string(),
    });
    refused(&mut m, c, ErrorCode::RoleDefinitionDoesNotExist, "Network Wizard");
}

/// A second assignment of the same role to the same principal at the same
/// scope (another name) is ARM's 409 RoleAssignmentExists, through the ARM
/// endpoint (az aks create treats it as done).
#[test]
fn a_second_identical_role_assignment_is_role_assignment_exists() {
    use vnetlab::arm::{Arm, Request, auth};
    let mut backend = vnetlab::az::MemoryBackend::new();
    let mut arm = Arm::new(b"k", "https://127.0.0.1:1");
    let req = |method: &str, path: &str, token: Option<&str>, body: String| {
        Request::new(method, path, token, body.as_bytes())
    };
    let secret = arm.keys().client_secret(auth::LAB_PRINCIPAL_APP_ID);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={secret}",
        auth::LAB_PRINCIPAL_APP_ID
    );
    let r = arm.handle(
        "t",
        &req("POST", &format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"), None, form),
        &mut backend,
        1,
    );
    let token = r.body.expect("a token")["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let body = serde_json::json!({ "properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"),
        "principalId": "11111111-2222-4333-8444-555555555555" } })
    .to_string();
    let at = |n: u8| {
        format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-4000-8000-00000000000{n}?api-version=2022-04-01"
        )
    };
    let first = arm.handle("t", &req("PUT", &at(1), Some(&token), body.clone()), &mut backend, 2);
    assert_eq!(first.status, 201, "{first:?}");
    let second = arm.handle("t", &req("PUT", &at(2), Some(&token), body), &mut backend, 2);
    assert_eq!(second.status, 409, "{second:?}");
    assert_eq!(
        second.body.expect("an error")["error"]["code"],
        ErrorCode::RoleAssignmentExists.as_str()
    );
}

#[test]
fn role_assignment_with_a_bad_scope_is_refused() {
    let mut m = base();
    add_partner(&mut m);
    let c = Change::PutRoleAssignment(RoleAssignment {
        principal_object_id: ALICE_ID.into(),
        role_definition_name: "Reader".into(),
        scope: "resourceGroups/x".into(),
    });
    refused(&mut m, c, ErrorCode::InvalidRequestFormat, "resourceGroups/x");
    let c = Change::PutRoleAssignment(RoleAssignment {
        principal_object_id: ALICE_ID.into(),
        role_definition_name: "Reader".into(),
        scope: "/subscriptions/66666666-6666-4666-8666-666666666666".into(),
    });
    refused(
        &mut m,
        c,
        ErrorCode::SubscriptionNotFound,
        "66666666-6666-4666-8666-666666666666",
    );
}

#[test]
fn deleting_a_role_assignment_that_does_not_exist_is_not_found() {
    let mut m = base();
    add_partner(&mut m);
    let a = RoleAssignment {
        principal_object_id: ALICE_ID.into(),
        role_definition_name: "Reader".into(),
        scope: vnet("lonely-vnet").to_string(),
    };
    refused(&mut m, Change::DeleteRoleAssignment(a), ErrorCode::NotFound, "Reader");
}

// ================================================================ private DNS zones

fn zone(name: &str) -> ResourceId {
    id("privateDnsZones", name)
}
fn zone_link(z: &str, link: &str, v: &str, registration: bool) -> Change {
    Change::PutVirtualNetworkLink(VirtualNetworkLinkSpec {
        id: zone(z).child("virtualNetworkLinks", link),
        virtual_network: vnet(v),
        registration_enabled: registration,
    })
}

#[test]
fn a_vnet_has_one_registration_zone() {
    let mut m = base();
    for z in ["contoso.com", "fabrikam.com"] {
        ok(&mut m, Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: zone(z) }));
    }
    ok(&mut m, zone_link("contoso.com", "hub", "hub-vnet", true));
    refused(
        &mut m,
        zone_link("fabrikam.com", "hub", "hub-vnet", true),
        ErrorCode::Conflict,
        "auto-registration",
    );
}

#[test]
fn a_zone_with_links_cannot_be_deleted() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutPrivateDnsZone(PrivateDnsZoneSpec {
            id: zone("contoso.com"),
        }),
    );
    ok(&mut m, zone_link("contoso.com", "hub", "hub-vnet", false));
    refused(
        &mut m,
        Change::DeletePrivateDnsZone(zone("contoso.com")),
        ErrorCode::CannotDeleteResource,
        "virtualNetworkLinks/hub",
    );
}

// ================================================================ template deployments

/// A template whose second VNet overlaps the first's peer fails whole:
/// DeploymentFailed names the resource, and the lab is as it was.
#[test]
fn a_template_with_one_refused_resource_deploys_nothing() {
    let m = base();
    let template = serde_json::json!({
        "contentVersion": "1.0.0.0",
        "resources": [
            { "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "fine", "location": LOC,
              "properties": { "addressSpace": { "addressPrefixes": ["10.70.0.0/16"] } } },
            { "type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-09-01", "name": "fine/outside", "dependsOn": ["fine"],
              "properties": { "addressPrefix": "10.71.0.0/24" } },
        ],
    });
    let body = serde_json::json!({ "properties": { "template": template, "mode": "Incremental" } });
    let group = ResourceId::resource_group(SUB, RG);
    let e = vnetlab::arm::template::deploy(&m, &group, "d1", &body, None).expect_err("refused");
    assert_eq!(e.code, ErrorCode::DeploymentFailed);
    assert!(
        e.message.contains("'fine/outside'") || e.message.contains("'outside'"),
        "{}",
        e.message
    );
    assert!(e.message.contains("NetcfgSubnetRangeOutsideVnet"), "{}", e.message);
    assert_eq!(m, base());
}

/// A second create (If-None-Match: *) of a Private DNS zone, link or record
/// set is refused in Private DNS's words; the az front and the ARM endpoint
/// both answer with this error (412 over ARM).
#[test]
fn a_second_create_of_private_dns_resources_is_precondition_failed() {
    let zone = ResourceId::parse(
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/contoso.com",
    )
    .expect("zone id");
    let e = exists_already(&zone);
    assert_eq!(e.code, ErrorCode::PreconditionFailed);
    assert!(
        e.message.contains("The Zone contoso.com exists already"),
        "{}",
        e.message
    );
    let link = zone.child("virtualNetworkLinks", "hub");
    let e = exists_already(&link);
    assert_eq!(e.code, ErrorCode::PreconditionFailed);
    assert!(
        e.message.contains("link hub for the Private DNS zone contoso.com"),
        "{}",
        e.message
    );
}

// ================================================================ tags

fn tag_change(pairs: &[(&str, &str)]) -> Change {
    Change::SetTags {
        id: ResourceId::resource_group(SUB, RG),
        tags: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

/// Azure's tag limits (Learn "Use tags to organize your Azure resources"):
/// each refusal in ARM's code, the group left as it was.
#[test]
fn bad_tags_are_refused_with_arms_codes() {
    let mut m = base();
    ok(&mut m, tag_change(&[("env", "lab")]));
    refused(
        &mut m,
        tag_change(&[("cost/center", "1")]),
        ErrorCode::InvalidTagNameCharacters,
        "cost/center",
    );
    refused(&mut m, tag_change(&[("", "x")]), ErrorCode::InvalidTagName, "tag name");
    let long = "n".repeat(MAX_TAG_NAME + 1);
    refused(&mut m, tag_change(&[(&long, "x")]), ErrorCode::InvalidTagName, "512");
    let value = "v".repeat(MAX_TAG_VALUE + 1);
    refused(
        &mut m,
        tag_change(&[("k", &value)]),
        ErrorCode::InvalidTagValueLength,
        "256",
    );
    let names: Vec<String> = (0..=MAX_TAGS).map(|i| format!("k{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
    refused(&mut m, tag_change(&many), ErrorCode::InvalidTags, "51");
    assert_eq!(
        m.tags_of(&ResourceId::resource_group(SUB, RG)).map(|t| t.len()),
        Some(1)
    );
}

// ================================================================ coverage of the code list

/// Every code in `ErrorCode::ALL` is asserted by at least one test in
/// this file, so a new code without a test fails here.
#[test]
fn every_error_code_is_asserted_somewhere_in_this_file() {
    let src = include_str!("validation.rs");
    for c in ErrorCode::ALL {
        let needle = format!("ErrorCode::{}", c.as_str());
        let used = src.match_indices(&needle).any(|(at, _)| {
            let next = src[at + needle.len()..].chars().next();
            !next.is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        });
        assert!(used, "{c} has no test in tests/validation.rs");
    }
}

// ================================================================ locations and lost peers

#[test]
fn an_update_without_location_keeps_the_resource_location() {
    let mut m = base();
    let id = vnet("north-vnet");
    let mut c = vnet_change_id(id.clone(), &["10.50.0.0/16"]);
    if let Change::PutVirtualNetwork(s) = &mut c {
        s.location = Some("northeurope".into());
    }
    ok(&mut m, c);
    // The group is in westeurope; an update that names no location keeps northeurope.
    ok(&mut m, vnet_change_id(id.clone(), &["10.50.0.0/16", "10.51.0.0/16"]));
    assert_eq!(m.virtual_networks[&id].location, "northeurope");
}

#[test]
fn a_region_of_another_cloud_is_refused_in_a_subscription() {
    let mut m = base();
    let mut c = vnet_change("china-vnet", &["10.60.0.0/16"]);
    if let Change::PutVirtualNetwork(s) = &mut c {
        s.location = Some("chinanorth3".into());
    }
    refused(&mut m, c, ErrorCode::LocationNotAvailableForResourceType, "chinanorth3");
    let c = Change::PutResourceGroup {
        subscription: SUB.into(),
        name: "china-rg".into(),
        location: "chinanorth3".into(),
    };
    refused(&mut m, c, ErrorCode::LocationNotAvailableForResourceType, "chinanorth3");
}

#[test]
fn an_initiated_link_whose_remote_vnet_is_deleted_stays_disconnected() {
    let mut m = base();
    ok(&mut m, vnet_change("left", &["10.70.0.0/16"]));
    ok(&mut m, vnet_change("right", &["10.71.0.0/16"]));
    ok(&mut m, peer("left", "left-to-right", "right"));
    let link = m.virtual_networks[&vnet("left")].peerings[0].clone();
    assert_eq!(m.peering_state(&vnet("left"), &link), PeeringState::Initiated);
    ok(&mut m, Change::DeleteVirtualNetwork(vnet("right")));
    ok(&mut m, vnet_change("right", &["10.71.0.0/16"]));
    let link = m.virtual_networks[&vnet("left")].peerings[0].clone();
    assert_eq!(m.peering_state(&vnet("left"), &link), PeeringState::Disconnected);
    refused(
        &mut m,
        peer("right", "right-to-left", "left"),
        ErrorCode::RemotePeeringIsDisconnected,
        "Disconnected",
    );
}

// ================================================================ AKS (issue 7)

fn aks_spec(name: &str, pod_cidr: &str, service_cidr: &str, subnet_name: &str) -> ManagedClusterSpec {
    let id = ResourceId::resource(SUB, RG, CONTAINER_SERVICE, "managedClusters", name);
    ManagedClusterSpec {
        pool: AgentPoolSpec {
            id: id.child("agentPools", "nodepool1"),
            count: 1,
            vm_size: None,
            vnet_subnet_id: Some(subnet("hub-vnet", subnet_name)),
            mode: None,
        },
        id,
        location: None,
        network_plugin: "azure".into(),
        network_plugin_mode: Some("overlay".into()),
        pod_cidr: Some(pod_cidr.into()),
        service_cidr: Some(service_cidr.into()),
        dns_service_ip: None,
        kubernetes_version: None,
        dns_prefix: None,
        node_resource_group: None,
    }
}

#[test]
fn aks_refusals_use_aks_and_kubernetes_codes() {
    let mut m = base();
    refused(
        &mut m,
        Change::PutManagedCluster(aks_spec("aks1", "10.0.128.0/17", "10.100.0.0/16", "shared")),
        ErrorCode::NetworkProfileCIDROverlapVNET,
        "overlaps with reserved VNET CIDR 10.0.0.0/16",
    );
    refused(
        &mut m,
        Change::PutManagedCluster(aks_spec("aks1", "10.244.0.0/16", "10.0.0.0/22", "shared")),
        ErrorCode::ServiceCidrOverlapExistingSubnetsCidr,
        "conflicted with an existing subnet CIDR 10.0.1.0/24",
    );
    refused(
        &mut m,
        Change::PutManagedCluster(aks_spec("aks1", "10.244.0.0/16", "10.100.0.0/16", "nope")),
        ErrorCode::SubnetNotFound,
        "Could not find subnet nope in vnet hub-vnet",
    );
    ok(
        &mut m,
        Change::PutManagedCluster(aks_spec("aks1", "10.244.0.0/16", "10.100.0.0/16", "shared")),
    );
    refused(
        &mut m,
        Change::PutManagedCluster(aks_spec("aks1", "10.245.0.0/16", "10.100.0.0/16", "shared")),
        ErrorCode::PropertyChangeNotAllowed,
        "podCidr",
    );
    let cluster = ResourceId::resource(SUB, RG, CONTAINER_SERVICE, "managedClusters", "aks1");
    let pod = |name: &str| {
        Change::PutPod(PodSpec {
            cluster: cluster.clone(),
            name: name.into(),
            image: "busybox".into(),
            command: vec![],
            node: None,
        })
    };
    ok(&mut m, pod("web"));
    refused(&mut m, pod("web"), ErrorCode::AlreadyExists, "already exists");
    refused(&mut m, pod("Web_1"), ErrorCode::Invalid, "RFC 1123");
    refused(
        &mut m,
        Change::DeletePod {
            cluster,
            name: "gone".into(),
        },
        ErrorCode::NotFound,
        "not found",
    );
}

// ================================================================ load balancers, Redis, private endpoints

fn lb_id(name: &str) -> ResourceId {
    id("loadBalancers", name)
}

/// An internal load balancer in spoke1's apps subnet with one pool
/// `<name>-pool`, and a Tcp rule on port 80 (or an HA-ports rule).
fn lb_change(name: &str, sku: LbSku, ha_ports: bool) -> Change {
    let (protocol, port) = if ha_ports {
        (TransportProtocol::All, 0)
    } else {
        (TransportProtocol::Tcp, 80)
    };
    Change::PutLoadBalancer(LoadBalancerSpec {
        id: lb_id(name),
        location: None,
        sku,
        frontends: vec![FrontendSpec {
            name: "fe".into(),
            subnet: subnet("spoke1-vnet", "apps"),
            private_ip_address: None,
        }],
        backend_pools: vec![format!("{name}-pool")],
        probes: vec![],
        rules: vec![LbRuleSpec {
            name: "r".into(),
            frontend: "fe".into(),
            backend_pool: format!("{name}-pool"),
            probe: None,
            protocol,
            frontend_port: port,
            backend_port: port,
            idle_timeout_in_minutes: None,
            enable_floating_ip: false,
            load_distribution: LoadDistribution::Default,
        }],
    })
}

fn pool(lb: &str) -> ResourceId {
    lb_id(lb).child("backendAddressPools", &format!("{lb}-pool"))
}

fn redis_id(name: &str) -> ResourceId {
    ResourceId::resource(SUB, RG, "Microsoft.Cache", "Redis", name)
}

fn redis_change(name: &str, sku: RedisSku, size: &str, in_subnet: Option<ResourceId>) -> Change {
    Change::PutRedisCache(RedisSpec {
        id: redis_id(name),
        location: None,
        sku,
        vm_size: size.into(),
        subnet: in_subnet,
        static_ip: None,
        enable_non_ssl_port: false,
        redis_version: None,
    })
}

fn endpoint_change(name: &str, cache: &str) -> Change {
    Change::PutPrivateEndpoint(PrivateEndpointSpec {
        id: id("privateEndpoints", name),
        location: None,
        subnet: subnet("spoke1-vnet", "apps"),
        private_link_service_id: redis_id(cache),
        group_ids: vec!["redisCache".into()],
        connection_name: "conn".into(),
    })
}

#[test]
fn a_nic_in_pools_of_a_basic_and_a_standard_load_balancer_is_refused() {
    let mut m = base();
    ok(&mut m, lb_change("std-lb", LbSku::Standard, false));
    ok(&mut m, lb_change("basic-lb", LbSku::Basic, false));
    ok(
        &mut m,
        Change::SetBackendPools {
            nic: nic("vm1-nic"),
            pools: vec![pool("std-lb")],
        },
    );
    refused(
        &mut m,
        Change::SetBackendPools {
            nic: nic("vm1-nic"),
            pools: vec![pool("std-lb"), pool("basic-lb")],
        },
        ErrorCode::DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed,
        "vm1-nic",
    );
}

#[test]
fn an_ha_ports_rule_on_a_basic_load_balancer_is_refused() {
    let mut m = base();
    ok(&mut m, lb_change("std-lb", LbSku::Standard, true));
    refused(
        &mut m,
        lb_change("basic-lb", LbSku::Basic, true),
        ErrorCode::InvalidParameter,
        "HA ports",
    );
}

#[test]
fn a_backend_outside_the_load_balancers_vnet_and_a_pool_in_use_are_refused() {
    let mut m = base();
    ok(&mut m, lb_change("std-lb", LbSku::Standard, false));
    ok(
        &mut m,
        Change::PutNetworkInterface(nic_spec("web-nic", subnet("spoke2-vnet", "web"))),
    );
    refused(
        &mut m,
        Change::SetBackendPools {
            nic: nic("web-nic"),
            pools: vec![pool("std-lb")],
        },
        ErrorCode::InvalidParameter,
        "web-nic",
    );
    ok(
        &mut m,
        Change::SetBackendPools {
            nic: nic("vm1-nic"),
            pools: vec![pool("std-lb")],
        },
    );
    refused(
        &mut m,
        Change::DeleteLoadBalancer(lb_id("std-lb")),
        ErrorCode::BadRequest,
        "std-lb",
    );
}

#[test]
fn a_cache_in_a_subnet_must_be_premium_and_a_private_endpoint_cannot_reach_an_injected_one() {
    let mut m = base();
    ok(&mut m, subnet_change("spoke1-vnet", "cache", "10.1.3.0/24"));
    refused(
        &mut m,
        redis_change(
            "std-cache",
            RedisSku::Standard,
            "C1",
            Some(subnet("spoke1-vnet", "cache")),
        ),
        ErrorCode::InvalidParameter,
        "Premium",
    );
    ok(
        &mut m,
        redis_change(
            "vnet-cache",
            RedisSku::Premium,
            "P1",
            Some(subnet("spoke1-vnet", "cache")),
        ),
    );
    refused(
        &mut m,
        endpoint_change("pe1", "vnet-cache"),
        ErrorCode::InvalidParameter,
        "vnet-cache",
    );
    // A cache without a subnet is reached through a private endpoint.
    ok(&mut m, redis_change("plain-cache", RedisSku::Basic, "C0", None));
    ok(&mut m, endpoint_change("pe1", "plain-cache"));
}

#[test]
fn the_nic_a_private_endpoint_made_is_neither_changed_nor_deleted_by_hand() {
    let mut m = base();
    ok(&mut m, redis_change("plain-cache", RedisSku::Basic, "C0", None));
    ok(&mut m, endpoint_change("pe1", "plain-cache"));
    let made = m.private_endpoints.values().next().expect("the endpoint").nic_id();
    for change in [
        Change::SetTags {
            id: made.clone(),
            tags: [("env".to_string(), "lab".to_string())].into_iter().collect(),
        },
        Change::DeleteNetworkInterface(made.clone()),
        Change::PutNetworkInterface(NicSpec {
            id: made.clone(),
            ..nic_spec("ignored", subnet("spoke1-vnet", "apps"))
        }),
    ] {
        refused(
            &mut m,
            change,
            ErrorCode::CannotModifyNicAttachedToPrivateEndpoint,
            "pe1",
        );
    }
    // It goes with its endpoint.
    ok(&mut m, Change::DeletePrivateEndpoint(id("privateEndpoints", "pe1")));
    assert!(m.private_endpoint_of_nic(&made).is_none());
}

// ================================================================ count limits (§11)

fn vnet_in(name: &str, location: &str, prefix: &str) -> Change {
    Change::PutVirtualNetwork(VnetSpec {
        id: vnet(name),
        location: Some(location.into()),
        address_prefixes: vec![prefix.into()],
        flow_timeout_in_minutes: None,
        dns_servers: None,
    })
}

/// The i-th of many /24s that overlap nothing in `base()` (172.16.0.0 and up).
fn nth_24(i: usize) -> String {
    format!("172.{}.{}.0/24", 16 + i / 256, i % 256)
}

#[test]
fn an_nsg_with_more_than_1000_rules_is_refused() {
    let mut m = base();
    ok(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("big-nsg"),
            location: None,
        },
    );
    let rules = (0..limits::MAX_RULES_PER_NSG)
        .map(|i| Change::PutSecurityRule(rule_spec("big-nsg", &format!("r{i}"), 100 + i as i64)));
    m.apply_all(rules).expect("1 000 rules fit");
    let e = refused(
        &mut m,
        Change::PutSecurityRule(rule_spec("big-nsg", "one-too-many", 2000)),
        ErrorCode::SecurityRuleCountLimitReached,
        "cannot have more than 1000 security rules",
    );
    assert!(e.message.contains("big-nsg"), "{}", e.message);
    // Updating a rule that exists is no new rule.
    ok(&mut m, Change::PutSecurityRule(rule_spec("big-nsg", "r0", 100)));
}

#[test]
fn private_ips_per_vnet_count_the_nics_of_that_vnet_only() {
    // The 65 536 limit itself needs as many NICs to reach; its count is
    // checked here.
    let mut m = base();
    let before = limits::private_ips(&m, &vnet("spoke1-vnet"));
    let others = limits::private_ips(&m, &vnet("spoke2-vnet"));
    ok(
        &mut m,
        Change::PutNetworkInterface(nic_spec("extra-nic", subnet("spoke1-vnet", "apps"))),
    );
    ok(
        &mut m,
        Change::PutNetworkInterface(nic_spec("extra-nic-2", subnet("spoke1-vnet", "tiny"))),
    );
    assert_eq!(limits::private_ips(&m, &vnet("spoke1-vnet")), before + 2);
    assert_eq!(limits::private_ips(&m, &vnet("spoke2-vnet")), others);
    assert_eq!(limits::private_ips(&m, &vnet("lonely-vnet")), 0);
}

#[test]
fn a_route_table_with_more_than_1000_routes_is_refused() {
    let mut m = base();
    let routes = (0..limits::MAX_ROUTES_PER_TABLE - 1)
        .map(|i| Change::PutRoute(route_spec("apps-rt", &format!("r{i}"), &nth_24(i), "Internet", None)));
    m.apply_all(routes).expect("1 000 routes fit (with to-fw)");
    refused(
        &mut m,
        Change::PutRoute(route_spec(
            "apps-rt",
            "one-too-many",
            "192.168.7.0/24",
            "Internet",
            None,
        )),
        ErrorCode::QuotaExceeded,
        "cannot have more than 1000 routes",
    );
}

#[test]
fn a_vnet_with_more_than_3000_subnets_is_refused() {
    let mut m = base();
    ok(&mut m, vnet_change("wide-vnet", &["172.16.0.0/16"]));
    let subnets = (0..limits::MAX_SUBNETS_PER_VNET).map(|i| {
        let prefix = format!("172.16.{}.{}/29", i / 32, (i % 32) * 8);
        subnet_change("wide-vnet", &format!("s{i}"), &prefix)
    });
    m.apply_all(subnets).expect("3 000 subnets fit");
    refused(
        &mut m,
        subnet_change("wide-vnet", "one-too-many", "172.16.200.0/29"),
        ErrorCode::QuotaExceeded,
        "cannot have more than 3000 subnets",
    );
}

#[test]
fn a_vnet_with_more_than_500_peerings_is_refused() {
    let mut m = base();
    ok(&mut m, vnet_change("star-vnet", &["192.168.100.0/24"]));
    let n = limits::MAX_PEERINGS_PER_VNET;
    let setup = (0..=n).flat_map(|i| {
        let name = format!("leaf{i}");
        [
            vnet_change(&name, &[&nth_24(i)]),
            peer("star-vnet", &format!("to-{name}"), &name),
        ]
    });
    // The 501st peering of the batch is the one refused, and the batch with it.
    let before = m.clone();
    let (at, e) = m.apply_all(setup).expect_err("501 peerings");
    assert_eq!((at, e.code), (2 * n + 1, ErrorCode::QuotaExceeded), "{}", e.message);
    assert!(
        e.message.contains("more than 500 virtual network peerings"),
        "{}",
        e.message
    );
    assert_eq!(m, before, "a refused batch changes nothing");
}

#[test]
fn a_vnet_with_more_than_20_dns_servers_is_refused() {
    let mut m = base();
    let servers = |n: usize| (0..n).map(|i| format!("10.0.1.{}", 4 + i)).collect::<Vec<_>>();
    let dns = |n: usize| {
        Change::PutVirtualNetwork(VnetSpec {
            dns_servers: Some(servers(n)),
            ..vnet_spec_of(vnet_change("hub-vnet", &["10.0.0.0/16"]))
        })
    };
    ok(&mut m, dns(limits::MAX_DNS_SERVERS_PER_VNET));
    refused(&mut m, dns(21), ErrorCode::QuotaExceeded, "more than 20 DNS servers");
}

fn vnet_spec_of(c: Change) -> VnetSpec {
    match c {
        Change::PutVirtualNetwork(s) => s,
        other => panic!("not a VNet change: {other:?}"),
    }
}

#[test]
fn more_than_1000_vnets_in_one_subscription_and_region_is_refused() {
    let mut m = base();
    let vnets =
        (0..limits::MAX_VNETS_PER_SUBSCRIPTION_REGION).map(|i| vnet_in(&format!("ne{i}"), "northeurope", &nth_24(i)));
    m.apply_all(vnets).expect("1 000 VNets fit in northeurope");
    let e = refused(
        &mut m,
        vnet_in("ne-extra", "northeurope", "192.168.50.0/24"),
        ErrorCode::QuotaExceeded,
        "1000 virtual networks per subscription per region",
    );
    assert!(e.message.contains("northeurope"), "{}", e.message);
    // Another region has its own quota, and a deleted VNet frees its slot.
    ok(&mut m, vnet_in("se-extra", "swedencentral", "192.168.50.0/24"));
    ok(&mut m, Change::DeleteVirtualNetwork(vnet("ne0")));
    ok(&mut m, vnet_in("ne-extra", "northeurope", "192.168.51.0/24"));
}

#[test]
fn more_than_600_route_tables_or_5000_nsgs_in_one_region_is_refused() {
    let mut m = base();
    let tables = (0..limits::MAX_ROUTE_TABLES_PER_SUBSCRIPTION_REGION).map(|i| Change::PutRouteTable {
        id: rt(&format!("t{i}")),
        location: Some("northeurope".into()),
        disable_bgp_route_propagation: false,
    });
    m.apply_all(tables).expect("600 route tables fit");
    refused(
        &mut m,
        Change::PutRouteTable {
            id: rt("t-extra"),
            location: Some("northeurope".into()),
            disable_bgp_route_propagation: false,
        },
        ErrorCode::QuotaExceeded,
        "600 route tables",
    );
    let nsgs = (0..limits::MAX_NSGS_PER_SUBSCRIPTION_REGION).map(|i| Change::PutNetworkSecurityGroup {
        id: nsg(&format!("n{i}")),
        location: Some("northeurope".into()),
    });
    m.apply_all(nsgs).expect("5 000 NSGs fit");
    refused(
        &mut m,
        Change::PutNetworkSecurityGroup {
            id: nsg("n-extra"),
            location: Some("northeurope".into()),
        },
        ErrorCode::QuotaExceeded,
        "5000 network security groups",
    );
}

#[test]
fn an_admin_username_that_is_a_system_account_of_the_image_is_refused() {
    let mut m = base();
    ok(&mut m, nic_change("n2", subnet("spoke2-vnet", "web")));
    for bad in [
        "sshd",
        "daemon",
        "bin",
        "nobody",
        "systemd-network",
        "messagebus",
        "_apt",
        "sudo",
    ] {
        let c = Change::PutVirtualMachine(VmSpec {
            admin_username: bad.into(),
            ..vm_spec(vm("vm2"), vec![nic("n2")])
        });
        let e = refused(&mut m, c, ErrorCode::InvalidParameter, bad);
        assert_eq!(
            e.message,
            format!(
                "This user name '{bad}' meets the general requirements, but is specifically disallowed for this image. Please try a different value."
            )
        );
        assert_eq!(e.target.as_deref(), Some("adminUsername"));
    }
}

// ================================================================ topology files

mod topology_input {
    use std::time::Instant;

    use vnetlab::model::ErrorCode;
    use vnetlab::topology::{Topology, TopologyError, bounds};

    const HEAD: &str = "resourceGroups:\n  - name: rg\n    location: westeurope\n";

    fn refused_as_duplicate(yaml: &str, first: &str, second: &str, resource: &str) {
        let topo = Topology::parse(yaml).expect("parses");
        match topo.build() {
            Err(TopologyError::Refused { at, error }) => {
                assert_eq!(error.code, ErrorCode::InvalidTemplate, "{}", error.message);
                assert_eq!(at, second);
                for s in [first, second, resource, "is defined multiple times in a template"] {
                    assert!(error.message.contains(s), "no {s:?} in: {}", error.message);
                }
            }
            other => panic!("expected InvalidTemplate, got {other:?}"),
        }
    }

    #[test]
    fn two_vms_of_one_name_are_refused_naming_both_entries() {
        let vm = |name: &str| {
            format!(
                "  - name: {name}\n    vnet: v\n    subnet: s\n    publicIpAddress: \"\"\n    adminPassword: \"Hub-Spoke-2026!\"\n"
            )
        };
        let yaml = format!(
            "{HEAD}virtualNetworks:\n  - name: v\n    addressPrefixes: [10.0.0.0/16]\n    subnets:\n      - name: s\n        addressPrefix: 10.0.0.0/24\nvirtualMachines:\n{}{}{}",
            vm("web"),
            vm("db"),
            vm("WEB")
        );
        refused_as_duplicate(
            &yaml,
            "virtualMachines[0] (web)",
            "virtualMachines[2] (WEB)",
            "Microsoft.Compute/virtualMachines/WEB",
        );
    }

    #[test]
    fn two_subnets_of_one_name_are_refused_naming_both_entries() {
        let yaml = format!(
            "{HEAD}virtualNetworks:\n  - name: v\n    addressPrefixes: [10.0.0.0/16]\n    subnets:\n      - name: s\n        addressPrefix: 10.0.0.0/24\n      - name: s\n        addressPrefix: 10.0.1.0/24\n"
        );
        refused_as_duplicate(
            &yaml,
            "virtualNetworks[0] (v).subnets[0] (s)",
            "virtualNetworks[0] (v).subnets[1] (s)",
            "Microsoft.Network/virtualNetworks/v/subnets/s",
        );
    }

    #[test]
    fn two_vnets_or_nsgs_of_one_name_are_refused() {
        let yaml = format!(
            "{HEAD}virtualNetworks:\n  - name: v\n    addressPrefixes: [10.0.0.0/16]\n  - name: v\n    addressPrefixes: [10.1.0.0/16]\n"
        );
        refused_as_duplicate(
            &yaml,
            "virtualNetworks[0] (v)",
            "virtualNetworks[1] (v)",
            "virtualNetworks/v",
        );
        let yaml = format!("{HEAD}networkSecurityGroups:\n  - name: n\n  - name: N\n");
        refused_as_duplicate(
            &yaml,
            "networkSecurityGroups[0] (n)",
            "networkSecurityGroups[1] (N)",
            "networkSecurityGroups/N",
        );
    }

    #[test]
    fn deeply_nested_yaml_is_refused_before_parsing() {
        // 250 KB of `{a: {a: …}}` took the YAML parser 25 s.
        let deep = format!("{}1{}", "{a: ".repeat(50_000), "}".repeat(50_000));
        let t = Instant::now();
        let e = Topology::parse(&deep).expect_err("too deep");
        println!("{} KB nested YAML refused in {:?}", deep.len() / 1000, t.elapsed());
        assert!(matches!(e, TopologyError::Bounds(_)), "{e}");
        assert!(e.to_string().contains("nested more than 64 levels"), "{e}");
        let block: String = (0..100).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        assert!(matches!(Topology::parse(&block), Err(TopologyError::Bounds(_))));
    }

    #[test]
    fn a_topology_over_16_mib_is_refused_before_parsing() {
        let big = format!("{HEAD}#{}\n", "x".repeat(bounds::MAX_BYTES));
        let e = Topology::parse(&big).expect_err("too big");
        assert!(matches!(e, TopologyError::Bounds(_)), "{e}");
        assert!(e.to_string().contains("16 MiB"), "{e}");
    }
}

// ================================================================ template deployments' records

fn deployment_call(
    m: &Model,
    verb: vnetlab::az::DeploymentVerb,
    name: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let mut b = vnetlab::az::MemoryBackend::new();
    b.model = m.clone();
    let call = vnetlab::az::DeploymentCall {
        verb,
        scope: ResourceId::resource_group(DEFAULT_SUBSCRIPTION_ID, "rg"),
        name: name.into(),
        body,
    };
    let r = vnetlab::arm::deployments::call(m, &mut b, &call, None, &|_| Ok(())).expect("a reply");
    assert_eq!(b.model, *m, "a refused deployment call changes nothing");
    r.body.unwrap_or_default()
}

#[test]
fn a_deployment_that_is_not_there_is_deployment_not_found() {
    let mut m = Model::new();
    m.apply(Change::PutResourceGroup {
        subscription: DEFAULT_SUBSCRIPTION_ID.into(),
        name: "rg".into(),
        location: "westeurope".into(),
    })
    .unwrap();
    let id = ResourceId::parse(&format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Resources/deployments/gone"
    ))
    .unwrap();
    let e = m.clone().apply(Change::DeleteDeployment(id)).unwrap_err();
    assert_eq!(e.code, ErrorCode::DeploymentNotFound);
    let r = deployment_call(&m, vnetlab::az::DeploymentVerb::Show, "gone", serde_json::Value::Null);
    assert_eq!(r["error"]["code"], ErrorCode::DeploymentNotFound.as_str());
    assert_eq!(r["error"]["message"], "Deployment 'gone' could not be found.");
}

#[test]
fn a_resource_the_model_refuses_makes_the_deployment_invalid_template_deployment() {
    let mut m = Model::new();
    m.apply(Change::PutResourceGroup {
        subscription: DEFAULT_SUBSCRIPTION_ID.into(),
        name: "rg".into(),
        location: "westeurope".into(),
    })
    .unwrap();
    let body = serde_json::json!({ "properties": { "mode": "Incremental", "parameters": {}, "template": {
        "contentVersion": "1.0.0.0",
        "resources": [{ "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "v",
            "location": "westeurope", "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/33"] } } }]
    } } });
    let r = deployment_call(&m, vnetlab::az::DeploymentVerb::Validate, "d", body.clone());
    assert_eq!(r["error"]["code"], ErrorCode::InvalidTemplateDeployment.as_str());
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not valid according to the validation procedure")
    );
    let r = deployment_call(&m, vnetlab::az::DeploymentVerb::Create, "d", body);
    assert_eq!(r["error"]["code"], ErrorCode::InvalidTemplateDeployment.as_str());
    assert!(
        m.deployments.is_empty(),
        "a deployment refused by preflight is not created"
    );
}
