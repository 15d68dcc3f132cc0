//! Querying an index built from the fixtures: exactness, full text, prefixes, windows, order, formats.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::*;

/// One index of the trail and forms fixtures, shared by the read-only tests here.
fn index() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        ok(
            d.path(),
            &[
                "ingest",
                "cloudtrail",
                fixtures().join("trail").to_str().unwrap(),
                fixtures().join("forms").to_str().unwrap(),
            ],
        );
        d
    })
    .path()
}

#[test]
fn path_value_is_exact() {
    assert_eq!(count(index(), "errorCode:AccessDenied"), 1);
    assert_eq!(count(index(), "errorCode:AccessDeniedException"), 1);
    assert_eq!(
        count(index(), "errorCode:accessdenied"),
        0,
        "exact means case-sensitive"
    );
    assert_eq!(count(index(), "requestParameters.userProfileName:alice"), 7);
    assert_eq!(count(index(), "requestParameters.userProfileName:ali"), 0);
    assert_eq!(
        count(
            index(),
            "requestParameters.resourceSpec.instanceType:ml.g5.12xlarge"
        ),
        1
    );
    assert_eq!(count(index(), "userIdentity.type:Root"), 1);
    assert_eq!(
        count(
            index(),
            "userIdentity.sessionContext.sessionIssuer.userName:PlatformAdmin"
        ),
        7
    );
    assert_eq!(
        count(index(), "requestParameters.tags.key:studiouserid"),
        3,
        "array elements share the path"
    );
    assert_eq!(
        count(index(), "readOnly:true"),
        8,
        "booleans as written: 2 in trails, 6 in forms"
    );
    assert_eq!(
        count(
            index(),
            "requestParameters.sessionExpirationDurationInSeconds:43200"
        ),
        1,
        "numbers as written"
    );
}

#[test]
fn prefixes_ranges_and_any() {
    let creates = count(index(), "eventName:Create*");
    let listed: u64 = [
        "CreateDomain",
        "CreateUserProfile",
        "CreateSpace",
        "CreatePresignedDomainUrl",
        "CreateApp",
        "CreateTrainingJob",
        "CreateProcessingJob",
        "CreateEndpointConfig",
    ]
    .iter()
    .map(|n| count(index(), &format!("eventName:{n}")))
    .sum();
    assert_eq!(creates, listed);
    assert_eq!(count(index(), "errorCode:*"), 2);
    assert_eq!(count(index(), "NOT errorCode:*"), count(index(), "*") - 2);
    assert_eq!(count(index(), "awsRegion:[eu-west-1 TO eu-west-1]"), 2);
    assert_eq!(
        count(index(), "awsRegion:{eu-west-1 TO *]"),
        count(index(), "awsRegion:us-east-1")
    );
    assert_eq!(
        count(index(), "requestParameters.resourceSpec.instanceType:ml.*"),
        2
    );
}

#[test]
fn derived_keys_are_queryable_and_case_insensitive() {
    assert_eq!(
        count(index(), "userProfile:ALICE"),
        count(index(), "userProfile:alice")
    );
    assert!(count(index(), "userProfile:alice") >= 6);
    let space = "arn:aws:sagemaker:us-east-1:111122223333:space/d-7kq2xexample/team-fraud";
    assert_eq!(count(index(), &format!("spaceArn:\"{space}\"")), 5);
    assert_eq!(
        count(index(), &format!("spaceArn:\"{}\"", space.to_uppercase())),
        5
    );
    assert_eq!(count(index(), "spaceName:team-fraud"), 5);
    assert_eq!(
        count(index(), "domainId:D-7KQ2XEXAMPLE"),
        count(index(), "domainId:d-7kq2xexample")
    );
    assert_eq!(
        count(index(), "sourceIdentity:carol"),
        4,
        "set by AssumeRole, persisted through the chain"
    );
    let exec = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-Shared";
    assert_eq!(count(index(), &format!("roleArn:\"{exec}\"")), 6);
    assert_eq!(count(index(), "actor:bob"), 2);
}

