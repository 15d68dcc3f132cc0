//! Real trails: every shape real pipelines deliver ingests with the right counts, and every actor rule of
//! schema/actor-rules.md names the right human, through the binary (fixtures from
//! fixtures/make_real_shapes.py).

mod common;
use common::*;

use std::path::Path;

fn shapes() -> std::path::PathBuf {
    fixtures().join("shapes")
}

#[test]
fn every_shape_ingests_with_exit_0_and_the_right_counts() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("shapes.expected.json")).unwrap())
            .unwrap();
    let expected = expected.as_object().unwrap();
    assert!(expected.len() >= 12, "a fixture per shape");
    for (file, want) in expected {
        let idx = tempfile::tempdir().unwrap();
        let path = shapes().join(file);
        let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{file}: {err}");
        assert_eq!(s["objectsRead"], 1, "{file}: read, not skipped: {s}");
        assert_eq!(s["objectsFailed"], 0, "{file}: {err}");
        assert_eq!(s["recordsFailed"], 0, "{file}: {err}");
        assert_eq!(s["eventsAdded"], want["events"], "{file}: {s}");
        for key in ["valuesNotCloudTrail", "controlMessages", "eventIDsDerived"] {
            assert_eq!(
                s[key].as_u64().unwrap(),
                want.get(key).and_then(|v| v.as_u64()).unwrap_or(0),
                "{file}: {key}: {s}"
            );
        }
        if let Some(p) = want.get("alreadyPresent") {
            assert_eq!(&s["eventsAlreadyPresent"], p, "{file}: {s}");
        }
        assert_eq!(
            count(idx.path(), "*"),
            want["events"].as_u64().unwrap(),
            "{file}"
        );
    }
}

#[test]
fn the_whole_folder_at_once_and_the_json_output_is_the_record() {
    let idx = tempfile::tempdir().unwrap();
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", shapes().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["eventsAdded"], 25, "{s}");
    assert_eq!(s["objectsFailed"], 0, "{s}");
    // EventBridge: the record is the envelope's detail, byte for byte (minified).
    let out = ok(
        idx.path(),
        &[
            "search",
            "eventID:c0000001-0000-4000-8000-000000000001",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["eventName"], "DescribeDomain");
    assert!(
        v.get("detail-type").is_none(),
        "the envelope is not the record"
    );
    // Athena-style and epoch times land on the same instant.
    let n = ok(
        idx.path(),
        &[
            "search",
            "*",
            "--since",
            "2024-05-21T10:00:00Z",
            "--until",
            "2024-05-21T10:00:00.001Z",
            "--count",
        ],
    );
    assert_eq!(n.trim(), "25");
    // The record without an eventID is findable as such, with its derived identity.
    assert_eq!(count(idx.path(), "eventIDDerived:true"), 2);
}

#[test]
fn a_file_of_no_cloudtrail_is_named_and_a_skipped_file_says_why() {
    let idx = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vpc.jsonl"),
        b"{\"srcaddr\":\"10.0.0.1\"}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("vpc.jsonl") && err.contains("not a CloudTrail file"),
        "{err}"
    );
    assert_eq!(s["objectsSkipped"], 1);
    assert_eq!(
        s["skippedByReason"]["name not .json, .ndjson, .jsonl or .log (optionally .gz)"], 1,
        "{s}"
    );
}

#[test]
fn two_hundred_thousand_bad_lines_give_one_line_and_keep_the_good_one() {
    let idx = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::with_capacity(200_000 * 40);
    for i in 0..200_000 {
        body.push_str(&format!("{{\"eventID\":\"e{i}\",broken}}\n"));
    }
    body.push_str(
        "{\"eventID\":\"ok\",\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventName\":\"X\"}\n",
    );
    std::fs::write(dir.path().join("bad.ndjson"), body).unwrap();
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3);
    assert_eq!(s["recordsFailed"], 200_000);
    assert_eq!(s["eventsAdded"], 1);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("bad.ndjson")).collect();
    assert_eq!(lines.len(), 1, "{}", &err[..err.len().min(2000)]);
    assert!(
        lines[0].contains("200000 record(s) failed") && lines[0].contains("line 1: invalid JSON"),
        "{}",
        lines[0]
    );
}

