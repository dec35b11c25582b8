//! The `az` front: Azure CLI commands, flags, defaults and outputs on top
//! of the model. A command turns its arguments and the current model into
//! one batch of changes (applied whole or refused whole), then prints the
//! resulting resources the way az prints them. Nothing here touches the
//! host: a [`Backend`] reads and changes the lab.

pub mod actions;
mod args;
mod backend;
mod cmd_account;
mod cmd_aks;
mod cmd_deployment;
mod cmd_flowlog;
mod cmd_gateway;
mod cmd_group;
mod cmd_lb;
mod cmd_network;
mod cmd_nic;
mod cmd_nsg;
mod cmd_privatedns;
mod cmd_redis;
mod cmd_route;
mod cmd_routeserver;
mod cmd_tag;
mod cmd_vm;
mod cmd_watcher;
mod ctx;
pub mod output;
pub mod render;
pub mod render_aks;
pub mod render_dns;
pub mod render_tags;
pub mod watcher;
mod what_if;

use std::io::Write;

use serde_json::Value;
use thiserror::Error;

use args::{Args, Leaf};
pub use backend::{
    Backend, DeploymentCall, DeploymentReply, DeploymentVerb, Measured, MemoryBackend, Profile, ScriptOutput, SignedIn,
};
pub use ctx::Ctx;
use output::Format;

use crate::model::{AzureError, ErrorCode};

#[derive(Debug, Error)]
pub enum AzError {
    /// A mistake in the command line itself (az exits 2).
    #[error("{0}")]
    Usage(String),
    /// `--help`, or a command group without a command: printed, exit 0.
    #[error("{0}")]
    Help(String),
    /// Azure refused the request.
    #[error("({}) {}", .0.code.as_str(), .0.message)]
    Azure(AzureError),
    /// A refusal of a service other than the network model (compute's
    /// run-command, for instance), with its code.
    #[error("({code}) {message}")]
    Service { code: &'static str, message: String },
    /// A check az makes itself before calling Azure.
    #[error("{0}")]
    Cli(String),
}

impl AzError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AzError::Usage(_) => 2,
            AzError::Help(_) => 0,
            // az's ResourceNotFoundError (an HTTP 404) exits 3.
            AzError::Azure(e)
                if matches!(
                    e.code,
                    ErrorCode::ResourceNotFound
                        | ErrorCode::ResourceGroupNotFound
                        | ErrorCode::NotFound
                        | ErrorCode::DeploymentNotFound
                ) =>
            {
                3
            }
            AzError::Azure(_) | AzError::Service { .. } | AzError::Cli(_) => 1,
        }
    }
}

impl From<AzureError> for AzError {
    fn from(e: AzureError) -> Self {
        AzError::Azure(e)
    }
}

/// What a command prints.
#[derive(Debug)]
pub enum Reply {
    /// Deletes and `--no-wait` print nothing.
    Nothing,
    Value(Value),
    /// Text az prints as it is, whatever `--output` says (what-if's listing).
    Text(String),
    /// A value with az's table transformer for `-o table` (used unless a
    /// `--query` is active, as in az).
    Table(Value, fn(&Value) -> Value),
}

type Handler = fn(&mut Ctx, Args) -> Result<Reply, AzError>;

/// A table transformer's rows: `row` applied to each item of a list, or
/// to the one object a show command returns.
fn table_rows(v: &Value, row: impl Fn(&Value) -> Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(row).collect()),
        one => Value::Array(vec![row(one)]),
    }
}

/// az's prompt before a delete, skipped with `--yes`; "n" cancels.
fn confirm(ctx: &mut Ctx, a: &Args) -> Result<(), AzError> {
    if a.flag("yes")
        || ctx
            .backend
            .confirm("Are you sure you want to perform this operation? (y/n): ")?
    {
        Ok(())
    } else {
        Err(AzError::Cli("Operation cancelled.".into()))
    }
}

/// After a change: `--no-wait` prints nothing, otherwise the resource as
/// its `show` command prints it.
fn finish(ctx: &mut Ctx, a: Args, show: Handler) -> Result<Reply, AzError> {
    if a.flag("no-wait") {
        Ok(Reply::Nothing)
    } else {
        show(ctx, a)
    }
}

