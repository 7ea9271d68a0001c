"""Database engines for the two deployments: embedded SQLite (WAL) and PostgreSQL.

The engine is chosen once from ``PORTAL_DATABASE_URL``; Piccolo finds it through
``portal.piccolo_conf``. Both engines count the statements they run, so tests can assert
that a page issues a constant number of queries.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from urllib.parse import urlparse

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


class QueryCounter:
    """Counts SQL statements run by the engine (for query-count tests and benchmarks)."""

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def measure(self):
        start = self.count
        result = {"queries": 0}
        try:
            yield result
        finally:
            result["queries"] = self.count - start


query_counter = QueryCounter()


class PortalSQLiteEngine(SQLiteEngine):
    """SQLite with immediate write transactions.

    Piccolo's default deferred transactions take the write lock only at the first write, and a
    concurrent writer then fails with "database is locked" instead of waiting for the busy
    timeout. ``BEGIN IMMEDIATE`` takes the lock up front, so writers queue.
    """

    def transaction(self, transaction_type=TransactionType.immediate, allow_nested=True):
        return super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)

    def atomic(self, transaction_type=TransactionType.immediate):
        return super().atomic(transaction_type=transaction_type)

    async def run_querystring(self, querystring, in_pool: bool = False):
        query_counter.count += 1
        return await super().run_querystring(querystring, in_pool=in_pool)

    def enable_wal(self) -> None:
        """WAL lets readers proceed while one writer writes; the mode is stored in the file."""
        with sqlite3.connect(self.path) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


class PortalPostgresEngine(PostgresEngine):
    async def run_querystring(self, querystring, in_pool: bool = True):
        query_counter.count += 1
        return await super().run_querystring(querystring, in_pool=in_pool)


def create_engine(database_url: str) -> PortalSQLiteEngine | PortalPostgresEngine:
    parsed = urlparse(database_url)
    if parsed.scheme == "sqlite":
        # SQLAlchemy convention: sqlite:///relative/path and sqlite:////absolute/path
        return PortalSQLiteEngine(path=database_url.removeprefix("sqlite:///"), timeout=30)
    if parsed.scheme in {"postgres", "postgresql"}:
        return PortalPostgresEngine(config={"dsn": database_url})
    raise ValueError(
        f"PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://, got {parsed.scheme!r}"
    )


def is_sqlite(engine) -> bool:
    return isinstance(engine, SQLiteEngine)


def engine():
    """The engine every table uses (built from PORTAL_DATABASE_URL in portal.piccolo_conf)."""
    from piccolo.engine import engine_finder

    return engine_finder()
