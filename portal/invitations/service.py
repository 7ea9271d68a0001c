"""Invitation rules: who may invite whom, single use, expiry, revocation, acceptance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portal.accounts.roles import roles_invitable_by
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.security import hash_password, hash_token, new_token
from portal.core.tenancy import TenantScope
from portal.invitations.tables import Invitation


class InvitationError(Exception):
    """A rule was broken; the message is for the user."""


@dataclass(frozen=True)
class InvitationState:
    OPEN = "open"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def now() -> datetime:
    return datetime.now(UTC)


def state_of(invitation: Invitation, at: datetime | None = None) -> str:
    if invitation.accepted_at:
        return InvitationState.ACCEPTED
    if invitation.revoked_at:
        return InvitationState.REVOKED
    if invitation.expires_at <= (at or now()):
        return InvitationState.EXPIRED
    return InvitationState.OPEN


async def create_invitation(
    scope: TenantScope, *, inviter: User, inviter_roles: set[str], email: str, role: str, days: int
) -> tuple[Invitation, str]:
    """Create an invitation and return it with the token for the email link (never stored)."""
    if role not in roles_invitable_by(inviter_roles):
        raise InvitationError(_("You cannot invite people to this role."))
    already_member = await scope.exists(Membership).where(
        (Membership.user.email == email) & (Membership.role == role)
    )
    if already_member:
        raise InvitationError(_("This person already has this role here."))
    open_invitations = await scope.objects(Invitation).where(
        (Invitation.email == email) & (Invitation.role == role)
    )
    if any(state_of(invitation) == InvitationState.OPEN for invitation in open_invitations):
        raise InvitationError(
            _("This person already has an open invitation for this role. Revoke it first to send a new one.")
        )
    token, token_hash = new_token()
    invitation = scope.new(
        Invitation,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=inviter.id,
        expires_at=now() + timedelta(days=days),
    )
    async with engine().transaction():
        await invitation.save()
        await audit.record(
            "invitation.created",
            object_type="invitation",
            object_id=invitation.id,
            actor_id=inviter.id,
            tenant_id=scope.tenant_id,
            after={"email": email, "role": role, "expires_at": invitation.expires_at},
        )
    return invitation, token


async def revoke_invitation(scope: TenantScope, invitation: Invitation, actor: User) -> None:
    if state_of(invitation) != InvitationState.OPEN:
        raise InvitationError(_("Only an open invitation can be revoked."))
    async with engine().transaction():
        await scope.update(Invitation, {Invitation.revoked_at: now()}).where(
            Invitation.id == invitation.id
        )
        await audit.record(
            "invitation.revoked",
            object_type="invitation",
            object_id=invitation.id,
            actor_id=actor.id,
            tenant_id=scope.tenant_id,
            before={"state": InvitationState.OPEN},
            after={"state": InvitationState.REVOKED},
        )


async def find_by_token(scope: TenantScope, token: str) -> Invitation | None:
    return await scope.objects(Invitation).where(Invitation.token_hash == hash_token(token)).first()


def refusal_for(invitation: Invitation | None) -> str | None:
    """Why this invitation can no longer be accepted, or None when it can."""
    if invitation is None:
        return _("This invitation link is not valid. Check that you copied the whole link.")
    return {
        InvitationState.ACCEPTED: _("This invitation has already been used. You can log in."),
        InvitationState.REVOKED: _("This invitation has been withdrawn. Ask the person who invited you for a new one."),
        InvitationState.EXPIRED: _("This invitation has expired. Ask the person who invited you for a new one."),
    }.get(state_of(invitation))


async def accept_invitation(
    scope: TenantScope,
    invitation: Invitation,
    *,
    user: User | None,
    display_name: str,
    new_account: dict | None = None,
) -> User:
    """Accept for a logged-in ``user``, or create the account from ``new_account`` (name, password).

    Everything happens in one transaction, and the invitation is claimed with a conditional
    update, so a link clicked twice at the same moment makes one membership, not two.
    """
    if refusal_for(invitation):
        raise InvitationError(refusal_for(invitation))
    async with engine().transaction():
        # Claim first: a second click must be refused before it tries to create the account again.
        claimed = await scope.update(Invitation, {Invitation.accepted_at: now()}).where(
            (Invitation.id == invitation.id)
            & Invitation.accepted_at.is_null()
            & Invitation.revoked_at.is_null()
        ).returning(Invitation.id)
        if not claimed:
            raise InvitationError(_("This invitation has already been used. You can log in."))
        if user is None:
            user = User(
                email=invitation.email,
                name=new_account["name"],
                password_hash=hash_password(new_account["password"]),
            )
            await user.save()
        await scope.update(Invitation, {Invitation.accepted_by: user.id}).where(
            Invitation.id == invitation.id
        )
        has_role = await scope.exists(Membership).where(
            (Membership.user == user.id) & (Membership.role == invitation.role)
        )
        if not has_role:
            await scope.new(
                Membership, user=user.id, role=invitation.role, display_name=display_name
            ).save()
        await audit.record(
            "invitation.accepted",
            object_type="invitation",
            object_id=invitation.id,
            actor_id=user.id,
            tenant_id=scope.tenant_id,
            after={"role": invitation.role, "user_id": user.id},
        )
    return user


async def list_invitations(scope: TenantScope) -> list[Invitation]:
    return await scope.objects(Invitation).order_by(Invitation.created_at, ascending=False)
