//! Tags as ARM returns them and az prints them: the tags resource of a
//! scope (`{scope}/providers/Microsoft.Resources/tags/default`) and a
//! subscription's tag names. The az shim and the ARM endpoint both print
//! these, so the two fronts cannot drift apart.

use serde_json::{Value, json};

use crate::model::{Model, ResourceId, TagNameUse};

/// The path below a scope where its tags live.
pub const TAGS_SUFFIX: &str = "providers/Microsoft.Resources/tags/default";

// Azure: Tags - Get At Scope answers a TagsResource: id, name "default",
// type "Microsoft.Resources/tags", properties.tags (an empty object when
// the scope has none).
pub fn tags_resource(m: &Model, scope: &ResourceId) -> Value {
    let tags = m.tags_of(scope).cloned().unwrap_or_default();
    json!({
        "id": format!("{}/{TAGS_SUFFIX}", scope.as_str().trim_end_matches('/')),
        "name": "default",
        "type": "Microsoft.Resources/tags",
        "properties": { "tags": tags },
    })
}

fn count(n: usize) -> Value {
    json!({ "type": "Total", "value": n })
}

// Azure: Tags - List answers TagDetails: id `/subscriptions/{id}/tagNames/{name}`,
// tagName, count {type: "Total", value} and values [{id, tagValue, count}].
pub fn tag_details(sub: &str, t: &TagNameUse) -> Value {
    let id = format!("/subscriptions/{sub}/tagNames/{}", t.name);
    let values: Vec<Value> = t.values.iter().map(|(v, n)| tag_value(&id, v, *n)).collect();
    json!({ "id": id, "tagName": t.name, "count": count(t.count), "values": values })
}

fn tag_value(name_id: &str, value: &str, n: usize) -> Value {
    json!({ "id": format!("{name_id}/tagValues/{value}"), "tagValue": value, "count": count(n) })
}

/// Every tag name of `sub` (`az tag list`, `GET …/tagNames`).
pub fn tag_names(m: &Model, sub: &str) -> Vec<Value> {
    m.tag_names_of(sub).iter().map(|t| tag_details(sub, t)).collect()
}

/// One tag name as a create answers it (none of its values or counts
/// when nothing uses it yet).
pub fn tag_name(m: &Model, sub: &str, name: &str) -> Value {
    let t = m
        .tag_names_of(sub)
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| TagNameUse {
            name: name.to_string(),
            count: 0,
            values: Vec::new(),
        });
    tag_details(sub, &t)
}

/// One value of a tag name as `add-value` answers it.
pub fn tag_name_value(m: &Model, sub: &str, name: &str, value: &str) -> Value {
    let t = tag_name(m, sub, name);
    let n = t["values"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["tagValue"] == value))
        .and_then(|v| v["count"]["value"].as_u64())
        .unwrap_or(0) as usize;
    tag_value(t["id"].as_str().unwrap_or_default(), value, n)
}
