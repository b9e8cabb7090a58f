#!/usr/bin/env bash
# `smelt serve` side by side with the Python model servers and a bare axum server, same model (LightGBM,
# 100 rounds, 31 leaves, fitted on 100k rows of the benchmark table), single-row requests driven by
# wrk (2 threads x 16 connections), then OIP v2 batches of 1,000 rows. Prints one line per server:
# throughput, p50/p99 latency, non-2xx answers, idle and loaded RSS, start-to-ready time.
#
#   bench/serve.sh [DURATION]            (default 15s per run)
#   ONLY=smelt,mlserver bench/serve.sh   (a subset: bare, smelt, fastapi, mlserver, bentoml, rf)
#   ONLY=none PAIRS=5 bench/serve.sh 8s  (bare axum and smelt /predict alternated 5 times: the ratio)
#
# Needs: the release binary and example (cargo build --release -p smelt-cli --bin smelt -p smelt-serve
# --example bare_axum), wrk (Debian package), the benchmark table (../shared/bench/gen_data.py
# /tmp/benchdata), venvs: ~/.cache/smelt-bench-venv (lightgbm), ~/.cache/smelt-serve-peers (fastapi,
# uvicorn, lightgbm), ~/.cache/smelt-mlserver (mlserver, mlserver-lightgbm), ~/.cache/smelt-bentoml
# (bentoml, lightgbm); a server whose venv is missing is skipped.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$ROOT/../shared/bench
DATA=${DATA:-/tmp/benchdata}
OUT=${OUT:-/tmp/serve-bench}
D=${1:-15s}
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=$TARGET/release/smelt
BARE=$TARGET/release/examples/bare_axum
C=$HOME/.cache
mkdir -p "$OUT"
ref=$("$C/smelt-bench-venv/bin/python" "$ROOT/bench/serve/prepare.py" "$DATA" "$OUT")
echo "model: $OUT/model.txt  reference: $ref"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t2 -c16 -d$D"
printf '%-28s %10s %9s %9s %8s %9s %9s %9s\n' server req/s p50_ms p99_ms non2xx idle_MiB load_MiB ready_s

run() { # name port ready_path req_path body -- cmd...
  local name=$1 port=$2 ready=$3 path=$4 body=$5
  shift 6
  local pidf=$OUT/$name.pid
  local start
  start=$(python3 "$SHARED/startup.py" "http://127.0.0.1:$port$ready" "$pidf" --timeout 180 -- "$@" |
    python3 -c 'import json,sys; print(round(json.loads(sys.stdin.read())["startup_s"],3))' || echo fail)
  if [[ $start == fail ]]; then echo "$name: did not start"; tail -5 "$pidf.log"; kill -- -"$(cat "$pidf")" 2>/dev/null || true; return; fi
  sleep 1
  local idle
  idle=$(python3 "$SHARED/procmem.py" "$(cat "$pidf")" | python3 -c 'import json,sys; print(round(json.loads(sys.stdin.read())["pss_mib_sum"],1))')
  curl -s -X POST -H 'content-type: application/json' ${HEADER_LEN:+-H "Inference-Header-Content-Length: $HEADER_LEN"} --data-binary @"$OUT/$body" "http://127.0.0.1:$port$path" | head -c 300 >"$OUT/$name.answer" || true # (head closes the pipe on a long answer)
  BODY_FILE=$OUT/$body REQ_PATH=$path wrk -t2 -c16 -d"$D" --latency -s "${LUA:-$SHARED/post.lua}" "http://127.0.0.1:$port" >"$OUT/$name.wrk" 2>&1
  local load
  load=$(python3 "$SHARED/procmem.py" "$(cat "$pidf")" | python3 -c 'import json,sys; print(round(json.loads(sys.stdin.read())["pss_mib_sum"],1))')
  python3 - "$OUT/$name.wrk" "$name" "$idle" "$load" "$start" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def ms(p):
    m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", t)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print(f"{sys.argv[2]:<28} {rps:>10.0f} {ms(50):>9.3f} {ms(99):>9.3f} {int(non2xx.group(1)) if non2xx else 0:>8} {sys.argv[3]:>9} {sys.argv[4]:>9} {sys.argv[5]:>9}")
PY
  kill -- -"$(cat "$pidf")" 2>/dev/null || true
  sleep 1
}

