"""Panels and panel memberships: the rules, without HTTP.

A person joins a panel by invitation: ``invite_member`` creates the invitation (through the
invitations feature, with the panel set) and an ``invited`` membership in one transaction;
``invitations.service.accept_invitation`` links the person to it. Whether a membership is then
active is decided in one place, ``settle_activation``: active unless an activation hold applies
(then it is *held*: still ``invited``, with the person linked). Every change is written to the
audit log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from litestar.exceptions import NotFoundException
from piccolo.querystring import QueryString

from portal.accounts.roles import PANEL_MEMBER, POLICY_OFFICER, SUPPORT_CONTACT, TENANT_ADMIN
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.hooks import first_reason
from portal.core.i18n import _
from portal.core.states import TransitionError, check_transition
from portal.core.tenancy import MAX_ID, TenantScope
from portal.invitations import service as invitations
from portal.invitations.tables import Invitation
from portal.panels.rules import AGE_BANDS, MAX_MONTHLY_HOURS, MEMBERSHIP_TRANSITIONS
from portal.panels.tables import PANEL_KINDS, Panel, PanelMembership
from portal.tenants.validation import PANEL_NAME_MAX

MANAGER_ROLES = (TENANT_ADMIN, POLICY_OFFICER)
# Order of the members table: current members first.
STATUS_ORDER = {"active": 0, "paused": 1, "invited": 2, "withdrawn": 3, "ended": 4}


# Reasons to keep a panel membership from being active (privacy: a member under 16 without a
# guardian's consent). Each is awaited with (scope, membership, user) and returns a reason or
# None; ``settle_activation`` consults them.
ACTIVATION_HOLDS: list = []

# Features that act when a panel membership becomes active (agreements proposes the terms of the
# panel's open rounds): each is awaited inside the activating transaction with
# (scope, membership, actor).
MEMBERSHIP_ACTIVATED_HOOKS: list = []


async def activation_hold(scope: TenantScope, membership: PanelMembership, user: User) -> str | None:
    return await first_reason(ACTIVATION_HOLDS, scope, membership, user)


async def _membership_activated(scope: TenantScope, membership: PanelMembership, actor: User | None) -> None:
    for hook in list(MEMBERSHIP_ACTIVATED_HOOKS):
        await hook(scope, membership, actor)


class PanelError(Exception):
    """A rule was broken; the message is for the user, ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Viewer(Protocol):
    """Who looks at a panel: the request context fits (``user`` and ``roles``)."""

    user: User
    roles: set[str]


def is_manager(roles: set[str]) -> bool:
    return bool(set(roles) & set(MANAGER_ROLES))


def _display_name_of(user_column: str, preferred_role: str) -> QueryString:
    """A correlated subquery: the name a person shows in this tenant, preferring one role's name.

    ``user_column`` is a column of the panel_membership row in the outer query. The membership
    table is matched on the same tenant, so a name never comes from another tenant.
    """
    return QueryString(
        "(SELECT m.display_name FROM membership m"
        f' WHERE m.tenant = panel_membership.tenant AND m."user" = panel_membership.{user_column}'
        " ORDER BY CASE WHEN m.role = {} THEN 0 ELSE 1 END, m.id LIMIT 1)",
        preferred_role,
    )


def _panel_values(panel: Panel) -> dict[str, Any]:
    return {
        "name": panel.name,
        "kind": panel.kind,
        "partner_organisation": panel.partner_organisation,
        "description": panel.description,
    }


def _membership_values(membership: PanelMembership) -> dict[str, Any]:
    return {
        "status": membership.status,
        "age_band": membership.age_band,
        "support_contact_id": membership.support_contact,
        "monthly_hours_budget": membership.monthly_hours_budget,
    }


# --- panels ------------------------------------------------------------------------------------


async def panel_name_taken(scope: TenantScope, name: str, *, except_id: int | None = None) -> bool:
    """Whether another panel of this tenant has this name (ignoring case and outer spaces)."""
    wanted = name.strip().casefold()
    rows = await scope.select(Panel, Panel.id, Panel.name)
    return any(row["name"].strip().casefold() == wanted and row["id"] != except_id for row in rows)


