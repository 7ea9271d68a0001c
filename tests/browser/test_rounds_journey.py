"""The consultation journey of issue 3 in a real browser.

An officer creates a cycle from the template, opens a stage, drafts a round, is refused
sending until the six questions are answered, and sends it to a parent panel and a youth panel.
A member of each panel gets the email, follows it and sees the round; a member of a third panel
and a council member of another tenant do not. axe checks every page on the way.
"""

from __future__ import annotations

import datetime

from playwright.sync_api import expect

from portal.core.mail import OutboxMessage
from tests.browser.conftest import fill_login_form, log_in, settle
from tests.support import SIX_ANSWERS, link_in, run_sync

TITLE = "Wat vinden jullie van de wachtlijsten?"


def switch_to_english(page) -> None:
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    settle(page)


def emails_to(address: str) -> list[OutboxMessage]:
    return run_sync(OutboxMessage.objects().where(OutboxMessage.recipient == address))


def test_officer_sends_a_round_to_two_panels_and_only_they_see_it(new_page):
    officer = new_page()
    switch_to_english(officer)
    log_in(officer, "beleid@voorbeeldstad.example")

    officer.goto("/t/voorbeeldstad/cycles")
    officer.get_by_role("link", name="New policy cycle").click()
    officer.locator("#field-title").fill("Wachtlijsten jeugdhulp")
    officer.get_by_role("button", name="Create policy cycle").click()
    timeline = officer.get_by_role("list").filter(has_text="Agendavorming")
    expect(timeline.get_by_role("listitem")).to_have_count(5)

    officer.get_by_role("link", name="Beleidsvoorbereiding").first.click()
    officer.get_by_role("button", name="Open stage").click()
    expect(officer.get_by_role("status")).to_contain_text("now open")

    officer.get_by_role("link", name="New consultation round").click()
    officer.locator("#field-title").fill(TITLE)
    officer.locator("#field-question").fill("Hoe lang moesten jullie wachten, en wat hielp toen?")
    deadline = datetime.date.today() + datetime.timedelta(days=21)
    officer.locator("#field-deadline").fill(deadline.isoformat())
    officer.locator("#field-expected_effort_hours").fill("2")
    officer.get_by_role("button", name="Save draft").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(TITLE)

    for panel in ("Ouderpanel Jeugdhulp", "Jongerenpanel"):
        option = officer.locator("#field-panel_id option", has_text=panel).get_attribute("value")
        officer.get_by_label("Panel", exact=True).select_option(option)
        officer.get_by_role("button", name="Invite panel").click()
        settle(officer)

    officer.get_by_role("button", name="Send the round").click()
    settle(officer)
    expect(officer.get_by_text("The goal").first).to_be_visible()
    assert emails_to("ouder@voorbeeldstad.example") == [] or all(
        TITLE not in email.body for email in emails_to("ouder@voorbeeldstad.example")
    )

    officer.get_by_role("link", name="Change the round").click()
    for name, answer in SIX_ANSWERS.items():
        if name == "need":
            officer.locator("#field-need").select_option(answer)
        else:
            officer.locator(f"#field-{name}").fill(answer)
    officer.get_by_role("button", name="Save changes").click()
    settle(officer)
    officer.get_by_role("button", name="Send the round").click()
    settle(officer)
    expect(officer.get_by_role("status")).to_be_visible()

    link = None
    for address in ("ouder@voorbeeldstad.example", "jongere@voorbeeldstad.example"):
        sent = [email for email in emails_to(address) if TITLE in email.body]
        assert len(sent) == 1, address
        link = link_in(sent[0].body)
        member = new_page()
        member.goto(link)  # not logged in yet: the login page, then back to the round
        settle(member)
        fill_login_form(member, address)
        settle(member)
        expect(member.get_by_role("heading", level=1)).to_have_text(TITLE)

    third_panel = new_page()
    log_in(third_panel, "inkoop@voorbeeldstad.example")
    assert third_panel.goto(link).status == 404
    settle(third_panel)
    third_panel.goto("/t/voorbeeldstad/rounds/mine")
    expect(third_panel.get_by_text(TITLE)).to_have_count(0)

    other_council = new_page()
    log_in(other_council, "raad@zuiderpolder.example")
    assert other_council.goto(link).status in (403, 404)
    settle(other_council)
