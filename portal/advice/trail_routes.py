"""HTTP routes of an advice item's trail: the response (versions, publication), links to
decisions, implementation updates, the panel's "do you feel heard?" and council questions."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import COUNCIL_MEMBER, PANEL_MEMBER, POLICY_OFFICER, TENANT_ADMIN
from portal.advice import notify, outcomes, responses
from portal.advice.access import get_advice_and_access, get_item_and_access
from portal.advice.documents import TEXT_MAX, AdviceConflict, AdviceError
from portal.advice.overview import item_trail
from portal.advice.rules import (
    ADVICE_STATUS_LABELS,
    DECISION_KIND_LABELS,
    HEARD_LABELS,
    REASONING_REQUIRED,
    RESPONSE_STATUS_LABELS,
)
from portal.advice.tables import AdviceItem, CouncilQuestion, DecisionLink
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role
from portal.core.i18n import _
from portal.core.mail import MailService
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)


def item_url(tenancy: TenantScope, item_id: int, anchor: str = "") -> str:
    return f"/t/{tenancy.tenant.slug}/advice-items/{item_id}{'#' + anchor if anchor else ''}"


async def _trail_page(request: Request, tenancy: TenantScope, item: AdviceItem, *, status_code: int = 200,
                      problem: str | None = None, **forms: Form) -> Template:
    ctx = request_context(request)
    item, advice, access = await get_item_and_access(tenancy, ctx, item.id)
    trail = await item_trail(tenancy, ctx, item, advice, access)
    response_form = forms.pop("response_form", None) or _response_form(trail["latest"])
    return page(
        request, "advice/item.html", status_code=status_code, problem=problem,
        response_form=response_form,
        link_form=forms.get("link_form") or Form(),
        outcome_form=forms.get("outcome_form") or Form(),
        heard_form=forms.get("heard_form") or _heard_form(trail["my_heard"]),
        question_form=forms.get("question_form") or Form(),
        decisions=await outcomes.decisions_for_select(tenancy) if access.is_officer else [],
        status_labels=ADVICE_STATUS_LABELS, response_labels=RESPONSE_STATUS_LABELS,
        kind_labels=DECISION_KIND_LABELS, heard_labels=HEARD_LABELS, reasoning_required=REASONING_REQUIRED,
        **trail,
    )


def _response_form(latest) -> Form:
    """Filled with the latest version (draft or published), to change it; ``based_on`` its number."""
    form = Form()
    form.values.update(status=latest.status if latest else "", reasoning=latest.reasoning if latest else "",
                       based_on=str(latest.number if latest else 0))
    return form


def _heard_form(mine) -> Form:
    form = Form()
    if mine is not None:
        form.values.update(answer=mine.answer, comment=mine.comment)
    return form


@get("/advice-items/{item_id:int}", guards=[requires_member])
async def show_item(request: Request, tenancy: NamedDependency[TenantScope], item_id: FromPath[int]) -> Template:
    item, _advice, _access = await get_item_and_access(tenancy, request_context(request), item_id)
    return await _trail_page(request, tenancy, item)


# --- the response --------------------------------------------------------------------------------


@post("/advice-items/{item_id:int}/response", guards=[MANAGERS])
async def save_response(request: Request, tenancy: NamedDependency[TenantScope],
                        item_id: FromPath[int]) -> Template | Redirect:
    item, advice, _access = await get_item_and_access(tenancy, request_context(request), item_id)
    form = await read_form(request)
    status, reasoning, based_on = responses.parse_response_form(form)
    if not form.is_valid:
        return await _trail_page(request, tenancy, item, status_code=422, response_form=form)
    try:
        version = await responses.save_response(tenancy, advice, item, status, reasoning, based_on,
                                                request_context(request).user)
    except AdviceConflict as error:
        latest = await responses.latest_version(tenancy, item.id)
        form.values["based_on"] = str(latest.number if latest else 0)
        return await _trail_page(request, tenancy, item, status_code=409, problem=str(error), response_form=form)
    except AdviceError as error:
        return await _trail_page(request, tenancy, item, status_code=409, problem=str(error), response_form=form)
    flash(request.scope, _("Version %(number)s of the response has been saved as a draft. Publish it to tell the panel.",
                           number=version.number))
    return see_other(item_url(tenancy, item.id, "response"))


@post("/advice/{advice_id:int}/items/{item_id:int}/publish", guards=[MANAGERS])
async def publish_response(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
                           advice_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
    ctx = request_context(request)
    advice, _access = await get_advice_and_access(tenancy, ctx, advice_id)
    item = await tenancy.get(AdviceItem, item_id)
    try:
        await responses.publish_response(tenancy, advice, item, ctx.user)
    except AdviceError as error:
        return await _trail_page(request, tenancy, item, status_code=409, problem=str(error))
    told = await notify.tell_panel(mail, tenancy, "response_published", advice, item)
    flash(request.scope, _("The response has been published. %(count)s panel members have been told by email.",
                           count=told))
    return see_other(item_url(tenancy, item.id, "response"))


# --- decisions and outcomes ------------------------------------------------------------------------


@post("/advice-items/{item_id:int}/decisions", guards=[MANAGERS])
async def link_decision(request: Request, tenancy: NamedDependency[TenantScope],
                        item_id: FromPath[int]) -> Template | Redirect:
    item, advice, _access = await get_item_and_access(tenancy, request_context(request), item_id)
    form = await read_form(request)
    try:
        link = await outcomes.link_decision(tenancy, advice, item, form, request_context(request).user)
    except AdviceError as error:
        return await _trail_page(request, tenancy, item, status_code=409, problem=str(error), link_form=form)
    if link is None:
        return await _trail_page(request, tenancy, item, status_code=422, link_form=form)
    flash(request.scope, _("The item has been linked to the decision."))
    return see_other(item_url(tenancy, item.id, "decisions"))


@post("/decision-links/{link_id:int}/remove", guards=[MANAGERS])
async def unlink_decision(request: Request, tenancy: NamedDependency[TenantScope],
                          link_id: FromPath[int]) -> Redirect:
    link = await tenancy.get(DecisionLink, link_id)
    await get_item_and_access(tenancy, request_context(request), link.item)
    await outcomes.unlink_decision(tenancy, link, request_context(request).user)
    flash(request.scope, _("The link to the decision has been removed."))
    return see_other(item_url(tenancy, link.item, "decisions"))


@post("/advice-items/{item_id:int}/outcomes", guards=[MANAGERS])
async def add_outcome(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
                      item_id: FromPath[int]) -> Template | Redirect:
    item, advice, _access = await get_item_and_access(tenancy, request_context(request), item_id)
    form = await read_form(request)
    progress, body = outcomes.parse_outcome_form(form)
    if not form.is_valid:
        return await _trail_page(request, tenancy, item, status_code=422, outcome_form=form)
    try:
        await outcomes.add_outcome(tenancy, advice, item, progress, body, request_context(request).user)
    except AdviceError as error:
        return await _trail_page(request, tenancy, item, status_code=409, problem=str(error), outcome_form=form)
    told = await notify.tell_panel(mail, tenancy, "outcome_published", advice, item)
    flash(request.scope, _("The update has been published. %(count)s panel members have been told by email.",
                           count=told))
    return see_other(item_url(tenancy, item.id, "outcomes"))


# --- the panel's reaction and council questions -----------------------------------------------------


@post("/advice-items/{item_id:int}/heard", guards=[requires_role(PANEL_MEMBER)])
async def answer_heard(request: Request, tenancy: NamedDependency[TenantScope],
                       item_id: FromPath[int]) -> Template | Redirect:
    item, _advice, access = await get_item_and_access(tenancy, request_context(request), item_id)
    form = await read_form(request)
    answer, comment = outcomes.parse_heard_form(form)
    if not form.is_valid:
        return await _trail_page(request, tenancy, item, status_code=422, heard_form=form)
    try:
        await outcomes.answer_heard(tenancy, item, access.is_member, answer, comment, request_context(request).user)
    except AdviceError as error:
        return await _trail_page(request, tenancy, item, status_code=409, problem=str(error), heard_form=form)
    flash(request.scope, _("Thank you. The municipality can see your answer."))
    return see_other(item_url(tenancy, item.id, "heard"))


@post("/advice-items/{item_id:int}/questions", guards=[requires_role(COUNCIL_MEMBER)])
async def ask_question(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
                       item_id: FromPath[int]) -> Template | Redirect:
    item, advice, _access = await get_item_and_access(tenancy, request_context(request), item_id)
    form = await read_form(request)
    text = form.text("question", _("Your question"), max_length=TEXT_MAX)
    if not form.is_valid:
        return await _trail_page(request, tenancy, item, status_code=422, question_form=form)
    await outcomes.ask_question(tenancy, item, text, request_context(request).user)
    await notify.email_people(mail, tenancy, "council_question", await notify.officers_for(tenancy, advice),
                              advice_title=advice.title, item_title=item.title,
                              link=notify.item_link(mail.base_url, tenancy.tenant, item.id))
    flash(request.scope, _("Your question has been sent to the policy officers."))
    return see_other(item_url(tenancy, item.id, "questions"))


@post("/council-questions/{question_id:int}/answer", guards=[MANAGERS])
async def answer_question(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
                          question_id: FromPath[int]) -> Template | Redirect:
    question = await tenancy.get(CouncilQuestion, question_id)
    item, advice, _access = await get_item_and_access(tenancy, request_context(request), question.item)
    form = await read_form(request)
    text = form.text("answer", _("Answer"), max_length=TEXT_MAX)
    if not form.is_valid:
        return await _trail_page(request, tenancy, item, status_code=422, problem=form.errors["answer"])
    await outcomes.answer_question(tenancy, question, text, request_context(request).user)
    await notify.email_people(mail, tenancy, "question_answered", await notify.person(question.asked_by, tenancy),
                              advice_title=advice.title, item_title=item.title,
                              link=notify.item_link(mail.base_url, tenancy.tenant, item.id))
    flash(request.scope, _("Your answer has been saved and the council member has been told."))
    return see_other(item_url(tenancy, item.id, "questions"))


route_handlers = [
    show_item,
    save_response,
    publish_response,
    link_decision,
    unlink_decision,
    add_outcome,
    answer_heard,
    ask_question,
    answer_question,
]
