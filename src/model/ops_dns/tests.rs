use std::net::Ipv4Addr;

use super::super::dns_testlab::{Lab, link_spec, record_change, vnet_id, zone_id};
use super::*;
use crate::model::{Change, DEFAULT_SUBSCRIPTION_ID, MxRecord, NicSpec, VnetSpec};

/// The change is refused with `code`, a message naming something, and the
/// model is left exactly as it was.
fn refused(lab: &mut Lab, c: Change, code: ErrorCode) -> AzureError {
    let before = lab.m.clone();
    let e = lab.m.apply(c).expect_err("change should be refused");
    assert_eq!(e.code, code, "{e}");
    assert!(!e.message.is_empty());
    assert_eq!(lab.m, before, "a refused change must leave the model unchanged");
    e
}

fn zone_change(name: &str) -> Change {
    Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: zone_id(name) })
}

fn two_vnets() -> Lab {
    let mut lab = Lab::new();
    lab.vnet("hub", "10.1.0.0/16").vnet("spoke", "10.2.0.0/16");
    lab
}

#[test]
fn zone_names_follow_azure_rules() {
    let mut lab = Lab::new();
    let e = refused(&mut lab, zone_change("contoso"), ErrorCode::BadRequest);
    assert_eq!(
        e.message,
        "The zone name 'contoso' does not have enough labels. Zone names must have two or more labels."
    );
    let long = vec!["a"; 35].join(".");
    refused(&mut lab, zone_change(&long), ErrorCode::BadRequest);
    refused(&mut lab, zone_change("bad..name.com"), ErrorCode::BadRequest);
    refused(&mut lab, zone_change("-x.contoso.com"), ErrorCode::BadRequest);
    for blocked in [
        "azure.com",
        "corp.azure.com",
        "x.core.windows.net",
        "cloudapp.net",
        "Microsoft.COM",
    ] {
        let e = refused(&mut lab, zone_change(blocked), ErrorCode::BadRequest);
        assert!(e.message.contains("reserved Azure infrastucture domain"), "{e}");
    }
    let ok34 = format!("{}.com", vec!["a"; 33].join("."));
    for ok in [
        "contoso.com",
        "privatelink.blob.core.windows.net",
        "privatelink.redis.cache.windows.net",
        "db.postgres.database.azure.com",
        "10.in-addr.arpa",
        ok34.as_str(),
    ] {
        lab.zone(ok);
        assert!(lab.m.private_dns_zones.contains_key(&zone_id(ok)), "{ok}");
    }
    // A zone needs its resource group.
    let other = ResourceId::network(DEFAULT_SUBSCRIPTION_ID, "nope", "privateDnsZones", "a.com");
    refused(
        &mut lab,
        Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: other }),
        ErrorCode::ResourceGroupNotFound,
    );
}

#[test]
fn links_need_a_zone_and_a_vnet() {
    let mut lab = two_vnets();
    refused(
        &mut lab,
        link_spec("contoso.com", "l", "hub", false),
        ErrorCode::ResourceNotFound,
    );
    lab.zone("contoso.com");
    refused(
        &mut lab,
        link_spec("contoso.com", "l", "nowhere", false),
        ErrorCode::ResourceNotFound,
    );
    refused(
        &mut lab,
        link_spec("contoso.com", "bad/name", "hub", false),
        ErrorCode::InvalidResourceName,
    );
    lab.link("contoso.com", "hub-link", "hub", true);
    let z = &lab.m.private_dns_zones[&zone_id("contoso.com")];
    assert_eq!(z.virtual_network_links.len(), 1);
    assert!(z.virtual_network_links[0].registration_enabled);
    // Putting the same link again updates it.
    lab.link("contoso.com", "hub-link", "hub", false);
    assert!(!lab.m.private_dns_zones[&zone_id("contoso.com")].virtual_network_links[0].registration_enabled);
}

#[test]
fn one_registration_zone_per_vnet() {
    let mut lab = two_vnets();
    lab.zone("contoso.com").zone("fabrikam.com");
    lab.link("contoso.com", "hub", "hub", true);
    let e = refused(
        &mut lab,
        link_spec("fabrikam.com", "hub", "hub", true),
        ErrorCode::Conflict,
    );
    assert!(
        e.message.starts_with(
            "A virtual network can only be linked to 1 Private DNS zone(s) with auto-registration enabled"
        ),
        "{e}"
    );
    // A resolution link to a second zone is fine; so is registration of another VNet.
    lab.link("fabrikam.com", "hub", "hub", false);
    lab.link("contoso.com", "spoke", "spoke", true);
}

