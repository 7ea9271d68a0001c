"""Polls in a thread: single choice, multiple choice or an agreement scale, with a closing time.

* Officers and panel members who may post in the thread create polls.
* Each member of the thread's panel (of an invited panel, for a joint thread) has one vote,
  which they may change until the poll closes; a vote may carry a short reason.
* A poll closes at its closing time, or earlier when its creator or an officer closes it.
* Results are shown to voters once they voted, to everyone once the poll closed, and to
  officers always, and they are ALWAYS labelled as not representative.

Creating and closing a poll are written to the audit log; single votes are not (they are
opinions, like reactions). ``polls_for_thread`` builds everything a thread page shows about its
polls in three queries, whatever the number of polls, options and votes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.accounts.tables import User
from portal.core import audit
from portal.core.context import RequestContext
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import N_, _
from portal.core.tenancy import TenantScope
from portal.deliberation.access import Access, participation_refusal, thread_access
from portal.deliberation.reactions import announce
from portal.deliberation.tables import Poll, PollOption, PollVote, Thread

SINGLE, MULTIPLE, SCALE = "single", "multiple", "scale"
POLL_KINDS = (SINGLE, MULTIPLE, SCALE)
POLL_KIND_LABELS = {
    SINGLE: N_("One choice"),
    MULTIPLE: N_("Several choices"),
    SCALE: N_("Agreement scale"),
}
# The agreement scale: stored in English, translated when shown.
SCALE_OPTIONS = (
    N_("Strongly disagree"),
    N_("Disagree"),
    N_("Neutral"),
    N_("Agree"),
    N_("Strongly agree"),
)
NOT_REPRESENTATIVE = N_("Not representative: only the members who voted, not everyone.")
CLOSED_MESSAGE = N_("This poll has closed; your vote was not changed.")

MAX_QUESTION = 300
MAX_OPTION = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_REASON = 500
MAX_DAYS_AHEAD = 90
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")  # closing times are typed and shown in Dutch time


class PollError(Exception):
    """A rule was broken; the message is for the user, next to ``field`` when given."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PollClosedError(PollError):
    """The poll has closed (state conflict): nothing was changed."""

    status_code = 409


class PollForbiddenError(PollError):
    """This person may not do this with the poll."""

    status_code = 403


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite may hand back a naive timestamp; the portal stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_open(poll: Poll, at: datetime | None = None) -> bool:
    return poll.closed_at is None and _aware(poll.closes_at) > (at or now())


def option_label(kind: str, label: str) -> str:
    """The option as shown: the fixed scale in the reader's language, members' own words as typed."""
    return _(label) if kind == SCALE else label


# --- who may do what ----------------------------------------------------------------------------


def can_create_poll(access: Access) -> bool:
    """Officers and panel members, while people can post in the thread."""
    return access.can_post and (access.is_officer or access.is_member)


def can_vote(access: Access) -> bool:
    """Members of the thread's panel (or of an invited panel, for a joint thread)."""
    return access.can_post and access.is_member


def can_close_poll(access: Access, poll: Poll) -> bool:
    return access.can_read and (
        access.is_officer or (access.user_id is not None and poll.created_by == access.user_id)
    )


def sees_results(access: Access, poll: Poll, has_voted: bool, at: datetime | None = None) -> bool:
    return access.is_officer or has_voted or not is_open(poll, at)


# --- creating a poll ----------------------------------------------------------------------------


@dataclass
class PollValues:
    question: str
    kind: str
    options: list[str]
    closes_at: datetime | None


