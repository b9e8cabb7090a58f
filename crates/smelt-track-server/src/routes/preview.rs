//! The first rows of a Parquet artifact for the web UI (`/api/smelt/v1/ui/table-preview`). (HTML
//! reports are shown inline by `/get-artifact?...&preview=html`: `artifacts::sandboxed_html`.)

use axum::Json;
use axum::extract::State;
use futures::TryStreamExt;
use serde_json::{Value, json};
use smelt_data::polars::prelude::{AnyValue, DataFrame, len};
use tokio::io::AsyncWriteExt;

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

/// Largest Parquet file previewed (it is copied to a temporary file first: Parquet's index is at
/// its end).
const MAX_PREVIEW_BYTES: u64 = 512 * 1024 * 1024;
/// Most rows a preview shows.
const MAX_PREVIEW_ROWS: i64 = 1000;
/// Longest cell text sent (longer values are cut, with an ellipsis).
const MAX_CELL_CHARS: usize = 300;

/// `GET /api/smelt/v1/ui/table-preview?run_id=&path=&rows=100`: a Parquet artifact's schema,
/// row count and first rows, as text cells (`null` for missing values).
pub(crate) async fn table_preview(
    State(s): State<AppState>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let raw = p.non_empty("path")?;
    if !raw.to_ascii_lowercase().ends_with(".parquet") {
        return Err(ApiError::invalid(format!(
            "table-preview reads Parquet files; `{raw}` is not one (CSV and JSON are previewed in the browser)"
        )));
    }
    let rows = p.opt_i64("rows")?.unwrap_or(100).clamp(1, MAX_PREVIEW_ROWS);
    let (store, path) = super::artifacts::run_file(&s, &p).await?;
    let (size, mut stream) = store.get_stream(&path).await?;
    if size > MAX_PREVIEW_BYTES {
        return Err(ApiError::invalid(format!(
            "`{raw}` is {size} bytes; previews read Parquet files up to {MAX_PREVIEW_BYTES} bytes (download it instead)"
        )));
    }
    let tmp = tempfile::Builder::new()
        .suffix(".parquet")
        .tempfile()
        .map_err(|e| internal("a temporary file for the preview", &e))?;
    let mut file = tokio::fs::File::create(tmp.path())
        .await
        .map_err(|e| internal("a temporary file for the preview", &e))?;
    while let Some(chunk) = stream.try_next().await? {
        file.write_all(&chunk)
            .await
            .map_err(|e| internal("writing the preview's copy", &e))?;
    }
    file.flush()
        .await
        .map_err(|e| internal("writing the preview's copy", &e))?;
    drop(file);
    let shown = raw.clone();
    let answer = tokio::task::spawn_blocking(move || read_head(tmp.path(), rows))
        .await
        .map_err(|e| internal("the preview task", &e))?;
    answer
        .map_err(|e| ApiError::invalid(format!("`{shown}` could not be read as Parquet: {e}")))
        .map(Json)
}

fn internal(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what}");
    ApiError {
        code: smelt_track::ErrorCode::InternalError,
        message: format!("{what} failed; see the server log"),
    }
}

/// Schema, row count (from the file's metadata) and the first `rows` rows of a Parquet file.
fn read_head(path: &std::path::Path, rows: i64) -> Result<Value, String> {
    let opts = smelt_data::read::ReadOptions::default();
    let lazy = smelt_data::read::scan(path, &opts).map_err(|e| e.to_string())?;
    let total = lazy
        .clone()
        .select([len()])
        .collect()
        .ok()
        .and_then(|d| {
            d.column("len")
                .ok()
                .and_then(|c| c.get(0).ok().map(|v| v.to_string()))
        })
        .and_then(|s| s.parse::<u64>().ok());
    let head: DataFrame = lazy
        .limit(u32::try_from(rows).unwrap_or(100))
        .collect()
        .map_err(|e| e.to_string())?;
    let columns: Vec<Value> = head
        .columns()
        .iter()
        .map(|c| json!({ "name": c.name().as_str(), "type": c.dtype().to_string() }))
        .collect();
    let mut out = Vec::with_capacity(head.height());
    for i in 0..head.height() {
        let row: Vec<Value> = head
            .columns()
            .iter()
            .map(|c| match c.get(i) {
                Ok(AnyValue::Null) | Err(_) => Value::Null,
                Ok(AnyValue::String(s)) => json!(cut(s)),
                Ok(AnyValue::StringOwned(s)) => json!(cut(s.as_str())),
                Ok(v) => json!(cut(&v.to_string())),
            })
            .collect();
        out.push(Value::Array(row));
    }
    Ok(json!({ "columns": columns, "rows": out, "num_rows": total }))
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_CELL_CHARS {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_CELL_CHARS).collect();
        t.push('…');
        t
    }
}
