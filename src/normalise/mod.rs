//! Normalise: one record (or log line) → an [`Event`] with its named fields, open paths, full text and
//! derived attribution keys.
//!
//! Pure and parallel-safe: no IO, no index, no output formats.

pub mod attribution;
pub mod digest;
pub(crate) mod facts;
pub mod studio_log;
pub mod time;
pub mod tree;

use thiserror::Error;

use crate::catalog::{self, names, FieldKind};
use crate::decode::minify::minify;
use crate::model::{Event, EventKind};
use tree::Json;

/// Values longer than this are not indexed as exact terms (they stay in full text and in the record):
/// policy documents and notebook payloads would bloat the term dictionary for lookups nobody types.
pub(crate) const MAX_EXACT_VALUE: usize = 512;

/// Separates a dotted path from its value in an open-path term. No path or value contains it.
pub(crate) const PATH_SEP: char = '\0';

/// Top-level CloudTrail members copied into the keyword field of the same name, unchanged.
const TOP_LEVEL_KEYWORDS: [&str; 7] = [
    names::EVENT_NAME,
    names::EVENT_SOURCE,
    names::AWS_REGION,
    names::SOURCE_IP,
    names::ERROR_CODE,
    names::EVENT_TYPE,
    names::RECIPIENT_ACCOUNT,
];

/// `userIdentity` members copied, unchanged, into these keyword fields.
const USER_IDENTITY_KEYWORDS: [(&str, &str); 3] = [
    (names::UI_TYPE, "type"),
    (names::UI_ARN, "arn"),
    (names::UI_ACCESS_KEY, "accessKeyId"),
];

/// Every keyword field whose values are a CloudTrail record's scalars unchanged: the members above, and
/// sourceIdentity and roleArn, which attribution takes as they are. A phrase found in one of their values
/// is in the record; a test holds each to it.
pub(crate) fn verbatim_keywords() -> impl Iterator<Item = &'static str> {
    TOP_LEVEL_KEYWORDS
        .into_iter()
        .chain(USER_IDENTITY_KEYWORDS.map(|(name, _)| name))
        .chain([names::SOURCE_IDENTITY, names::ROLE_ARN])
}

/// The CloudTrail eventVersion major this code understands; other majors are indexed with a warning.
pub(crate) const KNOWN_EVENT_VERSION_MAJOR: &str = "1";

/// Why a record was not indexed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("not a JSON object")]
    NotAnObject,
    #[error("eventID {0}: no eventTime (nor a shipper's @timestamp)")]
    MissingEventTime(String),
    #[error("eventID {id}: eventTime {time} is not a time")]
    BadEventTime { id: String, time: String },
    #[error("eventID {id}: eventTime {time} is outside the years 1678 to 2261, which the index can hold")]
    TimeOutOfRange { id: String, time: String },
}

/// A normalised event plus anything worth a warning.
#[derive(Debug)]
pub struct Normalised {
    pub event: Event,
    pub warning: Option<String>,
}

/// Prefix of the eventID sagetrail gives a record that has none.
pub(crate) const DERIVED_ID_PREFIX: &str = "x-sagetrail-";

/// The eventID of a CloudTrail record, and whether it was derived from the content (the record has none).
fn event_id_of(v: &Json) -> (String, bool) {
    match v
        .get("eventID")
        .and_then(scalar_string)
        .filter(|s| !s.is_empty())
    {
        Some(id) => (id, false),
        None => (
            format!(
                "{DERIVED_ID_PREFIX}{:016x}{:016x}",
                digest::content(v, 1),
                digest::content(v, 2)
            ),
            true,
        ),
    }
}

/// What a stored record says about itself for the exactly-once check: its eventID and content digest,
/// computed as normalise computed them when it was indexed (`Event::event_id`, `Event::content_digest`).
/// A studio log event's identity is its content (its eventID is a digest of it), so its content digest
/// is 0, as normalise leaves it. None when the stored text is not a JSON object (never written so).
pub(crate) fn stored_identity(raw: &str, kind: EventKind) -> Option<(String, u64)> {
    let v = Json::parse(raw).ok().filter(Json::is_object)?;
    match kind {
        EventKind::CloudTrail => Some((event_id_of(&v).0, digest::content(&v, 0))),
        EventKind::StudioLog => Some((v.get("eventID")?.as_str()?.to_string(), 0)),
    }
}