#[test]
fn full_text_words_and_phrases() {
    assert_eq!(
        count(index(), "\"fraud-detector-v7\""),
        1,
        "a phrase inside a longer name"
    );
    assert_eq!(count(index(), "FRAUD-DETECTOR-V7"), 1, "case-insensitive");
    assert_eq!(
        count(index(), "\"detector fraud\""),
        0,
        "word order matters in a phrase"
    );
    assert!(count(index(), "retrain") >= 1);
    assert_eq!(count(index(), "pytorch*"), 1);
    // Phrases are checked against the record: both words are in it, but not side by side in one string.
    assert_eq!(
        count(index(), "v7 alice"),
        1,
        "words anywhere in the record"
    );
    assert_eq!(
        count(index(), "\"v7 alice\""),
        0,
        "a phrase is within one string"
    );
    assert_eq!(
        count(index(), "\"fraud-detector-v7\" AND NOT \"detector fraud\""),
        1,
        "verified phrases compose with boolean logic"
    );
}

#[test]
fn identifiers_match_whole_values_by_field_or_bare() {
    let rid = "0000000a-aaaa-4bbb-8ccc-00000000000a";
    assert_eq!(count(index(), &format!("requestID:{rid}")), 1);
    assert_eq!(
        count(index(), "eventID:\"0000000b-5e1f-4c3a-9d2b-0a7e0000000b\""),
        1
    );
    assert_eq!(count(index(), rid), 1, "a bare identifier is found whole");
    assert_eq!(count(index(), "requestID:0000000a"), 0, "no partial match");
    let (code, _, err) = run(index(), &["search", "eventID:0000000b*"]);
    assert_eq!(code, 2);
    assert!(err.contains("identifier"), "{err}");
    let (code, _, _) = run(index(), &["stats", "--by", "requestID"]);
    assert_eq!(code, 2);
}

#[test]
fn boolean_logic() {
    let a = count(index(), "eventName:CreatePresignedDomainUrl");
    let b = count(
        index(),
        "eventName:CreatePresignedDomainUrl AND sourceIPAddress:203.0.113.77",
    );
    let c = count(
        index(),
        "eventName:CreatePresignedDomainUrl AND NOT sourceIPAddress:203.0.113.77",
    );
    assert_eq!(a, 3);
    assert_eq!(b + c, a);
    assert_eq!(b, 1);
    assert_eq!(
        count(index(), "eventName:(CreateApp OR CreateSpace)"),
        count(index(), "eventName:CreateApp") + count(index(), "eventName:CreateSpace")
    );
    assert_eq!(
        count(
            index(),
            "(eventName:CreateApp OR eventName:CreateSpace) -awsRegion:eu-west-1"
        ),
        3
    );
}

