//! The guardrail audit: rules kept as data in `schema/rules/` (one TOML file each), checked against the
//! events in the index. A rule is a query plus, where a query cannot say it, a named check on each hit.

use std::net::IpAddr;

use ipnet::IpNet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::Scope;
use crate::index::read::SearchRequest;
use crate::index::Reader;
use crate::query::time::format_ms;
use crate::query::{self, Node};
use crate::Error;

/// The rule files, compiled in so a binary always audits with the rules it was built with; a test checks
/// this list against the folder.
pub const RULE_FILES: [(&str, &str); 19] = [
    (
        "presigned-url-outside-network",
        include_str!("../../schema/rules/presigned-url-outside-network.toml"),
    ),
    (
        "presigned-url-cross-profile",
        include_str!("../../schema/rules/presigned-url-cross-profile.toml"),
    ),
    (
        "app-instance-type-not-allowed",
        include_str!("../../schema/rules/app-instance-type-not-allowed.toml"),
    ),
    (
        "app-image-not-allowed",
        include_str!("../../schema/rules/app-image-not-allowed.toml"),
    ),
    (
        "domain-not-vpc-only",
        include_str!("../../schema/rules/domain-not-vpc-only.toml"),
    ),
    (
        "user-profile-missing-tag",
        include_str!("../../schema/rules/user-profile-missing-tag.toml"),
    ),
    (
        "job-missing-tag",
        include_str!("../../schema/rules/job-missing-tag.toml"),
    ),
    (
        "training-volume-unencrypted",
        include_str!("../../schema/rules/training-volume-unencrypted.toml"),
    ),
    (
        "identity-attribution-disabled",
        include_str!("../../schema/rules/identity-attribution-disabled.toml"),
    ),
    (
        "root-activity",
        include_str!("../../schema/rules/root-activity.toml"),
    ),
    (
        "endpoint-config-unencrypted",
        include_str!("../../schema/rules/endpoint-config-unencrypted.toml"),
    ),
    (
        "job-without-network-isolation",
        include_str!("../../schema/rules/job-without-network-isolation.toml"),
    ),
    (
        "job-without-vpc",
        include_str!("../../schema/rules/job-without-vpc.toml"),
    ),
    (
        "app-image-config-changed",
        include_str!("../../schema/rules/app-image-config-changed.toml"),
    ),
    (
        "presigned-url-long-session",
        include_str!("../../schema/rules/presigned-url-long-session.toml"),
    ),
    (
        "monitoring-schedule-unencrypted",
        include_str!("../../schema/rules/monitoring-schedule-unencrypted.toml"),
    ),
    (
        "domain-storage-unencrypted",
        include_str!("../../schema/rules/domain-storage-unencrypted.toml"),
    ),
    (
        "sharing-bucket-unencrypted",
        include_str!("../../schema/rules/sharing-bucket-unencrypted.toml"),
    ),
    (
        "app-image-runs-as-root",
        include_str!("../../schema/rules/app-image-runs-as-root.toml"),
    ),
];

/// The default required tag: the whitepaper's `studiouserid`.
pub const DEFAULT_REQUIRED_TAG: &str = "studiouserid";
/// The default longest Studio session: the API's own default of 12 hours.
pub const DEFAULT_MAX_SESSION_SECONDS: f64 = 43_200.0;

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub section: String,
    pub severity: String,
    pub query: String,
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    /// The rule is skipped (and says so) unless this parameter is set.
    #[serde(default)]
    pub requires: Option<String>,
    pub params: Vec<String>,
    pub detail: String,
}

/// Every rule, in file order.
pub fn rules() -> Result<Vec<Rule>, Error> {
    RULE_FILES
        .iter()
        .map(|(name, text)| {
            let r: Rule = toml::from_str(text)
                .map_err(|e| Error::Usage(format!("rule {name}: {}", e.message())))?;
            query::parse(&r.query).map_err(|e| Error::Usage(format!("rule {name}: {e}")))?;
            Ok(r)
        })
        .collect()
}

