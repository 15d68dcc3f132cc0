//! Resolved configuration: flags and job files turned into validated values before any work starts
//! (index location, times, parsed queries, ingest and lake plans, audit parameters). Every command's
//! settings pass through here once; nothing downstream re-checks a flag. An ingest goes flags or job file
//! → [`IngestLow`] (as written) → [`resolve_ingest`] → [`IngestPlan`] (checked), one function for both.

use std::path::PathBuf;

use super::args::{
    AwsArgs, IngestArgs, IngestCommon, IngestSource, LakeWriteArgs, OmitPart, RuleParamArgs,
    SummaryFormat, TrailArgs, Window,
};
use crate::index::merge::MergeConfig;
use crate::index::schema::Omit;
use crate::index::WriterConfig;
use crate::ingest::sources::LogsConfig;
use crate::query::{self, Node};
use crate::source::aws::AwsOptions;
use crate::source::s3::{S3Url, TrailFilter};
use crate::source::Location;
use crate::time::{now_ms, parse_time};
use crate::Error;

/// Default number of hits `search` prints when neither `--limit` nor `--all` is given: a screenful that
/// still shows a pattern; the count of the rest is said on stderr.
pub(crate) const DEFAULT_LIMIT: usize = 100;

/// Where the index lives: the flag (or `SAGETRAIL_INDEX`, handled by clap), else the platform data dir.
pub(crate) fn index_dir(flag: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(p) = flag {
        return Ok(p);
    }
    dirs::data_dir()
        .map(|d| d.join("sagetrail").join("index"))
        .ok_or_else(|| {
            Error::Usage(
                "no platform data directory; pass --index DIR or set SAGETRAIL_INDEX".into(),
            )
        })
}

/// A validated time window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimeWindow {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

pub(crate) fn window(w: &Window) -> Result<TimeWindow, Error> {
    let now = now_ms();
    let since_ms = w.since.as_deref().map(|s| parse_time(s, now)).transpose()?;
    let until_ms = w.until.as_deref().map(|s| parse_time(s, now)).transpose()?;
    if let (Some(a), Some(b)) = (since_ms, until_ms) {
        if a >= b {
            return Err(Error::Usage(format!(
                "--since ({}) is not before --until ({})",
                w.since.as_deref().unwrap_or(""),
                w.until.as_deref().unwrap_or("")
            )));
        }
    }
    Ok(TimeWindow { since_ms, until_ms })
}

/// Parse a query argument (absent or empty: everything).
pub(crate) fn parse_query(q: Option<&str>) -> Result<Node, Error> {
    Ok(query::parse(q.unwrap_or(""))?)
}

/// The largest `--max-object-mb`: objects are held in memory whole, a few at a time.
const MAX_OBJECT_MB: u64 = 16 * 1024;

/// More decode threads than this only adds start-up and contention (2,048 took 31 s on 24 events); the
/// pipeline is bounded by the single writer long before.
const MAX_THREADS: usize = 256;

/// `what: message`, or the message alone when the setting came from a flag (nothing to name).
fn named(what: &str, msg: impl std::fmt::Display) -> Error {
    if what.is_empty() {
        Error::Usage(msg.to_string())
    } else {
        Error::Usage(format!("{what}: {msg}"))
    }
}

fn time(what: &str, s: &Option<String>, now: i64) -> Result<Option<i64>, Error> {
    s.as_deref()
        .map(|t| parse_time(t, now).map_err(|e| named(what, e)))
        .transpose()
}

/// An input as written: `s3://bucket[/prefix]`, else a local path; `s3:` without a valid URL is an
/// error rather than a local file of that name.
pub(crate) fn location(what: &str, input: &str) -> Result<Location, Error> {
    match S3Url::parse(input) {
        Some(u) => Ok(Location::S3(u)),
        None if input.starts_with("s3:") => Err(named(what, format!("not an s3:// URL: {input}"))),
        None => Ok(Location::Local(PathBuf::from(input))),
    }
}

