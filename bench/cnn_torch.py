"""The small CNN of `cnn_classifier`'s defaults in PyTorch (CPU), for epoch times side by side.

Usage: python cnn_torch.py MNIST5K_PARQUET [--threads 2] [--epochs 3] [--batch 64]
Model: conv3x3(1→32, pad 1) → BatchNorm → ReLU → maxpool2 → conv3x3(32→64) → BatchNorm → ReLU →
maxpool2 → flatten → Linear(3136, 128) → ReLU → Dropout(0.25) → Linear(128, 10); Adam(lr=1e-3),
cross-entropy, float32, seed 0; pixels standardised with the training mean and deviation; no
augmentation. Train on a seeded 80 % of the rows (stratified shuffle), test on the rest.
Prints one JSON line per epoch and a summary line.
"""
import argparse
import json
import statistics
import time

import numpy as np
import pyarrow.parquet as pq
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t = pq.read_table(a.data)
    y = t.column("label").to_numpy().astype(np.int64)
    X = np.column_stack([t.column(f"pixel{i}").to_numpy() for i in range(784)]).astype(np.float32)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    cut = int(0.8 * len(y))
    tr, te = idx[:cut], idx[cut:]
    mean, std = X[tr].mean(), X[tr].std()
    X = ((X - mean) / std).reshape(-1, 1, 28, 28)
    Xtr, ytr = torch.from_numpy(X[tr]), torch.from_numpy(y[tr])
    Xte, yte = torch.from_numpy(X[te]), torch.from_numpy(y[te])
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 128), torch.nn.ReLU(), torch.nn.Dropout(0.25),
        torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    times = []
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        m.train()
        perm = torch.randperm(len(Xtr), generator=g)
        for i in range(0, len(perm), a.batch):
            b = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(m(Xtr[b]), ytr[b])
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        times.append(dt)
        m.eval()
        with torch.no_grad():
            acc = float((m(Xte).argmax(1) == yte).float().mean())
        print(json.dumps({"tool": "torch", "version": torch.__version__, "epoch": ep + 1,
                          "seconds": round(dt, 3), "test_accuracy": round(acc, 4)}), flush=True)
    print(json.dumps({"tool": "torch", "version": torch.__version__, "task": "cnn_32_64_b%d_mnist4k" % a.batch,
                      "threads": a.threads, "epoch_seconds_median": round(statistics.median(times), 3),
                      "epoch_seconds_all": [round(x, 3) for x in times], "test_accuracy": round(acc, 4)}),
          flush=True)


if __name__ == "__main__":
    main()
