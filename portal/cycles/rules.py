"""Rules of policy cycles and stages, without the database."""

from __future__ import annotations

from portal.core.i18n import N_
from portal.cycles.tables import PARTICIPATION_FORMS

CYCLE_STATUSES = ("active", "completed")
CYCLE_TRANSITIONS = {"active": ("completed",), "completed": ("active",)}

STAGE_STATUSES = ("planned", "open", "closed")
# A closed stage stays closed: its rounds and advice are the record of what happened.
STAGE_TRANSITIONS = {"planned": ("open",), "open": ("closed",), "closed": ()}

STATUS_LABELS = {
    "active": N_("active"),
    "completed": N_("completed"),
    "planned": N_("planned"),
    "open": N_("open"),
    "closed": N_("closed"),
}

PARTICIPATION_LABELS = {
    "informeren": N_("Inform"),
    "raadplegen": N_("Consult"),
    "adviseren": N_("Advise"),
    "coproduceren": N_("Co-produce"),
    "meebeslissen": N_("Co-decide"),
    "zelfbeheer": N_("Self-managed"),
}
PARTICIPATION_DESCRIPTIONS = {
    "informeren": N_("The experts are informed; they are not asked for input."),
    "raadplegen": N_("The experts are asked for their views; the municipality is not bound by them."),
    "adviseren": N_("The experts give advice; the municipality must give reasons when it deviates."),
    "coproduceren": N_("The experts and the municipality work out the result together; the agreed result is binding."),
    "meebeslissen": N_("The experts decide together with the municipality."),
    "zelfbeheer": N_("The experts run this part themselves."),
}


def requires_reasoned_response(participation_form: str) -> bool:
    """From ``adviseren`` upward every piece of advice needs a reasoned response."""
    return PARTICIPATION_FORMS.index(participation_form) >= PARTICIPATION_FORMS.index("adviseren")


def stage_is_editable(status: str) -> bool:
    """Name, form and dates can change until the stage closes; order only while planned."""
    return status != "closed"


def stage_structure_is_editable(status: str) -> bool:
    """Stages can be removed and reordered while they are still planned."""
    return status == "planned"
