//! `smelt data inspect`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use smelt_core::LogicalType;
use smelt_data::profile::{ColumnProfile, Profile, ProfileOptions, profile_file};

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::{bytes, dim, head, num, thousands};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The file to inspect
    pub file: PathBuf,

    /// Print the profile as JSON (machine-readable; stable field names)
    #[arg(long)]
    pub json: bool,

    /// Stream the file in batches (bounded memory, for files larger than RAM) [default: for files over 2 GB]
    #[arg(long)]
    pub streaming: bool,

    /// How many top categories to show per column
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub top: usize,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// Files at least this large get a progress indicator while they load.
const PROGRESS_BYTES: u64 = 50_000_000;

pub fn run(args: InspectArgs) -> Result<Outcome> {
    let load = args.read.load_options()?;
    let opts = ProfileOptions {
        top_k: args.top,
        streaming: args.streaming.then_some(true),
        ..Default::default()
    };
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = if size >= PROGRESS_BYTES {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_message(format!("reading {} ({})", args.file.display(), bytes(size)));
        b.enable_steady_tick(Duration::from_millis(100));
        b
    } else {
        ProgressBar::hidden()
    };
    let progress = {
        let bar = bar.clone();
        move |rows: u64| bar.set_message(format!("{} rows read", thousands(rows)))
    };
    let profile = profile_file(&args.file, &load, &opts, &progress);
    bar.finish_and_clear();
    let profile = profile?;
    let mut out = anstream::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &profile)?;
        writeln!(out)?;
    } else {
        print_human(&mut out, &profile)?;
    }
    Ok(Outcome::Success)
}

fn summary(c: &ColumnProfile) -> String {
    if let Some(n) = &c.numeric
        && c.ltype != LogicalType::Boolean
    {
        return format!(
            "min {} · q25 {} · median {} · q75 {} · max {} · mean {} · std {}",
            num(n.min),
            num(n.q25),
            num(n.q50),
            num(n.q75),
            num(n.max),
            num(n.mean),
            num(n.std)
        );
    }
    if let Some((lo, hi)) = &c.range {
        return format!("{lo} → {hi}");
    }
    let top: Vec<String> = c
        .top
        .iter()
        .map(|(v, n)| {
            let v = if v.chars().count() > 24 {
                format!("{}…", v.chars().take(23).collect::<String>())
            } else {
                v.clone()
            };
            format!("{v} {}", thousands(*n))
        })
        .collect();
    match c.text_length {
        Some((mean, max)) => format!("length mean {} · max {}", num(mean), thousands(max)),
        None => top.join(" · "),
    }
}

fn print_human(out: &mut impl Write, p: &Profile) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {} · {} · {} row{} × {} column{}",
        head(&p.path.display().to_string()),
        p.format.as_str(),
        bytes(p.file_bytes),
        thousands(p.rows),
        if p.rows == 1 { "" } else { "s" },
        p.columns.len(),
        if p.columns.len() == 1 { "" } else { "s" }
    )?;
    writeln!(out, "fingerprint  {}", p.fingerprint)?;
    if let Some(t) = p.schema.target() {
        writeln!(out, "target       {}", t.name)?;
    }
    writeln!(out)?;
    let w = p
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    writeln!(
        out,
        "{}",
        head(&format!(
            "{:<w$}  {:<11}  {:<7}  {:>15}  {:>9}  summary",
            "column", "type", "role", "missing", "distinct"
        ))
    )?;
    for c in &p.columns {
        let total = c.count + c.missing;
        let missing = if c.missing == 0 {
            "0".to_string()
        } else {
            format!(
                "{} ({:.1}%)",
                thousands(c.missing),
                100.0 * c.missing as f64 / total.max(1) as f64
            )
        };
        let distinct = if c.distinct_exact {
            thousands(c.distinct)
        } else {
            format!(">{}", thousands(c.distinct))
        };
        writeln!(
            out,
            "{:<w$}  {:<11}  {:<7}  {:>15}  {:>9}  {}",
            c.name,
            c.ltype.as_str(),
            c.role.as_str(),
            missing,
            distinct,
            summary(c)
        )?;
    }
    if !p.quantiles_exact {
        writeln!(
            out,
            "\n{}",
            dim("quantiles estimated from a uniform sample of 1,000,000 values per column")
        )?;
    }
    Ok(())
}
