"""Payment and ownership agreements per member per round: the rules, without HTTP.

When a round is sent (or a panel is invited to a sent round), every active member of its panels
gets a proposed payment agreement and a proposed ownership agreement, from the round's terms or
the tenant's defaults for the panel kind; so does someone who becomes active in such a panel
later, in each of its sent rounds (``propose_on_activation``). The member accepts each, or asks for a change; the
officer then proposes the terms again. A member posts in the round only after accepting both
(``may_post``, registered in the deliberation's ``POSTING_CHECKS``). Every change is written to
the audit log in the same transaction; the audit snapshots hold ids and terms, never names.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import NamedTuple

from portal.accounts.tables import Membership, User
from portal.agreements import caps
from portal.agreements.rules import (
    CAPPED_BASES,
    OWNERSHIP_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    PERSONAL_STORY_NEED,
    unit_of,
)
from portal.agreements.tables import OwnershipAgreement, PaymentAgreement, RoundTerms
from portal.agreements.terms import TERM_FIELDS, cap_table_of, default_terms, format_money
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import _
from portal.core.states import TransitionError, check_transition
from portal.core.tenancy import TenantScope
from portal.deliberation.service import POSTING_CHECKS
from portal.panels.rules import AGE_BAND_LABELS
from portal.panels.service import MEMBERSHIP_ACTIVATED_HOOKS, active_members_of_panels
from portal.panels.tables import Panel, PanelMembership
from portal.privacy.tables import PersonalDetails
from portal.rounds.service import (
    ROUND_SENT_HOOKS,
    deadline_date,
    invited_panel_ids,
    invited_panels,
    today,
)
from portal.rounds.tables import ConsultationRound, RoundPanel
from portal.rounds.warnings import ROUND_WARNING_CHECKS

PAYMENT_TERM_FIELDS = ("basis", "payer", "rate", "planned_hours", "vat_invoice")
OWNERSHIP_TERM_FIELDS = ("owner", "licence", "attribution", "review_edits", "withdrawal_terms")
MAX_CHANGE_REQUEST = 2000
# Without a date of birth, the age band gives the age that decides the hourly cap.
AGE_FOR_BAND = {"under_16": 15, "16_17": 17, "18_20": 20, "21_26": 21, "27_plus": 27}


class AgreementError(Exception):
    """A rule was broken; the message is for the user, ``field`` the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def now() -> datetime:
    return datetime.now(UTC)


def age_band_for(age: int) -> str:
    if age < 16:
        return "under_16"
    if age < 18:
        return "16_17"
    if age < 21:
        return "18_20"
    return "21_26" if age < 27 else "27_plus"


def activity_day(round_: ConsultationRound) -> date:
    """The day the work is done, for the fiscal year and the age: the round's deadline."""
    return deadline_date(round_.deadline) or today()


async def birth_dates(scope: TenantScope, user_ids) -> dict[int, date]:
    rows = await scope.select(PersonalDetails, PersonalDetails.user, PersonalDetails.date_of_birth).where(
        PersonalDetails.user.is_in(list(user_ids) or [0]) & PersonalDetails.date_of_birth.is_not_null()
    )
    return {row["user"]: row["date_of_birth"] for row in rows}


def age_of(birth: date | None, age_band: str, day: date) -> int:
    return caps.age_on(birth, day) if birth else AGE_FOR_BAND.get(age_band, caps.ADULT_RATE_AGE)


async def agreement_age(scope: TenantScope, agreement: PaymentAgreement, day: date) -> int:
    """The member's age on ``day``: from their date of birth, else the age band of the agreement
    (or, for an agreement without one, of their panel membership)."""
    births = await birth_dates(scope, [agreement.user])
    band = agreement.age_band
    if not band and agreement.panel:
        membership = await scope.objects(PanelMembership).where(
            (PanelMembership.panel == agreement.panel) & (PanelMembership.user == agreement.user)).first()
        band = membership.age_band if membership else ""
    return age_of(births.get(agreement.user), band, day)


# --- terms ------------------------------------------------------------------------------------


async def round_terms(scope: TenantScope, round_id: int) -> RoundTerms | None:
    return await scope.objects(RoundTerms).where(RoundTerms.round == round_id).first()


