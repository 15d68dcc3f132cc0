//! The ingest pipeline: fetched objects → decode + normalise + prepare (parallel) → one writer.
//!
//! Bounded channels between the stages give backpressure, so memory stays flat however large the input.
//! The checkpoint (which objects are done) travels with each object's events and is committed with them.

use std::time::Instant;

use crossbeam_channel::{bounded, Receiver};
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use crate::decode::{self, cloudtrail::Tally};
use crate::index::write::prepare;
use crate::index::{Fields, PreparedDoc, Writer};
use crate::messages::Messages;
use crate::model::ObjectRef;
use crate::normalise;

pub(crate) mod sources;

/// Objects in flight between fetch and decode, and between decode and the writer, per decode thread:
/// enough to keep every core busy, few enough that memory stays bounded by a handful of objects.
const IN_FLIGHT_PER_THREAD: usize = 2;

/// The end-of-run summary (stderr as text, or stdout as one JSON object with `--summary json`).
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub source: String,
    pub objects_listed: u64,
    pub objects_read: u64,
    pub objects_unchanged: u64,
    pub objects_skipped: u64,
    pub objects_failed: u64,
    pub events_added: u64,
    pub events_already_present: u64,
    pub records_failed: u64,
    /// Events already present under their eventID but with other content (the one stored first is kept).
    pub events_conflicting: u64,
    /// Records without an eventID, given one derived from their content (`eventIDDerived:true`).
    #[serde(rename = "eventIDsDerived")]
    pub event_ids_derived: u64,
    /// CloudWatch Logs control messages and JSON values that are not CloudTrail, skipped.
    pub control_messages: u64,
    #[serde(rename = "valuesNotCloudTrail")]
    pub values_not_cloudtrail: u64,
    /// Skipped objects by reason.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped_by_reason: std::collections::BTreeMap<String, u64>,
    pub bytes_read: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    /// S3 prefixes listed object by object (shows the pruning by --accounts/--regions/--since).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefixes_listed: Vec<String>,
}

impl Summary {
    /// Count `n` objects skipped for `reason`.
    pub(crate) fn skip(&mut self, reason: &str, n: u64) {
        if n > 0 {
            self.objects_skipped += n;
            *self
                .skipped_by_reason
                .entry(reason.to_string())
                .or_default() += n;
        }
    }

    pub(crate) fn failed(&self) -> bool {
        self.objects_failed > 0 || self.records_failed > 0
    }

    pub(crate) fn finish(&mut self, started: Instant) {
        self.seconds = started.elapsed().as_secs_f64();
        let ev = self.events_added + self.events_already_present;
        self.events_per_second = if self.seconds > 0.0 {
            ev as f64 / self.seconds
        } else {
            0.0
        };
    }
}

/// Why an object was not read whole: each is one failure class, reported with the object's name, and
/// leaves the object not done (it is read again by the next run).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ObjectError {
    /// Not gzip that inflates, or inflates past `--max-object-mb`.
    #[error("{0}")]
    Gunzip(String),
    /// A container damaged part-way; whole records before the damage were kept.
    #[error("{0}")]
    Damaged(String),
    /// Nothing in it is CloudTrail (nor a digest, nor a control message).
    #[error("{0}")]
    NotCloudTrail(String),
    /// Records that did not normalise, counted; the first one's reason.
    #[error("{count} record(s) failed; the first: {first}")]
    RecordsFailed { count: u64, first: String },
    /// A Studio log file's lines that could not be read.
    #[error("{0}")]
    LogLines(String),
}

/// What decoding one object produced.
pub(crate) struct Outcome {
    pub obj: ObjectRef,
    pub docs: Vec<PreparedDoc>,
    /// Why the object was not read whole (empty: it was).
    pub errors: Vec<ObjectError>,
    pub warnings: Vec<String>,
    pub records_failed: u64,
    pub skipped_as: Option<&'static str>,
    pub control_messages: u64,
    pub values_not_cloudtrail: u64,
    pub event_ids_derived: u64,
}

impl Outcome {
    pub(crate) fn new(obj: ObjectRef) -> Outcome {
        Outcome {
            obj,
            docs: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            records_failed: 0,
            skipped_as: None,
            control_messages: 0,
            values_not_cloudtrail: 0,
            event_ids_derived: 0,
        }
    }
}

/// Why an object was skipped by its content.
pub(crate) const SKIP_DIGEST_BODY: &str = "a CloudTrail digest body";

