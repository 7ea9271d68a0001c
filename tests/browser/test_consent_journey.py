"""Consent before participation (issue 10) in a real browser, on a phone and on a desktop screen,
axe on every page.

An officer invites a new parent to the mixed panel. Accepting, the parent reads the consent text,
tries to continue without ticking the box (a clear message next to it, what they typed kept),
gives consent and joins; in a round sent to their panel they post. Then they withdraw the consent
on the privacy page: they are offered to withdraw what they wrote, and the conversation shows
why they cannot post any more, with the way back to giving consent.
"""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from portal.accounts.tables import User
from portal.agreements import service as agreements
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement
from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage
from portal.deliberation import service as deliberation
from portal.demo import ROUND
from portal.panels.tables import Panel
from portal.rounds import service as rounds
from portal.tenants.tables import Tenant
from tests.browser.conftest import log_in, settle
from tests.browser.test_rounds_journey import emails_to, switch_to_english
from tests.support import link_in, run_sync

NEWCOMER = "nieuwe.ouder@voorbeeldstad.example"
PANEL = "Gemengd panel Inkoop"
MESSAGE = "Bij ons duurde het vier maanden voor er hulp kwam."


def _send_a_round_to_the_panel() -> int:
    """A round for the newcomer's panel, sent by the officer, with the newcomer's agreements
    accepted (the agreements journey shows those steps); returns the panel's thread."""

    async def send() -> int:
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        scope = TenantScope(tenant)
        officer = await User.objects().get(User.email == "beleid@voorbeeldstad.example")
        newcomer = await User.objects().get(User.email == NEWCOMER)
        stage = await scope.objects(Stage).where(Stage.status == "open").first()
        panel = await scope.objects(Panel).where(Panel.name == PANEL).first()
        deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=14)
        round_ = await rounds.create_round(scope, stage, {**ROUND, "title": "Wachttijden", "deadline": deadline}, officer)
        await rounds.invite_panel(scope, round_, panel.id, officer)
        await rounds.send_round(scope, round_, officer)
        for table in (PaymentAgreement, OwnershipAgreement):
            for agreement in await scope.objects(table).where((table.round == round_.id) & (table.user == newcomer.id)):
                await agreements.accept(scope, agreement, newcomer)
        threads = await deliberation.ensure_round_threads(scope, round_)
        return next(thread.id for thread in threads if thread.panel == panel.id)

    return run_sync(send())


@pytest.mark.parametrize("width", [375, 1280])
def test_consent_is_asked_on_joining_and_withdrawing_it_stops_posting(new_page, width):
    officer = new_page()
    officer.set_viewport_size({"width": width, "height": 900})
    switch_to_english(officer)
    log_in(officer, "beleid@voorbeeldstad.example")
    officer.goto("/t/voorbeeldstad/panels")
    officer.get_by_role("link", name=PANEL).click()
    officer.locator("#field-email").fill(NEWCOMER)
    officer.locator("#field-age_band").select_option("27_plus")
    officer.get_by_role("button", name="Send invitation").click()
    settle(officer)

    # The consent step: refused without the box ticked, with what was typed kept.
    parent = new_page()
    parent.set_viewport_size({"width": width, "height": 900})
    switch_to_english(parent)
    parent.goto(link_in(emails_to(NEWCOMER)[-1].body))
    settle(parent)
    consent = parent.get_by_role("region", name="Consent for your lived experience")
    expect(consent).to_contain_text("Your experience with youth care is health information")
    expect(consent).to_contain_text("Text version")
    box = parent.get_by_label("Yes, I give consent for the processing of my lived experience")
    expect(box).not_to_be_checked()
    expect(parent.get_by_label("Publication of what I write")).not_to_be_checked()
    parent.locator("#field-display_name").fill("Ouder van Sam")
    parent.locator("#field-name").fill("Femke Jansen")
    parent.locator("#field-password").fill("een-lang-wachtwoord-2026")
    parent.locator("#field-password_confirmation").fill("een-lang-wachtwoord-2026")
    parent.get_by_role("button", name="Accept invitation").click()
    settle(parent)
    error = "Tick the box to give your consent for the processing of your lived experience."
    expect(parent.locator("#field-experience-error")).to_contain_text(error)
    expect(parent.locator("#error-summary")).to_contain_text(error)
    expect(parent.locator("#field-display_name")).to_have_value("Ouder van Sam")

    parent.locator("#field-password").fill("een-lang-wachtwoord-2026")
    parent.locator("#field-password_confirmation").fill("een-lang-wachtwoord-2026")
    parent.get_by_label("Yes, I give consent for the processing of my lived experience").check()
    parent.get_by_role("button", name="Accept invitation").click()
    settle(parent)
    expect(parent.get_by_role("status").first).to_contain_text("You have joined the panel")

    # With consent, the new member posts.
    thread_id = _send_a_round_to_the_panel()
    parent.goto(f"/t/voorbeeldstad/threads/{thread_id}")
    settle(parent)
    parent.get_by_label("Your message").fill(MESSAGE)
    parent.get_by_role("button", name="Send message").click()
    settle(parent)
    expect(parent.locator("#posts")).to_contain_text(MESSAGE)

    # Withdrawn on the privacy page: offered to withdraw what they wrote, never forced.
    parent.goto("/t/voorbeeldstad/privacy")
    settle(parent)
    parent.get_by_role("button", name="Withdraw: Processing of my lived experience").click()
    settle(parent)
    expect(parent.get_by_role("heading", level=1)).to_have_text("Your consent has been withdrawn")
    expect(parent.locator("main")).to_contain_text("Post in a conversation")
    expect(parent.get_by_role("button", name="Withdraw the 1 contribution above")).to_be_visible()
    expect(parent.get_by_role("link", name="Keep everything and go back to Privacy and consent")).to_be_visible()

    # The conversation says why they cannot post, and where to give consent again.
    parent.goto(f"/t/voorbeeldstad/threads/{thread_id}")
    settle(parent)
    expect(parent.locator("#posts")).to_contain_text(MESSAGE)
    expect(parent.locator("#refusal")).to_contain_text("once you have given consent for the processing")
    expect(parent.get_by_label("Your message")).to_have_count(0)
    parent.locator("#refusal").get_by_role("link", name="Give your consent on the privacy page").click()
    settle(parent)
    expect(parent.get_by_role("heading", name="My consents")).to_be_visible()