def _name_taken() -> PanelError:
    return PanelError(_("A panel with this name already exists."), "name")


async def _check_panel_values(
    scope: TenantScope, name: str, kind: str, *, except_id: int | None = None
) -> None:
    if not name.strip() or len(name) > PANEL_NAME_MAX:
        raise PanelError(_("Fill in a name of at most 120 characters."), "name")
    if kind not in PANEL_KINDS:
        raise PanelError(_("Choose the kind of panel from the list."), "kind")
    if await panel_name_taken(scope, name, except_id=except_id):
        raise _name_taken()


def _is_unique_violation(error: Exception) -> bool:
    """The database refused a duplicate (a request that raced past the check)."""
    return "unique" in str(error).lower() or type(error).__name__ == "UniqueViolationError"


@contextmanager
def _refusing_a_duplicate_name() -> Iterator[None]:
    """A name the database refuses as a duplicate gets the same message as the check's."""
    try:
        yield
    except Exception as error:
        if _is_unique_violation(error):
            raise _name_taken() from error
        raise


def _panel_form_values(name: str, kind: str, partner_organisation: str, description: str) -> dict[str, Any]:
    return {
        "name": name.strip(),
        "kind": kind,
        "partner_organisation": partner_organisation.strip(),
        "description": description.strip(),
    }


async def create_panel(
    scope: TenantScope,
    *,
    actor: User,
    name: str,
    kind: str,
    partner_organisation: str = "",
    description: str = "",
) -> Panel:
    await _check_panel_values(scope, name, kind)
    panel = scope.new(Panel, **_panel_form_values(name, kind, partner_organisation, description))
    with _refusing_a_duplicate_name():
        async with engine().transaction():
            await panel.save()
            await audit.record_in(
                scope, "panel.created", "panel", panel.id, actor, after=_panel_values(panel)
            )
    return panel


async def update_panel(
    scope: TenantScope,
    panel: Panel,
    *,
    actor: User,
    name: str,
    kind: str,
    partner_organisation: str = "",
    description: str = "",
) -> Panel:
    await _check_panel_values(scope, name, kind, except_id=panel.id)
    before = _panel_values(panel)
    after = _panel_form_values(name, kind, partner_organisation, description)
    if after == before:
        return panel
    with _refusing_a_duplicate_name():
        async with engine().transaction():
            await scope.update(
                Panel, {getattr(Panel, key): value for key, value in after.items()}
            ).where(Panel.id == panel.id)
            await audit.record_in(
                scope, "panel.updated", "panel", panel.id, actor, before=before, after=after
            )
    for key, value in after.items():
        setattr(panel, key, value)
    return panel


def now() -> datetime:
    return datetime.now(UTC)


def _archived_refusal() -> PanelError:
    return PanelError(_("This panel is archived. Bring it back from the archive first."), "email")


async def archive_panel(scope: TenantScope, panel: Panel, *, actor: User | None) -> int:
    """Archive a panel: it is no longer offered for new rounds or new members, and its history
    stays readable. Open invitations to it are withdrawn (nobody should join a panel that gets
    no more rounds); active and paused memberships stay as they are, so rounds already sent to
    the panel carry on, and bringing the panel back restores it as it was. Returns the number of
    invitations withdrawn."""
    invited = await scope.objects(PanelMembership).where(
        (PanelMembership.panel == panel.id) & (PanelMembership.status == "invited")
    )
    async with engine().transaction():
        changed = await scope.update(Panel, {Panel.archived_at: now()}).where(
            (Panel.id == panel.id) & Panel.archived_at.is_null()
        ).returning(Panel.id)
        if not changed:
            raise PanelError(_("This panel is already archived."))
        for membership in invited:
            await change_membership_status(scope, membership, actor=actor, status="withdrawn")
        await audit.record_in(
            scope, "panel.archived", "panel", panel.id, actor,
            before={"archived": False}, after={"archived": True, "invitations_withdrawn": len(invited)},
        )
    return len(invited)


