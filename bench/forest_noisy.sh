#!/usr/bin/env bash
# Random forests on a table shaped like real work (issue 20), side by side, 2 threads each:
# bench/gen_noisy.py's noisy table — 15 numeric columns (5 % NaN in 3), 3 string categoricals
# (57 one-hot columns), a noisy label (27 % positives) and a real-valued target. Smelt: `smelt
# train --model random_forest` (its automatic preprocessing: imputation, one-hot), fit time from
# the model's metadata (`fit_seconds`: preprocessing + forest); scikit-learn: OneHotEncoder +
# RandomForest{Classifier,Regressor} (NaN native), fit time of the pipeline. Test AUC / RMSE of both.
#   classifier: 200,000 training rows, 50,000 test rows;  regressor: 50,000 / 20,000.
# Usage: bench/forest_noisy.sh [DATA_DIR] [N_TREES]      (results: JSON lines on stdout)
# Env: SMELT_BIN (a release smelt; built when absent), BENCH_VENV, ONLY=clf|reg.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-/tmp/smelt-noisy}
TREES=${2:-100}
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=${SMELT_BIN:-$CARGO_TARGET_DIR/release/smelt}
[[ -x $SMELT ]] || cargo build --release -q -p smelt-cli --bin smelt
[[ -f $DATA/noisy_clf_train.parquet ]] || "$VENV/bin/python" bench/gen_noisy.py "$DATA" --rows 200000 --test 50000 >&2
[[ -f $DATA/reg/noisy_reg_train.parquet ]] || "$VENV/bin/python" bench/gen_noisy.py "$DATA/reg" --rows 50000 --test 20000 >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 SMELT_NO_TRACK=1
echo "# machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $("$SMELT" --version | head -1)" >&2
"$VENV/bin/python" -c 'import sklearn, numpy; print("# scikit-learn", sklearn.__version__, "numpy", numpy.__version__)' >&2
for task in ${ONLY:-clf reg}; do
  if [[ $task == clf ]]; then dir=$DATA target=y; else dir=$DATA/reg target=price; fi
  "$SMELT" train "$dir/noisy_${task}_train.parquet" --target "$target" --model random_forest \
    -p n_estimators="$TREES" -p n_jobs=2 --valid 0 --out "$work/model_$task" >/dev/null
  fit=$("$VENV/bin/python" -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["metadata"]["fit_seconds"], 2))' "$work/model_$task/model.json")
  size=$(du -sb "$work/model_$task" | cut -f1)
  "$SMELT" predict "$work/model_$task" "$dir/noisy_${task}_test.parquet" --out "$work/pred_$task.parquet" >/dev/null
  score=$("$VENV/bin/python" bench/forest_noisy.py "$dir" --task "$task" --score "$work/pred_$task.parquet")
  echo "{\"tool\": \"smelt\", \"task\": \"$task\", \"trees\": $TREES, \"fit_s\": $fit, \"model_bytes\": $size, \"score\": $score}"
  "$VENV/bin/python" bench/forest_noisy.py "$dir" --task "$task" --threads 2 --trees "$TREES"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