async def terms_for_form(scope: TenantScope, round_: ConsultationRound) -> dict:
    """The round's terms, or the defaults for the kind of its first invited panel."""
    terms = await round_terms(scope, round_.id)
    if terms is not None:
        return {name: getattr(terms, name) for name in TERM_FIELDS}
    panel_ids = await invited_panel_ids(scope, round_.id)
    panel = await scope.get_or_none(Panel, min(panel_ids)) if panel_ids else None
    return default_terms(scope.tenant, panel.kind if panel else "mixed")


async def save_round_terms(scope: TenantScope, round_: ConsultationRound, values: dict, actor: User) -> int:
    """Set the round's terms. For a sent round they are proposed at once to members who have
    none yet, and replace the terms still waiting for a member's answer. Returns the number of
    members the terms were (again) proposed to."""
    if round_.status == "closed":
        raise AgreementError(_("This round is closed. Its terms can no longer be changed."))
    async with engine().transaction():
        terms = await round_terms(scope, round_.id)
        before = {name: getattr(terms, name) for name in TERM_FIELDS} if terms else None
        if terms is None:
            terms = scope.new(RoundTerms, round=round_.id, updated_by=actor.id, **values)
            await terms.save()
        else:
            await scope.update(RoundTerms, {**{getattr(RoundTerms, k): v for k, v in values.items()},
                                            RoundTerms.updated_by: actor.id, RoundTerms.updated_at: now()}
                               ).where(RoundTerms.id == terms.id)
        await audit.record_in(scope, "round_terms.saved", "consultation_round", round_.id, actor,
                              before=before, after=values)
        if round_.status != "sent":
            return 0
        return await propose_agreements(scope, round_, actor)


def term_check(terms: dict, age: int, day: date, table) -> caps.TermCheck | None:
    """The terms against the caps of a member of ``age`` on the activity ``day``; None for a
    basis outside the volunteer regime, or a year without known caps (approval then asks the
    administrator to add them)."""
    kind = CAPPED_BASES.get(terms["basis"])
    if kind is None:
        return None
    try:
        return caps.check_terms(kind, terms["rate"], terms["planned_hours"], age, day, table)
    except caps.UnknownYear:
        return None


def _agreement_terms(terms: dict, check: caps.TermCheck | None) -> dict:
    """The terms for one member: a rate above their hourly cap becomes the cap (under 21 it is
    lower), so that no agreement carries a rate the caps forbid."""
    return {**terms, "rate": check.rate} if check is not None else dict(terms)


async def _checked_terms(scope: TenantScope, round_: ConsultationRound, members: list[dict],
                         terms: dict | None = None) -> list[tuple[dict, dict, caps.TermCheck | None]]:
    """(member, terms, check) for each member: ``terms``, else the round's terms, else the
    defaults of their panel kind, checked against the caps of their age on the activity day
    (the member's ``age_band`` then follows their date of birth when known). Three queries."""
    saved = await round_terms(scope, round_.id) if terms is None else None
    if saved is not None:
        terms = {name: getattr(saved, name) for name in TERM_FIELDS}
    kinds = {} if terms is not None else {row["id"]: row["kind"] for row in await scope.select(
        Panel, Panel.id, Panel.kind).where(Panel.id.is_in([m["panel_id"] for m in members] or [0]))}
    births = await birth_dates(scope, [m["user_id"] for m in members])
    day, table = activity_day(round_), cap_table_of(scope.tenant)
    result = []
    for member in members:
        base = terms or default_terms(scope.tenant, kinds.get(member["panel_id"], "mixed"))
        age = age_of(births.get(member["user_id"]), member["age_band"], day)
        member = {**member, "age_band": age_band_for(age) if member["user_id"] in births else member["age_band"]}
        result.append((member, base, term_check(base, age, day, table)))
    return result


async def _member_terms(scope: TenantScope, round_: ConsultationRound, members: list[dict]) -> list[tuple[dict, dict]]:
    """(member, terms) for each member, as proposed to them (see ``_checked_terms``)."""
    return [(member, _agreement_terms(base, check))
            for member, base, check in await _checked_terms(scope, round_, members)]


class TermExcess(NamedTuple):
    """A cap the terms exceed for a member: their display name and age band (never the date of
    birth), and the cap with the excess (an hourly cap per hour)."""

    display_name: str
    age_band: str
    use: caps.CapUse


def _one_per_person(members: list[dict]) -> list[dict]:
    """Each person once, in their first panel (they get one agreement per round)."""
    people: dict[int, dict] = {}
    for member in members:
        people.setdefault(member["user_id"], member)
    return list(people.values())


