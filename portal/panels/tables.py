from decimal import Decimal

from piccolo.columns import ForeignKey, Numeric, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.core.tenancy import TenantOwned

PANEL_KINDS = ("parents", "youth", "mixed")


class Panel(TenantOwned, Table):
    """Unique per (tenant, name): a unique index made in the first migration."""

    name = Varchar(length=120)
    kind = Varchar(length=10)  # one of PANEL_KINDS
    partner_organisation = Varchar(length=200, default="")
    description = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Set when a tenant admin archives the panel: it is no longer offered for new rounds or new
    # members; its history stays readable and its memberships stay as they are.
    archived_at = Timestamptz(null=True, default=None)


class PanelMembership(TenantOwned, Table):
    """A person's place in a panel. Created as ``invited`` with the invitation; the user is set
    when the invitation is accepted. States: see panels.rules.MEMBERSHIP_TRANSITIONS."""

    panel = ForeignKey(references=Panel, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    # The address the panel invitation went to, until the invitation is accepted.
    invited_email = Varchar(length=254, default="")
    age_band = Varchar(length=10, default="")  # see panels.rules.AGE_BANDS
    support_contact = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    monthly_hours_budget = Numeric(digits=(6, 2), default=Decimal("8"))
    status = Varchar(length=10, default="invited")
    created_at = Timestamptz(default=TimestamptzNow())