async def unarchive_panel(scope: TenantScope, panel: Panel, *, actor: User | None) -> None:
    """Bring an archived panel back: it is offered for rounds and new members again."""
    async with engine().transaction():
        changed = await scope.update(Panel, {Panel.archived_at: None}).where(
            (Panel.id == panel.id) & Panel.archived_at.is_not_null()
        ).returning(Panel.id)
        if not changed:
            raise PanelError(_("This panel is not archived."))
        await audit.record_in(
            scope, "panel.unarchived", "panel", panel.id, actor,
            before={"archived": True}, after={"archived": False},
        )


async def list_panels(scope: TenantScope) -> list[dict]:
    """Every panel of the tenant with its number of active members, in one query; archived
    panels last."""
    active_members = QueryString(
        "(SELECT COUNT(*) FROM panel_membership pm WHERE pm.panel = panel.id"
        " AND pm.tenant = panel.tenant AND pm.status = {})",
        "active",
    ).as_alias("active_members")
    rows = await scope.select(
        Panel,
        Panel.id,
        Panel.name,
        Panel.kind,
        Panel.partner_organisation,
        Panel.description,
        Panel.archived_at,
        active_members,
    ).order_by(Panel.name)
    return sorted(rows, key=lambda row: row["archived_at"] is not None)


# --- support contacts --------------------------------------------------------------------------


async def support_contacts(scope: TenantScope) -> list[dict]:
    """The people with the role support contact here: ``user_id`` and ``display_name``."""
    return await scope.select(
        Membership, Membership.user.as_alias("user_id"), Membership.display_name
    ).where(Membership.role == SUPPORT_CONTACT).order_by(Membership.display_name)


async def _check_support_contact(scope: TenantScope, user_id: int | None) -> None:
    if user_id is None:
        return
    is_contact = await scope.exists(Membership).where(
        (Membership.user == user_id) & (Membership.role == SUPPORT_CONTACT)
    )
    if not is_contact:
        raise PanelError(_("Choose a support contact from the list."), "support_contact")


def _check_membership_values(age_band: str, monthly_hours_budget: Decimal) -> None:
    if age_band not in AGE_BANDS:
        raise PanelError(_("Choose the age band from the list."), "age_band")
    if not Decimal(0) <= Decimal(monthly_hours_budget) <= Decimal(MAX_MONTHLY_HOURS):
        raise PanelError(
            _("The time budget must be from 0 to %(max)s hours a month.", max=MAX_MONTHLY_HOURS),
            "monthly_hours_budget",
        )


# --- memberships -------------------------------------------------------------------------------


async def _memberships_for_email(scope: TenantScope, panel_id: int, email: str) -> list[dict]:
    return await scope.select(
        PanelMembership,
        PanelMembership.id,
        PanelMembership.status,
        PanelMembership.user,
        PanelMembership.invited_email,
    ).where(
        (PanelMembership.panel == panel_id)
        & ((PanelMembership.invited_email == email) | (PanelMembership.user.email == email))
    )


async def _open_panel_invitations(scope: TenantScope, panel_id: int, email: str) -> list[Invitation]:
    rows = await scope.objects(Invitation).where(
        (Invitation.panel == panel_id) & (Invitation.email == email)
    )
    return [row for row in rows if invitations.state_of(row) == invitations.InvitationState.OPEN]


