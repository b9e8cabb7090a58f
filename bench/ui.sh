#!/usr/bin/env bash
# The web UI side by side with MLflow's: 10,000 runs (10 params, 10 metrics each) and, for Smelt,
# one run with a 1,000,000-point metric history holding one spike. Both servers get the same
# runs through MLflow's REST API (tests/ui/seed.py); bench/ui_paint.py times them in headless
# Chromium. MLflow's 1M-point history is left out (its logging takes ~15 min here).
#
#   bench/ui.sh            # needs a release smelt ($CARGO_TARGET_DIR/release/smelt) and the
#                          # MLflow venv of scripts/test-mlflow-client (mlflow 3.17.2)
# RUNS=10000 POINTS=1000000 REPEATS=5 ONLY=smelt|mlflow
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10000}
POINTS=${POINTS:-1000000}
REPEATS=${REPEATS:-5}
SMELT=${SMELT_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}/release/smelt}
MLFLOW_VENV=${SMELT_MLFLOW_VENV:-$HOME/.cache/smelt-mlflow-venv}
UI_VENV=${SMELT_UI_VENV:-$HOME/.cache/smelt-ui-venv}
work=$(mktemp -d "${TMPDIR:-/tmp}/smelt-ui-bench.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
wait_up() { for _ in $(seq 600); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; return 1; }

if [[ ${ONLY:-smelt} == smelt || -z ${ONLY:-} ]]; then
  "$SMELT" server --backend-store-uri "sqlite:///$work/smelt.db" --artifacts-destination "file://$work/smelt-art" \
    --host 127.0.0.1 --port 5091 >"$work/smelt.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:5091
  t0=$(date +%s)
  seed=$(python3 tests/ui/seed.py http://127.0.0.1:5091 --runs "$RUNS" --long-history "$POINTS")
  echo "smelt: seeded in $(( $(date +%s) - t0 )) s: $seed" >&2
  exp=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bulk_experiment_id"])' "$seed")
  long=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["long_run_id"])' "$seed")
  echo "smelt $("$SMELT" --version 2>/dev/null | head -1):"
  "$UI_VENV/bin/python" bench/ui_paint.py --url http://127.0.0.1:5091 --kind smelt --experiment-id "$exp" \
    --newest "trial-$(printf %05d $((RUNS - 1)))" --long-run "$long" --repeats "$REPEATS"
fi
if [[ ${ONLY:-mlflow} == mlflow || -z ${ONLY:-} ]]; then
  "$MLFLOW_VENV/bin/mlflow" server --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/mlflow-art" \
    --host 127.0.0.1 --port 5092 --workers 1 >"$work/mlflow.log" 2>&1 &
  pids+=($!)
  wait_up http://127.0.0.1:5092
  t0=$(date +%s)
  seed=$(python3 tests/ui/seed.py http://127.0.0.1:5092 --runs "$RUNS")
  echo "mlflow: seeded in $(( $(date +%s) - t0 )) s" >&2
  exp=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bulk_experiment_id"])' "$seed")
  echo "mlflow $("$MLFLOW_VENV/bin/mlflow" --version):"
  "$UI_VENV/bin/python" bench/ui_paint.py --url http://127.0.0.1:5092 --kind mlflow --experiment-id "$exp" \
    --newest "trial-$(printf %05d $((RUNS - 1)))" --repeats "$REPEATS"
fi
