//! Output of the compliance questions: who, activity, timeline, audit findings.

use std::io::Write;

use serde::Serialize;

use super::{cell, new_table, Format};
use crate::questions::audit::{Finding, Rule, RuleHead};
use crate::questions::usage::{Interval, Usage};
use crate::questions::{ActivityRow, TimelineRow, WhoRow};

fn json_lines<T: Serialize>(rows: &[T], mut out: impl Write) -> std::io::Result<()> {
    for r in rows {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn csv_rows(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    out: impl Write,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header)?;
    for r in rows {
        w.write_record(super::csv_row(r.iter().map(String::as_str)))?;
    }
    w.flush()
}

fn table_rows(header: &[&str], rows: Vec<Vec<String>>, mut out: impl Write) -> std::io::Result<()> {
    let mut t = new_table(header);
    for r in rows {
        t.add_row(r.iter().map(|c| cell(c)).collect::<Vec<_>>());
    }
    if !t.is_empty() {
        writeln!(out, "{t}")?;
    }
    out.flush()
}

fn tabular<T: Serialize>(
    format: Format,
    header: &[&str],
    rows: &[T],
    cells: impl Fn(&T) -> Vec<String>,
    out: impl Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json_lines(rows, out),
        Format::Csv => csv_rows(header, rows.iter().map(&cells), out),
        Format::Table => table_rows(header, rows.iter().map(&cells).collect(), out),
    }
}

pub(crate) fn who(rows: &[WhoRow], format: Format, out: impl Write) -> std::io::Result<()> {
    let sep = if format == Format::Csv { ";" } else { ", " };
    tabular(
        format,
        &[
            "actor",
            "principalArns",
            "roleArns",
            "sourceIdentities",
            "count",
            "errors",
            "firstTime",
            "lastTime",
            "sourceIPAddresses",
            "actorBases",
        ],
        rows,
        |r| {
            vec![
                r.actor.clone(),
                r.principal_arns.join(sep),
                r.role_arns.join(sep),
                r.source_identities.join(sep),
                r.count.to_string(),
                r.errors.to_string(),
                r.first_time.clone(),
                r.last_time.clone(),
                r.source_ip_addresses.join(sep),
                r.actor_bases.join(sep),
            ]
        },
        out,
    )
}

pub(crate) fn activity(
    rows: &[ActivityRow],
    format: Format,
    out: impl Write,
) -> std::io::Result<()> {
    tabular(
        format,
        &[
            "eventName",
            "count",
            "errors",
            "firstTime",
            "lastTime",
            "actorBases",
        ],
        rows,
        |r| {
            vec![
                r.event_name.clone(),
                r.count.to_string(),
                r.errors.to_string(),
                r.first_time.clone(),
                r.last_time.clone(),
                r.actor_bases
                    .join(if format == Format::Csv { ";" } else { ", " }),
            ]
        },
        out,
    )
}

/// Streams timeline rows; a table marks each new session with a line of its own.
pub(crate) enum TimelinePrinter<W: Write> {
    Json(W),
    Csv(Box<csv::Writer<W>>),
    Table(W),
}

