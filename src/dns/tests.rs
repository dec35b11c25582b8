use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use proptest::prelude::*;

use super::*;
use crate::model::dns_testlab::{Lab, RG, vm_id, vnet_id, zone_id};
use crate::model::{
    CACHE, Change, DEFAULT_SUBSCRIPTION_ID, PowerState, PrivateEndpointSpec, RecordData, RedisSku, RedisSpec,
};

fn asker(vnet: &str) -> AskerCtx {
    AskerCtx {
        vnet: vnet_id(vnet),
        vm: "asker".into(),
    }
}

fn query_msg(name: &str, t: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.id = 0x4242;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    m
}

fn ask_bytes(view: &DnsView, from: &str, bytes: &[u8]) -> Message {
    Message::from_vec(&answer(view, &asker(from), bytes).expect("an answer")).expect("a valid response")
}

fn ask(lab: &Lab, from: &str, name: &str, t: RecordType) -> Message {
    let view = DnsView::compile(&lab.m);
    ask_bytes(&view, from, &query_msg(name, t).to_vec().unwrap())
}

fn ips(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

fn targets(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii()),
            RData::PTR(p) => Some(p.0.to_ascii()),
            _ => None,
        })
        .collect()
}

fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

/// hub (10.1/16) with vm1, vm2, peered with spoke (10.2/16) with vm3.
fn peered_lab() -> (Lab, Ipv4Addr, Ipv4Addr, Ipv4Addr) {
    let mut lab = Lab::new();
    lab.vnet("hub", "10.1.0.0/16").vnet("spoke", "10.2.0.0/16");
    let vm1 = lab.vm("hub", "vm1");
    let vm2 = lab.vm("hub", "MarketingVM");
    let vm3 = lab.vm("spoke", "vm3");
    lab.peer("hub", "spoke");
    (lab, vm1, vm2, vm3)
}

fn suffix(lab: &Lab, vnet: &str) -> String {
    lab.m.virtual_networks[&vnet_id(vnet)].internal_domain_name_suffix()
}

