from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.core.tenancy import TenantOwned

# The participation ladder (participatieladder), lowest to highest.
PARTICIPATION_FORMS = (
    "informeren",
    "raadplegen",
    "adviseren",
    "coproduceren",
    "meebeslissen",
    "zelfbeheer",
)


class StageTemplateStep(TenantOwned, Table):
    """One stage of the tenant's template from which new policy cycles are created."""

    position = Integer()
    name = Varchar(length=120)
    name_en = Varchar(length=120, default="")
    participation_form = Varchar(length=20, default="raadplegen")


class PolicyCycle(TenantOwned, Table):
    """A policy cycle (beleidstraject), e.g. the procurement of youth care 2027."""

    title = Varchar(length=200)
    policy_domain = Varchar(length=120, default="")
    description = Text(default="")
    owner = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    status = Varchar(length=20, default="active")  # see cycles.rules.CYCLE_STATUSES
    created_at = Timestamptz(default=TimestamptzNow())


class Stage(TenantOwned, Table):
    cycle = ForeignKey(references=PolicyCycle, null=False, index=True, on_delete=OnDelete.cascade)
    position = Integer()
    name = Varchar(length=120)
    participation_form = Varchar(length=20, default="raadplegen")
    planned_start = Date(null=True, default=None)
    planned_end = Date(null=True, default=None)
    status = Varchar(length=10, default="planned")  # planned -> open -> closed
    opened_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
