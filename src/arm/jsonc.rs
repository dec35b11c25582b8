//! ARM's lenient JSON ("JSONC"): templates may carry `//` and `/* */`
//! comments and trailing commas, and az sends a deployment's template
//! after an unquoted `template:` key. Turned into strict JSON for serde.
// Azure: azure-cli 2.91 resource/custom.py JsonCTemplatePolicy splices
// `, template:` + the file's text into the request body, "a JSONC format
// that service can deserialize"; ARM templates accept comments
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax#comments-and-metadata).

/// Strict JSON text for JSONC `src`; strings are copied untouched.
pub fn to_json(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 16);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.push_str(&src[start..i]);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                continue;
            }
            b',' => {
                // A comma before only blanks/comments and a closer is dropped.
                if !next_is_closer(b, i + 1) {
                    out.push(',');
                }
                i += 1;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                let word = &src[start..i];
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if b.get(j) == Some(&b':') && !matches!(word, "true" | "false" | "null") {
                    out.push('"');
                    out.push_str(word);
                    out.push('"');
                } else {
                    out.push_str(word);
                }
                continue;
            }
            _ => {}
        }
        let ch = src[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Whether the next token after `i` (blanks and comments skipped) is `}` or `]`.
fn next_is_closer(b: &[u8], mut i: usize) -> bool {
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(c), _) if c.is_ascii_whitespace() => i += 1,
            (Some(b'/'), Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            (Some(b'/'), Some(b'*')) => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            (Some(b'}' | b']'), _) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(s: &str) -> Value {
        serde_json::from_str(&to_json(s)).unwrap_or_else(|e| panic!("{e}: {}", to_json(s)))
    }

    #[test]
    fn az_spliced_template_key_comments_and_trailing_commas() {
        let body = "{\"properties\": {\"mode\": \"Incremental\", template:{\r\n  // hub\r\n  \"a\": [1, 2,], /* x */ \"b\": \"// not a comment, ]\",\r\n}}}";
        assert_eq!(
            parse(body),
            json!({ "properties": { "mode": "Incremental", "template": { "a": [1, 2], "b": "// not a comment, ]" } } })
        );
        assert_eq!(
            parse("{\"s\": \"q\\\"uote\", \"t\": true}"),
            json!({ "s": "q\"uote", "t": true })
        );
        assert!(serde_json::from_str::<Value>(&to_json("{\"a\": tru}")).is_err());
        // Thousands of commas: no recursion.
        let big = format!("[{}]", vec!["1"; 20000].join(","));
        assert_eq!(parse(&big).as_array().map(Vec::len), Some(20000));
    }
}
