//! `smelt`: the command-line interface of Smelt.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the binary: printing is its job (the libraries report through return values)"
)]

mod alloc;
mod args;
mod data;
mod model;
mod monitor;
mod select;
mod serve;
mod style;
mod track;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: candle allocates a buffer for every tensor op, and glibc
/// hands large freed buffers back to the kernel, so each op paid page faults (an MLP epoch
/// 0.87 → 0.59 s with glibc's thresholds raised; BENCHMARKS.md, "Networks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Smelt: from raw data to a deployed, monitored model.
#[derive(Parser, Debug)]
#[command(name = "smelt", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Start with `smelt data inspect FILE` on a CSV or Parquet file.\nDocs: README.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Inspect, validate and split tables (CSV, Parquet, NDJSON, Arrow IPC).
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Fit a model (preprocessing + estimator) and save it as one artifact.
    #[command(
        after_help = "Examples:\n  smelt train --list-models\n  smelt train data/housing.csv --target med_house_val --model ridge -p alpha=0.5 --out models/housing\n  smelt train data/adult.csv --target income --model logistic_regression -p C=0.5 -p l1_ratio=1 -p solver=saga --out models/adult\n  smelt train data/iris.csv --model kmeans -p n_clusters=3 --out models/iris-clusters"
    )]
    Train(model::train::TrainArgs),
    /// Score a table with a saved model.
    #[command(
        after_help = "Examples:\n  smelt predict models/housing data/housing.csv --out preds.parquet\n  smelt predict models/adult new_customers.csv --keep customer_id > preds.csv"
    )]
    Predict(model::predict::PredictArgs),
    /// Import an XGBoost (JSON) or LightGBM (text) model as a Smelt model.
    #[command(
        after_help = "Examples:\n  smelt import model.json --out models/xgb\n  smelt import model.txt --out models/lgbm\n  smelt predict models/xgb data.csv --out preds.parquet"
    )]
    Import(model::import::ImportArgs),
    /// Export a saved model (preprocessing + estimator) as an ONNX file for onnxruntime.
    #[command(
        after_help = "Examples:\n  smelt export models/adult --format onnx --out adult.onnx\n  smelt export models/housing --out housing.onnx\n\nInputs: one per input column, named like it, shape [N, 1]: numbers as double (NaN: missing),\ncategories as string (\"\": missing). Outputs: `variable` [N, 1] (regression); `label` [N] and\n`probabilities` [N, classes] (classification).\nExports linear models, logistic regression, decision trees, random forests, extra trees,\nhistogram gradient boosting and imported XGBoost/LightGBM models, with their preprocessing."
    )]
    Export(model::export::ExportArgs),
    /// Sentence vectors of a table's text column with a pretrained sentence-transformers model (BERT, e.g. all-MiniLM-L6-v2).
    #[command(
        after_help = "Examples:\n  smelt embed models/all-MiniLM-L6-v2 data/reviews.parquet --column review_text --keep clothing_id --out emb.parquet\n  smelt embed models/all-MiniLM-L6-v2 questions.csv --out emb.csv --batch-size 64\n\nOutput: one row per input row, the --keep columns then emb_0 … emb_{d-1} (f32), usable as features\nby `smelt train`. Texts are truncated to the model's max_seq_length tokens (256 for MiniLM).\nThreads: RAYON_NUM_THREADS (default: all cores)."
    )]
    Embed(model::embed::EmbedArgs),
    /// Cross-validate a model: per-fold scores for several metrics, mean ± std, tracked.
    #[command(
        after_help = "Examples:\n  smelt cv data/adult.csv --target income --model hist_gradient_boosting_classifier\n  smelt cv data/housing.csv --target med_house_val --model ridge -p alpha=2 --metric rmse --metric r2\n  smelt cv data/seattle_weather.csv --target weather --model random_forest_classifier --time date\n  smelt cv --list-metrics"
    )]
    Cv(select::cv::CvArgs),
    /// Tune a model's parameters (TPE, random or grid search over cross-validated scores).
    #[command(
        after_help = "Examples:\n  smelt tune data/adult.csv --target income --model logistic_regression -p 'C=loguniform(1e-3,10)' --trials 30\n  smelt tune data/housing.csv --target med_house_val --model hist_gradient_boosting_regressor -p 'learning_rate=loguniform(0.01,0.3)' -p 'max_leaf_nodes=int(8,64)' --timeout 2m --out models/housing\n  smelt tune data/credit.csv --target default --model random_forest_classifier --space space.toml --sampler random"
    )]
    Tune(select::tune::TuneArgs),
    /// The baseline ladder: dummy → linear → tree → forest → boosting on the same folds, tuned in a budget; report and best model.
    #[command(
        after_help = "Examples:\n  smelt ladder data/adult.csv --target income --budget 2m\n  smelt ladder data/housing.csv --target med_house_val --metric rmse --report out/housing.html\n  smelt ladder data/seattle_weather.csv --target weather --time date"
    )]
    Ladder(select::ladder::LadderArgs),
    /// Evaluate a saved model on a labelled table: metrics, slices, errors, an HTML report. The true values are read from the column the model was trained on (`--target` names another).
    #[command(
        after_help = "Examples:\n  smelt eval models/adult data/adult_test.csv --slice sex --slice age --report out/report.html\n  smelt eval ladder/model data/housing.csv --target med_house_val --json"
    )]
    Eval(select::eval::EvalArgs),
    /// Monitor data and models: drift, data quality, declared tests (`report`, `test`).
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// Run the tracking server: MLflow's REST API over Smelt's store, so `mlflow` clients work unchanged.
    #[command(
        after_help = "Examples:\n  smelt server\n  smelt server --port 5001 --backend-store-uri postgresql://smelt@127.0.0.1:5432/smelt --artifacts-destination s3://bucket/smelt\n  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py"
    )]
    Server(track::server::ServerArgs),
    /// Serve models over HTTP: Open Inference Protocol v2, MLflow scoring, /predict; batching, rollouts, metrics.
    #[command(
        after_help = "Examples:\n  smelt serve models/adult\n  smelt serve churn=models:/churn@champion --port 8080\n  smelt serve model.json --max-batch-size 128 --max-queue-delay-us 200\n  smelt serve minilm=~/.cache/smelt-minilm    (a sentence-transformers model: /v1/embeddings, OIP, MLflow)\n  SMELT_API_KEYS=$(openssl rand -hex 24) smelt serve --config serve.toml --host 0.0.0.0\n  curl -s localhost:8080/predict/adult -d '{\"age\": 39, \"workclass\": \"State-gov\", ...}'"
    )]
    Serve(serve::ServeArgs),
    /// Roll out a model version on a running `smelt serve`: canary, A/B, shadow, promote, rollback.
    #[command(
        after_help = "Examples:\n  smelt rollout status\n  smelt rollout canary churn models:/churn/4 --percent 10\n  smelt rollout ab churn models:/churn/4 --percent 50 --header x-user-id\n  smelt rollout shadow churn models:/churn/4\n  smelt rollout promote churn\n  smelt rollout rollback churn\n  smelt rollout deploy churn models:/churn/5 --server http://serving:8080"
    )]
    Rollout(serve::rollout::RolloutArgs),
    /// List, show, compare and delete tracked runs (`smelt train` records one per fit).
    #[command(
        after_help = "Examples:\n  smelt runs list\n  smelt runs show 1a2b3c4d\n  smelt runs compare 1a2b3c4d 5e6f7a8b\n  smelt runs delete 1a2b3c4d --purge"
    )]
    Runs(track::runs::RunsArgs),
    /// The model registry: register a run's model, list versions, move aliases.
    #[command(
        after_help = "Examples:\n  smelt models register 1a2b3c4d --name housing --alias champion\n  smelt models list\n  smelt models show housing"
    )]
    Models(track::models::ModelsArgs),
}

