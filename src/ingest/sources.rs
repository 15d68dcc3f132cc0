//! One function per kind of source: list what is new, fetch it into the pipeline, summarise.
//!
//! Each takes the one [`Writer`] of the run, so any number of sources can share a job and a commit cadence.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver};
use futures::StreamExt;

use super::{
    process_cloudtrail, read_local, run, ObjectError, Outcome, Summary, IN_FLIGHT_PER_THREAD,
};
use crate::decode;
use crate::index::write::prepare;
use crate::index::{Fields, Writer};
use crate::messages::Messages;
use crate::model::ObjectRef;
use crate::normalise::studio_log::{log_event, GroupContext};
use crate::source::aws::{self, AwsOptions};
use crate::source::s3::{self, S3Url, TrailFilter};
use crate::source::Location;
use crate::source::{cwlogs, local};
use crate::Error;

/// Default number of objects fetched at once from S3: enough to hide request latency, few enough for
/// small machines and the API's per-prefix rates.
pub(crate) const DEFAULT_CONCURRENCY: usize = 16;

/// The log group SageMaker Studio writes its app logs to.
pub(crate) const DEFAULT_LOG_GROUP: &str = "/aws/sagemaker/studio";
/// Streams read at once from CloudWatch Logs: GetLogEvents allows 25 requests/s per account and region.
pub(crate) const LOG_STREAM_CONCURRENCY: usize = 4;
/// The stream CloudWatch Logs writes when an export task checks the bucket; not a Studio stream.
const EXPORT_WRITE_TEST: &str = "aws-logs-write-test";
/// Name prefix of a stream's ledger entry.
const STREAM_LEDGER_PREFIX: &str = "cloudwatch-logs:";

/// A runtime for the AWS calls of one source.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            what: "starting the async runtime".into(),
            source: e,
        })
}

/// The items whose object (at this version) is not in the ledger, and how many were already done.
fn not_done<T>(
    items: Vec<T>,
    done: &std::collections::HashSet<String>,
    obj: impl Fn(&T) -> &ObjectRef,
) -> (Vec<T>, u64) {
    let listed = items.len();
    let todo: Vec<T> = items
        .into_iter()
        .filter(|i| !done.contains(&obj(i).ledger_key()))
        .collect();
    let unchanged = (listed - todo.len()) as u64;
    (todo, unchanged)
}

/// Run fetched items through the pipeline under a progress bar that messages are routed around.
fn drive<T: Send>(
    writer: &mut Writer,
    rx: Receiver<(ObjectRef, Result<T, String>)>,
    process: impl Fn(&Fields, ObjectRef, T) -> Outcome + Sync,
    msgs: &Messages,
    summary: &mut Summary,
    label: &str,
    total: Option<u64>,
) -> Result<(), Error> {
    let pb = crate::render::progress::bar(total, label);
    msgs.attach(Some(pb.clone()));
    let res = run(writer, rx, process, msgs, summary, &pb);
    pb.finish_and_clear();
    msgs.attach(None);
    res
}

/// CloudTrail from local files and folders.
pub(crate) fn cloudtrail_local(
    writer: &mut Writer,
    paths: &[PathBuf],
    filter: &TrailFilter,
    msgs: &Messages,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let mut listing = local::cloudtrail_listing(paths);
    let before = listing.objects.len();
    listing.objects.retain(|o| filter.allows_path(&o.obj.name));
    let outside = (before - listing.objects.len()) as u64;
    let mut summary = Summary {
        source: paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        objects_listed: listing.objects.len() as u64,
        ..Default::default()
    };
    for (why, n) in &listing.skipped {
        summary.skip(why, *n);
    }
    summary.skip("outside --accounts/--regions/--since/--until", outside);
    for (p, e) in &listing.errors {
        summary.objects_failed += 1;
        msgs.error(p, e);
    }
    let done = writer.done_objects()?;
    let (todo, unchanged) = not_done(listing.objects, &done, |o| &o.obj);
    summary.objects_unchanged = unchanged;
    let total = Some(todo.len() as u64);
    drive(
        writer,
        read_local(todo, writer.fields().max_inflated),
        |f, o, b: Vec<u8>| process_cloudtrail(f, o, &b),
        msgs,
        &mut summary,
        "cloudtrail",
        total,
    )?;
    summary.finish(started);
    Ok(summary)
}

