"""Email about new posts: immediately, a daily digest, or off; the digest command."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from markupsafe import escape

from portal.core.audit import AuditEntry
from portal.core.i18n import translations_for
from portal.core.mail import OutboxMessage
from portal.core.tenancy import TenantScope
from portal.deliberation import notifications
from portal.deliberation.tables import DigestItem, NotificationSetting
from tests.support import (
    Browser,
    build_moderation_world,
    build_post_row,
    build_thread_row,
    everywhere,
    login,
    make_tenant,
    outbox,
    post_form,
    run_sync,
)


def nl(message: str, **variables) -> str:
    text = translations_for("nl").gettext(message)
    return str(escape(text % variables if variables else text))


async def choose(world, user, mode: str) -> None:
    await TenantScope(world["tenant"]).new(NotificationSetting, user=user.id, mode=mode).save()


async def new_post(world, author, body="Een nieuw bericht over de wachtlijst.", thread=None):
    post = await build_post_row(world["tenant"], thread or world["thread"], author, body)
    result = await notifications.post_created(TenantScope(world["tenant"]), post.id)
    return post, result


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    world = await build_moderation_world(tenant)
    world["tenant"] = tenant
    return world


async def test_immediately_emails_the_other_readers_but_not_the_author(world):
    author, reader = world["members"][0], world["members"][1]
    await choose(world, author, "immediate")
    await choose(world, reader, "immediate")
    post, result = await new_post(world, author, "Geheim: mijn zoon heeft een diagnose.")
    assert result["emailed"] == 1
    assert await outbox(author.email) == []
    [email] = await outbox(reader.email)
    assert "Ouderpanel: wat moet beter?" in email.subject
    assert "Ouder 1" in email.body  # the author's display name
    assert f"http://testserver.local/t/alpha/threads/{world['thread'].id}#post-{post.id}" in email.body
    assert "diagnose" not in email.body and "Geheim" not in email.body  # never the post itself
    assert "ouder1@alpha.example" not in email.body


async def test_the_default_is_a_digest_for_panel_members_and_support_contacts(world):
    post, result = await new_post(world, world["members"][0])
    items = await everywhere(DigestItem).objects().where(DigestItem.post == post.id)
    expected = {member.id for member in world["members"][1:]} | {world["supporter"].id}
    assert {item.user for item in items} == expected
    assert result == {"emailed": 0, "digest": len(expected)}
    assert await OutboxMessage.count() == 0


async def test_off_sends_nothing_and_outsiders_hear_nothing(world):
    for member in world["members"][1:]:
        await choose(world, member, "off")
    await choose(world, world["supporter"], "off")
    await choose(world, world["youth_member"], "immediate")  # another panel's member
    await choose(world, world["council"], "immediate")  # council members cannot read threads
    _post, result = await new_post(world, world["members"][0])
    assert result == {"emailed": 0, "digest": 0}
    assert await everywhere(DigestItem).count() == 0
    assert await OutboxMessage.count() == 0


async def test_officers_hear_nothing_unless_they_choose_to(world):
    await new_post(world, world["members"][0])
    assert await everywhere(DigestItem).count().where(DigestItem.user == world["officer"].id) == 0
    await choose(world, world["officer"], "immediate")
    await new_post(world, world["members"][0])
    assert len(await outbox("beleid@alpha.example")) == 1


async def test_the_joint_thread_reaches_every_invited_panel(world):
    joint = await build_thread_row(world["tenant"], world["round"], None, title="Samen")
    post, _result = await new_post(world, world["members"][0], thread=joint)
    users = {item.user for item in await everywhere(DigestItem).objects().where(DigestItem.post == post.id)}
    assert world["youth_member"].id in users and world["members"][1].id in users


async def test_a_paused_member_hears_nothing(world):
    from portal.panels.tables import PanelMembership

    paused = world["members"][3]
    await everywhere(PanelMembership).update({PanelMembership.status: "paused"}).where(PanelMembership.user == paused.id)
    await new_post(world, world["members"][0])
    assert await everywhere(DigestItem).count().where(DigestItem.user == paused.id) == 0


# --- the digest -------------------------------------------------------------------------------------


async def test_the_digest_sends_one_email_per_person_and_is_idempotent(world):
    for member in world["members"][2:]:
        await choose(world, member, "off")
    await choose(world, world["supporter"], "off")
    reader = world["members"][1]
    second_thread = await build_thread_row(world["tenant"], world["round"], world["parents"],
                                           title="Subonderwerp: vervoer", is_main=False)
    await new_post(world, world["members"][0], "Eerste")
    await new_post(world, world["members"][2], "Tweede")
    await new_post(world, world["members"][3], "Derde", thread=second_thread)
    assert await everywhere(DigestItem).count().where(DigestItem.user == reader.id) == 3

    report = await notifications.send_digests()
    # The reader, and the first author, who hears of the two posts after theirs.
    assert report["alpha"] == {"emails": 2, "items": 5}
    assert len(await outbox(world["members"][0].email)) == 1
    [email] = await outbox(reader.email)
    assert "3" in email.subject
    assert "Ouderpanel: wat moet beter?" in email.body and "Subonderwerp: vervoer" in email.body
    assert f"/t/alpha/threads/{world['thread'].id}" in email.body
    assert f"/t/alpha/threads/{second_thread.id}" in email.body
    assert "Eerste" not in email.body and "Derde" not in email.body
    assert await everywhere(DigestItem).count().where(DigestItem.sent_at.is_null()) == 0

    again = await notifications.send_digests()
    assert again["alpha"] == {"emails": 0, "items": 0}
    assert len(await outbox(reader.email)) == 1
    assert await OutboxMessage.count() == 2
    [row] = await AuditEntry.objects().where(AuditEntry.action == "notification.digests_sent")
    assert json.loads(row.after) == {"emails": 2, "items": 5}


async def test_the_digest_skips_posts_hidden_since_and_people_who_left(world):
    from datetime import UTC, datetime

    from portal.deliberation.tables import Post
    from portal.panels.tables import PanelMembership

    post, _ = await new_post(world, world["members"][0])
    await everywhere(Post).update({Post.hidden_at: datetime.now(UTC)}).where(Post.id == post.id)
    await new_post(world, world["members"][0], "Nog een")
    leaver = world["members"][3]
    await everywhere(PanelMembership).update({PanelMembership.status: "withdrawn"}).where(
        PanelMembership.user == leaver.id
    )
    await notifications.send_digests()
    [email] = await outbox(world["members"][1].email)
    assert "1" in email.subject
    assert await outbox(leaver.email) == []
    assert await everywhere(DigestItem).count().where(DigestItem.sent_at.is_null()) == 0


async def test_a_failed_email_keeps_the_items_for_the_next_run(world):
    class Broken:
        base_url = "http://testserver.local"

        async def send(self, *args, **kwargs):
            raise OSError("mail server down")

    await new_post(world, world["members"][0])
    report = await notifications.send_digests(Broken())
    assert report["alpha"]["emails"] == 0
    assert await everywhere(DigestItem).count().where(DigestItem.sent_at.is_null()) > 0
    report = await notifications.send_digests()
    assert report["alpha"]["emails"] > 0
    assert await everywhere(DigestItem).count().where(DigestItem.sent_at.is_null()) == 0


def test_the_send_digests_command_is_idempotent():
    async def setup():
        tenant = await make_tenant("alpha")
        world = await build_moderation_world(tenant)
        world["tenant"] = tenant
        await new_post(world, world["members"][0])
        return world

    world = run_sync(setup())
    from portal.cli import main

    runner = CliRunner()
    first = runner.invoke(main, ["send-digests"])
    assert first.exit_code == 0, first.output
    assert "alpha: 4 digest emails, 4 new posts" in first.output  # three members and the supporter
    second = runner.invoke(main, ["send-digests"])
    assert second.exit_code == 0, second.output
    assert "alpha: 0 digest emails" in second.output
    assert len(run_sync(outbox(world["members"][1].email))) == 1


# --- the settings page ------------------------------------------------------------------------------


async def test_a_member_chooses_how_to_hear_about_new_posts(client, world):
    member = world["members"][1]
    browser = Browser(client)
    await login(browser, member.email)
    page = await browser.get("/t/alpha/notifications")
    assert page.status_code == 200
    assert 'value="digest" checked' in page.text
    bad = await post_form(browser, "/t/alpha/notifications", {"mode": "always"})
    assert bad.status_code == 422
    assert "error-summary" in bad.text
    assert await everywhere(NotificationSetting).count() == 0
    saved = await post_form(browser, "/t/alpha/notifications", {"mode": "immediate"})
    assert saved.status_code == 200
    assert nl("Your choice is saved.") in saved.text
    assert 'value="immediate" checked' in saved.text
    [setting] = await everywhere(NotificationSetting).objects()
    assert (setting.user, setting.mode) == (member.id, "immediate")
    [row] = await AuditEntry.objects().where(AuditEntry.action == "notification_setting.changed")
    assert json.loads(row.before) == {"mode": "digest"} and json.loads(row.after) == {"mode": "immediate"}
    await post_form(browser, "/t/alpha/notifications", {"mode": "off"})
    assert (await everywhere(NotificationSetting).objects().first()).mode == "off"
    assert await everywhere(NotificationSetting).count() == 1


async def test_an_officer_starts_with_off(client, world):
    browser = Browser(client)
    await login(browser, "beleid@alpha.example")
    page = await browser.get("/t/alpha/notifications")
    assert 'value="off" checked' in page.text


async def test_the_settings_page_needs_a_role_here(client, world):
    anonymous = await client.get("/t/alpha/notifications", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