#[test]
fn time_window_bounds() {
    // 2024-05-14T09:05:12Z is alice's first presigned URL: --since includes it, --until excludes it.
    let at = "2024-05-14T09:05:12Z";
    let q = "eventName:CreatePresignedDomainUrl";
    let since = ok(index(), &["search", q, "--since", at, "--count"]);
    let until = ok(index(), &["search", q, "--until", at, "--count"]);
    assert_eq!(since.trim(), "3");
    assert_eq!(until.trim(), "0");
    let day = ok(
        index(),
        &[
            "search",
            "*",
            "--since",
            "2024-05-14",
            "--until",
            "2024-05-15",
            "--count",
        ],
    );
    let range = count(index(), "eventTime:[2024-05-14 TO 2024-05-15}");
    assert_eq!(day.trim().parse::<u64>().unwrap(), range);
    assert_eq!(range, 15);
    let (code, _, err) = run(
        index(),
        &[
            "search",
            "*",
            "--since",
            "2024-05-15",
            "--until",
            "2024-05-14",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn order_is_newest_first_and_deterministic() {
    let out = ok(index(), &["search", "*", "--all", "--format", "json"]);
    let v = json_lines(&out);
    assert_eq!(v.len() as u64, count(index(), "*"));
    for w in v.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ta, tb) = (
            a["eventTime"].as_str().unwrap(),
            b["eventTime"].as_str().unwrap(),
        );
        assert!(ta >= tb, "{ta} {tb}");
    }
    let old = json_lines(&ok(
        index(),
        &["search", "*", "--all", "--format", "json", "--oldest-first"],
    ));
    assert_eq!(old.first().unwrap()["eventTime"], "2024-05-14T09:00:05Z");
    assert_eq!(
        out,
        ok(index(), &["search", "*", "--all", "--format", "json"])
    );
    let limited = json_lines(&ok(
        index(),
        &["search", "*", "--limit", "3", "--format", "json"],
    ));
    assert_eq!(limited, v[..3].to_vec());
}

#[test]
fn json_output_is_the_record_as_delivered() {
    let records = trail_records(&fixtures().join("trail"));
    let out = ok(
        index(),
        &["search", "kind:cloudtrail", "--all", "--format", "json"],
    );
    let lines: std::collections::HashSet<&str> = out.lines().collect();
    for r in &records {
        assert!(
            lines.contains(r.as_str()),
            "record not returned byte for byte: {r}"
        );
    }
    // A pretty-printed record comes back with only the whitespace between tokens removed.
    let pretty = ok(
        index(),
        &["search", "eventName:DescribeApp", "--format", "json"],
    );
    assert_eq!(pretty.lines().count(), 1);
    let line = pretty.trim_end();
    assert!(!line.contains("\n") && !line.contains("\": "));
    assert!(
        line.contains(r#""note":"spaces  inside\tstrings \"stay\" é""#),
        "{line}"
    );
    let original = std::fs::read_to_string(fixtures().join("forms/pretty-records.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&original).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(line).unwrap(),
        v["Records"][0]
    );
}

#[test]
fn table_and_csv() {
    let t = ok(
        index(),
        &[
            "search",
            "eventName:CreatePresignedDomainUrl AND sourceIPAddress:203.0.113.77",
        ],
    );
    assert!(
        t.contains("TIME") && t.contains("203.0.113.77") && t.contains("bob@example.com"),
        "{t}"
    );
    let csv = ok(index(), &["search", "errorCode:*", "--format", "csv"]);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers = r.headers().unwrap().clone();
    assert_eq!(&headers[0], "eventTime");
    assert!(headers.iter().any(|h| h == "eventID"));
    let rows: Vec<_> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][2], "DescribeDomain");
    assert_eq!(&rows[1][5], "AccessDenied");
}

#[test]
fn default_limit_says_how_many_were_left_out() {
    let (code, out, err) = run(
        index(),
        &["search", "*", "--limit", "2", "--format", "json"],
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2);
    assert!(
        err.contains(&format!("showing 2 of {}", count(index(), "*"))),
        "{err}"
    );
}

#[test]
fn bad_queries_get_one_line_and_exit_2() {
    for q in [
        "eventName:(CreateApp",
        "\"unclosed",
        "eventName:",
        "AND x",
        "eventTime:notatime",
    ] {
        let (code, out, err) = run(index(), &["search", q]);
        assert_eq!(code, 2, "{q}");
        assert!(out.is_empty());
        assert_eq!(err.trim().lines().count(), 1, "{q}: {err}");
        assert!(err.starts_with("sagetrail: error:"), "{err}");
    }
}

#[test]
fn stats_of_every_event_read_off_the_terms_agree_with_stats_collected_by_event() {
    // No query and no window: counted from each segment's term dictionary. A window that holds every
    // event: counted by visiting the events. The two must print the same bytes.
    for by in ["eventName", "errorCode", "sourceIPAddress", "userProfile"] {
        let all = ok(index(), &["stats", "--by", by, "--format", "json"]);
        let windowed = ok(
            index(),
            &[
                "stats",
                "--by",
                by,
                "--since",
                "1971-01-01T00:00:00Z",
                "--format",
                "json",
            ],
        );
        assert!(!json_lines(&all).is_empty(), "{by}");
        assert_eq!(all, windowed, "{by}");
    }
}

#[test]
fn stats_by_named_field_and_by_path() {
    let out = ok(index(), &["stats", "--by", "eventName", "--format", "json"]);
    let rows = json_lines(&out);
    let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, count(index(), "*"));
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert!(
            a["count"].as_u64() > b["count"].as_u64()
                || (a["count"] == b["count"] && a["value"].as_str() < b["value"].as_str())
        );
    }
    let cpu = json_lines(&ok(
        index(),
        &[
            "stats",
            "--by",
            "requestParameters.resourceSpec.instanceType",
            "--format",
            "json",
        ],
    ));
    assert_eq!(cpu.len(), 3);
    let top = json_lines(&ok(
        index(),
        &[
            "stats",
            "--by",
            "sourceIPAddress",
            "eventName:CreatePresignedDomainUrl",
            "--top",
            "1",
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        top,
        vec![serde_json::json!({"value": "198.51.100.23", "count": 2})]
    );
    let windowed = json_lines(&ok(
        index(),
        &[
            "stats",
            "--by",
            "awsRegion",
            "--since",
            "2024-05-15",
            "--until",
            "2024-05-16",
            "--format",
            "json",
        ],
    ));
    let sum: u64 = windowed.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(sum, count(index(), "eventTime:[2024-05-15 TO 2024-05-16}"));
    let (code, _, _) = run(index(), &["stats", "--by", "message"]);
    assert_eq!(code, 2);
    // A keyword without a column (access keys are near-unique) is counted from its terms.
    let keys = json_lines(&ok(
        index(),
        &[
            "stats",
            "--by",
            "userIdentity.accessKeyId",
            "actor:alice",
            "--format",
            "json",
        ],
    ));
    let n: u64 = keys.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(
        n,
        count(index(), "actor:alice AND userIdentity.accessKeyId:*")
    );
    assert!(keys.iter().any(|r| r["value"] == "ASIAZSTUDIOALICE0002"));
}

#[test]
fn info_reports_counts_and_span() {
    let v: serde_json::Value =
        serde_json::from_str(&ok(index(), &["info", "--format", "json"])).unwrap();
    assert_eq!(v["events"], count(index(), "*"));
    assert_eq!(v["oldestEventTime"], "2024-05-14T09:00:05Z");
    assert_eq!(v["newestEventTime"], "2024-05-16T12:00:00Z");
    assert_eq!(
        v["objectsIngested"], 9,
        "4 trail objects and 5 form files (the digest body included)"
    );
    assert!(v["sizeBytes"].as_u64().unwrap() > 0);
    assert!(v["lastIngest"].as_str().unwrap().starts_with("20"));
}

#[test]
fn a_closed_pipe_exits_quietly() {
    use std::io::Read;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sagetrail"))
        .args(["search", "*", "--all", "--format", "json"])
        .env("SAGETRAIL_INDEX", index())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .as_mut()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.code() == Some(0) || status.code().is_none(),
        "{status:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_bare_access_key_finds_every_record_that_names_it_though_keys_are_not_full_text() {
    // ASIAZCHAINCAROL00001 is issued by one STS call (responseElements.credentials) and used by two.
    let key = "ASIAZCHAINCAROL00001";
    let at_paths = count(
        index(),
        &format!(
            "userIdentity.accessKeyId:{key} OR responseElements.credentials.accessKeyId:{key}"
        ),
    );
    assert_eq!(at_paths, 3);
    assert_eq!(count(index(), key), at_paths);
    assert_eq!(
        count(index(), &key.to_lowercase()),
        at_paths,
        "typed in lower case, as full text would have found it"
    );
    assert_eq!(count(index(), &format!("\"{key}\"")), at_paths);
    assert_eq!(
        count(index(), "ASIAZCHAINCAROL0000"),
        0,
        "whole keys only: a part of one is no key"
    );
}

#[test]
fn cloudtrail_bookkeeping_is_found_at_its_field_not_as_words() {
    let api_calls = count(index(), "eventType:AwsApiCall");
    assert!(api_calls > 0);
    assert_eq!(count(index(), "AwsApiCall"), 0);
    assert!(count(index(), "userIdentity.type:AssumedRole") > 0);
    assert_eq!(count(index(), "AssumedRole"), 0);
    assert!(count(index(), "eventVersion:1.08") + count(index(), "eventVersion:1.09") > 0);
}
