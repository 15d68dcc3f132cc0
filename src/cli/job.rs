//! The nightly job file (`ingest --config sagetrail.toml`): the index and every source, resolved into the
//! same typed sources the subcommands use. Every key is documented in README.md.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ingest::sources::{LogsConfig, DEFAULT_CONCURRENCY};
use crate::query::time::{now_ms, parse_time};
use crate::source::aws::AwsOptions;
use crate::source::s3::{S3Url, TrailFilter};
use crate::Error;

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudtrailSection {
    /// A local folder or file, or s3://bucket[/prefix].
    pub source: String,
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    #[serde(flatten)]
    pub aws: AwsSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioLogsSection {
    #[serde(default = "default_group")]
    pub log_group: String,
    pub stream_prefix: Option<String>,
    pub since: Option<String>,
    pub account: Option<String>,
    /// Exported files to read instead of the API.
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(flatten)]
    pub aws: AwsSection,
}

fn default_group() -> String {
    "/aws/sagemaker/studio".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    pub index: Option<PathBuf>,
    pub concurrency: Option<usize>,
    pub threads: Option<usize>,
    #[serde(default)]
    pub aws: AwsSection,
    #[serde(default)]
    pub cloudtrail: Vec<CloudtrailSection>,
    #[serde(default)]
    pub studio_logs: Vec<StudioLogsSection>,
    /// The audit's parameters live in the same file; `audit --config` reads them.
    #[serde(default)]
    pub audit: Option<toml::Value>,
}

/// One source of a job, resolved.
#[derive(Debug, Clone)]
pub enum JobSource {
    /// Local files and folders, filtered like S3 listing where they are laid out as a trail.
    CloudtrailLocal(Vec<PathBuf>, TrailFilter),
    CloudtrailS3 {
        url: S3Url,
        filter: TrailFilter,
        aws: AwsOptions,
    },
    StudioLogsApi(LogsConfig),
    StudioLogsFiles(Vec<String>, LogsConfig),
}

/// A resolved job.
#[derive(Debug)]
pub struct Job {
    pub index: Option<PathBuf>,
    pub concurrency: usize,
    pub threads: Option<usize>,
    pub sources: Vec<JobSource>,
}

fn merge(base: &AwsSection, over: &AwsSection) -> AwsOptions {
    AwsOptions {
        profile: over.profile.clone().or_else(|| base.profile.clone()),
        region: over.region.clone().or_else(|| base.region.clone()),
        endpoint_url: over
            .endpoint_url
            .clone()
            .or_else(|| base.endpoint_url.clone()),
        ..Default::default()
    }
}

fn time(what: &str, s: &Option<String>, now: i64) -> Result<Option<i64>, Error> {
    s.as_deref()
        .map(|t| parse_time(t, now).map_err(|e| Error::Usage(format!("{what}: {e}"))))
        .transpose()
}

/// Read and validate a job file.
pub fn load(path: &Path) -> Result<Job, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("job file {}", path.display()),
        source: e,
    })?;
    let f: JobFile = toml::from_str(&text)
        .map_err(|e| Error::Usage(format!("job file {}: {}", path.display(), e.message())))?;
    let now = now_ms();
    let mut sources = Vec::new();
    for (i, c) in f.cloudtrail.iter().enumerate() {
        let what = format!("{}: cloudtrail[{i}]", path.display());
        if let Some(url) = S3Url::parse(&c.source) {
            sources.push(JobSource::CloudtrailS3 {
                url,
                filter: TrailFilter {
                    accounts: c.accounts.clone(),
                    regions: c.regions.clone(),
                    since_ms: time(&what, &c.since, now)?,
                    until_ms: time(&what, &c.until, now)?,
                },
                aws: merge(&f.aws, &c.aws),
            });
        } else if c.source.starts_with("s3:") {
            return Err(Error::Usage(format!(
                "{what}: not an s3:// URL: {}",
                c.source
            )));
        } else {
            sources.push(JobSource::CloudtrailLocal(
                vec![PathBuf::from(&c.source)],
                TrailFilter {
                    accounts: c.accounts.clone(),
                    regions: c.regions.clone(),
                    since_ms: time(&what, &c.since, now)?,
                    until_ms: time(&what, &c.until, now)?,
                },
            ));
        }
    }
    for (i, s) in f.studio_logs.iter().enumerate() {
        let what = format!("{}: studio_logs[{i}]", path.display());
        let cfg = LogsConfig {
            log_group: s.log_group.clone(),
            stream_prefix: s.stream_prefix.clone(),
            since_ms: time(&what, &s.since, now)?,
            account: s.account.clone(),
            aws: merge(&f.aws, &s.aws),
        };
        if s.paths.is_empty() {
            sources.push(JobSource::StudioLogsApi(cfg));
        } else {
            sources.push(JobSource::StudioLogsFiles(s.paths.clone(), cfg));
        }
    }
    if sources.is_empty() {
        return Err(Error::Usage(format!(
            "job file {}: no [[cloudtrail]] or [[studio_logs]] source",
            path.display()
        )));
    }
    Ok(Job {
        index: f.index,
        concurrency: f.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        threads: f.threads,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_job_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.toml");
        std::fs::write(
            &p,
            r#"
index = "/tmp/x"
concurrency = 8
[aws]
profile = "audit"
region = "us-east-1"
[[cloudtrail]]
source = "s3://trail-bucket/org"
accounts = ["111122223333"]
since = "2d"
region = "eu-west-1"
[[cloudtrail]]
source = "/data/trails"
[[studio_logs]]
since = "14d"
[[studio_logs]]
paths = ["s3://exports/studio/"]
account = "111122223333"
"#,
        )
        .unwrap();
        let j = load(&p).unwrap();
        assert_eq!(j.concurrency, 8);
        assert_eq!(j.sources.len(), 4);
        match &j.sources[0] {
            JobSource::CloudtrailS3 { url, filter, aws } => {
                assert_eq!(url.bucket, "trail-bucket");
                assert_eq!(filter.accounts, vec!["111122223333"]);
                assert!(filter.since_ms.is_some());
                assert_eq!(aws.region.as_deref(), Some("eu-west-1"));
                assert_eq!(aws.profile.as_deref(), Some("audit"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&j.sources[2], JobSource::StudioLogsApi(c) if c.log_group == "/aws/sagemaker/studio")
        );
        assert!(matches!(&j.sources[3], JobSource::StudioLogsFiles(p, _) if p.len() == 1));
    }

    #[test]
    fn unknown_keys_and_bad_times_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.toml");
        std::fs::write(&p, "[[cloudtrail]]\nsource = \"/x\"\nsinse = \"1d\"\n").unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("sinse"));
        std::fs::write(
            &p,
            "[[cloudtrail]]\nsource = \"s3://b\"\nsince = \"yesterday\"\n",
        )
        .unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("cloudtrail[0]"));
        std::fs::write(&p, "index = \"/x\"\n").unwrap();
        assert!(load(&p)
            .unwrap_err()
            .to_string()
            .contains("no [[cloudtrail]]"));
    }
}
