//! The compliance questions against fixtures written for them: who, activity, timeline, identity
//! stitching (in one run, across runs, out of order) and every audit rule, positive and negative.

mod common;

use std::path::Path;

use common::*;

fn ingest(idx: &Path, dirs: &[&str]) {
    let mut args = vec!["ingest".to_string(), "cloudtrail".to_string()];
    args.extend(
        dirs.iter()
            .map(|d| fixtures().join(d).to_string_lossy().into_owned()),
    );
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(idx, &a);
}

fn full_index() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    ingest(d.path(), &["trail", "forms", "chain/early", "chain/late"]);
    d
}

const ERIN: &str = "arn:aws:iam::111122223333:user/erin";

#[test]
fn who_gives_the_same_answer_however_the_index_is_split_into_segments() {
    let one = full_index();
    let many = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "ingest",
        "cloudtrail",
        "--commit-every",
        "2",
        "--merge-max-docs",
        "2",
    ]
    .map(String::from)
    .to_vec();
    for d in ["trail", "forms", "chain/early", "chain/late"] {
        args.push(fixtures().join(d).to_string_lossy().into_owned());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(many.path(), &a);
    let info: serde_json::Value =
        serde_json::from_str(&ok(many.path(), &["info", "--format", "json"])).unwrap();
    assert!(info["segments"].as_u64().unwrap() > 2, "{info}");
    for action in ["*", "Create*", "CreatePresignedDomainUrl"] {
        let q = ["who", action, "--format", "json"];
        let (a, b) = (ok(one.path(), &q), ok(many.path(), &q));
        assert!(!json_lines(&a).is_empty());
        assert_eq!(a, b, "who {action}");
    }
}

#[test]
fn who_opened_alices_studio_and_from_where() {
    let d = full_index();
    let out = ok(
        d.path(),
        &[
            "who",
            "CreatePresignedDomainUrl",
            "--where",
            "requestParameters.userProfileName:alice",
            "--format",
            "json",
        ],
    );
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    let alice = &rows[0];
    assert_eq!(
        alice["actor"],
        "arn:aws:sts::111122223333:assumed-role/StudioPortalAccess/alice@example.com"
    );
    assert_eq!(alice["count"], 2);
    assert_eq!(
        alice["sourceIPAddresses"],
        serde_json::json!(["198.51.100.23"])
    );
    assert_eq!(alice["firstTime"], "2024-05-14T09:05:12Z");
    assert_eq!(alice["lastTime"], "2024-05-14T09:07:00Z");
    let bob = &rows[1];
    assert!(bob["actor"].as_str().unwrap().ends_with("bob@example.com"));
    assert_eq!(
        bob["sourceIPAddresses"],
        serde_json::json!(["203.0.113.77"])
    );
    assert_eq!(
        bob["roleArns"],
        serde_json::json!(["arn:aws:iam::111122223333:role/StudioPortalAccess"])
    );
    // Prefix actions, errors counted, window applied.
    let creates = json_lines(&ok(
        d.path(),
        &[
            "who",
            "Create*",
            "--since",
            "2024-05-14",
            "--until",
            "2024-05-15",
            "--format",
            "json",
        ],
    ));
    let total: u64 = creates.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(
        total,
        count(
            d.path(),
            "eventName:Create* AND eventTime:[2024-05-14 TO 2024-05-15}"
        )
    );
    let denied = json_lines(&ok(d.path(), &["who", "Delete*", "--format", "json"]));
    assert!(denied.iter().any(|r| r["errors"] == 1));
    let csv = ok(d.path(), &["who", "CreateApp", "--format", "csv"]);
    assert!(csv.starts_with("actor,principalArns,"));
}

