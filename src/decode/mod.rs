//! Decode: bytes of one object → the records it holds.
//!
//! Owns gunzip, recognising the container forms and cutting out each record's original bytes. Decode does
//! no IO (it is handed bytes) and knows nothing of fields, attribution or the index.

pub mod cloudtrail;
pub(crate) mod minify;
pub(crate) mod studio_log;

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The buffer to inflate into: gzip's trailer holds the (last member's) size mod 2^32, exact for the
/// single-member objects CloudTrail writes; regrowing a multi-megabyte buffer costs a copy and fresh
/// pages. A corrupt trailer cannot ask for more than this many times the input...
const MAX_INFLATE_RATIO: usize = 64;
/// ...and, without a usable trailer, trail objects inflate about tenfold.
const TYPICAL_INFLATE_RATIO: usize = 10;

/// Default limit on the bytes one object may inflate to (`--max-object-mb`). CloudTrail delivers an
/// object per account, region and ~5 minutes; the busiest real ones inflate to tens of MiB. 512 MiB is
/// ten times that, and bounds what a decompression bomb can take (a 9.4 MB bomb inflated to 4.9 GB).
pub const DEFAULT_MAX_INFLATED: u64 = 512 * 1024 * 1024;

fn inflated_size_hint(gz: &[u8], limit: u64) -> usize {
    let typical = gz.len().saturating_mul(TYPICAL_INFLATE_RATIO);
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let Some(tail) = gz.len().checked_sub(4).map(|i| &gz[i..]) else {
        return typical.min(cap);
    };
    let isize = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
    if isize >= gz.len() && isize <= gz.len().saturating_mul(MAX_INFLATE_RATIO) {
        isize.min(cap)
    } else {
        typical.min(cap)
    }
}

/// Inflate `bytes` when they are gzip, else borrow them.
///
/// A corrupt or truncated stream yields what inflated before the damage plus the reason, so whole records
/// before it can still be indexed (the object is then not marked done). An object larger than
/// [`DEFAULT_MAX_INFLATED`] is refused: see [`gunzip_limited`].
pub fn gunzip(bytes: &[u8]) -> (std::borrow::Cow<'_, [u8]>, Option<String>) {
    gunzip_limited(bytes, DEFAULT_MAX_INFLATED)
}

/// [`gunzip`] with a limit on the inflated size: past it, nothing of the object is kept and the reason
/// says so, so memory stays bounded whatever the input.
pub(crate) fn gunzip_limited(
    bytes: &[u8],
    limit: u64,
) -> (std::borrow::Cow<'_, [u8]>, Option<String>) {
    let over = || {
        Some(format!(
            "inflates to more than {} MiB (the limit is --max-object-mb)",
            limit / (1024 * 1024)
        ))
    };
    if !bytes.starts_with(&GZIP_MAGIC) {
        if bytes.len() as u64 > limit {
            return (std::borrow::Cow::Borrowed(&[]), over());
        }
        return (std::borrow::Cow::Borrowed(bytes), None);
    }
    let mut out = Vec::with_capacity(inflated_size_hint(bytes, limit));
    let mut dec = MultiGzDecoder::new(bytes);
    let limit_len = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; INFLATE_CHUNK];
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => return (std::borrow::Cow::Owned(out), None),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return (
                    std::borrow::Cow::Owned(out),
                    Some(format!("corrupt or truncated gzip: {e}")),
                )
            }
        };
        if out.len() + n > limit_len {
            return (std::borrow::Cow::Owned(Vec::new()), over());
        }
        // Grow by doubling, but never past the limit: a vector's own doubling would reserve twice the
        // limit for an object just over half of it.
        if out.capacity() < out.len() + n {
            let want = (out.capacity() * 2).max(out.len() + n).min(limit_len);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Bytes inflated per read: large enough that the per-call overhead vanishes.
const INFLATE_CHUNK: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_bomb_is_refused_without_inflating_it_whole() {
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..64 {
            g.write_all(&zeros).unwrap();
        }
        let bomb = g.finish().unwrap();
        assert!(bomb.len() < 200_000);
        let (text, err) = gunzip_limited(&bomb, 8 << 20);
        assert!(text.is_empty());
        assert!(err.unwrap().contains("more than 8 MiB"));
        let (text, err) = gunzip_limited(&bomb, 64 << 20);
        assert_eq!((text.len(), err), (64 << 20, None));
        let (text, err) = gunzip_limited(b"{}", 1);
        assert!(text.is_empty() && err.is_some());
    }
}
