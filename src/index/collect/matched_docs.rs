//! The documents a query matches, one bitmap per segment in segment order: what `stats` walks when it
//! counts terms of the open path field for the matched documents only.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// The matching documents of each segment, as a bitmap (segment order).
pub(crate) struct MatchedDocs;

pub(crate) struct MatchedDocsSegment {
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

pub(crate) struct MatchedDocsSegmentOrd {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::collect::testing::{searcher, Doc};
    use tantivy::query::TermQuery;
    use tantivy::schema::IndexRecordOption;
    use tantivy::Term;

    #[test]
    fn one_bitmap_per_segment_in_order() {
        let (fields, s) = searcher(&[
            &[
                Doc {
                    ms: 1,
                    idh: 1,
                    kw: &[("eventName", "A")],
                },
                Doc {
                    ms: 2,
                    idh: 2,
                    kw: &[("eventName", "B")],
                },
            ],
            &[
                Doc {
                    ms: 3,
                    idh: 3,
                    kw: &[("eventName", "B")],
                },
                Doc {
                    ms: 4,
                    idh: 4,
                    kw: &[("eventName", "A")],
                },
                Doc {
                    ms: 5,
                    idh: 5,
                    kw: &[("eventName", "A")],
                },
            ],
        ]);
        let (f, _) = fields.named("eventName").unwrap();
        let q = TermQuery::new(Term::from_field_text(f, "A"), IndexRecordOption::Basic);
        let bits = s.search(&q, &MatchedDocs).unwrap();
        // In the searcher's segment order (not the order segments were written in).
        for (seg, b) in s.segment_readers().iter().zip(&bits) {
            assert_eq!(b.len(), seg.max_doc() as usize);
        }
        let mut sorted = bits.clone();
        sorted.sort_by_key(|b| b.len());
        assert_eq!(sorted, vec![vec![true, false], vec![false, true, true]]);
    }
}
