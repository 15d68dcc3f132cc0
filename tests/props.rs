//! Property tests: random and mutated inputs to the three parsers that read what attackers write (the
//! query language, the container decoder with normalise behind it, the time parser) never panic and
//! never overflow the stack. The coverage-guided fuzzers of the same targets are in `fuzz/`
//! (`scripts/fuzz`).

use proptest::prelude::*;

/// Realistic seeds to mutate: the shapes real pipelines deliver.
const SEEDS: [&str; 6] = [
    r#"{"Records":[{"eventVersion":"1.09","eventID":"a","eventTime":"2024-05-14T09:00:00Z","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/SageMaker","accessKeyId":"ASIA1","sessionContext":{"sourceIdentity":"alice"}},"requestParameters":{"userProfileName":"bob","tags":[{"key":"k","value":"v"}]},"responseElements":{"credentials":{"accessKeyId":"ASIA2"}}}]}"#,
    "{\"eventID\":\"x\",\"eventTime\":1715677200}\n{\"srcaddr\":\"10.0.0.1\"}\n",
    r#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"{\"eventID\":\"y\",\"eventTime\":\"2024-05-14 09:00:00\"}"}]}"#,
    r#"[{"detail-type":"AWS API Call via CloudTrail","detail":{"eventID":"z","@timestamp":"2024-05-14T09:00:00Z"}},{"EventId":"q","CloudTrailEvent":"{}"}]"#,
    r#"{"Events":[{"EventId":"x","CloudTrailEvent":"{\"eventID\":\"x\"}"}]}"#,
    r#"{"awsAccountId":"1","digestStartTime":"x","logFiles":[]}"#,
];

const QUERY_SEEDS: [&str; 5] = [
    "eventName:CreateApp AND userProfile:alice",
    "(a OR b) AND NOT -c:*",
    "eventTime:[2024-01-01 TO 2300-01-01}",
    "requestParameters.tags.key:(x OR \"y z\")",
    "\"fraud-detector-v7\" -errorCode:AccessDenied*",
];

/// A seed with a few bytes replaced, inserted or cut.
fn mutated(seeds: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (
        0..seeds.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..12),
    )
        .prop_map(move |(i, edits)| {
            let mut b = seeds[i].as_bytes().to_vec();
            for (at, byte, op) in edits {
                let at = if b.is_empty() { 0 } else { at % (b.len() + 1) };
                match op {
                    0 if at < b.len() => b[at] = byte,
                    1 => b.insert(at, byte),
                    _ if at < b.len() => {
                        b.truncate(at);
                    }
                    _ => {}
                }
            }
            b
        })
}

fn decode_all(bytes: &[u8]) {
    let (text, _) = sagetrail::decode::gunzip(bytes);
    let d = sagetrail::decode::cloudtrail::decode(&text);
    for r in &d.records {
        let _ = sagetrail::normalise::cloudtrail(r);
    }
    let _ = d.not_cloudtrail();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_query_parser_never_panics(s in "\\PC{0,200}") {
        let _ = sagetrail::query::parse(&s);
    }

    #[test]
    fn mutated_queries_never_panic(b in mutated(&QUERY_SEEDS)) {
        let _ = sagetrail::query::parse(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn operator_soup_never_overflows(ops in proptest::collection::vec(prop_oneof![
        Just("("), Just(")"), Just("NOT "), Just("-"), Just(" OR "), Just(" AND "), Just("a"), Just("f:"), Just("["), Just(" TO "), Just("]"), Just("\""),
    ], 0..3000)) {
        let _ = sagetrail::query::parse(&ops.concat());
    }

    #[test]
    fn the_decoder_never_panics_on_random_bytes(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        decode_all(&b);
    }

    #[test]
    fn the_decoder_never_panics_on_mutated_containers(b in mutated(&SEEDS)) {
        decode_all(&b);
    }

    #[test]
    fn deep_json_never_overflows(depth in 0usize..5000, open in prop_oneof![Just("["), Just("{\"a\":")]) {
        let mut s = String::from("{\"Records\":[");
        s.push_str(&open.repeat(depth));
        decode_all(s.as_bytes());
        let rec = format!("{{\"eventID\":\"e\",\"eventTime\":\"2024-01-01T00:00:00Z\",\"x\":{}}}", "[".repeat(depth));
        let _ = sagetrail::normalise::cloudtrail(&rec);
    }

    #[test]
    fn the_time_parser_never_panics(s in "\\PC{0,40}") {
        let _ = sagetrail::normalise::time::parse_str(&s);
        let _ = sagetrail::time::parse_time(&s, 0);
    }

    #[test]
    fn times_near_the_edges_never_panic(n in any::<i64>(), f in any::<f64>()) {
        let _ = sagetrail::normalise::time::parse_str(&n.to_string());
        let j = format!("{n}");
        if let Ok(v) = sagetrail::normalise::tree::Json::parse(&j) {
            let _ = sagetrail::normalise::time::parse_value(&v);
        }
        let fj = format!("{f:e}");
        if let Ok(v) = sagetrail::normalise::tree::Json::parse(&fj) {
            let _ = sagetrail::normalise::time::parse_value(&v);
        }
        let _ = sagetrail::time::parse_time(&format!("{n}d"), n);
    }
}
