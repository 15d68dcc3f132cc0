//! Against a real S3 / CloudWatch Logs API: moto in server mode on 127.0.0.1, started by scripts/test
//! (SAGETRAIL_TEST_MOTO holds its URL). Without it a plain `cargo test` says so and returns; under
//! scripts/test (SAGETRAIL_REQUIRE_MOTO) or CI its absence is a failure.

mod common;

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use common::moto::{bucket, logs, moto, rt, s3};
use common::*;

/// Names unique to this test process, so reruns against a long-lived moto start clean.
fn uniq(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// The binary with credentials for moto and its endpoint.
fn aws_run(index: &Path, endpoint: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut a: Vec<&str> = args.to_vec();
    a.extend_from_slice(&["--endpoint-url", endpoint, "--summary", "json"]);
    let out = st(index)
        .args(&a)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("summary ({e}): {stdout} / {stderr}"));
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn put(client: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    rt().block_on(
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send(),
    )
    .unwrap();
}

/// Upload a local tree under `prefix`.
fn upload_tree(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str, dir: &Path) -> usize {
    let mut n = 0;
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            put(
                client,
                bucket,
                &format!("{prefix}{rel}"),
                std::fs::read(e.path()).unwrap(),
            );
            n += 1;
        }
    }
    n
}

