//! Structural checks on untrusted JSON before it is parsed into types:
//! nesting depth and duplicate object keys, which serde_json would otherwise
//! accept silently (the last duplicate wins). And typed parsing of a JSON
//! value whose errors name the field they concern.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The deepest nesting of arrays and objects a record may use.
pub const MAX_DEPTH: usize = 32;

/// Why a JSON document failed the structural check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonError {
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// An object names the same key twice.
    #[error("JSON object has the key `{0}` twice")]
    DuplicateKey(String),
    /// Not JSON at all.
    #[error("not valid JSON: {0}")]
    Syntax(String),
}

/// Checks that `bytes` is one JSON value with no duplicate keys, nested at most
/// [`MAX_DEPTH`] levels.
pub fn check_structure(bytes: &[u8]) -> Result<(), JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut found = None;
    let result = Check {
        depth: 0,
        found: &mut found,
    }
    .deserialize(&mut de);
    if let Some(err) = found {
        return Err(err);
    }
    result
        .and_then(|()| de.end())
        .map_err(|e| JsonError::Syntax(e.to_string()))
}

/// Walks a value, recording the first structural problem in `found`.
struct Check<'a> {
    depth: usize,
    found: &'a mut Option<JsonError>,
}

impl Check<'_> {
    fn fail<E: de::Error>(&mut self, err: JsonError) -> E {
        let message = err.to_string();
        *self.found = Some(err);
        E::custom(message)
    }

    fn nested<E: de::Error>(&mut self) -> Result<Check<'_>, E> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        Ok(Check {
            depth: self.depth + 1,
            found: self.found,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self.nested()?)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        // Objects in records have a handful of keys: a linear scan beats hashing.
        let mut keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if keys.contains(&key) {
                return Err(self.fail(JsonError::DuplicateKey(key)));
            }
            keys.push(key);
            map.next_value_seed(self.nested()?)?;
        }
        Ok(())
    }
}

/// Deserializes from a JSON value with `deserialize`, prefixing an error with
/// the path of the field where it happened (`field `sites.0.name`: …`):
/// serde_json's errors on a `Value` name neither the field nor a position.
pub fn with_path<'a, T>(
    value: &'a Value,
    deserialize: impl FnOnce(Tracked<'a, '_>) -> Result<T, serde_json::Error>,
) -> Result<T, serde_json::Error> {
    let failed_at = RefCell::new(None);
    let root = Tracked {
        value,
        at: Segment::Root,
        failed_at: &failed_at,
    };
    deserialize(root).map_err(|e| match failed_at.into_inner() {
        Some(path) => de::Error::custom(format_args!("field `{path}`: {e}")),
        None => e,
    })
}

/// A deserializer over a borrowed JSON value that records the path of the
/// innermost value whose deserialization failed. Made by [`with_path`].
#[derive(Debug)]
pub struct Tracked<'a, 'p> {
    value: &'a Value,
    at: Segment<'p>,
    failed_at: &'p RefCell<Option<String>>,
}

/// Where a value sits, as a chain back to the root; it is only turned into a
/// string when an error needs it.
#[derive(Clone, Copy, Debug)]
enum Segment<'p> {
    Root,
    Key(&'p Segment<'p>, &'p str),
    Index(&'p Segment<'p>, usize),
}

impl fmt::Display for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (parent, name): (_, &dyn fmt::Display) = match self {
            Segment::Root => return Ok(()),
            Segment::Key(parent, key) => (parent, key),
            Segment::Index(parent, index) => (parent, index),
        };
        match parent {
            Segment::Root => write!(f, "{name}"),
            _ => write!(f, "{parent}.{name}"),
        }
    }
}

impl<'a> Tracked<'a, '_> {
    /// Runs `seed` on this value; the first (innermost) failure keeps its path.
    fn run<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, serde_json::Error> {
        let (at, failed_at) = (self.at, self.failed_at);
        seed.deserialize(self).inspect_err(|_| {
            failed_at.borrow_mut().get_or_insert_with(|| at.to_string());
        })
    }
}

