//! The common request shapes read straight from the JSON text into the feature matrix, with no
//! `serde_json::Value` tree in between (a tree costs an allocation per key and value: a third of
//! a single-row request's time). Anything unusual — a missing or mistyped feature, an unseen
//! category — returns `None`, and the caller decodes again through the tree-based path, which
//! words the error precisely. So this path only has to be fast and right for good requests.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Codec, Filler, Rows};

/// `{"feature": value, …}` (one row) or `[{…}, {…}]` (one row each).
pub fn records(codec: &Codec, body: &[u8]) -> Option<Rows> {
    // Free text goes through the tree-based path, which keeps the strings.
    if codec.has_text() {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let rows = Top { codec }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(rows)
}

struct Top<'c> {
    codec: &'c Codec,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Rows;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Rows, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Rows;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of features or a list of them")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Rows, A::Error> {
        let mut rows = Vec::with_capacity(self.codec.width());
        Row {
            codec: self.codec,
            out: &mut rows,
        }
        .visit_map(map)?;
        Ok(Rows::numeric(1, rows))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
        let k = self.codec.width();
        // Row-major while reading, then column-major.
        let mut flat: Vec<f64> = Vec::with_capacity(seq.size_hint().unwrap_or(1) * k);
        let mut n = 0;
        while seq
            .next_element_seed(Row {
                codec: self.codec,
                out: &mut flat,
            })?
            .is_some()
        {
            n += 1;
        }
        let mut fill = Filler::new(n, k);
        for i in 0..n {
            for j in 0..k {
                fill.set(i, j, flat[i * k + j]);
            }
        }
        Ok(fill.finish())
    }
}

/// One object: appends its `width` values, in feature order, to `out`.
struct Row<'c, 'o> {
    codec: &'c Codec,
    out: &'o mut Vec<f64>,
}

impl<'de> DeserializeSeed<'de> for Row<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Row<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of features")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let k = self.codec.width();
        let start = self.out.len();
        self.out.resize(start + k, f64::NAN);
        let mut seen = 0usize;
        let mut got = vec![false; k];
        while let Some(j) = map.next_key_seed(Key { codec: self.codec })? {
            match j {
                Some(j) => {
                    let v = map.next_value_seed(Cell {
                        codec: self.codec,
                        j,
                    })?;
                    if !got[j] {
                        got[j] = true;
                        seen += 1;
                    }
                    self.out[start + j] = v;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if seen == k {
            Ok(())
        } else {
            Err(de::Error::custom("missing feature"))
        }
    }
}

/// A key: the feature's position, or `None` for a key the model does not use.
struct Key<'c> {
    codec: &'c Codec,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a feature name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.codec.position(v))
    }
}

/// A value, read through the codec (numbers, booleans, categories, date-times, null).
struct Cell<'c> {
    codec: &'c Codec,
    j: usize,
}

impl<'de> DeserializeSeed<'de> for Cell<'_> {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Cell<'_> {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a feature value")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        self.codec.number(self.j, 0, v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<f64, E> {
        self.codec
            .json(self.j, 0, &serde_json::Value::Bool(v))
            .map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        self.codec.text(self.j, 0, v).map_err(E::custom)
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        self.codec.missing(self.j, 0).map_err(E::custom)
    }
    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        self.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::decode::table;

    #[test]
    fn same_rows_as_the_tree_path_or_none() {
        let c = crate::decode::test_codec();
        let one = json!({"y": 3, "c": "b", "x": 1, "id": "ignored"});
        let many = json!([{"y": 3, "c": "b", "x": 1}, {"x": 4, "y": null, "c": "a"}]);
        let fast = records(&c, one.to_string().as_bytes()).unwrap();
        assert_eq!(fast, table::record(&c, one.as_object().unwrap()).unwrap());
        let fast = records(&c, many.to_string().as_bytes()).unwrap();
        let slow = table::records(&c, many.as_array().unwrap(), "r").unwrap();
        assert_eq!(fast.n, 2);
        assert_eq!(format!("{:?}", fast.values), format!("{:?}", slow.values));
        for bad in [
            json!({"x": 1, "c": "b"}),
            json!({"x": 1, "c": "z", "y": 1}),
            json!({"x": "one", "c": "b", "y": 1}),
            json!([1, 2]),
            json!({"x": [1], "c": "b", "y": 1}),
        ] {
            assert!(records(&c, bad.to_string().as_bytes()).is_none(), "{bad}");
        }
        assert!(records(&c, b"{\"x\": 1, \"c\": \"b\", \"y\": 1} trailing").is_none());
    }

    /// Keys in any order, unused keys between them and a repeated key read the same row.
    #[test]
    fn key_order_does_not_matter() {
        let c = crate::decode::test_codec();
        let want = records(&c, br#"{"x": 1, "c": "b", "y": 2}"#)
            .unwrap()
            .values;
        for body in [
            r#"{"y": 2, "c": "b", "x": 1}"#,
            r#"{"c": "b", "x": 1, "y": 2}"#,
            r#"{"id": 7, "x": 1, "note": "-", "c": "b", "y": 2}"#,
            r#"{"x": 1, "x": 1, "c": "b", "y": 2}"#,
            r#"{"x": 1, "y": 2, "c": "b"}"#,
        ] {
            let got = records(&c, body.as_bytes()).unwrap();
            assert_eq!(format!("{:?}", got.values), format!("{want:?}"), "{body}");
        }
        assert!(
            records(&c, br#"{"x": 1, "x": 1, "y": 2}"#).is_none(),
            "c is missing"
        );
    }
}
