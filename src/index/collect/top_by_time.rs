//! Hits in a deterministic order: by eventTime (newest or oldest first), ties broken by the eventID's
//! digest, at most `limit` kept per segment in a bounded heap.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DateTime, DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::catalog::names;
use crate::index::schema::F_IDH;

/// Sort key: smaller sorts first. Newest-first negates the time; ties go by the eventID's digest.
pub(crate) type Key = (i64, u64);

/// Top hits by (time, eventID); `limit: usize::MAX` keeps them all.
pub(crate) struct TopByTime {
    pub limit: usize,
    pub oldest_first: bool,
}

pub(crate) struct TopByTimeSegment {
    seg: SegmentOrdinal,
    limit: usize,
    oldest_first: bool,
    time: Option<Column<DateTime>>,
    ids: Option<Column<u64>>,
    /// Max-heap on the key: the worst kept hit is on top.
    heap: std::collections::BinaryHeap<(Key, DocId)>,
}

impl TopByTimeSegment {
    fn key_time(&self, doc: DocId) -> i64 {
        let t = super::time_ms(&self.time, doc);
        if self.oldest_first {
            t
        } else {
            -t
        }
    }
    fn id(&self, doc: DocId) -> u64 {
        self.ids.as_ref().and_then(|c| c.first(doc)).unwrap_or(0)
    }
}

impl SegmentCollector for TopByTimeSegment {
    type Fruit = Vec<(Key, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let t = self.key_time(doc);
        if self.heap.len() < self.limit {
            let id = self.id(doc);
            self.heap.push(((t, id), doc));
            return;
        }
        let worst_t = self.heap.peek().map(|w| w.0 .0).unwrap_or(i64::MAX);
        if t > worst_t {
            return;
        }
        let key = (t, self.id(doc));
        if let Some(w) = self.heap.peek() {
            if key < w.0 {
                self.heap.pop();
                self.heap.push((key, doc));
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let seg = self.seg;
        self.heap
            .into_iter()
            .map(|(k, d)| (k, DocAddress::new(seg, d)))
            .collect()
    }
}

impl Collector for TopByTime {
    type Fruit = Vec<(Key, DocAddress)>;
    type Child = TopByTimeSegment;

    fn for_segment(
        &self,
        seg: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopByTimeSegment> {
        Ok(TopByTimeSegment {
            seg,
            limit: self.limit,
            oldest_first: self.oldest_first,
            time: reader.fast_fields().date(names::EVENT_TIME).ok(),
            ids: reader.fast_fields().u64(F_IDH).ok(),
            heap: Default::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(Key, DocAddress)> = fruits.into_iter().flatten().collect();
        all.sort_by_key(|a| a.0);
        all.truncate(self.limit);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::collect::testing::{searcher, Doc};
    use tantivy::query::AllQuery;

    fn order(limit: usize, oldest_first: bool) -> Vec<Key> {
        let (_, s) = searcher(&[
            &[
                Doc {
                    ms: 3000,
                    idh: 9,
                    kw: &[],
                },
                Doc {
                    ms: 1000,
                    idh: 5,
                    kw: &[],
                },
            ],
            &[
                Doc {
                    ms: 3000,
                    idh: 2,
                    kw: &[],
                },
                Doc {
                    ms: 2000,
                    idh: 7,
                    kw: &[],
                },
            ],
        ]);
        let hits = s
            .search(
                &AllQuery,
                &TopByTime {
                    limit,
                    oldest_first,
                },
            )
            .unwrap();
        hits.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn newest_first_ties_by_digest_across_segments() {
        assert_eq!(
            order(usize::MAX, false),
            vec![(-3000, 2), (-3000, 9), (-2000, 7), (-1000, 5)]
        );
    }

    #[test]
    fn oldest_first_and_the_limit_keeps_the_best() {
        assert_eq!(order(2, true), vec![(1000, 5), (2000, 7)]);
        assert_eq!(order(1, false), vec![(-3000, 2)]);
        assert_eq!(order(0, false), vec![]);
    }
}
