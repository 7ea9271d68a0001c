"""The tenant's policy-cycle template, edited by its tenant admin (no HTTP).

A policy cycle copies the template's stages when it is created (``service.create_cycle``), so
a change here shapes the cycles created after it and leaves the existing ones as they are.
Positions stay 0, 1, 2, ... as the tenant loader writes them, so that a file exported after
these edits and loaded again reports no change. Every change is audited.
"""

from __future__ import annotations

from portal.accounts.tables import User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.cycles.tables import PARTICIPATION_FORMS, StageTemplateStep
from portal.tenants.validation import (
    STAGE_NAME_MAX,
    choice_problem,
    stage_count_problem,
    text_problem,
)


class TemplateError(Exception):
    """A rule was broken; the message is for the user, ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _snapshot(step: StageTemplateStep) -> dict:
    return {
        "position": step.position,
        "name": step.name,
        "name_en": step.name_en,
        "participation_form": step.participation_form,
    }


def _check(name: str, name_en: str, participation_form: str) -> None:
    """The loader's rules for a stage of the template."""
    problems = {
        "name": text_problem(name, STAGE_NAME_MAX),
        "name_en": text_problem(name_en, STAGE_NAME_MAX, required=False),
        "participation_form": choice_problem(participation_form, PARTICIPATION_FORMS),
    }
    for field, problem in problems.items():
        if problem:
            raise TemplateError(problem, field)


async def _record(scope: TenantScope, action: str, step: StageTemplateStep, actor: User, **snapshots) -> None:
    await audit.record_in(scope, f"stage_template.{action}", "stage_template_step", step.id, actor, **snapshots)


async def template_steps(scope: TenantScope) -> list[StageTemplateStep]:
    return await scope.objects(StageTemplateStep).order_by(StageTemplateStep.position).order_by(
        StageTemplateStep.id
    )


async def add_step(
    scope: TenantScope, *, actor: User, name: str, name_en: str, participation_form: str
) -> StageTemplateStep:
    """A new stage at the end of the template."""
    _check(name, name_en, participation_form)
    async with engine().transaction():
        rows = await scope.select(StageTemplateStep, StageTemplateStep.position)
        position = max((row["position"] for row in rows), default=-1) + 1
        step = scope.new(
            StageTemplateStep, position=position, name=name.strip(), name_en=name_en.strip(),
            participation_form=participation_form,
        )
        await step.save()
        await _record(scope, "step_added", step, actor, after=_snapshot(step))
    return step


async def update_step(
    scope: TenantScope, step: StageTemplateStep, *, actor: User, name: str, name_en: str,
    participation_form: str,
) -> StageTemplateStep:
    """Rename a stage or change its form of participation."""
    _check(name, name_en, participation_form)
    before = _snapshot(step)
    step.name, step.name_en, step.participation_form = name.strip(), name_en.strip(), participation_form
    if _snapshot(step) == before:
        return step
    async with engine().transaction():
        await scope.update(StageTemplateStep, {
            StageTemplateStep.name: step.name,
            StageTemplateStep.name_en: step.name_en,
            StageTemplateStep.participation_form: step.participation_form,
        }).where(StageTemplateStep.id == step.id)
        await _record(scope, "step_updated", step, actor, before=before, after=_snapshot(step))
    return step


async def move_step(scope: TenantScope, step: StageTemplateStep, direction: str, *, actor: User) -> None:
    """Swap places with the stage above or below."""
    if direction not in ("up", "down"):
        raise TemplateError(_("Choose whether to move the stage up or down."))
    neighbour_position = step.position - 1 if direction == "up" else step.position + 1
    async with engine().transaction():
        neighbour = await scope.objects(StageTemplateStep).where(
            StageTemplateStep.position == neighbour_position
        ).first()
        if neighbour is None:
            raise TemplateError(
                _("This stage is already the first.") if direction == "up"
                else _("This stage is already the last.")
            )
        await scope.update(StageTemplateStep, {StageTemplateStep.position: step.position}).where(
            StageTemplateStep.id == neighbour.id
        )
        await scope.update(StageTemplateStep, {StageTemplateStep.position: neighbour_position}).where(
            StageTemplateStep.id == step.id
        )
        await _record(scope, "step_moved", step, actor, before={"position": step.position},
                      after={"position": neighbour_position})
    step.position = neighbour_position


async def remove_step(scope: TenantScope, step: StageTemplateStep, *, actor: User) -> None:
    """Remove a stage; the stages after it move up one place. The last one stays."""
    async with engine().transaction():
        if problem := stage_count_problem(await scope.count(StageTemplateStep) - 1):
            raise TemplateError(problem)
        removed = await scope.delete(StageTemplateStep).where(
            StageTemplateStep.id == step.id
        ).returning(StageTemplateStep.id)
        if not removed:
            raise TemplateError(_("This stage has already been removed."))
        await scope.update(
            StageTemplateStep, {StageTemplateStep.position: StageTemplateStep.position - 1}
        ).where(StageTemplateStep.position > step.position)
        await _record(scope, "step_removed", step, actor, before=_snapshot(step))
