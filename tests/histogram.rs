//! Time histograms through the binary: `stats --by eventTime --interval`, `search --histogram`.

mod common;
use common::*;

fn idx() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(
        d.path(),
        &["cloudtrail", fixtures().join("trail").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    d
}

#[test]
fn counts_per_interval_add_up_and_empty_intervals_are_there() {
    let d = idx();
    for (q, interval) in [
        ("*", "1h"),
        ("eventName:Create*", "15m"),
        ("*", "1d"),
        ("*", "auto"),
    ] {
        let rows = json_lines(&ok(
            d.path(),
            &[
                "stats",
                "--by",
                "eventTime",
                "--interval",
                interval,
                q,
                "--format",
                "json",
            ],
        ));
        let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
        assert_eq!(total, count(d.path(), q), "{q} {interval}");
        // Consecutive starts, evenly spaced: empty intervals are rows with 0.
        let starts: Vec<i64> = rows
            .iter()
            .map(|r| {
                r["start"]
                    .as_str()
                    .unwrap()
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .as_millisecond()
            })
            .collect();
        let steps: std::collections::BTreeSet<i64> =
            starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(steps.len() <= 1, "{q} {interval}: {steps:?}");
    }
    let hourly = json_lines(&ok(
        d.path(),
        &[
            "stats",
            "--by",
            "eventTime",
            "--interval",
            "1h",
            "--format",
            "json",
        ],
    ));
    assert!(
        hourly.iter().any(|r| r["count"] == 0),
        "the fixtures have quiet hours"
    );
}

#[test]
fn the_window_sets_the_first_and_last_interval() {
    let d = idx();
    let rows = json_lines(&ok(
        d.path(),
        &[
            "stats",
            "--by",
            "eventTime",
            "--interval",
            "1d",
            "--since",
            "2024-05-10",
            "--until",
            "2024-05-20",
            "--format",
            "json",
        ],
    ));
    assert_eq!(rows.len(), 10, "10 days, the until day excluded");
    assert_eq!(rows[0]["start"], "2024-05-10T00:00:00Z");
    assert_eq!(rows[9]["start"], "2024-05-19T00:00:00Z");
    assert_eq!(rows[0]["count"], 0);
}

#[test]
fn bad_intervals_and_huge_histograms_are_refused() {
    let d = idx();
    for args in [
        vec!["stats", "--by", "eventTime", "--interval", "0h"],
        vec!["stats", "--by", "eventTime", "--interval", "1y"],
        vec!["stats", "--by", "eventName", "--interval", "1h"],
        vec![
            "stats",
            "--by",
            "eventTime",
            "--interval",
            "1s",
            "--since",
            "2000-01-01",
        ],
    ] {
        let (code, _, err) = run(d.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn search_draws_the_bars_above_the_hits_and_keeps_json_clean() {
    let d = idx();
    let (code, out, _) = run(d.path(), &["search", "eventName:Create*", "--histogram"]);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("START") && first.contains("one interval"),
        "{out}"
    );
    assert!(out.contains('█'));
    let (code, out, err) = run(
        d.path(),
        &[
            "search",
            "eventName:Create*",
            "--histogram",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        out.lines().all(|l| l.starts_with('{')),
        "stdout is JSON lines only"
    );
    assert!(err.contains("one interval"), "{err}");
}
