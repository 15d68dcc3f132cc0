//! Attribution keys: which human, execution role, domain, space and user profile an event belongs to.
//!
//! Pure functions over one parsed CloudTrail record; each rule is the one documented in
//! `schema/fields.toml`. No IO and no knowledge of the index.

use super::facts::is_studio_session;
use super::tree::Json;

/// The derived keys of one event. Names in ARNs are lowercased by SageMaker, so `domain_id`, `space_arn`,
/// `space_name` and `user_profile` are returned lowercased.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Attribution {
    pub source_identity: Option<String>,
    pub role_arn: Option<String>,
    pub domain_id: Option<String>,
    pub space_arn: Option<String>,
    pub space_name: Option<String>,
    pub user_profile: Option<String>,
    /// The actor by the rules normalise can apply alone (1, 2, 4 without a learned name, 5); the writer
    /// applies rules 3 and 4 with what the index knows (see `index::write`).
    pub actor: Option<String>,
    pub actor_basis: Option<ActorBasis>,
    /// `userIdentity.onBehalfOf.userId` (or an IdentityCenterUser's `userId`): the Identity Center user.
    pub identity_center_user_id: Option<String>,
    /// The user name an event gives for that user (`userIdentity.userName`), which teaches rule 4.
    pub identity_center_user_name: Option<String>,
}

pub(crate) use crate::model::ActorBasis;

/// The tag keys SageMaker stamps on the resources it creates.
const TAG_DOMAIN_ARN: &str = "sagemaker:domain-arn";
const TAG_SPACE_ARN: &str = "sagemaker:space-arn";
const TAG_USER_PROFILE_ARN: &str = "sagemaker:user-profile-arn";

fn get<'a, 'j>(v: &'a Json<'j>, path: &[&str]) -> Option<&'a Json<'j>> {
    v.at(path)
}

fn get_str<'a>(v: &'a Json<'_>, path: &[&str]) -> Option<&'a str> {
    get(v, path)?.as_str().filter(|s| !s.is_empty())
}

/// A parsed SageMaker ARN: `arn:<partition>:sagemaker:<region>:<account>:<type>/<seg>/<seg>...`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SageMakerArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource_type: &'a str,
    pub segments: Vec<&'a str>,
}

impl<'a> SageMakerArn<'a> {
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let mut it = s.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
        );
        if arn != "arn" || service != "sagemaker" {
            return None;
        }
        let mut segs = resource.split('/');
        let resource_type = segs.next()?;
        let segments: Vec<&str> = segs.collect();
        if segments.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        Some(SageMakerArn {
            partition,
            region,
            account,
            resource_type,
            segments,
        })
    }

    /// The domain this resource lives in, for domain, user-profile, space and app ARNs.
    pub(crate) fn domain_id(&self) -> Option<&'a str> {
        match self.resource_type {
            "domain" | "user-profile" | "space" | "app" => self.segments.first().copied(),
            _ => None,
        }
    }
}

/// `requestParameters.tags` as (key, value) pairs; accepts `key`/`value` and `Key`/`Value`.
fn tags<'a>(rec: &'a Json<'_>) -> Vec<(&'a str, &'a str)> {
    let Some(arr) = get(rec, &["requestParameters", "tags"]).and_then(Json::as_array) else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|t| {
            let k = t.get("key").or_else(|| t.get("Key"))?.as_str()?;
            let v = t.get("value").or_else(|| t.get("Value"))?.as_str()?;
            Some((k, v))
        })
        .collect()
}

fn tag<'a>(tags: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| *v)
}

fn collect_strings<'a>(v: &'a Json<'_>, out: &mut Vec<&'a str>) {
    match v {
        Json::Str(s) => out.push(s),
        Json::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Json::Object(o) => o.iter().for_each(|(_, x)| collect_strings(x, out)),
        _ => {}
    }
}

