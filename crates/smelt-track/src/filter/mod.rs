//! MLflow search filters and `order_by` clauses: a hand-written lexer and recursive-descent
//! parser into a typed AST, and a compiler from that AST to portable SQL.
//!
//! # Grammar
//!
//! ```text
//! filter     := or_expr
//! or_expr    := and_expr ( OR and_expr )*
//! and_expr   := not_expr ( AND not_expr )*
//! not_expr   := NOT not_expr | primary
//! primary    := '(' or_expr ')' | predicate
//! predicate  := ident op value
//!             | ident [NOT] IN '(' string ( ',' string )* ')'
//!             | ident IS [NOT] NULL
//! ident      := [prefix '.'] key          key: a word, or a name in backticks or double quotes
//! op         := '=' | '!=' | '>' | '>=' | '<' | '<=' | LIKE | ILIKE
//! value      := 'single' | "double" | number          number: -1, 2.5, 1e-3
//! order_by   := ident [ASC | DESC]
//! ```
//!
//! Keywords are case-insensitive. MLflow itself only joins conditions with `AND`; `OR`, `NOT`
//! and parentheses are Smelt extensions with the usual precedence (`NOT` binds tightest, then
//! `AND`, then `OR`). Prefixes follow MLflow's `SearchUtils`: `metric(s)`, `param(s)`,
//! `parameter(s)`, `tag(s)`, `attribute(s)`, `attr`, `run`, `dataset(s)`; a bare key is an
//! attribute. Which prefixes, attributes and operators are valid depends on the [`SearchKind`].
//!
//! # Semantics (as MLflow's SQL store, unless noted)
//!
//! - A comparison on a metric, param or tag only matches entities that have the key: a run
//!   without `tags.a` matches neither `tags.a = 'x'` nor `tags.a != 'x'`. `IS NULL` /
//!   `IS NOT NULL` (a Smelt extension) test whether the key is there at all.
//! - A NaN metric never matches `= > >= < <=` and always matches `!=` (IEEE semantics, as in
//!   MLflow's in-memory filter; MLflow's SQL store compares the stored placeholder 0 instead).
//! - `datasets.*` matches when any of the run's dataset inputs matches (`!=` and `NOT IN`
//!   included, as MLflow's `any(...)`); `datasets.context` is the input tag `mlflow.data.context`.
//! - Ordering puts missing values last in both directions, NaN metrics after numbers but before
//!   missing ones, then the kind's tie-breakers (runs: `start_time DESC, run_uuid`).
//!
//! # The SQL contract
//!
//! The compiled SQL uses only `$N` placeholders, numbered from `binds.len() + 1` at the time
//! each value is pushed, so the caller may push its own binds first. Table aliases are fixed per
//! kind: runs `r`, experiments `e`, registered models `m`, model versions `v`, logged models
//! `lm`. `LIKE` is emitted as `LIKE $n ESCAPE '\'` and must be case-sensitive: **the store must
//! run `PRAGMA case_sensitive_like = ON` on every SQLite connection** (SQLite's `LIKE` ignores
//! ASCII case by default; PostgreSQL's is case-sensitive). `ILIKE` is emitted as
//! `LOWER(col) LIKE LOWER($n) ESCAPE '\'` on both backends (SQLite's `LOWER` folds ASCII only).
//! A backslash escapes `%` and `_` in patterns, identically on both backends (PostgreSQL with
//! `standard_conforming_strings` on, its default since 9.1). String `order_by` follows the
//! database collation: code points on SQLite; on PostgreSQL the database's `LC_COLLATE`, which
//! matches only with a `C` or `C.UTF-8` database (the tests run on both when
//! `SMELT_TEST_PG_URL` is set).
//!
//! ```
//! use smelt_track::filter::{compile_where, parse_filter, Bind, SearchKind};
//!
//! let expr = parse_filter(SearchKind::Runs, "metrics.rmse < 1 and params.model = 'lr'")
//!     .unwrap()
//!     .unwrap();
//! let mut binds = Vec::new();
//! let sql = compile_where(SearchKind::Runs, &expr, &mut binds);
//! assert!(sql.contains("$1") && sql.contains("$4"));
//! assert_eq!(binds[1], Bind::Float(1.0));
//! ```