/// Decode, normalise and prepare one CloudTrail object. Pure but for the CPU. Failed records are
/// tallied: one message per object says how many and the first reason.
pub(crate) fn process_cloudtrail(fields: &Fields, obj: ObjectRef, bytes: &[u8]) -> Outcome {
    let (mut out, events) = cloudtrail_events(obj, bytes, fields.max_inflated);
    out.docs = events.into_iter().map(|e| prepare(fields, e)).collect();
    out
}

/// Decode and normalise one CloudTrail object into events (what the index and the lake both take), with
/// the outcome's counts and messages.
pub(crate) fn cloudtrail_events(
    obj: ObjectRef,
    bytes: &[u8],
    max_inflated: u64,
) -> (Outcome, Vec<crate::model::Event>) {
    let mut out = Outcome::new(obj);
    let mut events = Vec::new();
    let (text, gz_err) = decode::gunzip_limited(bytes, max_inflated);
    let d = decode::cloudtrail::decode(&text);
    if d.digest && gz_err.is_none() {
        out.skipped_as = Some(SKIP_DIGEST_BODY);
        return (out, events);
    }
    out.errors.extend(gz_err.map(ObjectError::Gunzip));
    out.errors
        .extend(d.damage.clone().map(ObjectError::Damaged));
    out.errors
        .extend(d.not_cloudtrail().map(ObjectError::NotCloudTrail));
    out.control_messages = d.control_messages;
    out.values_not_cloudtrail = d.other_values.count;
    if d.other_values.count > 0 && !d.records.is_empty() {
        out.warnings.push(format!(
            "skipped {} JSON value(s) that are not CloudTrail (first: {})",
            d.other_values.count,
            d.other_values.first.as_deref().unwrap_or("")
        ));
    }
    let mut failed: Tally = d.bad_values.clone();
    events.reserve(d.records.len());
    for (i, raw) in d.records.iter().enumerate() {
        match normalise::cloudtrail(raw) {
            Ok(n) => {
                if let Some(w) = n.warning {
                    if out.warnings.len() < MAX_WARNINGS_PER_OBJECT {
                        out.warnings.push(w);
                    }
                }
                if n.event
                    .keyword(crate::catalog::names::EVENT_ID_DERIVED)
                    .is_some()
                {
                    out.event_ids_derived += 1;
                }
                events.push(n.event);
            }
            Err(e) => failed.add(|| format!("record {}: {e}", i + 1)),
        }
    }
    out.records_failed = failed.count;
    if let Some(first) = failed.first {
        out.errors.push(ObjectError::RecordsFailed {
            count: failed.count,
            first,
        });
    }
    (out, events)
}

/// Warnings printed per object (unknown eventVersion majors): one tells the story.
const MAX_WARNINGS_PER_OBJECT: usize = 1;

