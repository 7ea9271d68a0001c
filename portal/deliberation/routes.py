"""HTTP routes of threads and posts (thin controllers; the rules live in service.py and access.py).

Every route needs a role in the tenant; ``access`` decides the rest, and a thread the person may
not read is a 404. Posting works as a plain form (303 back to the post) and with htmx (the new
post comes back as a fragment and the form is replaced by a fresh one).
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import POLICY_OFFICER, TENANT_ADMIN
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role
from portal.core.i18n import _
from portal.core.templating import is_htmx_partial, page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.deliberation import service
from portal.deliberation.access import Access, get_post_for, get_thread_and_access
from portal.deliberation.service import PostError, ThreadError
from portal.deliberation.tables import Post, Thread
from portal.rounds.tables import ConsultationRound
from portal.rounds.visibility import can_see_round

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)


def thread_url(tenancy: TenantScope, thread_id: int, post_id: int | None = None) -> str:
    anchor = f"#post-{post_id}" if post_id else ""
    return f"/t/{tenancy.tenant.slug}/threads/{thread_id}{anchor}"


def _threads_url(tenancy: TenantScope, round_id: int) -> str:
    return f"/t/{tenancy.tenant.slug}/rounds/{round_id}/threads"


def _int_or_none(raw: str) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


# --- the threads of a round -------------------------------------------------------------------


async def _round_for_threads(request: Request, tenancy: TenantScope, round_id: int):
    """The round and its threads section, or 404 for anyone who takes no part in it."""
    ctx = request_context(request)
    round_ = await tenancy.get(ConsultationRound, round_id)
    if not await can_see_round(tenancy, ctx, round_):
        raise NotFoundException()
    section = await service.round_threads(tenancy, ctx, round_)
    if not section.access.can_read_any:
        raise NotFoundException()
    return round_, section


def _threads_page(
    request: Request, round_: ConsultationRound, section, *, topic_form: Form | None = None,
    status_code: int = 200, problem: str | None = None,
) -> Template:
    return page(
        request, "deliberation/threads.html", status_code=status_code, round=round_, deliberation=section,
        topic_form=topic_form or Form(), problem=problem,
    )


@get("/rounds/{round_id:int}/threads", guards=[requires_member])
async def round_threads(request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]) -> Template:
    round_, section = await _round_for_threads(request, tenancy, round_id)
    return _threads_page(request, round_, section)


@post("/rounds/{round_id:int}/joint-thread", guards=[MANAGERS])
async def open_joint_thread(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]
) -> Template | Redirect:
    round_, section = await _round_for_threads(request, tenancy, round_id)
    try:
        thread = await service.open_joint_thread(tenancy, round_, request_context(request))
    except ThreadError as error:
        return _threads_page(request, round_, section, status_code=error.status_code, problem=str(error))
    flash(request.scope, _("The conversation for all panels is open."))
    return see_other(thread_url(tenancy, thread.id))


@post("/rounds/{round_id:int}/threads", guards=[requires_member])
async def open_sub_topic(
    request: Request, tenancy: NamedDependency[TenantScope], round_id: FromPath[int]
) -> Template | Redirect:
    round_, section = await _round_for_threads(request, tenancy, round_id)
    form = await read_form(request)
    title = form.text("title", _("Title of the topic"), max_length=service.MAX_TITLE_LENGTH)
    raw_panel = form.raw("panel_id").strip()
    panel_id = _int_or_none(raw_panel)
    if raw_panel and panel_id is None:
        form.add_error("panel_id", _("Choose who can read the topic from the list."))
    if form.is_valid:
        try:
            thread = await service.open_sub_topic(tenancy, round_, panel_id, title, request_context(request))
        except ThreadError as error:
            if error.status_code == 422:
                form.add_error(error.field, str(error))
            else:
                return _threads_page(request, round_, section, topic_form=form, status_code=error.status_code,
                                     problem=str(error))
    if not form.is_valid:
        return _threads_page(request, round_, section, topic_form=form, status_code=422)
    flash(request.scope, _("The topic has been started."))
    return see_other(thread_url(tenancy, thread.id))


# --- a thread and its posts --------------------------------------------------------------------


async def _thread_page(
    request: Request, tenancy: TenantScope, thread: Thread, access: Access, *, status_code: int = 200,
    post_form: Form | None = None, failed_reply: dict | None = None, problem: str | None = None,
) -> Template:
    ctx = request_context(request)
    context = await service.thread_page(tenancy, ctx, thread, access, mark_as_read=status_code == 200)
    return page(
        request, "deliberation/thread.html", status_code=status_code, post_form=post_form or Form(),
        client_token=service.new_client_token(), reply_token_prefix=service.new_client_token(),
        failed_reply=failed_reply, problem=problem, **context,
    )


@get("/threads/{thread_id:int}", guards=[requires_member])
async def show_thread(request: Request, tenancy: NamedDependency[TenantScope], thread_id: FromPath[int]) -> Template:
    thread, access = await get_thread_and_access(tenancy, request_context(request), thread_id)
    return await _thread_page(request, tenancy, thread, access)


@post("/threads/{thread_id:int}/posts", guards=[requires_member])
async def create_post(
    request: Request, tenancy: NamedDependency[TenantScope], thread_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    thread, access = await get_thread_and_access(tenancy, ctx, thread_id)
    form = await read_form(request)
    body = form.raw("body")
    sensitive = bool(form.raw("sensitive"))
    client_token = form.raw("client_token")
    raw_parent = form.raw("parent_id").strip()
    parent_id = _int_or_none(raw_parent)
    parent_view = None
    if raw_parent:
        parent_view = await service.post_view(tenancy, parent_id, viewer_id=ctx.user.id,
                                              moderator=access.can_moderate) if parent_id else None
        if parent_view is None or parent_view.thread != thread.id:
            raise NotFoundException()
    try:
        new_post = await service.create_post(
            tenancy, thread, ctx.user, body, parent_id=parent_id, sensitive=sensitive,
            client_token=client_token, access=access,
        )
    except PostError as error:
        form.add_error("body", str(error))
        return await _refused(request, tenancy, thread, access, form, parent_view, error.status_code)
    if is_htmx_partial(request):
        view = None
        if service.was_created(new_post):
            view = await service.post_view(tenancy, new_post.id, viewer_id=ctx.user.id,
                                           moderator=access.can_moderate)
        # A repeat of a post already on the page: only the form is renewed.
        return page(
            request, "deliberation/post_created.html", post=view, parent=parent_view, thread=thread,
            access=access, post_form=Form(), client_token=service.new_client_token(),
        )
    flash(request.scope, _("Your reply has been posted.") if parent_id else _("Your message has been posted."))
    return see_other(thread_url(tenancy, thread.id, new_post.id))


async def _refused(
    request: Request, tenancy: TenantScope, thread: Thread, access: Access, form: Form, parent_view,
    status_code: int,
) -> Template:
    """The form again with the message and the text kept: only the form for htmx, else the page."""
    if is_htmx_partial(request):
        response = page(
            request, "deliberation/form_refused.html", status_code=status_code, parent=parent_view,
            reply_form=form, post_form=form, thread=thread, access=access,
            client_token=form.values.get("client_token") or service.new_client_token(),
        )
        response.headers["HX-Retarget"] = f"#reply-{parent_view.id}" if parent_view else "#new-post"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    if parent_view is not None and parent_view.can_reply:
        return await _thread_page(request, tenancy, thread, access, status_code=status_code,
                                  failed_reply={"parent": parent_view.id, "form": form})
    # A reply to a post that can no longer be answered: the text moves to the form at the bottom.
    return await _thread_page(request, tenancy, thread, access, status_code=status_code, post_form=form)


# --- editing, removing and the history of a post ------------------------------------------------


async def _own_post(request: Request, tenancy: TenantScope, post_id: int) -> tuple[Post, Thread, Access]:
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    if post_.author is None or post_.author != ctx.user.id:
        raise PermissionDeniedException()
    return post_, thread, access


def _edit_page(
    request: Request, tenancy: TenantScope, post_: Post, thread: Thread, form: Form, *, status_code: int = 200,
    problem: str | None = None,
) -> Template:
    return page(
        request, "deliberation/edit.html", status_code=status_code, post=post_, thread=thread, form=form,
        problem=problem, can_edit=status_code != 409,
        editable_until=service.editable_until(tenancy, post_),
    )


@get("/posts/{post_id:int}/edit", guards=[requires_member])
async def edit_post_form(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Template:
    post_, thread, access = await _own_post(request, tenancy, post_id)
    form = Form({"body": post_.body_markdown, "sensitive": "on" if post_.sensitive else ""})
    form.raw("body")
    form.raw("sensitive")
    problem = _edit_problem(tenancy, post_, access)
    if problem:
        return _edit_page(request, tenancy, post_, thread, form, status_code=409, problem=problem)
    return _edit_page(request, tenancy, post_, thread, form)


def _edit_problem(tenancy: TenantScope, post_: Post, access: Access) -> str | None:
    """Why the post cannot be changed now, or None."""
    try:
        service.check_editable(tenancy, post_, access)
    except PostError as error:
        return str(error)
    return None


@post("/posts/{post_id:int}/edit", guards=[requires_member])
async def edit_post(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Template | Redirect:
    post_, thread, access = await _own_post(request, tenancy, post_id)
    form = await read_form(request)
    body = form.raw("body")
    sensitive = bool(form.raw("sensitive"))
    try:
        await service.edit_post(tenancy, post_, request_context(request).user, body, sensitive=sensitive,
                                access=access)
    except PostError as error:
        if error.status_code == 422:
            form.add_error("body", str(error))
            return _edit_page(request, tenancy, post_, thread, form, status_code=422)
        return _edit_page(request, tenancy, post_, thread, form, status_code=error.status_code, problem=str(error))
    flash(request.scope, _("Your message has been changed."))
    return see_other(thread_url(tenancy, thread.id, post_.id))


@post("/posts/{post_id:int}/delete", guards=[requires_member])
async def delete_post(request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]) -> Redirect:
    post_, thread, _access = await _own_post(request, tenancy, post_id)
    await service.delete_post(tenancy, post_, request_context(request).user)
    flash(request.scope, _("Your message has been removed."))
    return see_other(thread_url(tenancy, thread.id, post_.id))


@get("/posts/{post_id:int}/history", guards=[requires_member])
async def post_history(request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]) -> Template:
    post_, thread, access = await get_post_for(tenancy, request_context(request), post_id)
    if not access.can_moderate:
        raise PermissionDeniedException()
    names = await service.display_names(tenancy, {post_.author})
    return page(
        request, "deliberation/history.html", post=post_, thread=thread,
        revisions=await service.post_history(tenancy, post_),
        author_name=names.get(post_.author, (_(service.FORMER_MEMBER), ""))[0],
    )


route_handlers = [
    round_threads,
    open_joint_thread,
    open_sub_topic,
    show_thread,
    create_post,
    edit_post_form,
    edit_post,
    delete_post,
    post_history,
]
