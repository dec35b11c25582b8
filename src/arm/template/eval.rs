//! Evaluating template expressions and JSON values against a deployment's
//! scope: parameters, variables (evaluated on first use, cycles refused),
//! user-defined functions, copy indices, lambda variables, and the model
//! as deployed so far (for `reference`).

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::expr::{self, Expr, Text};
use super::functions;
use crate::model::{Model, ResourceId};

/// Everything a template's expressions can see that does not change while
/// it deploys.
#[derive(Debug, Default)]
pub struct Env {
    pub params: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub(super) var_cache: RefCell<BTreeMap<String, Value>>,
    pub(super) var_busy: RefCell<Vec<String>>,
    /// `namespace.name` (lower case) → the member's definition.
    pub functions: BTreeMap<String, Value>,
    pub subscription_id: String,
    pub tenant_id: String,
    /// `None` at subscription scope.
    pub group: Option<(String, String)>,
    pub deployment: Value,
    /// Symbolic names, copy-loop names and resource names (lower case) →
    /// the IDs they stand for, once the resources are expanded.
    pub resources: RefCell<BTreeMap<String, Vec<ResourceId>>>,
    /// Outputs of nested deployments, by lower-cased name.
    pub nested_outputs: RefCell<BTreeMap<String, Value>>,
}

/// Where one expression is evaluated.
#[derive(Clone, Debug)]
pub struct Ctx<'a> {
    pub env: &'a Env,
    pub model: &'a Model,
    /// Active copy loops, innermost last: (loop name, index, is a property loop).
    pub copy: Vec<(String, i64, bool)>,
    pub locals: Vec<(String, Value)>,
    /// Inside a user-defined function: its parameters (and nothing else).
    pub fn_params: Option<Map<String, Value>>,
}

pub type EvalResult = Result<Value, String>;

impl<'a> Ctx<'a> {
    pub fn new(env: &'a Env, model: &'a Model) -> Self {
        Ctx {
            env,
            model,
            copy: Vec::new(),
            locals: Vec::new(),
            fn_params: None,
        }
    }

    pub fn with_copy(&self, name: &str, i: i64) -> Self {
        let mut c = self.clone();
        c.copy.push((name.to_string(), i, false));
        c
    }

    fn with_property_copy(&self, name: &str, i: i64) -> Self {
        let mut c = self.clone();
        c.copy.push((name.to_string(), i, true));
        c
    }

