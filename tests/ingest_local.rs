//! Ingesting folders: forms, exactly-once, incremental reruns, bad input, kills.

mod common;

use std::collections::HashSet;

use common::*;

#[test]
fn ingest_counts_dedups_and_skips() {
    let idx = tempfile::tempdir().unwrap();
    let trail = fixtures().join("trail");
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", trail.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let records = trail_records(&trail);
    let distinct: HashSet<&String> = records.iter().collect();
    assert!(
        records.len() > distinct.len(),
        "fixtures deliver one event twice"
    );
    assert_eq!(s["eventsAdded"], distinct.len() as u64);
    assert_eq!(
        s["eventsAlreadyPresent"],
        (records.len() - distinct.len()) as u64
    );
    // The digest and the Insight object are skipped by name and never indexed.
    assert_eq!(s["objectsSkipped"], 2);
    assert_eq!(s["objectsFailed"], 0);
    assert_eq!(count(idx.path(), "*"), distinct.len() as u64);
    assert_eq!(count(idx.path(), "eventType:AwsCloudTrailInsight"), 0);
}

#[test]
fn rerun_reads_nothing_and_adds_nothing() {
    let idx = tempfile::tempdir().unwrap();
    let trail = fixtures().join("trail");
    let t = trail.to_str().unwrap();
    let (_, first, _) = ingest_json(idx.path(), &["cloudtrail", t]);
    let (code, again, _) = ingest_json(idx.path(), &["cloudtrail", t]);
    assert_eq!(code, 0);
    assert_eq!(again["objectsRead"], 0);
    assert_eq!(again["objectsUnchanged"], first["objectsRead"]);
    assert_eq!(again["eventsAdded"], 0);
    // --reindex reads everything again and still stores each event once.
    let (_, re, _) = ingest_json(idx.path(), &["cloudtrail", t, "--reindex"]);
    assert_eq!(re["objectsRead"], first["objectsRead"]);
    assert_eq!(re["eventsAdded"], first["eventsAdded"]);
    assert_eq!(
        count(idx.path(), "*"),
        first["eventsAdded"].as_u64().unwrap()
    );
}

