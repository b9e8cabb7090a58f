#!/usr/bin/env bash
# Load benchmark of the Foundation issue, side by side in one run:
#   Smelt: file -> Dataset<f32> (800k x 28 train split, CSV and Parquet; the CSV also through polars
#          alone, `--polars`); `smelt data inspect` on the 1M-row CSV.
#   Reference: pandas read_csv (+ to_numpy), pyarrow read_parquet (+ to_numpy),
#              pandas read_csv + describe().
# Usage: bench/load.sh [DATA_DIR] [REPEAT]      (results: JSON lines on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-benchdata}
REPEAT=${2:-3}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn
fi
if [ ! -f "$DATA/clf_train.csv" ]; then
  "$VENV/bin/python" bench/gen_data.py "$DATA"
fi
if [ ! -f "$DATA/clf_full.csv" ]; then
  # The 1M-row table for inspect: train + test rows in one CSV.
  { cat "$DATA/clf_train.csv"; tail -n +2 "$DATA/clf_test.csv"; } > "$DATA/clf_full.csv"
fi
cargo build --release -q -p smelt-data --example load_dataset
cargo build --release -q -p smelt-cli --bin smelt
BIN=$(cd "$CARGO_TARGET_DIR" && pwd)/release
export RAYON_NUM_THREADS=2 POLARS_MAX_THREADS=2
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
"$VENV/bin/python" -c 'import pandas, pyarrow, numpy; print("# pandas", pandas.__version__, "pyarrow", pyarrow.__version__, "numpy", numpy.__version__)' >&2
for f in clf_train.csv clf_train.parquet; do
  for _ in $(seq "$REPEAT"); do "$BIN/examples/load_dataset" "$DATA/$f" --target y; done
done
# Smelt's CSV path before the fast reader (polars alone), for comparison.
for _ in $(seq "$REPEAT"); do "$BIN/examples/load_dataset" "$DATA/clf_train.csv" --target y --polars; done
for _ in $(seq "$REPEAT"); do
  /usr/bin/time -f '{"tool":"smelt_inspect","file":"'"$DATA"'/clf_full.csv","total_s":%e,"peak_rss_mib":%M}' \
    "$BIN/smelt" data inspect "$DATA/clf_full.csv" --json > /dev/null 2> /tmp/smelt-inspect-time
  tail -1 /tmp/smelt-inspect-time | awk -F'"peak_rss_mib":' '{printf "%s\"peak_rss_mib\":%.1f}\n", $1, $2/1024}'
done
"$VENV/bin/python" bench/load_python.py "$DATA" --repeat "$REPEAT" --threads 2
