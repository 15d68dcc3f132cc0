//! Per-field space usage of a sagetrail index (diagnostics for benches): `space_usage INDEX_DIR`.
//! With `--postings`, also the postings per document of each field (the work of indexing is one hash
//! probe per posting); with `--paths`, the open paths with the most postings (what a path costs).
fn main() {
    if std::env::args().any(|a| a == "--words") {
        let dir = std::env::args()
            .nth(1)
            .expect("space_usage INDEX_DIR --words");
        words(&dir);
        return;
    }
    if std::env::args().any(|a| a == "--paths") {
        let dir = std::env::args()
            .nth(1)
            .expect("space_usage INDEX_DIR --paths");
        paths(&dir);
        return;
    }
    if std::env::args().any(|a| a == "--postings") {
        let dir = std::env::args()
            .nth(1)
            .expect("space_usage INDEX_DIR --postings");
        postings(&dir);
    }
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
    // A closed pipe (`| head`) ends the listing quietly.
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for ((part, field), bytes) in v {
        if bytes > 10_000 && writeln!(out, "{bytes:>12} {part:<10} {field}").is_err() {
            return;
        }
    }
}

fn postings(dir: &str) {
    let index = tantivy::Index::open_in_dir(dir).expect("open index");
    let searcher = index.reader().expect("reader").searcher();
    let schema = index.schema();
    let docs = searcher.num_docs().max(1) as f64;
    let mut rows = Vec::new();
    for (field, entry) in schema.fields() {
        if !entry.is_indexed() {
            continue;
        }
        let (mut terms, mut postings) = (0u64, 0u64);
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(field).expect("inverted index");
            let mut stream = inv.terms().stream().expect("terms");
            while let Some((_, info)) = stream.next() {
                terms += 1;
                postings += info.doc_freq as u64;
            }
        }
        rows.push((postings, terms, entry.name().to_string()));
    }
    rows.sort_by(|a, b| b.cmp(a));
    println!(
        "{:>10} {:>10}  field (per document: postings; distinct terms in all segments)",
        "post/doc", "terms"
    );
    for (p, t, name) in rows.iter().filter(|r| r.0 > 0) {
        println!("{:>10.2} {:>10}  {name}", *p as f64 / docs, t);
    }
    let total: u64 = rows.iter().map(|r| r.0).sum();
    println!("{:>10.2} {:>10}  all fields", total as f64 / docs, "");
}

/// Postings and distinct terms per open path (`_path` terms are `path\0value`), the 40 costliest.
fn paths(dir: &str) {
    let mut by: std::collections::HashMap<String, (u64, u64)> = Default::default();
    let docs = each_term(dir, "_path", |key, info| {
        let path = key.split(|b| *b == 0).next().unwrap_or(key);
        let e = by
            .entry(String::from_utf8_lossy(path).into_owned())
            .or_default();
        e.0 += info.doc_freq as u64;
        e.1 += 1;
    });
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!(
        "{:>10} {:>10}  path (per document: postings; distinct values in all segments)",
        "post/doc", "terms"
    );
    for (path, (p, t)) in rows.iter().take(40) {
        println!("{:>10.3} {:>10}  {path}", *p as f64 / docs, t);
    }
}

/// Full-text words by how many documents hold them: the postings of each band and a few of its words
/// (what a word costs against how often anyone could type it).
fn words(dir: &str) {
    let mut df: std::collections::HashMap<Vec<u8>, (u64, u64)> = Default::default();
    let docs = each_term(dir, "_text", |key, info| {
        let e = df.entry(key.to_vec()).or_default();
        e.0 += info.doc_freq as u64;
        e.1 += info.postings_range.len() as u64;
    });
    // Bands of document frequency, as a share of all documents.
    const BANDS: [u64; 6] = [1, 10, 100, 1_000, 10_000, u64::MAX];
    let mut rows = vec![(0u64, 0u64, Vec::<String>::new(), 0u64); BANDS.len()];
    let mut all: Vec<_> = df.into_iter().collect();
    all.sort();
    for (w, (f, bytes)) in &all {
        let b = BANDS.iter().position(|m| f <= m).unwrap_or(BANDS.len() - 1);
        rows[b].0 += f;
        rows[b].1 += 1;
        rows[b].3 += bytes;
        if rows[b].2.len() < 12 && (rows[b].1 % 97 == 1) {
            rows[b].2.push(String::from_utf8_lossy(w).into_owned());
        }
    }
    println!(
        "{:>12} {:>10} {:>10} {:>10}  words in at most N documents: samples",
        "N", "post/doc", "terms", "bytes"
    );
    for (m, (p, t, s, bytes)) in BANDS.iter().zip(rows) {
        println!(
            "{m:>12} {:>10.3} {t:>10} {bytes:>10}  {}",
            p as f64 / docs,
            s.join(" ")
        );
    }
    all.sort_by_key(|(_, (f, _))| std::cmp::Reverse(*f));
    println!("the 60 commonest (share of documents, postings bytes):");
    for (w, (f, bytes)) in all.iter().take(60) {
        println!(
            "{:>10.3} {bytes:>9}  {}",
            *f as f64 / docs,
            String::from_utf8_lossy(w)
        );
    }
}

/// Every term of `field` in every segment of the index at `dir`, with its term info; gives back the
/// number of documents (at least 1, to divide by).
fn each_term(
    dir: &str,
    field: &str,
    mut f: impl FnMut(&[u8], &tantivy::postings::TermInfo),
) -> f64 {
    let index = tantivy::Index::open_in_dir(dir).expect("open index");
    let searcher = index.reader().expect("reader").searcher();
    let field = index.schema().get_field(field).expect("the field");
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(field).expect("inverted index");
        let mut stream = inv.terms().stream().expect("terms");
        while let Some((key, info)) = stream.next() {
            f(key, info);
        }
    }
    searcher.num_docs().max(1) as f64
}
