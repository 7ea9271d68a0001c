"""The terms an officer proposes: defaults per panel kind, the terms form and its checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.agreements import caps
from portal.agreements.rules import (
    ATTRIBUTION_LABELS,
    BASES,
    CAPPED_BASES,
    LICENCE_LABELS,
    MAX_PLANNED_HOURS,
    MAX_RATE,
    OPEN_LICENCES,
    OWNER_LABELS,
    PERSONAL_STORY_NEED,
)
from portal.core.forms import Form
from portal.core.i18n import N_, _
from portal.panels.tables import PANEL_KINDS
from portal.tenants.settings import SETTING_CHECKS, tenant_setting

TERM_FIELDS = ("basis", "payer", "rate", "planned_hours", "vat_invoice", "owner", "licence",
               "attribution", "review_edits", "withdrawal_terms")
BUILT_IN_TERMS = {
    "basis": "volunteer_hourly",
    "payer": "",  # empty: the tenant itself
    "rate": "5.75",
    "planned_hours": "2",
    "vat_invoice": False,
    "owner": "member",
    "licence": "approval",
    "attribution": "pseudonym",
    "review_edits": True,
    "withdrawal_terms": "",
}
# Young people's panels: the under-21 hourly rate of 2026 unless the tenant sets another.
BUILT_IN_TERMS_BY_KIND = {"youth": {"rate": "3.40"}}
DEFAULT_WITHDRAWAL_TERMS = N_(
    "You can withdraw your contribution at any time. Before publication it is removed; after "
    "publication your name is removed and it is taken off the portal."
)


def _check_agreement_terms(value) -> str | None:
    if not isinstance(value, dict) or any(kind not in PANEL_KINDS or not isinstance(terms, dict)
                                          for kind, terms in value.items()):
        return f"must be a table per panel kind ({', '.join(PANEL_KINDS)})"
    for kind, terms in value.items():
        unknown = set(terms) - set(TERM_FIELDS)
        if unknown:
            return f"unknown fields {', '.join(sorted(unknown))} (known: {', '.join(TERM_FIELDS)})"
        for name, term in terms.items():
            if not _term_is_valid(name, term):
                return f"{kind}.{name}: {term!r} is not a valid value"
    return None


TERM_CHOICES = {"basis": BASES, "owner": tuple(OWNER_LABELS), "licence": tuple(LICENCE_LABELS),
                "attribution": tuple(ATTRIBUTION_LABELS)}


def _term_is_valid(name: str, value) -> bool:
    if name in TERM_CHOICES:
        return value in TERM_CHOICES[name]
    if name in ("vat_invoice", "review_edits"):
        return isinstance(value, bool)
    if name in ("rate", "planned_hours"):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return False
        return number.is_finite() and 0 <= number <= (MAX_RATE if name == "rate" else MAX_PLANNED_HOURS)
    return isinstance(value, str) and len(value) <= 2000


def _check_volunteer_caps(value) -> str | None:
    try:
        caps.cap_table(value if isinstance(value, dict) else None)
    except (ValueError, TypeError) as error:
        return str(error)
    return None if isinstance(value, dict) else "must be a table per year"


SETTING_CHECKS["agreement_terms"] = _check_agreement_terms
SETTING_CHECKS["volunteer_caps"] = _check_volunteer_caps


def cap_table_of(tenant) -> dict[int, caps.YearCaps]:
    return caps.cap_table(tenant_setting(tenant, "volunteer_caps"))


def default_terms(tenant, panel_kind: str) -> dict:
    """The terms proposed to a member of a ``panel_kind`` panel when the officer set none."""
    configured = tenant_setting(tenant, "agreement_terms").get(panel_kind, {})
    terms = {**BUILT_IN_TERMS, **BUILT_IN_TERMS_BY_KIND.get(panel_kind, {}), **configured}
    terms["rate"] = Decimal(str(terms["rate"]))
    terms["planned_hours"] = Decimal(str(terms["planned_hours"]))
    terms["payer"] = terms["payer"] or tenant.name
    terms["withdrawal_terms"] = terms["withdrawal_terms"] or _(DEFAULT_WITHDRAWAL_TERMS)
    return terms


def configured_terms(tenant, panel_kind: str, values: dict) -> dict:
    """The default terms a tenant keeps for ``panel_kind`` after its admin saved ``values`` (read
    by ``read_terms``): the fields that differ from the built-in defaults, written as a tenant
    file writes them (amounts as text), so that the file stays short."""
    built_in = {**BUILT_IN_TERMS, **BUILT_IN_TERMS_BY_KIND.get(panel_kind, {}),
                "payer": tenant.name, "withdrawal_terms": _(DEFAULT_WITHDRAWAL_TERMS)}
    kept = {}
    for name in TERM_FIELDS:
        value = values[name]
        if name in ("rate", "planned_hours"):
            if Decimal(str(value)) != Decimal(str(built_in[name])):
                kept[name] = format(caps.money(value) if name == "rate" else Decimal(value).normalize(), "f")
        elif value != built_in[name]:
            kept[name] = value
    return kept


def terms_form(terms: dict) -> Form:
    """A form filled with ``terms``, to edit them."""
    form = Form()
    for name in TERM_FIELDS:
        value = terms[name]
        form.values[name] = ("1" if value else "") if isinstance(value, bool) else str(value)
    return form


def read_terms(form: Form, *, activity_day: date, need: str, table) -> dict:
    """The terms from the submitted form; problems go to ``form.errors``.

    Refused: a rate above the adult hourly cap for a per-hour volunteer allowance; an open
    licence without the confirmation that it cannot be revoked; an open licence for a round that
    asks for a personal story.
    """
    basis = form.choice("basis", _("Basis of payment"), BASES)
    values = {
        "basis": basis,
        "payer": form.text("payer", _("Payer"), max_length=120),
        "rate": form.decimal("rate", _("Rate in euros"), minimum=0, maximum=MAX_RATE, required=False) or Decimal(0),
        "planned_hours": form.decimal("planned_hours", _("Planned hours"), minimum=0,
                                      maximum=MAX_PLANNED_HOURS, required=False) or Decimal(0),
        "vat_invoice": bool(form.raw("vat_invoice")),
        "owner": form.choice("owner", _("Owner"), OWNER_LABELS),
        "licence": form.choice("licence", _("Licence"), LICENCE_LABELS),
        "attribution": form.choice("attribution", _("Attribution"), ATTRIBUTION_LABELS),
        "review_edits": bool(form.raw("review_edits")),
        "withdrawal_terms": form.text("withdrawal_terms", _("Withdrawal terms"), max_length=2000),
    }
    values["rate"] = caps.money(values["rate"])
    if CAPPED_BASES.get(basis) and "rate" not in form.errors:
        _refuse_above_every_cap(form, CAPPED_BASES[basis], values, activity_day, table)
    licence = values["licence"]
    if licence in OPEN_LICENCES and need == PERSONAL_STORY_NEED:
        form.add_error("licence", _("This round asks for a personal story. A personal story is never "
                                    "placed under an open licence: choose approval or internal use."))
    elif licence in OPEN_LICENCES and not form.raw("confirm_open_licence"):
        form.add_error("licence", _("An open licence cannot be withdrawn once the text is published. "
                                    "Tick the box to confirm that this is intended."))
    form.raw("confirm_open_licence")
    return values


def _refuse_above_every_cap(form: Form, kind: str, values: dict, day: date, table) -> None:
    """Refuse terms no member could be paid: a rate above the adult hourly cap, or a fixed
    amount (paid at once) above the monthly cap. Other excesses depend on the member (age) or on
    how the hours are spread: the terms page shows them per member."""
    try:
        check = caps.check_terms(kind, values["rate"], values["planned_hours"], caps.ADULT_RATE_AGE, day, table)
    except caps.UnknownYear:
        form.add_error("rate", _("No volunteer allowance caps are known for %(year)s. Ask the administrator "
                                 "to add them to the tenant settings.", year=day.year))
        return
    for use in check.exceeded:
        if use.cap == caps.HOURLY_CAP:
            form.add_error("rate", _(
                "This rate is above the volunteer allowance cap of %(cap)s an hour in %(year)s. "
                "Choose at most %(cap)s, or a freelance fee.", cap=format_money(use.limit), year=day.year))
        elif kind != caps.HOURLY and use.cap == caps.MONTHLY_CAP:
            form.add_error("rate", _(
                "This amount is above the volunteer allowance cap of %(cap)s a month in %(year)s, so it "
                "could never be approved. Choose at most %(cap)s, or a basis outside the volunteer allowance.",
                cap=format_money(use.limit), year=day.year))


def format_money(amount) -> str:
    from babel.numbers import format_currency

    from portal.core.i18n import current_locale

    return format_currency(Decimal(str(amount or 0)), "EUR", locale=current_locale.get())
