"""The registry's main pages in headless Chromium (Debian's /usr/bin/chromium, launched as tests/browser/
test_browser.py does), against `conformance registry serve` on each database: the listing of a profile version
(also at a phone's width), choosing two listings and comparing them, a supplier's history with its regression
and diff, and an inspector signing in and revoking a listing with a reason that then shows everywhere. No page
may raise a console or page error or ask for anything outside the registry. Screenshots go to
test-output/screenshots/registry-<database>-<page>.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.test_browser import SCREENSHOTS, browser  # noqa: F401 (the fixture)
from tests.registry_support import (
    DATABASES,
    add_organisations,
    fresh_database,
    make_run,
    profile_copy,
    registry_server,
    signed_bundle,
    supplier_key,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("registry-browser")
    profiles = profile_copy(tmp)
    folder = profiles / "pole-records" / "1.0.0"
    (acme, acme_pub), (beta, beta_pub) = supplier_key(tmp / "acme"), supplier_key(tmp / "beta")
    made = {
        "acme-2.1": signed_bundle(make_run(tmp / "runs", folder, version="2.1", failing=(),
                                           finished_at="2026-11-01T10:00:00.000Z"), tmp / "a21.tar.gz", acme),
        "acme-2.2": signed_bundle(make_run(tmp / "runs", folder, version="2.2", failing=(1, 2),
                                           finished_at="2026-12-01T10:00:00.000Z"), tmp / "a22.tar.gz", acme),
        "beta-5": signed_bundle(make_run(tmp / "runs", folder, supplier="Beta plc", product="Beacon", version="5.0",
                                         failing=(3,)), tmp / "b5.tar.gz", beta),
    }
    return profiles, made, {"acme": acme_pub, "beta": beta_pub}


@pytest.fixture(params=DATABASES)
def served(request: pytest.FixtureRequest, tmp_path: Path,
           bundles: tuple[Path, dict[str, Path], dict[str, Path]]) -> Iterator[tuple[str, str, str]]:
    profiles, made, keys = bundles
    for db in fresh_database(request.param, tmp_path):
        acme, beta, inspector = add_organisations(db, [("Acme Ltd", "supplier", keys["acme"]),
                                                       ("Beta plc", "supplier", keys["beta"]),
                                                       ("HM Inspectorate", "inspector", None)])
        with registry_server(db, profiles) as (url, _):
            for name, token in (("acme-2.1", acme), ("acme-2.2", acme), ("beta-5", beta)):
                answer = httpx.post(f"{url}/api/bundles", content=made[name].read_bytes(), timeout=60,
                                    headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 201, answer.text
            yield url, inspector, request.param


class Watched:
    def __init__(self, page: Page, url: str) -> None:
        self.page, self.problems = page, []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error"
                else None)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("request", lambda r: None if r.url.startswith(url) else self.problems.append(f"asked {r.url}"))


def _shot(page: Page, database: str, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"registry-{database}-{name}.png"), full_page=True)


def test_listing_comparison_history_and_revocation(browser: Browser, served: tuple[str, str, str]) -> None:  # noqa: F811
    url, inspector_token, database = served
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = phone.new_page()
        page.goto(f"{url}/profiles/pole-records/1.0.0")
        assert page.locator("table.listings tbody tr").count() == 3
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a phone's screen"
        _shot(page, database, "listing-phone")
    finally:
        phone.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        watched = Watched(page, url)
        page.goto(f"{url}/profiles/pole-records/1.0.0")
        rows = page.locator("table.listings tbody tr")
        assert rows.count() == 3 and "valid (active version)" in page.inner_text("table.listings")
        _shot(page, database, "listing")
        rows.filter(has_text="Beacon").locator("input[type=checkbox]").check()
        rows.filter(has_text="2.1").locator("input[type=checkbox]").check()
        page.get_by_role("button", name="Compare the chosen listings").click()
        page.wait_for_load_state("load")
        assert "/compare?id=" in page.url
        text = page.inner_text("body")
        assert "Acme Ltd: Records 2.1" in text and "Beta plc: Beacon 5.0" in text
        assert "Comparison of supplier systems" in text
        _shot(page, database, "comparison")

        page.goto(f"{url}/suppliers/Acme%20Ltd")
        regression = page.locator("tr.regression")
        assert regression.count() == 1 and "2.2" in regression.inner_text()
        assert page.locator(".badge.regression").is_visible()
        _shot(page, database, "history")
        regression.get_by_role("link", name="diff against 2.1").click()
        page.wait_for_load_state("load")
        assert page.locator("table tr.regression").count() == 2  # two requirements went from pass to fail
        _shot(page, database, "diff")

        page.goto(f"{url}/login")
        page.fill("#token", inspector_token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("load")
        assert "HM Inspectorate (inspector)" in page.inner_text("header")
        page.goto(f"{url}/profiles/pole-records/1.0.0")
        page.locator("table.listings tbody tr", has_text="Beacon").get_by_role("link", name="Beacon").click()
        page.wait_for_load_state("load")
        page.fill("#reason", "the tested build was not the release build")
        page.get_by_role("button", name="Revoke").click()
        page.wait_for_load_state("load")
        note = "REVOKED by HM Inspectorate: the tested build was not the release build"
        assert note in page.inner_text("body") and page.locator("form.revoke").count() == 0
        _shot(page, database, "revoked")
        page.goto(f"{url}/profiles/pole-records/1.0.0")
        assert note in page.locator("tr.is-revoked").inner_text()
        assert watched.problems == [], watched.problems
    finally:
        context.close()
