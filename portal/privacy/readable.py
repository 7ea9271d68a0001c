"""The readable page of "download my data": what each export section shows a person.

A section's presenter (``ExportSection.present`` in ``registry.py``) turns the section's data
into parts: a heading, a plain explanation and records. Each record is a short table of labels
and values in the person's language: dates written out, statuses and choices in words, yes or no.
Never a database id, a raw stored value or JSON: those stay in the JSON file beside the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.core.i18n import _
from portal.core.templating import format_date, format_datetime


@dataclass(frozen=True)
class Record:
    """One thing kept about the person (a post, a consent): a caption and its labelled values."""

    title: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Part:
    """One kind of data on the page, under its own heading."""

    heading: str
    explanation: str
    records: list[Record]


def record(title: str, *fields: tuple[str, str | None]) -> Record:
    """A record of (label, value) pairs. Pairs without a value are left out: an empty row tells
    the reader nothing (say "not yet" in words where the absence means something)."""
    return Record(title, tuple((label, value) for label, value in fields if value))


def when(moment) -> str:
    """A moment as people write it, in Dutch time: 4 mrt 2026 14:05."""
    return format_datetime(moment)


def day(value) -> str:
    """A date written out: 4 maart 2026."""
    return format_date(value)


def yes_no(value) -> str:
    return _("yes") if value else _("no")


def label(labels: dict[str, str], value: str) -> str:
    """A stored value in words, from the feature's own label table."""
    return _(labels[value]) if value in labels else value
