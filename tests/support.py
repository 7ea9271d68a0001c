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


# --- policy cycles (helper A) -----------------------------------------------------------------

DEFAULT_TEMPLATE_STAGES = (
    ("Agendavorming", "adviseren"),
    ("Beleidsvoorbereiding", "coproduceren"),
    ("Besluitvorming", "adviseren"),
    ("Uitvoering & inkoop", "adviseren"),
    ("Evaluatie & terugkoppeling", "raadplegen"),
)


async def make_stage_template(tenant: Tenant, stages=DEFAULT_TEMPLATE_STAGES) -> None:
    """The tenant's policy-cycle template: (name, form of participation) per stage, in order."""
    from portal.cycles.tables import StageTemplateStep

    scope = TenantScope(tenant)
    for position, (name, participation_form) in enumerate(stages, start=1):
        await scope.new(
            StageTemplateStep, position=position, name=name, participation_form=participation_form
        ).save()


async def make_cycle(tenant: Tenant, title: str = "Inkoop jeugdhulp 2027", *, owner: User | None = None):
    """A policy cycle with the stages of the tenant's template (the default five if it has none)."""
    from portal.cycles import service as cycles

    return await cycles.create_cycle(
        TenantScope(tenant), actor=owner, title=title, owner_id=owner.id if owner else None
    )


# --- consultation rounds (helper C) -----------------------------------------------------------

SIX_ANSWERS = {
    "goal": "Hear what parents and young people need from youth care.",
    "need": "experience_expertise",
    "asked_of_experts": "Read the plan and tell us what is missing.",
    "experts_wishes": "Meetings in the evening, online possible.",
    "competence_match": "They have used youth care in the last three years.",
    "preconditions": "Advice; paid as volunteer allowance; two hours; advice published.",
}


async def build_stage(tenant: Tenant, *, status: str = "open", name: str = "Beleidsvoorbereiding",
                      participation_form: str = "adviseren", cycle_title: str = "Inkoop jeugdhulp 2027"):
    """A policy cycle with one stage, made directly as rows (no template involved)."""
    from portal.cycles.tables import PolicyCycle, Stage

    scope = TenantScope(tenant)
    cycle = scope.new(PolicyCycle, title=cycle_title)
    await cycle.save()
    stage = scope.new(Stage, cycle=cycle.id, position=1, name=name,
                      participation_form=participation_form, status=status)
    await stage.save()
    return stage


async def build_panel(tenant: Tenant, name: str, kind: str = "parents"):
    from portal.panels.tables import Panel

    panel = TenantScope(tenant).new(Panel, name=name, kind=kind)
    await panel.save()
    return panel


async def build_panel_member(
    tenant: Tenant, panel, email: str, *, user: User | None = None, display_name: str | None = None,
    status: str = "active", support_contact: User | None = None, budget="8",
) -> User:
    """A person with the panel-member role and a membership of ``panel`` (a new account unless
    ``user`` is given)."""
    from decimal import Decimal

    from portal.panels.tables import PanelMembership

    if user is None:
        name = display_name or email.split("@")[0].title()
        user = await make_user(email, tenant=tenant, roles=("panel_member",), name=name,
                               display_name=display_name or name)
    await TenantScope(tenant).new(
        PanelMembership, panel=panel.id, user=user.id, status=status, age_band="27_plus",
        support_contact=support_contact.id if support_contact else None,
        monthly_hours_budget=Decimal(str(budget)),
    ).save()
    return user


async def build_round(tenant: Tenant, stage, *, title: str = "Inkoop: wat moet beter?",
                      status: str = "draft", panels=(), complete: bool = True, deadline=None,
                      effort="2"):
    """A round in ``stage`` (deadline: in 30 days unless given), with the six questions answered
    when ``complete``, and ``panels`` invited."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from portal.rounds.tables import ConsultationRound, RoundPanel

    scope = TenantScope(tenant)
    values = dict(SIX_ANSWERS) if complete else {}
    round_ = scope.new(
        ConsultationRound, stage=stage.id, title=title, question="Wat moet beter?", status=status,
        deadline=deadline or datetime.now(UTC) + timedelta(days=30),
        expected_effort_hours=Decimal(str(effort)),
        sent_at=datetime.now(UTC) if status != "draft" else None, **values,
    )
    await round_.save()
    for panel in panels:
        await scope.new(RoundPanel, round=round_.id, panel=panel.id).save()
    return round_
