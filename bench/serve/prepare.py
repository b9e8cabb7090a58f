"""Model and request bodies for bench/serve.sh: LightGBM (100 rounds, 31 leaves) fitted on 100k rows of
the benchmark table, saved as LightGBM text — the one model every server under test loads: Smelt
(through its tree engine), MLServer (mlserver-lightgbm), BentoML and FastAPI (lightgbm.Booster).

Usage: python prepare.py DATA_DIR OUT_DIR
"""
import json
import sys

import lightgbm as lgb
import pandas as pd

data, out = sys.argv[1], sys.argv[2]
tr = pd.read_parquet(f"{data}/clf_train.parquet").iloc[:100_000]
X, y = tr.drop(columns="y"), tr["y"]
booster = lgb.train({"objective": "binary", "num_leaves": 31, "verbose": -1, "num_threads": 2},
                    lgb.Dataset(X, y), num_boost_round=100)
booster.save_model(f"{out}/model.txt")
cols = list(X.columns)
row = [float(v) for v in X.iloc[0]]
rows = X.iloc[:1000].astype(float).values.tolist()
bodies = {
    "fastapi": {"inputs": [row]},
    "predict": dict(zip(cols, row)),
    "mlflow": {"dataframe_split": {"columns": cols, "data": [row]}},
    "oip": {"inputs": [{"name": "input-0", "shape": [1, len(cols)], "datatype": "FP64", "data": row}]},
    "oip1000": {"inputs": [{"name": "input-0", "shape": [len(rows), len(cols)], "datatype": "FP64",
                            "data": [v for r in rows for v in r]}]},
}
for name, body in bodies.items():
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(body, f)
# The same 1,000 rows with the binary tensor extension, as tritonclient sends them by default
# (`set_data_from_numpy(binary_data=True)`, outputs asked for as binary): a JSON header, then the
# FP32 rows; the header's length goes in Inference-Header-Content-Length (`oip1000_bin.len`).
import numpy as np
data = np.asarray(rows, dtype="<f4").tobytes()
header = json.dumps({"inputs": [{"name": "input-0", "shape": [len(rows), len(cols)], "datatype": "FP32",
                                 "parameters": {"binary_data_size": len(data)}}],
                     "parameters": {"binary_data_output": True}}).encode()
with open(f"{out}/oip1000_bin.body", "wb") as f:
    f.write(header + data)
with open(f"{out}/oip1000_bin.len", "w") as f:
    f.write(str(len(header)))
# The reference prediction of row 0, to check every server answers the same.
print(json.dumps({"p0": float(booster.predict(X.iloc[:1])[0]), "features": len(cols)}))
