//! `report`: everything an investigation report shows, gathered for one scope: the scope itself, activity
//! over time, who, what, a bounded timeline and (with the audit) findings with their records as evidence.
//!
//! Every list is bounded (top N with the count left out), so the report has a bounded size whatever the
//! scope. Rendering is `render::html`'s.

use serde_json::value::RawValue;

use super::audit::{self, Finding, RuleHead};
use super::sigma::SigmaRule;
use super::{Scope, TimelineRow, WhoRow};
use crate::index::read::{Fetch, SearchRequest};
use crate::index::{IndexError, Reader};
use crate::query::{Node, Value};
use crate::time::{format_ms, Interval};
use crate::Error;

/// Rows shown per table of counts: enough to see who and what dominates; the rest is counted.
pub(crate) const TOP_N: usize = 25;
/// Timeline rows shown: a few pages of the document; the rest is counted.
pub(crate) const TIMELINE_LIMIT: usize = 500;
/// Findings listed per rule, and records shown as evidence per rule: a sample with the total beside it.
pub(crate) const FINDINGS_PER_RULE: usize = 50;
pub(crate) const EVIDENCE_PER_RULE: usize = 5;
/// The most bars of the activity histogram (auto aims for about 60).
const MAX_BARS: usize = 400;

/// What the report is about, as given.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportRequest {
    /// The query as typed (none: every event).
    pub query: Option<String>,
    /// `--actor`: an identifier as `timeline` takes it.
    pub actor: Option<String>,
    /// Run the built-in rules (with these parameters) and any Sigma rules.
    pub audit: Option<audit::Params>,
    pub sigma: Vec<SigmaRule>,
    /// Rules that could not be loaded (Sigma files), with why: shown in the report beside the findings.
    pub not_run: Vec<(String, String)>,
}

/// A bounded list of counts: the top rows and how many values were left out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts {
    pub field: String,
    pub rows: Vec<(String, u64)>,
    pub more: usize,
}

/// One bar of the activity histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bar {
    pub start_ms: i64,
    /// CloudTrail events without an errorCode.
    pub ok: u64,
    /// CloudTrail events with an errorCode.
    pub errors: u64,
    /// Studio log events.
    pub logs: u64,
}

/// The findings of one rule, a sample of them listed and a few with their records.
#[derive(Debug, Clone)]
pub(crate) struct RuleFindings {
    pub head: RuleHead,
    pub total: usize,
    pub findings: Vec<Finding>,
    /// (eventID, the record as stored) for the first findings.
    pub evidence: Vec<(String, Box<RawValue>)>,
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub query: String,
    pub actor: Option<String>,
    /// Which identifier fields `--actor` matched.
    pub actor_fields: Vec<&'static str>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub index: String,
    pub events: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub generated: String,
    pub version: &'static str,
    pub interval_ms: i64,
    pub bars: Vec<Bar>,
    pub who: Vec<WhoRow>,
    pub who_more: usize,
    pub counts: Vec<Counts>,
    pub timeline: Vec<TimelineRow>,
    pub timeline_more: u64,
    /// None: the audit was not asked for.
    pub audit: Option<Vec<RuleFindings>>,
    /// Rules not run, with why.
    pub not_run: Vec<(String, String)>,
}

/// The fields counted in "what" and "who touched what", in the order shown.
pub(crate) const COUNTED: [&str; 11] = [
    "eventName",
    "eventSource",
    "roleArn",
    "userProfile",
    "spaceName",
    "domainId",
    "requestParameters.resourceSpec.instanceType",
    "requestParameters.resourceConfig.instanceType",
    "requestParameters.processingResources.clusterConfig.instanceType",
    "requestParameters.resourceSpec.sageMakerImageArn",
    "requestParameters.algorithmSpecification.trainingImage",
];

fn field(f: &str, v: Value) -> Node {
    Node::Field {
        field: f.into(),
        value: v,
    }
}

fn bounded<T>(mut v: Vec<T>, n: usize) -> (Vec<T>, usize) {
    let more = v.len().saturating_sub(n);
    v.truncate(n);
    (v, more)
}

