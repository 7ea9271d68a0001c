"""Threads and posts: the rules (no HTTP here).

* Each panel invited to a sent round has a main thread (made when the round's threads are first
  listed); an officer may open one joint thread for all invited panels; members and officers
  open sub-topics.
* Posts are Markdown, kept as written and rendered to sanitised HTML; replies go three levels
  deep (depth 0, 1, 2). A double click on "send" makes one post: the form carries a random token,
  and a second post with the same token from the same person in the same thread is the first.
* Authors edit within the tenant's window (the old text is kept as a revision, which moderators
  can read) and remove their own posts (the text is then shown to nobody).
* ``thread_page`` builds a whole thread in a constant number of queries, whatever its size.

Every change is written to the audit log in the same transaction; the audit entries never hold
the text of a post (it may be health data), only what happened.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from piccolo.query.functions.aggregate import Count, Max
from piccolo.querystring import QueryString

from portal.accounts.roles import POLICY_OFFICER, SUPPORT_CONTACT, TENANT_ADMIN
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.context import RequestContext
from portal.core.database import engine, is_sqlite
from portal.core.hooks import first_reason
from portal.core.i18n import N_, _, current_locale, translations_for
from portal.core.tenancy import TenantScope
from portal.deliberation.access import (
    OPEN_STATUS,
    Access,
    RoundAccess,
    member_access,
    participating,
    participation_refusal,
    readable_threads_condition,
    round_access,
    thread_access,
)
from portal.deliberation.markdown import render_markdown
from portal.deliberation.reactions import NO_REACTIONS, reactions_in_thread
from portal.deliberation.tables import Post, PostRevision, Thread, ThreadRead
from portal.rounds.tables import ConsultationRound, RoundPanel
from portal.rounds.visibility import PUBLISHED_STATUSES
from portal.tenants.settings import tenant_setting

logger = logging.getLogger(__name__)

MAX_BODY_LENGTH = 10_000
MAX_TITLE_LENGTH = 200
MAX_DEPTH = 2  # depth 0 (a post), 1 and 2 (replies): three levels
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

JOINT_THREAD_TITLE = N_("All invited panels together")
FORMER_MEMBER = N_("Former member")
STAFF_LABELS = {
    TENANT_ADMIN: N_("Municipality"),
    POLICY_OFFICER: N_("Municipality"),
    SUPPORT_CONTACT: N_("Support contact"),
}


# The words around every post, translated once per language and author instead of once per
# post: a thread page with hundreds of posts would otherwise spend most of its time in gettext.
# The labels with ``%(name)s`` come with the author's name filled in.
POST_LABELS = {
    "message_by": N_("Message by"),
    "edited": N_("edited"),
    "new": N_("New"),
    "removed": N_("This message was removed by the author."),
    "hidden": N_("This message was hidden by a moderator."),
    "hidden_reason_own": N_("You wrote this message. The reason the moderator gave: %(reason)s"),
    "hidden_reason_moderator": N_("Reason given to the author: %(reason)s"),
    "pending": N_("This message is hidden while a moderator looks at it."),
    "pending_own": N_("You wrote this message. Other members reported it, so it is hidden until a "
                      "moderator has looked at it. You do not need to do anything."),
    "sensitive": N_("This message may be upsetting. Show the message"),
    "hidden_text_own": N_("Show the hidden text (only you and the moderators can see it)"),
    "hidden_text_moderator": N_("Show the hidden text (moderators only)"),
    "change": N_("Change"),
    "your_message": N_("your message"),
    "remove": N_("Remove"),
    "remove_explained": N_("Your message will no longer be shown. Replies to it stay."),
    "remove_confirm": N_("Yes, remove my message"),
    "history": N_("Earlier versions"),
    "reply": N_("Reply"),
    "sensitive_box": N_("This may be upsetting for others: fold it away behind a warning"),
    "send_reply": N_("Send reply"),
    "report": N_("Report"),
    "hide": N_("Hide"),
    "show_again": N_("Show again"),
}
NAMED_POST_LABELS = {
    "history_of": N_("of the message by %(name)s"),
    "replies_to": N_("Replies to %(name)s"),
    "reply_to": N_("to %(name)s"),
    "your_reply_to": N_("Your reply to %(name)s"),
    "the_message_by": N_("the message by %(name)s"),
}


@functools.lru_cache(maxsize=1024)
def post_labels(locale: str, author_name: str) -> SimpleNamespace:
    """POST_LABELS and NAMED_POST_LABELS in ``locale``, as attributes (``labels.reply``)."""
    translations = translations_for(locale)
    labels = {key: translations.gettext(message) for key, message in POST_LABELS.items()}
    labels.update(
        (key, translations.gettext(message) % {"name": author_name}) for key, message in NAMED_POST_LABELS.items()
    )
    return SimpleNamespace(**labels)


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@functools.cache
def _month_abbreviations(locale: str) -> dict[int, str]:
    months = Locale.parse(locale).months["format"]["abbreviated"]
    return {month: months[month] for month in range(1, 13)}


def short_moment(moment: datetime) -> str:
    """What the ``datetime`` template filter shows ("23 nov 2026 09:35", Dutch time), made
    without Babel's pattern machinery: a thread page shows hundreds of these."""
    return _short_moment(_aware(moment), current_locale.get())


