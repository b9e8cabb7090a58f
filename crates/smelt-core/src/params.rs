//! Hyperparameters declared once: [`params!`](crate::params!) turns one declaration per
//! parameter — name, type, default, allowed range, doc, aliases — into the params struct (with
//! its serde attributes), its `Default`, one builder method per field, the range checks and a
//! table of [`ParamSpec`]s (the parameter reference of `smelt train --help-params` and of
//! `docs/parameters.md`).
//!
//! ```
//! use smelt_core::params::DeclaredParams;
//!
//! smelt_core::params! {
//!     /// Parameters of `Ridge`.
//!     pub struct RidgeParams("Ridge") {
//!         /// L2 penalty strength.
//!         alpha: f64 = 1.0, range: at_least(0.0);
//!         /// Iteration cap; unset: automatic.
//!         max_iter: Option<usize> = None, range: unset_or(at_least_int(1)), setter: some(usize);
//!         /// Rounds of boosting.
//!         n_rounds: usize = 100, range: at_least_int(1), aliases: ["n_estimators"];
//!     }
//! }
//!
//! let p = RidgeParams::default().alpha(-1.0).max_iter(0);
//! let errors = p.check_ranges();
//! assert_eq!(errors[0].to_string(), "Ridge: parameter `alpha` must be a float in [0, inf), got -1");
//! assert_eq!(errors[1].to_string(), "Ridge: parameter `max_iter` must be an integer in [1, inf) or unset, got 0");
//! assert_eq!(RidgeParams::specs()[2].aliases, ["n_estimators"]);
//! ```
//!
//! # Syntax
//!
//! ```text
//! params! {
//!     /// struct docs and other struct attributes (extra derives, #[serde(bound(...))])
//!     pub struct Name<L>?("EstimatorName") {
//!         /// field docs (one or more lines)
//!         field: Type = default
//!             [, range: RANGE]
//!             [, aliases: ["alias", ...]]
//!             [, rename: "SerdeName"]
//!             [, serde(other serde field attributes)]
//!             [, setter: some(Inner) | none];
//!         ...
//!     }
//! }
//! ```
//!
//! `RANGE` is one of `at_least(lo)` (finite float `>= lo`), `greater(lo)` (finite float `> lo`),
//! `within(lo, hi)` (`[lo, hi]`), `open(lo, hi)` (`(lo, hi)`), `open_closed(lo, hi)`
//! (`(lo, hi]`), `at_least_int(lo)`, `int_within(lo, hi)`, `none_or(RANGE)` / `unset_or(RANGE)`
//! (an `Option` whose value, when set, is in `RANGE`; `None` errors show the option with
//! `{:?}`, `unset` ones the value), `check("allowed values", |v| predicate)` and
//! `check_debug("allowed values", |v| predicate)` (any rule on the field alone; the value is
//! shown with `Display` / `Debug`) and `check("allowed values", |v| predicate, |v| shown)`
//! (the value shown as the second closure writes it). Errors have the messages of
//! [`ParamCheck`](crate::ParamCheck) and come in declaration order.
//!
//! Generated methods: `check_ranges()` (every declared range violated, under the struct's
//! estimator name) and `range_check(estimator)` (the same as a [`ParamCheck`](crate::ParamCheck)
//! to chain more rules onto). Rules across fields (or on the task, for generic params) stay
//! hand-written in `Fit::check`, after the declared ones:
//! `self.range_check(NAME).require(...).finish()`.
//!
//! The builder of a field takes its type (`setter: some(T)`: takes `T` and stores `Some(v)`;
//! `setter: none`: no builder, write it by hand).
//!
//! A generic struct (`pub struct P<L>("Name")`) gets `Default` and [`DeclaredParams`] for
//! `L: Default (+ Serialize + 'static)`; its serde bounds go in a struct attribute.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use serde_json::Value;

