//! The tags service as the real az 2.91 calls it (`az tag …`): the tag set
//! at a scope (`{scope}/providers/Microsoft.Resources/tags/default`) and a
//! subscription's tag names (`/subscriptions/{id}/tagNames`).

use super::*;

const V: &str = "?api-version=2024-11-01";

fn at(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Resources/tags/default{V}")
}

#[test]
fn tags_at_a_scope_put_patch_get_and_delete() {
    let mut lab = Lab::new();
    lab.call("PUT", &rg_path(), Some(json!({ "location": "westeurope" })));
    let vnet = json!({ "location": "westeurope",
        "properties": { "addressSpace": { "addressPrefixes": ["10.1.0.0/16"] } } });
    lab.call("PUT", &vnet_path("v1"), Some(vnet));
    let scope = vnet_path("v1");
    let r = lab.call("GET", &at(&scope), None);
    assert_eq!(r.status, 200, "{r:?}");
    let doc = r.body.expect("body");
    assert_eq!(doc["properties"]["tags"], json!({}));
    assert_eq!(doc["name"], "default");
    assert_eq!(doc["type"], "Microsoft.Resources/tags");

    let put = json!({ "properties": { "tags": { "a": "1", "b": "2" } } });
    let r = lab.call("PUT", &at(&scope), Some(put));
    assert_eq!(
        r.body.expect("body")["properties"]["tags"],
        json!({ "a": "1", "b": "2" })
    );
    let merge = json!({ "operation": "Merge", "properties": { "tags": { "b": "3", "c": "4" } } });
    let r = lab.call("PATCH", &at(&scope), Some(merge));
    assert_eq!(
        r.body.expect("body")["properties"]["tags"],
        json!({ "a": "1", "b": "3", "c": "4" })
    );
    let delete = json!({ "operation": "Delete", "properties": { "tags": { "a": "" } } });
    lab.call("PATCH", &at(&scope), Some(delete));
    // The resource's own GET shows what the tags service set.
    let r = lab.call("GET", &scope, None);
    assert_eq!(r.body.expect("body")["tags"], json!({ "b": "3", "c": "4" }));

    // Refusals change nothing.
    let before = lab.backend.model.clone();
    let bad_op = json!({ "operation": "Append", "properties": { "tags": { "x": "y" } } });
    assert_eq!(lab.call("PATCH", &at(&scope), Some(bad_op)).status, 400);
    let bad_name = json!({ "properties": { "tags": { "a/b": "y" } } });
    let r = lab.call("PUT", &at(&scope), Some(bad_name));
    assert_eq!(r.body.expect("body")["error"]["code"], "InvalidTagNameCharacters");
    let r = lab.call("GET", &at(&vnet_path("nope")), None);
    assert_eq!(
        (r.status, r.body.expect("body")["error"]["code"].clone()),
        (404, json!("ResourceNotFound"))
    );
    let other_group = format!("/subscriptions/{SUB}/resourceGroups/nope");
    let r = lab.call(
        "PUT",
        &at(&other_group),
        Some(json!({ "properties": { "tags": { "x": "y" } } })),
    );
    assert_eq!(r.body.expect("body")["error"]["code"], "ResourceGroupNotFound");
    assert_eq!(lab.backend.model, before);

    assert_eq!(lab.call("DELETE", &at(&scope), None).status, 200);
    let r = lab.call("GET", &at(&scope), None);
    assert_eq!(r.body.expect("body")["properties"]["tags"], json!({}));

    // The subscription itself carries tags.
    let sub = format!("/subscriptions/{SUB}");
    let r = lab.call(
        "PUT",
        &at(&sub),
        Some(json!({ "properties": { "tags": { "owner": "lab" } } })),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = lab.call("GET", &at(&sub), None);
    assert_eq!(r.body.expect("body")["properties"]["tags"], json!({ "owner": "lab" }));
}

#[test]
fn tag_names_are_predefined_counted_and_deleted() {
    let mut lab = Lab::new();
    let names = format!("/subscriptions/{SUB}/tagNames");
    let r = lab.call("PUT", &format!("{names}/Dept{V}"), None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body.expect("body"),
        json!({ "id": format!("{names}/Dept"), "tagName": "Dept", "count": { "type": "Total", "value": 0 }, "values": [] })
    );
    let r = lab.call("PUT", &format!("{names}/Dept/tagValues/IT{V}"), None);
    assert_eq!(r.body.expect("body")["id"], format!("{names}/Dept/tagValues/IT"));
    lab.call(
        "PUT",
        &rg_path(),
        Some(json!({ "location": "westeurope", "tags": { "dept": "IT" } })),
    );
    let r = lab.call("GET", &format!("{names}{V}"), None);
    let list = r.body.expect("body");
    assert_eq!(list["value"][0]["count"]["value"], 1, "{list}");
    assert_eq!(list["value"][0]["values"][0]["count"]["value"], 1, "{list}");
    // In use: refused; the value first, then the name, once the group drops it.
    let r = lab.call("DELETE", &format!("{names}/Dept{V}"), None);
    assert_eq!(r.status, 400, "{r:?}");
    lab.call("PATCH", &rg_path(), Some(json!({ "tags": {} })));
    assert_eq!(
        lab.call("DELETE", &format!("{names}/Dept/tagValues/IT{V}"), None)
            .status,
        200
    );
    assert_eq!(lab.call("DELETE", &format!("{names}/Dept{V}"), None).status, 200);
    let r = lab.call("GET", &format!("{names}{V}"), None);
    assert_eq!(r.body.expect("body")["value"], json!([]));
    assert_eq!(lab.call("POST", &format!("{names}{V}"), None).status, 405);
}
