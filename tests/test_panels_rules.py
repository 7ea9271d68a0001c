"""Panels and panel memberships: the state machine, invitations into a panel, and what is read."""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import product

import pytest

from portal.accounts.tables import Membership, User
from portal.core.audit import AuditEntry
from portal.core.context import RequestContext
from portal.core.database import query_counter
from portal.core.states import TransitionError, check_transition
from portal.core.tenancy import TenantScope
from portal.invitations import service as invitations
from portal.invitations.tables import Invitation
from portal.panels import service
from portal.panels.rules import MEMBERSHIP_STATUSES, MEMBERSHIP_TRANSITIONS
from portal.panels.tables import Panel, PanelMembership
from tests.support import everywhere, make_tenant, make_user

NEW_ACCOUNT = {"name": "Lisa Visser", "password": "een-lang-wachtwoord"}
ALL_PAIRS = list(product(MEMBERSHIP_STATUSES, MEMBERSHIP_STATUSES))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in MEMBERSHIP_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in MEMBERSHIP_TRANSITIONS[a]]


@pytest.fixture
async def alpha():
    tenant = await make_tenant("alpha")
    officer = await make_user("officer@alpha.example", tenant=tenant, roles=("policy_officer",), name="Olaf")
    return TenantScope(tenant), officer


async def new_panel(scope, actor, name="Ouderpanel", kind="parents") -> Panel:
    return await service.create_panel(scope, actor=actor, name=name, kind=kind)


async def invite(scope, actor, panel, email="lisa@example.nl", *, support_contact_id=None, budget="8",
                 age_band="21_26"):
    return await service.invite_member(
        scope, panel, inviter=actor, inviter_roles={"policy_officer"}, email=email, age_band=age_band,
        support_contact_id=support_contact_id, monthly_hours_budget=Decimal(budget), days=14,
    )


async def member_in(scope, panel, status, email="member@example.nl", **values) -> PanelMembership:
    """A membership in ``status`` with an account (or only an address while invited)."""
    user = None if status == "invited" else await make_user(email, tenant=scope.tenant, roles=("panel_member",))
    membership = scope.new(
        PanelMembership, panel=panel.id, user=user.id if user else None, status=status,
        invited_email=email if status == "invited" else "", age_band="18_20", **values,
    )
    await membership.save()
    return membership


async def reload(membership) -> PanelMembership:
    return await everywhere(PanelMembership).objects().get(PanelMembership.id == membership.id)


