"""Live updates across worker processes: two real uvicorn processes sharing one database and one
Redis. A post written through one worker reaches a reader whose stream is open on the other.

With ``PORTAL_TEST_REDIS_URL`` unset there is no Redis to share, and the portal refuses to start
several workers at all; that refusal is what runs then (the two-process test says it was skipped
and why).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from contextlib import AsyncExitStack

import httpx
import pytest

from portal.core.database import engine, is_sqlite
from portal.core.settings import PROJECT_ROOT
from portal.core.tenancy import TenantScope
from portal.deliberation.tables import Thread
from tests.support import (
    EventStream,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    free_port,
    login,
    make_tenant,
    post_form,
)

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
DELIVERY_SECONDS = 10.0
START_SECONDS = 60.0  # a loaded machine imports slowly


def worker_env(tmp_path, *, redis_url: str | None, workers: int | None = None) -> dict[str, str]:
    """The environment of a worker process: the test's own database, secret and Redis."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    database = engine()
    env.update(
        PORTAL_DATABASE_URL=f"sqlite:///{database.path}" if is_sqlite(database) else os.environ["PORTAL_DATABASE_URL"],
        PORTAL_SECRET_KEY=os.environ["PORTAL_SECRET_KEY"],
        PORTAL_DATABASE_POOL="0",
        PORTAL_VAR_DIR=str(tmp_path / "var"),
        PORTAL_BASE_URL="http://127.0.0.1",
    )
    if redis_url:
        env["PORTAL_REDIS_URL"] = redis_url
    if workers is not None:
        env["PORTAL_WORKERS"] = str(workers)
    return env


def uvicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "portal.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]


class Worker:
    """One server process on a port of its own: ``command(port)``, by default
    ``uvicorn portal.app:create_app``."""

    def __init__(self, tmp_path, name: str, env: dict[str, str], command=uvicorn_command) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"{name}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command(self.port), env=env, cwd=PROJECT_ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    async def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    pytest.fail(f"worker on port {self.port} stopped:\n{self.output()}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"worker on port {self.port} did not start:\n{self.output()}")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # an open stream keeps a graceful shutdown waiting
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


def test_several_workers_without_redis_are_refused_at_start(tmp_path):
    """Live updates in process memory would not reach readers on another worker: the portal
    does not start that way, and says what to change."""
    env = worker_env(tmp_path, redis_url=None, workers=2)
    result = subprocess.run(uvicorn_command(free_port()), env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "PORTAL_WORKERS=2 needs PORTAL_REDIS_URL" in result.stdout + result.stderr


@pytest.mark.skipif(not REDIS_URL, reason="needs PORTAL_TEST_REDIS_URL (a Redis shared by the two workers)")
async def test_a_post_on_one_worker_reaches_a_reader_on_the_other(tmp_path):
    tenant = await make_tenant("alpha")
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    await build_panel_member(tenant, parents, "moeder@alpha.example", display_name="Moeder van twee")
    await build_panel_member(tenant, parents, "vader@alpha.example", display_name="Vader")
    round_ = await build_round(tenant, stage, status="sent", panels=(parents,))
    thread = TenantScope(tenant).new(Thread, round=round_.id, panel=parents.id, title="Ouderpanel", is_main=True)
    await thread.save()

    env = worker_env(tmp_path, redis_url=REDIS_URL)
    workers = [Worker(tmp_path, "worker-1", env), Worker(tmp_path, "worker-2", env)]
    try:
        await asyncio.gather(*(worker.wait_until_ready() for worker in workers))
        async with AsyncExitStack() as stack:
            mother = await stack.enter_async_context(httpx.AsyncClient(base_url=workers[0].url, timeout=10))
            father = await stack.enter_async_context(httpx.AsyncClient(base_url=workers[1].url, timeout=10))
            await login(mother, "moeder@alpha.example")
            await login(father, "vader@alpha.example")
            response = await stack.enter_async_context(
                father.stream("GET", f"/t/alpha/threads/{thread.id}/events",
                              headers={"Accept": "text/event-stream"})
            )
            assert response.status_code == 200
            stream = EventStream(response)
            await stream.wait_for_comment("connected", DELIVERY_SECONDS)

            sent = await post_form(mother, f"/t/alpha/threads/{thread.id}/posts",
                                   {"body": "Bericht via werker een", "client_token": "two-workers-1"})
            assert sent.status_code in (200, 303), sent.text

            message = await stream.message_with("Bericht via werker een", DELIVERY_SECONDS)
        assert 'hx-target="#posts" hx-swap="beforeend"' in message["data"]
        assert "Moeder van twee" in message["data"]
    finally:
        for worker in workers:
            worker.stop()
