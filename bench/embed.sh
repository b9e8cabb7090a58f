#!/usr/bin/env bash
# Sentence-embedding throughput: `smelt embed` (release build) vs sentence-transformers on the
# same texts, model (all-MiniLM-L6-v2), batch size (32) and threads (RAYON_NUM_THREADS /
# torch.set_num_threads), RUNS times each, alternating. Prints sentences/s per run.
# Usage: bench/embed.sh [N_TEXTS] [THREADS] [RUNS]
# Texts: the first N_TEXTS (2,000) non-empty `review_text`s of data/reviews.parquet. Model:
# $SMELT_MINILM_DIR, else ../shared/data/minilm, else scripts/fetch-minilm. Python side: the
# venv $BENCH_TORCH_VENV (default ~/.cache/smelt-bench-torch: torch CPU, sentence-transformers,
# pyarrow); BENCH_WAIT='bench/wait_idle.sh 300' waits for an idle machine before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
THREADS=${2:-2}
RUNS=${3:-2}
VENV=${BENCH_TORCH_VENV:-$HOME/.cache/smelt-bench-torch}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}
MODEL=${SMELT_MINILM_DIR:-}
if [[ -z $MODEL ]]; then
  if [[ -f ../shared/data/minilm/model.safetensors ]]; then MODEL=../shared/data/minilm; else MODEL=$(scripts/fetch-minilm); fi
fi
if [[ ! -x $VENV/bin/python ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --index-url https://download.pytorch.org/whl/cpu torch
  "$VENV/bin/pip" install -q sentence-transformers pyarrow
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV/bin/python" - "$N" "$work/texts.parquet" <<'PY'
import sys
import pyarrow as pa, pyarrow.parquet as pq
n, out = int(sys.argv[1]), sys.argv[2]
col = pq.read_table("data/reviews.parquet", columns=["review_text"]).column("review_text").to_pylist()
texts = [t for t in col if t and t.strip()][:n]
pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), out)
PY
cargo build -q --release -p smelt-cli --bin smelt
SMELT=$CARGO_TARGET_DIR/release/smelt
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# $(rustc --version); $("$VENV/bin/python" -c 'import torch, sentence_transformers as s; print("torch", torch.__version__, "sentence-transformers", s.__version__)')" >&2
for run in $(seq 1 "$RUNS"); do
  ${BENCH_WAIT:-true}
  echo "## run $run (load $(cut -d' ' -f1 /proc/loadavg))"
  # smelt: the embedding rate it reports (model load and file I/O apart, as for the Python side).
  RAYON_NUM_THREADS=$THREADS "$SMELT" embed "$MODEL" "$work/texts.parquet" --column text --keep id \
    --batch-size 32 --out "$work/emb.parquet" 2>&1 | tail -1
  ${BENCH_WAIT:-true}
  "$VENV/bin/python" bench/embed_python.py "$MODEL" "$work/texts.parquet" "$THREADS" 2>/dev/null
done
