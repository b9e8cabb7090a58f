#!/usr/bin/env bash
# Evaluation benchmark (issue "Evaluation"), side by side in one run, 2 threads each:
#   1. ROC-AUC, log loss, average precision over 10,000,000 predictions: Smelt
#      (crates/smelt-cli/examples/eval_bench.rs) vs scikit-learn and hand-vectorised NumPy
#      (bench/eval_metrics.py) on the same file; best of REPEAT; values checked to 1e-9.
#   2. 5-fold cross-validation of logistic regression on the 1,000,000 x 28 clf_full.csv:
#      `smelt cv` vs sklearn cross_validate(SimpleImputer+StandardScaler+LogisticRegression)
#      (bench/eval_cv.py: median imputer as Smelt, n_jobs 1; scikit-learn's default mean
#      imputer, n_jobs 1 and 2), whole commands (read included) timed REPEAT times in
#      turn, plus each side's own read/CV split; fold accuracies compared.
# Usage: bench/eval.sh [DATA_DIR] [REPEAT]      (JSON lines, then a table, on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-benchdata}
REPEAT=${2:-5}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
PY=$VENV/bin/python
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn threadpoolctl
fi
if [ ! -f "$DATA/clf_train.csv" ]; then
  "$PY" bench/gen_data.py "$DATA"
fi
if [ ! -f "$DATA/clf_full.csv" ]; then
  { cat "$DATA/clf_train.csv"; tail -n +2 "$DATA/clf_test.csv"; } > "$DATA/clf_full.csv"
fi
cargo build --release -q -p smelt-cli --example eval_bench
cargo build --release -q -p smelt-cli
REL=$(cd "$CARGO_TARGET_DIR" && pwd)/release
export RAYON_NUM_THREADS=2 POLARS_MAX_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
OUT=$(mktemp -d)
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "# $(rustc --version)" >&2
"$PY" -c 'import sklearn, numpy, pandas; print("# scikit-learn", sklearn.__version__, "numpy", numpy.__version__, "pandas", pandas.__version__)' >&2

# --- goal 1: metrics over 10M predictions
"$REL/examples/eval_bench" "$DATA" "$REPEAT" | tee "$OUT/metrics.jsonl"
"$PY" bench/eval_metrics.py "$DATA/eval_10000000.bin" --repeat "$REPEAT" --threads 2 \
  --smelt "$OUT/metrics.jsonl" | tee -a "$OUT/metrics.jsonl"

# --- goal 2: cross-validation, whole commands in turn, then each side's own phases
now() { date +%s.%N; }
CSV=$DATA/clf_full.csv
for i in $(seq "$REPEAT"); do
  t=$(now); "$REL/smelt" cv "$CSV" --target y --model logistic_regression --no-stratify \
    --no-shuffle --folds 5 --metric accuracy --no-track --threads 2 --json > "$OUT/smelt_cv.json"
  echo "{\"tool\":\"smelt\",\"task\":\"cv_whole_command\",\"seconds\":$(echo "$(now) - $t" | bc)}" | tee -a "$OUT/cv.jsonl"
  for cfg in median:1 mean:1 mean:2; do
    imp=${cfg%:*}; nj=${cfg#*:}
    t=$(now); "$PY" bench/eval_cv.py "$CSV" --threads 2 --n-jobs "$nj" --impute "$imp" \
      --check "$OUT/smelt_cv.json" > "$OUT/sk_cv.json"
    echo "{\"tool\":\"sklearn_${imp}_njobs$nj\",\"task\":\"cv_whole_command\",\"seconds\":$(echo "$(now) - $t" | bc)}" | tee -a "$OUT/cv.jsonl"
    tee -a "$OUT/cv.jsonl" < "$OUT/sk_cv.json"
  done
  "$REL/examples/eval_bench" cv "$CSV" 2 | tee -a "$OUT/cv.jsonl"
done

"$PY" - "$OUT" <<'EOF'
import json, statistics, sys
out = sys.argv[1]
m = [json.loads(l) for l in open(f"{out}/metrics.jsonl") if l.startswith("{")]
t = {(r["tool"], r["task"]): r["seconds"] for r in m}
print("\n| metric (10M) | Smelt s | sklearn s | NumPy s | Smelt/sklearn | Smelt/NumPy |")
print("|---|---|---|---|---|---|")
for task in ("roc_auc", "log_loss", "average_precision"):
    s, k, n = t[("smelt", task)], t[("sklearn", task)], t[("numpy", task)]
    print(f"| {task} | {s:.4f} | {k:.4f} | {n:.4f} | {s/k:.3f}x | {s/n:.3f}x |")
c = [json.loads(l) for l in open(f"{out}/cv.jsonl") if l.startswith("{")]
def col(tool, key, task=None):
    return [r[key] for r in c if r["tool"] == tool and (task is None or r["task"] == task)]
sm = col("smelt", "seconds", "cv_whole_command")
print("\n| cross-validation, 5 folds, 1M x 28 | median s (min) | Smelt/this |")
print("|---|---|---|")
print(f"| smelt cv, whole command | {statistics.median(sm):.3f} ({min(sm):.3f}) | |")
CFG = (("median", 1), ("mean", 1), ("mean", 2))
for imp, nj in CFG:
    w = col(f"sklearn_{imp}_njobs{nj}", "seconds", "cv_whole_command")
    print(f"| sklearn {imp} imputer, n_jobs={nj}, whole command | {statistics.median(w):.3f} "
          f"({min(w):.3f}) | {statistics.median(sm)/statistics.median(w):.3f}x |")
sl = col("smelt", "load_seconds", "cv_logistic_5fold")
sc = col("smelt", "cv_seconds", "cv_logistic_5fold")
print(f"| Smelt read / cross_validate alone | {statistics.median(sl):.3f} / {statistics.median(sc):.3f} | |")
for imp, nj in CFG:
    rs = [r for r in c if r["tool"] == "sklearn" and r["n_jobs"] == nj and r["impute"] == imp]
    kl = [r["load_seconds"] for r in rs]
    kc = [r["cv_seconds"] for r in rs]
    d = max(r["max_abs_diff_vs_smelt"] for r in rs)
    print(f"| sklearn {imp} imputer, n_jobs={nj} read / cross_validate alone | {statistics.median(kl):.3f} / "
          f"{statistics.median(kc):.3f} | CV alone {statistics.median(sc)/statistics.median(kc):.3f}x; "
          f"fold accuracy max diff {d:.2e} |")
EOF
