//! Writing: events become documents (in parallel), one `IndexWriter` adds them, and the ingest ledger is
//! committed in the same tantivy commit as the events it vouches for.
//!
//! Exactly once: an event whose `eventID` is already in the index (committed, or added earlier in the
//! uncommitted batch) is not added again. An object is written to the ledger only after all of its events
//! were added, in the same commit, so a kill leaves either both or neither.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::schema::{path_term_text, Fields, DOC_LEDGER};
use super::{open, tv, IndexError};
use crate::catalog::FieldKind;
use crate::model::{Event, ObjectRef};

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
}

/// An event turned into a document, ready for the single writer.
pub struct PreparedDoc {
    pub event_id: String,
    pub doc: TantivyDocument,
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
    for (name, val) in &ev.keywords {
        if let Some((f, kind)) = fields.named(name) {
            match kind {
                FieldKind::KeywordCi => doc.add_text(f, val.to_lowercase()),
                _ => doc.add_text(f, val),
            }
        }
    }
    for (p, v) in &ev.paths {
        doc.add_text(fields.path, path_term_text(p, v));
    }
    for t in &ev.texts {
        doc.add_text(fields.text, t);
    }
    if let Some(m) = &ev.message {
        if let Some((f, _)) = fields.named(crate::catalog::names::MESSAGE) {
            doc.add_text(f, m);
        }
    }
    doc.add_bytes(fields.raw, &ev.raw);
    PreparedDoc {
        event_id: ev.event_id,
        doc,
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
}

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
        let w = Writer {
            dir: cfg.dir.clone(),
            empty_at_start: reader.searcher().num_docs() == 0 || cfg.reindex,
            index,
            fields,
            writer,
            reader,
            pending: HashSet::new(),
            pending_events: 0,
            commit_every: cfg.commit_every.max(1),
        };
        if cfg.reindex {
            w.writer.delete_all_documents().map_err(tv(&w.dir))?;
        }
        Ok(w)
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ledger keys of every object already ingested (empty after `--reindex`).
    pub fn done_objects(&self) -> Result<HashSet<String>, IndexError> {
        if self.empty_at_start {
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
            .named(crate::catalog::names::EVENT_ID)
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
        let searcher = self.reader.searcher();
        let mut counts = AddCounts::default();
        for d in docs {
            if self.is_present(&searcher, &d.event_id)? {
                counts.present += 1;
                continue;
            }
            self.writer.add_document(d.doc).map_err(tv(&self.dir))?;
            self.pending.insert(d.event_id);
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

    /// Commit everything added so far, with the payload, and make it visible to the dedup check.
    pub fn commit(&mut self) -> Result<(), IndexError> {
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

/// Used by the ledger loader to build a path term (kept here so only the index knows the separator).
pub fn path_term(fields: &Fields, path: &str, value: &str) -> Term {
    Term::from_field_text(fields.path, &path_term_text(path, value))
}
