//! The field catalogue: `schema/fields.toml`, compiled in, parsed once.
//!
//! Owns the list of queryable fields, their kinds and where they come from. The index builds its tantivy
//! schema from it and the query resolver checks field names against it; nothing else decides which
//! fields exist.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The catalogue as shipped; `include_str!` so a binary never runs with a catalogue other than its own.
const CATALOG_TOML: &str = include_str!("../schema/fields.toml");

/// How a field is indexed and matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// Whole value, exact, case-sensitive; fast field.
    Keyword,
    /// Whole value, exact, case-insensitive (lowercased on both sides); fast field.
    KeywordCi,
    /// A time; fast field with millisecond precision.
    Date,
    /// Lowercased words with positions.
    Text,
    /// An identifier (eventID, requestID, ...): exact match on the whole value only, indexed as a 64-bit
    /// digest; no prefix, range, stats or full text. Any path may be one, not only top-level names.
    Id,
    /// The open set of CloudTrail dotted paths.
    Path,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FieldDef {
    pub name: String,
    pub kind: FieldKind,
    /// Where the value comes from: documentation in the catalogue, checked present by a test.
    #[allow(dead_code)]
    pub source: String,
    /// Keyword fields only: keep a fast column (stats, output columns). Off for near-unique values,
    /// whose column dictionary would cost as much as the record itself; stats then walk the terms.
    #[serde(default = "yes")]
    pub fast: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct CatalogFile {
    field: Vec<FieldDef>,
}

/// Catalogue names the code fills in; a unit test checks each is in the catalogue.
pub(crate) mod names {
    pub(crate) const KIND: &str = "kind";
    pub(crate) const EVENT_TIME: &str = "eventTime";
    pub(crate) const EVENT_ID: &str = "eventID";
    pub(crate) const EVENT_NAME: &str = "eventName";
    pub(crate) const EVENT_SOURCE: &str = "eventSource";
    pub(crate) const AWS_REGION: &str = "awsRegion";
    pub(crate) const SOURCE_IP: &str = "sourceIPAddress";
    pub(crate) const ERROR_CODE: &str = "errorCode";
    pub(crate) const EVENT_TYPE: &str = "eventType";
    pub(crate) const RECIPIENT_ACCOUNT: &str = "recipientAccountId";
    pub(crate) const UI_TYPE: &str = "userIdentity.type";
    pub(crate) const UI_ARN: &str = "userIdentity.arn";
    pub(crate) const UI_ACCESS_KEY: &str = "userIdentity.accessKeyId";
    pub(crate) const ISSUED_KEY: &str = "issuedAccessKeyId";
    pub(crate) const SOURCE_IDENTITY: &str = "sourceIdentity";
    pub(crate) const ROLE_ARN: &str = "roleArn";
    pub(crate) const DOMAIN_ID: &str = "domainId";
    pub(crate) const SPACE_ARN: &str = "spaceArn";
    pub(crate) const SPACE_NAME: &str = "spaceName";
    pub(crate) const USER_PROFILE: &str = "userProfile";
    pub(crate) const ACTOR: &str = "actor";
    pub(crate) const APP_TYPE: &str = "appType";
    pub(crate) const APP_NAME: &str = "appName";
    pub(crate) const LIFECYCLE_CONFIG: &str = "lifecycleConfig";
    pub(crate) const LOG_GROUP: &str = "logGroup";
    pub(crate) const LOG_STREAM: &str = "logStream";
    pub(crate) const MESSAGE: &str = "message";
    pub(crate) const ACTOR_BASIS: &str = "actorBasis";
    pub(crate) const ACTOR_ISSUER_EVENT_ID: &str = "actorIssuerEventID";
    pub(crate) const IC_USER_ID: &str = "identityCenterUserId";
    pub(crate) const EVENT_ID_DERIVED: &str = "eventIDDerived";
    pub(crate) const STUDIO_SESSION: &str = "studioSession";
    pub(crate) const CALLER_IS_PROFILE: &str = "callerIsProfile";
    pub(crate) const TAG_KEY: &str = "tagKey";
}

/// The parsed catalogue (parsed on first use).
pub(crate) fn fields() -> &'static [FieldDef] {
    static FIELDS: OnceLock<Vec<FieldDef>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let file: CatalogFile =
            toml::from_str(CATALOG_TOML).expect("schema/fields.toml is compiled in and tested");
        file.field
    })
}

/// The catalogue entry for `name`, if it is a named field (the `path` row is not a name users type).
pub(crate) fn lookup(name: &str) -> Option<&'static FieldDef> {
    fields()
        .iter()
        .find(|f| f.name == name && f.kind != FieldKind::Path)
}

/// The catalogue entry for a CloudTrail dotted path, if it has a field of its own: top-level names and
/// `userIdentity.*` for keyword fields, any depth for identifier fields. Hashed once, looked up per leaf.
pub(crate) fn own_field(path: &str) -> Option<&'static FieldDef> {
    // Fx: looked up for every leaf of every record; keys are the catalogue's own names.
    static BY_NAME: OnceLock<FxHashMap<&'static str, &'static FieldDef>> = OnceLock::new();
    let map = BY_NAME.get_or_init(|| {
        fields()
            .iter()
            .filter(|f| f.kind != FieldKind::Path)
            .map(|f| (f.name.as_str(), f))
            .collect()
    });
    let def = map.get(path)?;
    let top_level = path.bytes().filter(|&b| b == b'.').count() <= 1;
    (top_level || def.kind == FieldKind::Id).then_some(*def)
}

/// Catalogue identifier fields: a bare word is also looked up in each of them.
pub(crate) fn id_fields() -> impl Iterator<Item = &'static FieldDef> {
    fields().iter().filter(|f| f.kind == FieldKind::Id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `pub const` of the `names` module, read from this file's own text, so a constant added
    /// there is checked without a list to keep in step.
    fn declared_names() -> Vec<(String, String)> {
        let src = include_str!("catalog.rs");
        let start = src.find("mod names {").expect("the names module");
        let body = &src[start..start + src[start..].find("\n}").expect("its end")];
        body.lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix("pub const ")
                    .or_else(|| l.strip_prefix("pub(crate) const "))
            })
            .filter_map(|l| {
                let (ident, rest) = l.split_once(':')?;
                let value = rest.split('"').nth(1)?;
                Some((ident.to_string(), value.to_string()))
            })
            .collect()
    }

    #[test]
    fn every_name_the_code_uses_is_in_the_catalogue() {
        let declared = declared_names();
        assert!(declared.len() >= 30, "read {} names", declared.len());
        assert!(declared.contains(&("ACTOR".into(), names::ACTOR.into())));
        for (ident, n) in declared {
            assert!(
                lookup(&n).is_some(),
                "names::{ident} = {n:?} is missing from schema/fields.toml"
            );
        }
    }

    #[test]
    fn catalogue_names_are_unique_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for f in fields() {
            assert!(seen.insert(f.name.clone()), "duplicate field {}", f.name);
            assert!(!f.source.trim().is_empty(), "{} has no source", f.name);
        }
        assert_eq!(
            fields()
                .iter()
                .filter(|f| f.kind == FieldKind::Path)
                .count(),
            1
        );
    }
}
