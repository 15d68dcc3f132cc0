//! The guardrail audit: rules kept as data in `schema/rules/` (one TOML file each), checked against the
//! events in the index. A rule is a query plus, where a query cannot say it, a named check on each hit.

use crate::catalog::names;
use std::net::IpAddr;
use std::sync::Arc;

use crate::normalise::facts::{
    at, caller_name, is_studio_session, requested_profile, tag_keys, ARN_PATH, CALLER_PATHS,
    REQUESTED_PROFILE_PATH, SOURCE_IDENTITY_PATH, TAGS_PATH,
};
use crate::normalise::tree::{Json, Paths};
use ipnet::IpNet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Scope;
use crate::index::read::{Fetch, SearchRequest, MAX_TAGGED};
use crate::index::Reader;
use crate::normalise::MAX_EXACT_VALUE;
use crate::query::{self, Node, Value};
use crate::time::format_ms;
use crate::Error;

/// The rule files, compiled in so a binary always audits with the rules it was built with; a test checks
/// this list against the folder.
pub(crate) const RULE_FILES: [(&str, &str); 27] = [
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
    (
        "attribution-gap",
        include_str!("../../schema/rules/attribution-gap.toml"),
    ),
    (
        "job-instance-type-not-allowed",
        include_str!("../../schema/rules/job-instance-type-not-allowed.toml"),
    ),
    (
        "job-volume-unencrypted",
        include_str!("../../schema/rules/job-volume-unencrypted.toml"),
    ),
    (
        "job-output-unencrypted",
        include_str!("../../schema/rules/job-output-unencrypted.toml"),
    ),
    (
        "notebook-instance-root-access",
        include_str!("../../schema/rules/notebook-instance-root-access.toml"),
    ),
    (
        "notebook-instance-internet-access",
        include_str!("../../schema/rules/notebook-instance-internet-access.toml"),
    ),
    (
        "job-inter-container-traffic-unencrypted",
        include_str!("../../schema/rules/job-inter-container-traffic-unencrypted.toml"),
    ),
    (
        "lifecycle-config-changed",
        include_str!("../../schema/rules/lifecycle-config-changed.toml"),
    ),
];

/// The default required tag: the whitepaper's `studiouserid`.
pub(crate) const DEFAULT_REQUIRED_TAG: &str = "studiouserid";
/// The default longest Studio session: the API's own default of 12 hours.
pub(crate) const DEFAULT_MAX_SESSION_SECONDS: f64 = 43_200.0;

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    pub id: String,
    pub title: String,
    pub section: String,
    pub severity: Severity,
    pub query: String,
    /// What a hit of the query must also satisfy to be a finding (none: every hit is one).
    #[serde(default)]
    pub check: Option<Check>,
    /// The record paths a check reads (`value-not-in` reads every value at each; `number-above` the first).
    #[serde(default)]
    pub paths: Vec<String>,
    /// The parameter a check compares with.
    #[serde(default)]
    pub param: Option<Param>,
    /// The rule is skipped (and says so) unless this parameter is set.
    #[serde(default)]
    pub requires: Option<Param>,
    pub params: Vec<Param>,
    pub detail: String,
}

/// How bad a finding of a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// The checks a query cannot say; a rule file naming any other fails to load, with the rule's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Check {
    /// `sourceIPAddress` outside every `--allow-cidr` and `vpcEndpointId` not an `--allow-vpce`.
    SourceIpOutside,
    /// The caller (sourceIdentity or session name) is not the user profile the request names.
    CallerNotProfile,
    /// A value at one of `paths` is not in the list parameter `param`.
    ValueNotIn,
    /// `requestParameters.tags` lacks the required tag.
    MissingTag,
    /// The number at `paths[0]` is above `--max-session-seconds`.
    NumberAbove,
    /// A Studio execution-role session (`assumed-role/<role>/SageMaker`) without sourceIdentity; findings
    /// are grouped per domain and role, one finding per group.
    StudioSessionWithoutSourceIdentity,
}

/// The rule pack's parameters, as flags name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Param {
    AllowCidr,
    AllowVpce,
    AllowInstanceType,
    AllowImage,
    AdminRole,
    RequiredTag,
    MaxSessionSeconds,
}

impl Param {
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Param::AllowCidr => "allow-cidr",
            Param::AllowVpce => "allow-vpce",
            Param::AllowInstanceType => "allow-instance-type",
            Param::AllowImage => "allow-image",
            Param::AdminRole => "admin-role",
            Param::RequiredTag => "required-tag",
            Param::MaxSessionSeconds => "max-session-seconds",
        }
    }
}

/// Every rule, in file order; a rule file with an unknown key, check or parameter, or a check without
/// what it reads, fails here with the rule's name.
pub(crate) fn rules() -> Result<Vec<Rule>, Error> {
    RULE_FILES
        .iter()
        .map(|(name, text)| {
            let bad = |m: String| Error::Usage(format!("rule {name}: {m}"));
            let r: Rule = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
            query::parse(&r.query).map_err(|e| bad(e.to_string()))?;
            match r.check {
                Some(Check::ValueNotIn) if r.paths.is_empty() || r.param.is_none() => {
                    return Err(bad("check value-not-in needs paths and param".into()))
                }
                Some(Check::NumberAbove) if r.paths.is_empty() => {
                    return Err(bad("check number-above needs paths".into()))
                }
                _ => {}
            }
            Ok(r)
        })
        .collect()
}

