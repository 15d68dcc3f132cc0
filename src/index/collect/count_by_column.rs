//! Hits per value of a keyword column (`stats --by`): counted by ordinal per segment, turned into strings
//! once at harvest; or, where every event of a segment is asked for, read off the term dictionary.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::schema::Field;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::ords_to_strs;

/// Hits per value of a keyword fast field.
pub(crate) struct CountByColumn {
    pub field: String,
}

pub(crate) struct CountByColumnSegment {
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
        let used = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(o, _)| o as u64);
        let strs = ords_to_strs(&self.col, used);
        let mut out = HashMap::new();
        for (ord, s) in strs {
            out.insert(s, self.counts[ord as usize]);
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

/// Events per value of the keyword field `field` (column `name`) over every document of `reader`, from
/// each term's document frequency: the term dictionary of a keyword field holds one term per distinct
/// value, so this reads a few entries where [`CountByColumn`] visits every document (at 5M events,
/// `stats --by eventName` spent some 20 ns an event on the scorer and the column). Documents that are not
/// events (the ingest ledger) hold no catalogue field, so they add nothing. `None` where the frequencies
/// would not be the answer: a segment with deleted documents (frequencies still count them) or a
/// multi-valued column (a repeated value is one term but two ordinals); the caller collects that segment
/// by document.
pub(crate) fn count_all_by_doc_freq(
    reader: &SegmentReader,
    field: Field,
    name: &str,
) -> tantivy::Result<Option<HashMap<String, u64>>> {
    if reader.num_deleted_docs() > 0 {
        return Ok(None);
    }
    if let Some(col) = reader.fast_fields().str(name)? {
        if col.ords().get_cardinality() == Cardinality::Multivalued {
            return Ok(None);
        }
    }
    let inv = reader.inverted_index(field)?;
    let mut stream = inv.terms().stream()?;
    let mut out = HashMap::new();
    while stream.advance() {
        let n = u64::from(stream.value().doc_freq);
        if n > 0 {
            // Keyword terms are written from `str`s, as the column's values are.
            out.insert(String::from_utf8_lossy(stream.key()).into_owned(), n);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::collect::testing::{searcher, Doc};
    use tantivy::query::AllQuery;

    /// Two events, a CreateApp and a DeleteApp.
    const CREATE_AND_DELETE: [Doc<'static>; 2] = [
        Doc {
            ms: 1,
            idh: 1,
            kw: &[("eventName", "CreateApp")],
        },
        Doc {
            ms: 2,
            idh: 2,
            kw: &[("eventName", "DeleteApp")],
        },
    ];

    #[test]
    fn counts_sum_across_segments_and_skip_absent_values() {
        let [create, delete] = CREATE_AND_DELETE;
        let (_, s) = searcher(&[
            &[
                create,
                delete,
                Doc {
                    ms: 3,
                    idh: 3,
                    kw: &[],
                },
            ],
            &[Doc {
                ms: 4,
                idh: 4,
                kw: &[("eventName", "CreateApp")],
            }],
        ]);
        let got = s
            .search(
                &AllQuery,
                &CountByColumn {
                    field: "eventName".into(),
                },
            )
            .unwrap();
        let mut got: Vec<_> = got.into_iter().collect();
        got.sort();
        assert_eq!(
            got,
            vec![("CreateApp".to_string(), 2), ("DeleteApp".to_string(), 1)]
        );
    }

    fn sorted(m: HashMap<String, u64>) -> Vec<(String, u64)> {
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn the_term_dictionary_gives_what_collecting_every_document_gives() {
        let kw: Vec<[(&str, &str); 1]> = ["CreateApp", "DeleteApp", "CreateSpace", "ListApps"]
            .map(|n| [("eventName", n)])
            .into();
        // Two segments of unequal mixes, some events without the field (a fifth of the picks).
        let segs: Vec<Vec<Doc>> = (0..2u64)
            .map(|s| {
                (0..200u64)
                    .map(|i| Doc {
                        ms: i as i64,
                        idh: i,
                        kw: kw
                            .get(((i * (s + 3) + i / 7) % 5) as usize)
                            .map_or(&[], |k| k),
                    })
                    .collect()
            })
            .collect();
        let slices: Vec<&[Doc]> = segs.iter().map(Vec::as_slice).collect();
        let (fields, s) = searcher(&slices);
        let (f, _) = fields.named("eventName").unwrap();
        let collected = s
            .search(
                &AllQuery,
                &CountByColumn {
                    field: "eventName".into(),
                },
            )
            .unwrap();
        let mut from_terms: HashMap<String, u64> = HashMap::new();
        for seg in s.segment_readers() {
            for (k, v) in count_all_by_doc_freq(seg, f, "eventName").unwrap().unwrap() {
                *from_terms.entry(k).or_default() += v;
            }
        }
        assert_eq!(sorted(from_terms), sorted(collected.clone()));
        // Not vacuous: every name was counted, events without the field were not.
        let total: u64 = collected.values().sum();
        assert_eq!(collected.len(), 4);
        assert!(total < 400 && total > 0, "{total}");
    }

    #[test]
    fn a_segment_with_deleted_events_is_left_to_the_collector() {
        let (fields, index) = crate::index::collect::testing::index(&[&CREATE_AND_DELETE]);
        let (f, _) = fields.named("eventName").unwrap();
        let before = index.reader().unwrap().searcher();
        assert!(
            count_all_by_doc_freq(&before.segment_readers()[0], f, "eventName")
                .unwrap()
                .is_some()
        );
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        w.delete_term(tantivy::Term::from_field_text(f, "DeleteApp"));
        w.commit().unwrap();
        let after = index.reader().unwrap().searcher();
        let seg = &after.segment_readers()[0];
        assert!(count_all_by_doc_freq(seg, f, "eventName")
            .unwrap()
            .is_none());
        let got = after
            .search(
                &AllQuery,
                &CountByColumn {
                    field: "eventName".into(),
                },
            )
            .unwrap();
        assert_eq!(sorted(got), vec![("CreateApp".to_string(), 1)]);
    }

    #[test]
    fn a_field_without_values_counts_nothing() {
        let (_, s) = searcher(&[&[Doc {
            ms: 1,
            idh: 1,
            kw: &[],
        }]]);
        let got = s
            .search(
                &AllQuery,
                &CountByColumn {
                    field: "errorCode".into(),
                },
            )
            .unwrap();
        assert!(got.is_empty());
    }
}
