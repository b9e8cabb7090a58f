"""The reference side of bench/predict.sh: LightGBM (and treelite, when installed) predicting
with the model of Smelt's prediction benchmark (crates/smelt-trees/tests/fixtures/
bench_lgb_100x31.txt: 100 trees x 31 leaves, 28 features), on seeded standard-normal rows like
the Rust bench's, same thread count.

    python bench/predict_python.py MODEL --threads 2 --repeat 3

Prints JSON lines: single-row latency (mean over 2,000 different rows, one call per row;
Booster.predict, and LightGBM's C fast single-row API through ctypes) and the time of one
200,000-row batch (best of --repeat).
"""
import argparse
import ctypes
import json
import os
import tempfile
import time

import lightgbm as lgb
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--only", choices=["all", "tl2cgen-batch"], default="all",
                help="tl2cgen-batch: only tl2cgen's batch (bench/predict_interleaved.sh)")
a = ap.parse_args()

P, N_SINGLE, N_BATCH = 28, 2000, 200_000
rng = np.random.default_rng(0)
x = rng.normal(size=(N_BATCH, P))


def emit(**kw):
    print(json.dumps(kw), flush=True)


def single(f):
    rows = [np.ascontiguousarray(x[i : i + 1]) for i in range(N_SINGLE)]
    for r in rows[:100]:
        f(r)
    t = time.perf_counter()
    for r in rows:
        f(r)
    return (time.perf_counter() - t) / N_SINGLE


def batch(f):
    secs, out = float("inf"), None
    for _ in range(a.repeat):
        t = time.perf_counter()
        out = f(x)
        secs = min(secs, time.perf_counter() - t)
    return secs, out


if a.only == "tl2cgen-batch":
    import tl2cgen
    import treelite
    model = treelite.frontend.load_lightgbm_model(a.model)
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "model.so")
        tl2cgen.export_lib(model, toolchain="gcc", libpath=lib, params={"parallel_comp": 8})
        pred = tl2cgen.Predictor(lib, nthread=a.threads)
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            pred.predict(tl2cgen.DMatrix(x), pred_margin=True)
            times.append(time.perf_counter() - t)
        emit(tool="tl2cgen", version=tl2cgen.__version__, task="batch_200k", threads=a.threads,
             median_ms=round(1e3 * float(np.median(times)), 1),
             fastest_ms=round(1e3 * min(times), 1), repeat=a.repeat)
    raise SystemExit(0)

b = lgb.Booster(model_file=a.model)
emit(tool="lightgbm", version=lgb.__version__, task="single_row", threads=1,
     us_per_row=1e6 * single(lambda r: b.predict(r, raw_score=True, num_threads=1)))
# The C API's fast single-row path (what a C/C++ server would call), through ctypes: the
# floor of LightGBM's single-row latency from Python.
fast = ctypes.c_void_p()
lgb.basic._safe_call(lgb.basic._LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
    b._handle, ctypes.c_int(1), ctypes.c_int(0), ctypes.c_int(-1),  # raw score, all trees
    ctypes.c_int(1), ctypes.c_int32(P), ctypes.c_char_p(b"num_threads=1"),  # float64 rows
    ctypes.byref(fast)))
out_len, out_val = ctypes.c_int64(), (ctypes.c_double * 1)()
fn = lgb.basic._LIB.LGBM_BoosterPredictForMatSingleRowFast


def c_single(r):
    fn(fast, r.ctypes.data_as(ctypes.c_void_p), ctypes.byref(out_len), out_val)


emit(tool="lightgbm-c-api-fast", version=lgb.__version__, task="single_row", threads=1,
     us_per_row=1e6 * single(c_single))
lgb.basic._LIB.LGBM_FastConfigFree(fast)
secs, ref = batch(lambda v: b.predict(v, raw_score=True, num_threads=a.threads))
emit(tool="lightgbm", version=lgb.__version__, task="batch_200k", threads=a.threads, secs=secs)

try:
    import tl2cgen
    import treelite
except ImportError:
    emit(tool="treelite", skipped="not installed (pip install treelite tl2cgen)")
else:
    model = treelite.frontend.load_lightgbm_model(a.model)
    secs, out = batch(lambda v: treelite.gtil.predict(model, v, pred_margin=True, nthread=a.threads))
    emit(tool="treelite-gtil", version=treelite.__version__, task="batch_200k",
         threads=a.threads, secs=secs,
         max_abs_diff_vs_lightgbm=float(np.abs(out.reshape(-1) - ref).max()))
    emit(tool="treelite-gtil", version=treelite.__version__, task="single_row", threads=1,
         us_per_row=1e6 * single(lambda r: treelite.gtil.predict(model, r, pred_margin=True, nthread=1)))
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "model.so")
        t = time.perf_counter()
        tl2cgen.export_lib(model, toolchain="gcc", libpath=lib, params={"parallel_comp": 8})
        compile_s = time.perf_counter() - t
        pred = tl2cgen.Predictor(lib, nthread=a.threads)
        secs, out = batch(lambda v: pred.predict(tl2cgen.DMatrix(v), pred_margin=True))
        emit(tool="tl2cgen", version=tl2cgen.__version__, task="batch_200k", threads=a.threads,
             secs=secs, compile_secs=compile_s,
             max_abs_diff_vs_lightgbm=float(np.abs(out.reshape(-1) - ref).max()))
        pred1 = tl2cgen.Predictor(lib, nthread=1)
        emit(tool="tl2cgen", version=tl2cgen.__version__, task="single_row", threads=1,
             us_per_row=1e6 * single(lambda r: pred1.predict(tl2cgen.DMatrix(r), pred_margin=True)))