/// `--max-object-mb` (or the job's) in bytes, checked.
pub(crate) fn max_object_bytes(mb: u64) -> Result<u64, Error> {
    if mb == 0 || mb > MAX_OBJECT_MB {
        return Err(Error::Usage(format!(
            "--max-object-mb must be between 1 and {MAX_OBJECT_MB}"
        )));
    }
    Ok(mb * 1024 * 1024)
}

/// `--threads`, checked (none: rayon's default, the number of cores).
pub(crate) fn threads(threads: Option<usize>) -> Result<Option<usize>, Error> {
    match threads {
        Some(n) if n == 0 || n > MAX_THREADS => Err(Error::Usage(format!(
            "--threads must be between 1 and {MAX_THREADS} (got {n})"
        ))),
        t => Ok(t),
    }
}

/// The AWS flags as the SDK loader's options.
pub(crate) fn aws_options(a: &AwsArgs) -> AwsOptions {
    AwsOptions {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        ..Default::default()
    }
}

/// Trail sources as written, by flags or by a job file: not yet checked (ripgrep's `LowArgs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TrailLow {
    /// What names this source in an error: empty for flags, `job.toml: cloudtrail[0]` for a job file.
    pub what: String,
    pub inputs: Vec<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub aws: AwsOptions,
}

/// A Studio logs source as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct StudioLogsLow {
    pub what: String,
    /// Exported files; none: the CloudWatch Logs API.
    pub inputs: Vec<String>,
    pub log_group: String,
    pub stream_prefix: Option<String>,
    pub since: Option<String>,
    pub account: Option<String>,
    pub aws: AwsOptions,
}

/// An ingest as written: the flags of one subcommand, or a whole job file.
#[derive(Debug, Clone, Default)]
pub(crate) struct IngestLow {
    pub index: Option<PathBuf>,
    pub concurrency: usize,
    pub threads: Option<usize>,
    pub cloudtrail: Vec<TrailLow>,
    pub studio_logs: Vec<StudioLogsLow>,
}

/// One source of an ingest, resolved.
#[derive(Debug, Clone)]
pub(crate) enum JobSource {
    /// Local files and folders, filtered like S3 listing where they are laid out as a trail.
    CloudtrailLocal(Vec<PathBuf>, TrailFilter),
    CloudtrailS3 {
        url: S3Url,
        filter: TrailFilter,
        aws: AwsOptions,
    },
    StudioLogsApi(LogsConfig),
    /// Exported files, local or in S3.
    StudioLogsFiles(Vec<Location>, LogsConfig),
}

/// An ingest, validated (ripgrep's `HiArgs`): what every source reads, and how the index is written.
#[derive(Debug)]
pub(crate) struct IngestPlan {
    pub sources: Vec<JobSource>,
    pub concurrency: usize,
    /// Decode threads (none: the number of cores).
    pub threads: Option<usize>,
    pub writer: WriterConfig,
    pub summary: SummaryFormat,
    pub dry_run: bool,
}

/// The accounts, regions and days a trail source is limited to.
pub(crate) fn trail_filter(what: &str, t: &TrailLow, now: i64) -> Result<TrailFilter, Error> {
    Ok(TrailFilter {
        accounts: t.accounts.clone(),
        regions: t.regions.clone(),
        since_ms: time(what, &t.since, now)?,
        until_ms: time(what, &t.until, now)?,
    })
}

/// The trail flags shared by `ingest cloudtrail` and `lake write`, as written.
pub(crate) fn trail_low(t: &TrailArgs, aws: &AwsArgs) -> TrailLow {
    TrailLow {
        what: String::new(),
        inputs: t.inputs.clone(),
        accounts: t.accounts.clone(),
        regions: t.regions.clone(),
        since: t.since.clone(),
        until: t.until.clone(),
        aws: aws_options(aws),
    }
}

