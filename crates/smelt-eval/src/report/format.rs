//! How reports write numbers: one format everywhere, so a number in a sentence, a card and a
//! table reads the same.

/// A number as reports show it: three decimals for the usual range of scores and errors
/// (`0.912`, `-1.250`, `12.300`; a value that rounds to zero is `0.000`, never `-0.000`),
/// thousands separators and fewer decimals for large values (`1,234.6`, `123,457`); `n/a` for
/// NaN, `∞` for infinities. (A cell that needs another format takes its text as is:
/// [`Cell::with_text`](super::Cell::with_text).)
///
/// ```
/// use smelt_eval::report::fmt_number;
///
/// assert_eq!(fmt_number(0.91234), "0.912");
/// assert_eq!(fmt_number(0.0), "0.000");
/// assert_eq!(fmt_number(-2.5), "-2.500");
/// assert_eq!(fmt_number(1234.56), "1,234.6");
/// assert_eq!(fmt_number(1234567.0), "1,234,567");
/// assert_eq!(fmt_number(0.0000456), "0.000");
/// ```
pub fn fmt_number(x: f64) -> String {
    if x.is_nan() {
        return "n/a".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞".into() } else { "-∞".into() };
    }
    let a = x.abs();
    let decimals = if a < 1_000.0 {
        3
    } else if a < 100_000.0 {
        1
    } else {
        0
    };
    let s = format!("{:.*}", decimals, a);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::with_capacity(s.len() + 4);
    if x < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    out.push_str(&group(int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A count with thousands separators (`6513` → `6,513`).
pub fn fmt_count(n: usize) -> String {
    group(&n.to_string())
}

/// A fraction as a percentage with one decimal (`0.2412` → `24.1%`).
pub fn fmt_percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", fraction * 100.0)
    } else {
        fmt_number(fraction)
    }
}

/// Digits with a comma every three from the right.
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_same_everywhere() {
        assert_eq!(fmt_number(0.9125), "0.912");
        assert_eq!(fmt_number(1.0), "1.000");
        assert_eq!(fmt_number(-0.0001), "0.000");
        assert_eq!(fmt_number(3.37e-16), "0.000");
        assert_eq!(fmt_number(-0.00051), "-0.001");
        assert_eq!(fmt_number(-0.0), "0.000");
        assert_eq!(fmt_number(999.9996), "1,000.000");
        assert_eq!(fmt_number(-123456.7), "-123,457");
        assert_eq!(fmt_number(f64::NAN), "n/a");
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(1000), "1,000");
        assert_eq!(fmt_percent(0.2412), "24.1%");
    }
}
