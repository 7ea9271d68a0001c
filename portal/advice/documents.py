"""Advice documents: writing them together (every save a version), and adoption by the panel.

A panel member starts advice for a round (for their own panel, or jointly for every invited
panel) or unsolicited (for their panel, optionally in a stage). Every save stores the whole
document as an ``AdviceVersion`` with its author; two members saving the same version at once:
the second save is merged with the first per item (``rules.merge_documents``), and where both
changed the same item differently, the second person chooses what to keep. Adoption asks every
active member to confirm; the tenant's confirmation rule (majority or all) decides; members may
abstain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portal.accounts.tables import User
from portal.advice.access import AdviceAccess, advice_panel_ids
from portal.advice.rules import (
    ADVICE_TRANSITIONS,
    ITEM_FIELDS,
    ITEM_KEY,
    MAX_ITEMS,
    TITLE_CHOICES,
    VOTE_CHOICES,
    DiffLine,
    Document,
    ItemConflict,
    Merge,
    MergeNote,
    Tally,
    adoption_outcome,
    conflict_choices,
    differences,
    document_lines,
    item_key,
    items_from_json,
    keyed_items,
    merge_documents,
    new_item_key,
    resolve_conflict,
    response_due,
)
from portal.advice.tables import AdoptionVote, Advice, AdviceItem, AdviceVersion
from portal.agreements.privacy import FORMER_PARTICIPANT
from portal.core import audit
from portal.core.context import RequestContext
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import N_, _
from portal.core.states import check_transition
from portal.core.tenancy import TenantScope
from portal.cycles.service import display_names
from portal.cycles.tables import PolicyCycle, Stage
from portal.deliberation.access import member_access, participation_refusal
from portal.deliberation.service import posting_refusal
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


class DocumentConflict(AdviceConflict):
    """Someone else saved the document meanwhile and merging needs the person: ``merge`` holds
    both sides' changes combined, with the conflicts to choose in; ``latest`` the version the
    person's next save starts from."""

    def __init__(self, message: str, merge: Merge, latest: int) -> None:
        super().__init__(message)
        self.merge = merge
        self.latest = latest


NOT_A_DRAFT = N_("This advice can no longer be changed: the panel is adopting it or has submitted it.")


def _snapshot(advice: Advice) -> dict:
    return {"title": advice.title, "status": advice.status, "version": advice.version}


# --- the document form ---------------------------------------------------------------------

# A merged document can hold both sides' items until the person removes some (see save_document).
MAX_BLOCKS = 2 * MAX_ITEMS + 1


@dataclass
class DocumentValues:
    title: str
    items: list[dict]  # each with its "key"; "" (or none) for a new item
    version: int  # the version the person started from


def _int_field(form: Form, name: str, default: int = 0, maximum: int = 2**31 - 1) -> int:
    raw = form.raw(name).strip()
    return int(raw) if raw.isdigit() and int(raw) <= maximum else default


def _item_fields(form: Form, prefix: str, number: int) -> dict | None:
    """The texts of one item; None when all three are empty (how an item is removed)."""
    if not any(form.raw(prefix + name).strip() for name in ITEM_FIELDS):
        return None
    return {
        "title": form.text(prefix + "title", _("Title of item %(number)s", number=number), max_length=TITLE_MAX),
        "recommendation": form.text(prefix + "recommendation",
                                    _("Recommendation of item %(number)s", number=number), max_length=TEXT_MAX),
        "rationale": form.text(prefix + "rationale", _("Rationale of item %(number)s", number=number),
                               required=False, max_length=TEXT_MAX),
    }


