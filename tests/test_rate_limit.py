"""Login rate limiting: per (address, email) and, looser, per address."""

import pytest
from limits.aio.storage import MemoryStorage

from portal.core.ratelimit import LoginRateLimiter

ATTEMPTS = 3  # per account; the per-address limit is four times as many
OFFICE = "192.0.2.10"


@pytest.fixture
def limiter():
    return LoginRateLimiter(MemoryStorage(), attempts=ATTEMPTS, window_seconds=300)


async def fail(limiter, email, times, address=OFFICE):
    for _ in range(times):
        await limiter.register_failure(address, email)


async def test_blocked_after_n_failures_for_the_same_account(limiter):
    await fail(limiter, "lisa@example.nl", ATTEMPTS - 1)
    assert not await limiter.is_blocked(OFFICE, "lisa@example.nl")
    await fail(limiter, "lisa@example.nl", 1)
    assert await limiter.is_blocked(OFFICE, "lisa@example.nl")


async def test_same_email_from_another_address_is_not_blocked(limiter):
    await fail(limiter, "lisa@example.nl", ATTEMPTS)
    assert not await limiter.is_blocked("198.51.100.7", "lisa@example.nl")


async def test_colleague_behind_the_same_address_is_not_blocked_until_the_address_limit(limiter):
    await fail(limiter, "lisa@example.nl", ATTEMPTS)
    assert not await limiter.is_blocked(OFFICE, "bram@example.nl")
    # Password spraying: a few tries on each of many accounts from one address.
    for index in range(ATTEMPTS * 4 - ATTEMPTS - 1):
        await fail(limiter, f"person{index}@example.nl", 1)
    assert not await limiter.is_blocked(OFFICE, "bram@example.nl")
    await fail(limiter, "someone@example.nl", 1)
    assert await limiter.is_blocked(OFFICE, "bram@example.nl")
    assert not await limiter.is_blocked("198.51.100.7", "bram@example.nl")


async def test_reset_clears_the_account_count(limiter):
    await fail(limiter, "lisa@example.nl", ATTEMPTS)
    await limiter.reset(OFFICE, "lisa@example.nl")
    assert not await limiter.is_blocked(OFFICE, "lisa@example.nl")
    await fail(limiter, "lisa@example.nl", ATTEMPTS - 1)
    assert not await limiter.is_blocked(OFFICE, "lisa@example.nl")


async def test_email_case_and_whitespace_do_not_matter(limiter):
    await fail(limiter, "Lisa@Example.nl", 1)
    await fail(limiter, " lisa@example.nl ", 1)
    await fail(limiter, "LISA@EXAMPLE.NL", 1)
    assert await limiter.is_blocked(OFFICE, "lisa@example.nl")
    await limiter.reset(OFFICE, "  Lisa@example.NL")
    assert not await limiter.is_blocked(OFFICE, "lisa@example.nl")