async def terms_above_caps(scope: TenantScope, round_: ConsultationRound, terms: dict | None = None,
                           members: list[dict] | None = None) -> list[TermExcess]:
    """Every cap ``terms`` (else the terms each member is proposed) exceed for a member of the
    round, by name. A constant number of queries."""
    if members is None:
        members = await active_members_of_panels(scope, await invited_panel_ids(scope, round_.id))
    members = _one_per_person(members)
    excesses = [TermExcess(member["display_name"] or _("Former participant"), member["age_band"], use)
                for member, _terms, check in await _checked_terms(scope, round_, members, terms)
                if check is not None for use in check.exceeded]
    return sorted(excesses, key=lambda excess: excess.display_name.casefold())


def names_over_caps(excesses: list[TermExcess]) -> str:
    """The members of ``excesses``, each once, for a message."""
    return ", ".join(sorted({excess.display_name for excess in excesses}, key=str.casefold))


async def propose_agreements(scope: TenantScope, round_: ConsultationRound, actor: User | None,
                             panel_ids: list[int] | None = None, *, newcomers: Collection[int] | None = None) -> int:
    """Propose terms to the active members of the round's panels (call inside a transaction).

    A member without agreements gets both; agreements still ``proposed`` get the new terms (and
    the member's change request is answered by that). Accepted agreements are left alone.
    With ``newcomers`` (user ids) only those of them without any agreement in the round get
    both, and nothing that exists changes: nobody gets a second agreement.
    """
    panel_ids = panel_ids if panel_ids is not None else await invited_panel_ids(scope, round_.id)
    members: dict[int, dict] = {}
    for member in await active_members_of_panels(scope, panel_ids):
        members.setdefault(member["user_id"], member)  # one agreement per person, first panel
    existing_payment = {row.user: row for row in await scope.objects(PaymentAgreement).where(
        PaymentAgreement.round == round_.id)}
    existing_ownership = {row.user: row for row in await scope.objects(OwnershipAgreement).where(
        OwnershipAgreement.round == round_.id)}
    if newcomers is not None:
        members = {user_id: member for user_id, member in members.items() if user_id in newcomers
                   and user_id not in existing_payment and user_id not in existing_ownership}
    fiscal_year = activity_day(round_).year
    proposed = 0
    for member, terms in await _member_terms(scope, round_, list(members.values())):
        user_id = member["user_id"]
        payment = {name: terms[name] for name in PAYMENT_TERM_FIELDS}
        payment.update(unit=unit_of(terms["basis"]), fiscal_year=fiscal_year, age_band=member["age_band"])
        ownership = {name: terms[name] for name in OWNERSHIP_TERM_FIELDS}
        changed = await _propose(scope, PaymentAgreement, existing_payment.get(user_id), round_, member,
                                 payment, actor, "payment_agreement")
        changed |= await _propose(scope, OwnershipAgreement, existing_ownership.get(user_id), round_, member,
                                  ownership, actor, "ownership_agreement")
        proposed += changed
    return proposed


async def _propose(scope, table, existing, round_, member, values: dict, actor, object_type: str) -> bool:
    if existing is None:
        row = scope.new(table, round=round_.id, user=member["user_id"], panel=member["panel_id"],
                        status="proposed", **values)
        await row.save()
        await audit.record_in(scope, f"{object_type}.proposed", object_type, row.id, actor,
                              after={"round_id": round_.id, "user_id": member["user_id"], **values})
        return True
    if existing.status != "proposed" or all(getattr(existing, k) == v for k, v in values.items()):
        return False
    before = {k: getattr(existing, k) for k in values}
    await scope.update(table, {**{getattr(table, k): v for k, v in values.items()}, table.change_request: ""}
                       ).where(table.id == existing.id)
    await audit.record_in(scope, f"{object_type}.proposed_again", object_type, existing.id, actor,
                          before=before, after=values)
    return True


async def propose_to_member(scope: TenantScope, payment: PaymentAgreement, values: dict, actor: User) -> None:
    """Other terms for one member (after they asked for a change): each of their agreements that
    is still proposed gets them; accepted ones stay as they are."""
    _payment, ownership = await agreements_of(scope, payment.round, payment.user or 0)
    if payment.status != "proposed" and (ownership is None or ownership.status != "proposed"):
        raise TransitionError(_("The member has accepted both agreements. Withdraw the payment agreement "
                                "to make a new one."))
    round_ = await scope.get(ConsultationRound, payment.round)
    day = activity_day(round_)
    _check_member_rate(values, await agreement_age(scope, payment, day), day, cap_table_of(scope.tenant))
    member = {"user_id": payment.user, "panel_id": payment.panel}
    payment_values = {name: values[name] for name in PAYMENT_TERM_FIELDS}
    payment_values["unit"] = unit_of(values["basis"])
    async with engine().transaction():
        await _propose(scope, PaymentAgreement, payment, round_, member, payment_values, actor, "payment_agreement")
        if ownership is not None:
            await _propose(scope, OwnershipAgreement, ownership, round_, member,
                           {name: values[name] for name in OWNERSHIP_TERM_FIELDS}, actor, "ownership_agreement")


