//! Phrases over the full-text field, which keeps no positions: the candidates are the documents holding
//! every word (an AND of term queries), and each candidate is kept only when one string of its stored
//! record holds the words next to each other, in order.
//!
//! Owns that verification as a tantivy [`Query`], so phrases compose with everything else (AND, NOT,
//! counts, stats) and cost a doc-store read per candidate instead of positions for every word of every
//! record at ingest.
//!
//! When a segment has many candidates, the phrase first looks through the whole values the index holds
//! verbatim from records (the open paths' values, and the keyword fields copied from a record unchanged):
//! a document holding a value that holds the phrase holds it in one of its strings, so it is a match
//! without reading its record (a phrase that is a job name matched 55k records at 5M events, each one
//! otherwise a doc-store read). Only the candidates left are verified against their records.

use std::sync::Arc;

use super::schema::{Fields, MAX_WORD_LEN};
use crate::normalise::tree::Json;
use tantivy::query::{
    BooleanQuery, EnableScoring, Explanation, Occur, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::store::StoreReader;
use tantivy::tokenizer::TextAnalyzer;

use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TantivyDocument, Term, TERMINATED};

/// Doc-store blocks cached per segment while verifying: candidates come in doc order, so consecutive ones
/// mostly share a block; a few blocks absorb the interleaving of AND-ed postings.
const STORE_CACHE_BLOCKS: usize = 8;

/// A candidate's verification (a record read from the doc store and searched, ~30 µs at 5M events) costs
/// about as much as looking at this many terms of a dictionary (~60 ns each): a segment's values are
/// looked through first only when its candidates times this exceed the terms there are to look at.
const TERMS_PER_CANDIDATE: u64 = 500;

/// Where the index keeps record strings verbatim, for [`VerifiedPhrase`] to find whole values in.
#[derive(Debug, Clone)]
pub(crate) enum Verbatim {
    /// The open path field: terms `path\0value`, the value a record's scalar as written.
    Path(Field),
    /// A keyword field whose terms are a record's strings unchanged.
    Keyword(Field),
}

impl Verbatim {
    /// Where an index keeps record strings verbatim: the open paths, and the keyword fields normalise
    /// copies unchanged from a CloudTrail record (derived fields are not a record's strings).
    pub(crate) fn of(fields: &Fields) -> Vec<Verbatim> {
        std::iter::once(Verbatim::Path(fields.path))
            .chain(
                crate::normalise::verbatim_keywords()
                    .filter_map(|n| fields.named(n))
                    .map(|(f, _)| Verbatim::Keyword(f)),
            )
            .collect()
    }
}

/// The words of a phrase (already tokenized) in `text`, verified against the record stored in `raw`.
#[derive(Clone)]
pub(crate) struct VerifiedPhrase {
    text: Field,
    raw: Field,
    words: Arc<Vec<String>>,
    tokenizer: TextAnalyzer,
    verbatim: Arc<Vec<Verbatim>>,
}

impl std::fmt::Debug for VerifiedPhrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedPhrase")
            .field("words", &self.words)
            .finish()
    }
}

impl VerifiedPhrase {
    pub(crate) fn new(
        text: Field,
        raw: Field,
        words: Vec<String>,
        tokenizer: TextAnalyzer,
        verbatim: Vec<Verbatim>,
    ) -> Self {
        VerifiedPhrase {
            text,
            raw,
            words: Arc::new(words),
            tokenizer,
            verbatim: Arc::new(verbatim),
        }
    }

