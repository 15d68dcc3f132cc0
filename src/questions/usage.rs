//! `usage`: who ran what, for how long, estimated from CloudTrail alone (no prices, no billing data).
//!
//! Studio apps run from `CreateApp` to `DeleteApp`; training, processing and transform jobs from their
//! `Create*Job` to their `Stop*Job`, else at most their `stoppingCondition.maxRuntimeInSeconds` (CloudTrail
//! has no completion event, so that is an upper bound, and the row says so); notebook instances from
//! `CreateNotebookInstance`/`StartNotebookInstance` to `StopNotebookInstance`/`DeleteNotebookInstance`.
//! Whatever is still running at the end of the window is counted up to it and marked running. Failed
//! calls (an `errorCode`) start and stop nothing. Instance-hours are hours times the instance count.

use crate::catalog::names;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use super::Scope;
use crate::index::read::{Fetch, SearchRequest};
use crate::index::Reader;
use crate::query::{self, Node};
use crate::time::format_ms;
use crate::Error;

/// The events that start or stop something that costs by the hour.
const USAGE_QUERY: &str = "eventName:(CreateApp OR DeleteApp OR CreateTrainingJob OR StopTrainingJob OR CreateProcessingJob OR StopProcessingJob OR CreateTransformJob OR StopTransformJob OR CreateNotebookInstance OR StartNotebookInstance OR StopNotebookInstance OR DeleteNotebookInstance OR UpdateNotebookInstance)";

/// The instance type shown when `CreateApp` names none: SageMaker then uses the app type's default,
/// which CloudTrail does not record.
const DEFAULT_INSTANCE: &str = "(default)";

/// Milliseconds per hour.
const HOUR_MS: f64 = 3_600_000.0;

/// The columns read beside each record: who, in which domain and space.
/// The columns usage reads of each start.
const COLUMNS: [&str; 4] = [
    names::USER_PROFILE,
    names::SPACE_NAME,
    names::DOMAIN_ID,
    names::ACTOR,
];

/// What usage rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    UserProfile,
    Space,
    Actor,
    Domain,
}

impl By {
    pub(crate) fn name(self) -> &'static str {
        match self {
            By::UserProfile => "userProfile",
            By::Space => "spaceName",
            By::Actor => "actor",
            By::Domain => "domainId",
        }
    }
}

/// How an interval's end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum EndBasis {
    /// A `DeleteApp`, `Stop*Job`, `StopNotebookInstance` or `DeleteNotebookInstance` ended it.
    Stopped,
    /// A job without a stop: its maximum runtime (an upper bound).
    MaxRuntime,
    /// Still running at the end of the window: counted up to it.
    Running,
}

/// One run of one thing: an app, a job or a notebook instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Interval {
    /// `app`, `trainingJob`, `processingJob`, `transformJob` or `notebookInstance`.
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    pub instance_type: String,
    pub instance_count: u64,
    pub user_profile: Option<String>,
    pub space_name: Option<String>,
    pub domain_id: Option<String>,
    pub actor: Option<String>,
    /// Start and end within the window.
    pub start: String,
    pub end: String,
    pub end_basis: EndBasis,
    /// Instance-hours within the window.
    pub hours: f64,
    #[serde(rename = "startEventID")]
    pub start_event_id: String,
    #[serde(rename = "endEventID", skip_serializing_if = "Option::is_none")]
    pub end_event_id: Option<String>,
    #[serde(skip)]
    start_ms: i64,
    #[serde(skip)]
    end_ms: i64,
}

/// Usage summed per group and instance type.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageRow {
    /// The grouping field's name (`userProfile`, `spaceName`, `actor`, `domainId`) and value.
    pub by: &'static str,
    pub value: String,
    pub instance_type: String,
    /// Instance-hours within the window.
    pub hours: f64,
    /// How many runs (apps, jobs, notebook instance starts).
    pub runs: u64,
    /// Of those, how many are still running at the end of the window.
    pub running: u64,
    /// Of those, how many jobs are counted to their maximum runtime (no stop seen).
    pub max_runtime: u64,
    pub longest_hours: f64,
}

