"""Requests per second for a thread page with 200 posts, beside a bare Litestar + Jinja route.

    python -m bench.run [--posts 200] [--requests 200] [--concurrency 6] [--profile]

Everything runs in this one process: a temporary SQLite database is migrated and filled (a tenant,
a panel with its members, a sent round, the panel's thread with ``--posts`` posts, some replies
and reactions), the portal is served by uvicorn on a free port in a thread, and so is a bare
Litestar app whose one route renders the same posts from a list in memory with a comparable
Jinja template (``bench/templates/bare_thread.html``: the same markup per post, no database, no
sessions, no middleware). httpx then asks each for the page, logged in as a panel member on the
portal, with ``--concurrency`` requests in flight, after a warm-up. The client shares the process
(and its GIL) with both servers, so both numbers are lowered alike; the ratio is what counts.

``--profile`` runs pyinstrument (``pip install pyinstrument``; not a dependency) over the portal's
measured requests and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PASSWORD = "bench-password-2026"
MEMBER_EMAIL = "lid1@bench.example"


def _isolated_environment() -> Path:
    """A temporary var dir and SQLite database; in-process stores; the outbox for mail."""
    var_dir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    os.environ["PORTAL_VAR_DIR"] = str(var_dir)
    os.environ["PORTAL_DATABASE_URL"] = f"sqlite:///{var_dir / 'bench.sqlite'}"
    os.environ["PORTAL_SECRET_KEY"] = "bench-secret-key-not-for-production-0123456789"
    os.environ["PORTAL_BASE_URL"] = "http://127.0.0.1"
    for name in ("PORTAL_REDIS_URL", "PORTAL_SMTP_HOST", "PORTAL_WORKERS"):
        os.environ.pop(name, None)
    return var_dir


SENTENCES = [
    "Wij wachtten **vier maanden** op een eerste gesprek, en in die tijd ging het thuis steeds slechter.",
    "Wat hielp was een vaste contactpersoon die terugbelde wanneer ze dat beloofde.",
    "Ik zou willen dat de gemeente bij de inkoop vraagt hoe lang de wachtlijst *echt* is.",
    "Lees ook [de samenvatting van vorig jaar](https://example.org/samenvatting) over dit onderwerp.",
    "Voor jongeren is het belangrijk dat je niet steeds opnieuw je verhaal hoeft te vertellen.",
    "- korte lijnen\n- één plan voor het hele gezin\n- ook hulp in de avond",
]


def _body(number: int) -> str:
    first = SENTENCES[number % len(SENTENCES)]
    second = SENTENCES[(number * 7 + 3) % len(SENTENCES)]
    return f"{first}\n\n{second}"


async def _seed(post_count: int) -> dict:
    """Migrate and fill the database; returns the thread id and the posts as the bare route
    renders them."""
    from portal.accounts.tables import Membership, User
    from portal.cli import migrate_database
    from portal.core.security import hash_password
    from portal.core.tenancy import TenantScope
    from portal.cycles.tables import PolicyCycle, Stage
    from portal.deliberation.markdown import render_markdown
    from portal.deliberation.tables import Post, Reaction, Thread
    from portal.panels.tables import Panel, PanelMembership
    from portal.rounds.tables import ConsultationRound, RoundPanel
    from portal.tenants.tables import Tenant

    await migrate_database()
    tenant = Tenant(slug="bench", name="Gemeente Bench", kind="municipality", locale="nl", theme={})
    await tenant.save()
    scope = TenantScope(tenant)
    password_hash = hash_password(PASSWORD)
    supporter = User(email="steun@bench.example", name="Steun", password_hash=password_hash)
    await supporter.save()
    await scope.new(Membership, user=supporter.id, role="support_contact", display_name="Begeleider").save()
    panel = scope.new(Panel, name="Ouderpanel", kind="parents")
    await panel.save()
    members = []
    for number in range(1, 9):
        user = User(email=f"lid{number}@bench.example", name=f"Lid {number}", password_hash=password_hash)
        await user.save()
        await scope.new(Membership, user=user.id, role="panel_member", display_name=f"Ouder {number}").save()
        await scope.new(
            PanelMembership, panel=panel.id, user=user.id, status="active", age_band="27_plus",
            support_contact=supporter.id, monthly_hours_budget=Decimal("8"),
        ).save()
        members.append(user)
    cycle = scope.new(PolicyCycle, title="Inkoop jeugdhulp 2027")
    await cycle.save()
    stage = scope.new(Stage, cycle=cycle.id, position=1, name="Beleidsvoorbereiding",
                      participation_form="adviseren", status="open")
    await stage.save()
    started = datetime.now(UTC) - timedelta(days=3)
    round_ = scope.new(
        ConsultationRound, stage=stage.id, title="Inkoop: wat moet beter?", question="Wat moet beter?",
        status="sent", sent_at=started, deadline=started + timedelta(days=30),
        expected_effort_hours=Decimal("2"), goal="g", need="experience_expertise",
        asked_of_experts="a", experts_wishes="w", competence_match="c", preconditions="p",
    )
    await round_.save()
    await scope.new(RoundPanel, round=round_.id, panel=panel.id).save()
    thread = scope.new(Thread, round=round_.id, panel=panel.id, title="Ouderpanel", is_main=True)
    await thread.save()

    rows: list[Post] = []
    posts: list[dict] = []
    for number in range(post_count):
        # Two in five posts are replies: to the post before, one level deeper (at most depth 2).
        parent = rows[-1] if number % 5 in (3, 4) and rows else None
        depth = 0 if parent is None else parent.depth + 1
        author = members[number % len(members)]
        body = _body(number)
        post = scope.new(
            Post, thread=thread.id, parent=parent.id if parent else None, depth=depth, author=author.id,
            body_markdown=body, body_html=render_markdown(body), sensitive=number % 25 == 0,
            created_at=started + timedelta(minutes=7 * number),
        )
        await post.save()
        rows.append(post)
        posts.append({
            "id": post.id, "parent": post.parent, "depth": depth, "author_name": f"Ouder {number % 8 + 1}",
            "created_at": post.created_at, "body_html": post.body_html, "sensitive": post.sensitive,
            "reactions": {}, "replies": [],
        })
    # Reactions: a few on most posts.
    kinds = ("agree", "disagree", "question")
    for index, post in enumerate(rows):
        for offset in range(index % 4):
            user = members[(index + offset + 1) % len(members)]
            if user.id == post.author:
                continue
            kind = kinds[(index + offset) % 3]
            await scope.new(Reaction, post=post.id, user=user.id, kind=kind).save()
            posts[index]["reactions"][kind] = posts[index]["reactions"].get(kind, 0) + 1
    # The same reply tree the thread page shows.
    by_id = {post["id"]: post for post in posts}
    tree = []
    for post in posts:
        (by_id[post["parent"]]["replies"] if post["parent"] else tree).append(post)
    return {"tenant": "bench", "thread_id": thread.id, "tree": tree, "post_count": post_count}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """An ASGI app served by uvicorn on a free port, in a thread of this process."""

    def __init__(self, app, profile: bool = False) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.profiler = None
        if profile:
            from pyinstrument import Profiler

            # Started in the server's own thread: pyinstrument profiles the thread it starts in.
            self.profiler = Profiler(interval=0.0005)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        if self.profiler is None:
            self.server.run()
            return
        self.profiler.start()
        try:
            self.server.run()
        finally:
            self.profiler.stop()

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def bare_app(data: dict):
    """Litestar with one route and the Jinja engine: the same posts, from memory."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from litestar import Litestar, get
    from litestar.plugins.jinja import JinjaTemplateEngine
    from litestar.response import Template
    from litestar.template.config import TemplateConfig

    environment = Environment(
        loader=FileSystemLoader(BENCH_DIR / "templates"), autoescape=select_autoescape(("html",)),
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["datetime"] = lambda value: value.strftime("%d %b %Y %H:%M")

    @get("/bare", sync_to_thread=False, signature_namespace={"Template": Template})
    def bare_thread() -> Template:
        return Template(
            template_name="bare_thread.html",
            context={"title": "Ouderpanel", "posts": data["tree"], "post_count": data["post_count"],
                     "csrf_token": "x" * 32},
        )

    return Litestar(
        route_handlers=[bare_thread],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        openapi_config=None, logging_config=None,
    )


async def _login(client, base_url: str) -> None:
    await client.get(f"{base_url}/login")
    token = client.cookies["csrftoken"]
    response = await client.post(
        f"{base_url}/login",
        data={"_csrf_token": token, "email": MEMBER_EMAIL, "password": PASSWORD},
    )
    if response.status_code not in (200, 303):
        raise RuntimeError(f"login failed: {response.status_code}")


async def _check(client, url: str) -> int:
    response = await client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return len(response.content)


async def _batch(client, url: str, requests: int, concurrency: int) -> float:
    """Seconds taken by ``requests`` GETs of ``url``, ``concurrency`` at a time."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def _count_queries(url: str, client_cookies) -> int:
    import httpx

    from portal.core.database import query_counter

    with query_counter.measure() as counted, httpx.Client(cookies=client_cookies) as client:
        response = client.get(url)
        response.raise_for_status()
    return counted["queries"]


async def _run(args, data: dict, portal_url: str, bare_url: str) -> dict:
    """Both pages, in alternating rounds: a machine that gets busier or quieter during the run
    then affects both numbers alike."""
    import httpx

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    thread_url = f"{portal_url}/t/{data['tenant']}/threads/{data['thread_id']}"
    async with httpx.AsyncClient(limits=limits, timeout=120) as portal, \
            httpx.AsyncClient(limits=limits, timeout=120) as bare:
        await _login(portal, portal_url)
        portal_size = await _check(portal, thread_url)
        bare_size = await _check(bare, f"{bare_url}/bare")
        for _ in range(args.warmup):
            await portal.get(thread_url)
            await bare.get(f"{bare_url}/bare")
        per_round = max(1, args.requests // args.rounds)
        portal_seconds = bare_seconds = 0.0
        ratios = []
        for _ in range(args.rounds):
            portal_time = await _batch(portal, thread_url, per_round, args.concurrency)
            bare_time = await _batch(bare, f"{bare_url}/bare", per_round, args.concurrency)
            portal_seconds += portal_time
            bare_seconds += bare_time
            ratios.append(bare_time / portal_time)
        cookies = portal.cookies
    queries = await asyncio.to_thread(_count_queries, thread_url, cookies)
    total = per_round * args.rounds
    return {
        "portal_rps": total / portal_seconds, "bare_rps": total / bare_seconds,
        "ratio": bare_seconds / portal_seconds, "round_ratios": sorted(ratios), "requests": total,
        "portal_bytes": portal_size, "bare_bytes": bare_size, "queries": queries,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=10, help="requests to each before measuring")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per page")
    parser.add_argument("--profile", action="store_true", help="profile the portal's requests (pyinstrument)")
    args = parser.parse_args(argv)

    import logging

    var_dir = _isolated_environment()
    logging.disable(logging.INFO)  # the app logs each start at INFO; the numbers are the output
    from portal.app import create_app
    from portal.core.settings import get_settings

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints each migration
            data = asyncio.run(_seed(args.posts))
        portal_server = Server(create_app(get_settings()), profile=args.profile)
        with portal_server as portal, Server(bare_app(data)) as bare:
            result = asyncio.run(_run(args, data, portal.url, bare.url))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"Thread page with {args.posts} posts, {result['requests']} requests each, concurrency "
          f"{args.concurrency}, {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    print(f"  portal thread page (logged in as a panel member): {result['portal_rps']:8.1f} requests/s"
          f"  ({result['portal_bytes'] // 1024} kB, {result['queries']} SQL queries)")
    print(f"  bare Litestar + Jinja, same posts from memory:    {result['bare_rps']:8.1f} requests/s"
          f"  ({result['bare_bytes'] // 1024} kB)")
    print(f"  ratio portal / bare: {result['ratio']:.2f}  (per round: "
          f"{', '.join(f'{ratio:.2f}' for ratio in result['round_ratios'])})")
    if portal_server.profiler is not None:
        print(portal_server.profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
