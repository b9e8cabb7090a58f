//! Request fields as MLflow's server reads them: a GET's query string, or the JSON body of a
//! POST, PATCH or DELETE (an empty body is `{}`), with protobuf JSON's leniency (int64 as a
//! number or a string) and MLflow's "Missing value for required parameter" errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use serde_json::{Map, Value};
use smelt_track::entities::KeyValue;

use crate::error::ApiError;

/// Largest JSON body accepted (MLflow's own limit on log-batch is 1 MB; model JSON can be more).
pub const MAX_JSON_BODY: usize = 16 << 20;

/// The fields of one request.
#[derive(Debug, Default)]
pub struct Params(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_string();
        if req.method() == Method::GET {
            return Ok(Self::from_query(&query));
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
            .map_err(|_| ApiError {
                code: smelt_track::ErrorCode::ResourceExhausted,
                message: format!("request body over the {} MiB limit", MAX_JSON_BODY >> 20),
            })?;
        let _ = state;
        let mut p = Self::from_body(&body)?;
        // Fields in the query string of a POST fill gaps (some clients send both).
        for (k, v) in Self::from_query(&query).0 {
            p.0.entry(k).or_insert(v);
        }
        Ok(p)
    }
}

/// The captures of a route's URL path (`{id}`, `{*path}`), like axum's `Path`, but refused in
/// MLflow's error JSON (a capture that is not UTF-8 once percent-decoded is a 400
/// INVALID_PARAMETER_VALUE, not axum's plain-text answer).
#[derive(Debug)]
pub struct UrlPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for UrlPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::invalid(format!(
                "URL path `{}`: {}",
                parts.uri.path(),
                e.body_text()
            ))),
        }
    }
}

