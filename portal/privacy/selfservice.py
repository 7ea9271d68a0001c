"""Privacy self-service: download my data, erase me, withdraw a contribution.

Each feature adds its part through ``portal/privacy/registry.py``; this module registers the
parts of the features built before privacy (accounts, panels, invitations, deliberation, consent).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import LOCALES, N_, _
from portal.core.mail import OutboxMessage
from portal.core.templating import role_label
from portal.core.tenancy import TenantScope, own_rows_across_tenants
from portal.deliberation.tables import Post, PostRevision
from portal.invitations.tables import Invitation
from portal.panels.rules import AGE_BAND_LABELS, MEMBERSHIP_STATUS_LABELS
from portal.panels.tables import PanelMembership
from portal.privacy.readable import Part, day, label, record, when
from portal.privacy.registry import (
    CONTRIBUTIONS,
    ERASURE_STEPS,
    EXPORT_SECTIONS,
    Contributions,
    ExportSection,
)
from portal.privacy.rules import (
    BENEFIT_LABELS,
    CONSENT_GIVER_LABELS,
    CONSENT_KIND_LABELS,
)
from portal.privacy.service import PrivacyError
from portal.privacy.tables import Consent, GuardianRequest, PersonalDetails
from portal.rounds.service import format_hours
from portal.tenants.tables import Tenant


def now() -> datetime:
    return datetime.now(UTC)


# --- download my data -------------------------------------------------------------------------


async def _account(scope: TenantScope, user: User) -> dict:
    return {"email": user.email, "name": user.name, "language": user.locale, "created_at": user.created_at,
            "last_login_at": user.last_login_at}


def _present_account(account: dict) -> list[Part]:
    details = record(
        _("Your account"), (_("Name"), account["name"]), (_("Email address"), account["email"]),
        (_("Language"), LOCALES.get(account["language"] or "")),
        (_("Account made on"), when(account["created_at"])),
        (_("Last logged in on"), when(account["last_login_at"])))
    return [Part(_("Your account"),
                 _("The details you log in with. They are the same in every space of the portal."), [details])]


async def _roles(scope: TenantScope, user: User) -> list[dict]:
    return await scope.select(Membership, Membership.role, Membership.display_name, Membership.created_at).where(
        Membership.user == user.id)


def _present_roles(roles: list[dict]) -> list[Part]:
    records = [record(role_label(row["role"]), (_("Name others see"), row["display_name"]),
                      (_("Since"), when(row["created_at"]))) for row in roles]
    return [Part(_("Your roles"), _("What you do in this space, and the name other people see."), records)]


async def _panels(scope: TenantScope, user: User) -> list[dict]:
    return await scope.select(
        PanelMembership, PanelMembership.panel.name.as_alias("panel"), PanelMembership.status,
        PanelMembership.age_band, PanelMembership.monthly_hours_budget, PanelMembership.created_at,
    ).where(PanelMembership.user == user.id)


def _present_panels(panels: list[dict]) -> list[Part]:
    records = [record(
        row["panel"], (_("Status"), label(MEMBERSHIP_STATUS_LABELS, row["status"])),
        (_("Age band"), label(AGE_BAND_LABELS, row["age_band"])),
        (_("Time budget per month"), _("%(hours)s hours", hours=format_hours(row["monthly_hours_budget"]))),
        (_("Invited on"), when(row["created_at"]))) for row in panels]
    return [Part(_("Your panels"), _("The panels you were invited to or take part in."), records)]


async def _posts(scope: TenantScope, user: User) -> list[dict]:
    return await scope.select(
        Post, Post.id, Post.thread.title.as_alias("conversation"), Post.body_markdown.as_alias("text"),
        Post.created_at, Post.edited_at, Post.deleted_at,
    ).where(Post.author == user.id).order_by(Post.id)


def _present_posts(posts: list[dict]) -> list[Part]:
    records = [record(
        _("Post of %(moment)s", moment=when(row["created_at"])), (_("Conversation"), row["conversation"]),
        (_("Changed on"), when(row["edited_at"])), (_("Withdrawn on"), when(row["deleted_at"])),
        (_("Text"), row["text"])) for row in posts]
    return [Part(_("Your posts"), _("What you wrote in the conversations of your panels. "
                                    "A post you withdrew has no text any more."), records)]


async def _consents(scope: TenantScope, user: User) -> list[dict]:
    return await scope.select(Consent, Consent.kind, Consent.given_by, Consent.text_version, Consent.given_at,
                              Consent.withdrawn_at).where(Consent.user == user.id).order_by(Consent.id)


def _present_consents(consents: list[dict]) -> list[Part]:
    records = [record(
        label(CONSENT_KIND_LABELS, row["kind"]), (_("Given by"), label(CONSENT_GIVER_LABELS, row["given_by"])),
        (_("Given on"), when(row["given_at"])), (_("Withdrawn on"), when(row["withdrawn_at"]) or _("not withdrawn")),
        (_("Version of the text"), row["text_version"])) for row in consents]
    return [Part(_("Your consents"), _("What you gave permission for, and when. You can withdraw a consent "
                                       "on the page Privacy and consent."), records)]


async def _details(scope: TenantScope, user: User) -> dict:
    details = await scope.select(PersonalDetails, PersonalDetails.date_of_birth, PersonalDetails.benefit).where(
        PersonalDetails.user == user.id)
    guardians = await scope.select(GuardianRequest, GuardianRequest.guardian_email, GuardianRequest.created_at,
                                   GuardianRequest.confirmed_at).where(GuardianRequest.user == user.id)
    return {"details": details, "guardian_requests": guardians}


def _present_details(data: dict) -> list[Part]:
    details = [record(_("Your date of birth and benefit"), (_("Date of birth"), day(row["date_of_birth"]) or _("not given")),
                      (_("Benefit"), label(BENEFIT_LABELS, row["benefit"]))) for row in data["details"]]
    requests = [record(_("Request of %(moment)s", moment=when(row["created_at"])),
                       (_("Email address"), row["guardian_email"]),
                       (_("Confirmed on"), when(row["confirmed_at"]) or _("not confirmed yet")))
                for row in data["guardian_requests"]]
    return [
        Part(_("Your date of birth and benefit"), _("Your date of birth is only used for your age on the day of an activity. "
                                  "A benefit only shows you a reminder."), details),
        Part(_("Requests to your parent or guardian"),
             _("The emails the portal sent to your parent or guardian to ask for consent."), requests),
    ]


# Who the person is and what they agreed to here: first on the readable page.
PERSONAL_SECTIONS = {
    "account": ExportSection(_account, _present_account), "roles": ExportSection(_roles, _present_roles),
    "panels": ExportSection(_panels, _present_panels), "consents": ExportSection(_consents, _present_consents),
    "personal_details": ExportSection(_details, _present_details), "posts": ExportSection(_posts, _present_posts),
}
EXPORT_SECTIONS.update(PERSONAL_SECTIONS)


async def my_data(scope: TenantScope, user: User) -> dict:
    return {name: await section.collect(scope, user) for name, section in EXPORT_SECTIONS.items()}


def readable_parts(data: dict) -> list[Part]:
    """The parts of the readable page, section by section, from the data ``my_data`` gave: the
    person's own first, then those of the features (agreements, advice)."""
    sections = {**PERSONAL_SECTIONS, **EXPORT_SECTIONS}
    return [part for name, section in sections.items() for part in section.present(data[name])]


