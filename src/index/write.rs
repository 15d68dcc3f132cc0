//! Writing: events become documents (in parallel), one `IndexWriter` adds them, and the ingest ledger is
//! committed in the same tantivy commit as the events it vouches for.
//!
//! Exactly once: an event whose `eventID` is already in the index (committed, or added earlier in the
//! uncommitted batch) is not added again. An object is written to the ledger only after all of its events
//! were added, in the same commit, so a kill leaves either both or neither.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::columnar::StrColumn;
use tantivy::query::{ExistsQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::schema::{id_hash, text_analyzer, Fields, Omit, DOC_LEDGER, MAX_WORD_LEN};
use super::{merge, open, open_replacing, tv, writer_error, IndexError};
use crate::catalog::{self, names, FieldKind};
use crate::model::{Event, ObjectRef, Stitch};

/// Default commit cadence in added events: bounds the work a kill can lose (and redo). A commit also
/// flushes the indexing threads' in-memory segments, so it bounds their memory too: measured on 300k events,
/// 200k a commit peaked at 345 MB RSS, 100k at 280–293 MB, in the same time (segments are merged at the
/// end of a run anyway, see `merge`).
pub const DEFAULT_COMMIT_EVERY: usize = 100_000;

/// How to open the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub dir: PathBuf,
    /// Total indexing memory; tantivy splits it between its threads (at least 15 MB each).
    pub heap_bytes: usize,
    pub threads: usize,
    /// Drop everything first (in the same commit as the new data).
    pub reindex: bool,
    /// Commit after this many added events (and at the end).
    pub commit_every: usize,
    /// Decode, normalise and prepare, but add nothing and commit nothing (the decode-limit benchmark).
    pub dry_run: bool,
    /// Parts of each document to leave out (a bench instrument; see [`Omit`]).
    pub omit: Omit,
    /// How big the end-of-run merges may get.
    pub merge: merge::MergeConfig,
}

/// An event turned into a document, ready for the single writer (which adds `actor`, see stitching).
pub struct PreparedDoc {
    /// `id_hash("eventID", eventID)`: the `_hash` term that says the event is in the index.
    pub id_hash: u64,
    pub doc: TantivyDocument,
    /// The actor when stitching knows nothing better.
    pub actor: Option<String>,
    pub stitch: Stitch,
}

/// What the writer stores in the commit payload.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CommitPayload {
    /// RFC 3339 time of the last commit by an ingest.
    pub last_ingest: Option<String>,
}

/// Counts for one object.
#[derive(Debug, Default, Clone, Copy)]
pub struct AddCounts {
    pub added: u64,
    pub present: u64,
}

/// Turn an event into a document. Runs on the decode threads.
pub fn prepare(fields: &Fields, ev: Event) -> PreparedDoc {
    let mut doc = TantivyDocument::default();
    doc.add_date(fields.time, DateTime::from_timestamp_millis(ev.time_ms));
    let id_hash = id_hash(names::EVENT_ID, &ev.event_id);
    // 32 bits are plenty to break ties of equal milliseconds, and cost half the column.
    doc.add_u64(fields.idh, id_hash & 0xFFFF_FFFF);
    let mut actor = None;
    for (name, val) in &ev.keywords {
        if *name == names::ACTOR {
            actor = Some(val.clone());
            continue;
        }
        if catalog::own_field(name).is_some_and(|d| d.kind == FieldKind::Id) {
            doc.add_u64(fields.hash, id_hash_of(name, val, &ev.event_id, id_hash));
            continue;
        }
        if fields.omit.keywords {
            continue;
        }
        if let Some((f, kind)) = fields.named(name) {
            match kind {
                FieldKind::KeywordCi => doc.add_text(f, val.to_lowercase()),
                _ => doc.add_text(f, val),
            }
        }
    }
    // tantivy copies each string it is given; one copy per value is the floor here.
    if !fields.omit.paths {
        for t in ev.paths {
            doc.add_text(fields.path, t);
        }
    }
    if !fields.omit.text {
        doc.add_text(fields.text, distinct_words(&ev.texts));
    }
    if let Some(m) = &ev.message {
        if let Some((f, _)) = fields.named(names::MESSAGE) {
            doc.add_text(f, m);
        }
    }
    if !fields.omit.record {
        doc.add_text(fields.raw, &ev.raw);
    }
    PreparedDoc {
        id_hash,
        doc,
        actor,
        stitch: ev.stitch,
    }
}

