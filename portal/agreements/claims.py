"""Hours and expenses a member logs under a payment agreement; approval through the caps.

An approved volunteer allowance goes through the cap engine with every allowance already
approved for the same member and payer: an approval that would exceed a cap is refused with the
cap, the excess and the largest amount that fits, which the officer may approve instead; from 80%
of a cap the officer is warned. Receipted expenses do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from portal.accounts.tables import User
from portal.agreements import caps, rules
from portal.agreements.rules import (
    CAPPED_BASES,
    CLAIM_TRANSITIONS,
    LOGGING_STATUSES,
    MAX_RECEIPT_BYTES,
    PAYMENT_TRANSITIONS,
    RECEIPT_TYPES,
    detected_receipt_type,
)
from portal.agreements.service import AgreementError, agreement_age, now
from portal.agreements.tables import Claim, PaymentAgreement
from portal.agreements.terms import cap_table_of, format_money
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.states import TransitionError, check_transition
from portal.core.tenancy import TenantScope
from portal.rounds import documents as files


@dataclass(frozen=True)
class Receipt:
    filename: str
    data: bytes


def _cap_name(cap: str) -> str:
    return {
        caps.HOURLY_CAP: _("the hourly cap"),
        caps.MONTHLY_CAP: _("the monthly cap"),
        caps.YEARLY_CAP: _("the yearly cap"),
    }[cap]


def refusal_message(verdict: caps.Verdict, amount: Decimal) -> str:
    """Which caps ``amount`` would exceed and by how much, and the largest amount that fits."""
    largest = verdict.largest_allowed(amount)
    return " ".join(
        _("This would exceed %(cap)s of %(limit)s by %(excess)s.", cap=_cap_name(use.cap),
          limit=format_money(use.limit), excess=format_money(use.excess))
        for use in verdict.refused
    ) + " " + (_("At most %(amount)s fits within the caps: approve that amount, and pay the rest outside "
                 "the volunteer allowance if it is due.", amount=format_money(largest)) if largest > 0
               else _("Nothing more fits within the caps: reject the entry, or pay it outside the volunteer "
                      "allowance."))


def warning_message(verdict: caps.Verdict) -> str:
    return " ".join(
        _("%(share)s%% of %(cap)s (%(limit)s) is used.", share=int(use.share * 100),
          cap=_cap_name(use.cap), limit=format_money(use.limit))
        for use in verdict.warnings
    )


def check_receipt(filename: str, data: bytes) -> tuple[str, str]:
    if len(data) > MAX_RECEIPT_BYTES:
        raise AgreementError(_("The receipt is too large: at most %(max)s MB is allowed.",
                               max=MAX_RECEIPT_BYTES // (1024 * 1024)), "receipt")
    name = files.clean_filename(filename)
    expected = RECEIPT_TYPES.get(files.extension_of(name))
    if not data or expected is None or detected_receipt_type(data) != expected:
        raise AgreementError(_("Add the receipt as a PDF, JPEG or PNG file."), "receipt")
    return name, expected


async def log_claim(
    scope: TenantScope, agreement: PaymentAgreement, user: User, *, kind: str, day: date,
    hours: Decimal, amount: Decimal, description: str, receipt: Receipt | None, upload_dir: Path,
) -> Claim:
    """A member logs hours or an expense (with a receipt). The first entry moves the agreement
    from agreed to hours logged."""
    if agreement.user != user.id:
        raise AgreementError(_("Only the member this agreement is with can log hours here."))
    if agreement.status not in LOGGING_STATUSES:
        raise TransitionError(_("Hours and expenses can be logged once the payment agreement is agreed, "
                                "and until it is submitted for payment."))
    values = {"kind": kind, "activity_date": day, "description": description, "hours": Decimal(0),
              "amount": Decimal(0)}
    stored = None
    if kind == "hours":
        values["hours"] = hours
    else:
        if receipt is None or not receipt.data:
            raise AgreementError(_("Add the receipt: an expense is paid only against a receipt."), "receipt")
        name, content_type = check_receipt(receipt.filename, receipt.data)
        stored = files.store(upload_dir, scope.tenant_id, receipt.data)
        values.update(amount=caps.money(amount), receipt_filename=name, receipt_content_type=content_type,
                      receipt_size=len(receipt.data), receipt_storage_name=stored)
    claim = scope.new(Claim, agreement=agreement.id, status="submitted", **values)
    try:
        async with engine().transaction():
            await claim.save()
            await audit.record_in(scope, "claim.logged", "claim", claim.id, user,
                                  after={"agreement_id": agreement.id, "kind": kind, "activity_date": day,
                                         "hours": values["hours"], "amount": values["amount"]})
            if agreement.status == "agreed":
                await _move(scope, agreement, "hours_logged", user)
    except BaseException:
        if stored:
            files.discard(upload_dir, scope.tenant_id, stored)
        raise
    return claim


async def _move(scope: TenantScope, agreement: PaymentAgreement, target: str, actor: User,
                extra: dict | None = None) -> None:
    extra = extra or {}
    check_transition(PAYMENT_TRANSITIONS, agreement.status, target)
    changed = await scope.update(PaymentAgreement, {PaymentAgreement.status: target, **extra}).where(
        (PaymentAgreement.id == agreement.id) & (PaymentAgreement.status == agreement.status)
    ).returning(PaymentAgreement.id)
    if not changed:
        raise TransitionError(_("This agreement has changed meanwhile. Look at it again."))
    await audit.record_in(scope, f"payment_agreement.{target}", "payment_agreement", agreement.id, actor,
                          before={"status": agreement.status},
                          after={"status": target, **{k._meta.name: v for k, v in extra.items()}})
    agreement.status = target


async def _fixed_amounts_paid(scope: TenantScope, agreement_ids) -> set[int]:
    """The agreements among ``agreement_ids`` with approved hours: their fixed amount is paid."""
    rows = await scope.select(Claim, Claim.agreement).where(
        Claim.agreement.is_in(list(agreement_ids) or [0]) & (Claim.kind == "hours") & (Claim.status == "approved"))
    return {row["agreement"] for row in rows}


async def _amount_for(scope: TenantScope, agreement: PaymentAgreement, claim: Claim) -> Decimal:
    fixed_paid = agreement.unit == "round" and agreement.id in await _fixed_amounts_paid(scope, [agreement.id])
    return rules.claim_amount(claim.kind, agreement.unit, agreement.rate, claim.hours, claim.amount,
                              fixed_amount_paid=fixed_paid)


async def amounts_on_approval(scope: TenantScope, pending: list[dict]) -> dict[int, Decimal]:
    """What approving each pending entry would pay, by the rule approval pays by (one query).

    Each row: ``id``, ``kind``, ``hours``, ``amount``, ``activity_date`` and its agreement's
    ``agreement_id``, ``unit`` and ``rate``. A fixed amount is paid once per agreement, so of
    several pending hours only the earliest shows it: the amounts add up to what approving them
    all would pay.
    """
    fixed_paid = await _fixed_amounts_paid(
        scope, {row["agreement_id"] for row in pending if row["unit"] == "round"})
    amounts = {}
    for row in sorted(pending, key=lambda row: (row["activity_date"], row["id"])):
        amounts[row["id"]] = rules.claim_amount(row["kind"], row["unit"], row["rate"], row["hours"], row["amount"],
                                                fixed_amount_paid=row["agreement_id"] in fixed_paid)
        if row["kind"] == "hours":
            fixed_paid.add(row["agreement_id"])
    return amounts


async def _approved_allowances(scope: TenantScope, agreement: PaymentAgreement) -> list[caps.Allowance]:
    """The member's approved volunteer allowances from the same payer, in any round (one query)."""
    rows = await scope.select(
        Claim, Claim.activity_date, Claim.amount, Claim.hours, Claim.agreement.basis.as_alias("basis"),
    ).where(
        (Claim.agreement.user == agreement.user) & (Claim.agreement.payer == agreement.payer)
        & (Claim.status == "approved") & (Claim.kind == "hours")
        & Claim.agreement.basis.is_in(list(CAPPED_BASES))
    )
    return [caps.Allowance(day=row["activity_date"], amount=Decimal(str(row["amount"])),
                           kind=CAPPED_BASES[row["basis"]], hours=Decimal(str(row["hours"]))) for row in rows]


