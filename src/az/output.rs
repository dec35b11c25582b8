//! What `az ... -o <format> [--query]` prints (azure-cli 2.91 on knack): json, jsonc, yaml, table, tsv, none.
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Jsonc,
    Table,
    Tsv,
    Yaml,
    Yamlc,
    None,
}

/// azure-cli parser.py `_check_value` wording, without its leading "{prog}: "; choices in knack `_FORMAT_DICT` order.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a valid value for '--output'. Allowed values: json, jsonc, yaml, yamlc, table, tsv, none.")]
pub struct FormatError(pub String);

impl std::str::FromStr for Format {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        let l = s.to_lowercase(); // knack adds --output with type=str.lower, so the choice check sees lowercase
        Ok(match l.as_str() {
            "json" => Format::Json,
            "jsonc" => Format::Jsonc,
            "table" => Format::Table,
            "tsv" => Format::Tsv,
            "yaml" => Format::Yaml,
            "yamlc" => Format::Yamlc,
            "none" => Format::None,
            _ => return Err(FormatError(l)),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// argparse's `invalid %(type)s value: %(value)r` for knack's `jmespath_type`.
    #[error("argument --query: invalid jmespath_type value: {}", py_repr_str(.0))]
    Invalid(String),
    /// azure-cli util.handle_exception prefix for a JMESPathError raised while searching (reason text is the Rust crate's).
    #[error("Invalid jmespath query supplied for `--query`: {0}")]
    Runtime(String),
}

/// What the CLI prints for `result` in `format`. `sort_keys` is knack's should_sort_keys for tables.
pub fn render(result: &Value, format: Format, sort_keys: bool) -> String {
    render_with(result, format, sort_keys, &|_| false)
}

/// `--query expr -o format` in one step: like `query` + `render(.., false)`, and tsv also prints objects built by a
/// multi-select hash (python OrderedDicts) in written order, where plain dicts are key-sorted.
pub fn render_query(input: &Value, expr: &str, format: Format) -> Result<String, QueryError> {
    let (v, hashes) = query_inner(input, expr)?;
    let ordered = |m: &Map<String, Value>| {
        hashes
            .iter()
            .any(|h| h.len() == m.len() && h.iter().zip(m.keys()).all(|(a, b)| a == b))
    };
    Ok(render_with(&v, format, false, &ordered))
}

fn render_with(
    result: &Value,
    format: Format,
    sort_keys: bool,
    ordered: &dyn Fn(&Map<String, Value>) -> bool,
) -> String {
    if result.is_null() {
        return String::new();
    } // knack cli.invoke formats only when `cmd_result.result is not None`
    match format {
        Format::Json => json(result),
        Format::Jsonc => jsonc(result),
        Format::Yaml | Format::Yamlc => yaml(result), // yamlc colouring (pygments YamlLexer) is not reproduced
        Format::Table => table(result, sort_keys),
        Format::Tsv => tsv_with(result, ordered),
        Format::None => String::new(),
    }
}

// ---------- Python str()/repr() of JSON values ----------
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{:e}", f.abs()); // shortest round-trip digits, like python's repr
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let d: String = mant.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1; // CPython float_repr_style 'short': exponent form iff decpt <= -4 or decpt > 16
    let body = if decpt <= -4 || decpt > 16 {
        let m = if d.len() > 1 {
            format!("{}.{}", &d[..1], &d[1..])
        } else {
            d.clone()
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{d}", "0".repeat(decpt.unsigned_abs() as usize))
    } else if decpt as usize >= d.len() {
        format!("{d}{}.0", "0".repeat(decpt as usize - d.len()))
    } else {
        format!("{}.{}", &d[..decpt as usize], &d[decpt as usize..])
    };
    format!("{}{body}", if f.is_sign_negative() { "-" } else { "" })
}

fn py_num(n: &serde_json::Number) -> String {
    if n.is_f64() {
        n.as_f64().map(py_float).unwrap_or_default()
    } else {
        n.to_string()
    }
}

/// Python `str(x)` of a JSON value (None/True/False, repr for containers).
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => py_num(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}: {}", py_repr_str(k), py_repr(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_repr(v: &Value) -> String {
    if let Value::String(s) = v {
        py_repr_str(s)
    } else {
        py_str(v)
    }
}

/// Python `repr(str)`; the non-printable set is approximated (C0/C1 controls and a few format characters).
fn py_repr_str(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut o = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c == q => {
                o.push('\\');
                o.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{feff}' => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push(q);
    o
}

fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut e: Vec<_> = m.iter().collect();
    e.sort_by(|a, b| a.0.cmp(b.0)); // python sorts str by code point == Rust byte order of UTF-8
    e
}

// ---------- json / jsonc ----------
/// knack format_json: json.dumps(indent=2, ensure_ascii=False, sort_keys=True, separators=(',', ': ')) + '\n'.
pub fn json(v: &Value) -> String {
    let mut o = String::new();
    json_into(&mut o, v, 0);
    o.push('\n');
    o
}

fn json_into(o: &mut String, v: &Value, depth: usize) {
    let pad = |o: &mut String, d: usize| {
        o.push('\n');
        o.push_str(&"  ".repeat(d));
    };
    match v {
        Value::Null => o.push_str("null"),
        Value::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => o.push_str(&py_num(n)),
        Value::String(s) => json_str(o, s),
        Value::Array(a) if a.is_empty() => o.push_str("[]"),
        Value::Object(m) if m.is_empty() => o.push_str("{}"),
        Value::Array(a) => {
            o.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                pad(o, depth + 1);
                json_into(o, x, depth + 1);
            }
            pad(o, depth);
            o.push(']');
        }
        Value::Object(m) => {
            o.push('{');
            for (i, (k, x)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                pad(o, depth + 1);
                json_str(o, k);
                o.push_str(": ");
                json_into(o, x, depth + 1);
            }
            pad(o, depth);
            o.push('}');
        }
    }
}

