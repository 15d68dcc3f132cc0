//! The command line: parse flags, resolve them into a validated configuration, run one command, and map
//! the outcome to an exit code. A closed pipe (`| head`) ends the program quietly.

pub mod args;
pub mod config;

use std::io::Write;
use std::time::Instant;

use clap::Parser;

use crate::exit;
use crate::index::read::SearchRequest;
use crate::index::{Reader, Writer, WriterConfig};
use crate::ingest::{self, Summary};
use crate::messages::Messages;
use crate::render::{self, hits::HitPrinter};
use crate::Error;
use args::{Cli, Command, IngestCommon, IngestSource, SummaryFormat};

/// Run the program; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => exit::OK,
        Err(e) => {
            eprintln!("sagetrail: error: {}", render::sanitize(&e.to_string()));
            exit::FATAL
        }
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<i32, Error> {
    let index = config::index_dir(cli.index)?;
    match cli.command {
        Command::Ingest(a) => match a.source {
            IngestSource::Cloudtrail(c) => ingest_cloudtrail(index, c.paths, &c.common),
        },
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
                        eprintln!(
                            "sagetrail: showing {l} of {total} hits; use --limit N or --all for more"
                        );
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
            let mut rows = reader.stats(&req, &a.by)?;
            if let Some(t) = a.top {
                rows.truncate(t);
            }
            render::stats::print(&rows, &a.by, a.format, std::io::stdout().lock())?;
            Ok(exit::OK)
        }
        Command::Info(a) => {
            let reader = Reader::open(&index)?;
            render::info::print(&reader.info()?, a.format, std::io::stdout().lock())?;
            Ok(exit::OK)
        }
    }
}

fn thread_pool(threads: Option<usize>) -> Result<(), Error> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        // Only the first call configures the global pool; a second ingest in one process keeps it.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

fn writer_config(index: std::path::PathBuf, c: &IngestCommon) -> Result<WriterConfig, Error> {
    if c.memory_mb < 32 {
        return Err(Error::Usage("--memory-mb must be at least 32".into()));
    }
    Ok(WriterConfig {
        dir: index,
        heap_bytes: c.memory_mb * 1024 * 1024,
        // tantivy needs at least 15 MB per indexing thread; two threads keep up with decode on 2 cores.
        threads: (c.memory_mb / 16).clamp(1, 2),
        reindex: c.reindex,
    })
}

fn ingest_cloudtrail(
    index: std::path::PathBuf,
    paths: Vec<std::path::PathBuf>,
    c: &IngestCommon,
) -> Result<i32, Error> {
    thread_pool(c.threads)?;
    let started = Instant::now();
    let msgs = Messages::new();
    let mut writer = Writer::open(&writer_config(index, c)?)?;
    let listing = crate::source::local::cloudtrail_listing(&paths);
    let mut summary = Summary {
        source: paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        objects_listed: listing.objects.len() as u64,
        objects_skipped: listing.skipped_digest + listing.skipped_insight + listing.skipped_other,
        ..Default::default()
    };
    for (p, e) in &listing.errors {
        summary.objects_failed += 1;
        msgs.error(p, e);
    }
    let done = writer.done_objects()?;
    let todo: Vec<_> = listing
        .objects
        .into_iter()
        .filter(|o| !done.contains(&o.obj.ledger_key()))
        .collect();
    summary.objects_unchanged = summary.objects_listed - todo.len() as u64;
    let pb = ingest::progress(Some(todo.len() as u64), "cloudtrail");
    msgs.attach(Some(pb.clone()));
    let rx = ingest::read_local(todo);
    let res = ingest::run(
        &mut writer,
        rx,
        ingest::process_cloudtrail,
        &msgs,
        &mut summary,
        &pb,
    );
    pb.finish_and_clear();
    msgs.attach(None);
    res?;
    writer.finish()?;
    summary.finish(started);
    report(&summary, c.summary)?;
    Ok(if summary.failed() {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

fn report(s: &Summary, format: SummaryFormat) -> Result<(), Error> {
    match format {
        SummaryFormat::Json => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, s).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => {
            eprintln!(
                "sagetrail: {}: objects {} listed, {} read, {} unchanged, {} skipped, {} failed; events {} added, {} already present, {} records failed; {:.2}s, {:.0} events/s",
                render::sanitize(&s.source),
                s.objects_listed,
                s.objects_read,
                s.objects_unchanged,
                s.objects_skipped,
                s.objects_failed,
                s.events_added,
                s.events_already_present,
                s.records_failed,
                s.seconds,
                s.events_per_second
            );
        }
    }
    Ok(())
}