/// The parameters of the rule pack (flags or the `[audit]` table of a config file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Params {
    #[serde(default)]
    pub allow_cidr: Vec<String>,
    #[serde(default)]
    pub allow_vpce: Vec<String>,
    #[serde(default)]
    pub allow_instance_type: Vec<String>,
    #[serde(default)]
    pub allow_image: Vec<String>,
    #[serde(default)]
    pub admin_role: Vec<String>,
    pub required_tag: Option<String>,
    pub max_session_seconds: Option<f64>,
}

impl Params {
    fn is_set(&self, name: &str) -> bool {
        match name {
            "allow-cidr" => !self.allow_cidr.is_empty(),
            "allow-vpce" => !self.allow_vpce.is_empty(),
            "allow-instance-type" => !self.allow_instance_type.is_empty(),
            "allow-image" => !self.allow_image.is_empty(),
            "admin-role" => !self.admin_role.is_empty(),
            _ => true,
        }
    }

    fn list(&self, name: &str) -> &[String] {
        match name {
            "allow-instance-type" => &self.allow_instance_type,
            "allow-image" => &self.allow_image,
            "allow-vpce" => &self.allow_vpce,
            "admin-role" => &self.admin_role,
            _ => &[],
        }
    }

    fn required_tag(&self) -> &str {
        self.required_tag.as_deref().unwrap_or(DEFAULT_REQUIRED_TAG)
    }

    fn cidrs(&self) -> Result<Vec<IpNet>, Error> {
        self.allow_cidr
            .iter()
            .map(|c| {
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| Error::Usage(format!("--allow-cidr {c:?} is not a CIDR")))
            })
            .collect()
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub time: String,
    pub actor: Option<String>,
    pub detail: String,
}

/// What the audit did.
#[derive(Debug, Default)]
pub struct AuditOutcome {
    pub findings: Vec<Finding>,
    /// Rules not run, with why (a parameter they need is not set).
    pub skipped: Vec<(String, String)>,
}

fn at<'a>(v: &'a Json, path: &str) -> Option<&'a Json> {
    let mut cur = v;
    for p in path.split('.') {
        cur = match cur {
            Json::Array(a) => a.iter().find_map(|x| x.get(p))?,
            other => other.get(p)?,
        };
    }
    Some(cur)
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The caller's own name: sourceIdentity, else the role session name, without any `@domain`, lowercased.
fn caller_name(rec: &Json) -> Option<String> {
    let name = at(rec, "userIdentity.sessionContext.sourceIdentity")
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| {
            at(rec, "userIdentity.arn")
                .and_then(Json::as_str)
                .filter(|a| a.contains(":assumed-role/"))
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_string)
        })?;
    Some(name.split('@').next().unwrap_or("").to_lowercase())
}

