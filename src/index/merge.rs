//! Segment merging: when, which segments, and how big a merge may get.
//!
//! tantivy's own policies merge in the background while the writer indexes, so the memory of a merge (it
//! maps every input segment) comes on top of the writer's heap, and a merge's size grows with the index:
//! a one-shot load of 1.2M events peaked 40 % above one of 300k. Here the writer merges nothing while
//! it indexes; at the end of a run, [`plan`] groups the small segments so that no merge produces more than
//! [`MergeConfig::max_docs`] documents, and the groups are merged one after another. Peak memory is then
//! the larger of the writer's heap and one bounded merge, whatever the size of the index.
//!
//! Pure planning is here (and unit-tested); the writer runs the plan.

/// What a merge plan may do.
#[derive(Debug, Clone, Copy)]
pub struct MergeConfig {
    /// No merge produces a segment with more live documents than this.
    pub max_docs: u32,
    /// A segment with at least this share of deleted documents is rewritten even alone (purges deletes).
    pub purge_deleted_ratio: f32,
    /// Small segments (under half of `max_docs`) are left alone until there are more than this many.
    pub max_small_segments: usize,
    /// Merges run at once (each is single-threaded; each maps its inputs).
    pub parallel: usize,
}

/// Why 500k: a merge maps its inputs, ~185 bytes an event on disk, so ~90 MiB a merge and ~185 MiB for
/// two at once, under the writer's own peak (256 MiB heap); a 10M-event index ends with ~20 segments.
/// Measured on 1.2M events: 12 segments against 3 cost a keyed query under 10 ms.
pub(crate) const DEFAULT_MAX_MERGE_DOCS: u32 = 500_000;

/// Why 8: each merge rewrites every posting of its inputs (~10 µs an event here), so small segments
/// wait until there are enough of them to be worth it: a 300k-event load (4 segments) merges nothing,
/// a nightly run adds one segment and pays for a merge once a week.
pub(crate) const DEFAULT_MAX_SMALL_SEGMENTS: usize = 8;

/// Why a quarter: stitching fix-ups delete and re-add events; below this the deleted documents cost
/// little, above it a rewrite pays for itself in query time and disk.
pub(crate) const DEFAULT_PURGE_DELETED_RATIO: f32 = 0.25;

impl Default for MergeConfig {
    fn default() -> Self {
        MergeConfig {
            max_docs: DEFAULT_MAX_MERGE_DOCS,
            purge_deleted_ratio: DEFAULT_PURGE_DELETED_RATIO,
            max_small_segments: DEFAULT_MAX_SMALL_SEGMENTS,
            parallel: 1,
        }
    }
}

/// One segment as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentSize {
    /// The caller's handle for the segment (tantivy's segment id as a string).
    pub id: String,
    pub live_docs: u32,
    pub deleted_docs: u32,
}

/// Groups of segment ids to merge, each group's live documents at most `cfg.max_docs`.
///
/// Nothing is merged until there are more than `max_small_segments` small segments (under half the
/// cap); then all small ones are taken smallest first and packed greedily. Segments at half the cap or
/// more are left alone (re-writing them for a small neighbour would copy a large segment every nightly
/// run) unless they carry many deletes; a group of one is only kept to purge deletes. Deterministic:
/// ties are broken by id.
pub(crate) fn plan(segments: &[SegmentSize], cfg: &MergeConfig) -> Vec<Vec<String>> {
    let purge = |s: &SegmentSize| {
        let max_doc = s.live_docs as u64 + s.deleted_docs as u64;
        max_doc > 0 && s.deleted_docs as f32 / max_doc as f32 >= cfg.purge_deleted_ratio
    };
    let small = |s: &SegmentSize| s.live_docs < cfg.max_docs / 2;
    let many_small = segments.iter().filter(|s| small(s)).count() > cfg.max_small_segments;
    let mut eligible: Vec<&SegmentSize> = segments
        .iter()
        .filter(|s| (many_small && small(s)) || (purge(s) && s.live_docs <= cfg.max_docs))
        .collect();
    eligible.sort_by(|a, b| a.live_docs.cmp(&b.live_docs).then_with(|| a.id.cmp(&b.id)));

    let mut groups = Vec::new();
    let mut group: Vec<&SegmentSize> = Vec::new();
    let mut sum = 0u64;
    let mut flush = |group: &mut Vec<&SegmentSize>| {
        if group.len() >= 2 || group.first().is_some_and(|s| purge(s)) {
            groups.push(group.iter().map(|s| s.id.clone()).collect());
        }
        group.clear();
    };
    for s in eligible {
        if sum + s.live_docs as u64 > cfg.max_docs as u64 && !group.is_empty() {
            flush(&mut group);
            sum = 0;
        }
        sum += s.live_docs as u64;
        group.push(s);
    }
    flush(&mut group);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: &str, live: u32, deleted: u32) -> SegmentSize {
        SegmentSize {
            id: id.into(),
            live_docs: live,
            deleted_docs: deleted,
        }
    }

    fn cfg(max_docs: u32) -> MergeConfig {
        MergeConfig {
            max_docs,
            purge_deleted_ratio: 0.25,
            max_small_segments: 2,
            parallel: 1,
        }
    }

    #[test]
    fn groups_never_exceed_the_cap() {
        let segs: Vec<_> = (0..12)
            .map(|i| seg(&format!("s{i:02}"), 90_000 + i * 1000, 0))
            .collect();
        let groups = plan(&segs, &cfg(1_000_000));
        assert_eq!(groups.len(), 2);
        for g in &groups {
            let docs: u32 = g
                .iter()
                .map(|id| segs.iter().find(|s| &s.id == id).unwrap().live_docs)
                .sum();
            assert!(docs <= 1_000_000, "{g:?} has {docs} docs");
        }
        let merged: usize = groups.iter().map(Vec::len).sum();
        assert_eq!(merged, 12, "every small segment is merged");
    }

    #[test]
    fn big_segments_stay_and_few_small_ones_wait() {
        let segs = vec![
            seg("big", 900_000, 0),
            seg("a", 200_000, 0),
            seg("night", 10_000, 0),
        ];
        assert!(
            plan(&segs, &cfg(1_000_000)).is_empty(),
            "two small ones wait"
        );
        let mut segs = segs;
        segs.push(seg("night2", 12_000, 0));
        assert_eq!(
            plan(&segs, &cfg(1_000_000)),
            vec![vec![
                "night".to_string(),
                "night2".to_string(),
                "a".to_string()
            ]]
        );
    }

    #[test]
    fn deletes_are_purged_even_alone() {
        let segs = vec![seg("big", 700_000, 300_000), seg("clean", 700_000, 1)];
        assert_eq!(plan(&segs, &cfg(1_000_000)), vec![vec!["big".to_string()]]);
    }

    #[test]
    fn deterministic_on_ties() {
        let segs = vec![
            seg("b", 10, 0),
            seg("a", 10, 0),
            seg("c", 10, 0),
            seg("d", 12, 0),
        ];
        assert_eq!(
            plan(&segs, &cfg(25)),
            vec![vec!["a".to_string(), "b".to_string()]]
        );
    }
}
