"""What the advice pages show: the list, one advice document, an item's whole trail, the
council's adoption overview per cycle and the public ledger. Each costs a fixed number of
queries, whatever the number of advice items."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date

from portal.accounts.roles import PANEL_MEMBER
from portal.advice.access import AdviceAccess, readable_advice, readable_advice_condition
from portal.advice.documents import (
    eligible_voters,
    items_of,
    taking_part_refusal,
    tally_of,
    versions_of,
    votes_of,
    writing_refusal,
)
from portal.advice.responses import response_versions
from portal.advice.rules import (
    ANSWERED_STATUSES,
    RESPONSE_STATUS_LABELS,
    RESPONSE_STATUSES,
    is_overdue,
)
from portal.advice.tables import (
    AdoptionVote,
    Advice,
    AdviceItem,
    AdviceVersion,
    CouncilQuestion,
    Decision,
    DecisionLink,
    HeardAnswer,
    OutcomeUpdate,
    ResponseVersion,
)
from portal.agreements.privacy import FORMER_PARTICIPANT, public_attributions
from portal.core.audit import AuditEntry
from portal.core.context import RequestContext
from portal.core.i18n import N_, _
from portal.core.tenancy import TenantScope
from portal.cycles.service import display_names
from portal.cycles.tables import PolicyCycle, Stage
from portal.panels.tables import Panel
from portal.privacy.service import may_publish
from portal.rounds.service import today
from portal.rounds.tables import ConsultationRound
from portal.rounds.visibility import can_manage_rounds

# Audit actions as the item's timeline names them; actions not listed are not shown there.
TIMELINE_LABELS = {
    "advice.created": N_("Advice started"),
    "advice.saved": N_("Advice text saved"),
    "advice.adoption_started": N_("Panel asked to adopt the advice"),
    "advice.vote": N_("A member answered the adoption request"),
    "advice.adoption_failed": N_("Not adopted: back to draft"),
    "advice.reopened": N_("Reopened to change the text"),
    "advice.submitted": N_("Advice adopted and submitted"),
    "advice.reminder_sent": N_("Reminder sent: the response is overdue"),
    "advice_item.response_saved": N_("Response drafted"),
    "advice_item.response_published": N_("Response published"),
    "advice_item.decision_linked": N_("Linked to a decision"),
    "advice_item.decision_unlinked": N_("Link to a decision removed"),
    "advice_item.outcome_added": N_("Implementation update"),
    "advice_item.heard": N_("A member said whether they feel heard"),
    "advice_item.question_asked": N_("Council question asked"),
    "advice_item.question_answered": N_("Council question answered"),
}
# Drafts are the officers' own work until published.
OFFICER_ONLY_ACTIONS = {"advice_item.response_saved", "advice.reminder_sent"}
PANEL_KIND_ORDER = ("parents", "youth", "mixed", "joint")
PANEL_KIND_NAMES = {
    "parents": N_("Parents"),
    "youth": N_("Young people"),
    "mixed": N_("Mixed panels"),
    "joint": N_("Joint advice of several panels"),
}


# --- lists and one advice ------------------------------------------------------------------


async def advice_list(scope: TenantScope, ctx: RequestContext) -> list[dict]:
    """Every advice this person may read, with its item counts and whether it is overdue.
    Two queries."""
    query = scope.select(
        Advice, Advice.id, Advice.title, Advice.status, Advice.submitted_at, Advice.response_due,
        Advice.panel.name.as_alias("panel_name"), Advice.round.title.as_alias("round_title"),
    )
    condition = readable_advice_condition(scope, ctx)
    if condition is not None:
        query = query.where(condition)
    rows = await query.order_by(Advice.id, ascending=False)
    counts = await _item_counts(scope, [row["id"] for row in rows])
    day = today()
    for row in rows:
        total, open_items = counts.get(row["id"], (0, 0))
        row.update(items=total, open_items=open_items,
                   overdue=row["status"] == "submitted" and is_overdue(row["response_due"], day, open_items))
    return rows


async def _item_counts(scope: TenantScope, advice_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not advice_ids:
        return {}
    rows = await scope.select(AdviceItem, AdviceItem.advice, AdviceItem.response_status).where(
        AdviceItem.advice.is_in(advice_ids)
    )
    counts: dict[int, list[int]] = {}
    for row in rows:
        entry = counts.setdefault(row["advice"], [0, 0])
        entry[0] += 1
        entry[1] += row["response_status"] not in ANSWERED_STATUSES
    return {key: (total, open_items) for key, (total, open_items) in counts.items()}


async def advice_page(scope: TenantScope, ctx: RequestContext, advice: Advice, access: AdviceAccess) -> dict:
    items = await items_of(scope, advice.id)
    versions = await versions_of(scope, advice.id)
    names = await display_names(scope, {row["author"] for row in versions})
    adoption = None
    if advice.status == "adopting":
        voters = await eligible_voters(scope, advice)
        votes = await votes_of(scope, advice.id)
        adoption = {"tally": tally_of(voters, votes), "my_vote": votes.get(ctx.user.id),
                    "can_vote": ctx.user.id in voters}
    open_items = sum(item.response_status not in ANSWERED_STATUSES for item in items)
    round_ = await scope.get_or_none(ConsultationRound, advice.round) if advice.round else None
    return {
        "advice": advice,
        "access": access,
        "refusal": await _member_refusal(scope, ctx, advice, access, round_, adoption),
        "items": items,
        "versions": [{**row, "author_name": names.get(row["author"]) or _(FORMER_PARTICIPANT)} for row in versions],
        "adoption": adoption,
        "round": round_,
        "panel": await scope.get_or_none(Panel, advice.panel) if advice.panel else None,
        "overdue": advice.status == "submitted" and is_overdue(advice.response_due, today(), open_items),
        "open_items": open_items,
    }


async def _member_refusal(scope: TenantScope, ctx: RequestContext, advice: Advice, access: AdviceAccess,
                          round_: ConsultationRound | None, adoption: dict | None) -> str | None:
    """Why the member may not write (a draft) or answer (an adoption) now: the page shows it
    instead of those forms."""
    if advice.status == "draft" and access.is_member:
        return await writing_refusal(scope, round_, ctx.user)
    if adoption is not None and access.is_member:
        return await taking_part_refusal(scope, ctx.user)
    return None


# --- an item's whole trail ---------------------------------------------------------------------


async def item_trail(scope: TenantScope, ctx: RequestContext, item: AdviceItem, advice: Advice,
                     access: AdviceAccess) -> dict:
    """advice -> response versions -> decisions -> outcomes -> the panel's reaction, questions
    and the timeline of every change. A fixed number of queries."""
    responses = await response_versions(scope, item.id, published_only=not access.is_officer)
    links = await scope.select(
        DecisionLink, DecisionLink.id, DecisionLink.usage, DecisionLink.decision,
        DecisionLink.decision.title.as_alias("title"), DecisionLink.decision.kind.as_alias("kind"),
        DecisionLink.decision.reference.as_alias("reference"),
        DecisionLink.decision.decided_on.as_alias("decided_on"),
    ).where(DecisionLink.item == item.id).order_by(DecisionLink.id)
    outcomes = await scope.objects(OutcomeUpdate).where(OutcomeUpdate.item == item.id).order_by(
        OutcomeUpdate.created_at, ascending=False).order_by(OutcomeUpdate.id, ascending=False)
    heard = await scope.objects(HeardAnswer).where(HeardAnswer.item == item.id).order_by(HeardAnswer.updated_at)
    questions = await scope.objects(CouncilQuestion).where(CouncilQuestion.item == item.id).order_by(CouncilQuestion.id)
    timeline = await _timeline(scope, item, advice, officer=access.is_officer)
    people = {row.author for row in responses} | {row.author for row in outcomes} | {row.user for row in heard}
    people |= {row.asked_by for row in questions} | {row.answered_by for row in questions}
    people |= {entry["actor"] for entry in timeline}
    names = await display_names(scope, people)
    latest = responses[0] if responses else None
    return {
        "item": item,
        "advice": advice,
        "access": access,
        "responses": responses,
        "latest": latest,
        "draft": latest if latest is not None and latest.published_at is None else None,
        "links": links,
        "outcomes": outcomes,
        "heard": heard,
        "heard_counts": Counter(row.answer for row in heard),
        "my_heard": next((row for row in heard if row.user == ctx.user.id), None),
        "heard_refusal": await taking_part_refusal(scope, ctx.user) if access.is_member and item.responded_at else None,
        "questions": questions,
        "timeline": timeline,
        "names": names,
        "overdue": advice.status == "submitted" and item.response_status not in ANSWERED_STATUSES
        and is_overdue(advice.response_due, today(), 1),
    }


async def _timeline(scope: TenantScope, item: AdviceItem, advice: Advice, *, officer: bool) -> list[dict]:
    """Every state change of the item and its advice, from the audit log (oldest first)."""
    rows = await AuditEntry.select(
        AuditEntry.action, AuditEntry.actor, AuditEntry.created_at
    ).where(
        (AuditEntry.tenant == scope.tenant_id)
        & (((AuditEntry.object_type == "advice_item") & (AuditEntry.object_id == item.id))
           | ((AuditEntry.object_type == "advice") & (AuditEntry.object_id == advice.id)))
    ).order_by(AuditEntry.created_at).order_by(AuditEntry.id)
    return [
        {**row, "label": TIMELINE_LABELS[row["action"]]}
        for row in rows
        if row["action"] in TIMELINE_LABELS and (officer or row["action"] not in OFFICER_ONLY_ACTIONS)
    ]


# --- the council's adoption overview ----------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart, drawn as inline SVG by ``advice/_chart.html``."""

    id: str
    title: str
    description: str
    bars: list[Bar]
    maximum: float

    def width(self, bar: Bar, full: int = 300) -> int:
        return round(full * bar.value / self.maximum) if self.maximum else 0


