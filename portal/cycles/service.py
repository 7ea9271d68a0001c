"""Rules for policy cycles and their stages (no HTTP).

A cycle is created from the tenant's stage template. Its stages can be renamed, added, removed and
reordered while they are still planned; a stage goes planned -> open -> closed, and closing asks
every check in ``STAGE_CLOSE_CHECKS`` first (a later feature registers the advice check there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from litestar.exceptions import NotFoundException

from portal.accounts.roles import POLICY_OFFICER
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.states import check_transition
from portal.core.tenancy import TenantScope
from portal.cycles.rules import (
    CYCLE_TRANSITIONS,
    STAGE_TRANSITIONS,
    stage_is_editable,
    stage_structure_is_editable,
)
from portal.cycles.tables import PARTICIPATION_FORMS, PolicyCycle, Stage, StageTemplateStep
from portal.rounds.tables import ConsultationRound

TITLE_MAX = 200
DOMAIN_MAX = 120
DESCRIPTION_MAX = 5000
STAGE_NAME_MAX = 120

# Used only when a tenant has no stage template at all (every loaded tenant has one).
DEFAULT_STAGE_TEMPLATE = (
    ("Agendavorming", "Agenda setting", "adviseren"),
    ("Beleidsvoorbereiding", "Policy preparation", "coproduceren"),
    ("Besluitvorming", "Decision-making", "adviseren"),
    ("Uitvoering & inkoop", "Implementation & procurement", "adviseren"),
    ("Evaluatie & terugkoppeling", "Evaluation & feedback", "raadplegen"),
)

StageCloseCheck = Callable[[TenantScope, Stage], Awaitable[str | None]]
# Each check returns why the stage cannot close yet, or None. Features append their checks here.
STAGE_CLOSE_CHECKS: list[StageCloseCheck] = []


class CycleError(Exception):
    """A rule about cycles or stages was broken; the message is for the user."""


def now() -> datetime:
    return datetime.now(UTC)


# --- reading ----------------------------------------------------------------------------------


@dataclass
class CycleSummary:
    id: int
    title: str
    policy_domain: str
    status: str
    owner_name: str
    owner_id: int | None = None
    stage_count: int = 0
    closed_count: int = 0
    open_stage_names: list[str] = field(default_factory=list)


@dataclass
class StageItem:
    """A stage as the cycle page shows it, with what may be done with it now."""

    stage: Stage
    round_count: int = 0
    can_move_up: bool = False
    can_move_down: bool = False

    @property
    def can_remove(self) -> bool:
        return stage_structure_is_editable(self.stage.status) and self.round_count == 0

    @property
    def can_edit(self) -> bool:
        return stage_is_editable(self.stage.status)


@dataclass
class CycleView:
    cycle: PolicyCycle
    owner_name: str
    stages: list[StageItem]

    def item(self, stage_id: int) -> StageItem | None:
        return next((item for item in self.stages if item.stage.id == stage_id), None)


async def display_names(scope: TenantScope, user_ids: set[int]) -> dict[int, str]:
    """The name each person shows in this tenant (one query)."""
    ids = [user_id for user_id in user_ids if user_id]
    if not ids:
        return {}
    rows = await scope.select(
        Membership, Membership.user, Membership.display_name, Membership.user.name
    ).where(Membership.user.is_in(ids))
    names: dict[int, str] = {}
    for row in rows:
        names.setdefault(row["user"], row["display_name"] or row["user.name"])
    return names


async def policy_officers(scope: TenantScope) -> list[tuple[int, str]]:
    """The tenant's policy officers as (user id, name shown), for the owner select."""
    rows = await scope.select(Membership, Membership.user, Membership.display_name).where(
        Membership.role == POLICY_OFFICER
    ).order_by(Membership.display_name)
    return [(row["user"], row["display_name"]) for row in rows]


async def list_cycles(scope: TenantScope) -> list[CycleSummary]:
    """Every cycle of the tenant with its progress, in three queries."""
    cycles = await scope.select(
        PolicyCycle,
        PolicyCycle.id,
        PolicyCycle.title,
        PolicyCycle.policy_domain,
        PolicyCycle.status,
        PolicyCycle.owner,
        PolicyCycle.owner.name,
    ).order_by(PolicyCycle.status).order_by(PolicyCycle.created_at, ascending=False)
    if not cycles:
        return []
    names = await display_names(scope, {row["owner"] for row in cycles})
    stages = await scope.select(Stage, Stage.cycle, Stage.name, Stage.status).where(
        Stage.cycle.is_in([row["id"] for row in cycles])
    ).order_by(Stage.position)
    summaries = {
        row["id"]: CycleSummary(
            id=row["id"],
            title=row["title"],
            policy_domain=row["policy_domain"],
            status=row["status"],
            owner_name=names.get(row["owner"]) or row["owner.name"] or "",
            owner_id=row["owner"],
        )
        for row in cycles
    }
    for stage in stages:
        summary = summaries[stage["cycle"]]
        summary.stage_count += 1
        if stage["status"] == "closed":
            summary.closed_count += 1
        elif stage["status"] == "open":
            summary.open_stage_names.append(stage["name"])
    return list(summaries.values())


