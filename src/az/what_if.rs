//! `az deployment … what-if`'s listing of an ARM WhatIfOperationResult:
//! the notice, the legend, each resource by scope with the body it creates
//! or deletes or its property changes, and the count of each change type.
// Azure: azure-cli 2.91.0 azure/cli/command_modules/resource/_formatters.py
// (format_what_if_operation_result), without colours (az prints none when
// stdout is not a terminal).

use serde_json::Value;

/// A change type's symbol, az's weight order, and its words in the count.
// Azure: _formatters.py orders Delete, Create, Deploy, Modify, NoChange,
// Unsupported, Ignore, then a property's NoEffect.
const CHANGE_TYPES: &[(&str, &str, &str)] = &[
    ("Delete", "-", "to delete"),
    ("Create", "+", "to create"),
    ("Deploy", "!", "to deploy"),
    ("Modify", "~", "to modify"),
    ("NoChange", "=", "no change"),
    ("Unsupported", "x", "unsupported"),
    ("Ignore", "*", "to ignore"),
    ("NoEffect", "x", "no effect"),
];

fn weight(t: &str) -> usize {
    CHANGE_TYPES
        .iter()
        .position(|(k, _, _)| *k == t)
        .unwrap_or(CHANGE_TYPES.len())
}

fn symbol(t: &str) -> &'static str {
    CHANGE_TYPES.get(weight(t)).map_or("x", |(_, s, _)| s)
}

/// A property change's weight: Delete, Create, Modify and Array, NoEffect.
fn property_weight(t: &str) -> usize {
    match t {
        "Delete" => 0,
        "Create" => 1,
        "Modify" | "Array" => 2,
        _ => 3,
    }
}

fn property_symbol(t: &str) -> &'static str {
    match t {
        "Delete" => "-",
        "Create" => "+",
        "Modify" | "Array" => "~",
        _ => "x",
    }
}

fn kind(c: &Value) -> &str {
    c["changeType"].as_str().unwrap_or("Unsupported")
}

/// The whole listing of `doc`, a WhatIfOperationResult.
pub fn listing(doc: &Value) -> String {
    let changes: Vec<&Value> = doc["properties"]["changes"].as_array().into_iter().flatten().collect();
    let mut s = String::from(
        "Note: The result may contain false positive predictions (noise).\nYou can help us improve the accuracy of the result by opening an issue here: https://aka.ms/WhatIfIssues\nNOTICE! - Want to get What-if without noise? Move to Deployment Stacks What-If https://aka.ms/stackswhatifGA\n\n",
    );
    if !changes.is_empty() {
        legend(&mut s, &changes);
        resources(&mut s, &changes);
    }
    s.push_str("\nResource changes: ");
    if changes.is_empty() {
        s.push_str("no change.");
    } else {
        let counts: Vec<String> = CHANGE_TYPES
            .iter()
            .filter_map(|(t, _, words)| {
                let n = changes.iter().filter(|c| kind(c) == *t).count();
                (n > 0).then(|| format!("{n} {words}"))
            })
            .collect();
        s.push_str(&counts.join(", "));
        s.push('.');
    }
    s.push('\n');
    s
}

/// The change types that occur, resources' and properties' (an array's
/// change counts as Modify), in weight order.
fn legend(s: &mut String, changes: &[&Value]) {
    fn properties(delta: &Value, out: &mut Vec<String>) {
        for d in delta.as_array().into_iter().flatten() {
            let t = d["propertyChangeType"].as_str().unwrap_or("Modify");
            out.push(if t == "Array" { "Modify" } else { t }.to_string());
            properties(&d["children"], out);
        }
    }
    let mut types: Vec<String> = Vec::new();
    for c in changes {
        types.push(kind(c).to_string());
        properties(&c["delta"], &mut types);
    }
    types.sort_by_key(|t| weight(t));
    types.dedup();
    s.push_str("Resource and property changes are indicated with ");
    s.push_str(if types.len() == 1 {
        "this symbol:\n"
    } else {
        "these symbols:\n"
    });
    for t in &types {
        // az titles the enum value: NoChange prints "Nochange".
        let mut title = t.to_ascii_lowercase();
        title[..1].make_ascii_uppercase();
        s.push_str(&format!("  {} {title}\n", symbol(t)));
    }
}

