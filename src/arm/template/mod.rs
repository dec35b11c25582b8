//! ARM template deployments: a template's parameters, variables,
//! functions, resources (copy loops, conditions, nested children, symbolic
//! names, nested deployments) and outputs, evaluated as ARM evaluates them
//! and turned into ONE batch of model changes in `dependsOn` order. Every
//! resource is checked against a working copy of the model before any is
//! applied, so a failing template leaves the lab as it was.
//!
//! The pieces: `expr` parses `[…]`, `eval` evaluates in a scope,
//! `functions` holds the built-ins, `hash` ARM's uniqueString and guid.

mod eval;
mod expr;
mod functions;
pub(super) mod hash;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{hub, put};
use crate::model::{AzureError, Change, ErrorCode, Model, ResourceId};
use eval::{Ctx, Env};

fn invalid(message: String) -> AzureError {
    AzureError::new(ErrorCode::InvalidTemplate, message)
}

// Azure: ARM wraps validation errors as "Deployment template validation
// failed: '…'" (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-invalid-template).
fn validation(message: String) -> AzureError {
    invalid(format!("Deployment template validation failed: '{message}'"))
}

/// A resource type the lab's model does not emulate (storage accounts, key
/// vaults, VM extensions …): kept as a document only.
fn is_opaque(id: &ResourceId) -> bool {
    put::delete(id).is_none() && !put::is_part(id) && !hub::is_hub_type(id) && !is_deployment(&id.resource_type())
}

fn is_deployment(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("Microsoft.Resources/deployments")
}

/// What a deployment did (or, for validate and what-if, would do).
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    /// The emulated resources it put, in the order it put them.
    pub ids: Vec<ResourceId>,
    /// Resources of types the model does not emulate, as deployed.
    pub opaque: Vec<(ResourceId, Value)>,
    pub outputs: Map<String, Value>,
    /// The model after the deployment.
    pub model: Model,
    /// Once per deployment: which resources have no effect on the network.
    pub warnings: Vec<String>,
    /// Route Servers (virtual hubs) waiting for their IP configuration, as
    /// the endpoint holds them between az's two PUTs.
    hubs: hub::Pending,
    /// Resources of nested deployments waiting for others of the same
    /// deployment ([`holdable`]), with the error they had.
    held: Vec<(ResourceId, Value, AzureError)>,
}

/// A deployment of `body` (`{properties: {template, parameters, mode}}`)
/// named `name` into resource group `group`.
pub fn deploy(
    m: &Model,
    group: &ResourceId,
    name: &str,
    body: &Value,
    principal: Option<&str>,
) -> Result<Outcome, AzureError> {
    let props = body.get("properties").unwrap_or(&Value::Null);
    let template = props.get("template").and_then(Value::as_object).ok_or_else(|| {
        invalid(if props.get("templateLink").is_some() {
            "The deployment names a templateLink: vnetlab has no Internet to fetch it from. Send the template itself in properties.template (az --template-file does).".into()
        } else {
            "The deployment has no properties.template. Give the template JSON in properties.template.".into()
        })
    })?;
    // Azure: DeploymentMode is Incremental or Complete
    // (https://learn.microsoft.com/azure/azure-resource-manager/templates/deployment-modes).
    // Complete mode's deletes are the caller's (`arm::deployments`): this
    // evaluates what the template itself puts.
    if let Some(mode) = props.get("mode").and_then(Value::as_str)
        && !mode.eq_ignore_ascii_case("incremental")
        && !mode.eq_ignore_ascii_case("complete")
    {
        return Err(AzureError::new(
            ErrorCode::InvalidParameter,
            format!("The deployment mode '{mode}' is not valid. Give Incremental or Complete."),
        ));
    }
    let empty = Map::new();
    let given = props.get("parameters").and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Outcome {
        model: m.clone(),
        ..Outcome::default()
    };
    let mut scope = Scope::of(m, group)?;
    scope.location = body.get("location").and_then(Value::as_str).map(str::to_string);
    let outputs = run(&mut out, &scope, name, template, given, principal, 0)?;
    out.outputs = outputs;
    if !out.opaque.is_empty() {
        let names: Vec<String> = out
            .opaque
            .iter()
            .map(|(id, _)| format!("{} '{}'", id.resource_type(), id.name()))
            .collect();
        out.warnings.push(format!(
            "not emulated: no effect on the network: {} (stored as given, returned by GET, deletable).",
            names.join(", ")
        ));
    }
    Ok(out)
}