/// What a command reports back to `main`.
pub enum Outcome {
    /// Everything held.
    Success,
    /// The command ran but found problems (validation violations): exit code 1.
    Failed,
}

/// Commands that train networks: candle's element-wise pool is kept to the calling thread there
/// (unless `CANDLE_NUM_THREADS` says otherwise). The pool's workers spin at a barrier after every
/// op, and on a busy machine a descheduled worker leaves the caller spinning for a time slice:
/// the 100k-row MLP epoch took 0.5–1.0 s with it and 0.34–0.6 s without, side by side at load
/// 13 on 2 cores (BENCHMARKS.md, "Networks"). The networks' large element-wise work runs in
/// smelt-deep's own kernels on rayon, and matrix products keep rayon's threads.
fn single_thread_candle_elementwise(command: &Command) {
    if matches!(
        command,
        Command::Train(_) | Command::Cv(_) | Command::Tune(_) | Command::Ladder(_)
    ) && std::env::var_os("CANDLE_NUM_THREADS").is_none()
    {
        #[allow(
            unsafe_code,
            reason = "setting an environment variable before any thread is started"
        )]
        // SAFETY: called first thing in `main`, after argument parsing, while the process has
        // one thread: nothing reads the environment concurrently.
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    }
}

fn main() -> ExitCode {
    // Huge pages are off from before `main` (`alloc::HUGE_PAGES_OFF_AT_START`); the servers keep
    // them off, batch commands turn them back on.
    let cli = Cli::parse();
    single_thread_candle_elementwise(&cli.command);
    if !matches!(cli.command, Command::Serve(_) | Command::Server(_)) {
        alloc::for_batch_work();
    }
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Train(args) => model::train::run(args),
        Command::Predict(args) => model::predict::run(args),
        Command::Cv(args) => select::cv::run(args),
        Command::Tune(args) => select::tune::run(args),
        Command::Ladder(args) => select::ladder::run(args),
        Command::Eval(args) => select::eval::run(args),
        Command::Monitor(cmd) => monitor::run(cmd),
        Command::Import(args) => model::import::run(args),
        Command::Export(args) => model::export::run(args),
        Command::Embed(args) => model::embed::run(args),
        Command::Server(args) => track::server::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Rollout(args) => serve::rollout::run(args),
        Command::Runs(args) => track::runs::run(args),
        Command::Models(args) => track::models::run(args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(err) => {
            // A closed pipe (`smelt data inspect f | head`, `… --json | head`) is not an error.
            let broken = Some(std::io::ErrorKind::BrokenPipe);
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == broken
                    || c.downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind)
                        == broken
            }) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = anstream::stderr();
            let _ = writeln!(stderr, "{} {}", style::error("error:"), err);
            for cause in err.chain().skip(1) {
                let _ = writeln!(stderr, "  caused by: {cause}");
            }
            let hint = err
                .chain()
                .find_map(|c| {
                    c.downcast_ref::<smelt_workflow::Error>()
                        .map(|e| e.hint())
                        .or_else(|| c.downcast_ref::<smelt_data::DataError>().map(|e| e.hint()))
                        .or_else(|| c.downcast_ref::<smelt_core::CoreError>().map(|e| e.hint()))
                        .or_else(|| {
                            c.downcast_ref::<smelt_monitor::MonitorError>()
                                .map(|e| e.hint())
                        })
                })
                .flatten();
            if let Some(hint) = hint {
                let _ = writeln!(stderr, "\n{} {hint}", style::hint("hint:"));
            }
            ExitCode::from(2)
        }
    }
}
