//! Render: the only module that knows output formats (table, JSON lines, CSV) and the terminal.
//!
//! Untrusted strings (anything from a record) are sanitised of terminal escapes before they reach a table
//! or stderr; JSON output is the record as delivered, escaping done by JSON itself.

pub(crate) mod answers;
pub(crate) mod hits;
pub(crate) mod html;
pub(crate) mod info;
pub(crate) mod progress;
pub(crate) mod stats;
pub(crate) mod summary;

use std::borrow::Cow;
use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table, TableComponent};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A table fitted to the terminal.
    Table,
    /// One JSON object per line (pipe into jq).
    Json,
    /// A header line and one row per hit.
    Csv,
}

/// Replace control characters (terminal escapes, CR, backspace, C1 codes) with visible escapes.
pub(crate) fn sanitize(s: &str) -> Cow<'_, str> {
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

/// Characters a terminal or viewer acts on, or that reorder or hide text: C0/C1 controls and DEL,
/// zero-width characters and marks (U+200B–U+200F, U+FEFF, U+061C), bidi embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069), and the Unicode line and paragraph separators.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{feff}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

/// A CSV cell safe to open in a spreadsheet: control and invisible characters escaped as in tables,
/// newlines and tabs flattened, and a cell a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, or their full-width forms) prefixed with `'`, as OWASP recommends against CSV injection.
pub(crate) fn csv_cell(s: &str) -> Cow<'_, str> {
    let formula = s.starts_with([
        '=', '+', '-', '@', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ]);
    let clean = !s.chars().any(|c| is_unsafe(c) || c == '\n' || c == '\t');
    match (formula, clean) {
        (false, true) => Cow::Borrowed(s),
        (true, true) => Cow::Owned(format!("'{s}")),
        (f, false) => {
            let c = cell(s);
            Cow::Owned(if f { format!("'{c}") } else { c })
        }
    }
}

/// A row of [`csv_cell`]s.
pub(crate) fn csv_row<'a, I: IntoIterator<Item = &'a str>>(cells: I) -> Vec<String> {
    cells
        .into_iter()
        .map(|c| csv_cell(c).into_owned())
        .collect()
}

/// A line for the person at the terminal, on stderr.
pub(crate) fn notice(msg: &str) {
    eprintln!("sagetrail: {}", sanitize(msg));
}

/// The one line of a fatal error, on stderr.
pub(crate) fn error_line(msg: &str) {
    eprintln!("sagetrail: error: {}", sanitize(msg));
}

/// Like [`sanitize`], and also flatten newlines and tabs to spaces for a one-line cell.
pub(crate) fn cell(s: &str) -> String {
    sanitize(s).replace(['\n', '\t'], " ")
}

/// A table in the house style, as wide as the terminal when there is one.
pub(crate) fn new_table(header: &[&str]) -> Table {
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
        for (bad, shown) in [
            ("a\u{200b}b", "a\\u{200b}b"),
            ("\u{202e}fdp.exe", "\\u{202e}fdp.exe"),
            ("x\u{2066}y\u{2069}", "x\\u{2066}y\\u{2069}"),
            ("bell\u{7}", "bell\\u{7}"),
            ("c1\u{9b}31m", "c1\\u{9b}31m"),
            ("osc\u{1b}]8;;http://x\u{7}", "osc\\u{1b}]8;;http://x\\u{7}"),
        ] {
            assert_eq!(sanitize(bad), shown);
        }
    }

    #[test]
    fn csv_cells_cannot_be_formulas_or_escapes() {
        assert_eq!(csv_cell("alice"), "alice");
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for f in ["+1+1", "-2+3", "@SUM(A1)", "\u{ff1d}1+1"] {
            assert!(csv_cell(f).starts_with('\''), "{f}");
        }
        assert_eq!(csv_cell("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(csv_cell("=\r\n=HYPERLINK()"), "'=\\r =HYPERLINK()");
        assert_eq!(csv_cell("line\nbreak"), "line break");
        assert_eq!(csv_cell("2024-05-14T09:00:00Z"), "2024-05-14T09:00:00Z");
    }
}
