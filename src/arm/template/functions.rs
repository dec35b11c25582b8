//! ARM's built-in template functions whose arguments are all evaluated
//! first (the lazy ones — `if`, `and`, lambdas, `parameters`… — are in
//! `eval.rs`).
// Azure: template functions reference
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions).

use std::net::Ipv4Addr;

use base64::Engine;
use ipnet::Ipv4Net;
use serde_json::{Map, Value, json};

use super::eval::Ctx;
use super::hash;

type R = Result<Value, String>;

/// How ARM names a value's type in its messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// `string()`'s rendering: strings as they are, everything else as JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn arity(name: &str, a: &[Value], min: usize, max: usize) -> Result<(), String> {
    if a.len() < min || a.len() > max {
        let want = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "The template function '{name}' takes {want} arguments, {} given.",
            a.len()
        ));
    }
    Ok(())
}

fn s<'v>(name: &str, a: &'v [Value], i: usize) -> Result<&'v str, String> {
    a[i].as_str().ok_or_else(|| {
        format!(
            "The template function '{name}' expects a String as argument {}, not {}.",
            i + 1,
            kind(&a[i])
        )
    })
}

fn int(name: &str, a: &[Value], i: usize) -> Result<i64, String> {
    a[i].as_i64().ok_or_else(|| {
        format!(
            "The template function '{name}' expects an Integer as argument {}, not {}.",
            i + 1,
            kind(&a[i])
        )
    })
}

fn arr<'v>(name: &str, a: &'v [Value], i: usize) -> Result<&'v Vec<Value>, String> {
    a[i].as_array().ok_or_else(|| {
        format!(
            "The template function '{name}' expects an Array as argument {}, not {}.",
            i + 1,
            kind(&a[i])
        )
    })
}

/// Loose equality as `equals` has it: strings case-sensitively, numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn compare(name: &str, a: &[Value]) -> Result<std::cmp::Ordering, String> {
    arity(name, a, 2, 2)?;
    match (&a[0], &a[1]) {
        (Value::Number(x), Value::Number(y)) => {
            Ok(x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal))
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (x, y) => Err(format!(
            "The template function '{name}' compares two Integers or two Strings, not {} and {}.",
            kind(x),
            kind(y)
        )),
    }
}

fn net(name: &str, a: &[Value], i: usize) -> Result<Ipv4Net, String> {
    let t = s(name, a, i)?;
    t.parse::<Ipv4Net>()
        .map(|n| n.trunc())
        .map_err(|_| format!("The template function '{name}' expects an IPv4 CIDR such as '10.0.0.0/16', not '{t}'."))
}

/// `resourceId`-style paths: `type` is `Namespace/t1/t2`, names fill each level.
fn typed_path(name: &str, typ: &str, names: &[Value]) -> Result<String, String> {
    let mut parts = typ.split('/');
    let ns = parts.next().unwrap_or_default();
    let kinds: Vec<&str> = parts.collect();
    if kinds.len() != names.len() || kinds.is_empty() {
        return Err(format!(
            "The template function '{name}' was given {} names for the type '{typ}', which needs {}.",
            names.len(),
            kinds.len()
        ));
    }
    let mut out = format!("providers/{ns}");
    for (k, n) in kinds.iter().zip(names) {
        out.push_str(&format!("/{k}/{}", to_text(n)));
    }
    Ok(out)
}

fn type_position(a: &[Value]) -> Option<usize> {
    a.iter()
        .position(|v| v.as_str().is_some_and(|x| x.contains('/') && !x.starts_with('/')))
}