/// The scopes, each with its resources sorted by change type and relative ID.
fn resources(s: &mut String, changes: &[&Value]) {
    let id = |c: &Value| c["resourceId"].as_str().unwrap_or_default().to_string();
    let mut by_scope: Vec<(String, String, Vec<&Value>)> = Vec::new();
    for c in changes {
        let (scope, _) = split_id(&id(c));
        let key = scope.to_uppercase();
        match by_scope.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, list)) => list.push(c),
            None => by_scope.push((key, scope, vec![c])),
        }
    }
    by_scope.sort_by(|a, b| a.0.cmp(&b.0));
    s.push_str("\nThe deployment will update the following ");
    s.push_str(if by_scope.len() == 1 { "scope:\n" } else { "scopes:\n" });
    for (_, scope, mut list) in by_scope {
        s.push_str(&format!("\nScope: {scope}\n"));
        list.sort_by_key(|c| (weight(kind(c)), split_id(&id(c)).1));
        for (i, c) in list.iter().enumerate() {
            resource(s, c, i + 1 == list.len());
        }
    }
}

/// One resource: its symbol and relative ID, then the body it creates or
/// deletes, or its property changes.
fn resource(s: &mut String, c: &Value, last: bool) {
    let t = kind(c);
    let (_, relative) = split_id(c["resourceId"].as_str().unwrap_or_default());
    s.push('\n');
    s.push_str(&format!("  {} {relative}", symbol(t)));
    let body = if t == "Create" { &c["after"] } else { &c["before"] };
    if let Some(v) = body.get("apiVersion").and_then(Value::as_str) {
        s.push_str(&format!(" [{v}]"));
    }
    let delta = c["delta"].as_array().filter(|d| !d.is_empty());
    if matches!(t, "Create" | "Delete") && non_empty_object(body) {
        json(s, body, "", 0, 2);
    } else if let Some(delta) = delta {
        s.push('\n');
        property_changes(s, delta, 2);
    } else if last {
        s.push('\n');
    }
}

/// `(scope, relative resource ID)` as az's split_resource_id: the scope
/// is the subscription (its ID in lower case), with the resource group
/// when a provider path follows it; a group itself is `resourceGroups/NAME`
/// relative to its subscription.
// Azure: azure-cli 2.91.0 resource/_utils.py split_resource_id.
fn split_id(id: &str) -> (String, String) {
    fn after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
        let head = s.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
    }
    let providers = |rest: &str| after(rest, "/providers/").filter(|r| !r.is_empty()).map(str::to_string);
    let Some(rest) = after(id, "/subscriptions/").or_else(|| after(id, "subscriptions/")) else {
        return ("/".into(), providers(id).unwrap_or_default());
    };
    let sub_len = rest.chars().take_while(|c| c.is_ascii_hexdigit() || *c == '-').count();
    if sub_len == 0 {
        return ("/".into(), providers(id).unwrap_or_default());
    }
    let scope = format!("/subscriptions/{}", rest[..sub_len].to_ascii_lowercase());
    let rest = &rest[sub_len..];
    if let Some(group_rest) = after(rest, "/resourceGroups/") {
        let name_len: usize = group_rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || "-._()".contains(*c))
            .map(char::len_utf8)
            .sum();
        if name_len > 0 {
            let group = &group_rest[..name_len];
            return match providers(&group_rest[name_len..]) {
                Some(relative) => (format!("{scope}/resourceGroups/{group}"), relative),
                None => (scope, format!("resourceGroups/{group}")),
            };
        }
    }
    let relative = providers(rest).unwrap_or_default();
    (scope, relative)
}

fn indent(s: &mut String, level: usize) {
    s.push_str(&"  ".repeat(level));
}

fn leaf_value(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

fn non_empty_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| !a.is_empty())
}

fn non_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|o| !o.is_empty())
}

/// A leaf as az prints it: strings in quotes as they are (no escaping).
fn leaf(s: &mut String, v: &Value) {
    match v {
        Value::String(x) => {
            s.push('"');
            s.push_str(x);
            s.push('"');
        }
        Value::Array(_) => s.push_str("[]"),
        Value::Object(_) => s.push_str("{}"),
        other => s.push_str(&other.to_string()),
    }
}

/// `path:` and the padding that aligns the values after it.
fn path(s: &mut String, path: &str, padding: usize, level: usize) {
    if path.is_empty() {
        return;
    }
    indent(s, level);
    s.push_str(path);
    s.push(':');
    s.push_str(&" ".repeat(padding));
}