impl<W: Write> TimelinePrinter<W> {
    pub(crate) fn new(format: Format, out: W) -> std::io::Result<Self> {
        Ok(match format {
            Format::Json => TimelinePrinter::Json(out),
            Format::Table => TimelinePrinter::Table(out),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record([
                    "time",
                    "kind",
                    "event",
                    "actor",
                    "session",
                    "newSession",
                    "sourceIPAddress",
                    "errorCode",
                    "actorBasis",
                    "actorIssuerEventID",
                ])?;
                TimelinePrinter::Csv(Box::new(w))
            }
        })
    }

    pub(crate) fn row(&mut self, r: &TimelineRow) -> std::io::Result<()> {
        match self {
            TimelinePrinter::Json(out) => {
                serde_json::to_writer(&mut *out, r)?;
                out.write_all(b"\n")
            }
            TimelinePrinter::Csv(w) => Ok(w.write_record(super::csv_row([
                r.time.as_str(),
                &r.kind,
                &r.event,
                r.actor.as_deref().unwrap_or(""),
                r.session.as_deref().unwrap_or(""),
                if r.new_session { "true" } else { "false" },
                r.source_ip_address.as_deref().unwrap_or(""),
                r.error_code.as_deref().unwrap_or(""),
                r.actor_basis.as_deref().unwrap_or(""),
                r.actor_issuer_event_id.as_deref().unwrap_or(""),
            ]))?),
            TimelinePrinter::Table(out) => {
                if r.new_session {
                    writeln!(
                        out,
                        "── session {} {} ──",
                        cell(r.session.as_deref().unwrap_or("")),
                        cell(r.principal_arn.as_deref().unwrap_or(""))
                    )?;
                }
                writeln!(
                    out,
                    "{}  {:<10}  {:<28}  {:<20}  {:<14}  {:<16}  {}",
                    r.time,
                    r.kind,
                    cell(&r.event),
                    cell(r.actor.as_deref().unwrap_or("")),
                    r.actor_basis.as_deref().unwrap_or(""),
                    cell(r.source_ip_address.as_deref().unwrap_or("")),
                    cell(r.error_code.as_deref().unwrap_or(""))
                )
            }
        }
    }

    pub(crate) fn finish(self) -> std::io::Result<()> {
        match self {
            TimelinePrinter::Json(mut out) | TimelinePrinter::Table(mut out) => out.flush(),
            TimelinePrinter::Csv(mut w) => w.flush(),
        }
    }
}

pub(crate) fn findings(
    heads: &[RuleHead],
    found: &[Finding],
    format: Format,
    mut out: impl Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json_lines(found, out),
        Format::Csv => csv_rows(
            &[
                "rule", "eventID", "time", "actor", "detail", "level", "title", "tags",
            ],
            found.iter().map(|f| {
                vec![
                    f.rule().to_string(),
                    f.event_id().to_string(),
                    f.time(),
                    f.actor().unwrap_or_default().to_string(),
                    f.detail().to_string(),
                    f.level().to_string(),
                    f.title().to_string(),
                    f.tags().join(" "),
                ]
            }),
            out,
        ),
        Format::Table => {
            for head in heads {
                let mine: Vec<&Finding> = found.iter().filter(|f| f.rule() == head.id).collect();
                if mine.is_empty() {
                    continue;
                }
                writeln!(
                    out,
                    "{} [{}] {} ({} findings)",
                    cell(&head.id),
                    cell(&head.level),
                    cell(&head.title),
                    mine.len()
                )?;
                writeln!(out, "  {}", cell(&head.origin))?;
                for f in mine {
                    writeln!(
                        out,
                        "  {}  {}  {}  {}",
                        f.time(),
                        cell(f.actor().unwrap_or("")),
                        cell(f.detail()),
                        cell(f.event_id())
                    )?;
                }
                writeln!(out)?;
            }
            out.flush()
        }
    }
}

