//! Search spaces: which parameters a study varies, over which ranges, and when.
//!
//! A space is written in the same grammar on the command line and in a TOML file:
//!
//! | written                  | meaning                                                     |
//! |--------------------------|-------------------------------------------------------------|
//! | `uniform(0, 1)`          | a float drawn uniformly in `[0, 1]`                         |
//! | `loguniform(1e-3, 10)`   | a float whose logarithm is uniform (scales, rates, penalties)|
//! | `int(2, 12)`             | an integer in `[2, 12]`, both ends included                 |
//! | `logint(16, 1024)`       | an integer whose logarithm is uniform                       |
//! | `choice(gini, entropy)`  | one of the listed values (numbers, `true`/`false`, words)   |
//! | `0.1`, `balanced`        | a fixed value (not searched, passed to every trial)         |
//!
//! On the command line: `--param C=loguniform(1e-3,10) --param penalty=choice(l1,l2)`. In a
//! TOML file, each parameter is a string in that grammar, or a table that adds a condition:
//!
//! ```toml
//! C = "loguniform(1e-3, 10)"
//! penalty = "choice(l2, elasticnet)"
//!
//! [l1_ratio]            # searched only in trials where penalty = elasticnet
//! range = "uniform(0, 1)"
//! when = { penalty = ["elasticnet"] }
//! ```
//!
//! Parameter values are JSON values (`serde_json::Value`) because that is what the model
//! catalogue takes: a trial's parameters build a model directly.

use serde_json::{Map, Value};

use crate::error::{EvalError, Result};

/// How one parameter is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// A float in `[low, high]`; with `log`, its logarithm is uniform (`low > 0`).
    Float {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Sample on a log scale.
        log: bool,
    },
    /// An integer in `[low, high]`, both included; with `log`, on a log scale (`low ≥ 1`).
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
        /// Sample on a log scale.
        log: bool,
    },
    /// One of a list of values.
    Choice(Vec<Value>),
    /// A fixed value, passed to every trial.
    Fixed(Value),
}

impl Dist {
    /// Whether a study varies this parameter (everything but [`Dist::Fixed`] and one-value
    /// choices).
    pub fn is_searched(&self) -> bool {
        match self {
            Dist::Fixed(_) => false,
            Dist::Choice(v) => v.len() > 1,
            Dist::Float { low, high, .. } => low < high,
            Dist::Int { low, high, .. } => low < high,
        }
    }

    /// The distribution as written in the grammar (`loguniform(0.001, 10)`).
    pub fn describe(&self) -> String {
        match self {
            Dist::Float { low, high, log } => {
                format!(
                    "{}({low}, {high})",
                    if *log { "loguniform" } else { "uniform" }
                )
            }
            Dist::Int { low, high, log } => {
                format!("{}({low}, {high})", if *log { "logint" } else { "int" })
            }
            Dist::Choice(v) => format!(
                "choice({})",
                v.iter().map(value_text).collect::<Vec<_>>().join(", ")
            ),
            Dist::Fixed(v) => value_text(v),
        }
    }

    /// Maps a value of this distribution to the internal scale samplers work on: the value
    /// (or its logarithm) for numbers, the index for choices. `None` when it does not belong.
    pub fn to_internal(&self, v: &Value) -> Option<f64> {
        match self {
            Dist::Float { log, .. } => v.as_f64().map(|x| if *log { x.ln() } else { x }),
            Dist::Int { log, .. } => v
                .as_i64()
                .map(|x| if *log { (x as f64).ln() } else { x as f64 }),
            Dist::Choice(c) => c.iter().position(|x| x == v).map(|i| i as f64),
            Dist::Fixed(_) => None,
        }
    }