/// Normalise one CloudTrail record given as its original JSON text.
pub fn cloudtrail(raw: &str) -> Result<Normalised, RecordError> {
    let v = Json::parse(raw).map_err(|e| RecordError::InvalidJson(e.to_string()))?;
    if !v.is_object() {
        return Err(RecordError::NotAnObject);
    }
    // A record without an eventID is evidence too: its identity is a digest of its content (keys in any
    // order, whitespace ignored), the same on every run, so a redelivery is still stored once.
    let (event_id, derived) = event_id_of(&v);
    let time_value = v
        .get("eventTime")
        .filter(|t| !matches!(t, Json::Null))
        .or_else(|| v.get("@timestamp"))
        .ok_or_else(|| RecordError::MissingEventTime(event_id.clone()))?;
    let time_ms = match time::parse_value(time_value) {
        time::Parsed::Ms(ms) => ms,
        time::Parsed::Invalid(text) => {
            return Err(RecordError::BadEventTime {
                id: event_id,
                time: text,
            })
        }
        time::Parsed::OutOfRange(text) => {
            return Err(RecordError::TimeOutOfRange {
                id: event_id,
                time: text,
            })
        }
    };

    let warning = v
        .get("eventVersion")
        .and_then(Json::as_str)
        .filter(|ver| ver.split('.').next() != Some(KNOWN_EVENT_VERSION_MAJOR))
        .map(|ver| format!("record {event_id}: eventVersion {ver} has an unknown major version; indexed as 1.x"));

    let mut ev = Event {
        kind: Some(EventKind::CloudTrail),
        content_digest: digest::content(&v, 0),
        time_ms,
        raw: minify(raw).into_owned(),
        ..Default::default()
    };
    // eventID, like every identifier field, is taken by `flatten`, unless it was derived.
    ev.keywords
        .push((names::KIND, EventKind::CloudTrail.as_str().to_string()));
    if derived {
        ev.keywords.push((names::EVENT_ID, event_id.clone()));
        ev.keywords
            .push((names::EVENT_ID_DERIVED, "true".to_string()));
    }
    ev.event_id = event_id;
    for name in TOP_LEVEL_KEYWORDS {
        if let Some(s) = v.get(name).and_then(scalar_string) {
            ev.keywords.push((name, s));
        }
    }
    if let Some(ui) = v.get("userIdentity") {
        for (name, key) in USER_IDENTITY_KEYWORDS {
            if let Some(s) = ui.get(key).and_then(scalar_string) {
                ev.keywords.push((name, s));
            }
        }
    }

    let a = attribution::attribute(&v);
    let issued_key = attribution::issued_access_key(&v);
    ev.stitch = crate::model::Stitch {
        access_key: ev.keyword(names::UI_ACCESS_KEY).map(str::to_string),
        teaches_key: issued_key.is_some() && !attribution::caller_is_service(&v),
        issued_key,
        basis: a.actor_basis,
        identity_center_user_id: a.identity_center_user_id.clone(),
        identity_center_user_name: a.identity_center_user_name,
    };
    if let Some(k) = &ev.stitch.issued_key {
        ev.keywords.push((names::ISSUED_KEY, k.clone()));
    }
    for (name, val) in [
        (names::SOURCE_IDENTITY, a.source_identity),
        (names::ROLE_ARN, a.role_arn),
        (names::DOMAIN_ID, a.domain_id),
        (names::SPACE_ARN, a.space_arn),
        (names::SPACE_NAME, a.space_name),
        (names::USER_PROFILE, a.user_profile),
        (names::IC_USER_ID, a.identity_center_user_id),
        (names::ACTOR, a.actor),
    ] {
        if let Some(val) = val {
            ev.keywords.push((name, val));
        }
    }
    // What guardrail checks ask of a record, as fields, so the audit's queries narrow its candidates.
    if facts::is_studio_session(&v) {
        ev.keywords
            .push((names::STUDIO_SESSION, "true".to_string()));
    }
    if let Some(is) = facts::caller_is_profile(&v) {
        ev.keywords.push((names::CALLER_IS_PROFILE, is.to_string()));
    }
    let mut tags = facts::tag_keys(&v);
    tags.sort_unstable();
    tags.dedup();
    for k in tags.into_iter().filter(|k| !k.is_empty()) {
        ev.keywords.push((names::TAG_KEY, k.to_string()));
    }

    let mut path = String::with_capacity(64);
    flatten(&v, &mut path, &mut ev);
    Ok(Normalised { event: ev, warning })
}