mod fields;
mod lex;
mod parse;
mod sql;

pub use sql::{bind_all, compile_order_by, compile_order_by_joined, compile_where};

use crate::Result;

/// The entity a filter searches, which decides the valid identifiers and the SQL tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKind {
    /// `runs/search` (alias `r`).
    Runs,
    /// `experiments/search` (alias `e`).
    Experiments,
    /// `registered-models/search` (alias `m`).
    RegisteredModels,
    /// `model-versions/search` (alias `v`).
    ModelVersions,
    /// `logged-models/search` (alias `lm`).
    LoggedModels,
}

/// What an identifier names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    /// `metrics.<key>`: the latest value of a metric.
    Metric,
    /// `params.<key>`.
    Param,
    /// `tags.<key>`.
    Tag,
    /// `attributes.<key>` or a bare key: a column of the entity.
    Attribute,
    /// `datasets.name|digest|context`: a dataset input of a run.
    Dataset,
}

/// A resolved identifier: attribute keys are canonical (`created` becomes `start_time`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// What the identifier names.
    pub entity: Entity,
    /// The metric, param or tag key, or the canonical attribute or dataset field name.
    pub key: String,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `LIKE`, case-sensitive.
    Like,
    /// `ILIKE`, case-insensitive.
    ILike,
}

impl CompareOp {
    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Like => "LIKE",
            Self::ILike => "ILIKE",
        }
    }
}

/// A literal on the right of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A quoted string, quotes removed.
    Str(String),
    /// An integer number.
    Int(i64),
    /// A number with a fraction or an exponent (or too large for `i64`).
    Float(f64),
}

/// One condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// `ident op value`; the value's type is checked against the identifier.
    Compare {
        /// The left-hand side.
        ident: Ident,
        /// The operator.
        op: CompareOp,
        /// The right-hand side.
        value: Literal,
    },
    /// `ident IN (...)` or `ident NOT IN (...)`, a non-empty list of strings.
    In {
        /// The left-hand side.
        ident: Ident,
        /// `NOT IN`.
        negated: bool,
        /// The listed strings.
        values: Vec<String>,
    },
    /// `ident IS NULL` or `ident IS NOT NULL`: whether the key (or a nullable column) is set.
    IsNull {
        /// The left-hand side.
        ident: Ident,
        /// `IS NOT NULL`.
        negated: bool,
    },
}

/// A filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// All of the operands (two or more).
    And(Vec<Expr>),
    /// Any of the operands (two or more).
    Or(Vec<Expr>),
    /// The negation of the operand.
    Not(Box<Expr>),
    /// A single condition.
    Pred(Predicate),
}

/// One `order_by` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderBy {
    /// The sort key.
    pub key: Ident,
    /// `ASC` (the default) or `DESC`.
    pub ascending: bool,
}

/// A value bound to a `$N` placeholder of the compiled SQL.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    /// A string.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Float(f64),
}

/// Parses a search filter; an empty or all-whitespace filter is `None` (match everything).
///
/// Errors are [`TrackError::Filter`](crate::TrackError::Filter) with the character position.
pub fn parse_filter(kind: SearchKind, input: &str) -> Result<Option<Expr>> {
    parse::parse_filter(kind, input)
}

/// Parses `order_by` clauses such as `metrics.rmse DESC` or ``params.`a b` ``, rejecting keys
/// the kind cannot order by and duplicate keys.
pub fn parse_order_by(kind: SearchKind, clauses: &[String]) -> Result<Vec<OrderBy>> {
    parse::parse_order_by(kind, clauses)
}
