//! The lexer: filter text to tokens with character positions.

use super::Literal;
use crate::{Result, TrackError};

/// A token's kind.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// A bare word: letters, digits, `_` and `.`, not starting with a digit or `.`.
    Word(String),
    /// A quoted text; `quote` is `'`, `"` or `` ` ``. A doubled quote stands for itself.
    Quoted { text: String, quote: char },
    /// A number literal, sign included.
    Number(Literal),
    /// `=`, `!=`, `>`, `>=`, `<`, `<=`.
    Op(&'static str),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// The end of the input.
    End,
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    /// Zero-based character offset of the first character.
    pub start: usize,
    /// Character offset one past the last character.
    pub end: usize,
}

pub(super) fn error(input: &str, position: usize, message: impl Into<String>) -> TrackError {
    TrackError::Filter {
        input: input.to_owned(),
        position,
        message: message.into(),
    }
}

/// Splits `input` into tokens; the last one is always [`Tok::End`].
pub(super) fn tokenize(input: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                if chars.get(i) == Some(&'=') {
                    return Err(error(input, start, "unknown operator `==`; use `=`"));
                }
                Tok::Op("=")
            }
            '!' => {
                if chars.get(i + 1) != Some(&'=') {
                    return Err(error(input, start, "unexpected `!`; did you mean `!=`?"));
                }
                i += 2;
                Tok::Op("!=")
            }
            '<' | '>' => {
                i += 1;
                if chars.get(i) == Some(&'=') {
                    i += 1;
                    if c == '<' {
                        Tok::Op("<=")
                    } else {
                        Tok::Op(">=")
                    }
                } else if c == '<' && chars.get(i) == Some(&'>') {
                    return Err(error(input, start, "unknown operator `<>`; use `!=`"));
                } else if c == '<' {
                    Tok::Op("<")
                } else {
                    Tok::Op(">")
                }
            }
            '\'' | '"' | '`' => {
                let (text, next) = quoted(input, &chars, i)?;
                i = next;
                Tok::Quoted { text, quote: c }
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_digit() || (*n == '.' && c != '.'))) =>
            {
                let (lit, next) = number(input, &chars, i)?;
                i = next;
                Tok::Number(lit)
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other
                if out
                    .last()
                    .is_some_and(|t: &Token| t.end == start && matches!(t.tok, Tok::Word(_))) =>
            {
                // `tags.my-key`: a name running into a character a bare name cannot hold.
                return Err(error(
                    input,
                    start,
                    format!(
                        "unexpected character `{other}` in a name; quote names with special \
                         characters in backticks, e.g. tags.`my-key`"
                    ),
                ));
            }
            other => {
                return Err(error(
                    input,
                    start,
                    format!("unexpected character `{other}`"),
                ));
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token {
        tok: Tok::End,
        start: chars.len(),
        end: chars.len(),
    });
    Ok(out)
}

/// Reads a quoted text starting at the opening quote; returns it and the offset past the close.
fn quoted(input: &str, chars: &[char], open: usize) -> Result<(String, usize)> {
    let quote = chars[open];
    let mut text = String::new();
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(error(
                    input,
                    open,
                    format!("unterminated string: no closing {quote} for the one here"),
                ));
            }
            Some(&c) if c == quote => {
                if chars.get(i + 1) == Some(&quote) {
                    text.push(quote);
                    i += 2;
                } else {
                    return Ok((text, i + 1));
                }
            }
            Some(&c) => {
                text.push(c);
                i += 1;
            }
        }
    }
}