fn scalar_string(v: &Json) -> Option<String> {
    match v {
        Json::Str(s) if !s.is_empty() => Some(s.to_string()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Walk the record: every scalar leaf becomes an open path (unless it has a named field) and every string
/// a full-text value (unless it is an identifier or a timestamp). Array elements share their parent's path.
fn flatten(v: &Json, path: &mut String, ev: &mut Event) {
    match v {
        Json::Object(o) => {
            for (k, child) in o {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                flatten(child, path, ev);
                path.truncate(len);
            }
        }
        Json::Array(a) => a.iter().for_each(|x| flatten(x, path, ev)),
        Json::Null => {}
        Json::Str(s) => {
            if !leaf(path, s, ev) || s.is_empty() || looks_like_timestamp(s) {
                return;
            }
            let s = match full_text_of(path, s) {
                Some(t) => t,
                None => return,
            };
            // The same ARN or name often appears several times in a record: full text needs it once.
            if !ev.texts.iter().any(|t| t == s) {
                ev.texts.push(s.to_string());
            }
        }
        Json::Number(n) => {
            leaf(path, &n.to_string(), ev);
        }
        Json::Bool(b) => {
            leaf(path, if *b { "true" } else { "false" }, ev);
        }
    }
}

/// Paths whose strings are machine detail, never typed by an investigator as a word: the TLS version,
/// cipher suite and endpoint host of every call. They stay findable exactly and by prefix at their path
/// (`tlsDetails.tlsVersion:TLSv1.2`); their words cost ~14 a record of full-text postings (ablation in
/// benches/RESULTS.md).
const NOT_FULL_TEXT_PREFIXES: [&str; 1] = ["tlsDetails."];

/// CloudTrail's own bookkeeping of a record: the format version, the kind of event and of principal, the
/// MFA flag. Each is one of a handful of values found exactly at its path or keyword field
/// (`eventType:AwsApiCall`, `userIdentity.type:AssumedRole`); as words they were in nearly every record
/// (`1.09`, `awsapicall`, `management`, `assumedrole`, `false`), postings that answer no question.
/// Decided for issue 17 (ablation in benches/RESULTS.md).
const NOT_FULL_TEXT_PATHS: [&str; 6] = [
    "eventVersion",
    "eventType",
    "eventCategory",
    "userIdentity.type",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
];

/// Where CloudTrail writes an access key id: the caller's, the one an STS call returned, the one IAM
/// created, the one a request names. A key id is a random 20-character string, one unique word a record;
/// it is left out of full text and a bare word is looked up whole at each of these paths instead
/// (src/index/compile.rs), so pasting `ASIA…` still finds every record that names it. Decided for
/// issue 17 (ablation in benches/RESULTS.md).
pub(crate) const ACCESS_KEY_PATHS: [&str; 4] = [
    "userIdentity.accessKeyId",
    "responseElements.credentials.accessKeyId",
    "responseElements.accessKey.accessKeyId",
    "requestParameters.accessKeyId",
];

/// Space-separated tokens of a user agent kept in full text: the product and the first component
/// (`aws-cli/2.15.30 Python/3.11.8`, `Boto3/1.34.84 md/Botocore#…`, `console.amazonaws.com`). The rest
/// — platform, runtime, retry mode, SDK metadata — is ~20 distinct words a record of noise; the whole
/// value stays exact and prefix-searchable as `userAgent:`.
const USER_AGENT_TEXT_TOKENS: usize = 2;

/// What of a string goes into full text: all of it, a part (user agents), or nothing (TLS details,
/// CloudTrail's bookkeeping, access key ids).
fn full_text_of<'s>(path: &str, s: &'s str) -> Option<&'s str> {
    if NOT_FULL_TEXT_PREFIXES.iter().any(|p| path.starts_with(p))
        || NOT_FULL_TEXT_PATHS.contains(&path)
        || ACCESS_KEY_PATHS.contains(&path)
    {
        return None;
    }
    if path == "userAgent" {
        let end = s
            .match_indices(' ')
            .nth(USER_AGENT_TEXT_TOKENS - 1)
            .map_or(s.len(), |(i, _)| i);
        return Some(&s[..end]);
    }
    Some(s)
}

/// Index one scalar by its path: an identifier field gets its value as a keyword (hashed at indexing), a
/// named field already has it, anything else is an open path. False when the value is an identifier (no
/// full text for it: its words are unique noise, and a bare word finds identifiers whole).
fn leaf(path: &str, val: &str, ev: &mut Event) -> bool {
    match catalog::own_field(path) {
        Some(def) if def.kind == FieldKind::Id => {
            if !val.is_empty() {
                ev.keywords.push((def.name.as_str(), val.to_string()));
            }
            false
        }
        Some(_) => true,
        None => {
            if val.len() <= MAX_EXACT_VALUE {
                let mut term = String::with_capacity(path.len() + 1 + val.len());
                term.push_str(path);
                term.push(PATH_SEP);
                term.push_str(val);
                ev.paths.push(term);
            }
            true
        }
    }
}

/// `2024-05-01T10:00:00Z` and the like: searched by time ranges, never by their words (which would be
/// dozens of distinct postings per record for nothing).
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b.len() <= 35
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[..4].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exactly-once check compares a new event with what the stored record says of itself: for any
    /// record, as written or pretty-printed, with or without an eventID, and for a studio log event, the
    /// stored text gives back the eventID and content digest normalise gave the event.
    #[test]
    fn a_stored_record_gives_back_its_identity() {
        let pretty = "{\n  \"eventVersion\": \"1.09\",\n  \"eventTime\": \"2024-06-02T00:00:00Z\",\n  \"eventID\": \"e-1\",\n  \"requestParameters\": {\"a\": [1, 2.50, \"x\\u0041\"], \"b\": null}\n}";
        for raw in [
            pretty,
            r#"{"eventTime":"2024-06-02T00:00:00Z","eventName":"GetObject","n":1e3}"#,
            r#"{"eventTime":"2024-06-02T00:00:00Z","eventID":7}"#,
            r#"{"eventTime":"2024-06-02T00:00:00Z","eventID":""}"#,
        ] {
            let e = cloudtrail(raw).unwrap().event;
            assert_eq!(
                stored_identity(&e.raw, EventKind::CloudTrail),
                Some((e.event_id.clone(), e.content_digest)),
                "{raw}"
            );
        }
        let other = cloudtrail(r#"{"eventTime":"2024-06-02T00:00:00Z","eventID":"e-1","x":2}"#)
            .unwrap()
            .event;
        let first = cloudtrail(pretty).unwrap().event;
        assert_ne!(
            stored_identity(&other.raw, EventKind::CloudTrail).map(|i| i.1),
            Some(first.content_digest),
            "other content under the same eventID is told apart"
        );
        let ctx = studio_log::GroupContext {
            log_group: "/aws/sagemaker/studio".into(),
            ..Default::default()
        };
        let log = studio_log::log_event(&ctx, "d-1/bob/JupyterServer/default", 5, "a \"q\"\n", 0);
        assert_eq!(
            stored_identity(&log.raw, EventKind::StudioLog),
            Some((log.event_id.clone(), 0))
        );
        assert_eq!(stored_identity("[1]", EventKind::CloudTrail), None);
        assert_eq!(stored_identity("{", EventKind::StudioLog), None);
    }

    /// Each value of a verbatim keyword field is one of the record's scalars as written (what lets a phrase
    /// be confirmed from the field's terms).
    #[test]
    fn verbatim_keywords_are_the_record_s_own_scalars() {
        let rec = r#"{"eventVersion":"1.09","eventID":"e1","eventTime":"2024-05-01T10:00:00Z",
            "eventName":"CreatePresignedDomainUrl","eventSource":"sagemaker.amazonaws.com","awsRegion":"us-east-1",
            "sourceIPAddress":"203.0.113.7","errorCode":"AccessDenied","eventType":"AwsApiCall","recipientAccountId":111122223333,
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/SageMaker","accessKeyId":"ASIAX",
              "sessionContext":{"sourceIdentity":"Alice","sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/R"}}},
            "requestParameters":{"userProfileName":"alice","domainId":"D-1"}}"#;
        let ev = cloudtrail(rec).unwrap().event;
        let tree = Json::parse(rec).unwrap();
        let mut scalars = Vec::new();
        fn walk(v: &Json, out: &mut Vec<String>) {
            match v {
                Json::Str(s) => out.push(s.to_string()),
                Json::Number(n) => out.push(n.to_string()),
                Json::Bool(b) => out.push(b.to_string()),
                Json::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Json::Object(o) => o.iter().for_each(|(_, x)| walk(x, out)),
                Json::Null => {}
            }
        }
        walk(&tree, &mut scalars);
        for name in verbatim_keywords() {
            let v = ev
                .keyword(name)
                .unwrap_or_else(|| panic!("{name} is set by this record"));
            assert!(
                scalars.iter().any(|s| s == v),
                "{name} = {v:?} is not a scalar of the record"
            );
        }
        // Derived fields are not: the domain is lowercased, the actor is chosen.
        assert_eq!(ev.keyword(names::DOMAIN_ID), Some("d-1"));
        assert!(verbatim_keywords().count() >= 12);
        assert!(!verbatim_keywords().any(|n| n == names::DOMAIN_ID));
    }

    #[test]
    fn required_fields_are_checked() {
        let n = cloudtrail(r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"X"}"#).unwrap();
        assert!(n.event.event_id.starts_with(DERIVED_ID_PREFIX));
        assert_eq!(n.event.keyword(names::EVENT_ID_DERIVED), Some("true"));
        let again =
            cloudtrail("{\"eventName\": \"X\",\n \"eventTime\":\"2024-01-01T00:00:00Z\"}").unwrap();
        assert_eq!(
            again.event.event_id, n.event.event_id,
            "stable across formatting and key order"
        );
        assert_eq!(
            again.event.keyword(names::EVENT_ID),
            Some(n.event.event_id.as_str())
        );
        assert_eq!(
            cloudtrail(r#"{"eventID":"e1","eventTime":"1728560669x"}"#)
                .unwrap_err()
                .to_string(),
            "eventID e1: eventTime \"1728560669x\" is not a time"
        );
        assert!(matches!(
            cloudtrail(r#"{"eventID":"e1","eventTime":"0000-01-01T00:00:00Z"}"#).unwrap_err(),
            RecordError::TimeOutOfRange { .. }
        ));
        let shipped = cloudtrail(
            r#"{"eventID":"e1","@timestamp":"2024-01-01T00:00:00.000Z","eventName":"X"}"#,
        )
        .unwrap();
        assert_eq!(shipped.event.time_ms, 1704067200000);
        let athena = cloudtrail(r#"{"eventID":"e1","eventTime":"2024-01-01 00:00:00"}"#).unwrap();
        assert_eq!(athena.event.time_ms, 1704067200000);
        assert_eq!(
            cloudtrail(r#"{"eventID":"e1"}"#).unwrap_err(),
            RecordError::MissingEventTime("e1".into())
        );
        assert!(matches!(
            cloudtrail(r#"{"eventID":"e1","eventTime":"yesterday"}"#).unwrap_err(),
            RecordError::BadEventTime { .. }
        ));
        assert_eq!(cloudtrail("[1]").unwrap_err(), RecordError::NotAnObject);
        assert!(matches!(
            cloudtrail("{").unwrap_err(),
            RecordError::InvalidJson(_)
        ));
    }

    #[test]
    fn paths_keywords_and_text() {
        let raw = r#"{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-01-01T00:00:01Z","eventName":"CreateApp","readOnly":false,
            "userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},
            "requestParameters":{"resourceSpec":{"instanceType":"ml.t3.medium"},"tags":[{"key":"a","value":"b"},{"key":"c","value":"d"}],"n":3}}"#;
        let n = cloudtrail(raw).unwrap();
        let e = n.event;
        assert!(n.warning.is_none());
        assert_eq!(e.time_ms, 1704067201000);
        assert_eq!(e.keyword("eventName"), Some("CreateApp"));
        assert_eq!(e.keyword("userIdentity.type"), Some("IAMUser"));
        let has = |p: &str, v: &str| e.paths.iter().any(|t| *t == format!("{p}\0{v}"));
        assert!(has(
            "requestParameters.resourceSpec.instanceType",
            "ml.t3.medium"
        ));
        assert!(has("requestParameters.tags.key", "c"));
        assert!(has("requestParameters.n", "3"));
        assert!(has("readOnly", "false"));
        assert!(
            !has("eventName", "CreateApp"),
            "named fields are not duplicated as paths"
        );
        assert!(e.texts.iter().any(|t| t == "ml.t3.medium"));
        assert_eq!(e.keyword("eventID"), Some("e1"), "identifiers are keywords");
        assert!(
            !e.texts.iter().any(|t| t == "e1" || t.starts_with("2024-")),
            "no full text for identifiers and timestamps"
        );
        assert!(!e.raw.contains('\n'));
    }

    #[test]
    fn machine_detail_stays_out_of_full_text_but_keeps_its_path() {
        let raw = r#"{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-01-01T00:00:01Z","eventName":"CreateApp",
            "userAgent":"aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213 exe/x86_64.amzn.2 prompt/off",
            "tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"api.sagemaker.us-east-1.amazonaws.com"}}"#;
        let e = cloudtrail(raw).unwrap().event;
        let has = |p: &str, v: &str| e.paths.iter().any(|t| *t == format!("{p}\0{v}"));
        assert!(has("tlsDetails.tlsVersion", "TLSv1.3"));
        assert!(has(
            "userAgent",
            "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213 exe/x86_64.amzn.2 prompt/off"
        ));
        assert!(e.texts.iter().any(|t| t == "aws-cli/2.15.30 Python/3.11.8"));
        assert!(!e
            .texts
            .iter()
            .any(|t| t.contains("Linux") || t.contains("TLS")));
        let short = cloudtrail(
            r#"{"eventID":"e2","eventTime":"2024-01-01T00:00:01Z","userAgent":"console.amazonaws.com"}"#,
        )
        .unwrap()
        .event;
        assert!(short.texts.iter().any(|t| t == "console.amazonaws.com"));
    }

    #[test]
    fn bookkeeping_and_access_keys_stay_out_of_full_text_but_keep_their_paths() {
        let raw = r#"{"eventVersion":"1.09","eventID":"e1","eventTime":"2024-01-01T00:00:01Z","eventName":"AssumeRole",
            "eventType":"AwsApiCall","eventCategory":"Management",
            "userIdentity":{"type":"AssumedRole","accessKeyId":"ASIAOLDKEY0000000001",
                "sessionContext":{"sessionIssuer":{"type":"Role","userName":"ops-role"},
                    "attributes":{"mfaAuthenticated":"false"}}},
            "requestParameters":{"roleSessionName":"alice","accessKeyId":"AKIAREQUEST000000001"},
            "responseElements":{"credentials":{"accessKeyId":"ASIANEWKEY0000000001"},
                "accessKey":{"accessKeyId":"AKIACREATED000000001"}}}"#;
        let e = cloudtrail(raw).unwrap().event;
        let has = |p: &str, v: &str| e.paths.iter().any(|t| *t == format!("{p}\0{v}"));
        for (path, value) in [
            ("eventVersion", "1.09"),
            ("eventCategory", "Management"),
            ("userIdentity.sessionContext.sessionIssuer.type", "Role"),
            (
                "userIdentity.sessionContext.attributes.mfaAuthenticated",
                "false",
            ),
            ("requestParameters.accessKeyId", "AKIAREQUEST000000001"),
            (
                "responseElements.credentials.accessKeyId",
                "ASIANEWKEY0000000001",
            ),
            (
                "responseElements.accessKey.accessKeyId",
                "AKIACREATED000000001",
            ),
        ] {
            assert!(has(path, value), "{path} keeps its open path");
        }
        assert_eq!(e.keyword("eventType"), Some("AwsApiCall"));
        assert_eq!(e.keyword("userIdentity.type"), Some("AssumedRole"));
        assert_eq!(
            e.keyword("userIdentity.accessKeyId"),
            Some("ASIAOLDKEY0000000001")
        );
        let left_out = [
            "1.09",
            "AwsApiCall",
            "Management",
            "AssumedRole",
            "Role",
            "false",
            "ASIAOLDKEY0000000001",
            "AKIAREQUEST000000001",
            "ASIANEWKEY0000000001",
            "AKIACREATED000000001",
        ];
        for t in &e.texts {
            assert!(!left_out.contains(&t.as_str()), "{t} is not full text");
        }
        for kept in ["AssumeRole", "ops-role", "alice"] {
            assert!(e.texts.iter().any(|t| t == kept), "{kept} is full text");
        }
    }

    #[test]
    fn unknown_major_version_warns_but_indexes() {
        let n = cloudtrail(r#"{"eventVersion":"2.0","eventID":"e","eventTime":"2024-01-01T00:00:00Z","newField":{"x":1}}"#).unwrap();
        assert!(n.warning.unwrap().contains("2.0"));
    }
}
