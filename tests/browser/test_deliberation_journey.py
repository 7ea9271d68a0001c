"""Deliberation in a real browser: live posts between two members, reporting and hiding a post,
and a poll from start to closed results with the not-representative label. axe checks each page."""

from __future__ import annotations

import datetime
import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, settle


def english_member(new_page, email: str):
    page = new_page()
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    settle(page)
    log_in(page, email)
    return page


def open_panel_conversation(page) -> str:
    """From the start page to the panel's conversation about the demo round; returns its URL."""
    page.goto("/t/voorbeeldstad/")
    page.get_by_role("link", name=re.compile("Wat moet er beter")).first.click()
    settle(page)
    page.get_by_role("link", name=re.compile("Ouderpanel Jeugdhulp")).first.click()
    settle(page)
    expect(page.locator("#posts")).to_be_attached()
    return page.url


def test_two_parents_see_each_others_posts_live_and_a_post_can_be_reported_and_hidden(new_page):
    mother = english_member(new_page, "ouder@voorbeeldstad.example")
    father = english_member(new_page, "vader@voorbeeldstad.example")
    conversation = open_panel_conversation(mother)
    father.goto(conversation)
    settle(father)
    father.wait_for_timeout(500)  # the live stream connects after the page has loaded

    mother.locator("#field-body").fill("Wij wachtten **vier maanden** op hulp.")
    mother.get_by_role("button", name="Send message").click()
    expect(mother.locator("#posts")).to_contain_text("vier maanden")
    expect(father.locator("#posts")).to_contain_text("vier maanden", timeout=10_000)

    father.goto(conversation)
    settle(father)
    father.get_by_role("link", name=re.compile("^Report")).first.click()
    settle(father)
    father.locator("#field-reason").fill("Dit voelt niet veilig.")
    father.get_by_role("button", name="Send report").click()
    settle(father)

    supporter = english_member(new_page, "begeleiding@voorbeeldstad.example")
    supporter.goto(conversation)
    settle(supporter)
    supporter.get_by_role("link", name=re.compile("^Hide")).first.click()
    settle(supporter)
    supporter.locator("#field-reason").fill("Even verborgen; we bellen je hierover.")
    supporter.get_by_role("button", name="Hide message").click()
    settle(supporter)

    mother.goto(conversation)
    settle(mother)
    expect(mother.locator("#posts")).to_contain_text("we bellen je hierover")
    father.goto(conversation)
    settle(father)
    expect(father.locator("#posts")).not_to_contain_text("vier maanden")


def test_a_poll_is_created_voted_on_closed_and_labelled_not_representative(new_page):
    mother = english_member(new_page, "ouder@voorbeeldstad.example")
    conversation = open_panel_conversation(mother)
    mother.get_by_role("link", name="Start a poll").first.click()
    settle(mother)
    mother.locator("#field-question").fill("Zullen we ook online vergaderen?")
    mother.locator("#field-kind").select_option("single")
    mother.locator("#field-options").fill("Ja\nNee\nWeet ik niet")
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    mother.locator("#field-closes_date").fill(tomorrow.isoformat())
    mother.locator("#field-closes_time").fill("17:00")
    mother.get_by_role("button", name="Start the poll").click()
    settle(mother)

    father = english_member(new_page, "vader@voorbeeldstad.example")
    father.goto(conversation)
    settle(father)
    father.get_by_label("Ja", exact=True).check()
    father.get_by_role("button", name=re.compile("^Vote")).click()
    settle(father)
    expect(father.get_by_text("Not representative", exact=False).first).to_be_visible()

    mother.goto(conversation)
    settle(mother)
    mother.get_by_role("button", name=re.compile("Close this poll")).click()
    settle(mother)
    expect(mother.get_by_text("Not representative", exact=False).first).to_be_visible()
    father.goto(conversation)
    settle(father)
    expect(father.get_by_role("button", name=re.compile("^Vote"))).to_have_count(0)
