"""A seeded table shaped like real work, for the forest and boosting benchmarks (issue 20): noisy
labels, missing values and string categories, unlike gen_data.py's clean make_classification.

    python gen_noisy.py OUT_DIR [--rows N] [--test N] [--seed S]

Columns: x0..x14 numeric (x0..x2 with 5 % missing), c0/c1/c2 strings with 20, 25 and 12 levels
(57 one-hot columns in all; skewed level frequencies), `y` a binary label drawn through a logistic
link from a sum of non-linear effects (about 27 % positives; test ROC AUC of a good model ≈ 0.81),
and `price` a real-valued target with many distinct values (log-normal noise). Writes
OUT_DIR/noisy_{clf,reg}_{train,test}.{parquet,csv}: the same rows with `y` (clf) or `price` (reg)
as the only target column.
"""
import argparse
import os

import numpy as np
import pandas as pd


def make(rows, rng):
    x = rng.normal(size=(rows, 15))
    x[:, 3] = rng.exponential(size=rows)
    x[:, 4] = rng.integers(0, 50, size=rows)
    levels = [20, 25, 12]
    cats = []
    for k in levels:
        w = 1.0 / np.arange(1, k + 1) ** 0.8
        cats.append(rng.choice(k, size=rows, p=w / w.sum()))
    effect = [rng.normal(scale=0.6, size=k) for k in levels]
    z = (0.9 * x[:, 0] - 0.7 * np.abs(x[:, 1]) + 0.5 * x[:, 2] * x[:, 5] + 0.4 * np.sin(2 * x[:, 6])
         + 0.3 * np.log1p(x[:, 3]) - 0.02 * x[:, 4] + 0.35 * (x[:, 7] > 0.5)
         + sum(e[c] for e, c in zip(effect, cats)) - 1.15)
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.int64)
    price = np.exp(3 + 0.3 * z + 0.2 * x[:, 8] + rng.normal(scale=0.35, size=rows))
    df = pd.DataFrame({f"x{i}": x[:, i] for i in range(15)})
    for j in range(3):
        miss = rng.random(rows) < 0.05
        df.loc[miss, f"x{j}"] = np.nan
    for j, c in enumerate(cats):
        df[f"c{j}"] = pd.Series([f"{'abc'[j]}{v:02d}" for v in c])
    df["y"] = y
    df["price"] = price.round(2)
    return df


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--test", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=20)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    df = make(a.rows + a.test, rng)
    for name, part in (("train", df.iloc[: a.rows]), ("test", df.iloc[a.rows:])):
        for task, drop in (("clf", "price"), ("reg", "y")):
            out = part.drop(columns=[drop])
            out.to_parquet(os.path.join(a.out, f"noisy_{task}_{name}.parquet"), index=False)
            out.to_csv(os.path.join(a.out, f"noisy_{task}_{name}.csv"), index=False, float_format="%.7g")
    print(f"wrote {a.rows} + {a.test} rows to {a.out}: positives {df['y'].mean():.3f}, "
          f"distinct prices {df['price'].nunique()}")


if __name__ == "__main__":
    main()
