"""Reactions and polls through HTTP: with htmx (fragments) and without JavaScript (303), bad input,
closed polls, and people from another panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import escape

from portal.core.audit import AuditEntry
from portal.core.i18n import translations_for
from portal.core.tenancy import TenantScope
from portal.deliberation import polls
from portal.deliberation.tables import Poll, PollOption, PollVote, Post, Reaction, Thread
from tests.support import (
    Browser,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    login,
    make_tenant,
    make_user,
    post_form,
)

HTMX = {"HX-Request": "true"}
NOT_REPRESENTATIVE = "Not representative: only the members who voted, not everyone."
CLOSED = "This poll has closed; your vote was not changed."


def nl(message: str, **variables) -> str:
    """``message`` as the default (Dutch) page shows it: translated when the catalogue has it."""
    text = translations_for("nl").gettext(message)
    return str(escape(text % variables if variables else text))


def local_in(days: int) -> str:
    return (datetime.now(polls.LOCAL_TIME) + timedelta(days=days)).date().isoformat()


@pytest.fixture
async def world(client):
    """Tenant alpha: a sent round for a parent panel (two members) and a youth panel (one), the
    parent panel's thread with a post, an officer, a support contact and a council member."""
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    ouder = await build_panel_member(tenant, parents, "ouder@alpha.example", display_name="Moeder van twee",
                                     support_contact=supporter)
    await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader")
    await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky")
    stage = await build_stage(tenant)
    round_ = await build_round(tenant, stage, status="sent", panels=[parents, youth])
    thread = scope.new(Thread, round=round_.id, panel=parents.id, title="Ouderpanel", is_main=True)
    await thread.save()
    post = scope.new(Post, thread=thread.id, author=ouder.id, body_markdown="Hallo", body_html="<p>Hallo</p>")
    await post.save()
    await login(client, "ouder@alpha.example")
    return {"tenant": tenant, "scope": scope, "officer": officer, "thread": thread, "post": post}


async def as_person(client, email: str) -> Browser:
    browser = Browser(client)
    await login(browser, email)
    return browser


async def start_poll(client, thread, **fields):
    data = {"question": "Welke avond past het best?", "kind": "single", "options": "Maandag\nDinsdag\nWoensdag",
            "closes_date": local_in(7), "closes_time": "17:00", **fields}
    return await post_form(client, f"/t/alpha/threads/{thread.id}/polls", data, follow_redirects=False)


async def the_poll(world) -> tuple[Poll, list[int]]:
    poll = await world["scope"].objects(Poll).order_by(Poll.id, ascending=False).first()
    rows = await world["scope"].select(PollOption, PollOption.id).where(PollOption.poll == poll.id).order_by(
        PollOption.position)
    return poll, [row["id"] for row in rows]


async def cast(client, poll, option_ids, reason="", htmx=False):
    data = {"option": [str(option_id) for option_id in option_ids], "reason": reason}
    return await post_form(client, f"/t/alpha/polls/{poll.id}/vote", data, follow_redirects=False,
                           headers=HTMX if htmx else None)


async def my_votes(world, email: str) -> list[int]:
    rows = await world["scope"].select(PollVote, PollVote.option).where(
        (PollVote.poll.is_in(world["scope"].select(Poll, Poll.id))) & (PollVote.user.email == email))
    return sorted(row["option"] for row in rows)


# --- creating a poll --------------------------------------------------------------------------


async def test_a_member_starts_a_poll_and_returns_to_it(client, world):
    thread = world["thread"]
    form = await client.get(f"/t/alpha/threads/{thread.id}/polls/new")
    assert form.status_code == 200
    assert 'name="question"' in form.text and 'type="time"' in form.text
    response = await start_poll(client, thread)
    poll, options = await the_poll(world)
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/alpha/threads/{thread.id}#poll-{poll.id}"
    assert poll.question == "Welke avond past het best?" and len(options) == 3
    closes = poll.closes_at.astimezone(polls.LOCAL_TIME)
    assert (closes.date().isoformat(), closes.strftime("%H:%M")) == (local_in(7), "17:00")
    assert await AuditEntry.exists().where((AuditEntry.action == "poll.created") & (AuditEntry.object_id == poll.id))