def _check_member_rate(values: dict, age: int, day: date, table) -> None:
    """Terms for one member may not carry a rate above their own hourly cap."""
    check = term_check(values, age, day, table)
    for use in check.exceeded if check is not None else ():
        if use.cap == caps.HOURLY_CAP:
            raise AgreementError(_(
                "On the activity date this member is in the age group %(band)s, with a volunteer allowance cap "
                "of %(cap)s an hour. This rate is %(excess)s above it: choose at most %(cap)s.",
                band=_(AGE_BAND_LABELS[age_band_for(age)]), cap=format_money(use.limit),
                excess=format_money(use.excess)), "rate")


async def member_terms(scope: TenantScope, payment: PaymentAgreement) -> dict:
    """The terms of one member's two agreements, to fill the form."""
    _payment, ownership = await agreements_of(scope, payment.round, payment.user or 0)
    terms = {name: getattr(payment, name) for name in PAYMENT_TERM_FIELDS}
    source = ownership if ownership is not None else await terms_for_form(scope, await scope.get(ConsultationRound, payment.round))
    terms.update({name: source[name] if isinstance(source, dict) else getattr(source, name) for name in OWNERSHIP_TERM_FIELDS})
    return terms


async def propose_on_send(scope: TenantScope, round_: ConsultationRound, actor: User | None,
                          panel_ids: list[int]) -> None:
    """The rounds feature's ``ROUND_SENT_HOOKS``: propose terms when a round reaches members."""
    await propose_agreements(scope, round_, actor, panel_ids)


async def propose_on_activation(scope: TenantScope, membership: PanelMembership, actor: User | None) -> None:
    """The panels feature's ``MEMBERSHIP_ACTIVATED_HOOKS``: someone who becomes active in a panel
    (joined, a guardian consented, a pause ended) after a round was sent to it gets its terms,
    in every sent round (not closed) the panel is invited to, unless they have agreements there."""
    rounds = await scope.objects(ConsultationRound).where(
        (ConsultationRound.status == "sent") & ConsultationRound.id.is_in(
            scope.select(RoundPanel, RoundPanel.round).where(RoundPanel.panel == membership.panel))
    ).order_by(ConsultationRound.id)
    for round_ in rounds:
        if not await _sent_before_agreements(scope, round_, membership.user):
            await propose_agreements(scope, round_, actor, newcomers={membership.user})


async def _sent_before_agreements(scope: TenantScope, round_: ConsultationRound, newcomer: int) -> bool:
    """A round whose members have no agreements at all: sent before agreements existed, and left
    as it was (one newcomer's agreements would stop the others from posting)."""
    if await scope.exists(PaymentAgreement).where(PaymentAgreement.round == round_.id):
        return False
    members = await active_members_of_panels(scope, await invited_panel_ids(scope, round_.id))
    return any(member["user_id"] != newcomer for member in members)


async def propose_to_members_without(scope: TenantScope, round_: ConsultationRound, actor: User) -> int:
    """The officer proposes the round's terms now to each active member of its panels who has no
    agreements in it yet; nobody gets a second one. Returns how many members got them."""
    if round_.status != "sent":
        raise AgreementError(_("Terms are proposed to the members of a sent round only. A draft round "
                               "proposes them when it is sent; a closed round no longer."))
    async with engine().transaction():
        members = await active_members_of_panels(scope, await invited_panel_ids(scope, round_.id))
        return await propose_agreements(scope, round_, actor, newcomers={member["user_id"] for member in members})


# --- the member's answer ----------------------------------------------------------------------


def _check_own(agreement, user: User) -> None:
    if agreement.user != user.id:
        raise AgreementError(_("Only the member this agreement is with can answer it."))


