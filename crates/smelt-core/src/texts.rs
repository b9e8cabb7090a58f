//! Free-text columns carried beside a [`Dataset`]'s matrix.
//!
//! A text column (logical type `text`: many distinct strings) cannot be a number in the
//! feature matrix, so tabular models never see it. Text models (a transformer trained from
//! scratch, a fine-tuned pretrained encoder, TF-IDF) read it from [`Dataset::texts`]. A
//! fitted text model names the columns it reads among its input features with
//! [`LogicalType::Text`] ([`text_feature`]): [`Dataset::conform`] then checks they are
//! present, and `frame_for_model` reads them back from a table at prediction time.

use crate::dataset::{Dataset, Feature, FeatureKind, Float};
use crate::error::{CoreError, Result};
use crate::schema::LogicalType;
pub use crate::text_column::TextColumn;

/// The input feature naming text column `name` (logical type [`LogicalType::Text`]).
pub fn text_feature(name: &str) -> Feature {
    Feature {
        name: name.to_string(),
        ltype: LogicalType::Text,
        kind: FeatureKind::Numeric,
    }
}

impl<T: Float> Dataset<T> {
    /// The free-text columns, in table order (empty for a table without one).
    pub fn texts(&self) -> &[TextColumn] {
        &self.texts
    }

    /// The text column `name`.
    pub fn text(&self, name: &str) -> Option<&TextColumn> {
        self.texts.iter().find(|t| t.name == name)
    }

    /// The dataset with these text columns beside its matrix (replacing any it had). Each
    /// must have a value per row and a name no feature or the target has.
    pub fn with_texts(mut self, texts: Vec<TextColumn>) -> Result<Self> {
        let mut seen = std::collections::HashSet::new();
        for t in &texts {
            if t.values.len() != self.n_rows() {
                return Err(CoreError::LengthMismatch {
                    name: t.name.clone(),
                    expected: self.n_rows(),
                    got: t.values.len(),
                });
            }
            if !seen.insert(t.name.as_str())
                || self.feature_index(&t.name).is_some()
                || self.target_name() == Some(t.name.as_str())
            {
                return Err(CoreError::DuplicateColumn {
                    name: t.name.clone(),
                });
            }
        }
        self.texts = texts;
        Ok(self)
    }

    /// The text columns carried over from `other` (same rows): what a transform that builds a
    /// new dataset keeps from its input.
    pub fn with_texts_of<U: Float>(mut self, other: &Dataset<U>) -> Self {
        if other.n_rows() == self.n_rows() {
            self.texts = other.texts.clone();
        }
        self
    }

    /// The input features a model fitted on this dataset reads: the matrix's features, then
    /// the text columns ([`text_feature`]).
    pub fn input_features(&self) -> Vec<Feature> {
        let mut out = self.features().to_vec();
        out.extend(self.texts.iter().map(|t| text_feature(&t.name)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Target;

    fn ds() -> Dataset<f64> {
        let f = Feature {
            name: "x".into(),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        };
        let target = Target::Regression {
            values: vec![1.0, 2.0, 3.0],
        };
        Dataset::new(3, vec![0.5, 1.5, 2.5], vec![f], Some(("y".into(), target))).unwrap()
    }

    #[test]
    fn texts_follow_rows_and_casts() {
        let t = TextColumn::new("note", vec![Some("a".into()), None, Some("c".into())]);
        let d = ds().with_texts(vec![t]).unwrap();
        let sub = d.select_rows(&[2, 0, 2]).unwrap();
        assert_eq!(
            sub.text("note").unwrap().values,
            vec![Some("c".to_string()), Some("a".into()), Some("c".into())]
        );
        assert_eq!(d.cast::<f32>().texts().len(), 1);
        let names: Vec<_> = d.input_features().into_iter().map(|f| f.ltype).collect();
        assert_eq!(names, vec![LogicalType::Numeric, LogicalType::Text]);
    }

    #[test]
    fn wrong_length_or_clashing_name_is_refused() {
        let short = TextColumn::new("note", vec![None]);
        assert!(matches!(
            ds().with_texts(vec![short]),
            Err(CoreError::LengthMismatch { .. })
        ));
        let clash = TextColumn::new("x", vec![None, None, None]);
        assert!(matches!(
            ds().with_texts(vec![clash]),
            Err(CoreError::DuplicateColumn { .. })
        ));
    }
}
