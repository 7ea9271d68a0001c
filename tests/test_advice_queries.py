"""The council's adoption overview issues the same number of SQL queries for 10 advice items as
for 1,000, and so does an item's trail page whatever the length of its history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.advice.tables import AdviceItem, ResponseVersion
from portal.core.database import query_counter
from portal.core.tenancy import TenantScope
from tests.support import (
    build_advice,
    build_panel,
    build_panel_member,
    build_round,
    build_stage,
    login,
    make_tenant,
    make_user,
)

STATUSES = ("pending", "adopted", "partly_adopted", "not_adopted", "not_applicable")


async def _cycle_with_items(tenant, title: str, count: int, panels, author):
    """A cycle whose stage holds submitted advice with ``count`` items of every status, some
    overdue, in advice of ten items each, from the parents' and the youth panel in turn."""
    scope = TenantScope(tenant)
    stage = await build_stage(tenant, cycle_title=title)
    round_ = await build_round(tenant, stage, status="sent", panels=panels)
    moment = datetime.now(UTC)
    for start in range(0, count, 10):
        advice = await build_advice(tenant, round_, panels[(start // 10) % 2], author, titles=(),
                                    response_due=date.today() - timedelta(days=start % 20))
        await scope.insert(AdviceItem, *[
            scope.new(AdviceItem, advice=advice.id, position=n, title=f"Punt {start + n}", recommendation="Doe het.",
                      response_status=STATUSES[(start + n) % 5],
                      responded_at=moment if (start + n) % 5 else None)
            for n in range(min(10, count - start))
        ])
    assert await scope.count(AdviceItem).where(AdviceItem.advice.stage == stage.id) == count
    return stage.cycle


@pytest.fixture
async def world():
    tenant = await make_tenant("alpha")
    await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    parents = await build_panel(tenant, "Ouderpanel", "parents")
    youth = await build_panel(tenant, "Jongerenpanel", "youth")
    author = await build_panel_member(tenant, parents, "ouder@alpha.example")
    small = await _cycle_with_items(tenant, "Klein", 10, (parents, youth), author)
    large = await _cycle_with_items(tenant, "Groot", 1000, (parents, youth), author)
    return {"tenant": tenant, "small": small, "large": large}


async def test_the_council_overview_costs_the_same_queries_for_10_and_1000_items(client, world):
    await login(client, "raad@alpha.example")
    counts = []
    for cycle_id in (world["small"], world["large"], world["small"], world["large"]):
        with query_counter.measure() as measured:
            response = await client.get(f"/t/alpha/cycles/{cycle_id}/advice-overview")
        assert response.status_code == 200
        counts.append(measured["queries"])
    assert counts[0] > 0 and counts[0] == counts[1] and counts[2] == counts[3], counts
    assert "1000" in response.text


async def test_the_trail_page_costs_the_same_queries_for_a_short_and_a_long_history(client, world):
    scope = TenantScope(world["tenant"])
    items = await scope.select(AdviceItem, AdviceItem.id).where(
        AdviceItem.advice.stage.cycle == world["large"]).order_by(AdviceItem.id).limit(2)
    short, long = items[0]["id"], items[1]["id"]
    await scope.insert(ResponseVersion, *[
        scope.new(ResponseVersion, item=long, number=n, status="adopted", reasoning=f"Versie {n}",
                  published_at=datetime.now(UTC))
        for n in range(1, 41)
    ])
    await login(client, "raad@alpha.example")
    counts = []
    for item_id in (short, long):
        with query_counter.measure() as measured:
            response = await client.get(f"/t/alpha/advice-items/{item_id}")
        assert response.status_code == 200
        counts.append(measured["queries"])
    assert counts[0] == counts[1], counts
    assert "Versie 40" in response.text

