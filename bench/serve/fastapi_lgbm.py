"""FastAPI + uvicorn (1 worker) around the LightGBM booster, as ../shared/bench/serve_fastapi.py does for
scikit-learn: POST /predict {"inputs": [[28 floats], ...]} -> {"predictions": [...]}; GET /health.

Usage: python fastapi_lgbm.py MODEL_TXT PORT
"""
import sys

import lightgbm as lgb
import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

booster = lgb.Booster(model_file=sys.argv[1])
app = FastAPI()


class Req(BaseModel):
    inputs: list[list[float]]


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/predict")
def predict(r: Req):
    return {"predictions": booster.predict(np.asarray(r.inputs, dtype=np.float64), num_threads=1).tolist()}


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", workers=1)