/// The model changes of a deployment into resource group `group`, and
/// the IDs of the resources it puts, in order (`az vm create`'s use).
pub fn changes(
    m: &Model,
    group: &ResourceId,
    body: &Value,
    principal: Option<&str>,
) -> Result<(Vec<Change>, Vec<ResourceId>), AzureError> {
    let mode = body["properties"]["mode"].as_str().unwrap_or("Incremental");
    if !mode.eq_ignore_ascii_case("incremental") {
        return Err(AzureError::new(
            ErrorCode::InvalidParameter,
            format!(
                "This entry point deploys in Incremental mode only; mode '{mode}' would delete the resource group's other resources. Deploy with --mode Incremental."
            ),
        ));
    }
    let o = deploy(m, group, "deployment", body, principal)?;
    Ok((o.changes, o.ids))
}

/// A stable hash of a template, for `deployment().properties.templateHash`
/// and the deployment record (ARM's is a different hash of the same text).
pub fn template_hash(template: &Value) -> String {
    hash::unique_string(&[&template.to_string()])
}

/// Where a (possibly nested) template deploys.
#[derive(Clone, Debug)]
struct Scope {
    subscription: String,
    tenant: String,
    /// Name and location; `None` at subscription scope.
    group: Option<(String, String)>,
    /// The deployment's own location (subscription-scope deployments have one).
    location: Option<String>,
}

impl Scope {
    fn of(m: &Model, group: &ResourceId) -> Result<Scope, AzureError> {
        let sub = group.subscription_id().to_string();
        let tenant = m
            .subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&sub))
            .map(|s| s.tenant_id.clone())
            .unwrap_or_default();
        let rg = group.resource_group_name();
        if rg.is_empty() {
            return Ok(Scope {
                subscription: sub,
                tenant,
                group: None,
                location: None,
            });
        }
        let location = m
            .resource_groups
            .iter()
            .find(|(id, _)| id.as_str().eq_ignore_ascii_case(group.as_str()))
            .map(|(_, g)| g.location.clone())
            .ok_or_else(|| {
                AzureError::new(
                    ErrorCode::ResourceGroupNotFound,
                    format!("Resource group '{rg}' could not be found. Create it first (az group create -n {rg} -l LOCATION)."),
                )
            })?;
        Ok(Scope {
            subscription: sub,
            tenant,
            group: Some((rg.to_string(), location)),
            location: None,
        })
    }
}

/// One resource of the template once its copy loop and nesting are expanded.
#[derive(Clone, Debug)]
struct Planned {
    /// `resources[2]`, `resources['vnet']`, `resources[0].resources[1]`: for messages.
    path: String,
    raw: Value,
    copy: Vec<(String, i64, bool)>,
    id: ResourceId,
    /// Lower-cased dependsOn entries, plus the implicit parent.
    deps: Vec<String>,
    /// Names this resource answers to in dependsOn (lower case).
    aliases: Vec<String>,
    /// False when its `condition` is: it is ordered but not deployed.
    enabled: bool,
}