/// The one path from `sagetrail ingest …` — flags or `--config FILE` — to a validated plan.
pub(crate) fn ingest_plan(
    index_flag: Option<PathBuf>,
    a: &IngestArgs,
) -> Result<IngestPlan, Error> {
    let low = match (&a.config, &a.source) {
        (Some(path), _) => super::job::read(path)?,
        (None, Some(IngestSource::Cloudtrail(c))) => IngestLow {
            concurrency: c.concurrency,
            cloudtrail: vec![trail_low(&c.trail, &c.aws)],
            ..Default::default()
        },
        (None, Some(IngestSource::StudioLogs(s))) => IngestLow {
            concurrency: s.concurrency,
            studio_logs: vec![StudioLogsLow {
                what: String::new(),
                inputs: s.inputs.clone(),
                log_group: s.log_group.clone(),
                stream_prefix: s.stream_prefix.clone(),
                since: s.since.clone(),
                account: s.account.clone(),
                aws: aws_options(&s.aws),
            }],
            ..Default::default()
        },
        (None, None) => {
            return Err(Error::Usage(
                "ingest needs a source (cloudtrail, studio-logs) or --config FILE".into(),
            ))
        }
    };
    resolve_ingest(low, index_flag, &a.common)
}

/// Check an ingest as written and resolve it; the flag's index wins over the job file's.
pub(crate) fn resolve_ingest(
    low: IngestLow,
    index_flag: Option<PathBuf>,
    common: &IngestCommon,
) -> Result<IngestPlan, Error> {
    let now = now_ms();
    let mut sources = Vec::new();
    for t in &low.cloudtrail {
        let filter = trail_filter(&t.what, t, now)?;
        let mut local = Vec::new();
        let mut s3 = Vec::new();
        for i in &t.inputs {
            match location(&t.what, i)? {
                Location::Local(p) => local.push(p),
                Location::S3(url) => s3.push(JobSource::CloudtrailS3 {
                    url,
                    filter: filter.clone(),
                    aws: t.aws.clone(),
                }),
            }
        }
        if !local.is_empty() {
            sources.push(JobSource::CloudtrailLocal(local, filter));
        }
        sources.extend(s3);
    }
    for s in &low.studio_logs {
        let cfg = LogsConfig {
            log_group: s.log_group.clone(),
            stream_prefix: s.stream_prefix.clone(),
            since_ms: time(&s.what, &s.since, now)?,
            account: s.account.clone(),
            aws: s.aws.clone(),
        };
        sources.push(if s.inputs.is_empty() {
            JobSource::StudioLogsApi(cfg)
        } else {
            JobSource::StudioLogsFiles(
                s.inputs
                    .iter()
                    .map(|i| location(&s.what, i))
                    .collect::<Result<_, _>>()?,
                cfg,
            )
        });
    }
    if low.concurrency == 0 {
        return Err(Error::Usage("concurrency must be at least 1".into()));
    }
    let index = index_dir(index_flag.or(low.index))?;
    Ok(IngestPlan {
        sources,
        concurrency: low.concurrency,
        threads: threads(low.threads.or(common.threads))?,
        writer: writer_config(index, common)?,
        summary: common.summary,
        dry_run: common.dry_run,
    })
}

/// How the index is written, from the common ingest flags.
pub(crate) fn writer_config(index: PathBuf, c: &IngestCommon) -> Result<WriterConfig, Error> {
    if c.merge_max_docs < 2 {
        return Err(Error::Usage("--merge-max-docs must be at least 2".into()));
    }
    if c.memory_mb < 32 {
        return Err(Error::Usage("--memory-mb must be at least 32".into()));
    }
    let max_inflated = max_object_bytes(c.max_object_mb)?;
    // tantivy needs at least 15 MB per indexing thread; two threads keep up with decode on 2 cores.
    let threads = (c.memory_mb / 16).clamp(1, 2);
    let has = |p| c.bench_omit.contains(&p);
    Ok(WriterConfig {
        dir: index,
        heap_bytes: c.memory_mb * 1024 * 1024,
        threads,
        reindex: c.reindex,
        commit_every: c.commit_every,
        dry_run: c.dry_run,
        omit: Omit {
            text: has(OmitPart::Text),
            paths: has(OmitPart::Paths),
            keywords: has(OmitPart::Keywords),
            record: has(OmitPart::Record),
        },
        max_inflated,
        merge: MergeConfig {
            max_docs: c.merge_max_docs,
            parallel: threads,
            ..Default::default()
        },
    })
}