/// One parameter of an estimator, as declared in its [`params!`](crate::params!) block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Name in parameter files and on the command line (`alpha`, `C`).
    pub name: &'static str,
    /// Rust type, without module paths (`f64`, `Option<usize>`, `RidgeSolver`).
    pub ty: String,
    /// Default value as JSON (as written in parameter files).
    pub default: Value,
    /// Allowed values (`a float in [0, inf)`); `None` when every value of the type is.
    pub range: Option<String>,
    /// Documentation (the field's doc comment, lines joined).
    pub doc: String,
    /// Other names accepted for it (LightGBM's `num_leaves` for `max_leaf_nodes`).
    pub aliases: &'static [&'static str],
}

/// A params struct declared with [`params!`](crate::params!).
pub trait DeclaredParams: Default + Serialize + 'static {
    /// The estimator's name in messages (`Ridge`).
    const ESTIMATOR: &'static str;

    /// Every parameter, in declaration order.
    fn specs() -> &'static [ParamSpec];
}

/// A numeric range of a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    /// Finite float `>= lo`.
    AtLeast(f64),
    /// Finite float `> lo`.
    Greater(f64),
    /// `lo <= v <= hi`.
    Within(f64, f64),
    /// `lo < v < hi`.
    Open(f64, f64),
    /// `lo < v <= hi`.
    OpenClosed(f64, f64),
    /// Integer `>= lo`.
    AtLeastInt(i128),
    /// Integer `lo <= v <= hi`.
    IntWithin(i128, i128),
}

impl Range {
    /// The allowed values in words, as [`ParamError::allowed`](crate::ParamError) says them.
    pub fn allowed(&self) -> String {
        match *self {
            Range::AtLeast(lo) => format!("a float in [{lo}, inf)"),
            Range::Greater(lo) => format!("a float in ({lo}, inf)"),
            Range::Within(lo, hi) => format!("a float in [{lo}, {hi}]"),
            Range::Open(lo, hi) => format!("a float in ({lo}, {hi})"),
            Range::OpenClosed(lo, hi) => format!("a float in ({lo}, {hi}]"),
            Range::AtLeastInt(lo) => format!("an integer in [{lo}, inf)"),
            Range::IntWithin(lo, hi) => format!("an integer in [{lo}, {hi}]"),
        }
    }
}

/// A value a [`Range`] can be checked on.
pub trait InRange: Display {
    /// Whether `self` lies in `r`.
    fn in_range(&self, r: &Range) -> bool;
}

fn float_in(v: f64, r: &Range) -> bool {
    match *r {
        Range::AtLeast(lo) => v.is_finite() && v >= lo,
        Range::Greater(lo) => v.is_finite() && v > lo,
        Range::Within(lo, hi) => v >= lo && v <= hi,
        Range::Open(lo, hi) => v > lo && v < hi,
        Range::OpenClosed(lo, hi) => v > lo && v <= hi,
        Range::AtLeastInt(lo) => v >= lo as f64,
        Range::IntWithin(lo, hi) => v >= lo as f64 && v <= hi as f64,
    }
}

impl InRange for f64 {
    fn in_range(&self, r: &Range) -> bool {
        float_in(*self, r)
    }
}

impl InRange for f32 {
    fn in_range(&self, r: &Range) -> bool {
        float_in(f64::from(*self), r)
    }
}

macro_rules! int_in_range {
    ($($t:ty),*) => {$(
        impl InRange for $t {
            fn in_range(&self, r: &Range) -> bool {
                let v = *self as i128;
                match *r {
                    Range::AtLeastInt(lo) => v >= lo,
                    Range::IntWithin(lo, hi) => v >= lo && v <= hi,
                    _ => float_in(*self as f64, r),
                }
            }
        }
    )*};
}
int_in_range!(usize, u8, u16, u32, u64, isize, i8, i16, i32, i64);

