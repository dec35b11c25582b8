//! The crate's shape, kept true: imports run one way,
//! model ← routing / nsg / topology ← dataplane ← host / daemon / az ← cli,
//! the host layer knows nothing of Azure, and the packet path has no
//! module cycle. Reads the sources; needs nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A top-level module's layer. A module may import its own layer's
/// other modules only where `SAME_LAYER` says so, and any lower layer.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        // `print` (az's table rules) is a leaf every front shares.
        // `capture` and `flowlog` are pure formats that import nothing of the crate.
        "model" | "print" | "capture" | "flowlog" => 0,
        "routing" | "nsg" | "topology" | "terraform" | "dns" => 1,
        "dataplane" => 2,
        "host" | "daemon" | "az" | "arm" | "expect" => 3,
        "cli" | "fuzzing" => 4,
        _ => return None,
    })
}

/// Imports allowed between modules of one layer (importer, imported).
/// `terraform`'s tests load what it writes through the topology loader.
const SAME_LAYER: &[(&str, &str)] = &[("daemon", "host"), ("arm", "az"), ("terraform", "topology")];

/// `host` is the machine, not Azure: it takes what it builds as arguments.
const HOST_MAY_NOT_IMPORT: &[&str] = &[
    "model",
    "routing",
    "nsg",
    "topology",
    "dataplane",
    "az",
    "daemon",
    "cli",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under src/: `dataplane/verdict/route.rs` →
/// ["dataplane", "verdict", "route"]; `mod.rs` names its folder.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// Source without comments and string literals, so prose that mentions
/// `crate::x` does not count as an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r'
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && matches!(b.get(i + 1), Some(b'#') | Some(b'"'))
        {
            // A raw string: r"…", r#"…"#, …
            let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if b[i] == b'\'' && (b.get(i + 1) == Some(&b'\\') || b.get(i + 2) == Some(&b'\'')) {
            // A char literal such as '"' or '\n' (not a lifetime).
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every path a file names from the crate root: `crate::a::b`, and each
/// branch of `use crate::{a::b, c}`; also `super::…` resolved against the
/// file's own module path.
fn crate_paths(file: &Path) -> Vec<Vec<String>> {
    crate_paths_in(&fs::read_to_string(file).expect("read source"), &module_path(file))
}

fn crate_paths_in(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let code = code_only(text);
    let mut paths = Vec::new();
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| p.trim().to_string())
            .take_while(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .collect()
    };
    for (start, _) in code.match_indices("crate::") {
        if start > 0 && code.as_bytes()[start - 1].is_ascii_alphanumeric() {
            continue; // e.g. `my_crate::`
        }
        let rest = &code[start + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for branch in body.split(',') {
                let p = ident(branch);
                if !p.is_empty() {
                    paths.push(p);
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let p = ident(&rest[..end]);
            if !p.is_empty() {
                paths.push(p);
            }
        }
    }
    // `super::` chains: resolve to a crate path. A `mod.rs` is its folder's
    // module, so its `super` is one level up, like any file's. Inside an
    // inline `mod tests { use super::*; }` this reads one level too high;
    // that stays within the same top module, which is all the tests need.
    for (start, _) in code.match_indices("super::") {
        if start >= 7 && &code[start - 7..start] == "super::" {
            continue; // counted from the chain's first `super`
        }
        let mut rest = &code[start..];
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            up += 1;
            rest = r;
        }
        if up > here.len() {
            continue;
        }
        let base = &here[..here.len() - up];
        let named = if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            body.split(',').map(ident).filter(|p| !p.is_empty()).collect()
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            vec![ident(&rest[..end])]
        };
        for n in named {
            let mut p = base.to_vec();
            p.extend(n);
            if !p.is_empty() {
                paths.push(p);
            }
        }
    }
    paths
}

struct Source {
    file: PathBuf,
    module: Vec<String>,
    imports: Vec<Vec<String>>,
}

fn sources() -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| Source {
            module: module_path(&file),
            imports: crate_paths(&file),
            file,
        })
        .collect()
}

#[test]
fn imports_run_one_way() {
    let mut wrong = Vec::new();
    for s in sources() {
        let Some(own) = s.module.first() else { continue }; // lib.rs, main.rs
        let Some(own_layer) = layer(own) else {
            wrong.push(format!(
                "{}: module `{own}` has no layer in tests/layers.rs",
                s.file.display()
            ));
            continue;
        };
        let imported: BTreeSet<&String> = s.imports.iter().filter_map(|p| p.first()).collect();
        for other in imported {
            if other == own || other == "self" {
                continue;
            }
            let Some(other_layer) = layer(other) else { continue }; // a re-export at the root
            let same_ok = SAME_LAYER.contains(&(own.as_str(), other.as_str()));
            if other_layer > own_layer || (other_layer == own_layer && !same_ok) {
                wrong.push(format!(
                    "{}: `{own}` (layer {own_layer}) imports `{other}` (layer {other_layer})",
                    s.file.display()
                ));
            }
            if own == "host" && HOST_MAY_NOT_IMPORT.contains(&other.as_str()) {
                wrong.push(format!(
                    "{}: `host` imports `{other}`: pass what it needs as arguments",
                    s.file.display()
                ));
            }
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the layer order:\n{}",
        wrong.join("\n")
    );
}

/// The submodule graph of `top`: file module → modules of `top` it names.
fn graph(top: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources() {
        if s.module.first().map(String::as_str) != Some(top) || s.module.len() < 2 {
            continue;
        }
        let me = s.module[1].clone();
        let entry = g.entry(me.clone()).or_default();
        for p in &s.imports {
            if p.first().map(String::as_str) == Some(top)
                && let Some(other) = p.get(1)
                && *other != me
            {
                entry.insert(other.clone());
            }
        }
    }
    g
}

fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

#[test]
fn the_packet_path_has_no_module_cycle() {
    let g = graph("dataplane");
    assert!(g.len() > 3, "dataplane's modules were not found: {g:?}");
    if let Some(cycle) = find_cycle(&g) {
        panic!("dataplane modules import each other in a cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_reader_sees_grouped_and_relative_imports() {
    // Guards the reader itself, so the tests above cannot pass vacuously.
    let text = "use crate::{model::Model, routing};\n// crate::cli in a comment\n\
                use super::super::nsg::X;\nlet s = \"crate::daemon\";\nfn f() { crate::az::run(); }\n\
                use super::{tables::T, packet};\n";
    let here: Vec<String> = ["dataplane", "verdict", "route"].map(String::from).to_vec();
    let firsts: Vec<String> = crate_paths_in(text, &here).into_iter().map(|p| p.join("::")).collect();
    assert_eq!(
        firsts,
        [
            "model::Model",
            "routing",
            "az::run",
            "dataplane::nsg::X",
            "dataplane::verdict::tables::T",
            "dataplane::verdict::packet"
        ]
    );
}
