"""The Python side of bench/predict_stream.sh (batch scoring).

    python bench/predict_stream_python.py gen DIR
        DIR/score_1m.parquet (1,000,000 x 28 float32, columns Column_0..Column_27 like the
        LightGBM benchmark model's features; make_classification, seed 0, as bench/gen_data.py),
        DIR/score_10m.parquet and score_20m.parquet (the same rows ten and twenty times, one
        row group per million rows, pyarrow's default) and DIR/score_10m.csv (as CSV).
    python bench/predict_stream_python.py lightgbm MODEL.txt FILE.parquet OUT.parquet \
            --threads 2 --repeat 3
        LightGBM in process, the whole job `smelt predict` does: read the Parquet table, predict
        (num_threads), write prediction + proba_0 + proba_1 as zstd Parquet. Prints one JSON
        line per repetition (read / predict / write / total seconds, peak RSS).
    python bench/predict_stream_python.py check SMELT_OUT.parquet LGBM_OUT.parquet
        Largest difference between the two tools' probabilities, and label agreement.
"""
import argparse
import json
import os
import resource
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

P = 28
NAMES = [f"Column_{i}" for i in range(P)]


def gen(a):
    from sklearn.datasets import make_classification

    os.makedirs(a.dir, exist_ok=True)
    x, _ = make_classification(n_samples=1_000_000, n_features=P, n_informative=20,
                               n_redundant=4, random_state=0)
    x = x.astype(np.float32)
    table = pa.table({n: x[:, i] for i, n in enumerate(NAMES)})
    pq.write_table(table, os.path.join(a.dir, "score_1m.parquet"), compression="zstd")
    for n in (10, 20):
        with pq.ParquetWriter(os.path.join(a.dir, f"score_{n}m.parquet"), table.schema,
                              compression="zstd") as w:
            for _ in range(n):
                w.write_table(table, row_group_size=1_000_000)
    import pyarrow.csv as pacsv

    # The header unquoted, as pandas writes it (pyarrow would quote the names).
    with open(os.path.join(a.dir, "score_10m.csv"), "wb") as f:
        f.write((",".join(NAMES) + "\n").encode())
        opts = pacsv.WriteOptions(include_header=False)
        with pacsv.CSVWriter(f, table.schema, write_options=opts) as w:
            for _ in range(10):
                w.write_table(table)
    print(f"wrote {a.dir}/score_1m.parquet, score_10m.parquet, score_20m.parquet, score_10m.csv")


def lightgbm(a):
    import lightgbm as lgb

    booster = lgb.Booster(model_file=a.model)
    for rep in range(a.repeat):
        t0 = time.perf_counter()
        table = pq.read_table(a.file)
        x = np.column_stack([table.column(n).to_numpy() for n in NAMES])
        t1 = time.perf_counter()
        p = booster.predict(x, num_threads=a.threads)
        t2 = time.perf_counter()
        out = pa.table({
            "prediction": pa.array(np.where(p > 0.5, "1", "0")),
            "proba_0": pa.array(1.0 - p),
            "proba_1": pa.array(p),
        })
        pq.write_table(out, a.out, compression="zstd")
        t3 = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({
            "tool": "lightgbm", "rep": rep, "rows": len(p), "read_s": round(t1 - t0, 3),
            "predict_s": round(t2 - t1, 3), "write_s": round(t3 - t2, 3),
            "total_s": round(t3 - t0, 3), "peak_rss_mib": round(rss),
        }), flush=True)
        del table, x, p, out


def onnxruntime(a):
    """The same job with onnxruntime in process: the LightGBM model converted by onnxmltools (the
    usual way to ONNX), or any .onnx file (`smelt export`'s: one double input per column)."""
    import onnxruntime as ort

    if a.model.endswith(".txt"):
        import lightgbm as lgb
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        booster = lgb.Booster(model_file=a.model)
        onnx_model = convert_lightgbm(
            booster, initial_types=[("input", FloatTensorType([None, len(NAMES)]))],
            zipmap=False, target_opset=15)
        blob = onnx_model.SerializeToString()
    else:
        blob = open(a.model, "rb").read()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    for rep in range(a.repeat):
        t0 = time.perf_counter()
        table = pq.read_table(a.file)
        if names == ["input"]:
            feeds = {"input": np.column_stack([table.column(n).to_numpy() for n in NAMES]).astype(np.float32)}
        else:
            feeds = {n: table.column(n).to_numpy().astype(np.float64).reshape(-1, 1) for n in names}
        t1 = time.perf_counter()
        outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
        proba = np.asarray(outs["probabilities"], dtype=np.float64)
        p = proba[:, 1]
        t2 = time.perf_counter()
        out = pa.table({
            "prediction": pa.array(np.where(p > 0.5, "1", "0")),
            "proba_0": pa.array(1.0 - p),
            "proba_1": pa.array(p),
        })
        pq.write_table(out, a.out, compression="zstd")
        t3 = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({
            "tool": "onnxruntime " + ort.__version__, "graph": "onnxmltools" if a.model.endswith(".txt") else "file",
            "rep": rep, "rows": len(p), "read_s": round(t1 - t0, 3),
            "predict_s": round(t2 - t1, 3), "write_s": round(t3 - t2, 3),
            "total_s": round(t3 - t0, 3), "peak_rss_mib": round(rss),
        }), flush=True)
        del table, feeds, outs, proba, p, out


def check(a):
    s = pq.read_table(a.smelt)
    l = pq.read_table(a.lgbm)
    ps, pl = s.column("proba_1").to_numpy(), l.column("proba_1").to_numpy()
    same = (s.column("prediction").to_numpy() == l.column("prediction").to_numpy()).mean()
    print(json.dumps({"rows": len(ps), "max_abs_diff_proba": float(np.abs(ps - pl).max()),
                      "label_agreement": float(same)}))


ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="cmd", required=True)
g = sub.add_parser("gen")
g.add_argument("dir")
g.set_defaults(f=gen)
b = sub.add_parser("lightgbm")
b.add_argument("model")
b.add_argument("file")
b.add_argument("out")
b.add_argument("--threads", type=int, default=2)
b.add_argument("--repeat", type=int, default=3)
b.set_defaults(f=lightgbm)
o = sub.add_parser("onnxruntime")
o.add_argument("model")
o.add_argument("file")
o.add_argument("out")
o.add_argument("--threads", type=int, default=2)
o.add_argument("--repeat", type=int, default=3)
o.set_defaults(f=onnxruntime)
c = sub.add_parser("check")
c.add_argument("smelt")
c.add_argument("lgbm")
c.set_defaults(f=check)
a = ap.parse_args()
a.f(a)
