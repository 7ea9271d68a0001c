"""Invitation rules: who may invite whom, single use, expiry, revocation, acceptance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portal.accounts.roles import PANEL_MEMBER, roles_invitable_by
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import _
from portal.core.mail import MailService
from portal.core.security import hash_password, hash_token, new_token
from portal.core.tenancy import TenantScope
from portal.invitations.tables import Invitation
from portal.panels.tables import Panel, PanelMembership
from portal.privacy.rules import EXPERIENCE_CONSENT, JOINING_CONSENTS
from portal.tenants.tables import Tenant


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
    scope: TenantScope,
    *,
    inviter: User,
    inviter_roles: set[str],
    email: str,
    role: str,
    days: int,
    panel: Panel | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation and return it with the token for the email link (never stored).

    With ``panel`` the invitation is to join that panel (role panel member). Someone who already
    has the role here may still be invited to a panel: accepting then only adds them to the panel.
    The panel's membership row is made by ``panels.service.invite_member``, which calls this.
    """
    if role not in roles_invitable_by(inviter_roles):
        raise InvitationError(_("You cannot invite people to this role."))
    if panel is not None and role != PANEL_MEMBER:
        raise InvitationError(_("An invitation to a panel is for the role panel member."))
    if panel is not None and panel.tenant != scope.tenant_id:
        raise InvitationError(_("This panel does not exist here."))
    if panel is None:
        already_member = await scope.exists(Membership).where(
            (Membership.user.email == email) & (Membership.role == role)
        )
        if already_member:
            raise InvitationError(_("This person already has this role here."))
    open_invitations = await scope.objects(Invitation).where(
        (Invitation.email == email) & (Invitation.role == role)
    )
    same_kind = [
        invitation for invitation in open_invitations
        if panel is None or invitation.panel == panel.id
    ]
    if any(state_of(invitation) == InvitationState.OPEN for invitation in same_kind):
        if panel is not None:
            raise InvitationError(
                _("This person already has an open invitation to this panel. Revoke it first to send a new one.")
            )
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
        panel=panel.id if panel is not None else None,
    )
    # Never the address: the audit log is append-only, and an erased person must leave no trace
    # in it (the invitation row holds the address and is deleted on erasure).
    after = {"role": role, "expires_at": invitation.expires_at}
    if panel is not None:
        after["panel_id"] = panel.id
    async with engine().transaction():
        await invitation.save()
        await audit.record_in(
            scope, "invitation.created", "invitation", invitation.id, inviter,
            after=after,
        )
    return invitation, token


async def send_invitation_email(
    mail: MailService,
    tenant: Tenant,
    invitation: Invitation,
    token: str,
    *,
    inviter: str,
    base_url: str,
    panel_name: str | None = None,
) -> None:
    """Email the invitation's link (with the token ``create_invitation`` returned), in the
    tenant's language."""
    await mail.send(
        "invitation",
        invitation.email,
        tenant.locale,
        tenant_name=tenant.name,
        role=invitation.role,
        panel_name=panel_name,
        inviter=inviter,
        link=f"{base_url}/t/{tenant.slug}/invitations/accept/{token}",
        expires_at=invitation.expires_at,
    )


