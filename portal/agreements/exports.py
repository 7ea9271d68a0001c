"""Exports for the finance department: approved payments per period and payer (CSV), the yearly
list of payments outside the volunteer regime without a VAT invoice, and a member's statement.

The municipality reports the yearly list itself; the portal never asks for or stores a citizen
service number (BSN): the list has a column the finance department fills in from its own records.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from portal.accounts.tables import User
from portal.agreements.rules import BASIS_LABELS, REPORTABLE_BASES
from portal.agreements.tables import Claim, RestrictedPayee
from portal.core.i18n import _
from portal.core.tenancy import TenantScope


def _columns():
    return (
        Claim.id, Claim.kind, Claim.activity_date, Claim.hours, Claim.amount,
        Claim.agreement.id.as_alias("agreement_id"), Claim.agreement.user.as_alias("user_id"),
        Claim.agreement.restricted_payee.as_alias("payee_id"), Claim.agreement.basis.as_alias("basis"),
        Claim.agreement.payer.as_alias("payer"), Claim.agreement.status.as_alias("agreement_status"),
        Claim.agreement.paid_on.as_alias("paid_on"), Claim.agreement.round.title.as_alias("round_title"),
        Claim.agreement.vat_invoice.as_alias("vat_invoice"),
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


async def approved_payments(scope: TenantScope, start: date, end: date, payer: str = "") -> list[dict]:
    """Approved claims with an activity date in [start, end], for one payer or all."""
    query = scope.select(Claim, *_columns()).where(
        (Claim.status == "approved") & (Claim.activity_date >= start) & (Claim.activity_date <= end))
    if payer:
        query = query.where(Claim.agreement.payer == payer)
    rows = await query.order_by(Claim.activity_date).order_by(Claim.id)
    names = await _payee_names(scope, rows)
    for row in rows:
        row["payee"] = _name(names, row)
    return rows


async def payers(scope: TenantScope) -> list[str]:
    from portal.agreements.tables import PaymentAgreement

    rows = await scope.select(PaymentAgreement, PaymentAgreement.payer).distinct().order_by(PaymentAgreement.payer)
    return [row["payer"] for row in rows]


def _csv(header: list[str], lines: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue()


def _cents(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def payments_csv(rows: list[dict]) -> str:
    header = [_("Date"), _("Payee"), _("Payer"), _("Round"), _("Basis of payment"), _("Kind"), _("Hours"),
              _("Amount"), _("Status"), _("Paid on")]
    return _csv(header, [[row["activity_date"].isoformat(), row["payee"], row["payer"], row["round_title"],
                          _(BASIS_LABELS[row["basis"]]), row["kind"], _cents(row["hours"]), _cents(row["amount"]),
                          row["agreement_status"], row["paid_on"].isoformat() if row["paid_on"] else ""]
                         for row in rows])


async def reportable_csv(scope: TenantScope, year: int) -> str:
    """Per payee, the total paid in ``year`` outside the volunteer regime without a VAT invoice."""
    rows = await approved_payments(scope, date(year, 1, 1), date(year, 12, 31))
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        if row["basis"] in REPORTABLE_BASES and not row["vat_invoice"] and row["kind"] == "hours":
            key = (row["payee"], row["payer"])
            totals[key] = totals.get(key, Decimal(0)) + Decimal(str(row["amount"]))
    header = [_("Payee"), _("Payer"), _("Year"), _("Total amount"),
              _("Citizen service number (fill in from your own records; the portal does not store it)")]
    return _csv(header, [[payee, payer, year, _cents(amount), ""] for (payee, payer), amount in sorted(totals.items())])


async def statement(scope: TenantScope, user_id: int, year: int) -> dict:
    rows = [row for row in await approved_payments(scope, date(year, 1, 1), date(year, 12, 31))
            if row["user_id"] == user_id]
    paid = [row for row in rows if row["agreement_status"] == "paid"]
    return {"rows": rows, "year": year, "total": sum((Decimal(str(row["amount"])) for row in rows), Decimal(0)),
            "total_paid": sum((Decimal(str(row["amount"])) for row in paid), Decimal(0))}
