//! `az deployment group|sub create|validate|what-if|show|list|delete`:
//! the command line turned into one deployment call, answered by the
//! template engine the ARM endpoint uses (`Backend::deployment`), and the
//! answer printed as az prints it (what-if as az's change listing).
// Azure: az deployment group create (azure-cli 2.91.0,
// azure/cli/command_modules/resource/custom.py; the what-if listing is
// _formatters.py's format_what_if_operation_result).

use serde_json::{Map, Value, json};

use super::args::{Args, Leaf, choice, flag, many, opt, req, yes};
use super::{AzError, Ctx, DeploymentCall, DeploymentReply, DeploymentVerb, Handler, Reply};
use crate::model::{AzureError, ErrorCode, ResourceId};

pub fn leaves() -> Vec<Leaf<Handler>> {
    let group: [(&'static str, Handler); 6] = [
        ("deployment group create", create_group),
        ("deployment group validate", validate_group),
        ("deployment group what-if", what_if_group),
        ("deployment group show", show_group),
        ("deployment group list", list_group),
        ("deployment group delete", delete_group),
    ];
    let sub: [(&'static str, Handler); 6] = [
        ("deployment sub create", create_sub),
        ("deployment sub validate", validate_sub),
        ("deployment sub what-if", what_if_sub),
        ("deployment sub show", show_sub),
        ("deployment sub list", list_sub),
        ("deployment sub delete", delete_sub),
    ];
    group
        .into_iter()
        .map(|l| (l, true))
        .chain(sub.into_iter().map(|l| (l, false)))
        .map(|((path, run), at_group)| {
            let verb = path.rsplit(' ').next().unwrap_or_default();
            let mut args = match verb {
                "create" | "validate" | "what-if" => vec![
                    opt("name").short('n'),
                    req("template-file").short('f'),
                    many("parameters").short('p'),
                    choice("mode", &["Incremental", "Complete"]),
                    flag("no-wait"),
                    flag("no-prompt"),
                ],
                "show" => vec![req("name").short('n')],
                "list" => vec![opt("filter")],
                _ => vec![req("name").short('n'), flag("no-wait"), yes()],
            };
            args.push(if at_group {
                req("resource-group").short('g')
            } else {
                opt("location").short('l')
            });
            let about = match verb {
                "create" => "Start a deployment.",
                "validate" => "Validate whether a template is syntactically correct.",
                "what-if" => "Execute a deployment What-If operation.",
                "show" => "Show a deployment.",
                "list" => "List deployments.",
                _ => "Delete a deployment.",
            };
            Leaf { path, about, args, run }
        })
        .collect()
}

fn scope_of(ctx: &Ctx, a: &Args, group: bool) -> ResourceId {
    if group {
        ctx.rg_id(a.must("resource-group"))
    } else {
        ResourceId::subscription(ctx.sub())
    }
}

macro_rules! at_both {
    ($group:ident, $sub:ident, $f:ident, $verb:expr) => {
        fn $group(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
            $f(ctx, a, true, $verb)
        }
        fn $sub(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
            $f(ctx, a, false, $verb)
        }
    };
}

at_both!(create_group, create_sub, deploy, DeploymentVerb::Create);
at_both!(validate_group, validate_sub, deploy, DeploymentVerb::Validate);
at_both!(what_if_group, what_if_sub, deploy, DeploymentVerb::WhatIf);
at_both!(show_group, show_sub, record, DeploymentVerb::Show);
at_both!(list_group, list_sub, record, DeploymentVerb::List);
at_both!(delete_group, delete_sub, record, DeploymentVerb::Delete);

/// A template file as az reads it; a `.bicep` file is refused.
fn template_of(path: &str) -> Result<Value, AzError> {
    // Azure: az compiles .bicep with the Bicep CLI before it sends the
    // template (https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-cli).
    if path.to_ascii_lowercase().ends_with(".bicep") || path.to_ascii_lowercase().ends_with(".bicepparam") {
        return Err(AzError::Cli(format!(
            "'{path}' is a Bicep file: vnetlab has no Bicep compiler. Run `az bicep build --file {path}` and pass the .json file it writes to --template-file."
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| AzError::Cli(format!("Unable to read the template file '{path}': {e}")))?;
    parse_json(&text).map_err(|e| {
        AzError::Azure(AzureError::new(
            ErrorCode::InvalidTemplate,
            format!("Failed to parse '{path}', please check whether it is a valid JSON format: {e}"),
        ))
    })
}

/// JSON as az reads template and parameter files: comments allowed.
fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(&strip_comments(text))
}

/// `//` and `/* */` comments out, strings kept.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// `--parameters`, each `@file.json`, inline JSON or `key=value`; later
/// ones win, as in az. `key=value` takes the template's declared type.
fn parameters(a: &Args, template: &Value) -> Result<Map<String, Value>, AzError> {
    let mut out = Map::new();
    for p in a.list("parameters").unwrap_or_default() {
        let doc = if let Some(file) = p.strip_prefix('@') {
            let text = std::fs::read_to_string(file)
                .map_err(|e| AzError::Cli(format!("Unable to read the parameters file '{file}': {e}")))?;
            Some(parse_json(&text).map_err(|e| AzError::Cli(format!("Failed to parse '{file}': {e}")))?)
        } else if p.trim_start().starts_with('{') {
            Some(parse_json(&p).map_err(|e| AzError::Cli(format!("Failed to parse JSON parameters '{p}': {e}")))?)
        } else {
            None
        };
        match doc {
            Some(d) => {
                // A parameters file wraps them in "parameters"; inline JSON may not.
                let body = d.get("parameters").cloned().unwrap_or(d);
                for (k, v) in body.as_object().into_iter().flatten() {
                    let v = if v.get("value").is_some() || v.get("reference").is_some() {
                        v.clone()
                    } else {
                        json!({ "value": v })
                    };
                    out.insert(k.clone(), v);
                }
            }
            None => {
                let (k, v) = p.split_once('=').ok_or_else(|| {
                    AzError::Cli(format!(
                        "Unable to parse parameter: {p}. Give @FILE.json, JSON, or KEY=VALUE."
                    ))
                })?;
                let typ = template["parameters"][k]["type"]
                    .as_str()
                    .unwrap_or("string")
                    .to_ascii_lowercase();
                let value = match typ.as_str() {
                    "int" | "bool" | "array" | "object" | "secureobject" => {
                        serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))
                    }
                    _ => Value::String(v.to_string()),
                };
                out.insert(k.to_string(), json!({ "value": value }));
            }
        }
    }
    Ok(out)
}

/// az's default deployment name: the template file's name without its extension.
fn default_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "deployment".into())
}

