from decimal import Decimal

from piccolo.columns import (
    BigInt,
    ForeignKey,
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
from portal.cycles.tables import Stage
from portal.panels.tables import Panel


class ConsultationRound(TenantOwned, Table):
    """A question to panels in a stage. States: draft -> sent -> closed.

    The six questions of domain.md (goal ... preconditions) must all be answered before the
    round can be sent.
    """

    stage = ForeignKey(references=Stage, null=False, index=True, on_delete=OnDelete.cascade)
    title = Varchar(length=200)
    question = Text(default="")
    background = Text(default="")
    deadline = Timestamptz(null=True, default=None)
    expected_effort_hours = Numeric(digits=(6, 2), default=Decimal("0"))
    # The six questions.
    goal = Text(default="")
    need = Varchar(length=30, default="")  # see rounds.rules.NEEDS
    asked_of_experts = Text(default="")
    experts_wishes = Text(default="")
    competence_match = Text(default="")
    preconditions = Text(default="")
    status = Varchar(length=10, default="draft")
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class RoundPanel(TenantOwned, Table):
    """A panel invited to a round. Unique per (round, panel): a unique index in the migration."""

    round = ForeignKey(references=ConsultationRound, null=False, index=True,
                       on_delete=OnDelete.cascade)
    panel = ForeignKey(references=Panel, null=False, index=True, on_delete=OnDelete.cascade)
    invited_at = Timestamptz(default=TimestamptzNow())


class RoundDocument(TenantOwned, Table):
    """An attached document. The file lives outside the web root under a random name."""

    round = ForeignKey(references=ConsultationRound, null=False, index=True,
                       on_delete=OnDelete.cascade)
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = BigInt()
    storage_name = Varchar(length=64, unique=True)
    uploaded_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    uploaded_at = Timestamptz(default=TimestamptzNow())
