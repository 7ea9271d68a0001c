from piccolo.columns import Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.tenancy import TenantOwned


class User(Table, tablename="account"):
    """A login. Identity data lives here, apart from what a person contributes in a tenant."""

    email = Varchar(length=254, unique=True, index=True)
    password_hash = Varchar(length=200, null=True, default=None)
    name = Varchar(length=120)
    locale = Varchar(length=5, null=True, default=None)
    is_platform_operator = Boolean(default=False)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class Membership(TenantOwned, Table):
    """One role of one person in one tenant; the display name may be a pseudonym.

    Unique per (tenant, user, role): a unique index made in the first migration.
    """

    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    role = Varchar(length=30)
    display_name = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())


class PasswordResetToken(Table):
    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True, index=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