#[test]
fn same_vnet_bare_name_and_fqdns_resolve() {
    let (lab, _, vm2, _) = peered_lab();
    let sfx = suffix(&lab, "hub");
    for name in [
        "MarketingVM".to_string(),
        "marketingvm.".to_string(),
        format!("MarketingVM.{sfx}"),
        "marketingvm.internal.cloudapp.net".to_string(),
    ] {
        let m = ask(&lab, "hub", &name, RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NoError, "{name}");
        assert_eq!(ips(&m), vec![vm2], "{name}");
        assert_eq!(m.answers[0].ttl, DERIVED_TTL);
        // The question is echoed as asked, with Azure's flags.
        assert_eq!(m.metadata.id, 0x4242);
        assert!(m.metadata.authoritative && m.metadata.recursion_available && m.metadata.recursion_desired);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(
            m.queries[0].name().to_ascii().trim_end_matches('.'),
            name.trim_end_matches('.')
        );
        assert_eq!(
            m.answers[0].name.to_ascii().trim_end_matches('.'),
            name.trim_end_matches('.')
        );
    }
    // The name exists but has no AAAA: NODATA, not NXDOMAIN.
    let m = ask(&lab, "hub", "marketingvm", RecordType::AAAA);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert!(m.answers.is_empty());
    // No such VM in the VNet.
    let m = ask(&lab, "hub", &format!("nobody.{sfx}"), RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
}

#[test]
fn names_in_a_peered_vnet_give_nxdomain() {
    let (lab, _, _, vm3) = peered_lab();
    let spoke_sfx = suffix(&lab, "spoke");
    for name in [
        "vm3".to_string(),
        "vm3.internal.cloudapp.net".into(),
        format!("vm3.{spoke_sfx}"),
    ] {
        let m = ask(&lab, "hub", &name, RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NXDomain, "{name}");
        assert!(m.answers.is_empty());
    }
    // From its own VNet it resolves.
    assert_eq!(ips(&ask(&lab, "spoke", "vm3", RecordType::A)), vec![vm3]);
}

fn reverse(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
}

#[test]
fn ptr_answers_are_scoped_to_the_vnet() {
    let (lab, vm1, _, vm3) = peered_lab();
    let m = ask(&lab, "hub", &reverse(vm1), RecordType::PTR);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(targets(&m), vec!["vm1.internal.cloudapp.net."]);
    // Azure: PTR of a peered VNet's VM is NXDOMAIN.
    assert_eq!(
        rcode(&ask(&lab, "hub", &reverse(vm3), RecordType::PTR)),
        ResponseCode::NXDomain
    );
    assert_eq!(
        targets(&ask(&lab, "spoke", &reverse(vm3), RecordType::PTR)),
        vec!["vm3.internal.cloudapp.net."]
    );
    // An address no VM holds.
    let free = Ipv4Addr::new(10, 1, 0, 200);
    assert_eq!(
        rcode(&ask(&lab, "hub", &reverse(free), RecordType::PTR)),
        ResponseCode::NXDomain
    );
}

#[test]
fn a_deallocated_or_deleted_vm_has_no_records() {
    let (mut lab, vm1, _, _) = peered_lab();
    lab.apply(Change::SetPowerState {
        vm: vm_id("vm1"),
        state: PowerState::Deallocated,
    });
    assert_eq!(rcode(&ask(&lab, "hub", "vm1", RecordType::A)), ResponseCode::NXDomain);
    assert_eq!(
        rcode(&ask(&lab, "hub", &reverse(vm1), RecordType::PTR)),
        ResponseCode::NXDomain
    );
    lab.apply(Change::SetPowerState {
        vm: vm_id("vm1"),
        state: PowerState::Running,
    });
    assert_eq!(ips(&ask(&lab, "hub", "vm1", RecordType::A)), vec![vm1]);
    lab.apply(Change::DeleteVirtualMachine(vm_id("vm1")));
    assert_eq!(rcode(&ask(&lab, "hub", "vm1", RecordType::A)), ResponseCode::NXDomain);
}

#[test]
fn a_zone_linked_to_both_vnets_resolves_across_the_peering() {
    let (mut lab, vm1, _, vm3) = peered_lab();
    lab.zone("contoso.com")
        .link("contoso.com", "hub", "hub", true)
        .link("contoso.com", "spoke", "spoke", true);
    // Auto-registered A records (VM name, lower case), from either VNet.
    for from in ["hub", "spoke"] {
        let m = ask(&lab, from, "VM1.contoso.com", RecordType::A);
        assert_eq!(ips(&m), vec![vm1], "{from}");
        assert_eq!(m.answers[0].ttl, DERIVED_TTL);
        assert!(m.metadata.authoritative);
        assert_eq!(
            ips(&ask(&lab, from, "vm3.contoso.com", RecordType::A)),
            vec![vm3],
            "{from}"
        );
    }
    // Azure-provided names stay VNet-scoped even so.
    assert_eq!(rcode(&ask(&lab, "hub", "vm3", RecordType::A)), ResponseCode::NXDomain);
}

#[test]
fn a_peered_but_unlinked_vnet_does_not_resolve_and_an_unpeered_linked_one_does() {
    let (mut lab, _, _, _) = peered_lab();
    lab.vnet("far", "10.3.0.0/16");
    let db = Ipv4Addr::new(10, 1, 0, 50);
    lab.zone("contoso.com")
        .link("contoso.com", "hub", "hub", false)
        .link("contoso.com", "far", "far", false)
        .record("contoso.com", "db", RecordData::A(vec![db]));
    assert_eq!(ips(&ask(&lab, "hub", "db.contoso.com", RecordType::A)), vec![db]);
    let m = ask(&lab, "spoke", "db.contoso.com", RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    assert!(!m.metadata.authoritative, "outside every zone the spoke sees");
    assert_eq!(ips(&ask(&lab, "far", "db.contoso.com", RecordType::A)), vec![db]);
    // A resolution link registers nothing.
    assert_eq!(
        rcode(&ask(&lab, "hub", "vm1.contoso.com", RecordType::A)),
        ResponseCode::NXDomain
    );
}

#[test]
fn autoregistration_follows_vms_and_links() {
    let (mut lab, _, _, _) = peered_lab();
    lab.zone("corp.contoso.com")
        .link("corp.contoso.com", "hub", "hub", true);
    let vm4 = lab.vm("hub", "vm4");
    assert_eq!(ips(&ask(&lab, "hub", "vm4.corp.contoso.com", RecordType::A)), vec![vm4]);
    lab.apply(Change::SetPowerState {
        vm: vm_id("vm4"),
        state: PowerState::Deallocated,
    });
    assert_eq!(
        rcode(&ask(&lab, "hub", "vm4.corp.contoso.com", RecordType::A)),
        ResponseCode::NXDomain
    );
    // Unlinking removes the registrations: the name then lies outside every zone.
    lab.apply(Change::DeleteVirtualNetworkLink(
        zone_id("corp.contoso.com").child("virtualNetworkLinks", "hub"),
    ));
    let m = ask(&lab, "hub", "vm1.corp.contoso.com", RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    assert!(!m.metadata.authoritative);
}

#[test]
fn a_manual_record_overrides_the_auto_registered_one() {
    let (mut lab, vm1, _, _) = peered_lab();
    lab.zone("contoso.com").link("contoso.com", "hub", "hub", true);
    let other = Ipv4Addr::new(10, 1, 0, 99);
    lab.record("contoso.com", "vm1", RecordData::A(vec![other]));
    let m = ask(&lab, "hub", "vm1.contoso.com", RecordType::A);
    assert_eq!(ips(&m), vec![other]);
    assert_eq!(m.answers[0].ttl, 3600);
    lab.apply(Change::DeleteRecordSet(zone_id("contoso.com").child("A", "vm1")));
    assert_eq!(ips(&ask(&lab, "hub", "vm1.contoso.com", RecordType::A)), vec![vm1]);
}

#[test]
fn cnames_are_chased_within_zones_and_negative_answers_carry_the_soa() {
    let mut lab = Lab::new();
    lab.vnet("hub", "10.1.0.0/16");
    let db = Ipv4Addr::new(10, 1, 0, 50);
    lab.zone("contoso.com")
        .zone("fabrikam.com")
        .link("contoso.com", "hub", "hub", false)
        .link("fabrikam.com", "hub", "hub", false)
        .record("contoso.com", "db", RecordData::A(vec![db]))
        .record("fabrikam.com", "app", RecordData::CNAME("db.contoso.com".into()))
        .record("contoso.com", "*.web", RecordData::A(vec![db]));
    let m = ask(&lab, "hub", "APP.fabrikam.com", RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(targets(&m), vec!["db.contoso.com."]);
    assert_eq!(ips(&m), vec![db]);
    // Asked for the CNAME itself, or ANY: no chase.
    let m = ask(&lab, "hub", "app.fabrikam.com", RecordType::CNAME);
    assert_eq!((targets(&m), ips(&m).len()), (vec!["db.contoso.com.".to_string()], 0));
    let m = ask(&lab, "hub", "app.fabrikam.com", RecordType::ANY);
    assert_eq!((targets(&m), ips(&m).len()), (vec!["db.contoso.com.".to_string()], 0));
    // NODATA and NXDOMAIN both name the zone's SOA for negative caching.
    for (name, code) in [
        ("db.contoso.com", ResponseCode::NoError),
        ("nope.contoso.com", ResponseCode::NXDomain),
    ] {
        let t = if code == ResponseCode::NoError {
            RecordType::AAAA
        } else {
            RecordType::A
        };
        let m = ask(&lab, "hub", name, t);
        assert_eq!(rcode(&m), code, "{name}");
        assert!(m.answers.is_empty());
        let soa = m.authorities.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.clone()),
            _ => None,
        });
        let soa = soa.expect("SOA in the authority section");
        assert_eq!(soa.mname.to_ascii(), "azureprivatedns.net.");
        assert_eq!(soa.minimum, 10);
    }
    // The apex answers SOA; wildcards match below an existing node.
    assert_eq!(ask(&lab, "hub", "contoso.com", RecordType::SOA).answers.len(), 1);
    assert_eq!(ips(&ask(&lab, "hub", "x.web.contoso.com", RecordType::A)), vec![db]);
}

#[test]
fn cname_loops_end_in_servfail() {
    let mut lab = Lab::new();
    lab.vnet("hub", "10.1.0.0/16");
    lab.zone("contoso.com")
        .link("contoso.com", "hub", "hub", false)
        .record("contoso.com", "a", RecordData::CNAME("b.contoso.com".into()))
        .record("contoso.com", "b", RecordData::CNAME("a.contoso.com".into()));
    assert_eq!(
        rcode(&ask(&lab, "hub", "a.contoso.com", RecordType::A)),
        ResponseCode::ServFail
    );
}

#[test]
fn a_linked_reverse_zone_overrides_azure_ptrs() {
    let (mut lab, vm1, _, _) = peered_lab();
    lab.zone("1.10.in-addr.arpa")
        .link("1.10.in-addr.arpa", "hub", "hub", false);
    let m = ask(&lab, "hub", &reverse(vm1), RecordType::PTR);
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
}

#[test]
fn redis_public_name_cnames_to_privatelink_and_the_endpoint_ip() {
    let (mut lab, _, _, _) = peered_lab();
    let cache = ResourceId::resource(DEFAULT_SUBSCRIPTION_ID, RG, CACHE, "Redis", "shop-cache");
    lab.apply(Change::PutRedisCache(RedisSpec {
        id: cache.clone(),
        location: None,
        sku: RedisSku::Standard,
        vm_size: "C1".into(),
        subnet: None,
        static_ip: None,
        enable_non_ssl_port: false,
        redis_version: None,
    }));
    let public = "shop-cache.redis.cache.windows.net";
    // Without a private endpoint the public name is outside the lab.
    assert_eq!(rcode(&ask(&lab, "hub", public, RecordType::A)), ResponseCode::NXDomain);
    lab.apply(Change::PutPrivateEndpoint(PrivateEndpointSpec {
        id: ResourceId::network(DEFAULT_SUBSCRIPTION_ID, RG, "privateEndpoints", "shop-pe"),
        location: None,
        subnet: vnet_id("hub").child("subnets", "default"),
        private_link_service_id: cache,
        group_ids: vec!["redisCache".into()],
        connection_name: "shop".into(),
    }));
    let pe_ip = lab.m.private_endpoints.values().next().unwrap().private_ip_address;
    let zone = "privatelink.redis.cache.windows.net";
    lab.zone(zone)
        .link(zone, "hub", "hub", false)
        .record(zone, "shop-cache", RecordData::A(vec![pe_ip]));
    let m = ask(&lab, "hub", public, RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(targets(&m), vec!["shop-cache.privatelink.redis.cache.windows.net."]);
    assert_eq!(ips(&m), vec![pe_ip]);
    // The spoke is not linked: the CNAME, then nothing the lab can resolve.
    let m = ask(&lab, "spoke", public, RecordType::A);
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    assert_eq!(targets(&m).len(), 1);
    assert!(ips(&m).is_empty());
}

#[test]
fn names_outside_azure_get_a_fast_nxdomain() {
    let (lab, _, _, _) = peered_lab();
    for name in ["example.com", "www.bing.com", "login.microsoftonline.com"] {
        let m = ask(&lab, "hub", name, RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NXDomain, "{name}");
        assert!(!m.metadata.authoritative && m.metadata.recursion_available);
    }
    // An unknown asker VNet sees nothing of the lab.
    let view = DnsView::compile(&lab.m);
    let q = query_msg("vm1", RecordType::A).to_vec().unwrap();
    let m = Message::from_vec(&answer(&view, &asker("ghost"), &q).unwrap()).unwrap();
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
}

#[test]
fn protocol_edges() {
    let (mut lab, _, _, _) = peered_lab();
    let view = DnsView::compile(&lab.m);
    // Too short to answer, or a response: dropped.
    assert!(answer(&view, &asker("hub"), &[1, 2, 3]).is_none());
    let mut resp = query_msg("vm1", RecordType::A);
    resp.metadata.message_type = hickory_proto::op::MessageType::Response;
    assert!(answer(&view, &asker("hub"), &resp.to_vec().unwrap()).is_none());
    // A header that promises a question that is not there: FORMERR, ID kept.
    let bad = [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, b'a'];
    let m = ask_bytes(&view, "hub", &bad);
    assert_eq!((m.metadata.id, rcode(&m)), (0xabcd, ResponseCode::FormErr));
    assert!(m.metadata.recursion_desired);
    // No question, or two: FORMERR.
    let mut none = query_msg("vm1", RecordType::A);
    none.queries.clear();
    assert_eq!(
        rcode(&ask_bytes(&view, "hub", &none.to_vec().unwrap())),
        ResponseCode::FormErr
    );
    let mut two = query_msg("vm1", RecordType::A);
    two.add_query(Query::query(Name::from_ascii("vm3").unwrap(), RecordType::A));
    assert_eq!(
        rcode(&ask_bytes(&view, "hub", &two.to_vec().unwrap())),
        ResponseCode::FormErr
    );
    // Another opcode: NOTIMP. Zone transfers: REFUSED.
    let mut status = query_msg("vm1", RecordType::A);
    status.metadata.op_code = OpCode::Status;
    assert_eq!(
        rcode(&ask_bytes(&view, "hub", &status.to_vec().unwrap())),
        ResponseCode::NotImp
    );
    let axfr = query_msg("contoso.com", RecordType::AXFR).to_vec().unwrap();
    assert_eq!(rcode(&ask_bytes(&view, "hub", &axfr)), ResponseCode::Refused);

    // EDNS: answered with an OPT of our size; an unknown version is BADVERS.
    let mut e = query_msg("vm1", RecordType::A);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    e.set_edns(edns.clone());
    let m = ask_bytes(&view, "hub", &e.to_vec().unwrap());
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(MAX_UDP_PAYLOAD));
    edns.set_version(1);
    e.set_edns(edns);
    // 16 decodes as BADSIG too: compare the number (RFC 6891 BADVERS).
    assert_eq!(u16::from(rcode(&ask_bytes(&view, "hub", &e.to_vec().unwrap()))), 16);

    // A large answer is truncated over UDP without EDNS, whole over TCP.
    let big: Vec<Vec<String>> = (0..20).map(|i| vec![format!("{i:03}{}", "x".repeat(60))]).collect();
    lab.zone("contoso.com")
        .link("contoso.com", "hub", "hub", false)
        .record("contoso.com", "big", RecordData::TXT(big));
    let view = DnsView::compile(&lab.m);
    let q = query_msg("big.contoso.com", RecordType::TXT).to_vec().unwrap();
    let udp = ask_bytes(&view, "hub", &q);
    assert!(udp.metadata.truncation && udp.answers.is_empty());
    assert_eq!(udp.queries.len(), 1);
    let tcp = Message::from_vec(&answer_tcp(&view, &asker("hub"), &q).unwrap()).unwrap();
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 20);
}

