//! The tantivy schema, built from the field catalogue, and the handles to its fields.
//!
//! Owns every indexing choice: which fields are fast, which keep positions, the tokenizers, the doc
//! store's compression. Internal fields start with `_` and are never named by users.

use rustc_hash::FxHashMap;

use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, FAST,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::Index;

use crate::catalog::{self, FieldKind};

/// Tokenizer of full-text fields: words split on non-alphanumerics, lowercased.
pub(crate) const TEXT_TOKENIZER: &str = "sagetrail_text";
/// Words longer than this are noise (base64 blobs, digests) and are not indexed as words.
pub(crate) const MAX_WORD_LEN: usize = 64;
/// Separates a dotted path from its value inside the open path field (normalise builds the terms).
pub(crate) use crate::normalise::PATH_SEP;

/// Internal field names.
pub(crate) const F_RAW: &str = "_raw";
pub(crate) const F_TEXT: &str = "_text";
pub(crate) const F_PATH: &str = "_path";
pub(crate) const F_DOC: &str = "_doc";
pub(crate) const F_OBJ: &str = "_obj";
pub(crate) const F_LEDGER: &str = "_ledger";
/// Digests of identifier values (`id` fields): one term per (field, value), the digest's high
/// [`ID_TERM_BITS`] bits ([`id_term_of`]). Indexed, not fast.
pub(crate) const F_HASH: &str = "_hash";
/// The digest of the eventID alone, as a fast column: the deterministic tie-break of equal times.
pub(crate) const F_IDH: &str = "_idh";
/// On an event whose STS call issued a key that stitching follows: its own eventID, as a column, so a
/// writer learns (key → actor, issuing eventID) at open from columns alone.
pub(crate) const F_EVID: &str = "_evid";
/// `_doc` value of an ingest-ledger document (events have no `_doc`).
pub(crate) const DOC_LEDGER: &str = "ledger";

/// Field handles, resolved once per opened index.
#[derive(Clone)]
pub struct Fields {
    pub schema: Schema,
    pub named: FxHashMap<&'static str, (Field, FieldKind)>,
    pub time: Field,
    pub raw: Field,
    pub text: Field,
    pub path: Field,
    pub doc: Field,
    pub obj: Field,
    pub ledger: Field,
    pub hash: Field,
    pub idh: Field,
    pub evid: Field,
    /// What `prepare` leaves out: nothing, except under `ingest --bench-omit`.
    pub omit: Omit,
    /// The most bytes one object may inflate to (`ingest --max-object-mb`); decode refuses more.
    pub max_inflated: u64,
}

/// Parts of an event document that `prepare` can leave out. A bench instrument only (`ingest
/// --bench-omit`, used by `benches/compare`): it measures what each part of the index costs to build. An
/// index built with anything omitted answers questions wrongly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omit {
    /// The full-text words (`_text`).
    pub text: bool,
    /// The open paths (`_path`).
    pub paths: bool,
    /// The named keyword fields (and their columns).
    pub keywords: bool,
    /// The stored record (`_raw`).
    pub record: bool,
}

