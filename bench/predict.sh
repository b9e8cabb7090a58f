#!/usr/bin/env bash
# Tree-ensemble prediction benchmark (issue "tree inference engine"), side by side in one run:
# Smelt's engine (divan bench crates/smelt-trees/benches/predict.rs) vs LightGBM and, when
# installed, treelite (GTIL interpreter and tl2cgen compiled C) on the same 100-tree x 31-leaf
# LightGBM model: single-row latency (1 thread) and a 200,000-row batch (THREADS threads). The
# divan bench also times the batch through the previous f64 walk and Smelt's gradient boosting
# on a noisy table with categoricals; bench/predict_interleaved.sh repeats the batches beside
# tl2cgen for a loaded machine.
# Usage: bench/predict.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
MODEL=crates/smelt-trees/tests/fixtures/bench_lgb_100x31.txt
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy lightgbm==4.7.0 treelite tl2cgen
fi
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "# $(rustc --version)" >&2
cargo bench -q -p smelt-trees --bench predict --no-run
RAYON_NUM_THREADS=$THREADS cargo bench -q -p smelt-trees --bench predict
"$VENV/bin/python" bench/predict_python.py "$MODEL" --threads "$THREADS"
