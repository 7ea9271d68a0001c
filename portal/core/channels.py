"""Channels for live updates: in-process by default, Redis pub/sub when PORTAL_REDIS_URL is set.

Litestar's ``ChannelsPlugin`` is the one small interface; the backend is chosen here, once, like
the stores in ``portal.core.stores``. There is one channel per thread (``thread-<id>``). With
several worker processes the Redis backend carries an event published in one worker to the
subscribers in every worker; the in-process backend only reaches subscribers in its own process,
which is why ``PORTAL_WORKERS`` above 1 is refused without Redis.

``publish`` is for code that runs after a database commit (a new post, a vote): it never raises.
It works from any event loop or thread: the plugin remembers the loop it was started on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Any
from urllib.parse import urlparse

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend

from portal.core.settings import Settings

logger = logging.getLogger(__name__)

# A publish that takes longer than this (Redis unreachable) is given up and logged.
PUBLISH_TIMEOUT_SECONDS = 3.0
# Unsent events one slow subscriber may hold; beyond that its oldest events are dropped.
SUBSCRIBER_BACKLOG = 200


def thread_channel(thread_id: int) -> str:
    return f"thread-{int(thread_id)}"


class NamespacedRedisPubSubBackend(RedisChannelsPubSubBackend):
    """Redis pub/sub with the channel names prefixed by the database number.

    Redis pub/sub ignores the database number, so two portals (or two test runs) sharing one
    Redis server on different databases would otherwise hear each other's ``thread-1``.
    """

    def __init__(self, *, redis, prefix: str) -> None:
        super().__init__(redis=redis)
        self._prefix = prefix

    def _wrap(self, channels: Iterable[str]) -> list[str]:
        return [self._prefix + channel for channel in channels]

    async def subscribe(self, channels: Iterable[str]) -> None:
        await super().subscribe(self._wrap(channels))

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        await super().unsubscribe(self._wrap(channels))

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        await super().publish(data, self._wrap(channels))

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        async for channel, data in super().stream_events():
            if channel.startswith(self._prefix):
                yield channel[len(self._prefix) :], data

    async def on_shutdown(self) -> None:
        await super().on_shutdown()
        await self._redis.aclose()


class PortalChannelsPlugin(ChannelsPlugin):
    """The channels plugin, registered as the running one while the application runs."""

    loop: asyncio.AbstractEventLoop | None = None

    async def _on_startup(self) -> None:
        await super()._on_startup()
        self.loop = asyncio.get_running_loop()
        _running.append(self)

    async def _on_shutdown(self) -> None:
        if self in _running:
            _running.remove(self)
        self.loop = None
        await super()._on_shutdown()


# Plugins of the applications running in this process, the latest last (tests start several).
_running: list[PortalChannelsPlugin] = []


def create_channels_backend(settings: Settings):
    if settings.redis_url:
        from redis.asyncio import Redis

        database = (urlparse(settings.redis_url).path or "/0").strip("/") or "0"
        return NamespacedRedisPubSubBackend(
            redis=Redis.from_url(settings.redis_url), prefix=f"portal/{database}/"
        )
    return MemoryChannelsBackend()


def create_channels_plugin(settings: Settings) -> PortalChannelsPlugin:
    return PortalChannelsPlugin(
        backend=create_channels_backend(settings),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=SUBSCRIBER_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )


def running_plugin() -> PortalChannelsPlugin | None:
    return _running[-1] if _running else None


async def publish(channel: str, data: dict) -> bool:
    """Publish ``data`` (JSON) on ``channel``; False, and a log line, when that was not possible.

    Never raises: callers publish after their change is committed, and a missed live update must
    not turn a saved post into an error page.
    """
    plugin = running_plugin()
    if plugin is None or plugin.loop is None or plugin.loop.is_closed():
        logger.debug("no channels plugin running; %s not published", channel)
        return False
    try:
        if asyncio.get_running_loop() is plugin.loop:
            await asyncio.wait_for(plugin.wait_published(data, channel), PUBLISH_TIMEOUT_SECONDS)
        else:  # another thread or loop (a command, a test): hand it to the plugin's loop
            future = asyncio.run_coroutine_threadsafe(
                plugin.wait_published(data, channel), plugin.loop
            )
            await asyncio.wait_for(asyncio.wrap_future(future), PUBLISH_TIMEOUT_SECONDS)
        return True
    except Exception:  # noqa: BLE001 - logged; the caller's change is already saved
        logger.exception("could not publish a live update on %s", channel)
        return False
