//! Raw command-line flags (clap derive). Nothing here is validated beyond what clap checks; see
//! `config.rs` for the resolved, validated form.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::Format;

#[derive(Debug, Parser)]
#[command(
    name = "sagetrail",
    version,
    about = "Who did what, when, from where in SageMaker Studio: CloudTrail and Studio logs in a local index",
    after_help = "Exit codes: 0 done; 1 audit findings; 2 usage, bad query or fatal error; 3 finished but some inputs failed (for audit: no findings, and a Sigma rule could not run)."
)]
pub(crate) struct Cli {
    /// Index directory [default: $SAGETRAIL_INDEX, else the platform data directory]
    #[arg(long, global = true, env = "SAGETRAIL_INDEX", value_name = "DIR")]
    pub index: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read evidence into the index (incremental: objects already ingested are not read again)
    Ingest(IngestArgs),
    /// Find events: Lucene-style query over CloudTrail field paths, derived keys and full text
    Search(SearchArgs),
    /// Count events per value of a field
    Stats(StatsArgs),
    /// What the index holds
    Info(InfoArgs),
    /// Check the index for damage: every file's checksum, every segment readable; exit 2 naming what is
    /// damaged (`ingest --reindex` rebuilds it)
    Verify,
    /// Who performed an action (an eventName; Create* allowed): one row per acting identity
    Who(WhoArgs),
    /// What an identity did: a summary per eventName (and the events with --events)
    Activity(ActivityArgs),
    /// Everything an identity did, in time order, CloudTrail and Studio logs interleaved, sessions marked
    Timeline(TimelineArgs),
    /// Check the platform's guardrails (rules in schema/rules/) against what happened; exit 1 on findings
    Audit(AuditArgs),
    /// One self-contained HTML report of a scope: when, who, what, a timeline and (with --audit) the
    /// guardrails broken, with the records as evidence
    Report(ReportArgs),
    /// A Parquet lake of what sagetrail knows (every attribution key and the actor) for Spark, Athena,
    /// Trino and DuckDB: write it, print each engine's DDL, compile a query to its SQL
    Lake(LakeArgs),
    /// Who ran what for how long: app, job and notebook-instance hours per instance type, estimated from
    /// CloudTrail (no prices, no billing data)
    Usage(UsageArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// What the report covers (the query language of `search`; none: every event)
    #[arg(value_name = "QUERY", allow_hyphen_values = true)]
    pub query: Option<String>,
    /// Only what this identity did (an identifier as `timeline` takes it)
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub actor: Option<String>,
    #[command(flatten)]
    pub window: Window,
    /// Check the guardrails too: the built-in rules with the parameters below, and any --sigma rules
    #[arg(long)]
    pub audit: bool,
    /// Sigma rules to run with --audit (files or folders, repeatable)
    #[arg(long, value_name = "PATH", requires = "audit")]
    pub sigma: Vec<PathBuf>,
    #[command(flatten)]
    pub params: RuleParamArgs,
    /// The HTML file to write (`-`: standard output); written whole, then renamed into place
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// Group by this
    #[arg(long, value_enum, default_value_t = UsageBy::UserProfile)]
    pub by: UsageBy,
    /// One row per run (app, job, notebook instance start) instead of the sums
    #[arg(long)]
    pub runs: bool,
    #[command(flatten)]
    pub scope: QuestionScope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UsageBy {
    #[value(name = "userProfile")]
    UserProfile,
    Space,
    Actor,
    Domain,
}

/// What every compliance question takes: a narrowing query, the time window and the output format.
#[derive(Debug, Args)]
pub(crate) struct QuestionScope {
    /// Narrow with any query, e.g. 'requestParameters.userProfileName:bob'
    #[arg(long = "where", value_name = "QUERY", allow_hyphen_values = true)]
    pub where_: Option<String>,
    #[command(flatten)]
    pub window: Window,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct WhoArgs {
    /// The eventName, e.g. CreatePresignedDomainUrl or Create*
    #[arg(value_name = "ACTION")]
    pub action: String,
    #[command(flatten)]
    pub scope: QuestionScope,
}

#[derive(Debug, Args)]
pub(crate) struct ActivityArgs {
    /// A sourceIdentity, user profile, role ARN, space ARN, principal ARN, access key id or principal id
    #[arg(value_name = "ID", allow_hyphen_values = true)]
    pub id: String,
    /// Also print the events themselves
    #[arg(long)]
    pub events: bool,
    #[command(flatten)]
    pub scope: QuestionScope,
}

#[derive(Debug, Args)]
pub(crate) struct TimelineArgs {
    /// A sourceIdentity, user profile, role ARN, space ARN, principal ARN, access key id or principal id
    #[arg(value_name = "ID", allow_hyphen_values = true)]
    pub id: String,
    #[command(flatten)]
    pub scope: QuestionScope,
}

/// The rule pack's parameters, shared by `audit` and `report --audit`.
#[derive(Debug, Args)]
pub(crate) struct RuleParamArgs {
    /// TOML file whose [audit] table sets the parameters below (flags add to it)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Networks presigned URLs may be requested from (repeatable)
    #[arg(long, value_name = "CIDR")]
    pub allow_cidr: Vec<String>,
    /// VPC endpoints presigned URLs may come through (repeatable)
    #[arg(long, value_name = "VPCE")]
    pub allow_vpce: Vec<String>,
    /// Instance types Studio apps may use (repeatable)
    #[arg(long, value_name = "TYPE")]
    pub allow_instance_type: Vec<String>,
    /// Image ARNs Studio apps may use (repeatable)
    #[arg(long, value_name = "ARN")]
    pub allow_image: Vec<String>,
    /// Roles allowed to open any profile (repeatable)
    #[arg(long, value_name = "ARN")]
    pub admin_role: Vec<String>,
    /// The tag every user profile and job must carry [default: studiouserid]
    #[arg(long, value_name = "KEY")]
    pub required_tag: Option<String>,
    /// Longest allowed Studio session [default: 43200]
    #[arg(long, value_name = "SECONDS")]
    pub max_session_seconds: Option<f64>,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Run only these rules (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// List the rules and exit
    #[arg(long)]
    pub list: bool,
    /// Also run these Sigma rules (files, or folders of *.yml) for logsource aws/cloudtrail (repeatable)
    #[arg(long, value_name = "PATH")]
    pub sigma: Vec<PathBuf>,
    /// Run only the Sigma rules, not the built-in pack
    #[arg(long, requires = "sigma")]
    pub sigma_only: bool,
    #[command(flatten)]
    pub params: RuleParamArgs,
    #[command(flatten)]
    pub scope: QuestionScope,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct IngestArgs {
    /// Run every source named in a TOML job file (the nightly job); see README
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub common: IngestCommon,
    #[command(subcommand)]
    pub source: Option<IngestSource>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum IngestSource {
    /// CloudTrail objects: local files and folders (walked recursively) or s3://BUCKET[/PREFIX]
    Cloudtrail(CloudtrailArgs),
    /// Studio app logs: the CloudWatch Logs API, or exported files (local or s3://)
    StudioLogs(StudioLogsArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AwsArgs {
    /// AWS profile (default: the standard credential chain)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Endpoint for S3-compatible stores and tests (also AWS_ENDPOINT_URL)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// The CloudTrail inputs and the accounts, regions and days to read of them: `ingest cloudtrail` and
/// `lake write` take the same.
#[derive(Debug, Args, Clone)]
pub(crate) struct TrailArgs {
    /// Files, folders or s3://BUCKET[/PREFIX]: .json, .ndjson, .jsonl or .log (each optionally .gz) holding
    /// trail containers, records, lookup-events output, CloudWatch Logs or EventBridge envelopes
    #[arg(required = true, value_name = "PATH|S3URL")]
    pub inputs: Vec<String>,
    /// Only these accounts (comma-separated or repeated): S3 listing, and local folders laid out as a trail
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only these regions (comma-separated or repeated), in S3 and in local trail folders
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only objects of days from this time (RFC 3339, date or age); the day before is read too (objects
    /// are named by delivery time). S3 and local trail folders
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only objects of days up to this time, in S3 and local trail folders
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CloudtrailArgs {
    #[command(flatten)]
    pub trail: TrailArgs,
    /// S3: objects fetched at once
    #[arg(long, value_name = "N", default_value_t = crate::ingest::sources::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StudioLogsArgs {
    /// Exported log files (local folders or s3://BUCKET/PREFIX); without any, read the CloudWatch Logs API
    #[arg(value_name = "PATH|S3URL")]
    pub inputs: Vec<String>,
    /// The log group
    #[arg(long, value_name = "GROUP", default_value = crate::ingest::sources::DEFAULT_LOG_GROUP)]
    pub log_group: String,
    /// Only streams whose names start with this (e.g. a domain id)
    #[arg(long, value_name = "PREFIX")]
    pub stream_prefix: Option<String>,
    /// Only events at or after this time (RFC 3339, date or age)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Account id for space ARNs (default: from the log group's ARN)
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// S3: objects fetched at once
    #[arg(long, value_name = "N", default_value_t = crate::ingest::sources::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct IngestCommon {
    /// Drop the index's contents and read everything again (in one commit with the new data)
    #[arg(long, global = true)]
    pub reindex: bool,
    /// Where the end-of-run summary goes: text on stderr, or one JSON object on stdout
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text, global = true)]
    pub summary: SummaryFormat,
    /// Decode threads [default: the number of cores]
    #[arg(long, value_name = "N", global = true)]
    pub threads: Option<usize>,
    /// Indexing memory in MiB (shared by tantivy's indexing threads)
    #[arg(long, value_name = "MIB", default_value_t = 256, global = true)]
    pub memory_mb: usize,
    /// Commit (make data visible and durable, with the record of done objects) every N added events
    #[arg(long, value_name = "N", default_value_t = crate::index::write::DEFAULT_COMMIT_EVERY, global = true)]
    pub commit_every: usize,
    /// At the end of a run, merge small segments into segments of at most N events (bounds the memory
    /// of a merge; larger means fewer segments)
    #[arg(long, value_name = "N", default_value_t = crate::index::merge::DEFAULT_MAX_MERGE_DOCS, global = true)]
    pub merge_max_docs: u32,
    /// Refuse an object that is (or inflates to) more than this many MiB: bounds memory against
    /// decompression bombs; real CloudTrail objects inflate to tens of MiB
    #[arg(long, value_name = "MIB", default_value_t = crate::decode::DEFAULT_MAX_INFLATED / (1024 * 1024), global = true)]
    pub max_object_mb: u64,
    /// Read, decode and normalise everything but index nothing (measures the decode limit)
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Bench instrument: leave these parts out of every event document (text, paths, keywords,
    /// record), to measure what each costs; the index then answers wrongly. Used by benches/compare.
    #[arg(
        long,
        value_name = "PARTS",
        value_delimiter = ',',
        global = true,
        hide = true
    )]
    pub bench_omit: Vec<OmitPart>,
}

/// A part of an event document `--bench-omit` can leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OmitPart {
    Text,
    Paths,
    Keywords,
    Record,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SummaryFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct Window {
    /// Only events at or after this time: RFC 3339, a date, or an age (7d, 12h, 30m)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only events before this time
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The query (e.g. 'eventName:CreatePresignedDomainUrl AND userProfile:alice'); empty means everything
    #[arg(value_name = "QUERY", allow_hyphen_values = true)]
    pub query: Option<String>,
    #[command(flatten)]
    pub window: Window,
    /// At most N hits
    #[arg(long, value_name = "N", conflicts_with = "all")]
    pub limit: Option<usize>,
    /// Every hit (streamed)
    #[arg(long)]
    pub all: bool,
    /// Oldest first (default: newest first)
    #[arg(long)]
    pub oldest_first: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the number of hits
    #[arg(long)]
    pub count: bool,
    /// Bars of hits per interval (auto-sized) above the hits (on stderr for json and csv, so pipes stay clean)
    #[arg(long)]
    pub histogram: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// A named field (eventName, actor, userProfile, ...) or any CloudTrail path
    #[arg(long, value_name = "FIELD")]
    pub by: String,
    /// Only events matching this query
    #[arg(value_name = "QUERY", allow_hyphen_values = true)]
    pub query: Option<String>,
    #[command(flatten)]
    pub window: Window,
    /// The N most frequent values
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// With --by eventTime: counts per interval (15m, 1h, 1d, 30s, 1w, or auto from the window)
    #[arg(long, value_name = "INTERVAL")]
    pub interval: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct LakeArgs {
    #[command(subcommand)]
    pub command: LakeCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LakeCommand {
    /// CloudTrail objects (folders, files, s3://BUCKET[/PREFIX]) into the lake at --to (a folder or s3://)
    Write(LakeWriteArgs),
    /// Print ready-to-run DDL for an engine: the tables and the `events` view (one row per eventID,
    /// actors resolved through issued keys)
    Ddl(LakeDdlArgs),
    /// Print a query of sagetrail's language as the engine's SQL over the `events` view
    Sql(LakeSqlArgs),
    /// Rewrite partitions as one file each with every eventID once (late and redelivered objects)
    Compact(LakeCompactArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LakeCompactArgs {
    /// The lake: a folder or s3://BUCKET[/PREFIX]
    #[arg(long, value_name = "DEST")]
    pub to: String,
    /// Only these partitions (`events/account=…/region=…/date=…`, repeatable); default every one
    #[arg(long, value_name = "PATH")]
    pub partition: Vec<String>,
    /// Rows per file at most
    #[arg(long, value_name = "N", default_value_t = crate::lake::DEFAULT_ROWS_PER_FILE)]
    pub rows_per_file: usize,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LakeEngine {
    Duckdb,
    Athena,
    Trino,
    Spark,
}

#[derive(Debug, Args)]
pub(crate) struct LakeWriteArgs {
    #[command(flatten)]
    pub trail: TrailArgs,
    /// The lake: a folder or s3://BUCKET[/PREFIX]
    #[arg(long, value_name = "DEST")]
    pub to: String,
    /// Input read per chunk (files are named by the chunk's objects; larger means fewer, larger files and more memory)
    #[arg(long, value_name = "MIB", default_value_t = crate::lake::DEFAULT_CHUNK_MB)]
    pub chunk_mb: u64,
    /// Rows per file at most
    #[arg(long, value_name = "N", default_value_t = crate::lake::DEFAULT_ROWS_PER_FILE)]
    pub rows_per_file: usize,
    /// Refuse an object that is (or inflates to) more than this many MiB
    #[arg(long, value_name = "MIB", default_value_t = crate::decode::DEFAULT_MAX_INFLATED / (1024 * 1024))]
    pub max_object_mb: u64,
    /// Where the end-of-run summary goes: text on stderr, or one JSON object on stdout
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub summary: SummaryFormat,
    /// Write nothing: print the units of work (one folder of input objects each) as JSON lines, for a
    /// scheduler such as contrib/spark/lake_write.py to hand one to each task
    #[arg(long)]
    pub plan: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LakeDdlArgs {
    /// The lake: a folder or s3://BUCKET[/PREFIX]
    #[arg(long, value_name = "DEST")]
    pub to: String,
    #[arg(long, value_enum)]
    pub engine: LakeEngine,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LakeSqlArgs {
    /// The query, as `search` takes it
    #[arg(value_name = "QUERY", allow_hyphen_values = true)]
    pub query: Option<String>,
    #[arg(long, value_enum)]
    pub engine: LakeEngine,
    #[command(flatten)]
    pub window: Window,
}