async def cap_verdict(scope: TenantScope, agreement: PaymentAgreement, claim: Claim, amount: Decimal) -> caps.Verdict:
    kind = CAPPED_BASES.get(agreement.basis)
    if kind is None or claim.kind != "hours" or amount <= 0:
        return caps.Verdict()
    day = claim.activity_date
    candidate = caps.Allowance(day=day, amount=amount, kind=kind, hours=Decimal(str(claim.hours)),
                               age=await agreement_age(scope, agreement, day))
    try:
        return caps.check(await _approved_allowances(scope, agreement), candidate, cap_table_of(scope.tenant))
    except caps.UnknownYear as error:
        raise AgreementError(_("No volunteer allowance caps are known for %(year)s. Ask the administrator "
                               "to add them to the tenant settings.", year=error.args[0])) from error


async def cap_usage(scope: TenantScope, agreement: PaymentAgreement, day: date) -> list[caps.CapUse]:
    """The monthly and yearly caps used by the member's approved allowances from this payer, in
    the month and year of ``day`` (none for bases outside the volunteer regime)."""
    if agreement.basis not in CAPPED_BASES or agreement.user is None:
        return []
    year_caps = caps.caps_for(cap_table_of(scope.tenant), day.year)
    approved = [entry for entry in await _approved_allowances(scope, agreement) if entry.day.year == day.year]
    month = sum((entry.amount for entry in approved if entry.day.month == day.month), Decimal(0))
    return [caps.CapUse(caps.MONTHLY_CAP, year_caps.monthly, month),
            caps.CapUse(caps.YEARLY_CAP, year_caps.yearly, sum((entry.amount for entry in approved), Decimal(0)))]


