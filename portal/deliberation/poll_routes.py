"""HTTP routes of reactions and polls (thin controllers; the rules live in reactions.py and polls.py).

Each action works in two ways: with htmx the changed fragment (the post's reaction bar, the poll)
comes back and replaces itself; without JavaScript the form posts, and the browser is sent back to
the post or poll on the thread page (303). A refused vote without JavaScript gets a page of its own
with the message and the form, the choices kept.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member
from portal.core.i18n import _
from portal.core.templating import is_htmx_partial, page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.deliberation import polls, reactions
from portal.deliberation.access import Access, get_post_for, get_thread_and_access, participating
from portal.deliberation.tables import Poll, Thread


def _thread_url(tenancy: TenantScope, thread_id: int, anchor: str = "") -> str:
    return f"/t/{tenancy.tenant.slug}/threads/{thread_id}" + (f"#{anchor}" if anchor else "")


def _fragment(request: Request, template_name: str, *, status_code: int = 200, **context) -> Template:
    """A piece of the thread page for htmx (no layout, and a pending flash message is kept)."""
    return Template(
        template_name=template_name,
        context={"ctx": request_context(request), **context},
        status_code=status_code,
    )


# --- reactions --------------------------------------------------------------------------------


@post("/posts/{post_id:int}/reactions", guards=[requires_member])
async def toggle_reaction(
    request: Request, tenancy: NamedDependency[TenantScope], post_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    post_, thread, access = await get_post_for(tenancy, ctx, post_id)
    form = await read_form(request)
    kind = form.raw("kind").strip()
    problem: str | None = None
    status_code = 200
    added = False
    try:
        added = await reactions.toggle_reaction(tenancy, access, post_, ctx.user, kind)
    except reactions.ReactionError as error:
        problem = str(error)
        status_code = 422 if kind not in reactions.REACTION_KINDS else (409 if access.can_post else 403)
    else:
        await reactions.announce_reactions(tenancy, post_.id)
    if is_htmx_partial(request):
        counts, mine = await reactions.reactions_for_posts(tenancy, [post_.id], ctx.user.id)
        return _fragment(
            request, "deliberation/_reactions.html", status_code=status_code, post=post_,
            reaction_counts=counts, my_reactions=mine, access=access, reaction_problem=problem,
        )
    if problem:
        flash(request.scope, problem)
    else:
        flash(request.scope, _("Your reaction has been added.") if added else _("Your reaction has been taken back."))
    return see_other(_thread_url(tenancy, thread.id, f"post-{post_.id}"))


# --- creating a poll --------------------------------------------------------------------------


def _new_poll_page(
    request: Request, thread: Thread, form: Form, *, status_code: int = 200, problem: str | None = None
) -> Template:
    return page(
        request, "deliberation/poll_form.html", status_code=status_code, mode="create", thread=thread,
        form=form, problem=problem, back=_thread_url(request_context(request).scope, thread.id, "polls"),
        kind_options=[(kind, _(label)) for kind, label in polls.POLL_KIND_LABELS.items()],
        scale_options=[_(label) for label in polls.SCALE_OPTIONS],
        limits={"question": polls.MAX_QUESTION, "min": polls.MIN_OPTIONS, "max": polls.MAX_OPTIONS,
                "days": polls.MAX_DAYS_AHEAD},
    )


def _cannot_create(access: Access) -> tuple[int, str] | None:
    if polls.can_create_poll(access):
        return None
    if access.refusal:
        return 403, access.refusal
    if not access.can_post:
        return 409, _("This round is closed. No new polls can be started.")
    return 403, _("Only officers and members of the panel can start a poll.")


@get("/threads/{thread_id:int}/polls/new", guards=[requires_member])
async def new_poll(request: Request, tenancy: NamedDependency[TenantScope], thread_id: FromPath[int]) -> Template:
    ctx = request_context(request)
    thread, access = await get_thread_and_access(tenancy, ctx, thread_id)
    refused = _cannot_create(await participating(tenancy, access, ctx.user))
    if refused:
        return _new_poll_page(request, thread, Form(), status_code=refused[0], problem=refused[1])
    return _new_poll_page(request, thread, polls.new_poll_form())


@post("/threads/{thread_id:int}/polls", guards=[requires_member])
async def create_poll(
    request: Request, tenancy: NamedDependency[TenantScope], thread_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    thread, access = await get_thread_and_access(tenancy, ctx, thread_id)
    form = await read_form(request)
    refused = _cannot_create(await participating(tenancy, access, ctx.user))
    if refused:
        return _new_poll_page(request, thread, form, status_code=refused[0], problem=refused[1])
    values = polls.parse_poll_form(form)
    if not form.is_valid:
        return _new_poll_page(request, thread, form, status_code=422)
    try:
        poll = await polls.create_poll(tenancy, access, thread, ctx.user, values)
    except polls.PollError as error:
        if error.field:
            form.add_error(error.field, str(error))
            return _new_poll_page(request, thread, form, status_code=error.status_code)
        return _new_poll_page(request, thread, form, status_code=error.status_code, problem=str(error))
    await polls.announce_poll(tenancy, poll.id)
    flash(request.scope, _("The poll has started."))
    return see_other(_thread_url(tenancy, thread.id, f"poll-{poll.id}"))


# --- voting and closing -----------------------------------------------------------------------


async def _poll_and_access(request: Request, tenancy: TenantScope, poll_id: int) -> tuple[Poll, Thread, Access]:
    """The poll, its thread and the person's access; 404 for anyone who may not read the thread."""
    poll = await tenancy.get(Poll, poll_id)
    thread, access = await get_thread_and_access(tenancy, request_context(request), poll.thread)
    return poll, thread, access