async def test_an_officer_starts_an_agreement_scale(client, world):
    officer = await as_person(client, "beleid@alpha.example")
    response = await start_poll(officer, world["thread"], kind="scale", options="")
    assert response.status_code == 303
    _poll, options = await the_poll(world)
    assert len(options) == 5


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"options": "Alleen maandag"}, "options"),
        ({"options": "\n".join(f"Dag {n}" for n in range(11))}, "options"),
        ({"options": "Maandag\nmaandag"}, "options"),
        ({"closes_date": local_in(-1)}, "closes_date"),
        ({"closes_date": local_in(120)}, "closes_date"),
        ({"question": ""}, "question"),
        ({"question": "x" * 301}, "question"),
    ],
)
async def test_a_poll_with_bad_input_is_refused_and_the_text_kept(client, world, fields, field):
    response = await start_poll(client, world["thread"], **fields)
    assert response.status_code == 422
    assert f'href="#field-{field}"' in response.text  # the error summary links to the field
    assert "Welke avond past het best?" in response.text or field == "question"
    assert await world["scope"].count(Poll) == 0


# --- voting -----------------------------------------------------------------------------------


async def test_voting_without_javascript_goes_back_to_the_poll(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, _tuesday, _wednesday) = await the_poll(world)
    response = await cast(client, poll, [monday], "Dan kan ik")
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"#poll-{poll.id}")
    assert await my_votes(world, "ouder@alpha.example") == [monday]


async def test_a_vote_shows_the_results_labelled_not_representative_and_can_be_changed(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, tuesday, _wednesday) = await the_poll(world)
    response = await cast(client, poll, [monday], htmx=True)
    assert response.status_code == 200
    assert f'id="poll-{poll.id}"' in response.text
    assert nl(NOT_REPRESENTATIVE) in response.text
    assert nl("Change my vote") in response.text
    changed = await cast(client, poll, [tuesday], "Toch liever dinsdag", htmx=True)
    assert changed.status_code == 200
    assert await my_votes(world, "ouder@alpha.example") == [tuesday]
    assert "Toch liever dinsdag" in changed.text
    assert f'value="{tuesday}" checked' in changed.text


async def test_a_member_who_has_not_voted_sees_no_results_until_the_poll_closes(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, *_rest) = await the_poll(world)
    await cast(client, poll, [monday])
    vader = await as_person(client, "vader@alpha.example")
    # Closing early shows everyone the results; the member who did not vote sees them too.
    officer = await as_person(client, "beleid@alpha.example")
    closed = await post_form(officer, f"/t/alpha/polls/{poll.id}/close", {}, headers=HTMX)
    assert closed.status_code == 200
    assert nl(NOT_REPRESENTATIVE) in closed.text
    assert await AuditEntry.exists().where((AuditEntry.action == "poll.closed") & (AuditEntry.object_id == poll.id))
    refused = await cast(vader, poll, [monday], htmx=True)
    assert refused.status_code == 409
    assert nl(NOT_REPRESENTATIVE) in refused.text


async def test_after_closing_a_vote_is_refused_with_409_and_the_old_vote_kept(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, tuesday, _wednesday) = await the_poll(world)
    await cast(client, poll, [monday])
    closed = await post_form(client, f"/t/alpha/polls/{poll.id}/close", {}, follow_redirects=False)
    assert closed.status_code == 303  # the member who started it may close it
    for htmx in (False, True):
        response = await cast(client, poll, [tuesday], htmx=htmx)
        assert response.status_code == 409
        assert nl(CLOSED) in response.text
    assert await my_votes(world, "ouder@alpha.example") == [monday]
    again = await post_form(client, f"/t/alpha/polls/{poll.id}/close", {}, follow_redirects=False)
    assert again.status_code == 409


async def test_a_vote_after_the_closing_time_is_refused(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, *_rest) = await the_poll(world)
    await world["scope"].update(Poll, {Poll.closes_at: datetime.now(UTC) - timedelta(minutes=1)}).where(
        Poll.id == poll.id)
    response = await cast(client, poll, [monday])
    assert response.status_code == 409 and nl(CLOSED) in response.text
    assert await my_votes(world, "ouder@alpha.example") == []


