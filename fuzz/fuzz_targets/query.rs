//! Fuzz target: the query language parser (what a user, or a script fed attacker text, types).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sagetrail::query::parse(&String::from_utf8_lossy(data));
});
