//! The command line: parse flags, resolve them into a validated configuration, run one command, and map
//! the outcome to an exit code. A closed pipe (`| head`) ends the program quietly.

pub(crate) mod args;
pub(crate) mod config;
pub(crate) mod job;

use std::io::Write;
use std::time::Instant;

use clap::Parser;

use crate::exit;
use crate::index::read::SearchRequest;
use crate::index::{Reader, Writer};
use crate::ingest::sources;
use crate::ingest::Summary;
use crate::messages::Messages;
use crate::questions;
use crate::render::{self, hits::HitPrinter};
use crate::Error;
use args::{Cli, Command, SummaryFormat};
use config::JobSource;

/// Run the program; returns the exit code.
pub fn main() -> i32 {
    // Records are evidence and may hold secrets: nothing sagetrail writes is readable by others.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; no memory is involved.
    unsafe {
        libc::umask(0o077);
    }
    // An empty AWS_ENDPOINT_URL means no endpoint; the SDK would read it as a URL and fail. Removed
    // here, before any thread starts.
    if std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("AWS_ENDPOINT_URL");
    }
    let cli = Cli::parse();
    let index_dir = config::index_dir(cli.index.clone()).ok();
    // A panic (a garbled index file that tantivy trusted, or a bug) becomes one line and exit 2, not a
    // backtrace: the hook keeps the message for the line below instead of printing it.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| l.file().to_string())
            .unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some((msg, at));
    }));
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)));
    match res {
        Ok(Ok(code)) => code,
        Ok(Err(e)) if is_broken_pipe(&e) => exit::OK,
        Ok(Err(e)) => {
            render::error_line(&e.to_string());
            exit::FATAL
        }
        Err(_) => {
            let (msg, at) = PANIC
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_default();
            let in_index = [
                "tantivy",
                "ownedbytes",
                "columnar",
                "sstable",
                "bitpacker",
                "fastfield",
            ]
            .iter()
            .any(|c| at.contains(c));
            let line = match (in_index, &index_dir) {
                (true, Some(dir)) => crate::index::IndexError::Damaged {
                    dir: dir.clone(),
                    detail: msg,
                }
                .to_string(),
                _ => format!("internal error: {msg} (at {at}); please report it"),
            };
            render::error_line(&line);
            exit::FATAL
        }
    }
}

