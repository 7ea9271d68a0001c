"""The advice trail of issue 5 in a real browser, from the panel's advice to the council.

Two parents write advice with two items and adopt it; the officer responds "adopted" to one
item and "partly adopted" with reasoning to the other, records a council decision, links both
items to it and posts an outcome; the parents get the emails, follow them and say whether they
feel heard; a council member reads the adoption overview, the item's trail and the decision, and
anyone reads the public advice ledger. axe checks every page on the way.
"""

from __future__ import annotations

import datetime
import re

from playwright.sync_api import expect

from portal.core.i18n import translations_for
from portal.core.mail import OutboxMessage
from tests.browser.conftest import settle
from tests.browser.test_deliberation_journey import english_member
from tests.support import link_in, run_sync

TITLE = "Advies: sneller hulp en goede nazorg"
ITEMS = (
    ("Hulp binnen zes weken", "Maximaal zes weken tussen aanmelding en start van de hulp.",
     "Lang wachten maakt problemen thuis groter."),
    ("Nazorg na de hulp", "Bel elk gezin drie maanden na het einde van de hulp.",
     "Na de hulp vielen wij in een gat."),
)


def person(new_page, email: str):
    """A browser of one person, in English, logged in."""
    return english_member(new_page, email)


def go(page, path: str) -> None:
    page.goto(path)
    settle(page)


def click(page, role: str, name) -> None:
    page.get_by_role(role, name=name).first.click()
    page.wait_for_load_state()
    settle(page)


def trail_link(item_title: str) -> re.Pattern:
    return re.compile(rf"Whole trail of this item\s*:\s*{re.escape(item_title)}")


def dutch(subject: str, title: str) -> str:
    """An email subject as the demo tenant (Dutch) sends it."""
    return translations_for("nl").gettext(subject) % {"title": title}


def emails_to(address: str, subject_part: str) -> list[OutboxMessage]:
    return [message for message in run_sync(OutboxMessage.objects().where(OutboxMessage.recipient == address))
            if subject_part in message.subject]


def write_and_adopt(mother, father) -> None:
    go(mother, "/t/voorbeeldstad/rounds/mine")
    click(mother, "link", re.compile("Wat moet er beter"))
    click(mother, "link", "Write advice about this question")
    mother.locator("#field-title").fill(TITLE)
    mother.locator("#field-panel").select_option(label="Ouderpanel Jeugdhulp")
    click(mother, "button", "Start the advice")
    for number, (title, recommendation, rationale) in enumerate(ITEMS, start=1):
        if number > 1:
            click(mother, "link", "Change the advice")
        mother.locator(f"#field-item-{number}-title").fill(title)
        mother.locator(f"#field-item-{number}-recommendation").fill(recommendation)
        mother.locator(f"#field-item-{number}-rationale").fill(rationale)
        click(mother, "button", "Save the advice")
    expect(mother.locator("main")).to_contain_text(ITEMS[1][0])
    advice_page = mother.url
    click(mother, "link", "Version 3")
    expect(mother.locator(".portal-diff ins").first).to_contain_text(ITEMS[1][0])
    go(mother, advice_page)
    click(mother, "button", "Ask the panel to adopt the advice")
    mother.get_by_label("I confirm this advice").check()
    click(mother, "button", "Give my answer")

    go(father, "/t/voorbeeldstad/advice")
    click(father, "link", TITLE)
    father.get_by_label("I confirm this advice").check()
    click(father, "button", "Give my answer")
    expect(father.locator("main")).to_contain_text("submitted to the municipality")


def respond(officer, item_title: str, status: str, reasoning: str = "") -> None:
    go(officer, "/t/voorbeeldstad/advice")
    click(officer, "link", TITLE)
    click(officer, "link", trail_link(item_title))
    officer.locator("#field-status").select_option(status)
    officer.locator("#field-reasoning").fill(reasoning)
    click(officer, "button", "Save as draft")
    click(officer, "button", re.compile("Publish version 1"))
    expect(officer.locator("main")).to_contain_text("has been published")


def link_decision(officer, item_title: str, usage: str) -> None:
    go(officer, "/t/voorbeeldstad/advice")
    click(officer, "link", TITLE)
    click(officer, "link", trail_link(item_title))
    officer.locator("#field-decision").select_option(label="Raadsbesluit wachttijden jeugdhulp (RB-2027-03)")
    officer.locator("#field-usage").fill(usage)
    click(officer, "button", "Link")


