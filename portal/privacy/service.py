"""Consent records, the guardian's confirmation for members under 16, and personal details.

A member takes part (posts, advice, votes) only with consent to processing of their lived
experience (``participation_check``, one of the deliberation's ``PARTICIPATION_CHECKS``). A
member under 16 (by date of birth, or by the age band they were invited with) is not activated
in a panel until a guardian confirmed by email (``ACTIVATION_HOLDS`` of the panels feature); the
guardian gives that consent on their behalf. Nothing of theirs is published without it
(``may_publish``). At 16 they are asked to consent themselves. Whatever a hold depends on (a
date of birth, a consent) has the panels feature decide again (``reevaluate_activation``) in the
same transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from portal.accounts.tables import User
from portal.agreements.caps import age_on
from portal.core import audit
from portal.core.database import engine
from portal.core.hooks import Reason
from portal.core.i18n import _
from portal.core.mail import MailService
from portal.core.security import hash_token, new_token
from portal.core.tenancy import TenantScope
from portal.deliberation.access import PARTICIPATION_CHECKS
from portal.panels.service import ACTIVATION_HOLDS, reevaluate_activation
from portal.panels.tables import PanelMembership
from portal.privacy.rules import (
    BENEFIT_LABELS,
    BENEFIT_REMINDERS,
    CONSENT_TEXT_VERSION,
    EXPERIENCE_CONSENT,
    GUARDIAN_AGE,
    GUARDIAN_CONSENT,
    GUARDIAN_GIVES,
    GUARDIAN_LINK_DAYS,
    SELF_CONSENTS,
)
from portal.privacy.tables import Consent, GuardianRequest, PersonalDetails


class PrivacyError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def now() -> datetime:
    return datetime.now(UTC)


async def details_of(scope: TenantScope, user_id: int) -> PersonalDetails | None:
    return await scope.objects(PersonalDetails).where(PersonalDetails.user == user_id).first()


def _is_real_birth_date(birth: date) -> bool:
    return date(1900, 1, 1) <= birth <= date.today()


async def _store_details(scope: TenantScope, user_id: int, **values) -> None:
    details = await details_of(scope, user_id)
    if details is None:
        await scope.new(PersonalDetails, user=user_id, **values).save()
    else:
        await scope.update(PersonalDetails, {**{getattr(PersonalDetails, name): value for name, value in values.items()},
                                             PersonalDetails.updated_at: now()}).where(PersonalDetails.id == details.id)


async def save_details(scope: TenantScope, user: User, birth: date | None, benefit: str) -> dict[int, str]:
    """The member's own details. A date of birth can lift or bring a guardian hold: returns the
    panel memberships whose status changed (``reevaluate_activation``)."""
    if benefit not in BENEFIT_LABELS:
        raise PrivacyError(_("Choose a benefit from the list."), "benefit")
    if birth is not None and not _is_real_birth_date(birth):
        raise PrivacyError(_("Enter your real date of birth."), "date_of_birth")
    async with engine().transaction():
        await _store_details(scope, user.id, date_of_birth=birth, benefit=benefit)
        # The audit log says that the details changed, never what they are.
        await audit.record_in(scope, "personal_details.saved", "account", user.id, user,
                              after={"date_of_birth_given": birth is not None, "benefit_given": bool(benefit)})
        return await reevaluate_activation(scope, user, user, by="date_of_birth")


async def correct_date_of_birth(scope: TenantScope, membership: PanelMembership, birth: date | None,
                                actor: User) -> dict[int, str]:
    """An officer corrects the wrong date of birth of the member of ``membership`` (found through
    ``scope``). Audited without the value; activation is decided again, as when the member saves
    it. Returns the panel memberships whose status changed."""
    if membership.status == "ended":
        raise PrivacyError(_("This membership has ended and can no longer be changed."), "date_of_birth")
    if membership.user is None:
        raise PrivacyError(_("This person has not accepted the invitation yet, so there is no date of birth to correct."),
                           "date_of_birth")
    if birth is None or not _is_real_birth_date(birth):
        raise PrivacyError(_("Enter a real date of birth: not in the future and not before 1900."), "date_of_birth")
    member = await User.objects().get(User.id == membership.user)
    async with engine().transaction():
        await _store_details(scope, member.id, date_of_birth=birth)
        await audit.record_in(scope, "personal_details.corrected", "account", member.id, actor,
                              after={"date_of_birth_given": True})
        return await reevaluate_activation(scope, member, actor, by="date_of_birth")


async def benefit_reminder(scope: TenantScope, user_id: int) -> str | None:
    """The reminder that matches the benefit the member declared (none declared: none)."""
    details = await details_of(scope, user_id)
    label = BENEFIT_REMINDERS.get(details.benefit) if details else None
    return _(label) if label else None


async def is_under_guardian_age(scope: TenantScope, user_id: int, age_band: str = "") -> bool:
    """By the date of birth when given, else by an age band (``age_band``: that of an invitation
    not yet among the memberships)."""
    if age_band == "under_16":
        details = await details_of(scope, user_id)
        if details is None or details.date_of_birth is None:
            return True
    return user_id in await under_guardian_age(scope, [user_id])


async def under_guardian_age(scope: TenantScope, user_ids: list[int]) -> set[int]:
    """``is_under_guardian_age`` for many people at once (two queries)."""
    births = {row["user"]: row["date_of_birth"] for row in await scope.select(
        PersonalDetails, PersonalDetails.user, PersonalDetails.date_of_birth,
    ).where(PersonalDetails.user.is_in(user_ids or [0]) & PersonalDetails.date_of_birth.is_not_null())}
    banded = {row["user"] for row in await scope.select(PanelMembership, PanelMembership.user).where(
        PanelMembership.user.is_in(user_ids or [0]) & (PanelMembership.age_band == "under_16"))}
    today = date.today()
    return {user_id for user_id in user_ids
            if (age_on(births[user_id], today) < GUARDIAN_AGE if user_id in births else user_id in banded)}


async def active_consents(scope: TenantScope, user_id: int) -> dict[str, Consent]:
    rows = await scope.objects(Consent).where((Consent.user == user_id) & Consent.withdrawn_at.is_null())
    return {row.kind: row for row in rows}


async def has_guardian_consent(scope: TenantScope, user_id: int) -> bool:
    return GUARDIAN_CONSENT in await active_consents(scope, user_id)


async def give_consent(scope: TenantScope, user: User, kind: str) -> None:
    if kind not in SELF_CONSENTS:
        raise PrivacyError(_("Choose a consent from the list."))
    if kind == EXPERIENCE_CONSENT and await is_under_guardian_age(scope, user.id):
        raise PrivacyError(_("You are under 16: your parent or guardian gives this consent for you."))
    async with engine().transaction():
        current = (await active_consents(scope, user.id)).get(kind)
        if current is not None and current.given_by == "self":
            return
        if current is not None:  # the member's own consent (at 16) takes over from their guardian's
            await scope.update(Consent, {Consent.withdrawn_at: now()}).where(Consent.id == current.id)
            await audit.record_in(scope, "consent.withdrawn", "consent", current.id, user,
                                  before={"kind": kind, "given_by": current.given_by}, after={"replaced_by_own": True})
        await _record_consent(scope, user.id, kind, "self", user)
        await reevaluate_activation(scope, user, user, by="consent")


async def give_joining_consents(scope: TenantScope, user: User, kinds: tuple[str, ...]) -> None:
    """On accepting a panel invitation (inside its transaction): the consents ticked on the form,
    and the account consent that accepting gives. Under 16 the guardian gives the account and
    experience consents (``GUARDIAN_GIVES``) when they confirm."""
    under_16 = await is_under_guardian_age(scope, user.id)
    for kind in dict.fromkeys(("account", *kinds)):
        if not (under_16 and kind in GUARDIAN_GIVES):
            await give_consent(scope, user, kind)


async def _record_consent(scope: TenantScope, user_id: int, kind: str, given_by: str, actor: User | None) -> None:
    """One consent with the text version shown, audited (inside the caller's transaction)."""
    consent = scope.new(Consent, user=user_id, kind=kind, given_by=given_by, text_version=CONSENT_TEXT_VERSION)
    await consent.save()
    await audit.record_in(scope, "consent.given", "consent", consent.id, actor,
                          after={"kind": kind, "given_by": given_by, "text_version": CONSENT_TEXT_VERSION,
                                 "user_id": user_id})


async def withdraw_consent(scope: TenantScope, user: User, kind: str) -> None:
    consent = (await active_consents(scope, user.id)).get(kind)
    if consent is None or kind not in SELF_CONSENTS:
        raise PrivacyError(_("This consent was not given, so it cannot be withdrawn."))
    async with engine().transaction():
        await scope.update(Consent, {Consent.withdrawn_at: now()}).where(Consent.id == consent.id)
        await audit.record_in(scope, "consent.withdrawn", "consent", consent.id, user,
                              before={"kind": kind}, after={"withdrawn": True})
        await reevaluate_activation(scope, user, user, by="consent")


async def needs_own_consent(scope: TenantScope, user_id: int) -> bool:
    """A member whose guardian consented and who is 16 now: asked to consent themselves."""
    consents = await active_consents(scope, user_id)
    if GUARDIAN_CONSENT not in consents or await is_under_guardian_age(scope, user_id):
        return False
    own = [c for kind, c in consents.items() if kind in ("account", "experience") and c.given_by == "self"]
    guardian_given = consents[GUARDIAN_CONSENT].given_at
    return len(own) < 2 or any(c.given_at < guardian_given for c in own)


# --- the guardian -------------------------------------------------------------------------------


async def request_guardian_consent(scope: TenantScope, user: User, guardian_email: str, mail: MailService,
                                   base_url: str, display_name: str) -> None:
    """Email the guardian a single-use link (valid GUARDIAN_LINK_DAYS days); an earlier open link
    stops working."""
    if guardian_email == user.email:
        raise PrivacyError(_("Enter the email address of your parent or guardian, not your own."), "guardian_email")
    token, token_hash = new_token()
    expires_at = now() + timedelta(days=GUARDIAN_LINK_DAYS)
    async with engine().transaction():
        await scope.update(GuardianRequest, {GuardianRequest.expires_at: now()}).where(
            (GuardianRequest.user == user.id) & GuardianRequest.confirmed_at.is_null())
        request = scope.new(GuardianRequest, user=user.id, guardian_email=guardian_email, token_hash=token_hash,
                            expires_at=expires_at)
        await request.save()
        await audit.record_in(scope, "guardian_consent.requested", "guardian_request", request.id, user,
                              after={"expires_at": expires_at})
    tenant = scope.tenant
    await mail.send("guardian_consent", guardian_email, tenant.locale, tenant_name=tenant.name,
                    display_name=display_name, link=f"{base_url}/t/{tenant.slug}/guardian/{token}",
                    expires_at=expires_at)


async def guardian_request_for(scope: TenantScope, token: str) -> GuardianRequest | None:
    return await scope.objects(GuardianRequest).where(GuardianRequest.token_hash == hash_token(token)).first()


def guardian_refusal(request: GuardianRequest | None) -> str | None:
    if request is None:
        return _("This link is not valid. Check that you copied the whole link.")
    if request.confirmed_at is not None:
        return _("This link has already been used: your consent was recorded before. Nothing more is needed.")
    if request.expires_at <= now():
        return _("This link has expired. Ask your child to send a new request from the portal.")
    return None


async def confirm_guardian(scope: TenantScope, request: GuardianRequest | None) -> None:
    """The guardian consents (recorded as given by the guardian, with the text version), and the
    member's held panel memberships become active (unless another hold still applies)."""
    if refusal := guardian_refusal(request):
        raise PrivacyError(refusal)
    async with engine().transaction():
        claimed = await scope.update(GuardianRequest, {GuardianRequest.confirmed_at: now()}).where(
            (GuardianRequest.id == request.id) & GuardianRequest.confirmed_at.is_null()
        ).returning(GuardianRequest.id)
        if not claimed:
            raise PrivacyError(guardian_refusal(await scope.get(GuardianRequest, request.id)))
        given = await active_consents(scope, request.user)
        for kind in (GUARDIAN_CONSENT, *GUARDIAN_GIVES):
            if kind not in given:
                await _record_consent(scope, request.user, kind, "guardian", None)
        member = await User.objects().get(User.id == request.user)
        await reevaluate_activation(scope, member, None, by="guardian_consent")


async def guardian_status(scope: TenantScope, user_id: int) -> dict:
    latest = await scope.objects(GuardianRequest).where(GuardianRequest.user == user_id).order_by(
        GuardianRequest.id, ascending=False).first()
    consents = await active_consents(scope, user_id)
    # Confirmed while the guardian's consent to processing lived experience stands: once it is
    # withdrawn, the guardian is asked again.
    return {"required": await is_under_guardian_age(scope, user_id),
            "confirmed": GUARDIAN_CONSENT in consents and EXPERIENCE_CONSENT in consents, "latest": latest}


async def activation_hold(scope: TenantScope, membership: PanelMembership, user: User) -> str | None:
    """The panels feature's ``ACTIVATION_HOLDS``: under 16 without a guardian's consent."""
    if await is_under_guardian_age(scope, user.id, membership.age_band) and not await has_guardian_consent(scope, user.id):
        return _("Your parent or guardian must give consent first.")
    return None


async def may_publish(scope: TenantScope, user_ids) -> set[int]:
    """The people whose contributions may be published: consent to publication, and for those
    under 16 also a guardian's consent. Three queries, however many people."""
    rows = await scope.select(Consent, Consent.user, Consent.kind).where(
        Consent.user.is_in(list(user_ids) or [0]) & Consent.withdrawn_at.is_null())
    kinds: dict[int, set[str]] = {}
    for row in rows:
        kinds.setdefault(row["user"], set()).add(row["kind"])
    consented = [user_id for user_id, given in kinds.items() if "publication" in given]
    minors = await under_guardian_age(scope, consented)
    return {user_id for user_id in consented if user_id not in minors or GUARDIAN_CONSENT in kinds[user_id]}


async def participation_check(scope: TenantScope, access, person: User) -> Reason | None:
    """The deliberation's ``PARTICIPATION_CHECKS`` entry: a member takes part only with consent
    to processing of their lived experience (their own, or under 16 their guardian's). Officers
    and support contacts take part through their work, not their experience: not checked."""
    if access.is_officer or not access.is_member:
        return None
    if EXPERIENCE_CONSENT in await active_consents(scope, person.id):
        return None
    privacy_page = f"/t/{scope.tenant.slug}/privacy#consents"
    if await is_under_guardian_age(scope, person.id):
        return Reason(_("You can take part once your parent or guardian has given consent for the processing "
                        "of your lived experience."), privacy_page, _("Ask your parent or guardian"))
    return Reason(_("You can only post, write advice and vote once you have given consent for the processing "
                    "of your lived experience of youth care."), privacy_page, _("Give your consent on the privacy page"))


ACTIVATION_HOLDS.append(activation_hold)
PARTICIPATION_CHECKS.append(participation_check)
