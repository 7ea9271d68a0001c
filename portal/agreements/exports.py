"""Exports for the finance department: payments per period and payer (CSV), the yearly list of
payments outside the volunteer regime without a VAT invoice, and a member's statement.

The payments list holds approved and paid entries and the entries still waiting for approval,
each with its own state; a waiting entry shows what approving it would pay. The CSV files are
written by ``portal.core.csvexport`` (Dutch spreadsheet format by default, formula-safe).

The municipality reports the yearly list itself; the portal never asks for or stores a citizen
service number (BSN): the list has a column the finance department fills in from its own records.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.accounts.tables import User
from portal.agreements.caps import money
from portal.agreements.claims import amounts_on_approval
from portal.agreements.rules import (
    BASIS_LABELS,
    CLAIM_KIND_LABELS,
    ENTRY_STATUS_LABELS,
    REPORTABLE_BASES,
    entry_status,
)
from portal.agreements.tables import Claim, PaymentAgreement, RestrictedPayee
from portal.core import csvexport
from portal.core.i18n import _
from portal.core.tenancy import TenantScope


def _columns():
    return (
        Claim.id, Claim.kind, Claim.activity_date, Claim.hours, Claim.amount, Claim.status,
        Claim.agreement.id.as_alias("agreement_id"), Claim.agreement.user.as_alias("user_id"),
        Claim.agreement.restricted_payee.as_alias("payee_id"), Claim.agreement.basis.as_alias("basis"),
        Claim.agreement.payer.as_alias("payer"), Claim.agreement.status.as_alias("agreement_status"),
        Claim.agreement.paid_on.as_alias("paid_on"), Claim.agreement.round.title.as_alias("round_title"),
        Claim.agreement.vat_invoice.as_alias("vat_invoice"), Claim.agreement.unit.as_alias("unit"),
        Claim.agreement.rate.as_alias("rate"),
    )


async def _payee_names(scope: TenantScope, rows: list[dict]) -> dict[tuple[str, int], str]:
    """Real names for finance: from the account, or the restricted record after erasure."""
    user_ids = {row["user_id"] for row in rows if row["user_id"]}
    payee_ids = {row["payee_id"] for row in rows if row["payee_id"]}
    names = {("user", row["id"]): row["name"] for row in await User.select(User.id, User.name).where(
        User.id.is_in(list(user_ids) or [0]))}
    for row in await scope.select(RestrictedPayee, RestrictedPayee.id, RestrictedPayee.name).where(
            RestrictedPayee.id.is_in(list(payee_ids) or [0])):
        names[("payee", row["id"])] = row["name"]
    return names


async def payee_name(scope: TenantScope, agreement) -> str:
    rows = [{"user_id": agreement.user, "payee_id": agreement.restricted_payee}]
    return _name(await _payee_names(scope, rows), rows[0])


def _name(names, row) -> str:
    return names.get(("user", row["user_id"])) or names.get(("payee", row["payee_id"])) or ""


async def _entries(scope: TenantScope, statuses: tuple[str, ...], start: date, end: date, payer: str) -> list[dict]:
    """Claims in ``statuses`` with an activity date in [start, end], for one payer or all, with
    the payee's name (three queries)."""
    query = scope.select(Claim, *_columns()).where(
        Claim.status.is_in(list(statuses)) & (Claim.activity_date >= start) & (Claim.activity_date <= end))
    if payer:
        query = query.where(Claim.agreement.payer == payer)
    rows = await query.order_by(Claim.activity_date).order_by(Claim.id)
    names = await _payee_names(scope, rows)
    for row in rows:
        row["payee"] = _name(names, row)
    return rows


async def approved_payments(scope: TenantScope, start: date, end: date, payer: str = "") -> list[dict]:
    return await _entries(scope, ("approved",), start, end, payer)


async def payment_lines(scope: TenantScope, start: date, end: date, payer: str = "") -> list[dict]:
    """Approved, paid and waiting entries: each with its ``entry_status``, and a waiting entry
    with the ``amount`` approving it would pay (rejected entries are no payments)."""
    rows = await _entries(scope, ("approved", "submitted"), start, end, payer)
    pending = await amounts_on_approval(scope, [row for row in rows if row["status"] == "submitted"])
    for row in rows:
        row["entry_status"] = entry_status(row["status"], row["agreement_status"])
        row["amount"] = pending.get(row["id"], row["amount"])
    return rows


async def payers(scope: TenantScope) -> list[str]:
    rows = await scope.select(PaymentAgreement, PaymentAgreement.payer).distinct().order_by(PaymentAgreement.payer)
    return [row["payer"] for row in rows]


def payments_csv(rows: list[dict], dialect: csvexport.Dialect) -> str:
    header = [_("Date"), _("Payee"), _("Payer"), _("Round"), _("Basis of payment"), _("Kind"), _("Hours"),
              _("Amount"), _("Status"), _("Paid on")]
    return csvexport.render(header, [
        [row["activity_date"], row["payee"], row["payer"], row["round_title"], _(BASIS_LABELS[row["basis"]]),
         _(CLAIM_KIND_LABELS[row["kind"]]), money(row["hours"]) if row["kind"] == "hours" else None,
         money(row["amount"]), _(ENTRY_STATUS_LABELS[row["entry_status"]]), row["paid_on"]]
        for row in rows], dialect)


async def reportable_csv(scope: TenantScope, year: int, dialect: csvexport.Dialect) -> str:
    """Per payee, the total paid in ``year`` outside the volunteer regime without a VAT invoice."""
    rows = await approved_payments(scope, date(year, 1, 1), date(year, 12, 31))
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        if row["basis"] in REPORTABLE_BASES and not row["vat_invoice"] and row["kind"] == "hours":
            key = (row["payee"], row["payer"])
            totals[key] = totals.get(key, Decimal(0)) + Decimal(str(row["amount"]))
    header = [_("Payee"), _("Payer"), _("Year"), _("Total amount"),
              _("Citizen service number (fill in from your own records; the portal does not store it)")]
    return csvexport.render(header, [[payee, payer, year, money(amount), ""]
                                     for (payee, payer), amount in sorted(totals.items())], dialect)


async def statement(scope: TenantScope, user_id: int, year: int) -> dict:
    rows = [row for row in await approved_payments(scope, date(year, 1, 1), date(year, 12, 31))
            if row["user_id"] == user_id]
    paid = [row for row in rows if row["agreement_status"] == "paid"]
    return {"rows": rows, "year": year, "total": sum((Decimal(str(row["amount"])) for row in rows), Decimal(0)),
            "total_paid": sum((Decimal(str(row["amount"])) for row in paid), Decimal(0))}
