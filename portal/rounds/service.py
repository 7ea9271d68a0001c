"""Consultation rounds: the rules, without HTTP.

A round is drafted in a stage, panels are invited, documents attached; it is sent when the six
questions are answered, which notifies the active members of the invited panels; it is closed
when the answers are in. Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from portal.accounts.tables import User
from portal.core import audit
from portal.core.context import RequestContext
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import N_, _, current_locale
from portal.core.mail import MailService
from portal.core.states import TransitionError, check_transition
from portal.core.tenancy import TenantScope
from portal.cycles.tables import Stage
from portal.panels.service import active_members_of_panels
from portal.panels.tables import Panel
from portal.rounds import documents as files
from portal.rounds.rules import NEEDS, ROUND_TRANSITIONS, SIX_QUESTIONS, unanswered_questions
from portal.rounds.tables import ConsultationRound, RoundDocument, RoundPanel
from portal.rounds.visibility import can_manage_rounds, panel_condition, visible_rounds

logger = logging.getLogger("portal")
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")
MAX_EFFORT_HOURS = 200
TEXT_FIELDS = ("question", "background", "goal", "asked_of_experts", "experts_wishes",
               "competence_match", "preconditions")
FORM_FIELDS = ("title", "deadline", "expected_effort_hours", "need", *TEXT_FIELDS)
MAX_TEXT_LENGTH = 10_000


# Features that act when a round reaches panel members (agreements proposes terms): each is
# awaited inside the sending transaction with (scope, round, actor, panel_ids).
ROUND_SENT_HOOKS: list = []


async def _round_reached(scope: TenantScope, round_: ConsultationRound, actor: User, panel_ids: list[int]) -> None:
    for hook in list(ROUND_SENT_HOOKS):
        await hook(scope, round_, actor, panel_ids)


class RoundError(Exception):
    """A rule was broken; the message is for the user, ``field`` the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IncompleteRoundError(RoundError):
    """The round cannot be sent yet: ``unanswered`` lists the six-question fields still empty."""

    def __init__(self, message: str, unanswered: list[str]) -> None:
        super().__init__(message)
        self.unanswered = unanswered


class StateConflict(RoundError):
    """Not possible in the current state (a closed stage, a sent round): a 409 for the route."""


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def today() -> datetime.date:
    return now().astimezone(LOCAL_TIME).date()


# --- dates and hours ------------------------------------------------------------------------


def deadline_from_date(day: datetime.date | None) -> datetime.datetime | None:
    """A deadline date means: until the end of that day, Dutch time (stored in UTC)."""
    if day is None:
        return None
    local = datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=LOCAL_TIME)
    return local.astimezone(datetime.UTC)


def deadline_date(value) -> datetime.date | None:
    """The calendar day (Dutch time) of a stored deadline."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.astimezone(LOCAL_TIME).date()
    return value


def format_hours(value, locale: str | None = None) -> str:
    """Hours as people write them in their language: 8, 1,5 (Dutch) or 1.5 (English)."""
    number = Decimal(str(value or 0)).normalize()
    return format_decimal(number, format="#,##0.##", locale=locale or current_locale.get())


def format_file_size(size: int) -> str:
    """A file size as people read it: 240 kB, 1,2 MB."""
    locale = current_locale.get()
    if size >= 1024 * 1024:
        return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1), locale=locale))
    return _("%(size)s kB", size=format_decimal(max(1, round(size / 1024)), locale=locale))


# --- the round form ---------------------------------------------------------------------------


def parse_round_form(form: Form) -> dict:
    """The round's fields from the submitted form; problems go to ``form.errors``.

    A draft may be saved incomplete: only the title is required. The deadline may not lie in
    the past; the expected effort is 0 to 200 hours.
    """
    values: dict = {"title": form.text("title", _("Title"), max_length=200)}
    for name in TEXT_FIELDS:
        label = SHORT_LABELS.get(name) or FIELD_LABELS[name]
        values[name] = form.text(name, _(label), required=False,
                                 max_length=MAX_TEXT_LENGTH)
    day = form.date("deadline", _("Deadline"))
    if day is not None and day < today():
        form.add_error("deadline", _("The deadline is in the past. Choose today or a later date."))
    values["deadline"] = deadline_from_date(day)
    effort = form.decimal("expected_effort_hours", _("Expected effort in hours"),
                          minimum=0, maximum=MAX_EFFORT_HOURS, required=False)
    values["expected_effort_hours"] = (effort if effort is not None else Decimal("0")).quantize(
        Decimal("0.01")
    )
    need_label = SHORT_LABELS["need"]  # a variable, so that message extraction does not take "need"
    values["need"] = form.choice("need", _(need_label), ("", *NEEDS))
    return values


def round_form(round_: ConsultationRound) -> Form:
    """A form filled with the round's current values, to edit it."""
    form = Form()
    for name in ("title", "need", *TEXT_FIELDS):
        form.values[name] = getattr(round_, name) or ""
    day = deadline_date(round_.deadline)
    form.values["deadline"] = day.isoformat() if day else ""
    effort = Decimal(str(round_.expected_effort_hours or 0))
    form.values["expected_effort_hours"] = format_hours(effort) if effort else ""
    return form


