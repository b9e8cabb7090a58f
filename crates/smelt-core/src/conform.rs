//! Matching a dataset to the columns a model was trained on, **by name**.
//!
//! At predict time the input may have its columns in another order, extra columns, and
//! categorical columns whose codes were assigned from other data (codes are positions in the
//! sorted distinct values of *that* table). [`Dataset::conform`] returns the data in the
//! training layout: the expected columns in the expected order, categorical codes re-mapped
//! through the category strings, the target carried through.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::dataset::{Bitmap, Dataset, Feature, FeatureKind, Float};
use crate::error::{CoreError, Result};
use crate::schema::LogicalType;
use crate::text::{closest, thousands};

/// What to do with a category that was not seen in training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownCategory {
    /// Fail with [`CoreError::UnknownCategory`] naming the column and value.
    #[default]
    Error,
    /// Treat it as a missing value (NaN and a set bit in the missing mask).
    Missing,
    /// Keep it: unseen categories get codes after the training ones and are appended to the
    /// feature's category list, so a later step (an encoder) decides what they mean.
    Append,
}

/// A category in the data that a model's feature does not list, and how many rows hold it:
/// what [`UnknownCategory::Append`] lets through without a word, so commands that score say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnseenCategory {
    /// The feature (column) name.
    pub feature: String,
    /// The category as it reads in the data.
    pub value: String,
    /// Rows holding it.
    pub rows: u64,
}

/// One sentence per feature about its unseen categories (`unseen` grouped by feature, as
/// [`Dataset::unseen_categories`] returns them): the rows, and the most frequent values
/// (at most five, then "and N more"), for commands that score a table to warn with.
///
/// ```
/// use smelt_core::{UnseenCategory, unseen_category_warnings};
/// let unseen = [UnseenCategory { feature: "island".into(), value: "Atlantis".into(), rows: 2 }];
/// assert_eq!(
///     unseen_category_warnings(&unseen),
///     ["column `island`: 2 rows have a category the model never saw in training, scored as an unknown category: \"Atlantis\" (2)"]
/// );
/// ```
pub fn unseen_category_warnings(unseen: &[UnseenCategory]) -> Vec<String> {
    const SHOWN: usize = 5;
    unseen
        .chunk_by(|a, b| a.feature == b.feature)
        .map(|group| {
            let mut values: Vec<&UnseenCategory> = group.iter().collect();
            values.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.value.cmp(&b.value)));
            let rows: u64 = values.iter().map(|u| u.rows).sum();
            let mut listed: Vec<String> = values
                .iter()
                .take(SHOWN)
                .map(|u| format!("{:?} ({})", u.value, thousands(u.rows)))
                .collect();
            if values.len() > SHOWN {
                listed.push(format!(
                    "and {} more",
                    thousands((values.len() - SHOWN) as u64)
                ));
            }
            format!(
                "column `{}`: {} {} a category the model never saw in training, scored as an unknown category: {}",
                group[0].feature,
                thousands(rows),
                if rows == 1 { "row has" } else { "rows have" },
                listed.join(", ")
            )
        })
        .collect()
}

