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
use tantivy::query::{BooleanQuery, ExistsQuery, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::store::StoreReader;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DateTime, DocSet as _, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};

use super::schema::{id_hash, id_term_of, text_analyzer, Fields, Omit, DOC_LEDGER, MAX_WORD_LEN};
use super::{merge, open, open_replacing, tv, writer_error, IndexError};
use crate::catalog::{self, names, FieldKind};
use crate::model::{ActorBasis, Event, EventKind, ObjectRef, Stitch, KIND_STUDIO_LOG};

/// Default commit cadence in added events: bounds the work a kill can lose (and redo). A commit also
/// flushes the indexing threads' in-memory segments, so it bounds their memory too: measured on 300k events,
/// 200k a commit peaked at 345 MB RSS, 100k at 280–293 MB, in the same time (segments are merged at the
/// end of a run anyway, see `merge`).
pub(crate) const DEFAULT_COMMIT_EVERY: usize = 100_000;

/// Bytes a document takes per value beyond a string's own: its length as a vint (up to 5 bytes), or an
/// 8-byte number, rounded up so one estimate covers both.
const VALUE_OVERHEAD: usize = 8;

/// Inflated store blocks a writer's searcher keeps per segment. The writer reads records only to check
/// a redelivery whose digests match an indexed event (an object's events sit together, so one block
/// serves a run of them) and to re-index stitched events; tantivy's default of 100 would let a long
/// redelivery hold 50 MB a segment.
const WRITER_STORE_CACHE_BLOCKS: usize = 2;

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
    /// The most bytes one object may inflate to.
    pub max_inflated: u64,
}

/// An event turned into a document, ready for the single writer (which adds `actor`, see stitching).
pub struct PreparedDoc {
    /// `id_hash("eventID", eventID)`: its high bits are the `_hash` term, its low 32 the `_idh` column.
    pub id_hash: u64,
    /// The event's identity, checked against a stored record whose digests match.
    pub event_id: String,
    /// The low 32 bits of the content digest: a redelivery is told from a conflict by it.
    pub content: u32,
    pub doc: TantivyDocument,
    /// The actor when stitching knows nothing better.
    pub actor: Option<String>,
    pub stitch: Stitch,
    /// The eventID, kept for an event whose issued key stitching follows (it becomes the
    /// `actorIssuerEventID` of the key's events).
    pub issuer_event_id: Option<String>,
}

/// What the writer stores in the commit payload.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitPayload {
    /// RFC 3339 time of the last commit by an ingest.
    pub last_ingest: Option<String>,
}

/// Counts for one object.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddCounts {
    pub added: u64,
    pub present: u64,
    /// Already present under the same eventID with other content: the one stored first is kept.
    pub conflicts: u64,
}

