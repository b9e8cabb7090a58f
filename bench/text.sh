#!/usr/bin/env bash
# Issue 18's text targets, side by side in one run (2 threads each):
#  1. a transformer trained from scratch (`--model transformer`, defaults) on the SMS table
#     against the majority class and TF-IDF + logistic regression (scikit-learn);
#  2. all-MiniLM-L6-v2 fine-tuned (`--model finetune`) on TRAIN reviews (title + text,
#     target `recommended_ind`) against TF-IDF + logistic regression fitted on the same rows;
#     both scored on the same held-out reviews.
# Usage: bench/text.sh [TRAIN_ROWS] [TEST_ROWS] [FINETUNE_PARAMS...]
#   defaults: 2000 training reviews, 2000 test reviews, LoRA rank 8 at lr 1e-3, 2 epochs,
#   64 tokens (CPU time: full fine-tuning of 2,000 reviews takes ~3× longer; see BENCHMARKS.md)
# Env: SKIP_SMS=1 (only the reviews part), SMELT_BIN (a release smelt; built when absent), BENCH_VENV (scikit-learn, pandas,
#   pyarrow), SMELT_MINILM_DIR or scripts/fetch-minilm's cache for the encoder.
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN=${1:-2000}
TEST=${2:-2000}
shift $(( $# > 2 ? 2 : $# ))
FT=("$@")
[[ ${#FT[@]} -gt 0 ]] || FT=(-p lora_rank=8 -p learning_rate_init=1e-3 -p max_length=64 --epochs 2)
VENV=${BENCH_VENV:-$HOME/.cache/smelt-bench-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
SMELT=${SMELT_BIN:-$CARGO_TARGET_DIR/release/smelt}
[[ -x $SMELT ]] || cargo build --release -q -p smelt-cli --bin smelt
export SMELT_MINILM_DIR=${SMELT_MINILM_DIR:-$(scripts/fetch-minilm)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 SMELT_NO_TRACK=1
echo "# machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $("$SMELT" --version | head -1)" >&2
"$VENV/bin/python" bench/text_python.py split data "$work" --train "$TRAIN" --test "$TEST"

if [[ -z ${SKIP_SMS:-} ]]; then
  echo "## SMS: transformer from scratch (defaults)" >&2
  t0=$(date +%s.%N)
  "$SMELT" train "$work/sms_train.csv" --target label --model transformer --out "$work/sms" >/dev/null
  t1=$(date +%s.%N)
  "$SMELT" predict "$work/sms" "$work/sms_test.csv" --out "$work/sms.parquet" >/dev/null
  echo "# smelt transformer fit: $(echo "$t1 - $t0" | bc) s" >&2
  "$VENV/bin/python" bench/text_python.py score "$work/sms_train.csv" "$work/sms_test.csv" label "$work/sms.parquet"
fi

echo "## reviews: MiniLM fine-tuned (${FT[*]}) vs TF-IDF + LR, $TRAIN training rows" >&2
t0=$(date +%s.%N)
"$SMELT" train "$work/train.csv" --target recommended_ind --model finetune "${FT[@]}" \
  --out "$work/ft" >/dev/null
t1=$(date +%s.%N)
"$SMELT" predict "$work/ft" "$work/test.csv" --out "$work/ft.parquet" >/dev/null
echo "# smelt finetune fit: $(echo "$t1 - $t0" | bc) s" >&2
"$VENV/bin/python" bench/text_python.py score "$work/train.csv" "$work/test.csv" recommended_ind "$work/ft.parquet"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
