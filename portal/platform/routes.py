"""Pages outside any tenant space."""

from __future__ import annotations

from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from portal.accounts import service as accounts
from portal.accounts.roles import TENANT_ADMIN
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_platform_operator
from portal.core.health import health_report
from portal.core.i18n import DEFAULT_LOCALE, LOCALES, _
from portal.core.mail import MailService, OutboxMailer, OutboxMessage
from portal.core.settings import Settings
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.invitations import service as invitations
from portal.tenants import setup
from portal.tenants.tables import Tenant
from portal.tenants.validation import KIND_LABELS, KINDS, NAME_MAX, SLUG_MAX, slug_problem


@get("/", name="home")
async def home(request: Request) -> Template:
    user = request_context(request).user
    spaces = await accounts.tenant_memberships(user) if user else []
    return page(request, "platform/home.html", spaces=spaces)


@get("/accessibility")
async def accessibility_statement(request: Request) -> Template:
    return page(request, "platform/accessibility.html")


@get("/healthz", media_type=MediaType.JSON, exclude_from_csrf=True)
async def healthz(request: Request) -> Response:
    report, healthy = await health_report(request.app.stores)
    return Response(report, status_code=200 if healthy else 503, media_type=MediaType.JSON)


async def _operator_page(
    request: Request, form: Form | None = None, space_form: Form | None = None, status_code: int = 200
) -> Template:
    tenants = await Tenant.select(Tenant.id, Tenant.slug, Tenant.name, Tenant.kind).order_by(Tenant.name)
    return page(
        request, "platform/operator.html", status_code=status_code, tenants=tenants, form=form or Form(),
        space_form=space_form or _new_space_form(), kind_options=[(kind, _(KIND_LABELS[kind])) for kind in KINDS],
        locale_options=list(LOCALES.items()),
    )


def _new_space_form() -> Form:
    form = Form()
    form.values.update(kind=KINDS[0], locale=DEFAULT_LOCALE)
    return form


@get("/platform", guards=[requires_platform_operator])
async def operator_home(request: Request) -> Template:
    return await _operator_page(request)


@post("/platform/spaces", guards=[requires_platform_operator])
async def create_space(
    request: Request, mail: NamedDependency[MailService], settings: NamedDependency[Settings]
) -> Template | Redirect:
    """The operator creates a tenant space and invites its first administrator in one step."""
    form = await read_form(request)
    values = {
        "name": form.text("name", _("Name of the space"), max_length=NAME_MAX),
        "slug": form.text("slug", _("Address"), max_length=SLUG_MAX),
        "kind": form.choice("kind", _("Kind of space"), KINDS),
        "locale": form.choice("locale", _("Language"), LOCALES),
        "admin_email": form.email("admin_email", _("Email address of the first administrator")),
    }
    if values["slug"] and "slug" not in form.errors and (problem := slug_problem(values["slug"])):
        form.add_error("slug", problem)
    if form.is_valid:
        with form.catch_as_error(setup.SetupError, "name"):
            tenant, invitation, token = await setup.create_tenant(
                actor=request_context(request).user, invitation_days=settings.invitation_days, **values
            )
    if not form.is_valid:
        return await _operator_page(request, space_form=form, status_code=422)
    await invitations.send_invitation_email(
        mail, tenant, invitation, token,
        inviter=request_context(request).user.name, base_url=settings.base_url,
    )
    flash(request.scope, _("The space %(name)s has been created and its administrator has been invited.",
                           name=tenant.name))
    return see_other("/platform")


@post("/platform/admin-invitations", guards=[requires_platform_operator])
async def invite_tenant_admin(request: Request, mail: NamedDependency[MailService], settings: NamedDependency[Settings]) -> Template | Redirect:
    """The operator invites the first administrator of a tenant space."""
    form = await read_form(request)
    email = form.email("email", _("Email address"))
    slug = form.raw("tenant")
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    if tenant is None:
        form.add_error("tenant", _("Choose a tenant space from the list."))
    if form.is_valid:
        with form.catch_as_error(invitations.InvitationError, "email"):
            invitation, token = await invitations.create_invitation(
                TenantScope(tenant),
                inviter=request_context(request).user,
                inviter_roles={TENANT_ADMIN},
                email=email,
                role=TENANT_ADMIN,
                days=settings.invitation_days,
            )
    if not form.is_valid:
        return await _operator_page(request, form=form, status_code=422)
    await invitations.send_invitation_email(
        mail, tenant, invitation, token,
        inviter=request_context(request).user.name, base_url=settings.base_url,
    )
    flash(request.scope, _("The invitation has been sent to %(email)s.", email=email))
    return see_other("/platform")


@get("/platform/outbox", guards=[requires_platform_operator])
async def outbox(request: Request, mail: NamedDependency[MailService]) -> Template:
    """Development only: the emails the portal would have sent."""
    enabled = isinstance(mail.mailer, OutboxMailer)
    messages = (
        await OutboxMessage.select().order_by(OutboxMessage.id, ascending=False).limit(100)
        if enabled
        else []
    )
    return page(request, "platform/outbox.html", messages=messages, enabled=enabled)


route_handlers = [home, accessibility_statement, healthz, operator_home, create_space, invite_tenant_admin, outbox]
