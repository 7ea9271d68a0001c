from piccolo.columns import Integer, Varchar
from piccolo.table import Table

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