FIELD_LABELS = {
    "title": N_("Title"),
    "question": N_("The question"),
    "background": N_("Background"),
    "deadline": N_("Deadline"),
    "expected_effort_hours": N_("Expected effort in hours"),
    **SIX_QUESTIONS,
}
# Short names for messages about a field (the six questions themselves are long).
SHORT_LABELS = {
    "goal": N_("The goal"),
    "need": N_("What is needed"),
    "asked_of_experts": N_("What is asked of the experts"),
    "experts_wishes": N_("The experts' possibilities and wishes"),
    "competence_match": N_("How competences and wishes match"),
    "preconditions": N_("The preconditions"),
}


def _snapshot(round_: ConsultationRound) -> dict:
    return {name: getattr(round_, name) for name in ("title", "status", "stage", *FORM_FIELDS)}


async def _stage_of(scope: TenantScope, round_or_stage_id: int) -> Stage:
    return await scope.get(Stage, round_or_stage_id)


def _refuse_closed_stage(stage: Stage) -> None:
    if stage.status == "closed":
        raise StateConflict(_("This stage is closed. Its rounds can no longer be changed."))


def _refuse_unless_draft(round_: ConsultationRound, message: str | None = None) -> None:
    if round_.status != "draft":
        raise StateConflict(message or _("Only a draft round can be changed. This round has already been sent."))


# --- creating and editing -------------------------------------------------------------------


async def create_round(scope: TenantScope, stage: Stage, values: dict, actor: User) -> ConsultationRound:
    _refuse_closed_stage(stage)
    round_ = scope.new(ConsultationRound, stage=stage.id, status="draft", created_by=actor.id, **values)
    async with engine().transaction():
        await round_.save()
        await audit.record_in(
            scope, "round.created", "consultation_round", round_.id, actor, after=_snapshot(round_)
        )
    return round_


async def update_round(scope: TenantScope, round_: ConsultationRound, values: dict, actor: User) -> None:
    _refuse_unless_draft(round_)
    _refuse_closed_stage(await _stage_of(scope, round_.stage))
    before = _snapshot(round_)
    async with engine().transaction():
        changed = await scope.update(
            ConsultationRound, {getattr(ConsultationRound, name): value for name, value in values.items()}
        ).where((ConsultationRound.id == round_.id) & (ConsultationRound.status == "draft")).returning(
            ConsultationRound.id
        )
        if not changed:
            raise StateConflict(_("Only a draft round can be changed. This round has already been sent."))
        for name, value in values.items():
            setattr(round_, name, value)
        await audit.record_in(
            scope, "round.updated", "consultation_round", round_.id, actor,
            before=before, after=_snapshot(round_),
        )


# --- panels -----------------------------------------------------------------------------------


async def invited_panel_ids(scope: TenantScope, round_id: int) -> list[int]:
    rows = await scope.select(RoundPanel, RoundPanel.panel).where(RoundPanel.round == round_id)
    return [row["panel"] for row in rows]


async def invited_panels(scope: TenantScope, round_id: int) -> list[dict]:
    return await scope.select(
        RoundPanel,
        RoundPanel.panel.id.as_alias("id"),
        RoundPanel.panel.name.as_alias("name"),
        RoundPanel.panel.kind.as_alias("kind"),
    ).where(RoundPanel.round == round_id).order_by(RoundPanel.panel.name)


