//! Search hits as JSON lines (the record as delivered), CSV or a table.

use std::io::Write;

use super::{cell, new_table, Format};
use crate::catalog::names;
use crate::index::read::Hit;
use crate::model::KIND_STUDIO_LOG;
use crate::time::format_ms;

/// Fast-field columns a hit printer reads.
pub(crate) const COLUMNS: [&str; 6] = [
    names::KIND,
    names::EVENT_NAME,
    names::ACTOR,
    names::SOURCE_IP,
    names::ERROR_CODE,
    names::APP_TYPE,
];

/// CSV header.
const CSV_HEADER: [&str; 7] = [
    "eventTime",
    "kind",
    "eventName",
    "actor",
    "sourceIPAddress",
    "errorCode",
    "eventID",
];

/// Streams hits in one format.
pub(crate) enum HitPrinter<W: Write> {
    Json(W),
    Csv(csv::Writer<W>),
    Table(W, comfy_table::Table),
}

/// A column's value, empty when the hit has none.
fn v<'h>(h: &'h Hit, name: &str) -> &'h str {
    h.get(name).unwrap_or("")
}

/// The event column: eventName for CloudTrail; the log line for a studio log.
fn event_label(h: &Hit) -> String {
    if v(h, names::KIND) == KIND_STUDIO_LOG {
        let first = crate::model::first_log_line(&h.raw);
        format!("[{}] {}", v(h, names::APP_TYPE), first)
    } else {
        v(h, names::EVENT_NAME).to_string()
    }
}

impl<W: Write> HitPrinter<W> {
    pub(crate) fn new(format: Format, out: W) -> std::io::Result<Self> {
        Ok(match format {
            Format::Json => HitPrinter::Json(out),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(CSV_HEADER)?;
                HitPrinter::Csv(w)
            }
            Format::Table => HitPrinter::Table(
                out,
                new_table(&["TIME", "EVENT", "ACTOR", "SOURCE IP", "ERROR"]),
            ),
        })
    }

    pub(crate) fn hit(&mut self, h: &Hit) -> std::io::Result<()> {
        match self {
            HitPrinter::Json(out) => {
                out.write_all(&h.raw)?;
                out.write_all(b"\n")
            }
            HitPrinter::Csv(w) => Ok(w.write_record(super::csv_row([
                format_ms(h.time_ms).as_str(),
                v(h, names::KIND),
                &event_label(h),
                v(h, names::ACTOR),
                v(h, names::SOURCE_IP),
                v(h, names::ERROR_CODE),
                &h.event_id,
            ]))?),
            HitPrinter::Table(_, t) => {
                t.add_row(vec![
                    format_ms(h.time_ms),
                    cell(&event_label(h)),
                    cell(v(h, names::ACTOR)),
                    cell(v(h, names::SOURCE_IP)),
                    cell(v(h, names::ERROR_CODE)),
                ]);
                Ok(())
            }
        }
    }

    pub(crate) fn finish(self) -> std::io::Result<()> {
        match self {
            HitPrinter::Json(mut out) => out.flush(),
            HitPrinter::Csv(mut w) => w.flush(),
            HitPrinter::Table(mut out, t) => {
                if !t.is_empty() {
                    writeln!(out, "{t}")?;
                }
                out.flush()
            }
        }
    }
}
