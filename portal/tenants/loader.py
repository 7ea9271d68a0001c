"""Load tenant definitions from TOML files: validated in full first, then applied idempotently.

An invalid file changes nothing (not even the valid files beside it) and the error names the
file, the field and the problem. Loading the same files again reports "unchanged". The checks
of the values a tenant admin can also change in the browser are the ones the set-up forms use
(``validation.py``, ``settings.setting_problem``, ``theme.colour_problem``,
``logo.logo_problem``); the loader reports them in English.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from portal.accounts.roles import PANEL_MEMBER, ROLES, SUPPORT_CONTACT
from portal.accounts.tables import Membership, User
from portal.agreements import terms as _agreement_settings  # noqa: F401 (registers its SETTING_CHECKS)
from portal.core import audit
from portal.core.database import engine
from portal.core.forms import EMAIL_PATTERN
from portal.core.i18n import using_locale
from portal.core.security import hash_password
from portal.core.settings import get_settings
from portal.core.tenancy import TenantScope
from portal.cycles.tables import PARTICIPATION_FORMS, StageTemplateStep
from portal.panels import service as panels
from portal.panels.rules import AGE_BANDS
from portal.panels.tables import PANEL_KINDS, Panel, PanelMembership
from portal.privacy.rules import SELF_CONSENTS
from portal.privacy.service import give_consent
from portal.privacy.tables import Consent
from portal.tenants.logo import LogoFiles, logo_problem, stored_logo
from portal.tenants.settings import DEFAULTS as SETTING_DEFAULTS
from portal.tenants.settings import setting_problem, settings_of
from portal.tenants.tables import Tenant
from portal.tenants.theme import LOGO_FILE, UPLOADED_LOGO, theme_of, theme_problems
from portal.tenants.validation import (
    KINDS,
    LOCALES,
    NAME_MAX,
    PANEL_DESCRIPTION_MAX,
    PANEL_NAME_MAX,
    PARTNER_ORGANISATION_MAX,
    SLUG_MAX,
    STAGE_NAME_MAX,
    choice_problem,
    slug_problem,
    stage_count_problem,
    text_problem,
)

STAFF_ROLES = tuple(role for role in ROLES if role != PANEL_MEMBER)


class TenantFileError(Exception):
    def __init__(self, path: Path, field_name: str, problem: str) -> None:
        super().__init__(f"{path}: {field_name}: {problem}")


@dataclass
class Person:
    email: str
    name: str
    role: str
    display_name: str
    # Demo panel members only: the panel (by name) they are an active member of.
    panel: str = ""
    age_band: str = ""
    support_contact: str = ""
    # Demo panel members only: the consents they gave on joining (``privacy.rules.SELF_CONSENTS``).
    consents: tuple[str, ...] = ()


@dataclass
class TenantDefinition:
    path: Path
    slug: str
    name: str
    kind: str
    locale: str
    # The theme as stored, less the logo file: its picture is in ``logo``.
    theme: dict
    settings: dict
    stages: list[dict]
    panels: list[dict]
    staff: list[Person]
    demo_members: list[Person] = field(default_factory=list)
    logo: bytes | None = None


class _Reader:
    """Reads one file's fields and raises a TenantFileError naming the first problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field_name: str, problem: str) -> None:
        raise TenantFileError(self.path, field_name, problem)

    def text(self, data: dict, key: str, where: str, *, max_length: int = NAME_MAX, default=None) -> str:
        value = data.get(key, default)
        if value is None:
            self.fail(f"{where}{key}", "is required")
        if problem := text_problem(value, max_length, required=default is None):
            self.fail(f"{where}{key}", f"{problem} Got {value!r}." if len(str(value)) <= 80 else problem)
        return value.strip()

    def one_of(self, data: dict, key: str, where: str, choices, default=None) -> str:
        value = data.get(key, default)
        if problem := choice_problem(value, choices):
            self.fail(f"{where}{key}", f"{problem} Got {value!r}.")
        return value

    def flag(self, data: dict, key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.fail(f"{where}{key}", f"must be true or false, got {value!r}")
        return value

    def some_of(self, data: dict, key: str, where: str, choices) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or any(item not in choices for item in value):
            self.fail(f"{where}{key}", f"must be a list of {', '.join(choices)}, got {value!r}")
        return tuple(dict.fromkeys(value))

    def table_list(self, data: dict, key: str) -> list[dict]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, f"must be a list of tables ([[{key}]])")
        return value

    def person(self, data: dict, where: str, roles) -> Person:
        email = self.text(data, "email", where, max_length=254).lower()
        if not EMAIL_PATTERN.match(email):
            self.fail(f"{where}email", f"is not an email address: {email!r}")
        name = self.text(data, "name", where, max_length=120)
        return Person(
            email=email,
            name=name,
            role=self.one_of(data, "role", where, roles),
            display_name=self.text(data, "display_name", where, max_length=120, default=name),
            panel=self.text(data, "panel", where, max_length=120, default=""),
            age_band=self.one_of(data, "age_band", where, ("", *AGE_BANDS), ""),
            support_contact=self.text(data, "support_contact", where, max_length=254, default="").lower(),
            consents=self.some_of(data, "consents", where, SELF_CONSENTS),
        )


