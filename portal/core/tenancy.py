"""The one tenant-scoping layer.

Every table whose rows belong to a tenant mixes in :class:`TenantOwned`, and every query on
such a table goes through a :class:`TenantScope`: it adds ``tenant = <current tenant>`` to
each query and turns a row of another tenant into a 404. Three layers keep that true:

* At run time :class:`TenantOwned` refuses to build a query (:data:`QUERY_METHODS`) unless a
  scope is building it, with :class:`TenantScopeError`. A row that carries its tenant (made by
  :meth:`TenantScope.new` or read through a scope) is saved and removed as before, and only
  ever within its own tenant. The few operations that are about a person or the whole platform
  rather than one tenant say so with :func:`across_tenants`. ``tests/test_tenant_guard.py``
  tries the guard.
* ``tests/test_structure.py`` finds a query on a tenant-owned table outside this module before
  it runs (by name, alias, module attribute or variable), pins the call sites of
  :func:`across_tenants` and the set of tables that are not tenant-owned.
* The database refuses a row that points into another tenant: composite keys on (tenant, id)
  (``portal/core/tenant_keys.py``), checked against the catalog and tried with raw SQL in
  ``tests/test_tenant_keys.py``.

``tests/test_tenant_isolation.py`` requests every tenant route with another tenant's ids.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from litestar.exceptions import NotFoundException
from piccolo.columns import ForeignKey, OnDelete
from piccolo.query.methods.update import Update
from piccolo.table import Table

from portal.tenants.tables import Tenant

T = TypeVar("T", bound=Table)

MAX_ID = 2**63 - 1  # the largest id either database can store

# The class methods of a Piccolo table that start a query.
QUERY_METHODS = ("select", "objects", "count", "exists", "update", "delete", "insert", "raw")

# Why a query on a tenant-owned table may be built right now; None: it may not.
_permit: ContextVar[str | None] = ContextVar("tenant_query_permit", default=None)


class TenantScopeError(RuntimeError):
    """A query on a tenant-owned table was built outside a TenantScope."""


@contextmanager
def _permitted(reason: str) -> Iterator[None]:
    token = _permit.set(reason)
    try:
        yield
    finally:
        _permit.reset(token)


@contextmanager
def across_tenants(reason: str) -> Iterator[None]:
    """Queries on tenant-owned tables built in this block may see every tenant.

    The one escape from the guard, for what is about a person or the platform rather than one
    tenant (a person's own spaces, the test harness). Say why in a string literal; each call
    site in ``portal/`` is pinned in ``tests/test_structure.py``.
    """
    if not reason.strip():
        raise ValueError("across_tenants needs the reason the query crosses tenants")
    with _permitted(reason):
        yield


def _require_permit(table: type[Table], method: str) -> None:
    if _permit.get() is None:
        raise TenantScopeError(
            f"{table.__name__}.{method}() outside a TenantScope: {table.__name__} is tenant-owned, "
            f"so query it through TenantScope (portal/core/tenancy.py)"
        )


# Piccolo's own modules call a table's query methods while they compile or run a query or a row
# operation that the application started: a count becomes a select, an update or delete whose
# condition follows a foreign key gets a sub-select on the same table, save() and remove()
# become an insert, update or delete. That query or row already passed the guard.
_PICCOLO_COMPILING = ("piccolo.query.", "piccolo.columns.")


def _started_by_piccolo(caller: str) -> bool:
    return caller == "piccolo.table" or caller.startswith(_PICCOLO_COMPILING)


def _guarded(method: str) -> classmethod:
    def query(cls, *args, **kwargs):
        if not _started_by_piccolo(sys._getframe(1).f_globals.get("__name__", "")):
            _require_permit(cls, method)
        return getattr(super(TenantOwned, cls), method)(*args, **kwargs)

    query.__name__ = method
    return classmethod(query)


class TenantOwned:
    """Mixin: the row belongs to exactly one tenant (indexed foreign key), and is queried only
    through a :class:`TenantScope`."""

    tenant = ForeignKey(references=Tenant, null=False, index=True, on_delete=OnDelete.cascade)

    def save(self, columns=None):
        """Insert or update this row, and an update only ever within the row's own tenant."""
        tenant_id = self._tenant_of_row("save")
        query = super().save(columns)
        if isinstance(query, Update):
            query = query.where(type(self).tenant == tenant_id)
        return query

    def remove(self):
        """Delete this row, only within its own tenant."""
        tenant_id = self._tenant_of_row("remove")
        query = super().remove()
        return query.where(type(self).tenant == tenant_id)

    def _tenant_of_row(self, operation: str) -> int:
        tenant = self.tenant
        tenant_id = getattr(tenant, "id", tenant)  # the key, or the row when it was prefetched
        if tenant_id is None:
            raise TenantScopeError(
                f"{type(self).__name__}.{operation}() of a row without a tenant: make it with TenantScope.new"
            )
        return tenant_id


for _method in QUERY_METHODS:
    setattr(TenantOwned, _method, _guarded(_method))


class TenantScope:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.tenant_id: int = tenant.id

    @staticmethod
    def _owned(table: type[T]) -> type[T]:
        if not issubclass(table, TenantOwned):
            raise TypeError(f"{table.__name__} is not tenant-owned")
        return table

    def _scoped(self, table: type[T], method: str, *args):
        """``table.method(*args)`` limited to this tenant."""
        with _permitted("a query built by a TenantScope"):
            query = getattr(self._owned(table), method)(*args)
        return query.where(table.tenant == self.tenant_id)

    def select(self, table: type[T], *columns):
        return self._scoped(table, "select", *columns)

    def objects(self, table: type[T], *prefetch):
        return self._scoped(table, "objects", *prefetch)

    def count(self, table: type[T]):
        return self._scoped(table, "count")

    def exists(self, table: type[T]):
        return self._scoped(table, "exists")

    def update(self, table: type[T], values: dict):
        return self._scoped(table, "update", values)

    def delete(self, table: type[T]):
        return self._scoped(table, "delete")

    def new(self, table: type[T], **values) -> T:
        """An unsaved row of this tenant."""
        return self._owned(table)(tenant=self.tenant_id, **values)

    def insert(self, table: type[T], *rows: T):
        """Rows of this tenant (made by :meth:`new`) in one statement."""
        strays = [row for row in rows if row._tenant_of_row("insert") != self.tenant_id]
        if strays:
            raise TenantScopeError(f"{len(strays)} {table.__name__} rows of another tenant in this tenant's insert")
        with _permitted("rows of this tenant"):
            return self._owned(table).insert(*rows)

    async def get_or_none(self, table: type[T], row_id: int) -> T | None:
        if not 0 < row_id <= MAX_ID:
            return None  # no such row; and the database would refuse the number itself
        return await self.objects(table).where(table._meta.primary_key == row_id).first()

    async def get(self, table: type[T], row_id: int) -> T:
        """The row with this id in this tenant, or 404: another tenant's id does not exist here."""
        row = await self.get_or_none(table, row_id)
        if row is None:
            raise NotFoundException()
        return row


def own_rows_across_tenants(table: type[T], user_id: int, *columns):
    """The one cross-tenant query of the application: a person's own rows in every tenant."""
    with across_tenants("a person's own rows in every tenant"):
        return TenantScope._owned(table).select(*columns).where(table.user == user_id)
