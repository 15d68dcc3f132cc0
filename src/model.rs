//! Domain types that flow between the stages: an object to read, a normalised event, an ingest ledger entry.
//!
//! Owns no behaviour beyond small constructors; no IO, no tantivy, no output formats.

/// Where an object came from and the identity that says whether it changed since it was ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Stable name of the object: an absolute local path, or `s3://bucket/key`.
    pub name: String,
    /// What makes this version distinct: `size:mtime` for a file, the ETag for S3.
    pub version: String,
    /// Size in bytes, for progress and throughput.
    pub size: u64,
}

impl ObjectRef {
    /// The ledger key: the object and its version. A changed object has a new key and is read again.
    pub fn ledger_key(&self) -> String {
        format!("{}\u{1f}{}", self.name, self.version)
    }
}

/// Which source an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    CloudTrail,
    StudioLog,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CloudTrail => "cloudtrail",
            EventKind::StudioLog => "studio-log",
        }
    }
}

/// One event ready to be indexed: identity, time, the named fields, the open paths, free text and the
/// original record.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub kind: Option<EventKind>,
    pub event_id: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Named catalogue fields (`eventName`, `sourceIdentity`, ...) and their values.
    pub keywords: Vec<(&'static str, String)>,
    /// The open CloudTrail paths, each as `dotted.path\0value` (the term of the open path field, built
    /// once here rather than from a pair later).
    pub paths: Vec<String>,
    /// Strings for the full-text field.
    pub texts: Vec<String>,
    /// The studio log line (full text field `message`).
    pub message: Option<String>,
    /// The record as delivered (whitespace between tokens removed), or the JSON line a log event renders as.
    pub raw: String,
    /// What identity stitching needs (see `index::write`).
    pub stitch: Stitch,
}

/// Identity stitching inputs: the key an event was made with, the key it issued, and whether its actor is
/// already certain (a sourceIdentity wins over stitching).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stitch {
    pub access_key: Option<String>,
    pub issued_key: Option<String>,
    pub has_source_identity: bool,
}

impl Event {
    /// The value of a named field, if set.
    pub fn keyword(&self, name: &str) -> Option<&str> {
        self.keywords
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}
