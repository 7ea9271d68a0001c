"""Health check, error pages, platform and tenant administration pages, and real SMTP delivery."""

from __future__ import annotations

import dataclasses
import email
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient

from portal.accounts.tables import Membership
from portal.core.database import engine, is_sqlite
from portal.core.mail import Email, SmtpMailer
from portal.core.settings import SmtpSettings
from portal.core.tenancy import TenantScope
from portal.invitations.tables import Invitation
from tests.support import (
    everywhere,
    free_port,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)


def assert_friendly(response, status: int, title: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="nl"' in response.text
    assert nl(title) in response.text
    assert "Traceback" not in response.text


@pytest.fixture
async def alpha():
    return await make_tenant("alpha", name="Gemeente Alpha")


# --- health -----------------------------------------------------------------------------------


async def test_healthz_reports_ok(client, settings):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok" if settings.redis_url else "disabled",
    }


async def test_healthz_reports_an_unreachable_database(client, tmp_path, monkeypatch):
    database = engine()
    if is_sqlite(database):
        monkeypatch.setattr(database, "path", str(tmp_path / "missing-dir" / "portal.sqlite"))
    else:
        monkeypatch.setattr(
            database, "config", {"dsn": f"postgresql://nobody@127.0.0.1:{free_port()}/none"}
        )
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "unreachable"


# --- error pages ------------------------------------------------------------------------------


async def test_unknown_tenant_and_unknown_page_are_404(client):
    assert_friendly(await client.get("/t/nope/"), 404, "Page not found")
    assert_friendly(await client.get("/no-such-page"), 404, "Page not found")
    as_json = await client.get("/no-such-page", headers={"accept": "application/json"})
    assert as_json.status_code == 404 and as_json.json()["status"] == 404


async def test_unknown_page_is_in_the_chosen_language(client):
    client.cookies.set("portal_lang", "en", domain="testserver.local")
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert '<html lang="en"' in response.text
    assert "Page not found" in response.text


async def test_member_of_one_tenant_cannot_open_another(client, alpha):
    await make_tenant("beta")
    await make_user("anna@alpha.example", tenant=alpha, roles=("panel_member",))
    await login(client, "anna@alpha.example")
    assert (await client.get("/t/alpha/")).status_code == 200
    assert_friendly(await client.get("/t/beta/"), 403, "No access")


