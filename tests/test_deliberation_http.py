"""Threads and posts through HTTP: reading, posting, replying, changing and removing, bad input,
htmx fragments, and who gets a 404."""

from __future__ import annotations

import re

import pytest

from portal.core.tenancy import TenantScope
from portal.deliberation import service
from portal.deliberation.tables import Post, PostRevision, Thread
from tests.support import (
    Browser,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    csrf_token,
    login,
    make_tenant,
    make_user,
    post_form,
)


@pytest.fixture
async def world(client):
    """Tenant alpha: a round sent to a parent and a youth panel (a third panel not invited), a
    support contact of the parents, a council member; the client is logged in as a parent."""
    tenant = await make_tenant("alpha")
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",),
                              display_name="Beleid Alpha")
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",),
                                display_name="Steun")
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    third = await build_panel(tenant, "Derde panel", "mixed")
    mother = await build_panel_member(tenant, parents, "ouder@alpha.example", display_name="Moeder van twee",
                                      support_contact=supporter)
    father = await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader van drie")
    sky = await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky")
    await build_panel_member(tenant, third, "derde@alpha.example", display_name="Derde")
    await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    round_ = await build_round(tenant, stage, status="sent", panels=(parents, youth))
    scope = TenantScope(tenant)
    await service.ensure_round_threads(scope, round_)
    threads = {row.panel: row for row in await scope.objects(Thread)}
    await login(client, "ouder@alpha.example")
    return {
        "tenant": tenant, "scope": scope, "round": round_, "officer": officer, "mother": mother,
        "father": father, "sky": sky, "parents_thread": threads[parents.id],
        "youth_thread": threads[youth.id], "parents": parents, "youth": youth,
    }


async def as_person(client, email: str) -> Browser:
    browser = Browser(client)
    await login(browser, email)
    return browser


def thread_path(thread) -> str:
    return f"/t/alpha/threads/{thread.id}"


async def send(client, thread, body: str, *, headers: dict | None = None, **fields):
    data = {"body": body, "client_token": fields.pop("client_token", service.new_client_token()), **fields}
    return await post_form(client, f"{thread_path(thread)}/posts", data, follow_redirects=False,
                           headers=headers or {})


async def posts_in(scope, thread) -> list[Post]:
    return await scope.objects(Post).where(Post.thread == thread.id).order_by(Post.id)


async def test_a_member_posts_and_sees_the_message_under_their_pseudonym(client, world):
    response = await send(client, world["parents_thread"], "Wij wachten **al maanden** op hulp.")
    assert response.status_code == 303
    [post] = await posts_in(world["scope"], world["parents_thread"])
    assert response.headers["location"] == f"{thread_path(world['parents_thread'])}#post-{post.id}"
    page = await client.get(thread_path(world["parents_thread"]))
    assert page.status_code == 200
    assert "<strong>al maanden</strong>" in page.text
    assert "Moeder van twee" in page.text
    assert f'id="post-{post.id}"' in page.text
    assert 'id="posts"' in page.text and 'id="live-region"' in page.text


