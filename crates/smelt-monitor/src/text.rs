//! Text columns, monitored through numbers drawn from each row (Evidently's text descriptors):
//! its length in characters and its out-of-vocabulary share — the fraction of its words that
//! the reference never uses. Each becomes a numeric column of the table, `review (length)` and
//! `review (OOV share)`, tested for drift like any other; a new topic or a broken upstream
//! (truncated, empty, another language) shows up in one of them. Embedding drift waits for the
//! deep-learning crate's encoders.
//!
//! Words are the runs of letters and digits, lower-cased. The reference's own OOV share is
//! measured leave-one-out — a word counts as unknown in a reference row when no other reference
//! row uses it — so it estimates what a new row from the same source would show, and an
//! unchanged source does not drift.

use std::collections::HashMap;

/// A text column's reference vocabulary: how many reference rows use each word.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vocabulary {
    /// The text column.
    pub column: String,
    rows_using: HashMap<String, u32>,
}

/// The name of a text column's length column.
pub fn length_name(column: &str) -> String {
    format!("{column} (length)")
}

/// The name of a text column's out-of-vocabulary column.
pub fn oov_name(column: &str) -> String {
    format!("{column} (OOV share)")
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn distinct(mut w: Vec<String>) -> Vec<String> {
    w.sort_unstable();
    w.dedup();
    w
}

fn lengths(rows: &[Option<&str>]) -> Vec<f64> {
    rows.iter()
        .map(|t| t.map_or(f64::NAN, |t| t.chars().count() as f64))
        .collect()
}

/// A text column's derived values: each row's length and out-of-vocabulary share (NaN where
/// the text is missing).
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    /// Characters per row.
    pub length: Vec<f64>,
    /// Share of the row's words the reference does not use.
    pub oov: Vec<f64>,
}

/// The share of a row's words that are `unknown` (NaN for a missing text, 0 without words).
fn oov_share(words: Option<&[String]>, unknown: impl Fn(&String) -> bool) -> f64 {
    match words {
        None => f64::NAN,
        Some([]) => 0.0,
        Some(w) => w.iter().filter(|x| unknown(x)).count() as f64 / w.len() as f64,
    }
}

/// The reference's derived values (length, leave-one-out OOV share) and its vocabulary.
pub fn reference_values(column: &str, rows: &[Option<&str>]) -> (Derived, Vocabulary) {
    let tokenised: Vec<Option<Vec<String>>> = rows.iter().map(|t| t.map(words)).collect();
    let mut rows_using: HashMap<String, u32> = HashMap::new();
    for w in tokenised.iter().flatten() {
        for word in distinct(w.clone()) {
            *rows_using.entry(word).or_default() += 1;
        }
    }
    // Leave-one-out: a word only this row uses is unknown to it.
    let oov = tokenised
        .iter()
        .map(|w| {
            oov_share(w.as_deref(), |x| {
                rows_using.get(x).copied().unwrap_or(0) <= 1
            })
        })
        .collect();
    (
        Derived {
            length: lengths(rows),
            oov,
        },
        Vocabulary {
            column: column.to_string(),
            rows_using,
        },
    )
}

impl Vocabulary {
    /// The current data's derived values (length, OOV share against the reference).
    pub fn current_values(&self, rows: &[Option<&str>]) -> Derived {
        let oov = rows
            .iter()
            .map(|t| {
                let w = t.map(words);
                oov_share(w.as_deref(), |x| !self.rows_using.contains_key(x))
            })
            .collect();
        Derived {
            length: lengths(rows),
            oov,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_out_of_vocabulary_shares() {
        let reference = [
            Some("The cat sat."),
            Some("the dog sat"),
            None,
            Some("a unique word"),
        ];
        let (d, vocab) = reference_values("review", &reference);
        assert_eq!(length_name("review"), "review (length)");
        let (len, oov) = (&d.length, &d.oov);
        assert_eq!(len[0], 12.0);
        assert!(len[2].is_nan());
        // "the" and "sat" appear in two rows; "cat", "dog" and all of row 4 in one only.
        assert!((oov[0] - 1.0 / 3.0).abs() < 1e-12 && (oov[3] - 1.0).abs() < 1e-12);
        let cur = vocab.current_values(&[Some("THE CAT, the zebra!"), Some("")]);
        let oov = &cur.oov;
        assert!((oov[0] - 0.25).abs() < 1e-12 && oov[1] == 0.0);
    }
}
