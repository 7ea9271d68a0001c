"""Email about new posts: immediately, in a daily digest, or not at all (a choice per person).

``post_created`` is called after a post is committed. It tells everyone who can read the thread,
except the author: an email now for "immediately", a ``DigestItem`` for "daily digest", nothing
for "off". Emails never contain the post itself (it may be personal or sensitive): only the
thread's title, the author's display name and a link, so the reader logs in to read it.

Panel members and support contacts hear of new posts in a daily digest unless they choose
otherwise. Officers can read every thread, so they hear nothing until they choose a mode
themselves.

``send_digests`` (the ``portal send-digests`` command, run daily from cron) sends each person one
email with their waiting items and marks them sent; running it twice sends nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

from portal.accounts.roles import PANEL_MEMBER, POLICY_OFFICER, SUPPORT_CONTACT, TENANT_ADMIN
from portal.accounts.tables import Membership, User
from portal.core import audit
from portal.core.database import engine
from portal.core.i18n import N_, _
from portal.core.mail import MailService
from portal.core.tenancy import TenantScope
from portal.deliberation.tables import DigestItem, NotificationSetting, Post, Thread
from portal.panels.tables import PanelMembership
from portal.rounds.tables import ConsultationRound, RoundPanel
from portal.tenants.tables import Tenant

logger = logging.getLogger(__name__)

IMMEDIATELY = "immediate"  # stored in a 10-character column
DIGEST = "digest"
OFF = "off"
MODES = (IMMEDIATELY, DIGEST, OFF)
MODE_LABELS = {
    IMMEDIATELY: N_("Immediately: an email for every new post"),
    DIGEST: N_("Once a day: one email with all new posts"),
    OFF: N_("Off: no emails about new posts"),
}
DEFAULT_MODE = DIGEST
OFFICER_ROLES = (TENANT_ADMIN, POLICY_OFFICER)
# Rounds whose threads panel members and support contacts can read.
READABLE_ROUND_STATUSES = ("sent", "closed")


class NotificationError(Exception):
    """A rule was broken; the message is for the user."""


def now() -> datetime:
    return datetime.now(UTC)


# --- the mail service, outside a request ----------------------------------------------------------

_mail: tuple[object, MailService] | None = None


def default_mail_service() -> MailService:
    """The portal's mail service (SMTP or the outbox, from the settings), made once."""
    global _mail
    from portal.core.mail import create_mailer
    from portal.core.settings import get_settings
    from portal.core.templating import create_environment

    settings = get_settings()
    if _mail is None or _mail[0] is not settings:
        _mail = (settings, MailService(create_mailer(settings), create_environment(), settings.base_url))
    return _mail[1]


# --- settings -----------------------------------------------------------------------------------


async def explicit_mode(scope: TenantScope, user_id: int) -> str | None:
    row = await scope.select(NotificationSetting, NotificationSetting.mode).where(
        NotificationSetting.user == user_id
    ).first()
    return row["mode"] if row else None


async def mode_for(scope: TenantScope, user_id: int, roles: set[str] | None = None) -> str:
    """The person's choice, or the default: a digest for panel members and support contacts,
    off for everyone else (officers read along when they choose to)."""
    mode = await explicit_mode(scope, user_id)
    if mode is not None:
        return mode
    if roles is not None and not roles & {PANEL_MEMBER, SUPPORT_CONTACT}:
        return OFF
    return DEFAULT_MODE


def _is_unique_violation(error: Exception) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"IntegrityError", "UniqueViolationError"})


async def set_mode(scope: TenantScope, user: User, mode: str, roles: set[str] | None = None) -> bool:
    """Store the person's choice; False when it did not change."""
    if mode not in MODES:
        raise NotificationError(_("Choose how you want to hear about new posts."))
    before = await mode_for(scope, user.id, roles)
    stored = await explicit_mode(scope, user.id)
    if stored == mode:
        return False
    try:
        async with engine().transaction():
            if stored is None:
                await scope.new(NotificationSetting, user=user.id, mode=mode).save()
            else:
                await scope.update(NotificationSetting, {NotificationSetting.mode: mode}).where(
                    NotificationSetting.user == user.id
                )
            await audit.record(
                "notification_setting.changed", object_type="user", object_id=user.id,
                actor_id=user.id, tenant_id=scope.tenant_id,
                before={"mode": before}, after={"mode": mode},
            )
    except Exception as error:
        if not _is_unique_violation(error):
            raise
        # Saved twice at the same moment: the other request stored a row; store this choice in it.
        async with engine().transaction():
            await scope.update(NotificationSetting, {NotificationSetting.mode: mode}).where(
                NotificationSetting.user == user.id
            )
            await audit.record(
                "notification_setting.changed", object_type="user", object_id=user.id,
                actor_id=user.id, tenant_id=scope.tenant_id,
                before={"mode": before}, after={"mode": mode},
            )
    return before != mode


# --- who can read a thread ------------------------------------------------------------------------


