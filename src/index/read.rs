//! Reading: the query tree compiled to tantivy queries, hits in a deterministic order, counts, stats and
//! the index's own facts.
//!
//! Order: newest first (or oldest first), ties broken by the eventID's digest, so the same index and
//! query always print the same lines.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use tantivy::collector::{Collector, Count, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, InvertedIndexRangeQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::{
    DateTime, DocAddress, DocId, DocSet, Index, IndexReader, ReloadPolicy, Score, Searcher,
    SegmentOrdinal, SegmentReader, TantivyDocument, Term, TERMINATED,
};

use super::phrase::VerifiedPhrase;
use super::schema::{id_hash, Fields, DOC_LEDGER, F_IDH, PATH_SEP, TEXT_TOKENIZER};
use super::write::{read_payload, CommitPayload};
use super::{open, tv, IndexError};
use crate::catalog::{self, names, FieldKind};
use crate::normalise::time::{MAX_MS, MIN_MS};
use crate::query::time::{now_ms, parse_time};
use crate::query::{Node, Value};

/// Records fetched at once, in parallel, for hits in order: inflating doc-store blocks is most of the
/// cost of a page (a 512 KiB block per scattered hit), and a chunk keeps `--all` memory bounded.
const FETCH_CHUNK: usize = 64;

/// A search: the query tree, a time window on eventTime (`since` inclusive, `until` exclusive), order.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub node: Node,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub oldest_first: bool,
}

/// One hit: its time, the named fields asked for (from fast fields) and the stored record.
#[derive(Debug, Clone)]
pub struct Hit {
    pub time_ms: i64,
    pub event_id: String,
    pub values: Vec<Option<String>>,
    pub raw: Vec<u8>,
}

/// Hits that share the value of a key column (see [`Reader::group_by`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The key's value; `None` for hits without one.
    pub key: Option<String>,
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Per column asked for: its distinct values among the group's hits.
    pub distinct: Vec<BTreeSet<String>>,
    /// Per column asked for: how many of the group's hits have a value.
    pub present: Vec<u64>,
}

/// Facts about an index.
#[derive(Debug, Clone)]
pub struct IndexInfo {
    pub dir: PathBuf,
    pub events: u64,
    pub cloudtrail_events: u64,
    pub studio_log_events: u64,
    pub objects: u64,
    pub size_bytes: u64,
    pub segments: usize,
    pub oldest_ms: Option<i64>,
    pub newest_ms: Option<i64>,
    pub payload: CommitPayload,
}

/// A read-only view of the index (any number may run beside a writer; each sees committed data only).
pub struct Reader {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    reader: IndexReader,
}

/// Sort key: smaller sorts first. Newest-first negates the time; ties go by the eventID's digest.
type Key = (i64, u64);

