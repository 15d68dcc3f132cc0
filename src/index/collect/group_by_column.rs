//! Hits grouped by the value of a key column (`who`), with each group's count, time span and the
//! distinct values of other columns: gathered as ordinals per segment, turned into strings once.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DateTime, DocId, Score, SegmentOrdinal, SegmentReader};

use super::{first_ord, ords_to_strs};
use crate::catalog::names;

/// Hits that share the value of a key column (see [`crate::index::Reader::group_by`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// The key's value; `None` for hits without one.
    pub key: Option<String>,
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// The columns asked for, in the order of `distinct` and `present`.
    columns: &'static [&'static str],
    /// Per column asked for: its distinct values among the group's hits.
    distinct: Vec<BTreeSet<String>>,
    /// Per column asked for: how many of the group's hits have a value.
    present: Vec<u64>,
}

impl Group {
    fn index(&self, name: &str) -> Option<usize> {
        let i = self.columns.iter().position(|c| *c == name);
        debug_assert!(i.is_some(), "column {name} was not asked for");
        i
    }

    /// Take the distinct values of a column asked for, in order (a second take is empty).
    pub(crate) fn take_distinct(&mut self, name: &str) -> Vec<String> {
        self.index(name)
            .map(|i| std::mem::take(&mut self.distinct[i]).into_iter().collect())
            .unwrap_or_default()
    }

    /// How many of the group's hits have a value in a column asked for.
    pub(crate) fn present(&self, name: &str) -> u64 {
        self.index(name).map(|i| self.present[i]).unwrap_or(0)
    }
}

/// Groups hits by a key column; see [`Reader::group_by`].
pub(crate) struct GroupByColumn {
    pub key: String,
    pub columns: &'static [&'static str],
}

/// A group within one segment: ordinals, not strings.
pub(crate) struct SegmentGroup {
    count: u64,
    first_ms: i64,
    last_ms: i64,
    ords: Vec<FxHashSet<u64>>,
    present: Vec<u64>,
}

pub(crate) struct GroupByColumnSegment {
    key: Option<StrColumn>,
    /// The names asked for, handed to each group.
    columns: &'static [&'static str],
    cols: Vec<Option<StrColumn>>,
    time: Option<Column<DateTime>>,
    /// By the key's ordinal (`u64::MAX`: no key).
    groups: FxHashMap<u64, SegmentGroup>,
}

impl SegmentCollector for GroupByColumnSegment {
    type Fruit = FxHashMap<Option<String>, Group>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let key = first_ord(&self.key, doc).unwrap_or(u64::MAX);
        let t = super::time_ms(&self.time, doc);
        let n = self.cols.len();
        let g = self.groups.entry(key).or_insert_with(|| SegmentGroup {
            count: 0,
            first_ms: t,
            last_ms: t,
            ords: vec![FxHashSet::default(); n],
            present: vec![0; n],
        });
        g.count += 1;
        g.first_ms = g.first_ms.min(t);
        g.last_ms = g.last_ms.max(t);
        for (i, col) in self.cols.iter().enumerate() {
            if let Some(o) = first_ord(col, doc) {
                g.ords[i].insert(o);
                g.present[i] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = FxHashMap::default();
        // Every ordinal the groups hold, turned into strings once per column.
        let keys = ords_to_strs(
            &self.key,
            self.groups.keys().copied().filter(|k| *k != u64::MAX),
        );
        let strs: Vec<FxHashMap<u64, String>> = self
            .cols
            .iter()
            .enumerate()
            .map(|(i, col)| {
                ords_to_strs(
                    col,
                    self.groups.values().flat_map(|g| g.ords[i].iter().copied()),
                )
            })
            .collect();
        for (key, g) in self.groups {
            let key = if key == u64::MAX {
                None
            } else {
                keys.get(&key).cloned()
            };
            let distinct = g
                .ords
                .iter()
                .zip(&strs)
                .map(|(ords, strs)| ords.iter().filter_map(|o| strs.get(o).cloned()).collect())
                .collect();
            merge_group(
                &mut out,
                Group {
                    key,
                    columns: self.columns,
                    count: g.count,
                    first_ms: g.first_ms,
                    last_ms: g.last_ms,
                    distinct,
                    present: g.present,
                },
            );
        }
        out
    }
}

fn merge_group(into: &mut FxHashMap<Option<String>, Group>, g: Group) {
    match into.get_mut(&g.key) {
        None => {
            into.insert(g.key.clone(), g);
        }
        Some(m) => {
            m.count += g.count;
            m.first_ms = m.first_ms.min(g.first_ms);
            m.last_ms = m.last_ms.max(g.last_ms);
            for (a, b) in m.distinct.iter_mut().zip(g.distinct) {
                a.extend(b);
            }
            for (a, b) in m.present.iter_mut().zip(g.present) {
                *a += b;
            }
        }
    }
}

impl Collector for GroupByColumn {
    type Fruit = FxHashMap<Option<String>, Group>;
    type Child = GroupByColumnSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        Ok(GroupByColumnSegment {
            key: ff.str(&self.key)?,
            columns: self.columns,
            cols: self
                .columns
                .iter()
                .map(|c| ff.str(c))
                .collect::<tantivy::Result<_>>()?,
            time: ff.date(names::EVENT_TIME).ok(),
            groups: FxHashMap::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut out = FxHashMap::default();
        for f in fruits {
            for g in f.into_values() {
                merge_group(&mut out, g);
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
    fn groups_merge_across_segments_with_distinct_values_and_presence() {
        let (_, s) = searcher(&[
            &[
                Doc {
                    ms: 10,
                    idh: 1,
                    kw: &[
                        ("actor", "alice"),
                        ("errorCode", "AccessDenied"),
                        ("sourceIPAddress", "1.1.1.1"),
                    ],
                },
                Doc {
                    ms: 30,
                    idh: 2,
                    kw: &[("actor", "bob")],
                },
                Doc {
                    ms: 5,
                    idh: 3,
                    kw: &[],
                },
            ],
            &[
                Doc {
                    ms: 40,
                    idh: 4,
                    kw: &[("actor", "alice"), ("sourceIPAddress", "2.2.2.2")],
                },
                Doc {
                    ms: 20,
                    idh: 5,
                    kw: &[("actor", "alice"), ("sourceIPAddress", "1.1.1.1")],
                },
            ],
        ]);
        const COLS: [&str; 2] = ["errorCode", "sourceIPAddress"];
        let got = s
            .search(
                &AllQuery,
                &GroupByColumn {
                    key: "actor".into(),
                    columns: &COLS,
                },
            )
            .unwrap();
        let mut alice = got[&Some("alice".to_string())].clone();
        assert_eq!((alice.count, alice.first_ms, alice.last_ms), (3, 10, 40));
        assert_eq!(alice.present("errorCode"), 1);
        assert_eq!(alice.present("sourceIPAddress"), 3);
        assert_eq!(
            alice.take_distinct("sourceIPAddress"),
            vec!["1.1.1.1", "2.2.2.2"]
        );
        assert_eq!(alice.take_distinct("errorCode"), vec!["AccessDenied"]);
        assert!(alice.take_distinct("errorCode").is_empty(), "taken once");
        assert_eq!(got[&Some("bob".to_string())].count, 1);
        let none = &got[&None];
        assert_eq!((none.count, none.present("errorCode")), (1, 0));
        assert_eq!(got.len(), 3);
    }
}