/// Build the schema from the catalogue.
pub(crate) fn build_schema() -> Schema {
    let mut b = Schema::builder();
    // No field norms anywhere: hits are ordered by time, never scored, and norms cost a byte per doc and field.
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TEXT_TOKENIZER)
        .set_fieldnorms(false)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let keyword_indexed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::Basic),
    );
    let keyword = keyword_indexed.clone().set_fast("raw");
    for def in catalog::fields() {
        match def.kind {
            FieldKind::Keyword | FieldKind::KeywordCi if def.fast => {
                b.add_text_field(&def.name, keyword.clone());
            }
            FieldKind::Keyword | FieldKind::KeywordCi => {
                b.add_text_field(&def.name, keyword_indexed.clone());
            }
            // Identifier values live in `_hash`.
            FieldKind::Id => {}
            FieldKind::Date => {
                b.add_date_field(
                    &def.name,
                    DateOptions::from(FAST).set_precision(DateTimePrecision::Milliseconds),
                );
            }
            FieldKind::Text => {
                b.add_text_field(
                    &def.name,
                    TextOptions::default().set_indexing_options(text_indexing.clone()),
                );
            }
            FieldKind::Path => {}
        }
    }
    b.add_text_field(
        F_PATH,
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::Basic),
        ),
    );
    // Full text of every record: words without positions or frequencies. Positions cost as much as the
    // rest of the index and were only there for phrases, which are verified against the record instead
    // (a phrase query is the AND of its words, then each candidate's strings are checked).
    b.add_text_field(
        F_TEXT,
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT_TOKENIZER)
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::Basic),
        ),
    );
    b.add_u64_field(F_HASH, NumericOptions::default().set_indexed());
    b.add_u64_field(F_IDH, FAST);
    b.add_text_field(F_EVID, TextOptions::default().set_fast("raw"));
    // The record, stored as a string: tantivy (0.27) writes and reads a bytes value one byte at a time
    // (`Vec<u8>`/`Cow<[u8]>` as `BinarySerializable`), a string with one copy: 13 % less ingest CPU.
    b.add_text_field(F_RAW, TextOptions::default().set_stored());
    b.add_text_field(F_DOC, keyword_indexed.clone());
    b.add_text_field(F_OBJ, keyword_indexed.clone());
    b.add_text_field(F_LEDGER, keyword);
    b.build()
}

/// The full-text analyzer: used by queries (registered as [`TEXT_TOKENIZER`]) and by `prepare`, which
/// tokenizes on the decode threads and hands tantivy each record's distinct words once.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .build()
}

/// Register the tokenizers an index needs (they are not persisted by tantivy).
pub(crate) fn register_tokenizers(index: &Index) {
    index.tokenizers().register(TEXT_TOKENIZER, text_analyzer());
}

impl Fields {
    pub(crate) fn new(schema: Schema) -> tantivy::Result<Fields> {
        let mut named = FxHashMap::default();
        for def in catalog::fields() {
            if matches!(def.kind, FieldKind::Path | FieldKind::Id) {
                continue;
            }
            let f = schema.get_field(&def.name)?;
            // The catalogue is 'static, so its names can key the map.
            named.insert(def.name.as_str(), (f, def.kind));
        }
        Ok(Fields {
            time: schema.get_field(catalog::names::EVENT_TIME)?,
            raw: schema.get_field(F_RAW)?,
            text: schema.get_field(F_TEXT)?,
            path: schema.get_field(F_PATH)?,
            doc: schema.get_field(F_DOC)?,
            obj: schema.get_field(F_OBJ)?,
            ledger: schema.get_field(F_LEDGER)?,
            hash: schema.get_field(F_HASH)?,
            idh: schema.get_field(F_IDH)?,
            evid: schema.get_field(F_EVID)?,
            omit: Omit::default(),
            max_inflated: crate::decode::DEFAULT_MAX_INFLATED,
            named,
            schema,
        })
    }

    /// The handle and kind of a named catalogue field.
    pub(crate) fn named(&self, name: &str) -> Option<(Field, FieldKind)> {
        self.named.get(name).copied()
    }
}

/// The digest under which an identifier field's value is indexed (and looked up) in `_hash`.
pub fn id_hash(field: &str, value: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(field.as_bytes());
    h.update(&[0]);
    h.update(value.as_bytes());
    h.digest()
}

/// Bits of an identifier digest its `_hash` term keeps. The term dictionary stores each term's bytes
/// after the prefix it shares with the previous one, and random 64-bit digests share only ~2 bytes: 48
/// bits cut `_hash` terms by 2 bytes each, 1.33 MB (2.2 %) of the 300k-event bench index. A query finds
/// another value's event only if the two digests' high 48 bits collide (~4·10⁻⁸ per lookup at 10⁷
/// identifiers); the exactly-once check never relies on them alone: it compares the stored record's
/// eventID, and a writer's deletes add the eventID digest's low 32 bits (`_idh`), the whole digest.
pub(crate) const ID_TERM_BITS: u32 = 48;

/// The `_hash` term of a digest made by [`id_hash`].
pub(crate) fn id_term_of(digest: u64) -> u64 {
    digest >> (64 - ID_TERM_BITS)
}

/// The `_hash` term under which an identifier field's value is indexed and looked up.
pub(crate) fn id_term(field: &str, value: &str) -> u64 {
    id_term_of(id_hash(field, value))
}