def _share(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _group_row(label: str, statuses: Counter) -> dict:
    total = sum(statuses.values())
    taken_up = statuses["adopted"] + statuses["partly_adopted"]
    answered = sum(statuses[status] for status in ANSWERED_STATUSES)
    return {"label": label, "total": total, "statuses": statuses, "answered": answered,
            "taken_up": taken_up, "share": _share(taken_up, answered)}


async def cycle_overview(scope: TenantScope, cycle: PolicyCycle) -> dict:
    """Counts and shares per response status, per stage and per panel type, response times and
    overdue items of the cycle's submitted advice. Two queries, whatever the number of items."""
    stages = await scope.select(Stage, Stage.id, Stage.name, Stage.position).where(
        Stage.cycle == cycle.id).order_by(Stage.position)
    rows = await scope.select(
        AdviceItem, AdviceItem.id, AdviceItem.title, AdviceItem.response_status, AdviceItem.responded_at,
        AdviceItem.advice.as_alias("advice_id"), AdviceItem.advice.title.as_alias("advice_title"),
        AdviceItem.advice.submitted_at.as_alias("submitted_at"),
        AdviceItem.advice.response_due.as_alias("response_due"),
        AdviceItem.advice.stage.as_alias("stage_id"), AdviceItem.advice.panel.kind.as_alias("panel_kind"),
    ).where(
        AdviceItem.advice.stage.is_in(scope.select(Stage, Stage.id).where(Stage.cycle == cycle.id))
        & (AdviceItem.advice.status == "submitted")
    ).order_by(AdviceItem.id)
    day = today()
    by_status = Counter(row["response_status"] for row in rows)
    by_stage: dict[int, Counter] = {stage["id"]: Counter() for stage in stages}
    by_kind: dict[str, Counter] = {kind: Counter() for kind in PANEL_KIND_ORDER}
    days: list[int] = []
    overdue = []
    for row in rows:
        by_stage.setdefault(row["stage_id"], Counter())[row["response_status"]] += 1
        by_kind[row["panel_kind"] or "joint"][row["response_status"]] += 1
        if row["responded_at"] and row["submitted_at"]:
            days.append(max(0, (row["responded_at"] - row["submitted_at"]).days))
        elif row["response_status"] not in ANSWERED_STATUSES and is_overdue(row["response_due"], day, 1):
            overdue.append(row)
    total = len(rows)
    stage_rows = [_group_row(stage["name"], by_stage[stage["id"]]) for stage in stages]
    kind_rows = [_group_row(_(PANEL_KIND_NAMES[kind]), by_kind[kind]) for kind in PANEL_KIND_ORDER]
    status_rows = [{"status": status, "count": by_status[status], "share": _share(by_status[status], total)}
                   for status in RESPONSE_STATUSES]
    charts = [
        Chart("chart-status", _("Advice items per response status"),
              _("Number of advice items of this cycle per response status."),
              [Bar(_(RESPONSE_STATUS_LABELS[row["status"]]), row["count"], f"{row['count']} ({row['share']}%)")
               for row in status_rows], max([row["count"] for row in status_rows] + [1])),
        Chart("chart-stage", _("Share adopted per stage"),
              _("Per stage: the share of answered advice items that were adopted fully or partly."),
              [Bar(row["label"], row["share"], f"{row['share']}%") for row in stage_rows], 100),
        Chart("chart-kind", _("Share adopted per panel type"),
              _("Per panel type (parents against young people): the share of answered advice items that were adopted fully or partly."),
              [Bar(row["label"], row["share"], f"{row['share']}%") for row in kind_rows], 100),
    ]
    return {
        "cycle": cycle,
        "total": total,
        "status_rows": status_rows,
        "stage_rows": stage_rows,
        "kind_rows": kind_rows,
        "charts": charts,
        "response_days": {
            "count": len(days),
            "average": round(statistics.fmean(days), 1) if days else None,
            "median": statistics.median(days) if days else None,
            "longest": max(days) if days else None,
        },
        "overdue": overdue,
    }


# --- the public advice ledger --------------------------------------------------------------------------


ANONYMOUS_PANEL = N_("Anonymous panel of experts by experience")


async def ledger_attribution(scope: TenantScope, advice_rounds: dict[int, int | None]) -> dict[int, str]:
    """Per advice (id -> round id), the names under which it is shown in the public ledger.

    Advice is co-written: its contributors are the authors of its versions, each named as their
    ownership agreement for the round allows (name, pseudonym, panel name or anonymous). Those
    who may not be published (no consent to publication; under 16 without a guardian's consent)
    are left out. Unsolicited advice has no round, so no agreement: anonymous. Seven queries,
    however many advice documents.
    """
    solicited = [advice_id for advice_id, round_id in advice_rounds.items() if round_id]
    writers: dict[int, list[int]] = {}
    for row in await scope.select(AdviceVersion, AdviceVersion.advice, AdviceVersion.author).where(
        AdviceVersion.advice.is_in(solicited or [0]) & AdviceVersion.author.is_not_null()
    ).order_by(AdviceVersion.number):
        authors = writers.setdefault(row["advice"], [])
        if row["author"] not in authors:
            authors.append(row["author"])
    publishable = await may_publish(scope, {author for authors in writers.values() for author in authors})
    names = await public_attributions(scope, {(advice_rounds[advice_id], author) for advice_id, authors in writers.items()
                                              for author in authors if author in publishable})
    result = {}
    for advice_id, round_id in advice_rounds.items():
        shown = [names[(round_id, author)] for author in writers.get(advice_id, []) if author in publishable]
        result[advice_id] = ", ".join(dict.fromkeys(shown)) or _(ANONYMOUS_PANEL)
    return result


async def ledger(scope: TenantScope) -> list[dict]:
    """Advice items with a published response (not withdrawn from the portal), with that response,
    the decisions that used them and their attribution. Ten queries."""
    items = await scope.select(
        AdviceItem, AdviceItem.id, AdviceItem.title, AdviceItem.recommendation, AdviceItem.rationale,
        AdviceItem.response_status, AdviceItem.responded_at,
        AdviceItem.advice.title.as_alias("advice_title"), AdviceItem.advice.submitted_at.as_alias("submitted_at"),
        AdviceItem.advice.panel.as_alias("panel_id"), AdviceItem.advice.as_alias("advice_id"),
        AdviceItem.advice.round.as_alias("round_id"),
    ).where((AdviceItem.advice.status == "submitted") & AdviceItem.responded_at.is_not_null()
            & AdviceItem.advice.withdrawn_at.is_null()).order_by(
        AdviceItem.responded_at, ascending=False)
    ids = [row["id"] for row in items]
    responses: dict[int, dict] = {}
    links: dict[int, list[dict]] = {}
    if ids:
        for row in await scope.select(
            ResponseVersion, ResponseVersion.item, ResponseVersion.status, ResponseVersion.reasoning,
            ResponseVersion.published_at,
        ).where(ResponseVersion.item.is_in(ids) & ResponseVersion.published_at.is_not_null()).order_by(
            ResponseVersion.number
        ):
            responses[row["item"]] = row  # the latest published version wins
        for row in await scope.select(
            DecisionLink, DecisionLink.item, DecisionLink.usage, DecisionLink.decision.title.as_alias("title"),
            DecisionLink.decision.kind.as_alias("kind"), DecisionLink.decision.reference.as_alias("reference"),
            DecisionLink.decision.decided_on.as_alias("decided_on"), DecisionLink.decision.url.as_alias("url"),
        ).where(DecisionLink.item.is_in(ids)).order_by(DecisionLink.id):
            links.setdefault(row["item"], []).append(row)
    attributions = await ledger_attribution(scope, {row["advice_id"]: row["round_id"] for row in items})
    return [{**row, "attribution": attributions[row["advice_id"]], "response": responses.get(row["id"]),
             "decisions": links.get(row["id"], [])} for row in items]


async def decision_page(scope: TenantScope, ctx: RequestContext, decision: Decision) -> dict:
    """A decision with the advice items it used that this person may read (one query)."""
    links = await scope.select(
        DecisionLink, DecisionLink.id, DecisionLink.usage, DecisionLink.item,
        DecisionLink.item.title.as_alias("item_title"), DecisionLink.item.response_status.as_alias("status"),
        DecisionLink.item.advice.title.as_alias("advice_title"),
    ).where((DecisionLink.decision == decision.id) & DecisionLink.item.advice.is_in(readable_advice(scope, ctx))
            ).order_by(DecisionLink.id)
    return {"decision": decision, "links": links}


async def advice_to_handle(scope: TenantScope, ctx: RequestContext) -> dict:
    """For the start page: advice waiting for this person. Panel members: drafts of their panels
    and adoptions still waiting for their answer; officers: submitted advice with items that lack
    a response, overdue first. Three queries at most."""
    rows = await advice_list(scope, ctx)
    section: dict = {"drafts": [], "to_confirm": [], "to_answer": []}
    if ctx.has_role(PANEL_MEMBER):
        adopting = [row["id"] for row in rows if row["status"] == "adopting"]
        answered = set()
        if adopting:
            answered = {row["advice"] for row in await scope.select(AdoptionVote, AdoptionVote.advice).where(
                AdoptionVote.advice.is_in(adopting) & (AdoptionVote.user == ctx.user.id))}
        section["drafts"] = [row for row in rows if row["status"] == "draft"]
        section["to_confirm"] = [row for row in rows if row["status"] == "adopting" and row["id"] not in answered]
    if can_manage_rounds(ctx):
        waiting = [row for row in rows if row["status"] == "submitted" and row["open_items"]]
        section["to_answer"] = sorted(waiting, key=lambda row: (not row["overdue"], row["response_due"] or date.max))
    return section
