"""A municipality sets itself up in the browser (issue 10), on a phone and on a desktop screen.

The platform operator creates a tenant space and invites its first administrator; the
administrator follows the link from the development outbox, joins, edits the policy-cycle
template, creates and archives a panel, changes a setting, and changes the theme colours (and is
told that a light colour does not contrast enough). axe checks every page on the way.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.core.i18n import translations_for
from tests.browser.conftest import log_in, settle
from tests.support import link_in

t = translations_for("nl").gettext
ADMIN = "beheer@nieuwstad.example"
PASSWORD = "een-lang-wachtwoord"


def click(page, role: str, name: str) -> None:
    page.get_by_role(role, name=name, exact=True).first.click()
    page.wait_for_load_state()
    settle(page)


def operator_creates_the_space(operator) -> str:
    """Returns the invitation link from the development outbox (as a path: the emails name the
    configured base address, not the test server's)."""
    log_in(operator, "beheer@portal.example")
    operator.goto("/platform")
    settle(operator)
    operator.locator("#field-name").fill("Gemeente Nieuwstad")
    operator.locator("#field-slug").fill("nieuwstad")
    operator.locator("#field-kind").select_option("municipality")
    operator.locator("#field-admin_email").fill(ADMIN)
    click(operator, "button", t("Create space and send invitation"))
    expect(operator.get_by_role("status")).to_contain_text("Gemeente Nieuwstad")
    expect(operator.get_by_role("main")).to_contain_text("/t/nieuwstad/")
    click(operator, "link", t("Sent emails (development outbox)"))
    message = operator.get_by_role("article").filter(has_text=ADMIN).first
    return link_in(message.locator("a[href*='/t/nieuwstad/invitations/accept/']").get_attribute("href"))


def admin_joins(admin, link: str) -> None:
    admin.goto(link)
    settle(admin)
    admin.get_by_label(t("Name shown to others")).fill("Beheer Nieuwstad")
    admin.get_by_label(t("Your name"), exact=True).fill("Nina Nieuw")
    admin.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    admin.get_by_label(t("Password again")).fill(PASSWORD)
    click(admin, "button", t("Accept invitation"))
    expect(admin).to_have_url(re.compile(r"/t/nieuwstad/$"))


def admin_edits_the_template(admin) -> None:
    click(admin, "link", t("Space settings"))
    click(admin, "link", t("Change the policy-cycle template"))
    steps = admin.locator("#template-steps > li")
    expect(steps).to_have_count(5)
    admin.locator("#field-name").fill("Nazorg")
    admin.locator("#field-participation_form").select_option("informeren")
    click(admin, "button", t("Add stage"))
    expect(steps).to_have_count(6)
    expect(steps.last).to_contain_text("Nazorg")
    click(admin, "button", f"{t('Move up')} Nazorg")
    expect(steps.nth(4)).to_contain_text("Nazorg")
    click(admin, "link", f"{t('Edit')} Besluitvorming")
    admin.locator("#field-name").fill("Besluit door de raad")
    admin.locator("#field-participation_form").select_option("meebeslissen")
    click(admin, "button", t("Save stage"))
    expect(steps.nth(2)).to_contain_text("Besluit door de raad")
    click(admin, "button", f"{t('Remove')} Agendavorming")
    expect(steps).to_have_count(5)
    expect(steps.first).to_contain_text("Beleidsvoorbereiding")
    admin.locator("#field-name").fill("")
    click(admin, "button", t("Add stage"))
    expect(admin.locator("#field-name-error")).to_be_visible()


def admin_creates_and_archives_a_panel(admin) -> None:
    click(admin, "link", t("Panels"))
    admin.locator("#field-name").fill("Ouderpanel Nieuwstad")
    admin.locator("#field-kind").select_option("parents")
    click(admin, "button", t("Create panel"))
    expect(admin.get_by_role("heading", level=1)).to_have_text("Ouderpanel Nieuwstad")
    click(admin, "link", t("Space settings"))
    click(admin, "button", f"{t('Archive')} Ouderpanel Nieuwstad")
    expect(admin.get_by_role("status")).to_contain_text("Ouderpanel Nieuwstad")
    row = admin.get_by_role("row").filter(has_text="Ouderpanel Nieuwstad")
    expect(row).to_contain_text(t("archived"))
    expect(row.get_by_role("button", name=f"{t('Bring back from the archive')} Ouderpanel Nieuwstad")).to_be_visible()


def admin_changes_a_setting(admin) -> None:
    click(admin, "link", t("Change the settings"))
    admin.locator("#field-report_hide_threshold").fill("0")
    click(admin, "button", t("Save settings"))
    expect(admin.locator("#field-report_hide_threshold-error")).to_contain_text("10000")
    admin.locator("#field-report_hide_threshold").fill("5")
    click(admin, "button", t("Save settings"))
    expect(admin.get_by_role("status")).to_contain_text(t("The settings have been saved. They apply from now on."))
    expect(admin.locator("#settings-heading + dl")).to_contain_text("5")


def admin_changes_the_colours(admin) -> None:
    click(admin, "link", t("Change the colours and the logo"))
    admin.locator("#field-primary_color").fill("#ffdd00")
    click(admin, "button", t("Save colours and logo"))
    error = admin.locator("#field-primary_color-error")
    expect(error).to_contain_text("#ffdd00")
    expect(error).to_contain_text("4.5:1")
    expect(admin.locator("#field-primary_color")).to_have_value("#ffdd00")
    admin.locator("#field-primary_color").fill("#0b6e4f")
    click(admin, "button", t("Save colours and logo"))
    expect(admin.get_by_role("status")).to_contain_text(t("The theme has been saved."))
    expect(admin.locator(".portal-header")).to_have_css("background-color", "rgb(11, 110, 79)")


@pytest.mark.parametrize("width", [375, 1280])
def test_a_municipality_sets_itself_up_in_the_browser(new_page, width):
    operator = new_page()
    operator.set_viewport_size({"width": width, "height": 900})
    link = operator_creates_the_space(operator)

    admin = new_page()
    admin.set_viewport_size({"width": width, "height": 900})
    admin_joins(admin, link)
    admin_edits_the_template(admin)
    admin_creates_and_archives_a_panel(admin)
    admin_changes_a_setting(admin)
    admin_changes_the_colours(admin)
