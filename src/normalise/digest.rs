//! Content digests of a record: the same for the same content whatever its whitespace or key order.
//!
//! Used to tell a redelivery (same eventID, same content: stored once, silently) from a conflict (same
//! eventID, other content: the first stored is kept, the conflict counted), and to give a record without
//! an eventID a stable identity. No IO.

use xxhash_rust::xxh3::{xxh3_64_with_seed, Xxh3};

use super::tree::Json;

/// The digest of `v` under `seed`: objects combine their members order-independently (a wrapping sum of
/// member digests), arrays in order, scalars by their text as written.
pub(crate) fn content(v: &Json, seed: u64) -> u64 {
    match v {
        Json::Null => xxh3_64_with_seed(b"n", seed),
        Json::Bool(b) => xxh3_64_with_seed(if *b { b"t" } else { b"f" }, seed),
        Json::Number(n) => {
            let mut h = Xxh3::with_seed(seed);
            h.update(b"#");
            h.update(n.to_string().as_bytes());
            h.digest()
        }
        Json::Str(s) => {
            let mut h = Xxh3::with_seed(seed);
            h.update(b"\"");
            h.update(s.as_bytes());
            h.digest()
        }
        Json::Array(a) => {
            let mut h = Xxh3::with_seed(seed);
            h.update(b"[");
            for x in a {
                h.update(&content(x, seed).to_le_bytes());
            }
            h.digest()
        }
        Json::Object(members) => {
            let sum = members.iter().fold(0u64, |acc, (k, x)| {
                let mut h = Xxh3::with_seed(seed);
                h.update(k.as_bytes());
                h.update(&[0]);
                h.update(&content(x, seed).to_le_bytes());
                acc.wrapping_add(h.digest())
            });
            xxh3_64_with_seed(&sum.to_le_bytes(), seed ^ 0x7b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> u64 {
        content(&Json::parse(t).unwrap(), 0)
    }

    #[test]
    fn order_and_whitespace_do_not_matter_content_does() {
        assert_eq!(
            d(r#"{"a":1,"b":[1,2]}"#),
            d("{ \"b\" : [1, 2],\n \"a\": 1 }")
        );
        assert_ne!(d(r#"{"a":1,"b":[1,2]}"#), d(r#"{"a":1,"b":[2,1]}"#));
        assert_ne!(d(r#"{"a":"1"}"#), d(r#"{"a":1}"#));
        assert_ne!(d(r#"{"a":{"b":1}}"#), d(r#"{"a":{"c":1}}"#));
        assert_ne!(d(r#"{"a":1}"#), d(r#"{"b":1}"#));
    }
}
