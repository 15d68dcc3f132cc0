//! Helpers shared by the integration tests: run the binary against a temp index, read fixture records.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod moto;

/// `bytes` gzip-compressed, as trails and log exports deliver them.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    g.write_all(bytes).unwrap();
    g.finish().unwrap()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The binary, with its index in `index` and no environment leaking in from the developer's shell.
pub fn st(index: &Path) -> Command {
    let mut c = Command::cargo_bin("sagetrail").unwrap();
    c.env("SAGETRAIL_INDEX", index)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    c
}

/// Run and return (exit code, stdout, stderr).
pub fn run(index: &Path, args: &[&str]) -> (i32, String, String) {
    let out = st(index).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run, expect exit 0, return stdout.
pub fn ok(index: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(index, args);
    assert_eq!(code, 0, "sagetrail {args:?} failed: {err}");
    out
}

/// `--summary json` of an ingest, parsed.
pub fn ingest_json(index: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut a = vec!["ingest"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--summary", "json"]);
    let (code, out, err) = run(index, &a);
    let v: serde_json::Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {out:?} / {err}"));
    (code, v, err)
}

pub fn count(index: &Path, query: &str) -> u64 {
    ok(index, &["search", query, "--count"])
        .trim()
        .parse()
        .unwrap()
}

/// Every raw record line of every fixture trail object (the byte-exact reference).
pub fn trail_records(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let p = e.path();
        let name = p.to_string_lossy();
        if !name.ends_with(".json.gz") || !name.contains("/CloudTrail/") {
            continue;
        }
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        #[derive(serde::Deserialize)]
        struct Trail<'a> {
            #[serde(borrow, rename = "Records")]
            records: Vec<&'a serde_json::value::RawValue>,
        }
        let t: Trail = serde_json::from_str(&s).unwrap();
        // The exact bytes of each record as the trail delivered it.
        out.extend(t.records.iter().map(|r| r.get().to_string()));
    }
    out
}

/// Lines of stdout, parsed as JSON.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Copy a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dst = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}
