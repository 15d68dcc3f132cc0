//! A Sigma rule's `condition`: parsed into a tree over the rule's search identifiers.
//!
//! Grammar (Sigma specification 2.0, without aggregations): `or` binds loosest, then `and`, then `not`;
//! parentheses; `1 of X`, `all of X` and `N of X` where X is a search identifier, a wildcard pattern
//! over them (`selection_*`) or `them`. Keywords are matched case-insensitively. Patterns are resolved
//! against the rule's identifiers here, so evaluation never sees a name.

use std::collections::BTreeSet;

/// Deepest nesting of parentheses and `not` accepted: a condition deeper than this is refused, not a
/// stack overflow (real rules nest two or three levels).
const MAX_DEPTH: usize = 32;

/// A condition, its identifiers resolved to positions in the rule's list of searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cond {
    Search(usize),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// At least `n` of these searches.
    AtLeast(usize, Vec<usize>),
}

impl Cond {
    /// Whether the condition holds, given which searches matched.
    pub(crate) fn eval(&self, matched: &[bool]) -> bool {
        match self {
            Cond::Search(i) => matched[*i],
            Cond::And(v) => v.iter().all(|c| c.eval(matched)),
            Cond::Or(v) => v.iter().any(|c| c.eval(matched)),
            Cond::Not(c) => !c.eval(matched),
            Cond::AtLeast(n, v) => v.iter().filter(|i| matched[**i]).count() >= *n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    Pipe,
}

fn lex(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Tok>| {
        if !word.is_empty() {
            out.push(Tok::Word(std::mem::take(word)));
        }
    };
    for c in s.chars() {
        match c {
            '(' | ')' | '|' => {
                flush(&mut word, &mut out);
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Pipe,
                });
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Whether `name` matches a Sigma identifier pattern (`*` any run of characters, `?` one); the greedy
/// two-pointer match, linear in practice and never exponential, whatever the pattern.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || (p[i] != '*' && p[i] == n[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
    used: BTreeSet<usize>,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Result<Cond, String> {
        let mut v = vec![self.and(depth)?];
        while is_kw(self.peek(), "or") {
            self.pos += 1;
            v.push(self.and(depth)?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Cond::Or(vec![]))
        } else {
            Cond::Or(v)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Cond, String> {
        let mut v = vec![self.not(depth)?];
        while is_kw(self.peek(), "and") {
            self.pos += 1;
            v.push(self.not(depth)?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Cond::And(vec![]))
        } else {
            Cond::And(v)
        })
    }

    fn not(&mut self, depth: usize) -> Result<Cond, String> {
        if depth > MAX_DEPTH {
            return Err(format!("condition nests deeper than {MAX_DEPTH}"));
        }
        if is_kw(self.peek(), "not") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn resolve(&mut self, pattern: &str) -> Result<Vec<usize>, String> {
        let found: Vec<usize> = if pattern.eq_ignore_ascii_case("them") {
            // `them` is every search except those whose names start with an underscore (spec).
            (0..self.names.len())
                .filter(|i| !self.names[*i].starts_with('_'))
                .collect()
        } else {
            (0..self.names.len())
                .filter(|i| wildcard_match(pattern, &self.names[*i]))
                .collect()
        };
        if found.is_empty() {
            return Err(format!(
                "condition names {pattern:?}, which no search matches"
            ));
        }
        self.used.extend(found.iter().copied());
        Ok(found)
    }

    fn primary(&mut self, depth: usize) -> Result<Cond, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let c = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err("condition: a parenthesis is not closed".into());
                }
                self.pos += 1;
                Ok(c)
            }
            Some(Tok::Word(w)) if is_kw(self.toks.get(self.pos + 1), "of") => {
                self.pos += 2;
                let Some(Tok::Word(pattern)) = self.toks.get(self.pos).cloned() else {
                    return Err(format!("condition: {w} of what?"));
                };
                self.pos += 1;
                let set = self.resolve(&pattern)?;
                let n = if w.eq_ignore_ascii_case("all") {
                    set.len()
                } else if w.eq_ignore_ascii_case("any") {
                    1
                } else {
                    w.parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("condition: {w:?} of is not a count"))?
                };
                Ok(Cond::AtLeast(n, set))
            }
            Some(Tok::Word(w)) => {
                if ["and", "or", "of"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    return Err(format!("condition: {w:?} where a search was expected"));
                }
                self.pos += 1;
                if w.contains(['*', '?']) {
                    // A bare pattern means the same as `1 of` it (pySigma's reading).
                    return Ok(Cond::AtLeast(1, self.resolve(&w)?));
                }
                let i = self
                    .names
                    .iter()
                    .position(|n| *n == w)
                    .ok_or_else(|| format!("condition names {w:?}, which is not a search"))?;
                self.used.insert(i);
                Ok(Cond::Search(i))
            }
            Some(Tok::RParen) => Err("condition: unexpected ')'".into()),
            Some(Tok::Pipe) => {
                Err("condition: aggregations (`| count()` ...) are not supported".into())
            }
            None => Err("condition ends early".into()),
        }
    }
}

