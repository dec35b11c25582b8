//! Reading `terraform show -json`: the resource instances of a plan
//! (`planned_values`) or of a state (`values`), with their modules, and
//! the values a plan does not know yet traced back through the plan's
//! `configuration` to the resource they come from.
//!
//! Terraform: developer.hashicorp.com/terraform/internals/json-format —
//! `planned_values` omits attributes unknown until apply; `configuration`
//! keeps each attribute's expression (`constant_value` or `references`,
//! nested blocks as arrays of expression objects); module calls nest under
//! `module_calls.NAME.module`, their outputs under `outputs.NAME.expression`.

use serde_json::{Map, Value};

use super::ImportError;

/// One resource instance of the plan or state.
#[derive(Debug)]
pub struct Res {
    /// Its full address, `module.spoke["a"].azurerm_subnet.x[0]`.
    pub address: String,
    /// The module calls it sits in, without instance keys (`["spoke"]`).
    pub calls: Vec<String>,
    /// `azurerm_subnet`.
    pub kind: String,
    /// `x`: the name in the configuration, not in Azure.
    pub name: String,
    /// `count.index` or `each.key`, if it has one.
    pub index: Option<Value>,
    pub values: Map<String, Value>,
}

/// A step into a value: an object's key or a list's element.
#[derive(Clone, Copy, Debug)]
pub enum Seg<'a> {
    Key(&'a str),
    Idx(usize),
}

