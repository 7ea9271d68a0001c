"""Login rate limiting with the ``limits`` library (as pypi/warehouse does).

A moving window per (client address, email) and a looser one per client address, so that one
person mistyping does not lock out a whole office behind one address, while password spraying
from one address is still stopped. The storage is in-process, or Redis when configured, so all
workers share the counts.
"""

from __future__ import annotations

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from portal.core.security import hash_token
from portal.core.settings import Settings


class LoginRateLimiter:
    def __init__(self, storage: Storage, attempts: int, window_seconds: int) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_account = RateLimitItemPerSecond(attempts, window_seconds)
        self._per_address = RateLimitItemPerSecond(attempts * 4, window_seconds)
        self.window_seconds = window_seconds

    @staticmethod
    def _keys(address: str, email: str) -> tuple[str, str]:
        return "login-address", hash_token(f"{address}|{email.strip().lower()}")

    async def is_blocked(self, address: str, email: str) -> bool:
        address_key, account_key = self._keys(address, email)
        return not (
            await self._limiter.test(self._per_address, address_key, address)
            and await self._limiter.test(self._per_account, "login-account", account_key)
        )

    async def register_failure(self, address: str, email: str) -> None:
        address_key, account_key = self._keys(address, email)
        await self._limiter.hit(self._per_address, address_key, address)
        await self._limiter.hit(self._per_account, "login-account", account_key)

    async def reset(self, address: str, email: str) -> None:
        _, account_key = self._keys(address, email)
        await self._limiter.clear(self._per_account, "login-account", account_key)

    async def clear_all(self) -> None:
        """Forget every count (the test suite shares one limiter between its tests)."""
        await self._limiter.storage.reset()


def create_login_rate_limiter(settings: Settings) -> LoginRateLimiter:
    storage: Storage
    if settings.redis_url:
        uri = "async+" + settings.redis_url
        storage = RedisStorage(uri, implementation="redispy", key_prefix="portal-limits")
    else:
        storage = MemoryStorage()
    return LoginRateLimiter(
        storage, settings.login_attempts_per_window, settings.login_window_seconds
    )
