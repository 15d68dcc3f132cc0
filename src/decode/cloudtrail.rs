//! The container forms CloudTrail records arrive in, cut into records without re-serialising them.
//!
//! An object is read as a sequence of JSON values (one document, NDJSON, concatenated documents, the
//! members of a multi-member gzip), and **each value is judged on its own**, never the file from its
//! first line. A value is one of:
//! - `{"Records":[…]}` (what trails write; `"Records": null` is an empty container);
//! - a record (an object with `eventVersion`, `eventID`, `eventTime`, `eventName` or `eventSource`);
//! - `aws cloudtrail lookup-events` output (`Events[].CloudTrailEvent` is a record as a JSON string), or
//!   one such element `{"EventId":…,"CloudTrailEvent":"…"}`;
//! - a CloudWatch Logs subscription envelope (`logEvents[].message` is a record as a JSON string);
//!   `CONTROL_MESSAGE` envelopes are counted, not read;
//! - an EventBridge event whose `detail-type` ends in `via CloudTrail` (`detail` is the record);
//! - an array of any of the above;
//! - a digest body (skipped), or any other JSON value (counted as not CloudTrail).
//!
//! A value that does not parse is counted with its line; reading resumes at the next line. A container
//! damaged part-way (a truncated object) keeps every whole record before the damage. Failures are
//! tallied (a count and the first reason), so a file of 200,000 bad lines costs linear time.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Keys that only a record has at its top level: one of them makes an object a record.
const RECORD_KEYS: [&str; 5] = [
    "eventVersion",
    "eventID",
    "eventTime",
    "eventName",
    "eventSource",
];
/// Keys that only a digest body has.
const DIGEST_KEYS: [&str; 3] = ["digestStartTime", "digestSignatureAlgorithm", "logFiles"];
/// The `detail-type` suffix of EventBridge events that carry a CloudTrail record (`AWS API Call via
/// CloudTrail`, `AWS Console Sign In via CloudTrail`, `AWS Service Event via CloudTrail`, …).
const EVENTBRIDGE_CLOUDTRAIL_SUFFIX: &str = "via CloudTrail";
/// `messageType` of the CloudWatch Logs envelope that checks a subscription's destination.
const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";
/// Keys named when describing a value that is not CloudTrail: enough to recognise it.
const KEYS_DESCRIBED: usize = 4;

/// A count of failures and the first reason, so any number of them costs one line of output.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub first: Option<String>,
}

impl Tally {
    pub(crate) fn add(&mut self, reason: impl FnOnce() -> String) {
        if self.first.is_none() {
            self.first = Some(reason());
        }
        self.count += 1;
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        if self.first.is_none() {
            self.first = other.first;
        }
        self.count += other.count;
    }
}

/// The records of one object, borrowed from its bytes where possible.
#[derive(Debug, Default)]
pub struct Decoded<'a> {
    pub records: Vec<Cow<'a, str>>,
    /// The object is a digest body (and nothing else): never indexed.
    pub digest: bool,
    /// CloudWatch Logs `CONTROL_MESSAGE` envelopes: skipped, not failed.
    pub control_messages: u64,
    /// JSON values that are not CloudTrail (another log type in the same stream, an EventBridge event of
    /// another kind). Skipped; when an object has nothing else, it is not a CloudTrail file.
    pub other_values: Tally,
    /// Values or entries that could not be read (invalid JSON lines, lookup elements without a record).
    pub bad_values: Tally,
    /// Why the object could not be read to its end (a container damaged part-way); records before the
    /// damage are still in `records`.
    pub damage: Option<String>,
}

impl Decoded<'_> {
    /// Nothing in the object was CloudTrail, yet it held JSON values: the user pointed at another file.
    pub fn not_cloudtrail(&self) -> Option<String> {
        (self.records.is_empty()
            && !self.digest
            && self.control_messages == 0
            && self.bad_values.count == 0
            && self.other_values.count > 0)
            .then(|| {
                format!(
                    "not a CloudTrail file: {} JSON value(s), none a CloudTrail record, container or envelope ({})",
                    self.other_values.count,
                    self.other_values.first.as_deref().unwrap_or("")
                )
            })
    }
}

