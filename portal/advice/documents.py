"""Advice documents: writing them together (every save a version), and adoption by the panel.

A panel member starts advice for a round (for their own panel, or jointly for every invited
panel) or unsolicited (for their panel, optionally in a stage). Every save stores the whole
document as an ``AdviceVersion`` with its author; two members saving the same version at once:
the second gets a conflict with their text kept. Adoption asks every active member to confirm;
the tenant's confirmation rule (majority or all) decides; members may abstain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portal.accounts.tables import User
from portal.advice.access import AdviceAccess, advice_panel_ids
from portal.advice.rules import (
    ADVICE_TRANSITIONS,
    MAX_ITEMS,
    VOTE_CHOICES,
    DiffLine,
    Tally,
    adoption_outcome,
    differences,
    document_lines,
    items_from_json,
    response_due,
)
from portal.advice.tables import AdoptionVote, Advice, AdviceItem, AdviceVersion
from portal.core import audit
from portal.core.context import RequestContext
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.hooks import first_reason
from portal.core.i18n import _
from portal.core.states import check_transition
from portal.core.tenancy import TenantScope
from portal.cycles.tables import PolicyCycle, Stage
from portal.deliberation.access import Access
from portal.deliberation.service import POSTING_CHECKS
from portal.panels.service import active_members_of_panels
from portal.panels.tables import PanelMembership
from portal.rounds.service import now, recipients_of, today
from portal.rounds.tables import ConsultationRound, RoundPanel
from portal.tenants.settings import tenant_setting

TITLE_MAX = 200
TEXT_MAX = 10_000


class AdviceError(Exception):
    """A rule was broken; the message is for the user, ``field`` the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AdviceConflict(AdviceError):
    """Someone else saved first: the form is shown again with the person's own text kept."""


def _snapshot(advice: Advice) -> dict:
    return {"title": advice.title, "status": advice.status, "version": advice.version}


# --- the document form ---------------------------------------------------------------------


@dataclass
class DocumentValues:
    title: str
    items: list[dict]
    version: int


def _int_field(form: Form, name: str, default: int = 0, maximum: int = 2**31 - 1) -> int:
    raw = form.raw(name).strip()
    return int(raw) if raw.isdigit() and int(raw) <= maximum else default


def parse_document_form(form: Form) -> DocumentValues:
    """The title and the items of the submitted document; problems go to ``form.errors``.

    The form has ``item_count`` numbered item blocks (the existing items and one empty block to
    add an item). A block left entirely empty is not an item: that is how an item is removed.
    """
    title = form.text("title", _("Title of the advice"), max_length=TITLE_MAX)
    count = _int_field(form, "item_count", maximum=MAX_ITEMS + 1)
    items = []
    for number in range(1, count + 1):
        prefix = f"item-{number}-"
        raw = {name: form.raw(prefix + name).strip() for name in ("title", "recommendation", "rationale")}
        if not any(raw.values()):
            continue
        items.append({
            "title": form.text(prefix + "title", _("Title of item %(number)s", number=number), max_length=TITLE_MAX),
            "recommendation": form.text(prefix + "recommendation",
                                        _("Recommendation of item %(number)s", number=number), max_length=TEXT_MAX),
            "rationale": form.text(prefix + "rationale", _("Rationale of item %(number)s", number=number),
                                   required=False, max_length=TEXT_MAX),
        })
    if len(items) > MAX_ITEMS:
        form.add_error("item_count", _("An advice can have at most %(max)s items.", max=MAX_ITEMS))
    form.values["item_count"] = str(count)
    return DocumentValues(title=title, items=items, version=_int_field(form, "version"))


def document_form(advice: Advice, items: list[AdviceItem]) -> Form:
    """The form filled with the current document, and one empty block to add an item."""
    form = Form()
    form.values.update({"title": advice.title, "version": str(advice.version),
                        "item_count": str(len(items) + 1)})
    for number, item in enumerate(items, start=1):
        for name in ("title", "recommendation", "rationale"):
            form.values[f"item-{number}-{name}"] = getattr(item, name)
    return form


# --- starting advice -------------------------------------------------------------------------


async def _member_panel_ids(scope: TenantScope, user_id: int) -> set[int]:
    rows = await scope.select(PanelMembership, PanelMembership.panel).where(
        (PanelMembership.user == user_id) & (PanelMembership.status == "active")
    )
    return {row["panel"] for row in rows}