/// The message of the last panic, kept by the hook `main` installs.
static PANIC: std::sync::Mutex<Option<(String, String)>> = std::sync::Mutex::new(None);

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<i32, Error> {
    if let Command::Ingest(a) = cli.command {
        return ingest(cli.index, a);
    }
    let index = config::index_dir(cli.index)?;
    match cli.command {
        Command::Ingest(_) => unreachable!("handled above"),
        Command::Search(a) => {
            let w = config::window(&a.window)?;
            let node = config::parse_query(a.query.as_deref())?;
            let reader = Reader::open(&index)?;
            let req = SearchRequest {
                node,
                since_ms: w.since_ms,
                until_ms: w.until_ms,
                oldest_first: a.oldest_first,
            };
            let stdout = std::io::stdout();
            if a.count {
                writeln!(stdout.lock(), "{}", reader.count(&req)?)?;
                return Ok(exit::OK);
            }
            if a.histogram {
                let (ms, rows) =
                    reader.histogram(&req, crate::time::Interval::Auto, MAX_HISTOGRAM_BUCKETS)?;
                // Above a table; on stderr beside JSON or CSV, which must stay one kind of line.
                if a.format == render::Format::Table {
                    render::stats::histogram(&rows, ms, render::Format::Table, stdout.lock())?;
                } else {
                    render::stats::histogram(
                        &rows,
                        ms,
                        render::Format::Table,
                        std::io::stderr().lock(),
                    )?;
                }
            }
            let limit = if a.all {
                None
            } else {
                Some(a.limit.unwrap_or(config::DEFAULT_LIMIT))
            };
            let mut printer = HitPrinter::new(a.format, std::io::BufWriter::new(stdout.lock()))?;
            let mut shown = 0usize;
            reader.for_each_hit(&req, limit, &render::hits::COLUMNS, |h| {
                shown += 1;
                printer.hit(&h)
            })?;
            printer.finish()?;
            if let Some(l) = limit {
                if shown == l {
                    let total = reader.count(&req)?;
                    if total > l as u64 {
                        render::notice(&format!(
                            "showing {l} of {total} hits; use --limit N or --all for more"
                        ));
                    }
                }
            }
            Ok(exit::OK)
        }
        Command::Stats(a) => {
            let w = config::window(&a.window)?;
            let node = config::parse_query(a.query.as_deref())?;
            let reader = Reader::open(&index)?;
            let req = SearchRequest {
                node,
                since_ms: w.since_ms,
                until_ms: w.until_ms,
                oldest_first: false,
            };
            if a.by == crate::catalog::names::EVENT_TIME || a.interval.is_some() {
                if a.by != crate::catalog::names::EVENT_TIME {
                    return Err(Error::Usage(format!(
                        "--interval counts per time interval: use it with --by eventTime, not --by {}",
                        a.by
                    )));
                }
                let v = a.interval.as_deref().unwrap_or("auto");
                let interval = crate::time::parse_interval(v).map_err(|_| {
                    Error::Usage(format!(
                        "--interval {v:?}: use 15m, 1h, 1d, 1w, 30s or auto"
                    ))
                })?;
                let (ms, rows) = reader.histogram(&req, interval, MAX_HISTOGRAM_BUCKETS)?;
                render::stats::histogram(&rows, ms, a.format, std::io::stdout().lock())?;
                return Ok(exit::OK);
            }
            let mut rows = reader.stats(&req, &a.by)?;
            if let Some(t) = a.top {
                rows.truncate(t);
            }
            render::stats::print(&rows, &a.by, a.format, std::io::stdout().lock())?;
            Ok(exit::OK)
        }
        Command::Verify => {
            let segments = crate::index::verify(&index)?;
            render::notice(&format!(
                "index {}: {segments} segment(s), every checksum matches and every segment reads",
                index.display()
            ));
            Ok(exit::OK)
        }
        Command::Info(a) => {
            let reader = Reader::open(&index)?;
            render::info::print(&reader.info()?, a.format, std::io::stdout().lock())?;
            Ok(exit::OK)
        }
        Command::Who(a) => {
            let scope = config::scope(&a.scope.window, a.scope.where_.as_deref())?;
            let reader = Reader::open(&index)?;
            let rows = questions::who(&reader, &a.action, &scope)?;
            render::answers::who(
                &rows,
                a.scope.format,
                std::io::BufWriter::new(std::io::stdout().lock()),
            )?;
            Ok(exit::OK)
        }
        Command::Activity(a) => {
            let scope = config::scope(&a.scope.window, a.scope.where_.as_deref())?;
            let reader = Reader::open(&index)?;
            let (matched, node) = questions::resolve_id(&reader, &a.id)?;
            render::notice(&format!("{} matched {}", a.id, matched.join(", ")));
            let rows = questions::activity(&reader, &node, &scope)?;
            let out = std::io::stdout();
            if !(a.events && a.scope.format == render::Format::Json) {
                render::answers::activity(&rows, a.scope.format, out.lock())?;
            }
            if a.events {
                let req = SearchRequest {
                    node: match scope.filter {
                        Some(f) => crate::query::Node::And(vec![node, f]),
                        None => node,
                    },
                    since_ms: scope.since_ms,
                    until_ms: scope.until_ms,
                    oldest_first: true,
                };
                let mut printer =
                    HitPrinter::new(a.scope.format, std::io::BufWriter::new(out.lock()))?;
                reader.for_each_hit(&req, None, &render::hits::COLUMNS, |h| printer.hit(&h))?;
                printer.finish()?;
            }
            Ok(exit::OK)
        }
        Command::Timeline(a) => {
            let scope = config::scope(&a.scope.window, a.scope.where_.as_deref())?;
            let reader = Reader::open(&index)?;
            let (matched, node) = questions::resolve_id(&reader, &a.id)?;
            render::notice(&format!("{} matched {}", a.id, matched.join(", ")));
            let mut p = render::answers::TimelinePrinter::new(
                a.scope.format,
                std::io::BufWriter::new(std::io::stdout().lock()),
            )?;
            questions::timeline(&reader, &node, &scope, |r| p.row(&r))?;
            p.finish()?;
            Ok(exit::OK)
        }
        Command::Report(a) => {
            let scope = config::scope(&a.window, a.query.as_deref())?;
            let reader = Reader::open(&index)?;
            let mut request = questions::report::ReportRequest {
                query: a.query.clone(),
                actor: a.actor.clone(),
                audit: None,
                sigma: Vec::new(),
                not_run: Vec::new(),
            };
            let mut partial = false;
            if a.audit {
                request.audit = Some(config::audit_params(&a.params)?);
                let ids: Vec<String> = questions::audit::rules()?
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                let sigma = questions::sigma::load(&a.sigma, &ids);
                for n in &sigma.not_run {
                    render::notice(&format!(
                        "sigma rule {} ({}) not run: {}",
                        n.rule, n.file, n.reason
                    ));
                    partial |= n.kind != questions::sigma::NotRunKind::OtherLogSource;
                    request
                        .not_run
                        .push((format!("{} ({})", n.rule, n.file), n.reason.clone()));
                }
                request.sigma = sigma.rules;
            }
            let report =
                questions::report::gather(&reader, &request, &scope, &index.display().to_string())?;
            if a.out.as_os_str() == "-" {
                render::html::write(&report, std::io::stdout().lock())?;
            } else {
                write_whole(&a.out, |f| render::html::write(&report, f))?;
                render::notice(&format!(
                    "report {}: {} events, {} actors",
                    a.out.display(),
                    report.events,
                    report.who.len() + report.who_more
                ));
            }
            Ok(if partial { exit::PARTIAL } else { exit::OK })
        }
        Command::Lake(a) => lake(a.command),
        Command::Usage(a) => {
            let scope = config::scope(&a.scope.window, a.scope.where_.as_deref())?;
            let reader = Reader::open(&index)?;
            let by = match a.by {
                args::UsageBy::UserProfile => questions::usage::By::UserProfile,
                args::UsageBy::Space => questions::usage::By::Space,
                args::UsageBy::Actor => questions::usage::By::Actor,
                args::UsageBy::Domain => questions::usage::By::Domain,
            };
            let u = questions::usage::usage(&reader, by, &scope)?;
            render::notice(&format!(
                "usage up to {} (estimates from CloudTrail: no prices, no billing data)",
                if u.as_of.is_empty() { "-" } else { &u.as_of }
            ));
            let out = std::io::stdout().lock();
            if a.runs {
                render::answers::usage_runs(&u.intervals, a.scope.format, out)?;
            } else {
                render::answers::usage(&u, a.scope.format, out)?;
            }
            Ok(exit::OK)
        }
        Command::Audit(a) => {
            let rules = questions::audit::rules()?;
            let builtin_ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
            let sigma = questions::sigma::load(&a.sigma, &builtin_ids);
            // Every Sigma rule not run is said, with its reason; none is dropped silently.
            for n in &sigma.not_run {
                let what = if n.rule == n.file {
                    n.file.clone()
                } else {
                    format!("{} ({})", n.rule, n.file)
                };
                render::notice(&format!("sigma rule {what} not run: {}", n.reason));
            }
            let sigma_failed = sigma
                .not_run
                .iter()
                .any(|n| n.kind != questions::sigma::NotRunKind::OtherLogSource);
            if a.list {
                let mut heads: Vec<questions::audit::RuleHead> = if a.sigma_only {
                    Vec::new()
                } else {
                    rules.iter().map(questions::audit::RuleHead::of).collect()
                };
                heads.extend(sigma.rules.iter().map(|r| r.head()));
                render::answers::rule_list(
                    &rules,
                    &heads,
                    a.scope.format,
                    std::io::stdout().lock(),
                )?;
                return Ok(if sigma_failed {
                    exit::PARTIAL
                } else {
                    exit::OK
                });
            }
            // --rule picks among built-in and Sigma ids alike; an id that is neither is a usage error.
            let sigma_ids: Vec<&str> = sigma.rules.iter().map(|r| r.id.as_str()).collect();
            for id in &a.rules {
                if !builtin_ids.contains(id) && !sigma_ids.contains(&id.as_str()) {
                    return Err(Error::Usage(format!(
                        "no rule {id:?} (see `sagetrail audit --list`)"
                    )));
                }
            }
            let picked_builtin: Vec<String> = a
                .rules
                .iter()
                .filter(|id| builtin_ids.contains(id))
                .cloned()
                .collect();
            let run_builtin = !a.sigma_only && (a.rules.is_empty() || !picked_builtin.is_empty());
            let sigma_rules: Vec<questions::sigma::SigmaRule> = sigma
                .rules
                .into_iter()
                .filter(|r| a.rules.is_empty() || a.rules.contains(&r.id))
                .collect();
            let params = config::audit_params(&a.params)?;
            let scope = config::scope(&a.scope.window, a.scope.where_.as_deref())?;
            let reader = Reader::open(&index)?;
            let mut outcome = if run_builtin {
                questions::audit::audit(&reader, &picked_builtin, &params, &scope)?
            } else {
                Default::default()
            };
            for (rule, why) in &outcome.skipped {
                render::notice(&format!("rule {rule} not run: {why}"));
            }
            outcome.heads.extend(sigma_rules.iter().map(|r| r.head()));
            outcome
                .findings
                .extend(questions::sigma::run(&reader, &sigma_rules, &scope)?);
            render::answers::findings(
                &outcome.heads,
                &outcome.findings,
                a.scope.format,
                std::io::BufWriter::new(std::io::stdout().lock()),
            )?;
            Ok(if !outcome.findings.is_empty() {
                exit::FINDINGS
            } else if sigma_failed {
                exit::PARTIAL
            } else {
                exit::OK
            })
        }
    }
}