#[test]
fn the_same_event_id_with_other_content_is_counted_and_the_first_kept() {
    let idx = tempfile::tempdir().unwrap();
    let c = fixtures().join("conflict");
    let (code, s, _) = ingest_json(
        idx.path(),
        &["cloudtrail", c.join("a.json").to_str().unwrap()],
    );
    assert_eq!((code, s["eventsAdded"].as_u64()), (0, Some(1)));
    let (code, s, err) = ingest_json(
        idx.path(),
        &[
            "cloudtrail",
            c.join("b.json").to_str().unwrap(),
            c.join("c.json").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["eventsAdded"], 0);
    assert_eq!(s["eventsAlreadyPresent"], 2);
    assert_eq!(
        s["eventsConflicting"], 1,
        "c.json is a redelivery (pretty-printed), b.json a conflict"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("b.json") && l.contains("differ in content")),
        "{err}"
    );
    assert!(!err.contains("c.json"), "{err}");
    // The first kept: the address of a.json.
    assert_eq!(count(idx.path(), "sourceIPAddress:\"203.0.113.99\""), 0);
    // In one run too: objects are decoded in parallel, so which copy arrives first is not fixed; one is
    // kept, and the conflict is counted against it (twice when b.json came first: a and c both differ).
    let idx2 = tempfile::tempdir().unwrap();
    let (_, s, _) = ingest_json(idx2.path(), &["cloudtrail", c.to_str().unwrap()]);
    assert_eq!(s["eventsAdded"], 1);
    assert_eq!(s["eventsAlreadyPresent"], 2);
    let conflicts = s["eventsConflicting"].as_u64().unwrap();
    assert!((1..=2).contains(&conflicts), "{s}");
    assert_eq!(
        count(idx2.path(), "eventID:d0000001-0000-4000-8000-000000000001"),
        1
    );
}

/// `who --format json` rows by actor.
fn who(idx: &Path, action: &str) -> Vec<serde_json::Value> {
    json_lines(&ok(idx, &["who", action, "--format", "json"]))
}

