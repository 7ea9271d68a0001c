from piccolo.columns import ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.core.tenancy import TenantOwned
from portal.panels.tables import Panel


class Invitation(TenantOwned, Table):
    """A single-use, expiring, revocable invitation. Only a hash of the token is stored."""

    email = Varchar(length=254, index=True)
    role = Varchar(length=30)
    token_hash = Varchar(length=64, unique=True, index=True)
    invited_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    revoked_at = Timestamptz(null=True, default=None)
    # Set when the invitation is to join a panel (role panel_member).
    panel = ForeignKey(references=Panel, null=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