/// Turn an event into a document. Runs on the decode threads.
pub(crate) fn prepare(fields: &Fields, ev: Event) -> PreparedDoc {
    let words = (!fields.omit.text).then(|| distinct_words(&ev.texts));
    // The document's bytes sized once: tantivy's default of 1 KiB grew by doubling (and copying) some
    // three times a record, a tenth of this function's time in the profile.
    let strings = ev.raw.len()
        + words.as_ref().map_or(0, String::len)
        + ev.message.as_ref().map_or(0, String::len)
        + ev.paths.iter().map(String::len).sum::<usize>()
        + ev.keywords.iter().map(|(_, v)| v.len()).sum::<usize>();
    // Beyond paths and keywords: the time, the digests, the record, the words and a few derived values.
    let values = ev.paths.len() + ev.keywords.len() + 8;
    let mut doc = TantivyDocument::with_capacity(strings + values * VALUE_OVERHEAD);
    doc.add_date(fields.time, DateTime::from_timestamp_millis(ev.time_ms));
    let id_hash = id_hash(names::EVENT_ID, &ev.event_id);
    // 32 bits are plenty to break ties of equal milliseconds, and cost half the column.
    doc.add_u64(fields.idh, id_hash & 0xFFFF_FFFF);
    let content = ev.content_digest as u32;
    let issuer_event_id = ev.stitch.teaches_key.then(|| ev.event_id.clone());
    if let Some(id) = &issuer_event_id {
        doc.add_text(fields.evid, id);
    }
    let mut actor = None;
    for (name, val) in &ev.keywords {
        if *name == names::ACTOR {
            actor = Some(val.clone());
            continue;
        }
        if catalog::own_field(name).is_some_and(|d| d.kind == FieldKind::Id) {
            doc.add_u64(
                fields.hash,
                id_term_of(id_hash_of(name, val, &ev.event_id, id_hash)),
            );
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
    if let Some(words) = &words {
        doc.add_text(fields.text, words);
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
        event_id: ev.event_id,
        content,
        doc,
        actor,
        stitch: ev.stitch,
        issuer_event_id,
    }
}

/// The distinct full-text words of a record, lowercased and space-separated. Each word is indexed once
/// per record anyway (no positions, no frequencies), so splitting here, on the decode threads, and
/// dropping repeats (ARN parts, account ids, service names recur in most strings) halves the words the
/// indexing threads take; re-splitting the result there is cheap. ASCII strings (nearly all of CloudTrail)
/// are split byte by byte exactly as the full-text analyzer would; others go through the analyzer.
pub(crate) fn distinct_words(texts: &[String]) -> String {
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

/// Identity stitching (rule 3): access key issued by an STS call not made by an AWS service → the actor
/// behind that call and the call's eventID. Held for every such key of the index (485k at 5M events), so
/// compact: a 64-bit digest per key, interned actors (few distinct), and the eventIDs in one arena,
/// length-prefixed. 16 bytes an entry plus the eventID's bytes; a `(u32, Box<str>)` entry was ~190 bytes
/// a key measured (table slack, plus a heap block per string).
#[derive(Default)]
struct IssuedKeys {
    /// Key digest → (actor number, offset of the issuing eventID in `event_ids`).
    by_key: FxHashMap<u64, (u32, u32)>,
    /// Each issuing eventID as a LEB128 length and its bytes.
    event_ids: Vec<u8>,
    actors: Vec<String>,
    actor_ids: FxHashMap<String, u32>,
}

/// The arena of issuing eventIDs is addressed by 32-bit offsets: past 4 GiB (some 10⁸ issued keys) a
/// writer stops with this error rather than wrap.
#[derive(Debug, PartialEq, Eq)]
struct ArenaFull;

impl IssuedKeys {
    /// The actor behind `key` and the eventID of the call that issued it.
    fn get(&self, key: &str) -> Option<(&str, &str)> {
        let (id, off) = *self.by_key.get(&key_digest(key))?;
        Some((self.actors[id as usize].as_str(), self.event_id_at(off)?))
    }

    fn event_id_at(&self, off: u32) -> Option<&str> {
        let mut at = off as usize;
        let mut len = 0usize;
        for shift in (0..64).step_by(7) {
            let b = *self.event_ids.get(at)?;
            at += 1;
            len |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        std::str::from_utf8(self.event_ids.get(at..at.checked_add(len)?)?).ok()
    }

    fn push_event_id(&mut self, event_id: &str) -> Result<u32, ArenaFull> {
        let off = u32::try_from(self.event_ids.len()).map_err(|_| ArenaFull)?;
        let mut len = event_id.len();
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                self.event_ids.push(b);
                break;
            }
            self.event_ids.push(b | 0x80);
        }
        self.event_ids.extend_from_slice(event_id.as_bytes());
        Ok(off)
    }

    /// Record `key → (actor, issuing eventID)`; true when that changed what `key` maps to. The arena grows
    /// only by an eventID not already the key's.
    fn insert(&mut self, key: &str, actor: &str, event_id: &str) -> Result<bool, ArenaFull> {
        let id = match self.actor_ids.get(actor) {
            Some(&id) => id,
            None => {
                let id = self.actors.len() as u32;
                self.actors.push(actor.to_string());
                self.actor_ids.insert(actor.to_string(), id);
                id
            }
        };
        let digest = key_digest(key);
        let old = self.by_key.get(&digest).copied();
        let same_event = old.is_some_and(|(_, off)| self.event_id_at(off) == Some(event_id));
        let off = match old {
            Some((_, off)) if same_event => off,
            _ => self.push_event_id(event_id)?,
        };
        self.by_key.insert(digest, (id, off));
        Ok(match old {
            Some((old_id, _)) => old_id != id || !same_event,
            None => true,
        })
    }
}

/// What stitching may have to revisit: the events made with a key, or acting for an Identity Center user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Learned {
    /// An issued key whose (actor, issuing event) is new or changed.
    Key(String),
    /// An Identity Center userId whose user name is new or changed.
    IdentityCenterUser(String),
}

impl Learned {
    /// The `_ledger` value of its stitching marker.
    fn marker(&self) -> String {
        match self {
            Learned::Key(k) => format!("key:{k}"),
            Learned::IdentityCenterUser(u) => format!("icuser:{u}"),
        }
    }

    fn from_marker(m: &str) -> Option<Learned> {
        if let Some(k) = m.strip_prefix("key:") {
            Some(Learned::Key(k.to_string()))
        } else {
            m.strip_prefix("icuser:")
                .map(|u| Learned::IdentityCenterUser(u.to_string()))
        }
    }
}

/// The actor of a document, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    actor: Option<String>,
    basis: Option<ActorBasis>,
    issuer_event_id: Option<String>,
}

/// What the dedup check keeps of one segment of the index as it was when a run's first events arrived.
struct BaseSegment {
    /// The `_idh` values (low 32 bits of the eventID digest) of its events, sorted: only a segment holding
    /// the bits is asked for the term. A term lookup reads a dictionary block (~22 µs); asking every
    /// segment for every event made 20k new events into a 4M-event index take 6.1 s and 100k redelivered
    /// ones 27 s. 4 bytes an indexed event.
    ids: Vec<u32>,
    /// Its record store and `kind` column: what an event whose digests match is checked against. Opened
    /// once, so consecutive checks share the store's cache of inflated blocks (a redelivered object's
    /// events sit together).
    store: StoreReader,
    kinds: Option<StrColumn>,
}