impl<'de> Deserializer<'de> for Tracked<'de, '_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => n.deserialize_any(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => {
                let mut seq = Seq {
                    parent: &self,
                    items: items.iter(),
                    index: 0,
                };
                let out = visitor.visit_seq(&mut seq)?;
                match seq.items.len() {
                    0 => Ok(out),
                    _ => Err(de::Error::invalid_length(items.len(), &"fewer elements")),
                }
            }
            Value::Object(entries) => {
                let mut map = Map {
                    parent: &self,
                    entries: entries.iter(),
                    pending: None,
                };
                let out = visitor.visit_map(&mut map)?;
                match map.entries.len() {
                    0 => Ok(out),
                    _ => Err(de::Error::invalid_length(entries.len(), &"fewer elements")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::String(s) => visitor.visit_enum(StrDeserializer::new(s)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

struct Seq<'s, 'a, 'p> {
    parent: &'s Tracked<'a, 'p>,
    items: std::slice::Iter<'a, Value>,
    index: usize,
}

impl<'a> SeqAccess<'a> for Seq<'_, 'a, '_> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        let parent = self.parent;
        let child = Tracked {
            value: item,
            at: Segment::Index(&parent.at, index),
            failed_at: parent.failed_at,
        };
        child.run(seed).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'s, 'a, 'p> {
    parent: &'s Tracked<'a, 'p>,
    entries: serde_json::map::Iter<'a>,
    pending: Option<(&'a str, &'a Value)>,
}

impl<'a> MapAccess<'a> for Map<'_, 'a, '_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("value requested before its key"))?;
        let parent = self.parent;
        let child = Tracked {
            value,
            at: Segment::Key(&parent.at, key),
            failed_at: parent.failed_at,
        };
        child.run(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn accepts_plain_documents() {
        assert_eq!(check_structure(br#"{"a":[1,{"b":null}],"c":"d"}"#), Ok(()));
        assert_eq!(check_structure(nested(MAX_DEPTH).as_bytes()), Ok(()));
    }

    #[test]
    fn refuses_deep_nesting() {
        assert_eq!(
            check_structure(nested(MAX_DEPTH + 1).as_bytes()),
            Err(JsonError::TooDeep)
        );
        let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40));
        assert_eq!(
            check_structure(deep_objects.as_bytes()),
            Err(JsonError::TooDeep)
        );
    }

    #[test]
    fn refuses_duplicate_keys_at_any_level() {
        assert_eq!(
            check_structure(br#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
        assert_eq!(
            check_structure(br#"{"x":[{"k":1,"k":1}]}"#),
            Err(JsonError::DuplicateKey("k".into()))
        );
        // Escapes are decoded before comparison.
        assert_eq!(
            check_structure(br#"{"a":1,"\u0061":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
    }

    #[test]
    fn typed_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Site {
            id: String,
            open: Option<bool>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Scope {
            name: String,
            sites: Vec<Site>,
        }
        let parse = |value: Value| {
            with_path(&value, |de| serde::Deserialize::deserialize(de))
                .map(|_: Scope| ())
                .map_err(|e| e.to_string())
        };
        let ok =
            serde_json::json!({"name": "n", "sites": [{"id": "a", "open": null}, {"id": "b"}]});
        assert_eq!(parse(ok), Ok(()));
        let wrong = serde_json::json!({"name": "n", "sites": [{"id": "a"}, {"id": 5}]});
        assert_eq!(
            parse(wrong),
            Err("field `sites.1.id`: invalid type: integer `5`, expected a string".into())
        );
        let nested_missing = serde_json::json!({"name": "n", "sites": [{"open": true}]});
        assert_eq!(
            parse(nested_missing),
            Err("field `sites.0`: missing field `id`".into())
        );
        let top_missing = serde_json::json!({"sites": []});
        assert_eq!(parse(top_missing), Err("missing field `name`".into()));
    }

    #[test]
    fn refuses_syntax_errors_and_trailing_data() {
        assert!(matches!(check_structure(b"{"), Err(JsonError::Syntax(_))));
        assert!(matches!(
            check_structure(b"{} {}"),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(check_structure(b""), Err(JsonError::Syntax(_))));
    }
}
