//! Studio app logs from CloudWatch Logs: find streams (DescribeLogStreams, every page), read each stream
//! forward (GetLogEvents from a start time until the forward token repeats).

use aws_sdk_cloudwatchlogs::Client;

use super::aws::describe;

/// Events per GetLogEvents page: the API's maximum, fewest round trips.
const PAGE_LIMIT: i32 = 10_000;

/// A stream and what DescribeLogStreams says of it.
#[derive(Debug, Clone)]
pub struct Stream {
    pub name: String,
    pub last_event_ms: Option<i64>,
}

/// Streams of `group` whose names start with `prefix`.
pub async fn streams(c: &Client, group: &str, prefix: Option<&str>) -> Result<Vec<Stream>, String> {
    let mut req = c.describe_log_streams().log_group_name(group);
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        req = req.log_stream_name_prefix(p);
    }
    let mut pages = req.into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe(&e))?;
        for s in page.log_streams() {
            if let Some(name) = s.log_stream_name() {
                // The API's prefix filter is not trusted (some implementations ignore it).
                if prefix.is_some_and(|p| !name.starts_with(p)) {
                    continue;
                }
                out.push(Stream {
                    name: name.to_string(),
                    last_event_ms: s.last_event_timestamp(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The account and region of a log group, from its ARN (for space ARNs).
pub(crate) async fn group_account_region(
    c: &Client,
    group: &str,
) -> Option<(String, String, String)> {
    let resp = c
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .ok()?;
    let g = resp
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))?;
    let arn = g.arn()?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6).then(|| {
        (
            parts[1].to_string(),
            parts[3].to_string(),
            parts[4].to_string(),
        )
    })
}

/// Every event of `stream` at or after `start_ms`, oldest first: (timestamp, message).
pub(crate) async fn read_stream(
    c: &Client,
    group: &str,
    stream: &str,
    start_ms: Option<i64>,
) -> Result<Vec<(i64, String)>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = c
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .limit(PAGE_LIMIT);
        if let Some(t) = start_ms {
            req = req.start_time(t);
        }
        if let Some(t) = &token {
            req = req.next_token(t);
        }
        let resp = req.send().await.map_err(|e| describe(&e))?;
        for e in resp.events() {
            if let (Some(ts), Some(m)) = (e.timestamp(), e.message()) {
                out.push((ts, m.to_string()));
            }
        }
        let next = resp.next_forward_token().map(str::to_string);
        // The end of a stream: the same forward token comes back (or none at all).
        if next.is_none() || next == token {
            break;
        }
        token = next;
    }
    out.sort_by_key(|(ts, _)| *ts);
    Ok(out)
}

/// A CloudWatch Logs client for this configuration.
pub fn client(conf: &aws_config::SdkConfig) -> Client {
    Client::new(conf)
}