async def accept(scope: TenantScope, agreement, user: User) -> None:
    """The member accepts a payment (-> agreed) or ownership (-> accepted) agreement."""
    _check_own(agreement, user)
    payment = isinstance(agreement, PaymentAgreement)
    table, target = (PaymentAgreement, "agreed") if payment else (OwnershipAgreement, "accepted")
    check_transition(PAYMENT_TRANSITIONS if payment else OWNERSHIP_TRANSITIONS, agreement.status, target)
    stamp = PaymentAgreement.agreed_at if payment else OwnershipAgreement.accepted_at
    async with engine().transaction():
        changed = await scope.update(table, {table.status: target, stamp: now(), table.change_request: ""}).where(
            (table.id == agreement.id) & (table.status == "proposed")).returning(table.id)
        if not changed:
            raise TransitionError(_("This agreement has changed meanwhile. Look at it again."))
        await audit.record_in(scope, f"{table._meta.tablename}.{target}", table._meta.tablename, agreement.id,
                              user, before={"status": "proposed"}, after={"status": target})
    agreement.status = target


async def request_change(scope: TenantScope, agreement, user: User, message: str) -> None:
    """The member asks for other terms; the agreement stays proposed until the officer answers."""
    _check_own(agreement, user)
    message = message.strip()
    if not message:
        raise AgreementError(_("Write what you would like to change."), "change_request")
    if len(message) > MAX_CHANGE_REQUEST:
        raise AgreementError(_("Write at most %(max)s characters.", max=MAX_CHANGE_REQUEST), "change_request")
    if agreement.status != "proposed":
        raise TransitionError(_("You have already accepted this agreement. Ask the officer to change it."))
    table = type(agreement)
    async with engine().transaction():
        await scope.update(table, {table.change_request: message}).where(table.id == agreement.id)
        await audit.record_in(scope, f"{table._meta.tablename}.change_requested", table._meta.tablename,
                              agreement.id, user, after={"length": len(message)})
    agreement.change_request = message


async def withdraw(scope: TenantScope, agreement, actor: User) -> None:
    table = type(agreement)
    transitions = PAYMENT_TRANSITIONS if table is PaymentAgreement else OWNERSHIP_TRANSITIONS
    check_transition(transitions, agreement.status, "withdrawn")
    async with engine().transaction():
        await scope.update(table, {table.status: "withdrawn"}).where(
            (table.id == agreement.id) & (table.status == agreement.status))
        await audit.record_in(scope, f"{table._meta.tablename}.withdrawn", table._meta.tablename, agreement.id,
                              actor, before={"status": agreement.status}, after={"status": "withdrawn"})
    agreement.status = "withdrawn"


# --- reading ----------------------------------------------------------------------------------


async def agreements_of(scope: TenantScope, round_id: int, user_id: int) -> tuple[PaymentAgreement | None, OwnershipAgreement | None]:
    payment = await scope.objects(PaymentAgreement).where(
        (PaymentAgreement.round == round_id) & (PaymentAgreement.user == user_id)).first()
    ownership = await scope.objects(OwnershipAgreement).where(
        (OwnershipAgreement.round == round_id) & (OwnershipAgreement.user == user_id)).first()
    return payment, ownership


ACCEPTED_PAYMENT = ("agreed", "hours_logged", "submitted", "paid")


async def may_post(scope: TenantScope, round_id: int, user_id: int) -> str | None:
    """Why this member may not post in the round yet, or None. Rounds sent before agreements
    existed (no agreements at all) are left as they were."""
    if not await scope.exists(PaymentAgreement).where(PaymentAgreement.round == round_id):
        return None
    payment, ownership = await agreements_of(scope, round_id, user_id)
    if payment is None or ownership is None:
        return _("No agreements have been proposed to you for this round yet. Ask the policy officer.")
    if payment.status not in ACCEPTED_PAYMENT or ownership.status != "accepted":
        return _("Accept your payment and ownership agreements for this round before you post.")
    return None


async def posting_check(scope: TenantScope, access, author: User) -> str | None:
    """The deliberation's ``POSTING_CHECKS`` entry: members (not officers) need both agreements."""
    if access.is_officer or access.round is None or not access.is_member:
        return None
    return await may_post(scope, access.round.id, author.id)