async def test_wrong_votes_get_a_message_and_change_nothing(client, world):
    await start_poll(client, world["thread"])
    first, (monday, tuesday, _wednesday) = await the_poll(world)
    await start_poll(client, world["thread"], question="Andere vraag")
    _second, (foreign, *_rest) = await the_poll(world)
    for option_ids in ([], [monday, tuesday], [foreign], ["abc"]):
        response = await cast(client, first, option_ids)
        assert response.status_code == 422, option_ids
        assert "Welke avond past het best?" in response.text
    long_reason = await cast(client, first, [monday], "x" * 501)
    assert long_reason.status_code == 422
    assert "x" * 501 in long_reason.text  # the reason is kept
    assert await world["scope"].count(PollVote) == 0


async def test_only_members_vote_and_only_the_creator_or_an_officer_closes(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, *_rest) = await the_poll(world)
    supporter = await as_person(client, "steun@alpha.example")
    assert (await cast(supporter, poll, [monday])).status_code == 403
    vader = await as_person(client, "vader@alpha.example")
    assert (await post_form(vader, f"/t/alpha/polls/{poll.id}/close", {})).status_code == 403
    assert (await world["scope"].get(Poll, poll.id)).closed_at is None


async def test_people_outside_the_panel_get_404_on_its_poll_and_reaction_routes(client, world):
    await start_poll(client, world["thread"])
    poll, (monday, *_rest) = await the_poll(world)
    thread, post = world["thread"], world["post"]
    for email in ("sky@alpha.example", "raad@alpha.example"):
        other = await as_person(client, email)
        assert (await other.get(f"/t/alpha/threads/{thread.id}/polls/new")).status_code == 404
        assert (await start_poll(other, thread)).status_code == 404
        assert (await cast(other, poll, [monday])).status_code == 404
        assert (await post_form(other, f"/t/alpha/polls/{poll.id}/close", {})).status_code == 404
        assert (await post_form(other, f"/t/alpha/posts/{post.id}/reactions", {"kind": "agree"})).status_code == 404
    assert await world["scope"].count(PollVote) == 0
    assert await world["scope"].count(Reaction) == 0


# --- reactions --------------------------------------------------------------------------------


async def test_a_reaction_toggles_with_htmx_and_without_javascript(client, world):
    post = world["post"]
    url = f"/t/alpha/posts/{post.id}/reactions"
    response = await post_form(client, url, {"kind": "agree"}, headers=HTMX)
    assert response.status_code == 200
    assert f'id="reactions-{post.id}"' in response.text
    assert f'id="reaction-{post.id}-agree" aria-pressed="true"' in response.text
    assert f"{nl('Agree')} (1)" in response.text and f"{nl('Disagree')} (0)" in response.text
    back = await post_form(client, url, {"kind": "agree"}, follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == f"/t/alpha/threads/{world['thread'].id}#post-{post.id}"
    assert await world["scope"].count(Reaction) == 0


async def test_no_reaction_to_a_removed_post_or_of_an_unknown_kind(client, world):
    post = world["post"]
    url = f"/t/alpha/posts/{post.id}/reactions"
    assert (await post_form(client, url, {"kind": "love"}, headers=HTMX)).status_code == 422
    await world["scope"].update(Post, {Post.deleted_at: datetime.now(UTC)}).where(Post.id == post.id)
    response = await post_form(client, url, {"kind": "agree"}, headers=HTMX)
    assert response.status_code == 409
    assert 'aria-pressed' not in response.text  # no buttons on a removed post
    assert await world["scope"].count(Reaction) == 0


# --- on the thread page -----------------------------------------------------------------------


async def test_the_thread_page_shows_the_polls_and_the_reaction_bars(client, world):
    thread, post = world["thread"], world["post"]
    await start_poll(client, thread)
    poll, (monday, *_rest) = await the_poll(world)
    await post_form(client, f"/t/alpha/posts/{post.id}/reactions", {"kind": "question"})
    page = await client.get(f"/t/alpha/threads/{thread.id}")
    assert page.status_code == 200
    assert f'id="poll-{poll.id}"' in page.text and nl("Start a poll") in page.text
    assert nl("You see the results after you vote. Everyone sees them when the poll closes.") in page.text
    assert f'id="reactions-{post.id}"' in page.text
    assert f'id="reaction-{post.id}-question" aria-pressed="true"' in page.text
    await cast(client, poll, [monday])
    page = await client.get(f"/t/alpha/threads/{thread.id}")
    assert nl(NOT_REPRESENTATIVE) in page.text
