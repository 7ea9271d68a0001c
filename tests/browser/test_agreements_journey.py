"""The agreements journey of issue 6 in a real browser, axe on every page.

An officer invites a 15-year-old to the youth panel; the member accepts the invitation but is not
active until their guardian confirms by email. The officer sends a round with terms; the member
accepts both agreements and logs hours; the officer approves them and the payments CSV shows the
amount (the under-21 rate), in both formats; the member downloads their data.

And on a phone and a desktop screen: the officer checks terms above the under-21 cap for the demo
round and sees which members they exceed and by how much, before and after saving.
"""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from playwright.sync_api import expect

from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage
from portal.demo import ROUND as DEMO_ROUND
from portal.panels.tables import Panel, PanelMembership
from portal.rounds.tables import ConsultationRound
from portal.tenants.tables import Tenant
from tests.browser.conftest import log_in, settle
from tests.browser.test_rounds_journey import emails_to, switch_to_english
from tests.support import SIX_ANSWERS, link_in, run_sync

YOUNG = "kim@voorbeeldstad.example"
GUARDIAN = "moeder.van.kim@voorbeeldstad.example"
TITLE = "Hoe was jouw eerste gesprek met het wijkteam?"


def _open_stage_and_youth_panel() -> tuple[int, int]:
    async def find():
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        scope = TenantScope(tenant)
        stage = await scope.objects(Stage).where(Stage.status == "open").first()
        panel = await scope.objects(Panel).where(Panel.name == "Jongerenpanel").first()
        return stage.id, panel.id

    return run_sync(find())


def _membership_status() -> str:
    async def find():
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        row = await TenantScope(tenant).objects(PanelMembership).where(PanelMembership.user.email == YOUNG).first()
        return row.status

    return run_sync(find())


