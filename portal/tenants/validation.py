"""The rules of a tenant's configuration, shared by the TOML loader and the set-up forms.

A check returns the problem with a value as a sentence (translated: the forms show it next to
the field, the loader in English after the file and the field), or None when the value is fine.
The lengths and choices here are the ones both the loader and the forms read their fields with.
"""

from __future__ import annotations

import re

from portal.core.i18n import N_, _

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
SLUG_MAX = 63
NAME_MAX = 200
KINDS = ("municipality", "region")
KIND_LABELS = {"municipality": N_("Municipality"), "region": N_("Youth-care region")}
LOCALES = ("nl", "en")
STAGE_NAME_MAX = 120
PANEL_NAME_MAX = 120
PARTNER_ORGANISATION_MAX = 200
PANEL_DESCRIPTION_MAX = 2000


def text_problem(value, max_length: int, *, required: bool = True) -> str | None:
    if not isinstance(value, str):
        return _("Enter text.")
    if required and not value.strip():
        return _("Fill in this field.")
    if len(value.strip()) > max_length:
        return _("Use at most %(max)s characters; this has %(count)s.", max=max_length, count=len(value.strip()))
    return None


def choice_problem(value, choices) -> str | None:
    if value in choices:
        return None
    return _("Choose one of: %(choices)s.", choices=", ".join(choices))


def slug_problem(slug: str) -> str | None:
    """The part of the space's address after /t/."""
    if isinstance(slug, str) and SLUG.match(slug):
        return None
    return _(
        "Use only lowercase letters, digits and hyphens, at most %(max)s, beginning and ending "
        "with a letter or digit.",
        max=SLUG_MAX,
    )


def stage_count_problem(count: int) -> str | None:
    if count >= 1:
        return None
    return _("The policy-cycle template needs at least one stage.")