fn deploy(ctx: &mut Ctx, a: Args, group: bool, verb: DeploymentVerb) -> Result<Reply, AzError> {
    let file = a.must("template-file");
    let template = template_of(file)?;
    let params = parameters(&a, &template)?;
    let name = a.str("name").map_or_else(|| default_name(file), str::to_string);
    let mut body = json!({ "properties": {
        "template": template,
        "parameters": params,
        "mode": a.str("mode").unwrap_or("Incremental"),
    } });
    if !group {
        let loc = a
            .str("location")
            .ok_or_else(|| AzError::Usage("the following arguments are required: --location/-l".into()))?;
        body["location"] = json!(loc);
    }
    let call = DeploymentCall {
        verb,
        scope: scope_of(ctx, &a, group),
        name,
        body,
    };
    let reply = ctx.backend.deployment(&call)?;
    let doc = answer(reply)?;
    if verb == DeploymentVerb::Create {
        for d in doc["properties"]["diagnostics"].as_array().into_iter().flatten() {
            if let Some(m) = d["message"].as_str() {
                ctx.warn(m);
            }
        }
        if a.flag("no-wait") {
            return Ok(Reply::Nothing);
        }
    }
    if verb == DeploymentVerb::WhatIf {
        return Ok(Reply::Text(what_if_listing(&doc)));
    }
    Ok(Reply::Value(doc))
}

fn record(ctx: &mut Ctx, a: Args, group: bool, verb: DeploymentVerb) -> Result<Reply, AzError> {
    let call = DeploymentCall {
        verb,
        scope: scope_of(ctx, &a, group),
        name: a.str("name").unwrap_or_default().to_string(),
        body: Value::Null,
    };
    let reply = ctx.backend.deployment(&call)?;
    match verb {
        DeploymentVerb::Delete => {
            answer(reply)?;
            Ok(Reply::Nothing)
        }
        DeploymentVerb::List => Ok(Reply::Value(answer(reply)?["value"].take())),
        _ => Ok(Reply::Value(answer(reply)?)),
    }
}

/// ARM's reply as the command's value, or its error as az prints it.
fn answer(reply: DeploymentReply) -> Result<Value, AzError> {
    let body = reply.body.unwrap_or(Value::Null);
    if reply.status < 300 {
        return Ok(body);
    }
    let e = &body["error"];
    let code = e["code"].as_str().unwrap_or("DeploymentFailed");
    let mut message = e["message"].as_str().unwrap_or_default().to_string();
    // az prints the inner errors after the message, as azure-core's
    // ODataV4Format does ("Exception Details: (Code) Message").
    for d in e["details"].as_array().into_iter().flatten() {
        message.push_str(&format!(
            "\nException Details:\t({}) {}",
            d["code"].as_str().unwrap_or_default(),
            d["message"].as_str().unwrap_or_default()
        ));
    }
    let code = match code {
        "ResourceGroupNotFound" => ErrorCode::ResourceGroupNotFound,
        "DeploymentNotFound" => ErrorCode::DeploymentNotFound,
        "InvalidTemplate" => ErrorCode::InvalidTemplate,
        "InvalidTemplateDeployment" => ErrorCode::InvalidTemplateDeployment,
        "DeploymentFailed" => ErrorCode::DeploymentFailed,
        _ => ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == code)
            .unwrap_or(ErrorCode::DeploymentFailed),
    };
    Err(AzError::Azure(AzureError::new(code, message)))
}