only=${ONLY:-}
want() { [[ -z $only || ,$only, == *,$1,* ]]; }
want bare && run bare-axum 8191 /health /predict/m predict.json -- "$BARE" 8191
want smelt && run smelt-predict 8192 /v2/health/ready /predict/m predict.json -- "$SMELT" serve "m=$OUT/model.txt" --port 8192
want smelt && run smelt-oip 8192 /v2/health/ready /v2/models/m/infer oip.json -- "$SMELT" serve "m=$OUT/model.txt" --port 8192
want smelt && run smelt-mlflow 8192 /v2/health/ready /invocations mlflow.json -- "$SMELT" serve "m=$OUT/model.txt" --port 8192
want smelt && run smelt-oip-1000-rows 8192 /v2/health/ready /v2/models/m/infer oip1000.json -- "$SMELT" serve "m=$OUT/model.txt" --port 8192
# The same rows as tritonclient sends them by default: the binary tensor extension (FP32 rows after a
# JSON header, probabilities back as binary). MLServer does not implement the extension.
want smelt && LUA=$ROOT/bench/serve/post_binary.lua HEADER_LEN=$(cat "$OUT/oip1000_bin.len") \
  run smelt-oip-1000-rows-binary 8192 /v2/health/ready /v2/models/m/infer oip1000_bin.body -- "$SMELT" serve "m=$OUT/model.txt" --port 8192
if want fastapi && [[ -x $C/smelt-serve-peers/bin/python ]]; then
  run fastapi 8193 /health /predict fastapi.json -- "$C/smelt-serve-peers/bin/python" "$ROOT/bench/serve/fastapi_lgbm.py" "$OUT/model.txt" 8193
fi
if want mlserver && [[ -x $C/smelt-mlserver/bin/mlserver ]]; then
  mkdir -p "$OUT/mlserver"
  cp "$OUT/model.txt" "$OUT/mlserver/model.txt"
  echo '{"name": "m", "implementation": "mlserver_lightgbm.LightGBMModel", "parameters": {"uri": "./model.txt", "version": "v1"}}' >"$OUT/mlserver/model-settings.json"
  # parallel_workers 0: MLServer's separate inference processes fail to load here ("There is no
  # current event loop in thread 'MainThread'"); scoring in the server process is also its
  # fastest setting for a model this cheap.
  echo '{"http_port": 8194, "grpc_port": 8294, "metrics_port": 8394, "parallel_workers": 0}' >"$OUT/mlserver/settings.json"
  run mlserver-oip 8194 /v2/models/m/ready /v2/models/m/infer oip.json -- "$C/smelt-mlserver/bin/mlserver" start "$OUT/mlserver"
  run mlserver-oip-1000-rows 8194 /v2/models/m/ready /v2/models/m/infer oip1000.json -- "$C/smelt-mlserver/bin/mlserver" start "$OUT/mlserver"
fi
if want bentoml && [[ -x $C/smelt-bentoml/bin/bentoml ]]; then
  (cd "$ROOT/bench/serve" && MODEL_TXT=$OUT/model.txt run bentoml 8195 /readyz /predict fastapi.json -- "$C/smelt-bentoml/bin/bentoml" serve bentoml_service:Lgbm --port 8195)
fi
# The issue's anchor model: a 100-tree random forest on the same 100k rows — scikit-learn's behind
# FastAPI (../shared/bench/serve_fastapi.py, which trains it), Smelt's own behind smelt serve
# (trained here with the same size; the two forests are equivalent, not identical).
if want rf && [[ -x $C/smelt-serve-peers/bin/python ]]; then
  if [[ ! -f $OUT/rf100-smelt/model.json ]]; then
    "$C/smelt-bench-venv/bin/python" -c "import pandas as pd, sys; pd.read_parquet(sys.argv[1]).iloc[:100_000].to_parquet(sys.argv[2])" \
      "$DATA/clf_train.parquet" "$OUT/rf_train.parquet"
    "$SMELT" train "$OUT/rf_train.parquet" --target y --model random_forest_classifier -p n_estimators=100 \
      --valid 0 --out "$OUT/rf100-smelt" --no-track >/dev/null
  fi
  run smelt-rf100 8196 /v2/health/ready /predict/rf predict.json -- "$SMELT" serve "rf=$OUT/rf100-smelt" --port 8196
  cp "$OUT/rf_train.parquet" "$OUT/clf_train.parquet" 2>/dev/null || true
  run fastapi-sklearn-rf100 8198 /health /predict rf100_request.json -- "$C/smelt-serve-peers/bin/python" "$SHARED/serve_fastapi.py" "$OUT" 8198
fi
# The ratio to bare axum from alternated runs: this VM's speed drifts by ±10 % within minutes, so
# one bare run then one smelt run measures the drift as much as the server. PAIRS=N runs bare
# axum and `smelt serve` /predict N times each, alternately, and prints each pair's ratio and
# their median.
if [[ ${PAIRS:-0} -gt 0 ]]; then
  ratios=()
  for i in $(seq "$PAIRS"); do
    b=$(run bare-axum 8191 /health /predict/m predict.json -- "$BARE" 8191 | tee /dev/stderr | awk '{print $2}')
    s=$(run smelt-predict 8192 /v2/health/ready /predict/m predict.json -- "$SMELT" serve "m=$OUT/model.txt" --port 8192 | tee /dev/stderr | awk '{print $2}')
    ratios+=("$(python3 -c "print(round($s / $b, 3))")")
  done
  echo "smelt /predict ÷ bare axum, alternated pairs: ${ratios[*]}; median $(printf '%s\n' "${ratios[@]}" | sort -n | python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.stdin))')"
fi
