"""The runtime guard of tenant isolation (``portal/core/tenancy.py``): a query on a tenant-owned
table is built only by a ``TenantScope``, whatever name the table goes by; a row that carries its
tenant is saved and removed only within that tenant; ``across_tenants`` is the one escape."""

from __future__ import annotations

import asyncio

import pytest

from portal.accounts.tables import Membership
from portal.core.tenancy import (
    QUERY_METHODS,
    TenantScope,
    TenantScopeError,
    across_tenants,
    own_rows_across_tenants,
)
from portal.cycles import tables as cycle_tables
from portal.cycles.tables import PolicyCycle, Stage
from portal.cycles.tables import PolicyCycle as Cycle
from tests.support import make_tenant, make_user

ARGUMENTS = {"update": ({PolicyCycle.title: "Overgenomen"},), "raw": ("SELECT 1",)}


async def _two_tenants():
    alpha, beta = TenantScope(await make_tenant("alpha")), TenantScope(await make_tenant("beta"))
    for scope in (alpha, beta):
        await scope.new(PolicyCycle, title=f"Cyclus van {scope.tenant.slug}").save()
    return alpha, beta


@pytest.mark.parametrize("method", QUERY_METHODS)
def test_a_query_outside_a_scope_is_refused(method):
    with pytest.raises(TenantScopeError, match=f"PolicyCycle.{method}\\(\\) outside a TenantScope"):
        getattr(PolicyCycle, method)(*ARGUMENTS.get(method, ()))


def test_the_guard_does_not_depend_on_the_name_the_table_goes_by():
    table = PolicyCycle
    for query in (lambda: Cycle.select(), lambda: cycle_tables.PolicyCycle.objects(),
                  lambda: table.count(), lambda: getattr(table, "del" + "ete")()):
        with pytest.raises(TenantScopeError):
            query()


async def test_a_scope_builds_every_query_and_sees_only_its_own_tenant():
    alpha, beta = await _two_tenants()
    assert [row["title"] for row in await alpha.select(PolicyCycle, PolicyCycle.title)] == ["Cyclus van alpha"]
    assert [cycle.title for cycle in await beta.objects(PolicyCycle)] == ["Cyclus van beta"]
    assert await alpha.count(PolicyCycle) == 1
    assert await alpha.exists(PolicyCycle).where(PolicyCycle.title == "Cyclus van beta") is False
    await alpha.update(PolicyCycle, {PolicyCycle.title: "Nieuw"})
    await alpha.delete(PolicyCycle).where(PolicyCycle.title == "Nieuw")
    assert await alpha.count(PolicyCycle) == 0
    assert [cycle.title for cycle in await beta.objects(PolicyCycle)] == ["Cyclus van beta"]


async def test_piccolo_may_compile_a_scoped_query_into_a_select_of_its_own():
    """A count, and an update or delete whose condition follows a foreign key, become a select
    on the same table when they run: the scope built the query, so that passes the guard."""
    alpha, beta = await _two_tenants()
    for scope in (alpha, beta):
        cycle = await scope.objects(PolicyCycle).first()
        await scope.new(Stage, cycle=cycle.id, position=1, name="Agendavorming").save()
    await alpha.update(Stage, {Stage.name: "Evaluatie"}).where(Stage.cycle.title == "Cyclus van alpha")
    await alpha.delete(Stage).where(Stage.cycle.title == "Cyclus van beta")  # beta's cycle: none here
    assert await alpha.count(Stage).where(Stage.name == "Evaluatie") == 1
    assert [stage.name for stage in await beta.objects(Stage)] == ["Agendavorming"]
    stage = await alpha.objects(Stage).first()
    assert (await stage.refresh()).name == "Evaluatie"


async def test_a_row_that_carries_its_tenant_is_saved_changed_and_removed():
    alpha, _ = await _two_tenants()
    cycle = alpha.new(PolicyCycle, title="Jeugdhulp")
    await cycle.save()
    cycle.title = "Jeugdhulp 2028"
    await cycle.save()
    assert (await alpha.get(PolicyCycle, cycle.id)).title == "Jeugdhulp 2028"
    cycle_id = cycle.id
    await cycle.remove()
    assert await alpha.get_or_none(PolicyCycle, cycle_id) is None


async def test_a_row_without_a_tenant_is_refused():
    alpha, _ = await _two_tenants()
    stray = alpha.new(PolicyCycle, title="Zwerver")
    stray.tenant = None
    with pytest.raises(TenantScopeError, match="PolicyCycle.save\\(\\) of a row without a tenant"):
        stray.save()


async def test_a_row_changed_to_another_tenants_id_changes_nothing_there():
    alpha, beta = await _two_tenants()
    theirs = await beta.objects(PolicyCycle).first()
    mine = await alpha.objects(PolicyCycle).first()
    mine.id = theirs.id  # a row of alpha that names beta's id
    mine.title = "Overgenomen"
    await mine.save()
    await mine.remove()
    assert (await beta.get(PolicyCycle, theirs.id)).title == "Cyclus van beta"


async def test_across_tenants_sees_every_tenant_and_only_inside_its_block():
    await _two_tenants()
    with across_tenants("test: both tenants' cycles"):
        titles = {row["title"] for row in await PolicyCycle.select(PolicyCycle.title)}
    assert titles == {"Cyclus van alpha", "Cyclus van beta"}
    with pytest.raises(TenantScopeError):
        PolicyCycle.select()


def test_across_tenants_needs_a_reason():
    with pytest.raises(ValueError, match="reason"), across_tenants("  "):
        pass


async def test_the_escape_of_one_task_does_not_open_the_guard_for_another():
    await _two_tenants()
    inside = asyncio.Event()
    done = asyncio.Event()

    async def crossing():
        with across_tenants("test: a task that crosses tenants"):
            inside.set()
            await done.wait()

    task = asyncio.create_task(crossing())
    await inside.wait()
    try:
        with pytest.raises(TenantScopeError):
            PolicyCycle.select()
    finally:
        done.set()
        await task


async def test_a_persons_own_rows_across_tenants():
    alpha, beta = await _two_tenants()
    person = await make_user("ouder@example.nl", tenant=alpha.tenant, roles=("panel_member",))
    await beta.new(Membership, user=person.id, role="council_member", display_name="Raad").save()
    rows = await own_rows_across_tenants(Membership, person.id, Membership.tenant, Membership.role)
    assert {(row["tenant"], row["role"]) for row in rows} == {
        (alpha.tenant_id, "panel_member"), (beta.tenant_id, "council_member")}
