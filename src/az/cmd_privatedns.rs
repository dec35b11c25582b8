//! `az network private-dns`: zones, virtual network links and record sets,
//! with the arguments, defaults and outputs of azure-cli's privatedns module
//! (2.91: `_params.py`, `custom.py`, the AAZ commands). A zone is ready at
//! once; az's long-running polls are not emulated.

use std::net::{Ipv4Addr, Ipv6Addr};

use clap::Arg;

use super::args::{Args, Leaf, boolean, flag, many, name, opt, req, rg, tags, yes};
use super::{AzError, Ctx, Handler, Reply, confirm, finish, render_dns};
use crate::model::{
    AzureError, Change, ErrorCode, MxRecord, NETWORK, PrivateDnsZone, PrivateDnsZoneSpec, RecordData, RecordSet,
    RecordSetSpec, RecordType, ResourceId, SrvRecord, VirtualNetworkLinkSpec, exists_already,
};

/// `-z/--zone-name`; az drops one trailing dot (`privatedns_zone_name_type`).
fn zone_name() -> Arg {
    req("zone-name").short('z')
}

pub fn leaves() -> Vec<Leaf<Handler>> {
    let mut v: Vec<Leaf<Handler>> = vec![
        Leaf {
            path: "network private-dns zone create",
            about: "Create a Private DNS zone.",
            args: vec![rg(), name(), tags(), flag("no-wait")],
            run: zone_create,
        },
        Leaf {
            path: "network private-dns zone list",
            about: "List Private DNS zones.",
            args: vec![opt("resource-group").short('g')],
            run: zone_list,
        },
        Leaf {
            path: "network private-dns zone show",
            about: "Get a Private DNS zone.",
            args: vec![rg(), name()],
            run: zone_show,
        },
        Leaf {
            path: "network private-dns zone update",
            about: "Update a Private DNS zone (tags only: its other properties are read-only).",
            args: vec![
                rg(),
                name(),
                tags(),
                opt("if-match"),
                many("set"),
                many("add"),
                many("remove"),
                flag("force-string"),
                flag("no-wait"),
            ],
            run: zone_update,
        },
        Leaf {
            path: "network private-dns zone delete",
            about: "Delete a Private DNS zone.",
            args: vec![rg(), name(), yes(), flag("no-wait")],
            run: zone_delete,
        },
        Leaf {
            path: "network private-dns link vnet create",
            about: "Create a virtual network link to the specified Private DNS zone.",
            args: vec![
                rg(),
                zone_name(),
                name(),
                req("virtual-network").short('v'),
                boolean("registration-enabled").short('e').required(true),
                opt("resolution-policy"),
                tags(),
                flag("no-wait"),
            ],
            run: link_create,
        },
        Leaf {
            path: "network private-dns link vnet list",
            about: "List the virtual network links to the specified Private DNS zone.",
            args: vec![rg(), zone_name()],
            run: link_list,
        },
        Leaf {
            path: "network private-dns link vnet show",
            about: "Get a virtual network link to the specified Private DNS zone.",
            args: vec![rg(), zone_name(), name()],
            run: link_show,
        },
        Leaf {
            path: "network private-dns link vnet update",
            about: "Update a virtual network link to the specified Private DNS zone.",
            args: vec![
                rg(),
                zone_name(),
                name(),
                boolean("registration-enabled").short('e'),
                opt("resolution-policy"),
                tags(),
                opt("if-match"),
                many("set"),
                many("add"),
                many("remove"),
                flag("force-string"),
                flag("no-wait"),
            ],
            run: link_update,
        },
        Leaf {
            path: "network private-dns link vnet delete",
            about: "Delete a virtual network link to the specified Private DNS zone.",
            args: vec![rg(), zone_name(), name(), yes(), flag("no-wait")],
            run: link_delete,
        },
        Leaf {
            path: "network private-dns record-set list",
            about: "List all record sets within a Private DNS zone.",
            args: vec![rg(), zone_name()],
            run: rs_list_all,
        },
        Leaf {
            path: "network private-dns record-set soa show",
            about: "Get the details of an SOA record.",
            args: vec![rg(), zone_name()],
            run: soa_show,
        },
    ];
    for (i, t) in RecordType::ALL.into_iter().enumerate() {
        v.extend(type_leaves(i, t));
    }
    v.extend(update_leaves());
    v
}

/// `record-set <type> update` (the AAZ `RecordSetUpdate` with the records
/// hidden: `--metadata`, `--if-match` and the generic `--set/--add/--remove`).
fn update_leaves() -> Vec<Leaf<Handler>> {
    const PATHS: [&str; 7] = [
        "network private-dns record-set a update",
        "network private-dns record-set aaaa update",
        "network private-dns record-set cname update",
        "network private-dns record-set mx update",
        "network private-dns record-set ptr update",
        "network private-dns record-set srv update",
        "network private-dns record-set txt update",
    ];
    const UPDATE: [Handler; 7] = [
        rs_update::<0>,
        rs_update::<1>,
        rs_update::<2>,
        rs_update::<3>,
        rs_update::<4>,
        rs_update::<5>,
        rs_update::<6>,
    ];
    PATHS
        .into_iter()
        .zip(UPDATE)
        .map(|(path, run)| Leaf {
            path,
            about: "Update a record set's metadata or, with --set ttl=N, its TTL.",
            args: vec![
                rg(),
                zone_name(),
                name(),
                many("metadata"),
                opt("if-match"),
                many("set"),
                many("add"),
                many("remove"),
                flag("force-string"),
            ],
            run,
        })
        .collect()
}

/// The command paths of each record type, in `RecordType::ALL`'s order.
macro_rules! paths {
    ($t:literal, $add:literal) => {
        [
            concat!("network private-dns record-set ", $t, " create"),
            concat!("network private-dns record-set ", $t, " list"),
            concat!("network private-dns record-set ", $t, " show"),
            concat!("network private-dns record-set ", $t, " delete"),
            concat!("network private-dns record-set ", $t, " ", $add),
            concat!("network private-dns record-set ", $t, " remove-record"),
        ]
    };
}

// az's CNAME set has one target: `set-record` replaces it.
const PATHS: [[&str; 6]; 7] = [
    paths!("a", "add-record"),
    paths!("aaaa", "add-record"),
    paths!("cname", "set-record"),
    paths!("mx", "add-record"),
    paths!("ptr", "add-record"),
    paths!("srv", "add-record"),
    paths!("txt", "add-record"),
];

