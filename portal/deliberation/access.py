"""Who may take part in a thread: the one place for this rule.

* Officers (tenant admins and policy officers) read and moderate every thread of their tenant.
* Panel members read the threads of the panels they are an *active* member of, and the joint
  threads (``panel`` null) of rounds to which such a panel is invited, once the round is sent.
* Support contacts read and moderate the same threads as the members they support (an active
  membership naming them as support contact).
* Council members get nothing from that role: deliberation is the panels' own space.
* Anyone who may read a thread may post in it while its round is ``sent`` (not once it is closed).
* A member takes part (posts, reactions, polls, and in the advice feature: writing, votes, "do
  you feel heard?") only when every ``PARTICIPATION_CHECKS`` entry lets them (privacy: consent
  to processing of their lived experience).

Everyone else gets a 404: a thread they may not read does not exist for them. Someone with
several roles gets the union. ``thread_access`` costs at most two queries, whatever the size of
the panel; ``readable_threads_condition`` is one condition on ``Thread`` for lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from litestar.exceptions import NotFoundException
from piccolo.columns.combination import And, Or, Where

from portal.accounts.roles import PANEL_MEMBER, SUPPORT_CONTACT
from portal.accounts.tables import User
from portal.core.context import RequestContext
from portal.core.hooks import first_reason
from portal.core.tenancy import TenantScope
from portal.deliberation.tables import Post, Thread
from portal.panels.tables import PanelMembership
from portal.rounds.tables import ConsultationRound, RoundPanel
from portal.rounds.visibility import PUBLISHED_STATUSES, can_manage_rounds, panel_queries

Condition = And | Or | Where

# The only round status in which people can write in its threads.
OPEN_STATUS = "sent"


@dataclass(frozen=True)
class Access:
    """What one person may do in one thread."""

    can_read: bool = False
    can_post: bool = False
    can_moderate: bool = False
    is_officer: bool = False
    # The person is an active member of the thread's panel (or of an invited panel, for a joint
    # thread): may open sub-topics and vote in polls.
    is_member: bool = False
    round: ConsultationRound | None = None
    user_id: int | None = None
    # Why the person may not take part now although the round is open (``participating``): the
    # page shows it where the forms would be, and ``can_post`` is off.
    refusal: str | None = None


NO_ACCESS = Access()


# Rules other features add before a member takes part in any way: a post, a reaction, a poll or a
# vote, advice (privacy: consent to processing of lived experience). Each is awaited with
# (scope, access, person) and returns why the person may not take part, or None. Text
# contributions also pass the deliberation's ``POSTING_CHECKS`` (agreements); votes do not.
PARTICIPATION_CHECKS: list = []


async def participation_refusal(scope: TenantScope, access: Access, person: User) -> str | None:
    return await first_reason(PARTICIPATION_CHECKS, scope, access, person)


def member_access(person: User, round_: ConsultationRound | None = None) -> Access:
    """A panel member taking part outside a thread (advice, adoption votes, topics), for the
    participation and posting checks."""
    return Access(can_read=True, can_post=True, is_member=True, round=round_, user_id=person.id)


async def participating(scope: TenantScope, access: Access, person: User) -> Access:
    """The access for showing a thread: when a participation check refuses the person, the forms
    give way to the reason (``refusal``) before they type anything."""
    if not access.can_post:
        return access
    refusal = await participation_refusal(scope, access, person)
    return replace(access, can_post=False, refusal=refusal) if refusal else access


@dataclass(frozen=True)
class RoundAccess:
    """What one person may do with the threads of one round (the round's thread list)."""

    is_officer: bool = False
    # Invited panels in which the person is an active member / supports an active member.
    member_panel_ids: frozenset[int] = field(default_factory=frozenset)
    supported_panel_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def can_read_any(self) -> bool:
        return self.is_officer or bool(self.member_panel_ids or self.supported_panel_ids)

    def can_open_sub_topic(self, round_: ConsultationRound, panel_id: int | None) -> bool:
        """Officers anywhere; members in their own panel (or the joint space when ``None``)."""
        if round_.status != OPEN_STATUS:
            return False
        if self.is_officer:
            return True
        if panel_id is None:
            return bool(self.member_panel_ids)
        return panel_id in self.member_panel_ids


async def _memberships_in_round(
    scope: TenantScope, ctx: RequestContext, round_id: int
) -> list[dict]:
    """Active memberships in panels invited to the round in which the person is the member
    or the support contact (only for the roles the person holds). One query."""
    if ctx.user is None:
        return []
    me = ctx.user.id
    who: Condition | None = None
    if ctx.has_role(PANEL_MEMBER):
        who = PanelMembership.user == me
    if ctx.has_role(SUPPORT_CONTACT):
        supported = PanelMembership.support_contact == me
        who = supported if who is None else who | supported
    if who is None:
        return []
    invited = scope.select(RoundPanel, RoundPanel.panel).where(RoundPanel.round == round_id)
    return await scope.select(
        PanelMembership,
        PanelMembership.panel,
        PanelMembership.user,
        PanelMembership.support_contact,
    ).where((PanelMembership.status == "active") & PanelMembership.panel.is_in(invited) & who)


async def round_access(
    scope: TenantScope, ctx: RequestContext, round_: ConsultationRound
) -> RoundAccess:
    """The person's place in a round's deliberation (one query at most)."""
    if ctx.user is None or round_.tenant != scope.tenant_id:
        return RoundAccess()
    officer = can_manage_rounds(ctx)
    if not officer and round_.status not in PUBLISHED_STATUSES:
        return RoundAccess()
    rows = await _memberships_in_round(scope, ctx, round_.id)
    me = ctx.user.id
    return RoundAccess(
        is_officer=officer,
        member_panel_ids=frozenset(row["panel"] for row in rows if row["user"] == me),
        supported_panel_ids=frozenset(row["panel"] for row in rows if row["support_contact"] == me),
    )


def access_from(thread: Thread, round_: ConsultationRound, ctx: RequestContext,
                round_access_: RoundAccess) -> Access:
    """The thread access that follows from a person's place in the round (no query)."""
    if ctx.user is None or thread.round != round_.id:
        return NO_ACCESS
    if thread.panel is None:  # the joint thread, or a joint sub-topic: every invited panel
        member = bool(round_access_.member_panel_ids)
        supports = bool(round_access_.supported_panel_ids)
    else:
        member = thread.panel in round_access_.member_panel_ids
        supports = thread.panel in round_access_.supported_panel_ids
    officer = round_access_.is_officer
    can_read = officer or member or supports
    if not can_read:
        return NO_ACCESS
    return Access(
        can_read=True,
        can_post=round_.status == OPEN_STATUS,
        can_moderate=officer or supports,
        is_officer=officer,
        is_member=member,
        round=round_,
        user_id=ctx.user.id,
    )


async def thread_access(scope: TenantScope, ctx: RequestContext, thread: Thread) -> Access:
    """What this person may do in ``thread`` (two queries at most)."""
    if ctx.user is None or thread.tenant != scope.tenant_id:
        return NO_ACCESS
    round_ = await scope.get_or_none(ConsultationRound, thread.round)
    if round_ is None:
        return NO_ACCESS
    return access_from(thread, round_, ctx, await round_access(scope, ctx, round_))


async def get_thread_and_access(
    scope: TenantScope, ctx: RequestContext, thread_id: int
) -> tuple[Thread, Access]:
    """The thread with this id and the person's access to it; 404 when they may not read it."""
    thread = await scope.get(Thread, thread_id)
    access = await thread_access(scope, ctx, thread)
    if not access.can_read:
        raise NotFoundException()
    return thread, access


async def get_thread_for(scope: TenantScope, ctx: RequestContext, thread_id: int) -> Thread:
    """The thread with this id, or 404 when the person may not read it."""
    thread, _access = await get_thread_and_access(scope, ctx, thread_id)
    return thread


async def get_post_for(
    scope: TenantScope, ctx: RequestContext, post_id: int
) -> tuple[Post, Thread, Access]:
    """A post, its thread and the person's access; 404 when they may not read the thread."""
    post = await scope.get(Post, post_id)
    thread, access = await get_thread_and_access(scope, ctx, post.thread)
    return post, thread, access


def can_moderate(access: Access) -> bool:
    return access.can_read and access.can_moderate


def readable_threads_condition(scope: TenantScope, ctx: RequestContext) -> Condition | None:
    """A condition on ``Thread`` for the threads this person may read; None means all."""
    nothing = Thread.id.is_null()
    if ctx.user is None:
        return nothing
    if can_manage_rounds(ctx):
        return None
    queries = panel_queries(scope, ctx)
    if not queries:
        return nothing
    own_panel: Condition | None = None
    invited: Condition | None = None
    for query in queries:
        in_panel = Thread.panel.is_in(query)
        own_panel = in_panel if own_panel is None else own_panel | in_panel
        condition = RoundPanel.panel.is_in(query)
        invited = condition if invited is None else invited | condition
    joint_rounds = scope.select(RoundPanel, RoundPanel.round).where(invited)
    published = scope.select(ConsultationRound, ConsultationRound.id).where(
        ConsultationRound.status.is_in(list(PUBLISHED_STATUSES))
    )
    # Own panel threads only count for rounds the panel is invited to (all threads are).
    return Thread.round.is_in(published) & (
        own_panel | (Thread.panel.is_null() & Thread.round.is_in(joint_rounds))
    )