/// The rules `audit` would run: the built-in pack with its parameters, then any Sigma rules.
pub(crate) fn rule_list(
    rules: &[Rule],
    heads: &[RuleHead],
    format: Format,
    mut out: impl Write,
) -> std::io::Result<()> {
    if format == Format::Json {
        // A built-in rule as its file says it; a Sigma rule by the same keys.
        for h in heads {
            let line = match rules.iter().find(|r| r.id == h.id) {
                Some(r) => serde_json::to_string(r),
                None => serde_json::to_string(&serde_json::json!({
                    "id": h.id, "severity": h.level, "title": h.title, "section": h.origin,
                })),
            }
            .map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        return out.flush();
    }
    tabular(
        format,
        &["id", "severity", "title", "section", "params"],
        heads,
        |h| {
            let params = rules
                .iter()
                .find(|r| r.id == h.id)
                .map(|r| {
                    r.params
                        .iter()
                        .map(|p| p.flag())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                h.id.clone(),
                h.level.clone(),
                h.title.clone(),
                h.origin
                    .strip_prefix("whitepaper: ")
                    .unwrap_or(&h.origin)
                    .to_string(),
                params,
            ]
        },
        out,
    )
}

/// How many "units" an instance type is, for ranking the largest: `ml.<family>.<size>`, where xlarge is
/// 8 units and `Nxlarge` N times that; an unknown size ranks last.
fn instance_units(t: &str) -> f64 {
    let size = t.rsplit('.').next().unwrap_or("");
    match size {
        "nano" => 0.25,
        "micro" => 0.5,
        "small" => 1.0,
        "medium" => 2.0,
        "large" => 4.0,
        "xlarge" => 8.0,
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<f64>().ok())
            .map_or(0.0, |n| n * 8.0),
    }
}

fn hours(h: f64) -> String {
    format!("{h:.2}")
}

/// Usage sums; in a table, then the runs still going at the end and the largest instances.
pub(crate) fn usage(u: &Usage, format: Format, mut out: impl Write) -> std::io::Result<()> {
    let header = [
        "by",
        "value",
        "instanceType",
        "hours",
        "runs",
        "running",
        "maxRuntime",
        "longestHours",
    ];
    let cells = |r: &crate::questions::usage::UsageRow| {
        vec![
            r.by.to_string(),
            r.value.clone(),
            r.instance_type.clone(),
            hours(r.hours),
            r.runs.to_string(),
            r.running.to_string(),
            r.max_runtime.to_string(),
            hours(r.longest_hours),
        ]
    };
    if format != Format::Table {
        return tabular(format, &header, &u.rows, cells, out);
    }
    if u.rows.is_empty() {
        return out.flush();
    }
    writeln!(out, "Instance-hours up to {}", u.as_of)?;
    table_rows(&header, u.rows.iter().map(cells).collect(), &mut out)?;
    let running: Vec<&Interval> = u
        .intervals
        .iter()
        .filter(|i| i.end_basis == crate::questions::usage::EndBasis::Running)
        .collect();
    if !running.is_empty() {
        writeln!(out, "\nStill running at {}", u.as_of)?;
        table_rows(
            &RUN_HEADER,
            running.iter().map(|i| run_cells(i)).collect(),
            &mut out,
        )?;
    }
    let mut largest: Vec<&Interval> = u.intervals.iter().collect();
    largest.sort_by(|a, b| {
        (instance_units(&b.instance_type) * b.instance_count as f64)
            .total_cmp(&(instance_units(&a.instance_type) * a.instance_count as f64))
            .then(b.hours.total_cmp(&a.hours))
    });
    largest.truncate(LARGEST_SHOWN);
    writeln!(out, "\nLargest instances")?;
    table_rows(
        &RUN_HEADER,
        largest.iter().map(|i| run_cells(i)).collect(),
        &mut out,
    )
}

/// How many runs the table's "largest instances" shows: a glance, `--runs` has them all.
const LARGEST_SHOWN: usize = 10;

const RUN_HEADER: [&str; 12] = [
    "kind",
    "name",
    "instanceType",
    "instanceCount",
    "userProfile",
    "spaceName",
    "actor",
    "start",
    "end",
    "endBasis",
    "hours",
    "startEventID",
];

fn run_cells(i: &Interval) -> Vec<String> {
    vec![
        i.kind.to_string(),
        i.name.clone(),
        i.instance_type.clone(),
        i.instance_count.to_string(),
        i.user_profile.clone().unwrap_or_default(),
        i.space_name.clone().unwrap_or_default(),
        i.actor.clone().unwrap_or_default(),
        i.start.clone(),
        i.end.clone(),
        match i.end_basis {
            crate::questions::usage::EndBasis::Stopped => "stopped",
            crate::questions::usage::EndBasis::MaxRuntime => "maxRuntime",
            crate::questions::usage::EndBasis::Running => "running",
        }
        .to_string(),
        hours(i.hours),
        i.start_event_id.clone(),
    ]
}

/// One row per run.
pub(crate) fn usage_runs(
    runs: &[Interval],
    format: Format,
    out: impl Write,
) -> std::io::Result<()> {
    tabular(format, &RUN_HEADER, runs, run_cells, out)
}
