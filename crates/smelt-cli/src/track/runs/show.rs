//! `smelt runs show`: one run's details, its artifact files and registered versions.

use std::io::Write;

use anyhow::{Context, Result};
use smelt_track::store::SearchQuery;
use smelt_track::{ArtifactPath, ArtifactStore};

use super::{ShowArgs, status_cell};
use crate::Outcome;
use crate::style::{bytes, dim, head, num, thousands};
use crate::track::store::{Tracking, local_time_full, run_duration};

/// Artifact entries listed by `smelt runs show`, at most.
const MAX_ARTIFACTS: usize = 40;

pub(super) fn run(t: &Tracking, a: ShowArgs, out: &mut impl Write) -> Result<Outcome> {
    let run = t.resolve_run(&a.run)?;
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "run": run }))?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    let info = &run.info;
    let exp = t
        .block_on(t.store().get_experiment(&info.experiment_id))
        .map(|e| e.name)
        .unwrap_or_default();
    writeln!(
        out,
        "{}  {}",
        head(&format!("run {}", info.run_id)),
        info.run_name
    )?;
    let mut about = vec![
        (
            "experiment".to_string(),
            format!("{exp} (id {})", info.experiment_id),
        ),
        ("status".to_string(), status_cell(&run).text),
        ("started".to_string(), local_time_full(info.start_time)),
    ];
    if let Some(end) = info.end_time {
        about.push((
            "ended".to_string(),
            format!("{} (took {})", local_time_full(end), run_duration(&run)),
        ));
    }
    if !info.user_id.is_empty() {
        about.push(("user".to_string(), info.user_id.clone()));
    }
    about.push(("artifacts".to_string(), info.artifact_uri.clone()));
    pairs(out, &about)?;

    if !run.data.params.is_empty() {
        writeln!(out, "\n{}", head("params"))?;
        let mut p: Vec<(String, String)> = run
            .data
            .params
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        p.sort();
        pairs(out, &p)?;
    }
    if !run.data.metrics.is_empty() {
        writeln!(out, "\n{}", head("metrics"))?;
        let mut m: Vec<(String, String)> = run
            .data
            .metrics
            .iter()
            .map(|m| {
                let step = if m.step == 0 {
                    String::new()
                } else {
                    dim(&format!("  (step {})", m.step))
                };
                (m.key.clone(), format!("{}{step}", num(m.value)))
            })
            .collect();
        m.sort();
        pairs(out, &m)?;
    }
    if !run.data.tags.is_empty() {
        writeln!(out, "\n{}", head("tags"))?;
        // Users' tags first, then MLflow's system tags.
        let mut tags: Vec<(bool, String, String)> = run
            .data
            .tags
            .iter()
            .map(|t| (t.key.starts_with("mlflow."), t.key.clone(), t.value.clone()))
            .collect();
        tags.sort();
        let items: Vec<(String, String)> = tags
            .into_iter()
            .map(|(system, k, v)| {
                let v = crate::track::table::cut(&v.replace('\n', " "), 100);
                if system { (k, dim(&v)) } else { (k, v) }
            })
            .collect();
        pairs(out, &items)?;
    }
    if !run.inputs.dataset_inputs.is_empty() {
        writeln!(out, "\n{}", head("datasets"))?;
        for d in &run.inputs.dataset_inputs {
            let rows = serde_json::from_str::<serde_json::Value>(&d.dataset.profile)
                .ok()
                .and_then(|p| p.get("num_rows").and_then(serde_json::Value::as_u64))
                .map(|n| format!(" · {} rows", thousands(n)))
                .unwrap_or_default();
            let context = d
                .tags
                .iter()
                .find(|t| t.key == smelt_track::store::DATASET_CONTEXT_TAG)
                .map(|t| format!(" ({})", t.value))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}{context}  digest {}{rows}",
                d.dataset.name, d.dataset.digest
            )?;
        }
    }
    if !run.outputs.model_outputs.is_empty() {
        writeln!(out, "\n{}", head("logged models"))?;
        for m in &run.outputs.model_outputs {
            writeln!(out, "  {} (step {})", m.model_id, m.step)?;
        }
    }
    writeln!(out, "\n{}", head("artifact files"))?;
    match t.artifacts(&info.artifact_uri) {
        Ok((store, base)) => {
            let mut files = Vec::new();
            let listed = t.block_on(walk(&store, &base, &mut files));
            match listed {
                Ok(()) if files.is_empty() => writeln!(out, "  {}", dim("none"))?,
                Ok(()) => {
                    let shown: Vec<(String, String)> = files
                        .iter()
                        .take(MAX_ARTIFACTS)
                        .map(|(p, size)| (p.clone(), bytes(*size)))
                        .collect();
                    pairs(out, &shown)?;
                    if files.len() > MAX_ARTIFACTS {
                        writeln!(
                            out,
                            "  {}",
                            dim(&format!("… and {} more", files.len() - MAX_ARTIFACTS))
                        )?;
                    }
                }
                Err(e) => writeln!(out, "  {}", dim(&format!("cannot list: {e}")))?,
            }
        }
        Err(e) => writeln!(out, "  {}", dim(&format!("cannot open: {e}")))?,
    }
    let q = SearchQuery {
        filter: format!("run_id = '{}'", info.run_id),
        ..Default::default()
    };
    let versions = t
        .block_on(t.store().search_model_versions(&q))
        .context("searching registered versions of the run")?
        .items;
    if !versions.is_empty() {
        writeln!(out, "\n{}", head("registered as"))?;
        for v in &versions {
            let aliases = if v.aliases.is_empty() {
                String::new()
            } else {
                format!(" @{}", v.aliases.join(" @"))
            };
            writeln!(
                out,
                "  {} v{}{aliases}  {}  {}",
                v.name,
                v.version,
                v.current_stage,
                dim(&v.source)
            )?;
        }
    }
    Ok(Outcome::Success)
}

/// Writes `key  value` lines with the keys aligned.
fn pairs(out: &mut impl Write, items: &[(String, String)]) -> std::io::Result<()> {
    let w = items
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in items {
        writeln!(out, "  {k:<w$}  {v}")?;
    }
    Ok(())
}

/// Lists every file under `dir` (depth-first, sorted), stopping after a few more than shown.
async fn walk(
    store: &ArtifactStore,
    dir: &ArtifactPath,
    files: &mut Vec<(String, u64)>,
) -> smelt_track::Result<()> {
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let mut entries = store.list(&d).await?;
        entries.reverse();
        for e in entries {
            if files.len() > MAX_ARTIFACTS * 10 {
                return Ok(());
            }
            if e.is_dir {
                stack.push(e.path);
            } else {
                let rel = e
                    .path
                    .as_str()
                    .strip_prefix(dir.as_str())
                    .unwrap_or(e.path.as_str())
                    .trim_start_matches('/')
                    .to_string();
                files.push((rel, e.file_size.unwrap_or(0)));
            }
        }
    }
    files.sort();
    Ok(())
}
