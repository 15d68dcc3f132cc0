//! A borrowed JSON tree of one record, the form normalise and attribution read.
//!
//! Strings point into the record's text unless they carried escapes; objects keep their keys in document
//! order in a plain vector. That is one allocation per object or array, where `serde_json::Value` takes
//! a `String` per leaf and a B-tree node per few keys (measured: building and dropping `Value` trees was
//! ~40 % of decode + normalise). No IO.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A JSON value borrowing from the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// Kept as serde_json's number so it prints exactly as `serde_json::Value` would.
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in document order (a repeated key keeps every occurrence; lookups take the first).
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parse one JSON text (the whole of it: trailing characters are an error).
    pub fn parse(text: &'a str) -> Result<Json<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follow a path of object keys.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Json<'a>> {
        path.iter().try_fold(self, |cur, k| cur.get(k))
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// A number as f64 (`None` for anything else).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }
}

/// Compact JSON text, members in document order.
impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl serde::Serialize for Json<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::Str(x) => s.serialize_str(x),
            Json::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Json::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        // JSON has no NaN or infinity, so this is always a number.
        Ok(serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(k) = map.next_key_seed(KeySeed)? {
            out.push((k, map.next_value()?));
        }
        Ok(Json::Object(out))
    }
}

/// An object key, borrowed when it has no escapes (serde's own `Cow<str>` always copies).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// Dotted paths into a record (`requestParameters.tags`): what [`Json::parse_only`] keeps. A path ends
/// at a whole value (object, array or scalar); arrays on the way keep each element's members on the rest
/// of the path, as the readers that fan out through arrays expect.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Paths {
    /// A path ends here: the value is kept whole.
    whole: bool,
    children: Vec<(String, Paths)>,
}

impl Paths {
    pub(crate) fn of<'p>(paths: impl IntoIterator<Item = &'p str>) -> Paths {
        let mut root = Paths::default();
        for p in paths {
            root.add(p);
        }
        root
    }

    pub(crate) fn add(&mut self, path: &str) {
        let mut cur = self;
        for part in path.split('.') {
            let i = match cur.children.iter().position(|(k, _)| k == part) {
                Some(i) => i,
                None => {
                    cur.children.push((part.to_string(), Paths::default()));
                    cur.children.len() - 1
                }
            };
            cur = &mut cur.children[i].1;
        }
        cur.whole = true;
    }

    /// Every path of `other` as well.
    pub(crate) fn merge(&mut self, other: &Paths) {
        self.whole |= other.whole;
        for (k, sub) in &other.children {
            match self.children.iter_mut().find(|(c, _)| c == k) {
                Some((_, mine)) => mine.merge(sub),
                None => self.children.push((k.clone(), sub.clone())),
            }
        }
    }

    fn child(&self, key: &str) -> Option<&Paths> {
        self.children.iter().find(|(k, _)| k == key).map(|(_, p)| p)
    }
}

impl<'a> Json<'a> {
    /// Parse one JSON text keeping only the members on `paths` (and the objects and arrays that lead to
    /// them): what any reader of those paths sees is what it would see in the whole tree, for a fraction
    /// of the building. The whole text is still checked to be JSON.
    pub(crate) fn parse_only(text: &'a [u8], paths: &Paths) -> Result<Json<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(text);
        let v = Pluck(paths).deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

/// A value, with only the members on its paths.
struct Pluck<'p>(&'p Paths);

impl<'de> DeserializeSeed<'de> for Pluck<'_> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        if self.0.whole {
            Json::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Pluck<'_> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Json<'de>, E> {
        JsonVisitor.visit_unit()
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Json<'de>, E> {
        JsonVisitor.visit_none()
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Json<'de>, E> {
        JsonVisitor.visit_bool(b)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Json<'de>, E> {
        JsonVisitor.visit_u64(n)
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Json<'de>, E> {
        JsonVisitor.visit_i64(n)
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Json<'de>, E> {
        JsonVisitor.visit_f64(n)
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Json<'de>, E> {
        JsonVisitor.visit_borrowed_str(s)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Json<'de>, E> {
        JsonVisitor.visit_str(s)
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Json<'de>, E> {
        JsonVisitor.visit_string(s)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Pluck(self.0))? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key_seed(KeySeed)? {
            match self.0.child(&k) {
                Some(sub) => {
                    let v = map.next_value_seed(Pluck(sub))?;
                    out.push((k, v));
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Json::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_keeps_order() {
        let text = r#"{"b":"x","a":[1,-2,1.5,true,null,"y\"z"],"c":{"d":"e"}}"#;
        let j = Json::parse(text).unwrap();
        let Json::Object(m) = &j else { panic!() };
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert!(matches!(j.get("b"), Some(Json::Str(Cow::Borrowed("x")))));
        let a = j.get("a").unwrap().as_array().unwrap();
        let printed: Vec<String> = a
            .iter()
            .map(|v| match v {
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                Json::Null => "null".into(),
                Json::Str(s) => s.to_string(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(printed, ["1", "-2", "1.5", "true", "null", "y\"z"]);
        assert_eq!(j.at(&["c", "d"]).and_then(Json::as_str), Some("e"));
        assert!(j.at(&["c", "x"]).is_none());
    }

    #[test]
    fn parse_only_keeps_the_paths_and_what_leads_to_them() {
        let text = r#"{"a":{"b":1,"c":{"d":[2]}},"e":[{"f":"x","g":"y"},{"f":"z"},3],"h":"gone","a":{"b":9}}"#;
        let paths = Paths::of(["a.c", "e.f", "missing.path"]);
        let j = Json::parse_only(text.as_bytes(), &paths).unwrap();
        assert_eq!(
            j.to_string(),
            r#"{"a":{"c":{"d":[2]}},"e":[{"f":"x"},{"f":"z"},3],"a":{}}"#
        );
        // A path's end keeps the whole value, even when a longer path runs through it.
        let mut wide = Paths::of(["a.c.d"]);
        wide.merge(&Paths::of(["a"]));
        let k = Json::parse_only(text.as_bytes(), &wide).unwrap();
        assert_eq!(k.get("a"), Json::parse(text).unwrap().get("a"));
        // No paths: an empty object, and still a check that the text is JSON.
        assert_eq!(
            Json::parse_only(text.as_bytes(), &Paths::default())
                .unwrap()
                .to_string(),
            "{}"
        );
        for bad in ["{", r#"{"h":}"#, r#"{"a":1} x"#] {
            assert!(Json::parse_only(bad.as_bytes(), &paths).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_print_like_serde_json_values() {
        for text in [
            "0",
            "12345678901234567890",
            "-7",
            "1e3",
            "0.1",
            "1.50",
            "-0.0",
        ] {
            let ours = match Json::parse(text).unwrap() {
                Json::Number(n) => n.to_string(),
                other => panic!("{other:?}"),
            };
            let theirs = serde_json::from_str::<serde_json::Value>(text)
                .unwrap()
                .to_string();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        for bad in ["{", r#"{"a":}"#, "[1,]", r#"{"a":1} x"#] {
            assert!(Json::parse(bad).is_err(), "{bad}");
        }
    }
}