def option_lines(text: str) -> list[str]:
    """The options typed in the text area: one a line, blank lines left out."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_options(kind: str, options: list[str]) -> list[str]:
    """The options the poll gets (the fixed scale for ``scale``); PollError when they do not fit."""
    if kind == SCALE:
        return list(SCALE_OPTIONS)
    if len(options) < MIN_OPTIONS or len(options) > MAX_OPTIONS:
        raise PollError(
            _(
                "Give from %(min)s to %(max)s options, one on each line. You gave %(count)s.",
                min=MIN_OPTIONS,
                max=MAX_OPTIONS,
                count=len(options),
            ),
            "options",
        )
    for option in options:
        if len(option) > MAX_OPTION:
            raise PollError(
                _("An option can be at most %(max)s characters long.", max=MAX_OPTION), "options"
            )
    seen: set[str] = set()
    for option in options:
        key = option.casefold()
        if key in seen:
            raise PollError(
                _("The option “%(option)s” is there twice. Give each option once.", option=option),
                "options",
            )
        seen.add(key)
    return options


def closing_moment(day: date, clock: time) -> datetime:
    """The moment a Dutch date and time stand for, in UTC."""
    return datetime.combine(day, clock, tzinfo=LOCAL_TIME).astimezone(UTC)


def check_closing_time(closes_at: datetime | None, at: datetime | None = None) -> datetime:
    at = at or now()
    if closes_at is None:
        raise PollError(_("Fill in when the poll closes."), "closes_date")
    closes_at = _aware(closes_at)
    if closes_at <= at:
        raise PollError(_("The closing time has passed. Choose a moment in the future."), "closes_date")
    if closes_at > at + timedelta(days=MAX_DAYS_AHEAD):
        raise PollError(
            _("A poll can stay open for at most %(days)s days. Choose an earlier closing date.",
              days=MAX_DAYS_AHEAD),
            "closes_date",
        )
    return closes_at


def parse_poll_form(form: Form) -> PollValues:
    """Read the form to create a poll; problems become field errors on ``form``."""
    question = form.text("question", _("Question"), max_length=MAX_QUESTION)
    kind = form.choice("kind", _("Kind of poll"), POLL_KINDS)
    lines = option_lines(form.raw("options"))
    if kind in (SINGLE, MULTIPLE):
        with form.catch_as_error(PollError, "options"):
            check_options(kind, lines)
    day = form.date("closes_date", _("Closing date"), required=True)
    clock = form.time_of_day("closes_time", _("Closing time"), required=True)
    closes_at = closing_moment(day, clock) if day and clock else None
    if closes_at is not None:
        with form.catch_as_error(PollError, "closes_date"):
            check_closing_time(closes_at)
    return PollValues(question=question, kind=kind, options=lines, closes_at=closes_at)


def new_poll_form(at: datetime | None = None) -> Form:
    """The empty form: one choice, closing in a week at five in the afternoon."""
    form = Form()
    local_day = (at or now()).astimezone(LOCAL_TIME).date() + timedelta(days=7)
    form.values.update(kind=SINGLE, closes_date=local_day.isoformat(), closes_time="17:00")
    return form


async def create_poll(
    scope: TenantScope, access: Access, thread: Thread, actor: User, values: PollValues,
    at: datetime | None = None,
) -> Poll:
    if thread.tenant != scope.tenant_id or not access.can_read:
        raise PollForbiddenError(_("This conversation does not exist here."))
    if not can_create_poll(access):
        raise PollForbiddenError(_("You cannot start a poll in this conversation."))
    if refusal := await participation_refusal(scope, access, actor):
        raise PollForbiddenError(refusal)
    question = (values.question or "").strip()
    if not question:
        raise PollError(_("Fill in the question."), "question")
    if len(question) > MAX_QUESTION:
        raise PollError(
            _("The question can be at most %(max)s characters long.", max=MAX_QUESTION), "question"
        )
    if values.kind not in POLL_KINDS:
        raise PollError(_("Choose the kind of poll from the list."), "kind")
    options = check_options(values.kind, [option.strip() for option in values.options if option.strip()])
    closes_at = check_closing_time(values.closes_at, at)
    async with engine().transaction():
        poll = scope.new(
            Poll, thread=thread.id, question=question, kind=values.kind, closes_at=closes_at,
            created_by=actor.id,
        )
        await poll.save()
        for position, label in enumerate(options, start=1):
            await scope.new(PollOption, poll=poll.id, position=position, label=label).save()
        await audit.record_in(
            scope, "poll.created", "poll", poll.id, actor,
            after={"thread_id": thread.id, "question": question, "kind": values.kind,
                   "options": options, "closes_at": closes_at.isoformat()},
        )
    return poll


# --- voting and closing -------------------------------------------------------------------------


def parse_option_ids(values: list[str]) -> list[int]:
    """Option ids from the form; anything that is not a plausible id is left out."""
    ids: list[int] = []
    for value in values:
        value = value.strip() if isinstance(value, str) else ""
        if value.isdigit() and len(value) < 19 and int(value) > 0 and int(value) not in ids:
            ids.append(int(value))
    return ids


async def _fresh(scope: TenantScope, poll: Poll) -> Poll:
    return await scope.get(Poll, poll.id)


async def cast_vote(
    scope: TenantScope, access: Access, poll: Poll, user: User, option_ids: list[int],
    reason: str = "", at: datetime | None = None,
) -> None:
    """Record this person's vote, replacing their earlier one. Nothing changes on an error."""
    if poll.tenant != scope.tenant_id or not access.can_read:
        raise PollForbiddenError(_("This poll does not exist here."))
    if not can_vote(access):
        raise PollForbiddenError(_("Only members of the panel can vote in this poll."))
    if refusal := await participation_refusal(scope, access, user):
        raise PollForbiddenError(refusal)
    if not is_open(poll, at):
        raise PollClosedError(_(CLOSED_MESSAGE))
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise PollError(
            _("Your reason can be at most %(max)s characters; you entered %(count)s.",
              max=MAX_REASON, count=len(reason)),
            "reason",
        )
    chosen = list(dict.fromkeys(option_ids))
    if not chosen:
        raise PollError(_("Choose an answer."), "options")
    if poll.kind in (SINGLE, SCALE) and len(chosen) != 1:
        raise PollError(_("Choose one answer."), "options")
    own_options = {
        row["id"]
        for row in await scope.select(PollOption, PollOption.id).where(PollOption.poll == poll.id)
    }
    if not set(chosen) <= own_options:
        raise PollError(_("Choose from the answers of this poll."), "options")
    for attempt in (1, 2):
        try:
            await _replace_vote(scope, poll, user, chosen, reason, at)
            return
        except Exception as error:
            # Two submissions at the same moment: the unique index refused the second's rows
            # (nothing of it was kept). Once more replaces the vote cleanly.
            if attempt == 2 or not _is_unique_violation(error):
                raise