async def test_anonymous_visitor_is_sent_to_login(client, alpha):
    response = await client.get("/t/alpha/members", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=/t/alpha/members"


async def test_htmx_gets_an_error_fragment(client):
    fragment = await client.get("/t/nope/", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert nl("Page not found") in fragment.text
    assert "<html" not in fragment.text
    assert "<html" in (await client.get("/t/nope/")).text


async def test_crash_in_a_handler_shows_a_friendly_500(client, alpha, monkeypatch):
    async def broken(scope):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("portal.tenants.service.list_members", broken)
    await make_user("admin@alpha.example", tenant=alpha, roles=("tenant_admin",))
    await login(client, "admin@alpha.example")
    response = await client.get("/t/alpha/members")
    assert_friendly(response, 500, "Something went wrong")
    assert "secret internal detail" not in response.text
    assert "RuntimeError" not in response.text


# --- platform operator ------------------------------------------------------------------------


async def test_only_the_operator_sees_platform_pages(client, alpha):
    await make_user("anna@alpha.example", tenant=alpha, roles=("tenant_admin",))
    await login(client, "anna@alpha.example")
    assert_friendly(await client.get("/platform"), 403, "No access")
    assert (await client.get("/platform/outbox")).status_code == 403
    refused = await post_form(
        client, "/platform/admin-invitations", {"tenant": "alpha", "email": "x@x.example"}
    )
    assert refused.status_code == 403
    assert await everywhere(Invitation).count() == 0

    await make_user("op@platform.example", operator=True)
    await login(client, "op@platform.example")
    platform = await client.get("/platform")
    assert platform.status_code == 200
    assert "Gemeente Alpha" in platform.text
    assert (await client.get("/platform/outbox")).status_code == 200
    # Operators get no implicit access to tenant content.
    assert (await client.get("/t/alpha/")).status_code == 403


async def test_operator_invites_a_tenant_admin(client, alpha):
    await make_user("op@platform.example", operator=True)
    await login(client, "op@platform.example")
    data = {"tenant": "alpha", "email": "boss@alpha.example"}
    response = await post_form(client, "/platform/admin-invitations", data, follow_redirects=False)
    assert response.status_code == 303
    messages = await outbox("boss@alpha.example")
    assert len(messages) == 1
    assert link_in(messages[0].body).startswith("/t/alpha/invitations/accept/")
    invitation = await TenantScope(alpha).objects(Invitation).first()
    assert invitation.role == "tenant_admin"
    assert messages[0].subject in (await client.get("/platform/outbox")).text


async def test_operator_invitation_with_bad_email_is_refused(client, alpha):
    await make_user("op@platform.example", operator=True)
    await login(client, "op@platform.example")
    response = await post_form(
        client, "/platform/admin-invitations", {"tenant": "alpha", "email": "boss-at-alpha"}
    )
    assert response.status_code == 422
    assert nl("Enter an email address like name@example.nl.") in response.text
    assert 'value="boss-at-alpha"' in response.text
    unknown_tenant = await post_form(
        client, "/platform/admin-invitations", {"tenant": "nope", "email": "a@b.example"}
    )
    assert unknown_tenant.status_code == 422
    assert 'href="#field-tenant"' in unknown_tenant.text
    assert await everywhere(Invitation).count() == 0
    assert await outbox() == []


# --- tenant administration --------------------------------------------------------------------


async def test_tenant_admin_manages_members(client, alpha):
    admin = await make_user(
        "admin@alpha.example", tenant=alpha, roles=("tenant_admin",), name="Ada"
    )
    await make_user(
        "piet@alpha.example", tenant=alpha, roles=("panel_member",), display_name="Piet P."
    )
    await login(client, admin.email)
    members = await client.get("/t/alpha/members")
    assert members.status_code == 200
    assert "Piet P." in members.text and "piet@alpha.example" in members.text
    space = await client.get("/t/alpha/space")
    assert space.status_code == 200
    assert nl("Space settings") in space.text

    scope = TenantScope(alpha)
    piet = await scope.objects(Membership).get(Membership.role == "panel_member")
    response = await post_form(client, f"/t/alpha/members/{piet.id}/remove", follow_redirects=False)
    assert response.status_code == 303
    after = await client.get("/t/alpha/members")
    assert nl("The role has been removed.") in after.text
    assert "Piet P." not in after.text
    assert await scope.get_or_none(Membership, piet.id) is None

    own = await scope.objects(Membership).get(Membership.user == admin.id)
    refused = await post_form(client, f"/t/alpha/members/{own.id}/remove")
    assert refused.status_code == 200
    last_admin = (
        "This is the last tenant administrator. Invite another one before removing this role."
    )
    assert nl(last_admin) in refused.text
    assert await scope.get_or_none(Membership, own.id) is not None


async def test_policy_officer_cannot_remove_roles_or_see_space(client, alpha):
    await make_user("admin@alpha.example", tenant=alpha, roles=("tenant_admin",))
    await make_user("officer@alpha.example", tenant=alpha, roles=("policy_officer",))
    await login(client, "officer@alpha.example")
    assert (await client.get("/t/alpha/members")).status_code == 200
    assert (await client.get("/t/alpha/space")).status_code == 403
    admin_role = await TenantScope(alpha).objects(Membership).get(Membership.role == "tenant_admin")
    response = await post_form(client, f"/t/alpha/members/{admin_role.id}/remove")
    assert response.status_code == 403
    assert await TenantScope(alpha).count(Membership) == 2


# --- SMTP -------------------------------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, collector
    controller.stop()


async def test_smtp_mailer_delivers_to_a_real_server(smtp_server):
    controller, collector = smtp_server
    mailer = SmtpMailer(
        SmtpSettings(host="127.0.0.1", port=controller.port, sender="portal@test.example")
    )
    await mailer.send(
        Email(
            recipient="zoe@x.example",
            subject="Uitnodiging voor Gemeente Ödeldorp",
            body="Hallo Zoë,\nhttp://x/link\n",
        )
    )

    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.mail_from == "portal@test.example"
    assert envelope.rcpt_tos == ["zoe@x.example"]
    message = email.message_from_bytes(envelope.content, policy=default_policy)
    assert message["Subject"] == "Uitnodiging voor Gemeente Ödeldorp"
    assert message["To"] == "zoe@x.example"
    assert "Hallo Zoë," in message.get_content()


async def test_password_reset_mail_goes_out_by_smtp(settings, smtp_server):
    from portal.app import create_app

    controller, collector = smtp_server
    smtp = SmtpSettings(host="127.0.0.1", port=controller.port, sender="portal@test.example")
    app = create_app(dataclasses.replace(settings, smtp=smtp))
    await make_user("anna@x.example")
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        assert (
            await post_form(client, "/password/forgot", {"email": "anna@x.example"})
        ).status_code == 200
    assert await outbox() == []
    assert [envelope.rcpt_tos for envelope in collector.envelopes] == [["anna@x.example"]]
    body = email.message_from_bytes(
        collector.envelopes[0].content, policy=default_policy
    ).get_content()
    assert "http://testserver.local/password/reset/" in body
