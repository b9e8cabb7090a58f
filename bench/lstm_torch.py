"""Deep-learning reference: epoch timings of an LSTM regressor in PyTorch (CPU) on windowed series.

Usage: python lstm_torch.py WINDOWS.parquet --target demand [--threads 2] [--epochs 3] [--batch 64]
       [--hidden 64]
Reads the table `smelt data window` writes ({col}_lag1 … {col}_lagL per series, other numeric
columns static, the target, a time column that is ignored) exactly as smelt's lstm_regressor
reads it: one channel per series, oldest lag first, each channel standardised with one mean/std
over its lags; static features standardised and joined to the last hidden state.
Model: nn.LSTM(channels, hidden, batch_first=True) → last hidden state ⊕ statics → Linear(·, 1),
MSELoss on the standardised target, Adam(lr=3e-3), seed 0, float32, every row trained on.
Batches cut from in-memory tensors through a shuffled index (the lean path).
Prints one JSON line per epoch and a summary line with the median epoch time.
"""
import argparse
import json
import re
import resource
import statistics
import time

import numpy as np
import pyarrow.parquet as pq
import torch

LAG = re.compile(r"^(.+)_lag(\d+)$")


def load(path, target):
    t = pq.read_table(path)
    chans, statics = {}, []
    for c in t.column_names:
        m = LAG.match(c)
        if m:
            chans.setdefault(m.group(1), {})[int(m.group(2))] = c
        elif c != target and t.schema.field(c).type in ("double", "float", "int64", "int32"):
            statics.append(c)
    steps = max(max(v) for v in chans.values())
    n = t.num_rows

    def col(c):
        return np.nan_to_num(t.column(c).to_numpy(zero_copy_only=False).astype(np.float64))

    X = np.zeros((n, steps, len(chans)), dtype=np.float32)
    for j, (name, lags) in enumerate(chans.items()):
        vals = {k: col(c) for k, c in lags.items()}
        allv = np.concatenate(list(vals.values()))
        mu, sd = allv.mean(), allv.std() or 1.0
        for k, v in vals.items():
            X[:, steps - k, j] = (v - mu) / sd
    S = np.zeros((n, len(statics)), dtype=np.float32)
    for j, c in enumerate(statics):
        v = col(c)
        S[:, j] = (v - v.mean()) / (v.std() or 1.0)
    y = col(target)
    y = ((y - y.mean()) / (y.std() or 1.0)).astype(np.float32)
    return X, S, y


class Net(torch.nn.Module):
    def __init__(self, channels, statics, hidden):
        super().__init__()
        self.rnn = torch.nn.LSTM(channels, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden + statics, 1)

    def forward(self, x, s):
        _, (h, _) = self.rnn(x)
        return self.head(torch.cat([h[-1], s], 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--target", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    X, S, y = load(a.data, a.target)
    X, S, y = torch.from_numpy(X), torch.from_numpy(S), torch.from_numpy(y).unsqueeze(1)
    torch.manual_seed(0)
    m = Net(X.shape[2], S.shape[1], a.hidden)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    lossf = torch.nn.MSELoss()
    g = torch.Generator().manual_seed(0)
    times = []
    for ep in range(a.epochs):
        t = time.perf_counter()
        m.train()
        perm = torch.randperm(len(X), generator=g)
        total = 0.0
        for i in range(0, len(perm), a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(m(X[idx], S[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        dt = time.perf_counter() - t
        times.append(dt)
        print(json.dumps({"tool": "torch", "version": torch.__version__, "epoch": ep + 1, "seconds": round(dt, 3),
                          "train_loss": round(total / len(X), 5)}), flush=True)
    print(json.dumps({"tool": "torch", "version": torch.__version__,
                      "task": "lstm_h%d_b%d_%dx%dx%d" % (a.hidden, a.batch, *X.shape),
                      "threads": a.threads, "epoch_seconds_median": round(statistics.median(times), 3),
                      "epoch_seconds_all": [round(x, 3) for x in times],
                      "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}),
          flush=True)


if __name__ == "__main__":
    main()
