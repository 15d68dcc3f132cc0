//! Query compilation: the query tree and a time window turned into one tantivy query over the schema's
//! fields — keywords (exact, case-folded, prefix, range), identifiers by digest, the open path field,
//! full text (phrases verified against the record), dates at millisecond precision — and never a ledger
//! document. Unknown `stats --by` names get the nearest catalogue names.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, InvertedIndexRangeQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DateTime, Index, Term};

use super::phrase::{Verbatim, VerifiedPhrase};
use super::read::SearchRequest;
use super::schema::{id_term, Fields, DOC_LEDGER, PATH_SEP, TEXT_TOKENIZER};
use super::IndexError;
use crate::catalog::{self, names, FieldKind};
use crate::normalise::time::{MAX_MS, MIN_MS};
use crate::normalise::ACCESS_KEY_PATHS;
use crate::query::{Node, Value};
use crate::time::{now_ms, parse_time};

/// Compiles requests against one index's schema and tokenizers.
pub(crate) struct Compiler<'a> {
    pub index: &'a Index,
    pub fields: &'a Fields,
}

impl Compiler<'_> {
    /// Compile a request into one tantivy query: the tree, the time window, and never a ledger document.
    pub(crate) fn compile(&self, req: &SearchRequest) -> Result<Box<dyn Query>, IndexError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, self.node(&req.node)?),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.doc, DOC_LEDGER),
                    IndexRecordOption::Basic,
                )),
            ),
        ];
        if req.since_ms.is_some() || req.until_ms.is_some() {
            // A bound beyond what the index can hold is no bound at all (an open end stays open): no
            // stored time lies outside [MIN_MS, MAX_MS].
            let lo = req
                .since_ms
                .filter(|t| *t > MIN_MS)
                .map(|t| Bound::Included(self.date_term(t)))
                .unwrap_or(Bound::Unbounded);
            let hi = req
                .until_ms
                .filter(|t| *t <= MAX_MS)
                .map(|t| Bound::Excluded(self.date_term(t)))
                .unwrap_or(Bound::Unbounded);
            if !matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
                clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
            }
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// The term of a time bound, at the column's millisecond precision (`from_field_date_for_search`
    /// truncates to seconds, which made `--until 10:00:00.001` exclude 10:00:00.000), clamped to the
    /// times the index can hold (tantivy keeps i64 nanoseconds; beyond, the value would wrap).
    fn date_term(&self, ms: i64) -> Term {
        Term::from_field_date(
            self.fields.time,
            DateTime::from_timestamp_millis(ms.clamp(MIN_MS, MAX_MS)),
        )
    }

    fn node(&self, n: &Node) -> Result<Box<dyn Query>, IndexError> {
        Ok(match n {
            Node::All => Box::new(AllQuery),
            Node::And(v) => Box::new(BooleanQuery::new(
                v.iter()
                    .map(|x| self.node(x).map(|q| (Occur::Must, q)))
                    .collect::<Result<_, _>>()?,
            )),
            Node::Or(v) => Box::new(BooleanQuery::new(
                v.iter()
                    .map(|x| self.node(x).map(|q| (Occur::Should, q)))
                    .collect::<Result<_, _>>()?,
            )),
            Node::Not(x) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, self.node(x)?),
            ])),
            Node::Text(v) => {
                let msg = self.fields.named(names::MESSAGE).map(|(f, _)| f);
                let mut qs = vec![(Occur::Should, self.text_query(self.fields.text, v)?)];
                if let Some(m) = msg {
                    qs.push((Occur::Should, self.text_query(m, v)?));
                }
                // Identifiers are not in full text; a bare identifier is looked up whole in each of them.
                if let Value::Word(w) | Value::Quoted(w) = v {
                    for def in catalog::id_fields() {
                        qs.push((Occur::Should, self.id_term(&def.name, w)));
                    }
                    // Nor are access key ids: one that could be a key is looked up whole where
                    // CloudTrail writes keys, as typed and in capitals (key ids are written so).
                    if could_be_access_key(w) {
                        let upper = w.to_ascii_uppercase();
                        let spellings = [Some(w.as_str()), (upper != *w).then_some(upper.as_str())];
                        for path in ACCESS_KEY_PATHS {
                            for s in spellings.into_iter().flatten() {
                                let q = self.field_query(path, &Value::Word(s.to_string()))?;
                                qs.push((Occur::Should, q));
                            }
                        }
                    }
                }
                Box::new(BooleanQuery::new(qs))
            }
            Node::Field { field, value } => self.field_query(field, value)?,
        })
    }

    fn id_term(&self, name: &str, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_u64(self.fields.hash, id_term(name, value)),
            IndexRecordOption::Basic,
        ))
    }

    fn field_query(&self, name: &str, v: &Value) -> Result<Box<dyn Query>, IndexError> {
        if let Some(def) = catalog::lookup(name).filter(|d| d.kind == FieldKind::Id) {
            return match v {
                Value::Word(s) | Value::Quoted(s) => Ok(self.id_term(&def.name, s)),
                _ => Err(IndexError::Query(format!(
                    "{name} is an identifier: it matches whole values only ({name}:VALUE), not prefixes, ranges or *"
                ))),
            };
        }
        match self.fields.named(name) {
            Some((f, FieldKind::Keyword)) => Ok(keyword_query(f, "", v, false)),
            Some((f, FieldKind::KeywordCi)) => Ok(keyword_query(f, "", v, true)),
            Some((f, FieldKind::Text)) => self.text_query(f, v),
            Some((_, FieldKind::Date)) => self.date_query(name, v),
            Some((_, FieldKind::Path | FieldKind::Id)) => {
                unreachable!("the path row and identifiers have no field of their own")
            }
            None => Ok(keyword_query(
                self.fields.path,
                &format!("{name}{PATH_SEP}"),
                v,
                false,
            )),
        }
    }

    fn date_query(&self, name: &str, v: &Value) -> Result<Box<dyn Query>, IndexError> {
        let now = now_ms();
        let t = |s: &str| parse_time(s, now).map_err(|e| IndexError::Query(format!("{name}: {e}")));
        let (lo, hi) = match v {
            Value::Range { lo, hi } => (
                map_bound(lo, |s| t(s).map(|ms| self.date_term(ms)))?,
                map_bound(hi, |s| t(s).map(|ms| self.date_term(ms)))?,
            ),
            Value::Word(s) | Value::Quoted(s) => {
                let ms = t(s)?;
                (
                    Bound::Included(self.date_term(ms)),
                    Bound::Included(self.date_term(ms)),
                )
            }
            Value::Any => return Ok(Box::new(AllQuery)),
            Value::Prefix(_) => {
                return Err(IndexError::Query(format!(
                "{name} takes a time or a range ({name}:[2024-05-01 TO 2024-05-08]), not a prefix"
            )))
            }
        };
        if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
            return Ok(Box::new(AllQuery));
        }
        Ok(Box::new(RangeQuery::new(lo, hi)))
    }

    fn text_query(&self, f: Field, v: &Value) -> Result<Box<dyn Query>, IndexError> {
        let words = |s: &str| -> Vec<String> {
            let mut an = self
                .index
                .tokenizers()
                .get(TEXT_TOKENIZER)
                .expect("tokenizer registered on open");
            let mut ts = an.token_stream(s);
            let mut out = Vec::new();
            while ts.advance() {
                out.push(ts.token().text.clone());
            }
            out
        };
        Ok(match v {
            Value::Word(s) | Value::Quoted(s) => {
                let ws = words(s);
                match ws.len() {
                    0 => Box::new(EmptyQuery),
                    1 => Box::new(TermQuery::new(
                        Term::from_field_text(f, &ws[0]),
                        IndexRecordOption::Basic,
                    )),
                    _ if f == self.fields.text => Box::new(VerifiedPhrase::new(
                        f,
                        self.fields.raw,
                        ws,
                        self.index
                            .tokenizers()
                            .get(TEXT_TOKENIZER)
                            .expect("tokenizer registered on open"),
                        Verbatim::of(self.fields),
                    )),
                    _ => Box::new(PhraseQuery::new(
                        ws.iter().map(|w| Term::from_field_text(f, w)).collect(),
                    )),
                }
            }
            Value::Prefix(p) => {
                let ws = words(p);
                match ws.as_slice() {
                    [] => Box::new(AllQuery),
                    [w] => prefix_query(f, w),
                    _ => {
                        return Err(IndexError::Query(format!(
                            "a full-text prefix must be one word: {p:?}*"
                        )))
                    }
                }
            }
            Value::Any => Box::new(AllQuery),
            Value::Range { .. } => {
                return Err(IndexError::Query(
                    "a range needs a field: field:[A TO B]".into(),
                ))
            }
        })
    }
}