/// Deploy one template (the top one or a nested one) into `out`.
fn run(
    out: &mut Outcome,
    scope: &Scope,
    deployment: &str,
    template: &Map<String, Value>,
    given: &Map<String, Value>,
    principal: Option<&str>,
    depth: usize,
) -> Result<Map<String, Value>, AzureError> {
    // Azure: nested deployments go at most 64 levels deep? ARM's documented
    // limit is on the deployment's total count; vnetlab stops runaway recursion.
    if depth > 16 {
        return Err(validation("Nested deployments are more than 16 levels deep.".into()));
    }
    let mut env = Env {
        vars: template
            .get("variables")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        subscription_id: scope.subscription.clone(),
        tenant_id: scope.tenant.clone(),
        group: scope.group.clone(),
        deployment: json!({
            "name": deployment,
            "properties": { "templateHash": template_hash(&Value::Object(template.clone())), "mode": "Incremental" },
        }),
        ..Env::default()
    };
    // Azure: deployment() has a location at subscription scope (template-functions-deployment#deployment).
    if let Some(l) = &scope.location {
        env.deployment["location"] = json!(l);
    }
    for ns in template
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prefix = ns["namespace"].as_str().unwrap_or_default().to_ascii_lowercase();
        for (fname, def) in ns["members"].as_object().into_iter().flatten() {
            env.functions
                .insert(format!("{prefix}.{}", fname.to_ascii_lowercase()), def.clone());
        }
    }
    parameters(&mut env, &out.model, template, given)?;
    variable_copies(&env, &out.model)?;
    let planned = expand(&env, &out.model, scope, template)?;
    {
        let mut names = env.resources.borrow_mut();
        for p in &planned {
            for a in &p.aliases {
                let ids = names.entry(a.clone()).or_default();
                if !ids.contains(&p.id) {
                    ids.push(p.id.clone());
                }
            }
        }
    }
    let order = order(&planned)?;
    for i in order {
        let p = &planned[i];
        if !p.enabled {
            continue;
        }
        let mut raw = p.raw.clone();
        // An inner-scope nested template is evaluated in its own scope, later.
        if is_deployment(&p.id.resource_type()) && inner_scope(&p.raw) {
            raw["properties"]["template"] = Value::Null;
        }
        // The context borrows the working model only while the body is
        // evaluated: no copy of the model per resource (a 500-resource
        // template would copy it 500 times, quadratic in its size).
        let evaluated = {
            let mut ctx = Ctx::new(&env, &out.model);
            ctx.copy = p.copy.clone();
            ctx.value(&raw)
        };
        let mut body = evaluated.map_err(|e| {
            validation(format!(
                "The template resource '{}' at {} is not valid: {e}",
                p.id.name(),
                p.path
            ))
        })?;
        if let Some(o) = body.as_object_mut() {
            for k in ["copy", "condition", "dependsOn", "resources", "apiVersion", "comments"] {
                o.remove(k);
            }
        }
        if is_deployment(&p.id.resource_type()) {
            let model = out.model.clone();
            let outputs = nested(out, &env, &model, p, &body, principal, depth)?;
            env.nested_outputs
                .borrow_mut()
                .insert(p.id.name().to_ascii_lowercase(), Value::Object(outputs));
            continue;
        }
        if is_opaque(&p.id) {
            out.opaque.push((p.id.clone(), opaque_doc(&p.id, body)));
            continue;
        }
        match put_one(out, &p.id, &body, principal) {
            Ok(()) => {}
            Err((0, e)) if depth > 0 && holdable(&p.id, &e) => out.held.push((p.id.clone(), body, e)),
            Err((_, e)) => return Err(failed(&p.id, e)),
        }
    }
    if depth == 0 {
        put_held(out, principal)?;
    }
    let model = out.model.clone();
    outputs(&env, &model, template)
}

/// Puts one emulated resource into the deployment's working model. The
/// error is the resource's own, with the index of the change that failed.
fn put_one(
    out: &mut Outcome,
    id: &ResourceId,
    body: &Value,
    principal: Option<&str>,
) -> Result<(), (usize, AzureError)> {
    let mut c = if hub::is_hub_type(id) {
        match out.hubs.put(&out.model, id, body).map_err(|e| (0, e))? {
            hub::Put::Changes(c) => c,
            hub::Put::Held(_) => {
                out.ids.push(id.clone());
                return Ok(());
            }
        }
    } else {
        put::changes(&out.model, id, body, principal).map_err(|e| (0, e))?
    };
    let n = c.len();
    c.extend(put::tags(id, body, false).map_err(|e| (n, e))?);
    // The deployment is validated whole before any of it applies:
    // `out.model` is its working copy, dropped on any error, so no
    // copy of the model per resource.
    out.model.apply_all_to_working_copy(c.clone())?;
    out.hubs.settled(id);
    out.changes.extend(c);
    out.ids.push(id.clone());
    Ok(())
}