fn leaves() -> Vec<Leaf<Handler>> {
    [
        cmd_account::leaves(),
        cmd_group::leaves(),
        cmd_network::leaves(),
        cmd_route::leaves(),
        cmd_nsg::leaves(),
        cmd_nic::leaves(),
        cmd_gateway::leaves(),
        cmd_lb::leaves(),
        cmd_redis::leaves(),
        cmd_privatedns::leaves(),
        cmd_routeserver::leaves(),
        cmd_vm::leaves(),
        cmd_watcher::leaves(),
        cmd_flowlog::leaves(),
        cmd_aks::leaves(),
        cmd_deployment::leaves(),
        cmd_tag::leaves(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Runs `az ARGV…` against `backend`, printing as az does; returns az's
/// exit code: 0 done, 1 refused, 2 usage error, 3 not found.
pub fn run(argv: &[String], backend: &mut dyn Backend, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(argv, backend, err) {
        Ok(text) => {
            let _ = out.write_all(text.as_bytes());
            0
        }
        Err(AzError::Help(text)) => {
            let _ = out.write_all(text.as_bytes());
            0
        }
        Err(e) => {
            let _ = write_error(&e, err);
            e.exit_code()
        }
    }
}

/// az's error layout: an Azure error repeats its code and message below
/// the one-line summary, as azure-core's HttpResponseError prints it.
fn write_error(e: &AzError, err: &mut dyn Write) -> std::io::Result<()> {
    match e {
        AzError::Azure(a) => writeln!(
            err,
            "ERROR: ({code}) {msg}\nCode: {code}\nMessage: {msg}",
            code = a.code.as_str(),
            msg = a.message
        ),
        AzError::Service { code, message } => {
            writeln!(err, "ERROR: ({code}) {message}\nCode: {code}\nMessage: {message}")
        }
        other => writeln!(err, "ERROR: {other}"),
    }
}

fn run_inner(argv: &[String], backend: &mut dyn Backend, err: &mut dyn Write) -> Result<String, AzError> {
    let leaves = leaves();
    let tree = args::tree(&leaves);
    let matches = tree
        .clone()
        .try_get_matches_from(argv)
        .map_err(|e| args::usage_error(e, &tree))?;
    let (path, m) = args::leaf_of(&matches);
    let leaf = leaves
        .iter()
        .find(|l| l.path == path)
        .ok_or_else(|| AzError::Usage(format!("'{path}' is misspelled or not recognized by the system.")))?;
    let a = Args(m);
    let format = match a.str("output") {
        Some(f) => f.parse::<Format>().map_err(|e| AzError::Usage(e.to_string()))?,
        None => std::env::var("AZURE_CORE_OUTPUT")
            .ok()
            .and_then(|f| f.parse().ok())
            .unwrap_or(Format::Json),
    };
    let query = a.str("query").map(str::to_string);
    let mut ctx = Ctx::new(backend, a.str("subscription"))?;
    let reply = (leaf.run)(&mut ctx, a);
    for w in ctx.take_warnings() {
        let _ = writeln!(err, "WARNING: {w}");
    }
    let reply = reply?;
    let (mut value, transformer) = match reply {
        Reply::Nothing => return Ok(String::new()),
        Reply::Text(t) => return Ok(t),
        Reply::Value(v) => (v, None),
        Reply::Table(v, t) => (v, Some(t)),
    };
    render::add_tags(ctx.model(), &mut value);
    render::add_resource_groups(&mut value);
    Ok(match (&query, transformer) {
        (Some(q), _) => output::render_query(&value, q, format).map_err(|e| AzError::Usage(e.to_string()))?,
        (None, Some(t)) if format == Format::Table => output::render(&t(&value), Format::Table, false),
        (None, _) => output::render(&value, format, true),
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Runs one az command line (split like a shell without quotes, or
    /// given as words) on `b`: (exit code, stdout, stderr).
    pub fn az(b: &mut MemoryBackend, words: &[&str]) -> (u8, String, String) {
        let argv: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&argv, b, &mut out, &mut err);
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    /// Like `az` but the command line is one string split on whitespace,
    /// with '…' quoting for values that hold spaces.
    pub fn sh(b: &mut MemoryBackend, line: &str) -> (u8, String, String) {
        let words = split(line);
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        az(b, &refs)
    }

    pub fn split(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut has = false;
        for c in line.chars() {
            match c {
                '\'' => {
                    quoted = !quoted;
                    has = true;
                }
                c if c.is_whitespace() && !quoted => {
                    if has {
                        words.push(std::mem::take(&mut cur));
                        has = false;
                    }
                }
                c => {
                    cur.push(c);
                    has = true;
                }
            }
        }
        if has {
            words.push(cur);
        }
        words
    }

    /// Runs and insists on success; the stdout.
    pub fn ok(b: &mut MemoryBackend, line: &str) -> String {
        let (code, out, err) = sh(b, line);
        assert_eq!(code, 0, "`az {line}` failed: {err}");
        out
    }

    pub fn json(b: &mut MemoryBackend, line: &str) -> Value {
        let out = ok(b, line);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("`az {line}` printed no JSON ({e}): {out}"))
    }
}
