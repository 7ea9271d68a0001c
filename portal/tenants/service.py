"""The people in a tenant space and what the start page shows them."""

from __future__ import annotations

from portal.accounts.roles import PANEL_MEMBER, TENANT_ADMIN
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.cycles.tables import StageTemplateStep
from portal.panels import service as panels
from portal.tenants.settings import SETTING_LABELS, tenant_setting
from portal.tenants.theme import logo_url, theme_of


class MembershipError(Exception):
    """A rule was broken; the message is for the user."""


async def list_members(scope: TenantScope) -> list[dict]:
    return await scope.select(
        Membership,
        Membership.id,
        Membership.role,
        Membership.display_name,
        Membership.created_at,
        Membership.user.email,
    ).order_by(Membership.display_name).order_by(Membership.role)


async def remove_membership(scope: TenantScope, membership: Membership, actor: User) -> None:
    if membership.role == TENANT_ADMIN:
        admins = await scope.count(Membership).where(Membership.role == TENANT_ADMIN)
        if admins <= 1:
            raise MembershipError(
                _("This is the last tenant administrator. Invite another one before removing this role.")
            )
    async with engine().transaction():
        await scope.delete(Membership).where(Membership.id == membership.id)
        if membership.role == PANEL_MEMBER:
            await panels.end_memberships_of(scope, membership.user, actor)
        await audit.record_in(
            scope, "membership.removed", "membership", membership.id, actor,
            before={"user_id": membership.user, "role": membership.role},
        )


async def space_overview(scope: TenantScope) -> dict:
    """What the tenant administrator sees of the space's set-up."""
    return {
        "stages": await scope.select(StageTemplateStep).order_by(StageTemplateStep.position),
        "panels": await panels.list_panels(scope),
        "member_count": await scope.count(Membership),
        "settings": {key: tenant_setting(scope.tenant, key) for key in SETTING_LABELS},
        "configured_terms": tenant_setting(scope.tenant, "agreement_terms"),
        "theme": theme_of(scope.tenant),
        "logo": logo_url(scope.tenant),
    }
