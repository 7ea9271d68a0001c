"""What was done with advice: decisions (with links to the items they used), implementation
updates, the panel's "do you feel heard?" and council members' questions."""

from __future__ import annotations

import re
from pathlib import Path

from portal.accounts.tables import User
from portal.advice.documents import TEXT_MAX, TITLE_MAX, AdviceError, taking_part_refusal
from portal.advice.rules import DECISION_KINDS, HEARD_ANSWERS
from portal.advice.tables import (
    Advice,
    AdviceItem,
    CouncilQuestion,
    Decision,
    DecisionLink,
    HeardAnswer,
    OutcomeUpdate,
)
from portal.core import audit
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import _
from portal.core.tenancy import TenantScope
from portal.cycles.tables import PolicyCycle
from portal.rounds import documents as files
from portal.rounds.service import _is_unique_violation, now, today

URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _id_field(form: Form, name: str) -> int | None:
    raw = form.raw(name).strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


# --- decisions ----------------------------------------------------------------------------------


async def parse_decision_form(scope: TenantScope, form: Form) -> dict:
    values = {
        "kind": form.choice("kind", _("Kind of decision"), DECISION_KINDS),
        "title": form.text("title", _("Title"), max_length=TITLE_MAX),
        "reference": form.text("reference", _("Reference"), required=False, max_length=100),
        "decided_on": form.date("decided_on", _("Date of the decision"), required=True),
        "url": form.text("url", _("Link"), required=False, max_length=500),
        "cycle": None,
    }
    if values["decided_on"] and values["decided_on"] > today():
        form.add_error("decided_on", _("A decision cannot be dated in the future."))
    if values["url"] and not URL_PATTERN.match(values["url"]):
        form.add_error("url", _("Enter a web address that starts with https://."))
    cycle_id = _id_field(form, "cycle")
    if form.raw("cycle").strip():
        cycle = await scope.get_or_none(PolicyCycle, cycle_id) if cycle_id else None
        if cycle is None:
            form.add_error("cycle", _("Choose a policy cycle from the list."))
        else:
            values["cycle"] = cycle.id
    return values


async def create_decision(
    scope: TenantScope, values: dict, upload: tuple[str, bytes] | None, upload_dir: Path, actor: User
) -> Decision:
    stored = {}
    if upload is not None:
        try:
            name, content_type = files.check_document(*upload)
        except files.DocumentError as error:
            raise AdviceError(str(error), field="document") from error
        stored = {"filename": name, "content_type": content_type, "size": len(upload[1]),
                  "storage_name": files.store(upload_dir, scope.tenant_id, upload[1])}
    decision = scope.new(Decision, created_by=actor.id, **values, **stored)
    try:
        async with engine().transaction():
            await decision.save()
            await audit.record_in(scope, "decision.created", "decision", decision.id, actor,
                                  after={**values, "filename": stored.get("filename", "")})
    except BaseException:
        if stored:
            files.discard(upload_dir, scope.tenant_id, stored["storage_name"])
        raise
    return decision


async def decisions_for_select(scope: TenantScope) -> list[dict]:
    return await scope.select(Decision, Decision.id, Decision.title, Decision.reference, Decision.decided_on).order_by(
        Decision.decided_on, ascending=False
    ).order_by(Decision.id, ascending=False)


def decision_path(upload_dir: Path, scope: TenantScope, decision: Decision) -> Path | None:
    if not decision.storage_name:
        return None
    return files.storage_path(upload_dir, scope.tenant_id, decision.storage_name)


# --- links between items and decisions ------------------------------------------------------------


def _refuse_unless_submitted(advice: Advice) -> None:
    if advice.status != "submitted":
        raise AdviceError(_("This advice has not been submitted yet."))


