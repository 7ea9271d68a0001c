"""Payment and ownership agreements per panel member per round, and their hours and expenses.

Amounts are Numeric (Decimal), never float. Rules and states: ``portal/agreements/rules.py``.
"""

from decimal import Decimal

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.core.tenancy import TenantOwned
from portal.panels.tables import Panel
from portal.rounds.tables import ConsultationRound


class RestrictedPayee(TenantOwned, Table):
    """Who was paid, kept after the person erased their account: financial records must be kept
    seven years. Only this row holds the name; finance exports read it, nothing else shows it."""

    name = Varchar(length=120)
    keep_until = Date()
    created_at = Timestamptz(default=TimestamptzNow())


class RoundTerms(TenantOwned, Table):
    """The terms an officer proposes to every member of a round. One per round (unique index)."""

    round = ForeignKey(references=ConsultationRound, null=False, index=True, on_delete=OnDelete.cascade)
    basis = Varchar(length=30)
    payer = Varchar(length=120)
    rate = Numeric(digits=(10, 2), default=Decimal("0"))
    planned_hours = Numeric(digits=(6, 2), default=Decimal("0"))
    vat_invoice = Boolean(default=False)
    owner = Varchar(length=10)
    licence = Varchar(length=20)
    attribution = Varchar(length=20)
    review_edits = Boolean(default=True)
    withdrawal_terms = Text(default="")
    updated_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())


class PaymentAgreement(TenantOwned, Table):
    """How one member is paid for one round. Unique per (round, user): a unique index."""

    round = ForeignKey(references=ConsultationRound, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    panel = ForeignKey(references=Panel, null=True, on_delete=OnDelete.set_null)
    # Set when the person erased their account; the payee's name is kept there (restricted).
    restricted_payee = ForeignKey(references=RestrictedPayee, null=True, on_delete=OnDelete.set_null)
    basis = Varchar(length=30)
    payer = Varchar(length=120)
    rate = Numeric(digits=(10, 2), default=Decimal("0"))
    unit = Varchar(length=10)  # see rules.UNITS
    planned_hours = Numeric(digits=(6, 2), default=Decimal("0"))
    vat_invoice = Boolean(default=False)
    fiscal_year = Integer()
    age_band = Varchar(length=10, default="")
    status = Varchar(length=12, default="proposed")
    change_request = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    agreed_at = Timestamptz(null=True, default=None)
    paid_on = Date(null=True, default=None)


class OwnershipAgreement(TenantOwned, Table):
    """Who owns what one member writes in one round, and how it may be used. Unique per
    (round, user): a unique index."""

    round = ForeignKey(references=ConsultationRound, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    panel = ForeignKey(references=Panel, null=True, on_delete=OnDelete.set_null)
    owner = Varchar(length=10)
    licence = Varchar(length=20)
    attribution = Varchar(length=20)
    review_edits = Boolean(default=True)
    withdrawal_terms = Text(default="")
    status = Varchar(length=12, default="proposed")
    change_request = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    accepted_at = Timestamptz(null=True, default=None)


class Claim(TenantOwned, Table):
    """Hours or an expense a member logs under a payment agreement; an officer approves or
    rejects it (with a reason). ``amount`` is set on approval for hours (through the caps)."""

    agreement = ForeignKey(references=PaymentAgreement, null=False, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)  # see rules.CLAIM_KINDS
    activity_date = Date()
    hours = Numeric(digits=(6, 2), default=Decimal("0"))
    amount = Numeric(digits=(10, 2), default=Decimal("0"))
    description = Varchar(length=300, default="")
    receipt_filename = Varchar(length=200, default="")
    receipt_content_type = Varchar(length=100, default="")
    receipt_size = BigInt(default=0)
    receipt_storage_name = Varchar(length=64, null=True, default=None, unique=True)
    status = Varchar(length=10, default="submitted")
    reason = Text(default="")
    decided_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
