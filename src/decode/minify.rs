//! Removing whitespace between JSON tokens, and nothing else.
//!
//! Records that arrived on one line (as trails write them) pass through untouched; pretty-printed records
//! lose only the whitespace outside strings: key order, numbers and escapes stay as delivered.

use std::borrow::Cow;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// `raw` without whitespace outside strings. Borrows when there is none to remove.
pub fn minify(raw: &str) -> Cow<'_, str> {
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

/// Index of the first whitespace byte outside a string, scanning once.
fn first_ws_outside_strings(bytes: &[u8]) -> Option<usize> {
    let mut in_str = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
        } else if is_ws(b) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
