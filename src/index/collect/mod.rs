//! The index's own collectors, one per file with its tests (as tantivy keeps its collectors): hits in
//! time order, counts per column value, matched documents as bitmaps, and groups by a key column. Each
//! reads fast fields only; none touches the doc store.

mod count_by_column;
mod group_by_column;
mod matched_docs;
mod top_by_time;

pub(crate) use count_by_column::{count_all_by_doc_freq, CountByColumn};
pub(crate) use group_by_column::Group;
pub(crate) use group_by_column::GroupByColumn;
pub(crate) use matched_docs::MatchedDocs;
pub(crate) use top_by_time::{Key, TopByTime};

use rustc_hash::FxHashMap;
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DateTime, DocId};

/// An event's eventTime in epoch milliseconds from its column (`i64::MIN` when it has none).
pub(crate) fn time_ms(col: &Option<Column<DateTime>>, doc: DocId) -> i64 {
    col.as_ref()
        .and_then(|c| c.first(doc))
        .map(|d| d.into_timestamp_millis())
        .unwrap_or(i64::MIN)
}

/// The strings of many ordinals of a column, resolved in one sorted pass over its dictionary: each
/// dictionary block (zstd) is inflated once, where one `ord_to_term` a value inflated a block each time
/// (`who` at 5M events spent 29 % of its CPU creating zstd contexts).
pub(crate) fn ords_to_strs(
    col: &Option<StrColumn>,
    ords: impl IntoIterator<Item = u64>,
) -> FxHashMap<u64, String> {
    let mut sorted: Vec<u64> = ords.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = FxHashMap::default();
    let Some(c) = col else { return out };
    let mut it = sorted.iter();
    // A column's bytes are the strings it was given: valid UTF-8.
    let _ = c.dictionary().sorted_ords_to_term_cb(&sorted, |bytes| {
        if let Some(o) = it.next() {
            out.insert(*o, String::from_utf8_lossy(bytes).into_owned());
        }
    });
    out
}

/// A column's value at `doc` as an ordinal (keyword columns hold one value an event).
pub(crate) fn first_ord(col: &Option<StrColumn>, doc: DocId) -> Option<u64> {
    col.as_ref().and_then(|c| c.term_ords(doc).next())
}

pub(crate) fn ord_str(col: &Option<StrColumn>, ord: u64) -> Option<String> {
    let mut s = String::new();
    col.as_ref()?.ord_to_str(ord, &mut s).ok()?.then_some(s)
}

#[cfg(test)]
pub(crate) mod testing {
    //! An in-memory index with the real schema, for the collectors' tests.

    use tantivy::schema::TantivyDocument;
    use tantivy::{DateTime, Index, Searcher};

    use crate::index::schema::{build_schema, Fields};

    /// One test event: time, eventID digest, and keyword values by catalogue name.
    pub(crate) struct Doc<'a> {
        pub ms: i64,
        pub idh: u64,
        pub kw: &'a [(&'a str, &'a str)],
    }

    /// Index `docs` into one segment per slice (so merging across segments is exercised).
    pub(crate) fn searcher(segments: &[&[Doc]]) -> (Fields, Searcher) {
        let (fields, index) = index(segments);
        let searcher = index.reader().unwrap().searcher();
        (fields, searcher)
    }

    /// As [`searcher`], the index itself (to write to it again).
    pub(crate) fn index(segments: &[&[Doc]]) -> (Fields, Index) {
        let fields = Fields::new(build_schema()).unwrap();
        let index = Index::create_in_ram(fields.schema.clone());
        crate::index::schema::register_tokenizers(&index);
        let mut w = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for seg in segments {
            for d in *seg {
                let mut doc = TantivyDocument::default();
                doc.add_date(fields.time, DateTime::from_timestamp_millis(d.ms));
                doc.add_u64(fields.idh, d.idh);
                for (k, v) in d.kw {
                    let (f, _) = fields.named(k).expect("a catalogue keyword");
                    doc.add_text(f, v);
                }
                w.add_document(doc).unwrap();
            }
            w.commit().unwrap();
        }
        (fields, index)
    }
}
