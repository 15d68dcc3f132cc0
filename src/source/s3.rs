//! CloudTrail objects in S3: list only the `<account>/CloudTrail/<region>/YYYY/MM/DD/` prefixes the filters
//! allow (never the whole bucket), paginate, and fetch objects concurrently.

/// The S3 client, named here so that nothing outside `source/` needs the SDK.
pub(crate) use aws_sdk_s3::Client;

use super::classify_cloudtrail;
use crate::model::ObjectRef;

/// Milliseconds in a day, for walking day prefixes.
const DAY_MS: i64 = 86_400_000;

/// `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    pub(crate) fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrailFilter {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl TrailFilter {
    /// Whether a local file laid out as a trail (`…AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/…`)
    /// is one the filter allows, by the same rule as S3 listing (the day before `since` included, since
    /// objects are named by delivery time). A file outside that layout cannot be judged and is allowed.
    pub(crate) fn allows_path(&self, path: &str) -> bool {
        let Some(i) = path.find("AWSLogs/") else {
            return true;
        };
        let mut segs = path[i + "AWSLogs/".len()..].split(['/', '\\']).peekable();
        if segs.peek().is_some_and(|s| s.starts_with("o-")) {
            segs.next();
        }
        let (Some(account), Some("CloudTrail"), Some(region), Some(y), Some(m), Some(d)) = (
            segs.next(),
            segs.next(),
            segs.next(),
            segs.next(),
            segs.next(),
            segs.next(),
        ) else {
            return true;
        };
        if !self.accounts.is_empty() && !self.accounts.iter().any(|a| a == account) {
            return false;
        }
        if !self.regions.is_empty() && !self.regions.iter().any(|r| r == region) {
            return false;
        }
        let day = format!("{y}-{m}-{d}")
            .parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp().as_millisecond().div_euclid(DAY_MS));
        let Some(day) = day else {
            return true;
        };
        let first = self.since_ms.map(|t| t.div_euclid(DAY_MS) - 1);
        let last = self.until_ms.map(|t| t.div_euclid(DAY_MS));
        first.is_none_or(|f| day >= f) && last.is_none_or(|l| day <= l)
    }
}

/// One object to fetch.
#[derive(Debug, Clone)]
pub(crate) struct S3Object {
    pub bucket: String,
    pub key: String,
    pub obj: ObjectRef,
}

/// What listing found.
#[derive(Debug, Default)]
pub(crate) struct S3Listing {
    pub objects: Vec<S3Object>,
    /// Every prefix listed object by object (the pruning, for the summary and tests).
    pub prefixes_listed: Vec<String>,
    /// Objects skipped by name, per reason.
    pub skipped: std::collections::BTreeMap<&'static str, u64>,
    pub errors: Vec<(String, String)>,
}

type ListErr = String;

/// Sub-prefixes one level below `prefix` (ListObjectsV2 with a delimiter, every page).
async fn common_prefixes(c: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, ListErr> {
    let mut out = Vec::new();
    let mut pages = c
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| super::aws::describe(&e))?;
        out.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
    }
    Ok(out)
}

/// Every object under `prefix` (every page) that is a trail object; the others counted by reason.
async fn objects_under(
    c: &Client,
    bucket: &str,
    prefix: &str,
    out: &mut S3Listing,
) -> Result<(), ListErr> {
    out.prefixes_listed.push(prefix.to_string());
    let skipped = &mut out.skipped;
    let objects = list_under(c, bucket, prefix, |key| {
        match classify_cloudtrail(key).reason() {
            Some(why) => {
                *skipped.entry(why).or_default() += 1;
                false
            }
            None => true,
        }
    })
    .await?
    .0;
    out.objects.extend(objects);
    Ok(())
}

fn last_segment(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
}

/// `YYYY/MM/DD/` for each day from the day before `since` (objects are named by delivery time, so a late
/// object of the previous day can hold events of `since`) through `until` (or today).
pub(crate) fn day_prefixes(since_ms: i64, until_ms: Option<i64>) -> Vec<String> {
    let end = until_ms.unwrap_or_else(crate::time::now_ms);
    let mut out = Vec::new();
    let mut t = since_ms - DAY_MS;
    let last_day = end.div_euclid(DAY_MS);
    while t.div_euclid(DAY_MS) <= last_day {
        if let Ok(ts) = jiff::Timestamp::from_millisecond(t) {
            out.push(ts.strftime("%Y/%m/%d/").to_string());
        }
        t += DAY_MS;
    }
    out
}