impl Params {
    /// Parses a query string; a repeated key becomes an array.
    pub fn from_query(query: &str) -> Self {
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let k = k.trim_end_matches("[]").to_string();
            match map.get_mut(&k) {
                Some(Value::Array(a)) => a.push(Value::String(v.into_owned())),
                Some(prev) => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, Value::String(v.into_owned())]);
                }
                None => {
                    map.insert(k, Value::String(v.into_owned()));
                }
            }
        }
        Self(map)
    }

    /// Parses a JSON object body; empty means no fields.
    pub fn from_body(body: &Bytes) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            Ok(_) => Err(ApiError::bad_request(
                "the request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "malformed JSON in the request body: {e}"
            ))),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// An optional string field. Anything but a string (or a one-string list, as a repeated
    /// query key gives) is refused as MLflow's `_assert_string` does.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(a)) if matches!(a.as_slice(), [Value::String(_)]) => {
                Ok(a[0].as_str().map(str::to_string))
            }
            Some(other) => Err(ApiError::bad_value(key, other)),
        }
    }

    /// A required string field.
    pub fn str(&self, key: &str) -> Result<String, ApiError> {
        self.opt_str(key)?.ok_or_else(|| ApiError::missing(key))
    }

    /// A required string that may not be empty.
    pub fn non_empty(&self, key: &str) -> Result<String, ApiError> {
        self.opt_str(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(key))
    }

    /// The first of several names that is present (`run_id` / `run_uuid`).
    pub fn either(&self, keys: &[&str]) -> Result<String, ApiError> {
        for k in keys {
            if let Some(v) = self.opt_str(k)?.filter(|s| !s.is_empty()) {
                return Ok(v);
            }
        }
        Err(ApiError::missing(keys[0]))
    }

    /// An optional int64 (a number or a decimal string).
    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let bad = |v: &Value| ApiError::bad_value(key, v);
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                        .map(|f| f as i64)
                })
                .map(Some)
                .ok_or_else(|| bad(v)),
            Some(v @ Value::String(s)) if s.is_empty() => {
                let _ = v;
                Ok(None)
            }
            Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
            Some(v) => Err(bad(v)),
        }
    }

    /// An optional double (a number, or `"NaN"`, `"Infinity"`, a decimal string).
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => smelt_track::entities::de_f64(v.clone())
                .map(Some)
                .map_err(|e| {
                    ApiError::invalid(format!("Invalid value for parameter '{key}': {e}"))
                }),
        }
    }

    /// An optional boolean (`true`/`false` or their strings).
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid(format!(
                "Invalid value {v} for parameter '{key}': expected true or false"
            ))),
        }
    }

    /// A list of strings (a single string counts as a list of one).
    pub fn str_list(&self, key: &str) -> Result<Vec<String>, ApiError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(ApiError::invalid(format!(
                        "Invalid value {other} in list parameter '{key}'"
                    ))),
                })
                .collect(),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Number(n)) => Ok(vec![n.to_string()]),
            Some(other) => Err(ApiError::invalid(format!(
                "Invalid value {other} for list parameter '{key}'"
            ))),
        }
    }

    /// Checks that each object of list `key` has the fields `fields`, naming the first one
    /// missing (null or `""`) as MLflow's log-batch does: `metrics[0].timestamp`.
    pub fn require_item_fields(&self, key: &str, fields: &[&str]) -> Result<(), ApiError> {
        let Some(Value::Array(items)) = self.get(key) else {
            return Ok(());
        };
        for (i, item) in items.iter().enumerate() {
            for field in fields {
                let value = item.get(field).filter(|v| !v.is_null());
                if value.is_none_or(|v| v.as_str() == Some("")) {
                    return Err(ApiError::missing(&format!("{key}[{i}].{field}")));
                }
            }
        }
        Ok(())
    }

    /// A list of `{key, value}` objects.
    pub fn kvs(&self, key: &str) -> Result<Vec<KeyValue>, ApiError> {
        self.typed_list(key)
    }

    /// A list of objects of a serde type. A string holding a JSON list is read as that list;
    /// anything else that is not a list is refused as MLflow's `_assert_array` does.
    pub fn typed_list<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Vec<T>, ApiError> {
        let items = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(v @ Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(list @ Value::Array(_)) => list,
                _ => return Err(ApiError::bad_value(key, v)),
            },
            Some(list @ Value::Array(_)) => list.clone(),
            Some(other) => return Err(ApiError::bad_value(key, other)),
        };
        serde_json::from_value(items)
            .map_err(|e| ApiError::invalid(format!("Invalid value for parameter '{key}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_with_repeated_keys() {
        let p = Params::from_query("run_ids=a&run_ids=b&metric_key=loss&max_results=10&x[]=1");
        assert_eq!(
            p.str_list("run_ids").ok(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(p.str("metric_key").ok().as_deref(), Some("loss"));
        assert_eq!(p.opt_i64("max_results").ok(), Some(Some(10)));
        assert_eq!(p.str_list("x").ok(), Some(vec!["1".to_string()]));
        assert_eq!(
            p.str("nope").expect_err("missing").code,
            smelt_track::ErrorCode::InvalidParameterValue
        );
    }

    #[test]
    fn bodies() {
        let p = Params::from_body(&Bytes::from_static(
            br#"{"timestamp":"12","value":"NaN","tags":[{"key":"a","value":"b"}]}"#,
        ))
        .expect("parses");
        assert_eq!(p.opt_i64("timestamp").ok(), Some(Some(12)));
        assert!(p.opt_f64("value").ok().flatten().is_some_and(f64::is_nan));
        assert_eq!(p.kvs("tags").ok().map(|v| v.len()), Some(1));
        assert!(Params::from_body(&Bytes::from_static(b"")).is_ok());
        assert!(Params::from_body(&Bytes::from_static(b"[1]")).is_err());
        assert!(Params::from_body(&Bytes::from_static(b"{oops")).is_err());
        let p = Params::from_body(&Bytes::from_static(br#"{"step": 1.5}"#)).expect("parses");
        assert!(p.opt_i64("step").is_err());
    }
}
