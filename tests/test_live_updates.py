"""Live updates: what is announced after a change reaches the open thread pages, as each reader
should see it, through a real server-sent-event stream (the app on a real port)."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack

import httpx
import pytest

from portal.core import channels
from portal.core.tenancy import TenantScope
from portal.deliberation import live
from portal.deliberation.tables import Poll, PollOption, PollVote, Post, Reaction, Thread
from tests.support import (
    EventStream,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    login,
    make_tenant,
    make_user,
    post_form,
)

WAIT_SECONDS = 5.0
SSE = {"Accept": "text/event-stream"}


@pytest.fixture
async def world():
    """Tenant alpha: a sent round with the parent panel's thread (Moeder, Vader) and the youth
    panel's thread (Sky); a policy officer and a council member."""
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    mother = await build_panel_member(tenant, parents, "moeder@alpha.example", display_name="Moeder van twee")
    father = await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader")
    sky = await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    round_ = await build_round(tenant, stage, status="sent", panels=(parents, youth))
    thread = scope.new(Thread, round=round_.id, panel=parents.id, title="Ouderpanel", is_main=True)
    await thread.save()
    youth_thread = scope.new(Thread, round=round_.id, panel=youth.id, title="Jongerenpanel", is_main=True)
    await youth_thread.save()
    return {"tenant": tenant, "scope": scope, "thread": thread, "youth_thread": youth_thread,
            "mother": mother, "father": father, "sky": sky, "officer": officer}


async def write_post(world, author, text: str, *, parent: Post | None = None, thread=None) -> Post:
    """A post saved as part A saves it, without announcing it (the tests announce)."""
    post = world["scope"].new(
        Post, thread=(thread or world["thread"]).id, author=author.id, body_markdown=text,
        body_html=f"<p>{text}</p>", parent=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
    )
    await post.save()
    return post


def pressed(html: str, kind: str) -> str:
    """The ``aria-pressed`` of the reaction button of ``kind`` in ``html``."""
    button = re.search(rf'<button[^>]*value="{kind}"[^>]*>', html)
    assert button, html
    return re.search(r'aria-pressed="(\w+)"', button.group(0)).group(1)


def events_url(thread, after: int | None = None) -> str:
    return f"/t/alpha/threads/{thread.id}/events" + (f"?after={after}" if after is not None else "")


class Readers:
    """People with a browser each on the live server, and the streams they opened."""

    def __init__(self, server, stack: AsyncExitStack) -> None:
        self.server = server
        self.stack = stack

    async def browser(self, email: str) -> httpx.AsyncClient:
        client = await self.stack.enter_async_context(
            httpx.AsyncClient(base_url=self.server.url, timeout=WAIT_SECONDS)
        )
        await login(client, email)
        return client

    async def stream(self, client: httpx.AsyncClient, url: str, **headers) -> EventStream:
        headers = {"Accept": "text/html, text/event-stream", **headers}  # as htmx's SSE extension
        response = await self.stack.enter_async_context(client.stream("GET", url, headers=headers))
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        await stream.wait_for_comment("connected", WAIT_SECONDS)  # subscribed from here on
        return stream


@pytest.fixture
async def readers(live_server):
    async with AsyncExitStack() as stack:
        yield Readers(live_server, stack)


async def test_a_new_post_reaches_another_reader_with_an_announcement(readers, world):
    father = await readers.browser("vader@alpha.example")
    stream = await readers.stream(father, events_url(world["thread"]))
    post = await write_post(world, world["mother"], "Wij wachten al een half jaar.")
    await live.announce_post(world["scope"], post.id)

    message = await stream.message_with("Wij wachten al een half jaar.")
    data = message["data"]
    assert 'hx-target="#posts" hx-swap="beforeend"' in data
    assert f'id="post-{post.id}"' in data and "Moeder van twee" in data
    assert '<hx-partial hx-target="#live-region" hx-swap="textContent">' in data
    assert "Moeder van twee" in data.split('hx-target="#live-region"')[1]
    assert message["id"] == str(post.id)  # a reconnecting browser says it has this post
    # Rendered for the father: he may reply and report, not change or remove her post.
    assert f"/posts/{post.id}/report" in data
    assert f"/posts/{post.id}/edit" not in data and f"/posts/{post.id}/delete" not in data


