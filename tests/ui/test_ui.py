"""The web UI in headless Chromium: every page loads without console errors, the runs table
pages/sorts/filters on the server with completion, state lives in the URL, run pages show their
data and preview artifacts, charts keep spikes through zoom, themes, keyboard and auth work."""

import gzip
import re
import urllib.request

import pytest

from conftest import Page, start_server


def rows(p):
    return p.locator("table.runs tbody tr[data-run-id]")


def names(p):
    return [t.strip() for t in p.locator("table.runs tbody tr[data-run-id] td:nth-child(2) a").all_inner_texts()]


def test_experiments_list(page, server):
    p = page.open("#/", "experiments")
    body = p.locator("main").inner_text()
    assert "churn" in body and "empty" in body and "monitoring" in body
    churn = p.locator("tr", has_text="churn")
    assert churn.locator("td").nth(1).inner_text() == "7"  # 5 runs, the live one, the child
    assert "● 1" in churn.inner_text()  # one still running
    page.shot("experiments-light")
    p.keyboard.press("/")
    p.keyboard.type("emp")
    assert p.locator("table tbody tr").count() == 1
    assert "q=emp" in p.url
    # j / Enter opens the row under the cursor.
    p.locator("main h1").click()
    p.keyboard.press("j")
    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(r"#/experiments/\d+$"))


def test_runs_table_sorts_and_filters_on_the_server(page, server):
    p = page.open(f"#/experiments/{server['experiment_id']}", "runs")
    assert rows(p).count() == 7
    assert names(p)[0] == "live-run"  # newest first
    p.locator("th.sortable", has_text="val_auc").click()
    p.wait_for_url(re.compile(r"order=metrics\.val_auc(\+|%20)DESC"))
    p.wait_for_function("() => document.querySelector('table.runs tbody td:nth-child(2)').innerText.includes('gbdt-4')")
    p.locator("th.sortable", has_text="val_auc").click()
    p.wait_for_url(re.compile(r"order=metrics\.val_auc(\+|%20)ASC"))
    # Completion of metric names, then a filter applied with Enter.
    f = p.locator("input.filter")
    f.click()
    f.type("metrics.val")
    sugg = p.locator(".suggest li")
    assert sugg.first.inner_text() == "metrics.val_auc"
    f.press("Tab")
    assert f.input_value() == "metrics.val_auc "
    f.type("> 0.91")
    f.press("Enter")
    p.wait_for_function("() => document.querySelectorAll('table.runs tbody tr[data-run-id]').length === 2")
    assert sorted(names(p)) == ["forest-3", "gbdt-4"]
    assert "filter=metrics.val_auc" in p.url
    page.shot("runs-filtered")
    # A filter that does not parse says where.
    f.fill("metrics.val_auc >>> 1")
    f.press("Enter")
    err = p.locator(".error")
    err.wait_for()
    assert "invalid filter" in err.inner_text().lower() or "400" in err.inner_text()
    # The browser logs the refused request itself; the page showed it.
    page.errors[:] = [e for e in page.errors if "status of 400" not in e]


