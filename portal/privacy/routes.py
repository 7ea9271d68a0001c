"""HTTP routes of privacy: my consents and details, and the guardian's confirmation."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from portal.accounts.roles import PANEL_MEMBER
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_member, requires_role, requires_tenant
from portal.core.i18n import _, ngettext
from portal.core.mail import MailService
from portal.core.sessions import rotate_session
from portal.core.settings import Settings
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.privacy import selfservice, service
from portal.privacy.rules import (
    BENEFIT_LABELS,
    CONSENT_LABELS,
    CONSENT_TEXT_VERSION,
    EXPERIENCE_CONSENT,
    GUARDIAN_GIVES,
)
from portal.privacy.tables import GuardianRequest
from portal.rounds.service import today

MEMBERS = requires_role(PANEL_MEMBER)


def _privacy_url(tenancy: TenantScope) -> str:
    return f"/t/{tenancy.tenant.slug}/privacy"


def _withdrawn_url(tenancy: TenantScope) -> str:
    return f"/t/{tenancy.tenant.slug}/privacy/withdrawn"


def _back_url(tenancy: TenantScope, form: Form) -> str:
    """Back to the page the form was on: the privacy page, or the page after a withdrawn consent."""
    return _withdrawn_url(tenancy) if form.raw("back") == "withdrawn" else _privacy_url(tenancy)


async def _privacy_page(request: Request, tenancy: TenantScope, *, status_code: int = 200,
                        details_form: Form | None = None, guardian_form: Form | None = None) -> Template:
    user = request_context(request).user
    details = await service.details_of(tenancy, user.id)
    if details_form is None:
        details_form = Form()
        details_form.values.update(
            date_of_birth=details.date_of_birth.isoformat() if details and details.date_of_birth else "",
            benefit=details.benefit if details else "")
    return page(
        request, "privacy/index.html", status_code=status_code, details_form=details_form,
        guardian_form=guardian_form or Form(), consents=await service.active_consents(tenancy, user.id),
        consent_labels=CONSENT_LABELS, text_version=CONSENT_TEXT_VERSION,
        guardian=await service.guardian_status(tenancy, user.id),
        needs_own_consent=await service.needs_own_consent(tenancy, user.id),
        benefit_options=[(key, _(label)) for key, label in BENEFIT_LABELS.items()],
        reminder=await service.benefit_reminder(tenancy, user.id),
        contributions=await selfservice.my_contributions(tenancy, user),
    )


@get("/privacy", guards=[MEMBERS])
async def privacy(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return await _privacy_page(request, tenancy)


@post("/privacy/details", guards=[MEMBERS])
async def save_details(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    birth = form.date("date_of_birth", _("Date of birth"))
    benefit = form.raw("benefit")
    changes: dict[int, str] = {}
    if form.is_valid:
        with form.catch_as_error(service.PrivacyError, "date_of_birth"):
            changes = await service.save_details(tenancy, request_context(request).user, birth, benefit)
    if not form.is_valid:
        return await _privacy_page(request, tenancy, status_code=422, details_form=form)
    done = _("Your details have been saved.")
    if "active" in changes.values():
        taking_part = _("You can take part in your panel now.")
        done = f"{done} {taking_part}"
    elif changes:
        held = _("Your parent or guardian must give consent before you can take part in a panel.")
        done = f"{done} {held}"
    flash(request.scope, done)
    return see_other(_privacy_url(tenancy))


@post("/privacy/consents", guards=[MEMBERS])
async def change_consent(request: Request, tenancy: NamedDependency[TenantScope]) -> Redirect:
    user = request_context(request).user
    form = await read_form(request)
    kind = form.raw("kind")
    try:
        if form.raw("action") == "give":
            await service.give_consent(tenancy, user, kind)
            flash(request.scope, _("Your consent has been recorded."))
        else:
            await service.withdraw_consent(tenancy, user, kind)
            if kind == EXPERIENCE_CONSENT:  # that page says so itself, and what it means
                return see_other(_withdrawn_url(tenancy))
            flash(request.scope, _("Your consent has been withdrawn."))
    except service.PrivacyError as error:
        flash(request.scope, str(error))
    return see_other(_privacy_url(tenancy))


@get("/privacy/withdrawn", guards=[MEMBERS])
async def consent_withdrawn(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    """After withdrawing the consent for lived experience: what that means, and the choice to
    withdraw what was written too (never done without asking)."""
    user = request_context(request).user
    if EXPERIENCE_CONSENT in await service.active_consents(tenancy, user.id):
        return see_other(_privacy_url(tenancy))
    return page(request, "privacy/withdrawn.html", contributions=await selfservice.my_contributions(tenancy, user))


@post("/privacy/guardian", guards=[MEMBERS])
async def ask_guardian(request: Request, tenancy: NamedDependency[TenantScope], mail: NamedDependency[MailService],
                       settings: NamedDependency[Settings]) -> Template | Redirect:
    form = await read_form(request)
    email = form.email("guardian_email", _("Email address of your parent or guardian"))
    ctx = request_context(request)
    if form.is_valid:
        with form.catch_as_error(service.PrivacyError, "guardian_email"):
            await service.request_guardian_consent(tenancy, ctx.user, email, mail, settings.base_url,
                                                   ctx.display_name or ctx.user.name)
    if not form.is_valid:
        return await _privacy_page(request, tenancy, status_code=422, guardian_form=form)
    flash(request.scope, _("We have emailed your parent or guardian."))
    return see_other(_privacy_url(tenancy))


async def _guardian_page(request: Request, tenancy: TenantScope, token: str, *, status_code: int = 200,
                         refusal: str | None = None, done: bool = False) -> Template:
    return page(request, "privacy/guardian.html", status_code=status_code, token=token, refusal=refusal,
                done=done, consent_labels=CONSENT_LABELS, guardian_gives=GUARDIAN_GIVES, text_version=CONSENT_TEXT_VERSION)


def _refusal_status(request: GuardianRequest | None) -> int:
    """An unknown link is not found (404); a used or expired one is gone (410)."""
    return 404 if request is None else 410


@get("/guardian/{guardian_token:str}", guards=[requires_tenant])
async def guardian_form(request: Request, tenancy: NamedDependency[TenantScope],
                        guardian_token: FromPath[str]) -> Template:
    guardian_request = await service.guardian_request_for(tenancy, guardian_token)
    refusal = service.guardian_refusal(guardian_request)
    return await _guardian_page(request, tenancy, guardian_token, refusal=refusal,
                                status_code=_refusal_status(guardian_request) if refusal else 200)


@post("/guardian/{guardian_token:str}", guards=[requires_tenant])
async def guardian_confirm(request: Request, tenancy: NamedDependency[TenantScope],
                           guardian_token: FromPath[str]) -> Template:
    guardian_request = await service.guardian_request_for(tenancy, guardian_token)
    try:
        await service.confirm_guardian(tenancy, guardian_request)
    except service.PrivacyError as error:
        return await _guardian_page(request, tenancy, guardian_token, refusal=str(error),
                                    status_code=_refusal_status(guardian_request))
    return await _guardian_page(request, tenancy, guardian_token, done=True)


# --- download, withdraw, erase --------------------------------------------------------------------


@get("/privacy/download", guards=[MEMBERS])
async def download(request: Request, tenancy: NamedDependency[TenantScope]) -> Response:
    data = await selfservice.my_data(tenancy, request_context(request).user)
    readable = request.app.template_engine.engine.get_template("privacy/export.html").render(
        parts=selfservice.readable_parts(data), tenant=tenancy.tenant, made_on=today())
    return Response(content=selfservice.download_zip(data, readable), media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="mijn-gegevens.zip"', "Cache-Control": "private, no-store"})


@post("/privacy/contributions/withdraw", guards=[MEMBERS])
async def withdraw_contribution(request: Request, tenancy: NamedDependency[TenantScope]) -> Redirect:
    form = await read_form(request)
    raw_id = form.raw("contribution_id").strip()
    try:
        contribution_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 12 else 0
        await selfservice.withdraw_contribution(tenancy, request_context(request).user, form.raw("kind"),
                                                contribution_id)
        flash(request.scope, _("Your contribution has been withdrawn."))
    except service.PrivacyError as error:
        flash(request.scope, str(error))
    return see_other(_back_url(tenancy, form))


@post("/privacy/contributions/withdraw-all", guards=[MEMBERS])
async def withdraw_all_contributions(request: Request, tenancy: NamedDependency[TenantScope]) -> Redirect:
    form = await read_form(request)
    count = await selfservice.withdraw_all_contributions(tenancy, request_context(request).user)
    flash(request.scope, ngettext("%(num)s contribution has been withdrawn.", "%(num)s contributions have been withdrawn.",
                                  count) if count else _("Nothing to withdraw."))
    return see_other(_back_url(tenancy, form))


@get("/privacy/erase", guards=[MEMBERS])
async def erase_form(request: Request) -> Template:
    return page(request, "privacy/erase.html", form=Form())


def requires_login_or_erased(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Logged in, or the session of an account erased just now (to answer a second erasure)."""
    if not (connection.scope.get("session") or {}).get("erased"):
        requires_member(connection, handler)


@post("/privacy/erase", guards=[requires_login_or_erased])
async def erase(request: Request) -> Template:
    """Erase the account. Sending the form again afterwards says so, instead of asking to log in."""
    ctx = request_context(request)
    if ctx.user is None:
        return page(request, "privacy/erased.html", status_code=410,
                    message=_("This account has already been erased."))
    form = await read_form(request)
    if not form.raw("confirm"):
        form.add_error("confirm", _("Tick the box to confirm that your account must be erased."))
        return page(request, "privacy/erase.html", status_code=422, form=form)
    try:
        await selfservice.erase_account(ctx.user.id)
    except service.PrivacyError as error:
        return page(request, "privacy/erased.html", status_code=410, message=str(error))
    rotate_session(request.scope)
    request.scope["session"] = {"erased": True}
    ctx.user, ctx.roles = None, set()
    return page(request, "privacy/erased.html", message=_(
        "Your account has been erased. What you wrote is shown as written by a former participant; "
        "payment records are kept for seven years in restricted form, as the law requires."))


route_handlers = [privacy, save_details, change_consent, consent_withdrawn, ask_guardian, guardian_form,
                  guardian_confirm, download, withdraw_contribution, withdraw_all_contributions, erase_form, erase]