@functools.lru_cache(maxsize=4096)
def _short_moment(moment: datetime, locale: str) -> str:
    # Cached: the posts of a thread are shown again and again with the same times.
    local = moment.astimezone(AMSTERDAM)
    return f"{local.day} {_month_abbreviations(locale)[local.month]} {local.year} {local:%H:%M}"


class PostError(Exception):
    """A rule was broken; the message is for the user. ``status_code``: 422 for what the person
    typed (empty, too long), 409 for a conflict with the state of things, 403 for no right."""

    def __init__(self, message: str, *, status_code: int = 409, field: str = "body") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field


class ThreadError(PostError):
    """Opening a thread was refused; the message is for the user."""

    def __init__(self, message: str, *, status_code: int = 409, field: str = "title") -> None:
        super().__init__(message, status_code=status_code, field=field)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | str | None) -> datetime | None:
    """SQLite hands timestamps back without a zone (and aggregates as text); they are in UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def new_client_token() -> str:
    """A random token for one rendering of a post form (idempotency of "send")."""
    return secrets.token_urlsafe(16)


def thread_label(thread: Thread | dict) -> str:
    """The title people see: the joint thread's is translated, the others are as stored."""
    get = thread.get if isinstance(thread, dict) else lambda name: getattr(thread, name)
    if get("is_main") and get("panel") is None:
        return _(JOINT_THREAD_TITLE)
    return get("title")


# --- threads ----------------------------------------------------------------------------------


async def _lock_round(scope: TenantScope, round_id: int) -> None:
    """Inside a transaction: make concurrent thread creation for one round wait its turn.
    SQLite write transactions are already serial (BEGIN IMMEDIATE)."""
    if not is_sqlite(engine()):
        await scope.select(ConsultationRound, ConsultationRound.id).where(
            ConsultationRound.id == round_id
        ).lock_rows()


async def ensure_round_threads(scope: TenantScope, round_: ConsultationRound) -> list[Thread]:
    """Make the main thread of every invited panel that has none yet (title: the panel's name).

    Only for a sent or closed round; idempotent. Returns the threads it made."""
    if round_.status not in PUBLISHED_STATUSES:
        return []
    invited = await scope.select(RoundPanel, RoundPanel.panel, RoundPanel.panel.name.as_alias("name")).where(
        RoundPanel.round == round_.id
    )
    main_condition = (Thread.round == round_.id) & (Thread.is_main == True) & Thread.panel.is_not_null()  # noqa: E712
    existing = {row["panel"] for row in await scope.select(Thread, Thread.panel).where(main_condition)}
    if all(row["panel"] in existing for row in invited):
        return []
    made: list[Thread] = []
    async with engine().transaction():
        await _lock_round(scope, round_.id)
        existing = {row["panel"] for row in await scope.select(Thread, Thread.panel).where(main_condition)}
        for row in invited:
            if row["panel"] in existing:
                continue
            thread = scope.new(Thread, round=round_.id, panel=row["panel"], title=row["name"][:MAX_TITLE_LENGTH],
                               is_main=True, created_by=None)
            await thread.save()
            await audit.record_in(scope, "thread.created", "thread", thread.id, None,
                                  after=_thread_snapshot(thread))
            made.append(thread)
    return made


def _thread_snapshot(thread: Thread) -> dict[str, Any]:
    return {"round": thread.round, "panel": thread.panel, "title": thread.title, "is_main": thread.is_main}


def _require_open_round(round_: ConsultationRound) -> None:
    if round_.status != OPEN_STATUS:
        raise ThreadError(_("This round is not open for conversation: it has not been sent yet, or it is closed."))


async def open_joint_thread(scope: TenantScope, round_: ConsultationRound, actor: RequestContext) -> Thread:
    """The one joint thread of all invited panels (officers only); an existing one is returned."""
    access = await round_access(scope, actor, round_)
    if not access.is_officer:
        raise ThreadError(_("Only the municipality can open a conversation for all panels."), status_code=403)
    _require_open_round(round_)
    joint = (Thread.round == round_.id) & Thread.panel.is_null() & (Thread.is_main == True)  # noqa: E712
    async with engine().transaction():
        await _lock_round(scope, round_.id)
        thread = await scope.objects(Thread).where(joint).order_by(Thread.id).first()
        if thread is not None:
            return thread
        thread = scope.new(Thread, round=round_.id, panel=None, title=_(JOINT_THREAD_TITLE),
                           is_main=True, created_by=actor.user.id)
        await thread.save()
        await audit.record_in(scope, "thread.joint_opened", "thread", thread.id, actor.user,
                              after=_thread_snapshot(thread))
    return thread