/// Any JSON value under `at`, aligned to `width` (the longest path beside it).
fn json(s: &mut String, v: &Value, at: &str, width: usize, level: usize) {
    if leaf_value(v) {
        path(s, at, (width + 1).saturating_sub(at.len()), level);
        leaf(s, v);
    } else if let Some(a) = v.as_array() {
        path(s, at, 1, level);
        array(s, a, level);
    } else if let Some(o) = v.as_object() {
        object(s, o, at, width, level);
    }
}

fn array(s: &mut String, a: &[Value], level: usize) {
    s.push_str("[\n");
    // az pads the indices to the last leaf's index.
    let last_leaf = a.iter().rposition(leaf_value).unwrap_or(0);
    let width = last_leaf.to_string().len();
    for (i, child) in a.iter().enumerate() {
        let at = i.to_string();
        match child.as_object().filter(|o| !o.is_empty()) {
            Some(o) => {
                path(s, &at, 0, level + 1);
                object(s, o, "", 0, level + 1);
            }
            None => json(s, child, &at, width, level + 1),
        }
        s.push('\n');
    }
    indent(s, level);
    s.push(']');
}

/// An object's members as dotted paths; at the root, after a blank line,
/// one level deeper, aligned to the longest path that is not an array's.
fn object(s: &mut String, o: &serde_json::Map<String, Value>, at: &str, width: usize, level: usize) {
    let root = at.is_empty();
    let (width, level) = if root {
        s.push_str("\n\n");
        (longest_path(o), level + 1)
    } else {
        (width, level)
    };
    for (k, child) in o {
        let child_path = if root { k.clone() } else { format!("{at}.{k}") };
        json(s, child, &child_path, width, level);
        if !non_empty_object(child) {
            s.push('\n');
        }
    }
}

fn longest_path(o: &serde_json::Map<String, Value>) -> usize {
    o.iter()
        .filter(|(_, v)| !non_empty_array(v))
        .map(|(k, v)| match v.as_object().filter(|c| !c.is_empty()) {
            Some(c) => k.len() + 1 + longest_path(c),
            None => k.len(),
        })
        .max()
        .unwrap_or(0)
}

/// A resource's property changes, each on its line, paths aligned.
fn property_changes(s: &mut String, changes: &[Value], level: usize) {
    let mut sorted: Vec<&Value> = changes.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |c: &Value| {
            (
                property_weight(c["propertyChangeType"].as_str().unwrap_or("")),
                text(c, "path"),
            )
        };
        key(a).cmp(&key(b))
    });
    property_changes_in_order(s, &sorted, level);
}

fn text(c: &Value, key: &str) -> String {
    c[key].as_str().unwrap_or_default().to_string()
}

/// Whether a change's path counts for the alignment: only leaf values do.
fn aligned(c: &Value) -> bool {
    match c["propertyChangeType"].as_str().unwrap_or("") {
        "Create" => leaf_value(&c["after"]),
        "Delete" | "Modify" => leaf_value(&c["before"]),
        _ => c["children"].as_array().is_none_or(|a| a.is_empty()),
    }
}

fn property_change(s: &mut String, c: &Value, width: usize, level: usize) {
    let t = c["propertyChangeType"].as_str().unwrap_or("Modify");
    let children = c["children"].as_array().filter(|a| !a.is_empty());
    let shown = match t {
        "Delete" | "Modify" => &c["before"],
        "Array" => &c["children"],
        _ => &c["after"],
    };
    let at = text(c, "path");
    if !at.is_empty() {
        let mut padding = (width + 1).saturating_sub(at.len());
        if non_empty_array(shown) {
            padding = 1;
        }
        if non_empty_object(shown) || (t == "Modify" && children.is_some()) {
            padding = 0;
        }
        indent(s, level);
        s.push_str(property_symbol(t));
        s.push(' ');
        s.push_str(&at);
        s.push(':');
        s.push_str(&" ".repeat(padding));
    }
    match t {
        "Create" | "NoEffect" => json(s, &c["after"], "", 0, level + 1),
        "Delete" => json(s, &c["before"], "", 0, level + 1),
        "Array" => array_change(s, c, children.map(Vec::as_slice).unwrap_or_default(), level + 1),
        _ => match children {
            Some(children) => {
                s.push_str("\n\n");
                property_changes(s, children, level + 1);
            }
            None => {
                let (before, after) = (&c["before"], &c["after"]);
                json(s, before, "", 0, level + 1);
                if non_empty_object(before) {
                    s.push('\n');
                    indent(s, level + 1);
                } else {
                    s.push(' ');
                }
                s.push_str("=>");
                if !non_empty_object(after) {
                    s.push(' ');
                }
                json(s, after, "", 0, level + 1);
                if !leaf_value(before) && leaf_value(after) {
                    s.push('\n');
                }
            }
        },
    }
}

