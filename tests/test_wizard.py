"""The wizard at `/` driven end to end in headless Chromium (Debian's package, through Playwright) against a real
`pii_gen serve`: pick a pack and scenario, set its window, preview, start, watch the progress reach 100%, see
the score and the report, download the files; cancel a job midway; go through the first steps by keyboard.

Each step's screenshot is saved in build/screenshots/ (not committed) to be looked at."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from browsing import browser
from serving import ROOT, Server

SHOTS = ROOT / "build" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    with Server(tmp_path_factory.mktemp("wizard") / "data", "--grace", "5") as running:
        yield running


@pytest.fixture
def page(server: Server):  # noqa: ANN201 - a Playwright page
    sync_playwright, chromium = browser()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = b.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.problems = []  # type: ignore[attr-defined]
            page.on("pageerror", lambda e: page.problems.append(str(e)))  # type: ignore[attr-defined]
            page.goto(server.url + "/")
            page.wait_for_selector("#pack option", state="attached")
            yield page
            assert page.problems == []  # type: ignore[attr-defined]
        finally:
            b.close()


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_pick_a_pack_preview_start_watch_it_finish_see_the_score_and_download(page, tmp_path: Path) -> None:  # noqa: ANN001
    page.select_option("#pack", "erp")
    page.select_option("#scenario", "peak-season")
    assert "ERP business" in page.inner_text("#pack-summary")
    shot(page, "1-source")
    page.click("#to-options")
    assert page.evaluate("document.activeElement.id") == "h-options"
    page.fill("#from", "2024-11-01")
    page.fill("#to", "2024-11-30")
    page.fill("#multiplier", "2")
    shot(page, "2-options")
    page.click("#to-preview")
    page.wait_for_selector("#preview-grid td", timeout=120_000)
    tables = page.eval_on_selector_all("#preview-table option", "os => os.map(o => o.value)")
    assert {"orders", "order_items", "payments"} <= set(tables)
    page.select_option("#preview-table", "orders")
    header = page.eval_on_selector_all("#preview-grid th", "ths => ths.map(t => t.textContent)")
    assert {"order_id", "ordered_at", "late"} <= set(header)
    assert 1 <= page.locator("#preview-grid tbody tr").count() <= 10
    shot(page, "3-preview")
    page.click("#start")
    page.wait_for_selector("#step-run:not([hidden])")
    page.wait_for_function("document.querySelectorAll('#table-progress tbody tr').length > 0", timeout=120_000)
    shot(page, "4-run")
    page.wait_for_selector("#step-result:not([hidden])", timeout=240_000)
    assert page.inner_text("#percent") == "100%"
    assert page.get_attribute("#bar", "aria-valuenow") == "100"
    assert "succeeded" in page.inner_text("#outcome")
    score = float(page.inner_text("#score"))
    assert 0 < score <= 100
    page.wait_for_function("document.querySelector('#report').contentDocument && "
                           "document.querySelector('#report').contentDocument.querySelector('svg, img')",
                           timeout=60_000)
    shot(page, "5-result")
    files = page.eval_on_selector_all("#file-list a", "as => as.map(a => a.download)")
    assert {"orders.parquet", "manifest.json"} <= set(files)
    with page.expect_download() as download:
        page.click("#zip")
    saved = tmp_path / "all.zip"
    download.value.save_as(saved)
    names = set(zipfile.ZipFile(io.BytesIO(saved.read_bytes())).namelist())
    assert names == set(files)
    # the progress reached every table: rows per table shown match the job's result
    rows = page.eval_on_selector_all("#table-progress tbody tr", "trs => trs.map(t => t.cells[0].textContent)")
    assert "orders" in rows


def test_cancel_a_job_midway(page) -> None:  # noqa: ANN001
    page.check("input[name=kind][value=population]")
    page.click("#to-options")
    page.fill("#count", "1000000")  # long enough that the cancel comes while it generates
    page.click("#to-preview")
    page.wait_for_selector("#preview-grid td", timeout=120_000)
    page.click("#start")
    page.wait_for_function("parseFloat(document.querySelector('#percent').textContent) > 0", timeout=120_000)
    shot(page, "cancel-1-running")
    page.click("#cancel")
    page.wait_for_selector("#step-result:not([hidden])", timeout=60_000)
    assert "cancelled" in page.inner_text("#outcome")
    assert page.is_hidden("#downloads")
    shot(page, "cancel-2-cancelled")


def test_the_first_steps_work_by_keyboard(page) -> None:  # noqa: ANN001
    page.focus("input[name=kind][value=pack]")
    page.keyboard.press("ArrowRight")  # radio group: to "A schema file"
    assert page.is_visible("#schema-box") and page.is_hidden("#pack-box")
    page.keyboard.press("ArrowLeft")
    assert page.is_visible("#pack-box")
    page.focus("#pack")
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "to-options":
            break
    assert page.evaluate("document.activeElement.id") == "to-options"
    page.keyboard.press("Enter")
    assert page.is_visible("#step-options") and page.evaluate("document.activeElement.id") == "h-options"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("INPUT", "SELECT", "SUMMARY", "BUTTON")
    # every control has a visible focus ring
    ring = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert ring and ring != "none"
    shot(page, "keyboard-options")
