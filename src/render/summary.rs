//! The ingest summary and end-of-run line on stderr (the JSON summary is the `Summary` itself).

use crate::ingest::Summary;

pub(crate) fn ingest(s: &Summary) {
    let mut extra = String::new();
    if !s.skipped_by_reason.is_empty() {
        let why: Vec<String> = s
            .skipped_by_reason
            .iter()
            .map(|(w, n)| format!("{n} {w}"))
            .collect();
        extra.push_str(&format!("; skipped: {}", why.join(", ")));
    }
    for (n, what) in [
        (
            s.events_conflicting,
            "events conflicting (same eventID, other content; first kept)",
        ),
        (s.event_ids_derived, "records given a derived eventID"),
        (s.control_messages, "control messages skipped"),
        (
            s.values_not_cloudtrail,
            "JSON values not CloudTrail skipped",
        ),
    ] {
        if n > 0 {
            extra.push_str(&format!("; {n} {what}"));
        }
    }
    eprintln!(
        "sagetrail: {}: objects {} listed, {} read, {} unchanged, {} skipped, {} failed; events {} added, {} already present, {} records failed; {:.2}s, {:.0} events/s{}",
        super::sanitize(&s.source),
        s.objects_listed,
        s.objects_read,
        s.objects_unchanged,
        s.objects_skipped,
        s.objects_failed,
        s.events_added,
        s.events_already_present,
        s.records_failed,
        s.seconds,
        s.events_per_second,
        extra
    );
}

pub(crate) fn finished(f: &crate::index::Finished) {
    eprintln!(
        "sagetrail: index: committed; {} segments merged into {} ({} segments now); {:.2}s",
        f.segments_merged, f.merges, f.segments, f.seconds
    );
}