    /// The internal range `[low, high]` (log scale for log distributions). Ints are widened
    /// by half a step on each side so every integer has the same share of the range.
    pub fn internal_bounds(&self) -> (f64, f64) {
        match self {
            Dist::Float { low, high, log } => {
                if *log {
                    (low.ln(), high.ln())
                } else {
                    (*low, *high)
                }
            }
            Dist::Int { low, high, log } => {
                if *log {
                    ((*low as f64 - 0.5).max(0.5).ln(), (*high as f64 + 0.5).ln())
                } else {
                    (*low as f64 - 0.5, *high as f64 + 0.5)
                }
            }
            Dist::Choice(c) => (0.0, c.len() as f64),
            Dist::Fixed(_) => (0.0, 0.0),
        }
    }

    /// The value of an internal-scale number (rounded for ints, clamped into the range).
    pub fn from_internal(&self, x: f64) -> Value {
        match self {
            Dist::Float { low, high, log } => {
                let v = if *log { x.exp() } else { x };
                float_value(v.clamp(*low, *high))
            }
            Dist::Int { low, high, log } => {
                let v = if *log { x.exp() } else { x };
                Value::from((v.round() as i64).clamp(*low, *high))
            }
            Dist::Choice(c) => {
                let i = (x.floor().max(0.0) as usize).min(c.len().saturating_sub(1));
                c.get(i).cloned().unwrap_or(Value::Null)
            }
            Dist::Fixed(v) => v.clone(),
        }
    }
}

/// A JSON number for a float (a finite float always has one).
pub(crate) fn float_value(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A value as a user would write it (`0.1`, `gini`, `true`).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A parameter that only exists when another parameter takes one of some values (the
/// `l1_ratio` of an elastic net).
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The parameter it depends on.
    pub parent: String,
    /// The parent's values for which this parameter is used.
    pub values: Vec<Value>,
}

/// One parameter of a space.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The model parameter's name.
    pub name: String,
    /// How it is drawn.
    pub dist: Dist,
    /// When it is used (always, when `None`).
    pub when: Option<Condition>,
}

/// A search space: an ordered list of parameters (parents before the parameters that depend
/// on them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Space {
    params: Vec<Param>,
}

impl Space {
    /// An empty space.
    pub fn new() -> Self {
        Space::default()
    }

    /// Adds a parameter (replacing one of the same name). Fails on an empty range.
    pub fn add(&mut self, param: Param) -> Result<&mut Self> {
        check_dist(&param.name, &param.dist)?;
        if let Some(c) = &param.when {
            let Some(parent) = self.params.iter().find(|p| p.name == c.parent) else {
                return Err(EvalError::input_hint(
                    "search space",
                    format!(
                        "`{}` depends on `{}`, which is not declared before it",
                        param.name, c.parent
                    ),
                    "declare the parent parameter first",
                ));
            };
            if let Dist::Choice(values) | Dist::Fixed(Value::Array(values)) = &parent.dist
                && let Some(v) = c.values.iter().find(|v| !values.contains(v))
            {
                return Err(EvalError::input_hint(
                    "search space",
                    format!(
                        "`{}` depends on `{}` = {}, which `{}` never takes",
                        param.name,
                        c.parent,
                        value_text(v),
                        c.parent
                    ),
                    format!("`{}` is {}", c.parent, parent.dist.describe()),
                ));
            }
        }
        match self.params.iter_mut().find(|p| p.name == param.name) {
            Some(p) => *p = param,
            None => self.params.push(param),
        }
        Ok(self)
    }

    /// Adds an unconditional parameter from its written form (`loguniform(1e-3, 10)`).
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<&mut Self> {
        let dist = parse_dist(name, text)?;
        self.add(Param {
            name: name.to_string(),
            dist,
            when: None,
        })
    }

    /// Parses command-line arguments `name=dist` (`C=loguniform(1e-3,10)`).
    pub fn from_args(args: &[String]) -> Result<Space> {
        let mut space = Space::new();
        for a in args {
            let Some((name, text)) = a.split_once('=') else {
                return Err(EvalError::input_hint(
                    "--param",
                    format!("`{a}` is not `name=value`"),
                    "write for example `--param C=loguniform(1e-3,10)`",
                ));
            };
            space.add_text(name.trim(), text.trim())?;
        }
        Ok(space)
    }

