//! Compliance questions answered from the index: `who`, `activity`, `timeline` and the `audit` rule pack.
//!
//! Each question runs queries through the index's reader and returns wire rows (stable, documented JSON
//! keys); rendering is left to `render`. No tantivy here, no output formats.

pub(crate) mod audit;
pub(crate) mod report;
pub(crate) mod sigma;
pub(crate) mod usage;

use crate::catalog::names;
use crate::model::KIND_STUDIO_LOG;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::index::read::{Fetch, Hit, SearchRequest};
use crate::index::Reader;
use crate::query::{Node, Value};
use crate::time::format_ms;
use crate::Error;

/// The time window and narrowing query every question takes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub filter: Option<Node>,
}

impl Scope {
    fn request(&self, node: Node, oldest_first: bool) -> SearchRequest {
        let node = match &self.filter {
            Some(f) => Node::And(vec![node, f.clone()]),
            None => node,
        };
        SearchRequest {
            node,
            since_ms: self.since_ms,
            until_ms: self.until_ms,
            oldest_first,
        }
    }
}

fn field(f: &str, v: &str) -> Node {
    Node::Field {
        field: f.into(),
        value: Value::Quoted(v.into()),
    }
}

/// `who`: one row per acting identity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WhoRow {
    pub actor: String,
    pub principal_arns: Vec<String>,
    pub role_arns: Vec<String>,
    pub source_identities: Vec<String>,
    pub count: u64,
    pub errors: u64,
    pub first_time: String,
    pub last_time: String,
    #[serde(rename = "sourceIPAddresses")]
    pub source_ip_addresses: Vec<String>,
    /// How the actor was named (schema/actor-rules.md): every basis seen among the events.
    pub actor_bases: Vec<String>,
    /// For basis `issuer`: the eventIDs of the STS calls whose keys the events were made with.
    #[serde(rename = "actorIssuerEventIDs")]
    pub actor_issuer_event_ids: Vec<String>,
}

/// What `who` gathers per actor, from columns: principals, roles, source identities, errors, addresses,
/// and why the actor is who it is.
const WHO_COLUMNS: [&str; 7] = [
    names::UI_ARN,
    names::ROLE_ARN,
    names::SOURCE_IDENTITY,
    names::ERROR_CODE,
    names::SOURCE_IP,
    names::ACTOR_BASIS,
    names::ACTOR_ISSUER_EVENT_ID,
];

/// The eventName condition of an action (`Create*` is a prefix).
pub(crate) fn action_node(action: &str) -> Node {
    let value = match action.strip_suffix('*') {
        Some(p) => Value::Prefix(p.to_string()),
        None => Value::Quoted(action.to_string()),
    };
    Node::Field {
        field: names::EVENT_NAME.into(),
        value,
    }
}

/// Who performed `action`; by count descending, then actor.
pub(crate) fn who(r: &Reader, action: &str, scope: &Scope) -> Result<Vec<WhoRow>, Error> {
    who_in(r, action_node(action), scope)
}

/// Who acted in the events `node` matches within the scope; by count descending, then actor.
pub(crate) fn who_in(r: &Reader, node: Node, scope: &Scope) -> Result<Vec<WhoRow>, Error> {
    let req = scope.request(node, true);
    let groups = r.group_by(&req, names::ACTOR, &WHO_COLUMNS)?;
    let mut rows: Vec<WhoRow> = groups
        .into_iter()
        .map(|mut g| WhoRow {
            principal_arns: g.take_distinct(names::UI_ARN),
            role_arns: g.take_distinct(names::ROLE_ARN),
            source_identities: g.take_distinct(names::SOURCE_IDENTITY),
            count: g.count,
            errors: g.present(names::ERROR_CODE),
            first_time: format_ms(g.first_ms),
            last_time: format_ms(g.last_ms),
            source_ip_addresses: g.take_distinct(names::SOURCE_IP),
            actor_bases: g.take_distinct(names::ACTOR_BASIS),
            actor_issuer_event_ids: g.take_distinct(names::ACTOR_ISSUER_EVENT_ID),
            actor: g.key.unwrap_or_else(|| "(unknown)".into()),
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.actor.cmp(&b.actor)));
    Ok(rows)
}

/// The kinds of identifier `activity` and `timeline` accept, in the order they are tried.
pub(crate) const ID_FIELDS: [&str; 8] = [
    "sourceIdentity",
    "userProfile",
    "roleArn",
    "spaceArn",
    "userIdentity.arn",
    "userIdentity.accessKeyId",
    "userIdentity.principalId",
    "actor",
];

/// Which identifier fields `id` matches (with any hits at all), and the query for all of them.
pub(crate) fn resolve_id(r: &Reader, id: &str) -> Result<(Vec<&'static str>, Node), Error> {
    let mut matched = Vec::new();
    for f in ID_FIELDS {
        let n = r.count(&SearchRequest {
            node: field(f, id),
            since_ms: None,
            until_ms: None,
            oldest_first: false,
        })?;
        if n > 0 {
            matched.push(f);
        }
    }
    if matched.is_empty() {
        return Err(Error::Usage(format!(
            "{id:?} matches no sourceIdentity, user profile, role ARN, space ARN, principal ARN, access key id, principal id or actor in the index"
        )));
    }
    let node = Node::Or(matched.iter().map(|f| field(f, id)).collect());
    Ok((matched, node))
}