impl<T: Float> Dataset<T> {
    /// The categories of this dataset's columns that `expected` (a model's input features)
    /// does not list, with their row counts: by feature in `expected`'s order, then by value.
    /// Columns matched by name; a column `expected` lacks or does not take as categorical is
    /// not looked at. Missing values are not categories.
    pub fn unseen_categories(&self, expected: &[Feature]) -> Vec<UnseenCategory> {
        let mut out = Vec::new();
        for f in expected {
            let FeatureKind::Categorical { categories } = &f.kind else {
                continue;
            };
            let Some(j) = self.feature_index(&f.name) else {
                continue;
            };
            let known: std::collections::HashSet<&str> =
                categories.iter().map(String::as_str).collect();
            let col = self.column(j);
            let mut found: Vec<(String, u64)> = match &self.features()[j].kind {
                FeatureKind::Categorical { categories: labels } => {
                    let unseen: Vec<bool> =
                        labels.iter().map(|c| !known.contains(c.as_str())).collect();
                    if !unseen.contains(&true) {
                        continue;
                    }
                    let mut rows = vec![0u64; labels.len()];
                    for v in col.iter().filter(|v| !v.is_nan()) {
                        let code = v.to_f64() as usize;
                        if unseen.get(code) == Some(&true) {
                            rows[code] += 1;
                        }
                    }
                    labels
                        .iter()
                        .zip(rows)
                        .filter(|(_, n)| *n > 0)
                        .map(|(l, n)| (l.clone(), n))
                        .collect()
                }
                // Categories that arrived as numbers: counted per distinct value, then labelled.
                FeatureKind::Numeric => {
                    let mut rows: HashMap<u64, u64> = HashMap::new();
                    for v in col.iter().filter(|v| !v.is_nan()) {
                        *rows.entry(v.to_f64().to_bits()).or_default() += 1;
                    }
                    rows.into_iter()
                        .map(|(bits, n)| (number_label(f64::from_bits(bits)), n))
                        .filter(|(l, _)| !known.contains(l.as_str()))
                        .collect()
                }
            };
            found.sort();
            out.extend(found.into_iter().map(|(value, rows)| UnseenCategory {
                feature: f.name.clone(),
                value,
                rows,
            }));
        }
        out
    }

    /// This dataset laid out like `expected`: columns by name, categories by label. Borrows when the
    /// layout already matches.
    pub fn conform(
        &self,
        expected: &[Feature],
        unknown: UnknownCategory,
    ) -> Result<Cow<'_, Dataset<T>>> {
        // Text columns (logical type text) are read from the texts beside the matrix.
        let (texts, tabular): (Vec<&Feature>, Vec<&Feature>) =
            expected.iter().partition(|f| f.ltype == LogicalType::Text);
        for t in &texts {
            if self.text(&t.name).is_none() {
                let names: Vec<String> = self.texts().iter().map(|c| c.name.clone()).collect();
                return Err(CoreError::MissingColumn {
                    name: t.name.clone(),
                    suggestion: closest(&t.name, &names).map(str::to_string),
                });
            }
        }
        let tabular_only: Vec<Feature>;
        let expected = if texts.is_empty() {
            expected
        } else {
            tabular_only = tabular.into_iter().cloned().collect();
            tabular_only.as_slice()
        };
        if self.features() == expected {
            return Ok(Cow::Borrowed(self));
        }
        let n = self.n_rows();
        let mut values = Vec::with_capacity(n * expected.len());
        let mut missing = Vec::with_capacity(expected.len());
        let mut features = expected.to_vec();
        for (fi, f) in expected.iter().enumerate() {
            let Some(j) = self.feature_index(&f.name) else {
                let names: Vec<String> = self.feature_names().map(str::to_string).collect();
                return Err(CoreError::MissingColumn {
                    name: f.name.clone(),
                    suggestion: closest(&f.name, &names).map(str::to_string),
                });
            };
            let got = &self.features()[j];
            let col = self.column(j);
            match (&f.kind, &got.kind) {
                (FeatureKind::Numeric, FeatureKind::Numeric) => {
                    values.extend_from_slice(col);
                    missing.push(self.missing(j).cloned());
                }
                (FeatureKind::Categorical { categories }, got_kind) => {
                    let index: HashMap<&str, usize> = categories
                        .iter()
                        .enumerate()
                        .map(|(k, c)| (c.as_str(), k))
                        .collect();
                    // For each code of the input, the code in the training categories.
                    let mut remap: Vec<Option<usize>> = match got_kind {
                        FeatureKind::Categorical { categories: cats } => cats
                            .iter()
                            .map(|c| index.get(c.as_str()).copied())
                            .collect(),
                        FeatureKind::Numeric => Vec::new(),
                    };
                    let mut appended: Vec<String> = Vec::new();
                    if unknown == UnknownCategory::Append
                        && let FeatureKind::Categorical { categories: cats } = got_kind
                    {
                        for (code, slot) in remap.iter_mut().enumerate() {
                            if slot.is_none() {
                                *slot = Some(categories.len() + appended.len());
                                appended.push(cats[code].clone());
                            }
                        }
                    }
                    let mut mask = self.missing(j).cloned().unwrap_or_else(|| Bitmap::new(n));
                    for (i, &v) in col.iter().enumerate() {
                        if v.is_nan() {
                            values.push(T::NAN);
                            mask.set(i);
                            continue;
                        }
                        let mapped = match got_kind {
                            FeatureKind::Categorical { .. } => {
                                remap.get(v.to_f64() as usize).copied().flatten()
                            }
                            FeatureKind::Numeric => {
                                index.get(number_label(v.to_f64()).as_str()).copied()
                            }
                        };
                        match mapped {
                            Some(k) => values.push(T::from_f64(k as f64)),
                            None if unknown != UnknownCategory::Error => {
                                values.push(T::NAN);
                                mask.set(i);
                            }
                            None => {
                                let value = match got_kind {
                                    FeatureKind::Categorical { categories: cats } => {
                                        cats.get(v.to_f64() as usize).cloned().unwrap_or_default()
                                    }
                                    FeatureKind::Numeric => number_label(v.to_f64()),
                                };
                                return Err(CoreError::UnknownCategory {
                                    name: f.name.clone(),
                                    value,
                                });
                            }
                        }
                    }
                    missing.push((mask.count_ones() > 0).then_some(mask));
                    if !appended.is_empty()
                        && let FeatureKind::Categorical { categories } = &mut features[fi].kind
                    {
                        categories.extend(appended);
                    }
                }
                (FeatureKind::Numeric, FeatureKind::Categorical { categories }) => {
                    let example = col
                        .iter()
                        .find(|v| !v.is_nan())
                        .and_then(|v| categories.get(v.to_f64() as usize));
                    return Err(CoreError::TypeMismatch {
                        name: f.name.clone(),
                        expected: "numeric".into(),
                        got: match example {
                            Some(e) => format!("categorical (e.g. {e:?})"),
                            None => "categorical".into(),
                        },
                    });
                }
            }
        }
        let target = self.named_target();
        Dataset::from_parts(n, values, features, missing, target)
            .map(|d| Cow::Owned(d.with_texts_of(self)))
    }
}

