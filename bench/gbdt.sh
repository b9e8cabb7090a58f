#!/usr/bin/env bash
# Gradient-boosting benchmark (issue "Trees and ensembles"), side by side in one run, 2 threads each:
#   fit on 800k x 28 (100 rounds, 31 leaves, lr 0.1, max_bin 255) with test AUC, the fit's peak RSS,
#   batch predict of the 200k test rows, single-row predict:
#   Smelt (crates/smelt-cli/examples/gbdt_bench.rs) vs LightGBM, XGBoost (hist) and scikit-learn's
#   HistGradientBoosting (../shared/bench/tabular.py), and the Rust GBDTs on PyPI, forust and perpetual
#   (../shared/bench/gbdt_peers.py), when their venv exists (../shared/bench/setup_peers.sh gbdt).
#   Then real datasets (adult, car_loan, credit, housing) against LightGBM with the same
#   hyperparameters, native categorical splits vs one-hot encoding (gbdt_real example vs
#   bench/gbdt_real.py). Then gen_noisy.py's noisy table at the same size (800k train rows, 200k
#   test rows; 15 numeric columns with missing values, 3 string columns split natively by both),
#   same hyperparameters, Smelt (gbdt_real, native) vs LightGBM (gbdt_real.py, pandas categories).
# Usage: bench/gbdt.sh [DATA_DIR] [REPEAT]      (results: JSON lines on stdout)
# Compare CPU seconds as well as wall time when the machine is shared: OpenMP libraries
# spin-wait and lose much more wall time than rayon when another process holds a core.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-benchdata}
REPEAT=${2:-3}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
PEERS=${PEERS_VENV:-$HOME/.cache/smelt-peer-venv}
SHARED=${SHARED_BENCH:-../shared/bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn threadpoolctl lightgbm xgboost
fi
if [ ! -f "$DATA/clf_train.csv" ]; then
  "$VENV/bin/python" bench/gen_data.py "$DATA"
fi
cargo build --release -q -p smelt-cli --example gbdt_bench --example gbdt_real
BIN=$(cd "$CARGO_TARGET_DIR" && pwd)/release/examples
export RAYON_NUM_THREADS=2 POLARS_MAX_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BIN/gbdt_bench" "$DATA" "$REPEAT"
"$VENV/bin/python" "$SHARED/tabular.py" "$DATA" --threads 2 --repeat "$REPEAT" --only lightgbm,xgboost,hgb,rss
if [ -x "$PEERS/bin/python" ]; then
  "$PEERS/bin/python" "$SHARED/gbdt_peers.py" "$DATA" --threads 2 --repeat 1 --only forust,perpetual --budgets 0.5
else
  echo "# forust/perpetual skipped: run $SHARED/setup_peers.sh gbdt (PEERS_VENV=$PEERS)" >&2
fi
# car_loan (the largest mixed-type set, 100k rows) without its id, timestamp, period and the
# monitored model's own outputs (y_pred, y_pred_proba: a leak of the target).
"$VENV/bin/python" -c 'import pandas as pd, sys; pd.read_csv("data/car_loan.csv").drop(columns=["id", "timestamp", "period", "y_pred", "y_pred_proba"]).to_csv(sys.argv[1], index=False)' "$DATA/car_loan_clean.csv"
for spec in data/adult.csv:income "$DATA/car_loan_clean.csv":repaid data/credit.csv:status data/housing.csv:med_house_val; do
  "$BIN/gbdt_real" "${spec%%:*}" "${spec##*:}" "$REPEAT"
  "$VENV/bin/python" bench/gbdt_real.py "${spec%%:*}" "${spec##*:}" --repeat "$REPEAT"
done
# The noisy table: train and test rows in one file, so gbdt_real's split (the last 20 % test)
# is gen_noisy.py's own.
NOISY=$DATA/noisy
if [ ! -f "$NOISY/noisy_clf_800k.parquet" ]; then
  "$VENV/bin/python" bench/gen_noisy.py "$NOISY" --rows 800000 --test 200000 >&2
  "$VENV/bin/python" -c 'import pandas as pd, sys; d = sys.argv[1]; pd.concat([pd.read_parquet(f"{d}/noisy_clf_{p}.parquet") for p in ("train", "test")], ignore_index=True).to_parquet(f"{d}/noisy_clf_800k.parquet", index=False)' "$NOISY"
fi
"$BIN/gbdt_real" "$NOISY/noisy_clf_800k.parquet" y "$REPEAT" native
"$VENV/bin/python" bench/gbdt_real.py "$NOISY/noisy_clf_800k.parquet" y --repeat "$REPEAT" --native-only
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
