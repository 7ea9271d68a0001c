"""Who sees which consultation rounds: the one place for this rule.

* tenant admins and policy officers: every round of their tenant;
* council members: rounds that have been sent (sent or closed), never a draft;
* panel members: sent or closed rounds to which a panel they are an *active* member of is invited;
* support contacts: sent or closed rounds to which a panel is invited in which someone they
  support (an active membership naming them as support contact) is a member.

Someone with several roles sees the union. The rule is expressed as a condition on
``ConsultationRound`` built from sub-queries through the tenant scope, so it can be added to any
query (a list, a count, an existence check) and costs one query, whatever the number of panels.
"""

from __future__ import annotations

from piccolo.columns.combination import And, Or, Where

from portal.accounts.roles import (
    COUNCIL_MEMBER,
    PANEL_MEMBER,
    POLICY_OFFICER,
    SUPPORT_CONTACT,
    TENANT_ADMIN,
)
from portal.core.context import RequestContext
from portal.core.tenancy import TenantScope
from portal.panels.tables import PanelMembership
from portal.rounds.tables import ConsultationRound, RoundPanel

MANAGER_ROLES = (TENANT_ADMIN, POLICY_OFFICER)
# Statuses that people outside the organisation may see.
PUBLISHED_STATUSES = ("sent", "closed")

Condition = And | Or | Where


def can_manage_rounds(ctx: RequestContext) -> bool:
    return ctx.user is not None and ctx.has_role(*MANAGER_ROLES)


def _nothing() -> Where:
    """A condition no round meets (a primary key is never null)."""
    return ConsultationRound.id.is_null()


def panels_of_member(scope: TenantScope, user_id: int):
    """Sub-query: the panels in which this person is an active member."""
    return scope.select(PanelMembership, PanelMembership.panel).where(
        (PanelMembership.user == user_id) & (PanelMembership.status == "active")
    )


def panels_of_supported_members(scope: TenantScope, user_id: int):
    """Sub-query: the panels of the active members whom this person supports."""
    return scope.select(PanelMembership, PanelMembership.panel).where(
        (PanelMembership.support_contact == user_id) & (PanelMembership.status == "active")
    )


def panel_queries(scope: TenantScope, ctx: RequestContext) -> list:
    """Sub-queries of the panels through which this person takes part, one per role that gives
    a way in: as an active member, and as the support contact of active members."""
    if ctx.user is None:
        return []
    queries = []
    if ctx.has_role(PANEL_MEMBER):
        queries.append(panels_of_member(scope, ctx.user.id))
    if ctx.has_role(SUPPORT_CONTACT):
        queries.append(panels_of_supported_members(scope, ctx.user.id))
    return queries


def panel_condition(scope: TenantScope, ctx: RequestContext) -> Condition | None:
    """Rounds reached through panels (as panel member or support contact); None: no such role.

    This is also what "my rounds" lists, for every role.
    """
    queries = panel_queries(scope, ctx)
    if not queries:
        return None
    panels: Condition | None = None
    for query in queries:
        condition = RoundPanel.panel.is_in(query)
        panels = condition if panels is None else panels | condition
    invited_rounds = scope.select(RoundPanel, RoundPanel.round).where(panels)
    return ConsultationRound.id.is_in(invited_rounds) & ConsultationRound.status.is_in(
        list(PUBLISHED_STATUSES)
    )


def visibility_condition(scope: TenantScope, ctx: RequestContext) -> Condition | None:
    """A condition on ConsultationRound for the rounds this person may see; None means all."""
    if ctx.user is None:
        return _nothing()
    if can_manage_rounds(ctx):
        return None
    if ctx.has_role(COUNCIL_MEMBER):
        return ConsultationRound.status.is_in(list(PUBLISHED_STATUSES))
    return panel_condition(scope, ctx) or _nothing()


def visible_rounds(scope: TenantScope, ctx: RequestContext):
    """The rounds this person may see, as a query of ConsultationRound objects to refine."""
    query = scope.objects(ConsultationRound)
    condition = visibility_condition(scope, ctx)
    return query if condition is None else query.where(condition)


async def visible_round_ids(scope: TenantScope, ctx: RequestContext) -> set[int] | None:
    """The ids of the rounds this person may see; None means every round of the tenant."""
    condition = visibility_condition(scope, ctx)
    if condition is None:
        return None
    rows = await scope.select(ConsultationRound, ConsultationRound.id).where(condition)
    return {row["id"] for row in rows}


async def can_see_round(scope: TenantScope, ctx: RequestContext, round_: ConsultationRound) -> bool:
    if round_.tenant != scope.tenant_id:
        return False  # another tenant's round does not exist here, whoever asks
    condition = visibility_condition(scope, ctx)
    if condition is None:
        return True
    return await scope.exists(ConsultationRound).where(
        (ConsultationRound.id == round_.id) & condition
    )
