"""Moderation: reports (and hiding pending review), hiding and unhiding, the queue, the audit log."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape

from portal.core.audit import AuditEntry
from portal.core.context import RequestContext
from portal.core.i18n import current_locale, translations_for
from portal.core.tenancy import TenantScope
from portal.deliberation import moderation
from portal.deliberation.access import thread_access
from portal.deliberation.tables import Post, PostReport
from portal.tenants.tables import Tenant
from tests.support import (
    Browser,
    build_moderation_world,
    build_post_row,
    everywhere,
    login,
    make_tenant,
    make_user,
    post_form,
)


@pytest.fixture(autouse=True)
def english_messages():
    """These tests read the services' messages in the English of the source."""
    token = current_locale.set("en")
    yield
    current_locale.reset(token)



def nl(message: str, **variables) -> str:
    text = translations_for("nl").gettext(message)
    return str(escape(text % variables if variables else text))


async def as_person(client, email: str) -> Browser:
    browser = Browser(client)
    await login(browser, email)
    return browser


async def reload(post) -> Post:
    return await everywhere(Post).objects().where(Post.id == post.id).first()


async def audit_rows(action: str, object_id: int | None = None) -> list[AuditEntry]:
    query = AuditEntry.objects().where(AuditEntry.action == action).order_by(AuditEntry.id)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    return await query


async def access_of(world, user, roles=("panel_member",)):
    scope = TenantScope(world["tenant"])
    ctx = RequestContext(user=user, tenant=world["tenant"], roles=set(roles))
    return await thread_access(scope, ctx, world["thread"])


@pytest.fixture
async def world(client):
    tenant = await make_tenant("alpha")
    world = await build_moderation_world(tenant)
    world["tenant"] = tenant
    return world


def report_url(post) -> str:
    return f"/t/alpha/posts/{post.id}/report"


# --- reports ------------------------------------------------------------------------------------


