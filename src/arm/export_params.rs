//! The names and references of an exported template, parameterised as
//! ARM's export does: a `<type>_<name>_name` parameter per resource of the
//! group (its name the default), `resourceId(…)` for every reference into
//! the group, a `<type>_<name>_externalid` parameter for every reference
//! out of it. The template then deploys into a group of another name too.
// Azure: "The exported template … parameters for the resource names";
// references to resources outside the group become `…_externalid`
// parameters (learn.microsoft.com/azure/azure-resource-manager/templates/export-template-portal,
// and the shape of `az group export` output).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// A resource of the group: its parameter and its type's spelling.
struct Local {
    parameter: String,
    resource_type: String,
}

/// One segment pair of an ID's provider path: `virtualNetworks`, `hub`.
type Segment<'a> = (&'a str, &'a str);

/// ARM's parameter name for resource `name` of type `kind` (the last type
/// segment): `virtualNetworks_hub_vnet_name` for `hub-vnet`.
fn parameter_name(kind: &str, name: &str, suffix: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    format!("{kind}_{clean}_{suffix}")
}

/// A resource ID taken apart: its group, its provider namespace, its
/// type/name pairs, and the ID of its top-level resource.
struct Parts<'a> {
    group: &'a str,
    namespace: &'a str,
    segments: Vec<Segment<'a>>,
    top: String,
}

fn split(id: &str) -> Option<Parts<'_>> {
    let parts: Vec<&str> = id.split('/').collect();
    let p = parts.iter().position(|s| s.eq_ignore_ascii_case("providers"))?;
    let rg = parts.iter().position(|s| s.eq_ignore_ascii_case("resourcegroups"))?;
    let rest = &parts[p + 2..];
    let ok =
        id.starts_with('/') && !rest.is_empty() && rest.len().is_multiple_of(2) && rest.iter().all(|s| !s.is_empty());
    let group = *parts.get(rg + 1).filter(|_| rg < p)?;
    ok.then(|| Parts {
        group,
        namespace: parts[p + 1],
        segments: rest.chunks(2).map(|c| (c[0], c[1])).collect(),
        top: parts[..p + 4].join("/"),
    })
}

/// A single-quoted ARM string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

struct Rewriter<'a> {
    group: &'a str,
    locals: BTreeMap<String, Local>,
    /// The template's own spelling of each type, by its lower case.
    spellings: BTreeMap<String, String>,
    externals: BTreeMap<String, Value>,
}

impl Rewriter<'_> {
    /// The expression that stands for resource ID `id`, or None if `id` is
    /// not a resource ID.
    fn expression(&mut self, id: &str) -> Option<String> {
        let Parts {
            group,
            namespace,
            segments,
            top,
        } = split(id)?;
        let (kind, name) = segments[0];
        let key = format!("{namespace}/{kind}/{name}").to_ascii_lowercase();
        if let Some(local) = self.locals.get(&key).filter(|_| group.eq_ignore_ascii_case(self.group)) {
            let mut resource_type = local.resource_type.clone();
            let mut args = vec![format!("parameters('{}')", local.parameter)];
            for (kind, name) in &segments[1..] {
                resource_type.push('/');
                resource_type.push_str(kind);
                args.push(quoted(name));
            }
            let resource_type = self
                .spellings
                .get(&resource_type.to_ascii_lowercase())
                .cloned()
                .unwrap_or(resource_type);
            return Some(format!("[resourceId({}, {})]", quoted(&resource_type), args.join(", ")));
        }
        let parameter = parameter_name(kind, name, "externalid");
        let child = id[top.len()..].to_string();
        self.externals
            .entry(parameter.clone())
            .or_insert_with(|| json!({ "type": "String", "defaultValue": top }));
        Some(if child.is_empty() {
            format!("[parameters('{parameter}')]")
        } else {
            format!("[concat(parameters('{parameter}'), {})]", quoted(&child))
        })
    }

    /// Every string in `v` that is a resource ID, rewritten.
    fn rewrite(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(e) = self.expression(s) {
                    *s = e;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.rewrite(x)),
            _ => {}
        }
    }
}