async def link_decision(
    scope: TenantScope, advice: Advice, item: AdviceItem, form: Form, actor: User
) -> DecisionLink | None:
    """Link the item to the decision chosen in the form; problems go to ``form.errors``."""
    decision_id = _id_field(form, "decision")
    usage = form.text("usage", _("How the advice was used"), max_length=TEXT_MAX)
    # Another tenant's decision does not exist here: the same message as no choice at all.
    decision = await scope.get_or_none(Decision, decision_id) if decision_id else None
    if decision is None:
        form.add_error("decision", _("Choose a decision from the list."))
    if not form.is_valid:
        return None
    _refuse_unless_submitted(advice)
    if await scope.exists(DecisionLink).where((DecisionLink.decision == decision.id) & (DecisionLink.item == item.id)):
        form.add_error("decision", _("This item is already linked to %(title)s.", title=decision.title))
        return None
    link = scope.new(DecisionLink, decision=decision.id, item=item.id, usage=usage, created_by=actor.id)
    try:
        async with engine().transaction():
            await link.save()
            await audit.record_in(scope, "advice_item.decision_linked", "advice_item", item.id, actor,
                                  after={"decision": decision.id, "title": decision.title, "usage": usage})
    except Exception as error:
        if not _is_unique_violation(error):
            raise
        form.add_error("decision", _("This item is already linked to %(title)s.", title=decision.title))
        return None
    return link


async def unlink_decision(scope: TenantScope, link: DecisionLink, actor: User) -> None:
    async with engine().transaction():
        await scope.delete(DecisionLink).where(DecisionLink.id == link.id)
        await audit.record_in(scope, "advice_item.decision_unlinked", "advice_item", link.item, actor,
                              before={"decision": link.decision, "usage": link.usage})


# --- outcomes --------------------------------------------------------------------------------------


def parse_outcome_form(form: Form) -> tuple[int | None, str]:
    progress = form.decimal("progress", _("Progress in percent"), minimum=0, maximum=100)
    body = form.text("body", _("What has been done"), max_length=TEXT_MAX)
    return (int(progress) if progress is not None else None), body


async def add_outcome(scope: TenantScope, advice: Advice, item: AdviceItem, progress: int, body: str,
                      actor: User) -> OutcomeUpdate:
    _refuse_unless_submitted(advice)
    update = scope.new(OutcomeUpdate, item=item.id, progress=progress, body=body, author=actor.id)
    async with engine().transaction():
        await update.save()
        await audit.record_in(scope, "advice_item.outcome_added", "advice_item", item.id, actor,
                              after={"progress": progress})
    return update


# --- do you feel heard? ---------------------------------------------------------------------------


def parse_heard_form(form: Form) -> tuple[str, str]:
    answer = form.choice("answer", _("Do you feel heard?"), HEARD_ANSWERS)
    comment = form.text("comment", _("Comment"), required=False, max_length=TEXT_MAX)
    return answer, comment


async def answer_heard(scope: TenantScope, item: AdviceItem, is_member: bool, answer: str, comment: str,
                       actor: User) -> None:
    if not is_member:
        raise AdviceError(_("Only members of the panel that gave this advice can answer this."))
    if item.response_status == "pending" and item.responded_at is None:
        raise AdviceError(_("There is no published response to react to yet."))
    if refusal := await taking_part_refusal(scope, actor):
        raise AdviceError(refusal)
    existing = await scope.objects(HeardAnswer).where((HeardAnswer.item == item.id) & (HeardAnswer.user == actor.id)).first()
    async with engine().transaction():
        if existing is None:
            await scope.new(HeardAnswer, item=item.id, user=actor.id, answer=answer, comment=comment).save()
        else:
            await scope.update(HeardAnswer, {HeardAnswer.answer: answer, HeardAnswer.comment: comment,
                                             HeardAnswer.updated_at: now()}).where(HeardAnswer.id == existing.id)
        await audit.record_in(scope, "advice_item.heard", "advice_item", item.id, actor,
                              before={"answer": existing.answer} if existing else None, after={"answer": answer})


# --- council questions ------------------------------------------------------------------------------


async def ask_question(scope: TenantScope, item: AdviceItem, text: str, actor: User) -> CouncilQuestion:
    question = scope.new(CouncilQuestion, item=item.id, asked_by=actor.id, question=text)
    async with engine().transaction():
        await question.save()
        await audit.record_in(scope, "advice_item.question_asked", "advice_item", item.id, actor,
                              after={"question": question.id})
    return question


async def answer_question(scope: TenantScope, question: CouncilQuestion, text: str, actor: User) -> None:
    async with engine().transaction():
        await scope.update(CouncilQuestion, {CouncilQuestion.answer: text, CouncilQuestion.answered_by: actor.id,
                                             CouncilQuestion.answered_at: now()}).where(CouncilQuestion.id == question.id)
        await audit.record_in(scope, "advice_item.question_answered", "advice_item", question.item, actor,
                              before={"answer": question.answer} if question.answer else None,
                              after={"question": question.id})
    question.answer = text
