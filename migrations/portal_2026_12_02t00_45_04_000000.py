"""Unique indexes for the agreements and privacy tables (see the 07_19_03 migration for why raw)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T00:45:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "One set of terms per round, one agreement of each kind per member and round, one details row"

INDEXES = {
    "round_terms_once": "round_terms (round)",
    "payment_agreement_once": 'payment_agreement (round, "user")',
    "ownership_agreement_once": 'ownership_agreement (round, "user")',
    "personal_details_once": 'personal_details (tenant, "user")',
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