/// A resource of a nested deployment that names a resource not there yet
/// (a peering whose remote VNet another nested deployment of the same
/// deployment creates) waits for the rest of the deployment. Only when its
/// first change failed: the model's puts check references before they
/// change anything, so the working copy is as it was.
// vnetlab, not Azure: ARM starts nested deployments without dependsOn in
// parallel and fails such a peering (the user re-runs the deployment);
// vnetlab validates a deployment whole before applying any of it, so it
// puts the resource after the others instead (the export round trip of
// groups that peer with each other, scripts/check-export). Virtual hubs
// keep state between their PUTs and are not held.
fn holdable(id: &ResourceId, e: &AzureError) -> bool {
    e.code == ErrorCode::InvalidResourceReference && !hub::is_hub_type(id)
}

/// The held resources, once the rest of the top deployment is in: again
/// and again while any goes in; the first that never does fails the
/// deployment with its own error.
fn put_held(out: &mut Outcome, principal: Option<&str>) -> Result<(), AzureError> {
    while !out.held.is_empty() {
        let before = out.held.len();
        for (id, body, _) in std::mem::take(&mut out.held) {
            match put_one(out, &id, &body, principal) {
                Ok(()) => {}
                Err((0, again)) if holdable(&id, &again) => out.held.push((id, body, again)),
                Err((_, again)) => return Err(failed(&id, again)),
            }
        }
        if out.held.len() == before {
            let (id, _, e) = out.held.swap_remove(0);
            return Err(failed(&id, e));
        }
    }
    Ok(())
}

// Azure: a resource's error comes back as DeploymentFailed whose details
// name the resource (https://aka.ms/arm-deployment-operations); vnetlab
// validates before applying, so nothing was deployed.
fn failed(id: &ResourceId, e: AzureError) -> AzureError {
    AzureError::new(
        ErrorCode::DeploymentFailed,
        format!(
            "At least one resource deployment operation failed. Details: {} '{}': ({}) {} Nothing was deployed: fix the template and deploy again.",
            id.resource_type(),
            id.name(),
            e.code,
            e.message
        ),
    )
    .with_target(id.as_str())
}

fn opaque_doc(id: &ResourceId, mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.insert("id".into(), json!(id.as_str()));
        o.insert("name".into(), json!(id.name()));
        o.insert("type".into(), json!(id.resource_type()));
        let props = o.entry("properties").or_insert_with(|| json!({}));
        if let Some(p) = props.as_object_mut() {
            p.insert("provisioningState".into(), json!("Succeeded"));
        }
    }
    body
}

