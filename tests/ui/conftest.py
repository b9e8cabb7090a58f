"""Fixtures for the web UI's browser tests: a fresh `smelt server` (SMELT_BIN) on a free port with a
seeded SQLite store, Debian's Chromium through Playwright, and pages that fail the test on any
console error or uncaught exception. Screenshots go to SMELT_UI_SHOTS (default: a temp dir)."""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp, extra=()):
    port = free_port()
    log = open(Path(tmp) / "server.log", "w")
    proc = subprocess.Popen(
        [os.environ["SMELT_BIN"], "server", "--backend-store-uri", f"sqlite:///{tmp}/mlruns.db",
         "--artifacts-destination", f"file://{tmp}/artifacts", "--host", "127.0.0.1", "--port", str(port), *extra],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            return proc, url
        except Exception:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("smelt server did not start:\n" + (Path(tmp) / "server.log").read_text()[-2000:])


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="smelt-ui-test-")
    proc, url = start_server(tmp)
    out = subprocess.run([sys.executable, str(HERE / "seed.py"), url, "--long-history", "30000"],
                         check=True, capture_output=True, text=True).stdout
    seed = json.loads(out)
    seed["report_run_id"] = add_real_report(url, tmp, seed["run_ids"][2])
    yield {"url": url + "/", "tmp": tmp, **seed}
    proc.terminate()
    proc.wait(10)


def add_real_report(url, tmp, run_id):
    """A real evaluation report (`smelt train` + `smelt eval` on the bundled iris table) uploaded
    as `eval/report.html` of `run_id`, so the sandboxed preview is checked on what Smelt writes."""
    iris = HERE.parent.parent / "data" / "iris.csv"
    env = {**os.environ, "SMELT_NO_TRACK": "1"}
    model, report = Path(tmp) / "model", Path(tmp) / "eval" / "report.html"
    for args in (["train", str(iris), "--target", "target", "--model", "logistic", "--out", str(model)],
                 ["eval", str(model), str(iris), "--report", str(report)]):
        subprocess.run([os.environ["SMELT_BIN"], *args], check=True, capture_output=True, env=env)
    info = json.load(urllib.request.urlopen(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}"))["run"]["info"]
    prefix = info["artifact_uri"].split("mlflow-artifacts:", 1)[1].lstrip("/")
    req = urllib.request.Request(f"{url}/api/2.0/mlflow-artifacts/artifacts/{prefix}/eval/report.html",
                                 data=report.read_bytes(), method="PUT")
    urllib.request.urlopen(req).read()
    return run_id


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("SMELT_CHROMIUM", "/usr/bin/chromium"))
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots():
    d = Path(os.environ.get("SMELT_UI_SHOTS") or tempfile.mkdtemp(prefix="smelt-ui-shots-"))
    d.mkdir(parents=True, exist_ok=True)
    return d


class Page:
    """A Playwright page that records console errors; `open(hash)` waits for the page's render."""

    def __init__(self, page, base, shots):
        self.p = page
        self.base = base
        self.shots = shots
        self.errors = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def open(self, hash_, rendered=None):
        # A full load each time (hash-only navigation would keep the old document).
        self.p.goto("about:blank")
        self.p.goto(self.base + hash_)
        sel = f'main[data-rendered="{rendered}"]' if rendered else "main[data-rendered]"
        self.p.wait_for_selector(sel, timeout=10_000)
        return self.p

    def shot(self, name):
        """Saves a screenshot and checks that it is not blank (many distinct colours)."""
        path = self.shots / f"{name}.png"
        png = self.p.screenshot(path=str(path))
        colours = self.p.evaluate(
            """async (b64) => {
                const img = new Image();
                img.src = 'data:image/png;base64,' + b64;
                await img.decode();
                const c = new OffscreenCanvas(img.width, img.height);
                const g = c.getContext('2d');
                g.drawImage(img, 0, 0);
                const d = g.getImageData(0, 0, img.width, img.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                return seen.size;
            }""", base64.b64encode(png).decode())
        assert colours > 40, f"{name}: the screenshot looks blank ({colours} colours)"
        return path


@pytest.fixture
def page(browser, server, shots):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = Page(ctx.new_page(), server["url"], shots)
    yield pg
    errors = pg.errors
    ctx.close()
    assert not errors, "console errors:\n" + "\n".join(errors)
