//! ARM's template expression syntax: the text between `[` and `]` of a
//! JSON string, parsed into a tree. Pure; evaluation is in `eval.rs`.
// Azure: template expression syntax — string literals in single quotes
// with '' as the escape, numbers, function calls, `.property` and
// `[index]` access, and `[[` at the start of a string for a literal `[`
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions).

use serde_json::Value;

/// One expression node.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Lit(Value),
    /// `name(args)`; `ns.name(args)` for a user-defined function.
    Call(String, Vec<Expr>),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

/// What a JSON string is to the evaluator.
#[derive(Debug, PartialEq)]
pub enum Text<'a> {
    Plain(&'a str),
    /// `[[…]` — the string itself, less its first `[`.
    Escaped(&'a str),
    Expression(&'a str),
}

pub fn classify(s: &str) -> Text<'_> {
    if s.starts_with("[[") {
        Text::Escaped(&s[1..])
    } else if s.len() >= 2 && s.starts_with('[') && s.ends_with(']') {
        Text::Expression(&s[1..s.len() - 1])
    } else {
        Text::Plain(s)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

pub fn parse(src: &str) -> Result<Expr, String> {
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        pos: 0,
    };
    let e = p.expr()?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.error("the end of the expression"));
    }
    Ok(e)
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    fn error(&self, wanted: &str) -> String {
        format!(
            "The language expression '{}' is not valid: expected {wanted} at position {}.",
            self.src, self.pos
        )
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("'{}'", c as char)))
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.ws();
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || (*c == b'$' && self.pos == start))
        {
            self.pos += 1;
        }
        (self.pos > start && !self.s[start].is_ascii_digit()).then(|| self.src[start..self.pos].to_string())
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.pos += 1;
                    // `.?` is the null-safe access Bicep emits; a missing member is null either way.
                    if self.s.get(self.pos) == Some(&b'?') {
                        self.pos += 1;
                    }
                    let name = self.ident().ok_or_else(|| self.error("a property name"))?;
                    e = Expr::Member(Box::new(e), name);
                }
                Some(b'[') => {
                    self.pos += 1;
                    let i = self.expr()?;
                    self.eat(b']')?;
                    e = Expr::Index(Box::new(e), Box::new(i));
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(b'\'') => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    let rest = &self.src[self.pos..];
                    let Some(q) = rest.find('\'') else {
                        return Err(self.error("a closing quote"));
                    };
                    out.push_str(&rest[..q]);
                    self.pos += q + 1;
                    if self.s.get(self.pos) == Some(&b'\'') {
                        out.push('\'');
                        self.pos += 1;
                    } else {
                        return Ok(Expr::Lit(Value::String(out)));
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let start = self.pos;
                self.pos += 1;
                while self.s.get(self.pos).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
                    self.pos += 1;
                }
                let text = &self.src[start..self.pos];
                if let Ok(i) = text.parse::<i64>() {
                    Ok(Expr::Lit(Value::from(i)))
                } else {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(|n| Expr::Lit(Value::Number(n)))
                        .ok_or_else(|| self.error("a number"))
                }
            }
            _ => {
                let mut name = self.ident().ok_or_else(|| self.error("a function name or literal"))?;
                // `namespace.function(` names a user-defined function.
                if self.s.get(self.pos) == Some(&b'.') {
                    let save = self.pos;
                    self.pos += 1;
                    match self.ident() {
                        Some(member) if self.peek() == Some(b'(') => name = format!("{name}.{member}"),
                        _ => self.pos = save,
                    }
                }
                if self.peek() != Some(b'(') {
                    return match name.to_ascii_lowercase().as_str() {
                        "true" => Ok(Expr::Lit(Value::Bool(true))),
                        "false" => Ok(Expr::Lit(Value::Bool(false))),
                        "null" => Ok(Expr::Lit(Value::Null)),
                        _ => Err(self.error(&format!("'(' after the function name '{name}'"))),
                    };
                }
                self.pos += 1;
                let mut args = Vec::new();
                if self.peek() == Some(b')') {
                    self.pos += 1;
                    return Ok(Expr::Call(name, args));
                }
                loop {
                    args.push(self.expr()?);
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(Expr::Call(name, args));
                        }
                        _ => return Err(self.error("',' or ')'")),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(n: &str, a: Vec<Expr>) -> Expr {
        Expr::Call(n.into(), a)
    }

    #[test]
    fn literals_calls_and_access() {
        assert_eq!(parse("'it''s'"), Ok(Expr::Lit(json!("it's"))));
        assert_eq!(parse(" -12 "), Ok(Expr::Lit(json!(-12))));
        assert_eq!(parse("true"), Ok(Expr::Lit(json!(true))));
        assert_eq!(
            parse("concat('a', parameters('p'))"),
            Ok(call(
                "concat",
                vec![Expr::Lit(json!("a")), call("parameters", vec![Expr::Lit(json!("p"))])]
            ))
        );
        assert_eq!(
            parse("resourceGroup().location"),
            Ok(Expr::Member(Box::new(call("resourceGroup", vec![])), "location".into()))
        );
        assert_eq!(
            parse("variables('a')[0].b"),
            Ok(Expr::Member(
                Box::new(Expr::Index(
                    Box::new(call("variables", vec![Expr::Lit(json!("a"))])),
                    Box::new(Expr::Lit(json!(0)))
                )),
                "b".into()
            ))
        );
        assert_eq!(parse("lab.f(1)"), Ok(call("lab.f", vec![Expr::Lit(json!(1))])));
        assert_eq!(parse("'a]b'"), Ok(Expr::Lit(json!("a]b"))));
    }

    #[test]
    fn malformed_is_refused_with_a_position() {
        for bad in ["concat('a'", "'open", "f(1,)", "x", "f() g()", "a..b"] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("is not valid: expected"), "{e}");
        }
    }

    #[test]
    fn escapes_and_plain_strings() {
        assert_eq!(classify("[[notExpr]"), Text::Escaped("[notExpr]"));
        assert_eq!(classify("[f()]"), Text::Expression("f()"));
        assert_eq!(classify("plain"), Text::Plain("plain"));
        assert_eq!(classify("["), Text::Plain("["));
    }
}