def _is_unique_violation(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"IntegrityError", "UniqueViolationError"})


async def _replace_vote(
    scope: TenantScope, poll: Poll, user: User, chosen: list[int], reason: str, at: datetime | None
) -> None:
    async with engine().transaction():
        # Checked again inside the transaction: the poll may have closed in the meantime.
        if not is_open(await _fresh(scope, poll), at):
            raise PollClosedError(_(CLOSED_MESSAGE))
        await scope.delete(PollVote).where((PollVote.poll == poll.id) & (PollVote.user == user.id))
        moment = at or now()
        for option_id in chosen:
            await scope.new(
                PollVote, poll=poll.id, option=option_id, user=user.id, reason=reason,
                updated_at=moment,
            ).save()


async def close_poll(
    scope: TenantScope, access: Access, poll: Poll, actor: User, at: datetime | None = None
) -> Poll:
    """Close the poll before its closing time (its creator or an officer)."""
    if poll.tenant != scope.tenant_id or not access.can_read:
        raise PollForbiddenError(_("This poll does not exist here."))
    if not can_close_poll(access, poll):
        raise PollForbiddenError(_("Only the person who started the poll or an officer can close it."))
    moment = at or now()
    async with engine().transaction():
        poll = await _fresh(scope, poll)
        if not is_open(poll, moment):
            raise PollClosedError(_("This poll has already closed."))
        await scope.update(Poll, {Poll.closed_at: moment}).where(Poll.id == poll.id)
        await audit.record_in(
            scope, "poll.closed", "poll", poll.id, actor,
            before={"closes_at": _aware(poll.closes_at).isoformat()},
            after={"closed_at": moment.isoformat()},
        )
    poll.closed_at = moment
    return poll


async def announce_poll(scope: TenantScope, poll_id: int) -> None:
    """Tell the live-update part about new results, if it exists (see ``reactions.announce``)."""
    await announce("announce_poll", scope, poll_id)


# --- what a thread page shows -------------------------------------------------------------------


@dataclass
class OptionView:
    id: int
    label: str
    count: int
    percent: int
    chosen: bool


