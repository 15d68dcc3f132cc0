//! `info` output.

use std::io::Write;

use serde::Serialize;

use super::{new_table, Format};
use crate::index::read::IndexInfo;
use crate::time::format_ms;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    index: String,
    events: u64,
    cloudtrail_events: u64,
    studio_log_events: u64,
    objects_ingested: u64,
    size_bytes: u64,
    segments: usize,
    oldest_event_time: Option<String>,
    newest_event_time: Option<String>,
    last_ingest: Option<&'a str>,
}

pub(crate) fn print(i: &IndexInfo, format: Format, mut out: impl Write) -> std::io::Result<()> {
    let w = Wire {
        index: i.dir.display().to_string(),
        events: i.events,
        cloudtrail_events: i.cloudtrail_events,
        studio_log_events: i.studio_log_events,
        objects_ingested: i.objects,
        size_bytes: i.size_bytes,
        segments: i.segments,
        oldest_event_time: i.oldest_ms.map(format_ms),
        newest_event_time: i.newest_ms.map(format_ms),
        last_ingest: i.payload.last_ingest.as_deref(),
    };
    match format {
        Format::Json => {
            serde_json::to_writer(&mut out, &w)?;
            out.write_all(b"\n")?;
        }
        Format::Table | Format::Csv => {
            let mut t = new_table(&["", ""]);
            let none = || "-".to_string();
            t.add_row(vec!["index".into(), w.index.clone()]);
            t.add_row(vec!["events".into(), w.events.to_string()]);
            t.add_row(vec!["  cloudtrail".into(), w.cloudtrail_events.to_string()]);
            t.add_row(vec!["  studio-log".into(), w.studio_log_events.to_string()]);
            t.add_row(vec![
                "objects ingested".into(),
                w.objects_ingested.to_string(),
            ]);
            t.add_row(vec!["size on disk".into(), human_bytes(w.size_bytes)]);
            t.add_row(vec![
                "oldest eventTime".into(),
                w.oldest_event_time.clone().unwrap_or_else(none),
            ]);
            t.add_row(vec![
                "newest eventTime".into(),
                w.newest_event_time.clone().unwrap_or_else(none),
            ]);
            t.add_row(vec![
                "last ingest".into(),
                w.last_ingest.map(str::to_string).unwrap_or_else(none),
            ]);
            writeln!(out, "{t}")?;
        }
    }
    out.flush()
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {} ({n} bytes)", UNITS[u])
    }
}