/// `template` (an export of group `group` with literal names and IDs)
/// with its names and references parameterised.
pub fn parameterise(mut template: Value, group: &str) -> Value {
    let mut resources = template
        .get_mut("resources")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    // First the group's own resources: every top-level one gets its name parameter.
    let spellings = resources
        .iter()
        .filter_map(|r| r["type"].as_str())
        .map(|t| (t.to_ascii_lowercase(), t.to_string()))
        .collect();
    let mut rewriter = Rewriter {
        group,
        locals: BTreeMap::new(),
        spellings,
        externals: BTreeMap::new(),
    };
    let mut names = Map::new();
    for r in &resources {
        let (Some(typ), Some(name)) = (r["type"].as_str(), r["name"].as_str()) else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        let (namespace, kind) = typ.split_once('/').unwrap_or((typ, typ));
        let parameter = parameter_name(kind, name, "name");
        names.insert(parameter.clone(), json!({ "type": "String", "defaultValue": name }));
        rewriter.locals.insert(
            format!("{namespace}/{kind}/{name}").to_ascii_lowercase(),
            Local {
                parameter,
                resource_type: typ.to_string(),
            },
        );
    }
    for r in &mut resources {
        let Value::Object(body) = r else { continue };
        for (key, value) in body.iter_mut() {
            if !matches!(key.as_str(), "type" | "apiVersion" | "name") {
                rewriter.rewrite(value);
            }
        }
        let (Some(typ), Some(name)) = (body["type"].as_str(), body["name"].as_str()) else {
            continue;
        };
        let (typ, name) = (typ.to_string(), name.to_string());
        let (namespace, kind) = typ.split_once('/').unwrap_or((&typ, &typ));
        let top_kind = kind.split('/').next().unwrap_or(kind);
        let (top, child) = name
            .split_once('/')
            .map_or((name.as_str(), None), |(t, c)| (t, Some(c)));
        let key = format!("{namespace}/{top_kind}/{top}").to_ascii_lowercase();
        if let Some(local) = rewriter.locals.get(&key) {
            let expression = match child {
                None => format!("[parameters('{}')]", local.parameter),
                Some(c) => format!(
                    "[concat(parameters('{}'), {})]",
                    local.parameter,
                    quoted(&format!("/{c}"))
                ),
            };
            body.insert("name".into(), expression.into());
        }
    }
    // Azure's export lists the parameters by name, secure ones with them.
    let mut parameters: BTreeMap<String, Value> = rewriter.externals.into_iter().collect();
    parameters.extend(names);
    if let Some(Value::Object(existing)) = template.get("parameters") {
        parameters.extend(existing.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    template["parameters"] = Value::Object(parameters.into_iter().collect());
    template["resources"] = Value::Array(resources);
    template
}

/// A resource's name in `template` with its parameters' defaults filled
/// in: `hub/Default` for `[concat(parameters('virtualHubs_hub_name'), '/Default')]`.
#[cfg(test)]
pub(super) fn literal_name(template: &Value, name: &str) -> String {
    let default = |p: &str| {
        template["parameters"][p]["defaultValue"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    if let Some(p) = name.strip_prefix("[parameters('").and_then(|r| r.strip_suffix("')]")) {
        return default(p);
    }
    if let Some((p, child)) = name
        .strip_prefix("[concat(parameters('")
        .and_then(|r| r.strip_suffix("')]"))
        .and_then(|r| r.split_once("'), '"))
    {
        return format!("{}{child}", default(p));
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";

    fn literal() -> Value {
        json!({
            "parameters": { "virtualMachines_vm_1_adminPassword": { "type": "securestring" } },
            "resources": [
                { "type": "Microsoft.Network/virtualNetworks", "name": "hub-vnet", "properties": {} },
                { "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "name": "hub-vnet/to-remote",
                  "properties": { "remoteVirtualNetwork": { "id": format!("{SUB}/resourceGroups/other-rg/providers/Microsoft.Network/virtualNetworks/remote") } },
                  "dependsOn": [format!("{SUB}/resourcegroups/lab-rg/providers/microsoft.network/virtualnetworks/hub-vnet")] },
                { "type": "Microsoft.Network/networkInterfaces", "name": "vm-1-nic",
                  "properties": { "ipConfigurations": [{ "name": "ipconfig1", "properties": {
                      "subnet": { "id": format!("{SUB}/resourceGroups/lab-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/apps") },
                      "loadBalancerBackendAddressPools": [{ "id": format!("{SUB}/resourceGroups/other-rg/providers/Microsoft.Network/loadBalancers/lb/backendAddressPools/pool") }] } }] } },
            ]
        })
    }

    #[test]
    fn names_become_parameters_and_references_resource_ids() {
        let t = parameterise(literal(), "lab-rg");
        let p = &t["parameters"];
        assert_eq!(p["virtualNetworks_hub_vnet_name"]["defaultValue"], "hub-vnet");
        assert_eq!(p["networkInterfaces_vm_1_nic_name"]["defaultValue"], "vm-1-nic");
        assert_eq!(p["virtualMachines_vm_1_adminPassword"]["type"], "securestring");
        let r = &t["resources"];
        assert_eq!(r[0]["name"], "[parameters('virtualNetworks_hub_vnet_name')]");
        assert_eq!(
            r[1]["name"],
            "[concat(parameters('virtualNetworks_hub_vnet_name'), '/to-remote')]"
        );
        assert_eq!(
            r[1]["dependsOn"][0],
            "[resourceId('Microsoft.Network/virtualNetworks', parameters('virtualNetworks_hub_vnet_name'))]"
        );
        assert_eq!(
            r[2]["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"],
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', parameters('virtualNetworks_hub_vnet_name'), 'apps')]"
        );
    }

    #[test]
    fn references_out_of_the_group_become_externalid_parameters() {
        let t = parameterise(literal(), "lab-rg");
        let p = &t["parameters"];
        assert_eq!(
            p["virtualNetworks_remote_externalid"]["defaultValue"],
            format!("{SUB}/resourceGroups/other-rg/providers/Microsoft.Network/virtualNetworks/remote")
        );
        let r = &t["resources"];
        assert_eq!(
            r[1]["properties"]["remoteVirtualNetwork"]["id"],
            "[parameters('virtualNetworks_remote_externalid')]"
        );
        assert_eq!(
            r[2]["properties"]["ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"][0]["id"],
            "[concat(parameters('loadBalancers_lb_externalid'), '/backendAddressPools/pool')]"
        );
    }

    #[test]
    fn strings_that_are_not_resource_ids_stay() {
        for s in [
            "10.0.0.0/16",
            "/subscriptions/s/resourceGroups",
            "/subscriptions/s/providers/Microsoft.Network/x/resourcegroups",
        ] {
            assert!(split(s).is_none(), "{s}");
        }
    }

    #[test]
    fn a_name_with_a_quote_stays_one_literal() {
        assert_eq!(quoted("it's"), "'it''s'");
    }
}
