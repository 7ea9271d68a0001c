"""Tables of the advice trail: advice documents and their items, versions, adoption votes,
responses, decisions, outcomes, the panel's reaction and council questions."""

from piccolo.columns import (
    BigInt,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.core.tenancy import TenantOwned
from portal.cycles.tables import PolicyCycle, Stage
from portal.panels.tables import Panel
from portal.rounds.tables import ConsultationRound


class Advice(TenantOwned, Table):
    """A panel's advice document. States: see advice.rules.ADVICE_TRANSITIONS.

    ``round`` null: unsolicited advice. ``panel`` null: joint advice of every panel invited to
    the round. ``stage`` is the round's stage (or the one chosen for unsolicited advice): the
    stage that cannot close while the advice lacks responses. ``version`` counts the saves (the
    latest ``AdviceVersion.number``), for optimistic concurrency.
    """

    round = ForeignKey(references=ConsultationRound, null=True, index=True, on_delete=OnDelete.cascade)
    panel = ForeignKey(references=Panel, null=True, index=True, on_delete=OnDelete.cascade)
    stage = ForeignKey(references=Stage, null=True, index=True, on_delete=OnDelete.set_null)
    title = Varchar(length=200)
    status = Varchar(length=12, default="draft")
    version = Integer(default=0)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    adoption_started_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    response_due = Date(null=True, default=None)
    # The officer who answers it and gets the reminders (the round's author or the cycle owner).
    owner = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    last_reminded_at = Timestamptz(null=True, default=None)
    # A writer withdrew their contribution after submission: taken off the portal (the public
    # ledger); the municipality keeps it in its own records.
    withdrawn_at = Timestamptz(null=True, default=None)


class AdviceItem(TenantOwned, Table):
    """One recommendation in an advice document.

    ``key`` names the item across versions (also in ``AdviceVersion.items``), so that two saves
    at once can be merged per item; empty for items saved before keys existed (see
    ``rules.item_key``). ``response_status`` and ``responded_at`` repeat the latest published
    response (and the first publication), so that lists and the council overview need no query
    per item.
    """

    advice = ForeignKey(references=Advice, null=False, index=True, on_delete=OnDelete.cascade)
    key = Varchar(length=16, default="")
    position = Integer()
    title = Varchar(length=200)
    recommendation = Text()
    rationale = Text(default="")
    response_status = Varchar(length=16, default="pending")
    responded_at = Timestamptz(null=True, default=None)


class AdviceVersion(TenantOwned, Table):
    """Every save of an advice document, never changed: the title and the items as JSON (a list
    of {key, title, recommendation, rationale}; versions saved before keys existed have none)."""

    advice = ForeignKey(references=Advice, null=False, index=True, on_delete=OnDelete.cascade)
    number = Integer()
    title = Varchar(length=200)
    items = Text()
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class AdoptionVote(TenantOwned, Table):
    """A member's answer when the panel adopts the advice: confirm, abstain or object
    (one per person per adoption; the rows of an adoption round are removed when it is reopened)."""

    advice = ForeignKey(references=Advice, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    choice = Varchar(length=10)
    created_at = Timestamptz(default=TimestamptzNow())


class ResponseVersion(TenantOwned, Table):
    """Every save of the municipality's response to an item, never overwritten.

    The latest version is a draft until ``published_at`` is set; a change after publication
    adds a new version. Unique per (item, number): two officers saving at once cannot both win.
    """

    item = ForeignKey(references=AdviceItem, null=False, index=True, on_delete=OnDelete.cascade)
    number = Integer()
    status = Varchar(length=16)
    reasoning = Text(default="")
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
    published_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class Decision(TenantOwned, Table):
    """A council or executive decision, contract or policy document that may use advice."""

    cycle = ForeignKey(references=PolicyCycle, null=True, index=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=20)
    title = Varchar(length=200)
    reference = Varchar(length=100, default="")
    decided_on = Date(null=True, default=None)
    url = Varchar(length=500, default="")
    filename = Varchar(length=200, default="")
    content_type = Varchar(length=100, default="")
    size = BigInt(default=0)
    storage_name = Varchar(length=64, default="")
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class DecisionLink(TenantOwned, Table):
    """An advice item used in a decision, and how. Unique per (decision, item)."""

    decision = ForeignKey(references=Decision, null=False, index=True, on_delete=OnDelete.cascade)
    item = ForeignKey(references=AdviceItem, null=False, index=True, on_delete=OnDelete.cascade)
    usage = Text()
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class OutcomeUpdate(TenantOwned, Table):
    """An implementation update on an item, with its progress in percent: the item's timeline."""

    item = ForeignKey(references=AdviceItem, null=False, index=True, on_delete=OnDelete.cascade)
    progress = Integer(default=0)
    body = Text()
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class HeardAnswer(TenantOwned, Table):
    """A panel member's answer to "do you feel heard?" on an item. Unique per (item, user)."""

    item = ForeignKey(references=AdviceItem, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    answer = Varchar(length=10)
    comment = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class CouncilQuestion(TenantOwned, Table):
    """A council member's question to the officers about an item, and its answer."""

    item = ForeignKey(references=AdviceItem, null=False, index=True, on_delete=OnDelete.cascade)
    asked_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    question = Text()
    asked_at = Timestamptz(default=TimestamptzNow())
    answer = Text(default="")
    answered_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    answered_at = Timestamptz(null=True, default=None)