fn engine(e: args::LakeEngine) -> crate::lake::sql::Engine {
    use crate::lake::sql::Engine;
    match e {
        args::LakeEngine::Duckdb => Engine::DuckDb,
        args::LakeEngine::Athena => Engine::Athena,
        args::LakeEngine::Trino => Engine::Trino,
        args::LakeEngine::Spark => Engine::Spark,
    }
}

/// `lake write | ddl | sql`.
fn lake(cmd: args::LakeCommand) -> Result<i32, Error> {
    use std::io::Write as _;
    match cmd {
        args::LakeCommand::Write(a) => {
            let cfg = config::lake_write(&a)?;
            let msgs = Messages::new();
            if a.plan {
                let mut out = std::io::stdout().lock();
                for u in crate::lake::plan(&cfg, &msgs)? {
                    let line = serde_json::to_string(&u).map_err(std::io::Error::other)?;
                    writeln!(out, "{line}")?;
                }
                return Ok(if msgs.errors() > 0 {
                    exit::PARTIAL
                } else {
                    exit::OK
                });
            }
            let s = crate::lake::write(&cfg, &msgs)?;
            match a.summary {
                SummaryFormat::Json => {
                    let line = serde_json::to_string(&s).map_err(std::io::Error::other)?;
                    writeln!(std::io::stdout().lock(), "{line}")?;
                }
                SummaryFormat::Text => render::notice(&format!(
                    "lake {}: {} units, objects {} listed, {} read, {} skipped, {} failed; {} events and {} issued keys in {} files ({} removed); {:.2}s, {:.0} events/s",
                    s.dest,
                    s.units,
                    s.objects_listed,
                    s.objects_read,
                    s.objects_skipped,
                    s.objects_failed,
                    s.events_written,
                    s.issued_keys_written,
                    s.files_written,
                    s.files_removed,
                    s.seconds,
                    s.events_per_second
                )),
            }
            Ok(if s.objects_failed > 0 || s.records_failed > 0 {
                exit::PARTIAL
            } else {
                exit::OK
            })
        }
        args::LakeCommand::Ddl(a) => {
            let store = crate::lake::store::Store::open(&a.to, &config::aws_options(&a.aws))
                .map_err(Error::Source)?;
            let files = store.list("events").map_err(Error::Source)?;
            let mut accounts = std::collections::BTreeSet::new();
            let mut regions = std::collections::BTreeSet::new();
            for f in &files {
                for seg in f.split('/') {
                    if let Some(v) = seg.strip_prefix("account=") {
                        accounts.insert(v.to_string());
                    }
                    if let Some(v) = seg.strip_prefix("region=") {
                        regions.insert(v.to_string());
                    }
                }
            }
            let text = crate::lake::ddl::ddl(
                engine(a.engine),
                &store.root(),
                &accounts.into_iter().collect::<Vec<_>>(),
                &regions.into_iter().collect::<Vec<_>>(),
            );
            write!(std::io::stdout().lock(), "{text}")?;
            Ok(exit::OK)
        }
        args::LakeCommand::Compact(a) => {
            if a.rows_per_file == 0 {
                return Err(Error::Usage("--rows-per-file must be at least 1".into()));
            }
            let s = crate::lake::compact(
                &a.to,
                &config::aws_options(&a.aws),
                a.rows_per_file,
                &a.partition,
            )?;
            let line = serde_json::to_string(&s).map_err(std::io::Error::other)?;
            writeln!(std::io::stdout().lock(), "{line}")?;
            Ok(exit::OK)
        }
        args::LakeCommand::Sql(a) => {
            let tw = config::window(&a.window)?;
            let node = config::parse_query(a.query.as_deref())?;
            let sql = crate::lake::sql::statement(
                &node,
                tw.since_ms,
                tw.until_ms,
                engine(a.engine),
                crate::time::now_ms(),
            )
            .map_err(|e| Error::Usage(e.to_string()))?;
            writeln!(std::io::stdout().lock(), "{sql};")?;
            Ok(exit::OK)
        }
    }
}

