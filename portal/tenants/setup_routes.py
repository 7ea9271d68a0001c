"""The tenant admin's set-up pages: settings, default agreement terms, theme and logo (thin
controllers; the rules live in setup.py), and the route that serves an uploaded logo."""

from __future__ import annotations

import re

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from portal.accounts.roles import TENANT_ADMIN
from portal.agreements import rules as agreement_rules
from portal.agreements.terms import (
    cap_table_of,
    configured_terms,
    default_terms,
    read_terms,
    terms_form,
)
from portal.core.context import flash
from portal.core.forms import Form
from portal.core.guards import requires_role
from portal.core.i18n import _
from portal.core.settings import Settings
from portal.core.templating import page
from portal.core.tenancy import TenantScope
from portal.core.web import read_form, request_context, see_other
from portal.panels.rules import PANEL_KIND_LABELS
from portal.panels.tables import PANEL_KINDS
from portal.rounds.service import today
from portal.tenants import setup
from portal.tenants.logo import LOGO_TYPES, MAX_LOGO_BYTES, logo_path, logo_problem
from portal.tenants.settings import (
    CONFIRMATION_RULE_LABELS,
    SETTING_CHOICES,
    SETTING_LABELS,
    setting_problem,
    tenant_setting,
)
from portal.tenants.theme import COLOUR_TOKENS, UPLOADED_LOGO, colour_problem, logo_url, theme_of

ADMINS = requires_role(TENANT_ADMIN)
NUMBER_SETTINGS = ("report_hide_threshold", "post_edit_minutes", "advice_response_weeks", "retention_months")
WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")
# An uploaded logo's address changes with every upload, so browsers may keep it for a year.
LOGO_CACHE = "public, max-age=31536000, immutable"


def _space(tenancy: TenantScope) -> str:
    return f"/t/{tenancy.tenant.slug}/space"


def _actor(request: Request):
    return request_context(request).user


# --- settings -----------------------------------------------------------------------------------


def _settings_page(request: Request, form: Form, status_code: int = 200) -> Template:
    rules = [(rule, _(CONFIRMATION_RULE_LABELS[rule])) for rule in SETTING_CHOICES["advice_confirmation_rule"]]
    return page(request, "tenants/settings.html", status_code=status_code, form=form, rule_options=rules,
                labels=SETTING_LABELS)