/// Cut `text` (already inflated) into records.
pub fn decode(text: &[u8]) -> Decoded<'_> {
    let text = strip_bom(text);
    let mut d = Decoded::default();
    let mut lines = LineCounter::default();
    let mut digest_values = 0u64;
    let mut values = 0u64;
    let mut pos = 0usize;
    'restart: while pos < text.len() {
        let mut it = serde_json::Deserializer::from_slice(&text[pos..]).into_iter::<Doc>();
        loop {
            let start = skip_ws(text, pos + it.byte_offset());
            match it.next() {
                None => break 'restart,
                Some(Ok(doc)) => {
                    values += 1;
                    let end = pos + it.byte_offset();
                    digest_values += u64::from(doc.sink.digest);
                    let kind = doc.kind;
                    d.absorb(doc.sink);
                    match kind {
                        ValueKind::Record => match std::str::from_utf8(&text[start..end]) {
                            Ok(raw) => d.records.push(Cow::Borrowed(raw)),
                            Err(_) => d.bad_values.add(|| {
                                format!(
                                    "line {}: a record that is not UTF-8",
                                    lines.line_of(text, start)
                                )
                            }),
                        },
                        ValueKind::Handled => {}
                        ValueKind::Other(desc) => {
                            let line = lines.line_of(text, start);
                            d.other_values.add(|| format!("line {line}: {desc}"));
                        }
                    }
                }
                Some(Err(e)) => {
                    let line = lines.line_of(text, start);
                    // Whole records before the damage are kept (the parse above lost them with the value).
                    let mut sink = Sink::default();
                    let salvaged = salvage(&text[start..], &mut sink);
                    d.absorb(sink);
                    let reason = format!("line {}: invalid JSON: {}", line, error_text(&e));
                    if salvaged > 0 {
                        // A container damaged part-way: what follows is not trustworthy as lines.
                        d.damage = Some(reason);
                        break 'restart;
                    }
                    d.bad_values.add(|| reason);
                    // Resume at the next line.
                    match memchr::memchr(b'\n', &text[start..]) {
                        Some(nl) => {
                            pos = start + nl + 1;
                            continue 'restart;
                        }
                        None => break 'restart,
                    }
                }
            }
        }
    }
    d.digest = digest_values > 0 && digest_values == values && d.records.is_empty();
    d
}

impl<'a> Decoded<'a> {
    fn absorb(&mut self, s: Sink<'a>) {
        if self.records.is_empty() {
            self.records = s.records;
        } else {
            self.records.extend(s.records);
        }
        self.control_messages += s.control_messages;
        self.other_values.merge(s.other);
        self.bad_values.merge(s.bad);
    }
}

/// serde_json's message without its position (which is relative to where reading resumed).
fn error_text(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn strip_bom(t: &[u8]) -> &[u8] {
    t.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(t)
}

fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// Line numbers of increasing offsets, counted once: linear in the text however many are asked.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    fn line_of(&mut self, text: &[u8], at: usize) -> usize {
        let at = at.min(text.len());
        if at >= self.offset {
            self.line += memchr::memchr_iter(b'\n', &text[self.offset..at]).count();
        } else {
            self.line = memchr::memchr_iter(b'\n', &text[..at]).count();
        }
        self.offset = at;
        self.line + 1
    }
}

/// Re-read a value that failed, keeping what it held before the damage; the number of records kept.
fn salvage<'a>(text: &'a [u8], sink: &mut Sink<'a>) -> usize {
    let before = sink.records.len();
    let mut de = serde_json::Deserializer::from_slice(text);
    let _ = de.deserialize_any(ValueVisitor {
        sink,
        early_stop: false,
    });
    sink.records.len() - before
}

/// What one value held, besides its records.
#[derive(Default)]
struct Sink<'de> {
    records: Vec<Cow<'de, str>>,
    control_messages: u64,
    digest: bool,
    other: Tally,
    bad: Tally,
    /// Set by an early stop: the object being peeked at is a record.
    stopped_as_record: bool,
}

/// What a value turned out to be.
enum ValueKind {
    /// A record: its bytes are the value's own.
    Record,
    /// A container or envelope: its records are in the sink.
    Handled,
    /// Not CloudTrail: a short description.
    Other(String),
}

/// One top-level value with what it held.
struct Doc<'de> {
    kind: ValueKind,
    sink: Sink<'de>,
}

