//! Studio app log events → [`Event`]s: the stream name parsed into profile or space, app type and app.
//!
//! Pure: the caller supplies the ordinal of the event among identical (timestamp, message) pairs of its
//! stream, so that repeats that really happened stay distinct while re-reads of an overlap collapse.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::catalog::names;
use crate::model::{Event, EventKind};

/// Studio Classic app types: the stream's second segment is a user profile. Every other app type
/// (JupyterLab, CodeEditor, ...) belongs to new Studio, where it is a space.
const CLASSIC_APP_TYPES: [&str; 2] = ["JupyterServer", "KernelGateway"];

/// The last segment of the stream a lifecycle configuration script logs to.
const LIFECYCLE_SUFFIX: &str = "LifecycleConfigOnStart";

/// What a Studio stream name says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct StreamInfo {
    pub domain_id: Option<String>,
    pub user_profile: Option<String>,
    pub space_name: Option<String>,
    pub app_type: Option<String>,
    pub app_name: Option<String>,
    pub lifecycle_config: bool,
}

/// Parse `<domainId>/<name>/<AppType>/<appName>[/LifecycleConfigOnStart]`; other names give what they can.
pub(crate) fn parse_stream(stream: &str) -> StreamInfo {
    let segs: Vec<&str> = stream.split('/').collect();
    let mut info = StreamInfo {
        lifecycle_config: segs.len() >= 5 && segs[4] == LIFECYCLE_SUFFIX,
        ..Default::default()
    };
    if segs.len() < 4 || segs.iter().take(4).any(|s| s.is_empty()) {
        return info;
    }
    info.domain_id = Some(segs[0].to_lowercase());
    info.app_type = Some(segs[2].to_string());
    info.app_name = Some(segs[3].to_string());
    if CLASSIC_APP_TYPES.contains(&segs[2]) {
        info.user_profile = Some(segs[1].to_lowercase());
    } else {
        info.space_name = Some(segs[1].to_lowercase());
    }
    info
}

/// Where the log group lives, to build space ARNs.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupContext {
    pub log_group: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    kind: &'static str,
    time: String,
    timestamp: i64,
    log_group: &'a str,
    log_stream: &'a str,
    message: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_profile: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_name: Option<&'a str>,
    lifecycle_config: bool,
}

/// The identity of a log event: a digest of where it is, when, what it says and its ordinal.
pub(crate) fn log_event_id(
    group: &str,
    stream: &str,
    ts: i64,
    message: &str,
    ordinal: u32,
) -> String {
    let mut h = Sha256::new();
    for part in [group.as_bytes(), stream.as_bytes(), message.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(ts.to_le_bytes());
    h.update(ordinal.to_le_bytes());
    let d = h.finalize();
    let mut id = String::from("log-");
    for b in &d[..16] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// One log event as an [`Event`].
pub(crate) fn log_event(
    ctx: &GroupContext,
    stream: &str,
    ts: i64,
    message: &str,
    ordinal: u32,
) -> Event {
    let info = parse_stream(stream);
    let event_id = log_event_id(&ctx.log_group, stream, ts, message, ordinal);
    let space_arn = match (&info.space_name, &info.domain_id, &ctx.account, &ctx.region) {
        (Some(space), Some(domain), Some(account), Some(region)) => Some(format!(
            "arn:{}:sagemaker:{region}:{account}:space/{domain}/{space}",
            ctx.partition.as_deref().unwrap_or("aws")
        )),
        _ => None,
    };
    let time = jiff::Timestamp::from_millisecond(ts)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default();
    let lifecycle = if info.lifecycle_config {
        "true"
    } else {
        "false"
    };
    let raw = serde_json::to_string(&Wire {
        kind: EventKind::StudioLog.as_str(),
        time,
        timestamp: ts,
        log_group: &ctx.log_group,
        log_stream: stream,
        message,
        event_id: &event_id,
        domain_id: info.domain_id.as_deref(),
        user_profile: info.user_profile.as_deref(),
        space_name: info.space_name.as_deref(),
        space_arn: space_arn.as_deref(),
        app_type: info.app_type.as_deref(),
        app_name: info.app_name.as_deref(),
        lifecycle_config: info.lifecycle_config,
    })
    .expect("serialising plain strings cannot fail");

    let mut ev = Event {
        kind: Some(EventKind::StudioLog),
        event_id: event_id.clone(),
        time_ms: ts,
        message: Some(message.to_string()),
        raw,
        ..Default::default()
    };
    let actor = info.user_profile.clone();
    for (name, val) in [
        (names::KIND, Some(EventKind::StudioLog.as_str().to_string())),
        (names::EVENT_ID, Some(event_id)),
        (names::LOG_GROUP, Some(ctx.log_group.clone())),
        (names::LOG_STREAM, Some(stream.to_string())),
        (names::DOMAIN_ID, info.domain_id),
        (names::USER_PROFILE, info.user_profile),
        (names::SPACE_NAME, info.space_name),
        (names::SPACE_ARN, space_arn),
        (names::APP_TYPE, info.app_type),
        (names::APP_NAME, info.app_name),
        (names::LIFECYCLE_CONFIG, Some(lifecycle.to_string())),
        (names::ACTOR, actor),
    ] {
        if let Some(v) = val {
            ev.keywords.push((name, v));
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_of_both_generations() {
        let c = parse_stream("d-abc/Alice/JupyterServer/default");
        assert_eq!(c.user_profile.as_deref(), Some("alice"));
        assert_eq!(c.space_name, None);
        assert!(!c.lifecycle_config);
        let n = parse_stream("d-abc/team-fraud/JupyterLab/default/LifecycleConfigOnStart");
        assert_eq!(n.space_name.as_deref(), Some("team-fraud"));
        assert_eq!(n.user_profile, None);
        assert_eq!(n.app_type.as_deref(), Some("JupyterLab"));
        assert!(n.lifecycle_config);
        assert_eq!(parse_stream("odd-stream"), StreamInfo::default());
    }

    #[test]
    fn ids_distinguish_ordinals_and_streams() {
        let a = log_event_id("g", "s", 1, "m", 0);
        assert_eq!(a, log_event_id("g", "s", 1, "m", 0));
        assert_ne!(a, log_event_id("g", "s", 1, "m", 1));
        assert_ne!(a, log_event_id("g", "s2", 1, "m", 0));
        assert_ne!(
            log_event_id("g", "ab", 1, "c", 0),
            log_event_id("g", "a", 1, "bc", 0)
        );
    }

    #[test]
    fn space_arn_needs_the_account() {
        let ctx = GroupContext {
            log_group: "/aws/sagemaker/studio".into(),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            partition: None,
        };
        let e = log_event(&ctx, "d-1/shared/CodeEditor/default", 1000, "hi", 0);
        assert_eq!(
            e.keyword("spaceArn"),
            Some("arn:aws:sagemaker:us-east-1:111122223333:space/d-1/shared")
        );
        let v: serde_json::Value = serde_json::from_str(&e.raw).unwrap();
        assert_eq!(v["kind"], "studio-log");
        assert_eq!(v["timestamp"], 1000);
        assert_eq!(v["time"], "1970-01-01T00:00:01.000Z");
        let no_acct = log_event(
            &GroupContext::default(),
            "d-1/shared/CodeEditor/default",
            1,
            "x",
            0,
        );
        assert_eq!(no_acct.keyword("spaceArn"), None);
    }
}