/// Gather the report for `req` within `scope` (whose filter is the report's query).
pub(crate) fn gather(
    r: &Reader,
    req: &ReportRequest,
    scope: &Scope,
    index: &str,
) -> Result<Report, Error> {
    // The scope's node: the query (in scope.filter) and, with --actor, what that identifier matches.
    let (actor_fields, base) = match &req.actor {
        Some(id) => {
            let (fields, node) = super::resolve_id(r, id)?;
            (fields, node)
        }
        None => (Vec::new(), Node::All),
    };
    let search = |node: Node| scope.request(node, true);
    let with = |extra: Node| Node::And(vec![base.clone(), extra]);
    let events = r.count(&search(base.clone()))?;
    let mut first = None;
    let mut last = None;
    for (oldest, slot) in [(true, &mut first), (false, &mut last)] {
        let mut q = search(base.clone());
        q.oldest_first = oldest;
        r.for_each_hit_with(&q, Some(1), &[], Fetch::Columns, |h| {
            *slot = Some(h.time_ms);
            Ok(())
        })?;
    }

    // Activity: one interval for the window (auto), then each split counted on it.
    let (interval_ms, total) = r.histogram(&search(base.clone()), Interval::Auto, MAX_BARS)?;
    let split = |extra: Node| -> Result<Vec<(i64, u64)>, Error> {
        Ok(
            r.histogram(&search(with(extra)), Interval::Fixed(interval_ms), MAX_BARS)?
                .1,
        )
    };
    let ct = split(field("kind", Value::Quoted("cloudtrail".into())))?;
    let err = split(Node::And(vec![
        field("kind", Value::Quoted("cloudtrail".into())),
        field("errorCode", Value::Any),
    ]))?;
    let logs = split(field(
        "kind",
        Value::Quoted(crate::model::KIND_STUDIO_LOG.into()),
    ))?;
    let at = |v: &[(i64, u64)], t: i64| {
        v.binary_search_by_key(&t, |x| x.0)
            .map(|i| v[i].1)
            .unwrap_or(0)
    };
    let bars: Vec<Bar> = total
        .iter()
        .map(|(t, _)| {
            let errors = at(&err, *t);
            Bar {
                start_ms: *t,
                ok: at(&ct, *t).saturating_sub(errors),
                errors,
                logs: at(&logs, *t),
            }
        })
        .collect();

    let (who, who_more) = bounded(super::who_in(r, base.clone(), scope)?, TOP_N);
    let mut counts = Vec::new();
    for f in COUNTED {
        let rows = match r.stats(&search(base.clone()), f) {
            Ok(rows) => rows,
            // A CloudTrail path no event in the index has (no training job anywhere): nothing to count.
            Err(IndexError::Query(_)) if crate::catalog::lookup(f).is_none() => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let (rows, more) = bounded(rows, TOP_N);
        counts.push(Counts {
            field: f.to_string(),
            rows,
            more,
        });
    }

    let mut timeline = Vec::new();
    let mut timeline_more = 0u64;
    super::timeline(r, &base, scope, |row| {
        if timeline.len() < TIMELINE_LIMIT {
            timeline.push(row);
        } else {
            timeline_more += 1;
        }
        Ok(())
    })?;

    let mut not_run = req.not_run.clone();
    let audit = match &req.audit {
        None => None,
        Some(params) => {
            let audit_scope = Scope {
                filter: Some(match &scope.filter {
                    Some(f) => Node::And(vec![base.clone(), f.clone()]),
                    None => base.clone(),
                }),
                ..scope.clone()
            };
            let mut outcome = audit::audit(r, &[], params, &audit_scope)?;
            not_run.append(&mut outcome.skipped);
            outcome.heads.extend(req.sigma.iter().map(SigmaRule::head));
            outcome
                .findings
                .extend(super::sigma::run(r, &req.sigma, &audit_scope)?);
            let mut per_rule = Vec::new();
            for head in outcome.heads {
                let mine: Vec<Finding> = outcome
                    .findings
                    .iter()
                    .filter(|f| f.rule() == head.id)
                    .cloned()
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let total = mine.len();
                let mut evidence = Vec::new();
                for f in mine.iter().take(EVIDENCE_PER_RULE) {
                    let q = SearchRequest {
                        node: field("eventID", Value::Quoted(f.event_id().to_string())),
                        since_ms: None,
                        until_ms: None,
                        oldest_first: true,
                    };
                    r.for_each_hit(&q, Some(1), &[], |h| {
                        if let Ok(raw) =
                            RawValue::from_string(String::from_utf8_lossy(&h.raw).into_owned())
                        {
                            evidence.push((f.event_id().to_string(), raw));
                        }
                        Ok(())
                    })?;
                }
                let (findings, _) = bounded(mine, FINDINGS_PER_RULE);
                per_rule.push(RuleFindings {
                    head,
                    total,
                    findings,
                    evidence,
                });
            }
            Some(per_rule)
        }
    };

    Ok(Report {
        query: req.query.clone().unwrap_or_else(|| "*".into()),
        actor: req.actor.clone(),
        actor_fields,
        since: scope.since_ms.map(format_ms),
        until: scope.until_ms.map(format_ms),
        index: index.to_string(),
        events,
        first_time: first.map(format_ms),
        last_time: last.map(format_ms),
        generated: format_ms(crate::time::now_ms() / 1000 * 1000),
        version: env!("CARGO_PKG_VERSION"),
        interval_ms,
        bars,
        who,
        who_more,
        counts,
        timeline,
        timeline_more,
        audit,
        not_run,
    })
}
