//! Sigma rules (SigmaHQ's open detection format) for `logsource: product aws, service cloudtrail`, run
//! against the events in the index beside the built-in rule pack.
//!
//! Owns loading (YAML through `serde_yaml_ng`, never by hand), compiling (`matcher`, `condition`) and the
//! scan. Every rule file given is either compiled or reported as not run with its reason; nothing is
//! dropped silently. Rules are evaluated on each record's JSON, so Sigma's semantics (case-insensitive
//! whole values, wildcards, objects as text) hold exactly, whatever the index's own analysis of a field.

mod condition;
mod matcher;

use crate::catalog::names;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value as Json;

use super::audit::{Finding, RuleHead, RuleLabel};
use super::Scope;
use crate::index::Reader;
use crate::query::Node;
use crate::Error;

/// Largest rule file read: a Sigma rule is a few kilobytes; anything far larger is not a rule and is
/// refused before it is parsed, so a stray file cannot take the memory.
const MAX_RULE_FILE_BYTES: u64 = 1 << 20;

/// A compiled Sigma rule.
#[derive(Debug, Clone)]
pub(crate) struct SigmaRule {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub file: String,
    names: Vec<String>,
    searches: Vec<matcher::Search>,
    condition: condition::Cond,
}

impl SigmaRule {
    pub(crate) fn head(&self) -> RuleHead {
        let mut origin = format!("sigma: {}", self.file);
        if let Some(a) = &self.author {
            origin.push_str(&format!(" (author: {a})"));
        }
        if !self.tags.is_empty() {
            origin.push_str(&format!(" tags: {}", self.tags.join(" ")));
        }
        RuleHead {
            id: self.id.clone(),
            level: self.level.clone(),
            title: self.title.clone(),
            origin,
        }
    }

    /// The searches that match `rec`, if the condition holds.
    fn matches(&self, rec: &Json) -> Option<Vec<&str>> {
        let hit: Vec<bool> = self.searches.iter().map(|s| s.holds(rec)).collect();
        self.condition.eval(&hit).then(|| {
            self.names
                .iter()
                .zip(&hit)
                .filter(|(_, h)| **h)
                .map(|(n, _)| n.as_str())
                .collect()
        })
    }
}

/// Why a rule file (or one document of it) did not become a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotRunKind {
    /// A valid rule for another log source: not a failure.
    OtherLogSource,
    /// A form this engine does not run (a modifier, an aggregation, a correlation).
    Unsupported,
    /// Not readable, not YAML, or not a Sigma rule.
    Invalid,
}

/// A rule not run, with the reason.
#[derive(Debug, Clone)]
pub(crate) struct NotRun {
    /// The rule's id when it has one, else its file.
    pub rule: String,
    pub file: String,
    pub kind: NotRunKind,
    pub reason: String,
}

/// Every rule file given, compiled or not run.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub rules: Vec<SigmaRule>,
    pub not_run: Vec<NotRun>,
}

/// The rule files under `paths`: files as given, folders walked for `*.yml` and `*.yaml`, sorted.
fn rule_files(paths: &[PathBuf], out: &mut Loaded) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(|e| match e {
                    Ok(e) => Some(e),
                    Err(err) => {
                        out.not_run.push(NotRun {
                            rule: p.display().to_string(),
                            file: p.display().to_string(),
                            kind: NotRunKind::Invalid,
                            reason: format!("cannot walk: {err}"),
                        });
                        None
                    }
                })
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|f| matches!(f.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
}