    /// A JSON value with every `[…]` string evaluated; `copy` arrays in
    /// objects (property loops) expanded.
    pub fn value(&self, v: &Value) -> EvalResult {
        Ok(match v {
            Value::String(s) => self.text(s)?,
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect::<Result<_, _>>()?),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    if k == "copy" && is_property_copy(x) {
                        for (name, items) in self.property_copies(x)? {
                            out.insert(name, Value::Array(items));
                        }
                    } else {
                        out.insert(k.clone(), self.value(x)?);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    pub fn text(&self, s: &str) -> EvalResult {
        match expr::classify(s) {
            Text::Plain(p) => Ok(Value::String(p.to_string())),
            Text::Escaped(p) => Ok(Value::String(p.to_string())),
            Text::Expression(e) => self.expr(&expr::parse(e)?),
        }
    }

    fn property_copies(&self, v: &Value) -> Result<Vec<(String, Vec<Value>)>, String> {
        let mut out = Vec::new();
        for c in v.as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            let count = self.count(&c["count"])?;
            let items = (0..count)
                .map(|i| self.with_property_copy(&name, i).value(&c["input"]))
                .collect::<Result<_, _>>()?;
            out.push((name, items));
        }
        Ok(out)
    }

    /// A copy loop's `count`: a non-negative integer, at most 800.
    // Azure: "The count can't exceed 800" and can't be negative
    // (https://learn.microsoft.com/azure/azure-resource-manager/templates/copy-resources).
    pub fn count(&self, v: &Value) -> Result<i64, String> {
        let n = self.value(v)?;
        match n.as_i64() {
            Some(n) if (0..=800).contains(&n) => Ok(n),
            _ => Err(format!(
                "The copy count '{n}' is not valid: give an integer from 0 to 800."
            )),
        }
    }

    pub fn expr(&self, e: &Expr) -> EvalResult {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Member(base, name) => {
                let b = self.expr(base)?;
                match &b {
                    Value::Object(o) => Ok(o
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("The language expression property '{name}' doesn't exist, available properties are '{}'.", o.keys().cloned().collect::<Vec<_>>().join(", ")))?),
                    Value::Null => Ok(Value::Null),
                    other => Err(format!(
                        "The language expression property '{name}' can't be evaluated: the value is {} and has no properties.",
                        functions::kind(other)
                    )),
                }
            }
            Expr::Index(base, index) => {
                let b = self.expr(base)?;
                let i = self.expr(index)?;
                match (&b, &i) {
                    (Value::Array(a), Value::Number(n)) => {
                        n.as_u64().and_then(|n| a.get(n as usize)).cloned().ok_or_else(|| {
                            format!(
                                "The language expression index '{n}' is out of bounds of an array of {} items.",
                                a.len()
                            )
                        })
                    }
                    (Value::Object(_), Value::String(k)) => {
                        self.expr(&Expr::Member(Box::new(Expr::Lit(b.clone())), k.clone()))
                    }
                    _ => Err(format!(
                        "The language expression can't index {} with {}.",
                        functions::kind(&b),
                        functions::kind(&i)
                    )),
                }
            }
            Expr::Call(name, args) => self.call(name, args),
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> EvalResult {
        let lower = name.to_ascii_lowercase();
        let arg = |i: usize| -> EvalResult {
            args.get(i).map(|a| self.expr(a)).unwrap_or_else(|| {
                Err(format!(
                    "The template function '{name}' takes more arguments than given."
                ))
            })
        };
        let name_arg = |i: usize| -> Result<String, String> {
            arg(i)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("The template function '{name}' expects a string as argument {}.", i + 1))
        };
        match lower.as_str() {
            "parameters" => {
                let p = name_arg(0)?;
                let from = self.fn_params.as_ref().unwrap_or(&self.env.params);
                get_ci(from, &p).ok_or_else(|| {
                    format!("The template parameter '{p}' is not found. Declare it in the template's parameters.")
                })
            }
            "variables" => {
                if self.fn_params.is_some() {
                    return Err("User-defined functions can't use variables.".into());
                }
                self.variable(&name_arg(0)?)
            }
            "copyindex" => {
                let (loop_name, offset) = match args.len() {
                    0 => (None, 0),
                    1 => match arg(0)? {
                        Value::String(s) => (Some(s), 0),
                        v => (None, v.as_i64().unwrap_or(0)),
                    },
                    _ => (Some(name_arg(0)?), arg(1)?.as_i64().unwrap_or(0)),
                };
                // Azure: a property loop's index needs its loop name; an unnamed
                // copyIndex() is the resource's (or variable's, output's) loop
                // (https://learn.microsoft.com/azure/azure-resource-manager/templates/copy-properties).
                let found = match &loop_name {
                    Some(n) => self.copy.iter().rev().find(|(l, _, _)| l.eq_ignore_ascii_case(n)),
                    None => self.copy.iter().rev().find(|(_, _, property)| !property),
                };
                found.map(|(_, i, _)| Value::from(i + offset)).ok_or_else(|| match loop_name {
                    Some(n) => format!("The template function 'copyIndex' is not expected here: there is no copy loop '{n}' around it."),
                    None => "The template function 'copyIndex' is not expected at this location: use it inside a copy loop.".into(),
                })
            }
            "if" => {
                let cond = arg(0)?;
                match cond {
                    Value::Bool(true) => arg(1),
                    Value::Bool(false) => arg(2),
                    other => Err(format!(
                        "The template function 'if' expects a boolean condition, not {}.",
                        functions::kind(&other)
                    )),
                }
            }
            "and" | "or" => {
                let want = lower == "or";
                for i in 0..args.len() {
                    match arg(i)? {
                        Value::Bool(b) if b == want => return Ok(Value::Bool(want)),
                        Value::Bool(_) => {}
                        other => {
                            return Err(format!(
                                "The template function '{name}' expects booleans, not {}.",
                                functions::kind(&other)
                            ));
                        }
                    }
                }
                Ok(Value::Bool(!want))
            }
            "coalesce" => {
                for i in 0..args.len() {
                    let v = arg(i)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Ok(Value::Null)
            }
            "lambdavariables" => {
                let n = name_arg(0)?;
                self.locals
                    .iter()
                    .rev()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&n))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("The lambda variable '{n}' is not defined here."))
            }
            "filter" | "map" | "sort" | "reduce" | "toobject" => self.lambda_call(&lower, args),
            "reference" => {
                let target = arg(0)?;
                let full = args.len() > 2 && arg(2)?.as_str().is_some_and(|s| s.eq_ignore_ascii_case("full"));
                self.reference(target.as_str().unwrap_or_default(), full)
            }
            "listkeys" => {
                let target = arg(0)?;
                self.list_keys(target.as_str().unwrap_or_default())
            }
            "list" => Err(format!(
                "The template function '{name}' has no value in vnetlab: of the resource types the lab emulates, only Redis caches have something to list (use listKeys)."
            )),
            _ if lower.contains('.') => self.user_function(&lower, name, args),
            _ => {
                let values = args.iter().map(|a| self.expr(a)).collect::<Result<Vec<_>, _>>()?;
                functions::call(&lower, name, &values, self)
            }
        }
    }

    fn variable(&self, n: &str) -> EvalResult {
        let key = n.to_ascii_lowercase();
        if let Some(v) = self.env.var_cache.borrow().get(&key) {
            return Ok(v.clone());
        }
        if self.env.var_busy.borrow().contains(&key) {
            return Err(format!(
                "The template variable '{n}' refers to itself (a circular reference)."
            ));
        }
        let (name, raw) = self
            .env
            .vars
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .ok_or_else(|| {
                format!("The template variable '{n}' is not found. Declare it in the template's variables.")
            })?;
        self.env.var_busy.borrow_mut().push(key.clone());
        // Variables see no copy index or lambda of the place that uses them.
        let ctx = Ctx::new(self.env, self.model);
        let v = ctx
            .value(raw)
            .map_err(|e| format!("The template variable '{name}' is not valid: {e}"));
        self.env.var_busy.borrow_mut().retain(|k| k != &key);
        let v = v?;
        self.env.var_cache.borrow_mut().insert(key, v.clone());
        Ok(v)
    }

    /// Variables declared with a top-level `copy` array become arrays.
    pub fn define_variable(&self, name: &str, v: Value) {
        self.env.var_cache.borrow_mut().insert(name.to_ascii_lowercase(), v);
    }

    fn lambda_call(&self, f: &str, args: &[Expr]) -> EvalResult {
        let lambda_of = |e: Option<&Expr>| -> Result<(Vec<String>, Expr), String> {
            match e {
                Some(Expr::Call(n, a)) if n.eq_ignore_ascii_case("lambda") && !a.is_empty() => {
                    let mut names = Vec::new();
                    for p in &a[..a.len() - 1] {
                        match p {
                            Expr::Lit(Value::String(s)) => names.push(s.clone()),
                            _ => return Err("A lambda's parameter names must be string literals.".into()),
                        }
                    }
                    Ok((names, a[a.len() - 1].clone()))
                }
                _ => Err(format!("The template function '{f}' expects a lambda(…) argument.")),
            }
        };
        let apply = |(names, body): &(Vec<String>, Expr), vals: &[Value]| -> EvalResult {
            let mut c = self.clone();
            for (n, v) in names.iter().zip(vals) {
                c.locals.push((n.clone(), v.clone()));
            }
            c.expr(body)
        };
        let input = self.expr(args.first().ok_or("A lambda function needs an array.")?)?;
        let items: Vec<Value> = match input {
            Value::Array(a) => a,
            other => {
                return Err(format!(
                    "The template function '{f}' expects an array, not {}.",
                    functions::kind(&other)
                ));
            }
        };
        match f {
            "filter" => {
                let l = lambda_of(args.get(1))?;
                let mut out = Vec::new();
                for (i, x) in items.into_iter().enumerate() {
                    if apply(&l, &[x.clone(), Value::from(i)])? == Value::Bool(true) {
                        out.push(x);
                    }
                }
                Ok(Value::Array(out))
            }
            "map" => {
                let l = lambda_of(args.get(1))?;
                let out = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| apply(&l, &[x, Value::from(i)]))
                    .collect::<Result<_, _>>()?;
                Ok(Value::Array(out))
            }
            "reduce" => {
                let mut acc = self.expr(args.get(1).ok_or("reduce needs an initial value.")?)?;
                let l = lambda_of(args.get(2))?;
                for (i, x) in items.into_iter().enumerate() {
                    acc = apply(&l, &[acc, x, Value::from(i)])?;
                }
                Ok(acc)
            }
            "sort" => {
                let l = lambda_of(args.get(1))?;
                let mut out = items;
                let mut err = None;
                out.sort_by(|a, b| match apply(&l, &[a.clone(), b.clone()]) {
                    Ok(Value::Bool(true)) => std::cmp::Ordering::Less,
                    Ok(_) => std::cmp::Ordering::Greater,
                    Err(e) => {
                        err = Some(e);
                        std::cmp::Ordering::Equal
                    }
                });
                err.map_or(Ok(Value::Array(out)), Err)
            }
            _ => {
                let key = lambda_of(args.get(1))?;
                let val = args.get(2).map(|a| lambda_of(Some(a))).transpose()?;
                let mut out = Map::new();
                for x in items {
                    let k = apply(&key, std::slice::from_ref(&x))?;
                    let v = match &val {
                        Some(l) => apply(l, &[x])?,
                        None => x,
                    };
                    out.insert(k.as_str().unwrap_or_default().to_string(), v);
                }
                Ok(Value::Object(out))
            }
        }
    }

    fn user_function(&self, key: &str, name: &str, args: &[Expr]) -> EvalResult {
        let def = self
            .env
            .functions
            .get(key)
            .ok_or_else(|| format!("The template function '{name}' is not valid: it is neither built in nor defined in the template's functions."))?;
        let declared = def["parameters"].as_array().cloned().unwrap_or_default();
        if declared.len() != args.len() {
            return Err(format!(
                "The template function '{name}' takes {} arguments, {} given.",
                declared.len(),
                args.len()
            ));
        }
        let mut params = Map::new();
        for (p, a) in declared.iter().zip(args) {
            params.insert(p["name"].as_str().unwrap_or_default().to_string(), self.expr(a)?);
        }
        let inner = Ctx {
            env: self.env,
            model: self.model,
            copy: Vec::new(),
            locals: Vec::new(),
            fn_params: Some(params),
        };
        inner
            .value(&def["output"]["value"])
            .map_err(|e| format!("The template function '{name}' is not valid: {e}"))
    }

    /// `reference(idOrName)`: the resource's properties as deployed so far
    /// (all of it with 'Full'); a nested deployment's `outputs`.
    fn reference(&self, target: &str, full: bool) -> EvalResult {
        let key = target.to_ascii_lowercase();
        if let Some(outputs) = self.env.nested_outputs.borrow().get(&key) {
            return Ok(serde_json::json!({ "outputs": outputs }));
        }
        let id = match ResourceId::parse(target) {
            Some(id) => id,
            None => match self.env.resources.borrow().get(&key).map(Vec::as_slice) {
                Some([id]) => id.clone(),
                _ => {
                    return Err(format!(
                        "The template reference '{target}' is not valid: could not find a template resource or resource copy with this name."
                    ));
                }
            },
        };
        let tail = id
            .as_str()
            .rsplit_once("/providers/Microsoft.Resources/deployments/")
            .map(|(_, n)| n.to_ascii_lowercase());
        if let Some(outputs) = tail.and_then(|n| self.env.nested_outputs.borrow().get(&n).cloned()) {
            return Ok(serde_json::json!({ "outputs": outputs }));
        }
        let doc = crate::arm::wire::find(self.model, &id)
            .map(crate::arm::wire::to_arm)
            .ok_or_else(|| {
                format!(
                    "The Resource '{}' was not found (reference() before it is deployed: add it to dependsOn).",
                    id.as_str()
                )
            })?;
        Ok(if full {
            doc
        } else {
            doc.get("properties").cloned().unwrap_or(Value::Null)
        })
    }
}