impl<'de> Deserialize<'de> for Doc<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut sink = Sink::default();
        let kind = d.deserialize_any(ValueVisitor {
            sink: &mut sink,
            early_stop: false,
        })?;
        Ok(Doc { kind, sink })
    }
}

/// Judges one value. With `early_stop`, an object is abandoned as soon as it is known to be a record
/// (the caller has its bytes already), which makes judging the elements of a bare array cheap.
struct ValueVisitor<'s, 'de> {
    sink: &'s mut Sink<'de>,
    early_stop: bool,
}

/// The error an early stop returns; the sink says it was one.
const EARLY_STOP: &str = "sagetrail: record recognised";

impl<'de> Visitor<'de> for ValueVisitor<'_, 'de> {
    type Value = ValueKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<ValueKind, E> {
        Ok(ValueKind::Other("a boolean".into()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<ValueKind, E> {
        Ok(ValueKind::Other("a number".into()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<ValueKind, E> {
        Ok(ValueKind::Other("a number".into()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<ValueKind, E> {
        Ok(ValueKind::Other("a number".into()))
    }
    fn visit_str<E>(self, _: &str) -> Result<ValueKind, E> {
        Ok(ValueKind::Other("a string".into()))
    }
    fn visit_unit<E>(self) -> Result<ValueKind, E> {
        Ok(ValueKind::Other("null".into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ValueKind, A::Error> {
        // A bare array: each element is judged (records, EventBridge events, lookup elements).
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            judge_element(raw.get(), self.sink);
        }
        Ok(ValueKind::Handled)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ValueKind, A::Error> {
        let sink = self.sink;
        let mut record_like = false;
        let mut container = false;
        let mut digest = false;
        let mut message_type: Option<Cow<'de, str>> = None;
        let mut log_messages: Vec<Cow<'de, str>> = Vec::new();
        let mut detail_type: Option<Cow<'de, str>> = None;
        let mut detail: Option<&'de RawValue> = None;
        let mut lookup_record: Option<Cow<'de, str>> = None;
        let mut keys: Vec<String> = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if keys.len() < KEYS_DESCRIBED {
                keys.push(key.chars().take(40).collect());
            }
            match key.as_ref() {
                "Records" => {
                    container = true;
                    map.next_value_seed(RecordSeq {
                        sink: &mut *sink,
                        mode: SeqMode::Raw,
                    })?;
                }
                "Events" => {
                    container = true;
                    map.next_value_seed(RecordSeq {
                        sink: &mut *sink,
                        mode: SeqMode::LookupEvents,
                    })?;
                }
                "logEvents" => {
                    container = true;
                    let mut tmp = Sink::default();
                    map.next_value_seed(RecordSeq {
                        sink: &mut tmp,
                        mode: SeqMode::LogEvents,
                    })?;
                    log_messages = tmp.records;
                    sink.bad.merge(tmp.bad);
                }
                "messageType" => message_type = map.next_value::<MaybeStr<'de>>()?.0,
                "detail-type" => detail_type = map.next_value::<MaybeStr<'de>>()?.0,
                "detail" => detail = Some(map.next_value::<&'de RawValue>()?),
                "CloudTrailEvent" => lookup_record = map.next_value::<MaybeStr<'de>>()?.0,
                k => {
                    if RECORD_KEYS.contains(&k) {
                        record_like = true;
                        if self.early_stop {
                            sink.stopped_as_record = true;
                            return Err(A::Error::custom(EARLY_STOP));
                        }
                    } else if DIGEST_KEYS.contains(&k) {
                        digest = true;
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if record_like {
            return Ok(ValueKind::Record);
        }
        if container {
            if message_type.as_deref() == Some(CONTROL_MESSAGE) {
                sink.control_messages += 1;
            } else {
                sink.records.extend(log_messages);
            }
            return Ok(ValueKind::Handled);
        }
        if let Some(dt) = &detail_type {
            return match detail {
                Some(r) if dt.ends_with(EVENTBRIDGE_CLOUDTRAIL_SUFFIX) => {
                    sink.records.push(Cow::Borrowed(r.get()));
                    Ok(ValueKind::Handled)
                }
                _ => Ok(ValueKind::Other(format!(
                    "an EventBridge event of detail-type {:?}",
                    dt.chars().take(80).collect::<String>()
                ))),
            };
        }
        if let Some(r) = lookup_record {
            sink.records.push(r);
            return Ok(ValueKind::Handled);
        }
        if digest {
            sink.digest = true;
            return Ok(ValueKind::Handled);
        }
        Ok(ValueKind::Other(if keys.is_empty() {
            "an empty object".to_string()
        } else {
            format!("an object with keys {}", keys.join(", "))
        }))
    }
}

/// Judge one element of a bare array, whose bytes are `raw`.
fn judge_element<'de>(raw: &'de str, sink: &mut Sink<'de>) {
    let mut de = serde_json::Deserializer::from_str(raw);
    let res = de.deserialize_any(ValueVisitor {
        sink: &mut *sink,
        early_stop: true,
    });
    match res {
        Ok(ValueKind::Record) => sink.records.push(Cow::Borrowed(raw)),
        Ok(ValueKind::Handled) => {}
        Ok(ValueKind::Other(desc)) => sink.other.add(|| format!("an array element: {desc}")),
        Err(_) if sink.stopped_as_record => {
            sink.stopped_as_record = false;
            sink.records.push(Cow::Borrowed(raw));
        }
        // The element parsed as JSON once already; what fails here is a shape (a non-string field).
        Err(e) => sink
            .bad
            .add(|| format!("an array element: {}", error_text(&e))),
    }
}

/// An object key, borrowed from the text unless it carried escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string value, or `None` for any other JSON value (which is consumed).
struct MaybeStr<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_string<E>(self, s: String) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(Some(Cow::Owned(s))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_unit<E>(self) -> Result<MaybeStr<'de>, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<MaybeStr<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<MaybeStr<'de>, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
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

struct RecordSeq<'s, 'de> {
    sink: &'s mut Sink<'de>,
    mode: SeqMode,
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

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
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
                    self.sink.records.push(Cow::Borrowed(r.get()));
                }
            }
            SeqMode::LookupEvents => {
                while let Some(e) = seq.next_element::<LookupEvent<'de>>()? {
                    match e.cloud_trail_event {
                        Some(s) => self.sink.records.push(s),
                        None => self
                            .sink
                            .bad
                            .add(|| format!("Events[{i}] has no CloudTrailEvent string")),
                    }
                    i += 1;
                }
            }
            SeqMode::LogEvents => {
                while let Some(e) = seq.next_element::<LogEvent<'de>>()? {
                    match e.message {
                        Some(s) => self.sink.records.push(s),
                        None => self
                            .sink
                            .bad
                            .add(|| format!("logEvents[{i}] has no message")),
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

    fn recs(text: &str) -> (Vec<String>, Decoded<'_>) {
        let d = decode(text.as_bytes());
        (d.records.iter().map(|r| r.to_string()).collect(), d)
    }

    #[test]
    fn records_container_keeps_bytes() {
        let t = r#"{"Records":[{"eventID":"a","x":1.50},{"eventID":"b"}]}"#;
        let (r, d) = recs(t);
        assert_eq!(r, vec![r#"{"eventID":"a","x":1.50}"#, r#"{"eventID":"b"}"#]);
        assert_eq!((d.bad_values.count, d.damage), (0, None));
    }

    #[test]
    fn truncated_container_keeps_whole_records_before_damage() {
        let t = r#"{"Records":[{"eventID":"a"},{"eventID":"b"},{"eventID":"c""#;
        let (r, d) = recs(t);
        assert_eq!(r.len(), 2);
        assert!(d.damage.unwrap().contains("invalid JSON"));
    }

    #[test]
    fn bare_array_ndjson_lookup_and_log_events() {
        assert_eq!(recs(r#"[{"eventID":"a"},{"eventID":"b"}]"#).0.len(), 2);
        let (r, d) = recs("{\"eventID\":\"a\"}\n{\"eventID\":\"b\"}\n");
        assert_eq!((r.len(), d.bad_values.count), (2, 0));
        let (r, _) = recs(
            r#"{"Events":[{"EventId":"x","CloudTrailEvent":"{\"eventID\":\"x\"}"}],"NextToken":null}"#,
        );
        assert_eq!(r, vec![r#"{"eventID":"x"}"#]);
        let (r, _) = recs(
            r#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"{\"eventID\":\"y\"}"}]}"#,
        );
        assert_eq!(r, vec![r#"{"eventID":"y"}"#.to_string()]);
    }

    #[test]
    fn every_line_is_judged_on_its_own() {
        // Another log type first, then a record, a lookup element (CRLF), an EventBridge event, another
        // EventBridge event that is not CloudTrail, a control message and a records container.
        let t = concat!(
            "{\"log_type\":\"vpcflow\",\"srcaddr\":\"10.0.0.1\"}\n",
            "{\"eventID\":\"a\",\"eventTime\":\"t\"}\r\n",
            "{\"EventId\":\"b\",\"EventName\":\"X\",\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"b\\\"}\"}\r\n",
            "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"eventID\":\"c\"}}\n",
            "{\"version\":\"0\",\"detail-type\":\"EC2 Instance State-change Notification\",\"detail\":{\"state\":\"x\"}}\n",
            "{\"messageType\":\"CONTROL_MESSAGE\",\"logEvents\":[{\"id\":\"\",\"message\":\"CWL CONTROL MESSAGE: Checking health of destination\"}]}\n",
            "{\"Records\":[{\"eventID\":\"d\"}]}{\"Records\":null}\n",
        );
        let (r, d) = recs(t);
        assert_eq!(
            r,
            vec![
                r#"{"eventID":"a","eventTime":"t"}"#,
                r#"{"eventID":"b"}"#,
                r#"{"eventID":"c"}"#,
                r#"{"eventID":"d"}"#
            ]
        );
        assert_eq!(d.control_messages, 1);
        assert_eq!(d.other_values.count, 2);
        assert!(d
            .other_values
            .first
            .as_deref()
            .unwrap()
            .starts_with("line 1: an object with keys log_type"));
        assert_eq!(d.bad_values.count, 0);
        assert!(d.not_cloudtrail().is_none());
    }

    #[test]
    fn an_array_of_eventbridge_events_and_lookup_elements() {
        let t = r#"[{"detail-type":"AWS API Call via CloudTrail","detail":{"eventID":"a"}},
                   {"EventId":"b","CloudTrailEvent":"{\"eventID\":\"b\"}"},
                   {"awsRegion":"x","eventName":"Y"}]"#;
        let (r, d) = recs(t);
        assert_eq!(r.len(), 3);
        assert_eq!(r[2], r#"{"awsRegion":"x","eventName":"Y"}"#);
        assert_eq!(d.bad_values.count + d.other_values.count, 0);
    }

    #[test]
    fn ndjson_resumes_after_a_bad_line_and_tallies() {
        let (r, d) = recs("{\"eventID\":\"a\"}\n{\"eventID\": nope}\n{\"eventID\":\"c\"}\n{x\n");
        assert_eq!(r.len(), 2);
        assert_eq!(d.bad_values.count, 2);
        assert!(d
            .bad_values
            .first
            .unwrap()
            .starts_with("line 2: invalid JSON"));
        assert!(d.damage.is_none());
    }

    #[test]
    fn many_bad_lines_take_linear_time() {
        let mut t = String::new();
        for i in 0..50_000 {
            t.push_str(&format!("{{\"eventID\":\"{i}\", oops}}\n"));
        }
        t.push_str("{\"eventID\":\"last\"}\n");
        let (r, d) = recs(&t);
        assert_eq!(r.len(), 1);
        assert_eq!(d.bad_values.count, 50_000);
    }

    #[test]
    fn digest_and_empty_and_garbage() {
        let (r, d) = recs(r#"{"awsAccountId":"1","digestStartTime":"x","logFiles":[]}"#);
        assert!(d.digest && r.is_empty());
        let (r, d) = recs("  \n");
        assert!(r.is_empty() && !d.digest && d.not_cloudtrail().is_none());
        let (r, d) = recs("this is not json");
        assert_eq!((r.len(), d.bad_values.count), (0, 1));
        let (_, d) = recs(r#"{"foo":1}"#);
        assert!(d.not_cloudtrail().unwrap().contains("keys foo"));
        let (_, d) = recs(r#"{"Records":[]} trailing"#);
        assert_eq!(d.bad_values.count, 1);
        let (r, d) = recs(r#"{"Records":null}"#);
        assert!(r.is_empty() && d.not_cloudtrail().is_none() && d.bad_values.count == 0);
    }

    #[test]
    fn escaped_keys_are_still_recognised() {
        let (r, _) = recs(r#"{"Rec\u006frds":[{"eventID":"a"}]}"#);
        assert_eq!(r.len(), 1);
    }
}