async def test_a_reply_goes_under_its_post(readers, world):
    first = await write_post(world, world["father"], "Herkent iemand dit?")
    father = await readers.browser("vader@alpha.example")
    stream = await readers.stream(father, events_url(world["thread"]))
    reply = await write_post(world, world["mother"], "Ja, bij ons ook.", parent=first)
    await live.announce_post(world["scope"], reply.id)

    message = await stream.message_with("Ja, bij ons ook.")
    assert f'hx-target="#replies-{first.id}" hx-swap="beforeend"' in message["data"]


async def test_the_authors_own_post_is_not_added_twice(readers, world):
    """Her page appends her post from her own form; her stream only updates it in place."""
    mother = await readers.browser("moeder@alpha.example")
    stream = await readers.stream(mother, events_url(world["thread"]))
    post = await write_post(world, world["mother"], "Mijn eigen bericht.")
    await live.announce_post(world["scope"], post.id)

    message = await stream.message_with("Mijn eigen bericht.")
    assert f'hx-target="#post-{post.id} &gt; article" hx-swap="outerMorph"' in message["data"]
    assert 'hx-target="#posts"' not in message["data"]
    assert "#live-region" not in message["data"]
    assert f"/posts/{post.id}/delete" in message["data"]  # her own controls


async def test_a_post_made_through_the_form_is_announced(readers, world):
    """Part A's form calls ``announce_post`` after saving: a reader sees the post arrive."""
    father = await readers.browser("vader@alpha.example")
    stream = await readers.stream(father, events_url(world["thread"]))
    mother = await readers.browser("moeder@alpha.example")
    sent = await post_form(mother, f"/t/alpha/threads/{world['thread'].id}/posts",
                           {"body": "Via het formulier.", "client_token": "live-form-1"})
    assert sent.status_code in (200, 303), sent.text

    message = await stream.message_with("Via het formulier.")
    assert 'hx-target="#posts"' in message["data"]


async def test_reactions_are_shown_with_the_readers_own_choice(readers, world):
    post = await write_post(world, world["mother"], "Wat vinden jullie?")
    father = await readers.browser("vader@alpha.example")
    stream = await readers.stream(father, events_url(world["thread"]))
    scope = world["scope"]
    await scope.new(Reaction, post=post.id, user=world["mother"].id, kind="agree").save()
    await scope.new(Reaction, post=post.id, user=world["father"].id, kind="question").save()
    await live.announce_reactions(scope, post.id)

    message = await stream.message_with(f'id="reactions-{post.id}"')
    data = message["data"]
    assert f'hx-target="#reactions-{post.id}" hx-swap="outerMorph"' in data
    assert pressed(data, "question") == "true"  # his own
    assert pressed(data, "agree") == "false" and "(1)" in data


async def test_poll_results_are_shown_as_each_reader_may_see_them(readers, world, live_server):
    from datetime import UTC, datetime, timedelta

    scope = world["scope"]
    poll = scope.new(Poll, thread=world["thread"].id, question="Is de wachttijd te lang?",
                     kind="single", closes_at=datetime.now(UTC) + timedelta(days=3))
    await poll.save()
    yes = scope.new(PollOption, poll=poll.id, position=1, label="Ja")
    await yes.save()
    await scope.new(PollOption, poll=poll.id, position=2, label="Nee").save()
    father = await readers.browser("vader@alpha.example")
    father_stream = await readers.stream(father, events_url(world["thread"]))
    officer = await readers.browser("beleid@alpha.example")
    officer_stream = await readers.stream(officer, events_url(world["thread"]))
    await scope.new(PollVote, poll=poll.id, option=yes.id, user=world["mother"].id).save()
    await live.announce_poll(scope, poll.id)

    for_father = (await father_stream.message_with(f'id="poll-{poll.id}"'))["data"]
    for_officer = (await officer_stream.message_with(f'id="poll-{poll.id}"'))["data"]
    assert f'hx-target="#poll-{poll.id}" hx-swap="outerMorph"' in for_father
    # The father has not voted: he gets the voting form, not the results yet.
    assert f"/polls/{poll.id}/vote" in for_father and "Not representative" not in for_father
    # The officer sees the results, labelled as not representative.
    assert "Not representative" in for_officer or "Niet representatief" in for_officer


