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
from litestar.testing import AsyncTestClient, TestClient
from markupsafe import escape

from portal.accounts.tables import Membership, User
from portal.core.i18n import translations_for
from portal.core.mail import OutboxMessage
from portal.core.security import hash_password
from portal.core.tenancy import TenantScope, across_tenants
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


class _EveryTenant:
    def __init__(self, table) -> None:
        self.table = table

    def __getattr__(self, method: str):
        start = getattr(self.table, method)

        def query(*args, **kwargs):
            with across_tenants("a test looks at what is stored in every tenant"):
                return start(*args, **kwargs)

        return query


def everywhere(table) -> _EveryTenant:
    """A tenant-owned table's queries over every tenant, for a test that checks what is stored
    anywhere (``await everywhere(Invitation).count() == 0``): the one escape of the tenant guard
    (``across_tenants``) is open only while the query is built, never while the code under test
    runs."""
    return _EveryTenant(table)


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


def nl(message: str, **variables) -> str:
    """``message`` as the default (Dutch) page shows it: translated when the catalogue has it."""
    text = translations_for("nl").gettext(message)
    return str(escape(text % variables if variables else text))


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


class SharedApp:
    """The app started once (its startup hooks, the channels plugin) on an event loop in a
    thread of its own, for as many tests as like: each gets a client of its own (cookies and
    all) whose requests run on that same loop, where the app's Redis connections belong.

    Litestar's test clients run every request through their ``blocking_portal``; a client
    given this app's portal skips its own start and stop."""

    def __init__(self, settings) -> None:
        from portal.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self._starter = TestClient(app=self.app)

    def __enter__(self) -> SharedApp:
        self._starter.__enter__()
        self.portal = self._starter.blocking_portal
        return self

    def __exit__(self, *exc_info) -> None:
        self._starter.__exit__(*exc_info)

    def client(self, base_url: str) -> AsyncTestClient:
        client = AsyncTestClient(app=self.app, base_url=base_url)
        client.blocking_portal = self.portal
        return client

    def call(self, function, *args):
        """Await ``function(*args)`` on the app's loop."""
        return self.portal.call(function, *args)

    def forget(self) -> None:
        """Forget what earlier tests left in the app: sessions (with their flash messages) and
        caches, in new in-process stores or the emptied Redis database, and the counts of
        failed logins. (Its channels have no subscribers to forget: only a stream on a live
        server subscribes.)"""
        from portal.core.stores import create_store_registry

        if self.settings.redis_url:
            import redis

            redis.Redis.from_url(self.settings.redis_url).flushdb()
        else:
            self.app.stores = create_store_registry(self.settings)
        self.call(self.app.dependencies["login_limiter"].dependency().clear_all)


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
    status: str = "active", support_contact: User | None = None, budget="8", consent: bool = True,
) -> User:
    """A person with the panel-member role and a membership of ``panel`` (a new account unless
    ``user`` is given), who gave the account and experience consents on joining, as the
    acceptance form asks (``consent=False``: a member from before that step)."""
    from decimal import Decimal

    from portal.panels.tables import PanelMembership
    from portal.privacy.service import give_consent

    if user is None:
        name = display_name or email.split("@")[0].title()
        user = await make_user(email, tenant=tenant, roles=("panel_member",), name=name,
                               display_name=display_name or name)
    await TenantScope(tenant).new(
        PanelMembership, panel=panel.id, user=user.id, status=status, age_band="27_plus",
        support_contact=support_contact.id if support_contact else None,
        monthly_hours_budget=Decimal(str(budget)),
    ).save()
    if consent:
        for kind in ("account", "experience"):
            await give_consent(TenantScope(tenant), user, kind)
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


# --- deliberation: moderation and notifications (helper D) -------------------------------------


async def build_thread_row(tenant: Tenant, round_, panel=None, *, title: str = "Gesprek",
                           is_main: bool = True, created_by: User | None = None):
    """A thread made directly as a row (``panel`` None: the joint thread of the round)."""
    from portal.deliberation.tables import Thread

    thread = TenantScope(tenant).new(
        Thread, round=round_.id, panel=panel.id if panel else None, title=title, is_main=is_main,
        created_by=created_by.id if created_by else None,
    )
    await thread.save()
    return thread


async def build_post_row(tenant: Tenant, thread, author: User | None, body: str = "Een bericht.",
                         *, parent=None, **values):
    """A post made directly as a row; ``body_html`` is the body in a paragraph (escaped)."""
    from markupsafe import escape

    from portal.deliberation.tables import Post

    post = TenantScope(tenant).new(
        Post, thread=thread.id, parent=parent.id if parent else None,
        depth=(parent.depth + 1) if parent else 0, author=author.id if author else None,
        body_markdown=body, body_html=f"<p>{escape(body)}</p>", **values,
    )
    await post.save()
    return post


