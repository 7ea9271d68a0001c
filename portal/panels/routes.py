"""Panels and panel memberships (thin controllers; the rules live in service.py)."""

from __future__ import annotations

from decimal import Decimal

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.roles import POLICY_OFFICER, SUPPORT_CONTACT, TENANT_ADMIN
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_role
from portal.core.i18n import N_, _, ngettext
from portal.core.mail import MailService
from portal.core.settings import Settings
from portal.core.states import TransitionError
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, safe_next, see_other
from portal.invitations import service as invitations
from portal.panels import service
from portal.panels.rules import (
    AGE_BAND_LABELS,
    AGE_BANDS,
    MAX_MONTHLY_HOURS,
    MEMBERSHIP_STATUS_LABELS,
    MEMBERSHIP_STATUSES,
    PANEL_KIND_LABELS,
)
from portal.panels.tables import PANEL_KINDS, Panel, PanelMembership
from portal.privacy import service as privacy
from portal.tenants.validation import (
    PANEL_DESCRIPTION_MAX,
    PANEL_NAME_MAX,
    PARTNER_ORGANISATION_MAX,
)

MANAGERS = requires_role(TENANT_ADMIN, POLICY_OFFICER)
ADMINS = requires_role(TENANT_ADMIN)
READERS = requires_role(TENANT_ADMIN, POLICY_OFFICER, SUPPORT_CONTACT)
DEFAULT_MONTHLY_HOURS = "8"
NO_SUPPORT_CONTACT = ""


def _base(tenancy: TenantScope) -> str:
    return f"/t/{tenancy.tenant.slug}"


def _labels() -> dict:
    """Everything the panel templates need to turn stored values into words."""
    return {
        "kind_labels": PANEL_KIND_LABELS,
        "age_band_labels": AGE_BAND_LABELS,
        "status_labels": MEMBERSHIP_STATUS_LABELS,
        "status_targets": service.status_targets,
        "kinds": PANEL_KINDS,
        "age_bands": AGE_BANDS,
        "max_hours": MAX_MONTHLY_HOURS,
    }


def _hours(value) -> str:
    """A budget as people write it: 8, 7.5 (no trailing zeros)."""
    if value is None or value == "":
        return ""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


# --- forms -------------------------------------------------------------------------------------


def _read_panel_form(form: Form) -> dict:
    return {
        "name": form.text("name", _("Name"), max_length=PANEL_NAME_MAX),
        "kind": form.choice("kind", _("Kind of panel"), PANEL_KINDS),
        "partner_organisation": form.text(
            "partner_organisation", _("Partner organisation"), required=False, max_length=PARTNER_ORGANISATION_MAX
        ),
        "description": form.text(
            "description", _("Description"), required=False, max_length=PANEL_DESCRIPTION_MAX
        ),
    }


async def _read_membership_form(form: Form, tenancy: TenantScope) -> dict:
    contacts = await service.support_contacts(tenancy)
    contact = form.choice(
        "support_contact",
        _("Support contact"),
        [NO_SUPPORT_CONTACT, *(str(row["user_id"]) for row in contacts)],
    )
    return {
        "age_band": form.choice("age_band", _("Age band"), AGE_BANDS),
        "support_contact_id": int(contact) if contact and contact.isdigit() else None,
        "monthly_hours_budget": form.decimal(
            "monthly_hours_budget", _("Time budget per month"), minimum=0, maximum=MAX_MONTHLY_HOURS
        ),
    }


def _fresh_invite_form() -> Form:
    form = Form()
    form.values["monthly_hours_budget"] = DEFAULT_MONTHLY_HOURS
    return form


# --- panels ------------------------------------------------------------------------------------


def _panels_page(request: Request, panels, form: Form, status_code: int = 200) -> Template:
    return page(
        request,
        "panels/index.html",
        status_code=status_code,
        panels=panels,
        form=form,
        can_manage=service.is_manager(request_context(request).roles),
        **_labels(),
    )