async def test_a_reader_of_another_thread_hears_nothing(readers, world):
    sky = await readers.browser("sky@alpha.example")
    stream = await readers.stream(sky, events_url(world["youth_thread"]))
    post = await write_post(world, world["mother"], "Alleen voor het ouderpanel.")
    await live.announce_post(world["scope"], post.id)
    own = await write_post(world, world["sky"], "In het jongerenpanel.", thread=world["youth_thread"])
    await live.announce_post(world["scope"], own.id)

    message = await stream.next_message()  # the first message is about the youth thread
    assert "In het jongerenpanel." in message["data"]
    assert "Alleen voor het ouderpanel." not in "\n".join(stream.seen)


async def test_posts_written_before_the_stream_opened_are_caught_up(readers, world):
    """A page made before a post, or a browser reconnecting after a pause, gets what it missed."""
    known = await write_post(world, world["mother"], "Al op de pagina.")
    missed = await write_post(world, world["mother"], "Gemist bericht.")
    father = await readers.browser("vader@alpha.example")
    stream = await readers.stream(father, events_url(world["thread"], after=known.id))
    message = await stream.next_message()
    assert "Gemist bericht." in message["data"] and "Al op de pagina." not in message["data"]
    assert message["id"] == str(missed.id)

    # Reconnecting: Last-Event-ID wins over the page's ``after``.
    again = await readers.stream(father, events_url(world["thread"], after=0), **{"Last-Event-ID": str(missed.id)})
    newer = await write_post(world, world["mother"], "Nog een bericht.")
    await live.announce_post(world["scope"], newer.id)
    message = await again.next_message()
    assert "Nog een bericht." in message["data"] and "Gemist bericht." not in message["data"]


@pytest.mark.parametrize("email", ["raad@alpha.example", "sky@alpha.example"])
async def test_people_who_may_not_read_the_thread_get_404(client, world, email):
    await login(client, email)
    response = await client.get(events_url(world["thread"]), headers=SSE)
    assert response.status_code == 404


async def test_strangers_are_sent_to_log_in(client, world):
    response = await client.get(events_url(world["thread"]), headers=SSE, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"].startswith("/login")


async def test_a_person_following_the_address_gets_the_thread_page(client, world):
    """Not an event-stream client: no response that never ends (the test client would hang)."""
    await login(client, "vader@alpha.example")
    response = await client.get(events_url(world["thread"]), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/alpha/threads/{world['thread'].id}"


async def test_a_quiet_stream_sends_a_heartbeat(readers, world, monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.2)
    father = await readers.browser("vader@alpha.example")
    stream = await readers.stream(father, events_url(world["thread"]))
    await stream.wait_for_comment("heartbeat", 3)


async def test_the_stream_ends_when_the_reader_goes_away(readers, world):
    """No subscriber is left behind after a browser closes its stream."""
    plugin = channels.running_plugin()
    name = channels.thread_channel(world["thread"].id)
    father = await readers.browser("vader@alpha.example")
    async with father.stream("GET", events_url(world["thread"]), headers=SSE) as response:
        await EventStream(response).wait_for_comment("connected")
        assert len(plugin._channels.get(name, ())) == 1
    import asyncio

    for _ in range(50):
        if not plugin._channels.get(name):
            break
        await asyncio.sleep(0.05)
    assert not plugin._channels.get(name)


async def test_announcing_never_raises(world, monkeypatch, caplog):
    """After a commit a failed live update is logged; the person's change stands."""
    async def broken(*args):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(live, "publish", broken)
    post = await write_post(world, world["mother"], "Opgeslagen.")
    await live.announce_post(world["scope"], post.id)
    await live.announce_reactions(world["scope"], post.id)
    await live.announce_poll(world["scope"], 999_999)
    assert "live update for post" in caplog.text


async def test_publishing_without_a_running_application_is_a_no_op(monkeypatch):
    monkeypatch.setattr(channels, "_running", [])  # not even the app the tests share (conftest.py)
    assert await channels.publish("thread-1", {"kind": "post", "id": 1}) is False
