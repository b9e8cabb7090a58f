#!/usr/bin/env bash
# Small-CNN epoch time on the MNIST extract (data/mnist5k.parquet, 4,000 training images),
# Smelt (candle) beside PyTorch CPU, 2 threads each (issue 18's goal: ≤ 1.2× PyTorch's epoch).
# Both: conv(32)-BN-ReLU-pool → conv(64)-BN-ReLU-pool → dense 128 → dropout → 10, Adam 1e-3,
# batch 64, no augmentation (timing the network, not the augmenter). Smelt's epoch times come
# from the model's history; PyTorch's from bench/cnn_torch.py.
# Usage: bench/cnn.sh [EPOCHS]       Env: SMELT_BIN, TORCH_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-3}
TORCH=${TORCH_VENV:-$HOME/.cache/smelt-bench-torch}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=${SMELT_BIN:-$CARGO_TARGET_DIR/release/smelt}
[[ -x $SMELT ]] || cargo build --release -q -p smelt-cli --bin smelt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 SMELT_NO_TRACK=1
echo "# machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $("$SMELT" --version | head -1)" >&2
"$SMELT" train data/mnist5k.parquet --target label --model cnn_classifier --valid 0.2 \
  -p augment=false -p early_stopping=false --epochs "$EPOCHS" --batch-size 64 --out "$work/model" \
  --json > "$work/train.json"
"$TORCH/bin/python" - "$work/model/model.json" "$work/train.json" <<'PY'
import json, statistics, sys
m = json.load(open(sys.argv[1]))
h = m["model"]["model"]["history"]
t = json.load(open(sys.argv[2]))["metadata"]["metrics"]["validation"]
print(json.dumps({"tool": "smelt", "task": "cnn_32_64_b64_mnist4k", "threads": 2,
                  "epoch_seconds_median": round(statistics.median(h["epoch_seconds"]), 3),
                  "epoch_seconds_all": [round(x, 3) for x in h["epoch_seconds"]],
                  "test_accuracy": t.get("accuracy")}))
PY
"$TORCH/bin/python" bench/cnn_torch.py data/mnist5k.parquet --threads 2 --epochs "$EPOCHS" | tail -1
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