def parse_tenant_file(path: Path) -> TenantDefinition:
    # The checks shared with the forms speak the user's language; on the command line, English.
    with using_locale("en"):
        return _parse(path)


def _parse(path: Path) -> TenantDefinition:
    reader = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise TenantFileError(path, "(file)", f"is not valid TOML: {error}") from error
    known = {"slug", "name", "kind", "locale", "theme", "settings", "stages", "panels", "staff", "demo"}
    for key in data:
        if key not in known:
            reader.fail(key, f"is not a known field (known: {', '.join(sorted(known))})")
    slug = reader.text(data, "slug", "", max_length=SLUG_MAX)
    if problem := slug_problem(slug):
        reader.fail("slug", problem)
    theme, logo = _theme(reader, data.get("theme", {}))
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        reader.fail("settings", "must be a table ([settings])")
    for key, value in settings.items():
        if key not in SETTING_DEFAULTS:
            reader.fail(f"settings.{key}", f"is not a setting (known: {', '.join(SETTING_DEFAULTS)})")
        if problem := setting_problem(key, value):
            reader.fail(f"settings.{key}", problem if isinstance(value, dict) else f"{problem} Got {value!r}.")
    stages = [
        {
            "position": index,
            "name": reader.text(stage, "name", f"stages[{index}].", max_length=STAGE_NAME_MAX),
            "name_en": reader.text(stage, "name_en", f"stages[{index}].", max_length=STAGE_NAME_MAX, default=""),
            "participation_form": reader.one_of(
                stage, "participation_form", f"stages[{index}].", PARTICIPATION_FORMS, "raadplegen"
            ),
        }
        for index, stage in enumerate(reader.table_list(data, "stages"))
    ]
    if problem := stage_count_problem(len(stages)):
        reader.fail("stages", problem)
    panels = [
        {
            "name": reader.text(panel, "name", f"panels[{index}].", max_length=PANEL_NAME_MAX),
            "kind": reader.one_of(panel, "kind", f"panels[{index}].", PANEL_KINDS),
            "partner_organisation": reader.text(
                panel, "partner_organisation", f"panels[{index}].", max_length=PARTNER_ORGANISATION_MAX,
                default="",
            ),
            "description": reader.text(
                panel, "description", f"panels[{index}].", max_length=PANEL_DESCRIPTION_MAX, default=""
            ),
            "archived": reader.flag(panel, "archived", f"panels[{index}]."),
        }
        for index, panel in enumerate(reader.table_list(data, "panels"))
    ]
    _unique(reader, "panels", [panel["name"] for panel in panels])
    staff = [
        reader.person(person, f"staff[{index}].", STAFF_ROLES)
        for index, person in enumerate(reader.table_list(data, "staff"))
    ]
    demo = data.get("demo", {})
    demo_members = [
        reader.person(person, f"demo.members[{index}].", ROLES)
        for index, person in enumerate(reader.table_list(demo, "members"))
    ]
    panel_names = {panel["name"] for panel in panels}
    support_contacts = {person.email for person in staff if person.role == SUPPORT_CONTACT}
    for index, person in enumerate(demo_members):
        if person.panel and person.panel not in panel_names:
            reader.fail(f"demo.members[{index}].panel", f"{person.panel!r} is not one of the [[panels]]")
        if person.support_contact and person.support_contact not in support_contacts:
            reader.fail(
                f"demo.members[{index}].support_contact",
                f"{person.support_contact!r} is not a [[staff]] member with role support_contact",
            )
    return TenantDefinition(
        path=path,
        slug=slug,
        name=reader.text(data, "name", "", max_length=NAME_MAX),
        kind=reader.one_of(data, "kind", "", KINDS),
        locale=reader.one_of(data, "locale", "", LOCALES, "nl"),
        theme=theme,
        settings=settings,
        stages=stages,
        panels=panels,
        staff=staff,
        demo_members=demo_members,
        logo=logo,
    )


