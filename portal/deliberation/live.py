"""Live updates of a thread page: new posts, reactions and poll results, without reloading.

How it works, and why this way:

* After a change is committed, ``announce_post`` / ``announce_reactions`` / ``announce_poll``
  publish a small, neutral event on the thread's channel (``thread-<id>``): only what changed
  (``{"kind": "post", "id": 12}``), never HTML and never anything a reader may not see.
* Every open thread page holds one server-sent-event stream (``live_routes``). Its request knows
  who is reading, so when an event arrives the stream renders the changed fragment *for that
  reader*, with the same templates and the same access rules as the thread page: the author's
  own edit and delete links, the reader's own reactions and vote, a hidden post as a moderator
  or as a member sees it. One HTML for everyone would be wrong for all but one of them, and a
  refresh signal that makes every browser fetch the fragment again would cost a round trip more.
* The stream sends htmx 4 swap instructions (``<hx-partial>``, read by the SSE extension): a new
  post goes to the end of ``#posts`` (or of ``#replies-<parent id>``) and "New post by X" to the
  polite live region for screen readers; a changed post, reaction bar or poll is *morphed* in
  place, so a vote being chosen, a reason or a reply being typed, and the keyboard focus stay
  as they are. The reader's own new post is only morphed (their page appended it already from
  their own form), never added twice. Without JavaScript nothing of this is needed: the page is
  complete when loaded.
* A stream that breaks off (a tab in the background, a network hiccup) reconnects by itself and
  says where it was (``Last-Event-ID``, the newest post the page has); the posts it missed are
  sent first.

The ``announce_*`` functions are safe to call after the database commit: they never raise.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import anyio
from litestar import Request
from litestar.channels import ChannelsPlugin
from litestar.response.sse import ServerSentEventMessage
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from portal.core.channels import publish, thread_channel
from portal.core.context import RequestContext
from portal.core.i18n import _
from portal.core.tenancy import MAX_ID, TenantScope
from portal.deliberation.access import Access, thread_access
from portal.deliberation.polls import poll_view
from portal.deliberation.reactions import reactions_for_posts
from portal.deliberation.service import PostView, mark_read, post_view
from portal.deliberation.tables import Poll, Post, Thread

logger = logging.getLogger(__name__)

POST, REACTIONS, POLL = "post", "reactions", "poll"


async def _announce(scope: TenantScope, table, row_id: int, kind: str) -> None:
    try:
        rows = await scope.select(table, table.thread).where(table.id == int(row_id)).limit(1)
        if not rows:
            logger.warning("live update for unknown %s %s", kind, row_id)
            return
        await publish(
            thread_channel(rows[0]["thread"]),
            {"kind": kind, "id": int(row_id), "tenant": scope.tenant_id},
        )
    except Exception:  # noqa: BLE001 - the change is committed; a missed live update is not fatal
        logger.exception("live update for %s %s failed", kind, row_id)


async def announce_post(scope: TenantScope, post_id: int) -> None:
    """A post was written, edited, removed, hidden or shown again."""
    await _announce(scope, Post, post_id, POST)


async def announce_reactions(scope: TenantScope, post_id: int) -> None:
    """The reactions to a post changed."""
    await _announce(scope, Post, post_id, REACTIONS)


async def announce_poll(scope: TenantScope, poll_id: int) -> None:
    """A poll was opened, voted in or closed."""
    await _announce(scope, Poll, poll_id, POLL)


# --- the stream: one per open thread page ---------------------------------------------------------

# A comment line this often keeps proxies from closing a quiet stream (and finds dead clients).
HEARTBEAT_SECONDS = 15.0
# The browser reconnects after this many milliseconds when the stream ends or breaks.
RETRY_MILLISECONDS = 3000
# Posts sent to catch up after a reconnect; a page that missed more should simply be reloaded.
CATCH_UP_LIMIT = 50


class StreamClosed(Exception):
    """The reader may no longer read the thread: the stream ends."""


@dataclass
class Viewer:
    """One open thread page: who reads it and what it shows already."""

    request: Request
    scope: TenantScope
    ctx: RequestContext
    thread: Thread
    # The page had every post up to this id when the stream opened; later ones are new to it
    # unless the stream sent them (``inserted``). ``last_post_id``, the newest post the page has,
    # is each message's SSE id: a reconnecting browser sends it back as ``Last-Event-ID``.
    page_has_up_to: int = 0
    last_post_id: int = 0
    inserted: set[int] = field(default_factory=set)


def _int_or_none(value: str | None) -> int | None:
    try:
        number = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number <= MAX_ID else None


async def newest_post_id(scope: TenantScope, thread_id: int) -> int:
    rows = await (
        scope.select(Post, Post.id).where(Post.thread == thread_id).order_by(Post.id, ascending=False).limit(1)
    )
    return rows[0]["id"] if rows else 0


async def open_viewer(request: Request, scope: TenantScope, ctx: RequestContext, thread: Thread) -> Viewer:
    """Where the page is: ``Last-Event-ID`` after a reconnect, else ``?after=<post id>`` from
    the page, else the newest post now."""
    known = _int_or_none(request.headers.get("last-event-id"))
    if known is None:
        known = _int_or_none(request.query_params.get("after"))
    if known is None:
        known = await newest_post_id(scope, thread.id)
    return Viewer(
        request=request, scope=scope, ctx=ctx, thread=thread, page_has_up_to=known, last_post_id=known
    )


def _render(viewer: Viewer, template_name: str, **context: Any) -> str:
    """A template rendered as the thread page renders it, for this reader (their CSRF token)."""
    request = viewer.request
    token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    template = request.app.template_engine.get_template(template_name)
    return template.render(
        request=request,
        ctx=viewer.ctx,
        csrf_input=f'<input type="hidden" name="_csrf_token" value="{html.escape(token)}" />',
        **context,
    )


def partial(target: str, swap: str, content: str) -> str:
    """An htmx 4 partial: ``content`` swapped into ``target`` (a CSS selector)."""
    return (
        f'<hx-partial hx-target="{html.escape(target)}" hx-swap="{html.escape(swap)}">'
        f"{content}</hx-partial>"
    )


def _message(viewer: Viewer, parts: list[str]) -> ServerSentEventMessage | None:
    if not parts:
        return None
    return ServerSentEventMessage(data="".join(parts), id=str(viewer.last_post_id))


async def _current_access(viewer: Viewer) -> Access:
    access = await thread_access(viewer.scope, viewer.ctx, viewer.thread)
    if not access.can_read:
        raise StreamClosed()
    return access


async def _post_parts(viewer: Viewer, access: Access, post: Post) -> list[str]:
    """A post new to this page goes at the end of its list, with an announcement for screen
    readers; a post the page has already is updated in place (morphed, so that a reply someone
    is typing under it is kept)."""
    own = viewer.ctx.user is not None and post.author == viewer.ctx.user.id
    is_new = post.id > viewer.page_has_up_to and post.id not in viewer.inserted
    rendered = await post_fragment(viewer, access, post, is_new=is_new and not own)
    if rendered is None:
        return []
    html_, view = rendered
    if is_new:
        viewer.inserted.add(post.id)
        viewer.last_post_id = max(viewer.last_post_id, post.id)
    if not is_new or own:
        # Changed, or the reader's own new post: their page has it from their own form (htmx
        # appends it there); a page without it is left alone rather than given it twice.
        article = _article_of(html_)
        target = f"#{post_element_id(post.id)} > article"
        return [partial(target, "outerMorph", article)] if article else []
    container = f"#{replies_element_id(post.parent)}" if post.parent else "#posts"
    announcement = _("New post by %(name)s", name=view.author_name)
    if viewer.ctx.user is not None:
        # The reader has it on screen (the stream pauses while the tab is in the background).
        try:
            await mark_read(viewer.scope, viewer.thread.id, viewer.ctx.user.id)
        except Exception:  # noqa: BLE001 - an unread marker too many is no reason to drop the post
            logger.exception("could not mark thread %s as read", viewer.thread.id)
    return [
        partial(container, "beforeend", html_),
        partial("#no-posts", "delete", ""),
        partial("#live-region", "textContent", html.escape(announcement)),
    ]


async def render_event(viewer: Viewer, event: dict) -> ServerSentEventMessage | None:
    """The swap instructions for one published event, as this reader should see them."""
    if event.get("tenant") != viewer.scope.tenant_id:
        return None
    kind, row_id = event.get("kind"), _int_or_none(str(event.get("id", "")))
    if row_id is None:
        return None
    access = await _current_access(viewer)
    if kind in (POST, REACTIONS):
        post = await viewer.scope.get_or_none(Post, row_id)
        if post is None or post.thread != viewer.thread.id:
            return None
        if kind == POST:
            return _message(viewer, await _post_parts(viewer, access, post))
        html_ = await reactions_fragment(viewer, access, post)
        target = f"#{reactions_element_id(post.id)}"
        return _message(viewer, [partial(target, "outerMorph", html_)] if html_ else [])
    if kind == POLL:
        poll = await viewer.scope.get_or_none(Poll, row_id)
        if poll is None or poll.thread != viewer.thread.id:
            return None
        html_ = await poll_fragment(viewer, access, poll)
        target = f"#{poll_element_id(poll.id)}"
        return _message(viewer, [partial(target, "outerMorph", html_)] if html_ else [])
    return None


async def catch_up(viewer: Viewer) -> ServerSentEventMessage | None:
    """Posts written since the page was made (or since the stream broke off)."""
    access = await _current_access(viewer)
    posts = await (
        viewer.scope.objects(Post)
        .where((Post.thread == viewer.thread.id) & (Post.id > viewer.page_has_up_to))
        .order_by(Post.id)
        .limit(CATCH_UP_LIMIT)
    )
    parts: list[str] = []
    for post in posts:
        parts.extend(await _post_parts(viewer, access, post))
    return _message(viewer, parts)


async def thread_events(viewer: Viewer, plugin: ChannelsPlugin) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The reader's stream: swap instructions as events arrive, a heartbeat comment when it is
    quiet. It ends when the browser goes away (Litestar cancels it on disconnect) or when the
    reader loses access to the thread."""
    subscriber = await plugin.subscribe(thread_channel(viewer.thread.id))
    events = subscriber.iter_events()
    pending: asyncio.Task | None = None
    try:
        try:
            missed = await catch_up(viewer)
        except StreamClosed:
            raise
        except Exception:  # noqa: BLE001 - the page works without; later events still come
            logger.exception("could not catch up thread %s", viewer.thread.id)
            missed = None
        # "Subscribed": from here on nothing published is missed.
        yield ServerSentEventMessage(
            data=None, comment="connected", id=str(viewer.last_post_id), retry=RETRY_MILLISECONDS
        )
        if missed:
            yield missed
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _pending = await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
            if not done:
                yield ServerSentEventMessage(data=None, comment="heartbeat")
                continue
            pending = None
            try:
                raw = done.pop().result()
            except StopAsyncIteration:
                return
            try:
                message = await render_event(viewer, json.loads(raw))
            except StreamClosed:
                return
            except Exception:  # noqa: BLE001 - one bad event must not end everyone's stream
                logger.exception("live update for thread %s could not be shown", viewer.thread.id)
                continue
            if message is not None:
                yield message
    except StreamClosed:
        return
    finally:
        if pending is not None:
            pending.cancel()
        # Shielded: the stream is usually ending because its task was cancelled.
        with anyio.CancelScope(shield=True):
            await plugin.unsubscribe(subscriber, thread_channel(viewer.thread.id))