fn actor_of(idx: &Path, event_id: &str) -> (String, String, String) {
    let out = ok(
        idx,
        &[
            "stats",
            "--by",
            "actor",
            &format!("eventID:{event_id}"),
            "--format",
            "json",
        ],
    );
    let actor = json_lines(&out)[0]["value"].as_str().unwrap().to_string();
    let basis = json_lines(&ok(
        idx,
        &[
            "stats",
            "--by",
            "actorBasis",
            &format!("eventID:{event_id}"),
            "--format",
            "json",
        ],
    ))[0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let issuer = json_lines(&ok(
        idx,
        &[
            "stats",
            "--by",
            "actorIssuerEventID",
            &format!("eventID:{event_id}"),
            "--format",
            "json",
        ],
    ))
    .first()
    .and_then(|v| v["value"].as_str().map(str::to_string))
    .unwrap_or_default();
    (actor, basis, issuer)
}

fn assert_actors(idx: &Path) {
    let want = [
        // The reproduction: a service-issued Studio session naming a user profile.
        (
            "b0000001-0000-4000-8000-000000000001",
            "dave",
            "userProfile",
            "",
        ),
        // A service-issued Studio session naming none: the session, never sagemaker.amazonaws.com.
        (
            "b0000001-0000-4000-8000-000000000002",
            "arn:aws:sts::111122223333:assumed-role/AmazonSageMaker-ExecutionRole-Fraud/SageMaker",
            "principal",
            "",
        ),
        // Stolen instance credentials used from outside: the instance's session, not ec2.amazonaws.com.
        (
            "b0000001-0000-4000-8000-000000000003",
            "arn:aws:sts::111122223333:assumed-role/WebServerRole/i-0abc1234def567890",
            "principal",
            "",
        ),
        // SAML console session chained into a role in another account: the SAML user, two hops back.
        (
            "b0000001-0000-4000-8000-000000000004",
            "erin@example.com",
            "issuer",
            "a0000001-0000-4000-8000-000000000004",
        ),
        (
            "a0000001-0000-4000-8000-000000000004",
            "erin@example.com",
            "issuer",
            "a0000001-0000-4000-8000-000000000003",
        ),
        // An IAM user's role session without sourceIdentity.
        (
            "b0000001-0000-4000-8000-000000000005",
            "arn:aws:iam::111122223333:user/carol",
            "issuer",
            "a0000001-0000-4000-8000-000000000005",
        ),
        // Identity Center: named by another event, and never named.
        (
            "b0000001-0000-4000-8000-000000000006",
            "alice@corp.example",
            "identityCenter",
            "",
        ),
        (
            "b0000001-0000-4000-8000-000000000007",
            "c4a8e4d8-1071-70a5-4cd3-8a0f1bd1b0b0",
            "identityCenter",
            "",
        ),
        // The service AssumeRole itself is the service's.
        (
            "a0000001-0000-4000-8000-000000000001",
            "sagemaker.amazonaws.com",
            "principal",
            "",
        ),
    ];
    for (id, actor, basis, issuer) in want {
        assert_eq!(
            actor_of(idx, id),
            (actor.to_string(), basis.to_string(), issuer.to_string()),
            "event {id}"
        );
    }
    assert_eq!(count(idx, "actor:sagemaker.amazonaws.com"), 1);
    assert_eq!(count(idx, "actor:ec2.amazonaws.com"), 1);
    // who shows the basis and the issuing event.
    let rows = who(idx, "ListDomains");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor"], "erin@example.com");
    assert_eq!(rows[0]["actorBases"], serde_json::json!(["issuer"]));
    assert_eq!(
        rows[0]["actorIssuerEventIDs"],
        serde_json::json!(["a0000001-0000-4000-8000-000000000004"])
    );
}

#[test]
fn every_actor_rule_in_one_run() {
    let idx = tempfile::tempdir().unwrap();
    let a = fixtures().join("actors");
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", a.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["eventsAdded"], 13);
    assert_actors(idx.path());
    // timeline rows carry the basis too.
    let rows = json_lines(&ok(
        idx.path(),
        &["timeline", "erin@example.com", "--format", "json"],
    ));
    assert!(rows.iter().any(|r| r["actorBasis"] == "issuer"
        && r["actorIssuerEventID"] == "a0000001-0000-4000-8000-000000000004"));
    let act = json_lines(&ok(idx.path(), &["activity", "dave", "--format", "json"]));
    assert_eq!(act[0]["actorBases"], serde_json::json!(["userProfile"]));
}

#[test]
fn every_actor_rule_when_the_issuing_calls_arrive_later() {
    let idx = tempfile::tempdir().unwrap();
    let a = fixtures().join("actors");
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", a.join("use").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Before the issuing calls: erin's chained session is only a session, u-alice only an id.
    assert_eq!(
        actor_of(idx.path(), "b0000001-0000-4000-8000-000000000004").1,
        "principal"
    );
    assert_eq!(
        actor_of(idx.path(), "b0000001-0000-4000-8000-000000000006"),
        (
            "94482488-3041-7026-18f3-be45837cd0e4".to_string(),
            "identityCenter".to_string(),
            String::new()
        )
    );
    let (code, s, err) = ingest_json(
        idx.path(),
        &["cloudtrail", a.join("issue").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["eventsAdded"], 6);
    assert_actors(idx.path());
    assert_eq!(count(idx.path(), "*"), 13, "fixed, not duplicated");
}

/// An index of fixtures/guardrails.
fn guardrail_index() -> tempfile::TempDir {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(
        idx.path(),
        &[
            "cloudtrail",
            fixtures().join("guardrails").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    idx
}

/// The numbered fixture events `rule` finds (exit 1 asserted), sorted; every finding has a detail, a
/// title and a level.
fn fired(idx: &std::path::Path, rule: &str, extra: &[&str]) -> Vec<u64> {
    let mut args = vec!["audit", "--rule", rule, "--format", "json"];
    args.extend(extra);
    let (code, out, err) = run(idx, &args);
    assert_eq!(code, 1, "{rule}: findings exit 1: {err}");
    let found = json_lines(&out);
    for f in &found {
        assert!(!f["detail"].as_str().unwrap().is_empty(), "{f}");
        assert_eq!(f["title"].as_str().map(str::is_empty), Some(false));
        assert!(["high", "medium", "low"].contains(&f["level"].as_str().unwrap()));
    }
    let mut got: Vec<u64> = found
        .iter()
        .map(|f| {
            let id = f["eventID"].as_str().unwrap();
            id.rsplit('-').next().unwrap().parse::<u64>().unwrap()
        })
        .collect();
    got.sort();
    got
}

/// The whitepaper's remaining guardrails fire on the calls that break them and on no other
/// (fixtures/guardrails: ids ...1x break a rule, ...2x keep it).
#[test]
fn the_remaining_whitepaper_guardrails_fire_exactly_where_broken() {
    let idx = guardrail_index();
    let want: [(&str, &[u64]); 4] = [
        ("monitoring-schedule-unencrypted", &[11, 12]),
        ("domain-storage-unencrypted", &[13]),
        ("sharing-bucket-unencrypted", &[14, 15]),
        ("app-image-runs-as-root", &[16, 17, 18]),
    ];
    for (rule, ids) in want {
        assert_eq!(fired(idx.path(), rule, &[]), ids, "{rule}");
    }
}

/// The IAM-condition guardrails on jobs, notebook instances and endpoints fire on the calls that break
/// them and on no other (fixtures/guardrails: ids ...3x break, ...5x keep).
#[test]
fn iam_condition_guardrails_fire_exactly_where_broken() {
    let idx = guardrail_index();
    let allow = [
        "--allow-instance-type",
        "ml.m5.xlarge",
        "--allow-instance-type",
        "ml.t3.medium",
    ];
    let want: [(&str, &[u64]); 8] = [
        ("job-inter-container-traffic-unencrypted", &[31, 32]),
        ("lifecycle-config-changed", &[37]),
        ("job-instance-type-not-allowed", &[31, 33, 36]),
        ("job-volume-unencrypted", &[32, 33, 34]),
        ("job-output-unencrypted", &[31, 32, 33]),
        ("notebook-instance-root-access", &[34, 35]),
        ("notebook-instance-internet-access", &[34]),
        ("job-missing-tag", &[31, 32, 33, 34]),
    ];
    for (rule, ids) in want {
        let got: Vec<u64> = fired(idx.path(), rule, &allow)
            .into_iter()
            .filter(|n| (30..60).contains(n))
            .collect();
        assert_eq!(got, ids, "{rule}");
    }
    // The endpoint config is found by its second variant's type, and the detail says which job.
    let (_, out, _) = run(
        idx.path(),
        &[
            "audit",
            "--rule",
            "job-instance-type-not-allowed",
            "--format",
            "json",
            "--allow-instance-type",
            "ml.m5.xlarge",
            "--allow-instance-type",
            "ml.t3.medium",
        ],
    );
    assert!(
        out.contains("CreateTrainingJob big-gpu on ml.p4d.24xlarge"),
        "{out}"
    );
    // Without the allow list the rule says it did not run, and finds nothing.
    let (code, out, err) = run(
        idx.path(),
        &["audit", "--rule", "job-instance-type-not-allowed"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("job-instance-type-not-allowed not run: needs --allow-instance-type"),
        "{err}"
    );
}

/// `attribution-gap`: Studio execution-role calls without sourceIdentity, one finding per domain and
/// role; the domain comes from the domain settings that name the role when the call does not say it.
#[test]
fn attribution_gap_groups_studio_calls_without_source_identity() {
    let idx = guardrail_index();
    let (code, out, err) = run(
        idx.path(),
        &["audit", "--rule", "attribution-gap", "--format", "json"],
    );
    assert_eq!(code, 1, "{err}");
    let found = json_lines(&out);
    assert_eq!(found.len(), 2, "{out}");
    assert_eq!(found[0]["eventID"], "e0000001-0000-4000-8000-000000000042");
    let d0 = found[0]["detail"].as_str().unwrap();
    assert!(d0.starts_with("domain d-gap0example role arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-Gap: 2 Studio calls without sourceIdentity from 2024-05-23T11:42:00Z to 2024-05-23T11:43:00Z"), "{d0}");
    assert_eq!(found[1]["eventID"], "e0000001-0000-4000-8000-000000000044");
    let d1 = found[1]["detail"].as_str().unwrap();
    assert!(d1.starts_with("domain (unknown) role arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-Adhoc: 1 Studio calls"), "{d1}");
    // A narrower window sees only what is in it.
    let (code, out, _) = run(
        idx.path(),
        &[
            "audit",
            "--rule",
            "attribution-gap",
            "--format",
            "json",
            "--since",
            "2024-05-23T11:43:00Z",
            "--until",
            "2024-05-23T11:44:00Z",
        ],
    );
    assert_eq!(code, 1);
    let found = json_lines(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert!(found[0]["detail"]
        .as_str()
        .unwrap()
        .contains(": 1 Studio calls"));
}

/// The pack runs in one walk over the union of the rules' hits; what it finds must be exactly what each
/// rule finds on its own, in the same order (rule by rule, then time).
#[test]
fn the_whole_pack_in_one_walk_equals_each_rule_alone() {
    let idx = guardrail_index();
    let params = [
        "--allow-cidr",
        "10.0.0.0/8",
        "--allow-instance-type",
        "ml.t3.medium",
        "--required-tag",
        "team",
        "--admin-role",
        "arn:aws:iam::111122223333:role/Admin",
    ];
    let mut all = vec!["audit", "--format", "json"];
    all.extend(params);
    let (code, together, err) = run(idx.path(), &all);
    assert_eq!(code, 1, "{err}");
    let (code, list, _) = run(idx.path(), &["audit", "--list", "--format", "json"]);
    assert_eq!(code, 0);
    let mut alone = String::new();
    let mut rules = 0;
    for r in json_lines(&list) {
        let id = r["id"].as_str().or(r["rule"].as_str()).unwrap().to_string();
        let mut args = vec!["audit", "--rule", &id, "--format", "json"];
        args.extend(params);
        let (code, out, err) = run(idx.path(), &args);
        assert!(code == 0 || code == 1, "{id}: {err}");
        alone.push_str(&out);
        rules += 1;
    }
    assert!(rules >= 20, "{rules} rules listed");
    let n = json_lines(&together).len();
    assert!(n > 20, "the fixture breaks many rules: {n}");
    assert_eq!(together, alone);
}