async def panel_choices(scope: TenantScope, ctx: RequestContext, round_: ConsultationRound | None) -> list[dict]:
    """The panels this person may write advice for: their own active panels, for a round only
    those invited to it."""
    from portal.panels.tables import Panel

    own = await _member_panel_ids(scope, ctx.user.id)
    if round_ is not None:
        invited = {row["panel"] for row in await scope.select(RoundPanel, RoundPanel.panel).where(
            RoundPanel.round == round_.id)}
        own &= invited
    if not own:
        return []
    return await scope.select(Panel, Panel.id, Panel.name, Panel.kind).where(Panel.id.is_in(list(own))).order_by(Panel.name)


async def open_stages(scope: TenantScope) -> list[dict]:
    """Open stages, for unsolicited advice (advice about a stage of a policy cycle)."""
    return await scope.select(
        Stage, Stage.id, Stage.name, Stage.cycle.title.as_alias("cycle_title")
    ).where(Stage.status == "open").order_by(Stage.cycle).order_by(Stage.position)


async def writing_refusal(scope: TenantScope, round_: ConsultationRound | None, author: User) -> str | None:
    """Why this member may not write advice for the round, or None. Writing advice is a
    contribution like a post, so the deliberation's ``POSTING_CHECKS`` decide (agreements: both
    accepted). Voting on adoption is not a contribution: not checked. Unsolicited advice has no
    round, so no agreements to accept."""
    if round_ is None:
        return None
    as_poster = Access(can_read=True, can_post=True, is_member=True, round=round_, user_id=author.id)
    return await first_reason(POSTING_CHECKS, scope, as_poster, author)


async def create_advice(
    scope: TenantScope, ctx: RequestContext, *, title: str, round_: ConsultationRound | None,
    panel_choice: str, stage_id: int | None,
) -> Advice:
    """Start a draft. ``panel_choice`` is a panel id, or "joint" for every invited panel."""
    actor = ctx.user
    allowed = {str(row["id"]) for row in await panel_choices(scope, ctx, round_)}
    if round_ is not None and round_.status != "sent":
        raise AdviceError(_("Advice can only be written while the round is open."))
    if refusal := await writing_refusal(scope, round_, actor):
        raise AdviceError(refusal)
    if panel_choice == "joint" and round_ is not None and allowed:
        panel_id = None
    elif panel_choice in allowed:
        panel_id = int(panel_choice)
    else:
        raise AdviceError(_("Choose one of your panels."), field="panel")
    if round_ is not None:
        stage_id = round_.stage
    elif stage_id is not None:
        stage = await scope.get_or_none(Stage, stage_id)
        if stage is None or stage.status != "open":
            raise AdviceError(_("Choose an open stage from the list."), field="stage")
    advice = scope.new(Advice, round=round_.id if round_ else None, panel=panel_id, stage=stage_id,
                       title=title, status="draft", version=1, created_by=actor.id)
    async with engine().transaction():
        await advice.save()
        await scope.new(AdviceVersion, advice=advice.id, number=1, title=title, items="[]",
                        author=actor.id).save()
        await audit.record_in(scope, "advice.created", "advice", advice.id, actor,
                              after={**_snapshot(advice), "round": advice.round, "panel": panel_id})
    return advice


# --- saving -----------------------------------------------------------------------------------


async def items_of(scope: TenantScope, advice_id: int) -> list[AdviceItem]:
    return await scope.objects(AdviceItem).where(AdviceItem.advice == advice_id).order_by(AdviceItem.position)


