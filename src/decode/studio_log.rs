//! Studio app log events from files: the CloudWatch Logs export-to-S3 text layout and the JSON that
//! `aws logs filter-log-events` / `get-log-events` print.
//!
//! Decode does no IO: it is handed the (inflated) bytes and the stream name the export path implies.

use serde::Deserialize;

/// One log event before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogLine {
    /// The stream, when the input says (JSON `logStreamName`) or the export path implies it.
    pub stream: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub message: String,
}

/// Lines and the reasons parts could not be read.
#[derive(Debug, Default)]
pub(crate) struct DecodedLogs {
    pub lines: Vec<LogLine>,
    pub errors: Vec<String>,
}

#[derive(Deserialize)]
struct CliOutput {
    #[serde(default)]
    events: Vec<CliEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliEvent {
    #[serde(default)]
    log_stream_name: Option<String>,
    timestamp: i64,
    message: String,
}

/// Decode either form: JSON when the text starts with `{`, else export lines.
pub(crate) fn decode(text: &[u8], stream: Option<&str>) -> DecodedLogs {
    let trimmed = text
        .iter()
        .position(|b| !b" \t\r\n".contains(b))
        .map(|i| &text[i..])
        .unwrap_or(&[]);
    if trimmed.first() == Some(&b'{') {
        return decode_cli_json(trimmed, stream);
    }
    decode_export(text, stream)
}

fn decode_cli_json(text: &[u8], stream: Option<&str>) -> DecodedLogs {
    let mut d = DecodedLogs::default();
    match serde_json::from_slice::<CliOutput>(text) {
        Ok(out) => {
            for e in out.events {
                d.lines.push(LogLine {
                    stream: e.log_stream_name.or_else(|| stream.map(str::to_string)),
                    timestamp_ms: e.timestamp,
                    message: e.message,
                });
            }
        }
        Err(e) => d.errors.push(format!("invalid log events JSON: {e}")),
    }
    d
}

/// Export lines: `2024-05-01T10:00:00.123Z message`; a line that does not start with a timestamp
/// continues the previous event (multi-line tracebacks).
fn decode_export(text: &[u8], stream: Option<&str>) -> DecodedLogs {
    let mut d = DecodedLogs::default();
    let text = String::from_utf8_lossy(text);
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        match head.parse::<jiff::Timestamp>() {
            Ok(ts) => d.lines.push(LogLine {
                stream: stream.map(str::to_string),
                timestamp_ms: ts.as_millisecond(),
                message: rest.to_string(),
            }),
            Err(_) => match d.lines.last_mut() {
                Some(prev) => {
                    prev.message.push('\n');
                    prev.message.push_str(line);
                }
                None => d.errors.push(format!(
                    "line {}: no timestamp and no event to continue",
                    n + 1
                )),
            },
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_and_continuations() {
        let t = b"2024-05-01T10:00:00.123Z start\nTraceback:\n  x\n2024-05-01T10:00:01Z done\n";
        let d = decode(t, Some("d-1/alice/JupyterServer/default"));
        assert_eq!(d.lines.len(), 2);
        assert_eq!(d.lines[0].message, "start\nTraceback:\n  x");
        assert_eq!(d.lines[0].timestamp_ms, 1714557600123);
        assert_eq!(d.lines[1].message, "done");
        assert!(d.errors.is_empty());
    }

    #[test]
    fn cli_json() {
        let t = br#"{"events":[{"logStreamName":"s","timestamp":5,"message":"m","ingestionTime":6,"eventId":"1"}],"searchedLogStreams":[]}"#;
        let d = decode(t, None);
        assert_eq!(
            d.lines,
            vec![LogLine {
                stream: Some("s".into()),
                timestamp_ms: 5,
                message: "m".into()
            }]
        );
    }

    #[test]
    fn orphan_continuation_is_reported() {
        let d = decode(b"no time here\n", None);
        assert_eq!(d.lines.len(), 0);
        assert_eq!(d.errors.len(), 1);
    }
}