#[test]
fn tcp_framing() {
    let a = tcp_frame(b"hello").unwrap();
    assert_eq!(a, b"\x00\x05hello");
    assert!(tcp_frame(&vec![0; 70_000]).is_none());
    let mut buf = a.clone();
    buf.extend_from_slice(&tcp_frame(b"xy").unwrap());
    buf.extend_from_slice(b"\x00\x09par");
    assert_eq!(take_tcp_message(&mut buf).as_deref(), Some(&b"hello"[..]));
    assert_eq!(take_tcp_message(&mut buf).as_deref(), Some(&b"xy"[..]));
    assert_eq!(take_tcp_message(&mut buf), None, "a partial message waits");
    assert_eq!(buf, b"\x00\x09par");
    let mut one = vec![0];
    assert_eq!(take_tcp_message(&mut one), None);
}

fn fuzz_view() -> DnsView {
    let (mut lab, _, _, _) = peered_lab();
    lab.zone("contoso.com").link("contoso.com", "hub", "hub", true).record(
        "contoso.com",
        "app",
        RecordData::CNAME("vm1.contoso.com".into()),
    );
    DnsView::compile(&lab.m)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let view = fuzz_view();
        let _ = answer(&view, &asker("hub"), &bytes);
        let _ = answer_tcp(&view, &asker("spoke"), &bytes);
    }

    #[test]
    fn mangled_queries_never_panic(cut in 0usize..64, flip in any::<(usize, u8)>()) {
        let view = fuzz_view();
        let mut q = query_msg("app.contoso.com", RecordType::A).to_vec().unwrap();
        let i = flip.0 % q.len();
        q[i] ^= flip.1;
        q.truncate(q.len().saturating_sub(cut % 8));
        if let Some(r) = answer(&view, &asker("hub"), &q) {
            prop_assert!(r.len() <= 512);
            prop_assert_eq!(&r[0..2], &q[0..2]);
        }
    }
}
