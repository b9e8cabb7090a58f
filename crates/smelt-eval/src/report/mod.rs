//! Evaluation reports: one self-contained HTML page with a JSON twin.
//!
//! A [`Report`] is plain data — a title, a few plain-language summary sentences and
//! [`Section`]s of [`Block`]s (paragraphs, key–value lists, headline [`Stat`]s, [`Table`]s,
//! [`plot`](crate::plot)s, notes) — rendered by [`Report::to_html`] from templates embedded in
//! the crate (`src/report/templates/`, through `minijinja` with HTML autoescaping) and by
//! [`Report::to_json`] as a JSON document that holds every number the page shows (each table
//! cell's value, each plot's underlying data, the summary). [`Report::write`] writes both files
//! next to each other, atomically.
//!
//! The page needs nothing but a browser: the style sheet is inline, plots are inline SVG,
//! there is no network reference (the only URL is the SVG namespace) and no script is needed —
//! a few inline lines let a reader sort a table by a column. The same report always gives the
//! same bytes (there is no timestamp unless the caller puts one in [`Report::meta`]). All text
//! is escaped; only the plots' SVG, which this crate generates, is inserted as markup.
//!
//! [`model_report`] builds the report `smelt eval` writes for a saved model on a labelled
//! table: headline metrics and what they mean, every standard metric, for classifiers the
//! confusion matrix, ROC and precision–recall curves, the reliability diagram and score
//! distributions, per-class scores; for regressors the residuals, predicted against actual
//! values and error quantiles; then slices, the most confident errors and permutation
//! importance when given.
//!
//! ```
//! use smelt_eval::report::{Block, Cell, Report, Section, Table};
//!
//! let mut report = Report::new("Churn model");
//! report.summary.push("Accuracy 0.912 on 1,000 rows.".into());
//! let mut table = Table::new(["Metric", "Value"]);
//! table.push_row(vec![Cell::text("accuracy"), Cell::number(0.91234)]);
//! report.sections.push(Section::new("Metrics", vec![Block::Table(table)]));
//! let html = report.to_html()?;
//! assert!(html.contains("0.912"));
//! assert_eq!(report.to_json()["sections"][0]["blocks"][0]["rows"][0]["Value"], 0.91234);
//! # Ok::<(), smelt_eval::EvalError>(())
//! ```

mod classes;
mod classify;
mod format;
mod model;
mod parts;
mod regress;
mod render;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

pub use format::{fmt_count, fmt_number, fmt_percent};
pub use model::model_report;
pub use parts::ModelReportInput;

use crate::error::{EvalError, Result};
use crate::plot::Plot;

/// A report: a header, summary sentences and sections. Build it field by field (every field
/// is public) or with [`model_report`]; render it with [`Report::to_html`] and
/// [`Report::to_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The kind of report, shown small above the title (`Evaluation report`, `Monitoring
    /// report`).
    pub kind: String,
    /// The page title (the model's name, say).
    pub title: String,
    /// A line under the title (what was evaluated on what), if any.
    pub subtitle: Option<String>,
    /// Facts shown under the title as label–value pairs (model, data, rows, a date the
    /// caller passes in).
    pub meta: Vec<(String, String)>,
    /// Plain-language sentences shown at the top, each a finding (`ROC-AUC 0.912 on 6,513
    /// rows`).
    pub summary: Vec<String>,
    /// The sections, in order; each gets an entry in the navigation.
    pub sections: Vec<Section>,
    /// Machine-readable data added to the JSON twin under `"data"` (not shown on the page; the
    /// model report puts its metrics there by name). `Value::Null` for none.
    pub data: Value,
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Report {
        Report {
            kind: "Evaluation report".into(),
            title: title.into(),
            subtitle: None,
            meta: Vec::new(),
            summary: Vec::new(),
            sections: Vec::new(),
            data: Value::Null,
        }
    }

    /// The report as one self-contained HTML page (inline style sheet and SVG plots, no
    /// network reference, escaped text). The same report always gives the same page.
    pub fn to_html(&self) -> Result<String> {
        render::html(self)
    }

    /// The report as JSON: title, meta, summary, and per section its blocks with every number
    /// they show — table rows as objects keyed by column (numbers as numbers, intervals as
    /// `{"value", "low", "high"}`), each plot's underlying data — plus [`Report::data`].
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("kind".into(), json!(self.kind));
        out.insert("title".into(), json!(self.title));
        if let Some(s) = &self.subtitle {
            out.insert("subtitle".into(), json!(s));
        }
        let meta: Map<String, Value> = self
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        out.insert("meta".into(), Value::Object(meta));
        out.insert("summary".into(), json!(self.summary));
        let sections: Vec<Value> = self.sections.iter().map(Section::to_json).collect();
        out.insert("sections".into(), Value::Array(sections));
        if !self.data.is_null() {
            out.insert("data".into(), self.data.clone());
        }
        Value::Object(out)
    }

    /// Writes the HTML page to `html_path` and the JSON twin next to it, with the same name
    /// and the extension `.json` (`out/report.html` → `out/report.json`). Each file is written
    /// to a temporary file in the same folder and renamed into place, so a reader never sees
    /// a half-written report. Returns the JSON file's path.
    pub fn write(&self, html_path: impl AsRef<Path>) -> Result<PathBuf> {
        let html_path = html_path.as_ref();
        let json_path = html_path.with_extension("json");
        let html = self.to_html()?;
        let mut json = serde_json::to_string_pretty(&self.to_json())
            .map_err(|e| EvalError::input("report", format!("cannot serialise JSON: {e}")))?;
        json.push('\n');
        write_atomic(html_path, html.as_bytes())?;
        write_atomic(&json_path, json.as_bytes())?;
        Ok(json_path)
    }

    /// Writes every plot of the report into `dir` as SVG and PNG, named after its section and
    /// position (`curves-of-every-rung-1.png`); returns the PNG paths.
    pub fn write_plots(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            EvalError::input_hint(
                "report",
                format!("cannot create `{}`: {e}", dir.display()),
                "check that the folder is writable",
            )
        })?;
        fn plots<'a>(blocks: &'a [Block], out: &mut Vec<&'a Plot>) {
            for b in blocks {
                match b {
                    Block::Plot { plot, .. } => out.push(plot),
                    Block::Columns(inner) => plots(inner, out),
                    _ => {}
                }
            }
        }
        let mut written = Vec::new();
        for section in &self.sections {
            let mut found = Vec::new();
            plots(&section.blocks, &mut found);
            for (i, plot) in found.iter().enumerate() {
                let stem = format!("{}-{}", section.id, i + 1);
                write_atomic(&dir.join(format!("{stem}.svg")), plot.to_svg().as_bytes())?;
                let png = dir.join(format!("{stem}.png"));
                write_atomic(&png, &plot.to_png()?)?;
                written.push(png);
            }
        }
        Ok(written)
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        EvalError::input_hint(
            "report",
            format!("cannot {what} `{}`: {e}", path.display()),
            "check that the folder exists and is writable",
        )
    };
    let name = path
        .file_name()
        .ok_or_else(|| {
            EvalError::input_hint(
                "report",
                format!("`{}` is not a file path", path.display()),
                "pass a path such as `out/report.html`",
            )
        })?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| fail("write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("replace", e)
    })
}