# --- the state machine ---------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions_pass_the_check(current, target):
    check_transition(MEMBERSHIP_TRANSITIONS, current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_other_transitions_are_refused(current, target):
    with pytest.raises(TransitionError):
        check_transition(MEMBERSHIP_TRANSITIONS, current, target)


@pytest.mark.parametrize(("current", "target"), [pair for pair in ALLOWED if pair != ("invited", "active")])
async def test_manager_changes_status_along_the_rules_and_it_is_audited(alpha, current, target):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership = await member_in(scope, panel, current)
    await service.change_membership_status(scope, membership, actor=officer, status=target)
    assert (await reload(membership)).status == target
    # Ending a pause is an activation, decided where every activation is (settle_activation).
    resumed = target == "active"
    action = "panel_membership.activated" if resumed else "panel_membership.status_changed"
    entry = await AuditEntry.objects().where(AuditEntry.action == action).first()
    assert (entry.object_id, entry.actor, entry.tenant) == (membership.id, officer.id, scope.tenant_id)
    assert json.loads(entry.before) == {"status": current}
    assert json.loads(entry.after) == ({"status": target, "by": "pause_ended"} if resumed else {"status": target})


@pytest.mark.parametrize(("current", "target"), REFUSED + [("invited", "active")])
async def test_refused_status_change_changes_nothing(alpha, current, target):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership = await member_in(scope, panel, current)
    with pytest.raises(TransitionError):
        await service.change_membership_status(scope, membership, actor=officer, status=target)
    assert (await reload(membership)).status == current
    assert not await AuditEntry.exists().where(AuditEntry.action == "panel_membership.status_changed")


def test_managers_are_not_offered_to_activate_an_invitation():
    assert service.status_targets("invited") == ("withdrawn",)
    assert service.status_targets("paused") == ("active", "withdrawn", "ended")
    assert service.status_targets("ended") == ()


async def test_a_stale_status_change_is_refused(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership = await member_in(scope, panel, "active")
    stale = await reload(membership)
    await service.change_membership_status(scope, membership, actor=officer, status="paused")
    with pytest.raises(TransitionError):
        await service.change_membership_status(scope, stale, actor=officer, status="withdrawn")
    assert (await reload(membership)).status == "paused"


# --- panels --------------------------------------------------------------------------------------


async def test_panel_name_is_unique_per_tenant_but_free_in_another(alpha):
    scope, officer = alpha
    await new_panel(scope, officer, "Ouderpanel")
    with pytest.raises(service.PanelError) as refused:
        await new_panel(scope, officer, " ouderpanel ")
    assert refused.value.field == "name"
    beta = TenantScope(await make_tenant("beta"))
    other = await new_panel(beta, officer, "Ouderpanel")
    assert other.tenant == beta.tenant_id
    assert await everywhere(Panel).count() == 2


async def test_renaming_to_another_panels_name_is_refused(alpha):
    scope, officer = alpha
    first = await new_panel(scope, officer, "Ouderpanel")
    second = await new_panel(scope, officer, "Jongerenpanel", "youth")
    with pytest.raises(service.PanelError):
        await service.update_panel(scope, second, actor=officer, name="Ouderpanel", kind="youth")
    await service.update_panel(scope, first, actor=officer, name="Ouderpanel", kind="mixed",
                               partner_organisation="Stichting Samen")
    stored = await everywhere(Panel).objects().get(Panel.id == first.id)
    assert (stored.kind, stored.partner_organisation) == ("mixed", "Stichting Samen")
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert actions == ["panel.created", "panel.created", "panel.updated"]


async def test_unknown_kind_is_refused(alpha):
    scope, officer = alpha
    with pytest.raises(service.PanelError):
        await new_panel(scope, officer, kind="elders")
    assert await everywhere(Panel).count() == 0


async def test_list_panels_counts_active_members_in_one_query(alpha):
    scope, officer = alpha
    parents = await new_panel(scope, officer, "Ouderpanel")
    youth = await new_panel(scope, officer, "Jongerenpanel", "youth")
    await member_in(scope, parents, "active", "a@example.nl")
    await member_in(scope, parents, "active", "b@example.nl")
    await member_in(scope, parents, "paused", "c@example.nl")
    await member_in(scope, parents, "invited", "d@example.nl")
    other = TenantScope(await make_tenant("beta"))
    await new_panel(other, officer, "Ouderpanel")
    with query_counter.measure() as measured:
        panels = await service.list_panels(scope)
    assert measured["queries"] == 1
    assert {row["name"]: row["active_members"] for row in panels} == {"Ouderpanel": 2, "Jongerenpanel": 0}
    assert youth.id in {row["id"] for row in panels}


# --- inviting and accepting ----------------------------------------------------------------------


async def test_invite_creates_an_invitation_and_an_invited_membership(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    contact = await make_user("coach@alpha.example", tenant=scope.tenant, roles=("support_contact",))
    membership, invitation, token = await invite(scope, officer, panel, "Lisa@Example.nl",
                                                 support_contact_id=contact.id, budget="6.5")
    stored = await everywhere(Invitation).objects().get(Invitation.id == invitation.id)
    assert (stored.email, stored.role, stored.panel) == ("lisa@example.nl", "panel_member", panel.id)
    assert await invitations.find_by_token(scope, token) is not None
    row = await reload(membership)
    assert (row.status, row.user, row.invited_email, row.age_band) == ("invited", None, "lisa@example.nl", "21_26")
    assert (row.support_contact, row.monthly_hours_budget) == (contact.id, Decimal("6.5"))
    actions = {row["action"] for row in await AuditEntry.select(AuditEntry.action)}
    assert {"invitation.created", "panel_membership.invited"} <= actions


async def test_accepting_activates_the_membership_and_gives_the_role_once(alpha):
    scope, officer = alpha
    parents = await new_panel(scope, officer, "Ouderpanel")
    mixed = await new_panel(scope, officer, "Gemengd panel", "mixed")
    first, invitation, _ = await invite(scope, officer, parents)
    user = await invitations.accept_invitation(scope, invitation, user=None, display_name="Zonnebloem",
                                               new_account=NEW_ACCOUNT)
    row = await reload(first)
    assert (row.status, row.user, row.invited_email) == ("active", user.id, "")
    # Already a panel member here: the second panel invitation only adds the panel membership.
    second, invitation, _ = await invite(scope, officer, mixed)
    await invitations.accept_invitation(scope, invitation, user=user, display_name="Ignored")
    assert (await reload(second)).status == "active"
    roles = await everywhere(Membership).select(Membership.role, Membership.display_name).where(Membership.user == user.id)
    assert roles == [{"role": "panel_member", "display_name": "Zonnebloem"}]
    activated = await AuditEntry.count().where(AuditEntry.action == "panel_membership.activated")
    assert activated == 2


async def test_existing_account_with_another_role_gets_the_panel_role_on_accepting(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    council = await make_user("raad@alpha.example", tenant=scope.tenant, roles=("council_member",))
    membership, invitation, _ = await invite(scope, officer, panel, council.email)
    await invitations.accept_invitation(scope, invitation, user=council, display_name="Raadslid R.")
    roles = {row["role"] for row in await everywhere(Membership).select(Membership.role).where(Membership.user == council.id)}
    assert roles == {"council_member", "panel_member"}
    assert (await reload(membership)).user == council.id


async def test_reinviting_a_current_member_is_refused(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    _, invitation, _ = await invite(scope, officer, panel)
    with pytest.raises(service.PanelError) as still_open:
        await invite(scope, officer, panel)
    assert still_open.value.field == "email"
    await invitations.accept_invitation(scope, invitation, user=None, display_name="L", new_account=NEW_ACCOUNT)
    with pytest.raises(service.PanelError):
        await invite(scope, officer, panel)
    assert await everywhere(PanelMembership).count() == 1
    assert await everywhere(Invitation).count() == 1


async def test_a_failed_invitation_leaves_nothing_behind(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    with pytest.raises(service.PanelError):
        await service.invite_member(
            scope, panel, inviter=officer, inviter_roles={"council_member"}, email="x@example.nl",
            age_band="18_20", support_contact_id=None, monthly_hours_budget=Decimal(8), days=14,
        )
    assert await everywhere(Invitation).count() == 0
    assert await everywhere(PanelMembership).count() == 0


async def test_invitation_and_membership_are_made_in_one_transaction(alpha, monkeypatch):
    """When the membership's audit entry fails, the invitation made just before is undone too."""
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    record = service.audit.record

    async def failing_record(action, **values):
        if action == "panel_membership.invited":
            raise RuntimeError("disk full")
        await record(action, **values)

    monkeypatch.setattr(service.audit, "record", failing_record)
    with pytest.raises(RuntimeError):
        await invite(scope, officer, panel)
    assert await everywhere(Invitation).count() == 0
    assert await everywhere(PanelMembership).count() == 0
    assert not await AuditEntry.exists().where(AuditEntry.action == "invitation.created")


async def test_acceptance_is_one_transaction(alpha, monkeypatch):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership, invitation, _ = await invite(scope, officer, panel)
    record = invitations.audit.record

    async def failing_record(action, **values):
        if action == "panel_membership.activated":
            raise RuntimeError("disk full")
        await record(action, **values)

    monkeypatch.setattr(invitations.audit, "record", failing_record)
    with pytest.raises(RuntimeError):
        await invitations.accept_invitation(scope, invitation, user=None, display_name="L", new_account=NEW_ACCOUNT)
    assert (await reload(membership)).status == "invited"
    assert not await User.exists().where(User.email == "lisa@example.nl")
    assert invitations.state_of(await everywhere(Invitation).objects().get(Invitation.id == invitation.id)) == "open"


async def test_withdrawing_an_invited_member_revokes_the_invitation(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership, invitation, token = await invite(scope, officer, panel)
    await service.change_membership_status(scope, membership, actor=officer, status="withdrawn")
    stored = await invitations.find_by_token(scope, token)
    assert invitations.state_of(stored) == "revoked"
    with pytest.raises(invitations.InvitationError):
        await invitations.accept_invitation(scope, stored, user=None, display_name="L", new_account=NEW_ACCOUNT)
    assert not await User.exists().where(User.email == "lisa@example.nl")
    # Withdrawn: the person may be invited again.
    again, _, _ = await invite(scope, officer, panel)
    assert again.status == "invited"


async def test_a_former_member_invited_again_keeps_one_row_and_becomes_active(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership, invitation, _ = await invite(scope, officer, panel)
    user = await invitations.accept_invitation(scope, invitation, user=None, display_name="L", new_account=NEW_ACCOUNT)
    await service.change_membership_status(scope, await reload(membership), actor=officer, status="ended")
    again, invitation, _ = await invite(scope, officer, panel, age_band="27_plus")
    assert again.id == membership.id
    await invitations.accept_invitation(scope, invitation, user=user, display_name="L")
    row = await reload(membership)
    assert (row.status, row.user, row.age_band) == ("active", user.id, "27_plus")
    assert await everywhere(PanelMembership).count() == 1


async def test_invitation_that_expired_can_be_sent_again(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    membership, invitation, _ = await invite(scope, officer, panel)
    await invitations.revoke_invitation(scope, invitation, officer)  # withdrawn on the invitations page
    again, invitation, _ = await invite(scope, officer, panel, budget="4")
    assert again.id == membership.id and (await reload(membership)).monthly_hours_budget == Decimal(4)
    await invitations.accept_invitation(scope, invitation, user=None, display_name="L", new_account=NEW_ACCOUNT)
    assert (await reload(membership)).status == "active"


async def test_support_contact_must_be_a_support_contact_of_this_tenant(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    beta = await make_tenant("beta")
    elsewhere = await make_user("coach@beta.example", tenant=beta, roles=("support_contact",))
    for wrong in (elsewhere.id, officer.id, 999_999):
        with pytest.raises(service.PanelError) as refused:
            await invite(scope, officer, panel, support_contact_id=wrong)
        assert refused.value.field == "support_contact"
    assert await everywhere(PanelMembership).count() == 0 and await everywhere(Invitation).count() == 0
    membership, _, _ = await invite(scope, officer, panel)
    with pytest.raises(service.PanelError):
        await service.update_membership(scope, membership, actor=officer, age_band="18_20",
                                        support_contact_id=elsewhere.id, monthly_hours_budget=Decimal(8))
    assert (await reload(membership)).support_contact is None


async def test_update_membership_is_audited_and_refused_once_ended(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    contact = await make_user("coach@alpha.example", tenant=scope.tenant, roles=("support_contact",))
    membership = await member_in(scope, panel, "active")
    await service.update_membership(scope, membership, actor=officer, age_band="16_17",
                                    support_contact_id=contact.id, monthly_hours_budget=Decimal("12.5"))
    row = await reload(membership)
    assert (row.age_band, row.support_contact, row.monthly_hours_budget) == ("16_17", contact.id, Decimal("12.5"))
    entry = await AuditEntry.objects().get(AuditEntry.action == "panel_membership.updated")
    assert json.loads(entry.before)["age_band"] == "18_20" and json.loads(entry.after)["age_band"] == "16_17"
    ended = await member_in(scope, panel, "ended", "old@example.nl")
    with pytest.raises(TransitionError):
        await service.update_membership(scope, ended, actor=officer, age_band="16_17",
                                        support_contact_id=None, monthly_hours_budget=Decimal(1))


@pytest.mark.parametrize("budget", ["-1", "160.5"])
async def test_time_budget_outside_the_limits_is_refused(alpha, budget):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    with pytest.raises(service.PanelError):
        await invite(scope, officer, panel, budget=budget)
    assert await everywhere(PanelMembership).count() == 0


# --- reading -------------------------------------------------------------------------------------


async def test_active_members_of_panels_returns_only_active_ones_in_one_query(alpha):
    scope, officer = alpha
    parents = await new_panel(scope, officer, "Ouderpanel")
    youth = await new_panel(scope, officer, "Jongerenpanel", "youth")
    contact = await make_user("coach@alpha.example", tenant=scope.tenant, roles=("support_contact",))
    active = await member_in(scope, parents, "active", "a@example.nl", support_contact=contact.id,
                             monthly_hours_budget=Decimal("5.5"))
    # A person with a staff role too: the name shown as panel member is used.
    await scope.new(Membership, user=active.user, role="council_member", display_name="Staff name").save()
    await scope.update(Membership, {Membership.display_name: "Zonnebloem"}).where(
        (Membership.user == active.user) & (Membership.role == "panel_member"))
    for status, email in (("paused", "p@example.nl"), ("invited", "i@example.nl"),
                          ("withdrawn", "w@example.nl"), ("ended", "e@example.nl")):
        await member_in(scope, parents, status, email)
    in_youth = await member_in(scope, youth, "active", "y@example.nl")
    beta = TenantScope(await make_tenant("beta"))
    foreign_panel = await new_panel(beta, officer, "Ouderpanel")
    await member_in(beta, foreign_panel, "active", "f@example.nl")

    with query_counter.measure() as measured:
        rows = await service.active_members_of_panels(scope, [parents.id, foreign_panel.id])
    assert measured["queries"] == 1
    assert rows == [{
        "user_id": active.user, "display_name": "Zonnebloem", "panel_id": parents.id, "age_band": "18_20",
        "support_contact_id": contact.id, "monthly_hours_budget": Decimal("5.5"),
    }]
    both = await service.active_members_of_panels(scope, [parents.id, youth.id])
    assert {row["user_id"] for row in both} == {active.user, in_youth.user}
    assert await service.active_members_of_panels(scope, []) == []


async def test_panel_detail_shows_all_to_managers_and_only_their_members_to_a_support_contact(alpha):
    scope, officer = alpha
    panel = await new_panel(scope, officer)
    coach = await make_user("coach@alpha.example", tenant=scope.tenant, roles=("support_contact",),
                            display_name="Coach Carla")
    other_coach = await make_user("coach2@alpha.example", tenant=scope.tenant, roles=("support_contact",))
    supported = await member_in(scope, panel, "active", "a@example.nl", support_contact=coach.id)
    await member_in(scope, panel, "active", "b@example.nl", support_contact=other_coach.id)
    await member_in(scope, panel, "paused", "c@example.nl")
    await invite(scope, officer, panel, "new@example.nl")

    as_officer = RequestContext(user=officer, tenant=scope.tenant, roles={"policy_officer"})
    with query_counter.measure() as measured:
        detail = await service.panel_detail(scope, panel.id, as_officer)
    assert measured["queries"] <= 4
    assert len(detail["members"]) == 4 and len(detail["invitations"]) == 1
    assert {row["user_id"] for row in detail["support_contacts"]} == {coach.id, other_coach.id}
    row = next(row for row in detail["members"] if row["id"] == supported.id)
    assert (row["display_name"], row["support_contact_name"]) == ("Test Person", "Coach Carla")

    as_coach = RequestContext(user=coach, tenant=scope.tenant, roles={"support_contact"})
    detail = await service.panel_detail(scope, panel.id, as_coach)
    assert [row["id"] for row in detail["members"]] == [supported.id]
    assert detail["invitations"] == [] and detail["support_contacts"] == [] and not detail["can_manage"]


async def test_panel_detail_of_another_tenants_panel_is_not_found(alpha):
    from litestar.exceptions import NotFoundException

    scope, officer = alpha
    beta = TenantScope(await make_tenant("beta"))
    foreign = await new_panel(beta, officer)
    viewer = RequestContext(user=officer, tenant=scope.tenant, roles={"policy_officer"})
    with pytest.raises(NotFoundException):
        await service.panel_detail(scope, foreign.id, viewer)