/// Run `fetch` over `items`, at most `concurrency` at once, on a thread of its own; results go into a
/// bounded channel, whose blocking send is the backpressure: fetching pauses while decode is behind.
fn spawn_fetch<I, T, F, Fut>(
    rt: tokio::runtime::Runtime,
    items: Vec<I>,
    concurrency: usize,
    fetch: F,
) -> Receiver<(ObjectRef, Result<T, String>)>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = (ObjectRef, Result<T, String>)> + Send,
{
    let threads = rayon::current_num_threads().max(1);
    let (tx, rx) = bounded(threads * IN_FLIGHT_PER_THREAD);
    std::thread::spawn(move || {
        rt.block_on(async {
            let mut stream = futures::stream::iter(items)
                .map(fetch)
                .buffer_unordered(concurrency.max(1));
            while let Some(item) = stream.next().await {
                if tx.send(item).is_err() {
                    return;
                }
            }
        });
    });
    rx
}

/// Fetch S3 objects with bounded concurrency into a bounded channel.
fn fetch_s3(
    client: s3::Client,
    rt: tokio::runtime::Runtime,
    objects: Vec<s3::S3Object>,
    concurrency: usize,
    max_bytes: u64,
) -> Receiver<(ObjectRef, Result<Vec<u8>, String>)> {
    spawn_fetch(rt, objects, concurrency, move |o: s3::S3Object| {
        let c = client.clone();
        async move {
            // An object over the limit is refused by its listed size, never fetched.
            if o.obj.size > max_bytes {
                let why = format!(
                    "{} MiB, more than the limit (--max-object-mb {})",
                    o.obj.size / (1024 * 1024),
                    max_bytes / (1024 * 1024)
                );
                return (o.obj, Err(why));
            }
            let r = s3::fetch(&c, &o.bucket, &o.key).await;
            (o.obj, r)
        }
    })
}

/// CloudTrail from S3.
pub(crate) fn cloudtrail_s3(
    writer: &mut Writer,
    url: &S3Url,
    filter: &TrailFilter,
    opts: &AwsOptions,
    concurrency: usize,
    msgs: &Messages,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let rt = runtime()?;
    let conf = rt.block_on(aws::load(opts));
    let client = s3::client(&conf);
    let listing = rt.block_on(s3::list_trail(&client, url, filter));
    let mut summary = Summary {
        source: format!("s3://{}/{}", url.bucket, url.prefix),
        objects_listed: listing.objects.len() as u64,
        prefixes_listed: listing.prefixes_listed.clone(),
        ..Default::default()
    };
    for (why, n) in &listing.skipped {
        summary.skip(why, *n);
    }
    for (p, e) in &listing.errors {
        summary.objects_failed += 1;
        msgs.error(p, &format!("cannot list: {e}"));
    }
    let done = writer.done_objects()?;
    let (todo, unchanged) = not_done(listing.objects, &done, |o| &o.obj);
    summary.objects_unchanged = unchanged;
    let total = Some(todo.len() as u64);
    let rx = fetch_s3(client, rt, todo, concurrency, writer.fields().max_inflated);
    drive(
        writer,
        rx,
        |f, o, b: Vec<u8>| process_cloudtrail(f, o, &b),
        msgs,
        &mut summary,
        "s3",
        total,
    )?;
    summary.finish(started);
    Ok(summary)
}

/// Where Studio log events come from and belong.
#[derive(Debug, Clone)]
pub(crate) struct LogsConfig {
    pub log_group: String,
    pub stream_prefix: Option<String>,
    pub since_ms: Option<i64>,
    pub account: Option<String>,
    pub aws: AwsOptions,
}

/// Log events → documents, with ordinals among identical (timestamp, message) pairs.
fn log_outcome(
    fields: &Fields,
    ctx: &GroupContext,
    obj: ObjectRef,
    lines: Vec<(String, i64, String)>,
) -> Outcome {
    let mut docs = Vec::with_capacity(lines.len());
    let mut seen: HashMap<(String, i64, String), u32> = HashMap::new();
    for (stream, ts, msg) in lines {
        let ord = seen.entry((stream.clone(), ts, msg.clone())).or_insert(0);
        docs.push(prepare(fields, log_event(ctx, &stream, ts, &msg, *ord)));
        *ord += 1;
    }
    let mut o = Outcome::new(obj);
    o.docs = docs;
    o
}