async def _poll_response(
    request: Request, tenancy: TenantScope, poll: Poll, thread: Thread, access: Access, *,
    status_code: int, problem: str | None = None, form: Form | None = None,
) -> Template:
    """The poll again, with the message: as a fragment for htmx, else as a page of its own."""
    view = await polls.poll_view(tenancy, poll, access)
    if form is not None and form.errors:
        # Show what the person chose, not their earlier vote, so nothing they did is lost.
        chosen = set(polls.parse_option_ids(form.values.get("option_ids", "").split(",")))
        for option in view.options:
            option.chosen = option.id in chosen
    context = dict(poll=view, vote_form=form or Form(), poll_problem=problem)
    if is_htmx_partial(request):
        return _fragment(request, "deliberation/_poll.html", status_code=status_code, **context)
    return page(
        request, "deliberation/poll_form.html", status_code=status_code, mode="vote", thread=thread,
        back=_thread_url(tenancy, thread.id, f"poll-{poll.id}"), poll_heading_level=2, **context,
    )


@post("/polls/{poll_id:int}/vote", guards=[requires_member])
async def vote(
    request: Request, tenancy: NamedDependency[TenantScope], poll_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    poll, thread, access = await _poll_and_access(request, tenancy, poll_id)
    data = await request.form()
    chosen = polls.parse_option_ids([value for value in data.getall("option", []) if isinstance(value, str)])
    form = await read_form(request)
    reason = form.raw("reason")  # checked by the rules, after whether the poll is still open
    form.values["option_ids"] = ",".join(str(option_id) for option_id in chosen)
    try:
        await polls.cast_vote(tenancy, access, poll, ctx.user, chosen, reason)
    except polls.PollError as error:
        if error.field:
            form.add_error(error.field, str(error))
        poll = await tenancy.get(Poll, poll.id)
        return await _poll_response(
            request, tenancy, poll, thread, access, status_code=error.status_code,
            problem=None if error.field else str(error), form=form,
        )
    await polls.announce_poll(tenancy, poll.id)
    if is_htmx_partial(request):
        view = await polls.poll_view(tenancy, poll, access)
        return _fragment(
            request, "deliberation/_poll.html", poll=view, vote_form=Form(),
            poll_problem=None, poll_notice=_("Your vote has been saved."),
        )
    flash(request.scope, _("Your vote has been saved."))
    return see_other(_thread_url(tenancy, thread.id, f"poll-{poll.id}"))


@post("/polls/{poll_id:int}/close", guards=[requires_member])
async def close_poll(
    request: Request, tenancy: NamedDependency[TenantScope], poll_id: FromPath[int]
) -> Template | Redirect:
    ctx = request_context(request)
    poll, thread, access = await _poll_and_access(request, tenancy, poll_id)
    try:
        poll = await polls.close_poll(tenancy, access, poll, ctx.user)
    except polls.PollError as error:
        if error.status_code == 404:
            raise NotFoundException() from error
        poll = await tenancy.get(Poll, poll.id)
        return await _poll_response(request, tenancy, poll, thread, access,
                                    status_code=error.status_code, problem=str(error))
    await polls.announce_poll(tenancy, poll.id)
    if is_htmx_partial(request):
        view = await polls.poll_view(tenancy, poll, access)
        return _fragment(request, "deliberation/_poll.html", poll=view, vote_form=Form(),
                         poll_problem=None, poll_notice=_("The poll has been closed."))
    flash(request.scope, _("The poll has been closed."))
    return see_other(_thread_url(tenancy, thread.id, f"poll-{poll.id}"))


route_handlers = [toggle_reaction, new_poll, create_poll, vote, close_poll]
