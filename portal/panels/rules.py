"""Rules of panels and panel memberships, without the database."""

from __future__ import annotations

from portal.core.i18n import N_

PANEL_KIND_LABELS = {
    "parents": N_("Parents"),
    "youth": N_("Young people"),
    "mixed": N_("Parents and young people"),
}
# Panels that bring the parent perspective into a stage (a known blind spot).
PARENT_PANEL_KINDS = ("parents", "mixed")

AGE_BANDS = ("under_16", "16_17", "18_20", "21_26", "27_plus")
AGE_BAND_LABELS = {
    "under_16": N_("under 16"),
    "16_17": N_("16 or 17"),
    "18_20": N_("18 to 20"),
    "21_26": N_("21 to 26"),
    "27_plus": N_("27 or older"),
}

MEMBERSHIP_STATUSES = ("invited", "active", "paused", "withdrawn", "ended")
MEMBERSHIP_TRANSITIONS = {
    "invited": ("active", "withdrawn"),
    "active": ("paused", "withdrawn", "ended"),
    "paused": ("active", "withdrawn", "ended"),
    "withdrawn": ("ended",),
    "ended": (),
}
MEMBERSHIP_STATUS_LABELS = {
    "invited": N_("invited"),
    "active": N_("active"),
    "paused": N_("paused"),
    "withdrawn": N_("withdrawn"),
    "ended": N_("ended"),
}

MAX_MONTHLY_HOURS = 160
