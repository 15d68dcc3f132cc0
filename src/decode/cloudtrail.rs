//! The container forms CloudTrail records arrive in, cut into records without re-serialising them.
//!
//! Accepted: `{"Records":[…]}` (what trails write), a bare JSON array of records, NDJSON (one record per
//! line, or concatenated records), `aws cloudtrail lookup-events` output (`Events[].CloudTrailEvent` is a
//! JSON string) and the CloudWatch Logs subscription envelope (`logEvents[].message` is a JSON string).
//! Digest bodies are recognised and skipped. A parse error keeps every whole record before it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// How the records were packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `{"Records":[…]}`.
    Records,
    /// A bare JSON array of records.
    Array,
    /// One record per line, or records one after another.
    Ndjson,
    /// `aws cloudtrail lookup-events` output.
    LookupEvents,
    /// A CloudWatch Logs subscription envelope carrying CloudTrail events.
    LogEvents,
    /// A CloudTrail digest body: never indexed.
    Digest,
    /// Nothing but whitespace.
    Empty,
}

/// The records of one object, borrowed from its bytes where possible.
#[derive(Debug, Default)]
pub struct Decoded<'a> {
    pub form: Option<Form>,
    pub records: Vec<Cow<'a, str>>,
    /// Why the object could not be read whole; records before the damage are still in `records`.
    pub errors: Vec<String>,
}

/// Keys that only a record has at its top level (used to tell NDJSON from a container).
const RECORD_KEYS: [&str; 4] = ["eventVersion", "eventID", "eventTime", "eventName"];
/// Keys that only a digest body has.
const DIGEST_KEYS: [&str; 3] = ["digestStartTime", "digestSignatureAlgorithm", "logFiles"];

/// Cut `text` (already inflated) into records.
pub fn decode(text: &[u8]) -> Decoded<'_> {
    let mut d = Decoded::default();
    let start = text
        .iter()
        .position(|b| !b" \t\r\n".contains(b))
        .unwrap_or(text.len());
    let text = strip_bom(&text[start..]);
    if text.is_empty() {
        d.form = Some(Form::Empty);
        return d;
    }
    let mut top = TopState::default();
    let mut de = serde_json::Deserializer::from_slice(text);
    let res = serde::Deserializer::deserialize_any(
        &mut de,
        TopVisitor {
            out: &mut d.records,
            st: &mut top,
        },
    );
    if top.record_like {
        d.records.clear();
        d.form = Some(Form::Ndjson);
        stream_records(text, &mut d);
        return d;
    }
    d.form = top.form;
    if top.digest && d.form.is_none() {
        d.form = Some(Form::Digest);
        return d;
    }
    match res {
        Err(e) => d.errors.push(format!("invalid JSON: {e}")),
        Ok(()) => {
            if let Err(e) = de.end() {
                d.errors
                    .push(format!("invalid JSON after the records: {e}"));
            } else if d.form.is_none() {
                d.errors.push(
                    "not a CloudTrail file: no Records, Events or logEvents array and not a record"
                        .to_string(),
                );
            }
        }
    }
    d.errors.extend(top.bad_entries);
    d
}

fn strip_bom(t: &[u8]) -> &[u8] {
    t.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(t)
}

/// NDJSON or concatenated records: parse one value after another; after a bad one, resume at the next line.
fn stream_records<'a>(text: &'a [u8], d: &mut Decoded<'a>) {
    let mut pos = 0;
    while pos < text.len() {
        let mut it = serde_json::Deserializer::from_slice(&text[pos..]).into_iter::<&'a RawValue>();
        loop {
            match it.next() {
                None => return,
                Some(Ok(r)) => d.records.push(Cow::Borrowed(r.get())),
                Some(Err(e)) => {
                    let at = pos + it.byte_offset();
                    let line = 1 + text[..at.min(text.len())]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    d.errors.push(format!("invalid JSON on line {line}: {e}"));
                    // Resume after the line the error was on.
                    match text[at.min(text.len())..].iter().position(|&b| b == b'\n') {
                        Some(nl) => pos = at + nl + 1,
                        None => return,
                    }
                    break;
                }
            }
        }
    }
}

#[derive(Default)]
struct TopState {
    form: Option<Form>,
    record_like: bool,
    digest: bool,
    bad_entries: Vec<String>,
}

struct TopVisitor<'a, 'de> {
    out: &'a mut Vec<Cow<'de, str>>,
    st: &'a mut TopState,
}

