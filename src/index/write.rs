//! Writing: events become documents (in parallel), one `IndexWriter` adds them, and the ingest ledger is
//! committed in the same tantivy commit as the events it vouches for.
//!
//! Exactly once: an event whose `eventID` is already in the index (committed, or added earlier in the
//! uncommitted batch) is not added again. An object is written to the ledger only after all of its events
//! were added, in the same commit, so a kill leaves either both or neither.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::columnar::StrColumn;
use tantivy::query::{ExistsQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::schema::{path_term_text, Fields, DOC_LEDGER};
use super::{open, tv, IndexError};
use crate::catalog::{names, FieldKind};
use crate::model::{Event, ObjectRef, Stitch};

/// Default commit cadence in added events: bounds the work a kill can lose (and redo) and the size of the
/// in-batch dedup set, while keeping commits (and the segments they make) rare.
pub const DEFAULT_COMMIT_EVERY: usize = 200_000;

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
}

/// An event turned into a document, ready for the single writer (which adds `actor`, see stitching).
pub struct PreparedDoc {
    pub event_id: String,
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
    let mut actor = None;
    for (name, val) in &ev.keywords {
        if *name == names::ACTOR {
            actor = Some(val.clone());
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
    for (p, v) in &ev.paths {
        doc.add_text(fields.path, path_term_text(p, v));
    }
    for t in ev.texts {
        doc.add_text(fields.text, t);
    }
    if let Some(m) = &ev.message {
        if let Some((f, _)) = fields.named(names::MESSAGE) {
            doc.add_text(f, m);
        }
    }
    doc.add_bytes(fields.raw, &ev.raw);
    PreparedDoc {
        event_id: ev.event_id,
        doc,
        actor,
        stitch: ev.stitch,
    }
}

/// The one writer of an index.
pub struct Writer {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    writer: IndexWriter,
    reader: IndexReader,
    /// Event ids added since the last commit (the searcher cannot see them yet).
    pending: HashSet<String>,
    pending_events: usize,
    commit_every: usize,
    /// True until the first commit when the index started empty: nothing committed to look up.
    empty_at_start: bool,
    /// Identity stitching: access key issued by an AssumeRole* call → the actor behind that call.
    issued: HashMap<String, String>,
    /// Keys learned (or whose actor changed) in the uncommitted batch: their earlier events need fixing.
    learned: HashSet<String>,
    dry_run: bool,
}

/// `_doc` value of a stitching marker: "the events of this key may carry an outdated actor". Committed
/// with the AssumeRole that taught the key, removed in the commit that fixes those events, so a kill in
/// between is finished by the next writer.
const DOC_STITCH: &str = "stitch";

impl Writer {
    /// Open (or create) the index and take its writer lock.
    pub fn open(cfg: &WriterConfig) -> Result<Writer, IndexError> {
        let (index, fields) = open(&cfg.dir, true)?;
        let writer = index
            .writer_with_num_threads(cfg.threads.max(1), cfg.heap_bytes)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => IndexError::Busy {
                    dir: cfg.dir.clone(),
                },
                other => tv(&cfg.dir)(other),
            })?;
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
            pending: HashSet::new(),
            pending_events: 0,
            commit_every: cfg.commit_every.max(1),
            issued: HashMap::new(),
            learned: HashSet::new(),
            dry_run: cfg.dry_run,
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
        for addr in docs {
            let seg = searcher.segment_reader(addr.segment_ord);
            let ff = seg.fast_fields();
            let key = first_str(
                &ff.str(names::ISSUED_KEY).map_err(tv(&self.dir))?,
                addr.doc_id,
            );
            let actor = first_str(&ff.str(names::ACTOR).map_err(tv(&self.dir))?, addr.doc_id);
            if let (Some(k), Some(a)) = (key, actor) {
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
            {
                return Some(a.clone());
            }
        }
        d.actor.clone()
    }

    /// Add a prepared document with its resolved actor; learn the key it issued.
    fn add_with_actor(&mut self, mut d: PreparedDoc) -> Result<(), IndexError> {
        let actor = self.resolve_actor(&d);
        if let Some(a) = &actor {
            let (f, _) = self
                .fields
                .named(names::ACTOR)
                .expect("actor is in the catalogue");
            d.doc.add_text(f, a);
            if let Some(k) = &d.stitch.issued_key {
                if self.issued.get(k) != Some(a) {
                    self.issued.insert(k.clone(), a.clone());
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
            let Some(actor) = self.issued.get(&k).cloned() else {
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
                let Some(raw) = stored.get_first(self.fields.raw).and_then(|v| v.as_bytes()) else {
                    continue;
                };
                let Ok(text) = std::str::from_utf8(raw) else {
                    continue;
                };
                let Ok(n) = crate::normalise::cloudtrail(text) else {
                    continue;
                };
                let mut d = prepare(&self.fields, n.event);
                let (id_field, _) = self.fields.named(names::EVENT_ID).expect("catalogue");
                self.writer
                    .delete_term(Term::from_field_text(id_field, &d.event_id));
                let (actor_field, _) = self.fields.named(names::ACTOR).expect("catalogue");
                d.doc.add_text(actor_field, &actor);
                if let Some(k2) = &d.stitch.issued_key {
                    if self.issued.get(k2) != Some(&actor) {
                        self.issued.insert(k2.clone(), actor.clone());
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
        let mut out = HashSet::with_capacity(docs.len());
        let mut buf = String::new();
        for addr in docs {
            let seg = searcher.segment_reader(addr.segment_ord);
            if let Some(col) = seg
                .fast_fields()
                .str(super::schema::F_LEDGER)
                .map_err(tv(&self.dir))?
            {
                for ord in col.term_ords(addr.doc_id) {
                    buf.clear();
                    col.ord_to_str(ord, &mut buf)
                        .map_err(|source| IndexError::Io {
                            dir: self.dir.clone(),
                            source,
                        })?;
                    out.insert(buf.clone());
                }
            }
        }
        Ok(out)
    }

    fn is_present(&self, searcher: &tantivy::Searcher, id: &str) -> Result<bool, IndexError> {
        if self.pending.contains(id) {
            return Ok(true);
        }
        if self.empty_at_start {
            return Ok(false);
        }
        let (f, _) = self
            .fields
            .named(names::EVENT_ID)
            .expect("eventID is in the catalogue");
        Ok(searcher
            .doc_freq(&Term::from_field_text(f, id))
            .map_err(tv(&self.dir))?
            > 0)
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
        let searcher = self.reader.searcher();
        for d in docs {
            if self.is_present(&searcher, &d.event_id)? {
                counts.present += 1;
                continue;
            }
            let id = d.event_id.clone();
            self.add_with_actor(d)?;
            self.pending.insert(id);
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

    fn commit_once(&mut self) -> Result<(), IndexError> {
        let payload = CommitPayload {
            last_ingest: Some(jiff::Timestamp::now().to_string()),
        };
        let mut prepared = self.writer.prepare_commit().map_err(tv(&self.dir))?;
        prepared.set_payload(&serde_json::to_string(&payload).expect("payload serialises"));
        prepared.commit().map_err(tv(&self.dir))?;
        self.reader.reload().map_err(tv(&self.dir))?;
        self.pending.clear();
        self.pending_events = 0;
        self.empty_at_start = false;
        Ok(())
    }

    /// Final commit, then wait for merges so the index is compact on disk.
    pub fn finish(mut self) -> Result<(), IndexError> {
        if self.dry_run {
            return Ok(());
        }
        self.commit()?;
        self.writer.wait_merging_threads().map_err(tv(&self.dir))?;
        let _ = &self.index;
        Ok(())
    }
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