async def save_document(
    scope: TenantScope, advice: Advice, values: DocumentValues, access: AdviceAccess, actor: User
) -> AdviceVersion:
    """A new version of the document. Refused unless the person is a member and the advice a
    draft; ``AdviceConflict`` when someone saved another version since the form was opened."""
    if not access.is_member:
        raise AdviceError(_("Only members of the panel can change its advice."))
    if advice.status != "draft":
        raise AdviceError(_("This advice can no longer be changed: the panel is adopting it or has submitted it."))
    round_ = await scope.get_or_none(ConsultationRound, advice.round) if advice.round else None
    if refusal := await writing_refusal(scope, round_, actor):
        raise AdviceError(refusal)
    number = values.version + 1
    async with engine().transaction():
        changed = await scope.update(Advice, {Advice.version: number, Advice.title: values.title}).where(
            (Advice.id == advice.id) & (Advice.version == values.version) & (Advice.status == "draft")
        ).returning(Advice.id)
        if not changed:
            raise AdviceConflict(_(
                "Someone else saved this advice while you were writing. Your text is still below: "
                "compare it with the latest version, then save again."
            ))
        await scope.delete(AdviceItem).where(AdviceItem.advice == advice.id)
        for position, item in enumerate(values.items, start=1):
            await scope.new(AdviceItem, advice=advice.id, position=position, **item).save()
        version = scope.new(AdviceVersion, advice=advice.id, number=number, title=values.title,
                            items=json.dumps(values.items, ensure_ascii=False), author=actor.id)
        await version.save()
        await audit.record_in(scope, "advice.saved", "advice", advice.id, actor,
                              before=_snapshot(advice), after={"title": values.title, "version": number,
                                                               "items": len(values.items)})
    advice.title, advice.version = values.title, number
    return version


# --- versions ---------------------------------------------------------------------------------


async def versions_of(scope: TenantScope, advice_id: int) -> list[dict]:
    return await scope.select(
        AdviceVersion, AdviceVersion.id, AdviceVersion.number, AdviceVersion.author,
        AdviceVersion.created_at,
    ).where(AdviceVersion.advice == advice_id).order_by(AdviceVersion.number, ascending=False)


def version_items(version: AdviceVersion) -> list[dict]:
    return items_from_json(version.items)


async def version_changes(scope: TenantScope, version: AdviceVersion) -> tuple[AdviceVersion | None, list[DiffLine]]:
    """The version before this one, and what changed since it (everything is new in the first)."""
    previous = await scope.objects(AdviceVersion).where(
        (AdviceVersion.advice == version.advice) & (AdviceVersion.number < version.number)
    ).order_by(AdviceVersion.number, ascending=False).first()
    before = document_lines(previous.title, version_items(previous)) if previous else []
    return previous, differences(before, document_lines(version.title, version_items(version)))


# --- adoption ---------------------------------------------------------------------------------


async def eligible_voters(scope: TenantScope, advice: Advice) -> dict[int, str]:
    """Every active member of the advice's panels: {user id: name shown}."""
    members = await active_members_of_panels(scope, await advice_panel_ids(scope, advice))
    voters: dict[int, str] = {}
    for member in members:
        voters.setdefault(member["user_id"], member["display_name"])
    return voters


async def votes_of(scope: TenantScope, advice_id: int) -> dict[int, str]:
    rows = await scope.select(AdoptionVote, AdoptionVote.user, AdoptionVote.choice).where(
        AdoptionVote.advice == advice_id
    )
    return {row["user"]: row["choice"] for row in rows}


def tally_of(voters: dict[int, str], votes: dict[int, str]) -> Tally:
    """Only the votes of members who are eligible now count."""
    counted = [choice for user_id, choice in votes.items() if user_id in voters]
    return Tally(eligible=len(voters), confirm=counted.count("confirm"),
                 abstain=counted.count("abstain"), object=counted.count("object"))


async def _set_status(scope: TenantScope, advice: Advice, target: str, values: dict, actor: User | None,
                      action: str, detail: dict | None = None) -> None:
    """Change the status (checked against the state machine) in the caller's transaction."""
    check_transition(ADVICE_TRANSITIONS, advice.status, target)
    changed = await scope.update(Advice, {Advice.status: target, **values}).where(
        (Advice.id == advice.id) & (Advice.status == advice.status)
    ).returning(Advice.id)
    if not changed:
        raise AdviceError(_("Someone else changed this advice just now. Look again and retry."))
    before = advice.status
    advice.status = target
    await audit.record_in(scope, action, "advice", advice.id, actor,
                          before={"status": before}, after={"status": target, **(detail or {})})