def usage_line(use: caps.CapUse) -> str:
    return _("%(cap)s: %(used)s of %(limit)s used (%(share)s%%)", cap=_cap_name(use.cap),
             used=format_money(use.used), limit=format_money(use.limit), share=int(use.share * 100))


async def _approved_amount(scope: TenantScope, agreement: PaymentAgreement, claim: Claim,
                           smaller: Decimal | None) -> tuple[Decimal, caps.Verdict]:
    """The amount to approve (the entry's full amount, or the ``smaller`` one the officer chose)
    and the caps' verdict on it."""
    full = await _amount_for(scope, agreement, claim)
    if smaller is not None and caps.money(smaller) > full:
        raise AgreementError(_("Approve at most %(amount)s: what this entry is worth.", amount=format_money(full)),
                             "amount")
    amount = full if smaller is None else caps.money(smaller)
    verdict = await cap_verdict(scope, agreement, claim, amount)
    if not verdict.allowed:
        raise AgreementError(refusal_message(verdict, amount), "amount")
    return amount, verdict


async def decide(scope: TenantScope, claim: Claim, actor: User, *, approve: bool, reason: str = "",
                 amount: Decimal | None = None) -> str | None:
    """Approve (through the caps) or reject (with a reason) a claim. The officer may approve a
    smaller ``amount`` than the entry is worth, when the caps leave no room for all of it.
    Returns a warning when a cap is used for 80% or more."""
    reason = reason.strip()
    if not approve and not reason:
        raise AgreementError(_("Give the reason for rejecting, so the member knows what to do."), "reason")
    if len(reason) > 1000:
        raise AgreementError(_("Write at most %(max)s characters.", max=1000), "reason")
    target = "approved" if approve else "rejected"
    check_transition(CLAIM_TRANSITIONS, claim.status, target)
    agreement = await scope.get(PaymentAgreement, claim.agreement)
    async with engine().transaction():
        amount, verdict = (await _approved_amount(scope, agreement, claim, amount) if approve
                           else (Decimal(claim.amount), caps.Verdict()))
        changed = await scope.update(Claim, {
            Claim.status: target, Claim.amount: amount, Claim.reason: reason, Claim.decided_by: actor.id,
            Claim.decided_at: now(),
        }).where((Claim.id == claim.id) & (Claim.status == "submitted")).returning(Claim.id)
        if not changed:
            raise TransitionError(_("This entry has already been decided."))
        await audit.record_in(scope, f"claim.{target}", "claim", claim.id, actor,
                              before={"status": claim.status, "amount": Decimal(claim.amount)},
                              after={"status": target, "amount": amount, "reason_length": len(reason)})
    claim.status, claim.amount = target, amount
    return warning_message(verdict) if verdict.warnings else None


async def submit_for_payment(scope: TenantScope, agreement: PaymentAgreement, actor: User) -> None:
    waiting = await scope.exists(Claim).where((Claim.agreement == agreement.id) & (Claim.status == "submitted"))
    if waiting:
        raise AgreementError(_("Approve or reject every entry first."))
    async with engine().transaction():
        await _move(scope, agreement, "submitted", actor)


async def mark_paid(scope: TenantScope, agreement: PaymentAgreement, actor: User, paid_on: date) -> None:
    async with engine().transaction():
        await _move(scope, agreement, "paid", actor, {PaymentAgreement.paid_on: paid_on})


async def claims_of(scope: TenantScope, agreement_ids: list[int]) -> list[dict]:
    return await scope.select(Claim).where(Claim.agreement.is_in(list(agreement_ids) or [0])).order_by(
        Claim.activity_date).order_by(Claim.id)


async def pending_amounts(scope: TenantScope, agreement: PaymentAgreement, claims: list[dict]) -> dict[int, Decimal]:
    """What approving each of the agreement's waiting ``claims`` would pay (see ``amounts_on_approval``)."""
    return await amounts_on_approval(scope, [
        {**row, "agreement_id": agreement.id, "unit": agreement.unit, "rate": agreement.rate}
        for row in claims if row["status"] == "submitted"])


def total_approved(claims: list[dict]) -> Decimal:
    return sum((Decimal(str(row["amount"])) for row in claims if row["status"] == "approved"), Decimal(0))


def receipt_path(upload_dir: Path, scope: TenantScope, claim: Claim) -> Path | None:
    if not claim.receipt_storage_name:
        return None
    return files.storage_path(upload_dir, scope.tenant_id, claim.receipt_storage_name)
