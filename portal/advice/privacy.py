"""What the advice trail adds to privacy self-service and retention (``portal/privacy/registry.py``).

* Download my data: the person's advice versions, adoption votes, "feel heard" answers and
  council questions.
* Erase me: nothing in the advice tables names the person any more; the texts they co-wrote stay,
  their versions shown as a former participant's (as posts are); their votes and answers go.
* Withdraw a contribution (an advice document the person helped write): before submission, a
  draft only they wrote is removed; one co-written keeps the others' work without their name.
  After submission their name goes and the advice is taken off the portal (the public ledger);
  the municipality keeps it in its own records.
* Retention: the same anonymisation for the advice of expired rounds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from portal.accounts.tables import User
from portal.advice.rules import HEARD_LABELS, VOTE_LABELS, document_lines, items_from_json
from portal.advice.tables import (
    AdoptionVote,
    Advice,
    AdviceVersion,
    CouncilQuestion,
    Decision,
    DecisionLink,
    HeardAnswer,
    OutcomeUpdate,
    ResponseVersion,
)
from portal.core.i18n import N_, _
from portal.core.tenancy import TenantScope
from portal.privacy.readable import Part, label, record, when
from portal.privacy.registry import (
    CONTRIBUTIONS,
    ERASURE_STEPS,
    EXPORT_SECTIONS,
    Contributions,
    ExportSection,
)
from portal.privacy.retention import RETENTION_STEPS

# Columns that only record which staff member or member did something: emptied on erasure.
ACTOR_COLUMNS = (
    Advice.created_by, Advice.owner, AdviceVersion.author, ResponseVersion.author, ResponseVersion.published_by,
    Decision.created_by, DecisionLink.created_by, OutcomeUpdate.author, CouncilQuestion.asked_by,
    CouncilQuestion.answered_by,
)


async def _export(scope: TenantScope, user: User) -> dict:
    versions = await scope.select(
        AdviceVersion, AdviceVersion.advice.title.as_alias("advice"), AdviceVersion.number, AdviceVersion.title,
        AdviceVersion.items, AdviceVersion.created_at,
    ).where(AdviceVersion.author == user.id).order_by(AdviceVersion.id)
    votes = await scope.select(
        AdoptionVote, AdoptionVote.advice.title.as_alias("advice"), AdoptionVote.choice, AdoptionVote.created_at,
    ).where(AdoptionVote.user == user.id).order_by(AdoptionVote.id)
    heard = await scope.select(
        HeardAnswer, HeardAnswer.item.title.as_alias("advice_item"), HeardAnswer.answer, HeardAnswer.comment,
        HeardAnswer.updated_at,
    ).where(HeardAnswer.user == user.id).order_by(HeardAnswer.id)
    questions = await scope.select(
        CouncilQuestion, CouncilQuestion.item.title.as_alias("advice_item"), CouncilQuestion.question,
        CouncilQuestion.asked_at, CouncilQuestion.answer, CouncilQuestion.answered_at,
    ).where(CouncilQuestion.asked_by == user.id).order_by(CouncilQuestion.id)
    return {"advice_versions": versions, "adoption_votes": votes, "feel_heard": heard, "council_questions": questions}


def _version_text(items_json: str) -> str:
    """The items of a version as the advice reads: numbered, recommendation and rationale."""
    return "\n".join(document_lines("", items_from_json(items_json))).strip()


def _present(data: dict) -> list[Part]:
    versions = [record(
        _("%(advice)s, version %(number)s", advice=row["advice"], number=row["number"]),
        (_("Title"), row["title"]), (_("Saved on"), when(row["created_at"])), (_("Text"), _version_text(row["items"])),
    ) for row in data["advice_versions"]]
    votes = [record(row["advice"], (_("Your answer"), label(VOTE_LABELS, row["choice"])),
                    (_("Answered on"), when(row["created_at"]))) for row in data["adoption_votes"]]
    heard = [record(row["advice_item"], (_("Your answer"), label(HEARD_LABELS, row["answer"])),
                    (_("Your explanation"), row["comment"]), (_("Answered on"), when(row["updated_at"])))
             for row in data["feel_heard"]]
    questions = [record(
        row["advice_item"], (_("Question"), row["question"]), (_("Asked on"), when(row["asked_at"])),
        (_("Answer"), row["answer"] or _("not answered yet")), (_("Answered on"), when(row["answered_at"])),
    ) for row in data["council_questions"]]
    return [
        Part(_("Advice you helped write"), _("Every version of advice that you saved. A panel writes advice "
                                             "together, so others may have changed it after you."), versions),
        Part(_("Your votes on advice"), _("What you answered when your panel adopted advice."), votes),
        Part(_("Do you feel heard?"), _("What you said about the municipality's response to advice."), heard),
        Part(_("Your questions about advice"), _("The questions you asked as a council member, and the answers."),
             questions),
    ]


async def _forget_person(scope: TenantScope, user: User) -> None:
    """Explicitly, not by the foreign keys' rules: the same on SQLite and PostgreSQL, and the
    advice stays whole for the other writers and the municipality."""
    for column in ACTOR_COLUMNS:
        await scope.update(column._meta.table, {column: None}).where(column == user.id)
    await scope.delete(AdoptionVote).where(AdoptionVote.user == user.id)
    await scope.delete(HeardAnswer).where(HeardAnswer.user == user.id)


async def _retention(scope: TenantScope, round_ids: list[int]) -> None:
    advice = scope.select(Advice, Advice.id).where(Advice.round.is_in(round_ids))
    await scope.update(AdviceVersion, {AdviceVersion.author: None}).where(AdviceVersion.advice.is_in(advice))
    await scope.update(Advice, {Advice.created_by: None}).where(Advice.round.is_in(round_ids))
    await scope.delete(AdoptionVote).where(AdoptionVote.advice.is_in(advice))
    await scope.delete(HeardAnswer).where(HeardAnswer.item.advice.is_in(advice))


def _written_by(scope: TenantScope, user_id: int):
    return scope.select(AdviceVersion, AdviceVersion.advice).where(AdviceVersion.author == user_id)


async def _own_advice(scope: TenantScope, user: User) -> list[dict]:
    rows = await scope.select(Advice, Advice.id, Advice.title, Advice.created_at, Advice.status).where(
        Advice.id.is_in(_written_by(scope, user.id))).order_by(Advice.id)
    return [{"id": row["id"], "title": row["title"], "created_at": row["created_at"],
             "published": row["status"] == "submitted"} for row in rows]


async def _withdraw_advice(scope: TenantScope, user: User, advice_id: int) -> None:
    advice = await scope.get_or_none(Advice, advice_id)
    mine = (AdviceVersion.advice == advice_id) & (AdviceVersion.author == user.id)
    if advice is None or not await scope.exists(AdviceVersion).where(mine):
        raise LookupError(advice_id)
    others = await scope.exists(AdviceVersion).where(
        (AdviceVersion.advice == advice_id) & ((AdviceVersion.author != user.id) | AdviceVersion.author.is_null()))
    if advice.status != "submitted" and not others:
        await scope.delete(Advice).where(Advice.id == advice_id)
        return
    await scope.update(AdviceVersion, {AdviceVersion.author: None}).where(mine)
    await scope.update(Advice, {Advice.created_by: None}).where((Advice.id == advice_id) & (Advice.created_by == user.id))
    if advice.status == "submitted":
        await scope.update(Advice, {Advice.withdrawn_at: datetime.now(UTC)}).where(Advice.id == advice_id)


EXPORT_SECTIONS["advice"] = ExportSection(_export, _present)
ERASURE_STEPS.append(_forget_person)
RETENTION_STEPS.append(_retention)
CONTRIBUTIONS["advice"] = Contributions(_own_advice, _withdraw_advice, N_("Advice you helped write"))
