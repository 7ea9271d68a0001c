"""Moderation rules: reports, hiding and unhiding posts, and the moderation queue.

* Anyone who can read a thread may report a post in it (not their own) with a reason, once.
* When a post has ``report_hide_threshold`` open reports (a tenant setting, 3 by default), it is
  hidden pending review: hidden for everyone but its author and the moderators.
* A moderator (an officer, or a support contact of the thread's panel) may hide a post with a
  reason that its author sees, and unhide it; unhiding also settles the open reports.

Every action is written to the audit log, in the same transaction as the change. The audit
summary of a report does not name the reporter (the audit row's actor does): reporters are often
young or vulnerable members, and moderators see only the reasons.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from portal.accounts.tables import Membership
from portal.core import audit
from portal.core.context import RequestContext
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.deliberation.access import Access, access_from, round_access
from portal.deliberation.tables import Post, PostReport, PostRevision, Thread
from portal.rounds.tables import ConsultationRound
from portal.tenants.settings import tenant_setting

REASON_MAX_LENGTH = 500


class ModerationError(Exception):
    """A rule was broken; the message is for the user. ``status_code`` says how it is answered."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


def now() -> datetime:
    return datetime.now(UTC)


def _is_unique_violation(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"IntegrityError", "UniqueViolationError"})


def _state(post: Post) -> dict:
    return {
        "hidden": post.hidden_at is not None,
        "pending_review": bool(post.pending_review),
        "hidden_reason": post.hidden_reason or "",
        "hidden_by": post.hidden_by,
    }


def hide_threshold(scope: TenantScope) -> int:
    try:
        return max(1, int(tenant_setting(scope.tenant, "report_hide_threshold")))
    except (TypeError, ValueError):
        return 3


async def open_report_count(scope: TenantScope, post_id: int) -> int:
    return await scope.count(PostReport).where(
        (PostReport.post == post_id) & PostReport.resolved_at.is_null()
    )


async def has_reported(scope: TenantScope, post_id: int, user_id: int) -> bool:
    return await scope.exists(PostReport).where(
        (PostReport.post == post_id) & (PostReport.reporter == user_id)
    )


async def reported_post_ids(scope: TenantScope, user_id: int, post_ids: list[int]) -> set[int]:
    """Which of these posts this person has already reported (one query, for a thread page)."""
    if not post_ids:
        return set()
    rows = await scope.select(PostReport, PostReport.post).where(
        (PostReport.reporter == user_id) & PostReport.post.is_in(post_ids)
    )
    return {row["post"] for row in rows}


async def report_refusal(scope: TenantScope, post: Post, access: Access, reporter_id: int) -> ModerationError | None:
    """Why this person cannot report this post, or None when they can."""
    if not access.can_read:
        return ModerationError(_("This post does not exist."), status_code=404)
    if post.author == reporter_id:
        return ModerationError(_("You cannot report your own post."), status_code=403)
    if post.deleted_at is not None:
        return ModerationError(_("This post was removed by its author. There is nothing to report."))
    if post.hidden_at is not None:
        return ModerationError(_("This post is already hidden. A moderator will look at it."))
    if await has_reported(scope, post.id, reporter_id):
        return ModerationError(_("You already reported this post."))
    return None


