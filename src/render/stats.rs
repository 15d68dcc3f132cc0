//! `stats` output: value and count, by count descending then value.

use std::io::Write;

use serde::Serialize;

use super::{cell, new_table, Format};

#[derive(Serialize)]
struct Row<'a> {
    value: &'a str,
    count: u64,
}

pub(crate) fn print(
    rows: &[(String, u64)],
    by: &str,
    format: Format,
    mut out: impl Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            for (value, count) in rows {
                serde_json::to_writer(
                    &mut out,
                    &Row {
                        value,
                        count: *count,
                    },
                )?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["value", "count"])?;
            for (value, count) in rows {
                w.write_record(super::csv_row([value.as_str(), count.to_string().as_str()]))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut t = new_table(&[by, "COUNT"]);
            for (value, count) in rows {
                t.add_row(vec![cell(value), count.to_string()]);
            }
            if !rows.is_empty() {
                writeln!(out, "{t}")?;
            }
        }
    }
    out.flush()
}

#[derive(Serialize)]
struct Bucket {
    start: String,
    count: u64,
}

/// The widest bar of a histogram table, in characters, when no terminal says otherwise.
const DEFAULT_BAR_WIDTH: usize = 50;
/// What a histogram row spends besides its bar: a time (20), a count and spaces.
const ROW_OVERHEAD: usize = 34;

/// A time histogram: JSON lines `{"start":…,"count":N}`, CSV `start,count`, or a table of bars fitted to
/// the terminal (the largest count fills the width; any non-zero count shows at least one block).
pub(crate) fn histogram(
    rows: &[(i64, u64)],
    interval_ms: i64,
    format: Format,
    mut out: impl Write,
) -> std::io::Result<()> {
    let start = |ms: i64| crate::time::format_ms(ms);
    match format {
        Format::Json => {
            for (ms, count) in rows {
                serde_json::to_writer(
                    &mut out,
                    &Bucket {
                        start: start(*ms),
                        count: *count,
                    },
                )?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["start", "count"])?;
            for (ms, count) in rows {
                w.write_record([start(*ms), count.to_string()])?;
            }
            w.flush()?;
        }
        Format::Table => {
            let width = terminal_size::terminal_size()
                .map(|(w, _)| (w.0 as usize).saturating_sub(ROW_OVERHEAD).max(10))
                .unwrap_or(DEFAULT_BAR_WIDTH);
            let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
            writeln!(
                out,
                "{:<24} {:>8}  (one interval = {})",
                "START",
                "COUNT",
                human_interval(interval_ms)
            )?;
            for (ms, count) in rows {
                let n = (*count as u128 * width as u128).div_ceil(max as u128) as usize;
                writeln!(out, "{:<24} {:>8}  {}", start(*ms), count, "█".repeat(n))?;
            }
        }
    }
    out.flush()
}

/// `15m`, `1h`, `1d`: an interval as people write it.
pub(crate) fn human_interval(ms: i64) -> String {
    for (unit, n) in [
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms % n == 0 {
            return format!("{}{unit}", ms / n);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_empty_intervals_show() {
        let mut out = Vec::new();
        histogram(
            &[(0, 10), (3_600_000, 0), (7_200_000, 1)],
            3_600_000,
            Format::Table,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("one interval = 1h"));
        let blocks = |l: &str| l.chars().filter(|c| *c == '█').count();
        assert_eq!(lines.len(), 4);
        assert!(blocks(lines[1]) >= 10);
        assert_eq!(blocks(lines[2]), 0);
        assert!(
            blocks(lines[3]) >= 1 && blocks(lines[3]) < blocks(lines[1]),
            "a non-zero count shows, smaller"
        );
        let mut out = Vec::new();
        histogram(&[(0, 2)], 60_000, Format::Json, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"start\":\"1970-01-01T00:00:00Z\",\"count\":2}\n"
        );
        assert_eq!(human_interval(900_000), "15m");
        assert_eq!(human_interval(86_400_000), "1d");
    }
}
