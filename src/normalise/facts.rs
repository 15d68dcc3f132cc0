//! Facts a guardrail check asks of one record — is the caller a Studio session, is the caller the user
//! profile the request names, which tags the request sets — computed at ingest as derived fields
//! (`studioSession`, `callerIsProfile`, `tagKey`) and by the audit on the records it reads, with these same
//! functions: a query on the field and the check on the record cannot disagree, so the audit can let the
//! index narrow a rule's candidates before it reads any record.
//!
//! Pure functions over one parsed record. No IO and no knowledge of the index.

use super::tree::Json;

/// A Studio session's role session name: `assumed-role/<ExecutionRole>/SageMaker`.
const STUDIO_SESSION_SUFFIX: &str = "/SageMaker";

/// The caller's ARN, which [`is_studio_session`] and [`caller_name`] read.
pub(crate) const ARN_PATH: &str = "userIdentity.arn";
/// The caller's sourceIdentity, which [`caller_name`] reads first.
pub(crate) const SOURCE_IDENTITY_PATH: &str = "userIdentity.sessionContext.sourceIdentity";
/// The profile a request names, which [`requested_profile`] reads.
pub(crate) const REQUESTED_PROFILE_PATH: &str = "requestParameters.userProfileName";
/// The tags a request sets, which [`tag_keys`] reads.
pub(crate) const TAGS_PATH: &str = "requestParameters.tags";
/// Every path [`caller_name`] reads: what a record holding only some of its members needs for it.
pub(crate) const CALLER_PATHS: [&str; 2] = [SOURCE_IDENTITY_PATH, ARN_PATH];

/// Follow a dotted path of object keys; an array on the way is searched for the first element that has
/// the next key (`requestParameters.tags.key` finds the first tag's key).
pub(crate) fn at<'a, 'j>(v: &'a Json<'j>, path: &str) -> Option<&'a Json<'j>> {
    let mut cur = v;
    for p in path.split('.') {
        cur = match cur {
            Json::Array(a) => a.iter().find_map(|x| x.get(p))?,
            other => other.get(p)?,
        };
    }
    Some(cur)
}

/// A call made by a Studio execution-role session: `userIdentity.arn` is
/// `arn:…:sts::…:assumed-role/<ExecutionRole>/SageMaker`.
pub(crate) fn is_studio_session(rec: &Json) -> bool {
    at(rec, ARN_PATH)
        .and_then(Json::as_str)
        .is_some_and(|a| a.contains(":assumed-role/") && a.ends_with(STUDIO_SESSION_SUFFIX))
}

/// The caller's own name: sourceIdentity, else the role session name, without any `@domain`, lowercased.
pub(crate) fn caller_name(rec: &Json) -> Option<String> {
    let name = at(rec, SOURCE_IDENTITY_PATH)
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| {
            at(rec, ARN_PATH)
                .and_then(Json::as_str)
                .filter(|a| a.contains(":assumed-role/"))
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_string)
        })?;
    Some(name.split('@').next().unwrap_or("").to_lowercase())
}

/// The user profile a request names (`requestParameters.userProfileName`), lowercased as SageMaker keeps
/// it in ARNs.
pub(crate) fn requested_profile(rec: &Json) -> Option<String> {
    at(rec, REQUESTED_PROFILE_PATH)
        .and_then(Json::as_str)
        .map(str::to_lowercase)
}

/// For a request that names a user profile: whether the caller's own name is that profile (`None` when
/// the request names none).
pub(crate) fn caller_is_profile(rec: &Json) -> Option<bool> {
    let profile = requested_profile(rec)?;
    Some(caller_name(rec).as_deref() == Some(profile.as_str()))
}

/// The keys of the tags a request sets (`requestParameters.tags[].key`, or `Key`), in order.
pub(crate) fn tag_keys<'a>(rec: &'a Json) -> Vec<&'a str> {
    at(rec, TAGS_PATH)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("key").or_else(|| t.get("Key")).and_then(Json::as_str))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with<R>(v: serde_json::Value, f: impl FnOnce(&Json) -> R) -> R {
        let text = v.to_string();
        f(&Json::parse(&text).unwrap())
    }

    #[test]
    fn caller_names() {
        let r =
            json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/Portal/Alice@Example.com"}});
        assert_eq!(with(r, caller_name).as_deref(), Some("alice"));
        let r = json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/X/SageMaker","sessionContext":{"sourceIdentity":"bob"}}});
        assert_eq!(with(r, caller_name).as_deref(), Some("bob"));
        assert_eq!(
            with(
                json!({"userIdentity":{"arn":"arn:aws:iam::1:user/u"}}),
                caller_name
            ),
            None
        );
    }

    #[test]
    fn studio_sessions_are_assumed_role_sessions_named_sagemaker() {
        let s = |arn: &str| with(json!({"userIdentity":{"arn":arn}}), is_studio_session);
        assert!(s(
            "arn:aws:sts::1:assumed-role/AmazonSageMaker-ExecutionRole/SageMaker"
        ));
        assert!(
            !s("arn:aws:iam::1:user/SageMaker"),
            "an IAM user named SageMaker"
        );
        assert!(!s("arn:aws:sts::1:assumed-role/Role/alice"));
        assert!(!with(json!({"userIdentity":{"arn":5}}), is_studio_session));
    }

    #[test]
    fn caller_is_the_profile_only_when_the_request_names_one() {
        let r = json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/R/SageMaker","sessionContext":{"sourceIdentity":"Alice"}},
                       "requestParameters":{"userProfileName":"ALICE"}});
        assert_eq!(with(r, caller_is_profile), Some(true));
        let r = json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/Admin/bob@corp.com"},
                       "requestParameters":{"userProfileName":"alice"}});
        assert_eq!(with(r, caller_is_profile), Some(false));
        let r = json!({"userIdentity":{"arn":"arn:aws:iam::1:user/u"},"requestParameters":{"userProfileName":"u"}});
        assert_eq!(with(r, caller_is_profile), Some(false), "no caller name");
        let r = json!({"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/R/alice"},"requestParameters":{}});
        assert_eq!(with(r, caller_is_profile), None);
    }

    #[test]
    fn tag_keys_of_either_spelling() {
        let r = json!({"requestParameters":{"tags":[{"key":"a","value":"1"},{"Key":"B"},{"value":"x"},{"key":7}]}});
        assert_eq!(with(r, |r| tag_keys(r).join(",")), "a,B");
        let r = json!({"requestParameters":{"tags":{"key":"a"}}});
        assert!(
            with(r, |r| tag_keys(r).is_empty()),
            "tags that are not a list"
        );
    }
}
