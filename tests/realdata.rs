//! Public CloudTrail samples with odd real-world shapes (`../shared/realdata`, when present): every event
//! in them must ingest without a failure. Skips (with a note) where the folder is absent, as in a user's
//! clone.

mod common;

use std::path::PathBuf;

use common::*;

fn realdata() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata/cloudtrail");
    p.is_dir().then_some(p)
}

/// Documentation examples come wrapped (`{source, raw, parsed}`); unwrap the events (those with an
/// eventID and an eventTime) into NDJSON.
fn unwrap_doc_examples(src: &std::path::Path, out: &std::path::Path) -> usize {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    let mut lines = Vec::new();
    for block in v.as_array().unwrap() {
        let Some(p) = block.get("parsed") else {
            continue;
        };
        let candidates: Vec<&serde_json::Value> = match p.get("Records").and_then(|r| r.as_array())
        {
            Some(rs) => rs.iter().collect(),
            None => vec![p],
        };
        for r in candidates {
            if r.get("eventID").and_then(|x| x.as_str()).is_some()
                && r.get("eventTime").and_then(|x| x.as_str()).is_some()
            {
                lines.push(r.to_string());
            }
        }
    }
    std::fs::write(out, lines.join("\n")).unwrap();
    lines.len()
}

#[test]
fn every_public_sample_event_ingests_without_failure() {
    let Some(rd) = realdata() else {
        eprintln!("note: ../shared/realdata is absent; skipped");
        return;
    };
    let idx = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // Files in accepted forms as they are.
    for sub in ["stratus-red-team", "otel-contrib", "trailscraper"] {
        copy_tree(&rd.join(sub), &work.path().join(sub));
    }
    // trailscraper ships the same object gzip'd and plain: both count, the events once.
    let mut wrapped = 0;
    for (i, f) in [
        "aws-doc-examples/cloudtrail-userguide-doc-examples.json",
        "aws-doc-examples/iam-sts-cloudtrail-doc-examples.json",
        "sagemaker-doc-examples.json",
    ]
    .iter()
    .enumerate()
    {
        wrapped += unwrap_doc_examples(&rd.join(f), &work.path().join(format!("doc-{i}.json")));
    }
    assert!(wrapped > 10, "doc examples unwrapped: {wrapped}");
    let (code, s, err) = ingest_json(idx.path(), &["cloudtrail", work.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["objectsFailed"], 0, "{err}");
    assert_eq!(s["recordsFailed"], 0, "{err}");
    assert_eq!(
        s["objectsSkipped"], 1,
        "the digest body is skipped: {s} {err}"
    );
    let added = s["eventsAdded"].as_u64().unwrap();
    assert!(added >= 310 + 7 + wrapped as u64 / 2, "{s}");
    assert_eq!(count(idx.path(), "*"), added);
    // Shapes worth a look: an Insight record has no userIdentity; sourceIPAddress can be a service name.
    assert!(count(idx.path(), "eventType:AwsCloudTrailInsight") >= 1);
    assert_eq!(
        count(
            idx.path(),
            "eventType:AwsCloudTrailInsight AND userIdentity.type:*"
        ),
        0
    );
    assert!(
        count(idx.path(), "sourceIPAddress:\"AWS Internal\"")
            + count(idx.path(), "sourceIPAddress:*.amazonaws.com")
            > 0
    );
    // sourceIdentity from the IAM guide's role-chaining examples.
    assert!(count(idx.path(), "sourceIdentity:*") > 0);
}