async def invite_member(
    scope: TenantScope,
    panel: Panel,
    *,
    inviter: User,
    inviter_roles: set[str],
    email: str,
    age_band: str,
    support_contact_id: int | None,
    monthly_hours_budget: Decimal,
    days: int,
) -> tuple[PanelMembership, Invitation, str]:
    """Invite ``email`` into ``panel``: an invitation and an ``invited`` membership, together.

    Returns the membership, the invitation and the token for the email link. Someone whose
    membership ended or was withdrawn may be invited again (their row is used again: one row per
    person per panel); someone whose earlier invitation expired or was withdrawn gets a new one.
    """
    email = email.strip().lower()
    if panel.archived_at is not None:
        raise _archived_refusal()
    _check_membership_values(age_band, monthly_hours_budget)
    await _check_support_contact(scope, support_contact_id)
    existing = await _memberships_for_email(scope, panel.id, email)
    if any(row["status"] in ("active", "paused") for row in existing):
        raise PanelError(_("This person is already a member of this panel."), "email")
    invited = [row for row in existing if row["status"] == "invited"]
    if invited and await _open_panel_invitations(scope, panel.id, email):
        raise PanelError(
            _("This person has already been invited to this panel and the invitation is still open."),
            "email",
        )
    # Reuse the invited row (its invitation expired or was withdrawn), else the row of the
    # person's earlier membership: the database allows one row per person per panel.
    reuse = invited[0] if invited else next((row for row in existing if row["user"]), None)
    values = {
        "status": "invited",
        "invited_email": email,
        "age_band": age_band,
        "support_contact": support_contact_id,
        "monthly_hours_budget": Decimal(monthly_hours_budget),
    }
    async with engine().transaction():
        try:
            invitation, token = await invitations.create_invitation(
                scope,
                inviter=inviter,
                inviter_roles=inviter_roles,
                email=email,
                role=PANEL_MEMBER,
                days=days,
                panel=panel,
            )
        except invitations.InvitationError as error:
            raise PanelError(str(error), "email") from error
        if reuse:
            membership = await scope.get(PanelMembership, reuse["id"])
            before = _membership_values(membership)
            await scope.update(
                PanelMembership, {getattr(PanelMembership, key): value for key, value in values.items()}
            ).where(PanelMembership.id == membership.id)
            for key, value in values.items():
                setattr(membership, key, value)
        else:
            before = None
            membership = scope.new(PanelMembership, panel=panel.id, user=None, **values)
            await membership.save()
        await audit.record_in(
            scope, "panel_membership.invited", "panel_membership", membership.id, inviter,
            before=before,
            after={**_membership_values(membership), "panel_id": panel.id,
                   "invitation_id": invitation.id},
        )
    return membership, invitation, token


async def update_membership(
    scope: TenantScope,
    membership: PanelMembership,
    *,
    actor: User,
    age_band: str,
    support_contact_id: int | None,
    monthly_hours_budget: Decimal,
) -> PanelMembership:
    """Change the age band, support contact and time budget. Without a date of birth the age
    band decides whether a guardian must consent, so activation is decided again: see
    ``membership.status`` afterwards."""
    if membership.status == "ended":
        raise TransitionError(_("This membership has ended and can no longer be changed."))
    _check_membership_values(age_band, monthly_hours_budget)
    await _check_support_contact(scope, support_contact_id)
    before = _membership_values(membership)
    person = await User.objects().where(User.id == membership.user).first() if membership.user else None
    async with engine().transaction():
        await scope.update(
            PanelMembership,
            {
                PanelMembership.age_band: age_band,
                PanelMembership.support_contact: support_contact_id,
                PanelMembership.monthly_hours_budget: Decimal(monthly_hours_budget),
            },
        ).where(PanelMembership.id == membership.id)
        membership.age_band = age_band
        membership.support_contact = support_contact_id
        membership.monthly_hours_budget = Decimal(monthly_hours_budget)
        await audit.record_in(
            scope, "panel_membership.updated", "panel_membership", membership.id, actor,
            before=before,
            after=_membership_values(membership),
        )
        if person is not None and age_band != before["age_band"]:
            changes = await reevaluate_activation(scope, person, actor, by="age_band")
            membership.status = changes.get(membership.id, membership.status)
    return membership


def status_targets(status: str) -> tuple[str, ...]:
    """The statuses a manager can choose now: an invitation becomes active only by accepting it."""
    return tuple(
        target for target in MEMBERSHIP_TRANSITIONS.get(status, ())
        if not (status == "invited" and target == "active")
    )


def _changed_meanwhile() -> TransitionError:
    return TransitionError(
        _("Someone else changed this membership just now. Look at it again and try once more.")
    )