async def joint_thread_of(scope: TenantScope, round_id: int) -> Thread | None:
    return await scope.objects(Thread).where(
        (Thread.round == round_id) & Thread.panel.is_null() & (Thread.is_main == True)  # noqa: E712
    ).order_by(Thread.id).first()


async def open_sub_topic(
    scope: TenantScope, round_: ConsultationRound, panel_id: int | None, title: str, actor: RequestContext
) -> Thread:
    """A new topic for one panel (``panel_id``) or for all invited panels (``None``, only when the
    round has a joint thread). Members of that panel and officers may open one."""
    title = (title or "").strip()
    if not title:
        raise ThreadError(_("Fill in a title for the topic."), status_code=422)
    if len(title) > MAX_TITLE_LENGTH:
        raise ThreadError(
            _("The title can be at most %(max)s characters; you entered %(count)s.",
              max=MAX_TITLE_LENGTH, count=len(title)),
            status_code=422,
        )
    _require_open_round(round_)
    if panel_id is not None:
        invited = await scope.exists(RoundPanel).where(
            (RoundPanel.round == round_.id) & (RoundPanel.panel == panel_id)
        )
        if not invited:
            raise ThreadError(_("Choose a panel that is invited to this round."), status_code=422,
                              field="panel_id")
    elif await joint_thread_of(scope, round_.id) is None:
        raise ThreadError(_("This round has no conversation for all panels together yet."),
                          status_code=422, field="panel_id")
    access = await round_access(scope, actor, round_)
    if not access.can_open_sub_topic(round_, panel_id):
        raise ThreadError(_("You can only open a topic in the conversation of your own panel."),
                          status_code=403, field="panel_id")
    if refusal := await _topic_refusal(scope, access, round_, actor.user):
        raise ThreadError(refusal, status_code=403)
    thread = scope.new(Thread, round=round_.id, panel=panel_id, title=title, is_main=False,
                       created_by=actor.user.id)
    async with engine().transaction():
        await thread.save()
        await audit.record_in(scope, "thread.sub_topic_opened", "thread", thread.id, actor.user,
                              after=_thread_snapshot(thread))
    return thread


@dataclass
class ThreadItem:
    """One line of a round's thread list."""

    id: int
    title: str
    panel: int | None
    panel_name: str
    is_main: bool
    post_count: int = 0
    unread: int = 0
    last_post_at: datetime | None = None

    @property
    def is_joint(self) -> bool:
        return self.panel is None


@dataclass
class RoundThreads:
    round: ConsultationRound
    threads: list[ThreadItem]
    access: RoundAccess
    can_open_joint: bool = False
    has_joint: bool = False
    # (panel id as text, name) for the "new topic" form; "" is "all panels together".
    topic_panels: list[tuple[str, str]] = field(default_factory=list)
    # Why a member may not open a topic now (``access.PARTICIPATION_CHECKS``): shown instead of the form.
    refusal: str | None = None

    @property
    def can_open_topic(self) -> bool:
        return bool(self.topic_panels)


async def round_threads(scope: TenantScope, ctx: RequestContext, round_: ConsultationRound) -> RoundThreads:
    """The threads of a round this person may read, with post and unread counts (a constant
    number of queries). Makes the panels' main threads first when the round is sent."""
    access = await round_access(scope, ctx, round_)
    result = RoundThreads(round=round_, threads=[], access=access)
    if not access.can_read_any:
        return result
    await ensure_round_threads(scope, round_)
    query = scope.select(
        Thread, Thread.id, Thread.title, Thread.panel, Thread.is_main, Thread.panel.name.as_alias("panel_name")
    ).where(Thread.round == round_.id)
    condition = readable_threads_condition(scope, ctx)
    if condition is not None:
        query = query.where(condition)
    rows = await query.order_by(Thread.id)
    ids = [row["id"] for row in rows]
    counts = await _post_counts(scope, ids)
    unread = await unread_counts(scope, ctx, ids)
    items = [
        ThreadItem(
            id=row["id"], title=thread_label(row), panel=row["panel"], panel_name=row["panel_name"] or "",
            is_main=row["is_main"], post_count=counts.get(row["id"], (0, None))[0],
            last_post_at=counts.get(row["id"], (0, None))[1], unread=unread.get(row["id"], 0),
        )
        for row in rows
    ]
    # The joint thread first, then each panel's main thread, then the sub-topics, oldest first.
    items.sort(key=lambda item: (not (item.is_main and item.is_joint), not item.is_main, item.id))
    result.threads = items
    result.has_joint = any(item.is_main and item.is_joint for item in items)
    result.can_open_joint = access.is_officer and round_.status == OPEN_STATUS and not result.has_joint
    if round_.status == OPEN_STATUS:
        panel_names = {item.panel: item.panel_name for item in items if item.panel is not None}
        if access.is_officer:
            open_in = set(panel_names)
        else:
            open_in = {panel for panel in access.member_panel_ids if panel in panel_names}
        options = sorted(((str(panel), panel_names[panel]) for panel in open_in), key=lambda option: option[1])
        if result.has_joint and (access.is_officer or access.member_panel_ids):
            options.append(("", _(JOINT_THREAD_TITLE)))
        result.refusal = await _topic_refusal(scope, access, round_, ctx.user) if options else None
        result.topic_panels = [] if result.refusal else options
    return result


