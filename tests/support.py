"""Helpers shared by the tests: running coroutines from sync code, data builders, form posts."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import uvicorn

from portal.accounts.tables import Membership, User
from portal.core.mail import OutboxMessage
from portal.core.security import hash_password
from portal.core.tenancy import TenantScope
from portal.tenants.tables import Tenant

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)


def run_sync(awaitable):
    """Await a coroutine or query from sync code, on a loop of its own (safe beside Playwright)."""

    async def wait():
        return await awaitable

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wait()).result()


async def make_tenant(slug: str = "alpha", name: str | None = None, locale: str = "nl") -> Tenant:
    tenant = Tenant(slug=slug, name=name or f"Gemeente {slug.title()}", kind="municipality", locale=locale, theme={})
    await tenant.save()
    return tenant


async def make_user(
    email: str,
    *,
    tenant: Tenant | None = None,
    roles: tuple[str, ...] = (),
    name: str = "Test Person",
    display_name: str | None = None,
    operator: bool = False,
) -> User:
    user = User(email=email, name=name, password_hash=_PASSWORD_HASH, is_platform_operator=operator)
    await user.save()
    for role in roles:
        await TenantScope(tenant).new(
            Membership, user=user.id, role=role, display_name=display_name or name
        ).save()
    return user


async def csrf_token(client) -> str:
    if "csrftoken" not in client.cookies:
        await client.get("/login")
    return client.cookies["csrftoken"]


async def post_form(client, url: str, data: dict | None = None, **kwargs):
    """POST a form the way a browser does, with the CSRF token from the cookie."""
    payload = {"_csrf_token": await csrf_token(client), **(data or {})}
    return await client.post(url, data=payload, **kwargs)


async def login(client, email: str, password: str = PASSWORD):
    response = await post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code in (200, 303), response.text
    return response


async def outbox(recipient: str | None = None) -> list[OutboxMessage]:
    query = OutboxMessage.objects().order_by(OutboxMessage.id)
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient)
    return await query


def link_in(body: str) -> str:
    """The first link in an email body, as a path on the portal."""
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match, body
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The app served by uvicorn on a free port, in a thread of this process."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Browser:
    """Another browser: the test client with a cookie jar of its own (``cookies`` as if the
    server had set them). One client, so one event loop, which the Redis stores need."""

    def __init__(self, client, **cookies) -> None:
        self._client = client
        self.cookies = httpx.Cookies()
        for name, value in cookies.items():
            self.cookies.set(name, value, domain="testserver.local")

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        own, self._client.cookies = self._client.cookies, self.cookies
        try:
            return await self._client.request(method, url, **kwargs)
        finally:
            self.cookies, self._client.cookies = self._client.cookies, own

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("POST", url, **kwargs)