/// Studio logs from the CloudWatch Logs API, incrementally per stream.
pub(crate) fn studio_logs_api(
    writer: &mut Writer,
    cfg: &LogsConfig,
    msgs: &Messages,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let rt = runtime()?;
    let conf = rt.block_on(aws::load(&cfg.aws));
    let client = cwlogs::client(&conf);
    let streams = rt
        .block_on(cwlogs::streams(
            &client,
            &cfg.log_group,
            cfg.stream_prefix.as_deref(),
        ))
        .map_err(|e| Error::Source(format!("log group {}: {e}", cfg.log_group)))?;
    let arn = rt.block_on(cwlogs::group_account_region(&client, &cfg.log_group));
    let ctx = GroupContext {
        log_group: cfg.log_group.clone(),
        account: cfg
            .account
            .clone()
            .or_else(|| arn.as_ref().map(|a| a.2.clone())),
        region: arn
            .as_ref()
            .map(|a| a.1.clone())
            .or_else(|| conf.region().map(|r| r.to_string())),
        partition: arn.as_ref().map(|a| a.0.clone()),
    };
    // Checkpoints: the last timestamp fully ingested per stream.
    let mut checkpoints: HashMap<String, i64> = HashMap::new();
    for key in writer.done_objects()? {
        if let Some(rest) = key.strip_prefix(STREAM_LEDGER_PREFIX) {
            if let Some((name, ts)) = rest.split_once('\u{1f}') {
                if let Ok(ts) = ts.parse() {
                    checkpoints.insert(name.to_string(), ts);
                }
            }
        }
    }
    let mut summary = Summary {
        source: format!("cloudwatch-logs:{}", cfg.log_group),
        objects_listed: streams.len() as u64,
        ..Default::default()
    };
    let mut todo = Vec::new();
    for s in streams {
        let id = format!("{}:{}", cfg.log_group, s.name);
        let cp = checkpoints.get(&id).copied();
        if let (Some(cp), Some(last)) = (cp, s.last_event_ms) {
            if last <= cp {
                summary.objects_unchanged += 1;
                continue;
            }
        }
        // Re-read from the checkpoint's own millisecond: ordinals there are recomputed identically and
        // the overlap dedups by id.
        let start = match (cp, cfg.since_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        todo.push((s.name, id, start, cp));
    }
    let total = Some(todo.len() as u64);
    let group = cfg.log_group.clone();
    let rx = spawn_fetch(
        rt,
        todo,
        LOG_STREAM_CONCURRENCY,
        move |(name, id, start, cp): (String, String, Option<i64>, Option<i64>)| {
            let c = client.clone();
            let group = group.clone();
            async move {
                let r = cwlogs::read_stream(&c, &group, &name, start).await;
                let last = r
                    .as_ref()
                    .ok()
                    .and_then(|ev| ev.iter().map(|e| e.0).max())
                    .or(cp)
                    .unwrap_or(0);
                let obj = ObjectRef {
                    name: format!("{STREAM_LEDGER_PREFIX}{id}"),
                    version: last.to_string(),
                    size: 0,
                };
                (obj, r.map(|ev| (name, ev)))
            }
        },
    );
    drive(
        writer,
        rx,
        |f, o, (name, ev): (String, Vec<(i64, String)>)| {
            let lines = ev
                .into_iter()
                .map(|(ts, m)| (name.clone(), ts, m))
                .collect();
            log_outcome(f, &ctx, o, lines)
        },
        msgs,
        &mut summary,
        "studio-logs",
        total,
    )?;
    summary.finish(started);
    Ok(summary)
}

/// The stream an export-to-S3 path implies: `.../<domain>/<name>/<AppType>/<app>[/LifecycleConfigOnStart]/000000.gz`.
pub(crate) fn stream_from_export_path(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('/').collect();
    if segs.len() < 2 {
        return None;
    }
    let dirs = &segs[..segs.len() - 1];
    let n = if dirs.last() == Some(&"LifecycleConfigOnStart") {
        5
    } else {
        4
    };
    if dirs.len() < n {
        return None;
    }
    let s = &dirs[dirs.len() - n..];
    s[0].starts_with("d-").then(|| s.join("/"))
}

fn is_log_file(name: &str) -> bool {
    !name.contains(EXPORT_WRITE_TEST)
        && [".gz", ".json", ".log"]
            .iter()
            .any(|e| name.to_ascii_lowercase().ends_with(e))
}

fn log_file_outcome(fields: &Fields, ctx: &GroupContext, obj: ObjectRef, bytes: &[u8]) -> Outcome {
    let (text, gz_err) = decode::gunzip_limited(bytes, fields.max_inflated);
    let stream = stream_from_export_path(&obj.name);
    let d = decode::studio_log::decode(&text, stream.as_deref());
    let mut errors: Vec<ObjectError> = gz_err.into_iter().map(ObjectError::Gunzip).collect();
    errors.extend(d.errors.into_iter().map(ObjectError::LogLines));
    let lines = d
        .lines
        .into_iter()
        .map(|l| {
            (
                l.stream.unwrap_or_else(|| "unknown".into()),
                l.timestamp_ms,
                l.message,
            )
        })
        .collect();
    let mut o = log_outcome(fields, ctx, obj, lines);
    o.errors = errors;
    o
}

/// Studio logs from files: the export-to-S3 layout or `aws logs filter-log-events` JSON, local or in S3.
pub(crate) fn studio_logs_files(
    writer: &mut Writer,
    inputs: &[Location],
    cfg: &LogsConfig,
    concurrency: usize,
    msgs: &Messages,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let ctx = GroupContext {
        log_group: cfg.log_group.clone(),
        account: cfg.account.clone(),
        region: cfg.aws.region.clone(),
        partition: None,
    };
    let mut summary = Summary {
        source: inputs
            .iter()
            .map(|i| match i {
                Location::Local(p) => p.display().to_string(),
                Location::S3(u) => u.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        ..Default::default()
    };
    let done = writer.done_objects()?;
    let local_paths: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            Location::Local(p) => Some(p.clone()),
            Location::S3(_) => None,
        })
        .collect();
    let listing = local::list(&local_paths, |n| {
        if is_log_file(n) {
            crate::source::Verdict::Read
        } else {
            crate::source::Verdict::SkipNotJson
        }
    });
    for (p, e) in &listing.errors {
        summary.objects_failed += 1;
        msgs.error(p, e);
    }
    summary.objects_listed += listing.objects.len() as u64;
    for (why, n) in &listing.skipped {
        summary.skip(why, *n);
    }
    let (todo, unchanged) = not_done(listing.objects, &done, |o| &o.obj);
    summary.objects_unchanged += unchanged;
    let total = Some(todo.len() as u64);
    drive(
        writer,
        read_local(todo, writer.fields().max_inflated),
        |f, o, b: Vec<u8>| log_file_outcome(f, &ctx, o, &b),
        msgs,
        &mut summary,
        "studio-logs",
        total,
    )?;
    for url in inputs.iter().filter_map(|i| match i {
        Location::S3(u) => Some(u),
        Location::Local(_) => None,
    }) {
        let rt = runtime()?;
        let conf = rt.block_on(aws::load(&cfg.aws));
        let client = s3::client(&conf);
        let objects = match rt.block_on(s3::list_under(
            &client,
            &url.bucket,
            &url.prefix,
            is_log_file,
        )) {
            Ok((objects, skipped)) => {
                summary.skip("name not a Studio log export", skipped);
                objects
            }
            Err(e) => {
                summary.objects_failed += 1;
                msgs.error(&url.to_string(), &format!("cannot list: {e}"));
                continue;
            }
        };
        summary.objects_listed += objects.len() as u64;
        let (todo, unchanged) = not_done(objects, &done, |o| &o.obj);
        summary.objects_unchanged += unchanged;
        let total = Some(todo.len() as u64);
        let rx = fetch_s3(client, rt, todo, concurrency, writer.fields().max_inflated);
        drive(
            writer,
            rx,
            |f, o, b: Vec<u8>| log_file_outcome(f, &ctx, o, &b),
            msgs,
            &mut summary,
            "studio-logs",
            total,
        )?;
    }
    summary.finish(started);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_paths_name_their_stream() {
        assert_eq!(
            stream_from_export_path("exports/7f3c/d-abc/alice/JupyterServer/default/000000.gz")
                .as_deref(),
            Some("d-abc/alice/JupyterServer/default")
        );
        assert_eq!(
            stream_from_export_path(
                "x/t/d-abc/team/JupyterLab/default/LifecycleConfigOnStart/000001.gz"
            )
            .as_deref(),
            Some("d-abc/team/JupyterLab/default/LifecycleConfigOnStart")
        );
        assert_eq!(stream_from_export_path("logs.json"), None);
        assert!(!is_log_file("exports/t/aws-logs-write-test"));
        assert!(is_log_file(
            "exports/t/d-1/a/JupyterServer/default/000000.gz"
        ));
    }
}
