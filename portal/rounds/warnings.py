"""Warnings for the policy officer, shown where they matter (the stage page and the round page).

Each function runs a fixed number of queries, whatever the number of panels and members.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage
from portal.panels.rules import PARENT_PANEL_KINDS
from portal.panels.service import active_members_of_panels
from portal.panels.tables import PanelMembership
from portal.rounds.service import (
    deadline_date,
    format_hours,
    invited_panel_ids,
)
from portal.rounds.tables import ConsultationRound, RoundPanel

MINIMUM_EXPERTS = 2
# Warnings other features add to a round's: ``async (scope, round_, members) -> list[str]``, with
# the active members of the invited panels as ``active_members_of_panels`` gives them.
ROUND_WARNING_CHECKS: list = []


async def stage_warnings(scope: TenantScope, stage: Stage) -> list[str]:
    """A stage without a panel of parents (or a mixed panel) invited to any of its rounds."""
    if stage.status == "closed":
        return []
    has_parent_panel = await scope.exists(RoundPanel).where(
        (RoundPanel.round.stage == stage.id)
        & RoundPanel.panel.kind.is_in(list(PARENT_PANEL_KINDS))
    )
    if has_parent_panel:
        return []
    return [
        _("No panel of parents is invited to a round in this stage. The parent perspective is often forgotten: consider inviting a parent panel or a mixed panel.")
    ]


async def round_warnings(scope: TenantScope, round_: ConsultationRound) -> list[str]:
    """Too few experts, members whose invited effort exceeds their time budget, and members
    without a support contact. Nothing for a closed round."""
    if round_.status == "closed":
        return []
    panel_ids = await invited_panel_ids(scope, round_.id)
    members = await active_members_of_panels(scope, panel_ids)
    warnings: list[str] = []

    expert_count = len({member["user_id"] for member in members})
    if expert_count < MINIMUM_EXPERTS:
        warnings.append(
            _(
                "Fewer than two experts are invited (now: %(count)s). Involve a group rather than one person: invite another panel or add members.",
                count=expert_count,
            )
        )

    warnings.extend(await _overload_warnings(scope, round_, members))

    without_support: dict[int, str] = {}
    for member in members:
        if member["support_contact_id"] is None:
            without_support.setdefault(member["user_id"], member["display_name"])
    for name in sorted(without_support.values(), key=str.casefold):
        warnings.append(
            _("%(name)s has no support contact. Every active member needs a named support contact.", name=name)
        )
    for check in ROUND_WARNING_CHECKS:
        warnings.extend(await check(scope, round_, members))
    return warnings


async def _overload_warnings(
    scope: TenantScope, round_: ConsultationRound, members: list[dict]
) -> list[str]:
    """Members whose summed expected effort of the open rounds (draft or sent) they are invited
    to, with a deadline in the same calendar month as this round, exceeds their monthly budget.

    A member in several panels has one budget: the lowest of their active memberships."""
    month_of = deadline_date(round_.deadline)
    if month_of is None or not members:
        return []
    user_ids = list({member["user_id"] for member in members})
    # Every active membership of these people, in any panel (they may be in other panels too).
    memberships = await scope.select(
        PanelMembership,
        PanelMembership.user,
        PanelMembership.panel,
        PanelMembership.monthly_hours_budget,
    ).where(PanelMembership.user.is_in(user_ids) & (PanelMembership.status == "active"))
    panels_of: dict[int, set[int]] = defaultdict(set)
    budget_of: dict[int, Decimal] = {}
    for row in memberships:
        user_id = row["user"]
        panels_of[user_id].add(row["panel"])
        budget = Decimal(str(row["monthly_hours_budget"]))
        budget_of[user_id] = min(budget, budget_of.get(user_id, budget))
    all_panels = list({panel for panels in panels_of.values() for panel in panels})
    invitations = []
    if all_panels:
        invitations = await scope.select(
            RoundPanel,
            RoundPanel.panel,
            RoundPanel.round.id,
            RoundPanel.round.deadline,
            RoundPanel.round.expected_effort_hours,
        ).where(RoundPanel.panel.is_in(all_panels) & (RoundPanel.round.status != "closed"))
    rounds_of_panel: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for row in invitations:
        deadline = deadline_date(row["round.deadline"])
        if deadline is None or (deadline.year, deadline.month) != (month_of.year, month_of.month):
            continue
        rounds_of_panel[row["panel"]][row["round.id"]] = Decimal(
            str(row["round.expected_effort_hours"] or 0)
        )
    names = {member["user_id"]: member["display_name"] for member in members}
    warnings = []
    for user_id in sorted(names, key=lambda key: names[key].casefold()):
        effort_by_round: dict[int, Decimal] = {}
        for panel in panels_of.get(user_id, ()):
            effort_by_round.update(rounds_of_panel.get(panel, {}))
        total = sum(effort_by_round.values(), Decimal("0"))
        budget = budget_of.get(user_id)
        if budget is not None and total > budget:
            warnings.append(
                _(
                    "%(name)s is asked for %(hours)s hours in this month, more than their budget of %(budget)s hours a month.",
                    name=names[user_id],
                    hours=format_hours(total),
                    budget=format_hours(budget),
                )
            )
    return warnings