/// Parameter values: given or default, typed and within their constraints.
// Azure: parameter types and constraints
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/parameters).
fn parameters(
    env: &mut Env,
    m: &Model,
    template: &Map<String, Value>,
    given: &Map<String, Value>,
) -> Result<(), AzureError> {
    let empty = Map::new();
    let decl = template.get("parameters").and_then(Value::as_object).unwrap_or(&empty);
    let unknown: Vec<&String> = given
        .keys()
        .filter(|k| !decl.keys().any(|d| d.eq_ignore_ascii_case(k)))
        .collect();
    if !unknown.is_empty() {
        return Err(validation(format!(
            "The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.",
            unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            decl.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    for (name, d) in decl {
        let supplied = eval::get_ci(given, name);
        if supplied.as_ref().is_some_and(|s| s.get("reference").is_some()) {
            return Err(validation(format!(
                "The parameter '{name}' is a Key Vault reference: vnetlab has no Key Vault. Give its value inline."
            )));
        }
        let value = match supplied {
            Some(s) => s.get("value").cloned().unwrap_or(s),
            None => match d.get("defaultValue") {
                Some(dv) => Ctx::new(env, m).value(dv).map_err(|e| {
                    validation(format!(
                        "The template parameter '{name}' default value is not valid: {e}"
                    ))
                })?,
                None if d.get("nullable").and_then(Value::as_bool) == Some(true) => Value::Null,
                None => {
                    return Err(validation(format!(
                        "The value for the template parameter '{name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
                    )));
                }
            },
        };
        check_parameter(name, d, &value)?;
        env.params.insert(name.clone(), value);
    }
    Ok(())
}

fn check_parameter(name: &str, d: &Value, v: &Value) -> Result<(), AzureError> {
    let typ = d["type"].as_str().unwrap_or("string").to_ascii_lowercase();
    let ok = match typ.as_str() {
        "string" | "securestring" => v.is_string(),
        "int" => v.is_i64(),
        "bool" => v.is_boolean(),
        "array" => v.is_array(),
        "object" | "secureobject" => v.is_object(),
        _ => true,
    } || v.is_null();
    if !ok {
        let want = match typ.as_str() {
            "int" => "Integer",
            "bool" => "Boolean",
            "array" => "Array",
            "object" | "secureobject" => "Object",
            _ => "String",
        };
        return Err(validation(format!(
            "Template parameter JToken type is not valid. Expected '{want}'. Actual '{}'. The parameter is '{name}'. Please see https://aka.ms/arm-create-parameter-file for usage details.",
            functions::kind(v)
        )));
    }
    let shown = functions::to_text(v);
    let bad = |what: String| {
        validation(format!(
            "The provided value '{shown}' for the template parameter '{name}' is not valid. {what} Please see https://aka.ms/arm-parameters for usage details."
        ))
    };
    if let Some(allowed) = d["allowedValues"].as_array() {
        let fits = match v {
            Value::Array(items) => items.iter().all(|x| allowed.contains(x)),
            other => allowed.contains(other),
        };
        if !fits {
            return Err(bad(format!(
                "The value is not part of the allowed value(s): '{}'.",
                allowed.iter().map(functions::to_text).collect::<Vec<_>>().join(",")
            )));
        }
    }
    if let (Some(min), Some(n)) = (d["minValue"].as_i64(), v.as_i64())
        && n < min
    {
        return Err(bad(format!("The value must be greater than or equal to '{min}'.")));
    }
    if let (Some(max), Some(n)) = (d["maxValue"].as_i64(), v.as_i64())
        && n > max
    {
        return Err(bad(format!("The value must be less than or equal to '{max}'.")));
    }
    let len = match v {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let (Some(min), Some(l)) = (d["minLength"].as_i64(), len)
        && l < min
    {
        return Err(bad(format!("Its length must be at least '{min}'.")));
    }
    if let (Some(max), Some(l)) = (d["maxLength"].as_i64(), len)
        && l > max
    {
        return Err(bad(format!("Its length must be at most '{max}'.")));
    }
    Ok(())
}

/// `variables.copy`: each entry defines an array variable.
fn variable_copies(env: &Env, m: &Model) -> Result<(), AzureError> {
    let Some(copies) = env.vars.get("copy").and_then(Value::as_array) else {
        return Ok(());
    };
    let ctx = Ctx::new(env, m);
    for c in copies {
        let name = c["name"].as_str().unwrap_or_default();
        let err = |e: String| validation(format!("The template variable '{name}' is not valid: {e}"));
        let count = ctx.count(&c["count"]).map_err(err)?;
        let items = (0..count)
            .map(|i| ctx.with_copy(name, i).value(&c["input"]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        ctx.define_variable(name, Value::Array(items));
    }
    Ok(())
}

/// Resources with copy loops, conditions and nesting expanded, in template order.
fn expand(env: &Env, m: &Model, scope: &Scope, template: &Map<String, Value>) -> Result<Vec<Planned>, AzureError> {
    let mut out = Vec::new();
    match template.get("resources") {
        // languageVersion 2.0 (what Bicep emits): resources keyed by symbolic name.
        Some(Value::Object(o)) => {
            for (symbol, r) in o {
                expand_one(
                    env,
                    m,
                    scope,
                    r,
                    None,
                    Some(symbol),
                    &format!("resources['{symbol}']"),
                    &mut out,
                )?;
            }
        }
        Some(Value::Array(a)) => {
            for (i, r) in a.iter().enumerate() {
                expand_one(env, m, scope, r, None, None, &format!("resources[{i}]"), &mut out)?;
            }
        }
        _ => {}
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn expand_one(
    env: &Env,
    m: &Model,
    scope: &Scope,
    r: &Value,
    parent: Option<(&str, &str, &ResourceId)>,
    symbol: Option<&str>,
    path: &str,
    out: &mut Vec<Planned>,
) -> Result<(), AzureError> {
    let base = Ctx::new(env, m);
    let err = |what: &str, e: String| validation(format!("The template resource at {path} is not valid: {what}: {e}"));
    if r.get("existing").and_then(Value::as_bool) == Some(true) {
        // A Bicep `existing` reference deploys nothing; its name still resolves.
        return Ok(());
    }
    let (loop_name, count, batch) = match r.get("copy") {
        Some(c) => {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            let count = base.count(&c["count"]).map_err(|e| err("copy.count", e))?;
            let serial = c["mode"].as_str().is_some_and(|x| x.eq_ignore_ascii_case("serial"));
            let batch = if serial {
                c["batchSize"].as_i64().unwrap_or(1).max(1)
            } else {
                0
            };
            (Some(name), count, batch)
        }
        None => (None, 1, 0),
    };
    for i in 0..count {
        let mut ctx = base.clone();
        if let Some(l) = &loop_name {
            ctx = ctx.with_copy(l, i);
        }
        let enabled = match r.get("condition") {
            None => true,
            Some(cond) => match ctx.value(cond).map_err(|e| err("condition", e))? {
                Value::Bool(b) => b,
                other => {
                    return Err(err(
                        "condition",
                        format!("it is {}, not a Boolean", functions::kind(&other)),
                    ));
                }
            },
        };
        let text = |k: &str| -> Result<String, AzureError> {
            match ctx.value(&r[k]).map_err(|e| err(k, e))? {
                Value::String(s) if !s.is_empty() => Ok(s),
                _ => Err(err(k, format!("the resource has no '{k}'"))),
            }
        };
        let (mut typ, mut name) = (text("type")?, text("name")?);
        let mut deps = Vec::new();
        if let Some((ptype, pname, pid)) = parent {
            if !typ.contains('/') {
                typ = format!("{ptype}/{typ}");
            }
            if !name.contains('/') {
                name = format!("{pname}/{name}");
            }
            deps.push(pid.as_str().to_ascii_lowercase());
        }
        // Bicep's `parent:` is a symbolic name; the name is then the child's own.
        if let Some(p) = r.get("parent").and_then(Value::as_str) {
            deps.push(p.to_ascii_lowercase());
        }
        let id = resource_id(env, scope, &ctx, r, &typ, &name).map_err(|e| err("name", e))?;
        for d in r.get("dependsOn").and_then(Value::as_array).into_iter().flatten() {
            match ctx.value(d).map_err(|e| err("dependsOn", e))? {
                Value::String(s) => deps.push(s.to_ascii_lowercase()),
                other => {
                    return Err(err(
                        "dependsOn",
                        format!("an entry is {}, not a String", functions::kind(&other)),
                    ));
                }
            }
        }
        // Serial copy: batch k waits for every resource of batch k-1.
        if batch > 0 && i >= batch {
            deps.push(format!(
                "#copy:{}:{}",
                loop_name.clone().unwrap_or_default().to_ascii_lowercase(),
                i / batch - 1
            ));
        }
        let mut aliases = vec![
            id.as_str().to_ascii_lowercase(),
            format!("{typ}/{name}").to_ascii_lowercase(),
            name.to_ascii_lowercase(),
        ];
        if let Some(s) = symbol {
            aliases.push(s.to_ascii_lowercase());
        }
        // subscriptionResourceId() names a group by its provider path.
        if typ.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
            aliases
                .push(format!("/subscriptions/{}/providers/{typ}/{name}", id.subscription_id()).to_ascii_lowercase());
        }
        if let Some(l) = &loop_name {
            aliases.push(l.to_ascii_lowercase());
            if batch > 0 {
                aliases.push(format!("#copy:{}:{}", l.to_ascii_lowercase(), i / batch));
            }
        }
        let here = format!(
            "{path}{}",
            if loop_name.is_some() {
                format!("[copyIndex {i}]")
            } else {
                String::new()
            }
        );
        out.push(Planned {
            path: here.clone(),
            raw: r.clone(),
            copy: ctx.copy.clone(),
            id: id.clone(),
            deps,
            aliases,
            enabled,
        });
        for (j, child) in r
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            expand_one(
                env,
                m,
                scope,
                child,
                Some((&typ, &name, &id)),
                None,
                &format!("{here}.resources[{j}]"),
                out,
            )?;
        }
    }
    Ok(())
}

fn resource_id(env: &Env, scope: &Scope, ctx: &Ctx, r: &Value, typ: &str, name: &str) -> Result<ResourceId, String> {
    let sub = match r.get("subscriptionId") {
        Some(v) => functions::to_text(&ctx.value(v)?),
        None => env.subscription_id.clone(),
    };
    let group = match r.get("resourceGroup") {
        Some(v) => Some(functions::to_text(&ctx.value(v)?)),
        None => scope.group.as_ref().map(|g| g.0.clone()),
    };
    let path = if typ.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
        format!("/subscriptions/{sub}/resourceGroups/{name}")
    } else {
        let (provider, kind) = typ
            .split_once('/')
            .ok_or_else(|| format!("the type '{typ}' is not Namespace/type"))?;
        let kinds: Vec<&str> = kind.split('/').collect();
        let names: Vec<&str> = name.split('/').collect();
        if kinds.len() != names.len() || names.iter().any(|n| n.is_empty()) {
            return Err(format!(
                "the resource name '{name}' does not match its type '{typ}': give one name segment per type segment"
            ));
        }
        let mut p = match &group {
            Some(g) => format!("/subscriptions/{sub}/resourceGroups/{g}/providers/{provider}"),
            None => format!("/subscriptions/{sub}/providers/{provider}"),
        };
        for (k, n) in kinds.iter().zip(&names) {
            p.push_str(&format!("/{k}/{n}"));
        }
        p
    };
    ResourceId::parse(&path).ok_or_else(|| format!("'{path}' is not a valid resource ID"))
}

/// The order to deploy in: each resource after those it depends on.
// Azure: an unknown dependsOn target is "The resource '…' is not defined in
// the template", a cycle "Circular dependency detected on resource"
// (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-invalid-template#solution-3---circular-dependency-detected).
fn order(planned: &[Planned]) -> Result<Vec<usize>, AzureError> {
    let mut by_alias: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in planned.iter().enumerate() {
        for a in &p.aliases {
            by_alias.entry(a.as_str()).or_default().push(i);
        }
    }
    let mut needs: Vec<BTreeSet<usize>> = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        let mut set = BTreeSet::new();
        for d in &p.deps {
            let hits = by_alias.get(d.as_str()).cloned().or_else(|| {
                // `Namespace/type/name` matches the end of a full ID.
                let v: Vec<usize> = planned
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| q.id.as_str().to_ascii_lowercase().ends_with(&format!("/{d}")))
                    .map(|(j, _)| j)
                    .collect();
                (!v.is_empty()).then_some(v)
            });
            match hits {
                Some(js) => set.extend(js.into_iter().filter(|j| *j != i)),
                // The first serial batch has no batch before it.
                None if d.starts_with("#copy:") => {}
                None => {
                    return Err(validation(format!(
                        "The resource '{d}' is not defined in the template (dependsOn of {}). Please see https://aka.ms/arm-syntax for usage details.",
                        p.path
                    )));
                }
            }
        }
        needs.push(set);
    }
    let mut done = vec![false; planned.len()];
    let mut out = Vec::with_capacity(planned.len());
    while out.len() < planned.len() {
        let before = out.len();
        for i in 0..planned.len() {
            if !done[i] && needs[i].iter().all(|j| done[*j]) {
                done[i] = true;
                out.push(i);
            }
        }
        if out.len() == before {
            let stuck: Vec<String> = (0..planned.len())
                .filter(|i| !done[*i])
                .map(|i| format!("'{}'", planned[i].id.as_str()))
                .collect();
            return Err(validation(format!(
                "Circular dependency detected on resource: {}. Please see https://aka.ms/arm-syntax-resources for usage details.",
                stuck.join(", ")
            )));
        }
    }
    Ok(out)
}

/// A `Microsoft.Resources/deployments` resource in the template: its own
/// template, in the inner scope (its own parameters) or the outer one (the
/// parent's parameters and variables, already applied to it).
// Azure: expressionEvaluationOptions.scope inner/outer
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/linked-templates#expression-evaluation-scope-in-nested-templates).
fn nested(
    out: &mut Outcome,
    env: &Env,
    model: &Model,
    p: &Planned,
    evaluated: &Value,
    principal: Option<&str>,
    depth: usize,
) -> Result<Map<String, Value>, AzureError> {
    let inner = inner_scope(&p.raw);
    let raw_template = &p.raw["properties"]["template"];
    let template = if inner {
        raw_template.clone()
    } else {
        evaluated["properties"]["template"].clone()
    };
    let template = template.as_object().cloned().ok_or_else(|| {
        validation(format!(
            "The nested deployment '{}' has no properties.template (templateLink needs the Internet).",
            p.id.name()
        ))
    })?;
    if !inner
        && template
            .get("parameters")
            .and_then(Value::as_object)
            .is_some_and(|o| !o.is_empty())
    {
        return Err(validation(format!(
            "The nested deployment '{}' declares parameters but evaluates in the outer scope: set properties.expressionEvaluationOptions.scope to 'inner'.",
            p.id.name()
        )));
    }
    let given = if inner {
        evaluated["properties"]["parameters"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    } else {
        Map::new()
    };
    let group =
        p.id.parent()
            .unwrap_or_else(|| ResourceId::subscription(&env.subscription_id));
    let group = if group.resource_group_name().is_empty() {
        ResourceId::subscription(group.subscription_id())
    } else {
        ResourceId::resource_group(group.subscription_id(), group.resource_group_name())
    };
    let mut scope = Scope::of(model, &group)?;
    scope.location = env
        .deployment
        .get("location")
        .and_then(Value::as_str)
        .map(str::to_string);
    run(out, &scope, p.id.name(), &template, &given, principal, depth + 1)
}

fn inner_scope(raw: &Value) -> bool {
    raw["properties"]["expressionEvaluationOptions"]["scope"]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("inner"))
}

fn outputs(env: &Env, m: &Model, template: &Map<String, Value>) -> Result<Map<String, Value>, AzureError> {
    let mut out = Map::new();
    let ctx = Ctx::new(env, m);
    for (name, o) in template.get("outputs").and_then(Value::as_object).into_iter().flatten() {
        let err = |e: String| validation(format!("The template output '{name}' is not valid: {e}"));
        if let Some(cond) = o.get("condition")
            && ctx.value(cond).map_err(err)? != Value::Bool(true)
        {
            continue;
        }
        let value = match o.get("copy") {
            Some(c) => {
                let count = ctx.count(&c["count"]).map_err(err)?;
                Value::Array(
                    (0..count)
                        .map(|i| ctx.with_copy("", i).value(&c["input"]))
                        .collect::<Result<_, _>>()
                        .map_err(err)?,
                )
            }
            None => ctx.value(&o["value"]).map_err(err)?,
        };
        let typ = o["type"].as_str().unwrap_or("string");
        check_parameter(name, &json!({ "type": typ }), &value).map_err(|_| {
            err(format!(
                "its value is {}, not the declared '{typ}'",
                functions::kind(&value)
            ))
        })?;
        out.insert(name.clone(), json!({ "type": typ, "value": value }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