async def test_a_reply_is_shown_under_the_post_it_answers(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Eerste bericht")
    [first] = await posts_in(world["scope"], thread)
    father = await as_person(client, "vader@alpha.example")
    response = await send(father, thread, "Dat herken ik.", parent_id=str(first.id))
    assert response.status_code == 303
    reply = (await posts_in(world["scope"], thread))[-1]
    assert reply.parent == first.id and reply.depth == 1
    page = await client.get(thread_path(thread))
    replies = page.text.split(f'id="replies-{first.id}"', 1)[1]
    assert "Dat herken ik." in replies.split("</ol>", 1)[0]


async def test_empty_and_too_long_messages_are_refused_with_the_text_kept(client, world):
    thread = world["parents_thread"]
    empty = await send(client, thread, "   ")
    assert empty.status_code == 422
    assert "Schrijf" in empty.text or "Write your message" in empty.text
    long_text = "Heel lang verhaal. " * 600  # about 11,400 characters
    too_long = await send(client, thread, long_text)
    assert too_long.status_code == 422
    assert long_text.strip()[:200] in too_long.text
    assert 'aria-invalid="true"' in too_long.text
    assert await posts_in(world["scope"], thread) == []


async def test_a_refused_reply_keeps_its_text_in_the_open_reply_form(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Eerste")
    [first] = await posts_in(world["scope"], thread)
    response = await send(client, thread, "x" * 10_001, parent_id=str(first.id))
    assert response.status_code == 422
    block = response.text.split(f'id="reply-{first.id}"', 1)[1].split("</details>", 1)[0]
    assert block.lstrip().startswith("open") or " open" in block[:20]
    assert "x" * 200 in block


async def test_a_double_click_on_send_makes_one_post(client, world):
    thread = world["parents_thread"]
    token = service.new_client_token()
    first = await send(client, thread, "Eén keer", client_token=token)
    second = await send(client, thread, "Eén keer", client_token=token)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(await posts_in(world["scope"], thread)) == 1


async def test_each_reply_form_carries_its_own_token_and_a_double_click_on_it_makes_one_reply(client, world):
    thread = world["parents_thread"]
    for body in ("Eerste", "Tweede"):
        await send(client, thread, body)
    first, second = await posts_in(world["scope"], thread)
    page = (await client.get(thread_path(thread))).text
    tokens = {
        parent: re.search(rf'name="parent_id" value="{parent}">\s*<input type="hidden" name="client_token" '
                          r'value="([^"]+)"', page).group(1)
        for parent in (first.id, second.id)
    }
    assert len(set(tokens.values())) == 2 and all(service.clean_token(token) for token in tokens.values())
    for _ in range(2):
        response = await send(client, thread, "Mijn reactie", parent_id=str(first.id), client_token=tokens[first.id])
        assert response.status_code == 303
    assert [post.parent for post in await posts_in(world["scope"], thread)] == [None, None, first.id]


async def test_injected_html_and_scripts_do_not_run(client, world):
    thread = world["parents_thread"]
    await send(client, thread, '<script>alert(1)</script> <img src=x onerror=alert(2)> [klik](javascript:alert(3))')
    page = await client.get(thread_path(thread))
    assert "<script>alert(1)" not in page.text
    assert "<img" not in page.text.split('id="posts"', 1)[1]
    assert 'href="javascript:' not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_the_author_changes_a_message_and_moderators_see_the_history(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Eerste versie")
    [post] = await posts_in(world["scope"], thread)
    form = await client.get(f"/t/alpha/posts/{post.id}/edit")
    assert form.status_code == 200 and "Eerste versie" in form.text
    response = await post_form(client, f"/t/alpha/posts/{post.id}/edit", {"body": "Tweede versie"},
                               follow_redirects=False)
    assert response.status_code == 303
    page = await client.get(thread_path(thread))
    assert "Tweede versie" in page.text and "Eerste versie" not in page.text
    assert len(await world["scope"].objects(PostRevision)) == 1
    # Members do not see the history; the officer does.
    assert (await client.get(f"/t/alpha/posts/{post.id}/history")).status_code == 403
    officer = await as_person(client, "beleid@alpha.example")
    history = await officer.get(f"/t/alpha/posts/{post.id}/history")
    assert history.status_code == 200 and "Eerste versie" in history.text
    assert f"/t/alpha/posts/{post.id}/history" in (await officer.get(thread_path(thread))).text


async def test_someone_else_cannot_change_or_remove_a_message(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Van mij")
    [post] = await posts_in(world["scope"], thread)
    father = await as_person(client, "vader@alpha.example")
    assert (await father.get(f"/t/alpha/posts/{post.id}/edit")).status_code == 403
    response = await father.post(f"/t/alpha/posts/{post.id}/delete",
                                 data={"_csrf_token": await csrf_token(father)}, follow_redirects=False)
    assert response.status_code == 403
    assert (await world["scope"].get(Post, post.id)).deleted_at is None


async def test_a_removed_message_shows_removed_by_the_author_and_not_its_text(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Dit wil ik toch niet delen")
    [post] = await posts_in(world["scope"], thread)
    response = await post_form(client, f"/t/alpha/posts/{post.id}/delete", follow_redirects=False)
    assert response.status_code == 303
    for person in (client, await as_person(client, "beleid@alpha.example")):
        page = await person.get(thread_path(thread))
        assert "Dit wil ik toch niet delen" not in page.text
        assert "removed by the author" in page.text or "verwijderd door" in page.text.lower()


async def test_replying_to_a_removed_message_is_refused_and_the_text_kept(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Weg")
    [post] = await posts_in(world["scope"], thread)
    await post_form(client, f"/t/alpha/posts/{post.id}/delete")
    father = await as_person(client, "vader@alpha.example")
    response = await send(father, thread, "Mijn antwoord", parent_id=str(post.id))
    assert response.status_code == 409
    assert "Mijn antwoord" in response.text
    assert len(await posts_in(world["scope"], thread)) == 1


async def test_htmx_posting_returns_the_new_post_and_a_fresh_form(client, world):
    thread = world["parents_thread"]
    token = service.new_client_token()
    headers = {"HX-Request": "true"}
    response = await send(client, thread, "Via htmx", client_token=token, headers=headers)
    assert response.status_code == 200
    assert "<html" not in response.text
    [post] = await posts_in(world["scope"], thread)
    assert f'id="post-{post.id}"' in response.text and "Via htmx" in response.text
    assert 'id="new-post"' in response.text and 'hx-swap-oob="true"' in response.text
    fresh = re.search(r'name="client_token" value="([^"]+)"', response.text.split('id="new-post"', 1)[1])
    assert fresh and fresh.group(1) != token


async def test_htmx_reply_refused_returns_the_form_with_retarget_headers(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Begin")
    [post] = await posts_in(world["scope"], thread)
    response = await send(client, thread, "", parent_id=str(post.id), headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.headers["hx-retarget"] == f"#reply-{post.id}"
    assert response.headers["hx-reswap"] == "outerHTML"
    assert "<html" not in response.text and 'aria-invalid="true"' in response.text


async def test_sensitive_messages_are_folded_away(client, world):
    thread = world["parents_thread"]
    await send(client, thread, "Iets zwaars", sensitive="on")
    page = await client.get(thread_path(thread))
    body = page.text.split('class="portal-sensitive"', 1)[1]
    assert "<summary" in body.split("Iets zwaars", 1)[0]


async def test_who_can_read_a_panel_thread(client, world):
    thread = world["parents_thread"]
    path = thread_path(thread)
    assert (await client.get(path)).status_code == 200
    for email in ("sky@alpha.example", "derde@alpha.example", "raad@alpha.example"):
        other = await as_person(client, email)
        assert (await other.get(path)).status_code == 404, email
        assert (await send(other, thread, "Hallo")).status_code == 404, email
    for email in ("steun@alpha.example", "beleid@alpha.example"):
        person = await as_person(client, email)
        assert (await person.get(path)).status_code == 200, email


async def test_the_round_page_lists_the_conversations_with_unread_counts(client, world):
    father = await as_person(client, "vader@alpha.example")
    await send(father, world["parents_thread"], "Nieuw voor moeder")
    page = await client.get(f"/t/alpha/rounds/{world['round'].id}")
    assert page.status_code == 200
    assert thread_path(world["parents_thread"]) in page.text
    assert thread_path(world["youth_thread"]) not in page.text
    assert "portal-thread-list__unread" in page.text
    await client.get(thread_path(world["parents_thread"]))
    page = await client.get(f"/t/alpha/rounds/{world['round'].id}/threads")
    assert page.status_code == 200 and "portal-thread-list__unread" not in page.text
    council = await as_person(client, "raad@alpha.example")
    round_page = await council.get(f"/t/alpha/rounds/{world['round'].id}")
    assert round_page.status_code == 200 and "/threads/" not in round_page.text
    assert (await council.get(f"/t/alpha/rounds/{world['round'].id}/threads")).status_code == 404


async def test_an_officer_opens_the_joint_thread_once_and_members_open_topics(client, world):
    officer = await as_person(client, "beleid@alpha.example")
    round_id = world["round"].id
    first = await post_form(officer, f"/t/alpha/rounds/{round_id}/joint-thread", follow_redirects=False)
    second = await post_form(officer, f"/t/alpha/rounds/{round_id}/joint-thread", follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    # Members cannot open the joint thread.
    assert (await post_form(client, f"/t/alpha/rounds/{round_id}/joint-thread")).status_code == 403
    sky = await as_person(client, "sky@alpha.example")
    assert (await sky.get(first.headers["location"])).status_code == 200
    topic = await post_form(client, f"/t/alpha/rounds/{round_id}/threads",
                            {"title": "Wachtlijsten", "panel_id": str(world["parents"].id)}, follow_redirects=False)
    assert topic.status_code == 303
    assert (await sky.get(topic.headers["location"])).status_code == 404
    wrong = await post_form(client, f"/t/alpha/rounds/{round_id}/threads",
                            {"title": "Niet van mij", "panel_id": str(world["youth"].id)})
    assert wrong.status_code == 403
    empty = await post_form(client, f"/t/alpha/rounds/{round_id}/threads",
                            {"title": "", "panel_id": str(world["parents"].id)})
    assert empty.status_code == 422


async def test_a_change_after_the_edit_window_is_refused_and_the_text_kept(client, world):
    tenant = world["tenant"]
    tenant.settings = {"post_edit_minutes": 0}
    await tenant.save()
    thread = world["parents_thread"]
    await send(client, thread, "Origineel")
    [post] = await posts_in(world["scope"], thread)
    assert (await client.get(f"/t/alpha/posts/{post.id}/edit")).status_code == 409
    response = await post_form(client, f"/t/alpha/posts/{post.id}/edit", {"body": "Mijn nieuwe tekst"})
    assert response.status_code == 409
    assert "Mijn nieuwe tekst" in response.text and "readonly" in response.text
    assert (await world["scope"].get(Post, post.id)).body_markdown == "Origineel"


async def test_a_repeated_htmx_send_does_not_add_the_post_twice(client, world):
    thread = world["parents_thread"]
    token = service.new_client_token()
    headers = {"HX-Request": "true"}
    await send(client, thread, "Eén keer", client_token=token, headers=headers)
    again = await send(client, thread, "Eén keer", client_token=token, headers=headers)
    assert again.status_code == 200
    [post] = await posts_in(world["scope"], thread)
    assert f'id="post-{post.id}"' not in again.text  # already on the page
    assert 'id="new-post"' in again.text  # a fresh form
