"""Threads and posts: the rules, without HTTP (sanitising, access, depth, edit window, removal,
double submits, unread markers)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from litestar.exceptions import NotFoundException

from portal.accounts.tables import Membership
from portal.core.audit import AuditEntry
from portal.core.context import RequestContext
from portal.core.i18n import current_locale
from portal.core.tenancy import TenantScope
from portal.deliberation import service
from portal.deliberation.access import get_thread_for, thread_access
from portal.deliberation.markdown import render_markdown
from portal.deliberation.service import PostError, ThreadError
from portal.deliberation.tables import Post, PostRevision, Thread
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


# --- Markdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "<script>alert(1)</script>",
        '<iframe src="https://evil.example"></iframe>',
        "[x](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)" onclick="alert(2)">x</a>',
        "![x](https://tracker.example/pixel.png)",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    ],
)
def test_markdown_never_lets_scripts_handlers_frames_or_images_through(text):
    html = render_markdown(text).lower()
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert not re.search(r'<a\s[^>]*href="(javascript|data)', html)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html)  # no event handler on a real tag


def test_markdown_raw_html_is_shown_as_text():
    assert render_markdown("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_markdown_keeps_simple_formatting_and_makes_links_safe():
    html = render_markdown("# Title\n\n**bold** _it_ `code`\n\n- a\n\n> quote\n\n[site](https://example.nl)")
    assert "<h3>Title</h3>" in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert "<ul>" in html and "<blockquote>" in html
    assert '<a href="https://example.nl" rel="noopener nofollow">site</a>' in html
    assert 'href="mailto:a@b.nl"' in render_markdown("[mail](mailto:a@b.nl)")
    assert render_markdown("   ") == ""


# --- a world --------------------------------------------------------------------------------------


async def context_of(tenant, user) -> RequestContext:
    rows = await TenantScope(tenant).select(Membership, Membership.role).where(Membership.user == user.id)
    return RequestContext(user=user, tenant=tenant, roles={row["role"] for row in rows})


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",))
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",))
    other_supporter = await make_user("steun2@alpha.example", tenant=tenant, roles=("support_contact",))
    council = await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    outside = await build_panel(tenant, "Niet uitgenodigd", "mixed")
    mother = await build_panel_member(tenant, parents, "ouder@alpha.example", display_name="Moeder van twee",
                                      support_contact=supporter)
    father = await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader")
    paused = await build_panel_member(tenant, parents, "pauze@alpha.example", status="paused")
    sky = await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky",
                                   support_contact=other_supporter)
    stranger = await build_panel_member(tenant, outside, "buiten@alpha.example")
    round_ = await build_round(tenant, stage, status="sent", panels=(parents, youth))
    made = await service.ensure_round_threads(scope, round_)
    threads = {thread.panel: thread for thread in made}
    people = {
        "officer": officer, "supporter": supporter, "other_supporter": other_supporter, "council": council,
        "mother": mother, "father": father, "paused": paused, "sky": sky, "stranger": stranger,
    }
    return {
        "tenant": tenant, "scope": scope, "round": round_, "parents": parents, "youth": youth, "outside": outside,
        "parents_thread": threads[parents.id], "youth_thread": threads[youth.id],
        "ctx": {name: await context_of(tenant, user) for name, user in people.items()}, **people,
    }


# --- threads and who may take part ----------------------------------------------------------------


async def test_each_invited_panel_gets_one_main_thread_named_after_it(world):
    scope = world["scope"]
    assert world["parents_thread"].title == "Ouderpanel" and world["parents_thread"].is_main
    assert await service.ensure_round_threads(scope, world["round"]) == []
    assert await scope.count(Thread) == 2
    assert await AuditEntry.count().where(AuditEntry.action == "thread.created") == 2


async def test_a_draft_round_gets_no_threads(world):
    draft = await build_round(world["tenant"], await build_stage(world["tenant"], cycle_title="Ander"),
                              panels=(world["parents"],))
    assert await service.ensure_round_threads(world["scope"], draft) == []


@pytest.mark.parametrize(
    ("person", "read", "moderate"),
    [
        ("mother", True, False),
        ("father", True, False),
        ("supporter", True, True),  # the support contact of a parent panel member
        ("officer", True, True),
        ("paused", False, False),  # not an active member
        ("sky", False, False),  # a member of another invited panel
        ("other_supporter", False, False),  # supports someone in another panel
        ("stranger", False, False),  # a member of a panel that is not invited
        ("council", False, False),  # deliberation is the panels' own space
    ],
)
async def test_who_may_read_and_moderate_a_panel_thread(world, person, read, moderate):
    scope, thread = world["scope"], world["parents_thread"]
    access = await thread_access(scope, world["ctx"][person], thread)
    assert (access.can_read, access.can_moderate) == (read, moderate)
    assert access.can_post == read
    if not read:
        with pytest.raises(NotFoundException):
            await get_thread_for(scope, world["ctx"][person], thread.id)


async def test_the_joint_thread_is_for_every_invited_panel_and_opened_once_by_an_officer(world):
    scope, round_ = world["scope"], world["round"]
    with pytest.raises(ThreadError):
        await service.open_joint_thread(scope, round_, world["ctx"]["mother"])
    joint = await service.open_joint_thread(scope, round_, world["ctx"]["officer"])
    assert (await service.open_joint_thread(scope, round_, world["ctx"]["officer"])).id == joint.id
    for person, read in (("mother", True), ("sky", True), ("supporter", True), ("stranger", False),
                         ("council", False)):
        assert (await thread_access(scope, world["ctx"][person], joint)).can_read is read, person


async def test_members_open_sub_topics_only_in_their_own_panel(world):
    scope, round_ = world["scope"], world["round"]
    topic = await service.open_sub_topic(scope, round_, world["parents"].id, "Wachtlijsten", world["ctx"]["mother"])
    assert not topic.is_main and topic.panel == world["parents"].id
    assert (await thread_access(scope, world["ctx"]["father"], topic)).can_read
    assert not (await thread_access(scope, world["ctx"]["sky"], topic)).can_read
    with pytest.raises(ThreadError) as refused:
        await service.open_sub_topic(scope, round_, world["youth"].id, "Niet mijn panel", world["ctx"]["mother"])
    assert refused.value.status_code == 403
    with pytest.raises(ThreadError):  # a panel that is not invited
        await service.open_sub_topic(scope, round_, world["outside"].id, "X", world["ctx"]["officer"])
    with pytest.raises(ThreadError):  # no joint thread yet
        await service.open_sub_topic(scope, round_, None, "Samen", world["ctx"]["mother"])
    with pytest.raises(ThreadError):
        await service.open_sub_topic(scope, round_, world["parents"].id, "  ", world["ctx"]["mother"])


async def test_a_closed_round_can_be_read_but_not_written_in(world):
    scope, thread = world["scope"], world["parents_thread"]
    round_ = world["round"]
    round_.status = "closed"
    await round_.save()
    access = await thread_access(scope, world["ctx"]["mother"], thread)
    assert access.can_read and not access.can_post
    with pytest.raises(PostError):
        await service.create_post(scope, thread, world["mother"], "Te laat", access=access)


# --- posts ----------------------------------------------------------------------------------------


async def post(world, body="Hallo", person="mother", thread=None, **kwargs):
    thread = thread or world["parents_thread"]
    access = await thread_access(world["scope"], world["ctx"][person], thread)
    return await service.create_post(world["scope"], thread, world[person], body, access=access, **kwargs)


async def test_a_post_is_stored_as_markdown_and_rendered_safely_and_audited_without_its_text(world):
    created = await post(world, "**Wij** wachten <script>alert(1)</script>")
    assert created.body_markdown == "**Wij** wachten <script>alert(1)</script>"
    assert "<strong>Wij</strong>" in created.body_html and "<script" not in created.body_html
    entry = await AuditEntry.objects().where(AuditEntry.action == "post.created").first()
    assert entry.object_id == created.id and "wachten" not in entry.after


async def test_empty_and_too_long_posts_are_refused(world):
    for body in ("", "   \n ", "x" * (service.MAX_BODY_LENGTH + 1)):
        with pytest.raises(PostError) as refused:
            await post(world, body)
        assert refused.value.status_code == 422
    assert (await post(world, "x" * service.MAX_BODY_LENGTH)).id


async def test_replies_go_three_levels_deep_and_no_further(world):
    top = await post(world, "0")
    one = await post(world, "1", person="father", parent_id=top.id)
    two = await post(world, "2", parent_id=one.id)
    assert (top.depth, one.depth, two.depth) == (0, 1, 2)
    with pytest.raises(PostError) as refused:
        await post(world, "3", person="father", parent_id=two.id)
    assert "three levels" in str(refused.value)


async def test_a_reply_must_be_in_the_same_thread(world):
    scope = world["scope"]
    topic = await service.open_sub_topic(scope, world["round"], world["parents"].id, "Ander", world["ctx"]["mother"])
    elsewhere = await post(world, "Elders", thread=topic)
    with pytest.raises(PostError):
        await post(world, "Hier", parent_id=elsewhere.id)


async def test_replying_to_a_removed_or_hidden_post_is_refused(world):
    scope = world["scope"]
    removed = await post(world, "Weg")
    await service.delete_post(scope, removed, world["mother"])
    hidden = await post(world, "Verborgen")
    await scope.update(Post, {Post.hidden_at: service.now(), Post.hidden_reason: "Te persoonlijk"}).where(
        Post.id == hidden.id
    )
    for parent in (removed, hidden):
        with pytest.raises(PostError) as refused:
            await post(world, "Antwoord", person="father", parent_id=parent.id)
        assert str(refused.value) == "You cannot reply to a removed post"
    assert await scope.count(Post) == 2


async def test_the_same_form_sent_twice_makes_one_post(world):
    token = service.new_client_token()
    first = await post(world, "Eén", client_token=token)
    second = await post(world, "Eén", client_token=token)
    assert first.id == second.id
    assert service.was_created(first) and not service.was_created(second)
    other = await post(world, "Eén", person="father", client_token=token)  # someone else's form
    assert other.id != first.id
    assert await world["scope"].count(Post) == 2


async def test_the_author_edits_within_the_window_and_the_old_text_is_kept(world):
    scope = world["scope"]
    created = await post(world, "Eerste")
    access = await thread_access(scope, world["ctx"]["mother"], world["parents_thread"])
    await service.edit_post(scope, created, world["mother"], "Tweede", access=access)
    stored = await scope.get(Post, created.id)
    assert stored.body_markdown == "Tweede" and "Tweede" in stored.body_html and stored.edited_at
    [revision] = await scope.objects(PostRevision)
    assert revision.body_markdown == "Eerste" and revision.post == created.id
    with pytest.raises(PostError) as refused:
        await service.edit_post(scope, stored, world["father"], "Van mij", access=access)
    assert refused.value.status_code == 403
    late = stored.created_at + timedelta(minutes=31)
    with pytest.raises(PostError) as too_late:
        await service.edit_post(scope, stored, world["mother"], "Later", access=access, at=late)
    assert "30 minutes" in str(too_late.value)
    history = await service.post_history(scope, stored)
    assert [item["body_markdown"] for item in history] == ["Eerste"]


async def test_the_edit_window_is_a_tenant_setting(world):
    tenant = world["tenant"]
    tenant.settings = {"post_edit_minutes": 5}
    await tenant.save()
    scope = TenantScope(tenant)
    created = await post(world, "Eerste")
    access = await thread_access(scope, world["ctx"]["mother"], world["parents_thread"])
    with pytest.raises(PostError):
        await service.edit_post(scope, created, world["mother"], "Te laat", access=access,
                                at=created.created_at + timedelta(minutes=6))


async def test_a_removed_post_shows_no_text_to_anyone(world):
    scope = world["scope"]
    created = await post(world, "Geheim verhaal")
    await service.delete_post(scope, created, world["mother"])
    stored = await scope.get(Post, created.id)
    assert stored.deleted_at and stored.body_html == "" and stored.body_markdown == ""
    [revision] = await scope.objects(PostRevision)
    assert revision.body_markdown == "Geheim verhaal"  # for moderators only
    for person in ("mother", "father", "officer", "supporter"):
        page = await service.thread_page(scope, world["ctx"][person], world["parents_thread"])
        [view] = page["posts"]
        assert view.state == "removed" and view.body_html == ""
    with pytest.raises(PostError):
        await service.delete_post(scope, await post(world, "Van mij"), world["father"])


async def test_a_hidden_post_shows_its_text_and_reason_only_to_its_author_and_moderators(world):
    scope = world["scope"]
    created = await post(world, "Te veel details")
    await scope.update(Post, {Post.hidden_at: service.now(), Post.hidden_reason: "Herkenbaar"}).where(
        Post.id == created.id
    )
    for person, sees_text, sees_reason in (("mother", True, True), ("father", False, False),
                                           ("supporter", True, True), ("officer", True, True)):
        [view] = (await service.thread_page(scope, world["ctx"][person], world["parents_thread"]))["posts"]
        assert view.state == "hidden"
        assert bool(view.body_html) is sees_text, person
        assert (view.hidden_reason == "Herkenbaar") is sees_reason, person


async def test_the_thread_page_shows_pseudonyms_a_reply_tree_and_new_posts(world):
    scope, thread = world["scope"], world["parents_thread"]
    top = await post(world, "Eerste")
    reply = await post(world, "Antwoord", person="father", parent_id=top.id)
    page = await service.thread_page(scope, world["ctx"]["mother"], thread)
    [view] = page["posts"]
    assert view.author_name == "Moeder van twee" and not view.is_new  # own post
    assert [child.id for child in view.replies] == [reply.id]
    assert view.replies[0].author_name == "Vader" and view.replies[0].is_new
    # Viewing marked the thread as read: nothing is new on the next visit.
    again = await service.thread_page(scope, world["ctx"]["mother"], thread)
    assert not again["posts"][0].replies[0].is_new
    officer_view = (await service.thread_page(scope, world["ctx"]["officer"], thread))["posts"][0]
    assert officer_view.author_name == "Moeder van twee"


async def test_unread_counts_per_thread(world):
    scope = world["scope"]
    parents, youth = world["parents_thread"], world["youth_thread"]
    mother = world["ctx"]["mother"]
    assert await service.unread_counts(scope, mother, [parents.id]) == {parents.id: 0}
    await post(world, "Van vader", person="father")
    await post(world, "Van moeder")
    assert await service.unread_counts(scope, mother, [parents.id, youth.id]) == {parents.id: 1, youth.id: 0}
    await service.thread_page(scope, mother, parents)
    assert await service.unread_counts(scope, mother, [parents.id]) == {parents.id: 0}
    await post(world, "Nog een", person="father")
    assert await service.unread_counts(scope, mother, [parents.id]) == {parents.id: 1}


async def test_the_round_threads_list_only_what_the_person_may_read(world):
    scope, round_ = world["scope"], world["round"]
    await service.open_joint_thread(scope, round_, world["ctx"]["officer"])
    mother = await service.round_threads(scope, world["ctx"]["mother"], round_)
    assert [item.title for item in mother.threads] == ["All invited panels together", "Ouderpanel"]
    assert ("", "All invited panels together") in mother.topic_panels
    officer = await service.round_threads(scope, world["ctx"]["officer"], round_)
    assert len(officer.threads) == 3 and not officer.can_open_joint
    assert await service.round_threads_section(scope, world["ctx"]["council"], round_) is None
