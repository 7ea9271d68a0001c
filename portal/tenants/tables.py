from piccolo.columns import JSON, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Tenant(Table):
    """A municipality or region. Not tenant-owned itself: it is the root of the scoping."""

    slug = Varchar(length=63, unique=True, index=True)
    name = Varchar(length=200)
    kind = Varchar(length=20, default="municipality")  # municipality | region
    locale = Varchar(length=5, default="nl")
    # Logo and colours as design-token overrides, see portal/tenants/theme.py.
    theme = JSON(default={})
    # Tenant settings (see portal/tenants/settings.py for the keys and their defaults).
    settings = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())
