//! `lake write | ddl | sql` against real engines: DuckDB (PyPI `duckdb`) and Spark (PyPI `pyspark`, on a
//! standalone master and two workers on 127.0.0.1 that scripts/test starts; `local[2]` otherwise) load the
//! lake with the DDL sagetrail prints and answer sagetrail's queries, compiled by `lake sql`, with the same
//! eventIDs as `sagetrail search` on an index of the same input. Exactly once: a rerun and a redelivered
//! object add no row to the view; a kill during `lake write`, then a rerun, leaves the view exact.
//! The Python of the project's venv (`.venv`, made by scripts/test) runs the engines; without it these
//! tests skip, unless SAGETRAIL_REQUIRE_ENGINES is set (scripts/test sets it).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = p.exists()
        && Command::new(&p)
            .args(["-c", "import duckdb, pyspark"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("SAGETRAIL_REQUIRE_ENGINES").is_none(),
            "SAGETRAIL_REQUIRE_ENGINES is set but .venv has no duckdb and pyspark"
        );
        eprintln!("note: .venv with duckdb and pyspark is absent; lake engine tests skipped");
        return None;
    }
    Some(p)
}

/// The fixtures' trails that carry every attribution key and identity path.
fn inputs() -> Vec<String> {
    ["trail", "actors", "guardrails", "usage", "sigma/trail"]
        .iter()
        .map(|d| fixtures().join(d).display().to_string())
        .collect()
}