async def invitable_panels(scope: TenantScope, round_id: int) -> list[dict]:
    """The tenant's panels not yet invited to this round, archived panels left out."""
    already = scope.select(RoundPanel, RoundPanel.panel).where(RoundPanel.round == round_id)
    return await scope.select(Panel, Panel.id, Panel.name, Panel.kind).where(
        Panel.id.not_in(already) & Panel.archived_at.is_null()
    ).order_by(Panel.name)


def _is_unique_violation(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"IntegrityError", "UniqueViolationError"})


async def invite_panel(
    scope: TenantScope, round_: ConsultationRound, panel_id: int | None, actor: User
) -> list[dict]:
    """Invite a panel of this tenant. When the round was already sent, the panel's active
    members are returned, to be told by email (after the commit)."""
    panel = await scope.get_or_none(Panel, panel_id) if panel_id is not None else None
    if panel is None:
        raise RoundError(_("Choose a panel from the list."), field="panel_id")
    if panel.archived_at is not None:
        raise RoundError(_("%(panel)s is archived and cannot be invited any more.", panel=panel.name),
                         field="panel_id")
    if round_.status == "closed":
        raise StateConflict(_("This round is closed. No panels can be invited any more."))
    _refuse_closed_stage(await _stage_of(scope, round_.stage))
    already = await scope.exists(RoundPanel).where(
        (RoundPanel.round == round_.id) & (RoundPanel.panel == panel.id)
    )
    if already:
        raise RoundError(_("%(panel)s is already invited to this round.", panel=panel.name), field="panel_id")
    try:
        async with engine().transaction():
            await scope.new(RoundPanel, round=round_.id, panel=panel.id).save()
            await audit.record_in(
                scope, "round.panel_invited", "consultation_round", round_.id, actor,
                after={"panel_id": panel.id, "panel": panel.name},
            )
            if round_.status == "sent":
                await _round_reached(scope, round_, actor, [panel.id])
    except Exception as error:
        # Two clicks at the same moment: the unique index refuses the second.
        if _is_unique_violation(error):
            raise RoundError(
                _("%(panel)s is already invited to this round.", panel=panel.name), field="panel_id"
            ) from error
        raise
    if round_.status == "sent":
        return await recipients_of(scope, [panel.id])
    return []


async def remove_panel(scope: TenantScope, round_: ConsultationRound, panel_id: int, actor: User) -> None:
    panel = await scope.get(Panel, panel_id)
    _refuse_unless_draft(round_, _("A panel can only be removed while the round is a draft."))
    async with engine().transaction():
        removed = await scope.delete(RoundPanel).where(
            (RoundPanel.round == round_.id) & (RoundPanel.panel == panel.id)
        ).returning(RoundPanel.id)
        if not removed:
            raise RoundError(_("This panel is not invited to this round."))
        await audit.record_in(
            scope, "round.panel_removed", "consultation_round", round_.id, actor,
            before={"panel_id": panel.id, "panel": panel.name},
        )


# --- members of panels --------------------------------------------------------------------------


async def recipients_of(scope: TenantScope, panel_ids: list[int]) -> list[dict]:
    """One entry per person (email, display_name) among the active members of these panels
    whose account is active. Two queries, whatever the number of members."""
    names: dict[int, str] = {}
    for member in await active_members_of_panels(scope, panel_ids):
        names.setdefault(member["user_id"], member["display_name"])
    return await active_addresses(names)


async def active_addresses(names: dict[int, str]) -> list[dict]:
    """{user id: name shown} as email recipients (email, display_name), leaving out accounts
    that are not active. One query."""
    if not names:
        return []
    accounts = await User.select(User.id, User.email).where(
        User.id.is_in(list(names)) & (User.is_active == True)  # noqa: E712 (a Piccolo condition)
    ).order_by(User.id)
    return [{"email": row["email"], "display_name": names[row["id"]]} for row in accounts]


# --- sending and closing ------------------------------------------------------------------------


def unanswered_labels(fields: list[str]) -> list[str]:
    return [_(SIX_QUESTIONS[name]) for name in fields]