def _block_items(form: Form, number: int) -> list[dict]:
    """The items of one numbered block: its item (none when emptied), or for a conflict the
    texts the person chose to keep. A key the form cannot have sent makes the item a new one."""
    prefix = f"item-{number}-"
    key = form.raw(prefix + "key").strip()
    key = key if ITEM_KEY.match(key) else ""
    if not form.raw(prefix + "conflict").strip():
        item = _item_fields(form, prefix, number)
        return [{"key": key, **item}] if item else []
    sides = [_item_fields(form, f"{prefix}{side}-", number) for side in ("mine", "theirs")]
    mine, theirs = ({"key": key, **texts} if texts else None for texts in sides)
    choices = conflict_choices(mine is not None, theirs is not None)
    if not choices:
        return []
    choice = form.raw(prefix + "choice").strip()
    if choice not in choices:
        form.add_error(prefix + "choice", _("Choose what to keep of item %(number)s.", number=number))
        return []
    return resolve_conflict(choice, mine, theirs)


def _title(form: Form) -> str:
    """The title typed, or for a conflict the one the person chose to keep."""
    label = _("Title of the advice")
    if not form.raw("title-conflict").strip():
        return form.text("title", label, max_length=TITLE_MAX)
    titles = {side: form.text(f"title-{side}", label, max_length=TITLE_MAX) for side in TITLE_CHOICES}
    choice = form.raw("title-choice").strip()
    if choice not in TITLE_CHOICES:
        form.add_error("title-choice", _("Choose which title to keep."))
        return ""
    return titles[choice]


def parse_document_form(form: Form) -> DocumentValues:
    """The title and the items of the submitted document; problems go to ``form.errors``.

    The form has ``item_count`` numbered blocks: the items (each with its key in a hidden
    field), after a conflict the items to choose between, and one empty block to add an item.
    A block left entirely empty is not an item: that is how an item is removed.
    """
    title = _title(form)
    count = _int_field(form, "item_count", maximum=MAX_BLOCKS)
    if count < 1:
        form.add_error("item_count", _(
            "The form arrived incomplete, so nothing was saved. Open the advice and change it again."))
    items: list[dict] = []
    keys: set[str] = set()
    for number in range(1, count + 1):
        for item in _block_items(form, number):
            if item["key"] in keys:
                item = {**item, "key": ""}
            keys.add(item["key"])
            items.append(item)
    if len(items) > MAX_ITEMS:
        form.add_error("item_count", _("An advice can have at most %(max)s items.", max=MAX_ITEMS))
    version = _int_field(form, "version")
    form.values.update({"item_count": str(max(count, 1)), "version": str(version)})
    return DocumentValues(title=title, items=items, version=version)


def _filled_form(version: int, entries: list[dict | ItemConflict], title: str,
                 title_conflict: tuple[str, str] | None = None) -> Form:
    """The edit form with these items and conflicts, and one empty block to add an item."""
    form = Form()
    form.values.update({"version": str(version), "item_count": str(len(entries) + 1)})
    if title_conflict:
        form.values.update({"title-conflict": "1", "title-mine": title_conflict[0], "title-theirs": title_conflict[1]})
    else:
        form.values["title"] = title
    for number, entry in enumerate(entries, start=1):
        prefix = f"item-{number}-"
        if isinstance(entry, ItemConflict):
            form.values.update({prefix + "key": entry.key, prefix + "conflict": "1",
                                **_texts(prefix + "mine-", entry.mine), **_texts(prefix + "theirs-", entry.theirs)})
        else:
            form.values.update({prefix + "key": entry["key"], **_texts(prefix, entry)})
    return form


def _texts(prefix: str, item: dict | None) -> dict[str, str]:
    return {prefix + name: item[name] if item else "" for name in ITEM_FIELDS}


def document_form(advice: Advice, items: list[AdviceItem]) -> Form:
    """The form filled with the current document."""
    entries = [{"key": item_key(item.key, item.position), **{name: getattr(item, name) for name in ITEM_FIELDS}}
               for item in items]
    return _filled_form(advice.version, entries, advice.title)