async def _topic_refusal(scope: TenantScope, access: RoundAccess, round_: ConsultationRound, person: User) -> str | None:
    """Why this person may not open a topic (a title is a contribution too); officers may."""
    if access.is_officer:
        return None
    return await participation_refusal(scope, member_access(person, round_), person)


async def round_threads_section(
    scope: TenantScope, ctx: RequestContext, round_: ConsultationRound
) -> RoundThreads | None:
    """For the round page: the threads section, or None when it is not shown (a draft round,
    or someone who takes no part in the round's deliberation, like a council member)."""
    if round_.status not in PUBLISHED_STATUSES:
        return None
    section = await round_threads(scope, ctx, round_)
    return section if section.access.can_read_any else None


async def _post_counts(scope: TenantScope, thread_ids: list[int]) -> dict[int, tuple[int, datetime | None]]:
    if not thread_ids:
        return {}
    rows = await scope.select(
        Post, Post.thread, Count(alias="total"), Max(Post.created_at, alias="last")
    ).where(Post.thread.is_in(thread_ids) & Post.deleted_at.is_null()).group_by(Post.thread)
    return {row["thread"]: (row["total"], _aware(row["last"])) for row in rows}


def _countable(user_id: int):
    """Posts that count as unread for this person: by someone else, not removed or hidden."""
    return (
        Post.deleted_at.is_null()
        & Post.hidden_at.is_null()
        & ((Post.author != user_id) | Post.author.is_null())
    )


async def unread_counts(scope: TenantScope, ctx: RequestContext, thread_ids: list[int]) -> dict[int, int]:
    """Per thread: the posts by others this person has not seen yet (three queries at most)."""
    if ctx.user is None or not thread_ids:
        return {}
    me = ctx.user.id
    marks = {
        row["thread"]: _aware(row["read_at"])
        for row in await scope.select(ThreadRead, ThreadRead.thread, ThreadRead.read_at).where(
            ThreadRead.thread.is_in(thread_ids) & (ThreadRead.user == me)
        )
    }
    result = dict.fromkeys(thread_ids, 0)
    never_read = [thread_id for thread_id in thread_ids if thread_id not in marks]
    if never_read:
        rows = await scope.select(Post, Post.thread, Count(alias="total")).where(
            Post.thread.is_in(never_read) & _countable(me)
        ).group_by(Post.thread)
        result.update({row["thread"]: row["total"] for row in rows})
    if marks:
        # Only the posts after the earliest mark come back, then each thread's own mark applies.
        rows = await scope.select(Post, Post.thread, Post.created_at).where(
            Post.thread.is_in(list(marks)) & (Post.created_at > min(marks.values())) & _countable(me)
        )
        for row in rows:
            if _aware(row["created_at"]) > marks[row["thread"]]:
                result[row["thread"]] += 1
    return result


async def mark_read(scope: TenantScope, thread_id: int, user_id: int, at: datetime | None = None) -> None:
    """Remember that this person has read the thread up to ``at`` (one upsert)."""
    at = at or now()
    await scope.new(ThreadRead, thread=thread_id, user=user_id, read_at=at).save().on_conflict(
        target=(ThreadRead.thread, ThreadRead.user), action="DO UPDATE", values=[(ThreadRead.read_at, at)]
    )


# --- posts -------------------------------------------------------------------------------------