/// The commands of one record type; `I` is its index in `RecordType::ALL`
/// (az has one command class per type, vnetlab one generic handler).
fn type_leaves(i: usize, t: RecordType) -> Vec<Leaf<Handler>> {
    const CREATE: [Handler; 7] = [
        rs_create::<0>,
        rs_create::<1>,
        rs_create::<2>,
        rs_create::<3>,
        rs_create::<4>,
        rs_create::<5>,
        rs_create::<6>,
    ];
    const LIST: [Handler; 7] = [
        rs_list::<0>,
        rs_list::<1>,
        rs_list::<2>,
        rs_list::<3>,
        rs_list::<4>,
        rs_list::<5>,
        rs_list::<6>,
    ];
    const SHOW: [Handler; 7] = [
        rs_show::<0>,
        rs_show::<1>,
        rs_show::<2>,
        rs_show::<3>,
        rs_show::<4>,
        rs_show::<5>,
        rs_show::<6>,
    ];
    const DELETE: [Handler; 7] = [
        rs_delete::<0>,
        rs_delete::<1>,
        rs_delete::<2>,
        rs_delete::<3>,
        rs_delete::<4>,
        rs_delete::<5>,
        rs_delete::<6>,
    ];
    const ADD: [Handler; 7] = [
        rs_add::<0>,
        rs_add::<1>,
        rs_add::<2>,
        rs_add::<3>,
        rs_add::<4>,
        rs_add::<5>,
        rs_add::<6>,
    ];
    const REMOVE: [Handler; 7] = [
        rs_remove::<0>,
        rs_remove::<1>,
        rs_remove::<2>,
        rs_remove::<3>,
        rs_remove::<4>,
        rs_remove::<5>,
        rs_remove::<6>,
    ];
    let [create, list, show, delete, add, remove] = PATHS[i];
    let set_name = || req("record-set-name").short('n');
    let mut record_args = vec![rg(), zone_name(), set_name()];
    record_args.extend(record_value_args(t));
    let mut remove_args = record_args.clone();
    remove_args.push(flag("keep-empty-record-set"));
    vec![
        Leaf {
            path: create,
            about: "Create an empty record set.",
            args: vec![rg(), zone_name(), name(), opt("ttl"), many("metadata")],
            run: CREATE[i],
        },
        Leaf {
            path: list,
            about: "List the record sets of this type in a zone.",
            args: vec![rg(), zone_name()],
            run: LIST[i],
        },
        Leaf {
            path: show,
            about: "Get the details of a record set.",
            args: vec![rg(), zone_name(), name()],
            run: SHOW[i],
        },
        Leaf {
            path: delete,
            about: "Delete a record set and all its records.",
            args: vec![rg(), zone_name(), name(), yes()],
            run: DELETE[i],
        },
        Leaf {
            path: add,
            about: "Add a record to a record set, creating the set if it does not exist.",
            args: record_args,
            run: ADD[i],
        },
        Leaf {
            path: remove,
            about: "Remove a record from its record set; an emptied set is deleted.",
            args: remove_args,
            run: REMOVE[i],
        },
    ]
}

/// The flags that give one record (`_params.py`).
fn record_value_args(t: RecordType) -> Vec<Arg> {
    match t {
        RecordType::A => vec![req("ipv4-address").short('a')],
        RecordType::AAAA => vec![req("ipv6-address").short('a')],
        RecordType::CNAME => vec![req("cname").short('c')],
        RecordType::MX => vec![req("exchange").short('e'), req("preference").short('p')],
        RecordType::PTR => vec![req("ptrdname").short('d')],
        RecordType::SRV => vec![
            req("priority").short('p'),
            req("weight").short('w'),
            req("port").short('r'),
            req("target").short('t'),
        ],
        RecordType::TXT => vec![many("value").short('v').required(true)],
    }
}

// ---------------------------------------------------------------- zones

fn zone_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    let name = a.must(key);
    ctx.net_id(
        a.must("resource-group"),
        "privateDnsZones",
        name.strip_suffix('.').unwrap_or(name),
    )
}

fn zone_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = zone_id(ctx, &a, "name");
    if id.name().ends_with(".local") {
        ctx.warn("Please be aware that DNS names ending with `.local` are reserved for use with multicast DNS and may not work as expected with some operating systems. For details refer to your operating systems documentation.");
    }
    // az sends If-None-Match: * (custom.py PrivateDNSZoneCreate).
    if ctx.model().private_dns_zones.contains_key(&id) {
        return Err(exists_already(&id).into());
    }
    ctx.apply(vec![
        Change::PutPrivateDnsZone(PrivateDnsZoneSpec { id: id.clone() }),
        a.tags_put(&id),
    ])?;
    finish(ctx, a, zone_show)
}

fn zone_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let v = ctx.list(a.str("resource-group"), |m| &m.private_dns_zones, render_dns::zone)?;
    Ok(Reply::Table(v, zone_row))
}

fn zone_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let z = ctx.existing(&ctx.model().private_dns_zones, &zone_id(ctx, &a, "name"))?;
    Ok(Reply::Table(render_dns::zone(ctx.model(), z), zone_row))
}

