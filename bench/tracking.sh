#!/usr/bin/env bash
# Tracking-server benchmark (issue 6 "Performance"), side by side in one run on one machine:
# `smelt server` (release build) vs `mlflow server` on SQLite (--workers 1 and the default 4 workers),
# FastTrackML (`fml server`) and mlflow-go-backend (`mlflow-go server`), each on a new SQLite database.
# For each server in turn:
#   1. ../shared/bench/tracking_peers.py: start -> ready on a new and an existing database, idle RSS/PSS after
#      5 s, then ../shared/bench/tracking.py through the official mlflow client (log_metric calls/s, log_batch
#      points/s, 1,000-run search latency) with the server's CPU seconds and the CPU other processes used
#      meanwhile (foreign_cpu_s);
#   2. bench/tracking_load.py: native capacity with wrk + bench/tracking_load.lua (log-batch bodies of 100
#      points and log-metric bodies, new steps in every request, loopback, -t2 -c16 -d15s), the server's CPU
#      per point and the points it really stored (get-history); then search_runs "metrics.auc > 0.9",
#      max_results 1000, over 10,000 runs (median of 10, through the mlflow client).
# Prints the JSON lines and, at the end, a summary table (bench/tracking_load.py summary).
# Usage: bench/tracking.sh [SERVER...]     servers: smelt mlflow-w1 mlflow fml mlflowgo (default: all)
# Env: OUT (results folder, default /tmp/smelt-bench-tracking), SMALL/LARGE/STARTS (tracking_peers.py
#      repetitions, default 0/1/3), DURATION (wrk seconds, 15), SEARCH_RUNS (10000), SMELT_BIN (skip the build),
#      SEED_DB (reuse a search seed database from an earlier run), TRACK_TIMEOUT (tracking.py limit, s, 900),
#      SMELT_MLFLOW_VENV (the mlflow client, default ~/.cache/smelt-mlflow-venv), FML_VENV, MLFLOWGO_VENV.
# Needs: wrk (Debian package `wrk`), python3, network access for the first pip installs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SMELT_SHARED_BENCH:-$ROOT/../../shared/bench}
[[ -f $SHARED/tracking_peers.py ]] || SHARED=$ROOT/../shared/bench
[[ -f $SHARED/tracking_peers.py ]] || { echo "tracking.sh: ../shared/bench not found (set SMELT_SHARED_BENCH)" >&2; exit 1; }
export SMELT_SHARED_BENCH=$SHARED
OUT=${OUT:-/tmp/smelt-bench-tracking}
SMALL=${SMALL:-0} LARGE=${LARGE:-1} STARTS=${STARTS:-3} DURATION=${DURATION:-15} SEARCH_RUNS=${SEARCH_RUNS:-10000}
SERVERS=("$@")
((${#SERVERS[@]})) || SERVERS=(smelt mlflow-w1 mlflow fml mlflowgo)
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl

command -v wrk >/dev/null || { echo "tracking.sh: wrk not found (apt-get install wrk)" >&2; exit 1; }

# ------------------------------------------------------------------ client venv, peers, smelt build
MLF=${SMELT_MLFLOW_VENV:-$HOME/.cache/smelt-mlflow-venv}
if [[ ! -x $MLF/bin/mlflow ]]; then
  python3 -m venv "$MLF"
  "$MLF/bin/pip" install -q -r tests/mlflow_client/requirements.txt
fi
PY=$MLF/bin/python
need() { for s in "${SERVERS[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }
if need fml; then FML=$(FML_VENV=${FML_VENV:-/tmp/fmlvenv} "$SHARED/setup_peers.sh" fml | tail -1); fi
if need mlflowgo; then MLFGO=$(MLFLOWGO_VENV=${MLFLOWGO_VENV:-/tmp/mlfgovenv} "$SHARED/setup_peers.sh" mlflowgo | tail -1); fi
if need smelt && [[ -z ${SMELT_BIN:-} ]]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
  cargo build -q --release -p smelt-cli --bin smelt
  SMELT_BIN=$CARGO_TARGET_DIR/release/smelt
fi

{
  echo "{\"task\": \"machine\", \"cores\": $(nproc), \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\", \"mem_gib\": $(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo), \"date\": \"$(date -u +%FT%TZ)\"}"
  echo "{\"task\": \"versions\", \"smelt\": \"$(git rev-parse --short HEAD)\", \"rustc\": \"$(rustc --version)\", \"mlflow\": \"$("$PY" -c 'import mlflow; print(mlflow.__version__)')\", \"python\": \"$("$PY" -c 'import sys; print(sys.version.split()[0])')\", \"fml\": \"$([[ -n ${FML:-} ]] && "$FML/bin/fml" --version 2>&1 | head -1)\", \"mlflow_go_backend\": \"$([[ -n ${MLFGO:-} ]] && "$MLFGO/bin/pip" show mlflow-go-backend 2>/dev/null | awk '/^Version/ {print $2}')\", \"wrk\": \"$(wrk -v 2>&1 | head -1 | cut -c1-40)\"}"
} | tee -a "$RESULTS"

# ------------------------------------------------------------------ one server at a time
# Command templates: {port} and {workdir} are filled in by the Python drivers.
server_cmd() {
  case $1 in
    smelt) CMD=("$SMELT_BIN" server --backend-store-uri "sqlite:///{workdir}/db.sqlite"
      --artifacts-destination "{workdir}/artifacts" --host 127.0.0.1 --port "{port}") ;;
    mlflow-w1) CMD=("$MLF/bin/mlflow" server --backend-store-uri "sqlite:///{workdir}/db.sqlite"
      --artifacts-destination "{workdir}/artifacts" --host 127.0.0.1 --port "{port}" --workers 1) ;;
    mlflow) CMD=("$MLF/bin/mlflow" server --backend-store-uri "sqlite:///{workdir}/db.sqlite"
      --artifacts-destination "{workdir}/artifacts" --host 127.0.0.1 --port "{port}") ;;
    fml) CMD=("$FML/bin/fml" server --database-uri "sqlite://{workdir}/db.sqlite"
      --default-artifact-root "{workdir}/artifacts" --listen-address "127.0.0.1:{port}") ;;
    # mlflow-go starts `mlflow` (the Python half) from PATH.
    mlflowgo) CMD=(env "PATH=$MLFGO/bin:$PATH" "$MLFGO/bin/mlflow-go" server --backend-store-uri "sqlite:///{workdir}/db.sqlite"
      --artifacts-destination "{workdir}/artifacts" --host 127.0.0.1 --port "{port}" --workers 1) ;;
    *) echo "tracking.sh: unknown server '$1'" >&2; exit 2 ;;
  esac
}