fn map_bound<T>(
    b: &Bound<String>,
    f: impl Fn(&str) -> Result<T, IndexError>,
) -> Result<Bound<T>, IndexError> {
    Ok(match b {
        Bound::Included(s) => Bound::Included(f(s)?),
        Bound::Excluded(s) => Bound::Excluded(f(s)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// The smallest string greater than every string that starts with `s`.
pub(crate) fn prefix_successor(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(c) = chars.pop() {
        let mut n = c as u32 + 1;
        while n <= char::MAX as u32 {
            if let Some(next) = char::from_u32(n) {
                chars.push(next);
                return chars.into_iter().collect();
            }
            n += 1;
        }
    }
    // Every char was char::MAX: there is no successor; a string no term reaches stands in.
    "\u{10FFFF}\u{10FFFF}".into()
}

fn prefix_query(f: Field, prefix: &str) -> Box<dyn Query> {
    Box::new(InvertedIndexRangeQuery::new(
        Bound::Included(Term::from_field_text(f, prefix)),
        Bound::Excluded(Term::from_field_text(f, &prefix_successor(prefix))),
    ))
}

/// IAM's shape of an access key id (`AccessKeyId`: 16 to 128 word characters; AWS writes letters and
/// digits): only such a word is looked up at [`ACCESS_KEY_PATHS`].
fn could_be_access_key(w: &str) -> bool {
    (ACCESS_KEY_MIN_LEN..=ACCESS_KEY_MAX_LEN).contains(&w.len())
        && w.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// IAM's bounds on the length of an access key id (the API's `AccessKeyId` type).
const ACCESS_KEY_MIN_LEN: usize = 16;
/// See [`ACCESS_KEY_MIN_LEN`].
const ACCESS_KEY_MAX_LEN: usize = 128;

/// Exact, prefix, any and range on a whole-value field (`prefix` is the path part for the open path field).
fn keyword_query(f: Field, path: &str, v: &Value, lowercase: bool) -> Box<dyn Query> {
    let norm = |s: &str| {
        let s = if lowercase {
            s.to_lowercase()
        } else {
            s.to_string()
        };
        format!("{path}{s}")
    };
    match v {
        Value::Word(s) | Value::Quoted(s) => Box::new(TermQuery::new(
            Term::from_field_text(f, &norm(s)),
            IndexRecordOption::Basic,
        )),
        Value::Prefix(p) => prefix_query(f, &norm(p)),
        Value::Any => {
            if path.is_empty() {
                // Any value at all: every term of the field.
                Box::new(InvertedIndexRangeQuery::new(
                    Bound::Included(Term::from_field_text(f, "")),
                    Bound::Unbounded,
                ))
            } else {
                prefix_query(f, path)
            }
        }
        Value::Range { lo, hi } => {
            let b = |x: &Bound<String>, upper: bool| match x {
                Bound::Included(s) => Bound::Included(Term::from_field_text(f, &norm(s))),
                Bound::Excluded(s) => Bound::Excluded(Term::from_field_text(f, &norm(s))),
                Bound::Unbounded if upper => {
                    Bound::Excluded(Term::from_field_text(f, &prefix_successor(path)))
                }
                Bound::Unbounded => Bound::Included(Term::from_field_text(f, path)),
            };
            if path.is_empty() && matches!(hi, Bound::Unbounded) {
                return Box::new(InvertedIndexRangeQuery::new(b(lo, false), Bound::Unbounded));
            }
            Box::new(InvertedIndexRangeQuery::new(b(lo, false), b(hi, true)))
        }
    }
}

/// "the nearest names are …": the catalogue's fields closest to `name` (by edit distance, ignoring case).
pub(crate) fn nearest_fields(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = catalog::fields()
        .iter()
        .filter(|f| f.kind != FieldKind::Path)
        .map(|f| {
            (
                edit_distance(&lower, &f.name.to_lowercase()),
                f.name.as_str(),
            )
        })
        .collect();
    scored.sort();
    let names: Vec<&str> = scored.iter().take(5).map(|(_, n)| *n).collect();
    format!(
        "the nearest field names are {} (any CloudTrail path present in the index works too, e.g. requestParameters.userProfileName)",
        names.join(", ")
    )
}

/// Levenshtein distance, in characters (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::collect::testing::{searcher, Doc};
    use tantivy::collector::Count;

    fn count(q: &str, since: Option<i64>, until: Option<i64>) -> usize {
        let (fields, s) = searcher(&[
            &[
                Doc {
                    ms: 1_000,
                    idh: 1,
                    kw: &[("eventName", "CreateApp"), ("userProfile", "alice")],
                },
                Doc {
                    ms: 2_000,
                    idh: 2,
                    kw: &[("eventName", "CreateDomain"), ("userProfile", "Bob")],
                },
            ],
            &[Doc {
                ms: 3_000,
                idh: 3,
                kw: &[("eventName", "DeleteApp")],
            }],
        ]);
        let index = s.index().clone();
        let c = Compiler {
            index: &index,
            fields: &fields,
        };
        let req = SearchRequest {
            node: crate::query::parse(q).unwrap(),
            since_ms: since,
            until_ms: until,
            oldest_first: false,
        };
        s.search(&*c.compile(&req).unwrap(), &Count).unwrap()
    }

    #[test]
    fn keywords_prefixes_negation_and_windows() {
        assert_eq!(count("eventName:CreateApp", None, None), 1);
        assert_eq!(count("eventName:Create*", None, None), 2);
        assert_eq!(count("NOT eventName:Create*", None, None), 1);
        assert_eq!(
            count("eventName:[CreateDomain TO DeleteApp]", None, None),
            2
        );
        assert_eq!(count("*", Some(2_000), None), 2);
        assert_eq!(
            count("*", Some(1_000), Some(2_000)),
            1,
            "until is exclusive"
        );
        assert_eq!(
            count("*", Some(i64::MIN), Some(i64::MAX)),
            3,
            "bounds past the index's are none"
        );
    }

    #[test]
    fn identifiers_refuse_prefixes() {
        let fields = Fields::new(crate::index::schema::build_schema()).unwrap();
        let index = Index::create_in_ram(fields.schema.clone());
        let c = Compiler {
            index: &index,
            fields: &fields,
        };
        let req = SearchRequest {
            node: crate::query::parse("eventID:abc*").unwrap(),
            since_ms: None,
            until_ms: None,
            oldest_first: false,
        };
        let e = c
            .compile(&req)
            .expect_err("an identifier takes whole values");
        assert!(e.to_string().contains("identifier"), "{e}");
    }

    #[test]
    fn prefix_successor_is_the_least_upper_bound() {
        assert_eq!(prefix_successor("ab"), "ac");
        assert_eq!(prefix_successor("a\u{10FFFF}"), "b");
        assert!(nearest_fields("evntName").contains("eventName"));
    }
}