async def report_post(scope: TenantScope, post: Post, access: Access, reporter_id: int, reason: str) -> bool:
    """Report ``post``; returns True when this report hid it pending review."""
    refusal = await report_refusal(scope, post, access, reporter_id)
    if refusal is not None:
        raise refusal
    threshold = hide_threshold(scope)
    hidden = False
    try:
        async with engine().transaction():
            report = scope.new(PostReport, post=post.id, reporter=reporter_id, reason=reason)
            await report.save()
            count = await open_report_count(scope, post.id)
            await audit.record(
                "post.reported", object_type="post", object_id=post.id,
                actor_id=reporter_id, tenant_id=scope.tenant_id,
                after={"report_id": report.id, "reason": reason, "open_reports": count},
            )
            if count >= threshold:
                moment = now()
                changed = await scope.update(
                    Post,
                    {Post.hidden_at: moment, Post.pending_review: True, Post.hidden_by: None,
                     Post.hidden_reason: ""},
                ).where((Post.id == post.id) & Post.hidden_at.is_null()).returning(Post.id)
                if changed:
                    hidden = True
                    await audit.record(
                        "post.hidden_pending_review", object_type="post", object_id=post.id,
                        actor_id=None, tenant_id=scope.tenant_id,
                        before=_state(post),
                        after={"hidden": True, "pending_review": True, "hidden_reason": "",
                               "hidden_by": None, "open_reports": count, "threshold": threshold},
                    )
    except Exception as error:
        # Two clicks at the same moment: the unique index refuses the second report.
        if _is_unique_violation(error):
            raise ModerationError(_("You already reported this post.")) from error
        raise
    if hidden:
        post.hidden_at, post.pending_review = now(), True
    return hidden


def _require_moderator(access: Access) -> None:
    if not access.can_read:
        raise ModerationError(_("This post does not exist."), status_code=404)
    if not access.can_moderate:
        raise ModerationError(_("Only a moderator can do this."), status_code=403)


def hide_refusal(post: Post, access: Access) -> ModerationError | None:
    """Why this person cannot hide this post, or None when they can."""
    try:
        _require_moderator(access)
    except ModerationError as error:
        return error
    if post.deleted_at is not None:
        return ModerationError(_("This post was removed by its author. It cannot be hidden."))
    if post.hidden_at is not None and not post.pending_review:
        return ModerationError(_("This post is already hidden."))
    return None


async def hide_post(scope: TenantScope, post: Post, access: Access, actor_id: int, reason: str) -> None:
    """Hide a post with a reason its author sees. A post hidden pending review is then no
    longer pending: the moderator has looked at it, and its open reports are settled."""
    refusal = hide_refusal(post, access)
    if refusal is not None:
        raise refusal
    before = _state(post)
    moment = now()
    async with engine().transaction():
        changed = await scope.update(
            Post,
            {Post.hidden_at: post.hidden_at or moment, Post.hidden_by: actor_id,
             Post.hidden_reason: reason, Post.pending_review: False},
        ).where(
            (Post.id == post.id) & (Post.hidden_at.is_null() | (Post.pending_review == True))  # noqa: E712
        ).returning(Post.id)
        if not changed:
            raise ModerationError(_("This post is already hidden."))
        resolved = await scope.update(PostReport, {PostReport.resolved_at: moment}).where(
            (PostReport.post == post.id) & PostReport.resolved_at.is_null()
        ).returning(PostReport.id)
        await audit.record(
            "post.hidden", object_type="post", object_id=post.id,
            actor_id=actor_id, tenant_id=scope.tenant_id, before=before,
            after={"hidden": True, "pending_review": False, "hidden_reason": reason,
                   "hidden_by": actor_id, "reports_resolved": len(resolved)},
        )
    post.hidden_at = post.hidden_at or moment
    post.hidden_by, post.hidden_reason, post.pending_review = actor_id, reason, False


async def unhide_post(scope: TenantScope, post: Post, access: Access, actor_id: int) -> int:
    """Show a hidden post again; settles its pending review and open reports. Returns the number
    of reports settled."""
    _require_moderator(access)
    if post.hidden_at is None:
        raise ModerationError(_("This post is not hidden."))
    before = _state(post)
    moment = now()
    async with engine().transaction():
        changed = await scope.update(
            Post,
            {Post.hidden_at: None, Post.hidden_by: None, Post.hidden_reason: "",
             Post.pending_review: False},
        ).where((Post.id == post.id) & Post.hidden_at.is_not_null()).returning(Post.id)
        if not changed:
            raise ModerationError(_("This post is not hidden."))
        resolved = await scope.update(PostReport, {PostReport.resolved_at: moment}).where(
            (PostReport.post == post.id) & PostReport.resolved_at.is_null()
        ).returning(PostReport.id)
        await audit.record(
            "post.unhidden", object_type="post", object_id=post.id,
            actor_id=actor_id, tenant_id=scope.tenant_id, before=before,
            after={"hidden": False, "pending_review": False, "hidden_reason": "",
                   "hidden_by": None, "reports_resolved": len(resolved)},
        )
    post.hidden_at, post.hidden_by, post.hidden_reason, post.pending_review = None, None, "", False
    return len(resolved)