async def send_round(scope: TenantScope, round_: ConsultationRound, actor: User) -> list[dict]:
    """draft -> sent. Returns the people to notify (after the commit); nothing changes when a
    rule refuses."""
    check_transition(ROUND_TRANSITIONS, round_.status, "sent")
    _refuse_closed_stage(await _stage_of(scope, round_.stage))
    unanswered = unanswered_questions(round_.to_dict())
    if unanswered:
        raise IncompleteRoundError(
            _("The round cannot be sent yet: answer all six questions first. Still open:"), unanswered
        )
    panel_ids = await invited_panel_ids(scope, round_.id)
    if not panel_ids:
        raise RoundError(_("Invite at least one panel before you send the round."), field="panel_id")
    day = deadline_date(round_.deadline)
    if day is None or day < today():
        raise RoundError(_("Set a deadline of today or later before you send the round."))
    sent_at = now()
    async with engine().transaction():
        changed = await scope.update(
            ConsultationRound, {ConsultationRound.status: "sent", ConsultationRound.sent_at: sent_at}
        ).where((ConsultationRound.id == round_.id) & (ConsultationRound.status == "draft")).returning(
            ConsultationRound.id
        )
        if not changed:
            raise TransitionError(_("This round has already been sent."))
        recipients = await recipients_of(scope, panel_ids)
        await _round_reached(scope, round_, actor, panel_ids)
        await audit.record_in(
            scope, "round.sent", "consultation_round", round_.id, actor,
            before={"status": "draft"},
            after={"status": "sent", "sent_at": sent_at, "panel_ids": panel_ids,
                   "recipients": len(recipients)},
        )
    round_.status, round_.sent_at = "sent", sent_at
    return recipients


async def notify_round_sent(
    mail: MailService, scope: TenantScope, round_: ConsultationRound, recipients: list[dict], base_url: str
) -> None:
    """Email each person a link to the round, in the tenant's language. Called after commit;
    one address that fails does not keep the others from being told."""
    tenant = scope.tenant
    for person in recipients:
        try:
            await mail.send(
                "round_sent",
                person["email"],
                tenant.locale,
                tenant_name=tenant.name,
                display_name=person["display_name"],
                title=round_.title,
                deadline=deadline_date(round_.deadline),
                effort=format_hours(round_.expected_effort_hours, tenant.locale),
                link=f"{base_url}/t/{tenant.slug}/rounds/{round_.id}",
            )
        except Exception:
            logger.exception("Could not email round %s to a panel member", round_.id)


async def close_round(scope: TenantScope, round_: ConsultationRound, actor: User) -> None:
    check_transition(ROUND_TRANSITIONS, round_.status, "closed")
    closed_at = now()
    async with engine().transaction():
        changed = await scope.update(
            ConsultationRound, {ConsultationRound.status: "closed", ConsultationRound.closed_at: closed_at}
        ).where((ConsultationRound.id == round_.id) & (ConsultationRound.status == "sent")).returning(
            ConsultationRound.id
        )
        if not changed:
            raise TransitionError(_("This round is not open, so it cannot be closed."))
        await audit.record_in(
            scope, "round.closed", "consultation_round", round_.id, actor,
            before={"status": "sent"},
            after={"status": "closed", "closed_at": closed_at},
        )
    round_.status, round_.closed_at = "closed", closed_at


# --- documents --------------------------------------------------------------------------------


async def documents_of(scope: TenantScope, round_id: int) -> list[RoundDocument]:
    return await scope.objects(RoundDocument).where(RoundDocument.round == round_id).order_by(
        RoundDocument.uploaded_at
    )


async def add_document(
    scope: TenantScope, round_: ConsultationRound, filename: str, data: bytes, upload_dir: Path, actor: User
) -> RoundDocument:
    if round_.status == "closed":
        raise StateConflict(_("This round is closed. No documents can be added any more."))
    _refuse_closed_stage(await _stage_of(scope, round_.stage))
    try:
        name, content_type = files.check_document(filename, data)
    except files.DocumentError as error:
        raise RoundError(str(error), field="document") from error
    storage_name = files.store(upload_dir, scope.tenant_id, data)
    document = scope.new(
        RoundDocument, round=round_.id, filename=name, content_type=content_type, size=len(data),
        storage_name=storage_name, uploaded_by=actor.id,
    )
    try:
        async with engine().transaction():
            await document.save()
            await audit.record_in(
                scope, "round.document_added", "consultation_round", round_.id, actor,
                after={"document_id": document.id, "filename": name, "size": len(data),
                       "content_type": content_type},
            )
    except BaseException:
        files.discard(upload_dir, scope.tenant_id, storage_name)
        raise
    return document