fn array_change(s: &mut String, parent: &Value, children: &[Value], level: usize) {
    let mut level = level;
    if text(parent, "path").is_empty() {
        level -= 1;
        indent(s, level);
    }
    if children.is_empty() {
        s.push_str("[]\n");
        return;
    }
    s.push_str("[\n");
    let mut sorted: Vec<&Value> = children.iter().collect();
    sorted.sort_by_key(|c| {
        (
            text(c, "path").parse::<i64>().unwrap_or(0),
            property_weight(c["propertyChangeType"].as_str().unwrap_or("")),
        )
    });
    property_changes_in_order(s, &sorted, level);
    indent(s, level);
    s.push(']');
}

/// Like [`property_changes`] but in the order given (an array's by index).
fn property_changes_in_order(s: &mut String, changes: &[&Value], level: usize) {
    let width = changes
        .iter()
        .filter(|c| aligned(c))
        .map(|c| text(c, "path").len())
        .max()
        .unwrap_or(0);
    for c in changes {
        property_change(s, c, width, level);
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RG: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg";

    /// A Create prints its body as dotted paths aligned past the longest,
    /// arrays with their indices and objects in arrays after a blank line.
    #[test]
    fn ids_split_as_az_splits_them() {
        let sub = "/subscriptions/00000000-0000-0000-0000-0000000000AB";
        let lower = "/subscriptions/00000000-0000-0000-0000-0000000000ab";
        assert_eq!(
            split_id(&format!("{sub}/resourceGroups/rg")),
            (lower.into(), "resourceGroups/rg".into())
        );
        assert_eq!(
            split_id(&format!(
                "{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
            )),
            (
                format!("{lower}/resourceGroups/rg"),
                "Microsoft.Network/virtualNetworks/v".into()
            )
        );
        assert_eq!(
            split_id(&format!("{sub}/providers/Microsoft.Resources/deployments/d")),
            (lower.into(), "Microsoft.Resources/deployments/d".into())
        );
        assert_eq!(split_id("nonsense"), ("/".into(), String::new()));
    }

    #[test]
    fn a_created_resource_prints_its_body_as_az_does() {
        let doc = json!({ "properties": { "changes": [{
            "resourceId": format!("{RG}/providers/Microsoft.Network/networkInterfaces/nic"),
            "changeType": "Create",
            "after": {
                "id": "x", "name": "nic",
                "properties": { "ipConfigurations": [{ "id": "c", "primary": true }], "enableIPForwarding": false },
                "tags": {},
            },
        }]}});
        let out = listing(&doc);
        let expected = "Scope: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg\n\n  + Microsoft.Network/networkInterfaces/nic\n\n      id:                            \"x\"\n      name:                          \"nic\"\n      properties.ipConfigurations: [\n        0:\n\n          id:      \"c\"\n          primary: true\n\n      ]\n      properties.enableIPForwarding: false\n      tags:                          {}\n\nResource changes: 1 to create.\n";
        assert!(out.ends_with(expected), "{out}");
    }

    /// Unchanged resources follow each other without blank lines; a
    /// modified one lists its property changes, aligned, before => after.
    #[test]
    fn modified_and_unchanged_resources_as_az_lists_them() {
        let doc = json!({ "properties": { "changes": [
            { "resourceId": format!("{RG}/providers/Microsoft.Network/virtualNetworks/a"), "changeType": "NoChange" },
            { "resourceId": format!("{RG}/providers/Microsoft.Network/virtualNetworks/b"), "changeType": "NoChange" },
            { "resourceId": format!("{RG}/providers/Microsoft.Network/routeTables/rt"), "changeType": "Modify", "delta": [
                { "path": "properties.disableBgpRoutePropagation", "propertyChangeType": "Modify", "before": false, "after": true },
                { "path": "tags.env", "propertyChangeType": "Create", "after": "lab" },
            ]},
        ]}});
        let out = listing(&doc);
        let expected = "\n  ~ Microsoft.Network/routeTables/rt\n    + tags.env:                              \"lab\"\n    ~ properties.disableBgpRoutePropagation: false => true\n\n  = Microsoft.Network/virtualNetworks/a\n  = Microsoft.Network/virtualNetworks/b\n\nResource changes: 1 to modify, 2 no change.\n";
        assert!(out.ends_with(expected), "{out}");
        assert!(out.contains("  + Create\n  ~ Modify\n  = Nochange\n"), "{out}");
    }
}