impl Ctx<'_> {
    /// `listKeys(id, apiVersion)` of a Redis cache: its access keys, as
    /// ARM's `POST …/listKeys` answers them.
    // Azure: template-functions-resource#listkeys; Redis - List Keys
    // (learn.microsoft.com/rest/api/redis/redis/list-keys).
    fn list_keys(&self, target: &str) -> EvalResult {
        let cache = ResourceId::parse(target).and_then(|id| {
            self.model
                .redis_caches
                .iter()
                .find(|(k, _)| k.as_str().eq_ignore_ascii_case(id.as_str()))
                .map(|(_, r)| r)
        });
        match cache {
            Some(r) => Ok(serde_json::json!({ "primaryKey": r.primary_key, "secondaryKey": r.secondary_key })),
            None if target
                .to_ascii_lowercase()
                .contains("/providers/microsoft.cache/redis/") =>
            {
                Err(format!(
                    "The Resource '{target}' was not found (listKeys() before it is deployed: add it to dependsOn)."
                ))
            }
            None => Err(format!(
                "The template function 'listKeys' has no value for '{target}' in vnetlab: of the resource types the lab emulates, only Redis caches have keys."
            )),
        }
    }
}

fn is_property_copy(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|c| c.get("input").is_some() && c.get("name").is_some()))
}