/// A section of a report: a title (its heading and navigation entry) and blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The anchor of the section in the page (`#metrics`); made unique when rendered.
    pub id: String,
    /// The heading.
    pub title: String,
    /// The content, in order.
    pub blocks: Vec<Block>,
}

impl Section {
    /// A section whose id is derived from its title (`Most confident errors` →
    /// `most-confident-errors`).
    pub fn new(title: impl Into<String>, blocks: Vec<Block>) -> Section {
        let title = title.into();
        Section {
            id: slug(&title),
            title,
            blocks,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "blocks": self.blocks.iter().map(Block::to_json).collect::<Vec<_>>(),
        })
    }
}

/// A lower-case, hyphenated anchor from a title (ASCII letters and digits; `section` when
/// nothing is left).
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("section");
    }
    out
}

/// One piece of a section's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A sub-heading inside a section.
    Heading(String),
    /// A paragraph of text.
    Paragraph(String),
    /// Label–value pairs, shown as a compact two-column list.
    KeyValues(Vec<(String, String)>),
    /// Headline numbers, shown as cards.
    Stats(Vec<Stat>),
    /// A table.
    Table(Table),
    /// A plot (inline SVG) with the numbers behind it, which go to the JSON twin.
    Plot {
        /// The plot.
        plot: Plot,
        /// A sentence under the plot, if any.
        caption: Option<String>,
        /// The data the plot shows (curve points, matrix, bins), for the JSON twin.
        data: Value,
    },
    /// Remarks in a muted box: what was left out and why, caveats.
    Notes(Vec<String>),
    /// Blocks side by side where the page is wide enough (a plot and its table), one under
    /// the other where it is not.
    Columns(Vec<Block>),
}

impl Block {
    /// A plot block without caption.
    pub fn plot(plot: Plot, data: Value) -> Block {
        Block::Plot {
            plot,
            caption: None,
            data,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Block::Heading(text) => json!({"type": "heading", "text": text}),
            Block::Paragraph(text) => json!({"type": "paragraph", "text": text}),
            Block::KeyValues(items) => {
                let map: Map<String, Value> =
                    items.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                json!({"type": "key_values", "items": map})
            }
            Block::Stats(stats) => json!({
                "type": "stats",
                "items": stats.iter().map(Stat::to_json).collect::<Vec<_>>(),
            }),
            Block::Table(t) => t.to_json(),
            Block::Plot {
                plot,
                caption,
                data,
            } => {
                let mut m = Map::new();
                m.insert("type".into(), json!("plot"));
                m.insert("title".into(), json!(plot.title()));
                if let Some(c) = caption {
                    m.insert("caption".into(), json!(c));
                }
                m.insert("data".into(), data.clone());
                Value::Object(m)
            }
            Block::Notes(notes) => json!({"type": "notes", "items": notes}),
            Block::Columns(blocks) => json!({
                "type": "columns",
                "blocks": blocks.iter().map(Block::to_json).collect::<Vec<_>>(),
            }),
        }
    }
}