fn tag_keys(rec: &Json) -> Vec<String> {
    at(rec, "requestParameters.tags")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("key").or_else(|| t.get("Key")).and_then(Json::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Fill `{path}`, `{path|default}`, `{caller}` and parameter names in a rule's detail template.
fn render_detail(tmpl: &str, rec: &Json, p: &Params) -> String {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let key = &rest[i + 1..i + j];
        let (name, default) = key.split_once('|').unwrap_or((key, ""));
        let val = match name {
            "caller" => caller_name(rec).unwrap_or_default(),
            "required-tag" => p.required_tag().to_string(),
            path => at(rec, path)
                .map(text)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default.to_string()),
        };
        out.push_str(&val);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a hit of `rule`'s query is a finding.
fn check(rule: &Rule, rec: &Json, p: &Params, cidrs: &[IpNet]) -> bool {
    match rule.check.as_deref() {
        None => true,
        Some("source-ip-outside") => {
            if let Some(vpce) = at(rec, "vpcEndpointId").and_then(Json::as_str) {
                if p.allow_vpce.iter().any(|v| v == vpce) {
                    return false;
                }
            }
            // A service name or "AWS Internal" is not an address in an allowed network.
            match at(rec, "sourceIPAddress")
                .and_then(Json::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
            {
                Some(ip) => !cidrs.iter().any(|n| n.contains(&ip)),
                None => true,
            }
        }
        Some("caller-not-profile") => {
            let role =
                at(rec, "userIdentity.sessionContext.sessionIssuer.arn").and_then(Json::as_str);
            let arn = at(rec, "userIdentity.arn").and_then(Json::as_str);
            let admin = p
                .list("admin-role")
                .iter()
                .any(|a| Some(a.as_str()) == role || Some(a.as_str()) == arn);
            if admin {
                return false;
            }
            let target = at(rec, "requestParameters.userProfileName")
                .and_then(Json::as_str)
                .map(str::to_lowercase);
            caller_name(rec) != target
        }
        Some("value-not-in") => {
            let path = rule.path.as_deref().unwrap_or("");
            let allowed = p.list(rule.param.as_deref().unwrap_or(""));
            match at(rec, path).map(text) {
                Some(v) => !allowed.contains(&v),
                None => false,
            }
        }
        Some("missing-tag") => {
            let want = p.required_tag();
            !tag_keys(rec).iter().any(|k| k == want)
        }
        Some("number-above") => {
            let max = p.max_session_seconds.unwrap_or(DEFAULT_MAX_SESSION_SECONDS);
            at(rec, rule.path.as_deref().unwrap_or(""))
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .is_some_and(|n| n > max)
        }
        Some(_) => false,
    }
}

/// Run `selected` rules (all when empty) over the scope; findings by rule (file order), then time, then id.
pub fn audit(
    r: &Reader,
    selected: &[String],
    p: &Params,
    scope: &Scope,
) -> Result<AuditOutcome, Error> {
    let all = rules()?;
    for s in selected {
        if !all.iter().any(|r| &r.id == s) {
            return Err(Error::Usage(format!(
                "no rule {s:?} (see `sagetrail audit --list`)"
            )));
        }
    }
    let cidrs = p.cidrs()?;
    let mut out = AuditOutcome::default();
    for rule in all
        .iter()
        .filter(|r| selected.is_empty() || selected.contains(&r.id))
    {
        if let Some(req) = &rule.requires {
            if !p.is_set(req) {
                out.skipped
                    .push((rule.id.clone(), format!("needs --{req}")));
                continue;
            }
        }
        let node = query::parse(&rule.query)?;
        let node = match &scope.filter {
            Some(f) => Node::And(vec![node, f.clone()]),
            None => node,
        };
        let req = SearchRequest {
            node,
            since_ms: scope.since_ms,
            until_ms: scope.until_ms,
            oldest_first: true,
        };
        // Parsing and checking each record is most of an audit: done in parallel per chunk, kept in order.
        r.for_each_chunk(&req, &["actor"], |hits| {
            let found: Vec<Finding> = hits
                .into_par_iter()
                .filter_map(|h| {
                    let rec: Json = serde_json::from_slice(&h.raw).unwrap_or(Json::Null);
                    check(rule, &rec, p, &cidrs).then(|| Finding {
                        rule: rule.id.clone(),
                        time: format_ms(h.time_ms),
                        detail: render_detail(&rule.detail, &rec, p),
                        event_id: h.event_id,
                        actor: h.values.into_iter().next().flatten(),
                    })
                })
                .collect();
            out.findings.extend(found);
            Ok(())
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_rule_file_is_compiled_in_and_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".toml")
                    .to_string()
            })
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = RULE_FILES.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
        for r in rules().unwrap() {
            assert!(
                RULE_FILES.iter().any(|(n, _)| *n == r.id),
                "file name is the id: {}",
                r.id
            );
            assert!(["high", "medium", "low"].contains(&r.severity.as_str()));
        }
    }

    #[test]
    fn caller_names() {
        let r =
            json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/Portal/Alice@Example.com"}});
        assert_eq!(caller_name(&r).as_deref(), Some("alice"));
        let r = json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/X/SageMaker","sessionContext":{"sourceIdentity":"bob"}}});
        assert_eq!(caller_name(&r).as_deref(), Some("bob"));
        assert_eq!(
            caller_name(&json!({"userIdentity":{"arn":"arn:aws:iam::1:user/u"}})),
            None
        );
    }

    #[test]
    fn detail_templates() {
        let r = json!({"eventName":"X","requestParameters":{"a":{"b":"c"},"n":3}});
        let p = Params::default();
        assert_eq!(render_detail("{eventName} {requestParameters.a.b} {requestParameters.n} {missing|dflt} {required-tag}", &r, &p), "X c 3 dflt studiouserid");
    }
}
