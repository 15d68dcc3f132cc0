//! The query language: Lucene-style text → a syntax tree, plus times (`--since 7d`).
//!
//! Knows syntax only: no field kinds, no tantivy. The index resolves field names against the catalogue.
//!
//! Grammar (juxtaposed clauses are ANDed, as an investigator narrowing down expects):
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*
//! unary   := ("NOT" | "-") unary | primary
//! primary := "(" query ")" | "*" | FIELD ":" value | value
//! value   := WORD | WORD* | "quoted" | "(" value ("OR" value)* ")" | ("["|"{") bound "TO" bound ("]"|"}")
//! ```

use std::ops::Bound;

use thiserror::Error;

/// A value to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A bare word: exact for a field, a word (or words, as a phrase) for full text.
    Word(String),
    /// A quoted string: exact for a field, a phrase for full text.
    Quoted(String),
    /// `abc*`.
    Prefix(String),
    /// `*`: the field has any value.
    Any,
    /// `[a TO b]`, `{a TO b}`, `[a TO *]`.
    Range {
        lo: Bound<String>,
        hi: Bound<String>,
    },
}

/// A query tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Every event.
    All,
    /// `field:value`.
    Field {
        field: String,
        value: Value,
    },
    /// An unqualified value: full text.
    Text(Value),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// A query that does not parse, with the position it went wrong at.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("bad query at character {pos}: {msg}")]
pub struct ParseError {
    pub pos: usize,
    pub msg: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    LBracket(bool), // inclusive?
    RBracket(bool),
    Colon,
    Minus,
    Word(String),
    Quoted(String),
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((pos, Tok::LParen));
                i += 1
            }
            ')' => {
                out.push((pos, Tok::RParen));
                i += 1
            }
            '[' | '{' => {
                out.push((pos, Tok::LBracket(c == '[')));
                i += 1
            }
            ']' | '}' => {
                out.push((pos, Tok::RBracket(c == ']')));
                i += 1
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let (_, c) = chars[i];
                    i += 1;
                    match c {
                        '\\' if i < chars.len() => {
                            v.push(chars[i].1);
                            i += 1;
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err(ParseError {
                        pos,
                        msg: "unclosed quote".into(),
                    });
                }
                out.push((pos, Tok::Quoted(v)));
            }
            '-' if out.last().is_none_or(|(_, t)| {
                matches!(t, Tok::LParen | Tok::Word(_) | Tok::Quoted(_) | Tok::RParen)
            }) && chars.get(i + 1).is_some_and(|(_, n)| !n.is_whitespace()) =>
            {
                out.push((pos, Tok::Minus));
                i += 1
            }
            _ => {
                // A word runs to whitespace or a bracket. The first ':' splits a field name off, unless
                // the word so far cannot be a field name (then ':' is part of the value, as in ARNs).
                let mut v = String::new();
                while i < chars.len() {
                    let (_, c) = chars[i];
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '"') {
                        break;
                    }
                    if c == ':' && !v.is_empty() && is_field_name(&v) && !after_colon(&out) {
                        break;
                    }
                    if c == '\\' && i + 1 < chars.len() {
                        v.push(chars[i + 1].1);
                        i += 2;
                        continue;
                    }
                    v.push(c);
                    i += 1;
                }
                if i < chars.len() && chars[i].1 == ':' && !v.is_empty() && !after_colon(&out) {
                    out.push((pos, Tok::Word(v)));
                    out.push((chars[i].0, Tok::Colon));
                    i += 1;
                } else if v.is_empty() {
                    // A lone ':' (e.g. "eventName: :x"): report it.
                    return Err(ParseError {
                        pos,
                        msg: format!("unexpected {c:?}"),
                    });
                } else {
                    out.push((pos, Tok::Word(v)));
                }
            }
        }
    }
    Ok(out)
}

fn after_colon(out: &[(usize, Tok)]) -> bool {
    matches!(out.last(), Some((_, Tok::Colon)))
}

fn is_field_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' || c == '@')
}

