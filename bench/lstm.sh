#!/usr/bin/env bash
# LSTM epoch time, Smelt (candle) beside PyTorch CPU, 2 threads each (issue 18's goal: ≤ 1.2×
# PyTorch's epoch), and the forecasting comparison behind BENCHMARKS.md's "Sequences" table.
#
# Timing: elec_demand (half-hourly, 17,520 steps) windowed by `smelt data window` into 17,472
# rows of 48 lags of `demand` and `temperature` (two channels) plus `work_day` at the target step
# (a static input): LSTM(2 → 64), last hidden state ⊕ static → Linear → 1, MSE on the
# standardised target, Adam, batch 64, float32, every row trained on, 3 epochs. PyTorch:
# bench/lstm_torch.py (nn.LSTM, batch_first, the same table read the same way, batches cut from
# in-memory tensors). Smelt: `smelt train --model lstm --valid 0 -p early_stopping=false`, epoch
# times from the model's history.
#
# Forecasting (with `--forecast`): for each series, windows by `smelt data window`, then
# seasonal_naive (season given), naive (season 1), lstm and gru with default parameters; the
# latest 20 % in time held out by `smelt train`'s temporal split; validation RMSE/MAE printed.
#
# Usage: bench/lstm.sh [SHARED_DATA_DIR] [EPOCHS] [--forecast|--forecast-only]   (JSON lines on stdout)
# Env: SMELT_BIN (a release smelt; built when absent), TORCH_VENV (torch, numpy, pyarrow).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
EPOCHS=${2:-3}
FORECAST=${3:-}
TORCH=${TORCH_VENV:-$HOME/.cache/smelt-bench-torch}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=${SMELT_BIN:-$CARGO_TARGET_DIR/release/smelt}
[[ -x $SMELT ]] || cargo build --release -q -p smelt-cli --bin smelt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 SMELT_NO_TRACK=1
# PyTorch's OpenMP threads spin while they wait; on a loaded machine (other builds) that cost
# torch 60× (113–185 s epochs against 2.2 s passive): passive waiting for a fair comparison.
export OMP_WAIT_POLICY=PASSIVE
echo "# machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $("$SMELT" --version | head -1)" >&2
if [[ $FORECAST != --forecast-only ]]; then
"$SMELT" data window "$DATA/elec_demand.csv" --target demand --lags 48 --covariates temperature \
  --known work_day --out "$work/elec48.parquet" >&2
"$SMELT" train "$work/elec48.parquet" --target demand --model lstm --valid 0 \
  -p hidden_size=64 -p early_stopping=false --epochs "$EPOCHS" --batch-size 64 \
  --out "$work/model" >/dev/null
python3 - "$work/model/model.json" <<'PY'
import json, statistics, sys
h = json.load(open(sys.argv[1]))["model"]["model"]["history"]
print(json.dumps({"tool": "smelt", "task": "lstm_h64_b64_17472x48x2", "threads": 2,
                  "epoch_seconds_median": round(statistics.median(h["epoch_seconds"]), 3),
                  "epoch_seconds_all": [round(x, 3) for x in h["epoch_seconds"]]}))
PY
"$TORCH/bin/python" bench/lstm_torch.py "$work/elec48.parquet" --target demand --threads 2 \
  --epochs "$EPOCHS" --batch 64 --hidden 64 | tail -1
echo "# load after timing: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi
[[ $FORECAST == --forecast* ]] || exit 0
# series file target time lags season extra-window-flags ('+' for spaces, '-' for none)
while read -r name file target time lags season extra; do
  tflag=(); [[ $time == - ]] || tflag=(--time "$time")
  xflag=(); [[ $extra == - ]] || read -r -a xflag <<<"${extra//+/ }"
  "$SMELT" data window "$DATA/$file" --target "$target" "${tflag[@]}" --lags "$lags" \
    "${xflag[@]}" --out "$work/$name.parquet" >&2
  for model in "seasonal_naive -p season=$season" "seasonal_naive" "lstm" "gru"; do
    # shellcheck disable=SC2086
    "$SMELT" train "$work/$name.parquet" --target "$target" "${tflag[@]}" --model $model \
      --json --out "$work/m" >"$work/out.json" 2>/dev/null
    python3 - "$work/out.json" "$name" "$model" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
v = m["metrics"]["validation"]
print(json.dumps({"series": sys.argv[2], "model": sys.argv[3], "test_rmse": round(v["rmse"], 4),
                  "test_mae": round(v["mae"], 4), "train_rows": m["split"]["train_rows"],
                  "test_rows": m["split"]["valid_rows"], "fit_seconds": round(m["fit_seconds"], 1)}))
PY
  done
done <<'SERIES'
air_passengers air_passengers.csv passengers - 24 12 -
sunspots sunspots.csv sunactivity year 22 11 -
co2 co2.csv co2 - 52 52 -
elec_demand elec_demand.csv demand - 48 48 --covariates+temperature+--known+work_day
SERIES
