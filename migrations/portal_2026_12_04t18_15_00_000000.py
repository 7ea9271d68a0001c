"""Rows point only into their own tenant: composite keys on (tenant, id) for every foreign key
from a tenant-owned table to another (see ``portal/core/tenant_keys.py`` for how, on each
database). The relations are written out here, as the tables were at this migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from portal.core import tenant_keys
from portal.core.tenant_keys import Relation

ID = "2026-12-04T18:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Composite keys on (tenant, id): a row never points into another tenant"

RELATIONS = (
    Relation("invitation", "panel", "panel", "CASCADE"),
    Relation("stage", "cycle", "policy_cycle", "CASCADE"),
    Relation("panel_membership", "panel", "panel", "CASCADE"),
    Relation("consultation_round", "stage", "stage", "CASCADE"),
    Relation("round_panel", "round", "consultation_round", "CASCADE"),
    Relation("round_panel", "panel", "panel", "CASCADE"),
    Relation("round_document", "round", "consultation_round", "CASCADE"),
    Relation("thread", "round", "consultation_round", "CASCADE"),
    Relation("thread", "panel", "panel", "CASCADE"),
    Relation("post", "thread", "thread", "CASCADE"),
    Relation("post", "parent", "post", "CASCADE"),
    Relation("post_revision", "post", "post", "CASCADE"),
    Relation("reaction", "post", "post", "CASCADE"),
    Relation("post_report", "post", "post", "CASCADE"),
    Relation("poll", "thread", "thread", "CASCADE"),
    Relation("poll_option", "poll", "poll", "CASCADE"),
    Relation("poll_vote", "poll", "poll", "CASCADE"),
    Relation("poll_vote", "option", "poll_option", "CASCADE"),
    Relation("thread_read", "thread", "thread", "CASCADE"),
    Relation("digest_item", "post", "post", "CASCADE"),
    Relation("round_terms", "round", "consultation_round", "CASCADE"),
    Relation("payment_agreement", "round", "consultation_round", "CASCADE"),
    Relation("payment_agreement", "panel", "panel", "SET NULL"),
    Relation("payment_agreement", "restricted_payee", "restricted_payee", "SET NULL"),
    Relation("ownership_agreement", "round", "consultation_round", "CASCADE"),
    Relation("ownership_agreement", "panel", "panel", "SET NULL"),
    Relation("claim", "agreement", "payment_agreement", "CASCADE"),
    Relation("advice", "round", "consultation_round", "CASCADE"),
    Relation("advice", "panel", "panel", "CASCADE"),
    Relation("advice", "stage", "stage", "SET NULL"),
    Relation("advice_item", "advice", "advice", "CASCADE"),
    Relation("advice_version", "advice", "advice", "CASCADE"),
    Relation("adoption_vote", "advice", "advice", "CASCADE"),
    Relation("response_version", "item", "advice_item", "CASCADE"),
    Relation("decision", "cycle", "policy_cycle", "SET NULL"),
    Relation("decision_link", "decision", "decision", "CASCADE"),
    Relation("decision_link", "item", "advice_item", "CASCADE"),
    Relation("outcome_update", "item", "advice_item", "CASCADE"),
    Relation("heard_answer", "item", "advice_item", "CASCADE"),
    Relation("council_question", "item", "advice_item", "CASCADE"),
)
REFERENCED = (
    "advice",
    "advice_item",
    "consultation_round",
    "decision",
    "panel",
    "payment_agreement",
    "policy_cycle",
    "poll",
    "poll_option",
    "post",
    "restricted_payee",
    "stage",
    "thread",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_keys():
        await tenant_keys.add(RELATIONS, REFERENCED)

    async def drop_keys():
        await tenant_keys.drop(RELATIONS, REFERENCED)

    manager.add_raw(add_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
