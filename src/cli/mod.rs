//! The command line: parse flags, resolve them into a validated configuration, run one command, and map
//! the outcome to an exit code. A closed pipe (`| head`) ends the program quietly.

pub mod args;
pub mod config;
pub mod job;

use std::io::Write;
use std::time::Instant;

use clap::Parser;

use crate::exit;
use crate::index::read::SearchRequest;
use crate::index::{Reader, Writer, WriterConfig};
use crate::ingest::sources::{self, LogsConfig};
use crate::ingest::Summary;
use crate::messages::Messages;
use crate::questions;
use crate::render::{self, hits::HitPrinter};
use crate::source::aws::AwsOptions;
use crate::source::s3::{S3Url, TrailFilter};
use crate::Error;
use args::{Cli, Command, IngestCommon, IngestSource, SummaryFormat};
use job::JobSource;

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
                let (ms, rows) = reader.histogram(
                    &req,
                    crate::query::time::Interval::Auto,
                    MAX_HISTOGRAM_BUCKETS,
                )?;
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
                let interval = crate::query::time::parse_interval(v).map_err(|_| {
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
            let scope = scope(&a.scope.window, a.scope.where_.as_deref())?;
            let reader = Reader::open(&index)?;
            let rows = questions::who(&reader, &a.action, &scope)?;
            render::answers::who(&rows, a.scope.format, std::io::stdout().lock())?;
            Ok(exit::OK)
        }
        Command::Activity(a) => {
            let scope = scope(&a.scope.window, a.scope.where_.as_deref())?;
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
            let scope = scope(&a.scope.window, a.scope.where_.as_deref())?;
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
            let scope = scope(&a.window, a.query.as_deref())?;
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
                request.audit = Some(audit_params(&a.params)?);
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
            let scope = scope(&a.scope.window, a.scope.where_.as_deref())?;
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
            let params = audit_params(&a.params)?;
            let scope = scope(&a.scope.window, a.scope.where_.as_deref())?;
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
                std::io::stdout().lock(),
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
            let now = crate::query::time::now_ms();
            let time = |s: &Option<String>| {
                s.as_deref()
                    .map(|t| crate::query::time::parse_time(t, now))
                    .transpose()
            };
            if a.max_object_mb == 0 || a.max_object_mb > MAX_OBJECT_MB {
                return Err(Error::Usage(format!(
                    "--max-object-mb must be between 1 and {MAX_OBJECT_MB}"
                )));
            }
            if a.chunk_mb == 0 || a.rows_per_file == 0 {
                return Err(Error::Usage(
                    "--chunk-mb and --rows-per-file must be at least 1".into(),
                ));
            }
            let mut inputs = Vec::new();
            for i in &a.inputs {
                match S3Url::parse(i) {
                    Some(u) => inputs.push(crate::lake::Input::S3(u)),
                    None if i.starts_with("s3:") => {
                        return Err(Error::Usage(format!("not an s3:// URL: {i}")))
                    }
                    None => inputs.push(crate::lake::Input::Local(i.into())),
                }
            }
            if a.to.starts_with("s3:") && S3Url::parse(&a.to).is_none() {
                return Err(Error::Usage(format!("not an s3:// URL: {}", a.to)));
            }
            let cfg = crate::lake::WriteConfig {
                inputs,
                filter: TrailFilter {
                    accounts: a.accounts.clone(),
                    regions: a.regions.clone(),
                    since_ms: time(&a.since)?,
                    until_ms: time(&a.until)?,
                },
                dest: a.to.clone(),
                aws: aws_options(&a.aws),
                chunk_bytes: a.chunk_mb * 1024 * 1024,
                rows_per_file: a.rows_per_file,
                max_inflated: a.max_object_mb * 1024 * 1024,
                max_object_bytes: a.max_object_mb * 1024 * 1024,
            };
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
            let store = crate::lake::store::Store::open(&a.to, &aws_options(&a.aws))
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
            let s =
                crate::lake::compact(&a.to, &aws_options(&a.aws), a.rows_per_file, &a.partition)?;
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
                crate::query::time::now_ms(),
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

fn scope(w: &args::Window, where_: Option<&str>) -> Result<questions::Scope, Error> {
    let tw = config::window(w)?;
    Ok(questions::Scope {
        since_ms: tw.since_ms,
        until_ms: tw.until_ms,
        filter: where_.map(|q| config::parse_query(Some(q))).transpose()?,
    })
}

/// The audit's parameters: the config file's [audit] table, then the flags on top.
fn audit_params(a: &args::RuleParamArgs) -> Result<questions::audit::Params, Error> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        audit: questions::audit::Params,
    }
    let mut p = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
                what: format!("config {}", path.display()),
                source: e,
            })?;
            // Only the [audit] table matters here; a job file's other tables are allowed beside it.
            let v: toml::Table = toml::from_str(&text)
                .map_err(|e| Error::Usage(format!("config {}: {}", path.display(), e.message())))?;
            let audit_only =
                toml::Table::from_iter(v.get("audit").map(|t| ("audit".to_string(), t.clone())));
            let f: File = audit_only.try_into().map_err(|e: toml::de::Error| {
                Error::Usage(format!(
                    "config {}: [audit]: {}",
                    path.display(),
                    e.message()
                ))
            })?;
            f.audit
        }
        None => Default::default(),
    };
    p.allow_cidr.extend(a.allow_cidr.iter().cloned());
    p.allow_vpce.extend(a.allow_vpce.iter().cloned());
    p.allow_instance_type
        .extend(a.allow_instance_type.iter().cloned());
    p.allow_image.extend(a.allow_image.iter().cloned());
    p.admin_role.extend(a.admin_role.iter().cloned());
    if a.required_tag.is_some() {
        p.required_tag = a.required_tag.clone();
    }
    if a.max_session_seconds.is_some() {
        p.max_session_seconds = a.max_session_seconds;
    }
    // NaN compares false with everything and infinity is never exceeded: either would switch the rule off.
    if let Some(v) = p.max_session_seconds {
        if !v.is_finite() || v < 0.0 {
            return Err(Error::Usage(format!(
                "max-session-seconds must be a finite number of seconds, 0 or more (got {v})"
            )));
        }
    }
    Ok(p)
}

