"""The registry pages (models, a model with its aliases and versions, a version's lineage,
monitoring and reports) and the comparison of runs, in headless Chromium."""

import re


def test_models_list_search_in_url(page, server):
    p = page.open("#/models", "models")
    assert p.locator("table.models tbody tr").count() == 2
    p.keyboard.press("/")
    p.keyboard.type("chu")
    p.wait_for_function("() => document.querySelectorAll('table.models tbody tr').length === 1")
    assert "q=chu" in p.url
    assert "champion" in p.locator("table.models").inner_text()
    page.shot("models")
    p.fill("[data-search]", "it's 100%_\\")  # quotes and LIKE wildcards are escaped, not errors
    p.wait_for_timeout(500)
    assert p.locator(".error").count() == 0


def test_move_an_alias_with_confirmation(page, server):
    p = page.open("#/models/churn-model", "model")
    row = lambda: p.locator("table.kv.aliases tr", has_text="champion").inner_text()  # noqa: E731
    assert "Version 2" in row()
    p.click('[data-move="champion"]')
    dlg = p.locator("dialog.alias-dialog")
    dlg.locator("select").select_option("2")
    assert dlg.get_by_role("button", name="Confirm").is_disabled()  # nothing would change
    dlg.locator("select").select_option("3")
    assert dlg.locator(".confirm-text").inner_text() == "Move alias champion from version 2 to version 3?"
    page.shot("alias-dialog")
    dlg.get_by_role("button", name="Cancel").click()
    p.wait_for_selector("dialog", state="detached")
    assert "Version 2" in row()  # cancelled: unchanged
    p.click('[data-move="champion"]')
    dlg = p.locator("dialog.alias-dialog")
    dlg.locator("select").select_option("3")
    dlg.get_by_role("button", name="Confirm").click()
    p.wait_for_function("() => [...document.querySelectorAll('table.kv.aliases tr')].some(r => r.innerText.includes('champion') && r.innerText.includes('Version 3'))")
    # The server agrees, and moving it back restores the seed.
    p = page.open("#/models/churn-model", "model")
    assert "Version 3" in row()
    p.click('[data-move="champion"]')
    dlg = p.locator("dialog.alias-dialog")
    dlg.locator("select").select_option("2")
    dlg.get_by_role("button", name="Confirm").click()
    p.wait_for_function("() => [...document.querySelectorAll('table.kv.aliases tr')].some(r => r.innerText.includes('champion') && r.innerText.includes('Version 2'))")


def test_version_lineage_monitoring_and_reports(page, server):
    p = page.open("#/models/churn-model/versions/2", "model-version")
    text = p.locator("main").inner_text()
    assert "gbdt-1" in text and "watch churn-model 2" in text and "0123456789" in text
    page.shot("version-2")
    p = page.open("#/models/churn-model/versions/1", "model-version")
    text = p.locator("main").inner_text()
    assert "b3:9f2c41d0a7e5" in text and "report.html" in text and "No monitoring runs" in text
    p.locator("a", has_text="report.html").first.click()
    p.wait_for_selector('main[data-rendered="run-artifacts"]')
    assert p.locator(".preview iframe").count() == 1


def test_compare_table_charts_and_axes_in_url(page, server):
    ids = server["run_ids"][:3]
    p = page.open("#/compare?runs=" + ",".join(ids), "compare")
    assert p.locator("svg.pc .pc-run").count() == 3
    assert p.locator("svg.scatter circle.pt").count() == 3
    p.wait_for_function("() => document.querySelector('.chart') && document.querySelector('.chart').dataset.drawMs")
    assert p.locator("table.compare tr.diff").count() >= 4
    page.shot("compare-3")
    p.check("[data-only-diff]")
    p.select_option('select[aria-label="Metric"]', "loss")
    p.select_option('select[aria-label="X (param or metric)"]', "params.model")
    assert "diff=1" in p.url and "metric=loss" in p.url and "x=params.model" in p.url
    p = page.open("#" + p.url.split("#", 1)[1], "compare")
    assert p.locator("table.compare.only-diff").count() == 1
    assert p.locator('select[aria-label="Metric"]').input_value() == "loss"
    p = page.open("#/compare?runs=" + ids[0], "compare")
    assert "select" in p.locator("main").inner_text().lower()  # the hint to select runs
