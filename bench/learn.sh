#!/usr/bin/env bash
# Classical ML benchmark (issue "Classical ML I"), side by side in one run, 2 threads each:
#   LogisticRegression fit (1M x 28, lbfgs, equal log-loss), PCA(10) fit (1M x 28),
#   KMeans(k=8) fit (200k x 28), kNN predict (10k queries vs 200k rows).
# Usage: bench/learn.sh [DATA_DIR] [REPEAT]      (results: JSON lines on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-benchdata}
REPEAT=${2:-3}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn threadpoolctl
fi
if [ ! -f "$DATA/clf_train.csv" ]; then
  "$VENV/bin/python" bench/gen_data.py "$DATA"
fi
if [ ! -f "$DATA/clf_full.csv" ]; then
  { cat "$DATA/clf_train.csv"; tail -n +2 "$DATA/clf_test.csv"; } > "$DATA/clf_full.csv"
fi
cargo build --release -q -p smelt-cli --example learn_bench
BIN=$(cd "$CARGO_TARGET_DIR" && pwd)/release/examples/learn_bench
export RAYON_NUM_THREADS=2 POLARS_MAX_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
"$VENV/bin/python" -c 'import sklearn, numpy, scipy; print("# scikit-learn", sklearn.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__)' >&2
"$BIN" "$DATA" "$REPEAT"
"$VENV/bin/python" bench/learn_python.py "$DATA" --repeat "$REPEAT" --threads 2
