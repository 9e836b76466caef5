//! A serde `Deserializer` over the positioned YAML tree of `spec::yaml`.
//!
//! It lets the spec types stay plain `#[derive(Deserialize)]` structs while every type
//! error, unknown key and missing field still comes out with the line and column of the
//! node that caused it, a dotted field path, and a did-you-mean for misspelt keys.
//!
//! Scalars follow the YAML 1.2 core schema: `true`/`false` only (not `yes`/`no`), and a
//! quoted scalar is always a string.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::yaml::{join, scalar_text, Node, NodeKind, Pos};

/// A typing error with where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub pos: Option<Pos>,
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            pos: None,
            path: String::new(),
            message: msg.to_string(),
            hint: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut error: DeError = de::Error::custom(format_args!("unknown key `{field}`"));
        error.hint = Some(match closest(field, expected) {
            Some(best) => format!(
                "did you mean `{best}`? (expected one of: {})",
                expected.join(", ")
            ),
            None => format!("expected one of: {}", expected.join(", ")),
        });
        error
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut error: DeError =
            de::Error::custom(format_args!("`{variant}` is not a valid value"));
        error.hint = Some(match closest(variant, expected) {
            Some(best) => format!(
                "did you mean `{best}`? (expected one of: {})",
                expected.join(", ")
            ),
            None => format!("expected one of: {}", expected.join(", ")),
        });
        error
    }

    fn missing_field(field: &'static str) -> Self {
        let mut error: DeError = de::Error::custom(format_args!("missing required key `{field}`"));
        error.hint = Some(format!(
            "add `{field}:` here (`s3bridge schema` describes every field)"
        ));
        error
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Deserializes `T` from `node`, the root of the document.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer {
        node,
        path: String::new(),
    })
}

struct NodeDeserializer<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> NodeDeserializer<'a> {
    /// Gives an error that does not know where it happened this node's place.
    fn locate(&self, mut error: DeError) -> DeError {
        if error.pos.is_none() {
            error.pos = Some(self.node.pos);
            error.path = self.path.clone();
        }
        error
    }

    fn mismatch(&self, expected: &str) -> DeError {
        let found = match &self.node.kind {
            NodeKind::Scalar { text, .. } if !self.node.is_null() => format!("`{text}`"),
            _ => self.node.describe().to_string(),
        };
        self.locate(de::Error::custom(format_args!(
            "expected {expected}, found {found}"
        )))
    }

    fn scalar(&self) -> Option<(&'a str, bool)> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain } => Some((text.as_str(), *plain)),
            _ => None,
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Seq(_) => self.deserialize_seq(visitor),
            NodeKind::Map(_) => self.deserialize_map(visitor),
            NodeKind::Scalar { text, plain } => {
                let result = if self.node.is_null() {
                    visitor.visit_unit()
                } else if *plain && (text == "true" || text == "false") {
                    visitor.visit_bool(text == "true")
                } else if let (true, Ok(n)) = (*plain, text.parse::<i64>()) {
                    visitor.visit_i64(n)
                } else {
                    visitor.visit_str(text)
                };
                result.map_err(|e| self.locate(e))
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some(("true", true)) => visitor.visit_bool(true),
            Some(("false", true)) => visitor.visit_bool(false),
            Some((text, true))
                if matches!(
                    text.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                let mut error = self.mismatch("true or false");
                error.hint = Some("YAML 1.2 booleans are only `true` and `false`".into());
                Err(error)
            }
            _ => Err(self.mismatch("true or false")),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, true)) => match text.parse::<u64>() {
                Ok(n) => visitor.visit_u64(n).map_err(|e| self.locate(e)),
                Err(_) => Err(self.mismatch("a whole number")),
            },
            _ => Err(self.mismatch("a whole number")),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, true)) => match text.parse::<i64>() {
                Ok(n) => visitor.visit_i64(n).map_err(|e| self.locate(e)),
                Err(_) => Err(self.mismatch("a whole number")),
            },
            _ => Err(self.mismatch("a whole number")),
        }
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            // An unquoted `111111111111` is still the string the user wrote; keeping the
            // raw text (not a re-printed number) preserves leading zeros.
            Some((text, _)) if !self.node.is_null() => {
                visitor.visit_str(text).map_err(|e| self.locate(e))
            }
            _ => Err(self.mismatch("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_unit()
        } else {
            Err(self.mismatch("an empty value"))
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Seq(items) => {
                let access = Items {
                    items: items.iter().enumerate(),
                    path: &self.path,
                };
                visitor.visit_seq(access).map_err(|e| self.locate(e))
            }
            _ => Err(self.mismatch("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Map(entries) => {
                let access = Entries {
                    entries: entries.iter(),
                    value: None,
                    path: &self.path,
                };
                visitor.visit_map(access).map_err(|e| self.locate(e))
            }
            _ => Err(self.mismatch("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, _)) if !self.node.is_null() => visitor
                .visit_enum(text.into_deserializer())
                .map_err(|e: DeError| self.locate(e)),
            _ => Err(self.mismatch("one of the listed words")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i128 u128 f32 f64 char bytes byte_buf unit_struct tuple tuple_struct
    }
}

struct Items<'a, I> {
    items: I,
    path: &'a str,
}

impl<'de, I: Iterator<Item = (usize, &'de Node)>> SeqAccess<'de> for Items<'_, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => seed
                .deserialize(NodeDeserializer {
                    node,
                    path: format!("{}[{i}]", self.path),
                })
                .map(Some),
        }
    }
}

struct Entries<'de, 'a, I> {
    entries: I,
    value: Option<(&'de Node, String)>,
    path: &'a str,
}

impl<'de, I: Iterator<Item = &'de (Node, Node)>> MapAccess<'de> for Entries<'de, '_, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                let path = join(self.path, scalar_text(key));
                self.value = Some((value, path.clone()));
                seed.deserialize(NodeDeserializer { node: key, path })
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (node, path) = self.value.take().expect("value requested before key");
        seed.deserialize(NodeDeserializer { node, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::yaml::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        bucket: String,
        #[serde(default)]
        existing: bool,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        source: Inner,
        count: Option<u32>,
    }

    fn load(src: &str) -> Result<Outer, DeError> {
        let root = Box::leak(Box::new(parse(src).unwrap().unwrap()));
        from_node(root)
    }

    #[test]
    fn unknown_key_has_position_and_suggestion() {
        let err = load("source:\n  bucket: a\n  existng: true\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 3, col: 3 }));
        assert_eq!(err.path, "source.existng");
        assert!(err.hint.unwrap().contains("did you mean `existing`"));
    }

    #[test]
    fn yes_is_not_a_bool() {
        let err = load("source:\n  bucket: a\n  existing: yes\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 3, col: 13 }));
        assert!(
            err.message.contains("expected true or false"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_field_points_at_parent() {
        let err = load("source:\n  existing: true\n").unwrap_err();
        assert!(err.message.contains("missing required key `bucket`"));
        assert_eq!(err.pos.unwrap().line, 2);
    }

    #[test]
    fn plain_numbers_can_be_strings() {
        let outer = load("source:\n  bucket: 0123\ncount: 4\n").unwrap();
        assert_eq!(outer.source.bucket, "0123");
        assert_eq!(outer.count, Some(4));
    }

    #[test]
    fn closest_matches_typos_only() {
        assert_eq!(
            closest("kms_keys", &["kms_key", "kms_admins"]),
            Some("kms_key")
        );
        assert_eq!(closest("zzzzzz", &["kms_key", "bucket"]), None);
    }
}
