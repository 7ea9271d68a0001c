"""Rules of reactions and polls, without HTTP: one vote per member, closing, options, counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from portal.core.audit import AuditEntry
from portal.core.context import RequestContext
from portal.core.database import query_counter
from portal.core.forms import Form
from portal.core.i18n import current_locale
from portal.core.tenancy import TenantScope
from portal.deliberation import polls, reactions
from portal.deliberation.access import thread_access
from portal.deliberation.tables import Poll, PollOption, PollVote, Post, Reaction, Thread
from portal.panels.tables import Panel
from portal.rounds.tables import ConsultationRound
from tests.support import (
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    make_tenant,
    make_user,
)


@pytest.fixture(autouse=True)
def english_messages():
    """These tests read the services' messages in the English of the source."""
    token = current_locale.set("en")
    yield
    current_locale.reset(token)



async def _context(tenant, user, *roles) -> RequestContext:
    return RequestContext(user=user, tenant=tenant, roles=set(roles))


@pytest.fixture
async def world():
    """Tenant alpha: a sent round with a parent panel (two members) and a youth panel (one), the
    parent panel's main thread, an officer and a support contact."""
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    ouder = await build_panel_member(tenant, parents, "ouder@alpha.example", support_contact=supporter)
    vader = await build_panel_member(tenant, parents, "vader@alpha.example")
    sky = await build_panel_member(tenant, youth, "sky@alpha.example")
    stage = await build_stage(tenant)
    round_ = await build_round(tenant, stage, status="sent", panels=[parents, youth])
    thread = scope.new(Thread, round=round_.id, panel=parents.id, title="Ouderpanel", is_main=True)
    await thread.save()
    return {
        "tenant": tenant, "scope": scope, "officer": officer, "supporter": supporter,
        "ouder": ouder, "vader": vader, "sky": sky, "thread": thread, "round": round_,
    }


async def access_of(world, who: str, *roles):
    user = world[who]
    roles = roles or ("panel_member",)
    return await thread_access(world["scope"], await _context(world["tenant"], user, *roles), world["thread"])


async def close_round(world) -> None:
    await world["scope"].update(ConsultationRound, {ConsultationRound.status: "closed"}).where(
        ConsultationRound.id == world["round"].id)


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def make_poll(world, kind="single", options=("Ja", "Nee", "Weet niet"), who="ouder", closes_at=None):
    access = await access_of(world, who)
    values = polls.PollValues(question="Wat vinden jullie?", kind=kind, options=list(options),
                              closes_at=closes_at or in_days(7))
    return await polls.create_poll(world["scope"], access, world["thread"], world[who], values)


async def options_of(world, poll) -> list[int]:
    rows = await world["scope"].select(PollOption, PollOption.id).where(PollOption.poll == poll.id).order_by(
        PollOption.position
    )
    return [row["id"] for row in rows]


async def votes_of(world, poll, who: str) -> list[dict]:
    return await world["scope"].select(PollVote).where(
        (PollVote.poll == poll.id) & (PollVote.user == world[who].id)
    )


async def vote(world, poll, who, option_ids, reason=""):
    access = await access_of(world, who)
    await polls.cast_vote(world["scope"], access, poll, world[who], option_ids, reason)


# --- creating ---------------------------------------------------------------------------------


async def test_a_member_creates_a_poll_with_its_options_and_it_is_audited(world):
    poll = await make_poll(world)
    assert poll.kind == "single"
    labels = await world["scope"].select(PollOption, PollOption.label).where(
        PollOption.poll == poll.id).order_by(PollOption.position)
    assert [row["label"] for row in labels] == ["Ja", "Nee", "Weet niet"]
    entry = await AuditEntry.objects().where(AuditEntry.action == "poll.created").first()
    assert entry.object_id == poll.id and entry.actor == world["ouder"].id


async def test_a_scale_poll_gets_the_five_fixed_options(world):
    poll = await make_poll(world, kind="scale", options=())
    labels = await world["scope"].select(PollOption, PollOption.label).where(
        PollOption.poll == poll.id).order_by(PollOption.position)
    assert [row["label"] for row in labels] == list(polls.SCALE_OPTIONS)


