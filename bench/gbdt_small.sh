#!/usr/bin/env bash
# Small real tables, Smelt vs LightGBM, interleaved (issue 20, "Trees II"): fits of 100 rounds,
# 31 leaves, lr 0.1, max_bin 255 on credit and housing (the gbdt_real / gbdt_real.py pair of
# bench/gbdt.sh), at 2 threads each and at 1 thread each, ROUNDS times in turn so both tools see
# the same load; each line carries the load average before and after its pair of runs.
# On a shared machine, read the 1-thread lines first: LightGBM's OpenMP threads spin-wait and its
# 2-thread time collapses when another process holds a core (0.1 s -> 0.4-4 s on housing).
# Usage: bench/gbdt_small.sh [ROUNDS] [REPEAT]      (results: JSON lines on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REPEAT=${2:-7}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
cargo build --release -q -p smelt-cli --example gbdt_real
BIN=$(cd "$CARGO_TARGET_DIR" && pwd)/release/examples
export POLARS_MAX_THREADS=2 OPENBLAS_NUM_THREADS=2
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
load() { cut -d' ' -f1 /proc/loadavg; }
for _ in $(seq "$ROUNDS"); do
  for spec in data/credit.csv:status data/housing.csv:med_house_val; do
    for threads in 2 1; do
      before=$(load)
      smelt=$(RAYON_NUM_THREADS=$threads "$BIN/gbdt_real" "${spec%%:*}" "${spec##*:}" "$REPEAT" native)
      lgbm=$(OMP_NUM_THREADS=$threads "$VENV/bin/python" bench/gbdt_real.py "${spec%%:*}" "${spec##*:}" \
        --repeat "$REPEAT" --threads "$threads" --native-only)
      echo "{\"threads\":$threads,\"load\":[$before,$(load)],\"smelt\":$smelt,\"lightgbm\":$lgbm}"
    done
  done
done
