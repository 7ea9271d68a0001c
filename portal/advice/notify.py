"""Emails of the advice trail, the overdue reminders (``portal send-advice-reminders``) and the
stage-close check.

Emails name the advice and link to it; they never quote the text (it can be personal). They
are sent after the change is committed; an address that fails does not keep the others from
being told.
"""

from __future__ import annotations

import datetime
import logging

from portal.accounts.roles import POLICY_OFFICER, TENANT_ADMIN
from portal.accounts.tables import Membership
from portal.advice.access import advice_panel_ids
from portal.advice.rules import ANSWERED_STATUSES, needs_reasoned_response
from portal.advice.tables import Advice, AdviceItem
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import ngettext
from portal.core.mail import MailService
from portal.core.tenancy import TenantScope
from portal.cycles.service import STAGE_CLOSE_CHECKS
from portal.cycles.tables import Stage
from portal.rounds.service import active_addresses, now, recipients_of, today
from portal.tenants.tables import Tenant

logger = logging.getLogger("portal")
REMINDER_INTERVAL = datetime.timedelta(days=7)


def advice_link(base_url: str, tenant: Tenant, advice_id: int) -> str:
    return f"{base_url}/t/{tenant.slug}/advice/{advice_id}"


def item_link(base_url: str, tenant: Tenant, item_id: int) -> str:
    return f"{base_url}/t/{tenant.slug}/advice-items/{item_id}"


async def email_people(mail: MailService, scope: TenantScope, template: str, people: list[dict], **context) -> int:
    """Send ``template`` to each person ({email, display_name}); returns how many were sent."""
    sent = 0
    for person in people:
        try:
            await mail.send(template, person["email"], scope.tenant.locale, tenant_name=scope.tenant.name,
                            display_name=person["display_name"], **context)
            sent += 1
        except Exception:
            logger.exception("Could not send %s to a person in tenant %s", template, scope.tenant.slug)
    return sent


async def panel_members_of(scope: TenantScope, advice: Advice) -> list[dict]:
    return await recipients_of(scope, await advice_panel_ids(scope, advice))


async def tell_panel(mail: MailService, scope: TenantScope, template: str, advice: Advice,
                     item: AdviceItem | None = None) -> int:
    """Email the active members of the advice's panels about the advice (or one of its items)."""
    link = (item_link(mail.base_url, scope.tenant, item.id) if item
            else advice_link(mail.base_url, scope.tenant, advice.id))
    return await email_people(mail, scope, template, await panel_members_of(scope, advice),
                              advice_title=advice.title, item_title=item.title if item else "", link=link)


async def officers_for(scope: TenantScope, advice: Advice) -> list[dict]:
    """The owning officer, or every policy officer when the advice has no owner."""
    if advice.owner is not None:
        condition = Membership.user == advice.owner
    else:
        condition = Membership.role.is_in([POLICY_OFFICER, TENANT_ADMIN])
    rows = await scope.select(Membership, Membership.user, Membership.display_name).where(condition)
    names: dict[int, str] = {}
    for row in rows:
        names.setdefault(row["user"], row["display_name"])
    return await active_addresses(names)


async def person(user_id: int | None, scope: TenantScope) -> list[dict]:
    """One person as an email recipient (none when the account is gone or not active)."""
    if user_id is None:
        return []
    row = await scope.select(Membership, Membership.display_name).where(Membership.user == user_id).first()
    return await active_addresses({user_id: row["display_name"] if row else ""})


# --- reminders about overdue advice -------------------------------------------------------------


async def overdue_advice(scope: TenantScope, *, at: datetime.date | None = None) -> list[dict]:
    """Submitted advice past its response day with an item that lacks a reasoned response,
    with the number of such items. Two queries."""
    day = at or today()
    late = await scope.select(
        Advice, Advice.id, Advice.title, Advice.response_due, Advice.owner, Advice.last_reminded_at,
    ).where((Advice.status == "submitted") & (Advice.response_due < day))
    if not late:
        return []
    open_items = await scope.select(AdviceItem, AdviceItem.advice).where(
        AdviceItem.advice.is_in([row["id"] for row in late]) & AdviceItem.response_status.not_in(list(ANSWERED_STATUSES))
    )
    counts: dict[int, int] = {}
    for row in open_items:
        counts[row["advice"]] = counts.get(row["advice"], 0) + 1
    return [{**row, "open_items": counts[row["id"]]} for row in late if row["id"] in counts]


async def send_tenant_reminders(scope: TenantScope, mail: MailService) -> int:
    """Remind the owning officer of each overdue advice, at most once a week. Each advice is
    claimed before the email goes out, so two runs at the same moment send it once."""
    sent = 0
    moment = now()
    for row in await overdue_advice(scope):
        last = row["last_reminded_at"]
        if last is not None and moment - last < REMINDER_INTERVAL:
            continue
        claim = Advice.last_reminded_at.is_null() if last is None else (Advice.last_reminded_at == last)
        async with engine().transaction():
            claimed = await scope.update(Advice, {Advice.last_reminded_at: moment}).where(
                (Advice.id == row["id"]) & claim
            ).returning(Advice.id)
            if claimed:
                await audit.record_in(scope, "advice.reminder_sent", "advice", row["id"], None,
                                      after={"open_items": row["open_items"]})
        if not claimed:
            continue
        advice = await scope.get(Advice, row["id"])
        sent += await email_people(
            mail, scope, "advice_overdue", await officers_for(scope, advice),
            advice_title=advice.title, due=advice.response_due, open_items=row["open_items"],
            link=advice_link(mail.base_url, scope.tenant, advice.id),
        )
    return sent


async def send_advice_reminders(mail: MailService | None = None) -> dict[str, int]:
    """Every tenant's reminders: {tenant slug: emails sent}. Idempotent within a week."""
    from portal.deliberation.notifications import default_mail_service

    mail = mail or default_mail_service()
    return {tenant.slug: await send_tenant_reminders(TenantScope(tenant), mail)
            for tenant in await Tenant.objects().order_by(Tenant.id)}


# --- the stage may not close while advice lacks a response --------------------------------------


async def advice_close_check(scope: TenantScope, stage: Stage) -> str | None:
    """From ``adviseren`` upward: refuse while a submitted advice item of the stage has no
    published reasoned response."""
    if not needs_reasoned_response(stage.participation_form):
        return None
    in_stage = scope.select(Advice, Advice.id).where((Advice.stage == stage.id) & (Advice.status == "submitted"))
    waiting = await scope.count(AdviceItem).where(
        AdviceItem.advice.is_in(in_stage) & AdviceItem.response_status.not_in(list(ANSWERED_STATUSES))
    )
    if not waiting:
        return None
    return ngettext(
        "%(num)s advice item in this stage has no published response yet; publish a reasoned response first.",
        "%(num)s advice items in this stage have no published response yet; publish a reasoned response first.",
        waiting,
    )


if advice_close_check not in STAGE_CLOSE_CHECKS:
    STAGE_CLOSE_CHECKS.append(advice_close_check)
