"""Reactions to posts: agree, disagree or question; one of each kind per person per post.

``reactions_for_posts`` and ``reactions_in_thread`` give the counts for a whole thread page in
one query, whatever the number of posts. ``toggle_reaction`` adds the person's reaction of a
kind, or takes it away when they had it already. Only people who may post in the thread react, and never to a post
that was removed or hidden.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from piccolo.query.functions.aggregate import Count, Max
from piccolo.querystring import QueryString

from portal.accounts.tables import User
from portal.core.database import engine
from portal.core.i18n import N_, _
from portal.core.tenancy import TenantScope
from portal.deliberation.access import Access, participation_refusal
from portal.deliberation.tables import Post, Reaction

logger = logging.getLogger(__name__)

AGREE, DISAGREE, QUESTION = "agree", "disagree", "question"
REACTION_KINDS = (AGREE, DISAGREE, QUESTION)
REACTION_LABELS = {
    AGREE: N_("Agree"),
    DISAGREE: N_("Disagree"),
    QUESTION: N_("Question"),
}
# Ids per query: far below the parameter limits of SQLite (32766) and PostgreSQL (32767).
_CHUNK = 5000


# The counts of a post nobody reacted to (read-only: shared by all such posts).
NO_REACTIONS: Mapping[str, int] = MappingProxyType(dict.fromkeys(REACTION_KINDS, 0))


class ReactionError(Exception):
    """A rule was broken; the message is for the user."""


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


async def reactions_for_posts(
    scope: TenantScope, post_ids: list[int], user_id: int | None
) -> tuple[dict[int, dict[str, int]], set[tuple[int, str]]]:
    """Counts per post per kind, and the (post id, kind) pairs this person reacted with.

    Every post asked for is in the counts, with 0 for each kind nobody used. One query (for
    pages of up to 5000 posts), however many posts and reactions there are.
    """
    ids = sorted({int(post_id) for post_id in post_ids})
    counts: dict[int, dict[str, int]] = {post_id: dict(NO_REACTIONS) for post_id in ids}
    mine: set[tuple[int, str]] = set()
    for chunk in _chunks(ids):
        mine |= await _count_reactions(scope, Reaction.post.is_in(chunk), user_id, counts)
    return counts, mine


async def reactions_in_thread(
    scope: TenantScope, thread_id: int, user_id: int | None
) -> tuple[dict[int, dict[str, int]], set[tuple[int, str]]]:
    """As ``reactions_for_posts`` for every post of a thread, in one query; posts without
    reactions are left out of the counts. The posts are a sub-query, not a list of ids."""
    in_thread = Reaction.post.is_in(scope.select(Post, Post.id).where(Post.thread == thread_id))
    counts: dict[int, dict[str, int]] = {}
    mine = await _count_reactions(scope, in_thread, user_id, counts)
    return counts, mine


async def _count_reactions(
    scope: TenantScope, on_posts, user_id: int | None, counts: dict[int, dict[str, int]]
) -> set[tuple[int, str]]:
    """Adds the counts of the reactions ``on_posts`` (a condition) to ``counts``; returns the
    (post id, kind) pairs of ``user_id``, found in the same query."""
    columns = [Reaction.post, Reaction.kind, Count(alias="total")]
    if user_id is not None:
        columns.append(Max(QueryString("CASE WHEN {} = {} THEN 1 ELSE 0 END", Reaction.user, user_id), alias="mine"))
    rows = await scope.select(Reaction, *columns).where(on_posts).group_by(Reaction.post, Reaction.kind)
    mine: set[tuple[int, str]] = set()
    for row in rows:
        if row["kind"] in REACTION_KINDS:
            counts.setdefault(row["post"], dict(NO_REACTIONS))[row["kind"]] = row["total"]
            if row.get("mine"):
                mine.add((row["post"], row["kind"]))
    return mine


def can_react(access: Access, post: Post) -> bool:
    return access.can_post and post.deleted_at is None and post.hidden_at is None


def _is_unique_violation(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"IntegrityError", "UniqueViolationError"})


async def toggle_reaction(
    scope: TenantScope, access: Access, post: Post, user: User, kind: str
) -> bool:
    """Add this person's reaction of ``kind`` to the post, or take it away; True when added.

    Reactions are not written to the audit log: like votes, they are opinions, not changes
    to the content.
    """
    if kind not in REACTION_KINDS:
        raise ReactionError(_("Choose agree, disagree or question."))
    if not access.can_post:
        raise ReactionError(_("You cannot react in this conversation."))
    # A reaction is an opinion given as a member: taking part, like a vote.
    if refusal := await participation_refusal(scope, access, user):
        raise ReactionError(refusal)
    if post.deleted_at is not None or post.hidden_at is not None:
        raise ReactionError(_("This post was removed or hidden. You cannot react to it."))
    mine = (Reaction.post == post.id) & (Reaction.user == user.id) & (Reaction.kind == kind)
    try:
        async with engine().transaction():
            if await scope.exists(Reaction).where(mine):
                await scope.delete(Reaction).where(mine)
                return False
            await scope.new(Reaction, post=post.id, user=user.id, kind=kind).save()
            return True
    except Exception as error:
        # A double click raced past the check: the unique index kept one reaction.
        if _is_unique_violation(error):
            return True
        raise


async def announce(name: str, *args) -> None:
    """Tell the live-update part (``portal.deliberation.live``) about a change, if it exists.

    Nothing happens when that module or function is missing; a failure there is logged and
    never undoes or hides the change the person made.
    """
    try:
        live = importlib.import_module("portal.deliberation.live")
    except ModuleNotFoundError as error:
        if error.name != "portal.deliberation.live":
            raise
        return
    function = getattr(live, name, None)
    if function is None:
        return
    try:
        await function(*args)
    except Exception:  # noqa: BLE001 - the change is saved; a missed live update is not fatal
        logger.exception("live update %s failed", name)


async def announce_reactions(scope: TenantScope, post_id: int) -> None:
    await announce("announce_reactions", scope, post_id)
