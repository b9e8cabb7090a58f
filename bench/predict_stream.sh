#!/usr/bin/env bash
# Batch scoring benchmark (serving issue, "Batch scoring"): `smelt predict MODEL FILE --out`
# (release build; the table scored chunk by chunk, the output written atomically) against
# LightGBM's in-process predict doing the same job (read the Parquet table, predict, write the
# predictions as Parquet) with the same model: the 100-tree x 31-leaf LightGBM model of
# bench/predict.sh, imported with `smelt import`. Then peak memory on a 10x larger table, as
# Parquet and as CSV, to show that memory does not grow with the file.
# Usage: bench/predict_stream.sh [DATA_DIR] [THREADS] [REPEAT]   (ONLY_ONNX=1: the 1M-row pairs
# and the onnxruntime runs only)
# On a shared machine, BENCH_WAIT='cmd' runs cmd before each measurement (e.g. a script that
# waits until the CPUs are idle).
set -euo pipefail
WAIT=${BENCH_WAIT:-true}
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-stream-bench}
THREADS=${2:-2}
REPEAT=${3:-3}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
export RAYON_NUM_THREADS=$THREADS POLARS_MAX_THREADS=$THREADS
MODEL_TXT=crates/smelt-trees/tests/fixtures/bench_lgb_100x31.txt
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas pyarrow scikit-learn lightgbm==4.7.0
fi
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB" >&2
echo "# $(rustc --version); $("$PY" -c 'import lightgbm, pyarrow, numpy; print("lightgbm", lightgbm.__version__, "pyarrow", pyarrow.__version__, "numpy", numpy.__version__)')" >&2
cargo build -q --release -p smelt-cli
SMELT=$CARGO_TARGET_DIR/release/smelt
# ONLY_ONNX=1 needs only the 1M-row table (and stops after the onnxruntime runs).
if [ -z "${ONLY_ONNX:-}" ] || [ ! -f "$DATA/score_1m.parquet" ]; then
  [ -f "$DATA/score_20m.parquet" ] || "$PY" bench/predict_stream_python.py gen "$DATA"
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SMELT_NO_TRACK=1 "$SMELT" import "$MODEL_TXT" --out "$OUT/model" >/dev/null

# One `smelt` run under /usr/bin/time -v: a JSON line with wall time and peak RSS.
timed() {
  local label=$1
  shift
  /usr/bin/time -v "$@" 2>"$OUT/time.txt" >/dev/null || { cat "$OUT/time.txt" >&2; exit 1; }
  awk -v label="$label" '
    /wrote .* predictions/ { line = $0 }
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
    /Maximum resident set size/ { rss = $NF / 1024 }
    END { printf "{\"tool\": \"smelt\", \"task\": \"%s\", \"wall_s\": %.3f, \"peak_rss_mib\": %d, \"says\": \"%s\"}\n", label, wall, rss, line }
  ' "$OUT/time.txt"
}

echo "## 1M rows x 28, Parquet -> Parquet, $THREADS threads: $REPEAT pairs, Smelt then LightGBM" >&2
for i in $(seq "$REPEAT"); do
  $WAIT
  timed "1m parquet" "$SMELT" predict "$OUT/model" "$DATA/score_1m.parquet" --threads "$THREADS" --out "$OUT/smelt_1m.parquet"
  "$PY" bench/predict_stream_python.py lightgbm "$MODEL_TXT" "$DATA/score_1m.parquet" "$OUT/lgbm_1m.parquet" --threads "$THREADS" --repeat 1
done
"$PY" bench/predict_stream_python.py check "$OUT/smelt_1m.parquet" "$OUT/lgbm_1m.parquet"

# onnxruntime in process on the same model: the LightGBM file converted by onnxmltools (float
# input, float32 thresholds: the usual ONNX path), and Smelt's own export of the imported model
# (`smelt export`, one double input per column), then Smelt scoring that exported file.
echo "## 1M rows: onnxruntime (onnxmltools graph, then smelt export's graph), smelt predict on the .onnx" >&2
"$SMELT" export "$OUT/model" --format onnx --out "$OUT/model.onnx" >&2
for i in $(seq "$REPEAT"); do
  $WAIT
  "$PY" bench/predict_stream_python.py onnxruntime "$MODEL_TXT" "$DATA/score_1m.parquet" "$OUT/ort_1m.parquet" --threads "$THREADS" --repeat 1
done
"$PY" bench/predict_stream_python.py check "$OUT/ort_1m.parquet" "$OUT/lgbm_1m.parquet"
$WAIT
"$PY" bench/predict_stream_python.py onnxruntime "$OUT/model.onnx" "$DATA/score_1m.parquet" "$OUT/ort_smelt_1m.parquet" --threads "$THREADS" --repeat 1
"$PY" bench/predict_stream_python.py check "$OUT/ort_smelt_1m.parquet" "$OUT/lgbm_1m.parquet"
$WAIT
timed "1m parquet, the exported .onnx" "$SMELT" predict "$OUT/model.onnx" "$DATA/score_1m.parquet" --threads "$THREADS" --out "$OUT/smelt_onnx_1m.parquet"
if [ -n "${ONLY_ONNX:-}" ]; then exit 0; fi
echo "## whole table at once (standard output, CSV), for comparison" >&2
$WAIT
timed "1m parquet -> stdout" "$SMELT" predict "$OUT/model" "$DATA/score_1m.parquet" --threads "$THREADS"

echo "## 10M and 20M rows: memory" >&2
$WAIT
timed "10m parquet" "$SMELT" predict "$OUT/model" "$DATA/score_10m.parquet" --threads "$THREADS" --out "$OUT/smelt_10m.parquet"
$WAIT
timed "20m parquet" "$SMELT" predict "$OUT/model" "$DATA/score_20m.parquet" --threads "$THREADS" --out "$OUT/smelt_20m.parquet"
$WAIT
timed "10m csv" "$SMELT" predict "$OUT/model" "$DATA/score_10m.csv" --threads "$THREADS" --out "$OUT/smelt_10m.parquet"
$WAIT
timed "10m csv -> csv" "$SMELT" predict "$OUT/model" "$DATA/score_10m.csv" --threads "$THREADS" --out "$OUT/smelt_10m.csv"
$WAIT
"$PY" bench/predict_stream_python.py lightgbm "$MODEL_TXT" "$DATA/score_10m.parquet" "$OUT/lgbm_10m.parquet" --threads "$THREADS" --repeat 1
ls -l "$DATA"/score_1m.parquet "$DATA"/score_10m.parquet "$DATA"/score_20m.parquet "$DATA"/score_10m.csv >&2