@get("/space/settings", guards=[ADMINS])
async def settings_form(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    form = Form()
    for key in NUMBER_SETTINGS:
        form.values[key] = str(tenant_setting(tenancy.tenant, key))
    form.values["advice_confirmation_rule"] = tenant_setting(tenancy.tenant, "advice_confirmation_rule")
    form.values["public_advice_ledger"] = "1" if tenant_setting(tenancy.tenant, "public_advice_ledger") else ""
    return _settings_page(request, form)


def _read_settings(form: Form) -> dict:
    """The settings from the form, each checked by the rule the tenant loader uses."""
    values: dict = {}
    for key in NUMBER_SETTINGS:
        raw = form.raw(key).strip()
        values[key] = int(raw) if WHOLE_NUMBER.fullmatch(raw) else raw
    values["advice_confirmation_rule"] = form.raw("advice_confirmation_rule").strip()
    values["public_advice_ledger"] = bool(form.raw("public_advice_ledger"))
    for key, value in values.items():
        if problem := setting_problem(key, value):
            form.add_error(key, problem)
    return values


@post("/space/settings", guards=[ADMINS])
async def save_settings(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    values = _read_settings(form)
    if form.is_valid:
        with form.catch_as_error(setup.SetupError, NUMBER_SETTINGS[0]):
            changed = await setup.update_settings(tenancy, actor=_actor(request), values=values)
    if not form.is_valid:
        return _settings_page(request, form, status_code=422)
    flash(request.scope, _("The settings have been saved. They apply from now on.") if changed
          else _("Nothing was changed."))
    return see_other(_space(tenancy))


# --- default agreement terms per kind of panel --------------------------------------------------


def _options(labels: dict) -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in labels.items()]


def _terms_page(request: Request, kind: str, form: Form, *, status_code: int = 200) -> Template:
    return page(
        request, "tenants/terms.html", status_code=status_code, form=form, kind=kind,
        kind_label=_(PANEL_KIND_LABELS[kind]), personal_story=False,
        basis_options=_options(agreement_rules.BASIS_LABELS),
        owner_options=_options(agreement_rules.OWNER_LABELS),
        licence_options=_options(agreement_rules.LICENCE_LABELS),
        attribution_options=_options(agreement_rules.ATTRIBUTION_LABELS),
    )


@get("/space/terms", guards=[ADMINS])
async def terms_defaults(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    kind = request.query_params.get("kind", PANEL_KINDS[0])
    if kind not in PANEL_KINDS:
        raise NotFoundException()
    return _terms_page(request, kind, terms_form(default_terms(tenancy.tenant, kind)))


@post("/space/terms", guards=[ADMINS])
async def save_terms_defaults(request: Request, tenancy: NamedDependency[TenantScope]) -> Template | Redirect:
    form = await read_form(request)
    kind = form.raw("kind")
    if kind not in PANEL_KINDS:
        kind = PANEL_KINDS[0]
        form.add_error("basis", _("Choose the kind of panel from the list."))
    values = read_terms(form, activity_day=today(), need="", table=cap_table_of(tenancy.tenant))
    if form.is_valid:
        with form.catch_as_error(setup.SetupError, "basis"):
            changed = await setup.update_agreement_terms(
                tenancy, actor=_actor(request), panel_kind=kind,
                terms=configured_terms(tenancy.tenant, kind, values),
            )
    if not form.is_valid:
        return _terms_page(request, kind, form, status_code=422)
    flash(request.scope, _("The default terms for %(kind)s have been saved.", kind=_(PANEL_KIND_LABELS[kind]).lower())
          if changed else _("Nothing was changed."))
    return see_other(_space(tenancy))


# --- theme and logo -----------------------------------------------------------------------------


def _theme_page(request: Request, tenancy: TenantScope, form: Form, status_code: int = 200) -> Template:
    return page(request, "tenants/theme.html", status_code=status_code, form=form,
                logo=logo_url(tenancy.tenant), max_logo_kb=MAX_LOGO_BYTES // 1024)


@get("/space/theme", guards=[ADMINS])
async def theme_form(request: Request, tenancy: NamedDependency[TenantScope]) -> Template:
    form = Form()
    theme = theme_of(tenancy.tenant)
    for key in COLOUR_TOKENS:
        form.values[key] = theme.get(key, "")
    return _theme_page(request, tenancy, form)


async def _uploaded_logo(data) -> bytes | None:
    upload = data.get("logo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    try:
        # One byte more than allowed is enough to know that it is too large.
        return await upload.read(MAX_LOGO_BYTES + 1)
    finally:
        await upload.close()


@post("/space/theme", guards=[ADMINS])
async def save_theme(
    request: Request, tenancy: NamedDependency[TenantScope], settings: NamedDependency[Settings]
) -> Template | Redirect:
    data = await request.form()
    form = Form({key: value for key, value in data.items() if isinstance(value, str)})
    colours = {key: form.raw(key).strip() for key in COLOUR_TOKENS}
    for key, value in colours.items():
        form.values[key] = value
        if value and (problem := colour_problem(value)):
            form.add_error(key, problem)
    logo = await _uploaded_logo(data)
    if logo is not None and (problem := logo_problem(logo)):
        form.add_error("logo", problem)
    if form.is_valid:
        with form.catch_as_error(setup.SetupError, "primary_color"):
            changed = await setup.update_theme(
                tenancy, actor=_actor(request), colours=colours, logo=logo, upload_dir=settings.upload_dir
            )
    if not form.is_valid:
        return _theme_page(request, tenancy, form, status_code=422)
    flash(request.scope, _("The theme has been saved.") if changed else _("Nothing was changed."))
    return see_other(_space(tenancy))


@post("/space/theme/logo/remove", guards=[ADMINS])
async def remove_logo(
    request: Request, tenancy: NamedDependency[TenantScope], settings: NamedDependency[Settings]
) -> Redirect:
    removed = await setup.remove_logo(tenancy, actor=_actor(request), upload_dir=settings.upload_dir)
    flash(request.scope, _("The logo has been removed.") if removed else _("There is no logo to remove."))
    return see_other(f"{_space(tenancy)}/theme")


@get("/logo/{logo_name:str}")
async def uploaded_logo(
    tenancy: NamedDependency[TenantScope], settings: NamedDependency[Settings], logo_name: FromPath[str]
) -> File:
    """The space's uploaded logo, for everyone: the header shows it on the public pages too."""
    uploaded = theme_of(tenancy.tenant).get(UPLOADED_LOGO)
    if not isinstance(uploaded, dict) or uploaded.get("storage_name") != logo_name:
        raise NotFoundException()
    path = logo_path(settings.upload_dir, tenancy.tenant_id, uploaded)
    if not path.is_file():
        raise NotFoundException()
    content_type = uploaded.get("content_type")
    return File(
        path=path, filename=f"logo{LOGO_TYPES.get(content_type, '')}", media_type=content_type,
        content_disposition_type="inline",
        headers={"Cache-Control": LOGO_CACHE, "X-Content-Type-Options": "nosniff"},
    )


route_handlers = [
    settings_form, save_settings, terms_defaults, save_terms_defaults, theme_form, save_theme, remove_logo,
    uploaded_logo,
]
