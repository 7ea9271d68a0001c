"""A thread page issues the same number of SQL queries for 10 posts as for 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.core.context import RequestContext
from portal.core.database import query_counter
from portal.core.tenancy import TenantScope
from portal.deliberation import service
from portal.deliberation.tables import Post, PostRevision, Reaction, Thread
from tests.support import (
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    login,
    make_tenant,
    make_user,
)


async def fill(scope: TenantScope, thread: Thread, count: int, authors: list[int]) -> None:
    """``count`` posts in ``thread``: a third top-level, the rest replies two levels deep, some
    removed, hidden, sensitive or edited, with reactions."""
    start = datetime.now(UTC) - timedelta(days=1)
    tops = [
        scope.new(Post, thread=thread.id, depth=0, author=authors[i % len(authors)], body_markdown=f"Post {i}",
                  body_html=f"<p>Post {i}</p>", sensitive=i % 7 == 0, created_at=start + timedelta(seconds=i))
        for i in range(max(1, count // 3))
    ]
    await scope.insert(Post, *tops)
    top_rows = await scope.select(Post, Post.id).where(Post.thread == thread.id).order_by(Post.id)
    replies = []
    for i in range(count - len(tops)):
        parent = top_rows[i % len(top_rows)]["id"]
        replies.append(scope.new(
            Post, thread=thread.id, parent=parent, depth=1, author=authors[(i + 1) % len(authors)],
            body_markdown=f"Reply {i}", body_html=f"<p>Reply {i}</p>",
            created_at=start + timedelta(minutes=10, seconds=i),
            deleted_at=start if i % 11 == 0 else None, hidden_at=start if i % 13 == 0 else None,
            hidden_reason="Herkenbaar" if i % 13 == 0 else "", edited_at=start if i % 5 == 0 else None,
        ))
    if replies:
        await scope.insert(Post, *replies)
    ids = [row["id"] for row in await scope.select(Post, Post.id).where(Post.thread == thread.id)]
    await scope.insert(PostRevision, *[scope.new(PostRevision, post=post_id, body_markdown="Oud") for post_id in ids[::4]])
    await scope.insert(Reaction, *[
        scope.new(Reaction, post=post_id, user=authors[n % len(authors)], kind=("agree", "question")[n % 2])
        for n, post_id in enumerate(ids[::2])
    ])


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    stage = await build_stage(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    members = [await build_panel_member(tenant, panel, f"lid{n}@alpha.example", display_name=f"Lid {n}")
               for n in range(4)]
    round_ = await build_round(tenant, stage, status="sent", panels=(panel,))
    [small] = await service.ensure_round_threads(scope, round_)
    large = await service.open_sub_topic(
        scope, round_, panel.id, "Groot", RequestContext(user=officer, tenant=tenant, roles={"policy_officer"})
    )
    authors = [member.id for member in members] + [officer.id]
    await fill(scope, small, 10, authors)
    await fill(scope, large, 500, authors)
    assert await scope.count(Post).where(Post.thread == large.id) == 500
    return {"tenant": tenant, "scope": scope, "small": small, "large": large, "members": members,
            "officer": officer}


async def queries_for_page(scope, ctx, thread) -> int:
    with query_counter.measure() as measured:
        page = await service.thread_page(scope, ctx, thread)
    assert page["posts"]
    return measured["queries"]


@pytest.mark.parametrize("who", ["member", "officer"])
async def test_the_thread_page_costs_the_same_queries_for_10_and_500_posts(world, who):
    scope = world["scope"]
    user = world["members"][0] if who == "member" else world["officer"]
    roles = {"panel_member"} if who == "member" else {"policy_officer"}
    ctx = RequestContext(user=user, tenant=world["tenant"], roles=roles)
    small = await queries_for_page(scope, ctx, world["small"])
    large = await queries_for_page(scope, ctx, world["large"])
    assert small == large, (small, large)
    # A second visit (the read marker exists now) costs the same again.
    assert await queries_for_page(scope, ctx, world["large"]) == large


async def test_the_thread_page_over_http_costs_the_same_queries_for_10_and_500_posts(client, world):
    await login(client, "lid0@alpha.example")
    counts = []
    for thread in (world["small"], world["large"], world["small"], world["large"]):
        with query_counter.measure() as measured:
            response = await client.get(f"/t/alpha/threads/{thread.id}")
        assert response.status_code == 200
        counts.append(measured["queries"])
    assert counts[0] > 0 and counts[0] == counts[1] and counts[2] == counts[3], counts
    assert response.text.count('class="portal-post-item') == 500
