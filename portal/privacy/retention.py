"""Retention: personal data in the rounds of a policy cycle is anonymised a tenant-set number of
months (``retention_months``) after the cycle ended (completed, and its last stage closed).

What a round keeps after that: the texts (the municipality's own records), without who wrote
them; payment records stay seven years in restricted form. Each feature adds its part to
``RETENTION_STEPS`` (awaited with the scope and the round ids, inside one transaction per
tenant). Idempotent: anonymised rows are not changed again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from portal.core import audit
from portal.core.database import engine
from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage
from portal.deliberation.tables import Post, PostReport, PostRevision, Thread, ThreadRead
from portal.rounds.tables import ConsultationRound
from portal.tenants.settings import tenant_setting
from portal.tenants.tables import Tenant

RETENTION_STEPS: list = []


async def _anonymise_conversations(scope: TenantScope, round_ids: list[int]) -> int:
    threads = scope.select(Thread, Thread.id).where(Thread.round.is_in(round_ids))
    posts = scope.select(Post, Post.id).where(Post.thread.is_in(threads))
    changed = await scope.update(Post, {Post.author: None}).where(
        Post.thread.is_in(threads) & Post.author.is_not_null()).returning(Post.id)
    await scope.update(PostRevision, {PostRevision.edited_by: None}).where(PostRevision.post.is_in(posts))
    await scope.update(PostReport, {PostReport.reporter: None}).where(PostReport.post.is_in(posts))
    await scope.update(Thread, {Thread.created_by: None}).where(Thread.round.is_in(round_ids))
    await scope.delete(ThreadRead).where(ThreadRead.thread.is_in(threads))
    return len(changed)


RETENTION_STEPS.append(_anonymise_conversations)


def months_before(at: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    year, month = divmod(at.year * 12 + at.month - 1 - months, 12)
    month += 1
    days_in_month = (datetime(year + month // 12, month % 12 + 1, 1) - datetime(year, month, 1)).days
    return at.replace(year=year, month=month, day=min(at.day, days_in_month))


async def expired_round_ids(scope: TenantScope, at: datetime) -> list[int]:
    """Rounds of completed cycles whose last stage closed more than retention_months ago."""
    cutoff = months_before(at, int(tenant_setting(scope.tenant, "retention_months")))
    stages = await scope.select(Stage, Stage.cycle, Stage.closed_at).where(Stage.cycle.status == "completed")
    closed_at: dict[int, list] = {}
    for row in stages:
        closed_at.setdefault(row["cycle"], []).append(row["closed_at"])
    ended = [cycle for cycle, moments in closed_at.items() if all(moments) and max(moments) <= cutoff]
    if not ended:
        return []
    rows = await scope.select(ConsultationRound, ConsultationRound.id).where(
        ConsultationRound.stage.cycle.is_in(ended))
    return [row["id"] for row in rows]


async def apply_retention(at: datetime | None = None) -> dict[str, int]:
    """Anonymise in every tenant; returns the number of rounds looked at per tenant slug."""
    at = at or datetime.now(UTC)
    report = {}
    for tenant in await Tenant.objects().order_by(Tenant.slug):
        scope = TenantScope(tenant)
        round_ids = await expired_round_ids(scope, at)
        if round_ids:
            async with engine().transaction():
                for step in list(RETENTION_STEPS):
                    await step(scope, round_ids)
                await audit.record_in(scope, "retention.applied", "tenant", tenant.id, None,
                                      after={"round_ids": round_ids})
        report[tenant.slug] = len(round_ids)
    return report
