#!/usr/bin/env bash
# Random forest benchmark (issue "Trees and ensembles"), side by side in one run, 2 threads each:
#   RandomForestClassifier, 100 trees, max_features "sqrt", fully grown, on the first 200k rows
#   of the 1M x 28 benchmark table; fit time (wall and CPU) and test ROC AUC (200k rows).
# Usage: bench/forest.sh [DATA_DIR] [N_TREES]      (results: JSON lines on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-benchdata}
TREES=${2:-100}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn threadpoolctl
fi
if [ ! -f "$DATA/clf_train.csv" ]; then
  "$VENV/bin/python" bench/gen_data.py "$DATA"
fi
cargo build --release -q -p smelt-trees --example forest_bench
BIN=$(cd "$CARGO_TARGET_DIR" && pwd)/release/examples/forest_bench
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$VENV/bin/python" -c 'import sklearn, numpy; print("# scikit-learn", sklearn.__version__, "numpy", numpy.__version__)' >&2
"$BIN" "$DATA" "$TREES"
"$VENV/bin/python" bench/forest_python.py "$DATA" --threads 2 --trees "$TREES"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
