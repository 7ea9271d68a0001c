"""Who is asking, in which tenant, in which language: resolved once per request.

The middleware puts ``user``, ``tenant``, ``roles`` and ``locale`` on ``request.state``; guards
and handlers read them from there and never resolve them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.accounts.tables import Membership, User
from portal.core.i18n import LANGUAGE_COOKIE, choose_locale, current_locale
from portal.core.sessions import cookie_value
from portal.core.tenancy import TenantScope
from portal.tenants.tables import Tenant

TENANT_PREFIX = "/t/"


@dataclass
class RequestContext:
    user: User | None = None
    tenant: Tenant | None = None
    roles: set[str] = field(default_factory=set)
    display_name: str | None = None

    @property
    def scope(self) -> TenantScope:
        if self.tenant is None:
            raise NotFoundException()
        return TenantScope(self.tenant)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def tenant_slug_from_path(path: str) -> str | None:
    if not path.startswith(TENANT_PREFIX):
        return None
    return path[len(TENANT_PREFIX) :].split("/", 1)[0] or None


async def _load_user(user_id) -> User | None:
    if not isinstance(user_id, int):
        return None
    return await User.objects().where((User.id == user_id) & User.is_active.eq(True)).first()


async def _load_roles(tenant: Tenant, user: User) -> tuple[set[str], str | None]:
    rows = await (
        TenantScope(tenant)
        .select(Membership, Membership.role, Membership.display_name)
        .where(Membership.user == user.id)
    )
    return {row["role"] for row in rows}, (rows[0]["display_name"] if rows else None)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext()
        scope.setdefault("state", {})["context"] = context
        session = scope.get("session") or {}
        context.user = await _load_user(session.get("user_id"))
        slug = tenant_slug_from_path(scope["path"])
        if slug is not None:
            context.tenant = await Tenant.objects().where(Tenant.slug == slug).first()
        if context.tenant and context.user:
            context.roles, context.display_name = await _load_roles(context.tenant, context.user)
        locale = choose_locale(
            cookie_value(scope, LANGUAGE_COOKIE) or (context.user.locale if context.user else None),
            context.tenant.locale if context.tenant else None,
        )
        # Each request runs in its own task, so the value does not leak into other requests;
        # it is not reset, so that error pages still render in this language.
        current_locale.set(locale)
        await self.app(scope, receive, send)


def flash(scope: Scope, message: str) -> None:
    """Show ``message`` once, on the next page (after the redirect that follows a POST)."""
    scope["session"]["flash"] = message
