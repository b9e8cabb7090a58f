//! The naming rules of the prediction log, shared by its writer (`smelt serve --log-dir`,
//! `smelt-serve`'s `predlog`) and its reader (`smelt monitor watch`): how a partition value is
//! written in a folder name, and which names a feature column cannot take. The whole layout is
//! documented in `smelt-serve/src/predlog/mod.rs`.

use std::collections::HashSet;

/// Column names a feature cannot take in a log file: the columns before the features, the
/// output column and the `date` partition (the `proba_<class>` columns are added per model).
pub const FIXED_COLUMNS: [&str; 9] = [
    "request_id",
    "time",
    "model",
    "version",
    "protocol",
    "latency_us",
    "row",
    "prediction",
    "date",
];

/// A partition value as written in a folder name: letters, digits, `-`, `_`, `.` as they are,
/// every other byte as `%XX`.
pub fn encode_partition(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of an encoded partition (a malformed escape is kept as written).
pub fn decode_partition(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = value.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The log column names of a model's features: a feature's own name, unless a fixed column or
/// one of `proba` (the model's `proba_<class>` columns) has it — then `feature_<name>`, prefixed
/// again until free.
pub fn feature_columns(features: &[&str], proba: &[String]) -> Vec<String> {
    let reserved: HashSet<&str> = FIXED_COLUMNS
        .iter()
        .copied()
        .chain(proba.iter().map(String::as_str))
        .collect();
    let mut taken: HashSet<String> = reserved.iter().map(|s| s.to_string()).collect();
    taken.extend(features.iter().map(|f| f.to_string()));
    features
        .iter()
        .map(|f| {
            if !reserved.contains(f) {
                return f.to_string();
            }
            let mut name = format!("feature_{f}");
            while taken.contains(&name) {
                name = format!("feature_{name}");
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_encode_and_decode_back() {
        for v in ["adult", "my model/v2", "é%", "a.b-c_d"] {
            assert_eq!(decode_partition(&encode_partition(v)), v);
        }
        assert_eq!(encode_partition("my model"), "my%20model");
        assert_eq!(decode_partition("bad%zz"), "bad%zz");
    }

    #[test]
    fn colliding_feature_names_get_a_prefix() {
        let names = feature_columns(&["age", "time", "feature_time"], &["proba_a".into()]);
        assert_eq!(names, ["age", "feature_feature_time", "feature_time"]);
        let names = feature_columns(&["proba_a"], &["proba_a".into()]);
        assert_eq!(names, ["feature_proba_a"]);
    }
}