fn zone_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let id = zone_id(ctx, &a, "name");
    let present = ctx.model().private_dns_zones.contains_key(&id);
    ctx.delete_if_present(present, Change::DeletePrivateDnsZone(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// `zone update`: a zone's only writable property is its tags, which
/// `--tags` replaces (`--set tags.…` is accepted and not stored: use
/// `--tags`); `--if-match` is checked against the zone's etag as ARM would.
fn zone_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = zone_id(ctx, &a, "name");
    let z = ctx.existing(&ctx.model().private_dns_zones, &id)?;
    if_match(&a, &render_dns::zone(ctx.model(), z))?;
    generic_update(&a, &["tags"], "'tags'", |_, _| Ok(false))?;
    if a.tags().is_some() {
        ctx.apply(vec![a.tags_put(&id)])?;
    }
    finish(ctx, a, zone_show)
}

/// ARM's 412 when `--if-match` names another etag than the resource's.
fn if_match(a: &Args, doc: &serde_json::Value) -> Result<(), AzError> {
    match (a.str("if-match"), doc["etag"].as_str()) {
        (Some(want), Some(etag)) if want != "*" && want.trim_matches('"') != etag => Err(AzureError::new(
            ErrorCode::PreconditionFailed,
            format!("The resource has been modified: its etag is {etag}, not {want}. Show it again and retry with the current etag."),
        )
        .into()),
        _ => Ok(()),
    }
}

/// The generic `--set/--add/--remove path=value` of an update: `set`
/// handles the paths vnetlab models (lower-cased, `properties.` dropped)
/// and says `false` for a path it does not know; paths under `tags` or
/// `metadata` (named in `free`) are accepted and not stored; anything else
/// is az's refusal, naming the `options` there are.
fn generic_update(
    a: &Args,
    free: &[&str],
    options: &str,
    mut set: impl FnMut(&str, &str) -> Result<bool, AzError>,
) -> Result<(), AzError> {
    let is_free = |path: &str| {
        let root = path.split(['.', '[']).next().unwrap_or("").to_ascii_lowercase();
        free.contains(&root.as_str())
    };
    for verb in ["add", "remove"] {
        if let Some(p) = a.list(verb).unwrap_or_default().into_iter().find(|p| !is_free(p)) {
            return Err(AzError::Cli(format!(
                "--{verb} {p}: vnetlab changes only the properties `update` models through --set; use --set"
            )));
        }
    }
    for assignment in a.list("set").unwrap_or_default() {
        let (path, value) = assignment
            .split_once('=')
            .ok_or_else(|| AzError::Cli(format!("usage error: --set property.path=value, got '{assignment}'")))?;
        if is_free(path) {
            continue;
        }
        let key = path.trim().trim_start_matches("properties.").to_ascii_lowercase();
        if !set(&key, value.trim())? {
            return Err(AzError::Cli(format!(
                "Couldn't find '{path}' in ''. Available options: [{options}]"
            )));
        }
    }
    Ok(())
}

/// `transform_privatedns_zone_table_output`.
fn zone_row(v: &serde_json::Value) -> serde_json::Value {
    super::table_rows(v, |z| {
        serde_json::json!({
            "ZoneName": z["name"],
            "ResourceGroup": z["resourceGroup"],
            "RecordSets": z["numberOfRecordSets"],
            "MaxRecordSets": z["maxNumberOfRecordSets"],
            "VirtualNetworkLinks": z["numberOfVirtualNetworkLinks"],
            "MaxVirtualNetworkLinks": z["maxNumberOfVirtualNetworkLinks"],
            "VirtualNetworkLinksWithRegistration": z["numberOfVirtualNetworkLinksWithRegistration"],
            "MaxVirtualNetworkLinksWithRegistration": z["maxNumberOfVirtualNetworkLinksWithRegistration"],
            "ProvisioningState": z["provisioningState"],
        })
    })
}

/// The zone `-z` names, or ARM's not-found for it.
fn zone_of<'m>(ctx: &'m Ctx, a: &Args) -> Result<&'m PrivateDnsZone, AzError> {
    ctx.existing(&ctx.model().private_dns_zones, &zone_id(ctx, a, "zone-name"))
}

// ---------------------------------------------------------------- links

fn link_id(ctx: &Ctx, a: &Args) -> ResourceId {
    zone_id(ctx, a, "zone-name").child("virtualNetworkLinks", a.must("name"))
}

fn link_create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = link_id(ctx, &a);
    let zone = zone_of(ctx, &a)?;
    if zone.virtual_network_links.iter().any(|l| l.id == id) {
        return Err(exists_already(&id).into());
    }
    let vnet = ctx.reference(
        a.must("virtual-network"),
        a.must("resource-group"),
        NETWORK,
        "virtualNetworks",
    )?;
    ctx.apply(vec![
        Change::PutVirtualNetworkLink(VirtualNetworkLinkSpec {
            id: id.clone(),
            virtual_network: vnet,
            registration_enabled: a.flag("registration-enabled"),
        }),
        a.tags_put(&id),
    ])?;
    finish(ctx, a, link_show)
}

fn link_update(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = link_id(ctx, &a);
    let zone = zone_of(ctx, &a)?;
    let Some(old) = zone.virtual_network_links.iter().find(|l| l.id == id) else {
        return Err(AzureError::resource_not_found(&id).into());
    };
    if_match(&a, &render_dns::link(old))?;
    let mut registration_enabled = a.bool("registration-enabled").unwrap_or(old.registration_enabled);
    generic_update(&a, &["tags"], "'registrationEnabled', 'tags'", |key, value| {
        if key != "registrationenabled" {
            return Ok(false);
        }
        registration_enabled = match value.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(AzError::Cli(format!(
                    "'{value}' is not a valid value for registrationEnabled: use true or false."
                )));
            }
        };
        Ok(true)
    })?;
    let spec = VirtualNetworkLinkSpec {
        id: id.clone(),
        virtual_network: old.virtual_network.clone(),
        registration_enabled,
    };
    let mut changes = vec![Change::PutVirtualNetworkLink(spec)];
    // An update keeps the tags unless `--tags` replaces them.
    if a.tags().is_some() {
        changes.push(a.tags_put(&id));
    }
    ctx.apply(changes)?;
    finish(ctx, a, link_show)
}

fn link_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let zone = zone_of(ctx, &a)?;
    let v = zone.virtual_network_links.iter().map(render_dns::link).collect();
    Ok(Reply::Table(serde_json::Value::Array(v), link_row))
}

fn link_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let id = link_id(ctx, &a);
    let zone = zone_of(ctx, &a)?;
    match zone.virtual_network_links.iter().find(|l| l.id == id) {
        Some(l) => Ok(Reply::Table(render_dns::link(l), link_row)),
        None => Err(AzureError::resource_not_found(&id).into()),
    }
}