async def cycle_with_stages(scope: TenantScope, cycle_id: int) -> CycleView:
    """The cycle, its owner's name and its stages with their round counts: four queries, always."""
    cycle = await scope.get(PolicyCycle, cycle_id)
    stages = await scope.objects(Stage).where(Stage.cycle == cycle.id).order_by(Stage.position)
    names = await display_names(scope, {cycle.owner} if cycle.owner else set())
    counts: dict[int, int] = {}
    if stages:
        rows = await scope.select(ConsultationRound, ConsultationRound.stage).where(
            ConsultationRound.stage.is_in([stage.id for stage in stages])
        )
        for row in rows:
            counts[row["stage"]] = counts.get(row["stage"], 0) + 1
    items = [StageItem(stage=stage, round_count=counts.get(stage.id, 0)) for stage in stages]
    for index, item in enumerate(items):
        planned = item.stage.status == "planned"
        item.can_move_up = planned and index > 0 and items[index - 1].stage.status == "planned"
        item.can_move_down = (
            planned and index < len(items) - 1 and items[index + 1].stage.status == "planned"
        )
    owner_name = names.get(cycle.owner, "")
    if cycle.owner and not owner_name:
        user = await User.objects().where(User.id == cycle.owner).first()
        owner_name = user.name if user else ""
    return CycleView(cycle=cycle, owner_name=owner_name, stages=items)


# --- validation -------------------------------------------------------------------------------


async def check_owner(scope: TenantScope, owner_id: int | None) -> None:
    """The owner must be a policy officer of this tenant."""
    if owner_id is None:
        return
    is_officer = await scope.exists(Membership).where(
        (Membership.user == owner_id) & (Membership.role == POLICY_OFFICER)
    )
    if not is_officer:
        raise CycleError(_("Choose a policy officer of this space from the list."))


def dates_problem(start: date | None, end: date | None) -> str | None:
    if start and end and end < start:
        return _("The planned end must be on or after the planned start.")
    return None


def _own(scope: TenantScope, row: PolicyCycle | Stage) -> None:
    """A row handed in from elsewhere must belong to this tenant: otherwise it does not exist here."""
    if row.tenant != scope.tenant_id:
        raise NotFoundException()


def _check_participation_form(participation_form: str) -> None:
    if participation_form not in PARTICIPATION_FORMS:
        raise CycleError(_("Choose a form of participation from the list."))


def _check_cycle_is_active(cycle: PolicyCycle) -> None:
    if cycle.status != "active":
        raise CycleError(
            _("This policy cycle is completed. Mark it as active again to change its stages.")
        )


async def _cycle_of(scope: TenantScope, stage: Stage) -> PolicyCycle:
    return await scope.get(PolicyCycle, stage.cycle)


def _cycle_snapshot(cycle: PolicyCycle) -> dict[str, Any]:
    return {
        "title": cycle.title,
        "policy_domain": cycle.policy_domain,
        "description": cycle.description,
        "owner_id": cycle.owner,
    }


def _stage_snapshot(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "participation_form": stage.participation_form,
        "planned_start": stage.planned_start,
        "planned_end": stage.planned_end,
        "position": stage.position,
        "status": stage.status,
    }


async def _record(scope: TenantScope, action: str, obj: Any, actor: User | None, **snapshots) -> None:
    object_type = "stage" if isinstance(obj, Stage) else "policy_cycle"
    await audit.record_in(scope, action, object_type, obj.id, actor, **snapshots)


# --- cycles -----------------------------------------------------------------------------------


async def template_steps(scope: TenantScope) -> list[tuple[str, str]]:
    """The tenant's stage template as (name, form of participation), in order."""
    rows = await scope.select(
        StageTemplateStep, StageTemplateStep.name, StageTemplateStep.participation_form
    ).order_by(StageTemplateStep.position).order_by(StageTemplateStep.id)
    if rows:
        return [(row["name"], row["participation_form"]) for row in rows]
    english = scope.tenant.locale == "en"
    return [(en if english else nl, form) for nl, en, form in DEFAULT_STAGE_TEMPLATE]