def check_body(body: str) -> str:
    """The text of a post, or a PostError (422) saying what is wrong with it."""
    body = (body or "").strip()
    if not body:
        raise PostError(_("Write your message before you send it."), status_code=422)
    if len(body) > MAX_BODY_LENGTH:
        raise PostError(
            _("Your message is %(count)s characters long. The limit is %(max)s. "
              "Make it shorter, or split it into two messages.",
              count=f"{len(body):,}".replace(",", "."), max=f"{MAX_BODY_LENGTH:,}".replace(",", ".")),
            status_code=422,
        )
    return body


def clean_token(token: str | None) -> str:
    token = (token or "").strip()
    return token if TOKEN_PATTERN.match(token) else ""


async def _lock_thread(scope: TenantScope, thread_id: int) -> None:
    if not is_sqlite(engine()):
        await scope.select(Thread, Thread.id).where(Thread.id == thread_id).lock_rows()


async def _posting_access(scope: TenantScope, thread: Thread, access: Access | None) -> Access:
    if access is not None:
        return access
    # Without a person's access (scripts, tests): only the round's state is checked.
    round_ = await scope.get(ConsultationRound, thread.round)
    return Access(can_read=True, can_post=round_.status == OPEN_STATUS, round=round_)


# Rules other features add before a post is written (agreements: both accepted), after the
# ``PARTICIPATION_CHECKS`` of access.py that every way of taking part passes (consent). Each is
# awaited with (scope, access, author) and returns why the author may not post, or None.
POSTING_CHECKS: list = []


async def posting_refusal(scope: TenantScope, access: Access, author: User) -> str | None:
    """Why the author may not write here (a post, advice), or None."""
    return await participation_refusal(scope, access, author) or await first_reason(
        POSTING_CHECKS, scope, access, author)


async def create_post(
    scope: TenantScope,
    thread: Thread,
    author: User,
    body: str,
    *,
    parent_id: int | None = None,
    sensitive: bool = False,
    client_token: str = "",
    access: Access | None = None,
) -> Post:
    """A new post or reply. With a ``client_token``, sending the same form twice gives the first
    post back instead of making a second. ``access``: the author's access to the thread (the
    routes always pass it)."""
    body = check_body(body)
    access = await _posting_access(scope, thread, access)
    if not access.can_post:
        raise PostError(_("You cannot write in this conversation (any more)."))
    if refusal := await posting_refusal(scope, access, author):
        raise PostError(refusal, status_code=403)
    token = clean_token(client_token)
    same = (Post.thread == thread.id) & (Post.author == author.id) & (Post.client_token == token)
    if token:
        existing = await scope.objects(Post).where(same).order_by(Post.id).first()
        if existing is not None:
            return existing
    depth = 0
    if parent_id is not None:
        parent = await scope.get_or_none(Post, parent_id)
        if parent is None or parent.thread != thread.id:
            raise PostError(_("The message you reply to is not in this conversation."))
        if parent.deleted_at is not None or parent.hidden_at is not None:
            raise PostError(_("You cannot reply to a removed post"))
        if parent.depth >= MAX_DEPTH:
            raise PostError(_("Replies go at most three levels deep; reply to the post above instead"))
        depth = parent.depth + 1
    post = scope.new(
        Post, thread=thread.id, parent=parent_id, depth=depth, author=author.id, body_markdown=body,
        body_html=render_markdown(body), sensitive=bool(sensitive), client_token=token,
    )
    async with engine().transaction():
        if token:
            await _lock_thread(scope, thread.id)
            existing = await scope.objects(Post).where(same).order_by(Post.id).first()
            if existing is not None:
                return existing
        await post.save()
        await audit.record_in(scope, "post.created", "post", post.id, author, after=_post_snapshot(post))
    post._portal_created = True  # noqa: SLF001 - lets the caller tell a new post from a repeat
    await after_post_created(scope, post.id)
    return post


def was_created(post: Post) -> bool:
    """True for a post ``create_post`` has just made, False for one it returned again."""
    return getattr(post, "_portal_created", False)


def _post_snapshot(post: Post) -> dict[str, Any]:
    """What the audit log keeps of a post: never its text."""
    return {
        "thread": post.thread, "parent": post.parent, "depth": post.depth, "sensitive": post.sensitive,
        "length": len(post.body_markdown or ""),
    }


def edit_window(scope: TenantScope) -> timedelta:
    return timedelta(minutes=int(tenant_setting(scope.tenant, "post_edit_minutes")))


def editable_until(scope: TenantScope, post: Post | dict) -> datetime:
    created = post["created_at"] if isinstance(post, dict) else post.created_at
    return _aware(created) + edit_window(scope)


