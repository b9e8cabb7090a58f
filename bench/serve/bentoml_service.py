"""BentoML service around the same LightGBM booster: POST /predict {"inputs": [[28 floats]]}.

Usage: MODEL_TXT=... bentoml serve bentoml_service:Lgbm --port PORT
"""
import os

import bentoml
import lightgbm as lgb
import numpy as np


@bentoml.service(workers=1)
class Lgbm:
    def __init__(self):
        self.booster = lgb.Booster(model_file=os.environ["MODEL_TXT"])

    @bentoml.api
    def predict(self, inputs: list[list[float]]) -> list[float]:
        return self.booster.predict(np.asarray(inputs, dtype=np.float64), num_threads=1).tolist()
