"""What each pytest-xdist worker process uses of its own (imported by conftest.py before the
portal reads its settings, so it imports nothing of the portal)."""

from __future__ import annotations

import os
import re
from urllib.parse import urlparse

# "gw0", "gw1", ... in a pytest-xdist worker; None when pytest runs the tests itself.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def worker_database_url(url: str, worker: str | None) -> str:
    """The PostgreSQL database of ``worker``: the given database's name plus the worker id."""
    if worker is None:
        return url
    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/')}_{worker}"
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"PORTAL_TEST_DATABASE_URL names a database the tests cannot extend: {name!r}")
    return parsed._replace(path=f"/{name}").geturl()


def worker_redis_url(url: str, worker: str | None) -> str:
    """The Redis database of ``worker``: the given database number plus the worker's index."""
    if worker is None:
        return url
    parsed = urlparse(url)
    database = int(parsed.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    return parsed._replace(path=f"/{database}").geturl()
