"""Rules of the advice trail without the database: states, the confirmation rule, the response
deadline, the differences between versions and merging two members' concurrent saves."""

from __future__ import annotations

import datetime
import difflib
import json
import re
import secrets
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
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


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


# --- merging concurrent saves -----------------------------------------------------------------
#
# Two members who open the same version and both save: the second save is merged three-way with
# the first, per item. An item keeps its key across versions, so the merge can tell which item
# each side added, changed or removed. Nothing one side wrote is dropped without a choice.

ITEM_FIELDS = ("title", "recommendation", "rationale")
# New keys are random hex; items saved before keys existed get "p" and their position.
ITEM_KEY = re.compile(r"^[a-z0-9]{1,16}$")
CONFLICT_CHOICE_LABELS = {
    "mine": N_("Keep your version"),
    "theirs": N_("Keep the other version"),
    "both": N_("Keep both, as two items"),
    "remove": N_("Remove the item"),
}
TITLE_CHOICES = ("mine", "theirs")
# The other person's changes that were taken, named when they are combined with yours.
MERGE_NOTE_LABELS = {
    "title": N_("changed the title"),
    "added": N_("added “%(title)s”"),
    "changed": N_("changed “%(title)s”"),
    "removed": N_("removed “%(title)s”"),
}


def new_item_key(taken: set[str]) -> str:
    """A key no item in ``taken`` has."""
    while (key := secrets.token_hex(4)) in taken:
        continue
    return key


def item_key(stored: str | None, position: int) -> str:
    """The key of a stored item; one saved before keys existed gets a key from its position (1 for
    the first), the same every time the version is read."""
    return stored if stored and ITEM_KEY.match(stored) else f"p{position}"


def keyed_items(items: list[dict]) -> list[dict]:
    """A version's stored items, each with its key and its texts."""
    return [{"key": item_key(str(item.get("key") or ""), position),
             **{name: str(item.get(name) or "") for name in ITEM_FIELDS}}
            for position, item in enumerate(items, start=1)]


@dataclass(frozen=True)
class Document:
    """An advice document as a merge sees it: the title and the items, each with a key."""

    title: str
    items: tuple[dict, ...]


def conflict_choices(has_mine: bool, has_theirs: bool) -> tuple[str, ...]:
    """What a person may choose for a conflicting item: with both texts, either or both; when
    one side removed the item, the remaining text or removing it."""
    if has_mine and has_theirs:
        return ("mine", "theirs", "both")
    if has_mine:
        return ("mine", "remove")
    return ("theirs", "remove") if has_theirs else ()


@dataclass(frozen=True)
class ItemConflict:
    """An item changed differently on both sides, or removed on one side and changed on the
    other (``None``: that side removed it)."""

    key: str
    mine: dict | None
    theirs: dict | None

    @property
    def choices(self) -> tuple[str, ...]:
        return conflict_choices(self.mine is not None, self.theirs is not None)


def resolve_conflict(choice: str, mine: dict | None, theirs: dict | None) -> list[dict]:
    """The items a person's choice keeps. "both" keeps the other text under the item's key and
    the person's own as a new item (an empty key: it gets a new one when saved)."""
    if choice not in conflict_choices(mine is not None, theirs is not None):
        raise ValueError(f"{choice!r} is not a choice for this conflict")
    return {"mine": [mine], "theirs": [theirs], "both": [theirs, {**(mine or {}), "key": ""}],
            "remove": []}[choice]


@dataclass(frozen=True)
class MergeNote:
    kind: str  # a key of MERGE_NOTE_LABELS
    title: str


@dataclass(frozen=True)
class Merge:
    title: str  # the person's own while the titles conflict
    title_conflict: tuple[str, str] | None  # (mine, theirs)
    entries: tuple[dict | ItemConflict, ...]  # in the order of the merged document
    notes: tuple[MergeNote, ...]  # the other side's changes that were taken

    @property
    def conflicts(self) -> list[ItemConflict]:
        return [entry for entry in self.entries if isinstance(entry, ItemConflict)]

    @property
    def is_clean(self) -> bool:
        return self.title_conflict is None and not self.conflicts

    @property
    def items(self) -> list[dict]:
        return [entry for entry in self.entries if not isinstance(entry, ItemConflict)]


def _normal(text: str) -> str:
    """Text as compared: browsers send a textarea's line breaks as CRLF."""
    return text.replace("\r\n", "\n").strip()


def _content(item: dict | None) -> tuple[str, ...] | None:
    return None if item is None else tuple(_normal(str(item.get(name, ""))) for name in ITEM_FIELDS)


def _pick(base, theirs, mine) -> str | None:
    """The side a three-way merge takes ("theirs" or "mine"), or None when both changed it
    differently. ``None`` values are absent on that side (added, or removed)."""
    if theirs == mine or mine == base:
        return "theirs"
    return "mine" if theirs == base else None


def _note(base: dict | None, theirs: dict | None) -> MergeNote:
    if base is None:
        return MergeNote("added", theirs["title"])
    return MergeNote("removed", base["title"]) if theirs is None else MergeNote("changed", theirs["title"])


def _merged_order(their_keys: list[str], my_keys: list[str], kept: set[str]) -> list[str]:
    """Follow the latest version; an item it does not have goes after the item before it in the
    person's document, past the items there that the person's document does not have (the other
    side's new items, say), or first when no item is before it."""
    order = [key for key in their_keys if key in kept]
    mine = set(my_keys)
    for index, key in enumerate(my_keys):
        if key not in kept or key in order:
            continue
        anchor = next((earlier for earlier in reversed(my_keys[:index]) if earlier in order), None)
        position = order.index(anchor) + 1 if anchor is not None else 0
        while position < len(order) and order[position] not in mine:
            position += 1
        order.insert(position, key)
    return order


def merge_documents(base: Document, theirs: Document, mine: Document) -> Merge:
    """Merge the person's document (mine) with the latest version (theirs), both changed from the
    version the person started from (base). Per item and for the title: changed on one side
    only, take that side; the same change on both, take it; added on either side, keep it;
    removed on one side and unchanged on the other, removed; otherwise a conflict for the person
    to resolve."""
    base_items, their_items, my_items = ({item["key"]: item for item in document.items}
                                         for document in (base, theirs, mine))
    resolved: dict[str, dict | ItemConflict] = {}
    notes = []
    for key in {**their_items, **my_items}:
        before, their_item, my_item = base_items.get(key), their_items.get(key), my_items.get(key)
        side = _pick(_content(before), _content(their_item), _content(my_item))
        if side is None:
            resolved[key] = ItemConflict(key, my_item, their_item)
            continue
        chosen = their_item if side == "theirs" else my_item
        if chosen is not None:
            resolved[key] = chosen
        if side == "theirs" and _content(their_item) not in (_content(before), _content(my_item)):
            notes.append(_note(before, their_item))
    title_side = _pick(_normal(base.title), _normal(theirs.title), _normal(mine.title))
    if title_side == "theirs" and _normal(theirs.title) not in (_normal(base.title), _normal(mine.title)):
        notes.insert(0, MergeNote("title", theirs.title))
    order = _merged_order(list(their_items), list(my_items), set(resolved))
    return Merge(
        title=theirs.title if title_side == "theirs" else mine.title,
        title_conflict=(mine.title, theirs.title) if title_side is None else None,
        entries=tuple(resolved[key] for key in order),
        notes=tuple(notes),
    )
