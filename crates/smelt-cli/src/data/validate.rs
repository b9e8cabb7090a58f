//! `smelt data validate`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use smelt_data::validate::{Report, Rules, validate};

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::{bad, dim, head, ok, thousands};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The file to check
    pub file: PathBuf,

    /// The rules file (TOML)
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,

    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: ValidateArgs) -> Result<Outcome> {
    // Check the rules first: a typo there should not wait for a large file to load.
    let rules = Rules::from_path(&args.rules)?;
    let load = args.read.load_options()?;
    let loaded = smelt_data::load(&args.file, &load)?;
    let report = validate(&loaded.frame, &loaded.schema, &rules, &args.file)?;
    let mut out = anstream::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_human(&mut out, &report)?;
    }
    Ok(if report.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn print_human(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let file = r.path.display().to_string();
    if r.is_ok() {
        writeln!(
            out,
            "{} {file}: all {} rules hold ({} rows)",
            ok("✓"),
            r.rules_checked,
            thousands(r.rows)
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} {file}: {} violation{} ({} rules checked, {} rows)",
        bad("✗"),
        r.violations.len(),
        if r.violations.len() == 1 { "" } else { "s" },
        r.rules_checked,
        thousands(r.rows)
    )?;
    for v in &r.violations {
        let col = v
            .column
            .as_deref()
            .map(|c| format!("`{c}`"))
            .unwrap_or_else(|| "table".into());
        writeln!(out, "\n  {} {}: {}", head(&v.rule), col, v.message)?;
        if !v.rows.is_empty() {
            let examples: Vec<String> = v
                .rows
                .iter()
                .zip(&v.values)
                .map(|(row, val)| format!("row {row}: {val}"))
                .collect();
            let more = v.count.saturating_sub(v.rows.len() as u64);
            let tail = if more > 0 {
                format!(" … and {} more", thousands(more))
            } else {
                String::new()
            };
            writeln!(out, "    {}{}", dim(&examples.join(" · ")), dim(&tail))?;
        }
    }
    Ok(())
}