/// The most intervals a histogram prints: a year by the hour is 8,760.
const MAX_HISTOGRAM_BUCKETS: usize = 10_000;

/// The largest `--max-object-mb`: objects are held in memory whole, a few at a time.
const MAX_OBJECT_MB: u64 = 16 * 1024;

/// More decode threads than this only adds start-up and contention (2,048 took 31 s on 24 events); the
/// pipeline is bounded by the single writer long before.
const MAX_THREADS: usize = 256;

fn thread_pool(threads: Option<usize>) -> Result<(), Error> {
    if let Some(n) = threads {
        if n == 0 || n > MAX_THREADS {
            return Err(Error::Usage(format!(
                "--threads must be between 1 and {MAX_THREADS} (got {n})"
            )));
        }
        // Only the first call configures the global pool; a second ingest in one process keeps it.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

fn writer_config(index: std::path::PathBuf, c: &IngestCommon) -> Result<WriterConfig, Error> {
    if c.merge_max_docs < 2 {
        return Err(Error::Usage("--merge-max-docs must be at least 2".into()));
    }
    if c.memory_mb < 32 {
        return Err(Error::Usage("--memory-mb must be at least 32".into()));
    }
    if c.max_object_mb == 0 || c.max_object_mb > MAX_OBJECT_MB {
        return Err(Error::Usage(format!(
            "--max-object-mb must be between 1 and {MAX_OBJECT_MB}"
        )));
    }
    // tantivy needs at least 15 MB per indexing thread; two threads keep up with decode on 2 cores.
    let threads = (c.memory_mb / 16).clamp(1, 2);
    Ok(WriterConfig {
        dir: index,
        heap_bytes: c.memory_mb * 1024 * 1024,
        threads,
        reindex: c.reindex,
        commit_every: c.commit_every,
        dry_run: c.dry_run,
        omit: omit(&c.bench_omit),
        max_inflated: c.max_object_mb * 1024 * 1024,
        merge: crate::index::merge::MergeConfig {
            max_docs: c.merge_max_docs,
            parallel: threads,
            ..Default::default()
        },
    })
}

fn omit(parts: &[args::OmitPart]) -> crate::index::schema::Omit {
    let has = |p| parts.contains(&p);
    crate::index::schema::Omit {
        text: has(args::OmitPart::Text),
        paths: has(args::OmitPart::Paths),
        keywords: has(args::OmitPart::Keywords),
        record: has(args::OmitPart::Record),
    }
}

fn aws_options(a: &args::AwsArgs) -> AwsOptions {
    AwsOptions {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        ..Default::default()
    }
}

/// Resolve an ingest command (a subcommand or a job file) into sources, then run them with one writer.
fn ingest(index_flag: Option<std::path::PathBuf>, a: args::IngestArgs) -> Result<i32, Error> {
    let now = crate::query::time::now_ms();
    let time = |s: &Option<String>| {
        s.as_deref()
            .map(|t| crate::query::time::parse_time(t, now))
            .transpose()
    };
    let (sources, concurrency, threads, job_index) = match (a.config, a.source) {
        (Some(path), _) => {
            let j = job::load(&path)?;
            (
                j.sources,
                j.concurrency,
                j.threads.or(a.common.threads),
                j.index,
            )
        }
        (None, Some(IngestSource::Cloudtrail(c))) => {
            let mut sources = Vec::new();
            let mut local = Vec::new();
            let filter = TrailFilter {
                accounts: c.accounts.clone(),
                regions: c.regions.clone(),
                since_ms: time(&c.since)?,
                until_ms: time(&c.until)?,
            };
            for i in &c.inputs {
                match S3Url::parse(i) {
                    Some(url) => sources.push(JobSource::CloudtrailS3 {
                        url,
                        filter: filter.clone(),
                        aws: aws_options(&c.aws),
                    }),
                    None if i.starts_with("s3:") => {
                        return Err(Error::Usage(format!("not an s3:// URL: {i}")))
                    }
                    None => local.push(std::path::PathBuf::from(i)),
                }
            }
            if !local.is_empty() {
                sources.insert(0, JobSource::CloudtrailLocal(local, filter));
            }
            (sources, c.concurrency, a.common.threads, None)
        }
        (None, Some(IngestSource::StudioLogs(s))) => {
            let cfg = LogsConfig {
                log_group: s.log_group.clone(),
                stream_prefix: s.stream_prefix.clone(),
                since_ms: time(&s.since)?,
                account: s.account.clone(),
                aws: aws_options(&s.aws),
            };
            let src = if s.inputs.is_empty() {
                JobSource::StudioLogsApi(cfg)
            } else {
                JobSource::StudioLogsFiles(s.inputs.clone(), cfg)
            };
            (vec![src], s.concurrency, a.common.threads, None)
        }
        (None, None) => {
            return Err(Error::Usage(
                "ingest needs a source (cloudtrail, studio-logs) or --config FILE".into(),
            ))
        }
    };
    let index = config::index_dir(index_flag.or(job_index))?;
    thread_pool(threads)?;
    let started = Instant::now();
    let msgs = Messages::new();
    let mut writer = Writer::open(&writer_config(index, &a.common)?)?;
    let mut summaries = Vec::new();
    for src in &sources {
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
        if a.common.summary == SummaryFormat::Text {
            render::summary::ingest(&s);
        }
        summaries.push(s);
    }
    let fin = writer.finish()?;
    if a.common.summary == SummaryFormat::Text && !a.common.dry_run {
        render::summary::finished(&fin);
    }
    let failed = summaries.iter().any(Summary::failed);
    if a.common.summary == SummaryFormat::Json {
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