    /// The documents of `reader` holding a verbatim value that holds the phrase, when its candidates make
    /// looking worth it. A number's text (`1.5e-7`) is made of digits and `e`, and a record's numbers are
    /// not its strings, so a phrase of such words is left to the records.
    fn confirmed(&self, reader: &SegmentReader) -> tantivy::Result<Option<BitSet>> {
        let numeric = |w: &String| w.bytes().all(|b| b.is_ascii_digit() || b == b'e');
        if self.verbatim.is_empty() || self.words.iter().all(numeric) {
            return Ok(None);
        }
        // At most as many candidates as documents hold the rarest word (the intersection's own size hint
        // is a guess, 20 times too low on a job-name phrase).
        let text = reader.inverted_index(self.text)?;
        let mut candidates = u32::MAX;
        for w in self.words.iter() {
            candidates = candidates.min(text.doc_freq(&Term::from_field_text(self.text, w))?);
        }
        let mut inverted = Vec::with_capacity(self.verbatim.len());
        let mut terms = 0u64;
        for v in self.verbatim.iter() {
            let (Verbatim::Path(f) | Verbatim::Keyword(f)) = v;
            let inv = reader.inverted_index(*f)?;
            terms += inv.terms().num_terms() as u64;
            inverted.push((matches!(v, Verbatim::Path(_)), inv));
        }
        if u64::from(candidates) * TERMS_PER_CANDIDATE < terms {
            return Ok(None);
        }
        let Some(probe) = longest(&self.words) else {
            return Ok(None);
        };
        let mut bits = BitSet::with_max_value(reader.max_doc());
        let mut tk = self.tokenizer.clone();
        for (is_path, inv) in inverted {
            let mut stream = inv.terms().stream()?;
            while stream.advance() {
                let key = stream.key();
                let value = if is_path {
                    match memchr::memchr(0, key) {
                        Some(i) => &key[i + 1..],
                        None => continue,
                    }
                } else {
                    key
                };
                // Most values lack the phrase's longest word: rejected on their bytes, before any
                // UTF-8 check or tokenizing (at 5M events, the look through a segment's values was
                // a sixth validation and a tenth token vectors).
                if !may_hold(value, probe) {
                    continue;
                }
                let Ok(value) = std::str::from_utf8(value) else {
                    continue;
                };
                if !tokens_hold(value, &self.words, &mut tk) {
                    continue;
                }
                let mut postings =
                    inv.read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
                let mut d = postings.doc();
                while d != TERMINATED {
                    bits.insert(d);
                    d = postings.advance();
                }
            }
        }
        Ok(Some(bits))
    }

    fn candidates(&self) -> BooleanQuery {
        BooleanQuery::new(
            self.words
                .iter()
                .map(|w| {
                    (
                        Occur::Must,
                        Box::new(TermQuery::new(
                            Term::from_field_text(self.text, w),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect(),
        )
    }
}

impl Query for VerifiedPhrase {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(PhraseWeight {
            inner: self.candidates().weight(scoring)?,
            phrase: self.clone(),
        }))
    }
}

struct PhraseWeight {
    inner: Box<dyn Weight>,
    phrase: VerifiedPhrase,
}

impl Weight for PhraseWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(reader, boost)?;
        let confirmed = self.phrase.confirmed(reader)?;
        let mut s = PhraseScorer {
            inner,
            store: reader.get_store_reader(STORE_CACHE_BLOCKS)?,
            phrase: self.phrase.clone(),
            confirmed,
        };
        s.settle();
        Ok(Box::new(s))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut s = self.scorer(reader, 1.0)?;
        if s.seek(doc) == doc {
            Ok(Explanation::new("verified phrase", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not hold the phrase"
            )))
        }
    }
}

struct PhraseScorer {
    inner: Box<dyn Scorer>,
    store: StoreReader,
    phrase: VerifiedPhrase,
    /// Candidates known to hold the phrase without reading their records.
    confirmed: Option<BitSet>,
}

impl PhraseScorer {
    /// Move forward from the current candidate to the first one that holds the phrase.
    fn settle(&mut self) -> DocId {
        let mut d = self.inner.doc();
        while d != TERMINATED && !self.holds(d) {
            d = self.inner.advance();
        }
        d
    }

    fn holds(&mut self, doc: DocId) -> bool {
        if self.confirmed.as_ref().is_some_and(|b| b.contains(doc)) {
            return true;
        }
        // A record the store cannot give back is not a match: it cannot be shown either.
        let Ok(stored) = self.store.get::<TantivyDocument>(doc) else {
            return false;
        };
        let Some(raw) = stored.get_first(self.phrase.raw).and_then(|v| v.as_str()) else {
            return false;
        };
        record_holds_phrase(
            raw.as_bytes(),
            &self.phrase.words,
            &mut self.phrase.tokenizer,
        )
    }
}

