"""What each feature adds to "download my data", "erase me" and "withdraw a contribution".

A feature registers here at import (agreements, deliberation through this package, later advice),
so the privacy feature never needs to know every table:

- ``EXPORT_SECTIONS[name] = ExportSection(collect, present)``: one section of the download.
  ``collect`` gives the person's data in a tenant as JSON-ready values, complete (ids and stored
  values included, for a computer); ``present`` turns that data into the parts of the readable
  page (``portal/privacy/readable.py``), for a person.
- ``ERASURE_STEPS.append(async (scope, user) -> None)``: run per tenant the person belongs to,
  inside the erasure transaction, before the account itself is deleted. Leave nothing that
  names the person, except in a restricted financial record.
- ``CONTRIBUTIONS[kind] = Contributions(list, withdraw)``: what a person wrote that they may
  withdraw (before publication: removed; after: name removed and taken off the portal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from portal.privacy.readable import Part

ErasureStep = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class ExportSection:
    # (scope, user) -> list | dict, JSON-ready
    collect: Callable[..., Awaitable[Any]]
    # what ``collect`` gave -> the parts of the readable page, in the current language
    present: Callable[[Any], list[Part]]


EXPORT_SECTIONS: dict[str, ExportSection] = {}
ERASURE_STEPS: list[ErasureStep] = []


@dataclass(frozen=True)
class Contributions:
    # (scope, user) -> [{"id", "title", "created_at", "published"}]
    list_own: Callable[..., Awaitable[list[dict]]]
    # (scope, user, contribution id) -> None; raises LookupError for an id not the person's own
    withdraw: Callable[..., Awaitable[None]]
    label: str


CONTRIBUTIONS: dict[str, Contributions] = {}
