"""A tenant's current configuration as a tenant file that ``portal tenants load`` accepts unchanged.

The file holds the space's configuration: slug, name, kind, locale, ``[settings]``, ``[theme]``,
the policy-cycle template and the panels (archived ones with ``archived = true``). It holds no
people: staff accounts are personal data and are handed out by invitation, so a file copied to
set up another space brings no accounts along. An uploaded logo is written as a file next to the
tenant file (``<slug>-logo.png`` or ``.jpg``) and named by ``logo_file`` in ``[theme]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from portal.core.tenancy import TenantScope
from portal.cycles.tables import StageTemplateStep
from portal.panels.tables import Panel
from portal.tenants.logo import LOGO_TYPES, stored_logo
from portal.tenants.settings import settings_of
from portal.tenants.tables import Tenant
from portal.tenants.theme import LOGO_FILE, UPLOADED_LOGO, theme_of


class ExportError(Exception):
    """The tenant cannot be exported; the message says why."""


@dataclass
class TenantExport:
    text: str
    # Files to write next to the tenant file: name -> content.
    files: dict[str, bytes] = field(default_factory=dict)


async def export_tenant(slug: str, upload_dir: Path) -> TenantExport:
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    if tenant is None:
        raise ExportError(f"there is no tenant with the slug {slug!r}")
    scope = TenantScope(tenant)
    files: dict[str, bytes] = {}
    data: dict = {"slug": tenant.slug, "name": tenant.name, "kind": tenant.kind, "locale": tenant.locale}
    if settings := settings_of(tenant):
        data["settings"] = _sorted(settings)
    if theme := _theme(tenant, upload_dir, files):
        data["theme"] = _sorted(theme)
    data["stages"] = [
        _without_empty({"name": step.name, "name_en": step.name_en, "participation_form": step.participation_form})
        for step in await scope.objects(StageTemplateStep).order_by(StageTemplateStep.position)
    ]
    panels = [
        _without_empty({
            "name": panel.name, "kind": panel.kind, "partner_organisation": panel.partner_organisation,
            "description": panel.description, "archived": panel.archived_at is not None,
        })
        for panel in await scope.objects(Panel).order_by(Panel.id)
    ]
    if panels:
        data["panels"] = panels
    header = f"# {tenant.name}: written by `portal tenants export {tenant.slug}`; load with `portal tenants load`.\n"
    return TenantExport(text=header + tomli_w.dumps(data), files=files)


def _theme(tenant: Tenant, upload_dir: Path, files: dict[str, bytes]) -> dict:
    theme = theme_of(tenant)
    uploaded = theme.pop(UPLOADED_LOGO, None)
    if uploaded:
        picture = stored_logo(upload_dir, tenant.id, uploaded)
        if picture is None:
            raise ExportError(f"the uploaded logo of {tenant.slug!r} is missing from {upload_dir}")
        name = f"{tenant.slug}-logo{LOGO_TYPES.get(uploaded.get('content_type'), '.png')}"
        files[name] = picture
        theme[LOGO_FILE] = name
    return theme


def _without_empty(values: dict) -> dict:
    """Leave out what the loader fills in by itself (empty text, false)."""
    return {key: value for key, value in values.items() if value != "" and value is not False}


def _sorted(value):
    """Tables with their keys in order, so that the same configuration gives the same file."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value
