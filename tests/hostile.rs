//! Hostile input and damaged indexes, through the binary: no crash, no silent wrong answer, always a way
//! back. Each test here failed on the code before it (a stack overflow, a wrong count, a panic, a raw
//! formula in CSV, a world-readable index, …).

mod common;
use common::*;

use std::path::Path;

fn trail() -> String {
    fixtures().join("trail").to_str().unwrap().to_string()
}

fn indexed() -> tempfile::TempDir {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", &trail()]);
    assert_eq!(code, 0, "{err}");
    idx
}

#[test]
fn huge_and_deep_queries_are_refused_in_one_line() {
    let idx = indexed();
    let nots = format!("{}a", "NOT ".repeat(500));
    let parens = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    let ors = vec!["a"; 5_000].join(" OR ");
    for q in [&nots, &parens, &ors] {
        for args in [
            vec!["search", q.as_str(), "--count"],
            vec!["who", "CreateApp", "--where", q.as_str()],
        ] {
            let (code, _, err) = run(idx.path(), &args);
            assert_eq!(code, 2, "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("bad query"), "{err}");
        }
    }
    // Within the bounds, deep nesting runs.
    let ok_deep = format!("{}eventName:CreateApp", "NOT NOT ".repeat(30));
    assert_eq!(
        count(idx.path(), &ok_deep),
        count(idx.path(), "eventName:CreateApp")
    );
}

#[test]
fn times_beyond_what_the_index_holds_clamp_and_records_there_are_refused() {
    let idx = indexed();
    let all = count(idx.path(), "*");
    assert!(all > 20);
    let n = |args: &[&str]| -> u64 {
        let mut a = vec!["search", "*", "--count"];
        a.extend_from_slice(args);
        ok(idx.path(), &a).trim().parse().unwrap()
    };
    assert_eq!(n(&["--until", "2300-01-01"]), all);
    assert_eq!(n(&["--since", "1000-01-01"]), all);
    assert_eq!(n(&["--since", "1000-01-01", "--until", "9999-01-01"]), all);
    assert_eq!(n(&["--since", "2300-01-01"]), 0);
    assert_eq!(n(&["--until", "1000-01-01"]), 0);
    assert_eq!(
        count(idx.path(), "eventTime:[2024-01-01 TO 2300-01-01]"),
        all
    );
    assert_eq!(count(idx.path(), "eventTime:[1000-01-01 TO *]"), all);
    // Sub-second bounds are exact (they were truncated to the second).
    let first = ok(
        idx.path(),
        &[
            "search",
            "*",
            "--oldest-first",
            "--limit",
            "1",
            "--format",
            "json",
        ],
    );
    let t = serde_json::from_str::<serde_json::Value>(first.trim()).unwrap()["eventTime"]
        .as_str()
        .unwrap()
        .replace('Z', ".001Z");
    assert!(n(&["--until", &t]) > 0, "--until {t}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("old.json"),
        br#"{"Records":[{"eventID":"z1","eventTime":"0000-01-01T00:00:00Z"},{"eventID":"z2","eventTime":"2024-01-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3);
    assert_eq!(s["recordsFailed"], 1);
    assert!(err.contains("outside the years 1678 to 2261"), "{err}");
    assert_eq!(count(idx.path(), "eventID:z1"), 0);
}

/// Garble `len` bytes in the middle of the largest file whose name ends with `ext`.
fn garble(idx: &Path, ext: &str, len: usize) {
    let mut files: Vec<_> = std::fs::read_dir(idx)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let f = files.last().expect("a segment file");
    let mut b = std::fs::read(f).unwrap();
    let mid = b.len() / 3;
    for x in b.iter_mut().skip(mid).take(len) {
        *x ^= 0xA5;
    }
    std::fs::write(f, b).unwrap();
}

fn assert_damaged_then_rebuilt(idx: &Path, what: &str) {
    for args in [
        vec!["search", "fraud", "--limit", "3"],
        vec!["info"],
        vec!["verify"],
    ] {
        let (code, _, err) = run(idx, &args);
        assert_eq!(code, 2, "{what}: {args:?}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(
            err.contains("damaged") && err.contains("--reindex"),
            "{what}: {args:?}: {err}"
        );
    }
    let keep = idx.join("notes-of-the-analyst.txt");
    std::fs::write(&keep, b"mine").unwrap();
    let (code, s, err) = ingest_json(idx, &["cloudtrail", &trail(), "--reindex"]);
    assert_eq!(code, 0, "{what}: reindex: {err}");
    assert!(s["eventsAdded"].as_u64().unwrap() > 20);
    let (code, _, err) = run(idx, &["verify"]);
    assert_eq!(code, 0, "{what}: {err}");
    assert_eq!(
        std::fs::read(&keep).unwrap(),
        b"mine",
        "not the index's: untouched"
    );
    std::fs::remove_file(&keep).unwrap();
}

#[test]
fn a_garbled_or_missing_file_is_named_and_reindex_rebuilds_it() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 8] = [
        ("garbled .fast", |p| garble(p, ".fast", 64 * 1024)),
        ("garbled .store", |p| garble(p, ".store", 4096)),
        ("garbled .idx", |p| garble(p, ".idx", 4096)),
        ("meta.json empty", |p| {
            std::fs::write(p.join("meta.json"), b"").unwrap()
        }),
        ("meta.json garbage", |p| {
            std::fs::write(p.join("meta.json"), b"{\"nope").unwrap()
        }),
        ("meta.json truncated", |p| {
            let m = std::fs::read(p.join("meta.json")).unwrap();
            std::fs::write(p.join("meta.json"), &m[..m.len() / 2]).unwrap()
        }),
        ("a segment file missing", |p| {
            let f = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|f| f.to_string_lossy().ends_with(".term"))
                .unwrap();
            std::fs::remove_file(f).unwrap()
        }),
        ("a segment file zeroed", |p| {
            let f = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|f| {
                    f.to_string_lossy().ends_with(".pos") || f.to_string_lossy().ends_with(".fast")
                })
                .unwrap();
            let n = std::fs::metadata(&f).unwrap().len() as usize;
            std::fs::write(f, vec![0u8; n]).unwrap()
        }),
    ];
    for (what, damage) in damages {
        let idx = indexed();
        damage(idx.path());
        assert_damaged_then_rebuilt(idx.path(), what);
    }
    // A garbage .managed.json does not stop a reindex either.
    let idx = indexed();
    std::fs::write(idx.path().join(".managed.json"), b"garbage").unwrap();
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", &trail(), "--reindex"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(idx.path(), &["verify"]).0, 0);
}