/// Drive fetched objects through decode into the writer. `fetched` yields each object with its bytes or
/// the reason it could not be fetched; it is consumed on the rayon pool, so the fetcher runs meanwhile.
pub(crate) fn run<T: Send>(
    writer: &mut Writer,
    fetched: Receiver<(ObjectRef, Result<T, String>)>,
    process: impl Fn(&Fields, ObjectRef, T) -> Outcome + Sync,
    msgs: &Messages,
    summary: &mut Summary,
    pb: &ProgressBar,
) -> Result<(), crate::Error> {
    let threads = rayon::current_num_threads().max(1);
    let (tx, rx) = bounded::<Result<Outcome, (ObjectRef, String)>>(threads * IN_FLIGHT_PER_THREAD);
    let fields = writer.fields().clone();
    std::thread::scope(|s| -> Result<(), crate::Error> {
        s.spawn(|| {
            fetched
                .into_iter()
                .par_bridge()
                .for_each_with(tx, |tx, (obj, bytes)| {
                    let msg = match bytes {
                        Ok(b) => Ok(process(&fields, obj, b)),
                        Err(e) => Err((obj, e)),
                    };
                    // The writer stopped (fatal error): nothing left to do.
                    let _ = tx.send(msg);
                });
        });
        let mut fatal = None;
        for msg in rx.iter() {
            if fatal.is_some() {
                continue; // drain so producers finish
            }
            match msg {
                Err((obj, e)) => {
                    summary.objects_failed += 1;
                    msgs.error(&obj.name, &e);
                }
                Ok(o) => {
                    summary.bytes_read += o.obj.size;
                    if let Some(why) = o.skipped_as {
                        summary.skip(why, 1);
                        if let Err(e) = writer.add_object(Some(&o.obj), Vec::new(), true) {
                            fatal = Some(e);
                        }
                        pb.inc(1);
                        continue;
                    }
                    summary.objects_read += 1;
                    for w in &o.warnings {
                        msgs.warn(&o.obj.name, w);
                    }
                    // One line per object, however many of its records failed.
                    if !o.errors.is_empty() {
                        let why: Vec<String> = o.errors.iter().map(ToString::to_string).collect();
                        msgs.error(&o.obj.name, &why.join("; "));
                    }
                    summary.records_failed += o.records_failed;
                    summary.control_messages += o.control_messages;
                    summary.values_not_cloudtrail += o.values_not_cloudtrail;
                    summary.event_ids_derived += o.event_ids_derived;
                    let complete = o.errors.is_empty();
                    if !complete {
                        summary.objects_failed += 1;
                    }
                    match writer.add_object(Some(&o.obj), o.docs, complete) {
                        Ok(c) => {
                            summary.events_added += c.added;
                            summary.events_already_present += c.present;
                            summary.events_conflicting += c.conflicts;
                            if c.conflicts > 0 {
                                msgs.warn(
                                    &o.obj.name,
                                    &format!("{} event(s) share an eventID with an indexed event but differ in content; the one indexed first is kept", c.conflicts),
                                );
                            }
                        }
                        Err(e) => fatal = Some(e),
                    }
                }
            }
            pb.inc(1);
            pb.set_message(format!("{} events", summary.events_added));
        }
        match fatal {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    })
}

/// Feed local files into a bounded channel from a reader thread.
pub(crate) fn read_local(
    objects: Vec<crate::source::local::LocalObject>,
    max_bytes: u64,
) -> Receiver<(ObjectRef, Result<Vec<u8>, String>)> {
    let threads = rayon::current_num_threads().max(1);
    let (tx, rx) = bounded(threads * IN_FLIGHT_PER_THREAD);
    std::thread::spawn(move || {
        for o in objects {
            // A file over the limit is refused before it is read (decode bounds what a gzip inflates to).
            let bytes = if o.obj.size > max_bytes {
                Err(format!(
                    "{} MiB on disk, more than the limit (--max-object-mb {})",
                    o.obj.size / (1024 * 1024),
                    max_bytes / (1024 * 1024)
                ))
            } else {
                std::fs::read(&o.path).map_err(|e| format!("cannot read: {e}"))
            };
            if tx.send((o.obj, bytes)).is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(bytes: &[u8], max_inflated: u64) -> (Vec<ObjectError>, usize) {
        let obj = ObjectRef {
            name: "o".into(),
            version: "1".into(),
            size: bytes.len() as u64,
        };
        let (out, events) = cloudtrail_events(obj, bytes, max_inflated);
        (out.errors, events.len())
    }

    #[test]
    fn each_failure_class_is_its_own_error() {
        let rec = r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"e1","awsRegion":"us-east-1","recipientAccountId":"111122223333"}"#;
        let whole = format!(r#"{{"Records":[{rec}]}}"#);
        assert_eq!(errors_of(whole.as_bytes(), 1 << 20), (vec![], 1));

        let (e, n) = errors_of(whole.as_bytes(), 10);
        assert!(matches!(&e[..], [ObjectError::Gunzip(_)]), "{e:?}");
        assert_eq!(n, 0);

        let cut = format!(r#"{{"Records":[{rec},{rec}"#);
        let (e, n) = errors_of(&cut.as_bytes()[..cut.len() - 3], 1 << 20);
        assert!(matches!(&e[..], [ObjectError::Damaged(_)]), "{e:?}");
        assert_eq!(n, 1, "the whole record before the damage is kept");

        let (e, _) = errors_of(br#"{"hello":"world"}"#, 1 << 20);
        assert!(matches!(&e[..], [ObjectError::NotCloudTrail(_)]), "{e:?}");

        let bad =
            format!(r#"{{"Records":[{rec},{{"eventVersion":"1.08"}},{{"eventVersion":"1.08"}}]}}"#);
        let (e, n) = errors_of(bad.as_bytes(), 1 << 20);
        assert!(
            matches!(&e[..], [ObjectError::RecordsFailed { count: 2, first }] if first.starts_with("record 2")),
            "{e:?}"
        );
        assert_eq!(n, 1);
    }
}