/// `lake write`, validated.
pub(crate) fn lake_write(a: &LakeWriteArgs) -> Result<crate::lake::WriteConfig, Error> {
    let max = max_object_bytes(a.max_object_mb)?;
    if a.chunk_mb == 0 || a.rows_per_file == 0 {
        return Err(Error::Usage(
            "--chunk-mb and --rows-per-file must be at least 1".into(),
        ));
    }
    let low = trail_low(&a.trail, &a.aws);
    let inputs = low
        .inputs
        .iter()
        .map(|i| location("", i))
        .collect::<Result<Vec<_>, _>>()?;
    if a.to.starts_with("s3:") && S3Url::parse(&a.to).is_none() {
        return Err(Error::Usage(format!("not an s3:// URL: {}", a.to)));
    }
    Ok(crate::lake::WriteConfig {
        inputs,
        filter: trail_filter("", &low, now_ms())?,
        dest: a.to.clone(),
        aws: low.aws,
        chunk_bytes: a.chunk_mb * 1024 * 1024,
        rows_per_file: a.rows_per_file,
        max_inflated: max,
        max_object_bytes: max,
    })
}

/// The audit's parameters: the config file's [audit] table, then the flags on top.
pub(crate) fn audit_params(a: &RuleParamArgs) -> Result<crate::questions::audit::Params, Error> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        audit: crate::questions::audit::Params,
    }
    let mut p = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
                what: format!("config {}", path.display()),
                source: e,
            })?;
            // Only the [audit] table matters here; a job file's other tables are allowed beside it.
            let v: toml::Table = toml::from_str(&text)
                .map_err(|e| Error::Usage(format!("config {}: {}", path.display(), e.message())))?;
            let audit_only =
                toml::Table::from_iter(v.get("audit").map(|t| ("audit".to_string(), t.clone())));
            let f: File = audit_only.try_into().map_err(|e: toml::de::Error| {
                Error::Usage(format!(
                    "config {}: [audit]: {}",
                    path.display(),
                    e.message()
                ))
            })?;
            f.audit
        }
        None => Default::default(),
    };
    p.allow_cidr.extend(a.allow_cidr.iter().cloned());
    p.allow_vpce.extend(a.allow_vpce.iter().cloned());
    p.allow_instance_type
        .extend(a.allow_instance_type.iter().cloned());
    p.allow_image.extend(a.allow_image.iter().cloned());
    p.admin_role.extend(a.admin_role.iter().cloned());
    if a.required_tag.is_some() {
        p.required_tag = a.required_tag.clone();
    }
    if a.max_session_seconds.is_some() {
        p.max_session_seconds = a.max_session_seconds;
    }
    // NaN compares false with everything and infinity is never exceeded: either would switch the rule off.
    if let Some(v) = p.max_session_seconds {
        if !v.is_finite() || v < 0.0 {
            return Err(Error::Usage(format!(
                "max-session-seconds must be a finite number of seconds, 0 or more (got {v})"
            )));
        }
    }
    Ok(p)
}