def test_terms_guardian_hours_approval_csv_and_my_data(new_page):
    stage_id, panel_id = _open_stage_and_youth_panel()
    officer = new_page()
    switch_to_english(officer)
    log_in(officer, "beleid@voorbeeldstad.example")

    # The officer invites a 15-year-old to the youth panel.
    officer.goto(f"/t/voorbeeldstad/panels/{panel_id}")
    officer.locator("#field-email").fill(YOUNG)
    officer.locator("#field-age_band").select_option("under_16")
    officer.get_by_role("button", name="Send invitation").click()
    settle(officer)

    # The member accepts, but stays invited until the guardian confirms.
    young = new_page()
    switch_to_english(young)
    young.goto(link_in(emails_to(YOUNG)[-1].body))
    young.locator("#field-display_name").fill("Kim")
    young.locator("#field-name").fill("Kim de Vries")
    young.locator("#field-password").fill("een-lang-wachtwoord-2026")
    young.locator("#field-password_confirmation").fill("een-lang-wachtwoord-2026")
    young.get_by_role("button", name="Accept invitation").click()
    settle(young)
    assert _membership_status() == "invited"
    young.goto("/t/voorbeeldstad/privacy")
    expect(young.get_by_text("You are under 16.")).to_be_visible()
    young.locator("#field-guardian_email").fill(GUARDIAN)
    young.get_by_role("button", name="Send the request").click()
    expect(young.get_by_role("status").first).to_contain_text("emailed your parent or guardian")

    guardian = new_page()
    switch_to_english(guardian)
    guardian.goto(link_in(emails_to(GUARDIAN)[-1].body))
    guardian.get_by_role("button", name="I give my consent").click()
    expect(guardian.get_by_role("status")).to_contain_text("Your consent has been recorded")
    assert _membership_status() == "active"

    # The officer drafts a round for the youth panel, sets the terms and sends it.
    officer.goto(f"/t/voorbeeldstad/stages/{stage_id}/rounds/new")
    officer.locator("#field-title").fill(TITLE)
    officer.locator("#field-question").fill("Wat ging goed, en wat kon beter?")
    officer.locator("#field-deadline").fill((datetime.date.today() + datetime.timedelta(days=14)).isoformat())
    for name, answer in SIX_ANSWERS.items():
        if name == "need":
            officer.locator("#field-need").select_option(answer)
        else:
            officer.locator(f"#field-{name}").fill(answer)
    officer.get_by_role("button", name="Save draft").click()
    settle(officer)
    option = officer.locator("#field-panel_id option", has_text="Jongerenpanel").get_attribute("value")
    officer.get_by_label("Panel", exact=True).select_option(option)
    officer.get_by_role("button", name="Invite panel").click()
    settle(officer)
    officer.get_by_role("link", name="Terms for the members").click()
    expect(officer.locator("#field-rate")).to_have_value("3.40")
    officer.locator("#field-planned_hours").fill("3")
    officer.get_by_role("button", name="Save and propose the terms").click()
    settle(officer)
    officer.get_by_role("link", name="Back to the round").click()
    officer.get_by_role("button", name="Send the round").click()
    expect(officer.get_by_role("status").first).to_contain_text("The round has been sent")

    # The member accepts both agreements and logs hours.
    young.goto("/t/voorbeeldstad/agreements")
    young.get_by_role("link", name=TITLE).click()
    young.get_by_role("button", name="Accept the payment agreement").click()
    settle(young)
    young.get_by_role("button", name="Accept the ownership agreement").click()
    settle(young)
    young.locator("#field-hours").fill("2")
    young.locator("#field-description").fill("Voorbereiden en overleg")
    young.get_by_role("button", name="Log", exact=True).click()
    expect(young.get_by_role("status").first).to_contain_text("Your entry has been logged")

    # The officer approves; the payments CSV shows the amount at the under-21 rate (2 x 3.40).
    officer.get_by_role("link", name="Agreements per member").click()  # from the round page
    officer.get_by_role("link", name="Kim").click()
    officer.get_by_role("button", name="Approve the entry of").click()
    expect(officer.get_by_role("status").first).to_contain_text("The entry has been approved")
    officer.get_by_role("link", name="Payments").click()
    expect(officer.get_by_role("table")).to_contain_text("6.80")
    with officer.expect_download() as download:
        officer.get_by_role("button", name="Download as CSV").click()
    csv = open(download.value.path(), encoding="utf-8-sig").read()
    assert "Kim de Vries" in csv and ";6,80;" in csv  # the Dutch spreadsheet format, the default
    officer.get_by_role("group", name="File format of the download").get_by_label("Plain CSV: commas, decimal point").check()
    with officer.expect_download() as download:
        officer.get_by_role("button", name="Download as CSV").click()
    assert ",6.80," in open(download.value.path(), encoding="utf-8").read()

    # The member downloads their data.
    young.goto("/t/voorbeeldstad/privacy")
    with young.expect_download() as download:
        young.get_by_role("link", name="Download my data (zip with a readable page and JSON)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    assert {"mijn-gegevens.json", "mijn-gegevens.html"} <= set(archive.namelist())
    assert YOUNG in archive.read("mijn-gegevens.json").decode()


def _demo_round_id() -> int:
    async def find():
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        round_ = await TenantScope(tenant).objects(ConsultationRound).where(
            ConsultationRound.title == DEMO_ROUND["title"]).first()
        return round_.id

    return run_sync(find())


@pytest.mark.parametrize("width", [375, 1280])
def test_terms_above_the_under_21_cap_name_the_members_and_the_excess(new_page, width):
    officer = new_page()
    officer.set_viewport_size({"width": width, "height": 900})
    switch_to_english(officer)
    log_in(officer, "beleid@voorbeeldstad.example")
    round_id = _demo_round_id()

    # The demo round goes to the parents (5.75 an hour) and the young people (their own 3.40).
    officer.goto(f"/t/voorbeeldstad/rounds/{round_id}/terms")
    expect(officer.locator("#field-rate")).to_have_value("5.75")
    expect(officer.get_by_role("table", name="Terms above the caps, per member")).to_have_count(0)
    officer.get_by_role("button", name="Check against the caps without saving").click()
    table = officer.get_by_role("table", name="Terms above the caps, per member")
    for name, age_group in (("Sky", "18 to 20"), ("Noor", "16 or 17")):
        row = table.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text(age_group)
        expect(row).to_contain_text("€3.40 an hour")
        expect(row).to_contain_text("€2.35 an hour")
    expect(table).not_to_contain_text("Moeder van twee")
    expect(officer.get_by_text("Nothing has been saved yet.").first).to_be_visible()
    # Nothing in the page's content (the stacked table included) reaches past the screen's edge.
    assert officer.evaluate("Math.max(...[...document.querySelectorAll('main *')].map("
                            "e => e.getBoundingClientRect().right))") <= width

    # Saved: the officer is told, and the round's agreements page keeps the table.
    officer.get_by_role("button", name="Save and propose the terms").click()
    expect(officer.get_by_role("status").first).to_contain_text(
        "The terms are above a volunteer allowance cap for Noor, Sky: see the table.")
    expect(officer.get_by_role("table", name="Terms above the caps, per member")).to_contain_text("€2.35 an hour")
    officer.get_by_role("link", name="Back to the round").click()
    expect(officer.get_by_role("region", name="Points of attention")).to_contain_text(
        "The payment terms are above a volunteer allowance cap for Noor, Sky.")
