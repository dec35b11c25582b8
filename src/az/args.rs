//! The az command line: a clap tree built from each command's declared
//! arguments, parsed the way az's argparse does it (unique prefixes of long
//! options are accepted, bare booleans mean true), and clap's errors turned
//! into az's usage messages.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::AzError;

/// A string option: `--name VALUE`.
pub fn opt(long: &'static str) -> Arg {
    Arg::new(long).long(long).num_args(1).allow_hyphen_values(false)
}

/// A required string option.
pub fn req(long: &'static str) -> Arg {
    opt(long).required(true)
}

/// A list option: `--address-prefixes A B`, also given several times.
pub fn many(long: &'static str) -> Arg {
    Arg::new(long).long(long).num_args(1..).action(ArgAction::Append)
}

/// `--tags k=v k2=v2 …`, as az takes it on every create and update of a
/// resource that carries tags.
pub fn tags() -> Arg {
    many("tags")
}

/// An AAZ boolean: a bare flag is true; it also takes true/false, t/f,
/// yes/no, y/n, 1/0 (azure-semantics §9.6).
pub fn boolean(long: &'static str) -> Arg {
    Arg::new(long)
        .long(long)
        .num_args(0..=1)
        .default_missing_value("true")
        .value_parser(parse_bool)
}

/// A switch without a value, such as `--no-wait`.
pub fn flag(long: &'static str) -> Arg {
    Arg::new(long).long(long).action(ArgAction::SetTrue)
}

/// A value from a fixed set, compared without case as az's enums are;
/// the value is returned in the set's spelling.
pub fn choice(long: &'static str, values: &'static [&'static str]) -> Arg {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    let canonical = move |s: String| {
        values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(&s))
            .map_or(s, |v| v.to_string())
    };
    opt(long)
        .ignore_case(true)
        .value_parser(PossibleValuesParser::new(values).map(canonical))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Ok(true),
        "false" | "f" | "no" | "n" | "0" => Ok(false),
        _ => Err(format!("'{s}' is not a valid boolean value: use true or false")),
    }
}

/// `-g/--resource-group`, which nearly every command takes.
pub fn rg() -> Arg {
    req("resource-group").short('g')
}

/// `-n/--name`.
pub fn name() -> Arg {
    req("name").short('n')
}

/// `-l/--location`, defaulting to the resource group's.
pub fn location() -> Arg {
    opt("location").short('l')
}

/// `--yes/-y`, which skips the confirmation prompt of deletes.
pub fn yes() -> Arg {
    flag("yes").short('y')
}

/// Arguments every az command accepts.
fn global_args() -> [Arg; 6] {
    [
        opt("output").short('o').global(true),
        opt("query").global(true),
        opt("subscription").global(true),
        flag("only-show-errors").global(true),
        flag("verbose").global(true),
        flag("debug").global(true),
    ]
}

/// One `az` command: its words (`network vnet create`), a one-line help,
/// and its arguments.
#[derive(Debug)]
pub struct Leaf<H> {
    pub path: &'static str,
    pub about: &'static str,
    pub args: Vec<Arg>,
    pub run: H,
}

/// The clap tree for all `leaves`.
pub fn tree<H>(leaves: &[Leaf<H>]) -> Command {
    let root = Command::new("az")
        .no_binary_name(true)
        .infer_long_args(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .subcommand_required(true)
        .args_override_self(true)
        .args(global_args());
    let paths: Vec<(Vec<&'static str>, &Leaf<H>)> = leaves.iter().map(|l| (l.path.split(' ').collect(), l)).collect();
    add_children(root, &[], &paths)
}

fn add_children<H>(mut cmd: Command, prefix: &[&'static str], paths: &[(Vec<&'static str>, &Leaf<H>)]) -> Command {
    let mut seen: Vec<&'static str> = Vec::new();
    for (words, _) in paths
        .iter()
        .filter(|(w, _)| w.len() > prefix.len() && w.starts_with(prefix))
    {
        let word = words[prefix.len()];
        if seen.contains(&word) {
            continue;
        }
        seen.push(word);
        let mut next_prefix = prefix.to_vec();
        next_prefix.push(word);
        let child = match paths.iter().find(|(w, _)| *w == next_prefix) {
            // argparse lets an option be given twice; the last one counts.
            Some((_, leaf)) => Command::new(word)
                .about(leaf.about)
                .args_override_self(true)
                .args(leaf.args.iter().cloned()),
            None => add_children(Command::new(word).subcommand_required(true), &next_prefix, paths),
        };
        cmd = cmd.subcommand(child);
    }
    cmd
}

/// The leaf's path and its matches.
pub fn leaf_of(m: &ArgMatches) -> (String, &ArgMatches) {
    let mut path = Vec::new();
    let mut cur = m;
    while let Some((word, sub)) = cur.subcommand() {
        path.push(word);
        cur = sub;
    }
    (path.join(" "), cur)
}

/// Typed access to a leaf's values that never panics: an argument the
/// command does not declare reads as absent.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a>(pub &'a ArgMatches);

impl<'a> Args<'a> {
    pub fn str(&self, id: &str) -> Option<&'a str> {
        self.0.try_get_one::<String>(id).ok().flatten().map(String::as_str)
    }

    /// A required argument (clap has checked it is there).
    pub fn must(&self, id: &str) -> &'a str {
        self.str(id).unwrap_or_default()
    }

    pub fn list(&self, id: &str) -> Option<Vec<String>> {
        self.0
            .try_get_many::<String>(id)
            .ok()
            .flatten()
            .map(|v| v.cloned().collect())
    }

    pub fn bool(&self, id: &str) -> Option<bool> {
        self.0.try_get_one::<bool>(id).ok().flatten().copied()
    }

    /// An integer argument, refused as argparse refuses a bad `type=int`.
    pub fn int<T: std::str::FromStr>(&self, id: &str) -> Result<Option<T>, AzError> {
        self.str(id)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| AzError::Usage(format!("argument --{id}: invalid int value: '{v}'")))
            })
            .transpose()
    }

    pub fn flag(&self, id: &str) -> bool {
        self.bool(id).unwrap_or(false)
    }

    /// `--tags`, parsed as az does: `k=v` splits at the first `=`, a bare
    /// `k` is an empty value, an empty word adds nothing (so `--tags ""`
    /// clears). `None` when `--tags` was not given.
    // Azure: azure-cli core/commands/validators.py `validate_tags`/`validate_tag`.
    pub fn tags(&self) -> Option<crate::model::Tags> {
        let words = self.list("tags")?;
        Some(
            words
                .iter()
                .filter(|w| !w.is_empty())
                .map(|w| match w.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (w.clone(), String::new()),
                })
                .collect(),
        )
    }

    /// An update's tags: `--tags` replaces them all (az's aaz update
    /// commands send the whole `tags` map); nothing when it is absent.
    pub fn tags_update(&self, id: &crate::model::ResourceId) -> Option<crate::model::Change> {
        self.tags()
            .map(|tags| crate::model::Change::SetTags { id: id.clone(), tags })
    }

    /// The tags a create PUTs: what `--tags` gives, else none (a PUT
    /// replaces the resource, its tags included).
    pub fn tags_put(&self, id: &crate::model::ResourceId) -> crate::model::Change {
        crate::model::Change::SetTags {
            id: id.clone(),
            tags: self.tags().unwrap_or_default(),
        }
    }
}

