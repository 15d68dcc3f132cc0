//! The nightly job file (`ingest --config sagetrail.toml`): its wire format, read into the same
//! as-written ingest the subcommands' flags make ([`IngestLow`]), which `config` then checks and resolves
//! for both. Every key is documented in README.md.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::config::{IngestLow, StudioLogsLow, TrailLow};
use crate::ingest::sources::{DEFAULT_CONCURRENCY, DEFAULT_LOG_GROUP};
use crate::source::aws::AwsOptions;
use crate::Error;

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct AwsSection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloudtrailSection {
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
pub(crate) struct StudioLogsSection {
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
    DEFAULT_LOG_GROUP.into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobFile {
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
    #[serde(default, rename = "audit")]
    _audit: Option<toml::Value>,
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

/// Read a job file into an ingest as written; [`super::config::resolve_ingest`] checks it, as it checks
/// the flags.
pub(crate) fn read(path: &Path) -> Result<IngestLow, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("job file {}", path.display()),
        source: e,
    })?;
    let f: JobFile = toml::from_str(&text)
        .map_err(|e| Error::Usage(format!("job file {}: {}", path.display(), e.message())))?;
    if f.cloudtrail.is_empty() && f.studio_logs.is_empty() {
        return Err(Error::Usage(format!(
            "job file {}: no [[cloudtrail]] or [[studio_logs]] source",
            path.display()
        )));
    }
    let cloudtrail = f
        .cloudtrail
        .iter()
        .enumerate()
        .map(|(i, c)| TrailLow {
            what: format!("{}: cloudtrail[{i}]", path.display()),
            inputs: vec![c.source.clone()],
            accounts: c.accounts.clone(),
            regions: c.regions.clone(),
            since: c.since.clone(),
            until: c.until.clone(),
            aws: merge(&f.aws, &c.aws),
        })
        .collect();
    let studio_logs = f
        .studio_logs
        .iter()
        .enumerate()
        .map(|(i, s)| StudioLogsLow {
            what: format!("{}: studio_logs[{i}]", path.display()),
            inputs: s.paths.clone(),
            log_group: s.log_group.clone(),
            stream_prefix: s.stream_prefix.clone(),
            since: s.since.clone(),
            account: s.account.clone(),
            aws: merge(&f.aws, &s.aws),
        })
        .collect();
    Ok(IngestLow {
        index: f.index,
        concurrency: f.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        threads: f.threads,
        cloudtrail,
        studio_logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::config::{resolve_ingest, IngestPlan, JobSource};

    fn load(p: &Path) -> Result<IngestPlan, Error> {
        use clap::Parser;
        let cli = crate::cli::args::Cli::parse_from(["sagetrail", "ingest", "--config", "x"]);
        let crate::cli::args::Command::Ingest(a) = cli.command else {
            unreachable!()
        };
        resolve_ingest(read(p)?, None, &a.common)
    }

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
        assert!(
            matches!(&j.sources[3], JobSource::StudioLogsFiles(p, _) if p.len() == 1 && matches!(p[0], crate::source::Location::S3(_)))
        );
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
