"""Times the web UI in headless Chromium (Debian's), a fresh browser context per repeat (cold cache).

    python bench/ui_paint.py --url http://127.0.0.1:5000 --kind smelt --experiment-id 4 \
        [--newest trial-09999] [--long-run RUN_ID] [--repeats 5]

runs table, first meaningful paint: navigation start → the newest run's name is on screen (the
same test for Smelt's UI and MLflow's). Smelt only: a sort by a metric column and a filter,
each from the click/Enter to the new rows drawn (the page's own timing, table[data-load-ms]);
the long metric chart (fetch + draw, chart[data-draw-ms]) and a zoom refinement
(chart[data-zoom-ms]). Prints one JSON line of medians.
"""

import argparse
import json
import os
import statistics

from playwright.sync_api import sync_playwright


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--kind", choices=["smelt", "mlflow"], required=True)
    ap.add_argument("--experiment-id", required=True)
    ap.add_argument("--newest", default="trial-09999")
    ap.add_argument("--long-run")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    base = a.url.rstrip("/") + "/"
    out = {"kind": a.kind, "paint_ms": [], "sort_ms": [], "filter_ms": [], "chart_ms": [], "zoom_ms": [], "points": None}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("SMELT_CHROMIUM", "/usr/bin/chromium"))
        for i in range(a.repeats + 1):  # the first is a warm-up of the server
            ctx = b.new_context(viewport={"width": 1400, "height": 900})
            pg = ctx.new_page()
            # MLflow 3 opens an experiment on its GenAI overview; its runs table is at /runs.
            route = f"#/experiments/{a.experiment_id}" + ("/runs" if a.kind == "mlflow" else "")
            pg.goto(base + route, wait_until="commit")
            pg.wait_for_function(f"() => document.body && document.body.innerText.includes({json.dumps(a.newest)})", polling="raf", timeout=120_000)
            paint = pg.evaluate("performance.now()")
            if i:
                out["paint_ms"].append(paint)
            else:
                # JavaScript and CSS over the wire (compressed bytes) for that first view.
                out["js_css_bytes"] = pg.evaluate("""performance.getEntriesByType('resource')
                    .filter(e => /\\.(m?js|css)(\\?|$)/.test(e.name))
                    .reduce((s, e) => s + (e.encodedBodySize || e.transferSize || 0), 0)""")
            if a.kind == "smelt":
                pg.wait_for_selector("table.runs[data-load-ms]")
                before = pg.get_attribute("table.runs", "data-load-ms")
                pg.locator("th.sortable", has_text="m3").click()
                pg.wait_for_function(f"() => document.querySelector('table.runs').dataset.loadMs !== {json.dumps(before)} && location.href.includes('m3')")
                if i:
                    out["sort_ms"].append(float(pg.get_attribute("table.runs", "data-load-ms")))
                before = pg.get_attribute("table.runs", "data-load-ms")
                pg.fill("input.filter", "metrics.m1 > 0.5 AND params.p2 = '7'")
                pg.press("input.filter", "Enter")
                pg.wait_for_function(f"() => document.querySelector('table.runs').dataset.loadMs !== {json.dumps(before)} && location.href.includes('filter')")
                if i:
                    out["filter_ms"].append(float(pg.get_attribute("table.runs", "data-load-ms")))
                if a.long_run:
                    pg.goto("about:blank")
                    pg.goto(base + f"#/runs/{a.long_run}?tab=charts&metric=loss_long")
                    pg.wait_for_function("() => document.querySelector('.chart') && document.querySelector('.chart').dataset.drawMs", timeout=60_000)
                    chart = pg.locator(".chart")
                    out["points"] = int(chart.get_attribute("data-points"))
                    out["ymax"] = float(chart.get_attribute("data-ymax"))
                    box = pg.locator(".chart .u-over").bounding_box()
                    y = box["y"] + box["height"] / 2
                    pg.mouse.move(box["x"] + box["width"] * 0.40, y)
                    pg.mouse.down()
                    pg.mouse.move(box["x"] + box["width"] * 0.45, y, steps=4)
                    pg.mouse.up()
                    pg.wait_for_function("() => document.querySelector('.chart').dataset.zoomMs", timeout=30_000)
                    if i:
                        out["chart_ms"].append(float(chart.get_attribute("data-draw-ms")))
                        out["zoom_ms"].append(float(chart.get_attribute("data-zoom-ms")))
                        out["zoom_ymax"] = float(chart.get_attribute("data-ymax"))
            ctx.close()
        b.close()
    summary = {k: (round(statistics.median(v), 1) if isinstance(v, list) and v else v) for k, v in out.items()}
    summary["all"] = {k: [round(x, 1) for x in v] for k, v in out.items() if isinstance(v, list)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
