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
    after_help = "Exit codes: 0 done; 1 audit findings; 2 usage, bad query or fatal error; 3 finished but some inputs failed."
)]
pub struct Cli {
    /// Index directory [default: $SAGETRAIL_INDEX, else the platform data directory]
    #[arg(long, global = true, env = "SAGETRAIL_INDEX", value_name = "DIR")]
    pub index: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read evidence into the index (incremental: objects already ingested are not read again)
    Ingest(IngestArgs),
    /// Find events: Lucene-style query over CloudTrail field paths, derived keys and full text
    Search(SearchArgs),
    /// Count events per value of a field
    Stats(StatsArgs),
    /// What the index holds
    Info(InfoArgs),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(subcommand)]
    pub source: IngestSource,
}

#[derive(Debug, Subcommand)]
pub enum IngestSource {
    /// CloudTrail objects from files and folders (walked recursively)
    Cloudtrail(CloudtrailArgs),
}

#[derive(Debug, Args)]
pub struct CloudtrailArgs {
    /// Files or folders: .json.gz / .json with {"Records":[…]}, a JSON array, NDJSON, or lookup-events output
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: IngestCommon,
}

#[derive(Debug, Args, Clone)]
pub struct IngestCommon {
    /// Drop the index's contents and read everything again (in one commit with the new data)
    #[arg(long)]
    pub reindex: bool,
    /// Where the end-of-run summary goes: text on stderr, or one JSON object on stdout
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub summary: SummaryFormat,
    /// Decode threads [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Indexing memory in MiB (shared by tantivy's indexing threads)
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub memory_mb: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct Window {
    /// Only events at or after this time: RFC 3339, a date, or an age (7d, 12h, 30m)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only events before this time
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query (e.g. 'eventName:CreatePresignedDomainUrl AND userProfile:alice'); empty means everything
    #[arg(value_name = "QUERY")]
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
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// A named field (eventName, actor, userProfile, ...) or any CloudTrail path
    #[arg(long, value_name = "FIELD")]
    pub by: String,
    /// Only events matching this query
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,
    #[command(flatten)]
    pub window: Window,
    /// The N most frequent values
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
