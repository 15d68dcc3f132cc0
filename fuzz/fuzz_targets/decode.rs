//! Fuzz target: gunzip, the container decoder and normalise of every record it cuts out.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (text, _) = sagetrail::decode::gunzip_limited(data, 64 << 20);
    let d = sagetrail::decode::cloudtrail::decode(&text);
    for r in &d.records {
        let _ = sagetrail::normalise::cloudtrail(r);
    }
});