#[test]
fn a_decompression_bomb_fails_with_a_reason_and_the_rest_goes_on() {
    use std::io::Write;
    let idx = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    g.write_all(b"{\"Records\":[").unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..48 {
        g.write_all(&spaces).unwrap();
    }
    g.write_all(b"]}").unwrap();
    std::fs::write(dir.path().join("bomb.json.gz"), g.finish().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("fine.json"),
        br#"{"Records":[{"eventID":"f1","eventTime":"2024-01-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    let (code, s, err) = ingest_json(
        idx.path(),
        &[
            "cloudtrail",
            dir.path().to_str().unwrap(),
            "--max-object-mb",
            "16",
        ],
    );
    assert_eq!(code, 3);
    assert!(
        err.contains("bomb.json.gz") && err.contains("more than 16 MiB"),
        "{err}"
    );
    assert_eq!(s["eventsAdded"], 1);
    assert_eq!(s["objectsFailed"], 1);
    // Within the limit it is just an empty container.
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // A plain file over the limit is refused before it is read.
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 2 << 20]).unwrap();
    let (code, _, err) = ingest_json(
        idx.path(),
        &["cloudtrail", big.to_str().unwrap(), "--max-object-mb", "1"],
    );
    assert_eq!(code, 3);
    assert!(err.contains("more than the limit"), "{err}");
}