/// az's what-if listing: the notice, the legend of the change types that
/// occur, the resources by scope, and the count of each change type.
fn what_if_listing(doc: &Value) -> String {
    // Azure: _formatters.py orders change types Delete, Create, Deploy,
    // Modify, NoChange, Unsupported, Ignore.
    const ORDER: &[(&str, &str, &str)] = &[
        ("Delete", "-", "to delete"),
        ("Create", "+", "to create"),
        ("Deploy", "!", "to deploy"),
        ("Modify", "~", "to modify"),
        ("NoChange", "=", "no change"),
        ("Unsupported", "x", "unsupported"),
        ("Ignore", "*", "to ignore"),
    ];
    let weight = |t: &str| ORDER.iter().position(|(k, _, _)| *k == t).unwrap_or(ORDER.len());
    let changes: Vec<&Value> = doc["properties"]["changes"].as_array().into_iter().flatten().collect();
    let mut s = String::from(
        "Note: The result may contain false positive predictions (noise).\nYou can help us improve the accuracy of the result by opening an issue here: https://aka.ms/WhatIfIssues\nNOTICE! - Want to get What-if without noise? Move to Deployment Stacks What-If https://aka.ms/stackswhatifGA\n\n",
    );
    let kind = |c: &Value| c["changeType"].as_str().unwrap_or("Unsupported").to_string();
    let mut types: Vec<String> = changes.iter().map(|c| kind(c)).collect();
    for c in &changes {
        for d in c["delta"].as_array().into_iter().flatten() {
            types.push(d["propertyChangeType"].as_str().unwrap_or("Modify").to_string());
        }
    }
    types.sort_by_key(|t| weight(t));
    types.dedup();
    if !changes.is_empty() {
        s.push_str(if types.len() == 1 {
            "Resource and property changes are indicated with this symbol:\n"
        } else {
            "Resource and property changes are indicated with these symbols:\n"
        });
        for t in &types {
            let (_, sym, _) = ORDER[weight(t).min(ORDER.len() - 1)];
            // az titles the enum value: NoChange prints "Nochange".
            let mut title = t.to_ascii_lowercase();
            title[..1].make_ascii_uppercase();
            s.push_str(&format!("  {sym} {title}\n"));
        }
        let (scope, _) = split_id(changes[0]["resourceId"].as_str().unwrap_or_default());
        s.push_str(&format!(
            "\nThe deployment will update the following scope:\n\nScope: {scope}\n"
        ));
        let mut sorted = changes.clone();
        sorted.sort_by_key(|c| {
            (
                weight(&kind(c)),
                split_id(c["resourceId"].as_str().unwrap_or_default()).1,
            )
        });
        for c in &sorted {
            let (_, rel) = split_id(c["resourceId"].as_str().unwrap_or_default());
            let (_, sym, _) = ORDER[weight(&kind(c)).min(ORDER.len() - 1)];
            s.push_str(&format!("\n  {sym} {rel}\n"));
            for d in c["delta"].as_array().into_iter().flatten() {
                let t = d["propertyChangeType"].as_str().unwrap_or("Modify");
                let (_, psym, _) = ORDER[weight(t).min(ORDER.len() - 1)];
                let path = d["path"].as_str().unwrap_or_default();
                match t {
                    "Create" => s.push_str(&format!("      {psym} {path}: {}\n", d["after"])),
                    "Delete" => s.push_str(&format!("      {psym} {path}: {}\n", d["before"])),
                    _ => s.push_str(&format!("      {psym} {path}: {} => {}\n", d["before"], d["after"])),
                }
            }
        }
    }
    s.push_str("\nResource changes: ");
    if changes.is_empty() {
        s.push_str("no change.");
    } else {
        let counts: Vec<String> = ORDER
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

/// `(scope, relative resource ID)` as azure-mgmt-core's split: the scope
/// is everything before the last `/providers/`.
fn split_id(id: &str) -> (String, String) {
    match id.to_ascii_lowercase().rfind("/providers/") {
        Some(i) => (id[..i].to_string(), id[i + "/providers/".len()..].to_string()),
        None => (id.to_string(), String::new()),
    }
}