@pytest.mark.parametrize("options", [["Alleen ja"], [f"Optie {n}" for n in range(11)], ["Ja", "ja"]])
async def test_one_eleven_or_duplicate_options_are_refused(world, options):
    with pytest.raises(polls.PollError) as refused:
        await make_poll(world, options=options)
    assert refused.value.field == "options"
    assert await world["scope"].count(Poll) == 0


async def test_blank_lines_do_not_count_as_options():
    assert polls.option_lines("Ja\n\n  \nNee\n") == ["Ja", "Nee"]


async def test_a_closing_time_in_the_past_or_too_far_ahead_is_refused(world):
    for closes_at in (in_days(-1 / 24), in_days(polls.MAX_DAYS_AHEAD + 1)):
        with pytest.raises(polls.PollError) as refused:
            await make_poll(world, closes_at=closes_at)
        assert refused.value.field == "closes_date"
    assert await world["scope"].count(Poll) == 0


async def test_the_form_refuses_a_past_closing_time_and_keeps_the_values():
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    form = Form({"question": "Wat vinden jullie?", "kind": "single", "options": "Ja\nNee",
                 "closes_date": yesterday, "closes_time": "17:00"})
    values = polls.parse_poll_form(form)
    assert "closes_date" in form.errors
    assert form.values["options"] == "Ja\nNee" and values.question == "Wat vinden jullie?"


async def test_the_closing_time_is_read_as_dutch_time():
    moment = polls.closing_moment(date(2027, 1, 15), time(17, 0))
    assert moment == datetime(2027, 1, 15, 16, 0, tzinfo=UTC)


async def test_council_members_and_closed_rounds_cannot_create_polls(world):
    council = await make_user("raad@alpha.example", tenant=world["tenant"], roles=("council_member",))
    ctx = await _context(world["tenant"], council, "council_member")
    access = await thread_access(world["scope"], ctx, world["thread"])
    values = polls.PollValues(question="Vraag?", kind="single", options=["A", "B"], closes_at=in_days(1))
    with pytest.raises(polls.PollForbiddenError):
        await polls.create_poll(world["scope"], access, world["thread"], council, values)
    await close_round(world)
    access = await access_of(world, "ouder")
    with pytest.raises(polls.PollForbiddenError):
        await polls.create_poll(world["scope"], access, world["thread"], world["ouder"], values)


# --- voting -----------------------------------------------------------------------------------


async def test_a_second_single_vote_replaces_the_first(world):
    poll = await make_poll(world)
    yes, no, _unsure = await options_of(world, poll)
    await vote(world, poll, "ouder", [yes], "Eerst ja")
    await vote(world, poll, "ouder", [no], "Toch nee")
    rows = await votes_of(world, poll, "ouder")
    assert [(row["option"], row["reason"]) for row in rows] == [(no, "Toch nee")]


async def test_single_and_scale_polls_take_exactly_one_answer(world):
    for kind in ("single", "scale"):
        poll = await make_poll(world, kind=kind)
        first, second = (await options_of(world, poll))[:2]
        for wrong in ([], [first, second]):
            with pytest.raises(polls.PollError):
                await vote(world, poll, "ouder", wrong)
        await vote(world, poll, "ouder", [second])
        assert [row["option"] for row in await votes_of(world, poll, "ouder")] == [second]


async def test_a_multiple_choice_poll_takes_several_answers(world):
    poll = await make_poll(world, kind="multiple")
    yes, no, unsure = await options_of(world, poll)
    await vote(world, poll, "ouder", [yes, unsure])
    assert sorted(row["option"] for row in await votes_of(world, poll, "ouder")) == sorted([yes, unsure])
    await vote(world, poll, "ouder", [no])
    assert [row["option"] for row in await votes_of(world, poll, "ouder")] == [no]


