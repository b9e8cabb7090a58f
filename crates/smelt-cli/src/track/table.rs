//! Plain-text tables that stay readable when wide: cells are cut to a maximum width, and columns
//! that do not fit the terminal are left out and named in a note.

use std::io::Write;

use owo_colors::OwoColorize;

/// Longest cell shown, in characters; longer ones end in `…`.
pub const MAX_CELL: usize = 28;

/// Width assumed when the terminal's is unknown (output piped, tests).
pub const DEFAULT_WIDTH: usize = 160;

/// How a cell is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tone {
    /// As is.
    #[default]
    Plain,
    /// Emphasised (a differing row, the best value).
    Strong,
    /// Good (finished, best).
    Good,
    /// Bad (failed).
    Bad,
    /// Warning (running, differing).
    Warn,
    /// Secondary.
    Dim,
}

/// One cell.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    /// The text.
    pub text: String,
    /// Its look.
    pub tone: Tone,
}

impl Cell {
    /// A cell in a tone.
    pub fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::new(text, Tone::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::new(text, Tone::Plain)
    }
}

/// A table: headers, rows, and which columns are right-aligned (numbers).
#[derive(Debug, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Right-aligned columns.
    pub right: Vec<bool>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<Cell>>,
    /// Leading columns always shown, however narrow the terminal.
    pub keep: usize,
}

/// The terminal's width, else `COLUMNS`, else [`DEFAULT_WIDTH`].
pub fn width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return usize::from(w);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(DEFAULT_WIDTH)
}

/// Cuts `s` to `max` characters, ending in `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn paint(s: &str, tone: Tone) -> String {
    match tone {
        Tone::Plain => s.to_string(),
        Tone::Strong => s.bold().to_string(),
        Tone::Good => s.green().to_string(),
        Tone::Bad => s.red().to_string(),
        Tone::Warn => s.yellow().to_string(),
        Tone::Dim => s.dimmed().to_string(),
    }
}

impl Table {
    /// A table with these headers, all left-aligned.
    pub fn new(headers: Vec<String>) -> Self {
        let n = headers.len();
        Self {
            headers,
            right: vec![false; n],
            rows: Vec::new(),
            keep: 1,
        }
    }

    /// Writes the table within `width` characters; returns the headers of the columns left out.
    pub fn write(&self, out: &mut impl Write, width: usize) -> std::io::Result<Vec<String>> {
        let n = self.headers.len();
        let widths: Vec<usize> = (0..n)
            .map(|c| {
                let cells = self
                    .rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cut(&cell.text, MAX_CELL).chars().count());
                cells
                    .chain(std::iter::once(
                        cut(&self.headers[c], MAX_CELL).chars().count(),
                    ))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut shown = Vec::new();
        let mut used = 0;
        let mut hidden = Vec::new();
        for (c, &cw) in widths.iter().enumerate() {
            let w = cw + if shown.is_empty() { 0 } else { 2 };
            if c < self.keep || (used + w <= width && hidden.is_empty()) {
                shown.push(c);
                used += w;
            } else {
                hidden.push(self.headers[c].clone());
            }
        }
        let line = |cells: Vec<(String, Tone)>| -> String {
            let mut s = String::new();
            for (i, (&c, (text, tone))) in shown.iter().zip(cells).enumerate() {
                let text = cut(&text, MAX_CELL);
                let pad = widths[c].saturating_sub(text.chars().count());
                let last = i + 1 == shown.len();
                if i > 0 {
                    s.push_str("  ");
                }
                if self.right.get(c).copied().unwrap_or(false) {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(&paint(&text, tone));
                } else {
                    s.push_str(&paint(&text, tone));
                    if !last {
                        s.push_str(&" ".repeat(pad));
                    }
                }
            }
            s
        };
        let head = line(
            shown
                .iter()
                .map(|&c| (self.headers[c].clone(), Tone::Strong))
                .collect(),
        );
        writeln!(out, "{}", head.trim_end())?;
        for row in &self.rows {
            let cells = shown
                .iter()
                .map(|&c| {
                    row.get(c)
                        .map_or((String::new(), Tone::Plain), |x| (x.text.clone(), x.tone))
                })
                .collect();
            writeln!(out, "{}", line(cells).trim_end())?;
        }
        Ok(hidden)
    }
}

/// One CSV field, quoted when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cells_are_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn columns_past_the_width_are_named() {
        let mut t = Table::new(vec!["id".into(), "a".into(), "b".into()]);
        t.rows
            .push(vec!["1".into(), "x".repeat(10).into(), "y".into()]);
        let mut out = Vec::new();
        let hidden = t.write(&mut out, 14).expect("writes");
        assert_eq!(hidden, vec!["b".to_string()]);
        let text = String::from_utf8(out).expect("utf-8");
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(plain, "id  a\n1   xxxxxxxxxx\n");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