/// Write a file whole under a temporary name beside it, then rename it into place: a reader never sees
/// half a file, and a failed write leaves whatever was there before.
fn write_whole(
    path: &std::path::Path,
    body: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io {
        what: format!("report {}", path.display()),
        source: e,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
    let mut w = std::io::BufWriter::new(tmp.reopen().map_err(io)?);
    body(&mut w).map_err(io)?;
    let f = w.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The most intervals a histogram prints: a year by the hour is 8,760.
const MAX_HISTOGRAM_BUCKETS: usize = 10_000;

/// Size rayon's global pool (only the first call configures it; a second ingest in one process keeps it).
fn thread_pool(threads: Option<usize>) {
    if let Some(n) = threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
}

/// Transparent huge pages off for the rest of an ingest. Its heap churns (each object's text, records and
/// documents are freed as the next objects arrive, and the indexing threads' arenas are remade at every
/// commit), and the allocator asks for huge pages on its regions, which the kernel zeroes 2 MiB at a time
/// at each first touch. Measured on the 300k-event bench corpus, five interleaved rounds (with the
/// documents sized once): system time 1.1–1.5 → 0.7–0.8 s, user+system CPU −6 %, peak RSS −12 %
/// (benches/RESULTS.md). A kernel without the setting leaves it as it was.
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process's memory map; no memory is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Resolve an ingest command (a subcommand or a job file) into a plan, then run its sources with one
/// writer.
fn ingest(index_flag: Option<std::path::PathBuf>, a: args::IngestArgs) -> Result<i32, Error> {
    let plan = config::ingest_plan(index_flag, &a)?;
    thread_pool(plan.threads);
    without_huge_pages();
    let concurrency = plan.concurrency;
    let started = Instant::now();
    let msgs = Messages::new();
    let mut writer = Writer::open(&plan.writer)?;
    let mut summaries = Vec::new();
    for src in &plan.sources {
        let s = match src {
            JobSource::CloudtrailLocal(paths, filter) => {
                sources::cloudtrail_local(&mut writer, paths, filter, &msgs)?
            }
            JobSource::CloudtrailS3 { url, filter, aws } => {
                sources::cloudtrail_s3(&mut writer, url, filter, aws, concurrency, &msgs)?
            }
            JobSource::StudioLogsApi(cfg) => {
                match sources::studio_logs_api(&mut writer, cfg, &msgs) {
                    Ok(s) => s,
                    // A log group that cannot be read is one failed source, not the end of the job.
                    Err(Error::Source(e)) => {
                        msgs.error(&cfg.log_group, &e);
                        Summary {
                            source: format!("cloudwatch-logs:{}", cfg.log_group),
                            objects_failed: 1,
                            ..Default::default()
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            JobSource::StudioLogsFiles(inputs, cfg) => {
                sources::studio_logs_files(&mut writer, inputs, cfg, concurrency, &msgs)?
            }
        };
        if plan.summary == SummaryFormat::Text {
            render::summary::ingest(&s);
        }
        summaries.push(s);
    }
    let fin = writer.finish()?;
    if plan.summary == SummaryFormat::Text && !plan.dry_run {
        render::summary::finished(&fin);
    }
    let failed = summaries.iter().any(Summary::failed);
    if plan.summary == SummaryFormat::Json {
        let mut out = std::io::stdout().lock();
        let v = if summaries.len() == 1 {
            serde_json::to_value(&summaries[0])
        } else {
            serde_json::to_value(JobSummary {
                sources: &summaries,
                events_added: summaries.iter().map(|s| s.events_added).sum(),
                failed,
                seconds: started.elapsed().as_secs_f64(),
            })
        }
        .map_err(std::io::Error::from)?;
        serde_json::to_writer(&mut out, &v).map_err(std::io::Error::from)?;
        writeln!(out)?;
    }
    Ok(if failed { exit::PARTIAL } else { exit::OK })
}

/// The summary of a job with several sources.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JobSummary<'a> {
    sources: &'a [Summary],
    events_added: u64,
    failed: bool,
    seconds: f64,
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn an_ingest_turns_huge_pages_off_for_its_process() {
        super::without_huge_pages();
        // SAFETY: PR_GET_THP_DISABLE reads a flag of this process; no memory is touched.
        let flag = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(
            flag, 1,
            "the process's THP-disable flag after without_huge_pages"
        );
    }
}
