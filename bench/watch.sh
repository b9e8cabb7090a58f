#!/usr/bin/env bash
# `smelt monitor watch` throughput (issue 17: keep up with 50,000 logged predictions a second on
# one core): 1M logged rows of a logistic regression trained on adult, in 100 Parquet files of
# 10,000 rows laid out as `smelt serve --log-dir` writes them (bench/watch_logs.py), the last
# quarter with age and hours_per_week + 10; `--once` reads and evaluates them all, pinned to one
# core (taskset, RAYON_NUM_THREADS=1, POLARS_MAX_THREADS=1). Prints wall time, rows/s and peak RSS.
# Usage: bench/watch.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
PY="$VENV/bin/python"
[ -x "$PY" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q numpy pandas pyarrow; }
cargo build -q --release -p smelt-cli
SMELT=$CARGO_TARGET_DIR/release/smelt
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export SMELT_NO_TRACK=1
"$SMELT" train data/adult.csv --target income --model logistic_regression --out "$OUT/model" >/dev/null 2>&1
"$PY" bench/watch_logs.py make data/adult.csv "$OUT/rows.parquet" "$ROWS"
"$SMELT" predict "$OUT/model" "$OUT/rows.parquet" --out "$OUT/pred.parquet" >/dev/null 2>&1
"$PY" bench/watch_logs.py logs "$OUT/rows.parquet" "$OUT/pred.parquet" "$OUT/logs"
for window in 10000 1h; do
  for i in 1 2 3; do
    RAYON_NUM_THREADS=1 POLARS_MAX_THREADS=1 /usr/bin/time -v taskset -c 0 "$SMELT" monitor watch --once \
      --logs "$OUT/logs" --model "$OUT/model" --name adult --window "$window" --no-track \
      >"$OUT/stdout.txt" 2>"$OUT/time.txt" || [ $? -eq 1 ] || { cat "$OUT/time.txt" >&2; exit 1; }
    awk -v rows="$ROWS" -v window="$window" -v alerts="$(grep -c '^ALERT' "$OUT/stdout.txt" || true)" '
      /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
      /Maximum resident set size/ { rss = $NF / 1024 }
      END { printf "{\"tool\": \"smelt monitor watch --once\", \"window\": \"%s\", \"rows\": %d, \"wall_s\": %.2f, \"rows_per_s\": %d, \"peak_rss_mib\": %d, \"alert_lines\": %d}\n", window, rows, wall, rows / wall, rss, alerts }
    ' "$OUT/time.txt"
  done
done
