//! ARM template deployments, as far as az's own templates need them: `az vm
//! create` deploys one (NSG, public IP, NIC, VM, and a VNet when it makes
//! one). The resources are put in `dependsOn` order as ONE batch of model
//! changes, so a deployment is applied whole or not at all.
//!
//! Expressions: `[parameters('x')]`, `[variables('x')]` and `[concat(…)]`
//! of string literals and those; anything else is refused with ARM's
//! `InvalidTemplate` rather than guessed.

use serde_json::{Map, Value};

use super::put;
use crate::model::{AzureError, Change, ErrorCode, Model, ResourceId};

fn invalid(message: String) -> AzureError {
    AzureError::new(ErrorCode::InvalidTemplate, message)
}

struct Scope<'a> {
    parameters: &'a Map<String, Value>,
    variables: &'a Map<String, Value>,
}

/// One template expression's value.
fn eval_expr(expr: &str, scope: &Scope) -> Result<Value, AzureError> {
    let expr = expr.trim();
    if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
        return Ok(Value::String(lit.replace("''", "'")));
    }
    let (func, args) = expr
        .split_once('(')
        .and_then(|(f, rest)| rest.strip_suffix(')').map(|a| (f.trim(), a)))
        .ok_or_else(|| {
            invalid(format!(
                "The template expression '{expr}' is not supported by vnetlab's deployments."
            ))
        })?;
    let args = split_args(args)
        .iter()
        .map(|a| eval_expr(a, scope))
        .collect::<Result<Vec<_>, _>>()?;
    let name = |i: usize| args.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
    match func.to_ascii_lowercase().as_str() {
        "parameters" => scope
            .parameters
            .get(&name(0))
            .map(|p| p.get("value").cloned().unwrap_or_else(|| p.clone()))
            .ok_or_else(|| invalid(format!("The template parameter '{}' is not found.", name(0)))),
        "variables" => scope
            .variables
            .get(&name(0))
            .cloned()
            .ok_or_else(|| invalid(format!("The template variable '{}' is not found.", name(0)))),
        "concat" => Ok(Value::String(
            args.iter()
                .map(|a| a.as_str().map(str::to_string).unwrap_or_else(|| a.to_string()))
                .collect(),
        )),
        other => Err(invalid(format!(
            "The template function '{other}' is not supported by vnetlab's deployments (it takes parameters, variables and concat)."
        ))),
    }
}

/// Top-level comma-separated arguments (commas inside quotes or parentheses stay).
fn split_args(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Every string of `v` that is a `[...]` expression, evaluated.
fn eval(v: &Value, scope: &Scope) -> Result<Value, AzureError> {
    Ok(match v {
        Value::String(s) if s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[") => {
            eval_expr(&s[1..s.len() - 1], scope)?
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| eval(x, scope)).collect::<Result<_, _>>()?),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), eval(x, scope)?)))
                .collect::<Result<_, AzureError>>()?,
        ),
        other => other.clone(),
    })
}

/// The model changes of a deployment into resource group `group`, and
/// the IDs of the resources it puts, in order.
pub fn changes(
    m: &Model,
    group: &ResourceId,
    body: &Value,
    principal: Option<&str>,
) -> Result<(Vec<Change>, Vec<ResourceId>), AzureError> {
    let props = body.get("properties").unwrap_or(&Value::Null);
    let template = props
        .get("template")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("The deployment has no properties.template (templateLink is not supported).".into()))?;
    let empty = Map::new();
    let parameters = props.get("parameters").and_then(Value::as_object).unwrap_or(&empty);
    let variables = template.get("variables").and_then(Value::as_object).unwrap_or(&empty);
    let scope = Scope { parameters, variables };
    let resources = template
        .get("resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut pending: Vec<(ResourceId, Value, Vec<String>)> = Vec::new();
    for r in &resources {
        if r.get("copy").is_some() || r.get("condition").is_some() {
            return Err(invalid(
                "vnetlab's deployments do not take copy loops or conditions (az vm create --count).".into(),
            ));
        }
        let r = eval(r, &scope)?;
        let typ = r.get("type").and_then(Value::as_str).unwrap_or_default();
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        let (provider, kind) = typ.split_once('/').ok_or_else(|| {
            invalid(format!(
                "Resource type '{typ}' in the template is not ProviderNamespace/type."
            ))
        })?;
        let mut id = ResourceId::resource(group.subscription_id(), group.resource_group_name(), provider, "", "");
        // `a/b` names a child of type `kind/child` (e.g. virtualNetworks/subnets).
        let kinds: Vec<&str> = kind.split('/').collect();
        let names: Vec<&str> = name.split('/').collect();
        if kinds.len() != names.len() || name.is_empty() {
            return Err(invalid(format!(
                "The resource name '{name}' does not match its type '{typ}' in the template."
            )));
        }
        let mut path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{provider}",
            group.subscription_id(),
            group.resource_group_name()
        );
        for (k, n) in kinds.iter().zip(&names) {
            path.push_str(&format!("/{k}/{n}"));
        }
        if let Some(parsed) = ResourceId::parse(&path) {
            id = parsed;
        }
        let depends: Vec<String> = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        pending.push((id, r, depends));
    }
    // dependsOn order: a resource after those it names (by ID, or by
    // `type/name` as az writes them).
    let mut order: Vec<(ResourceId, Value)> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|(_, _, deps)| {
            deps.iter().all(|d| {
                !pending.iter().any(|(id, r, _)| {
                    let short = format!(
                        "{}/{}",
                        r.get("type").and_then(Value::as_str).unwrap_or_default(),
                        r.get("name").and_then(Value::as_str).unwrap_or_default()
                    )
                    .to_ascii_lowercase();
                    d == &id.as_str().to_ascii_lowercase() || d.ends_with(&short)
                })
            })
        });
        let Some(i) = ready else {
            return Err(invalid("The template's dependsOn form a cycle.".into()));
        };
        let (id, r, _) = pending.remove(i);
        order.push((id, r));
    }
    let mut out = Vec::new();
    let mut ids = Vec::new();
    // Later resources see the earlier ones: validate against a working copy.
    let mut working = m.clone();
    for (id, r) in order {
        let c = put::changes(&working, &id, &r, principal)?;
        working.apply_all(c.clone()).map_err(|(_, e)| e)?;
        out.extend(c);
        ids.push(id);
    }
    Ok((out, ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expressions_of_az_templates() {
        let params = json!({ "adminPassword": { "value": "p'w" } });
        let vars = json!({ "v": "x" });
        let scope = Scope {
            parameters: params.as_object().expect("object"),
            variables: vars.as_object().expect("object"),
        };
        let e = |s: &str| eval(&json!(s), &scope);
        assert_eq!(e("[parameters('adminPassword')]").ok(), Some(json!("p'w")));
        assert_eq!(e("[concat('a', variables('v'), 'b')]").ok(), Some(json!("axb")));
        assert_eq!(e("plain").ok(), Some(json!("plain")));
        assert!(e("[reference('x').id]").is_err());
        assert!(e("[parameters('missing')]").is_err());
    }
}