#[test]
fn one_link_per_zone_and_vnet_and_names_unique() {
    let mut lab = two_vnets();
    lab.zone("contoso.com");
    lab.link("contoso.com", "first", "hub", false);
    let e = refused(
        &mut lab,
        link_spec("contoso.com", "second", "hub", false),
        ErrorCode::BadRequest,
    );
    assert!(e.message.contains("overlapping namespaces"), "{e}");
    // The name is taken: it cannot be re-pointed at another VNet.
    refused(
        &mut lab,
        link_spec("contoso.com", "first", "spoke", false),
        ErrorCode::PropertyChangeNotAllowed,
    );
    // Two zones of one name (other resource groups) cannot both be linked.
    lab.apply(Change::PutResourceGroup {
        subscription: DEFAULT_SUBSCRIPTION_ID.into(),
        name: "rg2".into(),
        location: "westeurope".into(),
    });
    let twin = ResourceId::network(DEFAULT_SUBSCRIPTION_ID, "rg2", "privateDnsZones", "contoso.com");
    lab.apply(Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: twin.clone() }));
    refused(
        &mut lab,
        Change::PutVirtualNetworkLink(VirtualNetworkLinkSpec {
            id: twin.child("virtualNetworkLinks", "x"),
            virtual_network: vnet_id("hub"),
            registration_enabled: false,
        }),
        ErrorCode::BadRequest,
    );
}

#[test]
fn link_limits_per_zone() {
    let mut lab = two_vnets();
    lab.vnet("third", "10.3.0.0/16");
    lab.zone("contoso.com");
    let fake = |i: usize, reg: bool| VirtualNetworkLink {
        id: zone_id("contoso.com").child("virtualNetworkLinks", &format!("l{i}")),
        name: format!("l{i}"),
        virtual_network: ResourceId::network(DEFAULT_SUBSCRIPTION_ID, "far", "virtualNetworks", &format!("v{i}")),
        registration_enabled: reg,
    };
    let z = lab.m.private_dns_zones.get_mut(&zone_id("contoso.com")).unwrap();
    z.virtual_network_links = (0..MAX_REGISTRATION_LINKS_PER_ZONE).map(|i| fake(i, true)).collect();
    refused(
        &mut lab,
        link_spec("contoso.com", "hub", "hub", true),
        ErrorCode::BadRequest,
    );
    lab.link("contoso.com", "hub", "hub", false);
    let z = lab.m.private_dns_zones.get_mut(&zone_id("contoso.com")).unwrap();
    z.virtual_network_links = (0..MAX_LINKS_PER_ZONE).map(|i| fake(i, false)).collect();
    let e = refused(
        &mut lab,
        link_spec("contoso.com", "spoke", "spoke", false),
        ErrorCode::BadRequest,
    );
    assert!(e.message.contains("1000"), "{e}");
}

#[test]
fn record_sets_default_ttl_and_limits() {
    let mut lab = Lab::new();
    lab.zone("contoso.com");
    let ip = Ipv4Addr::new(10, 1, 0, 9);
    lab.record("contoso.com", "db", RecordData::A(vec![ip]));
    let z = &lab.m.private_dns_zones[&zone_id("contoso.com")];
    assert_eq!(z.record_sets[0].ttl, 3600);
    assert_eq!(z.number_of_record_sets(), 2);
    // Put again with a TTL; then without, and the TTL stays.
    lab.apply(Change::PutRecordSet(RecordSetSpec {
        id: zone_id("contoso.com").child("A", "db"),
        ttl: Some(60),
        data: RecordData::A(vec![ip]),
    }));
    lab.record(
        "contoso.com",
        "DB",
        RecordData::A(vec![ip, Ipv4Addr::new(10, 1, 0, 10)]),
    );
    let z = &lab.m.private_dns_zones[&zone_id("contoso.com")];
    assert_eq!(z.record_sets.len(), 1);
    assert_eq!(z.record_sets[0].ttl, 60);

    let many = (0..21).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    refused(
        &mut lab,
        record_change("contoso.com", "many", RecordData::A(many)),
        ErrorCode::BadRequest,
    );
    refused(
        &mut lab,
        record_change("missing.com", "x", RecordData::A(vec![ip])),
        ErrorCode::ResourceNotFound,
    );
    refused(
        &mut lab,
        record_change("contoso.com", "a b", RecordData::A(vec![ip])),
        ErrorCode::BadRequest,
    );
    refused(
        &mut lab,
        record_change("contoso.com", "a!b", RecordData::A(vec![ip])),
        ErrorCode::BadRequest,
    );
    refused(
        &mut lab,
        record_change(
            "contoso.com",
            "mail",
            RecordData::MX(vec![MxRecord {
                preference: 10,
                exchange: "bad..name".into(),
            }]),
        ),
        ErrorCode::BadRequest,
    );
    // The type segment of the ID must match the records.
    refused(
        &mut lab,
        Change::PutRecordSet(RecordSetSpec {
            id: zone_id("contoso.com").child("AAAA", "x"),
            ttl: None,
            data: RecordData::A(vec![ip]),
        }),
        ErrorCode::InvalidRequestFormat,
    );

    // 25 000 record sets, the SOA included.
    let z = lab.m.private_dns_zones.get_mut(&zone_id("contoso.com")).unwrap();
    let template = z.record_sets[0].clone();
    z.record_sets = (0..MAX_RECORD_SETS_PER_ZONE - 1)
        .map(|i| RecordSet {
            name: format!("h{i}"),
            ..template.clone()
        })
        .collect();
    refused(
        &mut lab,
        record_change("contoso.com", "one-more", RecordData::A(vec![ip])),
        ErrorCode::BadRequest,
    );
    // Replacing an existing set is not a new one.
    lab.record("contoso.com", "h1", RecordData::A(vec![ip]));
}

