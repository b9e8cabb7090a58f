"""sentence-transformers' side of bench/embed.sh: embeds the first N non-empty review texts of
data/reviews.parquet with all-MiniLM-L6-v2 on the CPU, batch size 32, and prints sentences/s.

    ~/.cache/smelt-bench-torch/bin/python bench/embed_python.py MODEL_DIR TEXTS.parquet [THREADS]

TEXTS.parquet: a table with a `text` column (bench/embed.sh writes it). Threads: 2 by default
(torch.set_num_threads), as the Rust side's RAYON_NUM_THREADS. One warm-up batch is left out of
the timing (as for smelt, whose model load is timed apart).
"""
import json
import sys
import time

import pyarrow.parquet as pq
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer


def main():
    model_dir, path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(threads)
    texts = pq.read_table(path, columns=["text"]).column("text").to_pylist()
    t0 = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    load = time.perf_counter() - t0
    model.encode(texts[:32], batch_size=32)
    t0 = time.perf_counter()
    emb = model.encode(texts, batch_size=32, convert_to_numpy=True)
    secs = time.perf_counter() - t0
    print(json.dumps({
        "tool": "sentence-transformers",
        "version": sentence_transformers.__version__,
        "torch": torch.__version__,
        "threads": threads,
        "texts": len(texts),
        "dim": int(emb.shape[1]),
        "load_s": round(load, 3),
        "embed_s": round(secs, 3),
        "sentences_per_s": round(len(texts) / secs, 1),
    }))


if __name__ == "__main__":
    main()