/// How deep parentheses and negations may nest: far beyond any query a person writes, and shallow enough
/// that parsing, compiling and running the tree (all recursive) stay far from the stack's end (500 NOTs
/// overflowed it).
pub(crate) const MAX_DEPTH: usize = 64;
/// How many tokens a query may have: a thousand terms is a generated query already; each becomes a clause.
pub(crate) const MAX_TOKENS: usize = 2048;

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|(p, _)| *p).unwrap_or(self.end)
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            pos: self.pos(),
            msg: msg.into(),
        })
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w == kw)
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        let mut parts = vec![self.and()?];
        while self.is_kw("OR") {
            self.i += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        let mut parts = vec![self.unary()?];
        loop {
            if self.is_kw("AND") {
                self.i += 1;
                parts.push(self.unary()?);
                continue;
            }
            match self.peek() {
                None | Some(Tok::RParen) => break,
                _ if self.is_kw("OR") => break,
                _ => parts.push(self.unary()?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Node::And(parts)
        })
    }

    /// Enter one level of nesting (a negation or parentheses), refusing past [`MAX_DEPTH`].
    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!(
                "the query nests parentheses and negations more than {MAX_DEPTH} deep"
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if self.is_kw("NOT") || matches!(self.peek(), Some(Tok::Minus)) {
            self.i += 1;
            self.deeper()?;
            let n = Node::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(n);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        match self.peek().cloned() {
            None => self.err("the query ends where a term was expected"),
            Some(Tok::LParen) => {
                self.i += 1;
                self.deeper()?;
                let n = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err("missing ')'");
                }
                self.i += 1;
                self.depth -= 1;
                Ok(n)
            }
            Some(Tok::Word(w)) if matches!(self.toks.get(self.i + 1), Some((_, Tok::Colon))) => {
                self.i += 2;
                let field = w;
                if self.peek() == Some(&Tok::LParen) {
                    // field:(a OR b c)
                    self.i += 1;
                    let n = self.field_group(&field)?;
                    if self.peek() != Some(&Tok::RParen) {
                        return self.err("missing ')'");
                    }
                    self.i += 1;
                    return Ok(n);
                }
                let value = self.value()?;
                Ok(Node::Field { field, value })
            }
            Some(Tok::Word(w)) if w == "*" => {
                self.i += 1;
                Ok(Node::All)
            }
            Some(Tok::Word(w)) if w == "AND" || w == "OR" => {
                self.err(format!("{w} needs a term on each side"))
            }
            Some(Tok::Word(_)) | Some(Tok::Quoted(_)) => Ok(Node::Text(self.value()?)),
            Some(Tok::LBracket(_)) => self.err("a range needs a field: eventTime:[A TO B]"),
            Some(t) => self.err(format!("unexpected {}", describe(&t))),
        }
    }

    /// `field:(a OR b c)`: the same grammar, each value bound to `field`.
    fn field_group(&mut self, field: &str) -> Result<Node, ParseError> {
        let mut ors = Vec::new();
        loop {
            let mut ands = Vec::new();
            loop {
                let neg = if self.is_kw("NOT") || matches!(self.peek(), Some(Tok::Minus)) {
                    self.i += 1;
                    true
                } else {
                    false
                };
                let n = Node::Field {
                    field: field.to_string(),
                    value: self.value()?,
                };
                ands.push(if neg { Node::Not(Box::new(n)) } else { n });
                if self.is_kw("AND") {
                    self.i += 1;
                    continue;
                }
                if matches!(self.peek(), None | Some(Tok::RParen)) || self.is_kw("OR") {
                    break;
                }
            }
            ors.push(if ands.len() == 1 {
                ands.pop().unwrap()
            } else {
                Node::And(ands)
            });
            if self.is_kw("OR") {
                self.i += 1;
                continue;
            }
            break;
        }
        Ok(if ors.len() == 1 {
            ors.pop().unwrap()
        } else {
            Node::Or(ors)
        })
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Quoted(q)) => {
                self.i += 1;
                Ok(Value::Quoted(q))
            }
            Some(Tok::Word(w)) => {
                self.i += 1;
                if w == "*" {
                    Ok(Value::Any)
                } else if let Some(p) = w.strip_suffix('*') {
                    if p.contains('*') || p.contains('?') {
                        return self.err("only a trailing * is supported in a value");
                    }
                    Ok(Value::Prefix(p.to_string()))
                } else {
                    Ok(Value::Word(w))
                }
            }
            Some(Tok::LBracket(lo_incl)) => {
                self.i += 1;
                let lo = self.bound_word("range start")?;
                if !self.is_kw("TO") {
                    return self.err("a range is written [A TO B]");
                }
                self.i += 1;
                let hi = self.bound_word("range end")?;
                let hi_incl = match self.peek() {
                    Some(Tok::RBracket(incl)) => *incl,
                    _ => return self.err("a range ends with ] or }"),
                };
                self.i += 1;
                let b = |v: Option<String>, incl: bool| match v {
                    None => Bound::Unbounded,
                    Some(v) if incl => Bound::Included(v),
                    Some(v) => Bound::Excluded(v),
                };
                Ok(Value::Range {
                    lo: b(lo, lo_incl),
                    hi: b(hi, hi_incl),
                })
            }
            None => self.err("a value is missing after ':'"),
            Some(t) => self.err(format!("expected a value, found {}", describe(&t))),
        }
    }

    fn bound_word(&mut self, what: &str) -> Result<Option<String>, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) => {
                self.i += 1;
                Ok(if w == "*" { None } else { Some(w) })
            }
            Some(Tok::Quoted(q)) => {
                self.i += 1;
                Ok(Some(q))
            }
            _ => self.err(format!("the {what} is missing")),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket(_) => "'['".into(),
        Tok::RBracket(_) => "']'".into(),
        Tok::Colon => "':'".into(),
        Tok::Minus => "'-'".into(),
        Tok::Word(w) => format!("{w:?}"),
        Tok::Quoted(q) => format!("\"{q}\""),
    }
}

