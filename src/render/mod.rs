//! Render: the only module that knows output formats (table, JSON lines, CSV) and the terminal.
//!
//! Untrusted strings (anything from a record) are sanitised of terminal escapes before they reach a table
//! or stderr; JSON output is the record as delivered, escaping done by JSON itself.

pub mod answers;
pub mod hits;
pub mod info;
pub mod stats;

use std::borrow::Cow;
use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table, TableComponent};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table fitted to the terminal.
    Table,
    /// One JSON object per line (pipe into jq).
    Json,
    /// A header line and one row per hit.
    Csv,
}

/// Replace control characters (terminal escapes, CR, backspace, C1 codes) with visible escapes.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{200e}' || c == '\u{202e}'
}

/// Like [`sanitize`], and also flatten newlines and tabs to spaces for a one-line cell.
pub fn cell(s: &str) -> String {
    sanitize(s).replace(['\n', '\t'], " ")
}

/// A table in the house style, as wide as the terminal when there is one.
pub fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    // No borders and no row separators: easy to read and to grep; one line under the header.
    t.load_preset(presets::NOTHING);
    t.set_style(TableComponent::HeaderLines, '─');
    t.set_style(TableComponent::MiddleHeaderIntersections, '─');
    t.set_header(header.iter().copied());
    if std::io::stdout().is_terminal() {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if let Some((w, _)) = terminal_size::terminal_size() {
            t.set_width(w.0);
        }
    } else {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(sanitize("x\ry"), "x\\ry");
        assert_eq!(cell("a\nb\tc"), "a b c");
    }
}