async def remove_document(
    scope: TenantScope, round_: ConsultationRound, document: RoundDocument, upload_dir: Path, actor: User
) -> None:
    _refuse_unless_draft(round_, _("A document can only be removed while the round is a draft."))
    async with engine().transaction():
        await scope.delete(RoundDocument).where(RoundDocument.id == document.id)
        await audit.record_in(
            scope, "round.document_removed", "consultation_round", round_.id, actor,
            before={"document_id": document.id, "filename": document.filename},
        )
    files.discard(upload_dir, scope.tenant_id, document.storage_name)


def document_path(upload_dir: Path, scope: TenantScope, document: RoundDocument) -> Path:
    return files.storage_path(upload_dir, scope.tenant_id, document.storage_name)


# --- pages ------------------------------------------------------------------------------------


async def round_overview(scope: TenantScope, round_: ConsultationRound, ctx: RequestContext) -> dict:
    """What the round page shows; the six questions, warnings and choices only to managers.
    The warnings of its stage (no parent panel) show here too, where the panels are chosen."""
    from portal.rounds.warnings import round_warnings, stage_warnings

    manage = can_manage_rounds(ctx)
    stage = await _stage_of(scope, round_.stage)
    overview = {
        "round": round_,
        "stage": stage,
        "can_manage": manage,
        "documents": await documents_of(scope, round_.id),
        "panels": await invited_panels(scope, round_.id),
        "effort": format_hours(round_.expected_effort_hours),
        "questions": [],
        "unanswered": [],
        "round_warnings": [],
        "invitable": [],
    }
    if manage:
        overview["questions"] = [
            (name, _(label), getattr(round_, name) or "") for name, label in SIX_QUESTIONS.items()
        ]
        overview["unanswered"] = unanswered_questions(round_.to_dict())
        if round_.status != "closed":
            overview["round_warnings"] = [*await stage_warnings(scope, stage), *await round_warnings(scope, round_)]
            overview["invitable"] = await invitable_panels(scope, round_.id)
    return overview


async def my_rounds(scope: TenantScope, ctx: RequestContext) -> list[dict]:
    """Sent and closed rounds reaching this person through a panel: their own (as an active
    member) or the panels of the members they support."""
    condition = panel_condition(scope, ctx)
    if condition is None:
        return []
    rows = await scope.select(
        ConsultationRound,
        ConsultationRound.id,
        ConsultationRound.title,
        ConsultationRound.deadline,
        ConsultationRound.status,
        ConsultationRound.stage.name.as_alias("stage_name"),
        ConsultationRound.stage.cycle.title.as_alias("cycle_title"),
    ).where(condition).order_by(ConsultationRound.id)
    # Open rounds first, the nearest deadline on top; then the closed ones, the latest on top.
    open_rounds = sorted((row for row in rows if row["status"] == "sent"),
                         key=lambda row: deadline_date(row["deadline"]) or datetime.date.max)
    closed_rounds = sorted((row for row in rows if row["status"] != "sent"),
                           key=lambda row: deadline_date(row["deadline"]) or datetime.date.min,
                           reverse=True)
    return open_rounds + closed_rounds


async def stage_rounds_context(scope: TenantScope, stage: Stage, ctx: RequestContext) -> dict:
    """For the stage page's ``rounds/_stage_rounds.html``: the rounds of the stage this person
    may see, and for managers the stage's warnings."""
    from portal.rounds.warnings import stage_warnings

    manage = can_manage_rounds(ctx)
    rounds = await visible_rounds(scope, ctx).where(ConsultationRound.stage == stage.id).order_by(
        ConsultationRound.created_at
    ).order_by(ConsultationRound.id)
    return {
        "rounds": rounds,
        "stage_warnings": await stage_warnings(scope, stage) if manage else [],
        "can_manage": manage,
    }
