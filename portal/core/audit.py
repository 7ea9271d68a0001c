"""Append-only audit trail. ``record`` is the only code that writes it; nothing updates or deletes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.tenants.tables import Tenant

if TYPE_CHECKING:
    from portal.core.tenancy import TenantScope


class AuditEntry(Table):
    # Never cascade: erasing a person or a tenant must not erase the trail.
    tenant = ForeignKey(references=Tenant, null=True, index=True, on_delete=OnDelete.set_null)
    actor = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    action = Varchar(length=80, index=True)
    object_type = Varchar(length=60)
    object_id = Integer(null=True, default=None)
    before = Text(default="")
    after = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


def _snapshot(value: dict[str, Any] | None) -> str:
    return json.dumps(value, default=str, sort_keys=True, ensure_ascii=False) if value else ""


async def record(
    action: str,
    *,
    object_type: str,
    object_id: int | None,
    actor_id: int | None,
    tenant_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            tenant=tenant_id,
            actor=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=_snapshot(before),
            after=_snapshot(after),
        )
    )


async def record_in(
    scope: TenantScope,
    action: str,
    object_type: str,
    object_id: int,
    actor: User | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """``record`` a change in the scope's tenant, made by ``actor`` (None: by the system)."""
    await record(
        action,
        object_type=object_type,
        object_id=object_id,
        actor_id=actor.id if actor else None,
        tenant_id=scope.tenant_id,
        before=before,
        after=after,
    )
