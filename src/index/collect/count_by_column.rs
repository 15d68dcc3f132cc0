//! Hits per value of a keyword column (`stats --by`): counted by ordinal per segment, turned into strings
//! once at harvest.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::collect::testing::{searcher, Doc};
    use tantivy::query::AllQuery;

    #[test]
    fn counts_sum_across_segments_and_skip_absent_values() {
        let (_, s) = searcher(&[
            &[
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