#[test]
fn same_events_from_another_folder_are_already_present() {
    let idx = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("trail"), copy.path());
    let (_, first, _) = ingest_json(
        idx.path(),
        &["cloudtrail", fixtures().join("trail").to_str().unwrap()],
    );
    let (code, second, _) = ingest_json(idx.path(), &["cloudtrail", copy.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(second["objectsRead"], first["objectsRead"]);
    assert_eq!(second["eventsAdded"], 0);
    assert_eq!(
        second["eventsAlreadyPresent"].as_u64().unwrap(),
        first["eventsAdded"].as_u64().unwrap() + first["eventsAlreadyPresent"].as_u64().unwrap()
    );
}

#[test]
fn a_changed_object_is_read_again() {
    let idx = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("events.json");
    let rec = |id: &str| {
        format!(
            r#"{{"eventVersion":"1.09","eventID":"{id}","eventTime":"2024-06-01T00:00:00Z","eventName":"ListApps"}}"#
        )
    };
    std::fs::write(&f, format!("{}\n", rec("a"))).unwrap();
    let (_, s1, _) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(s1["eventsAdded"], 1);
    std::fs::write(&f, format!("{}\n{}\n", rec("a"), rec("b"))).unwrap();
    let (code, s2, _) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(s2["objectsRead"], 1);
    assert_eq!(s2["eventsAdded"], 1);
    assert_eq!(s2["eventsAlreadyPresent"], 1);
    assert_eq!(count(idx.path(), "*"), 2);
    let info: serde_json::Value =
        serde_json::from_str(&ok(idx.path(), &["info", "--format", "json"])).unwrap();
    assert_eq!(
        info["objectsIngested"], 1,
        "the old version's ledger entry is replaced"
    );
}

#[test]
fn other_forms_are_accepted_and_digest_bodies_skipped() {
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = ingest_json(
        idx.path(),
        &["cloudtrail", fixtures().join("forms").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        s["objectsSkipped"], 1,
        "the digest body is recognised by content"
    );
    // lookup-events (2) + NDJSON (2) + bare array (1) + pretty Records (1)
    assert_eq!(s["eventsAdded"], 6);
    assert_eq!(count(idx.path(), "eventName:ListSpaces"), 1);
    assert_eq!(count(idx.path(), "eventName:DescribeUserProfile"), 1);
}

#[test]
fn bad_input_is_reported_rest_indexed_and_retried() {
    let idx = tempfile::tempdir().unwrap();
    let broken = fixtures().join("broken");
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", broken.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    for name in [
        "corrupt.json.gz",
        "truncated.json.gz",
        "invalid.json",
        "bad-time.json",
    ] {
        assert!(
            err.lines().any(|l| l.contains(name) && l.contains("error")),
            "{name} not reported: {err}"
        );
    }
    assert!(
        err.contains("eventTime \"1728560669x\" is not a time"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.contains("bad-time.json")).count(),
        1,
        "one line per object: {err}"
    );
    assert_eq!(s["objectsFailed"], 4);
    assert_eq!(s["objectsSkipped"], 1, "README.txt is not a trail object");
    // The good record beside the one with a malformed time is indexed; so is the whole record before the bad JSON.
    assert_eq!(count(idx.path(), "eventName:ListDomains"), 1);
    assert!(count(idx.path(), "*") >= 2);
    // Nothing failed was marked done: a rerun reads the same four again and adds nothing twice.
    let before = count(idx.path(), "*");
    let (code, s2, _) = ingest_json(idx.path(), &["cloudtrail", broken.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert_eq!(s2["objectsRead"], 4);
    assert_eq!(s2["eventsAdded"], 0);
    assert_eq!(count(idx.path(), "*"), before);
}

#[test]
fn a_mixed_run_exits_3_and_keeps_the_good_objects() {
    let idx = tempfile::tempdir().unwrap();
    let (code, s, _) = ingest_json(
        idx.path(),
        &[
            "cloudtrail",
            fixtures().join("trail").to_str().unwrap(),
            fixtures().join("broken").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3);
    assert!(s["eventsAdded"].as_u64().unwrap() > 25);
    let (_, again, _) = ingest_json(
        idx.path(),
        &[
            "cloudtrail",
            fixtures().join("trail").to_str().unwrap(),
            fixtures().join("broken").to_str().unwrap(),
        ],
    );
    assert_eq!(
        again["objectsRead"], 4,
        "only the failed objects are read again"
    );
}

#[test]
fn missing_path_is_an_error_not_a_crash() {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = run(idx.path(), &["ingest", "cloudtrail", "/nonexistent/trail"]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/trail"), "{err}");
}

#[test]
fn index_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let idx = parent.path().join("new-index");
    ok(
        &idx,
        &[
            "ingest",
            "cloudtrail",
            fixtures().join("forms").to_str().unwrap(),
        ],
    );
    let mode = std::fs::metadata(&idx).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn search_before_any_ingest_says_so() {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&idx.path().join("none"), &["search", "*"]);
    assert_eq!(code, 2);
    assert!(err.contains("no index here yet"), "{err}");
}

/// Many objects, so that a kill lands mid-run.
fn write_many(dir: &std::path::Path, objects: usize, per: usize) -> usize {
    let mut n = 0;
    for o in 0..objects {
        let p = dir.join(format!(
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/06/01/obj{o:04}.json.gz"
        ));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut recs = Vec::new();
        for i in 0..per {
            // Every 7th record repeats one from the previous object (at-least-once delivery).
            let id = if i % 7 == 0 && o > 0 {
                format!("e-{}-{}", o - 1, i + 1)
            } else {
                format!("e-{o}-{i}")
            };
            recs.push(format!(
                r#"{{"eventVersion":"1.09","eventID":"{id}","eventTime":"2024-06-01T00:{:02}:{:02}Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s{o}"}},"requestParameters":{{"bucketName":"b","key":"k/{o}/{i}"}}}}"#,
                o % 60, i % 60
            ));
        }
        let body = format!(r#"{{"Records":[{}]}}"#, recs.join(","));
        std::fs::write(&p, gzip(body.as_bytes())).unwrap();
        n += per;
    }
    n
}

fn spawn_ingest(idx: &std::path::Path, src: &std::path::Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("sagetrail"))
        .args([
            "ingest",
            "cloudtrail",
            src.to_str().unwrap(),
            "--memory-mb",
            "64",
            "--commit-every",
            "2000",
        ])
        .env("SAGETRAIL_INDEX", idx)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn committed(idx: &std::path::Path) -> u64 {
    let (code, out, _) = run(idx, &["search", "*", "--count"]);
    if code == 0 {
        out.trim().parse().unwrap_or(0)
    } else {
        0
    }
}

fn assert_rerun_is_exact(idx: &std::path::Path, src: &std::path::Path, expected: u64, when: &str) {
    let (code, _, err) = ingest_json(idx, &["cloudtrail", src.to_str().unwrap()]);
    assert_eq!(code, 0, "rerun after kill {when}: {err}");
    assert_eq!(
        count(idx, "*"),
        expected,
        "gap or duplicate after kill {when}"
    );
    // Every stored record, by its own eventID: none twice.
    let out = ok(idx, &["search", "*", "--all", "--format", "json"]);
    let mut ids = std::collections::HashSet::new();
    let mut lines = 0u64;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        lines += 1;
        assert!(
            ids.insert(v["eventID"].as_str().unwrap().to_string()),
            "an event stored twice after kill {when}: {line}"
        );
    }
    assert_eq!(lines, expected, "records after kill {when}");
}

#[test]
fn a_kill_at_any_moment_then_a_rerun_leaves_no_gap_and_no_duplicate() {
    let src = tempfile::tempdir().unwrap();
    write_many(src.path(), 150, 300);
    let reference = tempfile::tempdir().unwrap();
    let (_, full, _) = ingest_json(
        reference.path(),
        &["cloudtrail", src.path().to_str().unwrap()],
    );
    let expected = full["eventsAdded"].as_u64().unwrap();
    assert_eq!(count(reference.path(), "*"), expected);

    // Killed right after its first commit became visible: some objects are done, most are not.
    let idx = tempfile::tempdir().unwrap();
    let mut child = spawn_ingest(idx.path(), src.path());
    let mut seen = 0;
    for _ in 0..3000 {
        seen = committed(idx.path());
        if seen > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill(); // SIGKILL: no cleanup runs
    let _ = child.wait();
    let at_kill = committed(idx.path());
    assert!(
        seen > 0 && at_kill < expected,
        "the kill must land mid-run (saw {seen}, then {at_kill} of {expected})"
    );
    assert_rerun_is_exact(idx.path(), src.path(), expected, "after the first commit");

    // Killed at arbitrary moments.
    for delay_ms in [30u64, 300, 900] {
        let idx = tempfile::tempdir().unwrap();
        let mut child = spawn_ingest(idx.path(), src.path());
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_rerun_is_exact(
            idx.path(),
            src.path(),
            expected,
            &format!("at {delay_ms} ms"),
        );
    }
}

#[test]
fn dry_run_decodes_everything_and_indexes_nothing() {
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = ingest_json(
        idx.path(),
        &[
            "cloudtrail",
            fixtures().join("trail").to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["objectsRead"], 4);
    assert_eq!(
        s["eventsAdded"], 25,
        "every record decoded and normalised (duplicates are not looked up)"
    );
    assert_eq!(count(idx.path(), "*"), 0);
    let (_, again, _) = ingest_json(
        idx.path(),
        &["cloudtrail", fixtures().join("trail").to_str().unwrap()],
    );
    assert_eq!(again["objectsRead"], 4, "a dry run marks nothing done");
}

#[test]
fn an_index_with_another_schema_is_refused_and_rebuilt_by_reindex() {
    let idx = tempfile::tempdir().unwrap();
    {
        // An index made by another version: same directory layout, another schema.
        let mut b = tantivy::schema::Schema::builder();
        b.add_text_field("_raw", tantivy::schema::STORED);
        let old = tantivy::Index::create_in_dir(idx.path(), b.build()).unwrap();
        let mut w = old.writer_with_num_threads(1, 15_000_000).unwrap();
        let f = old.schema().get_field("_raw").unwrap();
        w.add_document(tantivy::doc!(f => "old")).unwrap();
        w.commit().unwrap();
    }
    std::fs::write(idx.path().join("notes.txt"), "mine").unwrap();
    let trail = fixtures().join("trail");
    let (code, _, err) = run(idx.path(), &["search", "*", "--count"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("another index schema") && err.contains("--reindex"),
        "{err}"
    );
    let (code, _, err) = run(
        idx.path(),
        &["ingest", "cloudtrail", trail.to_str().unwrap()],
    );
    assert_eq!(code, 2, "a plain ingest does not touch it: {err}");

    let (code, s, err) = ingest_json(
        idx.path(),
        &["cloudtrail", "--reindex", trail.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let fresh = tempfile::tempdir().unwrap();
    ok(
        fresh.path(),
        &["ingest", "cloudtrail", trail.to_str().unwrap()],
    );
    let n = count(fresh.path(), "*");
    assert!(n > 0);
    assert_eq!(s["eventsAdded"], n);
    assert_eq!(
        count(idx.path(), "*"),
        n,
        "nothing of the old index is left"
    );
    assert_eq!(
        std::fs::read_to_string(idx.path().join("notes.txt")).unwrap(),
        "mine"
    );
    let (_, again, _) = ingest_json(idx.path(), &["cloudtrail", trail.to_str().unwrap()]);
    assert_eq!(again["objectsRead"], 0, "the rebuilt index is a normal one");
}

#[test]
fn bench_omit_leaves_out_exactly_the_parts_it_names() {
    let trail = fixtures().join("trail");
    let full = tempfile::tempdir().unwrap();
    let part = tempfile::tempdir().unwrap();
    ok(
        full.path(),
        &["ingest", "cloudtrail", trail.to_str().unwrap()],
    );
    ok(
        part.path(),
        &[
            "ingest",
            "cloudtrail",
            trail.to_str().unwrap(),
            "--bench-omit",
            "text,record",
        ],
    );
    let word = "CreatePresignedDomainUrl";
    let keyed = format!("eventName:{word}");
    assert!(count(full.path(), word) > 0);
    assert_eq!(count(part.path(), word), 0, "no full text");
    assert_eq!(count(part.path(), &keyed), count(full.path(), &keyed));
    assert_eq!(count(part.path(), "*"), count(full.path(), "*"));
    let q = ["search", keyed.as_str(), "--format", "json"];
    assert!(ok(full.path(), &q).contains(word));
    assert!(!ok(part.path(), &q).contains(word), "no stored record");
}

fn segments(idx: &std::path::Path) -> u64 {
    let info: serde_json::Value =
        serde_json::from_str(&ok(idx, &["info", "--format", "json"])).unwrap();
    info["segments"].as_u64().unwrap()
}

#[test]
fn small_segments_are_merged_in_bounded_groups_and_answers_do_not_change() {
    let src = tempfile::tempdir().unwrap();
    write_many(src.path(), 40, 100);
    let s = src.path().to_str().unwrap();
    // Reference: a commit every 200 events makes ~20 segments; a cap of 2 merges none of them.
    let reference = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        reference.path(),
        &[
            "ingest",
            "cloudtrail",
            s,
            "--commit-every",
            "200",
            "--merge-max-docs",
            "2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let unmerged = segments(reference.path());
    assert!(
        unmerged > 8,
        "the reference must have many segments: {unmerged}"
    );

    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        idx.path(),
        &[
            "ingest",
            "cloudtrail",
            s,
            "--commit-every",
            "200",
            "--merge-max-docs",
            "1000",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("segments merged into"), "{err}");
    let total = count(idx.path(), "*");
    let merged = segments(idx.path());
    assert!(
        merged < unmerged && merged >= total.div_ceil(1000),
        "{unmerged} segments became {merged} for {total} events with groups of at most 1000"
    );
    // The merged-away segments' files are gone.
    let stores = std::fs::read_dir(idx.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "store")
        })
        .count() as u64;
    assert_eq!(stores, merged, "one store file per live segment");

    // Same answers. (Which copy of a redelivered eventID is kept depends on decode order, and this data
    // redelivers some with other contents, so compare the events by id.)
    assert_eq!(total, count(reference.path(), "*"));
    let ids = |idx: &std::path::Path, q: &str| {
        let mut v: Vec<String> = json_lines(&ok(idx, &["search", q, "--all", "--format", "json"]))
            .iter()
            .map(|r| r["eventID"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    for q in [
        "*",
        "eventName:GetObject AND requestParameters.bucketName:b",
    ] {
        let got = ids(idx.path(), q);
        assert!(!got.is_empty(), "{q}");
        assert_eq!(got, ids(reference.path(), q), "{q}");
    }
    // A rerun adds nothing and has nothing to merge.
    let (code, _, err) = run(
        idx.path(),
        &["ingest", "cloudtrail", s, "--merge-max-docs", "1000"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 segments merged"), "{err}");
    assert_eq!(count(idx.path(), "*"), total);
    assert_eq!(segments(idx.path()), merged);
}

/// Two eventIDs whose digests share their low 32 bits (what the writer's per-segment prefilter keys on).
fn colliding_event_ids() -> (String, String) {
    let mut seen = std::collections::HashMap::new();
    for i in 0u64.. {
        let id = format!("collide-{i}");
        let bits = sagetrail::index::schema::id_hash("eventID", &id) as u32;
        if let Some(other) = seen.insert(bits, id.clone()) {
            return (other, id);
        }
    }
    unreachable!()
}

fn write_records(dir: &std::path::Path, name: &str, ids: &[&str]) {
    let p = dir.join(format!(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/06/02/{name}.json.gz"
    ));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let recs: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"eventVersion":"1.09","eventID":"{id}","eventTime":"2024-06-02T00:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com"}}"#))
        .collect();
    std::fs::write(
        p,
        gzip(format!(r#"{{"Records":[{}]}}"#, recs.join(",")).as_bytes()),
    )
    .unwrap();
}

#[test]
fn an_event_sharing_digest_bits_with_an_indexed_one_is_still_new() {
    let (a, b) = colliding_event_ids();
    let idx = tempfile::tempdir().unwrap();
    let first = tempfile::tempdir().unwrap();
    write_records(first.path(), "first", &[&a]);
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", first.path().to_str().unwrap()]);
    assert_eq!((code, s["eventsAdded"].as_u64()), (0, Some(1)), "{err}");
    // A later run: `b` shares the low 32 bits with `a` (already in the index) but is another event;
    // `a` again, from another object, is a redelivery.
    let second = tempfile::tempdir().unwrap();
    write_records(second.path(), "second", &[&b, &a]);
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", second.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["eventsAdded"], 1, "{s}");
    assert_eq!(s["eventsAlreadyPresent"], 1, "{s}");
    assert_eq!(count(idx.path(), "*"), 2);
    assert_eq!(count(idx.path(), &format!("eventID:{b}")), 1);
}