/// The parameters of the rule pack (flags or the `[audit]` table of a config file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Params {
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
    fn is_set(&self, p: Param) -> bool {
        match p {
            Param::AllowCidr => !self.allow_cidr.is_empty(),
            Param::AllowVpce => !self.allow_vpce.is_empty(),
            Param::AllowInstanceType => !self.allow_instance_type.is_empty(),
            Param::AllowImage => !self.allow_image.is_empty(),
            Param::AdminRole => !self.admin_role.is_empty(),
            Param::RequiredTag | Param::MaxSessionSeconds => true,
        }
    }

    fn list(&self, p: Param) -> &[String] {
        match p {
            Param::AllowInstanceType => &self.allow_instance_type,
            Param::AllowImage => &self.allow_image,
            Param::AllowVpce => &self.allow_vpce,
            Param::AdminRole => &self.admin_role,
            Param::AllowCidr | Param::RequiredTag | Param::MaxSessionSeconds => &[],
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

/// What every finding of one rule shares (one allocation per rule, not per finding).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RuleLabel {
    pub rule: String,
    /// The rule's level (a built-in rule's severity; a Sigma rule's `level`).
    pub level: String,
    pub title: String,
    /// A Sigma rule's tags (ATT&CK techniques and tactics); none for built-in rules.
    pub tags: Vec<String>,
    /// A Sigma rule's author, which its licence (DRL 1.1) asks every match to keep.
    pub author: Option<String>,
}

/// One finding, held compactly: an audit can hold hundreds of thousands at once before printing them in
/// rule order (the 5M audit pair: 500k, 535 MB of heap as one struct of nine fields each, five of them
/// strings of their own). The rule's label is shared, the eventID, actor and detail are one string, and the
/// time is kept as milliseconds and written out when printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    label: Arc<RuleLabel>,
    time_ms: i64,
    /// The eventID, the actor and the detail, one after another; `cuts` ends the first two.
    text: Box<str>,
    cuts: [u32; 2],
    has_actor: bool,
}

impl Finding {
    pub(crate) fn new(
        label: &Arc<RuleLabel>,
        event_id: &str,
        time_ms: i64,
        actor: Option<&str>,
        detail: &str,
    ) -> Finding {
        let actor_text = actor.unwrap_or("");
        let mut text = String::with_capacity(event_id.len() + actor_text.len() + detail.len());
        text.push_str(event_id);
        text.push_str(actor_text);
        text.push_str(detail);
        // Each part comes from one record, whose size the decoder bounds far below 4 GiB.
        let a = event_id.len() as u32;
        Finding {
            label: Arc::clone(label),
            time_ms,
            text: text.into_boxed_str(),
            cuts: [a, a + actor_text.len() as u32],
            has_actor: actor.is_some(),
        }
    }

    /// The same finding with another actor and detail (a grouped finding speaks for its group).
    pub(crate) fn restated(&self, actor: Option<&str>, detail: &str) -> Finding {
        Finding::new(&self.label, self.event_id(), self.time_ms, actor, detail)
    }

    pub(crate) fn rule(&self) -> &str {
        &self.label.rule
    }

    pub(crate) fn event_id(&self) -> &str {
        &self.text[..self.cuts[0] as usize]
    }

    pub(crate) fn time_ms(&self) -> i64 {
        self.time_ms
    }

    /// eventTime as CloudTrail writes it.
    pub(crate) fn time(&self) -> String {
        format_ms(self.time_ms)
    }

    pub(crate) fn actor(&self) -> Option<&str> {
        self.has_actor
            .then(|| &self.text[self.cuts[0] as usize..self.cuts[1] as usize])
    }

    pub(crate) fn detail(&self) -> &str {
        &self.text[self.cuts[1] as usize..]
    }

    pub(crate) fn level(&self) -> &str {
        &self.label.level
    }

    pub(crate) fn title(&self) -> &str {
        &self.label.title
    }

    pub(crate) fn tags(&self) -> &[String] {
        &self.label.tags
    }

    pub(crate) fn author(&self) -> Option<&str> {
        self.label.author.as_deref()
    }
}

/// A finding as JSON: `rule`, `eventID`, `time`, `actor` (null when none), `detail`, `level`, `title`, then
/// `tags` and `author` when the rule has them (Sigma rules).
impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let extra = usize::from(!self.tags().is_empty()) + usize::from(self.author().is_some());
        let mut m = s.serialize_struct("Finding", 7 + extra)?;
        m.serialize_field("rule", self.rule())?;
        m.serialize_field("eventID", self.event_id())?;
        m.serialize_field("time", &self.time())?;
        m.serialize_field("actor", &self.actor())?;
        m.serialize_field("detail", self.detail())?;
        m.serialize_field("level", self.level())?;
        m.serialize_field("title", self.title())?;
        if !self.tags().is_empty() {
            m.serialize_field("tags", self.tags())?;
        }
        if let Some(a) = self.author() {
            m.serialize_field("author", a)?;
        }
        m.end()
    }
}

/// A rule as a report heads its findings: built-in or Sigma, in the order they ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RuleHead {
    pub id: String,
    pub level: String,
    pub title: String,
    /// Where the rule comes from: `whitepaper: <section>`, or a Sigma rule's file, author and tags.
    pub origin: String,
}

