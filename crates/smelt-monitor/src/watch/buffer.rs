//! The rows of open windows, per model version: cut by period (tumbling, aligned on the epoch)
//! or by count, each window's rows kept up to a cap by reservoir sampling.

use std::collections::BTreeMap;

use smelt_core::rng::SplitMix64;

use crate::window::Window;

/// One column's values in a window.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Col {
    /// Numbers; NaN is missing.
    Num(Vec<f64>),
    /// Codes into the slot's label list; `MISSING` is missing.
    Cat(Vec<u32>),
}

impl Col {
    fn empty_like(&self) -> Col {
        match self {
            Col::Num(_) => Col::Num(Vec::new()),
            Col::Cat(_) => Col::Cat(Vec::new()),
        }
    }

    /// Appends `from[i]` (`at = None`) or writes it over row `at`.
    fn put(&mut self, from: &Col, i: usize, at: Option<usize>) {
        match (self, from) {
            (Col::Num(v), Col::Num(f)) => match at {
                Some(j) => v[j] = f[i],
                None => v.push(f[i]),
            },
            (Col::Cat(v), Col::Cat(f)) => match at {
                Some(j) => v[j] = f[i],
                None => v.push(f[i]),
            },
            // Slots keep their kind; the reader builds both sides from them.
            _ => {}
        }
    }
}

/// One window's rows: every row counted, at most `cap` kept (a uniform reservoir sample, seeded
/// by the window, so a rerun keeps the same rows).
#[derive(Clone, Debug)]
pub(crate) struct Buffer {
    /// Rows that fell in the window.
    pub rows: usize,
    /// The kept rows, one column per slot.
    pub cols: Vec<Col>,
    /// `(request_id, row)` of each kept row, when labels are joined.
    pub keys: Option<Vec<(String, u32)>>,
    /// Earliest and latest row time (µs).
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
    cap: usize,
    rng: SplitMix64,
}

impl Buffer {
    fn new(like: &Batch, cap: usize, seed: u64) -> Buffer {
        Buffer {
            rows: 0,
            cols: like.cols.iter().map(Col::empty_like).collect(),
            keys: like.keys.as_ref().map(|_| Vec::new()),
            first_us: None,
            last_us: None,
            cap: cap.max(1),
            rng: SplitMix64::new(seed),
        }
    }

    /// Rows kept.
    pub fn kept(&self) -> usize {
        self.cols.first().map_or(0, |c| match c {
            Col::Num(v) => v.len(),
            Col::Cat(v) => v.len(),
        })
    }

    fn push(&mut self, b: &Batch, i: usize) {
        self.rows += 1;
        if let Some(t) = b.time[i] {
            self.first_us = Some(self.first_us.map_or(t, |f| f.min(t)));
            self.last_us = Some(self.last_us.map_or(t, |l| l.max(t)));
        }
        let at = if self.rows <= self.cap {
            None
        } else {
            let j = self.rng.below(self.rows);
            if j >= self.cap {
                return;
            }
            Some(j)
        };
        for (c, f) in self.cols.iter_mut().zip(&b.cols) {
            c.put(f, i, at);
        }
        if let (Some(k), Some(bk)) = (&mut self.keys, &b.keys) {
            match at {
                Some(j) => k[j] = bk[i].clone(),
                None => k.push(bk[i].clone()),
            }
        }
    }
}

/// A window ready to evaluate.
#[derive(Debug)]
pub(crate) struct Closed {
    /// `2026-12-01 06:00` or `rows 1–5000`.
    pub label: String,
    /// Period windows: start and end (µs).
    pub span: Option<(i64, i64)>,
    /// Its rows.
    pub buffer: Buffer,
    /// Evaluated before it was complete (`--once`: the last window).
    pub partial: bool,
}

/// The open windows of one model version.
#[derive(Debug)]
pub(crate) struct Windows {
    window: Window,
    cap: usize,
    open: BTreeMap<i64, Buffer>,
    /// Period windows before this one are closed: their late rows are dropped.
    closed_before: Option<i64>,
    /// Latest row time seen.
    max_us: Option<i64>,
    /// Row windows: rows in windows already closed.
    rows_done: usize,
    /// Row windows full, waiting to be taken.
    full: Vec<Closed>,
    /// Rows that came after their window was closed.
    pub late: u64,
    /// Rows without a time (left out of period windows).
    pub untimed: u64,
}

