//! sagetrail: who did what, when, from where in Amazon SageMaker Studio.
//!
//! Data flows source → decode → normalise → index → query → render; `cli` sits on top and `main.rs` only
//! calls [`cli::main`]. See ARCHITECTURE.md for the map and the invariants.

pub mod catalog;
pub mod cli;
pub mod decode;
pub mod index;
pub mod ingest;
pub mod lake;
pub mod messages;
pub mod model;
pub mod normalise;
pub mod query;
pub mod questions;
pub mod render;
pub mod source;
pub mod time;

use thiserror::Error;

/// Exit codes, documented in README.md.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: i32 = 0;
    /// `audit`: findings were reported.
    pub const FINDINGS: i32 = 1;
    /// Usage error, bad query, or a fatal error (nothing or not everything could run).
    pub const FATAL: i32 = 2;
    /// The run finished but some inputs failed (each reported on stderr); a rerun retries them.
    pub const PARTIAL: i32 = 3;
}

/// Errors of the library; the CLI turns them into one line on stderr and exit 2.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Index(#[from] index::IndexError),
    #[error(transparent)]
    Query(#[from] query::ParseError),
    #[error(transparent)]
    Time(#[from] time::TimeError),
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Source(String),
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            what: "output".into(),
            source,
        }
    }
}
