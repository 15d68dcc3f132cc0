//! The time histogram collector: hits per fixed interval of `eventTime`, read from the date column.
//!
//! Buckets are aligned to the epoch (a day bucket starts at 00:00 UTC), as Kibana's date histogram does
//! for fixed intervals; empty buckets are filled in by [`fill`], so a gap in activity shows as a gap.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DateTime, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::catalog::names;

/// Hits per bucket start (epoch ms) of `interval_ms`.
pub(crate) struct TimeHistogram {
    pub interval_ms: i64,
}

pub(crate) struct TimeHistogramSegment {
    col: Option<Column<DateTime>>,
    interval_ms: i64,
    counts: BTreeMap<i64, u64>,
}

/// The start of the bucket holding `ms`.
pub(crate) fn bucket_start(ms: i64, interval_ms: i64) -> i64 {
    ms.div_euclid(interval_ms) * interval_ms
}

impl SegmentCollector for TimeHistogramSegment {
    type Fruit = BTreeMap<i64, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(t) = self.col.as_ref().and_then(|c| c.first(doc)) {
            let b = bucket_start(t.into_timestamp_millis(), self.interval_ms);
            *self.counts.entry(b).or_default() += 1;
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
    }
}

impl Collector for TimeHistogram {
    type Fruit = BTreeMap<i64, u64>;
    type Child = TimeHistogramSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(TimeHistogramSegment {
            col: reader.fast_fields().date(names::EVENT_TIME).ok(),
            interval_ms: self.interval_ms.max(1),
            counts: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut out = BTreeMap::new();
        for f in fruits {
            for (k, v) in f {
                *out.entry(k).or_default() += v;
            }
        }
        Ok(out)
    }
}

/// Every bucket from the one holding `from` to the one holding `to` (inclusive), counts from `counts`
/// (zero where absent). `from`/`to` default to the first and last bucket with hits.
pub(crate) fn fill(
    counts: &BTreeMap<i64, u64>,
    interval_ms: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> Vec<(i64, u64)> {
    let (Some(first), Some(last)) = (
        from.map(|f| bucket_start(f, interval_ms))
            .or_else(|| counts.keys().next().copied()),
        to.map(|t| bucket_start(t, interval_ms))
            .or_else(|| counts.keys().next_back().copied()),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut b = first;
    while b <= last {
        out.push((b, counts.get(&b).copied().unwrap_or(0)));
        match b.checked_add(interval_ms) {
            Some(n) => b = n,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{DateOptions, DateTimePrecision, Schema, FAST};
    use tantivy::{doc, Index};

    #[test]
    fn buckets_align_to_the_epoch_and_handle_negative_times() {
        assert_eq!(bucket_start(3_599_999, 3_600_000), 0);
        assert_eq!(bucket_start(3_600_000, 3_600_000), 3_600_000);
        assert_eq!(bucket_start(-1, 3_600_000), -3_600_000);
    }

    #[test]
    fn fill_puts_empty_buckets_in_and_keeps_the_window_edges() {
        let h = 3_600_000;
        let counts: BTreeMap<i64, u64> = [(h, 2), (4 * h, 1)].into_iter().collect();
        assert_eq!(
            fill(&counts, h, None, None),
            vec![(h, 2), (2 * h, 0), (3 * h, 0), (4 * h, 1)]
        );
        // A window wider than the hits: its first and last buckets are there, empty.
        let got = fill(&counts, h, Some(0), Some(5 * h + 10));
        assert_eq!(got.first(), Some(&(0, 0)));
        assert_eq!(got.last(), Some(&(5 * h, 0)));
        assert_eq!(got.len(), 6);
        assert!(fill(&BTreeMap::new(), h, None, None).is_empty());
    }

    #[test]
    fn the_collector_counts_per_bucket_across_segments() {
        let mut sb = Schema::builder();
        let t = sb.add_date_field(
            names::EVENT_TIME,
            DateOptions::from(FAST).set_precision(DateTimePrecision::Milliseconds),
        );
        let index = Index::create_in_ram(sb.build());
        let mut w = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for ms in [0i64, 10, 3_600_000, 7_200_001] {
            w.add_document(doc!(t => DateTime::from_timestamp_millis(ms)))
                .unwrap();
            w.commit().unwrap(); // one segment each
        }
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 4);
        let got = searcher
            .search(
                &tantivy::query::AllQuery,
                &TimeHistogram {
                    interval_ms: 3_600_000,
                },
            )
            .unwrap();
        let want: BTreeMap<i64, u64> = [(0, 2), (3_600_000, 1), (7_200_000, 1)]
            .into_iter()
            .collect();
        assert_eq!(got, want);
    }
}