async def dismiss_reports(scope: TenantScope, post: Post, access: Access, actor_id: int) -> int:
    """Settle the open reports of a visible post without hiding it."""
    _require_moderator(access)
    if post.hidden_at is not None:
        raise ModerationError(_("This post is hidden. Show it again to settle its reports."))
    async with engine().transaction():
        resolved = await scope.update(PostReport, {PostReport.resolved_at: now()}).where(
            (PostReport.post == post.id) & PostReport.resolved_at.is_null()
        ).returning(PostReport.id)
        if not resolved:
            raise ModerationError(_("This post has no open reports."))
        await audit.record(
            "post.reports_dismissed", object_type="post", object_id=post.id,
            actor_id=actor_id, tenant_id=scope.tenant_id,
            before={"open_reports": len(resolved)}, after={"open_reports": 0},
        )
    return len(resolved)


# --- the moderation queue ---------------------------------------------------------------------------


async def moderated_threads(
    scope: TenantScope, ctx: RequestContext, round_: ConsultationRound
) -> list[Thread]:
    """The round's threads this person may moderate (two queries)."""
    place = await round_access(scope, ctx, round_)
    if not place.is_officer and not place.supported_panel_ids:
        return []
    threads = await scope.objects(Thread).where(Thread.round == round_.id).order_by(Thread.id)
    return [thread for thread in threads if access_from(thread, round_, ctx, place).can_moderate]


async def moderation_queue(scope: TenantScope, threads: list[Thread]) -> list[dict]:
    """Reported or hidden posts of these threads, newest first, each with its thread, author's
    name, open report reasons and edit count. A fixed number of queries."""
    if not threads:
        return []
    titles = {thread.id: thread.title for thread in threads}
    thread_ids = list(titles)
    reports = await scope.select(
        PostReport, PostReport.id, PostReport.post, PostReport.reason, PostReport.created_at,
        PostReport.resolved_at,
    ).where(
        PostReport.post.is_in(
            scope.select(Post, Post.id).where(Post.thread.is_in(thread_ids))
        ) & PostReport.resolved_at.is_null()
    ).order_by(PostReport.created_at)
    reasons: dict[int, list[dict]] = defaultdict(list)
    for report in reports:
        reasons[report["post"]].append(report)
    condition = Post.thread.is_in(thread_ids) & (
        Post.hidden_at.is_not_null() | Post.id.is_in(list(reasons) or [0])
    )
    posts = await scope.select(
        Post, Post.id, Post.thread, Post.author, Post.body_html, Post.sensitive, Post.created_at,
        Post.edited_at, Post.deleted_at, Post.hidden_at, Post.hidden_reason, Post.pending_review,
    ).where(condition).order_by(Post.created_at, ascending=False)
    if not posts:
        return []
    post_ids = [post["id"] for post in posts]
    author_ids = {post["author"] for post in posts if post["author"] is not None}
    names: dict[int, str] = {}
    if author_ids:
        for row in await scope.select(Membership, Membership.user, Membership.role, Membership.display_name).where(
            Membership.user.is_in(list(author_ids))
        ):
            if row["role"] == "panel_member" or row["user"] not in names:
                names[row["user"]] = row["display_name"]
    revision_counts: dict[int, int] = defaultdict(int)
    for row in await scope.select(PostRevision, PostRevision.post).where(PostRevision.post.is_in(post_ids)):
        revision_counts[row["post"]] += 1
    return [
        {
            **post,
            "thread_title": titles[post["thread"]],
            "author_name": names.get(post["author"]) or _("Someone"),
            "reports": reasons.get(post["id"], []),
            "revisions": revision_counts.get(post["id"], 0),
        }
        for post in posts
    ]
