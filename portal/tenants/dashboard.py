"""The tenant start page: what each role needs to see or do first."""

from __future__ import annotations

import datetime

from portal.accounts.roles import (
    COUNCIL_MEMBER,
    PANEL_MEMBER,
    POLICY_OFFICER,
    SUPPORT_CONTACT,
    TENANT_ADMIN,
)
from portal.advice.overview import advice_to_handle
from portal.agreements.service import agreements_section
from portal.core.context import RequestContext
from portal.core.tenancy import TenantScope
from portal.cycles import service as cycles
from portal.deliberation.access import member_access, participation_refusal
from portal.invitations import service as invitations
from portal.panels.tables import PanelMembership
from portal.rounds.service import deadline_date, my_rounds
from portal.rounds.tables import ConsultationRound
from portal.rounds.visibility import visible_rounds

MANAGERS = (TENANT_ADMIN, POLICY_OFFICER)


async def _rounds_to_handle(scope: TenantScope, ctx: RequestContext) -> dict:
    """Open rounds, drafts to finish, and sent rounds past their deadline (to close)."""
    rounds = await visible_rounds(scope, ctx).where(ConsultationRound.status != "closed")
    today = datetime.date.today()
    by_deadline = sorted(rounds, key=lambda round_: deadline_date(round_.deadline) or datetime.date.max)
    return {
        "open_rounds": [round_ for round_ in by_deadline if round_.status == "sent"],
        "draft_rounds": [round_ for round_ in by_deadline if round_.status == "draft"],
        "overdue_rounds": [
            round_ for round_ in by_deadline
            if round_.status == "sent" and (deadline_date(round_.deadline) or today) < today
        ],
    }


async def _supported_members(scope: TenantScope, ctx: RequestContext) -> list[dict]:
    return await scope.select(
        PanelMembership,
        PanelMembership.id,
        PanelMembership.panel.name.as_alias("panel_name"),
        PanelMembership.panel,
        PanelMembership.status,
        PanelMembership.user,
    ).where(
        (PanelMembership.support_contact == ctx.user.id) & PanelMembership.status.is_in(["active", "paused"])
    ).order_by(PanelMembership.panel.name)


async def dashboard(scope: TenantScope, ctx: RequestContext) -> dict:
    sections: dict = {}
    if ctx.has_role(*MANAGERS, COUNCIL_MEMBER):
        all_cycles = await cycles.list_cycles(scope)
        active = [cycle for cycle in all_cycles if cycle.status == "active"]
        sections["cycles"] = (
            [cycle for cycle in active if cycle.owner_id == ctx.user.id] if ctx.has_role(*MANAGERS) else active
        )
        sections.update(await _rounds_to_handle(scope, ctx))
    if ctx.has_role(PANEL_MEMBER, SUPPORT_CONTACT):
        sections["my_rounds"] = [row for row in await my_rounds(scope, ctx) if row["status"] == "sent"]
    if ctx.has_role(PANEL_MEMBER):
        sections["my_invitations"] = await invitations.open_invitations_for(scope, ctx.user.email)
    if ctx.has_role(SUPPORT_CONTACT):
        members = await _supported_members(scope, ctx)
        names = await cycles.display_names(scope, {row["user"] for row in members})
        sections["supported_members"] = [{**row, "display_name": names.get(row["user"], "")} for row in members]
    if ctx.has_role(PANEL_MEMBER, *MANAGERS):
        sections["advice"] = await advice_to_handle(scope, ctx)
    if ctx.has_role(PANEL_MEMBER):
        sections.update(await agreements_section(scope, ctx.user.id))
        # Why the member cannot take part yet (no consent), unless the guardian's notice says it.
        if not sections["guardian_needed"]:
            sections["participation_refusal"] = await participation_refusal(scope, member_access(ctx.user), ctx.user)
    return sections