async def build_moderation_world(tenant: Tenant) -> dict:
    """A sent round to the parent panel (four members, one support contact) and a youth panel;
    the parent panel's thread with a post by the first member. Keys: officer, supporter,
    council, members (list), youth_member, parents, youth, round, thread, post."""
    officer = await make_user("beleid@alpha.example", tenant=tenant, roles=("policy_officer",),
                              name="Beleid", display_name="Beleidsmedewerker")
    supporter = await make_user("steun@alpha.example", tenant=tenant, roles=("support_contact",),
                                name="Steun", display_name="Begeleider")
    council = await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    stage = await build_stage(tenant)
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    members = [
        await build_panel_member(tenant, parents, f"ouder{number}@alpha.example",
                                 display_name=f"Ouder {number}", support_contact=supporter)
        for number in range(1, 5)
    ]
    youth_member = await build_panel_member(tenant, youth, "sky@alpha.example", display_name="Sky")
    round_ = await build_round(tenant, stage, status="sent", panels=(parents, youth))
    thread = await build_thread_row(tenant, round_, parents, title="Ouderpanel: wat moet beter?")
    post = await build_post_row(tenant, thread, members[0], "Mijn ervaring met de wachtlijst.")
    return {
        "officer": officer, "supporter": supporter, "council": council, "members": members,
        "youth_member": youth_member, "parents": parents, "youth": youth, "round": round_,
        "thread": thread, "post": post,
    }


# --- live updates (issue 4, part C) ---------------------------------------------------------------


class EventStream:
    """A server-sent-event response read as a browser's EventSource reads it: message by
    message; comment lines (``: connected``, ``: heartbeat``) are kept in ``comments``."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []
        self.seen: list[str] = []

    async def _line(self, deadline: float, waiting_for: str) -> str:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {waiting_for} in time; the stream said:\n" + "\n".join(self.seen))
        try:
            line = await asyncio.wait_for(anext(self._lines), remaining)
        except TimeoutError:
            raise TimeoutError(
                f"no {waiting_for} in time; the stream said:\n" + "\n".join(self.seen)
            ) from None
        self.seen.append(line)
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
        return line

    async def next_message(self, timeout: float = 5.0) -> dict:
        """The next message with data: ``{"data": ..., "id": ..., "event": ...}``."""
        deadline = time.monotonic() + timeout
        fields: dict = {}
        data: list[str] = []
        while True:
            line = await self._line(deadline, "message")
            if line == "":
                if data:
                    return {**fields, "data": "\n".join(data)}
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value

    async def message_with(self, text: str, timeout: float = 5.0) -> dict:
        """The first message whose data contains ``text`` (earlier ones are passed over)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next_message(max(deadline - time.monotonic(), 0.001))
            if text in message["data"]:
                return message

    async def wait_for_comment(self, text: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.comments:
            await self._line(deadline, f"': {text}'")


# --- the advice trail (issue 5) ------------------------------------------------------------------


async def build_advice(tenant: Tenant, round_, panel, author: User, *, status: str = "submitted",
                       titles=("Kortere wachtlijst", "Vaste contactpersoon"), response_due=None):
    """Advice of ``panel`` on ``round_`` with one item per title, made directly as rows (with
    its first version); ``status`` submitted sets the submission moment and response date."""
    import json
    from datetime import UTC, date, datetime, timedelta

    from portal.advice.tables import Advice, AdviceItem, AdviceVersion

    scope = TenantScope(tenant)
    submitted = status == "submitted"
    advice = scope.new(
        Advice, round=round_.id if round_ else None, panel=panel.id if panel else None,
        stage=round_.stage if round_ else None, title="Advies over de inkoop", status=status, version=1,
        created_by=author.id, submitted_at=datetime.now(UTC) if submitted else None,
        response_due=(response_due or date.today() + timedelta(weeks=6)) if submitted else None,
        owner=round_.created_by if round_ else None,
    )
    await advice.save()
    items = [{"title": title, "recommendation": f"Doe dit: {title}.", "rationale": "Uit ervaring."}
             for title in titles]
    for position, item in enumerate(items, start=1):
        await scope.new(AdviceItem, advice=advice.id, position=position, **item).save()
    await scope.new(AdviceVersion, advice=advice.id, number=1, title=advice.title,
                    items=json.dumps(items), author=author.id).save()
    return advice
