from piccolo.columns import (
    Boolean,
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
from portal.panels.tables import Panel
from portal.rounds.tables import ConsultationRound


class Thread(TenantOwned, Table):
    """A conversation in a round: the main thread of one invited panel (``panel`` set), the joint
    thread of all invited panels (``panel`` null), or a sub-topic opened by a member."""

    round = ForeignKey(references=ConsultationRound, null=False, index=True, on_delete=OnDelete.cascade)
    panel = ForeignKey(references=Panel, null=True, index=True, on_delete=OnDelete.cascade)
    title = Varchar(length=200)
    is_main = Boolean(default=False)  # the panel's (or the joint) main thread, made by the portal
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class Post(TenantOwned, Table):
    """A post or a reply (``parent`` set; at most three levels deep: depth 0, 1, 2).

    The Markdown source is kept; ``body_html`` is its sanitised rendering."""

    thread = ForeignKey(references=Thread, null=False, index=True, on_delete=OnDelete.cascade)
    parent = ForeignKey(references="self", null=True, index=True, on_delete=OnDelete.cascade)
    depth = Integer(default=0)
    author = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    body_markdown = Text()
    body_html = Text()
    sensitive = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    edited_at = Timestamptz(null=True, default=None)
    deleted_at = Timestamptz(null=True, default=None)  # removed by the author
    hidden_at = Timestamptz(null=True, default=None)  # hidden by a moderator, or pending review
    hidden_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    hidden_reason = Text(default="")
    pending_review = Boolean(default=False)  # hidden automatically after repeated reports
    # Idempotency key from the form, so a double click on "send" makes one post, not two.
    client_token = Varchar(length=64, default="", index=True)


class PostRevision(TenantOwned, Table):
    """An earlier version of a post, kept at each edit (visible to moderators)."""

    post = ForeignKey(references=Post, null=False, index=True, on_delete=OnDelete.cascade)
    body_markdown = Text()
    edited_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    replaced_at = Timestamptz(default=TimestamptzNow())


class Reaction(TenantOwned, Table):
    """agree, disagree or question; one of each kind per person per post (unique index)."""

    post = ForeignKey(references=Post, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)
    created_at = Timestamptz(default=TimestamptzNow())


class PostReport(TenantOwned, Table):
    """A member's report of a post; one per person per post (unique index)."""

    post = ForeignKey(references=Post, null=False, index=True, on_delete=OnDelete.cascade)
    reporter = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    reason = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)


class Poll(TenantOwned, Table):
    """single choice, multiple choice or an agreement scale; results are never representative."""

    thread = ForeignKey(references=Thread, null=False, index=True, on_delete=OnDelete.cascade)
    question = Varchar(length=300)
    kind = Varchar(length=10)  # single | multiple | scale
    closes_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class PollOption(TenantOwned, Table):
    poll = ForeignKey(references=Poll, null=False, index=True, on_delete=OnDelete.cascade)
    position = Integer()
    label = Varchar(length=200)


class PollVote(TenantOwned, Table):
    """One person's choice; one row per chosen option (unique per poll, user and option)."""

    poll = ForeignKey(references=Poll, null=False, index=True, on_delete=OnDelete.cascade)
    option = ForeignKey(references=PollOption, null=False, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    reason = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class ThreadRead(TenantOwned, Table):
    """Up to which moment a person has read a thread (for unread markers; unique per thread+user)."""

    thread = ForeignKey(references=Thread, null=False, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    read_at = Timestamptz(default=TimestamptzNow())


class NotificationSetting(TenantOwned, Table):
    """How a person hears of new posts in this tenant: immediately, daily digest, or off."""

    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    mode = Varchar(length=10, default="digest")


class DigestItem(TenantOwned, Table):
    """A new post waiting for someone's daily digest."""

    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    post = ForeignKey(references=Post, null=False, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