def _theme(reader: _Reader, theme) -> tuple[dict, bytes | None]:
    """The theme to store, and the picture of ``logo_file`` (a file beside the tenant file)."""
    if not isinstance(theme, dict):
        reader.fail("theme", "must be a table ([theme])")
    for key, problem in theme_problems(theme).items():
        reader.fail(f"theme.{key}", problem)
    if LOGO_FILE not in theme:
        return theme, None
    logo_file = reader.path.parent / theme[LOGO_FILE]
    try:
        picture = logo_file.read_bytes()
    except OSError as error:
        reader.fail(f"theme.{LOGO_FILE}", f"cannot be read: {error.strerror or error}")
    if problem := logo_problem(picture):
        reader.fail(f"theme.{LOGO_FILE}", problem)
    return {key: value for key, value in theme.items() if key != LOGO_FILE}, picture


def _unique(reader: _Reader, key: str, names: list[str]) -> None:
    seen = set()
    for index, name in enumerate(names):
        if name in seen:
            reader.fail(f"{key}[{index}].name", f"{name!r} appears twice")
        seen.add(name)


def read_tenant_dir(directory: Path) -> list[TenantDefinition]:
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise TenantFileError(directory, "(directory)", "contains no .toml files")
    definitions = [parse_tenant_file(path) for path in files]
    slugs: dict[str, Path] = {}
    for definition in definitions:
        if definition.slug in slugs:
            raise TenantFileError(
                definition.path, "slug", f"{definition.slug!r} is also used by {slugs[definition.slug]}"
            )
        slugs[definition.slug] = definition.path
    return definitions


async def load_tenants(
    directory: Path, *, demo_password: str | None = None, upload_dir: Path | None = None
) -> list[str]:
    """Apply every definition in ``directory``; return a report line per change.

    With ``demo_password`` the staff and demo members get that password (demo data only).
    Logo files go to ``upload_dir`` (default: the configured one).
    """
    definitions = read_tenant_dir(directory)
    logos = LogoFiles(upload_dir or get_settings().upload_dir)
    report: list[str] = []
    try:
        async with engine().transaction():
            for definition in definitions:
                report.extend(await _apply(definition, demo_password, logos))
    except BaseException:
        logos.discard_written()
        raise
    logos.discard_replaced()
    return report


async def _apply(definition: TenantDefinition, demo_password: str | None, logos: LogoFiles) -> list[str]:
    report: list[str] = []
    values = {
        "name": definition.name,
        "kind": definition.kind,
        "locale": definition.locale,
        "theme": definition.theme,
        "settings": definition.settings,
    }
    tenant = await Tenant.objects().where(Tenant.slug == definition.slug).first()
    if tenant is None:
        tenant = Tenant(slug=definition.slug, **values)
        await tenant.save()
        if definition.logo is not None:
            values["theme"] = _theme_with_logo(tenant, definition, logos)
            await Tenant.update({Tenant.theme: values["theme"]}).where(Tenant.id == tenant.id)
        report.append(f"{definition.slug}: created tenant {definition.name!r}")
        await _audit(tenant, "tenant.created", after=values)
    else:
        before = {key: getattr(tenant, key) for key in values}
        before["theme"] = theme_of(tenant)
        before["settings"] = settings_of(tenant)
        values["theme"] = _theme_with_logo(tenant, definition, logos)
        if before != values:
            await Tenant.update(values).where(Tenant.id == tenant.id)
            logos.replace(tenant.id, before["theme"].get(UPLOADED_LOGO), values["theme"].get(UPLOADED_LOGO))
            changed = ", ".join(key for key in values if before[key] != values[key])
            report.append(f"{definition.slug}: updated {changed}")
            await _audit(tenant, "tenant.updated", before=before, after=values)
    scope = TenantScope(tenant)
    report.extend(await _apply_stages(scope, definition))
    report.extend(await _apply_panels(scope, definition))
    people = definition.staff + (definition.demo_members if demo_password else [])
    for person in people:
        report.extend(await _apply_person(scope, person, demo_password))
    return report or [f"{definition.slug}: unchanged"]


def _theme_with_logo(tenant: Tenant, definition: TenantDefinition, logos: LogoFiles) -> dict:
    """The definition's theme with its logo file stored, unless the tenant has that very picture
    already (so loading an exported file again changes nothing)."""
    theme = dict(definition.theme)
    if definition.logo is None:
        return theme
    current = theme_of(tenant).get(UPLOADED_LOGO)
    if isinstance(current, dict) and stored_logo(logos.upload_dir, tenant.id, current) == definition.logo:
        theme[UPLOADED_LOGO] = current
    else:
        theme[UPLOADED_LOGO] = logos.store(tenant.id, definition.logo)
    return theme