async def test_options_of_another_poll_are_refused(world):
    poll = await make_poll(world)
    other = await make_poll(world)
    foreign = (await options_of(world, other))[0]
    with pytest.raises(polls.PollError) as refused:
        await vote(world, poll, "ouder", [foreign])
    assert refused.value.field == "options"
    assert await world["scope"].count(PollVote) == 0


async def test_a_vote_after_closing_is_refused_and_the_old_vote_kept(world):
    poll = await make_poll(world)
    yes, no, _unsure = await options_of(world, poll)
    await vote(world, poll, "ouder", [yes])
    officer_access = await access_of(world, "officer", "policy_officer")
    await polls.close_poll(world["scope"], officer_access, poll, world["officer"])
    poll = await world["scope"].get(Poll, poll.id)
    with pytest.raises(polls.PollClosedError) as refused:
        await vote(world, poll, "ouder", [no])
    assert str(refused.value) == "This poll has closed; your vote was not changed."
    assert refused.value.status_code == 409
    assert [row["option"] for row in await votes_of(world, poll, "ouder")] == [yes]


async def test_a_vote_after_the_closing_time_is_refused(world):
    poll = await make_poll(world)
    yes = (await options_of(world, poll))[0]
    await world["scope"].update(Poll, {Poll.closes_at: in_days(-1 / 24)}).where(Poll.id == poll.id)
    poll = await world["scope"].get(Poll, poll.id)
    with pytest.raises(polls.PollClosedError):
        await vote(world, poll, "ouder", [yes])


async def test_only_panel_members_vote(world):
    poll = await make_poll(world)
    yes = (await options_of(world, poll))[0]
    access = await access_of(world, "supporter", "support_contact")
    assert access.can_read
    with pytest.raises(polls.PollForbiddenError):
        await polls.cast_vote(world["scope"], access, poll, world["supporter"], [yes])


async def test_only_the_creator_or_an_officer_closes_and_closing_is_audited(world):
    poll = await make_poll(world, who="ouder")
    with pytest.raises(polls.PollForbiddenError):
        await polls.close_poll(world["scope"], await access_of(world, "vader"), poll, world["vader"])
    await polls.close_poll(world["scope"], await access_of(world, "ouder"), poll, world["ouder"])
    assert await AuditEntry.exists().where(
        (AuditEntry.action == "poll.closed") & (AuditEntry.object_id == poll.id))
    with pytest.raises(polls.PollClosedError):
        await polls.close_poll(world["scope"], await access_of(world, "ouder"), poll, world["ouder"])


async def test_results_count_voters_and_show_when_allowed(world):
    poll = await make_poll(world, kind="multiple")
    yes, no, _unsure = await options_of(world, poll)
    await vote(world, poll, "ouder", [yes, no], "Allebei een beetje")
    await vote(world, poll, "vader", [yes])
    view = (await polls.polls_for_thread(world["scope"], world["thread"],
                                         await _context(world["tenant"], world["ouder"], "panel_member")))[0]
    assert view.voters == 2 and view.has_voted and view.show_results
    assert [(option.count, option.percent) for option in view.options] == [(2, 100), (1, 50), (0, 0)]
    assert view.my_choices == {yes, no} and view.my_reason == "Allebei een beetje"
    # Someone who has not voted yet does not see results while the poll is open; an officer does.
    panel = await world["scope"].get(Panel, world["thread"].panel)
    newcomer = await build_panel_member(world["tenant"], panel, "nieuw@alpha.example")
    view = (await polls.polls_for_thread(world["scope"], world["thread"],
                                         await _context(world["tenant"], newcomer, "panel_member")))[0]
    assert view.can_vote and not view.show_results
    view = (await polls.polls_for_thread(world["scope"], world["thread"],
                                         await _context(world["tenant"], world["officer"], "policy_officer")))[0]
    assert view.show_results and not view.can_vote and view.can_close


# --- reactions --------------------------------------------------------------------------------


