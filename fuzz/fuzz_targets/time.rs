//! Fuzz target: record times and command-line times.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = sagetrail::normalise::time::parse_str(&s);
    let _ = sagetrail::query::time::parse_time(&s, 1_700_000_000_000);
    if let Ok(v) = sagetrail::normalise::tree::Json::parse(&s) {
        let _ = sagetrail::normalise::time::parse_value(&v);
    }
});
