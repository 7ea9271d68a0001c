"""Unique indexes for the deliberation tables (see the 07_19_03 migration for why raw)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T08:21:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "One reaction of a kind, one report, one vote per option, one read marker, one setting"

INDEXES = {
    "reaction_once": 'reaction (post, "user", kind)',
    "post_report_once": "post_report (post, reporter)",
    "poll_vote_once": 'poll_vote (poll, "user", option)',
    "thread_read_once": 'thread_read (thread, "user")',
    "notification_setting_once": 'notification_setting (tenant, "user")',
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
