"""HTTP routes of advice documents: the list, starting advice, writing it together (versions and
their differences) and adoption by the panel. Thin controllers: the rules live in documents.py."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import PANEL_MEMBER
from portal.advice import documents, notify
from portal.advice import privacy as _privacy_parts  # noqa: F401 (registers export, erasure, withdrawal)
from portal.advice.access import AdviceAccess, get_advice_and_access
from portal.advice.documents import AdviceError, DocumentConflict
from portal.advice.overview import advice_list, advice_page
from portal.advice.rules import (
    ADVICE_STATUS_LABELS,
    CONFLICT_CHOICE_LABELS,
    MERGE_NOTE_LABELS,
    RESPONSE_STATUS_LABELS,
    VOTE_LABELS,
)
from portal.advice.tables import Advice, AdviceVersion
from portal.agreements.privacy import FORMER_PARTICIPANT
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role
from portal.core.i18n import _
from portal.core.mail import MailService
from portal.core.states import TransitionError
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.cycles.service import display_names
from portal.rounds.tables import ConsultationRound
from portal.rounds.visibility import can_see_round
from portal.tenants.settings import tenant_setting

MEMBERS = requires_role(PANEL_MEMBER)


def advice_url(tenancy: TenantScope, advice_id: int) -> str:
    return f"/t/{tenancy.tenant.slug}/advice/{advice_id}"


def id_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


# --- the list and starting advice --------------------------------------------------------------


@get("/advice", guards=[requires_member])
async def list_advice(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return page(request, "advice/index.html", advice_rows=await advice_list(tenancy, request_context(request)),
                status_labels=ADVICE_STATUS_LABELS,
                ledger_public=tenant_setting(tenancy.tenant, "public_advice_ledger"))


async def _round_for_advice(request: Request, tenancy: TenantScope, raw: str | None) -> ConsultationRound | None:
    """The round named in the address or form (None: unsolicited advice); 404 when unseen."""
    if not (raw or "").strip():
        return None
    round_id = id_or_none(raw)
    round_ = await tenancy.get_or_none(ConsultationRound, round_id) if round_id else None
    if round_ is None or not await can_see_round(tenancy, request_context(request), round_):
        raise NotFoundException()
    return round_


async def _new_page(request: Request, tenancy: TenantScope, round_: ConsultationRound | None, form: Form,
                    status_code: int = 200, problem: str | None = None) -> Template:
    ctx = request_context(request)
    return page(
        request, "advice/new.html", status_code=status_code, form=form, round=round_, problem=problem,
        refusal=await documents.writing_refusal(tenancy, round_, ctx.user),
        panels=await documents.panel_choices(tenancy, ctx, round_),
        stages=await documents.open_stages(tenancy) if round_ is None else [],
    )


@get("/advice/new", guards=[MEMBERS])
async def new_advice(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    round_ = await _round_for_advice(request, tenancy, request.query_params.get("round"))
    return await _new_page(request, tenancy, round_, Form())


@post("/advice", guards=[MEMBERS])
async def create_advice(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    round_ = await _round_for_advice(request, tenancy, form.raw("round"))
    title = form.text("title", _("Title of the advice"), max_length=documents.TITLE_MAX)
    panel_choice = form.raw("panel").strip()
    stage_id = id_or_none(form.raw("stage")) if round_ is None and form.raw("stage").strip() else None
    if round_ is None and form.raw("stage").strip() and stage_id is None:
        form.add_error("stage", _("Choose an open stage from the list."))
    if not form.is_valid:
        return await _new_page(request, tenancy, round_, form, status_code=422)
    with form.catch_as_error(AdviceError, "panel"):
        advice = await documents.create_advice(
            tenancy, request_context(request), title=title, round_=round_, panel_choice=panel_choice,
            stage_id=stage_id,
        )
    if not form.is_valid:
        return await _new_page(request, tenancy, round_, form, status_code=422)
    flash(request.scope, _("The advice has been started. Add the advice items."))
    return see_other(f"{advice_url(tenancy, advice.id)}/edit")


# --- one advice ------------------------------------------------------------------------------


async def _advice_page(request: Request, tenancy: TenantScope, advice: Advice, access: AdviceAccess, *,
                       status_code: int = 200, problem: str | None = None) -> Template:
    overview = await advice_page(tenancy, request_context(request), advice, access)
    return page(request, "advice/show.html", status_code=status_code, problem=problem,
                status_labels=ADVICE_STATUS_LABELS, response_labels=RESPONSE_STATUS_LABELS,
                vote_labels=VOTE_LABELS, **overview)


@get("/advice/{advice_id:int}", guards=[requires_member])
async def show_advice(request: Request, tenancy: NamedDependency[TenantScope], advice_id: FromPath[int]) -> Template:
    advice, access = await get_advice_and_access(tenancy, request_context(request), advice_id)
    return await _advice_page(request, tenancy, advice, access)


async def _edit_page(request: Request, tenancy: TenantScope, advice: Advice, form: Form, *,
                     status_code: int = 200, problem: str | None = None, refusal: str | None = None) -> Template:
    """The edit form with the person's text kept; after a conflict, both sides' texts of each
    conflicting item, the other side labelled with the version and who saved it."""
    blocks = documents.form_blocks(form)
    other_version = None
    if form.values.get("title-conflict") or any(block["conflict"] for block in blocks):
        number = int(form.values["version"])
        other_version = {"number": number, "author": await documents.version_author(tenancy, advice.id, number)}
    return page(request, "advice/edit.html", status_code=status_code, advice=advice, form=form,
                problem=problem, refusal=refusal, blocks=blocks, other_version=other_version, choice_labels=CONFLICT_CHOICE_LABELS)


@get("/advice/{advice_id:int}/edit", guards=[MEMBERS])
async def edit_advice_form(request: Request, tenancy: NamedDependency[TenantScope],
                           advice_id: FromPath[int]) -> Template:
    advice, access = await get_advice_and_access(tenancy, request_context(request), advice_id)
    if not access.is_member or advice.status != "draft":
        return await _advice_page(request, tenancy, advice, access, status_code=409, problem=_(
            "This advice can only be changed by its panel while it is a draft."))
    form = documents.document_form(advice, await documents.items_of(tenancy, advice.id))
    round_ = await tenancy.get_or_none(ConsultationRound, advice.round) if advice.round else None
    return await _edit_page(request, tenancy, advice, form,
                            refusal=await documents.writing_refusal(tenancy, round_, request_context(request).user))


def _saved_message(saved: documents.SavedDocument) -> str:
    number = saved.version.number
    if not saved.combined:
        return _("The advice has been saved as version %(number)s.", number=number)
    return _(
        "%(names)s saved the advice while you were writing. Your changes have been combined with theirs "
        "(%(changes)s) and saved as version %(number)s.",
        names=", ".join(saved.others), number=number,
        changes="; ".join(_(MERGE_NOTE_LABELS[note.kind], title=note.title) for note in saved.combined),
    )


@post("/advice/{advice_id:int}/edit", guards=[MEMBERS])
async def edit_advice(request: Request, tenancy: NamedDependency[TenantScope],
                      advice_id: FromPath[int]) -> Template | Redirect:
    advice, access = await get_advice_and_access(tenancy, request_context(request), advice_id)
    form = await read_form(request)
    values = documents.parse_document_form(form)
    if not form.is_valid:
        return await _edit_page(request, tenancy, advice, form, status_code=422)
    try:
        saved = await documents.save_document(tenancy, advice, values, access, request_context(request).user)
    except DocumentConflict as conflict:
        # The merged document, based on the latest version: the next save starts from there.
        fresh = await tenancy.get(Advice, advice.id)
        return await _edit_page(request, tenancy, fresh, documents.merge_form(conflict), status_code=409,
                                problem=str(conflict))
    except AdviceError as error:
        return await _advice_page(request, tenancy, advice, access, status_code=409, problem=str(error))
    flash(request.scope, _saved_message(saved))
    return see_other(advice_url(tenancy, advice.id))


@get("/advice/versions/{version_id:int}", guards=[requires_member])
async def show_version(request: Request, tenancy: NamedDependency[TenantScope], version_id: FromPath[int]) -> Template:
    version = await tenancy.get(AdviceVersion, version_id)
    advice, _access = await get_advice_and_access(tenancy, request_context(request), version.advice)
    previous, changes = await documents.version_changes(tenancy, version)
    names = await display_names(tenancy, {version.author})
    return page(request, "advice/version.html", advice=advice, version=version, previous=previous,
                changes=changes, items=documents.version_items(version),
                author=names.get(version.author) or _(FORMER_PARTICIPANT))


# --- adoption ---------------------------------------------------------------------------------


@post("/advice/{advice_id:int}/adopt", guards=[MEMBERS])
async def start_adoption(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
                         advice_id: FromPath[int]) -> Template | Redirect:
    advice, access = await get_advice_and_access(tenancy, request_context(request), advice_id)
    try:
        members = await documents.start_adoption(tenancy, advice, access, request_context(request).user)
    except (AdviceError, TransitionError) as error:
        return await _advice_page(request, tenancy, advice, access, status_code=409, problem=str(error))
    await notify.email_people(mail, tenancy, "adoption_requested", members, advice_title=advice.title,
                              link=notify.advice_link(mail.base_url, tenancy.tenant, advice.id))
    flash(request.scope, _("The panel members have been asked by email to confirm the advice."))
    return see_other(advice_url(tenancy, advice.id))


@post("/advice/{advice_id:int}/vote", guards=[MEMBERS])
async def vote(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
               advice_id: FromPath[int]) -> Template | Redirect:
    advice, access = await get_advice_and_access(tenancy, request_context(request), advice_id)
    form = await read_form(request)
    try:
        outcome = await documents.cast_vote(tenancy, advice, request_context(request).user, form.raw("choice").strip())
    except AdviceError as error:
        return await _advice_page(request, tenancy, advice, access, status_code=409, problem=str(error))
    if outcome == "adopted":
        await notify.email_people(
            mail, tenancy, "advice_submitted", await notify.officers_for(tenancy, advice), advice_title=advice.title,
            due=advice.response_due, link=notify.advice_link(mail.base_url, tenancy.tenant, advice.id),
        )
    flash(request.scope, {
        "adopted": _("The panel has adopted the advice. It has been submitted to the municipality."),
        "rejected": _("The advice was not adopted. It is a draft again, so the panel can change it."),
    }.get(outcome, _("Thank you, your answer has been saved.")))
    return see_other(advice_url(tenancy, advice.id))


@post("/advice/{advice_id:int}/reopen", guards=[MEMBERS])
async def reopen(request: Request, tenancy: NamedDependency[TenantScope], advice_id: FromPath[int]) -> Template | Redirect:
    advice, access = await get_advice_and_access(tenancy, request_context(request), advice_id)
    try:
        await documents.reopen(tenancy, advice, access, request_context(request).user)
    except (AdviceError, TransitionError) as error:
        return await _advice_page(request, tenancy, advice, access, status_code=409, problem=str(error))
    flash(request.scope, _("The advice is a draft again. Answers given so far no longer count."))
    return see_other(advice_url(tenancy, advice.id))


route_handlers = [
    list_advice,
    new_advice,
    create_advice,
    show_advice,
    edit_advice_form,
    edit_advice,
    show_version,
    start_adoption,
    vote,
    reopen,
]