/// The answer: the rows, the runs behind them, and the end of the window used.
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    pub rows: Vec<UsageRow>,
    pub intervals: Vec<Interval>,
    /// The end of the window: `--until`, else the newest event in the index.
    pub as_of: String,
}

fn at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter().try_fold(v, |cur, p| cur.get(p))
}

fn s(v: &Json, path: &[&str]) -> Option<String> {
    at(v, path)
        .and_then(Json::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn n(v: &Json, path: &[&str]) -> Option<f64> {
    at(v, path).and_then(|x| {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|t| t.parse().ok()))
    })
}

/// Something started and not yet stopped.
struct Open {
    iv: Interval,
    max_end_ms: Option<i64>,
}

/// One start or stop, read from a record.
enum Step {
    Start {
        key: String,
        kind: &'static str,
        name: String,
        app_type: Option<String>,
        instance_type: String,
        count: u64,
        max_runtime_s: Option<f64>,
    },
    Stop {
        key: String,
    },
    /// `UpdateNotebookInstance`: the type the next start runs on.
    Retype {
        key: String,
        instance_type: String,
    },
}

/// What a record starts or stops; keys are per account and region, as names are.
fn step(rec: &Json) -> Option<Step> {
    if rec.get("errorCode").is_some_and(|e| !e.is_null()) {
        return None;
    }
    let name = s(rec, &["eventName"])?;
    let acct = s(rec, &["recipientAccountId"]).unwrap_or_default();
    let region = s(rec, &["awsRegion"]).unwrap_or_default();
    let rp = rec.get("requestParameters")?;
    let job = |kind: &'static str, field: &str, itype: &[&str], count: &[&str]| {
        let job_name = s(rp, &[field])?;
        Some(Step::Start {
            key: format!("{kind}/{acct}/{region}/{job_name}"),
            kind,
            name: job_name,
            app_type: None,
            instance_type: s(rp, itype).unwrap_or_else(|| DEFAULT_INSTANCE.into()),
            count: n(rp, count).map(|c| c.max(1.0) as u64).unwrap_or(1),
            max_runtime_s: n(rp, &["stoppingCondition", "maxRuntimeInSeconds"]),
        })
    };
    let stop = |kind: &str, field: &str| {
        Some(Step::Stop {
            key: format!("{kind}/{acct}/{region}/{}", s(rp, &[field])?),
        })
    };
    let app_key = || {
        let owner = s(rp, &["spaceName"])
            .map(|x| format!("space:{}", x.to_lowercase()))
            .or_else(|| {
                s(rp, &["userProfileName"]).map(|x| format!("profile:{}", x.to_lowercase()))
            })?;
        Some(format!(
            "app/{acct}/{region}/{}/{owner}/{}/{}",
            s(rp, &["domainId"])?.to_lowercase(),
            s(rp, &["appType"])?,
            s(rp, &["appName"])?.to_lowercase()
        ))
    };
    match name.as_str() {
        "CreateApp" => Some(Step::Start {
            key: app_key()?,
            kind: "app",
            name: s(rp, &["appName"])?,
            app_type: s(rp, &["appType"]),
            instance_type: s(rp, &["resourceSpec", "instanceType"])
                .unwrap_or_else(|| DEFAULT_INSTANCE.into()),
            count: 1,
            max_runtime_s: None,
        }),
        "DeleteApp" => Some(Step::Stop { key: app_key()? }),
        "CreateTrainingJob" => job(
            "trainingJob",
            "trainingJobName",
            &["resourceConfig", "instanceType"],
            &["resourceConfig", "instanceCount"],
        ),
        "CreateProcessingJob" => job(
            "processingJob",
            "processingJobName",
            &["processingResources", "clusterConfig", "instanceType"],
            &["processingResources", "clusterConfig", "instanceCount"],
        ),
        "CreateTransformJob" => job(
            "transformJob",
            "transformJobName",
            &["transformResources", "instanceType"],
            &["transformResources", "instanceCount"],
        ),
        "StopTrainingJob" => stop("trainingJob", "trainingJobName"),
        "StopProcessingJob" => stop("processingJob", "processingJobName"),
        "StopTransformJob" => stop("transformJob", "transformJobName"),
        "CreateNotebookInstance" | "StartNotebookInstance" => {
            let nb = s(rp, &["notebookInstanceName"])?;
            Some(Step::Start {
                key: format!("notebookInstance/{acct}/{region}/{nb}"),
                kind: "notebookInstance",
                name: nb,
                app_type: None,
                // StartNotebookInstance names no type: the writer keeps the last one seen.
                instance_type: s(rp, &["instanceType"]).unwrap_or_default(),
                count: 1,
                max_runtime_s: None,
            })
        }
        "StopNotebookInstance" | "DeleteNotebookInstance" => {
            stop("notebookInstance", "notebookInstanceName")
        }
        "UpdateNotebookInstance" => Some(Step::Retype {
            key: format!(
                "notebookInstance/{acct}/{region}/{}",
                s(rp, &["notebookInstanceName"])?
            ),
            instance_type: s(rp, &["instanceType"])?,
        }),
        _ => None,
    }
}

