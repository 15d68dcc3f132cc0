//! Reading: requests run against the committed index — hits in a deterministic order with their columns
//! and records, counts, groups, stats, histograms and the index's own facts. Query compilation is in
//! `compile`, the collectors in `collect`.
//!
//! Order: newest first (or oldest first), ties broken by the eventID's digest, so the same index and
//! query always print the same lines.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use tantivy::collector::{Collector, Count};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::query::{EnableScoring, Query};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, ReloadPolicy, Searcher, SegmentOrdinal,
    TantivyDocument, Term, TERMINATED,
};

pub(crate) use super::collect::Group;
use super::collect::{
    count_all_by_doc_freq, first_ord, ord_str, CountByColumn, GroupByColumn, Key, MatchedDocs,
    TopByTime,
};
use super::compile::{nearest_fields, prefix_successor, Compiler};
use super::schema::{Fields, DOC_LEDGER, PATH_SEP};
use super::write::{read_payload, CommitPayload};
use super::{open, tv, IndexError};
use crate::catalog::{self, names, FieldKind};
use crate::normalise::time::{MAX_MS, MIN_MS};
use crate::query::{Node, Value};

/// Records fetched at once, in parallel, for hits in order: inflating doc-store blocks is most of the
/// cost of a page (a 512 KiB block per scattered hit), and a chunk keeps `--all` memory bounded (512
/// records are well under a megabyte). 512 rather than 64: the audit pair of benches/large (500k findings
/// at 5M events) went 7.3–7.7 → 6.1–6.7 s, fewer hand-overs between the fetch and the parse; a page of
/// 100, a time-range page, a 3k-hit `--all` and the under-1 % audit pack stayed within noise (21 vs 23,
/// 26 vs 25, 247 vs 241, 1,104 vs 1,173 ms, medians of 8).
const FETCH_CHUNK: usize = 512;

/// Inflated doc-store blocks kept per segment (512 KiB each). Hits come in time order, which interleaves
/// the objects of a few accounts and regions within a segment, so a handful of blocks are live at once.
/// tantivy's default, 100 a segment, held 425 MiB for one `search --all` of 30k hits on a 300k-event index
/// and grows with the segments; 16 held 161 MiB at the same speed (0.30 s), 4 took twice as long
/// (measured with the release build, `benches/work/corpus-300000`).
const DOCSTORE_CACHE_BLOCKS: usize = 16;

/// The most requests one tagged walk takes: their tags are the bits of a u64.
pub(crate) const MAX_TAGGED: usize = 64;

/// A search: the query tree, a time window on eventTime (`since` inclusive, `until` exclusive), order.
#[derive(Debug, Clone)]
pub(crate) struct SearchRequest {
    pub node: Node,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub oldest_first: bool,
}

/// One hit: its time, the named fields asked for (from fast fields) and the stored record.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub time_ms: i64,
    pub event_id: String,
    /// The names asked for, in the order of `values`; read them with [`Hit::get`].
    columns: &'static [&'static str],
    values: Vec<Option<String>>,
    pub raw: Vec<u8>,
}

impl Hit {
    /// The value of a named column asked for (`None`: the hit has none). Asking for a column that was not
    /// requested is a bug, caught in debug builds.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| *c == name);
        debug_assert!(i.is_some(), "column {name} was not asked for");
        i.and_then(|i| self.values.get(i))
            .and_then(|v| v.as_deref())
    }

    /// As [`Hit::get`], owned.
    pub(crate) fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }
}

/// Facts about an index.
#[derive(Debug, Clone)]
pub(crate) struct IndexInfo {
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
pub(crate) struct Reader {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    reader: IndexReader,
}

impl Reader {
    pub(crate) fn open(dir: &Path) -> Result<Reader, IndexError> {
        let (mut index, fields) = open(dir, false)?;
        // Segments are searched in parallel (one thread a core): a phrase's verification or an audit
        // over a multi-segment index uses every core; a keyed query does not notice.
        index.set_default_multithread_executor().map_err(tv(dir))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOCSTORE_CACHE_BLOCKS)
            .try_into()
            .map_err(tv(dir))?;
        Ok(Reader {
            dir: dir.to_path_buf(),
            index,
            fields,
            reader,
        })
    }

