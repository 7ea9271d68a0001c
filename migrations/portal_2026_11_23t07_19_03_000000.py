"""Unique indexes that Piccolo's Unique constraint cannot create on SQLite.

Piccolo emits ``ALTER TABLE ... ADD CONSTRAINT``, which SQLite lacks; a unique index has the same
effect on both databases. Raw steps run before a migration's table changes, hence a migration
of its own after the tables exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T07:19:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "Unique memberships per role and panel names per tenant"

STATEMENTS = (
    'CREATE UNIQUE INDEX membership_one_role_once ON membership (tenant, "user", role)',
    "CREATE UNIQUE INDEX panel_name_once_per_tenant ON panel (tenant, name)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def create_indexes():
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    async def drop_indexes():
        for name in ("membership_one_role_once", "panel_name_once_per_tenant"):
            await engine_finder().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