impl RuleHead {
    pub(crate) fn of(r: &Rule) -> RuleHead {
        RuleHead {
            id: r.id.clone(),
            level: r.severity.as_str().to_string(),
            title: r.title.clone(),
            origin: format!("whitepaper: {}", r.section),
        }
    }
}

/// What the audit did.
#[derive(Debug, Default)]
pub(crate) struct AuditOutcome {
    /// The rules that ran, in order.
    pub heads: Vec<RuleHead>,
    pub findings: Vec<Finding>,
    /// Rules not run, with why (a parameter they need is not set).
    pub skipped: Vec<(String, String)>,
}

fn text(v: &Json) -> String {
    match v {
        Json::Str(s) => s.to_string(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// A piece of a detail template: text as written, or a `{name}` / `{name|default}` to fill.
enum Part<'t> {
    Text(&'t str),
    Fill { name: &'t str, default: &'t str },
}

/// A detail template in pieces, in order; a `{` without its `}` is text.
fn template_parts(tmpl: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let mut rest = tmpl;
    while let Some(i) = rest.find('{') {
        out.push(Part::Text(&rest[..i]));
        let Some(j) = rest[i..].find('}') else {
            out.push(Part::Text(&rest[i..]));
            return out;
        };
        let key = &rest[i + 1..i + j];
        let (name, default) = key.split_once('|').unwrap_or((key, ""));
        out.push(Part::Fill { name, default });
        rest = &rest[i + j + 1..];
    }
    out.push(Part::Text(rest));
    out
}

/// The names a detail template fills, in order.
fn template_names(tmpl: &str) -> Vec<&str> {
    template_parts(tmpl)
        .into_iter()
        .filter_map(|p| match p {
            Part::Fill { name, .. } => Some(name),
            Part::Text(_) => None,
        })
        .collect()
}

/// The record's own eventID, which each finding names.
const EVENT_ID_PATH: &str = "eventID";
/// The paths of the VPC endpoint and source address that `source-ip-outside` reads.
const VPCE_PATH: &str = "vpcEndpointId";
const SOURCE_IP_PATH: &str = "sourceIPAddress";
/// The session issuer's ARN, which an admin role of `caller-not-profile` is compared with.
const ISSUER_ARN_PATH: &str = "userIdentity.sessionContext.sessionIssuer.arn";

/// Every record path `rule`'s check and detail template read: a record holding only these members gives
/// the same finding as the whole record (a test checks it on every rule), for a fraction of the parse.
fn paths_read(rule: &Rule) -> Paths {
    let mut p = Paths::default();
    let mut add = |paths: &[&str]| paths.iter().for_each(|x| p.add(x));
    match rule.check {
        None => {}
        Some(Check::SourceIpOutside) => add(&[VPCE_PATH, SOURCE_IP_PATH]),
        Some(Check::CallerNotProfile) => {
            add(&[ISSUER_ARN_PATH, ARN_PATH, REQUESTED_PROFILE_PATH]);
            add(&CALLER_PATHS);
        }
        Some(Check::ValueNotIn) => rule.paths.iter().for_each(|x| add(&[x])),
        Some(Check::MissingTag) => add(&[TAGS_PATH]),
        Some(Check::NumberAbove) => rule.paths.first().iter().for_each(|x| add(&[x])),
        Some(Check::StudioSessionWithoutSourceIdentity) => add(&[ARN_PATH, SOURCE_IDENTITY_PATH]),
    }
    for name in template_names(&rule.detail) {
        match name {
            "caller" => add(&CALLER_PATHS),
            "required-tag" => {}
            path => add(&[path]),
        }
    }
    p
}

/// Fill `{path}`, `{path|default}`, `{caller}` and parameter names in a rule's detail template.
fn render_detail(tmpl: &str, rec: &Json, p: &Params) -> String {
    let mut out = String::new();
    for part in template_parts(tmpl) {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Fill { name, default } => out.push_str(&match name {
                "caller" => caller_name(rec).unwrap_or_default(),
                "required-tag" => p.required_tag().to_string(),
                path => at(rec, path)
                    .map(text)
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| default.to_string()),
            }),
        }
    }
    out
}

/// Every value at `path`, fanning out through arrays (`productionVariants.instanceType` of each variant).
fn values_at<'a, 'j>(v: &'a Json<'j>, path: &str, out: &mut Vec<&'a Json<'j>>) {
    fn walk<'a, 'j>(v: &'a Json<'j>, parts: &[&str], out: &mut Vec<&'a Json<'j>>) {
        match (v, parts.split_first()) {
            (Json::Array(a), _) => a.iter().for_each(|x| walk(x, parts, out)),
            (_, None) => out.push(v),
            (Json::Object(_), Some((p, rest))) => {
                if let Some(x) = v.get(p) {
                    walk(x, rest, out)
                }
            }
            _ => {}
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    walk(v, &parts, out)
}

/// Whether a hit of `rule`'s query is a finding.
fn check(rule: &Rule, rec: &Json, p: &Params, cidrs: &[IpNet]) -> bool {
    let first_path = rule.paths.first().map(String::as_str).unwrap_or("");
    match rule.check {
        None => true,
        Some(Check::SourceIpOutside) => {
            if let Some(vpce) = at(rec, VPCE_PATH).and_then(Json::as_str) {
                if p.allow_vpce.iter().any(|v| v == vpce) {
                    return false;
                }
            }
            // A service name or "AWS Internal" is not an address in an allowed network.
            match at(rec, SOURCE_IP_PATH)
                .and_then(Json::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
            {
                Some(ip) => !cidrs.iter().any(|n| n.contains(&ip)),
                None => true,
            }
        }
        Some(Check::CallerNotProfile) => {
            let role = at(rec, ISSUER_ARN_PATH).and_then(Json::as_str);
            let arn = at(rec, ARN_PATH).and_then(Json::as_str);
            let admin = p
                .list(Param::AdminRole)
                .iter()
                .any(|a| Some(a.as_str()) == role || Some(a.as_str()) == arn);
            if admin {
                return false;
            }
            caller_name(rec) != requested_profile(rec)
        }
        Some(Check::ValueNotIn) => {
            let allowed = rule.param.map(|x| p.list(x)).unwrap_or(&[]);
            let mut vals = Vec::new();
            for path in &rule.paths {
                values_at(rec, path, &mut vals);
            }
            vals.into_iter()
                .map(text)
                .any(|v| !v.is_empty() && !allowed.contains(&v))
        }
        Some(Check::MissingTag) => {
            let want = p.required_tag();
            !tag_keys(rec).contains(&want)
        }
        Some(Check::NumberAbove) => {
            let max = p.max_session_seconds.unwrap_or(DEFAULT_MAX_SESSION_SECONDS);
            at(rec, first_path)
                .and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(number_text)))
                .is_some_and(|n| n > max)
        }
        Some(Check::StudioSessionWithoutSourceIdentity) => {
            is_studio_session(rec)
                && at(rec, SOURCE_IDENTITY_PATH)
                    .and_then(Json::as_str)
                    .is_none_or(str::is_empty)
        }
    }
}

/// A number written as a string (`"43200"`), as `number-above` reads it: a string too long to be indexed
/// exactly is no number (so the index's values at the path are every number a check can see).
fn number_text(s: &str) -> Option<f64> {
    (s.len() <= MAX_EXACT_VALUE)
        .then(|| s.parse().ok())
        .flatten()
}

/// What the index can say of a rule's check before any record is read: a clause ANDed to the rule's
/// query that every finding satisfies, built from the facts normalise indexed with the functions the check
/// itself calls (`normalise::facts`) or from the values indexed at a path. The check still runs on each
/// record the narrowed query finds, so findings are exactly the same; a rule whose findings are few then
/// reads few records however many events its query matches (750k `CreatePresignedDomainUrl` calls at 5M
/// events, none of them a finding).
#[derive(Debug, Clone, PartialEq)]
enum Narrow {
    /// The derived keyword field has this value.
    Is(&'static str, String),
    /// The derived keyword field does not have this value.
    IsNot(&'static str, String),
    /// One of these values is indexed at the open path (none: no record can be a finding).
    PathAnyOf { path: String, values: Vec<String> },
}

impl Narrow {
    /// The clause, as the query tree the index compiles.
    fn node(&self) -> Node {
        let is = |field: &str, v: &str| Node::Field {
            field: field.to_string(),
            value: Value::Quoted(v.to_string()),
        };
        match self {
            Narrow::Is(f, v) => is(f, v),
            Narrow::IsNot(f, v) => Node::Not(Box::new(is(f, v))),
            Narrow::PathAnyOf { values, .. } if values.is_empty() => Node::Not(Box::new(Node::All)),
            Narrow::PathAnyOf { path, values } => {
                Node::Or(values.iter().map(|v| is(path, v)).collect())
            }
        }
    }
}

/// The narrowing of `rule`'s check under `p`, if the index `r` can give one.
fn narrowing(rule: &Rule, p: &Params, r: &Reader) -> Result<Option<Narrow>, Error> {
    Ok(match rule.check {
        Some(Check::StudioSessionWithoutSourceIdentity) => {
            Some(Narrow::Is(names::STUDIO_SESSION, "true".into()))
        }
        Some(Check::CallerNotProfile) => {
            Some(Narrow::IsNot(names::CALLER_IS_PROFILE, "true".into()))
        }
        Some(Check::MissingTag) => Some(Narrow::IsNot(names::TAG_KEY, p.required_tag().into())),
        Some(Check::NumberAbove) => {
            let path = rule.paths.first().map(String::as_str).unwrap_or("");
            // A path with a field of its own has no open-path terms to list.
            if path.is_empty() || crate::catalog::own_field(path).is_some() {
                return Ok(None);
            }
            let max = p.max_session_seconds.unwrap_or(DEFAULT_MAX_SESSION_SECONDS);
            // The index holds a number as serde_json prints it, which parses back to the same f64.
            let above = |v: &str| number_text(v).is_some_and(|n| n > max);
            Some(Narrow::PathAnyOf {
                path: path.to_string(),
                values: r.path_values_where(path, above)?,
            })
        }
        Some(Check::SourceIpOutside | Check::ValueNotIn) | None => None,
    })
}

/// The settings paths that name a domain's, profile's or space's execution role.
const EXECUTION_ROLE_PATHS: [&str; 4] = [
    "requestParameters.defaultUserSettings.executionRole",
    "requestParameters.userSettings.executionRole",
    "requestParameters.defaultSpaceSettings.executionRole",
    "requestParameters.domainSettingsForUpdate.executionRole",
];

/// Which domains name each execution role in their settings (lowercased role ARN → domain ids), learned
/// from every domain and profile call in the index: an execution-role session rarely names its domain.
fn domains_of_roles(
    r: &Reader,
) -> Result<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>, Error> {
    let node = query::parse(
        "eventName:(CreateDomain OR UpdateDomain OR CreateUserProfile OR UpdateUserProfile)",
    )?;
    let req = SearchRequest {
        node,
        since_ms: None,
        until_ms: None,
        oldest_first: true,
    };
    let mut map: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    r.for_each_chunk(&req, &[names::DOMAIN_ID], |hits| {
        for h in hits {
            let Some(domain) = h.owned(names::DOMAIN_ID) else {
                continue;
            };
            let rec: Json = serde_json::from_slice(&h.raw).unwrap_or(Json::Null);
            for p in EXECUTION_ROLE_PATHS {
                if let Some(role) = at(&rec, p).and_then(Json::as_str) {
                    map.entry(role.to_lowercase())
                        .or_default()
                        .insert(domain.clone());
                }
            }
        }
        Ok(())
    })?;
    Ok(map)
}

/// One group of `attribution-gap`: the calls of one role in one domain.
struct Gap {
    first: Finding,
    last_ms: i64,
    first_ms: i64,
    count: u64,
}

/// Folds per-event findings of a grouping check into one finding per (domain, role), in order of the
/// group's first event.
fn group_gaps(r: &Reader, events: Vec<Finding>, places: Vec<Place>) -> Result<Vec<Finding>, Error> {
    let roles = if places.iter().any(|e| e.0.is_none()) {
        domains_of_roles(r)?
    } else {
        Default::default()
    };
    let mut groups: std::collections::BTreeMap<(String, String), Gap> = Default::default();
    for (f, (domain, role)) in events.into_iter().zip(places) {
        let ms = f.time_ms();
        let role = role.unwrap_or_else(|| "(no role)".into());
        let domain = domain.unwrap_or_else(|| {
            roles
                .get(&role.to_lowercase())
                .map(|d| d.iter().cloned().collect::<Vec<_>>().join("|"))
                .unwrap_or_else(|| "(unknown)".into())
        });
        groups
            .entry((domain, role))
            .and_modify(|g| {
                g.count += 1;
                g.last_ms = g.last_ms.max(ms);
            })
            .or_insert(Gap {
                first: f,
                first_ms: ms,
                last_ms: ms,
                count: 1,
            });
    }
    let mut out: Vec<(i64, Finding)> = groups
        .into_iter()
        .map(|((domain, role), g)| {
            let detail = format!(
                "domain {domain} role {role}: {} Studio calls without sourceIdentity from {} to {} (first eventID {})",
                g.count,
                format_ms(g.first_ms),
                format_ms(g.last_ms),
                g.first.event_id()
            );
            (g.first_ms, g.first.restated(None, &detail))
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.event_id().cmp(b.1.event_id()))
    });
    Ok(out.into_iter().map(|(_, f)| f).collect())
}

/// Which hits of a rule's query the audit reads records of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Candidates {
    /// Those the index cannot rule out ([`Narrow`]): what `audit` does.
    Narrowed,
    /// Every hit: the reference the narrowed audit is tested against.
    #[cfg(test)]
    EveryHit,
}

/// Run `selected` rules (all when empty) over the scope; findings by rule (file order), then time, then id.
pub(crate) fn audit(
    r: &Reader,
    selected: &[String],
    p: &Params,
    scope: &Scope,
) -> Result<AuditOutcome, Error> {
    audit_reading(r, selected, p, scope, Candidates::Narrowed)
}

/// As [`audit`], reading the records of `candidates`.
pub(crate) fn audit_reading(
    r: &Reader,
    selected: &[String],
    p: &Params,
    scope: &Scope,
    candidates: Candidates,
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
    let mut active: Vec<&Rule> = Vec::new();
    for rule in all
        .iter()
        .filter(|r| selected.is_empty() || selected.contains(&r.id))
    {
        if let Some(req) = rule.requires {
            if !p.is_set(req) {
                out.skipped
                    .push((rule.id.clone(), format!("needs --{}", req.flag())));
                continue;
            }
        }
        out.heads.push(RuleHead::of(rule));
        active.push(rule);
    }
    // One walk over the union of the rules' hits (MAX_TAGGED rules at a time): each record is fetched and
    // parsed once however many rules look at it, and checked by every rule whose query it matched.
    let mut per_rule: Vec<Vec<Finding>> = active.iter().map(|_| Vec::new()).collect();
    // Beside each finding of a grouping rule (only), in the same order: where it happened.
    let mut places: Vec<Vec<Place>> = active.iter().map(|_| Vec::new()).collect();
    let labels: Vec<Arc<RuleLabel>> = active
        .iter()
        .map(|r| {
            Arc::new(RuleLabel {
                rule: r.id.clone(),
                level: r.severity.as_str().to_string(),
                title: r.title.clone(),
                tags: Vec::new(),
                author: None,
            })
        })
        .collect();
    for (g, group) in active.chunks(MAX_TAGGED).enumerate() {
        let reqs = group
            .iter()
            .map(|rule| {
                let node = query::parse(&rule.query)?;
                let node = match (candidates, narrowing(rule, p, r)?) {
                    (Candidates::Narrowed, Some(n)) => Node::And(vec![node, n.node()]),
                    _ => node,
                };
                Ok(scope.request(node, true))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        const COLUMNS: [&str; 3] = [names::ACTOR, names::DOMAIN_ID, names::ROLE_ARN];
        // A record is parsed keeping only what the rules it matched read: for the 5M audit pair, whose
        // 500k findings each need a job name and an eventID, 5.8–6.3 → 4.1–5.0 CPU-s with the eventID
        // taken from this parse rather than a walk of its own.
        let reads: Vec<Paths> = group.iter().map(|r| paths_read(r)).collect();
        // The eventID comes from the parsed record too (the walk does not look for it separately).
        let event_id = Paths::of([EVENT_ID_PATH]);
        let mut needs: std::collections::HashMap<u64, Paths> = Default::default();
        r.for_each_tagged_chunk(&reqs, &COLUMNS, Fetch::RecordsOnly, |hits| {
            for (_, mask) in &hits {
                needs.entry(*mask).or_insert_with(|| {
                    let mut p = event_id.clone();
                    for (i, r) in reads.iter().enumerate() {
                        if mask & (1u64 << i) != 0 {
                            p.merge(r);
                        }
                    }
                    p
                });
            }
            let needs = &needs;
            // Parsing and checking each record is most of an audit: done in parallel per chunk, kept in
            // order.
            let found: Vec<(usize, Finding, Option<Place>)> = hits
                .into_par_iter()
                .flat_map_iter(|(h, mask)| {
                    let rec = match needs.get(&mask) {
                        Some(paths) => Json::parse_only(&h.raw, paths),
                        None => serde_json::from_slice(&h.raw),
                    }
                    .unwrap_or(Json::Null);
                    let event_id = rec.get(EVENT_ID_PATH).and_then(Json::as_str).unwrap_or("");
                    let mut out = Vec::new();
                    for (i, rule) in group.iter().enumerate() {
                        if mask & (1u64 << i) == 0 || !check(rule, &rec, p, &cidrs) {
                            continue;
                        }
                        let place = grouped(rule)
                            .then(|| (h.owned(names::DOMAIN_ID), h.owned(names::ROLE_ARN)));
                        let f = Finding::new(
                            &labels[g * MAX_TAGGED + i],
                            event_id,
                            h.time_ms,
                            h.get(names::ACTOR),
                            &render_detail(&rule.detail, &rec, p),
                        );
                        out.push((i, f, place));
                    }
                    out
                })
                .collect();
            for (i, f, place) in found {
                per_rule[g * MAX_TAGGED + i].push(f);
                if let Some(place) = place {
                    places[g * MAX_TAGGED + i].push(place);
                }
            }
            Ok(())
        })?;
    }
    // Sized once: growing by doubling while the per-rule lists are still held was the walk's peak.
    out.findings.reserve_exact(
        active
            .iter()
            .zip(&per_rule)
            .filter(|(rule, _)| !grouped(rule))
            .map(|(_, f)| f.len())
            .sum(),
    );
    for ((rule, found), places) in active.iter().zip(per_rule).zip(places) {
        if grouped(rule) {
            out.findings.extend(group_gaps(r, found, places)?);
        } else {
            out.findings.extend(found);
        }
    }
    Ok(out)
}

/// Where a finding of a grouping rule happened: its domain and execution role (when the event says).
type Place = (Option<String>, Option<String>);

/// Whether `rule` folds its findings into one per (domain, role).
fn grouped(rule: &Rule) -> bool {
    rule.check == Some(Check::StudioSessionWithoutSourceIdentity)
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
            assert!(!r.title.is_empty() && !r.section.is_empty(), "{}", r.id);
        }
    }

    /// Run `f` on the borrowed tree of a `json!` value (the form audit reads records in).
    fn with<R>(v: serde_json::Value, f: impl FnOnce(&Json) -> R) -> R {
        let text = v.to_string();
        f(&Json::parse(&text).unwrap())
    }

    #[test]
    fn a_finding_gives_back_its_parts_and_prints_them_in_order() {
        let plain = Arc::new(RuleLabel {
            rule: "r".into(),
            level: "high".into(),
            title: "T".into(),
            tags: Vec::new(),
            author: None,
        });
        let f = Finding::new(
            &plain,
            "ïd-1",
            1_714_521_601_000,
            Some("alice"),
            "détail {x}",
        );
        assert_eq!(
            (
                f.rule(),
                f.event_id(),
                f.actor(),
                f.detail(),
                f.level(),
                f.title()
            ),
            ("r", "ïd-1", Some("alice"), "détail {x}", "high", "T")
        );
        assert_eq!(f.time(), "2024-05-01T00:00:01Z");
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"rule":"r","eventID":"ïd-1","time":"2024-05-01T00:00:01Z","actor":"alice","detail":"détail {x}","level":"high","title":"T"}"#
        );
        // No actor is not an empty actor; empty parts keep their neighbours whole.
        let g = Finding::new(&plain, "", 0, None, "");
        assert_eq!((g.event_id(), g.actor(), g.detail()), ("", None, ""));
        let e = Finding::new(&plain, "id", 0, Some(""), "d");
        assert_eq!((e.event_id(), e.actor(), e.detail()), ("id", Some(""), "d"));
        let r = f.restated(None, "the group");
        assert_eq!(
            (r.event_id(), r.actor(), r.detail(), r.time_ms()),
            ("ïd-1", None, "the group", f.time_ms())
        );
        assert!(serde_json::to_string(&r)
            .unwrap()
            .contains(r#""actor":null"#));
        let sigma = Arc::new(RuleLabel {
            tags: vec!["attack.t1".into()],
            author: Some("Au".into()),
            ..RuleLabel {
                rule: "s.yml".into(),
                level: "low".into(),
                title: "S".into(),
                tags: Vec::new(),
                author: None,
            }
        });
        let s = serde_json::to_string(&Finding::new(&sigma, "i", 0, None, "d")).unwrap();
        assert!(
            s.ends_with(r#""level":"low","title":"S","tags":["attack.t1"],"author":"Au"}"#),
            "{s}"
        );
    }

    #[test]
    fn detail_templates() {
        let r = json!({"eventName":"X","requestParameters":{"a":{"b":"c"},"n":3,"o":{"z":1,"a":[true,null]}}});
        let p = Params::default();
        assert_eq!(
            with(r, |r| {
                render_detail("{eventName} {requestParameters.a.b} {requestParameters.n} {missing|dflt} {required-tag} {requestParameters.o}", r, &p)
            }),
            r#"X c 3 dflt studiouserid {"z":1,"a":[true,null]}"#
        );
    }

    /// One record of the shapes the narrowed checks read, picked by `b`'s bytes: Studio and other sessions,
    /// sourceIdentity present, empty or not a string, profile names in any case or not strings, tags as a
    /// list of either spelling, as an object, with dotted or empty keys, durations as numbers, strings,
    /// over-long strings, floats and lists.
    fn odd_record(i: usize, b: [u8; 8]) -> serde_json::Value {
        let pick = |k: usize, n: u8| b[k] % n;
        let arn = match pick(0, 6) {
            0 => json!(
                "arn:aws:sts::111122223333:assumed-role/AmazonSageMaker-ExecutionRole-A/SageMaker"
            ),
            1 => json!("arn:aws:sts::111122223333:assumed-role/Portal/Alice@Example.com"),
            2 => json!("arn:aws:iam::111122223333:user/SageMaker"),
            3 => json!("arn:aws:sts::111122223333:assumed-role/Admin/bob"),
            4 => json!(17),
            _ => serde_json::Value::Null,
        };
        let mut ctx = json!({"sessionIssuer": {"type": "Role", "arn": if pick(1, 2) == 0 {
            "arn:aws:iam::111122223333:role/Admin" } else { "arn:aws:iam::111122223333:role/AmazonSageMaker-ExecutionRole-A" }}});
        match pick(1, 5) {
            0 => ctx["sourceIdentity"] = json!("alice"),
            1 => ctx["sourceIdentity"] = json!(""),
            2 => ctx["sourceIdentity"] = json!("Bob@corp.example"),
            3 => ctx["sourceIdentity"] = json!(5),
            _ => {}
        }
        let mut rp = serde_json::Map::new();
        match pick(2, 5) {
            0 => {
                rp.insert("userProfileName".into(), json!("alice"));
            }
            1 => {
                rp.insert("userProfileName".into(), json!("BOB"));
            }
            2 => {
                rp.insert("userProfileName".into(), json!(3));
            }
            3 => {
                rp.insert("userProfileName".into(), json!("bob"));
            }
            _ => {}
        }
        let key =
            |k: u8| ["studiouserid", "StudioUserId", "team", "", "studiouserid.x"][k as usize % 5];
        match pick(3, 6) {
            0 => {
                rp.insert(
                    "tags".into(),
                    json!([{"key": key(b[4]), "value": "v"}, {"Key": key(b[5]), "Value": "w"}]),
                );
            }
            1 => {
                rp.insert("tags".into(), json!({"key": "studiouserid"}));
            }
            2 => {
                rp.insert("tags.key".into(), json!("studiouserid"));
            }
            3 => {
                rp.insert(
                    "tags".into(),
                    json!([{"key": 7}, {"value": "studiouserid"}]),
                );
            }
            4 => {
                rp.insert("tags".into(), json!([]));
            }
            _ => {}
        }
        let long = format!("{}50000", "0".repeat(MAX_EXACT_VALUE));
        let secs = [
            json!(43200),
            json!(43201),
            json!(1800),
            json!("50000"),
            json!(long),
            json!(43200.5),
            json!([50000]),
            json!(-1),
            json!("x"),
        ];
        if b[7] != u8::MAX {
            rp.insert(
                "sessionExpirationDurationInSeconds".into(),
                secs[b[7] as usize % secs.len()].clone(),
            );
        }
        let names = [
            "CreatePresignedDomainUrl",
            "CreateTrainingJob",
            "CreateUserProfile",
            "ListApps",
        ];
        json!({
            "eventVersion": "1.09",
            "eventID": format!("odd-{i:04}"),
            "eventTime": format!("2024-05-01T10:{:02}:{:02}Z", (i / 60) % 60, i % 60),
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": names[b[6] as usize % names.len()],
            "awsRegion": "us-east-1",
            "sourceIPAddress": "10.1.2.3",
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AssumedRole", "arn": arn, "sessionContext": ctx},
            "requestParameters": rp,
        })
    }

    /// The records the equivalence of whole and partial parses is checked on: every odd shape, and every
    /// record of the guardrail fixtures.
    fn records_for_paths(bytes: &[[u8; 8]]) -> Vec<String> {
        let mut out: Vec<String> = bytes
            .iter()
            .enumerate()
            .map(|(i, b)| odd_record(i, *b).to_string())
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/guardrails");
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
                    &mut text,
                )
                .unwrap();
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                for r in v["Records"].as_array().unwrap() {
                    out.push(r.to_string());
                }
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]
        /// A record parsed with only what a rule reads gives the same check and the same detail as the
        /// whole record, for every rule: the paths a check and a template read are all listed.
        #[test]
        fn a_rule_reads_only_the_paths_it_lists(
            bytes in proptest::collection::vec(proptest::prelude::any::<[u8; 8]>(), 1..40),
            tag in proptest::sample::select(vec!["studiouserid", "team", ""]),
        ) {
            let p = Params {
                allow_cidr: vec!["10.0.0.0/8".into()],
                allow_vpce: vec!["vpce-1".into()],
                allow_instance_type: vec!["ml.t3.medium".into()],
                allow_image: vec!["arn:aws:sagemaker:us-east-1:081325390199:image/sagemaker-distribution-cpu".into()],
                admin_role: vec!["arn:aws:iam::111122223333:role/Admin".into()],
                required_tag: Some(tag.to_string()),
                max_session_seconds: Some(1800.0),
            };
            let cidrs = p.cidrs().unwrap();
            let records = records_for_paths(&bytes);
            for rule in rules().unwrap() {
                let mut paths = paths_read(&rule);
                paths.merge(&Paths::of([EVENT_ID_PATH]));
                for text in &records {
                    let whole = Json::parse(text).unwrap();
                    let part = Json::parse_only(text.as_bytes(), &paths).unwrap();
                    proptest::prop_assert_eq!(
                        check(&rule, &whole, &p, &cidrs),
                        check(&rule, &part, &p, &cidrs),
                        "rule {} on {}", rule.id, text
                    );
                    proptest::prop_assert_eq!(
                        render_detail(&rule.detail, &whole, &p),
                        render_detail(&rule.detail, &part, &p),
                        "rule {} on {}", rule.id, text
                    );
                    proptest::prop_assert_eq!(whole.get(EVENT_ID_PATH), part.get(EVENT_ID_PATH));
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
        /// The narrowed audit finds exactly what reading every hit of every rule finds, whatever the
        /// shapes of the records: each narrowing is implied by its check.
        #[test]
        fn narrowing_never_changes_a_finding(
            bytes in proptest::collection::vec(proptest::prelude::any::<[u8; 8]>(), 1..60),
            max in proptest::sample::select(vec![None, Some(1800.0), Some(43200.0)]),
            tag in proptest::sample::select(vec!["studiouserid", "team", "", "studiouserid.x"]),
        ) {
            let records: Vec<_> = bytes.iter().enumerate().map(|(i, b)| odd_record(i, *b)).collect();
            let (_dir, r) = crate::index::testing::index_of(&records);
            let p = Params {
                admin_role: vec!["arn:aws:iam::111122223333:role/Admin".into()],
                required_tag: Some(tag.to_string()),
                max_session_seconds: max,
                ..Default::default()
            };
            let scope = Scope::default();
            let narrowed = audit_reading(&r, &[], &p, &scope, Candidates::Narrowed).unwrap();
            let every = audit_reading(&r, &[], &p, &scope, Candidates::EveryHit).unwrap();
            proptest::prop_assert_eq!(&narrowed.findings, &every.findings);
        }
    }

    #[test]
    fn narrowing_finds_the_findings_and_rules_out_the_rest() {
        // Two of each shape the narrowed rules look at: one a finding, one not.
        let mut recs = Vec::new();
        for (i, b) in [
            [0u8, 4, 0, 0, 0, 0, 0, 1], // Studio session, no sourceIdentity, profile alice: gap + cross-profile
            [0, 0, 0, 0, 0, 0, 0, 0], // Studio session as alice opening alice's Studio, tagged, 43200 s
            [3, 4, 3, 5, 0, 0, 1, 1], // bob's job without tags
            [3, 4, 3, 0, 0, 0, 1, 1], // bob's job tagged studiouserid
        ]
        .into_iter()
        .enumerate()
        {
            recs.push(odd_record(i, b));
        }
        let (_dir, r) = crate::index::testing::index_of(&recs);
        let p = Params::default();
        let narrowed: Vec<String> = [
            "presigned-url-cross-profile",
            "presigned-url-long-session",
            "job-missing-tag",
            "attribution-gap",
        ]
        .map(String::from)
        .to_vec();
        let out =
            audit_reading(&r, &narrowed, &p, &Scope::default(), Candidates::Narrowed).unwrap();
        let got: Vec<(String, String)> = out
            .findings
            .iter()
            .map(|f| (f.rule().to_string(), f.event_id().to_string()))
            .collect();
        let want = [
            ("presigned-url-cross-profile", "odd-0000"),
            ("presigned-url-long-session", "odd-0000"),
            ("job-missing-tag", "odd-0002"),
            ("attribution-gap", "odd-0000"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got_sorted, want_sorted, "{got:?}");
    }
}
