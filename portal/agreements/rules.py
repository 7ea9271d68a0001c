"""Rules of payment and ownership agreements and claims, without the database."""

from __future__ import annotations

from decimal import Decimal

from portal.agreements import caps
from portal.core.i18n import N_

# --- payment ---------------------------------------------------------------------------------

BASIS_LABELS = {
    "volunteer_hourly": N_("Volunteer allowance per hour"),
    "volunteer_fixed": N_("Fixed volunteer allowance"),
    "expenses": N_("Expense claim with receipts"),
    "freelance_fee": N_("Freelance fee (invoice)"),
    "third_party_fee": N_("Fixed fee to a third party"),
    "gift_in_kind": N_("Gift in kind (voucher)"),
    "via_employer": N_("Paid via employer organisation"),
    "none": N_("None, by own choice"),
}
BASES = tuple(BASIS_LABELS)
# The bases the volunteer-allowance caps apply to, and how each counts in the cap engine.
CAPPED_BASES = {
    "volunteer_hourly": caps.HOURLY,
    "volunteer_fixed": caps.FIXED,
    "gift_in_kind": caps.GIFT,
}
# Unit of the rate, by basis: per hour, a fixed amount for the round, or no rate (expenses only).
HOURLY_BASES = ("volunteer_hourly", "freelance_fee")
FIXED_BASES = ("volunteer_fixed", "third_party_fee", "gift_in_kind")
UNIT_LABELS = {"hour": N_("per hour"), "round": N_("for the round"), "none": N_("no rate")}
# Payments outside the volunteer regime to a person, which the municipality reports yearly when
# no VAT invoice was sent.
REPORTABLE_BASES = ("freelance_fee",)
MAX_RATE = Decimal("500")
MAX_PLANNED_HOURS = Decimal("200")


def unit_of(basis: str) -> str:
    if basis in HOURLY_BASES:
        return "hour"
    if basis in FIXED_BASES:
        return "round"
    return "none"


PAYMENT_STATUS_LABELS = {
    "proposed": N_("proposed"),
    "agreed": N_("agreed"),
    "hours_logged": N_("hours logged"),
    "submitted": N_("submitted for payment"),
    "paid": N_("paid"),
    "withdrawn": N_("withdrawn"),
}
PAYMENT_TRANSITIONS = {
    "proposed": ("agreed", "withdrawn"),
    "agreed": ("hours_logged", "withdrawn"),
    "hours_logged": ("submitted", "withdrawn"),
    "submitted": ("paid",),
    "paid": (),
    "withdrawn": (),
}
# A member may log hours and expenses in these states (logging more after the first entry too).
LOGGING_STATUSES = ("agreed", "hours_logged")

# --- ownership -------------------------------------------------------------------------------

OWNER_LABELS = {"member": N_("the member"), "panel": N_("the panel jointly")}
LICENCE_LABELS = {
    "approval": N_("Published only after approval"),
    "internal": N_("Internal use only"),
    "cc_by": N_("CC BY 4.0 (open, with name)"),
    "cc0": N_("CC0 (open, without conditions)"),
}
OPEN_LICENCES = ("cc_by", "cc0")
ATTRIBUTION_LABELS = {
    "pseudonym": N_("pseudonym"),
    "name": N_("name"),
    "panel": N_("panel name"),
    "anonymous": N_("anonymous"),
}
OWNERSHIP_STATUS_LABELS = {"proposed": N_("proposed"), "accepted": N_("accepted"), "withdrawn": N_("withdrawn")}
OWNERSHIP_TRANSITIONS = {"proposed": ("accepted", "withdrawn"), "accepted": ("withdrawn",), "withdrawn": ()}
# The round need that asks for a personal story: never under an open licence.
PERSONAL_STORY_NEED = "individual_story"

# --- claims ----------------------------------------------------------------------------------

CLAIM_KIND_LABELS = {"hours": N_("hours"), "expense": N_("expense")}
CLAIM_STATUS_LABELS = {"submitted": N_("waiting for approval"), "approved": N_("approved"), "rejected": N_("rejected")}
CLAIM_TRANSITIONS = {"submitted": ("approved", "rejected"), "approved": (), "rejected": ()}
MAX_CLAIM_HOURS = Decimal("24")  # in one day
MAX_EXPENSE = Decimal("2000")
MAX_CLAIM_AMOUNT = MAX_RATE * MAX_CLAIM_HOURS  # the most one entry can be worth
# The state of an entry for finance: an approved entry is paid once its agreement is paid.
ENTRY_STATUS_LABELS = {"submitted": N_("waiting for approval"), "approved": N_("approved"), "paid": N_("paid")}
MAX_RECEIPT_BYTES = 5 * 1024 * 1024
RECEIPT_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def entry_status(claim_status: str, agreement_status: str) -> str:
    return "paid" if claim_status == "approved" and agreement_status == "paid" else claim_status


def claim_amount(kind: str, unit: str, rate, hours, expense, *, fixed_amount_paid: bool) -> Decimal:
    """What approving an entry pays: an expense its amount; hours their rate per hour, or the
    fixed amount for the round once (``fixed_amount_paid``: hours of the agreement were approved
    before)."""
    if kind == "expense":
        return caps.money(expense)
    if unit == "hour":
        return caps.money(Decimal(str(rate)) * Decimal(str(hours)))
    if unit == "round" and not fixed_amount_paid:
        return caps.money(rate)
    return caps.money(0)


def detected_receipt_type(data: bytes) -> str | None:
    """The content type the receipt really is (PDF, JPEG, PNG), by its first bytes."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
