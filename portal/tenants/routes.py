"""A tenant space: start page, people, and the space's set-up."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import POLICY_OFFICER, TENANT_ADMIN
from portal.accounts.tables import Membership
from portal.advice.decision_routes import route_handlers as decision_handlers
from portal.advice.routes import route_handlers as advice_handlers
from portal.advice.trail_routes import route_handlers as advice_trail_handlers
from portal.agreements.routes import route_handlers as agreement_handlers
from portal.core.context import flash
from portal.core.guards import requires_member, requires_role, requires_tenant
from portal.core.i18n import _
from portal.core.sessions import rotate_session
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import request_context, see_other
from portal.cycles.routes import route_handlers as cycle_handlers
from portal.cycles.template_routes import route_handlers as template_handlers
from portal.deliberation.live_routes import route_handlers as live_handlers
from portal.deliberation.moderation_routes import route_handlers as moderation_handlers
from portal.deliberation.poll_routes import route_handlers as poll_handlers
from portal.deliberation.routes import route_handlers as thread_handlers
from portal.invitations.routes import route_handlers as invitation_handlers
from portal.panels.routes import route_handlers as panel_handlers
from portal.panels.rules import PANEL_KIND_LABELS
from portal.panels.tables import PANEL_KINDS
from portal.privacy.routes import route_handlers as privacy_handlers
from portal.rounds.routes import route_handlers as round_handlers
from portal.tenants import service
from portal.tenants.dashboard import dashboard
from portal.tenants.settings import CONFIRMATION_RULE_LABELS, SETTING_LABELS
from portal.tenants.setup_routes import route_handlers as setup_handlers


@get("/", guards=[requires_member], name="tenant_home")
async def tenant_home(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    sections = await dashboard(tenancy, request_context(request))
    return page(request, "tenants/home.html", tenant=tenancy.tenant, sections=sections)


@get("/members", guards=[requires_role(TENANT_ADMIN, POLICY_OFFICER)])
async def members(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return page(request, "tenants/members.html", members=await service.list_members(tenancy))


@post("/members/{membership_id:int}/remove", guards=[requires_role(TENANT_ADMIN)])
async def remove_member(request: Request, tenancy: NamedDependency[TenantScope], membership_id: FromPath[int]) -> Redirect:
    membership = await tenancy.get(Membership, membership_id)
    actor = request_context(request).user
    try:
        await service.remove_membership(tenancy, membership, actor)
        if membership.user == actor.id:
            rotate_session(request.scope)  # the session's own roles changed
        flash(request.scope, _("The role has been removed."))
    except service.MembershipError as error:
        flash(request.scope, str(error))
    return see_other(f"/t/{tenancy.tenant.slug}/members")


@get("/space", guards=[requires_role(TENANT_ADMIN)])
async def space(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return page(
        request, "tenants/space.html", setting_labels=SETTING_LABELS, rule_labels=CONFIRMATION_RULE_LABELS,
        kind_labels=PANEL_KIND_LABELS, panel_kinds=PANEL_KINDS, **await service.space_overview(tenancy),
    )


def provide_tenancy(request: Request) -> TenantScope:
    return request_context(request).scope


router = Router(
    path="/t/{tenant_slug:str}",
    route_handlers=[
        tenant_home,
        members,
        remove_member,
        space,
        *setup_handlers,
        *template_handlers,
        *invitation_handlers,
        *cycle_handlers,
        *panel_handlers,
        *round_handlers,
        *thread_handlers,
        *moderation_handlers,
        *poll_handlers,
        *live_handlers,
        *agreement_handlers,
        *privacy_handlers,
        *advice_handlers,
        *advice_trail_handlers,
        *decision_handlers,
    ],
    dependencies={"tenancy": Provide(provide_tenancy, sync_to_thread=False)},
    guards=[requires_tenant],
)
