"""Reporting, hiding and unhiding posts, the moderation queue, and notification settings."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member
from portal.core.i18n import _
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, safe_next, see_other
from portal.deliberation import moderation, notifications
from portal.deliberation.access import get_post_for
from portal.deliberation.moderation import REASON_MAX_LENGTH, ModerationError
from portal.rounds.tables import ConsultationRound
from portal.rounds.visibility import can_see_round


def thread_url(tenancy: TenantScope, thread_id: int, post_id: int | None = None) -> str:
    anchor = f"#post-{post_id}" if post_id else ""
    return f"/t/{tenancy.tenant.slug}/threads/{thread_id}{anchor}"


def _back(tenancy: TenantScope, form: Form, thread_id: int, post_id: int) -> str:
    """Where to go after an action: the page the form was on (``next``), else the post."""
    default = thread_url(tenancy, thread_id, post_id)
    return safe_next(form.raw("next").strip() or None, default)


async def _action_page(
    request: Request, action: str, post_, thread, form: Form, *, status_code: int = 200,
    problem: str | None = None,
) -> Template:
    """The report or hide form, on a page of its own with the post it is about. Under each post
    is only a link to it: a thread page of 200 posts stays small, and the form has room for an
    explanation and, when something is wrong, the message with the text kept."""
    tenancy: TenantScope = request_context(request).scope
    return page(
        request, "deliberation/moderation_action.html", status_code=status_code, action=action,
        post=post_, thread=thread, form=form, problem=problem, reason_max=REASON_MAX_LENGTH,
        author_name=await notifications.display_name_in(tenancy, post_.author),
        # Only moderators reach the hide form; others never see the text of a hidden post.
        show_body=post_.deleted_at is None and (post_.hidden_at is None or action == "hide"),
        back=thread_url(tenancy, thread.id, post_.id),
    )


@get("/posts/{post_id:int}/report", guards=[requires_member])
async def report_form(request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]) -> Template:
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    refusal = await moderation.report_refusal(tenancy, post_, access, ctx.user.id)
    if refusal is not None:
        return await _action_page(request, "report", post_, thread, Form(), status_code=refusal.status_code,
                                  problem=str(refusal))
    return await _action_page(request, "report", post_, thread, Form())


@post("/posts/{post_id:int}/report", guards=[requires_member])
async def report_post(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    form = await read_form(request)
    reason = form.text("reason", _("Reason"), max_length=REASON_MAX_LENGTH)
    back = _back(tenancy, form, thread.id, post_.id)
    if not form.is_valid:
        return await _action_page(request, "report", post_, thread, form, status_code=422)
    try:
        hidden = await moderation.report_post(tenancy, post_, access, ctx.user.id, reason)
    except ModerationError as error:
        if error.status_code == 404:
            raise NotFoundException() from error
        return await _action_page(request, "report", post_, thread, form, status_code=error.status_code,
                                  problem=str(error))
    if hidden:
        flash(request.scope, _("Thank you. The post is now hidden until a moderator has looked at it."))
    else:
        flash(request.scope, _("Thank you. A moderator will look at your report."))
    return see_other(back)


@get("/posts/{post_id:int}/hide", guards=[requires_member])
async def hide_form(request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]) -> Template:
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    if not access.can_moderate:
        raise PermissionDeniedException()
    refusal = moderation.hide_refusal(post_, access)
    if refusal is not None:
        return await _action_page(request, "hide", post_, thread, Form(), status_code=refusal.status_code,
                                  problem=str(refusal))
    return await _action_page(request, "hide", post_, thread, Form())


@post("/posts/{post_id:int}/hide", guards=[requires_member])
async def hide_post(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    if not access.can_moderate:
        raise PermissionDeniedException()
    form = await read_form(request)
    reason = form.text("reason", _("Reason"), max_length=REASON_MAX_LENGTH)
    back = _back(tenancy, form, thread.id, post_.id)
    if not form.is_valid:
        return await _action_page(request, "hide", post_, thread, form, status_code=422)
    try:
        await moderation.hide_post(tenancy, post_, access, ctx.user.id, reason)
    except ModerationError as error:
        return await _action_page(request, "hide", post_, thread, form, status_code=error.status_code,
                                  problem=str(error))
    flash(request.scope, _("The post is hidden. Its author sees your reason."))
    return see_other(back)


async def _settle(request: Request, tenancy: TenantScope, post_id: int, action, done: str) -> Redirect:
    """Unhide or dismiss: a moderator's one-button decision on a post, then back to it."""
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    if not access.can_moderate:
        raise PermissionDeniedException()
    form = await read_form(request)
    try:
        await action(tenancy, post_, access, ctx.user.id)
        flash(request.scope, done)
    except ModerationError as error:
        flash(request.scope, str(error))
    return see_other(_back(tenancy, form, thread.id, post_.id))


@post("/posts/{post_id:int}/unhide", guards=[requires_member])
async def unhide_post(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Redirect:
    return await _settle(request, tenancy, post_id, moderation.unhide_post,
                         _("The post is visible again. Its reports are settled."))


@post("/posts/{post_id:int}/dismiss-reports", guards=[requires_member])
async def dismiss_reports(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Redirect:
    return await _settle(request, tenancy, post_id, moderation.dismiss_reports,
                         _("The reports are settled. The post stays visible."))


@get("/rounds/{round_id:int}/moderation", guards=[requires_member])
async def moderation_queue(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]
) -> Template:
    ctx = request_context(request)
    round_ = await tenancy.get(ConsultationRound, round_id)
    if not await can_see_round(tenancy, ctx, round_):
        raise NotFoundException()
    threads = await moderation.moderated_threads(tenancy, ctx, round_)
    if not threads:
        raise PermissionDeniedException()
    items = await moderation.moderation_queue(tenancy, threads)
    return page(request, "deliberation/moderation.html", round=round_, items=items, threads=threads)


def _notifications_page(request: Request, form: Form, mode: str, status_code: int = 200) -> Template:
    return page(
        request, "deliberation/notifications.html", status_code=status_code, form=form, mode=mode,
        modes=[(value, notifications.MODE_LABELS[value]) for value in notifications.MODES],
    )


@get("/notifications", guards=[requires_member])
async def notification_settings(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    ctx = request_context(request)
    mode = await notifications.mode_for(tenancy, ctx.user.id, ctx.roles)
    return _notifications_page(request, Form(), mode)


@post("/notifications", guards=[requires_member])
async def save_notification_settings(
    request: Request, tenancy: NamedDependency[TenantScope]
) -> Template | Redirect:
    ctx = request_context(request)
    form = await read_form(request)
    mode = form.choice("mode", _("How you hear about new posts"), notifications.MODES)
    if form.is_valid:
        with form.catch_as_error(notifications.NotificationError, "mode"):
            await notifications.set_mode(tenancy, ctx.user, mode, ctx.roles)
    if not form.is_valid:
        current = await notifications.mode_for(tenancy, ctx.user.id, ctx.roles)
        return _notifications_page(request, form, current, status_code=422)
    flash(request.scope, _("Your choice is saved."))
    return see_other(f"/t/{tenancy.tenant.slug}/notifications")


route_handlers = [
    report_form,
    report_post,
    hide_form,
    hide_post,
    unhide_post,
    dismiss_reports,
    moderation_queue,
    notification_settings,
    save_notification_settings,
]
