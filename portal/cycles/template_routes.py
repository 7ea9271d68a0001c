"""The tenant admin edits the policy-cycle template (thin controllers; the rules live in
template.py). Moving and removing are plain forms, so they work without JavaScript."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import TENANT_ADMIN
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_role
from portal.core.i18n import _
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.cycles import template
from portal.cycles.routes import participation_labels
from portal.cycles.tables import PARTICIPATION_FORMS, StageTemplateStep
from portal.tenants.validation import STAGE_NAME_MAX

ADMINS = requires_role(TENANT_ADMIN)
# A new stage starts at the form the tenant loader gives a stage without one.
NEW_STAGE_FORM = "raadplegen"


def _url(tenancy: TenantScope) -> str:
    return f"/t/{tenancy.tenant.slug}/space/stages"


def _read_step(form: Form) -> dict:
    return {
        "name": form.text("name", _("Name of the stage"), max_length=STAGE_NAME_MAX),
        "name_en": form.text("name_en", _("Name in English"), required=False, max_length=STAGE_NAME_MAX),
        "participation_form": form.choice("participation_form", _("Form of participation"), PARTICIPATION_FORMS),
    }


def _new_step_form() -> Form:
    form = Form()
    form.values["participation_form"] = NEW_STAGE_FORM
    return form


async def _template_page(
    request: Request, tenancy: TenantScope, form: Form, *, status_code: int = 200, error: str | None = None
) -> Template:
    return page(request, "cycles/template.html", status_code=status_code, form=form, error=error,
                steps=await template.template_steps(tenancy), **participation_labels())


def _step_page(request: Request, step: StageTemplateStep, form: Form, status_code: int = 200) -> Template:
    return page(request, "cycles/template_step.html", status_code=status_code, step=step, form=form,
                **participation_labels())


@get("/space/stages", guards=[ADMINS])
async def template_index(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return await _template_page(request, tenancy, _new_step_form())


@post("/space/stages", guards=[ADMINS])
async def add_step(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    values = _read_step(form)
    if form.is_valid:
        with form.catch_as_error(template.TemplateError, "name"):
            step = await template.add_step(tenancy, actor=request_context(request).user, **values)
    if not form.is_valid:
        return await _template_page(request, tenancy, form, status_code=422)
    flash(request.scope, _("The stage %(name)s has been added to the template.", name=step.name))
    return see_other(_url(tenancy))


@get("/space/stages/{step_id:int}/edit", guards=[ADMINS])
async def edit_step_form(request: Request, tenancy: NamedDependency[TenantScope], step_id: FromPath[int]) -> Template:
    step = await tenancy.get(StageTemplateStep, step_id)
    form = Form()
    form.values.update(name=step.name, name_en=step.name_en, participation_form=step.participation_form)
    return _step_page(request, step, form)


@post("/space/stages/{step_id:int}/edit", guards=[ADMINS])
async def edit_step(
    request: Request, tenancy: NamedDependency[TenantScope], step_id: FromPath[int]
) -> Template | Redirect:
    step = await tenancy.get(StageTemplateStep, step_id)
    form = await read_form(request)
    values = _read_step(form)
    if form.is_valid:
        with form.catch_as_error(template.TemplateError, "name"):
            await template.update_step(tenancy, step, actor=request_context(request).user, **values)
    if not form.is_valid:
        return _step_page(request, step, form, status_code=422)
    flash(request.scope, _("The stage %(name)s has been saved.", name=step.name))
    return see_other(_url(tenancy))


async def _change(request: Request, tenancy: TenantScope, action, success: str) -> Template | Redirect:
    try:
        await action()
    except template.TemplateError as error:
        return await _template_page(request, tenancy, _new_step_form(), status_code=409, error=str(error))
    flash(request.scope, success)
    return see_other(_url(tenancy))


@post("/space/stages/{step_id:int}/move", guards=[ADMINS])
async def move_step(
    request: Request, tenancy: NamedDependency[TenantScope], step_id: FromPath[int]
) -> Template | Redirect:
    step = await tenancy.get(StageTemplateStep, step_id)
    direction = (await read_form(request)).raw("direction").strip()
    return await _change(
        request, tenancy,
        lambda: template.move_step(tenancy, step, direction, actor=request_context(request).user),
        _("The stage %(name)s has moved up.", name=step.name) if direction == "up"
        else _("The stage %(name)s has moved down.", name=step.name),
    )


@post("/space/stages/{step_id:int}/remove", guards=[ADMINS])
async def remove_step(
    request: Request, tenancy: NamedDependency[TenantScope], step_id: FromPath[int]
) -> Template | Redirect:
    step = await tenancy.get(StageTemplateStep, step_id)
    return await _change(
        request, tenancy,
        lambda: template.remove_step(tenancy, step, actor=request_context(request).user),
        _("The stage %(name)s has been removed from the template.", name=step.name),
    )


route_handlers = [template_index, add_step, edit_step_form, edit_step, move_step, remove_step]