/// What an attribute holds: a known value, or (unknown at plan time) the
/// ID of the resource its expression references.
#[derive(Debug)]
pub enum Got<'a> {
    Value(&'a Value),
    IdOf(&'a Res),
}

#[derive(Debug)]
pub struct Plan {
    pub resources: Vec<Res>,
    /// The root module's configuration (`configuration.root_module`).
    config: Value,
}

impl Plan {
    pub fn parse(text: &str) -> Result<Plan, ImportError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| ImportError::Json(e.to_string()))?;
        let version = doc
            .get("format_version")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::Format("no format_version: not the output of `terraform show -json`".into()))?;
        // Terraform: "Reject any input which reports an unsupported major version."
        if version.split('.').next() != Some("1") {
            return Err(ImportError::Format(format!(
                "format_version {version} is not supported: this reads major version 1 (Terraform 1.x)"
            )));
        }
        // A plan's values after apply, or a state's (where every value is known).
        let root = if let Some(p) = doc.pointer("/planned_values/root_module") {
            p
        } else if let Some(s) = doc.pointer("/values/root_module") {
            s
        } else {
            return Err(ImportError::Format(
                "neither planned_values (a plan) nor values (a state): run `terraform show -json` on a saved plan or on the state".into(),
            ));
        };
        let mut resources = Vec::new();
        collect(root, &mut resources);
        let config = doc
            .pointer("/configuration/root_module")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(Plan { resources, config })
    }

    /// The value at `path` in `res`: known, or followed through the
    /// configuration's references when the plan does not know it.
    pub fn get<'a>(&'a self, res: &'a Res, path: &[Seg]) -> Option<Got<'a>> {
        self.get_depth(res, path, 0)
    }

    fn get_depth<'a>(&'a self, res: &'a Res, path: &[Seg], depth: u8) -> Option<Got<'a>> {
        // A list keeps an unknown element as null; an object drops it.
        let known = walk_map(&res.values, path);
        if let Some(v) = known.filter(|v| !v.is_null()) {
            return Some(Got::Value(v));
        }
        self.expression_value(res, path, depth).or(known.map(Got::Value))
    }

    fn expression_value<'a>(&'a self, res: &'a Res, path: &[Seg], depth: u8) -> Option<Got<'a>> {
        if depth > 8 {
            return None;
        }
        let exprs = self.resource_config(&res.calls, &res.kind, &res.name)?;
        let expr = walk_expr(exprs, path)?;
        if let Some(c) = expr.get("constant_value") {
            return Some(Got::Value(c));
        }
        let refs = expr.get("references")?.as_array()?;
        refs.iter()
            .filter_map(Value::as_str)
            .find_map(|r| self.follow(res, &res.calls, r, depth))
    }

    /// A reference string of the configuration (`azurerm_subnet.x.id`,
    /// `azurerm_subnet.x[0]`, `module.hub.vnet_id`) made from `calls`.
    fn follow<'a>(&'a self, from: &Res, calls: &[String], reference: &str, depth: u8) -> Option<Got<'a>> {
        if let Some(rest) = reference.strip_prefix("module.") {
            // A module's output: its expression, inside that module.
            let (call, output) = rest.split_once('.')?;
            let call = call.split('[').next()?;
            let mut inner = calls.to_vec();
            inner.push(call.to_string());
            let expr = self
                .module_config(&inner)?
                .get("outputs")?
                .get(output)?
                .get("expression")?;
            let refs = expr.get("references")?.as_array()?;
            return refs
                .iter()
                .filter_map(Value::as_str)
                .find_map(|r| self.follow(from, &inner, r, depth + 1));
        }
        let (head, attr) = split_reference(reference)?;
        let (kind, rest) = head.split_once('.')?;
        if !kind.starts_with("azurerm_") {
            return None; // var., local., each., count., data. hold no resource
        }
        let (name, index) = match rest.split_once('[') {
            Some((n, i)) => (n, Some(parse_index(i.strip_suffix(']')?)?)),
            None => (rest, None),
        };
        let same = |r: &&Res| r.calls == calls && r.kind == kind && r.name == name;
        let candidates: Vec<&Res> = self.resources.iter().filter(same).collect();
        let target = match &index {
            Some(i) => candidates.iter().find(|r| r.index.as_ref() == Some(i))?,
            // `azurerm_subnet.x[count.index]` is referenced as `azurerm_subnet.x`:
            // the instance with the referrer's own key, or the only one.
            None if candidates.len() == 1 => &candidates[0],
            None => candidates.iter().find(|r| r.index.is_some() && r.index == from.index)?,
        };
        match attr {
            None | Some("id") => Some(Got::IdOf(target)),
            Some(a) => self.get_depth(target, &[Seg::Key(a)], depth + 1),
        }
    }

    fn module_config(&self, calls: &[String]) -> Option<&Value> {
        let mut m = &self.config;
        for c in calls {
            m = m.get("module_calls")?.get(c)?.get("module")?;
        }
        Some(m)
    }

    fn resource_config(&self, calls: &[String], kind: &str, name: &str) -> Option<&Map<String, Value>> {
        let address = format!("{kind}.{name}");
        self.module_config(calls)?
            .get("resources")?
            .as_array()?
            .iter()
            .find(|r| r.get("address").and_then(Value::as_str) == Some(&address))?
            .get("expressions")?
            .as_object()
    }
}

fn collect(module: &Value, out: &mut Vec<Res>) {
    for r in module.get("resources").and_then(Value::as_array).into_iter().flatten() {
        if r.get("mode").and_then(Value::as_str) != Some("managed") {
            continue; // data sources are read, not built
        }
        let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let address = text("address");
        out.push(Res {
            calls: module_calls(&address),
            kind: text("type"),
            name: text("name"),
            index: r.get("index").cloned(),
            values: r.get("values").and_then(Value::as_object).cloned().unwrap_or_default(),
            address,
        });
    }
    for m in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(m, out);
    }
}

/// `module.a["k"].module.b[0].azurerm_x.y` → `["a", "b"]`.
fn module_calls(address: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut depth = 0usize;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let parts: Vec<&str> = plain.split('.').collect();
    parts
        .windows(2)
        .filter(|w| w[0] == "module")
        .map(|w| w[1].to_string())
        .collect()
}