#[test]
fn absurd_settings_are_refused() {
    let idx = tempfile::tempdir().unwrap();
    for args in [
        vec!["ingest", "cloudtrail", "x", "--threads", "100000"],
        vec!["ingest", "cloudtrail", "x", "--max-object-mb", "0"],
        vec!["ingest", "cloudtrail", &trail(), "--since", "abc"],
    ] {
        let (code, _, err) = run(idx.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    let idx = indexed();
    for v in ["NaN", "inf", "-5"] {
        let flag = format!("--max-session-seconds={v}");
        let (code, _, err) = run(
            idx.path(),
            &["audit", "--rule", "presigned-url-long-session", &flag],
        );
        assert_eq!(code, 2, "{v}: {err}");
        assert!(err.contains("max-session-seconds"), "{err}");
    }
}

#[test]
fn local_trail_folders_are_filtered_like_s3_listing() {
    let idx = tempfile::tempdir().unwrap();
    let (code, all, _) = ingest_json(idx.path(), &["cloudtrail", &trail()]);
    assert_eq!(code, 0);
    let idx2 = tempfile::tempdir().unwrap();
    let (code, s, err) = ingest_json(
        idx2.path(),
        &["cloudtrail", &trail(), "--accounts", "444455556666"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        s["objectsSkipped"].as_u64() > all["objectsSkipped"].as_u64(),
        "{s}"
    );
    assert_eq!(
        count(idx2.path(), "*"),
        count(idx.path(), "recipientAccountId:444455556666")
    );
    let idx3 = tempfile::tempdir().unwrap();
    let (code, s, _) = ingest_json(
        idx3.path(),
        &["cloudtrail", &trail(), "--since", "2100-01-01"],
    );
    assert_eq!((code, s["eventsAdded"].as_u64()), (0, Some(0)));
}

#[test]
fn csv_output_is_safe_in_a_spreadsheet_and_json_stays_exact() {
    let idx = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = r#"{"eventID":"h1","eventTime":"2024-01-01T00:00:00Z","eventName":"=cmd|' /C calc'!A0","sourceIPAddress":"@SUM(1+1)","errorCode":"+x\u001b]8;;http://evil\u0007","userIdentity":{"type":"IAMUser","arn":"-2+3\u202egnp.exe"}}"#;
    std::fs::write(
        dir.path().join("h.json"),
        format!("{{\"Records\":[{rec}]}}"),
    )
    .unwrap();
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let csvs = [
        ok(idx.path(), &["search", "*", "--format", "csv"]),
        ok(
            idx.path(),
            &["stats", "--by", "eventName", "--format", "csv"],
        ),
        ok(
            idx.path(),
            &["stats", "--by", "errorCode", "--format", "csv"],
        ),
        ok(idx.path(), &["who", "*", "--format", "csv"]),
        ok(
            idx.path(),
            &["timeline", "-2+3\u{202e}gnp.exe", "--format", "csv"],
        ),
        ok(
            idx.path(),
            &["activity", "-2+3\u{202e}gnp.exe", "--format", "csv"],
        ),
    ];
    for out in &csvs {
        let mut rd = csv::Reader::from_reader(out.as_bytes());
        for row in rd.records() {
            for cell in row.unwrap().iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "formula cell {cell:?} in {out}"
                );
                assert!(
                    !cell.chars().any(|c| c.is_control() || c == '\u{202e}'),
                    "control in {cell:?}"
                );
            }
        }
    }
    assert!(csvs[0].contains("'=cmd|"), "{}", csvs[0]);
    let json = ok(idx.path(), &["search", "*", "--format", "json"]);
    assert_eq!(json.trim_end(), rec, "JSON is the record, byte for byte");
    // Tables are sanitised of the same characters.
    let table = ok(idx.path(), &["search", "*"]);
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{202e}'),
        "{table}"
    );
}