/// SageMaker ARNs found in responseElements and in tag values, in document order.
fn candidate_arns<'a>(rec: &'a Json<'_>, tags: &[(&'a str, &'a str)]) -> Vec<SageMakerArn<'a>> {
    let mut strings = Vec::new();
    if let Some(re) = get(rec, &["responseElements"]) {
        collect_strings(re, &mut strings);
    }
    strings.extend(tags.iter().map(|(_, v)| *v));
    strings
        .into_iter()
        .filter(|s| s.starts_with("arn:"))
        .filter_map(SageMakerArn::parse)
        .collect()
}

/// The partition of the record's own ARNs, else the one its region implies.
fn partition(rec: &Json) -> String {
    if let Some(p) = get_str(rec, &["userIdentity", "arn"]).and_then(|a| a.split(':').nth(1)) {
        if !p.is_empty() {
            return p.to_string();
        }
    }
    let region = get_str(rec, &["awsRegion"]).unwrap_or("");
    if region.starts_with("cn-") {
        "aws-cn".into()
    } else if region.starts_with("us-gov-") {
        "aws-us-gov".into()
    } else {
        "aws".into()
    }
}

/// Rule 5, the principal itself: for an AWS service, the service (`invokedBy`); for a SAML or
/// web-identity user, the identity provider's user name; else the principal ARN, the service that acted,
/// the principal id, the account.
pub(crate) fn principal(rec: &Json) -> Option<String> {
    let ui = |k: &str| get_str(rec, &["userIdentity", k]);
    match ui("type") {
        Some("AWSService") => ui("invokedBy").or_else(|| ui("principalId")),
        Some("SAMLUser" | "WebIdentityUser") => ui("userName")
            .or_else(|| ui("principalId"))
            .or_else(|| ui("arn")),
        _ => ui("arn")
            .or_else(|| ui("invokedBy"))
            .or_else(|| ui("principalId"))
            .or_else(|| ui("accountId")),
    }
    .map(str::to_string)
}

/// True when the caller is an AWS service acting on its own (`userIdentity.type` `AWSService`, or no
/// principal ARN but an `invokedBy`): `sagemaker.amazonaws.com` assuming an execution role,
/// `ec2.amazonaws.com` an instance profile. A service is never the human behind the keys it obtains.
pub(crate) fn caller_is_service(rec: &Json) -> bool {
    get_str(rec, &["userIdentity", "type"]) == Some("AWSService")
        || (get_str(rec, &["userIdentity", "arn"]).is_none()
            && get_str(rec, &["userIdentity", "invokedBy"]).is_some())
}

/// STS calls that return credentials: the key they issue is used by whoever called them.
fn issues_credentials(event_name: &str) -> bool {
    event_name.starts_with("AssumeRole")
        || event_name == "GetSessionToken"
        || event_name == "GetFederationToken"
}

/// For `AssumeRole*`, `GetSessionToken` and `GetFederationToken`, the access key they issued.
pub(crate) fn issued_access_key(rec: &Json) -> Option<String> {
    get_str(rec, &["eventName"])
        .filter(|n| issues_credentials(n))
        .and(get_str(
            rec,
            &["responseElements", "credentials", "accessKeyId"],
        ))
        .map(str::to_string)
}

/// The Identity Center user an event acted for: `userIdentity.onBehalfOf.userId`, or the `userId` of an
/// `IdentityCenterUser`.
fn identity_center_user<'a>(rec: &'a Json<'_>) -> Option<&'a str> {
    get_str(rec, &["userIdentity", "onBehalfOf", "userId"]).or_else(|| {
        (get_str(rec, &["userIdentity", "type"]) == Some("IdentityCenterUser"))
            .then(|| get_str(rec, &["userIdentity", "userId"]))
            .flatten()
    })
}

