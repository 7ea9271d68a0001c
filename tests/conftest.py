"""Test harness.

* Database: SQLite by default, migrated once into a template file that is copied for each test;
  PostgreSQL when PORTAL_TEST_DATABASE_URL is set, migrated once and truncated for each test.
* Stores: in-process by default; Redis when PORTAL_TEST_REDIS_URL is set (flushed per test).
* ``client``: an HTTP client on a fresh app; ``live_server``: the app on a real port.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_TEST_VAR = Path(tempfile.mkdtemp(prefix="portal-test-"))
os.environ["PORTAL_VAR_DIR"] = str(_TEST_VAR)
os.environ["PORTAL_SECRET_KEY"] = "test-secret-key-not-for-production-use-0123456789"
os.environ["PORTAL_DATABASE_URL"] = os.environ.get("PORTAL_TEST_DATABASE_URL") or (
    f"sqlite:///{_TEST_VAR / 'test.sqlite'}"
)
if os.environ.get("PORTAL_TEST_REDIS_URL"):
    os.environ["PORTAL_REDIS_URL"] = os.environ["PORTAL_TEST_REDIS_URL"]
else:
    os.environ.pop("PORTAL_REDIS_URL", None)
os.environ["PORTAL_DATABASE_POOL"] = "0"  # the test client and the tests run on different loops
os.environ["PORTAL_BASE_URL"] = "http://testserver.local"
for name in ("PORTAL_SMTP_HOST", "PORTAL_WORKERS"):
    os.environ.pop(name, None)

import pytest  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from portal.core.database import engine, is_sqlite  # noqa: E402
from portal.core.settings import get_settings, load_settings  # noqa: E402
from tests.support import run_sync  # noqa: E402

TEMPLATE_DB = _TEST_VAR / "template.sqlite"


async def _migrate_fresh() -> None:
    from portal.cli import migrate_database

    database = engine()
    if not is_sqlite(database):
        await database.run_ddl("DROP SCHEMA public CASCADE")
        await database.run_ddl("CREATE SCHEMA public")
    await migrate_database()


async def _truncate_all() -> None:
    from portal.piccolo_app import TABLES

    names = ", ".join(f'"{table._meta.tablename}"' for table in TABLES)
    await engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session", autouse=True)
def migrated_database():
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
        run_sync(_truncate_all())


@pytest.fixture(autouse=True)
def fresh_database(migrated_database, tmp_path):
    """Every test starts from an empty, migrated database."""
    empty_database(tmp_path)
    if os.environ.get("PORTAL_REDIS_URL"):
        import redis

        redis.Redis.from_url(os.environ["PORTAL_REDIS_URL"]).flushdb()
    yield


@pytest.fixture
def settings():
    get_settings.cache_clear()
    return load_settings()


@pytest.fixture
def app(settings):
    from portal.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app):
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def live_server(app):
    from tests.support import LiveServer

    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
