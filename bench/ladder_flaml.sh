#!/usr/bin/env bash
# The baseline ladder against FLAML (issue 14, goal 4): `smelt ladder` and FLAML's AutoML on the
# same training rows of the adult data (2/3, stratified, seed 0: 32,561 rows), each with the same
# time budget, then both best models scored on the same held-out third by ROC-AUC; and how long
# the ladder's HTML report takes to open in headless Chromium.
# Usage: bench/ladder_flaml.sh [BUDGET_SECONDS] [OUT_DIR]     (results: JSON lines on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-120}
OUT=${2:-/tmp/smelt-ladder-flaml}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
cargo build --release -q -p smelt-cli
SMELT=$CARGO_TARGET_DIR/release/smelt
"$VENV/bin/python" -c 'import flaml' 2>/dev/null || "$VENV/bin/pip" install -q flaml
mkdir -p "$OUT"
export SMELT_NO_TRACK=1
"$SMELT" data split data/adult.csv --schema examples/adult.schema.toml --strategy stratified \
  --test 0.3333 --seed 0 --out "$OUT/split" --overwrite >&2
t0=$(date +%s.%N)
"$SMELT" ladder "$OUT/split/train.csv" --schema examples/adult.schema.toml --metric roc_auc \
  --budget "${BUDGET}s" --threads 2 --out "$OUT/ladder-model" --report "$OUT/ladder.html" --json \
  > "$OUT/ladder.json"
t1=$(date +%s.%N)
"$SMELT" eval "$OUT/ladder-model" "$OUT/split/test.csv" --schema examples/adult.schema.toml \
  --report "$OUT/eval.html" --json > "$OUT/eval.json"
python3 - "$OUT" "$(echo "$t1 - $t0" | bc)" <<'PY'
import json, sys
out, secs = sys.argv[1], float(sys.argv[2])
lad = json.load(open(f"{out}/ladder.json"))
ev = json.load(open(f"{out}/eval.json"))
print(json.dumps({"tool": "smelt", "best_rung": lad["meta"].get("Best rung"), "seconds": round(secs, 1),
                  "test_auc": (ev.get("metrics") or ev["data"]["metrics"])["roc_auc"]}))
PY
"$VENV/bin/python" bench/ladder_flaml.py "$OUT/split/train.csv" "$OUT/split/test.csv" \
  --budget "$BUDGET" --threads 2
# Opening the report: headless Chromium, load to the screenshot, timed whole.
if command -v chromium >/dev/null; then
  t0=$(date +%s.%N)
  chromium --headless --no-sandbox --disable-gpu --window-size=1280,2000 \
    --screenshot="$OUT/ladder.png" "file://$OUT/ladder.html" >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "{\"tool\": \"chromium\", \"task\": \"open the ladder report and screenshot it\", \"seconds\": $(echo "$t1 - $t0" | bc), \"report_bytes\": $(stat -c %s "$OUT/ladder.html")}"
fi
