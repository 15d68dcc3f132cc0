//! Removing whitespace between JSON tokens, and nothing else.
//!
//! Records that arrived on one line (as trails write them) pass through untouched; pretty-printed records
//! lose only the whitespace outside strings: key order, numbers and escapes stay as delivered.

use std::borrow::Cow;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// `raw` without whitespace outside strings. Borrows when there is none to remove.
pub(crate) fn minify(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let first_ws = match first_ws_outside_strings(bytes) {
        None => return Cow::Borrowed(raw),
        Some(i) => i,
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first_ws]);
    let mut in_str = false;
    let mut escaped = false;
    for &b in &bytes[first_ws..] {
        if in_str {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
            out.push(b);
        } else if !is_ws(b) {
            out.push(b);
        }
    }
    // Only ASCII whitespace was removed from valid UTF-8, so the rest is still valid UTF-8.
    Cow::Owned(String::from_utf8(out).expect("removing ASCII whitespace keeps UTF-8 valid"))
}

/// Index of the first whitespace byte outside a string, scanning once. Inside a string it jumps from
/// quote to quote with `memchr` (strings are most of a record's bytes); a quote preceded by an odd run
/// of backslashes is escaped and does not end the string.
fn first_ws_outside_strings(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            // Find the closing quote.
            let mut j = i + 1;
            loop {
                let q = j + memchr::memchr(b'"', &bytes[j..])?;
                let backslashes = bytes[j..q]
                    .iter()
                    .rev()
                    .take_while(|&&c| c == b'\\')
                    .count();
                j = q + 1;
                if backslashes % 2 == 0 {
                    break;
                }
            }
            i = j;
        } else if is_ws(b) {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_quotes_and_backslash_runs() {
        for r in [
            r#"{"a":"\\","b": 1}"#,
            r#"{"a":"x\"y","b": 1}"#,
            r#"{"a":"x\\\"y \\","b": 1}"#,
            r#"{"a":"unterminated "#,
        ] {
            // The whitespace found is the one a byte-by-byte scan finds.
            let slow = {
                let (mut in_str, mut esc) = (false, false);
                r.bytes().enumerate().find_map(|(i, b)| {
                    if in_str {
                        if esc {
                            esc = false
                        } else if b == b'\\' {
                            esc = true
                        } else if b == b'"' {
                            in_str = false
                        }
                        None
                    } else if b == b'"' {
                        in_str = true;
                        None
                    } else {
                        is_ws(b).then_some(i)
                    }
                })
            };
            assert_eq!(first_ws_outside_strings(r.as_bytes()), slow, "{r}");
        }
    }

    #[test]
    fn one_line_records_are_untouched() {
        let r = r#"{"a":"x y","b":[1,2.50,"\"q \" "],"c":{}}"#;
        assert!(matches!(minify(r), Cow::Borrowed(_)));
        assert_eq!(minify(r), r);
    }

    #[test]
    fn pretty_records_lose_only_outside_whitespace() {
        let r = "{\n  \"a\": \"x  y\",\n\t\"n\": 1.50e3, \"e\": \"\\\"  \\\\\" ,\r\n \"z\" : [ 1 , 2 ] }";
        assert_eq!(
            minify(r),
            r#"{"a":"x  y","n":1.50e3,"e":"\"  \\","z":[1,2]}"#
        );
    }

    #[test]
    fn non_ascii_survives() {
        let r = "{ \"é\": \"日本 語\" }";
        assert_eq!(minify(r), "{\"é\":\"日本 語\"}");
    }
}
