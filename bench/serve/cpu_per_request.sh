#!/usr/bin/env bash
# One server under wrk (2 threads x 16 connections) on port 8199: its throughput, p99, the
# server's own CPU time per answered request (utime + stime from /proc/PID/stat) and, for
# `smelt serve`, its first scoring thread's (/proc/PID/task/TID/stat). Used to compare
# two builds or two settings of one build side by side, alternating runs:
#
#   bench/serve/cpu_per_request.sh /predict/m /tmp/serve-bench/predict.json -- \
#     "$CARGO_TARGET_DIR/release/smelt" serve m=/tmp/serve-bench/model.txt --port 8199 --http-threads 1
#
# D=6s sets the duration (default 8s). The request bodies are the ones bench/serve.sh writes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
path=$1 body=$2
shift 3
"$@" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1.5
# The first scoring thread (`score-MODEL-0`), when the server has one: its own CPU per request.
tid=
for t in /proc/$pid/task/*; do
  if grep -q '^score-' "$t/comm" 2>/dev/null; then tid=${t##*/}; break; fi
done
cpu_of() { awk '{print $14 + $15}' "$1"; }
s0=0; [[ -n $tid ]] && s0=$(cpu_of "/proc/$pid/task/$tid/stat")
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
out=$(BODY_FILE=$body REQ_PATH=$path wrk -t2 -c16 -d"${D:-8s}" --latency -s "$ROOT/../shared/bench/post.lua" http://127.0.0.1:8199)
t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
s1=0; [[ -n $tid ]] && s1=$(cpu_of "/proc/$pid/task/$tid/stat")
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
n=$(echo "$out" | awk '/requests in/{print $1}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
ticks=$(getconf CLK_TCK)
line="rps=$rps p99=$p99 cpu_us_per_req=$(python3 -c "print(round(($t1 - $t0) * 1e6 / $ticks / $n, 1))")"
[[ -n $tid ]] && line+=" scorer_us_per_req=$(python3 -c "print(round(($s1 - $s0) * 1e6 / $ticks / $n, 1))")"
echo "$line"