fn json_str(o: &mut String, s: &str) {
    o.push('"');
    for c in s.chars() {
        match c {
            // json.encoder ESCAPE_DCT; ensure_ascii=False leaves every other character alone
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

const RESET: &str = "\x1b[39;49;00m"; // pygments.console codes['reset']

/// knack format_json_color: pygments highlight(format_json, JsonLexer(), TerminalFormatter()) with bg='light'.
pub fn jsonc(v: &Value) -> String {
    let t: Vec<char> = json(v).chars().collect();
    let (mut out, mut i) = (String::new(), 0);
    while i < t.len() {
        let start = i;
        // JsonLexer token types -> TERMINAL_COLORS light column: Name.Tag brightblue(94), String yellow(33),
        // Number and Keyword.Constant blue(34), Whitespace gray(37), Punctuation uncoloured.
        let color = match t[i] {
            '"' => {
                i += 1;
                let mut esc = false;
                while i < t.len() {
                    let c = t[i];
                    i += 1;
                    if esc {
                        esc = false
                    } else if c == '\\' {
                        esc = true
                    } else if c == '"' {
                        break;
                    }
                }
                if t.get(i) == Some(&':') { "\x1b[94m" } else { "\x1b[33m" } // a string followed by ':' is a key
            }
            ' ' | '\n' | '\r' | '\t' => {
                while i < t.len() && matches!(t[i], ' ' | '\n' | '\r' | '\t') {
                    i += 1
                }
                "\x1b[37m"
            }
            'f' | 'n' | 't' => {
                while i < t.len() && "truefalsn".contains(t[i]) {
                    i += 1
                }
                "\x1b[34m"
            }
            '-' | '0'..='9' => {
                while i < t.len() && "-0123456789.eE+".contains(t[i]) {
                    i += 1
                }
                "\x1b[34m"
            }
            _ => {
                i += 1;
                while i < t.len() && "{}[],".contains(t[i]) {
                    i += 1
                }
                ""
            }
        };
        let tok: String = t[start..i].iter().collect();
        for line in py_splitlines(&tok) {
            // TerminalFormatter.format_unencoded: colour each line, even an empty one
            let body = line.trim_end_matches('\n');
            if color.is_empty() {
                out.push_str(body)
            } else {
                out.push_str(color);
                out.push_str(body);
                out.push_str(RESET);
            }
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// Python `str.splitlines(keepends=True)`.
fn py_splitlines(s: &str) -> Vec<&str> {
    let (mut v, mut start) = (Vec::new(), 0);
    for (i, c) in s.char_indices() {
        if matches!(
            c,
            '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
        ) {
            if c == '\r' && s[i + 1..].starts_with('\n') {
                continue;
            }
            v.push(&s[start..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < s.len() {
        v.push(&s[start..]);
    }
    v
}

// ---------- tsv ----------
/// knack _TsvOutput for a plain (key-sorted) result.
pub fn tsv(v: &Value) -> String {
    tsv_with(v, &|_| false)
}

fn tsv_with(v: &Value, ordered: &dyn Fn(&Map<String, Value>) -> bool) -> String {
    let rows: Vec<&Value> = if let Value::Array(a) = v {
        a.iter().collect()
    } else {
        vec![v]
    };
    let mut o = String::new();
    for row in rows {
        let cells: Vec<&Value> = match row {
            Value::Object(m) if ordered(m) => m.values().collect(), // OrderedDict: insertion order
            Value::Object(m) => sorted(m).into_iter().map(|e| e.1).collect(),
            Value::Array(a) => a.iter().collect(),
            Value::Bool(b) => {
                o.push_str(if *b { "true\n" } else { "false\n" });
                continue;
            } // only a top-level bool is lowercased
            other => vec![other],
        };
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                Value::Array(a) => a.len().to_string(),
                Value::Object(_) => String::new(),
                x => py_str(x), // None -> "None", nested bool -> "True"
            })
            .collect();
        o.push_str(&cells.join("\t"));
        o.push('\n');
    }
    o
}

// ---------- table ----------
/// knack _TableOutput + tabulate(headers="keys", tablefmt="simple", disable_numparse=True).
pub fn table(v: &Value, sort_keys: bool) -> String {
    let items: Vec<&Value> = if let Value::Array(a) = v {
        a.iter().collect()
    } else {
        vec![v]
    };
    let rows: Vec<Vec<(String, &Value)>> = items.into_iter().map(|it| auto_table_item(it, sort_keys)).collect();
    let mut headers: Vec<String> = Vec::new(); // tabulate: union of dict keys in first-seen order
    for r in &rows {
        for (k, _) in r {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .map(|h| match r.iter().find(|(k, _)| k == h).map(|e| e.1) {
                    None | Some(Value::Null) => String::new(),
                    Some(x) => py_str(x),
                })
                .collect()
        })
        .collect();
    // tabulate returns '' for a table without columns; knack adds '\n'.
    crate::print::tabulate(&headers, &cells) + "\n"
}

fn auto_table_item(item: &Value, sort_keys: bool) -> Vec<(String, &Value)> {
    match item {
        Value::Object(m) => {
            let keys: Vec<(&String, &Value)> = if sort_keys { sorted(m) } else { m.iter().collect() };
            let mut e: Vec<(String, &Value)> = Vec::new();
            for (k, x) in keys {
                if ["id", "type", "etag"].contains(&k.as_str()) || x.is_null() || x.is_array() || x.is_object() {
                    continue;
                }
                let mut ch = k.chars();
                let h = ch
                    .next()
                    .map_or(String::new(), |f| f.to_uppercase().chain(ch).collect());
                match e.iter_mut().find(|(x2, _)| *x2 == h) {
                    Some(slot) => slot.1 = x,
                    None => e.push((h, x)),
                } // OrderedDict re-set keeps position
            }
            e
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("Column{}", i + 1), x))
            .collect(),
        other => vec![("Result".into(), other)],
    }
}

// ---------- yaml ----------
/// knack format_yaml: yaml.safe_dump(default_flow_style=False, allow_unicode=True) (sort_keys=True, width 80, indent 2).
pub fn yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        col: 0,
        ws: true,
        ind: true,
        open_ended: false,
        indent: None,
        indents: Vec::new(),
    };
    e.node(v, true, false, false);
    e.write_indent(); // expect_document_end
    if e.open_ended {
        e.indicator("...", true, false, false);
        e.write_indent();
    } // a plain root scalar is open-ended
    e.out
}

/// Port of PyYAML emitter.py state (block style only: non-empty collections are never in flow style here).
struct Emitter {
    out: String,
    col: usize,
    ws: bool,
    ind: bool,
    open_ended: bool,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

impl Emitter {
    fn put(&mut self, cs: &[char]) {
        self.out.extend(cs);
        self.col += cs.len();
    }
    fn indicator(&mut self, s: &str, need_ws: bool, ws: bool, indention: bool) {
        if !self.ws && need_ws {
            self.out.push(' ');
            self.col += 1;
        }
        self.out.push_str(s);
        self.col += s.chars().count();
        self.ws = ws;
        self.ind = self.ind && indention;
        self.open_ended = false;
    }
    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.ind || self.col > indent || (self.col == indent && !self.ws) {
            self.line_break('\n');
        }
        if self.col < indent {
            self.ws = true;
            self.out.push_str(&" ".repeat(indent - self.col));
            self.col = indent;
        }
    }
    fn line_break(&mut self, c: char) {
        self.ws = true;
        self.ind = true;
        self.col = 0;
        self.out.push(c);
    }
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None => Some(if flow { 2 } else { 0 }),
            Some(i) if !indentless => Some(i + 2),
            same => same,
        };
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn node(&mut self, v: &Value, root: bool, mapping: bool, simple_key: bool) {
        match v {
            Value::Array(a) if a.is_empty() => {
                self.indicator("[", true, true, false);
                self.indicator("]", false, false, false);
            }
            Value::Object(m) if m.is_empty() => {
                self.indicator("{", true, true, false);
                self.indicator("}", false, false, false);
            }
            Value::Array(a) => {
                let indentless = mapping && !self.ind; // a sequence directly under a key is not indented
                self.increase_indent(false, indentless);
                for x in a {
                    self.write_indent();
                    self.indicator("-", true, false, true);
                    self.node(x, false, false, false);
                }
                self.pop_indent();
            }
            Value::Object(m) => {
                self.increase_indent(false, false);
                for (k, x) in sorted(m) {
                    self.write_indent();
                    let key = Value::String(k.clone());
                    let a = analyze(k); // check_simple_key: len(scalar) + len('!!str') < 128, single line, non-empty
                    if !a.empty && !a.multiline && k.chars().count() + 5 < 128 {
                        self.node(&key, false, true, true);
                        self.indicator(":", false, false, false);
                    } else {
                        self.indicator("?", true, false, true);
                        self.node(&key, false, true, false);
                        self.write_indent();
                        self.indicator(":", true, false, true);
                    }
                    self.node(x, false, true, false);
                }
                self.pop_indent();
            }
            s => {
                self.increase_indent(true, false);
                self.scalar(s, root, simple_key);
                self.pop_indent();
            }
        }
    }

    fn scalar(&mut self, v: &Value, root: bool, simple_key: bool) {
        let (text, implicit) = match v {
            // SafeRepresenter; implicit[0] = a plain scalar would resolve back to the same tag
            Value::String(s) => (s.clone(), !resolves_non_str(s)),
            Value::Bool(b) => ((if *b { "true" } else { "false" }).to_string(), true),
            Value::Number(n) if n.is_f64() => {
                let r = py_num(n).to_lowercase(); // represent_float: repr().lower(), '1e+20' -> '1.0e+20'
                (
                    if !r.contains('.') && r.contains('e') {
                        r.replacen('e', ".0e", 1)
                    } else {
                        r
                    },
                    true,
                )
            }
            Value::Number(n) => (n.to_string(), true),
            _ => ("null".to_string(), true),
        };
        let a = analyze(&text);
        let c: Vec<char> = text.chars().collect();
        let split = !simple_key;
        if implicit && !(simple_key && (a.empty || a.multiline)) && a.block_plain {
            self.plain(&c, split, root);
        } else if a.single && !(simple_key && a.multiline) {
            self.single(&c, split);
        } else {
            self.double(&c, split);
        }
    }

    fn plain(&mut self, c: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if c.is_empty() {
            return;
        }
        if !self.ws {
            self.put(&[' ']);
        }
        self.ws = false;
        self.ind = false;
        let (mut spaces, mut start) = (false, 0);
        for end in 0..=c.len() {
            // plain is never chosen for text with line breaks, so only spaces matter
            let ch = c.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.col > 80 && split {
                        self.write_indent();
                        self.ws = false;
                        self.ind = false;
                    } else {
                        self.put(&c[start..end]);
                    }
                    start = end;
                }
            } else if ch.is_none_or(|x| x == ' ') {
                self.put(&c[start..end]);
                start = end;
            }
            if let Some(x) = ch {
                spaces = x == ' ';
            }
        }
    }

    fn single(&mut self, c: &[char], split: bool) {
        self.indicator("'", true, false, false);
        let (mut spaces, mut breaks, mut start, n) = (false, false, 0, c.len());
        for end in 0..=n {
            let ch = c.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.col > 80 && split && start != 0 && end != n {
                        self.write_indent();
                    } else {
                        self.put(&c[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.is_none_or(|x| !is_break(x)) {
                    if c[start] == '\n' {
                        self.line_break('\n');
                    }
                    for &b in &c[start..end] {
                        self.line_break(b);
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|x| x == ' ' || x == '\'' || is_break(x)) && start < end {
                self.put(&c[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.out.push_str("''");
                self.col += 2;
                start = end + 1;
            }
            if let Some(x) = ch {
                spaces = x == ' ';
                breaks = is_break(x);
            }
        }
        self.indicator("'", false, false, false);
    }

    fn double(&mut self, c: &[char], split: bool) {
        self.indicator("\"", true, false, false);
        let (mut start, n) = (0, c.len());
        for end in 0..=n {
            let ch = c.get(end).copied();
            let plain_ok = |x: char| {
                !"\"\\\u{85}\u{2028}\u{2029}\u{feff}".contains(x)
                    && ((' '..='~').contains(&x)
                        || ('\u{a0}'..='\u{d7ff}').contains(&x)
                        || ('\u{e000}'..='\u{fffd}').contains(&x))
            };
            if ch.is_none_or(|x| !plain_ok(x)) {
                if start < end {
                    self.put(&c[start..end]);
                    start = end;
                }
                if let Some(x) = ch {
                    let esc = match x {
                        // Emitter.ESCAPE_REPLACEMENTS, else \xXX / \uXXXX / \UXXXXXXXX
                        '\0' => "0".into(),
                        '\x07' => "a".into(),
                        '\x08' => "b".into(),
                        '\t' => "t".into(),
                        '\n' => "n".into(),
                        '\x0b' => "v".into(),
                        '\x0c' => "f".into(),
                        '\r' => "r".into(),
                        '\x1b' => "e".into(),
                        '"' => "\"".into(),
                        '\\' => "\\".into(),
                        '\u{85}' => "N".into(),
                        '\u{a0}' => "_".into(),
                        '\u{2028}' => "L".into(),
                        '\u{2029}' => "P".into(),
                        x if (x as u32) <= 0xff => format!("x{:02X}", x as u32),
                        x if (x as u32) <= 0xffff => format!("u{:04X}", x as u32),
                        x => format!("U{:08X}", x as u32),
                    };
                    self.put(&format!("\\{esc}").chars().collect::<Vec<_>>());
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < n
                && (ch == Some(' ') || start >= end)
                && (self.col + end) as isize - start as isize > 80
                && split
            {
                let mut data: Vec<char> = if start < end {
                    c[start..end].to_vec()
                } else {
                    Vec::new()
                };
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.put(&data);
                self.write_indent();
                self.ws = false;
                self.ind = false;
                if c[start] == ' ' {
                    self.put(&['\\']);
                }
            }
        }
        self.indicator("\"", false, false, false);
    }
}

struct Analysis {
    empty: bool,
    multiline: bool,
    block_plain: bool,
    single: bool,
}

/// Emitter.analyze_scalar with allow_unicode=True, block context only.
fn analyze(s: &str) -> Analysis {
    let c: Vec<char> = s.chars().collect();
    if c.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            block_plain: true,
            single: true,
        };
    }
    let wsb = |x: char| matches!(x, '\0' | ' ' | '\t' | '\r') || is_break(x);
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special, mut edge_ws, mut break_space, mut space_break) =
        (false, false, false, false, false);
    let (mut preceded_ws, mut followed_ws) = (true, c.len() == 1 || wsb(c[1]));
    let (mut prev_space, mut prev_break, last) = (false, false, c.len() - 1);
    for (i, &ch) in c.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) || ("?:-".contains(ch) && followed_ws) {
                block_ind = true;
            }
        } else if (ch == ':' && followed_ws) || (ch == '#' && preceded_ws) {
            block_ind = true;
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            let uni = ch == '\u{85}'
                || ('\u{a0}'..='\u{d7ff}').contains(&ch)
                || ('\u{e000}'..='\u{fffd}').contains(&ch)
                || ('\u{10000}'..'\u{10ffff}').contains(&ch);
            if !uni || ch == '\u{feff}' {
                special = true;
            }
        }
        if ch == ' ' || is_break(ch) {
            if i == 0 || i == last {
                edge_ws = true;
            } // leading/trailing space or break
            if ch == ' ' && prev_break {
                break_space = true;
            }
            if ch != ' ' && prev_space {
                space_break = true;
            }
        }
        prev_space = ch == ' ';
        prev_break = is_break(ch);
        preceded_ws = wsb(ch);
        followed_ws = i + 2 >= c.len() || wsb(c[i + 2]);
    }
    let single = !(break_space || space_break || special);
    let block_plain = !(edge_ws || !single || line_breaks || block_ind);
    Analysis {
        empty: false,
        multiline: line_breaks,
        block_plain,
        single,
    }
}

/// Resolver implicit resolvers (YAML 1.1 bool/null/int/float/timestamp/merge/value): would plain `s` load as non-str?
fn resolves_non_str(s: &str) -> bool {
    const WORDS: [&str; 23] = [
        "", "~", "null", "Null", "NULL", "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    WORDS.contains(&s) || s == "<<" || s == "=" || yaml_int(s) || yaml_float(s) || yaml_timestamp(s)
}

fn all_of(t: &str, f: impl Fn(char) -> bool) -> bool {
    !t.is_empty() && t.chars().all(f)
}
fn digit_us(c: char) -> bool {
    c.is_ascii_digit() || c == '_'
}
fn sexagesimal(r: &str) -> bool {
    r.split(':').all(|g| match g.as_bytes() {
        // (?::[0-5]?[0-9])+
        [d] => d.is_ascii_digit(),
        [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
        _ => false,
    })
}

fn yaml_int(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    if b.strip_prefix("0b")
        .is_some_and(|r| all_of(r, |c| matches!(c, '0' | '1' | '_')))
        || b.strip_prefix("0x")
            .is_some_and(|r| all_of(r, |c| c.is_ascii_hexdigit() || c == '_'))
        || b.strip_prefix('0')
            .is_some_and(|r| all_of(r, |c| matches!(c, '0'..='7' | '_')))
        || b == "0"
    {
        return true;
    }
    let (head, rest) = b.split_once(':').map_or((b, None), |(h, r)| (h, Some(r)));
    head.starts_with(|c: char| matches!(c, '1'..='9')) && all_of(head, digit_us) && rest.is_none_or(sexagesimal)
}

fn yaml_float(s: &str) -> bool {
    let exp_ok = |t: &str| {
        t.is_empty()
            || t.strip_prefix(['e', 'E'])
                .and_then(|t| t.strip_prefix(['-', '+']))
                .is_some_and(|d| all_of(d, |c| c.is_ascii_digit()))
    };
    let frac_end = |t: &str| t.find(|c: char| !digit_us(c)).unwrap_or(t.len());
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(s, ".nan" | ".NaN" | ".NAN") || matches!(b, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    if let Some(r) = s.strip_prefix('.')
        && r.starts_with(|c: char| c.is_ascii_digit())
        && exp_ok(&r[frac_end(r)..])
    {
        return true;
    }
    let Some((int, frac)) = b.split_once('.') else {
        return false;
    };
    let (head, sexa) = int.split_once(':').map_or((int, None), |(h, r)| (h, Some(r)));
    let fe = frac_end(frac);
    head.starts_with(|c: char| c.is_ascii_digit())
        && all_of(head, digit_us)
        && match sexa {
            None => exp_ok(&frac[fe..]),
            Some(r) => sexagesimal(r) && fe == frac.len(),
        }
}

fn yaml_timestamp(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let digits = |i: &mut usize, min: usize, max: usize| {
        let st = *i;
        while *i < c.len() && *i - st < max && c[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st >= min
    };
    let is = |i: &mut usize, f: &dyn Fn(char) -> bool| {
        let ok = *i < c.len() && f(c[*i]);
        if ok {
            *i += 1;
        }
        ok
    };
    let date = |i: &mut usize, lo: usize| {
        digits(i, 4, 4) && is(i, &|x| x == '-') && digits(i, lo, 2) && is(i, &|x| x == '-') && digits(i, lo, 2)
    };
    if c.len() == 10 && date(&mut i, 2) {
        return true;
    }
    i = 0;
    if !date(&mut i, 1) {
        return false;
    }
    let sep = is(&mut i, &|x| x == 'T' || x == 't') || {
        let st = i;
        while is(&mut i, &|x| x == ' ' || x == '\t') {}
        i > st
    };
    let colon = |i: &mut usize| is(i, &|x| x == ':');
    if !(sep && digits(&mut i, 1, 2) && colon(&mut i) && digits(&mut i, 2, 2) && colon(&mut i) && digits(&mut i, 2, 2))
    {
        return false;
    }
    if is(&mut i, &|x| x == '.') {
        digits(&mut i, 0, usize::MAX);
    }
    let save = i;
    while is(&mut i, &|x| x == ' ' || x == '\t') {}
    if is(&mut i, &|x| x == 'Z') || (is(&mut i, &|x| x == '-' || x == '+') && digits(&mut i, 1, 2)) {
        let j = i;
        if !(is(&mut i, &|x| x == ':') && digits(&mut i, 2, 2)) {
            i = j;
        }
    } else {
        i = save;
    }
    i == c.len()
}

// ---------- query ----------
/// JMESPath as az's --query, with python's object key order restored (see `Hints`).
pub fn query(input: &Value, expr: &str) -> Result<Value, QueryError> {
    query_inner(input, expr).map(|r| r.0)
}

fn query_inner(input: &Value, expr: &str) -> Result<(Value, Vec<Vec<String>>), QueryError> {
    let compiled = jmespath::compile(expr).map_err(|_| QueryError::Invalid(expr.to_string()))?;
    let found = compiled.search(input).map_err(|e| {
        QueryError::Runtime(match e.reason {
            jmespath::ErrorReason::Runtime(r) => r.to_string(),
            jmespath::ErrorReason::Parse(p) => p,
        })
    })?;
    let raw = serde_json::to_value(&*found).map_err(|e| QueryError::Runtime(e.to_string()))?;
    let mut hashes = Vec::new();
    collect_hashes(compiled.as_ast(), &mut hashes);
    let mut hints = Hints::default();
    hints.learn(input);
    Ok((hints.fix(raw, &hashes), hashes))
}

fn collect_hashes(ast: &jmespath::ast::Ast, out: &mut Vec<Vec<String>>) {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => {
            let mut keys: Vec<String> = Vec::new();
            for kv in elements {
                if !keys.contains(&kv.key) {
                    keys.push(kv.key.clone());
                } // python dict: a repeated key keeps its first slot
                collect_hashes(&kv.value, out);
            }
            out.push(keys);
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            collect_hashes(lhs, out);
            collect_hashes(rhs, out);
        }
        Ast::Condition { predicate, then, .. } => {
            collect_hashes(predicate, out);
            collect_hashes(then, out);
        }
        Ast::Expref { ast: node, .. }
        | Ast::Flatten { node, .. }
        | Ast::Not { node, .. }
        | Ast::ObjectValues { node, .. } => collect_hashes(node, out),
        Ast::Function { args: list, .. } | Ast::MultiList { elements: list, .. } => {
            list.iter().for_each(|a| collect_hashes(a, out))
        }
        _ => {}
    }
}

/// Key-order rule for result objects (the crate returns them key-sorted):
/// 1. keys equal to a multi-select hash's key set -> the order the expression wrote them (first such hash in the AST);
/// 2. else keys equal to some input object's key set -> that input object's order (first seen in document order);
/// 3. else (e.g. merge()) -> by first appearance of each key anywhere in the input; unknown keys last, sorted.
#[derive(Default)]
struct Hints {
    by_set: HashMap<Vec<String>, Vec<String>>,
    rank: HashMap<String, usize>,
}

impl Hints {
    fn learn(&mut self, v: &Value) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| self.learn(x)),
            Value::Object(m) => {
                let order: Vec<String> = m.keys().cloned().collect();
                let mut set = order.clone();
                set.sort();
                self.by_set.entry(set).or_insert(order);
                for (k, x) in m {
                    let n = self.rank.len();
                    self.rank.entry(k.clone()).or_insert(n);
                    self.learn(x);
                }
            }
            _ => {}
        }
    }

    fn fix(&self, v: Value, hashes: &[Vec<String>]) -> Value {
        match v {
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.fix(x, hashes)).collect()),
            Value::Object(mut m) => {
                let mut set: Vec<String> = m.keys().cloned().collect();
                set.sort();
                let order = hashes
                    .iter()
                    .find(|h| h.len() == m.len() && h.iter().all(|k| m.contains_key(k)))
                    .or_else(|| self.by_set.get(&set))
                    .cloned()
                    .unwrap_or_else(|| {
                        set.sort_by_key(|k| (self.rank.get(k).copied().unwrap_or(usize::MAX), k.clone()));
                        set
                    });
                Value::Object(
                    order
                        .into_iter()
                        .filter_map(|k| m.remove(&k).map(|x| (k, self.fix(x, hashes))))
                        .collect(),
                )
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID1: &str = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1";
    const ID2: &str = "/subscriptions/sub1/resourceGroups/rg2/providers/Microsoft.Network/virtualNetworks/vnet2";

    fn vnets() -> Value {
        json!([
            {"name": "vnet1", "id": ID1, "type": "Microsoft.Network/virtualNetworks", "location": "eastus",
             "resourceGroup": "rg1", "provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
             "subnets": [{"name": "default", "addressPrefix": "10.0.0.0/24"}], "enableDdosProtection": false},
            {"name": "vnet2", "id": ID2, "type": "Microsoft.Network/virtualNetworks", "location": "westeurope",
             "resourceGroup": "rg2", "provisioningState": "Updating",
             "addressSpace": {"addressPrefixes": ["10.1.0.0/16", "10.2.0.0/16"]},
             "subnets": [], "enableDdosProtection": true, "flowTimeoutInMinutes": 10, "dhcpOptions": null}
        ])
    }

    #[test]
    fn json_golden() {
        let want = format!(
            r#"[
  {{
    "addressSpace": {{
      "addressPrefixes": [
        "10.0.0.0/16"
      ]
    }},
    "enableDdosProtection": false,
    "id": "{ID1}",
    "location": "eastus",
    "name": "vnet1",
    "provisioningState": "Succeeded",
    "resourceGroup": "rg1",
    "subnets": [
      {{
        "addressPrefix": "10.0.0.0/24",
        "name": "default"
      }}
    ],
    "type": "Microsoft.Network/virtualNetworks"
  }},
  {{
    "addressSpace": {{
      "addressPrefixes": [
        "10.1.0.0/16",
        "10.2.0.0/16"
      ]
    }},
    "dhcpOptions": null,
    "enableDdosProtection": true,
    "flowTimeoutInMinutes": 10,
    "id": "{ID2}",
    "location": "westeurope",
    "name": "vnet2",
    "provisioningState": "Updating",
    "resourceGroup": "rg2",
    "subnets": [],
    "type": "Microsoft.Network/virtualNetworks"
  }}
]
"#
        );
        assert_eq!(render(&vnets(), Format::Json, true), want);
        assert_eq!(json(&json!([])), "[]\n");
        assert_eq!(json(&json!({})), "{}\n");
    }

    #[test]
    fn json_unicode_escapes_and_numbers() {
        let v = json!({"name": "réseau-東京", "note": "a\"b\\c\n\u{1}"});
        assert_eq!(
            json(&v),
            "{\n  \"name\": \"réseau-東京\",\n  \"note\": \"a\\\"b\\\\c\\n\\u0001\"\n}\n"
        );
        let n = json!([1, -2, 1.5, 1e20, 0.0001, 1e-5, 100.0, 1e16, 1e15]);
        assert_eq!(
            json(&n),
            "[\n  1,\n  -2,\n  1.5,\n  1e+20,\n  0.0001,\n  1e-05,\n  100.0,\n  1e+16,\n  1000000000000000.0\n]\n"
        );
    }

    #[test]
    fn jsonc_golden() {
        let (g, r) = ("\x1b[37m", "\x1b[39;49;00m");
        let c = |code: &str, t: &str| format!("{code}{t}{r}");
        let nl = |ind: &str| format!("{}\n{}", c(g, ""), c(g, ind));
        let want = [
            "{".to_string(),
            nl("  "),
            c("\x1b[94m", "\"a\""),
            ":".into(),
            c(g, " "),
            "[".into(),
            nl("    "),
            c("\x1b[34m", "1"),
            ",".into(),
            nl("    "),
            c("\x1b[34m", "true"),
            ",".into(),
            nl("    "),
            c("\x1b[34m", "null"),
            nl("  "),
            "],".into(),
            nl("  "),
            c("\x1b[94m", "\"b\""),
            ":".into(),
            c(g, " "),
            c("\x1b[33m", "\"x\""),
            format!("{}\n", c(g, "")),
            "}".into(),
            format!("{}\n", c(g, "")),
        ]
        .concat();
        assert_eq!(jsonc(&json!({"a": [1, true, null], "b": "x"})), want);
    }

    #[test]
    fn yaml_golden() {
        let want = format!(
            "- addressSpace:
    addressPrefixes:
    - 10.0.0.0/16
  enableDdosProtection: false
  id: {ID1}
  location: eastus
  name: vnet1
  provisioningState: Succeeded
  resourceGroup: rg1
  subnets:
  - addressPrefix: 10.0.0.0/24
    name: default
  type: Microsoft.Network/virtualNetworks
- addressSpace:
    addressPrefixes:
    - 10.1.0.0/16
    - 10.2.0.0/16
  dhcpOptions: null
  enableDdosProtection: true
  flowTimeoutInMinutes: 10
  id: {ID2}
  location: westeurope
  name: vnet2
  provisioningState: Updating
  resourceGroup: rg2
  subnets: []
  type: Microsoft.Network/virtualNetworks
"
        );
        assert_eq!(render(&vnets(), Format::Yaml, true), want);
    }

    #[test]
    fn yaml_quoting() {
        let v = json!({"a": "", "b": "true", "c": "null", "d": "10", "e": "1.5", "f": "a: b", "g": "- x", "h": "#x",
            "i": "x #y", "j": "2024-01-01", "k": "10.0.0.0/16", "l": "yes", "m": "it's", "n": "*", "o": "a\nb",
            "p": "x:y", "q": " lead", "r": "tab\there", "s": "0x1F", "t": "1:30", "u": "~", "v": "é", "w": "1e5",
            "x": "2001-12-14 21:59:43.10 -5", "y": "don't: x"});
        let want = "a: ''\nb: 'true'\nc: 'null'\nd: '10'\ne: '1.5'\nf: 'a: b'\ng: '- x'\nh: '#x'\ni: 'x #y'\n\
            j: '2024-01-01'\nk: 10.0.0.0/16\nl: 'yes'\nm: it's\nn: '*'\no: 'a\n\n  b'\np: x:y\nq: ' lead'\n\
            r: \"tab\\there\"\ns: '0x1F'\nt: '1:30'\nu: '~'\nv: é\nw: 1e5\nx: '2001-12-14 21:59:43.10 -5'\ny: 'don''t: x'\n";
        assert_eq!(yaml(&v), want);
        assert_eq!(yaml(&json!({"true": 1, "a b": 2})), "a b: 2\n'true': 1\n");
        assert_eq!(
            yaml(&json!({"f": 1e20, "g": 1.5, "h": -0.5})),
            "f: 1.0e+20\ng: 1.5\nh: -0.5\n"
        );
        assert_eq!(yaml(&json!("abc")), "abc\n...\n");
        assert_eq!(yaml(&json!(5)), "5\n...\n");
        assert_eq!(yaml(&json!("")), "''\n");
        assert_eq!(yaml(&json!([])), "[]\n");
        assert_eq!(yaml(&json!({})), "{}\n");
        assert_eq!(
            yaml(&json!([[1, 2], {"k": [{"a": 1}]}])),
            "- - 1\n  - 2\n- k:\n  - a: 1\n"
        );
        let long = vec!["abcd"; 17].join(" "); // width 80: the space after column 80 becomes a line break
        assert_eq!(
            yaml(&json!({"d": long})),
            format!("d: {}\n  abcd\n", vec!["abcd"; 16].join(" "))
        );
    }

    #[test]
    fn tsv_golden() {
        let t = "Microsoft.Network/virtualNetworks";
        let want = format!(
            "\tFalse\t{ID1}\teastus\tvnet1\tSucceeded\trg1\t1\t{t}\n\tNone\tTrue\t10\t{ID2}\twesteurope\tvnet2\tUpdating\trg2\t0\t{t}\n"
        );
        assert_eq!(render(&vnets(), Format::Tsv, true), want);
        assert_eq!(tsv(&json!(true)), "true\n");
        assert_eq!(
            tsv(&json!([true, null, 1.5, "x", ["a", false, null, {}]])),
            "true\nNone\n1.5\nx\na\tFalse\tNone\t\n"
        );
    }

    #[test]
    fn table_sorted_and_unsorted() {
        let sorted =
            "EnableDdosProtection    Location    Name    ProvisioningState    ResourceGroup    FlowTimeoutInMinutes
----------------------  ----------  ------  -------------------  ---------------  ----------------------
False                   eastus      vnet1   Succeeded            rg1
True                    westeurope  vnet2   Updating             rg2              10
";
        assert_eq!(render(&vnets(), Format::Table, true), sorted);
        let unsorted =
            "Name    Location    ResourceGroup    ProvisioningState    EnableDdosProtection    FlowTimeoutInMinutes
------  ----------  ---------------  -------------------  ----------------------  ----------------------
vnet1   eastus      rg1              Succeeded            False
vnet2   westeurope  rg2              Updating             True                    10
";
        assert_eq!(table(&vnets(), false), unsorted);
        assert_eq!(table(&json!([]), true), "\n");
        assert_eq!(table(&json!(["a", "bb"]), false), "Result\n--------\na\nbb\n");
        assert_eq!(table(&json!([{"a": "x\ny"}, {"a": "zz"}]), true), "A\n---\nx\ny\nzz\n");
        assert_eq!(render(&Value::Null, Format::Table, true), "");
    }

    #[test]
    fn query_table_keeps_hash_order() {
        let q = "[].{Name:name, Prefix:addressSpace.addressPrefixes[0], State:provisioningState}";
        let want = "Name    Prefix       State\n------  -----------  ---------\nvnet1   10.0.0.0/16  Succeeded\nvnet2   10.1.0.0/16  Updating\n";
        assert_eq!(render_query(&vnets(), q, Format::Table).expect("query"), want);
        let r = query(&vnets(), "[0].{Name:name, Location:location}").expect("query");
        assert_eq!(
            r.as_object().expect("obj").keys().collect::<Vec<_>>(),
            ["Name", "Location"]
        );
        assert_eq!(json(&r), "{\n  \"Location\": \"eastus\",\n  \"Name\": \"vnet1\"\n}\n"); // json output still sorts
        let cols = "Column1    Column2\n---------  ----------\nvnet1      eastus\nvnet2      westeurope\n";
        assert_eq!(
            render_query(&vnets(), "[].[name, location]", Format::Table).expect("query"),
            cols
        );
        // tsv: a multi-select hash is an OrderedDict (written order), a plain dict is key-sorted
        assert_eq!(
            render_query(&vnets(), "[].{Z:name, A:location}", Format::Tsv).expect("q"),
            "vnet1\teastus\nvnet2\twesteurope\n"
        );
        assert_eq!(
            render_query(&vnets(), "[0].subnets", Format::Tsv).expect("q"),
            "10.0.0.0/24\tdefault\n"
        );
    }

    #[test]
    fn query_filter_keeps_input_order() {
        let r = query(&vnets(), "[?contains(provisioningState, 'Succeeded')]").expect("query");
        assert_eq!(r, json!([vnets()[0].clone()]));
        let keys = |v: &Value| v.as_object().expect("obj").keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&r[0]), keys(&vnets()[0]));
        assert_eq!(keys(&r[0]["subnets"][0]), ["name", "addressPrefix"]);
        assert_eq!(keys(&query(&vnets(), "[1]").expect("q")), keys(&vnets()[1]));
        assert_eq!(query(&vnets(), "[].name").expect("q"), json!(["vnet1", "vnet2"]));
    }

    #[test]
    fn errors() {
        let e = query(&vnets(), "[?name=='x'").expect_err("bad");
        assert_eq!(
            e.to_string(),
            "argument --query: invalid jmespath_type value: \"[?name=='x'\""
        );
        assert_eq!(
            query(&vnets(), "foo[").expect_err("bad").to_string(),
            "argument --query: invalid jmespath_type value: 'foo['"
        );
        assert!(matches!(query(&vnets(), "length(`1`)"), Err(QueryError::Runtime(_))));
        assert_eq!("TSV".parse::<Format>().expect("fmt"), Format::Tsv);
        assert_eq!(
            "xml".parse::<Format>().expect_err("bad").to_string(),
            "'xml' is not a valid value for '--output'. Allowed values: json, jsonc, yaml, yamlc, table, tsv, none."
        );
        assert_eq!(render(&vnets(), Format::None, true), "");
    }
}
