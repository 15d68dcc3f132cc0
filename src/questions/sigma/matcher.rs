//! A Sigma rule's searches, compiled: field names with value modifiers into tests on one CloudTrail record.
//!
//! Field names are CloudTrail's (`userIdentity.sessionContext.sessionIssuer.type`); a dotted name walks
//! objects and fans out through arrays, so `requestParameters.layers` matches any layer. A field that is
//! an object in the record (`requestParameters|contains`) is matched as its JSON text. Plain values match
//! the whole value case-insensitively with `*` and `?` wildcards (`\` escapes them), as the specification
//! says; a `null` value matches an absent or null field. What this module cannot run is an error naming the
//! modifier or form, which the rule's loader reports as the reason the rule was not run.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::{Regex, RegexBuilder};
use serde_json::Value as Json;

/// Largest compiled program of one value's regex: rule files come from anywhere, and a value of a few
/// kilobytes with nested repetitions must be refused, not allowed to take the memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A value test on the strings found at a field.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    /// The field is absent or null.
    Null,
    Pattern(Regex),
    Cidr(IpNet),
    Compare(Cmp, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// One `field|modifiers: values` line of a selection.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// `|exists: true|false`.
    Exists(bool),
    /// `|fieldref`: the field's value equals the value of one (or with `all`, each) of these fields.
    FieldRef {
        fields: Vec<Vec<String>>,
        all: bool,
    },
    Values {
        preds: Vec<Pred>,
        all: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// None: a keyword search, over every string of the record.
    path: Option<Vec<String>>,
    test: Test,
}

/// A search identifier's definition: a map (every item holds), a list of maps (any map holds), or
/// keywords (any value appears in any string of the record).
#[derive(Debug, Clone)]
pub(crate) enum Search {
    AllOf(Vec<Item>),
    AnyOf(Vec<Vec<Item>>),
}

/// A value found at a field.
enum Found<'a> {
    Null,
    Text(std::borrow::Cow<'a, str>),
}

fn text_of(v: &Json) -> Found<'_> {
    match v {
        Json::Null => Found::Null,
        Json::String(s) => Found::Text(s.as_str().into()),
        Json::Bool(b) => Found::Text(if *b { "true" } else { "false" }.into()),
        Json::Number(n) => Found::Text(n.to_string().into()),
        other => Found::Text(other.to_string().into()),
    }
}

/// Every value at `path`: objects walked, arrays fanned out at every step and at the end.
fn collect<'a>(v: &'a Json, path: &[String], out: &mut Vec<Found<'a>>) {
    match v {
        Json::Array(a) => a.iter().for_each(|x| collect(x, path, out)),
        _ => match path.split_first() {
            None => out.push(text_of(v)),
            Some((p, rest)) => {
                if let Json::Object(m) = v {
                    if let Some(x) = m.get(p.as_str()) {
                        collect(x, rest, out);
                    } else if let Some(x) = m.get(path.join(".").as_str()) {
                        // A key that has dots in it, as some services write.
                        out.push(text_of(x));
                    }
                }
            }
        },
    }
}

/// Every string and scalar leaf of the record, for keyword searches.
fn leaves<'a>(v: &'a Json, out: &mut Vec<Found<'a>>) {
    match v {
        Json::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Json::Object(m) => m.values().for_each(|x| leaves(x, out)),
        Json::Null => {}
        other => out.push(text_of(other)),
    }
}

impl Pred {
    fn holds(&self, found: &[Found]) -> bool {
        match self {
            Pred::Null => found.is_empty() || found.iter().any(|f| matches!(f, Found::Null)),
            Pred::Pattern(re) => found
                .iter()
                .any(|f| matches!(f, Found::Text(t) if re.is_match(t))),
            Pred::Cidr(net) => found.iter().any(|f| {
                matches!(f, Found::Text(t) if t.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)))
            }),
            Pred::Compare(cmp, x) => found.iter().any(|f| {
                let Found::Text(t) = f else { return false };
                let Ok(v) = t.trim().parse::<f64>() else {
                    return false;
                };
                match cmp {
                    Cmp::Lt => v < *x,
                    Cmp::Lte => v <= *x,
                    Cmp::Gt => v > *x,
                    Cmp::Gte => v >= *x,
                }
            }),
        }
    }
}