impl BaseSegment {
    fn of(seg: &tantivy::SegmentReader) -> tantivy::Result<BaseSegment> {
        let col = seg.fast_fields().u64(super::schema::F_IDH)?;
        let mut ids: Vec<u32> = (0..seg.max_doc())
            .filter_map(|d| col.first(d))
            .map(|v| v as u32)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(BaseSegment {
            ids,
            store: seg.get_store_reader(WRITER_STORE_CACHE_BLOCKS)?,
            kinds: seg.fast_fields().str(names::KIND)?,
        })
    }
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

/// Digests of the events a run added, each with its content digest: a hash map for the open batch, and
/// for the committed ones sorted parallel arrays (12 bytes an event) split by the digest's top bits.
/// One sorted vector of `(u64, u32)` pairs took 16 bytes an event, and growing it copied the whole of it
/// at each commit: 160 MB at the end of a 5M-event load (benches/RESULTS.md, "Peak memory").
#[derive(Default)]
struct RunDigests {
    batch: FxHashMap<u64, u32>,
    /// `DIGEST_BUCKETS` buckets once the first batch is sealed; bucket `b` holds the digests whose top
    /// bits are `b`, sorted, with their content digests at the same positions.
    ids: Vec<Vec<u64>>,
    contents: Vec<Vec<u32>>,
}

/// Why 256: a bucket grows alone, so the copy a growing vector makes is a 256th of the committed digests
/// (at 5M events, 230 kB instead of 60 MB), and 256 empty vectors cost nothing worth counting.
const DIGEST_BUCKETS: usize = 256;
/// Why an eighth: room reserved beyond what a seal needs, so a bucket is copied once every few commits
/// rather than at each, for at most 12.5 % slack.
const DIGEST_SLACK_DIVISOR: usize = 8;

impl RunDigests {
    fn bucket(d: u64) -> usize {
        (d >> (64 - DIGEST_BUCKETS.trailing_zeros())) as usize
    }

    /// The content digest stored under eventID digest `d`, if this run added it.
    fn get(&self, d: u64) -> Option<u32> {
        if let Some(c) = self.batch.get(&d) {
            return Some(*c);
        }
        let b = Self::bucket(d);
        let ids = self.ids.get(b)?;
        ids.binary_search(&d).ok().map(|i| self.contents[b][i])
    }

    fn insert(&mut self, d: u64, content: u32) {
        self.batch.insert(d, content);
    }

    /// After a commit: merge the batch into the sorted buckets (the map keeps its capacity for the next).
    fn seal(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        if self.ids.is_empty() {
            self.ids = vec![Vec::new(); DIGEST_BUCKETS];
            self.contents = vec![Vec::new(); DIGEST_BUCKETS];
        }
        let mut fresh: Vec<(u64, u32)> = self.batch.drain().collect();
        fresh.sort_unstable();
        let mut rest = &fresh[..];
        while let Some(&(first, _)) = rest.first() {
            let b = Self::bucket(first);
            let n = rest.partition_point(|(d, _)| Self::bucket(*d) == b);
            let (run, tail) = rest.split_at(n);
            merge_sorted(&mut self.ids[b], &mut self.contents[b], run);
            rest = tail;
        }
    }

    /// Every committed (digest, content) in digest order (tests).
    #[cfg(test)]
    fn committed(&self) -> Vec<(u64, u32)> {
        self.ids
            .iter()
            .zip(&self.contents)
            .flat_map(|(i, c)| i.iter().copied().zip(c.iter().copied()))
            .collect()
    }
}

/// Merge `run` (sorted, digests absent from `ids`) into the sorted parallel arrays `ids`/`contents`, in
/// place from the back: no second copy of the bucket.
fn merge_sorted(ids: &mut Vec<u64>, contents: &mut Vec<u32>, run: &[(u64, u32)]) {
    let old = ids.len();
    let want = old + run.len();
    if ids.capacity() < want {
        let extra = run.len().max(old / DIGEST_SLACK_DIVISOR);
        ids.reserve_exact(extra);
        contents.reserve_exact(extra);
    }
    ids.resize(want, 0);
    contents.resize(want, 0);
    let (mut i, mut j) = (old, run.len());
    for k in (0..want).rev() {
        if j == 0 {
            break;
        }
        if i > 0 && ids[i - 1] > run[j - 1].0 {
            ids[k] = ids[i - 1];
            contents[k] = contents[i - 1];
            i -= 1;
        } else {
            (ids[k], contents[k]) = run[j - 1];
            j -= 1;
        }
    }
}

/// Whether an event is in the index already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Absent,
    /// The same eventID with the same content: a redelivery.
    Same,
    /// The same eventID with other content.
    Conflict,
}

/// The one writer of an index.
pub struct Writer {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    writer: IndexWriter,
    /// Digests of the event ids added by this run, committed or not. Looking each event up in the index
    /// instead costs a term-dictionary block read per segment: at a million events that was most of the
    /// ingest time.
    added: RunDigests,
    pending_events: usize,
    /// The index as it was when this run's first events arrived (None when it was empty): what `added`
    /// does not cover.
    base: Option<tantivy::Searcher>,
    /// Per segment of `base`, in its order: what the dedup check asks of it.
    base_segments: Vec<BaseSegment>,
    /// Digests of the access keys used by this run's events whose actor is not settled: only those keys
    /// (or keys in `base`) can have events whose actor a newly learned key changes.
    keys_used: FxHashSet<u64>,
    /// Likewise for the Identity Center users this run's events acted for.
    ic_used: FxHashSet<u64>,
    commit_every: usize,
    /// True until the first commit when the index started empty: nothing committed to look up.
    empty_at_start: bool,
    /// Rule 3: issued key → the actor behind the call that issued it.
    issued: IssuedKeys,
    /// Whether `issued` and `ic_names` hold what the committed index teaches (see `load_learned`).
    learned_loaded: bool,
    /// Whether `base` and `base_segments` are loaded (see `load_base`).
    base_loaded: bool,
    /// Rule 4: Identity Center userId → the user name some event gave for it.
    ic_names: FxHashMap<String, String>,
    /// Keys and users learned (or changed) in the uncommitted batch: their earlier events need fixing.
    learned: HashSet<Learned>,
    dry_run: bool,
    merge: merge::MergeConfig,
}

