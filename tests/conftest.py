"""Test harness.

* Workers: ``make test`` runs the suite in pytest-xdist worker processes. Each worker has a
  temporary directory, a database and a Redis database of its own, so workers never see each
  other's data; run serially (plain ``pytest``) the process is a worker of its own.
* Database: SQLite by default, migrated once per worker into a template file that is copied for
  each test. PostgreSQL when PORTAL_TEST_DATABASE_URL is set: each worker uses the database of
  that name plus its worker id (``portal_test_gw0``, created when missing), migrated once and
  emptied for each test (the tables it wrote to, with their id sequences restarted).
* Stores: in-process by default; Redis when PORTAL_TEST_REDIS_URL is set: worker ``gwN`` uses the
  database number of that URL plus N, flushed for each test.
* App: one application per worker, started once (registering its routes takes about 0.14 s of
  CPU and each start about 0.1 s more), whose stores (sessions with their flash messages, caches)
  and login rate limits are emptied before each test that uses it. ``client``: an HTTP client
  of its own for each test; ``live_server``: an app of its own on a real port. A module that
  overrides ``settings`` gets an app of its own per test, as before.
* Passwords: argon2id with the cheapest parameters (PORTAL_PASSWORD_HASHING); the production
  parameters have a test of their own in tests/test_security.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from tests.workers import WORKER, worker_database_url, worker_redis_url

_TEST_VAR = Path(tempfile.mkdtemp(prefix=f"portal-test-{WORKER or 'serial'}-"))

os.environ["PORTAL_VAR_DIR"] = str(_TEST_VAR)
os.environ["PORTAL_SECRET_KEY"] = "test-secret-key-not-for-production-use-0123456789"
if os.environ.get("PORTAL_TEST_DATABASE_URL"):
    os.environ["PORTAL_DATABASE_URL"] = worker_database_url(os.environ["PORTAL_TEST_DATABASE_URL"], WORKER)
else:
    os.environ["PORTAL_DATABASE_URL"] = f"sqlite:///{_TEST_VAR / 'test.sqlite'}"
if os.environ.get("PORTAL_TEST_REDIS_URL"):
    os.environ["PORTAL_REDIS_URL"] = worker_redis_url(os.environ["PORTAL_TEST_REDIS_URL"], WORKER)
else:
    os.environ.pop("PORTAL_REDIS_URL", None)
os.environ["PORTAL_DATABASE_POOL"] = "0"  # a pool is bound to one loop; run_sync and live servers use others
os.environ["PORTAL_BASE_URL"] = "http://testserver.local"
os.environ["PORTAL_PASSWORD_HASHING"] = "fast-insecure-for-tests"
for name in ("PORTAL_SMTP_HOST", "PORTAL_WORKERS"):
    os.environ.pop(name, None)

import pytest  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from portal.core.database import engine, is_sqlite  # noqa: E402
from portal.core.settings import get_settings, load_settings  # noqa: E402
from tests.support import run_sync  # noqa: E402

TEMPLATE_DB = _TEST_VAR / "template.sqlite"


async def _create_worker_database() -> None:
    """This worker's PostgreSQL database, made on the server of PORTAL_TEST_DATABASE_URL."""
    import asyncpg

    name = urlparse(os.environ["PORTAL_DATABASE_URL"]).path.lstrip("/")
    connection = await asyncpg.connect(os.environ["PORTAL_TEST_DATABASE_URL"])
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _migrate_fresh() -> None:
    from portal.cli import migrate_database

    database = engine()
    if not is_sqlite(database):
        await database.run_ddl("DROP SCHEMA public CASCADE")
        await database.run_ddl("CREATE SCHEMA public")
    await migrate_database()


_USED_SEQUENCES = """
    SELECT owner.relname AS table_name, sequence.relname AS sequence_name
    FROM pg_sequences used
    JOIN pg_class sequence ON sequence.relname = used.sequencename AND sequence.relkind = 'S'
    JOIN pg_depend dependency ON dependency.objid = sequence.oid
        AND dependency.classid = 'pg_class'::regclass AND dependency.refclassid = 'pg_class'::regclass
    JOIN pg_class owner ON owner.oid = dependency.refobjid
    WHERE used.schemaname = current_schema() AND used.last_value IS NOT NULL
"""


