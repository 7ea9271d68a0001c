"""The database itself refuses a row that points into another tenant: composite keys on
(tenant, id) (``portal/core/tenant_keys.py``), on SQLite (triggers) and PostgreSQL (foreign keys).

The catalog test reads what the database has and fails while any foreign key from a tenant-owned
table to another lacks its twin, so a new table gets one too; the refusal tests write raw SQL,
past every check of the code."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from piccolo.columns import OnDelete

from portal.advice.tables import Advice, Decision
from portal.agreements.tables import Claim, PaymentAgreement
from portal.core.database import engine, is_sqlite
from portal.core.tenancy import TenantOwned, TenantScope
from portal.core.tenant_keys import Relation
from portal.cycles.tables import PolicyCycle, Stage
from portal.deliberation.tables import Post
from portal.piccolo_app import TABLES
from portal.rounds.tables import ConsultationRound
from portal.tenants.tables import Tenant
from tests.support import (
    build_advice,
    build_panel,
    build_post_row,
    build_round,
    build_stage,
    build_thread_row,
    make_tenant,
    make_user,
)

REFUSED = (sqlite3.IntegrityError, asyncpg.exceptions.IntegrityConstraintViolationError)
SAME_TENANT = "same.tenant"  # the PostgreSQL constraint's name, or the SQLite trigger's message


def _relations_between_tenant_owned_tables() -> set[Relation]:
    """From the live table classes: every foreign key from a tenant-owned table to another."""
    return {
        Relation(table._meta.tablename, column._meta.db_column_name, referenced._meta.tablename,
                 "SET NULL" if column._foreign_key_meta.on_delete == OnDelete.set_null else "CASCADE")
        for table in TABLES
        if issubclass(table, TenantOwned)
        for column in table._meta.foreign_key_columns
        if issubclass(referenced := column._foreign_key_meta.resolved_references, TenantOwned)
    }


POSTGRES_FOREIGN_KEYS = """
SELECT child.relname AS "table", parent.relname AS "references", c.confdeltype::text AS on_delete,
    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(number, position)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.number ORDER BY k.position) AS columns,
    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(number, position)
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.number ORDER BY k.position)
        AS referenced_columns,
    ARRAY(SELECT a.attname::text FROM unnest(coalesce(c.confdelsetcols, '{}')) AS k(number)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.number) AS set_null_columns