#[test]
fn cname_is_exclusive() {
    let mut lab = Lab::new();
    lab.zone("contoso.com");
    let ip = Ipv4Addr::new(10, 1, 0, 9);
    lab.record("contoso.com", "www", RecordData::A(vec![ip]));
    refused(
        &mut lab,
        record_change("contoso.com", "www", RecordData::CNAME("web.contoso.com".into())),
        ErrorCode::Conflict,
    );
    lab.record("contoso.com", "alias", RecordData::CNAME("www.contoso.com".into()));
    refused(
        &mut lab,
        record_change("contoso.com", "ALIAS", RecordData::TXT(vec![vec!["x".into()]])),
        ErrorCode::Conflict,
    );
    // Replacing the CNAME's target is fine; the apex cannot hold one.
    lab.record("contoso.com", "alias", RecordData::CNAME("db.contoso.com".into()));
    refused(
        &mut lab,
        record_change("contoso.com", "@", RecordData::CNAME("www.contoso.com".into())),
        ErrorCode::BadRequest,
    );
}

#[test]
fn deletes() {
    let mut lab = two_vnets();
    lab.zone("contoso.com").link("contoso.com", "hub", "hub", true);
    lab.record("contoso.com", "db", RecordData::A(vec![Ipv4Addr::new(10, 1, 0, 9)]));
    let e = refused(
        &mut lab,
        Change::DeletePrivateDnsZone(zone_id("contoso.com")),
        ErrorCode::CannotDeleteResource,
    );
    assert!(e.message.contains("virtualNetworkLinks/hub"), "{e}");
    refused(
        &mut lab,
        Change::DeleteVirtualNetworkLink(zone_id("contoso.com").child("virtualNetworkLinks", "nope")),
        ErrorCode::ResourceNotFound,
    );
    refused(
        &mut lab,
        Change::DeleteRecordSet(zone_id("contoso.com").child("AAAA", "db")),
        ErrorCode::ResourceNotFound,
    );
    lab.apply(Change::DeleteRecordSet(zone_id("contoso.com").child("A", "DB")));
    lab.apply(Change::DeleteVirtualNetworkLink(
        zone_id("contoso.com").child("virtualNetworkLinks", "hub"),
    ));
    lab.apply(Change::DeletePrivateDnsZone(zone_id("contoso.com")));
    assert!(lab.m.private_dns_zones.is_empty());
    refused(
        &mut lab,
        Change::DeletePrivateDnsZone(zone_id("contoso.com")),
        ErrorCode::ResourceNotFound,
    );
}

#[test]
fn deleting_a_vnet_removes_its_links_and_a_group_its_zones() {
    let mut lab = two_vnets();
    lab.zone("contoso.com")
        .link("contoso.com", "hub", "hub", true)
        .link("contoso.com", "spoke", "spoke", false);
    lab.apply(Change::DeleteVirtualNetwork(vnet_id("hub")));
    let z = &lab.m.private_dns_zones[&zone_id("contoso.com")];
    assert_eq!(z.virtual_network_links.len(), 1);
    assert_eq!(z.virtual_network_links[0].name, "spoke");
    lab.apply(Change::DeleteResourceGroup(ResourceId::resource_group(
        DEFAULT_SUBSCRIPTION_ID,
        super::super::dns_testlab::RG,
    )));
    assert!(lab.m.private_dns_zones.is_empty());
}

