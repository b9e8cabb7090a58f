//! The recursive-descent parser: tokens to [`Expr`] and [`OrderBy`], with per-kind validation.

use std::collections::HashSet;

use super::fields::{
    self, AttrType, DATASET_FIELDS, attr_alias, entity_noun, entity_of_prefix, entity_prefix,
    find_attr, kind_noun,
};
use super::lex::{Tok, Token, error, tokenize};
use super::{CompareOp, Entity, Expr, Ident, Literal, OrderBy, Predicate, SearchKind};
use crate::{Result, TrackError};

/// Whether an identifier is parsed for a filter or for an `order_by` clause.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Filter,
    Order,
}

const KEYWORDS: &[&str] = &[
    "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC",
];

struct Parser<'a> {
    input: &'a str,
    chars: Vec<char>,
    toks: Vec<Token>,
    at: usize,
    kind: SearchKind,
}

/// An identifier with the character span it was written in.
struct Spanned {
    ident: Ident,
    start: usize,
    end: usize,
}

pub(super) fn parse_filter(kind: SearchKind, input: &str) -> Result<Option<Expr>> {
    let mut p = Parser::new(kind, input)?;
    if p.peek().tok == Tok::End {
        return Ok(None);
    }
    let expr = p.or_expr()?;
    let t = p.peek().clone();
    if t.tok != Tok::End {
        let msg = if t.tok == Tok::RParen {
            "unexpected `)` with no `(` to close".to_owned()
        } else {
            format!(
                "expected AND, OR or the end of the filter, found {}",
                describe(&t.tok)
            )
        };
        return Err(p.err(t.start, msg));
    }
    Ok(Some(expr))
}

pub(super) fn parse_order_by(kind: SearchKind, clauses: &[String]) -> Result<Vec<OrderBy>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(clauses.len());
    for clause in clauses {
        let mut p = Parser::new(kind, clause)?;
        if p.peek().tok == Tok::End {
            return Err(p.err(0, "empty order_by clause"));
        }
        let spanned = p.ident(Mode::Order)?;
        let mut ascending = true;
        if p.is_kw("ASC") {
            p.bump();
        } else if p.is_kw("DESC") {
            p.bump();
            ascending = false;
        }
        let t = p.peek().clone();
        if t.tok != Tok::End {
            return Err(p.err(
                t.start,
                format!(
                    "expected ASC, DESC or the end of the clause, found {}",
                    describe(&t.tok)
                ),
            ));
        }
        if !seen.insert(spanned.ident.clone()) {
            return Err(p.err(
                spanned.start,
                format!(
                    "duplicate order_by key `{}`",
                    p.text(spanned.start, spanned.end)
                ),
            ));
        }
        out.push(OrderBy {
            key: spanned.ident,
            ascending,
        });
    }
    Ok(out)
}

/// A token as messages show it.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Quoted { text, quote } => format!("`{quote}{text}{quote}`"),
        Tok::Number(Literal::Int(v)) => format!("`{v}`"),
        Tok::Number(Literal::Float(v)) => format!("`{v}`"),
        Tok::Number(Literal::Str(s)) => format!("`{s}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::LParen => "`(`".to_owned(),
        Tok::RParen => "`)`".to_owned(),
        Tok::Comma => "`,`".to_owned(),
        Tok::End => "the end of the input".to_owned(),
    }
}

impl<'a> Parser<'a> {
    fn new(kind: SearchKind, input: &'a str) -> Result<Self> {
        Ok(Self {
            input,
            chars: input.chars().collect(),
            toks: tokenize(input)?,
            at: 0,
            kind,
        })
    }

    fn err(&self, position: usize, message: impl Into<String>) -> TrackError {
        error(self.input, position, message)
    }

