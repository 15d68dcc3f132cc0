//! Sources: where objects and log events come from (local folders, S3, CloudWatch Logs).
//!
//! Sources do IO and nothing else: they list and fetch bytes; they never parse records.

pub mod aws;
pub mod cwlogs;
pub mod local;
pub mod s3;

/// What to do with an object, judged by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Read,
    /// Under `CloudTrail-Digest/`: signatures, not events.
    SkipDigest,
    /// Under `CloudTrail-Insight/`: Insight summaries, not calls.
    SkipInsight,
    /// Not `.json` / `.json.gz`.
    SkipNotJson,
}

/// Judge a CloudTrail object by its key or path.
pub fn classify_cloudtrail(name: &str) -> Verdict {
    if name.contains("CloudTrail-Digest/") {
        return Verdict::SkipDigest;
    }
    if name.contains("CloudTrail-Insight/") {
        return Verdict::SkipInsight;
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") || lower.ends_with(".json.gz") {
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
    }
}