def test_the_whole_advice_trail_from_panel_to_council(new_page):
    mother = person(new_page, "ouder@voorbeeldstad.example")
    father = person(new_page, "vader@voorbeeldstad.example")
    write_and_adopt(mother, father)

    officer = person(new_page, "beleid@voorbeeldstad.example")
    respond(officer, ITEMS[0][0], "adopted")
    # Partly adopted needs reasoning: first refused, then saved with it.
    go(officer, "/t/voorbeeldstad/advice")
    click(officer, "link", TITLE)
    click(officer, "link", trail_link(ITEMS[1][0]))
    officer.locator("#field-status").select_option("partly_adopted")
    click(officer, "button", "Save as draft")
    expect(officer.locator("#error-summary")).to_contain_text("reasoning is required")
    respond(officer, ITEMS[1][0], "partly_adopted", "Bellen na drie maanden kan; een huisbezoek niet.")

    go(officer, "/t/voorbeeldstad/decisions")
    officer.locator("#field-kind").select_option("council_decision")
    officer.locator("#field-title").fill("Raadsbesluit wachttijden jeugdhulp")
    officer.locator("#field-reference").fill("RB-2027-03")
    officer.locator("#field-decided_on").fill(datetime.date.today().isoformat())
    click(officer, "button", "Record the decision")
    link_decision(officer, ITEMS[0][0], "De termijn van zes weken staat in het besluit.")
    link_decision(officer, ITEMS[1][0], "Nazorg per telefoon is opgenomen.")
    officer.locator("#field-progress").fill("30")
    officer.locator("#field-body").fill("De eis staat in het concept-bestek.")
    click(officer, "button", "Publish the update")
    expect(officer.locator("#outcomes")).to_contain_text("30% done")

    for parent, answer, comment in ((mother, "Yes, I feel heard", "Fijn dat dit erin staat."),
                                    (father, "Partly", "Nazorg had langer mogen duren.")):
        address = "ouder@voorbeeldstad.example" if parent is mother else "vader@voorbeeldstad.example"
        responded = emails_to(address, dutch("The municipality has responded to your advice: %(title)s", TITLE))
        news = emails_to(address, dutch("News about what was done with your advice: %(title)s", TITLE))
        assert len(responded) >= 2 and news, [message.subject for message in responded]
        go(parent, link_in(news[-1].body))
        expect(parent.locator("#response")).to_contain_text("adopted")
        parent.get_by_label(answer).check()
        parent.locator("#field-comment").fill(comment)
        click(parent, "button", "Send my answer")
        expect(parent.locator("#heard")).to_contain_text(comment)

    council = person(new_page, "raad@voorbeeldstad.example")
    go(council, "/t/voorbeeldstad/cycles")
    click(council, "link", "Inkoop jeugdhulp 2027")
    click(council, "link", "Adoption of advice in this policy cycle")
    expect(council.locator("svg[role=img]")).to_have_count(3)
    expect(council.locator("main table").first).to_contain_text("partly adopted")
    go(council, "/t/voorbeeldstad/advice")
    click(council, "link", TITLE)
    click(council, "link", trail_link(ITEMS[1][0]))
    trail = council.locator("main")
    for text in ("Bellen na drie maanden kan", "Raadsbesluit wachttijden jeugdhulp", "Nazorg had langer mogen duren",
                 "Response published", "Advice adopted and submitted"):
        expect(trail).to_contain_text(text)
    council.locator("#field-question").fill("Waarom geen huisbezoek?")
    click(council, "button", "Ask the question")
    expect(council.locator("#questions")).to_contain_text("Waarom geen huisbezoek?")
    click(council, "link", "Raadsbesluit wachttijden jeugdhulp")
    expect(council.locator("main")).to_contain_text(ITEMS[0][0])

    # Voorbeeldstad publishes its answered advice, readable without logging in: the mother
    # consented to publication, so it names her as her agreement allows (her pseudonym).
    visitor = new_page()
    go(visitor, "/t/voorbeeldstad/ledger")
    for text in (ITEMS[0][0], "Bellen na drie maanden kan", "Raadsbesluit wachttijden jeugdhulp", "Moeder van twee"):
        expect(visitor.locator("main")).to_contain_text(text)
    expect(visitor.locator("main")).not_to_contain_text("Lisa Visser")