async def revoke_invitation(scope: TenantScope, invitation: Invitation, actor: User) -> None:
    if state_of(invitation) != InvitationState.OPEN:
        raise InvitationError(_("Only an open invitation can be revoked."))
    async with engine().transaction():
        await scope.update(Invitation, {Invitation.revoked_at: now()}).where(
            Invitation.id == invitation.id
        )
        await audit.record_in(
            scope, "invitation.revoked", "invitation", invitation.id, actor,
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


@dataclass(frozen=True)
class ConsentStep:
    """The consent step of accepting an invitation to a panel."""

    # Under 16 (by the invitation's age band, or a date of birth): the guardian consents instead.
    guardian_gives: bool
    # Consent to processing lived experience already given in this space (another panel).
    experience_given: bool


async def consent_step(scope: TenantScope, invitation: Invitation, user: User | None) -> ConsentStep | None:
    """What the acceptance form asks about consent; None for an invitation to a role only."""
    if invitation.panel is None:
        return None
    from portal.privacy import service as privacy  # privacy builds on panels, which build on this

    membership = await _invited_membership(scope, invitation)
    age_band = membership.age_band if membership is not None else ""
    if user is None:
        return ConsentStep(guardian_gives=age_band == "under_16", experience_given=False)
    return ConsentStep(
        guardian_gives=await privacy.is_under_guardian_age(scope, user.id, age_band),
        experience_given=EXPERIENCE_CONSENT in await privacy.active_consents(scope, user.id),
    )


def read_joining_consents(form: Form, step: ConsentStep | None) -> tuple[str, ...]:
    """The consents ticked on the acceptance form. Consent to processing lived experience is
    required to join a panel, unless a guardian gives it (under 16) or it was given before;
    publication and attribution stay optional."""
    if step is None:
        return ()
    ticked = tuple(kind for kind in JOINING_CONSENTS if form.raw(kind))
    if step.guardian_gives:
        return tuple(kind for kind in ticked if kind != EXPERIENCE_CONSENT)
    if EXPERIENCE_CONSENT not in ticked and not step.experience_given:
        form.add_error(EXPERIENCE_CONSENT, _(
            "Tick the box to give your consent for the processing of your lived experience. "
            "Without it you cannot take part in the panel."))
    return ticked


async def accept_invitation(
    scope: TenantScope,
    invitation: Invitation,
    *,
    user: User | None,
    display_name: str,
    new_account: dict | None = None,
    consents: tuple[str, ...] = (),
) -> User:
    """Accept for a logged-in ``user``, or create the account from ``new_account`` (name, password).
    ``consents``: those given on the acceptance form of a panel invitation (``read_joining_consents``).

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
        if invitation.panel is not None:
            await _activate_panel_membership(scope, invitation, user)
            if consents:
                from portal.privacy.service import give_joining_consents

                await give_joining_consents(scope, user, consents)
        await audit.record_in(
            scope, "invitation.accepted", "invitation", invitation.id, user,
            after={"role": invitation.role, "user_id": user.id},
        )
    return user


async def _invited_membership(scope: TenantScope, invitation: Invitation) -> PanelMembership | None:
    """The panel membership waiting for this invitation's acceptance."""
    return await scope.objects(PanelMembership).where(
        (PanelMembership.panel == invitation.panel)
        & (PanelMembership.invited_email == invitation.email)
        & (PanelMembership.status == "invited")
    ).first()


async def _activate_panel_membership(scope: TenantScope, invitation: Invitation, user: User) -> None:
    """The invited panel membership is linked to this person and becomes active, or held while
    an activation hold applies (inside the acceptance)."""
    membership = await _invited_membership(scope, invitation)
    if membership is None:
        raise InvitationError(
            _("This invitation to the panel has been withdrawn. Ask the person who invited you for a new one.")
        )
    other_row = await scope.exists(PanelMembership).where(
        (PanelMembership.panel == invitation.panel)
        & (PanelMembership.user == user.id)
        & (PanelMembership.id != membership.id)
    )
    if other_row:
        raise InvitationError(_("You are already a member of this panel."))
    from portal.panels.service import settle_activation  # the panels feature imports this module

    if await settle_activation(scope, membership, user, user, by="invitation_accepted", link=True) is None:
        raise InvitationError(
            _("This invitation to the panel has been withdrawn. Ask the person who invited you for a new one.")
        )


async def panel_of(scope: TenantScope, invitation: Invitation) -> Panel | None:
    """The panel an invitation is for, or None for an invitation to a role only."""
    if invitation.panel is None:
        return None
    return await scope.get_or_none(Panel, invitation.panel)


async def open_invitations_for(scope: TenantScope, email: str) -> list[dict]:
    """Open invitations in this tenant addressed to ``email``, with the panel's name if any."""
    rows = await scope.select(
        Invitation,
        Invitation.id,
        Invitation.role,
        Invitation.expires_at,
        Invitation.accepted_at,
        Invitation.revoked_at,
        Invitation.panel.as_alias("panel_id"),
        Invitation.panel.name.as_alias("panel_name"),
    ).where(Invitation.email == email).order_by(Invitation.created_at)
    moment = now()
    return [
        row for row in rows
        if row["accepted_at"] is None and row["revoked_at"] is None and row["expires_at"] > moment
    ]


async def list_invitations(scope: TenantScope) -> list[Invitation]:
    return await scope.objects(Invitation).order_by(Invitation.created_at, ascending=False)