/// Clip an interval to the window and compute its hours; None when nothing of it is inside.
fn close(mut iv: Interval, end_ms: i64, basis: EndBasis, since: Option<i64>) -> Option<Interval> {
    let start = since.map_or(iv.start_ms, |s| iv.start_ms.max(s));
    if end_ms < start {
        return None;
    }
    iv.start_ms = start;
    iv.end_ms = end_ms;
    iv.start = format_ms(start);
    iv.end = format_ms(end_ms);
    iv.end_basis = basis;
    // Rounded to the hundredth of an hour: the estimate is no finer than that.
    let h = (end_ms - start) as f64 / HOUR_MS * iv.instance_count as f64;
    iv.hours = (h * 100.0).round() / 100.0;
    Some(iv)
}

/// The newest event's time in the index.
fn newest_ms(r: &Reader, scope: &Scope) -> Result<Option<i64>, Error> {
    let req = SearchRequest {
        node: Node::All,
        since_ms: None,
        until_ms: scope.until_ms,
        oldest_first: false,
    };
    let mut newest = None;
    r.for_each_hit_with(&req, Some(1), &[], Fetch::Columns, |h| {
        newest = Some(h.time_ms);
        Ok(())
    })?;
    Ok(newest)
}

/// Usage in the scope, grouped by `by`.
pub(crate) fn usage(r: &Reader, by: By, scope: &Scope) -> Result<Usage, Error> {
    let Some(end) = scope.until_ms.map(Some).unwrap_or(newest_ms(r, scope)?) else {
        return Ok(Usage::default());
    };
    let node = query::parse(USAGE_QUERY)?;
    // From the beginning: an app created before the window and still up counts inside it.
    let req = SearchRequest {
        node: match &scope.filter {
            Some(f) => Node::And(vec![node, f.clone()]),
            None => node,
        },
        since_ms: None,
        // --until as given (its end is exclusive); else everything, up to and with the newest event.
        until_ms: scope.until_ms,
        oldest_first: true,
    };
    let mut open: BTreeMap<String, Open> = BTreeMap::new();
    let mut last_type: BTreeMap<String, String> = BTreeMap::new();
    let mut done: Vec<Interval> = Vec::new();
    let since = scope.since_ms;
    r.for_each_chunk(&req, &COLUMNS, |hits| {
        for h in hits {
            let rec: Json = serde_json::from_slice(&h.raw).unwrap_or(Json::Null);
            let Some(st) = step(&rec) else { continue };
            match st {
                Step::Start {
                    key,
                    kind,
                    name,
                    app_type,
                    instance_type,
                    count,
                    max_runtime_s,
                } => {
                    if let Some(o) = open.get(&key) {
                        match o.max_end_ms {
                            // A job past its maximum runtime has ended by now: close it there.
                            Some(m) if m < h.time_ms => {
                                if let Some(o) = open.remove(&key) {
                                    done.extend(close(o.iv, m, EndBasis::MaxRuntime, since));
                                }
                            }
                            // A second start while running (a retried call): the first stands.
                            _ => continue,
                        }
                    }
                    let instance_type = if instance_type.is_empty() {
                        last_type
                            .get(&key)
                            .cloned()
                            .unwrap_or_else(|| DEFAULT_INSTANCE.into())
                    } else {
                        last_type.insert(key.clone(), instance_type.clone());
                        instance_type
                    };
                    let (user_profile, space_name, domain_id, actor) = (
                        h.owned(names::USER_PROFILE),
                        h.owned(names::SPACE_NAME),
                        h.owned(names::DOMAIN_ID),
                        h.owned(names::ACTOR),
                    );
                    open.insert(
                        key,
                        Open {
                            max_end_ms: max_runtime_s
                                .filter(|x| x.is_finite() && *x > 0.0)
                                .map(|x| h.time_ms.saturating_add((x * 1000.0) as i64)),
                            iv: Interval {
                                kind,
                                name,
                                app_type,
                                instance_type,
                                instance_count: count,
                                user_profile,
                                space_name,
                                domain_id,
                                actor,
                                start: String::new(),
                                end: String::new(),
                                end_basis: EndBasis::Running,
                                hours: 0.0,
                                start_event_id: h.event_id,
                                end_event_id: None,
                                start_ms: h.time_ms,
                                end_ms: h.time_ms,
                            },
                        },
                    );
                }
                Step::Stop { key } => {
                    if let Some(o) = open.remove(&key) {
                        let (end_ms, basis, id) = match o.max_end_ms {
                            Some(m) if m < h.time_ms => (m, EndBasis::MaxRuntime, None),
                            _ => (h.time_ms, EndBasis::Stopped, Some(h.event_id)),
                        };
                        let mut iv = o.iv;
                        iv.end_event_id = id;
                        done.extend(close(iv, end_ms, basis, since));
                    }
                }
                Step::Retype { key, instance_type } => {
                    last_type.insert(key, instance_type);
                }
            }
        }
        Ok(())
    })?;
    for (_, o) in open {
        let (end_ms, basis) = match o.max_end_ms {
            Some(m) if m < end => (m, EndBasis::MaxRuntime),
            _ => (end, EndBasis::Running),
        };
        done.extend(close(o.iv, end_ms, basis, since));
    }
    // Largest first: instance-hours, then the start, then the name.
    done.sort_by(|a, b| {
        b.hours
            .total_cmp(&a.hours)
            .then(a.start_ms.cmp(&b.start_ms))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut groups: BTreeMap<(String, String), UsageRow> = BTreeMap::new();
    for iv in &done {
        let value = match by {
            By::UserProfile => iv.user_profile.clone(),
            By::Space => iv.space_name.clone(),
            By::Actor => iv.actor.clone(),
            By::Domain => iv.domain_id.clone(),
        }
        .unwrap_or_else(|| "(none)".into());
        let row = groups
            .entry((value.clone(), iv.instance_type.clone()))
            .or_insert_with(|| UsageRow {
                by: by.name(),
                value,
                instance_type: iv.instance_type.clone(),
                hours: 0.0,
                runs: 0,
                running: 0,
                max_runtime: 0,
                longest_hours: 0.0,
            });
        row.hours += iv.hours;
        row.runs += 1;
        row.running += u64::from(iv.end_basis == EndBasis::Running);
        row.max_runtime += u64::from(iv.end_basis == EndBasis::MaxRuntime);
        row.longest_hours = row.longest_hours.max(iv.hours);
    }
    let mut rows: Vec<UsageRow> = groups
        .into_values()
        .map(|mut r| {
            r.hours = (r.hours * 100.0).round() / 100.0;
            r
        })
        .collect();
    rows.sort_by(|a, b| {
        b.hours
            .total_cmp(&a.hours)
            .then_with(|| a.value.cmp(&b.value))
            .then_with(|| a.instance_type.cmp(&b.instance_type))
    });
    Ok(Usage {
        rows,
        intervals: done,
        as_of: format_ms(end),
    })
}