/// A question's scope: the time window and the `--where` filter.
pub(crate) fn scope(w: &Window, where_: Option<&str>) -> Result<crate::questions::Scope, Error> {
    let tw = window(w)?;
    Ok(crate::questions::Scope {
        since_ms: tw.since_ms,
        until_ms: tw.until_ms,
        filter: where_.map(|q| parse_query(Some(q))).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> IngestArgs {
        let cli = super::super::args::Cli::parse_from(argv);
        match cli.command {
            super::super::args::Command::Ingest(a) => a,
            _ => unreachable!("an ingest command"),
        }
    }

    fn job(text: &str) -> (tempfile::TempDir, String) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("job.toml");
        std::fs::write(&p, text).unwrap();
        let s = p.to_str().unwrap().to_string();
        (d, s)
    }

    #[test]
    fn flags_and_job_file_resolve_to_the_same_plan() {
        let flags = args(&[
            "sagetrail",
            "ingest",
            "cloudtrail",
            "/data/trail",
            "s3://bucket/AWSLogs",
            "--accounts",
            "111122223333",
            "--regions",
            "us-east-1",
            "--since",
            "2024-05-01",
            "--until",
            "2024-05-03",
            "--concurrency",
            "4",
            "--region",
            "eu-west-1",
            "--threads",
            "2",
        ]);
        let (_d, p) = job(r#"
concurrency = 4
threads = 2
[aws]
region = "eu-west-1"
[[cloudtrail]]
source = "/data/trail"
accounts = ["111122223333"]
regions = ["us-east-1"]
since = "2024-05-01"
until = "2024-05-03"
[[cloudtrail]]
source = "s3://bucket/AWSLogs"
accounts = ["111122223333"]
regions = ["us-east-1"]
since = "2024-05-01"
until = "2024-05-03"
"#);
        let from_job = args(&["sagetrail", "ingest", "--config", &p]);
        let a = ingest_plan(Some("/idx".into()), &flags).unwrap();
        let b = ingest_plan(Some("/idx".into()), &from_job).unwrap();
        assert_eq!(format!("{:?}", a.sources), format!("{:?}", b.sources));
        assert_eq!((a.concurrency, a.threads), (b.concurrency, b.threads));
        assert_eq!(a.writer.dir, b.writer.dir);
        assert_eq!(a.sources.len(), 2);
    }

    #[test]
    fn both_paths_refuse_the_same_bad_settings() {
        for (flag_argv, toml) in [
            (
                vec!["sagetrail", "ingest", "cloudtrail", "s3:bucket"],
                "[[cloudtrail]]\nsource = \"s3:bucket\"\n",
            ),
            (
                vec![
                    "sagetrail",
                    "ingest",
                    "cloudtrail",
                    "/x",
                    "--since",
                    "yesterday",
                ],
                "[[cloudtrail]]\nsource = \"/x\"\nsince = \"yesterday\"\n",
            ),
            (
                vec!["sagetrail", "ingest", "studio-logs", "s3:exports"],
                "[[studio_logs]]\npaths = [\"s3:exports\"]\n",
            ),
            (
                vec!["sagetrail", "ingest", "studio-logs", "--since", "soon"],
                "[[studio_logs]]\nsince = \"soon\"\n",
            ),
            (
                vec!["sagetrail", "ingest", "cloudtrail", "/x", "--threads", "0"],
                "threads = 0\n[[cloudtrail]]\nsource = \"/x\"\n",
            ),
            (
                vec![
                    "sagetrail",
                    "ingest",
                    "cloudtrail",
                    "/x",
                    "--concurrency",
                    "0",
                ],
                "concurrency = 0\n[[cloudtrail]]\nsource = \"/x\"\n",
            ),
        ] {
            let e = ingest_plan(Some("/idx".into()), &args(&flag_argv)).unwrap_err();
            let (_d, p) = job(toml);
            let j = ingest_plan(
                Some("/idx".into()),
                &args(&["sagetrail", "ingest", "--config", &p]),
            )
            .unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{flag_argv:?}: {e}");
            assert!(matches!(j, Error::Usage(_)), "{toml}: {j}");
            // The same message; the job file's may name the source in front of it.
            let (e, j) = (e.to_string(), j.to_string());
            assert!(j.ends_with(&e), "{e} / {j}");
        }
    }
}