def merge_form(conflict: DocumentConflict) -> Form:
    """The form after a conflict: the merged document, with the conflicts to choose in, based on
    the latest version, so that saving it again starts from there."""
    merge = conflict.merge
    return _filled_form(conflict.latest, list(merge.entries), merge.title, merge.title_conflict)


def form_blocks(form: Form) -> list[dict]:
    """The blocks the edit page shows, from the form's values: items to change, conflicts to
    resolve (with both sides' texts and the choices), and the last, empty block."""
    raw_count = form.values.get("item_count", "")
    count = min(int(raw_count), MAX_BLOCKS) if raw_count.isdigit() and len(raw_count) < 4 else 1
    blocks = []
    for number in range(1, max(count, 1) + 1):
        prefix = f"item-{number}-"
        if not form.values.get(prefix + "conflict"):
            blocks.append({"number": number, "conflict": False})
            continue
        sides = {side: {name: form.values.get(f"{prefix}{side}-{name}", "") for name in ITEM_FIELDS}
                 for side in ("mine", "theirs")}
        present = {side: any(text.strip() for text in texts.values()) for side, texts in sides.items()}
        blocks.append({"number": number, "conflict": True,
                       "mine": sides["mine"] if present["mine"] else None,
                       "theirs": sides["theirs"] if present["theirs"] else None,
                       "choices": conflict_choices(present["mine"], present["theirs"])})
    return blocks


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
    contribution like a post, so the deliberation's checks for posts decide (consent, and
    agreements: both accepted). Unsolicited advice has no round, so no agreements to accept."""
    as_poster = member_access(author, round_)
    if round_ is None:
        return await participation_refusal(scope, as_poster, author)
    return await posting_refusal(scope, as_poster, author)


async def taking_part_refusal(scope: TenantScope, voter: User) -> str | None:
    """Why this member may not take part in the adoption (or say whether they feel heard), or
    None. A vote adds no text to own or pay for: no agreements, but consent like every way of
    taking part."""
    return await participation_refusal(scope, member_access(voter), voter)


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


@dataclass
class SavedDocument:
    version: AdviceVersion
    # Someone else saved since the person opened the form: who, and which of their changes were
    # combined with the person's (both empty when nobody did).
    others: list[str]
    combined: tuple[MergeNote, ...]


async def _base_and_latest(scope: TenantScope, advice_id: int, base: int, latest: int) -> tuple[Document, Document]:
    """The version the person started from (empty when the form names no known version: then
    nothing is taken as removed) and the latest version."""
    rows = await scope.select(AdviceVersion, AdviceVersion.number, AdviceVersion.title, AdviceVersion.items).where(
        (AdviceVersion.advice == advice_id) & AdviceVersion.number.is_in([base, latest])
    )
    documents = {row["number"]: Document(row["title"], tuple(keyed_items(items_from_json(row["items"]))))
                 for row in rows}
    return documents.get(base, Document("", ())), documents[latest]


def _with_keys(items: list[dict] | tuple[dict, ...]) -> list[dict]:
    """Each item with its key and texts; a new item (no key yet) gets one."""
    taken = {item.get("key") or "" for item in items}
    keyed = []
    for item in items:
        key = item.get("key") or new_item_key(taken)
        taken.add(key)
        keyed.append({"key": key, **{name: item.get(name) or "" for name in ITEM_FIELDS}})
    return keyed


async def save_document(
    scope: TenantScope, advice: Advice, values: DocumentValues, access: AdviceAccess, actor: User
) -> SavedDocument:
    """A new version of the document. Refused unless the person is a member and the advice a
    draft. When someone else saved since the person's version, their changes and the person's
    are merged (``merge_documents``) and saved together; ``DocumentConflict`` when the merge
    needs the person to choose, with nothing stored."""
    if not access.is_member:
        raise AdviceError(_("Only members of the panel can change its advice."))
    if advice.status != "draft":
        raise AdviceError(_(NOT_A_DRAFT))
    round_ = await scope.get_or_none(ConsultationRound, advice.round) if advice.round else None
    if refusal := await writing_refusal(scope, round_, actor):
        raise AdviceError(refusal)
    # New items get their keys first: the merge tells items apart by key.
    document, merge = Document(values.title, tuple(_with_keys(values.items))), None
    async with engine().transaction():
        # Counting the save first holds the advice until the commit: a save at the same moment
        # waits, and then merges with this one.
        counted = await scope.update(Advice, {Advice.version: Advice.version + 1}).where(
            (Advice.id == advice.id) & (Advice.status == "draft")
        ).returning(Advice.version)
        if not counted:
            raise AdviceError(_(NOT_A_DRAFT))
        number = counted[0]["version"]
        latest = number - 1
        if values.version != latest:
            merge = merge_documents(*await _base_and_latest(scope, advice.id, values.version, latest), document)
            if not merge.is_clean:
                raise DocumentConflict(_(
                    "Someone else saved this advice while you were writing. Below, their changes and yours "
                    "are combined, except where you both changed the same thing: choose what to keep there, "
                    "then save again."), merge, latest)
            if len(merge.items) > MAX_ITEMS:
                raise DocumentConflict(_(
                    "Someone else saved this advice while you were writing. Together, your items and theirs "
                    "are more than %(max)s. Below, both are combined: remove items until there are at most "
                    "%(max)s, then save again.", max=MAX_ITEMS), merge, latest)
            document = Document(merge.title, tuple(merge.items))
        items = list(document.items)
        await scope.update(Advice, {Advice.title: document.title}).where(Advice.id == advice.id)
        await scope.delete(AdviceItem).where(AdviceItem.advice == advice.id)
        for position, item in enumerate(items, start=1):
            await scope.new(AdviceItem, advice=advice.id, position=position, **item).save()
        version = scope.new(AdviceVersion, advice=advice.id, number=number, title=document.title,
                            items=json.dumps(items, ensure_ascii=False), author=actor.id)
        await version.save()
        merged = {"merged": True, "based_on": values.version, "merged_with": latest} if merge else {}
        await audit.record_in(scope, "advice.saved", "advice", advice.id, actor, before=_snapshot(advice),
                              after={"title": document.title, "version": number, "items": len(items), **merged})
    advice.title, advice.version = document.title, number
    others = await _authors_between(scope, advice.id, values.version, number) if merge else []
    return SavedDocument(version=version, others=others, combined=merge.notes if merge else ())


async def _authors_between(scope: TenantScope, advice_id: int, after: int, before: int) -> list[str]:
    """The names of who saved the versions after one and before another, in the order they saved."""
    rows = await scope.select(AdviceVersion, AdviceVersion.author).where(
        (AdviceVersion.advice == advice_id) & (AdviceVersion.number > after) & (AdviceVersion.number < before)
    ).order_by(AdviceVersion.number)
    names = await display_names(scope, {row["author"] for row in rows})
    return list(dict.fromkeys(names.get(row["author"]) or _(FORMER_PARTICIPANT) for row in rows))


async def version_author(scope: TenantScope, advice_id: int, number: int) -> str:
    """The name of who saved this version of the advice."""
    return (await _authors_between(scope, advice_id, number - 1, number + 1) or [_(FORMER_PARTICIPANT)])[0]


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
    if refusal := await taking_part_refusal(scope, actor):
        raise AdviceError(refusal)
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
    if refusal := await taking_part_refusal(scope, actor):
        raise AdviceError(refusal)
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
    if refusal := await taking_part_refusal(scope, actor):
        raise AdviceError(refusal)
    check_transition(ADVICE_TRANSITIONS, advice.status, "draft")
    async with engine().transaction():
        await scope.delete(AdoptionVote).where(AdoptionVote.advice == advice.id)
        await _set_status(scope, advice, "draft", {}, actor, "advice.reopened")