impl DocSet for PhraseScorer {
    fn advance(&mut self) -> DocId {
        if self.inner.advance() == TERMINATED {
            return TERMINATED;
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.inner.doc() >= target {
            return self.inner.doc();
        }
        self.inner.seek(target);
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for PhraseScorer {
    fn score(&mut self) -> Score {
        1.0
    }
}

/// True when one string of the JSON record, tokenized like the full-text field, holds `words`
/// contiguously. A record that is not JSON (never the case for stored records) is searched as one string.
pub(crate) fn record_holds_phrase(
    raw: &[u8],
    words: &[String],
    tokenizer: &mut TextAnalyzer,
) -> bool {
    let text = String::from_utf8_lossy(raw);
    match Json::parse(&text) {
        Ok(v) => value_holds(&v, words, tokenizer),
        Err(_) => string_holds(&text, words, tokenizer),
    }
}

/// Every string of the record counts, a repeated key's every occurrence too (as the open paths hold
/// them).
fn value_holds(v: &Json, words: &[String], tk: &mut TextAnalyzer) -> bool {
    match v {
        Json::Str(s) => string_holds(s, words, tk),
        Json::Array(a) => a.iter().any(|x| value_holds(x, words, tk)),
        Json::Object(o) => o.iter().any(|(_, x)| value_holds(x, words, tk)),
        _ => false,
    }
}

fn string_holds(s: &str, words: &[String], tk: &mut TextAnalyzer) -> bool {
    // Cheap reject before tokenizing: the longest word must appear, case aside, somewhere in the string.
    let Some(probe) = longest(words) else {
        return false;
    };
    may_hold(s.as_bytes(), probe) && tokens_hold(s, words, tk)
}

/// False only when `hay` cannot hold the word `probe`: it is ASCII and lacks it, case aside. A string
/// with other characters is left to the tokenizer, whose lowercasing turns some of them into ASCII
/// letters (the Kelvin sign `K` into `k`).
fn may_hold(hay: &[u8], probe: &str) -> bool {
    contains_ignore_ascii_case(hay, probe) || !hay.is_ascii()
}

/// The phrase's longest word: the one least likely to appear by chance, probed for first.
fn longest(words: &[String]) -> Option<&str> {
    words.iter().max_by_key(|w| w.len()).map(String::as_str)
}

/// True when the words of `s`, as the analyzer splits them, hold `words` next to each other in order.
fn tokens_hold(s: &str, words: &[String], tk: &mut TextAnalyzer) -> bool {
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    if s.is_ascii() {
        return ascii_tokens_hold(s.as_bytes(), first.as_bytes(), rest);
    }
    let mut toks: Vec<String> = Vec::new();
    let mut ts = tk.token_stream(s);
    while ts.advance() {
        toks.push(ts.token().text.clone());
    }
    toks.windows(words.len()).any(|w| w == words)
}

/// [`tokens_hold`] for an ASCII string, split exactly as the analyzer splits it (runs of ASCII
/// alphanumerics; those of MAX_WORD_LEN bytes or more dropped; compared lowercased) but only where the
/// first word stands as a whole token: the string is not tokenized end to end (at 5M events, the values
/// holding a phrase's longest word were a sixth of a phrase's time when each was split whole).
fn ascii_tokens_hold(s: &[u8], first: &[u8], rest: &[String]) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric();
    let Some(&f) = first.first() else {
        return false;
    };
    let n = first.len();
    for i in memchr::memchr2_iter(f.to_ascii_lowercase(), f.to_ascii_uppercase(), s) {
        if i + n > s.len() {
            break;
        }
        let whole = (i == 0 || !word(s[i - 1]))
            && s.get(i + n).is_none_or(|&b| !word(b))
            && s[i..i + n].eq_ignore_ascii_case(first);
        if !whole {
            continue;
        }
        let mut pos = i + n;
        let next_token = |pos: &mut usize| -> Option<(usize, usize)> {
            loop {
                while *pos < s.len() && !word(s[*pos]) {
                    *pos += 1;
                }
                if *pos == s.len() {
                    return None;
                }
                let start = *pos;
                while *pos < s.len() && word(s[*pos]) {
                    *pos += 1;
                }
                // The analyzer drops words this long: the next one follows in the phrase.
                if *pos - start < MAX_WORD_LEN {
                    return Some((start, *pos));
                }
            }
        };
        if rest.iter().all(|w| {
            next_token(&mut pos).is_some_and(|(a, b)| s[a..b].eq_ignore_ascii_case(w.as_bytes()))
        }) {
            return true;
        }
    }
    false
}

fn contains_ignore_ascii_case(h: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    if n.len() > h.len() {
        return false;
    }
    if !n.is_ascii() {
        // Lowercasing beyond ASCII can change lengths: leave it to the tokenizer.
        return true;
    }
    let Some(&first) = n.first() else {
        return true;
    };
    // Candidates for a start are the first byte in either case (memchr2 runs a word at a time).
    let last_start = h.len() - n.len();
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), h)
        .take_while(|&i| i <= last_start)
        .any(|i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer};