async def round_agreements(scope: TenantScope, round_: ConsultationRound) -> list[dict]:
    """Every member's two agreements in a round, for the officer; in a sent round also each
    active member of its panels who has none yet (``id`` None: they cannot post). Five queries,
    however many members."""
    payments = await scope.select(
        PaymentAgreement, *PaymentAgreement.all_columns(), PaymentAgreement.panel.name.as_alias("panel_name"),
    ).where(PaymentAgreement.round == round_.id).order_by(PaymentAgreement.id)
    ownerships = {row["user"]: row for row in await scope.select(OwnershipAgreement).where(
        OwnershipAgreement.round == round_.id)}
    names = await display_names(scope, [row["user"] for row in payments if row["user"]])
    for row in payments:
        row["ownership"] = ownerships.get(row["user"])
        row["display_name"] = names.get(row["user"]) or _("Former participant")
    if round_.status == "sent":
        having = {row["user"] for row in payments} | set(ownerships)
        payments.extend(await _members_without_agreements(scope, round_.id, having))
    return payments


async def _members_without_agreements(scope: TenantScope, round_id: int, having: set[int]) -> list[dict]:
    """The active members of the round's panels not in ``having``, as rows of the officer's
    table without agreements, by name (two queries)."""
    panel_names = {row["id"]: row["name"] for row in await invited_panels(scope, round_id)}
    members: dict[int, dict] = {}
    for member in await active_members_of_panels(scope, list(panel_names)):
        if member["user_id"] not in having:
            members.setdefault(member["user_id"], {
                "id": None, "user": member["user_id"], "display_name": member["display_name"],
                "panel_name": panel_names[member["panel_id"]], "status": None, "ownership": None,
                "change_request": ""})
    return sorted(members.values(), key=lambda row: (row["display_name"] or "").casefold())


async def display_names(scope: TenantScope, user_ids: list[int]) -> dict[int, str]:
    """The name each person shows in this tenant (their panel-member name first)."""
    rows = await scope.select(Membership, Membership.user, Membership.display_name, Membership.role).where(
        Membership.user.is_in(list(user_ids) or [0]))
    names: dict[int, str] = {}
    for row in sorted(rows, key=lambda r: r["role"] != "panel_member"):
        names.setdefault(row["user"], row["display_name"])
    return names


async def my_agreements(scope: TenantScope, user_id: int) -> list[dict]:
    """The member's agreements in every round, newest round first (two queries)."""
    payments = await scope.select(
        PaymentAgreement, *PaymentAgreement.all_columns(), PaymentAgreement.round.title.as_alias("round_title"),
    ).where(PaymentAgreement.user == user_id).order_by(PaymentAgreement.round, ascending=False)
    ownerships = {row["round"]: row for row in await scope.select(OwnershipAgreement).where(
        OwnershipAgreement.user == user_id)}
    for row in payments:
        row["ownership"] = ownerships.get(row["round"])
    return payments


async def agreements_section(scope: TenantScope, user_id: int) -> dict:
    """For a member's start page: agreements waiting for an answer, and whether a guardian must
    still consent (two to four queries)."""
    from portal.privacy.service import has_guardian_consent, is_under_guardian_age

    waiting = await scope.select(
        PaymentAgreement, PaymentAgreement.id, PaymentAgreement.round.title.as_alias("round_title"),
    ).where((PaymentAgreement.user == user_id) & (
        (PaymentAgreement.status == "proposed") | PaymentAgreement.round.is_in(
            scope.select(OwnershipAgreement, OwnershipAgreement.round).where(
                (OwnershipAgreement.user == user_id) & (OwnershipAgreement.status == "proposed")))
    )).order_by(PaymentAgreement.id)
    guardian_needed = await is_under_guardian_age(scope, user_id) and not await has_guardian_consent(scope, user_id)
    return {"agreements_to_answer": waiting, "guardian_needed": guardian_needed}


async def terms_warning(scope: TenantScope, round_: ConsultationRound, members: list[dict]) -> list[str]:
    """The rounds feature's ``ROUND_WARNING_CHECKS``: who the terms exceed a cap for, so that the
    officer sees it before sending the round as well as on the terms page."""
    excesses = await terms_above_caps(scope, round_, members=members)
    if not excesses:
        return []
    return [_("The payment terms are above a volunteer allowance cap for %(names)s. A rate above a member's "
              "hourly cap is proposed to them as the cap; the terms page shows each cap and by how much.",
              names=names_over_caps(excesses))]


def personal_story(round_: ConsultationRound) -> bool:
    return round_.need == PERSONAL_STORY_NEED



ROUND_SENT_HOOKS.append(propose_on_send)
MEMBERSHIP_ACTIVATED_HOOKS.append(propose_on_activation)
ROUND_WARNING_CHECKS.append(terms_warning)
POSTING_CHECKS.append(posting_check)
