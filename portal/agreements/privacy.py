"""What agreements add to privacy self-service: the export section, the erasure step (financial
records kept seven years in restricted form) and the public attribution for the advice trail."""

from __future__ import annotations

from datetime import date

from portal.accounts.tables import User
from portal.agreements.rules import (
    ATTRIBUTION_LABELS,
    BASIS_LABELS,
    CLAIM_KIND_LABELS,
    CLAIM_STATUS_LABELS,
    LICENCE_LABELS,
    OWNER_LABELS,
    OWNERSHIP_STATUS_LABELS,
    PAYMENT_STATUS_LABELS,
    UNIT_LABELS,
)
from portal.agreements.service import display_names
from portal.agreements.tables import Claim, OwnershipAgreement, PaymentAgreement, RestrictedPayee
from portal.agreements.terms import format_money
from portal.core.i18n import N_, _
from portal.core.tenancy import TenantScope
from portal.panels.rules import AGE_BAND_LABELS
from portal.privacy.readable import Part, Record, day, label, record, when, yes_no
from portal.privacy.registry import ERASURE_STEPS, EXPORT_SECTIONS, ExportSection
from portal.privacy.retention import RETENTION_STEPS
from portal.rounds.service import format_hours

FINANCIAL_RECORD_YEARS = 7
ANONYMOUS = N_("Anonymous participant")
FORMER_PARTICIPANT = N_("Former participant")


async def _export(scope: TenantScope, user: User) -> dict:
    payments = await scope.select(
        PaymentAgreement, *PaymentAgreement.all_columns(exclude=[PaymentAgreement.tenant]),
        PaymentAgreement.round.title.as_alias("round_title"),
    ).where(PaymentAgreement.user == user.id)
    ownership = await scope.select(
        OwnershipAgreement, *OwnershipAgreement.all_columns(exclude=[OwnershipAgreement.tenant]),
        OwnershipAgreement.round.title.as_alias("round_title"),
    ).where(OwnershipAgreement.user == user.id)
    claims = await scope.select(
        Claim, Claim.id, Claim.agreement, Claim.kind, Claim.activity_date, Claim.hours, Claim.amount,
        Claim.description, Claim.receipt_filename, Claim.status, Claim.reason,
        Claim.agreement.round.title.as_alias("round_title"),
    ).where(Claim.agreement.user == user.id).order_by(Claim.activity_date)
    return {"payment_agreements": payments, "ownership_agreements": ownership, "hours_and_expenses": claims}


def _rate(row: dict) -> str:
    if row["unit"] == "none":
        return ""
    return f"{format_money(row['rate'])} {label(UNIT_LABELS, row['unit'])}"


def _payment_record(row: dict) -> Record:
    return record(
        row["round_title"], (_("Status"), label(PAYMENT_STATUS_LABELS, row["status"])),
        (_("Basis of payment"), label(BASIS_LABELS, row["basis"])), (_("Payer"), row["payer"]),
        (_("Rate"), _rate(row)), (_("Planned hours"), _("%(hours)s hours", hours=format_hours(row["planned_hours"]))),
        (_("Invoice with VAT"), yes_no(row["vat_invoice"])), (_("Fiscal year"), str(row["fiscal_year"])),
        (_("Age band"), label(AGE_BAND_LABELS, row["age_band"])), (_("Change requested"), row["change_request"]),
        (_("Proposed on"), when(row["created_at"])), (_("Agreed on"), when(row["agreed_at"])),
        (_("Paid on"), day(row["paid_on"])))


def _ownership_record(row: dict) -> Record:
    return record(
        row["round_title"], (_("Status"), label(OWNERSHIP_STATUS_LABELS, row["status"])),
        (_("Owner"), label(OWNER_LABELS, row["owner"])), (_("Licence"), label(LICENCE_LABELS, row["licence"])),
        (_("Attribution"), label(ATTRIBUTION_LABELS, row["attribution"])),
        (_("Review of edits before publication"), yes_no(row["review_edits"])),
        (_("Withdrawal terms"), row["withdrawal_terms"]), (_("Change requested"), row["change_request"]),
        (_("Proposed on"), when(row["created_at"])), (_("Accepted on"), when(row["accepted_at"])))


def _claim_record(row: dict) -> Record:
    hours = row["kind"] == "hours"
    # An amount for hours is set when they are approved (through the volunteer-allowance caps).
    amount = row["status"] == "approved" or not hours
    return record(
        _("Activity of %(date)s", date=day(row["activity_date"])), (_("Round"), row["round_title"]),
        (_("Kind"), label(CLAIM_KIND_LABELS, row["kind"])),
        (_("Hours"), _("%(hours)s hours", hours=format_hours(row["hours"])) if hours else ""),
        (_("Amount"), format_money(row["amount"]) if amount else ""), (_("Description"), row["description"]),
        (_("Receipt"), row["receipt_filename"]), (_("Status"), label(CLAIM_STATUS_LABELS, row["status"])),
        (_("Reason"), row["reason"]))


def _present(data: dict) -> list[Part]:
    return [
        Part(_("Payment agreements"), _("What you are paid for your work in a round, and how."),
             [_payment_record(row) for row in data["payment_agreements"]]),
        Part(_("Ownership agreements"), _("Who owns what you write in a round, and how it may be used and published."),
             [_ownership_record(row) for row in data["ownership_agreements"]]),
        Part(_("Hours and expenses"), _("The hours and expenses you logged, and what the policy officer decided."),
             [_claim_record(row) for row in data["hours_and_expenses"]]),
    ]