    /// Parses a TOML file's text (see the module docs); `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Space> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            EvalError::input_hint(
                source.to_string(),
                format!("not valid TOML: {}", e.message()),
                "each line is `name = \"loguniform(1e-3, 10)\"` or a [name] table",
            )
        })?;
        let mut parsed = Vec::with_capacity(table.len());
        for (name, v) in &table {
            let ctx = format!("{source}: `{name}`");
            let param = match v {
                toml::Value::String(s) => Param {
                    name: name.clone(),
                    dist: parse_dist(name, s).map_err(|e| relabel(e, &ctx))?,
                    when: None,
                },
                toml::Value::Table(t) => {
                    let range = t.get("range").ok_or_else(|| {
                        EvalError::input_hint(
                            ctx.clone(),
                            "a parameter table needs `range`",
                            "write `range = \"uniform(0, 1)\"`",
                        )
                    })?;
                    let dist = match range {
                        toml::Value::String(s) => {
                            parse_dist(name, s).map_err(|e| relabel(e, &ctx))?
                        }
                        other => Dist::Fixed(toml_to_json(other)),
                    };
                    let when = match t.get("when") {
                        None => None,
                        Some(toml::Value::Table(w)) if w.len() == 1 => {
                            let (parent, values) = w
                                .iter()
                                .next()
                                .ok_or_else(|| EvalError::input(ctx.clone(), "`when` is empty"))?;
                            let values = match values {
                                toml::Value::Array(a) => a.iter().map(toml_to_json).collect(),
                                one => vec![toml_to_json(one)],
                            };
                            Some(Condition {
                                parent: parent.clone(),
                                values,
                            })
                        }
                        Some(_) => {
                            return Err(EvalError::input_hint(
                                ctx,
                                "`when` must name one parent parameter",
                                "write `when = { penalty = [\"elasticnet\"] }`",
                            ));
                        }
                    };
                    Param {
                        name: name.clone(),
                        dist,
                        when,
                    }
                }
                other => Param {
                    name: name.clone(),
                    dist: Dist::Fixed(toml_to_json(other)),
                    when: None,
                },
            };
            parsed.push((ctx, param));
        }
        // Parents first, whatever the file's order: add what can be added until nothing is
        // left (an unknown parent is reported by `add`).
        let mut space = Space::new();
        while !parsed.is_empty() {
            let ready = parsed.iter().position(|(_, p)| {
                p.when
                    .as_ref()
                    .is_none_or(|c| space.get(&c.parent).is_some())
            });
            let (ctx, param) = parsed.remove(ready.unwrap_or(0));
            space.add(param).map_err(|e| relabel(e, &ctx))?;
        }
        Ok(space)
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether no parameter is searched.
    pub fn is_fixed(&self) -> bool {
        self.params.iter().all(|p| !p.dist.is_searched())
    }

    /// Whether `param` is used given the values chosen so far.
    pub fn is_active(&self, param: &Param, chosen: &Map<String, Value>) -> bool {
        match &param.when {
            None => true,
            Some(c) => chosen.get(&c.parent).is_some_and(|v| c.values.contains(v)),
        }
    }

    /// Merges `other` into this space (its parameters replace those of the same name).
    pub fn extend(&mut self, other: &Space) -> Result<()> {
        for p in &other.params {
            self.add(p.clone())?;
        }
        Ok(())
    }
}

fn relabel(e: EvalError, ctx: &str) -> EvalError {
    match e {
        EvalError::Input { message, hint, .. } => EvalError::Input {
            context: ctx.to_string(),
            message,
            hint,
        },
        other => other,
    }
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => float_value(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        other => Value::String(other.to_string()),
    }
}