/// `azurerm_subnet.x[0].id` → (`azurerm_subnet.x[0]`, Some(`id`)).
fn split_reference(r: &str) -> Option<(&str, Option<&str>)> {
    let mut dots = 0;
    let mut in_brackets = false;
    for (i, c) in r.char_indices() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            '.' if !in_brackets => {
                dots += 1;
                if dots == 2 {
                    return Some((&r[..i], Some(r[i + 1..].split(['.', '[']).next()?)));
                }
            }
            _ => {}
        }
    }
    (dots == 1).then_some((r, None))
}

fn parse_index(s: &str) -> Option<Value> {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(key) => Some(Value::String(key.to_string())),
        None => s.parse::<u64>().ok().map(Value::from),
    }
}

fn walk_map<'a>(map: &'a Map<String, Value>, path: &[Seg]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut v = map.get(*k)?;
    for s in rest {
        v = match s {
            Seg::Key(k) => v.get(*k)?,
            Seg::Idx(i) => v.get(*i)?,
        };
    }
    Some(v)
}

/// The expression at `path`: nested blocks are arrays of expression maps.
fn walk_expr<'a>(exprs: &'a Map<String, Value>, path: &[Seg]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut v = exprs.get(*k)?;
    for s in rest {
        v = match (s, v) {
            (Seg::Idx(i), Value::Array(a)) => a.get(*i)?,
            // A list attribute's one expression covers every element.
            (Seg::Idx(_), Value::Object(_)) => v,
            (Seg::Key(k), _) => v.get(*k)?,
            _ => return None,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_calls_drop_instance_keys() {
        assert_eq!(
            module_calls("module.a[\"x.y\"].module.b[0].azurerm_subnet.s[1]"),
            ["a", "b"]
        );
        assert!(module_calls("azurerm_subnet.s").is_empty());
    }

    #[test]
    fn references_split_into_resource_and_attribute() {
        assert_eq!(
            split_reference("azurerm_subnet.x.id"),
            Some(("azurerm_subnet.x", Some("id")))
        );
        assert_eq!(
            split_reference("azurerm_subnet.x[\"a.b\"].id"),
            Some(("azurerm_subnet.x[\"a.b\"]", Some("id")))
        );
        assert_eq!(split_reference("azurerm_subnet.x"), Some(("azurerm_subnet.x", None)));
        assert_eq!(split_reference("var"), None);
    }

    #[test]
    fn an_unsupported_major_version_is_refused() {
        let e = Plan::parse(r#"{"format_version":"2.0","planned_values":{"root_module":{}}}"#).unwrap_err();
        assert!(e.to_string().contains("major version 1"), "{e}");
        assert!(Plan::parse("{}").is_err());
        assert!(Plan::parse("not json").is_err());
    }

    #[test]
    fn an_unknown_id_is_followed_to_its_resource_per_count_index() {
        let plan = Plan::parse(
            r#"{"format_version":"1.2",
            "planned_values":{"root_module":{"resources":[
              {"address":"azurerm_subnet.s[0]","mode":"managed","type":"azurerm_subnet","name":"s","index":0,"values":{"name":"a"}},
              {"address":"azurerm_subnet.s[1]","mode":"managed","type":"azurerm_subnet","name":"s","index":1,"values":{"name":"b"}},
              {"address":"azurerm_network_interface.n[1]","mode":"managed","type":"azurerm_network_interface","name":"n","index":1,
               "values":{"ip_configuration":[{"name":"ipconfig1"}]}}]}},
            "configuration":{"root_module":{"resources":[
              {"address":"azurerm_network_interface.n","mode":"managed","type":"azurerm_network_interface","name":"n",
               "expressions":{"ip_configuration":[{"subnet_id":{"references":["azurerm_subnet.s","count.index"]}}]}}]}}}"#,
        )
        .unwrap();
        let nic = &plan.resources[2];
        let path = [Seg::Key("ip_configuration"), Seg::Idx(0), Seg::Key("subnet_id")];
        match plan.get(nic, &path) {
            Some(Got::IdOf(r)) => assert_eq!(r.values["name"], "b"),
            other => panic!("{other:?}"),
        }
        assert!(plan.get(nic, &[Seg::Key("nothing")]).is_none());
    }
}
