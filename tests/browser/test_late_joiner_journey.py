"""A late joiner in a real browser (issue 10), on a phone (375 px) and a desktop (1280 px), axe
on every page.

After the demo round was sent, the officer invites a new parent to the demo parent panel; she
accepts through the link in the development outbox, finds the round's proposed agreements on her
start page, accepts both and posts in the panel's conversation; the officer's table of
agreements per member lists her. The officer also proposes the terms to a member who has none
and corrects a wrong date of birth that held a member.
"""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from portal.core.tenancy import TenantScope
from portal.panels.tables import Panel, PanelMembership
from portal.rounds.tables import ConsultationRound
from portal.tenants.tables import Tenant
from tests.browser.conftest import log_in, settle
from tests.browser.test_deliberation_journey import open_panel_conversation
from tests.browser.test_rounds_journey import emails_to, switch_to_english
from tests.support import build_panel_member, link_in, make_user, run_sync

NEWCOMER = "nieuwe.moeder@voorbeeldstad.example"
SHOWN_AS = "Moeder van Daan"
ROUND_TITLE = "Wat moet er beter in de jeugdhulp die we inkopen?"


def _parent_panel_and_demo_round() -> tuple[int, int]:
    async def find():
        scope = TenantScope(await Tenant.objects().get(Tenant.slug == "voorbeeldstad"))
        panel = await scope.objects(Panel).where(Panel.name == "Ouderpanel Jeugdhulp").first()
        round_ = await scope.objects(ConsultationRound).where(ConsultationRound.title == ROUND_TITLE).first()
        assert round_.status == "sent"
        return panel.id, round_.id

    return run_sync(find())


def _person(new_page, width: int):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    switch_to_english(page)
    return page


@pytest.mark.parametrize("width", [375, 1280])
def test_a_parent_who_joins_after_the_round_was_sent_accepts_the_agreements_and_posts(new_page, width):
    panel_id, round_id = _parent_panel_and_demo_round()
    officer = _person(new_page, width)
    log_in(officer, "beleid@voorbeeldstad.example")

    # The round was sent long ago; the officer invites a new parent to the panel now.
    officer.goto(f"/t/voorbeeldstad/panels/{panel_id}")
    officer.locator("#field-email").fill(NEWCOMER)
    officer.locator("#field-age_band").select_option("21_26")
    officer.get_by_role("button", name="Send invitation").click()
    expect(officer.get_by_role("status").first).to_contain_text(NEWCOMER)

    # She follows the link in the development outbox and accepts with a new account.
    parent = _person(new_page, width)
    parent.goto(link_in(emails_to(NEWCOMER)[-1].body))
    parent.locator("#field-display_name").fill(SHOWN_AS)
    parent.locator("#field-name").fill("Sanne Jansen")
    parent.locator("#field-password").fill("een-lang-wachtwoord-2026")
    parent.locator("#field-password_confirmation").fill("een-lang-wachtwoord-2026")
    parent.get_by_label("Yes, I give consent for the processing of my lived experience").check()
    parent.get_by_role("button", name="Accept invitation").click()
    settle(parent)

    # The round's terms wait for her on her start page; she accepts both.
    agreements = parent.get_by_role("region", name="Agreements to read and accept")
    agreements.get_by_role("link", name=ROUND_TITLE).click()
    settle(parent)
    expect(parent.get_by_role("heading", name="Payment agreement")).to_be_visible()
    parent.get_by_role("button", name="Accept the payment agreement").click()
    settle(parent)
    parent.get_by_role("button", name="Accept the ownership agreement").click()
    expect(parent.get_by_role("status").first).to_contain_text("You have accepted the agreement")

    # Now she can post in her panel's conversation about the round.
    open_panel_conversation(parent)
    parent.locator("#field-body").fill("Ik ben nieuw in het panel. Wij wachtten drie maanden op hulp.")
    parent.get_by_role("button", name="Send message").click()
    expect(parent.locator("#posts")).to_contain_text("drie maanden op hulp")

    # The officer's table of agreements per member lists her, and nobody is left without.
    officer.goto(f"/t/voorbeeldstad/rounds/{round_id}")
    officer.get_by_role("link", name="Agreements per member").click()
    settle(officer)
    row = officer.get_by_role("row").filter(has_text=SHOWN_AS)
    expect(row).to_contain_text("Ouderpanel Jeugdhulp")
    expect(row).to_contain_text("agreed")
    expect(officer.get_by_text("no agreement")).to_have_count(0)


def _member_without_agreements_and_a_held_member(panel_id: int) -> int:
    """A parent active in the panel without agreements (as joiners were before this fix), and a
    parent held because the age band says under 16; returns the held membership's id."""

    async def build() -> int:
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        scope = TenantScope(tenant)
        panel = await scope.get(Panel, panel_id)
        await build_panel_member(tenant, panel, "laatkomer@voorbeeldstad.example", display_name="Laatkomer")
        young = await make_user("jong@voorbeeldstad.example", tenant=tenant, roles=("panel_member",), name="Jong")
        held = scope.new(PanelMembership, panel=panel.id, user=young.id, status="invited", age_band="under_16")
        await held.save()
        return held.id

    return run_sync(build())


@pytest.mark.parametrize("width", [375, 1280])
def test_the_officer_proposes_to_members_without_agreements_and_corrects_a_date_of_birth(new_page, width):
    panel_id, round_id = _parent_panel_and_demo_round()
    held_id = _member_without_agreements_and_a_held_member(panel_id)
    officer = _person(new_page, width)
    log_in(officer, "beleid@voorbeeldstad.example")

    officer.goto(f"/t/voorbeeldstad/rounds/{round_id}/agreements")
    warning = officer.get_by_role("region", name="1 member has no agreements yet")
    expect(warning).to_be_visible()
    expect(officer.get_by_role("row").filter(has_text="Laatkomer")).to_contain_text("no agreement yet")
    warning.get_by_role("button", name="Propose the terms to them now").click()
    expect(officer.get_by_role("status").first).to_contain_text("The terms have been proposed to 1 member.")
    expect(officer.get_by_role("row").filter(has_text="Laatkomer")).to_contain_text("proposed")

    # A wrong date of birth keeps a 17-year-old held; the officer corrects it.
    officer.goto(f"/t/voorbeeldstad/panel-members/{held_id}/edit")
    officer.locator("#field-date_of_birth").fill("2999-01-01")
    officer.get_by_role("button", name="Correct the date of birth").click()
    settle(officer)
    expect(officer.locator("#error-summary")).to_contain_text("Enter a real date of birth")
    expect(officer.locator("#field-date_of_birth")).to_have_value("2999-01-01")
    birth = datetime.date.today().replace(year=datetime.date.today().year - 17) - datetime.timedelta(days=1)
    officer.locator("#field-date_of_birth").fill(birth.isoformat())
    officer.get_by_role("button", name="Correct the date of birth").click()
    expect(officer.get_by_role("status").first).to_contain_text("The membership is active now.")