async def thread_panel_ids(scope: TenantScope, thread: Thread | dict) -> list[int]:
    """The panel of a panel thread; every invited panel for the joint thread (panel null)."""
    panel_id = thread["panel"] if isinstance(thread, dict) else thread.panel
    round_id = thread["round"] if isinstance(thread, dict) else thread.round
    if panel_id is not None:
        return [panel_id]
    rows = await scope.select(RoundPanel, RoundPanel.panel).where(RoundPanel.round == round_id)
    return [row["panel"] for row in rows]


async def thread_audience(scope: TenantScope, thread: Thread | dict) -> dict[int, set[str]]:
    """Everyone who can read the thread, with how: {user id: {"member", "support", "officer"}}.

    Active members of the thread's panel(s) with the panel-member role, the support contacts
    named on those memberships (with the support-contact role) once the round is sent, and the
    officers. A fixed number of queries, whatever the number of people.
    """
    round_id = thread["round"] if isinstance(thread, dict) else thread.round
    audience: dict[int, set[str]] = defaultdict(set)
    roles_rows = await scope.select(Membership, Membership.user, Membership.role)
    roles: dict[int, set[str]] = defaultdict(set)
    for row in roles_rows:
        roles[row["user"]].add(row["role"])
    for user_id, held in roles.items():
        if held & set(OFFICER_ROLES):
            audience[user_id].add("officer")
    readable = await scope.exists(ConsultationRound).where(
        (ConsultationRound.id == round_id) & ConsultationRound.status.is_in(list(READABLE_ROUND_STATUSES))
    )
    panel_ids = await thread_panel_ids(scope, thread) if readable else []
    if panel_ids:
        memberships = await scope.select(
            PanelMembership, PanelMembership.user, PanelMembership.support_contact
        ).where(PanelMembership.panel.is_in(panel_ids) & (PanelMembership.status == "active"))
        for row in memberships:
            if row["user"] is not None and PANEL_MEMBER in roles.get(row["user"], ()):
                audience[row["user"]].add("member")
            contact = row["support_contact"]
            if contact is not None and SUPPORT_CONTACT in roles.get(contact, ()):
                audience[contact].add("support")
    return dict(audience)


def default_mode_for_audience(kinds: set[str]) -> str:
    """Officers read along when they choose to; the panel and its support contacts get a digest."""
    return DEFAULT_MODE if kinds & {"member", "support"} else OFF


async def modes_of(scope: TenantScope, audience: dict[int, set[str]]) -> dict[int, str]:
    if not audience:
        return {}
    stored = {
        row["user"]: row["mode"]
        for row in await scope.select(NotificationSetting, NotificationSetting.user, NotificationSetting.mode)
        .where(NotificationSetting.user.is_in(list(audience)))
    }
    return {
        user_id: stored.get(user_id) or default_mode_for_audience(kinds)
        for user_id, kinds in audience.items()
    }


async def display_name_in(scope: TenantScope, user_id: int | None) -> str:
    """The name this person shows in this space (a panel member's name first)."""
    if user_id is None:
        return _("Someone")
    rows = await scope.select(Membership, Membership.role, Membership.display_name).where(
        Membership.user == user_id
    )
    for row in rows:
        if row["role"] == PANEL_MEMBER:
            return row["display_name"]
    return rows[0]["display_name"] if rows else _("Someone")


def thread_link(base_url: str, tenant: Tenant, thread_id: int, post_id: int | None = None) -> str:
    anchor = f"#post-{post_id}" if post_id else ""
    return f"{base_url}/t/{tenant.slug}/threads/{thread_id}{anchor}"


# --- a new post -----------------------------------------------------------------------------------


async def post_created(scope: TenantScope, post_id: int, *, mail: MailService | None = None) -> dict:
    """Tell the thread's readers (not the author) of a new, committed post.

    Returns {"emailed": n, "digest": n}. An address that fails does not keep the others from
    being told; this never raises for a mail problem (the post is already saved).
    """
    post = await scope.select(
        Post, Post.id, Post.thread, Post.author, Post.deleted_at, Post.hidden_at
    ).where(Post.id == post_id).first()
    result = {"emailed": 0, "digest": 0}
    if post is None or post["deleted_at"] is not None or post["hidden_at"] is not None:
        return result
    thread = await scope.select(Thread, Thread.id, Thread.round, Thread.panel, Thread.title).where(
        Thread.id == post["thread"]
    ).first()
    if thread is None:
        return result
    audience = await thread_audience(scope, thread)
    audience.pop(post["author"], None)
    modes = await modes_of(scope, audience)
    digest_ids = [user_id for user_id, mode in modes.items() if mode == DIGEST]
    immediate_ids = [user_id for user_id, mode in modes.items() if mode == IMMEDIATELY]
    if digest_ids:
        async with engine().transaction():
            for user_id in digest_ids:
                await scope.new(DigestItem, user=user_id, post=post_id).save()
        result["digest"] = len(digest_ids)
    if immediate_ids:
        mail = mail or default_mail_service()
        tenant = scope.tenant
        accounts = await User.select(User.id, User.email, User.locale).where(
            User.id.is_in(immediate_ids) & (User.is_active == True)  # noqa: E712 (a Piccolo condition)
        ).order_by(User.id)
        author = await display_name_in(scope, post["author"])
        for account in accounts:
            try:
                await mail.send(
                    "new_post",
                    account["email"],
                    account["locale"] or tenant.locale,
                    tenant_name=tenant.name,
                    thread_title=thread["title"],
                    author=author,
                    link=thread_link(mail.base_url, tenant, thread["id"], post_id),
                )
                result["emailed"] += 1
            except Exception:
                logger.exception("Could not email a new post (%s) to a reader", post_id)
    return result


