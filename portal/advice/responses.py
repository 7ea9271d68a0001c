"""The municipality's response to each advice item: drafted, then published to the panel.

Every save adds a ``ResponseVersion``; nothing is overwritten, so the history stays visible. The
form carries the number of the version the officer started from: when a colleague saved another
version in the meantime, the second save is refused with a conflict and the text is kept.
"""

from __future__ import annotations

from portal.accounts.tables import User
from portal.advice.documents import TEXT_MAX, AdviceConflict, AdviceError
from portal.advice.rules import REASONING_REQUIRED, RESPONSE_STATUS_LABELS, RESPONSE_STATUSES
from portal.advice.tables import Advice, AdviceItem, ResponseVersion
from portal.core import audit
from portal.core.database import engine
from portal.core.forms import Form
from portal.core.i18n import N_, _
from portal.core.tenancy import TenantScope
from portal.rounds.service import _is_unique_violation, now

CONFLICT_MESSAGE = N_(
    "A colleague saved a response to this item while you were writing. Your text is kept below: "
    "read their version in the history, then save again."
)


def parse_response_form(form: Form) -> tuple[str, str, int]:
    """(status, reasoning, the version number the form started from)."""
    status = form.choice("status", _("Response"), RESPONSE_STATUSES)
    reasoning = form.text("reasoning", _("Reasoning"), required=False, max_length=TEXT_MAX)
    if status in REASONING_REQUIRED and not reasoning and "reasoning" not in form.errors:
        form.add_error("reasoning", _(
            "Explain why the advice is %(status)s: reasoning is required when the municipality deviates from advice.",
            status=_(RESPONSE_STATUS_LABELS[status]),
        ))
    raw = form.raw("based_on").strip()
    based_on = int(raw) if raw.isdigit() and len(raw) < 9 else -1
    return status, reasoning, based_on


async def response_versions(scope: TenantScope, item_id: int, *, published_only: bool) -> list[ResponseVersion]:
    query = scope.objects(ResponseVersion).where(ResponseVersion.item == item_id)
    if published_only:
        query = query.where(ResponseVersion.published_at.is_not_null())
    return await query.order_by(ResponseVersion.number, ascending=False)


async def latest_version(scope: TenantScope, item_id: int) -> ResponseVersion | None:
    return await scope.objects(ResponseVersion).where(ResponseVersion.item == item_id).order_by(
        ResponseVersion.number, ascending=False
    ).first()


def _refuse_unless_submitted(advice: Advice) -> None:
    if advice.status != "submitted":
        raise AdviceError(_("This advice has not been submitted yet, so it cannot be answered."))


async def save_response(
    scope: TenantScope, advice: Advice, item: AdviceItem, status: str, reasoning: str, based_on: int, actor: User
) -> ResponseVersion:
    """A new draft version of the response."""
    _refuse_unless_submitted(advice)
    latest = await latest_version(scope, item.id)
    if based_on != (latest.number if latest else 0):
        raise AdviceConflict(_(CONFLICT_MESSAGE))
    version = scope.new(ResponseVersion, item=item.id, number=based_on + 1, status=status,
                        reasoning=reasoning, author=actor.id)
    try:
        async with engine().transaction():
            await version.save()
            await audit.record_in(scope, "advice_item.response_saved", "advice_item", item.id, actor,
                                  after={"number": version.number, "status": status})
    except Exception as error:
        if _is_unique_violation(error):  # saved at the very same moment: the unique index decides
            raise AdviceConflict(_(CONFLICT_MESSAGE)) from error
        raise
    return version


async def publish_response(scope: TenantScope, advice: Advice, item: AdviceItem, actor: User) -> ResponseVersion:
    """Publish the latest draft version of the item's response to the panel."""
    if item.advice != advice.id:
        raise AdviceError(_("This advice item belongs to other advice (of another round). Nothing was published."))
    _refuse_unless_submitted(advice)
    latest = await latest_version(scope, item.id)
    if latest is None or latest.published_at is not None:
        raise AdviceError(_("There is no draft response to publish. Save a response first."))
    moment = now()
    async with engine().transaction():
        changed = await scope.update(
            ResponseVersion, {ResponseVersion.published_at: moment, ResponseVersion.published_by: actor.id}
        ).where((ResponseVersion.id == latest.id) & ResponseVersion.published_at.is_null()).returning(ResponseVersion.id)
        if not changed:
            raise AdviceError(_("This response has just been published by someone else."))
        values = {AdviceItem.response_status: latest.status}
        if item.responded_at is None and latest.status != "pending":
            values[AdviceItem.responded_at] = moment
        await scope.update(AdviceItem, values).where(AdviceItem.id == item.id)
        await audit.record_in(scope, "advice_item.response_published", "advice_item", item.id, actor,
                              before={"status": item.response_status},
                              after={"status": latest.status, "number": latest.number})
    latest.published_at = moment
    item.response_status = latest.status
    return latest
