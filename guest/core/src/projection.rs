//! Parsing Taiga objects keeping only the top-level keys the bridge's answer needs.
//!
//! A user story in a list page is about 1.4 KB of JSON, of which the compact item reads a tenth;
//! a project detail is about 11 KB, of which `get_project` reads the members and a dozen fields.
//! Building the whole `Value` tree (an ordered map per object) was most of the component's time
//! on those calls; skipping the unread keys without building anything halves the parse.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What the bridge makes of a Taiga object (a compact list item, a project's detail): the
/// top-level keys it reads, and how it is built.
#[derive(Debug, Clone, Copy)]
pub struct Compact {
    /// Every top-level key `map` reads. A key missing here reads as absent, so the guard test
    /// `tools::tests::projections_read_only_their_keys` checks this against recorded Taiga objects.
    pub keys: &'static [&'static str],
    /// Builds the bridge's form from a Taiga object.
    pub map: fn(&Value) -> Value,
    /// Builds the bridge's forms straight from a list page, without an intermediate `Value` per
    /// item, for the forms listed most; it must answer what projecting `keys` and applying `map`
    /// answers (the same guard test checks).
    pub page: Option<PageParser>,
}

/// Parses a whole list page into compact forms.
pub type PageParser = fn(&[u8]) -> serde_json::Result<Vec<Value>>;

impl Compact {
    /// A list page in this form.
    pub fn parse_page(&self, body: &[u8]) -> serde_json::Result<Vec<Value>> {
        match self.page {
            Some(page) => page(body),
            None => Ok(parse_items(body, self.keys)?.iter().map(self.map).collect()),
        }
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// One object, keeping `keys` only.
struct KeptKeys<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for KeptKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeptKeys<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = access.next_key_seed(Key)? {
            if self.0.contains(&key.as_ref()) {
                kept.insert(key.into_owned(), access.next_value()?);
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(kept))
    }
}

/// An array of objects, each keeping `keys` only.
struct Items<'k>(&'k [&'k str]);

impl<'de> Visitor<'de> for Items<'_> {
    type Value = Vec<Value>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Vec<Value>, A::Error> {
        let mut items = Vec::with_capacity(access.size_hint().unwrap_or(0));
        while let Some(item) = access.next_element_seed(KeptKeys(self.0))? {
            items.push(item);
        }
        Ok(items)
    }
}

/// `body` as text, checked as UTF-8 in one pass. Parsing from a `str` spares serde_json a check
/// of every key and string it reads (about 1,800 keys on a 30-item page), each a call that
/// walks short strings byte by byte in WebAssembly.
pub fn text(body: &[u8]) -> serde_json::Result<&str> {
    std::str::from_utf8(body).map_err(serde::de::Error::custom)
}

/// Parses a JSON array of objects, keeping only `keys` of each.
pub fn parse_items(body: &[u8], keys: &[&str]) -> serde_json::Result<Vec<Value>> {
    let mut deserializer = serde_json::Deserializer::from_str(text(body)?);
    let items = deserializer.deserialize_seq(Items(keys))?;
    deserializer.end()?;
    Ok(items)
}

/// Parses one JSON object, keeping only `keys`.
pub fn parse_object(body: &[u8], keys: &[&str]) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_str(text(body)?);
    let object = KeptKeys(keys).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_the_named_keys_with_their_whole_values() {
        let body = br#"[{"id": 1, "sub\u006aect": "A", "extra": {"x": [1, 2]}, "nested": {"name": "n"}},
                        {"id": 2, "nested": null}]"#;
        let items = parse_items(body, &["id", "subject", "nested"]).unwrap();
        assert_eq!(
            items,
            vec![
                json!({"id": 1, "subject": "A", "nested": {"name": "n"}}),
                json!({"id": 2, "nested": null})
            ]
        );
    }

    #[test]
    fn one_object_keeps_only_the_named_keys() {
        let body = br#"{"id": 3, "members": [{"id": 1}], "big": "x"}"#;
        assert_eq!(
            parse_object(body, &["id", "members"]).unwrap(),
            json!({"id": 3, "members": [{"id": 1}]})
        );
        assert!(parse_object(b"[]", &["id"]).is_err());
        assert!(parse_object(br#"{"id": 1} {"#, &["id"]).is_err());
    }

    #[test]
    fn refuses_what_is_not_an_array_of_objects() {
        assert!(parse_items(br#"{"id": 1}"#, &["id"]).is_err());
        assert!(parse_items(br#"[1, 2]"#, &["id"]).is_err());
        assert!(parse_items(br#"[{"id": 1}] trailing"#, &["id"]).is_err());
        assert!(parse_items(br#"[{"id": 1, "x": [}]"#, &["id"]).is_err());
        assert!(parse_items(b"[{\"id\": \"\xff\"}]", &["id"]).is_err());
        assert!(parse_object(b"{\"skipped\": \"\xc3\"}", &["id"]).is_err());
    }
}
