"""Inviting people into a tenant space and accepting an invitation."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts import service as accounts
from portal.accounts.roles import POLICY_OFFICER, TENANT_ADMIN, roles_invitable_by
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role
from portal.core.i18n import _
from portal.core.mail import MailService
from portal.core.sessions import rotate_session
from portal.core.settings import Settings
from portal.core.templating import page, role_label
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.invitations import service
from portal.invitations.tables import Invitation
from portal.privacy.rules import CONSENT_LABELS, CONSENT_TEXT_VERSION

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)


def _invitations_page(request: Request, invitations, form: Form, status_code: int = 200) -> Template:
    context = request_context(request)
    return page(
        request,
        "invitations/index.html",
        status_code=status_code,
        invitations=invitations,
        state_of=service.state_of,
        form=form,
        roles=roles_invitable_by(context.roles),
    )


@get("/invitations", guards=[MANAGERS], name="invitations")
async def invitations_index(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return _invitations_page(request, await service.list_invitations(tenancy), Form())


@post("/invitations", guards=[MANAGERS])
async def invite(
    request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService], settings: NamedDependency[Settings]
) -> Template | Redirect:
    context = request_context(request)
    form = await read_form(request)
    email = form.email("email", _("Email address"))
    # Nothing is chosen beforehand: the most powerful role must never be given by oversight.
    if not form.raw("role").strip():
        form.add_error("role", _("Choose the role this person gets in this space."))
    role = form.choice("role", _("Role"), roles_invitable_by(context.roles))
    if form.is_valid:
        with form.catch_as_error(service.InvitationError, "email"):
            invitation, token = await service.create_invitation(
                tenancy,
                inviter=context.user,
                inviter_roles=context.roles,
                email=email,
                role=role,
                days=settings.invitation_days,
            )
    if not form.is_valid:
        invitations = await service.list_invitations(tenancy)
        return _invitations_page(request, invitations, form, status_code=422)
    await service.send_invitation_email(
        mail, tenancy.tenant, invitation, token,
        inviter=context.display_name or context.user.name, base_url=settings.base_url,
    )
    flash(request.scope, _("The invitation has been sent to %(email)s.", email=email))
    return see_other(f"/t/{tenancy.tenant.slug}/invitations")


@post("/invitations/{invitation_id:int}/revoke", guards=[MANAGERS])
async def revoke(request: Request, tenancy: NamedDependency[TenantScope], invitation_id: FromPath[int]) -> Redirect:
    invitation = await tenancy.get(Invitation, invitation_id)
    try:
        await service.revoke_invitation(tenancy, invitation, request_context(request).user)
        flash(request.scope, _("The invitation has been withdrawn."))
    except service.InvitationError as error:
        flash(request.scope, str(error))
    return see_other(f"/t/{tenancy.tenant.slug}/invitations")


async def _acceptance(request: Request, tenancy: NamedDependency[TenantScope], token: FromPath[str]):
    """The invitation and what the visitor can do with it: a page to show, or None to proceed."""
    invitation = await service.find_by_token(tenancy, token)
    refusal = service.refusal_for(invitation)
    if refusal:
        # Unknown token: 404. Known but used, withdrawn or expired: 410 Gone.
        status_code = 404 if invitation is None else 410
        return invitation, page(request, "invitations/unusable.html", status_code=status_code, message=refusal)
    user = request_context(request).user
    if user and user.email != invitation.email:
        return invitation, page(request, "invitations/wrong_account.html", status_code=403)
    existing = user or await accounts.find_user_by_email(invitation.email)
    if existing and not user:
        return invitation, page(request, "invitations/login_first.html", invitation=invitation, token=token)
    return invitation, None


async def _acceptance_page(request: Request, tenancy: TenantScope, invitation: Invitation, form: Form,
                           consent_step: service.ConsentStep | None, *, action: str, asks_name: bool = True,
                           status_code: int = 200) -> Template:
    """The acceptance form: the emailed link's (``asks_name``: the name shown, and a new account's
    details), or that of an invitation accepted from "my invitations"; both ask for consent."""
    return page(
        request, "invitations/accept.html", status_code=status_code, invitation=invitation, action=action,
        asks_name=asks_name, form=form, panel=await service.panel_of(tenancy, invitation),
        consent_step=consent_step, consent_labels=CONSENT_LABELS, text_version=CONSENT_TEXT_VERSION,
    )


def _link_action(tenancy: TenantScope, token: str) -> str:
    return f"/t/{tenancy.tenant.slug}/invitations/accept/{token}"


def _mine_action(tenancy: TenantScope, invitation: Invitation) -> str:
    return f"/t/{tenancy.tenant.slug}/invitations/{invitation.id}/accept-mine"


@get("/invitations/accept/{token:str}")
async def acceptance_form(request: Request, tenancy: NamedDependency[TenantScope], token: FromPath[str]) -> Template:
    invitation, refusal_page = await _acceptance(request, tenancy, token)
    if refusal_page:
        return refusal_page
    step = await service.consent_step(tenancy, invitation, request_context(request).user)
    return await _acceptance_page(request, tenancy, invitation, Form(), step, action=_link_action(tenancy, token))


@post("/invitations/accept/{token:str}")
async def accept(request: Request, tenancy: NamedDependency[TenantScope], token: FromPath[str]) -> Template | Redirect:
    invitation, refusal_page = await _acceptance(request, tenancy, token)
    if refusal_page:
        return refusal_page
    user = request_context(request).user
    form = await read_form(request)
    display_name = form.text("display_name", _("Name shown to others"), max_length=120)
    new_account = None
    if user is None:
        name = form.text("name", _("Your name"), max_length=120)
        new_account = {"name": name, "password": accounts.read_new_password(form, _("Password"))}
    step = await service.consent_step(tenancy, invitation, user)
    consents = service.read_joining_consents(form, step)
    if form.is_valid:
        try:
            user = await service.accept_invitation(
                tenancy, invitation, user=user, display_name=display_name, new_account=new_account,
                consents=consents,
            )
        except service.InvitationError as error:
            return page(request, "invitations/unusable.html", status_code=409, message=str(error))
    if not form.is_valid:
        return await _acceptance_page(request, tenancy, invitation, form, step, action=_link_action(tenancy, token),
                                      status_code=422)
    # A new role, or a new login: either way the session gets a new id.
    rotate_session(request.scope)
    request.scope["session"]["user_id"] = user.id
    panel = await service.panel_of(tenancy, invitation)
    if panel is not None and step.guardian_gives:
        # The next step is the guardian's: asked for from the privacy page.
        flash(request.scope, _("Welcome! Ask your parent or guardian for consent, then you can take part in the panel %(panel)s.",
                               panel=panel.name))
        return see_other(f"/t/{tenancy.tenant.slug}/privacy")
    if panel is not None:
        flash(request.scope, _("Welcome! You have joined the panel %(panel)s.", panel=panel.name))
    else:
        flash(request.scope, _("Welcome! You have joined %(tenant)s.", tenant=tenancy.tenant.name))
    return see_other(f"/t/{tenancy.tenant.slug}/")


@get("/invitations/mine", guards=[requires_member])
async def my_invitations(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    user = request_context(request).user
    return page(
        request, "invitations/mine.html", invitations=await service.open_invitations_for(tenancy, user.email)
    )


async def _my_invitation(request: Request, tenancy: TenantScope, invitation_id: int) -> tuple[Invitation, Template | None]:
    """An invitation addressed to the logged-in person, or the page that says it is not theirs."""
    invitation = await tenancy.get(Invitation, invitation_id)
    if invitation.email != request_context(request).user.email:
        return invitation, page(request, "invitations/wrong_account.html", status_code=403)
    return invitation, None


@get("/invitations/{invitation_id:int}/accept-mine", guards=[requires_member])
async def accept_mine_form(
    request: Request, tenancy: NamedDependency[TenantScope], invitation_id: FromPath[int]
) -> Template:
    """Accepting an invitation to a panel from "my invitations" asks for consent, as the link does."""
    invitation, refusal_page = await _my_invitation(request, tenancy, invitation_id)
    if refusal_page:
        return refusal_page
    step = await service.consent_step(tenancy, invitation, request_context(request).user)
    return await _acceptance_page(request, tenancy, invitation, Form(), step,
                                  action=_mine_action(tenancy, invitation), asks_name=False)


@post("/invitations/{invitation_id:int}/accept-mine", guards=[requires_member])
async def accept_mine(
    request: Request, tenancy: NamedDependency[TenantScope], invitation_id: FromPath[int]
) -> Template | Redirect:
    """Accept an invitation addressed to the logged-in person, without the emailed link.

    The person already takes part in this space, so the name they show here is used. An
    invitation to a panel needs the same consent as the emailed link asks for.
    """
    context = request_context(request)
    invitation, refusal_page = await _my_invitation(request, tenancy, invitation_id)
    if refusal_page:
        return refusal_page
    form = await read_form(request)
    step = await service.consent_step(tenancy, invitation, context.user)
    consents = service.read_joining_consents(form, step)
    if not form.is_valid:
        return await _acceptance_page(request, tenancy, invitation, form, step,
                                      action=_mine_action(tenancy, invitation), asks_name=False, status_code=422)
    try:
        await service.accept_invitation(
            tenancy, invitation, user=context.user, display_name=context.display_name or context.user.name,
            consents=consents,
        )
    except service.InvitationError as error:
        return page(request, "invitations/unusable.html", status_code=409, message=str(error))
    rotate_session(request.scope)  # the session's own roles may have changed
    panel = await service.panel_of(tenancy, invitation)
    if panel is not None:
        flash(request.scope, _("You have joined the panel %(panel)s.", panel=panel.name))
    else:
        flash(request.scope, _("You now also take part as: %(role)s.", role=role_label(invitation.role)))
    return see_other(f"/t/{tenancy.tenant.slug}/invitations/mine")


route_handlers = [
    invitations_index, invite, revoke, acceptance_form, accept, my_invitations, accept_mine_form, accept_mine,
]
