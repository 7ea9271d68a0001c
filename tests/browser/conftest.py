"""Browser tests: Playwright drives Debian's Chromium against the live server with demo data.

axe-core (vendored in tests/vendor) runs automatically on every page load of every test, and
a test fails when any page it visited has a WCAG 2.1 A/AA violation.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from portal.app import create_mail_service
from portal.cli import DEMO_OPERATOR, DEMO_PASSWORD, _create_operator
from portal.core.settings import PROJECT_ROOT, load_settings
from portal.demo import create_demo_content
from portal.tenants.loader import load_tenants
from tests.support import run_sync

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TESTS = Path(__file__).resolve().parent
AXE_SOURCE = (BROWSER_TESTS.parent / "vendor" / "axe.min.js").read_text()
AXE_CHECK = """
window.__portalAxeCheck = () =>
  axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
    .then(result => [location.pathname + location.search,
      result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))]);
window.addEventListener('load', () => {
  if (!location.protocol.startsWith('http')) return;
  window.__portalAxeCheck().then(([path, found]) => window.__portalAxeReport(path, found));
});
"""


@pytest.hookimpl(tryfirst=True)  # before ``-m "not browser"`` deselects by marker
def pytest_collection_modifyitems(items):
    """Every test in this folder drives Chromium: marked ``browser``, which ``make test-fast``
    leaves out."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_server(live_server):
    """The live server with the example tenants and the demo accounts of the README."""

    async def load() -> None:
        await load_tenants(PROJECT_ROOT / "tenants", demo_password=DEMO_PASSWORD)
        await _create_operator(*DEMO_OPERATOR, DEMO_PASSWORD)
        await create_demo_content(create_mail_service(load_settings()))

    run_sync(load())
    return live_server


class AxeReports:
    def __init__(self) -> None:
        self.loads: list[str] = []
        self.reports: list[tuple[str, list]] = []

    def wait(self, page, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.reports) < len(self.loads) and time.monotonic() < deadline:
            page.wait_for_timeout(50)

    def violations(self) -> list:
        return [(path, found) for path, found in self.reports if found]

    def unchecked(self) -> list[str]:
        return self.loads[len(self.reports):]

    def check_current_page(self, page) -> None:
        """Check the page still shown when its own check went missing (a busy machine can drop
        the report of the last load); earlier pages cannot be checked again."""
        if self.unchecked() == [page.url]:
            path, found = page.evaluate("window.__portalAxeCheck()")
            self.reports.append((path, found))


def settle(page) -> None:
    """Wait until axe has reported on every page loaded so far."""
    page.portal_axe.wait(page)


@pytest.fixture
def new_page(browser, demo_server):
    """Open pages in fresh browser contexts (one per person); axe checks each at teardown."""
    opened = []

    def open_page(locale: str = "nl-NL"):
        context = browser.new_context(base_url=demo_server.url, locale=locale)
        context.set_default_timeout(10_000)
        page = context.new_page()
        reports = AxeReports()
        page.add_init_script(AXE_SOURCE + AXE_CHECK)
        page.expose_function("__portalAxeReport", lambda path, found: reports.reports.append((path, found)))
        page.on("load", lambda loaded: reports.loads.append(loaded.url))
        page.portal_axe = reports
        opened.append((context, page, reports))
        return page

    yield open_page
    problems = []
    for context, page, reports in opened:
        reports.wait(page)
        reports.check_current_page(page)
        problems.extend(reports.violations())
        assert reports.reports, "axe ran on no page"
        assert not reports.unchecked(), f"pages left before axe could check them: {reports.unchecked()}"
        context.close()
    assert problems == [], f"axe found WCAG 2.1 AA violations: {problems}"


@pytest.fixture
def page(new_page):
    return new_page()


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    fill_login_form(page, email, password)


def fill_login_form(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """The login form, in whichever language the page is shown."""
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    settle(page)