/// The parts of a Sigma rule this engine reads; other keys (description, references, falsepositives...)
/// are allowed and ignored, as the specification allows custom fields.
#[derive(Debug, Deserialize)]
struct Wire {
    title: Option<String>,
    id: Option<String>,
    author: Option<String>,
    level: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    logsource: Option<WireLogSource>,
    detection: Option<serde_json::Map<String, Json>>,
    #[serde(rename = "type")]
    kind: Option<String>,
    correlation: Option<Json>,
    action: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct WireLogSource {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
}

/// Compile one YAML document of `file`.
fn compile(doc: Json, file: &str) -> Result<SigmaRule, NotRun> {
    let fallback = file.to_string();
    let not_run = |rule: &str, kind, reason: String| NotRun {
        rule: rule.to_string(),
        file: file.to_string(),
        kind,
        reason,
    };
    let w: Wire = serde_json::from_value(doc).map_err(|e| {
        not_run(
            &fallback,
            NotRunKind::Invalid,
            format!("not a Sigma rule: {e}"),
        )
    })?;
    let name = w.id.clone().unwrap_or(fallback);
    if w.action.is_some() {
        return Err(not_run(
            &name,
            NotRunKind::Unsupported,
            "rule collections (`action:`) are not supported; give each rule its own document"
                .into(),
        ));
    }
    if w.correlation.is_some() || w.kind.as_deref() == Some("correlation") {
        return Err(not_run(
            &name,
            NotRunKind::Unsupported,
            "correlation rules are not supported".into(),
        ));
    }
    let ls = w.logsource.unwrap_or_default();
    let is =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(want));
    if !(is(&ls.product, "aws") && is(&ls.service, "cloudtrail")) {
        return Err(not_run(
            &name,
            NotRunKind::OtherLogSource,
            format!(
                "logsource is product {:?} service {:?} category {:?}, not aws/cloudtrail",
                ls.product.unwrap_or_default(),
                ls.service.unwrap_or_default(),
                ls.category.unwrap_or_default()
            ),
        ));
    }
    let Some(id) = w.id.filter(|s| !s.trim().is_empty()) else {
        return Err(not_run(
            &name,
            NotRunKind::Invalid,
            "the rule has no id".into(),
        ));
    };
    let Some(title) = w.title else {
        return Err(not_run(
            &id,
            NotRunKind::Invalid,
            "the rule has no title".into(),
        ));
    };
    let Some(mut detection) = w.detection else {
        return Err(not_run(
            &id,
            NotRunKind::Invalid,
            "the rule has no detection".into(),
        ));
    };
    if detection.remove("timeframe").is_some() {
        return Err(not_run(
            &id,
            NotRunKind::Unsupported,
            "`timeframe` (counting over time) is not supported".into(),
        ));
    }
    let conds: Vec<String> = match detection.remove("condition") {
        Some(Json::String(s)) => vec![s],
        Some(Json::Array(a)) => a
            .into_iter()
            .map(|c| match c {
                Json::String(s) => Ok(s),
                _ => Err(not_run(
                    &id,
                    NotRunKind::Invalid,
                    "a condition is not text".into(),
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(not_run(
                &id,
                NotRunKind::Invalid,
                "the detection has no condition".into(),
            ))
        }
    };
    let mut names = Vec::new();
    let mut searches = Vec::new();
    // By name, whatever order the JSON map keeps (serde_json's `preserve_order` may be on in some builds):
    // the `matched` list of a finding is the same on every build.
    let mut detection: Vec<(String, Json)> = detection.into_iter().collect();
    detection.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in detection {
        let s = matcher::search(&v)
            .map_err(|e| not_run(&id, NotRunKind::Unsupported, format!("search {k}: {e}")))?;
        names.push(k);
        searches.push(s);
    }
    let mut parsed = Vec::new();
    for c in &conds {
        parsed.push(
            condition::parse(c, &names).map_err(|e| not_run(&id, NotRunKind::Unsupported, e))?,
        );
    }
    let condition = if parsed.len() == 1 {
        parsed.remove(0)
    } else {
        condition::Cond::Or(parsed)
    };
    Ok(SigmaRule {
        id,
        title,
        level: w.level.unwrap_or_else(|| "medium".into()),
        tags: w.tags,
        author: w.author,
        file: file.to_string(),
        names,
        searches,
        condition,
    })
}

fn read_documents(path: &Path) -> Result<Vec<Json>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_RULE_FILE_BYTES {
        return Err(format!(
            "{} bytes, more than a rule file's {MAX_RULE_FILE_BYTES}",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut docs = Vec::new();
    for d in serde_yaml_ng::Deserializer::from_str(&text) {
        let v = Json::deserialize(d).map_err(|e| format!("not YAML a rule can be: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    if docs.is_empty() {
        return Err("an empty file".into());
    }
    Ok(docs)
}

/// Load and compile every rule under `paths`; ids must be unique among them and the built-in rules.
pub(crate) fn load(paths: &[PathBuf], builtin_ids: &[String]) -> Loaded {
    let mut out = Loaded::default();
    for path in rule_files(paths, &mut out) {
        let file = path.display().to_string();
        let docs = match read_documents(&path) {
            Ok(d) => d,
            Err(reason) => {
                out.not_run.push(NotRun {
                    rule: file.clone(),
                    file,
                    kind: NotRunKind::Invalid,
                    reason,
                });
                continue;
            }
        };
        for doc in docs {
            match compile(doc, &file) {
                Ok(r) => {
                    if builtin_ids.contains(&r.id) || out.rules.iter().any(|x| x.id == r.id) {
                        out.not_run.push(NotRun {
                            rule: r.id.clone(),
                            file: file.clone(),
                            kind: NotRunKind::Invalid,
                            reason: format!("id {} is already a rule's", r.id),
                        });
                    } else {
                        out.rules.push(r);
                    }
                }
                Err(n) => out.not_run.push(n),
            }
        }
    }
    out
}

/// Run the rules over the scope in one pass over its events; findings by rule (load order), then time.
pub(crate) fn run(r: &Reader, rules: &[SigmaRule], scope: &Scope) -> Result<Vec<Finding>, Error> {
    let mut per_rule: Vec<Vec<Finding>> = vec![Vec::new(); rules.len()];
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    // What every finding of a rule shares, allocated once per rule.
    let labels: Vec<Arc<RuleLabel>> = rules
        .iter()
        .map(|rule| {
            Arc::new(RuleLabel {
                rule: rule.id.clone(),
                level: rule.level.clone(),
                title: rule.title.clone(),
                tags: rule.tags.clone(),
                author: rule.author.clone(),
            })
        })
        .collect();
    let req = scope.request(Node::All, true);
    r.for_each_chunk(&req, &[names::ACTOR], |hits| {
        let found: Vec<(usize, Finding)> = hits
            .into_par_iter()
            .flat_map_iter(|h| {
                let rec: Json = serde_json::from_slice(&h.raw).unwrap_or(Json::Null);
                let mut out = Vec::new();
                for (i, rule) in rules.iter().enumerate() {
                    let Some(matched) = rule.matches(&rec) else {
                        continue;
                    };
                    let s = |k: &str| rec.get(k).and_then(Json::as_str).unwrap_or("");
                    out.push((
                        i,
                        Finding::new(
                            &labels[i],
                            &h.event_id,
                            h.time_ms,
                            h.get(names::ACTOR),
                            &format!(
                                "{} {} from {}: matched {}",
                                s("eventSource"),
                                s("eventName"),
                                s("sourceIPAddress"),
                                matched.join(", ")
                            ),
                        ),
                    ));
                }
                out
            })
            .collect();
        for (i, f) in found {
            per_rule[i].push(f);
        }
        Ok(())
    })?;
    Ok(per_rule.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(yaml: &str) -> Result<SigmaRule, NotRun> {
        let doc: Json = serde_yaml_ng::from_str(yaml).unwrap();
        compile(doc, "t.yml")
    }

    const HEAD: &str = "title: T\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\ntags: [attack.t1562]\nlogsource:\n  product: aws\n  service: cloudtrail\n";

    #[test]
    fn a_rule_compiles_and_matches() {
        let r = rule(&format!(
            "{HEAD}detection:\n  selection:\n    eventSource: cloudtrail.amazonaws.com\n    eventName: [StopLogging, DeleteTrail]\n  filter:\n    errorCode|exists: true\n  condition: selection and not filter\n"
        ))
        .unwrap();
        let hit = json!({"eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail"});
        assert_eq!(r.matches(&hit), Some(vec!["selection"]));
        let failed = json!({"eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","errorCode":"AccessDenied"});
        assert_eq!(r.matches(&failed), None);
        assert_eq!(r.head().origin, "sigma: t.yml tags: attack.t1562");
    }

    #[test]
    fn what_cannot_run_says_why() {
        let other = rule("title: T\nid: x\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    a: b\n  condition: s\n").unwrap_err();
        assert_eq!(other.kind, NotRunKind::OtherLogSource);
        assert!(other.reason.contains("windows"), "{}", other.reason);
        let agg = rule(&format!(
            "{HEAD}detection:\n  s:\n    a: b\n  condition: s | count() > 3\n"
        ))
        .unwrap_err();
        assert_eq!(agg.kind, NotRunKind::Unsupported);
        assert!(agg.reason.contains("aggregation"));
        let tf = rule(&format!(
            "{HEAD}detection:\n  s:\n    a: b\n  timeframe: 5m\n  condition: s\n"
        ))
        .unwrap_err();
        assert!(tf.reason.contains("timeframe"));
        let m = rule(&format!(
            "{HEAD}detection:\n  s:\n    a|base64: b\n  condition: s\n"
        ))
        .unwrap_err();
        assert!(
            m.reason.contains("search s") && m.reason.contains("base64"),
            "{}",
            m.reason
        );
        let noid = rule("title: T\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {a: b}, condition: s}\n").unwrap_err();
        assert_eq!(noid.kind, NotRunKind::Invalid);
        assert_eq!(noid.rule, "t.yml");
        let nocond = rule(&format!("{HEAD}detection:\n  s:\n    a: b\n")).unwrap_err();
        assert!(nocond.reason.contains("no condition"));
        let corr = rule("title: T\nid: c\ncorrelation: {type: event_count}\n").unwrap_err();
        assert_eq!(corr.kind, NotRunKind::Unsupported);
    }

    #[test]
    fn a_condition_list_is_or() {
        let r = rule(&format!(
            "{HEAD}detection:\n  a:\n    eventName: A\n  b:\n    eventName: B\n  condition:\n    - a\n    - b\n"
        ))
        .unwrap();
        assert!(r.matches(&json!({"eventName":"b"})).is_some());
        assert!(r.matches(&json!({"eventName":"c"})).is_none());
    }

    #[test]
    fn files_that_are_not_rules_are_reported_and_duplicates_refused() {
        let d = tempfile::tempdir().unwrap();
        let good = format!("{HEAD}detection:\n  s:\n    eventName: A\n  condition: s\n");
        std::fs::write(d.path().join("a.yml"), &good).unwrap();
        std::fs::write(d.path().join("b.yml"), &good).unwrap();
        std::fs::write(d.path().join("c.yaml"), "key: [unclosed\n").unwrap();
        std::fs::write(d.path().join("d.yml"), "").unwrap();
        std::fs::write(d.path().join("e.txt"), "not a rule file name").unwrap();
        // A billion laughs: aliases that expand exponentially are refused by the YAML parser.
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!(
                "l{i}: &l{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        std::fs::write(d.path().join("f.yml"), bomb).unwrap();
        let l = load(&[d.path().to_path_buf()], &["builtin".into()]);
        assert_eq!(l.rules.len(), 1);
        let reasons: Vec<String> = l
            .not_run
            .iter()
            .map(|n| format!("{} {}", n.file.rsplit('/').next().unwrap(), n.reason))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].starts_with("b.yml id 11111111"), "{reasons:?}");
        assert!(reasons[1].starts_with("c.yaml not YAML"), "{reasons:?}");
        assert!(reasons[2].starts_with("d.yml an empty file"), "{reasons:?}");
        assert!(reasons[3].starts_with("f.yml"), "{reasons:?}");
    }
}