/// What az prints for a usage mistake, or the help text clap made.
pub fn usage_error(e: clap::Error, tree: &Command) -> AzError {
    let ctx = |k: ContextKind| -> Vec<String> {
        match e.get(k) {
            Some(ContextValue::String(s)) => vec![s.clone()],
            Some(ContextValue::Strings(v)) => v.clone(),
            Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
            Some(ContextValue::StyledStrs(v)) => v.iter().map(|s| s.to_string()).collect(),
            _ => vec![],
        }
    };
    let arg_name = |raw: &str| -> String {
        // clap renders "--name <name>"; az says "--name/-n".
        let long = raw
            .split_whitespace()
            .next()
            .unwrap_or(raw)
            .trim_start_matches('-')
            .to_string();
        let short = find_short(tree, &long);
        match short {
            Some(c) => format!("--{long}/-{c}"),
            None => format!("--{long}"),
        }
    };
    let message = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::DisplayVersion => {
            return AzError::Help(e.render().to_string());
        }
        ErrorKind::UnknownArgument => {
            let args = ctx(ContextKind::InvalidArg).join(" ");
            match ctx(ContextKind::SuggestedArg).first() {
                Some(s) => format!(
                    "unrecognized arguments: {args}\nDid you mean '{}'?",
                    s.split_whitespace().next().unwrap_or(s)
                ),
                None => format!("unrecognized arguments: {args}"),
            }
        }
        ErrorKind::InvalidSubcommand => {
            let word = ctx(ContextKind::InvalidSubcommand).join(" ");
            match ctx(ContextKind::SuggestedSubcommand).first() {
                Some(s) => format!("'{word}' is misspelled or not recognized by the system.\nDid you mean '{s}' ?"),
                None => format!("'{word}' is misspelled or not recognized by the system."),
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let names: Vec<String> = ctx(ContextKind::InvalidArg).iter().map(|a| arg_name(a)).collect();
            format!("the following arguments are required: {}", names.join(", "))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let arg = ctx(ContextKind::InvalidArg)
                .first()
                .map(|a| arg_name(a))
                .unwrap_or_default();
            let value = ctx(ContextKind::InvalidValue).join(" ");
            let valid = ctx(ContextKind::ValidValue);
            if !valid.is_empty() {
                format!(
                    "argument {arg}: invalid choice: '{value}' (choose from {})",
                    valid.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
                )
            } else {
                // The value parser's own sentence, as argparse prints it.
                let why = std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| format!("invalid value: '{value}'"));
                format!("argument {arg}: {why}")
            }
        }
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues | ErrorKind::NoEquals => {
            let arg = ctx(ContextKind::InvalidArg)
                .first()
                .map(|a| arg_name(a))
                .unwrap_or_default();
            format!("argument {arg}: expected one argument")
        }
        ErrorKind::MissingSubcommand => return AzError::Help(e.render().to_string()),
        _ => e
            .to_string()
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_string(),
    };
    AzError::Usage(message)
}

fn find_short(cmd: &Command, long: &str) -> Option<char> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_short())
        .or_else(|| cmd.get_subcommands().find_map(|c| find_short(c, long)))
}