@dataclass
class PollView:
    id: int
    thread_id: int
    question: str
    kind: str
    kind_label: str
    closes_at: datetime
    closed_at: datetime | None
    is_open: bool
    options: list[OptionView]
    voters: int
    my_choices: set[int]
    my_reason: str
    has_voted: bool
    can_vote: bool
    can_close: bool
    show_results: bool
    reasons: list[str] = field(default_factory=list)  # given with votes, without names

    @property
    def input_type(self) -> str:
        return "checkbox" if self.kind == MULTIPLE else "radio"


class PollList(list):
    """The thread's polls, and whether the viewer may start a new one."""

    def __init__(self, polls: list[PollView], *, thread_id: int, can_create: bool) -> None:
        super().__init__(polls)
        self.thread_id = thread_id
        self.can_create = can_create


def build_view(
    poll: Poll, options: list[dict], votes: list[dict], access: Access, at: datetime | None = None
) -> PollView:
    """One poll as the viewer sees it, from rows already loaded (no query)."""
    me = access.user_id
    voters = {vote["user"] for vote in votes}
    mine = [vote for vote in votes if vote["user"] == me]
    my_choices = {vote["option"] for vote in mine}
    counts: dict[int, int] = {}
    for vote in votes:
        counts[vote["option"]] = counts.get(vote["option"], 0) + 1
    total = len(voters)
    open_ = is_open(poll, at)
    option_views = [
        OptionView(
            id=option["id"],
            label=option_label(poll.kind, option["label"]),
            count=counts.get(option["id"], 0),
            percent=round(counts.get(option["id"], 0) * 100 / total) if total else 0,
            chosen=option["id"] in my_choices,
        )
        for option in sorted(options, key=lambda row: (row["position"], row["id"]))
    ]
    reasons_by_user: dict[int, str] = {}
    for vote in sorted(votes, key=lambda row: row["id"]):
        if vote["reason"]:
            reasons_by_user.setdefault(vote["user"], vote["reason"])
    return PollView(
        id=poll.id,
        thread_id=poll.thread,
        question=poll.question,
        kind=poll.kind,
        kind_label=_(POLL_KIND_LABELS.get(poll.kind, poll.kind)),
        closes_at=_aware(poll.closes_at),
        closed_at=_aware(poll.closed_at) if poll.closed_at else None,
        is_open=open_,
        options=option_views,
        voters=total,
        my_choices=my_choices,
        my_reason=mine[0]["reason"] if mine else "",
        has_voted=bool(mine),
        can_vote=open_ and can_vote(access),
        can_close=open_ and can_close_poll(access, poll),
        show_results=sees_results(access, poll, bool(mine), at),
        reasons=list(reasons_by_user.values()),
    )


async def _views(
    scope: TenantScope, polls: list[Poll], access: Access, at: datetime | None = None
) -> list[PollView]:
    if not polls:
        return []
    ids = [poll.id for poll in polls]
    options = await scope.select(
        PollOption, PollOption.id, PollOption.poll, PollOption.position, PollOption.label
    ).where(PollOption.poll.is_in(ids))
    votes = await scope.select(
        PollVote, PollVote.id, PollVote.poll, PollVote.option, PollVote.user, PollVote.reason
    ).where(PollVote.poll.is_in(ids))
    return [
        build_view(
            poll,
            [row for row in options if row["poll"] == poll.id],
            [row for row in votes if row["poll"] == poll.id],
            access,
            at,
        )
        for poll in polls
    ]


async def polls_for_thread(
    scope: TenantScope, thread: Thread, ctx: RequestContext, access: Access | None = None
) -> PollList:
    """The thread's polls, oldest first, as the viewer sees them: three queries (two more when
    ``access`` is not given), whatever the number of polls, options and votes."""
    if access is None:
        access = await thread_access(scope, ctx, thread)
    if not access.can_read:
        return PollList([], thread_id=thread.id, can_create=False)
    polls = await scope.objects(Poll).where(Poll.thread == thread.id).order_by(Poll.id)
    views = await _views(scope, polls, access)
    return PollList(views, thread_id=thread.id, can_create=can_create_poll(access))


async def poll_view(scope: TenantScope, poll: Poll, access: Access) -> PollView:
    """One poll as the viewer sees it (two queries)."""
    return (await _views(scope, [poll], access))[0]