#[test]
fn which_humans_used_the_shared_execution_role() {
    let d = full_index();
    let out = ok(d.path(), &["stats", "--by", "actor", "roleArn:\"arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-Shared\"", "--format", "json"]);
    let actors: Vec<String> = json_lines(&out)
        .iter()
        .map(|r| r["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actors,
        vec!["alice", "bob", ERIN, "carol"],
        "by count, then name"
    );
}

#[test]
fn activity_says_what_matched_and_summarises() {
    let d = full_index();
    let (code, out, err) = run(d.path(), &["activity", "carol", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(err.contains("matched sourceIdentity"), "{err}");
    let rows = json_lines(&out);
    assert_eq!(rows[0]["eventName"], "AssumeRole");
    assert_eq!(rows[0]["count"], 2);
    assert_eq!(
        rows.iter()
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>(),
        4
    );
    // By role ARN, by access key, by space ARN.
    let (code, _, err) = run(
        d.path(),
        &["activity", "arn:aws:iam::111122223333:role/PlatformAdmin"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("roleArn"), "{err}");
    let (code, out, err) = run(
        d.path(),
        &["activity", "ASIAZSTUDIOBOB000003", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("userIdentity.accessKeyId"), "{err}");
    assert_eq!(
        json_lines(&out)
            .iter()
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    let (code, _, err) = run(
        d.path(),
        &[
            "activity",
            "arn:aws:sagemaker:us-east-1:111122223333:space/d-7kq2xexample/team-fraud",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("spaceArn"), "{err}");
    // --events prints the records themselves.
    let ev = json_lines(&ok(
        d.path(),
        &["activity", "carol", "--events", "--format", "json"],
    ));
    assert_eq!(ev.len(), 4);
    assert!(ev.iter().all(|e| e["eventID"].is_string()));
    let (code, _, err) = run(d.path(), &["activity", "nobody-at-all"]);
    assert_eq!(code, 2);
    assert!(err.contains("matches no"), "{err}");
}

#[test]
fn timeline_is_ordered_and_marks_sessions() {
    let d = full_index();
    let out = ok(d.path(), &["timeline", "alice", "--format", "json"]);
    let rows = json_lines(&out);
    assert!(rows.len() >= 8);
    for w in rows.windows(2) {
        assert!(w[0]["time"].as_str() <= w[1]["time"].as_str());
    }
    assert_eq!(rows[0]["newSession"], true);
    let sessions: Vec<&str> = rows
        .iter()
        .filter(|r| r["newSession"] == true)
        .map(|r| r["session"].as_str().unwrap())
        .collect();
    assert!(
        sessions.contains(&"ASIAZSTUDIOEXAMPLE01") && sessions.contains(&"ASIAZSTUDIOALICE0002"),
        "{sessions:?}"
    );
    // Complete in JSON: the record rides along.
    assert!(rows.iter().all(|r| r["record"]["eventID"].is_string()));
    let table = ok(d.path(), &["timeline", "alice"]);
    assert!(table.contains("── session ASIAZSTUDIOALICE0002"), "{table}");
}

#[test]
fn a_role_chain_is_stitched_to_its_human_in_one_run() {
    let d = full_index();
    for q in [
        "userIdentity.accessKeyId:ASIAZCHAINERIN000001",
        "userIdentity.accessKeyId:ASIAZCHAINERIN000002",
    ] {
        let rows = json_lines(&ok(
            d.path(),
            &["stats", "--by", "actor", q, "--format", "json"],
        ));
        assert_eq!(
            rows,
            vec![serde_json::json!({"value": ERIN, "count": if q.ends_with('1') { 2 } else { 1 }})],
            "{q}"
        );
    }
    assert_eq!(count(d.path(), &format!("actor:\"{ERIN}\"")), 4);
    // sourceIdentity wins over stitching.
    assert_eq!(count(d.path(), "actor:carol"), 4);
}

#[test]
fn events_ingested_before_their_assume_role_get_their_actor_fixed() {
    let d = tempfile::tempdir().unwrap();
    ingest(d.path(), &["chain/early"]);
    // Before the AssumeRole arrives: the role session is all that is known (one hop is stitched already).
    assert_eq!(count(d.path(), &format!("actor:\"{ERIN}\"")), 0);
    assert_eq!(
        count(
            d.path(),
            "actor:\"arn:aws:sts::111122223333:assumed-role/PlatformAdmin/erin-maint\""
        ),
        3
    );
    ingest(d.path(), &["chain/late"]);
    assert_eq!(
        count(d.path(), &format!("actor:\"{ERIN}\"")),
        4,
        "fixed transitively across two hops"
    );
    assert_eq!(
        count(d.path(), "*"),
        4,
        "fixing re-indexes, never duplicates"
    );
    let who = json_lines(&ok(
        d.path(),
        &["who", "CreateTrainingJob", "--format", "json"],
    ));
    assert_eq!(who[0]["actor"], ERIN);
    // The same, read in the other order in one run, gives the same answer.
    let e = tempfile::tempdir().unwrap();
    ingest(e.path(), &["chain/late", "chain/early"]);
    assert_eq!(count(e.path(), &format!("actor:\"{ERIN}\"")), 4);
}

fn audit(idx: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let mut a = vec!["audit", "--format", "json"];
    a.extend_from_slice(extra);
    let (code, out, err) = run(idx, &a);
    (code, json_lines(&out), err)
}

fn rules_of(f: &[serde_json::Value]) -> Vec<String> {
    let mut r: Vec<String> = f
        .iter()
        .map(|x| x["rule"].as_str().unwrap().to_string())
        .collect();
    r.dedup();
    r
}

#[test]
fn audit_rules_fire_on_their_fixtures_and_only_there() {
    let d = full_index();
    let base = [
        "--allow-cidr",
        "198.51.100.0/24",
        "--allow-instance-type",
        "system",
        "--allow-instance-type",
        "ml.t3.medium",
    ];
    let (code, f, _) = audit(d.path(), &base);
    assert_eq!(code, 1);
    let by = |rule: &str| {
        f.iter()
            .filter(|x| x["rule"] == rule)
            .cloned()
            .collect::<Vec<_>>()
    };
    // presigned-url-outside-network: bob's request from 203.0.113.77 only.
    let out = by("presigned-url-outside-network");
    assert_eq!(out.len(), 1);
    assert!(out[0]["detail"].as_str().unwrap().contains("203.0.113.77"));
    // presigned-url-cross-profile: bob opened alice's profile; alice's own requests are fine.
    let cross = by("presigned-url-cross-profile");
    assert_eq!(cross.len(), 1);
    assert_eq!(cross[0]["detail"], "caller bob opened profile alice");
    assert_eq!(by("app-instance-type-not-allowed").len(), 1);
    assert_eq!(by("domain-not-vpc-only").len(), 1);
    let tags = by("user-profile-missing-tag");
    assert_eq!(tags.len(), 1);
    assert!(tags[0]["detail"].as_str().unwrap().contains("profile bob"));
    // Jobs: alice's and the churn job carry studiouserid; three do not.
    assert_eq!(by("job-missing-tag").len(), 3);
    assert_eq!(
        by("training-volume-unencrypted").len(),
        3,
        "the churn job has a KMS key"
    );
    assert_eq!(
        by("identity-attribution-disabled").len(),
        2,
        "USER_PROFILE_NAME is not a finding"
    );
    assert_eq!(by("root-activity").len(), 1);
    assert_eq!(by("endpoint-config-unencrypted").len(), 1);
    assert_eq!(by("job-without-network-isolation").len(), 3);
    assert_eq!(by("job-without-vpc").len(), 4);
    assert_eq!(
        by("presigned-url-long-session").len(),
        0,
        "12 h is the default maximum"
    );
    // Findings carry the documented keys.
    for x in &f {
        for k in ["rule", "eventID", "time", "actor", "detail"] {
            assert!(x.get(k).is_some(), "{k} missing: {x}");
        }
    }
}

#[test]
fn audit_parameters_change_the_verdicts() {
    let d = full_index();
    // The outside address allowed: no network finding. An admin role may open any profile.
    let (code, f, _) = audit(
        d.path(),
        &[
            "--rule",
            "presigned-url-outside-network",
            "--allow-cidr",
            "198.51.100.0/24",
            "--allow-cidr",
            "203.0.113.0/24",
        ],
    );
    assert!(f.is_empty());
    assert_eq!(code, 0, "no finding: exit 0");
    let (code, f, _) = audit(
        d.path(),
        &[
            "--rule",
            "presigned-url-cross-profile",
            "--admin-role",
            "arn:aws:iam::111122223333:role/StudioPortalAccess",
        ],
    );
    assert_eq!((code, f.len()), (0, 0));
    let (code, f, _) = audit(
        d.path(),
        &[
            "--rule",
            "presigned-url-long-session",
            "--max-session-seconds",
            "3600",
        ],
    );
    assert_eq!(f.len(), 1);
    assert_eq!(code, 1, "findings: exit 1");
    let (code, f, _) = audit(
        d.path(),
        &[
            "--rule",
            "user-profile-missing-tag",
            "--required-tag",
            "cost-center",
        ],
    );
    assert_eq!(f.len(), 1);
    assert_eq!(code, 1, "findings: exit 1");
    let (code, f, _) = audit(
        d.path(),
        &[
            "--rule",
            "app-image-not-allowed",
            "--allow-image",
            "arn:aws:sagemaker:us-east-1:081325390199:image/sagemaker-distribution-gpu",
        ],
    );
    assert!(f.is_empty());
    assert_eq!(code, 0, "no finding: exit 0");
    let (code, f, _) = audit(
        d.path(),
        &[
            "--rule",
            "app-image-not-allowed",
            "--allow-image",
            "arn:aws:sagemaker:us-east-1:1:image/other",
        ],
    );
    assert_eq!(f.len(), 1);
    assert_eq!(code, 1, "findings: exit 1");
    // Rules that need a list say so and are not run.
    let (code, f, err) = audit(d.path(), &["--rule", "app-instance-type-not-allowed"]);
    assert!(f.is_empty());
    assert_eq!(code, 0, "no finding: exit 0");
    assert!(err.contains("needs --allow-instance-type"), "{err}");
    // From a config file's [audit] table.
    let cfg = d.path().join("audit.toml");
    std::fs::write(&cfg, "[audit]\nallow-cidr = [\"198.51.100.0/24\"]\nallow-instance-type = [\"system\", \"ml.t3.medium\", \"ml.g5.12xlarge\"]\n").unwrap();
    let (code, f, _) = audit(
        d.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--rule",
            "app-instance-type-not-allowed",
            "--rule",
            "presigned-url-outside-network",
        ],
    );
    assert_eq!(rules_of(&f), vec!["presigned-url-outside-network"]);
    assert_eq!(code, 1, "findings: exit 1");
    // Bad parameters and unknown rules are errors (exit 2).
    let (code, _, _) = audit(d.path(), &["--allow-cidr", "not-a-cidr"]);
    assert_eq!(code, 2);
    let (code, _, _) = audit(d.path(), &["--rule", "no-such-rule"]);
    assert_eq!(code, 2);
}

#[test]
fn audit_lists_rules_and_exits_0_when_clean() {
    let d = tempfile::tempdir().unwrap();
    ingest(d.path(), &["forms"]);
    let (code, f, _) = audit(d.path(), &["--allow-cidr", "0.0.0.0/0"]);
    assert_eq!((code, f.len()), (0, 0));
    let list = json_lines(&ok(d.path(), &["audit", "--list", "--format", "json"]));
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/rules"))
        .unwrap()
        .count();
    assert_eq!(list.len(), on_disk);
    assert!(list
        .iter()
        .any(|r| r["id"] == "root-activity" && r["section"].as_str().unwrap().contains("root")));
}