fn check_dist(name: &str, dist: &Dist) -> Result<()> {
    let bad = |msg: String, hint: &str| Err(EvalError::input_hint(format!("`{name}`"), msg, hint));
    match dist {
        Dist::Float { low, high, log } => {
            if !low.is_finite() || !high.is_finite() {
                return bad(
                    format!("the range [{low}, {high}] is not finite"),
                    "give finite bounds",
                );
            }
            if low > high {
                return bad(
                    format!("the range [{low}, {high}] is empty (low > high)"),
                    "write the smaller bound first",
                );
            }
            if *log && *low <= 0.0 {
                return bad(
                    format!("a log scale needs a positive lower bound, got {low}"),
                    "use uniform(...) or a bound such as 1e-6",
                );
            }
        }
        Dist::Int { low, high, log } => {
            if low > high {
                return bad(
                    format!("the range [{low}, {high}] is empty (low > high)"),
                    "write the smaller bound first",
                );
            }
            if *log && *low < 1 {
                return bad(
                    format!("a log scale needs a lower bound of at least 1, got {low}"),
                    "use int(...) instead",
                );
            }
        }
        Dist::Choice(v) if v.is_empty() => {
            return bad("choice() lists no value".into(), "list at least one value");
        }
        Dist::Choice(_) | Dist::Fixed(_) => {}
    }
    Ok(())
}

/// Parses one distribution in the grammar of the module docs.
pub fn parse_dist(name: &str, text: &str) -> Result<Dist> {
    let text = text.trim();
    let ctx = || format!("`{name}`");
    let Some(open) = text.find('(') else {
        return Ok(Dist::Fixed(parse_value(text)));
    };
    let func = text[..open].trim().to_ascii_lowercase();
    let Some(inner) = text[open + 1..].strip_suffix(')') else {
        return Err(EvalError::input_hint(
            ctx(),
            format!("`{text}` has no closing parenthesis"),
            "write for example `loguniform(1e-3, 10)`",
        ));
    };
    let args: Vec<&str> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let two_numbers = || -> Result<(f64, f64)> {
        let nums: Vec<f64> = args
            .iter()
            .map(|a| a.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                EvalError::input_hint(
                    ctx(),
                    format!("`{text}`: the bounds must be numbers"),
                    format!("write `{func}(low, high)`"),
                )
            })?;
        match nums[..] {
            [a, b] => Ok((a, b)),
            _ => Err(EvalError::input_hint(
                ctx(),
                format!("`{text}` takes two bounds, got {}", nums.len()),
                format!("write `{func}(low, high)`"),
            )),
        }
    };
    let int = |x: f64| -> Result<i64> {
        if x.fract() == 0.0 && x.abs() < 9e15 {
            Ok(x as i64)
        } else {
            Err(EvalError::input_hint(
                ctx(),
                format!("`{text}`: {x} is not an integer"),
                "integer ranges take whole numbers; use uniform(...) for floats",
            ))
        }
    };
    let dist = match func.as_str() {
        "uniform" | "float" => {
            let (low, high) = two_numbers()?;
            Dist::Float {
                low,
                high,
                log: false,
            }
        }
        "loguniform" | "logfloat" => {
            let (low, high) = two_numbers()?;
            Dist::Float {
                low,
                high,
                log: true,
            }
        }
        "int" | "randint" => {
            let (low, high) = two_numbers()?;
            Dist::Int {
                low: int(low)?,
                high: int(high)?,
                log: false,
            }
        }
        "logint" => {
            let (low, high) = two_numbers()?;
            Dist::Int {
                low: int(low)?,
                high: int(high)?,
                log: true,
            }
        }
        "choice" | "categorical" => Dist::Choice(args.iter().map(|a| parse_value(a)).collect()),
        other => {
            let known: Vec<String> = ["uniform", "loguniform", "int", "logint", "choice"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            return Err(EvalError::input_hint(
                ctx(),
                format!("unknown distribution `{other}`"),
                match smelt_core::text::closest(other, &known) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "use uniform, loguniform, int, logint or choice".into(),
                },
            ));
        }
    };
    check_dist(name, &dist)?;
    Ok(dist)
}