impl Item {
    fn holds(&self, rec: &Json) -> bool {
        let mut found = Vec::new();
        match &self.path {
            Some(p) => collect(rec, p, &mut found),
            None => leaves(rec, &mut found),
        }
        match &self.test {
            Test::Exists(want) => {
                let present = found.iter().any(|f| matches!(f, Found::Text(_)));
                present == *want
            }
            Test::FieldRef { fields, all } => {
                let is_equal = |other: &Vec<String>| {
                    let mut theirs = Vec::new();
                    collect(rec, other, &mut theirs);
                    found.iter().any(|a| {
                        theirs.iter().any(|b| match (a, b) {
                            (Found::Text(x), Found::Text(y)) => x == y,
                            _ => false,
                        })
                    })
                };
                if *all {
                    fields.iter().all(is_equal)
                } else {
                    fields.iter().any(is_equal)
                }
            }
            Test::Values { preds, all } => {
                if *all {
                    preds.iter().all(|p| p.holds(&found))
                } else {
                    preds.iter().any(|p| p.holds(&found))
                }
            }
        }
    }
}

impl Search {
    pub(crate) fn holds(&self, rec: &Json) -> bool {
        match self {
            Search::AllOf(items) => items.iter().all(|i| i.holds(rec)),
            Search::AnyOf(maps) => maps.iter().any(|m| m.iter().all(|i| i.holds(rec))),
        }
    }
}

/// Where a plain value must sit in the field's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Whole,
    Contains,
    StartsWith,
    EndsWith,
}

/// A Sigma value with wildcards as a regex: `*` any run, `?` one character, `\*` `\?` `\\` literal.
fn wildcard_regex(value: &str, anchor: Anchor, cased: bool) -> Result<Regex, String> {
    let mut body = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    body.push_str(&regex::escape(&n.to_string()));
                    chars.next();
                }
                _ => body.push_str(r"\\"),
            },
            '*' => body.push_str(".*"),
            '?' => body.push('.'),
            c => body.push_str(&regex::escape(&c.to_string())),
        }
    }
    let (start, end) = match anchor {
        Anchor::Whole => ("^", "$"),
        Anchor::Contains => ("", ""),
        Anchor::StartsWith => ("^", ""),
        Anchor::EndsWith => ("", "$"),
    };
    build(&format!("{start}{body}{end}"), !cased, false, true)
}

fn build(
    pattern: &str,
    insensitive: bool,
    multi_line: bool,
    dot_all: bool,
) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(insensitive)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // The regex crate's message spans lines (the pattern, a caret, the error): keep the error.
            let msg = e.to_string();
            let last = msg.lines().last().unwrap_or("").trim();
            format!(
                "value {pattern:?} does not compile: {}",
                last.strip_prefix("error: ").unwrap_or(last)
            )
        })
}

/// A rule value as text: strings as written, numbers and booleans as YAML wrote them.
fn scalar(v: &Json) -> Result<Option<String>, String> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s.clone())),
        Json::Bool(b) => Ok(Some(b.to_string())),
        Json::Number(n) => Ok(Some(n.to_string())),
        Json::Array(_) => Err("a list inside a list of values".into()),
        Json::Object(_) => Err("a map as a value".into()),
    }
}

