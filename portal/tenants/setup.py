"""Setting a tenant space up in the browser (no HTTP): the platform operator creates the space and
invites its first administrator; the tenant admin changes its settings and theme.

The values are checked by the rules the tenant loader uses (``validation.py``,
``settings.setting_problem``, ``theme.colour_problem``, ``logo.logo_problem``). Every change is
audited, without names or addresses, and takes effect at once: the tenant row is read again on
every request (``portal/core/context.py``) and nothing keeps a copy of its settings.
"""

from __future__ import annotations

from pathlib import Path

from portal.accounts.roles import TENANT_ADMIN
from portal.accounts.tables import User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.cycles.service import DEFAULT_STAGE_TEMPLATE
from portal.cycles.tables import StageTemplateStep
from portal.invitations import service as invitations
from portal.invitations.tables import Invitation
from portal.tenants.logo import LogoFiles, logo_problem
from portal.tenants.settings import setting_problem, settings_of
from portal.tenants.tables import Tenant
from portal.tenants.theme import COLOUR_TOKENS, UPLOADED_LOGO, colour_problem, theme_of
from portal.tenants.validation import (
    KINDS,
    LOCALES,
    NAME_MAX,
    choice_problem,
    slug_problem,
    text_problem,
)


class SetupError(Exception):
    """A rule was broken; the message is for the user, ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _refuse_problems(problems: dict[str, str | None]) -> None:
    for field, problem in problems.items():
        if problem:
            raise SetupError(problem, field)


# --- a new tenant space -------------------------------------------------------------------------


def _slug_taken() -> SetupError:
    return SetupError(_("Another space already has this address. Choose another one."), "slug")


async def slug_taken(slug: str) -> bool:
    return await Tenant.exists().where(Tenant.slug == slug)


def _is_unique_violation(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"IntegrityError", "UniqueViolationError"})


async def create_tenant(
    *, actor: User, name: str, slug: str, kind: str, locale: str, admin_email: str, invitation_days: int
) -> tuple[Tenant, Invitation, str]:
    """Create the space with the default policy-cycle template and invite its first tenant admin,
    in one transaction. Returns the tenant, the invitation and its token (the caller sends the
    email after the commit)."""
    name = name.strip()
    _refuse_problems({
        "name": text_problem(name, NAME_MAX),
        "slug": slug_problem(slug),
        "kind": choice_problem(kind, KINDS),
        "locale": choice_problem(locale, LOCALES),
    })
    if await slug_taken(slug):
        raise _slug_taken()
    tenant = Tenant(slug=slug, name=name, kind=kind, locale=locale, theme={}, settings={})
    try:
        async with engine().transaction():
            await tenant.save()
            scope = TenantScope(tenant)
            stages = [
                {"position": position, "name": dutch, "name_en": english, "participation_form": form}
                for position, (dutch, english, form) in enumerate(DEFAULT_STAGE_TEMPLATE)
            ]
            for stage in stages:
                await scope.new(StageTemplateStep, **stage).save()
            await audit.record_in(
                scope, "tenant.created", "tenant", tenant.id, actor,
                after={"slug": slug, "name": name, "kind": kind, "locale": locale,
                       "stages": [stage["name"] for stage in stages]},
            )
            invitation, token = await invitations.create_invitation(
                scope, inviter=actor, inviter_roles={TENANT_ADMIN}, email=admin_email,
                role=TENANT_ADMIN, days=invitation_days,
            )
    except invitations.InvitationError as error:
        raise SetupError(str(error), "admin_email") from error
    except Exception as error:
        if _is_unique_violation(error):  # the same address chosen at the same moment
            raise _slug_taken() from error
        raise
    return tenant, invitation, token


# --- settings -----------------------------------------------------------------------------------


async def update_settings(scope: TenantScope, *, actor: User, values: dict) -> bool:
    """Set these settings (the others stay); False when nothing changed."""
    _refuse_problems({key: setting_problem(key, value) for key, value in values.items()})
    before = settings_of(scope.tenant)
    after = {**before, **values}
    if after == before:
        return False
    async with engine().transaction():
        await Tenant.update({Tenant.settings: after}).where(Tenant.id == scope.tenant_id)
        changed = [key for key in values if before.get(key) != after[key]]
        await audit.record_in(
            scope, "tenant.settings_updated", "tenant", scope.tenant_id, actor,
            before={key: before.get(key) for key in changed}, after={key: after[key] for key in changed},
        )
    scope.tenant.settings = after
    return True


async def update_agreement_terms(scope: TenantScope, *, actor: User, panel_kind: str, terms: dict) -> bool:
    """The default terms for one kind of panel: only the fields that differ from the built-in
    defaults are kept, so that a tenant file stays short."""
    all_terms = dict(settings_of(scope.tenant).get("agreement_terms", {}))
    if terms:
        all_terms[panel_kind] = terms
    else:
        all_terms.pop(panel_kind, None)
    return await update_settings(scope, actor=actor, values={"agreement_terms": all_terms})


# --- theme --------------------------------------------------------------------------------------


async def update_theme(
    scope: TenantScope, *, actor: User, colours: dict[str, str], logo: bytes | None, upload_dir: Path
) -> bool:
    """Set the colours (an empty one: the portal's own) and, when given, a new logo."""
    _refuse_problems({key: colour_problem(value) for key, value in colours.items() if value})
    if logo is not None:
        _refuse_problems({"logo": logo_problem(logo)})
    before = theme_of(scope.tenant)
    after = {key: value for key, value in before.items() if key not in COLOUR_TOKENS}
    after.update((key, value.lower()) for key, value in colours.items() if value)
    files = LogoFiles(upload_dir)
    try:
        async with engine().transaction():
            if logo is not None:
                after.pop("logo", None)  # a logo shipped with the portal gives way to the upload
                after[UPLOADED_LOGO] = files.store(scope.tenant_id, logo)
            if after == before:
                return False
            await _save_theme(scope, actor, before, after)
    except BaseException:
        files.discard_written()
        raise
    files.replace(scope.tenant_id, before.get(UPLOADED_LOGO), after.get(UPLOADED_LOGO))
    files.discard_replaced()
    return True


async def remove_logo(scope: TenantScope, *, actor: User, upload_dir: Path) -> bool:
    """The header shows the space's name without a logo."""
    before = theme_of(scope.tenant)
    after = {key: value for key, value in before.items() if key not in ("logo", UPLOADED_LOGO)}
    if after == before:
        return False
    async with engine().transaction():
        await _save_theme(scope, actor, before, after)
    files = LogoFiles(upload_dir)
    files.replace(scope.tenant_id, before.get(UPLOADED_LOGO), None)
    files.discard_replaced()
    return True


async def _save_theme(scope: TenantScope, actor: User, before: dict, after: dict) -> None:
    await Tenant.update({Tenant.theme: after}).where(Tenant.id == scope.tenant_id)
    await audit.record_in(scope, "tenant.theme_updated", "tenant", scope.tenant_id, actor,
                          before=before, after=after)
    scope.tenant.theme = after