fn link_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let id = link_id(ctx, &a);
    let zone = zone_of(ctx, &a)?;
    let present = zone.virtual_network_links.iter().any(|l| l.id == id);
    ctx.delete_if_present(present, Change::DeleteVirtualNetworkLink(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// `transform_privatedns_link_table_output`.
fn link_row(v: &serde_json::Value) -> serde_json::Value {
    super::table_rows(v, |l| {
        serde_json::json!({
            "LinkName": l["name"],
            "ResourceGroup": l["resourceGroup"],
            "RegistrationEnabled": l["registrationEnabled"],
            "VirtualNetwork": l["virtualNetwork"]["id"],
            "LinkState": l["virtualNetworkLinkState"],
            "ProvisioningState": l["provisioningState"],
        })
    })
}

// ---------------------------------------------------------------- record sets

fn set_id(ctx: &Ctx, a: &Args, t: RecordType, key: &str) -> ResourceId {
    zone_id(ctx, a, "zone-name").child(t.as_str(), a.must(key))
}

/// The set of type `t` named `name` in the zone, as a manual record set:
/// an auto-registered record is not one until a manual set takes its name.
fn find_set<'m>(zone: &'m PrivateDnsZone, t: RecordType, name: &str) -> Option<&'m RecordSet> {
    zone.record_set(t, name)
}

fn empty(t: RecordType) -> RecordData {
    match t {
        RecordType::A => RecordData::A(vec![]),
        RecordType::AAAA => RecordData::AAAA(vec![]),
        RecordType::CNAME => RecordData::CNAME(String::new()),
        RecordType::MX => RecordData::MX(vec![]),
        RecordType::PTR => RecordData::PTR(vec![]),
        RecordType::SRV => RecordData::SRV(vec![]),
        RecordType::TXT => RecordData::TXT(vec![]),
    }
}

fn rs_create<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = RecordType::ALL[I];
    let id = set_id(ctx, &a, t, "name");
    let zone = zone_of(ctx, &a)?;
    if find_set(zone, t, id.name()).is_some() {
        return Err(exists_already(&id).into());
    }
    let ttl = a.int::<u32>("ttl")?;
    ctx.apply(vec![Change::PutRecordSet(RecordSetSpec {
        id,
        ttl,
        data: empty(t),
    })])?;
    rs_show::<I>(ctx, a)
}

fn rs_list<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let zone = zone_of(ctx, &a)?;
    let v = render_dns::record_sets(ctx.model(), zone, Some(RecordType::ALL[I]));
    Ok(Reply::Table(serde_json::Value::Array(v), rs_row))
}

fn rs_list_all(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let zone = zone_of(ctx, &a)?;
    let v = render_dns::record_sets(ctx.model(), zone, None);
    Ok(Reply::Table(serde_json::Value::Array(v), rs_row))
}

/// One record set as `show` prints it, auto-registered ones included.
fn shown(ctx: &Ctx, a: &Args, t: RecordType, key: &str) -> Result<serde_json::Value, AzError> {
    let id = set_id(ctx, a, t, key);
    let zone = zone_of(ctx, a)?;
    render_dns::record_sets(ctx.model(), zone, Some(t))
        .into_iter()
        .find(|v| v["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(id.name())))
        .ok_or_else(|| AzureError::resource_not_found(&id).into())
}

fn rs_show<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Table(shown(ctx, &a, RecordType::ALL[I], "name")?, rs_row))
}

fn soa_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let zone = zone_of(ctx, &a)?;
    Ok(Reply::Table(render_dns::soa(zone), rs_row))
}