    /// Compile a request into one tantivy query: the tree, the time window, and never a ledger document.
    pub(crate) fn compile(&self, req: &SearchRequest) -> Result<Box<dyn Query>, IndexError> {
        Compiler {
            index: &self.index,
            fields: &self.fields,
        }
        .compile(req)
    }

    #[cfg(test)]
    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    fn err(&self) -> impl Fn(tantivy::TantivyError) -> IndexError + '_ {
        tv(&self.dir)
    }

    /// Every hit of `req`, in order, at most `limit`; `each` is called per hit (records fetched one by
    /// one, so `--all` holds only the sort keys).
    pub(crate) fn for_each_hit(
        &self,
        req: &SearchRequest,
        limit: Option<usize>,
        columns: &'static [&'static str],
        each: impl FnMut(Hit) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        self.for_each_hit_with(req, limit, columns, Fetch::Records, each)
    }

    /// As [`Reader::for_each_hit`], reading what `fetch` says of each hit.
    pub(crate) fn for_each_hit_with(
        &self,
        req: &SearchRequest,
        limit: Option<usize>,
        columns: &'static [&'static str],
        fetch: Fetch,
        mut each: impl FnMut(Hit) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        self.walk(req, limit, columns, fetch, |hits| {
            hits.into_iter().try_for_each(&mut each)
        })
    }

    /// As [`Reader::for_each_hit`], with the hits (in order) handed over a chunk at a time, so that what
    /// the caller does with each can run in parallel as well.
    pub(crate) fn for_each_chunk(
        &self,
        req: &SearchRequest,
        columns: &'static [&'static str],
        each: impl FnMut(Vec<Hit>) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        self.walk(req, None, columns, Fetch::Records, each)
    }

    fn walk(
        &self,
        req: &SearchRequest,
        limit: Option<usize>,
        columns: &'static [&'static str],
        fetch: Fetch,
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
        self.hits_of(&searcher, &keys, columns, fetch, req.oldest_first, |hits| {
            each(hits.into_iter().map(|(h, _)| h).collect())
        })
    }

    /// Every hit of any of `reqs` (each request's own window and tree), once, in time order (oldest first
    /// when the first request asks for it), a chunk at a time; each hit comes with a mask whose bit `i`
    /// says it matches `reqs[i]`. What several questions over one scope read is then fetched and parsed
    /// once (the audit pack: most rules look at the same few eventNames). Memory: 8 bytes an event for the
    /// masks, plus one chunk of records.
    pub(crate) fn for_each_tagged_chunk(
        &self,
        reqs: &[SearchRequest],
        columns: &'static [&'static str],
        fetch: Fetch,
        mut each: impl FnMut(Vec<(Hit, u64)>) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        if reqs.len() > MAX_TAGGED {
            return Err(IndexError::Query(format!(
                "at most {MAX_TAGGED} requests in one tagged walk (got {})",
                reqs.len()
            ))
            .into());
        }
        let Some(first) = reqs.first() else {
            return Ok(());
        };
        let searcher = self.searcher();
        let mut masks: Vec<Vec<u64>> = searcher
            .segment_readers()
            .iter()
            .map(|s| vec![0u64; s.max_doc() as usize])
            .collect();
        let mut union: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            let q = self.compile(req)?;
            let matched = searcher.search(&q, &MatchedDocs).map_err(self.err())?;
            for (seg, bits) in matched.iter().enumerate() {
                for (doc, m) in bits.iter().enumerate() {
                    if *m {
                        masks[seg][doc] |= 1u64 << i;
                    }
                }
            }
            union.push((Occur::Should, q));
        }
        let keys = searcher
            .search(
                &BooleanQuery::new(union),
                &TopByTime {
                    limit: usize::MAX,
                    oldest_first: first.oldest_first,
                },
            )
            .map_err(self.err())?;
        self.hits_of(
            &searcher,
            &keys,
            columns,
            fetch,
            first.oldest_first,
            |hits| {
                each(
                    hits.into_iter()
                        .map(|(h, addr)| {
                            let m = masks[addr.segment_ord as usize][addr.doc_id as usize];
                            (h, m)
                        })
                        .collect(),
                )
            },
        )
    }

    /// Hits for sort keys, in their order, a chunk at a time: columns from fast fields, records (when
    /// asked) fetched in parallel.
    fn hits_of(
        &self,
        searcher: &Searcher,
        keys: &[(Key, DocAddress)],
        columns: &'static [&'static str],
        fetch: Fetch,
        oldest_first: bool,
        mut each: impl FnMut(Vec<(Hit, DocAddress)>) -> std::io::Result<()>,
    ) -> Result<(), crate::Error> {
        let cols = ColumnCache::new(searcher, columns).map_err(self.err())?;
        // The eventID is read where the record is inflated, in parallel: finding it walks the whole
        // record, which done serially on the calling thread held the two fetch threads back (the 5M audit
        // pair: 7.4–8.9 → 4.7–5.5 s with the compact findings of the same commit).
        let read_one = |addr: DocAddress| -> Result<Fetched, IndexError> {
            let doc: TantivyDocument = searcher.doc(addr).map_err(self.err())?;
            let raw = doc
                .get_first(self.fields.raw)
                .and_then(|v| v.as_str())
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default();
            let id = match fetch {
                Fetch::Records => event_id_of(&raw),
                Fetch::Columns | Fetch::RecordsOnly => String::new(),
            };
            Ok((raw, id))
        };
        let threads = rayon::current_num_threads().max(1);
        for chunk in keys.chunks(FETCH_CHUNK) {
            let raws: Vec<Fetched> = if fetch != Fetch::Columns {
                // Neighbouring hits mostly share a doc-store block: each thread takes a run of neighbours
                // (in address order), so two threads rarely inflate the same block at once.
                let mut order: Vec<usize> = (0..chunk.len()).collect();
                order.sort_by_key(|&i| chunk[i].1);
                let per = order.len().div_ceil(threads).max(1);
                let fetched: Vec<Vec<(usize, Fetched)>> = order
                    .par_chunks(per)
                    .map(|run| {
                        run.iter()
                            .map(|&i| read_one(chunk[i].1).map(|r| (i, r)))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<_, _>>()?;
                let mut raws = vec![Default::default(); chunk.len()];
                for (i, r) in fetched.into_iter().flatten() {
                    raws[i] = r;
                }
                raws
            } else {
                vec![Default::default(); chunk.len()]
            };
            let hits = chunk
                .iter()
                .zip(raws)
                .map(|(&(key, addr), (raw, event_id))| {
                    let h = Hit {
                        time_ms: if oldest_first { key.0 } else { -key.0 },
                        event_id,
                        columns,
                        values: cols.values(addr, &raw),
                        raw,
                    };
                    (h, addr)
                })
                .collect();
            each(hits)?;
        }
        Ok(())
    }

    /// The hits of `req` grouped by the value of the keyword column `key`, with each group's count, time
    /// span, and the distinct values of `columns`; in no particular order. Columns only (no records, no
    /// ordering of hits): values are gathered as ordinals per segment and turned into strings once.
    pub(crate) fn group_by(
        &self,
        req: &SearchRequest,
        key: &str,
        columns: &'static [&'static str],
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
                    columns,
                },
            )
            .map_err(self.err())?;
        Ok(groups.into_values().collect())
    }

    /// Number of hits.
    pub(crate) fn count(&self, req: &SearchRequest) -> Result<u64, IndexError> {
        let q = self.compile(req)?;
        Ok(self.searcher().search(&q, &Count).map_err(self.err())? as u64)
    }

    /// Hits per `interval_ms` of eventTime, every bucket from the window's start (or the first hit) to its
    /// end (or the last hit), empty ones included; refused past `max_buckets`.
    pub(crate) fn histogram(
        &self,
        req: &SearchRequest,
        interval: crate::time::Interval,
        max_buckets: usize,
    ) -> Result<(i64, Vec<(i64, u64)>), IndexError> {
        use crate::time::Interval;
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
                crate::time::auto_interval(span_ms)
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
    pub(crate) fn stats(
        &self,
        req: &SearchRequest,
        by: &str,
    ) -> Result<Vec<(String, u64)>, IndexError> {
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
            Some((f, FieldKind::Keyword | FieldKind::KeywordCi))
                if catalog::lookup(by).is_some_and(|d| d.fast) =>
            {
                self.stats_by_column(&searcher, req, &*q, f, by)?
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

    /// `stats --by` a keyword column. Where `req` asks for every event (no query, no time window), a
    /// segment is counted from its term dictionary when it allows ([`count_all_by_doc_freq`]); every
    /// other segment, and every other request, by collecting the matching documents.
    fn stats_by_column(
        &self,
        searcher: &Searcher,
        req: &SearchRequest,
        q: &dyn Query,
        field: Field,
        name: &str,
    ) -> Result<HashMap<String, u64>, IndexError> {
        let collector = CountByColumn {
            field: name.to_string(),
        };
        let every_event = req.node == Node::All && req.since_ms.is_none() && req.until_ms.is_none();
        if !every_event {
            return searcher.search(q, &collector).map_err(self.err());
        }
        let weight = q
            .weight(EnableScoring::disabled_from_searcher(searcher))
            .map_err(self.err())?;
        let mut fruits = Vec::new();
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let fruit = match count_all_by_doc_freq(seg, field, name).map_err(self.err())? {
                Some(counts) => counts,
                None => collector
                    .collect_segment(&*weight, ord as SegmentOrdinal, seg)
                    .map_err(self.err())?,
            };
            fruits.push(fruit);
        }
        collector.merge_fruits(fruits).map_err(self.err())
    }

    /// The terms of one segment's field that start with `prefix` (every term when it is empty), in order.
    fn terms_from<'a>(
        &self,
        inv: &'a tantivy::InvertedIndexReader,
        prefix: &str,
    ) -> Result<tantivy::termdict::TermStreamer<'a>, IndexError> {
        let range = inv.terms().range().ge(prefix);
        let range = if prefix.is_empty() {
            range
        } else {
            range.lt(prefix_successor(prefix))
        };
        range.into_stream().map_err(|source| IndexError::Io {
            dir: self.dir.clone(),
            source,
        })
    }

    /// True when some segment has a term of `field` starting with `prefix`.
    fn has_terms(
        &self,
        searcher: &Searcher,
        field: Field,
        prefix: &str,
    ) -> Result<bool, IndexError> {
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(field).map_err(self.err())?;
            let mut stream = self.terms_from(&inv, prefix)?;
            if stream.advance() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The distinct values indexed at the open path `path` (in any segment, deleted documents' included)
    /// that `keep` accepts, sorted: what a check on one path's values can ask the term dictionary instead
    /// of every record (the audit's `number-above`). Only accepted values are held.
    pub(crate) fn path_values_where(
        &self,
        path: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, IndexError> {
        let lo = format!("{path}{PATH_SEP}");
        let mut out = std::collections::BTreeSet::new();
        for seg in self.searcher().segment_readers() {
            let inv = seg.inverted_index(self.fields.path).map_err(self.err())?;
            let mut stream = self.terms_from(&inv, &lo)?;
            while stream.advance() {
                // Terms are written from `str`s; a value that is not UTF-8 is damage, never a match.
                if let Ok(v) = std::str::from_utf8(&stream.key()[lo.len()..]) {
                    if keep(v) && !out.contains(v) {
                        out.insert(v.to_string());
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
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
        let mut out: HashMap<String, u64> = HashMap::new();
        let io = |source| IndexError::Io {
            dir: self.dir.clone(),
            source,
        };
        for (seg, bits) in searcher.segment_readers().iter().zip(matched) {
            let inv = seg.inverted_index(field).map_err(self.err())?;
            let mut stream = self.terms_from(&inv, prefix)?;
            while stream.advance() {
                let value = String::from_utf8_lossy(&stream.key()[prefix.len()..]).into_owned();
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
    pub(crate) fn info(&self) -> Result<IndexInfo, IndexError> {
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
            studio_log_events: count(kind(crate::model::KIND_STUDIO_LOG))?,
            objects,
            size_bytes: dir_size(&self.dir),
            segments: searcher.segment_readers().len(),
            oldest_ms: oldest,
            newest_ms: newest,
            payload: read_payload(&self.index),
        })
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

/// What a walk reads of each hit besides its sort key and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// Nothing more: no doc store (`Hit::raw` and `Hit::event_id` empty).
    Columns,
    /// The record and its eventID.
    Records,
    /// The record, not its eventID (`Hit::event_id` empty): for a caller that parses each record anyway
    /// and takes the eventID from there, since finding it walks the whole record once more.
    RecordsOnly,
}

/// A record fetched for a hit, with its eventID.
type Fetched = (Vec<u8>, String);
