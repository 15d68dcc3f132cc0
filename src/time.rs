//! Times on the command line and in ranges: RFC 3339, a bare date, or relative to now (`7d`, `12h`, `30m`).

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("bad time {0:?}: use RFC 3339 (2024-05-01T10:00:00Z), a date (2024-05-01) or an age (7d, 12h, 30m, 45s)")]
pub struct TimeError(pub String);

/// Parse to epoch milliseconds, with `now_ms` as the reference for relative times.
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64, TimeError> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| TimeError(s.to_string()));
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| TimeError(s.to_string()));
    }
    duration_ms(s)
        .and_then(|d| now_ms.checked_sub(d))
        .ok_or_else(|| TimeError(s.to_string()))
}

/// A duration written as a count and a unit (`45s`, `30m`, `12h`, `7d`, `2w`), in milliseconds.
fn duration_ms(s: &str) -> Option<i64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().ok()?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// The width of a histogram's intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    Fixed(i64),
    /// Chosen from the window, as Kibana's auto interval is.
    Auto,
}

/// The intervals `auto` picks from: the round ones people read.
const NICE_INTERVALS_MS: [i64; 17] = [
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    7 * 86_400_000,
    30 * 86_400_000,
    365 * 86_400_000,
];
/// About how many bars `auto` aims for: enough to see a shape, few enough to read in a terminal.
pub(crate) const AUTO_TARGET_BUCKETS: i64 = 60;

/// The smallest round interval that cuts `span_ms` into at most [`AUTO_TARGET_BUCKETS`] buckets.
pub(crate) fn auto_interval(span_ms: i64) -> i64 {
    NICE_INTERVALS_MS
        .iter()
        .copied()
        .find(|i| span_ms / i < AUTO_TARGET_BUCKETS)
        .unwrap_or(NICE_INTERVALS_MS[NICE_INTERVALS_MS.len() - 1])
}

/// `auto`, or an age-like width: `15m`, `1h`, `1d`, `30s`, `1w`.
pub(crate) fn parse_interval(s: &str) -> Result<Interval, TimeError> {
    let s = s.trim();
    if s == "auto" {
        return Ok(Interval::Auto);
    }
    match duration_ms(s) {
        Some(ms) if ms > 0 => Ok(Interval::Fixed(ms)),
        _ => Err(TimeError(s.to_string())),
    }
}

/// Now, in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Epoch milliseconds as RFC 3339 (seconds precision unless there are milliseconds).
pub(crate) fn format_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) if ms % 1000 == 0 => format!("{t:.0}"),
        Ok(t) => format!("{t:.3}"),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let now = 1_700_000_000_000;
        assert_eq!(
            parse_time("2024-01-01T00:00:00Z", now).unwrap(),
            1704067200000
        );
        assert_eq!(parse_time("2024-01-01", now).unwrap(), 1704067200000);
        assert_eq!(parse_time("7d", now).unwrap(), now - 7 * 86_400_000);
        assert_eq!(parse_time("12h", now).unwrap(), now - 12 * 3_600_000);
        assert_eq!(parse_time("30m", now).unwrap(), now - 30 * 60_000);
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("5y", now).is_err());
        assert_eq!(format_ms(1704067200000), "2024-01-01T00:00:00Z");
        assert_eq!(format_ms(1704067200123), "2024-01-01T00:00:00.123Z");
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("15m"), Ok(Interval::Fixed(900_000)));
        assert_eq!(parse_interval("1d"), Ok(Interval::Fixed(86_400_000)));
        assert_eq!(parse_interval("auto"), Ok(Interval::Auto));
        for bad in ["0h", "h", "1y", "-1h", "99999999999999999w", ""] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        // auto: the first round width giving under 60 bars.
        assert_eq!(auto_interval(0), 1_000);
        assert_eq!(auto_interval(59_000), 1_000);
        assert_eq!(auto_interval(60_000), 5_000);
        assert_eq!(auto_interval(86_400_000), 30 * 60_000);
        assert_eq!(auto_interval(7 * 86_400_000), 3 * 3_600_000);
        assert_eq!(
            auto_interval(30 * 86_400_000),
            86_400_000,
            "12 h would give exactly 60"
        );
        assert_eq!(auto_interval(i64::MAX), 365 * 86_400_000);
    }
}
