"""The embedded SQLite database takes concurrent writers; both engines count their queries."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from portal.core.database import (
    PortalPostgresEngine,
    create_engine,
    engine,
    is_sqlite,
    query_counter,
)
from portal.core.tenancy import TenantScope
from portal.panels.tables import Panel
from tests.support import everywhere, make_tenant


def test_database_urls_choose_the_engine():
    assert create_engine("sqlite:////tmp/x.sqlite").path == "/tmp/x.sqlite"
    assert create_engine("sqlite:///var/x.sqlite").path == "var/x.sqlite"
    with pytest.raises(ValueError, match="PORTAL_DATABASE_URL"):
        create_engine("mysql://localhost/db")


async def test_the_embedded_database_runs_in_wal_mode():
    database = engine()
    if is_sqlite(database):
        with sqlite3.connect(database.path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    else:  # PostgreSQL has no journal mode; there the engine must be the counting one
        assert isinstance(database, PortalPostgresEngine)


async def test_concurrent_read_then_write_transactions_all_succeed():
    """Deferred transactions that read and then write fail with "database is locked";
    immediate ones wait their turn."""
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)

    async def add_panel(number: int) -> None:
        async with engine().transaction():
            await scope.count(Panel)
            await asyncio.sleep(0.01)
            await scope.new(Panel, name=f"Panel {number}", kind="parents").save()

    await asyncio.gather(*(add_panel(number) for number in range(20)))
    assert await scope.count(Panel) == 20


async def test_queries_are_counted():
    await make_tenant("alpha")
    with query_counter.measure() as measured:
        await everywhere(Panel).select().where(Panel.tenant == 1)
        await everywhere(Panel).count()
    assert measured["queries"] == 2


@pytest.mark.parametrize("stored", [b"12", b"-3", b"0", b"1.0", b"99999999999999999999999", b" 7 ", b"1e3"])
def test_the_fast_integer_converter_gives_what_piccolos_gives(stored):
    from piccolo.engine.sqlite import convert_int_out

    from portal.core.database import _int_out

    assert _int_out(stored) == convert_int_out(stored) and type(_int_out(stored)) is int


@pytest.mark.parametrize("stored", [b"1", b"0"])
def test_the_fast_boolean_converter_gives_what_piccolos_gives(stored):
    from piccolo.engine.sqlite import convert_boolean_out

    from portal.core.database import _boolean_out

    assert _boolean_out(stored) is convert_boolean_out(stored)


def test_foreign_keys_still_build_the_same_queries_and_joins():
    from piccolo.columns import ForeignKey

    from portal.core.database import _FOREIGN_KEY_METHODS, _piccolo_foreign_key_getattribute
    from portal.deliberation.tables import Post, Reaction

    for name in _FOREIGN_KEY_METHODS:
        assert getattr(Post.thread, name).__func__ is getattr(ForeignKey, name)
        assert getattr(Post.thread, name) == _piccolo_foreign_key_getattribute(Post.thread, name)
    sql = str(everywhere(Reaction).select(Reaction.id).where(Reaction.post._.thread.is_in([1, 2])))
    assert 'JOIN "post"' in sql and '"reaction$post"."thread" IN (1, 2)' in sql


async def _sqlite_engine_on(path):
    database = create_engine(f"sqlite:///{path}")
    await database.run_ddl("CREATE TABLE note (body TEXT)")
    return database


def _sql(text: str):
    from piccolo.querystring import QueryString

    return QueryString(text)


async def test_sqlite_connections_are_reused_and_only_for_their_own_file(tmp_path):
    database = await _sqlite_engine_on(tmp_path / "a.sqlite")
    await database.run_querystring(_sql("INSERT INTO note VALUES ('in a')"))
    await database.run_querystring(_sql("SELECT * FROM note"))
    [idle] = database._idle
    await database.run_querystring(_sql("SELECT * FROM note"))
    assert database._idle == [idle]  # the same connection again, not a new one
    assert idle._thread.daemon  # an idle connection does not keep the process alive at exit
    database.path = str(tmp_path / "b.sqlite")
    assert await database.run_querystring(_sql("SELECT name FROM sqlite_master")) == []
    assert idle not in database._idle
    await database.close_connection_pool()


async def test_a_rolled_back_transaction_leaves_nothing_behind_on_the_reused_connection(tmp_path):
    database = await _sqlite_engine_on(tmp_path / "a.sqlite")
    with pytest.raises(RuntimeError):
        async with database.transaction():
            await database.run_querystring(_sql("INSERT INTO note VALUES ('rolled back')"))
            raise RuntimeError("something went wrong")
    await database.run_querystring(_sql("INSERT INTO note VALUES ('kept')"))
    assert await database.run_querystring(_sql("SELECT body FROM note")) == [{"body": "kept"}]
    assert all(not connection.in_transaction for connection in database._idle)
    await database.close_connection_pool()
