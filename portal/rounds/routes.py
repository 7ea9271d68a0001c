"""HTTP routes of consultation rounds (thin controllers; the rules live in service.py)."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from portal.accounts.roles import POLICY_OFFICER, TENANT_ADMIN
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role
from portal.core.i18n import _
from portal.core.mail import MailService
from portal.core.settings import Settings
from portal.core.states import TransitionError
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.cycles.tables import Stage
from portal.deliberation.service import round_threads_section
from portal.panels.rules import PANEL_KIND_LABELS
from portal.rounds import service
from portal.rounds.rules import MAX_DOCUMENT_BYTES, NEED_LABELS, ROUND_STATUS_LABELS
from portal.rounds.tables import ConsultationRound, RoundDocument
from portal.rounds.visibility import can_see_round

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)


def _round_url(tenancy: TenantScope, round_id: int) -> str:
    return f"/t/{tenancy.tenant.slug}/rounds/{round_id}"


def _form_page(
    request: Request, *, stage: Stage, form: Form, round_: ConsultationRound | None = None,
    status_code: int = 200, problem: str | None = None,
) -> Template:
    return page(
        request,
        "rounds/form.html",
        status_code=status_code,
        stage=stage,
        round=round_,
        form=form,
        problem=problem,
        need_options=[("", _("Not chosen yet"))] + [(key, _(label)) for key, label in NEED_LABELS.items()],
        six_questions=service.SIX_QUESTIONS,
    )


async def _round_page(
    request: Request, tenancy: TenantScope, round_: ConsultationRound, *, status_code: int = 200,
    problem: str | None = None, unanswered: list[str] | None = None,
    panel_form: Form | None = None, document_form: Form | None = None,
) -> Template:
    overview = await service.round_overview(tenancy, round_, request_context(request))
    # The conversations of a sent or closed round (None: not shown to this person).
    deliberation = await round_threads_section(tenancy, request_context(request), round_)
    return page(
        request,
        "rounds/show.html",
        status_code=status_code,
        deliberation=deliberation,
        problem=problem,
        problem_list=service.unanswered_labels(unanswered or []),
        panel_form=panel_form or Form(),
        document_form=document_form or Form(),
        status_labels=ROUND_STATUS_LABELS,
        need_labels=NEED_LABELS,
        max_document_mb=MAX_DOCUMENT_BYTES // (1024 * 1024),
        kind_labels=PANEL_KIND_LABELS,
        file_size=service.format_file_size,
        **overview,
    )


async def _visible_round(request: Request, tenancy: TenantScope, round_id: int) -> ConsultationRound:
    """The round, or 404 for anyone who may not see it: its existence is not revealed."""
    round_ = await tenancy.get(ConsultationRound, round_id)
    if not await can_see_round(tenancy, request_context(request), round_):
        raise NotFoundException()
    return round_


# --- creating and editing ---------------------------------------------------------------------


@get("/stages/{stage_id:int}/rounds/new", guards=[MANAGERS])
async def new_round(request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]) -> Template:
    stage = await tenancy.get(Stage, stage_id)
    if stage.status == "closed":
        return _form_page(request, stage=stage, form=Form(), status_code=409,
                          problem=_("This stage is closed. No rounds can be added to it."))
    return _form_page(request, stage=stage, form=Form())


@post("/stages/{stage_id:int}/rounds", guards=[MANAGERS])
async def create_round(
    request: Request, tenancy: NamedDependency[TenantScope], stage_id: FromPath[int]
) -> Template | Redirect:
    stage = await tenancy.get(Stage, stage_id)
    form = await read_form(request)
    values = service.parse_round_form(form)
    if not form.is_valid:
        return _form_page(request, stage=stage, form=form, status_code=422)
    try:
        round_ = await service.create_round(tenancy, stage, values, request_context(request).user)
    except service.RoundError as error:
        return _form_page(request, stage=stage, form=form, status_code=409, problem=str(error))
    flash(request.scope, _("The round has been saved as a draft."))
    return see_other(_round_url(tenancy, round_.id))


@get("/rounds/{round_id:int}/edit", guards=[MANAGERS])
async def edit_round_form(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]
) -> Template:
    round_ = await tenancy.get(ConsultationRound, round_id)
    if round_.status != "draft":
        return await _round_page(request, tenancy, round_, status_code=409,
                                 problem=_("Only a draft round can be changed. This round has already been sent."))
    stage = await tenancy.get(Stage, round_.stage)
    return _form_page(request, stage=stage, round_=round_, form=service.round_form(round_))


@post("/rounds/{round_id:int}/edit", guards=[MANAGERS])
async def edit_round(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    stage = await tenancy.get(Stage, round_.stage)
    form = await read_form(request)
    values = service.parse_round_form(form)
    if not form.is_valid:
        return _form_page(request, stage=stage, round_=round_, form=form, status_code=422)
    try:
        await service.update_round(tenancy, round_, values, request_context(request).user)
    except service.RoundError as error:
        return _form_page(request, stage=stage, round_=round_, form=form, status_code=409, problem=str(error))
    flash(request.scope, _("The changes have been saved."))
    return see_other(_round_url(tenancy, round_.id))


# --- the round page and the state changes ------------------------------------------------------


@get("/rounds/{round_id:int}", guards=[requires_member])
async def show_round(request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]) -> Template:
    round_ = await _visible_round(request, tenancy, round_id)
    return await _round_page(request, tenancy, round_)


@post("/rounds/{round_id:int}/send", guards=[MANAGERS])
async def send_round(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    mail: NamedDependency[MailService],
    settings: NamedDependency[Settings],
    round_id: FromPath[int],
) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    try:
        recipients = await service.send_round(tenancy, round_, request_context(request).user)
    except service.IncompleteRoundError as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error),
                                 unanswered=error.unanswered)
    except (service.RoundError, TransitionError) as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error))
    await service.notify_round_sent(mail, tenancy, round_, recipients, settings.base_url)
    flash(request.scope, _("The round has been sent. %(count)s people have been told by email.",
                           count=len(recipients)))
    return see_other(_round_url(tenancy, round_.id))


@post("/rounds/{round_id:int}/close", guards=[MANAGERS])
async def close_round(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]
) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    try:
        await service.close_round(tenancy, round_, request_context(request).user)
    except TransitionError as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error))
    flash(request.scope, _("The round has been closed."))
    return see_other(_round_url(tenancy, round_.id))


# --- panels -----------------------------------------------------------------------------------


@post("/rounds/{round_id:int}/panels", guards=[MANAGERS])
async def invite_panel(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    mail: NamedDependency[MailService],
    settings: NamedDependency[Settings],
    round_id: FromPath[int],
) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    form = await read_form(request)
    raw = form.raw("panel_id").strip()
    panel_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    try:
        recipients = await service.invite_panel(tenancy, round_, panel_id, request_context(request).user)
    except service.StateConflict as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error))
    except service.RoundError as error:
        form.add_error("panel_id", str(error))
        return await _round_page(request, tenancy, round_, status_code=422, panel_form=form)
    if recipients:
        await service.notify_round_sent(mail, tenancy, round_, recipients, settings.base_url)
    flash(request.scope, _("The panel has been invited."))
    return see_other(_round_url(tenancy, round_.id))


@post("/rounds/{round_id:int}/panels/{panel_id:int}/remove", guards=[MANAGERS])
async def remove_panel(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int], panel_id: FromPath[int]
) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    try:
        await service.remove_panel(tenancy, round_, panel_id, request_context(request).user)
    except service.StateConflict as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error))
    except service.RoundError as error:
        # Not invited (any more): nothing to remove; say so on the round page.
        flash(request.scope, str(error))
        return see_other(_round_url(tenancy, round_.id))
    flash(request.scope, _("The panel is no longer invited."))
    return see_other(_round_url(tenancy, round_.id))


# --- documents --------------------------------------------------------------------------------


@post("/rounds/{round_id:int}/documents", guards=[MANAGERS])
async def upload_document(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    settings: NamedDependency[Settings],
    round_id: FromPath[int],
) -> Template | Redirect:
    round_ = await tenancy.get(ConsultationRound, round_id)
    data = await request.form()
    upload = data.get("document")
    form = Form()
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.add_error("document", _("Choose a document to upload."))
        return await _round_page(request, tenancy, round_, status_code=422, document_form=form)
    try:
        # One byte more than allowed is enough to know that it is too large.
        content = await upload.read(MAX_DOCUMENT_BYTES + 1)
        filename = upload.filename
    finally:
        await upload.close()
    try:
        document = await service.add_document(
            tenancy, round_, filename, content, settings.upload_dir, request_context(request).user
        )
    except service.StateConflict as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error))
    except service.RoundError as error:
        form.add_error("document", str(error))
        return await _round_page(request, tenancy, round_, status_code=422, document_form=form)
    flash(request.scope, _("The document %(name)s has been added.", name=document.filename))
    return see_other(_round_url(tenancy, round_.id))


@get("/documents/{document_id:int}", guards=[requires_member])
async def download_document(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    settings: NamedDependency[Settings],
    document_id: FromPath[int],
) -> File:
    document = await tenancy.get(RoundDocument, document_id)
    await _visible_round(request, tenancy, document.round)
    path = service.document_path(settings.upload_dir, tenancy, document)
    if not path.is_file():
        raise NotFoundException()
    return File(
        path=path,
        filename=document.filename,
        media_type=document.content_type,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


@post("/documents/{document_id:int}/remove", guards=[MANAGERS])
async def remove_document(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    settings: NamedDependency[Settings],
    document_id: FromPath[int],
) -> Template | Redirect:
    document = await tenancy.get(RoundDocument, document_id)
    round_ = await tenancy.get(ConsultationRound, document.round)
    try:
        await service.remove_document(tenancy, round_, document, settings.upload_dir, request_context(request).user)
    except service.RoundError as error:
        return await _round_page(request, tenancy, round_, status_code=409, problem=str(error))
    flash(request.scope, _("The document %(name)s has been removed.", name=document.filename))
    return see_other(_round_url(tenancy, round_.id))


# --- my rounds --------------------------------------------------------------------------------


@get("/rounds/mine", guards=[requires_member])
async def my_rounds(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return page(
        request,
        "rounds/mine.html",
        rounds=await service.my_rounds(tenancy, request_context(request)),
        status_labels=ROUND_STATUS_LABELS,
    )


route_handlers = [
    new_round,
    create_round,
    my_rounds,
    show_round,
    edit_round_form,
    edit_round,
    send_round,
    close_round,
    invite_panel,
    remove_panel,
    upload_document,
    download_document,
    remove_document,
]