async def _empty_used_tables() -> None:
    """Empty the tables that hold rows and restart the id sequences that were used, as
    ``TRUNCATE ... RESTART IDENTITY`` would: a TRUNCATE costs about 10 ms per table on
    PostgreSQL, rows or not, and cascades from ``user`` to almost every table, while a test
    writes to a few; finding those and deleting their rows takes a few milliseconds."""
    import asyncpg
    from piccolo.table import sort_table_classes

    from portal.piccolo_app import TABLES

    names = [table._meta.tablename for table in sort_table_classes(list(TABLES))]  # parents first
    with_rows = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in names)
    connection = await asyncpg.connect(os.environ["PORTAL_DATABASE_URL"])
    try:
        filled = {row[0] for row in await connection.fetch(with_rows)}
        sequences = [row for row in await connection.fetch(_USED_SEQUENCES) if row["table_name"] in names]
        statements = [f'DELETE FROM "{name}";' for name in reversed(names) if name in filled]
        statements += [f"""SELECT setval('"{row["sequence_name"]}"', 1, false);""" for row in sequences]
        if statements:
            await connection.execute("\n".join(statements))
    finally:
        await connection.close()


def _flush_redis() -> None:
    import redis

    url = os.environ["PORTAL_REDIS_URL"]
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.ResponseError as error:
        raise RuntimeError(
            f"{url} (PORTAL_TEST_REDIS_URL plus the worker's index) failed: {error}. "
            "Give PORTAL_TEST_REDIS_URL a database number low enough for every worker."
        ) from error


@pytest.fixture(scope="session", autouse=True)
def migrated_database():
    if WORKER is not None and os.environ.get("PORTAL_TEST_DATABASE_URL"):
        run_sync(_create_worker_database())  # before the engine first connects to it
    database = engine()
    if is_sqlite(database):
        test_path = database.path
        database.path = str(TEMPLATE_DB)
        run_sync(_migrate_fresh())
        # The engine keeps idle connections open, and with them the migration in the WAL file;
        # closing them checkpoints it into the template, which is copied for each test.
        run_sync(database.close_connection_pool())
        database.path = test_path
    else:
        run_sync(_migrate_fresh())
    yield
    shutil.rmtree(_TEST_VAR, ignore_errors=True)


def empty_database(directory: Path) -> None:
    """An empty, migrated database (SQLite: a new file in ``directory``)."""
    database = engine()
    if is_sqlite(database):
        database.path = str(directory / "portal.sqlite")
        shutil.copyfile(TEMPLATE_DB, database.path)
    else:
        run_sync(_empty_used_tables())


@pytest.fixture(autouse=True)
def fresh_database(migrated_database, tmp_path):
    """Every test starts from an empty, migrated database, empty Redis and settings read anew."""
    empty_database(tmp_path)
    if os.environ.get("PORTAL_REDIS_URL"):
        _flush_redis()
    get_settings.cache_clear()
    yield


@pytest.fixture(scope="session")
def worker_settings():
    return load_settings()


@pytest.fixture
def settings(worker_settings):
    """The settings of the app under test (a module may override this fixture)."""
    return worker_settings


@pytest.fixture(scope="session")
def worker_app(worker_settings):
    """The application every test of this worker process shares, started once (see SharedApp)."""
    from tests.support import SharedApp

    with SharedApp(worker_settings) as shared:
        yield shared


@pytest.fixture
def app(worker_app, settings):
    """The worker's application, with nothing remembered from an earlier test; an app of its
    own for a test whose ``settings`` differ."""
    from portal.app import create_app

    if settings != worker_app.settings:
        return create_app(settings)
    worker_app.forget()
    return worker_app.app


@pytest.fixture
async def client(app, worker_app):
    if app is worker_app.app:
        yield worker_app.client(base_url="http://testserver.local")
    else:
        async with AsyncTestClient(app=app, base_url="http://testserver.local") as own_client:
            yield own_client


@pytest.fixture
def live_server(settings, worker_app):
    """The app served on a free port by uvicorn in a thread: an app of its own, since it runs on
    an event loop of its own. Started after the shared app, so that live updates published in
    the test reach this app's readers (``portal.core.channels`` publishes on the latest app)."""
    from portal.app import create_app
    from tests.support import LiveServer

    server = LiveServer(create_app(settings))
    server.start()
    yield server
    server.stop()