/// Compile `field|mod|mod: value(s)`; `field` empty means a keyword search.
pub(crate) fn item(key: &str, value: &Json) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("");
    let mods: Vec<&str> = parts.collect();
    let path = (!field.is_empty()).then(|| field.split('.').map(str::to_string).collect());
    let values: Vec<Option<String>> = match value {
        Json::Array(a) => a.iter().map(scalar).collect::<Result<_, _>>()?,
        v => vec![scalar(v)?],
    };
    if values.is_empty() {
        return Err(format!("{key}: an empty list of values"));
    }
    let (mut anchor, mut all, mut cased) = (Anchor::Whole, false, false);
    let mut kind = "plain";
    let mut re_flags = (false, false, false);
    for m in &mods {
        match *m {
            "contains" => anchor = Anchor::Contains,
            "startswith" => anchor = Anchor::StartsWith,
            "endswith" => anchor = Anchor::EndsWith,
            "all" => all = true,
            "cased" => cased = true,
            "re" | "cidr" | "exists" | "fieldref" | "lt" | "lte" | "gt" | "gte" => kind = m,
            "i" if kind == "re" => re_flags.0 = true,
            "m" if kind == "re" => re_flags.1 = true,
            "s" if kind == "re" => re_flags.2 = true,
            other => {
                return Err(format!(
                    "{key}: the value modifier {other:?} is not supported (supported: contains, startswith, endswith, all, cased, re with i/m/s, cidr, exists, fieldref, lt, lte, gt, gte)"
                ))
            }
        }
    }
    let need_text = |v: &Option<String>| {
        v.clone()
            .ok_or_else(|| format!("{key}: null is not a value for |{kind}"))
    };
    let test = match kind {
        "exists" => match values.as_slice() {
            [Some(v)] if v == "true" => Test::Exists(true),
            [Some(v)] if v == "false" => Test::Exists(false),
            _ => return Err(format!("{key}: |exists takes true or false")),
        },
        "fieldref" => Test::FieldRef {
            fields: values
                .iter()
                .map(|v| need_text(v).map(|f| f.split('.').map(str::to_string).collect()))
                .collect::<Result<_, _>>()?,
            all,
        },
        "re" => Test::Values {
            preds: values
                .iter()
                .map(|v| {
                    let (i, m, s) = re_flags;
                    build(&need_text(v)?, i, m, s).map(Pred::Pattern)
                })
                .collect::<Result<_, _>>()?,
            all,
        },
        "cidr" => Test::Values {
            preds: values
                .iter()
                .map(|v| {
                    let t = need_text(v)?;
                    t.parse::<IpNet>()
                        .map(Pred::Cidr)
                        .map_err(|_| format!("{key}: {t:?} is not a CIDR"))
                })
                .collect::<Result<_, _>>()?,
            all,
        },
        "lt" | "lte" | "gt" | "gte" => {
            let cmp = match kind {
                "lt" => Cmp::Lt,
                "lte" => Cmp::Lte,
                "gt" => Cmp::Gt,
                _ => Cmp::Gte,
            };
            Test::Values {
                preds: values
                    .iter()
                    .map(|v| {
                        let t = need_text(v)?;
                        t.parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite())
                            .map(|x| Pred::Compare(cmp, x))
                            .ok_or_else(|| format!("{key}: {t:?} is not a number"))
                    })
                    .collect::<Result<_, _>>()?,
                all,
            }
        }
        _ => {
            // Keywords match anywhere in a string, as full-text searches do.
            let anchor = if path.is_none() && anchor == Anchor::Whole {
                Anchor::Contains
            } else {
                anchor
            };
            Test::Values {
                preds: values
                    .iter()
                    .map(|v| match v {
                        None => Ok(Pred::Null),
                        Some(t) => wildcard_regex(t, anchor, cased).map(Pred::Pattern),
                    })
                    .collect::<Result<_, _>>()?,
                all,
            }
        }
    };
    Ok(Item { path, test })
}

fn map_items(m: &serde_json::Map<String, Json>) -> Result<Vec<Item>, String> {
    if m.is_empty() {
        return Err("an empty map".into());
    }
    m.iter().map(|(k, v)| item(k, v)).collect()
}

