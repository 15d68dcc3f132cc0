//! `audit --sigma`: Sigma rules run against the index as a user runs them, on the project's own fixtures
//! (fixtures/sigma) and, when `../shared/realdata` is present, SigmaHQ's CloudTrail rules over the
//! stratus-red-team detonations they target.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn sigma_fixtures() -> PathBuf {
    fixtures().join("sigma")
}

fn indexed(dir: &Path) -> tempfile::TempDir {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(idx.path(), &["cloudtrail", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    idx
}

/// Rule id → the numeric tails of the eventIDs it found.
fn found_by_rule(out: &str) -> BTreeMap<String, Vec<u64>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for f in json_lines(out) {
        let id = f["eventID"].as_str().unwrap();
        m.entry(f["rule"].as_str().unwrap().to_string())
            .or_default()
            .push(id.rsplit('-').next().unwrap().parse().unwrap());
    }
    m
}

#[test]
fn own_rules_find_exactly_the_events_they_are_for() {
    let idx = indexed(&sigma_fixtures().join("trail"));
    let rules = sigma_fixtures().join("rules");
    let (code, out, err) = run(
        idx.path(),
        &[
            "audit",
            "--sigma-only",
            "--sigma",
            rules.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "findings exit 1: {err}");
    assert!(!err.contains("not run"), "{err}");
    let want: BTreeMap<String, Vec<u64>> = [
        ("0f9c1a2e-0001-4000-8000-000000000001", vec![101, 102]),
        ("0f9c1a2e-0002-4000-8000-000000000002", vec![111]),
        ("0f9c1a2e-0003-4000-8000-000000000003", vec![121, 122, 123]),
        ("0f9c1a2e-0004-4000-8000-000000000004", vec![131]),
        ("0f9c1a2e-0005-4000-8000-000000000005", vec![141, 142]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(found_by_rule(&out), want, "{out}");
    // Near misses (ids 2xx) match nothing, and every finding carries the rule's title, level, tags, author.
    for f in json_lines(&out) {
        let n: u64 = f["eventID"]
            .as_str()
            .unwrap()
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((100..200).contains(&n), "a near miss matched: {f}");
        assert!(!f["title"].as_str().unwrap().is_empty());
        assert!(["high", "medium", "low"].contains(&f["level"].as_str().unwrap()));
        assert_eq!(f["author"], "sagetrail tests");
        assert!(f["tags"].as_array().unwrap()[0]
            .as_str()
            .unwrap()
            .starts_with("attack."));
    }
    let studio: Vec<Value> = json_lines(&out)
        .into_iter()
        .filter(|f| f["rule"] == "0f9c1a2e-0003-4000-8000-000000000003")
        .collect();
    assert_eq!(
        studio[0]["actor"], "alice",
        "the actor is sagetrail's, not the role"
    );
    assert!(studio[1]["detail"]
        .as_str()
        .unwrap()
        .ends_with("matched selection_agent_re, selection_role"));
}

#[test]
fn rules_that_cannot_run_are_each_listed_with_the_reason() {
    let idx = indexed(&sigma_fixtures().join("trail"));
    let dir = sigma_fixtures().join("unsupported");
    let (code, out, err) = run(
        idx.path(),
        &["audit", "--sigma-only", "--sigma", dir.to_str().unwrap()],
    );
    assert_eq!(code, 3, "no findings and rules not run: exit 3: {err}");
    assert!(out.is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("not run")).collect();
    assert_eq!(lines.len(), 5, "{err}");
    for (file, why) in [
        (
            "base64.yml",
            "the value modifier \"base64offset\" is not supported",
        ),
        ("broken.yml", "not YAML"),
        (
            "count.yml",
            "`timeframe` (counting over time) is not supported",
        ),
        ("lookaround.yml", "look-around"),
        ("windows.yml", "not aws/cloudtrail"),
    ] {
        assert!(
            lines.iter().any(|l| l.contains(file) && l.contains(why)),
            "{file}: {why}: {err}"
        );
    }
    // A rule for another log source alone is not a failure: exit 0.
    let (code, _, err) = run(
        idx.path(),
        &[
            "audit",
            "--sigma-only",
            "--sigma",
            dir.join("windows.yml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("windows.yml"), "{err}");
    // Findings win over rules not run: exit 1, and the reasons are still said.
    let (code, _, err) = run(
        idx.path(),
        &[
            "audit",
            "--sigma-only",
            "--sigma",
            dir.to_str().unwrap(),
            "--sigma",
            sigma_fixtures().join("rules").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().filter(|l| l.contains("not run")).count(), 5);
    // A path that does not exist is a rule not run, named.
    let (code, _, err) = run(
        idx.path(),
        &["audit", "--sigma-only", "--sigma", "/nonexistent/rule.yml"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("/nonexistent/rule.yml not run: cannot read"),
        "{err}"
    );
}

#[test]
fn sigma_and_builtin_findings_share_one_output_and_rule_selection() {
    let idx = indexed(&sigma_fixtures().join("trail"));
    let rules = sigma_fixtures().join("rules");
    let rules = rules.to_str().unwrap();
    // Built-in presigned-url-outside-network and the Sigma rule both see event 111, in one output.
    let (code, out, err) = run(
        idx.path(),
        &[
            "audit",
            "--sigma",
            rules,
            "--allow-cidr",
            "10.0.0.0/8",
            "--allow-cidr",
            "198.51.100.0/24",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let by = found_by_rule(&out);
    assert_eq!(
        by["presigned-url-outside-network"],
        vec![213, 111],
        "time order"
    );
    assert_eq!(by["0f9c1a2e-0002-4000-8000-000000000002"], vec![111]);
    let first_sigma = json_lines(&out)
        .iter()
        .position(|f| f.get("author").is_some())
        .unwrap();
    assert!(json_lines(&out)[..first_sigma]
        .iter()
        .all(|f| f.get("tags").is_none() && f["level"].is_string()));
    // --rule picks a Sigma id as it picks a built-in one; an unknown id is a usage error.
    let (code, out, _) = run(
        idx.path(),
        &[
            "audit",
            "--sigma",
            rules,
            "--rule",
            "0f9c1a2e-0004-4000-8000-000000000004",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        found_by_rule(&out).into_keys().collect::<Vec<_>>(),
        ["0f9c1a2e-0004-4000-8000-000000000004"]
    );
    let (code, _, err) = run(idx.path(), &["audit", "--sigma", rules, "--rule", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule \"nope\""), "{err}");
    // --sigma-only needs --sigma.
    let (code, _, _) = run(idx.path(), &["audit", "--sigma-only"]);
    assert_eq!(code, 2);
    // The list shows both, Sigma rules by their file.
    let (code, out, _) = run(
        idx.path(),
        &["audit", "--list", "--sigma", rules, "--format", "json"],
    );
    assert_eq!(code, 0);
    let list = json_lines(&out);
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/rules"))
        .unwrap()
        .count();
    assert_eq!(list.len(), on_disk + 5);
    assert!(list[on_disk]["section"]
        .as_str()
        .unwrap()
        .starts_with("sigma: "));
    // CSV carries level, title and tags; table heads each rule with its file, author and tags.
    let (_, csv, _) = run(
        idx.path(),
        &["audit", "--sigma-only", "--sigma", rules, "--format", "csv"],
    );
    assert!(
        csv.starts_with("rule,eventID,time,actor,detail,level,title,tags\n"),
        "{csv}"
    );
    assert!(csv.contains(",high,CloudTrail logging stopped or trail deleted,attack.defense-impairment attack.t1562.008"), "{csv}");
    let (_, table, _) = run(idx.path(), &["audit", "--sigma-only", "--sigma", rules]);
    assert!(
        table.contains("(author: sagetrail tests) tags: attack.defense-impairment"),
        "{table}"
    );
}

/// Every value a rule's searches give `eventName` (plain or `startswith`), when every search that is
/// not a filter names one: then a finding's eventName must be one of them. Read from the YAML alone.
fn event_names(rule: &Value) -> Option<Vec<(String, bool)>> {
    let det = rule["detection"].as_object()?;
    let mut names = Vec::new();
    for (k, v) in det {
        if k == "condition" || k.starts_with("filter") {
            continue;
        }
        let maps: Vec<&serde_json::Map<String, Value>> = match v {
            Value::Object(m) => vec![m],
            Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
            _ => return None,
        };
        let mut named = false;
        for m in maps {
            for (field, vals) in m {
                let mut parts = field.split('|');
                if parts.next() != Some("eventName") {
                    continue;
                }
                let prefix = parts.any(|p| p == "startswith");
                named = true;
                let vals: Vec<&Value> = match vals {
                    Value::Array(a) => a.iter().collect(),
                    v => vec![v],
                };
                names.extend(
                    vals.iter()
                        .filter_map(|v| v.as_str())
                        .map(|s| (s.to_string(), prefix)),
                );
            }
        }
        if !named {
            return None;
        }
    }
    Some(names)
}

#[test]
fn sigmahq_cloudtrail_rules_all_run_and_find_the_stratus_detonations() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata");
    if !root.join("sigma/rules").is_dir() {
        eprintln!("note: ../shared/realdata is absent; skipped");
        return;
    }
    let idx = tempfile::tempdir().unwrap();
    // Some files there are not CloudTrail (exit 3 for them); the rest is indexed.
    let (_, s, err) = ingest_json(
        idx.path(),
        &["cloudtrail", root.join("cloudtrail").to_str().unwrap()],
    );
    assert!(s["eventsAdded"].as_u64().unwrap() > 300, "{err}");
    let rules_dir = root.join("sigma/rules");
    let (code, out, err) = run(
        idx.path(),
        &[
            "audit",
            "--sigma-only",
            "--sigma",
            rules_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        !err.contains("not run"),
        "every SigmaHQ CloudTrail rule runs: {err}"
    );
    let (_, list, _) = run(
        idx.path(),
        &[
            "audit",
            "--list",
            "--sigma-only",
            "--sigma",
            rules_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(
        json_lines(&list).len(),
        std::fs::read_dir(&rules_dir).unwrap().count()
    );

    // eventID → eventName of every indexed record, and rule id → its YAML.
    let all = ok(idx.path(), &["search", "*", "--all", "--format", "json"]);
    let name_of: BTreeMap<String, String> = json_lines(&all)
        .iter()
        .filter_map(|r| {
            Some((
                r["eventID"].as_str()?.to_string(),
                r["eventName"].as_str()?.to_string(),
            ))
        })
        .collect();
    let mut yaml_of: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for e in std::fs::read_dir(&rules_dir).unwrap() {
        let p = e.unwrap().path();
        let v: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let file = p.file_name().unwrap().to_string_lossy().to_string();
        yaml_of.insert(v["id"].as_str().unwrap().to_string(), (file, v));
    }
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in json_lines(&out) {
        let (rule, id) = (f["rule"].as_str().unwrap(), f["eventID"].as_str().unwrap());
        let (file, yaml) = &yaml_of[rule];
        assert_eq!(f["title"], yaml["title"], "{file}");
        assert_eq!(
            f["author"], yaml["author"],
            "{file}: the DRL asks matches to keep the author"
        );
        assert_eq!(f["tags"], yaml["tags"], "{file}");
        // What the rule says it detects: its eventNames, read from the YAML, not from sagetrail.
        if let Some(names) = event_names(yaml) {
            let got = &name_of[id];
            assert!(
                names.iter().any(|(n, prefix)| if *prefix {
                    got.to_lowercase().starts_with(&n.to_lowercase())
                } else {
                    got.eq_ignore_ascii_case(n)
                }),
                "{file} found {got} ({id}), which it does not name: {names:?}"
            );
        }
        found
            .entry(file.clone())
            .or_default()
            .insert(id.to_string());
    }
    // The detonations each rule targets (read by hand from stratus-red-team's logs and the rules).
    let targets = [
        (
            "aws.defense-evasion.cloudtrail-delete.json",
            "DeleteTrail",
            "aws_cloudtrail_disable_logging.yml",
        ),
        (
            "aws.defense-evasion.cloudtrail-stop.json",
            "StopLogging",
            "aws_cloudtrail_disable_logging.yml",
        ),
        (
            "aws.defense-evasion.vpc-remove-flow-logs.json",
            "DeleteFlowLogs",
            "aws_cloudtrail_vpc_flow_logs_deleted.yml",
        ),
        (
            "aws.execution.ssm-send-command.json",
            "SendCommand",
            "aws_cloudtrail_ssm_malicious_usage.yml",
        ),
        (
            "aws.persistence.iam-backdoor-user.json",
            "CreateAccessKey",
            "aws_iam_backdoor_users_keys.yml",
        ),
        (
            "aws.initial-access.console-login-without-mfa.json",
            "ConsoleLogin",
            "aws_cloudtrail_console_login_success_without_mfa.yml",
        ),
        (
            "aws.exfiltration.ec2-security-group-open-port-22-ingress.json",
            "AuthorizeSecurityGroupIngress",
            "aws_cloudtrail_security_group_change_ingress_egress.yml",
        ),
        (
            "aws.exfiltration.ec2-share-ebs-snapshot.json",
            "ModifySnapshotAttribute",
            "aws_snapshot_backup_exfiltration.yml",
        ),
        (
            "aws.persistence.lambda-layer-extension.json",
            "UpdateFunctionConfiguration20150331v2",
            "aws_new_lambda_layer_attached.yml",
        ),
        (
            "aws.privilege-escalation.iam-update-user-login-profile.json",
            "UpdateLoginProfile",
            "aws_update_login_profile.yml",
        ),
    ];
    for (detonation, event_name, rule_file) in targets {
        let text =
            std::fs::read_to_string(root.join("cloudtrail/stratus-red-team").join(detonation))
                .unwrap();
        let events: Vec<Value> = serde_json::from_str(&text).unwrap();
        let ids: BTreeSet<String> = events
            .iter()
            .filter(|e| {
                e["eventName"] == event_name && e.get("errorCode").is_none_or(Value::is_null)
            })
            .map(|e| e["eventID"].as_str().unwrap().to_string())
            .collect();
        assert!(!ids.is_empty(), "{detonation} has {event_name}");
        let got = found.get(rule_file).cloned().unwrap_or_default();
        assert!(
            ids.is_subset(&got),
            "{rule_file} misses {detonation}: {ids:?} vs {got:?}"
        );
    }
}