#[test]
fn leading_negation_is_a_query_not_a_flag() {
    let idx = indexed();
    let all = count(idx.path(), "*");
    let with = count(idx.path(), "errorCode:*");
    assert!(with > 0);
    assert_eq!(count(idx.path(), "-errorCode:*"), all - with);
    let (code, out, err) = run(idx.path(), &["search", "--count", "-errorCode:*"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().parse::<u64>().unwrap(), all - with);
}

#[test]
fn stats_by_an_unknown_field_names_the_nearest() {
    let idx = indexed();
    for by in ["", "nosuch.field", "_raw", "eventname"] {
        let (code, _, err) = run(idx.path(), &["stats", "--by", by]);
        assert_eq!(code, 2, "{by:?}: {err}");
        assert!(err.contains("nearest field names"), "{err}");
    }
    let (_, _, err) = run(idx.path(), &["stats", "--by", "eventname"]);
    assert!(err.contains("eventName"), "{err}");
    // A real path absent from the hits is no error: it has no values here.
    let (code, _, _) = run(
        idx.path(),
        &[
            "stats",
            "--by",
            "requestParameters.domainId",
            "eventName:NoSuchEvent",
        ],
    );
    assert_eq!(code, 0);
}

#[cfg(unix)]
#[test]
fn index_files_are_private_even_in_a_directory_made_open() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let idx = parent.path().join("idx");
    std::fs::create_dir(&idx).unwrap();
    std::fs::set_permissions(&idx, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, _, err) = ingest_json(&idx, &["cloudtrail", &trail()]);
    assert_eq!(code, 0, "{err}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // The first ingest found an empty directory: tantivy created the files; the umask made them private.
    for e in std::fs::read_dir(&idx).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p) & 0o077, 0, "{} is {:o}", p.display(), mode(&p));
    }
    // An index left readable by an older sagetrail is made private by the next ingest.
    for e in std::fs::read_dir(&idx).unwrap() {
        std::fs::set_permissions(e.unwrap().path(), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    std::fs::set_permissions(&idx, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, _, _) = ingest_json(&idx, &["cloudtrail", &trail()]);
    assert_eq!(code, 0);
    assert_eq!(mode(&idx), 0o700);
    for e in std::fs::read_dir(&idx).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p) & 0o077, 0, "{} is {:o}", p.display(), mode(&p));
    }
}

/// A full disk names its cause and the directory, on the run that hit it and on the next. Needs a small
/// filesystem: a tmpfs mounted for the test (root, as CI and scripts/test run); elsewhere it says so.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_named_as_such() {
    let mnt = tempfile::tempdir().unwrap();
    let ok_mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(mnt.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok_mount {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root and must be able to mount a tmpfs"
        );
        eprintln!("note: cannot mount a tmpfs here (not root?): full-disk test skipped");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(mnt.path());
    let src = tempfile::tempdir().unwrap();
    let mut recs = Vec::new();
    for i in 0..20_000u32 {
        // Incompressible user agents, so the index cannot fit in 3 MiB.
        let ua: String = (0..40u32)
            .map(|j| format!("{:08x}", i.wrapping_mul(2654435761) ^ j.wrapping_mul(40503)))
            .collect();
        recs.push(format!(
            r#"{{"eventID":"e{i}","eventTime":"2024-01-01T00:00:00Z","eventName":"X","userAgent":"{ua}"}}"#
        ));
    }
    std::fs::write(
        src.path().join("big.json"),
        format!("{{\"Records\":[{}]}}", recs.join(",")),
    )
    .unwrap();
    let idx = mnt.path().join("idx");
    for attempt in ["first", "second"] {
        let (code, _, err) = run(
            &idx,
            &["ingest", "cloudtrail", src.path().to_str().unwrap()],
        );
        assert_eq!(code, 2, "{attempt}: {err}");
        assert!(
            err.contains("no space left on its device") && err.contains(idx.to_str().unwrap()),
            "{attempt}: {err}"
        );
    }
}

/// An empty AWS_ENDPOINT_URL (a shell's `export AWS_ENDPOINT_URL=`) means no endpoint, not a URL the SDK
/// panics on: the command fails as any unreachable endpoint does, with one line and exit 2.
#[test]
fn an_empty_endpoint_variable_is_no_endpoint() {
    let d = tempfile::tempdir().unwrap();
    let out = common::st(d.path())
        .args([
            "lake",
            "ddl",
            "--to",
            "s3://nonexistent-bucket-sagetrail-test/x",
            "--engine",
            "duckdb",
        ])
        .env("AWS_ENDPOINT_URL", "")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
