"""The real clients against `smelt serve`: tritonclient[http] (Open Inference Protocol v2, JSON and
binary tensors) and MLflow's own scoring client (`mlflow.pyfunc.scoring_server.client`), plus the
request shapes MLflow's docs show (pandas `to_dict(orient="split")`, records, CSV, instances);
then OpenAI's Python client (`embeddings.create`, float and base64) against all-MiniLM-L6-v2
served from its sentence-transformers directory, compared with sentence-transformers' own
vectors (crates/smelt-deep/tests/fixtures/minilm_st.json) to 1e-4.

Run by scripts/test-serve-clients with the smelt binary:
    python test_clients.py SMELT_BIN DATA_DIR
It trains two models with the binary (penguins: numeric, categorical and missing cells; iris:
numeric only), serves both, and checks every answer against `smelt predict` on the same rows.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import requests
import tritonclient.http as httpclient
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from tritonclient.utils import InferenceServerException

SMELT, DATA = sys.argv[1], sys.argv[2]
failures = []


def check(name, cond, detail=""):
    print(("ok    " if cond else "FAIL  ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def run(*args):
    subprocess.run([SMELT, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


tmp = tempfile.mkdtemp(prefix="smelt-serve-clients-")
pen, iris = f"{tmp}/penguins", f"{tmp}/iris"
run("train", f"{DATA}/penguins.csv", "--target", "species", "--model", "random_forest_classifier",
    "--out", pen, "--no-track")
run("train", f"{DATA}/iris.csv", "--target", "target", "--model", "logistic_regression",
    "--out", iris, "--no-track")
run("predict", pen, f"{DATA}/penguins.csv", "--out", f"{tmp}/pen.csv")
run("predict", iris, f"{DATA}/iris.csv", "--out", f"{tmp}/iris.csv")
want_pen = pd.read_csv(f"{tmp}/pen.csv")
want_iris = pd.read_csv(f"{tmp}/iris.csv")
classes = [c[len("proba_"):] for c in want_pen.columns if c.startswith("proba_")]
proba_cols = [f"proba_{c}" for c in classes]

port = free_port()
log = open(f"{tmp}/serve.log", "w")
server = subprocess.Popen([SMELT, "serve", f"penguins={pen}", f"iris={iris}", "--port", str(port)],
                          stdout=log, stderr=subprocess.STDOUT)
try:
    url = f"127.0.0.1:{port}"
    client = ScoringServerClient("127.0.0.1", port)
    client.wait_server_ready(timeout=30, scoring_server_proc=server)

    # ---------------------------------------------------------------- tritonclient[http]
    t = httpclient.InferenceServerClient(url=url)
    check("triton: server live", t.is_server_live())
    check("triton: server ready", t.is_server_ready())
    check("triton: model ready", t.is_model_ready("penguins"))
    meta = t.get_server_metadata()
    check("triton: server metadata", meta["name"] == "smelt" and "binary_tensor_data" in meta["extensions"], meta)
    mmeta = t.get_model_metadata("penguins")
    check("triton: model metadata", [o["name"] for o in mmeta["outputs"]] == ["predict", "predict_proba"], mmeta)
    t.get_model_config("penguins")
    index = t.get_model_repository_index()
    check("triton: repository index", sorted(m["name"] for m in index) == ["iris", "penguins"], index)

    df = pd.read_csv(f"{DATA}/penguins.csv").drop(columns=["species"])
    for binary in (False, True):
        inputs = []
        for spec in mmeta["inputs"]:
            col = df[spec["name"]]
            if spec["datatype"] == "BYTES":
                # BYTES tensors have no null: an empty string is a missing category.
                arr = np.array(["" if pd.isna(v) else str(v) for v in col], dtype=np.object_)
            elif spec["datatype"] == "INT64" and not col.isna().any():
                arr = col.to_numpy(np.int64)
            else:
                spec = dict(spec, datatype="FP64")
                arr = col.to_numpy(np.float64)
            inp = httpclient.InferInput(spec["name"], [len(df)], spec["datatype"])
            inp.set_data_from_numpy(arr, binary_data=binary)
            inputs.append(inp)
        outputs = [httpclient.InferRequestedOutput("predict", binary_data=binary),
                   httpclient.InferRequestedOutput("predict_proba", binary_data=binary)]
        try:
            res = t.infer("penguins", inputs, outputs=outputs, request_id="r-1")
        except InferenceServerException as e:
            check(f"triton: infer (binary={binary})", False, e)
            continue
        labels = [x.decode() if isinstance(x, bytes) else x for x in res.as_numpy("predict")]
        proba = res.as_numpy("predict_proba")
        check(f"triton: labels equal smelt predict (binary={binary})",
              labels == list(want_pen["prediction"]), labels[:5])
        check(f"triton: probabilities within 1e-9 (binary={binary})",
              proba.shape == (len(df), 3) and np.allclose(proba, want_pen[proba_cols].to_numpy(), atol=1e-9, rtol=0))
        check("triton: response id", res.get_response()["id"] == "r-1", res.get_response())

    # Numeric-only model, one [rows, 4] tensor (Triton's usual layout), FP32 binary.
    X = pd.read_csv(f"{DATA}/iris.csv").drop(columns=["target"]).to_numpy(np.float32)
    inp = httpclient.InferInput("input-0", list(X.shape), "FP32")
    inp.set_data_from_numpy(X, binary_data=True)
    res = t.infer("iris", [inp])
    labels = [x.decode() if isinstance(x, bytes) else x for x in res.as_numpy("predict")]
    check("triton: [rows, features] tensor", labels == [str(x) for x in want_iris["prediction"]], labels[:5])

    # A bad request comes back as an exception with our message, and the server goes on.
    bad = httpclient.InferInput("island", [1], "BYTES")
    bad.set_data_from_numpy(np.array(["Atlantis"], dtype=np.object_), binary_data=False)
    try:
        t.infer("penguins", [bad])
        check("triton: bad request raises", False, "no exception")
    except InferenceServerException as e:
        check("triton: bad request raises with the reason", "missing feature" in str(e), str(e))
    check("triton: still ready after a bad request", t.is_server_ready())

    # ---------------------------------------------------------------- MLflow scoring
    check("mlflow: ping", (client.ping() or True))
    check("mlflow: version", client.get_version() != "")
    resp = client.invoke(df)  # dataframe_split with NaN for missing cells, as MLflow writes it
    preds = resp.get_predictions()
    got = list(preds.iloc[:, 0]) if hasattr(preds, "iloc") else list(preds)
    check("mlflow: ScoringServerClient.invoke(DataFrame)", got == list(want_pen["prediction"]), got[:5])
    base = f"http://{url}"
    records = json.loads(df.to_json(orient="records"))
    r = requests.post(f"{base}/invocations", json={"dataframe_records": records})
    check("mlflow: dataframe_records", r.ok and r.json()["predictions"] == list(want_pen["prediction"]), r.text[:200])
    r = requests.post(f"{base}/invocations", data=df.to_csv(index=False), headers={"Content-Type": "text/csv"})
    check("mlflow: CSV body", r.ok and r.json()["predictions"] == list(want_pen["prediction"]), r.text[:200])
    r = requests.post(f"{base}/invocations", json={"instances": records[:3]})
    check("mlflow: instances", r.ok and r.json()["predictions"] == list(want_pen["prediction"][:3]), r.text[:200])
    r = requests.post(f"{base}/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[1]]}})
    check("mlflow: bad request is 400 with MLflow's error shape",
          r.status_code == 400 and r.json().get("error_code") == "BAD_REQUEST", r.text)

    # ---------------------------------------------------------------- memory under mixed load
    def rss_kib(pid):
        with open(f"/proc/{pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

    session = requests.Session()
    bad_bodies = ['{', '[1, 2]', '{"island": "Atlantis"}', json.dumps({"instances": [[1, 2]]})]
    def burst(n):
        for i in range(n):
            if i % 3 == 0:
                session.post(f"{base}/invocations", data=bad_bodies[i % len(bad_bodies)],
                             headers={"Content-Type": "application/json"})
            else:
                session.post(f"{base}/predict/penguins", json=records[i % len(records)])
    burst(2000)
    before = rss_kib(server.pid)
    burst(6000)
    after = rss_kib(server.pid)
    check(f"memory stays put under mixed good/bad load ({before} -> {after} KiB)", after - before < 8192,
          f"grew by {after - before} KiB")

    # ---------------------------------------------------------------- people
    r = requests.post(f"{base}/predict/penguins", json=records[0])
    check("/predict: one object", r.ok and r.json()["prediction"] == want_pen["prediction"][0], r.text)
    r = requests.get(f"{base}/openapi.json")
    check("/openapi.json", r.ok and "/predict/{name}" in r.json()["paths"])
finally:
    server.terminate()
    code = server.wait(timeout=10)
    check("graceful shutdown on SIGTERM exits 0", code == 0, code)
    log.close()


# -------------------------------------------------------------------- OpenAI's client, embeddings
def minilm_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in [os.environ.get("SMELT_MINILM_DIR"), os.path.join(here, "../../../shared/data/minilm"),
              os.path.expanduser("~/.cache/smelt-minilm")]:
        if d and os.path.isfile(os.path.join(d, "model.safetensors")):
            return d
    return None


minilm = minilm_dir()
if minilm is None:
    check("all-MiniLM-L6-v2 found (scripts/fetch-minilm)", not os.environ.get("CI"))
    print("skip  OpenAI client: no all-MiniLM-L6-v2 directory (scripts/fetch-minilm)")
else:
    import openai

    here = os.path.dirname(os.path.abspath(__file__))
    fixture = json.load(open(os.path.join(here, "../../crates/smelt-deep/tests/fixtures/minilm_st.json")))
    texts = [i["text"] for i in fixture["items"]]
    want = np.array([i["embedding"] for i in fixture["items"]], dtype=np.float32)
    port = free_port()
    elog = open(f"{tmp}/serve-embed.log", "w")
    server = subprocess.Popen([SMELT, "serve", f"minilm={minilm}", "--port", str(port)],
                              stdout=elog, stderr=subprocess.STDOUT)
    try:
        ScoringServerClient("127.0.0.1", port).wait_server_ready(timeout=60, scoring_server_proc=server)
        oc = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        # The client asks for base64 unless told otherwise, and decodes it itself.
        r = oc.embeddings.create(model="minilm", input=texts)
        got = np.array([d.embedding for d in r.data], dtype=np.float32)
        worst = float(np.abs(got - want).max())
        check(f"openai: embeddings.create equals sentence-transformers (max |diff| {worst:.1e})",
              got.shape == want.shape and worst <= 1e-4, worst)
        check("openai: indices, model and usage",
              [d.index for d in r.data] == list(range(len(texts))) and r.model == "minilm"
              and r.usage.prompt_tokens > len(texts) and r.usage.total_tokens == r.usage.prompt_tokens, r.usage)
        f = oc.embeddings.create(model="minilm", input=texts[0], encoding_format="float")
        check("openai: encoding_format=float, one text",
              len(f.data) == 1 and np.abs(np.array(f.data[0].embedding, dtype=np.float32) - want[0]).max() <= 1e-4)
        try:
            oc.embeddings.create(model="minilm", input=[[101, 2000, 102]])
            check("openai: token ids are refused", False, "accepted")
        except openai.BadRequestError as e:
            check("openai: token ids are refused with a 400 naming them", "token ids" in str(e), e)
        try:
            oc.embeddings.create(model="nope", input="x")
            check("openai: unknown model is 404", False, "accepted")
        except openai.NotFoundError as e:
            check("openai: unknown model is 404 naming the served ones", "minilm" in str(e), e)
        r = requests.post(f"http://127.0.0.1:{port}/v2/models/minilm/infer", json={"inputs": [
            {"name": "text", "datatype": "BYTES", "shape": [2], "data": texts[:2]}]})
        out = r.json()["outputs"][0] if r.ok else {}
        check("OIP: an embedding model answers FP32 [n, 384]",
              out.get("datatype") == "FP32" and out.get("shape") == [2, 384]
              and np.abs(np.array(out["data"], dtype=np.float32).reshape(2, 384) - want[:2]).max() <= 1e-4, r.text[:300])
    finally:
        server.terminate()
        check("embedding server: graceful shutdown", server.wait(timeout=10) == 0)
        elog.close()

if failures:
    print(open(f"{tmp}/serve.log").read()[-3000:])
    if os.path.exists(f"{tmp}/serve-embed.log"):
        print(open(f"{tmp}/serve-embed.log").read()[-3000:])
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all serving client checks passed")