#[test]
fn custom_dns_servers_on_vnets_and_nics() {
    let mut lab = Lab::new();
    lab.vnet("hub", "10.1.0.0/16");
    lab.vm("hub", "vm1");
    let nic_id = ResourceId::network(
        DEFAULT_SUBSCRIPTION_ID,
        super::super::dns_testlab::RG,
        "networkInterfaces",
        "vm1-nic",
    );
    let vnet_put = |servers: Option<Vec<&str>>| {
        Change::PutVirtualNetwork(VnetSpec {
            id: vnet_id("hub"),
            location: None,
            address_prefixes: vec!["10.1.0.0/16".into()],
            flow_timeout_in_minutes: None,
            dns_servers: servers.map(|v| v.into_iter().map(String::from).collect()),
        })
    };
    let nic_put = |servers: Option<Vec<&str>>| {
        Change::PutNetworkInterface(NicSpec {
            ip_configuration_name: None,
            id: nic_id.clone(),
            location: None,
            subnet: vnet_id("hub").child("subnets", "default"),
            private_ip_address: None,
            enable_ip_forwarding: false,
            network_security_group: None,
            public_ip_address: None,
            dns_servers: servers.map(|v| v.into_iter().map(String::from).collect()),
        })
    };
    let applied = |lab: &Lab| lab.m.applied_dns_servers(&lab.m.network_interfaces[&nic_id]);
    assert!(applied(&lab).is_empty(), "Azure-provided DNS by default");
    let search = |lab: &Lab| lab.m.dhcp_search_domain(&lab.m.network_interfaces[&nic_id]);
    let suffix = lab.m.virtual_networks[&vnet_id("hub")].internal_domain_name_suffix();
    assert_eq!(search(&lab), Some(suffix.clone()));
    assert_eq!(
        lab.m.internal_domain_name_suffix_of(&lab.m.network_interfaces[&nic_id]),
        Some(suffix.clone())
    );

    lab.apply(vnet_put(Some(vec!["10.1.0.4", "10.1.0.5"])));
    let custom = vec![Ipv4Addr::new(10, 1, 0, 4), Ipv4Addr::new(10, 1, 0, 5)];
    assert_eq!(applied(&lab), custom);
    assert_eq!(search(&lab).as_deref(), Some(REDDOG_PLACEHOLDER_SUFFIX));
    // A VNet update that does not name servers keeps them.
    lab.apply(vnet_put(None));
    assert_eq!(lab.m.virtual_networks[&vnet_id("hub")].dns_servers, custom);
    refused(
        &mut lab,
        vnet_put(Some(vec!["dns.contoso.com"])),
        ErrorCode::InvalidRequestFormat,
    );
    refused(
        &mut lab,
        vnet_put(Some(vec![AZURE_PROVIDED_DNS])),
        ErrorCode::InvalidRequestFormat,
    );

    // The NIC wins over the VNet.
    lab.apply(nic_put(Some(vec!["10.9.9.9"])));
    assert_eq!(applied(&lab), vec![Ipv4Addr::new(10, 9, 9, 9)]);
    lab.apply(nic_put(None));
    assert_eq!(applied(&lab), vec![Ipv4Addr::new(10, 9, 9, 9)]);
    // AzureProvidedDNS alone restores Azure's DNS despite the VNet's servers.
    lab.apply(nic_put(Some(vec!["azureprovideddns"])));
    assert!(applied(&lab).is_empty());
    assert_eq!(search(&lab), Some(suffix));
    assert_eq!(
        lab.m.network_interfaces[&nic_id].dns_servers_setting(),
        vec![AZURE_PROVIDED_DNS.to_string()]
    );
    refused(
        &mut lab,
        nic_put(Some(vec![AZURE_PROVIDED_DNS, "10.1.0.4"])),
        ErrorCode::InvalidRequestFormat,
    );
    refused(&mut lab, nic_put(Some(vec!["ten"])), ErrorCode::InvalidRequestFormat);
    // An empty list inherits the VNet's again.
    lab.apply(nic_put(Some(vec![])));
    assert_eq!(applied(&lab), custom);
    // Azure-provided again on the VNet.
    lab.apply(vnet_put(Some(vec![])));
    assert!(applied(&lab).is_empty());
}

#[test]
fn models_saved_before_dns_still_load() {
    let mut lab = two_vnets();
    lab.vm("hub", "vm1");
    let mut json = serde_json::to_value(&lab.m).unwrap();
    let obj = json.as_object_mut().unwrap();
    obj.remove("privateDnsZones");
    for v in obj["virtualNetworks"].as_object_mut().unwrap().values_mut() {
        v.as_object_mut().unwrap().remove("dnsServers");
    }
    for n in obj["networkInterfaces"].as_object_mut().unwrap().values_mut() {
        n.as_object_mut().unwrap().remove("dnsServers");
        n.as_object_mut().unwrap().remove("azureProvidedDns");
    }
    let back: Model = serde_json::from_value(json).unwrap();
    assert_eq!(back, lab.m);
}
