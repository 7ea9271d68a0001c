"""Database engines for the two deployments: embedded SQLite (WAL) and PostgreSQL.

The engine is chosen once from ``PORTAL_DATABASE_URL``; Piccolo finds it through
``portal.piccolo_conf``. Both engines count the statements they run, so tests can assert
that a page issues a constant number of queries.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager, suppress
from urllib.parse import urlparse

import aiosqlite
from piccolo.columns import ForeignKey
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import (
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    convert_int_out,
    dict_factory,
)


def _int_out(value: bytes) -> int:
    """Piccolo's converter for INTEGER columns, with a fast path for what SQLite stores there:
    ``int(Decimal(text))`` for every value cost about a microsecond each, and a thread page
    reads a thousand of them."""
    try:
        return int(value)
    except ValueError:  # "1.0" and the like: Piccolo's own conversion
        return convert_int_out(value)


def _boolean_out(value: bytes) -> bool:
    return value == b"1"  # as Piccolo's, without decoding the bytes first


# Piccolo registers its converters when its SQLite engine is imported (above); these replace
# two of them with the same results, faster. They apply to SQLite connections only.
sqlite3.register_converter("INTEGER", _int_out)
sqlite3.register_converter("BOOLEAN", _boolean_out)


# Piccolo's ForeignKey looks every public attribute up through ``dir(self)`` (to resolve lazy
# table references), about 10 microseconds each; building a query asks a foreign key for these
# methods some 70 times per thread page. They are plain methods of the column class, which the
# lazy-reference logic never changes, so they are looked up directly.
_FOREIGN_KEY_METHODS = frozenset({"get_select_string", "get_where_string", "is_in", "not_in"})
_piccolo_foreign_key_getattribute = ForeignKey.__getattribute__


def _foreign_key_getattribute(self, name: str):
    if name in _FOREIGN_KEY_METHODS:
        return object.__getattribute__(self, name)
    return _piccolo_foreign_key_getattribute(self, name)


ForeignKey.__getattribute__ = _foreign_key_getattribute


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


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction on a connection borrowed from the engine's idle connections, given back
    (or closed, if anything went wrong) when the transaction ends."""

    async def __aenter__(self) -> PooledSQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine.borrow_connection()
        try:
            await self.begin()
        except BaseException:
            await self.engine.discard_connection(self.connection)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent is not None:
            return exception is None
        try:
            if exception is not None and not self._rolled_back:
                await self.rollback()
            elif exception is None and not (self._committed or self._rolled_back):
                await self.commit()
        except BaseException:
            await self.engine.discard_connection(self.connection)
            raise
        finally:
            self.engine.current_transaction.reset(self.context)
        await self.engine.give_back_connection(self.connection)
        return exception is None


class PortalSQLiteEngine(SQLiteEngine):
    """SQLite with immediate write transactions and connections that are reused.

    Piccolo's default deferred transactions take the write lock only at the first write, and a
    concurrent writer then fails with "database is locked" instead of waiting for the busy
    timeout. ``BEGIN IMMEDIATE`` takes the lock up front, so writers queue.

    Piccolo opens a new aiosqlite connection (a thread, the file, a pragma) for every query,
    which costs more than most queries themselves (a thread page of 13 queries spent about
    35 ms on it). Here a query borrows an idle connection, runs in one round trip to the
    connection's thread, and gives it back; a transaction keeps its connection until it ends.
    A connection is only given back outside a transaction and after a query that succeeded
    (anything else closes it), and in WAL mode each statement in autocommit mode reads the
    latest committed data, so reuse changes nothing a query sees. A connection is reused only
    for the file it was opened on: when ``path`` changes (the tests use a file per test), the
    connections to the old file are closed.
    """

    MAX_IDLE_CONNECTIONS = 8

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._paths: dict[aiosqlite.Connection, str] = {}  # the file each open connection is on

    def transaction(self, transaction_type=TransactionType.immediate, allow_nested=True):
        return PooledSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    def atomic(self, transaction_type=TransactionType.immediate):
        return super().atomic(transaction_type=transaction_type)

    async def run_querystring(self, querystring, in_pool: bool = False):
        query_counter.count += 1
        if self.log_queries or self.log_responses or self._needs_inserted_pk(querystring):
            # Piccolo's own path: it prints queries, and finds inserted keys without RETURNING.
            return await super().run_querystring(querystring, in_pool=in_pool)
        query, args = querystring.compile_string(engine_type=self.engine_type)
        transaction = self.current_transaction.get()
        if transaction is not None:
            return await transaction.connection.execute_fetchall(query, args)
        connection = await self.borrow_connection()
        try:
            rows = await connection.execute_fetchall(query, args)
        except BaseException:
            await self.discard_connection(connection)
            raise
        await self.give_back_connection(connection)
        return rows

    def _needs_inserted_pk(self, querystring) -> bool:
        return querystring.query_type == "insert" and self.get_version_sync() < 3.35

    async def borrow_connection(self) -> aiosqlite.Connection:
        """An idle connection to the current database file, or a new one."""
        while self._idle:
            try:
                connection = self._idle.pop()
            except IndexError:  # another task took the last one
                break
            if self._paths.get(connection) == self.path:
                return connection
            await self.discard_connection(connection)
        return await self._connect()

    async def give_back_connection(self, connection: aiosqlite.Connection) -> None:
        reusable = not connection.in_transaction and self._paths.get(connection) == self.path
        if reusable and len(self._idle) < self.MAX_IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            await self.discard_connection(connection)

    async def discard_connection(self, connection: aiosqlite.Connection) -> None:
        self._paths.pop(connection, None)
        with suppress(Exception):  # it may be broken; closing is all that is left to do
            await connection.close()

    async def _connect(self) -> aiosqlite.Connection:
        path = self.path
        pending = aiosqlite.connect(**{**self.connection_kwargs, "database": path})
        # An idle connection's thread must not keep the process alive at exit (aiosqlite makes
        # it a non-daemon thread); an idle connection holds no transaction, so nothing is lost.
        pending._thread.daemon = True
        connection = await pending
        connection.row_factory = dict_factory
        try:
            await connection.execute_fetchall("PRAGMA foreign_keys = 1")
        except BaseException:
            await connection.close()
            raise
        self._paths[connection] = path
        return connection

    async def start_connection_pool(self, **_options) -> None:
        """Connections are made when first needed."""

    async def close_connection_pool(self) -> None:
        """Close the idle connections (at shutdown)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await self.discard_connection(connection)

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