/// Reads a number: optional sign, digits, optional fraction, optional exponent.
fn number(input: &str, chars: &[char], start: usize) -> Result<(Literal, usize)> {
    let mut i = start;
    if chars[i] == '-' || chars[i] == '+' {
        i += 1;
    }
    let mut float = false;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if chars.get(i) == Some(&'.') {
        float = true;
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('-' | '+')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            float = true;
            i = j;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    // A number running straight into a word (`1abc`) is a typo, not two tokens.
    if chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
    {
        let mut j = i;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '.')
        {
            j += 1;
        }
        let text: String = chars[start..j].iter().collect();
        return Err(error(input, start, format!("invalid number `{text}`")));
    }
    let text: String = chars[start..i].iter().collect();
    if !float && let Ok(v) = text.parse::<i64>() {
        return Ok((Literal::Int(v), i));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((Literal::Float(v), i)),
        _ => Err(error(input, start, format!("invalid number `{text}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s)
            .expect("test input lexes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn words_operators_and_punctuation() {
        assert_eq!(
            toks("metrics.rmse>=1 AND(x,y)"),
            vec![
                Tok::Word("metrics.rmse".into()),
                Tok::Op(">="),
                Tok::Number(Literal::Int(1)),
                Tok::Word("AND".into()),
                Tok::LParen,
                Tok::Word("x".into()),
                Tok::Comma,
                Tok::Word("y".into()),
                Tok::RParen,
                Tok::End,
            ]
        );
        assert_eq!(toks("a != b")[1], Tok::Op("!="));
        assert_eq!(toks("a<b")[1], Tok::Op("<"));
        assert_eq!(toks("a<=b")[1], Tok::Op("<="));
        assert_eq!(toks("a>b")[1], Tok::Op(">"));
    }

    #[test]
    fn numbers() {
        assert_eq!(toks("-12")[0], Tok::Number(Literal::Int(-12)));
        assert_eq!(toks("+3")[0], Tok::Number(Literal::Int(3)));
        assert_eq!(toks("1.5")[0], Tok::Number(Literal::Float(1.5)));
        assert_eq!(toks(".5")[0], Tok::Number(Literal::Float(0.5)));
        assert_eq!(toks("-.5")[0], Tok::Number(Literal::Float(-0.5)));
        assert_eq!(toks("1e3")[0], Tok::Number(Literal::Float(1000.0)));
        assert_eq!(toks("2.5E-2")[0], Tok::Number(Literal::Float(0.025)));
        assert_eq!(
            toks("99999999999999999999")[0],
            Tok::Number(Literal::Float(1e20))
        );
    }

    #[test]
    fn quotes_and_doubled_quotes() {
        assert_eq!(
            toks("'it''s' \"a b\" `c d`"),
            vec![
                Tok::Quoted {
                    text: "it's".into(),
                    quote: '\''
                },
                Tok::Quoted {
                    text: "a b".into(),
                    quote: '"'
                },
                Tok::Quoted {
                    text: "c d".into(),
                    quote: '`'
                },
                Tok::End,
            ]
        );
        // Backslashes are kept for LIKE escapes.
        assert_eq!(
            toks(r"'a\_b'")[0],
            Tok::Quoted {
                text: r"a\_b".into(),
                quote: '\''
            }
        );
    }

    #[test]
    fn positions_are_characters_not_bytes() {
        let t = tokenize("tags.é = 'ü' AND x").expect("lexes");
        assert_eq!((t[1].start, t[2].start, t[3].start), (7, 9, 13));
    }

    fn err_at(s: &str) -> (usize, String) {
        match tokenize(s) {
            Err(TrackError::Filter {
                position, message, ..
            }) => (position, message),
            other => panic!("expected a filter error for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(
            err_at("name = 'abc"),
            (
                7,
                "unterminated string: no closing ' for the one here".into()
            )
        );
        assert_eq!(err_at("a == 1").0, 2);
        assert_eq!(err_at("a <> 1").0, 2);
        assert_eq!(err_at("a ! 1").0, 2);
        assert_eq!(
            err_at("a = 1; drop"),
            (5, "unexpected character `;`".into())
        );
        assert_eq!(err_at("a = 12abc"), (4, "invalid number `12abc`".into()));
        assert_eq!(
            err_at("tags.my-key = 'x'"),
            (
                7,
                "unexpected character `-` in a name; quote names with special characters in \
                 backticks, e.g. tags.`my-key`"
                    .into()
            )
        );
    }
}
