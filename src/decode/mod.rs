//! Decode: bytes of one object → the records it holds.
//!
//! Owns gunzip, recognising the container forms and cutting out each record's original bytes. Decode does
//! no IO (it is handed bytes) and knows nothing of fields, attribution or the index.

pub mod cloudtrail;
pub mod minify;
pub mod studio_log;

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Inflate `bytes` when they are gzip, else borrow them.
///
/// A corrupt or truncated stream yields what inflated before the damage plus the reason, so whole records
/// before it can still be indexed (the object is then not marked done).
/// The buffer to inflate into: gzip's trailer holds the (last member's) size mod 2^32, exact for the
/// single-member objects CloudTrail writes; regrowing a multi-megabyte buffer costs a copy and fresh
/// pages. A corrupt trailer cannot ask for more than this many times the input...
const MAX_INFLATE_RATIO: usize = 64;
/// ...and, without a usable trailer, trail objects inflate about tenfold.
const TYPICAL_INFLATE_RATIO: usize = 10;

fn inflated_size_hint(gz: &[u8]) -> usize {
    let typical = gz.len().saturating_mul(TYPICAL_INFLATE_RATIO);
    let Some(tail) = gz.len().checked_sub(4).map(|i| &gz[i..]) else {
        return typical;
    };
    let isize = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
    if isize >= gz.len() && isize <= gz.len().saturating_mul(MAX_INFLATE_RATIO) {
        isize
    } else {
        typical
    }
}

pub fn gunzip(bytes: &[u8]) -> (std::borrow::Cow<'_, [u8]>, Option<String>) {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return (std::borrow::Cow::Borrowed(bytes), None);
    }
    let mut out = Vec::with_capacity(inflated_size_hint(bytes));
    let mut dec = MultiGzDecoder::new(bytes);
    match dec.read_to_end(&mut out) {
        Ok(_) => (std::borrow::Cow::Owned(out), None),
        Err(e) => (
            std::borrow::Cow::Owned(out),
            Some(format!("corrupt or truncated gzip: {e}")),
        ),
    }
}