async def make_posts(world, count: int) -> list[Post]:
    posts = []
    for number in range(count):
        post = world["scope"].new(Post, thread=world["thread"].id, author=world["ouder"].id,
                                  body_markdown=f"Bericht {number}", body_html=f"<p>Bericht {number}</p>")
        await post.save()
        posts.append(post)
    return posts


async def react(world, post, who, kind, *roles):
    access = await access_of(world, who, *roles)
    return await reactions.toggle_reaction(world["scope"], access, post, world[who], kind)


async def test_a_reaction_toggles_and_counts_per_kind(world):
    first, second = await make_posts(world, 2)
    assert await react(world, first, "ouder", "agree") is True
    assert await react(world, first, "vader", "agree") is True
    assert await react(world, first, "vader", "question") is True
    assert await react(world, first, "vader", "question") is False  # the second press takes it back
    counts, mine = await reactions.reactions_for_posts(world["scope"], [first.id, second.id], world["vader"].id)
    assert counts[first.id] == {"agree": 2, "disagree": 0, "question": 0}
    assert counts[second.id] == {"agree": 0, "disagree": 0, "question": 0}
    assert mine == {(first.id, "agree")}


async def test_no_reactions_to_removed_or_hidden_posts_nor_by_readers_who_cannot_post(world):
    removed, hidden, fine = await make_posts(world, 3)
    removed.deleted_at = datetime.now(UTC)
    hidden.hidden_at = datetime.now(UTC)
    for post in (removed, hidden):
        with pytest.raises(reactions.ReactionError):
            await react(world, post, "ouder", "agree")
    with pytest.raises(reactions.ReactionError):
        await react(world, fine, "ouder", "love")
    await close_round(world)
    with pytest.raises(reactions.ReactionError):
        await react(world, fine, "ouder", "agree")
    assert await world["scope"].count(Reaction) == 0


# --- constant number of queries ---------------------------------------------------------------


async def test_reactions_for_posts_costs_the_same_for_10_and_500_posts(world):
    measured = []
    for count in (10, 500):
        posts = await make_posts(world, count)
        for post in posts[:: max(1, count // 20)]:
            await react(world, post, "ouder", "agree")
            await react(world, post, "vader", "disagree")
        with query_counter.measure() as result:
            counts, _mine = await reactions.reactions_for_posts(
                world["scope"], [post.id for post in posts], world["ouder"].id)
        assert len(counts) == count
        measured.append(result["queries"])
    assert measured[0] == measured[1] <= 2


async def test_polls_for_thread_costs_the_same_for_few_and_many_polls_and_votes(world):
    ctx = await _context(world["tenant"], world["ouder"], "panel_member")
    access = await thread_access(world["scope"], ctx, world["thread"])
    measured = []
    for extra_polls, voters in ((1, ("ouder",)), (6, ("ouder", "vader"))):
        for _ in range(extra_polls):
            poll = await make_poll(world, kind="multiple")
            option_ids = await options_of(world, poll)
            for who in voters:
                await vote(world, poll, who, option_ids[:2])
        with query_counter.measure() as result:
            views = await polls.polls_for_thread(world["scope"], world["thread"], ctx, access)
        measured.append(result["queries"])
    assert len(views) == 7
    assert measured[0] == measured[1] <= 3


async def test_a_double_click_on_vote_leaves_one_vote(world):
    import asyncio

    poll = await make_poll(world)
    yes = (await options_of(world, poll))[0]
    await asyncio.gather(vote(world, poll, "ouder", [yes]), vote(world, poll, "ouder", [yes]))
    assert [row["option"] for row in await votes_of(world, poll, "ouder")] == [yes]


async def test_live_updates_are_optional(world, monkeypatch):
    import importlib

    calls = []

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(importlib, "import_module", missing)
    await reactions.announce("announce_reactions", world["scope"], 1)  # nothing happens, no error
    monkeypatch.undo()
    from portal.deliberation import live

    async def record(scope, poll_id):
        calls.append(poll_id)

    monkeypatch.setattr(live, "announce_poll", record, raising=False)
    await polls.announce_poll(world["scope"], 7)
    assert calls == [7]
