"""Who may see and do what with advice: the one place for this rule.

* Officers (tenant admins and policy officers) read all advice of their tenant and respond.
* Panel members read and co-write the advice of panels they are an *active* member of; joint
  advice (``panel`` null) belongs to every panel invited to its round. They vote on adoption.
* Support contacts read the advice of the panels of the members they support
  (the sub-queries of ``portal/rounds/visibility.py``).
* Council members read submitted advice, with its responses, decisions and outcomes.

Everyone else gets a 404. ``advice_access`` costs at most two queries; ``readable_advice_condition``
is one condition on ``Advice`` for lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar.exceptions import NotFoundException
from piccolo.columns.combination import And, Or, Where

from portal.accounts.roles import COUNCIL_MEMBER, PANEL_MEMBER, SUPPORT_CONTACT
from portal.advice.tables import Advice, AdviceItem
from portal.core.context import RequestContext
from portal.core.tenancy import TenantScope
from portal.panels.tables import PanelMembership
from portal.rounds.tables import RoundPanel
from portal.rounds.visibility import can_manage_rounds, panel_queries

Condition = And | Or | Where


@dataclass(frozen=True)
class AdviceAccess:
    """What one person may do with one advice document."""

    can_read: bool = False
    is_officer: bool = False
    is_council: bool = False
    # The advice's panels in which the person is an active member.
    member_panel_ids: frozenset[int] = field(default_factory=frozenset)
    supports: bool = False

    @property
    def is_member(self) -> bool:
        return bool(self.member_panel_ids)


NO_ACCESS = AdviceAccess()


async def advice_panel_ids(scope: TenantScope, advice: Advice) -> list[int]:
    """The advice's own panel, or every panel invited to the round for joint advice."""
    if advice.panel is not None:
        return [advice.panel]
    if advice.round is None:
        return []
    rows = await scope.select(RoundPanel, RoundPanel.panel).where(RoundPanel.round == advice.round)
    return [row["panel"] for row in rows]


async def advice_access(scope: TenantScope, ctx: RequestContext, advice: Advice) -> AdviceAccess:
    if ctx.user is None or advice.tenant != scope.tenant_id:
        return NO_ACCESS
    officer = can_manage_rounds(ctx)
    council = ctx.has_role(COUNCIL_MEMBER)
    member_panels: frozenset[int] = frozenset()
    supports = False
    if ctx.has_role(PANEL_MEMBER, SUPPORT_CONTACT):
        panel_ids = await advice_panel_ids(scope, advice)
        rows = await scope.select(
            PanelMembership, PanelMembership.panel, PanelMembership.user, PanelMembership.support_contact
        ).where(
            # No panel (a round without panels): an id no panel has, as is_in([]) is not valid SQL.
            PanelMembership.panel.is_in(panel_ids or [0]) & (PanelMembership.status == "active")
            & ((PanelMembership.user == ctx.user.id) | (PanelMembership.support_contact == ctx.user.id))
        )
        if ctx.has_role(PANEL_MEMBER):
            member_panels = frozenset(row["panel"] for row in rows if row["user"] == ctx.user.id)
        supports = ctx.has_role(SUPPORT_CONTACT) and any(
            row["support_contact"] == ctx.user.id for row in rows
        )
    can_read = officer or bool(member_panels) or supports or (council and advice.status == "submitted")
    return AdviceAccess(can_read=can_read, is_officer=officer, is_council=council,
                        member_panel_ids=member_panels, supports=supports)


async def get_advice_and_access(
    scope: TenantScope, ctx: RequestContext, advice_id: int
) -> tuple[Advice, AdviceAccess]:
    """The advice and the person's access; 404 when they may not read it."""
    advice = await scope.get(Advice, advice_id)
    access = await advice_access(scope, ctx, advice)
    if not access.can_read:
        raise NotFoundException()
    return advice, access


async def get_item_and_access(
    scope: TenantScope, ctx: RequestContext, item_id: int
) -> tuple[AdviceItem, Advice, AdviceAccess]:
    item = await scope.get(AdviceItem, item_id)
    advice, access = await get_advice_and_access(scope, ctx, item.advice)
    return item, advice, access


def readable_advice_condition(scope: TenantScope, ctx: RequestContext) -> Condition | None:
    """A condition on ``Advice`` for the advice this person may read; None means all."""
    if ctx.user is None:
        return Advice.id.is_null()
    if can_manage_rounds(ctx):
        return None
    conditions: list[Condition] = []
    if ctx.has_role(COUNCIL_MEMBER):
        conditions.append(Advice.status == "submitted")
    for query in panel_queries(scope, ctx):
        joint_rounds = scope.select(RoundPanel, RoundPanel.round).where(RoundPanel.panel.is_in(query))
        conditions.append(Advice.panel.is_in(query))
        conditions.append(Advice.panel.is_null() & Advice.round.is_in(joint_rounds))
    if not conditions:
        return Advice.id.is_null()
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined | condition
    return combined


def readable_advice(scope: TenantScope, ctx: RequestContext):
    """Sub-query: the ids of the advice this person may read."""
    query = scope.select(Advice, Advice.id)
    condition = readable_advice_condition(scope, ctx)
    return query if condition is None else query.where(condition)
