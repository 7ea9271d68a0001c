"""Main journeys of the foundation in a real browser: log in and out, join by invitation,
switch language, and be refused another tenant's pages."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from portal.core.mail import OutboxMessage
from tests.browser.conftest import log_in
from tests.support import link_in, run_sync


def test_officer_logs_in_and_out(page):
    log_in(page, "beleid@voorbeeldstad.example")
    page.get_by_role("link", name="Gemeente Voorbeeldstad").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bram de Vries")
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("link", name="Inloggen").first).to_be_visible()
    page.goto("/t/voorbeeldstad/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_wrong_password_shows_an_error_summary(page):
    log_in(page, "beleid@voorbeeldstad.example", "not-the-password")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("klopt niet")
    expect(page.get_by_label("E-mailadres")).to_have_value("beleid@voorbeeldstad.example")


def test_invited_parent_joins_with_a_pseudonym(new_page):
    admin = new_page()
    log_in(admin, "beheer@voorbeeldstad.example")
    admin.goto("/t/voorbeeldstad/invitations")
    admin.get_by_label("E-mailadres").fill("nieuwe.ouder@example.nl")
    admin.get_by_label("Rol").select_option("panel_member")
    admin.get_by_role("button", name="Uitnodiging versturen").click()
    expect(admin.get_by_role("status")).to_contain_text("nieuwe.ouder@example.nl")

    emails = run_sync(OutboxMessage.objects().where(OutboxMessage.recipient == "nieuwe.ouder@example.nl"))
    assert len(emails) == 1
    parent = new_page()
    parent.goto(link_in(emails[0].body))
    parent.get_by_label("Naam die anderen zien").fill("Vader van Noor")
    parent.get_by_label("Je naam", exact=True).fill("Pieter Groot")
    parent.get_by_label("Wachtwoord", exact=True).fill("een-lang-wachtwoord")
    parent.get_by_label("Wachtwoord nog een keer").fill("een-lang-wachtwoord")
    parent.get_by_role("button", name="Uitnodiging accepteren").click()
    expect(parent.get_by_role("heading", level=1)).to_contain_text("Vader van Noor")

    admin.goto("/t/voorbeeldstad/members")
    expect(admin.get_by_role("cell", name="Vader van Noor", exact=True)).to_be_visible()


def test_language_switch_to_english_and_back(page):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")


def test_another_tenants_pages_are_refused(page):
    log_in(page, "beleid@voorbeeldstad.example")
    response = page.goto("/t/zuiderpolder/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Geen toegang")
    response = page.goto("/t/zuiderpolder/invitations")
    assert response.status == 403
