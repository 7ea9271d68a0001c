"""Links in emails point where the portal is served: ``portal serve --port P`` without
PORTAL_BASE_URL emails links to http://127.0.0.1:P; an explicit PORTAL_BASE_URL always wins."""

from __future__ import annotations

import sys

import httpx
import pytest

from tests.support import login, make_tenant, make_user, outbox, post_form
from tests.test_live_two_workers import Worker, worker_env

INVITED = "nieuw@alpha.example"


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "portal.cli", "serve", "--port", str(port)]


@pytest.mark.parametrize("base_url", [None, "http://portal.example:9999"])
async def test_invitation_links_point_at_the_served_port_unless_the_base_url_is_set(tmp_path, base_url):
    tenant = await make_tenant("alpha")
    admin = await make_user("beheer@alpha.example", tenant=tenant, roles=("tenant_admin",))
    env = worker_env(tmp_path, redis_url=None)
    del env["PORTAL_BASE_URL"]
    if base_url:
        env["PORTAL_BASE_URL"] = base_url
    server = Worker(tmp_path, "portal-serve", env, command=serve_command)
    try:
        await server.wait_until_ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            await login(client, admin.email)
            sent = await post_form(client, "/t/alpha/invitations", {"email": INVITED, "role": "panel_member"})
            assert sent.status_code == 303, server.output()
    finally:
        server.stop()
    [invitation] = await outbox(INVITED)
    expected = base_url or f"http://127.0.0.1:{server.port}"
    assert f"{expected}/t/alpha/invitations/accept/" in invitation.body
