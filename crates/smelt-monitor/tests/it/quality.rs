//! Reading reference and current tables side by side, and the data-quality checks, on real data
//! with injected problems: a column dropped, a column retyped, a missing-rate jump, a new
//! category, a constant column, duplicated rows.

use std::path::{Path, PathBuf};

use smelt_monitor::quality::{QualityOptions, check};
use smelt_monitor::table::{SchemaIssue, TableOptions, Values, load_current, load_reference};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first `n` data lines of adult.csv, each passed through `edit` (its fields), with the
/// header edited by `header`.
fn adult_variant(
    dir: &Path,
    name: &str,
    n: usize,
    header: impl Fn(&mut Vec<String>),
    edit: impl Fn(usize, &mut Vec<String>),
) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("data/adult.csv")).expect("adult");
    let mut lines = text.lines();
    let mut h: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    header(&mut h);
    let mut out = h.join(",") + "\n";
    for (i, l) in lines.take(n).enumerate() {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        edit(i, &mut f);
        out.push_str(&f.join(","));
        out.push('\n');
    }
    let p = dir.join(name);
    std::fs::write(&p, out).expect("write");
    p
}

fn col(h: &[&str], name: &str) -> usize {
    h.iter().position(|c| *c == name).expect(name)
}

#[test]
fn schema_changes_and_quality_problems_are_found() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(repo().join("data/adult.csv")).expect("adult");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let (age, hours, wc, edu, occ) = (
        col(&header, "age"),
        col(&header, "hours_per_week"),
        col(&header, "workclass"),
        col(&header, "education"),
        col(&header, "occupation"),
    );
    let reference = adult_variant(tmp.path(), "ref.csv", 3000, |_| {}, |_, _| {});
    let current = adult_variant(
        tmp.path(),
        "cur.csv",
        2000,
        |h| {
            h.remove(edu); // education dropped
            h.push("extra".into());
        },
        |i, f| {
            if i % 5 == 0 {
                f[hours] = String::new(); // hours_per_week: 20 % missing
            }
            if i % 20 == 0 {
                f[wc] = "Space-agency".into(); // a new category, 5 %
            }
            if i < 100 {
                f[age] = "120".into(); // out of the reference's range, 5 %
            }
            if i == 7 {
                f[occ] = "n/a (retired)".into();
            }
            f.remove(edu);
            f.push("1".into());
        },
    );
    let opts = TableOptions::default();
    let mut r = load_reference(&reference, &opts).expect("reference");
    let (c, issues) = load_current(&current, &mut r, &opts).expect("current");
    assert!(issues.contains(&SchemaIssue::Missing {
        column: "education".into()
    }));
    assert!(issues.contains(&SchemaIssue::Extra {
        column: "extra".into()
    }));
    // Categories share one label list: the reference's codes first, new ones appended.
    let (Values::Categorical { labels: rl, .. }, Values::Categorical { labels: cl, codes }) = (
        &r.column("workclass").expect("wc").values,
        &c.column("workclass").expect("wc").values,
    ) else {
        panic!("categorical");
    };
    assert_eq!(rl, cl);
    assert_eq!(cl[codes[0] as usize], "Space-agency");

    let checks = check(&r, &c, &issues, &QualityOptions::default());
    let failed = |name: &str, column: Option<&str>| {
        checks
            .iter()
            .find(|q| q.check == name && q.column.as_deref() == column)
            .unwrap_or_else(|| panic!("no {name} check for {column:?}"))
            .failed
    };
    assert!(failed("schema", Some("education")));
    assert!(!failed("schema", Some("extra")));
    assert!(failed("missing_values", Some("hours_per_week")));
    assert!(!failed("missing_values", Some("age")));
    assert!(failed("new_categories", Some("workclass")));
    assert!(failed("out_of_range", Some("age")));
    let wc_check = checks
        .iter()
        .find(|q| q.check == "new_categories" && q.column.as_deref() == Some("workclass"))
        .expect("wc");
    assert!(
        wc_check.message.contains("Space-agency"),
        "{}",
        wc_check.message
    );
    assert!(!failed("duplicated_rows", None));
}

#[test]
fn a_retyped_column_is_reported_and_the_rest_still_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(repo().join("data/adult.csv")).expect("adult");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let age = col(&header, "age");
    let reference = adult_variant(tmp.path(), "ref.csv", 500, |_| {}, |_, _| {});
    let current = adult_variant(
        tmp.path(),
        "cur.csv",
        300,
        |_| {},
        |i, f| {
            if i == 42 {
                f[age] = "forty".into();
            }
        },
    );
    let opts = TableOptions::default();
    let mut r = load_reference(&reference, &opts).expect("reference");
    let (c, issues) = load_current(&current, &mut r, &opts).expect("current");
    assert!(
        issues
            .iter()
            .any(|i| matches!(i, SchemaIssue::Retyped { column, message, .. }
            if column == "age" && message.contains("forty"))),
        "{issues:?}"
    );
    assert!(c.column("age").is_none());
    assert!(c.column("workclass").is_some());
}

#[test]
fn constant_columns_and_duplicates_fail() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(repo().join("data/adult.csv")).expect("adult");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let sex = col(&header, "gender");
    let reference = adult_variant(tmp.path(), "ref.csv", 1000, |_| {}, |_, _| {});
    // Rows 0..200 repeated five times (80 % duplicates), gender always "Male".
    let lines: Vec<&str> = text.lines().skip(1).take(200).collect();
    let mut out = text.lines().next().expect("header").to_string() + "\n";
    for _ in 0..5 {
        for l in &lines {
            let mut f: Vec<&str> = l.split(',').collect();
            f[sex] = "Male";
            out.push_str(&f.join(","));
            out.push('\n');
        }
    }
    let current = tmp.path().join("cur.csv");
    std::fs::write(&current, out).expect("write");
    let opts = TableOptions::default();
    let mut r = load_reference(&reference, &opts).expect("reference");
    let (c, issues) = load_current(&current, &mut r, &opts).expect("current");
    let checks = check(&r, &c, &issues, &QualityOptions::default());
    let dup = checks
        .iter()
        .find(|q| q.check == "duplicated_rows")
        .expect("dup");
    assert!(dup.failed && dup.current.expect("share") > 0.79, "{dup:?}");
    let constant = checks
        .iter()
        .find(|q| q.check == "constant_column" && q.column.as_deref() == Some("gender"))
        .expect("constant");
    assert!(constant.failed, "{constant:?}");
}
