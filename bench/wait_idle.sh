#!/usr/bin/env bash
# Waits until the CPUs have been at least 90 % idle for 5 seconds in a row (at most MAX_SECONDS,
# default 600), for benchmarks on a shared machine: BENCH_WAIT='bench/wait_idle.sh 300'.
# Usage: bench/wait_idle.sh [MAX_SECONDS]
max=${1:-600}
start=$(date +%s)
ok=0
while :; do
  read -r _ u n s i w _ < /proc/stat
  t1=$((u + n + s + i + w)); i1=$i
  sleep 1
  read -r _ u n s i w _ < /proc/stat
  t2=$((u + n + s + i + w)); i2=$i
  idle=$((100 * (i2 - i1) / (t2 - t1)))
  if [ "$idle" -ge 90 ]; then ok=$((ok + 1)); else ok=0; fi
  if [ "$ok" -ge 5 ]; then
    echo "idle after $(($(date +%s) - start)) s" >&2
    exit 0
  fi
  if [ $(($(date +%s) - start)) -ge "$max" ]; then
    echo "still busy after $max s (idle now $idle %); measuring anyway" >&2
    exit 0
  fi
done
