"""onnxruntime against `smelt predict`: every model kind `smelt export` covers, trained by the smelt
binary with its default preprocessing, exported to ONNX, and scored by onnxruntime's
`InferenceSession` on the same table that `smelt predict` scores. Labels must be equal, values and
probabilities within 1e-5 (absolute).

Run by scripts/test-onnx-export with the smelt binary:
    python check_export.py SMELT_BIN DATA_DIR FIXTURES_DIR
Tables: penguins (categorical columns, missing numbers and categories, three classes; a binary
variant; body mass as a regression target), adult (binary, categorical with missing cells; a 4000-row
sample), housing (regression, numbers only; a 4000-row sample with 5 % of the cells blanked).
The scored penguins table also holds categories the models never saw. Imported XGBoost and
LightGBM models (smelt-trees' import fixtures) are checked the same way after `smelt import`.
"""
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

SMELT, DATA, FIXTURES = sys.argv[1], sys.argv[2], sys.argv[3]
TOL = 1e-5
failures = []
worst = {"value": 0.0, "proba": 0.0}


def check(name, cond, detail=""):
    print(("ok    " if cond else "FAIL  ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def smelt(*args):
    out = subprocess.run([SMELT, *args], check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"smelt {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


tmp = tempfile.mkdtemp(prefix="smelt-onnx-export-")


def write_table(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def read_rows(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, list(r)


# ------------------------------------------------------------------------------ tables
random.seed(0)
header, rows = read_rows(f"{DATA}/penguins.csv")
penguins = f"{DATA}/penguins.csv"
# What is scored: every row, plus copies with unseen categories and blanked cells.
scored = [list(r) for r in rows]
island, sex = header.index("island"), header.index("sex")
for r in rows[:40]:
    r = list(r)
    r[island] = "Atlantis"
    scored.append(r)
for r in rows[40:80]:
    r = list(r)
    r[sex] = "unknown"
    r[random.randrange(2, 6)] = ""
    scored.append(r)
penguins_scored = f"{tmp}/penguins_scored.csv"
write_table(penguins_scored, header, scored)
# Binary variant: Gentoo or not.
species = header.index("species")
binary = [[*r[:species], "Gentoo" if r[species] == "Gentoo" else "other", *r[species + 1:]] for r in rows]
penguins_binary = f"{tmp}/penguins_binary.csv"
write_table(penguins_binary, header, binary)

header_a, rows_a = read_rows(f"{DATA}/adult.csv")
adult = f"{tmp}/adult.csv"
write_table(adult, header_a, rows_a[:4000])

header_h, rows_h = read_rows(f"{DATA}/housing.csv")
target_h = header_h.index("med_house_val")
sample = [list(r) for r in rows_h[:4000]]
for r in sample:
    for j in range(len(r)):
        if j != target_h and random.random() < 0.05:
            r[j] = ""
housing = f"{tmp}/housing.csv"
write_table(housing, header_h, sample)

SMALL_FOREST = ["-p", "n_estimators=25"]
SMALL_BOOST = ["-p", "max_iter=40"]
CASES = [
    # (name, training table, target, model, params, scored table)
    ("penguins logistic_regression", penguins, "species", "logistic_regression", [], penguins_scored),
    ("penguins decision_tree_classifier", penguins, "species", "decision_tree_classifier", [], penguins_scored),
    ("penguins random_forest_classifier", penguins, "species", "random_forest_classifier", SMALL_FOREST, penguins_scored),
    ("penguins extra_trees_classifier", penguins, "species", "extra_trees_classifier", SMALL_FOREST, penguins_scored),
    ("penguins hist_gradient_boosting_classifier", penguins, "species", "hist_gradient_boosting_classifier", SMALL_BOOST, penguins_scored),
    ("penguins-binary logistic_regression", penguins_binary, "species", "logistic_regression", [], penguins_scored),
    ("penguins-binary random_forest_classifier", penguins_binary, "species", "random_forest_classifier", SMALL_FOREST, penguins_scored),
    ("penguins-binary hist_gradient_boosting_classifier", penguins_binary, "species", "hist_gradient_boosting_classifier", SMALL_BOOST, penguins_scored),
    ("penguins-mass ridge", penguins, "body_mass_g", "ridge", [], penguins_scored),
    ("penguins-mass random_forest_regressor", penguins, "body_mass_g", "random_forest_regressor", SMALL_FOREST, penguins_scored),
    ("penguins-mass hist_gradient_boosting_regressor", penguins, "body_mass_g", "hist_gradient_boosting_regressor", SMALL_BOOST, penguins_scored),
    ("adult logistic_regression", adult, "income", "logistic_regression", [], adult),
    ("adult decision_tree_classifier", adult, "income", "decision_tree_classifier", ["-p", "max_depth=8"], adult),
    ("adult random_forest_classifier", adult, "income", "random_forest_classifier", SMALL_FOREST + ["-p", "max_depth=12"], adult),
    ("adult extra_trees_classifier", adult, "income", "extra_trees_classifier", SMALL_FOREST + ["-p", "max_depth=12"], adult),
    ("adult hist_gradient_boosting_classifier", adult, "income", "hist_gradient_boosting_classifier", SMALL_BOOST, adult),
    ("housing linear_regression", housing, "med_house_val", "linear_regression", [], housing),
    ("housing ridge", housing, "med_house_val", "ridge", [], housing),
    ("housing lasso", housing, "med_house_val", "lasso", ["-p", "alpha=0.01"], housing),
    ("housing elastic_net", housing, "med_house_val", "elastic_net", ["-p", "alpha=0.01"], housing),
    ("housing decision_tree_regressor", housing, "med_house_val", "decision_tree_regressor", [], housing),
    ("housing random_forest_regressor", housing, "med_house_val", "random_forest_regressor", SMALL_FOREST + ["-p", "max_depth=12"], housing),
    ("housing extra_trees_regressor", housing, "med_house_val", "extra_trees_regressor", SMALL_FOREST + ["-p", "max_depth=12"], housing),
    ("housing hist_gradient_boosting_regressor", housing, "med_house_val", "hist_gradient_boosting_regressor", SMALL_BOOST, housing),
    ("housing hist_gradient_boosting_regressor poisson", housing, "med_house_val", "hist_gradient_boosting_regressor", SMALL_BOOST + ["-p", "loss=poisson"], housing),
]


def feeds(session, table):
    """The table's columns as the session's inputs: raw text read as numbers (blank: NaN) for
    double inputs, as is (blank: missing) for string inputs."""
    df = pd.read_csv(table, dtype=str, keep_default_na=False)
    out = {}
    for i in session.get_inputs():
        col = df[i.name]
        if i.type == "tensor(double)":
            arr = pd.to_numeric(col.replace("", np.nan)).to_numpy(np.float64)
        elif i.type == "tensor(string)":
            arr = col.to_numpy(dtype=object)
        else:
            raise RuntimeError(f"input {i.name}: unexpected type {i.type}")
        out[i.name] = arr.reshape(-1, 1)
    return out


def compare(name, model_dir, table):
    path = f"{model_dir}.onnx"
    said = smelt("export", model_dir, "--format", "onnx", "--out", path).strip()
    check(f"{name}: export summary", said.startswith(f"wrote {path} (") and " node" in said, said)
    proto = onnx.load(path)
    try:
        onnx.checker.check_model(proto, full_check=True)
        check(f"{name}: onnx.checker", True)
    except Exception as e:  # noqa: BLE001 (the checker raises several kinds)
        check(f"{name}: onnx.checker", False, e)
    meta = {p.key: p.value for p in proto.metadata_props}
    check(f"{name}: producer", proto.producer_name == "smelt", proto.producer_name)
    pred_path = f"{model_dir}.pred.parquet"
    smelt("predict", model_dir, table, "--out", pred_path)
    want = pd.read_parquet(pred_path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = [o.name for o in sess.get_outputs()]
    res = dict(zip(outs, sess.run(None, feeds(sess, table))))
    if meta.get("smelt.task") == "regression":
        got = res["variable"][:, 0]
        diff = float(np.max(np.abs(got - want["prediction"].to_numpy(np.float64))))
        worst["value"] = max(worst["value"], diff)
        check(f"{name}: values within {TOL} (max {diff:.1e})", diff <= TOL, diff)
    else:
        classes = json.loads(meta["smelt.classes"])
        labels = [x.decode() if isinstance(x, bytes) else str(x) for x in res["label"]]
        same = labels == [str(x) for x in want["prediction"]]
        check(f"{name}: labels equal", same,
              [(a, b) for a, b in zip(labels, want["prediction"]) if a != str(b)][:5])
        cols = [f"proba_{c}" for c in classes]
        check(f"{name}: classes", list(want.columns[1:]) == cols, (list(want.columns), classes))
        diff = float(np.max(np.abs(res["probabilities"] - want[cols].to_numpy(np.float64))))
        worst["proba"] = max(worst["proba"], diff)
        check(f"{name}: probabilities within {TOL} (max {diff:.1e})", diff <= TOL, diff)


for name, train, target, model, params, table in CASES:
    out = f"{tmp}/{name.replace(' ', '_')}"
    try:
        smelt("train", train, "--target", target, "--model", model, *params, "--out", out, "--no-track")
        compare(name, out, table)
    except Exception as e:  # noqa: BLE001 (report and go on to the next model)
        check(name, False, e)

# ------------------------------------------------------------------------------ imported models
for stem in sorted(f[: -len(".expected.json")] for f in os.listdir(FIXTURES)
                   if f.startswith("import_") and f.endswith(".expected.json")):
    src = f"{FIXTURES}/{stem}.json" if stem.startswith("import_xgb") else f"{FIXTURES}/{stem}.txt"
    spec = json.load(open(f"{FIXTURES}/{stem}.expected.json"))
    names, cats = spec["feature_names"], spec.get("categorical") or {}
    table = f"{tmp}/{stem}.csv"
    rows = []
    for r in spec["x"]:
        row = []
        for name, v in zip(names, r):
            if v is None:
                row.append("")
            elif name in cats:
                row.append(cats[name][int(v)])
            else:
                row.append(repr(float(v)))
        rows.append(row)
    write_table(table, names, rows)
    out = f"{tmp}/{stem}"
    try:
        smelt("import", src, "--out", out)
        compare(f"import {stem}", out, table)
    except Exception as e:  # noqa: BLE001
        check(f"import {stem}", False, e)

print(f"max |onnxruntime - smelt predict|: values {worst['value']:.2e}, probabilities {worst['proba']:.2e}")
if failures:
    print(f"{len(failures)} failed: {', '.join(failures)} (models and tables kept in {tmp})")
    sys.exit(1)
shutil.rmtree(tmp, ignore_errors=True)
print("all checks passed")