FROM pg_constraint c
JOIN pg_class child ON child.oid = c.conrelid
JOIN pg_class parent ON parent.oid = c.confrelid
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
"""


async def _covered_on_postgres() -> set[Relation]:
    """The composite keys (tenant, column) -> (tenant, id), with their rule on delete."""
    covered = set()
    for key in await engine().run_ddl(POSTGRES_FOREIGN_KEYS):
        tenant, *column = key["columns"]
        if tenant != "tenant" or len(column) != 1 or key["referenced_columns"] != ["tenant", "id"]:
            continue
        on_delete = {"c": "CASCADE", "n": "SET NULL"}.get(key["on_delete"])
        if on_delete == "SET NULL" and key["set_null_columns"] != column:
            continue  # it would also empty the tenant, which is never null
        covered.add(Relation(key["table"], column[0], key["references"], on_delete))
    return covered


async def _covered_on_sqlite(required: set[Relation]) -> set[Relation]:
    """The relations whose three triggers are there and check the right column and table (the
    rule on delete is Piccolo's own foreign key's)."""
    triggers = {
        row["name"]: row for row in await engine().run_ddl("SELECT name, tbl_name, sql FROM sqlite_master"
                                                           " WHERE type = 'trigger'")
    }

    def guarded(relation: Relation, suffix: str, on: str, needs: tuple[str, ...]) -> bool:
        trigger = triggers.get(f"{relation.name}_{suffix}")
        return trigger is not None and trigger["tbl_name"] == on and all(text in trigger["sql"] for text in needs)

    checks = ('RAISE(ABORT', "tenant")
    return {
        relation for relation in required
        if guarded(relation, "insert", relation.table, (*checks, f'NEW."{relation.column}"', f'FROM "{relation.references}"'))
        and guarded(relation, "update", relation.table, (*checks, f'NEW."{relation.column}"', f'FROM "{relation.references}"'))
        and guarded(relation, "referenced", relation.references, (*checks, f'"{relation.table}"."{relation.column}" = OLD.id'))
    }


async def test_every_foreign_key_between_tenant_owned_tables_keeps_to_one_tenant():
    required = _relations_between_tenant_owned_tables()
    assert {"stage", "consultation_round", "post", "claim"} <= {relation.table for relation in required}
    covered = await (_covered_on_sqlite(required) if is_sqlite(engine()) else _covered_on_postgres())
    missing = sorted(f"{r.table}.{r.column} -> {r.references} ({r.on_delete})" for r in required - covered)
    assert missing == [], (
        "add composite keys for these in a migration (portal/core/tenant_keys.py):\n" + "\n".join(missing))


async def test_sqlite_connections_enforce_foreign_keys():
    database = engine()
    if not is_sqlite(database):
        pytest.skip("PostgreSQL always enforces foreign keys")
    assert (await Tenant.raw("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1  # a reused connection
    async with database.transaction():
        assert (await Tenant.raw("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1
    assert (await database.run_ddl("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1  # a new one


async def _tenant_rows(slug: str) -> dict:
    """One row of each kind the refusal tests point at, in a tenant of its own."""
    tenant = await make_tenant(slug)
    scope = TenantScope(tenant)
    member = await make_user(f"lid@{slug}.example", tenant=tenant, roles=("panel_member",))
    stage = await build_stage(tenant)
    panel = await build_panel(tenant, "Ouderpanel")
    round_ = await build_round(tenant, stage, panels=[panel], status="sent")
    thread = await build_thread_row(tenant, round_, panel)
    agreement = scope.new(PaymentAgreement, round=round_.id, user=member.id, panel=panel.id, basis="expenses",
                          payer="Gemeente", unit="none", fiscal_year=2026, status="agreed")
    await agreement.save()
    return {
        "tenant": tenant.id,
        "policy_cycle": stage.cycle,
        "stage": stage.id,
        "consultation_round": round_.id,
        "thread": thread.id,
        "post": (await build_post_row(tenant, thread, member)).id,
        "payment_agreement": agreement.id,
        "claim": (await _claim(scope, agreement)).id,
        "advice": (await build_advice(tenant, round_, panel, member)).id,
    }


async def _claim(scope: TenantScope, agreement: PaymentAgreement):
    claim = scope.new(Claim, agreement=agreement.id, kind="expense", activity_date=date.today(),
                      amount=Decimal("12.50"), description="Reiskosten")
    await claim.save()
    return claim


# (table, its foreign key column, the referenced table): the main relations, and one that is
# emptied (not cascaded) when the referenced row goes.
MAIN_RELATIONS = [
    (Stage, "cycle", "policy_cycle"),
    (ConsultationRound, "stage", "stage"),
    (Post, "thread", "thread"),
    (Claim, "agreement", "payment_agreement"),
    (Advice, "stage", "stage"),
]


def _copy_pointing_at(table, row_id: int, column: str, target: int) -> str:
    """Raw SQL: insert a copy of a row with ``column`` set to ``target``."""
    names = [c._meta.db_column_name for c in table._meta.columns if not c._meta.primary_key]
    values = [str(target) if name == column else f'"{name}"' for name in names]
    quoted = ", ".join(f'"{name}"' for name in names)
    return (f'INSERT INTO "{table._meta.tablename}" ({quoted}) SELECT {", ".join(values)}'
            f' FROM "{table._meta.tablename}" WHERE id = {row_id}')


@pytest.mark.parametrize(("table", "column", "references"), MAIN_RELATIONS,
                         ids=[f"{t._meta.tablename}.{c}" for t, c, _ in MAIN_RELATIONS])
async def test_a_row_pointing_into_another_tenant_is_refused(table, column, references):
    alpha, beta = await _tenant_rows("alpha"), await _tenant_rows("beta")
    name, database = table._meta.tablename, engine()
    mine = alpha[name]
    await database.run_ddl(_copy_pointing_at(table, mine, column, alpha[references]))  # its own tenant: fine
    with pytest.raises(REFUSED, match=SAME_TENANT):
        await database.run_ddl(_copy_pointing_at(table, mine, column, beta[references]))
    with pytest.raises(REFUSED, match=SAME_TENANT):
        await database.run_ddl(f'UPDATE "{name}" SET "{column}" = {beta[references]} WHERE id = {mine}')
    with pytest.raises(REFUSED, match=SAME_TENANT):  # the row moves, its reference stays behind
        await database.run_ddl(f'UPDATE "{name}" SET tenant = {beta["tenant"]} WHERE id = {mine}')
    with pytest.raises(REFUSED, match=SAME_TENANT):  # the referenced row moves away from its rows
        await database.run_ddl(f'UPDATE "{references}" SET tenant = {beta["tenant"]} WHERE id = {alpha[references]}')


async def test_the_composite_keys_keep_the_rules_on_delete():
    """Deleting a referenced row cascades or empties the column as before: emptying it leaves
    the row's tenant as it was."""
    rows = await _tenant_rows("alpha")
    scope = TenantScope(await Tenant.objects().get(Tenant.id == rows["tenant"]))
    unsolicited = scope.new(Advice, stage=rows["stage"], title="Ongevraagd advies")
    await unsolicited.save()
    decision = scope.new(Decision, cycle=rows["policy_cycle"], kind="contract", title="Contract")
    await decision.save()
    await scope.delete(Stage).where(Stage.id == rows["stage"])
    assert not await scope.exists(ConsultationRound).where(ConsultationRound.id == rows["consultation_round"])
    assert (await scope.get(Advice, unsolicited.id)).stage is None
    await scope.delete(PolicyCycle).where(PolicyCycle.id == rows["policy_cycle"])
    assert (await scope.get(Decision, decision.id)).cycle is None
