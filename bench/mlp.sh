#!/usr/bin/env bash
# MLP epoch time, Smelt (candle) beside PyTorch CPU, 2 threads each (issue 18's goal: ≤ 1.0×
# PyTorch's epoch): 28 → 256 → ReLU → 128 → ReLU → output, Adam(lr 1e-3), batch 1024, float32,
# on bench/gen_data.py's 800,000 × 28 training table. PyTorch: bench/mlp_torch.py (a copy of
# ../shared/bench/mlp_torch.py; one logit, BCEWithLogits; "slice" = shuffled index, batches cut
# from in-memory tensors; "dataloader" = DataLoader(TensorDataset, shuffle=True)). Smelt:
# `smelt train --model mlp_classifier` (two logits, softmax cross-entropy; standardised inputs;
# batches gathered on a loader thread), epoch times from the model's history.
# Usage: bench/mlp.sh [DATA_DIR] [EPOCHS]     (results: JSON lines on stdout)
# Env: SMELT_BIN (a release smelt; built when absent), TORCH_VENV (torch, numpy, pyarrow:
# ../shared/bench/setup_extra.sh torch), BENCH_VENV (for gen_data.py).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/benchdata}
EPOCHS=${2:-3}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
TORCH=${TORCH_VENV:-$HOME/.cache/smelt-bench-torch}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=${SMELT_BIN:-$CARGO_TARGET_DIR/release/smelt}
[[ -x $SMELT ]] || cargo build --release -q -p smelt-cli --bin smelt
[[ -f $DATA/clf_train.parquet ]] || "$VENV/bin/python" bench/gen_data.py "$DATA" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 SMELT_NO_TRACK=1
echo "# machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $("$SMELT" --version | head -1)" >&2
"$SMELT" train "$DATA/clf_train.parquet" --target y --model mlp_classifier --valid 0 \
  -p hidden_layer_sizes='[256,128]' -p early_stopping=false --epochs "$EPOCHS" --batch-size 1024 \
  --out "$work/model" >/dev/null
"$SMELT" predict "$work/model" "$DATA/clf_test.parquet" --out "$work/pred.parquet" >/dev/null
"$TORCH/bin/python" - "$work/model/model.json" "$DATA/clf_test.parquet" "$work/pred.parquet" <<'PY'
import json, statistics, sys
import numpy as np, pyarrow.parquet as pq
m = json.load(open(sys.argv[1]))
h = m["model"]["model"]["history"]
y = pq.read_table(sys.argv[2]).column("y").to_numpy().astype(np.float64)
p = pq.read_table(sys.argv[3])
s = p.column([c for c in p.column_names if c.startswith("proba_")][-1]).to_numpy()
o = np.argsort(s, kind="stable"); ys = y[o]; npos = ys.sum(); nneg = len(ys) - npos
auc = float((np.flatnonzero(ys).sum() + npos - npos * (npos + 1) / 2) / (npos * nneg))
print(json.dumps({"tool": "smelt", "task": "mlp_256_128_adam_b1024_800k", "threads": 2,
                  "epoch_seconds_median": round(statistics.median(h["epoch_seconds"]), 3),
                  "epoch_seconds_all": [round(x, 3) for x in h["epoch_seconds"]],
                  "test_auc": round(auc, 5)}))
PY
"$TORCH/bin/python" bench/mlp_torch.py "$DATA" --threads 2 --epochs "$EPOCHS" | tail -1
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
