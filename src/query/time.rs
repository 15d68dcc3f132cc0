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
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| TimeError(s.to_string()))?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(TimeError(s.to_string())),
    };
    n.checked_mul(unit_ms)
        .and_then(|d| now_ms.checked_sub(d))
        .ok_or_else(|| TimeError(s.to_string()))
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Epoch milliseconds as RFC 3339 (seconds precision unless there are milliseconds).
pub fn format_ms(ms: i64) -> String {
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
}
