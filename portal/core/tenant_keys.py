"""Composite keys on (tenant, id): the database refuses a row that points into another tenant.

Every foreign key from a tenant-owned table to another tenant-owned table gets a twin on
``(tenant, <column>)`` that references ``(tenant, id)``, so a round can only be in a stage of its
own tenant, a post in a thread of its own tenant, and so on, whatever the code does. Migrations
call :func:`add` and :func:`drop` with the relations they cover written out, never read from the
table classes, so an applied migration stays what it was. ``tests/test_tenant_keys.py`` reads the
database's catalog and fails while a foreign key between tenant-owned tables has no twin.

PostgreSQL (15 or later): a unique index on ``(tenant, id)`` of each referenced table and a
foreign key beside Piccolo's own, with the same rule on delete; ``SET NULL`` empties only the
column, since the tenant is never null.

SQLite cannot add a constraint to an existing table. The alternative it documents rebuilds the
table (create a copy, copy the rows, drop the original, rename, recreate indexes and triggers)
for some thirty tables whose columns Piccolo defines, and every later Piccolo migration would
have to keep the rebuilt definitions in step. Triggers enforce the same rule without touching the
tables: before a row is inserted, before its tenant or key changes, and before the referenced
row's tenant or id changes, ``RAISE(ABORT)`` when the two rows would be in different tenants.
Deletes need none: Piccolo's own foreign keys cascade or set null within the tenant. Unlike
SQLite's foreign keys (``PRAGMA foreign_keys``, set on every connection by
``portal/core/database.py``), triggers are always on.
"""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.engine import engine_finder


@dataclass(frozen=True)
class Relation:
    """A foreign key from one tenant-owned table to another."""

    table: str  # the referencing table
    column: str  # its foreign key column
    references: str  # the referenced table
    on_delete: str  # "CASCADE" or "SET NULL": the rule of Piccolo's own foreign key

    @property
    def name(self) -> str:
        """The composite key's name; the SQLite triggers add a suffix."""
        return f"{self.table}_{self.column}_same_tenant"

    @property
    def refusal(self) -> str:
        return f"{self.table}.{self.column} must point to a {self.references} row of the same tenant"


def unique_index(table: str) -> str:
    return f"{table}_tenant_id_unique"


async def add(relations: tuple[Relation, ...], referenced: tuple[str, ...]) -> None:
    """Refuse cross-tenant rows for ``relations``; ``referenced``: the tables that get their
    unique (tenant, id) here (a later migration names only tables no earlier one did)."""
    database = engine_finder()
    for relation in relations:
        await _refuse_existing_crossings(database, relation)
    if database.engine_type == "sqlite":
        for relation in relations:
            for statement in _triggers(relation):
                await database.run_ddl(statement)
        return
    for table in referenced:
        await database.run_ddl(f'CREATE UNIQUE INDEX "{unique_index(table)}" ON "{table}" (tenant, id)')
    for relation in relations:
        await database.run_ddl(_foreign_key(relation))


async def drop(relations: tuple[Relation, ...], referenced: tuple[str, ...]) -> None:
    database = engine_finder()
    if database.engine_type == "sqlite":
        for relation in relations:
            for suffix in ("insert", "update", "referenced"):
                await database.run_ddl(f'DROP TRIGGER "{relation.name}_{suffix}"')
        return
    for relation in relations:
        await database.run_ddl(f'ALTER TABLE "{relation.table}" DROP CONSTRAINT "{relation.name}"')
    for table in referenced:
        await database.run_ddl(f'DROP INDEX "{unique_index(table)}"')


async def _refuse_existing_crossings(database, relation: Relation) -> None:
    """Rows that already cross tenants stop the migration, with their count and the relation."""
    rows = await database.run_ddl(
        f'SELECT COUNT(*) AS crossing FROM "{relation.table}" JOIN "{relation.references}" AS referenced'
        f' ON referenced.id = "{relation.table}"."{relation.column}"'
        f' WHERE referenced.tenant <> "{relation.table}".tenant'
    )
    if rows[0]["crossing"]:
        raise RuntimeError(f"{rows[0]['crossing']} rows break the rule: {relation.refusal}")


def _foreign_key(relation: Relation) -> str:
    on_delete = f'SET NULL ("{relation.column}")' if relation.on_delete == "SET NULL" else relation.on_delete
    return (
        f'ALTER TABLE "{relation.table}" ADD CONSTRAINT "{relation.name}"'
        f' FOREIGN KEY (tenant, "{relation.column}") REFERENCES "{relation.references}" (tenant, id)'
        f" ON DELETE {on_delete}"
    )


def _triggers(relation: Relation) -> tuple[str, str, str]:
    table, column, referenced = relation.table, relation.column, relation.references
    points_elsewhere = (
        f'NEW."{column}" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "{referenced}"'
        f' WHERE "{referenced}".id = NEW."{column}" AND "{referenced}".tenant = NEW.tenant)'
    )
    refuse = f"BEGIN SELECT RAISE(ABORT, '{relation.refusal}'); END"
    return (
        f'CREATE TRIGGER "{relation.name}_insert" BEFORE INSERT ON "{table}" FOR EACH ROW'
        f" WHEN {points_elsewhere} {refuse}",
        f'CREATE TRIGGER "{relation.name}_update" BEFORE UPDATE OF tenant, "{column}" ON "{table}"'
        f" FOR EACH ROW WHEN {points_elsewhere} {refuse}",
        f'CREATE TRIGGER "{relation.name}_referenced" BEFORE UPDATE OF tenant, id ON "{referenced}"'
        f" FOR EACH ROW WHEN (NEW.tenant IS NOT OLD.tenant OR NEW.id IS NOT OLD.id) AND EXISTS"
        f' (SELECT 1 FROM "{table}" WHERE "{table}"."{column}" = OLD.id AND "{table}".tenant = OLD.tenant)'
        f" {refuse}",
    )