async def create_cycle(
    scope: TenantScope,
    *,
    actor: User | None,
    title: str,
    policy_domain: str = "",
    description: str = "",
    owner_id: int | None = None,
) -> PolicyCycle:
    """Create the cycle and its stages from the tenant's template, all planned."""
    await check_owner(scope, owner_id)
    steps = await template_steps(scope)
    cycle = scope.new(
        PolicyCycle,
        title=title,
        policy_domain=policy_domain,
        description=description,
        owner=owner_id,
        status="active",
    )
    async with engine().transaction():
        await cycle.save()
        for position, (name, participation_form) in enumerate(steps, start=1):
            await scope.new(
                Stage,
                cycle=cycle.id,
                position=position,
                name=name,
                participation_form=participation_form,
                status="planned",
            ).save()
        await _record(
            scope, "cycle.created", cycle, actor,
            after={**_cycle_snapshot(cycle), "status": cycle.status,
                   "stages": [name for name, _form in steps]},
        )
    return cycle


async def update_cycle(
    scope: TenantScope,
    cycle: PolicyCycle,
    *,
    actor: User | None,
    title: str,
    policy_domain: str,
    description: str,
    owner_id: int | None,
) -> PolicyCycle:
    _own(scope, cycle)
    if owner_id != cycle.owner:
        await check_owner(scope, owner_id)
    before = _cycle_snapshot(cycle)
    values = {
        PolicyCycle.title: title,
        PolicyCycle.policy_domain: policy_domain,
        PolicyCycle.description: description,
        PolicyCycle.owner: owner_id,
    }
    async with engine().transaction():
        await scope.update(PolicyCycle, values).where(PolicyCycle.id == cycle.id)
        cycle.title, cycle.policy_domain, cycle.description, cycle.owner = (
            title, policy_domain, description, owner_id
        )
        await _record(scope, "cycle.updated", cycle, actor, before=before, after=_cycle_snapshot(cycle))
    return cycle


async def change_cycle_status(
    scope: TenantScope, cycle: PolicyCycle, target: str, *, actor: User | None
) -> PolicyCycle:
    _own(scope, cycle)
    check_transition(CYCLE_TRANSITIONS, cycle.status, target)
    before = cycle.status
    async with engine().transaction():
        changed = await scope.update(PolicyCycle, {PolicyCycle.status: target}).where(
            (PolicyCycle.id == cycle.id) & (PolicyCycle.status == before)
        ).returning(PolicyCycle.id)
        if not changed:
            raise CycleError(_("Someone else changed this policy cycle just now. Look again and retry."))
        cycle.status = target
        await _record(
            scope, "cycle.status_changed", cycle, actor,
            before={"status": before}, after={"status": target},
        )
    return cycle


# --- stages -----------------------------------------------------------------------------------


async def add_stage(
    scope: TenantScope,
    cycle: PolicyCycle,
    *,
    actor: User | None,
    name: str,
    participation_form: str,
) -> Stage:
    """A new planned stage at the end of the cycle."""
    _own(scope, cycle)
    _check_cycle_is_active(cycle)
    _check_participation_form(participation_form)
    async with engine().transaction():
        rows = await scope.select(Stage, Stage.position).where(Stage.cycle == cycle.id)
        position = max((row["position"] for row in rows), default=0) + 1
        stage = scope.new(
            Stage,
            cycle=cycle.id,
            position=position,
            name=name,
            participation_form=participation_form,
            status="planned",
        )
        await stage.save()
        await _record(scope, "stage.added", stage, actor, after=_stage_snapshot(stage))
    return stage


async def update_stage(
    scope: TenantScope,
    stage: Stage,
    *,
    actor: User | None,
    name: str,
    participation_form: str,
    planned_start: date | None,
    planned_end: date | None,
) -> Stage:
    """Name, form and dates; possible until the stage is closed."""
    _own(scope, stage)
    if not stage_is_editable(stage.status):
        raise CycleError(_("This stage is closed. A closed stage can no longer be changed."))
    _check_cycle_is_active(await _cycle_of(scope, stage))
    _check_participation_form(participation_form)
    problem = dates_problem(planned_start, planned_end)
    if problem:
        raise CycleError(problem)
    before = _stage_snapshot(stage)
    values = {
        Stage.name: name,
        Stage.participation_form: participation_form,
        Stage.planned_start: planned_start,
        Stage.planned_end: planned_end,
    }
    async with engine().transaction():
        changed = await scope.update(Stage, values).where(
            (Stage.id == stage.id) & (Stage.status != "closed")
        ).returning(Stage.id)
        if not changed:
            raise CycleError(_("This stage is closed. A closed stage can no longer be changed."))
        stage.name, stage.participation_form = name, participation_form
        stage.planned_start, stage.planned_end = planned_start, planned_end
        await _record(scope, "stage.updated", stage, actor, before=before, after=_stage_snapshot(stage))
    return stage


