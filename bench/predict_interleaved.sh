#!/usr/bin/env bash
# Batch prediction, Smelt's engine and tl2cgen back to back, REPS times (issue 20 "Trees II"):
# on a shared machine one pass of bench/predict.sh says little, so this alternates the divan
# batch benches (binned layout and f64 walk, 100x31 LightGBM model and gradient boosting on the
# noisy table) with tl2cgen's compiled model on the same 200,000-row batch; take medians.
# Usage: bench/predict_interleaved.sh [THREADS] [REPS]      (needs the venv of bench/predict.sh)
# Env: PREDICT_BENCH (a built divan bench binary; else built with cargo's bench profile);
# PREDICT_BENCH_AVX512 (optional: a bench binary built with `--features avx512`, run each round
# too: its binned benches then take the AVX-512 walk).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
REPS=${2:-5}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
MODEL=crates/smelt-trees/tests/fixtures/bench_lgb_100x31.txt
BIN=${PREDICT_BENCH:-}
if [ -z "$BIN" ]; then
  BIN=$(cargo bench -q -p smelt-trees --bench predict --no-run --message-format=json \
    | "$VENV/bin/python" -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "predict" and m.get("executable"):
        print(m["executable"])')
fi
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(rustc --version)"
for i in $(seq "$REPS"); do
  echo "# rep $i $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  RAYON_NUM_THREADS=$THREADS "$BIN" --bench 'batch|noisy' --sample-count 10 | grep -E 'batch|noisy'
  if [ -n "${PREDICT_BENCH_AVX512:-}" ]; then
    echo "# avx512 build:"
    RAYON_NUM_THREADS=$THREADS "$PREDICT_BENCH_AVX512" --bench 'batch_200k$|noisy_gbdt_200k$' \
      --sample-count 10 | grep -E 'batch|noisy'
  fi
  "$VENV/bin/python" bench/predict_python.py "$MODEL" --threads "$THREADS" --only tl2cgen-batch --repeat 10
done
