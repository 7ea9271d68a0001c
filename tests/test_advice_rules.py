"""Rules of the advice trail: the state machine, the confirmation rule, the response deadline,
the differences between versions and the stage-close rule."""

from __future__ import annotations

import datetime

import pytest

from portal.advice.rules import (
    ADVICE_TRANSITIONS,
    Tally,
    adoption_outcome,
    differences,
    document_lines,
    is_overdue,
    needs_reasoned_response,
    response_due,
)
from portal.core.states import TransitionError, check_transition


def test_advice_goes_from_draft_through_adoption_to_submitted_and_never_back():
    check_transition(ADVICE_TRANSITIONS, "draft", "adopting")
    check_transition(ADVICE_TRANSITIONS, "adopting", "submitted")
    check_transition(ADVICE_TRANSITIONS, "adopting", "draft")
    for current, target in (("draft", "submitted"), ("submitted", "draft"), ("submitted", "adopting")):
        with pytest.raises(TransitionError):
            check_transition(ADVICE_TRANSITIONS, current, target)


@pytest.mark.parametrize(("tally", "expected"), [
    (Tally(eligible=4, confirm=3), "adopted"),
    (Tally(eligible=4, confirm=2), "open"),  # two of four is no majority yet
    (Tally(eligible=4, confirm=2, object=2), "rejected"),
    (Tally(eligible=4, confirm=2, abstain=1), "adopted"),  # two of the three who take part
    (Tally(eligible=5, object=3), "rejected"),  # a majority can no longer be reached
    (Tally(eligible=3, abstain=3), "rejected"),  # nobody supports it
    (Tally(eligible=3, abstain=2), "open"),
    (Tally(eligible=1, confirm=1), "adopted"),
])
def test_the_majority_rule_counts_only_members_who_do_not_abstain(tally, expected):
    assert adoption_outcome("majority", tally) == expected


@pytest.mark.parametrize(("tally", "expected"), [
    (Tally(eligible=3, confirm=3), "adopted"),
    (Tally(eligible=3, confirm=2), "open"),
    (Tally(eligible=3, confirm=2, abstain=1), "adopted"),
    (Tally(eligible=3, confirm=2, object=1), "rejected"),
])
def test_the_all_rule_needs_every_member_who_does_not_abstain(tally, expected):
    assert adoption_outcome("all", tally) == expected


def test_an_unknown_rule_is_a_programming_error():
    with pytest.raises(ValueError):
        adoption_outcome("most", Tally(eligible=1))


def test_the_response_is_due_the_configured_number_of_weeks_after_submission():
    assert response_due(datetime.date(2027, 1, 4), 6) == datetime.date(2027, 2, 15)
    assert response_due(datetime.date(2027, 12, 20), 2) == datetime.date(2028, 1, 3)


def test_advice_is_overdue_only_after_the_due_day_and_while_an_item_is_unanswered():
    due = datetime.date(2027, 2, 15)
    assert not is_overdue(due, due, 1)
    assert is_overdue(due, due + datetime.timedelta(days=1), 1)
    assert not is_overdue(due, due + datetime.timedelta(days=1), 0)
    assert not is_overdue(None, due, 1)


def test_differences_between_versions_show_added_and_removed_lines():
    before = document_lines("Advies", [{"title": "Wachtlijst", "recommendation": "Korter wachten."}])
    after = document_lines("Advies", [{"title": "Wachtlijst", "recommendation": "Hooguit vier weken wachten."},
                                      {"title": "Contact", "recommendation": "Een vaste contactpersoon."}])
    changes = differences(before, after)
    assert ("removed", "Korter wachten.") in [(line.kind, line.text) for line in changes]
    added = [line.text for line in changes if line.kind == "added"]
    assert "Hooguit vier weken wachten." in added and "2. Contact" in added
    assert [line.text for line in changes if line.kind == "same"][:2] == ["Advies", ""]


def test_from_adviseren_upward_advice_needs_a_reasoned_response():
    assert [form for form in ("informeren", "raadplegen", "adviseren", "coproduceren", "meebeslissen", "zelfbeheer")
            if needs_reasoned_response(form)] == ["adviseren", "coproduceren", "meebeslissen", "zelfbeheer"]