/// How a number reads as a category label (`3.0` → `"3"`), for categorical columns that arrive
/// as numbers.
/// The category label a number stands for (`3`, `2.5`): how a numeric value is looked up among
/// a categorical feature's categories.
pub fn number_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_categories_are_counted_by_label() {
        let model = vec![
            cat("colour", &["blue", "red"]),
            num("x"),
            cat("size", &["1", "2"]),
        ];
        // The data's own codes: colour [green, red, green, NaN, pink], size as numbers.
        let data = Dataset::<f64>::new(
            5,
            vec![
                0.0,
                2.0,
                0.0,
                f64::NAN,
                1.0, // colour
                1.0,
                2.0,
                3.0,
                4.0,
                5.0, // x
                1.0,
                3.0,
                3.0,
                2.0,
                f64::NAN, // size
            ],
            vec![
                cat("colour", &["green", "pink", "red"]),
                num("x"),
                num("size"),
            ],
            None,
        )
        .unwrap();
        let got = data.unseen_categories(&model);
        let want = [
            ("colour", "green", 2),
            ("colour", "pink", 1),
            ("size", "3", 2),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, (f, v, n)) in got.iter().zip(want) {
            assert_eq!((g.feature.as_str(), g.value.as_str(), g.rows), (f, v, n));
        }
        // Data within the training categories: nothing.
        let known = Dataset::<f64>::new(
            1,
            vec![1.0, 0.5, 2.0],
            vec![cat("colour", &["blue", "red"]), num("x"), num("size")],
            None,
        )
        .unwrap();
        assert!(known.unseen_categories(&model).is_empty());
    }

    #[test]
    fn unseen_category_warnings_list_the_most_frequent_values() {
        let u = |feature: &str, value: &str, rows| UnseenCategory {
            feature: feature.into(),
            value: value.into(),
            rows,
        };
        let mut unseen = vec![u("a", "x", 1)];
        unseen.extend((0..7).map(|i| u("b", &format!("v{i}"), 1000 + i)));
        let got = unseen_category_warnings(&unseen);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            "column `a`: 1 row has a category the model never saw in training, scored as an unknown category: \"x\" (1)"
        );
        assert!(
            got[1].starts_with("column `b`: 7,021 rows have a category"),
            "{}",
            got[1]
        );
        assert!(
            got[1].ends_with(
                "\"v6\" (1,006), \"v5\" (1,005), \"v4\" (1,004), \"v3\" (1,003), \"v2\" (1,002), and 2 more"
            ),
            "{}",
            got[1]
        );
        assert!(unseen_category_warnings(&[]).is_empty());
    }

    fn num(name: &str) -> Feature {
        Feature {
            name: name.into(),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        }
    }

    fn cat(name: &str, cats: &[&str]) -> Feature {
        Feature {
            name: name.into(),
            ltype: LogicalType::Categorical,
            kind: FeatureKind::Categorical {
                categories: cats.iter().map(|c| c.to_string()).collect(),
            },
        }
    }

    #[test]
    fn reorders_by_name_and_remaps_codes() {
        // Input: colour (codes into [green, red]), x, extra.
        let input = Dataset::<f64>::new(
            2,
            vec![1.0, 0.0, 5.0, 6.0, 9.0, 9.0],
            vec![cat("colour", &["green", "red"]), num("x"), num("extra")],
            None,
        )
        .unwrap();
        let expected = vec![num("x"), cat("colour", &["blue", "green", "red"])];
        let out = input.conform(&expected, UnknownCategory::Error).unwrap();
        assert_eq!(out.features(), &expected[..]);
        assert_eq!(out.column(0), &[5.0, 6.0]);
        assert_eq!(out.column(1), &[2.0, 1.0]);
    }

    #[test]
    fn borrowed_when_layout_matches() {
        let ds = Dataset::<f64>::new(1, vec![1.0], vec![num("x")], None).unwrap();
        assert!(matches!(
            ds.conform(&[num("x")], UnknownCategory::Error).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn missing_column_suggests_a_name() {
        let ds = Dataset::<f64>::new(1, vec![1.0], vec![num("Age")], None).unwrap();
        let err = ds
            .conform(&[num("age")], UnknownCategory::Error)
            .unwrap_err();
        match err {
            CoreError::MissingColumn { name, suggestion } => {
                assert_eq!(name, "age");
                assert_eq!(suggestion.as_deref(), Some("Age"));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn unknown_category_error_or_missing() {
        let ds =
            Dataset::<f64>::new(2, vec![0.0, 1.0], vec![cat("c", &["a", "zz"])], None).unwrap();
        let expected = [cat("c", &["a", "b"])];
        let err = ds.conform(&expected, UnknownCategory::Error).unwrap_err();
        assert!(
            matches!(&err, CoreError::UnknownCategory { value, .. } if value == "zz"),
            "{err:?}"
        );
        let out = ds.conform(&expected, UnknownCategory::Missing).unwrap();
        assert_eq!(out.column(0)[0], 0.0);
        assert!(out.is_missing(1, 0));
        let out = ds.conform(&expected, UnknownCategory::Append).unwrap();
        assert_eq!(out.column(0), &[0.0, 2.0]);
        assert_eq!(out.features()[0], cat("c", &["a", "b", "zz"]));
    }

    #[test]
    fn numeric_expected_but_categorical_given() {
        let ds = Dataset::<f64>::new(1, vec![0.0], vec![cat("x", &["abc"])], None).unwrap();
        let err = ds.conform(&[num("x")], UnknownCategory::Error).unwrap_err();
        assert!(err.to_string().contains("\"abc\""), "{err}");
    }

    #[test]
    fn numbers_read_as_category_labels() {
        let ds = Dataset::<f64>::new(2, vec![3.0, 1.0], vec![num("c")], None).unwrap();
        let out = ds
            .conform(&[cat("c", &["1", "3"])], UnknownCategory::Error)
            .unwrap();
        assert_eq!(out.column(0), &[1.0, 0.0]);
    }
}
