//! `POST /v1/embeddings`: OpenAI's embeddings API for the embedding models a server holds, so
//! code written for OpenAI's client (`client.embeddings.create(model=…, input=[…])`, with
//! `base_url` pointed here), LangChain's `OpenAIEmbeddings` and the like works unchanged.
//!
//! Request: `{"model": NAME, "input": TEXT | [TEXT, …], "encoding_format": "float" |
//! "base64", "dimensions": N, "user": …}`. `model` picks the served model (the default one
//! when absent); `dimensions`, when given, must be the model's own width (vectors are not
//! shortened). Token-id inputs are refused: send texts. Answer: OpenAI's list of
//! `{"object": "embedding", "index": i, "embedding": …}` with `usage` counted by the model's
//! own tokenizer.

use std::time::Instant;

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use smelt_core::Predictor;

use super::{Scoring, finish};
use crate::app::App;
use crate::decode::{BadInput, table};
use crate::encode;
use crate::error::{ApiError, Protocol};

const P: Protocol = Protocol::OpenAi;

/// The texts of `input`: a string or a list of strings.
fn texts(input: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let bad = |m: String| ApiError::bad_request(P, m);
    match input {
        None => Err(bad(
            "`input` is required: a text or a list of texts".into(),
        )),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(bad("`input` is an empty list: send at least one text".into()))
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(_) | Value::Array(_) => Err(bad(format!(
                    "input[{i}]: token ids are not accepted; send the texts (the model tokenises them itself)"
                ))),
                other => Err(bad(format!(
                    "input[{i}]: expected a text, got {}",
                    table::kind(other)
                ))),
            })
            .collect(),
        Some(other) => Err(bad(format!(
            "`input`: expected a text or a list of texts, got {}",
            table::kind(other)
        ))),
    }
}

/// Tokens the model reads of `texts` (special tokens included, after truncation), as OpenAI's
/// `usage` counts them; 0 for a model without a tokenizer of its own.
fn count_tokens(model: &dyn Predictor, texts: &[String]) -> usize {
    let Some(encoder) = model
        .as_any()
        .and_then(|a| a.downcast_ref::<smelt_deep::encoder::SentenceEncoder>())
    else {
        return 0;
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    encoder
        .tokenize(&refs)
        .map_or(0, |ids| ids.iter().map(Vec::len).sum())
}

pub async fn embeddings(State(app): State<App>, Scoring { headers, body }: Scoring) -> Response {
    let start = Instant::now();
    let mut served = None;
    let mut name = "-".to_string();
    let result = async {
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(P, format!("the body is not valid JSON: {e}")))?;
        let Value::Object(req) = &json else {
            return Err(ApiError::bad_request(
                P,
                "expected a JSON object with `model` and `input`",
            ));
        };
        let endpoint = match req.get("model") {
            Some(Value::String(m)) => app.endpoint(m, P)?,
            None | Some(Value::Null) => app
                .models
                .default_endpoint()
                .ok_or_else(|| ApiError::not_found(P, "no model is served"))?,
            Some(other) => {
                return Err(ApiError::bad_request(
                    P,
                    format!("`model`: expected a name, got {}", table::kind(other)),
                ));
            }
        };
        name = endpoint.name.clone();
        let primary = endpoint.routing().primary.clone();
        let sig = &primary.signature;
        let Some(dim) = (sig.task == "embedding")
            .then(|| sig.outputs.first().and_then(|o| o.shape.get(1).copied()))
            .flatten()
        else {
            return Err(ApiError::bad_request(
                P,
                format!(
                    "model \"{name}\" is a {} model; /v1/embeddings serves embedding models (sentence encoders)",
                    sig.task
                ),
            ));
        };
        let base64 = match req.get("encoding_format") {
            None | Some(Value::Null) => false,
            Some(Value::String(f)) if f == "float" => false,
            Some(Value::String(f)) if f == "base64" => true,
            Some(other) => {
                return Err(ApiError::bad_request(
                    P,
                    format!("`encoding_format`: expected \"float\" or \"base64\", got {other}"),
                ));
            }
        };
        match req.get("dimensions") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_i64() == Some(dim) => {}
            Some(other) => {
                return Err(ApiError::bad_request(
                    P,
                    format!(
                        "`dimensions` is {other}, but model \"{name}\"'s vectors have {dim} values (they are not shortened); leave it out"
                    ),
                ));
            }
        }
        let texts = texts(req.get("input"))?;
        let (v, pred) = app
            .score(&endpoint, None, &headers, P, |codec| {
                let column = codec
                    .names()
                    .first()
                    .ok_or_else(|| BadInput("the model has no input".into()))?;
                let items: Vec<Value> = texts
                    .iter()
                    .map(|t| serde_json::json!({ column.as_str(): t }))
                    .collect();
                table::records(codec, &items, "input")
            })
            .await?;
        served = Some(v.clone());
        let model = v.clone();
        let tokens = tokio::task::spawn_blocking(move || count_tokens(model.batcher.model(), &texts))
            .await
            .unwrap_or(0);
        Ok(super::json_bytes(encode::openai_embeddings(
            &name, &pred, base64, tokens,
        )))
    }
    .await;
    finish(&app, &name, served.as_deref(), P, start, result)
}