fn rs_delete<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let t = RecordType::ALL[I];
    let id = set_id(ctx, &a, t, "name");
    let zone = zone_of(ctx, &a)?;
    let present = find_set(zone, t, id.name()).is_some();
    ctx.delete_if_present(present, Change::DeleteRecordSet(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

/// The one record the command line gives, as a set of one.
fn given_record(a: &Args, t: RecordType) -> Result<RecordData, AzError> {
    let int = |k: &str| -> Result<u16, AzError> {
        let v = a.must(k);
        v.parse()
            .map_err(|_| AzError::Usage(format!("argument --{k}: invalid int value: '{v}'")))
    };
    let bad_ip = |v: &str, what: &str| {
        AzError::Azure(AzureError::new(
            ErrorCode::BadRequest,
            format!("The {what} address '{v}' is not valid. Give an address such as 10.0.0.4."),
        ))
    };
    Ok(match t {
        RecordType::A => {
            let v = a.must("ipv4-address");
            RecordData::A(vec![v.parse::<Ipv4Addr>().map_err(|_| bad_ip(v, "IPv4"))?])
        }
        RecordType::AAAA => {
            let v = a.must("ipv6-address");
            RecordData::AAAA(vec![v.parse::<Ipv6Addr>().map_err(|_| bad_ip(v, "IPv6"))?])
        }
        RecordType::CNAME => RecordData::CNAME(a.must("cname").to_string()),
        RecordType::MX => RecordData::MX(vec![MxRecord {
            preference: int("preference")?,
            exchange: a.must("exchange").to_string(),
        }]),
        RecordType::PTR => RecordData::PTR(vec![a.must("ptrdname").to_string()]),
        RecordType::SRV => RecordData::SRV(vec![SrvRecord {
            priority: int("priority")?,
            weight: int("weight")?,
            port: int("port")?,
            target: a.must("target").to_string(),
        }]),
        RecordType::TXT => {
            // az joins the values and cuts them into 255-character strings
            // (custom.py add_privatedns_txt_record).
            let text: String = a.list("value").unwrap_or_default().concat();
            let chars: Vec<char> = text.chars().collect();
            let mut parts: Vec<String> = chars.chunks(255).map(|c| c.iter().collect()).collect();
            if parts.is_empty() {
                parts.push(String::new());
            }
            RecordData::TXT(vec![parts])
        }
    })
}

/// `data` with `one`'s record added (a CNAME's target replaced).
fn with_record(data: RecordData, one: RecordData) -> RecordData {
    match (data, one) {
        (RecordData::A(mut v), RecordData::A(n)) => {
            v.extend(n);
            RecordData::A(v)
        }
        (RecordData::AAAA(mut v), RecordData::AAAA(n)) => {
            v.extend(n);
            RecordData::AAAA(v)
        }
        (RecordData::MX(mut v), RecordData::MX(n)) => {
            v.extend(n);
            RecordData::MX(v)
        }
        (RecordData::PTR(mut v), RecordData::PTR(n)) => {
            v.extend(n);
            RecordData::PTR(v)
        }
        (RecordData::SRV(mut v), RecordData::SRV(n)) => {
            v.extend(n);
            RecordData::SRV(v)
        }
        (RecordData::TXT(mut v), RecordData::TXT(n)) => {
            v.extend(n);
            RecordData::TXT(v)
        }
        (_, one) => one,
    }
}

/// `data` without the records equal to `one`'s; `None` if none matched.
fn without_record(data: &RecordData, one: &RecordData) -> Option<RecordData> {
    fn drop<T: PartialEq + Clone>(v: &[T], gone: &[T]) -> Option<Vec<T>> {
        let kept: Vec<T> = v.iter().filter(|r| !gone.contains(r)).cloned().collect();
        (kept.len() < v.len()).then_some(kept)
    }
    let txt = |v: &[Vec<String>]| -> Vec<String> { v.iter().map(|s| s.concat()).collect() };
    Some(match (data, one) {
        (RecordData::A(v), RecordData::A(g)) => RecordData::A(drop(v, g)?),
        (RecordData::AAAA(v), RecordData::AAAA(g)) => RecordData::AAAA(drop(v, g)?),
        (RecordData::MX(v), RecordData::MX(g)) => RecordData::MX(drop(v, g)?),
        (RecordData::PTR(v), RecordData::PTR(g)) => RecordData::PTR(drop(v, g)?),
        (RecordData::SRV(v), RecordData::SRV(g)) => RecordData::SRV(drop(v, g)?),
        (RecordData::TXT(v), RecordData::TXT(g)) => {
            let gone = txt(g);
            let kept: Vec<Vec<String>> = v.iter().filter(|s| !gone.contains(&s.concat())).cloned().collect();
            if kept.len() == v.len() {
                return None;
            }
            RecordData::TXT(kept)
        }
        // az clears a CNAME set whatever target is given.
        (RecordData::CNAME(_), RecordData::CNAME(_)) => RecordData::CNAME(String::new()),
        _ => return None,
    })
}

/// az's description of the record it could not find: the Python dict it
/// built (`Record {'ipv4_address': '10.0.0.9'} not found.`).
fn python_record(a: &Args, t: RecordType) -> String {
    let s = |k: &str| format!("'{}'", a.must(k));
    match t {
        RecordType::A => format!("{{'ipv4_address': {}}}", s("ipv4-address")),
        RecordType::AAAA => format!("{{'ipv6_address': {}}}", s("ipv6-address")),
        RecordType::CNAME => format!("{{'cname': {}}}", s("cname")),
        RecordType::MX => format!(
            "{{'preference': {}, 'exchange': {}}}",
            a.must("preference"),
            s("exchange")
        ),
        RecordType::PTR => format!("{{'ptrdname': {}}}", s("ptrdname")),
        RecordType::SRV => format!(
            "{{'priority': {}, 'weight': {}, 'port': {}, 'target': {}}}",
            a.must("priority"),
            a.must("weight"),
            a.must("port"),
            s("target")
        ),
        RecordType::TXT => {
            let vals: Vec<String> = a
                .list("value")
                .unwrap_or_default()
                .iter()
                .map(|v| format!("'{v}'"))
                .collect();
            format!("{{'value': [{}]}}", vals.join(", "))
        }
    }
}

/// `add-record` (`set-record` for CNAME): creates the set with TTL 3600 if
/// it is missing, else adds to it (custom.py `_privatedns_add_save_record`).
fn rs_add<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = RecordType::ALL[I];
    let id = set_id(ctx, &a, t, "record-set-name");
    let one = given_record(&a, t)?;
    let zone = zone_of(ctx, &a)?;
    let (ttl, data) = match find_set(zone, t, id.name()) {
        Some(rs) => (Some(rs.ttl), with_record(rs.data.clone(), one)),
        None => (None, one),
    };
    ctx.apply(vec![Change::PutRecordSet(RecordSetSpec { id, ttl, data })])?;
    Ok(Reply::Value(shown(ctx, &a, t, "record-set-name")?))
}

/// `remove-record`: the last record gone, the set is deleted (and nothing
/// printed) unless `--keep-empty-record-set`.
fn rs_remove<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = RecordType::ALL[I];
    let id = set_id(ctx, &a, t, "record-set-name");
    let one = given_record(&a, t)?;
    let zone = zone_of(ctx, &a)?;
    let Some(rs) = find_set(zone, t, id.name()) else {
        return Err(AzureError::resource_not_found(&id).into());
    };
    let Some(data) = without_record(&rs.data, &one) else {
        return Err(AzError::Cli(format!("Record {} not found.", python_record(&a, t))));
    };
    if data.is_empty() && !a.flag("keep-empty-record-set") {
        ctx.apply(vec![Change::DeleteRecordSet(id)])?;
        return Ok(Reply::Nothing);
    }
    let ttl = Some(rs.ttl);
    ctx.apply(vec![Change::PutRecordSet(RecordSetSpec { id, ttl, data })])?;
    Ok(Reply::Value(shown(ctx, &a, t, "record-set-name")?))
}

/// `record-set <type> update`: metadata is accepted and not stored; the
/// TTL (`--set ttl=N`) is. The records themselves are changed with
/// add-record/remove-record, as az's update hides them.
fn rs_update<const I: usize>(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let t = RecordType::ALL[I];
    let id = set_id(ctx, &a, t, "name");
    let zone = zone_of(ctx, &a)?;
    let Some(rs) = find_set(zone, t, id.name()) else {
        return Err(AzureError::resource_not_found(&id).into());
    };
    if_match(&a, &render_dns::record_set(zone, rs))?;
    let (mut ttl, data) = (rs.ttl, rs.data.clone());
    generic_update(&a, &["metadata"], "'metadata', 'ttl'", |key, value| {
        if key != "ttl" {
            return Ok(false);
        }
        ttl = value.parse().map_err(|_| {
            AzError::Cli(format!(
                "'{value}' is not a valid value for ttl: use a whole number of seconds."
            ))
        })?;
        Ok(true)
    })?;
    ctx.apply(vec![Change::PutRecordSet(RecordSetSpec {
        id,
        ttl: Some(ttl),
        data,
    })])?;
    rs_show::<I>(ctx, a)
}

