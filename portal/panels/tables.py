from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.tenancy import TenantOwned

PANEL_KINDS = ("parents", "youth", "mixed")


class Panel(TenantOwned, Table):
    """Unique per (tenant, name): a unique index made in the first migration."""

    name = Varchar(length=120)
    kind = Varchar(length=10)  # one of PANEL_KINDS
    partner_organisation = Varchar(length=200, default="")
    description = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