fn small_object(ids: &[&str], day: &str) -> Vec<u8> {
    let recs: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"eventVersion":"1.09","eventID":"{id}","eventTime":"{day}T12:00:00Z","eventName":"ListApps","eventSource":"sagemaker.amazonaws.com"}}"#))
        .collect();
    gzip(format!(r#"{{"Records":[{}]}}"#, recs.join(",")).as_bytes())
}

#[test]
fn s3_trails_in_both_layouts_with_paging_and_incremental_reruns() {
    let Some(ep) = moto() else { return };
    let c = s3(&ep);
    let b = uniq("trails-both");
    bucket(&c, &b);
    let url = format!("s3://{b}");
    upload_tree(&c, &b, "org/", &fixtures().join("trail"));
    // Enough objects in one day to need several ListObjectsV2 pages (moto serves 3 keys a page here).
    for i in 0..7 {
        put(&c, &b, &format!("org/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/16/111122223333_CloudTrail_us-east-1_20240516T00{i:02}Z_p{i}.json.gz"),
            small_object(&[&format!("page-{i}-a"), &format!("page-{i}-b")], "2024-05-16"));
    }
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = aws_run(
        idx.path(),
        &ep,
        &["ingest", "cloudtrail", &format!("{url}/org")],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["objectsRead"], 4 + 7);
    assert_eq!(
        s["objectsSkipped"], 0,
        "digest and Insight prefixes are never listed"
    );
    let local = tempfile::tempdir().unwrap();
    let (_, l, _) = ingest_json(
        local.path(),
        &["cloudtrail", fixtures().join("trail").to_str().unwrap()],
    );
    assert_eq!(
        s["eventsAdded"].as_u64().unwrap(),
        l["eventsAdded"].as_u64().unwrap() + 14
    );
    assert_eq!(
        count(idx.path(), "recipientAccountId:444455556666"),
        2,
        "the organization trail's account"
    );
    // Same JSON records as from the files.
    assert_eq!(
        ok(
            idx.path(),
            &[
                "search",
                "kind:cloudtrail -eventName:ListApps",
                "--all",
                "--format",
                "json"
            ]
        ),
        ok(
            local.path(),
            &["search", "kind:cloudtrail", "--all", "--format", "json"]
        )
    );
    // Rerun: nothing fetched. A late object: only it.
    let (code, again, _) = aws_run(
        idx.path(),
        &ep,
        &["ingest", "cloudtrail", &format!("{url}/org")],
    );
    assert_eq!(code, 0);
    assert_eq!(again["objectsRead"], 0);
    assert_eq!(again["objectsUnchanged"], 11);
    put(
        &c,
        &b,
        "org/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/16/late.json.gz",
        small_object(&["late-1", "page-0-a"], "2024-05-16"),
    );
    let (_, late, _) = aws_run(
        idx.path(),
        &ep,
        &["ingest", "cloudtrail", &format!("{url}/org")],
    );
    assert_eq!(late["objectsRead"], 1);
    assert_eq!(late["eventsAdded"], 1);
    assert_eq!(late["eventsAlreadyPresent"], 1);
}

#[test]
fn s3_listing_is_pruned_by_account_region_and_days() {
    let Some(ep) = moto() else { return };
    let c = s3(&ep);
    let b = uniq("trails-pruned");
    bucket(&c, &b);
    let url = format!("s3://{b}");
    upload_tree(&c, &b, "", &fixtures().join("trail"));
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = aws_run(
        idx.path(),
        &ep,
        &[
            "ingest",
            "cloudtrail",
            &url,
            "--accounts",
            "111122223333",
            "--regions",
            "us-east-1",
            "--since",
            "2024-05-15T00:00:00Z",
            "--until",
            "2024-05-15T23:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let listed: Vec<String> = s["prefixesListed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed,
        vec![
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/14/",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/15/",
        ]
    );
    assert_eq!(s["objectsRead"], 3);
    assert_eq!(count(idx.path(), "recipientAccountId:444455556666"), 0);
    // Accounts found inside an organization prefix, region discovered by listing.
    let idx2 = tempfile::tempdir().unwrap();
    let (_, s2, _) = aws_run(
        idx2.path(),
        &ep,
        &["ingest", "cloudtrail", &url, "--accounts", "444455556666"],
    );
    assert_eq!(
        s2["prefixesListed"],
        serde_json::json!(["AWSLogs/o-exampleorg1/444455556666/CloudTrail/eu-west-1/"])
    );
    assert_eq!(s2["eventsAdded"], 2);
}

#[test]
fn a_corrupt_s3_object_is_reported_and_retried_the_rest_indexed() {
    let Some(ep) = moto() else { return };
    let c = s3(&ep);
    let b = uniq("trails-corrupt");
    bucket(&c, &b);
    let url = format!("s3://{b}");
    let day = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/";
    put(
        &c,
        &b,
        &format!("{day}good.json.gz"),
        small_object(&["g1", "g2"], "2024-05-17"),
    );
    put(
        &c,
        &b,
        &format!("{day}bad.json.gz"),
        std::fs::read(fixtures().join("broken/corrupt.json.gz")).unwrap(),
    );
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = aws_run(idx.path(), &ep, &["ingest", "cloudtrail", &url]);
    assert_eq!(code, 3);
    assert!(
        err.contains(&format!(
            "{url}/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/bad.json.gz"
        )),
        "{err}"
    );
    assert_eq!(s["objectsFailed"], 1);
    assert_eq!(s["eventsAdded"], 2);
    let (code, again, _) = aws_run(idx.path(), &ep, &["ingest", "cloudtrail", &url]);
    assert_eq!(code, 3);
    assert_eq!(
        again["objectsRead"], 1,
        "only the failed object is fetched again"
    );
    // Fixed upstream (a new ETag): read, indexed, done.
    put(
        &c,
        &b,
        &format!("{day}bad.json.gz"),
        small_object(&["f1"], "2024-05-17"),
    );
    let (code, fixed, _) = aws_run(idx.path(), &ep, &["ingest", "cloudtrail", &url]);
    assert_eq!(code, 0);
    assert_eq!(fixed["eventsAdded"], 1);
}

#[test]
fn an_s3_object_over_the_size_limit_is_refused_without_fetching_it() {
    let Some(ep) = moto() else { return };
    let c = s3(&ep);
    let b = uniq("trails-big");
    bucket(&c, &b);
    let day = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/";
    put(
        &c,
        &b,
        &format!("{day}good.json.gz"),
        small_object(&["s1"], "2024-05-17"),
    );
    put(&c, &b, &format!("{day}huge.json"), vec![b' '; 2 << 20]);
    let idx = tempfile::tempdir().unwrap();
    let url = format!("s3://{b}");
    let (code, s, err) = aws_run(
        idx.path(),
        &ep,
        &["ingest", "cloudtrail", &url, "--max-object-mb", "1"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("huge.json") && err.contains("more than the limit"),
        "{err}"
    );
    assert_eq!(
        (s["objectsFailed"].as_u64(), s["eventsAdded"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn a_missing_bucket_is_reported_not_a_crash() {
    let Some(ep) = moto() else { return };
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = aws_run(
        idx.path(),
        &ep,
        &["ingest", "cloudtrail", "s3://no-such-bucket-here"],
    );
    assert_eq!(code, 3);
    assert!(
        err.contains("no-such-bucket-here") && err.contains("NoSuchBucket"),
        "{err}"
    );
    assert_eq!(s["objectsFailed"], 1);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn put_logs(c: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str, events: &[(i64, &str)]) {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let _ = rt().block_on(
        c.create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send(),
    );
    let evs: Vec<InputLogEvent> = events
        .iter()
        .map(|(t, m)| {
            InputLogEvent::builder()
                .timestamp(*t)
                .message(*m)
                .build()
                .unwrap()
        })
        .collect();
    rt().block_on(
        c.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(evs))
            .send(),
    )
    .unwrap();
}

#[test]
fn studio_logs_from_cloudwatch_both_generations_incremental() {
    let Some(ep) = moto() else { return };
    let c = logs(&ep);
    let group = &uniq("/aws/sagemaker/studio");
    rt().block_on(c.create_log_group().log_group_name(group).send())
        .unwrap();
    // Events relative to now: moto rejects events older than 14 days.
    let t0 = now_ms() - 3_600_000;
    put_logs(
        &c,
        group,
        "d-logs1/alice/JupyterServer/default",
        &[
            (t0, "[I] Jupyter Server started"),
            (t0 + 1000, "kernel started"),
            (t0 + 1000, "kernel started"),
        ],
    );
    put_logs(
        &c,
        group,
        "d-logs1/team-fraud/JupyterLab/default",
        &[
            (t0 + 2000, "jupyterlab ready"),
            (t0 + 3000, "GET /api/contents 200"),
        ],
    );
    put_logs(
        &c,
        group,
        "d-logs1/team-fraud/JupyterLab/default/LifecycleConfigOnStart",
        &[(t0 + 500, "installing pip packages")],
    );
    put_logs(&c, group, "other/stream", &[(t0, "not studio")]);
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = aws_run(
        idx.path(),
        &ep,
        &[
            "ingest",
            "studio-logs",
            "--log-group",
            group,
            "--stream-prefix",
            "d-logs1/",
            "--account",
            "111122223333",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        s["objectsListed"], 3,
        "streams outside the prefix are not read"
    );
    assert_eq!(s["eventsAdded"], 6, "a repeat that really happened is kept");
    assert_eq!(count(idx.path(), "kind:studio-log"), 6);
    assert_eq!(count(idx.path(), "userProfile:alice"), 3);
    assert_eq!(count(idx.path(), "spaceName:team-fraud"), 3);
    assert_eq!(
        count(
            idx.path(),
            "spaceArn:\"arn:aws:sagemaker:us-east-1:111122223333:space/d-logs1/team-fraud\""
        ),
        3
    );
    assert_eq!(count(idx.path(), "lifecycleConfig:true"), 1);
    assert_eq!(count(idx.path(), "appType:JupyterLab"), 3);
    assert_eq!(count(idx.path(), "message:\"pip packages\""), 1);
    assert_eq!(
        count(idx.path(), "kernel"),
        2,
        "full text covers log messages"
    );
    let line = ok(
        idx.path(),
        &["search", "lifecycleConfig:true", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["kind"], "studio-log");
    assert_eq!(v["timestamp"], t0 + 500);
    assert_eq!(v["logGroup"], *group);
    assert_eq!(
        v["logStream"],
        "d-logs1/team-fraud/JupyterLab/default/LifecycleConfigOnStart"
    );
    assert_eq!(v["message"], "installing pip packages");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    // Rerun: nothing new. New events: only those.
    let (_, again, _) = aws_run(
        idx.path(),
        &ep,
        &[
            "ingest",
            "studio-logs",
            "--log-group",
            group,
            "--stream-prefix",
            "d-logs1/",
        ],
    );
    assert_eq!(again["eventsAdded"], 0);
    put_logs(
        &c,
        group,
        "d-logs1/alice/JupyterServer/default",
        &[(t0 + 5000, "kernel restarted")],
    );
    let (code, more, _) = aws_run(
        idx.path(),
        &ep,
        &[
            "ingest",
            "studio-logs",
            "--log-group",
            group,
            "--stream-prefix",
            "d-logs1/",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(more["eventsAdded"], 1);
    assert_eq!(count(idx.path(), "kind:studio-log"), 7);
    // --since bounds what is read.
    let idx2 = tempfile::tempdir().unwrap();
    let since = jiff::Timestamp::from_millisecond(t0 + 2500)
        .unwrap()
        .to_string();
    let (_, w, _) = aws_run(
        idx2.path(),
        &ep,
        &[
            "ingest",
            "studio-logs",
            "--log-group",
            group,
            "--stream-prefix",
            "d-logs1/",
            "--since",
            &since,
        ],
    );
    assert_eq!(w["eventsAdded"], 2);
}

#[test]
fn studio_logs_from_exported_files() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |rel: &str, body: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, gzip(body.as_bytes())).unwrap();
    };
    mk("exp/9f1c2d/d-exp1/bob/KernelGateway/datascience-1/000000.gz",
       "2024-05-14T10:00:00.000Z Starting kernel\n2024-05-14T10:00:01.000Z Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom\n");
    mk(
        "exp/9f1c2d/d-exp1/shared/CodeEditor/default/000000.gz",
        "2024-05-14T11:00:00Z code-editor up\n",
    );
    std::fs::create_dir_all(dir.path().join("exp/9f1c2d/aws-logs-write-test")).unwrap();
    std::fs::write(
        dir.path()
            .join("exp/9f1c2d/aws-logs-write-test/aws-logs-write-test"),
        "Permission Check Successful",
    )
    .unwrap();
    std::fs::write(dir.path().join("filter.json"), r#"{"events":[{"logStreamName":"d-exp1/carol/JupyterServer/default","timestamp":1715680800000,"message":"hello","ingestionTime":1715680801000,"eventId":"1"}],"searchedLogStreams":[]}"#).unwrap();
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = ingest_json(
        idx.path(),
        &[
            "studio-logs",
            dir.path().to_str().unwrap(),
            "--account",
            "111122223333",
            "--region",
            "us-east-1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["eventsAdded"], 4);
    assert_eq!(s["objectsSkipped"], 1, "the export write test is skipped");
    assert_eq!(count(idx.path(), "userProfile:bob"), 2);
    assert_eq!(
        count(idx.path(), "ValueError"),
        1,
        "a continuation line belongs to the event before it"
    );
    assert_eq!(count(idx.path(), "userProfile:carol"), 1);
    assert_eq!(
        count(idx.path(), "spaceName:shared AND appType:CodeEditor"),
        1
    );
    assert_eq!(count(idx.path(), "*"), 4);
    let (_, again, _) = ingest_json(idx.path(), &["studio-logs", dir.path().to_str().unwrap()]);
    assert_eq!(again["objectsRead"], 0);
    // The same export copied elsewhere: new objects, the same events, each already present (what the
    // stored record says of itself is what decides) and none a conflict.
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(dir.path().join("exp"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let (code, dup, err) = ingest_json(idx.path(), &["studio-logs", copy.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (
            dup["eventsAdded"].as_u64(),
            dup["eventsAlreadyPresent"].as_u64(),
            dup["eventsConflicting"].as_u64()
        ),
        (Some(0), Some(3), Some(0)),
        "{dup}"
    );
    assert_eq!(count(idx.path(), "*"), 4);
}

#[test]
fn the_nightly_job_runs_every_source_and_one_writer_at_a_time() {
    let Some(ep) = moto() else { return };
    let c = s3(&ep);
    let b = uniq("trails-job");
    bucket(&c, &b);
    let url = format!("s3://{b}");
    upload_tree(&c, &b, "", &fixtures().join("trail"));
    let l = logs(&ep);
    let group = &uniq("/aws/sagemaker/studio-job");
    rt().block_on(l.create_log_group().log_group_name(group).send())
        .unwrap();
    put_logs(
        &l,
        group,
        "d-job1/alice/JupyterServer/default",
        &[(now_ms() - 60_000, "started")],
    );
    let idx = tempfile::tempdir().unwrap();
    let job = idx.path().join("sagetrail.toml");
    let index = idx.path().join("index");
    std::fs::write(
        &job,
        format!(
        "index = {index:?}\nconcurrency = 4\n[aws]\nendpoint_url = {ep:?}\nregion = \"us-east-1\"\n\
         [[cloudtrail]]\nsource = {url:?}\naccounts = [\"111122223333\"]\n\
         [[cloudtrail]]\nsource = {forms:?}\n\
         [[studio_logs]]\nlog_group = {group:?}\naccount = \"111122223333\"\n",
        forms = fixtures().join("forms").to_str().unwrap()
    ),
    )
    .unwrap();
    let run_job = || {
        assert_cmd::Command::cargo_bin("sagetrail")
            .unwrap()
            .args([
                "ingest",
                "--config",
                job.to_str().unwrap(),
                "--summary",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("SAGETRAIL_INDEX")
            .output()
            .unwrap()
    };
    let out = run_job();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["sources"].as_array().unwrap().len(), 3);
    assert_eq!(s["failed"], false);
    assert_eq!(s["eventsAdded"].as_u64().unwrap(), count(&index, "*"));
    assert_eq!(
        count(&index, "recipientAccountId:444455556666"),
        0,
        "accounts filter of the job"
    );
    assert_eq!(count(&index, "kind:studio-log"), 1);
    assert_eq!(count(&index, "eventName:ListSpaces"), 1);

    // While a writer holds the index, a second job exits 2 at once; searches keep working.
    let holder = sagetrail::index::Writer::open(&sagetrail::index::WriterConfig {
        dir: index.clone(),
        heap_bytes: 32 << 20,
        threads: 1,
        reindex: false,
        commit_every: 1000,
        dry_run: false,
        omit: Default::default(),
        merge: Default::default(),
        max_inflated: sagetrail::decode::DEFAULT_MAX_INFLATED,
    })
    .unwrap();
    let out = run_job();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another ingest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(count(&index, "*") > 25);
    drop(holder);
    let out = run_job();
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["eventsAdded"], 0);
}