fn lake_write(dest: &Path, inputs: &[String]) -> serde_json::Value {
    let mut args = vec![
        "lake",
        "write",
        "--to",
        dest.to_str().unwrap(),
        "--summary",
        "json",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let (code, out, err) = run(Path::new("/nonexistent-index"), &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

fn index_of(inputs: &[String]) -> tempfile::TempDir {
    let idx = tempfile::tempdir().unwrap();
    let mut a = vec!["cloudtrail"];
    a.extend(inputs.iter().map(String::as_str));
    let (code, _, err) = ingest_json(idx.path(), &a);
    assert_eq!(code, 0, "{err}");
    idx
}

/// A query of the comparison: the query and an optional window.
struct Q(&'static str, Option<(&'static str, &'static str)>);

const QUERIES: [Q; 14] = [
    Q("eventName:CreateApp", None),
    Q("sourceIdentity:alice", None),
    Q("userProfile:BOB", None),
    Q("roleArn:\"arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-Shared\"", None),
    Q("spaceArn:\"arn:aws:sagemaker:us-east-1:111122223333:space/d-7kq2xexample/team-fraud\"", None),
    Q("domainId:d-7kq2xexample", None),
    Q("actor:\"erin@example.com\"", None),
    Q("actorBasis:issuer OR actorBasis:identityCenter", None),
    Q("requestParameters.resourceSpec.instanceType:ml.g5.12xlarge", None),
    Q("requestParameters.userProfileName:alice AND NOT eventName:CreatePresignedDomainUrl", None),
    Q("\"sagemaker-distribution-gpu\"", None),
    Q("eventName:Create*", Some(("2024-05-14T09:00:00Z", "2024-05-15T08:00:00Z"))),
    Q("errorCode:* OR userIdentity.type:Root", None),
    Q("userIdentity.accessKeyId:ASIAZCROSSERIN000001", None),
];

fn index_ids(idx: &Path, q: &Q) -> BTreeSet<String> {
    let mut args = vec!["search", q.0, "--all", "--format", "json"];
    if let Some((s, u)) = q.1 {
        args.extend(["--since", s, "--until", u]);
    }
    json_lines(&ok(idx, &args))
        .iter()
        .map(|r| r["eventID"].as_str().unwrap().to_string())
        .collect()
}

fn lake_sql(q: &Q, engine: &str) -> String {
    let mut args = vec!["lake", "sql", q.0, "--engine", engine];
    if let Some((s, u)) = q.1 {
        args.extend(["--since", s, "--until", u]);
    }
    ok(Path::new("/nonexistent-index"), &args)
        .trim()
        .to_string()
}

/// Every file under `d`: its path below `d` and its bytes, sorted.
fn tree(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(d)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(d).unwrap().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

struct EngineAnswer {
    results: Vec<BTreeSet<String>>,
    rows: u64,
    distinct: u64,
}

fn run_engine(py: &Path, engine: &str, lake: &Path, sqls: &[String]) -> EngineAnswer {
    let work = tempfile::tempdir().unwrap();
    let ddl = ok(
        Path::new("/nonexistent-index"),
        &[
            "lake",
            "ddl",
            "--to",
            lake.to_str().unwrap(),
            "--engine",
            engine,
        ],
    );
    std::fs::write(work.path().join("ddl.sql"), ddl).unwrap();
    std::fs::write(work.path().join("q.sql"), sqls.join("\n")).unwrap();
    let out = Command::new(py)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lake/engines.py"))
        .args([engine])
        .arg(work.path().join("ddl.sql"))
        .arg(work.path().join("q.sql"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{engine}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    EngineAnswer {
        results: v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect()
            })
            .collect(),
        rows: v["rows"].as_u64().unwrap(),
        distinct: v["distinct"].as_u64().unwrap(),
    }
}

#[test]
fn duckdb_and_spark_answer_like_the_index() {
    let Some(py) = python() else { return };
    let inputs = inputs();
    let idx = index_of(&inputs);
    let lake = tempfile::tempdir().unwrap();
    let s = lake_write(lake.path(), &inputs);
    let total = count(idx.path(), "*");
    // The raw files hold every delivered record (the fixtures deliver one event twice); the view each once.
    assert!(s["eventsWritten"].as_u64().unwrap() > total, "{s}");
    for engine in ["duckdb", "spark"] {
        let sqls: Vec<String> = QUERIES.iter().map(|q| lake_sql(q, engine)).collect();
        let a = run_engine(&py, engine, lake.path(), &sqls);
        assert_eq!(
            (a.rows, a.distinct),
            (total, total),
            "{engine}: the view has every event once"
        );
        for (q, got) in QUERIES.iter().zip(&a.results) {
            let want = index_ids(idx.path(), q);
            assert!(!want.is_empty(), "{}: the fixtures answer it", q.0);
            assert_eq!(got, &want, "{engine}: {}\n{}", q.0, lake_sql(q, engine));
        }
    }
}

#[test]
fn reruns_and_redeliveries_add_no_row_and_a_kill_leaves_nothing_half_done() {
    let Some(py) = python() else { return };
    // A trail with one object delivered twice under two names.
    let trail = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("trail"), trail.path());
    let day = trail
        .path()
        .join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/14");
    let first = std::fs::read_dir(&day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .min()
        .unwrap();
    std::fs::copy(
        &first,
        day.join("111122223333_CloudTrail_us-east-1_20240514T2359Z_Redeliv3r.json.gz"),
    )
    .unwrap();
    let inputs = vec![trail.path().display().to_string()];
    let idx = index_of(&inputs);
    let total = count(idx.path(), "*");
    let lake = tempfile::tempdir().unwrap();
    let s1 = lake_write(lake.path(), &inputs);
    assert!(
        s1["eventsWritten"].as_u64().unwrap() > total,
        "the raw files hold the redelivery"
    );
    let files = tree;
    let before = files(lake.path());
    // A rerun: the same names and bytes, nothing added or removed.
    let s2 = lake_write(lake.path(), &inputs);
    assert_eq!(s2["filesRemoved"], 0);
    assert_eq!(
        files(lake.path()),
        before,
        "a rerun replaces with the same files"
    );
    let a = run_engine(&py, "duckdb", lake.path(), &[]);
    assert_eq!(
        (a.rows, a.distinct),
        (total, total),
        "the view has each event once"
    );
    // Compaction folds the redelivery out of the files themselves; the view does not change.
    let c = ok(
        Path::new("/x"),
        &["lake", "compact", "--to", lake.path().to_str().unwrap()],
    );
    let c: serde_json::Value = serde_json::from_str(c.trim()).unwrap();
    assert!(c["duplicatesRemoved"].as_u64().unwrap() > 0, "{c}");
    let a = run_engine(&py, "duckdb", lake.path(), &[]);
    assert_eq!((a.rows, a.distinct), (total, total), "after compaction");
    let again = ok(
        Path::new("/x"),
        &["lake", "compact", "--to", lake.path().to_str().unwrap()],
    );
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(
        again["partitionsCompacted"], 0,
        "nothing left to fold: {again}"
    );
    assert_eq!(
        again["rowsRead"].as_u64().unwrap(),
        total,
        "the files hold each event once: {again}"
    );

    // Kills at several moments of a larger write, each followed by a rerun: the view stays exact and no
    // partial file is ever visible.
    // 40,000 events in 200 objects over 4 days and 2 accounts, written here.
    let corpus = tempfile::tempdir().unwrap();
    for o in 0..200u64 {
        let acct = if o % 2 == 0 {
            "111122223333"
        } else {
            "444455556666"
        };
        let day = 10 + o % 4;
        let dir = corpus.path().join(format!(
            "AWSLogs/{acct}/CloudTrail/us-east-1/2024/06/{day:02}"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let recs: Vec<serde_json::Value> = (0..200u64)
            .map(|i| {
                let n = o * 200 + i;
                let name = ["CreateApp", "DescribeDomain", "ListApps", "CreatePresignedDomainUrl"][(n % 4) as usize];
                serde_json::json!({
                    "eventVersion": "1.09",
                    "userIdentity": {"type": "AssumedRole", "accountId": acct,
                        "arn": format!("arn:aws:sts::{acct}:assumed-role/AmazonSageMaker-ExecutionRole-X/SageMaker"),
                        "accessKeyId": format!("ASIAZKILL{:011}", n % 97),
                        "sessionContext": {"sourceIdentity": format!("user{}", n % 13)}},
                    "eventTime": format!("2024-06-{day:02}T{:02}:{:02}:{:02}Z", (i / 60) % 24, i % 60, o % 60),
                    "eventSource": "sagemaker.amazonaws.com",
                    "eventName": name,
                    "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "Boto3/1.34",
                    "requestParameters": {"domainId": "d-kill0example", "userProfileName": format!("user{}", n % 13), "padding": "x".repeat(400)},
                    "responseElements": null,
                    "eventID": format!("c0000000-0000-4000-8000-{n:012}"),
                    "recipientAccountId": acct
                })
            })
            .collect();
        std::fs::write(
            dir.join(format!(
                "{acct}_CloudTrail_us-east-1_202406{day:02}T{:04}Z_K{o:07}.json.gz",
                o % 2400
            )),
            gzip(serde_json::json!({"Records": recs}).to_string().as_bytes()),
        )
        .unwrap();
    }
    let corpus_in = vec![corpus.path().display().to_string()];
    let big = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("sagetrail");
    for delay_ms in [150u64, 400, 900] {
        let mut child = Command::new(&bin)
            .args([
                "lake",
                "write",
                "--to",
                big.path().to_str().unwrap(),
                "--chunk-mb",
                "1",
            ])
            .args(&corpus_in)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        for (name, bytes) in files(big.path()) {
            let base = name.rsplit('/').next().unwrap();
            if base.ends_with(".parquet") {
                assert!(
                    bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
                    "{name} is whole"
                );
            }
        }
    }
    let s = lake_write(big.path(), &corpus_in);
    let cidx = index_of(&corpus_in);
    let ctotal = count(cidx.path(), "*");
    let a = run_engine(&py, "duckdb", big.path(), &[]);
    assert_eq!(
        (a.rows, a.distinct),
        (ctotal, ctotal),
        "after kills and a rerun: {s}"
    );
    assert!(
        files(big.path())
            .iter()
            .all(|(n, _)| !n.rsplit('/').next().unwrap().starts_with(".tmp-")),
        "no temporary file left"
    );
}

#[test]
fn the_same_input_gives_the_same_files_and_plan_names_the_units() {
    let inputs = inputs();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    lake_write(a.path(), &inputs);
    lake_write(b.path(), &inputs);
    let list = tree;
    assert_eq!(
        list(a.path()),
        list(b.path()),
        "names and bytes are a function of the input"
    );
    let mut args = vec!["lake", "write", "--plan", "--to", "/nonexistent-lake"];
    args.extend(inputs.iter().map(String::as_str));
    let plan = json_lines(&ok(Path::new("/nonexistent-index"), &args));
    assert!(plan.len() >= 5);
    assert!(plan
        .iter()
        .all(|u| u["unit"].as_str().unwrap().ends_with('/') && u["objects"].as_u64().unwrap() > 0));
    assert!(
        !Path::new("/nonexistent-lake").exists(),
        "a plan writes nothing"
    );
    // Every file says its schema version.
    let f = list(a.path())
        .into_iter()
        .find(|(n, _)| n.starts_with("events/"))
        .unwrap();
    assert!(f.1.windows(21).any(|w| w == b"sagetrail.lake.schema"));
    // Hostile partition values stay in their folder; bad flags are usage errors.
    let (code, _, _) = run(
        Path::new("/x"),
        &[
            "lake",
            "write",
            "x",
            "--to",
            a.path().to_str().unwrap(),
            "--chunk-mb",
            "0",
        ],
    );
    assert_eq!(code, 2);
    let (code, _, err) = run(
        Path::new("/x"),
        &["lake", "sql", "message:hello", "--engine", "duckdb"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("Studio logs"), "{err}");
}

#[test]
fn an_s3_lake_on_moto_holds_the_same_files() {
    let Some(endpoint) = common::moto::moto() else {
        return;
    };
    let Some(py) = python() else { return };
    let inputs = vec![fixtures().join("trail").display().to_string()];
    let bucket = format!("lake-{}", std::process::id());
    common::moto::bucket(&common::moto::s3(&endpoint), &bucket);
    let s3 = format!("s3://{bucket}/lake");
    let run_s3 = |args: &[&str]| {
        let out = st(Path::new("/x"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut args = vec!["lake", "write", "--to", &s3, "--summary", "json"];
    args.extend(inputs.iter().map(String::as_str));
    let (code, out, err) = run_s3(&args);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let (code, out2, _) = run_s3(&args);
    assert_eq!(code, 0);
    let s2: serde_json::Value = serde_json::from_str(out2.trim()).unwrap();
    assert_eq!(s2["filesRemoved"], 0, "a rerun on S3 replaces");
    // The same bytes as a local lake of the same input.
    let local = tempfile::tempdir().unwrap();
    lake_write(local.path(), &inputs);
    let down = tempfile::tempdir().unwrap();
    let dl = Command::new(&py)
        .args(["-c", &format!(
            "import boto3,os\nc=boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\nfor page in c.get_paginator('list_objects_v2').paginate(Bucket='{bucket}', Prefix='lake/'):\n for o in page.get('Contents', []):\n  p=os.path.join('{}', o['Key'][5:]); os.makedirs(os.path.dirname(p), exist_ok=True); c.download_file('{bucket}', o['Key'], p)",
            down.path().display()
        )])
        .output()
        .unwrap();
    assert!(
        dl.status.success(),
        "{}",
        String::from_utf8_lossy(&dl.stderr)
    );
    let names = |d: &Path| -> Vec<String> { tree(d).into_iter().map(|(n, _)| n).collect() };
    assert_eq!(
        names(down.path()).len() as u64,
        s["filesWritten"].as_u64().unwrap()
    );
    assert_eq!(names(down.path()), names(local.path()));
    let a = run_engine(&py, "duckdb", down.path(), &[]);
    let idx = index_of(&inputs);
    let total = count(idx.path(), "*");
    assert_eq!((a.rows, a.distinct), (total, total));
    // An s3:// source too: the fixture trail uploaded, read back by lake write from the bucket.
    let up = Command::new(&py)
        .args(["-c", &format!(
            "import boto3,os\nc=boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\nroot='{}'\nfor d,_,fs in os.walk(root):\n for f in fs:\n  p=os.path.join(d,f); c.upload_file(p, '{bucket}', 'trail/'+os.path.relpath(p, root))",
            fixtures().join("trail").display()
        )])
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let from_s3 = tempfile::tempdir().unwrap();
    let src = format!("s3://{bucket}/trail");
    let (code, out, err) = run_s3(&[
        "lake",
        "write",
        &src,
        "--to",
        from_s3.path().to_str().unwrap(),
        "--summary",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let s3s: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(s3s["objectsRead"].as_u64().unwrap() >= 4, "{s3s}");
    let a = run_engine(&py, "duckdb", from_s3.path(), &[]);
    assert_eq!((a.rows, a.distinct), (total, total), "from an s3:// trail");
    // DDL for Athena over the S3 lake enumerates what is there.
    let (code, ddl, _) = run_s3(&["lake", "ddl", "--to", &s3, "--engine", "athena"]);
    assert_eq!(code, 0);
    assert!(
        ddl.contains("'projection.account.values' = '111122223333,444455556666'"),
        "{ddl}"
    );
    assert!(ddl.contains(&format!("LOCATION 's3://{bucket}/lake/events/'")));
}

/// contrib/spark/lake_write.py on the standalone cluster (SAGETRAIL_SPARK_MASTER, two workers) fills the
/// same lake as one `lake write`: the same file names and bytes.
#[test]
fn the_spark_job_spreads_units_over_the_cluster() {
    let Some(py) = python() else { return };
    let Some(master) = std::env::var("SAGETRAIL_SPARK_MASTER").ok() else {
        assert!(
            std::env::var_os("SAGETRAIL_REQUIRE_ENGINES").is_none(),
            "SAGETRAIL_REQUIRE_ENGINES is set but SAGETRAIL_SPARK_MASTER is not"
        );
        eprintln!("note: no standalone Spark master; Spark job test skipped");
        return;
    };
    let inputs = inputs();
    let one = tempfile::tempdir().unwrap();
    lake_write(one.path(), &inputs);
    let spread = tempfile::tempdir().unwrap();
    let submit = py.parent().unwrap().join("spark-submit");
    let out = Command::new(&submit)
        .args([
            "--master",
            &master,
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            "--conf",
            "spark.ui.enabled=false",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/spark/lake_write.py"))
        .arg("--sagetrail")
        .arg(assert_cmd::cargo::cargo_bin("sagetrail"))
        .args(["--to", spread.path().to_str().unwrap()])
        .args(&inputs)
        .env("PYSPARK_PYTHON", &py)
        .env("PYSPARK_DRIVER_PYTHON", &py)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(s["unitsFailed"], 0, "{s}");
    assert!(s["units"].as_u64().unwrap() >= 5);
    let list = tree;
    assert_eq!(
        list(spread.path()),
        list(one.path()),
        "the same lake, task by task"
    );
}