async def move_stage(scope: TenantScope, stage: Stage, direction: str, *, actor: User | None) -> None:
    """Swap places with the stage above or below; both must still be planned."""
    _own(scope, stage)
    if direction not in ("up", "down"):
        raise CycleError(_("Choose whether to move the stage up or down."))
    if not stage_structure_is_editable(stage.status):
        raise CycleError(_("Only a planned stage can be moved."))
    _check_cycle_is_active(await _cycle_of(scope, stage))
    neighbour_position = stage.position - 1 if direction == "up" else stage.position + 1
    async with engine().transaction():
        neighbour = await scope.objects(Stage).where(
            (Stage.cycle == stage.cycle) & (Stage.position == neighbour_position)
        ).first()
        if neighbour is None:
            raise CycleError(
                _("This stage is already the first.") if direction == "up"
                else _("This stage is already the last.")
            )
        if not stage_structure_is_editable(neighbour.status):
            raise CycleError(
                _("A stage can only change places with a stage that is still planned.")
            )
        await scope.update(Stage, {Stage.position: stage.position}).where(Stage.id == neighbour.id)
        await scope.update(Stage, {Stage.position: neighbour_position}).where(Stage.id == stage.id)
        await _record(
            scope, "stage.moved", stage, actor,
            before={"position": stage.position}, after={"position": neighbour_position},
        )
        stage.position = neighbour_position


async def remove_stage(scope: TenantScope, stage: Stage, *, actor: User | None) -> None:
    """Remove a planned stage without rounds; the stages after it move up one place."""
    _own(scope, stage)
    if not stage_structure_is_editable(stage.status):
        raise CycleError(_("Only a planned stage can be removed."))
    _check_cycle_is_active(await _cycle_of(scope, stage))
    if await scope.exists(ConsultationRound).where(ConsultationRound.stage == stage.id):
        raise CycleError(
            _("This stage has consultation rounds. Remove those first, or keep the stage.")
        )
    async with engine().transaction():
        removed = await scope.delete(Stage).where(
            (Stage.id == stage.id) & (Stage.status == "planned")
        ).returning(Stage.id)
        if not removed:
            raise CycleError(_("Only a planned stage can be removed."))
        await scope.update(Stage, {Stage.position: Stage.position - 1}).where(
            (Stage.cycle == stage.cycle) & (Stage.position > stage.position)
        )
        await _record(scope, "stage.removed", stage, actor, before=_stage_snapshot(stage))


async def open_stage(scope: TenantScope, stage: Stage, *, actor: User | None) -> Stage:
    _own(scope, stage)
    check_transition(STAGE_TRANSITIONS, stage.status, "open")
    _check_cycle_is_active(await _cycle_of(scope, stage))
    return await _change_stage_status(scope, stage, "open", actor)


async def close_problems(scope: TenantScope, stage: Stage) -> list[str]:
    """Why this stage cannot close yet (empty when it can)."""
    reasons = [await check(scope, stage) for check in list(STAGE_CLOSE_CHECKS)]
    return [reason for reason in reasons if reason]


async def close_stage(scope: TenantScope, stage: Stage, *, actor: User | None) -> Stage:
    _own(scope, stage)
    check_transition(STAGE_TRANSITIONS, stage.status, "closed")
    problems = await close_problems(scope, stage)
    if problems:
        raise CycleError(" ".join(problems))
    return await _change_stage_status(scope, stage, "closed", actor)


async def _change_stage_status(scope: TenantScope, stage: Stage, target: str, actor: User | None) -> Stage:
    before = stage.status
    moment = now()
    values: dict = {Stage.status: target}
    values[Stage.opened_at if target == "open" else Stage.closed_at] = moment
    async with engine().transaction():
        changed = await scope.update(Stage, values).where(
            (Stage.id == stage.id) & (Stage.status == before)
        ).returning(Stage.id)
        if not changed:
            raise CycleError(_("Someone else changed this stage just now. Look again and retry."))
        stage.status = target
        if target == "open":
            stage.opened_at = moment
        else:
            stage.closed_at = moment
        await _record(
            scope, "stage.opened" if target == "open" else "stage.closed", stage, actor,
            before={"status": before}, after={"status": target},
        )
    return stage