def test_columns_group_and_selection_live_in_the_url(page, server):
    p = page.open(f"#/experiments/{server['experiment_id']}", "runs")
    p.get_by_role("button", name="Columns").click()
    pop = p.locator(".popover")
    pop.locator("label", has_text="loss").first.locator("input").uncheck()
    p.keyboard.press("Escape")
    assert "cols=" in p.url and "metrics.loss%2C" not in p.url and not re.search(r"metrics\.loss($|%2C|&)", p.url)
    url = p.url
    p = page.open(url.split("/", 3)[3] if False else "#" + url.split("#", 1)[1], "runs")
    heads = p.locator("table.runs thead").inner_text()
    assert "val_auc" in heads and "\nloss\n" not in heads + "\n"
    p.select_option("select[aria-label='Group runs by']", "params.model")
    # Counts and means come from the server over every matching run.
    p.wait_for_function("() => document.querySelector('tr.group[data-group=\"gbdt\"]') && document.querySelector('tr.group[data-group=\"gbdt\"]').innerText.includes('μ')")
    groups = p.locator("tr.group").all_inner_texts()
    assert any("model = gbdt" in g and "4 runs" in g for g in groups), groups  # live-run is gbdt too
    import json as _json
    api = _json.load(urllib.request.urlopen(server["url"] + f"api/smelt/v1/ui/groups?experiment_id={server['experiment_id']}&by=params.model&metrics=val_auc"))
    gbdt = next(g for g in api["groups"] if g["value"] == "gbdt")
    assert gbdt["runs"] == 4 and gbdt["metrics"][0]["count"] == 3  # live-run has no val_auc
    assert abs(gbdt["metrics"][0]["mean"] - (0.899697 + 0.904204 + 0.916013) / 3) < 1e-5
    assert "group=params.model" in p.url
    page.shot("runs-grouped")
    for r in range(3):
        rows(p).nth(r).locator("input[type=checkbox]").check()
    btn = p.get_by_role("button", name="Compare 3 runs")
    assert btn.is_enabled()
    assert "sel=" in p.url
    btn.click()
    p.wait_for_url(re.compile(r"#/compare\?runs=\w+%2C\w+%2C\w+"))
    p.wait_for_selector("main[data-rendered]")


def test_run_page_shows_everything_logged(page, server):
    rid = server["run_ids"][0]
    p = page.open(f"#/runs/{rid}", "run-overview")
    text = p.locator("main").inner_text()
    for want in ["gbdt-0", "learning_rate", "0.1", "b3:9f2c41d0a7e5", "7,043", "fold-0", "churn-model v1", "0123456789abcdef", "smelt.env.os"]:
        assert want in text, want
    loss = p.locator("tr", has_text="loss").first.locator("td").all_inner_texts()
    latest, lo, hi = (float(x) for x in loss[:3])
    assert lo == latest and hi > 0.6  # the loss falls: its first value is the highest
    page.shot("run-overview")
    p.locator("a", has_text="fold-0").click()
    p.wait_for_url(re.compile(server["child_run_id"]))


