//! The HTML page: the report turned into a view (what the templates need, already formatted)
//! and rendered by `minijinja` from the templates embedded at build time.

use std::collections::HashSet;
use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use super::{Block, Cell, Report, Stat, Table};
use crate::error::{EvalError, Result};

/// The page layout (`.html`: autoescaped).
const PAGE: &str = include_str!("templates/report.html");
/// How each kind of block is drawn (`.html`: autoescaped).
const BLOCKS: &str = include_str!("templates/blocks.html");
/// The style sheet (`.css`: not escaped; it holds no data).
const STYLE: &str = include_str!("templates/style.css");
/// The optional table sorting (`.js`: not escaped; it holds no data).
const SCRIPT: &str = include_str!("templates/sort.js");

/// The template environment, built once.
fn environment() -> &'static std::result::Result<Environment<'static>, String> {
    static ENV: OnceLock<std::result::Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("report.html", PAGE),
            ("blocks.html", BLOCKS),
            ("style.css", STYLE),
            ("sort.js", SCRIPT),
        ] {
            env.add_template(name, source)
                .map_err(|e| format!("template `{name}`: {e}"))?;
        }
        Ok(env)
    })
}

/// Renders the report as HTML.
pub(super) fn html(report: &Report) -> Result<String> {
    let fail = |message: String| EvalError::input("report", message);
    let env = environment().as_ref().map_err(|e| fail(e.clone()))?;
    let template = env
        .get_template("report.html")
        .map_err(|e| fail(format!("template: {e}")))?;
    template
        .render(minijinja::value::Serde(PageView::of(report)))
        .map_err(|e| fail(format!("cannot render the page: {e:#}")))
}

#[derive(Serialize)]
struct PageView<'a> {
    kind: &'a str,
    title: &'a str,
    subtitle: Option<&'a str>,
    meta: &'a [(String, String)],
    summary: &'a [String],
    sections: Vec<SectionView<'a>>,
}

#[derive(Serialize)]
struct SectionView<'a> {
    id: String,
    title: &'a str,
    blocks: Vec<BlockView<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BlockView<'a> {
    Heading {
        text: &'a str,
    },
    Paragraph {
        text: &'a str,
    },
    KeyValues {
        items: &'a [(String, String)],
    },
    Stats {
        items: Vec<StatView<'a>>,
    },
    Table(TableView<'a>),
    /// Consecutive plots, laid out side by side where the page is wide enough.
    Plots {
        items: Vec<PlotView<'a>>,
    },
    Notes {
        items: &'a [String],
    },
    Columns {
        items: Vec<BlockView<'a>>,
    },
}

#[derive(Serialize)]
struct StatView<'a> {
    label: &'a str,
    value: &'a str,
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct PlotView<'a> {
    title: &'a str,
    svg: String,
    caption: Option<&'a str>,
    /// Wider than half the page: takes a whole row.
    wide: bool,
}

#[derive(Serialize)]
struct TableView<'a> {
    columns: Vec<ColumnView<'a>>,
    rows: Vec<RowView>,
    caption: Option<&'a str>,
    /// Sortable by clicking a header (more than a few rows).
    sortable: bool,
}

#[derive(Serialize)]
struct ColumnView<'a> {
    name: &'a str,
    numeric: bool,
}

#[derive(Serialize)]
struct RowView {
    class: &'static str,
    cells: Vec<CellView>,
}

#[derive(Serialize)]
struct CellView {
    text: String,
    interval: Option<String>,
    /// The value to sort by, for numbers.
    sort: Option<String>,
    numeric: bool,
}

impl<'a> PageView<'a> {
    fn of(report: &'a Report) -> PageView<'a> {
        let mut seen = HashSet::new();
        let sections = report
            .sections
            .iter()
            .map(|s| {
                let base = if s.id.is_empty() {
                    super::slug(&s.title)
                } else {
                    s.id.clone()
                };
                let mut id = base.clone();
                let mut k = 2;
                while !seen.insert(id.clone()) {
                    id = format!("{base}-{k}");
                    k += 1;
                }
                SectionView {
                    id,
                    title: &s.title,
                    blocks: blocks(&s.blocks),
                }
            })
            .collect();
        PageView {
            kind: &report.kind,
            title: &report.title,
            subtitle: report.subtitle.as_deref(),
            meta: &report.meta,
            summary: &report.summary,
            sections,
        }
    }
}

/// The blocks' views, consecutive plots grouped.
fn blocks(list: &[Block]) -> Vec<BlockView<'_>> {
    let mut out: Vec<BlockView<'_>> = Vec::with_capacity(list.len());
    for b in list {
        let view = match b {
            Block::Heading(text) => BlockView::Heading { text },
            Block::Paragraph(text) => BlockView::Paragraph { text },
            Block::KeyValues(items) => BlockView::KeyValues { items },
            Block::Stats(stats) => BlockView::Stats {
                items: stats.iter().map(stat).collect(),
            },
            Block::Table(t) => BlockView::Table(table(t)),
            Block::Plot { plot, caption, .. } => {
                let item = PlotView {
                    title: plot.title(),
                    svg: plot.to_svg(),
                    caption: caption.as_deref(),
                    wide: plot.size().0 > 700,
                };
                if let Some(BlockView::Plots { items }) = out.last_mut() {
                    items.push(item);
                    continue;
                }
                BlockView::Plots { items: vec![item] }
            }
            Block::Notes(items) => BlockView::Notes { items },
            Block::Columns(inner) => BlockView::Columns {
                items: blocks(inner),
            },
        };
        out.push(view);
    }
    out
}

fn stat(s: &Stat) -> StatView<'_> {
    StatView {
        label: &s.label,
        value: &s.value.text,
        detail: s.detail.as_deref(),
    }
}

fn table(t: &Table) -> TableView<'_> {
    let columns = t
        .columns
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let mut cells = t.rows.iter().filter_map(|r| r.get(j));
            let numeric = cells.clone().any(|c| c.value.is_some())
                && cells.all(|c| c.value.is_some() || c.text.is_empty());
            ColumnView { name, numeric }
        })
        .collect();
    let rows = t
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| RowView {
            class: if t.highlighted.contains(&i) {
                "highlight"
            } else if t.flagged.contains(&i) {
                "flag"
            } else {
                ""
            },
            cells: (0..t.columns.len())
                .map(|j| row.get(j).map_or_else(empty_cell, cell))
                .collect(),
        })
        .collect();
    TableView {
        columns,
        rows,
        caption: t.caption.as_deref(),
        sortable: t.rows.len() > 3,
    }
}

fn empty_cell() -> CellView {
    CellView {
        text: String::new(),
        interval: None,
        sort: None,
        numeric: false,
    }
}

fn cell(c: &Cell) -> CellView {
    CellView {
        text: c.text.clone(),
        interval: c
            .interval
            .map(|(lo, hi)| format!("{} – {}", super::fmt_number(lo), super::fmt_number(hi))),
        sort: c.value.filter(|v| v.is_finite()).map(|v| format!("{v}")),
        numeric: c.value.is_some(),
    }
}
