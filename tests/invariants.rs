//! ARCHITECTURE.md's invariants that a reading of the source can check: each fails when the code breaks
//! it. (The others have behavioural tests: exactly once, ledger in the commit, sanitising, bounds.)

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// Files under `root` (relative to the crate) whose text matches `pat`, except under `allowed`.
fn offenders(root: &str, pat: &dyn Fn(&str) -> bool, allowed: &[&str]) -> Vec<String> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    rust_files(&base.join(root))
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if allowed.iter().any(|a| rel.starts_with(a)) {
                return None;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            text.lines()
                .map(str::trim_start)
                .filter(|l| !l.starts_with("//"))
                .any(pat)
                .then_some(rel)
        })
        .collect()
}

/// Fail, naming the files, when any file under `root` (but `allowed`) has a line matching `pat`.
fn assert_none(root: &str, pat: &dyn Fn(&str) -> bool, allowed: &[&str], what: &str) {
    let bad = offenders(root, pat, allowed);
    assert!(bad.is_empty(), "{what}: {bad:?}");
}

#[test]
fn no_aws_call_outside_source() {
    assert_none(
        "src",
        &|l| l.contains("aws_sdk_") || l.contains("aws_config::") || l.contains("aws_smithy"),
        &["src/source/"],
        "the AWS SDK is used outside src/source/",
    );
}

#[test]
fn only_index_knows_tantivy() {
    let uses = |l: &str| l.contains("tantivy::") || l.starts_with("use tantivy");
    assert_none(
        "src",
        &uses,
        &["src/index/"],
        "tantivy is used outside src/index/",
    );
    assert_none(
        "examples",
        &uses,
        &["examples/space_usage.rs"],
        "tantivy in examples other than space_usage",
    );
}

#[test]
fn only_render_and_messages_write_to_the_terminal() {
    let prints = |l: &str| {
        ["println!(", "eprintln!(", "print!(", "eprint!("]
            .iter()
            .any(|m| l.contains(m))
    };
    assert_none(
        "src",
        &prints,
        &["src/render/", "src/messages.rs"],
        "terminal output outside render/ and messages",
    );
}

#[test]
fn decode_and_normalise_do_no_io() {
    let io = |l: &str| {
        l.contains("std::fs")
            || l.contains("std::net")
            || l.contains("tokio::")
            || l.contains("File::")
    };
    assert_none("src/decode", &io, &[], "IO in decode");
    assert_none("src/normalise", &io, &[], "IO in normalise");
}

/// The helper itself must find what it looks for, or every test above would pass vacuously.
#[test]
fn the_scan_finds_what_it_looks_for() {
    assert!(!offenders("src/index", &|l| l.contains("tantivy::"), &[]).is_empty());
    assert!(!offenders("src/render", &|l| l.contains("eprintln!("), &[]).is_empty());
    assert!(!offenders("src/source", &|l| l.contains("aws_sdk_"), &[]).is_empty());
}

/// Text of every file under the crate's `dirs` (tests, benches, examples, main.rs).
fn text_of(paths: &[&str]) -> String {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = String::new();
    for p in paths {
        let p = base.join(p);
        let files = if p.is_dir() { rust_files(&p) } else { vec![p] };
        for f in files {
            all.push_str(&std::fs::read_to_string(f).unwrap());
        }
    }
    all
}

#[test]
fn public_items_are_what_tests_and_benches_use() {
    // `pub(crate)` is the default: a `pub fn` or `pub const` must be called from outside the crate.
    let users = text_of(&["tests", "benches", "examples", "src/main.rs"]);
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = Vec::new();
    let mut public = 0;
    for p in rust_files(&base.join("src")) {
        if p.ends_with("lib.rs") {
            continue;
        }
        for l in std::fs::read_to_string(&p).unwrap().lines() {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("pub async fn ")
                .or_else(|| l.strip_prefix("pub fn "))
                .or_else(|| l.strip_prefix("pub const "));
            let Some(rest) = rest else { continue };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            public += 1;
            if !users.contains(&name) {
                bad.push(format!("{}: {name}", p.display()));
            }
        }
    }
    assert!(
        public > 5,
        "found {public} public items: the scan is broken"
    );
    assert!(
        bad.is_empty(),
        "public but used by no test, bench or example (make them pub(crate)): {bad:?}"
    );
}

#[test]
fn settings_are_checked_in_cli_config_only() {
    // Flags and the job file are resolved by one function; no other CLI file parses a setting.
    let parses = |l: &str| l.contains("parse_time(") || l.contains("S3Url::parse(");
    assert_none(
        "src/cli",
        &parses,
        &["src/cli/config.rs"],
        "settings parsed outside src/cli/config.rs",
    );
}

/// The stages after source, decode, normalise, query and time, in data-flow order: each of those imports
/// none of them, and index none after itself.
const LATER_STAGES: [&str; 6] = [
    "crate::index",
    "crate::ingest",
    "crate::lake",
    "crate::questions",
    "crate::render",
    "crate::cli",
];

#[test]
fn no_stage_imports_one_downstream_of_it() {
    let imports_any =
        |mods: &'static [&'static str]| move |l: &str| mods.iter().any(|m| l.contains(m));
    for stage in [
        "src/source",
        "src/decode",
        "src/normalise",
        "src/query",
        "src/time.rs",
    ] {
        let what = format!("{stage} imports a later stage");
        assert_none(stage, &imports_any(&LATER_STAGES), &[], &what);
    }
    assert_none(
        "src/index",
        &imports_any(&LATER_STAGES[1..]),
        &[],
        "index imports a later stage",
    );
}