async def change_membership_status(
    scope: TenantScope, membership: PanelMembership, *, actor: User, status: str
) -> PanelMembership:
    """Move a membership along MEMBERSHIP_TRANSITIONS. Withdrawing an invitation revokes it.

    Ending a pause goes through ``settle_activation``: the membership is active again, or held
    when an activation hold applies now (``membership.status`` tells which)."""
    current = membership.status
    check_transition(MEMBERSHIP_TRANSITIONS, current, status)
    if current == "invited" and status == "active":
        raise TransitionError(
            _("A membership becomes active when the person accepts the invitation.")
        )
    if status == "active":
        person = await User.objects().where(User.id == membership.user).first() if membership.user else None
        async with engine().transaction():
            if await settle_activation(scope, membership, person, actor, by="pause_ended") is None:
                raise _changed_meanwhile()
        return membership
    async with engine().transaction():
        # Conditional update: a change made meanwhile by someone else is not overwritten.
        changed = await scope.update(PanelMembership, {PanelMembership.status: status}).where(
            (PanelMembership.id == membership.id) & (PanelMembership.status == current)
        ).returning(PanelMembership.id)
        if not changed:
            raise _changed_meanwhile()
        if current == "invited" and membership.invited_email:
            for invitation in await _open_panel_invitations(
                scope, membership.panel, membership.invited_email
            ):
                await invitations.revoke_invitation(scope, invitation, actor)
        await audit.record_in(
            scope, "panel_membership.status_changed", "panel_membership", membership.id, actor,
            before={"status": current},
            after={"status": status},
        )
    membership.status = status
    return membership


async def settle_activation(
    scope: TenantScope,
    membership: PanelMembership,
    user: User | None,
    actor: User | None,
    *,
    by: str,
    link: bool = False,
) -> str | None:
    """The one place that decides whether a panel membership is active (call inside a transaction).

    ``membership`` is held, active, or paused while its pause ends; with ``link`` it is the
    invited membership whose invitation ``user`` accepts, and they are linked to it. It becomes
    active when no activation hold applies, else held (status ``invited``, the person linked).
    An active membership a hold now applies to (a corrected date of birth shows a member under 16
    without a guardian's consent) is held again rather than paused: it must not keep taking
    part, a pause is the officer's to end, and a held membership becomes active by itself once
    the hold is gone (``reevaluate_activation``). The change is audited (``by`` says what caused
    it) and a membership that became active runs MEMBERSHIP_ACTIVATED_HOOKS. Returns the new
    status, or None when someone else changed the membership meanwhile.
    """
    current = membership.status
    target = "invited" if user is not None and await activation_hold(scope, membership, user) else "active"
    values = {PanelMembership.status: target}
    after: dict[str, Any] = {"status": target, "by": by}
    if link:
        values.update({PanelMembership.user: user.id, PanelMembership.invited_email: ""})
        after.update(user_id=user.id, panel_id=membership.panel)
    elif target == current:
        return current
    changed = await scope.update(PanelMembership, values).where(
        (PanelMembership.id == membership.id) & (PanelMembership.status == current)
    ).returning(PanelMembership.id)
    if not changed:
        return None
    action = "panel_membership.activated" if target == "active" else "panel_membership.held"
    await audit.record_in(scope, action, "panel_membership", membership.id, actor,
                          before={"status": current}, after=after)
    membership.status = target
    if link:
        membership.user, membership.invited_email = user.id, ""
    if target == "active":
        await _membership_activated(scope, membership, actor)
    return target


async def reevaluate_activation(
    scope: TenantScope, user: User, actor: User | None, *, by: str
) -> dict[int, str]:
    """Decide again for each held or active panel membership of ``user`` here, after something
    a hold depends on changed (a date of birth, a consent). Call inside a transaction. Returns
    the new status of each membership that changed, by id."""
    memberships = await scope.objects(PanelMembership).where(
        (PanelMembership.user == user.id)
        & (
            (PanelMembership.status == "active")
            # Held: accepted, waiting for a hold to go. A row invited again still has the address.
            | ((PanelMembership.status == "invited") & (PanelMembership.invited_email == ""))
        )
    ).order_by(PanelMembership.id)
    changes: dict[int, str] = {}
    for membership in memberships:
        before = membership.status
        status = await settle_activation(scope, membership, user, actor, by=by)
        if status is not None and status != before:
            changes[membership.id] = status
    return changes


