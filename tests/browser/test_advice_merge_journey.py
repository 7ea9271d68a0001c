"""Issue 10 in a real browser: two parents change the same advice at the same time.

Both open the edit page. The mother adds an item and saves; the father changes another item and
saves: his change is combined with hers, and her new item is still there. Then both change the
same item: the father sees both texts side by side (also on a phone, without scrolling
sideways), must choose, keeps both, and nothing either wrote is lost. The demo's father has not
accepted the round's agreements, so the parents write unsolicited advice (no round, so no
agreements). axe checks every page on the way.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_advice_journey import click, go, person

TITLE = "Advies over wachten op hulp"
FIRST = ("Hulp binnen zes weken", "Maximaal zes weken tussen aanmelding en start van de hulp.")
ADDED = ("Nazorg na de hulp", "Bel elk gezin drie maanden na het einde van de hulp.")
FATHERS_CHANGE = "Maximaal vier weken tussen aanmelding en start van de hulp."


def start_unsolicited_advice(mother) -> str:
    """The mother starts advice with one item; returns the address of its edit page."""
    go(mother, "/t/voorbeeldstad/advice")
    click(mother, "link", "Give unsolicited advice")
    mother.locator("#field-title").fill(TITLE)
    mother.locator("#field-panel").select_option(label="Ouderpanel Jeugdhulp")
    click(mother, "button", "Start the advice")
    edit_page = mother.url
    mother.locator("#field-item-1-title").fill(FIRST[0])
    mother.locator("#field-item-1-recommendation").fill(FIRST[1])
    click(mother, "button", "Save the advice")
    return edit_page


def test_a_member_saving_from_an_older_version_never_drops_the_other_members_work(new_page):
    mother = person(new_page, "ouder@voorbeeldstad.example")
    father = person(new_page, "vader@voorbeeldstad.example")
    edit_page = start_unsolicited_advice(mother)

    # Both open the edit page of version 2.
    go(mother, edit_page)
    go(father, edit_page)
    mother.locator("#field-item-2-title").fill(ADDED[0])
    mother.locator("#field-item-2-recommendation").fill(ADDED[1])
    click(mother, "button", "Save the advice")
    expect(mother.locator("main")).to_contain_text("saved as version 3")

    father.locator("#field-item-1-recommendation").fill(FATHERS_CHANGE)
    click(father, "button", "Save the advice")
    flash = father.locator("[role=status]")
    expect(flash).to_contain_text("Moeder van twee saved the advice while you were writing")
    expect(flash).to_contain_text(f"added “{ADDED[0]}”")
    expect(flash).to_contain_text("saved as version 4")
    items = father.locator(".portal-advice-items")
    expect(items).to_contain_text(FATHERS_CHANGE)
    expect(items).to_contain_text(ADDED[1])  # the mother's new item survived
    expect(items).not_to_contain_text(FIRST[1])

    # Both change the first item differently: the father chooses.
    go(mother, edit_page)
    go(father, edit_page)
    mother.locator("#field-item-1-recommendation").fill("Binnen drie weken een eerste gesprek.")
    click(mother, "button", "Save the advice")
    father.locator("#field-item-1-recommendation").fill("Binnen twee weken een eerste gesprek.\nDaarna elke week contact.")
    father.locator("#field-item-2-rationale").fill("Na de hulp vielen wij in een gat.")
    click(father, "button", "Save the advice")
    conflict = father.locator("#field-item-1-choice")
    expect(father.locator("#problem")).to_contain_text("Someone else saved this advice")
    expect(conflict).to_contain_text("Your version")
    expect(conflict).to_contain_text("Version 5, saved by Moeder van twee")
    expect(conflict).to_contain_text("Binnen twee weken een eerste gesprek.")
    expect(conflict).to_contain_text("Binnen drie weken een eerste gesprek.")
    expect(father.locator("#field-item-2-rationale")).to_have_value("Na de hulp vielen wij in een gat.")

    # On a phone the two texts stack: nothing scrolls sideways.
    father.set_viewport_size({"width": 375, "height": 800})
    assert father.evaluate("document.documentElement.scrollWidth") <= 375
    sides = conflict.locator(".portal-conflict__side")
    assert sides.nth(1).bounding_box()["y"] > sides.nth(0).bounding_box()["y"]
    father.set_viewport_size({"width": 1280, "height": 800})
    sides_wide = [sides.nth(index).bounding_box()["y"] for index in (0, 1)]
    assert sides_wide[0] == sides_wide[1]

    click(father, "button", "Save the advice")
    expect(father.locator("#error-summary")).to_contain_text("Choose what to keep of item 1.")
    father.get_by_label("Keep both, as two items").check()
    click(father, "button", "Save the advice")
    expect(father.locator("[role=status]")).to_contain_text("saved as version 6")
    items = father.locator(".portal-advice-items > li")
    expect(items).to_have_count(3)
    for text in ("Binnen drie weken een eerste gesprek.", "Binnen twee weken een eerste gesprek.",
                 "Daarna elke week contact.", ADDED[1], "Na de hulp vielen wij in een gat."):
        expect(father.locator(".portal-advice-items")).to_contain_text(text)
    expect(father.get_by_role("link", name=re.compile("Version 6"))).to_be_visible()
