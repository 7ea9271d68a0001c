"""Invitation rules: who may invite whom, single use, expiry, revocation, acceptance, audit trail."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.tables import Membership, User
from portal.core.audit import AuditEntry
from portal.core.security import hash_token, verify_password
from portal.core.tenancy import TenantScope
from portal.invitations.service import (
    InvitationError,
    accept_invitation,
    create_invitation,
    find_by_token,
    revoke_invitation,
    state_of,
)
from portal.invitations.tables import Invitation
from tests.support import everywhere, make_tenant, make_user

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEW_ACCOUNT = {"name": "Lisa Visser", "password": "een-lang-wachtwoord"}


def unsaved(**values) -> Invitation:
    return Invitation(email="x@example.nl", role="panel_member", token_hash="h", tenant=1,
                      expires_at=T0 + timedelta(days=14), **values)


@pytest.mark.parametrize(
    ("values", "at", "state"),
    [
        ({}, T0, "open"),
        ({}, T0 + timedelta(days=14) - timedelta(seconds=1), "open"),
        ({}, T0 + timedelta(days=14), "expired"),
        ({"accepted_at": T0}, T0 + timedelta(days=30), "accepted"),
        ({"revoked_at": T0}, T0, "revoked"),
        ({"revoked_at": T0}, T0 + timedelta(days=30), "revoked"),
    ],
)
def test_state_of(values, at, state):
    assert state_of(unsaved(**values), at=at) == state


@pytest.fixture
async def alpha():
    tenant = await make_tenant("alpha")
    admin = await make_user("admin@alpha.example", tenant=tenant, roles=("tenant_admin",))
    officer = await make_user("officer@alpha.example", tenant=tenant, roles=("policy_officer",))
    return TenantScope(tenant), admin, officer


async def invite(scope, inviter, email="lisa@example.nl", role="panel_member", roles=("tenant_admin",), days=14):
    return await create_invitation(scope, inviter=inviter, inviter_roles=set(roles), email=email, role=role, days=days)


async def audit_actions():
    return [(row.action, row.tenant, row.actor) for row in await AuditEntry.objects().order_by(AuditEntry.id)]


@pytest.mark.parametrize("role", ["tenant_admin", "policy_officer"])
async def test_policy_officer_cannot_invite_staff_roles(alpha, role):
    scope, _, officer = alpha
    with pytest.raises(InvitationError):
        await invite(scope, officer, role=role, roles=("policy_officer",))
    assert await everywhere(Invitation).count() == 0


@pytest.mark.parametrize("role", ["panel_member", "support_contact", "council_member"])
async def test_policy_officer_can_invite_members_and_contacts(alpha, role):
    scope, _, officer = alpha
    invitation, _ = await invite(scope, officer, role=role, roles=("policy_officer",))
    assert invitation.role == role


@pytest.mark.parametrize(
    "role", ["tenant_admin", "policy_officer", "support_contact", "council_member", "panel_member"]
)
async def test_tenant_admin_can_invite_every_role(alpha, role):
    scope, admin, _ = alpha
    invitation, _ = await invite(scope, admin, role=role)
    assert state_of(invitation) == "open"


async def test_panel_member_cannot_invite_anyone(alpha):
    scope, admin, _ = alpha
    with pytest.raises(InvitationError):
        await invite(scope, admin, roles=("panel_member",))


async def test_only_the_token_hash_is_stored_and_the_token_finds_it(alpha):
    scope, admin, _ = alpha
    invitation, token = await invite(scope, admin)
    stored = await everywhere(Invitation).objects().get(Invitation.id == invitation.id)
    assert stored.token_hash == hash_token(token) != token
    assert (await find_by_token(scope, token)).id == invitation.id
    assert await find_by_token(scope, token + "x") is None


async def test_invitation_expires_after_the_given_days(alpha):
    scope, admin, _ = alpha
    invitation, _ = await invite(scope, admin, days=14)
    assert state_of(invitation, at=invitation.expires_at - timedelta(minutes=1)) == "open"
    assert state_of(invitation, at=invitation.expires_at) == "expired"


async def test_second_open_invitation_for_same_email_and_role_is_refused(alpha):
    scope, admin, _ = alpha
    await invite(scope, admin)
    with pytest.raises(InvitationError):
        await invite(scope, admin)
    await invite(scope, admin, role="council_member")  # another role is a separate invitation
    assert await everywhere(Invitation).count() == 2


async def test_after_revoking_a_new_invitation_may_be_sent(alpha):
    scope, admin, _ = alpha
    invitation, _ = await invite(scope, admin)
    await revoke_invitation(scope, invitation, admin)
    await invite(scope, admin)
    assert await everywhere(Invitation).count() == 2


async def test_inviting_someone_who_already_has_the_role_is_refused(alpha):
    scope, admin, _ = alpha
    with pytest.raises(InvitationError):
        await invite(scope, admin, email="officer@alpha.example", role="policy_officer")
    invitation, _ = await invite(scope, admin, email="officer@alpha.example", role="council_member")
    assert invitation.role == "council_member"


async def test_accept_creates_account_and_membership_with_pseudonym(alpha):
    scope, admin, _ = alpha
    invitation, _ = await invite(scope, admin)
    user = await accept_invitation(scope, invitation, user=None, display_name="Moeder van twee",
                                   new_account=NEW_ACCOUNT)
    stored_user = await User.objects().get(User.email == "lisa@example.nl")
    assert stored_user.id == user.id and stored_user.name == "Lisa Visser"
    assert verify_password(stored_user.password_hash, "een-lang-wachtwoord")
    membership = await everywhere(Membership).objects().get(Membership.user == user.id)
    assert (membership.tenant, membership.role, membership.display_name) == (
        scope.tenant_id, "panel_member", "Moeder van twee")
    stored = await everywhere(Invitation).objects().get(Invitation.id == invitation.id)
    assert state_of(stored) == "accepted" and stored.accepted_by == user.id


async def test_accepting_twice_is_refused_and_leaves_one_membership(alpha):
    scope, admin, _ = alpha
    invitation, token = await invite(scope, admin)
    user = await accept_invitation(scope, invitation, user=None, display_name="Lisa", new_account=NEW_ACCOUNT)
    with pytest.raises(InvitationError):
        await accept_invitation(scope, await find_by_token(scope, token), user=user, display_name="Lisa")
    with pytest.raises(InvitationError):
        await accept_invitation(scope, await find_by_token(scope, token), user=None, display_name="Lisa",
                                new_account=NEW_ACCOUNT)
    assert await everywhere(Membership).count().where(Membership.user == user.id) == 1


async def test_double_click_with_stale_invitation_is_refused_cleanly(alpha):
    """Two requests read the open invitation before either accepts it (a link clicked twice)."""
    scope, admin, _ = alpha
    invitation, _ = await invite(scope, admin)
    await accept_invitation(scope, invitation, user=None, display_name="Lisa", new_account=NEW_ACCOUNT)
    with pytest.raises(InvitationError):
        await accept_invitation(scope, invitation, user=None, display_name="Lisa", new_account=NEW_ACCOUNT)
    assert await User.count().where(User.email == "lisa@example.nl") == 1
    assert await everywhere(Membership).count().where(Membership.role == "panel_member") == 1


async def test_revoked_invitation_cannot_be_accepted(alpha):
    scope, admin, _ = alpha
    invitation, token = await invite(scope, admin)
    await revoke_invitation(scope, invitation, admin)
    with pytest.raises(InvitationError):
        await accept_invitation(scope, await find_by_token(scope, token), user=None, display_name="Lisa",
                                new_account=NEW_ACCOUNT)
    assert not await User.exists().where(User.email == "lisa@example.nl")
    with pytest.raises(InvitationError):
        await revoke_invitation(scope, await find_by_token(scope, token), admin)


async def test_revoked_while_page_was_open_cannot_be_accepted(alpha):
    scope, admin, _ = alpha
    invitation, token = await invite(scope, admin)
    stale = await find_by_token(scope, token)
    await revoke_invitation(scope, invitation, admin)
    with pytest.raises(InvitationError):
        await accept_invitation(scope, stale, user=None, display_name="Lisa", new_account=NEW_ACCOUNT)
    assert not await User.exists().where(User.email == "lisa@example.nl")
    assert await everywhere(Membership).count().where(Membership.role == "panel_member") == 0


async def test_expired_invitation_cannot_be_accepted(alpha):
    scope, admin, _ = alpha
    invitation, token = await invite(scope, admin)
    await everywhere(Invitation).update({Invitation.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        Invitation.id == invitation.id)
    with pytest.raises(InvitationError):
        await accept_invitation(scope, await find_by_token(scope, token), user=None, display_name="Lisa",
                                new_account=NEW_ACCOUNT)
    assert await everywhere(Membership).count().where(Membership.role == "panel_member") == 0


async def test_existing_user_accepting_gets_the_membership_linked(alpha):
    scope, admin, _ = alpha
    existing = await make_user("lisa@example.nl")
    invitation, _ = await invite(scope, admin)
    user = await accept_invitation(scope, invitation, user=existing, display_name="Sky")
    assert user.id == existing.id
    assert await User.count().where(User.email == "lisa@example.nl") == 1
    membership = await everywhere(Membership).objects().get(Membership.user == existing.id)
    assert (membership.role, membership.display_name) == ("panel_member", "Sky")


async def test_invitation_of_another_tenant_is_not_found(alpha):
    scope, admin, _ = alpha
    _, token = await invite(scope, admin)
    other = TenantScope(await make_tenant("beta"))
    assert await find_by_token(other, token) is None


async def test_create_revoke_accept_are_audited(alpha):
    scope, admin, officer = alpha
    first, _ = await invite(scope, admin)
    await revoke_invitation(scope, first, officer)
    second, _ = await invite(scope, officer, roles=("policy_officer",))
    user = await accept_invitation(scope, second, user=None, display_name="Lisa", new_account=NEW_ACCOUNT)
    tenant = scope.tenant_id
    assert await audit_actions() == [
        ("invitation.created", tenant, admin.id),
        ("invitation.revoked", tenant, officer.id),
        ("invitation.created", tenant, officer.id),
        ("invitation.accepted", tenant, user.id),
    ]
    entries = await AuditEntry.objects().order_by(AuditEntry.id)
    assert [entry.object_id for entry in entries] == [first.id, first.id, second.id, second.id]
    # The audit log never holds the address: an erased person leaves no trace in it.
    assert "lisa@example.nl" not in entries[0].after and json.loads(entries[0].after)["role"] == "panel_member"
    assert json.loads(entries[3].after) == {"role": "panel_member", "user_id": user.id}


async def test_refused_invitation_writes_no_audit_entry(alpha):
    scope, _, officer = alpha
    with pytest.raises(InvitationError):
        await invite(scope, officer, role="tenant_admin", roles=("policy_officer",))
    assert await audit_actions() == []
