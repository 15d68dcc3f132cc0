//! Sources: where objects and log events come from (local folders, S3, CloudWatch Logs).
//!
//! Sources do IO and nothing else: they list and fetch bytes; they never parse records.

pub mod aws;
pub mod cwlogs;
pub(crate) mod local;
pub mod s3;

/// Where an input is: a local file or folder, or an S3 prefix (`s3://bucket[/prefix]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Local(std::path::PathBuf),
    S3(s3::S3Url),
}

/// What to do with an object, judged by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Read,
    /// Under `CloudTrail-Digest/`: signatures, not events.
    SkipDigest,
    /// Under `CloudTrail-Insight/`: Insight summaries, not calls.
    SkipInsight,
    /// Not `.json`, `.ndjson`, `.jsonl` or `.log`, optionally `.gz`.
    SkipNotJson,
}

/// File name endings read as CloudTrail (each also with `.gz`): what trails, shippers (Firehose,
/// Logstash, EventBridge to S3) and `aws` CLI redirections write.
pub(crate) const CLOUDTRAIL_EXTENSIONS: [&str; 4] = [".json", ".ndjson", ".jsonl", ".log"];

impl Verdict {
    /// Why an object is skipped, as the summary says it.
    pub(crate) fn reason(self) -> Option<&'static str> {
        match self {
            Verdict::Read => None,
            Verdict::SkipDigest => Some("under CloudTrail-Digest/"),
            Verdict::SkipInsight => Some("under CloudTrail-Insight/"),
            Verdict::SkipNotJson => {
                Some("name not .json, .ndjson, .jsonl or .log (optionally .gz)")
            }
        }
    }
}

/// Judge a CloudTrail object by its key or path.
pub(crate) fn classify_cloudtrail(name: &str) -> Verdict {
    if name.contains("CloudTrail-Digest/") {
        return Verdict::SkipDigest;
    }
    if name.contains("CloudTrail-Insight/") {
        return Verdict::SkipInsight;
    }
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    if CLOUDTRAIL_EXTENSIONS.iter().any(|e| stem.ends_with(e)) {
        Verdict::Read
    } else {
        Verdict::SkipNotJson
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let base = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1005Z_abc.json.gz";
        assert_eq!(classify_cloudtrail(base), Verdict::Read);
        assert_eq!(
            classify_cloudtrail("AWSLogs/1/CloudTrail-Digest/us-east-1/2024/05/01/x.json.gz"),
            Verdict::SkipDigest
        );
        assert_eq!(
            classify_cloudtrail("AWSLogs/1/CloudTrail-Insight/us-east-1/x.json.gz"),
            Verdict::SkipInsight
        );
        assert_eq!(classify_cloudtrail("notes.txt"), Verdict::SkipNotJson);
        assert_eq!(classify_cloudtrail("events.JSON"), Verdict::Read);
        for n in [
            "a.ndjson",
            "a.jsonl.gz",
            "firehose.log",
            "x.LOG.GZ",
            "y.json.gz",
        ] {
            assert_eq!(classify_cloudtrail(n), Verdict::Read, "{n}");
        }
        for n in ["a.txt", "a.gz", "a.json.bak", "a.csv.gz"] {
            assert_eq!(classify_cloudtrail(n), Verdict::SkipNotJson, "{n}");
        }
    }
}
