"""Rules one feature lets others add: a list of async checks, each returning a reason or None."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable


async def first_reason(checks: Iterable[Callable[..., Awaitable[str | None]]], *arguments) -> str | None:
    """The first reason any check gives (in the order they were registered), or None."""
    for check in list(checks):
        if reason := await check(*arguments):
            return reason
    return None


class Reason(str):
    """A reason that also says where the person can do something about it: ``link`` (an address)
    and ``link_text``. Everywhere else (messages, exceptions) it is the text itself; the
    ``refusal_notice`` macro shows the link beside it."""

    link: str
    link_text: str

    def __new__(cls, message: str, link: str, link_text: str) -> Reason:
        reason = super().__new__(cls, message)
        reason.link = link
        reason.link_text = link_text
        return reason
