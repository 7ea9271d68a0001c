"""Route guards. Every handler declares who may use it; the request context is already loaded."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal.core.context import RequestContext


def request_context(connection: ASGIConnection) -> RequestContext:
    return connection.scope["state"]["context"]


def requires_tenant(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """On the tenant router: an unknown tenant slug is a 404, before any other check."""
    if request_context(connection).tenant is None:
        raise NotFoundException()


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if request_context(connection).user is None:
        raise NotAuthorizedException()


def requires_platform_operator(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    requires_login(connection, handler)
    if not request_context(connection).user.is_platform_operator:
        raise PermissionDeniedException()


def requires_member(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Any role in this tenant. Platform operators get no implicit access to tenant content."""
    requires_login(connection, handler)
    if not request_context(connection).roles:
        raise PermissionDeniedException()


def requires_role(*roles: str):
    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        requires_member(connection, handler)
        if not request_context(connection).has_role(*roles):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_role({', '.join(roles)})"
    return guard
