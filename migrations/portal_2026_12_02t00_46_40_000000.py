"""Unique indexes for the advice trail (see the 07_19_03 migration for why raw)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T00:46:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "One version number per advice and per response, one vote, link and reaction per person"

INDEXES = {
    "advice_version_once": "advice_version (advice, number)",
    "response_version_once": "response_version (item, number)",
    "adoption_vote_once": 'adoption_vote (advice, "user")',
    "decision_link_once": "decision_link (decision, item)",
    "heard_answer_once": 'heard_answer (item, "user")',
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