/// A key looked up as ARM does: case-insensitively.
pub fn get_ci(m: &Map<String, Value>, k: &str) -> Option<Value> {
    m.iter()
        .find(|(x, _)| x.eq_ignore_ascii_case(k))
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Env {
        Env {
            params: json!({ "spokes": 3, "prefix": "lab" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            vars: json!({
                "hub": "[concat(parameters('prefix'), '-hub')]",
                "loop": "[variables('loop')]",
                "names": "[map(range(1, parameters('spokes')), lambda('i', format('spoke{0}', lambdaVariables('i'))))]",
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            subscription_id: "00000000-0000-0000-0000-000000000001".into(),
            group: Some(("rg".into(), "eastus".into())),
            ..Env::default()
        }
    }

    #[test]
    fn variables_lambdas_and_copy_indices() {
        let env = env();
        let model = Model::default();
        let c = Ctx::new(&env, &model);
        assert_eq!(c.text("[variables('hub')]"), Ok(json!("lab-hub")));
        assert_eq!(
            c.text("[variables('names')]"),
            Ok(json!(["spoke1", "spoke2", "spoke3"]))
        );
        let e = c.text("[variables('loop')]").expect_err("cycle");
        assert!(e.contains("circular"), "{e}");
        assert_eq!(
            c.text("[filter(createArray(1, 2, 3, 4), lambda('x', equals(mod(lambdaVariables('x'), 2), 0)))]"),
            Ok(json!([2, 4]))
        );
        assert_eq!(c.with_copy("s", 2).text("[copyIndex(1)]"), Ok(json!(3)));
        assert!(c.text("[copyIndex()]").is_err());
        assert_eq!(
            c.text("[if(true, 'a', parameters('missing'))]"),
            Ok(json!("a")),
            "if is lazy"
        );
        assert_eq!(c.text("[[literal]"), Ok(json!("[literal]")));
        let v = c
            .value(&json!({ "copy": [{ "name": "subnets", "count": 2, "input": { "name": "[concat('s', copyIndex('subnets'))]" } }] }))
            .expect("property copy");
        assert_eq!(v, json!({ "subnets": [{ "name": "s0" }, { "name": "s1" }] }));
    }

    #[test]
    fn user_functions_see_only_their_parameters() {
        let mut env = env();
        env.functions.insert(
            "lab.name".into(),
            json!({ "parameters": [{ "name": "n", "type": "int" }], "output": { "type": "string", "value": "[format('spoke-{0}', parameters('n'))]" } }),
        );
        env.functions.insert(
            "lab.bad".into(),
            json!({ "parameters": [], "output": { "type": "string", "value": "[variables('hub')]" } }),
        );
        let model = Model::default();
        let c = Ctx::new(&env, &model);
        assert_eq!(c.text("[lab.name(7)]"), Ok(json!("spoke-7")));
        assert!(c.text("[lab.bad()]").is_err());
        assert!(c.text("[lab.name()]").is_err());
    }
}
