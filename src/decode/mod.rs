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
pub fn gunzip(bytes: &[u8]) -> (std::borrow::Cow<'_, [u8]>, Option<String>) {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return (std::borrow::Cow::Borrowed(bytes), None);
    }
    // Trail objects inflate about tenfold; start there to avoid regrowing the buffer.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(10));
    let mut dec = MultiGzDecoder::new(bytes);
    match dec.read_to_end(&mut out) {
        Ok(_) => (std::borrow::Cow::Owned(out), None),
        Err(e) => (
            std::borrow::Cow::Owned(out),
            Some(format!("corrupt or truncated gzip: {e}")),
        ),
    }
}
