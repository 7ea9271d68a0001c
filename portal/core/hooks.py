"""Rules one feature lets others add: a list of async checks, each returning a reason or None."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable


async def first_reason(checks: Iterable[Callable[..., Awaitable[str | None]]], *arguments) -> str | None:
    """The first reason any check gives (in the order they were registered), or None."""
    for check in list(checks):
        if reason := await check(*arguments):
            return reason
    return None
