#!/usr/bin/env bash
# The serving issue's saturation test, on the release binary: `smelt serve` with the benchmark's
# LightGBM model (bench/serve.sh prepares it) driven at saturation for DURATION by wrk with good
# single-row requests (2 threads x 16 connections) while a second wrk sends malformed requests
# (1 thread x 4 connections). Good requests must all answer 2xx, bad ones all 4xx, and the
# server's memory must stay bounded: its RSS is sampled every second.
#
#   bench/serve_saturation.sh [DURATION]      (default 60s)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/serve-bench}
D=${1:-60s}
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=$TARGET/release/smelt
PORT=8199
[[ -f $OUT/model.txt && -f $OUT/predict.json ]] || { echo "run bench/serve.sh first (it prepares $OUT)" >&2; exit 1; }
"$SMELT" serve "m=$OUT/model.txt" --port $PORT >"$OUT/saturation.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status"; }
echo "idle RSS: $(rss) MiB"
( while kill -0 $pid 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 1; done ) >"$OUT/saturation.rss" &
sampler=$!
BAD=1 REQ_PATH=/predict/m wrk -t1 -c4 -d"$D" -s "$ROOT/bench/serve/status.lua" "http://127.0.0.1:$PORT" >"$OUT/saturation.bad" 2>&1 &
badwrk=$!
BODY_FILE=$OUT/predict.json REQ_PATH=/predict/m wrk -t2 -c16 -d"$D" --latency -s "$ROOT/bench/serve/status.lua" "http://127.0.0.1:$PORT" >"$OUT/saturation.good" 2>&1
wait $badwrk
kill $sampler 2>/dev/null || true
grep -E 'Requests/sec|^\{' "$OUT/saturation.good" "$OUT/saturation.bad"
sort -k2 -n "$OUT/saturation.rss" | awk 'NR == 1 {min = $2} {max = $2} END {printf "RSS during the run: %.1f to %.1f MiB\n", min, max}'
awk '{print $2}' "$OUT/saturation.rss" | tr '\n' ' ' | fold -w 200; echo
echo "RSS after: $(rss) MiB"
