//! Per-field space usage of a sagetrail index (diagnostics for benches): `space_usage INDEX_DIR`.
fn main() {
    let dir = std::env::args().nth(1).expect("space_usage INDEX_DIR");
    let index = tantivy::Index::open_in_dir(&dir).expect("open index");
    let searcher = index.reader().expect("reader").searcher();
    let usage = searcher.space_usage().expect("space usage");
    let mut rows: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for seg in usage.segments() {
        for (part, fields) in [
            ("term", seg.termdict()),
            ("postings", seg.postings()),
            ("positions", seg.positions()),
            ("fast", seg.fast_fields()),
            ("fieldnorm", seg.fieldnorms()),
        ] {
            for u in fields.fields() {
                *rows
                    .entry((part.to_string(), u.field_name().to_string()))
                    .or_default() += u.total().get_bytes();
            }
        }
        *rows.entry(("store".into(), "-".into())).or_default() += seg.store().total().get_bytes();
    }
    let mut v: Vec<_> = rows.into_iter().collect();
    v.sort_by_key(|a| std::cmp::Reverse(a.1));
    for ((part, field), bytes) in v {
        if bytes > 10_000 {
            println!("{bytes:>12} {part:<10} {field}");
        }
    }
}