fn period_label(start_us: i64, period_us: i64) -> String {
    crate::window::slices(1, Some(&[Some(start_us)]), Window::Period(period_us))
        .ok()
        .and_then(|(s, _)| s.into_iter().next())
        .map_or_else(|| start_us.to_string(), |s| s.key)
}

impl Windows {
    pub fn new(window: Window, cap: usize) -> Windows {
        Windows {
            window,
            cap,
            open: BTreeMap::new(),
            closed_before: None,
            max_us: None,
            rows_done: 0,
            full: Vec::new(),
            late: 0,
            untimed: 0,
        }
    }

    /// Puts a file's rows into their windows.
    pub fn add(&mut self, b: &Batch) {
        match self.window {
            Window::Rows(size) => {
                for i in 0..b.n {
                    let k = self.rows_done as i64;
                    let cap = self.cap;
                    let buf = self
                        .open
                        .entry(k)
                        .or_insert_with(|| Buffer::new(b, cap, k as u64));
                    buf.push(b, i);
                    if buf.rows >= size {
                        let Some(buffer) = self.open.remove(&k) else {
                            continue;
                        };
                        let start = self.rows_done;
                        self.rows_done += buffer.rows;
                        self.full.push(Closed {
                            label: format!("rows {}–{}", start + 1, self.rows_done),
                            span: None,
                            buffer,
                            partial: false,
                        });
                    }
                }
            }
            Window::Period(p) => {
                for i in 0..b.n {
                    let Some(t) = b.time[i] else {
                        self.untimed += 1;
                        continue;
                    };
                    let k = t.div_euclid(p);
                    if self.closed_before.is_some_and(|c| k < c) {
                        self.late += 1;
                        continue;
                    }
                    self.max_us = Some(self.max_us.map_or(t, |m| m.max(t)));
                    let cap = self.cap;
                    self.open
                        .entry(k)
                        .or_insert_with(|| Buffer::new(b, cap, k as u64))
                        .push(b, i);
                }
            }
        }
    }

    /// The windows that are complete: a row window once full; a period window once a row at or
    /// after its end has come, or the clock (`now_us`) has passed its end plus `grace_us`. With
    /// `flush`, every window, the last ones marked partial.
    pub fn take_closed(&mut self, now_us: i64, grace_us: i64, flush: bool) -> Vec<Closed> {
        let mut out = std::mem::take(&mut self.full);
        match self.window {
            Window::Rows(_) => {
                if flush {
                    for (_, buffer) in std::mem::take(&mut self.open) {
                        let start = self.rows_done;
                        self.rows_done += buffer.rows;
                        out.push(Closed {
                            label: format!("rows {}–{}", start + 1, self.rows_done),
                            span: None,
                            buffer,
                            partial: true,
                        });
                    }
                }
            }
            Window::Period(p) => {
                let keys: Vec<i64> = self.open.keys().copied().collect();
                for k in keys {
                    let (start, end) = (k.saturating_mul(p), k.saturating_add(1).saturating_mul(p));
                    let by_rows = self.max_us.is_some_and(|m| m >= end);
                    let by_clock = now_us >= end.saturating_add(grace_us);
                    if !(by_rows || by_clock || flush) {
                        break;
                    }
                    let Some(buffer) = self.open.remove(&k) else {
                        continue;
                    };
                    self.closed_before = Some(k + 1);
                    out.push(Closed {
                        label: period_label(start, p),
                        span: Some((start, end)),
                        buffer,
                        partial: !(by_rows || by_clock),
                    });
                }
            }
        }
        out
    }

    /// Rows waiting in open windows.
    pub fn pending(&self) -> usize {
        self.open.values().map(|b| b.rows).sum()
    }
}

/// The served rows of one log file, columns aligned with the slots.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The model version (from the `version=` folder).
    pub version: String,
    /// Rows (shadow rows left out).
    pub n: usize,
    /// Each row's time, µs since 1970 (`None`: missing).
    pub time: Vec<Option<i64>>,
    /// One column per slot (all missing where the file lacks it).
    pub cols: Vec<Col>,
    /// `(request_id, row)` per row, when labels are joined.
    pub keys: Option<Vec<(String, u32)>>,
    /// Shadow rows left out.
    pub shadow: usize,
    /// Slots the file lacks.
    pub absent: Vec<String>,
}