/// The distinct full-text words of a record, lowercased and space-separated. Each word is indexed once
/// per record anyway (no positions, no frequencies), so splitting here, on the decode threads, and
/// dropping repeats (ARN parts, account ids, service names recur in most strings) halves the words the
/// indexing threads take; re-splitting the result there is cheap. ASCII strings (nearly all of CloudTrail)
/// are split byte by byte exactly as the full-text analyzer would; others go through the analyzer.
pub fn distinct_words(texts: &[String]) -> String {
    thread_local! {
        static ANALYZER: RefCell<TextAnalyzer> = RefCell::new(text_analyzer());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(texts.iter().map(|t| t.len() + 1).sum());
    for t in texts {
        if t.is_ascii() {
            buf.extend(t.bytes().map(|b| {
                if b.is_ascii_alphanumeric() {
                    b.to_ascii_lowercase()
                } else {
                    b' '
                }
            }));
        } else {
            ANALYZER.with_borrow_mut(|an| {
                let mut ts = an.token_stream(t);
                while ts.advance() {
                    buf.push(b' ');
                    buf.extend_from_slice(ts.token().text.as_bytes());
                }
            });
        }
        buf.push(b' ');
    }
    // A hash set, not a sort: sorting ~100 short words a record was mostly memcmp.
    let mut seen: FxHashSet<&[u8]> = FxHashSet::default();
    seen.reserve(128);
    let mut out = Vec::with_capacity(buf.len());
    for w in buf.split(|&b| b == b' ') {
        if w.is_empty() || w.len() >= MAX_WORD_LEN || !seen.insert(w) {
            continue;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(w);
    }
    // Only whole words of valid UTF-8 strings were copied, split at ASCII spaces.
    String::from_utf8(out).unwrap_or_default()
}

/// The digest of an identifier value; the eventID's is computed once per event.
fn id_hash_of(name: &str, val: &str, event_id: &str, event_id_hash: u64) -> u64 {
    if name == names::EVENT_ID && val == event_id {
        event_id_hash
    } else {
        id_hash(name, val)
    }
}

/// Identity stitching: access key issued by an AssumeRole* call → the actor behind that call. Held for
/// every issued key of the index, so kept compact: a 64-bit digest per key and interned actors (few
/// distinct), ~16 bytes a key where two `String`s took ~150 (60 MB at 4M events).
#[derive(Default)]
struct IssuedKeys {
    by_key: FxHashMap<u64, u32>,
    actors: Vec<String>,
    actor_ids: FxHashMap<String, u32>,
}

impl IssuedKeys {
    fn get(&self, key: &str) -> Option<&str> {
        let id = *self.by_key.get(&key_digest(key))?;
        Some(self.actors[id as usize].as_str())
    }

    /// Record `key → actor`; true when that changed what `key` maps to.
    fn insert(&mut self, key: &str, actor: &str) -> bool {
        let id = match self.actor_ids.get(actor) {
            Some(&id) => id,
            None => {
                let id = self.actors.len() as u32;
                self.actors.push(actor.to_string());
                self.actor_ids.insert(actor.to_string(), id);
                id
            }
        };
        self.by_key.insert(key_digest(key), id) != Some(id)
    }
}

/// Per segment of `searcher`, the `_idh` values (low 32 bits of the eventID digest) of its events, sorted.
fn event_id_bits(searcher: &tantivy::Searcher) -> tantivy::Result<Vec<Vec<u32>>> {
    searcher
        .segment_readers()
        .iter()
        .map(|seg| {
            let col = seg.fast_fields().u64(super::schema::F_IDH)?;
            let mut ids: Vec<u32> = (0..seg.max_doc())
                .filter_map(|d| col.first(d))
                .map(|v| v as u32)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        })
        .collect()
}

/// What the end of a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Finished {
    /// Segments merged away, and the merges that took them.
    pub segments_merged: usize,
    pub merges: usize,
    /// Segments in the index afterwards.
    pub segments: usize,
    /// Time of the final commit and the merges.
    pub seconds: f64,
}

/// Digests of the events a run added: a hash set for the open batch, a sorted vector for the committed
/// ones (8 bytes an event, no slack: a hash set of a million digests takes 16–24 bytes each while it grows,
/// which showed in the peak memory of large loads).
#[derive(Default)]
struct RunDigests {
    batch: FxHashSet<u64>,
    committed: Vec<u64>,
}

impl RunDigests {
    fn contains(&self, d: u64) -> bool {
        self.batch.contains(&d) || self.committed.binary_search(&d).is_ok()
    }

    fn insert(&mut self, d: u64) {
        self.batch.insert(d);
    }

    /// After a commit: move the batch into the sorted vector (the set keeps its capacity for the next).
    fn seal(&mut self) {
        self.committed.reserve_exact(self.batch.len());
        self.committed.extend(self.batch.drain());
        self.committed.sort_unstable();
    }
}

/// The one writer of an index.
pub struct Writer {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    writer: IndexWriter,
    reader: IndexReader,
    /// Digests of the event ids added by this run, committed or not. Looking each event up in the index
    /// instead costs a term-dictionary block read per segment: at a million events that was most of the
    /// ingest time.
    added: RunDigests,
    pending_events: usize,
    /// The index as it was when this writer opened (None when it was empty): what `added` does not cover.
    base: Option<tantivy::Searcher>,
    /// Per segment of `base`, the low 32 bits of the eventID digest of its events (its `_idh` column),
    /// sorted: only a segment holding the bits is asked for the term. A term lookup reads a dictionary
    /// block (~22 µs); asking every segment for every event made 20k new events into a 4M-event index
    /// take 6.1 s and 100k redelivered ones 27 s. 4 bytes an indexed event.
    base_ids: Vec<Vec<u32>>,
    /// Digests of the access keys used by this run's events without a sourceIdentity: only those keys (or
    /// keys in `base`) can have events whose actor a newly learned key changes.
    keys_used: FxHashSet<u64>,
    commit_every: usize,
    /// True until the first commit when the index started empty: nothing committed to look up.
    empty_at_start: bool,
    /// Identity stitching: access key issued by an AssumeRole* call → the actor behind that call.
    issued: IssuedKeys,
    /// Keys learned (or whose actor changed) in the uncommitted batch: their earlier events need fixing.
    learned: HashSet<String>,
    dry_run: bool,
    merge: merge::MergeConfig,
}

/// `_doc` value of a stitching marker: "the events of this key may carry an outdated actor". Committed
/// with the AssumeRole that taught the key, removed in the commit that fixes those events, so a kill in
/// between is finished by the next writer.
const DOC_STITCH: &str = "stitch";

impl Writer {
    /// Open (or create) the index and take its writer lock.
    pub fn open(cfg: &WriterConfig) -> Result<Writer, IndexError> {
        let (index, mut fields) = if cfg.reindex {
            open_replacing(&cfg.dir)?
        } else {
            open(&cfg.dir, true)?
        };
        fields.omit = cfg.omit;
        let writer = index
            .writer_with_num_threads(cfg.threads.max(1), cfg.heap_bytes)
            .map_err(writer_error(&cfg.dir))?;
        // Merging happens at the end of a run, bounded (see `merge`), never beside the indexing threads.
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tv(&cfg.dir))?;
        let mut w = Writer {
            dir: cfg.dir.clone(),
            empty_at_start: reader.searcher().num_docs() == 0 || cfg.reindex,
            index,
            fields,
            writer,
            reader,
            added: RunDigests::default(),
            pending_events: 0,
            base: None,
            base_ids: Vec::new(),
            keys_used: FxHashSet::default(),
            commit_every: cfg.commit_every.max(1),
            issued: IssuedKeys::default(),
            learned: HashSet::new(),
            dry_run: cfg.dry_run,
            merge: cfg.merge,
        };
        if cfg.reindex {
            w.writer.delete_all_documents().map_err(tv(&w.dir))?;
        } else if !w.empty_at_start {
            w.load_issued_keys()?;
            let pending = w.pending_stitches()?;
            if !pending.is_empty() {
                w.fix_actors(pending)?;
                w.commit()?;
            }
            let base = w.reader.searcher();
            w.base_ids = event_id_bits(&base).map_err(tv(&w.dir))?;
            w.base = Some(base);
        }
        Ok(w)
    }

    /// Every (issued key → actor) pair in the committed index.
    fn load_issued_keys(&mut self) -> Result<(), IndexError> {
        let searcher = self.reader.searcher();
        let q = ExistsQuery::new(names::ISSUED_KEY.to_string(), false);
        let docs = searcher
            .search(&q, &DocSetCollector)
            .map_err(tv(&self.dir))?;
        let mut cols: Vec<Option<ColumnTerms>> = vec![None; searcher.segment_readers().len()];
        for addr in docs {
            let c = self.column_terms(
                &searcher,
                &mut cols,
                addr,
                &[names::ISSUED_KEY, names::ACTOR],
            )?;
            if let (Some(k), Some(a)) = (c.first(0, addr.doc_id), c.first(1, addr.doc_id)) {
                self.issued.insert(k, a);
            }
        }
        Ok(())
    }

    /// Keys whose fix-up was committed as pending but not finished (a kill in between).
    fn pending_stitches(&self) -> Result<HashSet<String>, IndexError> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.doc, DOC_STITCH),
            IndexRecordOption::Basic,
        );
        let docs = searcher
            .search(&q, &DocSetCollector)
            .map_err(tv(&self.dir))?;
        let mut out = HashSet::new();
        for addr in docs {
            let seg = searcher.segment_reader(addr.segment_ord);
            let col = seg
                .fast_fields()
                .str(super::schema::F_LEDGER)
                .map_err(tv(&self.dir))?;
            if let Some(k) = first_str(&col, addr.doc_id) {
                out.insert(k);
            }
        }
        Ok(out)
    }

    /// The actor of an event: its sourceIdentity (already the fallback), else the actor behind the key it
    /// was made with, else the fallback.
    fn resolve_actor(&self, d: &PreparedDoc) -> Option<String> {
        if !d.stitch.has_source_identity {
            if let Some(a) = d
                .stitch
                .access_key
                .as_ref()
                .and_then(|k| self.issued.get(k))
                .map(str::to_string)
            {
                return Some(a.clone());
            }
        }
        d.actor.clone()
    }

    /// Add a prepared document with its resolved actor; learn the key it issued.
    fn add_with_actor(&mut self, mut d: PreparedDoc) -> Result<(), IndexError> {
        let actor = self.resolve_actor(&d);
        if let (Some(k), false) = (&d.stitch.access_key, d.stitch.has_source_identity) {
            self.keys_used.insert(key_digest(k));
        }
        if let Some(a) = &actor {
            let (f, _) = self
                .fields
                .named(names::ACTOR)
                .expect("actor is in the catalogue");
            d.doc.add_text(f, a);
            if let Some(k) = &d.stitch.issued_key {
                if self.issued.insert(k, a) {
                    self.learned.insert(k.clone());
                }
            }
        }
        self.writer.add_document(d.doc).map_err(tv(&self.dir))?;
        Ok(())
    }

    /// Re-index the committed events made with `keys` whose actor is outdated, following chains (a fixed
    /// AssumeRole changes the actor of the key it issued).
    fn fix_actors(&mut self, keys: HashSet<String>) -> Result<u64, IndexError> {
        let searcher = self.reader.searcher();
        let mut work: Vec<String> = keys.into_iter().collect();
        work.sort();
        let mut fixed = 0u64;
        // A key comes back on the list only when its actor changed, so this ends: each change moves an
        // actor closer to the head of its chain.
        while let Some(k) = work.pop() {
            let Some(actor) = self.issued.get(&k).map(str::to_string) else {
                continue;
            };
            let (key_field, _) = self.fields.named(names::UI_ACCESS_KEY).expect("catalogue");
            let q = TermQuery::new(
                Term::from_field_text(key_field, &k),
                IndexRecordOption::Basic,
            );
            let docs = searcher
                .search(&q, &DocSetCollector)
                .map_err(tv(&self.dir))?;
            for addr in docs {
                let seg = searcher.segment_reader(addr.segment_ord);
                let ff = seg.fast_fields();
                if first_str(
                    &ff.str(names::SOURCE_IDENTITY).map_err(tv(&self.dir))?,
                    addr.doc_id,
                )
                .is_some()
                {
                    continue;
                }
                if first_str(&ff.str(names::ACTOR).map_err(tv(&self.dir))?, addr.doc_id).as_deref()
                    == Some(actor.as_str())
                {
                    continue;
                }
                let stored: TantivyDocument = searcher.doc(addr).map_err(tv(&self.dir))?;
                let Some(text) = stored.get_first(self.fields.raw).and_then(|v| v.as_str()) else {
                    continue;
                };
                let Ok(n) = crate::normalise::cloudtrail(text) else {
                    continue;
                };
                let mut d = prepare(&self.fields, n.event);
                self.writer
                    .delete_term(Term::from_field_u64(self.fields.hash, d.id_hash));
                let (actor_field, _) = self.fields.named(names::ACTOR).expect("catalogue");
                d.doc.add_text(actor_field, &actor);
                if let Some(k2) = &d.stitch.issued_key {
                    if self.issued.insert(k2, &actor) {
                        work.push(k2.clone());
                    }
                }
                self.writer.add_document(d.doc).map_err(tv(&self.dir))?;
                fixed += 1;
            }
        }
        // Every marker is settled by this fix-up.
        self.writer
            .delete_term(Term::from_field_text(self.fields.doc, DOC_STITCH));
        Ok(fixed)
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ledger keys of every object already ingested (empty after `--reindex`).
    pub fn done_objects(&self) -> Result<HashSet<String>, IndexError> {
        if self.empty_at_start || self.dry_run {
            return Ok(HashSet::new());
        }
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.doc, DOC_LEDGER),
            IndexRecordOption::Basic,
        );
        let docs = searcher
            .search(&q, &DocSetCollector)
            .map_err(tv(&self.dir))?;
        let mut cols: Vec<Option<ColumnTerms>> = vec![None; searcher.segment_readers().len()];
        let mut out = HashSet::with_capacity(docs.len());
        for addr in docs {
            let c = self.column_terms(&searcher, &mut cols, addr, &[super::schema::F_LEDGER])?;
            if let Some(k) = c.first(0, addr.doc_id) {
                out.insert(k.to_string());
            }
        }
        Ok(out)
    }

    /// The columns `names` of the segment of `addr`, with their dictionaries (read once per segment and
    /// kept in `cache`): looking values up one ordinal at a time inflates a zstd block per lookup, which
    /// was most of a rerun's time (1.2 s for 618 objects).
    fn column_terms<'c>(
        &self,
        searcher: &tantivy::Searcher,
        cache: &'c mut [Option<ColumnTerms>],
        addr: tantivy::DocAddress,
        names: &[&str],
    ) -> Result<&'c ColumnTerms, IndexError> {
        let slot = &mut cache[addr.segment_ord as usize];
        if slot.is_none() {
            let ff = searcher.segment_reader(addr.segment_ord).fast_fields();
            let cols = names
                .iter()
                .map(|n| ff.str(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(tv(&self.dir))?;
            *slot = Some(ColumnTerms::read(cols).map_err(|source| IndexError::Io {
                dir: self.dir.clone(),
                source,
            })?);
        }
        Ok(slot.as_ref().expect("filled above"))
    }

    fn is_present(&self, id_hash: u64) -> Result<bool, IndexError> {
        if self.added.contains(id_hash) {
            return Ok(true);
        }
        let Some(base) = &self.base else {
            return Ok(false);
        };
        let bits = id_hash as u32;
        let term = Term::from_field_u64(self.fields.hash, id_hash);
        for (seg, ids) in base.segment_readers().iter().zip(&self.base_ids) {
            if ids.binary_search(&bits).is_ok()
                && seg
                    .inverted_index(self.fields.hash)
                    .and_then(|inv| Ok(inv.doc_freq(&term)?))
                    .map_err(tv(&self.dir))?
                    > 0
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Add the events of one object; when `complete`, record the object as done in the same commit.
    pub fn add_object(
        &mut self,
        obj: Option<&ObjectRef>,
        docs: Vec<PreparedDoc>,
        complete: bool,
    ) -> Result<AddCounts, IndexError> {
        let mut counts = AddCounts::default();
        if self.dry_run {
            counts.added = docs.len() as u64;
            return Ok(counts);
        }
        for d in docs {
            if self.is_present(d.id_hash)? {
                counts.present += 1;
                continue;
            }
            let id = d.id_hash;
            self.add_with_actor(d)?;
            self.added.insert(id);
            counts.added += 1;
            self.pending_events += 1;
        }
        if let (Some(obj), true) = (obj, complete) {
            self.mark_done(obj)?;
        }
        if self.pending_events >= self.commit_every {
            self.commit()?;
        }
        Ok(counts)
    }

    /// Record `obj` in the ledger, replacing any older version of it.
    fn mark_done(&mut self, obj: &ObjectRef) -> Result<(), IndexError> {
        self.writer
            .delete_term(Term::from_field_text(self.fields.obj, &obj.name));
        let mut doc = TantivyDocument::default();
        doc.add_text(self.fields.doc, DOC_LEDGER);
        doc.add_text(self.fields.obj, &obj.name);
        doc.add_text(self.fields.ledger, obj.ledger_key());
        self.writer.add_document(doc).map_err(tv(&self.dir))?;
        Ok(())
    }

    /// Commit everything added so far, with the payload, and make it visible to the dedup check. When the
    /// batch taught new issued keys, a second commit fixes the actor of earlier events made with them.
    pub fn commit(&mut self) -> Result<(), IndexError> {
        if self.dry_run {
            return Ok(());
        }
        let learned = std::mem::take(&mut self.learned);
        let learned = self.keys_to_fix(learned)?;
        for k in &learned {
            let mut doc = TantivyDocument::default();
            doc.add_text(self.fields.doc, DOC_STITCH);
            doc.add_text(self.fields.ledger, k);
            self.writer.add_document(doc).map_err(tv(&self.dir))?;
        }
        self.commit_once()?;
        if !learned.is_empty() {
            self.fix_actors(learned)?;
            self.commit_once()?;
        }
        Ok(())
    }

    /// The learned keys that some event (of this run, or already in the index) was made with: the others
    /// have nothing to fix, and most issued keys are never seen in use (used elsewhere, or later).
    fn keys_to_fix(&self, learned: HashSet<String>) -> Result<HashSet<String>, IndexError> {
        let (key_field, _) = self.fields.named(names::UI_ACCESS_KEY).expect("catalogue");
        let mut out = HashSet::new();
        for k in learned {
            let used = self.keys_used.contains(&key_digest(&k))
                || match &self.base {
                    Some(base) => {
                        base.doc_freq(&Term::from_field_text(key_field, &k))
                            .map_err(tv(&self.dir))?
                            > 0
                    }
                    None => false,
                };
            if used {
                out.insert(k);
            }
        }
        Ok(out)
    }

    fn commit_once(&mut self) -> Result<(), IndexError> {
        let payload = CommitPayload {
            last_ingest: Some(jiff::Timestamp::now().to_string()),
        };
        let mut prepared = self.writer.prepare_commit().map_err(tv(&self.dir))?;
        prepared.set_payload(&serde_json::to_string(&payload).expect("payload serialises"));
        prepared.commit().map_err(tv(&self.dir))?;
        self.reader.reload().map_err(tv(&self.dir))?;
        self.pending_events = 0;
        self.empty_at_start = false;
        self.added.seal();
        Ok(())
    }

    /// Final commit, then the end-of-run merges.
    pub fn finish(mut self) -> Result<Finished, IndexError> {
        let started = std::time::Instant::now();
        if self.dry_run {
            return Ok(Finished::default());
        }
        self.commit()?;
        // Searchers keep every segment they saw mapped, and a merge pages its inputs in: with them alive,
        // the merges of a 4M-event load held the whole index resident (peak 980 MB). Let them go first.
        let Writer {
            dir,
            index,
            mut writer,
            reader,
            base,
            merge: cfg,
            ..
        } = self;
        drop(base);
        drop(reader);
        let mut done = merge_small_segments(&dir, &index, &mut writer, &cfg)?;
        writer.wait_merging_threads().map_err(tv(&dir))?;
        done.seconds = started.elapsed().as_secs_f64();
        Ok(done)
    }
}

/// Merge the small segments, a bounded group at a time (see [`super::merge`]). Each merge replaces its
/// inputs atomically in the index meta, so a kill in between loses nothing.
fn merge_small_segments(
    dir: &Path,
    index: &Index,
    writer: &mut IndexWriter,
    cfg: &merge::MergeConfig,
) -> Result<Finished, IndexError> {
    let metas = index.searchable_segment_metas().map_err(tv(dir))?;
    let sizes: Vec<merge::SegmentSize> = metas
        .iter()
        .map(|m| merge::SegmentSize {
            id: m.id().uuid_string(),
            live_docs: m.num_docs(),
            deleted_docs: m.num_deleted_docs(),
        })
        .collect();
    let groups: Vec<Vec<tantivy::index::SegmentId>> = merge::plan(&sizes, cfg)
        .into_iter()
        .map(|group| {
            metas
                .iter()
                .filter(|m| group.contains(&m.id().uuid_string()))
                .map(|m| m.id())
                .collect()
        })
        .collect();
    // Files stay while anything holds their segment's meta: let go of ours.
    drop(metas);
    for batch in groups.chunks(cfg.parallel.max(1)) {
        let running: Vec<_> = batch.iter().map(|ids| writer.merge(ids)).collect();
        for m in running {
            m.wait().map_err(tv(dir))?;
        }
    }
    // The merged-away segments' files go now, not at the next run.
    writer.garbage_collect_files().wait().map_err(tv(dir))?;
    Ok(Finished {
        segments_merged: groups.iter().map(Vec::len).sum(),
        merges: groups.len(),
        segments: index.searchable_segment_metas().map_err(tv(dir))?.len(),
        seconds: 0.0,
    })
}

/// String columns with their whole dictionaries read in order, for per-document lookups by ordinal.
#[derive(Clone)]
struct ColumnTerms {
    cols: Vec<(Option<StrColumn>, Vec<String>)>,
}

impl ColumnTerms {
    fn read(columns: Vec<Option<StrColumn>>) -> std::io::Result<ColumnTerms> {
        let mut cols = Vec::new();
        for c in columns {
            let mut terms = Vec::new();
            if let Some(col) = &c {
                let mut stream = col.dictionary().stream()?;
                while stream.advance() {
                    terms.push(String::from_utf8_lossy(stream.key()).into_owned());
                }
            }
            cols.push((c, terms));
        }
        Ok(ColumnTerms { cols })
    }

    fn first(&self, i: usize, doc: tantivy::DocId) -> Option<&str> {
        let (col, terms) = &self.cols[i];
        let ord = col.as_ref()?.term_ords(doc).next()?;
        terms.get(ord as usize).map(String::as_str)
    }
}

fn key_digest(k: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(k.as_bytes())
}

/// Read the commit payload of an index.
pub fn read_payload(index: &Index) -> CommitPayload {
    index
        .load_metas()
        .ok()
        .and_then(|m| m.payload)
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or_default()
}

fn first_str(c: &Option<StrColumn>, doc: tantivy::DocId) -> Option<String> {
    let c = c.as_ref()?;
    let ord = c.term_ords(doc).next()?;
    let mut s = String::new();
    c.ord_to_str(ord, &mut s).ok()?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_map_to_interned_actors() {
        let mut k = IssuedKeys::default();
        assert!(k.insert("ASIA1", "alice"));
        assert!(k.insert("ASIA2", "alice"));
        assert!(!k.insert("ASIA1", "alice"), "same mapping: no change");
        assert!(
            k.insert("ASIA1", "bob"),
            "a new actor for a key is a change"
        );
        assert_eq!(k.get("ASIA1"), Some("bob"));
        assert_eq!(k.get("ASIA2"), Some("alice"));
        assert_eq!(k.get("ASIA3"), None);
        assert_eq!(k.actors.len(), 2, "actors are interned");
    }

    #[test]
    fn run_digests_remember_across_seals() {
        let mut r = RunDigests::default();
        for d in [5u64, 1, 9] {
            r.insert(d);
        }
        assert!(r.contains(1) && !r.contains(2));
        r.seal();
        r.insert(2);
        assert!(r.contains(1) && r.contains(5) && r.contains(9) && r.contains(2));
        assert!(!r.contains(3));
        r.seal();
        assert_eq!(r.committed, vec![1, 2, 5, 9]);
        assert!(r.batch.is_empty());
    }

    /// The byte-level split must give exactly the analyzer's words (deduplicated), or full text would
    /// miss what a query tokenizes differently.
    #[test]
    fn distinct_words_match_the_analyzer() {
        let texts: Vec<String> = [
            "arn:aws:sts::111122223333:assumed-role/AmazonSageMaker-ExecutionRole-07/SageMaker",
            "AWS-SageMaker-Studio/1.0 Boto3/1.34.84 md/Botocore#1.34.84",
            "User is not authorized; USER again",
            "Grüße aus Köln — ÜBER naïve",
            "",
            &"x".repeat(70),
            "ok_snake_case key=value",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut an = text_analyzer();
        let mut want: Vec<String> = Vec::new();
        for t in &texts {
            let mut ts = an.token_stream(t);
            while ts.advance() {
                want.push(ts.token().text.clone());
            }
        }
        want.sort();
        want.dedup();
        let got = distinct_words(&texts);
        let mut ts = an.token_stream(&got);
        let mut again = Vec::new();
        while ts.advance() {
            again.push(ts.token().text.clone());
        }
        assert_eq!(again.len(), want.len(), "no word twice: {again:?}");
        again.sort();
        assert_eq!(again, want);
        assert!(want.contains(&"köln".to_string()) && !want.iter().any(|w| w.len() >= 64));
    }
}