impl<'de> Visitor<'de> for TopVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.st.form = Some(Form::Array);
        RecordSeq {
            out: self.out,
            mode: SeqMode::Raw,
            bad: &mut self.st.bad_entries,
        }
        .visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let mode = match key.as_str() {
                "Records" => Some((SeqMode::Raw, Form::Records)),
                "Events" => Some((SeqMode::LookupEvents, Form::LookupEvents)),
                "logEvents" => Some((SeqMode::LogEvents, Form::LogEvents)),
                k => {
                    if RECORD_KEYS.contains(&k) {
                        // A record at the top level: the caller re-reads the input as a stream.
                        self.st.record_like = true;
                        return Ok(());
                    }
                    if DIGEST_KEYS.contains(&k) {
                        self.st.digest = true;
                    }
                    None
                }
            };
            match mode {
                Some((mode, form)) => {
                    self.st.form = Some(form);
                    map.next_value_seed(RecordSeq {
                        out: self.out,
                        mode,
                        bad: &mut self.st.bad_entries,
                    })?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum SeqMode {
    /// Each element is a record.
    Raw,
    /// Each element has `CloudTrailEvent`, a record as a JSON string.
    LookupEvents,
    /// Each element has `message`, a record as a JSON string.
    LogEvents,
}

struct RecordSeq<'a, 'de> {
    out: &'a mut Vec<Cow<'de, str>>,
    mode: SeqMode,
    bad: &'a mut Vec<String>,
}

#[derive(Deserialize)]
struct LookupEvent<'a> {
    #[serde(rename = "CloudTrailEvent", borrow, default)]
    cloud_trail_event: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

impl<'de> DeserializeSeed<'de> for RecordSeq<'_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeq<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(()) // "Records": null carries nothing
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        match self.mode {
            SeqMode::Raw => {
                while let Some(r) = seq.next_element::<&'de RawValue>()? {
                    self.out.push(Cow::Borrowed(r.get()));
                }
            }
            SeqMode::LookupEvents => {
                while let Some(e) = seq.next_element::<LookupEvent<'de>>()? {
                    match e.cloud_trail_event {
                        Some(s) => self.out.push(s),
                        None => self
                            .bad
                            .push(format!("Events[{i}] has no CloudTrailEvent string")),
                    }
                    i += 1;
                }
            }
            SeqMode::LogEvents => {
                while let Some(e) = seq.next_element::<LogEvent<'de>>()? {
                    match e.message {
                        Some(s) => self.out.push(s),
                        None => self.bad.push(format!("logEvents[{i}] has no message")),
                    }
                    i += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(text: &str) -> (Option<Form>, Vec<String>, usize) {
        let d = decode(text.as_bytes());
        (
            d.form,
            d.records.iter().map(|r| r.to_string()).collect(),
            d.errors.len(),
        )
    }

    #[test]
    fn records_container_keeps_bytes() {
        let t = r#"{"Records":[{"eventID":"a","x":1.50},{"eventID":"b"}]}"#;
        let (f, r, e) = recs(t);
        assert_eq!(f, Some(Form::Records));
        assert_eq!(r, vec![r#"{"eventID":"a","x":1.50}"#, r#"{"eventID":"b"}"#]);
        assert_eq!(e, 0);
    }

    #[test]
    fn truncated_container_keeps_whole_records_before_damage() {
        let t = r#"{"Records":[{"eventID":"a"},{"eventID":"b"},{"eventID":"c""#;
        let d = decode(t.as_bytes());
        assert_eq!(d.records.len(), 2);
        assert_eq!(d.errors.len(), 1);
        assert!(d.errors[0].contains("invalid JSON"), "{:?}", d.errors);
    }

    #[test]
    fn bare_array_ndjson_lookup_and_log_events() {
        assert_eq!(recs(r#"[{"eventID":"a"},{"eventID":"b"}]"#).1.len(), 2);
        let (f, r, e) = recs("{\"eventID\":\"a\"}\n{\"eventID\":\"b\"}\n");
        assert_eq!((f, r.len(), e), (Some(Form::Ndjson), 2, 0));
        let (f, r, _) = recs(
            r#"{"Events":[{"EventId":"x","CloudTrailEvent":"{\"eventID\":\"x\"}"}],"NextToken":null}"#,
        );
        assert_eq!(f, Some(Form::LookupEvents));
        assert_eq!(r, vec![r#"{"eventID":"x"}"#]);
        let (f, r, _) = recs(
            r#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"{\"eventID\":\"y\"}"}]}"#,
        );
        assert_eq!(
            (f, r),
            (
                Some(Form::LogEvents),
                vec![r#"{"eventID":"y"}"#.to_string()]
            )
        );
    }

    #[test]
    fn ndjson_resumes_after_a_bad_line() {
        let (f, r, e) = recs("{\"eventID\":\"a\"}\n{\"eventID\": nope}\n{\"eventID\":\"c\"}\n");
        assert_eq!(f, Some(Form::Ndjson));
        assert_eq!(r.len(), 2);
        assert_eq!(e, 1);
    }

    #[test]
    fn digest_and_empty_and_garbage() {
        let (f, r, e) = recs(r#"{"awsAccountId":"1","digestStartTime":"x","logFiles":[]}"#);
        assert_eq!((f, r.len(), e), (Some(Form::Digest), 0, 0));
        assert_eq!(recs("  \n").0, Some(Form::Empty));
        let (_, r, e) = recs("this is not json");
        assert_eq!((r.len(), e), (0, 1));
        let (_, _, e) = recs(r#"{"foo":1}"#);
        assert_eq!(e, 1);
        let (_, _, e) = recs(r#"{"Records":[]} trailing"#);
        assert_eq!(e, 1);
    }
}
