"""Policy cycles and their stages: thin controllers; the rules live in service.py."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import COUNCIL_MEMBER, POLICY_OFFICER, SUPPORT_CONTACT, TENANT_ADMIN
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_role
from portal.core.i18n import _
from portal.core.states import TransitionError
from portal.core.templating import is_htmx_partial, page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.cycles import service
from portal.cycles.rules import (
    CYCLE_STATUSES,
    PARTICIPATION_DESCRIPTIONS,
    PARTICIPATION_LABELS,
    STATUS_LABELS,
    requires_reasoned_response,
)
from portal.cycles.tables import PARTICIPATION_FORMS, PolicyCycle, Stage
from portal.rounds.service import stage_rounds_context

MANAGER_ROLES = (TENANT_ADMIN, POLICY_OFFICER)
MANAGERS = requires_role(*MANAGER_ROLES)
READERS = requires_role(*MANAGER_ROLES, COUNCIL_MEMBER, SUPPORT_CONTACT)


# --- helpers ----------------------------------------------------------------------------------


def _base(tenancy: TenantScope) -> str:
    return f"/t/{tenancy.tenant.slug}"


def participation_labels() -> dict:
    """Translated labels the cycle templates use."""
    return {
        "participation_label": lambda form: _(PARTICIPATION_LABELS.get(form, form)),
        "participation_description": lambda form: _(PARTICIPATION_DESCRIPTIONS.get(form, "")),
        "status_label": lambda status: _(STATUS_LABELS.get(status, status)),
        "participation_options": [(form, _(PARTICIPATION_LABELS[form])) for form in PARTICIPATION_FORMS],
    }


def _can_manage(request: Request) -> bool:
    return request_context(request).has_role(*MANAGER_ROLES)


def _actor(request: Request):
    return request_context(request).user


def _cycle_form(form: Form, officers: list[tuple[int, str]]) -> dict:
    """Read and check the cycle fields; the owner must be one of the listed officers."""
    values = {
        "title": form.text("title", _("Title"), max_length=service.TITLE_MAX),
        "policy_domain": form.text(
            "policy_domain", _("Policy domain"), required=False, max_length=service.DOMAIN_MAX
        ),
        "description": form.text(
            "description", _("Description"), required=False, max_length=service.DESCRIPTION_MAX
        ),
    }
    owner = form.choice("owner", _("Owning policy officer"), ["", *(str(uid) for uid, _n in officers)])
    values["owner_id"] = int(owner) if owner and "owner" not in form.errors else None
    return values


def _owner_options(officers: list[tuple[int, str]]) -> list[tuple[str, str]]:
    return [("", _("No owner yet")), *((str(uid), name) for uid, name in officers)]


def _stage_prefix(stage: Stage, inline: bool) -> str:
    """Field names of the inline form are unique per stage: the add form is on the same page."""
    return f"stage-{stage.id}-" if inline else ""


def _stage_form(form: Form, prefix: str = "") -> dict:
    return {
        "name": form.text(prefix + "name", _("Name of the stage"), max_length=service.STAGE_NAME_MAX),
        "participation_form": form.choice(
            prefix + "participation_form", _("Form of participation"), PARTICIPATION_FORMS
        ),
    }


def _stage_dates(form: Form, prefix: str = "") -> dict:
    start = form.date(prefix + "planned_start", _("Planned start"))
    end = form.date(prefix + "planned_end", _("Planned end"))
    problem = service.dates_problem(start, end)
    if problem:
        form.add_error(prefix + "planned_end", problem)
    return {"planned_start": start, "planned_end": end}


def _stage_form_values(stage: Stage, prefix: str = "") -> Form:
    form = Form()
    form.values = {
        prefix + "name": stage.name,
        prefix + "participation_form": stage.participation_form,
        prefix + "planned_start": stage.planned_start.isoformat() if stage.planned_start else "",
        prefix + "planned_end": stage.planned_end.isoformat() if stage.planned_end else "",
    }
    return form


# --- cycles -----------------------------------------------------------------------------------


@get("/cycles", guards=[READERS])
async def cycles_index(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return page(
        request,
        "cycles/index.html",
        cycles=await service.list_cycles(tenancy),
        can_manage=_can_manage(request),
        **participation_labels(),
    )


async def _cycle_form_page(
    request: Request,
    tenancy: TenantScope,
    form: Form,
    *,
    cycle: PolicyCycle | None = None,
    officers: list[tuple[int, str]] | None = None,
    status_code: int = 200,
) -> Template:
    officers = officers if officers is not None else await service.policy_officers(tenancy)
    return page(
        request,
        "cycles/cycle_form.html",
        status_code=status_code,
        form=form,
        cycle=cycle,
        owner_options=_owner_options(officers),
    )


async def _owner_choices(tenancy: TenantScope, cycle: PolicyCycle) -> list[tuple[int, str]]:
    """The officers, plus the current owner when they are no longer an officer (so keeping them
    stays possible)."""
    officers = await service.policy_officers(tenancy)
    if cycle.owner and cycle.owner not in {uid for uid, _n in officers}:
        names = await service.display_names(tenancy, {cycle.owner})
        officers.append((cycle.owner, names.get(cycle.owner) or _("Current owner")))
    return officers


@get("/cycles/new", guards=[MANAGERS])
async def new_cycle(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    form = Form()
    context = request_context(request)
    form.values["owner"] = str(context.user.id) if context.has_role(POLICY_OFFICER) else ""
    return await _cycle_form_page(request, tenancy, form)


@post("/cycles", guards=[MANAGERS])
async def create_cycle(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    officers = await service.policy_officers(tenancy)
    values = _cycle_form(form, officers)
    if form.is_valid:
        with form.catch_as_error(service.CycleError, "owner"):
            cycle = await service.create_cycle(tenancy, actor=_actor(request), **values)
    if not form.is_valid:
        return await _cycle_form_page(request, tenancy, form, officers=officers, status_code=422)
    flash(request.scope, _("The policy cycle %(title)s has been created.", title=cycle.title))
    return see_other(f"{_base(tenancy)}/cycles/{cycle.id}")


async def _cycle_page(
    request: Request,
    tenancy: TenantScope,
    cycle_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    message: str | None = None,
    add_form: Form | None = None,
    timeline_only: bool = False,
) -> Template:
    """The cycle page, or only its timeline (for htmx)."""
    view = await service.cycle_with_stages(tenancy, cycle_id)
    return page(
        request,
        "cycles/timeline.html" if timeline_only else "cycles/detail.html",
        status_code=status_code,
        view=view,
        cycle=view.cycle,
        can_manage=_can_manage(request),
        error=error,
        message=message,
        add_form=add_form or Form(),
        timeline_only=timeline_only,
        **participation_labels(),
    )


@get("/cycles/{cycle_id:int}", guards=[READERS])
async def cycle_detail(request: Request, tenancy: NamedDependency[TenantScope], cycle_id: FromPath[int]) -> Template:
    return await _cycle_page(request, tenancy, cycle_id)


@get("/cycles/{cycle_id:int}/edit", guards=[MANAGERS])
async def edit_cycle_form(request: Request, tenancy: NamedDependency[TenantScope], cycle_id: FromPath[int]) -> Template:
    cycle = await tenancy.get(PolicyCycle, cycle_id)
    form = Form()
    form.values = {
        "title": cycle.title,
        "policy_domain": cycle.policy_domain,
        "description": cycle.description,
        "owner": str(cycle.owner) if cycle.owner else "",
    }
    return await _cycle_form_page(
        request, tenancy, form, cycle=cycle, officers=await _owner_choices(tenancy, cycle)
    )


@post("/cycles/{cycle_id:int}/edit", guards=[MANAGERS])
async def edit_cycle(
    request: Request, tenancy: NamedDependency[TenantScope], cycle_id: FromPath[int]
) -> Template | Redirect:
    cycle = await tenancy.get(PolicyCycle, cycle_id)
    form = await read_form(request)
    officers = await _owner_choices(tenancy, cycle)
    values = _cycle_form(form, officers)
    if form.is_valid:
        with form.catch_as_error(service.CycleError, "owner"):
            await service.update_cycle(tenancy, cycle, actor=_actor(request), **values)
    if not form.is_valid:
        return await _cycle_form_page(
            request, tenancy, form, cycle=cycle, officers=officers, status_code=422
        )
    flash(request.scope, _("The policy cycle has been saved."))
    return see_other(f"{_base(tenancy)}/cycles/{cycle.id}")


@post("/cycles/{cycle_id:int}/status", guards=[MANAGERS])
async def change_cycle_status(
    request: Request, tenancy: NamedDependency[TenantScope], cycle_id: FromPath[int]
) -> Template | Redirect:
    cycle = await tenancy.get(PolicyCycle, cycle_id)
    form = await read_form(request)
    target = form.choice("status", _("Status"), CYCLE_STATUSES)
    if not form.is_valid:
        return await _cycle_page(request, tenancy, cycle_id, status_code=422, error=form.errors["status"])
    try:
        await service.change_cycle_status(tenancy, cycle, target, actor=_actor(request))
    except (service.CycleError, TransitionError) as error:
        return await _cycle_page(request, tenancy, cycle_id, status_code=409, error=str(error))
    flash(
        request.scope,
        _("The policy cycle is marked as completed.") if target == "completed"
        else _("The policy cycle is active again."),
    )
    return see_other(f"{_base(tenancy)}/cycles/{cycle.id}")


@post("/cycles/{cycle_id:int}/stages", guards=[MANAGERS])
async def add_stage(
    request: Request, tenancy: NamedDependency[TenantScope], cycle_id: FromPath[int]
) -> Template | Redirect:
    cycle = await tenancy.get(PolicyCycle, cycle_id)
    form = await read_form(request)
    values = _stage_form(form)
    partial = is_htmx_partial(request)
    if not form.is_valid:
        return await _cycle_page(
            request, tenancy, cycle_id, status_code=422, add_form=form, timeline_only=partial
        )
    try:
        stage = await service.add_stage(tenancy, cycle, actor=_actor(request), **values)
    except service.CycleError as error:
        return await _cycle_page(
            request, tenancy, cycle_id, status_code=409, error=str(error), add_form=form,
            timeline_only=partial,
        )
    message = _("The stage %(name)s has been added.", name=stage.name)
    if partial:
        return await _cycle_page(request, tenancy, cycle_id, message=message, timeline_only=True)
    flash(request.scope, message)
    return see_other(f"{_base(tenancy)}/cycles/{cycle.id}#stage-{stage.id}")


# --- stages -----------------------------------------------------------------------------------


async def _stage_page(
    request: Request,
    tenancy: TenantScope,
    stage: Stage,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Template:
    view = await service.cycle_with_stages(tenancy, stage.cycle)
    # The stage's rounds and warnings, as the rounds feature shows them to this person.
    rounds = await stage_rounds_context(tenancy, stage, request_context(request))
    return page(
        request,
        "cycles/stage.html",
        status_code=status_code,
        **{
            **rounds,
            "stage": stage,
            "item": view.item(stage.id),
            "cycle": view.cycle,
            "stage_count": len(view.stages),
            "can_manage": _can_manage(request),
            "requires_reasoned_response": requires_reasoned_response,
            "error": error,
            **participation_labels(),
        },
    )


@get("/stages/{stage_id:int}", guards=[READERS])
async def stage_detail(request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]) -> Template:
    return await _stage_page(request, tenancy, await tenancy.get(Stage, stage_id))


def _closed_refusal() -> str:
    return _("This stage is closed. A closed stage can no longer be changed.")


async def _stage_edit_page(
    request: Request,
    tenancy: TenantScope,
    stage: Stage,
    form: Form,
    *,
    inline: bool,
    status_code: int = 200,
) -> Template:
    cycle = await tenancy.get(PolicyCycle, stage.cycle)
    return page(
        request,
        "cycles/stage_edit_inline.html" if inline else "cycles/stage_edit.html",
        status_code=status_code,
        stage=stage,
        cycle=cycle,
        form=form,
        **participation_labels(),
    )


async def _stage_item_fragment(
    request: Request, tenancy: TenantScope, stage: Stage, *, status_code: int = 200,
    error: str | None = None, message: str | None = None,
) -> Template:
    view = await service.cycle_with_stages(tenancy, stage.cycle)
    return page(
        request,
        "cycles/stage_item.html",
        status_code=status_code,
        item=view.item(stage.id),
        view=view,
        cycle=view.cycle,
        can_manage=_can_manage(request),
        item_error=error,
        item_message=message,
        **participation_labels(),
    )


async def _stage_refusal(
    request: Request, tenancy: TenantScope, stage: Stage, error: str, *, inline: bool
) -> Template:
    """A refused change to a stage (409): in its timeline item for an inline edit, else on its page."""
    if inline:
        return await _stage_item_fragment(request, tenancy, stage, status_code=409, error=error)
    return await _stage_page(request, tenancy, stage, status_code=409, error=error)


@get("/stages/{stage_id:int}/edit", guards=[MANAGERS])
async def edit_stage_form(request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]) -> Template:
    stage = await tenancy.get(Stage, stage_id)
    inline = is_htmx_partial(request) and request.query_params.get("inline") == "1"
    if stage.status == "closed":
        return await _stage_refusal(request, tenancy, stage, _closed_refusal(), inline=inline)
    form = _stage_form_values(stage, _stage_prefix(stage, inline))
    return await _stage_edit_page(request, tenancy, stage, form, inline=inline)


@post("/stages/{stage_id:int}/edit", guards=[MANAGERS])
async def edit_stage(
    request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]
) -> Template | Redirect:
    stage = await tenancy.get(Stage, stage_id)
    form = await read_form(request)
    inline = is_htmx_partial(request) and form.raw("inline") == "1"
    prefix = _stage_prefix(stage, inline)
    values = {**_stage_form(form, prefix), **_stage_dates(form, prefix)}
    if stage.status == "closed":
        return await _stage_refusal(request, tenancy, stage, _closed_refusal(), inline=inline)
    if not form.is_valid:
        return await _stage_edit_page(request, tenancy, stage, form, inline=inline, status_code=422)
    try:
        await service.update_stage(tenancy, stage, actor=_actor(request), **values)
    except service.CycleError as error:
        return await _stage_refusal(request, tenancy, stage, str(error), inline=inline)
    message = _("The stage %(name)s has been saved.", name=stage.name)
    if inline:
        return await _stage_item_fragment(request, tenancy, stage, message=message)
    flash(request.scope, message)
    return see_other(f"{_base(tenancy)}/stages/{stage.id}")


async def _timeline_action(request: Request, tenancy: TenantScope, stage: Stage, action, success: str):
    """Move or remove from the cycle page: the timeline for htmx, a redirect otherwise."""
    partial = is_htmx_partial(request)
    try:
        await action()
    except (service.CycleError, TransitionError) as error:
        return await _cycle_page(
            request, tenancy, stage.cycle, status_code=409, error=str(error), timeline_only=partial
        )
    if partial:
        return await _cycle_page(request, tenancy, stage.cycle, message=success, timeline_only=True)
    flash(request.scope, success)
    return see_other(f"{_base(tenancy)}/cycles/{stage.cycle}#stages")


@post("/stages/{stage_id:int}/move", guards=[MANAGERS])
async def move_stage(
    request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]
) -> Template | Redirect:
    stage = await tenancy.get(Stage, stage_id)
    form = await read_form(request)
    direction = form.raw("direction").strip()
    return await _timeline_action(
        request, tenancy, stage,
        lambda: service.move_stage(tenancy, stage, direction, actor=_actor(request)),
        _("The stage %(name)s has moved up.", name=stage.name) if direction == "up"
        else _("The stage %(name)s has moved down.", name=stage.name),
    )


@post("/stages/{stage_id:int}/remove", guards=[MANAGERS])
async def remove_stage(
    request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]
) -> Template | Redirect:
    stage = await tenancy.get(Stage, stage_id)
    return await _timeline_action(
        request, tenancy, stage,
        lambda: service.remove_stage(tenancy, stage, actor=_actor(request)),
        _("The stage %(name)s has been removed.", name=stage.name),
    )


async def _stage_status_action(request: Request, tenancy: TenantScope, stage_id: int, action, success: str):
    stage = await tenancy.get(Stage, stage_id)
    try:
        await action(tenancy, stage, actor=_actor(request))
    except (service.CycleError, TransitionError) as error:
        return await _stage_page(request, tenancy, stage, status_code=409, error=str(error))
    flash(request.scope, success % {"name": stage.name})
    return see_other(f"{_base(tenancy)}/stages/{stage.id}")


@post("/stages/{stage_id:int}/open", guards=[MANAGERS])
async def open_stage(
    request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]
) -> Template | Redirect:
    return await _stage_status_action(
        request, tenancy, stage_id, service.open_stage, _("The stage %(name)s is now open.")
    )


@post("/stages/{stage_id:int}/close", guards=[MANAGERS])
async def close_stage(
    request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]
) -> Template | Redirect:
    return await _stage_status_action(
        request, tenancy, stage_id, service.close_stage, _("The stage %(name)s is now closed.")
    )


route_handlers = [
    cycles_index,
    new_cycle,
    create_cycle,
    cycle_detail,
    edit_cycle_form,
    edit_cycle,
    change_cycle_status,
    add_stage,
    stage_detail,
    edit_stage_form,
    edit_stage,
    move_stage,
    remove_stage,
    open_stage,
    close_stage,
]
