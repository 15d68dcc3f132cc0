//! Resolved configuration: flags turned into validated values before any work starts (index location,
//! times, parsed queries).

use std::path::PathBuf;

use crate::query::time::{now_ms, parse_time};
use crate::query::{self, Node};
use crate::Error;

/// Default number of hits `search` prints when neither `--limit` nor `--all` is given: a screenful that
/// still shows a pattern; the count of the rest is said on stderr.
pub const DEFAULT_LIMIT: usize = 100;

/// Where the index lives: the flag (or `SAGETRAIL_INDEX`, handled by clap), else the platform data dir.
pub fn index_dir(flag: Option<PathBuf>) -> Result<PathBuf, Error> {
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
pub struct TimeWindow {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

pub fn window(w: &super::args::Window) -> Result<TimeWindow, Error> {
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
pub fn parse_query(q: Option<&str>) -> Result<Node, Error> {
    Ok(query::parse(q.unwrap_or(""))?)
}