async def _restrict(scope: TenantScope, user_id: int, name: str, round_ids: list[int] | None = None) -> None:
    """The person's agreements (in ``round_ids``, or all) no longer point at them. Those with
    money in them keep the payee's name in a restricted record (seven years); the others go,
    except ownership agreements, which still govern the contribution. Typed descriptions go."""
    mine = PaymentAgreement.user == user_id
    if round_ids is not None:
        mine &= PaymentAgreement.round.is_in(round_ids)
    agreements = await scope.select(PaymentAgreement, PaymentAgreement.id, PaymentAgreement.status).where(mine)
    approved = {row["agreement"] for row in await scope.select(Claim, Claim.agreement).where(
        Claim.agreement.is_in([a["id"] for a in agreements] or [0]) & (Claim.status == "approved"))}
    financial = [a["id"] for a in agreements if a["id"] in approved or a["status"] in ("submitted", "paid")]
    others = [a["id"] for a in agreements if a["id"] not in financial]
    if others:
        await scope.delete(PaymentAgreement).where(PaymentAgreement.id.is_in(others))
    if financial:
        today = date.today()
        payee = scope.new(RestrictedPayee, name=name, keep_until=today.replace(year=today.year + FINANCIAL_RECORD_YEARS))
        await payee.save()
        await scope.update(PaymentAgreement, {PaymentAgreement.restricted_payee: payee.id, PaymentAgreement.user: None}
                           ).where(PaymentAgreement.id.is_in(financial))
        await scope.update(Claim, {Claim.description: ""}).where(Claim.agreement.is_in(financial))
    ownership = OwnershipAgreement.user == user_id
    if round_ids is not None:
        ownership &= OwnershipAgreement.round.is_in(round_ids)
    await scope.update(OwnershipAgreement, {OwnershipAgreement.user: None}).where(ownership)


async def _restrict_financial_records(scope: TenantScope, user: User) -> None:
    await _restrict(scope, user.id, user.name)


async def _retention(scope: TenantScope, round_ids: list[int]) -> None:
    rows = await scope.select(PaymentAgreement, PaymentAgreement.user).where(
        PaymentAgreement.round.is_in(round_ids) & PaymentAgreement.user.is_not_null())
    user_ids = {row["user"] for row in rows} | {row["user"] for row in await scope.select(
        OwnershipAgreement, OwnershipAgreement.user).where(
        OwnershipAgreement.round.is_in(round_ids) & OwnershipAgreement.user.is_not_null())}
    names = {row["id"]: row["name"] for row in await User.select(User.id, User.name).where(
        User.id.is_in(list(user_ids) or [0]))}
    for user_id in user_ids:
        await _restrict(scope, user_id, names.get(user_id, ""), round_ids)


EXPORT_SECTIONS["agreements"] = ExportSection(_export, _present)
ERASURE_STEPS.append(_restrict_financial_records)
RETENTION_STEPS.append(_retention)


async def public_attribution(scope: TenantScope, round_id: int, user_ids) -> dict[int, str]:
    """How each contributor may be named publicly for a round, by their ownership agreement:
    their name (only with their consent to attribution), their pseudonym, their panel's name, or
    anonymous. Without an accepted agreement: anonymous. For the advice trail."""
    pairs = {(round_id, user_id) for user_id in user_ids if user_id}
    names = await public_attributions(scope, pairs)
    return {user_id: name for (_round, user_id), name in names.items()}


async def public_attributions(scope: TenantScope, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """``public_attribution`` for (round id, user id) pairs of many rounds at once: four queries,
    however many pairs (the public advice ledger)."""
    from portal.privacy.tables import Consent

    round_ids = list({round_id for round_id, _user in pairs}) or [0]
    user_ids = list({user_id for _round, user_id in pairs}) or [0]
    rows = await scope.select(
        OwnershipAgreement, OwnershipAgreement.round, OwnershipAgreement.user, OwnershipAgreement.attribution,
        OwnershipAgreement.panel.name.as_alias("panel_name"),
    ).where(OwnershipAgreement.round.is_in(round_ids) & (OwnershipAgreement.status == "accepted")
            & OwnershipAgreement.user.is_in(user_ids))
    agreements = {(row["round"], row["user"]): row for row in rows}
    pseudonyms = await display_names(scope, user_ids)
    names = {row["id"]: row["name"] for row in await User.select(User.id, User.name).where(User.id.is_in(user_ids))}
    consented = {row["user"] for row in await scope.select(Consent, Consent.user).where(
        Consent.user.is_in(user_ids) & (Consent.kind == "attribution") & Consent.withdrawn_at.is_null())}
    result = {}
    for pair in pairs:
        user_id, agreement = pair[1], agreements.get(pair)
        if user_id not in names:
            result[pair] = _(FORMER_PARTICIPANT)
        elif agreement is None or agreement["attribution"] == "anonymous":
            result[pair] = _(ANONYMOUS)
        elif agreement["attribution"] == "panel":
            result[pair] = agreement["panel_name"] or _(ANONYMOUS)
        elif agreement["attribution"] == "name" and user_id in consented:
            result[pair] = names[user_id]
        else:
            result[pair] = pseudonyms.get(user_id) or _(ANONYMOUS)
    return result