@get("/panels", guards=[READERS], name="panels")
async def panels_index(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    return _panels_page(request, await service.list_panels(tenancy), Form())


@post("/panels", guards=[MANAGERS])
async def create_panel(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    values = _read_panel_form(form)
    if form.is_valid:
        with form.catch_as_error(service.PanelError, "name"):
            panel = await service.create_panel(tenancy, actor=request_context(request).user, **values)
    if not form.is_valid:
        return _panels_page(request, await service.list_panels(tenancy), form, status_code=422)
    flash(request.scope, _("The panel %(name)s has been created.", name=panel.name))
    return see_other(f"{_base(tenancy)}/panels/{panel.id}")


def _panel_page(
    request: Request, detail: dict, invite_form: Form, *, status_code: int = 200, message: str | None = None
) -> Template:
    return page(
        request,
        "panels/detail.html",
        status_code=status_code,
        invite_form=invite_form,
        message=message,
        hours=_hours,
        can_archive=request_context(request).has_role(TENANT_ADMIN),
        **detail,
        **_labels(),
    )


@get("/panels/{panel_id:int}", guards=[READERS])
async def panel_page(request: Request, tenancy: NamedDependency[TenantScope], panel_id: FromPath[int]) -> Template:
    detail = await service.panel_detail(tenancy, panel_id, request_context(request))
    return _panel_page(request, detail, _fresh_invite_form())


@get("/panels/{panel_id:int}/edit", guards=[MANAGERS])
async def edit_panel_form(request: Request, tenancy: NamedDependency[TenantScope], panel_id: FromPath[int]) -> Template:
    panel = await tenancy.get(Panel, panel_id)
    form = Form()
    form.values.update(
        name=panel.name,
        kind=panel.kind,
        partner_organisation=panel.partner_organisation,
        description=panel.description,
    )
    return page(request, "panels/edit.html", panel=panel, form=form, **_labels())


@post("/panels/{panel_id:int}/edit", guards=[MANAGERS])
async def edit_panel(
    request: Request, tenancy: NamedDependency[TenantScope], panel_id: FromPath[int]
) -> Template | Redirect:
    panel = await tenancy.get(Panel, panel_id)
    form = await read_form(request)
    values = _read_panel_form(form)
    if form.is_valid:
        with form.catch_as_error(service.PanelError, "name"):
            await service.update_panel(tenancy, panel, actor=request_context(request).user, **values)
    if not form.is_valid:
        return page(request, "panels/edit.html", status_code=422, panel=panel, form=form, **_labels())
    flash(request.scope, _("The panel has been saved."))
    return see_other(f"{_base(tenancy)}/panels/{panel.id}")


@post("/panels/{panel_id:int}/invite", guards=[MANAGERS])
async def invite_member(
    request: Request,
    tenancy: NamedDependency[TenantScope],
    mail: NamedDependency[MailService],
    settings: NamedDependency[Settings],
    panel_id: FromPath[int],
) -> Template | Redirect:
    context = request_context(request)
    panel = await tenancy.get(Panel, panel_id)
    form = await read_form(request)
    email = form.email("email", _("Email address"))
    values = await _read_membership_form(form, tenancy)
    if form.is_valid:
        with form.catch_as_error(service.PanelError, "email"):
            _membership, invitation, token = await service.invite_member(
                tenancy,
                panel,
                inviter=context.user,
                inviter_roles=context.roles,
                email=email,
                days=settings.invitation_days,
                **values,
            )
    if not form.is_valid:
        detail = await service.panel_detail(tenancy, panel.id, context)
        return _panel_page(request, detail, form, status_code=422)
    await invitations.send_invitation_email(
        mail, tenancy.tenant, invitation, token,
        inviter=context.display_name or context.user.name, base_url=settings.base_url,
        panel_name=panel.name,
    )
    flash(request.scope, _("The invitation to %(panel)s has been sent to %(email)s.", panel=panel.name, email=email))
    return see_other(f"{_base(tenancy)}/panels/{panel.id}")


async def _archive_action(request: Request, tenancy: TenantScope, panel_id: int, archive: bool) -> Redirect:
    panel = await tenancy.get(Panel, panel_id)
    actor = request_context(request).user
    try:
        if archive:
            withdrawn = await service.archive_panel(tenancy, panel, actor=actor)
            message = ngettext(
                "The panel %(name)s has been archived; %(num)s open invitation was withdrawn.",
                "The panel %(name)s has been archived; %(num)s open invitations were withdrawn.",
                withdrawn, name=panel.name,
            ) if withdrawn else _("The panel %(name)s has been archived.", name=panel.name)
        else:
            await service.unarchive_panel(tenancy, panel, actor=actor)
            message = _("The panel %(name)s is back from the archive.", name=panel.name)
        flash(request.scope, message)
    except service.PanelError as error:
        flash(request.scope, str(error))
    next_page = safe_next((await read_form(request)).raw("next"), f"{_base(tenancy)}/panels/{panel.id}")
    return see_other(next_page)


@post("/panels/{panel_id:int}/archive", guards=[ADMINS])
async def archive_panel(request: Request, tenancy: NamedDependency[TenantScope], panel_id: FromPath[int]) -> Redirect:
    return await _archive_action(request, tenancy, panel_id, archive=True)


@post("/panels/{panel_id:int}/unarchive", guards=[ADMINS])
async def unarchive_panel(request: Request, tenancy: NamedDependency[TenantScope], panel_id: FromPath[int]) -> Redirect:
    return await _archive_action(request, tenancy, panel_id, archive=False)


# --- memberships -------------------------------------------------------------------------------


# What became of a membership whose activation was decided again (pause ended, age band or date
# of birth corrected).
SETTLED_MESSAGES = {
    "active": N_("The membership is active now."),
    "invited": N_("The membership waits until the member may take part: under 16, a parent or guardian must give consent first."),
}


async def _membership_page(
    request: Request, tenancy: TenantScope, panel_membership_id: int, *, form: Form | None = None,
    birth_form: Form | None = None, status_code: int = 200, message: str | None = None,
) -> Template:
    """The membership's edit page: its form (``form``, else the stored values) and the form to
    correct the member's date of birth (``birth_form``)."""
    member = await service.membership_detail(tenancy, panel_membership_id)
    if form is None:
        form = Form()
        form.values.update(
            age_band=member["age_band"],
            support_contact=str(member["support_contact_id"] or NO_SUPPORT_CONTACT),
            monthly_hours_budget=_hours(member["monthly_hours_budget"]),
        )
    details = await privacy.details_of(tenancy, member["user_id"]) if member["user_id"] else None
    return page(
        request,
        "panels/member_edit.html",
        status_code=status_code,
        message=message,
        member=member,
        panel=await tenancy.get(Panel, member["panel_id"]),
        form=form,
        birth_form=birth_form or Form(),
        date_of_birth_given=bool(details and details.date_of_birth),
        support_contacts=await service.support_contacts(tenancy),
        **_labels(),
    )


@get("/panel-members/{panel_membership_id:int}/edit", guards=[MANAGERS])
async def edit_membership_form(
    request: Request, tenancy: NamedDependency[TenantScope], panel_membership_id: FromPath[int]
) -> Template:
    return await _membership_page(request, tenancy, panel_membership_id)


@post("/panel-members/{panel_membership_id:int}/edit", guards=[MANAGERS])
async def edit_membership(
    request: Request, tenancy: NamedDependency[TenantScope], panel_membership_id: FromPath[int]
) -> Template | Redirect:
    membership = await tenancy.get(PanelMembership, panel_membership_id)
    form = await read_form(request)
    values = await _read_membership_form(form, tenancy)
    conflict = None
    status = membership.status
    if form.is_valid:
        try:
            await service.update_membership(
                tenancy, membership, actor=request_context(request).user, **values
            )
        except service.PanelError as error:
            form.add_error(error.field or "age_band", str(error))
        except TransitionError as error:
            conflict = str(error)
    if conflict or not form.is_valid:
        return await _membership_page(
            request, tenancy, membership.id, form=form, status_code=409 if conflict else 422, message=conflict
        )
    saved = _("The membership has been saved.")
    # Another age band may lift or bring a guardian hold.
    settled = membership.status if membership.status != status else None
    flash(request.scope, f"{saved} {_(SETTLED_MESSAGES[settled])}" if settled else saved)
    return see_other(f"{_base(tenancy)}/panels/{membership.panel}")


@post("/panel-members/{panel_membership_id:int}/date-of-birth", guards=[MANAGERS])
async def correct_date_of_birth(
    request: Request, tenancy: NamedDependency[TenantScope], panel_membership_id: FromPath[int]
) -> Template | Redirect:
    """Correct a member's wrong date of birth; whether they may take part is decided again."""
    membership = await tenancy.get(PanelMembership, panel_membership_id)
    form = await read_form(request)
    birth = form.date("date_of_birth", _("Date of birth"), required=True)
    changes: dict[int, str] = {}
    if form.is_valid:
        with form.catch_as_error(privacy.PrivacyError, "date_of_birth"):
            changes = await privacy.correct_date_of_birth(tenancy, membership, birth, request_context(request).user)
    if not form.is_valid:
        return await _membership_page(request, tenancy, membership.id, birth_form=form, status_code=422)
    done = _("The date of birth has been corrected.")
    settled = changes.get(membership.id)
    flash(request.scope, f"{done} {_(SETTLED_MESSAGES[settled])}" if settled else done)
    return see_other(f"{_base(tenancy)}/panels/{membership.panel}")


STATUS_MESSAGES = {
    "active": N_("The membership is active again."),
    "paused": N_("The membership has been paused."),
    "withdrawn": N_("The membership has been withdrawn."),
    "ended": N_("The membership has ended."),
}


@post("/panel-members/{panel_membership_id:int}/status", guards=[MANAGERS])
async def change_status(
    request: Request, tenancy: NamedDependency[TenantScope], panel_membership_id: FromPath[int]
) -> Template | Redirect:
    context = request_context(request)
    membership = await tenancy.get(PanelMembership, panel_membership_id)
    form = await read_form(request)
    status = form.choice("status", _("Status"), MEMBERSHIP_STATUSES)
    status_code = 422
    if form.is_valid:
        try:
            await service.change_membership_status(tenancy, membership, actor=context.user, status=status)
        except TransitionError as error:
            form.add_error("status", str(error))
            status_code = 409
    if not form.is_valid:
        detail = await service.panel_detail(tenancy, membership.panel, context)
        return _panel_page(
            request, detail, _fresh_invite_form(), status_code=status_code, message=form.errors["status"]
        )
    # Ending a pause may find the member held (a guardian's consent needed first).
    flash(request.scope, _(STATUS_MESSAGES[status] if membership.status == status else SETTLED_MESSAGES[membership.status]))
    return see_other(f"{_base(tenancy)}/panels/{membership.panel}")


route_handlers = [
    panels_index,
    create_panel,
    panel_page,
    edit_panel_form,
    edit_panel,
    invite_member,
    archive_panel,
    unarchive_panel,
    edit_membership_form,
    edit_membership,
    correct_date_of_birth,
    change_status,
]
