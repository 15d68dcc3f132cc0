//! Record times: CloudTrail's `eventTime` as real pipelines write it, to epoch milliseconds.
//!
//! Accepted: RFC 3339 with any offset (`2024-05-14T09:00:00Z`, `…+02:00`); a date and time without a zone,
//! with `T` or a space and any fraction (`2024-05-14 09:00:00.123`: what Athena and CloudTrail Lake
//! exports write), taken as UTC; epoch seconds or milliseconds, as a number or a string of digits
//! (values of 10^11 and above are milliseconds). Times the index cannot hold are refused, never wrapped.

use super::tree::Json;

/// The earliest and latest millisecond the index holds: tantivy keeps times as i64 nanoseconds, so
/// ±(2^63 − 1) ns, 1677-09-21 to 2262-04-11. A time outside would wrap to another century.
pub(crate) const MIN_MS: i64 = -(i64::MAX / 1_000_000);
pub(crate) const MAX_MS: i64 = i64::MAX / 1_000_000;

/// Below this an epoch number is seconds, at or above it milliseconds: 10^11 s is the year 5138, 10^11
/// ms is 1973, so no CloudTrail time is ambiguous.
const EPOCH_MS_THRESHOLD: i64 = 100_000_000_000;

/// The result of reading a time.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Ms(i64),
    /// Not a time; the value as written (for the message).
    Invalid(String),
    /// A time the index cannot hold.
    OutOfRange(String),
}

/// Read a time from a JSON value.
pub fn parse_value(v: &Json) -> Parsed {
    match v {
        Json::Str(s) => parse_str(s),
        Json::Number(n) => {
            let text = n.to_string();
            match n.as_i64() {
                Some(i) => epoch(i, &text),
                None => match n.as_f64() {
                    // Fractional epoch seconds (`1715677200.5`).
                    Some(f) if f.is_finite() && f.abs() < EPOCH_MS_THRESHOLD as f64 => {
                        in_range((f * 1000.0).round() as i64, &text)
                    }
                    _ => Parsed::OutOfRange(text),
                },
            }
        }
        other => Parsed::Invalid(format!("{other:?}").chars().take(80).collect()),
    }
}

fn epoch(i: i64, text: &str) -> Parsed {
    if i.abs() < EPOCH_MS_THRESHOLD {
        in_range(i * 1000, text)
    } else {
        in_range(i, text)
    }
}

fn in_range(ms: i64, text: &str) -> Parsed {
    if (MIN_MS..=MAX_MS).contains(&ms) {
        Parsed::Ms(ms)
    } else {
        Parsed::OutOfRange(text.to_string())
    }
}

/// Read a time from a string.
pub fn parse_str(s: &str) -> Parsed {
    let t = s.trim();
    let quoted = || format!("{:?}", s.chars().take(80).collect::<String>());
    if !t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<i64>() {
            Ok(i) => epoch(i, t),
            Err(_) => Parsed::OutOfRange(quoted()),
        };
    }
    let ts = t.parse::<jiff::Timestamp>().ok().or_else(|| {
        t.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    });
    match ts {
        Some(ts) => in_range(ts.as_millisecond(), &quoted()),
        None if looks_like_a_date(t) => Parsed::OutOfRange(quoted()),
        None => Parsed::Invalid(quoted()),
    }
}

/// `0000-01-01T…` and `99999-…` parse nowhere; a message saying "out of range" helps more than "not a
/// time" when the shape is a date's.
fn looks_like_a_date(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    digits >= 4 && b.get(digits) == Some(&b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Parsed {
        parse_str(s)
    }

    #[test]
    fn every_form_pipelines_write() {
        let base = 1_715_677_200_000; // 2024-05-14T09:00:00Z
        assert_eq!(ms("2024-05-14T09:00:00Z"), Parsed::Ms(base));
        assert_eq!(ms("2024-05-14T11:00:00+02:00"), Parsed::Ms(base));
        assert_eq!(ms("2024-05-14T09:00:00.250Z"), Parsed::Ms(base + 250));
        assert_eq!(ms("2024-05-14 09:00:00"), Parsed::Ms(base));
        assert_eq!(ms("2024-05-14 09:00:00.000"), Parsed::Ms(base));
        assert_eq!(ms("2024-05-14T09:00:00"), Parsed::Ms(base));
        assert_eq!(ms("1715677200"), Parsed::Ms(base));
        assert_eq!(ms("1715677200000"), Parsed::Ms(base));
        let num = |t: &str| parse_value(&Json::parse(t).unwrap());
        assert_eq!(num("1715677200"), Parsed::Ms(base));
        assert_eq!(num("1715677200000"), Parsed::Ms(base));
        assert_eq!(num("1715677200.5"), Parsed::Ms(base + 500));
    }

    #[test]
    fn bad_and_unrepresentable_times_are_named() {
        assert_eq!(ms("1728560669x"), Parsed::Invalid("\"1728560669x\"".into()));
        assert!(matches!(ms("yesterday"), Parsed::Invalid(_)));
        assert!(matches!(ms("0000-01-01T00:00:00Z"), Parsed::OutOfRange(_)));
        assert!(matches!(ms("2300-01-01T00:00:00Z"), Parsed::OutOfRange(_)));
        assert!(matches!(ms("1600-01-01T00:00:00Z"), Parsed::OutOfRange(_)));
        assert!(matches!(ms("9999999999999999999"), Parsed::OutOfRange(_)));
        let num = |t: &str| parse_value(&Json::parse(t).unwrap());
        assert!(matches!(num("1e300"), Parsed::OutOfRange(_)));
        assert!(matches!(num("true"), Parsed::Invalid(_)));
        assert_eq!(ms("2262-04-11T00:00:00Z"), Parsed::Ms(9_223_286_400_000));
    }
}
