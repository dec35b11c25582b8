//! How big and how deep a topology file may be, checked before the YAML
//! parser sees it: the parser slows down super-linearly on deeply nested
//! flow collections (a 250 KB `{a: {a: …}}` took 25 s), so such a file is
//! refused by one linear scan instead.
//!
//! The scan is lexical, not a YAML parser: it tracks quoted scalars,
//! comments, block scalars, flow brackets and block indentation, which is
//! enough to count nesting. It counts a sequence written at its parent key's
//! indentation as no level, so a real depth is at most about twice what it
//! counts; a topology needs about eight levels, far below the limit.

/// The largest topology file accepted (16 MiB; a 5 000-VM lab is ~1 MiB).
pub const MAX_BYTES: usize = 16 << 20;
/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// Why a text was refused before parsing.
pub(super) fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "the topology is {} bytes; at most {MAX_BYTES} (16 MiB) are accepted. Split the lab.",
            text.len()
        ));
    }
    match deeper_than(text, MAX_DEPTH) {
        Some(line) => Err(format!(
            "line {line}: the YAML is nested more than {MAX_DEPTH} levels deep; a topology needs fewer than ten. Flatten it."
        )),
        None => Ok(()),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    None,
    Single,
    Double,
}

/// The first line (1-based) where nesting goes past `max`, if any.
fn deeper_than(text: &str, max: usize) -> Option<usize> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote = Quote::None;
    // Lines indented more than this belong to a block scalar (`|`, `>`).
    let mut block_scalar: Option<usize> = None;
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let b = line.as_bytes();
        let indent = b.iter().take_while(|&&c| c == b' ').count();
        let mut start = 0;
        if quote == Quote::None && flow == 0 {
            if let Some(parent) = block_scalar {
                if indent == b.len() || indent > parent {
                    continue;
                }
                block_scalar = None;
            }
            let rest = &b[indent..];
            if rest.is_empty() || rest[0] == b'#' {
                continue;
            }
            if rest.starts_with(b"---") || rest.starts_with(b"...") {
                indents.clear();
                continue;
            }
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - x` and `? x` open one level per indicator on one line.
            start = indent;
            while start < b.len()
                && (b[start] == b'-' || b[start] == b'?')
                && b.get(start + 1).is_none_or(|c| *c == b' ')
            {
                start += 1;
                while start < b.len() && b[start] == b' ' {
                    start += 1;
                }
                indents.push(start);
            }
            if indents.len() > max {
                return Some(n + 1);
            }
        }
        let mut last_sig: Option<u8> = None;
        let mut prev: Option<u8> = None;
        let mut i = start;
        let mut block_indicator = false;
        while i < b.len() {
            let c = b[i];
            match quote {
                Quote::Double => {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b'"' {
                        quote = Quote::None;
                    }
                }
                Quote::Single => {
                    if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            quote = Quote::None;
                        }
                    }
                }
                Quote::None => {
                    let after_space = prev.is_none_or(|p| p == b' ' || p == b'\t');
                    let value_start = last_sig.is_none_or(|s| b":-?,[{".contains(&s))
                        && (after_space || flow > 0 || last_sig.is_none());
                    match c {
                        b'#' if after_space => break,
                        b'"' if value_start => quote = Quote::Double,
                        b'\'' if value_start => quote = Quote::Single,
                        b'[' | b'{' if flow > 0 || value_start => {
                            flow += 1;
                            if indents.len() + flow > max {
                                return Some(n + 1);
                            }
                        }
                        b']' | b'}' if flow > 0 => flow -= 1,
                        b'|' | b'>' if flow == 0 && value_start => block_indicator = true,
                        b' ' | b'\t' => {}
                        _ if block_indicator && (c == b'-' || c == b'+' || c.is_ascii_digit()) => {}
                        _ => block_indicator = false,
                    }
                    if c != b' ' && c != b'\t' {
                        last_sig = Some(c);
                    }
                }
            }
            prev = Some(c);
            i += 1;
        }
        if block_indicator && quote == Quote::None && flow == 0 {
            block_scalar = Some(indent);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_topologies_pass() {
        for lab in [
            include_str!("../../labs/01-peering-basics/topology.yaml"),
            "a:\n  b: [1, {c: d}]\n  e: |\n    x:\n      y:\n        z\n  f: 'it''s [ok'\n  g: \"q [ {\"\n  h: see [1\n",
        ] {
            assert_eq!(deeper_than(lab, MAX_DEPTH), None);
        }
    }

    #[test]
    fn deep_flow_and_block_nesting_are_found() {
        assert_eq!(deeper_than(&"[".repeat(65), 64), Some(1));
        assert_eq!(deeper_than(&format!("a: {}", "{b: ".repeat(70)), 64), Some(1));
        assert_eq!(deeper_than(&format!("{}x", "- ".repeat(70)), 64), Some(1));
        let block: String = (0..70).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert_eq!(deeper_than(&block, 64), Some(65));
        // Brackets in quotes, comments and block scalars do not count.
        let quiet = format!("a: '{0}'\nb: \"{0}\"\n# {0}\nc: |\n  {0}\n", "[".repeat(100));
        assert_eq!(deeper_than(&quiet, 64), None);
    }

    #[test]
    fn size_is_bounded() {
        assert!(check(&" ".repeat(MAX_BYTES + 1)).unwrap_err().contains("16 MiB"));
    }
}
