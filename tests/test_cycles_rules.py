"""Rules of policy cycles and stages: template copy, stage states, the close hook, reordering,
removal, tenant isolation, the audit trail; and the generic date and decimal form parsers."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from litestar.exceptions import NotFoundException

from portal.core.audit import AuditEntry
from portal.core.forms import Form
from portal.core.i18n import current_locale
from portal.core.states import TransitionError
from portal.core.tenancy import TenantScope
from portal.cycles import service
from portal.cycles.service import CycleError
from portal.cycles.tables import PolicyCycle, Stage
from portal.rounds.tables import ConsultationRound
from tests.support import (
    DEFAULT_TEMPLATE_STAGES,
    make_cycle,
    make_stage_template,
    make_tenant,
    make_user,
)


@pytest.fixture
def english():
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


@pytest.fixture
async def tenant():
    tenant = await make_tenant("alpha")
    await make_stage_template(tenant)
    return tenant


@pytest.fixture
async def officer(tenant):
    return await make_user("officer@alpha.example", tenant=tenant, roles=("policy_officer",),
                           name="Olga", display_name="Olga O.")


@pytest.fixture
def scope(tenant):
    return TenantScope(tenant)


async def stages_of(scope: TenantScope, cycle) -> list[Stage]:
    return await scope.objects(Stage).where(Stage.cycle == cycle.id).order_by(Stage.position)


async def actions() -> list[str]:
    return [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]


# --- creating from the template ---------------------------------------------------------------


async def test_new_cycle_gets_the_tenants_template_stages_in_order(scope, officer):
    cycle = await service.create_cycle(
        scope, actor=officer, title="Inkoop 2027", policy_domain="Jeugdhulp", owner_id=officer.id
    )
    stages = await stages_of(scope, cycle)
    assert [(s.name, s.participation_form) for s in stages] == list(DEFAULT_TEMPLATE_STAGES)
    assert [s.position for s in stages] == [1, 2, 3, 4, 5]
    assert {s.status for s in stages} == {"planned"}
    assert cycle.status == "active" and cycle.owner == officer.id
    assert await actions() == ["cycle.created"]


async def test_each_tenant_gets_its_own_template():
    beta = await make_tenant("beta")
    await make_stage_template(beta, [("Verkennen", "informeren"), ("Samen maken", "coproduceren")])
    cycle = await make_cycle(beta)
    stages = await stages_of(TenantScope(beta), cycle)
    assert [(s.name, s.participation_form, s.position) for s in stages] == [
        ("Verkennen", "informeren", 1),
        ("Samen maken", "coproduceren", 2),
    ]


async def test_a_tenant_without_template_gets_the_five_default_stages():
    bare = await make_tenant("bare")
    cycle = await make_cycle(bare)
    stages = await stages_of(TenantScope(bare), cycle)
    assert [s.name for s in stages] == [name for name, _form in DEFAULT_TEMPLATE_STAGES]


async def test_owner_must_be_a_policy_officer_of_this_tenant(scope, tenant, english):
    council = await make_user("raad@alpha.example", tenant=tenant, roles=("council_member",))
    beta = await make_tenant("beta")
    other = await make_user("officer@beta.example", tenant=beta, roles=("policy_officer",))
    for owner in (council, other):
        with pytest.raises(CycleError, match="policy officer"):
            await service.create_cycle(scope, actor=None, title="X", owner_id=owner.id)
    assert await scope.count(PolicyCycle) == 0
    assert await scope.count(Stage) == 0


# --- stage states -----------------------------------------------------------------------------


async def test_stage_goes_planned_open_closed_and_closed_is_final(scope, tenant, officer):
    cycle = await make_cycle(tenant, owner=officer)
    stage = (await stages_of(scope, cycle))[0]
    with pytest.raises(TransitionError):
        await service.close_stage(scope, stage, actor=officer)  # not open yet
    await service.open_stage(scope, stage, actor=officer)
    assert stage.status == "open" and stage.opened_at
    with pytest.raises(TransitionError):
        await service.open_stage(scope, stage, actor=officer)
    await service.close_stage(scope, stage, actor=officer)
    stored = await scope.get(Stage, stage.id)
    assert stored.status == "closed" and stored.closed_at
    for change in (service.open_stage, service.close_stage):
        with pytest.raises(TransitionError):
            await change(scope, stored, actor=officer)
    with pytest.raises(CycleError):
        await service.update_stage(scope, stored, actor=officer, name="Nieuw",
                                   participation_form="informeren", planned_start=None, planned_end=None)
    assert (await scope.get(Stage, stage.id)).name == stage.name
    assert await actions() == ["cycle.created", "stage.opened", "stage.closed"]


async def test_open_stage_can_still_be_renamed_and_dated(scope, tenant):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle))[1]
    await service.open_stage(scope, stage, actor=None)
    await service.update_stage(scope, stage, actor=None, name="Voorbereiden",
                               participation_form="meebeslissen",
                               planned_start=date(2027, 1, 1), planned_end=date(2027, 3, 31))
    stored = await scope.get(Stage, stage.id)
    assert (stored.name, stored.participation_form, stored.planned_end) == (
        "Voorbereiden", "meebeslissen", date(2027, 3, 31))
    entry = await AuditEntry.objects().where(AuditEntry.action == "stage.updated").first()
    assert json.loads(entry.before)["name"] == "Beleidsvoorbereiding"
    assert json.loads(entry.after)["name"] == "Voorbereiden"


async def test_dates_out_of_order_are_refused(scope, tenant, english):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle))[0]
    with pytest.raises(CycleError, match="end must be on or after"):
        await service.update_stage(scope, stage, actor=None, name="X", participation_form="adviseren",
                                   planned_start=date(2027, 5, 1), planned_end=date(2027, 4, 30))
    assert (await scope.get(Stage, stage.id)).name == "Agendavorming"
    assert service.dates_problem(date(2027, 5, 1), date(2027, 5, 1)) is None


# --- the close hook ---------------------------------------------------------------------------


async def test_a_close_check_that_gives_a_reason_blocks_closing(scope, tenant):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle))[0]
    await service.open_stage(scope, stage, actor=None)
    seen = []

    async def advice_without_response(check_scope, check_stage):
        seen.append((check_scope.tenant_id, check_stage.id))
        return "Two pieces of advice still need a response."

    service.STAGE_CLOSE_CHECKS.append(advice_without_response)
    try:
        with pytest.raises(CycleError, match="Two pieces of advice still need a response."):
            await service.close_stage(scope, stage, actor=None)
    finally:
        service.STAGE_CLOSE_CHECKS.remove(advice_without_response)
    assert seen == [(tenant.id, stage.id)]
    stored = await scope.get(Stage, stage.id)
    assert stored.status == "open" and stored.closed_at is None
    assert "stage.closed" not in await actions()
    # Without the check the same stage closes.
    await service.close_stage(scope, stored, actor=None)
    assert (await scope.get(Stage, stage.id)).status == "closed"


async def test_a_close_check_that_returns_none_lets_the_stage_close(scope, tenant):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle))[0]
    await service.open_stage(scope, stage, actor=None)

    async def nothing_missing(_scope, _stage):
        return None

    service.STAGE_CLOSE_CHECKS.append(nothing_missing)
    try:
        await service.close_stage(scope, stage, actor=None)
    finally:
        service.STAGE_CLOSE_CHECKS.remove(nothing_missing)
    assert (await scope.get(Stage, stage.id)).status == "closed"


# --- adding, reordering and removing ----------------------------------------------------------


async def test_added_stage_comes_last_and_is_planned(scope, tenant, english):
    cycle = await make_cycle(tenant)
    stage = await service.add_stage(scope, cycle, actor=None, name="Nazorg", participation_form="zelfbeheer")
    stages = await stages_of(scope, cycle)
    assert [s.position for s in stages] == [1, 2, 3, 4, 5, 6]
    assert stages[-1].id == stage.id and stage.status == "planned"
    with pytest.raises(CycleError, match="form of participation"):
        await service.add_stage(scope, cycle, actor=None, name="X", participation_form="alles")
    assert await scope.count(Stage).where(Stage.cycle == cycle.id) == 6


async def test_moving_keeps_positions_one_to_n_without_gaps(scope, tenant):
    cycle = await make_cycle(tenant)
    first, second, third, fourth, fifth = await stages_of(scope, cycle)
    await service.move_stage(scope, third, "up", actor=None)
    await service.move_stage(scope, first, "down", actor=None)
    fifth = await scope.get(Stage, fifth.id)
    await service.move_stage(scope, fifth, "up", actor=None)
    stages = await stages_of(scope, cycle)
    assert [s.position for s in stages] == [1, 2, 3, 4, 5]
    assert [s.id for s in stages] == [third.id, first.id, second.id, fifth.id, fourth.id]
    assert (await actions()).count("stage.moved") == 3


async def test_first_cannot_move_up_and_last_cannot_move_down(scope, tenant):
    cycle = await make_cycle(tenant)
    stages = await stages_of(scope, cycle)
    with pytest.raises(CycleError):
        await service.move_stage(scope, stages[0], "up", actor=None)
    with pytest.raises(CycleError):
        await service.move_stage(scope, stages[-1], "down", actor=None)
    with pytest.raises(CycleError):
        await service.move_stage(scope, stages[1], "sideways", actor=None)
    assert [s.id for s in await stages_of(scope, cycle)] == [s.id for s in stages]


async def test_only_planned_stages_change_places(scope, tenant):
    cycle = await make_cycle(tenant)
    first, second, *_rest = await stages_of(scope, cycle)
    await service.open_stage(scope, first, actor=None)
    with pytest.raises(CycleError):
        await service.move_stage(scope, first, "down", actor=None)  # the moved stage is open
    with pytest.raises(CycleError):
        await service.move_stage(scope, second, "up", actor=None)  # its neighbour is open
    assert [s.id for s in (await stages_of(scope, cycle))[:2]] == [first.id, second.id]


async def test_removing_renumbers_the_stages_after_it(scope, tenant):
    cycle = await make_cycle(tenant)
    stages = await stages_of(scope, cycle)
    await service.remove_stage(scope, stages[1], actor=None)
    remaining = await stages_of(scope, cycle)
    assert [s.position for s in remaining] == [1, 2, 3, 4]
    assert [s.id for s in remaining] == [stages[0].id, *[s.id for s in stages[2:]]]
    entry = await AuditEntry.objects().where(AuditEntry.action == "stage.removed").first()
    assert json.loads(entry.before)["name"] == "Beleidsvoorbereiding"


async def test_only_planned_stages_without_rounds_can_be_removed(scope, tenant, english):
    cycle = await make_cycle(tenant)
    first, second, *_rest = await stages_of(scope, cycle)
    await service.open_stage(scope, first, actor=None)
    with pytest.raises(CycleError, match="planned"):
        await service.remove_stage(scope, first, actor=None)
    await scope.new(ConsultationRound, stage=second.id, title="Vraag").save()
    with pytest.raises(CycleError, match="consultation rounds"):
        await service.remove_stage(scope, second, actor=None)
    assert await scope.count(Stage).where(Stage.cycle == cycle.id) == 5


async def test_a_completed_cycle_keeps_its_stages(scope, tenant):
    cycle = await make_cycle(tenant)
    stage = (await stages_of(scope, cycle))[0]
    await service.change_cycle_status(scope, cycle, "completed", actor=None)
    with pytest.raises(CycleError):
        await service.add_stage(scope, cycle, actor=None, name="X", participation_form="informeren")
    with pytest.raises(CycleError):
        await service.remove_stage(scope, stage, actor=None)
    with pytest.raises(CycleError):
        await service.open_stage(scope, stage, actor=None)
    with pytest.raises(TransitionError):
        await service.change_cycle_status(scope, cycle, "completed", actor=None)
    await service.change_cycle_status(scope, cycle, "active", actor=None)
    assert (await scope.get(PolicyCycle, cycle.id)).status == "active"
    assert (await actions()).count("cycle.status_changed") == 2


# --- reading ----------------------------------------------------------------------------------


async def test_cycle_view_and_list_show_owner_name_and_progress(scope, tenant, officer):
    cycle = await make_cycle(tenant, owner=officer)
    stages = await stages_of(scope, cycle)
    await service.open_stage(scope, stages[0], actor=None)
    await service.close_stage(scope, stages[0], actor=None)
    await service.open_stage(scope, stages[1], actor=None)
    await scope.new(ConsultationRound, stage=stages[2].id, title="Vraag").save()
    view = await service.cycle_with_stages(scope, cycle.id)
    assert view.owner_name == "Olga O."
    assert [item.can_move_up for item in view.stages] == [False, False, False, True, True]
    assert [item.can_move_down for item in view.stages] == [False, False, True, True, False]
    assert [item.can_remove for item in view.stages] == [False, False, False, True, True]
    assert [item.round_count for item in view.stages] == [0, 0, 1, 0, 0]
    [summary] = await service.list_cycles(scope)
    assert (summary.owner_name, summary.stage_count, summary.closed_count) == ("Olga O.", 5, 1)
    assert summary.open_stage_names == ["Beleidsvoorbereiding"]


async def test_the_cycle_page_needs_the_same_number_of_queries_for_any_number_of_stages(
    scope, tenant, officer, monkeypatch
):
    from portal.core.database import engine

    database = engine()
    counted = []
    original = type(database).run_querystring

    async def counting(self, querystring, *args, **kwargs):
        counted.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(type(database), "run_querystring", counting)

    async def queries_for(cycle) -> int:
        counted.clear()
        await service.cycle_with_stages(scope, cycle.id)
        return len(counted)

    small = await make_cycle(tenant, owner=officer)
    large = await make_cycle(tenant, "Groot", owner=officer)
    for number in range(10):
        stage = await service.add_stage(scope, large, actor=None, name=f"Extra {number}",
                                        participation_form="raadplegen")
        await scope.new(ConsultationRound, stage=stage.id, title="Vraag").save()
    assert await queries_for(small) == await queries_for(large) <= 4
    counted.clear()
    await service.list_cycles(scope)
    assert len(counted) == 3


async def test_another_tenants_ids_are_not_found_through_the_scope(scope, tenant, officer):
    beta = await make_tenant("beta")
    beta_scope = TenantScope(beta)
    beta_cycle = await make_cycle(beta)
    with pytest.raises(NotFoundException):
        await service.cycle_with_stages(scope, beta_cycle.id)
    own = await make_cycle(tenant, owner=officer)
    own_stage = (await stages_of(scope, own))[0]
    with pytest.raises(NotFoundException):
        await beta_scope.get(Stage, own_stage.id)
    # Rows handed to beta's scope from elsewhere are refused as unknown, and nothing changes.
    attempts = [
        service.update_cycle(beta_scope, own, actor=None, title="X", policy_domain="",
                             description="", owner_id=None),
        service.change_cycle_status(beta_scope, own, "completed", actor=None),
        service.add_stage(beta_scope, own, actor=None, name="X", participation_form="informeren"),
        service.update_stage(beta_scope, own_stage, actor=None, name="X", participation_form="informeren",
                             planned_start=None, planned_end=None),
        service.move_stage(beta_scope, own_stage, "down", actor=None),
        service.remove_stage(beta_scope, own_stage, actor=None),
        service.open_stage(beta_scope, own_stage, actor=None),
        service.close_stage(beta_scope, own_stage, actor=None),
    ]
    for attempt in attempts:
        with pytest.raises(NotFoundException):
            await attempt
    stored = await scope.get(PolicyCycle, own.id)
    assert (stored.title, stored.status) == ("Inkoop jeugdhulp 2027", "active")
    assert [(s.name, s.status) for s in await stages_of(scope, own)][0] == ("Agendavorming", "planned")
    assert await scope.count(Stage) == 5
    assert [summary.id for summary in await service.list_cycles(scope)] == [own.id]


# --- generic form parsers ---------------------------------------------------------------------


def test_date_parser_accepts_the_date_input_format(english):
    form = Form({"start": "2027-03-31", "empty": "", "bad": "31-03-2027", "impossible": "2027-02-30"})
    assert form.date("start", "Start") == date(2027, 3, 31)
    assert form.date("empty", "Empty") is None
    assert form.date("bad", "Planned start") is None
    assert form.date("impossible", "End") is None
    assert form.errors == {
        "bad": "Enter planned start as a date, for example 2027-03-31.",
        "impossible": "Enter end as a date, for example 2027-03-31.",
    }
    assert form.values["bad"] == "31-03-2027"


def test_required_date_is_asked_for(english):
    form = Form({})
    assert form.date("deadline", "Deadline", required=True) is None
    assert form.errors == {"deadline": "Fill in deadline."}


@pytest.mark.parametrize(("text", "number"), [("1,5", Decimal("1.5")), ("1.5", Decimal("1.5")),
                                              (" 8 ", Decimal("8")), ("0", Decimal("0")),
                                              ("40", Decimal("40")), (",5", Decimal("0.5"))])
def test_decimal_parser_accepts_comma_and_point(text, number):
    form = Form({"hours": text})
    assert form.decimal("hours", "Hours", minimum=0, maximum=40) == number
    assert form.is_valid


@pytest.mark.parametrize("text", ["abc", "1,5,5", "-1", "40.01", "1e3", "NaN", "Infinity"])
def test_decimal_parser_names_the_bounds(english, text):
    form = Form({"hours": text})
    assert form.decimal("hours", "Hours per month", minimum=0, maximum=Decimal("40.0")) is None
    assert form.errors == {"hours": "Enter hours per month as a number from 0 to 40, for example 1.5."}


def test_decimal_parser_required_and_optional(english):
    form = Form({})
    assert form.decimal("a", "Effort", minimum="0.5", maximum=100) is None
    assert form.decimal("b", "Budget", minimum=0, maximum=100, required=False) is None
    assert form.errors == {"a": "Fill in effort."}
