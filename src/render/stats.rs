//! `stats` output: value and count, by count descending then value.

use std::io::Write;

use serde::Serialize;

use super::{cell, new_table, Format};

#[derive(Serialize)]
struct Row<'a> {
    value: &'a str,
    count: u64,
}

pub fn print(
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
