"""Rules of the advice trail without the database: states, the confirmation rule, the response
deadline and the differences between versions."""

from __future__ import annotations

import datetime
import difflib
import json
from dataclasses import dataclass

from portal.core.i18n import N_
from portal.cycles.tables import PARTICIPATION_FORMS

# --- advice documents -----------------------------------------------------------------------

ADVICE_STATUSES = ("draft", "adopting", "submitted")
ADVICE_TRANSITIONS = {
    "draft": ("adopting",),
    # Back to draft when the panel wants to change it, or when the confirmation rule cannot be met.
    "adopting": ("submitted", "draft"),
    "submitted": (),
}
ADVICE_STATUS_LABELS = {
    "draft": N_("draft"),
    "adopting": N_("being adopted"),
    "submitted": N_("submitted"),
}

CONFIRMATION_RULES = ("majority", "all")
VOTE_CHOICES = ("confirm", "abstain", "object")
VOTE_LABELS = {
    "confirm": N_("I confirm this advice"),
    "abstain": N_("I abstain"),
    "object": N_("I do not agree"),
}

MAX_ITEMS = 30


@dataclass(frozen=True)
class Tally:
    eligible: int
    confirm: int = 0
    abstain: int = 0
    object: int = 0

    @property
    def voting(self) -> int:
        """Members who take part in the decision: everyone eligible except who abstained."""
        return self.eligible - self.abstain

    @property
    def waiting(self) -> int:
        return self.eligible - self.confirm - self.abstain - self.object


def adoption_outcome(rule: str, tally: Tally) -> str:
    """"adopted", "rejected" or "open" (still waiting for answers).

    * majority: more than half of the members who do not abstain confirm; rejected as soon as
      that can no longer happen.
    * all: every member who does not abstain confirms; rejected at the first objection.
    Abstaining is always allowed, but advice that everyone abstains on is not adopted.
    """
    if rule not in CONFIRMATION_RULES:
        raise ValueError(f"unknown confirmation rule {rule!r}")
    if tally.voting <= 0:
        return "rejected" if tally.waiting == 0 else "open"
    if rule == "all":
        if tally.object:
            return "rejected"
        return "adopted" if tally.confirm == tally.voting else "open"
    if tally.confirm * 2 > tally.voting:
        return "adopted"
    # Even if every member still waiting confirms (and nobody else abstains), no majority.
    if (tally.confirm + tally.waiting) * 2 <= tally.voting:
        return "rejected"
    return "open"


def response_due(submitted_on: datetime.date, weeks: int) -> datetime.date:
    """The day by which the municipality responds: ``weeks`` after submission."""
    return submitted_on + datetime.timedelta(weeks=weeks)


def is_overdue(due: datetime.date | None, today: datetime.date, unanswered: int) -> bool:
    """Overdue: past the day it was due while an item still lacks a published response."""
    return due is not None and unanswered > 0 and today > due


# --- responses ---------------------------------------------------------------------------------

RESPONSE_STATUSES = ("pending", "adopted", "partly_adopted", "not_adopted", "not_applicable")
# A published response with one of these statuses is a reasoned answer; "pending" is not yet.
ANSWERED_STATUSES = ("adopted", "partly_adopted", "not_adopted", "not_applicable")
REASONING_REQUIRED = ("partly_adopted", "not_adopted")
RESPONSE_STATUS_LABELS = {
    "pending": N_("pending"),
    "adopted": N_("adopted"),
    "partly_adopted": N_("partly adopted"),
    "not_adopted": N_("not adopted"),
    "not_applicable": N_("not applicable"),
}

# --- decisions, outcomes and the panel's reaction ------------------------------------------------

DECISION_KINDS = ("council_decision", "executive_decision", "contract", "policy_document")
DECISION_KIND_LABELS = {
    "council_decision": N_("Council decision"),
    "executive_decision": N_("Executive decision"),
    "contract": N_("Contract"),
    "policy_document": N_("Policy document"),
}
HEARD_ANSWERS = ("yes", "partly", "no")
HEARD_LABELS = {
    "yes": N_("Yes, I feel heard"),
    "partly": N_("Partly"),
    "no": N_("No, I do not feel heard"),
}


# --- differences between versions ----------------------------------------------------------------


def items_from_json(text: str | None) -> list[dict]:
    """The items of a version as stored (JSON); nothing when the text is not a list."""
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return []
    return items if isinstance(items, list) else []


def document_lines(title: str, items: list[dict]) -> list[str]:
    """An advice document as lines of text, the form in which versions are compared."""
    lines = [title, ""]
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {item.get('title', '')}")
        lines.extend(str(item.get("recommendation", "")).splitlines())
        rationale = str(item.get("rationale", "")).strip()
        if rationale:
            lines.append("")
            lines.extend(rationale.splitlines())
        lines.append("")
    return lines


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added" or "removed"
    text: str


def differences(before: list[str], after: list[str]) -> list[DiffLine]:
    """Line by line what changed; unchanged lines kept for context."""
    result = []
    for opcode, low_a, high_a, low_b, high_b in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if opcode == "equal":
            result.extend(DiffLine("same", line) for line in before[low_a:high_a])
            continue
        result.extend(DiffLine("removed", line) for line in before[low_a:high_a])
        result.extend(DiffLine("added", line) for line in after[low_b:high_b])
    return result


def needs_reasoned_response(participation_form: str) -> bool:
    """From ``adviseren`` upward every advice item needs a published response (domain.md)."""
    if participation_form not in PARTICIPATION_FORMS:
        return False
    return PARTICIPATION_FORMS.index(participation_form) >= PARTICIPATION_FORMS.index("adviseren")
