"""Structural rules that keep the security properties true as the code grows."""

from __future__ import annotations

import ast
from pathlib import Path

from portal.core.tenancy import TenantOwned
from portal.piccolo_app import TABLES

PORTAL = Path(__file__).resolve().parents[1] / "portal"
TENANCY_MODULE = PORTAL / "core" / "tenancy.py"
QUERY_METHODS = {"select", "objects", "update", "delete", "count", "exists", "insert", "raw"}
TENANT_OWNED = {table.__name__ for table in TABLES if issubclass(table, TenantOwned)}


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if isinstance(target, ast.Name):
                yield target.id, node.func.attr, node.lineno


def test_tenant_owned_tables_are_known():
    assert {"Membership", "Invitation", "Panel", "StageTemplateStep"} <= TENANT_OWNED


def test_tenant_owned_tables_are_only_queried_through_the_scope():
    offenders = [
        f"{path.relative_to(PORTAL.parent)}:{line} {name}.{method}()"
        for path in PORTAL.rglob("*.py")
        if path != TENANCY_MODULE
        for name, method, line in _calls(path)
        if name in TENANT_OWNED and method in QUERY_METHODS
    ]
    assert offenders == [], "query tenant-owned tables through TenantScope:\n" + "\n".join(offenders)


def test_audit_entries_are_never_updated_or_deleted():
    offenders = [
        f"{path.relative_to(PORTAL.parent)}:{line}"
        for path in PORTAL.rglob("*.py")
        for name, method, line in _calls(path)
        if name == "AuditEntry" and method in {"update", "delete", "raw"}
    ]
    assert offenders == []


def test_every_tenant_owned_table_has_an_indexed_tenant_key():
    for table in TABLES:
        if issubclass(table, TenantOwned):
            column = table._meta.get_column_by_name("tenant")
            assert column._meta.index, f"{table.__name__}.tenant needs an index"
            assert not column._meta.null, f"{table.__name__}.tenant must not be null"


# Routes anyone may use: logging in, choosing a language, resetting a password, following an
# invitation link, and the public pages. Every other route must declare a guard.
PUBLIC_ROUTES = {
    "/",
    "/accessibility",
    "/healthz",
    "/login",
    "/logout",
    "/language",
    "/password/forgot",
    "/password/reset/{token:str}",
    "/t/{tenant_slug:str}/invitations/accept/{token:str}",
    "/t/{tenant_slug:str}/guardian/{guardian_token:str}",  # a guardian's consent link
    "/t/{tenant_slug:str}/ledger",  # only when the tenant turns on the public advice ledger
    "/t/{tenant_slug:str}/logo/{logo_name:str}",  # the header shows it on the public pages too
}


def test_every_route_is_guarded_or_explicitly_public(app):
    from litestar.routes import HTTPRoute

    unguarded = sorted(
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith("/static")
        for handler in route.route_handlers
        if route.path not in PUBLIC_ROUTES and handler.http_methods != {"OPTIONS"}
        and not [guard for guard in handler.resolve_guards() if guard.func.__name__ != "requires_tenant"]
    )
    assert unguarded == []
