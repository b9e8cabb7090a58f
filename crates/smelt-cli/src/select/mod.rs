//! `smelt cv`, `smelt tune`, `smelt eval`, `smelt ladder` (and the options they share: folds,
//! metrics).

pub mod curve;
pub mod cv;
pub mod eval;
pub mod ladder;
pub mod tune;

use clap::Args;
use smelt_workflow::{CvSpec, FoldKind};

/// How rows are cut into folds.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Folds")]
pub struct FoldArgs {
    /// Number of folds
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub folds: usize,

    /// Keep rows sharing a value of this column on one side of every fold (group k-fold)
    /// [default: the schema's `group` column]
    #[arg(long, value_name = "COLUMN", conflicts_with = "time")]
    pub group: Option<String>,

    /// Train on the past, test on the future, ordered by this column (time-series folds)
    /// [default: the schema's `time` column]
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,

    /// Rows left out between training and test rows (time-series folds)
    #[arg(long, default_value_t = 0, value_name = "ROWS", requires = "time")]
    pub gap: usize,

    /// Repeat k-fold with different shuffles
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeats: usize,

    /// Plain k-fold even for a classification target (default: stratified)
    #[arg(long)]
    pub no_stratify: bool,

    /// Cut rows in table order (default: shuffled with --seed)
    #[arg(long)]
    pub no_shuffle: bool,

    /// Seed of the shuffling
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl FoldArgs {
    /// The fold specification.
    pub fn spec(&self) -> CvSpec {
        let kind = match (&self.group, &self.time, self.no_stratify) {
            (Some(g), _, _) => FoldKind::Group(Some(g.clone())),
            (_, Some(t), _) => FoldKind::Time(Some(t.clone())),
            (_, _, true) => FoldKind::KFold,
            _ => FoldKind::Auto,
        };
        CvSpec {
            folds: self.folds,
            kind,
            shuffle: !self.no_shuffle,
            seed: self.seed,
            repeats: self.repeats,
            gap: self.gap,
        }
    }
}

/// Prints the metric registry.
/// Where a report was written (and its JSON twin and plots), as `smelt eval` and `smelt ladder`
/// print it.
pub(crate) fn print_report_paths(
    out: &mut impl std::io::Write,
    report: &std::path::Path,
    json_path: &std::path::Path,
    plots: Option<&std::path::Path>,
    pngs: usize,
) -> std::io::Result<()> {
    use crate::style::{dim, head};
    writeln!(
        out,
        "{} {}  {}",
        head("Report"),
        report.display(),
        dim(&format!("(and {})", json_path.display()))
    )?;
    if let Some(dir) = plots {
        writeln!(
            out,
            "{} {pngs} plots in {} (SVG and PNG)",
            head("Plots"),
            dir.display()
        )?;
    }
    Ok(())
}

pub fn list_metrics(json_out: bool) -> anyhow::Result<crate::Outcome> {
    use std::io::Write;
    let mut out = anstream::stdout().lock();
    let all = smelt_eval::metrics::registry::scorers();
    if json_out {
        let v: Vec<serde_json::Value> = all
            .iter()
            .map(|s| {
                serde_json::json!({"name": s.name, "sklearn": s.sklearn, "task": format!("{:?}", s.task).to_lowercase(),
                    "greater_is_better": s.greater_is_better, "doc": s.doc})
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(crate::Outcome::Success);
    }
    writeln!(
        out,
        "{}",
        crate::style::head(&format!(
            "{:<28} {:<15} {:<8} {:<36} {}",
            "metric", "task", "better", "scikit-learn scorer", "description"
        ))
    )?;
    for s in all {
        writeln!(
            out,
            "{:<28} {:<15} {:<8} {:<36} {}",
            s.name,
            format!("{:?}", s.task).to_lowercase(),
            if s.greater_is_better {
                "higher"
            } else {
                "lower"
            },
            s.sklearn,
            s.doc
        )?;
    }
    Ok(crate::Outcome::Success)
}
