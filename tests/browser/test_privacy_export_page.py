"""The readable page of "download my data", opened as a person opens it from the zip: offline,
on a 375 px wide phone. It fits without scrolling sideways and axe finds no WCAG 2.1 AA problem.
"""

from __future__ import annotations

import io
import zipfile

from playwright.sync_api import expect

from tests.browser.conftest import AXE_CHECK, AXE_SOURCE, log_in

PHONE = {"width": 375, "height": 740}


def _downloaded_page(page) -> str:
    """The member (the demo's mother: consents, agreements, advice, a vote) downloads her data."""
    log_in(page, "ouder@voorbeeldstad.example")
    page.goto("/t/voorbeeldstad/privacy")
    with page.expect_download() as download:
        page.get_by_role("link", name="Mijn gegevens downloaden (zip met een leesbare pagina en JSON)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    return archive.read("mijn-gegevens.html").decode()


def test_the_readable_page_fits_a_phone_and_passes_axe(browser, page):
    html = _downloaded_page(page)
    context = browser.new_context(viewport=PHONE, locale="nl-NL", java_script_enabled=True)
    try:
        offline = context.new_page()
        # Opened from the zip there is no server: the page must not need one.
        offline.route("**/*", lambda route: route.abort())
        offline.set_content(html)
        expect(offline.get_by_role("heading", level=1)).to_have_text("Mijn gegevens bij Gemeente Voorbeeldstad")
        expect(offline.get_by_role("heading", name="Afspraken over vergoeding")).to_be_visible()
        expect(offline.get_by_role("table", name="Een account in het portaal met mijn e-mailadres en naam")).to_be_visible()
        expect(offline.get_by_role("cell", name="Ik ben akkoord met dit advies")).to_be_visible()
        sideways = offline.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert sideways <= 0, f"the page scrolls {sideways} px sideways at 375 px"
        offline.add_script_tag(content=AXE_SOURCE + AXE_CHECK)
        _path, violations = offline.evaluate("window.__portalAxeCheck()")
        assert violations == [], f"axe found WCAG 2.1 AA violations: {violations}"
    finally:
        context.close()
