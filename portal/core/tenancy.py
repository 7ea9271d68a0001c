"""The one tenant-scoping layer.

Every table whose rows belong to a tenant mixes in :class:`TenantOwned`, and every query on
such a table goes through a :class:`TenantScope`: it adds ``tenant = <current tenant>`` to
each query and turns a row of another tenant into a 404. ``tests/test_tenant_scope_usage.py``
fails when code outside this module queries a tenant-owned table directly.
"""

from __future__ import annotations

from typing import TypeVar

from litestar.exceptions import NotFoundException
from piccolo.columns import ForeignKey, OnDelete
from piccolo.table import Table

from portal.tenants.tables import Tenant

T = TypeVar("T", bound=Table)

MAX_ID = 2**63 - 1  # the largest id either database can store


class TenantOwned:
    """Mixin: the row belongs to exactly one tenant (indexed foreign key)."""

    tenant = ForeignKey(references=Tenant, null=False, index=True, on_delete=OnDelete.cascade)


class TenantScope:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.tenant_id: int = tenant.id

    @staticmethod
    def _owned(table: type[T]) -> type[T]:
        if not issubclass(table, TenantOwned):
            raise TypeError(f"{table.__name__} is not tenant-owned")
        return table

    def select(self, table: type[T], *columns):
        return self._owned(table).select(*columns).where(table.tenant == self.tenant_id)

    def objects(self, table: type[T], *prefetch):
        return self._owned(table).objects(*prefetch).where(table.tenant == self.tenant_id)

    def count(self, table: type[T]):
        return self._owned(table).count().where(table.tenant == self.tenant_id)

    def exists(self, table: type[T]):
        return self._owned(table).exists().where(table.tenant == self.tenant_id)

    def update(self, table: type[T], values: dict):
        return self._owned(table).update(values).where(table.tenant == self.tenant_id)

    def delete(self, table: type[T]):
        return self._owned(table).delete().where(table.tenant == self.tenant_id)

    def new(self, table: type[T], **values) -> T:
        """An unsaved row of this tenant."""
        return self._owned(table)(tenant=self.tenant_id, **values)

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
    """The one sanctioned cross-tenant query: a person's own rows in every tenant (their spaces)."""
    return TenantScope._owned(table).select(*columns).where(table.user == user_id)
