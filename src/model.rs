//! Domain types that flow between the stages: an object to read, a normalised event, an ingest ledger entry.
//!
//! Owns no behaviour beyond small constructors; no IO, no tantivy, no output formats.

/// Where an object came from and the identity that says whether it changed since it was ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectRef {
    /// Stable name of the object: an absolute local path, or `s3://bucket/key`.
    pub name: String,
    /// What makes this version distinct: `size:mtime` for a file, the ETag for S3.
    pub version: String,
    /// Size in bytes, for progress and throughput.
    pub size: u64,
}

impl ObjectRef {
    /// The ledger key: the object and its version. A changed object has a new key and is read again.
    pub(crate) fn ledger_key(&self) -> String {
        format!("{}\u{1f}{}", self.name, self.version)
    }
}

/// Which source an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    CloudTrail,
    StudioLog,
}

/// The first line of a Studio log record's `message` (the record `normalise::studio_log` stores), for the
/// one-line event column of tables and timelines; empty when there is none.
pub(crate) fn first_log_line(record: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        message: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Line>(record)
        .ok()
        .and_then(|l| l.message)
        .map(|m| m.lines().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// The `kind` of a CloudTrail event.
pub(crate) const KIND_CLOUDTRAIL: &str = "cloudtrail";
/// The `kind` of a Studio log line.
pub(crate) const KIND_STUDIO_LOG: &str = "studio-log";

impl EventKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventKind::CloudTrail => KIND_CLOUDTRAIL,
            EventKind::StudioLog => KIND_STUDIO_LOG,
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
    /// A digest of the record's content (whitespace and key order aside): tells a redelivery of an
    /// eventID from a conflicting record under the same eventID.
    pub content_digest: u64,
}

/// Identity stitching inputs (rules 3 and 4 of `schema/actor-rules.md`, applied by the writer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stitch {
    /// The key the event was made with.
    pub access_key: Option<String>,
    /// The key an STS call issued.
    pub issued_key: Option<String>,
    /// The issued key's events take this event's actor: its caller is not an AWS service.
    pub teaches_key: bool,
    /// The basis of the actor normalise chose; rules 1 and 2 are final.
    pub basis: Option<ActorBasis>,
    /// The Identity Center user the event acted for, and the user name it gives (if any).
    pub identity_center_user_id: Option<String>,
    pub identity_center_user_name: Option<String>,
}

impl Stitch {
    /// True when rules 1 or 2 named the actor: nothing the index learns changes it.
    pub(crate) fn settled(&self) -> bool {
        self.basis.is_some_and(|b| b.is_settled())
    }
}

impl Event {
    /// The value of a named field, if set.
    pub(crate) fn keyword(&self, name: &str) -> Option<&str> {
        self.keywords
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an event has the actor it has: the rule of `schema/actor-rules.md` that named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorBasis {
    /// Rule 1: the event's sourceIdentity.
    SourceIdentity,
    /// Rule 2: a Studio session's user profile, named by the event.
    UserProfile,
    /// Rule 3: the actor of the `AssumeRole*` (or other STS call) that issued the event's access key,
    /// called by a principal that is not an AWS service.
    Issuer,
    /// Rule 4: an Identity Center user, by user name where known, else by userId.
    IdentityCenter,
    /// Rule 5: the principal itself.
    Principal,
}

impl ActorBasis {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ActorBasis::SourceIdentity => "sourceIdentity",
            ActorBasis::UserProfile => "userProfile",
            ActorBasis::Issuer => "issuer",
            ActorBasis::IdentityCenter => "identityCenter",
            ActorBasis::Principal => "principal",
        }
    }

    /// The basis named by `as_str`.
    pub(crate) fn parse(s: &str) -> Option<ActorBasis> {
        [
            ActorBasis::SourceIdentity,
            ActorBasis::UserProfile,
            ActorBasis::Issuer,
            ActorBasis::IdentityCenter,
            ActorBasis::Principal,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }

    /// Rules 1 and 2 name the actor from the event alone: nothing learned later changes it.
    pub(crate) fn is_settled(self) -> bool {
        matches!(self, ActorBasis::SourceIdentity | ActorBasis::UserProfile)
    }
}
