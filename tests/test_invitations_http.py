"""Inviting people into a tenant space and accepting the invitation, through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.tables import Membership, User
from portal.core.audit import AuditEntry
from portal.core.security import hash_token
from portal.core.tenancy import TenantScope
from portal.invitations.tables import Invitation
from tests.support import (
    PASSWORD,
    Browser,
    everywhere,
    link_in,
    login,
    make_tenant,
    make_user,
    nl,
    outbox,
    post_form,
)

NEW = "new@x.example"
GOOD_PASSWORD = "a-long-enough-password"
GONE = (404, 409, 410)  # a link that no longer works: not found, conflict or gone


@pytest.fixture
async def tenant():
    return await make_tenant("alpha", name="Gemeente Alpha")


@pytest.fixture
async def admin(client, tenant):
    """The test client, logged in as the tenant administrator of alpha."""
    user = await make_user(
        "admin@alpha.example", tenant=tenant, roles=("tenant_admin",), name="Ada"
    )
    await login(client, user.email)
    return user


@pytest.fixture
def visitor(client):
    """A second browser, not logged in."""
    return Browser(client)


async def invite(client, email: str = NEW, role: str = "panel_member"):
    return await post_form(
        client, "/t/alpha/invitations", {"email": email, "role": role}, follow_redirects=False
    )


async def invitation_link(client, email: str = NEW, role: str = "panel_member") -> str:
    assert (await invite(client, email, role)).status_code == 303
    messages = await outbox(email)
    assert len(messages) == 1
    return link_in(messages[0].body)


async def accept_as_new_person(client, link: str, **overrides):
    data = {
        "display_name": "Zonnebloem",
        "name": "Zoë de Vries",
        "password": GOOD_PASSWORD,
        "password_confirmation": GOOD_PASSWORD,
        **overrides,
    }
    return await post_form(client, link, data, follow_redirects=False)


# --- inviting and accepting -------------------------------------------------------------------


async def test_invite_new_person_who_accepts_with_a_pseudonym(client, admin, visitor):
    response = await invite(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/t/alpha/invitations"
    listing = await client.get("/t/alpha/invitations")
    assert nl("The invitation has been sent to %(email)s.", email=NEW) in listing.text

    link = link_in((await outbox(NEW))[0].body)
    token = link.removeprefix("/t/alpha/invitations/accept/")
    assert token and token != link
    row = await everywhere(Invitation).objects().first()
    assert row.token_hash == hash_token(token)
    assert token not in str(row.to_dict())

    form = await visitor.get(link)
    assert form.status_code == 200
    assert 'name="display_name"' in form.text and 'name="password"' in form.text

    accepted = await accept_as_new_person(visitor, link)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/t/alpha/"
    home = await visitor.get("/t/alpha/")
    assert home.status_code == 200
    assert nl("Welcome, %(name)s", name="Zonnebloem") in home.text
    assert "Zoë de Vries" not in home.text

    again = await visitor.get(link)
    assert again.status_code in GONE
    assert nl("This invitation has already been used. You can log in.") in again.text
    second_try = await accept_as_new_person(Browser(client), link, display_name="Tweede")
    assert second_try.status_code in GONE
    user = await User.objects().get(User.email == NEW)
    assert await everywhere(Membership).count().where(Membership.user == user.id) == 1


async def test_existing_user_logs_in_first_and_keeps_one_account(client, admin, tenant, visitor):
    other_tenant = await make_tenant("beta")
    bert = await make_user(
        "bert@x.example", tenant=other_tenant, roles=("panel_member",), name="Bert"
    )
    users_before = await User.count()
    link = await invitation_link(client, "bert@x.example")

    first_visit = await visitor.get(link)
    assert first_visit.status_code == 200
    assert f'href="/login?next={link}"' in first_visit.text
    assert 'name="password"' not in first_visit.text

    logged_in = await post_form(
        visitor,
        "/login",
        {"email": bert.email, "password": PASSWORD, "next": link},
        follow_redirects=False,
    )
    assert logged_in.headers["location"] == link
    form = await visitor.get(link)
    assert 'name="display_name"' in form.text and 'name="password"' not in form.text

    accepted = await post_form(visitor, link, {"display_name": "Bert B."}, follow_redirects=False)
    assert accepted.status_code == 303
    assert await User.count() == users_before
    membership = (
        await TenantScope(tenant).objects(Membership).get(Membership.role == "panel_member")
    )
    assert membership.user == bert.id and membership.display_name == "Bert B."


async def test_link_opened_by_someone_else_is_refused(client, admin, visitor):
    link = await invitation_link(client)
    await make_user("other@x.example")
    await login(visitor, "other@x.example")
    response = await visitor.get(link)
    assert response.status_code == 403
    assert nl("This invitation is for someone else") in response.text
    refused = await post_form(visitor, link, {"display_name": "Sneaky"})
    assert refused.status_code == 403
    assert await everywhere(Membership).count() == 1  # only the admin


async def test_withdrawn_and_expired_links_say_so(client, admin, tenant, visitor):
    withdrawn_link = await invitation_link(client, "first@x.example")
    expired_link = await invitation_link(client, "second@x.example")
    first = await everywhere(Invitation).objects().get(Invitation.email == "first@x.example")
    assert (await post_form(client, f"/t/alpha/invitations/{first.id}/revoke")).status_code == 200
    past = datetime.now(UTC) - timedelta(minutes=1)
    await (
        TenantScope(tenant)
        .update(Invitation, {Invitation.expires_at: past})
        .where(Invitation.email == "second@x.example")
    )

    withdrawn = await visitor.get(withdrawn_link)
    assert withdrawn.status_code in GONE
    assert (
        nl("This invitation has been withdrawn. Ask the person who invited you for a new one.")
        in withdrawn.text
    )
    expired = await visitor.get(expired_link)
    assert expired.status_code in GONE
    assert (
        nl("This invitation has expired. Ask the person who invited you for a new one.")
        in expired.text
    )
    assert (await accept_as_new_person(visitor, expired_link)).status_code in GONE
    assert await User.count().where(User.email == "second@x.example") == 0


# --- bad input and permissions ----------------------------------------------------------------

LONG_EMAIL = "a" * (300 - len("@x.example")) + "@x.example"


@pytest.mark.parametrize(
    "data, bad_fields, kept",
    [
        ({"email": "not-an-email", "role": "panel_member"}, ["email"], "not-an-email"),
        ({"email": NEW, "role": "overlord"}, ["role"], NEW),
        ({"email": LONG_EMAIL, "role": "panel_member"}, ["email"], LONG_EMAIL),
        ({}, ["email", "role"], None),
    ],
    ids=["invalid-email", "unknown-role", "long-email", "missing-fields"],
)
async def test_bad_invitation_input_is_shown_and_nothing_stored(
    client, admin, data, bad_fields, kept
):
    response = await post_form(client, "/t/alpha/invitations", data)
    assert response.status_code == 422
    assert nl("Please check the following") in response.text
    for name in bad_fields:
        assert f'href="#field-{name}"' in response.text
    if kept:
        assert f'value="{kept}"' in response.text
    assert await everywhere(Invitation).count() == 0
    assert await outbox() == []


async def test_policy_officer_cannot_invite_a_tenant_admin(client, tenant):
    await make_user("officer@alpha.example", tenant=tenant, roles=("policy_officer",))
    await login(client, "officer@alpha.example")
    page = await client.get("/t/alpha/invitations")
    assert 'value="panel_member"' in page.text and 'value="tenant_admin"' not in page.text
    response = await invite(client, role="tenant_admin")
    assert response.status_code == 422
    assert await everywhere(Invitation).count() == 0
    assert await outbox() == []


async def test_panel_member_cannot_open_invitations(client, tenant):
    await make_user("member@alpha.example", tenant=tenant, roles=("panel_member",))
    await login(client, "member@alpha.example")
    assert (await client.get("/t/alpha/invitations")).status_code == 403
    assert (await invite(client)).status_code == 403
    assert await everywhere(Invitation).count() == 0


# --- withdrawing and the audit trail ----------------------------------------------------------


async def test_withdraw_shows_withdrawn_and_everything_is_audited(client, admin, visitor):
    withdrawn_cell = f">{nl('Withdrawn')}</td>"
    await invite(client, "first@x.example")
    accept_link = await invitation_link(client, "second@x.example")
    first = await everywhere(Invitation).objects().get(Invitation.email == "first@x.example")
    assert withdrawn_cell not in (await client.get("/t/alpha/invitations")).text

    response = await post_form(
        client, f"/t/alpha/invitations/{first.id}/revoke", follow_redirects=False
    )
    assert response.status_code == 303
    listing = await client.get("/t/alpha/invitations")
    assert nl("The invitation has been withdrawn.") in listing.text
    assert withdrawn_cell in listing.text
    assert (await everywhere(Invitation).objects().get(Invitation.id == first.id)).revoked_at is not None

    assert (await accept_as_new_person(visitor, accept_link)).status_code == 303
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.object_id, AuditEntry.actor)
    actions = {(entry["action"], entry["object_id"]) for entry in entries}
    second = await everywhere(Invitation).objects().get(Invitation.email == "second@x.example")
    assert {
        ("invitation.created", first.id),
        ("invitation.created", second.id),
        ("invitation.revoked", first.id),
        ("invitation.accepted", second.id),
    } <= actions
    revoked = next(entry for entry in entries if entry["action"] == "invitation.revoked")
    assert revoked["actor"] == admin.id