# --- the daily digest ------------------------------------------------------------------------------


async def _unsent_items(scope: TenantScope) -> list[dict]:
    return await scope.select(
        DigestItem,
        DigestItem.id,
        DigestItem.user,
        DigestItem.post,
        DigestItem.post.thread.as_alias("thread_id"),
        DigestItem.post.thread.title.as_alias("thread_title"),
        DigestItem.post.thread.round.as_alias("round_id"),
        DigestItem.post.thread.panel.as_alias("panel_id"),
        DigestItem.post.deleted_at.as_alias("deleted_at"),
        DigestItem.post.hidden_at.as_alias("hidden_at"),
    ).where(DigestItem.sent_at.is_null()).order_by(DigestItem.id)


async def send_tenant_digests(scope: TenantScope, mail: MailService) -> dict:
    """One email per person with their unsent items in this tenant; returns counts."""
    tenant = scope.tenant
    items = await _unsent_items(scope)
    result = {"emails": 0, "items": 0}
    if not items:
        return result
    # Someone may have left the panel since the post: tell only who can still read the thread.
    audiences: dict[int, dict[int, set[str]]] = {}
    for item in items:
        if item["thread_id"] not in audiences:
            audiences[item["thread_id"]] = await thread_audience(
                scope, {"round": item["round_id"], "panel": item["panel_id"]}
            )
    per_user: dict[int, list[dict]] = defaultdict(list)
    for item in items:
        per_user[item["user"]].append(item)
    accounts = {
        row["id"]: row
        for row in await User.select(User.id, User.email, User.locale, User.is_active).where(
            User.id.is_in(list(per_user))
        )
    }
    names = {
        row["user"]: row["display_name"]
        for row in await scope.select(Membership, Membership.user, Membership.display_name).where(
            Membership.user.is_in(list(per_user))
        )
    }
    for user_id, user_items in per_user.items():
        item_ids = [item["id"] for item in user_items]
        async with engine().transaction():
            # Claim the items first: a second run at the same moment finds none left.
            claimed = await scope.update(DigestItem, {DigestItem.sent_at: now()}).where(
                DigestItem.id.is_in(item_ids) & DigestItem.sent_at.is_null()
            ).returning(DigestItem.id)
        claimed_ids = {row["id"] for row in claimed}
        account = accounts.get(user_id)
        threads: dict[int, dict] = {}
        for item in user_items:
            if item["id"] not in claimed_ids:
                continue
            if item["deleted_at"] is not None or item["hidden_at"] is not None:
                continue  # removed or hidden since: nothing to read any more
            if user_id not in audiences[item["thread_id"]]:
                continue
            entry = threads.setdefault(
                item["thread_id"],
                {"title": item["thread_title"], "count": 0,
                 "link": thread_link(mail.base_url, tenant, item["thread_id"])},
            )
            entry["count"] += 1
        if not threads or account is None or not account["is_active"]:
            continue
        try:
            await mail.send(
                "digest",
                account["email"],
                account["locale"] or tenant.locale,
                tenant_name=tenant.name,
                display_name=names.get(user_id, ""),
                threads=list(threads.values()),
                total=sum(entry["count"] for entry in threads.values()),
            )
        except Exception:
            logger.exception("Could not send the digest to a person in tenant %s", tenant.slug)
            # Not sent: give the items back, so the next run tries again.
            await scope.update(DigestItem, {DigestItem.sent_at: None}).where(
                DigestItem.id.is_in(list(claimed_ids))
            )
            continue
        result["emails"] += 1
        result["items"] += len(claimed_ids)
    if result["emails"]:
        async with engine().transaction():
            await audit.record(
                "notification.digests_sent", object_type="tenant", object_id=tenant.id,
                actor_id=None, tenant_id=tenant.id, after=result,
            )
    return result


async def send_digests(mail: MailService | None = None) -> dict[str, dict]:
    """Every tenant's digests; {tenant slug: counts}. Idempotent."""
    mail = mail or default_mail_service()
    report: dict[str, dict] = {}
    for tenant in await Tenant.objects().order_by(Tenant.id):
        report[tenant.slug] = await send_tenant_digests(TenantScope(tenant), mail)
    return report