impl Reader {
    pub fn open(dir: &Path) -> Result<Reader, IndexError> {
        let (mut index, fields) = open(dir, false)?;
        // Segments are searched in parallel (one thread a core): a phrase's verification or an audit
        // over a multi-segment index uses every core; a keyed query does not notice.
        index.set_default_multithread_executor().map_err(tv(dir))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tv(dir))?;
        Ok(Reader {
            dir: dir.to_path_buf(),
            index,
            fields,
            reader,
        })
    }

    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    fn err(&self) -> impl Fn(tantivy::TantivyError) -> IndexError + '_ {
        tv(&self.dir)
    }

    /// Compile a request into one tantivy query: the tree, the time window, and never a ledger document.
    pub fn compile(&self, req: &SearchRequest) -> Result<Box<dyn Query>, IndexError> {
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
                }
                Box::new(BooleanQuery::new(qs))
            }
            Node::Field { field, value } => self.field_query(field, value)?,
        })
    }

    fn id_term(&self, name: &str, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_u64(self.fields.hash, id_hash(name, value)),
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

    /// Every hit of `req`, in order, at most `limit`; `each` is called per hit (records fetched one by
    /// one, so `--all` holds only the sort keys).
    pub fn for_each_hit(
        &self,
        req: &SearchRequest,
        limit: Option<usize>,
        columns: &[&str],
        each: impl FnMut(Hit) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        self.for_each_hit_with(req, limit, columns, true, each)
    }

    /// As [`Reader::for_each_hit`]; `with_raw: false` skips the doc store (values from fast fields only).
    pub fn for_each_hit_with(
        &self,
        req: &SearchRequest,
        limit: Option<usize>,
        columns: &[&str],
        with_raw: bool,
        mut each: impl FnMut(Hit) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        self.walk(req, limit, columns, with_raw, |hits| {
            hits.into_iter().try_for_each(&mut each)
        })
    }

    /// As [`Reader::for_each_hit`], with the hits (in order) handed over a chunk at a time, so that what
    /// the caller does with each can run in parallel as well.
    pub fn for_each_chunk(
        &self,
        req: &SearchRequest,
        columns: &[&str],
        each: impl FnMut(Vec<Hit>) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        self.walk(req, None, columns, true, each)
    }

    fn walk(
        &self,
        req: &SearchRequest,
        limit: Option<usize>,
        columns: &[&str],
        with_raw: bool,
        mut each: impl FnMut(Vec<Hit>) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        let searcher = self.searcher();
        let q = self.compile(req)?;
        let keys = searcher
            .search(
                &q,
                &TopByTime {
                    limit: limit.unwrap_or(usize::MAX),
                    oldest_first: req.oldest_first,
                },
            )
            .map_err(self.err())?;
        let cols = ColumnCache::new(&searcher, columns).map_err(self.err())?;
        let fetch = |addr: DocAddress| -> Result<Vec<u8>, IndexError> {
            let doc: TantivyDocument = searcher.doc(addr).map_err(self.err())?;
            Ok(doc
                .get_first(self.fields.raw)
                .and_then(|v| v.as_str())
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default())
        };
        for chunk in keys.chunks(FETCH_CHUNK) {
            let raws: Vec<Vec<u8>> = if with_raw {
                chunk
                    .par_iter()
                    .map(|(_, addr)| fetch(*addr))
                    .collect::<Result<_, _>>()?
            } else {
                vec![Vec::new(); chunk.len()]
            };
            let hits = chunk
                .iter()
                .zip(raws)
                .map(|(&(key, addr), raw)| Hit {
                    time_ms: if req.oldest_first { key.0 } else { -key.0 },
                    event_id: event_id_of(&raw),
                    values: cols.values(addr, &raw),
                    raw,
                })
                .collect();
            each(hits)?;
        }
        Ok(())
    }

    /// The hits of `req` grouped by the value of the keyword column `key`, with each group's count, time
    /// span, and the distinct values of `columns`; in no particular order. Columns only (no records, no
    /// ordering of hits): values are gathered as ordinals per segment and turned into strings once.
    pub fn group_by(
        &self,
        req: &SearchRequest,
        key: &str,
        columns: &[&str],
    ) -> Result<Vec<Group>, IndexError> {
        for name in std::iter::once(&key).chain(columns) {
            let keyword_column = catalog::lookup(name).is_some_and(|d| {
                d.fast && matches!(d.kind, FieldKind::Keyword | FieldKind::KeywordCi)
            });
            if !keyword_column {
                return Err(IndexError::Query(format!(
                    "{name}: grouping needs a keyword field with a column"
                )));
            }
        }
        let q = self.compile(req)?;
        let groups = self
            .searcher()
            .search(
                &q,
                &GroupByColumn {
                    key: key.to_string(),
                    columns: columns.iter().map(|c| c.to_string()).collect(),
                },
            )
            .map_err(self.err())?;
        Ok(groups.into_values().collect())
    }

    /// Number of hits.
    pub fn count(&self, req: &SearchRequest) -> Result<u64, IndexError> {
        let q = self.compile(req)?;
        Ok(self.searcher().search(&q, &Count).map_err(self.err())? as u64)
    }

    /// Hits per `interval_ms` of eventTime, every bucket from the window's start (or the first hit) to its
    /// end (or the last hit), empty ones included; refused past `max_buckets`.
    pub fn histogram(
        &self,
        req: &SearchRequest,
        interval: crate::query::time::Interval,
        max_buckets: usize,
    ) -> Result<(i64, Vec<(i64, u64)>), IndexError> {
        use crate::query::time::Interval;
        let searcher = self.searcher();
        let q = self.compile(req)?;
        let interval_ms = match interval {
            Interval::Fixed(ms) => ms,
            Interval::Auto => {
                // The span of the window, narrowed to the hits where it is open: probed by the day (a
                // few thousand buckets at most), then by the second when that is under two days.
                let mut span_ms = i64::MAX;
                for probe in [86_400_000i64, 1_000] {
                    let span = searcher
                        .search(&q, &super::histogram::TimeHistogram { interval_ms: probe })
                        .map_err(self.err())?;
                    let lo = req.since_ms.or_else(|| span.keys().next().copied());
                    let hi = req
                        .until_ms
                        .or_else(|| span.keys().next_back().map(|k| k + probe));
                    span_ms = match (lo, hi) {
                        (Some(lo), Some(hi)) => hi.saturating_sub(lo),
                        _ => 0,
                    };
                    if span_ms > 2 * 86_400_000 {
                        break;
                    }
                }
                crate::query::time::auto_interval(span_ms)
            }
        };
        let counts = searcher
            .search(&q, &super::histogram::TimeHistogram { interval_ms })
            .map_err(self.err())?;
        // The window's end is exclusive: its last bucket is the one holding the millisecond before it.
        let (from, to) = (req.since_ms, req.until_ms.map(|u| u.saturating_sub(1)));
        let lo = from.or_else(|| counts.keys().next().copied());
        let hi = to.or_else(|| counts.keys().next_back().copied());
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let n = (hi.saturating_sub(lo) / interval_ms).saturating_add(1);
            if n > max_buckets as i64 {
                return Err(IndexError::Query(format!(
                    "a histogram of {n} intervals: choose a longer --interval or a shorter window (at most {max_buckets})"
                )));
            }
        }
        Ok((
            interval_ms,
            super::histogram::fill(&counts, interval_ms, from, to),
        ))
    }

    /// Count hits per value of `by`, by count descending then value ascending.
    pub fn stats(&self, req: &SearchRequest, by: &str) -> Result<Vec<(String, u64)>, IndexError> {
        let searcher = self.searcher();
        let q = self.compile(req)?;
        if catalog::lookup(by).is_some_and(|d| d.kind == FieldKind::Id) {
            return Err(IndexError::Query(format!(
                "stats --by {by}: an identifier has one value per event; search it instead ({by}:VALUE)"
            )));
        }
        if by.is_empty() || by.starts_with('_') {
            return Err(IndexError::Query(format!(
                "stats --by {by:?}: not a field; {}",
                nearest_fields(by)
            )));
        }
        let counts: HashMap<String, u64> = match self.fields.named(by) {
            Some((_, FieldKind::Keyword | FieldKind::KeywordCi))
                if catalog::lookup(by).is_some_and(|d| d.fast) =>
            {
                searcher
                    .search(&q, &CountByColumn { field: by.to_string() })
                    .map_err(self.err())?
            }
            Some((f, FieldKind::Keyword | FieldKind::KeywordCi)) => {
                self.stats_by_terms(&searcher, &*q, f, "")?
            }
            Some((_, kind)) => {
                return Err(IndexError::Query(format!(
                    "stats --by {by}: a {kind:?} field has no values to count; pick a keyword field or a CloudTrail path"
                )))
            }
            None => {
                let prefix = format!("{by}{PATH_SEP}");
                let counts = self.stats_by_terms(&searcher, &*q, self.fields.path, &prefix)?;
                if counts.is_empty() && !self.has_terms(&searcher, self.fields.path, &prefix)? {
                    return Err(IndexError::Query(format!(
                        "stats --by {by}: no field of that name, and no event in the index has that CloudTrail path; {}",
                        nearest_fields(by)
                    )));
                }
                counts
            }
        };
        let mut v: Vec<(String, u64)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(v)
    }

    /// True when some segment has a term of `field` starting with `prefix`.
    fn has_terms(
        &self,
        searcher: &Searcher,
        field: Field,
        prefix: &str,
    ) -> Result<bool, IndexError> {
        let hi = prefix_successor(prefix);
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(field).map_err(self.err())?;
            let mut stream = inv
                .terms()
                .range()
                .ge(prefix)
                .lt(&hi)
                .into_stream()
                .map_err(|source| IndexError::Io {
                    dir: self.dir.clone(),
                    source,
                })?;
            if stream.advance() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Values of a field without a column (an open path, given as `path\0`, or a keyword field that is
    /// not fast): walk the terms under `prefix` in each segment and count the matching live docs.
    fn stats_by_terms(
        &self,
        searcher: &Searcher,
        q: &dyn Query,
        field: Field,
        prefix: &str,
    ) -> Result<HashMap<String, u64>, IndexError> {
        let matched = searcher.search(q, &MatchedDocs).map_err(self.err())?;
        let lo = prefix.to_string();
        let hi = prefix_successor(&lo);
        let mut out: HashMap<String, u64> = HashMap::new();
        let io = |source| IndexError::Io {
            dir: self.dir.clone(),
            source,
        };
        for (seg, bits) in searcher.segment_readers().iter().zip(matched) {
            let inv = seg.inverted_index(field).map_err(self.err())?;
            let range = inv.terms().range().ge(&lo);
            let range = if lo.is_empty() { range } else { range.lt(&hi) };
            let mut stream = range.into_stream().map_err(io)?;
            while stream.advance() {
                let value = String::from_utf8_lossy(&stream.key()[lo.len()..]).into_owned();
                let mut postings = inv
                    .read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)
                    .map_err(io)?;
                let mut n = 0u64;
                let mut d = postings.doc();
                while d != TERMINATED {
                    if bits.get(d as usize).copied().unwrap_or(false) {
                        n += 1;
                    }
                    d = postings.advance();
                }
                if n > 0 {
                    *out.entry(value).or_default() += n;
                }
            }
        }
        Ok(out)
    }

    /// Events, objects, size and time span.
    pub fn info(&self) -> Result<IndexInfo, IndexError> {
        let searcher = self.searcher();
        let count = |node: Node| {
            self.count(&SearchRequest {
                node,
                since_ms: None,
                until_ms: None,
                oldest_first: false,
            })
        };
        let kind = |k: &str| Node::Field {
            field: names::KIND.into(),
            value: Value::Word(k.into()),
        };
        let objects = searcher
            .search(
                &TermQuery::new(
                    Term::from_field_text(self.fields.doc, DOC_LEDGER),
                    IndexRecordOption::Basic,
                ),
                &Count,
            )
            .map_err(self.err())? as u64;
        let (mut oldest, mut newest) = (None::<i64>, None::<i64>);
        for seg in searcher.segment_readers() {
            if let Ok(col) = seg.fast_fields().date(names::EVENT_TIME) {
                if col.values.num_vals() > 0 {
                    let lo = col.min_value().into_timestamp_millis();
                    let hi = col.max_value().into_timestamp_millis();
                    // No event can be stored outside these times: a column saying so is garbled.
                    if lo < MIN_MS || hi > MAX_MS {
                        return Err(IndexError::Damaged {
                            dir: self.dir.clone(),
                            detail: format!(
                                "the eventTime column of segment {} holds impossible times",
                                seg.segment_id().uuid_string()
                            ),
                        });
                    }
                    oldest = Some(oldest.map_or(lo, |o| o.min(lo)));
                    newest = Some(newest.map_or(hi, |n| n.max(hi)));
                }
            }
        }
        Ok(IndexInfo {
            dir: self.dir.clone(),
            events: count(Node::All)?,
            cloudtrail_events: count(kind("cloudtrail"))?,
            studio_log_events: count(kind("studio-log"))?,
            objects,
            size_bytes: dir_size(&self.dir),
            segments: searcher.segment_readers().len(),
            oldest_ms: oldest,
            newest_ms: newest,
            payload: read_payload(&self.index),
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
fn prefix_successor(s: &str) -> String {
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

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Fast-field columns of named fields, per segment, to read hit values without the doc store. A field
/// without a column (an identifier, a keyword with `fast = false`) is read from the record by its path.
struct ColumnCache {
    cols: Vec<Vec<Option<StrColumn>>>,
    /// Per segment and column: ordinals already turned into strings. A column's dictionary is stored in
    /// zstd blocks, so each lookup inflates a block; hits share few distinct values (actors, event
    /// names), and `who` over 10k hits went from 0.3 s to a few ms of lookups with this.
    memo: RefCell<Vec<Vec<FxHashMap<u64, String>>>>,
    /// Per requested name: its dotted path in the record when it has no column.
    from_record: Vec<Option<String>>,
}

impl ColumnCache {
    fn new(searcher: &Searcher, names: &[&str]) -> tantivy::Result<ColumnCache> {
        let from_record: Vec<Option<String>> = names
            .iter()
            .map(|n| {
                catalog::lookup(n)
                    .filter(|d| d.kind == FieldKind::Id || !d.fast)
                    .map(|d| d.name.clone())
            })
            .collect();
        let mut cols = Vec::new();
        for seg in searcher.segment_readers() {
            let mut v = Vec::new();
            for (n, rec) in names.iter().zip(&from_record) {
                v.push(match rec {
                    Some(_) => None,
                    None => seg.fast_fields().str(n)?,
                });
            }
            cols.push(v);
        }
        let memo = RefCell::new(vec![vec![FxHashMap::default(); names.len()]; cols.len()]);
        Ok(ColumnCache {
            cols,
            memo,
            from_record,
        })
    }

    fn values(&self, addr: DocAddress, raw: &[u8]) -> Vec<Option<String>> {
        let mut rec: Option<serde_json::Value> = None;
        let seg = addr.segment_ord as usize;
        let mut memo = self.memo.borrow_mut();
        self.cols[seg]
            .iter()
            .zip(&self.from_record)
            .zip(memo[seg].iter_mut())
            .map(|((c, path), memo)| match path {
                None => {
                    let ord = first_ord(c, addr.doc_id)?;
                    if let Some(s) = memo.get(&ord) {
                        return Some(s.clone());
                    }
                    let s = ord_str(c, ord)?;
                    memo.insert(ord, s.clone());
                    Some(s)
                }
                Some(p) if !raw.is_empty() => {
                    let v = rec.get_or_insert_with(|| {
                        serde_json::from_slice(raw).unwrap_or(serde_json::Value::Null)
                    });
                    p.split('.')
                        .try_fold(&*v, |x, k| x.get(k))
                        .and_then(|x| x.as_str())
                        .map(str::to_string)
                }
                Some(_) => None,
            })
            .collect()
    }
}

/// The eventID of a stored record (CloudTrail and studio-log records both carry it by that name).
fn event_id_of(raw: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(rename = "eventID", borrow)]
        event_id: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Id>(raw)
        .ok()
        .and_then(|i| i.event_id)
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// Top hits by (time, eventID); `limit: usize::MAX` keeps them all.
struct TopByTime {
    limit: usize,
    oldest_first: bool,
}

struct TopByTimeSegment {
    seg: SegmentOrdinal,
    limit: usize,
    oldest_first: bool,
    time: Option<Column<DateTime>>,
    ids: Option<Column<u64>>,
    /// Max-heap on the key: the worst kept hit is on top.
    heap: std::collections::BinaryHeap<(Key, DocId)>,
}

impl TopByTimeSegment {
    fn key_time(&self, doc: DocId) -> i64 {
        let t = self
            .time
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(|d| d.into_timestamp_millis())
            .unwrap_or(i64::MIN);
        if self.oldest_first {
            t
        } else {
            -t
        }
    }
    fn id(&self, doc: DocId) -> u64 {
        self.ids.as_ref().and_then(|c| c.first(doc)).unwrap_or(0)
    }
}

impl SegmentCollector for TopByTimeSegment {
    type Fruit = Vec<(Key, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let t = self.key_time(doc);
        if self.heap.len() < self.limit {
            let id = self.id(doc);
            self.heap.push(((t, id), doc));
            return;
        }
        let worst_t = self.heap.peek().map(|w| w.0 .0).unwrap_or(i64::MAX);
        if t > worst_t {
            return;
        }
        let key = (t, self.id(doc));
        if let Some(w) = self.heap.peek() {
            if key < w.0 {
                self.heap.pop();
                self.heap.push((key, doc));
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let seg = self.seg;
        self.heap
            .into_iter()
            .map(|(k, d)| (k, DocAddress::new(seg, d)))
            .collect()
    }
}

impl Collector for TopByTime {
    type Fruit = Vec<(Key, DocAddress)>;
    type Child = TopByTimeSegment;

    fn for_segment(
        &self,
        seg: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopByTimeSegment> {
        Ok(TopByTimeSegment {
            seg,
            limit: self.limit,
            oldest_first: self.oldest_first,
            time: reader.fast_fields().date(names::EVENT_TIME).ok(),
            ids: reader.fast_fields().u64(F_IDH).ok(),
            heap: Default::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(Key, DocAddress)> = fruits.into_iter().flatten().collect();
        all.sort_by_key(|a| a.0);
        all.truncate(self.limit);
        Ok(all)
    }
}

/// Hits per value of a keyword fast field.
struct CountByColumn {
    field: String,
}

struct CountByColumnSegment {
    col: Option<StrColumn>,
    counts: Vec<u64>,
}

impl SegmentCollector for CountByColumnSegment {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(c) = &self.col {
            for ord in c.term_ords(doc) {
                self.counts[ord as usize] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = HashMap::new();
        for (ord, n) in self.counts.iter().enumerate() {
            if *n > 0 {
                if let Some(s) = ord_str(&self.col, ord as u64) {
                    out.insert(s, *n);
                }
            }
        }
        out
    }
}

impl Collector for CountByColumn {
    type Fruit = HashMap<String, u64>;
    type Child = CountByColumnSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let col = reader.fast_fields().str(&self.field)?;
        let n = col.as_ref().map(|c| c.num_terms()).unwrap_or(0);
        Ok(CountByColumnSegment {
            col,
            counts: vec![0; n],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut out: HashMap<String, u64> = HashMap::new();
        for f in fruits {
            for (k, v) in f {
                *out.entry(k).or_default() += v;
            }
        }
        Ok(out)
    }
}

/// The matching documents of each segment, as a bitmap (segment order).
struct MatchedDocs;

struct MatchedDocsSegment {
    bits: Vec<bool>,
}

impl SegmentCollector for MatchedDocsSegment {
    type Fruit = (SegmentOrdinal, Vec<bool>);
    fn collect(&mut self, doc: DocId, _: Score) {
        self.bits[doc as usize] = true;
    }
    fn harvest(self) -> Self::Fruit {
        (0, self.bits)
    }
}

impl Collector for MatchedDocs {
    type Fruit = Vec<Vec<bool>>;
    type Child = MatchedDocsSegmentOrd;

    fn for_segment(
        &self,
        seg: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(MatchedDocsSegmentOrd {
            seg,
            inner: MatchedDocsSegment {
                bits: vec![false; reader.max_doc() as usize],
            },
        })
    }
    fn requires_scoring(&self) -> bool {
        false
    }
    fn merge_fruits(
        &self,
        fruits: Vec<(SegmentOrdinal, Vec<bool>)>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut f = fruits;
        f.sort_by_key(|x| x.0);
        Ok(f.into_iter().map(|x| x.1).collect())
    }
}

struct MatchedDocsSegmentOrd {
    seg: SegmentOrdinal,
    inner: MatchedDocsSegment,
}

impl SegmentCollector for MatchedDocsSegmentOrd {
    type Fruit = (SegmentOrdinal, Vec<bool>);
    fn collect(&mut self, doc: DocId, s: Score) {
        self.inner.collect(doc, s)
    }
    fn harvest(self) -> Self::Fruit {
        (self.seg, self.inner.harvest().1)
    }
}

/// Groups hits by a key column; see [`Reader::group_by`].
struct GroupByColumn {
    key: String,
    columns: Vec<String>,
}

/// A group within one segment: ordinals, not strings.
struct SegmentGroup {
    count: u64,
    first_ms: i64,
    last_ms: i64,
    ords: Vec<FxHashSet<u64>>,
    present: Vec<u64>,
}

struct GroupByColumnSegment {
    key: Option<StrColumn>,
    columns: Vec<Option<StrColumn>>,
    time: Option<Column<DateTime>>,
    /// By the key's ordinal (`u64::MAX`: no key).
    groups: FxHashMap<u64, SegmentGroup>,
}

/// A column's value at `doc` as an ordinal (keyword columns hold one value an event).
fn first_ord(col: &Option<StrColumn>, doc: DocId) -> Option<u64> {
    col.as_ref().and_then(|c| c.term_ords(doc).next())
}

fn ord_str(col: &Option<StrColumn>, ord: u64) -> Option<String> {
    let mut s = String::new();
    col.as_ref()?.ord_to_str(ord, &mut s).ok()?.then_some(s)
}

impl SegmentCollector for GroupByColumnSegment {
    type Fruit = FxHashMap<Option<String>, Group>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let key = first_ord(&self.key, doc).unwrap_or(u64::MAX);
        let t = self
            .time
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(|d| d.into_timestamp_millis())
            .unwrap_or(i64::MIN);
        let n = self.columns.len();
        let g = self.groups.entry(key).or_insert_with(|| SegmentGroup {
            count: 0,
            first_ms: t,
            last_ms: t,
            ords: vec![FxHashSet::default(); n],
            present: vec![0; n],
        });
        g.count += 1;
        g.first_ms = g.first_ms.min(t);
        g.last_ms = g.last_ms.max(t);
        for (i, col) in self.columns.iter().enumerate() {
            if let Some(o) = first_ord(col, doc) {
                g.ords[i].insert(o);
                g.present[i] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = FxHashMap::default();
        for (key, g) in self.groups {
            let key = if key == u64::MAX {
                None
            } else {
                ord_str(&self.key, key)
            };
            let distinct = g
                .ords
                .iter()
                .zip(&self.columns)
                .map(|(ords, col)| ords.iter().filter_map(|&o| ord_str(col, o)).collect())
                .collect();
            merge_group(
                &mut out,
                Group {
                    key,
                    count: g.count,
                    first_ms: g.first_ms,
                    last_ms: g.last_ms,
                    distinct,
                    present: g.present,
                },
            );
        }
        out
    }
}

fn merge_group(into: &mut FxHashMap<Option<String>, Group>, g: Group) {
    match into.get_mut(&g.key) {
        None => {
            into.insert(g.key.clone(), g);
        }
        Some(m) => {
            m.count += g.count;
            m.first_ms = m.first_ms.min(g.first_ms);
            m.last_ms = m.last_ms.max(g.last_ms);
            for (a, b) in m.distinct.iter_mut().zip(g.distinct) {
                a.extend(b);
            }
            for (a, b) in m.present.iter_mut().zip(g.present) {
                *a += b;
            }
        }
    }
}

impl Collector for GroupByColumn {
    type Fruit = FxHashMap<Option<String>, Group>;
    type Child = GroupByColumnSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        Ok(GroupByColumnSegment {
            key: ff.str(&self.key)?,
            columns: self
                .columns
                .iter()
                .map(|c| ff.str(c))
                .collect::<tantivy::Result<_>>()?,
            time: ff.date(names::EVENT_TIME).ok(),
            groups: FxHashMap::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut out = FxHashMap::default();
        for f in fruits {
            for g in f.into_values() {
                merge_group(&mut out, g);
            }
        }
        Ok(out)
    }
}

/// "the nearest names are …": the catalogue's fields closest to `name` (by edit distance, ignoring case).
fn nearest_fields(name: &str) -> String {
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
