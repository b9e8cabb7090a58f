//! Terminal styling. Output goes through `anstream`, which strips the colours when the stream
//! is not a terminal or `NO_COLOR` is set, so piped output is plain text.

use owo_colors::OwoColorize;

pub fn error(s: &str) -> String {
    s.red().bold().to_string()
}

pub fn hint(s: &str) -> String {
    s.cyan().bold().to_string()
}

pub fn ok(s: &str) -> String {
    s.green().bold().to_string()
}

pub fn bad(s: &str) -> String {
    s.red().bold().to_string()
}

pub fn head(s: &str) -> String {
    s.bold().to_string()
}

pub fn dim(s: &str) -> String {
    s.dimmed().to_string()
}

pub use smelt_core::text::thousands;

/// Bytes in KB/MB/GB (powers of 1000, as `ls -h --si`).
pub fn bytes(n: u64) -> String {
    let f = n as f64;
    if f < 1e3 {
        format!("{n} B")
    } else if f < 1e6 {
        format!("{:.1} kB", f / 1e3)
    } else if f < 1e9 {
        format!("{:.1} MB", f / 1e6)
    } else {
        format!("{:.2} GB", f / 1e9)
    }
}

/// A number in at most 6 significant digits, without trailing zeros.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.4e}");
    }
    let digits = (6 - (a.log10().floor() as i32 + 1)).clamp(0, 10) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(48842), "48,842");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(bytes(5_271_062), "5.3 MB");
        assert_eq!(num(38.64358543876172), "38.6436");
        assert_eq!(num(17.0), "17");
        assert_eq!(num(0.000012), "1.2000e-5");
    }
}