def test_artifact_previews(page, server):
    rid = server["run_ids"][0]
    p = page.open(f"#/runs/{rid}?tab=artifacts&path=predictions.csv", "run-artifacts")
    p.wait_for_selector("table.csv")
    assert p.locator("table.csv tbody tr").count() == 3
    assert "maybe, later" in p.locator("table.csv").inner_text()
    p.locator(".tree span.dir", has_text="plots").click()
    p.locator(".tree a", has_text="roc.png").click()
    p.wait_for_function("() => { const i = document.querySelector('.preview img'); return i && i.complete && i.naturalWidth === 4; }")
    assert "path=plots%2Froc.png" in p.url
    p.locator(".tree a", has_text="report.html").click()
    frame = p.locator(".preview iframe")
    assert frame.get_attribute("sandbox") == "allow-scripts"
    fl = p.frame_locator(".preview iframe")
    assert "Evaluation report" in fl.locator("h1").inner_text()
    assert "scripted" in fl.locator("body").inner_text()  # the report's own script ran, sandboxed
    page.shot("artifact-report")
    p.locator(".tree span.dir", has_text="model").click()
    p.locator(".tree a", has_text="model.json").click()
    summary = p.locator(".model-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "sepal_length_cm" in text and "logistic_regression" in text and "0, 1, 2" in text and "validation" in text, text
    page.shot("artifact-model")
    p.locator(".tree a", has_text="arrays.safetensors").click()
    p.wait_for_function("() => document.querySelector('.preview').innerText.includes('tensors')")
    assert "F64" in p.locator(".preview table").inner_text()


def test_chart_zoom_fetches_a_finer_window_and_keeps_the_spike(page, server):
    rid, spike = server["long_run_id"], server["spike_step"]
    p = page.open(f"#/runs/{rid}?tab=charts&metric=loss_long", "run-charts")
    chart = p.locator(".chart")
    p.wait_for_function("() => document.querySelector('.chart').dataset.drawMs")
    points = int(chart.get_attribute("data-points"))
    assert 100 < points <= 2400, points  # 30,000 steps, downsampled by the server
    assert float(chart.get_attribute("data-ymax")) == 50.0  # the one spike survives
    page.shot("chart-full")
    # Drag across the middle third: the server sends that step window, finer.
    box = p.locator(".chart .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    p.mouse.move(box["x"] + box["width"] * 0.33, y)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    p.mouse.up()
    p.wait_for_function("() => document.querySelector('.chart').dataset.zoomMs")
    status = p.locator(".chart-status").inner_text()
    lo, hi = (int(x) for x in re.search(r"steps (\d+)–(\d+)", status).groups())
    assert lo < spike < hi, (lo, hi, spike)
    assert hi - lo < 20_000
    assert float(chart.get_attribute("data-ymax")) == 50.0
    assert p.get_by_role("button", name="Reset zoom").is_enabled()
    page.shot("chart-zoomed")
    # Log scale and smoothing redraw without errors; double click resets.
    p.locator(".chart-controls input[type=checkbox]").check()
    p.locator(".chart .u-over").dblclick()
    p.wait_for_function("() => !document.querySelector('.chart-status').innerText.includes('steps ')")


def test_run_charts_grid_overlays_and_live(page, server):
    p = page.open(f"#/runs/{server['run_ids'][0]}?tab=charts", "run-charts")
    p.wait_for_function("() => [...document.querySelectorAll('.chart')].filter(c => c.dataset.drawMs).length === 3")
    page.shot("run-charts")


def test_theme_switch_and_shortcuts(page, server):
    p = page.open("#/", "experiments")
    before = p.evaluate("document.documentElement.dataset.theme")
    p.keyboard.press("t")
    after = p.evaluate("document.documentElement.dataset.theme")
    assert {before, after} == {"light", "dark"}
    if after != "dark":
        p.keyboard.press("t")
    p = page.open(f"#/experiments/{server['experiment_id']}", "runs")
    assert p.evaluate("document.documentElement.dataset.theme") == "dark"  # remembered
    bg = p.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg != "rgb(255, 255, 255)"
    page.shot("runs-dark")
    p = page.open(f"#/runs/{server['long_run_id']}?tab=charts&metric=loss_long", "run-charts")
    p.wait_for_function("() => document.querySelector('.chart').dataset.drawMs")
    page.shot("chart-dark")
    p.keyboard.press("?")
    dlg = p.locator("dialog.shortcuts")
    dlg.wait_for()
    assert "search or filter" in dlg.inner_text()
    p.keyboard.press("Escape")
    p.wait_for_selector("dialog.shortcuts", state="detached")
    p.keyboard.press("g")
    p.keyboard.press("m")
    p.wait_for_url(re.compile(r"#/models$"))


def test_unknown_page_and_missing_run_say_so(page, server):
    p = page.open("#/experiments/1", "runs")
    p.goto(server["url"] + "#/nowhere")
    p.locator(".error").wait_for()
    assert "No page" in p.locator(".error").inner_text()
    p.goto("about:blank")
    p.goto(server["url"] + "#/runs/0123456789abcdef0123456789abcdef")
    p.locator(".error").wait_for()
    assert "404" in p.locator(".error").inner_text()
    page.errors.clear()  # the browser logs the 404 of that fetch; the page handled it


def test_assets_are_small_and_cached(server):
    import json as _json

    url = server["url"]
    html = urllib.request.urlopen(url).read().decode()
    names = set(re.findall(r'/ui/([\w./-]+)', html))
    total = 0
    etags = {}
    for n in sorted(names | {"app.js", "api.js", "util.js", "experiments.js", "runs.js", "run.js", "artifacts.js", "chart.js", "compare.js", "registry.js"}):
        req = urllib.request.Request(url + "ui/" + n, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as r:
            body = r.read()
            assert r.headers["Content-Encoding"] == "gzip", n
            etags[n] = r.headers["ETag"]
            gzip.decompress(body)
            total += len(body)
    assert total <= 300_000, f"UI assets are {total} bytes compressed (budget 300 kB)"
    # A revalidation is a 304.
    req = urllib.request.Request(url + "ui/app.js", headers={"If-None-Match": etags["app.js"]})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("expected 304")
    except urllib.error.HTTPError as e:
        assert e.code == 304
    csp = urllib.request.urlopen(url).headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    # A malformed request gets MLflow's error shape, naming the missing field.
    try:
        urllib.request.urlopen(url + "api/smelt/v1/ui/keys")
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as e:
        body = _json.load(e)
        assert e.code == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE" and "experiment_id" in body["message"]
    keys = _json.load(urllib.request.urlopen(url + f"api/smelt/v1/ui/keys?experiment_id={server['experiment_id']}"))["keys"]
    assert "val_auc" in keys["metrics"] and "learning_rate" in keys["params"]


def test_auth_required_when_configured(browser, tmp_path, shots):
    (tmp_path / "auth.toml").write_text('[[user]]\nname = "ada"\npassword = "s3cret-pass"\npermission = "read"\n')
    proc, url = start_server(str(tmp_path), ["--auth-config", str(tmp_path / "auth.toml")])
    try:
        try:
            urllib.request.urlopen(url + "/ui/app.js")
            raise AssertionError("expected 401 without credentials")
        except urllib.error.HTTPError as e:
            assert e.code == 401 and "Basic" in e.headers["WWW-Authenticate"]
        ctx = browser.new_context(http_credentials={"username": "ada", "password": "s3cret-pass"})
        pg = Page(ctx.new_page(), url + "/", shots)
        p = pg.open("#/", "experiments")
        assert "Default" in p.locator("main").inner_text()
        ctx.close()
        assert not pg.errors, pg.errors
    finally:
        proc.terminate()
        proc.wait(10)


def test_parquet_preview_reads_the_first_rows_on_the_server(page, server):
    rid = server["run_ids"][0]
    p = page.open(f"#/runs/{rid}?tab=artifacts&path=scores.parquet", "run-artifacts")
    p.wait_for_selector("table.parquet")
    assert p.locator("table.parquet tbody tr").count() == 100
    head = p.locator("table.parquet thead").inner_text()
    assert "id" in head and "score" in head and "plan" in head and "i64" in head and "str" in head
    assert "250 rows" in p.locator(".preview").inner_text()
    first = p.locator("table.parquet tbody tr").first.locator("td").all_inner_texts()
    assert first == ["1", "0.0", "basic"], first
    assert p.locator("table.parquet tbody tr").nth(2).locator("td").nth(2).inner_text() == "null"
    # Not Parquet: a clear refusal from the API.
    import json
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(server["url"] + f"api/smelt/v1/ui/table-preview?run_id={rid}&path=notes.txt")
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and "Parquet" in json.load(e)["message"]


def test_a_real_evaluation_report_renders_in_its_sandbox(page, server):
    rid = server["report_run_id"]
    p = page.open(f"#/runs/{rid}?tab=artifacts&path=eval%2Freport.html", "run-artifacts")
    frame = p.frame_locator(".preview iframe")
    frame.locator("h1").wait_for()
    assert "logistic_regression" in frame.locator("h1").inner_text()
    assert "Key findings".lower() in frame.locator("body").inner_text().lower()
    # The report cannot reach the page that embeds it (opaque origin).
    assert p.locator(".preview iframe").get_attribute("sandbox") == "allow-scripts"
    page.shot("artifact-real-report")