    /// The source text between two character offsets.
    fn text(&self, start: usize, end: usize) -> String {
        self.chars[start..end.min(self.chars.len())]
            .iter()
            .collect()
    }

    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `bump` never moves past it.
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut items = vec![self.and_expr()?];
        while self.is_kw("OR") {
            self.bump();
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut items = vec![self.not_expr()?];
        while self.is_kw("AND") {
            self.bump();
            items.push(self.not_expr()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not_expr(&mut self) -> Result<Expr> {
        if self.is_kw("NOT") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        if self.peek().tok == Tok::LParen {
            let open = self.bump();
            let e = self.or_expr()?;
            let t = self.peek().clone();
            if t.tok != Tok::RParen {
                return Err(self.err(
                    t.start,
                    format!(
                        "expected `)` to close the `(` at character {}, found {}",
                        open.start,
                        describe(&t.tok)
                    ),
                ));
            }
            self.bump();
            return Ok(e);
        }
        Ok(Expr::Pred(self.predicate()?))
    }

    fn predicate(&mut self) -> Result<Predicate> {
        let id = self.ident(Mode::Filter)?;
        let id_text = self.text(id.start, id.end);
        let t = self.peek().clone();
        let op = match &t.tok {
            Tok::Op(o) => match *o {
                "=" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                "<" => CompareOp::Lt,
                _ => CompareOp::Le,
            },
            Tok::Word(w) if w.eq_ignore_ascii_case("LIKE") => CompareOp::Like,
            Tok::Word(w) if w.eq_ignore_ascii_case("ILIKE") => CompareOp::ILike,
            Tok::Word(w) if w.eq_ignore_ascii_case("IN") => {
                self.bump();
                return self.in_list(id, false, t.start);
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("NOT") => {
                self.bump();
                if !self.is_kw("IN") {
                    let n = self.peek().clone();
                    return Err(self.err(
                        n.start,
                        format!(
                            "expected `IN` after `{id_text} NOT`, found {}",
                            describe(&n.tok)
                        ),
                    ));
                }
                self.bump();
                return self.in_list(id, true, t.start);
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("IS") => {
                self.bump();
                let negated = self.is_kw("NOT");
                if negated {
                    self.bump();
                }
                if !self.is_kw("NULL") {
                    let n = self.peek().clone();
                    return Err(self.err(
                        n.start,
                        format!("expected `NULL` after `IS`, found {}", describe(&n.tok)),
                    ));
                }
                self.bump();
                if id.ident.entity == Entity::Dataset {
                    return Err(self.err(
                        t.start,
                        format!("`IS NULL` does not apply to dataset fields: `{id_text}`"),
                    ));
                }
                return Ok(Predicate::IsNull {
                    ident: id.ident,
                    negated,
                });
            }
            other => {
                return Err(self.err(
                    t.start,
                    format!(
                        "expected a comparison operator after `{id_text}`, found {}",
                        describe(other)
                    ),
                ));
            }
        };
        self.bump();
        let v = self.bump();
        let value = match &v.tok {
            Tok::Quoted { text, quote } if *quote != '`' => Literal::Str(text.clone()),
            Tok::Number(n) => n.clone(),
            Tok::Quoted { text, .. } => {
                return Err(self.err(
                    v.start,
                    format!(
                        "expected a value after `{id_text} {}`, found the name `{text}` in \
                         backticks; quote values with ' or \"",
                        op.as_str()
                    ),
                ));
            }
            other => {
                return Err(self.err(
                    v.start,
                    format!(
                        "expected a quoted string or a number after `{id_text} {}`, found {}",
                        op.as_str(),
                        describe(other)
                    ),
                ));
            }
        };
        self.check_compare(&id, op, &value, t.start, v.start, v.end)?;
        Ok(Predicate::Compare {
            ident: id.ident,
            op,
            value,
        })
    }

    /// Whether an identifier compares as a number, and how messages name its values.
    fn value_kind(&self, ident: &Ident) -> (bool, String) {
        match ident.entity {
            Entity::Metric => (true, "metric values".to_owned()),
            Entity::Param => (false, "param values".to_owned()),
            Entity::Tag => (false, "tag values".to_owned()),
            Entity::Dataset => (false, "dataset fields".to_owned()),
            Entity::Attribute => {
                let numeric = find_attr(self.kind, &ident.key)
                    .is_some_and(|a| matches!(a.ty, AttrType::Int | AttrType::NullableInt));
                (numeric, format!("`{}` values", ident.key))
            }
        }
    }

    fn check_compare(
        &self,
        id: &Spanned,
        op: CompareOp,
        value: &Literal,
        op_start: usize,
        value_start: usize,
        value_end: usize,
    ) -> Result<()> {
        let snippet = self.text(id.start, value_end);
        let (numeric, what) = self.value_kind(&id.ident);
        if numeric {
            if matches!(op, CompareOp::Like | CompareOp::ILike) {
                return Err(self.err(
                    op_start,
                    format!(
                        "`{}` does not apply to {what}, which are numbers: `{snippet}`; \
                         use = != > >= < <=",
                        op.as_str()
                    ),
                ));
            }
            if let Literal::Str(_) = value {
                return Err(self.err(value_start, format!("{what} must be numbers: `{snippet}`")));
            }
        } else {
            if !matches!(
                op,
                CompareOp::Eq | CompareOp::Ne | CompareOp::Like | CompareOp::ILike
            ) {
                return Err(self.err(
                    op_start,
                    format!(
                        "`{}` does not apply to {what}, which are strings: `{snippet}`; \
                         use = != LIKE ILIKE",
                        op.as_str()
                    ),
                ));
            }
            if !matches!(value, Literal::Str(_)) {
                return Err(self.err(
                    value_start,
                    format!("{what} must be quoted strings: `{snippet}`"),
                ));
            }
        }
        Ok(())
    }

    /// Parses `( 'a', 'b' )` after `IN` / `NOT IN`.
    fn in_list(&mut self, id: Spanned, negated: bool, op_start: usize) -> Result<Predicate> {
        let listable = match id.ident.entity {
            Entity::Dataset => true,
            Entity::Attribute => find_attr(self.kind, &id.ident.key).is_some_and(|a| a.list),
            _ => false,
        };
        if !listable {
            let mut valid: Vec<String> = fields::attrs(self.kind)
                .iter()
                .filter(|a| a.list && a.filter)
                .map(|a| a.name.to_owned())
                .collect();
            if self.kind == SearchKind::Runs {
                valid.push("datasets.name|digest|context".to_owned());
            }
            let kw = if negated { "NOT IN" } else { "IN" };
            return Err(self.err(
                op_start,
                format!(
                    "`{kw}` applies only to {}: `{}`",
                    valid.join(", "),
                    self.text(id.start, id.end)
                ),
            ));
        }
        let open = self.bump();
        if open.tok != Tok::LParen {
            return Err(self.err(
                open.start,
                format!(
                    "expected `(` to open a list of quoted strings, found {}",
                    describe(&open.tok)
                ),
            ));
        }
        let mut values = Vec::new();
        loop {
            let t = self.bump();
            match t.tok {
                Tok::Quoted { text, quote } if quote != '`' => values.push(text),
                Tok::RParen if values.is_empty() => {
                    return Err(self.err(t.start, "expected a non-empty list of quoted strings"));
                }
                other => {
                    return Err(self.err(
                        t.start,
                        format!(
                            "expected a quoted string in the list, found {}",
                            describe(&other)
                        ),
                    ));
                }
            }
            let sep = self.bump();
            match sep.tok {
                Tok::Comma => continue,
                Tok::RParen => break,
                other => {
                    return Err(self.err(
                        sep.start,
                        format!(
                            "expected `,` or `)` in the list, found {}",
                            describe(&other)
                        ),
                    ));
                }
            }
        }
        Ok(Predicate::In {
            ident: id.ident,
            negated,
            values,
        })
    }

    /// Parses and resolves an identifier against the kind.
    fn ident(&mut self, mode: Mode) -> Result<Spanned> {
        let t = self.bump();
        let (entity, key, key_start, end) = match &t.tok {
            Tok::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                return Err(self.err(t.start, format!("expected {}, found `{w}`", expected(mode))));
            }
            Tok::Word(w) => match w.split_once('.') {
                None => (Entity::Attribute, w.clone(), t.start, t.end),
                Some((prefix, rest)) => {
                    let Some(entity) = entity_of_prefix(prefix) else {
                        return Err(self.err(
                            t.start,
                            format!(
                                "unknown prefix `{prefix}` in `{w}`; valid: {}",
                                self.valid_prefixes(mode)
                            ),
                        ));
                    };
                    if rest.is_empty() {
                        let n = self.bump();
                        match n.tok {
                            Tok::Quoted { text, quote } if quote != '\'' => {
                                (entity, text, n.start, n.end)
                            }
                            other => {
                                return Err(self.err(
                                    n.start,
                                    format!(
                                        "expected a name after `{w}`, found {}; quote names \
                                         with spaces in backticks: {w}`my name`",
                                        describe(&other)
                                    ),
                                ));
                            }
                        }
                    } else {
                        let key_start = t.start + prefix.chars().count() + 1;
                        (entity, rest.to_owned(), key_start, t.end)
                    }
                }
            },
            Tok::Quoted { text, quote: '`' } => (Entity::Attribute, text.clone(), t.start, t.end),
            other => {
                return Err(self.err(
                    t.start,
                    format!("expected {}, found {}", expected(mode), describe(other)),
                ));
            }
        };
        let written = self.text(t.start, end);
        let allowed = match mode {
            Mode::Filter => fields::filter_entities(self.kind),
            Mode::Order => fields::order_entities(self.kind),
        };
        if !allowed.contains(&entity) {
            let msg = if self.kind == SearchKind::LoggedModels && entity == Entity::Metric {
                format!("logged model metrics are not searchable yet: `{written}`")
            } else {
                let what = match mode {
                    Mode::Filter => "filtered",
                    Mode::Order => "ordered",
                };
                format!(
                    "{} cannot be {what} by {}: `{written}`; valid: {}",
                    kind_noun(self.kind),
                    entity_prefix(entity),
                    self.valid_prefixes(mode)
                )
            };
            return Err(self.err(t.start, msg));
        }
        let key = match entity {
            Entity::Attribute => {
                let canonical = attr_alias(self.kind, &key).unwrap_or(&key).to_owned();
                let ok = find_attr(self.kind, &canonical).is_some_and(|a| match mode {
                    Mode::Filter => a.filter,
                    Mode::Order => a.order,
                });
                if !ok {
                    let valid: Vec<&str> = fields::attrs(self.kind)
                        .iter()
                        .filter(|a| match mode {
                            Mode::Filter => a.filter,
                            Mode::Order => a.order,
                        })
                        .map(|a| a.name)
                        .collect();
                    return Err(self.err(
                        key_start,
                        format!(
                            "unknown attribute `{key}` for {}; valid: {}",
                            kind_noun(self.kind),
                            valid.join(", ")
                        ),
                    ));
                }
                canonical
            }
            Entity::Dataset => {
                if !DATASET_FIELDS.contains(&key.as_str()) {
                    return Err(self.err(
                        key_start,
                        format!(
                            "unknown dataset field `{key}`; valid: {}",
                            DATASET_FIELDS.join(", ")
                        ),
                    ));
                }
                key
            }
            Entity::Metric | Entity::Param | Entity::Tag => {
                if key.is_empty() {
                    return Err(self.err(
                        key_start,
                        format!("empty {} name in `{written}`", entity_noun(entity)),
                    ));
                }
                key
            }
        };
        Ok(Spanned {
            ident: Ident { entity, key },
            start: t.start,
            end,
        })
    }

    fn valid_prefixes(&self, mode: Mode) -> String {
        let allowed = match mode {
            Mode::Filter => fields::filter_entities(self.kind),
            Mode::Order => fields::order_entities(self.kind),
        };
        allowed
            .iter()
            .map(|e| match e {
                Entity::Attribute => "attributes.<name> (or a bare name)".to_owned(),
                Entity::Dataset => "datasets.name|digest|context".to_owned(),
                other => format!("{}.<key>", entity_prefix(*other)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn expected(mode: Mode) -> &'static str {
    match mode {
        Mode::Filter => "a condition such as `metrics.rmse < 1`",
        Mode::Order => "a sort key such as `metrics.rmse`",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_filter, parse_order_by};
    use super::*;

    fn parse(kind: SearchKind, s: &str) -> Expr {
        match parse_filter(kind, s) {
            Ok(Some(e)) => e,
            other => panic!("expected {s:?} to parse, got {other:?}"),
        }
    }

    fn runs(s: &str) -> Expr {
        parse(SearchKind::Runs, s)
    }

    fn ident(entity: Entity, key: &str) -> Ident {
        Ident {
            entity,
            key: key.to_owned(),
        }
    }

    fn cmp(entity: Entity, key: &str, op: CompareOp, value: Literal) -> Expr {
        Expr::Pred(Predicate::Compare {
            ident: ident(entity, key),
            op,
            value,
        })
    }

    fn s(v: &str) -> Literal {
        Literal::Str(v.to_owned())
    }

    /// (position, message) of a filter error.
    fn err(kind: SearchKind, input: &str) -> (usize, String) {
        match parse_filter(kind, input) {
            Err(TrackError::Filter {
                position, message, ..
            }) => (position, message),
            other => panic!("expected a filter error for {input:?}, got {other:?}"),
        }
    }

    fn run_err(input: &str) -> (usize, String) {
        err(SearchKind::Runs, input)
    }

    #[test]
    fn empty_filters_match_everything() {
        assert_eq!(parse_filter(SearchKind::Runs, "").ok(), Some(None));
        assert_eq!(parse_filter(SearchKind::Runs, "  \t\n").ok(), Some(None));
    }

    #[test]
    fn each_entity_and_prefix_spelling() {
        assert_eq!(
            runs("metrics.rmse < 1"),
            cmp(Entity::Metric, "rmse", CompareOp::Lt, Literal::Int(1))
        );
        // MLflow's alternate prefixes (`SearchUtils._ALTERNATE_*_IDENTIFIERS`).
        for (text, entity) in [
            ("metric.a = 1", Entity::Metric),
            ("param.a = '1'", Entity::Param),
            ("parameter.a = '1'", Entity::Param),
            ("parameters.a = '1'", Entity::Param),
            ("params.a = '1'", Entity::Param),
            ("tag.a = '1'", Entity::Tag),
            ("tags.a = '1'", Entity::Tag),
        ] {
            let Expr::Pred(Predicate::Compare { ident, .. }) = runs(text) else {
                panic!("{text} is one comparison");
            };
            assert_eq!(
                ident,
                Ident {
                    entity,
                    key: "a".into()
                },
                "{text}"
            );
        }
        for text in [
            "attributes.status = 'X'",
            "attribute.status = 'X'",
            "attr.status = 'X'",
            "run.status = 'X'",
            "status = 'X'",
            "status like 'X'",
        ] {
            let Expr::Pred(Predicate::Compare { ident, .. }) = runs(text) else {
                panic!("{text} is one comparison");
            };
            assert_eq!(
                ident,
                Ident {
                    entity: Entity::Attribute,
                    key: "status".into()
                }
            );
        }
        assert_eq!(
            runs("dataset.digest = 'abc'"),
            cmp(Entity::Dataset, "digest", CompareOp::Eq, s("abc"))
        );
    }

    #[test]
    fn keys_with_dots_and_quoted_keys() {
        assert_eq!(
            runs("tags.mlflow.source.name = 'x'"),
            cmp(Entity::Tag, "mlflow.source.name", CompareOp::Eq, s("x"))
        );
        assert_eq!(
            runs("metrics.`f1 score` >= 0.5"),
            cmp(
                Entity::Metric,
                "f1 score",
                CompareOp::Ge,
                Literal::Float(0.5)
            )
        );
        assert_eq!(
            runs("tags.\"a b\" = \"c d\""),
            cmp(Entity::Tag, "a b", CompareOp::Eq, s("c d"))
        );
        // `SearchUtils._ALTERNATE_STRING_ATTRIBUTES` and `created`.
        assert_eq!(
            runs("attributes.`Run name` = 'x'"),
            cmp(Entity::Attribute, "run_name", CompareOp::Eq, s("x"))
        );
        assert_eq!(
            runs("`run name` != 'x'"),
            cmp(Entity::Attribute, "run_name", CompareOp::Ne, s("x"))
        );
        assert_eq!(
            runs("created > 5"),
            cmp(
                Entity::Attribute,
                "start_time",
                CompareOp::Gt,
                Literal::Int(5)
            )
        );
    }

    #[test]
    fn operators_and_values() {
        for (op_text, op) in [
            ("=", CompareOp::Eq),
            ("!=", CompareOp::Ne),
            (">", CompareOp::Gt),
            (">=", CompareOp::Ge),
            ("<", CompareOp::Lt),
            ("<=", CompareOp::Le),
        ] {
            assert_eq!(
                runs(&format!("metrics.m {op_text} -2.5e1")),
                cmp(Entity::Metric, "m", op, Literal::Float(-25.0))
            );
        }
        assert_eq!(
            runs("params.p LIKE '%a'"),
            cmp(Entity::Param, "p", CompareOp::Like, s("%a"))
        );
        assert_eq!(
            runs("params.p ilike \"%a\""),
            cmp(Entity::Param, "p", CompareOp::ILike, s("%a"))
        );
        assert_eq!(
            runs("end_time <= 10"),
            cmp(
                Entity::Attribute,
                "end_time",
                CompareOp::Le,
                Literal::Int(10)
            )
        );
    }

    #[test]
    fn in_not_in_and_is_null() {
        assert_eq!(
            runs("attributes.run_id IN ('a1', \"b2\")"),
            Expr::Pred(Predicate::In {
                ident: ident(Entity::Attribute, "run_id"),
                negated: false,
                values: vec!["a1".into(), "b2".into()],
            })
        );
        assert_eq!(
            runs("run_id not in ('a')"),
            Expr::Pred(Predicate::In {
                ident: ident(Entity::Attribute, "run_id"),
                negated: true,
                values: vec!["a".into()],
            })
        );
        assert_eq!(
            runs("datasets.context IN ('train','eval')"),
            Expr::Pred(Predicate::In {
                ident: ident(Entity::Dataset, "context"),
                negated: false,
                values: vec!["train".into(), "eval".into()],
            })
        );
        assert_eq!(
            runs("tags.t IS NULL"),
            Expr::Pred(Predicate::IsNull {
                ident: ident(Entity::Tag, "t"),
                negated: false
            })
        );
        assert_eq!(
            runs("end_time is not null"),
            Expr::Pred(Predicate::IsNull {
                ident: ident(Entity::Attribute, "end_time"),
                negated: true
            })
        );
    }

    #[test]
    fn precedence_not_and_or_parentheses() {
        let a = || cmp(Entity::Metric, "a", CompareOp::Eq, Literal::Int(1));
        let b = || cmp(Entity::Metric, "b", CompareOp::Eq, Literal::Int(2));
        let c = || cmp(Entity::Metric, "c", CompareOp::Eq, Literal::Int(3));
        assert_eq!(
            runs("metrics.a = 1 OR metrics.b = 2 AND metrics.c = 3"),
            Expr::Or(vec![a(), Expr::And(vec![b(), c()])])
        );
        assert_eq!(
            runs("metrics.a = 1 and metrics.b = 2 or metrics.c = 3"),
            Expr::Or(vec![Expr::And(vec![a(), b()]), c()])
        );
        assert_eq!(
            runs("(metrics.a = 1 OR metrics.b = 2) AND metrics.c = 3"),
            Expr::And(vec![Expr::Or(vec![a(), b()]), c()])
        );
        assert_eq!(
            runs("NOT metrics.a = 1 AND metrics.b = 2"),
            Expr::And(vec![Expr::Not(Box::new(a())), b()])
        );
        assert_eq!(
            runs("metrics.a = 1 AND metrics.b = 2 AND metrics.c = 3"),
            Expr::And(vec![a(), b(), c()])
        );
        assert_eq!(runs("((metrics.a = 1))"), a());
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            parse(
                SearchKind::Experiments,
                "name LIKE 'test-%' AND tags.`extra-key` = 'v'"
            ),
            Expr::And(vec![
                cmp(Entity::Attribute, "name", CompareOp::Like, s("test-%")),
                cmp(Entity::Tag, "extra-key", CompareOp::Eq, s("v")),
            ])
        );
        assert_eq!(
            parse(SearchKind::Experiments, "creation_time > 0"),
            cmp(
                Entity::Attribute,
                "creation_time",
                CompareOp::Gt,
                Literal::Int(0)
            )
        );
        assert_eq!(
            parse(SearchKind::RegisteredModels, "tags.k = 'v'"),
            cmp(Entity::Tag, "k", CompareOp::Eq, s("v"))
        );
        assert_eq!(
            parse(
                SearchKind::ModelVersions,
                "source_path = 's' and version = 2"
            ),
            Expr::And(vec![
                cmp(Entity::Attribute, "source_path", CompareOp::Eq, s("s")),
                cmp(
                    Entity::Attribute,
                    "version_number",
                    CompareOp::Eq,
                    Literal::Int(2)
                ),
            ])
        );
        assert!(parse_filter(SearchKind::ModelVersions, "run_id IN ('a','b')").is_ok());
        assert_eq!(
            parse(
                SearchKind::LoggedModels,
                "params.lr = '0.1' AND creation_timestamp_ms > 5"
            ),
            Expr::And(vec![
                cmp(Entity::Param, "lr", CompareOp::Eq, s("0.1")),
                cmp(
                    Entity::Attribute,
                    "creation_timestamp",
                    CompareOp::Gt,
                    Literal::Int(5)
                ),
            ])
        );
    }

    #[test]
    fn syntax_errors_with_positions() {
        assert_eq!(
            run_err("metrics.rmse"),
            (
                12,
                "expected a comparison operator after `metrics.rmse`, found the end of the input"
                    .into()
            )
        );
        assert_eq!(run_err("metrics.rmse 1").0, 13);
        assert_eq!(
            run_err("metrics.a = 1 metrics.b = 2"),
            (
                14,
                "expected AND, OR or the end of the filter, found `metrics.b`".into()
            )
        );
        assert_eq!(run_err("(metrics.a = 1").0, 14);
        assert_eq!(
            run_err("metrics.a = 1)"),
            (13, "unexpected `)` with no `(` to close".into())
        );
        assert_eq!(run_err("metrics.a = 1 AND").0, 17);
        assert_eq!(run_err("AND metrics.a = 1").0, 0);
        assert_eq!(run_err("status = FINISHED").0, 9);
        assert_eq!(run_err("run_id NOT LIKE 'a'").0, 11);
        assert_eq!(run_err("tags.t IS 'x'").0, 10);
        assert_eq!(run_err("metrics. = 1").0, 9);
        assert_eq!(run_err("tags.t = `x`").0, 9);
    }

    #[test]
    fn type_errors_quote_the_condition() {
        assert_eq!(
            run_err("metrics.rmse = 'a'"),
            (
                15,
                "metric values must be numbers: `metrics.rmse = 'a'`".into()
            )
        );
        // "numeric params must be quoted" (MLflow search-runs docs).
        assert_eq!(
            run_err("params.batch_size = 2"),
            (
                20,
                "param values must be quoted strings: `params.batch_size = 2`".into()
            )
        );
        assert_eq!(
            run_err("tags.t > 'a'"),
            (
                7,
                "`>` does not apply to tag values, which are strings: `tags.t > 'a'`; use = != LIKE ILIKE"
                    .into()
            )
        );
        assert_eq!(run_err("metrics.m LIKE 'a'").0, 10);
        assert_eq!(run_err("start_time = 'a'").0, 13);
        assert_eq!(run_err("status = 1").0, 9);
    }

    #[test]
    fn unknown_names() {
        let (pos, msg) = run_err("attributes.foo = 'x'");
        assert_eq!(pos, 11);
        assert_eq!(
            msg,
            "unknown attribute `foo` for runs; valid: run_id, run_name, status, user_id, \
             start_time, end_time, artifact_uri, lifecycle_stage"
        );
        assert_eq!(run_err("foo = 'x'").0, 0);
        let (pos, msg) = run_err("x.y = 1");
        assert_eq!(pos, 0);
        assert!(
            msg.starts_with("unknown prefix `x` in `x.y`; valid: metrics.<key>"),
            "{msg}"
        );
        assert_eq!(
            run_err("datasets.size = 'x'"),
            (
                9,
                "unknown dataset field `size`; valid: name, digest, context".into()
            )
        );
        let (pos, msg) = err(SearchKind::Experiments, "metrics.a > 1");
        assert_eq!(pos, 0);
        assert!(
            msg.starts_with("experiments cannot be filtered by metrics"),
            "{msg}"
        );
        assert_eq!(
            err(SearchKind::LoggedModels, "metrics.acc > 1").1,
            "logged model metrics are not searchable yet: `metrics.acc`"
        );
        assert_eq!(err(SearchKind::Experiments, "run_id = 'a'").0, 0);
    }

    #[test]
    fn in_lists_are_checked() {
        let (pos, msg) = run_err("status IN ('a')");
        assert_eq!(pos, 7);
        assert_eq!(
            msg,
            "`IN` applies only to run_id, datasets.name|digest|context: `status`"
        );
        assert_eq!(run_err("params.p NOT IN ('a')").0, 9);
        assert_eq!(
            run_err("run_id IN ()"),
            (11, "expected a non-empty list of quoted strings".into())
        );
        assert_eq!(run_err("run_id IN ('a' 'b')").0, 15);
        assert_eq!(run_err("run_id IN ('a', 1)").0, 16);
        assert_eq!(run_err("run_id IN 'a'").0, 10);
        assert_eq!(run_err("datasets.name IS NULL").0, 14);
    }

    #[test]
    fn order_by_clauses() {
        let clauses: Vec<String> = [
            "metrics.rmse ASC",
            "params.`a b` DESC",
            "attributes.start_time",
            "tags.t desc",
            "created",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
        // `created` and `attributes.start_time` are the same key.
        let e = parse_order_by(SearchKind::Runs, &clauses);
        assert!(
            matches!(e, Err(TrackError::Filter { position: 0, ref message, .. })
            if message == "duplicate order_by key `created`"),
            "{e:?}"
        );
        let parsed = parse_order_by(SearchKind::Runs, &clauses[..4]).expect("parses");
        assert_eq!(
            parsed,
            vec![
                OrderBy {
                    key: ident(Entity::Metric, "rmse"),
                    ascending: true
                },
                OrderBy {
                    key: ident(Entity::Param, "a b"),
                    ascending: false
                },
                OrderBy {
                    key: ident(Entity::Attribute, "start_time"),
                    ascending: true
                },
                OrderBy {
                    key: ident(Entity::Tag, "t"),
                    ascending: false
                },
            ]
        );
        let ok = |kind, c: &str| parse_order_by(kind, &[c.to_owned()]).map(|v| v.len());
        assert_eq!(ok(SearchKind::Experiments, "name").ok(), Some(1));
        assert_eq!(
            ok(SearchKind::Experiments, "experiment_id DESC").ok(),
            Some(1)
        );
        assert_eq!(
            ok(SearchKind::RegisteredModels, "timestamp desc").ok(),
            Some(1)
        );
        assert_eq!(
            ok(SearchKind::ModelVersions, "version_number").ok(),
            Some(1)
        );
        assert_eq!(
            ok(SearchKind::LoggedModels, "creation_timestamp DESC").ok(),
            Some(1)
        );
        let bad = |kind, c: &str| match parse_order_by(kind, &[c.to_owned()]) {
            Err(TrackError::Filter { position, .. }) => position,
            other => panic!("expected an error for {c:?}, got {other:?}"),
        };
        assert_eq!(bad(SearchKind::Runs, "metrics.rmse UP"), 13);
        assert_eq!(bad(SearchKind::Runs, "datasets.name"), 0);
        assert_eq!(bad(SearchKind::Runs, ""), 0);
        assert_eq!(bad(SearchKind::Experiments, "tags.a"), 0);
        assert_eq!(bad(SearchKind::ModelVersions, "source_path"), 0);
        assert_eq!(bad(SearchKind::Runs, "metrics.a, metrics.b"), 9);
    }

    #[test]
    fn error_display_names_input_and_position() {
        let e = parse_filter(SearchKind::Runs, "metrics.rmse = 'a'").expect_err("bad filter");
        assert_eq!(e.code(), crate::ErrorCode::InvalidParameterValue);
        assert_eq!(
            e.to_string(),
            "invalid filter `metrics.rmse = 'a'` at character 15: metric values must be \
             numbers: `metrics.rmse = 'a'`"
        );
    }
}