/// Every derived key of one record.
pub(crate) fn attribute(rec: &Json) -> Attribution {
    let tags = tags(rec);
    let arns = candidate_arns(rec, &tags);

    let source_identity = get_str(rec, &["userIdentity", "sessionContext", "sourceIdentity"])
        .or_else(|| {
            (get_str(rec, &["eventSource"]) == Some("sts.amazonaws.com"))
                .then(|| get_str(rec, &["requestParameters", "sourceIdentity"]))
                .flatten()
        })
        .map(str::to_string);

    let issuer = get(rec, &["userIdentity", "sessionContext", "sessionIssuer"]);
    let role_arn = issuer
        .filter(|i| get_str(i, &["type"]) == Some("Role"))
        .and_then(|i| get_str(i, &["arn"]))
        .map(str::to_string);

    let domain_id = get_str(rec, &["requestParameters", "domainId"])
        .or_else(|| get_str(rec, &["requestParameters", "domainIdEquals"]))
        .map(str::to_string)
        .or_else(|| {
            tag(&tags, TAG_DOMAIN_ARN)
                .and_then(SageMakerArn::parse)
                .and_then(|a| a.domain_id().map(str::to_string))
        })
        .or_else(|| arns.iter().find_map(|a| a.domain_id().map(str::to_string)))
        .map(|d| d.to_lowercase());

    let space_name_param = get_str(rec, &["requestParameters", "spaceName"]);
    let space_arn = match (space_name_param, &domain_id) {
        (Some(space), Some(domain)) => Some(format!(
            "arn:{}:sagemaker:{}:{}:space/{}/{}",
            partition(rec),
            get_str(rec, &["awsRegion"]).unwrap_or(""),
            get_str(rec, &["recipientAccountId"]).unwrap_or(""),
            domain,
            space
        )),
        _ => None,
    }
    .or_else(|| tag(&tags, TAG_SPACE_ARN).map(str::to_string))
    .or_else(|| {
        arns.iter().find(|a| a.resource_type == "space").map(|a| {
            format!(
                "arn:{}:sagemaker:{}:{}:space/{}",
                a.partition,
                a.region,
                a.account,
                a.segments.join("/")
            )
        })
    })
    .map(|s| s.to_lowercase());

    let space_name = space_name_param
        .map(str::to_string)
        .or_else(|| {
            space_arn
                .as_deref()
                .and_then(SageMakerArn::parse)
                .and_then(|a| a.segments.get(1).map(|s| s.to_string()))
        })
        .map(|s| s.to_lowercase());

    let studio = is_studio_session(rec);
    let user_profile = get_str(rec, &["requestParameters", "userProfileName"])
        .map(str::to_string)
        .or_else(|| {
            tag(&tags, TAG_USER_PROFILE_ARN)
                .and_then(|a| a.rsplit('/').next())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .or_else(|| source_identity.as_ref().filter(|_| studio).cloned())
        .or_else(|| {
            arns.iter()
                .find(|a| a.resource_type == "user-profile")
                .and_then(|a| a.segments.get(1).map(|s| s.to_string()))
        })
        .map(|s| s.to_lowercase());

    let identity_center_user_id = identity_center_user(rec).map(str::to_string);
    let identity_center_user_name = identity_center_user_id
        .as_ref()
        .and_then(|_| get_str(rec, &["userIdentity", "userName"]))
        .map(str::to_string);

    // The rules of schema/actor-rules.md, in order; 3 and 4 (with a learned name) are the writer's.
    let (actor, actor_basis) = if let Some(si) = &source_identity {
        (Some(si.clone()), Some(ActorBasis::SourceIdentity))
    } else if let Some(p) = user_profile.as_ref().filter(|_| studio) {
        (Some(p.clone()), Some(ActorBasis::UserProfile))
    } else if let Some(id) = &identity_center_user_id {
        (
            Some(
                identity_center_user_name
                    .clone()
                    .unwrap_or_else(|| id.clone()),
            ),
            Some(ActorBasis::IdentityCenter),
        )
    } else {
        match principal(rec) {
            Some(p) => (Some(p), Some(ActorBasis::Principal)),
            None => (None, None),
        }
    };

    Attribution {
        source_identity,
        role_arn,
        domain_id,
        space_arn,
        space_name,
        user_profile,
        actor,
        actor_basis,
        identity_center_user_id,
        identity_center_user_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole";
    const STUDIO_ARN: &str =
        "arn:aws:sts::111122223333:assumed-role/AmazonSageMaker-ExecutionRole/SageMaker";

    fn studio_identity(source_identity: Option<&str>) -> Value {
        let mut ctx = json!({"sessionIssuer": {"type": "Role", "arn": ROLE, "userName": "AmazonSageMaker-ExecutionRole"}});
        if let Some(s) = source_identity {
            ctx["sourceIdentity"] = json!(s);
        }
        json!({"type": "AssumedRole", "arn": STUDIO_ARN, "sessionContext": ctx})
    }

    struct Case {
        name: &'static str,
        rec: Value,
        want: Attribution,
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn rules_table() {
        let cases = vec![
            Case {
                name: "no rule applies: an IAM user listing buckets",
                rec: json!({"eventSource":"s3.amazonaws.com","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/bob"},"requestParameters":null,"responseElements":null}),
                want: Attribution { actor: s("arn:aws:iam::1:user/bob"), ..Default::default() },
            },
            Case {
                name: "insight record: no userIdentity at all",
                rec: json!({"eventType":"AwsCloudTrailInsight"}),
                want: Attribution::default(),
            },
            Case {
                name: "studio session with sourceIdentity: actor and user profile",
                rec: json!({"eventSource":"sagemaker.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111122223333","userIdentity":studio_identity(Some("Alice")),"requestParameters":{"trainingJobName":"x"}}),
                want: Attribution { source_identity: s("Alice"), role_arn: s(ROLE), user_profile: s("alice"), actor: s("Alice"), ..Default::default() },
            },
            Case {
                name: "studio session without sourceIdentity falls back to the profile, then the principal",
                rec: json!({"userIdentity":studio_identity(None),"requestParameters":{"userProfileName":"Bob","domainId":"d-ABC"}}),
                want: Attribution { role_arn: s(ROLE), user_profile: s("bob"), domain_id: s("d-abc"), actor: s("bob"), ..Default::default() },
            },
            Case {
                name: "sts event: sourceIdentity from requestParameters",
                rec: json!({"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/carol"},"requestParameters":{"roleArn":"arn:aws:iam::1:role/x","sourceIdentity":"carol"}}),
                want: Attribution { source_identity: s("carol"), actor: s("carol"), ..Default::default() },
            },
            Case {
                name: "non-sts event: requestParameters.sourceIdentity is not an identity",
                rec: json!({"eventSource":"s3.amazonaws.com","userIdentity":{"arn":"arn:aws:iam::1:user/x"},"requestParameters":{"sourceIdentity":"mallory"}}),
                want: Attribution { actor: s("arn:aws:iam::1:user/x"), ..Default::default() },
            },
            Case {
                name: "session issuer that is not a role gives no roleArn",
                rec: json!({"userIdentity":{"arn":"arn:aws:sts::1:federated-user/x","sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::1:user/x"}}}}),
                want: Attribution { actor: s("arn:aws:sts::1:federated-user/x"), ..Default::default() },
            },
            Case {
                name: "empty sessionIssuer",
                rec: json!({"userIdentity":{"arn":"a","sessionContext":{"sessionIssuer":{}}}}),
                want: Attribution { actor: s("a"), ..Default::default() },
            },
            Case {
                name: "space from spaceName and domainIdEquals",
                rec: json!({"awsRegion":"eu-west-1","recipientAccountId":"111122223333","userIdentity":{"arn":"arn:aws:iam::111122223333:user/u"},"requestParameters":{"domainIdEquals":"d-1","spaceName":"Team-Fraud"}}),
                want: Attribution { domain_id: s("d-1"), space_arn: s("arn:aws:sagemaker:eu-west-1:111122223333:space/d-1/team-fraud"), space_name: s("team-fraud"), actor: s("arn:aws:iam::111122223333:user/u"), ..Default::default() },
            },
            Case {
                name: "partition from the caller's ARN",
                rec: json!({"awsRegion":"cn-north-1","recipientAccountId":"1","userIdentity":{"arn":"arn:aws-cn:iam::1:user/u"},"requestParameters":{"domainId":"d-1","spaceName":"s"}}),
                want: Attribution { domain_id: s("d-1"), space_arn: s("arn:aws-cn:sagemaker:cn-north-1:1:space/d-1/s"), space_name: s("s"), actor: s("arn:aws-cn:iam::1:user/u"), ..Default::default() },
            },
            Case {
                name: "tags: domain, space and profile ARNs (Key/Value spelling)",
                rec: json!({"userIdentity":{"arn":"p"},"requestParameters":{"tags":[
                    {"Key":"sagemaker:domain-arn","Value":"arn:aws:sagemaker:us-east-1:1:domain/d-TAG"},
                    {"Key":"sagemaker:space-arn","Value":"arn:aws:sagemaker:us-east-1:1:space/d-tag/Shared"},
                    {"Key":"sagemaker:user-profile-arn","Value":"arn:aws:sagemaker:us-east-1:1:user-profile/d-tag/Dave"}]}}),
                want: Attribution { domain_id: s("d-tag"), space_arn: s("arn:aws:sagemaker:us-east-1:1:space/d-tag/shared"), space_name: s("shared"), user_profile: s("dave"), actor: s("p"), ..Default::default() },
            },
            Case {
                name: "responseElements ARNs: space",
                rec: json!({"userIdentity":{"arn":"p"},"responseElements":{"spaceArn":"arn:aws:sagemaker:us-east-1:1:space/d-9/lab"}}),
                want: Attribution { domain_id: s("d-9"), space_arn: s("arn:aws:sagemaker:us-east-1:1:space/d-9/lab"), space_name: s("lab"), actor: s("p"), ..Default::default() },
            },
            Case {
                name: "responseElements ARNs: user profile",
                rec: json!({"userIdentity":{"arn":"p"},"responseElements":{"userProfileArn":"arn:aws:sagemaker:us-east-1:1:user-profile/d-9/Erin"}}),
                want: Attribution { domain_id: s("d-9"), user_profile: s("erin"), actor: s("p"), ..Default::default() },
            },
            Case {
                name: "responseElements ARN of another service is ignored",
                rec: json!({"userIdentity":{"arn":"p"},"responseElements":{"x":"arn:aws:s3:::bucket/domain/d-1"}}),
                want: Attribution { actor: s("p"), ..Default::default() },
            },
            Case {
                name: "AWS service principal",
                rec: json!({"userIdentity":{"type":"AWSService","invokedBy":"sagemaker.amazonaws.com"}}),
                want: Attribution { actor: s("sagemaker.amazonaws.com"), ..Default::default() },
            },
        ];
        for c in cases {
            let text = c.rec.to_string();
            let rec = Json::parse(&text).unwrap();
            let mut got = attribute(&rec);
            // The basis has a table of its own below.
            got.actor_basis = None;
            assert_eq!(got, c.want, "case: {}", c.name);
        }
    }

    /// The actor rules normalise applies alone (1, 2, 4 without a learned name, 5), with their basis.
    /// Rules 3 and 4 with learned names need the index: tests/actor.rs runs them through the binary.
    #[test]
    fn actor_rules_table() {
        use ActorBasis::*;
        let cases: Vec<(&str, Value, Option<&str>, Option<ActorBasis>)> = vec![
            (
                "1: sourceIdentity wins over a named user profile",
                json!({"userIdentity":studio_identity(Some("alice")),"requestParameters":{"userProfileName":"bob"}}),
                Some("alice"),
                Some(SourceIdentity),
            ),
            (
                "2: a Studio session names its user profile",
                json!({"userIdentity":studio_identity(None),"requestParameters":{"userProfileName":"Dave"}}),
                Some("dave"),
                Some(UserProfile),
            ),
            (
                "2 does not apply outside a Studio session: the principal",
                json!({"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/ops"},"requestParameters":{"userProfileName":"dave"}}),
                Some("arn:aws:iam::1:user/ops"),
                Some(Principal),
            ),
            (
                "a Studio session naming no profile is the session itself",
                json!({"userIdentity":studio_identity(None),"requestParameters":{"trainingJobName":"x"}}),
                Some(STUDIO_ARN),
                Some(Principal),
            ),
            (
                "4: an Identity Center user with its user name",
                json!({"userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::1:identitystore/d-1"},"userName":"alice@example.com"}}),
                Some("alice@example.com"),
                Some(IdentityCenter),
            ),
            (
                "4: an Identity Center user without one is its userId",
                json!({"userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"u-2"},"credentialId":"c"}}),
                Some("u-2"),
                Some(IdentityCenter),
            ),
            (
                "4: the older IdentityCenterUser shape (userId at the top)",
                json!({"userIdentity":{"type":"IdentityCenterUser","userId":"d-12345abcde","arn":"arn:aws:iam::1:user/identity-center-user"}}),
                Some("d-12345abcde"),
                Some(IdentityCenter),
            ),
            (
                "5: an AWS service is its invokedBy",
                json!({"userIdentity":{"type":"AWSService","invokedBy":"sagemaker.amazonaws.com"}}),
                Some("sagemaker.amazonaws.com"),
                Some(Principal),
            ),
            (
                "5: a SAML user is the provider's user name",
                json!({"userIdentity":{"type":"SAMLUser","principalId":"abc=:erin@example.com","userName":"erin@example.com","identityProvider":"arn:aws:iam::1:saml-provider/Okta"}}),
                Some("erin@example.com"),
                Some(Principal),
            ),
            (
                "5: a web-identity user is the provider's user name",
                json!({"userIdentity":{"type":"WebIdentityUser","principalId":"accounts.google.com:app:sub","userName":"sub-123","identityProvider":"accounts.google.com"}}),
                Some("sub-123"),
                Some(Principal),
            ),
            (
                "5: an instance-profile session is the session, not ec2.amazonaws.com",
                json!({"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/WebRole/i-0abc","accessKeyId":"ASIA1","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/WebRole"}}}}),
                Some("arn:aws:sts::1:assumed-role/WebRole/i-0abc"),
                Some(Principal),
            ),
            (
                "5: an account principal without an ARN",
                json!({"userIdentity":{"type":"AWSAccount","principalId":"AIDAX","accountId":"444455556666"}}),
                Some("AIDAX"),
                Some(Principal),
            ),
            (
                "no userIdentity: no actor",
                json!({"eventType":"AwsCloudTrailInsight"}),
                None,
                None,
            ),
        ];
        for (name, rec, actor, basis) in cases {
            let text = rec.to_string();
            let a = attribute(&Json::parse(&text).unwrap());
            assert_eq!(
                (a.actor.as_deref(), a.actor_basis),
                (actor, basis),
                "case: {name}"
            );
        }
    }

    #[test]
    fn service_callers_and_credential_issuers() {
        let svc = json!({"eventName":"AssumeRole","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"responseElements":{"credentials":{"accessKeyId":"ASIAK"}}}).to_string();
        let svc = Json::parse(&svc).unwrap();
        assert!(caller_is_service(&svc));
        assert_eq!(issued_access_key(&svc).as_deref(), Some("ASIAK"));
        let human = json!({"eventName":"GetFederationToken","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/x"},"responseElements":{"credentials":{"accessKeyId":"ASIAF"}}}).to_string();
        let human = Json::parse(&human).unwrap();
        assert!(!caller_is_service(&human));
        assert_eq!(issued_access_key(&human).as_deref(), Some("ASIAF"));
        let other = json!({"eventName":"CreateAccessKey","userIdentity":{"arn":"a"},"responseElements":{"credentials":{"accessKeyId":"AKIA"}}}).to_string();
        assert_eq!(issued_access_key(&Json::parse(&other).unwrap()), None);
    }

    #[test]
    fn arn_parsing() {
        let a = SageMakerArn::parse(
            "arn:aws:sagemaker:us-east-1:1:app/d-1/alice/JupyterServer/default",
        )
        .unwrap();
        assert_eq!(a.domain_id(), Some("d-1"));
        assert_eq!(a.segments.len(), 4);
        assert!(
            SageMakerArn::parse("arn:aws:sagemaker:us-east-1:1:training-job/x")
                .unwrap()
                .domain_id()
                .is_none()
        );
        assert!(SageMakerArn::parse("arn:aws:iam::1:role/x").is_none());
        assert!(SageMakerArn::parse("not an arn").is_none());
        assert!(SageMakerArn::parse("arn:aws:sagemaker:us-east-1:1:space//x").is_none());
    }
}
