"""The HTML reports in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Each report is written to a file and opened from a file:// URL, as a buyer would open it from a mail or a
share: it must load with no console or page error and no request for anything, draw its chart bars, and its
outcome filter must hide and show rows. Full-page screenshots go to test-output/screenshots/ for review.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Request, sync_playwright

from conformance.procurement.collect import comparison_from_files
from conformance.reporters.files import write_comparison
from conformance.reporters.html import render_comparison_html, render_html
from tests.conftest import Run
from tests.unit.test_html_reports import LOAD_ID, LOAD_OPERATIONS, LOAD_TASKS, sample_comparison, sample_scorecard

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run should have installed Debian's chromium "
                        "(`command -v chromium || missing+=(chromium)`)")
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Opened:
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], f"console or page errors: {self.errors}"
        assert self.requests == [], f"the report asked for something beyond itself: {self.requests}"


@pytest.fixture
def open_report(browser: Browser) -> Iterator[Callable[[Path], Opened]]:
    contexts = []

    def opener(path: Path) -> Opened:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        opened = Opened(page)
        page.on("console", lambda m: opened.errors.append(f"console {m.type}: {m.text}") if m.type == "error"
                else None)
        page.on("pageerror", lambda e: opened.errors.append(f"pageerror: {e}"))

        def on_request(request: Request) -> None:
            if request.url != path.as_uri():
                opened.requests.append(request.url)

        page.on("request", on_request)
        page.goto(path.as_uri(), wait_until="load")
        opened.assert_clean()
        return opened

    yield opener
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_bars_drawn(bars: Locator, expected: int) -> None:
    """`expected` bars; each with a score above 0 has a rendered box (a 0 is a bar of no width, and its label)."""
    assert bars.count() == expected
    drawn = 0
    for i in range(expected):
        bar = bars.nth(i)
        box = bar.bounding_box()
        assert box is not None and box["height"] > 0, f"bar {i} not rendered: {box}"
        if float(bar.get_attribute("data-score") or 0) > 0:
            assert box["width"] > 0, f"bar {i} has a score but no width: {box}"
            drawn += 1
    assert drawn > 0


def assert_latency_chart_drawn(page: Page, chart: Locator, expected: Mapping[str, tuple[float, ...]]) -> None:
    """One visible bar per name and percentile, each a box of non-zero size, longer for a larger latency, and its
    number written on screen beside it."""
    assert chart.get_attribute("role") == "img" and chart.is_visible()
    bars = chart.locator("rect.bar")
    assert bars.count() == 3 * len(expected)
    widths: dict[float, float] = {}
    for i in range(bars.count()):
        box = bars.nth(i).bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0, f"bar {i} not rendered: {box}"
        widths[float(bars.nth(i).get_attribute("data-ms") or "nan")] = box["width"]
    ordered = [widths[v] for v in sorted(widths)]
    assert ordered == sorted(ordered)
    values = chart.locator("text.value")
    assert [values.nth(i).text_content() or "" for i in range(values.count())][:3] == [
        f"{v:g} ms" for v in next(iter(expected.values()))[:3]]
    for i in range(values.count()):
        box = values.nth(i).bounding_box()
        assert box is not None and box["width"] > 0
    chart_box, width = chart.bounding_box(), (page.viewport_size or {"width": 1280})["width"]
    assert chart_box is not None and chart_box["x"] + chart_box["width"] <= width, "the chart is off screen"


def visible_outcomes(rows: Locator) -> list[tuple[str, bool]]:
    return [(rows.nth(i).get_attribute("data-outcomes") or "", rows.nth(i).is_visible()) for i in range(rows.count())]


def check_filter(page: Page, table_id: str, must_hide: str) -> None:
    """Pressing `fail` shows only rows with a fail (and hides `must_hide`); pressing it again shows all."""
    bar = page.locator(f'.filter-bar[data-table="{table_id}"]')
    rows = page.locator(f"#{table_id} tbody tr")
    fail = bar.locator('button[data-outcome="fail"]')
    assert bar.is_visible(), "the script did not show the filter bar"
    assert all(shown for _, shown in visible_outcomes(rows))
    assert page.locator(must_hide).is_visible()

    fail.click()
    assert fail.get_attribute("aria-pressed") == "true"
    states = visible_outcomes(rows)
    assert any(shown for _, shown in states)
    for outcomes, shown in states:
        assert shown == ("fail" in outcomes.split()), f"row with outcomes {outcomes!r} visible={shown}"
    assert not page.locator(must_hide).is_visible()
    assert "Showing" in (bar.locator(".filter-status").text_content() or "")

    page.emulate_media(media="print")  # the print stylesheet shows every row, filtered or not
    assert all(shown for _, shown in visible_outcomes(rows))
    page.emulate_media(media="screen")

    fail.click()
    assert fail.get_attribute("aria-pressed") == "false"
    assert all(shown for _, shown in visible_outcomes(rows))
    assert page.locator(must_hide).is_visible()


def assert_candidate_columns_fit(page: Page, names: list[str]) -> None:
    """With a few candidates, every candidate's column of the matrix is on screen without scrolling sideways
    (a long cell must wrap, not push the candidates out of view)."""
    width = page.viewport_size["width"] if page.viewport_size else 1280
    for name in names:
        header = page.locator(f'#matrix-table thead th:text-is("{name}")')
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, f"column {name} is off screen: {box}"


def test_scorecard_report_in_chromium(open_report: Callable[[Path], Opened], tmp_path: Path) -> None:
    scorecard = sample_scorecard()
    path = tmp_path / "report.html"
    path.write_text(render_html(scorecard), encoding="utf-8")
    opened = open_report(path)
    page = opened.page

    assert page.locator(".verdict-banner .verdict").text_content() == "✗ non-conformant"
    scored = [c for c in scorecard["categories"].values() if c["score"] is not None]
    assert_bars_drawn(page.locator("#category-chart rect.bar"), len(scored))
    assert page.locator(".copy-button").first.is_visible()
    screenshot(page, "scorecard")

    load = page.locator(f"#load-{LOAD_ID}")
    assert load.is_visible()
    assert_latency_chart_drawn(page, load.locator('svg[id$="-operations"]'), LOAD_OPERATIONS)
    assert_latency_chart_drawn(page, load.locator('svg[id$="-tasks"]'), LOAD_TASKS)
    assert load.locator("rect.bar.over").count() == 1
    assert "240 arrivals scheduled, 240 sent, 0 late, 0 dropped" in (load.text_content() or "")
    load.screenshot(path=str(SCREENSHOTS / "scorecard-load.png"))

    check_filter(page, "requirements-table", "#req-POLE-IF-001")
    page.locator('.filter-bar button[data-outcome="fail"]').click()
    screenshot(page, "scorecard-filter-fail")
    opened.assert_clean()


def test_comparison_report_in_chromium(open_report: Callable[[Path], Opened], tmp_path: Path) -> None:
    comparison = sample_comparison()
    path = tmp_path / "comparison.html"
    path.write_text(render_comparison_html(comparison), encoding="utf-8")
    run_report = tmp_path / "runs" / "acme" / "report.html"
    run_report.parent.mkdir(parents=True)
    run_report.write_text(render_html(sample_scorecard()), encoding="utf-8")
    opened = open_report(path)
    page = opened.page

    ranking = page.locator("#ranking-table")
    assert ranking.is_visible()
    assert page.locator("#ranking-table tbody tr").count() == 3
    assert page.locator("#ranking-table tbody tr").first.get_attribute("data-candidate") == "acme"
    scored = sum(1 for c in comparison["categories"] for s in c["scores"].values() if s is not None)
    assert_bars_drawn(page.locator("#comparison-chart rect.bar"), scored)
    assert_candidate_columns_fit(page, [c["name"] for c in comparison["candidates"]])
    screenshot(page, "comparison")

    # POLE-IF-003 passes for every candidate: the fail filter must hide it.
    check_filter(page, "matrix-table", '#matrix-table tbody tr:has(th:has-text("POLE-IF-003"))')
    page.locator('.filter-bar button[data-outcome="fail"]').click()
    screenshot(page, "comparison-filter-fail")
    opened.assert_clean()

    page.locator('#runs-table a[href="runs/acme/report.html"]').click()
    page.wait_for_load_state("load")
    assert page.url == run_report.as_uri()
    assert page.locator(".verdict-banner .verdict").is_visible()
    assert opened.errors == []


@pytest.mark.slow
def test_reports_of_real_runs_in_chromium(open_report: Callable[[Path], Opened], clean_run: Run, drift_run: Run,
                                          tmp_path: Path) -> None:
    """The files a real run and `conformance compare` write, not hand-made samples."""
    report = drift_run.run_dir / "report.html"
    opened = open_report(report)
    page = opened.page
    assert page.locator(".verdict-banner .verdict").text_content() == "✗ non-conformant"
    assert page.locator("pre", has_text="curl").first.is_visible()
    check_filter(page, "requirements-table", "#req-POLE-IF-002")
    screenshot(page, "real-run-report")
    opened.assert_clean()

    out = tmp_path / "cmp"
    out.mkdir()
    comparison = comparison_from_files([clean_run.run_dir, drift_run.run_dir], out_dir=out, title="Real runs")
    files = write_comparison(out, comparison)
    opened = open_report(files["html"])
    page = opened.page
    assert page.locator("#ranking-table tbody tr").count() == 2
    assert_candidate_columns_fit(page, [c["name"] for c in comparison["candidates"]])
    check_filter(page, "matrix-table", '#matrix-table tbody tr:has(th:has-text("POLE-IF-002"))')
    screenshot(page, "real-comparison")
    opened.assert_clean()