    fn tk() -> TextAnalyzer {
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .build()
    }

    fn w(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    /// The analyzer's own answer, for the ASCII fast path to be held to.
    fn analyzed_holds(s: &str, words: &[String]) -> bool {
        let mut an = crate::index::schema::text_analyzer();
        let mut ts = an.token_stream(s);
        let mut toks = Vec::new();
        while ts.advance() {
            toks.push(ts.token().text.clone());
        }
        toks.windows(words.len()).any(|w| w == words)
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_path_splits_as_the_analyzer(
            s in "([a-zA-Z0-9]{1,70}[ ._/:-]{1,2}){0,8}",
            pick in proptest::collection::vec(0usize..10, 1..4),
        ) {
            let mut an = crate::index::schema::text_analyzer();
            let mut toks = Vec::new();
            {
                let mut ts = an.token_stream(&s);
                while ts.advance() {
                    toks.push(ts.token().text.clone());
                }
            }
            // Words from the string itself (a run of them, or any of them), or made up.
            let words: Vec<String> = if toks.is_empty() {
                vec!["x".into(), "y".into()]
            } else if pick[0] % 2 == 0 {
                let at = pick[0] % toks.len();
                toks[at..(at + pick.len()).min(toks.len())].to_vec()
            } else {
                pick.iter().map(|i| toks[i % toks.len()].clone()).collect()
            };
            proptest::prop_assert_eq!(
                string_holds(&s, &words, &mut an),
                analyzed_holds(&s, &words),
                "{:?} in {:?}", words, s
            );
        }
    }

    /// Records holding `phrase` (or its words apart) where the index keeps values verbatim, where it
    /// keeps them derived, in numbers, under a repeated key, past the exact-value limit and nowhere.
    fn phrase_record(i: usize, b: [u8; 4], phrase: &str) -> serde_json::Value {
        let long = format!("{} {phrase}", "pad ".repeat(200));
        let spots = [
            json!({"requestParameters": {"jobName": format!("{phrase}-{i}")}}),
            json!({"eventName": phrase}),
            json!({"userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::1:assumed-role/{phrase}/x")}}),
            json!({"requestParameters": {"domainId": phrase.to_uppercase()}}),
            json!({"requestParameters": {"n": 1.5, "words": phrase.split('-').collect::<Vec<_>>()}}),
            json!({"requestParameters": {"note": long}}),
            json!({"requestParameters": {"a": phrase.replace('-', " x ")}}),
            json!({}),
        ];
        let mut rec = json!({
            "eventVersion": "1.09",
            "eventID": format!("p-{i:04}"),
            "eventTime": "2024-05-01T10:00:00Z",
            "eventName": "Other",
            "requestParameters": {"other": format!("{} words", phrase.replace('-', " "))},
        });
        for k in b.iter().take(2) {
            let spot = &spots[*k as usize % spots.len()];
            for (key, v) in spot.as_object().unwrap() {
                match (rec.get_mut(key), v) {
                    (Some(serde_json::Value::Object(m)), serde_json::Value::Object(add)) => {
                        m.extend(add.clone())
                    }
                    _ => {
                        rec[key] = v.clone();
                    }
                }
            }
        }
        if b[2].is_multiple_of(3) {
            rec["requestParameters"]["other"] = json!("nothing here");
        }
        rec
    }

    /// A phrase's count with the verbatim values looked through, and with every candidate read.
    fn counts(r: &crate::index::Reader, phrase: &str) -> (usize, usize) {
        let fields = r.fields();
        let an = crate::index::schema::text_analyzer;
        let mut words = Vec::new();
        {
            let mut a = an();
            let mut ts = a.token_stream(phrase);
            while ts.advance() {
                words.push(ts.token().text.clone());
            }
        }
        let searcher = r.searcher();
        let verbatim = Verbatim::of(fields);
        let with = VerifiedPhrase::new(fields.text, fields.raw, words.clone(), an(), verbatim);
        let without = VerifiedPhrase::new(fields.text, fields.raw, words, an(), Vec::new());
        let c = |q: &VerifiedPhrase| searcher.search(q, &tantivy::collector::Count).unwrap();
        (c(&with), c(&without))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]
        /// Looking through the verbatim values never changes what a phrase finds.
        #[test]
        fn confirmed_phrases_are_the_verified_ones(
            bytes in proptest::collection::vec(proptest::prelude::any::<[u8; 4]>(), 1..40),
            phrase in proptest::sample::select(vec!["fraud-detector-v3", "Sage-Maker", "1-5", "x-words"]),
        ) {
            let records: Vec<_> =
                bytes.iter().enumerate().map(|(i, b)| phrase_record(i, *b, phrase)).collect();
            let (_dir, r) = crate::index::testing::index_of(&records);
            let (with, without) = counts(&r, phrase);
            proptest::prop_assert_eq!(with, without);
        }
    }

    #[test]
    fn confirmation_is_taken_and_finds_the_same() {
        // Enough candidates that the values are looked through (a tiny index: few terms).
        let records: Vec<_> = (0..30)
            .map(|i| phrase_record(i, [0, 7, 1, 0], "fraud-detector-v3"))
            .collect();
        let (_dir, r) = crate::index::testing::index_of(&records);
        let searcher = r.searcher();
        let seg = &searcher.segment_readers()[0];
        let fields = r.fields();
        let words: Vec<String> = ["fraud", "detector", "v3"].map(String::from).to_vec();
        let q = VerifiedPhrase::new(
            fields.text,
            fields.raw,
            words,
            crate::index::schema::text_analyzer(),
            vec![Verbatim::Path(fields.path)],
        );
        let bits = q.confirmed(seg).unwrap().expect("looked through");
        assert_eq!(bits.len(), 30, "every record's job name holds it");
        assert_eq!(counts(&r, "fraud-detector-v3"), (30, 30));
    }

    #[test]
    fn a_phrase_is_found_after_a_false_start_and_through_lowercasing_beyond_ascii() {
        let mut t = tk();
        // The first word twice: the match starts at the second.
        assert!(string_holds("run run job", &w(&["run", "job"]), &mut t));
        assert!(!string_holds("run x job", &w(&["run", "job"]), &mut t));
        // The Kelvin sign lowercases to an ASCII `k`, as the full-text words were made.
        let rec = "{\"a\":\"\u{212A}ILL it\"}";
        assert!(record_holds_phrase(
            rec.as_bytes(),
            &w(&["kill", "it"]),
            &mut t
        ));
        assert!(!may_hold(b"ill switch", "kill"));
        assert!(may_hold("\u{212A}ILL".as_bytes(), "kill"));
    }

    #[test]
    fn phrase_must_be_contiguous_within_one_string() {
        let rec = br#"{"a":"Fraud-Detector-V3 run","b":["x","fraud detector"],"c":{"d":"v3"}}"#;
        let mut t = tk();
        assert!(record_holds_phrase(
            rec,
            &w(&["fraud", "detector", "v3"]),
            &mut t
        ));
        assert!(record_holds_phrase(rec, &w(&["fraud", "detector"]), &mut t));
        assert!(!record_holds_phrase(
            rec,
            &w(&["detector", "fraud"]),
            &mut t
        ));
        // "detector" ends one string and "v3" is another: not a phrase.
        assert!(!record_holds_phrase(
            rec,
            &w(&["detector", "v3", "run", "x"]),
            &mut t
        ));
        assert!(!record_holds_phrase(rec, &w(&["v3", "x"]), &mut t));
        assert!(!record_holds_phrase(
            b"not json at all",
            &w(&["json", "not"]),
            &mut t
        ));
        assert!(record_holds_phrase(
            b"not json at all",
            &w(&["json", "at"]),
            &mut t
        ));
    }
}