/// List the trail objects under `url` that the filter allows.
pub(crate) async fn list_trail(c: &Client, url: &S3Url, f: &TrailFilter) -> S3Listing {
    let mut out = S3Listing::default();
    let base = if url.prefix.is_empty() || url.prefix.ends_with('/') {
        url.prefix.clone()
    } else {
        format!("{}/", url.prefix)
    };
    if base.contains("AWSLogs/") {
        // Already inside the layout: list what was asked for, as is.
        if let Err(e) = objects_under(c, &url.bucket, &base, &mut out).await {
            out.errors.push((format!("s3://{}/{base}", url.bucket), e));
        }
        return out;
    }
    let awslogs = format!("{base}AWSLogs/");
    let mut account_prefixes = Vec::new();
    match common_prefixes(c, &url.bucket, &awslogs).await {
        Err(e) => {
            out.errors
                .push((format!("s3://{}/{awslogs}", url.bucket), e));
            return out;
        }
        Ok(level) => {
            for p in level {
                if last_segment(&p).starts_with("o-") {
                    match common_prefixes(c, &url.bucket, &p).await {
                        Ok(accts) => account_prefixes.extend(accts),
                        Err(e) => out.errors.push((format!("s3://{}/{p}", url.bucket), e)),
                    }
                } else {
                    account_prefixes.push(p);
                }
            }
        }
    }
    account_prefixes
        .retain(|p| f.accounts.is_empty() || f.accounts.iter().any(|a| a == last_segment(p)));
    for acct in account_prefixes {
        let ct = format!("{acct}CloudTrail/");
        let regions = if f.regions.is_empty() {
            match common_prefixes(c, &url.bucket, &ct).await {
                Ok(r) => r,
                Err(e) => {
                    out.errors.push((format!("s3://{}/{ct}", url.bucket), e));
                    continue;
                }
            }
        } else {
            f.regions.iter().map(|r| format!("{ct}{r}/")).collect()
        };
        for region in regions {
            let prefixes = match f.since_ms {
                Some(since) => day_prefixes(since, f.until_ms)
                    .into_iter()
                    .map(|d| format!("{region}{d}"))
                    .collect(),
                None => vec![region.clone()],
            };
            for p in prefixes {
                if let Err(e) = objects_under(c, &url.bucket, &p, &mut out).await {
                    out.errors.push((format!("s3://{}/{p}", url.bucket), e));
                }
            }
        }
    }
    out
}

/// Fetch one object's bytes; the SDK retries throttling and 5xx with backoff before this gives up.
pub async fn fetch(c: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let resp = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| super::aws::describe(&e))?;
    let body = resp
        .body
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok(body.into_bytes().to_vec())
}

/// Put one object whole (a reader sees all of it or none).
pub(crate) async fn put(c: &Client, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), String> {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("s3://{bucket}/{key}: {}", super::aws::describe(&e)))
}

/// Delete one object (absent already is success, as S3 has it).
pub(crate) async fn delete(c: &Client, bucket: &str, key: &str) -> Result<(), String> {
    c.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("s3://{bucket}/{key}: {}", super::aws::describe(&e)))
}

/// An S3 client for this configuration; path-style addressing when a custom endpoint is used
/// (S3-compatible stores and test servers rarely resolve bucket subdomains).
/// Every object under `bucket/prefix` (all pages) whose key `keep` accepts, and how many it did not.
pub(crate) async fn list_under(
    c: &Client,
    bucket: &str,
    prefix: &str,
    mut keep: impl FnMut(&str) -> bool,
) -> Result<(Vec<S3Object>, u64), String> {
    let mut objects = Vec::new();
    let mut skipped = 0u64;
    let mut pages = c
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| super::aws::describe(&e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            if !keep(key) {
                skipped += 1;
                continue;
            }
            objects.push(S3Object {
                bucket: bucket.to_string(),
                key: key.to_string(),
                obj: ObjectRef {
                    name: format!("s3://{bucket}/{key}"),
                    version: o.e_tag().unwrap_or("").to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                },
            });
        }
    }
    Ok((objects, skipped))
}

pub fn client(conf: &aws_config::SdkConfig) -> Client {
    let mut b = aws_sdk_s3::config::Builder::from(conf);
    if conf.endpoint_url().is_some() {
        b = b.force_path_style(true);
    }
    Client::from_conf(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            S3Url::parse("s3://b/p/q"),
            Some(S3Url {
                bucket: "b".into(),
                prefix: "p/q".into()
            })
        );
        assert_eq!(
            S3Url::parse("s3://b"),
            Some(S3Url {
                bucket: "b".into(),
                prefix: "".into()
            })
        );
        assert_eq!(S3Url::parse("s3:///x"), None);
        assert_eq!(S3Url::parse("/local"), None);
    }

    #[test]
    fn local_paths_are_filtered_as_listing_would() {
        let f = TrailFilter {
            accounts: vec!["111122223333".into()],
            regions: vec![],
            since_ms: Some(1715644800000), // 2024-05-14
            until_ms: Some(1715731200000), // 2024-05-15
        };
        let p = |acct: &str, day: &str| {
            format!("/data/AWSLogs/o-abc/{acct}/CloudTrail/us-east-1/{day}/x.json.gz")
        };
        assert!(
            f.allows_path(&p("111122223333", "2024/05/13")),
            "the day before"
        );
        assert!(f.allows_path(&p("111122223333", "2024/05/15")));
        assert!(!f.allows_path(&p("111122223333", "2024/05/12")));
        assert!(!f.allows_path(&p("111122223333", "2024/05/16")));
        assert!(!f.allows_path(&p("444455556666", "2024/05/14")));
        assert!(
            f.allows_path("/tmp/events.json"),
            "not laid out: cannot be judged"
        );
        assert!(TrailFilter::default().allows_path(&p("1", "1999/01/01")));
    }

    #[test]
    fn day_prefixes_cover_the_day_before() {
        let since = 1715644800000; // 2024-05-14T00:00:00Z
        let until = Some(1715731200000 + 3_600_000); // 2024-05-15T01:00:00Z
        assert_eq!(
            day_prefixes(since, until),
            vec!["2024/05/13/", "2024/05/14/", "2024/05/15/"]
        );
    }
}