/// `_doc` value of a stitching marker: "the events of this key (or Identity Center user) may carry an
/// outdated actor". Committed with the event that taught it, removed in the commit that fixes those
/// events, so a kill in between is finished by the next writer.
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
        fields.max_inflated = cfg.max_inflated;
        let writer = index
            .writer_with_num_threads(cfg.threads.max(1), cfg.heap_bytes)
            .map_err(writer_error(&cfg.dir))?;
        // Merging happens at the end of a run, bounded (see `merge`), never beside the indexing threads.
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let at_open = committed_searcher(&index, &cfg.dir)?;
        let nothing_before = at_open.num_docs() == 0 || cfg.reindex;
        let mut w = Writer {
            dir: cfg.dir.clone(),
            empty_at_start: nothing_before,
            index,
            fields,
            writer,
            added: RunDigests::default(),
            pending_events: 0,
            base: None,
            base_segments: Vec::new(),
            keys_used: FxHashSet::default(),
            ic_used: FxHashSet::default(),
            commit_every: cfg.commit_every.max(1),
            issued: IssuedKeys::default(),
            // An index empty at open (or being rebuilt) has nothing to teach: this run's own events are
            // in `added` and the maps as they arrive.
            learned_loaded: nothing_before,
            base_loaded: nothing_before || cfg.dry_run,
            ic_names: FxHashMap::default(),
            learned: HashSet::new(),
            dry_run: cfg.dry_run,
            merge: cfg.merge,
        };
        if cfg.reindex {
            w.writer.delete_all_documents().map_err(tv(&w.dir))?;
        } else if !w.empty_at_start {
            let pending = w.pending_stitches()?;
            if !pending.is_empty() {
                w.load_learned()?;
                w.fix_actors(pending)?;
                w.commit()?;
            }
        }
        Ok(w)
    }

    /// What the dedup check and stitching need of the index as it was when this run began: loaded when
    /// the first events arrive, so a nightly run that finds nothing new reads only the ledger (on a
    /// 5M-event index the issued-key map and the eventID bits took 3 of its 3.8 s and 250 MB).
    fn load_base(&mut self) -> Result<(), IndexError> {
        if self.base_loaded {
            return Ok(());
        }
        self.base_loaded = true;
        self.load_learned()?;
        let base = self.committed()?;
        self.base_segments = base
            .segment_readers()
            .iter()
            .map(BaseSegment::of)
            .collect::<tantivy::Result<_>>()
            .map_err(tv(&self.dir))?;
        self.base = Some(base);
        Ok(())
    }

    fn arena_full(&self, _: ArenaFull) -> IndexError {
        IndexError::Limit {
            dir: self.dir.clone(),
            what: "more than 4 GiB of eventIDs of calls that issued access keys: identity stitching cannot follow more keys in one writer".into(),
        }
    }

    /// A searcher over what is committed now, opened for the one question asked and then dropped: a
    /// searcher loads every segment's dictionary indexes and column headers, and one reloaded at each
    /// commit held all of them for the whole run, a growth with the size of a load.
    fn committed(&self) -> Result<tantivy::Searcher, IndexError> {
        committed_searcher(&self.index, &self.dir)
    }

    /// What the committed index teaches: every (issued key → actor, issuing eventID) and every
    /// (Identity Center userId → user name), from columns.
    fn load_learned(&mut self) -> Result<(), IndexError> {
        if self.learned_loaded {
            return Ok(());
        }
        self.learned_loaded = true;
        // Straight into the map: a list of the index's (key, actor, eventID) strings first was ~100 MB
        // at open of a 5M-event index.
        let mut issued = std::mem::take(&mut self.issued);
        let mut full = Ok(());
        self.each_with_columns(
            super::schema::F_EVID,
            &[names::ISSUED_KEY, names::ACTOR, super::schema::F_EVID],
            |v| {
                if let [Some(k), Some(a), Some(e)] = v {
                    if let Err(e) = issued.insert(k, a, e) {
                        full = Err(e);
                    }
                }
            },
        )?;
        self.issued = issued;
        full.map_err(|e| self.arena_full(e))?;
        let mut names_of = Vec::new();
        self.each_with_columns(
            names::IC_USER_ID,
            &[names::IC_USER_ID, names::ACTOR, names::ACTOR_BASIS],
            |v| {
                if let [Some(u), Some(a), Some(b)] = v {
                    if *b == ActorBasis::IdentityCenter.as_str() && a != u {
                        names_of.push((u.to_string(), a.to_string()));
                    }
                }
            },
        )?;
        self.ic_names.extend(names_of);
        Ok(())
    }

    /// For every committed document with a value in column `exists`, the values of `columns` (first of
    /// each), read from the columns' dictionaries once per segment.
    fn each_with_columns(
        &self,
        exists: &str,
        columns: &[&str],
        mut f: impl FnMut(&[Option<&str>]),
    ) -> Result<(), IndexError> {
        let searcher = self.committed()?;
        let q = ExistsQuery::new(exists.to_string(), false);
        let docs = searcher
            .search(&q, &DocSetCollector)
            .map_err(tv(&self.dir))?;
        let mut cols: Vec<Option<ColumnTerms>> = vec![None; searcher.segment_readers().len()];
        for addr in docs {
            let c = self.column_terms(&searcher, &mut cols, addr, columns)?;
            let values: Vec<Option<&str>> = (0..columns.len())
                .map(|i| c.first(i, addr.doc_id))
                .collect();
            f(&values);
        }
        Ok(())
    }

    /// Keys and users whose fix-up was committed as pending but not finished (a kill in between).
    fn pending_stitches(&self) -> Result<HashSet<Learned>, IndexError> {
        let searcher = self.committed()?;
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
            if let Some(l) = first_str(&col, addr.doc_id).and_then(|m| Learned::from_marker(&m)) {
                out.insert(l);
            }
        }
        Ok(out)
    }

    /// The actor of an event by the rules of `schema/actor-rules.md`: rules 1 and 2 were settled by
    /// normalise; rule 3 is the issued-key map; rule 4 the learned user names; else what normalise chose.
    fn resolve(&self, d: &PreparedDoc) -> Resolved {
        let fallback = Resolved {
            actor: d.actor.clone(),
            basis: d.stitch.basis,
            issuer_event_id: None,
        };
        if d.stitch.settled() {
            return fallback;
        }
        if let Some((actor, ev)) = d
            .stitch
            .access_key
            .as_ref()
            .and_then(|k| self.issued.get(k))
        {
            return Resolved {
                actor: Some(actor.to_string()),
                basis: Some(ActorBasis::Issuer),
                issuer_event_id: Some(ev.to_string()),
            };
        }
        if let Some(u) = &d.stitch.identity_center_user_id {
            let name = d
                .stitch
                .identity_center_user_name
                .as_ref()
                .or_else(|| self.ic_names.get(u))
                .unwrap_or(u);
            return Resolved {
                actor: Some(name.clone()),
                basis: Some(ActorBasis::IdentityCenter),
                issuer_event_id: None,
            };
        }
        fallback
    }

    /// Add a prepared document with its resolved actor; learn the key it issued and the user name it gives.
    fn add_resolved(&mut self, mut d: PreparedDoc) -> Result<(), IndexError> {
        let r = self.resolve(&d);
        if !d.stitch.settled() {
            if let Some(k) = &d.stitch.access_key {
                self.keys_used.insert(key_digest(k));
            }
            if let Some(u) = &d.stitch.identity_center_user_id {
                self.ic_used.insert(key_digest(u));
            }
        }
        if let (Some(u), Some(n)) = (
            &d.stitch.identity_center_user_id,
            &d.stitch.identity_center_user_name,
        ) {
            if self.ic_names.get(u) != Some(n) {
                self.ic_names.insert(u.clone(), n.clone());
                self.learned.insert(Learned::IdentityCenterUser(u.clone()));
            }
        }
        if let (Some(a), Some(k), Some(ev)) = (&r.actor, &d.stitch.issued_key, &d.issuer_event_id) {
            if self
                .issued
                .insert(k, a, ev)
                .map_err(|e| self.arena_full(e))?
            {
                self.learned.insert(Learned::Key(k.clone()));
            }
        }
        self.add_actor_fields(&mut d.doc, &r);
        self.writer.add_document(d.doc).map_err(tv(&self.dir))?;
        Ok(())
    }

    fn add_actor_fields(&self, doc: &mut TantivyDocument, r: &Resolved) {
        let field = |n: &str| self.fields.named(n).expect("in the catalogue").0;
        if let Some(a) = &r.actor {
            doc.add_text(field(names::ACTOR), a);
        }
        if let Some(b) = r.basis {
            doc.add_text(field(names::ACTOR_BASIS), b.as_str());
        }
        if let Some(e) = &r.issuer_event_id {
            doc.add_text(field(names::ACTOR_ISSUER_EVENT_ID), e);
        }
    }

    /// Re-index the committed events whose actor a learned key or user name changes, following chains (a
    /// fixed STS call changes the actor of the key it issued).
    fn fix_actors(&mut self, learned: HashSet<Learned>) -> Result<u64, IndexError> {
        let searcher = self.committed()?;
        let mut work: Vec<Learned> = learned.into_iter().collect();
        work.sort();
        let mut fixed = 0u64;
        let field = |n: &str| self.fields.named(n).expect("in the catalogue").0;
        let (key_field, ic_field) = (field(names::UI_ACCESS_KEY), field(names::IC_USER_ID));
        // An item comes back on the list only when a key's actor changed, so this ends: each change moves
        // an actor closer to the head of its chain.
        while let Some(item) = work.pop() {
            let term = match &item {
                Learned::Key(k) => Term::from_field_text(key_field, k),
                Learned::IdentityCenterUser(u) => Term::from_field_text(ic_field, u),
            };
            let q = TermQuery::new(term, IndexRecordOption::Basic);
            let docs = searcher
                .search(&q, &DocSetCollector)
                .map_err(tv(&self.dir))?;
            for addr in docs {
                let ff = searcher.segment_reader(addr.segment_ord).fast_fields();
                let col = |n: &str| -> Result<Option<String>, IndexError> {
                    Ok(first_str(&ff.str(n).map_err(tv(&self.dir))?, addr.doc_id))
                };
                let basis = col(names::ACTOR_BASIS)?.and_then(|b| ActorBasis::parse(&b));
                if basis.is_some_and(|b| b.is_settled()) {
                    continue;
                }
                // Skip events that already carry what this item would give them.
                let (actor, issuer) = (col(names::ACTOR)?, col(names::ACTOR_ISSUER_EVENT_ID)?);
                let current = match &item {
                    Learned::Key(k) => self.issued.get(k).is_some_and(|(a, e)| {
                        basis == Some(ActorBasis::Issuer)
                            && actor.as_deref() == Some(a)
                            && issuer.as_deref() == Some(e)
                    }),
                    Learned::IdentityCenterUser(u) => {
                        basis == Some(ActorBasis::Issuer)
                            || actor.as_deref() == self.ic_names.get(u).map(String::as_str)
                    }
                };
                if current {
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
                let r = self.resolve(&d);
                self.writer
                    .delete_query(self.event_query(d.id_hash))
                    .map_err(tv(&self.dir))?;
                if let (Some(a), Some(k2), Some(ev)) =
                    (&r.actor, &d.stitch.issued_key, &d.issuer_event_id)
                {
                    if self
                        .issued
                        .insert(k2, a, ev)
                        .map_err(|e| self.arena_full(e))?
                    {
                        work.push(Learned::Key(k2.clone()));
                    }
                }
                self.add_actor_fields(&mut d.doc, &r);
                self.writer.add_document(d.doc).map_err(tv(&self.dir))?;
                fixed += 1;
            }
        }
        // Every marker is settled by this fix-up.
        self.writer
            .delete_term(Term::from_field_text(self.fields.doc, DOC_STITCH));
        Ok(fixed)
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Ledger keys of every object already ingested (empty after `--reindex`).
    pub(crate) fn done_objects(&self) -> Result<HashSet<String>, IndexError> {
        if self.empty_at_start || self.dry_run {
            return Ok(HashSet::new());
        }
        let searcher = self.committed()?;
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

    /// Is this event in the index (this run's additions, or the index as it was when they began)?
    fn presence(&self, d: &PreparedDoc) -> Result<Presence, IndexError> {
        let judge = |c: u32| {
            if c == d.content {
                Presence::Same
            } else {
                Presence::Conflict
            }
        };
        if let Some(c) = self.added.get(d.id_hash) {
            return Ok(judge(c));
        }
        let Some(base) = &self.base else {
            return Ok(Presence::Absent);
        };
        let bits = d.id_hash as u32;
        let term = Term::from_field_u64(self.fields.hash, id_term_of(d.id_hash));
        let new_raw = d.doc.get_first(self.fields.raw).and_then(|v| v.as_str());
        for (seg, b) in base.segment_readers().iter().zip(&self.base_segments) {
            if b.ids.binary_search(&bits).is_err() {
                continue;
            }
            let inv = seg
                .inverted_index(self.fields.hash)
                .map_err(tv(&self.dir))?;
            let Some(mut postings) =
                inv.read_postings(&term, IndexRecordOption::Basic)
                    .map_err(|source| IndexError::Io {
                        dir: self.dir.clone(),
                        source,
                    })?
            else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != tantivy::TERMINATED {
                if !seg.is_deleted(doc) {
                    // The digests match; the stored record says whether it is this event.
                    let stored: TantivyDocument = b.store.get(doc).map_err(tv(&self.dir))?;
                    let stored_raw = stored.get_first(self.fields.raw).and_then(|v| v.as_str());
                    // The same record sent again is the same text (both minified): no parse needed.
                    if stored_raw.is_some() && stored_raw == new_raw {
                        return Ok(Presence::Same);
                    }
                    let kind = if first_str(&b.kinds, doc).as_deref() == Some(KIND_STUDIO_LOG) {
                        EventKind::StudioLog
                    } else {
                        EventKind::CloudTrail
                    };
                    let identity =
                        stored_raw.and_then(|raw| crate::normalise::stored_identity(raw, kind));
                    if let Some((event_id, content)) = identity {
                        if event_id == d.event_id {
                            return Ok(judge(content as u32));
                        }
                    }
                }
                doc = postings.advance();
            }
        }
        Ok(Presence::Absent)
    }

    /// The committed event whose eventID digest is `id_hash`: its `_hash` term (the digest's high bits)
    /// and its `_idh` column (the low 32), which together are the whole digest.
    fn event_query(&self, id_hash: u64) -> Box<dyn tantivy::query::Query> {
        use std::ops::Bound::Included;
        let idh = Term::from_field_u64(self.fields.idh, id_hash & 0xFFFF_FFFF);
        Box::new(BooleanQuery::intersection(vec![
            Box::new(TermQuery::new(
                Term::from_field_u64(self.fields.hash, id_term_of(id_hash)),
                IndexRecordOption::Basic,
            )),
            Box::new(RangeQuery::new(Included(idh.clone()), Included(idh))),
        ]))
    }

    /// Add the events of one object; when `complete`, record the object as done in the same commit.
    pub(crate) fn add_object(
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
        if !docs.is_empty() {
            self.load_base()?;
        }
        for d in docs {
            match self.presence(&d)? {
                Presence::Same => {
                    counts.present += 1;
                    continue;
                }
                Presence::Conflict => {
                    counts.present += 1;
                    counts.conflicts += 1;
                    continue;
                }
                Presence::Absent => {}
            }
            let (id, content) = (d.id_hash, d.content);
            self.add_resolved(d)?;
            self.added.insert(id, content);
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
    /// batch taught new issued keys or user names, a second commit fixes the actor of earlier events.
    pub(crate) fn commit(&mut self) -> Result<(), IndexError> {
        if self.dry_run {
            return Ok(());
        }
        let learned = std::mem::take(&mut self.learned);
        let learned = self.to_fix(learned)?;
        for l in &learned {
            let mut doc = TantivyDocument::default();
            doc.add_text(self.fields.doc, DOC_STITCH);
            doc.add_text(self.fields.ledger, l.marker());
            self.writer.add_document(doc).map_err(tv(&self.dir))?;
        }
        self.commit_once()?;
        if !learned.is_empty() {
            self.fix_actors(learned)?;
            self.commit_once()?;
        }
        Ok(())
    }

    /// The learned keys and users that some event (of this run, or already in the index) was made with or
    /// acted for: the others have nothing to fix, and most issued keys are never seen in use.
    fn to_fix(&self, learned: HashSet<Learned>) -> Result<HashSet<Learned>, IndexError> {
        let field = |n: &str| self.fields.named(n).expect("in the catalogue").0;
        let mut out = HashSet::new();
        for l in learned {
            let (used, term) = match &l {
                Learned::Key(k) => (
                    self.keys_used.contains(&key_digest(k)),
                    Term::from_field_text(field(names::UI_ACCESS_KEY), k),
                ),
                Learned::IdentityCenterUser(u) => (
                    self.ic_used.contains(&key_digest(u)),
                    Term::from_field_text(field(names::IC_USER_ID), u),
                ),
            };
            let used = used
                || match &self.base {
                    Some(base) => base.doc_freq(&term).map_err(tv(&self.dir))? > 0,
                    None => false,
                };
            if used {
                out.insert(l);
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
        self.pending_events = 0;
        self.empty_at_start = false;
        self.added.seal();
        Ok(())
    }

    /// Final commit, then the end-of-run merges.
    pub(crate) fn finish(mut self) -> Result<Finished, IndexError> {
        let started = std::time::Instant::now();
        if self.dry_run {
            return Ok(Finished::default());
        }
        self.commit()?;
        // Searchers keep every segment they saw mapped, and a merge pages its inputs in: with them alive,
        // the merges of a 4M-event load held the whole index resident (peak 980 MB). Let them go first.
        // What the run remembered of its events (12 bytes each in `added`) is not needed to merge, and a
        // partly moved struct would keep it until the function returns.
        let Writer {
            dir,
            index,
            mut writer,
            base,
            merge: cfg,
            added,
            base_segments,
            keys_used,
            ic_used,
            issued,
            ic_names,
            ..
        } = self;
        drop((
            base,
            added,
            base_segments,
            keys_used,
            ic_used,
            issued,
            ic_names,
        ));
        let mut done = merge_small_segments(&dir, &index, &mut writer, &cfg)?;
        writer.wait_merging_threads().map_err(tv(&dir))?;
        done.seconds = started.elapsed().as_secs_f64();
        Ok(done)
    }
}

/// A searcher over the last commit of `index` (at `dir`, for errors).
fn committed_searcher(index: &Index, dir: &Path) -> Result<tantivy::Searcher, IndexError> {
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .doc_store_cache_num_blocks(WRITER_STORE_CACHE_BLOCKS)
        .try_into()
        .map_err(tv(dir))?;
    Ok(reader.searcher())
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
pub(crate) fn read_payload(index: &Index) -> CommitPayload {
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
    use crate::index::testing::writer_at;

    #[test]
    fn issued_keys_map_to_interned_actors() {
        let mut k = IssuedKeys::default();
        assert_eq!(k.insert("ASIA1", "alice", "e1"), Ok(true));
        assert_eq!(k.insert("ASIA2", "alice", "e2"), Ok(true));
        assert_eq!(
            k.insert("ASIA1", "alice", "e1"),
            Ok(false),
            "same mapping: no change"
        );
        let arena = k.event_ids.len();
        assert_eq!(
            k.insert("ASIA1", "alice", "e9"),
            Ok(true),
            "another issuing event is a change"
        );
        assert_eq!(
            k.insert("ASIA1", "bob", "e9"),
            Ok(true),
            "a new actor for a key is a change"
        );
        assert_eq!(k.event_ids.len(), arena + 3, "e9 is kept once");
        assert_eq!(k.get("ASIA1"), Some(("bob", "e9")));
        assert_eq!(k.get("ASIA2"), Some(("alice", "e2")));
        assert_eq!(k.get("ASIA3"), None);
        assert_eq!(k.actors.len(), 2, "actors are interned");
    }

    #[test]
    fn run_digests_remember_content_across_seals() {
        let mut r = RunDigests::default();
        for d in [5u64, 1, 9] {
            r.insert(d, d as u32 * 10);
        }
        assert_eq!((r.get(1), r.get(2)), (Some(10), None));
        r.seal();
        r.insert(2, 20);
        assert_eq!(
            [r.get(1), r.get(5), r.get(9), r.get(2)],
            [Some(10), Some(50), Some(90), Some(20)]
        );
        assert_eq!(r.get(3), None);
        r.seal();
        assert_eq!(r.committed(), vec![(1, 10), (2, 20), (5, 50), (9, 90)]);
        assert!(r.batch.is_empty());
    }

    proptest::proptest! {
        /// The issued-key map against a map of strings: any keys, actors and eventIDs (empty, long enough
        /// to need a multi-byte length, any characters), in any order of inserts.
        #[test]
        fn issued_keys_are_a_map(
            ops in proptest::collection::vec(
                ("[a-c]{1,2}", "[xy]{0,2}", proptest::prop_oneof![
                    ".{0,4}",
                    "[a-z]{100,300}",
                ]),
                0..60,
            ),
        ) {
            let mut k = IssuedKeys::default();
            let mut model: std::collections::HashMap<String, (String, String)> = Default::default();
            for (key, actor, ev) in &ops {
                let changed = model.get(key) != Some(&(actor.clone(), ev.clone()));
                proptest::prop_assert_eq!(k.insert(key, actor, ev), Ok(changed));
                model.insert(key.clone(), (actor.clone(), ev.clone()));
                for (mk, (ma, me)) in &model {
                    proptest::prop_assert_eq!(k.get(mk), Some((ma.as_str(), me.as_str())));
                }
            }
        }

        /// Whatever the digests (spread over buckets or crowded into one) and however they are split
        /// into batches, every one added is found with its content, and nothing else is.
        #[test]
        fn run_digests_are_a_map(
            batches in proptest::collection::vec(
                proptest::collection::vec((proptest::prop_oneof![
                    proptest::num::u64::ANY,
                    0u64..64,
                    (u64::MAX - 64)..=u64::MAX,
                ], proptest::num::u32::ANY), 0..40),
                0..8,
            ),
            probes in proptest::collection::vec(proptest::num::u64::ANY, 0..20),
        ) {
            let mut r = RunDigests::default();
            let mut model = std::collections::BTreeMap::new();
            for batch in &batches {
                for &(d, c) in batch {
                    // The writer asks before it adds: a digest is added once.
                    if r.get(d).is_none() {
                        r.insert(d, c);
                        model.insert(d, c);
                    }
                }
                r.seal();
                let committed = r.committed();
                proptest::prop_assert_eq!(&committed, &model.iter().map(|(d, c)| (*d, *c)).collect::<Vec<_>>());
            }
            for d in model.keys().chain(&probes) {
                proptest::prop_assert_eq!(r.get(*d), model.get(d).copied());
            }
        }
    }

    fn prepared(w: &Writer, record: &str) -> PreparedDoc {
        prepare(
            w.fields(),
            crate::normalise::cloudtrail(record).unwrap().event,
        )
    }

    /// Digests say where to look; the stored record decides. An event whose digests equal an indexed
    /// event's but whose eventID differs is new; the same eventID is a redelivery or a conflict by content.
    #[test]
    fn presence_is_decided_by_the_stored_record() {
        let dir = tempfile::tempdir().unwrap();
        let a = r#"{"eventTime":"2024-06-02T00:00:00Z","eventID":"a-1","eventName":"GetObject"}"#;
        let mut w = writer_at(dir.path());
        let d = prepared(&w, a);
        w.add_object(None, vec![d], false).unwrap();
        w.finish().unwrap();

        let mut w = writer_at(dir.path());
        w.load_base().unwrap();
        let same = prepared(&w, a);
        assert!(matches!(w.presence(&same).unwrap(), Presence::Same));
        let mut other = prepared(
            &w,
            r#"{"eventTime":"2024-06-02T00:00:00Z","eventID":"a-1","eventName":"PutObject"}"#,
        );
        assert!(matches!(w.presence(&other).unwrap(), Presence::Conflict));
        other.event_id = "b-2".into();
        assert!(
            matches!(w.presence(&other).unwrap(), Presence::Absent),
            "equal digests, another eventID"
        );
        let new = prepared(
            &w,
            r#"{"eventTime":"2024-06-02T00:00:00Z","eventID":"c-3"}"#,
        );
        assert!(matches!(w.presence(&new).unwrap(), Presence::Absent));
    }

    /// The `_hash` term keeps the digest's high bits only; a writer's delete of one event must not take
    /// another whose term is the same.
    #[test]
    fn an_event_delete_takes_only_that_event() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer_at(dir.path());
        let d1: u64 = 0xABCD_EF01_2345_6789;
        let d2 = d1 ^ 1;
        assert_eq!(id_term_of(d1), id_term_of(d2));
        for d in [d1, d2] {
            let mut doc = TantivyDocument::default();
            doc.add_u64(w.fields.hash, id_term_of(d));
            doc.add_u64(w.fields.idh, d & 0xFFFF_FFFF);
            w.writer.add_document(doc).unwrap();
        }
        w.commit().unwrap();
        w.writer.delete_query(w.event_query(d1)).unwrap();
        w.commit().unwrap();
        let searcher = w.committed().unwrap();
        let left = searcher
            .search(
                &TermQuery::new(
                    Term::from_field_u64(w.fields.hash, id_term_of(d1)),
                    IndexRecordOption::Basic,
                ),
                &DocSetCollector,
            )
            .unwrap();
        let idh: Vec<u64> = left
            .iter()
            .map(|a| {
                let col = searcher
                    .segment_reader(a.segment_ord)
                    .fast_fields()
                    .u64(super::super::schema::F_IDH)
                    .unwrap();
                col.first(a.doc_id).unwrap()
            })
            .collect();
        assert_eq!(idh, vec![d2 & 0xFFFF_FFFF]);
    }

    #[test]
    fn stitching_markers_round_trip() {
        for l in [
            Learned::Key("ASIA:odd:key".into()),
            Learned::IdentityCenterUser("u-1".into()),
        ] {
            assert_eq!(Learned::from_marker(&l.marker()), Some(l));
        }
        assert_eq!(Learned::from_marker("ASIA-old-format"), None);
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