def check_editable(scope: TenantScope, post: Post, access: Access, at: datetime | None = None) -> None:
    """A PostError (409) saying why the post cannot be changed now; nothing when it can."""
    if post.deleted_at is not None:
        raise PostError(_("This post was removed. It cannot be changed."))
    if post.hidden_at is not None:
        raise PostError(_("This post is hidden by a moderator. It cannot be changed."))
    if not access.can_post:
        raise PostError(_("This conversation is closed. Posts can no longer be changed."))
    if (at or now()) > editable_until(scope, post):
        raise PostError(
            _("You can change a post up to %(minutes)s minutes after sending it. This time has passed.",
              minutes=int(tenant_setting(scope.tenant, "post_edit_minutes")))
        )


async def edit_post(
    scope: TenantScope, post: Post, editor: User, body: str, *, sensitive: bool | None = None,
    access: Access | None = None, at: datetime | None = None,
) -> Post:
    """Change a post's text (the author, within the edit window); the old text is kept."""
    at = at or now()
    if post.author is None or post.author != editor.id:
        raise PostError(_("Only the author can change a post."), status_code=403)
    if access is None:
        access = await _posting_access(scope, await scope.get(Thread, post.thread), None)
    check_editable(scope, post, access, at)
    if refusal := await participation_refusal(scope, access, editor):
        raise PostError(refusal, status_code=403)
    body = check_body(body)
    new_sensitive = post.sensitive if sensitive is None else bool(sensitive)
    if body == post.body_markdown and new_sensitive == post.sensitive:
        return post
    before = _post_snapshot(post)
    async with engine().transaction():
        await scope.new(PostRevision, post=post.id, body_markdown=post.body_markdown, edited_by=editor.id,
                        replaced_at=at).save()
        post.body_markdown = body
        post.body_html = render_markdown(body)
        post.sensitive = new_sensitive
        post.edited_at = at
        await scope.update(Post, {
            Post.body_markdown: post.body_markdown, Post.body_html: post.body_html,
            Post.sensitive: post.sensitive, Post.edited_at: at,
        }).where(Post.id == post.id)
        await audit.record_in(scope, "post.edited", "post", post.id, editor, before=before,
                              after=_post_snapshot(post))
    return post


async def delete_post(scope: TenantScope, post: Post, actor: User, *, at: datetime | None = None) -> Post:
    """The author removes their post: it shows "removed by the author" and its text is shown to
    nobody; the last text is kept as a revision, which only moderators can read."""
    if post.author is None or post.author != actor.id:
        raise PostError(_("Only the author can remove a post."), status_code=403)
    if post.deleted_at is not None:
        return post
    at = at or now()
    before = _post_snapshot(post)
    async with engine().transaction():
        await scope.new(PostRevision, post=post.id, body_markdown=post.body_markdown, edited_by=actor.id,
                        replaced_at=at).save()
        post.deleted_at = at
        post.body_html = ""
        post.body_markdown = ""
        await scope.update(Post, {Post.deleted_at: at, Post.body_html: "", Post.body_markdown: ""}).where(
            Post.id == post.id
        )
        await audit.record_in(scope, "post.deleted", "post", post.id, actor, before=before,
                              after={"deleted_at": at})
    return post


async def post_history(scope: TenantScope, post: Post) -> list[dict]:
    """Earlier versions of a post, oldest first, with who replaced them (for moderators)."""
    rows = await scope.select(
        PostRevision, PostRevision.id, PostRevision.body_markdown, PostRevision.edited_by,
        PostRevision.replaced_at,
    ).where(PostRevision.post == post.id).order_by(PostRevision.replaced_at).order_by(PostRevision.id)
    names = await display_names(scope, {row["edited_by"] for row in rows} | {post.author})
    return [
        {
            "body_markdown": row["body_markdown"],
            "replaced_at": _aware(row["replaced_at"]),
            "edited_by": names.get(row["edited_by"], (_(FORMER_MEMBER), ""))[0],
        }
        for row in rows
    ]


# --- what other parts are told ------------------------------------------------------------------