/// Parse one condition string over the rule's search names.
pub(crate) fn parse(s: &str, names: &[String]) -> Result<Cond, String> {
    let toks = lex(s);
    if toks.contains(&Tok::Pipe) {
        return Err("condition: aggregations (`| count()` ...) are not supported".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        used: BTreeSet::new(),
    };
    let c = p.or(0)?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "condition: unexpected text after position {}",
            p.pos
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn m(bits: &[bool]) -> Vec<bool> {
        bits.to_vec()
    }

    #[test]
    fn precedence_not_and_or() {
        let n = names(&["a", "b", "c"]);
        let c = parse("a or b and not c", &n).unwrap();
        assert!(c.eval(&m(&[true, false, true])));
        assert!(!c.eval(&m(&[false, true, true])));
        assert!(c.eval(&m(&[false, true, false])));
        let c = parse("(a or b) and not c", &n).unwrap();
        assert!(!c.eval(&m(&[true, false, true])));
        let c = parse("NOT a AND b", &n).unwrap();
        assert!(c.eval(&m(&[false, true, false])));
    }

    #[test]
    fn of_patterns_and_them() {
        let n = names(&["selection_a", "selection_b", "filter_x", "_private"]);
        let c = parse("1 of selection_* and not 1 of filter*", &n).unwrap();
        assert!(c.eval(&m(&[false, true, false, false])));
        assert!(!c.eval(&m(&[false, true, true, false])));
        let c = parse("all of selection_*", &n).unwrap();
        assert!(!c.eval(&m(&[false, true, false, false])));
        assert!(c.eval(&m(&[true, true, false, false])));
        let c = parse("all of them", &n).unwrap();
        assert!(c.eval(&m(&[true, true, true, false])), "them skips _names");
        let c = parse("2 of them", &n).unwrap();
        assert!(c.eval(&m(&[true, false, true, false])));
        assert!(!c.eval(&m(&[true, false, false, true])));
    }

    #[test]
    fn errors_name_the_problem() {
        let n = names(&["selection"]);
        assert!(parse("selection | count() > 5", &n)
            .unwrap_err()
            .contains("aggregations"));
        assert!(parse("nope", &n).unwrap_err().contains("\"nope\""));
        assert!(parse("1 of filter_*", &n)
            .unwrap_err()
            .contains("no search"));
        assert!(parse("(selection", &n).unwrap_err().contains("not closed"));
        assert!(parse("selection and", &n).unwrap_err().contains("early"));
        assert!(parse("selection selection", &n).is_err());
        let deep = format!("{}selection{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep, &n).unwrap_err().contains("deeper"));
        let nots = format!("{}selection", "not ".repeat(100));
        assert!(parse(&nots, &n).unwrap_err().contains("deeper"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("sel*", "selection"));
        assert!(wildcard_match("s?l*n", "selection"));
        assert!(!wildcard_match("filter*", "selection"));
        assert!(wildcard_match("*", ""));
    }
}