async def end_memberships_of(scope: TenantScope, user_id: int, actor: User) -> None:
    """End every panel membership that can still end of a person who is no longer a panel member
    in this tenant, so no panel, round or warning keeps counting someone without a name here.
    Runs inside the caller's transaction."""
    ending = [status for status, targets in MEMBERSHIP_TRANSITIONS.items() if "ended" in targets]
    rows = await scope.select(PanelMembership, PanelMembership.id, PanelMembership.status).where(
        (PanelMembership.user == user_id) & PanelMembership.status.is_in(ending)
    )
    if not rows:
        return
    await scope.update(PanelMembership, {PanelMembership.status: "ended"}).where(
        PanelMembership.id.is_in([row["id"] for row in rows])
    )
    for row in rows:
        await audit.record_in(
            scope, "panel_membership.status_changed", "panel_membership", row["id"], actor,
            before={"status": row["status"]}, after={"status": "ended"},
        )


# --- reading -----------------------------------------------------------------------------------


def _member_columns():
    return (
        PanelMembership.id,
        PanelMembership.panel.as_alias("panel_id"),
        PanelMembership.user.as_alias("user_id"),
        PanelMembership.invited_email,
        PanelMembership.status,
        PanelMembership.age_band,
        PanelMembership.support_contact.as_alias("support_contact_id"),
        PanelMembership.monthly_hours_budget,
        _display_name_of('"user"', PANEL_MEMBER).as_alias("display_name"),
        _display_name_of("support_contact", SUPPORT_CONTACT).as_alias("support_contact_name"),
    )


async def panel_detail(scope: TenantScope, panel_id: int, viewer: Viewer) -> dict:
    """A panel page's data, in a constant number of queries (404 for another tenant's panel).

    Managers see every member, the open invitations and the support contacts to choose from;
    a support contact sees only the members they support (data minimisation).
    """
    panel = await scope.get(Panel, panel_id)
    manager = is_manager(viewer.roles)
    query = scope.select(PanelMembership, *_member_columns()).where(
        PanelMembership.panel == panel.id
    )
    if not manager:
        query = query.where(PanelMembership.support_contact == viewer.user.id)
    members = sorted(
        await query,
        key=lambda row: (STATUS_ORDER.get(row["status"], 9), (row["display_name"] or row["invited_email"]).casefold()),
    )
    open_invitations: list[Invitation] = []
    contacts: list[dict] = []
    if manager:
        rows = await scope.objects(Invitation).where(Invitation.panel == panel.id).order_by(
            Invitation.created_at, ascending=False
        )
        open_invitations = [
            row for row in rows if invitations.state_of(row) == invitations.InvitationState.OPEN
        ]
        contacts = await support_contacts(scope)
    return {
        "panel": panel,
        "members": members,
        "invitations": open_invitations,
        "support_contacts": contacts,
        "can_manage": manager,
    }


async def membership_detail(scope: TenantScope, panel_membership_id: int) -> dict:
    """One membership with its display names (404 for another tenant's id)."""
    row = None
    if 0 < panel_membership_id <= MAX_ID:
        row = await scope.select(PanelMembership, *_member_columns()).where(
            PanelMembership.id == panel_membership_id
        ).first()
    if row is None:
        raise NotFoundException()
    return row


async def active_members_of_panels(scope: TenantScope, panel_ids: list[int]) -> list[dict]:
    """The active members of these panels, in one query.

    Each dict: ``user_id``, ``display_name``, ``panel_id``, ``age_band``,
    ``support_contact_id``, ``monthly_hours_budget``. A person in two of the panels appears
    once per panel.
    """
    panel_ids = list(panel_ids)
    if not panel_ids:
        return []
    return await scope.select(
        PanelMembership,
        PanelMembership.user.as_alias("user_id"),
        _display_name_of('"user"', PANEL_MEMBER).as_alias("display_name"),
        PanelMembership.panel.as_alias("panel_id"),
        PanelMembership.age_band,
        PanelMembership.support_contact.as_alias("support_contact_id"),
        PanelMembership.monthly_hours_budget,
    ).where(
        PanelMembership.panel.is_in(panel_ids)
        & (PanelMembership.status == "active")
        & PanelMembership.user.is_not_null()
    ).order_by(PanelMembership.panel).order_by(PanelMembership.id)