# --- the fragments, as the thread page renders them ------------------------------------------------


def post_element_id(post_id: int) -> str:
    return f"post-{post_id}"


def replies_element_id(post_id: int) -> str:
    return f"replies-{post_id}"


def reactions_element_id(post_id: int) -> str:
    return f"reactions-{post_id}"


def poll_element_id(poll_id: int) -> str:
    return f"poll-{poll_id}"


def _article_of(post_html: str) -> str | None:
    """The ``<article>`` of a rendered ``_post.html`` item, without the list of replies after it
    (a changed post is updated in place; its replies on the page stay as they are)."""
    start, end = post_html.find("<article"), post_html.rfind("</article>")
    if start < 0 or end < 0:
        return None
    return post_html[start : end + len("</article>")]


async def post_fragment(
    viewer: Viewer, access: Access, post: Post, *, is_new: bool = False
) -> tuple[str, PostView] | None:
    """``_post.html`` for this reader: their own edit and remove links, the moderators' controls,
    a hidden post's text only for its author and moderators (``service.post_view`` decides)."""
    user_id = viewer.ctx.user.id if viewer.ctx.user else None
    view = await post_view(viewer.scope, post.id, viewer_id=user_id, moderator=access.can_moderate)
    if view is None:
        return None
    counts, mine = await reactions_for_posts(viewer.scope, [post.id], user_id)
    view.reactions = counts[post.id]
    view.reaction_pairs = mine
    view.is_new = is_new
    html_ = _render(
        viewer, "deliberation/_post.html", post=view, access=access, thread=viewer.thread,
        reaction_counts=counts, my_reactions=mine,
    )
    return html_, view


async def reactions_fragment(viewer: Viewer, access: Access, post: Post) -> str | None:
    """``_reactions.html`` for this reader: the counts, and which buttons are theirs."""
    user_id = viewer.ctx.user.id if viewer.ctx.user else None
    counts, mine = await reactions_for_posts(viewer.scope, [post.id], user_id)
    return _render(
        viewer, "deliberation/_reactions.html", post=post, access=access,
        reaction_counts=counts, my_reactions=mine,
    )


async def poll_fragment(viewer: Viewer, access: Access, poll: Poll) -> str | None:
    """``_poll.html`` for this reader: their vote, and the results only when they may see them."""
    return _render(viewer, "deliberation/_poll.html", poll=await poll_view(viewer.scope, poll, access))
