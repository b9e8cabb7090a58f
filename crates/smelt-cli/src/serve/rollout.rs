//! `smelt rollout`: drive a running `smelt serve` — canary, A/B, shadow, promote, rollback —
//! through its `/admin/models` routes.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::Outcome;

#[derive(Args, Debug)]
pub struct RolloutArgs {
    #[command(subcommand)]
    pub command: RolloutCommand,

    /// The server
    #[arg(
        long,
        global = true,
        env = "SMELT_SERVE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,

    /// API key, when the server requires one
    #[arg(long, global = true, env = "SMELT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// What answers for each model (or one), what is kept for rollback, the challenger
    Status {
        /// A model name (all when omitted)
        model: Option<String>,
    },
    /// Replace the answering version (the old one stays loaded for `rollback`)
    Deploy { model: String, source: String },
    /// Send PERCENT of requests to a challenger (SOURCE loads one; without it, re-split the current one)
    Canary {
        model: String,
        source: Option<String>,
        #[arg(long, default_value_t = 10.0)]
        percent: f64,
    },
    /// Sticky A/B: PERCENT of request keys (the HEADER's value) always go to the challenger
    Ab {
        model: String,
        source: Option<String>,
        #[arg(long, default_value_t = 50.0)]
        percent: f64,
        #[arg(long, default_value = "x-smelt-key")]
        header: String,
    },
    /// The challenger scores a copy of every request; the current version answers
    Shadow {
        model: String,
        source: Option<String>,
    },
    /// The challenger answers from now on; the old version stays loaded for `rollback`
    Promote { model: String },
    /// Back to the previous version at once (run again to undo)
    Rollback { model: String },
    /// Remove the challenger
    Stop { model: String },
}

pub fn run(args: RolloutArgs) -> Result<Outcome> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let base: &str = args.server.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    use reqwest::Method;
    let client = &client;
    let call = |method: Method, path: String, body: Option<Value>| {
        let mut req = client.request(method, format!("{base}{path}"));
        if let Some(k) = &args.api_key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.with_context(|| {
                format!(
                    "cannot reach {base}\n\nhint: is `smelt serve` running there? (--server URL)"
                )
            })?;
            let status = resp.status();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                let msg = v["error"]
                    .as_str()
                    .map_or_else(|| v.to_string(), str::to_string);
                bail!("{status}: {msg}");
            }
            anyhow::Ok(v)
        }
    };
    let post = |model: &str, what: &str, body: Value| {
        call(
            Method::POST,
            format!("/admin/models/{model}/{what}"),
            Some(body),
        )
    };
    let challenge = |model: &str, source: &Option<String>, split: Value| match source {
        Some(s) => post(model, "challenger", json!({"source": s, "split": split})),
        None => post(model, "split", split),
    };
    let result = rt.block_on(async {
        match &args.command {
            RolloutCommand::Status { model: Some(m) } => {
                call(Method::GET, format!("/admin/models/{m}"), None).await
            }
            RolloutCommand::Status { model: None } => {
                call(Method::GET, "/admin/models".into(), None).await
            }
            RolloutCommand::Deploy { model, source } => {
                post(model, "deploy", json!({"source": source})).await
            }
            RolloutCommand::Canary {
                model,
                source,
                percent,
            } => challenge(model, source, json!({"canary": {"percent": percent}})).await,
            RolloutCommand::Ab {
                model,
                source,
                percent,
                header,
            } => {
                challenge(
                    model,
                    source,
                    json!({"sticky": {"percent": percent, "header": header}}),
                )
                .await
            }
            RolloutCommand::Shadow { model, source } => {
                challenge(model, source, json!("shadow")).await
            }
            RolloutCommand::Promote { model } => post(model, "promote", json!({})).await,
            RolloutCommand::Rollback { model } => post(model, "rollback", json!({})).await,
            RolloutCommand::Stop { model } => {
                call(
                    Method::DELETE,
                    format!("/admin/models/{model}/challenger"),
                    None,
                )
                .await
            }
        }
    })?;
    match result {
        Value::Array(all) => all.iter().for_each(|m| println!("{}", describe(m))),
        one => println!("{}", describe(&one)),
    }
    Ok(Outcome::Success)
}

/// `churn: v3 answers (models:/churn/3) · previous v2 · challenger v4, canary 10%`.
fn describe(m: &Value) -> String {
    let v = |x: &Value| {
        format!(
            "v{} ({})",
            x["version"].as_str().unwrap_or("?"),
            x["source"].as_str().unwrap_or("?")
        )
    };
    let mut s = format!(
        "{}: {} answers",
        m["name"].as_str().unwrap_or("?"),
        v(&m["primary"])
    );
    if m["previous"].is_object() {
        s += &format!(" · previous {} (rollback target)", v(&m["previous"]));
    }
    if m["challenger"].is_object() {
        let c = &m["challenger"];
        let split = match &c["split"] {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    let pct = v["percent"].as_f64().unwrap_or(0.0);
                    match v["header"].as_str() {
                        Some(h) => format!("{k} {pct}% by {h}"),
                        None => format!("{k} {pct}%"),
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => "?".into(),
        };
        s += &format!(" · challenger {}, {split}", v(c));
        let a = &c["shadow_agreement"];
        if let (Some(rows), Some(share)) = (a["rows"].as_u64(), a["share"].as_f64()) {
            s += &format!(
                " (agrees on {:.1}% of {rows} shadow rows, mean difference {:.4})",
                share * 100.0,
                a["mean_abs_difference"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    s
}