/// `activity`: one row per eventName.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityRow {
    pub event_name: String,
    pub count: u64,
    pub errors: u64,
    pub first_time: String,
    pub last_time: String,
    /// How the actors of these events were named (schema/actor-rules.md).
    pub actor_bases: Vec<String>,
}

/// The columns `activity` reads.
const ACTIVITY_COLUMNS: [&str; 4] = [
    names::EVENT_NAME,
    names::ERROR_CODE,
    names::KIND,
    names::ACTOR_BASIS,
];

/// What `id` did, per eventName (studio log lines count under `(studio-log)`), by count then name.
pub(crate) fn activity(
    r: &Reader,
    id_node: &Node,
    scope: &Scope,
) -> Result<Vec<ActivityRow>, Error> {
    let req = scope.request(id_node.clone(), true);
    let mut acc: BTreeMap<String, (u64, u64, i64, i64, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    r.for_each_hit_with(&req, None, &ACTIVITY_COLUMNS, Fetch::Columns, |h| {
        let name = match h.get(names::KIND) {
            Some(KIND_STUDIO_LOG) => "(studio-log)".to_string(),
            _ => h
                .owned(names::EVENT_NAME)
                .unwrap_or_else(|| "(none)".into()),
        };
        let e = acc
            .entry(name)
            .or_insert((0, 0, h.time_ms, h.time_ms, Default::default()));
        if let Some(b) = h.get(names::ACTOR_BASIS) {
            if !e.4.contains(b) {
                e.4.insert(b.to_string());
            }
        }
        e.0 += 1;
        e.1 += u64::from(h.get(names::ERROR_CODE).is_some());
        e.2 = e.2.min(h.time_ms);
        e.3 = e.3.max(h.time_ms);
        Ok(())
    })?;
    let mut rows: Vec<ActivityRow> = acc
        .into_iter()
        .map(|(event_name, (count, errors, f, l, bases))| ActivityRow {
            event_name,
            count,
            errors,
            first_time: format_ms(f),
            last_time: format_ms(l),
            actor_bases: bases.into_iter().collect(),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.event_name.cmp(&b.event_name))
    });
    Ok(rows)
}

/// One line of a timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TimelineRow {
    pub time: String,
    pub kind: String,
    /// eventName, or the first line of a log message.
    pub event: String,
    pub actor: Option<String>,
    /// How the actor was named (schema/actor-rules.md).
    pub actor_basis: Option<String>,
    /// For basis `issuer`: the eventID of the STS call that issued the event's key.
    #[serde(rename = "actorIssuerEventID")]
    pub actor_issuer_event_id: Option<String>,
    /// The access key (CloudTrail) or the log stream (studio logs).
    pub session: Option<String>,
    /// True where a new session starts.
    pub new_session: bool,
    pub principal_arn: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    pub error_code: Option<String>,
    /// The record as delivered (for a log line, its JSON).
    pub record: Box<serde_json::value::RawValue>,
}

/// The columns `timeline` reads.
const TIMELINE_COLUMNS: [&str; 10] = [
    names::KIND,
    names::EVENT_NAME,
    names::ACTOR,
    names::UI_ACCESS_KEY,
    names::LOG_STREAM,
    names::UI_ARN,
    names::SOURCE_IP,
    names::ERROR_CODE,
    names::ACTOR_BASIS,
    names::ACTOR_ISSUER_EVENT_ID,
];

/// Everything `id` did, oldest first, CloudTrail and Studio logs interleaved, sessions marked.
pub(crate) fn timeline(
    r: &Reader,
    id_node: &Node,
    scope: &Scope,
    mut each: impl FnMut(TimelineRow) -> std::io::Result<()>,
) -> Result<(), Error> {
    let req = scope.request(id_node.clone(), true);
    let mut last_session: Option<String> = None;
    r.for_each_hit(&req, None, &TIMELINE_COLUMNS, |h: Hit| {
        let v = |name: &str| h.owned(name);
        let kind = v(names::KIND).unwrap_or_default();
        let (event, session) = if kind == KIND_STUDIO_LOG {
            (crate::model::first_log_line(&h.raw), v(names::LOG_STREAM))
        } else {
            (
                v(names::EVENT_NAME).unwrap_or_default(),
                v(names::UI_ACCESS_KEY),
            )
        };
        let new_session = session.is_some() && session != last_session;
        if session.is_some() {
            last_session = session.clone();
        }
        let record =
            serde_json::value::RawValue::from_string(String::from_utf8_lossy(&h.raw).into_owned())
                .unwrap_or_else(|_| {
                    serde_json::value::RawValue::from_string("null".into()).expect("null is JSON")
                });
        each(TimelineRow {
            time: format_ms(h.time_ms),
            kind,
            event,
            actor: v(names::ACTOR),
            actor_basis: v(names::ACTOR_BASIS),
            actor_issuer_event_id: v(names::ACTOR_ISSUER_EVENT_ID),
            session,
            new_session,
            principal_arn: v(names::UI_ARN),
            source_ip_address: v(names::SOURCE_IP),
            error_code: v(names::ERROR_CODE),
            record,
        })
    })
}