/// A headline number: a label, the value as shown, the value itself, and an optional line
/// under it (`95% CI 0.89–0.93`, `higher is better`).
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    /// What the number is (`ROC-AUC`).
    pub label: String,
    /// The value, as shown and as a number.
    pub value: Cell,
    /// A short line under the value, if any.
    pub detail: Option<String>,
}

impl Stat {
    /// A stat of a number shown with [`fmt_number`].
    pub fn new(label: impl Into<String>, value: f64) -> Stat {
        Stat {
            label: label.into(),
            value: Cell::number(value),
            detail: None,
        }
    }

    /// Sets the line under the value.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Stat {
        self.detail = Some(detail.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("label".into(), json!(self.label));
        m.insert("value".into(), self.value.to_json());
        if let Some(d) = &self.detail {
            m.insert("detail".into(), json!(d));
        }
        Value::Object(m)
    }
}

/// A table: column names, rows of [`Cell`]s, rows to highlight (the best, the overall) and
/// rows to flag (worse than the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Indices of rows shown in bold on a green tint (the best candidate, the overall row).
    pub highlighted: Vec<usize>,
    /// Indices of rows shown on a muted red (a slice worse than the whole).
    pub flagged: Vec<usize>,
    /// A line under the table, if any.
    pub caption: Option<String>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Table {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            highlighted: Vec::new(),
            flagged: Vec::new(),
            caption: None,
        }
    }

    /// Appends a row.
    pub fn push_row(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Table {
        self.caption = Some(caption.into());
        self
    }

    fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let m: Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, cell)| (c.clone(), cell.to_json()))
                    .collect();
                Value::Object(m)
            })
            .collect();
        let mut m = Map::new();
        m.insert("type".into(), json!("table"));
        m.insert("columns".into(), json!(self.columns));
        m.insert("rows".into(), Value::Array(rows));
        if !self.highlighted.is_empty() {
            m.insert("highlighted".into(), json!(self.highlighted));
        }
        if !self.flagged.is_empty() {
            m.insert("flagged".into(), json!(self.flagged));
        }
        if let Some(c) = &self.caption {
            m.insert("caption".into(), json!(c));
        }
        Value::Object(m)
    }
}

/// A table cell: the text shown, and for a number its value (right-aligned, sorted by value,
/// written as a number to JSON) with an optional interval shown in small type after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The text shown.
    pub text: String,
    /// The number behind the text, if any.
    pub value: Option<f64>,
    /// A (low, high) interval around the value, if any.
    pub interval: Option<(f64, f64)>,
}

impl Cell {
    /// A text cell.
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            value: None,
            interval: None,
        }
    }

    /// A number shown with [`fmt_number`] (three decimals for scores).
    pub fn number(value: f64) -> Cell {
        Cell {
            text: fmt_number(value),
            value: Some(value),
            interval: None,
        }
    }

    /// A count shown with thousands separators.
    pub fn count(n: usize) -> Cell {
        Cell {
            text: fmt_count(n),
            value: Some(n as f64),
            interval: None,
        }
    }

    /// A fraction shown as a percentage with one decimal (`0.2412` → `24.1%`).
    pub fn percent(fraction: f64) -> Cell {
        Cell {
            text: fmt_percent(fraction),
            value: Some(fraction),
            interval: None,
        }
    }

    /// A number shown as `text`.
    pub fn with_text(value: f64, text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            value: Some(value),
            interval: None,
        }
    }

    /// An empty cell (a value that does not apply).
    pub fn empty() -> Cell {
        Cell::text("")
    }

    /// Adds an interval around the value.
    pub fn with_interval(mut self, low: f64, high: f64) -> Cell {
        self.interval = Some((low, high));
        self
    }

    fn to_json(&self) -> Value {
        match (self.value, self.interval) {
            (Some(v), Some((lo, hi))) => json!({"value": v, "low": lo, "high": hi}),
            (Some(v), None) => json!(v),
            (None, _) => json!(self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_anchors() {
        assert_eq!(slug("Most confident errors"), "most-confident-errors");
        assert_eq!(slug("ROC & PR (one-vs-rest)"), "roc-pr-one-vs-rest");
        assert_eq!(slug("—"), "section");
    }

    #[test]
    fn cells_write_numbers_to_json() {
        assert_eq!(Cell::number(0.5).to_json(), json!(0.5));
        assert_eq!(Cell::text("a").to_json(), json!("a"));
        assert_eq!(
            Cell::number(0.5).with_interval(0.4, 0.6).to_json(),
            json!({"value": 0.5, "low": 0.4, "high": 0.6})
        );
        assert_eq!(Cell::count(6513).text, "6,513");
    }
}
