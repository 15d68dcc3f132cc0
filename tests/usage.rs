//! `usage`: app, job and notebook-instance hours from fixtures/usage, against hours computed by hand
//! (see fixtures/make_real_shapes.py, section usage).

mod common;

use common::*;
use serde_json::Value;

fn indexed() -> tempfile::TempDir {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(
        idx.path(),
        &["cloudtrail", fixtures().join("usage").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    idx
}

const WEEKEND: [&str; 4] = [
    "--since",
    "2024-06-07T00:00:00Z",
    "--until",
    "2024-06-10T00:00:00Z",
];

fn rows(idx: &std::path::Path, extra: &[&str]) -> Vec<(String, String, f64, u64, u64, u64)> {
    let mut args = vec!["usage", "--format", "json"];
    args.extend(extra);
    let (code, out, err) = run(idx, &args);
    assert_eq!(code, 0, "{err}");
    json_lines(&out)
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap().to_string(),
                r["instanceType"].as_str().unwrap().to_string(),
                r["hours"].as_f64().unwrap(),
                r["runs"].as_u64().unwrap(),
                r["running"].as_u64().unwrap(),
                r["maxRuntime"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(
    v: &str,
    t: &str,
    h: f64,
    runs: u64,
    running: u64,
    max: u64,
) -> (String, String, f64, u64, u64, u64) {
    (v.into(), t.into(), h, runs, running, max)
}

#[test]
fn weekend_hours_per_user_profile_match_the_hand_count() {
    let idx = indexed();
    // alice: the p4d app from Fri 18:00 still up at Mon 00:00 = 54 h (its retried CreateApp ignored);
    // her JupyterServer from Thu 09:00 to Fri 09:30, inside the window from Fri 00:00 = 9.5 h.
    // bob: the team-fraud space app Sat 10:00-16:15 = 6.25 h; a training job of 2 instances with no stop,
    // counted to its 2 h maximum runtime = 4 instance-hours. carol: training stopped after 3.75 h; her
    // failed CreateApp counts nothing; her notebook instance (no user profile: a console session)
    // 4 h on ml.t3.medium, then from Sun 20:00 on the type it was updated to, still running = 4 h.
    assert_eq!(
        rows(idx.path(), &WEEKEND),
        vec![
            row("alice", "ml.p4d.24xlarge", 54.0, 1, 1, 0),
            row("alice", "(default)", 9.5, 1, 0, 0),
            row("bob", "ml.g5.2xlarge", 6.25, 1, 0, 0),
            row("(none)", "ml.m5.2xlarge", 4.0, 1, 1, 0),
            row("(none)", "ml.t3.medium", 4.0, 1, 0, 0),
            row("bob", "ml.m5.xlarge", 4.0, 1, 0, 1),
            row("carol", "ml.p3.8xlarge", 3.75, 1, 0, 0),
        ]
    );
}

#[test]
fn without_a_window_usage_runs_to_the_newest_event() {
    let idx = indexed();
    let (code, _, err) = run(idx.path(), &["usage", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(err.contains("usage up to 2024-06-09T20:00:00Z"), "{err}");
    let r = rows(idx.path(), &[]);
    // alice's p4d: Fri 18:00 to Sun 20:00 = 50 h; the JupyterServer from Thu 09:00 = 24.5 h; the notebook
    // instance started at the newest event itself: 0 h, running.
    assert_eq!(r[0], row("alice", "ml.p4d.24xlarge", 50.0, 1, 1, 0));
    assert_eq!(r[1], row("alice", "(default)", 24.5, 1, 0, 0));
    assert!(
        r.contains(&row("(none)", "ml.m5.2xlarge", 0.0, 1, 1, 0)),
        "{r:?}"
    );
}

#[test]
fn grouped_by_space_actor_and_domain() {
    let idx = indexed();
    let mut a = vec!["--by", "space"];
    a.extend(WEEKEND);
    let r = rows(idx.path(), &a);
    assert!(
        r.contains(&row("team-fraud", "ml.g5.2xlarge", 6.25, 1, 0, 0)),
        "{r:?}"
    );
    assert!(r.iter().filter(|x| x.0 == "team-fraud").count() == 1);
    let mut a = vec!["--by", "actor"];
    a.extend(WEEKEND);
    let r = rows(idx.path(), &a);
    assert!(r.contains(&row(
        "arn:aws:sts::111122223333:assumed-role/DataScientist/carol",
        "ml.t3.medium",
        4.0,
        1,
        0,
        0
    )));
    let mut a = vec!["--by", "domain"];
    a.extend(WEEKEND);
    let r = rows(idx.path(), &a);
    let total: f64 = r
        .iter()
        .filter(|x| x.0 == "d-usage1example")
        .map(|x| x.2)
        .sum();
    assert_eq!(total, 54.0 + 9.5 + 6.25, "the apps name their domain");
    let (code, _, err) = run(idx.path(), &["usage", "--by", "nope"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn runs_list_each_interval_with_how_it_ended() {
    let idx = indexed();
    let mut args = vec!["usage", "--runs", "--format", "json"];
    args.extend(WEEKEND);
    let (code, out, _) = run(idx.path(), &args);
    assert_eq!(code, 0);
    let runs: Vec<Value> = json_lines(&out);
    assert_eq!(runs.len(), 7);
    let bob_job = runs.iter().find(|r| r["name"] == "bob-xgb").unwrap();
    assert_eq!(bob_job["kind"], "trainingJob");
    assert_eq!(bob_job["endBasis"], "maxRuntime");
    assert_eq!(bob_job["end"], "2024-06-08T14:00:00Z");
    assert_eq!(bob_job["instanceCount"], 2);
    let carol = runs.iter().find(|r| r["name"] == "carol-big").unwrap();
    assert_eq!(carol["endBasis"], "stopped");
    assert_eq!(carol["endEventID"], "a5a9e000-0000-4000-8000-000000000009");
    let p4d = &runs[0];
    assert_eq!(p4d["instanceType"], "ml.p4d.24xlarge");
    assert_eq!(p4d["endBasis"], "running");
    assert_eq!(p4d["startEventID"], "a5a9e000-0000-4000-8000-000000000003");
    // CSV and the table say the same.
    let mut args = vec!["usage", "--runs", "--format", "csv"];
    args.extend(WEEKEND);
    let csv = ok(idx.path(), &args);
    assert!(csv.starts_with("kind,name,instanceType,instanceCount,userProfile,spaceName,actor,start,end,endBasis,hours,startEventID\n"));
    assert!(csv.contains("app,datascience-1-0-ml-p4d-24xlarge-7b2d,ml.p4d.24xlarge,1,alice,,alice,2024-06-07T18:00:00Z,2024-06-10T00:00:00Z,running,54.00,"), "{csv}");
    let mut args = vec!["usage"];
    args.extend(WEEKEND);
    let table = ok(idx.path(), &args);
    assert!(
        table.contains("Still running at 2024-06-10T00:00:00Z"),
        "{table}"
    );
    let largest = table.split("Largest instances").nth(1).unwrap();
    let first = largest.lines().nth(3).unwrap();
    assert!(first.contains("ml.p4d.24xlarge"), "{largest}");
}

#[test]
fn an_index_without_usage_events_answers_nothing_and_exit_0() {
    let idx = tempfile::tempdir().unwrap();
    let (code, _, err) = ingest_json(
        idx.path(),
        &["cloudtrail", fixtures().join("conflict").to_str().unwrap()],
    );
    assert!(code == 0 || code == 3, "{err}");
    let (code, out, _) = run(idx.path(), &["usage", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(out.is_empty(), "{out}");
}