/// Parse a query; an empty query means every event.
pub fn parse(s: &str) -> Result<Node, ParseError> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Ok(Node::All);
    }
    if toks.len() > MAX_TOKENS {
        return Err(ParseError {
            pos: toks[MAX_TOKENS].0,
            msg: format!("the query has more than {MAX_TOKENS} terms and operators"),
        });
    }
    let mut p = Parser {
        toks,
        i: 0,
        end: s.len(),
        depth: 0,
    };
    let n = p.or()?;
    if p.i < p.toks.len() {
        return p.err(format!("unexpected {}", describe(&p.toks[p.i].1)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(field: &str, v: Value) -> Node {
        Node::Field {
            field: field.into(),
            value: v,
        }
    }
    fn w(s: &str) -> Value {
        Value::Word(s.into())
    }

    #[test]
    fn fields_words_and_arns() {
        assert_eq!(
            parse("eventName:CreateApp").unwrap(),
            f("eventName", w("CreateApp"))
        );
        assert_eq!(
            parse("roleArn:arn:aws:iam::1:role/x").unwrap(),
            f("roleArn", w("arn:aws:iam::1:role/x"))
        );
        assert_eq!(
            parse("requestParameters.resourceSpec.instanceType:ml.g5.12xlarge").unwrap(),
            f(
                "requestParameters.resourceSpec.instanceType",
                w("ml.g5.12xlarge")
            )
        );
        assert_eq!(
            parse("eventName:Create*").unwrap(),
            f("eventName", Value::Prefix("Create".into()))
        );
        assert_eq!(parse("errorCode:*").unwrap(), f("errorCode", Value::Any));
        assert_eq!(
            parse("\"fraud-detector-v7\"").unwrap(),
            Node::Text(Value::Quoted("fraud-detector-v7".into()))
        );
        assert_eq!(parse("").unwrap(), Node::All);
        assert_eq!(parse("*").unwrap(), Node::All);
    }

    #[test]
    fn boolean_structure() {
        let n = parse("eventName:A OR eventName:B userProfile:bob").unwrap();
        assert_eq!(
            n,
            Node::Or(vec![
                f("eventName", w("A")),
                Node::And(vec![f("eventName", w("B")), f("userProfile", w("bob"))])
            ])
        );
        let n = parse("(a OR b) AND NOT c -d").unwrap();
        assert_eq!(
            n,
            Node::And(vec![
                Node::Or(vec![Node::Text(w("a")), Node::Text(w("b"))]),
                Node::Not(Box::new(Node::Text(w("c")))),
                Node::Not(Box::new(Node::Text(w("d")))),
            ])
        );
        assert_eq!(
            parse("eventName:(A OR B)").unwrap(),
            Node::Or(vec![f("eventName", w("A")), f("eventName", w("B"))])
        );
        assert_eq!(
            parse("fraud-detector").unwrap(),
            Node::Text(w("fraud-detector"))
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse("eventTime:[2024-01-01 TO *}").unwrap(),
            f(
                "eventTime",
                Value::Range {
                    lo: Bound::Included("2024-01-01".into()),
                    hi: Bound::Unbounded
                }
            )
        );
        assert_eq!(
            parse("eventTime:{\"2024-01-01T00:00:00Z\" TO 2024-02-01]").unwrap(),
            f(
                "eventTime",
                Value::Range {
                    lo: Bound::Excluded("2024-01-01T00:00:00Z".into()),
                    hi: Bound::Included("2024-02-01".into())
                }
            )
        );
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep_not = format!("{}a", "NOT ".repeat(500));
        assert!(parse(&deep_not).unwrap_err().msg.contains("deep"));
        let deep_paren = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep_paren).unwrap_err().msg.contains("deep"));
        let huge_paren = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&huge_paren).is_err());
        let dashes = format!("{}a", "-(".repeat(100));
        assert!(parse(&dashes).is_err());
        assert!(parse(&format!("{}a", "NOT ".repeat(MAX_DEPTH))).is_ok());
        let long = vec!["a"; 5000].join(" OR ");
        assert!(parse(&long).unwrap_err().msg.contains("more than"));
        assert!(parse(&vec!["a"; 500].join(" OR ")).is_ok());
    }

    #[test]
    fn errors_say_where() {
        for bad in [
            "(a",
            "a)",
            "\"open",
            "eventName:",
            "a OR",
            "AND b",
            "x:[1 2]",
            "[1 TO 2]",
            "eventName:a*b*",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.msg.is_empty(), "{bad}");
        }
        assert_eq!(parse("(a").unwrap_err().pos, 2);
    }
}
