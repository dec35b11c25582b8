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
    Ok(match verb {
        DeploymentVerb::WhatIf => Reply::Text(super::what_if::listing(&doc)),
        DeploymentVerb::Create => Reply::Table(doc, deployment_table),
        _ => Reply::Value(doc),
    })
}

/// az's table of one deployment (create, show): name, state, time, mode
/// and, at a group, the group.
// Azure: azure-cli 2.91.0 resource/commands.py transform_deployment.
fn deployment_row(r: &Value) -> Value {
    let p = &r["properties"];
    let mut row = json!({
        "Name": r["name"],
        "State": p["provisioningState"],
        "Timestamp": p["timestamp"],
        "Mode": p["mode"],
    });
    if let Some(g) = r["resourceGroup"].as_str().filter(|g| !g.is_empty()) {
        row["ResourceGroup"] = g.into();
    }
    row
}

fn deployment_table(v: &Value) -> Value {
    super::table_rows(v, deployment_row)
}

/// az's table of a deployment list: oldest first.
// Azure: transform_deployments_list sorts by properties.timestamp.
fn deployments_table(v: &Value) -> Value {
    let mut items: Vec<&Value> = v.as_array().into_iter().flatten().collect();
    items.sort_by_key(|r| r["properties"]["timestamp"].as_str().unwrap_or_default().to_string());
    Value::Array(items.into_iter().map(deployment_row).collect())
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
        DeploymentVerb::List => Ok(Reply::Table(answer(reply)?["value"].take(), deployments_table)),
        _ => Ok(Reply::Table(answer(reply)?, deployment_table)),
    }
}

/// A record's `properties.timestamp` as az prints it: the SDK reads ARM's
/// seven fractional digits into a Python datetime (cut to six, none when
/// they are all zero) and az writes its isoformat, `+00:00`.
// Azure: azure-core's Deserializer.deserialize_iso truncates past microseconds.
fn python_timestamp(record: &mut Value) {
    let Some(t) = record.pointer_mut("/properties/timestamp") else {
        return;
    };
    let Some(arm) = t.as_str().and_then(|s| s.strip_suffix('Z')) else {
        return;
    };
    let (whole, fraction) = arm.split_once('.').unwrap_or((arm, ""));
    let micro: String = fraction.chars().take(6).collect();
    *t = if micro.trim_end_matches('0').is_empty() {
        format!("{whole}+00:00")
    } else {
        format!("{whole}.{micro:0<6}+00:00")
    }
    .into();
}

/// ARM's reply as the command's value, or its error as az prints it.
fn answer(reply: DeploymentReply) -> Result<Value, AzError> {
    let mut body = reply.body.unwrap_or(Value::Null);
    if reply.status < 300 {
        match body.get_mut("value").and_then(Value::as_array_mut) {
            Some(list) => list.iter_mut().for_each(python_timestamp),
            None => python_timestamp(&mut body),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_pythons_isoformat() {
        let at = |t: &str| {
            let mut r = json!({ "properties": { "timestamp": t } });
            python_timestamp(&mut r);
            r["properties"]["timestamp"].as_str().unwrap().to_string()
        };
        assert_eq!(at("2024-05-01T12:00:00.1234567Z"), "2024-05-01T12:00:00.123456+00:00");
        assert_eq!(at("2024-05-01T12:00:00.1200000Z"), "2024-05-01T12:00:00.120000+00:00");
        assert_eq!(at("2024-05-01T12:00:00.0000001Z"), "2024-05-01T12:00:00+00:00");
        assert_eq!(at("2024-05-01T12:00:00Z"), "2024-05-01T12:00:00+00:00");
    }
}