async def _call_optional(module_name: str, function_name: str, *args) -> bool:
    """Call ``module.function(*args)`` of another part when it exists. A failure there is logged
    and never undoes the post: it is saved already."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return False
    function = getattr(module, function_name, None)
    if function is None:
        return False
    try:
        await function(*args)
    except Exception:  # noqa: BLE001 - the post is saved; a missed update or email is not fatal
        logger.exception("%s.%s failed", module_name, function_name)
    return True


async def announce_post_live(scope: TenantScope, post_id: int) -> bool:
    """Adapter to part C: ``portal.deliberation.live.announce_post``."""
    return await _call_optional("portal.deliberation.live", "announce_post", scope, post_id)


async def notify_post_created(scope: TenantScope, post_id: int) -> bool:
    """Adapter to part D: ``portal.deliberation.notifications.post_created``."""
    return await _call_optional("portal.deliberation.notifications", "post_created", scope, post_id)


async def after_post_created(scope: TenantScope, post_id: int) -> None:
    await announce_post_live(scope, post_id)
    await notify_post_created(scope, post_id)


async def polls_adapter(scope: TenantScope, thread: Thread, ctx: RequestContext, access: Access):
    """Adapter to part B: ``portal.deliberation.polls.polls_for_thread``."""
    try:
        from portal.deliberation.polls import polls_for_thread
    except ImportError:
        return []
    return await polls_for_thread(scope, thread, ctx, access)


# --- the thread page ----------------------------------------------------------------------------


@dataclass(slots=True)
class PostView:
    """One post as a reader sees it. Attribute names follow the ``Post`` columns, so templates of
    other parts can use ``post.author``, ``post.hidden_at`` and so on."""

    id: int
    thread: int
    parent: int | None
    depth: int
    author: int | None
    author_name: str
    author_role: str  # "" for panel members; "Municipality" or "Support contact" (translated)
    body_html: str
    sensitive: bool
    created_at: datetime
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    hidden_at: datetime | None = None
    hidden_reason: str = ""
    pending_review: bool = False
    editable_until: datetime | None = None
    is_new: bool = False
    revision_count: int = 0
    # Shared, read-only defaults where a page of hundreds of posts would otherwise make an
    # object per post: the counts (every kind), the reader's (post id, kind) pairs (one set for
    # the whole page) and the replies (a list of its own once the post has one).
    reactions: Mapping[str, int] = field(default_factory=lambda: NO_REACTIONS)
    reaction_pairs: AbstractSet[tuple[int, str]] = frozenset()
    replies: Sequence[PostView] = ()
    # The words around the post, in the reader's language (see POST_LABELS): looked up once.
    labels: SimpleNamespace = field(init=False)

    @property
    def state(self) -> str:
        """normal, removed (by the author), pending (hidden after reports) or hidden (by a moderator)."""
        if self.deleted_at is not None:
            return "removed"
        if self.hidden_at is not None:
            return "pending" if self.pending_review else "hidden"
        return "normal"

    @property
    def can_reply(self) -> bool:
        return self.state == "normal" and self.depth < MAX_DEPTH

    def __post_init__(self) -> None:
        self.labels = post_labels(current_locale.get(), self.author_name)

    @property
    def created_label(self) -> str:
        return short_moment(self.created_at)

    @property
    def created_iso(self) -> str:
        return self.created_at.isoformat()

    @property
    def reply_token(self) -> str:
        """A fresh token each time a reply form is rendered."""
        return new_client_token()

    def is_by(self, ctx: Any) -> bool:
        user = getattr(ctx, "user", None)
        return user is not None and self.author is not None and self.author == user.id

    def can_edit(self, ctx: Any, at: datetime | None = None) -> bool:
        return (
            self.is_by(ctx) and self.state == "normal" and self.editable_until is not None
            and (at or now()) <= self.editable_until
        )


POST_COLUMNS = (
    Post.id, Post.thread, Post.parent, Post.depth, Post.author, Post.body_html, Post.sensitive,
    Post.created_at, Post.edited_at, Post.deleted_at, Post.hidden_at, Post.hidden_reason,
    Post.pending_review,
)


async def display_names(scope: TenantScope, user_ids) -> dict[int, tuple[str, str]]:
    """user id -> (display name in this tenant, staff label or ""): the pseudonym people chose.
    One query; ``user_ids`` may also be a sub-query."""
    if not isinstance(user_ids, (set, list, tuple)):
        condition = Membership.user.is_in(user_ids)
    else:
        ids = [user_id for user_id in user_ids if user_id is not None]
        if not ids:
            return {}
        condition = Membership.user.is_in(ids)
    rows = await scope.select(Membership, Membership.user, Membership.role, Membership.display_name).where(
        condition
    ).order_by(Membership.id)
    names: dict[int, str] = {}
    staff: dict[int, str] = {}
    for row in rows:
        user_id = row["user"]
        # The name someone uses as a panel member wins over the one of a staff role.
        if row["role"] == "panel_member" or user_id not in names:
            names[user_id] = row["display_name"]
        if row["role"] in STAFF_LABELS and user_id not in staff:
            staff[user_id] = _(STAFF_LABELS[row["role"]])
    return {user_id: (name, staff.get(user_id, "")) for user_id, name in names.items()}


def build_view(
    scope: TenantScope, row: dict, names: dict[int, tuple[str, str]], *, viewer_id: int | None,
    moderator: bool, read_at: datetime | None = None, revision_count: int = 0,
    window: timedelta | None = None, former: str | None = None,
) -> PostView:
    """A post as ``viewer_id`` sees it: no text at all when it is removed, and the text of a
    hidden post only for its author and moderators. ``window`` and ``former`` (the edit window
    and the name of someone who left) are worked out once per page by the caller."""
    author = row["author"]
    name, role = names.get(author) or (former or _(FORMER_MEMBER), "")
    created = _aware(row["created_at"])
    view = PostView(
        id=row["id"], thread=row["thread"], parent=row["parent"], depth=row["depth"], author=row["author"],
        author_name=name, author_role=role, body_html=row["body_html"], sensitive=row["sensitive"],
        created_at=created, edited_at=_aware(row["edited_at"]), deleted_at=_aware(row["deleted_at"]),
        hidden_at=_aware(row["hidden_at"]), hidden_reason=row["hidden_reason"] or "",
        pending_review=row["pending_review"], revision_count=revision_count if moderator else 0,
        editable_until=created + (window if window is not None else edit_window(scope)),
    )
    own = viewer_id is not None and row["author"] == viewer_id
    if view.deleted_at is not None or (view.hidden_at is not None and not (own or moderator)):
        view.body_html = ""
    if not own:
        view.hidden_reason = view.hidden_reason if moderator else ""
        view.is_new = read_at is None or created > read_at
    return view


async def post_view(
    scope: TenantScope, post_id: int, *, viewer_id: int | None = None, moderator: bool = False,
) -> PostView | None:
    """One post as a view (for a fragment after posting, or a live update): two queries."""
    row = await scope.select(Post, *POST_COLUMNS).where(Post.id == post_id).first()
    if row is None:
        return None
    names = await display_names(scope, {row["author"]})
    view = build_view(scope, row, names, viewer_id=viewer_id, moderator=moderator)
    view.is_new = False
    return view


def _tree(views: list[PostView]) -> list[PostView]:
    by_id = {view.id: view for view in views}
    top: list[PostView] = []
    for view in views:
        parent = by_id.get(view.parent) if view.parent is not None else None
        if parent is None:
            top.append(view)
        elif parent.replies:
            parent.replies.append(view)
        else:
            parent.replies = [view]
    return top


async def thread_page(
    scope: TenantScope, ctx: RequestContext, thread: Thread, access: Access | None = None,
    *, mark_as_read: bool = True,
) -> dict:
    """Everything the thread page shows, in a constant number of queries: the posts as a reply
    tree with the authors' display names, revision counts for moderators, reactions, polls and
    unread markers. Viewing the page marks the thread as read."""
    if access is None:
        access = await thread_access(scope, ctx, thread)
    if ctx.user is not None:
        access = await participating(scope, access, ctx.user)
    viewer_id = ctx.user.id if ctx.user else None
    moderator = access.can_moderate
    in_thread = scope.select(Post, Post.id).where(Post.thread == thread.id)
    # The reader's read marker comes along with every post (a sub-query SQLite and PostgreSQL
    # run once): one query less per page.
    read_mark = scope.select(ThreadRead, ThreadRead.read_at).where(
        (ThreadRead.thread == thread.id) & (ThreadRead.user == viewer_id)
    )
    rows = await scope.select(
        Post, *POST_COLUMNS, QueryString("({})", read_mark.querystrings[0], alias="read_at")
    ).where(Post.thread == thread.id).order_by(Post.created_at).order_by(Post.id)
    names = await display_names(scope, scope.select(Post, Post.author).where(Post.thread == thread.id))
    revisions: dict[int, int] = {}
    if moderator:
        revision_rows = await scope.select(PostRevision, PostRevision.post, Count(alias="total")).where(
            PostRevision.post.is_in(in_thread)
        ).group_by(PostRevision.post)
        revisions = {row["post"]: row["total"] for row in revision_rows}
    read_at = _aware(rows[0]["read_at"]) if rows and viewer_id is not None else None
    window, former = edit_window(scope), _(FORMER_MEMBER)
    views = [
        build_view(scope, row, names, viewer_id=viewer_id, moderator=moderator, read_at=read_at,
                   revision_count=revisions.get(row["id"], 0), window=window, former=former)
        for row in rows
    ]
    counts, mine = await reactions_in_thread(scope, thread.id, viewer_id)
    for view in views:
        view.reactions = counts.get(view.id, NO_REACTIONS)
        view.reaction_pairs = mine
    polls = await polls_adapter(scope, thread, ctx, access)
    if mark_as_read and viewer_id is not None:
        await mark_read(scope, thread.id, viewer_id)
    new_count = sum(1 for view in views if view.is_new and view.state == "normal")
    return {
        "thread": thread,
        "thread_title": thread_label(thread),
        "round": access.round,
        "access": access,
        "posts": _tree(views),
        "post_count": sum(1 for view in views if view.deleted_at is None),
        "new_count": new_count,
        "polls": polls,
        "max_body_length": MAX_BODY_LENGTH,
    }