def _json(data: dict) -> str:
    return json.dumps(data, default=str, ensure_ascii=False, indent=2, sort_keys=True)


def download_zip(data: dict, readable_html: str) -> bytes:
    """A zip with the data as JSON (for a computer) and as a page (for a person)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mijn-gegevens.json", _json(data))
        archive.writestr("mijn-gegevens.html", readable_html)
    return buffer.getvalue()


# --- withdraw a contribution ------------------------------------------------------------------


async def _own_posts(scope: TenantScope, user: User) -> list[dict]:
    rows = await scope.select(Post, Post.id, Post.thread.title.as_alias("title"), Post.created_at).where(
        (Post.author == user.id) & Post.deleted_at.is_null()).order_by(Post.id)
    # Posts are read inside the panels, never published on the portal.
    return [{**row, "published": False} for row in rows]


async def _withdraw_post(scope: TenantScope, user: User, post_id: int) -> None:
    post = await scope.get_or_none(Post, post_id)
    if post is None or post.author != user.id or post.deleted_at is not None:
        raise LookupError(post_id)
    await scope.delete(PostRevision).where(PostRevision.post == post.id)
    await scope.update(Post, {Post.deleted_at: now(), Post.body_markdown: "", Post.body_html: ""}).where(
        Post.id == post.id)


CONTRIBUTIONS["post"] = Contributions(_own_posts, _withdraw_post, N_("Post in a conversation"))


async def my_contributions(scope: TenantScope, user: User) -> list[dict]:
    result = []
    for kind, contributions in CONTRIBUTIONS.items():
        result.extend({**row, "kind": kind, "label": contributions.label} for row in await contributions.list_own(scope, user))
    return result


async def withdraw_contribution(scope: TenantScope, user: User, kind: str, contribution_id: int) -> None:
    contributions = CONTRIBUTIONS.get(kind)
    if contributions is None:
        raise PrivacyError(_("This contribution cannot be found, or it was already withdrawn."))
    async with engine().transaction():
        try:
            await contributions.withdraw(scope, user, contribution_id)
        except LookupError as error:
            raise PrivacyError(_("This contribution cannot be found, or it was already withdrawn.")) from error
        await audit.record_in(scope, "contribution.withdrawn", kind, contribution_id, user, after={"kind": kind})


async def withdraw_all_contributions(scope: TenantScope, user: User) -> int:
    """Withdraw everything the person wrote here, each audited, in one transaction; how many."""
    contributions = await my_contributions(scope, user)
    async with engine().transaction():
        for item in contributions:
            await withdraw_contribution(scope, user, item["kind"], item["id"])
    return len(contributions)


# --- erase me ---------------------------------------------------------------------------------


async def _end_panel_memberships(scope: TenantScope, user: User) -> None:
    await scope.update(PanelMembership, {PanelMembership.status: "ended", PanelMembership.invited_email: ""}).where(
        PanelMembership.user == user.id)
    # Invitations to a panel never accepted: the address goes, the place is withdrawn.
    await scope.update(PanelMembership, {PanelMembership.status: "withdrawn", PanelMembership.invited_email: ""}).where(
        PanelMembership.user.is_null() & (PanelMembership.invited_email == user.email))


async def _delete_invitations(scope: TenantScope, user: User) -> None:
    await scope.delete(Invitation).where((Invitation.email == user.email) | (Invitation.accepted_by == user.id))


ERASURE_STEPS.extend([_end_panel_memberships, _delete_invitations])


async def _forget_outbox(user: User) -> None:
    """The development outbox keeps sent emails: those to or about the person go."""
    for needle in {user.email, user.name}:
        if needle:
            await OutboxMessage.delete().where(
                (OutboxMessage.recipient == user.email) | OutboxMessage.subject.like(f"%{needle}%")
                | OutboxMessage.body.like(f"%{needle}%"))


async def erase_account(user_id: int) -> int:
    """Delete the person's identity and login everywhere; contributions stay as "former
    participant", financial records in restricted form. Returns the number of tenants."""
    user = await User.objects().where(User.id == user_id).first()
    if user is None:
        raise PrivacyError(_("This account has already been erased."))
    tenant_ids = {row["tenant"] for row in await own_rows_across_tenants(Membership, user.id, Membership.tenant)}
    # Every tenant: an invitation the person never accepted holds their address there too.
    all_tenants = await Tenant.objects()
    tenants = [tenant for tenant in all_tenants if tenant.id in tenant_ids]
    async with engine().transaction():
        for tenant in all_tenants:
            scope = TenantScope(tenant)
            for step in list(ERASURE_STEPS):
                await step(scope, user)
        await _forget_outbox(user)
        deleted = await User.delete().where(User.id == user.id).returning(User.id)
        if not deleted:
            raise PrivacyError(_("This account has already been erased."))
        for tenant in tenants:
            await audit.record_in(TenantScope(tenant), "account.erased", "account", user_id, None,
                                  after={"erased_on": date.today()})
    return len(tenants)
