"""Unique indexes for the cycles-and-panels migration (see the 07_19_03 migration for why raw)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T07:44:55:000000"
VERSION = "1.38.0"
DESCRIPTION = "One invitation per panel per round; one membership per person per panel"

INDEXES = {
    "round_panel_once": "round_panel (round, panel)",
    "panel_membership_once": 'panel_membership (panel, "user")',
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def create_indexes():
        for name, target in INDEXES.items():
            await engine_finder().run_ddl(f"CREATE UNIQUE INDEX {name} ON {target}")

    async def drop_indexes():
        for name in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