async def test_reports_up_to_the_threshold_hide_the_post_pending_review(client, world):
    post, members = world["post"], world["members"]
    for number, member in enumerate(members[1:3], start=1):
        browser = await as_person(client, member.email)
        response = await post_form(browser, report_url(post), {"reason": f"Reden {number}"},
                                   follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/t/alpha/threads/{world['thread'].id}#post-{post.id}"
        assert (await reload(post)).hidden_at is None
    browser = await as_person(client, members[3].email)
    response = await post_form(browser, report_url(post), {"reason": "Dit is kwetsend"},
                               follow_redirects=False)
    assert response.status_code == 303
    hidden = await reload(post)
    assert hidden.hidden_at is not None and hidden.pending_review
    assert hidden.hidden_by is None
    reported = await audit_rows("post.reported", post.id)
    assert len(reported) == 3
    assert [row.actor for row in reported] == [member.id for member in members[1:4]]
    # The summary holds the reason and the count, not who reported.
    summary = json.loads(reported[-1].after)
    assert summary["reason"] == "Dit is kwetsend" and summary["open_reports"] == 3
    assert "reporter" not in reported[-1].after and "reporter_id" not in reported[-1].after
    pending = await audit_rows("post.hidden_pending_review", post.id)
    assert len(pending) == 1
    assert json.loads(pending[0].before)["hidden"] is False
    assert json.loads(pending[0].after)["pending_review"] is True


async def test_the_threshold_is_a_tenant_setting(world):
    tenant = world["tenant"]
    await Tenant.update({Tenant.settings: {"report_hide_threshold": 1}}).where(Tenant.id == tenant.id)
    tenant = await Tenant.objects().where(Tenant.id == tenant.id).first()
    world["tenant"] = tenant
    reporter = world["members"][1]
    hidden = await moderation.report_post(
        TenantScope(tenant), world["post"], await access_of(world, reporter), reporter.id, "Te persoonlijk"
    )
    assert hidden
    assert (await reload(world["post"])).pending_review


async def test_a_second_report_by_the_same_person_is_refused_with_409(client, world):
    browser = await as_person(client, world["members"][1].email)
    first = await post_form(browser, report_url(world["post"]), {"reason": "Niet vriendelijk"},
                            follow_redirects=False)
    assert first.status_code == 303
    second = await post_form(browser, report_url(world["post"]), {"reason": "Nog een keer"})
    assert second.status_code == 409
    assert nl("You already reported this post.") in second.text
    assert await everywhere(PostReport).count() == 1


async def test_two_reports_at_the_same_moment_make_one_and_never_a_server_error(world, monkeypatch):
    """The unique index refuses the second report when the check before it did not see the first."""
    reporter = world["members"][1]
    scope = TenantScope(world["tenant"])
    access = await access_of(world, reporter)
    await moderation.report_post(scope, world["post"], access, reporter.id, "Eerste")

    async def not_yet(*_args):
        return False

    monkeypatch.setattr(moderation, "has_reported", not_yet)
    with pytest.raises(moderation.ModerationError) as refused:
        await moderation.report_post(scope, world["post"], access, reporter.id, "Tweede")
    assert refused.value.status_code == 409
    assert str(refused.value) == "You already reported this post."
    assert await everywhere(PostReport).count() == 1
    assert len(await audit_rows("post.reported")) == 1


async def test_a_report_needs_a_reason_of_at_most_500_characters(client, world):
    browser = await as_person(client, world["members"][1].email)
    empty = await post_form(browser, report_url(world["post"]), {"reason": "   "})
    assert empty.status_code == 422
    assert 'id="field-reason"' in empty.text and "error-summary" in empty.text
    long_reason = "x" * 501
    too_long = await post_form(browser, report_url(world["post"]), {"reason": long_reason})
    assert too_long.status_code == 422
    assert long_reason in too_long.text  # the text is kept
    assert await everywhere(PostReport).count() == 0


async def test_nobody_reports_their_own_post(client, world):
    browser = await as_person(client, world["members"][0].email)
    response = await post_form(browser, report_url(world["post"]), {"reason": "Oeps"})
    assert response.status_code == 403
    assert nl("You cannot report your own post.") in response.text
    assert await everywhere(PostReport).count() == 0


async def test_people_who_cannot_read_the_thread_cannot_report(client, world):
    for email in ("sky@alpha.example", "raad@alpha.example"):
        browser = await as_person(client, email)
        response = await post_form(browser, report_url(world["post"]), {"reason": "Hm"})
        assert response.status_code == 404, email
    assert await everywhere(PostReport).count() == 0


async def test_a_removed_post_cannot_be_reported(client, world):
    from datetime import UTC, datetime

    removed = await build_post_row(world["tenant"], world["thread"], world["members"][0], "Weg",
                                   deleted_at=datetime.now(UTC))
    browser = await as_person(client, world["members"][1].email)
    response = await post_form(browser, report_url(removed), {"reason": "Hm"})
    assert response.status_code == 409
    assert await everywhere(PostReport).count() == 0


# --- hiding and unhiding --------------------------------------------------------------------------


async def test_a_support_contact_hides_a_post_with_a_reason(client, world):
    post = world["post"]
    browser = await as_person(client, "steun@alpha.example")
    response = await post_form(browser, f"/t/alpha/posts/{post.id}/hide",
                               {"reason": "Er staat een naam van een hulpverlener in."},
                               follow_redirects=False)
    assert response.status_code == 303
    hidden = await reload(post)
    assert hidden.hidden_at is not None and not hidden.pending_review
    assert hidden.hidden_reason == "Er staat een naam van een hulpverlener in."
    assert hidden.hidden_by == world["supporter"].id
    [row] = await audit_rows("post.hidden", post.id)
    assert row.actor == world["supporter"].id
    assert json.loads(row.before)["hidden"] is False
    assert json.loads(row.after) == {
        "hidden": True, "pending_review": False, "hidden_by": world["supporter"].id,
        "hidden_reason": "Er staat een naam van een hulpverlener in.", "reports_resolved": 0,
    }


async def test_the_author_sees_the_reason_and_others_see_hidden_by_a_moderator(client, world):
    """The thread page (part A) shows the hidden post: its reason to the author only."""
    post = world["post"]
    scope = TenantScope(world["tenant"])
    access = await access_of(world, world["supporter"], ("support_contact",))
    await moderation.hide_post(scope, post, access, world["supporter"].id, "Naam van een hulpverlener")
    thread_page = f"/t/alpha/threads/{world['thread'].id}"
    author = await as_person(client, world["members"][0].email)
    own = await author.get(thread_page)
    assert own.status_code == 200
    assert "Naam van een hulpverlener" in own.text
    other = await as_person(client, world["members"][1].email)
    page = await other.get(thread_page)
    assert page.status_code == 200
    assert "Naam van een hulpverlener" not in page.text
    assert "Mijn ervaring met de wachtlijst" not in page.text
    assert nl("This message was hidden by a moderator.") in page.text
    assert "/hide" not in page.text and "/unhide" not in page.text  # no moderator controls


async def test_hiding_needs_a_reason(client, world):
    browser = await as_person(client, "beleid@alpha.example")
    response = await post_form(browser, f"/t/alpha/posts/{world['post'].id}/hide", {"reason": ""})
    assert response.status_code == 422
    assert (await reload(world["post"])).hidden_at is None
    assert await audit_rows("post.hidden") == []


async def test_members_cannot_hide_and_outsiders_do_not_see_the_post(client, world):
    url = f"/t/alpha/posts/{world['post'].id}/hide"
    member = await as_person(client, world["members"][1].email)
    assert (await post_form(member, url, {"reason": "Weg ermee"})).status_code == 403
    outsider = await as_person(client, "sky@alpha.example")
    assert (await post_form(outsider, url, {"reason": "Weg ermee"})).status_code == 404
    council = await as_person(client, "raad@alpha.example")
    assert (await post_form(council, url, {"reason": "Weg ermee"})).status_code == 404
    assert (await post_form(member, f"/t/alpha/posts/{world['post'].id}/unhide")).status_code == 403
    assert (await reload(world["post"])).hidden_at is None


async def test_a_support_contact_of_another_panel_cannot_moderate(client, world):
    tenant = world["tenant"]
    other_supporter = await make_user("steun2@alpha.example", tenant=tenant, roles=("support_contact",))
    from tests.support import build_panel_member

    await build_panel_member(tenant, world["youth"], "sky2@alpha.example", support_contact=other_supporter)
    browser = await as_person(client, other_supporter.email)
    response = await post_form(browser, f"/t/alpha/posts/{world['post'].id}/hide", {"reason": "Nee"})
    assert response.status_code == 404


async def test_unhiding_resolves_the_pending_review_and_the_open_reports(client, world):
    post = world["post"]
    scope = TenantScope(world["tenant"])
    for member in world["members"][1:4]:
        await moderation.report_post(scope, post, await access_of(world, member), member.id, "Kwetsend")
        post = await reload(post)
    assert post.pending_review
    browser = await as_person(client, "beleid@alpha.example")
    response = await post_form(browser, f"/t/alpha/posts/{post.id}/unhide", follow_redirects=False)
    assert response.status_code == 303
    shown = await reload(post)
    assert shown.hidden_at is None and not shown.pending_review and shown.hidden_reason == ""
    assert await everywhere(PostReport).count().where(PostReport.resolved_at.is_null()) == 0
    [row] = await audit_rows("post.unhidden", post.id)
    assert row.actor == world["officer"].id
    assert json.loads(row.before)["pending_review"] is True
    assert json.loads(row.after)["reports_resolved"] == 3
    # Unhiding a visible post changes nothing.
    again = await post_form(browser, f"/t/alpha/posts/{post.id}/unhide", follow_redirects=False)
    assert again.status_code == 303
    assert len(await audit_rows("post.unhidden")) == 1


async def test_a_moderator_confirms_a_post_hidden_pending_review(world):
    post = world["post"]
    scope = TenantScope(world["tenant"])
    for member in world["members"][1:4]:
        await moderation.report_post(scope, post, await access_of(world, member), member.id, "Kwetsend")
    post = await reload(post)
    access = await access_of(world, world["officer"], ("policy_officer",))
    await moderation.hide_post(scope, post, access, world["officer"].id, "Niet respectvol")
    hidden = await reload(post)
    assert hidden.hidden_at is not None and not hidden.pending_review
    assert hidden.hidden_reason == "Niet respectvol"
    assert await everywhere(PostReport).count().where(PostReport.resolved_at.is_null()) == 0
    with pytest.raises(moderation.ModerationError):
        await moderation.hide_post(scope, hidden, access, world["officer"].id, "Nog eens")


async def test_settling_reports_keeps_the_post_visible(client, world):
    scope = TenantScope(world["tenant"])
    member = world["members"][1]
    await moderation.report_post(scope, world["post"], await access_of(world, member), member.id, "Hm")
    browser = await as_person(client, "steun@alpha.example")
    response = await post_form(browser, f"/t/alpha/posts/{world['post'].id}/dismiss-reports",
                               follow_redirects=False)
    assert response.status_code == 303
    assert await everywhere(PostReport).count().where(PostReport.resolved_at.is_null()) == 0
    assert (await reload(world["post"])).hidden_at is None
    assert len(await audit_rows("post.reports_dismissed", world["post"].id)) == 1


# --- the moderation queue --------------------------------------------------------------------------


async def test_the_queue_lists_reported_and_hidden_posts_with_the_reasons(client, world):
    scope = TenantScope(world["tenant"])
    member = world["members"][1]
    await moderation.report_post(scope, world["post"], await access_of(world, member), member.id,
                                 "Er staat een adres in")
    other = await build_post_row(world["tenant"], world["thread"], world["members"][2], "Tweede bericht")
    officer_access = await access_of(world, world["officer"], ("policy_officer",))
    await moderation.hide_post(scope, other, officer_access, world["officer"].id, "Te persoonlijk")
    await build_post_row(world["tenant"], world["thread"], world["members"][3], "Gewoon een bericht")
    url = f"/t/alpha/rounds/{world['round'].id}/moderation"
    for email in ("steun@alpha.example", "beleid@alpha.example"):
        browser = await as_person(client, email)
        response = await browser.get(url)
        assert response.status_code == 200, email
        assert "Er staat een adres in" in response.text
        assert "Mijn ervaring met de wachtlijst" in response.text
        assert "Tweede bericht" in response.text and "Te persoonlijk" in response.text
        assert "Gewoon een bericht" not in response.text
        assert "ouder2@alpha.example" not in response.text  # reporters stay unnamed
    member_browser = await as_person(client, world["members"][1].email)
    assert (await member_browser.get(url)).status_code == 403
    council = await as_person(client, "raad@alpha.example")
    assert (await council.get(url)).status_code == 403


async def test_the_queue_is_empty_for_a_calm_round(client, world):
    browser = await as_person(client, "beleid@alpha.example")
    response = await browser.get(f"/t/alpha/rounds/{world['round'].id}/moderation")
    assert response.status_code == 200
    assert nl("There is nothing to look at. No posts are reported or hidden.") in response.text


# --- the controls under a post and the form pages ---------------------------------------------------


async def test_members_get_a_report_link_and_moderators_a_hide_link(client, world):
    post_id = world["post"].id
    thread_page = f"/t/alpha/threads/{world['thread'].id}"
    member = await as_person(client, world["members"][1].email)
    page = await member.get(thread_page)
    assert f"/posts/{post_id}/report" in page.text and f"/posts/{post_id}/hide" not in page.text
    author = await as_person(client, world["members"][0].email)
    own = await author.get(thread_page)
    assert f"/posts/{post_id}/report" not in own.text  # not on your own post
    supporter = await as_person(client, "steun@alpha.example")
    moderated = await supporter.get(thread_page)
    assert f"/posts/{post_id}/hide" in moderated.text


async def test_the_report_page_shows_the_message_and_the_form(client, world):
    member = await as_person(client, world["members"][1].email)
    page = await member.get(report_url(world["post"]))
    assert page.status_code == 200
    assert "Mijn ervaring met de wachtlijst." in page.text and "Ouder 1" in page.text
    assert 'name="reason"' in page.text
    author = await as_person(client, world["members"][0].email)
    assert (await author.get(report_url(world["post"]))).status_code == 403
    outsider = await as_person(client, "sky@alpha.example")
    assert (await outsider.get(report_url(world["post"]))).status_code == 404
    await post_form(member, report_url(world["post"]), {"reason": "Hm"})
    again = await member.get(report_url(world["post"]))
    assert again.status_code == 409
    assert nl("You already reported this post.") in again.text
    assert 'name="reason"' not in again.text


async def test_the_hide_page_is_for_moderators(client, world):
    url = f"/t/alpha/posts/{world['post'].id}/hide"
    member = await as_person(client, world["members"][1].email)
    assert (await member.get(url)).status_code == 403
    officer = await as_person(client, "beleid@alpha.example")
    page = await officer.get(url)
    assert page.status_code == 200 and 'name="reason"' in page.text


async def test_reporters_do_not_see_the_text_of_a_hidden_message(client, world):
    scope = TenantScope(world["tenant"])
    access = await access_of(world, world["officer"], ("policy_officer",))
    await moderation.hide_post(scope, world["post"], access, world["officer"].id, "Privé")
    member = await as_person(client, world["members"][1].email)
    page = await member.get(report_url(world["post"]))
    assert page.status_code == 409
    assert "Mijn ervaring met de wachtlijst." not in page.text