/// A written value: an integer, a float, `true`/`false`, `null`, or a word (quotes optional).
pub fn parse_value(s: &str) -> Value {
    let s = s.trim();
    let unquoted = s
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')));
    if let Some(u) = unquoted {
        return Value::String(u.to_string());
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        return float_value(f);
    }
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" | "none" | "None" => Value::Null,
        _ => Value::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(
            parse_dist("C", "loguniform(1e-3, 10)").unwrap(),
            Dist::Float {
                low: 1e-3,
                high: 10.0,
                log: true
            }
        );
        assert_eq!(
            parse_dist("d", "int(2,12)").unwrap(),
            Dist::Int {
                low: 2,
                high: 12,
                log: false
            }
        );
        assert_eq!(
            parse_dist("c", "choice(gini, 'entropy', 3, true)").unwrap(),
            Dist::Choice(vec![
                "gini".into(),
                "entropy".into(),
                Value::from(3),
                Value::Bool(true)
            ])
        );
        assert_eq!(
            parse_dist("a", "0.5").unwrap(),
            Dist::Fixed(float_value(0.5))
        );
        assert_eq!(
            parse_dist("a", "uniform(0, 1)").unwrap().describe(),
            "uniform(0, 1)"
        );
    }

    #[test]
    fn bad_spaces_are_clear_errors() {
        let e = parse_dist("C", "uniform(3, 1)").unwrap_err().to_string();
        assert!(e.contains("`C`") && e.contains("empty"), "{e}");
        let e = parse_dist("C", "loguniform(0, 1)").unwrap_err().to_string();
        assert!(e.contains("positive"), "{e}");
        let e = parse_dist("C", "logunifrom(1, 2)").unwrap_err();
        assert!(e.hint().unwrap().contains("loguniform"), "{:?}", e.hint());
        assert!(parse_dist("C", "uniform(1)").is_err());
        assert!(parse_dist("C", "uniform(a, b)").is_err());
        assert!(parse_dist("C", "int(1.5, 3)").is_err());
        assert!(parse_dist("C", "choice()").is_err());
        assert!(parse_dist("C", "uniform(1, 2").is_err());
        assert!(Space::from_args(&["C".into()]).is_err());
    }

    #[test]
    fn toml_with_a_condition() {
        let s = Space::from_toml(
            "C = \"loguniform(1e-3, 10)\"\npenalty = \"choice(l2, elasticnet)\"\nmax_iter = 500\n\n[l1_ratio]\nrange = \"uniform(0, 1)\"\nwhen = { penalty = [\"elasticnet\"] }\n",
            "space.toml",
        )
        .unwrap();
        assert_eq!(s.params().len(), 4);
        assert_eq!(
            s.get("max_iter").unwrap().dist,
            Dist::Fixed(Value::from(500))
        );
        let l1 = s.get("l1_ratio").unwrap();
        let mut chosen = Map::new();
        chosen.insert("penalty".into(), "l2".into());
        assert!(!s.is_active(l1, &chosen));
        chosen.insert("penalty".into(), "elasticnet".into());
        assert!(s.is_active(l1, &chosen));
        // A condition on a value the parent never takes.
        let e = Space::from_toml(
            "penalty = \"choice(l2, l1)\"\n[l1_ratio]\nrange = \"uniform(0, 1)\"\nwhen = { penalty = \"elasticnet\" }\n",
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("s.toml") && e.contains("never takes"), "{e}");
        let e = Space::from_toml("C = \"uniform(2, 1)\"", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.toml: `C`"), "{e}");
    }

    #[test]
    fn internal_scale_round_trips() {
        let d = Dist::Int {
            low: 1,
            high: 100,
            log: true,
        };
        for v in [1, 7, 100] {
            let x = d.to_internal(&Value::from(v)).unwrap();
            assert_eq!(d.from_internal(x), Value::from(v));
        }
        let c = Dist::Choice(vec!["a".into(), "b".into()]);
        assert_eq!(c.from_internal(1.7), Value::from("b"));
        assert_eq!(c.from_internal(9.0), Value::from("b"));
    }
}
