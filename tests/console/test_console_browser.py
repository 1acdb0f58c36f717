"""The console in a real browser: Debian's Chromium driven by Playwright, with
JavaScript switched off (every page must work without it).

Each test takes screenshots of the pages it visits (from the SQLite run): into a
temporary folder, or into the folder ``LEDGER_SCREENSHOTS`` names (``make
screenshots`` refreshes docs/screenshots/ for the README this way, so ``make test``
never changes the checkout). Without /usr/bin/chromium these tests fail with how to
install it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Estate, token

CHROMIUM = Path("/usr/bin/chromium")
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser tests need Debian's Chromium at /usr/bin/chromium: "
            "apt-get install -y chromium (.ci/run installs it when missing)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, screenshots: Path) -> Iterator[Any]:
    context = browser.new_context(
        viewport=LAPTOP, java_script_enabled=False, accept_downloads=True
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.screenshots = screenshots
    yield opened
    context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("LEDGER_SCREENSHOTS", "").strip()
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Any, store_url: str, name: str, part: str | None = None) -> None:
    """Screenshots come from the SQLite run (both runs show the same estate);
    ``part``: a CSS selector, to picture one section of the page."""
    if store_url.startswith("sqlite"):
        path = page.screenshots / f"{name}.png"
        if part is None:
            page.screenshot(path=str(path))
        else:
            page.locator(part).screenshot(path=str(path))
        assert path.read_bytes().startswith(b"\x89PNG")


def sign_in_as(page: Any, base: str, role: str, user: str, store_url: str = "") -> None:
    page.goto(f"{base}/console")
    assert "/console/sign-in" in page.url
    page.get_by_label("Token").fill(token(role, ("LEI",), user=user))
    shoot(page, store_url, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console")


def released_case(estate: Estate) -> dict[str, Any]:
    """A case received and later released, with its timeline."""
    for row in estate.services.queries.cases(prison="LEI", status="released"):
        timeline = estate.services.queries.timeline(row["prisoner_number"])
        kinds = [e["kind"] for e in timeline]
        if "PrisonerReceived" in kinds and "Released" in kinds:
            return {"row": row, "timeline": timeline}
    raise AssertionError("the seeded estate has no released case at LEI")


def test_an_inspector_and_an_investigator_read_a_case_history(
    page: Any, served: str, estate: Estate, store_url: str, tmp_path: Path
) -> None:
    chosen = released_case(estate)
    number = chosen["row"]["prisoner_number"]
    received = next(e for e in chosen["timeline"] if e["kind"] == "PrisonerReceived")
    released = next(e for e in chosen["timeline"] if e["kind"] == "Released")

    # An inspector signs in, searches by number and reads the timeline.
    sign_in_as(page, served, "inspector", "INSPECTOR_BROWSER", store_url)
    page.get_by_label("Prison", exact=True).select_option("LEI")
    page.get_by_label("Status", exact=True).select_option("released")
    page.get_by_role("button", name="Search", exact=True).click()
    assert page.get_by_role("link", name=number).count() == 1
    shoot(page, store_url, "search")
    page.get_by_label("Prisoner number", exact=True).fill(number.lower())
    page.get_by_role("button", name="Open case").click()
    page.wait_for_url(f"{served}/console/cases/{number}")
    assert page.locator('[data-field="status"]').inner_text() == "released"
    rows = page.locator("table.timeline tbody tr")
    assert rows.count() == len(chosen["timeline"])
    assert page.locator(".mark.proved").count() == len(chosen["timeline"])
    assert "as of a date, and downloading its bundle, need the investigator" in (
        page.content()
    )
    shoot(page, store_url, "case")

    # An investigator moves the as-of date back to the day of reception.
    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, served, "investigator", "INVESTIGATOR_BROWSER")
    page.goto(f"{served}/console/cases/{number}")
    day = received["occurred_at"][:10]
    assert day < released["occurred_at"][:10]
    page.get_by_label("The case as it stood on").fill(day)
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url(f"**/console/cases/{number}?as_of={day}*")
    assert page.locator('[data-field="status"]').inner_text() == "in_custody"
    assert "Replayed from" in page.locator("#replay-status").inner_text()
    assert page.locator("tr.not-counted[data-kind='Released']").count() == 1
    shoot(page, store_url, "case-as-of")

    # ... and downloads the bundle, which verifies offline.
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the offline bundle").click()
    saved = tmp_path / f"{number}.json"
    downloading.value.save_as(saved)
    assert json.loads(saved.read_text())["subject"] == {"prisoner_number": number}
    checked = subprocess.run(
        [sys.executable, "-m", "api.cli", "verify-bundle", str(saved), "--key",
         estate.verifier_key],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK:" in checked.stdout

    # The access log shows both reads, and reading it is recorded too.
    page.get_by_role("link", name="Access log").click()
    page.get_by_label("Reader", exact=True).fill("INVESTIGATOR_BROWSER")
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#access-log").inner_text()
    assert "replay" in table and "export" in table
    shoot(page, store_url, "access-log")


def test_a_prison_dashboard_league_table_and_widths(
    page: Any, served: str, estate: Estate, store_url: str
) -> None:
    sign_in_as(page, served, "inspector", "INSPECTOR_DASHBOARD")
    page.get_by_role("link", name="Prisons").click()
    shoot(page, store_url, "prisons")
    page.get_by_role("link", name="LEI").click()
    page.wait_for_url(f"{served}/console/prisons/LEI")
    month = (date(2026, 11, 1) - timedelta(days=1)).strftime("%Y-%m")
    page.get_by_label("Twelve months ending").fill(month)
    page.get_by_role("button", name="Show").click()
    charts = page.locator("svg.chart[role='img']")
    assert charts.count() == 5
    assert page.locator("svg.chart rect").count() == 5 * 12
    roll = estate.services.queries.roll("LEI")
    assert page.locator("#roll-count").inner_text() == str(len(roll))
    assert page.get_by_role("img", name="Incidents per 1,000 population, LEI")
    shoot(page, store_url, "prison")
    shoot(
        page, store_url, "prison-charts", "section[aria-labelledby=indicators-heading]"
    )

    page.get_by_role("link", name="League table").click()
    page.get_by_label("Month", exact=True).fill(month)
    page.get_by_role("button", name="Show").click()
    assert page.locator("#league tbody tr").count() == 3
    shoot(page, store_url, "league-table")

    # Tablet width: nothing spills sideways off the page.
    for path in ("/console/prisons/LEI", "/console/league-table", "/console/cases"):
        page.set_viewport_size(TABLET)
        page.goto(served + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= TABLET["width"], path


def test_keyboard_users_can_skip_to_content_and_search(page: Any, served: str) -> None:
    sign_in_as(page, served, "inspector", "INSPECTOR_KEYS")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.get_by_label("Prisoner number", exact=True).focus()
    page.keyboard.type("Z9999ZZ")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "no case for Z9999ZZ" in page.content()


def test_a_consumer_token_cannot_open_the_console(page: Any, served: str) -> None:
    page.goto(f"{served}/console/sign-in")
    page.get_by_label("Token").fill(token("consumer"))
    page.get_by_role("button", name="Sign in").click()
    assert "the console is for people" in page.content()
    page.goto(f"{served}/console/cases")
    assert "/console/sign-in" in page.url