pub fn call(lower: &str, name: &str, a: &[Value], ctx: &Ctx) -> R {
    let env = ctx.env;
    match lower {
        // Strings.
        "concat" => {
            arity(name, a, 1, usize::MAX)?;
            if a.iter().all(Value::is_array) {
                Ok(Value::Array(
                    a.iter()
                        .flat_map(|x| x.as_array().cloned().unwrap_or_default())
                        .collect(),
                ))
            } else {
                Ok(Value::String(a.iter().map(to_text).collect()))
            }
        }
        "format" => {
            arity(name, a, 1, usize::MAX)?;
            let f = s(name, a, 0)?;
            let mut out = String::new();
            let mut rest = f;
            while let Some(open) = rest.find('{') {
                out.push_str(&rest[..open]);
                if rest[open..].starts_with("{{") {
                    out.push('{');
                    rest = &rest[open + 2..];
                    continue;
                }
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("The format string '{f}' has an unclosed '{{'."))?;
                let spec = &rest[open + 1..open + close];
                let index: usize = spec
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .map_err(|_| format!("The format item '{{{spec}}}' in '{f}' is not an index."))?;
                let v = a
                    .get(index + 1)
                    .ok_or_else(|| format!("The format item '{{{index}}}' in '{f}' has no argument."))?;
                out.push_str(&to_text(v));
                rest = &rest[open + close + 1..];
            }
            out.push_str(&rest.replace("}}", "}"));
            Ok(Value::String(out))
        }
        "tolower" => {
            arity(name, a, 1, 1)?;
            Ok(Value::String(s(name, a, 0)?.to_lowercase()))
        }
        "toupper" => {
            arity(name, a, 1, 1)?;
            Ok(Value::String(s(name, a, 0)?.to_uppercase()))
        }
        "trim" => {
            arity(name, a, 1, 1)?;
            Ok(Value::String(s(name, a, 0)?.trim().to_string()))
        }
        "replace" => {
            arity(name, a, 3, 3)?;
            Ok(Value::String(s(name, a, 0)?.replace(s(name, a, 1)?, s(name, a, 2)?)))
        }
        "split" => {
            arity(name, a, 2, 2)?;
            let text = s(name, a, 0)?;
            let delims: Vec<String> = match &a[1] {
                Value::Array(d) => d.iter().map(to_text).collect(),
                other => vec![to_text(other)],
            };
            let mut parts = vec![text.to_string()];
            for d in delims.iter().filter(|d| !d.is_empty()) {
                parts = parts
                    .iter()
                    .flat_map(|p| p.split(d.as_str()).map(str::to_string).collect::<Vec<_>>())
                    .collect();
            }
            Ok(json!(parts))
        }
        "substring" => {
            arity(name, a, 1, 3)?;
            let chars: Vec<char> = s(name, a, 0)?.chars().collect();
            let start = if a.len() > 1 { int(name, a, 1)? } else { 0 };
            let len = if a.len() > 2 {
                int(name, a, 2)?
            } else {
                chars.len() as i64 - start
            };
            if start < 0 || len < 0 || (start + len) as usize > chars.len() {
                return Err(format!(
                    "The index and length of 'substring' ({start}, {len}) must refer to a location within the string of length {}.",
                    chars.len()
                ));
            }
            Ok(Value::String(
                chars[start as usize..(start + len) as usize].iter().collect(),
            ))
        }
        "padleft" => {
            arity(name, a, 2, 3)?;
            let text = to_text(&a[0]);
            let width = int(name, a, 1)? as usize;
            let pad = if a.len() > 2 {
                s(name, a, 2)?.chars().next().unwrap_or(' ')
            } else {
                ' '
            };
            let n = width.saturating_sub(text.chars().count());
            Ok(Value::String(std::iter::repeat_n(pad, n).chain(text.chars()).collect()))
        }
        "startswith" => {
            arity(name, a, 2, 2)?;
            Ok(Value::Bool(
                s(name, a, 0)?
                    .to_lowercase()
                    .starts_with(&s(name, a, 1)?.to_lowercase()),
            ))
        }
        "endswith" => {
            arity(name, a, 2, 2)?;
            Ok(Value::Bool(
                s(name, a, 0)?.to_lowercase().ends_with(&s(name, a, 1)?.to_lowercase()),
            ))
        }
        "indexof" | "lastindexof" => {
            arity(name, a, 2, 2)?;
            let found = match &a[0] {
                Value::Array(items) => {
                    let mut hits = items
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| same(x, &a[1]))
                        .map(|(i, _)| i as i64);
                    if lower == "indexof" {
                        hits.next()
                    } else {
                        hits.next_back()
                    }
                }
                _ => {
                    let (hay, needle) = (s(name, a, 0)?.to_lowercase(), s(name, a, 1)?.to_lowercase());
                    let at = if lower == "indexof" {
                        hay.find(&needle)
                    } else {
                        hay.rfind(&needle)
                    };
                    at.map(|b| hay[..b].chars().count() as i64)
                }
            };
            Ok(Value::from(found.unwrap_or(-1)))
        }
        "string" => {
            arity(name, a, 1, 1)?;
            Ok(Value::String(to_text(&a[0])))
        }
        "base64" => {
            arity(name, a, 1, 1)?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s(name, a, 0)?),
            ))
        }
        "base64tostring" => {
            arity(name, a, 1, 1)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s(name, a, 0)?)
                .map_err(|e| format!("The template function 'base64ToString' got invalid base64: {e}."))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        "uniquestring" | "guid" => {
            arity(name, a, 1, usize::MAX)?;
            let parts = (0..a.len()).map(|i| s(name, a, i)).collect::<Result<Vec<_>, _>>()?;
            Ok(Value::String(if lower == "guid" {
                hash::guid(&parts)
            } else {
                hash::unique_string(&parts)
            }))
        }
        "join" => {
            arity(name, a, 2, 2)?;
            Ok(Value::String(
                arr(name, a, 0)?
                    .iter()
                    .map(to_text)
                    .collect::<Vec<_>>()
                    .join(s(name, a, 1)?),
            ))
        }
        // Logic and comparison.
        "equals" => {
            arity(name, a, 2, 2)?;
            Ok(Value::Bool(same(&a[0], &a[1])))
        }
        "not" => {
            arity(name, a, 1, 1)?;
            a[0].as_bool()
                .map(|b| Value::Bool(!b))
                .ok_or_else(|| format!("The template function 'not' expects a Boolean, not {}.", kind(&a[0])))
        }
        "less" => Ok(Value::Bool(compare(name, a)?.is_lt())),
        "lessorequals" => Ok(Value::Bool(compare(name, a)?.is_le())),
        "greater" => Ok(Value::Bool(compare(name, a)?.is_gt())),
        "greaterorequals" => Ok(Value::Bool(compare(name, a)?.is_ge())),
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "bool" => {
            arity(name, a, 1, 1)?;
            match &a[0] {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::String(t) if t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
                Value::String(t) if t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
                Value::Number(n) => Ok(Value::Bool(n.as_f64() != Some(0.0))),
                other => Err(format!(
                    "The template function 'bool' can't convert {} '{other}'.",
                    kind(other)
                )),
            }
        }
        "empty" => {
            arity(name, a, 1, 1)?;
            Ok(Value::Bool(match &a[0] {
                Value::Null => true,
                Value::String(t) => t.is_empty(),
                Value::Array(x) => x.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            }))
        }
        "contains" => {
            arity(name, a, 2, 2)?;
            Ok(Value::Bool(match &a[0] {
                Value::String(t) => t.contains(&to_text(&a[1])),
                Value::Array(x) => x.iter().any(|v| same(v, &a[1])),
                Value::Object(o) => o.keys().any(|k| k.eq_ignore_ascii_case(&to_text(&a[1]))),
                other => {
                    return Err(format!(
                        "The template function 'contains' looks in a String, Array or Object, not {}.",
                        kind(other)
                    ));
                }
            }))
        }
        // Arrays and objects.
        "length" => {
            arity(name, a, 1, 1)?;
            Ok(Value::from(match &a[0] {
                Value::String(t) => t.chars().count(),
                Value::Array(x) => x.len(),
                Value::Object(o) => o.len(),
                other => {
                    return Err(format!(
                        "The template function 'length' measures a String, Array or Object, not {}.",
                        kind(other)
                    ));
                }
            }))
        }
        "createarray" => Ok(Value::Array(a.to_vec())),
        "array" => {
            arity(name, a, 1, 1)?;
            Ok(match &a[0] {
                Value::Array(_) => a[0].clone(),
                other => json!([other]),
            })
        }
        "createobject" => {
            if !a.len().is_multiple_of(2) {
                return Err(
                    "The template function 'createObject' takes key/value pairs: an even number of arguments.".into(),
                );
            }
            let mut o = Map::new();
            for p in a.chunks(2) {
                o.insert(to_text(&p[0]), p[1].clone());
            }
            Ok(Value::Object(o))
        }
        "union" => {
            arity(name, a, 1, usize::MAX)?;
            if a.iter().all(Value::is_object) {
                let mut o = Map::new();
                for x in a.iter().filter_map(Value::as_object) {
                    for (k, v) in x {
                        o.insert(k.clone(), v.clone());
                    }
                }
                Ok(Value::Object(o))
            } else {
                let mut out: Vec<Value> = Vec::new();
                for i in 0..a.len() {
                    for v in arr(name, a, i)? {
                        if !out.iter().any(|x| same(x, v)) {
                            out.push(v.clone());
                        }
                    }
                }
                Ok(Value::Array(out))
            }
        }
        "intersection" => {
            arity(name, a, 2, usize::MAX)?;
            if a.iter().all(Value::is_object) {
                let first = a[0].as_object().cloned().unwrap_or_default();
                Ok(Value::Object(
                    first
                        .into_iter()
                        .filter(|(k, v)| a[1..].iter().all(|o| o.get(k) == Some(v)))
                        .collect(),
                ))
            } else {
                let rest: Vec<&Vec<Value>> = (1..a.len()).map(|i| arr(name, a, i)).collect::<Result<_, _>>()?;
                let mut out: Vec<Value> = Vec::new();
                for v in arr(name, a, 0)? {
                    if rest.iter().all(|r| r.iter().any(|x| same(x, v))) && !out.iter().any(|x| same(x, v)) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
        }
        "first" | "last" => {
            arity(name, a, 1, 1)?;
            match &a[0] {
                Value::Array(x) => Ok((if lower == "first" { x.first() } else { x.last() })
                    .cloned()
                    .unwrap_or(Value::Null)),
                Value::String(t) => Ok(Value::String(
                    (if lower == "first" {
                        t.chars().next()
                    } else {
                        t.chars().last()
                    })
                    .map(String::from)
                    .unwrap_or_default(),
                )),
                other => Err(format!(
                    "The template function '{name}' takes an Array or String, not {}.",
                    kind(other)
                )),
            }
        }
        "take" | "skip" => {
            arity(name, a, 2, 2)?;
            let n = int(name, a, 1)?.max(0) as usize;
            match &a[0] {
                Value::Array(x) => Ok(Value::Array(if lower == "take" {
                    x.iter().take(n).cloned().collect()
                } else {
                    x.iter().skip(n).cloned().collect()
                })),
                Value::String(t) => Ok(Value::String(if lower == "take" {
                    t.chars().take(n).collect()
                } else {
                    t.chars().skip(n).collect()
                })),
                other => Err(format!(
                    "The template function '{name}' takes an Array or String, not {}.",
                    kind(other)
                )),
            }
        }
        "range" => {
            arity(name, a, 2, 2)?;
            let (start, count) = (int(name, a, 0)?, int(name, a, 1)?);
            // Azure: range's count is at most 10000 and not negative (template-functions-array#range).
            if !(0..=10000).contains(&count) {
                return Err(format!(
                    "The template function 'range' count '{count}' must be from 0 to 10000."
                ));
            }
            Ok(Value::Array((start..start + count).map(Value::from).collect()))
        }
        "json" => {
            arity(name, a, 1, 1)?;
            serde_json::from_str(s(name, a, 0)?)
                .map_err(|e| format!("The template function 'json' got text that is not JSON: {e}."))
        }
        "null" => Ok(Value::Null),
        "items" => {
            arity(name, a, 1, 1)?;
            let o = a[0]
                .as_object()
                .ok_or_else(|| format!("The template function 'items' takes an Object, not {}.", kind(&a[0])))?;
            let mut pairs: Vec<(&String, &Value)> = o.iter().collect();
            // Azure: items() returns the entries sorted by key (template-functions-object#items).
            pairs.sort_by_key(|(k, _)| k.to_ascii_lowercase());
            Ok(Value::Array(
                pairs
                    .into_iter()
                    .map(|(k, v)| json!({ "key": k, "value": v }))
                    .collect(),
            ))
        }
        "objectkeys" => {
            arity(name, a, 1, 1)?;
            Ok(json!(
                a[0].as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
            ))
        }
        "min" | "max" => {
            let nums: Vec<i64> = match a {
                [Value::Array(x)] => x.iter().filter_map(Value::as_i64).collect(),
                _ => a.iter().filter_map(Value::as_i64).collect(),
            };
            let v = if lower == "min" {
                nums.iter().min()
            } else {
                nums.iter().max()
            };
            v.map(|n| Value::from(*n))
                .ok_or_else(|| format!("The template function '{name}' needs at least one Integer."))
        }
        // Numbers.
        "add" | "sub" | "mul" | "div" | "mod" => {
            arity(name, a, 2, 2)?;
            let (x, y) = (int(name, a, 0)?, int(name, a, 1)?);
            if (lower == "div" || lower == "mod") && y == 0 {
                return Err(format!("The template function '{name}' can't divide by zero."));
            }
            Ok(Value::from(match lower {
                "add" => x.wrapping_add(y),
                "sub" => x.wrapping_sub(y),
                "mul" => x.wrapping_mul(y),
                "div" => x / y,
                _ => x % y,
            }))
        }
        "int" => {
            arity(name, a, 1, 1)?;
            match &a[0] {
                Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or(0.0) as i64)),
                Value::String(t) => t
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("The template function 'int' can't convert '{t}' to an Integer.")),
                other => Err(format!("The template function 'int' can't convert {}.", kind(other))),
            }
        }
        // Scope.
        "resourcegroup" => {
            let (rg, location) = env
                .group
                .clone()
                .ok_or("The template function 'resourceGroup' is not expected at subscription scope.")?;
            Ok(json!({
                "id": format!("/subscriptions/{}/resourceGroups/{rg}", env.subscription_id),
                "name": rg, "type": "Microsoft.Resources/resourceGroups", "location": location,
                "properties": { "provisioningState": "Succeeded" },
            }))
        }
        "subscription" => Ok(json!({
            "id": format!("/subscriptions/{}", env.subscription_id),
            "subscriptionId": env.subscription_id, "tenantId": env.tenant_id, "displayName": "vnetlab",
        })),
        "tenant" => Ok(json!({ "tenantId": env.tenant_id, "id": format!("/tenants/{}", env.tenant_id) })),
        "deployment" => Ok(env.deployment.clone()),
        // Azure: environment() of the public cloud (template-functions-deployment#environment).
        "environment" => Ok(json!({
            "name": "AzureCloud",
            "gallery": "https://gallery.azure.com/",
            "graph": "https://graph.windows.net/",
            "portal": "https://portal.azure.com",
            "resourceManager": "https://management.azure.com/",
            "authentication": { "loginEndpoint": "https://login.microsoftonline.com/", "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"], "tenant": "common", "identityProvider": "AAD" },
            "suffixes": { "acrLoginServer": ".azurecr.io", "keyvaultDns": ".vault.azure.net", "storage": "core.windows.net", "sqlServerHostname": ".database.windows.net" },
        })),
        // Resource IDs.
        "resourceid" => {
            let t = type_position(a).ok_or_else(|| {
                format!(
                    "The template function '{name}' needs a resource type such as 'Microsoft.Network/virtualNetworks'."
                )
            })?;
            let (sub, rg) = match t {
                0 => (env.subscription_id.clone(), env.group.clone().map(|g| g.0)),
                1 => (env.subscription_id.clone(), Some(s(name, a, 0)?.to_string())),
                2 => (s(name, a, 0)?.to_string(), Some(s(name, a, 1)?.to_string())),
                _ => {
                    return Err(format!(
                        "The template function '{name}' takes at most a subscription and a resource group before the type."
                    ));
                }
            };
            let path = typed_path(name, s(name, a, t)?, &a[t + 1..])?;
            Ok(Value::String(match rg {
                Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}/{path}"),
                None => format!("/subscriptions/{sub}/{path}"),
            }))
        }
        "subscriptionresourceid" => {
            let t = type_position(a).ok_or_else(|| format!("The template function '{name}' needs a resource type."))?;
            let sub = if t == 1 {
                s(name, a, 0)?.to_string()
            } else {
                env.subscription_id.clone()
            };
            Ok(Value::String(format!(
                "/subscriptions/{sub}/{}",
                typed_path(name, s(name, a, t)?, &a[t + 1..])?
            )))
        }
        "tenantresourceid" => {
            arity(name, a, 2, usize::MAX)?;
            Ok(Value::String(format!(
                "/{}",
                typed_path(name, s(name, a, 0)?, &a[1..])?
            )))
        }
        "extensionresourceid" => {
            arity(name, a, 3, usize::MAX)?;
            Ok(Value::String(format!(
                "{}/{}",
                s(name, a, 0)?.trim_end_matches('/'),
                typed_path(name, s(name, a, 1)?, &a[2..])?
            )))
        }
        // CIDR.
        // Azure: parseCidr, cidrSubnet, cidrHost (template-functions-cidr).
        "parsecidr" => {
            arity(name, a, 1, 1)?;
            let n = net(name, a, 0)?;
            let (first, last) = match n.prefix_len() {
                32 => (n.network(), n.network()),
                31 => (n.network(), n.broadcast()),
                _ => (
                    Ipv4Addr::from(u32::from(n.network()) + 1),
                    Ipv4Addr::from(u32::from(n.broadcast()) - 1),
                ),
            };
            Ok(json!({
                "network": n.network().to_string(), "netmask": n.netmask().to_string(), "broadcast": n.broadcast().to_string(),
                "firstUsable": first.to_string(), "lastUsable": last.to_string(), "cidr": n.prefix_len(),
            }))
        }
        "cidrsubnet" => {
            arity(name, a, 3, 3)?;
            let n = net(name, a, 0)?;
            let (len, index) = (int(name, a, 1)?, int(name, a, 2)?);
            if !(i64::from(n.prefix_len())..=32).contains(&len) {
                return Err(format!(
                    "The template function 'cidrSubnet' new CIDR '{len}' must be from {} to 32.",
                    n.prefix_len()
                ));
            }
            let sub = n
                .subnets(len as u8)
                .ok()
                .and_then(|mut s| usize::try_from(index).ok().and_then(|i| s.nth(i)));
            sub.map(|s| Value::String(s.to_string())).ok_or_else(|| {
                format!("The template function 'cidrSubnet' index '{index}' is outside {n} split into /{len}.")
            })
        }
        "cidrhost" => {
            arity(name, a, 2, 2)?;
            let n = net(name, a, 0)?;
            let index = int(name, a, 1)?;
            // Host 0 is the first address after the network address.
            let host = u64::from(u32::from(n.network())) + 1 + index.max(0) as u64;
            if index < 0 || host > u64::from(u32::from(n.broadcast())) {
                return Err(format!(
                    "The template function 'cidrHost' index '{index}' is outside {n}."
                ));
            }
            Ok(Value::String(Ipv4Addr::from(host as u32).to_string()))
        }
        _ => Err(format!(
            "The template function '{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval::{Ctx, Env};
    use crate::model::Model;
    use serde_json::json;

    fn eval(e: &str) -> Result<serde_json::Value, String> {
        let env = Env {
            subscription_id: "sub1".into(),
            group: Some(("rg1".into(), "westeurope".into())),
            ..Env::default()
        };
        let model = Model::default();
        Ctx::new(&env, &model).text(&format!("[{e}]"))
    }

    #[test]
    fn strings() {
        assert_eq!(eval("format('{0}-{1}', 'a', 2)"), Ok(json!("a-2")));
        assert_eq!(eval("toUpper(substring('vnetlab', 1, 3))"), Ok(json!("NET")));
        assert_eq!(
            eval("split('a,b;c', createArray(',', ';'))"),
            Ok(json!(["a", "b", "c"]))
        );
        assert_eq!(eval("padLeft(7, 3, '0')"), Ok(json!("007")));
        assert_eq!(eval("indexOf('abcd', 'CD')"), Ok(json!(2)));
        assert_eq!(eval("string(createObject('a', 1))"), Ok(json!("{\"a\":1}")));
        assert_eq!(eval("base64ToString(base64('hi'))"), Ok(json!("hi")));
        assert!(eval("substring('abc', 2, 5)").is_err());
        assert!(eval("nosuchfunction()").expect_err("unknown").contains("is not valid"));
    }

    #[test]
    fn logic_arrays_objects_numbers() {
        assert_eq!(
            eval("and(equals(1, 1), not(less(2, 1)), greater('b', 'a'))"),
            Ok(json!(true))
        );
        assert_eq!(
            eval("union(createArray(1, 2), createArray(2, 3))"),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(
            eval("union(json('{\"a\":1}'), createObject('b', 2))"),
            Ok(json!({ "a": 1, "b": 2 }))
        );
        assert_eq!(
            eval("intersection(createArray(1, 2, 3), createArray(3, 2))"),
            Ok(json!([2, 3]))
        );
        assert_eq!(eval("take(skip(range(0, 10), 2), 3)"), Ok(json!([2, 3, 4])));
        assert_eq!(eval("items(createObject('b', 2, 'a', 1))[0].key"), Ok(json!("a")));
        assert_eq!(eval("coalesce(null(), json('null'), 'x')"), Ok(json!("x")));
        assert_eq!(eval("contains(createArray('a'), 'a')"), Ok(json!(true)));
        assert_eq!(eval("empty(createObject())"), Ok(json!(true)));
        assert_eq!(eval("add(mul(3, 4), div(mod(7, 4), 1))"), Ok(json!(15)));
        assert!(eval("div(1, 0)").is_err());
        assert!(eval("range(0, -1)").is_err());
    }

    #[test]
    fn scope_and_ids() {
        assert_eq!(eval("resourceGroup().location"), Ok(json!("westeurope")));
        assert_eq!(
            eval("resourceId('Microsoft.Network/virtualNetworks/subnets', 'hub', 'default')"),
            Ok(json!(
                "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/hub/subnets/default"
            ))
        );
        assert_eq!(
            eval("resourceId('other', 'Microsoft.Network/virtualNetworks', 'v')"),
            Ok(json!(
                "/subscriptions/sub1/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/v"
            ))
        );
        assert_eq!(
            eval("subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg2')"),
            Ok(json!(
                "/subscriptions/sub1/providers/Microsoft.Resources/resourceGroups/rg2"
            ))
        );
        assert_eq!(
            eval("extensionResourceId('/x/y', 'Microsoft.Authorization/locks', 'l')"),
            Ok(json!("/x/y/providers/Microsoft.Authorization/locks/l"))
        );
        assert!(eval("resourceId('Microsoft.Network/virtualNetworks/subnets', 'hub')").is_err());
        assert_eq!(eval("environment().name"), Ok(json!("AzureCloud")));
    }

    #[test]
    fn cidr() {
        // Azure: the examples of template-functions-cidr.
        assert_eq!(
            eval("parseCidr('10.144.0.0/20')"),
            Ok(
                json!({ "network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255", "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20 })
            )
        );
        assert_eq!(eval("cidrSubnet('10.144.0.0/20', 24, 2)"), Ok(json!("10.144.2.0/24")));
        assert_eq!(eval("cidrHost('10.144.3.0/24', 0)"), Ok(json!("10.144.3.1")));
        assert!(eval("cidrSubnet('10.144.0.0/20', 16, 0)").is_err());
        assert!(eval("cidrHost('10.0.0.0/30', 3)").is_err());
    }
}
