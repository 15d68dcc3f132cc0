//! Phrases over the full-text field, which keeps no positions: the candidates are the documents holding
//! every word (an AND of term queries), and each candidate is kept only when one string of its stored
//! record holds the words next to each other, in order.
//!
//! Owns that verification as a tantivy [`Query`], so phrases compose with everything else (AND, NOT,
//! counts, stats) and cost a doc-store read per candidate instead of positions for every word of every
//! record at ingest.

use std::sync::Arc;

use tantivy::query::{
    BooleanQuery, EnableScoring, Explanation, Occur, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::store::StoreReader;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyDocument, Term, TERMINATED};

/// Doc-store blocks cached per segment while verifying: candidates come in doc order, so consecutive ones
/// mostly share a block; a few blocks absorb the interleaving of AND-ed postings.
const STORE_CACHE_BLOCKS: usize = 8;

/// The words of a phrase (already tokenized) in `text`, verified against the record stored in `raw`.
#[derive(Clone)]
pub(crate) struct VerifiedPhrase {
    text: Field,
    raw: Field,
    words: Arc<Vec<String>>,
    tokenizer: TextAnalyzer,
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
    ) -> Self {
        VerifiedPhrase {
            text,
            raw,
            words: Arc::new(words),
            tokenizer,
        }
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
        let mut s = PhraseScorer {
            inner: self.inner.scorer(reader, boost)?,
            store: reader.get_store_reader(STORE_CACHE_BLOCKS)?,
            phrase: self.phrase.clone(),
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
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(v) => value_holds(&v, words, tokenizer),
        Err(_) => string_holds(&String::from_utf8_lossy(raw), words, tokenizer),
    }
}

fn value_holds(v: &serde_json::Value, words: &[String], tk: &mut TextAnalyzer) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => string_holds(s, words, tk),
        Value::Array(a) => a.iter().any(|x| value_holds(x, words, tk)),
        Value::Object(o) => o.values().any(|x| value_holds(x, words, tk)),
        _ => false,
    }
}

fn string_holds(s: &str, words: &[String], tk: &mut TextAnalyzer) -> bool {
    // Cheap reject before tokenizing: the first word must appear, case aside, somewhere in the string.
    if words.is_empty() || !contains_ignore_ascii_case(s, &words[0]) {
        return false;
    }
    let mut toks: Vec<String> = Vec::new();
    let mut ts = tk.token_stream(s);
    while ts.advance() {
        toks.push(ts.token().text.clone());
    }
    toks.windows(words.len()).any(|w| w == words)
}

fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.len() > h.len() {
        return false;
    }
    if !n.is_ascii() {
        // Lowercasing beyond ASCII can change lengths: leave it to the tokenizer.
        return true;
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer};

    fn tk() -> TextAnalyzer {
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .build()
    }

    fn w(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
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
