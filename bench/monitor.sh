#!/usr/bin/env bash
# Monitoring benchmark (issue 17, "Performance"): a drift report on 1M x 28 reference against
# 1M x 28 current (the benchmark table, f0..f13 shifted by 0.25 sd), Smelt's whole
# `smelt monitor report` process (read both Parquet files, drift of every column, quality checks,
# the PCA reconstruction error, the HTML report and its JSON twin) against Evidently's
# DataDriftPreset run + dict + save_html on frames already in memory. Peak memory: Smelt's
# whole process (/usr/bin/time -v), Evidently's VmHWM in its process.
# Usage: bench/monitor.sh [BENCH_DATA_DIR] [ROWS] [REPEAT]
# Evidently runs in its own venv (it needs pandas < 3): EVIDENTLY_VENV, default
# ~/.cache/smelt-evidently-venv (made with evidently 0.7.21, as tools/fixtures/monitor_evidently.py).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/benchdata}
ROWS=${2:-1000000}
REPEAT=${3:-3}
VENV=${EVIDENTLY_VENV:-$HOME/.cache/smelt-evidently-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q evidently==0.7.21 "pandas<3" pyarrow
fi
[ -f "$DATA/clf_train.parquet" ] || { echo "no $DATA/clf_train.parquet: run ../shared/bench's data script first" >&2; exit 1; }
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB" >&2
echo "# $(rustc --version); $("$PY" -c 'import evidently, pandas, numpy; print("evidently", evidently.__version__, "pandas", pandas.__version__, "numpy", numpy.__version__)')" >&2
cargo build -q --release -p smelt-cli
SMELT=$CARGO_TARGET_DIR/release/smelt
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$PY" bench/monitor_python.py gen "$DATA" "$OUT" --rows "$ROWS" >&2

# Two Smelt runs: the default report (drift, quality and the PCA reconstruction error), and the
# same without the multivariate score (what Evidently's DataDriftPreset computes).
printf '[multivariate]\nreconstruction = false\n' >"$OUT/drift_only.toml"
for i in $(seq "$REPEAT"); do
  for variant in default drift_only; do
    extra=()
    [ "$variant" = drift_only ] && extra=(--config "$OUT/drift_only.toml")
    /usr/bin/time -v "$SMELT" monitor report --reference "$OUT/ref.parquet" --current "$OUT/cur.parquet" \
      --report "$OUT/smelt.html" "${extra[@]}" 2>"$OUT/time.txt" >"$OUT/stdout.txt" || [ $? -eq 1 ] || { cat "$OUT/time.txt" >&2; exit 1; }
    awk -v rows="$ROWS" -v variant="$variant" -v summary="$(head -1 "$OUT/stdout.txt")" '
      /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
      /Maximum resident set size/ { rss = $NF / 1024 }
      END { printf "{\"tool\": \"smelt\", \"variant\": \"%s\", \"rows\": %d, \"wall_s\": %.2f, \"peak_rss_mib\": %d, \"says\": \"%s\"}\n", variant, rows, wall, rss, summary }
    ' "$OUT/time.txt"
  done
done
"$PY" bench/monitor_python.py evidently "$OUT" --repeat "$REPEAT"