/// The specs of `T`, built once per type (generic params structs have one table per
/// instance).
pub fn cached_specs<T: 'static>(build: fn() -> Vec<ParamSpec>) -> &'static [ParamSpec] {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, &'static [ParamSpec]>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(TypeId::of::<T>())
        .or_insert_with(|| Box::leak(build().into_boxed_slice()))
}

/// `T`'s name without module paths: `core::option::Option<usize>` → `Option<usize>`.
pub fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut token_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(token_start);
        } else if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push(c);
            token_start = out.len();
        }
    }
    out
}

/// The doc lines of a field joined into one paragraph.
pub fn join_doc(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The JSON value of `name` in the serialised `value` (`null` when absent).
pub fn default_of<T: Serialize>(value: &T, name: &str) -> Value {
    match serde_json::to_value(value) {
        Ok(Value::Object(mut m)) => m.remove(name).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Declares an estimator's parameters once; see [the module docs](mod@crate::params).
#[macro_export]
macro_rules! params {
    (
        $(#[$sattr:meta])*
        $vis:vis struct $name:ident $(<$g:ident>)? ($estimator:literal) {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $default:expr
                    $(, range: $rk:ident ( $($ra:tt)* ))?
                    $(, aliases: [$($alias:literal),* $(,)?])?
                    $(, rename: $rename:literal)?
                    $(, serde($($serde:tt)*))?
                    $(, setter: $setter:ident $(($sty:ty))?)?
                ;
            )*
        }
    ) => {
        #[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        $(#[$sattr])*
        $vis struct $name $(<$g>)? {
            $(
                $(#[doc = $doc])*
                $($(#[serde(alias = $alias)])*)?
                $(#[serde(rename = $rename)])?
                $(#[serde($($serde)*)])?
                pub $field: $ty,
            )*
        }

        impl $(<$g: ::core::default::Default>)? ::core::default::Default for $name $(<$g>)? {
            fn default() -> Self {
                $name {
                    $($field: $default,)*
                }
            }
        }

        impl $(<$g>)? $name $(<$g>)? {
            $(
                $crate::params!(@setter $field, $ty $(, $setter $(($sty))?)?);
            )*

            /// The range checks declared for the parameters, under the estimator name
            /// `estimator`; chain further checks, then call `finish`.
            #[allow(
                unused_mut,
                clippy::redundant_closure_call,
                reason = "generated: `check` is mutated only when a field declares a range, and `check(...)` forms call their closure in place"
            )]
            pub fn range_check(&self, estimator: &'static str) -> $crate::ParamCheck {
                let mut check = $crate::ParamCheck::new(estimator);
                $(
                    $crate::params!(
                        @field_check check,
                        $crate::params!(@name $field $(, $rename)?),
                        $ty,
                        &self.$field,
                        [$($rk($($ra)*))?]
                    );
                )*
                check
            }

            /// Every declared range violated (empty when all parameters are in range).
            pub fn check_ranges(&self) -> ::std::vec::Vec<$crate::ParamError> {
                self.range_check($estimator).finish()
            }
        }

        impl $(<$g: ::core::default::Default + ::serde::Serialize + 'static>)?
            $crate::params::DeclaredParams for $name $(<$g>)?
        {
            const ESTIMATOR: &'static str = $estimator;

            fn specs() -> &'static [$crate::params::ParamSpec] {
                $crate::params::cached_specs::<Self>(|| {
                    let default = <Self as ::core::default::Default>::default();
                    ::std::vec![
                        $(
                            {
                                let name = $crate::params!(@name $field $(, $rename)?);
                                $crate::params::ParamSpec {
                                    name,
                                    ty: $crate::params::short_type_name::<$ty>(),
                                    default: $crate::params::default_of(&default, name),
                                    range: $crate::params!(@allowed $($rk($($ra)*))?),
                                    doc: $crate::params::join_doc(&[$($doc),*]),
                                    aliases: &[$($($alias),*)?],
                                }
                            },
                        )*
                    ]
                })
            }
        }
    };

    // The serde name of a field.
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident, $rename:literal) => { $rename };

    // Builder methods.
    (@setter $field:ident, $ty:ty) => {
        #[doc = concat!("Sets `", stringify!($field), "`.")]
        pub fn $field(mut self, v: $ty) -> Self {
            self.$field = v;
            self
        }
    };
    (@setter $field:ident, $ty:ty, some($sty:ty)) => {
        #[doc = concat!("Sets `", stringify!($field), "`.")]
        pub fn $field(mut self, v: $sty) -> Self {
            self.$field = Some(v);
            self
        }
    };
    (@setter $field:ident, $ty:ty, none) => {};

    // Range values.
    (@range at_least($lo:expr)) => { $crate::params::Range::AtLeast($lo) };
    (@range greater($lo:expr)) => { $crate::params::Range::Greater($lo) };
    (@range within($lo:expr, $hi:expr)) => { $crate::params::Range::Within($lo, $hi) };
    (@range open($lo:expr, $hi:expr)) => { $crate::params::Range::Open($lo, $hi) };
    (@range open_closed($lo:expr, $hi:expr)) => { $crate::params::Range::OpenClosed($lo, $hi) };
    (@range at_least_int($lo:expr)) => { $crate::params::Range::AtLeastInt($lo) };
    (@range int_within($lo:expr, $hi:expr)) => { $crate::params::Range::IntWithin($lo, $hi) };

    // The allowed values in words (`None`: no range).
    (@allowed) => { ::core::option::Option::None };
    (@allowed check($allowed:expr, $pred:expr)) => {
        ::core::option::Option::Some(::std::string::String::from($allowed))
    };
    (@allowed check($allowed:expr, $pred:expr, $show:expr)) => {
        ::core::option::Option::Some(::std::string::String::from($allowed))
    };
    (@allowed check_debug($allowed:expr, $pred:expr)) => {
        ::core::option::Option::Some(::std::string::String::from($allowed))
    };
    (@allowed none_or($rk:ident($($ra:tt)*))) => {
        ::core::option::Option::Some(::std::format!(
            "{} or None",
            $crate::params!(@range $rk($($ra)*)).allowed()
        ))
    };
    (@allowed unset_or($rk:ident($($ra:tt)*))) => {
        ::core::option::Option::Some(::std::format!(
            "{} or unset",
            $crate::params!(@range $rk($($ra)*)).allowed()
        ))
    };
    (@allowed $rk:ident($($ra:tt)*)) => {
        ::core::option::Option::Some($crate::params!(@range $rk($($ra)*)).allowed())
    };

    // One field's check, if it has a range.
    (@field_check $c:ident, $name:expr, $ty:ty, $v:expr, []) => {};
    (@field_check $c:ident, $name:expr, $ty:ty, $v:expr, [$rk:ident($($ra:tt)*)]) => {
        $c = $crate::params!(@check $c, $name, $ty, $v, $rk($($ra)*));
    };

    // One field's check, chained onto `$c`.
    (@check $c:ident, $name:expr, $ty:ty, $v:expr, check($allowed:expr, $pred:expr)) => {{
        let ok: fn(&$ty) -> bool = $pred;
        let v: &$ty = $v;
        $c.require(ok(v), $name, $allowed, v)
    }};
    (@check $c:ident, $name:expr, $ty:ty, $v:expr, check($allowed:expr, $pred:expr, $show:expr)) => {{
        let ok: fn(&$ty) -> bool = $pred;
        let show: fn(&$ty) -> ::std::string::String = $show;
        let v: &$ty = $v;
        $c.require(ok(v), $name, $allowed, show(v))
    }};
    (@check $c:ident, $name:expr, $ty:ty, $v:expr, check_debug($allowed:expr, $pred:expr)) => {{
        let ok: fn(&$ty) -> bool = $pred;
        let v: &$ty = $v;
        $c.require(ok(v), $name, $allowed, ::std::format!("{v:?}"))
    }};
    (@check $c:ident, $name:expr, $ty:ty, $v:expr, none_or($rk:ident($($ra:tt)*))) => {{
        use $crate::params::InRange as _;
        let r = $crate::params!(@range $rk($($ra)*));
        let v: &$ty = $v;
        $c.require(
            v.as_ref().is_none_or(|x| x.in_range(&r)),
            $name,
            ::std::format!("{} or None", r.allowed()),
            ::std::format!("{v:?}"),
        )
    }};
    (@check $c:ident, $name:expr, $ty:ty, $v:expr, unset_or($rk:ident($($ra:tt)*))) => {{
        use $crate::params::InRange as _;
        let r = $crate::params!(@range $rk($($ra)*));
        let v: &$ty = $v;
        $c.require(
            v.as_ref().is_none_or(|x| x.in_range(&r)),
            $name,
            ::std::format!("{} or unset", r.allowed()),
            v.as_ref().map(|x| x.to_string()).unwrap_or_default(),
        )
    }};
    (@check $c:ident, $name:expr, $ty:ty, $v:expr, $rk:ident($($ra:tt)*)) => {{
        use $crate::params::InRange as _;
        let r = $crate::params!(@range $rk($($ra)*));
        let v: &$ty = $v;
        $c.require(v.in_range(&r), $name, r.allowed(), v)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How the test estimator solves.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Solver {
        #[default]
        Auto,
        Svd,
    }

    crate::params! {
        /// Test parameters.
        pub struct TestParams("Test") {
            /// Penalty strength.
            ///
            /// Second line.
            alpha: f64 = 1.0, range: at_least(0.0);
            /// Tolerance.
            tol: f64 = 1e-4, range: greater(0.0);
            /// Mix.
            l1_ratio: f64 = 0.5, range: within(0.0, 1.0);
            /// Share.
            fraction: f64 = 0.1, range: open(0.0, 1.0), aliases: ["frac", "share"];
            /// Rounds.
            max_iter: usize = 100, range: at_least_int(1), aliases: ["n_estimators"];
            /// Bins.
            max_bins: usize = 255, range: int_within(2, 255);
            /// Leaves.
            max_leaf_nodes: Option<usize> = Some(31), range: none_or(at_least_int(2));
            /// Cap.
            cap: Option<usize> = None, range: unset_or(at_least_int(1)), setter: some(usize);
            /// Inverse strength.
            c: f64 = 1.0, range: check("a float in (0, inf]", |c| *c > 0.0), rename: "C";
            /// Solver.
            solver: Solver = Solver::Auto;
            /// Weights.
            weights: Option<Vec<f64>> = None,
                range: check("non-negative", |w| w.iter().flatten().all(|x| *x >= 0.0), |w| format!("{:?}", w.as_deref().unwrap_or(&[])));
            /// Seed.
            random_state: u64 = 0, serde(skip_serializing_if = "is_zero");
            /// Hand-written builder.
            label: String = String::from("x"), setter: none;
        }
    }

    fn is_zero(v: &u64) -> bool {
        *v == 0
    }

    impl TestParams {
        fn label(mut self, v: &str) -> Self {
            self.label = v.to_string();
            self
        }
    }

    #[test]
    fn defaults_builders_and_serde() {
        let p = TestParams::default();
        assert_eq!(p.alpha, 1.0);
        assert_eq!(p.max_leaf_nodes, Some(31));
        let p = p
            .alpha(2.0)
            .tol(1e-3)
            .fraction(0.2)
            .max_iter(5)
            .max_bins(16)
            .c(3.0)
            .random_state(1)
            .cap(5)
            .weights(None)
            .solver(Solver::Svd)
            .label("y");
        assert_eq!((p.alpha, p.cap, p.solver), (2.0, Some(5), Solver::Svd));
        assert_eq!(p.label, "y");
        let json = serde_json::to_value(TestParams::default()).unwrap();
        assert_eq!(json["C"], Value::from(1.0));
        assert!(json.get("random_state").is_none());
        let p: TestParams =
            serde_json::from_value(serde_json::json!({"n_estimators": 7, "C": 2.0})).unwrap();
        assert_eq!((p.max_iter, p.c), (7, 2.0));
        assert!(serde_json::from_value::<TestParams>(serde_json::json!({"bogus": 1})).is_err());
        assert!(serde_json::from_value::<TestParams>(serde_json::json!({"c": 1})).is_err());
    }

    #[test]
    fn range_checks_list_every_violation_in_order() {
        assert!(TestParams::default().check_ranges().is_empty());
        let p = TestParams {
            alpha: -1.0,
            tol: f64::INFINITY,
            l1_ratio: 1.5,
            fraction: 1.0,
            max_iter: 0,
            max_bins: 256,
            max_leaf_nodes: Some(1),
            cap: Some(0),
            c: 0.0,
            weights: Some(vec![-1.0]),
            ..TestParams::default()
        };
        let msgs: Vec<String> = p.check_ranges().iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            [
                "Test: parameter `alpha` must be a float in [0, inf), got -1",
                "Test: parameter `tol` must be a float in (0, inf), got inf",
                "Test: parameter `l1_ratio` must be a float in [0, 1], got 1.5",
                "Test: parameter `fraction` must be a float in (0, 1), got 1",
                "Test: parameter `max_iter` must be an integer in [1, inf), got 0",
                "Test: parameter `max_bins` must be an integer in [2, 255], got 256",
                "Test: parameter `max_leaf_nodes` must be an integer in [2, inf) or None, got Some(1)",
                "Test: parameter `cap` must be an integer in [1, inf) or unset, got 0",
                "Test: parameter `C` must be a float in (0, inf], got 0",
                "Test: parameter `weights` must be non-negative, got [-1.0]",
            ]
        );
        // Same messages as the hand-written ParamCheck.
        let by_hand = crate::ParamCheck::new("Test")
            .at_least("alpha", -1.0, 0.0)
            .finish();
        assert_eq!(by_hand[0], p.check_ranges()[0]);
        let nan = TestParams::default()
            .l1_ratio(f64::NAN)
            .max_leaf_nodes(None);
        assert_eq!(nan.check_ranges().len(), 1);
        assert_eq!(nan.range_check("Other").finish()[0].estimator, "Other");
    }

    #[test]
    fn specs_table() {
        let specs = TestParams::specs();
        assert_eq!(<TestParams as DeclaredParams>::ESTIMATOR, "Test");
        assert_eq!(specs.len(), 13);
        let alpha = &specs[0];
        assert_eq!(alpha.name, "alpha");
        assert_eq!(alpha.ty, "f64");
        assert_eq!(alpha.default, Value::from(1.0));
        assert_eq!(alpha.range.as_deref(), Some("a float in [0, inf)"));
        assert_eq!(alpha.doc, "Penalty strength. Second line.");
        assert_eq!(specs[3].aliases, ["frac", "share"]);
        assert_eq!(specs[6].ty, "Option<usize>");
        assert_eq!(specs[6].default, Value::from(31));
        assert_eq!(
            specs[7].range.as_deref(),
            Some("an integer in [1, inf) or unset")
        );
        assert_eq!(specs[8].name, "C");
        assert_eq!(specs[8].range.as_deref(), Some("a float in (0, inf]"));
        assert_eq!(specs[9].ty, "Solver");
        assert_eq!(specs[9].default, Value::from("auto"));
        assert_eq!(specs[9].range, None);
        // Skipped when serialised: no default to show.
        assert_eq!(specs[11].default, Value::Null);
        // One table per type, built once.
        assert!(std::ptr::eq(specs, TestParams::specs()));
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name::<Option<Vec<f64>>>(), "Option<Vec<f64>>");
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(
            short_type_name::<std::collections::BTreeMap<String, u8>>(),
            "BTreeMap<String, u8>"
        );
    }
}