async def start_adoption(scope: TenantScope, advice: Advice, access: AdviceAccess, actor: User) -> list[dict]:
    """draft -> adopting; returns the members to ask by email (after the commit)."""
    if not access.is_member:
        raise AdviceError(_("Only members of the panel can ask the panel to adopt its advice."))
    check_transition(ADVICE_TRANSITIONS, advice.status, "adopting")
    if not await scope.exists(AdviceItem).where(AdviceItem.advice == advice.id):
        raise AdviceError(_("Add at least one advice item before the panel adopts the advice."))
    started = now()
    async with engine().transaction():
        await scope.delete(AdoptionVote).where(AdoptionVote.advice == advice.id)
        await _set_status(scope, advice, "adopting", {Advice.adoption_started_at: started}, actor,
                          "advice.adoption_started", {"version": advice.version})
    advice.adoption_started_at = started
    return await recipients_of(scope, await advice_panel_ids(scope, advice))


async def _owner_of(scope: TenantScope, advice: Advice) -> int | None:
    """Who answers the advice: the round's author, else the owner of the stage's cycle."""
    if advice.round is not None:
        round_ = await scope.get_or_none(ConsultationRound, advice.round)
        if round_ is not None and round_.created_by:
            return round_.created_by
    if advice.stage is not None:
        row = await scope.select(Stage, Stage.cycle).where(Stage.id == advice.stage).first()
        if row:
            cycle = await scope.get_or_none(PolicyCycle, row["cycle"])
            return cycle.owner if cycle else None
    return None


async def cast_vote(scope: TenantScope, advice: Advice, actor: User, choice: str) -> str:
    """Record the member's answer and apply the confirmation rule: "adopted" (the advice is
    submitted), "rejected" (back to draft) or "open"."""
    if choice not in VOTE_CHOICES:
        raise AdviceError(_("Choose whether you confirm the advice, abstain or do not agree."), field="choice")
    if advice.status != "adopting":
        raise AdviceError(_("The panel is not adopting this advice now."))
    voters = await eligible_voters(scope, advice)
    if actor.id not in voters:
        raise AdviceError(_("Only active members of the panel can adopt its advice."))
    async with engine().transaction():
        await scope.delete(AdoptionVote).where((AdoptionVote.advice == advice.id) & (AdoptionVote.user == actor.id))
        await scope.new(AdoptionVote, advice=advice.id, user=actor.id, choice=choice).save()
        await audit.record_in(scope, "advice.vote", "advice", advice.id, actor, after={"choice": choice})
    return await _apply_confirmation_rule(scope, advice, voters)


async def _apply_confirmation_rule(scope: TenantScope, advice: Advice, voters: dict[int, str]) -> str:
    """Count the committed answers (so that two members answering at the same moment both
    count) and submit the advice or send it back to draft when the rule says so."""
    rule = tenant_setting(scope.tenant, "advice_confirmation_rule")
    async with engine().transaction():
        outcome = adoption_outcome(rule, tally_of(voters, await votes_of(scope, advice.id)))
        if outcome == "open" or not await scope.exists(Advice).where(
            (Advice.id == advice.id) & (Advice.status == "adopting")
        ):
            return "open"  # still waiting, or another member's answer has just decided it
        if outcome == "adopted":
            await _submit(scope, advice, rule)
        else:
            await scope.delete(AdoptionVote).where(AdoptionVote.advice == advice.id)
            await _set_status(scope, advice, "draft", {}, None, "advice.adoption_failed", {"rule": rule})
    return outcome


async def _submit(scope: TenantScope, advice: Advice, rule: str) -> None:
    submitted = now()
    due = response_due(today(), int(tenant_setting(scope.tenant, "advice_response_weeks")))
    owner = await _owner_of(scope, advice)
    await _set_status(
        scope, advice, "submitted",
        {Advice.submitted_at: submitted, Advice.response_due: due, Advice.owner: owner},
        None, "advice.submitted", {"rule": rule, "response_due": due, "owner": owner},
    )
    advice.submitted_at, advice.response_due, advice.owner = submitted, due, owner


async def reopen(scope: TenantScope, advice: Advice, access: AdviceAccess, actor: User) -> None:
    """adopting -> draft: the panel wants to change the text; the answers given so far lapse."""
    if not access.is_member:
        raise AdviceError(_("Only members of the panel can reopen its advice."))
    check_transition(ADVICE_TRANSITIONS, advice.status, "draft")
    async with engine().transaction():
        await scope.delete(AdoptionVote).where(AdoptionVote.advice == advice.id)
        await _set_status(scope, advice, "draft", {}, actor, "advice.reopened")