async def _apply_stages(scope: TenantScope, definition: TenantDefinition) -> list[str]:
    fields = (StageTemplateStep.position, StageTemplateStep.name, StageTemplateStep.name_en,
              StageTemplateStep.participation_form)
    current = await scope.select(StageTemplateStep, *fields).order_by(StageTemplateStep.position)
    if current == definition.stages:
        return []
    await scope.delete(StageTemplateStep)
    for stage in definition.stages:
        await scope.new(StageTemplateStep, **stage).save()
    await _audit(scope.tenant, "stage_template.replaced", before={"stages": current},
                 after={"stages": definition.stages})
    return [f"{definition.slug}: stage template set to {len(definition.stages)} stages"]


async def _apply_panels(scope: TenantScope, definition: TenantDefinition) -> list[str]:
    report = []
    existing = {panel.name: panel for panel in await scope.objects(Panel)}
    for values in definition.panels:
        columns = {key: value for key, value in values.items() if key != "archived"}
        panel = existing.get(values["name"])
        if panel is None:
            panel = scope.new(Panel, **columns)
            await panel.save()
            report.append(f"{definition.slug}: created panel {values['name']!r}")
        elif any(getattr(panel, key) != value for key, value in columns.items()):
            await scope.update(Panel, columns).where(Panel.id == panel.id)
            report.append(f"{definition.slug}: updated panel {values['name']!r}")
        if (panel.archived_at is not None) != values["archived"]:
            # As in the browser: archiving withdraws the panel's open invitations.
            change = panels.archive_panel if values["archived"] else panels.unarchive_panel
            await change(scope, panel, actor=None)
            action = "archived" if values["archived"] else "brought back"
            report.append(f"{definition.slug}: {action} panel {values['name']!r}")
    return report


async def _apply_person(scope: TenantScope, person: Person, demo_password: str | None) -> list[str]:
    report = []
    slug = scope.tenant.slug
    user = await User.objects().where(User.email == person.email).first()
    if user is None:
        user = User(
            email=person.email,
            name=person.name,
            password_hash=hash_password(demo_password) if demo_password else None,
        )
        await user.save()
        report.append(f"{slug}: created account {person.email}")
    elif demo_password and user.password_hash is None:
        await User.update({User.password_hash: hash_password(demo_password)}).where(User.id == user.id)
    has_role = await scope.exists(Membership).where(
        (Membership.user == user.id) & (Membership.role == person.role)
    )
    if not has_role:
        await scope.new(Membership, user=user.id, role=person.role, display_name=person.display_name).save()
        report.append(f"{slug}: gave {person.email} the role {person.role}")
        await _audit(scope.tenant, "membership.created", after={"user_id": user.id, "role": person.role})
    if person.panel:
        report.extend(await _apply_panel_membership(scope, person, user))
    if person.consents:
        report.extend(await _apply_consents(scope, person, user))
    return report


async def _apply_consents(scope: TenantScope, person: Person, user: User) -> list[str]:
    """The consents a demo member gave, recorded once (with the text version, audited as given
    by them): a consent withdrawn in the demo stays withdrawn when the demo is loaded again."""
    recorded = {row["kind"] for row in await scope.select(Consent, Consent.kind).where(Consent.user == user.id)}
    new = [kind for kind in person.consents if kind not in recorded]
    for kind in new:
        await give_consent(scope, user, kind)
    return [f"{scope.tenant.slug}: recorded the consents of {person.email}: {', '.join(new)}"] if new else []


async def _apply_panel_membership(scope: TenantScope, person: Person, user: User) -> list[str]:
    panel = await scope.objects(Panel).where(Panel.name == person.panel).first()
    exists = await scope.exists(PanelMembership).where(
        (PanelMembership.panel == panel.id) & (PanelMembership.user == user.id)
    )
    if exists:
        return []
    contact = (
        await User.objects().where(User.email == person.support_contact).first()
        if person.support_contact
        else None
    )
    membership = scope.new(
        PanelMembership,
        panel=panel.id,
        user=user.id,
        status="active",
        age_band=person.age_band,
        support_contact=contact.id if contact else None,
    )
    await membership.save()
    await _audit(scope.tenant, "panel_membership.created",
                 after={"panel": panel.name, "user_id": user.id, "status": "active"})
    return [f"{scope.tenant.slug}: added {person.email} to panel {panel.name!r}"]


async def _audit(tenant: Tenant, action: str, *, before=None, after=None) -> None:
    await audit.record(
        action, object_type="tenant", object_id=tenant.id, actor_id=None, tenant_id=tenant.id,
        before=before, after=after,
    )
