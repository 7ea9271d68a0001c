"""The live-update stream of a thread page (server-sent events; see ``live``)."""

from __future__ import annotations

from litestar import Request, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, ServerSentEvent

from portal.core.guards import requires_member
from portal.core.tenancy import TenantScope
from portal.core.web import request_context, see_other
from portal.deliberation import live
from portal.deliberation.access import get_thread_for

EVENT_STREAM = "text/event-stream"


@get("/threads/{thread_id:int}/events", guards=[requires_member], include_in_schema=False)
async def thread_events(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    channels: NamedDependency[ChannelsPlugin],
    thread_id: FromPath[int],
) -> ServerSentEvent | Redirect:
    """New posts, reactions and poll results of one thread while its page is open; 404 for
    anyone who may not read the thread. A client that does not ask for an event stream (a
    person following the address, a crawler) is sent to the thread page instead of being held
    on a response that never ends."""
    ctx = request_context(request)
    thread = await get_thread_for(tenancy, ctx, thread_id)
    if EVENT_STREAM not in request.headers.get("accept", ""):
        return see_other(f"/t/{tenancy.tenant.slug}/threads/{thread.id}")
    viewer = await live.open_viewer(request, tenancy, ctx, thread)
    return ServerSentEvent(live.thread_events(viewer, channels))


route_handlers = [thread_events]