# The 10,000 search runs for the MLflow-schema servers (mlflow, mlflow-go) are written once through MLflow's own
# store and copied into each one's new database; smelt and FastTrackML get them over HTTP.
SEED=${SEED_DB:-}
if [[ -z ${SEED_DB:-} ]] && { need mlflow-w1 || need mlflow || need mlflowgo; }; then
  SEED=$OUT/search-seed.sqlite
  rm -f "$SEED"
  "$PY" bench/tracking_load.py seed-mlflow "$SEED" "$SEARCH_RUNS" 2>/dev/null | tee -a "$RESULTS"
fi

port=5181
for s in "${SERVERS[@]}"; do
  seed=()
  [[ $s == mlflow* ]] && seed=(--seed-db "$SEED")
  server_cmd "$s"
  echo "# $s: ${CMD[*]}" >&2
  "$PY" "$SHARED/tracking_peers.py" "$s" "$OUT/$s-peers" "$port" /health --client "$PY" \
    --track-timeout "${TRACK_TIMEOUT:-900}" \
    --starts "$STARTS" --small "$SMALL" --large "$LARGE" -- "${CMD[@]}" | tee -a "$RESULTS" ||
    echo "{\"server\": \"$s\", \"task\": \"tracking_peers_failed\"}" | tee -a "$RESULTS"
  port=$((port + 1))
  "$PY" bench/tracking_load.py "$s" "$OUT/$s-load" "$port" /health --duration "$DURATION" \
    --search-runs "$SEARCH_RUNS" "${seed[@]}" -- "${CMD[@]}" | tee -a "$RESULTS" ||
    echo "{\"server\": \"$s\", \"task\": \"tracking_load_failed\"}" | tee -a "$RESULTS"
  port=$((port + 1))
done

"$PY" bench/tracking_load.py summary "$RESULTS"
