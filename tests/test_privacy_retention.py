"""Retention: personal data of rounds is anonymised retention_months after their cycle ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from portal.advice.tables import AdoptionVote, Advice, AdviceItem, AdviceVersion, HeardAnswer
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement, RestrictedPayee
from portal.cli import main
from portal.core.tenancy import TenantScope
from portal.cycles.tables import PolicyCycle, Stage
from portal.deliberation.tables import Post
from portal.privacy.retention import apply_retention, months_before
from tests.support import (
    build_advice,
    build_panel,
    build_panel_member,
    build_post_row,
    build_round,
    build_stage,
    build_thread_row,
    make_tenant,
)


def test_months_before_keeps_the_day_within_the_month():
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 24) == datetime(2024, 1, 15, tzinfo=UTC)


async def _ended_round(tenant, title: str, ended_days_ago: int, member):
    scope = TenantScope(tenant)
    stage = await build_stage(tenant, status="closed", cycle_title=title)
    closed_at = datetime.now(UTC) - timedelta(days=ended_days_ago)
    await scope.update(Stage, {Stage.closed_at: closed_at}).where(Stage.id == stage.id)
    await scope.update(PolicyCycle, {PolicyCycle.status: "completed"}).where(PolicyCycle.id == stage.cycle)
    panel = await build_panel(tenant, f"Panel {title}")
    round_ = await build_round(tenant, stage, title=title, status="closed", panels=[panel])
    thread = await build_thread_row(tenant, round_, panel)
    post = await build_post_row(tenant, thread, member)
    advice = await build_advice(tenant, round_, panel, member)
    await scope.new(AdoptionVote, advice=advice.id, user=member.id, choice="confirm").save()
    item = await scope.objects(AdviceItem).where(AdviceItem.advice == advice.id).first()
    await scope.new(HeardAnswer, item=item.id, user=member.id, answer="yes").save()
    terms = {"basis": "volunteer_hourly", "payer": "Gemeente", "unit": "hour", "fiscal_year": 2024, "status": "paid"}
    await scope.new(PaymentAgreement, round=round_.id, user=member.id, **terms).save()
    await scope.new(OwnershipAgreement, round=round_.id, user=member.id, owner="member", licence="approval",
                    attribution="pseudonym", status="accepted").save()
    return post


async def test_retention_anonymises_only_rounds_of_cycles_ended_long_enough_ago(client):
    tenant = await make_tenant("alpha")
    scope = TenantScope(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    member = await build_panel_member(tenant, panel, "ouder@alpha.example", display_name="Moeder")
    old_post = await _ended_round(tenant, "Oud", 24 * 31 + 5, member)
    recent_post = await _ended_round(tenant, "Recent", 30, member)
    assert (await apply_retention()) == {"alpha": 1}
    assert (await scope.get(Post, old_post.id)).author is None
    assert (await scope.get(Post, recent_post.id)).author == member.id
    # The advice of the old round stays, without who wrote it, voted on it or felt heard.
    assert await scope.count(AdviceVersion).where(AdviceVersion.author.is_null()) == 1
    assert await scope.count(Advice).where(Advice.created_by.is_null()) == 1
    assert await scope.count(AdoptionVote) == 1 and await scope.count(HeardAnswer) == 1
    paid = await scope.objects(PaymentAgreement).where(PaymentAgreement.restricted_payee.is_not_null())
    assert len(paid) == 1 and paid[0].user is None
    assert (await scope.objects(RestrictedPayee).first()).name == member.name
    assert await scope.count(OwnershipAgreement).where(OwnershipAgreement.user.is_null()) == 1
    assert (await apply_retention()) == {"alpha": 1}  # idempotent: nothing more to change
    assert await scope.count(RestrictedPayee) == 1


def test_the_command_reports_per_tenant():
    result = CliRunner().invoke(main, ["apply-retention"])
    assert result.exit_code == 0, result.output