/// `transform_privatedns_record_set_table_output`.
fn rs_row(v: &serde_json::Value) -> serde_json::Value {
    super::table_rows(v, |r| {
        let kind = r["type"].as_str().and_then(|t| t.rsplit('/').next()).unwrap_or("");
        serde_json::json!({
            "Name": r["name"],
            "ResourceGroup": r["resourceGroup"],
            "Ttl": r["ttl"],
            "Type": kind,
            "AutoRegistered": r["isAutoRegistered"],
            "Metadata": " ",
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::az::MemoryBackend;
    use crate::az::testing::{json, ok, sh};

    fn lab() -> MemoryBackend {
        let mut b = MemoryBackend::new();
        ok(&mut b, "group create -n rg -l westeurope");
        ok(
            &mut b,
            "network vnet create -g rg -n Hub --address-prefixes 10.1.0.0/16 --subnet-name default --subnet-prefixes 10.1.0.0/24",
        );
        ok(
            &mut b,
            "network vnet create -g rg -n Spoke --address-prefixes 10.2.0.0/16 --subnet-name default --subnet-prefixes 10.2.0.0/24",
        );
        b
    }

    #[test]
    fn zone_create_show_list_and_az_refusals() {
        let mut b = lab();
        let z = json(&mut b, "network private-dns zone create -g rg -n contoso.com.");
        assert_eq!(z["name"], "contoso.com");
        assert_eq!(z["location"], "global");
        assert_eq!(z["type"], "Microsoft.Network/privateDnsZones");
        assert_eq!(z["numberOfRecordSets"], 1, "the SOA");
        assert_eq!(z["maxNumberOfRecordSets"], 25000);
        assert_eq!(z["resourceGroup"], "rg");
        let (code, _, err) = sh(&mut b, "network private-dns zone create -g rg -n contoso.com");
        assert_eq!(code, 1);
        assert!(
            err.contains("(PreconditionFailed) The Zone contoso.com exists already"),
            "{err}"
        );
        let (code, _, err) = sh(&mut b, "network private-dns zone create -g rg -n azure.com");
        assert_eq!(code, 1);
        assert!(err.contains("reserved Azure infrastucture domain"), "{err}");
        assert_eq!(
            json(&mut b, "network private-dns zone list -g rg")
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let table = ok(&mut b, "network private-dns zone list -o table");
        assert!(table.contains("ZoneName") && table.contains("contoso.com"), "{table}");
        let (code, _, err) = sh(&mut b, "network private-dns zone show -g rg -n nope.com");
        assert_eq!(code, 3, "{err}");
    }

    #[test]
    fn links_by_name_or_id_with_registration() {
        let mut b = lab();
        ok(&mut b, "network private-dns zone create -g rg -n contoso.com");
        let l = json(
            &mut b,
            "network private-dns link vnet create -g rg -z contoso.com -n hub-link -v Hub -e true",
        );
        assert_eq!(l["registrationEnabled"], true);
        assert_eq!(l["virtualNetworkLinkState"], "Completed");
        assert!(
            l["virtualNetwork"]["id"]
                .as_str()
                .unwrap()
                .ends_with("/virtualNetworks/Hub")
        );
        let spoke = json(&mut b, "network vnet show -g rg -n Spoke --query id");
        let line = format!(
            "network private-dns link vnet create -g rg -z contoso.com -n spoke-link -v {} --registration-enabled false",
            spoke.as_str().unwrap()
        );
        assert_eq!(json(&mut b, &line)["registrationEnabled"], false);
        // -e is required, as az's custom class makes it.
        let (code, _, err) = sh(
            &mut b,
            "network private-dns link vnet create -g rg -z contoso.com -n x -v Hub",
        );
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--registration-enabled"), "{err}");
        let (code, _, err) = sh(&mut b, &line);
        assert_eq!(code, 1);
        assert!(
            err.contains("The Virtual Network link spoke-link for the Private DNS zone contoso.com exists already"),
            "{err}"
        );
        let up = json(
            &mut b,
            "network private-dns link vnet update -g rg -z contoso.com -n spoke-link -e",
        );
        assert_eq!(up["registrationEnabled"], true);
        assert_eq!(
            json(&mut b, "network private-dns zone show -g rg -n contoso.com")["numberOfVirtualNetworkLinksWithRegistration"],
            2
        );
        assert_eq!(
            json(&mut b, "network private-dns link vnet list -g rg -z contoso.com")
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // A zone with links cannot go; the links can.
        let (code, _, err) = sh(&mut b, "network private-dns zone delete -g rg -n contoso.com -y");
        assert_eq!(code, 1);
        assert!(err.contains("CannotDeleteResource"), "{err}");
        ok(
            &mut b,
            "network private-dns link vnet delete -g rg -z contoso.com -n hub-link -y",
        );
        ok(
            &mut b,
            "network private-dns link vnet delete -g rg -z contoso.com -n spoke-link -y",
        );
        ok(&mut b, "network private-dns zone delete -g rg -n contoso.com -y");
        assert!(b.model.private_dns_zones.is_empty());
    }

    #[test]
    fn zone_and_record_set_update_as_az() {
        let mut b = lab();
        ok(&mut b, "network private-dns zone create -g rg -n contoso.com");
        // A zone's only writable property is its tags.
        let z = json(
            &mut b,
            "network private-dns zone update -g rg -n contoso.com --tags env=lab",
        );
        assert_eq!(z["name"], "contoso.com");
        assert_eq!(z["tags"], serde_json::json!({ "env": "lab" }));
        let etag = z["etag"].as_str().unwrap().to_string();
        ok(
            &mut b,
            &format!("network private-dns zone update -g rg -n contoso.com --if-match {etag} --set tags.env=lab"),
        );
        let (code, _, err) = sh(
            &mut b,
            "network private-dns zone update -g rg -n contoso.com --if-match 0000",
        );
        assert_eq!(code, 1);
        assert!(err.contains("(PreconditionFailed)"), "{err}");
        let (code, _, err) = sh(
            &mut b,
            "network private-dns zone update -g rg -n contoso.com --set numberOfRecordSets=3",
        );
        assert_eq!(code, 1);
        assert!(err.contains("Couldn't find 'numberOfRecordSets'"), "{err}");
        let (code, _, err) = sh(
            &mut b,
            "network private-dns zone update -g rg -n nowhere.com --tags a=b",
        );
        assert_eq!(code, 3, "{err}");

        // A record set: --set ttl is stored, the records stay, metadata is accepted.
        ok(
            &mut b,
            "network private-dns record-set a add-record -g rg -z contoso.com -n db -a 10.1.0.9",
        );
        let a = json(
            &mut b,
            "network private-dns record-set a update -g rg -z contoso.com -n db --set ttl=60 --metadata owner=web",
        );
        assert_eq!(a["ttl"], 60);
        assert_eq!(a["aRecords"], serde_json::json!([{ "ipv4Address": "10.1.0.9" }]));
        let a = json(
            &mut b,
            "network private-dns record-set a show -g rg -z contoso.com -n db",
        );
        assert_eq!(a["ttl"], 60);
        for bad in [
            "--set ttl=soon",
            "--set aRecords=[]",
            "--add metadata.x=1 --add aRecords x",
        ] {
            let (code, _, err) = sh(
                &mut b,
                &format!("network private-dns record-set a update -g rg -z contoso.com -n db {bad}"),
            );
            assert_eq!(code, 1, "{bad}: {err}");
        }
        let (code, _, _) = sh(
            &mut b,
            "network private-dns record-set txt update -g rg -z contoso.com -n db --set ttl=5",
        );
        assert_eq!(code, 3, "no TXT set named db");
        let a = json(
            &mut b,
            "network private-dns record-set a show -g rg -z contoso.com -n db",
        );
        assert_eq!(a["ttl"], 60, "refused updates change nothing");

        // link vnet update: -e, or the generic --set registrationEnabled.
        ok(
            &mut b,
            "network private-dns link vnet create -g rg -z contoso.com -n hub -v Hub -e false",
        );
        let l = json(
            &mut b,
            "network private-dns link vnet update -g rg -z contoso.com -n hub --set registrationEnabled=true",
        );
        assert_eq!(l["registrationEnabled"], true);
        let (code, _, err) = sh(
            &mut b,
            "network private-dns link vnet update -g rg -z contoso.com -n hub --set virtualNetwork.id=x",
        );
        assert_eq!(code, 1);
        assert!(err.contains("Couldn't find 'virtualNetwork.id'"), "{err}");
        let (code, _, err) = sh(
            &mut b,
            "network private-dns link vnet update -g rg -z contoso.com -n hub -e false --if-match 0000",
        );
        assert_eq!(code, 1);
        assert!(err.contains("(PreconditionFailed)"), "{err}");
        let l = json(&mut b, "network private-dns link vnet show -g rg -z contoso.com -n hub");
        assert_eq!(l["registrationEnabled"], true, "refused updates change nothing");
    }

    #[test]
    fn record_sets_add_remove_defaults_and_shapes() {
        let mut b = lab();
        ok(&mut b, "network private-dns zone create -g rg -n contoso.com");
        let a = json(
            &mut b,
            "network private-dns record-set a add-record -g rg -z contoso.com -n db -a 10.1.0.9",
        );
        assert_eq!(a["ttl"], 3600);
        assert_eq!(a["fqdn"], "db.contoso.com.");
        assert_eq!(a["type"], "Microsoft.Network/privateDnsZones/A");
        assert_eq!(a["isAutoRegistered"], false);
        assert_eq!(a["aRecords"], serde_json::json!([{ "ipv4Address": "10.1.0.9" }]));
        let a = json(
            &mut b,
            "network private-dns record-set a add-record -g rg -z contoso.com -n db -a 10.1.0.10",
        );
        assert_eq!(a["aRecords"].as_array().unwrap().len(), 2);
        let created = json(
            &mut b,
            "network private-dns record-set txt create -g rg -z contoso.com -n note --ttl 60",
        );
        assert_eq!(created["ttl"], 60);
        assert_eq!(created["txtRecords"], serde_json::json!([]));
        let (code, _, err) = sh(
            &mut b,
            "network private-dns record-set txt create -g rg -z contoso.com -n note",
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("(PreconditionFailed) The Record set note exists already"),
            "{err}"
        );
        let t = json(
            &mut b,
            "network private-dns record-set txt add-record -g rg -z contoso.com -n note -v hello world",
        );
        assert_eq!(t["ttl"], 60, "an existing set keeps its TTL");
        assert_eq!(t["txtRecords"], serde_json::json!([{ "value": ["helloworld"] }]));
        let c = json(
            &mut b,
            "network private-dns record-set cname set-record -g rg -z contoso.com -n www -c db.contoso.com",
        );
        assert_eq!(c["cnameRecord"]["cname"], "db.contoso.com");
        let mx = json(
            &mut b,
            "network private-dns record-set mx add-record -g rg -z contoso.com -n @ -e mail.contoso.com -p 10",
        );
        assert_eq!(mx["fqdn"], "contoso.com.");
        assert_eq!(mx["mxRecords"][0]["preference"], 10);
        let srv = json(
            &mut b,
            "network private-dns record-set srv add-record -g rg -z contoso.com -n _sip._tcp -p 1 -w 5 -r 5060 -t sip.contoso.com",
        );
        assert_eq!(srv["srvRecords"][0]["port"], 5060);
        let ptr = json(
            &mut b,
            "network private-dns record-set ptr add-record -g rg -z contoso.com -n x -d host.contoso.com",
        );
        assert_eq!(ptr["ptrRecords"][0]["ptrdname"], "host.contoso.com");
        let aaaa = json(
            &mut b,
            "network private-dns record-set aaaa add-record -g rg -z contoso.com -n v6 -a fd00::9",
        );
        assert_eq!(aaaa["aaaaRecords"][0]["ipv6Address"], "fd00::9");
        // The CNAME excludes other types at its name (the model's rule).
        let (code, _, err) = sh(
            &mut b,
            "network private-dns record-set a add-record -g rg -z contoso.com -n www -a 10.1.0.7",
        );
        assert_eq!(code, 1, "{err}");
        let all = json(&mut b, "network private-dns record-set list -g rg -z contoso.com");
        let names: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[0], "@", "SOA first: {names:?}");
        assert_eq!(all.as_array().unwrap().len(), 8);
        assert_eq!(
            json(&mut b, "network private-dns record-set a list -g rg -z contoso.com")
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            json(&mut b, "network private-dns record-set soa show -g rg -z contoso.com")["soaRecord"]["host"],
            "azureprivatedns.net"
        );
        // Removing: a missing record in az's words; the last one deletes the set.
        let (code, _, err) = sh(
            &mut b,
            "network private-dns record-set a remove-record -g rg -z contoso.com -n db -a 10.9.9.9",
        );
        assert_eq!(code, 1);
        assert!(err.contains("Record {'ipv4_address': '10.9.9.9'} not found."), "{err}");
        let left = json(
            &mut b,
            "network private-dns record-set a remove-record -g rg -z contoso.com -n db -a 10.1.0.9",
        );
        assert_eq!(left["aRecords"].as_array().unwrap().len(), 1);
        let out = ok(
            &mut b,
            "network private-dns record-set a remove-record -g rg -z contoso.com -n db -a 10.1.0.10",
        );
        assert!(out.is_empty(), "{out}");
        let (code, _, _) = sh(
            &mut b,
            "network private-dns record-set a show -g rg -z contoso.com -n db",
        );
        assert_eq!(code, 3);
        let kept = json(
            &mut b,
            "network private-dns record-set cname remove-record -g rg -z contoso.com -n www -c db.contoso.com --keep-empty-record-set",
        );
        assert_eq!(kept["cnameRecord"], serde_json::json!({}));
        ok(
            &mut b,
            "network private-dns record-set txt delete -g rg -z contoso.com -n note -y",
        );
        let (code, _, _) = sh(
            &mut b,
            "network private-dns record-set txt show -g rg -z contoso.com -n note",
        );
        assert_eq!(code, 3);
    }

    #[test]
    fn auto_registered_records_are_listed_and_go_with_the_vm() {
        let mut b = lab();
        ok(&mut b, "network private-dns zone create -g rg -n contoso.com");
        ok(
            &mut b,
            "network private-dns link vnet create -g rg -z contoso.com -n hub -v Hub -e true",
        );
        ok(
            &mut b,
            "vm create -g rg -n web1 --image Ubuntu2204 --vnet-name Hub --subnet default --admin-username azureuser --admin-password Passw0rd-Lab-2026 --public-ip-address '' --nsg ''",
        );
        let a = json(&mut b, "network private-dns record-set a list -g rg -z contoso.com");
        assert_eq!(a[0]["name"], "web1");
        assert_eq!(a[0]["isAutoRegistered"], true);
        assert_eq!(a[0]["ttl"], 10);
        let shown = json(
            &mut b,
            "network private-dns record-set a show -g rg -z contoso.com -n web1",
        );
        assert_eq!(shown["isAutoRegistered"], true);
        assert_eq!(
            json(&mut b, "network private-dns zone show -g rg -n contoso.com")["numberOfRecordSets"],
            2
        );
        ok(&mut b, "vm deallocate -g rg -n web1");
        let a = json(&mut b, "network private-dns record-set a list -g rg -z contoso.com");
        assert!(a.as_array().unwrap().is_empty(), "{a}");
    }

    #[test]
    fn a_zone_group_writes_the_endpoints_record_and_the_public_name_resolves_to_it() {
        let mut b = lab();
        ok(
            &mut b,
            "redis create -g rg -n shop-cache -l westeurope --sku Standard --vm-size c1",
        );
        let cache = json(&mut b, "redis show -g rg -n shop-cache --query id");
        let line = format!(
            "network private-endpoint create -g rg -n shop-pe --vnet-name Hub --subnet default --private-connection-resource-id {} --group-id redisCache --connection-name shop",
            cache.as_str().unwrap()
        );
        let pe_ip = json(&mut b, &line)["customDnsConfigs"][0]["ipAddresses"][0]
            .as_str()
            .unwrap()
            .to_string();
        let zone = "privatelink.redis.cache.windows.net";
        ok(&mut b, &format!("network private-dns zone create -g rg -n {zone}"));
        ok(
            &mut b,
            &format!("network private-dns link vnet create -g rg -z {zone} -n hub -v Hub -e false"),
        );
        ok(
            &mut b,
            "vm create -g rg -n web1 --image Ubuntu2204 --vnet-name Hub --subnet default --admin-username azureuser --admin-password Passw0rd-Lab-2026 --public-ip-address '' --nsg ''",
        );
        let resolve = |b: &MemoryBackend| {
            let view = crate::dns::DnsView::compile(&b.model);
            crate::dns::resolve_as_vm(&b.model, &view, "web1", "shop-cache.redis.cache.windows.net")
                .expect("web1")
                .addresses
        };
        assert!(resolve(&b).is_empty(), "no record in the zone yet");
        let g = json(
            &mut b,
            &format!(
                "network private-endpoint dns-zone-group create -g rg --endpoint-name shop-pe -n default --private-dns-zone {zone} --zone-name redis"
            ),
        );
        let sets = &g["privateDnsZoneConfigs"][0]["recordSets"];
        assert_eq!(sets[0]["recordSetName"], "shop-cache");
        assert_eq!(sets[0]["ipAddresses"][0], pe_ip.as_str());
        let a = json(
            &mut b,
            &format!("network private-dns record-set a show -g rg -z {zone} -n shop-cache"),
        );
        assert_eq!(a["aRecords"][0]["ipv4Address"], pe_ip.as_str());
        assert_eq!(a["ttl"], 10);
        assert_eq!(resolve(&b), vec![pe_ip.parse::<std::net::Ipv4Addr>().unwrap()]);
        // One group per endpoint.
        let (code, _, err) = sh(
            &mut b,
            &format!(
                "network private-endpoint dns-zone-group create -g rg --endpoint-name shop-pe -n other --private-dns-zone {zone} --zone-name redis"
            ),
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("Cannot create more than one private dns zone groups"),
            "{err}"
        );
        assert_eq!(
            json(
                &mut b,
                "network private-endpoint dns-zone-group list -g rg --endpoint-name shop-pe"
            )
            .as_array()
            .unwrap()
            .len(),
            1
        );
        ok(
            &mut b,
            "network private-endpoint dns-zone-group delete -g rg --endpoint-name shop-pe -n default",
        );
        assert!(resolve(&b).is_empty(), "the record went with the group");
        // Deleting the endpoint takes its group's record too.
        ok(
            &mut b,
            &format!(
                "network private-endpoint dns-zone-group create -g rg --endpoint-name shop-pe -n default --private-dns-zone {zone} --zone-name redis"
            ),
        );
        ok(&mut b, "network private-endpoint delete -g rg -n shop-pe");
        let (code, _, _) = sh(
            &mut b,
            &format!("network private-dns record-set a show -g rg -z {zone} -n shop-cache"),
        );
        assert_eq!(code, 3);
    }
}