/// Compile one search identifier's definition.
pub(crate) fn search(v: &Json) -> Result<Search, String> {
    match v {
        Json::Object(m) => Ok(Search::AllOf(map_items(m)?)),
        Json::Array(a) if a.iter().all(Json::is_object) && !a.is_empty() => Ok(Search::AnyOf(
            a.iter()
                .filter_map(Json::as_object)
                .map(map_items)
                .collect::<Result<_, _>>()?,
        )),
        Json::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) && !a.is_empty() => {
            Ok(Search::AllOf(vec![item("", v)?]))
        }
        Json::String(_) | Json::Number(_) => Ok(Search::AllOf(vec![item("", v)?])),
        _ => Err("a search must be a map, a list of maps or a list of keywords".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(key: &str, value: Json, rec: &Json) -> bool {
        item(key, &value).unwrap().holds(rec)
    }

    #[test]
    fn plain_values_are_whole_and_case_insensitive_with_wildcards() {
        let r = json!({"eventName":"StopLogging","n":3,"b":false,"a":["x","Y"]});
        assert!(holds("eventName", json!("stoplogging"), &r));
        assert!(!holds("eventName", json!("Stop"), &r));
        assert!(holds("eventName", json!("Stop*"), &r));
        assert!(holds("eventName", json!("St?pLogging"), &r));
        assert!(holds("eventName", json!(["A", "StopLogging"]), &r));
        assert!(holds("n", json!(3), &r));
        assert!(holds("b", json!("false"), &r));
        assert!(holds("b", json!(false), &r));
        assert!(holds("a", json!("y"), &r), "arrays fan out");
        assert!(!holds("eventName|cased", json!("stoplogging"), &r));
        // Escapes: a literal star.
        let s = json!({"k":"a*b","k2":"axb"});
        assert!(holds("k", json!(r"a\*b"), &s));
        assert!(!holds("k2", json!(r"a\*b"), &s));
        assert!(holds("k2", json!("a*b"), &s));
    }

    #[test]
    fn modifiers() {
        let r = json!({"userAgent":"S3 Browser 9.5","ip":"10.1.2.3","t":"50",
            "requestParameters":{"status":"Suspended","x":[{"cmd":["sh","-c","curl $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]},
            "userIdentity":{"arn":"arn:aws:iam::1:user/bob"},"rp":{"userName":"bob"},"same":"arn:aws:iam::1:user/bob"});
        assert!(holds("userAgent|contains", json!("browser"), &r));
        assert!(holds("userAgent|startswith", json!("S3 "), &r));
        assert!(holds("userAgent|endswith", json!("9.5"), &r));
        assert!(!holds("userAgent|endswith", json!("S3"), &r));
        assert!(holds("userAgent|contains|all", json!(["S3", "9.5"]), &r));
        assert!(!holds("userAgent|contains|all", json!(["S3", "10"]), &r));
        assert!(
            holds("requestParameters|contains", json!("Suspended"), &r),
            "objects as JSON text"
        );
        assert!(holds(
            "requestParameters.x.cmd|contains",
            json!("$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            &r
        ));
        assert!(holds(
            "userIdentity.arn|re",
            json!("^arn:aws:iam::[0-9]+:user/"),
            &r
        ));
        assert!(
            !holds("userIdentity.arn|re", json!("USER"), &r),
            "re is cased"
        );
        assert!(holds("userIdentity.arn|re|i", json!("USER"), &r));
        assert!(holds(
            "ip|cidr",
            json!(["192.168.0.0/16", "10.0.0.0/8"]),
            &r
        ));
        assert!(!holds("ip|cidr", json!("192.168.0.0/16"), &r));
        assert!(holds("t|gt", json!(10), &r));
        assert!(!holds("t|lt", json!(10), &r));
        assert!(holds("t|lte", json!(50), &r));
        assert!(holds("ip|exists", json!(true), &r));
        assert!(holds("nope|exists", json!(false), &r));
        assert!(holds("userIdentity.arn|fieldref", json!("same"), &r));
        assert!(!holds(
            "userIdentity.arn|fieldref",
            json!("rp.userName"),
            &r
        ));
        assert!(
            holds("|contains", json!("suspended"), &r),
            "keywords search every string"
        );
    }

    #[test]
    fn null_is_absent_or_null() {
        let r = json!({"errorCode":null,"x":"1"});
        assert!(holds("errorCode", Json::Null, &r));
        assert!(holds("missing", Json::Null, &r));
        assert!(!holds("x", Json::Null, &r));
        assert!(
            !holds("missing", json!("*"), &r),
            "a wildcard needs a value"
        );
    }

    #[test]
    fn unsupported_forms_are_errors_naming_them() {
        assert!(item("a|base64offset|contains", &json!("x"))
            .unwrap_err()
            .contains("\"base64offset\""));
        assert!(item("a|windash", &json!("x"))
            .unwrap_err()
            .contains("windash"));
        assert!(item("a", &json!({"b": 1})).unwrap_err().contains("map"));
        assert!(item("a|cidr", &json!("nope")).unwrap_err().contains("CIDR"));
        assert!(item("a|re", &json!("(")).unwrap_err().contains("compile"));
        assert!(
            item("a|re", &json!("(?=x)")).is_err(),
            "look-around is not in this regex dialect"
        );
        assert!(item("a|re", &json!("a{1000}{1000}")).is_err(), "size limit");
        assert!(item("a|exists", &json!("maybe")).is_err());
        assert!(item("a", &json!([])).is_err());
        assert!(search(&json!(null)).is_err());
        assert!(search(&json!({})).is_err());
    }

    #[test]
    fn lists_of_maps_are_or() {
        let s = search(&json!([{"eventSource":"ssm.amazonaws.com"},{"eventName":"X"}])).unwrap();
        assert!(s.holds(&json!({"eventName":"x"})));
        assert!(!s.holds(&json!({"eventName":"y"})));
        let s =
            search(&json!({"eventSource":"iam.amazonaws.com","eventName":"CreateUser"})).unwrap();
        assert!(!s.holds(&json!({"eventName":"CreateUser"})), "a map is and");
    }
}
